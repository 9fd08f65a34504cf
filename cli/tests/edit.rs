//! `odix edit` on images other tools made: the changes land in every tree, what was not touched keeps its names,
//! modes, owners and times, the file data is the input's, and the kernel, xorriso, libarchive and 7-Zip read the
//! result. The expected tree is the source folder copied and changed with the same operations by `cp`, `rm`,
//! `mv`, `mkdir` and `chmod`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::{compare_trees, random_tree, require_tool, run, run_ok, vm_run, CompareOptions};

fn odix() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_odix"))
}

/// A source tree with what Rock Ridge records: modes, a symlink, a hard link, a deep folder, a 3 MB file, and
/// random names.
fn source(dir: &Path) {
    fs::create_dir_all(dir.join("keep/deep/er")).unwrap();
    fs::create_dir_all(dir.join("gone/sub")).unwrap();
    fs::create_dir_all(dir.join("boot/grub")).unwrap();
    random_tree(&dir.join("keep"), 7, 30, true).unwrap();
    fs::write(dir.join("keep/deep/er/file.txt"), b"deep\n").unwrap();
    fs::write(dir.join("gone/sub/x.bin"), vec![7u8; 70000]).unwrap();
    fs::write(dir.join("boot/grub/grub.cfg"), b"set timeout=5\n").unwrap();
    fs::write(dir.join("readme.txt"), b"hello\n").unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    fs::write(dir.join("big.bin"), big).unwrap();
    std::os::unix::fs::symlink("readme.txt", dir.join("link")).unwrap();
    fs::set_permissions(dir.join("keep/deep/er/file.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(dir.join("readme.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    run_ok(Command::new("touch").args(["-d", "2001-02-03 04:05:06"]).arg(dir.join("readme.txt")));
}

/// New files the edit brings.
fn additions(dir: &Path) {
    fs::create_dir_all(dir.join("newdir/inner")).unwrap();
    fs::write(dir.join("newdir/inner/a.cfg"), b"autoinstall: yes\n").unwrap();
    fs::write(dir.join("grub.cfg"), b"set timeout=0\nmenuentry odix {}\n").unwrap();
    fs::write(dir.join("preseed.cfg"), b"d-i debian-installer/locale string en_US\n").unwrap();
}

/// The edit as odix arguments, and the same edit done to a copy of the source on disk.
fn edit_args(add: &Path) -> Vec<String> {
    let a = |p: &str| add.join(p).display().to_string();
    vec![
        "--rm".into(),
        "/gone".into(),
        "--mv".into(),
        "/keep/deep:/moved".into(),
        "--mkdir".into(),
        "/empty/folder".into(),
        "--add".into(),
        format!("{}:/boot/grub/grub.cfg", a("grub.cfg")),
        "--add".into(),
        format!("{}:/preseed.cfg", a("preseed.cfg")),
        "--add".into(),
        format!("{}:/keep/newdir", a("newdir")),
        "--chmod".into(),
        "0700:/moved/er/file.txt".into(),
    ]
}

fn expected(src: &Path, add: &Path, out: &Path) {
    run_ok(Command::new("cp").arg("-a").arg(src).arg(out));
    fs::remove_dir_all(out.join("gone")).unwrap();
    fs::rename(out.join("keep/deep"), out.join("moved")).unwrap();
    fs::create_dir_all(out.join("empty/folder")).unwrap();
    fs::copy(add.join("grub.cfg"), out.join("boot/grub/grub.cfg")).unwrap();
    fs::copy(add.join("preseed.cfg"), out.join("preseed.cfg")).unwrap();
    run_ok(Command::new("cp").arg("-a").arg(add.join("newdir")).arg(out.join("keep/newdir")));
    fs::set_permissions(out.join("moved/er/file.txt"), fs::Permissions::from_mode(0o700)).unwrap();
}

fn assert_same(expected: &Path, actual: &Path, opts: &CompareOptions, who: &str) {
    let d = compare_trees(expected, actual, opts);
    assert!(d.is_empty(), "{who} disagrees with the expected tree:\n{}", d.join("\n"));
}

/// Rock Ridge and Joliet images by xorriso and genisoimage: edited, then extracted by libarchive (Rock Ridge:
/// names, modes, times, symlinks, contents) and 7-Zip (Joliet names and contents), listed by isoinfo, and
/// mounted by the kernel.
#[test]
fn edits_reach_every_tree_and_keep_what_was_not_touched() {
    let (Some(xorriso), Some(geniso), Some(bsdtar), Some(sz), Some(isoinfo)) = (
        require_tool("xorriso"),
        require_tool("genisoimage"),
        require_tool("bsdtar"),
        require_tool("7z"),
        require_tool("isoinfo"),
    ) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let (src, add, exp) = (d.path().join("src"), d.path().join("add"), d.path().join("expected"));
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&add).unwrap();
    source(&src);
    additions(&add);
    expected(&src, &add, &exp);
    let x_in = d.path().join("x.iso");
    run_ok(
        Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-V", "XVOL", "-o"]).arg(&x_in).arg(&src),
    );
    let g_in = d.path().join("g.iso");
    run_ok(Command::new(&geniso).args(["-quiet", "-R", "-J", "-joliet-long", "-V", "GVOL", "-o"]).arg(&g_in).arg(&src));
    let rr = CompareOptions { dir_mtimes: false, hardlinks: false, ..CompareOptions::default() };
    let joliet = CompareOptions::contents_only();
    for (input, vol) in [(&x_in, "XVOL"), (&g_in, "GVOL")] {
        let out = d.path().join(format!("edited-{}", input.file_name().unwrap().to_string_lossy()));
        let o = run_ok(Command::new(odix()).arg("edit").arg(input).arg("-o").arg(&out).args(edit_args(&add)));
        let msg = String::from_utf8_lossy(&o.stderr);
        assert!(msg.contains("rockridge view") && msg.contains("copied from the input by extents"), "{msg}");
        let pvd =
            String::from_utf8_lossy(&run_ok(Command::new(&isoinfo).args(["-d", "-i"]).arg(&out)).stdout).into_owned();
        assert!(pvd.contains(&format!("Volume id: {vol}")), "{pvd}");
        assert!(pvd.contains("Joliet") && pvd.contains("Rock Ridge"), "{pvd}");

        let bx = d.path().join(format!("bsdtar-{vol}"));
        fs::create_dir_all(&bx).unwrap();
        run_ok(Command::new(&bsdtar).arg("-xf").arg(&out).arg("-C").arg(&bx));
        assert_same(&exp, &bx, &rr, &format!("bsdtar on the edited {vol}"));

        let sx = d.path().join(format!("7z-{vol}"));
        run_ok(Command::new(&sz).args(["x", "-y", "-bd"]).arg(format!("-o{}", sx.display())).arg(&out));
        // 7-Zip reads Joliet, which records no symlinks: the link is a file there, left out of the comparison.
        let mut j = joliet.clone();
        j.ignore = vec!["link".into()];
        let _ = fs::remove_file(sx.join("link"));
        assert_same(&exp, &sx, &j, &format!("7z on the edited {vol}"));
    }
    // The relabelled image and the kernel's view of it.
    let relabel = d.path().join("relabel.iso");
    run_ok(Command::new(odix()).arg("edit").arg(&x_in).arg("-o").arg(&relabel).args(["-V", "NEW_LABEL", "-q"]));
    let pvd = run_ok(Command::new(&isoinfo).args(["-d", "-i"]).arg(&relabel)).stdout;
    assert!(String::from_utf8_lossy(&pvd).contains("Volume id: NEW_LABEL"));
    if let Some(vm) = vm_run() {
        let out = d.path().join("edited-x.iso");
        let o = run_ok(Command::new(vm).arg("--disc").arg(&out).args([
            "--",
            "sh",
            "-c",
            "mount -t iso9660 -o ro /dev/sr0 /mnt && cd /mnt && find . -type f | sort | xargs md5sum && \
             stat -c '%a %n' moved/er/file.txt readme.txt && readlink link",
        ]));
        let kernel = String::from_utf8_lossy(&o.stdout).into_owned();
        let local = run_ok(Command::new("sh").arg("-c").arg("find . -type f | sort | xargs md5sum").current_dir(&exp));
        for line in String::from_utf8_lossy(&local.stdout).lines() {
            assert!(kernel.contains(line), "the kernel's mount lacks {line}:\n{kernel}");
        }
        assert!(kernel.contains("700 moved/er/file.txt") && kernel.contains("600 readme.txt"), "{kernel}");
        assert!(kernel.lines().any(|l| l == "readme.txt"), "{kernel}");
    }
}

/// A file that is not there, a move onto an existing entry, a path with `..`, the output being the input, and an
/// input that is no image: exit 1 with one line, and no output file.
#[test]
fn refused_edits_say_why_and_write_nothing() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fs::create_dir_all(src.join("a")).unwrap();
    fs::write(src.join("a/f.txt"), b"x").unwrap();
    fs::write(src.join("g.txt"), b"y").unwrap();
    let input = d.path().join("in.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&input).arg(&src));
    let garbage = d.path().join("garbage.iso");
    fs::write(&garbage, vec![0x5au8; 100_000]).unwrap();
    let out = d.path().join("out.iso");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--rm".into(), "/nope".into()], "/nope: no such file or folder in the image"),
        (vec!["--mv".into(), "/g.txt:/a/f.txt".into()], "exists already"),
        (vec!["--rm".into(), "/a/../g.txt".into()], "`..` is not allowed"),
        (vec!["--mv".into(), "/a:/a/b".into()], "cannot be moved into itself"),
    ];
    for (args, want) in cases {
        let o = run(Command::new(odix()).arg("edit").arg(&input).arg("-o").arg(&out).args(&args));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want) && err.lines().count() == 1, "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} left an output");
    }
    let o = run(Command::new(odix()).arg("edit").arg(&input).arg("-o").arg(&input));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the output is the input"));
    let o = run(Command::new(odix()).arg("edit").arg(&garbage).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
    let left: Vec<_> = fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 3, "temporary files left: {left:?}");
}

/// A Debian-like image with its `md5sum.txt`: edited with `--update-md5sum` and `--implant-md5`, the list passes
/// `md5sum -c` inside the kernel's mount and `checkisomd5` passes; edited with `--md5`, `xorriso -check_md5` and
/// `odix verify` accept the session MD5 tags. Both MD5s at once are refused (each would cover the other).
#[test]
fn distribution_md5s_stay_true() {
    let (Some(xorriso), Some(check)) = (require_tool("xorriso"), require_tool("checkisomd5")) else { return };
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fs::create_dir_all(src.join("pool/main/a")).unwrap();
    fs::create_dir_all(src.join("dists/stable")).unwrap();
    fs::write(src.join("pool/main/a/a.deb"), vec![1u8; 2_000_000]).unwrap();
    fs::write(src.join("pool/main/a/gone.deb"), b"gone").unwrap();
    fs::write(src.join("dists/stable/Release"), b"Suite: stable\n").unwrap();
    run_ok(
        Command::new("sh")
            .arg("-c")
            .arg("find . -type f ! -name md5sum.txt | sort | xargs md5sum > md5sum.txt")
            .current_dir(&src),
    );
    let input = d.path().join("in.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&input).arg(&src));
    let release = d.path().join("Release");
    fs::write(&release, b"Suite: stable\nCodename: odix\n").unwrap();
    let preseed = d.path().join("preseed.cfg");
    fs::write(&preseed, b"d-i passwd/root-login boolean false\n").unwrap();
    let out = d.path().join("out.iso");
    run_ok(
        Command::new(odix())
            .args(["edit", "-q", "--update-md5sum", "/md5sum.txt", "--implant-md5", "--rm"])
            .arg("/pool/main/a/gone.deb")
            .arg("--add")
            .arg(format!("{}:/dists/stable/Release", release.display()))
            .arg("--add")
            .arg(format!("{}:/preseed/preseed.cfg", preseed.display()))
            .arg(&input)
            .arg("-o")
            .arg(&out),
    );
    let c = run(Command::new(&check).arg(&out));
    assert!(c.status.success(), "checkisomd5: {}", String::from_utf8_lossy(&c.stdout));
    let tagged = d.path().join("tagged.iso");
    run_ok(Command::new(odix()).args(["edit", "-q", "--md5", "--rm", "/dists"]).arg(&input).arg("-o").arg(&tagged));
    let x =
        run(Command::new(&xorriso).args(["-md5", "on", "-indev"]).arg(&tagged).args(["-check_md5", "FAILURE", "--"]));
    let xs = String::from_utf8_lossy(&x.stderr).into_owned() + &String::from_utf8_lossy(&x.stdout);
    assert!(x.status.success() && xs.contains("Ok, session data match recorded md5"), "xorriso -check_md5: {xs}");
    let v = String::from_utf8_lossy(&run_ok(Command::new(odix()).arg("verify").arg(&tagged)).stdout).into_owned();
    assert_eq!(v.matches("): ok").count(), 3, "odix verify: {v}");
    let both = run(Command::new(odix()).args(["edit", "--md5", "--implant-md5"]).arg(&input).arg("-o").arg(&tagged));
    assert_eq!(both.status.code(), Some(1));
    let list = run_ok(Command::new(odix()).arg("cat").arg(&out).arg("/md5sum.txt")).stdout;
    let list = String::from_utf8_lossy(&list).into_owned();
    assert!(list.contains("./preseed/preseed.cfg") && !list.contains("gone.deb"), "{list}");
    if let Some(vm) = vm_run() {
        let o = run(Command::new(vm).arg("--disc").arg(&out).args([
            "--",
            "sh",
            "-c",
            "mount -t iso9660 -o ro /dev/sr0 /mnt && cd /mnt && md5sum -c md5sum.txt",
        ]));
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(o.status.success() && s.contains("./dists/stable/Release: OK"), "md5sum -c in the guest:\n{s}");
        assert_eq!(s.lines().filter(|l| l.ends_with(": OK")).count(), 3, "{s}");
    }
}

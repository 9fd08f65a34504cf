//! `odix mkiso --format udf` and `--udf` (bridge) checked by independent readers, for every UDF revision, on the
//! tricky tree and on random trees:
//! - the Linux kernel (in `vm-run`) mounts each image with `-t udf` and, for bridge images, `-t iso9660`, and the
//!   copied-out trees equal the sources (contents, types, link targets, modes, mtimes, hard links);
//! - `udfinfo` reports the revision, the label and the file and directory counts, and no error;
//! - `7z x -tudf` extracts every file of symlink-free trees (7-Zip refuses UDF images holding a symlink), with
//!   `7z t` reporting no warning, on every revision;
//! - `udfclient` lists the root directory; pycdlib opens the 2.60 bridge and reads every file through its UDF
//!   tree;
//! - DVD-Video order, reproducibility and `-o -`;
//! - with `ODIX_SLOW_TESTS=1`, a file over 4 GiB reads back whole in the kernel.
//!
//! A missing tool skips its test locally and fails in CI (`odix_testdata::require_tool`).

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use odix_testdata::{
    compare_trees, random_tree, require_tool, run, run_ok, tricky_tree, vm_run, CompareOptions, TreeOptions,
};

const REVISIONS: [&str; 5] = ["1.02", "1.50", "2.01", "2.50", "2.60"];
const LABEL: &str = "ODIX_UDF_TEST";

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

/// A built image and the tree it was built from.
struct Image {
    name: String,
    path: PathBuf,
    source: PathBuf,
    rev: &'static str,
    bridge: bool,
}

fn build(source: &Path, out: &Path, rev: &str, bridge: bool, extra: &[&str]) {
    let mut c = odix();
    c.args(["mkiso", "-q", "--hidden", "-V", LABEL, "--udf-rev", rev]);
    if bridge {
        c.arg("--udf");
    } else {
        c.args(["--format", "udf"]);
    }
    c.args(extra).arg("-o").arg(out).arg(source);
    run_ok(&mut c);
}

/// Builds every revision, UDF-only and bridge, of each `(name, tree)` into `dir`.
fn build_all(dir: &Path, trees: &[(&str, &Path)]) -> Vec<Image> {
    let mut out = Vec::new();
    for (tname, src) in trees {
        for rev in REVISIONS {
            for bridge in [false, true] {
                let name = format!("{tname}-{}-{rev}", if bridge { "bridge" } else { "udf" });
                let path = dir.join(format!("{name}.img"));
                build(src, &path, rev, bridge, &[]);
                out.push(Image { name, path, source: src.to_path_buf(), rev, bridge });
            }
        }
    }
    out
}

fn tricky(dir: &Path, opts: &TreeOptions) -> PathBuf {
    let t = dir.join("tricky");
    fs::create_dir_all(&t).unwrap();
    tricky_tree(&t, opts).unwrap();
    t
}

fn random(dir: &Path, seed: u64) -> PathBuf {
    let t = dir.join(format!("random{seed}"));
    fs::create_dir_all(&t).unwrap();
    random_tree(&t, seed, 300, true).unwrap();
    t
}

/// Files (hard links once) and directories (the root included) of a tree, as the LVID counts them.
fn counts(root: &Path) -> (u64, u64) {
    let (mut files, mut dirs) = (HashSet::new(), 1u64);
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                dirs += 1;
                stack.push(e.path());
            } else {
                files.insert((m.dev(), m.ino()));
            }
        }
    }
    (files.len() as u64, dirs)
}

fn diff_report(what: &str, diffs: &[String]) -> String {
    format!("{what}: {} differences:\n{}", diffs.len(), diffs.join("\n"))
}

/// The Linux kernel mounts every image: the first as the VM's disc (`/dev/sr0`), the others through loop devices
/// from the shared folder; one boot for all.
#[test]
fn kernel_mounts_every_revision_udf_only_and_bridge() {
    let Some(vm) = vm_run() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let t = tricky(dir, &TreeOptions::default());
    let r = random(dir, 11);
    let images = build_all(dir, &[("tricky", &t), ("random", &r)]);
    let out = dir.join("out");
    fs::create_dir_all(&out).unwrap();
    let mut script = String::from("set -u\nmkdir -p /mnt/u /mnt/i\n");
    for (i, img) in images.iter().enumerate() {
        let dev = if i == 0 { "/dev/sr0".to_string() } else { img.path.display().to_string() };
        let loop_opt = if i == 0 { "" } else { ",loop" };
        let o = out.join(&img.name);
        script.push_str(&format!(
            "mkdir -p '{o}/udf' && mount -t udf -o ro{loop_opt} '{dev}' /mnt/u && cp -a /mnt/u/. '{o}/udf/' \
             && umount /mnt/u && echo 'ok {n} udf' || echo 'FAIL {n} udf'\n",
            o = o.display(),
            n = img.name
        ));
        if img.bridge {
            script.push_str(&format!(
                "mkdir -p '{o}/iso' && mount -t iso9660 -o ro{loop_opt} '{dev}' /mnt/i && cp -a /mnt/i/. '{o}/iso/' \
                 && umount /mnt/i && echo 'ok {n} iso' || echo 'FAIL {n} iso'\n",
                o = o.display(),
                n = img.name
            ));
        }
    }
    script
        .push_str("dmesg | grep -i -E 'udf|isofs' | grep -v -i 'scanning with blocksize\\|no anchor found' || true\n");
    fs::write(dir.join("guest.sh"), script).unwrap();
    let res = run(Command::new(&vm)
        .arg("--disc")
        .arg(&images[0].path)
        .arg("--share")
        .arg(dir)
        .arg("--timeout")
        .arg("600")
        .args(["--", "sh"])
        .arg(dir.join("guest.sh")));
    let log = String::from_utf8_lossy(&res.stdout).into_owned() + &String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "vm-run failed:\n{log}");
    assert!(!log.contains("FAIL"), "a mount failed:\n{log}");
    let mut failures = Vec::new();
    for img in &images {
        let o = out.join(&img.name);
        let udf_opts = CompareOptions { dir_mtimes: true, ..Default::default() };
        let d = compare_trees(&img.source, &o.join("udf"), &udf_opts);
        if !d.is_empty() {
            failures.push(diff_report(&format!("{} (udf)", img.name), &d));
        }
        if img.bridge {
            // The ISO 9660 tree of a bridge: what this test checks is that it reads the same shared file data;
            // Rock Ridge details (hard link identity, times after 2038, the relocation folder) are the ISO
            // writer's and are checked by its own tests.
            let iso_opts = CompareOptions {
                hardlinks: false,
                mtimes: false,
                ignore: vec!["rr_moved".into(), ".rr_moved".into()],
                ..Default::default()
            };
            let d = compare_trees(&img.source, &o.join("iso"), &iso_opts);
            if !d.is_empty() {
                failures.push(diff_report(&format!("{} (iso9660)", img.name), &d));
            }
        }
    }
    assert!(failures.is_empty(), "{}\n\nguest log:\n{log}", failures.join("\n\n"));
}

/// `udfinfo` (udftools) finds the revision, the label and the counts, and complains about nothing.
#[test]
fn udfinfo_reports_revision_label_and_counts() {
    let Some(udfinfo) = require_tool("udfinfo") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let t = tricky(tmp.path(), &TreeOptions::default());
    let r = random(tmp.path(), 5);
    for img in build_all(tmp.path(), &[("tricky", &t), ("random", &r)]) {
        let o = run(Command::new(&udfinfo).arg(&img.path));
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && stderr.trim().is_empty(), "{}: udfinfo failed:\n{stdout}\n{stderr}", img.name);
        let (files, dirs) = counts(&img.source);
        // udfinfo's `udfrev` is the minimum read revision: 2.50 for a 2.60 image (nothing 2.60 adds is used).
        let read_rev = if img.rev == "2.60" { "2.50" } else { img.rev };
        for want in [
            format!("udfrev={read_rev}"),
            format!("udfwriterev={}", img.rev),
            format!("label={LABEL}"),
            format!("numfiles={files}"),
            format!("numdirs={dirs}"),
            "integrity=closed".to_string(),
            "accesstype=readonly".to_string(),
        ] {
            assert!(stdout.lines().any(|l| l == want), "{}: no `{want}` in\n{stdout}", img.name);
        }
        let anchors = stdout.lines().filter(|l| l.ends_with("type=ANCHOR")).count();
        assert!(anchors >= 2, "{}: {anchors} anchors\n{stdout}", img.name);
    }
}

/// 7-Zip extracts every file's contents from the UDF tree of symlink-free trees, and `7z t` finds nothing to
/// report, on every revision: with a metadata partition too (7-Zip takes the end of the last extent it knows,
/// which does not include the metadata mirror, for the end of the volume, and reported "Headers Error" and
/// "There are data after the end of archive" while the mirror came last).
#[test]
fn seven_zip_extracts_symlink_free_trees() {
    let Some(sz) = require_tool("7z") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let t = tricky(tmp.path(), &TreeOptions { symlinks: false, ..Default::default() });
    let r = random(tmp.path(), 23);
    for img in build_all(tmp.path(), &[("tricky", &t), ("random", &r)]) {
        let dest = tmp.path().join(format!("x-{}", img.name));
        let o = run(Command::new(&sz).args(["x", "-tudf", "-y"]).arg(format!("-o{}", dest.display())).arg(&img.path));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}: 7z failed:\n{text}", img.name);
        assert!(!text.contains("WARNING") && !text.contains("ERROR"), "{}: 7z x says:\n{text}", img.name);
        let o = run(Command::new(&sz).args(["t", "-tudf"]).arg(&img.path));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}: 7z t failed:\n{text}", img.name);
        assert!(!text.contains("WARNING") && !text.contains("ERROR"), "{}: 7z t says:\n{text}", img.name);
        let d = compare_trees(&img.source, &dest, &CompareOptions::contents_only());
        assert!(d.is_empty(), "{}", diff_report(&img.name, &d));
    }
}

/// `udfclient` (NetBSD's UDF client) mounts each image and lists every root entry with an ASCII name (it shows
/// other characters as `_`).
#[test]
fn udfclient_lists_the_tree() {
    let Some(client) = require_tool("udfclient") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let t = tricky(tmp.path(), &TreeOptions::default());
    let r = random(tmp.path(), 7);
    for img in build_all(tmp.path(), &[("tricky", &t), ("random", &r)]) {
        let listing = |cmds: &str| {
            let mut child = Command::new(&client)
                .args(["-b", "2048"])
                .arg(&img.path)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(cmds.as_bytes()).unwrap();
            let o = child.wait_with_output().unwrap();
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let top = listing("ls\nquit\n");
        let volume = top
            .lines()
            .skip_while(|l| !l.starts_with("Directory listing of /"))
            .nth(1)
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("{}: udfclient found no volume:\n{top}", img.name))
            .to_string();
        assert!(volume.ends_with(&format!(":{LABEL}")), "{}: volume {volume}", img.name);
        let root = listing(&format!("ls {volume}\nquit\n"));
        for e in fs::read_dir(&img.source).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.is_ascii() {
                assert!(
                    root.lines().any(|l| l.ends_with(&format!("  {name}"))),
                    "{}: udfclient does not list {name}:\n{root}",
                    img.name
                );
            }
        }
    }
}

/// pycdlib opens the UDF 2.60 bridge image and reads every file through its UDF tree.
#[test]
fn pycdlib_opens_the_2_60_bridge() {
    if !odix_testdata::oracle::require_python_module("pycdlib") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tricky(tmp.path(), &TreeOptions { symlinks: false, hardlinks: false, ..Default::default() });
    let img = tmp.path().join("b.iso");
    build(&t, &img, "2.60", true, &[]);
    let script = r#"
import hashlib, io, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
out = []
for root, dirs, files in iso.walk(udf_path='/'):
    for f in files:
        p = (root.rstrip('/') + '/' + f)
        b = io.BytesIO()
        iso.get_file_from_iso_fp(b, udf_path=p)
        out.append('%s %s' % (hashlib.sha256(b.getvalue()).hexdigest(), p))
    for d in dirs:
        out.append('dir %s' % (root.rstrip('/') + '/' + d))
iso.close()
print('\n'.join(sorted(out)))
"#;
    let o = run_ok(Command::new("python3").args(["-c", script]).arg(&img));
    let got: HashSet<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect();
    let mut want = HashSet::new();
    let mut stack = vec![(t.clone(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = format!("{rel}/{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                want.insert(format!("dir {p}"));
                stack.push((e.path(), p));
            } else {
                let data = fs::read(e.path()).unwrap();
                let sum = run_ok(Command::new("sha256sum").arg(e.path()));
                let hex = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap_or("").to_string();
                assert_eq!(data.len() as u64, e.metadata().unwrap().len());
                want.insert(format!("{hex} {p}"));
            }
        }
    }
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
}

/// `--dvd-video`: VIDEO_TS and AUDIO_TS first, the VIDEO_TS files contiguous and in player order, UDF 1.02.
#[test]
fn dvd_video_order_and_contiguity() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dvd");
    let v = src.join("VIDEO_TS");
    fs::create_dir_all(&v).unwrap();
    fs::create_dir_all(src.join("AUDIO_TS")).unwrap();
    fs::write(src.join("AAA_FIRST_BY_NAME.TXT"), b"not part of the video").unwrap();
    // Names in an order unlike the player's; each file is full of its own marker byte.
    let order = [
        "VIDEO_TS.IFO",
        "VIDEO_TS.VOB",
        "VIDEO_TS.BUP",
        "VTS_01_0.IFO",
        "VTS_01_0.VOB",
        "VTS_01_1.VOB",
        "VTS_01_2.VOB",
        "VTS_01_0.BUP",
        "VTS_02_0.IFO",
        "VTS_02_1.VOB",
        "VTS_02_0.BUP",
    ];
    for (i, n) in order.iter().enumerate().rev() {
        fs::write(v.join(n), vec![0xA0 + i as u8; 2048 * (i + 1) + 100]).unwrap();
    }
    let img = tmp.path().join("dvd.iso");
    run_ok(odix().args(["mkiso", "-q", "--dvd-video", "-V", "DVD"]).arg("-o").arg(&img).arg(&src));
    let bytes = fs::read(&img).unwrap();
    let mut last_end = None;
    for (i, _) in order.iter().enumerate() {
        let marker = vec![0xA0 + i as u8; 2048];
        let at = bytes.chunks(2048).position(|s| s == &marker[..]).expect("file data not found") as u64;
        if let Some(end) = last_end {
            assert_eq!(at, end, "{} does not follow the previous file", order[i]);
        }
        last_end = Some(at + (2048 * (i as u64 + 1) + 100).div_ceil(2048));
    }
    if let Some(udfinfo) = require_tool("udfinfo") {
        let o = run_ok(Command::new(udfinfo).arg(&img));
        assert!(String::from_utf8_lossy(&o.stdout).lines().any(|l| l == "udfrev=1.02"));
    }
}

/// Two builds with `SOURCE_DATE_EPOCH` are identical, and `-o -` writes the same bytes.
#[test]
fn reproducible_and_streams_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tricky(tmp.path(), &TreeOptions::default());
    for (rev, bridge) in [("2.01", false), ("2.60", true), ("1.02", true)] {
        let (a, b) = (tmp.path().join("a.img"), tmp.path().join("b.img"));
        let mut c = odix();
        c.env("SOURCE_DATE_EPOCH", "1700000000");
        let mode: &[&str] = if bridge { &["--udf"] } else { &["--format", "udf"] };
        run_ok(c.args(["mkiso", "-q", "--hidden", "--udf-rev", rev]).args(mode).arg("-o").arg(&a).arg(&t));
        let mut c = odix();
        c.env("SOURCE_DATE_EPOCH", "1700000000");
        let o = run_ok(c.args(["mkiso", "-q", "--hidden", "--udf-rev", rev]).args(mode).args(["-o", "-"]).arg(&t));
        fs::write(&b, &o.stdout).unwrap();
        assert!(fs::read(&a).unwrap() == fs::read(&b).unwrap(), "{rev} bridge={bridge}: builds differ");
    }
}

/// A file over 4 GiB (a sparse source with data at both ends) reads back whole in the kernel, from a UDF-only
/// 2.01 image and a 2.60 bridge. Slow: set `ODIX_SLOW_TESTS=1`.
#[test]
fn file_over_4_gib_reads_back_in_the_kernel() {
    if !odix_testdata::oracle::slow_tests() {
        eprintln!("skipping: set ODIX_SLOW_TESTS=1 for the 4 GiB test");
        return;
    }
    let Some(vm) = vm_run() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big");
    fs::create_dir_all(&src).unwrap();
    let big = src.join("big.bin");
    {
        let mut f = fs::File::create(&big).unwrap();
        f.write_all(&[0x5a; 1 << 20]).unwrap();
        f.set_len((4u64 << 30) + (300 << 20) + 12345).unwrap();
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::End(-4096)).unwrap();
        f.write_all(&[0xa5; 4096]).unwrap();
    }
    let sum = run_ok(Command::new("md5sum").arg(&big));
    let want = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap().to_string();
    let mut script = String::from("mkdir -p /mnt/u\n");
    let mut images = Vec::new();
    // One image, read from the emulated drive: a second one over the VM's 9p share costs ten minutes of
    // emulated I/O. Files over 4 GiB in 2.60 bridge images are read back by odix's strict reader elsewhere.
    for (i, (rev, bridge)) in [("2.01", false)].into_iter().enumerate() {
        let img = tmp.path().join(format!("big{i}.img"));
        build(&src, &img, rev, bridge, &[]);
        let loop_opt = if i == 0 { "" } else { ",loop" };
        let dev = if i == 0 { "/dev/sr0".to_string() } else { img.display().to_string() };
        script.push_str(&format!(
            "mount -t udf -o ro{loop_opt} '{dev}' /mnt/u && echo \"sum{i} $(md5sum < /mnt/u/big.bin)\"; umount /mnt/u\n"
        ));
        images.push(img);
    }
    fs::write(tmp.path().join("guest.sh"), script).unwrap();
    let res = run(Command::new(&vm)
        .arg("--disc")
        .arg(&images[0])
        .arg("--share")
        .arg(tmp.path())
        .args(["--timeout", "3000", "--", "sh"])
        .arg(tmp.path().join("guest.sh")));
    let log = String::from_utf8_lossy(&res.stdout);
    for i in 0..images.len() {
        assert!(log.contains(&format!("sum{i} {want}")), "image {i}: wrong or no checksum\n{log}");
    }
}

/// Device nodes (numbers in a Device Specification attribute), FIFOs and sockets come back from the kernel's
/// UDF driver with their types and numbers. Needs root for `mknod`; skipped otherwise.
#[test]
fn kernel_reads_devices_fifos_and_sockets() {
    let Some(vm) = vm_run() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let made = run(Command::new("mknod").arg(src.join("null")).args(["c", "1", "3"]));
    if !made.status.success() {
        eprintln!("skipping: mknod needs root");
        return;
    }
    run_ok(Command::new("mknod").arg(src.join("sda")).args(["b", "8", "0"]));
    run_ok(Command::new("mkfifo").arg(src.join("pipe")));
    let mut script = String::from("mkdir -p /mnt/u\n");
    for (i, (rev, bridge)) in [("1.02", false), ("2.60", true)].into_iter().enumerate() {
        let img = tmp.path().join(format!("d{i}.img"));
        build(&src, &img, rev, bridge, &[]);
        script.push_str(&format!(
            "mount -t udf -o ro,loop '{}' /mnt/u && stat -c 'img{i} %n %F %t:%T' /mnt/u/null /mnt/u/sda /mnt/u/pipe; \
             umount /mnt/u\n",
            img.display()
        ));
    }
    fs::write(tmp.path().join("guest.sh"), script).unwrap();
    let res = run(Command::new(&vm).arg("--share").arg(tmp.path()).args(["--", "sh"]).arg(tmp.path().join("guest.sh")));
    let log = String::from_utf8_lossy(&res.stdout);
    for i in 0..2 {
        for want in [
            format!("img{i} /mnt/u/null character special file 1:3"),
            format!("img{i} /mnt/u/sda block special file 8:0"),
            format!("img{i} /mnt/u/pipe fifo 0:0"),
        ] {
            assert!(log.lines().any(|l| l == want), "no `{want}` in\n{log}");
        }
    }
}

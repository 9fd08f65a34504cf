//! `odix extract` and `odix ls` on what an image may hold that a plain copy does not: set-id files and owners
//! (extracted as root and as a normal user), FIFOs and device nodes, names that are not UTF-8, trees deeper than
//! a path can name, a full disk and an interrupt in the middle of a file; and the choices of what to extract
//! (wildcards, -v) and how `ls -l` shows times and sizes. Images come from xorriso, genisoimage and pycdlib; the
//! answers are checked against the source tree, GNU ls, bash, isoinfo, xorriso, bsdtar and the kernel.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use odix_testdata::oracle::require_python_module;
use odix_testdata::{require_tool, run, run_ok, vm_run, SmallFs};
use serde_json::Value;

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every path below `dir` (relative, sorted), including hidden ones.
fn all_paths(dir: &Path) -> Vec<String> {
    let out = run_ok(Command::new("find").arg(dir).arg("-mindepth").arg("1"));
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.strip_prefix(&format!("{}/", dir.display())).unwrap_or(l).to_string())
        .collect();
    v.sort();
    v
}

/// The source tree of the set-id and special-file tests: a 4755 file owned by 1234:1234, a 2755 file, a FIFO,
/// a character and a block device.
fn setid_source(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("suid"), b"#!/bin/sh\necho suid\n").unwrap();
    // chown before chmod: a chown clears the set-user-ID bit.
    std::os::unix::fs::chown(src.join("suid"), Some(1234), Some(1234)).unwrap();
    fs::set_permissions(src.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(src.join("sgid"), b"sgid\n").unwrap();
    fs::set_permissions(src.join("sgid"), fs::Permissions::from_mode(0o2755)).unwrap();
    run_ok(Command::new("mkfifo").arg(src.join("fifo")));
    run_ok(Command::new("mknod").arg(src.join("chardev")).args(["c", "10", "200"]));
    run_ok(Command::new("mknod").arg(src.join("blockdev")).args(["b", "7", "3"]));
    src
}

fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

/// As root: owners kept and set-id bits with them; with --no-same-owner owned by root and set-id bits cleared;
/// FIFOs and devices made with the source's numbers, or left out with --no-special-files. As a normal user:
/// set-id bits cleared and the special files reported as skipped (exit 2).
#[test]
fn setid_files_owners_and_special_files() {
    if !is_root() {
        eprintln!("skipping: needs root (mknod, chown)");
        return;
    }
    let (Some(xorriso), Some(gen), Some(setpriv)) =
        (require_tool("xorriso"), require_tool("genisoimage"), require_tool("setpriv"))
    else {
        return;
    };
    let d = tmp();
    let src = setid_source(d.path());
    let x = d.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&x).arg(&src));
    let g = d.path().join("g.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-o"]).arg(&g).arg(&src));
    let src_meta = |n: &str| fs::symlink_metadata(src.join(n)).unwrap();
    for (tag, img) in [("x", &x), ("g", &g)] {
        // As root, by default: owners restored, set-id bits kept, special files made.
        let out = d.path().join(format!("{tag}-root"));
        let o = run(odix().arg("extract").arg(img).arg("-C").arg(&out));
        assert_eq!(o.status.code(), Some(0), "{tag}: {}", stderr(&o));
        let m = fs::metadata(out.join("suid")).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1234, 1234, 0o4755), "{tag}: suid");
        assert_eq!(mode_of(&out.join("sgid")), 0o2755, "{tag}: sgid");
        assert!(fs::symlink_metadata(out.join("fifo")).unwrap().file_type().is_fifo(), "{tag}: fifo");
        for dev in ["chardev", "blockdev"] {
            let got = fs::symlink_metadata(out.join(dev)).unwrap();
            let want = src_meta(dev);
            assert_eq!(got.file_type().is_char_device(), want.file_type().is_char_device(), "{tag}: {dev}");
            assert_eq!(got.file_type().is_block_device(), want.file_type().is_block_device(), "{tag}: {dev}");
            assert_eq!(got.rdev(), want.rdev(), "{tag}: {dev}: device number");
        }
        // stat(1) of the source and of the copy agree on type and major/minor.
        let stat =
            |p: &Path| String::from_utf8(run_ok(Command::new("stat").args(["-c", "%F %t %T"]).arg(p)).stdout).unwrap();
        assert_eq!(stat(&out.join("chardev")), stat(&src.join("chardev")), "{tag}");
        assert_eq!(stat(&out.join("blockdev")), stat(&src.join("blockdev")), "{tag}");

        // --no-same-owner: owned by root, set-id bits cleared.
        let out = d.path().join(format!("{tag}-noown"));
        let o = run(odix().arg("extract").arg(img).arg("-C").arg(&out).arg("--no-same-owner"));
        assert_eq!(o.status.code(), Some(0), "{tag}: {}", stderr(&o));
        let m = fs::metadata(out.join("suid")).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o755), "{tag}: suid without its owner");
        assert_eq!(mode_of(&out.join("sgid")), 0o755, "{tag}: sgid without its owner");

        // --no-special-files: none made, nothing to report.
        let out = d.path().join(format!("{tag}-nospecial"));
        let o = run(odix().arg("extract").arg(img).arg("-C").arg(&out).arg("--no-special-files"));
        assert_eq!(o.status.code(), Some(0), "{tag}: {}", stderr(&o));
        assert_eq!(all_paths(&out), ["sgid", "suid"], "{tag}");

        // As a normal user, into a folder that user may write.
        let home = d.path().join(format!("{tag}-user"));
        fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let out = home.join("out");
        let o = run(Command::new(&setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_odix"))
            .arg("extract")
            .arg(img)
            .arg("-C")
            .arg(&out));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{tag}: {err}");
        for what in ["fifo: FIFO not extracted", "chardev: character device not extracted", "blockdev: block device"] {
            assert!(err.contains(what), "{tag}: {what:?} not reported: {err}");
        }
        let m = fs::metadata(out.join("suid")).unwrap();
        assert_eq!((m.uid(), m.mode() & 0o7777), (65534, 0o755), "{tag}: suid as a normal user");
        assert_eq!(mode_of(&out.join("sgid")), 0o755, "{tag}: sgid as a normal user");
        assert_eq!(all_paths(&out), ["sgid", "suid"], "{tag}");
    }
}

/// Turns the `\xHH` / `\\` display form of `odix ls` back into bytes.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A name and a symlink target that are not UTF-8 keep their bytes through `ls` (escaped), `ls --json` (exact in
/// `path_hex` / `target_hex`), `extract` and `mount`, in images from xorriso and genisoimage; the bytes are those
/// isoinfo, xorriso, bsdtar and the kernel read.
#[test]
fn names_that_are_not_utf8_keep_their_bytes() {
    let (Some(xorriso), Some(gen), Some(isoinfo), Some(bsdtar)) =
        (require_tool("xorriso"), require_tool("genisoimage"), require_tool("isoinfo"), require_tool("bsdtar"))
    else {
        return;
    };
    let name: &[u8] = b"bad\xff\xfe.txt";
    let target: &[u8] = b"../t\xe9st/\xff";
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir_all(src.join("dir")).unwrap();
    fs::write(src.join(OsStr::from_bytes(name)), b"contents\n").unwrap();
    fs::write(src.join("dir/plain.txt"), b"plain\n").unwrap();
    std::os::unix::fs::symlink(OsStr::from_bytes(target), src.join("dir").join(OsStr::from_bytes(b"l\xfe"))).unwrap();
    let x = d.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&x).arg(&src));
    let g = d.path().join("g.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-o"]).arg(&g).arg(&src));
    let link: Vec<u8> = [b"dir/l\xfe".as_slice()].concat();
    for img in [&x, &g] {
        // The other readers see the same bytes.
        let listing = run_ok(Command::new(&isoinfo).args(["-R", "-l", "-i"]).arg(img)).stdout;
        assert!(listing.windows(name.len()).any(|w| w == name), "isoinfo does not list the name");
        let found = run_ok(Command::new(&xorriso).arg("-indev").arg(img).args(["-find", "/", "-exec", "lsdl"])).stdout;
        assert!(found.windows(name.len()).any(|w| w == name), "xorriso does not find the name");
        let tar = run_ok(Command::new(&bsdtar).arg("-tf").arg(img)).stdout;
        assert!(String::from_utf8_lossy(&tar).lines().any(|l| l == "bad\\377\\376.txt"), "bsdtar's listing");

        // ls: escaped, and the escape gives the bytes back.
        let ls = String::from_utf8(run_ok(odix().arg("ls").arg(img)).stdout).unwrap();
        assert!(ls.lines().any(|l| l == "bad\\xff\\xfe.txt"), "{ls}");
        let ls = String::from_utf8(run_ok(odix().args(["ls", "-R"]).arg(img)).stdout).unwrap();
        let back: BTreeSet<Vec<u8>> = ls.lines().map(unescape).collect();
        assert!(back.contains([b"/".as_slice(), name].concat().as_slice()), "{ls}");
        assert!(back.contains([b"/".as_slice(), &link].concat().as_slice()), "{ls}");
        let long = String::from_utf8(run_ok(odix().args(["ls", "-l"]).arg(img).arg("/dir")).stdout).unwrap();
        assert!(long.contains("l\\xfe -> ../t\\xe9st/\\xff"), "{long}");

        // ls --json: `path` readable, `path_hex` and `target_hex` exact, and only where needed.
        let v: Value = serde_json::from_slice(&run_ok(odix().args(["ls", "-R", "--json"]).arg(img)).stdout).unwrap();
        let entries = v.as_array().unwrap();
        let exact: BTreeSet<Vec<u8>> = entries
            .iter()
            .map(|e| e["path_hex"].as_str().map(unhex).unwrap_or_else(|| e["path"].as_str().unwrap().into()))
            .collect();
        let expected: BTreeSet<Vec<u8>> = [
            [b"/".as_slice(), name].concat(),
            b"/dir".to_vec(),
            b"/dir/plain.txt".to_vec(),
            [b"/".as_slice(), &link].concat(),
        ]
        .into();
        assert_eq!(exact, expected);
        let plain = entries.iter().find(|e| e["path"] == "/dir/plain.txt").unwrap();
        assert!(plain.get("path_hex").is_none(), "path_hex only for names that are not UTF-8");
        let l = entries.iter().find(|e| e["type"] == "symlink").unwrap();
        assert_eq!(unhex(l["target_hex"].as_str().unwrap()), target);
        assert_eq!(l["target"], "../t\u{fffd}st/\u{fffd}");

        // ls and cat of the name given as bytes.
        let arg = OsString::from_vec([b"/".as_slice(), name].concat());
        assert_eq!(run_ok(odix().arg("cat").arg(img).arg(&arg)).stdout, b"contents\n");
        let one = run_ok(odix().arg("ls").arg(img).arg(&arg)).stdout;
        assert_eq!(one, b"/bad\\xff\\xfe.txt\n");

        // extract: the same bytes on disk.
        let out = d.path().join(format!("out-{}", img.file_stem().unwrap().to_string_lossy()));
        let o = run(odix().arg("extract").arg(img).arg("-C").arg(&out));
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(fs::read(out.join(OsStr::from_bytes(name))).unwrap(), b"contents\n");
        assert_eq!(fs::read_link(out.join(OsStr::from_bytes(&link))).unwrap().as_os_str().as_bytes(), target);
        // Extracting the one file by its byte name.
        let one = d.path().join(format!("one-{}", img.file_stem().unwrap().to_string_lossy()));
        run_ok(odix().arg("extract").arg(img).arg(&arg).arg("-C").arg(&one));
        assert_eq!(fs::read(one.join(OsStr::from_bytes(name))).unwrap(), b"contents\n");

        // mount: the names readdir gives and readlink.
        if fuse_available() {
            let mnt = d.path().join("mnt");
            fs::create_dir_all(&mnt).unwrap();
            run_ok(odix().arg("mount").arg(img).arg(&mnt));
            let names: Vec<Vec<u8>> = fs::read_dir(&mnt).unwrap().map(|e| e.unwrap().file_name().into_vec()).collect();
            let data = fs::read(mnt.join(OsStr::from_bytes(name)));
            let t = fs::read_link(mnt.join(OsStr::from_bytes(&link)));
            let _ = Command::new("fusermount3").arg("-u").arg(&mnt).status();
            assert!(names.iter().any(|n| n == name), "mount lists {names:?}");
            assert_eq!(data.unwrap(), b"contents\n");
            assert_eq!(t.unwrap().as_os_str().as_bytes(), target);
        }
    }
    // The kernel reads the xorriso image with the same bytes.
    if let Some(vm) = vm_run() {
        let o = run_ok(Command::new(vm).arg("--disc").arg(&x).args([
            "--",
            "sh",
            "-c",
            "mount -t iso9660 -o ro /dev/sr0 /mnt && ls /mnt && readlink /mnt/dir/l*",
        ]));
        let lines: Vec<&[u8]> = o.stdout.split(|&b| b == b'\n').collect();
        assert!(lines.contains(&name), "kernel: {:?}", String::from_utf8_lossy(&o.stdout));
        assert!(lines.contains(&target), "kernel: {:?}", String::from_utf8_lossy(&o.stdout));
    }
}

fn fuse_available() -> bool {
    let ok = Path::new("/dev/fuse").exists() && require_tool("fusermount3").is_some();
    if !ok && odix_testdata::oracle::in_ci() {
        panic!("/dev/fuse or fusermount3 missing in CI");
    }
    ok
}

/// A full disk while a file is written: exit 1, one line naming the file, and nothing under the target (no
/// partial file, no temporary file), with one writer and with several.
#[test]
fn a_full_disk_stops_the_extraction_and_leaves_nothing() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    if !is_root() {
        eprintln!("skipping: needs root (mount)");
        return;
    }
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a.bin"), (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>()).unwrap();
    fs::write(src.join("b.txt"), b"small\n").unwrap();
    let img = d.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&img).arg(&src));
    let full = d.path().join("full");
    fs::create_dir(&full).unwrap();
    let Some(_small) = SmallFs::mount(&full, "1m") else { return };
    for jobs in ["1", "4"] {
        let out = full.join(format!("out{jobs}"));
        let o = run(odix().arg("extract").arg(&img).arg("-C").arg(&out).args(["-j", jobs]));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "-j {jobs}: {err}");
        assert_eq!(err.lines().count(), 1, "-j {jobs}: {err}");
        assert!(err.contains("a.bin") && err.contains("No space left on device"), "-j {jobs}: {err}");
        assert_eq!(all_paths(&out), Vec::<String>::new(), "-j {jobs}: left under the target");
    }
}

/// SIGINT while a large file is written: no file under its name, no temporary file, exit 130; a later run with
/// --keep-old-files then writes it whole.
#[test]
fn an_interrupt_leaves_no_file_and_keep_old_files_then_completes() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("small.txt"), b"hello\n").unwrap();
    // zisofs-compressed zeros: a small image whose big file takes a while to decompress and write (longer in a
    // release build, which is faster).
    let big_len: u64 = if cfg!(debug_assertions) { 300 << 20 } else { 1 << 30 };
    fs::File::create(src.join("big.bin")).unwrap().set_len(big_len).unwrap();
    let img = d.path().join("z.iso");
    run_ok(Command::new(&xorriso).arg("-outdev").arg(&img).args(["-zisofs", "level=1", "-map"]).arg(&src).args([
        "/",
        "-set_filter_r",
        "--zisofs",
        "/",
        "--",
    ]));
    let out = d.path().join("out");
    let mut child = odix()
        .arg("extract")
        .arg(&img)
        .arg("-C")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let temp = fs::read_dir(&out)
            .map(|r| r.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().starts_with(".big.bin.odix-")))
            .unwrap_or(false);
        if temp {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "odix ended before writing big.bin");
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    run_ok(Command::new("kill").arg("-INT").arg(child.id().to_string()));
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT") && err.contains("extraction into"), "{err}");
    let left = all_paths(&out);
    assert!(!left.iter().any(|p| p.contains("big.bin")), "left behind: {left:?}");

    let o = run(odix().arg("extract").arg(&img).arg("-C").arg(&out).arg("--keep-old-files"));
    assert!(o.status.success(), "{}", stderr(&o));
    let f = fs::File::open(out.join("big.bin")).unwrap();
    assert_eq!(f.metadata().unwrap().len(), big_len);
    // Whole and all zeros, as the source.
    let cmp = run(Command::new("cmp").arg(out.join("big.bin")).arg(src.join("big.bin")));
    assert!(cmp.status.success(), "{}", String::from_utf8_lossy(&cmp.stdout));
    assert_eq!(fs::read(out.join("small.txt")).unwrap(), b"hello\n");
}

/// A tree 400 folders deep with 20-character names (paths past 4096 bytes), made by pycdlib (xorriso and
/// genisoimage refuse such a source): extracted whole, with one writer and several; the files' contents are read
/// back from their own folders (`find -execdir`).
#[test]
fn a_tree_deeper_than_a_path_extracts() {
    if require_tool("python3").is_none() || !require_python_module("pycdlib") {
        return;
    }
    let d = tmp();
    let img = d.path().join("deep.iso");
    let script = r#"
import io, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.new(rock_ridge='1.09')
path = ''
for i in range(1, 401):
    path += '/D%d' % i
    iso.add_directory(path, rr_name='d%019d' % i)
    if i % 100 == 0:
        data = b'level %d\n' % i
        iso.add_fp(io.BytesIO(data), len(data), path + '/F.;1', rr_name='f')
# A folder beside the second level, which the walk reaches after the bottom (its parent's descriptor was closed).
iso.add_directory('/D1/SIB', rr_name='sibling')
iso.add_fp(io.BytesIO(b'sibling\n'), 8, '/D1/SIB/F.;1', rr_name='f')
iso.write(sys.argv[1])
"#;
    run_ok(Command::new("python3").arg("-c").arg(script).arg(&img));
    for jobs in ["1", "4"] {
        let out = d.path().join(format!("out{jobs}"));
        let o = run(odix().arg("extract").arg(&img).arg("-C").arg(&out).args(["-j", jobs]));
        assert!(o.status.success(), "-j {jobs}: {}", stderr(&o));
        let found = run_ok(Command::new("find").arg(&out).args([
            "-name",
            "f",
            "-execdir",
            "sh",
            "-c",
            "pwd | wc -c; cat f",
            ";",
        ]));
        let text = String::from_utf8(found.stdout).unwrap();
        let mut lines: Vec<(usize, String)> = text
            .lines()
            .collect::<Vec<_>>()
            .chunks(2)
            .map(|c| (c[0].trim().parse::<usize>().unwrap(), c[1].to_string()))
            .collect();
        lines.sort();
        let levels: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(levels, ["sibling", "level 100", "level 200", "level 300", "level 400"], "-j {jobs}");
        assert!(lines.last().unwrap().0 > 8000, "-j {jobs}: the deepest folder's path is {} bytes", lines[4].0);
        let dirs = run_ok(Command::new("find").arg(&out).args(["-type", "d"])).stdout;
        assert_eq!(dirs.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(), 402, "-j {jobs}");
    }
}

/// Wildcards select what bash's globstar selects in the source tree, -v lists what was written, and a pattern
/// that matches nothing is exit 2.
#[test]
fn wildcards_select_as_the_shell_does() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    for f in ["boot/grub/grub.cfg", "boot/grub/x86/a.cfg", "boot/isolinux/isolinux.cfg", "boot/top.cfg", "etc/b.cfg"] {
        let p = src.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, f).unwrap();
    }
    fs::write(src.join("boot/grub/font.pf2"), b"font").unwrap();
    fs::write(src.join("boot/a[1].cfg"), b"brackets").unwrap();
    fs::write(src.join("boot/a1.cfg"), b"no brackets").unwrap();
    fs::create_dir_all(src.join("boot/cfgdir.cfg")).unwrap();
    fs::write(src.join("boot/cfgdir.cfg/inner.txt"), b"inner").unwrap();
    let img = d.path().join("w.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&img).arg(&src));
    for pattern in ["boot/**/*.cfg", "boot/*/*.cfg", "*/*.cfg", "boot/grub/{grub,x86}*", "boot/grub/[a-g]*"] {
        // What the shell expands the pattern to, with everything below a matching folder.
        let sh = run_ok(Command::new("bash").current_dir(&src).args(["-O", "globstar", "-O", "nullglob", "-c"]).arg(
            format!("for p in {pattern}; do if [ -d \"$p\" ]; then find \"$p\" -type f; else echo \"$p\"; fi; done"),
        ));
        let want: BTreeSet<String> = String::from_utf8(sh.stdout).unwrap().lines().map(String::from).collect();
        let out = d.path().join(format!("out-{}", pattern.replace(['/', '*', '{', '}', ',', '[', ']'], "_")));
        let o = run(odix().arg("extract").arg(&img).arg(format!("/{pattern}")).arg("-C").arg(&out).arg("-v"));
        assert!(o.status.success(), "{pattern}: {}", stderr(&o));
        let got: BTreeSet<String> = all_paths(&out).into_iter().filter(|p| out.join(p).is_file()).collect();
        assert_eq!(got, want, "{pattern}");
        for f in &got {
            assert_eq!(fs::read(out.join(f)).unwrap(), fs::read(src.join(f)).unwrap(), "{pattern}: {f}");
        }
        // -v: each path written, files and the folders matched.
        let listed: BTreeSet<String> = String::from_utf8(o.stdout).unwrap().lines().map(String::from).collect();
        assert!(want.iter().all(|w| listed.contains(w)), "{pattern}: -v listed {listed:?}");
        assert!(listed.iter().all(|l| out.join(l).exists()), "{pattern}: -v listed {listed:?}");
    }
    // A name with wildcard characters in it is extracted as it is.
    let out = d.path().join("literal");
    run_ok(odix().arg("extract").arg(&img).arg("/boot/a[1].cfg").arg("-C").arg(&out));
    assert_eq!(all_paths(&out), ["boot", "boot/a[1].cfg"]);
    let o = run(odix().arg("extract").arg(&img).arg("/nothing/*.x").arg("-C").arg(d.path().join("none")));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing matches"), "{}", stderr(&o));
}

/// `ls -l` prints times in local time (TZ) as GNU `ls -l --time-style=long-iso` does on the source tree, UTC with
/// --utc, and `-h` sizes as `ls -lh`.
#[test]
fn ls_long_local_times_and_human_sizes() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    let sizes = [0u64, 1023, 1024, 1025, 10239, 10241, 1_048_575, 1_048_577, 3_500_000];
    for (i, n) in sizes.iter().enumerate() {
        let p = src.join(format!("f{n}"));
        fs::File::create(&p).unwrap().set_len(*n).unwrap();
        // Times either side of midnight in Kolkata and in UTC, and one in another year.
        let when = ["2024-03-01 18:45:00 UTC", "2024-03-01 23:59:00 UTC", "2019-12-31 20:00:00 UTC"][i % 3];
        run_ok(Command::new("touch").arg("-d").arg(when).arg(&p));
    }
    let img = d.path().join("t.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&img).arg(&src));
    // name -> (size column, time column) from `ls -l`-style output, where the name is last and the time is the
    // two fields before it.
    let columns = |text: &str, size_field: usize| -> Vec<(String, String, String)> {
        let mut v: Vec<(String, String, String)> = text
            .lines()
            .filter(|l| !l.starts_with("total"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let n = f.len();
                (f[n - 1].to_string(), f[size_field].to_string(), format!("{} {}", f[n - 3], f[n - 2]))
            })
            .collect();
        v.sort();
        v
    };
    for (tz, utc_flag) in [("Asia/Kolkata", false), ("America/St_Johns", false), ("Asia/Kolkata", true)] {
        let gnu_tz = if utc_flag { "UTC" } else { tz };
        let gnu = run_ok(Command::new("ls").env("TZ", gnu_tz).args(["-l", "--time-style=long-iso"]).arg(&src));
        let mut cmd = odix();
        cmd.env("TZ", tz).args(["ls", "-l"]).arg(&img);
        if utc_flag {
            cmd.arg("--utc");
        }
        let ours = run_ok(&mut cmd);
        assert_eq!(
            columns(&String::from_utf8(ours.stdout).unwrap(), 4),
            columns(&String::from_utf8(gnu.stdout).unwrap(), 4),
            "TZ={tz} --utc={utc_flag}"
        );
    }
    let gnu = run_ok(Command::new("ls").env("TZ", "UTC").args(["-lh", "--time-style=long-iso"]).arg(&src));
    let ours = run_ok(odix().env("TZ", "UTC").args(["ls", "-l", "-h"]).arg(&img));
    assert_eq!(
        columns(&String::from_utf8(ours.stdout).unwrap(), 4),
        columns(&String::from_utf8(gnu.stdout).unwrap(), 4),
        "ls -lh"
    );
    // --json keeps UTC RFC 3339 whatever TZ says.
    let v: Value =
        serde_json::from_slice(&run_ok(odix().env("TZ", "Asia/Kolkata").args(["ls", "--json"]).arg(&img)).stdout)
            .unwrap();
    let f = v.as_array().unwrap().iter().find(|e| e["path"] == "/f0").unwrap();
    assert_eq!(f["mtime"], "2024-03-01T18:45:00Z");
}

/// A UDF image the kernel filled with a set-user-ID file owned by 1234, a FIFO and two devices: extracted as root,
/// each has the type, device numbers, owner and mode the kernel's own `stat` showed on its mount.
#[test]
fn udf_special_files_and_owners_as_the_kernel_wrote_them() {
    if !is_root() {
        eprintln!("skipping: needs root (mknod, chown)");
        return;
    }
    let (Some(mk), Some(vm)) = (require_tool("mkudffs"), vm_run()) else { return };
    let d = tmp();
    let share = d.path().join("share");
    fs::create_dir(&share).unwrap();
    let img = share.join("u.udf");
    run_ok(Command::new(mk).args(["--media-type=hd", "--udfrev=2.01", "--blocksize=2048"]).arg(&img).arg("4096"));
    let fill = format!(
        "mount -t udf -o loop {img} /mnt && cd /mnt && mknod chardev c 10 200 && mknod blockdev b 7 3 && mkfifo fifo \
         && echo x > suid && chown 1234:1234 suid && chmod 4755 suid && stat -c '%n %F %t %T %u %g %a' * && cd / \
         && umount /mnt",
        img = img.display()
    );
    let o = run_ok(Command::new(vm).arg("--share").arg(&share).args(["--", "sh", "-c", &fill]));
    let mut kernel: Vec<String> = String::from_utf8(o.stdout).unwrap().lines().map(String::from).collect();
    kernel.sort();
    assert_eq!(kernel.len(), 4, "{kernel:?}");
    let out = d.path().join("out");
    let o = run(odix().arg("extract").arg(&img).arg("-C").arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let st = run_ok(Command::new("sh").current_dir(&out).args(["-c", "stat -c '%n %F %t %T %u %g %a' *"]));
    let mut ours: Vec<String> = String::from_utf8(st.stdout).unwrap().lines().map(String::from).collect();
    ours.sort();
    assert_eq!(ours, kernel);
}

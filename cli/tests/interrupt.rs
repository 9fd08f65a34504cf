//! Commands that write, when something goes wrong: stopped by a signal, their output pipe closed early, an output
//! that cannot be a file. Nothing half-written may stay under a real name or as a temporary file, and the command
//! says what it left unfinished.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use odix_testdata::{require_tool, run_ok, SmallFs};

fn odix() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_odix"));
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

/// A source folder with a large sparse file (so that a build takes long enough to be interrupted) and a small one.
fn big_source(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("small.txt"), b"hello\n").unwrap();
    let big = fs::File::create(src.join("big.bin")).unwrap();
    big.set_len(3 << 30).unwrap();
    src
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    v.sort();
    v
}

/// Waits until a file whose name contains `part` appears in `dir`.
fn wait_for_file(dir: &Path, part: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if names_in(dir).iter().any(|n| n.contains(part)) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("odix ended ({status}) before {part} appeared in {}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{part} never appeared in {}", dir.display());
}

fn kill(child: &Child, sig: &str) {
    run_ok(Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()));
}

fn stderr_of(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `mkiso`, `mkisofs` and `-as mkisofs` (grub-mkrescue's way in) stopped by SIGINT, SIGTERM or SIGHUP: no temporary
/// file is left, nothing appears under the output's name, one line names it, exit 128 + the signal.
#[test]
fn interrupted_builds_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let src = big_source(tmp.path());
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("x.iso");
    let cases: [(&[&str], &str, i32); 3] = [
        (&["mkiso", "--quiet", "-o"], "INT", 130),
        (&["mkisofs", "-R", "-J", "-quiet", "-o"], "TERM", 143),
        (&["-as", "mkisofs", "-R", "-o"], "HUP", 129),
    ];
    for (args, sig, code) in cases {
        let mut child =
            odix().args(args).arg(&out).arg(&src).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        wait_for_file(&out_dir, ".tmp", &mut child);
        std::thread::sleep(Duration::from_millis(50));
        kill(&child, sig);
        let (status, stderr) = stderr_of(child);
        assert_eq!(status, Some(code), "{args:?} SIG{sig}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(stderr.contains(&format!("SIG{sig}")) && stderr.contains("x.iso"), "{args:?}: {stderr}");
        assert_eq!(names_in(&out_dir), Vec::<String>::new(), "{args:?} SIG{sig} left files behind");
    }
}

/// An image written into a pipe that closes early is an error (genisoimage fails too), while `ls` and `cat`
/// into a closed pipe end quietly.
#[test]
fn a_closed_pipe_fails_a_build_and_not_a_listing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..40 {
        fs::write(src.join(format!("f{i:02}")), vec![b'a' + (i % 26) as u8; 100_000]).unwrap();
    }
    let read_and_close = |mut cmd: Command, n: usize| {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut buf = vec![0u8; n];
        stdout.read_exact(&mut buf).unwrap();
        drop(stdout);
        stderr_of(child)
    };

    // The oracle: genisoimage into `head -c 1000000`.
    if let Some(genisoimage) = require_tool("genisoimage") {
        let mut g = Command::new(genisoimage);
        g.args(["-quiet", "-R"]).arg(&src);
        let (status, _) = read_and_close(g, 1_000_000);
        assert_ne!(status, Some(0), "genisoimage into a closed pipe");
    }
    for args in [&["mkiso", "--quiet", "-o", "-"][..], &["mkisofs", "-quiet", "-R", "-o", "-"]] {
        let mut c = odix();
        c.args(args).arg(&src);
        let (status, stderr) = read_and_close(c, 1_000_000);
        assert_eq!(status, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("incomplete"), "{args:?}: {stderr}");
    }

    let iso = tmp.path().join("x.iso");
    run_ok(odix().args(["mkiso", "--quiet", "-o"]).arg(&iso).arg(&src));
    let mut c = odix();
    c.arg("cat").arg(&iso).arg("/f00");
    let (status, stderr) = read_and_close(c, 10);
    assert_eq!((status, stderr.as_str()), (Some(0), ""), "cat into a closed pipe");
    let mut c = odix();
    c.arg("ls").arg("-l").arg(&iso);
    let (status, stderr) = read_and_close(c, 10);
    assert_eq!((status, stderr.as_str()), (Some(0), ""), "ls into a closed pipe");
}

/// An output that is a folder, or lies in a folder that does not exist, is refused before any work, naming the
/// path the user gave.
#[test]
fn outputs_that_cannot_be_files_are_refused_first() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    let dir_out = tmp.path().join("already-a-dir");
    fs::create_dir(&dir_out).unwrap();
    let missing = tmp.path().join("no-such-folder").join("x.iso");
    for build in [&["mkiso", "--quiet", "-o"][..], &["mkisofs", "-quiet", "-R", "-o"]] {
        for (out, says) in [(&dir_out, "is a directory"), (&missing, "does not exist")] {
            let o = odix().args(build).arg(out).arg(&src).output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{build:?} -o {}: {stderr}", out.display());
            assert!(stderr.contains(&*out.to_string_lossy()) && stderr.contains(says), "{stderr}");
            assert!(!stderr.contains(".odix-"), "names a temporary file: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }
    assert!(names_in(&dir_out).is_empty());
    assert!(!tmp.path().join("no-such-folder").exists());
}

/// `odix mount` in the foreground, stopped by SIGTERM or SIGINT, unmounts instead of leaving a dead mount point.
#[test]
fn a_stopped_mount_unmounts() {
    if !Path::new("/dev/fuse").exists() || require_tool("fusermount3").is_none() {
        assert!(!odix_testdata::oracle::in_ci(), "/dev/fuse or fusermount3 missing in CI");
        return;
    }
    let Some(xorriso) = require_tool("xorriso") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("hello.txt"), b"hello\n").unwrap();
    let iso = tmp.path().join("x.iso");
    run_ok(Command::new(xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(&src));
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let mounted = |m: &Path| {
        let canon = m.canonicalize().unwrap();
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
        info.lines().any(|l| l.split(' ').nth(4) == Some(&*canon.to_string_lossy()))
    };
    for sig in ["TERM", "INT", "HUP"] {
        let mut child =
            odix().arg("mount").arg("--foreground").arg(&iso).arg(&mnt).stderr(Stdio::piped()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !mounted(&mnt) {
            assert!(child.try_wait().unwrap().is_none() && Instant::now() < deadline, "the mount did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(fs::read(mnt.join("hello.txt")).unwrap(), b"hello\n");
        kill(&child, sig);
        let (status, stderr) = stderr_of(child);
        assert!(!mounted(&mnt), "SIG{sig} left {} mounted", mnt.display());
        assert!(status.is_some_and(|c| c > 128), "SIG{sig}: {status:?} {stderr}");
        assert!(stderr.contains("unmounted"), "{stderr}");
        // The folder is usable again, not "Transport endpoint is not connected".
        assert!(fs::read_dir(&mnt).unwrap().next().is_none());
    }
}

/// A build that fills the disk fails with one line naming the output, exit 1, and leaves nothing in the folder.
#[test]
fn a_full_disk_fails_a_build_cleanly() {
    let mnt = tempfile::tempdir().unwrap();
    let Some(fs_small) = SmallFs::mount(mnt.path(), "1m") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a.bin"), vec![7u8; 3 << 20]).unwrap();
    let out = fs_small.path().join("x.iso");
    for build in
        [&["mkiso", "--quiet", "-o"][..], &["mkisofs", "-quiet", "-R", "-o"], &["mkiso", "--quiet", "--udf", "-o"]]
    {
        let o = odix().args(build).arg(&out).arg(&src).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{build:?}: {stderr}");
        assert!(stderr.contains("x.iso"), "{build:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(names_in(fs_small.path()).is_empty(), "{build:?} left {:?}", names_in(fs_small.path()));
    }
}

/// `odix edit` stopped by a signal while it copies the input's data, and `odix edit` onto a full disk: nothing
/// is left in the output's folder (no temporary image, no spill folder), one line, the usual exit codes.
#[test]
fn interrupted_or_full_edits_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let src = big_source(tmp.path());
    let input = tmp.path().join("in.iso");
    let o = odix().args(["mkiso", "--quiet", "-o"]).arg(&input).arg(&src).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("edited.iso");
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let mut child = odix()
            .args(["edit", "--quiet", "--rm", "/small.txt"])
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_file(&out_dir, ".tmp", &mut child);
        std::thread::sleep(Duration::from_millis(50));
        kill(&child, sig);
        let (status, stderr) = stderr_of(child);
        assert_eq!(status, Some(code), "SIG{sig}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("edited.iso"), "{stderr}");
        assert_eq!(names_in(&out_dir), Vec::<String>::new(), "SIG{sig} left files behind");
    }
    let mnt = tempfile::tempdir().unwrap();
    let Some(small) = SmallFs::mount(mnt.path(), "1m") else { return };
    let src2 = tmp.path().join("src2");
    fs::create_dir(&src2).unwrap();
    fs::write(src2.join("a.bin"), vec![7u8; 3 << 20]).unwrap();
    let input2 = tmp.path().join("in2.iso");
    assert!(odix().args(["mkiso", "--quiet", "-o"]).arg(&input2).arg(&src2).status().unwrap().success());
    let o = odix().args(["edit", "--quiet"]).arg(&input2).arg("-o").arg(small.path().join("x.iso")).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("x.iso") && stderr.lines().count() == 1, "{stderr}");
    assert!(names_in(small.path()).is_empty(), "left {:?}", names_in(small.path()));
}

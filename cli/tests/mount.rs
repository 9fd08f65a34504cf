//! `odix mount`: the FUSE mount of images made by other tools must show the source tree exactly.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use odix_testdata::{compare_trees, require_tool, run, run_ok, tricky_tree, CompareOptions, TreeOptions};

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn fuse_available() -> bool {
    let ok = Path::new("/dev/fuse").exists() && require_tool("fusermount3").is_some();
    if !ok && odix_testdata::oracle::in_ci() {
        panic!("/dev/fuse or fusermount3 missing in CI");
    }
    ok
}

fn unmount(dir: &Path) {
    let _ = Command::new("fusermount3").arg("-u").arg(dir).output();
}

fn wait_unmounted(dir: &Path) {
    let canon = dir.canonicalize().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if !info.lines().any(|l| l.split(' ').nth(4) == Some(&*canon.to_string_lossy())) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} still mounted", dir.display());
}

/// Mounts `image` with `view`, compares it with `source`, unmounts.
fn mount_and_compare(image: &Path, view: &str, source: &Path, opts: &CompareOptions) {
    let mnt = tempfile::tempdir().unwrap();
    run_ok(odix().arg("mount").arg(image).arg(mnt.path()).args(["--view", view]));
    let diffs = compare_trees(source, mnt.path(), opts);
    unmount(mnt.path());
    wait_unmounted(mnt.path());
    assert!(diffs.is_empty(), "{view} mount of {} differs:\n{}", image.display(), diffs.join("\n"));
}

#[test]
fn mounts_xorriso_rock_ridge_and_joliet_trees() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    if !fuse_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    tricky_tree(&src, &TreeOptions::default()).unwrap();
    let iso = tmp.path().join("x.iso");
    run_ok(
        Command::new(&xorriso)
            .args(["-as", "mkisofs", "-quiet", "-R", "-J", "-iso-level", "3", "-o"])
            .arg(&iso)
            .arg(&src),
    );

    // Rock Ridge carries everything: contents, types, link targets, modes, mtimes, hard links.
    mount_and_compare(&iso, "rockridge", &src, &CompareOptions { dir_mtimes: true, ..Default::default() });

    // Joliet: names and contents of what Joliet can hold (no symlinks, names of at most 64 characters).
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let opts = TreeOptions { long_names: false, symlinks: false, hardlinks: false, deep: false, ..Default::default() };
    tricky_tree(&plain, &opts).unwrap();
    let jiso = tmp.path().join("j.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-J", "-o"]).arg(&jiso).arg(&plain));
    mount_and_compare(&jiso, "joliet", &plain, &CompareOptions::contents_only());
}

#[test]
fn mount_of_a_missing_image_fails_cleanly() {
    if !fuse_available() {
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let out = run(odix().arg("mount").arg("/nonexistent/x.iso").arg(mnt.path()));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("x.iso"), "{err}");
}

#[test]
fn mounts_a_raw_bin_cue_and_a_udf_bridge() {
    let (Some(xorriso), Some(genisoimage)) = (require_tool("xorriso"), require_tool("genisoimage")) else { return };
    if !fuse_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    // genisoimage's UDF tree stores symlinks as empty files, has no hard links and cuts names to its Joliet
    // names' length: leave those out.
    let opts = TreeOptions { symlinks: false, hardlinks: false, deep: false, long_names: false, ..Default::default() };
    tricky_tree(&src, &opts).unwrap();

    // A BIN/CUE (Mode 1, 2352-byte sectors) of a xorriso image.
    let iso = tmp.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(&src));
    let cue = tmp.path().join("x.cue");
    run_ok(odix().arg("convert").arg(&iso).arg(&cue));
    mount_and_compare(&cue, "rockridge", &src, &CompareOptions { hardlinks: false, ..Default::default() });

    // The UDF tree of a genisoimage bridge image.
    let udf = tmp.path().join("u.iso");
    run_ok(Command::new(&genisoimage).args(["-quiet", "-R", "-J", "-udf", "-o"]).arg(&udf).arg(&src));
    mount_and_compare(&udf, "udf", &src, &CompareOptions::contents_only());
}

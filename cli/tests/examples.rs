//! The programs in `cli/examples/` run as a newcomer would run them, each on inputs an independent tool made, and
//! what they print is checked against that tool. `cargo test` builds the examples beside the `odix` binary (in
//! `target/<profile>/examples/`), so every test here runs the binary cargo just built.

use std::path::PathBuf;
use std::process::Command;

/// The example program `name`, as `cargo test` built it for this profile.
#[allow(dead_code)]
fn example(name: &str) -> Command {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_odix"));
    let dir = bin.parent().expect("the binary's folder").join("examples");
    let path = dir.join(name);
    assert!(path.is_file(), "{} was not built: cargo test builds the examples", path.display());
    Command::new(path)
}

#[allow(dead_code)]
fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// `extract_folder` extracts one folder of an image xorriso made with Rock Ridge: the files are those of the
/// source folder (contents, modes, times, the symlink), nothing else is written, and the summary counts them.
#[test]
fn extract_folder_writes_the_folder_as_the_source_has_it() {
    use odix_testdata::{compare_trees, require_tool, run_ok, CompareOptions};
    use std::os::unix::fs::PermissionsExt;

    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    let keep = src.join("keep");
    std::fs::create_dir_all(keep.join("sub")).unwrap();
    std::fs::create_dir_all(src.join("other")).unwrap();
    std::fs::write(keep.join("a.txt"), b"hello\n").unwrap();
    std::fs::write(keep.join("sub/b.bin"), (0..5000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>()).unwrap();
    std::fs::set_permissions(keep.join("sub/b.bin"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("a.txt", keep.join("link")).unwrap();
    std::fs::write(src.join("other/c.txt"), b"not asked for\n").unwrap();
    let img = d.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&img).arg(&src));

    let out = d.path().join("out");
    let o = run_ok(example("extract_folder").arg(&img).arg("/keep").arg(&out));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "2 files, 2 directories, 1 symlinks, 0 hard links, 5006 bytes, 0 warnings\n"
    );
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["keep"]);
    let diffs = compare_trees(&keep, &out.join("keep"), &CompareOptions::default());
    assert!(diffs.is_empty(), "{diffs:#?}");
}

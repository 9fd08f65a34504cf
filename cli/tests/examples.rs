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

/// `list_image` on an image xorriso made of a small tree: the files it lists are those `xorriso -find` lists, with
/// the sizes they have on disk.
#[test]
fn list_image_lists_what_xorriso_finds() {
    let Some(xorriso) = odix_testdata::require_tool("xorriso") else { return };
    let t = tmp();
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("docs/deep")).unwrap();
    std::fs::write(src.join("readme.txt"), b"read me\n").unwrap();
    std::fs::write(src.join("docs/a long name.md"), vec![b'x'; 5000]).unwrap();
    std::fs::write(src.join("docs/deep/empty"), b"").unwrap();
    std::fs::write(src.join("docs/deep/big.bin"), vec![7u8; 300_000]).unwrap();
    let iso = t.path().join("x.iso");
    odix_testdata::run_ok(
        Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&src),
    );
    let out = odix_testdata::run_ok(example("list_image").arg(&iso));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut files: Vec<(String, u64)> = text
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(|l| {
            let (size, path) = l.split_once('\t').expect("SIZE\\tPATH");
            (path.to_string(), size.parse().expect("a size"))
        })
        .collect();
    files.sort();
    let found =
        odix_testdata::run_ok(Command::new(&xorriso).args(["-indev"]).arg(&iso).args(["-find", "/", "-type", "f"]));
    let mut want: Vec<(String, u64)> = String::from_utf8(found.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_matches('\'').to_string())
        .map(|p| {
            let size = std::fs::metadata(src.join(p.trim_start_matches('/'))).expect("a source file").len();
            (p, size)
        })
        .collect();
    want.sort();
    assert_eq!(files, want);
    assert!(text.lines().any(|l| l == "0\t/docs/deep/"), "{text}");
}

/// `read_cue_data_track` on a BIN/CUE that `odix convert` made of a xorriso ISO gives back the ISO, as bchunk does.
#[test]
fn read_cue_data_track_gives_the_iso_back() {
    let Some(xorriso) = odix_testdata::require_tool("xorriso") else { return };
    let t = tmp();
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("hello.txt"), b"hello\n").unwrap();
    std::fs::write(src.join("sub/data.bin"), (0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>()).unwrap();
    let iso = t.path().join("x.iso");
    odix_testdata::run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(&src));
    let cue = t.path().join("x.cue");
    odix_testdata::run_ok(Command::new(env!("CARGO_BIN_EXE_odix")).arg("convert").arg(&iso).arg(&cue));
    let out = t.path().join("track.iso");
    odix_testdata::run_ok(example("read_cue_data_track").arg(&cue).arg(&out));
    let iso_bytes = std::fs::read(&iso).unwrap();
    assert!(std::fs::read(&out).unwrap() == iso_bytes, "the track's sectors differ from the ISO");
    if let Some(bchunk) = odix_testdata::require_tool("bchunk") {
        odix_testdata::run_ok(Command::new(bchunk).current_dir(t.path()).args(["x.bin", "x.cue", "bc"]));
        assert!(std::fs::read(t.path().join("bc01.iso")).unwrap() == iso_bytes, "bchunk's ISO differs");
    }
}

//! The programs in `cli/examples/` run as a newcomer would run them, each on inputs an independent tool made, and
//! what they print is checked against that tool. `cargo test` builds the examples beside the `odix` binary (in
//! `target/<profile>/examples/`), so every test here runs the binary cargo just built.

use std::path::PathBuf;
use std::process::Command;

/// The example program `name`, as `cargo test` built it for this profile. A filtered run (`cargo test --test
/// examples`) does not build the examples, so a missing one is built here, once, with the same profile.
#[allow(dead_code)]
fn example(name: &str) -> Command {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_odix"));
    let profile_dir = bin.parent().expect("the binary's folder");
    let path = profile_dir.join("examples").join(name);
    if !path.is_file() {
        BUILT.call_once(|| {
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "--quiet", "-p", "odix", "--examples"]);
            // The profile's folder is named after it, but for `dev`, whose folder is `debug`.
            let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => "dev",
                Some(other) => other,
            };
            cargo.args(["--profile", profile]);
            if let Some(target) = profile_dir.parent() {
                cargo.env("CARGO_TARGET_DIR", target);
            }
            let status = cargo.status().expect("running cargo");
            assert!(status.success(), "cargo build --examples failed");
        });
    }
    assert!(path.is_file(), "{} was not built", path.display());
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

/// `rip_simulated` rips an xorriso ISO from the simulated drive with three sectors that never read: the image
/// equals the ISO everywhere else, those three are zeros, and ddrescuelog reads the map and finds exactly them bad.
#[test]
fn rip_simulated_maps_the_bad_sectors() {
    use odix_testdata::{require_tool, run, run_ok};
    let Some(xorriso) = require_tool("xorriso") else { return };
    let Some(ddrescuelog) = require_tool("ddrescuelog") else { return };
    let dir = tmp();
    let d = dir.path();
    std::fs::create_dir(d.join("tree")).unwrap();
    let body: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8 | 1).collect();
    std::fs::write(d.join("tree").join("data.bin"), &body).unwrap();
    let iso = d.join("in.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(d.join("tree")));
    let want = std::fs::read(&iso).unwrap();
    let sectors = want.len() / 2048;
    // Three sectors of the file's data, which holds no zero byte.
    let start = want.chunks(2048).position(|c| c == &body[..2048]).expect("the file's data in the ISO");
    let bad = [start + 5, start + 6, start + 150];
    let out = d.join("out.iso");
    let o = run(example("rip_simulated").arg(&iso).arg(&out).args(bad.map(|b| b.to_string())));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(2), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("outcome: Incomplete"), "{stdout}");
    assert!(stdout.contains(&format!("sectors: {sectors} of 2048 bytes")), "{stdout}");
    assert!(stdout.contains(&format!("good: {}\n", sectors - 3)), "{stdout}");
    assert!(stdout.contains("bad: 3\n"), "{stdout}");

    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.len(), want.len());
    for (i, (a, b)) in got.chunks(2048).zip(want.chunks(2048)).enumerate() {
        if bad.contains(&i) {
            assert!(a.iter().all(|&x| x == 0), "bad sector {i} is not zeros");
            assert!(b.iter().any(|&x| x != 0), "sector {i} of the ISO is zeros: pick another");
        } else {
            assert!(a == b, "sector {i} differs from the ISO");
        }
    }
    let map = d.join("out.map");
    let o = run_ok(Command::new(&ddrescuelog).args(["-b2048", "-l-"]).arg(&map));
    let listed: Vec<usize> =
        String::from_utf8_lossy(&o.stdout).split_whitespace().map(|w| w.parse().expect("an LBA")).collect();
    assert_eq!(listed, bad.to_vec());
    assert!(d.join("out.log").is_file());
}

/// `build_bootable_bridge`: a folder with a fake BIOS boot image and a fake EFI image becomes an image whose El
/// Torito catalog (as xorriso reports it), UDF tree (as 7z lists it) and Joliet and Rock Ridge names (as isoinfo
/// lists them) are what the example asked for.
#[test]
fn build_bootable_bridge() {
    let t = tmp();
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("isolinux")).unwrap();
    std::fs::write(src.join("isolinux/isolinux.bin"), vec![0x90u8; 4096]).unwrap();
    std::fs::write(src.join("efi.img"), vec![0u8; 64 * 1024]).unwrap();
    std::fs::write(src.join("Mixed Case Name.txt"), b"hello\n").unwrap();
    let out = t.path().join("out.iso");
    let run = example("build_bootable_bridge")
        .arg(&src)
        .args(["isolinux/isolinux.bin", "efi.img"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains("sectors"));

    let tool = |cmd: &mut Command| -> Option<String> {
        let o = cmd.output().ok()?;
        assert!(o.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&o.stderr));
        Some(String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    // xorriso -report_el_torito plain: `El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4   286`.
    if let Some(r) = tool(Command::new("xorriso").arg("-indev").arg(&out).args(["-report_el_torito", "plain"])) {
        let imgs: Vec<&str> = r.lines().filter(|l| l.starts_with("El Torito boot img :")).collect();
        assert_eq!(imgs.len(), 2, "{r}");
        let bios: Vec<&str> = imgs[0].split_whitespace().collect();
        assert_eq!((bios[6], bios[8]), ("BIOS", "none"), "{r}");
        assert_eq!(bios[11], "4", "load size: {r}");
        let efi: Vec<&str> = imgs[1].split_whitespace().collect();
        assert_eq!((efi[6], efi[8]), ("UEFI", "none"), "{r}");
        assert!(r.contains("El Torito img opts :   1  boot-info-table"), "{r}");
        assert!(r.contains("/isolinux/isolinux.bin") && r.contains("/efi.img"), "{r}");
        assert!(r.contains("El Torito cat path : /boot.cat"), "{r}");
    }
    // The UDF tree: 7z opens the UDF file system of a bridge image.
    if let Some(l) = tool(Command::new("7z").args(["l", "-tudf"]).arg(&out)) {
        for name in ["Mixed Case Name.txt", "isolinux/isolinux.bin", "efi.img", "boot.cat"] {
            assert!(l.contains(name), "UDF tree lacks {name}: {l}");
        }
    }
    if let Some(j) = tool(Command::new("isoinfo").args(["-J", "-f", "-i"]).arg(&out)) {
        assert!(j.contains("/Mixed Case Name.txt") && j.contains("/isolinux/isolinux.bin"), "{j}");
    }
    if let Some(r) = tool(Command::new("isoinfo").args(["-R", "-l", "-i"]).arg(&out)) {
        assert!(r.contains("Mixed Case Name.txt") && r.contains("isolinux.bin"), "{r}");
    }
}

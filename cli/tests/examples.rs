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

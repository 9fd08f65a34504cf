//! MAME CHD images against chdman (Debian's mame-tools; `createdvd` from the npm package chdman, which Debian's
//! older chdman lacks): CHDs chdman makes from BIN/CUE and ISO images read by odix exactly as chdman gives them
//! back; CHDs odix writes verified by chdman, described by `chdman info`, and given back byte for byte by
//! `chdman extractcd`/`extractraw`; damaged CHDs refused in one line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::{chdman_createdvd, compressible, require_tool, run, run_ok};

mod common;
use common::{cue_tracks, odix, stderr, stdout};

fn chdman() -> Option<PathBuf> {
    require_tool("chdman")
}

/// An ISO 9660 image of a few small files, made by genisoimage, and the source folder.
fn iso(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let gen = require_tool("genisoimage")?;
    let src = dir.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("big.bin"), compressible(400_000, 1)).unwrap();
    fs::write(src.join("hello.txt"), b"hello chd\n").unwrap();
    fs::write(src.join("sub/note.txt"), b"note\n".repeat(500)).unwrap();
    let iso = dir.join("data.iso");
    run_ok(Command::new(gen).args(["-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&src));
    Some((iso, src))
}

/// The raw Mode 1 sectors of `iso`, made by `odix convert` (checked against bchunk and chdman in raw_images.rs).
fn mode1_bin(dir: &Path, iso: &Path) -> Vec<u8> {
    let cue = dir.join("mode1.cue");
    run_ok(odix().arg("convert").arg(iso).arg(&cue));
    let bin = fs::read(dir.join("mode1.bin")).unwrap();
    fs::remove_file(&cue).unwrap();
    fs::remove_file(dir.join("mode1.bin")).unwrap();
    bin
}

/// The BIN/CUE images the tests convert: (name, cue path).
fn discs(dir: &Path, iso: &Path) -> Vec<(&'static str, PathBuf)> {
    let data = mode1_bin(dir, iso);
    let mut out = Vec::new();
    // Odix-made: one data track.
    let cue = dir.join("data.cue");
    run_ok(odix().arg("convert").arg(iso).arg(&cue));
    out.push(("data", cue));
    // Mixed mode in one BIN: the data track, then two audio tracks whose pregaps (INDEX 00) are stored, one of
    // them not a multiple of 4 frames long.
    let mut bin = data.clone();
    bin.extend(compressible(2352 * 150, 2)); // track 2 pregap
    bin.extend(compressible(2352 * 301, 3));
    bin.extend(compressible(2352 * 75, 4)); // track 3 pregap
    bin.extend(compressible(2352 * 203, 5));
    fs::write(dir.join("mixed.bin"), &bin).unwrap();
    let s = data.len() / 2352;
    let msf = |f: usize| format!("{:02}:{:02}:{:02}", f / 4500, f / 75 % 60, f % 75);
    let cue = dir.join("mixed.cue");
    fs::write(
        &cue,
        format!(
            "FILE \"mixed.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 00 {}\n    \
             INDEX 01 {}\n  TRACK 03 AUDIO\n    INDEX 00 {}\n    INDEX 01 {}\n",
            msf(s),
            msf(s + 150),
            msf(s + 451),
            msf(s + 526)
        ),
    )
    .unwrap();
    out.push(("mixed", cue));
    // One file per track, with pregaps and a postgap that are not stored.
    fs::write(dir.join("t1.bin"), &data).unwrap();
    fs::write(dir.join("t2.bin"), compressible(2352 * 222, 6)).unwrap();
    fs::write(dir.join("t3.bin"), compressible(2352 * 99, 7)).unwrap();
    let cue = dir.join("gaps.cue");
    fs::write(
        &cue,
        "FILE \"t1.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n    POSTGAP 00:02:00\n\
         FILE \"t2.bin\" BINARY\n  TRACK 02 AUDIO\n    PREGAP 00:02:00\n    INDEX 01 00:00:00\n\
         FILE \"t3.bin\" BINARY\n  TRACK 03 AUDIO\n    PREGAP 00:01:00\n    INDEX 01 00:00:00\n    POSTGAP 00:00:10\n",
    )
    .unwrap();
    out.push(("gaps", cue));
    out
}

/// `chdman extractcd` of `chd` into `out.cue` + `out.bin`; returns (cue tracks, bin bytes).
fn extractcd(chdman: &Path, chd: &Path, out: &Path) -> (String, Vec<u8>) {
    run_ok(Command::new(chdman).args(["extractcd", "-f", "-i"]).arg(chd).arg("-o").arg(out));
    (cue_tracks(out), fs::read(out.with_extension("bin")).unwrap())
}

/// What `chdman info` says on the line starting with `key`.
fn info_line(chdman: &Path, chd: &Path, key: &str) -> String {
    let o = run_ok(Command::new(chdman).args(["info", "-i"]).arg(chd));
    stdout(&o).lines().find(|l| l.starts_with(key)).unwrap_or_default().to_string()
}

#[test]
fn cds_read_from_and_written_as_chdman_does() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let Some((iso, src)) = iso(d.path()) else { return };
    for (name, cue) in discs(d.path(), &iso) {
        // chdman's CHD, read by odix: its BIN/CUE is the one chdman extracts, byte for byte.
        let theirs = d.path().join(format!("{name}.chd"));
        run_ok(Command::new(&chdman).args(["createcd", "-i"]).arg(&cue).arg("-o").arg(&theirs));
        let (their_cue, their_bin) = extractcd(&chdman, &theirs, &d.path().join(format!("{name}-x.cue")));
        let back = d.path().join(format!("{name}-odix.cue"));
        let o = run_ok(odix().arg("convert").arg(&theirs).arg(&back));
        assert!(stderr(&o).contains("wrote"), "{}", stderr(&o));
        assert_eq!(cue_tracks(&back), their_cue, "{name}: the CUE odix reads from chdman's CHD");
        assert!(fs::read(back.with_extension("bin")).unwrap() == their_bin, "{name}: BIN of chdman's CHD");
        // Its data track's file system, as the ISO holds it.
        let o = run_ok(odix().arg("cat").arg(&theirs).arg("/big.bin"));
        assert!(o.stdout == fs::read(src.join("big.bin")).unwrap(), "{name}: /big.bin");
        let cooked = d.path().join(format!("{name}-cooked.iso"));
        run_ok(odix().arg("convert").arg(&theirs).arg(&cooked));
        let (a, b) = (fs::read(&cooked).unwrap(), fs::read(&iso).unwrap());
        assert!(a.len() >= b.len() && a[..b.len()] == b[..], "{name}: the data track's user data is the ISO");
        let o = run_ok(odix().arg("info").arg(&theirs));
        assert!(stdout(&o).contains("MAME CHD"), "{}", stdout(&o));

        // odix's CHD: chdman verifies it, describes it as its own, and extracts the input's tracks.
        let ours = d.path().join(format!("{name}-odix.chd"));
        run_ok(odix().arg("convert").arg(&cue).arg(&ours));
        let v = run_ok(Command::new(&chdman).args(["verify", "-i"]).arg(&ours));
        assert!(stdout(&v).contains("Overall SHA1 verification successful"), "{}", stdout(&v));
        assert_eq!(info_line(&chdman, &ours, "Hunk Size"), "Hunk Size:    19,584 bytes");
        assert!(info_line(&chdman, &ours, "Compression").contains("cdlz (CD LZMA), cdzl (CD Deflate), cdfl (CD FLAC)"));
        let (our_cue, our_bin) = extractcd(&chdman, &ours, &d.path().join(format!("{name}-ox.cue")));
        assert_eq!(our_cue, their_cue, "{name}: the CUE chdman extracts from odix's CHD");
        assert!(our_bin == their_bin, "{name}: the BIN chdman extracts from odix's CHD");
        // Same tracks, same data: the same SHA-1 as chdman's own CHD (data and track metadata).
        assert_eq!(info_line(&chdman, &ours, "SHA1"), info_line(&chdman, &theirs, "SHA1"), "{name}");
    }
}

#[test]
fn dvds_read_from_and_written_as_chdman_does() {
    let (Some(chdman), Some(dvdman)) = (chdman(), chdman_createdvd()) else { return };
    let d = tempfile::tempdir().unwrap();
    let Some((iso, src)) = iso(d.path()) else { return };
    let theirs = d.path().join("theirs.chd");
    run_ok(Command::new(&dvdman).args(["createdvd", "-i"]).arg(&iso).arg("-o").arg(&theirs));
    let o = run_ok(odix().arg("ls").arg("-R").arg(&theirs));
    assert!(stdout(&o).contains("note.txt"), "{}", stdout(&o));
    let o = run_ok(odix().arg("cat").arg(&theirs).arg("/big.bin"));
    assert!(o.stdout == fs::read(src.join("big.bin")).unwrap());
    let back = d.path().join("back.iso");
    run_ok(odix().arg("convert").arg(&theirs).arg(&back));
    assert!(fs::read(&back).unwrap() == fs::read(&iso).unwrap(), "the ISO odix reads from chdman's DVD CHD");
    run_ok(odix().arg("verify").arg(&theirs));

    let ours = d.path().join("ours.chd");
    run_ok(odix().arg("convert").arg(&iso).arg(&ours));
    let v = run_ok(Command::new(&chdman).args(["verify", "-i"]).arg(&ours));
    assert!(stdout(&v).contains("Overall SHA1 verification successful"), "{}", stdout(&v));
    let info = stdout(&run_ok(Command::new(&chdman).args(["info", "-i"]).arg(&ours)));
    assert!(info.contains("Tag='DVD '") && info.contains("Hunk Size:    4,096 bytes"), "{info}");
    let raw = d.path().join("raw.iso");
    run_ok(Command::new(&chdman).args(["extractraw", "-i"]).arg(&ours).arg("-o").arg(&raw));
    assert!(fs::read(&raw).unwrap() == fs::read(&iso).unwrap(), "chdman extractraw of odix's DVD CHD");
    assert_eq!(info_line(&chdman, &ours, "SHA1"), info_line(&chdman, &theirs, "SHA1"));
}

/// Runs `odix ls` on `chd`, which must fail within 20 s with one line naming it and containing `what`.
fn refused(chd: &Path, what: &str) {
    let mut child = odix()
        .arg("ls")
        .arg(chd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed().as_secs() < 20, "{chd:?} hangs");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{chd:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("odix: {}", chd.display())) && err.contains(what), "{what}: {err}");
}

#[test]
fn damaged_chds_are_refused_in_one_line() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let Some((iso, _)) = iso(d.path()) else { return };
    let good = d.path().join("good.chd");
    run_ok(Command::new(&chdman).args(["createcd", "-i"]).arg(&iso).arg("-o").arg(&good));
    let chd = fs::read(&good).unwrap();
    let be64 = |at: usize| u64::from_be_bytes(chd[at..at + 8].try_into().unwrap()) as usize;
    let (map, meta) = (be64(40), be64(48));
    let write = |name: &str, bytes: &[u8]| {
        let p = d.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };

    // Cut in half: the map, at the end, is gone.
    refused(&write("cut.chd", &chd[..chd.len() / 2]), "outside the file");
    // A parent is named by its SHA-1.
    let mut child = chd.clone();
    child[104..124].copy_from_slice(&[0xab; 20]);
    refused(&write("child.chd", &child), &format!("parent CHD (SHA-1 {})", "ab".repeat(20)));
    // The map's compressed bytes garbled.
    let mut bad_map = chd.clone();
    for b in &mut bad_map[map + 16..(map + 64).min(chd.len())] {
        *b ^= 0x5a;
    }
    refused(&write("map.chd", &bad_map), "CHD");
    // A header claiming trillions of hunks.
    let mut huge = chd.clone();
    huge[32..40].copy_from_slice(&(1u64 << 56).to_be_bytes());
    refused(&write("huge.chd", &huge), "CHD hunks");
    // A hunk size of 16 MiB.
    let mut big_hunk = chd.clone();
    big_hunk[56..60].copy_from_slice(&(16u32 << 20).to_be_bytes());
    refused(&write("hunk.chd", &big_hunk), "hunks of 16777216 bytes");
    // Metadata pointing at itself: read once, then the loop is refused.
    let mut looped = chd.clone();
    looped[meta + 8..meta + 16].copy_from_slice(&(meta as u64).to_be_bytes());
    let o = run(odix().arg("ls").arg(write("loop.chd", &looped)));
    assert!(o.status.code() == Some(1) && stderr(&o).lines().count() == 1, "{}", stderr(&o));
    // Hunk data garbled: the hunks that hold the file system cannot be decoded (or fail their CRC).
    let mut garbled = chd.clone();
    for b in &mut garbled[meta + 200..map.min(meta + 200 + 20_000)] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    let o = run(odix().arg("ls").arg(write("garbled.chd", &garbled)));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn a_cancelled_or_refused_chd_conversion_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let iso = d.path().join("in.iso");
    fs::write(&iso, compressible(64 * 2048, 9)).unwrap();
    let opts = odix::convert::ConvertOptions::default();
    opts.cancel.cancel();
    let e = odix::convert::convert(&iso, &d.path().join("out.chd"), &opts).unwrap_err();
    assert!(e.downcast_ref::<odix::cancel::Cancelled>().is_some(), "{e:#}");
    // --track is for .iso output.
    let opts = odix::convert::ConvertOptions { track: Some(1), ..Default::default() };
    let e = odix::convert::convert(&iso, &d.path().join("out.chd"), &opts).unwrap_err();
    assert!(format!("{e:#}").contains("a CHD holds the whole disc"), "{e:#}");
    let left: Vec<_> = fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("in.iso")]);
}

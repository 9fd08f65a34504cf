//! CHDs odix writes, against chdman (Debian's mame-tools): the subchannel of a CloneCD image or of a cdrdao TOC's
//! `RW_RAW` tracks kept as chdman keeps it (`SUBTYPE:RW_RAW`, 96 raw bytes after each sector), and given back
//! by `chdman extractcd`; the subchannel of a CHD chdman made from a TOC read by odix as the TOC's own; and the
//! size of odix's CHDs against chdman's for the same disc.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::audio::noise;
use odix_testdata::{require_tool, run_ok};

mod common;
use common::{odix, packed, stdout};

fn chdman() -> Option<PathBuf> {
    require_tool("chdman")
}

/// The raw Mode 1 sectors of an ISO 9660 image of a few files made by genisoimage, as `odix convert` writes them
/// (checked against bchunk and chdman in raw_images.rs).
fn mode1_bin(dir: &Path) -> Option<Vec<u8>> {
    let gen = require_tool("genisoimage")?;
    let src = dir.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a.bin"), noise(300_000, 1)).unwrap();
    fs::write(src.join("zeros.bin"), vec![0u8; 200_000]).unwrap();
    fs::write(src.join("text.txt"), b"the subchannel is kept\n".repeat(4000)).unwrap();
    let iso = dir.join("data.iso");
    run_ok(Command::new(gen).args(["-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&src));
    let cue = dir.join("mode1.cue");
    run_ok(odix().arg("convert").arg(&iso).arg(&cue));
    let bin = fs::read(dir.join("mode1.bin")).unwrap();
    fs::remove_file(&cue).unwrap();
    fs::remove_file(dir.join("mode1.bin")).unwrap();
    Some(bin)
}

/// What `chdman info -v` prints of the CHD.
fn info(chdman: &Path, chd: &Path) -> String {
    stdout(&run_ok(Command::new(chdman).args(["info", "-v", "-i"]).arg(chd)))
}

#[test]
fn a_cdrdao_rw_raw_track_read_through_chdman_keeps_its_subchannel() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let Some(data) = mode1_bin(d.path()) else { return };
    let sectors = data.len() / 2352;
    let subs = noise(sectors * 96, 9);
    let mut frames = Vec::with_capacity(sectors * 2448);
    for (s, q) in data.chunks_exact(2352).zip(subs.chunks_exact(96)) {
        frames.extend_from_slice(s);
        frames.extend_from_slice(q);
    }
    fs::write(d.path().join("sub.bin"), &frames).unwrap();
    let toc = d.path().join("sub.toc");
    // With its length: chdman's TOC reader loops forever on a DATAFILE without one.
    let len = format!("{:02}:{:02}:{:02}", sectors / 4500, sectors / 75 % 60, sectors % 75);
    fs::write(&toc, format!("CD_ROM\n\nTRACK MODE1_RAW RW_RAW\nDATAFILE \"sub.bin\" {len}\n")).unwrap();
    let chd = d.path().join("theirs.chd");
    run_ok(Command::new(&chdman).args(["createcd", "-i"]).arg(&toc).arg("-o").arg(&chd));
    assert!(info(&chdman, &chd).contains("SUBTYPE:RW_RAW"), "{}", info(&chdman, &chd));

    // chdman's CHD to CloneCD: the .img holds the sectors, the .sub the TOC's subchannel, channel after channel.
    let ccd = d.path().join("from-chd.ccd");
    run_ok(odix().arg("convert").arg(&chd).arg(&ccd));
    assert!(fs::read(ccd.with_extension("img")).unwrap() == data, "the sectors of chdman's CHD");
    let want: Vec<u8> = subs.chunks_exact(96).flat_map(packed).collect();
    assert!(fs::read(ccd.with_extension("sub")).unwrap() == want, "the subchannel of chdman's CHD");
    // The TOC itself, read by odix, gives the same.
    let direct = d.path().join("from-toc.ccd");
    run_ok(odix().arg("convert").arg(&toc).arg(&direct));
    assert!(fs::read(direct.with_extension("sub")).unwrap() == want, "the subchannel of the TOC");

    // odix's CHD of the same TOC: as chdman's (the same SHA-1 of data and metadata), and chdman verifies it.
    let ours = d.path().join("ours.chd");
    run_ok(odix().arg("convert").arg(&toc).arg(&ours));
    run_ok(Command::new(&chdman).args(["verify", "-i"]).arg(&ours));
    let sha1 = |i: &str| i.lines().find(|l| l.starts_with("SHA1:")).map(str::to_string);
    assert_eq!(sha1(&info(&chdman, &ours)), sha1(&info(&chdman, &chd)));
}

#[test]
fn a_clonecd_subchannel_is_written_into_the_chd_and_given_back() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let Some(data) = mode1_bin(d.path()) else { return };
    // A CloneCD image of a data track and an audio track, its .sub given every channel but Q (which odix and
    // CloneCD generate from the layout) arbitrary bytes.
    let mut bin = data.clone();
    bin.extend(noise(2352 * 227, 3));
    fs::write(d.path().join("disc.bin"), &bin).unwrap();
    let s = data.len() / 2352;
    let msf = format!("{:02}:{:02}:{:02}", s / 4500, s / 75 % 60, s % 75);
    let cue = d.path().join("disc.cue");
    fs::write(
        &cue,
        format!("FILE \"disc.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 01 {msf}\n"),
    )
    .unwrap();
    let ccd = d.path().join("disc.ccd");
    run_ok(odix().arg("convert").arg(&cue).arg(&ccd));
    let img = fs::read(ccd.with_extension("img")).unwrap();
    let mut sub = fs::read(ccd.with_extension("sub")).unwrap();
    assert_eq!(sub.len(), img.len() / 2352 * 96);
    let random = noise(sub.len(), 5);
    for (i, b) in sub.iter_mut().enumerate() {
        if !(12..24).contains(&(i % 96)) {
            *b = random[i];
        }
    }
    fs::write(ccd.with_extension("sub"), &sub).unwrap();

    let chd = d.path().join("disc.chd");
    run_ok(odix().arg("convert").arg(&ccd).arg(&chd));
    run_ok(Command::new(&chdman).args(["verify", "-i"]).arg(&chd));
    let i = info(&chdman, &chd);
    assert_eq!(i.matches("SUBTYPE:RW_RAW").count(), 2, "{i}");

    // chdman gives back a TOC whose BIN holds each sector and its subchannel in raw form.
    let toc = d.path().join("back.toc");
    run_ok(Command::new(&chdman).args(["extractcd", "-i"]).arg(&chd).arg("-o").arg(&toc));
    let toc_text = fs::read_to_string(&toc).unwrap();
    assert_eq!(toc_text.matches("RW_RAW").count(), 2, "{toc_text}");
    let frames = fs::read(toc.with_extension("bin")).unwrap();
    assert_eq!(frames.len(), sub.len() / 96 * 2448);
    for (n, f) in frames.chunks_exact(2448).enumerate() {
        if n < s {
            assert!(f[..2352] == img[n * 2352..(n + 1) * 2352], "data sector {n}");
        }
        assert_eq!(packed(&f[2352..]), &sub[n * 96..(n + 1) * 96], "subchannel of sector {n}");
    }
    // That TOC, and odix's CHD, back to CloneCD: the image and subchannel odix started from.
    for (from, name) in [(&toc, "via-toc.ccd"), (&chd, "via-chd.ccd")] {
        let back = d.path().join(name);
        run_ok(odix().arg("convert").arg(from).arg(&back));
        assert!(fs::read(back.with_extension("img")).unwrap() == img, "{name}: image");
        assert!(fs::read(back.with_extension("sub")).unwrap() == sub, "{name}: subchannel");
    }
}

#[test]
fn a_chd_without_subchannel_is_written_without() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let Some(data) = mode1_bin(d.path()) else { return };
    fs::write(d.path().join("plain.bin"), &data).unwrap();
    let cue = d.path().join("plain.cue");
    fs::write(&cue, "FILE \"plain.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n").unwrap();
    let theirs = d.path().join("theirs.chd");
    run_ok(Command::new(&chdman).args(["createcd", "-i"]).arg(&cue).arg("-o").arg(&theirs));
    // A CHD of a CHD with SUBTYPE:NONE keeps NONE: the same data and metadata SHA-1 as chdman's.
    let ours = d.path().join("ours.chd");
    run_ok(odix().arg("convert").arg(&theirs).arg(&ours));
    let i = info(&chdman, &ours);
    assert!(i.contains("SUBTYPE:NONE") && !i.contains("RW_RAW"), "{i}");
    let sha1 = |i: &str| i.lines().find(|l| l.starts_with("SHA1:")).map(str::to_string);
    assert_eq!(sha1(&i), sha1(&info(&chdman, &theirs)));
    // Its CloneCD image has the subchannel odix generates, as from the BIN/CUE.
    let a = d.path().join("a.ccd");
    let b = d.path().join("b.ccd");
    run_ok(odix().arg("convert").arg(&theirs).arg(&a));
    run_ok(odix().arg("convert").arg(&cue).arg(&b));
    assert!(fs::read(a.with_extension("sub")).unwrap() == fs::read(b.with_extension("sub")).unwrap());
}

/// The `chdman info -v` table of how many hunks each codec stored (copies of other hunks among them).
fn hunk_table(chdman: &Path, chd: &Path) -> Vec<String> {
    let i = info(chdman, chd);
    let table: Vec<String> = i
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Hunks"))
        .skip(2)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert!(!table.is_empty(), "{i}");
    table
}

/// `NAME.bin` (`bin`: a Mode 1 track of `data_len` bytes, then audio) with its CUE in `dir`, made into a CHD by
/// `chdman createcd` and by `odix convert`, odix's checked by `chdman verify`: (chdman's, odix's).
fn data_then_audio_chds(chdman: &Path, dir: &Path, name: &str, bin: &[u8], data_len: usize) -> (PathBuf, PathBuf) {
    fs::write(dir.join(format!("{name}.bin")), bin).unwrap();
    let s = data_len / 2352;
    let msf = format!("{:02}:{:02}:{:02}", s / 4500, s / 75 % 60, s % 75);
    let cue = dir.join(format!("{name}.cue"));
    fs::write(
        &cue,
        format!(
            "FILE \"{name}.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 01 {msf}\n"
        ),
    )
    .unwrap();
    let theirs = dir.join("theirs.chd");
    run_ok(Command::new(chdman).args(["createcd", "-i"]).arg(&cue).arg("-o").arg(&theirs));
    let ours = dir.join("ours.chd");
    run_ok(odix().arg("convert").arg(&cue).arg(&ours));
    run_ok(Command::new(chdman).args(["verify", "-i"]).arg(&ours));
    (theirs, ours)
}

#[test]
fn duplicate_and_empty_hunks_are_stored_as_chdman_stores_them() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let Some(data) = mode1_bin(d.path()) else { return };
    // The data track, then audio of silence, a repeated stretch and noise: hunks that chdman stores as copies of
    // earlier ones, and hunks each codec wins.
    let mut bin = data.clone();
    bin.extend(vec![0u8; 2352 * 200]);
    let stretch = noise(2352 * 16, 7);
    for _ in 0..10 {
        bin.extend(&stretch);
    }
    let tone: Vec<u8> =
        (0..2352 * 100 / 4).flat_map(|i| (((i as f64 * 0.05).sin() * 8000.0) as i16).to_le_bytes().repeat(2)).collect();
    bin.extend(tone);
    bin.extend(noise(2352 * 50, 8));
    let (theirs, ours) = data_then_audio_chds(&chdman, d.path(), "dup", &bin, data.len());
    let table = hunk_table(&chdman, &theirs);
    assert!(table.iter().any(|l| l.contains("Copy")), "chdman stored no copies: {table:?}");
    // The same copies; the codec of each hunk stored is its smallest result, which for some audio hunks is CD FLAC
    // with chdman's encoder and CD Deflate with odix's.
    let ours_table = hunk_table(&chdman, &ours);
    let copies = |t: &[String]| t.iter().find(|l| l.contains("Copy")).cloned();
    assert_eq!(copies(&ours_table), copies(&table), "copies, odix against chdman: {ours_table:?}");
    let (a, b) = (fs::metadata(&ours).unwrap().len(), fs::metadata(&theirs).unwrap().len());
    assert!(a <= b, "odix {a} bytes, chdman {b}");
    // chdman gives back the BIN it was made from.
    let back = d.path().join("back.cue");
    run_ok(Command::new(&chdman).args(["extractcd", "-i"]).arg(&ours).arg("-o").arg(&back));
    assert!(fs::read(back.with_extension("bin")).unwrap() == bin);
}

#[test]
fn long_runs_of_copies_are_mapped_and_no_larger_than_chdmans() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let Some(data) = mode1_bin(d.path()) else { return };
    // After the data track, audio: 40 hunks (8 frames each) of noise, the same 40 again (copies of one hunk after
    // another), then 600 hunks of silence (copies of one hunk): runs of one map type longer than one run code
    // holds (274), which the map writes as several.
    let mut bin = data.clone();
    let stretch = noise(2352 * 8 * 40, 11);
    bin.extend(&stretch);
    bin.extend(&stretch);
    bin.extend(vec![0u8; 2352 * 8 * 600]);
    let (theirs, ours) = data_then_audio_chds(&chdman, d.path(), "runs", &bin, data.len());
    // The hunks copied, the same SHA-1s as chdman's CHD, and no more bytes.
    let table = hunk_table(&chdman, &ours);
    let copies = |t: &[String]| {
        t.iter().find(|l| l.contains("Copy")).and_then(|l| l.split_whitespace().next().map(|n| n.replace(',', "")))
    };
    assert!(copies(&table).is_some_and(|n| n.parse::<u32>().unwrap() >= 600 + 38), "{table:?}");
    assert_eq!(copies(&table), copies(&hunk_table(&chdman, &theirs)), "copies, odix against chdman");
    let sha1s = |i: String| i.lines().filter(|l| l.contains("SHA1:")).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(sha1s(info(&chdman, &ours)), sha1s(info(&chdman, &theirs)));
    let (a, b) = (fs::metadata(&ours).unwrap().len(), fs::metadata(&theirs).unwrap().len());
    assert!(a <= b, "odix {a} bytes, chdman {b}");
    // chdman gives back the BIN, and odix reads its own CHD as the BIN/CUE.
    let back = d.path().join("back.cue");
    run_ok(Command::new(&chdman).args(["extractcd", "-i"]).arg(&ours).arg("-o").arg(&back));
    assert!(fs::read(back.with_extension("bin")).unwrap() == bin);
    let again = d.path().join("again.cue");
    run_ok(odix().arg("convert").arg(&ours).arg(&again));
    assert!(fs::read(again.with_extension("bin")).unwrap() == bin);
}

//! Reading MAME CHDs against chdman (Debian's mame-tools; `createdvd` from the npm package chdman): a child CHD
//! made by `chdman createcd -op PARENT` read with its parent exactly as `chdman extractcd -ip` gives it; parents
//! that are missing, loop or do not fit refused in one line; and CHDs large enough to be decoded ahead (data,
//! mixed-mode audio, DVD; and Zstandard ones) read byte for byte as chdman extracts them; a CD of Mode 1, Mode 2
//! and audio tracks with their subchannel given back whole, its files read, and never a wrong byte once a byte of
//! a hunk is damaged.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::audio::noise;
use odix_testdata::{chdman_createdvd, compressible, require_tool, run, run_ok};

mod common;
use common::{cue_tracks, odix, packed, stderr, stdout};

fn msf(f: usize) -> String {
    format!("{:02}:{:02}:{:02}", f / 4500, f / 75 % 60, f % 75)
}

/// A BIN/CUE of a data track (an ISO of a 2 MB file, made by genisoimage, as raw sectors by `odix convert`) and
/// audio tracks of `audio` frames each (the first with a stored pregap of 150 frames), as `NAME.cue`/`NAME.bin`.
fn disc(dir: &Path, name: &str, audio: &[(usize, u32)]) -> Option<PathBuf> {
    let gen = require_tool("genisoimage")?;
    let src = dir.join(format!("{name}-src"));
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("big.bin"), compressible(2_000_000, 1)).unwrap();
    fs::write(src.join("hello.txt"), b"hello chd\n").unwrap();
    let iso = dir.join(format!("{name}.iso"));
    run_ok(Command::new(gen).args(["-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&src));
    let raw = dir.join(format!("{name}-raw.cue"));
    run_ok(odix().arg("convert").arg(&iso).arg(&raw));
    let mut bin = fs::read(raw.with_extension("bin")).unwrap();
    let data_frames = bin.len() / 2352;
    let mut cue = format!("FILE \"{name}.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n");
    let mut at = data_frames;
    for (i, &(frames, seed)) in audio.iter().enumerate() {
        let pregap = if i == 0 { 150 } else { 0 };
        bin.extend(compressible(2352 * (pregap + frames), seed));
        cue += &format!("  TRACK {:02} AUDIO\n", i + 2);
        if pregap > 0 {
            cue += &format!("    INDEX 00 {}\n", msf(at));
        }
        cue += &format!("    INDEX 01 {}\n", msf(at + pregap));
        at += pregap + frames;
    }
    fs::write(dir.join(format!("{name}.bin")), &bin).unwrap();
    let path = dir.join(format!("{name}.cue"));
    fs::write(&path, cue).unwrap();
    Some(path)
}

/// `chdman extractcd` of `chd` (with `parent` if given) into `out` + its BIN: (cue tracks, bin bytes).
fn extractcd(chdman: &Path, chd: &Path, parent: Option<&Path>, out: &Path) -> (String, Vec<u8>) {
    let mut cmd = Command::new(chdman);
    cmd.args(["extractcd", "-f", "-i"]).arg(chd).arg("-o").arg(out);
    if let Some(p) = parent {
        cmd.arg("-ip").arg(p);
    }
    run_ok(&mut cmd);
    (cue_tracks(out), fs::read(out.with_extension("bin")).unwrap())
}

/// `odix convert chd` to a BIN/CUE: (cue tracks, bin bytes).
fn odix_cue(chd: &Path, out: &Path) -> (String, Vec<u8>) {
    run_ok(odix().arg("convert").arg("--force").arg(chd).arg(out));
    (cue_tracks(out), fs::read(out.with_extension("bin")).unwrap())
}

/// What `chdman info` says after `key`, trimmed.
fn info(chdman: &Path, chd: &Path, key: &str) -> String {
    let o = run_ok(Command::new(chdman).args(["info", "-i"]).arg(chd));
    let line = stdout(&o).lines().find(|l| l.starts_with(key)).unwrap_or_default().to_string();
    line.trim_start_matches(key).trim().to_string()
}

/// `odix ls` of `chd` fails in one line naming it and containing `what`.
fn refused(chd: &Path, what: &str) {
    let o = run(odix().arg("ls").arg(chd));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{chd:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("odix: {}", chd.display())) && err.contains(what), "{what}: {err}");
}

fn chdman() -> Option<PathBuf> {
    require_tool("chdman")
}

#[test]
fn a_child_chd_is_read_with_its_parent_as_chdman_extracts_it() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some(parent_cue) = disc(dir, "parent", &[(400, 2), (300, 3)]) else { return };
    // The child: the parent's disc with its second audio track replaced and a third one added, so that most of
    // its hunks are the parent's.
    let Some(child_cue) = disc(dir, "child", &[(400, 2), (300, 4), (250, 5)]) else { return };
    let parent = dir.join("parent.chd");
    run_ok(Command::new(&chdman).args(["createcd", "-i"]).arg(&parent_cue).arg("-o").arg(&parent));
    let kids = dir.join("kids");
    fs::create_dir(&kids).unwrap();
    let child = kids.join("child.chd");
    run_ok(
        Command::new(&chdman).args(["createcd", "-i"]).arg(&child_cue).arg("-o").arg(&child).arg("-op").arg(&parent),
    );
    let parent_sha = info(&chdman, &parent, "SHA1:");
    assert_eq!(info(&chdman, &child, "Parent SHA1:"), parent_sha, "chdman made a child of the parent");
    assert!(fs::metadata(&child).unwrap().len() < fs::metadata(&parent).unwrap().len(), "the child is smaller");

    // Not beside it: refused, naming the SHA-1 it needs.
    refused(&child, &format!("needs its parent CHD (SHA-1 {parent_sha})"));

    // Beside it: read exactly as chdman extracts it with its parent (tracks, BIN), and its files.
    fs::copy(&parent, kids.join("parent.chd")).unwrap();
    let theirs = extractcd(&chdman, &child, Some(&parent), &dir.join("their.cue"));
    assert!(odix_cue(&child, &dir.join("ours.cue")) == theirs, "odix convert of the child = chdman extractcd -ip");
    assert!(theirs.1 == fs::read(child_cue.with_extension("bin")).unwrap(), "chdman gives back the child's BIN");
    let o = run_ok(odix().arg("cat").arg(&child).arg("/big.bin"));
    assert!(o.stdout == compressible(2_000_000, 1), "/big.bin of the child");
    // The parent found is checked: one with other hunks, though of the same data and SHA-1, is refused.
    let other = dir.join("other");
    fs::create_dir(&other).unwrap();
    run_ok(
        Command::new(&chdman)
            .args(["createcd", "-hs", "4896", "-i"])
            .arg(&parent_cue)
            .arg("-o")
            .arg(other.join("parent.chd")),
    );
    assert_eq!(info(&chdman, &other.join("parent.chd"), "SHA1:"), parent_sha);
    fs::copy(&child, other.join("child.chd")).unwrap();
    refused(&other.join("child.chd"), "hunks of 4896 bytes in units of 2448, not 19584");
}

#[test]
fn hostile_parents_are_refused_in_one_line() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some(parent_cue) = disc(dir, "parent", &[(300, 2)]) else { return };
    let Some(child_cue) = disc(dir, "child", &[(300, 2), (300, 3)]) else { return };
    let Some(small_cue) = disc(dir, "small", &[]) else { return };
    let make = |cue: &Path, out: &Path, parent: Option<&Path>| {
        let mut cmd = Command::new(&chdman);
        cmd.args(["createcd", "-i"]).arg(cue).arg("-o").arg(out);
        if let Some(p) = parent {
            cmd.arg("-op").arg(p);
        }
        run_ok(&mut cmd);
        fs::read(out).unwrap()
    };
    let sub = |name: &str| {
        let p = dir.join(name);
        fs::create_dir(&p).unwrap();
        p
    };
    let parent = make(&parent_cue, &dir.join("parent.chd"), None);
    let child = make(&child_cue, &dir.join("child.chd"), Some(&dir.join("parent.chd")));
    let small = make(&small_cue, &dir.join("small.chd"), None);
    let sha = |chd: &[u8]| chd[84..104].iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(sha(&parent), info(&chdman, &dir.join("parent.chd"), "SHA1:"), "the header's SHA-1 is chdman's");

    // A CHD that names itself as its parent.
    let own = sub("own");
    let mut me = child.clone();
    me.copy_within(84..104, 104);
    fs::write(own.join("me.chd"), &me).unwrap();
    refused(&own.join("me.chd"), "CHD parents loop");
    // Two that name each other.
    let pair = sub("pair");
    let (mut a, mut b) = (child.clone(), parent.clone());
    let (sa, sb) = (a[84..104].to_vec(), b[84..104].to_vec());
    a[104..124].copy_from_slice(&sb);
    b[104..124].copy_from_slice(&sa);
    fs::write(pair.join("a.chd"), &a).unwrap();
    fs::write(pair.join("b.chd"), &b).unwrap();
    refused(&pair.join("a.chd"), "CHD parents loop");
    // A chain longer than 8: each names the next.
    let long = sub("long");
    for i in 0..10u8 {
        let mut c = small.clone();
        c[84..104].copy_from_slice(&[i + 1; 20]);
        c[104..124].copy_from_slice(&[i + 2; 20]);
        fs::write(long.join(format!("c{i}.chd")), &c).unwrap();
    }
    refused(&long.join("c0.chd"), "more than 8 in a chain");
    // A parent of the same SHA-1 but shorter than the hunks the child copies from it.
    let short = sub("short");
    let mut fake = small.clone();
    fake[84..104].copy_from_slice(&parent[84..104]);
    fs::write(short.join("parent.chd"), &fake).unwrap();
    fs::write(short.join("child.chd"), &child).unwrap();
    refused(&short.join("child.chd"), "of its parent CHD, which has");
    // The real pair still reads.
    let theirs = extractcd(&chdman, &dir.join("child.chd"), Some(&dir.join("parent.chd")), &dir.join("t.cue"));
    assert!(odix_cue(&dir.join("child.chd"), &dir.join("o.cue")) == theirs);
}

/// Whole CHDs of a few MB, read from start to end (so decoded ahead on worker threads past the first 256 KB):
/// a data CD, a mixed-mode CD and a DVD, each byte for byte as chdman extracts it.
#[test]
fn chds_read_in_order_give_what_chdman_extracts() {
    let (Some(chdman), Some(dvdman)) = (chdman(), chdman_createdvd()) else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some(data) = disc(dir, "data", &[]) else { return };
    let Some(mixed) = disc(dir, "mixed", &[(450, 2), (301, 3)]) else { return };
    for (name, cue) in [("data", data), ("mixed", mixed)] {
        let chd = dir.join(format!("{name}.chd"));
        run_ok(Command::new(&chdman).args(["createcd", "-i"]).arg(&cue).arg("-o").arg(&chd));
        let theirs = extractcd(&chdman, &chd, None, &dir.join(format!("{name}-t.cue")));
        assert!(theirs.1.len() > 2 << 20, "{name}: large enough to be decoded ahead");
        assert!(odix_cue(&chd, &dir.join(format!("{name}-o.cue"))) == theirs, "{name}: odix convert = extractcd");
    }
    let iso = dir.join("data.iso");
    let chd = dir.join("dvd.chd");
    run_ok(Command::new(&dvdman).args(["createdvd", "-i"]).arg(&iso).arg("-o").arg(&chd));
    let raw = dir.join("raw.iso");
    run_ok(Command::new(&chdman).args(["extractraw", "-i"]).arg(&chd).arg("-o").arg(&raw));
    let back = dir.join("back.iso");
    run_ok(odix().arg("convert").arg(&chd).arg(&back));
    assert!(fs::read(&back).unwrap() == fs::read(&raw).unwrap(), "odix convert of a DVD CHD = chdman extractraw");
    let o = run_ok(odix().arg("cat").arg(&chd).arg("/big.bin"));
    assert!(o.stdout == compressible(2_000_000, 1), "/big.bin of the DVD CHD");
}

/// Zstandard, which chdman writes when asked (`-c cdzs`, `-c zstd`; MAME 0.253 and later, the npm package's
/// chdman here): a mixed-mode CD and a DVD read as chdman extracts them.
#[test]
fn zstandard_chds_give_what_chdman_extracts() {
    let Some(newer) = chdman_createdvd() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some(mixed) = disc(dir, "zs", &[(300, 4)]) else { return };
    let chd = dir.join("cdzs.chd");
    run_ok(Command::new(&newer).args(["createcd", "-c", "cdzs", "-i"]).arg(&mixed).arg("-o").arg(&chd));
    assert!(info(&newer, &chd, "Compression:").starts_with("cdzs"), "{}", info(&newer, &chd, "Compression:"));
    let theirs = extractcd(&newer, &chd, None, &dir.join("cdzs-t.cue"));
    assert!(odix_cue(&chd, &dir.join("cdzs-o.cue")) == theirs, "odix convert of a cdzs CHD = extractcd");
    let o = run_ok(odix().arg("cat").arg(&chd).arg("/hello.txt"));
    assert_eq!(o.stdout, b"hello chd\n");

    let iso = dir.join("zs.iso");
    let dvd = dir.join("zstd.chd");
    run_ok(Command::new(&newer).args(["createdvd", "-c", "zstd", "-i"]).arg(&iso).arg("-o").arg(&dvd));
    assert!(info(&newer, &dvd, "Compression:").starts_with("zstd"), "{}", info(&newer, &dvd, "Compression:"));
    let raw = dir.join("zstd-raw.iso");
    run_ok(Command::new(&newer).args(["extractraw", "-i"]).arg(&dvd).arg("-o").arg(&raw));
    let back = dir.join("zstd-back.iso");
    run_ok(odix().arg("convert").arg(&dvd).arg(&back));
    assert!(fs::read(&back).unwrap() == fs::read(&raw).unwrap(), "odix convert of a zstd DVD CHD = extractraw");
}

/// A cdrdao TOC of a Mode 1 track (files by genisoimage), a Mode 2 track and an audio track, each with its
/// subchannel (`RW_RAW`), made a CHD by `chdman createcd`: odix gives back the BIN/CUE `chdman extractcd` gives,
/// the subchannel as the TOC holds it, and the files; with a byte of a hunk damaged, a read either fails in one
/// line or gives what the undamaged CHD gives (a file read takes the sectors' user data only, a conversion every
/// byte: sync, parities and subchannel rebuilt or decoded, and the hunk's CRC-16 checked).
#[test]
fn a_mixed_cd_with_subchannel_reads_as_chdman_extracts_it() {
    let Some(chdman) = chdman() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let Some(cue) = disc(dir, "m1", &[]) else { return };
    let mode1 = fs::read(cue.with_extension("bin")).unwrap();
    let mut mode2 = compressible(2352 * 300, 11);
    for (i, s) in mode2.chunks_exact_mut(2352).enumerate() {
        s[..12].copy_from_slice(&[0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0]);
        s[12..16].copy_from_slice(&[0, (i / 75) as u8, (i % 75) as u8, 2]);
    }
    let audio = compressible(2352 * 200, 12);
    let mut toc = String::from("CD_ROM_XA\n");
    let mut subs_all = Vec::new();
    for (i, (kind, sectors)) in [("MODE1_RAW", &mode1), ("MODE2_RAW", &mode2), ("AUDIO", &audio)].iter().enumerate() {
        let n = sectors.len() / 2352;
        let subs = noise(n * 96, 20 + i as u32);
        let mut frames = Vec::with_capacity(n * 2448);
        for (s, q) in sectors.chunks_exact(2352).zip(subs.chunks_exact(96)) {
            frames.extend_from_slice(s);
            frames.extend_from_slice(q);
        }
        fs::write(dir.join(format!("t{i}.bin")), &frames).unwrap();
        // `FILE` with offset and length: chdman reads a track after the first given as `DATAFILE` as 0 frames.
        toc += &format!("\nTRACK {kind} RW_RAW\nFILE \"t{i}.bin\" 0 {}\n", msf(n));
        subs_all.extend(subs);
    }
    let toc_path = dir.join("mixed.toc");
    fs::write(&toc_path, toc).unwrap();
    let chd = dir.join("mixed.chd");
    run_ok(Command::new(&chdman).args(["createcd", "-i"]).arg(&toc_path).arg("-o").arg(&chd));
    let theirs = extractcd(&chdman, &chd, None, &dir.join("t.cue"));
    assert!(odix_cue(&chd, &dir.join("o.cue")) == theirs, "odix convert = chdman extractcd");
    assert_eq!(theirs.1.len(), mode1.len() + mode2.len() + audio.len());
    // The subchannel, in CloneCD's form.
    let ccd = dir.join("o.ccd");
    run_ok(odix().arg("convert").arg(&chd).arg(&ccd));
    let want: Vec<u8> = subs_all.chunks_exact(96).flat_map(packed).collect();
    assert!(fs::read(ccd.with_extension("sub")).unwrap() == want, "the subchannel chdman stored");
    // The files.
    let big = compressible(2_000_000, 1);
    assert!(run_ok(odix().arg("cat").arg(&chd).arg("/big.bin")).stdout == big, "/big.bin");
    let out = dir.join("out");
    fs::create_dir(&out).unwrap();
    run_ok(odix().arg("extract").arg(&chd).arg("-C").arg(&out));
    assert!(
        fs::read(out.join("big.bin")).unwrap() == big && fs::read(out.join("hello.txt")).unwrap() == b"hello chd\n"
    );

    // One byte damaged at a time, at places spread over the hunks (between the metadata and the map).
    let bytes = fs::read(&chd).unwrap();
    let be64 = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let (map, meta) = (be64(40), be64(48));
    let (from, to) = (meta + 200, map);
    assert!(to > from + 10_000, "hunks between {from} and {to}");
    let (mut cat_failed, mut convert_failed) = (0, 0);
    let tries = 24;
    for k in 0..tries {
        let at = from + (to - from) * (2 * k + 1) / (2 * tries);
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        let bad = dir.join("bad.chd");
        fs::write(&bad, &damaged).unwrap();
        let o = run(odix().arg("cat").arg(&bad).arg("/big.bin"));
        if o.status.success() {
            assert!(o.stdout == big, "byte {at} damaged: /big.bin read wrong");
        } else {
            assert_eq!(stderr(&o).lines().count(), 1, "byte {at}: {}", stderr(&o));
            cat_failed += 1;
        }
        let back = dir.join("bad-o.cue");
        let o = run(odix().arg("convert").arg("--force").arg(&bad).arg(&back));
        if o.status.success() {
            assert!(
                fs::read(back.with_extension("bin")).unwrap() == theirs.1,
                "byte {at} damaged: BIN converted wrong"
            );
        } else {
            assert_eq!(stderr(&o).lines().count(), 1, "byte {at}: {}", stderr(&o));
            assert!(!back.exists(), "byte {at}: a CUE left behind");
            convert_failed += 1;
        }
    }
    assert!(cat_failed > 0, "no damaged byte failed a read of /big.bin");
    assert!(convert_failed > tries / 2, "{convert_failed} of {tries} damaged bytes failed the conversion");
}

//! What odix reads of the other formats beyond their common forms, each checked end to end from the command line
//! against an independent tool:
//!
//! - cdrdao TOC files taking audio from WAVE files (`AUDIOFILE "a.wav" 0`, `FILE "b.wav" start length` in MSF and
//!   samples): cdrdao `show-toc` gives the same track starts, `read-test` reads every block, and the samples of
//!   each track (bchunk's WAV tracks of odix's BIN/CUE) are those sox takes from the WAVE files;
//! - CUE sheets naming FLAC files (`FILE "x.flac" FLAC`, and `WAVE` naming a FLAC file): the samples are those
//!   `flac -d` decodes;
//! - Alcohol images whose data file is split into pieces (`x.mdf`, `x.md0`, `x.md1`, as libmirage's MDS parser
//!   describes the file blocks): mdf2iso and iat read the pieces joined, odix reads them in place; a version 2
//!   descriptor is refused saying why;
//! - GD-ROM CHDs (`CHGD`) made by `chdman createcd` from a `.gdi`: the same tracks, track hashes (sha1sum of the
//!   `.gdi`'s track files) and tree as the `.gdi`;
//! - `odix verify` of ECM, CSO and ZSO files hashes the image they hold (sha1sum of the file they were made from;
//!   the containers are written by Python following the published descriptions);
//! - `odix convert x.bin.ecm x.iso` cooks the raw sectors to the ISO bchunk and iat make from the BIN;
//! - images of formats odix does not read (ISZ, DAA, GCZ, WIA, RVZ, GameCube and Wii discs) and compressed or
//!   archived images: `file` (libmagic) names each, and every reading command refuses it in one line naming it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::audio::{noise, write_wav};
use odix_testdata::oracle::python_with;
use odix_testdata::{require_tool, run, run_ok, script};

mod common;
use common::{fixture, mode1, odix, sectors, stderr, stdout, tracks, verify_sha1s};

const RAW: usize = 2352;

/// sha1sum's hash of `f`.
fn sha1sum(f: &Path) -> Option<String> {
    let tool = require_tool("sha1sum")?;
    let o = run_ok(Command::new(tool).arg(f));
    Some(stdout(&o).split_whitespace().next().unwrap().to_string())
}

/// The PCM bytes of the WAV file bchunk or sox wrote (its `data` chunk).
fn wav_pcm(wav: &[u8]) -> Vec<u8> {
    let mut p = 12;
    while p + 8 <= wav.len() {
        let len = u32::from_le_bytes(wav[p + 4..p + 8].try_into().unwrap()) as usize;
        if &wav[p..p + 4] == b"data" {
            return wav[p + 8..(p + 8 + len).min(wav.len())].to_vec();
        }
        p += 8 + len + (len & 1);
    }
    panic!("no data chunk");
}

/// bchunk's tracks of odix's BIN/CUE of `img`, audio as WAV (`-w`): the bytes of each track file, in order.
fn bchunk_tracks(img: &Path, out: &Path) -> Option<Vec<Vec<u8>>> {
    let bchunk = require_tool("bchunk")?;
    fs::create_dir_all(out).unwrap();
    let cue = out.join("odix.cue");
    run_ok(odix().arg("convert").arg(img).arg(&cue));
    run_ok(Command::new(bchunk).arg("-w").arg(cue.with_extension("bin")).arg(&cue).arg(out.join("t")));
    let mut names: Vec<PathBuf> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('t'))
        .collect();
    names.sort();
    Some(names.iter().map(|p| fs::read(p).unwrap()).collect())
}

/// `pcm` padded with silence to whole sectors, as a track of a CD holds it.
fn padded(mut pcm: Vec<u8>) -> Vec<u8> {
    pcm.resize(pcm.len().div_ceil(RAW) * RAW, 0);
    pcm
}

// ---- cdrdao TOC with WAVE files ------------------------------------------------------------------------------

/// The START of every track as `cdrdao show-toc` prints it.
fn cdrdao_starts(toc: &Path) -> Option<Vec<i64>> {
    let c = require_tool("cdrdao")?;
    let o = run_ok(Command::new(c).arg("show-toc").arg(toc).current_dir(toc.parent().unwrap()));
    let text = stdout(&o) + &stderr(&o);
    Some(
        text.lines()
            .filter(|l| l.trim_start().starts_with("START"))
            .map(|l| l.split('(').nth(1).unwrap().trim_end_matches(')').trim().parse().unwrap())
            .collect(),
    )
}

/// The samples sox takes from `wav`: `trim` from sample `from`, `len` samples (to the end when `None`), as raw
/// 16-bit little-endian stereo.
fn sox_samples(wav: &Path, from: usize, len: Option<usize>, out: &Path) -> Option<Vec<u8>> {
    let sox = require_tool("sox")?;
    let mut c = Command::new(sox);
    c.arg(wav).args(["-t", "raw", "-e", "signed-integer", "-b", "16", "-L"]).arg(out);
    c.args(["trim", &format!("{from}s")]);
    if let Some(n) = len {
        c.arg(format!("{n}s"));
    }
    run_ok(&mut c);
    Some(fs::read(out).unwrap())
}

/// A data track, then three audio tracks from two WAVE files: one whole (`AUDIOFILE "a.wav" 0`, its last sector
/// partial), then two parts of the other, placed in MSF and in samples.
#[test]
fn toc_audio_from_wave_files() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    fs::write(f.dir.join("data.iso"), &f.iso).unwrap();
    let a = f.dir.join("a.wav");
    let b = f.dir.join("b wave.wav");
    write_wav(&a, &noise(300 * RAW + 1000, 1));
    write_wav(&b, &noise(450 * RAW, 2));
    let toc = f.dir.join("wave.toc");
    fs::write(
        &toc,
        "CD_ROM\nTRACK MODE1\nDATAFILE \"data.iso\"\n\
         TRACK AUDIO\nPREGAP 00:02:00\nAUDIOFILE \"a.wav\" 0\n\
         TRACK AUDIO\nFILE \"b wave.wav\" 00:01:00 117600\n\
         TRACK AUDIO\nFILE \"b wave.wav\" 176400 00:01:50\n",
    )
    .unwrap();
    // a.wav: 301 sectors (the last one partial); b: from sector 75, 200 sectors; then from 300, 125 sectors.
    let want = vec![
        (1, 1, 0, "MODE1/2048".to_string()),
        (2, 1, n + 150, "AUDIO".into()),
        (3, 1, n + 150 + 301, "AUDIO".into()),
        (4, 1, n + 150 + 301 + 200, "AUDIO".into()),
    ];
    let (t, v) = tracks(&toc);
    assert_eq!(v["tracks"]["format"], "toc");
    assert_eq!(t, want);
    if let Some(starts) = cdrdao_starts(&toc) {
        assert_eq!(t.iter().map(|t| t.2).collect::<Vec<_>>(), starts, "START of each track as cdrdao says");
        let rt = run_ok(
            Command::new(require_tool("cdrdao").unwrap()).args(["read-test", "--force"]).arg(&toc).current_dir(&f.dir),
        );
        let said = stdout(&rt) + &stderr(&rt);
        let blocks = n + 150 + 301 + 200 + 125;
        assert!(said.contains(&format!("Read {blocks} blocks")), "{said}");
    }
    // The samples of each track, sample for sample those sox takes from the WAVE files.
    let Some(bc) = bchunk_tracks(&toc, &f.dir.join("bc")) else { return };
    assert_eq!(bc.len(), 4);
    assert!(bc[0] == f.iso, "bchunk's data track");
    let sox = [
        sox_samples(&a, 0, None, &f.dir.join("s2.raw")),
        sox_samples(&b, 75 * 588, Some(117_600), &f.dir.join("s3.raw")),
        sox_samples(&b, 176_400, Some(125 * 588), &f.dir.join("s4.raw")),
    ];
    for (i, s) in sox.into_iter().enumerate() {
        let Some(s) = s else { return };
        let got = wav_pcm(&bc[i + 1]);
        assert_eq!(got.len(), padded(s.clone()).len(), "track {}", i + 2);
        assert!(got == padded(s), "track {}: the samples differ from sox's", i + 2);
    }
    // Read through `odix cat`-free paths too: the data track's tree.
    let ls = run_ok(odix().args(["ls", "-R"]).arg(&toc));
    assert!(stdout(&ls).contains("/sub/big.bin"), "{}", stdout(&ls));
}

// ---- CUE sheets naming FLAC files ----------------------------------------------------------------------------

/// Two FLAC files made by `flac`, one named `FLAC` and one named `WAVE` in the sheet: odix's BIN/CUE of it holds
/// the samples `flac -d` decodes (the second file's last sector padded with silence).
#[test]
fn cue_naming_flac_files() {
    let (Some(flac), Some(_)) = (require_tool("flac"), require_tool("bchunk")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let pcm1 = noise(200 * RAW, 3);
    let pcm2 = noise(150 * RAW + 588, 4);
    for (name, pcm) in [("one", &pcm1), ("two", &pcm2)] {
        let wav = d.join(format!("{name}.wav"));
        write_wav(&wav, pcm);
        run_ok(Command::new(&flac).args(["-s", "-f", "-o"]).arg(d.join(format!("{name}.flac"))).arg(&wav));
        fs::remove_file(wav).unwrap();
    }
    let cue = d.join("flac.cue");
    fs::write(
        &cue,
        "FILE \"one.flac\" FLAC\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 01 00:01:00\n\
         FILE \"two.flac\" WAVE\n  TRACK 03 AUDIO\n    INDEX 01 00:00:00\n",
    )
    .unwrap();
    let (t, _) = tracks(&cue);
    assert_eq!(t.iter().map(|t| t.2).collect::<Vec<_>>(), vec![0, 75, 200]);
    // flac -d's samples, raw little-endian.
    let decode = |name: &str| {
        let out = d.join(format!("{name}.raw"));
        run_ok(
            Command::new(&flac)
                .args(["-s", "-d", "-f", "--force-raw-format", "--endian=little", "--sign=signed", "-o"])
                .arg(&out)
                .arg(d.join(format!("{name}.flac"))),
        );
        fs::read(out).unwrap()
    };
    let (raw1, raw2) = (decode("one"), decode("two"));
    assert!(raw1 == pcm1 && raw2 == pcm2, "flac gives back the samples it was given");
    let bc = bchunk_tracks(&cue, &d.join("bc")).unwrap();
    assert_eq!(bc.len(), 3);
    assert!(wav_pcm(&bc[0]) == raw1[..75 * RAW], "track 1");
    assert!(wav_pcm(&bc[1]) == raw1[75 * RAW..], "track 2");
    assert!(wav_pcm(&bc[2]) == padded(raw2.clone()), "track 3");
    // The sheet's hashes agree: verify's track 3 is the decoded file padded to its sectors.
    let p = d.join("two.padded");
    fs::write(&p, padded(raw2)).unwrap();
    let (_, th) = verify_sha1s(&cue);
    if let Some(s) = sha1sum(&p) {
        assert_eq!(th[2], s);
    }
}

// ---- MDS/MDF split into pieces -------------------------------------------------------------------------------

/// An MDS descriptor (version 1.3) of one CD session: a raw Mode 1 track and an audio track whose sectors are in
/// the pieces `names` (`*.mdf`, `*.md0`, ...), one file block each, following each other.
fn mds_split(n: i64, names: &[&str]) -> Vec<u8> {
    let tracks = [(0xAAu8, 0i64, 0u64, n as u32), (0xA9, n + 150, n as u64 * RAW as u64, 300)];
    let blocks = 3 + tracks.len();
    let track_at = 88 + 24;
    let extra_at = track_at + blocks * 80;
    let footer_at = extra_at + tracks.len() * 8;
    let names_at = footer_at + 16 * names.len();
    let mut d = vec![0u8; 88];
    d[..16].copy_from_slice(b"MEDIA DESCRIPTOR");
    d[16] = 1;
    d[17] = 3;
    d[20..22].copy_from_slice(&1u16.to_le_bytes());
    d[80..84].copy_from_slice(&88u32.to_le_bytes());
    let mut s = vec![0u8; 24];
    s[0..4].copy_from_slice(&(-150i32).to_le_bytes());
    s[4..8].copy_from_slice(&((n + 450) as i32).to_le_bytes());
    s[8..10].copy_from_slice(&1u16.to_le_bytes());
    s[10] = blocks as u8;
    s[11] = 3;
    s[12..14].copy_from_slice(&1u16.to_le_bytes());
    s[14..16].copy_from_slice(&(tracks.len() as u16).to_le_bytes());
    s[20..24].copy_from_slice(&(track_at as u32).to_le_bytes());
    d.extend(s);
    for point in [0xA0u8, 0xA1, 0xA2] {
        let mut b = vec![0u8; 80];
        b[2] = 0x14;
        b[4] = point;
        d.extend(b);
    }
    for (i, &(mode, start, offset, _)) in tracks.iter().enumerate() {
        let mut b = vec![0u8; 80];
        b[0] = mode;
        b[2] = if mode == 0xA9 { 0x10 } else { 0x14 };
        b[4] = i as u8 + 1;
        b[12..16].copy_from_slice(&((extra_at + i * 8) as u32).to_le_bytes());
        b[16..18].copy_from_slice(&2352u16.to_le_bytes());
        b[36..40].copy_from_slice(&(start as u32).to_le_bytes());
        b[40..48].copy_from_slice(&offset.to_le_bytes());
        b[48..52].copy_from_slice(&(names.len() as u32).to_le_bytes());
        b[52..56].copy_from_slice(&(footer_at as u32).to_le_bytes());
        d.extend(b);
    }
    for &(_, _, _, length) in &tracks {
        d.extend(150u32.to_le_bytes());
        d.extend(length.to_le_bytes());
    }
    let mut at = names_at;
    for name in names {
        d.extend((at as u32).to_le_bytes());
        d.extend([0u8; 12]);
        at += name.len() + 1;
    }
    for name in names {
        d.extend(name.as_bytes());
        d.push(0);
    }
    d
}

/// The data file cut into `x.mdf`, `x.md0` and `x.md1` (cuts inside sectors, as a split by size makes them):
/// mdf2iso and iat read the pieces joined; odix reads the descriptor and the pieces as they are.
#[test]
fn mds_split_into_pieces() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    let whole = [mode1(&f.iso, 0, 0), noise(300 * RAW, 5)].concat();
    let cuts = [0, whole.len() / 3 + 17, 2 * whole.len() / 3 + 1001, whole.len()];
    for (i, ext) in ["mdf", "md0", "md1"].iter().enumerate() {
        fs::write(f.dir.join(format!("split.{ext}")), &whole[cuts[i]..cuts[i + 1]]).unwrap();
    }
    let joined = f.dir.join("joined.mdf");
    fs::write(&joined, &whole).unwrap();
    let img = f.dir.join("split.mds");
    fs::write(&img, mds_split(n, &["*.mdf", "*.md0", "*.md1"])).unwrap();
    for tool in ["mdf2iso", "iat"] {
        let Some(t) = require_tool(tool) else { return };
        let out = f.dir.join(format!("{tool}.iso"));
        let o = run(Command::new(t).arg(&joined).arg(&out));
        assert!(out.exists(), "{tool}: {}{}", stdout(&o), stderr(&o));
        assert!(fs::read(&out).unwrap()[..f.iso.len()] == f.iso[..], "{tool}'s data track of the joined pieces");
    }
    let (t, v) = tracks(&img);
    assert_eq!(v["tracks"]["format"], "mds");
    assert_eq!(t, vec![(1, 1, 0, "MODE1/2352".into()), (2, 1, n + 150, "AUDIO".into())]);
    let out = f.dir.join("odix.iso");
    run_ok(odix().arg("convert").arg(&img).arg(&out));
    assert!(fs::read(&out).unwrap() == f.iso, "odix's ISO of the split image");
    assert_eq!(
        stdout(&run_ok(odix().args(["ls", "-R"]).arg(&img))),
        stdout(&run_ok(odix().args(["ls", "-R"]).arg(&f.iso_path)))
    );
    // Track hashes: those of the joined file's parts (sha1sum).
    let (_, th) = verify_sha1s(&img);
    let t2 = f.dir.join("t2.raw");
    fs::write(&t2, &whole[n as usize * RAW..]).unwrap();
    if let Some(s) = sha1sum(&t2) {
        assert_eq!(th[1], s, "the audio track spans the last two pieces");
    }
    // A piece missing is named.
    fs::remove_file(f.dir.join("split.md1")).unwrap();
    let o = run(odix().arg("info").arg(&img));
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("split.md1"), "{}", stderr(&o));
    // A file count no split makes is refused in one line.
    let mut lie = mds_split(n, &["*.mdf"]);
    let at = 88 + 24 + 3 * 80 + 48;
    lie[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&img, lie).unwrap();
    let o = run(odix().arg("info").arg(&img));
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("pieces") && stderr(&o).lines().count() == 1, "{}", stderr(&o));
    // Version 2 descriptors are refused, saying why.
    let mut v2 = mds_split(n, &["*.mdf"]);
    v2[16] = 2;
    fs::write(&img, v2).unwrap();
    let o = run(odix().arg("info").arg(&img));
    assert_ne!(o.status.code(), Some(0));
    let e = stderr(&o);
    assert!(e.contains("version 2") && e.contains("encrypted") && e.lines().count() == 1, "{e}");
}

// ---- GD-ROM CHD ----------------------------------------------------------------------------------------------

/// chdman's CHD of a three-track GD-ROM `.gdi` (the single-density data and audio tracks, the high-density data
/// track at 45000) reads as the `.gdi` does: the same tracks and sessions, each track's hash that of its `.gdi`
/// track file (sha1sum), the same trees.
#[test]
fn chd_of_a_gd_rom() {
    let Some(f) = fixture() else { return };
    let Some(chdman) = require_tool("chdman") else { return };
    let n = sectors(&f.iso);
    let hd = f.iso_at("game", 45000, None);
    fs::write(f.dir.join("track01.bin"), mode1(&f.iso, 0, 0)).unwrap();
    fs::write(f.dir.join("track02.raw"), noise(300 * RAW, 6)).unwrap();
    fs::write(f.dir.join("track03.bin"), mode1(&hd, 45000, 0)).unwrap();
    let gdi = f.dir.join("disc.gdi");
    fs::write(
        &gdi,
        format!("3\n1 0 4 2352 track01.bin 0\n2 {} 0 2352 track02.raw 0\n3 45000 4 2352 track03.bin 0\n", n + 150),
    )
    .unwrap();
    let chd = f.dir.join("disc.chd");
    run_ok(Command::new(chdman).args(["createcd", "-i"]).arg(&gdi).arg("-o").arg(&chd));
    let (tg, _) = tracks(&gdi);
    let (tc, v) = tracks(&chd);
    assert_eq!(v["tracks"]["format"], "chd");
    assert_eq!(tc, tg);
    assert_eq!(tc[2], (3, 2, 45000, "MODE1/2352".into()));
    let (_, th) = verify_sha1s(&chd);
    let (_, tgh) = verify_sha1s(&gdi);
    assert_eq!(th, tgh);
    for (i, name) in ["track01.bin", "track02.raw", "track03.bin"].iter().enumerate() {
        if let Some(s) = sha1sum(&f.dir.join(name)) {
            assert_eq!(th[i], s, "{name}");
        }
    }
    let ls = stdout(&run_ok(odix().args(["ls", "-R"]).arg(&chd)));
    assert_eq!(ls, stdout(&run_ok(odix().args(["ls", "-R"]).arg(&gdi))));
    assert_eq!(ls.trim(), "/game.txt", "the high-density area by default");
    let s1 = stdout(&run_ok(odix().args(["ls", "-R", "--session", "1"]).arg(&chd)));
    assert!(s1.contains("/sub/big.bin"), "{s1}");
    let x = f.dir.join("x");
    run_ok(odix().arg("extract").arg(&chd).arg("-C").arg(&x));
    assert_eq!(fs::read(x.join("game.txt")).unwrap(), b"game at 45000\n");
}

// ---- containers: verify and ECM to ISO -----------------------------------------------------------------------

/// `odix verify` of an ECM, a CSO and a ZSO hashes the image each holds: the SHA-1 sha1sum gives the BIN or the
/// ISO it was made from, and the report says so.
#[test]
fn verify_hashes_the_image_a_container_holds() {
    let Some(f) = fixture() else { return };
    let Some(py) = python_with("zlib", "python3") else { return };
    let bin = f.dir.join("disc.bin");
    fs::write(&bin, mode1(&f.iso, 0, 0)).unwrap();
    let ecm = f.dir.join("disc.bin.ecm");
    run_ok(Command::new(&py).arg(script("containers.py")).arg("ecm").arg(&bin).arg(&ecm));
    let mut cases = vec![(ecm, bin.clone())];
    let cso = f.dir.join("x.cso");
    run_ok(Command::new(&py).arg(script("containers.py")).arg("cso").arg(&f.iso_path).arg(&cso).arg("cso"));
    cases.push((cso, f.iso_path.clone()));
    if let Some(py4) = python_with("lz4.block", "python3-lz4") {
        let zso = f.dir.join("x.zso");
        run_ok(Command::new(py4).arg(script("containers.py")).arg("cso").arg(&f.iso_path).arg(&zso).arg("zso"));
        cases.push((zso, f.iso_path.clone()));
    }
    for (container, held) in &cases {
        let Some(want) = sha1sum(held) else { return };
        assert_ne!(sha1sum(container).unwrap(), want);
        let (sha1, _) = verify_sha1s(container);
        assert_eq!(sha1, want, "{}: verify hashes what it holds", container.display());
        let text = stdout(&run_ok(odix().arg("verify").arg(container)));
        assert!(text.contains(&want), "{text}");
        assert!(text.contains("the hashes are those of the image it holds"), "{text}");
        // The sectors are the ISO's, whether the container holds it or its raw sectors.
        assert!(text.contains(&format!("{} in the image: ok", sectors(&f.iso))), "{text}");
        assert!(!text.contains("not a multiple of 2048"), "{text}");
    }
}

/// `odix convert x.bin.ecm x.iso` writes the ISO of the raw sectors the ECM holds: what bchunk and iat make from
/// the BIN, genisoimage's ISO.
#[test]
fn ecm_of_raw_sectors_converts_to_an_iso() {
    let Some(f) = fixture() else { return };
    let Some(py) = python_with("zlib", "python3") else { return };
    let bin = f.dir.join("disc.bin");
    fs::write(&bin, mode1(&f.iso, 0, 0)).unwrap();
    let ecm = f.dir.join("disc.bin.ecm");
    run_ok(Command::new(&py).arg(script("containers.py")).arg("ecm").arg(&bin).arg(&ecm));
    let out = f.dir.join("from-ecm.iso");
    run_ok(odix().arg("convert").arg(&ecm).arg(&out));
    let got = fs::read(&out).unwrap();
    assert_eq!(got.len(), f.iso.len(), "2048 bytes a sector");
    if let Some(bchunk) = require_tool("bchunk") {
        let cue = f.dir.join("disc.cue");
        fs::write(&cue, "FILE \"disc.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n").unwrap();
        run_ok(Command::new(bchunk).arg(&bin).arg(&cue).arg(f.dir.join("bc")));
        assert!(fs::read(f.dir.join("bc01.iso")).unwrap() == got, "bchunk's ISO of the BIN");
    }
    if let Some(iat) = require_tool("iat") {
        let o = f.dir.join("iat.iso");
        run_ok(Command::new(iat).arg(&bin).arg(&o));
        assert!(fs::read(&o).unwrap() == got, "iat's ISO of the BIN");
    }
    assert!(got == f.iso);
    // To a BIN it is still the raw sectors, byte for byte.
    let back = f.dir.join("back.bin");
    run_ok(odix().arg("convert").arg(&ecm).arg(&back));
    assert!(fs::read(&back).unwrap() == fs::read(&bin).unwrap());
}

/// A file of another program's format (its signature, then zeros) or an ISO compressed or archived: `file` names
/// the format, and `odix ls`, `verify`, `convert` and `edit` each refuse it in one line naming it, writing nothing.
#[test]
fn formats_odix_does_not_read_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some(file) = require_tool("file") else { return };
    let Some(g) = require_tool("genisoimage") else { return };
    let Some(sevenz) = require_tool("7z") else { return };
    let src = d.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a.txt"), b"a file\n".repeat(500)).unwrap();
    let iso = d.join("x.iso");
    run_ok(Command::new(g).args(["-quiet", "-o"]).arg(&iso).arg(&src));

    let signed = |at: usize, sig: &[u8]| {
        let mut b = vec![0u8; 64 << 10];
        b[at..at + sig.len()].copy_from_slice(sig);
        b
    };
    // (file name, bytes, what `file` says, what odix says)
    let mut cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("x.isz", signed(0, b"IsZ!"), "ISO Zipped", "(ISZ)"),
        ("x.daa", signed(0, b"DAA"), "PowerISO", "(DAA)"),
        ("x.gcz", signed(0, &[0x01, 0xC0, 0x0B, 0xB1]), "GCZ", "(GCZ)"),
        ("x.wia", signed(0, b"WIA\x01"), "WIA", "(WIA)"),
        ("x.rvz", signed(0, b"RVZ\x01"), "RVZ", "(RVZ)"),
        ("gc.iso", signed(0x1C, &[0xC2, 0x33, 0x9F, 0x3D]), "GameCube disc image", "a GameCube disc image"),
        ("wii.iso", signed(0x18, &[0x5D, 0x1C, 0x9E, 0xA3]), "Wii disc image", "a Wii disc image"),
        ("x.iso.zst", signed(0, &[0x28, 0xB5, 0x2F, 0xFD]), "Zstandard compressed", "Zstandard-compressed"),
        ("x.rar", signed(0, b"Rar!\x1A\x07\x00"), "RAR archive", "RAR archive"),
    ];
    // Compressed and archived ISOs, made by Python's standard library and 7-Zip.
    let py = r#"
import bz2, gzip, lzma, sys, zipfile
data = open(sys.argv[1], 'rb').read()
open(sys.argv[2] + '.gz', 'wb').write(gzip.compress(data))
open(sys.argv[2] + '.xz', 'wb').write(lzma.compress(data))
open(sys.argv[2] + '.bz2', 'wb').write(bz2.compress(data))
with zipfile.ZipFile(sys.argv[2] + '.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], 'x.iso')
"#;
    let base = d.join("x.iso");
    run_ok(Command::new("python3").arg("-c").arg(py).arg(&iso).arg(&base));
    run_ok(Command::new(sevenz).args(["a", "-bd", "-y"]).arg(d.join("x.iso.7z")).arg(&iso));
    for (ext, says, named) in [
        ("gz", "gzip compressed", "gzip-compressed"),
        ("xz", "XZ compressed", "xz-compressed"),
        ("bz2", "bzip2 compressed", "bzip2-compressed"),
        ("zip", "Zip archive", "ZIP archive"),
        ("7z", "7-zip archive", "7-Zip archive"),
    ] {
        let name: &'static str = Box::leak(format!("x.iso.{ext}").into_boxed_str());
        cases.push((name, fs::read(d.join(name)).unwrap(), says, named));
    }
    for (name, bytes, says, named) in cases {
        let path = d.join(name);
        fs::write(&path, &bytes).unwrap();
        let magic = stdout(&run_ok(Command::new(&file).arg("-b").arg(&path)));
        assert!(magic.contains(says), "{name}: file says {magic}");
        let out = d.join("out");
        fs::create_dir_all(&out).unwrap();
        let attempts: [Vec<std::ffi::OsString>; 4] = [
            vec!["ls".into(), path.clone().into()],
            vec!["verify".into(), path.clone().into()],
            vec!["convert".into(), path.clone().into(), out.join("y.cue").into()],
            vec!["edit".into(), path.clone().into(), "-o".into(), out.join("y.iso").into(), "--rm".into(), "/a".into()],
        ];
        for args in attempts {
            let o = run(odix().args(&args));
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{name} {args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{name} {args:?}: {err}");
            assert!(err.contains(named) && err.contains("which odix does not read"), "{name} {args:?}: {err}");
        }
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "{name}: something was written");
    }
}

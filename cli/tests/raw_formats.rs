//! The image formats of other burning programs (Nero NRG, Alcohol 120% MDS/MDF, DiscJuggler CDI, Dreamcast GDI,
//! cdrdao TOC), each built here from a genisoimage-made ISO (and audio tracks, and two sessions where the format
//! has them) following the published descriptions of the formats: libmirage's parsers (image-nrg, image-mds,
//! image-cdi: the structures and their field offsets), the DiscJuggler notes cdirip and libmirage share (track
//! start mark, version-dependent trailers), the GD-ROM `.gdi` layout the Dreamcast emulators read, and the
//! cdrdao(1) manual for TOC files.
//!
//! An independent tool reads each image first (nrg2iso, mdf2iso and iat for the data track; cdrdao `show-toc`,
//! `read-test` and `toc2cue` for TOC files; bchunk for the BIN/CUE odix converts them to), and odix must agree:
//! `odix convert` gives the tool's ISO and the original ISO byte for byte, `ls`/`extract` give the source tree,
//! `info` lists the tracks where the format puts them. Hostile images are refused quickly with one line.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use odix_testdata::{require_tool, run, run_ok};

mod common;
use common::{fixture, mode1, odix, sectors, stderr, stdout, tracks, Fixture};

const RAW: usize = 2352;

/// The 96 bytes of raw interleaved P-W subchannel of `lba` in track 1 (ECMA-130 22.3: one bit of each of P..W per
/// byte, P in bit 7, Q in bit 6): P set during the first two seconds, Q in mode 1 (ADR 1, control 4: data) with
/// its CRC, R-W empty.
fn pw_sub(lba: i64) -> Vec<u8> {
    let b = |v: i64| (((v / 10) << 4) | (v % 10)) as u8;
    let msf = |f: i64| [b(f / 4500), b(f / 75 % 60), b(f % 75)];
    let mut q = vec![0x41, 0x01, 0x01];
    q.extend(msf(lba));
    q.push(0);
    q.extend(msf(lba + 150));
    // CRC-16 of the Q channel: polynomial x^16 + x^12 + x^5 + 1, stored inverted.
    let mut crc: u16 = 0;
    for &byte in &q {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    q.extend((!crc).to_be_bytes());
    let p = lba < 150;
    (0..96).map(|i| (u8::from(p) << 7) | (((q[i / 8] >> (7 - i % 8)) & 1) << 6)).collect()
}

/// `n` sectors of audio: a pattern no sync header can appear in.
fn audio(n: usize) -> Vec<u8> {
    (0..n * RAW).map(|i| (i % 251) as u8 | 1).collect()
}

/// What every image holding `f`'s ISO as its first session's data track must give: `convert` to ISO equal to
/// the original, `ls -R` equal to the ISO's, `extract` equal to the source tree, BIN/CUE that bchunk reads back
/// to the same ISO.
fn check_data_track(f: &Fixture, img: &Path) {
    let iso_path = f.dir.join("orig.iso");
    fs::write(&iso_path, &f.iso).unwrap();
    let out = f.dir.join(format!("{}.out.iso", img.file_name().unwrap().to_string_lossy()));
    let c = run(odix().arg("convert").arg("--force").arg("--session").arg("1").arg(img).arg(&out));
    assert!(c.status.success(), "{}: {}", img.display(), stderr(&c));
    assert!(fs::read(&out).unwrap() == f.iso, "{}: odix convert differs from the ISO", img.display());
    let a = run_ok(odix().args(["ls", "-R", "--session", "1"]).arg(img));
    let b = run_ok(odix().args(["ls", "-R"]).arg(&iso_path));
    assert_eq!(stdout(&a), stdout(&b), "{}", img.display());
    let x = f.dir.join(format!("{}.extracted", img.file_name().unwrap().to_string_lossy()));
    run_ok(odix().args(["extract", "--session", "1"]).arg(img).arg("-C").arg(&x));
    for p in ["hello.txt", "sub/big.bin", "empty"] {
        assert!(fs::read(x.join(p)).unwrap() == fs::read(f.src.join(p)).unwrap(), "{}: {p}", img.display());
    }
    run_ok(odix().args(["verify", "--no-hashes", "--session", "1"]).arg(img));
    let cat = run_ok(odix().args(["cat", "--session", "1"]).arg(img).arg("/sub/big.bin"));
    assert!(cat.stdout == fs::read(f.src.join("sub/big.bin")).unwrap(), "{}: odix cat", img.display());
    // To BIN/CUE, read back by bchunk.
    if let Some(bchunk) = require_tool("bchunk") {
        let cue = f.dir.join("conv.cue");
        run_ok(odix().arg("convert").arg("--force").arg(img).arg(&cue));
        let base = f.dir.join("bc");
        run_ok(Command::new(bchunk).arg(cue.with_extension("bin")).arg(&cue).arg(&base));
        let t1 = f.dir.join("bc01.iso");
        assert!(fs::read(&t1).unwrap() == f.iso, "{}: bchunk's track 1 of odix's BIN/CUE", img.display());
        fs::remove_file(t1).unwrap();
    }
}

/// The ISO an independent tool writes from `img` (`tool img out`).
fn tool_iso(tool: &str, img: &Path, out: &Path) -> Option<Vec<u8>> {
    let t = require_tool(tool)?;
    let o = run(Command::new(t).arg(img).arg(out));
    assert!(out.exists(), "{tool} {}: {}{}", img.display(), stdout(&o), stderr(&o));
    Some(fs::read(out).unwrap())
}

// ---- Nero ----------------------------------------------------------------------------------------------------

struct NrgTrack {
    mode: u8,
    size: u16,
    /// Sectors of pregap stored before INDEX 01.
    pregap: u64,
    index1: i64,
    data: Vec<u8>,
}

fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    [&id[..], &(body.len() as u32).to_be_bytes(), body].concat()
}

fn bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

/// A disc-at-once Nero image of one session: the sectors, CUEX/CUES, DAOX/DAOI, SINF, MTYP, END! and the footer.
fn nrg_dao(v2: bool, tracks: &[NrgTrack]) -> Vec<u8> {
    nrg_dao_sessions(v2, &[tracks])
}

/// A disc-at-once Nero image: the sectors of every track, then per session a CUE and a DAO chunk (and SINF),
/// then MTYP, END! and the footer.
fn nrg_dao_sessions(v2: bool, sessions: &[&[NrgTrack]]) -> Vec<u8> {
    let pos = |lba: i64| -> [u8; 4] {
        if v2 {
            (lba as i32).to_be_bytes()
        } else {
            let f = lba + 150;
            [0, (f / 4500) as u8, (f / 75 % 60) as u8, (f % 75) as u8]
        }
    };
    let mut body = Vec::new();
    let mut chunks = Vec::new();
    let mut number = 1u8;
    for tracks in sessions {
        let mut cue = Vec::new();
        let mut dao = vec![0u8; 22];
        dao[20] = number;
        dao[21] = number + tracks.len() as u8 - 1;
        let first = &tracks[0];
        cue.extend([&[0x41u8, 0, 0, 0][..], &pos(first.index1 - first.pregap as i64 - 150)].concat());
        let mut end = 0;
        for t in tracks.iter() {
            let n = bcd(number);
            number += 1;
            let ctl = if t.mode == 7 { 0x01 } else { 0x41 };
            cue.extend([&[ctl, n, 0, 0][..], &pos(t.index1 - t.pregap as i64)].concat());
            cue.extend([&[ctl, n, 1, 0][..], &pos(t.index1)].concat());
            let start = body.len() as u64;
            body.extend_from_slice(&t.data);
            let mut b = vec![0u8; 12];
            b.extend(t.size.to_be_bytes());
            b.extend([t.mode, 0, 0, 0]);
            for o in [start, start + t.pregap * u64::from(t.size), body.len() as u64] {
                if v2 {
                    b.extend(o.to_be_bytes());
                } else {
                    b.extend((o as u32).to_be_bytes());
                }
            }
            dao.extend(b);
            end = t.index1 + (t.data.len() as i64 / i64::from(t.size)) - t.pregap as i64;
        }
        cue.extend([&[0x01u8, 0xAA, 1, 0][..], &pos(end)].concat());
        let (c, d) = if v2 { (b"CUEX", b"DAOX") } else { (b"CUES", b"DAOI") };
        let len = dao.len() as u32;
        dao[..4].copy_from_slice(&len.to_be_bytes());
        chunks.extend(chunk(c, &cue));
        chunks.extend(chunk(d, &dao));
        chunks.extend(chunk(b"SINF", &(tracks.len() as u32).to_be_bytes()));
    }
    let first = body.len() as u64;
    body.extend(chunks);
    body.extend(chunk(b"MTYP", &1u32.to_be_bytes()));
    body.extend(chunk(b"END!", &[]));
    if v2 {
        body.extend(b"NER5");
        body.extend(first.to_be_bytes());
    } else {
        body.extend(b"NERO");
        body.extend((first as u32).to_be_bytes());
    }
    body
}

/// v2 disc-at-once: a Mode 1 track of 2048-byte sectors and an audio track, each with its 150-sector pregap
/// stored, as Nero writes them. nrg2iso (which drops the first 150 sectors) and iat agree with the ISO.
#[test]
fn nrg_v2_dao_data_and_audio() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    let data = [vec![0u8; 150 * 2048], f.iso.clone()].concat();
    let tracks = [
        NrgTrack { mode: 0x00, size: 2048, pregap: 150, index1: 0, data },
        NrgTrack { mode: 0x07, size: 2352, pregap: 150, index1: n + 150, data: audio(150 + 300) },
    ];
    let img = f.dir.join("dao.nrg");
    fs::write(&img, nrg_dao(true, &tracks)).unwrap();
    if let Some(out) = tool_iso("nrg2iso", &img, &f.dir.join("nrg2iso.iso")) {
        // nrg2iso copies everything after the first 150 sectors: the data track comes first.
        assert!(out[..f.iso.len()] == f.iso[..], "nrg2iso does not read the image built here as Nero does");
    }
    if let Some(out) = tool_iso("iat", &img, &f.dir.join("iat.iso")) {
        // iat copies from the ISO's first sector to the end of the file: the data track comes first.
        assert!(out[..f.iso.len()] == f.iso[..], "iat's ISO differs");
    }
    let (t, v) = tracks_of(&img);
    assert_eq!(v["tracks"]["format"], "nrg");
    assert_eq!(t, vec![(1, 1, 0, "MODE1/2048".into()), (2, 1, n + 150, "AUDIO".into())]);
    check_data_track(&f, &img);
}

fn tracks_of(img: &Path) -> (Vec<(u64, u64, i64, String)>, serde_json::Value) {
    tracks(img)
}

/// v1 (NERO footer, DAOI/CUES with MSF positions): raw Mode 1 sectors with 96 bytes of subchannel each (mode code
/// 0x0F, 2448 bytes), read by iat.
#[test]
fn nrg_v1_raw_with_subchannel() {
    let Some(f) = fixture() else { return };
    let data = [mode1(&[0; 150 * 2048], -150, 96), mode1(&f.iso, 0, 96)].concat();
    let tracks = [NrgTrack { mode: 0x0F, size: 2448, pregap: 150, index1: 0, data }];
    let img = f.dir.join("v1.nrg");
    fs::write(&img, nrg_dao(false, &tracks)).unwrap();
    if let Some(out) = tool_iso("iat", &img, &f.dir.join("iat.iso")) {
        assert!(out == f.iso, "iat's ISO differs");
    }
    let (t, _) = tracks_of(&img);
    assert_eq!(t, vec![(1, 1, 0, "MODE1/2352".into())]);
    check_data_track(&f, &img);
}

/// Two track-at-once sessions (ETN2 chunks): session 2 made by genisoimage at the address the ETN entry gives.
#[test]
fn nrg_tao_two_sessions() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    let nwa = n + 6750 + 4500 + 150;
    let first = f.dir.join("orig1.iso");
    fs::write(&first, &f.iso).unwrap();
    let second = f.iso_at("second", nwa, Some(&first));
    let mut body = vec![0u8; 150 * 2048];
    let o1 = body.len() as u64;
    body.extend_from_slice(&f.iso);
    let o2 = body.len() as u64;
    body.extend(mode1(&second, nwa, 0));
    let etn = |off: u64, len: u64, mode: u8, lba: u32| -> Vec<u8> {
        [&off.to_be_bytes()[..], &len.to_be_bytes(), &[0, 0, 0, mode], &lba.to_be_bytes(), &[0u8; 8]].concat()
    };
    let start = body.len() as u64;
    body.extend(chunk(b"ETN2", &etn(o1, f.iso.len() as u64, 0x00, 0)));
    body.extend(chunk(b"SINF", &1u32.to_be_bytes()));
    body.extend(chunk(b"ETN2", &etn(o2, (second.len() / 2048 * RAW) as u64, 0x05, nwa as u32)));
    body.extend(chunk(b"SINF", &1u32.to_be_bytes()));
    body.extend(chunk(b"END!", &[]));
    body.extend(b"NER5");
    body.extend(start.to_be_bytes());
    let img = f.dir.join("tao.nrg");
    fs::write(&img, body).unwrap();
    if let Some(out) = tool_iso("nrg2iso", &img, &f.dir.join("nrg2iso.iso")) {
        assert!(out[..f.iso.len()] == f.iso[..], "nrg2iso's first session differs");
    }
    let (t, v) = tracks_of(&img);
    assert_eq!(t, vec![(1, 1, 0, "MODE1/2048".into()), (2, 2, nwa, "MODE1/2352".into())]);
    assert_eq!(v["tracks"]["session_read"], 2);
    check_data_track(&f, &img);
    let ls = stdout(&run_ok(odix().args(["ls", "-R"]).arg(&img)));
    assert!(ls.contains("second.txt") && ls.contains("hello.txt"), "session 2 merges session 1: {ls}");
    let out = f.dir.join("t2.iso");
    run_ok(odix().args(["convert", "--track", "2"]).arg(&img).arg(&out));
    assert!(fs::read(&out).unwrap() == second, "track 2 differs from genisoimage's second session");
}

/// Two disc-at-once sessions (a CUEX and a DAOX chunk each): a data track and an audio track, then a second data
/// session of raw sectors at the address its CUEX entry gives.
#[test]
fn nrg_dao_two_sessions() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    let end1 = n + 150 + 300;
    let nwa = end1 + 6750 + 4500 + 150;
    let first = f.dir.join("orig1.iso");
    fs::write(&first, &f.iso).unwrap();
    let second = f.iso_at("second", nwa, Some(&first));
    let s1 = [
        NrgTrack {
            mode: 0x00,
            size: 2048,
            pregap: 150,
            index1: 0,
            data: [vec![0u8; 150 * 2048], f.iso.clone()].concat(),
        },
        NrgTrack { mode: 0x07, size: 2352, pregap: 150, index1: n + 150, data: audio(450) },
    ];
    let s2 = [NrgTrack {
        mode: 0x05,
        size: 2352,
        pregap: 150,
        index1: nwa,
        data: [mode1(&[0; 150 * 2048], nwa - 150, 0), mode1(&second, nwa, 0)].concat(),
    }];
    let img = f.dir.join("dao2.nrg");
    fs::write(&img, nrg_dao_sessions(true, &[&s1, &s2])).unwrap();
    if let Some(out) = tool_iso("nrg2iso", &img, &f.dir.join("nrg2iso.iso")) {
        assert!(out[..f.iso.len()] == f.iso[..], "nrg2iso's first session differs");
    }
    let (t, v) = tracks_of(&img);
    assert_eq!(
        t,
        vec![(1, 1, 0, "MODE1/2048".into()), (2, 1, n + 150, "AUDIO".into()), (3, 2, nwa, "MODE1/2352".into())]
    );
    assert_eq!((v["tracks"]["sessions"].as_u64(), v["tracks"]["session_read"].as_u64()), (Some(2), Some(2)));
    check_data_track(&f, &img);
    let ls = stdout(&run_ok(odix().args(["ls", "-R"]).arg(&img)));
    assert!(ls.contains("second.txt") && ls.contains("hello.txt"), "{ls}");
    let out = f.dir.join("t3.iso");
    run_ok(odix().args(["convert", "--track", "3"]).arg(&img).arg(&out));
    assert!(fs::read(&out).unwrap() == second);
    // Its BIN/CUE keeps session 2 where the disc has it, so the merged tree reads the same.
    let cue = f.dir.join("dao2.cue");
    run_ok(odix().arg("convert").arg(&img).arg(&cue));
    let (tc, _) = tracks_of(&cue);
    let place = |t: &[(u64, u64, i64, String)]| t.iter().map(|t| (t.0, t.1, t.2)).collect::<Vec<_>>();
    assert_eq!(place(&tc), place(&t));
    assert_eq!(stdout(&run_ok(odix().args(["ls", "-R"]).arg(&cue))), ls);
}

// ---- Alcohol 120% --------------------------------------------------------------------------------------------

struct MdsTrack {
    mode: u8,
    sub: u8,
    size: u16,
    start: i64,
    offset: u64,
    pregap: u32,
    length: u32,
}

/// An MDS descriptor (version 1.3) of one CD session whose sectors are in `*.mdf`.
fn mds(tracks: &[MdsTrack]) -> Vec<u8> {
    let blocks = 3 + tracks.len();
    let track_at = 88 + 24;
    let extra_at = track_at + blocks * 80;
    let footer_at = extra_at + tracks.len() * 8;
    let name_at = footer_at + 16;
    let mut d = vec![0u8; 88];
    d[..16].copy_from_slice(b"MEDIA DESCRIPTOR");
    d[16] = 1;
    d[17] = 3;
    d[18..20].copy_from_slice(&0u16.to_le_bytes());
    d[20..22].copy_from_slice(&1u16.to_le_bytes());
    d[80..84].copy_from_slice(&88u32.to_le_bytes());
    let end = tracks.last().map_or(0, |t| t.start + i64::from(t.length));
    let mut s = vec![0u8; 24];
    s[0..4].copy_from_slice(&(-150i32).to_le_bytes());
    s[4..8].copy_from_slice(&(end as i32).to_le_bytes());
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
    for (i, t) in tracks.iter().enumerate() {
        let mut b = vec![0u8; 80];
        b[0] = t.mode;
        b[1] = t.sub;
        b[2] = if t.mode == 0xA9 { 0x10 } else { 0x14 };
        b[4] = i as u8 + 1;
        b[12..16].copy_from_slice(&((extra_at + i * 8) as u32).to_le_bytes());
        b[16..18].copy_from_slice(&t.size.to_le_bytes());
        b[36..40].copy_from_slice(&(t.start as u32).to_le_bytes());
        b[40..48].copy_from_slice(&t.offset.to_le_bytes());
        b[48..52].copy_from_slice(&1u32.to_le_bytes());
        b[52..56].copy_from_slice(&(footer_at as u32).to_le_bytes());
        d.extend(b);
    }
    for t in tracks {
        d.extend(t.pregap.to_le_bytes());
        d.extend(t.length.to_le_bytes());
    }
    d.extend((name_at as u32).to_le_bytes());
    d.extend([0u8; 12]);
    d.extend(b"*.mdf\0");
    d
}

/// A raw Mode 1 track and an audio track (pregaps not stored, as Alcohol writes them); mdf2iso and iat read the
/// data track.
#[test]
fn mds_data_and_audio() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    let mdf = [mode1(&f.iso, 0, 0), audio(300)].concat();
    fs::write(f.dir.join("alc.mdf"), &mdf).unwrap();
    let img = f.dir.join("alc.mds");
    let tracks = [
        MdsTrack { mode: 0xAA, sub: 0, size: 2352, start: 0, offset: 0, pregap: 150, length: n as u32 },
        MdsTrack {
            mode: 0xA9,
            sub: 0,
            size: 2352,
            start: n + 150,
            offset: (n as u64) * 2352,
            pregap: 150,
            length: 300,
        },
    ];
    fs::write(&img, mds(&tracks)).unwrap();
    if let Some(out) = tool_iso("mdf2iso", &f.dir.join("alc.mdf"), &f.dir.join("mdf2iso.iso")) {
        assert!(out[..f.iso.len()] == f.iso[..], "mdf2iso's data track differs");
    }
    if let Some(out) = tool_iso("iat", &f.dir.join("alc.mdf"), &f.dir.join("iat.iso")) {
        assert!(out[..f.iso.len()] == f.iso[..], "iat's data track differs");
    }
    let (t, v) = tracks_of(&img);
    assert_eq!(v["tracks"]["format"], "mds");
    assert_eq!(t, vec![(1, 1, 0, "MODE1/2352".into()), (2, 1, n + 150, "AUDIO".into())]);
    check_data_track(&f, &img);
}

/// Sectors of 2352 + 96 bytes (subchannel mode 8): mdf2iso strips the subchannel as odix does.
#[test]
fn mds_with_subchannel() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    let mdf: Vec<u8> = mode1(&f.iso, 0, 0)
        .chunks(RAW)
        .enumerate()
        .flat_map(|(i, s)| [s.to_vec(), pw_sub(i as i64)].concat())
        .collect();
    fs::write(f.dir.join("sub.mdf"), mdf).unwrap();
    let img = f.dir.join("sub.mds");
    let t = [MdsTrack { mode: 0xAA, sub: 8, size: 2448, start: 0, offset: 0, pregap: 150, length: n as u32 }];
    fs::write(&img, mds(&t)).unwrap();
    if let Some(out) = tool_iso("mdf2iso", &f.dir.join("sub.mdf"), &f.dir.join("mdf2iso.iso")) {
        assert!(out == f.iso, "mdf2iso's ISO differs");
    }
    check_data_track(&f, &img);
}

// ---- DiscJuggler ---------------------------------------------------------------------------------------------

const CDI_MARK: [u8; 10] = [0, 0, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];

/// (mode, read mode, pregap, start LBA, sectors incl. pregap) of one CDI track.
type CdiTrack = (u32, u32, u32, u32, u32);

/// A DiscJuggler image of `version` (4, 5 or 6: v2, v3, v3.5): `data`, then the descriptor of `sessions`.
fn cdi(version: u32, data: &[u8], sessions: &[Vec<CdiTrack>]) -> Vec<u8> {
    let mut d = (sessions.len() as u16).to_le_bytes().to_vec();
    for (si, tracks) in sessions.iter().enumerate() {
        d.extend((tracks.len() as u16).to_le_bytes());
        for (ti, &(mode, read_mode, pregap, start, total)) in tracks.iter().enumerate() {
            d.extend([0u8; 4]);
            d.extend(CDI_MARK);
            d.extend(CDI_MARK);
            d.extend([0u8; 4]);
            let name = b"C:\\image.cdi";
            d.push(name.len() as u8);
            d.extend(name);
            let mut fixed = [0u8; 23];
            if version == 6 {
                fixed[19..23].copy_from_slice(&0x8000_0000u32.to_le_bytes());
            }
            d.extend(fixed);
            if version == 6 {
                d.extend([0u8; 8]);
            }
            d.extend(2u16.to_le_bytes());
            d.extend(pregap.to_le_bytes());
            d.extend((total - pregap).to_le_bytes());
            d.extend(0u32.to_le_bytes());
            d.extend([0u8; 2]);
            d.extend(mode.to_le_bytes());
            d.extend([0u8; 4]);
            d.extend((si as u32).to_le_bytes());
            d.extend((ti as u32).to_le_bytes());
            d.extend(start.to_le_bytes());
            d.extend(total.to_le_bytes());
            d.extend([0u8; 16]);
            d.extend(read_mode.to_le_bytes());
            d.extend((if mode == 0 { 0u32 } else { 4 }).to_le_bytes());
            d.extend([0u8; 9 + 12 + 4]);
            if version != 4 {
                let mut more = [0u8; 9];
                if version == 6 {
                    more[5..9].copy_from_slice(&[0xFF; 4]);
                }
                d.extend(more);
                if version == 6 {
                    d.extend([0u8; 78]);
                }
            }
        }
        d.extend(vec![0u8; if version == 4 { 12 } else { 13 }]);
    }
    let at = data.len() as u32;
    let mut out = [data, &d].concat();
    out.extend((0x8000_0000u32 | version).to_le_bytes());
    let pos = if version == 6 { (out.len() + 4) as u32 - at } else { at };
    out.extend(pos.to_le_bytes());
    out
}

/// The three versions, each with a data track (2048-byte sectors in v2, raw ones in v3 and v3.5) and an audio
/// track, pregaps stored; iat reads the data track.
#[test]
fn cdi_versions() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso) as u32;
    for (version, read_mode) in [(4u32, 0u32), (5, 2), (6, 2)] {
        let track1 = if read_mode == 0 {
            [vec![0u8; 150 * 2048], f.iso.clone()].concat()
        } else {
            [mode1(&[0; 150 * 2048], -150, 0), mode1(&f.iso, 0, 0)].concat()
        };
        let data = [track1, audio(150 + 300)].concat();
        let sessions = vec![vec![(1, read_mode, 150, 0, n + 150), (0, 2, 150, n + 150, 450)]];
        let img = f.dir.join(format!("v{version}.cdi"));
        fs::write(&img, cdi(version, &data, &sessions)).unwrap();
        if let Some(out) = tool_iso("iat", &img, &f.dir.join(format!("iat{version}.iso"))) {
            assert!(out[..f.iso.len()] == f.iso[..], "v{version}: iat's ISO differs");
        }
        let (t, v) = tracks_of(&img);
        assert_eq!(v["tracks"]["format"], "cdi");
        let mode = if read_mode == 0 { "MODE1/2048" } else { "MODE1/2352" };
        assert_eq!(t, vec![(1, 1, 0, mode.into()), (2, 1, i64::from(n) + 150, "AUDIO".into())], "v{version}");
        check_data_track(&f, &img);
    }
}

/// The shape of a Dreamcast self-boot disc: session 1 an audio track, session 2 a Mode 2 Form 1 data track stored
/// as 2336-byte sectors (read mode 1) whose ISO genisoimage made for LBA 11702, its pregap stored. iat finds the
/// ISO in the image; odix reads session 2 by default.
#[test]
fn cdi_two_sessions_mode2() {
    let Some(f) = fixture() else { return };
    let start = 11702i64;
    let iso = f.iso_at("selfboot", start, None);
    let m = (iso.len() / 2048) as u32;
    let payload = |lba: i64, user: &[u8]| {
        let s = odix_cdrip::sector::encode_mode2_form1(lba, [0, 0, 8, 0], user.try_into().unwrap()).unwrap();
        s[16..].to_vec()
    };
    let mut data = audio(150 + 302);
    for i in 0..150 {
        data.extend(payload(start - 150 + i, &[0; 2048]));
    }
    for (i, u) in iso.chunks(2048).enumerate() {
        data.extend(payload(start + i as i64, u));
    }
    let sessions = vec![vec![(0, 2, 150, 0, 452)], vec![(2, 1, 150, start as u32, m + 150)]];
    let img = f.dir.join("selfboot.cdi");
    fs::write(&img, cdi(6, &data, &sessions)).unwrap();
    if let Some(out) = tool_iso("iat", &img, &f.dir.join("iat.iso")) {
        assert!(out[..iso.len()] == iso[..], "iat's ISO differs");
    }
    // LBAs 0-15 are an audio track here: there is no system area to read, and nothing to warn of.
    let (t, v) = tracks(&img);
    assert_eq!(t, vec![(1, 1, 0, "AUDIO".into()), (2, 2, start, "MODE2/2336".into())]);
    assert_eq!(v["tracks"]["session_read"], 2);
    let ls = stdout(&run_ok(odix().args(["ls", "-R"]).arg(&img)));
    assert_eq!(ls.trim(), "/selfboot.txt");
    let out = f.dir.join("t2.iso");
    run_ok(odix().args(["convert", "--track", "2"]).arg(&img).arg(&out));
    assert!(fs::read(&out).unwrap() == iso, "track 2 differs from genisoimage's ISO");
    run_ok(odix().args(["verify", "--no-hashes"]).arg(&img));
}

// ---- GD-ROM --------------------------------------------------------------------------------------------------

/// The three tracks of a GD-ROM: the single-density data track at LBA 0, an audio track, and the high-density
/// data track at LBA 45000 whose ISO is made for that address. `ls` reads the high-density area by default.
#[test]
fn gdi_two_areas() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    let hd = f.iso_at("game", 45000, None);
    fs::write(f.dir.join("track01.bin"), mode1(&f.iso, 0, 0)).unwrap();
    fs::write(f.dir.join("track02.raw"), audio(300)).unwrap();
    fs::write(f.dir.join("track 03.bin"), mode1(&hd, 45000, 0)).unwrap();
    let lba2 = n + 150;
    let img = f.dir.join("disc.gdi");
    fs::write(
        &img,
        format!("3\n1 0 4 2352 track01.bin 0\n2 {lba2} 0 2352 track02.raw 0\n3 45000 4 2352 \"track 03.bin\" 0\n"),
    )
    .unwrap();
    if let Some(out) = tool_iso("iat", &f.dir.join("track 03.bin"), &f.dir.join("iat3.iso")) {
        assert!(out == hd, "iat's high-density ISO differs");
    }
    if let Some(out) = tool_iso("iat", &f.dir.join("track01.bin"), &f.dir.join("iat1.iso")) {
        assert!(out == f.iso, "iat's single-density ISO differs");
    }
    let (t, v) = tracks_of(&img);
    assert_eq!(v["tracks"]["format"], "gdi");
    assert_eq!(
        t,
        vec![(1, 1, 0, "MODE1/2352".into()), (2, 1, lba2, "AUDIO".into()), (3, 2, 45000, "MODE1/2352".into())]
    );
    assert_eq!(v["tracks"]["session_read"], 2);
    let ls = stdout(&run_ok(odix().args(["ls", "-R"]).arg(&img)));
    assert_eq!(ls.trim(), "/game.txt", "the high-density area is read by default");
    let x = f.dir.join("gd");
    run_ok(odix().arg("extract").arg(&img).arg("-C").arg(&x));
    assert_eq!(fs::read(x.join("game.txt")).unwrap(), b"game at 45000\n");
    let out = f.dir.join("t3.iso");
    run_ok(odix().args(["convert", "--track", "3"]).arg(&img).arg(&out));
    assert!(fs::read(&out).unwrap() == hd);
    check_data_track(&f, &img);
}

// ---- cdrdao --------------------------------------------------------------------------------------------------

/// The START of every track as `cdrdao show-toc` prints it.
fn cdrdao_starts(toc: &Path) -> Option<Vec<i64>> {
    let c = require_tool("cdrdao")?;
    let o = run_ok(Command::new(c).arg("show-toc").arg(toc).current_dir(toc.parent().unwrap()));
    let text = stdout(&o) + &stderr(&o);
    let starts = text
        .lines()
        .filter(|l| l.trim_start().starts_with("START"))
        .map(|l| l.split('(').nth(1).unwrap().trim_end_matches(')').trim().parse().unwrap())
        .collect();
    Some(starts)
}

/// A TOC with two data files (an ISO as MODE1, little-endian audio with SWAP and a PREGAP), and one whose tracks
/// share one BIN at byte offsets (MODE1_RAW and AUDIO), which toc2cue converts and bchunk reads.
#[test]
fn cdrdao_toc() {
    let Some(f) = fixture() else { return };
    let n = sectors(&f.iso);
    fs::write(f.dir.join("data.iso"), &f.iso).unwrap();
    fs::write(f.dir.join("audio.bin"), audio(300)).unwrap();
    let toc = f.dir.join("two.toc");
    fs::write(
        &toc,
        "CD_ROM\nCD_TEXT {\n  LANGUAGE_MAP { 0 : EN }\n  LANGUAGE 0 { TITLE \"test {disc}\" }\n}\n\
         // the data track\nTRACK MODE1\nNO COPY\nDATAFILE \"data.iso\"\n\n\
         TRACK AUDIO\nTWO_CHANNEL_AUDIO\nPREGAP 00:02:00\nFILE \"audio.bin\" SWAP 0\n",
    )
    .unwrap();
    if let Some(starts) = cdrdao_starts(&toc) {
        let (t, v) = tracks_of(&toc);
        assert_eq!(v["tracks"]["format"], "toc");
        assert_eq!(t.iter().map(|t| t.2).collect::<Vec<_>>(), starts, "START of each track as cdrdao says");
        assert_eq!(t, vec![(1, 1, 0, "MODE1/2048".into()), (2, 1, n + 150, "AUDIO".into())]);
        let rt = run_ok(
            Command::new(require_tool("cdrdao").unwrap()).args(["read-test", "--force"]).arg(&toc).current_dir(&f.dir),
        );
        let said = stdout(&rt) + &stderr(&rt);
        assert!(said.contains(&format!("Read {} blocks", n + 450)), "{said}");
    }
    check_data_track(&f, &toc);

    // One BIN for both tracks.
    let raw = mode1(&f.iso, 0, 0);
    fs::write(f.dir.join("disc.bin"), [raw.clone(), audio(300)].concat()).unwrap();
    let one = f.dir.join("one.toc");
    fs::write(
        &one,
        format!(
            "CD_ROM\nTRACK MODE1_RAW\nDATAFILE \"disc.bin\" #0 {}\nTRACK AUDIO\nCOPY\nPREGAP 00:02:00\n\
             FILE \"disc.bin\" SWAP #{} 0 00:04:00\n",
            raw.len(),
            raw.len()
        ),
    )
    .unwrap();
    if let Some(starts) = cdrdao_starts(&one) {
        let (t, _) = tracks_of(&one);
        assert_eq!(t.iter().map(|t| t.2).collect::<Vec<_>>(), starts);
    }
    if let (Some(toc2cue), Some(bchunk)) = (require_tool("toc2cue"), require_tool("bchunk")) {
        let cue = f.dir.join("toc2cue.cue");
        run_ok(Command::new(toc2cue).arg(&one).arg(&cue).current_dir(&f.dir));
        run_ok(Command::new(bchunk).arg(f.dir.join("disc.bin")).arg(&cue).arg(f.dir.join("tc")).current_dir(&f.dir));
        assert!(fs::read(f.dir.join("tc01.iso")).unwrap() == f.iso, "bchunk through toc2cue");
        // odix reads toc2cue's sheet and the TOC alike.
        let (a, _) = tracks_of(&one);
        let (b, _) = tracks_of(&cue);
        assert_eq!(a.iter().map(|t| (t.0, t.2)).collect::<Vec<_>>(), b.iter().map(|t| (t.0, t.2)).collect::<Vec<_>>());
    }
    check_data_track(&f, &one);
}

// ---- hostile -------------------------------------------------------------------------------------------------

/// Images whose headers, counts, offsets and lengths lie: each refused within a second, with one line naming the
/// image.
#[test]
fn hostile_images_are_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let nrg = |chain: Vec<u8>, at: u64| [vec![0u8; 4096], chain, b"NER5".to_vec(), at.to_be_bytes().to_vec()].concat();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("footer-past.nrg", nrg(vec![], 1 << 40), "past its own start"),
        ("chunk-lies.nrg", nrg(chunk(b"CUEX", &[0; 16])[..12].to_vec(), 4096), "chunk CUEX"),
        ("huge-chunk.nrg", nrg([&b"DAOX"[..], &0xFFFF_FF00u32.to_be_bytes()].concat(), 4096), "chunk DAOX"),
        ("no-tracks.nrg", nrg(chunk(b"END!", &[]), 4096), "no tracks"),
        ("empty-chunks.nrg", nrg(chunk(b"NOPE", &[]).repeat(100_000), 4096), "no tracks"),
        ("old-chunk.nrg", nrg([chunk(b"DAOI", &[0; 60]), chunk(b"END!", &[])].concat(), 4096), "DAOI in a v2"),
        (
            "desc-past.cdi",
            [vec![0u8; 100], 0x8000_0005u32.to_le_bytes().to_vec(), 5000u32.to_le_bytes().to_vec()].concat(),
            "past the footer",
        ),
        (
            "zero-sessions.cdi",
            [vec![0u8; 100], 0x8000_0004u32.to_le_bytes().to_vec(), 0u32.to_le_bytes().to_vec()].concat(),
            "0 sessions",
        ),
        ("gdi-count.gdi", b"5\n1 0 4 2352 a.bin 0\n".to_vec(), "announces 5 tracks"),
        ("gdi-missing.gdi", b"1\n1 0 4 2352 missing.bin 0\n".to_vec(), "cannot be opened"),
        ("toc-keyword.toc", b"CD_ROM\nTRACK MODE1\nDATAFILE \"x\"\nBOGUS 1\n".to_vec(), "unknown keyword"),
        ("toc-missing.toc", b"CD_ROM\nTRACK MODE1\nDATAFILE \"missing.iso\"\n".to_vec(), "cannot be opened"),
    ];
    // DAO offsets past the end of the image.
    let dao = nrg_dao(true, &[NrgTrack { mode: 0, size: 2048, pregap: 0, index1: 0, data: vec![0; 2048 * 20] }]);
    let mut lying = dao.clone();
    let at = lying.windows(4).position(|w| w == b"DAOX").unwrap() + 8 + 22 + 18 + 16;
    lying[at..at + 8].copy_from_slice(&(1u64 << 40).to_be_bytes());
    cases.push(("dao-past.nrg", lying, "track 01 needs"));
    // MDS: session blocks past the end, and a track past the end of its .mdf.
    let mut m = mds(&[MdsTrack { mode: 0xAA, sub: 0, size: 2352, start: 0, offset: 0, pregap: 150, length: 10 }]);
    fs::write(d.join("m.mdf"), vec![0u8; 2352 * 4]).unwrap();
    cases.push(("m.mds", m.clone(), "track 01 needs 10 sectors"));
    m[80..84].copy_from_slice(&0xFFFF_0000u32.to_le_bytes());
    cases.push(("past.mds", m, "session block 1"));
    // A DiscJuggler descriptor cut short (its footer intact), and an MDS cut after its header.
    let mut short = cdi(5, &vec![0u8; 2048 * 160], &[vec![(1, 0, 150, 0, 160)]]);
    let cut = short.len() - 8 - 60;
    short.drain(cut..short.len() - 8);
    cases.push(("short.cdi", short, "runs past the end"));
    let m = mds(&[MdsTrack { mode: 0xAA, sub: 0, size: 2352, start: 0, offset: 0, pregap: 150, length: 10 }]);
    cases.push(("short.mds", m[..120].to_vec(), "track block 0 of session 1"));
    for (name, data, want) in cases {
        let p = d.join(name);
        fs::write(&p, &data).unwrap();
        let t = Instant::now();
        let o = run(odix().arg("info").arg(&p));
        assert!(t.elapsed() < Duration::from_secs(5), "{name}: {:?}", t.elapsed());
        let e = stderr(&o);
        assert!(!o.status.success(), "{name}: accepted");
        assert_eq!(e.trim().lines().count(), 1, "{name}: {e}");
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
    }
}

//! `odix verify` on audio CD images: each track's AccurateRip v1/v2 CRCs checked against whipper's
//! `accuraterip-checksum` on the same track as a WAV file, its CRC-32s against Python's `zlib.crc32`, the disc's
//! MusicBrainz and freedb ids against libdiscid (python3-libdiscid) for several TOCs, and the offline check
//! against AccurateRip and CTDB responses written here by hand, right and wrong, whole and damaged.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::audio::{accuraterip_checksum, libdiscid, msf, noise, write_wav};
use odix_testdata::{require_tool, run, run_ok};

mod common;
use common::{odix, stderr, stdout};

const SECTOR: usize = 2352;
const SAMPLES: usize = 588;

/// `odix verify --json IMAGE ARGS…`: exit status and the JSON object.
fn verify_json(image: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = run(odix().args(["verify", "--json"]).args(args).arg(image));
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("verify --json {}: {e}\n{}{}", image.display(), stdout(&o), stderr(&o)));
    (o.status.code(), v)
}

/// libdiscid's MusicBrainz id and freedb id of a TOC given as `put` takes it: first and last track, the
/// lead-out and each track's offset, all counted from the start of the lead-in (LBA + 150).
fn libdiscid_ids(py: &Path, first: usize, last: usize, leadout: usize, offsets: &[usize]) -> (String, String) {
    let offsets: Vec<String> = offsets.iter().map(|o| o.to_string()).collect();
    let script = format!(
        "import libdiscid\nd = libdiscid.put({first}, {last}, {leadout}, [{}])\nprint(d.id)\nprint(d.freedb_id)",
        offsets.join(", ")
    );
    let o = run_ok(Command::new(py).args(["-c", &script]));
    let out = stdout(&o);
    let mut lines = out.lines();
    (lines.next().unwrap().to_string(), lines.next().unwrap().to_string())
}

/// Python's `zlib.crc32` of a file's bytes from `from` to `len - cut_end`, and of those bytes with leading and
/// trailing all-zero 4-byte samples left out.
fn zlib_crcs(file: &Path, from: usize, cut_end: usize) -> (String, String) {
    let python = require_tool("python3").expect("python3 (Debian package python3)");
    let script = "import sys, zlib\n\
        d = open(sys.argv[1], 'rb').read()\n\
        d = d[int(sys.argv[2]):len(d) - int(sys.argv[3])]\n\
        s = [d[i:i + 4] for i in range(0, len(d), 4)]\n\
        z = bytes(4)\n\
        a = next((i for i, x in enumerate(s) if x != z), len(s))\n\
        b = next((i for i in range(len(s) - 1, -1, -1) if s[i] != z), -1)\n\
        print('%08x' % zlib.crc32(d))\n\
        print('%08x' % zlib.crc32(b''.join(s[a:b + 1])))\n";
    let o = run_ok(Command::new(python).args(["-c", script]).arg(file).arg(from.to_string()).arg(cut_end.to_string()));
    let out = stdout(&o);
    let mut l = out.lines();
    (l.next().unwrap().to_string(), l.next().unwrap().to_string())
}

/// whipper's `accuraterip-checksum` of a WAV file as track `n` of `count`: (v1, v2), lowercase hex.
fn whipper(tool: &Path, wav: &Path, n: usize, count: usize) -> (String, String) {
    (accuraterip_checksum(tool, wav, n, count, 1), accuraterip_checksum(tool, wav, n, count, 2))
}

/// A four-track audio disc: the stored bytes of each track's pregap and body, where
/// - track 1 (400 sectors) starts with 1000 samples of silence,
/// - track 2 has a 75-sector pregap stored in the image (`INDEX 00`) and ends with 2 sectors of silence,
/// - track 3 has a 30-sector pregap the image does not store (`PREGAP`, silence on the disc),
/// - track 4 (500 sectors) starts with 10 samples and ends with 3 sectors of silence.
///
/// On the disc the tracks start at LBAs 0, 475, 805 and 1155; the lead-out is at 1655.
struct Disc {
    /// (stored pregap, body) of each track.
    tracks: Vec<(Vec<u8>, Vec<u8>)>,
}

const STARTS: [usize; 4] = [0, 475, 805, 1155];
const LEADOUT: usize = 1655;

impl Disc {
    fn new() -> Disc {
        let mut t1 = noise(400 * SECTOR, 1);
        t1[..4000].fill(0);
        let p2 = noise(75 * SECTOR, 2);
        let mut t2 = noise(300 * SECTOR, 3);
        let n = t2.len();
        t2[n - 2 * SECTOR..].fill(0);
        let t3 = noise(350 * SECTOR, 4);
        let mut t4 = noise(500 * SECTOR, 5);
        t4[..40].fill(0);
        let n = t4.len();
        t4[n - 3 * SECTOR..].fill(0);
        Disc { tracks: vec![(Vec::new(), t1), (p2, t2), (Vec::new(), t3), (Vec::new(), t4)] }
    }

    /// The bytes AccurateRip and EAC take as track `i` (0-based): from its `INDEX 01` to the next track's.
    fn span(&self, i: usize) -> Vec<u8> {
        let mut s = self.tracks[i].1.clone();
        match i {
            0 => s.extend_from_slice(&self.tracks[1].0),
            1 => s.extend(std::iter::repeat_n(0u8, 30 * SECTOR)),
            _ => {}
        }
        s
    }

    /// One BIN file and its CUE sheet.
    fn single_bin(&self, dir: &Path) -> PathBuf {
        let mut bin = Vec::new();
        for (p, b) in &self.tracks {
            bin.extend_from_slice(p);
            bin.extend_from_slice(b);
        }
        fs::write(dir.join("single.bin"), bin).unwrap();
        let cue = format!(
            "FILE \"single.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 00 {}\n    \
             INDEX 01 {}\n  TRACK 03 AUDIO\n    PREGAP 00:00:30\n    INDEX 01 {}\n  TRACK 04 AUDIO\n    INDEX 01 {}\n",
            msf(400),
            msf(475),
            msf(775),
            msf(1125)
        );
        let path = dir.join("single.cue");
        fs::write(&path, cue).unwrap();
        path
    }

    /// One BIN file per track and their CUE sheet.
    fn multi_bin(&self, dir: &Path) -> PathBuf {
        let mut cue = String::new();
        for (i, (p, b)) in self.tracks.iter().enumerate() {
            let name = format!("track{:02}.bin", i + 1);
            fs::write(dir.join(&name), [p.as_slice(), b.as_slice()].concat()).unwrap();
            cue += &format!("FILE \"{name}\" BINARY\n  TRACK {:02} AUDIO\n", i + 1);
            if !p.is_empty() {
                cue += &format!("    INDEX 00 00:00:00\n    INDEX 01 {}\n", msf(p.len() / SECTOR));
            } else if i == 2 {
                cue += "    PREGAP 00:00:30\n    INDEX 01 00:00:00\n";
            } else {
                cue += "    INDEX 01 00:00:00\n";
            }
        }
        let path = dir.join("multi.cue");
        fs::write(&path, cue).unwrap();
        path
    }
}

/// The AccurateRip disc id of the four-track disc, computed here from its published definition: the sum of the
/// tracks' LBAs and the lead-out's; the sum of each LBA (at least 1) times the track's number, and the lead-out
/// times the track count plus one; the freedb id.
fn accuraterip_id(starts: &[usize], leadout: usize, freedb: &str) -> (u32, u32, u32) {
    let id1 = starts.iter().sum::<usize>() + leadout;
    let id2 = starts.iter().enumerate().map(|(i, &s)| s.max(1) * (i + 1)).sum::<usize>() + leadout * (starts.len() + 1);
    (id1 as u32, id2 as u32, u32::from_str_radix(freedb, 16).unwrap())
}

/// An AccurateRip response chunk written as the database's `dBAR-….bin` files are laid out: track count (1 byte),
/// disc ids 1 and 2 and the freedb id (4 bytes each, little-endian), then for each track its confidence (1 byte),
/// CRC and frame-450 CRC (4 bytes each, little-endian).
fn ar_chunk(count: u8, ids: (u32, u32, u32), entries: &[(u8, u32)]) -> Vec<u8> {
    let mut out = vec![count];
    for v in [ids.0, ids.1, ids.2] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (conf, crc) in entries {
        out.push(*conf);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    }
    out
}

fn hex(s: &str) -> u32 {
    u32::from_str_radix(s, 16).unwrap()
}

/// whipper's AccurateRip CRCs and zlib's CRC-32s of the first, middle and last tracks, as WAV files and raw bytes,
/// equal what `odix verify` prints for the same tracks in one BIN file and in one BIN per track; the disc's ids
/// equal libdiscid's; then the offline checks against AccurateRip and CTDB responses.
#[test]
fn audio_checksums_match_whipper_zlib_and_libdiscid() {
    let Some(tool) = require_tool("accuraterip-checksum") else { return };
    let Some(py) = libdiscid() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let disc = Disc::new();
    let single = disc.single_bin(d);
    let multi = disc.multi_bin(d);

    // What the independent tools say of each track.
    let disc_samples = (LEADOUT - STARTS[0]) * SAMPLES;
    let mut expected = Vec::new();
    for i in 0..4 {
        let span = disc.span(i);
        let wav = d.join(format!("track{}.wav", i + 1));
        write_wav(&wav, &span);
        let raw = d.join(format!("track{}.raw", i + 1));
        fs::write(&raw, &span).unwrap();
        let (v1, v2) = whipper(&tool, &wav, i + 1, 4);
        let (crc, nonsilent) = zlib_crcs(&raw, 0, 0);
        // The CTDB CRC: the first track without its first 10 sectors, the last without its last 10 sectors and
        // the samples that make the disc a whole number of 10-sector rows.
        let from = if i == 0 { 5880 * 4 } else { 0 };
        let cut = if i == 3 { (5880 + disc_samples % 5880) * 4 } else { 0 };
        let (ctdb, _) = zlib_crcs(&raw, from, cut);
        expected.push((v1, v2, crc, nonsilent, ctdb));
    }
    // Silence at the ends makes the two CRC-32s differ where it should.
    assert_ne!(expected[0].2, expected[0].3);
    assert_eq!(expected[2].2, expected[2].3);

    let offsets: Vec<usize> = STARTS.iter().map(|s| s + 150).collect();
    let (mb, freedb) = libdiscid_ids(&py, 1, 4, LEADOUT + 150, &offsets);
    for cue in [&single, &multi] {
        let (code, v) = verify_json(cue, &[]);
        assert_eq!(code, Some(0), "{v:#}");
        let tracks = v["hashes"]["tracks"].as_array().unwrap();
        let audio = v["audio"]["tracks"].as_array().unwrap();
        assert_eq!((tracks.len(), audio.len()), (4, 4));
        for (i, (v1, v2, crc, nonsilent, ctdb)) in expected.iter().enumerate() {
            let what = format!("{} track {}", cue.display(), i + 1);
            assert_eq!(tracks[i]["accuraterip_v1"], v1.as_str(), "{what}");
            assert_eq!(tracks[i]["accuraterip_v2"], v2.as_str(), "{what}");
            assert_eq!(audio[i]["accuraterip_v1"], v1.as_str(), "{what}");
            assert_eq!(audio[i]["crc32"], crc.as_str(), "{what}");
            assert_eq!(audio[i]["crc32_nonsilent"], nonsilent.as_str(), "{what}");
            assert_eq!(audio[i]["ctdb_crc"], ctdb.as_str(), "{what}");
        }
        assert_eq!(v["musicbrainz_disc_id"], mb.as_str());
        assert_eq!(v["freedb_id"], freedb.as_str());
        let (id1, id2, cddb) = accuraterip_id(&STARTS, LEADOUT, &freedb);
        assert_eq!(v["accuraterip_id"], format!("004-{id1:08x}-{id2:08x}-{cddb:08x}").as_str());
        // The text report says the same.
        let o = run_ok(odix().arg("verify").arg(cue));
        let text = stdout(&o);
        for (v1, v2, ..) in &expected {
            assert!(text.contains(&format!("AccurateRip v1 {v1}  v2 {v2}")), "{text}");
        }
        assert!(text.contains(&format!("MusicBrainz disc ID: {mb}")), "{text}");
        assert!(text.contains(&format!("freedb id: {freedb}")), "{text}");
    }

    // AccurateRip: a response whose entry for track 3 is wrong, the others right (track 2 by its v1 CRC).
    let ids = accuraterip_id(&STARTS, LEADOUT, &freedb);
    let right = |i: usize| hex(&expected[i].1);
    let wrong3 = right(2) ^ 0x0bad_f00d;
    let entries = [(12, right(0)), (3, hex(&expected[1].0)), (5, wrong3), (7, right(3))];
    let bin = d.join("dBAR-004.bin");
    fs::write(&bin, ar_chunk(4, ids, &entries)).unwrap();
    let o = run(odix().arg("verify").arg("--accuraterip").arg(&bin).arg(&single));
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}{}", stderr(&o));
    assert!(
        text.contains(&format!("AccurateRip track 01: v2 {} matches, confidence 12 of 12", expected[0].1)),
        "{text}"
    );
    assert!(text.contains(&format!("AccurateRip track 02: v1 {} matches, confidence 3 of 3", expected[1].0)), "{text}");
    assert!(text.contains("AccurateRip track 03: NO MATCH"), "{text}");
    assert!(text.contains("AccurateRip: 3 of 4 tracks match"), "{text}");
    let (code, v) = verify_json(&single, &["--accuraterip", bin.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let r = v["audio"]["accuraterip"].as_array().unwrap();
    let matched: Vec<bool> = r.iter().map(|t| t["matched"].as_bool().unwrap()).collect();
    assert_eq!(matched, [true, true, false, true]);
    assert_eq!(r[0]["v2_confidence"], 12);

    // A second chunk (another pressing's submissions) with track 3 right: every track matches.
    let mut both = ar_chunk(4, ids, &entries);
    both.extend(ar_chunk(4, ids, &[(2, right(0)), (0, 0), (4, hex(&expected[2].0)), (1, 1)]));
    fs::write(&bin, &both).unwrap();
    let o = run(odix().arg("verify").arg("--accuraterip").arg(&bin).arg(&multi));
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(
        text.contains(&format!("AccurateRip track 01: v2 {} matches, confidence 14 of 14", expected[0].1)),
        "{text}"
    );
    assert!(text.contains(&format!("AccurateRip track 03: v1 {} matches, confidence 4 of 9", expected[2].0)), "{text}");

    // Damaged and lying responses: a clear error naming the file, exit status 1.
    let good = ar_chunk(4, ids, &entries);
    let mut lying = good.clone();
    lying[0] = 9;
    let other_disc = ar_chunk(4, (ids.0 + 1, ids.1, ids.2), &entries);
    for (bytes, says) in [
        (good[..good.len() - 5].to_vec(), "cut short"),
        (good[..7].to_vec(), "a chunk header needs 13"),
        (lying, "track count 9 needs 94 bytes, 49 left"),
        (Vec::new(), "empty"),
        (other_disc, "not for this disc"),
    ] {
        fs::write(&bin, &bytes).unwrap();
        let o = run(odix().arg("verify").arg("--accuraterip").arg(&bin).arg(&single));
        assert_eq!(o.status.code(), Some(1), "{says}");
        let e = stderr(&o);
        assert!(e.contains(says) && e.contains("dBAR-004.bin"), "{says}: {e}");
    }

    // CTDB: one entry with every track's CRC; then one whose track 2 is wrong.
    let crcs: Vec<&str> = expected.iter().map(|e| e.4.as_str()).collect();
    let xml = |crcs: &[&str]| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ctdb xmlns=\"http://db.cuetools.net/ns/mmd-1.0#\">\n  \
             <entry confidence=\"5\" crc32=\"01234567\" id=\"42\" npar=\"8\" stride=\"5880\" toc=\"0:475:805:1155:1655\" \
             trackcrcs=\"{}\" />\n</ctdb>\n",
            crcs.join(" ")
        )
    };
    let ctdb = d.join("ctdb.xml");
    fs::write(&ctdb, xml(&crcs)).unwrap();
    let o = run(odix().arg("verify").arg("--ctdb").arg(&ctdb).arg(&single));
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(text.contains(&format!("CTDB track 04: {} matches, confidence 5 of 5", crcs[3])), "{text}");
    let mut bad = crcs.clone();
    bad[1] = "00000001";
    fs::write(&ctdb, xml(&bad)).unwrap();
    let (code, v) = verify_json(&single, &["--ctdb", ctdb.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let matched: Vec<bool> =
        v["audio"]["ctdb"].as_array().unwrap().iter().map(|t| t["matched"].as_bool().unwrap()).collect();
    assert_eq!(matched, [true, false, true, true]);
    for (text, says) in [
        (
            "<ctdb><entry confidence=\"1\" trackcrcs=\"1 2\"/></ctdb>".to_string(),
            "no entry for a disc of 4 audio tracks",
        ),
        ("<ctdb><entry confidence=\"1\" trackcrcs=\"1 2\"></ctdb>".to_string(), "not well-formed"),
        (xml(&crcs)[..100].to_string(), "end of input"),
        (xml(&crcs)[..xml(&crcs).find("<entry").unwrap()].to_string(), "cut short"),
    ] {
        fs::write(&ctdb, text).unwrap();
        let o = run(odix().arg("verify").arg("--ctdb").arg(&ctdb).arg(&single));
        assert_eq!(o.status.code(), Some(1), "{says}");
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
    }
}

/// Each track's sector count and whether it is audio.
type Tracks = Vec<(usize, bool)>;

/// A CUE image of `tracks` (sector count, audio or not) in one BIN file, with `session2` data tracks after a
/// `REM SESSION 02`; data sectors are Mode 1 with their EDC/ECC, audio sectors noise.
fn image(dir: &Path, name: &str, tracks: &[(usize, bool)], session2: Option<usize>) -> (PathBuf, Vec<usize>, usize) {
    let mut bin = Vec::new();
    let mut cue = format!("FILE \"{name}.bin\" BINARY\n");
    let mut starts = Vec::new();
    let mut lba = 0;
    for (i, &(len, audio)) in tracks.iter().enumerate() {
        starts.push(lba);
        cue += &format!(
            "  TRACK {:02} {}\n    INDEX 01 {}\n",
            i + 1,
            if audio { "AUDIO" } else { "MODE1/2352" },
            msf(lba)
        );
        for s in 0..len {
            if audio {
                bin.extend(noise(SECTOR, (lba + s) as u32));
            } else {
                bin.extend(odix_cdrip::sector::encode_mode1((lba + s) as i64, &[7u8; 2048]).unwrap());
            }
        }
        lba += len;
    }
    fs::write(dir.join(format!("{name}.bin")), bin).unwrap();
    let mut leadout = lba;
    if let Some(len) = session2 {
        // Lead-out of the first session (6750), lead-in of the second (4500), the data track's pregap (150).
        let start = lba + 11_400;
        starts.push(start);
        let data: Vec<u8> = (0..len)
            .flat_map(|s| odix_cdrip::sector::encode_mode1((start + s) as i64, &[9u8; 2048]).unwrap())
            .collect();
        fs::write(dir.join(format!("{name}-data.bin")), data).unwrap();
        cue += &format!(
            "REM SESSION 02\nFILE \"{name}-data.bin\" BINARY\n  TRACK {:02} MODE1/2352\n    INDEX 01 00:00:00\n",
            tracks.len() + 1
        );
        leadout = start + len;
    }
    let path = dir.join(format!("{name}.cue"));
    fs::write(&path, cue).unwrap();
    (path, starts, leadout)
}

/// MusicBrainz disc IDs and freedb ids of several TOCs equal libdiscid's: one track, 99 tracks, an enhanced CD
/// (audio, then a data track in a second session: the MusicBrainz id counts the audio session only, the freedb id
/// every track), a mixed-mode CD (a data track first: both count every track).
#[test]
fn disc_ids_match_libdiscid() {
    let Some(py) = libdiscid() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cases: Vec<(&str, Tracks, Option<usize>)> = vec![
        ("one", vec![(900, true)], None),
        ("many", (0..99).map(|i| (4 + i % 3, true)).collect(), None),
        ("enhanced", vec![(300, true), (350, true), (400, true)], Some(500)),
        ("mixed", vec![(600, false), (300, true), (320, true)], None),
    ];
    for (name, tracks, session2) in cases {
        let (cue, starts, leadout) = image(d, name, &tracks, session2);
        let (code, v) = verify_json(&cue, &[]);
        assert_eq!(code, Some(0), "{name}: {v:#}");
        let offsets: Vec<usize> = starts.iter().map(|s| s + 150).collect();
        let audio = tracks.len();
        let (mb, _) = if session2.is_some() {
            // The audio session ends 11 400 sectors before the data track.
            libdiscid_ids(&py, 1, audio, starts[audio] - 11_400 + 150, &offsets[..audio])
        } else {
            libdiscid_ids(&py, 1, starts.len(), leadout + 150, &offsets)
        };
        let (_, freedb) = libdiscid_ids(&py, 1, starts.len(), leadout + 150, &offsets);
        assert_eq!(v["musicbrainz_disc_id"], mb.as_str(), "{name}");
        assert_eq!(v["freedb_id"], freedb.as_str(), "{name}");
        // AccurateRip counts the audio tracks only, numbered from 1, with the disc's lead-out.
        let audio_starts: Vec<usize> = tracks.iter().zip(&starts).filter(|(t, _)| t.1).map(|(_, &s)| s).collect();
        let (id1, id2, cddb) = accuraterip_id(&audio_starts, leadout, &freedb);
        let want = format!("{:03}-{id1:08x}-{id2:08x}-{cddb:08x}", audio_starts.len());
        assert_eq!(v["accuraterip_id"], want.as_str(), "{name}");
        // Data tracks have no AccurateRip CRCs; audio tracks have 8 hex digits.
        for t in v["hashes"]["tracks"].as_array().unwrap() {
            let n = t["track"].as_u64().unwrap() as usize;
            let is_audio = n <= tracks.len() && tracks[n - 1].1;
            assert_eq!(t["accuraterip_v1"].as_str().map(str::len), is_audio.then_some(8), "{name} track {n}");
        }
    }

    // A sheet whose track numbers skip makes no TOC: its other checks run, the audio ones are said not to; checking
    // it against a response is an error.
    let skip = d.join("skip.cue");
    fs::write(
        &skip,
        "FILE \"one.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n  TRACK 03 AUDIO\n    INDEX 01 00:02:00\n",
    )
    .unwrap();
    let (code, v) = verify_json(&skip, &[]);
    assert_eq!((code, &v["audio"], &v["freedb_id"]), (Some(0), &serde_json::Value::Null, &serde_json::Value::Null));
    let details = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "audio").unwrap()["details"].to_string();
    assert!(details.contains("not computed") && details.contains("track 3 follows track 1"), "{details}");
    fs::write(d.join("r.bin"), ar_chunk(2, (1, 2, 3), &[(1, 1), (1, 2)])).unwrap();
    let o = run(odix().arg("verify").arg("--accuraterip").arg(d.join("r.bin")).arg(&skip));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("track 3 follows track 1"), "{}", stderr(&o));
}

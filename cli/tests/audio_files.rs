//! Per-track audio files: `odix convert --audio wav|flac` checked by the reference FLAC tools (`flac -t`, `flac -d`,
//! `metaflac`), shntool (`len`, `split`) and sox; CUE sheets of WAVE files made by sox and `flac -d` and of FLAC
//! files made by `flac` read by odix back into the source BIN; hostile audio files refused with clear errors.
//!
//! The audio is generated: pseudo-random samples (which do not compress), silence and sines, a few seconds of it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use odix_cdrip::store::ByteStore;
use odix_testdata::{require_tool, run, run_ok};

const RAW: usize = 2352;

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One track of the generated disc.
struct T {
    number: u8,
    title: &'static str,
    performer: Option<&'static str>,
    /// Stored pregap (INDEX 00 to INDEX 01), in sectors.
    pregap: usize,
    /// Sectors from INDEX 01 to the end.
    sectors: usize,
    kind: u8,
}

const TRACKS: [T; 3] = [
    T { number: 1, title: "Noise / Static", performer: None, pregap: 0, sectors: 150, kind: 0 },
    T { number: 2, title: "Sine", performer: Some("Guest Band"), pregap: 40, sectors: 200, kind: 1 },
    // 209 sectors: the last 4096-sample FLAC block holds 3 samples.
    T { number: 3, title: "Mix", performer: None, pregap: 25, sectors: 209, kind: 2 },
];

/// Samples of a track: 0 pseudo-random, 1 silence then a sine, 2 a quiet noise over a sine.
fn samples(kind: u8, n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    let mut out = Vec::with_capacity(n * 4);
    for i in 0..n {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (x >> 16) as i16;
        let t = i as f64;
        let (l, r) = match kind {
            0 => (noise, (x >> 8) as i16),
            1 if i < 588 * 40 => (0, 0),
            1 => ((12000.0 * (t * 0.031).sin()) as i16, (9000.0 * (t * 0.017).sin()) as i16),
            _ => {
                let s = (8000.0 * (t * 0.05).sin()) as i16;
                (s.wrapping_add(noise >> 6), s.wrapping_sub(noise >> 7))
            }
        };
        out.extend_from_slice(&l.to_le_bytes());
        out.extend_from_slice(&r.to_le_bytes());
    }
    out
}

fn msf(frames: usize) -> String {
    format!("{:02}:{:02}:{:02}", frames / 4500, frames / 75 % 60, frames % 75)
}

struct Disc {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    cue: PathBuf,
    bin: Vec<u8>,
    /// (first byte, bytes) of each track's stored sectors in the BIN.
    spans: Vec<(usize, usize)>,
}

/// A BIN/CUE audio disc of [`TRACKS`], with CD-Text style titles and performers in its sheet.
fn disc() -> Disc {
    disc_with(true)
}

/// [`disc`], its stored pregaps left out when `pregaps` is false.
fn disc_with(pregaps: bool) -> Disc {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut bin = Vec::new();
    let mut spans = Vec::new();
    let mut cue = String::from("REM COMMENT \"generated\"\nTITLE \"Test Album\"\nPERFORMER \"Test Band\"\n");
    cue.push_str("FILE \"disc.bin\" BINARY\n");
    for t in &TRACKS {
        let start = bin.len();
        let pregap = if pregaps { t.pregap } else { 0 };
        let n = (pregap + t.sectors) * 588;
        bin.extend(samples(t.kind, n, u32::from(t.number)));
        spans.push((start, bin.len() - start));
        cue.push_str(&format!("  TRACK {:02} AUDIO\n    TITLE \"{}\"\n", t.number, t.title));
        if let Some(p) = t.performer {
            cue.push_str(&format!("    PERFORMER \"{p}\"\n"));
        }
        let first = start / RAW;
        if pregap > 0 {
            cue.push_str(&format!("    INDEX 00 {}\n", msf(first)));
        }
        cue.push_str(&format!("    INDEX 01 {}\n", msf(first + pregap)));
    }
    fs::write(dir.join("disc.bin"), &bin).unwrap();
    fs::write(dir.join("disc.cue"), cue).unwrap();
    Disc { cue: dir.join("disc.cue"), dir, _tmp: tmp, bin, spans }
}

fn track_file(t: &T, ext: &str) -> String {
    format!("{:02} - {}.{ext}", t.number, t.title.replace('/', "_"))
}

/// The PCM of an audio file, as sox decodes it (16-bit little-endian stereo, no header).
fn sox_pcm(path: &Path) -> Vec<u8> {
    let sox = require_tool("sox").expect("sox (Debian package sox)");
    let out = path.with_extension("sox.raw");
    run_ok(Command::new(sox).arg(path).args(["-t", "raw", "-e", "signed", "-b", "16", "-L"]).arg(&out));
    fs::read(out).unwrap()
}

/// The `m:ss.ff` lengths `shntool len` gives, in file order.
fn shntool_lengths(files: &[PathBuf]) -> Vec<String> {
    let shntool = require_tool("shntool").expect("shntool (Debian package shntool)");
    let out = run_ok(Command::new(shntool).args(["len", "-c", "-t"]).args(files));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// `m:ss.ff` of a number of sectors, as shntool prints CD-quality lengths.
fn shn_len(sectors: usize) -> String {
    format!("{}:{:02}.{:02}", sectors / 4500, sectors / 75 % 60, sectors % 75)
}

#[test]
fn flac_files_pass_the_reference_decoder_and_carry_the_tags() {
    let (Some(flac), Some(metaflac)) = (require_tool("flac"), require_tool("metaflac")) else { return };
    let d = disc();
    let out = d.dir.join("flac");
    run_ok(odix().arg("convert").arg(&d.cue).arg(&out).args(["--audio", "flac"]));
    let sheet = fs::read_to_string(out.join("disc.cue")).unwrap();
    let mut files = Vec::new();
    for (t, &(start, len)) in TRACKS.iter().zip(&d.spans) {
        let name = track_file(t, "flac");
        assert!(sheet.contains(&format!("FILE \"{name}\" WAVE")), "{sheet}");
        let f = out.join(&name);
        run_ok(Command::new(&flac).args(["-t", "-s"]).arg(&f));
        let raw = d.dir.join(format!("{}.raw", t.number));
        run_ok(
            Command::new(&flac)
                .args(["-d", "-s", "--force-raw-format", "--endian=little", "--sign=signed", "-o"])
                .arg(&raw)
                .arg(&f),
        );
        assert!(fs::read(&raw).unwrap() == d.bin[start..start + len], "track {} decodes to other samples", t.number);
        let tags = run_ok(Command::new(&metaflac).arg("--list").arg("--block-type=VORBIS_COMMENT").arg(&f));
        let tags = String::from_utf8_lossy(&tags.stdout);
        for want in [
            format!("TITLE={}", t.title),
            format!("ARTIST={}", t.performer.unwrap_or("Test Band")),
            "ALBUM=Test Album".to_string(),
            format!("TRACKNUMBER={}", t.number),
        ] {
            assert!(tags.contains(&want), "track {}: no {want} in\n{tags}", t.number);
        }
        files.push(f);
    }
    // INDEX 00 at the start of each track's own file, INDEX 01 after its pregap.
    assert!(sheet.contains("TRACK 02 AUDIO") && sheet.contains("INDEX 00 00:00:00\n    INDEX 01 00:00:40"), "{sheet}");
    let lengths = shntool_lengths(&files);
    let want: Vec<String> = TRACKS.iter().map(|t| shn_len(t.pregap + t.sectors)).collect();
    assert_eq!(lengths, want);

    // Back: the sheet of FLAC files reads as the source BIN, and verify reads it.
    let back = d.dir.join("back.cue");
    run_ok(odix().arg("convert").arg(out.join("disc.cue")).arg(&back));
    assert!(fs::read(d.dir.join("back.bin")).unwrap() == d.bin, "FLAC files -> BIN differs from the source");
    let v = run_ok(odix().arg("verify").arg(out.join("disc.cue")));
    let src = run_ok(odix().arg("verify").arg(&d.cue));
    let hashes = |o: &Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.trim_start().starts_with("track"))
            .map(String::from)
            .collect()
    };
    // The per-track hashes (and, where verify computes them, the audio checksums) of both sheets are the same.
    assert_eq!(hashes(&v), hashes(&src));
    assert!(hashes(&v).len() >= 3, "{}", String::from_utf8_lossy(&v.stdout));
}

#[test]
fn wav_files_equal_shntool_split_of_the_bin() {
    let (Some(shntool), Some(sox)) = (require_tool("shntool"), require_tool("sox")) else { return };
    let d = disc();
    let out = d.dir.join("wav");
    run_ok(odix().arg("convert").arg(&d.cue).arg(&out).args(["--audio", "wav"]));
    // shntool splits a WAVE of the whole BIN (made by sox) at the first stored sector of each track.
    let whole = d.dir.join("whole.wav");
    run_ok(
        Command::new(sox)
            .args(["-t", "raw", "-r", "44100", "-e", "signed", "-b", "16", "-c", "2", "-L"])
            .arg(d.dir.join("disc.bin"))
            .arg(&whole),
    );
    let points: Vec<String> = d.spans.iter().skip(1).map(|&(start, _)| shn_len(start / RAW)).collect();
    fs::write(d.dir.join("points"), points.join("\n") + "\n").unwrap();
    let split = d.dir.join("split");
    fs::create_dir(&split).unwrap();
    run_ok(
        Command::new(shntool).args(["split", "-q", "-f"]).arg(d.dir.join("points")).arg("-d").arg(&split).arg(&whole),
    );
    let mut files = Vec::new();
    for (i, t) in TRACKS.iter().enumerate() {
        let mine = out.join(track_file(t, "wav"));
        let theirs = split.join(format!("split-track{:02}.wav", i + 1));
        assert!(sox_pcm(&mine) == sox_pcm(&theirs), "track {}: odix's WAVE differs from shntool's split", t.number);
        let (start, len) = d.spans[i];
        assert!(sox_pcm(&mine) == d.bin[start..start + len]);
        files.push(mine);
    }
    let want: Vec<String> = TRACKS.iter().map(|t| shn_len(t.pregap + t.sectors)).collect();
    assert_eq!(shntool_lengths(&files), want);
    // Back to one BIN.
    let back = d.dir.join("back.cue");
    run_ok(odix().arg("convert").arg(out.join("disc.cue")).arg(&back));
    assert!(fs::read(d.dir.join("back.bin")).unwrap() == d.bin);
}

/// A sheet naming `files` (one per track of [`TRACKS`], in order) as WAVE files, INDEX 00 at their start.
fn sheet_of(files: &[String]) -> String {
    let mut s = String::new();
    for (t, f) in TRACKS.iter().zip(files) {
        s.push_str(&format!("FILE \"{f}\" WAVE\n  TRACK {:02} AUDIO\n", t.number));
        if t.pregap > 0 {
            s.push_str("    INDEX 00 00:00:00\n");
        }
        s.push_str(&format!("    INDEX 01 {}\n", msf(t.pregap)));
    }
    s
}

#[test]
fn files_of_sox_and_the_reference_flac_encoder_read_back_to_the_bin() {
    let (Some(flac), Some(sox)) = (require_tool("flac"), require_tool("sox")) else { return };
    let d = disc();
    let mut names = Vec::new();
    for (i, t) in TRACKS.iter().enumerate() {
        let (start, len) = d.spans[i];
        let raw = d.dir.join(format!("t{}.raw", t.number));
        fs::write(&raw, &d.bin[start..start + len]).unwrap();
        // Track 1 by sox, track 2 by flac -d of a FLAC file, track 3 as the FLAC file itself.
        let made = match i {
            0 => {
                let w = format!("t{}.wav", t.number);
                run_ok(
                    Command::new(&sox)
                        .args(["-t", "raw", "-r", "44100", "-e", "signed", "-b", "16", "-c", "2", "-L"])
                        .arg(&raw)
                        .arg(d.dir.join(&w)),
                );
                w
            }
            _ => {
                let f = format!("t{}.flac", t.number);
                run_ok(
                    Command::new(&flac)
                        .args([
                            "-s",
                            "-5",
                            "--force-raw-format",
                            "--endian=little",
                            "--sign=signed",
                            "--channels=2",
                            "--bps=16",
                            "--sample-rate=44100",
                            "-o",
                        ])
                        .arg(d.dir.join(&f))
                        .arg(&raw),
                );
                if i == 1 {
                    let w = format!("t{}.wav", t.number);
                    run_ok(Command::new(&flac).args(["-d", "-s", "-o"]).arg(d.dir.join(&w)).arg(d.dir.join(&f)));
                    w
                } else {
                    f
                }
            }
        };
        names.push(made);
    }
    let cue = d.dir.join("tracks.cue");
    fs::write(&cue, sheet_of(&names)).unwrap();
    let back = d.dir.join("back.cue");
    run_ok(odix().arg("convert").arg(&cue).arg(&back));
    assert!(fs::read(d.dir.join("back.bin")).unwrap() == d.bin, "sox/flac files -> BIN differs from the source");
    run_ok(odix().arg("verify").arg(&cue));

    // The FLAC store read out of order (behind and ahead of its decoder) gives the same bytes.
    let f3 = d.dir.join("t3.flac");
    let store = odix_cdrip::audiofile::FlacStore::open(&f3).unwrap();
    let (start, len) = d.spans[2];
    assert_eq!(store.len(), len as u64);
    let mut x = 7u64;
    for _ in 0..40 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let off = (x >> 20) as usize % len;
        let n = (1 + (x >> 8) as usize % 30_000).min(len - off);
        let mut buf = vec![0u8; n];
        store.read_at(off as u64, &mut buf).unwrap();
        assert!(buf == d.bin[start + off..start + off + n], "read of {n} at {off}");
    }
    // Two readers going through it at once, a sector each in turn, one a third of the way ahead.
    let mut sector = vec![0u8; RAW];
    for i in 0..len / RAW / 2 {
        for off in [i * RAW, (i + len / RAW / 3) * RAW] {
            store.read_at(off as u64, &mut sector).unwrap();
            assert!(sector == d.bin[start + off..start + off + RAW], "sector at {off}");
        }
    }
}

/// EAC's default sheet ("gaps appended to the previous track"): each file holds a track from its INDEX 01 and the
/// next track's pregap, the sheet giving that INDEX 00 under the earlier FILE. Files made by sox from the BIN's
/// slices read back to the BIN, and verify's AccurateRip CRCs (from INDEX 01 to INDEX 01) equal those of the BIN/CUE.
#[test]
fn eac_sheets_with_gaps_appended_to_the_previous_track_read_back_to_the_bin() {
    let Some(sox) = require_tool("sox") else { return };
    let d = disc();
    let mut cue = String::new();
    let mut at = 0usize;
    for (i, t) in TRACKS.iter().enumerate() {
        let (start, len) = d.spans[i];
        let from = start + t.pregap * RAW;
        let next_pregap = TRACKS.get(i + 1).map_or(0, |n| n.pregap);
        let to = start + len + next_pregap * RAW;
        assert_eq!(from, at);
        at = to;
        let raw = d.dir.join(format!("e{}.raw", t.number));
        fs::write(&raw, &d.bin[from..to]).unwrap();
        let wav = format!("e{}.wav", t.number);
        run_ok(
            Command::new(&sox)
                .args(["-t", "raw", "-r", "44100", "-e", "signed", "-b", "16", "-c", "2", "-L"])
                .arg(&raw)
                .arg(d.dir.join(&wav)),
        );
        if i == 0 {
            cue.push_str(&format!("FILE \"{wav}\" WAVE\n  TRACK 01 AUDIO\n"));
        } else {
            cue.push_str(&format!("FILE \"{wav}\" WAVE\n"));
        }
        cue.push_str("    INDEX 01 00:00:00\n");
        if let Some(n) = TRACKS.get(i + 1) {
            cue.push_str(&format!("  TRACK {:02} AUDIO\n    INDEX 00 {}\n", n.number, msf(t.sectors)));
        }
    }
    let sheet = d.dir.join("eac.cue");
    fs::write(&sheet, cue).unwrap();
    let back = d.dir.join("eac-back.cue");
    run_ok(odix().arg("convert").arg(&sheet).arg(&back));
    assert!(fs::read(d.dir.join("eac-back.bin")).unwrap() == d.bin, "EAC-style files -> BIN differs from the source");
    let sums = |cue: &Path| -> Vec<String> {
        let o = run_ok(odix().args(["verify", "--json"]).arg(cue));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["hashes"]["tracks"].as_array().unwrap().iter().map(|t| t["accuraterip_v2"].to_string()).collect()
    };
    assert_eq!(sums(&sheet), sums(&d.cue), "AccurateRip CRCs of the EAC sheet and of the BIN/CUE");
}

#[test]
fn a_partial_last_sector_is_padded_with_silence_and_said() {
    let Some(sox) = require_tool("sox") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("a.raw");
    let pcm = samples(2, 588 * 30 + 100, 9);
    fs::write(&raw, &pcm).unwrap();
    run_ok(
        Command::new(sox)
            .args(["-t", "raw", "-r", "44100", "-e", "signed", "-b", "16", "-c", "2", "-L"])
            .arg(&raw)
            .arg(tmp.path().join("a.wav")),
    );
    let cue = tmp.path().join("a.cue");
    fs::write(&cue, "FILE \"a.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n").unwrap();
    let o = run_ok(odix().arg("convert").arg(&cue).arg(tmp.path().join("b.cue")));
    assert!(stderr(&o).contains("padded with 488 samples of silence"), "{}", stderr(&o));
    let bin = fs::read(tmp.path().join("b.bin")).unwrap();
    assert_eq!(bin.len(), 31 * RAW);
    assert!(bin[..pcm.len()] == pcm[..] && bin[pcm.len()..].iter().all(|&b| b == 0));
}

#[test]
fn a_mixed_mode_disc_keeps_its_data_track_as_bin() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..20 * RAW).map(|i| (i * 7 % 251) as u8).collect();
    let audio = samples(0, 588 * 30, 3);
    fs::write(tmp.path().join("m.bin"), [&data[..], &audio[..]].concat()).unwrap();
    let cue = tmp.path().join("m.cue");
    fs::write(&cue, "FILE \"m.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 01 00:00:20\n").unwrap();
    let out = tmp.path().join("out");
    run_ok(odix().arg("convert").arg(&cue).arg(&out).args(["--audio", "flac"]));
    assert!(fs::read(out.join("01 - Track 01.bin")).unwrap() == data);
    let sheet = fs::read_to_string(out.join("m.cue")).unwrap();
    assert!(sheet.contains("FILE \"01 - Track 01.bin\" BINARY\n  TRACK 01 MODE1/2352"), "{sheet}");
    assert!(sheet.contains("FILE \"02 - Track 02.flac\" WAVE\n  TRACK 02 AUDIO"), "{sheet}");
    run_ok(odix().arg("convert").arg(out.join("m.cue")).arg(tmp.path().join("back.cue")));
    assert!(fs::read(tmp.path().join("back.bin")).unwrap() == [&data[..], &audio[..]].concat());
}

#[test]
fn hostile_audio_files_are_clear_errors_and_leave_nothing() {
    let (Some(flac), Some(sox)) = (require_tool("flac"), require_tool("sox")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let raw = dir.join("a.raw");
    fs::write(&raw, samples(0, 588 * 40, 5)).unwrap();
    let to_wav = |rate: &str, out: &str| {
        run_ok(
            Command::new(&sox)
                .args(["-t", "raw", "-r", "44100", "-e", "signed", "-b", "16", "-c", "2", "-L"])
                .arg(&raw)
                .args(["-r", rate])
                .arg(dir.join(out)),
        );
    };
    to_wav("44100", "good.wav");
    to_wav("48000", "rate.wav");
    // A data chunk that claims more than the file holds.
    let mut lying = fs::read(dir.join("good.wav")).unwrap();
    let at = lying.windows(4).position(|w| w == b"data").unwrap() + 4;
    lying[at..at + 4].copy_from_slice(&(40 * RAW as u32 + 1_000_000).to_le_bytes());
    fs::write(dir.join("lying.wav"), lying).unwrap();
    // A FLAC file cut in the middle of its frames.
    run_ok(
        Command::new(&flac)
            .args([
                "-s",
                "--force-raw-format",
                "--endian=little",
                "--sign=signed",
                "--channels=2",
                "--bps=16",
                "--sample-rate=44100",
                "-o",
            ])
            .arg(dir.join("full.flac"))
            .arg(&raw),
    );
    let full = fs::read(dir.join("full.flac")).unwrap();
    fs::write(dir.join("cut.flac"), &full[..full.len() / 2]).unwrap();
    fs::write(dir.join("text.wav"), b"not audio at all, just some words").unwrap();
    for (file, want) in [
        ("lying.wav", "claims"),
        ("rate.wav", "48000 Hz"),
        ("cut.flac", "truncated or damaged"),
        ("text.wav", "neither a RIFF WAVE nor a FLAC file"),
    ] {
        let cue = dir.join("h.cue");
        fs::write(&cue, format!("FILE \"{file}\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n")).unwrap();
        let before: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        for args in [vec!["convert", "h.cue", "out.cue"], vec!["convert", "h.cue", "tracks", "--audio", "flac"]] {
            let o = run(odix().current_dir(dir).args(&args));
            assert!(!o.status.success(), "{file} {args:?} was accepted");
            assert!(stderr(&o).contains(want), "{file} {args:?}: {}", stderr(&o));
            let after: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(before.len(), after.len(), "{file} {args:?} left files: {after:?}");
        }
    }
}

#[test]
fn a_cancelled_conversion_to_track_files_leaves_nothing() {
    use odix::convert::{convert, AudioFormat, ConvertOptions};
    let d = disc();
    let before: Vec<_> = fs::read_dir(&d.dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    for (out, audio) in [("tracks", Some(AudioFormat::Flac)), ("tracks", Some(AudioFormat::Wav)), ("one.cue", None)] {
        let opts = ConvertOptions { audio, ..ConvertOptions::default() };
        opts.cancel.cancel();
        let e = convert(&d.cue, &d.dir.join(out), &opts).unwrap_err();
        assert!(e.downcast_ref::<odix::cancel::Cancelled>().is_some(), "{e:#}");
        let after: Vec<_> = fs::read_dir(&d.dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(before, after, "{out} {audio:?}");
    }
}

/// Without stored pregaps, shntool splits a WAVE of the BIN by the source sheet itself (at each `INDEX 01`).
#[test]
fn wav_files_equal_shntool_split_by_the_sheet() {
    let (Some(shntool), Some(sox)) = (require_tool("shntool"), require_tool("sox")) else { return };
    let d = disc_with(false);
    let out = d.dir.join("wav");
    run_ok(odix().arg("convert").arg(&d.cue).arg(&out).args(["--audio", "wav"]));
    let whole = d.dir.join("disc.wav");
    run_ok(
        Command::new(sox)
            .args(["-t", "raw", "-r", "44100", "-e", "signed", "-b", "16", "-c", "2", "-L"])
            .arg(d.dir.join("disc.bin"))
            .arg(&whole),
    );
    let split = d.dir.join("split");
    fs::create_dir(&split).unwrap();
    run_ok(Command::new(shntool).args(["split", "-q", "-f"]).arg(&d.cue).arg("-d").arg(&split).arg(&whole));
    for (i, t) in TRACKS.iter().enumerate() {
        let mine = sox_pcm(&out.join(track_file(t, "wav")));
        let theirs = sox_pcm(&split.join(format!("split-track{:02}.wav", i + 1)));
        assert!(mine == theirs, "track {}: odix's WAVE differs from shntool's split", t.number);
        let (start, len) = d.spans[i];
        assert!(mine == d.bin[start..start + len]);
    }
}

//! `odix rip --raw … --audio flac|wav DIR`: track files written while the disc is read, checked by independent
//! tools: the reference FLAC decoder (`flac -t`, `flac -d`), cuetools (`cuebreakpoints`, `cueprint`) and shntool
//! (`len`); a track with a sector never read gets no file; and `--speed X` paces an image read as a disc.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use odix::cancel::Cancel;
use odix::rip::{rip, Input, RipOptions, RipOutcome};
use odix::rip_audio::AudioFiles;
use odix::track_files::AudioFormat;
use odix_cdrip::sim::{Fault, SimDrive};
use odix_testdata::audio::{msf, noise};
use odix_testdata::{require_tool, run_ok};

const ODIX: &str = env!("CARGO_BIN_EXE_odix");
const SECTOR: usize = 2352;

/// A disc of three audio tracks in one BIN: track 1 of 300 sectors, track 2 with a stored pregap (INDEX 00 at 300,
/// INDEX 01 at 375) up to 700, track 3 up to 900; titled. Returns the sheet's path and the BIN's bytes.
fn image_disc(dir: &Path) -> (PathBuf, Vec<u8>) {
    // Noise shaped a little (a decaying running sum) so that FLAC has something to predict.
    let raw = noise(900 * SECTOR, 7);
    let mut bin = Vec::with_capacity(raw.len());
    let mut acc = [0i16; 2];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        let c = i % 2;
        let v = i32::from(acc[c]) * 3 / 4 + i32::from(pair[0] as i8) * 64 + i32::from(pair[1] as i8 % 7);
        acc[c] = v.clamp(-32768, 32767) as i16;
        bin.extend_from_slice(&acc[c].to_le_bytes());
    }
    fs::write(dir.join("disc.bin"), &bin).unwrap();
    let cue = format!(
        "PERFORMER \"Band\"\nTITLE \"Album\"\nFILE \"disc.bin\" BINARY\n  TRACK 01 AUDIO\n    TITLE \"One\"\n    \
         INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    TITLE \"Two\"\n    INDEX 00 {}\n    INDEX 01 {}\n  \
         TRACK 03 AUDIO\n    TITLE \"Three\"\n    INDEX 01 {}\n",
        msf(300),
        msf(375),
        msf(700)
    );
    let path = dir.join("disc.cue");
    fs::write(&path, cue).unwrap();
    (path, bin)
}

/// Sectors of a `m:ss.ff` time.
fn sectors_of(t: &str) -> usize {
    let (m, rest) = t.split_once(':').unwrap();
    let (s, f) = rest.split_once('.').unwrap();
    (m.parse::<usize>().unwrap() * 60 + s.parse::<usize>().unwrap()) * 75 + f.parse::<usize>().unwrap()
}

/// The tracks of a single-BIN sheet as byte ranges of the BIN, each from its first sector (pregap included), by
/// `cuebreakpoints --prepend-gaps`.
fn track_ranges(cue: &Path, len: usize) -> Vec<(usize, usize)> {
    let tool = require_tool("cuebreakpoints").expect("cuebreakpoints (Debian package cuetools)");
    let o = run_ok(Command::new(tool).arg("--prepend-gaps").arg(cue));
    let mut cuts: Vec<usize> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| sectors_of(l.trim()) * SECTOR).collect();
    cuts.insert(0, 0);
    cuts.push(len);
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The files of `dir` with extension `ext`, by name.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// `flac -d` of a file: its samples as raw little-endian bytes.
fn flac_pcm(flac: &Path, file: &Path) -> Vec<u8> {
    let o = run_ok(
        Command::new(flac)
            .args(["-d", "-s", "-c", "--force-raw-format", "--endian=little"])
            .args(["--sign=signed".as_ref(), file.as_os_str()]),
    );
    o.stdout
}

/// `shntool len` of files: each one's length in sectors (from its `m:ss.ff`, CD frames).
fn shntool_sectors(files: &[PathBuf]) -> Vec<usize> {
    let shntool = require_tool("shntool").expect("shntool (Debian package shntool)");
    let o = run_ok(Command::new(shntool).args(["len", "-c", "-t"]).args(files));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| sectors_of(l.split_whitespace().next().unwrap())).collect()
}

fn rip_with_audio(dir: &Path, cue: &Path, format: &str) -> (PathBuf, std::process::Output) {
    let tracks = dir.join(format!("tracks-{format}"));
    let out = dir.join(format!("rip-{format}.bin"));
    let o = Command::new(ODIX)
        .args(["rip", "--raw"])
        .arg(cue)
        .arg(&out)
        .arg("--audio")
        .arg(format)
        .arg(&tracks)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (tracks, o)
}

/// Checks a folder's sheet of three tracks with cuetools: `cueprint` names them and `titles`; `cuebreakpoints` takes
/// it.
fn check_sheet(sheet: &Path, titles: &[&str]) {
    let cueprint = require_tool("cueprint").expect("cueprint (Debian package cuetools)");
    let text = String::from_utf8_lossy(&run_ok(Command::new(cueprint).arg(sheet)).stdout).into_owned();
    assert!(text.contains(&format!("no. of tracks:\t{}", titles.len().max(3))), "{text}");
    for t in titles {
        assert!(text.contains(&format!("title:\t\t{t}")), "{t}: {text}");
    }
    let bp = require_tool("cuebreakpoints").expect("cuebreakpoints (Debian package cuetools)");
    run_ok(Command::new(bp).arg(sheet));
}

#[test]
fn flac_files_of_a_rip_decode_to_the_image_tracks() {
    let Some(flac) = require_tool("flac") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cue, bin) = image_disc(dir.path());
    let (tracks, _) = rip_with_audio(dir.path(), &cue, "flac");
    let ripped = fs::read(dir.path().join("rip-flac.bin")).unwrap();
    assert!(ripped == bin, "the rip's image differs from the BIN");
    let got = files(&tracks, "flac");
    assert_eq!(got.len(), 3, "{got:?}");
    run_ok(Command::new(&flac).args(["-t", "-s"]).args(&got));
    // The rip's own sheet, split by cuetools: each FLAC file holds its track's samples, pregap first.
    let ranges = track_ranges(&dir.path().join("rip-flac.cue"), ripped.len());
    assert_eq!(ranges, vec![(0, 300 * SECTOR), (300 * SECTOR, 700 * SECTOR), (700 * SECTOR, 900 * SECTOR)]);
    for (f, (a, b)) in got.iter().zip(&ranges) {
        assert!(flac_pcm(&flac, f) == ripped[*a..*b], "{}: not the image's samples", f.display());
    }
    let lengths = shntool_sectors(&got);
    assert_eq!(lengths, ranges.iter().map(|(a, b)| (b - a) / SECTOR).collect::<Vec<_>>());
    let sheets = files(&tracks, "cue");
    assert_eq!(sheets.len(), 1);
    check_sheet(&sheets[0], &["One", "Two", "Three"]);
    let text = fs::read_to_string(&sheets[0]).unwrap();
    assert!(text.contains("FILE \"02 - Two.flac\" WAVE"), "{text}");
    // Track 2's pregap is at the start of its file.
    assert!(text.contains("INDEX 00 00:00:00\n    INDEX 01 00:01:00"), "{text}");
    // Nothing else is left in the folder (no temporary file).
    assert_eq!(fs::read_dir(&tracks).unwrap().count(), 4);
}

#[test]
fn wav_files_of_a_rip_are_the_image_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let (cue, bin) = image_disc(dir.path());
    let (tracks, _) = rip_with_audio(dir.path(), &cue, "wav");
    let got = files(&tracks, "wav");
    assert_eq!(got.len(), 3, "{got:?}");
    let ranges = track_ranges(&dir.path().join("rip-wav.cue"), bin.len());
    let lengths = shntool_sectors(&got);
    assert_eq!(lengths, ranges.iter().map(|(a, b)| (b - a) / SECTOR).collect::<Vec<_>>());
    let sox = require_tool("sox").expect("sox (Debian package sox)");
    for (f, (a, b)) in got.iter().zip(&ranges) {
        let raw = f.with_extension("raw");
        run_ok(Command::new(&sox).arg(f).args(["-t", "raw", "-e", "signed", "-b", "16", "-L"]).arg(&raw));
        assert!(fs::read(&raw).unwrap() == bin[*a..*b], "{}: not the image's samples", f.display());
        fs::remove_file(raw).unwrap();
    }
    check_sheet(&files(&tracks, "cue")[0], &["One", "Two", "Three"]);
}

/// The simulated drive's disc: three tracks of noise at 0, 300 and 600, lead-out 900.
fn sim_disc(pcm: &[u8]) -> SimDrive {
    SimDrive::from_audio(pcm, &[0, 300, 600]).with_overread(false, false)
}

fn rip_sim(sim: SimDrive, out: &Path, tracks: &Path, retries: u32) -> odix::rip::RipReport {
    let mut opts = RipOptions::new(out);
    opts.raw = true;
    opts.retries = retries;
    opts.audio_files = Some(AudioFiles { format: AudioFormat::Flac, dir: tracks.to_path_buf() });
    rip(Input::Transport { name: "sim".into(), transport: Box::new(sim) }, &opts, &Cancel::new(), &mut |_| {}).unwrap()
}

/// A sector read well only on its third try is final (re-read) before its track is encoded: the file holds the
/// disc's samples. A sector never read leaves its track without a file, and the folder without a sheet; the other
/// tracks' files are the disc's.
#[test]
fn retried_sectors_are_final_before_encoding_and_a_bad_track_gets_no_file() {
    let Some(flac) = require_tool("flac") else { return };
    let pcm = noise(900 * SECTOR, 3);
    let dir = tempfile::tempdir().unwrap();

    // Track 2 has a pregap of 75 sectors that only the Q subchannel tells: the files are cut at the TOC's starts,
    // so it lies in track 1's file, and the folder's sheet says nothing of it (the image's sheet has it).
    let good = dir.path().join("good");
    let sim = sim_disc(&pcm).with_pregap(2, 75).with_fault(420, Fault::ReadsOnTry(3));
    let r = rip_sim(sim, &dir.path().join("a.bin"), &good, 4);
    assert_eq!(r.outcome, RipOutcome::Complete, "{r:?}");
    let got = files(&good, "flac");
    assert_eq!(got.len(), 3, "{got:?}");
    run_ok(Command::new(&flac).args(["-t", "-s"]).args(&got));
    assert!(flac_pcm(&flac, &got[1]) == pcm[300 * SECTOR..600 * SECTOR], "track 2 is not the disc's");
    let sheets = files(&good, "cue");
    assert_eq!(sheets.len(), 1);
    check_sheet(&sheets[0], &[]);
    let notes = r.audio_files.unwrap().notes;
    assert!(notes.iter().any(|n| n.contains("track 02: its INDEX 00 lies before the start of its file")), "{notes:?}");
    assert!(fs::read_to_string(dir.path().join("a.cue")).unwrap().contains("INDEX 00 00:03:00"));

    let bad = dir.path().join("bad");
    let r = rip_sim(sim_disc(&pcm).with_fault(420, Fault::Unreadable), &dir.path().join("b.bin"), &bad, 1);
    assert_eq!(r.outcome, RipOutcome::Incomplete, "{r:?}");
    let a = r.audio_files.expect("the track files' report");
    assert_eq!(a.not_written, vec![2]);
    assert!(a.cue.is_none());
    assert!(a.notes.iter().any(|n| n.contains("track 02")), "{:?}", a.notes);
    let got = files(&bad, "flac");
    let names: Vec<String> = got.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["01 - Track 01.flac", "03 - Track 03.flac"]);
    run_ok(Command::new(&flac).args(["-t", "-s"]).args(&got));
    assert!(flac_pcm(&flac, &got[0]) == pcm[..300 * SECTOR]);
    assert!(flac_pcm(&flac, &got[1]) == pcm[600 * SECTOR..]);
    // Only those two files: no sheet, no temporary file.
    assert_eq!(fs::read_dir(&bad).unwrap().count(), 2);
    let log = fs::read_to_string(dir.path().join("b.log")).unwrap();
    assert!(log.contains("track 02: sectors of it were not read well"), "{log}");
}

/// `--speed 2` on a disc of 150 sectors: at 150 sectors a second, the rip takes at least a second.
#[test]
fn speed_paces_an_image_read_as_a_disc() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("d.bin"), noise(150 * SECTOR, 1)).unwrap();
    fs::write(dir.path().join("d.cue"), "FILE \"d.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n").unwrap();
    let start = Instant::now();
    let o = Command::new(ODIX)
        .args(["rip", "--raw", "--speed", "2"])
        .arg(dir.path().join("d.cue"))
        .arg(dir.path().join("o.bin"))
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(took >= Duration::from_secs(1), "{took:?}");
    let log = fs::read_to_string(dir.path().join("o.log")).unwrap();
    assert!(log.contains("read at the pace of a 2× drive"), "{log}");
}

/// A rip interrupted after its first read leaves no track file (nor the folder it made); resumed, it writes every
/// track's file, the tracks read by the first run included.
#[test]
fn an_interrupted_rip_writes_no_file_and_its_resumption_all_of_them() {
    let Some(flac) = require_tool("flac") else { return };
    let pcm = noise(900 * SECTOR, 5);
    let dir = tempfile::tempdir().unwrap();
    let tracks = dir.path().join("t");
    let mut opts = RipOptions::new(dir.path().join("r.bin"));
    opts.raw = true;
    opts.cluster = Some(64);
    opts.audio_files = Some(AudioFiles { format: AudioFormat::Flac, dir: tracks.clone() });
    let stop = Cancel::new();
    stop.cancel();
    let input = || Input::Transport { name: "sim".into(), transport: Box::new(sim_disc(&pcm)) };
    let first = rip(input(), &opts, &stop, &mut |_| {}).unwrap();
    assert_eq!(first.outcome, RipOutcome::Interrupted);
    assert!(first.audio_files.is_none());
    assert!(!tracks.exists(), "the interrupted rip left {}", tracks.display());
    let r = rip(input(), &opts, &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!(r.outcome, RipOutcome::Complete);
    assert!(r.resumed);
    let got = files(&tracks, "flac");
    assert_eq!(got.len(), 3, "{got:?}");
    let mut all = Vec::new();
    for f in &got {
        all.extend(flac_pcm(&flac, f));
    }
    assert!(all == pcm, "the FLAC files of the resumed rip are not the disc");
}

/// `--audio` into the image's own folder is refused before anything is written (its sheet would replace the
/// image's), and so is `--audio` without `--raw`.
#[test]
fn audio_files_in_the_image_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cue, _) = image_disc(dir.path());
    let o = Command::new(ODIX)
        .args(["rip", "--raw"])
        .arg(&cue)
        .arg(dir.path().join("out.bin"))
        .args(["--audio", "flac"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("the image's folder"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("out.bin").exists() && !dir.path().join("out.map").exists());
    let o = Command::new(ODIX)
        .arg("rip")
        .arg(&cue)
        .arg(dir.path().join("o.iso"))
        .args(["--audio", "flac"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "clap's usage error: {}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.path().join("o.iso").exists() && !dir.path().join("x").exists());
}

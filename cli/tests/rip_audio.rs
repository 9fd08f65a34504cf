//! `odix rip --raw` of audio discs in odix-cdrip's simulated drive: the read offset, the subchannel (MCN, ISRC,
//! CONTROL flags, index points, hidden track one audio), CD-Text and unstable sectors, checked against the samples
//! the test generated and read back by independent tools: cuetools (`cuebreakpoints`, `cueprint`, `cueconvert`),
//! cdrdao (`show-toc`) and shntool (`split`, `len`).

use std::fs;
use std::path::Path;
use std::process::Command;

use odix::cancel::Cancel;
use odix::rip::{rip, Input, RipOptions, RipOutcome, RipReport};
use odix_cdrip::cdtext::{self, pack};
use odix_cdrip::sim::{Fault, SimDrive};
use odix_testdata::{require_tool, run_ok};

const SECTOR: usize = 2352;
/// Track starts (INDEX 01) and the lead-out of the test disc, in sectors.
const STARTS: [u32; 4] = [150, 400, 700, 950];
const LEAD_OUT: u32 = 1200;

/// The disc's audio: 16-bit stereo samples of a different tone per track, none silent (track 1's pregap, hidden
/// track one audio, included).
fn pressing() -> Vec<u8> {
    let mut pcm = Vec::with_capacity(LEAD_OUT as usize * SECTOR);
    for i in 0..(LEAD_OUT as usize * SECTOR / 4) {
        let track = STARTS.iter().filter(|&&s| (i / 588) as u32 >= s).count() as f64;
        let v = ((i as f64 * (0.01 + 0.003 * track)).sin() * 12000.0) as i16;
        let r = v.wrapping_add((i % 97) as i16);
        pcm.extend_from_slice(&v.to_le_bytes());
        pcm.extend_from_slice(&r.to_le_bytes());
    }
    pcm
}

/// The test disc in a drive of read offset `drive_offset`: HTOA in track 1's pregap, track 2 with a pregap of 75
/// sectors and an INDEX 02, ISRCs, pre-emphasis and copy flags, a catalogue number and CD-Text.
fn disc(pcm: &[u8], drive_offset: i32) -> SimDrive {
    SimDrive::from_audio(pcm, &STARTS)
        .with_pregap(1, 150)
        .with_pregap(2, 75)
        .with_index(2, 2, 500)
        .with_isrc(1, "USRC17607839")
        .with_isrc(3, "GBAYE0000351")
        .with_control(3, 1 | 2)
        .with_control(4, 2 | 8)
        .with_mcn("0724384960650")
        .with_read_offset(drive_offset)
        .with_overread(false, false)
        .with_cd_text(pack::TITLE, &["Test Album", "First", "Second song", "Third", "Fourth"])
        .with_cd_text(pack::PERFORMER, &["The Band", "The Band", "Guest", "The Band", "The Band"])
        .with_cd_text(pack::SONGWRITER, &["Writer", "A", "B", "C", "D"])
}

fn rip_sim(sim: SimDrive, out: &Path, offset: i32, retries: u32) -> RipReport {
    let mut opts = RipOptions::new(out);
    opts.raw = true;
    opts.read_offset = offset;
    opts.retries = retries;
    let input = Input::Transport { name: "sim".into(), transport: Box::new(sim) };
    rip(input, &opts, &Cancel::new(), &mut |_| {}).unwrap()
}

fn text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The rip with the drive's offset gives the pressing, bit for bit; the same drive ripped with the wrong offset
/// (none) does not.
#[test]
fn read_offset_gives_the_pressing_and_a_wrong_one_does_not() {
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    // +48: the drive returns audio 48 samples early; the last 48 samples lie past the lead-out, which it does not
    // read: silence there, said in the log.
    let r = rip_sim(disc(&pcm, 48), &dir.path().join("right.bin"), 48, 2);
    assert_eq!(r.outcome, RipOutcome::Complete, "{r:?}");
    let bin = fs::read(dir.path().join("right.bin")).unwrap();
    let tail = pcm.len() - 48 * 4;
    assert!(bin[..tail] == pcm[..tail], "the rip with the right offset differs from the pressing");
    assert!(bin[tail..].iter().all(|&b| b == 0));
    let log = fs::read_to_string(dir.path().join("right.log")).unwrap();
    assert!(log.contains("Read offset: +48 samples"), "{log}");
    assert!(log.contains("does not read past the lead-out; 48 samples there are written as silence"), "{log}");
    // A drive that overreads gives all of it.
    let r = rip_sim(disc(&pcm, 48).with_overread(true, true), &dir.path().join("over.bin"), 48, 2);
    assert_eq!(r.outcome, RipOutcome::Complete);
    assert!(fs::read(dir.path().join("over.bin")).unwrap() == pcm);
    let log = fs::read_to_string(dir.path().join("over.log")).unwrap();
    assert!(log.contains("the drive read past the lead-out (overread)"), "{log}");
    // A negative offset, across whole sectors.
    let r = rip_sim(disc(&pcm, -1300).with_overread(true, true), &dir.path().join("neg.bin"), -1300, 2);
    assert_eq!(r.outcome, RipOutcome::Complete);
    assert!(fs::read(dir.path().join("neg.bin")).unwrap() == pcm);
    // The wrong offset: every track differs from the pressing.
    rip_sim(disc(&pcm, 48), &dir.path().join("wrong.bin"), 0, 2);
    let wrong = fs::read(dir.path().join("wrong.bin")).unwrap();
    for w in STARTS.windows(2) {
        let (a, b) = (w[0] as usize * SECTOR, w[1] as usize * SECTOR);
        assert!(wrong[a..b] != pcm[a..b], "track at {} equals the pressing with the wrong offset", w[0]);
    }
}

/// The CUE sheet of the rip, read by cuetools, cdrdao and shntool: the tracks split where the disc has them
/// (each equal to the pressing's samples), ISRC, catalogue number, flags and CD-Text as the disc holds them.
#[test]
fn cue_sheet_is_read_back_by_cuetools_cdrdao_and_shntool() {
    let (Some(cuebreakpoints), Some(cueprint), Some(cueconvert), Some(cdrdao), Some(shntool)) = (
        require_tool("cuebreakpoints"),
        require_tool("cueprint"),
        require_tool("cueconvert"),
        require_tool("cdrdao"),
        require_tool("shntool"),
    ) else {
        return;
    };
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = rip_sim(disc(&pcm, 0), &d.join("disc.bin"), 0, 2);
    assert_eq!(r.outcome, RipOutcome::Complete, "{r:?}");
    assert!(fs::read(d.join("disc.bin")).unwrap() == pcm);
    let cue = fs::read_to_string(d.join("disc.cue")).unwrap();
    for want in [
        "CATALOG 0724384960650",
        "TITLE \"Test Album\"",
        "PERFORMER \"The Band\"",
        "SONGWRITER \"Writer\"",
        "FLAGS DCP PRE",
        "ISRC GBAYE0000351",
        "INDEX 02 00:06:50",
    ] {
        assert!(cue.contains(want), "{want}:\n{cue}");
    }
    // odix's own CUE reader reads it all back.
    let back = odix_cdrip::cue::CueSheet::parse(&cue, &d.join("disc.cue")).unwrap();
    assert_eq!(back.catalog.as_deref(), Some("0724384960650"));
    assert_eq!(back.songwriter.as_deref(), Some("Writer"));
    let t: Vec<_> = back.files[0].tracks.iter().collect();
    assert_eq!(t[0].isrc.as_deref(), Some("USRC17607839"));
    assert_eq!(t[0].indexes.iter().map(|i| (i.number, i.position.0)).collect::<Vec<_>>(), [(0, 0), (1, 150)]);
    assert_eq!(
        t[1].indexes.iter().map(|i| (i.number, i.position.0)).collect::<Vec<_>>(),
        [(0, 325), (1, 400), (2, 500)]
    );
    assert_eq!(t[2].flags, ["DCP", "PRE"]);
    assert_eq!(t[3].flags, ["DCP", "4CH"]);
    let log = fs::read_to_string(d.join("disc.log")).unwrap();
    assert!(log.contains("hidden track one audio: track 1's pregap (150 sectors, 00:02:00) holds sound"), "{log}");

    // cuebreakpoints: the INDEX 01 of tracks 2–4 (m:ss.ff), and with --prepend-gaps track 2's INDEX 00.
    let o = run_ok(Command::new(&cuebreakpoints).arg(d.join("disc.cue")));
    assert_eq!(text(&o), "0:05.25\n0:09.25\n0:12.50\n", "{cue}");
    let o = run_ok(Command::new(&cuebreakpoints).arg("--prepend-gaps").arg(d.join("disc.cue")));
    assert_eq!(text(&o), "0:04.25\n0:09.25\n0:12.50\n", "{cue}");

    // cueprint: the disc's and each track's CD-Text and ISRC.
    let o =
        run_ok(Command::new(&cueprint).args(["-d", "%N|%T|%P|%S\n", "-t", "%n|%t|%p|%s|%i\n"]).arg(d.join("disc.cue")));
    let printed = text(&o);
    for want in [
        "4|Test Album|The Band|Writer",
        "1|First|The Band|A|USRC17607839",
        "2|Second song|Guest|B|",
        "3|Third|The Band|C|GBAYE0000351",
    ] {
        assert!(printed.lines().any(|l| l == want), "{want}:\n{printed}");
    }

    // cueconvert makes cdrdao's TOC of it; cdrdao reads that TOC and the sheet itself.
    let toc = d.join("disc.toc");
    run_ok(Command::new(&cueconvert).arg(d.join("disc.cue")).arg(&toc));
    let toc_text = fs::read_to_string(&toc).unwrap();
    // cueconvert writes an index relative to where the track starts in the file (its INDEX 00 at 325): INDEX 02
    // at 500 is 175 sectors on.
    for want in
        ["CATALOG \"0724384960650\"", "PRE_EMPHASIS", "ISRC \"GBAYE0000351\"", "FOUR_CHANNEL_AUDIO", "INDEX 00:02:25"]
    {
        assert!(toc_text.contains(want), "{want}:\n{toc_text}");
    }
    // cdrdao: the TOC as a disc (absolute positions in sectors), from cueconvert's TOC, and from a sheet by
    // cdrdao's own CUE reader. That reader takes an INDEX 02 as counted from INDEX 01 (it refuses this disc's 02 at
    // 500 as past track 2's end, while cuetools read it as a position in the file, as EAC writes it): it reads the
    // rip of the same disc without the index point.
    let mut no_index = disc(&pcm, 0);
    no_index = no_index.with_index(2, 2, 10_000);
    let r = rip_sim(no_index, &d.join("plain.bin"), 0, 2);
    assert_eq!(r.outcome, RipOutcome::Complete);
    assert!(!fs::read_to_string(d.join("plain.cue")).unwrap().contains("INDEX 02"));
    for sheet in [&toc, &d.join("plain.cue")] {
        let o = run_ok(Command::new(&cdrdao).arg("show-toc").arg(sheet).current_dir(d));
        let shown = format!("{}{}", text(&o), String::from_utf8_lossy(&o.stderr));
        assert!(!shown.contains("ERROR"), "{}: {shown}", sheet.display());
        for want in [
            "CATALOG NUMBER: 0724384960650",
            "ISRC US RC1 76 07839",
            "ISRC GB AYE 00 00351",
            "PREGAP 00:02:00(   150)\n          START  00:02:00(   150)\n          END    00:04:25(   325)",
            "PREGAP 00:01:00(    75)\n          START  00:05:25(   400)",
            "COPY PERMITTED\n          PRE-EMPHASIS\n          TWO CHANNEL AUDIO",
            "COPY PERMITTED\n          NO PRE-EMPHASIS\n          FOUR CHANNEL AUDIO",
            "START  00:12:50(   950)\n          END    00:16:00(  1200)",
        ] {
            assert!(shown.contains(want), "{}: {want}\n{shown}", sheet.display());
        }
    }

    // shntool splits a WAV of the BIN where the sheet puts the tracks: each piece is the pressing's samples.
    fs::write(d.join("disc.wav"), odix_testdata::audio::wav(&fs::read(d.join("disc.bin")).unwrap())).unwrap();
    fs::create_dir(d.join("split")).unwrap();
    run_ok(
        Command::new(&shntool)
            .args(["split", "-q", "-f"])
            .arg(d.join("disc.cue"))
            .args(["-o", "wav", "-d"])
            .arg(d.join("split"))
            .arg(d.join("disc.wav")),
    );
    let mut pieces: Vec<_> = fs::read_dir(d.join("split")).unwrap().map(|e| e.unwrap().path()).collect();
    pieces.sort();
    // Track 1's pregap (hidden track one audio) comes out as a piece of its own (track00), and each later pregap
    // at the end of the piece before it: the pieces end at the INDEX 01 that follows them.
    let bounds = [0, STARTS[0], STARTS[1], STARTS[2], STARTS[3], LEAD_OUT];
    assert_eq!(pieces.len(), 5, "{pieces:?}");
    for (p, w) in pieces.iter().zip(bounds.windows(2)) {
        let piece = fs::read(p).unwrap();
        let (from, to) = (w[0] as usize * SECTOR, w[1] as usize * SECTOR);
        assert!(piece[44..] == pcm[from..to], "{} differs from the pressing's sectors {w:?}", p.display());
        // shntool len: m:ss.ff, ff in CD frames (sectors).
        let sectors = w[1] - w[0];
        let want = format!("{}:{:02}.{:02}", sectors / 4500, sectors / 75 % 60, sectors % 75);
        let o = run_ok(Command::new(&shntool).arg("len").arg(p));
        assert!(
            text(&o).lines().nth(1).is_some_and(|l| l.split_whitespace().next() == Some(&want)),
            "{want}: {}",
            text(&o)
        );
    }
}

/// CD-Text packs built as MMC-6 Annex J lays them out (text packs with CRCs, three size-information packs), one
/// with a broken CRC: the rip says which, and keeps the text the other packs carry.
#[test]
fn cd_text_pack_with_a_bad_crc_is_reported() {
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let mut packs = cdtext::build_packs(
        &[(pack::TITLE, vec!["Album".into(), "One".into(), "Two".into(), "Three".into(), "Four".into()])],
        9,
    );
    assert!(packs.iter().all(cdtext::crc_ok));
    // Pack 0 holds "Album\0One\0Two": its CRC is broken.
    packs[0][17] ^= 0xff;
    let r = rip_sim(disc(&pcm, 0).with_cd_text_packs(packs), &dir.path().join("t.bin"), 0, 2);
    assert_eq!(r.outcome, RipOutcome::Complete);
    let log = fs::read_to_string(dir.path().join("t.log")).unwrap();
    assert!(
        log.contains("CD-Text: 1 of 6 packs fail their CRC and were skipped: pack 0 (block 0, sequence 0)"),
        "{log}"
    );
    let cue = fs::read_to_string(dir.path().join("t.cue")).unwrap();
    assert!(cue.contains("TITLE \"Three\"") && !cue.contains("TITLE \"Album\""), "{cue}");

    // Packs that lie (a sequence number going back): an error in the log, no text used.
    let mut packs = cdtext::build_packs(&[(pack::TITLE, vec!["Album".into(), "One".into()])], 9);
    packs[1][2] = 0;
    let crc = cdtext::pack_crc(&packs[1]);
    packs[1][16..18].copy_from_slice(&crc.to_be_bytes());
    let r = rip_sim(disc(&pcm, 0).with_cd_text_packs(packs), &dir.path().join("l.bin"), 0, 2);
    assert_eq!(r.outcome, RipOutcome::Complete);
    let log = fs::read_to_string(dir.path().join("l.log")).unwrap();
    assert!(
        log.contains("CD-Text pack 1: sequence number 0 after 0 in block 0; the disc's CD-Text is not used"),
        "{log}"
    );
}

/// Unstable sectors: read until two reads agree; one that never does is reported with its samples, in the log,
/// the report and the outcome.
#[test]
fn unstable_sectors_are_reread_or_reported_with_their_samples() {
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let sim = disc(&pcm, 0).with_fault(420, Fault::Unstable { tries: 5 }).with_fault(800, Fault::C2Wrong { tries: 3 });
    let r = rip_sim(sim, &dir.path().join("a.bin"), 0, 4);
    assert_eq!(r.outcome, RipOutcome::Complete, "{r:?}");
    assert!(r.wrong_sectors >= 2);
    assert!(fs::read(dir.path().join("a.bin")).unwrap() == pcm);

    let sim = disc(&pcm, 0)
        .with_fault(420, Fault::Unstable { tries: u32::MAX })
        .with_fault(421, Fault::Unstable { tries: u32::MAX });
    let r = rip_sim(sim, &dir.path().join("b.bin"), 0, 3);
    assert_eq!(r.outcome, RipOutcome::Incomplete);
    assert_eq!(r.audio_errors.len(), 1, "{:?}", r.audio_errors);
    let e = r.audio_errors[0];
    // Track 2 starts at 400: sectors 420–421 are its samples 20 × 588 to 22 × 588.
    assert_eq!((e.track, e.first_sample, e.samples, e.lba, e.sectors), (2, 20 * 588, 2 * 588, 420, 2));
    let log = fs::read_to_string(dir.path().join("b.log")).unwrap();
    assert!(log.contains("track  2 samples 11760..12936 (LBA 420, 2 sectors)"), "{log}");
}

/// An audio rip stopped after its first read and resumed gives the pressing too; the resumed run knows the Q of
/// what the first run read (kept beside the map: see audio_gaps.rs).
#[test]
fn interrupted_audio_rip_resumes_to_the_pressing() {
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.bin");
    let mut opts = RipOptions::new(&out);
    opts.raw = true;
    opts.read_offset = -700;
    opts.cluster = Some(64);
    let stop = Cancel::new();
    stop.cancel();
    let sim = || disc(&pcm, -700).with_overread(true, true);
    let first = rip(Input::Transport { name: "sim".into(), transport: Box::new(sim()) }, &opts, &stop, &mut |_| {});
    assert_eq!(first.unwrap().outcome, RipOutcome::Interrupted);
    let r =
        rip(Input::Transport { name: "sim".into(), transport: Box::new(sim()) }, &opts, &Cancel::new(), &mut |_| {})
            .unwrap();
    assert_eq!(r.outcome, RipOutcome::Complete);
    assert!(r.resumed);
    assert!(fs::read(&out).unwrap() == pcm, "the resumed rip differs from the pressing");
    let log = fs::read_to_string(dir.path().join("r.log")).unwrap();
    assert!(!log.contains("the rip resumed: the Q subchannel of the sectors read before is not known here"), "{log}");
    let cue = fs::read_to_string(dir.path().join("r.cue")).unwrap();
    assert!(cue.contains("ISRC GBAYE0000351") && cue.contains("CATALOG 0724384960650"), "{cue}");
}

/// `odix rip --read-offset` takes a negative number; on a file (no drive to correct) it is ignored with a warning.
#[test]
fn read_offset_on_a_file_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("audio.bin");
    fs::write(&src, &pressing()[..100 * SECTOR]).unwrap();
    let o = odix_testdata::run(
        Command::new(env!("CARGO_BIN_EXE_odix"))
            .args(["rip", "--raw", "--read-offset", "-6"])
            .arg(&src)
            .arg(dir.path().join("out.bin")),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("--read-offset corrects a drive's reads") && err.contains("ignored"), "{err}");
    assert!(fs::read(dir.path().join("out.bin")).unwrap() == fs::read(&src).unwrap());
    let o = odix_testdata::run(Command::new(env!("CARGO_BIN_EXE_odix")).args(["rip", "--read-offset", "6", "x", "y"]));
    assert_eq!(o.status.code(), Some(2), "--read-offset without --raw is refused by the parser");
    // --find-offset takes no OUT, needs --accuraterip, and reads the response before looking for a drive.
    let o = odix_testdata::run(Command::new(env!("CARGO_BIN_EXE_odix")).args(["rip", "--find-offset"]));
    assert_eq!(o.status.code(), Some(2));
    let missing = dir.path().join("none.bin");
    let o = odix_testdata::run(
        Command::new(env!("CARGO_BIN_EXE_odix")).args(["rip", "--find-offset", "--accuraterip"]).arg(&missing),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("opening {}", missing.display())), "{err}");
}

/// whipper's `accuraterip-checksum` of `pcm` as track `n` of `count`: (v1, v2) as numbers.
fn whipper_sums(tool: &Path, dir: &Path, pcm: &[u8], n: usize, count: usize) -> (u32, u32) {
    let wav_path = dir.join(format!("track{n}.wav"));
    fs::write(&wav_path, odix_testdata::audio::wav(pcm)).unwrap();
    let sum = |v: &str| {
        let o = run_ok(Command::new(tool).arg(v).arg(&wav_path).arg(n.to_string()).arg(count.to_string()));
        u32::from_str_radix(text(&o).trim(), 16).unwrap()
    };
    (sum("--accuraterip-v1"), sum("--accuraterip-v2"))
}

/// The pressing's tracks as AccurateRip counts them: from each INDEX 01 to the next (the lead-out for the last).
fn track_windows(pcm: &[u8]) -> Vec<&[u8]> {
    let mut ends = STARTS[1..].to_vec();
    ends.push(LEAD_OUT);
    STARTS.iter().zip(ends).map(|(&a, b)| &pcm[a as usize * SECTOR..b as usize * SECTOR]).collect()
}

/// An AccurateRip response for the test disc holding `crcs` (one per track), as the database serves it.
fn response(dir: &Path, name: &str, crcs: &[u32]) -> std::path::PathBuf {
    use odix_cdrip::audio::{accuraterip, Toc, TocTrack};
    let toc = Toc::new(STARTS.iter().zip(1u8..).map(|(&s, n)| TocTrack::audio(n, s)).collect(), LEAD_OUT).unwrap();
    let entries: Vec<(u8, u32, u32)> = crcs.iter().map(|&c| (7u8, c, 0u32)).collect();
    let p = dir.join(name);
    fs::write(&p, accuraterip::encode_chunk(&toc.accuraterip_id().unwrap(), &entries)).unwrap();
    p
}

/// The rip log's AccurateRip v1/v2 and CRC-32 of each track, computed while ripping, equal whipper's
/// `accuraterip-checksum` and Python's `zlib.crc32` on the pressing's tracks; `odix verify --accuraterip` accepts
/// the rip with the right offset and rejects the one with the wrong offset.
#[test]
fn rip_log_checksums_equal_whippers_and_the_wrong_offset_fails_accuraterip() {
    let (Some(tool), Some(python)) = (require_tool("accuraterip-checksum"), require_tool("python3")) else { return };
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = rip_sim(disc(&pcm, 48).with_overread(true, true), &d.join("ok.bin"), 48, 2);
    assert_eq!(r.outcome, RipOutcome::Complete);
    let log = fs::read_to_string(d.join("ok.log")).unwrap();
    let windows = track_windows(&pcm);
    for (i, w) in windows.iter().enumerate() {
        let (v1, v2) = whipper_sums(&tool, d, w, i + 1, windows.len());
        fs::write(d.join("t.raw"), w).unwrap();
        let o =
            run_ok(Command::new(&python).arg("-c").arg(format!(
                "import zlib;print('%08x' % zlib.crc32(open('{}','rb').read()))",
                d.join("t.raw").display()
            )));
        let crc = text(&o).trim().to_string();
        let line = format!("track {:2} AccurateRip v1 {v1:08x} v2 {v2:08x}  CRC32 {crc}", i + 1);
        assert!(log.contains(&line), "{line}\n{log}");
        let (n, s) = r.audio_sums[i];
        assert_eq!((n, s.accuraterip_v1, s.accuraterip_v2), (i as u8 + 1, v1, v2));
    }
    let drive_id = r.accuraterip_id.clone().unwrap().to_string();
    assert!(log.contains(&format!("AccurateRip disc id {drive_id}")), "{log}");
    // The sheet of the rip keeps hidden track one audio (its BIN starts at LBA 0, track 1's INDEX 01 after the
    // pregap): odix verify reads it as the drive's TOC, so the disc ids are the drive's.
    let o = run_ok(Command::new(env!("CARGO_BIN_EXE_odix")).args(["verify", "--json"]).arg(d.join("ok.cue")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["accuraterip_id"].as_str(), Some(drive_id.as_str()), "{v}");

    // A disc without hidden audio (track 1 at LBA 0), checked against a response.
    let plain = &pcm[150 * SECTOR..];
    let starts = [0u32, 250, 550, 800];
    let sim = || SimDrive::from_audio(plain, &starts).with_read_offset(48).with_overread(true, true);
    let mut crcs = Vec::new();
    for (i, w) in starts.iter().zip(starts[1..].iter().chain([&1050])).enumerate() {
        let track = &plain[*w.0 as usize * SECTOR..*w.1 as usize * SECTOR];
        crcs.push(whipper_sums(&tool, d, track, i + 1, 4).0);
    }
    use odix_cdrip::audio::{accuraterip, Toc, TocTrack};
    let toc = Toc::new(starts.iter().zip(1u8..).map(|(&s, n)| TocTrack::audio(n, s)).collect(), 1050).unwrap();
    let entries: Vec<(u8, u32, u32)> = crcs.iter().map(|&c| (7u8, c, 0u32)).collect();
    let resp = d.join("dBAR.bin");
    fs::write(&resp, accuraterip::encode_chunk(&toc.accuraterip_id().unwrap(), &entries)).unwrap();
    let verify = |cue: &str| {
        odix_testdata::run(
            Command::new(env!("CARGO_BIN_EXE_odix")).args(["verify", "--accuraterip"]).arg(&resp).arg(d.join(cue)),
        )
    };
    assert_eq!(rip_sim(sim(), &d.join("ok2.bin"), 48, 2).outcome, RipOutcome::Complete);
    let o = verify("ok2.cue");
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o), String::from_utf8_lossy(&o.stderr));
    assert!(text(&o).contains("AccurateRip: 4 of 4 tracks match"), "{}", text(&o));
    // The same drive ripped without its offset: no track matches.
    rip_sim(sim(), &d.join("bad.bin"), 0, 2);
    let o = verify("bad.cue");
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("AccurateRip: 0 of 4 tracks match"), "{}", text(&o));
}

/// `find_offset` finds the drive's offset from a saved response made of whipper's CRCs of the pressing (v1 for
/// one track, v2 for the others, as responses mix them): +48, and nothing when the range stops short of it.
#[test]
fn find_offset_against_a_saved_response() {
    let Some(tool) = require_tool("accuraterip-checksum") else { return };
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let windows = track_windows(&pcm);
    let sums: Vec<(u32, u32)> =
        windows.iter().enumerate().map(|(i, w)| whipper_sums(&tool, d, w, i + 1, windows.len())).collect();
    // Track 1 (250 sectors, the shortest with track 4) has its v1 CRC in the response.
    let crcs: Vec<u32> = sums.iter().enumerate().map(|(i, s)| if i == 0 { s.0 } else { s.1 }).collect();
    let resp = response(d, "dBAR.bin", &crcs);
    let find = |drive_offset: i32, range: u32| {
        let sim = disc(&pcm, drive_offset);
        odix::rip::find_offset(
            Input::Transport { name: "sim".into(), transport: Box::new(sim) },
            &resp,
            range,
            std::time::Duration::from_secs(5),
        )
        .unwrap()
    };
    let r = find(48, 100);
    assert_eq!(r.track, 1);
    assert_eq!(r.matches.len(), 1, "{r:?}");
    assert_eq!((r.matches[0].offset, r.matches[0].confidence), (48, 7));
    assert_eq!((r.matches[0].v1, r.matches[0].v2), sums[0]);
    let r = find(-667, 700);
    assert_eq!(r.matches.first().map(|m| m.offset), Some(-667), "{r:?}");
    assert!(find(48, 30).matches.is_empty());
    // A response for another disc is refused, naming both.
    let other = d.join("other.bin");
    let mut b = fs::read(&resp).unwrap();
    b[1] ^= 1;
    fs::write(&other, b).unwrap();
    let e = odix::rip::find_offset(
        Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, 0)) },
        &other,
        10,
        std::time::Duration::from_secs(5),
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("not for this disc"), "{e:#}");
}

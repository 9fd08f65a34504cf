//! What odix adds to accurate audio ripping, each checked end to end against an independent computation:
//!
//! - the CUETools database's whole-disc CRC (`crc32` of a CTDB entry) in `odix verify`, against Python's
//!   `zlib.crc32` of the sample range CUETools defines, and matched against a CTDB response;
//! - `--find-offset` with a response that holds only AccurateRip v2 CRCs (whipper's `accuraterip-checksum`), and
//!   with a CTDB response of zlib's track CRCs;
//! - a rip interrupted and resumed on the simulated drive writes the CUE sheet of one that never stopped (the Q
//!   subchannel of the first run kept beside the map), which `cuebreakpoints` reads;
//! - `cd-discid` (Debian's cd-discid) in a VM whose CD drive holds an image gives the freedb id `odix toc` gives
//!   for the same drive.

use std::fs;
use std::path::Path;
use std::process::Command;

use odix::cancel::Cancel;
use odix::rip::{rip, Input, RipEvent, RipOptions, RipOutcome};
use odix_cdrip::sim::SimDrive;
use odix_testdata::audio::{accuraterip_checksum, msf, noise, write_wav};
use odix_testdata::{require_tool, run, run_ok, vm_run};

const SECTOR: usize = 2352;

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `python3 -c 'print(zlib.crc32(bytes[from..to]))'` of a file.
fn zlib_crc32(python: &Path, file: &Path, from: usize, to: usize) -> u32 {
    let script = format!(
        "import zlib,sys; d=open(sys.argv[1],'rb').read(); print('%08x' % (zlib.crc32(d[{from}:{to}]) & 0xffffffff))"
    );
    let o = run_ok(Command::new(python).arg("-c").arg(script).arg(file));
    u32::from_str_radix(stdout(&o).trim(), 16).unwrap()
}

/// The whole-disc CTDB CRC. CUETools (AccurateRipVerify.CTDBCRC with offset 0, as the CTDB's `crc32` is
/// submitted) takes the disc's audio from the first audio track's INDEX 01 to the audio lead-out, D samples, and
/// leaves out the first `stride / 2` = 5880 samples (10 sectors) and the last `laststride / 2` =
/// 5880 + (D mod 5880) samples. Python's zlib over exactly those bytes of the image gives the CRC `odix verify`
/// prints, in text and JSON; checked against a response, the entry with that `crc32` is said with its confidence.
#[test]
fn ctdb_disc_crc_is_zlibs_over_the_cuetools_range() {
    let Some(python) = require_tool("python3") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Three tracks; track 2 with a stored 40-sector pregap (INDEX 00), which the disc CRC covers as well. The
    // length makes D mod 5880 not 0.
    let starts = [0usize, 1234, 2100];
    let total = 3303usize;
    let bin = d.join("disc.bin");
    fs::write(&bin, noise(total * SECTOR, 11)).unwrap();
    let cue = format!(
        "FILE \"disc.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 00 {}\n    \
         INDEX 01 {}\n  TRACK 03 AUDIO\n    INDEX 01 {}\n",
        msf(starts[1] - 40),
        msf(starts[1]),
        msf(starts[2])
    );
    fs::write(d.join("disc.cue"), cue).unwrap();
    let samples = total * 588;
    let (from, to) = (5880 * 4, (samples - 5880 - samples % 5880) * 4);
    let want = zlib_crc32(&python, &bin, from, to);

    let o = run_ok(odix().args(["verify", "--json"]).arg(d.join("disc.cue")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["audio"]["ctdb_disc_crc"], format!("{want:08x}"), "{v}");
    assert!(v["audio"]["ctdb_disc"].is_null());
    let o = run_ok(odix().arg("verify").arg(d.join("disc.cue")));
    assert!(stdout(&o).contains(&format!("CTDB disc CRC: {want:08x}")), "{}", stdout(&o));

    // A response: the track CRCs odix computed (checked against zlib in audio_ids.rs), one entry with the disc CRC
    // zlib gave, one with another, one without a disc CRC.
    let tracks: Vec<String> =
        v["audio"]["tracks"].as_array().unwrap().iter().map(|t| t["ctdb_crc"].as_str().unwrap().to_string()).collect();
    let crcs = tracks.join(" ");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ctdb xmlns=\"http://db.cuetools.net/ns/mmd-1.0#\">\n  \
         <entry confidence=\"5\" crc32=\"{want:08x}\" id=\"1\" npar=\"8\" stride=\"5880\" trackcrcs=\"{crcs}\" />\n  \
         <entry confidence=\"2\" crc32=\"{:08x}\" id=\"2\" trackcrcs=\"{crcs}\" />\n  \
         <entry confidence=\"4\" id=\"3\" trackcrcs=\"{crcs}\" />\n</ctdb>\n",
        want ^ 1
    );
    fs::write(d.join("ctdb.xml"), xml).unwrap();
    let o = run(odix().args(["verify", "--ctdb"]).arg(d.join("ctdb.xml")).arg(d.join("disc.cue")));
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("CTDB disc: {want:08x} matches, confidence 5 of 7")), "{text}");
    assert!(text.contains("CTDB: 3 of 3 tracks match"), "{text}");
    let o = run_ok(odix().args(["verify", "--json", "--ctdb"]).arg(d.join("ctdb.xml")).arg(d.join("disc.cue")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let disc = &v["audio"]["ctdb_disc"];
    assert_eq!(disc["crc"], format!("{want:08x}"));
    assert_eq!((disc["matched"].as_bool(), disc["confidence"].as_u64()), (Some(true), Some(5)));
    assert_eq!((disc["total_confidence"].as_u64(), disc["entries"].as_u64()), (Some(7), Some(2)));
    // Only the disc CRC differs: said, while the tracks decide the check.
    let xml = format!("<ctdb><entry confidence=\"3\" crc32=\"{:08x}\" trackcrcs=\"{crcs}\"/></ctdb>", want ^ 1);
    fs::write(d.join("other.xml"), xml).unwrap();
    let o = run(odix().args(["verify", "--ctdb"]).arg(d.join("other.xml")).arg(d.join("disc.cue")));
    assert!(stdout(&o).contains(&format!("CTDB disc: {want:08x} matches no entry (1 entries, confidence 3)")));
}

/// The test disc of the rip tests: four tracks, track 2 with a 75-sector pregap and an INDEX 02, ISRCs, flags and
/// a catalogue number, in a drive of read offset `offset`.
const STARTS: [u32; 4] = [150, 400, 700, 950];
const LEAD_OUT: u32 = 1200;

fn pressing() -> Vec<u8> {
    noise(LEAD_OUT as usize * SECTOR, 5)
}

fn disc(pcm: &[u8], offset: i32) -> SimDrive {
    SimDrive::from_audio(pcm, &STARTS)
        .with_pregap(1, 150)
        .with_pregap(2, 75)
        .with_index(2, 2, 500)
        .with_isrc(1, "USRC17607839")
        .with_isrc(3, "GBAYE0000351")
        .with_control(3, 1 | 2)
        .with_mcn("0724384960650")
        .with_read_offset(offset)
        .with_overread(true, true)
}

/// A response holding only whipper's AccurateRip v2 CRCs of the pressing's tracks finds the drive's offset (+48,
/// and −667 across sectors), and nothing when the range stops short; a CTDB response finds the same offsets.
#[test]
fn find_offset_with_v2_crcs_only() {
    use odix_cdrip::audio::{accuraterip, Toc, TocTrack};
    let Some(tool) = require_tool("accuraterip-checksum") else { return };
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut ends = STARTS[1..].to_vec();
    ends.push(LEAD_OUT);
    let mut v2 = Vec::new();
    for (i, (&a, b)) in STARTS.iter().zip(ends).enumerate() {
        let wav = d.join(format!("t{}.wav", i + 1));
        write_wav(&wav, &pcm[a as usize * SECTOR..b as usize * SECTOR]);
        let v1 = accuraterip_checksum(&tool, &wav, i + 1, STARTS.len(), 1);
        let crc = accuraterip_checksum(&tool, &wav, i + 1, STARTS.len(), 2);
        assert_ne!(v1, crc);
        v2.push(u32::from_str_radix(&crc, 16).unwrap());
    }
    let toc = Toc::new(STARTS.iter().zip(1u8..).map(|(&s, n)| TocTrack::audio(n, s)).collect(), LEAD_OUT).unwrap();
    let entries: Vec<(u8, u32, u32)> = v2.iter().map(|&c| (9u8, c, 0u32)).collect();
    let resp = d.join("dBAR.bin");
    fs::write(&resp, accuraterip::encode_chunk(&toc.accuraterip_id().unwrap(), &entries)).unwrap();
    let find = |offset: i32, range: u32| {
        odix::rip::find_offset(
            Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, offset)) },
            &resp,
            range,
            std::time::Duration::from_secs(5),
        )
        .unwrap()
    };
    let r = find(48, 100);
    assert_eq!(r.track, 1, "the shortest track");
    assert_eq!(r.matches.len(), 1, "{r:?}");
    let m = r.matches[0];
    assert_eq!((m.offset, m.confidence, m.v2, m.v2_matched), (48, 9, v2[0], true));
    let r = find(-667, 700);
    assert_eq!(r.matches.iter().map(|m| m.offset).collect::<Vec<_>>(), [-667], "{r:?}");
    assert!(find(48, 30).matches.is_empty());

    // A CTDB response whose track CRCs are Python's zlib.crc32 of the pressing's tracks over the CTDB ranges (the
    // first track without its first 5880 samples, the last without its last 5880 + D mod 5880) finds the offset
    // as well, from the same track.
    let Some(python) = require_tool("python3") else { return };
    let image = d.join("pressing.bin");
    fs::write(&image, &pcm).unwrap();
    let disc_samples = (LEAD_OUT - STARTS[0]) as usize * 588;
    let mut crcs = Vec::new();
    for (i, &a) in STARTS.iter().enumerate() {
        let b = STARTS.get(i + 1).copied().unwrap_or(LEAD_OUT) as usize * SECTOR;
        let from = a as usize * SECTOR + if i == 0 { 5880 * 4 } else { 0 };
        let to = if i + 1 == STARTS.len() { b - (5880 + disc_samples % 5880) * 4 } else { b };
        crcs.push(format!("{:08x}", zlib_crc32(&python, &image, from, to)));
    }
    let xml = format!("<ctdb><entry confidence=\"6\" crc32=\"0\" trackcrcs=\"{}\"/></ctdb>", crcs.join(" "));
    let ctdb = d.join("ctdb.xml");
    fs::write(&ctdb, xml).unwrap();
    let find_ctdb = |offset: i32, range: u32| {
        odix::rip::find_offset_with_ctdb(
            Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, offset)) },
            &resp,
            Some(&ctdb),
            range,
            std::time::Duration::from_secs(5),
        )
        .unwrap()
    };
    let r = find_ctdb(48, 100);
    let found = r.ctdb.unwrap();
    assert_eq!(found.iter().map(|m| (m.offset, m.confidence)).collect::<Vec<_>>(), [(48, 6)]);
    assert_eq!(format!("{:08x}", found[0].crc), crcs[0]);
    let r = find_ctdb(-667, 700);
    assert_eq!(r.ctdb.unwrap().iter().map(|m| m.offset).collect::<Vec<_>>(), [-667]);
}

/// `odix rip --ctdb` needs `--find-offset`, and reads its response before looking for a drive.
#[test]
fn find_offset_ctdb_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(odix().args(["rip", "--ctdb", "x.xml", "a.bin"]));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let ar = dir.path().join("dBAR.bin");
    let toc = odix_cdrip::audio::Toc::new(vec![odix_cdrip::audio::TocTrack::audio(1, 0)], 1000).unwrap();
    fs::write(&ar, odix_cdrip::audio::accuraterip::encode_chunk(&toc.accuraterip_id().unwrap(), &[(1, 1, 0)])).unwrap();
    let bad = dir.path().join("bad.xml");
    fs::write(&bad, "<ctdb><entry/></ctdb>").unwrap();
    let o = run(odix().args(["rip", "--find-offset", "--accuraterip"]).arg(&ar).arg("--ctdb").arg(&bad));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.xml") && err.contains("no confidence"), "{err}");
}

fn rip_opts(out: &Path) -> RipOptions {
    let mut opts = RipOptions::new(out);
    opts.raw = true;
    opts.retries = 1;
    opts.cluster = Some(8);
    opts
}

/// A rip stopped once it has read past track 2's pregap and INDEX 02 (the first run saw those index points, the
/// catalogue number and track 1's ISRC), then resumed, writes the CUE sheet an uninterrupted rip writes; the Q
/// kept beside the map between the runs is gone when the rip completes. `cuebreakpoints` reads the sheet, with the
/// track 2 pregap's breakpoint.
#[test]
fn resumed_rip_writes_the_same_cue_sheet() {
    let Some(cuebreakpoints) = require_tool("cuebreakpoints") else { return };
    let pcm = pressing();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::create_dir_all(&a).unwrap();
    fs::create_dir_all(&b).unwrap();
    let whole = |out: &Path| {
        let input = Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, 0)) };
        rip(input, &rip_opts(out), &Cancel::new(), &mut |_| {}).unwrap()
    };
    assert_eq!(whole(&a.join("disc.bin")).outcome, RipOutcome::Complete);
    let want = fs::read_to_string(a.join("disc.cue")).unwrap();
    assert!(want.contains("INDEX 02") && want.contains("CATALOG") && want.contains("INDEX 00"), "{want}");

    let out = b.join("disc.bin");
    let cancel = Cancel::new();
    let stop = cancel.clone();
    let input = Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, 0)) };
    let r = rip(input, &rip_opts(&out), &cancel, &mut |e| {
        if let RipEvent::Progress(p) = e {
            // Image sector 560 is LBA 560: past track 2's INDEX 02 (500), before track 3's pregap.
            if p.good >= 560 {
                stop.cancel();
            }
        }
    })
    .unwrap();
    assert_eq!(r.outcome, RipOutcome::Interrupted);
    let sidecar = b.join("disc.map.q");
    let kept = fs::read_to_string(&sidecar).unwrap();
    assert!(kept.contains("index 2 2 500") && kept.contains("mcn 0724384960650"), "{kept}");
    let input = Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, 0)) };
    let r = rip(input, &rip_opts(&out), &Cancel::new(), &mut |_| {}).unwrap();
    assert_eq!((r.outcome, r.resumed), (RipOutcome::Complete, true));
    assert!(fs::read(&out).unwrap() == fs::read(a.join("disc.bin")).unwrap());
    let got = fs::read_to_string(b.join("disc.cue")).unwrap();
    assert_eq!(got, want);
    assert!(!sidecar.exists(), "the Q sidecar outlives the rip");
    let log = fs::read_to_string(b.join("disc.log")).unwrap();
    assert!(!log.contains("the Q subchannel of the sectors read before is not known"), "{log}");
    let o = run_ok(Command::new(&cuebreakpoints).arg(b.join("disc.cue")));
    let points: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    let o = run_ok(Command::new(&cuebreakpoints).arg(a.join("disc.cue")));
    assert_eq!(points, stdout(&o).lines().map(str::to_string).collect::<Vec<_>>());
    assert!(!points.is_empty());

    // A sidecar that does not fit the map (a run killed after its last save) is not used: the resumed rip says
    // its index points are unknown rather than trusting it.
    let c = dir.path().join("c");
    fs::create_dir_all(&c).unwrap();
    let out = c.join("disc.bin");
    let cancel = Cancel::new();
    let stop = cancel.clone();
    let input = Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, 0)) };
    rip(input, &rip_opts(&out), &cancel, &mut |e| {
        if matches!(e, RipEvent::Progress(p) if p.good >= 560) {
            stop.cancel();
        }
    })
    .unwrap();
    let sidecar = c.join("disc.map.q");
    let text = fs::read_to_string(&sidecar).unwrap();
    fs::write(&sidecar, text.replacen("map ", "map 1", 1)).unwrap();
    let input = Input::Transport { name: "sim".into(), transport: Box::new(disc(&pcm, 0)) };
    rip(input, &rip_opts(&out), &Cancel::new(), &mut |_| {}).unwrap();
    let log = fs::read_to_string(c.join("disc.log")).unwrap();
    assert!(log.contains("the Q subchannel of the sectors read before is not known"), "{log}");
    assert!(!sidecar.exists());
}

/// `cd-discid /dev/sr0` in a VM whose drive holds an ISO 9660 image (the emulated drive has one data track: it
/// cannot emulate audio) prints the freedb id, track count, offsets and seconds that `odix toc --json` reads from
/// the same drive.
#[test]
fn vm_cd_discid_gives_odix_freedb_id() {
    let Some(vm) = vm_run() else { return };
    let Some(cd_discid) = require_tool("cd-discid") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A 3 MB data disc: a cooked ISO made by odix itself (the drive reads its sectors, whatever wrote them).
    fs::create_dir(d.join("tree")).unwrap();
    fs::write(d.join("tree/f.bin"), noise(3_000_000, 3)).unwrap();
    let iso = d.join("disc.iso");
    run_ok(odix().arg("mkiso").arg("-o").arg(&iso).arg(d.join("tree")));
    let script =
        format!("{} /dev/sr0; echo ---; {} toc --json /dev/sr0", cd_discid.display(), env!("CARGO_BIN_EXE_odix"));
    let o = run(Command::new(&vm).arg("--disc").arg(&iso).args(["--", "sh", "-c", &script]));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&o.stderr));
    let (theirs, ours) = out.split_once("---\n").unwrap();
    let fields: Vec<&str> = theirs.split_whitespace().collect();
    let toc: serde_json::Value = serde_json::from_str(ours).unwrap();
    assert_eq!(Some(fields[0]), toc["freedb_id"].as_str(), "cd-discid: {theirs}odix: {ours}");
    // The rest of cd-discid's line: the track count, each track's start counted from the lead-in, the seconds.
    let sectors = fs::metadata(&iso).unwrap().len() / 2048;
    assert_eq!(fields[1..], ["1", "150", &((sectors + 150) / 75).to_string()], "{theirs}");
}

//! `odix rip`, `odix drive`, `odix toc`: on files, and through the kernel's SG_IO path in a VM whose QEMU drive
//! injects read errors (`shared/vm/vm-run`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::{require_tool, run, run_ok, tricky_tree, vm_run, TreeOptions};

const ODIX: &str = env!("CARGO_BIN_EXE_odix");

/// A source ISO of about 5.4 MB (2600+ sectors, past LBA 2000) from a generated tree.
fn source_iso(dir: &Path) -> Option<PathBuf> {
    let xorriso = require_tool("xorriso")?;
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    tricky_tree(&tree, &TreeOptions::plain()).unwrap();
    let payload: Vec<u8> = (0..5_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    fs::write(tree.join("payload.bin"), payload).unwrap();
    let iso = dir.join("src.iso");
    run_ok(Command::new(xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(&tree));
    assert!(fs::metadata(&iso).unwrap().len() > 2100 * 2048);
    Some(iso)
}

/// Boots the VM with `iso` (and `extra` vm-run options) and runs `script` in it; `$ODIX` and `$OUT` (the shared
/// folder) are set. Returns stdout.
fn in_vm(vm: &Path, iso: &Path, share: &Path, extra: &[&str], script: &str) -> String {
    let full = format!("ODIX={ODIX}; OUT={}; {script}", share.display());
    let o = run(Command::new(vm)
        .arg("--disc")
        .arg(iso)
        .args(extra)
        .arg("--share")
        .arg(share)
        .args(["--", "sh", "-c", &full]));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "vm-run failed ({:?}):\n{stdout}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

fn rc(share: &Path, name: &str) -> i32 {
    fs::read_to_string(share.join(name)).unwrap().trim().parse().unwrap()
}

/// Sectors (2048 bytes) where two images differ.
fn differing_sectors(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len());
    let mut v: Vec<usize> = a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i / 2048).collect();
    v.dedup();
    v
}

/// The bad-sector LBAs a map lists, read back by ddrescuelog.
fn bad_lbas(ddrescuelog: &Path, map: &Path) -> Vec<u64> {
    let o = run_ok(Command::new(ddrescuelog).args(["-b2048", "-l-"]).arg(map));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| l.trim().parse().unwrap()).collect()
}

#[test]
fn rip_a_file_and_ddrescuelog_reads_the_map() {
    let Some(ddrescuelog) = require_tool("ddrescuelog") else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(iso) = source_iso(dir.path()) else { return };
    let out = dir.path().join("out.iso");
    let o = run(Command::new(ODIX).arg("rip").arg(&iso).arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(&out).unwrap(), fs::read(&iso).unwrap());
    let map = dir.path().join("out.map");
    // ddrescuelog accepts the map and finds it all rescued.
    let t = run_ok(Command::new(&ddrescuelog).arg("-t").arg(&map));
    assert!(String::from_utf8_lossy(&t.stdout).contains("100%"), "{}", String::from_utf8_lossy(&t.stdout));
    let log = fs::read_to_string(dir.path().join("out.log")).unwrap();
    assert!(log.contains("sha1"), "{log}");
    // The summary on stderr and the DAT entry give the digests of the file written, as sha1sum and md5sum find
    // them, under its own name.
    let digest = |tool: &str, f: &Path| {
        let o = run_ok(Command::new(tool).arg(f));
        String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap().to_string()
    };
    let (sha1, md5) = (digest("sha1sum", &out), digest("md5sum", &out));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let sectors = fs::metadata(&iso).unwrap().len() / 2048;
    assert!(
        err.contains(&format!("odix: wrote {}: {sectors} sectors of 2048 bytes", out.display()))
            && err.contains(" 0 bad"),
        "{err}"
    );
    assert!(err.contains(&format!("md5 {md5} sha1 {sha1}")), "{err}");
    assert!(err.contains(&format!("log {}, map {}", dir.path().join("out.log").display(), map.display())), "{err}");
    let size = fs::metadata(&iso).unwrap().len();
    assert!(log.contains(&format!("<rom name=\"out.iso\" size=\"{size}\" ")) && log.contains(&sha1), "{log}");
    assert!(!log.contains("out.bin"), "{log}");

    // A map from ddrescuelog with two holes: the next run reads only those, and the image is whole again.
    let size = fs::metadata(&iso).unwrap().len();
    let holes = [(100u64, 3u64), (2000, 1)];
    let mut text = String::from("# made by the test\n0x00000000 + 1\n");
    let mut pos = 0;
    for (lba, n) in holes {
        text += &format!("0x{:X} 0x{:X} +\n0x{:X} 0x{:X} ?\n", pos, lba * 2048 - pos, lba * 2048, n * 2048);
        pos = (lba + n) * 2048;
    }
    text += &format!("0x{:X} 0x{:X} +\n", pos, size - pos);
    fs::write(&map, text).unwrap();
    run_ok(Command::new(&ddrescuelog).arg("-t").arg(&map));
    let mut image = fs::read(&iso).unwrap();
    for (lba, n) in holes {
        image[(lba * 2048) as usize..((lba + n) * 2048) as usize].fill(0xEE);
    }
    fs::write(&out, &image).unwrap();
    let o = run(Command::new(ODIX).arg("rip").arg(&iso).arg(&out));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(fs::read(&out).unwrap(), fs::read(&iso).unwrap());
    let log = fs::read_to_string(dir.path().join("out.log")).unwrap();
    assert!(log.contains("reads 2, failed 0"), "{log}");
    assert!(bad_lbas(&ddrescuelog, &map).is_empty());
}

#[test]
fn rip_rejects_a_foreign_or_broken_map() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    fs::write(&src, vec![7u8; 64 * 2048]).unwrap();
    let out = dir.path().join("out.iso");
    fs::write(&out, b"").unwrap();
    fs::write(dir.path().join("out.map"), "0x0 + 1\n0x0 0x800 +\n").unwrap();
    let o = run(Command::new(ODIX).arg("rip").arg(&src).arg(&out));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("belongs to another rip"));
    fs::write(dir.path().join("out.map"), "garbage\n").unwrap();
    let o = run(Command::new(ODIX).arg("rip").arg(&src).arg(&out));
    assert_eq!(o.status.code(), Some(1));
    // A finished map whose image is gone: a new rip, not an image of zeros.
    fs::write(dir.path().join("out.map"), "0x0 + 1\n0x0 0x20000 +\n").unwrap();
    let _ = fs::remove_file(&out);
    let o = run(Command::new(ODIX).arg("rip").arg(&src).arg(&out));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(fs::read(&out).unwrap(), fs::read(&src).unwrap());
}

#[test]
fn vm_clean_rip_drive_and_toc() {
    let Some(vm) = vm_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(iso) = source_iso(dir.path()) else { return };
    let share = dir.path().join("share");
    fs::create_dir(&share).unwrap();
    let stdout = in_vm(
        &vm,
        &iso,
        &share,
        &[],
        "$ODIX drive --json > $OUT/drive.json; $ODIX toc --json > $OUT/toc.json; \
         $ODIX rip /dev/sr0 $OUT/clean.iso 2>$OUT/clean.err; echo $? > $OUT/clean.rc; \
         $ODIX rip --raw /dev/sr0 $OUT/raw.bin 2>$OUT/raw.err; echo $? > $OUT/raw.rc",
    );
    let drive: serde_json::Value = serde_json::from_slice(&fs::read(share.join("drive.json")).unwrap()).unwrap();
    assert_eq!(drive["vendor"], "QEMU", "{drive}\n{stdout}");
    assert_eq!(drive["model"], "QEMU CD-ROM");
    assert_eq!(drive["read_cd"], false);
    let toc: serde_json::Value = serde_json::from_slice(&fs::read(share.join("toc.json")).unwrap()).unwrap();
    let tracks = toc["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1, "{toc}");
    assert_eq!(tracks[0]["data"], true);
    assert_eq!(tracks[0]["start"], 0);
    let sectors = fs::metadata(&iso).unwrap().len() / 2048;
    assert_eq!(toc["lead_out"], sectors);

    assert_eq!(rc(&share, "clean.rc"), 0, "{}", fs::read_to_string(share.join("clean.err")).unwrap());
    assert_eq!(fs::read(share.join("clean.iso")).unwrap(), fs::read(&iso).unwrap());
    // scsi-cd lets MODE SELECT change only AWRE in the error recovery page: asking for 1 retry while copying is
    // refused (05/26/00), noted, and the rip goes on with the drive's 32.
    let log = fs::read_to_string(share.join("clean.log")).unwrap();
    assert!(log.contains("refused to set its read retry count to 1") && log.contains("05/26/00"), "{log}");
    assert!(log.contains("it stays at 32"), "{log}");
    // scsi-cd has no READ CD: the raw rip says so, falls back to READ(10) and rebuilds every sector.
    assert_eq!(rc(&share, "raw.rc"), 0);
    assert!(fs::read_to_string(share.join("raw.err")).unwrap().contains("does not implement READ CD"));
    let raw = fs::read(share.join("raw.bin")).unwrap();
    let user: Vec<u8> = raw.chunks(2352).flat_map(|s| s[16..2064].to_vec()).collect();
    assert_eq!(user, fs::read(&iso).unwrap());
    assert!(fs::read_to_string(share.join("raw.cue")).unwrap().contains("TRACK 01 MODE1/2352"));
}

#[test]
fn vm_errors_once_are_retried_away() {
    let Some(vm) = vm_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(iso) = source_iso(dir.path()) else { return };
    let share = dir.path().join("share");
    fs::create_dir(&share).unwrap();
    in_vm(
        &vm,
        &iso,
        &share,
        &["--bad-sectors", "100:once,2000:once"],
        "$ODIX rip /dev/sr0 $OUT/once.iso; echo $? > $OUT/once.rc",
    );
    assert_eq!(rc(&share, "once.rc"), 0);
    assert_eq!(fs::read(share.join("once.iso")).unwrap(), fs::read(&iso).unwrap());
    let log = fs::read_to_string(share.join("once.log")).unwrap();
    assert!(log.contains("reads") && log.contains("failed 2,"), "{log}");
    assert!(log.contains("MEDIUM ERROR 03/11/00"), "{log}");
}

#[test]
fn vm_unreadable_run_is_mapped_exactly() {
    let Some(vm) = vm_run() else { return };
    let Some(ddrescuelog) = require_tool("ddrescuelog") else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(iso) = source_iso(dir.path()) else { return };
    let share = dir.path().join("share");
    fs::create_dir(&share).unwrap();
    in_vm(
        &vm,
        &iso,
        &share,
        &["--bad-sectors", "300-310"],
        "$ODIX rip --retries 2 /dev/sr0 $OUT/bad.iso; echo $? > $OUT/bad.rc",
    );
    assert_eq!(rc(&share, "bad.rc"), 2, "exit code 2: incomplete");
    assert_eq!(bad_lbas(&ddrescuelog, &share.join("bad.map")), (300..=310).collect::<Vec<u64>>());
    let got = fs::read(share.join("bad.iso")).unwrap();
    let src = fs::read(&iso).unwrap();
    let differ = differing_sectors(&src, &got);
    assert!(differ.iter().all(|s| (300..=310).contains(s)), "{differ:?}");
    assert!(got[300 * 2048..311 * 2048].iter().all(|&b| b == 0));
    let log = fs::read_to_string(share.join("bad.log")).unwrap();
    assert!(log.contains("  300 11 -"), "{log}");
}

/// A rip killed with SIGKILL, then one stopped with SIGINT, then one left to finish: each resumes from the map the
/// one before left, and the image is the same as a rip that never stopped. SIGINT says how far the rip got in one
/// line and exits 2.
#[test]
fn vm_killed_rip_resumes_to_the_same_image() {
    let Some(vm) = vm_run() else { return };
    let Some(ddrescuelog) = require_tool("ddrescuelog") else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(iso) = source_iso(dir.path()) else { return };
    let share = dir.path().join("share");
    fs::create_dir(&share).unwrap();
    // A throttled drive (5.4 MB at 400 kB/s); the first run is killed once its saved map shows progress, plus a
    // second, so the kill lands between map saves; the second gets SIGINT two seconds in.
    in_vm(
        &vm,
        &iso,
        &share,
        &["--read-bps", "400000"],
        "$ODIX rip /dev/sr0 $OUT/k.iso 2>/dev/null & P=$!; i=0; \
         while ! grep -q ' +$' $OUT/k.map 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
         sleep 1; kill -9 $P; wait $P; echo $? > $OUT/kill.rc; cp $OUT/k.map $OUT/killed.map; \
         $ODIX rip /dev/sr0 $OUT/k.iso 2>$OUT/int.err & P=$!; sleep 2; kill -INT $P; wait $P; echo $? > $OUT/int.rc; \
         cp $OUT/k.map $OUT/int.map; $ODIX rip /dev/sr0 $OUT/k.iso 2>/dev/null; echo $? > $OUT/k.rc",
    );
    assert_eq!(rc(&share, "kill.rc"), 137, "the first run was killed");
    let killed = fs::read_to_string(share.join("killed.map")).unwrap();
    assert!(killed.contains(" +\n") && killed.contains(" ?\n"), "a partial map:\n{killed}");
    run_ok(Command::new(&ddrescuelog).arg("-t").arg(share.join("killed.map")));
    let finished = |map: &str| {
        let o = run_ok(Command::new(&ddrescuelog).args(["-b2048", "-l+"]).arg(share.join(map)));
        String::from_utf8_lossy(&o.stdout).lines().count() as u64
    };
    let err = fs::read_to_string(share.join("int.err")).unwrap();
    assert_eq!(rc(&share, "int.rc"), 2, "{err}");
    let sectors = fs::metadata(&iso).unwrap().len() / 2048;
    let at_int = finished("int.map");
    assert!(at_int > finished("killed.map") && at_int < sectors, "{err}");
    let want = format!(
        "odix: interrupted: {at_int} of {sectors} sectors read; resume with the same command (map: {})\n",
        share.join("k.map").display()
    );
    assert!(err.ends_with(&want) && err.matches("interrupted").count() == 1, "{err}");
    assert_eq!(rc(&share, "k.rc"), 0);
    assert_eq!(fs::read(share.join("k.iso")).unwrap(), fs::read(&iso).unwrap());
}

#[test]
fn vm_ide_raw_data_failing_edc_is_reported() {
    let Some(vm) = vm_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(iso) = source_iso(dir.path()) else { return };
    let share = dir.path().join("share");
    fs::create_dir(&share).unwrap();
    in_vm(
        &vm,
        &iso,
        &share,
        &["--bus", "ide", "--bad-sectors", "500"],
        "$ODIX drive > $OUT/drive.txt; $ODIX rip --raw --retries 1 /dev/sr0 $OUT/ide.bin 2>$OUT/ide.err; \
         echo $? > $OUT/ide.rc",
    );
    assert!(fs::read_to_string(share.join("drive.txt")).unwrap().contains("QEMU DVD-ROM"));
    let err = fs::read_to_string(share.join("ide.err")).unwrap();
    assert!(err.contains("raw sectors fail EDC"), "{err}");
    assert_eq!(rc(&share, "ide.rc"), 2, "{err}");
    let log = fs::read_to_string(share.join("ide.log")).unwrap();
    assert!(log.contains("05/21/00"), "{log}");
    assert!(log.contains("  500 1 -"), "{log}");
    // ide-cd does not implement MODE SELECT(10): noted, and the rip works as without it.
    assert!(log.contains("refused to set its read retry count to 1") && log.contains("05/20/00"), "{log}");
    let raw = fs::read(share.join("ide.bin")).unwrap();
    let src = fs::read(&iso).unwrap();
    for (lba, s) in raw.chunks(2352).enumerate() {
        if lba == 500 {
            // Unreadable: a valid sync and header, zero data.
            assert_eq!(&s[..12], &[0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0]);
            assert!(s[16..].iter().all(|&b| b == 0));
        } else {
            assert_eq!(&s[16..2064], &src[lba * 2048..(lba + 1) * 2048], "LBA {lba}");
        }
    }
}

/// A two-session disc in the simulated drive: xorriso's first session, the gap between the sessions (lead-out
/// 6750, lead-in 4500, pregap 150, unreadable), and xorriso's second session written for the LBA it starts at.
/// The raw rip never touches the gap, stores the sessions one after the other, and its CUE sheet (REM SESSION) is
/// read back by odix (`ls --session 1/2`) and by chdman.
#[test]
fn multisession_raw_rip_places_the_sessions() {
    use odix_cdrip::disc::Disc;
    use odix_cdrip::drive::{DriveSource, ReadMode, SessionSource};
    use odix_cdrip::mmc::{C2Mode, Drive, Subchannel};
    use odix_cdrip::rip::{run as rip_run, Options, Ripper, Sink, Write};
    use odix_cdrip::sim::{Fault, SimDrive, SimTrack};

    let Some(xorriso) = require_tool("xorriso") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (t, name) in [("t1", "first.txt"), ("t2", "second.txt")] {
        fs::create_dir(d.join(t)).unwrap();
        fs::write(d.join(t).join(name), name.repeat(1000)).unwrap();
    }
    run_ok(
        Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(d.join("s1.iso")).arg(d.join("t1")),
    );
    let s1 = fs::read(d.join("s1.iso")).unwrap();
    let n1 = (s1.len() / 2048) as u32;
    let next = n1 + 6750 + 4500 + 150;
    run_ok(
        Command::new(&xorriso)
            .args(["-as", "mkisofs", "-quiet", "-R", "-C", &format!("0,{next}"), "-M"])
            .arg(d.join("s1.iso"))
            .arg("-o")
            .arg(d.join("s2.iso"))
            .arg(d.join("t2")),
    );
    let s2 = fs::read(d.join("s2.iso")).unwrap();
    let n2 = (s2.len() / 2048) as u32;
    let encode =
        |lba: u32, user: &[u8]| odix_cdrip::sector::encode_mode1(i64::from(lba), user.try_into().unwrap()).unwrap();
    let mut sectors: Vec<[u8; 2352]> = s1.chunks(2048).zip(0..).map(|(u, l)| encode(l, u)).collect();
    sectors.extend((n1..next).map(|_| [0u8; 2352]));
    sectors.extend(s2.chunks(2048).zip(next..).map(|(u, l)| encode(l, u)));
    let mut sim = SimDrive::from_raw(
        sectors.clone(),
        vec![SimTrack { start: 0, audio: false }, SimTrack { start: next, audio: false }],
    )
    .with_second_session(2, n1);
    for lba in n1..next {
        sim = sim.with_fault(lba, Fault::Unreadable);
    }
    let mut drive = Drive::new(sim, std::time::Duration::from_secs(5));
    let toc = drive.read_toc().unwrap();
    let full = drive.read_full_toc().unwrap();
    let disc = Disc::from_toc(&toc, Some(&full), &mut |_| Some(1)).unwrap();
    assert_eq!(disc.sessions.len(), 2);
    assert_eq!(disc.raw_sectors(), n1 + n2);

    struct Mem(Vec<u8>);
    impl Sink for Mem {
        fn write(&mut self, w: &Write) -> std::io::Result<()> {
            self.0[w.lba as usize * 2352..][..2352].copy_from_slice(&w.data);
            Ok(())
        }
        fn fill_unreadable(&mut self, _: u32) -> std::io::Result<()> {
            Ok(())
        }
        fn checkpoint(&mut self, _: &Ripper, _: bool) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Mem(vec![0; (n1 + n2) as usize * 2352]);
    let mode = ReadMode::Raw { c2: C2Mode::Pointers, subchannel: Subchannel::None };
    let mut ripper = Ripper::new(n1 + n2, 2352, None, Options::default().cluster(64)).unwrap();
    {
        let mut src = DriveSource::new(&mut drive, mode, Some(&disc));
        rip_run(&mut ripper, &mut SessionSource::new(&mut src, &disc), &mut sink).unwrap();
    }
    assert!(ripper.unfinished().is_empty());
    let sim = drive.transport_mut();
    assert!((n1..next).all(|l| sim.touches(l) == 0), "the gap was read");
    let want: Vec<u8> = sectors[..n1 as usize].iter().chain(&sectors[next as usize..]).flatten().copied().collect();
    assert!(sink.0 == want, "image differs");

    fs::write(d.join("ms.bin"), &sink.0).unwrap();
    let cue = disc.cue_sheet("ms.bin").to_text();
    fs::write(d.join("ms.cue"), &cue).unwrap();
    assert!(cue.contains("REM SESSION 02"), "{cue}");
    assert!(!cue.contains("PREGAP"), "the standard gap is implied: {cue}");
    let ls = |session: &str| {
        let o = run_ok(Command::new(ODIX).args(["ls", "--session", session]).arg(d.join("ms.cue")));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let one = ls("1");
    assert!(one.contains("first.txt") && !one.contains("second.txt"), "{one}");
    let two = ls("2");
    assert!(two.contains("first.txt") && two.contains("second.txt"), "{two}\n{cue}");
    let o = run_ok(Command::new(ODIX).args(["cat", "--session", "2"]).arg(d.join("ms.cue")).arg("/second.txt"));
    assert_eq!(o.stdout, "second.txt".repeat(1000).into_bytes());
    // The sheet read back as a disc: rip --raw of it gives the same BIN and the same sheet.
    let o = run(Command::new(ODIX).args(["rip", "--raw"]).arg(d.join("ms.cue")).arg(d.join("again.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("again.bin")).unwrap() == sink.0, "again.bin differs from ms.bin");
    assert_eq!(fs::read_to_string(d.join("again.cue")).unwrap(), cue.replace("ms.bin", "again.bin"));

    // bchunk splits the BIN at the sheet's INDEX 01 positions into one ISO per track: the two xorriso sessions.
    if let Some(bchunk) = require_tool("bchunk") {
        run_ok(Command::new(&bchunk).current_dir(d).args(["ms.bin", "ms.cue", "bc"]));
        assert!(fs::read(d.join("bc01.iso")).unwrap() == s1, "bchunk track 1 differs from session 1");
        assert!(fs::read(d.join("bc02.iso")).unwrap() == s2, "bchunk track 2 differs from session 2");
    }
    if let Some(chdman) = require_tool("chdman") {
        run_ok(Command::new(&chdman).arg("createcd").arg("-i").arg(d.join("ms.cue")).arg("-o").arg(d.join("ms.chd")));
        let o = run_ok(Command::new(&chdman).args(["info", "-v", "-i"]).arg(d.join("ms.chd")));
        let info = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(info.contains(&format!("TRACK:1 TYPE:MODE1_RAW SUBTYPE:NONE FRAMES:{n1} ")), "{info}");
        assert!(info.contains(&format!("TRACK:2 TYPE:MODE1_RAW SUBTYPE:NONE FRAMES:{n2} ")), "{info}");
    }
}

/// `odix rip IN OUT` that fails, and the one line it says: nothing may be written.
fn rip_fails(dir: &Path, args: &[&std::ffi::OsStr]) -> String {
    let before: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    let o = run(Command::new(ODIX).arg("rip").args(args));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let after: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "{args:?} wrote files");
    err
}

#[test]
fn rip_refuses_what_is_not_a_disc_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let folder = d.join("DIR");
    fs::create_dir(&folder).unwrap();
    let out = d.join("out.iso");
    let err = rip_fails(d, &[folder.as_os_str(), out.as_os_str()]);
    assert_eq!(err, format!("odix: {}: a directory, not a disc or image\n", folder.display()));
    // An empty source: /dev/null and an empty file.
    let err = rip_fails(d, &["/dev/null".as_ref(), out.as_os_str()]);
    assert!(err.contains("/dev/null: empty (0 bytes)"), "{err}");
    let empty = d.join("empty.img");
    fs::write(&empty, b"").unwrap();
    let err = rip_fails(d, &[empty.as_os_str(), out.as_os_str()]);
    assert!(err.contains("empty.img: empty (0 bytes)"), "{err}");
    let fifo = d.join("fifo");
    run_ok(Command::new("mkfifo").arg(&fifo));
    let err = rip_fails(d, &[fifo.as_os_str(), out.as_os_str()]);
    assert!(err.contains("fifo: a pipe"), "{err}");
    // Outputs that cannot be written are found before reading.
    let src = d.join("src.img");
    fs::write(&src, vec![1u8; 8 * 2048]).unwrap();
    let err = rip_fails(d, &[src.as_os_str(), folder.as_os_str()]);
    assert!(err.contains(&format!("{}: a directory; name the image file", folder.display())), "{err}");
    let missing = d.join("no/such/out.iso");
    let err = rip_fails(d, &[src.as_os_str(), missing.as_os_str()]);
    assert!(err.contains("the folder") && err.contains("no/such"), "{err}");
    let err = rip_fails(d, &[src.as_os_str(), src.as_os_str()]);
    assert!(err.contains("is the input"), "{err}");
    let err = rip_fails(d, &["--raw".as_ref(), src.as_os_str(), d.join("x.cue").as_os_str()]);
    assert!(err.contains("writes its .cue beside the image"), "{err}");
    // --raw of a file that is neither 2048- nor 2352-byte sectors.
    fs::write(&src, vec![1u8; 1000]).unwrap();
    let err = rip_fails(d, &["--raw".as_ref(), src.as_os_str(), d.join("x.bin").as_os_str()]);
    assert!(err.contains("not a whole number of 2352-byte raw sectors"), "{err}");
}

/// A small ISO from xorriso, and its sectors as Mode 1 raw sectors.
fn small_iso(dir: &Path) -> Option<(Vec<u8>, Vec<u8>)> {
    let xorriso = require_tool("xorriso")?;
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("a.txt"), "hello\n").unwrap();
    fs::write(tree.join("b.bin"), (0..300_000u32).map(|i| (i * 7 / 3) as u8).collect::<Vec<u8>>()).unwrap();
    let iso = dir.join("s.iso");
    run_ok(Command::new(xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(&tree));
    let iso = fs::read(&iso).unwrap();
    let raw = iso
        .chunks(2048)
        .zip(0..)
        .flat_map(|(u, l)| odix_cdrip::sector::encode_mode1(l, u.try_into().unwrap()).unwrap())
        .collect();
    Some((iso, raw))
}

/// The files bchunk splits `bin` + `cue` into (one per track: `.iso` for data, `.cdr` for audio), by name.
fn bchunk_tracks(bchunk: &Path, dir: &Path, bin: &str, cue: &str, base: &str) -> Vec<(String, Vec<u8>)> {
    run_ok(Command::new(bchunk).current_dir(dir).args([bin, cue, base]));
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(base))
        .map(|p| (p.file_name().unwrap().to_string_lossy()[base.len()..].to_string(), fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

/// `chdman info`'s SHA1 of the CHD made from a CUE sheet: it covers every track's data and layout.
fn chd_sha1(chdman: &Path, cue: &Path) -> String {
    let chd = cue.with_extension("chd");
    run_ok(Command::new(chdman).args(["createcd", "-f", "-i"]).arg(cue).arg("-o").arg(&chd));
    let o = run_ok(Command::new(chdman).args(["info", "-i"]).arg(&chd));
    let info = String::from_utf8_lossy(&o.stdout).into_owned();
    info.lines().find(|l| l.starts_with("SHA1:")).unwrap_or_else(|| panic!("{info}")).to_string()
}

/// A CUE sheet is read as the disc it describes: `rip --raw` writes its raw sectors (a data track and two audio
/// tracks, one with a stored pregap) and a sheet of its own; bchunk splits both into the same tracks, the data
/// track being xorriso's ISO, and chdman makes the same CHD of both. A pregap the sheet declares but does not
/// store (PREGAP) is read as silence. A rip without --raw writes the data track's ISO.
#[test]
fn rip_reads_a_cue_sheet_as_its_disc() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some((iso, data)) = small_iso(d) else { return };
    let n = (iso.len() / 2048) as u32;
    let audio: Vec<u8> = (0..375 * 2352u32).map(|i| (i % 251) as u8).collect();
    let msf = |f: u32| format!("{:02}:{:02}:{:02}", f / 4500, f / 75 % 60, f % 75);
    fs::write(d.join("one.bin"), [data.clone(), audio.clone()].concat()).unwrap();
    let sheet = format!(
        "FILE \"one.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 00 {}\n    \
         INDEX 01 {}\n  TRACK 03 AUDIO\n    INDEX 01 {}\n",
        msf(n),
        msf(n + 150),
        msf(n + 300)
    );
    fs::write(d.join("one.cue"), sheet).unwrap();
    let o = run(Command::new(ODIX).arg("rip").arg("--raw").arg(d.join("one.cue")).arg(d.join("r.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("r.bin")).unwrap() == fs::read(d.join("one.bin")).unwrap(), "r.bin differs");
    let cue = fs::read_to_string(d.join("r.cue")).unwrap();
    assert!(cue.contains("FILE \"r.bin\" BINARY") && cue.contains("TRACK 03 AUDIO"), "{cue}");
    let log = fs::read_to_string(d.join("r.log")).unwrap();
    assert!(log.contains("<rom name=\"r.bin\"") && log.contains("<rom name=\"r.cue\""), "{log}");
    if let Some(bchunk) = require_tool("bchunk") {
        let ours = bchunk_tracks(&bchunk, d, "r.bin", "r.cue", "bc-ours");
        let theirs = bchunk_tracks(&bchunk, d, "one.bin", "one.cue", "bc-src");
        assert_eq!(ours.len(), 3);
        assert!(ours == theirs, "bchunk splits the rip and its source differently");
        assert!(ours[0].0 == "01.iso" && ours[0].1 == iso, "track 1 is not xorriso's ISO");
    }
    if let Some(chdman) = require_tool("chdman") {
        assert_eq!(chd_sha1(&chdman, &d.join("r.cue")), chd_sha1(&chdman, &d.join("one.cue")));
    }

    // Two files, the second with an unstored PREGAP: 150 sectors of silence before its INDEX 01.
    fs::write(d.join("d.bin"), &data).unwrap();
    fs::write(d.join("a.bin"), &audio).unwrap();
    fs::write(
        d.join("two.cue"),
        "FILE \"d.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n\
         FILE \"a.bin\" BINARY\n  TRACK 02 AUDIO\n    PREGAP 00:02:00\n    INDEX 01 00:00:00\n",
    )
    .unwrap();
    let o = run(Command::new(ODIX).arg("rip").arg("--raw").arg(d.join("two.cue")).arg(d.join("t.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let want = [data.clone(), vec![0; 150 * 2352], audio.clone()].concat();
    assert!(fs::read(d.join("t.bin")).unwrap() == want, "t.bin differs");
    let cue = fs::read_to_string(d.join("t.cue")).unwrap();
    assert!(cue.contains(&format!("INDEX 00 {}\n    INDEX 01 {}", msf(n), msf(n + 150))), "{cue}");
    if let Some(bchunk) = require_tool("bchunk") {
        let t = bchunk_tracks(&bchunk, d, "t.bin", "t.cue", "bc-two");
        assert!(t[0].1 == iso && t[1].1 == audio, "bchunk's tracks of t.bin");
    }

    // Without --raw: the data track's user data, which is the ISO; the audio tracks are named.
    let o = run(Command::new(ODIX).arg("rip").arg(d.join("one.cue")).arg(d.join("c.iso")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("audio tracks have no 2048-byte sectors"));
    assert!(fs::read(d.join("c.iso")).unwrap() == iso, "c.iso differs from xorriso's ISO");
}

/// A raw rip of a plain file writes the CUE sheet of its one track: an ISO becomes Mode 1 raw sectors that bchunk
/// turns back into the ISO and chdman takes, and a file of raw sectors is copied with a sheet saying so.
#[test]
fn raw_rip_of_a_plain_file_writes_its_cue_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some((iso, data)) = small_iso(d) else { return };
    let o = run(Command::new(ODIX).arg("rip").arg("--raw").arg(d.join("s.iso")).arg(d.join("q.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("q.bin")).unwrap() == data, "q.bin differs");
    let cue = fs::read_to_string(d.join("q.cue")).unwrap();
    assert_eq!(cue, "FILE \"q.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n");
    if let Some(bchunk) = require_tool("bchunk") {
        let t = bchunk_tracks(&bchunk, d, "q.bin", "q.cue", "bc-q");
        assert!(t.len() == 1 && t[0].1 == iso, "bchunk's track of q.bin is not the ISO");
    }
    if let Some(chdman) = require_tool("chdman") {
        chd_sha1(&chdman, &d.join("q.cue"));
    }
    // Raw sectors in, the same out, with a sheet.
    let o = run(Command::new(ODIX).arg("rip").arg("--raw").arg(d.join("q.bin")).arg(d.join("y.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("y.bin")).unwrap() == data, "y.bin differs");
    assert!(fs::read_to_string(d.join("y.cue")).unwrap().contains("TRACK 01 MODE1/2352"));
}

/// SIGINT stops a rip after the current read: one line says how far it got, the exit status is 2, and the image
/// with its map is the state a rerun resumes from (ddrescuelog reads as many finished sectors as the line says,
/// and the image holds them).
#[test]
fn interrupted_rip_says_so_and_leaves_its_map() {
    use std::os::unix::fs::MetadataExt;
    let Some(ddrescuelog) = require_tool("ddrescuelog") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 1 GiB, sparse, with a marked sector every 4 MiB: far more than is read before the signal lands.
    let src = d.join("src.img");
    let f = fs::File::create(&src).unwrap();
    f.set_len(1 << 30).unwrap();
    for i in 0..256u64 {
        use std::os::unix::fs::FileExt;
        f.write_all_at(&[(i % 250) as u8 + 1; 2048], i << 22).unwrap();
    }
    drop(f);
    let out = d.join("i.iso");
    let child = Command::new(ODIX).arg("rip").arg(&src).arg(&out).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let t0 = std::time::Instant::now();
    while fs::metadata(&out).map_or(true, |m| m.blocks() == 0) {
        assert!(t0.elapsed().as_secs() < 30, "the rip wrote nothing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    run_ok(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    let line = err.lines().find(|l| l.starts_with("odix: interrupted: ")).unwrap_or_else(|| panic!("{err}"));
    assert_eq!(err.lines().count(), 1, "{err}");
    let read: u64 = line["odix: interrupted: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(line.ends_with(&format!(
        "of 524288 sectors read; resume with the same command (map: {})",
        d.join("i.map").display()
    )));
    assert!(read > 0 && read < 524288, "{line}");
    let map = d.join("i.map");
    let done = run_ok(Command::new(&ddrescuelog).args(["-b2048", "-l+"]).arg(&map));
    assert_eq!(String::from_utf8_lossy(&done.stdout).lines().count() as u64, read, "{line}");
    assert_eq!(run(Command::new(&ddrescuelog).arg("-D").arg(&map)).status.code(), Some(1), "the map is not done");
    let image = fs::File::open(&out).unwrap();
    for i in 0..read.div_ceil(2048) {
        use std::os::unix::fs::FileExt;
        let mut b = [0u8];
        image.read_exact_at(&mut b, i << 22).unwrap();
        assert_eq!(b[0], (i % 250) as u8 + 1, "marker {i}");
    }
    assert!(fs::read_to_string(d.join("i.log")).unwrap().contains("rip interrupted"));
}

/// A CloneCD image is read as its disc too: a Mode 1 track and an audio track whose INDEX 00 (LBA 250) the control
/// file gives; the raw rip is the .img byte for byte, and chdman reads the sheet written with it as that disc.
#[test]
fn rip_reads_a_clonecd_image_as_its_disc() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut img: Vec<u8> = (0..250u32)
        .flat_map(|l| odix_cdrip::sector::encode_mode1(l.into(), &[(l % 200) as u8; 2048]).unwrap())
        .collect();
    img.extend((0..150 * 2352u32).map(|i| (i % 253) as u8));
    fs::write(d.join("c.img"), &img).unwrap();
    let entry = |n: u32, point: &str, control: u32, plba: u32| {
        format!("[Entry {n}]\nSession=1\nPoint={point}\nADR=0x01\nControl=0x{control:02x}\nPLBA={plba}\n")
    };
    let ccd = format!(
        "[CloneCD]\nVersion=3\n[Disc]\nTocEntries=4\nSessions=1\nDataTracksScrambled=0\n[Session 1]\nPreGapMode=1\n\
         {}{}{}{}[TRACK 1]\nMODE=1\nINDEX 1=0\n[TRACK 2]\nMODE=0\nINDEX 0=250\nINDEX 1=300\n",
        entry(0, "0xa0", 4, 0),
        entry(1, "0xa2", 0, 400),
        entry(2, "0x01", 4, 0),
        entry(3, "0x02", 0, 300)
    );
    fs::write(d.join("c.ccd"), ccd).unwrap();
    let o = run(Command::new(ODIX).args(["rip", "--raw"]).arg(d.join("c.ccd")).arg(d.join("r.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("r.bin")).unwrap() == img, "r.bin differs from c.img");
    let cue = fs::read_to_string(d.join("r.cue")).unwrap();
    assert!(cue.contains("TRACK 02 AUDIO\n    INDEX 00 00:03:25\n    INDEX 01 00:04:00"), "{cue}");
    if let Some(chdman) = require_tool("chdman") {
        run_ok(
            Command::new(&chdman).args(["createcd", "-f", "-i"]).arg(d.join("r.cue")).arg("-o").arg(d.join("r.chd")),
        );
        let o = run_ok(Command::new(&chdman).args(["info", "-v", "-i"]).arg(d.join("r.chd")));
        let info = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(info.contains("TRACK:1 TYPE:MODE1_RAW SUBTYPE:NONE FRAMES:250 PREGAP:0"), "{info}");
        assert!(info.contains("TRACK:2 TYPE:AUDIO SUBTYPE:NONE FRAMES:150 PREGAP:50"), "{info}");
    }
    // Without --raw: the data track's user data.
    let o = run(Command::new(ODIX).arg("rip").arg(d.join("c.ccd")).arg(d.join("c.iso")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let want: Vec<u8> = (0..250u32).flat_map(|l| [(l % 200) as u8; 2048]).collect();
    assert!(fs::read(d.join("c.iso")).unwrap() == want, "c.iso differs");
}

/// Sectors a sheet stores before LBA 0 (an INDEX 00 on a data track 1) are not on the disc a drive reads: the rip
/// leaves them out and says how many. On an audio track 1 they are hidden track one audio, from LBA 0 on: kept.
#[test]
fn rip_names_what_lies_before_lba_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if let Some((_, raw)) = small_iso(d) {
        let mut stored = vec![0u8; 150 * 2352];
        stored.extend_from_slice(&raw);
        fs::write(d.join("p.bin"), &stored).unwrap();
        fs::write(
            d.join("p.cue"),
            "FILE \"p.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 00 00:00:00\n    INDEX 01 00:02:00\n",
        )
        .unwrap();
        let o = run(Command::new(ODIX).args(["rip", "--raw"]).arg(d.join("p.cue")).arg(d.join("r.bin")));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(0), "{err}");
        assert!(err.contains("track 01: the 150 sectors stored before LBA 0"), "{err}");
        assert!(fs::read(d.join("r.bin")).unwrap() == raw, "r.bin is not the sectors from LBA 0");
        assert!(fs::read_to_string(d.join("r.log")).unwrap().contains("stored before LBA 0"));
    }
    let audio: Vec<u8> = (0..300 * 2352u32).map(|i| (i % 249) as u8).collect();
    fs::write(d.join("a.bin"), &audio).unwrap();
    fs::write(
        d.join("a.cue"),
        "FILE \"a.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 00 00:00:00\n    INDEX 01 00:02:00\n",
    )
    .unwrap();
    let o = run(Command::new(ODIX).args(["rip", "--raw"]).arg(d.join("a.cue")).arg(d.join("h.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("h.bin")).unwrap() == audio, "h.bin is not the whole track with its pregap");
    let cue = fs::read_to_string(d.join("h.cue")).unwrap();
    assert!(cue.contains("INDEX 00 00:00:00") && cue.contains("INDEX 01 00:02:00"), "{cue}");

    // MOTOROLA: big-endian samples, written little-endian as in a BINARY file.
    let swapped: Vec<u8> = audio.chunks(2).flat_map(|p| [p[1], p[0]]).collect();
    fs::write(d.join("m.bin"), &swapped).unwrap();
    fs::write(d.join("m.cue"), "FILE \"m.bin\" MOTOROLA\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n").unwrap();
    let o = run(Command::new(ODIX).args(["rip", "--raw"]).arg(d.join("m.cue")).arg(d.join("m2.bin")));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("m2.bin")).unwrap() == audio, "MOTOROLA samples not swapped");
    // WAVE: refused by name (a valid 44.1 kHz 16-bit stereo file, which the sheet reads).
    let n = 10 * 2352u32;
    let mut wav = [&b"RIFF"[..], &(36 + n).to_le_bytes(), b"WAVEfmt ", &16u32.to_le_bytes(), &[1, 0, 2, 0]].concat();
    wav.extend(
        [&44100u32.to_le_bytes()[..], &176_400u32.to_le_bytes(), &[4, 0, 16, 0], b"data", &n.to_le_bytes()].concat(),
    );
    wav.resize(44 + n as usize, 0);
    fs::write(d.join("w.wav"), wav).unwrap();
    fs::write(d.join("w.cue"), "FILE \"w.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n").unwrap();
    let err = rip_fails(d, &["--raw".as_ref(), d.join("w.cue").as_os_str(), d.join("w.bin").as_os_str()]);
    assert!(err.contains("w.wav is a WAVE file, which rip cannot read sectors from"), "{err}");
}

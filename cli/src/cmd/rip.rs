//! The drive commands: `rip`, `drive`, `toc`.
//!
//! `rip` reads a disc (or a raw image as the disc it describes, or any file or block device) into an image with
//! [`odix::rip`], keeping a GNU ddrescue map beside it so that a second run resumes. Exit status: 0 the image is
//! complete, 2 it is not (bad sectors remain, or the rip was interrupted: the partial image and its map are the
//! state a rerun resumes from), 1 an error stopped it before or while reading (nothing is written when the input
//! or the output is refused).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use odix::cancel::Cancel;
use odix::rip::{DriveReport, Input, RipEvent, RipOptions, RipOutcome, RipProgress, RipReport, Speed};
use odix::rip_audio::AudioFiles;
use odix::track_files::AudioFormat;
use odix_cdrip::mmc;
use serde_json::json;

use crate::EXIT_PARTIAL;

/// `odix rip [DEVICE] OUT`.
#[derive(clap::Args, Debug)]
#[command(override_usage = "odix rip [OPTIONS] [DEVICE] OUT")]
pub struct RipArgs {
    /// `[DEVICE] OUT`: the drive (default: the first optical drive), a `.cue` or `.ccd` read as the disc it
    /// describes, or a regular file or block device read with the same map and retries; then the image to write
    /// (`.iso`, or `.bin` with `--raw`, which also writes `OUT.cue`).
    #[arg(value_name = "PATH", num_args = 1..=2, required_unless_present = "find_offset")]
    pub paths: Vec<PathBuf>,
    /// Read 2352-byte raw sectors of every track (audio included) into OUT.bin, with OUT.cue beside it.
    #[arg(long)]
    pub raw: bool,
    /// With --raw: also read the raw P–W subchannel into OUT.sub (96 bytes a sector).
    #[arg(long, requires = "raw")]
    pub subchannel: bool,
    /// Passes over the sectors that still fail after scraping.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub retries: u32,
    /// Scrape and retry from the last sector towards the first.
    #[arg(long)]
    pub reverse: bool,
    /// The rescue map (GNU ddrescue format); default OUT with the extension `.map`.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Read speed (SET CD SPEED), as a multiple of 1× (CD 176.4 kB/s, DVD 1385 kB/s); `max` for the fastest. A
    /// `.cue`/`.ccd` read as its disc is then read at that drive's pace (75 × X sectors a second), a simulation.
    #[arg(long, value_name = "X")]
    pub speed: Option<String>,
    /// Do not trim the edges of failed areas sector by sector (leave them to scraping).
    #[arg(long)]
    pub no_trim: bool,
    /// Do not read the non-scraped sectors one by one (nor retry them).
    #[arg(long)]
    pub no_scrape: bool,
    /// Seconds one command may take before it counts as failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Do not compute the CRC32/MD5/SHA-1 of the image and its tracks for the log.
    #[arg(long)]
    pub no_hash: bool,
    /// Sectors per read in the copy pass (default: as many as the drive's largest transfer holds, up to 2 MiB).
    #[arg(long, value_name = "N", hide = true)]
    pub cluster: Option<u32>,
    /// With --raw: the drive's read offset in samples, with the sign the AccurateRip drive list gives it (see
    /// `odix drive --offsets`): audio tracks are written as the pressing holds them.
    #[arg(long, value_name = "SAMPLES", allow_hyphen_values = true, default_value_t = 0, requires = "raw")]
    pub read_offset: i32,
    /// With --raw: read audio sectors once, judged by the drive's C2 pointers alone (default: twice, compared).
    #[arg(long, requires = "raw")]
    pub single_read: bool,
    /// Find the drive's read offset instead of ripping: try every offset within ±N samples (default 2940) against
    /// the saved AccurateRip response of the disc in the drive (--accuraterip); `odix rip --find-offset
    /// --accuraterip dBAR-….bin [DEVICE]`.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "2940", requires = "accuraterip")]
    pub find_offset: Option<u32>,
    /// With --raw: also write each track to its own file in the folder DIR (made if missing), encoded while the
    /// disc is read: audio tracks as `wav` or `flac` (tagged from the CD-Text), data tracks as BIN, with a CUE
    /// sheet naming them (as `odix convert --audio` writes them). A track with sectors not read well gets no file.
    #[arg(long, num_args = 2, value_names = ["FORMAT", "DIR"], requires = "raw")]
    pub audio: Option<Vec<PathBuf>>,
    /// With --find-offset: the disc's AccurateRip response (`dBAR-….bin`), saved beforehand.
    #[arg(long, value_name = "FILE", requires = "find_offset")]
    pub accuraterip: Option<PathBuf>,
    /// With --find-offset: the disc's CTDB response (the XML of a lookup), saved beforehand; its track CRCs are
    /// searched too.
    #[arg(long, value_name = "FILE", requires = "find_offset")]
    pub ctdb: Option<PathBuf>,
}

/// `odix drive [DEVICE]`.
#[derive(clap::Args, Debug)]
pub struct DriveArgs {
    /// The drive (default: the first optical drive).
    pub device: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// A local copy of AccurateRip's drive offset list (DriveOffsets.bin): print the drive's read offset from it.
    #[arg(long, value_name = "FILE")]
    pub offsets: Option<PathBuf>,
}

/// `odix toc [DEVICE]`.
#[derive(clap::Args, Debug)]
pub struct TocArgs {
    /// The drive (default: the first optical drive).
    pub device: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The drive's read offset as `odix drive --offsets` found it: the list's entry, or `None` when the list does not
/// name the drive.
type OffsetLookup = Option<Option<odix_cdrip::offsets::DriveOffset>>;

fn write_drive_report(
    out: &mut dyn Write,
    path: &Path,
    r: &DriveReport,
    offset: &OffsetLookup,
    as_json: bool,
) -> io::Result<()> {
    let profiles = r.profiles();
    let c2 = r.c2_pointers();
    if as_json {
        let v = json!({
            "device": path.display().to_string(),
            "vendor": r.inquiry.vendor,
            "model": r.inquiry.product,
            "firmware": r.inquiry.revision,
            "device_type": r.inquiry.device_type,
            "current_profile": r.config.as_ref().map(|c| mmc::profile_name(c.current_profile)),
            "profiles": profiles.iter().map(|(p, cur)| json!({"code": p, "name": mmc::profile_name(*p), "current": cur})).collect::<Vec<_>>(),
            "cd_read_feature": r.config.as_ref().is_some_and(|c| c.cd_read.is_some()),
            "c2_pointers": c2.unwrap_or(false),
            "read_cd": match &r.read_cd { Some(Ok(b)) => json!(b), Some(Err(e)) => json!(e), None => json!(null) },
            "read_retry_count": r.retry_count,
            "read_offset": offset.as_ref().map(|o| o.as_ref().map(|d| json!({
                "samples": d.offset, "name": d.name, "submissions": d.submissions,
            }))),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        writeln!(out, "Device:       {}", path.display())?;
        writeln!(out, "Vendor:       {}", r.inquiry.vendor)?;
        writeln!(out, "Model:        {}", r.inquiry.product)?;
        writeln!(out, "Firmware:     {}", r.inquiry.revision)?;
        let list: Vec<String> = profiles
            .iter()
            .map(|(p, cur)| format!("{}{}", mmc::profile_name(*p), if *cur { " (current)" } else { "" }))
            .collect();
        writeln!(out, "Profiles:     {}", if list.is_empty() { "(none reported)".into() } else { list.join(", ") })?;
        let c2 = match c2 {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown (no CD Read feature reported)",
        };
        writeln!(out, "C2 pointers:  {c2}")?;
        let raw = match &r.read_cd {
            Some(Ok(true)) => "yes (READ CD)".to_string(),
            Some(Ok(false)) => "no (READ CD not implemented)".to_string(),
            Some(Err(e)) => format!("unknown: {e}"),
            None => "unknown (no disc)".to_string(),
        };
        writeln!(out, "Raw reading:  {raw}")?;
        if let Some(n) = r.retry_count {
            writeln!(out, "Read retries: {n} (drive setting)")?;
        }
        match offset {
            Some(Some(d)) => writeln!(
                out,
                "Read offset:  {:+} samples (drive offset list: \"{}\", {} submissions)",
                d.offset, d.name, d.submissions
            )?,
            Some(None) => writeln!(out, "Read offset:  unknown (the drive offset list does not name this drive)")?,
            None => {}
        }
        Ok(())
    }
}

/// `odix drive`.
pub fn drive(args: DriveArgs) -> Result<u8> {
    let (path, mut drive) = odix::rip::open_drive(args.device.as_deref(), Duration::from_secs(30))?;
    let report = odix::rip::drive_report(&mut drive)?;
    let offset = args.offsets.as_deref().map(|f| odix::rip::drive_offset(f, &report.inquiry)).transpose()?;
    let mut out = io::stdout().lock();
    write_drive_report(&mut out, &path, &report, &offset, args.json)?;
    Ok(0)
}

/// `odix toc`.
pub fn toc(args: TocArgs) -> Result<u8> {
    let (_, mut drive) = odix::rip::open_drive(args.device.as_deref(), Duration::from_secs(30))?;
    odix::rip::wait_ready(&mut drive)?;
    let toc = odix::rip::read_toc(&mut drive)?;
    let mut out = io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&toc.to_json()).unwrap_or_default())?;
    } else {
        toc.write_text(&mut out)?;
    }
    Ok(0)
}

/// A signal stops the rip after the current read: the map is saved and the rip resumes from it. A second one (a
/// read stuck on a bad sector can take minutes) ends it at once, leaving the map of the last save.
fn stop_on_signals() -> Result<Cancel> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let stop = Cancel::new();
    let seen = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(sig, i32::from(EXIT_PARTIAL), Arc::clone(&seen))
            .context("installing the signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&seen)).context("installing the signal handler")?;
    }
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing the signal handler")?;
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                flag.cancel();
            }
        })
        .context("starting the signal thread")?;
    Ok(stop)
}

/// `odix rip --find-offset N --accuraterip FILE [DEVICE]`.
fn find_offset(args: &RipArgs, range: u32) -> Result<u8> {
    let device = match args.paths.as_slice() {
        [] => None,
        [dev] => Some(dev.clone()),
        _ => bail!("usage: odix rip --find-offset [N] --accuraterip FILE [DEVICE]"),
    };
    let input = match device {
        Some(p) => Input::Path(p),
        None => Input::FirstDrive,
    };
    let response = args.accuraterip.as_deref().context("--find-offset needs --accuraterip FILE")?;
    let timeout = Duration::from_secs_f64(args.timeout.max(1.0));
    let r = odix::rip::find_offset_with_ctdb(input, response, args.ctdb.as_deref(), range, timeout)?;
    let mut out = io::stdout().lock();
    write_find_offset(&mut out, &r)?;
    let ctdb_found = r.ctdb.as_ref().is_some_and(|c| !c.is_empty());
    Ok(if r.matches.is_empty() && !ctdb_found { EXIT_PARTIAL } else { 0 })
}

fn write_find_offset(out: &mut dyn Write, r: &odix::rip::FindOffsetReport) -> io::Result<()> {
    writeln!(out, "Drive: {}", r.drive)?;
    writeln!(out, "Disc:  AccurateRip {} (track {} compared, offsets -{}..+{})", r.disc_id, r.track, r.range, r.range)?;
    for n in &r.notes {
        writeln!(out, "Note:  {n}")?;
    }
    match r.matches.first() {
        None => writeln!(out, "No offset within ±{} samples gives an AccurateRip CRC in the response", r.range),
        Some(_) => {
            for m in &r.matches {
                let (found, other) = if m.v2_matched {
                    (format!("v2 {:08x}", m.v2), format!("v1 {:08x}", m.v1))
                } else {
                    (format!("v1 {:08x}", m.v1), format!("v2 {:08x}", m.v2))
                };
                writeln!(
                    out,
                    "Read offset {:+}: AccurateRip {found} ({other}) in the response, confidence {}",
                    m.offset, m.confidence
                )?;
            }
            Ok(())
        }
    }?;
    match r.ctdb.as_deref() {
        None => Ok(()),
        Some([]) => writeln!(out, "No offset within ±{} samples gives a CTDB CRC in the response", r.range),
        Some(found) => {
            for m in found {
                writeln!(
                    out,
                    "Read offset {:+}: CTDB {:08x} in the response, confidence {}",
                    m.offset, m.crc, m.confidence
                )?;
            }
            Ok(())
        }
    }
}

/// `odix rip`.
pub fn rip(args: RipArgs) -> Result<u8> {
    if let Some(range) = args.find_offset {
        return find_offset(&args, range);
    }
    let (device, out) = match args.paths.as_slice() {
        [out] => (None, out.clone()),
        [dev, out] => (Some(dev.clone()), out.clone()),
        _ => bail!("usage: odix rip [DEVICE] OUT"),
    };
    if args.timeout.is_nan() || args.timeout <= 0.0 {
        bail!("--timeout must be positive");
    }
    let speed = args.speed.as_deref().map(Speed::parse).transpose()?;
    let audio_files = match args.audio.as_deref() {
        Some([format, dir]) => {
            let f = format.to_str().and_then(AudioFormat::parse);
            let format = f.with_context(|| format!("--audio {}: wav or flac", format.display()))?;
            Some(AudioFiles { format, dir: dir.clone() })
        }
        Some(_) => bail!("usage: --audio FORMAT DIR"),
        None => None,
    };
    let opts = RipOptions {
        map: args.map.clone(),
        raw: args.raw,
        subchannel: args.subchannel,
        retries: args.retries,
        reverse: args.reverse,
        trim: !args.no_trim,
        scrape: !args.no_scrape,
        speed,
        timeout: Duration::from_secs_f64(args.timeout),
        hash: !args.no_hash,
        cluster: args.cluster,
        read_offset: args.read_offset,
        verify_audio: !args.single_read,
        audio_files,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        ..RipOptions::new(out)
    };
    let input = match device {
        Some(p) => Input::Path(p),
        None => Input::FirstDrive,
    };
    let stop = stop_on_signals()?;
    let mut bar: Option<indicatif::ProgressBar> = None;
    let report = odix::rip::rip(input, &opts, &stop, &mut |e| match e {
        RipEvent::Started { sectors } => {
            let b = indicatif::ProgressBar::new(u64::from(sectors));
            b.set_style(progress_style());
            bar = Some(b);
        }
        RipEvent::Progress(p) => {
            if let Some(b) = &bar {
                show_progress(b, &p);
            }
        }
        RipEvent::ReadDone => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
        }
        RipEvent::Warning(w) => match &bar {
            Some(b) => b.suspend(|| eprintln!("odix: warning: {w}")),
            None => eprintln!("odix: warning: {w}"),
        },
    });
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    let report = report?;
    match report.outcome {
        RipOutcome::Interrupted => {
            eprintln!(
                "odix: interrupted: {} of {} sectors read; resume with the same command (map: {})",
                report.good,
                report.sectors,
                report.map.display()
            );
            Ok(EXIT_PARTIAL)
        }
        RipOutcome::Complete | RipOutcome::Incomplete => {
            let mut err = io::stderr().lock();
            Summary(&report).write_to(&mut err)?;
            if report.outcome == RipOutcome::Complete {
                Ok(0)
            } else {
                for e in &report.audio_errors {
                    writeln!(
                        err,
                        "odix: track {}: samples {}..{} never read the same twice",
                        e.track,
                        e.first_sample,
                        e.first_sample.saturating_add(i64::try_from(e.samples).unwrap_or(i64::MAX))
                    )?;
                }
                writeln!(
                    err,
                    "odix: {} of {} sectors unreadable (see {}); the image is incomplete",
                    report.bad,
                    report.sectors,
                    report.log.display()
                )?;
                Ok(EXIT_PARTIAL)
            }
        }
    }
}

/// The rip's progress display, two lines that fit 80 columns: the bar, percentage, elapsed time, ETA and speed
/// (the prefix, cut to 11 characters: 79 in all); then the phase and sector counts (the message), cut to the
/// terminal's width.
fn progress_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(
        "{bar:40} {percent:>3}% {elapsed_precise} ETA {eta_precise} {prefix:>11!}\n{wide_msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
}

/// Shows the rip's state on `bar` (styled by [`progress_style`]).
fn show_progress(bar: &indicatif::ProgressBar, p: &RipProgress) {
    let secs = p.elapsed.as_secs_f64().max(0.001);
    bar.set_prefix(format!("{:.1} MB/s", p.bytes_read as f64 / secs / 1e6));
    bar.set_message(format!(
        "{} pass {} at LBA {} | good {} bad {} pending {} untried {}",
        p.phase, p.pass, p.lba, p.good, p.bad, p.pending, p.untried
    ));
    bar.set_position(p.good);
}

/// What a finished rip reports on standard error.
struct Summary<'a>(&'a RipReport);

impl Summary<'_> {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        let r = self.0;
        let secs = r.elapsed.as_secs_f64();
        let size = u64::from(r.sectors).saturating_mul(u64::from(r.sector_size));
        writeln!(
            w,
            "odix: wrote {}: {} sectors of {} bytes ({}), {} bad; read {} in {:.1} s ({}/s)",
            r.image.display(),
            r.sectors,
            r.sector_size,
            indicatif::HumanBytes(size),
            r.bad,
            indicatif::HumanBytes(r.bytes_read),
            secs,
            indicatif::HumanBytes((r.bytes_read as f64 / secs.max(0.001)) as u64),
        )?;
        if let Some(h) = r.hashes.as_ref().map(|h| &h.image) {
            writeln!(w, "odix: crc32 {} md5 {} sha1 {}", h.crc32, h.md5, h.sha1)?;
        }
        if let Some(a) = &r.audio_files {
            let what = match &a.cue {
                Some(c) => format!("{} and {} track files", c.display(), a.files.len()),
                None => format!("{} track files, no CUE sheet", a.files.len()),
            };
            writeln!(
                w,
                "odix: wrote {what} in {} (waited {:.1} s for the encoding)",
                a.dir.display(),
                a.wait.as_secs_f64()
            )?;
            if !a.not_written.is_empty() {
                let list: Vec<String> = a.not_written.iter().map(|n| format!("{n:02}")).collect();
                writeln!(w, "odix: tracks {} not written: sectors of theirs were not read well", list.join(", "))?;
            }
        }
        let mut files = format!("odix: log {}, map {}", r.log.display(), r.map.display());
        for p in &r.beside {
            files += &format!(", {}", p.display());
        }
        writeln!(w, "{files}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odix_cdrip::mmc::Drive;
    use odix_cdrip::sim::SimDrive;
    use std::sync::Arc;

    fn sim_drive() -> Drive<SimDrive> {
        let sim = SimDrive::from_cooked(&vec![0u8; 2048 * 100])
            .with_cd_text(mmc::cd_text_pack::TITLE, &["Album", "Song"])
            .with_cd_text(mmc::cd_text_pack::PERFORMER, &["Band", "Band"]);
        Drive::new(sim, Duration::from_secs(1))
    }

    #[test]
    fn drive_report_of_the_sim() {
        let mut d = sim_drive();
        let r = odix::rip::drive_report(&mut d).unwrap();
        let mut out = Vec::new();
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("DriveOffsets.bin");
        let mut b = odix_cdrip::offsets::record("PLEXTOR - DVDR   PX-716A", 30, 200).to_vec();
        b.extend_from_slice(&odix_cdrip::offsets::record("ODIXSIM - Simulated CD", -1164, 3));
        std::fs::write(&list, b).unwrap();
        let offset = Some(odix::rip::drive_offset(&list, &r.inquiry).unwrap());
        write_drive_report(&mut out, Path::new("/dev/sim"), &r, &offset, false).unwrap();
        let s = String::from_utf8(out).unwrap();
        for want in [
            "Vendor:       ODIXSIM",
            "CD-ROM (current)",
            "C2 pointers:  yes",
            "Raw reading:  yes (READ CD)",
            "Read offset:  -1164 samples (drive offset list: \"ODIXSIM - Simulated CD\", 3 submissions)",
        ] {
            assert!(s.contains(want), "{want}: {s}");
        }
    }

    /// A terminal of 80 columns that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Term80(Arc<std::sync::Mutex<String>>);

    impl indicatif::TermLike for Term80 {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            self.write_str("\n")
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            self.write_str("\n")
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.write_str("\n")
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The progress display of a rip as large as the map allows (LBAs and counts of ten digits), drawn on an
    /// 80-column terminal: every line fits, and the first shows the ETA and the speed.
    #[test]
    fn progress_fits_80_columns_with_an_eta() {
        let term = Term80::default();
        let sectors = u32::MAX;
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(u64::from(sectors)),
            indicatif::ProgressDrawTarget::term_like(Box::new(term.clone())),
        );
        bar.set_style(progress_style());
        let p = RipProgress {
            sectors,
            good: 1 << 20,
            bad: 0,
            pending: 0,
            untried: u64::from(sectors) - (1 << 20),
            phase: odix_cdrip::map::Phase::Copying,
            pass: 99,
            lba: sectors - 1,
            bytes_read: 123_456_789,
            elapsed: Duration::from_secs(2),
        };
        std::thread::sleep(Duration::from_millis(50));
        show_progress(&bar, &p);
        bar.tick();
        let text = term.0.lock().unwrap().clone();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(lines.len() >= 2, "{text:?}");
        for l in &lines {
            assert!(l.chars().count() <= 80, "{} columns: {l:?}", l.chars().count());
        }
        assert!(lines.iter().any(|l| l.contains(" ETA ") && l.contains("61.7 MB/s")), "{text}");
        assert!(lines.iter().any(|l| l.contains("pass 99 at LBA 4294967294 | good 1048576")), "{text}");
    }
}

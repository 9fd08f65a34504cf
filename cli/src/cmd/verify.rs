//! `odix verify IMAGE`: checks an image through [`odix::verify`] (raw sectors, volume sizes, extents, MD5 tags,
//! a folder, hashes, audio checksums and disc ids, AccurateRip and CTDB responses saved or fetched) and prints
//! what each check found as it ends, or one JSON object at the end. Exit status 2 for an incomplete image, 1 for
//! wrong data.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;
use odix::verify::{Outcome, Task, VerifyEvent, VerifyOptions};

use crate::cmd::args::ImageArgs;
use crate::cmd::interrupt;
use crate::cmd::progress::{bar as progress_bar, spinner as progress_spinner};

/// `odix verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Write a repaired copy of a raw image: OUT is the new `.cue` (or `.ccd`); its data files are written
    /// beside it. The input is never changed.
    #[arg(long, value_name = "OUT")]
    pub repair: Option<PathBuf>,
    /// Compare the image's tree with this folder: names, types, sizes, contents, symlink targets.
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,
    /// Do not compute CRC32/MD5/SHA-1 of the image and its tracks.
    #[arg(long)]
    pub no_hashes: bool,
    /// Print a redump-style DAT entry with this game name.
    #[arg(long, value_name = "NAME")]
    pub dat: Option<String>,
    /// Match every track's size, CRC-32, MD5 and SHA-1 against this Logiqx XML DAT (as Redump and No-Intro
    /// publish them): names the game, or says which track differs and how (exit status 1).
    #[arg(long, value_name = "FILE.dat")]
    pub match_dat: Option<PathBuf>,
    /// Replace the repaired copy's files if they exist.
    #[arg(short, long)]
    pub force: bool,
    /// Print one JSON object (format, sizes, sectors expected and present, each check's result, problems,
    /// hashes, audio checksums and disc ids) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Check the audio tracks against a saved AccurateRip response (the disc's `dBAR-….bin` file): exit status 1
    /// when a track matches no entry.
    #[arg(long, value_name = "FILE")]
    pub accuraterip: Option<PathBuf>,
    /// Check the audio tracks against a saved CUETools database response (the XML a lookup returns): exit status
    /// 1 when a track matches no entry.
    #[arg(long, value_name = "FILE")]
    pub ctdb: Option<PathBuf>,
    /// Fetch the disc's AccurateRip and CTDB responses over HTTP and check the audio tracks against them (the
    /// only network access odix makes; environment ODIX_ACCURATERIP_URL and ODIX_CTDB_URL replace the servers).
    #[arg(long, conflicts_with_all = ["accuraterip", "ctdb"])]
    pub online: bool,
    /// With --online: give up on a database after this many seconds (connecting: at most 10).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, requires = "online",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub online_timeout: u64,
    /// With --online: keep the responses fetched in DIR (`dBAR-….bin`, `ctdb-<TOC id>.xml`).
    #[arg(long, value_name = "DIR", requires = "online")]
    pub save_responses: Option<PathBuf>,
}

pub fn verify(args: VerifyArgs) -> Result<u8> {
    let opts = VerifyOptions {
        image: args.image.image.clone(),
        open: args.image.options(),
        view: args.image.view(),
        repair: args.repair.clone(),
        force: args.force,
        against: args.against.clone(),
        hashes: !args.no_hashes,
        dat: args.dat.clone(),
        match_dat: args.match_dat.clone(),
        cancel: interrupt::cancel(),
        accuraterip: args.accuraterip.clone(),
        ctdb: args.ctdb.clone(),
        online: args.online.then(|| {
            odix::online::Online::from_env().with_timeout(std::time::Duration::from_secs(args.online_timeout))
        }),
        save_responses: args.save_responses.clone(),
    };
    let path = args.image.image.clone();
    let json = args.json;
    let mut bar: Option<(Task, indicatif::ProgressBar)> = None;
    let mut printed: io::Result<()> = Ok(());
    let done = odix::verify::verify(&opts, &mut |e| match e {
        VerifyEvent::Recognised(rec) if !json && printed.is_ok() => {
            let fs = match (rec.iso, rec.udf) {
                (true, true) if rec.raw => ", ISO 9660 and UDF",
                (true, false) if rec.raw => ", ISO 9660",
                (false, true) if rec.raw => ", UDF",
                _ => "",
            };
            printed = writeln!(io::stdout(), "Image: {} ({}, {} bytes{fs})", path.display(), rec.format, rec.size);
        }
        VerifyEvent::Check(c) if !json && printed.is_ok() => {
            let mut out = io::stdout().lock();
            printed = c.details.iter().try_for_each(|l| writeln!(out, "{l}")).and_then(|()| out.flush());
        }
        VerifyEvent::Progress { task, done, total } => {
            if bar.as_ref().map(|b| b.0) != Some(task) {
                let b = match (task, total) {
                    (Task::IsoTree, _) => progress_spinner("ISO 9660 tree"),
                    (Task::UdfTree, _) => progress_spinner("UDF tree"),
                    (Task::CheckingSectors, t) => progress_bar(t.unwrap_or(0), "checking sectors"),
                    (Task::Copying, t) => progress_bar(t.unwrap_or(0), "copying"),
                    (Task::Hashing, t) => progress_bar(t.unwrap_or(0), "hashing"),
                    (Task::AudioChecksums, t) => progress_bar(t.unwrap_or(0), "audio checksums"),
                };
                if let Some((_, old)) = bar.replace((task, b)) {
                    old.finish_and_clear();
                }
            }
            if let Some((_, b)) = &bar {
                b.set_position(done);
            }
        }
        VerifyEvent::TaskDone(_) => {
            if let Some((_, b)) = bar.take() {
                b.finish_and_clear();
            }
        }
        _ => {}
    });
    if let Some((_, b)) = bar.take() {
        b.finish_and_clear();
    }
    let report = done?;
    printed?;
    let code = match report.outcome() {
        Outcome::Failed => 1,
        Outcome::Incomplete => crate::EXIT_PARTIAL,
        Outcome::Ok => 0,
    };
    let mut out = io::stdout().lock();
    let mut hashes_json = None;
    if let Some(h) = &report.hashes {
        let hash_json = |h: &odix_cdrip::hash::Hashes| {
            let (size, crc32, md5, sha1) = (h.size, &h.crc32, &h.md5, &h.sha1);
            serde_json::json!({ "size": size, "crc32": crc32, "md5": md5, "sha1": sha1 })
        };
        let mut text = Vec::new();
        let mut map = serde_json::Map::new();
        if let Some(i) = &h.image {
            writeln!(text, "Hashes (size, CRC32, MD5, SHA-1):")?;
            writeln!(text, "  image     {} {} {} {}", i.size, i.crc32, i.md5, i.sha1)?;
            for (n, t) in &h.tracks {
                writeln!(text, "  track {n:02}  {} {} {} {}", t.size, t.crc32, t.md5, t.sha1)?;
            }
            map.insert("image".into(), hash_json(i));
            if report.image.raw {
                map.insert(
                    "tracks".into(),
                    h.tracks
                        .iter()
                        .map(|(n, t)| {
                            let mut v = hash_json(t);
                            v["track"] = (*n).into();
                            // Audio tracks carry their AccurateRip CRCs.
                            let sums = report.audio.as_ref().and_then(|a| a.tracks.iter().find(|(m, _)| m == n));
                            if let Some((_, s)) = sums {
                                v["accuraterip_v1"] = format!("{:08x}", s.accuraterip_v1).into();
                                v["accuraterip_v2"] = format!("{:08x}", s.accuraterip_v2).into();
                            }
                            v
                        })
                        .collect(),
                );
            }
        }
        if let Some(entry) = &h.dat {
            write!(text, "{entry}")?;
            map.insert("dat".into(), entry.clone().into());
        }
        if !json {
            out.write_all(&text)?;
        }
        hashes_json = Some(serde_json::Value::Object(map));
    }
    if json {
        let rec = &report.image;
        let file_systems: Vec<&str> =
            [rec.iso.then_some("iso9660"), rec.udf.then_some("udf")].into_iter().flatten().collect();
        let v = serde_json::json!({
            "image": path.display().to_string(),
            "format": rec.format,
            "file_systems": file_systems,
            "size": rec.size,
            "sectors": report.sectors,
            "checks": report.checks,
            "problems": report.problems,
            "hashes": hashes_json,
            "musicbrainz_disc_id": report.audio.as_ref().map(|a| a.musicbrainz_disc_id.clone()),
            "freedb_id": report.audio.as_ref().map(|a| a.freedb_id.clone()),
            "accuraterip_id": report.audio.as_ref().map(|a| a.accuraterip_id.clone()),
            "audio": report.audio.as_ref().map(audio_json),
            "exit": code,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else if !report.problems.is_empty() {
        writeln!(out, "Problems:")?;
        for p in &report.problems {
            writeln!(out, "  {p}")?;
        }
    }
    out.flush()?;
    drop(out);
    // An incomplete image is said on stderr too, as the reading commands say what they skipped; what failed a
    // check (bad sectors, MD5 mismatches, differences) is a finding, reported on stdout only.
    if code == crate::EXIT_PARTIAL {
        let first = report.problems.first().cloned().unwrap_or_default();
        let more = report.problems.len().saturating_sub(1);
        let more = if more > 0 { format!(" (and {more} more problems)") } else { String::new() };
        eprintln!("odix: {}: image incomplete: {first}{more}", path.display());
    }
    Ok(code)
}

/// The `audio` object of `--json`: every checksum of each audio track, the disc's ids, and the comparisons with
/// the responses given.
fn audio_json(a: &odix::verify::AudioReport) -> serde_json::Value {
    let hex = |v: u32| format!("{v:08x}");
    let tracks: Vec<serde_json::Value> = a
        .tracks
        .iter()
        .map(|(n, s)| {
            serde_json::json!({
                "track": n,
                "samples": s.samples,
                "accuraterip_v1": hex(s.accuraterip_v1),
                "accuraterip_v2": hex(s.accuraterip_v2),
                "crc32": hex(s.crc32),
                "crc32_nonsilent": hex(s.crc32_nonsilent),
                "ctdb_crc": hex(s.ctdb_crc),
            })
        })
        .collect();
    let accuraterip = a.accuraterip.as_ref().map(|r| {
        r.iter()
            .map(|t| {
                serde_json::json!({
                    "track": t.track,
                    "matched": t.matched(),
                    "v1_confidence": t.v1_confidence,
                    "v2_confidence": t.v2_confidence,
                    "total_confidence": t.total_confidence,
                    "entries": t.entries,
                })
            })
            .collect::<Vec<_>>()
    });
    let ctdb = a.ctdb.as_ref().map(|r| {
        r.iter()
            .map(|t| {
                serde_json::json!({
                    "track": t.track,
                    "matched": t.matched(),
                    "confidence": t.confidence,
                    "total_confidence": t.total_confidence,
                })
            })
            .collect::<Vec<_>>()
    });
    serde_json::json!({
        "tracks": tracks,
        "musicbrainz_disc_id": a.musicbrainz_disc_id,
        "freedb_id": a.freedb_id,
        "accuraterip_id": a.accuraterip_id,
        "accuraterip_file": a.accuraterip_file,
        "ctdb_toc_id": a.ctdb_toc_id,
        "ctdb_toc": a.ctdb_toc,
        "accuraterip": accuraterip,
        "ctdb": ctdb,
        "ctdb_disc_crc": a.ctdb_disc_crc.map(hex),
        "ctdb_disc": a.ctdb_disc.as_ref().map(|d| serde_json::json!({
            "crc": hex(d.crc),
            "matched": d.matched(),
            "confidence": d.confidence,
            "total_confidence": d.total_confidence,
            "entries": d.entries,
        })),
    })
}

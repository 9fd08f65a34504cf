//! Writes the user data (2048 bytes a sector) of the first data track of a raw disc image to a file:
//!
//! ```text
//! cargo run --example read_cue_data_track -p odix -- SHEET.cue OUT.iso
//! ```
//!
//! For a Mode 1 or Mode 2 Form 1 data track, OUT is the ISO image the track holds (what `bchunk` writes from it).

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use odix::{Image, Options};

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [sheet, out] = args.as_slice() else {
        eprintln!("usage: read_cue_data_track SHEET.cue OUT");
        return ExitCode::from(2);
    };
    match write_track(sheet.as_ref(), out.as_ref()) {
        Ok(sectors) => {
            eprintln!("{sectors} sectors written");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("read_cue_data_track: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Copies the first data track's sectors of `sheet` into `out`; returns how many.
fn write_track(sheet: &Path, out: &Path) -> anyhow::Result<u64> {
    let image = Image::open(sheet, &Options::default())?;
    // The disc was laid out when the image was opened; the guard is dropped before reading (readers share it).
    let (start, end) = {
        let Some(disc) = image.raw_disc() else { bail!("{}: not a raw disc image", sheet.display()) };
        let Some(track) = disc.tracks().iter().find(|t| t.mode.is_data()) else {
            bail!("{}: no data track", sheet.display())
        };
        let start = u64::try_from(track.start_lba).context("a track before LBA 0")?;
        let end = u64::try_from(track.end_lba()).context("a track before LBA 0")?;
        (start, end)
    };
    let sectors = end.saturating_sub(start);
    let mut reader = image.reader()?;
    reader.seek(SeekFrom::Start(start * 2048))?;
    let mut file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let copied = io::copy(&mut reader.take(sectors * 2048), &mut file)?;
    if copied != sectors * 2048 {
        bail!("{}: only {copied} of {} bytes could be read", sheet.display(), sectors * 2048);
    }
    file.sync_all()?;
    Ok(sectors)
}

//! Rips a disc from odix-cdrip's simulated drive with the `odix` library: the disc holds an ISO image, and the
//! sectors named on the command line never read. The rip writes the image, its GNU ddrescue map and its log, and
//! the report's counts are printed.
//!
//! ```text
//! cargo run --example rip_simulated -p odix -- IN.iso OUT.iso [BAD_LBA...]
//! ```
//!
//! Exit status 0 when the image is complete, 2 when bad sectors remain (as `odix rip`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use odix::cancel::Cancel;
use odix::rip::{rip, Input, RipEvent, RipOptions, RipOutcome};
use odix_cdrip::sim::{Fault, SimDrive};

fn main() -> Result<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    let (Some(iso), Some(out)) = (args.next().map(PathBuf::from), args.next().map(PathBuf::from)) else {
        bail!("usage: rip_simulated IN.iso OUT.iso [BAD_LBA...]");
    };
    let bad: Vec<u32> = args
        .map(|a| a.to_string_lossy().parse().with_context(|| format!("{a:?}: not a sector number")))
        .collect::<Result<_>>()?;

    // The simulated drive holds the ISO image as a one-track Mode 1 CD; the bad sectors answer MEDIUM ERROR.
    let data = std::fs::read(&iso).with_context(|| format!("reading {}", iso.display()))?;
    let mut drive = SimDrive::from_cooked(&data);
    for &lba in &bad {
        drive = drive.with_fault(lba, Fault::Unreadable);
    }

    // One retry pass is enough for a sector that never reads; the map goes beside the image (OUT.map).
    let mut opts = RipOptions::new(&out);
    opts.retries = 1;
    let input = Input::Transport { name: "simulated drive".into(), transport: Box::new(drive) };
    let report = rip(input, &opts, &Cancel::new(), &mut |event| {
        if let RipEvent::Warning(w) = event {
            eprintln!("warning: {w}");
        }
    })?;

    println!("outcome: {:?}", report.outcome);
    println!("sectors: {} of {} bytes", report.sectors, report.sector_size);
    println!("good: {}", report.good);
    println!("bad: {}", report.bad);
    println!("untried: {}", report.untried);
    println!("reads: {} ({} failed)", report.reads, report.failed_reads);
    for (lba, count, status) in &report.unfinished {
        println!("unreadable: {lba} {count} {status}");
    }
    println!("image: {}", report.image.display());
    println!("map: {}", report.map.display());
    println!("log: {}", report.log.display());
    Ok(if report.outcome == RipOutcome::Complete { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

//! Extracts one folder of an image into a folder on disk, and says what was written.
//!
//! ```text
//! cargo run --example extract_folder -p odix -- IMAGE PATH-IN-IMAGE DEST
//! ```
//!
//! The image is read through its richest tree (UDF, else Rock Ridge, else Joliet, else plain ISO 9660); the
//! folder lands below DEST under its path in the image. Warnings are printed as they come; the last line counts
//! what the extraction did, and the exit status is 2 when something was skipped.

use std::path::PathBuf;
use std::process::ExitCode;

use odix::extract::{Event, Extract, ExtractOptions};
use odix::formats::{Limits, ViewChoice};
use odix::open::Options;
use odix::source::SourceOptions;

fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [image, folder, dest] = args.as_slice() else {
        anyhow::bail!("usage: extract_folder IMAGE PATH-IN-IMAGE DEST");
    };
    let open = Options {
        image: PathBuf::from(image),
        view: ViewChoice::Auto,
        charset: None,
        strict: false,
        source: SourceOptions::default(),
        limits: Limits::default(),
    };
    let (source, read, mut tree) = open.tree()?;
    let extract = Extract::new([folder], ExtractOptions::default())?;
    let report = extract.run(tree.as_mut(), &read, source.plain_file(), dest.as_ref(), &mut |event| {
        if let Event::Warning(w) = event {
            eprintln!("warning: {w}");
        }
    })?;
    println!(
        "{} files, {} directories, {} symlinks, {} hard links, {} bytes, {} warnings",
        report.files,
        report.directories,
        report.symlinks,
        report.hard_links,
        report.bytes,
        report.warnings.len()
    );
    Ok(if report.partial() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

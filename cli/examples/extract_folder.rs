//! Extracts one folder of an image into a folder on disk, and says what was written.
//!
//! ```text
//! cargo run --example extract_folder -p odix -- IMAGE PATH-IN-IMAGE DEST
//! ```
//!
//! The image is read through its richest tree (UDF, else Rock Ridge, else Joliet, else plain ISO 9660); the
//! folder lands below DEST under its path in the image. Warnings are printed as they come; the last line counts
//! what the extraction did, and the exit status is 2 when something was skipped.

use std::process::ExitCode;

use odix::extract::{Event, Extract, ExtractOptions};
use odix::{Image, Options, View};

fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [image, folder, dest] = args.as_slice() else {
        anyhow::bail!("usage: extract_folder IMAGE PATH-IN-IMAGE DEST");
    };
    let opened = Image::open(image, &Options::default())?;
    let mut tree = opened.tree(View::Auto)?;
    let extract = Extract::new([folder], ExtractOptions::default())?;
    let report =
        extract.run(tree.as_mut(), opened.read_options(), opened.plain_file(), dest.as_ref(), &mut |event| {
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

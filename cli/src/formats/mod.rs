//! Adapters from the format crates to the CLI's [`Tree`] and `info` sections.
//!
//! Each adapter module offers the same three functions:
//! - `probe(&ImageSource, &ReadOptions) -> Result<bool>`: is this format present?
//! - `open(&ImageSource, &ReadOptions, ViewChoice) -> Result<Box<dyn Tree>>`: a view of it;
//! - `info(&ImageSource, &ReadOptions) -> Result<Vec<InfoSection>>`: what `odix info` shows of it.
//!
//! The types they share (read options, limits, the view chosen, info sections) are in a module of their own
//! that the adapters import, so that only this module dispatches to the adapters.

pub mod iso;
mod options;
pub mod raw;
pub mod udf;

pub use options::{InfoSection, Limits, ReadOptions, ViewChoice};

use anyhow::{bail, Result};

use crate::source::ImageSource;
use crate::view::Tree;

/// The message for an input where no file system was found, with a hint when it looks like raw sectors that
/// need their sheet.
fn no_file_system(src: &ImageSource) -> String {
    let p = src.path().display();
    let raw_sized = std::fs::metadata(src.path()).is_ok_and(|m| m.is_file() && m.len() > 0 && m.len() % 2352 == 0);
    if raw_sized && !src.is_raw_description() {
        format!(
            "{p}: no ISO 9660 or UDF file system found; if it holds raw 2352-byte sectors (audio, or data without \
             sync patterns), pass the .cue sheet that describes it"
        )
    } else {
        format!("{p}: no ISO 9660 or UDF file system found")
    }
}

/// Opens the view the user asked for (or the best one present).
pub fn open_view(src: &ImageSource, opts: &ReadOptions, view: ViewChoice) -> Result<Box<dyn Tree>> {
    match view {
        ViewChoice::Udf => udf::open(src, opts, view),
        ViewChoice::Iso9660 | ViewChoice::Joliet | ViewChoice::Rockridge | ViewChoice::Iso9660_1999 => {
            iso::open(src, opts, view)
        }
        ViewChoice::Auto => {
            if udf::probe(src, opts)? {
                udf::open(src, opts, view)
            } else if iso::probe(src, opts)? {
                iso::open(src, opts, view)
            } else {
                bail!("{}", no_file_system(src))
            }
        }
    }
}

/// Every info section of every format present, and the warnings the readers gave while gathering them (damaged
/// entries met while scanning the tree, unreadable structures), each naming the image.
pub fn info(src: &ImageSource, opts: &ReadOptions) -> Result<(Vec<InfoSection>, Vec<String>)> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    if src.is_raw_description() {
        out.extend(raw::info(src, opts)?);
    }
    // A format present but too damaged to describe is a warning when the other one can still be shown.
    let iso = iso::probe(src, opts)?;
    let udf = udf::probe(src, opts)?;
    let mut failed = None;
    if iso {
        match iso::info(src, opts, &mut warnings) {
            Ok(s) => out.extend(s),
            Err(e) if opts.strict || !udf => return Err(e),
            Err(e) => failed = Some(e),
        }
    }
    if udf {
        match udf::info(src, opts, &mut warnings) {
            Ok(s) => out.extend(s),
            Err(e) if opts.strict || out.is_empty() => return Err(e),
            Err(e) => warnings.push(format!("{e:#}")),
        }
    }
    if let Some(e) = failed {
        if out.is_empty() {
            return Err(e);
        }
        warnings.push(format!("{e:#}"));
    }
    if !iso && !udf && out.is_empty() {
        bail!("{}", no_file_system(src));
    }
    Ok((out, warnings))
}

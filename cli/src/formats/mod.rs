//! Adapters from the format crates to the CLI's [`Tree`] and `info` sections.
//!
//! Each adapter module offers the same three functions:
//! - `probe(&ImageSource, &ReadOptions) -> Result<bool>`: is this format present?
//! - `open(&ImageSource, &ReadOptions, ViewChoice) -> Result<Box<dyn Tree>>`: a view of it;
//! - `info(&ImageSource, &ReadOptions) -> Result<Vec<InfoSection>>`: what `odix info` shows of it.

pub mod iso;
pub mod raw;
pub mod udf;

use anyhow::{bail, Result};

use crate::source::ImageSource;
use crate::view::Tree;

/// Caps on what a reader may do for one command, whatever the image claims.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest directory nesting followed.
    pub max_depth: u32,
    /// Most entries read from one directory.
    pub max_dir_entries: u64,
    /// Most entries read in one command, all directories together.
    pub max_total_entries: u64,
    /// Most continuation hops (SUSP CE areas, UDF allocation-descriptor continuations, indirect entries)
    /// followed for one entry.
    pub max_continuations: u32,
    /// Largest single metadata allocation (a directory extent, a continuation area, a table), in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 1024,
            max_dir_entries: 1 << 20,
            max_total_entries: 1 << 24,
            max_continuations: 1024,
            max_alloc: 64 << 20,
        }
    }
}

/// Which tree of an image to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ViewChoice {
    /// UDF if present, else Rock Ridge, else Joliet, else plain ISO 9660.
    Auto,
    /// Plain ISO 9660 names (versions and trailing dots stripped).
    Iso9660,
    /// The Joliet tree.
    Joliet,
    /// The ISO 9660 tree with Rock Ridge names and attributes.
    Rockridge,
    /// The UDF tree.
    Udf,
    /// The ISO 9660:1999 tree of the enhanced volume descriptor (long names in any case, no versions).
    #[value(name = "iso9660-1999")]
    Iso9660_1999,
}

/// How to read: options shared by every format.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Character set of plain ISO 9660 names, for discs written with a legacy 8-bit charset.
    pub charset: Option<&'static encoding_rs::Encoding>,
    /// Stop at the first inconsistency instead of warning and going on.
    pub strict: bool,
    /// Resource caps.
    pub limits: Limits,
    /// LBA where the session to read starts (volume descriptors at +16).
    pub session_start: u64,
}

/// One part of `odix info`'s report.
#[derive(Clone, Debug)]
pub struct InfoSection {
    /// Key of this section in `info --json` (`iso9660`, `el_torito`, `system_area`, `udf`, `tracks`, ...).
    pub key: &'static str,
    /// The machine-readable form.
    pub json: serde_json::Value,
    /// The human-readable form: lines of `Label: value`, already formatted.
    pub text: String,
}

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

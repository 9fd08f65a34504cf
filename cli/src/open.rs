//! Opening an image the way the reading commands do: the source (plain file, raw sheet, device, session) and the
//! read options (character set, strictness, limits), then the tree of the view asked for.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::formats::{self, Limits, ReadOptions, ViewChoice};
use crate::source::{ImageSource, SourceOptions};
use crate::view::Tree;

/// How to open an image and which of its trees to read.
#[derive(Clone, Debug)]
pub struct Options {
    /// The image: an ISO 9660 or UDF image file or block device, a `.cue` sheet or a CloneCD `.ccd`.
    pub image: PathBuf,
    /// Which tree to read.
    pub view: ViewChoice,
    /// Character set (a WHATWG label) of plain ISO 9660 names written with a legacy 8-bit charset.
    pub charset: Option<String>,
    /// Stop at the first inconsistency instead of warning and going on.
    pub strict: bool,
    /// The session (or session start LBA) whose file system is read.
    pub source: SourceOptions,
    /// The read limits.
    pub limits: Limits,
}

impl Options {
    /// The source and read options these options describe.
    pub fn open(&self) -> Result<(ImageSource, ReadOptions)> {
        let src = ImageSource::new(&self.image, self.source.clone());
        src.check()?;
        let charset = match &self.charset {
            Some(label) => Some(
                encoding_rs::Encoding::for_label(label.as_bytes())
                    .with_context(|| format!("unknown character set {label:?}"))?,
            ),
            None => None,
        };
        let opts =
            ReadOptions { charset, strict: self.strict, limits: self.limits, session_start: src.session_start()? };
        Ok((src, opts))
    }

    /// The source, read options and the tree of the view asked for.
    pub fn tree(&self) -> Result<(ImageSource, ReadOptions, Box<dyn Tree>)> {
        let (src, opts) = self.open()?;
        let tree = formats::open_view(&src, &opts, self.view)?;
        Ok((src, opts, tree))
    }
}

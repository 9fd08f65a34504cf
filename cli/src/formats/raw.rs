//! Adapter for raw disc images (CUE sheets, CloneCD) through odix-cdrip (being written).

use std::path::Path;

use anyhow::{bail, Result};

use super::{InfoSection, ReadOptions};
use crate::source::{ImageSource, Source, SourceOptions};

/// A reader of the cooked 2048-byte sectors of the disc described by `path`, LBAs counted from the disc start.
pub fn open_cooked(path: &Path, _opts: &SourceOptions) -> Result<Source> {
    bail!("{}: raw disc images are not readable in this build", path.display())
}

/// The LBA where the chosen session starts.
pub fn session_start(path: &Path, _opts: &SourceOptions) -> Result<u64> {
    bail!("{}: raw disc images are not readable in this build", path.display())
}

/// The track list.
pub fn info(_src: &ImageSource, _opts: &ReadOptions) -> Result<Vec<InfoSection>> {
    Ok(Vec::new())
}

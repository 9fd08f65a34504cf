//! Adapter for the udf reader (being written).

use anyhow::{bail, Result};

use super::{InfoSection, ReadOptions, ViewChoice};
use crate::source::ImageSource;
use crate::view::Tree;

/// Whether the format is present.
pub fn probe(_src: &ImageSource, _opts: &ReadOptions) -> Result<bool> {
    Ok(false)
}

/// A view of the image.
pub fn open(src: &ImageSource, _opts: &ReadOptions, _view: ViewChoice) -> Result<Box<dyn Tree>> {
    bail!("{}: udf reading is not available in this build", src.path().display())
}

/// The info sections.
pub fn info(_src: &ImageSource, _opts: &ReadOptions) -> Result<Vec<InfoSection>> {
    Ok(Vec::new())
}

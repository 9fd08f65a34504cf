//! Containers of one image file's bytes: ECM (sectors with their EDC/ECC stripped) and compressed ISOs (CSO,
//! ZSO). [`open`] gives the bytes of the file they hold as a [`ByteStore`]; what those bytes are (raw sectors,
//! an ISO) is for the caller to find out, as for any image file.

use std::path::Path;

use crate::detect::ImageFormat;
use crate::error::{Error, Result};
use crate::store::ByteStore;

/// The bytes of the file the container at `path` holds, for the container formats; `None` for every other
/// format.
///
/// # Errors
/// [`Error::UnreadFormat`] for a container odix does not read; the container's own errors.
pub fn open(path: &Path, format: ImageFormat) -> Result<Option<Box<dyn ByteStore>>> {
    match format {
        ImageFormat::Chd => crate::chd::dvd_store(path),
        ImageFormat::Ecm | ImageFormat::Cso | ImageFormat::Zso => {
            Err(Error::UnreadFormat { path: path.to_path_buf(), format: format.name() })
        }
        _ => Ok(None),
    }
}

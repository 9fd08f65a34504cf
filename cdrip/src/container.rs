//! Containers of one image file's bytes: ECM (sectors with their EDC/ECC stripped, [`crate::ecm`]) and compressed
//! ISOs (CSO, ZSO, [`crate::cso`]; DAX, [`crate::dax`]). [`open`] gives the bytes of the file they hold as a [`ByteStore`]; what those
//! bytes are (raw sectors, an ISO) is for the caller to find out, as for any image file.

use std::path::Path;

use crate::cso::CsoStore;
use crate::dax::DaxStore;
use crate::detect::ImageFormat;
use crate::ecm::EcmStore;
use crate::error::{Error, Result};
use crate::store::ByteStore;

/// The bytes of the file the container at `path` holds, for the container formats; `None` for every other
/// format.
///
/// # Errors
/// [`Error::Io`] naming `path`, `InvalidData` for a container that is not well formed (the message says where).
pub fn open(path: &Path, format: ImageFormat) -> Result<Option<Box<dyn ByteStore>>> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    match format {
        ImageFormat::Chd => crate::chd::dvd_store(path),
        ImageFormat::Ecm => Ok(Some(Box::new(EcmStore::open(path).map_err(io)?))),
        ImageFormat::Cso | ImageFormat::Zso => Ok(Some(Box::new(CsoStore::open(path).map_err(io)?))),
        ImageFormat::Dax => Ok(Some(Box::new(DaxStore::open(path).map_err(io)?))),
        _ => Ok(None),
    }
}

/// For an image file named in a sheet that is not there: the ECM file beside it (`NAME.ecm`), as ECM users keep
/// the files of a CUE sheet, read as the file it holds.
///
/// # Errors
/// As [`open`], when `NAME.ecm` exists but cannot be read.
pub fn ecm_beside(path: &Path) -> Result<Option<Box<dyn ByteStore>>> {
    if path.exists() {
        return Ok(None);
    }
    let mut name = path.as_os_str().to_os_string();
    name.push(".ecm");
    let ecm = Path::new(&name);
    if !ecm.is_file() {
        return Ok(None);
    }
    open(ecm, ImageFormat::Ecm)
}

//! Adapters from the format crates to the library's [`Tree`](crate::view::Tree) and `info` sections. [`crate::image::Image`] is their
//! one caller: it probes and opens each volume once and hands the opened volume to the adapter.
//!
//! - `iso`: ISO 9660 and its views (plain, Joliet, Rock Ridge, ISO 9660:1999), El Torito, the system area;
//! - `udf`: the UDF view;
//! - `raw`: the track list of a raw disc image (its cooked sectors are [`crate::source`]'s).
//!
//! The types they share (read options, limits, the view chosen, info sections) are in a module of their own
//! that the adapters import, so that only [`crate::image`] dispatches to the adapters.

pub(crate) mod iso;
mod options;
pub(crate) mod raw;
pub(crate) mod udf;

pub use options::{InfoSection, Limits, ReadOptions, View};

use crate::source::ImageSource;

/// The message for an input where no file system was found, with a hint when it looks like raw sectors that
/// need their sheet.
pub(crate) fn no_file_system(src: &ImageSource) -> String {
    let p = src.path().display();
    if let Some(m) = src.is_direct().then(|| unread_format(src.path())).flatten() {
        return m;
    }
    let raw_sized = src.is_direct()
        && std::fs::metadata(src.path()).is_ok_and(|m| m.is_file() && m.len() > 0 && m.len() % 2352 == 0);
    if raw_sized {
        format!(
            "{p}: no ISO 9660 or UDF file system found; if it holds raw 2352-byte sectors (audio, or data without \
             sync patterns), pass the .cue sheet that describes it"
        )
    } else {
        format!("{p}: no ISO 9660 or UDF file system found")
    }
}

/// For a file that holds no file system odix finds: the one-line error naming the format of another program it
/// has the signature of (an ISZ, a GameCube image, a gzip file, ...), if any.
pub(crate) fn unread_format(path: &std::path::Path) -> Option<String> {
    let name = odix_cdrip::detect::foreign_format_of(path)?;
    Some(format!("{}: {name}, which odix does not read", path.display()))
}

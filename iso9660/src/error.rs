//! The one error type of the crate.
//!
//! Variants are grouped by cause: I/O, invalid (the image is corrupt), unsupported (valid but not handled),
//! caller misuse, and limits exceeded. Each names the structure and the sector (`lba`) it was found in, and
//! where it helps the byte offset inside that sector's structure.

use std::fmt;
use std::io;

/// Which on-disc structure an error is about; shown first in every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Structure {
    /// A volume descriptor (ECMA-119 8).
    VolumeDescriptor,
    /// A directory extent (ECMA-119 6.8).
    Directory,
    /// One directory record (ECMA-119 9.1).
    DirectoryRecord,
    /// A path table (ECMA-119 9.4).
    PathTable,
    /// A SUSP continuation area (SUSP 5.1 CE).
    ContinuationArea,
    /// A System Use entry (SUSP or Rock Ridge).
    SystemUse,
    /// The El Torito boot catalog.
    BootCatalog,
    /// The system area (first 16 sectors: MBR, GPT, Apple partition map).
    SystemArea,
    /// A file's data.
    FileData,
    /// A zisofs-compressed file's header, block pointers or blocks.
    Zisofs,
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Structure::VolumeDescriptor => "volume descriptor",
            Structure::Directory => "directory",
            Structure::DirectoryRecord => "directory record",
            Structure::PathTable => "path table",
            Structure::ContinuationArea => "continuation area",
            Structure::SystemUse => "system use entry",
            Structure::BootCatalog => "boot catalog",
            Structure::SystemArea => "system area",
            Structure::FileData => "file data",
            Structure::Zisofs => "zisofs data",
        })
    }
}

/// Everything that can go wrong while reading an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The underlying reader failed.
    #[error("{structure} at LBA {lba}: read failed: {source}")]
    Io {
        /// What was being read.
        structure: Structure,
        /// The first sector of the read.
        lba: u64,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// No `CD001` volume descriptor where the volume descriptor set must start.
    #[error("volume descriptor at LBA {lba}: no ISO 9660 volume descriptor (\"CD001\" not found)")]
    NotIso9660 {
        /// The sector looked at (session start + 16).
        lba: u64,
    },
    /// A structure breaks a rule of its specification.
    #[error("{structure} at LBA {lba}, offset {offset}: {reason}")]
    Invalid {
        /// The structure.
        structure: Structure,
        /// Its sector.
        lba: u64,
        /// Byte offset of the bad field inside the structure (or the extent).
        offset: u64,
        /// What is wrong, with the values found.
        reason: String,
    },
    /// The two halves of a both-endian field differ (reported only in strict mode).
    #[error("{structure} at LBA {lba}, offset {offset}: both-endian field {field} differs (little-endian {le}, big-endian {be})")]
    BothEndianMismatch {
        /// The structure.
        structure: Structure,
        /// Its sector.
        lba: u64,
        /// Byte offset of the field.
        offset: u64,
        /// The field's name.
        field: &'static str,
        /// The little-endian half.
        le: u64,
        /// The big-endian half.
        be: u64,
    },
    /// An extent reaches past the end of the image.
    #[error("{structure} at LBA {lba}: extent of {length} bytes at LBA {extent_lba} ends past the end of the image ({image_bytes} bytes)")]
    ExtentPastEnd {
        /// The structure the extent belongs to.
        structure: Structure,
        /// Where the structure was recorded.
        lba: u64,
        /// First sector of the extent.
        extent_lba: u64,
        /// Length of the extent in bytes.
        length: u64,
        /// Size of the image in bytes.
        image_bytes: u64,
    },
    /// A chain or graph of structures points back at itself.
    #[error("{structure} at LBA {lba}, offset {offset}: loop ({what})")]
    Loop {
        /// The structure.
        structure: Structure,
        /// Its sector.
        lba: u64,
        /// Byte offset.
        offset: u64,
        /// What loops.
        what: &'static str,
    },
    /// A value is larger than a [`Limits`](crate::Limits) cap allows.
    #[error("{structure} at LBA {lba}: {what} {value} exceeds the limit {limit}")]
    LimitExceeded {
        /// The structure.
        structure: Structure,
        /// Its sector.
        lba: u64,
        /// Which limit.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The cap in force.
        limit: u64,
    },
    /// Valid, but not something this reader handles.
    #[error("{structure} at LBA {lba}: unsupported: {what}")]
    Unsupported {
        /// The structure.
        structure: Structure,
        /// Its sector.
        lba: u64,
        /// What is not handled.
        what: String,
    },
    /// The caller asked for something that does not fit (an entry of another view, a directory opened as a file).
    #[error("misuse: {0}")]
    Misuse(&'static str),
}

impl Error {
    pub(crate) fn invalid(structure: Structure, lba: u64, offset: u64, reason: impl Into<String>) -> Self {
        Error::Invalid { structure, lba, offset, reason: reason.into() }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io { source, .. } => source,
            Error::LimitExceeded { .. } => io::Error::new(io::ErrorKind::OutOfMemory, e),
            Error::Unsupported { .. } | Error::Misuse(_) => io::Error::new(io::ErrorKind::Unsupported, e),
            _ => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// The error inside the `io::Error` (kind `UnexpectedEof`) that a [`FileReader`](crate::FileReader) returns after
/// yielding every byte of a file that the image still holds, when the file's data runs past the end of the image
/// (a truncated image, or an extent recorded beyond its end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the file's data runs past the end of the image ({missing} bytes missing)")]
pub struct DataPastEnd {
    /// Bytes of the file (as read: uncompressed for zisofs) that were not yielded.
    pub missing: u64,
}

impl DataPastEnd {
    /// The `io::Error` a reader returns for it.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, self)
    }

    /// The `DataPastEnd` inside `e`, if it is one.
    pub fn of(e: &io::Error) -> Option<Self> {
        e.get_ref().and_then(|i| i.downcast_ref::<DataPastEnd>()).copied()
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

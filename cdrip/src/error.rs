//! The one error type of odix-cdrip.
//!
//! Variants are grouped by cause: I/O, invalid (a corrupt or malformed input), unsupported (valid but not
//! handled), caller misuse, and limits. Each carries enough context (file, line, LBA) for a one-line message.
//! New variants are appended at the end.

use std::io;
use std::path::PathBuf;

/// Result alias of odix-cdrip.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything odix-cdrip can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error while reading or writing `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or device) involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// An I/O error on an anonymous stream, at a byte offset.
    #[error("at byte {offset}: {source}")]
    StreamIo {
        /// Byte offset in the stream where the operation started.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A line of a CUE sheet could not be understood.
    #[error("{}:{line}: {message}", path.display())]
    CueSyntax {
        /// The CUE sheet.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },

    /// A line of a CloneCD control file could not be understood.
    #[error("{}:{line}: {message}", path.display())]
    CcdSyntax {
        /// The `.ccd` file.
        path: PathBuf,
        /// 1-based line number (0 when the problem is not tied to one line).
        line: usize,
        /// What is wrong.
        message: String,
    },

    /// A file a sheet refers to cannot be opened.
    #[error("{}: referenced file {} cannot be opened", sheet.display(), file.display())]
    MissingFile {
        /// The CUE sheet or `.ccd` that names the file.
        sheet: PathBuf,
        /// The file as resolved against the sheet's folder.
        file: PathBuf,
        /// Why it cannot be opened.
        #[source]
        source: io::Error,
    },

    /// The tracks described do not fit together (overlap, out of order, past the end of their file).
    #[error("{}: {message}", sheet.display())]
    Layout {
        /// The CUE sheet or `.ccd`.
        sheet: PathBuf,
        /// What does not fit.
        message: String,
    },

    /// A raw sector failed a check that makes its data unusable.
    #[error("sector {lba}: {what}")]
    BadSector {
        /// Absolute LBA of the sector (counted from the start of the disc, LBA 0 = MSF 00:02:00).
        lba: i64,
        /// Which check failed.
        what: String,
    },

    /// A session number that the disc does not have.
    #[error("{}: no session {session} (the disc has {count})", sheet.display())]
    NoSuchSession {
        /// The CUE sheet or `.ccd`.
        sheet: PathBuf,
        /// The session asked for (1-based).
        session: u32,
        /// How many sessions the disc has.
        count: u32,
    },

    /// The chosen session has no data track to read a file system from.
    #[error("{}: session {session} has no data track", sheet.display())]
    NoDataTrack {
        /// The CUE sheet or `.ccd`.
        sheet: PathBuf,
        /// The session (1-based).
        session: u32,
    },

    /// An image in a format this crate recognises but does not read.
    #[error("{}: {format}, which odix does not read", path.display())]
    UnreadFormat {
        /// The image.
        path: PathBuf,
        /// Its format, as users name it ("a Nero image (NRG)").
        format: &'static str,
    },

    /// Valid input that this crate does not handle.
    #[error("{what} is not supported")]
    Unsupported {
        /// What is not handled.
        what: String,
    },

    /// A caller passed an argument that cannot be used.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The input exceeds a cap set to protect memory or time.
    #[error("{what}: {actual} exceeds the limit of {limit}")]
    LimitExceeded {
        /// Which quantity.
        what: &'static str,
        /// The cap.
        limit: u64,
        /// What the input asked for.
        actual: u64,
    },

    /// An audio file a sheet names that cannot be read as CD audio: neither WAVE nor FLAC, not 44.1 kHz 16-bit
    /// stereo, or a header that lies about its length.
    #[error("{}: {message}", path.display())]
    AudioFile {
        /// The audio file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io { ref source, .. }
            | Error::StreamIo { ref source, .. }
            | Error::MissingFile { ref source, .. } => io::Error::new(source.kind(), e),
            Error::Unsupported { .. } => io::Error::new(io::ErrorKind::Unsupported, e),
            Error::InvalidArgument(_) => io::Error::new(io::ErrorKind::InvalidInput, e),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

//! Errors of the UDF image writer.

/// Why a UDF image could not be planned or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing the image (or copying a source through the caller's callback) failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A name given to [`crate::write::Tree::add`] is empty, `.`, `..`, holds `/` or NUL, or is longer than
    /// a File Identifier holds (255 bytes of CS0, ECMA-167 4/14.4.5).
    #[error("invalid entry name {name:?}: {reason}")]
    InvalidName {
        /// The offending name, lossily decoded.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry was added under something that is not a directory.
    #[error("cannot add {name:?}: parent is not a directory")]
    NotADirectory {
        /// The name being added.
        name: String,
    },
    /// A hard link names a node that is not a regular file or symlink of the same tree.
    #[error("hard link {name:?}: the target is not a file or symlink of this tree")]
    BadLink {
        /// The link's name.
        name: String,
    },
    /// A symlink target cannot be recorded as ECMA-167 4/14.16 path components.
    #[error("symlink target {target:?}: {reason}")]
    BadSymlink {
        /// The target, lossily decoded.
        target: String,
        /// Why.
        reason: &'static str,
    },
    /// The tree has more entries than the writer can number.
    #[error("too many entries")]
    TooManyEntries,
    /// A file needs more allocation descriptors than one entry block holds (files over about 110 GiB).
    #[error("file of {size} bytes needs {needed} allocation descriptors, at most {max} fit in an entry")]
    FileTooLarge {
        /// Size in bytes.
        size: u64,
        /// Descriptors needed (one per extent of under 1 GiB).
        needed: u64,
        /// Descriptors that fit.
        max: u64,
    },
    /// A label or identifier does not fit its d-string field.
    #[error("{what} {value:?} is longer than its {max}-byte field")]
    IdentifierTooLong {
        /// Which identifier.
        what: &'static str,
        /// The value.
        value: String,
        /// Field size in bytes (one byte holds the length, one the compression ID).
        max: usize,
    },
    /// The image would have more than 2^32 blocks.
    #[error("image too large: {blocks} blocks of 2048 bytes")]
    ImageTooLarge {
        /// Blocks needed.
        blocks: u64,
    },
    /// The placement given to [`crate::write::UdfPlanner::place`] is impossible (a region overlaps another or
    /// lies outside the partition), or a region wrote a different number of bytes than the plan declared.
    #[error("plan violated: {what}")]
    PlanViolated {
        /// What went wrong.
        what: String,
    },
}

impl WriteError {
    pub(crate) fn plan(what: impl Into<String>) -> Self {
        WriteError::PlanViolated { what: what.into() }
    }
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io(io) => io,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

impl From<crate::error::Error> for WriteError {
    fn from(e: crate::error::Error) -> Self {
        WriteError::Io(e.into())
    }
}

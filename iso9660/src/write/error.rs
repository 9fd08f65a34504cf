//! Errors of the image writer.

/// Why an image could not be planned or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Reading a source or writing the image failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A name given to [`crate::write::Tree::add`] is empty, `.`, `..`, or holds `/` or NUL.
    #[error("invalid entry name {name:?}")]
    InvalidName {
        /// The offending name, lossily decoded.
        name: String,
    },
    /// Two entries of one directory have the same name.
    #[error("{path}: two entries of one directory have this name")]
    DuplicateName {
        /// Path of the name in the image.
        path: String,
    },
    /// An entry was added under something that is not a directory.
    #[error("cannot add {name:?}: parent is not a directory")]
    NotADirectory {
        /// The name being added.
        name: String,
    },
    /// The tree has more entries than the writer can number.
    #[error("too many entries")]
    TooManyEntries,
    /// The image has more directories than a path table can number (65535).
    #[error("too many directories for the path table: {count} (at most 65535)")]
    TooManyDirectories {
        /// Number of directories in the tree.
        count: usize,
    },
    /// A file is larger than the chosen interchange level allows (one extent, under 4 GiB, below level 3).
    #[error("{path}: {size} bytes needs ISO level 3 or 4 (files over 4 GiB are multi-extent)")]
    FileTooLarge {
        /// Path of the file in the image.
        path: String,
        /// Its size in bytes.
        size: u64,
    },
    /// The image would have more than 2^32 sectors.
    #[error("image too large: {sectors} sectors of 2048 bytes")]
    ImageTooLarge {
        /// Sectors needed.
        sectors: u64,
    },
    /// The caller broke the plan: a region wrote a different number of bytes than it declared, or metadata was
    /// written before its position was fixed.
    #[error("plan violated: {what}")]
    PlanViolated {
        /// What went wrong.
        what: String,
    },
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io(io) => io,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

//! The one error type of odix-udf.
//!
//! Variants are grouped by cause: I/O, an image that is not UDF, corrupt structures (with the block and byte
//! offset where the damage was seen), valid but unsupported features, caller misuse, and limits exceeded.
//! Blocks are physical blocks of the volume (in units of its block size) unless a variant says otherwise.

use std::io;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading a UDF volume.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the image failed.
    #[error("I/O error at byte {offset}: {source}")]
    Io {
        /// Byte offset in the image where the read started.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// No UDF volume was recognised.
    #[error("not a UDF volume: {reason}")]
    NotUdf {
        /// What is missing.
        reason: &'static str,
    },
    /// A structure is shorter than its fields need.
    #[error("{what}: {len} bytes, at least {needed} needed")]
    Truncated {
        /// The structure.
        what: &'static str,
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// The descriptor tag checksum (ECMA-167 3/7.2.3) does not match: the block holds no valid descriptor.
    #[error("{what} at block {block}: tag checksum is {actual:#04x}, the tag sums to {expected:#04x}")]
    TagChecksum {
        /// The descriptor expected there.
        what: &'static str,
        /// Physical block.
        block: u64,
        /// Checksum computed from the tag.
        expected: u8,
        /// Checksum recorded in the tag.
        actual: u8,
    },
    /// The descriptor CRC (ECMA-167 3/7.2.6) does not match its contents.
    #[error("{what} at block {block}: descriptor CRC is {actual:#06x}, the contents give {expected:#06x}")]
    TagCrc {
        /// The descriptor.
        what: &'static str,
        /// Physical block.
        block: u64,
        /// CRC computed from the contents.
        expected: u16,
        /// CRC recorded in the tag.
        actual: u16,
    },
    /// The tag location field does not name the block the descriptor was read from.
    #[error("{what} at block {block}: tag location is {actual}, expected {expected}")]
    TagLocation {
        /// The descriptor.
        what: &'static str,
        /// Physical block.
        block: u64,
        /// The location it was read from (logical or physical, as ECMA-167 defines for the descriptor).
        expected: u32,
        /// The recorded location.
        actual: u32,
    },
    /// A different descriptor was found where one was expected.
    #[error("block {block}: expected {what}, found tag identifier {actual}")]
    UnexpectedTag {
        /// The descriptor expected.
        what: &'static str,
        /// Physical block.
        block: u64,
        /// Tag identifier found.
        actual: u16,
    },
    /// A structure holds values that cannot be right.
    #[error("corrupt {what} at block {block}, byte {offset}: {detail}")]
    Invalid {
        /// The structure.
        what: &'static str,
        /// Physical block (or the logical block for structures inside a partition, as `detail` says).
        block: u64,
        /// Byte offset inside the structure.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A partition reference number names no partition map of the logical volume.
    #[error("partition reference {reference} out of range ({count} partition maps)")]
    PartitionReference {
        /// The reference.
        reference: u16,
        /// Number of partition maps.
        count: usize,
    },
    /// A logical block lies outside its partition.
    #[error("block {block} of partition {reference} is outside the partition ({length} blocks)")]
    OutsidePartition {
        /// Partition reference number.
        reference: u16,
        /// Logical block.
        block: u64,
        /// Partition length in blocks.
        length: u64,
    },
    /// A structure refers back to itself or to a structure already visited.
    #[error("{what}: loop at block {block}")]
    Loop {
        /// What loops.
        what: &'static str,
        /// Physical or logical block where the loop closes.
        block: u64,
    },
    /// A valid feature odix does not read.
    #[error("unsupported: {what}")]
    Unsupported {
        /// The feature.
        what: String,
    },
    /// The caller asked for something the entry is not (a directory listing of a file, say).
    #[error("{what}")]
    Misuse {
        /// What was wrong with the call.
        what: &'static str,
    },
    /// A limit of [`Limits`](crate::Limits) was reached.
    #[error("limit exceeded: {what} (limit {limit})")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: u64,
    },
    /// An address or size computation overflowed: the image holds values no real volume has.
    #[error("{what}: value out of range")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
}

impl Error {
    pub(crate) fn invalid(what: &'static str, block: u64, offset: u64, detail: impl Into<String>) -> Self {
        Error::Invalid { what, block, offset, detail: detail.into() }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io { source, .. } => source,
            Error::Misuse { .. } => io::Error::new(io::ErrorKind::InvalidInput, e),
            Error::Unsupported { .. } => io::Error::new(io::ErrorKind::Unsupported, e),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// Checked arithmetic that reports overflow as [`Error::Overflow`].
pub(crate) trait Checked: Sized {
    fn add_or(self, rhs: Self, what: &'static str) -> Result<Self>;
    fn mul_or(self, rhs: Self, what: &'static str) -> Result<Self>;
    fn sub_or(self, rhs: Self, what: &'static str) -> Result<Self>;
}

macro_rules! checked {
    ($($t:ty),*) => {$(
        impl Checked for $t {
            fn add_or(self, rhs: Self, what: &'static str) -> Result<Self> {
                self.checked_add(rhs).ok_or_else(|| Error::Overflow { what })
            }
            fn mul_or(self, rhs: Self, what: &'static str) -> Result<Self> {
                self.checked_mul(rhs).ok_or_else(|| Error::Overflow { what })
            }
            fn sub_or(self, rhs: Self, what: &'static str) -> Result<Self> {
                self.checked_sub(rhs).ok_or_else(|| Error::Overflow { what })
            }
        }
    )*};
}
checked!(u32, u64, usize);

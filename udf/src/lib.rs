//! Reading UDF volumes (ECMA-167 3rd edition as profiled by OSTA UDF 1.02 to 2.60): DVDs, Blu-ray discs,
//! packet-written CD-RW and DVD-RW, write-once discs with a Virtual Allocation Table, and disk images.
//!
//! # Getting started
//! 1. Open anything that is `Read + Seek` (an image file, a block device, a cooked view of a raw image) with
//!    [`Volume::open`]. The block size (2048, 512, 4096) is detected from the anchors.
//! 2. [`Volume::root`] gives the root directory's [`Entry`]; [`Volume::read_dir`] lists a directory as
//!    [`DirEntry`] names, and [`Volume::entry`] reads the entry a name points at.
//! 3. [`Volume::open_file`] reads a file's data, [`Volume::read_link`] a symbolic link's target.
//! 4. [`Volume::info`] describes the volume: revision, identifiers, partitions, integrity.
//!
//! ```no_run
//! # fn main() -> odix_udf::Result<()> {
//! use std::io::Read;
//! let file = std::fs::File::open("disc.iso").map_err(|e| odix_udf::Error::Io { offset: 0, source: e })?;
//! let mut vol = odix_udf::Volume::open(file, odix_udf::Options::default())?;
//! let root = vol.root()?;
//! for child in vol.read_dir(&root)? {
//!     let entry = vol.entry(&child)?;
//!     println!("{} {} bytes", child.name, entry.size());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The on-disk structures are in [`format`](mod@format), each with `parse` and `write_to`, for a writer to reuse.
//!
//! # Untrusted input
//! Every value read from the image is untrusted. Loops through indirect entries, continuation extents,
//! descriptor pointers and partition maps end in [`Error::Loop`] or [`Error::Limit`]; lengths that overflow
//! their structure end in [`Error::Invalid`] or [`Error::Truncated`]; [`Limits`] bounds memory and work.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod error;
pub mod format;
mod limits;
pub mod read;
pub mod write;

pub use error::{Error, Result};
pub use limits::{Limits, Options};
pub use read::{DataExtent, DirEntry, Entry, FileReader, Volume, VolumeInfo};

//! Building ISO 9660 images: the ISO hierarchy with Rock Ridge (RRIP 1.12) and zisofs, the Joliet hierarchy,
//! and the ISO 9660:1999 enhanced descriptor.
//!
//! # How an image is built
//! The writer never owns the output order of a whole image: it contributes sized pieces that a planner places.
//!
//! 1. Build a [`Tree`]: directories, files (each naming a [`DataId`] and its stored size), symlinks, devices,
//!    with POSIX metadata. Hard links share a `Meta::ino` and a `DataId`.
//! 2. [`IsoLayout::new`] names every entry (per level, unique per directory), relocates directories deeper than
//!    8 levels into `RR_MOVED` (`CL`/`PL`/`RE`), orders records (ECMA-119 9.3) and sizes every metadata area.
//! 3. The planner reserves the system area (LBA 0–15) and the descriptor sectors from LBA 16:
//!    [`IsoLayout::descriptor_count`] descriptors plus a terminator, in the order primary, (boot record),
//!    Joliet, enhanced, terminator; other volume structures (UDF's VRS) may follow the terminator.
//! 4. [`IsoLayout::place_metadata`] fixes the path tables, directories and continuation areas at an LBA; the
//!    planner then places each data item (once, whatever number of trees refer to it).
//! 5. Writing, strictly in LBA order: the descriptors ([`IsoLayout::primary_descriptor`] etc., given the total
//!    size), [`IsoLayout::write_metadata`] with a lookup from [`DataId`] to LBA, and the data items (by the
//!    planner, from its sources; [`zisofs::compress`] for compressed ones).
//!
//! Nothing here reads a source file or seeks the output, so an image can stream into a pipe.

pub mod eltorito;
mod encode;
mod error;
pub mod hybrid;
mod layout;
mod loss;
mod names;
mod susp;
mod tree;
pub mod zisofs;

pub use encode::SECTOR;
pub use error::WriteError;
pub use layout::{IsoLayout, IsoOptions, VolumeDates, MAX_EXTENT};
pub use loss::{Loss, LossKind};
pub use tree::{DataId, DeviceKind, FileData, Hidden, Meta, NodeId, NodeKind, Tree};

/// First LBA after the system area (ECMA-119 6.2.1: sectors 0–15 are the system area).
pub const SYSTEM_AREA_SECTORS: u32 = 16;

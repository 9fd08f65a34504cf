//! Building UDF images: UDF-only, or the UDF half of an ISO 9660 / UDF bridge image.
//!
//! # Getting started
//! 1. Describe the files in a [`Tree`]: directories, files (by size and a [`DataId`] naming the caller's data,
//!    never the bytes), symlinks, hard links as extra names of one node.
//! 2. For a UDF-only image, [`UdfImage::plan`] fixes every block; [`UdfImage::size`] is then known and
//!    [`UdfImage::write`] writes the image in one pass, asking the caller to copy each data item.
//! 3. For a bridge image, [`UdfPlanner::new`] sizes the UDF structures; the caller (which also lays out ISO
//!    9660) decides where the VRS, the partition, the metadata mirror, the tail and each data item go and calls
//!    [`UdfPlanner::place`]; the [`UdfLayout`] then writes each [`Region`] when the caller reaches it. The file
//!    data is recorded once, and the UDF allocation descriptors point at the same blocks as the ISO 9660 extents.
//! 4. For a session of a sequentially recorded medium (CD-R, DVD-R), [`UdfOptions::virtual_partition`] and
//!    [`UdfPlanner::place_vat`] record the volume at the session's start + 256 with a virtual partition: the
//!    entries and directories in virtual blocks, a Virtual Allocation Table (UDF 1.50 or 2.01) in the last block
//!    mapping them, the physical partition starting where the medium's first volume's did so that data already
//!    recorded is pointed at where it lies.
//!
//! What is recorded (ECMA-167 3rd edition as OSTA UDF 1.02 to 2.60 profile it): the VRS (BEA01, NSR02 or
//! NSR03, TEA01); anchors at 256, at the last block and, from [`BIG_TAIL_FROM`] blocks on, 256 before it; main and reserve Volume
//! Descriptor Sequences (PVD, IUVD with LV Info, PD, LVD, USD, TD); a closed LVID with file and directory counts
//! and the next unique ID; the FSD; File Entries (UDF 1.02, 1.50) or Extended File Entries (2.01 and later) with
//! POSIX permissions, owners, times and link counts; FIDs in CS0; symlinks as path components; a metadata
//! partition with its mirror for 2.50 and 2.60. Unique IDs follow the recording order, so the same tree and
//! options give the same bytes.

// The writer indexes only vectors it built itself from the tree (one plan per node), and its block arithmetic
// is bounded by the u32 checks of the planner; the crate-wide bans on indexing and unchecked arithmetic guard
// the reader against hostile images.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod dvd;
mod emit;
mod error;
mod image;
mod names;
mod options;
mod plan;
mod tree;

pub use dvd::{dvd_video_rank, sort_for_dvd_video};
pub use error::WriteError;
pub use image::{UdfImage, VRS_BLOCK};
pub use names::encoded_len;
pub use options::{Revision, UdfOptions};
pub use plan::{
    Placement, Region, RegionKind, UdfLayout, UdfPlanner, VatPlacement, ANCHOR_BLOCK, BIG_TAIL_FROM, BLOCK_SIZE,
    HEAD_END, MAX_EXTENT, METADATA_ALLOCATION_UNIT, VRS_BLOCKS,
};
pub use tree::{DataId, Meta, NodeId, NodeKind, Time, Tree, MAX_NAME_BYTES};

#[cfg(test)]
mod tests;

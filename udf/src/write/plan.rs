//! Phase one: every block of the UDF structures decided from the tree alone, then fixed against the caller's
//! placement of the partition, the metadata mirror, the tail and the file data.
//!
//! Volume layout (2048-byte blocks; `P` the partition start, `N` the image size):
//!
//! | blocks | contents |
//! |---|---|
//! | `vrs`..+3 | BEA01, NSR02/NSR03, TEA01 (ECMA-167 2/8.3), after any ISO 9660 descriptors |
//! | 256 | Anchor Volume Descriptor Pointer (3/10.2) |
//! | 257..273 | main Volume Descriptor Sequence: PVD, IUVD (LV Info), PD, LVD, USD, TD |
//! | 273..275 | Logical Volume Integrity Descriptor (closed) and a TD |
//! | `P`.. | metadata area: FSD, TD, then for each directory its entry, its FIDs and its children's entries |
//! | .. | file data, wherever the caller puts it inside the partition |
//! | `T`..`T+16` | the tail: reserve Volume Descriptor Sequence, the same descriptors as the main one |
//! | `N-257` | a second anchor (256 before the last block), when the tail starts at [`BIG_TAIL_FROM`] or later |
//! | `N-1` | the last anchor |
//!
//! With a metadata partition (UDF 2.50, 2.60) the metadata area is the contents of the Metadata File, padded to
//! [`METADATA_ALLOCATION_UNIT`] blocks and followed by the Metadata File's entry; the mirror region, where the
//! caller says, holds the same contents followed by the Metadata Mirror File's entry, so that the two entries
//! are never adjacent (UDF 2.60 2.2.13.1). The metadata area starts at block 0 of the physical partition, so a
//! block of the metadata partition has the same number in the physical partition: readers that ignore partition
//! reference numbers (pycdlib) still find every structure.
//!
//! The reserve sequence opens the tail, after all file data and the mirror, rather than following the main one:
//! the two copies lie far apart, and readers that take the end of the last extent they know of as the end of the
//! volume (7-Zip counts the file data and both descriptor sequences, but not the mirror) see the whole image as
//! recorded structures, with only anchors after them.

use std::collections::HashMap;

use super::error::WriteError;
use super::names;
use super::options::UdfOptions;
use super::tree::{DataId, NodeId, NodeKind, Tree};

/// Logical block and sector size in bytes.
pub const BLOCK_SIZE: u32 = 2048;
/// Blocks of the Volume Recognition Sequence.
pub const VRS_BLOCKS: u32 = 3;
/// Where the first anchor is (ECMA-167 3/8.4.2.1).
pub const ANCHOR_BLOCK: u32 = 256;
/// Blocks of each Volume Descriptor Sequence extent (UDF 2.60 2.2.3.1: at least 16).
pub const VDS_BLOCKS: u32 = 16;
/// Main Volume Descriptor Sequence.
pub const MAIN_VDS: u32 = ANCHOR_BLOCK + 1;
/// Logical Volume Integrity Sequence: the LVID and a Terminating Descriptor.
pub const LVID_BLOCK: u32 = MAIN_VDS + VDS_BLOCKS;
/// Blocks of the integrity sequence extent.
pub const LVID_BLOCKS: u32 = 2;
/// First block after the fixed structures at 256: the earliest partition start.
pub const HEAD_END: u32 = LVID_BLOCK + LVID_BLOCKS;
/// Images whose tail starts at or beyond this block get an anchor 256 blocks before the last as well as in the
/// last (a smaller image would spend most of its size on the gap between them).
pub const BIG_TAIL_FROM: u32 = 512;
/// Allocation unit of the Metadata File in blocks (UDF 2.60 2.2.10: the Metadata File grows in these units).
pub const METADATA_ALLOCATION_UNIT: u32 = 32;
/// Longest extent one allocation descriptor records: under 1 GiB (the 30-bit length) and a multiple of the
/// block size, so that every extent but the last of a file is whole blocks (ECMA-167 4/12.1).
pub const MAX_EXTENT: u64 = (1 << 30) - BLOCK_SIZE as u64;
/// Unique ID of the first entry after the root (UDF 2.60 3.2.1.1: 1 to 15 are reserved, the root has 0).
pub const FIRST_UNIQUE_ID: u64 = 16;
/// Size of a File Entry before its extended attributes (ECMA-167 4/14.9).
pub const FILE_ENTRY_HEADER: u32 = 176;
/// Size of an Extended File Entry before its extended attributes (ECMA-167 4/14.17).
pub const EXTENDED_FILE_ENTRY_HEADER: u32 = 216;
/// Size of a File Identifier Descriptor before its name (ECMA-167 4/14.4), without implementation use.
pub const FID_HEADER: u32 = 38;

/// Where a node's own data lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// No data (an empty file).
    None,
    /// Inside the entry's block (allocation type 3).
    Embedded,
    /// Blocks of the metadata area (directories, long symlinks): start block and count.
    Meta { start: u32, blocks: u32 },
    /// A file's data item, placed by the caller.
    Data(DataId),
}

#[derive(Clone, Debug)]
pub(crate) struct NodePlan {
    /// Block of the node's entry in the metadata area.
    pub(crate) icb: u32,
    pub(crate) body: Body,
    pub(crate) unique_id: u64,
    pub(crate) links: u16,
    /// Information Length: bytes of FIDs, of path components, or of the file.
    pub(crate) length: u64,
}

/// The layout decided from the tree alone; [`UdfPlanner::place`] fixes it in the image.
#[derive(Debug)]
pub struct UdfPlanner<'t> {
    pub(crate) tree: &'t Tree,
    pub(crate) opts: UdfOptions,
    pub(crate) nodes: Vec<NodePlan>,
    /// Blocks of metadata content (FSD to the last entry), padded to the allocation unit for a metadata
    /// partition.
    pub(crate) content_blocks: u32,
    /// Nodes in the order their entries are recorded.
    pub(crate) order: Vec<NodeId>,
    pub(crate) files: u32,
    pub(crate) directories: u32,
    pub(crate) next_unique_id: u64,
}

/// Where the caller puts the UDF structures and the file data (absolute block numbers).
pub struct Placement<'a> {
    /// First block of the Volume Recognition Sequence: 16, or the block after the ISO 9660 Volume Descriptor Set
    /// Terminator of a bridge image. Must end by block 256.
    pub vrs: u32,
    /// First block of the partition, where the metadata area ([`UdfPlanner::metadata_blocks`]) is recorded; at
    /// least [`HEAD_END`].
    pub partition_start: u32,
    /// First block of the metadata mirror ([`UdfPlanner::mirror_blocks`]) for UDF 2.50 and 2.60; ignored
    /// otherwise.
    pub mirror: u32,
    /// First block after the partition: the tail starts here.
    pub tail_start: u32,
    /// Blocks of the tail (the reserve descriptor sequence and the end anchors), as
    /// [`UdfPlanner::tail_blocks`] advises.
    pub tail_blocks: u32,
    /// First block of each data item that has a nonzero size; every one must lie inside the partition.
    pub data: &'a dyn Fn(DataId) -> Option<u32>,
}

/// Where the caller puts a volume with a virtual partition recorded as a session of a sequentially recorded
/// medium (absolute block numbers): its structures follow the session's start as a volume's follow block 0, its
/// physical partition starts where the first session's did (so that the data already recorded stays
/// addressable), and its Virtual Allocation Table is the session's last block.
pub struct VatPlacement<'a> {
    /// First block of the session (its anchor is at this block + 256).
    pub session: u32,
    /// First block of the Volume Recognition Sequence: the session's block 16, or the block after its ISO 9660
    /// Volume Descriptor Set Terminator.
    pub vrs: u32,
    /// First block of the physical partition, at or before every data item and the metadata area.
    pub partition_start: u32,
    /// First block of the metadata area ([`UdfPlanner::metadata_blocks`]): the file set descriptor, entries and
    /// directories, which the VAT maps to virtual blocks 0 onwards. At least the session's start + [`HEAD_END`].
    pub metadata: u32,
    /// First block of the tail ([`UdfPlanner::vat_tail_blocks`]), after the data: it ends with the VAT.
    pub tail_start: u32,
    /// First block of each data item that has a nonzero size; every one must lie inside the partition.
    pub data: &'a dyn Fn(DataId) -> Option<u32>,
}

/// The regions a UDF layout writes, each a run of whole blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Volume Recognition Sequence.
    Vrs,
    /// Anchor at 256, both Volume Descriptor Sequences and the integrity sequence.
    Head,
    /// The metadata area at the partition start.
    Metadata,
    /// The metadata mirror (UDF 2.50, 2.60).
    Mirror,
    /// The reserve Volume Descriptor Sequence and the end anchors.
    Tail,
}

/// One region of a placed layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// What it holds.
    pub kind: RegionKind,
    /// First block.
    pub start: u32,
    /// Length in blocks.
    pub blocks: u32,
}

/// A layout with every block fixed: it writes each region on demand.
#[derive(Debug)]
pub struct UdfLayout<'t> {
    pub(crate) plan: UdfPlanner<'t>,
    pub(crate) vrs: u32,
    pub(crate) partition_start: u32,
    pub(crate) mirror: u32,
    pub(crate) tail_start: u32,
    pub(crate) tail_blocks: u32,
    /// Partition-relative first block of each data item.
    pub(crate) data: HashMap<DataId, u32>,
    /// First block of the session the volume is recorded in (0 for a volume of its own).
    pub(crate) session: u32,
    /// First block of the metadata area: the partition start, except in a VAT session.
    pub(crate) metadata_start: u32,
}

fn blocks_for(bytes: u64) -> u64 {
    bytes.div_ceil(u64::from(BLOCK_SIZE))
}

/// Length of a File Identifier Descriptor with a `name_len`-byte identifier, padded to 4 (ECMA-167 4/14.4.9).
pub(crate) fn fid_len(name_len: usize) -> u64 {
    (u64::from(FID_HEADER) + name_len as u64).div_ceil(4) * 4
}

impl<'t> UdfPlanner<'t> {
    /// Plans the metadata of `tree`: entries, directories, unique IDs, link counts.
    pub fn new(tree: &'t Tree, opts: UdfOptions) -> Result<Self, WriteError> {
        opts.validate()?;
        let n = tree.nodes.len();
        let mut links = vec![0u32; n];
        links[0] = 1;
        for (dir, entries) in tree.entries.iter().enumerate() {
            for e in entries {
                links[e.node.0 as usize] += 1;
                if matches!(tree.nodes[e.node.0 as usize].kind, NodeKind::Dir) {
                    links[dir] += 1;
                }
            }
        }
        let header = u64::from(opts.entry_header());
        let block = u64::from(BLOCK_SIZE);
        let max_ads = (block - header) / opts.file_ad_size();
        // Recording order: the root, then each directory's children right after it is listed, directories
        // depth first.
        let mut order = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        seen[0] = true;
        order.push(Tree::ROOT);
        let mut stack = vec![Tree::ROOT];
        while let Some(dir) = stack.pop() {
            let mut subdirs = Vec::new();
            for (_, child) in tree.entries(dir) {
                if std::mem::replace(&mut seen[child.0 as usize], true) {
                    continue;
                }
                order.push(child);
                if matches!(tree.nodes[child.0 as usize].kind, NodeKind::Dir) {
                    subdirs.push(child);
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        if order.len() != n {
            return Err(WriteError::plan("a node is not reachable from the root"));
        }
        let mut nodes: Vec<Option<NodePlan>> = vec![None; n];
        let mut next_block: u64 = 2;
        let mut next_unique = FIRST_UNIQUE_ID;
        let (mut files, mut directories) = (0u32, 0u32);
        let to_u32 = |v: u64| u32::try_from(v).map_err(|_| WriteError::ImageTooLarge { blocks: v });
        for &id in &order {
            let node = &tree.nodes[id.0 as usize];
            let icb = to_u32(next_block)?;
            next_block += 1;
            let unique_id = if id == Tree::ROOT {
                0
            } else {
                next_unique += 1;
                next_unique - 1
            };
            let (body, length) = match &node.kind {
                NodeKind::Dir => {
                    directories += 1;
                    let mut len = fid_len(0);
                    for (name, _) in tree.entries(id) {
                        len += fid_len(names::encoded_len(name));
                    }
                    let blocks = blocks_for(len);
                    let start = to_u32(next_block)?;
                    next_block += blocks;
                    (Body::Meta { start, blocks: to_u32(blocks)? }, len)
                }
                NodeKind::Symlink(target) => {
                    files += 1;
                    let len = names::symlink_components(target)?.len() as u64;
                    if header + len <= block {
                        (Body::Embedded, len)
                    } else {
                        let blocks = blocks_for(len);
                        let start = to_u32(next_block)?;
                        next_block += blocks;
                        (Body::Meta { start, blocks: to_u32(blocks)? }, len)
                    }
                }
                NodeKind::File { size: 0, .. } | NodeKind::Device { .. } | NodeKind::Fifo | NodeKind::Socket => {
                    files += 1;
                    (Body::None, 0)
                }
                NodeKind::File { data, size } => {
                    files += 1;
                    let needed = size.div_ceil(MAX_EXTENT);
                    if needed > max_ads {
                        return Err(WriteError::FileTooLarge { size: *size, needed, max: max_ads });
                    }
                    (Body::Data(*data), *size)
                }
            };
            let links = u16::try_from(links[id.0 as usize]).map_err(|_| WriteError::TooManyEntries)?;
            nodes[id.0 as usize] = Some(NodePlan { icb, body, unique_id, links, length });
        }
        let nodes: Vec<NodePlan> = nodes.into_iter().flatten().collect();
        let mut content = next_block;
        if opts.revision.metadata_partition() {
            content = content.div_ceil(u64::from(METADATA_ALLOCATION_UNIT)) * u64::from(METADATA_ALLOCATION_UNIT);
        }
        let content_blocks = u32::try_from(content).map_err(|_| WriteError::ImageTooLarge { blocks: content })?;
        Ok(UdfPlanner { tree, opts, nodes, content_blocks, order, files, directories, next_unique_id: next_unique })
    }

    /// Blocks of the metadata area recorded at the partition start (with a metadata partition: the Metadata
    /// File's contents and its entry).
    pub fn metadata_blocks(&self) -> u32 {
        self.content_blocks + u32::from(self.opts.revision.metadata_partition())
    }

    /// Blocks of the metadata mirror region (0 below UDF 2.50): the Metadata File's contents again and the
    /// Metadata Mirror File's entry.
    pub fn mirror_blocks(&self) -> u32 {
        if self.opts.revision.metadata_partition() {
            self.content_blocks + 1
        } else {
            0
        }
    }

    /// Blocks of the tail for an image whose tail starts at block `tail_start` (or at least there, when the
    /// caller knows only a lower bound): the reserve Volume Descriptor Sequence, then one anchor, or from
    /// [`BIG_TAIL_FROM`] on 257 blocks with anchors at both ends (ECMA-167 3/8.4.2.1 counts from the last sector:
    /// anchors at last-256 and last).
    pub fn tail_blocks(&self, tail_start: u64) -> u32 {
        VDS_BLOCKS + if tail_start >= u64::from(BIG_TAIL_FROM) { 257 } else { 1 }
    }

    /// The options the plan was made with.
    pub fn options(&self) -> &UdfOptions {
        &self.opts
    }

    /// Fixes the layout at `placement`, checking that the regions do not overlap and the data lies inside the
    /// partition.
    pub fn place(self, placement: &Placement<'_>) -> Result<UdfLayout<'t>, WriteError> {
        let Placement { vrs, partition_start, mirror, tail_start, tail_blocks, data } = *placement;
        if tail_blocks != VDS_BLOCKS + 1 && tail_blocks != VDS_BLOCKS + 257 {
            return Err(WriteError::plan(format!(
                "tail of {tail_blocks} blocks ({} or {})",
                VDS_BLOCKS + 1,
                VDS_BLOCKS + 257
            )));
        }
        if vrs < 16 || vrs + VRS_BLOCKS > ANCHOR_BLOCK {
            return Err(WriteError::plan(format!("VRS at block {vrs} must lie between 16 and 256")));
        }
        if partition_start < HEAD_END {
            return Err(WriteError::plan(format!("partition start {partition_start} is before block {HEAD_END}")));
        }
        let meta_end = u64::from(partition_start) + u64::from(self.metadata_blocks());
        if meta_end > u64::from(tail_start) {
            return Err(WriteError::plan("metadata area runs past the partition end"));
        }
        if self.opts.revision.metadata_partition() {
            let m_end = u64::from(mirror) + u64::from(self.mirror_blocks());
            if u64::from(mirror) < meta_end || m_end > u64::from(tail_start) {
                return Err(WriteError::plan("metadata mirror overlaps the metadata area or leaves the partition"));
            }
        }
        let end = u64::from(tail_start) + u64::from(tail_blocks);
        if end > u64::from(u32::MAX) {
            return Err(WriteError::ImageTooLarge { blocks: end });
        }
        let placed = self.place_data(partition_start, tail_start, data)?;
        Ok(UdfLayout {
            plan: self,
            vrs,
            partition_start,
            mirror,
            tail_start,
            tail_blocks,
            data: placed,
            session: 0,
            metadata_start: partition_start,
        })
    }

    /// Each data item's block relative to `partition_start`, as `data` places it, checked to lie inside the
    /// partition (before `tail_start`); an item several nodes share is placed once.
    fn place_data(
        &self,
        partition_start: u32,
        tail_start: u32,
        data: &dyn Fn(DataId) -> Option<u32>,
    ) -> Result<HashMap<DataId, u32>, WriteError> {
        let mut placed = HashMap::new();
        for (id, p) in self.nodes.iter().enumerate() {
            if let Body::Data(d) = p.body {
                if placed.contains_key(&d) {
                    continue;
                }
                let start = data(d).ok_or_else(|| WriteError::plan(format!("data item {} has no place", d.0)))?;
                let stop = u64::from(start) + blocks_for(p.length);
                if start < partition_start || stop > u64::from(tail_start) {
                    return Err(WriteError::plan(format!(
                        "data of node {id} at blocks {start}..{stop} lies outside the partition"
                    )));
                }
                placed.insert(d, start - partition_start);
            }
        }
        Ok(placed)
    }

    /// Bytes of the Virtual Allocation Table: one entry per block of the metadata area, with the UDF 2.01 header
    /// or the UDF 1.50 trailer.
    pub(crate) fn vat_bytes(&self) -> u64 {
        let entries = 4 * u64::from(self.content_blocks);
        if self.opts.revision.nsr03() {
            entries + VAT_HEADER
        } else {
            entries + VAT150_TRAILER
        }
    }

    /// Blocks of the VAT recorded before its entry (0 when it is embedded in the entry).
    pub(crate) fn vat_data_blocks(&self) -> u32 {
        let bytes = self.vat_bytes();
        if u64::from(self.opts.entry_header()) + bytes <= u64::from(BLOCK_SIZE) {
            0
        } else {
            blocks_for(bytes) as u32
        }
    }

    /// Blocks of the tail of a VAT session: the reserve Volume Descriptor Sequence, an anchor, 255 blocks (the
    /// VAT's own blocks at their end when it is not embedded) and the VAT's entry, the last block, so that the
    /// anchor is 256 before it (UDF 2.60 6.11: anchors at 256 and N-256 on sequential media, N the last block).
    pub fn vat_tail_blocks(&self) -> Result<u32, WriteError> {
        if self.vat_data_blocks() > 255 {
            return Err(WriteError::plan(format!(
                "a Virtual Allocation Table of {} blocks is more than the 255 before its entry",
                self.vat_data_blocks()
            )));
        }
        Ok(VDS_BLOCKS + 257)
    }

    /// Fixes the layout of a volume with a virtual partition at `placement` (the options must say
    /// [`UdfOptions::virtual_partition`]), checking that the regions follow each other inside the partition.
    pub fn place_vat(self, placement: &VatPlacement<'_>) -> Result<UdfLayout<'t>, WriteError> {
        let VatPlacement { session, vrs, partition_start, metadata, tail_start, data } = *placement;
        if !self.opts.vat {
            return Err(WriteError::plan("a VAT placement for a volume without a virtual partition"));
        }
        let tail_blocks = self.vat_tail_blocks()?;
        if vrs < session + 16 || vrs + VRS_BLOCKS > session + ANCHOR_BLOCK {
            return Err(WriteError::plan(format!(
                "VRS at block {vrs} must lie between {} and the anchor",
                session + 16
            )));
        }
        if metadata < session + HEAD_END || partition_start > metadata {
            return Err(WriteError::plan(format!(
                "metadata area at {metadata}: before the session's descriptors or the partition start {partition_start}"
            )));
        }
        if u64::from(metadata) + u64::from(self.metadata_blocks()) > u64::from(tail_start) {
            return Err(WriteError::plan("metadata area runs into the tail"));
        }
        let end = u64::from(tail_start) + u64::from(tail_blocks);
        if end > u64::from(u32::MAX) {
            return Err(WriteError::ImageTooLarge { blocks: end });
        }
        let placed = self.place_data(partition_start, tail_start, data)?;
        Ok(UdfLayout {
            plan: self,
            vrs,
            partition_start,
            mirror: 0,
            tail_start,
            tail_blocks,
            data: placed,
            session,
            metadata_start: metadata,
        })
    }
}

/// Bytes of the UDF 2.00+ VAT header (UDF 2.60 2.2.11), without implementation use.
const VAT_HEADER: u64 = 152;
/// Bytes after the entries of a UDF 1.50 VAT: the "*UDF Virtual Alloc Tbl" identifier and the previous VAT.
const VAT150_TRAILER: u64 = 36;

impl UdfLayout<'_> {
    /// The regions to write, in block order. Blocks between them belong to the caller (file data, ISO 9660
    /// structures) or are zero.
    pub fn regions(&self) -> Vec<Region> {
        let mut v = vec![
            Region { kind: RegionKind::Vrs, start: self.vrs, blocks: VRS_BLOCKS },
            Region { kind: RegionKind::Head, start: self.session + ANCHOR_BLOCK, blocks: HEAD_END - ANCHOR_BLOCK },
            Region { kind: RegionKind::Metadata, start: self.metadata_start, blocks: self.plan.metadata_blocks() },
        ];
        if self.plan.mirror_blocks() > 0 {
            v.push(Region { kind: RegionKind::Mirror, start: self.mirror, blocks: self.plan.mirror_blocks() });
        }
        v.push(Region { kind: RegionKind::Tail, start: self.tail_start, blocks: self.tail_blocks });
        v.sort_by_key(|r| r.start);
        v
    }

    /// Size of the image in blocks: the end of the tail.
    pub fn total_blocks(&self) -> u32 {
        self.tail_start + self.tail_blocks
    }

    /// Length of the partition in blocks (with a virtual partition: up to the VAT's entry, the last block).
    pub fn partition_blocks(&self) -> u32 {
        if self.plan.opts.vat {
            self.tail_start + self.tail_blocks - self.partition_start
        } else {
            self.tail_start - self.partition_start
        }
    }
}

//! Phase two: the bytes of each region of a placed [`UdfLayout`], built from the `format` structures and
//! sealed (tag checksum, CRC, location) block by block.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::error::WriteError;
use super::names;
use super::plan::{
    fid_len, Body, UdfLayout, ANCHOR_BLOCK, BLOCK_SIZE, LVID_BLOCK, MAIN_VDS, MAX_EXTENT, METADATA_ALLOCATION_UNIT,
    VDS_BLOCKS,
};
use super::tree::{NodeId, NodeKind, Time, Tree};
use crate::format::ad::{AdForm, AllocationDescriptor, ExtentAd, ExtentType, LbAddr, LongAd};
use crate::format::anchor::AnchorVolumeDescriptorPointer;
use crate::format::cs0;
use crate::format::entity::{self, Charspec, EntityId};
use crate::format::fid::{characteristics, FileIdentifierDescriptor};
use crate::format::file_entry::{file_type, icb_flags, FileEntry, IcbTag};
use crate::format::file_set::FileSetDescriptor;
use crate::format::integrity::{IntegrityImplementationUse, LogicalVolumeIntegrityDescriptor, INTEGRITY_CLOSE};
use crate::format::partition::{
    LogicalVolumeDescriptor, PartitionDescriptor, PartitionMap, VatHeader, VirtualAllocationTable, VAT_UNUSED,
};
use crate::format::tag::{ident, seal, DescriptorTag};
use crate::format::timestamp::Timestamp;
use crate::format::volume::{
    ImplementationUseVolumeDescriptor, LvInfo, PrimaryVolumeDescriptor, TerminatingDescriptor,
    UnallocatedSpaceDescriptor,
};
use crate::format::vrs::{VolumeStructureDescriptor, BEA01, NSR02, NSR03, TEA01};

const BLOCK: usize = BLOCK_SIZE as usize;
/// Implementation identifier of everything odix records (UDF 2.60 2.1.5.2).
const IMPLEMENTATION: &[u8] = b"*odix";
/// UDF 2.60 6.3 operating system class and identifier: UNIX, Linux.
const OS_CLASS_UNIX: u8 = 4;
const OS_LINUX: u8 = 5;
/// ECMA-167 3/10.5.7 access type: read-only (no space bitmap or table needed).
const ACCESS_READ_ONLY: u32 = 1;
/// ECMA-167 3/10.5.7 access type: write-once (a sequentially recorded medium with a VAT).
const ACCESS_WRITE_ONCE: u32 = 2;
/// Partition Descriptor flags bit 0: the volume space is allocated.
const PARTITION_ALLOCATED: u16 = 1;
/// ICB strategy 4 (ECMA-167 4/14.6.2): one direct entry.
const STRATEGY_4: u16 = 4;
/// Partition Contents identifiers (ECMA-167 3/10.5.5).
const CONTENTS_NSR02: &[u8] = b"+NSR02";
const CONTENTS_NSR03: &[u8] = b"+NSR03";
/// Metadata partition map flags bit 0: the mirror holds its own copy.
const METADATA_DUPLICATED: u8 = 1;
/// Metadata partition map: no bitmap file (the partition is read-only).
const NO_BITMAP: u32 = u32::MAX;
/// Seconds range of UDF timestamps: years 1 to 9999.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

/// Writes `data` padded with zeros to whole blocks.
fn put<W: Write>(w: &mut W, data: &[u8]) -> Result<(), WriteError> {
    w.write_all(data)?;
    let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
    put_zeros(w, pad as u64)
}

pub(crate) fn put_zeros<W: Write + ?Sized>(w: &mut W, mut n: u64) -> Result<(), WriteError> {
    static ZEROS: [u8; 65536] = [0; 65536];
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        w.write_all(&ZEROS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

/// Serialises a descriptor with `write` and seals its tag for `location`.
fn sealed(location: u32, write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<Vec<u8>, WriteError> {
    let mut v = Vec::with_capacity(512);
    write(&mut v)?;
    seal(&mut v, location);
    Ok(v)
}

fn dstring<const N: usize>(s: &str) -> Result<[u8; N], WriteError> {
    let v = cs0::encode_dstring(s, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&v);
    Ok(out)
}

/// The UDF timestamp of `t` (type 1, UTC), clamped to the years 1 to 9999.
pub(crate) fn timestamp(t: Time) -> Timestamp {
    let secs = t.secs.clamp(MIN_SECS, MAX_SECS);
    let dt = DateTime::<Utc>::from_timestamp(secs, t.nanos.min(999_999_999)).unwrap_or_default();
    Timestamp::from_utc(&dt)
}

/// ECMA-167 4/14.9.5 permissions from POSIX bits: execute, write, read of other (bits 0–2), group (5–7) and
/// owner (10–12).
pub(crate) fn permissions(perm: u32) -> u32 {
    (perm & 0o7) | ((perm & 0o70) << 2) | ((perm & 0o700) << 4)
}

impl UdfLayout<'_> {
    fn rev(&self) -> super::options::Revision {
        self.plan.opts.revision
    }

    fn tag(&self, identifier: u16) -> DescriptorTag {
        DescriptorTag::new(identifier, self.rev().descriptor_version(), 0, 0)
    }

    fn implementation_id(&self) -> EntityId {
        EntityId::new(IMPLEMENTATION, [OS_CLASS_UNIX, OS_LINUX, 0, 0, 0, 0, 0, 0])
    }

    /// A UDF identifier suffix (UDF 2.60 2.1.5.3): revision, OS class and identifier.
    fn udf_id(&self, id: &[u8]) -> EntityId {
        let [lo, hi] = self.rev().number().to_le_bytes();
        EntityId::new(id, [lo, hi, OS_CLASS_UNIX, OS_LINUX, 0, 0, 0, 0])
    }

    /// The domain identifier (UDF 2.60 2.1.5.3): revision and no write protection flags.
    fn domain_id(&self) -> EntityId {
        let [lo, hi] = self.rev().number().to_le_bytes();
        EntityId::new(entity::DOMAIN_OSTA_UDF, [lo, hi, 0, 0, 0, 0, 0, 0])
    }

    fn recorded(&self) -> Timestamp {
        timestamp(self.plan.opts.recording_time)
    }

    /// Partition reference of the file system: 1 (the metadata or virtual partition) or 0.
    fn fs_partition(&self) -> u16 {
        self.plan.opts.fs_partition()
    }

    fn vat(&self) -> bool {
        self.plan.opts.vat
    }

    /// Writes the Volume Recognition Sequence (3 blocks).
    pub fn write_vrs<W: Write>(&self, w: &mut W) -> Result<(), WriteError> {
        let nsr = if self.rev().nsr03() { NSR03 } else { NSR02 };
        for id in [BEA01, nsr, TEA01] {
            VolumeStructureDescriptor::new(id).write_to(w)?;
        }
        Ok(())
    }

    fn anchor(&self, location: u32) -> Result<Vec<u8>, WriteError> {
        let len = VDS_BLOCKS * BLOCK_SIZE;
        let avdp = AnchorVolumeDescriptorPointer {
            tag: self.tag(ident::ANCHOR),
            main: ExtentAd { length: len, location: self.session + MAIN_VDS },
            reserve: ExtentAd { length: len, location: self.tail_start },
        };
        sealed(location, |v| avdp.write_to(v))
    }

    /// The six descriptors of a Volume Descriptor Sequence starting at block `at`.
    fn vds(&self, at: u32) -> Result<Vec<Vec<u8>>, WriteError> {
        let o = &self.plan.opts;
        let rev = self.rev();
        let mut app = [0u8; 23];
        for (d, s) in app.iter_mut().zip(o.application.as_bytes()) {
            *d = *s;
        }
        let pvd = PrimaryVolumeDescriptor {
            tag: self.tag(ident::PRIMARY_VOLUME),
            sequence_number: 0,
            number: 0,
            volume_identifier: dstring(&o.volume_id)?,
            volume_sequence_number: 1,
            max_volume_sequence_number: 1,
            interchange_level: 2,
            max_interchange_level: 2,
            character_set_list: 1,
            max_character_set_list: 1,
            volume_set_identifier: dstring(&o.volume_set_id_or_default())?,
            descriptor_charset: Charspec::osta_cs0(),
            explanatory_charset: Charspec::osta_cs0(),
            volume_abstract: ExtentAd::default(),
            volume_copyright: ExtentAd::default(),
            application_identifier: EntityId { flags: 0, identifier: app, suffix: [0; 8] },
            recording_time: self.recorded(),
            implementation_identifier: self.implementation_id(),
            implementation_use: [0; 64],
            predecessor_sequence_location: 0,
            flags: 0,
        };
        let lv_id: [u8; 128] = dstring(&o.volume_id)?;
        let lvinfo = LvInfo {
            charset: Charspec::osta_cs0(),
            logical_volume_identifier: lv_id,
            info: [[0; 36]; 3],
            implementation_id: self.implementation_id(),
            implementation_use: [0; 128],
        };
        let mut iu = Vec::with_capacity(460);
        lvinfo.write_to(&mut iu)?;
        let iuvd = ImplementationUseVolumeDescriptor {
            tag: self.tag(ident::IMPLEMENTATION_USE),
            sequence_number: 1,
            implementation_identifier: self.udf_id(entity::LV_INFO),
            implementation_use: iu,
        };
        let contents = if rev.nsr03() { CONTENTS_NSR03 } else { CONTENTS_NSR02 };
        let pd = PartitionDescriptor {
            tag: self.tag(ident::PARTITION),
            sequence_number: 2,
            flags: PARTITION_ALLOCATED,
            number: 0,
            contents: EntityId::new(contents, [0; 8]),
            contents_use: vec![0; 128],
            access_type: if self.vat() { ACCESS_WRITE_ONCE } else { ACCESS_READ_ONLY },
            start: self.partition_start,
            length: self.partition_blocks(),
            implementation_identifier: self.implementation_id(),
            implementation_use: vec![0; 128],
        };
        let mut maps = vec![PartitionMap::Type1 { volume_sequence_number: 1, partition_number: 0 }];
        if self.vat() {
            maps.push(PartitionMap::Virtual {
                volume_sequence_number: 1,
                partition_number: 0,
                identifier: self.udf_id(entity::VIRTUAL_PARTITION),
            });
        }
        if rev.metadata_partition() {
            maps.push(PartitionMap::Metadata {
                volume_sequence_number: 1,
                partition_number: 0,
                metadata_file: self.plan.content_blocks,
                mirror_file: self.mirror - self.partition_start + self.plan.content_blocks,
                bitmap_file: NO_BITMAP,
                allocation_unit: METADATA_ALLOCATION_UNIT,
                alignment_unit: 1,
                flags: METADATA_DUPLICATED,
                identifier: self.udf_id(entity::METADATA_PARTITION),
            });
        }
        let lvd = LogicalVolumeDescriptor {
            tag: self.tag(ident::LOGICAL_VOLUME),
            sequence_number: 3,
            descriptor_charset: Charspec::osta_cs0(),
            logical_volume_identifier: lv_id,
            logical_block_size: BLOCK_SIZE,
            domain_identifier: self.domain_id(),
            file_set_location: LongAd {
                length: 2 * BLOCK_SIZE,
                location: LbAddr { block: 0, partition: self.fs_partition() },
                implementation_use: [0; 6],
            },
            map_count: maps.len() as u32,
            implementation_identifier: self.implementation_id(),
            implementation_use: vec![0; 128],
            integrity_sequence: ExtentAd { length: 2 * BLOCK_SIZE, location: self.session + LVID_BLOCK },
            maps,
        };
        let usd = UnallocatedSpaceDescriptor {
            tag: self.tag(ident::UNALLOCATED_SPACE),
            sequence_number: 4,
            extents: Vec::new(),
        };
        let td = TerminatingDescriptor { tag: self.tag(ident::TERMINATING) };
        Ok(vec![
            sealed(at, |v| pvd.write_to(v))?,
            sealed(at + 1, |v| iuvd.write_to(v))?,
            sealed(at + 2, |v| pd.write_to(v))?,
            sealed(at + 3, |v| lvd.write_to(v))?,
            sealed(at + 4, |v| usd.write_to(v))?,
            sealed(at + 5, |v| td.write_to(v))?,
        ])
    }

    /// The oldest revision a reader needs (UDF 2.60 2.2.6.4): 2.60 adds nothing odix records over 2.50
    /// (pseudo-overwrite is for writable media), so 2.50 readers such as Linux 6.1 read a 2.60 image.
    fn min_read_revision(&self) -> u16 {
        self.rev().number().min(0x0250)
    }

    fn lvid(&self) -> Result<Vec<u8>, WriteError> {
        let p = &self.plan;
        let rev = self.rev().number();
        let mut iu = Vec::new();
        IntegrityImplementationUse {
            implementation_id: self.implementation_id(),
            files: p.files,
            directories: p.directories,
            min_read_revision: self.min_read_revision(),
            min_write_revision: rev,
            max_write_revision: rev,
            rest: Vec::new(),
        }
        .write_to(&mut iu)?;
        let mut contents_use = [0u8; 32];
        contents_use[..8].copy_from_slice(&p.next_unique_id.to_le_bytes());
        let (free_space, size) = if self.rev().metadata_partition() || self.vat() {
            (vec![0, 0], vec![self.partition_blocks(), p.content_blocks])
        } else {
            (vec![0], vec![self.partition_blocks()])
        };
        let lvid = LogicalVolumeIntegrityDescriptor {
            tag: self.tag(ident::LOGICAL_VOLUME_INTEGRITY),
            recording_time: self.recorded(),
            integrity_type: INTEGRITY_CLOSE,
            next_extent: ExtentAd::default(),
            contents_use,
            free_space,
            size,
            implementation_use: iu,
        };
        sealed(self.session + LVID_BLOCK, |v| lvid.write_to(v))
    }

    /// Writes a Volume Descriptor Sequence at block `at`, padded to [`VDS_BLOCKS`].
    fn write_vds<W: Write>(&self, w: &mut W, at: u32) -> Result<(), WriteError> {
        let descs = self.vds(at)?;
        let n = descs.len() as u64;
        for d in descs {
            put(w, &d)?;
        }
        put_zeros(w, (u64::from(VDS_BLOCKS) - n) * BLOCK as u64)
    }

    /// Writes the anchor at 256, the main Volume Descriptor Sequence and the integrity sequence (blocks 256 to
    /// [`super::plan::HEAD_END`]).
    pub fn write_head<W: Write>(&self, w: &mut W) -> Result<(), WriteError> {
        put(w, &self.anchor(self.session + ANCHOR_BLOCK)?)?;
        self.write_vds(w, self.session + MAIN_VDS)?;
        put(w, &self.lvid()?)?;
        let td = TerminatingDescriptor { tag: self.tag(ident::TERMINATING) };
        put(w, &sealed(self.session + LVID_BLOCK + 1, |v| td.write_to(v))?)
    }

    /// Writes the tail: the reserve Volume Descriptor Sequence, then one anchor, or an anchor, 255 zero blocks
    /// and an anchor.
    pub fn write_tail<W: Write>(&self, w: &mut W) -> Result<(), WriteError> {
        self.write_vds(w, self.tail_start)?;
        let first = self.tail_start + VDS_BLOCKS;
        let anchors = self.tail_blocks - VDS_BLOCKS;
        put(w, &self.anchor(first)?)?;
        if self.vat() {
            return self.write_vat(w, first + 1, first + anchors - 1);
        }
        if anchors > 1 {
            put_zeros(w, u64::from(anchors - 2) * BLOCK as u64)?;
            put(w, &self.anchor(first + anchors - 1)?)?;
        }
        Ok(())
    }

    /// Writes the metadata area recorded at the partition start.
    pub fn write_metadata<W: Write>(&self, w: &mut W) -> Result<(), WriteError> {
        self.write_content(w)?;
        if self.rev().metadata_partition() {
            let c = self.plan.content_blocks;
            let len = u64::from(c) * BLOCK as u64;
            put(w, &self.metadata_file_entry(file_type::METADATA, c, 0, len)?)?;
        }
        Ok(())
    }

    /// Writes the metadata mirror region (UDF 2.50, 2.60): the same blocks as the metadata file, then the
    /// Metadata Mirror File's entry, away from the Metadata File's (UDF 2.60 2.2.13.1: not adjacent).
    pub fn write_mirror<W: Write>(&self, w: &mut W) -> Result<(), WriteError> {
        if self.rev().metadata_partition() {
            self.write_content(w)?;
            let c = self.plan.content_blocks;
            let start = self.mirror - self.partition_start;
            let len = u64::from(c) * BLOCK as u64;
            put(w, &self.metadata_file_entry(file_type::METADATA_MIRROR, start + c, start, len)?)?;
        }
        Ok(())
    }

    /// Writes the blocks from `from` to the VAT's entry at `icb` (the last block of the volume): zeros, then the
    /// VAT's own blocks when it is not embedded in its entry, then the entry. The VAT maps virtual block `v` to
    /// the metadata area's block `v`.
    fn write_vat<W: Write>(&self, w: &mut W, from: u32, icb: u32) -> Result<(), WriteError> {
        let p = &self.plan;
        let base = self.metadata_start - self.partition_start;
        let entries: Vec<u32> = (0..p.content_blocks).map(|v| base + v).collect();
        let lv_id: [u8; 128] = dstring(&p.opts.volume_id)?;
        let header = p.opts.revision.nsr03().then(|| VatHeader {
            logical_volume_identifier: lv_id,
            files: p.files,
            directories: p.directories,
            min_read_revision: self.min_read_revision(),
            min_write_revision: self.rev().number(),
            max_write_revision: self.rev().number(),
            implementation_use: Vec::new(),
        });
        let table = VirtualAllocationTable { header, entries, previous_vat: VAT_UNUSED };
        let mut bytes = Vec::new();
        table.write_to(&mut bytes)?;
        debug_assert_eq!(bytes.len() as u64, p.vat_bytes());
        let data_blocks = p.vat_data_blocks();
        let data_start = icb - data_blocks;
        put_zeros(w, u64::from(data_start - from) * BLOCK as u64)?;
        let (flags, ads) = if data_blocks == 0 {
            (3, bytes.clone())
        } else {
            put(w, &bytes)?;
            let list = [AllocationDescriptor {
                extent_type: ExtentType::Recorded,
                length: bytes.len() as u32,
                location: LbAddr { block: data_start - self.partition_start, partition: 0 },
            }];
            let mut raw = Vec::new();
            crate::format::ad::write_list(AdForm::Short, &list, &mut raw)?;
            (0, raw)
        };
        let t = self.recorded();
        let kind = if p.opts.revision.nsr03() { file_type::VAT } else { file_type::UNSPECIFIED };
        let fe = self.entry(EntryFields {
            file_type: kind,
            flags,
            uid: u32::MAX,
            gid: u32::MAX,
            permissions: 0,
            links: 1,
            length: bytes.len() as u64,
            blocks: u64::from(data_blocks),
            times: [t; 4],
            unique_id: 0,
            ads,
        });
        put(w, &sealed(icb - self.partition_start, |v| fe.write_to(v))?)
    }

    fn metadata_file_entry(&self, kind: u8, at: u32, start: u32, len: u64) -> Result<Vec<u8>, WriteError> {
        let mut ads = Vec::new();
        let mut off = 0u64;
        while off < len {
            let l = (len - off).min(MAX_EXTENT);
            ads.push(AllocationDescriptor {
                extent_type: ExtentType::Recorded,
                length: l as u32,
                location: LbAddr { block: start + (off / BLOCK as u64) as u32, partition: 0 },
            });
            off += l;
        }
        let mut raw = Vec::new();
        crate::format::ad::write_list(AdForm::Short, &ads, &mut raw)?;
        let t = self.recorded();
        let fe = self.entry(EntryFields {
            file_type: kind,
            flags: 0,
            uid: u32::MAX,
            gid: u32::MAX,
            permissions: 0,
            links: 1,
            length: len,
            blocks: len / BLOCK as u64,
            times: [t; 4],
            unique_id: 0,
            ads: raw,
        });
        sealed(at, |v| fe.write_to(v))
    }

    fn entry(&self, f: EntryFields) -> FileEntry {
        let extended = self.rev().extended_entries();
        let id = if extended { ident::EXTENDED_FILE_ENTRY } else { ident::FILE_ENTRY };
        let [atime, mtime, crtime, attrtime] = f.times;
        FileEntry {
            tag: self.tag(id),
            icb_tag: IcbTag {
                prior_direct_entries: 0,
                strategy_type: STRATEGY_4,
                strategy_parameter: 0,
                max_entries: 1,
                reserved: 0,
                file_type: f.file_type,
                parent: LbAddr::default(),
                flags: f.flags,
            },
            uid: f.uid,
            gid: f.gid,
            permissions: f.permissions,
            link_count: f.links,
            record_format: 0,
            record_display_attributes: 0,
            record_length: 0,
            information_length: f.length,
            object_size: if extended { f.length } else { 0 },
            logical_blocks_recorded: f.blocks,
            access_time: atime,
            modification_time: mtime,
            creation_time: if extended { crtime } else { Timestamp::default() },
            attribute_time: attrtime,
            checkpoint: 1,
            reserved: 0,
            extended_attribute_icb: LongAd::default(),
            stream_directory_icb: LongAd::default(),
            implementation_identifier: self.implementation_id(),
            unique_id: f.unique_id,
            extended_attributes: Vec::new(),
            allocation_descriptors: f.ads,
        }
    }

    fn node_entry(&self, id: NodeId) -> Result<Vec<u8>, WriteError> {
        let tree = self.plan.tree;
        let node = &tree.nodes[id.0 as usize];
        let p = &self.plan.nodes[id.0 as usize];
        let m = &node.meta;
        let mut flags = 0u16;
        if m.perm & 0o4000 != 0 {
            flags |= icb_flags::SETUID;
        }
        if m.perm & 0o2000 != 0 {
            flags |= icb_flags::SETGID;
        }
        if m.perm & 0o1000 != 0 {
            flags |= icb_flags::STICKY;
        }
        let kind = match node.kind {
            NodeKind::Dir => file_type::DIRECTORY,
            NodeKind::File { .. } => file_type::REGULAR,
            NodeKind::Symlink(_) => file_type::SYMLINK,
            NodeKind::Device { block: true, .. } => file_type::BLOCK_DEVICE,
            NodeKind::Device { block: false, .. } => file_type::CHARACTER_DEVICE,
            NodeKind::Fifo => file_type::FIFO,
            NodeKind::Socket => file_type::SOCKET,
        };
        let extended_attributes = match node.kind {
            NodeKind::Device { major, minor, .. } => {
                device_attributes(p.icb, self.tag(ident::EXTENDED_ATTRIBUTE_HEADER), major, minor)
            }
            _ => Vec::new(),
        };
        let mut ads = Vec::new();
        let mut blocks = 0u64;
        match p.body {
            Body::None => {}
            Body::Embedded => {
                flags |= 3;
                if let NodeKind::Symlink(target) = &node.kind {
                    ads = names::symlink_components(target)?;
                }
            }
            Body::Meta { start, blocks: b } => {
                blocks = u64::from(b);
                let list = [AllocationDescriptor {
                    extent_type: ExtentType::Recorded,
                    length: u32::try_from(p.length).map_err(|_| WriteError::plan("directory over 1 GiB"))?,
                    location: LbAddr { block: start, partition: self.fs_partition() },
                }];
                crate::format::ad::write_list(AdForm::Short, &list, &mut ads)?;
            }
            Body::Data(d) => {
                let start = *self.data.get(&d).ok_or_else(|| WriteError::plan("data item not placed"))?;
                let mut list = Vec::new();
                let mut off = 0u64;
                while off < p.length {
                    let l = (p.length - off).min(MAX_EXTENT);
                    list.push(AllocationDescriptor {
                        extent_type: ExtentType::Recorded,
                        length: l as u32,
                        location: LbAddr { block: start + (off / BLOCK as u64) as u32, partition: 0 },
                    });
                    off += l;
                }
                blocks = p.length.div_ceil(BLOCK as u64);
                let form = if self.fs_partition() == 1 {
                    flags |= 1;
                    AdForm::Long
                } else {
                    AdForm::Short
                };
                crate::format::ad::write_list(form, &list, &mut ads)?;
            }
        }
        let fe = self.entry(EntryFields {
            file_type: kind,
            flags,
            uid: m.uid,
            gid: m.gid,
            permissions: permissions(m.perm),
            links: p.links,
            length: p.length,
            blocks,
            times: [timestamp(m.atime), timestamp(m.mtime), timestamp(m.crtime.unwrap_or(m.mtime)), timestamp(m.ctime)],
            unique_id: p.unique_id,
            ads,
        });
        let fe = FileEntry { extended_attributes, ..fe };
        sealed(p.icb, |v| fe.write_to(v))
    }

    /// The File Identifier Descriptors of directory `dir`, which start at metadata block `start`.
    fn directory(&self, dir: NodeId, start: u32) -> Result<Vec<u8>, WriteError> {
        let tree: &Tree = self.plan.tree;
        let mut out = Vec::new();
        let fs = self.fs_partition();
        let push = |node: NodeId, ch: u8, name: Vec<u8>, out: &mut Vec<u8>| -> Result<(), WriteError> {
            let p = &self.plan.nodes[node.0 as usize];
            let mut iu = [0u8; 6];
            iu[2..].copy_from_slice(&(p.unique_id as u32).to_le_bytes());
            let fid = FileIdentifierDescriptor {
                tag: self.tag(ident::FILE_IDENTIFIER),
                version: 1,
                characteristics: ch,
                icb: LongAd {
                    length: BLOCK_SIZE,
                    location: LbAddr { block: p.icb, partition: fs },
                    implementation_use: iu,
                },
                implementation_use: Vec::new(),
                identifier: name,
            };
            let at = start + (out.len() / BLOCK) as u32;
            let mut v = Vec::with_capacity(fid.len());
            fid.write_to(&mut v)?;
            seal(&mut v, at);
            out.extend_from_slice(&v);
            Ok(())
        };
        let parent = tree.nodes[dir.0 as usize].parent;
        push(parent, characteristics::DIRECTORY | characteristics::PARENT, Vec::new(), &mut out)?;
        for (name, node) in tree.entries(dir) {
            let ch =
                if matches!(tree.nodes[node.0 as usize].kind, NodeKind::Dir) { characteristics::DIRECTORY } else { 0 };
            push(node, ch, names::file_identifier(name), &mut out)?;
        }
        debug_assert_eq!(out.len() as u64, self.plan.nodes[dir.0 as usize].length);
        debug_assert_eq!(fid_len(0), 40);
        Ok(out)
    }

    /// The metadata contents: FSD, TD, then every entry with its directory or symlink blocks, padded.
    fn write_content<W: Write>(&self, w: &mut W) -> Result<(), WriteError> {
        let o = &self.plan.opts;
        let fs = self.fs_partition();
        let root = &self.plan.nodes[0];
        let fsd = FileSetDescriptor {
            tag: self.tag(ident::FILE_SET),
            recording_time: self.recorded(),
            interchange_level: 3,
            max_interchange_level: 3,
            character_set_list: 1,
            max_character_set_list: 1,
            file_set_number: 0,
            file_set_descriptor_number: 0,
            logical_volume_charset: Charspec::osta_cs0(),
            logical_volume_identifier: dstring(&o.volume_id)?,
            file_set_charset: Charspec::osta_cs0(),
            file_set_identifier: dstring(&o.volume_id)?,
            copyright_file_identifier: [0; 32],
            abstract_file_identifier: [0; 32],
            root_directory_icb: LongAd {
                length: BLOCK_SIZE,
                location: LbAddr { block: root.icb, partition: fs },
                implementation_use: [0; 6],
            },
            domain_identifier: self.domain_id(),
            next_extent: LongAd::default(),
            system_stream_directory_icb: LongAd::default(),
        };
        put(w, &sealed(0, |v| fsd.write_to(v))?)?;
        let td = TerminatingDescriptor { tag: self.tag(ident::TERMINATING) };
        put(w, &sealed(1, |v| td.write_to(v))?)?;
        let mut written: u64 = 2;
        for &id in &self.plan.order {
            let p = &self.plan.nodes[id.0 as usize];
            if u64::from(p.icb) != written {
                return Err(WriteError::plan(format!(
                    "entry of node {} at block {} written at {written}",
                    id.0, p.icb
                )));
            }
            put(w, &self.node_entry(id)?)?;
            written += 1;
            if let Body::Meta { start, blocks } = p.body {
                let data = match &self.plan.tree.nodes[id.0 as usize].kind {
                    NodeKind::Dir => self.directory(id, start)?,
                    NodeKind::Symlink(t) => names::symlink_components(t)?,
                    _ => Vec::new(),
                };
                put(w, &data)?;
                written += u64::from(blocks);
            }
        }
        put_zeros(w, (u64::from(self.plan.content_blocks) - written) * BLOCK as u64)
    }
}

/// The extended attributes of a device's entry at block `icb`: an Extended Attribute Header Descriptor
/// (ECMA-167 4/14.10.1) and a Device Specification (4/14.10.7). The format module parses these but has no
/// serialiser for them, so they are laid out here.
fn device_attributes(icb: u32, tag: DescriptorTag, major: u32, minor: u32) -> Vec<u8> {
    /// Header (24 bytes) and one Device Specification without implementation use (24 bytes).
    const LEN: u32 = 48;
    let mut header = tag.to_bytes().to_vec();
    // Implementation and application attributes: none, so both locations are the end of the attributes.
    header.extend_from_slice(&LEN.to_le_bytes());
    header.extend_from_slice(&LEN.to_le_bytes());
    seal(&mut header, icb);
    let mut ea = header;
    ea.extend_from_slice(&12u32.to_le_bytes()); // attribute type: Device Specification
    ea.extend_from_slice(&[1, 0, 0, 0]); // subtype 1, reserved
    ea.extend_from_slice(&24u32.to_le_bytes()); // attribute length
    ea.extend_from_slice(&0u32.to_le_bytes()); // implementation use length
    ea.extend_from_slice(&major.to_le_bytes());
    ea.extend_from_slice(&minor.to_le_bytes());
    ea
}

struct EntryFields {
    file_type: u8,
    flags: u16,
    uid: u32,
    gid: u32,
    permissions: u32,
    links: u16,
    length: u64,
    blocks: u64,
    /// Access, modification, creation, attribute.
    times: [Timestamp; 4],
    unique_id: u64,
    ads: Vec<u8>,
}

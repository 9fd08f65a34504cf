//! Opening a volume: block size, Volume Recognition Sequence, anchors, the main or reserve Volume Descriptor
//! Sequence, partition maps (with the sparing tables, VAT and metadata files they need), the integrity
//! sequence and the File Set Descriptor.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek};

use super::dir::DirEntry;
use super::entry::{Data, Entry};
use super::file::FileReader;
use super::io::BlockIo;
use super::partition::{Mapping, MappingKind, Maps, Place, Run};
use crate::error::{Checked, Error, Result};
use crate::format::ad::{ExtentAd, ExtentType, LbAddr};
use crate::format::anchor::{AnchorVolumeDescriptorPointer, ANCHOR_SECTOR};
use crate::format::entity;
use crate::format::file_entry::{file_type, FileEntry};
use crate::format::file_set::FileSetDescriptor;
use crate::format::integrity::{LogicalVolumeIntegrityDescriptor, INTEGRITY_CLOSE, INTEGRITY_OPEN};
use crate::format::partition::{
    LogicalVolumeDescriptor, PartitionDescriptor, PartitionMap, SparingTable, VirtualAllocationTable, SPARING_DEFECTIVE,
};
use crate::format::tag::{self, ident, DescriptorTag, TagProblem, TAG_SIZE};
use crate::format::volume::{
    ImplementationUseVolumeDescriptor, LvInfo, PrimaryVolumeDescriptor, UnallocatedSpaceDescriptor,
    VolumeDescriptorPointer,
};
use crate::format::vrs::{Recognition, VRS_OFFSET, VSD_SIZE};
use crate::limits::Options;

/// Block sizes tried, in order, when none is given: optical media, then disk sectors, then 4K-sector disks.
pub const BLOCK_SIZES: [u32; 4] = [2048, 512, 4096, 1024];
/// Most volume structure descriptors examined in the recognition sequence (ISO 9660 descriptors included).
const MAX_VRS_DESCRIPTORS: u64 = 64;
/// Blocks searched back from the end of the image for the VAT's file entry: write-once discs may end in run-out
/// and link blocks after it, and images are often padded to a packet (32 blocks).
const VAT_SEARCH_BLOCKS: u64 = 64;
/// Largest descriptor read from a descriptor sequence: the CRC length field is 16 bits.
const MAX_DESCRIPTOR_BYTES: u64 = 16 + 65535;
/// Most bytes of trailing zeros skipped when looking for the last written block of a write-once disc image.
const MAX_ZERO_TAIL: u64 = 1 << 30;

/// The state shared by every read: the image, the partition maps, options and warnings.
pub(crate) struct Core<R> {
    pub(crate) io: BlockIo<R>,
    pub(crate) opts: Options,
    pub(crate) block_size: u32,
    pub(crate) maps: Maps,
    pub(crate) warnings: Vec<String>,
}

/// A UDF volume opened for reading.
pub struct Volume<R> {
    core: Core<R>,
    info: VolumeInfo,
    root_icb: LbAddr,
}

/// The Virtual Allocation Table in force.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VatInfo {
    /// Physical block of the VAT's file entry.
    pub location: u64,
    /// The table.
    pub table: VirtualAllocationTable,
}

/// What [`Volume::open`] found: the volume structures in force and where they are.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VolumeInfo {
    /// Logical block size in bytes.
    pub block_size: u32,
    /// Image size in blocks.
    pub image_blocks: u64,
    /// The Volume Recognition Sequence.
    pub recognition: Recognition,
    /// Physical blocks holding a valid anchor.
    pub anchors: Vec<u64>,
    /// The anchor used.
    pub anchor: AnchorVolumeDescriptorPointer,
    /// Whether the main Volume Descriptor Sequence was damaged and the reserve one was used.
    pub used_reserve_sequence: bool,
    /// Primary Volume Descriptor in force.
    pub primary: PrimaryVolumeDescriptor,
    /// Logical Volume Descriptor in force.
    pub logical: LogicalVolumeDescriptor,
    /// Partition Descriptors in force, by partition number.
    pub partitions: Vec<PartitionDescriptor>,
    /// Logical volume information ("*UDF LV Info").
    pub lv_info: Option<LvInfo>,
    /// Unallocated Space Descriptor.
    pub unallocated: Option<UnallocatedSpaceDescriptor>,
    /// The last Logical Volume Integrity Descriptor, and its physical block.
    pub integrity: Option<(u64, LogicalVolumeIntegrityDescriptor)>,
    /// File Set Descriptor, and where it is.
    pub file_set: FileSetDescriptor,
    /// Where the File Set Descriptor is.
    pub file_set_location: LbAddr,
    /// Kind of each partition map, by reference number.
    pub map_kinds: Vec<MappingKind>,
    /// The VAT, for a virtual partition.
    pub vat: Option<VatInfo>,
    /// Physical blocks of the sparing table used, and the number of packets it remaps.
    pub sparing: Option<(u64, usize)>,
    /// Whether the metadata mirror file replaces a damaged metadata file.
    pub metadata_mirror_used: bool,
}

impl VolumeInfo {
    /// The UDF revision the volume is formatted to (0x0102, 0x0150, 0x0201, 0x0250, 0x0260): the domain
    /// identifier's suffix, else the minimum read revision of the VAT or the integrity descriptor.
    pub fn revision(&self) -> u16 {
        let domain = self.logical.domain_identifier.udf_revision();
        if domain != 0 {
            return domain;
        }
        let vat = self.vat.as_ref().and_then(|v| v.table.header.as_ref()).map(|h| h.min_read_revision);
        let lvid = self.integrity.as_ref().and_then(|(_, d)| d.udf_use()).map(|u| u.min_read_revision);
        vat.or(lvid).unwrap_or(0)
    }

    /// The highest UDF revision an implementation wrote to the volume, from the VAT or integrity descriptor.
    pub fn max_write_revision(&self) -> Option<u16> {
        let vat = self.vat.as_ref().and_then(|v| v.table.header.as_ref()).map(|h| h.max_write_revision);
        vat.or_else(|| self.integrity.as_ref().and_then(|(_, d)| d.udf_use()).map(|u| u.max_write_revision))
    }

    /// The revision as text, `2.01`.
    pub fn revision_string(&self) -> String {
        let r = self.revision();
        format!("{:x}.{:02x}", r >> 8, r & 0xff)
    }

    /// Numbers of files and directories, from the VAT header or the integrity descriptor.
    pub fn counts(&self) -> Option<(u32, u32)> {
        if let Some(h) = self.vat.as_ref().and_then(|v| v.table.header.as_ref()) {
            return Some((h.files, h.directories));
        }
        self.integrity.as_ref().and_then(|(_, d)| d.udf_use()).map(|u| (u.files, u.directories))
    }

    /// The next unique ID recorded in the integrity descriptor.
    pub fn next_unique_id(&self) -> Option<u64> {
        self.integrity.as_ref().map(|(_, d)| d.next_unique_id())
    }

    /// `open`, `closed`, or `unknown (N)` for the last integrity descriptor; `None` when there is none.
    pub fn integrity_state(&self) -> Option<String> {
        self.integrity.as_ref().map(|(_, d)| match d.integrity_type {
            INTEGRITY_OPEN => "open".to_string(),
            INTEGRITY_CLOSE => "closed".to_string(),
            t => format!("unknown ({t})"),
        })
    }
}

fn problem_error(p: TagProblem, what: &'static str, block: u64) -> Error {
    match p {
        TagProblem::Checksum { expected, actual } => Error::TagChecksum { what, block, expected, actual },
        TagProblem::Crc { expected, actual } => Error::TagCrc { what, block, expected, actual },
        TagProblem::Location { expected, actual } => Error::TagLocation { what, block, expected, actual },
    }
}

impl<R: Read + Seek> Core<R> {
    pub(crate) fn warn(&mut self, msg: String) {
        // A hostile image could produce one warning per FID; keep memory bounded.
        if self.warnings.len() < 10_000 {
            self.warnings.push(msg);
        }
    }

    fn bs(&self) -> u64 {
        u64::from(self.block_size)
    }

    /// `len` bytes from the start of physical block `phys`.
    pub(crate) fn read_phys(&mut self, phys: u64, len: u64) -> Result<Vec<u8>> {
        let off = phys.mul_or(self.bs(), "byte offset")?;
        if !self.io.contains(off, len) {
            return Err(Error::Io {
                offset: off,
                source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "block past the end of the image"),
            });
        }
        let n = usize::try_from(len).map_err(|_| Error::Overflow { what: "read length" })?;
        if len <= self.bs() {
            return self.io.read_cached_vec(off, n);
        }
        let mut buf = vec![0u8; n];
        self.io.read_at(off, &mut buf)?;
        Ok(buf)
    }

    /// One logical block (zeros for a hole of a metadata file) and its physical block, if any.
    pub(crate) fn read_logical(&mut self, addr: LbAddr, mirror: bool) -> Result<(Option<u64>, Vec<u8>)> {
        match self.maps.place(addr.partition, u64::from(addr.block), 1, mirror)? {
            Place::At { phys, .. } => Ok((Some(phys), self.read_phys(phys, self.bs())?)),
            Place::Hole { .. } => Ok((None, vec![0u8; usize::try_from(self.bs()).unwrap_or(0)])),
        }
    }

    pub(crate) fn read_logical_block(&mut self, addr: LbAddr, mirror: bool) -> Result<Vec<u8>> {
        self.read_logical(addr, mirror).map(|(_, b)| b)
    }

    /// Verifies the tag at the start of `buf`: a bad checksum or an unexpected identifier is an error; a bad
    /// CRC or location is an error in strict mode and a warning otherwise.
    pub(crate) fn check_tag(
        &mut self,
        buf: &[u8],
        block: u64,
        what: &'static str,
        idents: &[u16],
        location: Option<u32>,
    ) -> Result<DescriptorTag> {
        self.check_tag_mode(buf, block, what, idents, location, self.opts.strict)
    }

    fn check_tag_mode(
        &mut self,
        buf: &[u8],
        block: u64,
        what: &'static str,
        idents: &[u16],
        location: Option<u32>,
        strict: bool,
    ) -> Result<DescriptorTag> {
        let (t, problems) = tag::verify(buf, location)?;
        let mut problems = problems.into_iter();
        if let Some(first) = problems.next() {
            if matches!(first, TagProblem::Checksum { .. }) {
                if t.identifier == 0 && buf.iter().take(TAG_SIZE).all(|&b| b == 0) {
                    return Err(Error::UnexpectedTag { what, block, actual: 0 });
                }
                return Err(problem_error(first, what, block));
            }
            if !idents.contains(&t.identifier) {
                return Err(Error::UnexpectedTag { what, block, actual: t.identifier });
            }
            for p in std::iter::once(first).chain(problems) {
                let e = problem_error(p, what, block);
                if strict {
                    return Err(e);
                }
                self.warn(e.to_string());
            }
        } else if !idents.contains(&t.identifier) {
            return Err(Error::UnexpectedTag { what, block, actual: t.identifier });
        }
        Ok(t)
    }

    /// Reads and verifies the descriptor in logical block `addr` (its tag location must be `addr.block`).
    /// A damaged descriptor in a metadata partition is read again through the mirror file.
    pub(crate) fn read_descriptor_at(
        &mut self,
        addr: LbAddr,
        what: &'static str,
        idents: &[u16],
    ) -> Result<(DescriptorTag, Vec<u8>)> {
        let first = self.read_descriptor_via(addr, what, idents, false);
        match first {
            Err(e) if self.maps.has_mirror(addr.partition) => {
                let second = self.read_descriptor_via(addr, what, idents, true);
                if second.is_ok() {
                    self.warn(format!("{e}; read from the metadata mirror file instead"));
                }
                second.map_err(|_| e)
            }
            other => other,
        }
    }

    fn read_descriptor_via(
        &mut self,
        addr: LbAddr,
        what: &'static str,
        idents: &[u16],
        mirror: bool,
    ) -> Result<(DescriptorTag, Vec<u8>)> {
        let (phys, buf) = self.read_logical(addr, mirror)?;
        let t = self.check_tag(&buf, phys.unwrap_or(u64::from(addr.block)), what, idents, Some(addr.block))?;
        Ok((t, buf))
    }

    /// Reads the volume structure descriptor at physical block `phys` (tag location = `phys`), over several
    /// blocks when its CRC length says it is longer than one.
    fn read_descriptor_phys(
        &mut self,
        phys: u64,
        what: &'static str,
        idents: &[u16],
        strict: bool,
    ) -> Result<(DescriptorTag, Vec<u8>)> {
        let mut buf = self.read_phys(phys, self.bs())?;
        let t = DescriptorTag::parse(&buf)?;
        let need = u64::from(t.crc_length).saturating_add(16).min(MAX_DESCRIPTOR_BYTES);
        if need > self.bs() {
            let blocks = need.div_ceil(self.bs());
            buf = self.read_phys(phys, blocks.mul_or(self.bs(), "descriptor size")?)?;
        }
        let loc = u32::try_from(phys).map_err(|_| Error::Overflow { what: "descriptor location" })?;
        let t = self.check_tag_mode(&buf, phys, what, idents, Some(loc), strict)?;
        Ok((t, buf))
    }

    fn blocks_for(&self, bytes: u64) -> u64 {
        bytes.div_ceil(self.bs().max(1))
    }
}

/// The descriptors of one Volume Descriptor Sequence that are in force.
#[derive(Default)]
struct Sequence {
    primary: Option<PrimaryVolumeDescriptor>,
    logical: Option<LogicalVolumeDescriptor>,
    partitions: BTreeMap<u16, PartitionDescriptor>,
    lv_info: Option<(u32, LvInfo)>,
    unallocated: Option<UnallocatedSpaceDescriptor>,
}

impl<R: Read + Seek> Volume<R> {
    /// Whether `reader` holds a UDF volume: a recognition sequence with an NSR descriptor and a valid anchor
    /// at sector 256 of the session (or at the end of the image), for any of the usual block sizes.
    pub fn probe(reader: R, session_start: u64) -> Result<bool> {
        let mut core = Core {
            io: BlockIo::new(reader)?,
            opts: Options::default().session_start(session_start),
            block_size: 2048,
            maps: Maps { maps: Vec::new() },
            warnings: Vec::new(),
        };
        let Ok((bs, _, _)) = find_anchor(&mut core) else { return Ok(false) };
        core.block_size = bs;
        Ok(scan_vrs(&mut core)?.is_udf())
    }

    /// Opens the volume: reads every volume structure up to the root directory's location.
    pub fn open(reader: R, opts: Options) -> Result<Self> {
        let mut core = Core {
            io: BlockIo::new(reader)?,
            opts,
            block_size: 2048,
            maps: Maps { maps: Vec::new() },
            warnings: Vec::new(),
        };
        let (bs, anchors, anchor) = find_anchor(&mut core)?;
        core.block_size = bs;
        let recognition = scan_vrs(&mut core)?;
        if !recognition.is_udf() {
            let e = Error::NotUdf { reason: "no BEA01/NSR0x/TEA01 volume recognition sequence" };
            if core.opts.strict {
                return Err(e);
            }
            core.warn(format!("{e}; reading the anchor anyway"));
        }

        // Main sequence, then reserve; strictly first, so that any damage selects the other copy.
        let mut used_reserve = false;
        let seq = match read_sequence(&mut core, anchor.main, true) {
            Ok(s) => s,
            Err(main_err) => match read_sequence(&mut core, anchor.reserve, true) {
                Ok(s) => {
                    core.warn(format!("main volume descriptor sequence damaged ({main_err}); using the reserve one"));
                    used_reserve = true;
                    s
                }
                Err(_) if !core.opts.strict => read_sequence(&mut core, anchor.main, false)
                    .or_else(|_| {
                        used_reserve = true;
                        read_sequence(&mut core, anchor.reserve, false)
                    })
                    .map_err(|_| main_err)?,
                Err(_) => return Err(main_err),
            },
        };
        let (Some(primary), Some(logical)) = (seq.primary, seq.logical) else {
            return Err(Error::NotUdf { reason: "no primary or logical volume descriptor" });
        };
        if logical.logical_block_size != bs {
            return Err(Error::Unsupported {
                what: format!("logical block size {} on {bs}-byte blocks", logical.logical_block_size),
            });
        }
        if !logical.domain_identifier.is(entity::DOMAIN_OSTA_UDF) {
            let e = Error::invalid(
                "logical volume descriptor",
                u64::from(logical.tag.location),
                216,
                format!("domain {:?} is not \"*OSTA UDF Compliant\"", logical.domain_identifier.display()),
            );
            if core.opts.strict {
                return Err(e);
            }
            core.warn(e.to_string());
        }

        let (vat, sparing, mirror_used) = build_maps(&mut core, &logical, &seq.partitions)?;
        let integrity = read_integrity(&mut core, logical.integrity_sequence)?;

        let fsd_loc = logical.file_set_location.location;
        let (_, buf) = core.read_descriptor_at(fsd_loc, "file set descriptor", &[ident::FILE_SET])?;
        let file_set = FileSetDescriptor::parse(&buf)?;
        let root_icb = file_set.root_directory_icb.location;
        let map_kinds = core.maps.maps.iter().map(Mapping::kind).collect();
        let info = VolumeInfo {
            block_size: bs,
            image_blocks: core.io.size.checked_div(u64::from(bs)).unwrap_or(0),
            recognition,
            anchors,
            anchor,
            used_reserve_sequence: used_reserve,
            primary,
            logical,
            partitions: seq.partitions.into_values().collect(),
            lv_info: seq.lv_info.map(|(_, i)| i),
            unallocated: seq.unallocated,
            integrity,
            file_set,
            file_set_location: fsd_loc,
            map_kinds,
            vat,
            sparing,
            metadata_mirror_used: mirror_used,
        };
        Ok(Volume { core, info, root_icb })
    }

    /// What was found while opening.
    pub fn info(&self) -> &VolumeInfo {
        &self.info
    }

    /// Warnings gathered since the last call (lenient fixes, damaged entries skipped).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.core.warnings)
    }

    /// The root directory.
    pub fn root(&mut self) -> Result<Entry> {
        self.core.read_entry(self.root_icb)
    }

    /// The entry whose ICB is at `icb` (following indirect entries).
    pub fn entry_at(&mut self, icb: LbAddr) -> Result<Entry> {
        self.core.read_entry(icb)
    }

    /// The names in a directory (see [`DirEntry`]); parent and deleted entries are left out.
    pub fn read_dir(&mut self, dir: &Entry) -> Result<Vec<DirEntry>> {
        self.core.read_dir(dir)
    }

    /// The entry a name points at.
    pub fn entry(&mut self, child: &DirEntry) -> Result<Entry> {
        self.core.entry(child)
    }

    /// A reader of an entry's data.
    pub fn open_file(&mut self, entry: &Entry) -> Result<FileReader<'_, R>> {
        self.core.open_file(entry)
    }

    /// The target of a symbolic link.
    pub fn read_link(&mut self, link: &Entry) -> Result<String> {
        self.core.read_link(link)
    }

    /// The named streams of an entry.
    pub fn streams(&mut self, of: &Entry) -> Result<Vec<DirEntry>> {
        self.core.streams(of)
    }

    /// The system stream directory of the file set, when recorded.
    pub fn system_streams(&mut self) -> Result<Vec<DirEntry>> {
        let l = self.info.file_set.system_stream_directory_icb;
        if l.extent_length() == 0 {
            return Ok(Vec::new());
        }
        let sd = self.core.read_entry(l.location)?;
        self.core.read_dir(&sd)
    }

    /// Physical runs `(block, bytes)` of an entry's recorded data, at most `max` of them.
    pub fn physical_extents(&mut self, entry: &Entry, max: usize) -> Result<Vec<(u64, u64)>> {
        self.core.physical_extents(entry, max)
    }

    /// The entry's data as byte ranges `(offset, length)` of the image, at most `max` of them, when it is only
    /// that: recorded extents on physical blocks inside the image. `None` when some of it is embedded, unrecorded,
    /// sparse, a partition hole or missing; [`Volume::open_file`] reads every case.
    pub fn plain_ranges(&mut self, entry: &Entry, max: usize) -> Result<Option<Vec<(u64, u64)>>> {
        self.core.plain_ranges(entry, max)
    }

    /// Bytes of an entry's recorded data that lie past the end of the image (a truncated image, or an extent
    /// recorded beyond it); [`Volume::open_file`] yields the rest, then [`DataPastEnd`](super::DataPastEnd).
    pub fn bytes_past_end(&mut self, entry: &Entry) -> Result<u64> {
        self.core.bytes_past_end(entry)
    }

    /// Size of the image in bytes, as the reader reports it.
    pub fn image_len(&self) -> u64 {
        self.core.io.size
    }

    /// The physical block of a logical block, when it is recorded.
    pub fn physical_block(&self, addr: LbAddr) -> Option<u64> {
        match self.core.maps.place(addr.partition, u64::from(addr.block), 1, false) {
            Ok(Place::At { phys, .. }) => Some(phys),
            _ => None,
        }
    }
}

fn find_anchor<R: Read + Seek>(core: &mut Core<R>) -> Result<(u32, Vec<u64>, AnchorVolumeDescriptorPointer)> {
    let sizes: Vec<u32> = match core.opts.block_size {
        Some(b) => vec![b],
        None => BLOCK_SIZES.to_vec(),
    };
    let session_bytes = core.opts.session_start.mul_or(2048, "session start")?;
    for bs in sizes {
        if !bs.is_power_of_two() || bs < 512 {
            return Err(Error::Misuse { what: "block size must be a power of two of at least 512" });
        }
        core.block_size = bs;
        let bs64 = u64::from(bs);
        let blocks = core.io.size.checked_div(bs64).unwrap_or(0);
        let Some(last) = blocks.checked_sub(1) else { continue };
        let first = session_bytes.checked_div(bs64).unwrap_or(0).add_or(ANCHOR_SECTOR, "anchor")?;
        let mut cands = vec![first];
        if let Some(b) = last.checked_sub(ANCHOR_SECTOR) {
            cands.push(b);
        }
        cands.push(last);
        let mut found = Vec::new();
        let mut used = None;
        for c in cands {
            if found.contains(&c) || c > last {
                continue;
            }
            let Ok(buf) = core.read_phys(c, 512) else { continue };
            let Ok(loc) = u32::try_from(c) else { continue };
            let Ok((t, problems)) = tag::verify(&buf, Some(loc)) else { continue };
            if t.identifier != ident::ANCHOR
                || problems.iter().any(|p| matches!(p, TagProblem::Checksum { .. } | TagProblem::Location { .. }))
            {
                continue;
            }
            let Ok(a) = AnchorVolumeDescriptorPointer::parse(&buf) else { continue };
            if problems.is_empty() || used.is_none() {
                if !problems.is_empty() {
                    core.warn(format!("anchor at block {c}: descriptor CRC does not match"));
                }
                if used.is_none() || problems.is_empty() && used.as_ref().is_some_and(|(_, p): &(_, bool)| *p) {
                    used = Some((a, !problems.is_empty()));
                }
            }
            found.push(c);
        }
        if let Some((a, _)) = used {
            return Ok((bs, found, a));
        }
    }
    Err(Error::NotUdf { reason: "no anchor volume descriptor pointer at sector 256, N-256 or N-1" })
}

fn scan_vrs<R: Read + Seek>(core: &mut Core<R>) -> Result<Recognition> {
    let step = u64::from(core.block_size).max(2048);
    let start = core.opts.session_start.mul_or(2048, "session start")?.add_or(VRS_OFFSET, "VRS")?;
    let mut r = Recognition::default();
    for i in 0..MAX_VRS_DESCRIPTORS {
        let off = start.add_or(i.mul_or(step, "VRS")?, "VRS")?;
        let mut buf = [0u8; 7];
        if !core.io.contains(off, VSD_SIZE as u64) {
            break;
        }
        core.io.read_at(off, &mut buf)?;
        let id = [buf[1], buf[2], buf[3], buf[4], buf[5]];
        if !r.feed(&id) {
            break;
        }
    }
    Ok(r)
}

fn read_sequence<R: Read + Seek>(core: &mut Core<R>, extent: ExtentAd, strict: bool) -> Result<Sequence> {
    let mut seq = Sequence::default();
    let mut ext = extent;
    let mut seen = HashSet::new();
    let mut count = 0u32;
    let max = core.opts.limits.max_descriptors;
    'extents: loop {
        if !seen.insert(ext.location) {
            return Err(Error::Loop { what: "volume descriptor pointers", block: u64::from(ext.location) });
        }
        let blocks = core.blocks_for(u64::from(ext.length));
        let mut b = 0u64;
        while b < blocks {
            count = count.add_or(1, "descriptors")?;
            if count > max {
                return Err(Error::Limit { what: "volume descriptors", limit: u64::from(max) });
            }
            let phys = u64::from(ext.location).add_or(b, "volume descriptor")?;
            let all = [
                ident::PRIMARY_VOLUME,
                ident::VOLUME_POINTER,
                ident::IMPLEMENTATION_USE,
                ident::PARTITION,
                ident::LOGICAL_VOLUME,
                ident::UNALLOCATED_SPACE,
                ident::TERMINATING,
            ];
            let (t, buf) = match core.read_descriptor_phys(phys, "volume descriptor", &all, strict) {
                Ok(x) => x,
                // An unrecorded block ends the sequence as a terminator would.
                Err(Error::UnexpectedTag { actual: 0, .. }) if seq.primary.is_some() => break 'extents,
                Err(e) => return Err(e),
            };
            let used = core.blocks_for(u64::try_from(buf.len()).unwrap_or(0)).max(1);
            b = b.add_or(used, "volume descriptor")?;
            match t.identifier {
                ident::PRIMARY_VOLUME => {
                    let d = PrimaryVolumeDescriptor::parse(&buf)?;
                    if seq.primary.as_ref().is_none_or(|p| d.sequence_number >= p.sequence_number) {
                        seq.primary = Some(d);
                    }
                }
                ident::VOLUME_POINTER => {
                    let d = VolumeDescriptorPointer::parse(&buf)?;
                    ext = d.next;
                    continue 'extents;
                }
                ident::IMPLEMENTATION_USE => {
                    let d = ImplementationUseVolumeDescriptor::parse(&buf)?;
                    if let Some(info) = d.lv_info() {
                        if seq.lv_info.as_ref().is_none_or(|(s, _)| d.sequence_number >= *s) {
                            seq.lv_info = Some((d.sequence_number, info));
                        }
                    }
                }
                ident::PARTITION => {
                    let d = PartitionDescriptor::parse(&buf)?;
                    if seq.partitions.get(&d.number).is_none_or(|p| d.sequence_number >= p.sequence_number) {
                        seq.partitions.insert(d.number, d);
                    }
                }
                ident::LOGICAL_VOLUME => {
                    let d = LogicalVolumeDescriptor::parse(&buf)?;
                    if seq.logical.as_ref().is_none_or(|p| d.sequence_number >= p.sequence_number) {
                        seq.logical = Some(d);
                    }
                }
                ident::UNALLOCATED_SPACE => seq.unallocated = Some(UnallocatedSpaceDescriptor::parse(&buf)?),
                _ => break 'extents,
            }
        }
        break;
    }
    if seq.primary.is_none() || seq.logical.is_none() || seq.partitions.is_empty() {
        return Err(Error::invalid(
            "volume descriptor sequence",
            u64::from(extent.location),
            0,
            "no primary volume, logical volume or partition descriptor",
        ));
    }
    Ok(seq)
}

type Built = (Option<VatInfo>, Option<(u64, usize)>, bool);

fn build_maps<R: Read + Seek>(
    core: &mut Core<R>,
    lvd: &LogicalVolumeDescriptor,
    parts: &BTreeMap<u16, PartitionDescriptor>,
) -> Result<Built> {
    let n = lvd.maps.len();
    core.maps.maps = vec![Mapping::Building { what: "partition map refers to itself" }; n];
    let pd = |number: u16| -> Result<&PartitionDescriptor> {
        parts
            .get(&number)
            .ok_or_else(|| Error::invalid("partition map", 0, 0, format!("no partition descriptor numbered {number}")))
    };
    let mut sparing = None;
    // Physical and sparable maps first: the others lie on them.
    for (i, m) in lvd.maps.iter().enumerate() {
        let mapping = match m {
            PartitionMap::Type1 { partition_number, .. } => {
                let d = pd(*partition_number)?;
                Mapping::Physical { start: u64::from(d.start), length: u64::from(d.length) }
            }
            PartitionMap::Sparable { partition_number, packet_length, table_size, table_locations, .. } => {
                let d = pd(*partition_number)?;
                let (remap, used) = read_sparing(core, d, *packet_length, *table_size, table_locations)?;
                sparing = Some((used, remap.len()));
                Mapping::Sparable {
                    start: u64::from(d.start),
                    length: u64::from(d.length),
                    packet: u32::from(*packet_length),
                    remap,
                }
            }
            PartitionMap::Unknown { map_type, .. } => {
                Mapping::Unreadable { why: format!("partition map type {map_type} with an unknown identifier") }
            }
            _ => continue,
        };
        if let Some(slot) = core.maps.maps.get_mut(i) {
            *slot = mapping;
        }
    }
    let physical_ref = |core: &Core<R>, number: u16| -> Result<u16> {
        lvd.maps
            .iter()
            .enumerate()
            .position(|(i, m)| {
                matches!(m, PartitionMap::Type1 { partition_number, .. } | PartitionMap::Sparable { partition_number, .. } if *partition_number == number)
                    && matches!(core.maps.maps.get(i), Some(Mapping::Physical { .. } | Mapping::Sparable { .. }))
            })
            .and_then(|i| u16::try_from(i).ok())
            .ok_or_else(|| Error::invalid("partition maps", 0, 0, format!("no physical partition map for partition {number}")))
    };
    let mut vat = None;
    let mut mirror_used = false;
    for (i, m) in lvd.maps.iter().enumerate() {
        let me = u16::try_from(i).map_err(|_| Error::Overflow { what: "partition reference" })?;
        match m {
            PartitionMap::Virtual { partition_number, .. } => {
                let phys = physical_ref(core, *partition_number)?;
                if let Some(slot) = core.maps.maps.get_mut(i) {
                    *slot = Mapping::Building { what: "VAT refers to the virtual partition it defines" };
                }
                let v = read_vat(core, phys, pd(*partition_number)?)?;
                let entries = v.table.entries.clone();
                vat = Some(v);
                if let Some(slot) = core.maps.maps.get_mut(i) {
                    *slot = Mapping::Virtual { phys, vat: entries };
                }
            }
            PartitionMap::Metadata { partition_number, metadata_file, mirror_file, .. } => {
                let phys = physical_ref(core, *partition_number)?;
                if let Some(slot) = core.maps.maps.get_mut(i) {
                    *slot = Mapping::Building { what: "metadata file refers to the metadata partition" };
                }
                let main = read_metadata_file(core, phys, *metadata_file, file_type::METADATA);
                let mirror = if mirror_file != metadata_file {
                    read_metadata_file(core, phys, *mirror_file, file_type::METADATA_MIRROR)
                } else {
                    Err(Error::invalid("metadata partition map", 0, 44, "no separate mirror file"))
                };
                let (main, mirror) = match (main, mirror) {
                    (Ok(a), Ok(b)) => (Some(a), Some(b)),
                    (Ok(a), Err(_)) => (Some(a), None),
                    (Err(e), Ok(b)) => {
                        if core.opts.strict {
                            return Err(e);
                        }
                        core.warn(format!("metadata file damaged ({e}); using the metadata mirror file"));
                        mirror_used = true;
                        (None, Some(b))
                    }
                    (Err(e), Err(_)) => return Err(e),
                };
                if let Some(slot) = core.maps.maps.get_mut(i) {
                    *slot = Mapping::Metadata { phys, main, mirror };
                }
            }
            _ => {}
        }
        let _ = me;
    }
    Ok((vat, sparing, mirror_used))
}

fn read_sparing<R: Read + Seek>(
    core: &mut Core<R>,
    d: &PartitionDescriptor,
    packet: u16,
    size: u32,
    locations: &[u32],
) -> Result<(BTreeMap<u32, u32>, u64)> {
    if packet == 0 || !packet.is_power_of_two() {
        return Err(Error::invalid("sparable partition map", 0, 40, format!("packet length {packet}")));
    }
    let size = u64::from(size).min(core.opts.limits.max_alloc).max(1);
    let table_blocks = core.blocks_for(size);
    let mut best: Option<(u64, SparingTable)> = None;
    let mut first_err = None;
    for &loc in locations {
        let r = core.read_phys(u64::from(loc), table_blocks.mul_or(core.bs(), "sparing table")?).and_then(|buf| {
            core.check_tag(&buf, u64::from(loc), "sparing table", &[0], Some(loc))?;
            let t = SparingTable::parse(&buf)?;
            if !t.identifier.is(entity::SPARING_TABLE) {
                return Err(Error::invalid(
                    "sparing table",
                    u64::from(loc),
                    16,
                    "identifier is not \"*UDF Sparing Table\"",
                ));
            }
            Ok(t)
        });
        match r {
            Ok(t) => {
                if best.as_ref().is_none_or(|(_, b)| t.sequence_number > b.sequence_number) {
                    best = Some((u64::from(loc), t));
                }
            }
            Err(e) => {
                core.warn(format!("sparing table at block {loc}: {e}"));
                first_err.get_or_insert(e);
            }
        }
    }
    let Some((used, table)) = best else {
        return Err(first_err.unwrap_or(Error::invalid("sparable partition map", 0, 42, "no sparing table")));
    };
    let packet = u32::from(packet);
    let p64 = u64::from(packet);
    let tables: Vec<(u64, u64)> =
        locations.iter().map(|&l| (u64::from(l), u64::from(l).saturating_add(table_blocks))).collect();
    let mut remap = BTreeMap::new();
    for (orig, mapped) in table.entries {
        if orig >= SPARING_DEFECTIVE {
            continue;
        }
        if orig.checked_rem(packet) != Some(0) || u64::from(orig) >= u64::from(d.length) {
            return Err(Error::invalid(
                "sparing table",
                used,
                56,
                format!("original location {orig} is not a packet of the partition"),
            ));
        }
        let (m0, m1) = (u64::from(mapped), u64::from(mapped).saturating_add(p64));
        if tables.iter().any(|&(t0, t1)| m0 < t1 && t0 < m1) {
            return Err(Error::Loop { what: "sparing table remaps a packet onto a sparing table", block: m0 });
        }
        let (s0, s1) = (u64::from(d.start), u64::from(d.start).saturating_add(u64::from(d.length)));
        if m0 < s1 && s0 < m1 {
            return Err(Error::Loop { what: "sparing table remaps a packet into the partition it spares", block: m0 });
        }
        if remap.insert(orig, mapped).is_some() {
            return Err(Error::invalid("sparing table", used, 56, format!("packet {orig} remapped twice")));
        }
    }
    Ok((remap, used))
}

/// The block after the last block holding a non-zero byte, scanning back from the end of the image at most
/// [`MAX_ZERO_TAIL`] bytes and never before `floor`: an image of a write-once disc made by copying the whole
/// allocated size ends in unwritten (zero) blocks after the VAT.
fn last_written<R: Read + Seek>(core: &mut Core<R>, floor: u64) -> Result<u64> {
    let bs = core.bs();
    let mut end = core.io.size.checked_div(bs).unwrap_or(0);
    let chunk_blocks = (1u64 << 20).checked_div(bs).unwrap_or(1).max(1);
    let stop = end.saturating_sub(MAX_ZERO_TAIL.checked_div(bs).unwrap_or(0)).max(floor);
    while end > stop {
        let n = chunk_blocks.min(end.saturating_sub(stop));
        let first = end.sub_or(n, "scan")?;
        let buf = core.read_phys(first, n.mul_or(bs, "scan")?)?;
        if let Some(pos) = buf.iter().rposition(|&b| b != 0) {
            let pos = u64::try_from(pos).map_err(|_| Error::Overflow { what: "scan" })?;
            return first.add_or(pos.checked_div(bs).unwrap_or(0), "scan")?.add_or(1, "scan");
        }
        end = first;
    }
    Ok(core.io.size.checked_div(bs).unwrap_or(0))
}

fn read_vat<R: Read + Seek>(core: &mut Core<R>, phys: u16, d: &PartitionDescriptor) -> Result<VatInfo> {
    let start = u64::from(d.start);
    let blocks = last_written(core, start)?;
    let mut last_err = None;
    for back in 0..VAT_SEARCH_BLOCKS {
        let Some(b) = blocks.checked_sub(back.saturating_add(1)) else { break };
        if b < start {
            break;
        }
        let Ok(buf) = core.read_phys(b, core.bs()) else { continue };
        let Ok((t, problems)) = tag::verify(&buf, None) else { continue };
        if !matches!(t.identifier, ident::FILE_ENTRY | ident::EXTENDED_FILE_ENTRY)
            || problems.iter().any(|p| matches!(p, TagProblem::Checksum { .. }))
        {
            continue;
        }
        let Ok(fe) = FileEntry::parse(&buf) else { continue };
        let ft = fe.icb_tag.file_type;
        if ft != file_type::VAT && ft != file_type::UNSPECIFIED {
            continue;
        }
        let lblock =
            u32::try_from(b.sub_or(start, "VAT location")?).map_err(|_| Error::Overflow { what: "VAT location" })?;
        let addr = LbAddr { block: lblock, partition: phys };
        let r = core
            .check_tag(&buf, b, "VAT file entry", &[ident::FILE_ENTRY, ident::EXTENDED_FILE_ENTRY], Some(lblock))
            .and_then(|_| {
                let entry = core.finish_entry(addr, addr, fe)?;
                let data = core.read_all(&entry)?;
                if ft == file_type::VAT {
                    VirtualAllocationTable::parse(&data)
                } else {
                    VirtualAllocationTable::parse_150(&data)
                }
            });
        match r {
            Ok(table) => return Ok(VatInfo { location: b, table }),
            Err(e @ (Error::Loop { .. } | Error::Limit { .. })) => return Err(e),
            Err(e) => {
                last_err.get_or_insert(e);
            }
        }
    }
    Err(last_err.unwrap_or(Error::invalid(
        "virtual partition",
        blocks,
        0,
        "no VAT file entry near the end of the image",
    )))
}

fn read_metadata_file<R: Read + Seek>(core: &mut Core<R>, phys: u16, block: u32, kind: u8) -> Result<Vec<Run>> {
    let addr = LbAddr { block, partition: phys };
    let entry = core.read_entry(addr)?;
    if entry.file_type() != kind {
        return Err(Error::invalid(
            "metadata file",
            u64::from(block),
            27,
            format!("file type {}, expected {kind}", entry.file_type()),
        ));
    }
    let Data::Extents(exts) = &entry.data else {
        return Err(Error::Unsupported { what: "metadata file with embedded data".into() });
    };
    let mut runs = Vec::with_capacity(exts.len());
    let mut file_block = 0u64;
    for e in exts {
        let blocks = core.blocks_for(u64::from(e.length));
        let lblock = match e.extent_type {
            ExtentType::Recorded => {
                if e.location.partition != phys {
                    return Err(Error::Loop {
                        what: "metadata file extent outside its physical partition",
                        block: u64::from(e.location.block),
                    });
                }
                Some(e.location.block)
            }
            _ => None,
        };
        runs.push(Run { file_block, blocks, lblock });
        file_block = file_block.add_or(blocks, "metadata file size")?;
    }
    Ok(runs)
}

fn read_integrity<R: Read + Seek>(
    core: &mut Core<R>,
    first: ExtentAd,
) -> Result<Option<(u64, LogicalVolumeIntegrityDescriptor)>> {
    let mut ext = first;
    let mut last = None;
    let mut seen = HashSet::new();
    let mut count = 0u32;
    let max = core.opts.limits.max_descriptors;
    'extents: while ext.length > 0 {
        if !seen.insert(ext.location) {
            let e = Error::Loop { what: "integrity sequence", block: u64::from(ext.location) };
            if core.opts.strict {
                return Err(e);
            }
            core.warn(e.to_string());
            break;
        }
        let blocks = core.blocks_for(u64::from(ext.length));
        let mut b = 0u64;
        while b < blocks {
            count = count.add_or(1, "descriptors")?;
            if count > max {
                return Err(Error::Limit { what: "integrity descriptors", limit: u64::from(max) });
            }
            let phys = u64::from(ext.location).add_or(b, "integrity descriptor")?;
            let strict = core.opts.strict;
            let r = core.read_descriptor_phys(
                phys,
                "logical volume integrity descriptor",
                &[ident::LOGICAL_VOLUME_INTEGRITY, ident::TERMINATING],
                strict,
            );
            let (t, buf) = match r {
                Ok(x) => x,
                Err(Error::UnexpectedTag { actual: 0, .. }) => break 'extents,
                Err(e) if !strict => {
                    core.warn(format!("integrity sequence: {e}"));
                    break 'extents;
                }
                Err(e) => return Err(e),
            };
            if t.identifier == ident::TERMINATING {
                break 'extents;
            }
            let d = LogicalVolumeIntegrityDescriptor::parse(&buf)?;
            let next = d.next_extent;
            last = Some((phys, d));
            if next.length > 0 {
                ext = next;
                continue 'extents;
            }
            b = b.add_or(core.blocks_for(u64::try_from(buf.len()).unwrap_or(0)).max(1), "integrity descriptor")?;
        }
        break;
    }
    Ok(last)
}

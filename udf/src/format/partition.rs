//! ECMA-167 3rd edition 3/10.5 Partition Descriptor, 3/10.6 Logical Volume Descriptor and its partition maps
//! (3/10.7: type 1; type 2 as OSTA UDF 2.60 profiles it: 2.2.8 virtual, 2.2.9 sparable, 2.2.10 metadata),
//! UDF 2.60 2.2.12 Sparing Table and 2.2.11 Virtual Allocation Table (with the UDF 1.50 form of 1.50 2.2.10).

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::ad::{ExtentAd, LongAd};
use super::cs0;
use super::entity::{self, Charspec, EntityId};
use super::tag::DescriptorTag;
use super::{array, charspec, entity as p_entity, extent, le_u16, le_u32, le_u8, long_ad, run, slice, tag};
use crate::error::{Error, Result};

/// Size of the fixed part of a Logical Volume Descriptor (the partition maps follow).
pub const LOGICAL_VOLUME_HEADER_SIZE: usize = 440;
/// Size of a type 2 partition map.
pub const TYPE2_MAP_SIZE: usize = 64;
/// Size of a type 1 partition map.
pub const TYPE1_MAP_SIZE: usize = 6;
/// Size of the fixed part of a sparing table (the map entries follow).
pub const SPARING_TABLE_HEADER_SIZE: usize = 56;
/// Original location of a sparing table entry that is free.
pub const SPARING_FREE: u32 = 0xffff_ffff;
/// Original location of a sparing table entry whose spare packet is defective.
pub const SPARING_DEFECTIVE: u32 = 0xffff_fff0;
/// A VAT entry of a virtual block not in use.
pub const VAT_UNUSED: u32 = 0xffff_ffff;
/// Size of the fixed part of the UDF 2.00+ VAT header.
pub const VAT_HEADER_SIZE: usize = 152;
/// Size of the UDF 1.50 VAT trailer (identifier and previous VAT ICB).
pub const VAT150_TRAILER_SIZE: usize = 36;

/// ECMA-167 3/10.5 Partition Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionDescriptor {
    /// Tag, identifier 5.
    pub tag: DescriptorTag,
    /// Volume Descriptor Sequence Number.
    pub sequence_number: u32,
    /// Bit 0: space is allocated.
    pub flags: u16,
    /// Partition number, the one partition maps name.
    pub number: u16,
    /// Contents: "+NSR02" or "+NSR03" for UDF file structures.
    pub contents: EntityId,
    /// Contents use: the Partition Header Descriptor (space bitmaps and tables), 128 bytes.
    pub contents_use: Vec<u8>,
    /// Access type: 1 read-only, 2 write-once, 3 rewritable, 4 overwritable (0 pseudo-overwritable, UDF 2.60).
    pub access_type: u32,
    /// First physical sector.
    pub start: u32,
    /// Length in sectors.
    pub length: u32,
    /// Implementation that recorded it.
    pub implementation_identifier: EntityId,
    /// Implementation use, 128 bytes.
    pub implementation_use: Vec<u8>,
}

impl PartitionDescriptor {
    /// Parses 512 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("partition descriptor", b, 356, |i| {
            let (i, tag) = tag(i)?;
            let (i, sequence_number) = le_u32(i)?;
            let (i, flags) = le_u16(i)?;
            let (i, number) = le_u16(i)?;
            let (i, contents) = p_entity(i)?;
            let (i, contents_use) = array::<128>(i)?;
            let (i, access_type) = le_u32(i)?;
            let (i, start) = le_u32(i)?;
            let (i, length) = le_u32(i)?;
            let (i, implementation_identifier) = p_entity(i)?;
            let (i, implementation_use) = array::<128>(i)?;
            // 156 reserved bytes follow.
            Ok((
                i,
                PartitionDescriptor {
                    tag,
                    sequence_number,
                    flags,
                    number,
                    contents,
                    contents_use: contents_use.to_vec(),
                    access_type,
                    start,
                    length,
                    implementation_identifier,
                    implementation_use: implementation_use.to_vec(),
                },
            ))
        })
    }

    /// Writes 512 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_u32::<LE>(self.sequence_number)?;
        w.write_u16::<LE>(self.flags)?;
        w.write_u16::<LE>(self.number)?;
        self.contents.write_to(w)?;
        let mut cu = self.contents_use.clone();
        cu.resize(128, 0);
        w.write_all(&cu)?;
        w.write_u32::<LE>(self.access_type)?;
        w.write_u32::<LE>(self.start)?;
        w.write_u32::<LE>(self.length)?;
        self.implementation_identifier.write_to(w)?;
        let mut iu = self.implementation_use.clone();
        iu.resize(128, 0);
        w.write_all(&iu)?;
        w.write_all(&[0; 156])
    }
}

/// A partition map of the Logical Volume Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionMap {
    /// ECMA-167 3/10.7.2 Type 1: a partition as recorded.
    Type1 {
        /// Volume sequence number of the volume holding it.
        volume_sequence_number: u16,
        /// Partition number of its Partition Descriptor.
        partition_number: u16,
    },
    /// UDF 2.60 2.2.8 Virtual partition: blocks mapped through the VAT.
    Virtual {
        /// Volume sequence number.
        volume_sequence_number: u16,
        /// Partition number of the physical partition holding the VAT and the data.
        partition_number: u16,
        /// UDF revision in the identifier suffix.
        identifier: EntityId,
    },
    /// UDF 2.60 2.2.9 Sparable partition: packets remapped through sparing tables.
    Sparable {
        /// Volume sequence number.
        volume_sequence_number: u16,
        /// Partition number.
        partition_number: u16,
        /// Packet length in blocks (32 for CD-RW and DVD-RW).
        packet_length: u16,
        /// Size in bytes of each sparing table.
        table_size: u32,
        /// Physical locations of the copies of the sparing table (1 to 4).
        table_locations: Vec<u32>,
        /// Identifier with the UDF revision in its suffix.
        identifier: EntityId,
    },
    /// UDF 2.60 2.2.10 Metadata partition: file system metadata in the metadata file.
    Metadata {
        /// Volume sequence number.
        volume_sequence_number: u16,
        /// Partition number of the physical partition holding the metadata files.
        partition_number: u16,
        /// Logical block (in that partition) of the metadata file's entry.
        metadata_file: u32,
        /// Logical block of the metadata mirror file's entry.
        mirror_file: u32,
        /// Logical block of the metadata bitmap file's entry (0xFFFFFFFF when none).
        bitmap_file: u32,
        /// Allocation unit size in blocks.
        allocation_unit: u32,
        /// Alignment unit size in blocks.
        alignment_unit: u16,
        /// Bit 0: the metadata is duplicated in the mirror file.
        flags: u8,
        /// Identifier with the UDF revision in its suffix.
        identifier: EntityId,
    },
    /// A type 2 map odix does not know: recorded, not readable.
    Unknown {
        /// Map type.
        map_type: u8,
        /// The whole map.
        raw: Vec<u8>,
    },
}

impl PartitionMap {
    /// Parses one map at the start of `b`; returns it and its recorded length.
    pub fn parse(b: &[u8]) -> Result<(Self, usize)> {
        let (map_type, len) = run("partition map", b, 2, |i| {
            let (i, t) = le_u8(i)?;
            let (i, l) = le_u8(i)?;
            Ok((i, (t, l)))
        })?;
        let len = usize::from(len);
        if len < 2 {
            return Err(Error::invalid("partition map", 0, 1, format!("map length {len}")));
        }
        let raw = slice("partition map", b, 0, len)?;
        let map = match (map_type, len) {
            (1, TYPE1_MAP_SIZE) => run("type 1 partition map", raw, TYPE1_MAP_SIZE, |i| {
                let (i, _) = array::<2>(i)?;
                let (i, volume_sequence_number) = le_u16(i)?;
                let (i, partition_number) = le_u16(i)?;
                Ok((i, PartitionMap::Type1 { volume_sequence_number, partition_number }))
            })?,
            (2, TYPE2_MAP_SIZE) => {
                let (identifier, vsn, pn) = run("type 2 partition map", raw, 40, |i| {
                    let (i, _) = array::<4>(i)?;
                    let (i, id) = p_entity(i)?;
                    let (i, vsn) = le_u16(i)?;
                    let (i, pn) = le_u16(i)?;
                    Ok((i, (id, vsn, pn)))
                })?;
                let rest = slice("type 2 partition map", raw, 40, 24)?;
                if identifier.is(entity::VIRTUAL_PARTITION) {
                    PartitionMap::Virtual { volume_sequence_number: vsn, partition_number: pn, identifier }
                } else if identifier.is(entity::SPARABLE_PARTITION) {
                    run("sparable partition map", rest, 24, |i| {
                        let (i, packet_length) = le_u16(i)?;
                        let (i, n) = le_u8(i)?;
                        let (i, _) = le_u8(i)?;
                        let (i, table_size) = le_u32(i)?;
                        let (i, locs) = array::<16>(i)?;
                        let table_locations =
                            locs.chunks_exact(4).take(usize::from(n.min(4))).map(super::u32_le).collect();
                        Ok((
                            i,
                            PartitionMap::Sparable {
                                volume_sequence_number: vsn,
                                partition_number: pn,
                                packet_length,
                                table_size,
                                table_locations,
                                identifier,
                            },
                        ))
                    })?
                } else if identifier.is(entity::METADATA_PARTITION) {
                    run("metadata partition map", rest, 24, |i| {
                        let (i, metadata_file) = le_u32(i)?;
                        let (i, mirror_file) = le_u32(i)?;
                        let (i, bitmap_file) = le_u32(i)?;
                        let (i, allocation_unit) = le_u32(i)?;
                        let (i, alignment_unit) = le_u16(i)?;
                        let (i, flags) = le_u8(i)?;
                        // 5 reserved bytes follow.
                        Ok((
                            i,
                            PartitionMap::Metadata {
                                volume_sequence_number: vsn,
                                partition_number: pn,
                                metadata_file,
                                mirror_file,
                                bitmap_file,
                                allocation_unit,
                                alignment_unit,
                                flags,
                                identifier,
                            },
                        ))
                    })?
                } else {
                    PartitionMap::Unknown { map_type, raw: raw.to_vec() }
                }
            }
            _ => PartitionMap::Unknown { map_type, raw: raw.to_vec() },
        };
        Ok((map, len))
    }

    /// Writes the map (6 or 64 bytes).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let type2_head = |w: &mut W, id: &EntityId, vsn: u16, pn: u16| -> io::Result<()> {
            w.write_u8(2)?;
            w.write_u8(64)?;
            w.write_u16::<LE>(0)?;
            id.write_to(w)?;
            w.write_u16::<LE>(vsn)?;
            w.write_u16::<LE>(pn)
        };
        match self {
            PartitionMap::Type1 { volume_sequence_number, partition_number } => {
                w.write_u8(1)?;
                w.write_u8(6)?;
                w.write_u16::<LE>(*volume_sequence_number)?;
                w.write_u16::<LE>(*partition_number)
            }
            PartitionMap::Virtual { volume_sequence_number, partition_number, identifier } => {
                type2_head(w, identifier, *volume_sequence_number, *partition_number)?;
                w.write_all(&[0; 24])
            }
            PartitionMap::Sparable {
                volume_sequence_number,
                partition_number,
                packet_length,
                table_size,
                table_locations,
                identifier,
            } => {
                type2_head(w, identifier, *volume_sequence_number, *partition_number)?;
                w.write_u16::<LE>(*packet_length)?;
                w.write_u8(u8::try_from(table_locations.len().min(4)).unwrap_or(4))?;
                w.write_u8(0)?;
                w.write_u32::<LE>(*table_size)?;
                for i in 0..4 {
                    w.write_u32::<LE>(table_locations.get(i).copied().unwrap_or(0))?;
                }
                Ok(())
            }
            PartitionMap::Metadata {
                volume_sequence_number,
                partition_number,
                metadata_file,
                mirror_file,
                bitmap_file,
                allocation_unit,
                alignment_unit,
                flags,
                identifier,
            } => {
                type2_head(w, identifier, *volume_sequence_number, *partition_number)?;
                w.write_u32::<LE>(*metadata_file)?;
                w.write_u32::<LE>(*mirror_file)?;
                w.write_u32::<LE>(*bitmap_file)?;
                w.write_u32::<LE>(*allocation_unit)?;
                w.write_u16::<LE>(*alignment_unit)?;
                w.write_u8(*flags)?;
                w.write_all(&[0; 5])
            }
            PartitionMap::Unknown { raw, .. } => w.write_all(raw),
        }
    }

    /// The partition number the map refers to, when it names one.
    pub fn partition_number(&self) -> Option<u16> {
        match self {
            PartitionMap::Type1 { partition_number, .. }
            | PartitionMap::Virtual { partition_number, .. }
            | PartitionMap::Sparable { partition_number, .. }
            | PartitionMap::Metadata { partition_number, .. } => Some(*partition_number),
            PartitionMap::Unknown { .. } => None,
        }
    }

    /// A short name for display: `type1`, `virtual`, `sparable`, `metadata` or `unknown`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            PartitionMap::Type1 { .. } => "type1",
            PartitionMap::Virtual { .. } => "virtual",
            PartitionMap::Sparable { .. } => "sparable",
            PartitionMap::Metadata { .. } => "metadata",
            PartitionMap::Unknown { .. } => "unknown",
        }
    }
}

/// ECMA-167 3/10.6 Logical Volume Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalVolumeDescriptor {
    /// Tag, identifier 6.
    pub tag: DescriptorTag,
    /// Volume Descriptor Sequence Number.
    pub sequence_number: u32,
    /// Character set of the identifier.
    pub descriptor_charset: Charspec,
    /// Logical volume identifier, 128-byte d-string.
    pub logical_volume_identifier: [u8; 128],
    /// Logical block size in bytes (UDF: the sector size).
    pub logical_block_size: u32,
    /// Domain: "*OSTA UDF Compliant" with the UDF revision in its suffix.
    pub domain_identifier: EntityId,
    /// Where the File Set Descriptor sequence starts (UDF 2.60 2.2.4.1).
    pub file_set_location: LongAd,
    /// Number of partition maps.
    pub map_count: u32,
    /// Implementation that recorded it.
    pub implementation_identifier: EntityId,
    /// Implementation use, 128 bytes.
    pub implementation_use: Vec<u8>,
    /// The Logical Volume Integrity Descriptor sequence.
    pub integrity_sequence: ExtentAd,
    /// The partition maps, in reference-number order.
    pub maps: Vec<PartitionMap>,
}

impl LogicalVolumeDescriptor {
    /// Parses the descriptor (its size depends on the maps; `b` is usually one block).
    pub fn parse(b: &[u8]) -> Result<Self> {
        let (head, table_len) = run("logical volume descriptor", b, LOGICAL_VOLUME_HEADER_SIZE, |i| {
            let (i, tag) = tag(i)?;
            let (i, sequence_number) = le_u32(i)?;
            let (i, descriptor_charset) = charspec(i)?;
            let (i, logical_volume_identifier) = array::<128>(i)?;
            let (i, logical_block_size) = le_u32(i)?;
            let (i, domain_identifier) = p_entity(i)?;
            let (i, file_set_location) = long_ad(i)?;
            let (i, table_len) = le_u32(i)?;
            let (i, map_count) = le_u32(i)?;
            let (i, implementation_identifier) = p_entity(i)?;
            let (i, implementation_use) = array::<128>(i)?;
            let (i, integrity_sequence) = extent(i)?;
            Ok((
                i,
                (
                    LogicalVolumeDescriptor {
                        tag,
                        sequence_number,
                        descriptor_charset,
                        logical_volume_identifier,
                        logical_block_size,
                        domain_identifier,
                        file_set_location,
                        map_count,
                        implementation_identifier,
                        implementation_use: implementation_use.to_vec(),
                        integrity_sequence,
                        maps: Vec::new(),
                    },
                    table_len,
                ),
            ))
        })?;
        let mut lvd = head;
        let table_len = usize::try_from(table_len).map_err(|_| Error::Overflow { what: "partition map table" })?;
        let table = slice("partition map table", b, LOGICAL_VOLUME_HEADER_SIZE, table_len)?;
        let mut at = 0usize;
        for _ in 0..lvd.map_count {
            let rest = table.get(at..).unwrap_or(&[]);
            if rest.is_empty() {
                return Err(Error::invalid(
                    "logical volume descriptor",
                    u64::from(lvd.tag.location),
                    u64::try_from(LOGICAL_VOLUME_HEADER_SIZE.saturating_add(at)).unwrap_or(u64::MAX),
                    format!("{} partition maps announced, the table holds {}", lvd.map_count, lvd.maps.len()),
                ));
            }
            let (map, len) = PartitionMap::parse(rest)?;
            lvd.maps.push(map);
            at = at.saturating_add(len);
        }
        Ok(lvd)
    }

    /// Writes the descriptor (header and maps, no padding).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut maps = Vec::new();
        for m in &self.maps {
            m.write_to(&mut maps)?;
        }
        self.tag.write_to(w)?;
        w.write_u32::<LE>(self.sequence_number)?;
        self.descriptor_charset.write_to(w)?;
        w.write_all(&self.logical_volume_identifier)?;
        w.write_u32::<LE>(self.logical_block_size)?;
        self.domain_identifier.write_to(w)?;
        self.file_set_location.write_to(w)?;
        w.write_u32::<LE>(u32::try_from(maps.len()).map_err(io::Error::other)?)?;
        w.write_u32::<LE>(self.map_count)?;
        self.implementation_identifier.write_to(w)?;
        let mut iu = self.implementation_use.clone();
        iu.resize(128, 0);
        w.write_all(&iu)?;
        self.integrity_sequence.write_to(w)?;
        w.write_all(&maps)
    }

    /// The logical volume identifier, decoded.
    pub fn logical_volume_id(&self) -> String {
        cs0::decode_dstring(&self.logical_volume_identifier)
    }
}

/// UDF 2.60 2.2.12 Sparing Table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparingTable {
    /// Tag, identifier 0 (UDF gives it none of its own).
    pub tag: DescriptorTag,
    /// "*UDF Sparing Table".
    pub identifier: EntityId,
    /// Sequence number: the copy with the highest one is current.
    pub sequence_number: u32,
    /// Map entries `(original location, mapped location)`, sorted by original location. The original location
    /// is the first logical block of a packet in the partition ([`SPARING_FREE`] and [`SPARING_DEFECTIVE`]
    /// mark unused entries); the mapped location is the physical sector of the spare packet.
    pub entries: Vec<(u32, u32)>,
}

impl SparingTable {
    /// Parses a table (its size depends on the number of entries).
    pub fn parse(b: &[u8]) -> Result<Self> {
        let (tag, identifier, n, sequence_number) = run("sparing table", b, SPARING_TABLE_HEADER_SIZE, |i| {
            let (i, tag) = tag(i)?;
            let (i, identifier) = p_entity(i)?;
            let (i, n) = le_u16(i)?;
            let (i, _) = le_u16(i)?;
            let (i, seq) = le_u32(i)?;
            Ok((i, (tag, identifier, n, seq)))
        })?;
        let raw = slice("sparing table entries", b, SPARING_TABLE_HEADER_SIZE, usize::from(n).saturating_mul(8))?;
        let entries =
            raw.chunks_exact(8).map(|c| (super::u32_le(c), super::u32_le(c.get(4..).unwrap_or(&[])))).collect();
        Ok(SparingTable { tag, identifier, sequence_number, entries })
    }

    /// Writes the table.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        self.identifier.write_to(w)?;
        w.write_u16::<LE>(u16::try_from(self.entries.len()).map_err(io::Error::other)?)?;
        w.write_u16::<LE>(0)?;
        w.write_u32::<LE>(self.sequence_number)?;
        for (o, m) in &self.entries {
            w.write_u32::<LE>(*o)?;
            w.write_u32::<LE>(*m)?;
        }
        Ok(())
    }
}

/// UDF 2.60 2.2.11 Virtual Allocation Table (the contents of the VAT file), either form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualAllocationTable {
    /// The UDF 2.00+ header, `None` for the UDF 1.50 form.
    pub header: Option<VatHeader>,
    /// Logical block (in the physical partition) of each virtual block; [`VAT_UNUSED`] when free.
    pub entries: Vec<u32>,
    /// Location of the previous VAT ICB ([`VAT_UNUSED`] when none).
    pub previous_vat: u32,
}

/// The header of a UDF 2.00+ VAT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VatHeader {
    /// Logical volume identifier, 128-byte d-string.
    pub logical_volume_identifier: [u8; 128],
    /// Number of files.
    pub files: u32,
    /// Number of directories.
    pub directories: u32,
    /// Minimum UDF revision to read.
    pub min_read_revision: u16,
    /// Minimum UDF revision to write.
    pub min_write_revision: u16,
    /// Maximum UDF revision written.
    pub max_write_revision: u16,
    /// Implementation use.
    pub implementation_use: Vec<u8>,
}

impl VirtualAllocationTable {
    /// Parses the UDF 2.00+ form (file type 248).
    pub fn parse(b: &[u8]) -> Result<Self> {
        let (hlen, iulen, header, previous_vat) = run("VAT header", b, VAT_HEADER_SIZE, |i| {
            let (i, hlen) = le_u16(i)?;
            let (i, iulen) = le_u16(i)?;
            let (i, logical_volume_identifier) = array::<128>(i)?;
            let (i, previous) = le_u32(i)?;
            let (i, files) = le_u32(i)?;
            let (i, directories) = le_u32(i)?;
            let (i, min_read_revision) = le_u16(i)?;
            let (i, min_write_revision) = le_u16(i)?;
            let (i, max_write_revision) = le_u16(i)?;
            let (i, _) = le_u16(i)?;
            let header = VatHeader {
                logical_volume_identifier,
                files,
                directories,
                min_read_revision,
                min_write_revision,
                max_write_revision,
                implementation_use: Vec::new(),
            };
            Ok((i, (hlen, iulen, header, previous)))
        })?;
        let mut header = header;
        let hlen = usize::from(hlen);
        if hlen < VAT_HEADER_SIZE || hlen != VAT_HEADER_SIZE.saturating_add(usize::from(iulen)) || hlen > b.len() {
            return Err(Error::invalid("VAT", 0, 0, format!("header length {hlen}, implementation use {iulen}")));
        }
        header.implementation_use = slice("VAT", b, VAT_HEADER_SIZE, usize::from(iulen))?.to_vec();
        let entries = entries(b.get(hlen..).unwrap_or(&[]));
        Ok(VirtualAllocationTable { header: Some(header), entries, previous_vat })
    }

    /// Parses the UDF 1.50 form: entries, then "*UDF Virtual Alloc Tbl" and the previous VAT ICB location.
    pub fn parse_150(b: &[u8]) -> Result<Self> {
        let body = b.len().checked_sub(VAT150_TRAILER_SIZE).ok_or(Error::Truncated {
            what: "UDF 1.50 VAT",
            len: b.len(),
            needed: VAT150_TRAILER_SIZE,
        })?;
        let trailer = slice("UDF 1.50 VAT", b, body, VAT150_TRAILER_SIZE)?;
        let id = EntityId::parse(trailer)?;
        if !id.is(entity::VIRTUAL_ALLOCATION_TABLE) {
            return Err(Error::invalid("UDF 1.50 VAT", 0, 0, "no \"*UDF Virtual Alloc Tbl\" identifier"));
        }
        let previous_vat = run("UDF 1.50 VAT", slice("UDF 1.50 VAT", trailer, 32, 4)?, 4, le_u32)?;
        Ok(VirtualAllocationTable { header: None, entries: entries(b.get(..body).unwrap_or(&[])), previous_vat })
    }

    /// Writes the table in its form.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        match &self.header {
            Some(h) => {
                let iulen = u16::try_from(h.implementation_use.len()).map_err(io::Error::other)?;
                w.write_u16::<LE>(iulen.checked_add(152).ok_or_else(|| io::Error::other("VAT header"))?)?;
                w.write_u16::<LE>(iulen)?;
                w.write_all(&h.logical_volume_identifier)?;
                w.write_u32::<LE>(self.previous_vat)?;
                w.write_u32::<LE>(h.files)?;
                w.write_u32::<LE>(h.directories)?;
                w.write_u16::<LE>(h.min_read_revision)?;
                w.write_u16::<LE>(h.min_write_revision)?;
                w.write_u16::<LE>(h.max_write_revision)?;
                w.write_u16::<LE>(0)?;
                w.write_all(&h.implementation_use)?;
                for e in &self.entries {
                    w.write_u32::<LE>(*e)?;
                }
                Ok(())
            }
            None => {
                for e in &self.entries {
                    w.write_u32::<LE>(*e)?;
                }
                EntityId::new(entity::VIRTUAL_ALLOCATION_TABLE, [0x50, 0x01, 0, 0, 0, 0, 0, 0]).write_to(w)?;
                w.write_u32::<LE>(self.previous_vat)
            }
        }
    }
}

fn entries(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4).map(super::u32_le).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ad::LbAddr;

    fn round<T: PartialEq + std::fmt::Debug>(
        x: &T,
        w: impl Fn(&T, &mut Vec<u8>),
        p: impl Fn(&[u8]) -> Result<T>,
    ) -> usize {
        let mut v = Vec::new();
        w(x, &mut v);
        assert_eq!(&p(&v).unwrap(), x);
        v.len()
    }

    #[test]
    fn round_trips() {
        let pd = PartitionDescriptor {
            tag: DescriptorTag::new(5, 3, 0, 20),
            sequence_number: 2,
            flags: 1,
            number: 0,
            contents: EntityId::new(b"+NSR03", [0; 8]),
            contents_use: vec![0; 128],
            access_type: 1,
            start: 288,
            length: 1000,
            implementation_identifier: EntityId::new(b"*odix", [0; 8]),
            implementation_use: vec![0; 128],
        };
        assert_eq!(round(&pd, |x, v| x.write_to(v).unwrap(), PartitionDescriptor::parse), 512);
        let maps = vec![
            PartitionMap::Type1 { volume_sequence_number: 1, partition_number: 0 },
            PartitionMap::Virtual {
                volume_sequence_number: 1,
                partition_number: 0,
                identifier: EntityId::new(entity::VIRTUAL_PARTITION, [0x50, 1, 0, 0, 0, 0, 0, 0]),
            },
            PartitionMap::Sparable {
                volume_sequence_number: 1,
                partition_number: 0,
                packet_length: 32,
                table_size: 2048,
                table_locations: vec![100, 200],
                identifier: EntityId::new(entity::SPARABLE_PARTITION, [0x01, 2, 0, 0, 0, 0, 0, 0]),
            },
            PartitionMap::Metadata {
                volume_sequence_number: 1,
                partition_number: 0,
                metadata_file: 10,
                mirror_file: 900,
                bitmap_file: 0xffff_ffff,
                allocation_unit: 32,
                alignment_unit: 1,
                flags: 1,
                identifier: EntityId::new(entity::METADATA_PARTITION, [0x60, 2, 0, 0, 0, 0, 0, 0]),
            },
        ];
        for m in &maps {
            let n = round(m, |x, v| x.write_to(v).unwrap(), |b| PartitionMap::parse(b).map(|p| p.0));
            assert!(n == 6 || n == 64);
        }
        let lvd = LogicalVolumeDescriptor {
            tag: DescriptorTag::new(6, 3, 0, 21),
            sequence_number: 3,
            descriptor_charset: Charspec::osta_cs0(),
            logical_volume_identifier: cs0::encode_dstring("LV", 128).unwrap().try_into().unwrap(),
            logical_block_size: 2048,
            domain_identifier: EntityId::new(entity::DOMAIN_OSTA_UDF, [1, 2, 0, 0, 0, 0, 0, 0]),
            file_set_location: LongAd {
                length: 2048,
                location: LbAddr { block: 0, partition: 0 },
                implementation_use: [0; 6],
            },
            map_count: 4,
            implementation_identifier: EntityId::new(b"*odix", [0; 8]),
            implementation_use: vec![0; 128],
            integrity_sequence: ExtentAd { length: 4096, location: 64 },
            maps,
        };
        assert_eq!(round(&lvd, |x, v| x.write_to(v).unwrap(), LogicalVolumeDescriptor::parse), 440 + 6 + 64 * 3);
        let st = SparingTable {
            tag: DescriptorTag::new(0, 2, 0, 100),
            identifier: EntityId::new(entity::SPARING_TABLE, [0x50, 1, 0, 0, 0, 0, 0, 0]),
            sequence_number: 7,
            entries: vec![(32, 5000), (SPARING_FREE, 5032)],
        };
        assert_eq!(round(&st, |x, v| x.write_to(v).unwrap(), SparingTable::parse), 56 + 16);
        let vat = VirtualAllocationTable {
            header: Some(VatHeader {
                logical_volume_identifier: [0; 128],
                files: 3,
                directories: 2,
                min_read_revision: 0x201,
                min_write_revision: 0x201,
                max_write_revision: 0x201,
                implementation_use: vec![9; 4],
            }),
            entries: vec![7, 8, VAT_UNUSED],
            previous_vat: VAT_UNUSED,
        };
        assert_eq!(round(&vat, |x, v| x.write_to(v).unwrap(), VirtualAllocationTable::parse), 152 + 4 + 12);
        let vat = VirtualAllocationTable { header: None, entries: vec![1, 2], previous_vat: 0xffff_ffff };
        assert_eq!(round(&vat, |x, v| x.write_to(v).unwrap(), VirtualAllocationTable::parse_150), 8 + 36);
    }
}

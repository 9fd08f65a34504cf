//! ECMA-167 3rd edition 4/14.6 ICB Tag, 4/14.9 File Entry, 4/14.17 Extended File Entry (UDF 2.00+), 4/14.7
//! Indirect Entry, 4/14.10 Extended Attributes (the Device Specification attribute only), with the UDF 2.60
//! 3.3.3 mapping of permissions to POSIX modes.

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::ad::{AdForm, LbAddr, LongAd};
use super::entity::EntityId;
use super::tag::{ident, DescriptorTag};
use super::timestamp::Timestamp;
use super::{entity, lb_addr, le_u16, le_u32, le_u64, le_u8, long_ad, run, slice, tag, timestamp};
use crate::error::{Error, Result};

/// Size of an ICB tag.
pub const ICB_TAG_SIZE: usize = 20;
/// Size of the fixed part of a File Entry.
pub const FILE_ENTRY_HEADER_SIZE: usize = 176;
/// Size of the fixed part of an Extended File Entry.
pub const EXTENDED_FILE_ENTRY_HEADER_SIZE: usize = 216;
/// Size of an Indirect Entry.
pub const INDIRECT_ENTRY_SIZE: usize = 52;

/// File types of the ICB tag (4/14.6.6 and UDF 2.60 2.3.5.2).
pub mod file_type {
    /// Not specified (UDF 1.50 VAT files have this type).
    pub const UNSPECIFIED: u8 = 0;
    /// Unallocated Space Entry.
    pub const UNALLOCATED_SPACE: u8 = 1;
    /// Partition Integrity Entry.
    pub const PARTITION_INTEGRITY: u8 = 2;
    /// Indirect Entry.
    pub const INDIRECT: u8 = 3;
    /// Directory.
    pub const DIRECTORY: u8 = 4;
    /// Regular file (a sequence of bytes).
    pub const REGULAR: u8 = 5;
    /// Block device.
    pub const BLOCK_DEVICE: u8 = 6;
    /// Character device.
    pub const CHARACTER_DEVICE: u8 = 7;
    /// Extended attributes.
    pub const EXTENDED_ATTRIBUTES: u8 = 8;
    /// FIFO.
    pub const FIFO: u8 = 9;
    /// Socket.
    pub const SOCKET: u8 = 10;
    /// Terminal Entry.
    pub const TERMINAL: u8 = 11;
    /// Symbolic link.
    pub const SYMLINK: u8 = 12;
    /// Stream directory (UDF 2.00+).
    pub const STREAM_DIRECTORY: u8 = 13;
    /// Virtual Allocation Table (UDF 2.00+).
    pub const VAT: u8 = 248;
    /// Real-time file (UDF 2.00+).
    pub const REAL_TIME: u8 = 249;
    /// Metadata file (UDF 2.50+).
    pub const METADATA: u8 = 250;
    /// Metadata mirror file (UDF 2.50+).
    pub const METADATA_MIRROR: u8 = 251;
    /// Metadata bitmap file (UDF 2.50+).
    pub const METADATA_BITMAP: u8 = 252;
}

/// ICB tag flags (4/14.6.8) besides the allocation descriptor form in bits 0–2.
pub mod icb_flags {
    /// Set-user-ID.
    pub const SETUID: u16 = 1 << 6;
    /// Set-group-ID.
    pub const SETGID: u16 = 1 << 7;
    /// Sticky.
    pub const STICKY: u16 = 1 << 8;
}

/// ECMA-167 4/14.6 ICB Tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IcbTag {
    /// Prior recorded number of direct entries.
    pub prior_direct_entries: u32,
    /// Strategy type: 4 (one entry) or 4096 (an entry followed by an indirect entry, UDF 2.60 2.3.5.1).
    pub strategy_type: u16,
    /// Strategy parameter.
    pub strategy_parameter: u16,
    /// Maximum number of entries (1 for strategy 4, 2 for 4096).
    pub max_entries: u16,
    /// Reserved.
    pub reserved: u8,
    /// One of the [`file_type`] constants.
    pub file_type: u8,
    /// Parent ICB location (UDF: zero).
    pub parent: LbAddr,
    /// Flags: allocation descriptor form (bits 0–2), setuid, setgid, sticky and more.
    pub flags: u16,
}

impl IcbTag {
    /// Parses 20 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("ICB tag", b, ICB_TAG_SIZE, icb_tag)
    }

    /// Writes 20 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u32::<LE>(self.prior_direct_entries)?;
        w.write_u16::<LE>(self.strategy_type)?;
        w.write_u16::<LE>(self.strategy_parameter)?;
        w.write_u16::<LE>(self.max_entries)?;
        w.write_u8(self.reserved)?;
        w.write_u8(self.file_type)?;
        self.parent.write_to(w)?;
        w.write_u16::<LE>(self.flags)
    }

    /// The allocation descriptor form, `None` for reserved values.
    pub fn ad_form(&self) -> Option<AdForm> {
        AdForm::from_icb_flags(self.flags)
    }
}

fn icb_tag(i: &[u8]) -> super::PResult<'_, IcbTag> {
    let (i, prior_direct_entries) = le_u32(i)?;
    let (i, strategy_type) = le_u16(i)?;
    let (i, strategy_parameter) = le_u16(i)?;
    let (i, max_entries) = le_u16(i)?;
    let (i, reserved) = le_u8(i)?;
    let (i, file_type) = le_u8(i)?;
    let (i, parent) = lb_addr(i)?;
    let (i, flags) = le_u16(i)?;
    Ok((
        i,
        IcbTag {
            prior_direct_entries,
            strategy_type,
            strategy_parameter,
            max_entries,
            reserved,
            file_type,
            parent,
            flags,
        },
    ))
}

/// ECMA-167 4/14.9 File Entry or 4/14.17 Extended File Entry. The fields only an Extended File Entry has are
/// zero for a File Entry and not written for one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Tag, identifier 261 (File Entry) or 266 (Extended File Entry).
    pub tag: DescriptorTag,
    /// ICB tag.
    pub icb_tag: IcbTag,
    /// Owner (0xFFFFFFFF: none recorded).
    pub uid: u32,
    /// Group (0xFFFFFFFF: none recorded).
    pub gid: u32,
    /// Permissions, 4/14.9.5 (see [`Self::mode`]).
    pub permissions: u32,
    /// Number of FIDs naming this entry.
    pub link_count: u16,
    /// Record format (0).
    pub record_format: u8,
    /// Record display attributes (0).
    pub record_display_attributes: u8,
    /// Record length (0).
    pub record_length: u32,
    /// Size of the data in bytes.
    pub information_length: u64,
    /// Size of the data and all streams (Extended File Entry only).
    pub object_size: u64,
    /// Blocks recorded.
    pub logical_blocks_recorded: u64,
    /// Last access.
    pub access_time: Timestamp,
    /// Last modification.
    pub modification_time: Timestamp,
    /// Creation (Extended File Entry only).
    pub creation_time: Timestamp,
    /// Last attribute change.
    pub attribute_time: Timestamp,
    /// Checkpoint.
    pub checkpoint: u32,
    /// Reserved (Extended File Entry only).
    pub reserved: u32,
    /// Extended attribute ICB.
    pub extended_attribute_icb: LongAd,
    /// Stream directory ICB (Extended File Entry only; length 0 when none).
    pub stream_directory_icb: LongAd,
    /// Implementation that wrote it.
    pub implementation_identifier: EntityId,
    /// Unique ID (UDF 2.60 3.2.1.1; 0 for the root).
    pub unique_id: u64,
    /// Extended attributes, raw.
    pub extended_attributes: Vec<u8>,
    /// Allocation descriptors, raw (or the data itself when embedded).
    pub allocation_descriptors: Vec<u8>,
}

impl FileEntry {
    /// Whether this is an Extended File Entry.
    pub fn is_extended(&self) -> bool {
        self.tag.identifier == ident::EXTENDED_FILE_ENTRY
    }

    /// Parses a File Entry or an Extended File Entry (by its tag identifier).
    pub fn parse(b: &[u8]) -> Result<Self> {
        let t = DescriptorTag::parse(b)?;
        let extended = match t.identifier {
            ident::FILE_ENTRY => false,
            ident::EXTENDED_FILE_ENTRY => true,
            other => {
                return Err(Error::invalid(
                    "file entry",
                    u64::from(t.location),
                    0,
                    format!("tag identifier {other} is not 261 or 266"),
                ))
            }
        };
        let header = if extended { EXTENDED_FILE_ENTRY_HEADER_SIZE } else { FILE_ENTRY_HEADER_SIZE };
        let what = if extended { "extended file entry" } else { "file entry" };
        let (mut fe, l_ea, l_ad) = run(what, b, header, |i| {
            let (i, tag) = tag(i)?;
            let (i, icb_tag) = icb_tag(i)?;
            let (i, uid) = le_u32(i)?;
            let (i, gid) = le_u32(i)?;
            let (i, permissions) = le_u32(i)?;
            let (i, link_count) = le_u16(i)?;
            let (i, record_format) = le_u8(i)?;
            let (i, record_display_attributes) = le_u8(i)?;
            let (i, record_length) = le_u32(i)?;
            let (i, information_length) = le_u64(i)?;
            let (i, object_size) = if extended { le_u64(i)? } else { (i, 0) };
            let (i, logical_blocks_recorded) = le_u64(i)?;
            let (i, access_time) = timestamp(i)?;
            let (i, modification_time) = timestamp(i)?;
            let (i, creation_time) = if extended { timestamp(i)? } else { (i, Timestamp::default()) };
            let (i, attribute_time) = timestamp(i)?;
            let (i, checkpoint) = le_u32(i)?;
            let (i, reserved) = if extended { le_u32(i)? } else { (i, 0) };
            let (i, extended_attribute_icb) = long_ad(i)?;
            let (i, stream_directory_icb) = if extended { long_ad(i)? } else { (i, LongAd::default()) };
            let (i, implementation_identifier) = entity(i)?;
            let (i, unique_id) = le_u64(i)?;
            let (i, l_ea) = le_u32(i)?;
            let (i, l_ad) = le_u32(i)?;
            Ok((
                i,
                (
                    FileEntry {
                        tag,
                        icb_tag,
                        uid,
                        gid,
                        permissions,
                        link_count,
                        record_format,
                        record_display_attributes,
                        record_length,
                        information_length,
                        object_size,
                        logical_blocks_recorded,
                        access_time,
                        modification_time,
                        creation_time,
                        attribute_time,
                        checkpoint,
                        reserved,
                        extended_attribute_icb,
                        stream_directory_icb,
                        implementation_identifier,
                        unique_id,
                        extended_attributes: Vec::new(),
                        allocation_descriptors: Vec::new(),
                    },
                    l_ea,
                    l_ad,
                ),
            ))
        })?;
        let overflow = |_| Error::Overflow { what: "file entry lengths" };
        let l_ea = usize::try_from(l_ea).map_err(overflow)?;
        let l_ad = usize::try_from(l_ad).map_err(overflow)?;
        let ad_at = header.checked_add(l_ea).ok_or(Error::Overflow { what: "file entry lengths" })?;
        match (slice(what, b, header, l_ea), slice(what, b, ad_at, l_ad)) {
            (Ok(ea), Ok(ad)) => {
                fe.extended_attributes = ea.to_vec();
                fe.allocation_descriptors = ad.to_vec();
                Ok(fe)
            }
            _ => Err(Error::invalid(
                what,
                u64::from(fe.tag.location),
                u64::try_from(header).unwrap_or(0),
                format!("extended attributes ({l_ea} bytes) and allocation descriptors ({l_ad} bytes) overflow the {}-byte entry", b.len()),
            )),
        }
    }

    /// Writes the entry (header, extended attributes, allocation descriptors; no padding).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let extended = self.is_extended();
        self.tag.write_to(w)?;
        self.icb_tag.write_to(w)?;
        w.write_u32::<LE>(self.uid)?;
        w.write_u32::<LE>(self.gid)?;
        w.write_u32::<LE>(self.permissions)?;
        w.write_u16::<LE>(self.link_count)?;
        w.write_u8(self.record_format)?;
        w.write_u8(self.record_display_attributes)?;
        w.write_u32::<LE>(self.record_length)?;
        w.write_u64::<LE>(self.information_length)?;
        if extended {
            w.write_u64::<LE>(self.object_size)?;
        }
        w.write_u64::<LE>(self.logical_blocks_recorded)?;
        self.access_time.write_to(w)?;
        self.modification_time.write_to(w)?;
        if extended {
            self.creation_time.write_to(w)?;
        }
        self.attribute_time.write_to(w)?;
        w.write_u32::<LE>(self.checkpoint)?;
        if extended {
            w.write_u32::<LE>(self.reserved)?;
        }
        self.extended_attribute_icb.write_to(w)?;
        if extended {
            self.stream_directory_icb.write_to(w)?;
        }
        self.implementation_identifier.write_to(w)?;
        w.write_u64::<LE>(self.unique_id)?;
        w.write_u32::<LE>(u32::try_from(self.extended_attributes.len()).map_err(io::Error::other)?)?;
        w.write_u32::<LE>(u32::try_from(self.allocation_descriptors.len()).map_err(io::Error::other)?)?;
        w.write_all(&self.extended_attributes)?;
        w.write_all(&self.allocation_descriptors)
    }

    /// Permission bits (including setuid, setgid and sticky from the ICB tag flags) as a POSIX mode, without
    /// the file type bits. UDF 2.60 3.3.3.3: owner bits 10–12, group 5–7, other 0–2 (execute, write, read).
    pub fn mode(&self) -> u32 {
        let p = self.permissions;
        let mut m = (p & 0x7) | ((p >> 2) & 0x38) | ((p >> 4) & 0x1c0);
        let f = self.icb_tag.flags;
        if f & icb_flags::SETUID != 0 {
            m |= 0o4000;
        }
        if f & icb_flags::SETGID != 0 {
            m |= 0o2000;
        }
        if f & icb_flags::STICKY != 0 {
            m |= 0o1000;
        }
        m
    }

    /// The inverse of [`Self::mode`]: UDF permissions granting each POSIX bit, with "change attributes" and
    /// "delete" granted to whoever may write (as the Linux kernel records them); and the ICB flags for
    /// setuid, setgid and sticky.
    pub fn permissions_from_mode(mode: u32) -> (u32, u16) {
        let spread = |bits: u32| {
            let rwx = bits & 7;
            let w = if rwx & 2 != 0 { 0x18 } else { 0 };
            rwx | w
        };
        let perms = spread(mode & 7) | (spread((mode >> 3) & 7) << 5) | (spread((mode >> 6) & 7) << 10);
        let mut flags = 0;
        if mode & 0o4000 != 0 {
            flags |= icb_flags::SETUID;
        }
        if mode & 0o2000 != 0 {
            flags |= icb_flags::SETGID;
        }
        if mode & 0o1000 != 0 {
            flags |= icb_flags::STICKY;
        }
        (perms, flags)
    }

    /// The owner, `None` when not recorded.
    pub fn owner(&self) -> Option<u32> {
        (self.uid != u32::MAX).then_some(self.uid)
    }

    /// The group, `None` when not recorded.
    pub fn group(&self) -> Option<u32> {
        (self.gid != u32::MAX).then_some(self.gid)
    }

    /// The device numbers of a device file, from its Device Specification extended attribute (4/14.10.7).
    pub fn device(&self) -> Option<(u32, u32)> {
        device_specification(&self.extended_attributes)
    }
}

/// Size of the Extended Attribute Header Descriptor at the start of the extended attributes.
pub const EA_HEADER_SIZE: usize = 24;
/// Attribute type of the Device Specification extended attribute.
pub const EA_DEVICE_SPECIFICATION: u32 = 12;

fn device_specification(ea: &[u8]) -> Option<(u32, u32)> {
    let mut at = EA_HEADER_SIZE;
    // Each attribute: type (4), subtype (1), reserved (3), length (4), contents.
    for _ in 0..64 {
        let head = ea.get(at..at.checked_add(12)?)?;
        let kind = u32::from_le_bytes(head.get(0..4)?.try_into().ok()?);
        let len = usize::try_from(u32::from_le_bytes(head.get(8..12)?.try_into().ok()?)).ok()?;
        if len < 12 {
            return None;
        }
        if kind == EA_DEVICE_SPECIFICATION {
            let body = ea.get(at.checked_add(16)?..at.checked_add(24)?)?;
            let major = u32::from_le_bytes(body.get(0..4)?.try_into().ok()?);
            let minor = u32::from_le_bytes(body.get(4..8)?.try_into().ok()?);
            return Some((major, minor));
        }
        at = at.checked_add(len)?;
    }
    None
}

/// ECMA-167 4/14.7 Indirect Entry: the ICB continues elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndirectEntry {
    /// Tag, identifier 259.
    pub tag: DescriptorTag,
    /// ICB tag (file type 3).
    pub icb_tag: IcbTag,
    /// Where the ICB continues.
    pub indirect_icb: LongAd,
}

impl IndirectEntry {
    /// Parses 52 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("indirect entry", b, INDIRECT_ENTRY_SIZE, |i| {
            let (i, tag) = tag(i)?;
            let (i, icb_tag) = icb_tag(i)?;
            let (i, indirect_icb) = long_ad(i)?;
            Ok((i, IndirectEntry { tag, icb_tag, indirect_icb }))
        })
    }

    /// Writes 52 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        self.icb_tag.write_to(w)?;
        self.indirect_icb.write_to(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(extended: bool) -> FileEntry {
        FileEntry {
            tag: DescriptorTag::new(if extended { 266 } else { 261 }, 3, 0, 9),
            icb_tag: IcbTag {
                strategy_type: 4,
                max_entries: 1,
                file_type: file_type::REGULAR,
                flags: 3,
                ..Default::default()
            },
            uid: 1000,
            gid: u32::MAX,
            permissions: 0x14a5,
            link_count: 1,
            record_format: 0,
            record_display_attributes: 0,
            record_length: 0,
            information_length: 5,
            object_size: if extended { 5 } else { 0 },
            logical_blocks_recorded: 0,
            access_time: Timestamp { year: 2001, month: 1, day: 1, ..Default::default() },
            modification_time: Timestamp { year: 2002, month: 1, day: 1, ..Default::default() },
            creation_time: if extended {
                Timestamp { year: 2000, month: 1, day: 1, ..Default::default() }
            } else {
                Timestamp::default()
            },
            attribute_time: Timestamp::default(),
            checkpoint: 1,
            reserved: 0,
            extended_attribute_icb: LongAd::default(),
            stream_directory_icb: LongAd::default(),
            implementation_identifier: EntityId::new(b"*odix", [0; 8]),
            unique_id: 16,
            extended_attributes: vec![],
            allocation_descriptors: b"hello".to_vec(),
        }
    }

    #[test]
    fn round_trips() {
        for ext in [false, true] {
            let fe = sample(ext);
            let mut v = Vec::new();
            fe.write_to(&mut v).unwrap();
            assert_eq!(v.len(), if ext { 216 } else { 176 } + 5);
            assert_eq!(FileEntry::parse(&v).unwrap(), fe);
            v[172 + if ext { 40 } else { 0 }] = 0xff;
            assert!(FileEntry::parse(&v).is_err());
        }
        let ie = IndirectEntry {
            tag: DescriptorTag::new(259, 3, 0, 5),
            icb_tag: IcbTag { file_type: 3, ..Default::default() },
            indirect_icb: LongAd::default(),
        };
        let mut v = Vec::new();
        ie.write_to(&mut v).unwrap();
        assert_eq!(v.len(), INDIRECT_ENTRY_SIZE);
        assert_eq!(IndirectEntry::parse(&v).unwrap(), ie);
    }

    #[test]
    fn modes() {
        for mode in [0o755u32, 0o644, 0o4711, 0o2750, 0o1777, 0o000, 0o007] {
            let (p, f) = FileEntry::permissions_from_mode(mode);
            let mut fe = sample(false);
            fe.permissions = p;
            fe.icb_tag.flags = f;
            assert_eq!(fe.mode(), mode, "{mode:o}");
        }
    }

    #[test]
    fn device_numbers() {
        let mut ea = vec![0u8; 24];
        ea.extend_from_slice(&12u32.to_le_bytes());
        ea.extend_from_slice(&[1, 0, 0, 0]);
        ea.extend_from_slice(&24u32.to_le_bytes());
        ea.extend_from_slice(&0u32.to_le_bytes());
        ea.extend_from_slice(&8u32.to_le_bytes());
        ea.extend_from_slice(&3u32.to_le_bytes());
        let mut fe = sample(false);
        fe.extended_attributes = ea;
        assert_eq!(fe.device(), Some((8, 3)));
    }
}

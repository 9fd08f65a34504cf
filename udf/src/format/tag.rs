//! ECMA-167 3rd edition 3/7.2 (and 4/7.2) Descriptor Tag: identifier, version, tag checksum (3/7.2.3), serial
//! number, descriptor CRC (3/7.2.6: CRC-16/CCITT, x^16 + x^12 + x^5 + 1, initial value 0, no reflection, over
//! the `crc_length` bytes after the tag) and tag location.
//!
//! Sources: UDF 2.60 2.2.1.2 and 2.3.1.2 require the CRC over the whole descriptor; discs written by early
//! packet-writing software record a CRC length of 0, which the CRC check accepts (nothing to check).

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::{le_u16, le_u32, le_u8, run};
use crate::error::Result;

/// Size of a descriptor tag in bytes.
pub const TAG_SIZE: usize = 16;

/// Tag identifiers of ECMA-167 3/7.2.1 (volume structures) and 4/7.2.1 (file structures).
pub mod ident {
    /// Primary Volume Descriptor (3/10.1).
    pub const PRIMARY_VOLUME: u16 = 1;
    /// Anchor Volume Descriptor Pointer (3/10.2).
    pub const ANCHOR: u16 = 2;
    /// Volume Descriptor Pointer (3/10.3).
    pub const VOLUME_POINTER: u16 = 3;
    /// Implementation Use Volume Descriptor (3/10.4).
    pub const IMPLEMENTATION_USE: u16 = 4;
    /// Partition Descriptor (3/10.5).
    pub const PARTITION: u16 = 5;
    /// Logical Volume Descriptor (3/10.6).
    pub const LOGICAL_VOLUME: u16 = 6;
    /// Unallocated Space Descriptor (3/10.8).
    pub const UNALLOCATED_SPACE: u16 = 7;
    /// Terminating Descriptor (3/10.9, 4/14.2).
    pub const TERMINATING: u16 = 8;
    /// Logical Volume Integrity Descriptor (3/10.10).
    pub const LOGICAL_VOLUME_INTEGRITY: u16 = 9;
    /// File Set Descriptor (4/14.1).
    pub const FILE_SET: u16 = 256;
    /// File Identifier Descriptor (4/14.4).
    pub const FILE_IDENTIFIER: u16 = 257;
    /// Allocation Extent Descriptor (4/14.5).
    pub const ALLOCATION_EXTENT: u16 = 258;
    /// Indirect Entry (4/14.7).
    pub const INDIRECT_ENTRY: u16 = 259;
    /// Terminal Entry (4/14.8).
    pub const TERMINAL_ENTRY: u16 = 260;
    /// File Entry (4/14.9).
    pub const FILE_ENTRY: u16 = 261;
    /// Extended Attribute Header Descriptor (4/14.10.1).
    pub const EXTENDED_ATTRIBUTE_HEADER: u16 = 262;
    /// Unallocated Space Entry (4/14.11).
    pub const UNALLOCATED_SPACE_ENTRY: u16 = 263;
    /// Space Bitmap Descriptor (4/14.12).
    pub const SPACE_BITMAP: u16 = 264;
    /// Partition Integrity Entry (4/14.13).
    pub const PARTITION_INTEGRITY: u16 = 265;
    /// Extended File Entry (4/14.17).
    pub const EXTENDED_FILE_ENTRY: u16 = 266;
}

/// ECMA-167 3/7.2 Descriptor Tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescriptorTag {
    /// One of the [`ident`] constants.
    pub identifier: u16,
    /// Descriptor version: 2 for NSR02 (UDF 1.02, 1.50), 3 for NSR03 (UDF 2.00 and later).
    pub version: u16,
    /// Sum modulo 256 of tag bytes 0–3 and 5–15.
    pub checksum: u8,
    /// Reserved, 0.
    pub reserved: u8,
    /// Tag serial number (UDF: the same for all descriptors of a volume, or 0).
    pub serial: u16,
    /// CRC-16/CCITT of the `crc_length` bytes after the tag.
    pub crc: u16,
    /// Number of bytes after the tag covered by `crc`.
    pub crc_length: u16,
    /// Block where the descriptor is recorded: physical for volume structures, logical (inside its partition)
    /// for file structures.
    pub location: u32,
}

impl DescriptorTag {
    /// Parses the first 16 bytes of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("descriptor tag", b, TAG_SIZE, |i| {
            let (i, identifier) = le_u16(i)?;
            let (i, version) = le_u16(i)?;
            let (i, checksum) = le_u8(i)?;
            let (i, reserved) = le_u8(i)?;
            let (i, serial) = le_u16(i)?;
            let (i, crc) = le_u16(i)?;
            let (i, crc_length) = le_u16(i)?;
            let (i, location) = le_u32(i)?;
            Ok((i, DescriptorTag { identifier, version, checksum, reserved, serial, crc, crc_length, location }))
        })
    }

    /// Writes the 16 bytes, as recorded (see [`seal`] to compute checksum and CRC).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u16::<LE>(self.identifier)?;
        w.write_u16::<LE>(self.version)?;
        w.write_u8(self.checksum)?;
        w.write_u8(self.reserved)?;
        w.write_u16::<LE>(self.serial)?;
        w.write_u16::<LE>(self.crc)?;
        w.write_u16::<LE>(self.crc_length)?;
        w.write_u32::<LE>(self.location)
    }

    /// A tag for a new descriptor; checksum and CRC are filled in by [`seal`].
    pub fn new(identifier: u16, version: u16, serial: u16, location: u32) -> Self {
        DescriptorTag { identifier, version, serial, location, ..Default::default() }
    }
}

/// The tag checksum of the first 16 bytes of `tag` (ECMA-167 3/7.2.3): bytes 0–3 and 5–15 summed modulo 256.
pub fn checksum(tag: &[u8; TAG_SIZE]) -> u8 {
    tag.iter().enumerate().filter(|(i, _)| *i != 4).fold(0u8, |acc, (_, b)| acc.wrapping_add(*b))
}

/// Slice-by-16 tables: every File Entry read is checked, so this runs over megabytes when a tree is listed. A
/// `static`, so the tables are not copied at each use.
static CCITT: crc::Crc<u16, crc::Table<16>> = crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_XMODEM);

/// CRC-16/CCITT as ECMA-167 3/7.2.6 defines it (polynomial 0x1021, initial value 0, no reflection).
pub fn crc16(data: &[u8]) -> u16 {
    CCITT.checksum(data)
}

/// What is wrong with a tag, as [`verify`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagProblem {
    /// The tag checksum does not match: there is no descriptor here.
    Checksum {
        /// Computed.
        expected: u8,
        /// Recorded.
        actual: u8,
    },
    /// The CRC does not match, or covers more bytes than there are.
    Crc {
        /// Computed (0 when the length is out of range).
        expected: u16,
        /// Recorded.
        actual: u16,
    },
    /// The tag location is not where the descriptor was found.
    Location {
        /// Where it was read from.
        expected: u32,
        /// Recorded.
        actual: u32,
    },
}

/// Checks the tag at the start of `descriptor`: checksum, CRC over the following bytes, and (when given) the
/// location. Returns the tag and every problem found, the checksum first.
pub fn verify(descriptor: &[u8], location: Option<u32>) -> Result<(DescriptorTag, Vec<TagProblem>)> {
    let tag = DescriptorTag::parse(descriptor)?;
    let mut problems = Vec::new();
    let mut raw = [0u8; TAG_SIZE];
    if let Some(head) = descriptor.get(..TAG_SIZE) {
        raw.copy_from_slice(head);
    }
    let sum = checksum(&raw);
    if sum != tag.checksum {
        problems.push(TagProblem::Checksum { expected: sum, actual: tag.checksum });
    }
    let body = descriptor.get(TAG_SIZE..TAG_SIZE.saturating_add(usize::from(tag.crc_length)));
    match body {
        Some(body) => {
            let crc = crc16(body);
            if crc != tag.crc {
                problems.push(TagProblem::Crc { expected: crc, actual: tag.crc });
            }
        }
        None => problems.push(TagProblem::Crc { expected: 0, actual: tag.crc }),
    }
    if let Some(loc) = location {
        if loc != tag.location {
            problems.push(TagProblem::Location { expected: loc, actual: tag.location });
        }
    }
    Ok((tag, problems))
}

/// Finishes a serialised descriptor in place: sets the tag location, the CRC over all bytes after the tag (at
/// most 65535), and the checksum. `descriptor` must hold at least the 16-byte tag.
pub fn seal(descriptor: &mut [u8], location: u32) {
    let body_len = descriptor.len().saturating_sub(TAG_SIZE).min(usize::from(u16::MAX));
    let crc = descriptor.get(TAG_SIZE..TAG_SIZE.saturating_add(body_len)).map(crc16).unwrap_or(0);
    let Ok(mut tag) = DescriptorTag::parse(descriptor) else { return };
    tag.crc = crc;
    tag.crc_length = u16::try_from(body_len).unwrap_or(u16::MAX);
    tag.location = location;
    let mut raw = tag.to_bytes();
    raw[4] = checksum(&raw);
    if let Some(head) = descriptor.get_mut(..TAG_SIZE) {
        head.copy_from_slice(&raw);
    }
}

impl DescriptorTag {
    /// The 16 recorded bytes.
    pub fn to_bytes(&self) -> [u8; TAG_SIZE] {
        let mut raw = [0u8; TAG_SIZE];
        raw[0..2].copy_from_slice(&self.identifier.to_le_bytes());
        raw[2..4].copy_from_slice(&self.version.to_le_bytes());
        raw[4] = self.checksum;
        raw[5] = self.reserved;
        raw[6..8].copy_from_slice(&self.serial.to_le_bytes());
        raw[8..10].copy_from_slice(&self.crc.to_le_bytes());
        raw[10..12].copy_from_slice(&self.crc_length.to_le_bytes());
        raw[12..16].copy_from_slice(&self.location.to_le_bytes());
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = DescriptorTag {
            identifier: 261,
            version: 3,
            checksum: 7,
            reserved: 0,
            serial: 1,
            crc: 0xbeef,
            crc_length: 496,
            location: 1234,
        };
        let mut v = Vec::new();
        t.write_to(&mut v).unwrap();
        assert_eq!(v.len(), TAG_SIZE);
        assert_eq!(DescriptorTag::parse(&v).unwrap(), t);
    }

    #[test]
    fn crc_matches_ecma_167_example() {
        // ECMA-167 3/7.2.6: the CRC of the bytes #70 #6A #77 is #3299.
        assert_eq!(crc16(&[0x70, 0x6a, 0x77]), 0x3299);
    }

    #[test]
    fn seal_then_verify() {
        let mut d = vec![0u8; 512];
        DescriptorTag::new(ident::TERMINATING, 3, 0, 0).write_to(&mut &mut d[..16]).unwrap();
        d[100] = 0x55;
        seal(&mut d, 77);
        let (tag, problems) = verify(&d, Some(77)).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(tag.location, 77);
        d[200] = 1;
        let (_, problems) = verify(&d, Some(78)).unwrap();
        assert_eq!(problems.len(), 2);
        d[5] = 9;
        let (_, problems) = verify(&d, None).unwrap();
        assert!(matches!(problems[0], TagProblem::Checksum { .. }));
    }
}

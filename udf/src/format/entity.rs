//! ECMA-167 3rd edition 1/7.4 Entity Identifier (`regid`) and 1/7.2.1 Character Set Specification (`charspec`),
//! with the identifier suffixes of OSTA UDF 2.60 2.1.5.

use std::io::{self, Write};

use byteorder::WriteBytesExt;

use super::{array, le_u8, run};
use crate::error::Result;

/// Size of an entity identifier in bytes.
pub const ENTITY_ID_SIZE: usize = 32;
/// Size of a charspec in bytes.
pub const CHARSPEC_SIZE: usize = 64;

/// Domain identifier of UDF volumes (UDF 2.60 2.1.5.2).
pub const DOMAIN_OSTA_UDF: &[u8] = b"*OSTA UDF Compliant";
/// Partition type identifier of a virtual partition map (UDF 2.60 2.2.8).
pub const VIRTUAL_PARTITION: &[u8] = b"*UDF Virtual Partition";
/// Partition type identifier of a sparable partition map (UDF 2.60 2.2.9).
pub const SPARABLE_PARTITION: &[u8] = b"*UDF Sparable Partition";
/// Partition type identifier of a metadata partition map (UDF 2.60 2.2.10).
pub const METADATA_PARTITION: &[u8] = b"*UDF Metadata Partition";
/// Identifier of a sparing table (UDF 2.60 2.2.12).
pub const SPARING_TABLE: &[u8] = b"*UDF Sparing Table";
/// Identifier closing a UDF 1.50 Virtual Allocation Table (UDF 1.50 2.2.10).
pub const VIRTUAL_ALLOCATION_TABLE: &[u8] = b"*UDF Virtual Alloc Tbl";
/// Identifier of the Logical Volume Information implementation use volume descriptor (UDF 2.60 2.2.7.2).
pub const LV_INFO: &[u8] = b"*UDF LV Info";

/// ECMA-167 1/7.4 Entity Identifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntityId {
    /// Bit 0: dirty (modified since the identifier was recorded); bit 1: protected.
    pub flags: u8,
    /// The identifier, padded with zero bytes.
    pub identifier: [u8; 23],
    /// Identifier suffix: for domain and UDF identifiers the UDF revision (BCD-like u16, 0x0201 = 2.01) first.
    pub suffix: [u8; 8],
}

impl EntityId {
    /// Parses 32 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("entity identifier", b, ENTITY_ID_SIZE, |i| {
            let (i, flags) = le_u8(i)?;
            let (i, identifier) = array::<23>(i)?;
            let (i, suffix) = array::<8>(i)?;
            Ok((i, EntityId { flags, identifier, suffix }))
        })
    }

    /// Writes the 32 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u8(self.flags)?;
        w.write_all(&self.identifier)?;
        w.write_all(&self.suffix)
    }

    /// An identifier with `id` (truncated to 23 bytes) and `suffix`.
    pub fn new(id: &[u8], suffix: [u8; 8]) -> Self {
        let mut identifier = [0u8; 23];
        for (d, s) in identifier.iter_mut().zip(id) {
            *d = *s;
        }
        EntityId { flags: 0, identifier, suffix }
    }

    /// The identifier without its zero padding.
    pub fn id(&self) -> &[u8] {
        let end = self.identifier.iter().rposition(|&b| b != 0).map_or(0, |p| p.saturating_add(1));
        self.identifier.get(..end).unwrap_or(&[])
    }

    /// Whether the identifier is `id`.
    pub fn is(&self, id: &[u8]) -> bool {
        self.id() == id
    }

    /// The UDF revision in a domain or UDF identifier suffix (0x0102, 0x0150, 0x0201, 0x0250, 0x0260).
    pub fn udf_revision(&self) -> u16 {
        u16::from_le_bytes([self.suffix[0], self.suffix[1]])
    }

    /// The identifier as text, for display.
    pub fn display(&self) -> String {
        self.id().iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '.' }).collect()
    }
}

/// ECMA-167 1/7.2.1 Character Set Specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charspec {
    /// Character set type (0 = CS0).
    pub set_type: u8,
    /// Character set information (UDF: "OSTA Compressed Unicode").
    pub info: [u8; 63],
}

impl Default for Charspec {
    fn default() -> Self {
        Charspec::osta_cs0()
    }
}

impl Charspec {
    /// Parses 64 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("charspec", b, CHARSPEC_SIZE, |i| {
            let (i, set_type) = le_u8(i)?;
            let (i, info) = array::<63>(i)?;
            Ok((i, Charspec { set_type, info }))
        })
    }

    /// Writes the 64 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u8(self.set_type)?;
        w.write_all(&self.info)
    }

    /// The CS0 "OSTA Compressed Unicode" charspec every UDF descriptor records.
    pub fn osta_cs0() -> Self {
        let mut info = [0u8; 63];
        for (d, s) in info.iter_mut().zip(b"OSTA Compressed Unicode") {
            *d = *s;
        }
        Charspec { set_type: 0, info }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = EntityId::new(DOMAIN_OSTA_UDF, [0x01, 0x02, 3, 0, 0, 0, 0, 0]);
        let mut v = Vec::new();
        e.write_to(&mut v).unwrap();
        assert_eq!(v.len(), ENTITY_ID_SIZE);
        let p = EntityId::parse(&v).unwrap();
        assert_eq!(p, e);
        assert!(p.is(DOMAIN_OSTA_UDF));
        assert_eq!(p.udf_revision(), 0x0201);
        let c = Charspec::osta_cs0();
        let mut v = Vec::new();
        c.write_to(&mut v).unwrap();
        assert_eq!(v.len(), CHARSPEC_SIZE);
        assert_eq!(Charspec::parse(&v).unwrap(), c);
    }
}

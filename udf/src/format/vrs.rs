//! ECMA-167 3rd edition 2/9 Volume Recognition Sequence: the Volume Structure Descriptors from byte 32768,
//! after any ISO 9660 descriptors (`CD001`): `BEA01`, then `NSR02` (UDF 1.02, 1.50) or `NSR03` (UDF 2.00 and
//! later), then `TEA01` (3/9.1, 3/9.2, 3/9.3).

use std::io::{self, Write};

use byteorder::WriteBytesExt;

use super::{array, le_u8, run};
use crate::error::Result;

/// Byte offset of the first volume structure descriptor.
pub const VRS_OFFSET: u64 = 32768;
/// Size of the recognised part of a volume structure descriptor (each one starts on a 2048-byte boundary, or
/// on a block boundary when blocks are larger).
pub const VSD_SIZE: usize = 2048;

/// Beginning Extended Area Descriptor identifier.
pub const BEA01: [u8; 5] = *b"BEA01";
/// NSR descriptor identifier of ECMA-167 2nd edition (UDF 1.02 and 1.50).
pub const NSR02: [u8; 5] = *b"NSR02";
/// NSR descriptor identifier of ECMA-167 3rd edition (UDF 2.00 and later).
pub const NSR03: [u8; 5] = *b"NSR03";
/// Terminating Extended Area Descriptor identifier.
pub const TEA01: [u8; 5] = *b"TEA01";
/// ISO 9660 volume descriptor identifier.
pub const CD001: [u8; 5] = *b"CD001";
/// ECMA-168 descriptor identifier.
pub const CDW02: [u8; 5] = *b"CDW02";
/// Boot descriptor identifier.
pub const BOOT2: [u8; 5] = *b"BOOT2";

/// ECMA-167 2/9.1 Volume Structure Descriptor (generic form: type, identifier, version, data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeStructureDescriptor {
    /// Structure type (0 for BEA01, NSR0x and TEA01).
    pub structure_type: u8,
    /// Five-character standard identifier.
    pub identifier: [u8; 5],
    /// Structure version (1).
    pub version: u8,
    /// The remaining 2041 bytes.
    pub data: Vec<u8>,
}

impl VolumeStructureDescriptor {
    /// Parses 2048 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("volume structure descriptor", b, VSD_SIZE, |i| {
            let (i, structure_type) = le_u8(i)?;
            let (i, identifier) = array::<5>(i)?;
            let (i, version) = le_u8(i)?;
            let (i, data) = array::<2041>(i)?;
            Ok((i, VolumeStructureDescriptor { structure_type, identifier, version, data: data.to_vec() }))
        })
    }

    /// Writes the 2048 bytes (data padded or cut to 2041 bytes).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u8(self.structure_type)?;
        w.write_all(&self.identifier)?;
        w.write_u8(self.version)?;
        let mut data = self.data.clone();
        data.resize(2041, 0);
        w.write_all(&data)
    }

    /// A BEA01, NSR0x or TEA01 descriptor.
    pub fn new(identifier: [u8; 5]) -> Self {
        VolumeStructureDescriptor { structure_type: 0, identifier, version: 1, data: vec![0; 2041] }
    }
}

/// What a scan of the recognition sequence found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recognition {
    /// An ISO 9660 descriptor (`CD001`) precedes the extended area.
    pub iso9660: bool,
    /// `BEA01` seen.
    pub bea: bool,
    /// `NSR02` or `NSR03` seen inside the extended area: 2 or 3.
    pub nsr: Option<u8>,
    /// `TEA01` seen after it.
    pub tea: bool,
}

impl Recognition {
    /// Feeds the identifiers in order; stops being updated after TEA01.
    pub fn feed(&mut self, identifier: &[u8; 5]) -> bool {
        match *identifier {
            CD001 if !self.bea => self.iso9660 = true,
            BEA01 => self.bea = true,
            NSR02 if self.bea => self.nsr = Some(2),
            NSR03 if self.bea => self.nsr = Some(3),
            TEA01 if self.bea => {
                self.tea = true;
                return false;
            }
            CD001 | CDW02 | BOOT2 => {}
            _ => return false,
        }
        true
    }

    /// Whether a UDF recognition sequence is complete.
    pub fn is_udf(&self) -> bool {
        self.bea && self.nsr.is_some() && self.tea
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_scan() {
        let d = VolumeStructureDescriptor::new(NSR03);
        let mut v = Vec::new();
        d.write_to(&mut v).unwrap();
        assert_eq!(v.len(), VSD_SIZE);
        assert_eq!(VolumeStructureDescriptor::parse(&v).unwrap(), d);
        let mut r = Recognition::default();
        for id in [CD001, CD001, BEA01, NSR02, TEA01] {
            if !r.feed(&id) {
                break;
            }
        }
        assert!(r.is_udf() && r.iso9660);
        assert_eq!(r.nsr, Some(2));
        let mut r = Recognition::default();
        assert!(!r.feed(&[0; 5]));
        assert!(!r.is_udf());
    }
}

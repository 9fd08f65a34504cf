//! ECMA-167 3rd edition 3/10.2 Anchor Volume Descriptor Pointer: recorded at sector 256 and at N−256 and/or
//! N−1 of the volume (UDF 2.60 2.2.3: at least two of the three), pointing at the main and reserve Volume
//! Descriptor Sequences.

use std::io::{self, Write};

use super::ad::ExtentAd;
use super::slice;
use super::tag::DescriptorTag;
use crate::error::Result;

/// Sector of the first anchor, from the start of the session.
pub const ANCHOR_SECTOR: u64 = 256;
/// Bytes the descriptor uses (the rest of the block is reserved).
pub const ANCHOR_SIZE: usize = 512;

/// ECMA-167 3/10.2 Anchor Volume Descriptor Pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorVolumeDescriptorPointer {
    /// Tag, identifier 2, location = its own sector.
    pub tag: DescriptorTag,
    /// Main Volume Descriptor Sequence.
    pub main: ExtentAd,
    /// Reserve Volume Descriptor Sequence.
    pub reserve: ExtentAd,
}

impl AnchorVolumeDescriptorPointer {
    /// Parses the descriptor at the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        Ok(AnchorVolumeDescriptorPointer {
            tag: DescriptorTag::parse(b)?,
            main: ExtentAd::parse(slice("anchor", b, 16, 8)?)?,
            reserve: ExtentAd::parse(slice("anchor", b, 24, 8)?)?,
        })
    }

    /// Writes 512 bytes (480 reserved zero bytes after the extents).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        self.main.write_to(w)?;
        self.reserve.write_to(w)?;
        w.write_all(&[0; 480])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let a = AnchorVolumeDescriptorPointer {
            tag: DescriptorTag::new(2, 3, 0, 256),
            main: ExtentAd { length: 32768, location: 32 },
            reserve: ExtentAd { length: 32768, location: 48 },
        };
        let mut v = Vec::new();
        a.write_to(&mut v).unwrap();
        assert_eq!(v.len(), ANCHOR_SIZE);
        assert_eq!(AnchorVolumeDescriptorPointer::parse(&v).unwrap(), a);
    }
}

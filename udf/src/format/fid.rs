//! ECMA-167 3rd edition 4/14.4 File Identifier Descriptor: one name in a directory (UDF 2.60 2.3.4).
//!
//! A FID is 38 bytes, then implementation use, then the name (CS0 d-characters), padded to a multiple of 4.

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::ad::LongAd;
use super::tag::DescriptorTag;
use super::{cs0, le_u16, le_u8, long_ad, run, slice, tag};
use crate::error::{Error, Result};

/// Size of the fixed part.
pub const FID_HEADER_SIZE: usize = 38;

/// File characteristics (4/14.4.3).
pub mod characteristics {
    /// Existence: the entry is hidden from the user.
    pub const HIDDEN: u8 = 1;
    /// The entry is a directory.
    pub const DIRECTORY: u8 = 2;
    /// The entry is deleted.
    pub const DELETED: u8 = 4;
    /// The entry names the parent directory.
    pub const PARENT: u8 = 8;
    /// The entry is file system metadata (UDF 2.00+ stream directories).
    pub const METADATA: u8 = 16;
}

/// ECMA-167 4/14.4 File Identifier Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileIdentifierDescriptor {
    /// Tag, identifier 257; location = the logical block the FID starts in.
    pub tag: DescriptorTag,
    /// File version number (1).
    pub version: u16,
    /// [`characteristics`] bits.
    pub characteristics: u8,
    /// ICB of the named entry.
    pub icb: LongAd,
    /// Implementation use (UDF: an entity identifier and more, or nothing).
    pub implementation_use: Vec<u8>,
    /// Name as d-characters (compression ID first), empty for the parent entry.
    pub identifier: Vec<u8>,
}

impl FileIdentifierDescriptor {
    /// Parses the FID at the start of `b`; returns it and its length including padding (which may run past
    /// the end of `b` only for the last FID of a directory).
    pub fn parse(b: &[u8]) -> Result<(Self, usize)> {
        let (tag, version, characteristics, l_fi, icb, l_iu) =
            run("file identifier descriptor", b, FID_HEADER_SIZE, |i| {
                let (i, tag) = tag(i)?;
                let (i, version) = le_u16(i)?;
                let (i, ch) = le_u8(i)?;
                let (i, l_fi) = le_u8(i)?;
                let (i, icb) = long_ad(i)?;
                let (i, l_iu) = le_u16(i)?;
                Ok((i, (tag, version, ch, l_fi, icb, l_iu)))
            })?;
        let iu = slice("file identifier descriptor", b, FID_HEADER_SIZE, usize::from(l_iu))?;
        let name_at = FID_HEADER_SIZE.saturating_add(usize::from(l_iu));
        let name = slice("file identifier", b, name_at, usize::from(l_fi))?;
        let len = name_at.saturating_add(usize::from(l_fi));
        let padded = len.checked_add(3).map(|l| l & !3).ok_or(Error::Overflow { what: "FID length" })?;
        Ok((
            FileIdentifierDescriptor {
                tag,
                version,
                characteristics,
                icb,
                implementation_use: iu.to_vec(),
                identifier: name.to_vec(),
            },
            padded,
        ))
    }

    /// Writes the FID with its padding.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_u16::<LE>(self.version)?;
        w.write_u8(self.characteristics)?;
        w.write_u8(u8::try_from(self.identifier.len()).map_err(io::Error::other)?)?;
        self.icb.write_to(w)?;
        w.write_u16::<LE>(u16::try_from(self.implementation_use.len()).map_err(io::Error::other)?)?;
        w.write_all(&self.implementation_use)?;
        w.write_all(&self.identifier)?;
        let unpadded =
            FID_HEADER_SIZE.saturating_add(self.implementation_use.len()).saturating_add(self.identifier.len());
        let pad = self.len().saturating_sub(unpadded);
        w.write_all([0u8; 3].get(..pad).unwrap_or(&[]))
    }

    /// Recorded length with padding.
    pub fn len(&self) -> usize {
        let l = FID_HEADER_SIZE.saturating_add(self.implementation_use.len()).saturating_add(self.identifier.len());
        l.saturating_add(3) & !3
    }

    /// Whether the FID has neither implementation use nor a name (never true for a valid FID).
    pub fn is_empty(&self) -> bool {
        self.implementation_use.is_empty() && self.identifier.is_empty()
    }

    /// The name, decoded.
    pub fn name(&self) -> String {
        cs0::decode(&self.identifier)
    }

    /// Whether a characteristic bit is set.
    pub fn has(&self, bit: u8) -> bool {
        self.characteristics & bit != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ad::LbAddr;

    #[test]
    fn round_trip() {
        for name in ["", "a", "ab", "abc", "日本語.txt"] {
            let f = FileIdentifierDescriptor {
                tag: DescriptorTag::new(257, 3, 0, 7),
                version: 1,
                characteristics: characteristics::DIRECTORY,
                icb: LongAd { length: 2048, location: LbAddr { block: 4, partition: 0 }, implementation_use: [0; 6] },
                implementation_use: vec![],
                identifier: if name.is_empty() { vec![] } else { cs0::encode(name) },
            };
            let mut v = Vec::new();
            f.write_to(&mut v).unwrap();
            assert_eq!(v.len() % 4, 0);
            assert_eq!(v.len(), f.len());
            let (p, len) = FileIdentifierDescriptor::parse(&v).unwrap();
            assert_eq!(p, f);
            assert_eq!(len, v.len());
            assert_eq!(p.name(), name);
        }
        let mut v = vec![0u8; 38];
        v[19] = 200;
        assert!(FileIdentifierDescriptor::parse(&v).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::format::ad::LbAddr;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fid_round_trips(name in "\\PC{0,40}", iu in proptest::collection::vec(any::<u8>(), 0..40), ch in 0u8..32, block: u32, part: u16) {
            let f = FileIdentifierDescriptor {
                tag: DescriptorTag::new(257, 3, 0, block),
                version: 1,
                characteristics: ch,
                icb: LongAd { length: 2048, location: LbAddr { block, partition: part }, implementation_use: [0; 6] },
                implementation_use: iu,
                identifier: cs0::encode(&name),
            };
            let mut v = Vec::new();
            f.write_to(&mut v).unwrap();
            let (p, len) = FileIdentifierDescriptor::parse(&v).unwrap();
            prop_assert_eq!(len, v.len());
            prop_assert_eq!(p, f);
        }

        #[test]
        fn any_bytes_parse_without_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = FileIdentifierDescriptor::parse(&b);
            let _ = crate::format::file_entry::FileEntry::parse(&b);
            let _ = crate::format::partition::LogicalVolumeDescriptor::parse(&b);
            let _ = crate::format::path::parse_all(&b);
            let _ = crate::format::integrity::LogicalVolumeIntegrityDescriptor::parse(&b);
        }
    }
}

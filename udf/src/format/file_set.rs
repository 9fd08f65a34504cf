//! ECMA-167 3rd edition 4/14.1 File Set Descriptor (UDF 2.60 2.3.2): where the root directory and the system
//! stream directory are.

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::ad::LongAd;
use super::cs0;
use super::entity::{Charspec, EntityId};
use super::tag::DescriptorTag;
use super::timestamp::Timestamp;
use super::{array, charspec, entity, le_u16, le_u32, long_ad, run, tag, timestamp};
use crate::error::Result;

/// Bytes the descriptor uses.
pub const FILE_SET_SIZE: usize = 512;

/// ECMA-167 4/14.1 File Set Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSetDescriptor {
    /// Tag, identifier 256.
    pub tag: DescriptorTag,
    /// When it was recorded.
    pub recording_time: Timestamp,
    /// Interchange level (3).
    pub interchange_level: u16,
    /// Highest interchange level allowed.
    pub max_interchange_level: u16,
    /// Character sets used.
    pub character_set_list: u32,
    /// Character sets allowed.
    pub max_character_set_list: u32,
    /// File set number.
    pub file_set_number: u32,
    /// File set descriptor number.
    pub file_set_descriptor_number: u32,
    /// Character set of the logical volume identifier.
    pub logical_volume_charset: Charspec,
    /// Logical volume identifier, 128-byte d-string.
    pub logical_volume_identifier: [u8; 128],
    /// Character set of the file set identifiers.
    pub file_set_charset: Charspec,
    /// File set identifier, 32-byte d-string.
    pub file_set_identifier: [u8; 32],
    /// Copyright file identifier, 32-byte d-string.
    pub copyright_file_identifier: [u8; 32],
    /// Abstract file identifier, 32-byte d-string.
    pub abstract_file_identifier: [u8; 32],
    /// ICB of the root directory.
    pub root_directory_icb: LongAd,
    /// "*OSTA UDF Compliant" with the UDF revision.
    pub domain_identifier: EntityId,
    /// Next extent of file set descriptors (length 0 when none).
    pub next_extent: LongAd,
    /// ICB of the system stream directory (UDF 2.00+; length 0 when none).
    pub system_stream_directory_icb: LongAd,
}

impl FileSetDescriptor {
    /// Parses 512 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("file set descriptor", b, 480, |i| {
            let (i, tag) = tag(i)?;
            let (i, recording_time) = timestamp(i)?;
            let (i, interchange_level) = le_u16(i)?;
            let (i, max_interchange_level) = le_u16(i)?;
            let (i, character_set_list) = le_u32(i)?;
            let (i, max_character_set_list) = le_u32(i)?;
            let (i, file_set_number) = le_u32(i)?;
            let (i, file_set_descriptor_number) = le_u32(i)?;
            let (i, logical_volume_charset) = charspec(i)?;
            let (i, logical_volume_identifier) = array::<128>(i)?;
            let (i, file_set_charset) = charspec(i)?;
            let (i, file_set_identifier) = array::<32>(i)?;
            let (i, copyright_file_identifier) = array::<32>(i)?;
            let (i, abstract_file_identifier) = array::<32>(i)?;
            let (i, root_directory_icb) = long_ad(i)?;
            let (i, domain_identifier) = entity(i)?;
            let (i, next_extent) = long_ad(i)?;
            let (i, system_stream_directory_icb) = long_ad(i)?;
            // 32 reserved bytes follow.
            Ok((
                i,
                FileSetDescriptor {
                    tag,
                    recording_time,
                    interchange_level,
                    max_interchange_level,
                    character_set_list,
                    max_character_set_list,
                    file_set_number,
                    file_set_descriptor_number,
                    logical_volume_charset,
                    logical_volume_identifier,
                    file_set_charset,
                    file_set_identifier,
                    copyright_file_identifier,
                    abstract_file_identifier,
                    root_directory_icb,
                    domain_identifier,
                    next_extent,
                    system_stream_directory_icb,
                },
            ))
        })
    }

    /// Writes 512 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        self.recording_time.write_to(w)?;
        w.write_u16::<LE>(self.interchange_level)?;
        w.write_u16::<LE>(self.max_interchange_level)?;
        w.write_u32::<LE>(self.character_set_list)?;
        w.write_u32::<LE>(self.max_character_set_list)?;
        w.write_u32::<LE>(self.file_set_number)?;
        w.write_u32::<LE>(self.file_set_descriptor_number)?;
        self.logical_volume_charset.write_to(w)?;
        w.write_all(&self.logical_volume_identifier)?;
        self.file_set_charset.write_to(w)?;
        w.write_all(&self.file_set_identifier)?;
        w.write_all(&self.copyright_file_identifier)?;
        w.write_all(&self.abstract_file_identifier)?;
        self.root_directory_icb.write_to(w)?;
        self.domain_identifier.write_to(w)?;
        self.next_extent.write_to(w)?;
        self.system_stream_directory_icb.write_to(w)?;
        w.write_all(&[0; 32])
    }

    /// The file set identifier, decoded.
    pub fn file_set_id(&self) -> String {
        cs0::decode_dstring(&self.file_set_identifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ad::LbAddr;

    #[test]
    fn round_trip() {
        let f = FileSetDescriptor {
            tag: DescriptorTag::new(256, 3, 0, 0),
            recording_time: Timestamp::default(),
            interchange_level: 3,
            max_interchange_level: 3,
            character_set_list: 1,
            max_character_set_list: 1,
            file_set_number: 0,
            file_set_descriptor_number: 0,
            logical_volume_charset: Charspec::osta_cs0(),
            logical_volume_identifier: [0; 128],
            file_set_charset: Charspec::osta_cs0(),
            file_set_identifier: cs0::encode_dstring("FS", 32).unwrap().try_into().unwrap(),
            copyright_file_identifier: [0; 32],
            abstract_file_identifier: [0; 32],
            root_directory_icb: LongAd {
                length: 2048,
                location: LbAddr { block: 2, partition: 0 },
                implementation_use: [0; 6],
            },
            domain_identifier: EntityId::new(b"*OSTA UDF Compliant", [1, 2, 0, 0, 0, 0, 0, 0]),
            next_extent: LongAd::default(),
            system_stream_directory_icb: LongAd::default(),
        };
        let mut v = Vec::new();
        f.write_to(&mut v).unwrap();
        assert_eq!(v.len(), FILE_SET_SIZE);
        let p = FileSetDescriptor::parse(&v).unwrap();
        assert_eq!(p, f);
        assert_eq!(p.file_set_id(), "FS");
    }
}

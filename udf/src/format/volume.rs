//! ECMA-167 3rd edition volume descriptors of the Volume Descriptor Sequence: 3/10.1 Primary Volume
//! Descriptor, 3/10.3 Volume Descriptor Pointer, 3/10.4 Implementation Use Volume Descriptor (with the UDF 2.60
//! 2.2.7.2 LVInfo contents), 3/10.8 Unallocated Space Descriptor and 3/10.9 Terminating Descriptor.

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::ad::{ExtentAd, EXTENT_AD_SIZE};
use super::cs0;
use super::entity::{Charspec, EntityId};
use super::tag::DescriptorTag;
use super::timestamp::Timestamp;

use super::{array, charspec, entity, extent, le_u16, le_u32, run, slice, tag, timestamp};
use crate::error::{Error, Result};

/// Bytes a volume descriptor occupies (the rest of its block is unused).
pub const VOLUME_DESCRIPTOR_SIZE: usize = 512;

/// ECMA-167 3/10.1 Primary Volume Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryVolumeDescriptor {
    /// Tag, identifier 1.
    pub tag: DescriptorTag,
    /// Volume Descriptor Sequence Number: the highest one of each kind is in force.
    pub sequence_number: u32,
    /// Primary Volume Descriptor Number.
    pub number: u32,
    /// Volume identifier, a 32-byte d-string.
    pub volume_identifier: [u8; 32],
    /// Number of this volume in its set, from 1.
    pub volume_sequence_number: u16,
    /// Number of volumes in the set.
    pub max_volume_sequence_number: u16,
    /// Interchange level (2 single volume, 3 multi-volume).
    pub interchange_level: u16,
    /// Highest interchange level allowed.
    pub max_interchange_level: u16,
    /// Character sets used (bit 0 = CS0).
    pub character_set_list: u32,
    /// Character sets allowed.
    pub max_character_set_list: u32,
    /// Volume set identifier, a 128-byte d-string (UDF: 16 hex digits of a unique value first).
    pub volume_set_identifier: [u8; 128],
    /// Character set of the descriptor's d-strings.
    pub descriptor_charset: Charspec,
    /// Character set of the explanatory texts.
    pub explanatory_charset: Charspec,
    /// Volume abstract extent.
    pub volume_abstract: ExtentAd,
    /// Copyright notice extent.
    pub volume_copyright: ExtentAd,
    /// Application that recorded the volume.
    pub application_identifier: EntityId,
    /// When the volume was recorded.
    pub recording_time: Timestamp,
    /// Implementation that recorded the volume.
    pub implementation_identifier: EntityId,
    /// Implementation use.
    pub implementation_use: [u8; 64],
    /// Predecessor Volume Descriptor Sequence location.
    pub predecessor_sequence_location: u32,
    /// Bit 0: the volume set identifier is common to all volumes of the set.
    pub flags: u16,
}

impl PrimaryVolumeDescriptor {
    /// Parses 512 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("primary volume descriptor", b, 490, |i| {
            let (i, tag) = tag(i)?;
            let (i, sequence_number) = le_u32(i)?;
            let (i, number) = le_u32(i)?;
            let (i, volume_identifier) = array::<32>(i)?;
            let (i, volume_sequence_number) = le_u16(i)?;
            let (i, max_volume_sequence_number) = le_u16(i)?;
            let (i, interchange_level) = le_u16(i)?;
            let (i, max_interchange_level) = le_u16(i)?;
            let (i, character_set_list) = le_u32(i)?;
            let (i, max_character_set_list) = le_u32(i)?;
            let (i, volume_set_identifier) = array::<128>(i)?;
            let (i, descriptor_charset) = charspec(i)?;
            let (i, explanatory_charset) = charspec(i)?;
            let (i, volume_abstract) = extent(i)?;
            let (i, volume_copyright) = extent(i)?;
            let (i, application_identifier) = entity(i)?;
            let (i, recording_time) = timestamp(i)?;
            let (i, implementation_identifier) = entity(i)?;
            let (i, implementation_use) = array::<64>(i)?;
            let (i, predecessor_sequence_location) = le_u32(i)?;
            let (i, flags) = le_u16(i)?;
            // 22 reserved bytes follow.
            Ok((
                i,
                PrimaryVolumeDescriptor {
                    tag,
                    sequence_number,
                    number,
                    volume_identifier,
                    volume_sequence_number,
                    max_volume_sequence_number,
                    interchange_level,
                    max_interchange_level,
                    character_set_list,
                    max_character_set_list,
                    volume_set_identifier,
                    descriptor_charset,
                    explanatory_charset,
                    volume_abstract,
                    volume_copyright,
                    application_identifier,
                    recording_time,
                    implementation_identifier,
                    implementation_use,
                    predecessor_sequence_location,
                    flags,
                },
            ))
        })
    }

    /// Writes 512 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_u32::<LE>(self.sequence_number)?;
        w.write_u32::<LE>(self.number)?;
        w.write_all(&self.volume_identifier)?;
        w.write_u16::<LE>(self.volume_sequence_number)?;
        w.write_u16::<LE>(self.max_volume_sequence_number)?;
        w.write_u16::<LE>(self.interchange_level)?;
        w.write_u16::<LE>(self.max_interchange_level)?;
        w.write_u32::<LE>(self.character_set_list)?;
        w.write_u32::<LE>(self.max_character_set_list)?;
        w.write_all(&self.volume_set_identifier)?;
        self.descriptor_charset.write_to(w)?;
        self.explanatory_charset.write_to(w)?;
        self.volume_abstract.write_to(w)?;
        self.volume_copyright.write_to(w)?;
        self.application_identifier.write_to(w)?;
        self.recording_time.write_to(w)?;
        self.implementation_identifier.write_to(w)?;
        w.write_all(&self.implementation_use)?;
        w.write_u32::<LE>(self.predecessor_sequence_location)?;
        w.write_u16::<LE>(self.flags)?;
        w.write_all(&[0; 22])
    }

    /// The volume identifier, decoded.
    pub fn volume_id(&self) -> String {
        cs0::decode_dstring(&self.volume_identifier)
    }

    /// The volume set identifier, decoded.
    pub fn volume_set_id(&self) -> String {
        cs0::decode_dstring(&self.volume_set_identifier)
    }
}

/// ECMA-167 3/10.3 Volume Descriptor Pointer: the sequence continues in another extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumeDescriptorPointer {
    /// Tag, identifier 3.
    pub tag: DescriptorTag,
    /// Volume Descriptor Sequence Number.
    pub sequence_number: u32,
    /// Where the sequence continues.
    pub next: ExtentAd,
}

impl VolumeDescriptorPointer {
    /// Parses 512 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("volume descriptor pointer", b, 28, |i| {
            let (i, tag) = tag(i)?;
            let (i, sequence_number) = le_u32(i)?;
            let (i, next) = extent(i)?;
            // 484 reserved bytes follow.
            Ok((i, VolumeDescriptorPointer { tag, sequence_number, next }))
        })
    }

    /// Writes 512 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_u32::<LE>(self.sequence_number)?;
        self.next.write_to(w)?;
        w.write_all(&[0; 484])
    }
}

/// UDF 2.60 2.2.7.2 Logical Volume Information, the contents of the "*UDF LV Info" Implementation Use Volume
/// Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvInfo {
    /// Character set of the strings below.
    pub charset: Charspec,
    /// Logical volume identifier, 128-byte d-string.
    pub logical_volume_identifier: [u8; 128],
    /// Three 36-byte d-strings of owner information.
    pub info: [[u8; 36]; 3],
    /// Implementation that recorded it.
    pub implementation_id: EntityId,
    /// Implementation use.
    pub implementation_use: [u8; 128],
}

impl LvInfo {
    /// Parses the 460-byte implementation use field.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("LV info", b, 460, |i| {
            let (i, charset) = charspec(i)?;
            let (i, logical_volume_identifier) = array::<128>(i)?;
            let (i, a) = array::<36>(i)?;
            let (i, b) = array::<36>(i)?;
            let (i, c) = array::<36>(i)?;
            let (i, implementation_id) = entity(i)?;
            let (i, implementation_use) = array::<128>(i)?;
            Ok((
                i,
                LvInfo { charset, logical_volume_identifier, info: [a, b, c], implementation_id, implementation_use },
            ))
        })
    }

    /// Writes the 460 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.charset.write_to(w)?;
        w.write_all(&self.logical_volume_identifier)?;
        for i in &self.info {
            w.write_all(i)?;
        }
        self.implementation_id.write_to(w)?;
        w.write_all(&self.implementation_use)
    }

    /// The three owner information strings, decoded.
    pub fn info_strings(&self) -> [String; 3] {
        self.info.each_ref().map(|s| cs0::decode_dstring(s))
    }
}

/// ECMA-167 3/10.4 Implementation Use Volume Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImplementationUseVolumeDescriptor {
    /// Tag, identifier 4.
    pub tag: DescriptorTag,
    /// Volume Descriptor Sequence Number.
    pub sequence_number: u32,
    /// Whose contents these are ("*UDF LV Info" for [`LvInfo`]).
    pub implementation_identifier: EntityId,
    /// 460 bytes of contents.
    pub implementation_use: Vec<u8>,
}

impl ImplementationUseVolumeDescriptor {
    /// Parses 512 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("implementation use volume descriptor", b, 512, |i| {
            let (i, tag) = tag(i)?;
            let (i, sequence_number) = le_u32(i)?;
            let (i, implementation_identifier) = entity(i)?;
            let (i, use_) = array::<460>(i)?;
            Ok((
                i,
                ImplementationUseVolumeDescriptor {
                    tag,
                    sequence_number,
                    implementation_identifier,
                    implementation_use: use_.to_vec(),
                },
            ))
        })
    }

    /// Writes 512 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_u32::<LE>(self.sequence_number)?;
        self.implementation_identifier.write_to(w)?;
        let mut u = self.implementation_use.clone();
        u.resize(460, 0);
        w.write_all(&u)
    }

    /// The LVInfo contents, when this is a "*UDF LV Info" descriptor.
    pub fn lv_info(&self) -> Option<LvInfo> {
        if !self.implementation_identifier.is(super::entity::LV_INFO) {
            return None;
        }
        LvInfo::parse(&self.implementation_use).ok()
    }
}

/// ECMA-167 3/10.8 Unallocated Space Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnallocatedSpaceDescriptor {
    /// Tag, identifier 7.
    pub tag: DescriptorTag,
    /// Volume Descriptor Sequence Number.
    pub sequence_number: u32,
    /// Unallocated extents of the volume.
    pub extents: Vec<ExtentAd>,
}

impl UnallocatedSpaceDescriptor {
    /// Parses the descriptor (its size depends on the number of extents).
    pub fn parse(b: &[u8]) -> Result<Self> {
        let (tag, sequence_number, n) = run("unallocated space descriptor", b, 24, |i| {
            let (i, tag) = tag(i)?;
            let (i, sequence_number) = le_u32(i)?;
            let (i, n) = le_u32(i)?;
            Ok((i, (tag, sequence_number, n)))
        })?;
        let n = usize::try_from(n).map_err(|_| Error::Overflow { what: "unallocated extents" })?;
        let bytes = n.checked_mul(EXTENT_AD_SIZE).ok_or(Error::Overflow { what: "unallocated extents" })?;
        let raw = slice("unallocated space descriptor", b, 24, bytes)?;
        let extents = raw.chunks_exact(EXTENT_AD_SIZE).map(ExtentAd::parse).collect::<Result<Vec<_>>>()?;
        Ok(UnallocatedSpaceDescriptor { tag, sequence_number, extents })
    }

    /// Writes the descriptor.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_u32::<LE>(self.sequence_number)?;
        w.write_u32::<LE>(u32::try_from(self.extents.len()).map_err(io::Error::other)?)?;
        for e in &self.extents {
            e.write_to(w)?;
        }
        Ok(())
    }
}

/// ECMA-167 3/10.9 Terminating Descriptor (also 4/14.2): ends a descriptor sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TerminatingDescriptor {
    /// Tag, identifier 8.
    pub tag: DescriptorTag,
}

impl TerminatingDescriptor {
    /// Parses 512 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        Ok(TerminatingDescriptor { tag: DescriptorTag::parse(b)? })
    }

    /// Writes 512 bytes (496 reserved zero bytes after the tag).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_all(&[0; 496])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::entity::LV_INFO;

    #[test]
    fn round_trips() {
        let pvd = PrimaryVolumeDescriptor {
            tag: DescriptorTag::new(1, 3, 0, 32),
            sequence_number: 1,
            number: 0,
            volume_identifier: cs0::encode_dstring("VOL", 32).unwrap().try_into().unwrap(),
            volume_sequence_number: 1,
            max_volume_sequence_number: 1,
            interchange_level: 2,
            max_interchange_level: 3,
            character_set_list: 1,
            max_character_set_list: 1,
            volume_set_identifier: cs0::encode_dstring("0123456789abcdefSET", 128).unwrap().try_into().unwrap(),
            descriptor_charset: Charspec::osta_cs0(),
            explanatory_charset: Charspec::osta_cs0(),
            volume_abstract: ExtentAd::default(),
            volume_copyright: ExtentAd::default(),
            application_identifier: EntityId::new(b"app", [0; 8]),
            recording_time: Timestamp { year: 2020, month: 1, day: 1, ..Default::default() },
            implementation_identifier: EntityId::new(b"*odix", [0; 8]),
            implementation_use: [0; 64],
            predecessor_sequence_location: 0,
            flags: 1,
        };
        let mut v = Vec::new();
        pvd.write_to(&mut v).unwrap();
        assert_eq!(v.len(), VOLUME_DESCRIPTOR_SIZE);
        assert_eq!(PrimaryVolumeDescriptor::parse(&v).unwrap(), pvd);
        assert_eq!(pvd.volume_id(), "VOL");

        let vdp = VolumeDescriptorPointer {
            tag: DescriptorTag::new(3, 3, 0, 40),
            sequence_number: 2,
            next: ExtentAd { length: 2048, location: 90 },
        };
        let mut v = Vec::new();
        vdp.write_to(&mut v).unwrap();
        assert_eq!(v.len(), VOLUME_DESCRIPTOR_SIZE);
        assert_eq!(VolumeDescriptorPointer::parse(&v).unwrap(), vdp);

        let info = LvInfo {
            charset: Charspec::osta_cs0(),
            logical_volume_identifier: cs0::encode_dstring("LV", 128).unwrap().try_into().unwrap(),
            info: [[0; 36]; 3],
            implementation_id: EntityId::new(b"*odix", [0; 8]),
            implementation_use: [0; 128],
        };
        let mut u = Vec::new();
        info.write_to(&mut u).unwrap();
        assert_eq!(u.len(), 460);
        let iuvd = ImplementationUseVolumeDescriptor {
            tag: DescriptorTag::new(4, 3, 0, 33),
            sequence_number: 3,
            implementation_identifier: EntityId::new(LV_INFO, [2, 1, 0, 0, 0, 0, 0, 0]),
            implementation_use: u,
        };
        let mut v = Vec::new();
        iuvd.write_to(&mut v).unwrap();
        assert_eq!(v.len(), VOLUME_DESCRIPTOR_SIZE);
        let p = ImplementationUseVolumeDescriptor::parse(&v).unwrap();
        assert_eq!(p, iuvd);
        assert_eq!(p.lv_info().unwrap(), info);

        let usd = UnallocatedSpaceDescriptor {
            tag: DescriptorTag::new(7, 3, 0, 34),
            sequence_number: 4,
            extents: vec![ExtentAd { length: 4096, location: 7 }],
        };
        let mut v = Vec::new();
        usd.write_to(&mut v).unwrap();
        assert_eq!(UnallocatedSpaceDescriptor::parse(&v).unwrap(), usd);
        v[20] = 200;
        assert!(UnallocatedSpaceDescriptor::parse(&v).is_err());

        let td = TerminatingDescriptor { tag: DescriptorTag::new(8, 3, 0, 35) };
        let mut v = Vec::new();
        td.write_to(&mut v).unwrap();
        assert_eq!(v.len(), VOLUME_DESCRIPTOR_SIZE);
        assert_eq!(TerminatingDescriptor::parse(&v).unwrap(), td);
    }
}

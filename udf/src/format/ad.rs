//! ECMA-167 3rd edition extent and allocation descriptors: 3/7.1 `extent_ad`, 4/7.1 `lb_addr`, 4/14.14.1
//! `short_ad`, 4/14.14.2 `long_ad`, 4/14.14.3 `ext_ad`, and 4/14.5 Allocation Extent Descriptor.
//!
//! The top two bits of an allocation descriptor's length give the extent type (4/14.14.1.1): recorded,
//! allocated but not recorded, neither, or the next extent of allocation descriptors (a continuation).

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::tag::DescriptorTag;
use super::{array, le_u16, le_u32, run, slice};
use crate::error::{Error, Result};

/// Size of an `extent_ad`.
pub const EXTENT_AD_SIZE: usize = 8;
/// Size of an `lb_addr`.
pub const LB_ADDR_SIZE: usize = 6;
/// Size of a `short_ad`.
pub const SHORT_AD_SIZE: usize = 8;
/// Size of a `long_ad`.
pub const LONG_AD_SIZE: usize = 16;
/// Size of an `ext_ad`.
pub const EXT_AD_SIZE: usize = 20;
/// Size of the fixed part of an Allocation Extent Descriptor (the descriptors follow).
pub const ALLOCATION_EXTENT_HEADER_SIZE: usize = 24;
/// Largest extent length an allocation descriptor can hold (30 bits).
pub const MAX_EXTENT_LENGTH: u32 = 0x3fff_ffff;

/// ECMA-167 3/7.1 `extent_ad`: an extent of the volume in bytes and physical sectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtentAd {
    /// Length in bytes.
    pub length: u32,
    /// First physical sector.
    pub location: u32,
}

impl ExtentAd {
    /// Parses 8 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("extent_ad", b, EXTENT_AD_SIZE, |i| {
            let (i, length) = le_u32(i)?;
            let (i, location) = le_u32(i)?;
            Ok((i, ExtentAd { length, location }))
        })
    }

    /// Writes the 8 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u32::<LE>(self.length)?;
        w.write_u32::<LE>(self.location)
    }
}

/// ECMA-167 4/7.1 `lb_addr`: a logical block inside a partition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LbAddr {
    /// Logical block number, relative to the partition's start.
    pub block: u32,
    /// Partition reference number: index of the partition map in the Logical Volume Descriptor.
    pub partition: u16,
}

impl LbAddr {
    /// Parses 6 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("lb_addr", b, LB_ADDR_SIZE, |i| {
            let (i, block) = le_u32(i)?;
            let (i, partition) = le_u16(i)?;
            Ok((i, LbAddr { block, partition }))
        })
    }

    /// Writes the 6 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u32::<LE>(self.block)?;
        w.write_u16::<LE>(self.partition)
    }
}

/// ECMA-167 4/14.14.1.1 extent types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtentType {
    /// Recorded and allocated.
    Recorded,
    /// Allocated but not recorded: reads as zeros.
    Allocated,
    /// Neither recorded nor allocated (a hole): reads as zeros.
    Sparse,
    /// The extent holds the next allocation descriptors (an Allocation Extent Descriptor).
    Continuation,
}

impl ExtentType {
    /// The type in the top two bits of a recorded length.
    pub fn from_length(raw: u32) -> Self {
        match raw >> 30 {
            0 => ExtentType::Recorded,
            1 => ExtentType::Allocated,
            2 => ExtentType::Sparse,
            _ => ExtentType::Continuation,
        }
    }

    /// The top two bits for this type.
    pub fn bits(self) -> u32 {
        match self {
            ExtentType::Recorded => 0,
            ExtentType::Allocated => 1 << 30,
            ExtentType::Sparse => 2 << 30,
            ExtentType::Continuation => 3 << 30,
        }
    }
}

/// ECMA-167 4/14.14.2 `long_ad`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LongAd {
    /// Extent length in bytes with the extent type in the top two bits.
    pub length: u32,
    /// Where the extent starts.
    pub location: LbAddr,
    /// Implementation use (UDF 2.60 2.3.10.1: flags and the unique ID of the entry for FIDs).
    pub implementation_use: [u8; 6],
}

impl LongAd {
    /// Parses 16 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("long_ad", b, LONG_AD_SIZE, |i| {
            let (i, length) = le_u32(i)?;
            let (i, block) = le_u32(i)?;
            let (i, partition) = le_u16(i)?;
            let (i, implementation_use) = array::<6>(i)?;
            Ok((i, LongAd { length, location: LbAddr { block, partition }, implementation_use }))
        })
    }

    /// Writes the 16 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u32::<LE>(self.length)?;
        self.location.write_to(w)?;
        w.write_all(&self.implementation_use)
    }

    /// Extent length in bytes.
    pub fn extent_length(&self) -> u32 {
        self.length & MAX_EXTENT_LENGTH
    }

    /// Extent type.
    pub fn extent_type(&self) -> ExtentType {
        ExtentType::from_length(self.length)
    }
}

/// One allocation descriptor, whichever form it was recorded in, with the partition it refers to resolved
/// (short ones refer to the partition of the entry that holds them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationDescriptor {
    /// Extent type.
    pub extent_type: ExtentType,
    /// Length in bytes (30 bits).
    pub length: u32,
    /// Start of the extent.
    pub location: LbAddr,
}

/// Allocation descriptor forms, from ICB tag flags bits 0–2 (4/14.6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdForm {
    /// `short_ad`, 8 bytes.
    Short,
    /// `long_ad`, 16 bytes.
    Long,
    /// `ext_ad`, 20 bytes.
    Extended,
    /// No descriptors: the data is recorded in the entry itself.
    Embedded,
}

impl AdForm {
    /// The form named by ICB tag flags; `None` for the reserved values 4–7.
    pub fn from_icb_flags(flags: u16) -> Option<Self> {
        match flags & 7 {
            0 => Some(AdForm::Short),
            1 => Some(AdForm::Long),
            2 => Some(AdForm::Extended),
            3 => Some(AdForm::Embedded),
            _ => None,
        }
    }

    /// Size in bytes of one descriptor of this form (0 for embedded data).
    pub fn size(self) -> usize {
        match self {
            AdForm::Short => SHORT_AD_SIZE,
            AdForm::Long => LONG_AD_SIZE,
            AdForm::Extended => EXT_AD_SIZE,
            AdForm::Embedded => 0,
        }
    }
}

/// Parses the allocation descriptors in `b` up to the first with length 0 (4/12.1) or the end of `b`. Short
/// descriptors get `partition`. A trailing fragment shorter than one descriptor is ignored.
pub fn parse_list(form: AdForm, b: &[u8], partition: u16) -> Result<Vec<AllocationDescriptor>> {
    let size = form.size();
    if size == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(b.len().checked_div(size).unwrap_or(0));
    for chunk in b.chunks_exact(size) {
        let ad = match form {
            AdForm::Short => {
                let raw = run("short_ad", chunk, SHORT_AD_SIZE, |i| {
                    let (i, length) = le_u32(i)?;
                    let (i, position) = le_u32(i)?;
                    Ok((i, (length, position)))
                })?;
                AllocationDescriptor {
                    extent_type: ExtentType::from_length(raw.0),
                    length: raw.0 & MAX_EXTENT_LENGTH,
                    location: LbAddr { block: raw.1, partition },
                }
            }
            AdForm::Long => {
                let l = LongAd::parse(chunk)?;
                AllocationDescriptor { extent_type: l.extent_type(), length: l.extent_length(), location: l.location }
            }
            AdForm::Extended => {
                let (length, _recorded, _info, location) = run("ext_ad", chunk, EXT_AD_SIZE, |i| {
                    let (i, length) = le_u32(i)?;
                    let (i, recorded) = le_u32(i)?;
                    let (i, info) = le_u32(i)?;
                    let (i, block) = le_u32(i)?;
                    let (i, partition) = le_u16(i)?;
                    Ok((i, (length, recorded, info, LbAddr { block, partition })))
                })?;
                AllocationDescriptor {
                    extent_type: ExtentType::from_length(length),
                    length: length & MAX_EXTENT_LENGTH,
                    location,
                }
            }
            AdForm::Embedded => return Ok(Vec::new()),
        };
        if ad.length == 0 {
            break;
        }
        out.push(ad);
    }
    Ok(out)
}

/// Writes allocation descriptors in `form` (`short_ad` drops the partition reference; `ext_ad` records the
/// length as recorded and information length too).
pub fn write_list<W: Write>(form: AdForm, ads: &[AllocationDescriptor], w: &mut W) -> io::Result<()> {
    for ad in ads {
        let raw = ad.extent_type.bits() | (ad.length & MAX_EXTENT_LENGTH);
        match form {
            AdForm::Short => {
                w.write_u32::<LE>(raw)?;
                w.write_u32::<LE>(ad.location.block)?;
            }
            AdForm::Long => LongAd { length: raw, location: ad.location, implementation_use: [0; 6] }.write_to(w)?,
            AdForm::Extended => {
                w.write_u32::<LE>(raw)?;
                let recorded = if ad.extent_type == ExtentType::Recorded { ad.length } else { 0 };
                w.write_u32::<LE>(recorded)?;
                w.write_u32::<LE>(ad.length)?;
                ad.location.write_to(w)?;
                w.write_u16::<LE>(0)?;
            }
            AdForm::Embedded => {}
        }
    }
    Ok(())
}

/// ECMA-167 4/14.5 Allocation Extent Descriptor: the header of a continuation extent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationExtentDescriptor {
    /// Tag, identifier 258.
    pub tag: DescriptorTag,
    /// Location of the previous allocation extent (0 if none recorded).
    pub previous_location: u32,
    /// The allocation descriptors, raw.
    pub allocation_descriptors: Vec<u8>,
}

impl AllocationExtentDescriptor {
    /// Parses the descriptor at the start of `b` (one block).
    pub fn parse(b: &[u8]) -> Result<Self> {
        let (tag, previous_location, len) =
            run("allocation extent descriptor", b, ALLOCATION_EXTENT_HEADER_SIZE, |i| {
                let (i, tag) = array::<16>(i)?;
                let (i, previous) = le_u32(i)?;
                let (i, len) = le_u32(i)?;
                Ok((i, (tag, previous, len)))
            })?;
        let len = usize::try_from(len).map_err(|_| Error::Overflow { what: "allocation extent length" })?;
        let ads = slice("allocation extent descriptors", b, ALLOCATION_EXTENT_HEADER_SIZE, len)?;
        Ok(AllocationExtentDescriptor {
            tag: DescriptorTag::parse(&tag)?,
            previous_location,
            allocation_descriptors: ads.to_vec(),
        })
    }

    /// Writes the descriptor (header and descriptors, no padding).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        w.write_u32::<LE>(self.previous_location)?;
        let len = u32::try_from(self.allocation_descriptors.len()).map_err(io::Error::other)?;
        w.write_u32::<LE>(len)?;
        w.write_all(&self.allocation_descriptors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let e = ExtentAd { length: 32768, location: 257 };
        let mut v = Vec::new();
        e.write_to(&mut v).unwrap();
        assert_eq!(v.len(), EXTENT_AD_SIZE);
        assert_eq!(ExtentAd::parse(&v).unwrap(), e);
        let l = LongAd {
            length: (1 << 30) | 4096,
            location: LbAddr { block: 9, partition: 1 },
            implementation_use: [1; 6],
        };
        let mut v = Vec::new();
        l.write_to(&mut v).unwrap();
        assert_eq!(v.len(), LONG_AD_SIZE);
        assert_eq!(LongAd::parse(&v).unwrap(), l);
        assert_eq!(l.extent_type(), ExtentType::Allocated);
        for form in [AdForm::Short, AdForm::Long, AdForm::Extended] {
            let ads = vec![
                AllocationDescriptor {
                    extent_type: ExtentType::Recorded,
                    length: 5000,
                    location: LbAddr { block: 3, partition: 0 },
                },
                AllocationDescriptor {
                    extent_type: ExtentType::Sparse,
                    length: 2048,
                    location: LbAddr { block: 0, partition: 0 },
                },
                AllocationDescriptor {
                    extent_type: ExtentType::Continuation,
                    length: 2048,
                    location: LbAddr { block: 8, partition: 0 },
                },
            ];
            let mut v = Vec::new();
            write_list(form, &ads, &mut v).unwrap();
            assert_eq!(v.len(), ads.len() * form.size());
            v.extend_from_slice(&[0; 20]);
            assert_eq!(parse_list(form, &v, 0).unwrap(), ads);
        }
        let aed = AllocationExtentDescriptor {
            tag: DescriptorTag::new(258, 3, 0, 4),
            previous_location: 0,
            allocation_descriptors: vec![1; 16],
        };
        let mut v = Vec::new();
        aed.write_to(&mut v).unwrap();
        assert_eq!(AllocationExtentDescriptor::parse(&v).unwrap(), aed);
        v[20] = 0xff;
        assert!(AllocationExtentDescriptor::parse(&v).is_err());
    }
}

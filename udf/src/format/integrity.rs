//! ECMA-167 3rd edition 3/10.10 Logical Volume Integrity Descriptor, with the UDF 2.60 2.2.6 contents: the
//! next unique ID in the Logical Volume Contents Use (3/10.10.6, UDF 2.2.6.3) and the file and directory
//! counts and UDF revisions in the Implementation Use (UDF 2.2.6.4).

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::ad::ExtentAd;
use super::entity::EntityId;
use super::tag::DescriptorTag;
use super::timestamp::Timestamp;
use super::{array, entity, extent, le_u16, le_u32, le_u64, run, slice, tag, timestamp};
use crate::error::{Error, Result};

/// Size of the fixed part (tables and implementation use follow).
pub const INTEGRITY_HEADER_SIZE: usize = 80;
/// Integrity type of an open volume (being written, counts may be stale).
pub const INTEGRITY_OPEN: u32 = 0;
/// Integrity type of a closed volume.
pub const INTEGRITY_CLOSE: u32 = 1;

/// UDF 2.60 2.2.6.4 Implementation Use of the LVID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrityImplementationUse {
    /// Implementation that last wrote the volume.
    pub implementation_id: EntityId,
    /// Number of files.
    pub files: u32,
    /// Number of directories (the root included).
    pub directories: u32,
    /// Minimum UDF revision needed to read.
    pub min_read_revision: u16,
    /// Minimum UDF revision needed to write.
    pub min_write_revision: u16,
    /// Highest UDF revision written.
    pub max_write_revision: u16,
    /// The rest.
    pub rest: Vec<u8>,
}

/// ECMA-167 3/10.10 Logical Volume Integrity Descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalVolumeIntegrityDescriptor {
    /// Tag, identifier 9.
    pub tag: DescriptorTag,
    /// When it was recorded.
    pub recording_time: Timestamp,
    /// [`INTEGRITY_OPEN`] or [`INTEGRITY_CLOSE`].
    pub integrity_type: u32,
    /// Where the integrity sequence continues (length 0 when it does not).
    pub next_extent: ExtentAd,
    /// Logical Volume Contents Use, 32 bytes (UDF: the next unique ID, a u64, first).
    pub contents_use: [u8; 32],
    /// Free blocks per partition.
    pub free_space: Vec<u32>,
    /// Size in blocks per partition.
    pub size: Vec<u32>,
    /// Implementation use, raw (see [`Self::udf_use`]).
    pub implementation_use: Vec<u8>,
}

impl LogicalVolumeIntegrityDescriptor {
    /// Parses the descriptor (its size depends on the tables).
    pub fn parse(b: &[u8]) -> Result<Self> {
        let (mut d, n, iu) = run("logical volume integrity descriptor", b, INTEGRITY_HEADER_SIZE, |i| {
            let (i, tag) = tag(i)?;
            let (i, recording_time) = timestamp(i)?;
            let (i, integrity_type) = le_u32(i)?;
            let (i, next_extent) = extent(i)?;
            let (i, contents_use) = array::<32>(i)?;
            let (i, n) = le_u32(i)?;
            let (i, iu) = le_u32(i)?;
            Ok((
                i,
                (
                    LogicalVolumeIntegrityDescriptor {
                        tag,
                        recording_time,
                        integrity_type,
                        next_extent,
                        contents_use,
                        free_space: Vec::new(),
                        size: Vec::new(),
                        implementation_use: Vec::new(),
                    },
                    n,
                    iu,
                ),
            ))
        })?;
        let too_big = |_| Error::Overflow { what: "integrity descriptor tables" };
        let n = usize::try_from(n).map_err(too_big)?;
        let table = n.checked_mul(4).ok_or(Error::Overflow { what: "integrity descriptor tables" })?;
        let words = |s: &[u8]| s.chunks_exact(4).map(super::u32_le).collect();
        d.free_space = words(slice("integrity free space table", b, INTEGRITY_HEADER_SIZE, table)?);
        let size_at = INTEGRITY_HEADER_SIZE.saturating_add(table);
        d.size = words(slice("integrity size table", b, size_at, table)?);
        let iu_at = size_at.saturating_add(table);
        d.implementation_use =
            slice("integrity implementation use", b, iu_at, usize::try_from(iu).map_err(too_big)?)?.to_vec();
        Ok(d)
    }

    /// Writes the descriptor.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.tag.write_to(w)?;
        self.recording_time.write_to(w)?;
        w.write_u32::<LE>(self.integrity_type)?;
        self.next_extent.write_to(w)?;
        w.write_all(&self.contents_use)?;
        w.write_u32::<LE>(u32::try_from(self.free_space.len()).map_err(io::Error::other)?)?;
        w.write_u32::<LE>(u32::try_from(self.implementation_use.len()).map_err(io::Error::other)?)?;
        for v in &self.free_space {
            w.write_u32::<LE>(*v)?;
        }
        for i in 0..self.free_space.len() {
            w.write_u32::<LE>(self.size.get(i).copied().unwrap_or(0))?;
        }
        w.write_all(&self.implementation_use)
    }

    /// The next unique ID to give a new file entry (UDF 2.60 3.2.1.1).
    pub fn next_unique_id(&self) -> u64 {
        run("logical volume contents use", &self.contents_use, 8, le_u64).unwrap_or(0)
    }

    /// The UDF implementation use contents, when recorded.
    pub fn udf_use(&self) -> Option<IntegrityImplementationUse> {
        run("integrity implementation use", &self.implementation_use, 46, |i| {
            let (i, implementation_id) = entity(i)?;
            let (i, files) = le_u32(i)?;
            let (i, directories) = le_u32(i)?;
            let (i, min_read_revision) = le_u16(i)?;
            let (i, min_write_revision) = le_u16(i)?;
            let (i, max_write_revision) = le_u16(i)?;
            Ok((
                &[][..],
                IntegrityImplementationUse {
                    implementation_id,
                    files,
                    directories,
                    min_read_revision,
                    min_write_revision,
                    max_write_revision,
                    rest: i.to_vec(),
                },
            ))
        })
        .ok()
    }
}

impl IntegrityImplementationUse {
    /// Writes the contents, for [`LogicalVolumeIntegrityDescriptor::implementation_use`].
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.implementation_id.write_to(w)?;
        w.write_u32::<LE>(self.files)?;
        w.write_u32::<LE>(self.directories)?;
        w.write_u16::<LE>(self.min_read_revision)?;
        w.write_u16::<LE>(self.min_write_revision)?;
        w.write_u16::<LE>(self.max_write_revision)?;
        w.write_all(&self.rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let iu = IntegrityImplementationUse {
            implementation_id: EntityId::new(b"*odix", [0; 8]),
            files: 10,
            directories: 3,
            min_read_revision: 0x201,
            min_write_revision: 0x201,
            max_write_revision: 0x201,
            rest: vec![],
        };
        let mut iub = Vec::new();
        iu.write_to(&mut iub).unwrap();
        let mut cu = [0u8; 32];
        cu[..8].copy_from_slice(&42u64.to_le_bytes());
        let d = LogicalVolumeIntegrityDescriptor {
            tag: DescriptorTag::new(9, 3, 0, 64),
            recording_time: Timestamp::default(),
            integrity_type: INTEGRITY_CLOSE,
            next_extent: ExtentAd::default(),
            contents_use: cu,
            free_space: vec![5],
            size: vec![1000],
            implementation_use: iub,
        };
        let mut v = Vec::new();
        d.write_to(&mut v).unwrap();
        assert_eq!(v.len(), 80 + 8 + 46);
        let p = LogicalVolumeIntegrityDescriptor::parse(&v).unwrap();
        assert_eq!(p, d);
        assert_eq!(p.next_unique_id(), 42);
        assert_eq!(p.udf_use().unwrap(), iu);
    }
}

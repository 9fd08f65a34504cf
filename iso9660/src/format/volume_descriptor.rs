//! ECMA-119 (4th edition) 8: the volume descriptor set, starting at sector 16 of a session.
//!
//! - 8.2 boot record (type 0), which El Torito uses to point at its catalog;
//! - 8.4 primary (type 1); 8.5 supplementary (type 2, version 1: Joliet when its escape sequences say so);
//!   enhanced (type 2, version 2: ISO 9660:1999, ECMA-119 4th edition 8.5 with file structure version 2);
//! - 8.6 volume partition (type 3); 8.3 terminator (type 255).
//!
//! Identifiers stay raw bytes and are decoded by accessors, so one stray byte never rejects a volume.

use chrono::{DateTime, Utc};
use nom::bytes::complete::{tag, take};
use nom::number::complete::{be_u32, le_u32, u8 as byte};
use nom::sequence::tuple;
use nom::IResult;

use super::both_endian::BothEndian;
use super::datetime::DecDateTime;
use super::directory_record::DirectoryRecord;
use super::identifier_text;
use super::joliet;

/// The standard identifier of every volume descriptor (8.1.2).
pub const STANDARD_ID: &[u8; 5] = b"CD001";

/// Volume descriptor type numbers (8.1.1).
pub mod kind {
    /// Boot record.
    pub const BOOT_RECORD: u8 = 0;
    /// Primary volume descriptor.
    pub const PRIMARY: u8 = 1;
    /// Supplementary or enhanced volume descriptor.
    pub const SUPPLEMENTARY: u8 = 2;
    /// Volume partition descriptor.
    pub const PARTITION: u8 = 3;
    /// Volume descriptor set terminator.
    pub const TERMINATOR: u8 = 255;
}

/// One parsed volume descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeDescriptor {
    /// 8.2 boot record.
    BootRecord(BootRecord),
    /// 8.4 primary volume descriptor.
    Primary(PrimaryVolumeDescriptor),
    /// 8.5 supplementary (version 1) or enhanced (version 2) volume descriptor: same layout as the primary one.
    Supplementary(PrimaryVolumeDescriptor),
    /// 8.6 volume partition descriptor.
    Partition(PartitionDescriptor),
    /// 8.3 terminator.
    Terminator,
    /// A type this reader does not know (4 ..= 254), kept by number.
    Other(u8),
}

/// 8.2: a boot record. El Torito puts the boot catalog's LBA in the first four bytes of the boot system use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootRecord {
    /// Boot system identifier (`EL TORITO SPECIFICATION` for El Torito), 32 bytes.
    pub boot_system_id: [u8; 32],
    /// Boot identifier, 32 bytes.
    pub boot_id: [u8; 32],
    /// First 4 bytes of the boot system use field, little-endian: the El Torito catalog's LBA.
    pub catalog_lba: u32,
}

impl BootRecord {
    /// Whether this is an El Torito boot record.
    pub fn is_el_torito(&self) -> bool {
        identifier_text(&self.boot_system_id) == "EL TORITO SPECIFICATION"
    }
}

/// 8.6: a volume partition descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionDescriptor {
    /// System identifier, 32 bytes.
    pub system_id: [u8; 32],
    /// Volume partition identifier, 32 bytes.
    pub partition_id: [u8; 32],
    /// First sector of the partition.
    pub location: BothEndian<u32>,
    /// Size of the partition in sectors.
    pub size: BothEndian<u32>,
}

/// 8.4 / 8.5: the layout shared by primary, supplementary and enhanced volume descriptors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryVolumeDescriptor {
    /// Descriptor version: 1, or 2 for an enhanced volume descriptor.
    pub version: u8,
    /// Volume flags (supplementary only; bit 0: escape sequences not all registered).
    pub flags: u8,
    /// System identifier (a-characters in a primary descriptor), 32 bytes.
    pub system_id: [u8; 32],
    /// Volume identifier, 32 bytes.
    pub volume_id: [u8; 32],
    /// Number of logical blocks in the volume.
    pub volume_space_size: BothEndian<u32>,
    /// Escape sequences (supplementary only; Joliet's `%/@`, `%/C`, `%/E`), 32 bytes.
    pub escape_sequences: [u8; 32],
    /// Number of volumes in the set.
    pub volume_set_size: BothEndian<u16>,
    /// This volume's number in the set.
    pub volume_sequence_number: BothEndian<u16>,
    /// Logical block size in bytes (2048 on every disc this reader accepts).
    pub logical_block_size: BothEndian<u16>,
    /// Size of each path table in bytes.
    pub path_table_size: BothEndian<u32>,
    /// LBA of the little-endian (type L) path table.
    pub l_path_table: u32,
    /// LBA of the optional type L path table (0: none).
    pub optional_l_path_table: u32,
    /// LBA of the big-endian (type M) path table.
    pub m_path_table: u32,
    /// LBA of the optional type M path table (0: none).
    pub optional_m_path_table: u32,
    /// The root directory's record (34 bytes).
    pub root: DirectoryRecord,
    /// Volume set identifier, 128 bytes.
    pub volume_set_id: [u8; 128],
    /// Publisher identifier, 128 bytes (a leading 0x5F names a file in the root instead).
    pub publisher_id: [u8; 128],
    /// Data preparer identifier, 128 bytes.
    pub preparer_id: [u8; 128],
    /// Application identifier, 128 bytes.
    pub application_id: [u8; 128],
    /// Copyright file identifier, 37 bytes.
    pub copyright_file_id: [u8; 37],
    /// Abstract file identifier, 37 bytes.
    pub abstract_file_id: [u8; 37],
    /// Bibliographic file identifier, 37 bytes.
    pub bibliographic_file_id: [u8; 37],
    /// Volume creation date.
    pub creation: DecDateTime,
    /// Volume modification date.
    pub modification: DecDateTime,
    /// Volume expiration date.
    pub expiration: DecDateTime,
    /// Volume effective date.
    pub effective: DecDateTime,
    /// File structure version: 1, or 2 for ISO 9660:1999.
    pub file_structure_version: u8,
}

/// Which text encoding a descriptor's identifiers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdEncoding {
    /// Bytes (a-/d-characters, or whatever the writer put).
    Bytes,
    /// UCS-2 big-endian (Joliet).
    Ucs2,
}

impl PrimaryVolumeDescriptor {
    /// The Joliet level (1, 2 or 3) its escape sequences announce, if any.
    pub fn joliet_level(&self) -> Option<u8> {
        joliet::level_from_escape_sequences(&self.escape_sequences)
    }

    /// Decodes one of this descriptor's identifier fields.
    pub fn text(&self, raw: &[u8]) -> String {
        if self.joliet_level().is_some() {
            joliet::identifier_text(raw)
        } else {
            identifier_text(raw)
        }
    }

    /// Volume identifier, decoded.
    pub fn volume_id_text(&self) -> String {
        self.text(&self.volume_id)
    }

    /// Creation date, when given.
    pub fn creation_time(&self) -> Option<DateTime<Utc>> {
        self.creation.to_utc()
    }

    /// Modification date, when given.
    pub fn modification_time(&self) -> Option<DateTime<Utc>> {
        self.modification.to_utc()
    }

    /// Expiration date, when given.
    pub fn expiration_time(&self) -> Option<DateTime<Utc>> {
        self.expiration.to_utc()
    }

    /// Effective date, when given.
    pub fn effective_time(&self) -> Option<DateTime<Utc>> {
        self.effective.to_utc()
    }
}

/// Why a sector is not a volume descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VdError {
    /// No `CD001` at offset 1.
    NoStandardId,
    /// The sector is shorter than the fields need.
    Truncated,
    /// A directory record inside is malformed.
    BadRoot,
}

/// Size of the root directory record field of a primary or supplementary descriptor (ECMA-119 8.4.18).
const ROOT_RECORD_LEN: u8 = 34;

fn arr<const N: usize>(i: &[u8]) -> IResult<&[u8], [u8; N]> {
    let (i, b) = take(N)(i)?;
    let mut out = [0u8; N];
    out.copy_from_slice(b);
    Ok((i, out))
}

fn both16(i: &[u8]) -> IResult<&[u8], BothEndian<u16>> {
    let (i, (le, be)) = tuple((nom::number::complete::le_u16, nom::number::complete::be_u16))(i)?;
    Ok((i, BothEndian { le, be }))
}

fn both32(i: &[u8]) -> IResult<&[u8], BothEndian<u32>> {
    let (i, (le, be)) = tuple((le_u32, be_u32))(i)?;
    Ok((i, BothEndian { le, be }))
}

fn primary_body(version: u8, i: &[u8]) -> IResult<&[u8], (PrimaryVolumeDescriptor, [u8; 34])> {
    let (i, flags) = byte(i)?; // 7: volume flags (unused in a primary descriptor)
    let (i, system_id) = arr::<32>(i)?; // 8
    let (i, volume_id) = arr::<32>(i)?; // 40
    let (i, _unused) = take(8usize)(i)?; // 72: zeros
    let (i, volume_space_size) = both32(i)?; // 80
    let (i, escape_sequences) = arr::<32>(i)?; // 88
    let (i, volume_set_size) = both16(i)?; // 120
    let (i, volume_sequence_number) = both16(i)?; // 124
    let (i, logical_block_size) = both16(i)?; // 128
    let (i, path_table_size) = both32(i)?; // 132
    let (i, l_path_table) = le_u32(i)?; // 140
    let (i, optional_l_path_table) = le_u32(i)?; // 144
    let (i, m_path_table) = be_u32(i)?; // 148
    let (i, optional_m_path_table) = be_u32(i)?; // 152
    let (i, root_raw) = arr::<34>(i)?; // 156
    let (i, volume_set_id) = arr::<128>(i)?; // 190
    let (i, publisher_id) = arr::<128>(i)?; // 318
    let (i, preparer_id) = arr::<128>(i)?; // 446
    let (i, application_id) = arr::<128>(i)?; // 574
    let (i, copyright_file_id) = arr::<37>(i)?; // 702
    let (i, abstract_file_id) = arr::<37>(i)?; // 739
    let (i, bibliographic_file_id) = arr::<37>(i)?; // 776
    let (i, creation) = arr::<17>(i)?; // 813
    let (i, modification) = arr::<17>(i)?; // 830
    let (i, expiration) = arr::<17>(i)?; // 847
    let (i, effective) = arr::<17>(i)?; // 864
    let (i, file_structure_version) = byte(i)?; // 881
                                                // 882: reserved byte; 883: application use (512 bytes); 1395: reserved (653 bytes).
    let pvd = PrimaryVolumeDescriptor {
        version,
        flags,
        system_id,
        volume_id,
        volume_space_size,
        escape_sequences,
        volume_set_size,
        volume_sequence_number,
        logical_block_size,
        path_table_size,
        l_path_table,
        optional_l_path_table,
        m_path_table,
        optional_m_path_table,
        root: DirectoryRecord::default(),
        volume_set_id,
        publisher_id,
        preparer_id,
        application_id,
        copyright_file_id,
        abstract_file_id,
        bibliographic_file_id,
        creation: DecDateTime(creation),
        modification: DecDateTime(modification),
        expiration: DecDateTime(expiration),
        effective: DecDateTime(effective),
        file_structure_version,
    };
    Ok((i, (pvd, root_raw)))
}

fn boot_body(i: &[u8]) -> IResult<&[u8], BootRecord> {
    let (i, boot_system_id) = arr::<32>(i)?; // 7
    let (i, boot_id) = arr::<32>(i)?; // 39
    let (i, catalog_lba) = le_u32(i)?; // 71: El Torito catalog pointer
    Ok((i, BootRecord { boot_system_id, boot_id, catalog_lba }))
}

fn partition_body(i: &[u8]) -> IResult<&[u8], PartitionDescriptor> {
    let (i, _unused) = byte(i)?; // 7
    let (i, system_id) = arr::<32>(i)?; // 8
    let (i, partition_id) = arr::<32>(i)?; // 40
    let (i, location) = both32(i)?; // 72
    let (i, size) = both32(i)?; // 80
    Ok((i, PartitionDescriptor { system_id, partition_id, location, size }))
}

impl VolumeDescriptor {
    /// Parses one 2048-byte sector of the volume descriptor set.
    pub fn parse(sector: &[u8]) -> Result<Self, VdError> {
        let header: IResult<&[u8], (u8, &[u8], u8)> = tuple((byte, tag(&STANDARD_ID[..]), byte))(sector);
        let (body, (ty, _, version)) = header.map_err(|_| VdError::NoStandardId)?;
        let vd = match ty {
            kind::BOOT_RECORD => VolumeDescriptor::BootRecord(boot_body(body).map_err(|_| VdError::Truncated)?.1),
            kind::PRIMARY | kind::SUPPLEMENTARY => {
                let (mut pvd, mut root_raw) = primary_body(version, body).map_err(|_| VdError::Truncated)?.1;
                // The field holds the record's 34 fixed bytes. A length byte above 34 announces system use data
                // (mkhybrid, some mastering tools) that the field has no room for: the fixed part is read, as
                // the Linux kernel, isoinfo and libisofs do.
                if let Some(len) = root_raw.first_mut() {
                    *len = (*len).min(ROOT_RECORD_LEN);
                }
                pvd.root = DirectoryRecord::parse(&root_raw).map_err(|_| VdError::BadRoot)?;
                if ty == kind::PRIMARY {
                    VolumeDescriptor::Primary(pvd)
                } else {
                    VolumeDescriptor::Supplementary(pvd)
                }
            }
            kind::PARTITION => VolumeDescriptor::Partition(partition_body(body).map_err(|_| VdError::Truncated)?.1),
            kind::TERMINATOR => VolumeDescriptor::Terminator,
            other => VolumeDescriptor::Other(other),
        };
        Ok(vd)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A primary volume descriptor sector with a root at LBA 20 of one sector.
    pub(crate) fn pvd_sector(ty: u8, escape: &[u8]) -> Vec<u8> {
        let mut s = vec![0u8; 2048];
        s[0] = ty;
        s[1..6].copy_from_slice(b"CD001");
        s[6] = 1;
        s[8..40].fill(b' ');
        s[40..46].copy_from_slice(b"VOLUME");
        s[46..72].fill(b' ');
        s[80..84].copy_from_slice(&100u32.to_le_bytes());
        s[84..88].copy_from_slice(&100u32.to_be_bytes());
        s[88..88 + escape.len()].copy_from_slice(escape);
        s[120..122].copy_from_slice(&1u16.to_le_bytes());
        s[122..124].copy_from_slice(&1u16.to_be_bytes());
        s[124..126].copy_from_slice(&1u16.to_le_bytes());
        s[126..128].copy_from_slice(&1u16.to_be_bytes());
        s[128..130].copy_from_slice(&2048u16.to_le_bytes());
        s[130..132].copy_from_slice(&2048u16.to_be_bytes());
        let root = crate::format::directory_record::tests::record(20, 2048, 2, &[0], &[]);
        s[156..190].copy_from_slice(&root);
        s[813..829].copy_from_slice(b"2024010203040500");
        s[881] = 1;
        s
    }

    #[test]
    fn parses_primary() {
        let s = pvd_sector(1, &[]);
        let VolumeDescriptor::Primary(p) = VolumeDescriptor::parse(&s).unwrap() else { panic!() };
        assert_eq!(p.volume_id_text(), "VOLUME");
        assert_eq!(p.volume_space_size.value(), 100);
        assert_eq!(p.logical_block_size.value(), 2048);
        assert_eq!(p.root.extent.value(), 20);
        assert_eq!(p.creation_time().unwrap().to_rfc3339(), "2024-01-02T03:04:05+00:00");
        assert_eq!(p.joliet_level(), None);
    }

    #[test]
    fn root_record_longer_than_its_field() {
        let mut s = pvd_sector(1, &[]);
        s[156] = 40;
        let VolumeDescriptor::Primary(p) = VolumeDescriptor::parse(&s).unwrap() else { panic!() };
        assert_eq!((p.root.extent.value(), p.root.data_length.value()), (20, 2048));
        assert!(p.root.system_use.is_empty());
        s[156] = 20;
        assert_eq!(VolumeDescriptor::parse(&s), Err(VdError::BadRoot));
    }

    #[test]
    fn parses_joliet_levels() {
        for (esc, level) in [(&b"%/@"[..], 1), (b"%/C", 2), (b"%/E", 3)] {
            let s = pvd_sector(2, esc);
            let VolumeDescriptor::Supplementary(p) = VolumeDescriptor::parse(&s).unwrap() else { panic!() };
            assert_eq!(p.joliet_level(), Some(level));
        }
    }

    #[test]
    fn rejects_and_survives_garbage() {
        assert_eq!(VolumeDescriptor::parse(&[0u8; 2048]), Err(VdError::NoStandardId));
        let s = pvd_sector(1, &[]);
        assert_eq!(VolumeDescriptor::parse(&s[..500]), Err(VdError::Truncated));
        let mut t = [0u8; 2048];
        t[0] = 255;
        t[1..6].copy_from_slice(b"CD001");
        assert_eq!(VolumeDescriptor::parse(&t), Ok(VolumeDescriptor::Terminator));
    }
}

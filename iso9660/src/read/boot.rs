//! The El Torito boot catalog and the system area (MBR, GPT, Apple partition map), for `info`.

use std::io::{Read, Seek};

use super::Image;
use crate::error::{Error, Result, Structure};
use crate::format::el_torito::BootCatalog;
use crate::format::hybrid::{self, ApmPartition, GptHeader, GptPartition, MbrPartition};
use crate::format::SECTOR_SIZE_U64;

/// Sectors read for a boot catalog: one holds 64 entries; four cover every catalog seen in practice.
const CATALOG_SECTORS: u64 = 4;

/// Most boot entries read from a catalog.
const MAX_BOOT_ENTRIES: usize = 256;

/// Bytes of the system area (ECMA-119 6.2.1: sectors 0 to 15).
const SYSTEM_AREA_BYTES: u64 = 16 * SECTOR_SIZE_U64;

/// GPT sector size used by hybrid images.
const GPT_SECTOR: u64 = 512;

/// Most Apple partition map entries read.
const MAX_APM_ENTRIES: usize = 64;

/// A GPT found in the system area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpt {
    /// The primary header (512-byte LBA 1).
    pub header: GptHeader,
    /// The used partition entries.
    pub partitions: Vec<GptPartition>,
    /// Whether the entry array's CRC32 matches the header.
    pub entries_crc_ok: bool,
    /// Whether a header signature was found at the backup location (`None` when that lies past the image).
    pub backup_found: Option<bool>,
}

/// The partition tables of the system area.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemArea {
    /// MBR partitions, when the first sector ends in `55 AA`.
    pub mbr: Option<Vec<MbrPartition>>,
    /// A GPT.
    pub gpt: Option<Gpt>,
    /// An Apple partition map: block size and entries.
    pub apm: Option<(u16, Vec<ApmPartition>)>,
    /// Whether anything but zeros is in the system area.
    pub used: bool,
}

impl<R: Read + Seek> Image<R> {
    /// The El Torito boot catalog and its LBA, if the volume has an El Torito boot record.
    pub fn boot_catalog(&mut self) -> Result<Option<(u64, BootCatalog)>> {
        let Some(br) = self.boot_record.as_ref().filter(|b| b.is_el_torito()) else { return Ok(None) };
        let lba = u64::from(br.catalog_lba);
        let sectors = (self.src.len() / SECTOR_SIZE_U64).saturating_sub(lba).min(CATALOG_SECTORS);
        if sectors == 0 {
            return Err(Error::ExtentPastEnd {
                structure: Structure::BootCatalog,
                lba,
                extent_lba: lba,
                length: SECTOR_SIZE_U64,
                image_bytes: self.src.len(),
            });
        }
        let len = sectors.saturating_mul(SECTOR_SIZE_U64);
        let buf = self.src.read_extent(lba, len, Structure::BootCatalog, lba, self.opts.limits)?;
        let cat = BootCatalog::parse(&buf, MAX_BOOT_ENTRIES)
            .map_err(|e| Error::invalid(Structure::BootCatalog, lba, e.offset as u64, e.reason))?;
        if !cat.validation.checksum_ok || !cat.validation.key_ok {
            let what =
                if cat.validation.key_ok { "validation entry checksum is wrong" } else { "key 55 AA is missing" };
            if self.opts.strict {
                return Err(Error::invalid(Structure::BootCatalog, lba, 0, what));
            }
            self.warn(Structure::BootCatalog, lba, what.into());
        }
        Ok(Some((lba, cat)))
    }

    /// The partition tables in the system area (absolute sectors 0 to 15 of the image).
    pub fn system_area(&mut self) -> Result<SystemArea> {
        let limits = self.opts.limits;
        let len = self.src.len().min(SYSTEM_AREA_BYTES);
        let area = self.src.read_extent(0, len, Structure::SystemArea, 0, limits)?;
        let mut out = SystemArea { used: area.iter().any(|&b| b != 0), ..SystemArea::default() };
        out.mbr = hybrid::parse_mbr(&area);
        out.apm = hybrid::parse_apm(&area, MAX_APM_ENTRIES);
        let header = area.get(512..1024).and_then(hybrid::parse_gpt_header);
        if let Some(header) = header {
            let size = u64::from(header.num_entries).saturating_mul(u64::from(header.entry_size));
            let at = header.entries_lba.saturating_mul(GPT_SECTOR);
            let (partitions, entries_crc_ok) = match self.src.read_bytes(0, at, size, Structure::SystemArea, 0, limits)
            {
                Ok(buf) => (hybrid::parse_gpt_entries(&buf, &header), crc32fast::hash(&buf) == header.entries_crc),
                Err(e) => {
                    self.warn(Structure::SystemArea, 0, format!("GPT entries not read: {e}"));
                    (Vec::new(), false)
                }
            };
            let backup_at = header.backup_lba.saturating_mul(GPT_SECTOR);
            let backup_found = if backup_at.saturating_add(GPT_SECTOR) <= self.src.len() {
                let b = self.src.read_bytes(0, backup_at, GPT_SECTOR, Structure::SystemArea, 0, limits)?;
                Some(b.get(..8) == Some(&b"EFI PART"[..]))
            } else {
                None
            };
            out.gpt = Some(Gpt { header, partitions, entries_crc_ok, backup_found });
        }
        Ok(out)
    }
}

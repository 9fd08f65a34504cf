//! El Torito Bootable CD-ROM Format Specification 1.0 (Phoenix/IBM, 1995): the boot catalog.
//!
//! The catalog is a list of 32-byte entries: the validation entry (2.1) with a checksum over all its 16-bit
//! words, the initial/default entry (2.2), then sections, each a header (2.3, `0x90`, or `0x91` for the last)
//! followed by its entries (2.4) and their extension entries (2.5, `0x44`).
//!
//! Sources: the EFI entries that xorriso and grub-mkrescue write use platform `0xEF`, which came after 1.0;
//! and a sector count of 0 or 1 with no emulation is common for EFI images, whose true size is the FAT image
//! file's.

use super::{bytes, le16, le32, u8_at};

/// Size of one catalog entry in bytes.
pub const ENTRY_SIZE: usize = 32;

/// Platform ids (2.1, plus EFI).
pub mod platform {
    /// 80x86 BIOS.
    pub const X86: u8 = 0;
    /// PowerPC.
    pub const POWERPC: u8 = 1;
    /// Mac.
    pub const MAC: u8 = 2;
    /// UEFI.
    pub const EFI: u8 = 0xEF;
}

/// The short platform name xorriso's `-report_el_torito` prints.
pub fn platform_name(id: u8) -> String {
    match id {
        platform::X86 => "BIOS".into(),
        platform::POWERPC => "PPC".into(),
        platform::MAC => "Mac".into(),
        platform::EFI => "UEFI".into(),
        other => format!("0x{other:02x}"),
    }
}

/// The short emulation name (as xorriso prints it) of a media type byte's low nibble.
pub fn emulation_name(media_type: u8) -> &'static str {
    match media_type & 0x0F {
        0 => "none",
        1 => "fd1.2",
        2 => "fd1.4",
        3 => "fd2.8",
        4 => "hd",
        _ => "unknown",
    }
}

/// 2.1: the validation entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationEntry {
    /// Platform of the default entry.
    pub platform_id: u8,
    /// Manufacturer/developer id, 24 bytes.
    pub id: [u8; 24],
    /// Whether the 16-bit words of the entry add up to 0.
    pub checksum_ok: bool,
    /// Whether bytes 30 and 31 are the key `55 AA`.
    pub key_ok: bool,
}

/// 2.2 / 2.4: one bootable image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootEntry {
    /// 0 for the default entry, else the 1-based section number.
    pub section: u16,
    /// Platform (of the validation entry for the default entry, of the section header otherwise).
    pub platform_id: u8,
    /// Boot indicator: `0x88` bootable, `0x00` not.
    pub boot_indicator: u8,
    /// Media type: the low nibble is the emulation, the high bits flags (2.4).
    pub media_type: u8,
    /// Real-mode segment to load at (0 means the traditional 0x7C0).
    pub load_segment: u16,
    /// System type (partition type byte of a hard-disk image).
    pub system_type: u8,
    /// Sectors to load, in 512-byte virtual sectors.
    pub sector_count: u16,
    /// First 2048-byte sector of the image.
    pub load_rba: u32,
    /// Selection criteria type and bytes (sections only; type 0: none).
    pub selection_criteria: (u8, Vec<u8>),
}

impl BootEntry {
    /// Whether the entry is marked bootable.
    pub fn bootable(&self) -> bool {
        self.boot_indicator == 0x88
    }
}

/// A parsed boot catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootCatalog {
    /// The validation entry.
    pub validation: ValidationEntry,
    /// The default entry first, then every section entry in order.
    pub entries: Vec<BootEntry>,
    /// Bytes of the catalog actually used (entries up to the last one read).
    pub used_bytes: usize,
}

/// Why a catalog could not be parsed: the offset of the entry in question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogError {
    /// Offset of the entry.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

fn boot_entry(e: &[u8], section: u16, platform_id: u8) -> Option<BootEntry> {
    Some(BootEntry {
        section,
        platform_id,
        boot_indicator: u8_at(e, 0)?,
        media_type: u8_at(e, 1)?,
        load_segment: le16(e, 2)?,
        system_type: u8_at(e, 4)?,
        // 5: unused
        sector_count: le16(e, 6)?,
        load_rba: le32(e, 8)?,
        selection_criteria: (u8_at(e, 12)?, bytes(e, 13, 19)?.to_vec()),
    })
}

impl BootCatalog {
    /// Parses the catalog in `buf` (one or more sectors), reading at most `max_entries` boot entries.
    pub fn parse(buf: &[u8], max_entries: usize) -> Result<Self, CatalogError> {
        let v = bytes(buf, 0, ENTRY_SIZE).ok_or(CatalogError { offset: 0, reason: "catalog shorter than 64 bytes" })?;
        if u8_at(v, 0) != Some(1) {
            return Err(CatalogError { offset: 0, reason: "validation entry header id is not 1" });
        }
        let sum = v.chunks_exact(2).fold(0u16, |acc, w| acc.wrapping_add(le16(w, 0).unwrap_or(0)));
        let mut id = [0u8; 24];
        id.copy_from_slice(bytes(v, 4, 24).unwrap_or(&[0; 24]));
        let validation = ValidationEntry {
            platform_id: u8_at(v, 1).unwrap_or(0),
            id,
            checksum_ok: sum == 0,
            key_ok: bytes(v, 30, 2) == Some(&[0x55, 0xAA]),
        };
        let d = bytes(buf, ENTRY_SIZE, ENTRY_SIZE)
            .ok_or(CatalogError { offset: ENTRY_SIZE, reason: "no default entry" })?;
        let default = boot_entry(d, 0, validation.platform_id)
            .ok_or(CatalogError { offset: ENTRY_SIZE, reason: "truncated default entry" })?;
        let mut entries = vec![default];
        let mut off = ENTRY_SIZE.saturating_mul(2);
        let mut section = 0u16;
        let mut used = off;
        'sections: while entries.len() < max_entries {
            let Some(h) = bytes(buf, off, ENTRY_SIZE) else { break };
            let indicator = u8_at(h, 0).unwrap_or(0);
            if indicator != 0x90 && indicator != 0x91 {
                break;
            }
            section = section.saturating_add(1);
            let platform_id = u8_at(h, 1).unwrap_or(0);
            let count = le16(h, 2).unwrap_or(0);
            off = off.saturating_add(ENTRY_SIZE);
            let mut n = 0u16;
            while n < count {
                if entries.len() >= max_entries {
                    break 'sections;
                }
                let Some(e) = bytes(buf, off, ENTRY_SIZE) else {
                    return Err(CatalogError { offset: off, reason: "section entries run past the catalog" });
                };
                let entry = boot_entry(e, section, platform_id)
                    .ok_or(CatalogError { offset: off, reason: "truncated section entry" })?;
                // Extension entries (0x44) follow while the previous entry's "more" bit (0x20) is set.
                let mut more = entry.selection_criteria.0 != 0 && (u8_at(e, 12).unwrap_or(0) & 0x20 != 0);
                entries.push(entry);
                off = off.saturating_add(ENTRY_SIZE);
                while more {
                    let Some(x) = bytes(buf, off, ENTRY_SIZE) else { break };
                    if u8_at(x, 0) != Some(0x44) {
                        break;
                    }
                    more = u8_at(x, 1).unwrap_or(0) & 0x20 != 0;
                    off = off.saturating_add(ENTRY_SIZE);
                }
                n = n.saturating_add(1);
            }
            used = off;
            if indicator == 0x91 {
                break;
            }
        }
        Ok(BootCatalog { validation, entries, used_bytes: used })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A catalog with a BIOS default entry and one UEFI section of one entry.
    pub(crate) fn catalog() -> Vec<u8> {
        let mut c = vec![0u8; 2048];
        c[0] = 1;
        c[30] = 0x55;
        c[31] = 0xAA;
        let sum = c[..32].chunks(2).fold(0u16, |a, w| a.wrapping_add(u16::from_le_bytes([w[0], w[1]])));
        c[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
        c[32] = 0x88;
        c[38..40].copy_from_slice(&4u16.to_le_bytes());
        c[40..44].copy_from_slice(&466u32.to_le_bytes());
        c[64] = 0x91;
        c[65] = 0xEF;
        c[66..68].copy_from_slice(&1u16.to_le_bytes());
        c[96] = 0x88;
        c[102..104].copy_from_slice(&1728u16.to_le_bytes());
        c[104..108].copy_from_slice(&34u32.to_le_bytes());
        c
    }

    #[test]
    fn parses_default_and_sections() {
        let c = BootCatalog::parse(&catalog(), 64).unwrap();
        assert!(c.validation.checksum_ok && c.validation.key_ok);
        assert_eq!(c.entries.len(), 2);
        assert_eq!((c.entries[0].sector_count, c.entries[0].load_rba), (4, 466));
        assert_eq!(platform_name(c.entries[1].platform_id), "UEFI");
        assert_eq!(c.entries[1].section, 1);
        assert_eq!(emulation_name(c.entries[1].media_type), "none");
        assert_eq!(c.used_bytes, 128);
    }

    #[test]
    fn bad_checksum_is_reported_not_fatal() {
        let mut c = catalog();
        c[4] = 7;
        let c = BootCatalog::parse(&c, 64).unwrap();
        assert!(!c.validation.checksum_ok);
        assert!(BootCatalog::parse(&[0u8; 64], 64).is_err());
        let mut t = catalog();
        t[66] = 200;
        assert!(BootCatalog::parse(&t[..200], 64).is_err());
    }
}

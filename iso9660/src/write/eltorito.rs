//! El Torito Bootable CD-ROM Format Specification, Version 1.0 (Phoenix Technologies and IBM, January 25, 1995):
//! the Boot Record Volume Descriptor (2.0), the Booting Catalog (2.1 Validation Entry, 2.2 Initial/Default
//! Entry, 2.3 Section Header Entry, 2.4 Section Entry), and the two patches boot loaders expect in their own
//! image: the boot info table (mkisofs `-boot-info-table`, ISOLINUX and GRUB2) and GRUB2's boot info
//! (xorriso `--grub2-boot-info`).
//!
//! Sources beyond the specification, for what real firmware and boot loaders rely on:
//! - Platform 0xEF (EFI) is not in the 1995 text; UEFI 2.10, 13.3.2.1 "ISO-9660 and El Torito", assigns it.
//! - The boot info table layout (56 bytes at offset 8) is the one mkisofs defined and ISOLINUX reads; its
//!   checksum covers the image from byte 64 to its end in 32-bit little-endian words, padding the last word with
//!   zeros.
//! - GRUB2's boot info is a 64-bit little-endian 512-byte block address (`LBA * 4 + 5`) at byte 2548 of
//!   `eltorito.img`, written before the boot info table's checksum is computed; checked byte for byte against
//!   images made by xorriso 1.5.4 with `--grub2-boot-info`.

// Serialisation into buffers this module sizes itself: every index is a constant offset of a fixed-size
// structure or checked against the buffer's length first; no offset is read from an image. The functions that
// read or patch a caller's boot image deny indexing and unchecked arithmetic again.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::fmt;

/// Bytes in a logical sector of the image.
pub const SECTOR: usize = 2048;

/// Bytes in every catalog entry (El Torito 2.0: the catalog is a list of 32-byte entries).
pub const CATALOG_ENTRY_SIZE: usize = 32;

/// Bytes in a "virtual sector" of the sector count field (El Torito 2.2, offset 6: 512-byte units).
pub const VIRTUAL_SECTOR: usize = 512;

/// Offset of the boot info table inside a boot image (after the 8 bytes of a jump and a signature).
pub const BOOT_INFO_TABLE_OFFSET: usize = 8;

/// Offset in the boot image where the boot info table's checksum starts (end of the 56-byte table).
pub const BOOT_INFO_CHECKSUM_START: usize = 64;

/// Offset of GRUB2's 64-bit boot info inside `eltorito.img`.
pub const GRUB2_BOOT_INFO_OFFSET: usize = 2548;

/// Largest boot image odix will load into memory to patch (the images that take patches are boot loaders of a
/// few tens of kilobytes; 32 MiB leaves ample room while keeping a typo from reading a whole disc).
pub const MAX_PATCHED_IMAGE: u64 = 32 << 20;

/// Size in bytes of the three diskette images floppy emulation accepts (El Torito 2.2, boot media type 1..3).
pub const FLOPPY_SIZES: [(Emulation, u64); 3] =
    [(Emulation::Floppy12, 1_228_800), (Emulation::Floppy144, 1_474_560), (Emulation::Floppy288, 2_949_120)];

/// Why a boot catalog, a boot image patch or a system area could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootError {
    /// The catalog needs at least its default entry.
    #[error("El Torito: no boot image given")]
    NoEntry,
    /// A boot image is too small to hold the structure that must be patched into it.
    #[error("boot image of {len} bytes is too small for the {what} (needs at least {needed} bytes)")]
    ImageTooSmall {
        /// What was to be patched.
        what: &'static str,
        /// Size of the image in bytes.
        len: u64,
        /// Size needed in bytes.
        needed: u64,
    },
    /// A boot image to be patched is larger than [`MAX_PATCHED_IMAGE`].
    #[error("boot image of {len} bytes is too large to patch (at most {MAX_PATCHED_IMAGE} bytes)")]
    ImageTooLarge {
        /// Size of the image in bytes.
        len: u64,
    },
    /// Floppy emulation needs an image of exactly 1.2, 1.44 or 2.88 MB.
    #[error("a floppy emulation image must be 1228800, 1474560 or 2949120 bytes, this one is {len}")]
    FloppySize {
        /// Size of the image in bytes.
        len: u64,
    },
    /// A hard disk emulation image must start with an MBR holding exactly one partition.
    #[error("hard disk emulation image: {reason}")]
    HardDiskImage {
        /// What is wrong with its MBR.
        reason: &'static str,
    },
    /// A value does not fit its on-disc field.
    #[error("{what} {value} does not fit its field (at most {max})")]
    Overflow {
        /// The field.
        what: &'static str,
        /// The value.
        value: u64,
        /// Largest value the field holds.
        max: u64,
    },
    /// A system area template (MBR boot code, embedded boot image) is unusable.
    #[error("system area: {reason}")]
    SystemArea {
        /// What is wrong.
        reason: String,
    },
    /// A partition request contradicts another one or the image.
    #[error("partition table: {reason}")]
    Partition {
        /// What is wrong.
        reason: String,
    },
}

/// Result of the boot structures' functions.
pub type Result<T> = std::result::Result<T, BootError>;

/// The platform id of a validation entry or section header (El Torito 2.1 offset 1, 2.3 offset 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Platform(pub u8);

impl Platform {
    /// 80x86 PC BIOS.
    pub const BIOS: Platform = Platform(0);
    /// PowerPC.
    pub const POWERPC: Platform = Platform(1);
    /// Mac.
    pub const MAC: Platform = Platform(2);
    /// UEFI (UEFI 2.10, 13.3.2.1).
    pub const EFI: Platform = Platform(0xEF);

    /// Parses the names mkisofs and xorriso accept for `-eltorito-platform`: `x86`/`bios`, `PPC`, `Mac`, `efi`,
    /// or a number (decimal or `0x` hexadecimal) below 256.
    pub fn from_name(name: &str) -> Option<Platform> {
        match name.to_ascii_lowercase().as_str() {
            "x86" | "bios" | "i386" | "80x86" => Some(Platform::BIOS),
            "ppc" | "powerpc" => Some(Platform::POWERPC),
            "mac" => Some(Platform::MAC),
            "efi" | "uefi" => Some(Platform::EFI),
            other => {
                let v = match other.strip_prefix("0x") {
                    Some(hex) => u8::from_str_radix(hex, 16).ok(),
                    None => other.parse::<u8>().ok(),
                };
                v.map(Platform)
            }
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Platform::BIOS => f.write_str("BIOS"),
            Platform::POWERPC => f.write_str("PowerPC"),
            Platform::MAC => f.write_str("Mac"),
            Platform::EFI => f.write_str("UEFI"),
            Platform(other) => write!(f, "0x{other:02x}"),
        }
    }
}

/// Boot media type: how the BIOS presents the boot image (El Torito 2.2, offset 1, bits 0-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Emulation {
    /// The image is loaded into memory and run as is.
    NoEmulation,
    /// The image is a 1.2 MB diskette, seen as drive 0x00.
    Floppy12,
    /// The image is a 1.44 MB diskette.
    Floppy144,
    /// The image is a 2.88 MB diskette.
    Floppy288,
    /// The image is a hard disk with an MBR and one partition, seen as drive 0x80.
    HardDisk,
}

impl Emulation {
    /// The boot media type byte.
    pub fn media_type(self) -> u8 {
        match self {
            Emulation::NoEmulation => 0,
            Emulation::Floppy12 => 1,
            Emulation::Floppy144 => 2,
            Emulation::Floppy288 => 3,
            Emulation::HardDisk => 4,
        }
    }

    /// The floppy emulation matching an image of `len` bytes (what mkisofs picks when neither
    /// `-no-emul-boot` nor `-hard-disk-boot` is given).
    pub fn floppy_for_size(len: u64) -> Result<Emulation> {
        FLOPPY_SIZES.iter().find(|(_, size)| *size == len).map(|(e, _)| *e).ok_or(BootError::FloppySize { len })
    }
}

/// How many 512-byte sectors the BIOS loads (El Torito 2.2, offset 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoadSize {
    /// What mkisofs, genisoimage and xorriso choose: the whole image (at most 65535 sectors) for no emulation,
    /// and 1 for emulated media. EFI entries always get the whole image.
    #[default]
    Default,
    /// The whole image, at most 65535 sectors (`-boot-load-size full`).
    Full,
    /// This many 512-byte sectors (`-boot-load-size N`).
    Sectors(u16),
}

/// One boot image of the catalog: the default entry (the first one) or a section entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootEntry {
    platform: Platform,
    emulation: Emulation,
    bootable: bool,
    load_segment: u16,
    system_type: u8,
    load_size: LoadSize,
    image_len: u64,
    image_lba: u32,
    section_id: [u8; 28],
}

impl BootEntry {
    /// A bootable BIOS no-emulation entry for an image of `image_len` bytes, placed later with [`Self::lba`].
    pub fn new(image_len: u64) -> BootEntry {
        BootEntry {
            platform: Platform::BIOS,
            emulation: Emulation::NoEmulation,
            bootable: true,
            load_segment: 0,
            system_type: 0,
            load_size: LoadSize::Default,
            image_len,
            image_lba: 0,
            section_id: [0; 28],
        }
    }

    /// Sets the platform of the entry (it decides which section the entry goes into).
    #[must_use]
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    /// Sets the boot media type.
    #[must_use]
    pub fn emulation(mut self, emulation: Emulation) -> Self {
        self.emulation = emulation;
        self
    }

    /// Marks the entry bootable (0x88) or not bootable (0x00); default bootable.
    #[must_use]
    pub fn bootable(mut self, bootable: bool) -> Self {
        self.bootable = bootable;
        self
    }

    /// Sets the real-mode segment the image is loaded at (0 means the BIOS default, 0x7C0).
    #[must_use]
    pub fn load_segment(mut self, segment: u16) -> Self {
        self.load_segment = segment;
        self
    }

    /// Sets the system type byte: for hard disk emulation the partition type of the image's partition.
    #[must_use]
    pub fn system_type(mut self, system_type: u8) -> Self {
        self.system_type = system_type;
        self
    }

    /// Sets how many 512-byte sectors are loaded.
    #[must_use]
    pub fn load_size(mut self, load_size: LoadSize) -> Self {
        self.load_size = load_size;
        self
    }

    /// Sets the ID string of the section header this entry opens (28 bytes, zero-padded; only the first entry of
    /// each section's ID is used).
    #[must_use]
    pub fn section_id(mut self, id: &[u8]) -> Self {
        self.section_id = [0; 28];
        let n = id.len().min(28);
        self.section_id[..n].copy_from_slice(&id[..n]);
        self
    }

    /// Sets the LBA of the image's first sector, once the plan has placed it.
    #[must_use]
    pub fn lba(mut self, lba: u32) -> Self {
        self.image_lba = lba;
        self
    }

    /// Sets the LBA in place.
    pub fn set_lba(&mut self, lba: u32) {
        self.image_lba = lba;
    }

    /// The platform.
    pub fn get_platform(&self) -> Platform {
        self.platform
    }

    /// The boot media type.
    pub fn get_emulation(&self) -> Emulation {
        self.emulation
    }

    /// The LBA of the image.
    pub fn get_lba(&self) -> u32 {
        self.image_lba
    }

    /// The size of the image in bytes.
    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// The sector count written into the entry, in 512-byte sectors.
    pub fn sector_count(&self) -> u16 {
        let full = || u16::try_from(self.image_len.div_ceil(VIRTUAL_SECTOR as u64)).unwrap_or(u16::MAX).max(1);
        if self.emulation != Emulation::NoEmulation {
            return match self.load_size {
                LoadSize::Sectors(n) => n,
                _ => 1,
            };
        }
        if self.platform == Platform::EFI {
            // UEFI firmware takes the sector count as the size of the FAT image; xorriso writes the full size
            // for EFI entries whatever -boot-load-size says, and so does odix.
            return full();
        }
        match self.load_size {
            LoadSize::Sectors(n) => n,
            LoadSize::Full | LoadSize::Default => full(),
        }
    }

    /// Checks the image against its emulation mode: floppy images must have a diskette's size, hard disk images
    /// an MBR with one partition (`mbr` is the image's first 512 bytes). Returns the system type for hard disk
    /// emulation (the partition's type byte).
    #[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    pub fn check_image(&self, mbr: &[u8]) -> Result<Option<u8>> {
        match self.emulation {
            Emulation::NoEmulation => Ok(None),
            Emulation::Floppy12 | Emulation::Floppy144 | Emulation::Floppy288 => {
                let expected = FLOPPY_SIZES.iter().find(|(e, _)| *e == self.emulation).map(|(_, s)| *s);
                if expected == Some(self.image_len) {
                    Ok(None)
                } else {
                    Err(BootError::FloppySize { len: self.image_len })
                }
            }
            Emulation::HardDisk => {
                // Four 16-byte partition entries from byte 446 (type at +4), then the signature.
                let Some((table, [0x55, 0xAA])) =
                    mbr.first_chunk::<512>().and_then(|m| m.get(446..)?.split_last_chunk())
                else {
                    return Err(BootError::HardDiskImage { reason: "no MBR signature 0x55AA at byte 510" });
                };
                let types: Vec<u8> =
                    table.chunks_exact(16).filter_map(|e| e.get(4).copied()).filter(|t| *t != 0).collect();
                match types.as_slice() {
                    [t] => Ok(Some(*t)),
                    [] => Err(BootError::HardDiskImage { reason: "the MBR has no partition" }),
                    _ => Err(BootError::HardDiskImage { reason: "the MBR has more than one partition" }),
                }
            }
        }
    }

    /// Serialises the entry (El Torito 2.2 / 2.4: both have the same first 12 bytes; the selection criteria of a
    /// section entry are left empty).
    fn write(&self, out: &mut [u8]) {
        out[0] = if self.bootable { 0x88 } else { 0x00 };
        out[1] = self.emulation.media_type();
        out[2..4].copy_from_slice(&self.load_segment.to_le_bytes());
        out[4] = self.system_type;
        out[5] = 0; // unused
        out[6..8].copy_from_slice(&self.sector_count().to_le_bytes());
        out[8..12].copy_from_slice(&self.image_lba.to_le_bytes());
        out[12..32].fill(0); // unused (default entry) / selection criteria type 0 and criteria (section entry)
    }
}

/// Header id of a section header that more headers follow (El Torito 2.3, offset 0).
const SECTION_HEADER_MORE: u8 = 0x90;
/// Header id of the last section header.
const SECTION_HEADER_FINAL: u8 = 0x91;

/// The Booting Catalog: a validation entry, the default entry, then one section per run of entries sharing a
/// platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootCatalog {
    entries: Vec<BootEntry>,
    id: [u8; 24],
}

impl BootCatalog {
    /// A catalog whose default entry is `entries[0]` and whose other entries go into sections, grouped by runs of
    /// the same platform in the order given.
    pub fn new(entries: Vec<BootEntry>) -> Result<BootCatalog> {
        if entries.is_empty() {
            return Err(BootError::NoEntry);
        }
        let cat = BootCatalog { entries, id: [0; 24] };
        // Section entry counts are 16-bit.
        for (_, run) in cat.sections() {
            if run.len() > usize::from(u16::MAX) {
                return Err(BootError::Overflow {
                    what: "entries in one section",
                    value: run.len() as u64,
                    max: u64::from(u16::MAX),
                });
            }
        }
        Ok(cat)
    }

    /// Sets the ID string of the validation entry (manufacturer or developer, 24 bytes, zero-padded).
    #[must_use]
    pub fn id(mut self, id: &[u8]) -> Self {
        self.id = [0; 24];
        let n = id.len().min(24);
        self.id[..n].copy_from_slice(&id[..n]);
        self
    }

    /// The entries, default entry first.
    pub fn entries(&self) -> &[BootEntry] {
        &self.entries
    }

    /// The entries, to set their LBAs once the plan has placed the images.
    pub fn entries_mut(&mut self) -> &mut [BootEntry] {
        &mut self.entries
    }

    /// Runs of non-default entries sharing a platform: each becomes one section.
    fn sections(&self) -> Vec<(Platform, &[BootEntry])> {
        let mut out: Vec<(Platform, &[BootEntry])> = Vec::new();
        let rest = &self.entries[1..];
        let mut start = 0;
        for i in 1..=rest.len() {
            if i == rest.len() || rest[i].platform != rest[start].platform {
                out.push((rest[start].platform, &rest[start..i]));
                start = i;
            }
        }
        out
    }

    /// Size of the catalog in bytes, before padding to a sector.
    pub fn byte_len(&self) -> usize {
        CATALOG_ENTRY_SIZE * (2 + self.sections().len() + self.entries.len() - 1)
    }

    /// Number of 2048-byte sectors the catalog occupies.
    pub fn sectors(&self) -> u32 {
        self.byte_len().div_ceil(SECTOR) as u32
    }

    /// The catalog padded with zeros to whole sectors.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.sectors() as usize * SECTOR];
        let mut entry = out.chunks_exact_mut(CATALOG_ENTRY_SIZE);
        let mut next = || entry.next().unwrap_or_else(|| unreachable!("catalog sized by byte_len"));
        validation_entry(next(), self.entries[0].platform, &self.id);
        self.entries[0].write(next());
        let sections = self.sections();
        let count = sections.len();
        for (i, (platform, run)) in sections.into_iter().enumerate() {
            let h = next();
            h[0] = if i + 1 == count { SECTION_HEADER_FINAL } else { SECTION_HEADER_MORE };
            h[1] = platform.0;
            h[2..4].copy_from_slice(&(run.len() as u16).to_le_bytes());
            h[4..32].copy_from_slice(&run[0].section_id);
            for e in run {
                e.write(next());
            }
        }
        out
    }
}

/// Writes a validation entry (El Torito 2.1): header id 1, platform, id string, a checksum making the sixteen
/// 16-bit words sum to zero, and the key bytes 0x55 0xAA.
fn validation_entry(out: &mut [u8], platform: Platform, id: &[u8; 24]) {
    out.fill(0);
    out[0] = 1;
    out[1] = platform.0;
    out[4..28].copy_from_slice(id);
    out[30] = 0x55;
    out[31] = 0xAA;
    let sum = out.chunks_exact(2).fold(0u16, |acc, w| acc.wrapping_add(u16::from_le_bytes([w[0], w[1]])));
    out[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
}

/// The Boot Record Volume Descriptor (El Torito 2.0) pointing at the catalog's first sector.
pub fn boot_record_descriptor(catalog_lba: u32) -> [u8; SECTOR] {
    let mut d = [0u8; SECTOR];
    d[0] = 0; // boot record indicator
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1; // version
    let system = b"EL TORITO SPECIFICATION";
    d[7..7 + system.len()].copy_from_slice(system); // boot system identifier, zero-padded to 32 bytes
    d[0x47..0x4B].copy_from_slice(&catalog_lba.to_le_bytes());
    d
}

/// Which patches a boot image receives once its LBA is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootPatches {
    /// Write the boot info table at offset 8 (`-boot-info-table`).
    pub boot_info_table: bool,
    /// Write GRUB2's boot info at offset 2548 (`--grub2-boot-info`).
    pub grub2_boot_info: bool,
}

impl BootPatches {
    /// True when the image needs no change.
    pub fn is_empty(&self) -> bool {
        !self.boot_info_table && !self.grub2_boot_info
    }

    /// Patches `image` (the whole boot file) lying at `file_lba` in a volume whose Primary Volume Descriptor is
    /// at `pvd_lba`: GRUB2's boot info first, then the boot info table whose checksum covers it.
    pub fn apply(&self, image: &mut [u8], pvd_lba: u32, file_lba: u32) -> Result<()> {
        if image.len() as u64 > MAX_PATCHED_IMAGE {
            return Err(BootError::ImageTooLarge { len: image.len() as u64 });
        }
        if self.grub2_boot_info {
            patch_grub2_boot_info(image, file_lba)?;
        }
        if self.boot_info_table {
            patch_boot_info_table(image, pvd_lba, file_lba)?;
        }
        Ok(())
    }
}

/// Writes the boot info table into `image`: at offset 8 the PVD's LBA, the image's LBA, the image's length and
/// the checksum of the 32-bit little-endian words from offset 64 to the end (last word zero-padded), then 40
/// reserved zero bytes up to offset 64.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub fn patch_boot_info_table(image: &mut [u8], pvd_lba: u32, file_lba: u32) -> Result<()> {
    let len = image.len() as u64;
    let file_len = u32::try_from(len).map_err(|_| BootError::ImageTooLarge { len })?;
    let checksum = image.get(BOOT_INFO_CHECKSUM_START..).map(boot_info_checksum);
    let (Some(checksum), Some(t)) = (checksum, image.get_mut(BOOT_INFO_TABLE_OFFSET..BOOT_INFO_CHECKSUM_START)) else {
        return Err(BootError::ImageTooSmall { what: "boot info table", len, needed: BOOT_INFO_CHECKSUM_START as u64 });
    };
    let mut table = [0u8; BOOT_INFO_CHECKSUM_START - BOOT_INFO_TABLE_OFFSET];
    for (field, v) in table.chunks_exact_mut(4).zip([pvd_lba, file_lba, file_len, checksum]) {
        field.copy_from_slice(&v.to_le_bytes());
    }
    t.copy_from_slice(&table);
    Ok(())
}

/// Sum modulo 2^32 of the little-endian 32-bit words of `data`, the last one zero-padded.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub fn boot_info_checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |acc, w| {
        let mut word = [0u8; 4];
        word.iter_mut().zip(w).for_each(|(d, s)| *d = *s);
        acc.wrapping_add(u32::from_le_bytes(word))
    })
}

/// Writes GRUB2's boot info into `image` (GRUB2 `eltorito.img` at `file_lba`): the 64-bit little-endian
/// 512-byte block address of the image's second 512-byte block plus 4, that is `file_lba * 4 + 5`, at byte 2548.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub fn patch_grub2_boot_info(image: &mut [u8], file_lba: u32) -> Result<()> {
    const NEEDED: usize = GRUB2_BOOT_INFO_OFFSET + 8;
    let len = image.len() as u64;
    let Some(field) = image.get_mut(GRUB2_BOOT_INFO_OFFSET..NEEDED) else {
        return Err(BootError::ImageTooSmall { what: "GRUB2 boot info", len, needed: NEEDED as u64 });
    };
    // Below 2^34 + 5: no overflow in 64 bits.
    let value = u64::from(file_lba).saturating_mul(4).saturating_add(5);
    field.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog xorriso 1.5.4 writes for grub-mkrescue's arguments (BIOS `eltorito.img` at LBA 2859 with
    /// `-boot-load-size 4`, then `--efi-boot efi.img`, a 2949120-byte image at LBA 72), first 128 bytes.
    #[test]
    fn catalog_matches_xorriso() {
        let bios = BootEntry::new(29541).load_size(LoadSize::Sectors(4)).lba(2859);
        let efi = BootEntry::new(2_949_120).platform(Platform::EFI).lba(72);
        let cat = BootCatalog::new(vec![bios, efi]).unwrap();
        let b = cat.to_bytes();
        assert_eq!(b.len(), 2048);
        let mut expected = [0u8; 128];
        expected[0] = 1;
        expected[0x1c..0x20].copy_from_slice(&[0xaa, 0x55, 0x55, 0xaa]);
        expected[0x20..0x2c].copy_from_slice(&[0x88, 0, 0, 0, 0, 0, 4, 0, 0x2b, 0x0b, 0, 0]);
        expected[0x40..0x44].copy_from_slice(&[0x91, 0xef, 1, 0]);
        expected[0x60..0x6c].copy_from_slice(&[0x88, 0, 0, 0, 0, 0, 0x80, 0x16, 0x48, 0, 0, 0]);
        assert_eq!(&b[..128], &expected[..]);
        assert!(b[128..].iter().all(|&x| x == 0));
    }

    #[test]
    fn validation_checksum_sums_to_zero() {
        let cat = BootCatalog::new(vec![BootEntry::new(2048).platform(Platform::EFI)]).unwrap().id(b"odix test");
        let b = cat.to_bytes();
        let sum = b[..32].chunks_exact(2).fold(0u16, |a, w| a.wrapping_add(u16::from_le_bytes([w[0], w[1]])));
        assert_eq!(sum, 0);
        assert_eq!(b[1], 0xEF);
        assert_eq!(&b[4..13], b"odix test");
    }

    #[test]
    fn sections_group_runs_of_platforms() {
        let e = |p| BootEntry::new(4096).platform(p);
        let cat = BootCatalog::new(vec![
            e(Platform::BIOS),
            e(Platform::BIOS).emulation(Emulation::Floppy144),
            e(Platform::EFI),
            e(Platform::EFI),
        ])
        .unwrap();
        // validation, default, header(BIOS), entry, header(EFI), entry, entry
        assert_eq!(cat.byte_len(), 7 * 32);
        let b = cat.to_bytes();
        assert_eq!(&b[64..68], &[0x90, 0, 1, 0]);
        assert_eq!(b[96 + 1], 2);
        assert_eq!(b[96 + 6], 1, "emulated media load one sector");
        assert_eq!(&b[128..132], &[0x91, 0xEF, 2, 0]);
        assert_eq!(&b[160 + 6..160 + 8], &[8, 0], "EFI loads the whole image by default");
    }

    #[test]
    fn many_entries_span_sectors() {
        let entries = (0..100).map(|i| BootEntry::new(2048).lba(100 + i)).collect();
        let cat = BootCatalog::new(entries).unwrap();
        assert_eq!(cat.byte_len(), (3 + 99) * 32);
        assert_eq!(cat.sectors(), 2);
        let b = cat.to_bytes();
        assert_eq!(b.len(), 4096);
        assert_eq!(&b[64..68], &[0x91, 0, 99, 0]);
        let last = 2 * 32 + 32 + 98 * 32;
        assert_eq!(&b[last + 8..last + 12], &199u32.to_le_bytes());
        assert!(BootCatalog::new(Vec::new()).is_err());
    }

    #[test]
    fn sector_counts() {
        assert_eq!(BootEntry::new(29541).sector_count(), 58);
        assert_eq!(BootEntry::new(29541).load_size(LoadSize::Sectors(4)).sector_count(), 4);
        assert_eq!(BootEntry::new(38912).load_size(LoadSize::Full).sector_count(), 76);
        assert_eq!(BootEntry::new(100 << 20).platform(Platform::EFI).sector_count(), u16::MAX);
        assert_eq!(BootEntry::new(0).platform(Platform::EFI).sector_count(), 1);
        let efi = BootEntry::new(38912).platform(Platform::EFI).load_size(LoadSize::Sectors(4));
        assert_eq!(efi.sector_count(), 76, "EFI entries load the whole image, as xorriso writes them");
        let hd = BootEntry::new(1 << 20).emulation(Emulation::HardDisk);
        assert_eq!(hd.sector_count(), 1);
        assert_eq!(Emulation::floppy_for_size(1_474_560).unwrap(), Emulation::Floppy144);
        assert!(Emulation::floppy_for_size(1_474_561).is_err());
    }

    #[test]
    fn hard_disk_images_need_one_partition() {
        let mut mbr = [0u8; 512];
        let hd = BootEntry::new(1 << 20).emulation(Emulation::HardDisk);
        assert!(hd.check_image(&mbr).is_err());
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        assert!(hd.check_image(&mbr).is_err());
        mbr[446 + 4] = 0x0c;
        assert_eq!(hd.check_image(&mbr).unwrap(), Some(0x0c));
        // The whole 512 bytes are needed; a longer image is read in its first sector.
        assert!(hd.check_image(&mbr[..511]).is_err());
        assert_eq!(hd.check_image(&[&mbr[..], &[0x83; 100]].concat()).unwrap(), Some(0x0c));
        mbr[446 + 16 + 4] = 0x83;
        assert!(hd.check_image(&mbr).is_err());
        let fl = BootEntry::new(1_474_560).emulation(Emulation::Floppy144);
        assert_eq!(fl.check_image(&[]).unwrap(), None);
        assert!(BootEntry::new(1000).emulation(Emulation::Floppy288).check_image(&[]).is_err());
    }

    #[test]
    fn boot_record() {
        let d = boot_record_descriptor(33);
        assert_eq!(&d[..7], b"\0CD001\x01");
        assert_eq!(&d[7..30], b"EL TORITO SPECIFICATION");
        assert!(d[30..0x47].iter().all(|&b| b == 0));
        assert_eq!(&d[0x47..0x4b], &[33, 0, 0, 0]);
    }

    #[test]
    fn boot_info_table_and_grub2() {
        let mut img: Vec<u8> = (0..3001u32).map(|i| (i * 7) as u8).collect();
        let orig = img.clone();
        BootPatches { boot_info_table: true, grub2_boot_info: true }.apply(&mut img, 16, 2859).unwrap();
        assert_eq!(&img[8..12], &16u32.to_le_bytes());
        assert_eq!(&img[12..16], &2859u32.to_le_bytes());
        assert_eq!(&img[16..20], &3001u32.to_le_bytes());
        assert!(img[24..64].iter().all(|&b| b == 0));
        assert_eq!(&img[2548..2556], &11441u64.to_le_bytes());
        // The checksum covers the GRUB2 field as patched.
        assert_eq!(&img[20..24], &boot_info_checksum(&img[64..]).to_le_bytes());
        assert_eq!(&img[..8], &orig[..8]);
        assert_eq!(&img[64..2548], &orig[64..2548]);
        assert_eq!(boot_info_checksum(&[1, 0, 0, 0, 2]), 3);
        assert!(patch_boot_info_table(&mut [0u8; 63], 16, 1).is_err());
        assert!(patch_grub2_boot_info(&mut [0u8; 2555], 1).is_err());
        let mut small = [0xffu8; 64];
        patch_boot_info_table(&mut small, 16, 1).unwrap();
        assert_eq!(&small[16..24], &[64, 0, 0, 0, 0, 0, 0, 0]);
        let mut grub = [0u8; 2556];
        patch_grub2_boot_info(&mut grub, u32::MAX).unwrap();
        assert_eq!(&grub[2548..], &(u64::from(u32::MAX) * 4 + 5).to_le_bytes());
    }

    fn arb_entry() -> impl proptest::strategy::Strategy<Value = BootEntry> {
        use proptest::prelude::*;
        let platform = prop_oneof![
            Just(Platform::BIOS),
            Just(Platform::EFI),
            Just(Platform::POWERPC),
            any::<u8>().prop_map(Platform)
        ];
        let emulation = prop_oneof![
            Just(Emulation::NoEmulation),
            Just(Emulation::Floppy12),
            Just(Emulation::Floppy144),
            Just(Emulation::Floppy288),
            Just(Emulation::HardDisk)
        ];
        (platform, emulation, any::<bool>(), any::<u16>(), any::<u8>(), 0u64..200_000_000, any::<u32>(), any::<u16>())
            .prop_map(|(p, e, b, seg, st, len, lba, n)| {
                BootEntry::new(len)
                    .platform(p)
                    .emulation(e)
                    .bootable(b)
                    .load_segment(seg)
                    .system_type(st)
                    .load_size(if n % 3 == 0 { LoadSize::Default } else { LoadSize::Sectors(n) })
                    .lba(lba)
            })
    }

    proptest::proptest! {
        /// What odix writes, the crate's own catalog reader (a separate implementation) reads back.
        #[test]
        fn catalog_round_trip(entries in proptest::collection::vec(arb_entry(), 1..150)) {
            use crate::format::el_torito::BootCatalog as Parsed;
            let cat = BootCatalog::new(entries.clone()).unwrap();
            let bytes = cat.to_bytes();
            proptest::prop_assert_eq!(bytes.len() % SECTOR, 0);
            let parsed = Parsed::parse(&bytes, 10_000).unwrap();
            proptest::prop_assert!(parsed.validation.checksum_ok && parsed.validation.key_ok);
            proptest::prop_assert_eq!(parsed.validation.platform_id, entries[0].get_platform().0);
            proptest::prop_assert_eq!(parsed.entries.len(), entries.len());
            for (got, want) in parsed.entries.iter().zip(&entries) {
                proptest::prop_assert_eq!(got.platform_id, want.get_platform().0);
                proptest::prop_assert_eq!(got.bootable(), want.bootable);
                proptest::prop_assert_eq!(got.media_type, want.get_emulation().media_type());
                proptest::prop_assert_eq!(got.load_segment, want.load_segment);
                proptest::prop_assert_eq!(got.system_type, want.system_type);
                proptest::prop_assert_eq!(got.sector_count, want.sector_count());
                proptest::prop_assert_eq!(got.load_rba, want.get_lba());
            }
        }
    }

    #[test]
    fn platform_names() {
        assert_eq!(Platform::from_name("efi"), Some(Platform::EFI));
        assert_eq!(Platform::from_name("x86"), Some(Platform::BIOS));
        assert_eq!(Platform::from_name("PPC"), Some(Platform::POWERPC));
        assert_eq!(Platform::from_name("0xef"), Some(Platform::EFI));
        assert_eq!(Platform::from_name("2"), Some(Platform::MAC));
        assert_eq!(Platform::from_name("amiga"), None);
        assert_eq!(Platform::EFI.to_string(), "UEFI");
    }
}

//! The system area of hybrid images (ECMA-119 6.2.1: the first 16 sectors, 32 KiB, are free for the system):
//! a Master Boot Record with its partition table, a GUID Partition Table (UEFI 2.10, 5.3) whose backup lies at
//! the end of the image, and partitions appended after the ISO volume, so that the same bytes boot from a CD and
//! from a USB stick, under BIOS and under UEFI.
//!
//! Sources beyond the specifications, for what boot code and firmware expect; every layout below was compared
//! byte for byte with images made by xorriso 1.5.4:
//! - SYSLINUX `isohdpfx.bin` (`-isohybrid-mbr`): boot code in bytes 0..432; at 432 the 512-byte block address of
//!   the El Torito boot image (`LBA * 4`, 32-bit little-endian), 4 zero bytes, the disk signature at 440;
//!   partition 1 bootable, type 0x17, from block 0 over the whole image, and the image padded to a whole
//!   cylinder (64 heads, 32 sectors: 1 MiB). With `-isohybrid-gpt-basdat` partition 1 gets type 0x00, the boot
//!   images it marks become partitions 2.. (type 0xEF, CHS fields 0xFE 0xFF 0xFF) where no appended partition
//!   takes the slot, and a GPT names the ISO (from the partition offset) and them Basic Data.
//! - GRUB2 `boot_hybrid.img` (`--grub2-mbr`): boot code in bytes 0..446; at 0x1B0 the 64-bit little-endian block
//!   address of the second 512-byte block of `eltorito.img` (`LBA * 4 + 4`). No partition table of its own.
//! - `--protective-msdos-label`: partition 1 from block 1 to the end, type 0xEE when a GPT follows (UEFI 2.10,
//!   5.2.3), else bootable type 0xCD.
//! - GPT: 248 entries, so that the primary array fills blocks 2..63 and the first usable block is 64 (the ISO
//!   volume descriptors); the backup array and header are the last 63 blocks; ranges of the ISO no partition
//!   covers become Basic Data partitions named `Gap0`, `Gap1`, ...; partition GUIDs are the disk GUID with byte 9
//!   XORed with the partition number; attributes 0x1000000000000001 (required, read-only) except appended
//!   partitions (0).
//!
//! Deliberate difference from xorriso: the disk GUID (unless given, as `gpt_disk_guid=` gives it) and the MBR
//! signature come from a caller-given seed (the image's time) instead of a random source, so builds are
//! reproducible. With appended partitions, the `-pad` padding follows them, before the backup GPT. As in xorriso, the volume space size should count
//! the cylinder padding and backup GPT but not appended partitions ([`TailPiece::File`] marks where they start).

// Serialisation into buffers this module sizes itself: every index is a constant offset of a fixed-size
// structure or checked against the buffer's length first; no offset is read from an image.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use super::eltorito::{BootError, Result};

/// Bytes in a disk block (the unit of MBR and GPT addresses).
pub const BLOCK: u64 = 512;

/// Bytes in an ISO sector.
pub const SECTOR: u64 = 2048;

/// Bytes in the system area (ECMA-119 6.2.1: logical sectors 0..15).
pub const SYSTEM_AREA: usize = 32768;

/// Entries in each GPT array: 248 entries of 128 bytes fill blocks 2..63 of the system area.
pub const GPT_ENTRIES: u32 = 248;

/// Bytes in a GPT entry.
pub const GPT_ENTRY_SIZE: usize = 128;

/// Blocks the backup GPT takes at the end of the image: 62 blocks of entries and the header.
pub const GPT_BACKUP_BLOCKS: u64 = 63;

/// Sectors reserved at the end for the backup GPT (63 blocks, rounded up to whole ISO sectors).
pub const GPT_BACKUP_SECTORS: u64 = 16;

/// First usable block of the GPT (after the primary array; the ISO volume descriptors start here).
pub const GPT_FIRST_USABLE: u64 = 64;

/// Heads per cylinder of the CHS geometry written into MBR entries.
pub const HEADS: u64 = 64;

/// Sectors per track of the CHS geometry.
pub const SECTORS_PER_TRACK: u64 = 32;

/// Bytes of boot code taken from an isohybrid MBR template.
pub const ISOHYBRID_CODE: usize = 432;

/// Bytes of boot code taken from a GRUB2 hybrid MBR template (everything before the partition table).
pub const GRUB2_CODE: usize = 446;

/// Offset of the boot image address patched into an MBR template.
pub const MBR_BOOT_LBA_OFFSET: usize = 0x1B0;

/// GPT attributes of the partitions describing the ISO (bit 0 required by the platform, bit 60 read-only).
pub const GPT_ATTR_ISO: u64 = 0x1000_0000_0000_0001;

/// A GUID in its on-disk byte order (the first three fields little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Basic Data (EBD0A0A2-B9E5-4433-87C0-68B6B72699C7).
    pub const BASIC_DATA: Guid =
        Guid([0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7]);
    /// EFI System Partition (C12A7328-F81F-11D2-BA4B-00A0C93EC93B).
    pub const EFI_SYSTEM: Guid =
        Guid([0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b]);
    /// Linux filesystem data (0FC63DAF-8483-4772-8E79-3D69D8477DE4).
    pub const LINUX_DATA: Guid =
        Guid([0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4]);

    /// Parses the text form `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (or its 32 hex digits without dashes).
    pub fn parse(text: &str) -> Option<Guid> {
        let hex: String = text.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 || (text.len() != 32 && text.len() != 36) {
            return None;
        }
        let mut b = [0u8; 16];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
        Some(Guid(b))
    }

    /// The GPT type given to a partition of MBR type `t`: EFI System for 0xEF, Basic Data for any other (what
    /// xorriso writes; a GUID type can be given instead).
    pub fn for_mbr_type(t: u8) -> Guid {
        match t {
            0xEF => Guid::EFI_SYSTEM,
            _ => Guid::BASIC_DATA,
        }
    }

    /// A version 4 GUID derived from `seed` (reproducible: the same seed gives the same GUID).
    pub fn from_seed(seed: u64) -> Guid {
        let mut state = seed ^ 0x6f64_6978_2d67_7074; // "odix-gpt"
        let mut b = [0u8; 16];
        for chunk in b.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        b[7] = (b[7] & 0x0f) | 0x40; // version 4 (high nibble of time_hi_and_version, stored little-endian)
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        Guid(b)
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The type of an appended partition (`-append_partition N TYPE FILE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionType {
    /// An MBR type byte (its GPT type follows [`Guid::for_mbr_type`]).
    Mbr(u8),
    /// A GPT type GUID (the MBR entry, if any, gets type 0xDA, non-filesystem data).
    Gpt(Guid),
}

impl PartitionType {
    /// Parses what xorriso accepts: `0xNN` hexadecimal, a decimal byte, a GUID, or one of the names `efi`,
    /// `fat12`, `fat16`, `fat32`, `linux`, `basdat`.
    pub fn parse(text: &str) -> Option<PartitionType> {
        let lower = text.to_ascii_lowercase();
        let named = match lower.as_str() {
            "efi" => Some(0xEF),
            "fat12" => Some(0x01),
            "fat16" => Some(0x06),
            "fat32" => Some(0x0C),
            "linux" => Some(0x83),
            "basdat" => return Some(PartitionType::Gpt(Guid::BASIC_DATA)),
            _ => None,
        };
        if let Some(t) = named {
            return Some(PartitionType::Mbr(t));
        }
        if let Some(hex) = lower.strip_prefix("0x") {
            return u8::from_str_radix(hex, 16).ok().map(PartitionType::Mbr);
        }
        if let Ok(v) = lower.parse::<u8>() {
            return Some(PartitionType::Mbr(v));
        }
        Guid::parse(text).map(PartitionType::Gpt)
    }

    fn mbr(self) -> u8 {
        match self {
            PartitionType::Mbr(t) => t,
            PartitionType::Gpt(_) => 0xDA,
        }
    }

    fn gpt(self) -> Guid {
        match self {
            PartitionType::Mbr(t) => Guid::for_mbr_type(t),
            PartitionType::Gpt(g) => g,
        }
    }
}

/// MBR boot code from a template file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MbrTemplate {
    /// SYSLINUX isohybrid code (`-isohybrid-mbr FILE`): 432 to 512 bytes, the first 432 used.
    Isohybrid(Vec<u8>),
    /// GRUB2 hybrid code (`--grub2-mbr FILE`): 446 to 512 bytes, the first 446 used.
    Grub2(Vec<u8>),
}

/// Where the EFI system partition of `--efi-boot-part` comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EfiBootPart {
    /// No EFI system partition.
    #[default]
    None,
    /// The El Torito EFI boot image inside the ISO (`-efi-boot-part --efi-boot-image`).
    ElToritoImage,
    /// A file appended after the ISO (`-efi-boot-part FILE`), of this many bytes.
    Appended {
        /// Size of the file in bytes.
        len: u64,
    },
}

/// A partition appended after the ISO (`-append_partition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// MBR slot, 1..=4.
    pub number: u8,
    /// Partition type.
    pub ptype: PartitionType,
    /// Size of the file in bytes.
    pub len: u64,
}

/// What the system area and the tail of the image should hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HybridOptions {
    template: Option<MbrTemplate>,
    embedded: Option<Vec<u8>>,
    protective_msdos_label: bool,
    gpt_basdat: bool,
    efi_boot_part: EfiBootPart,
    appended: Vec<Appended>,
    appended_as_gpt: bool,
    partition_offset: u32,
    iso_part_type: Option<u8>,
    force_bootable: bool,
    cylinder_align: Option<bool>,
    seed: u64,
    disk_guid: Option<Guid>,
    tail_padding: u64,
}

impl HybridOptions {
    /// Sets the MBR type of the partition over the ISO (`-iso_mbr_part_type`; default 0x17 isohybrid, 0x00 with
    /// `-isohybrid-gpt-basdat`, 0xCD otherwise).
    #[must_use]
    pub fn iso_part_type(mut self, t: u8) -> Self {
        self.iso_part_type = Some(t);
        self
    }

    /// Pads the image to a whole cylinder (1 MiB) or not (`-partition_cyl_align on|off`); by default only
    /// isohybrid images are aligned, as xorriso does.
    #[must_use]
    pub fn cylinder_align(mut self, on: bool) -> Self {
        self.cylinder_align = Some(on);
        self
    }

    /// Marks MBR partition 1 active when no partition is (`--mbr-force-bootable`).
    #[must_use]
    pub fn force_bootable(mut self, on: bool) -> Self {
        self.force_bootable = on;
        self
    }

    /// Starts the ISO's MBR partition at this 2048-byte sector (`-partition_offset 16`: the partition then holds
    /// its own copy of the volume descriptors and directories, 16 sectors in, which the caller writes).
    #[must_use]
    pub fn partition_offset(mut self, sectors: u32) -> Self {
        self.partition_offset = sectors;
        self
    }

    /// Sets the MBR boot code template.
    #[must_use]
    pub fn template(mut self, template: MbrTemplate) -> Self {
        self.template = Some(template);
        self
    }

    /// Sets the embedded boot file (`-G`): up to 32 KiB copied to the start of the system area, before the
    /// partition tables are written over it.
    #[must_use]
    pub fn embedded(mut self, bytes: Vec<u8>) -> Self {
        self.embedded = Some(bytes);
        self
    }

    /// Writes a protective MBR (`--protective-msdos-label`).
    #[must_use]
    pub fn protective_msdos_label(mut self, on: bool) -> Self {
        self.protective_msdos_label = on;
        self
    }

    /// Adds a GPT naming the ISO and the EFI image Basic Data (`-isohybrid-gpt-basdat`).
    #[must_use]
    pub fn gpt_basdat(mut self, on: bool) -> Self {
        self.gpt_basdat = on;
        self
    }

    /// Adds an EFI system partition to a GPT (`-efi-boot-part`).
    #[must_use]
    pub fn efi_boot_part(mut self, part: EfiBootPart) -> Self {
        self.efi_boot_part = part;
        self
    }

    /// Appends a partition after the ISO (`-append_partition`).
    #[must_use]
    pub fn append(mut self, part: Appended) -> Self {
        self.appended.push(part);
        self
    }

    /// Describes appended partitions in a GPT instead of the MBR (`-appended_part_as_gpt`).
    #[must_use]
    pub fn appended_as_gpt(mut self, on: bool) -> Self {
        self.appended_as_gpt = on;
        self
    }

    /// Sets the seed of the disk GUID and MBR signature (use the image's time for reproducible output).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Writes this disk GUID into the GPT instead of one derived from the seed (xorriso's `-boot_image any
    /// gpt_disk_guid=`); the partition GUIDs are derived from it as from a seeded one.
    #[must_use]
    pub fn disk_guid(mut self, guid: Guid) -> Self {
        self.disk_guid = Some(guid);
        self
    }

    /// Zero sectors after the appended partitions, before the backup GPT: where xorriso puts its `-pad` (300
    /// KiB) when partitions are appended. Without appended partitions this does nothing: the caller pads the
    /// ISO itself, before the cylinder padding.
    #[must_use]
    pub fn tail_padding(mut self, sectors: u64) -> Self {
        self.tail_padding = sectors;
        self
    }

    /// True when files are appended after the ISO (`-append_partition`, `-efi-boot-part FILE`).
    pub fn has_appended(&self) -> bool {
        !self.appended.is_empty() || matches!(self.efi_boot_part, EfiBootPart::Appended { .. })
    }

    /// True when nothing is asked for: the system area stays zero and nothing is appended.
    pub fn is_empty(&self) -> bool {
        self.template.is_none()
            && self.embedded.is_none()
            && !self.protective_msdos_label
            && !self.gpt_basdat
            && self.efi_boot_part == EfiBootPart::None
            && self.appended.is_empty()
    }

    fn has_gpt(&self) -> bool {
        self.gpt_basdat || self.efi_boot_part != EfiBootPart::None || self.appended_as_gpt
    }

    /// The appended files in the order their bytes follow the ISO: the `-efi-boot-part FILE` partition first,
    /// then `-append_partition` requests by slot number.
    fn appended_order(&self) -> Vec<Appended> {
        let mut v = Vec::new();
        if let EfiBootPart::Appended { len } = self.efi_boot_part {
            v.push(Appended { number: 0, ptype: PartitionType::Gpt(Guid::EFI_SYSTEM), len });
        }
        let mut rest = self.appended.clone();
        rest.sort_by_key(|a| a.number);
        v.extend(rest);
        v
    }
}

/// What the plan knows of the ISO when the system area is laid out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// Size of the ISO volume in 2048-byte sectors (everything the writer produces, system area included).
    pub iso_sectors: u64,
    /// LBA of the El Torito BIOS boot image (the default entry), for the MBR templates' patches.
    pub bios_boot_lba: Option<u32>,
    /// LBA and size in bytes of the first El Torito EFI boot image.
    pub efi_image: Option<(u32, u64)>,
    /// LBA and size in bytes of the boot images `-isohybrid-gpt-basdat` marks (it marks the current image: the
    /// EFI image in most command lines, ISOLINUX in archiso's), in catalog order.
    pub basdat_images: Vec<(u32, u64)>,
}

/// One piece of the bytes that follow the ISO volume, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailPiece {
    /// This many zero bytes.
    Zeros(u64),
    /// The contents of an appended file, followed by zero padding to a whole sector.
    File {
        /// Index of the file: 0 is the `-efi-boot-part FILE` partition when there is one, then the
        /// `-append_partition` files in the order of their slot numbers (see [`HybridLayout::appended_files`]).
        index: usize,
        /// Size of the file in bytes.
        len: u64,
        /// Zero bytes after it.
        pad: u64,
    },
    /// Bytes computed here (the backup GPT).
    Bytes(Vec<u8>),
}

/// One MBR partition entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MbrEntry {
    /// 0x80 for the active partition, else 0.
    pub status: u8,
    /// Partition type (0 = unused slot).
    pub ptype: u8,
    /// First 512-byte block.
    pub start: u32,
    /// Length in 512-byte blocks.
    pub blocks: u32,
    /// Write 0xFE 0xFF 0xFF into both CHS fields instead of the computed geometry.
    pub chs_max: bool,
}

/// One GPT entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptEntry {
    /// Partition type.
    pub ptype: Guid,
    /// First 512-byte block.
    pub first: u64,
    /// Last 512-byte block (inclusive).
    pub last: u64,
    /// Attribute bits.
    pub attributes: u64,
    /// Name, at most 36 UTF-16 units.
    pub name: String,
}

/// The system area and tail of a hybrid image, planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HybridLayout {
    system_area: Vec<u8>,
    tail: Vec<TailPiece>,
    total_sectors: u64,
    mbr: [MbrEntry; 4],
    gpt: Vec<GptEntry>,
    appended_files: Vec<Appended>,
}

fn chs(lba: u64) -> [u8; 3] {
    let cyl = lba / (HEADS * SECTORS_PER_TRACK);
    if cyl > 1023 {
        return [0xFE, 0xFF, 0xFF];
    }
    let rem = lba % (HEADS * SECTORS_PER_TRACK);
    let head = rem / SECTORS_PER_TRACK;
    let sector = rem % SECTORS_PER_TRACK + 1;
    [head as u8, (sector as u8 & 0x3F) | (((cyl >> 8) as u8 & 3) << 6), cyl as u8]
}

fn blocks_u32(what: &'static str, v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| BootError::Overflow { what, value: v, max: u64::from(u32::MAX) })
}

impl MbrEntry {
    fn write(&self, out: &mut [u8]) {
        out[0] = self.status;
        if self.ptype == 0 && self.blocks == 0 {
            out[1..16].fill(0);
            return;
        }
        let (first, last) = if self.chs_max {
            ([0xFE, 0xFF, 0xFF], [0xFE, 0xFF, 0xFF])
        } else {
            let end = u64::from(self.start) + u64::from(self.blocks).max(1) - 1;
            (chs(u64::from(self.start)), chs(end))
        };
        out[1..4].copy_from_slice(&first);
        out[4] = self.ptype;
        out[5..8].copy_from_slice(&last);
        out[8..12].copy_from_slice(&self.start.to_le_bytes());
        out[12..16].copy_from_slice(&self.blocks.to_le_bytes());
    }
}

impl GptEntry {
    fn write(&self, disk: Guid, number: u8, out: &mut [u8]) {
        out[0..16].copy_from_slice(&self.ptype.0);
        let mut unique = disk;
        unique.0[9] ^= number;
        out[16..32].copy_from_slice(&unique.0);
        out[32..40].copy_from_slice(&self.first.to_le_bytes());
        out[40..48].copy_from_slice(&self.last.to_le_bytes());
        out[48..56].copy_from_slice(&self.attributes.to_le_bytes());
        for (i, unit) in self.name.encode_utf16().take(36).enumerate() {
            out[56 + 2 * i..58 + 2 * i].copy_from_slice(&unit.to_le_bytes());
        }
    }
}

/// Serialises a GPT header (UEFI 2.10, 5.3.2) into a 512-byte block.
fn gpt_header(
    disk: Guid,
    my_lba: u64,
    alternate: u64,
    last_usable: u64,
    entries_lba: u64,
    entries_crc: u32,
) -> Vec<u8> {
    let mut h = vec![0u8; BLOCK as usize];
    h[0..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes()); // revision 1.0
    h[12..16].copy_from_slice(&92u32.to_le_bytes()); // header size
                                                     // 16..20 header CRC32, computed below; 20..24 reserved
    h[24..32].copy_from_slice(&my_lba.to_le_bytes());
    h[32..40].copy_from_slice(&alternate.to_le_bytes());
    h[40..48].copy_from_slice(&GPT_FIRST_USABLE.to_le_bytes());
    h[48..56].copy_from_slice(&last_usable.to_le_bytes());
    h[56..72].copy_from_slice(&disk.0);
    h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
    h[80..84].copy_from_slice(&GPT_ENTRIES.to_le_bytes());
    h[84..88].copy_from_slice(&(GPT_ENTRY_SIZE as u32).to_le_bytes());
    h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
    let crc = crc32fast::hash(&h[..92]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

impl HybridLayout {
    /// Lays out the system area and the tail for an ISO described by `facts`.
    pub fn plan(opts: &HybridOptions, facts: &ImageFacts) -> Result<HybridLayout> {
        let has_gpt = opts.has_gpt();
        let isohybrid = matches!(opts.template, Some(MbrTemplate::Isohybrid(_)));
        let align_cyl = opts.cylinder_align.unwrap_or(isohybrid);
        let files = opts.appended_order();
        for a in &opts.appended {
            if !(1..=4).contains(&a.number) {
                return Err(BootError::Partition {
                    reason: format!("appended partition number {} is not 1..4", a.number),
                });
            }
            if opts.appended.iter().filter(|b| b.number == a.number).count() > 1 {
                return Err(BootError::Partition { reason: format!("partition {} given twice", a.number) });
            }
        }
        let needs_efi_image = opts.efi_boot_part == EfiBootPart::ElToritoImage;
        if needs_efi_image && facts.efi_image.is_none() {
            return Err(BootError::Partition {
                reason: "--efi-boot-image needs an EFI El Torito image (-e or --efi-boot)".into(),
            });
        }

        for (lba, len) in facts.efi_image.iter().chain(&facts.basdat_images) {
            if u64::from(*lba) + len.div_ceil(SECTOR) > facts.iso_sectors {
                return Err(BootError::Partition {
                    reason: format!(
                        "boot image at LBA {lba} ({len} bytes) lies past the ISO's {} sectors",
                        facts.iso_sectors
                    ),
                });
            }
        }

        // Sizes, in 2048-byte sectors.
        let cylinder_sectors = HEADS * SECTORS_PER_TRACK * BLOCK / SECTOR;
        let mut tail = Vec::new();
        let mut cur = facts.iso_sectors;
        let align = |cur: u64, tail: &mut Vec<TailPiece>| {
            let aligned = cur.div_ceil(cylinder_sectors) * cylinder_sectors;
            if aligned > cur {
                tail.push(TailPiece::Zeros((aligned - cur) * SECTOR));
            }
            aligned
        };
        if align_cyl && (!files.is_empty() || !has_gpt) {
            cur = align(cur, &mut tail);
        }
        let iso_end = cur;
        let mut placed = Vec::new(); // (file, first sector, sectors)
        for (index, a) in files.iter().enumerate() {
            let sectors = a.len.div_ceil(SECTOR);
            tail.push(TailPiece::File { index, len: a.len, pad: sectors * SECTOR - a.len });
            placed.push((*a, cur, sectors));
            cur += sectors;
        }
        if !files.is_empty() && opts.tail_padding > 0 {
            tail.push(TailPiece::Zeros(opts.tail_padding * SECTOR));
            cur += opts.tail_padding;
        }
        if has_gpt {
            cur += GPT_BACKUP_SECTORS;
            if align_cyl && files.is_empty() {
                let aligned = cur.div_ceil(cylinder_sectors) * cylinder_sectors;
                if aligned > cur {
                    tail.push(TailPiece::Zeros((aligned - cur) * SECTOR));
                }
                cur = aligned;
            }
        }
        let total_sectors = cur;
        let total_blocks = total_sectors * 4;
        let last_usable = total_blocks.saturating_sub(GPT_FIRST_USABLE);
        let blocks_of = |(lba, len): (u32, u64)| (u64::from(lba) * 4, len.div_ceil(BLOCK).max(1));
        let efi_blocks = facts.efi_image.map(blocks_of);
        let basdat_blocks: Vec<(u64, u64)> = facts.basdat_images.iter().copied().map(blocks_of).collect();

        // MBR partition table.
        let mut mbr = [MbrEntry::default(); 4];
        let mut has_table = false;
        let offset = u64::from(opts.partition_offset) * 4;
        if isohybrid {
            let end = if files.is_empty() { total_blocks } else { iso_end * 4 };
            mbr[0] = MbrEntry {
                status: 0x80,
                ptype: opts.iso_part_type.unwrap_or(if opts.gpt_basdat { 0x00 } else { 0x17 }),
                start: blocks_u32("partition offset", offset)?,
                blocks: blocks_u32("ISO partition size", end.saturating_sub(offset))?,
                chs_max: false,
            };
            if opts.gpt_basdat {
                // The first three marked images in slots 2..4 (an appended partition's slot takes precedence).
                for (slot, (start, blocks)) in mbr.iter_mut().skip(1).zip(&basdat_blocks) {
                    *slot = MbrEntry {
                        status: 0,
                        ptype: 0xEF,
                        start: blocks_u32("boot image address", *start)?,
                        blocks: blocks_u32("boot image size", *blocks)?,
                        chs_max: true,
                    };
                }
            }
            has_table = true;
        } else if has_gpt {
            mbr[0] = MbrEntry {
                status: 0,
                ptype: 0xEE,
                start: 1,
                blocks: u32::try_from(total_blocks - 1).unwrap_or(u32::MAX),
                chs_max: false,
            };
            has_table = true;
        } else if opts.protective_msdos_label {
            let end = if files.is_empty() { total_blocks } else { iso_end * 4 };
            let start = offset.max(1);
            mbr[0] = MbrEntry {
                status: 0x80,
                ptype: opts.iso_part_type.unwrap_or(0xCD),
                start: blocks_u32("partition offset", start)?,
                blocks: blocks_u32("ISO partition size", end.saturating_sub(start))?,
                chs_max: false,
            };
            has_table = true;
        }
        if !(has_gpt && (opts.appended_as_gpt || !isohybrid)) {
            for (a, first, sectors) in placed.iter().filter(|(a, _, _)| a.number != 0) {
                let slot = usize::from(a.number - 1);
                if isohybrid && slot == 0 {
                    return Err(BootError::Partition {
                        reason: "partition 1 holds the ISO of an isohybrid image: append as 2, 3 or 4".into(),
                    });
                }
                mbr[slot] = MbrEntry {
                    status: 0,
                    ptype: a.ptype.mbr(),
                    start: blocks_u32("appended partition address", first * 4)?,
                    blocks: blocks_u32("appended partition size", sectors * 4)?,
                    chs_max: false,
                };
                has_table = true;
            }
            // Appended partitions without any other table: partition 1 describes the ISO, as xorriso writes it.
            if has_table && mbr[0] == MbrEntry::default() && !isohybrid && !has_gpt {
                mbr[0] = MbrEntry {
                    status: 0,
                    ptype: opts.iso_part_type.unwrap_or(0xCD),
                    start: 0,
                    blocks: blocks_u32("ISO partition size", iso_end * 4)?,
                    chs_max: false,
                };
            }
        }
        // --mbr-force-bootable: the first partition of a type other than 0xEE and 0xEF becomes active; with none
        // (a protective 0xEE entry beside a GPT), a dummy active partition of type 0x00 over the first block
        // takes the first free slot, as xorriso writes it.
        if opts.force_bootable && has_table && !mbr.iter().any(|e| e.status == 0x80) {
            let used = |e: &MbrEntry| e.ptype != 0 || e.blocks != 0;
            if let Some(e) = mbr.iter_mut().find(|e| used(e) && e.ptype != 0xEE && e.ptype != 0xEF) {
                e.status = 0x80;
            } else if let Some(e) = mbr.iter_mut().find(|e| !used(e)) {
                *e = MbrEntry { status: 0x80, ptype: 0x00, start: 0, blocks: 1, chs_max: false };
            }
        }

        // GPT entries.
        let mut gpt = Vec::new();
        if has_gpt {
            if opts.gpt_basdat {
                // Over the whole ISO: up to the appended partitions, else to the end of the usable range.
                let last = if files.is_empty() { last_usable - 1 } else { iso_end * 4 - 1 };
                gpt.push(GptEntry {
                    ptype: Guid::BASIC_DATA,
                    first: offset,
                    last,
                    attributes: GPT_ATTR_ISO,
                    name: "ISOHybrid".into(),
                });
                for (i, (start, blocks)) in basdat_blocks.iter().enumerate() {
                    gpt.push(GptEntry {
                        ptype: Guid::BASIC_DATA,
                        first: *start,
                        last: start + blocks - 1,
                        attributes: GPT_ATTR_ISO,
                        name: format!("ISOHybrid{}", i + 1),
                    });
                }
            } else if let (EfiBootPart::ElToritoImage, Some((start, blocks))) = (opts.efi_boot_part, efi_blocks) {
                gpt.push(GptEntry {
                    ptype: Guid::EFI_SYSTEM,
                    first: start,
                    last: start + blocks - 1,
                    attributes: GPT_ATTR_ISO,
                    name: "EFI boot partition".into(),
                });
            }
            for (a, first, sectors) in &placed {
                let (name, attributes) = if a.number == 0 {
                    ("EFI boot partition".to_string(), GPT_ATTR_ISO)
                } else {
                    (format!("Appended{}", a.number), 0)
                };
                gpt.push(GptEntry {
                    ptype: a.ptype.gpt(),
                    first: first * 4,
                    last: (first + sectors) * 4 - 1,
                    attributes,
                    name,
                });
            }
            if !opts.gpt_basdat {
                gpt.sort_by_key(|e| e.first);
                let mut gaps = Vec::new();
                let mut at = GPT_FIRST_USABLE;
                for e in &gpt {
                    if e.first > at {
                        gaps.push((at, e.first - 1));
                    }
                    at = at.max(e.last + 1);
                }
                // xorriso leaves the last usable block out of the last gap; so does odix, to match its bytes.
                if at < last_usable {
                    gaps.push((at, last_usable - 1));
                }
                for (i, (first, last)) in gaps.into_iter().enumerate() {
                    // With a partition offset the range from it is the ISO partition: xorriso names it so (and
                    // still counts it when numbering the gaps).
                    let name = if offset > 0 && first == offset { "ISO9660".to_string() } else { format!("Gap{i}") };
                    gpt.push(GptEntry { ptype: Guid::BASIC_DATA, first, last, attributes: GPT_ATTR_ISO, name });
                }
                gpt.sort_by_key(|e| e.first);
            }
            if gpt.len() > GPT_ENTRIES as usize {
                return Err(BootError::Partition { reason: format!("{} GPT entries", gpt.len()) });
            }
        }

        // The system area.
        let mut sa = vec![0u8; SYSTEM_AREA];
        if let Some(g) = &opts.embedded {
            if g.len() > SYSTEM_AREA {
                return Err(BootError::SystemArea {
                    reason: format!("embedded boot file of {} bytes is larger than 32768", g.len()),
                });
            }
            sa[..g.len()].copy_from_slice(g);
        }
        match &opts.template {
            Some(MbrTemplate::Isohybrid(code)) => {
                if !(ISOHYBRID_CODE..=BLOCK as usize).contains(&code.len()) {
                    return Err(BootError::SystemArea {
                        reason: format!("isohybrid MBR template of {} bytes: expected 432 to 512", code.len()),
                    });
                }
                let lba = facts.bios_boot_lba.ok_or_else(|| BootError::SystemArea {
                    reason: "-isohybrid-mbr needs a BIOS El Torito boot image (-b)".into(),
                })?;
                sa[..ISOHYBRID_CODE].copy_from_slice(&code[..ISOHYBRID_CODE]);
                sa[432..436].copy_from_slice(&lba.wrapping_mul(4).to_le_bytes());
                sa[436..440].fill(0);
                let signature = splitmix64(&mut opts.seed.clone()) as u32;
                sa[440..444].copy_from_slice(&signature.to_le_bytes());
                sa[444..446].fill(0);
            }
            Some(MbrTemplate::Grub2(code)) => {
                if !(GRUB2_CODE..=BLOCK as usize).contains(&code.len()) {
                    return Err(BootError::SystemArea {
                        reason: format!("GRUB2 MBR template of {} bytes: expected 446 to 512", code.len()),
                    });
                }
                sa[..GRUB2_CODE].copy_from_slice(&code[..GRUB2_CODE]);
                if let Some(lba) = facts.bios_boot_lba {
                    let v = u64::from(lba) * 4 + 4;
                    sa[MBR_BOOT_LBA_OFFSET..MBR_BOOT_LBA_OFFSET + 8].copy_from_slice(&v.to_le_bytes());
                }
                sa[510] = 0x55;
                sa[511] = 0xAA;
            }
            None => {}
        }
        if has_table {
            for (i, e) in mbr.iter().enumerate() {
                e.write(&mut sa[446 + 16 * i..462 + 16 * i]);
            }
            sa[510] = 0x55;
            sa[511] = 0xAA;
        }
        let disk = opts.disk_guid.unwrap_or_else(|| Guid::from_seed(opts.seed));
        if has_gpt {
            let mut entries = vec![0u8; GPT_ENTRIES as usize * GPT_ENTRY_SIZE];
            for (i, e) in gpt.iter().enumerate() {
                e.write(disk, (i + 1) as u8, &mut entries[i * GPT_ENTRY_SIZE..(i + 1) * GPT_ENTRY_SIZE]);
            }
            let crc = crc32fast::hash(&entries);
            let last = total_blocks - 1;
            let backup_entries = total_blocks - GPT_BACKUP_BLOCKS;
            sa[512..1024].copy_from_slice(&gpt_header(disk, 1, last, last_usable, 2, crc));
            sa[1024..1024 + entries.len()].copy_from_slice(&entries);
            // The backup: 64 - 63 = one spare zero block, the array, then the header in the last block.
            let mut backup = vec![0u8; (GPT_BACKUP_SECTORS * SECTOR) as usize];
            let spare = (GPT_BACKUP_SECTORS * 4 - GPT_BACKUP_BLOCKS) as usize * BLOCK as usize;
            backup[spare..spare + entries.len()].copy_from_slice(&entries);
            let hdr = gpt_header(disk, last, 1, last_usable, backup_entries, crc);
            let at = backup.len() - BLOCK as usize;
            backup[at..].copy_from_slice(&hdr);
            tail.push(TailPiece::Bytes(backup));
        }
        Ok(HybridLayout { system_area: sa, tail, total_sectors, mbr, gpt, appended_files: files })
    }

    /// The 32 KiB system area: sectors 0..15 of the image.
    pub fn system_area(&self) -> &[u8] {
        &self.system_area
    }

    /// What follows the ISO volume, in order.
    pub fn tail(&self) -> &[TailPiece] {
        &self.tail
    }

    /// Size of the whole image in 2048-byte sectors, tail included.
    pub fn total_sectors(&self) -> u64 {
        self.total_sectors
    }

    /// Bytes the tail adds after the ISO volume.
    pub fn tail_bytes(&self) -> u64 {
        self.tail
            .iter()
            .map(|p| match p {
                TailPiece::Zeros(n) => *n,
                TailPiece::File { len, pad, .. } => len + pad,
                TailPiece::Bytes(b) => b.len() as u64,
            })
            .sum()
    }

    /// The MBR partition entries written.
    pub fn mbr_entries(&self) -> &[MbrEntry; 4] {
        &self.mbr
    }

    /// The GPT entries written (empty without a GPT).
    pub fn gpt_entries(&self) -> &[GptEntry] {
        &self.gpt
    }

    /// The appended files, indexed as [`TailPiece::File::index`] counts them (number 0 is the
    /// `-efi-boot-part FILE` partition).
    pub fn appended_files(&self) -> &[Appended] {
        &self.appended_files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn isohdpfx() -> Vec<u8> {
        vec![0x33; 432]
    }

    /// `-isohybrid-mbr isohdpfx.bin` with `isolinux.bin` at LBA 34 on a 1 MiB image: the table xorriso writes.
    #[test]
    fn isohybrid_matches_xorriso() {
        let opts = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx()));
        let facts = ImageFacts { iso_sectors: 183, bios_boot_lba: Some(34), efi_image: None, ..Default::default() };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let sa = l.system_area();
        assert_eq!(&sa[432..440], &[0x88, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&sa[446..462], &[0x80, 0x00, 0x01, 0x00, 0x17, 0x3f, 0x20, 0x00, 0, 0, 0, 0, 0x00, 0x08, 0, 0]);
        assert!(sa[462..510].iter().all(|&b| b == 0));
        assert_eq!(&sa[510..512], &[0x55, 0xAA]);
        assert_eq!(l.total_sectors(), 512);
        assert_eq!(l.tail(), &[TailPiece::Zeros((512 - 183) * 2048)]);
        assert!(sa[512..].iter().all(|&b| b == 0));
    }

    /// `-isohybrid-mbr ... -e efi.img -isohybrid-gpt-basdat` with the EFI image at LBA 34: the MBR xorriso writes
    /// on a 4 MiB image, and its GPT layout.
    #[test]
    fn isohybrid_gpt_basdat_matches_xorriso() {
        let opts = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).gpt_basdat(true);
        let facts = ImageFacts {
            iso_sectors: 1600,
            bios_boot_lba: Some(1474),
            efi_image: Some((34, 2_949_120)),
            basdat_images: vec![(34, 2_949_120)],
        };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let sa = l.system_area();
        assert_eq!(&sa[432..436], &(1474u32 * 4).to_le_bytes());
        assert_eq!(
            &sa[446..478],
            &[
                0x80, 0x00, 0x01, 0x00, 0x00, 0x3f, 0x20, 0x03, 0, 0, 0, 0, 0x00, 0x20, 0, 0, //
                0x00, 0xfe, 0xff, 0xff, 0xef, 0xfe, 0xff, 0xff, 0x88, 0, 0, 0, 0x80, 0x16, 0, 0,
            ]
        );
        assert_eq!(l.total_sectors(), 2048);
        let g = l.gpt_entries();
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].first, g[0].last, g[0].name.as_str()), (0, 8127, "ISOHybrid"));
        assert_eq!((g[1].first, g[1].last, g[1].name.as_str()), (136, 136 + 5759, "ISOHybrid1"));
        check_gpt(&l);
    }

    fn check_gpt(l: &HybridLayout) {
        let sa = l.system_area();
        let total = l.total_sectors() * 4;
        let h = &sa[512..1024];
        assert_eq!(&h[..8], b"EFI PART");
        let mut z = h[..92].to_vec();
        z[16..20].fill(0);
        assert_eq!(crc32fast::hash(&z).to_le_bytes(), h[16..20]);
        assert_eq!(u64::from_le_bytes(h[32..40].try_into().unwrap()), total - 1);
        assert_eq!(u64::from_le_bytes(h[40..48].try_into().unwrap()), 64);
        assert_eq!(u64::from_le_bytes(h[48..56].try_into().unwrap()), total - 64);
        assert_eq!(crc32fast::hash(&sa[1024..32768]).to_le_bytes(), h[88..92]);
        let Some(TailPiece::Bytes(backup)) = l.tail().last() else { panic!("no backup GPT") };
        assert_eq!(backup.len(), 32768);
        assert_eq!(&backup[512..32256], &sa[1024..32768]);
        let b = &backup[32256..];
        assert_eq!(&b[..8], b"EFI PART");
        assert_eq!(u64::from_le_bytes(b[24..32].try_into().unwrap()), total - 1);
        assert_eq!(u64::from_le_bytes(b[32..40].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(b[72..80].try_into().unwrap()), total - 63);
        assert_eq!(&b[56..72], &h[56..72]);
    }

    /// grub-mkrescue's `--grub2-mbr boot_hybrid.img --efi-boot efi.img -efi-boot-part --efi-boot-image
    /// --protective-msdos-label` with eltorito.img at LBA 2859 and efi.img at LBA 72.
    #[test]
    fn grub2_protective_gpt_matches_xorriso() {
        let code = vec![0x44; 512];
        let opts = HybridOptions::default()
            .template(MbrTemplate::Grub2(code))
            .efi_boot_part(EfiBootPart::ElToritoImage)
            .protective_msdos_label(true);
        let facts = ImageFacts {
            iso_sectors: 9766,
            bios_boot_lba: Some(2859),
            efi_image: Some((72, 2_949_120)),
            ..Default::default()
        };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let sa = l.system_area();
        assert_eq!(&sa[0x1b0..0x1b8], &11440u64.to_le_bytes());
        assert_eq!(l.total_sectors(), 9782);
        assert_eq!(&sa[446..462], &[0x00, 0x00, 0x02, 0x00, 0xee, 0x06, 0x18, 0x13, 1, 0, 0, 0, 0xd7, 0x98, 0, 0]);
        assert_eq!(&sa[510..512], &[0x55, 0xAA]);
        let g = l.gpt_entries();
        let got: Vec<_> = g.iter().map(|e| (e.name.as_str(), e.first, e.last - e.first + 1)).collect();
        assert_eq!(got, [("Gap0", 64, 224), ("EFI boot partition", 288, 5760), ("Gap1", 6048, 33016)]);
        assert_eq!(g[1].ptype, Guid::EFI_SYSTEM);
        check_gpt(&l);
        // Partition GUIDs are the disk GUID with byte 9 XORed with the number.
        let disk = &sa[512 + 56..512 + 72];
        let p2 = &sa[1024 + 128 + 16..1024 + 128 + 32];
        assert_eq!(p2[9], disk[9] ^ 2);
        assert_eq!(&sa[1024 + 128 + 56..1024 + 128 + 62], &[b'E', 0, b'F', 0, b'I', 0]);
    }

    /// xorriso's `-append_partition 2 0xef FILE` on an isohybrid image, with a 1000000-byte file: here the ISO
    /// ends at the first cylinder boundary (block 2048) instead of xorriso's 8192.
    #[test]
    fn appended_partitions() {
        let opts = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).append(Appended {
            number: 2,
            ptype: PartitionType::Mbr(0xef),
            len: 1_000_000,
        });
        let facts = ImageFacts { iso_sectors: 200, bios_boot_lba: Some(34), efi_image: None, ..Default::default() };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let sa = l.system_area();
        assert_eq!(
            &sa[462..478],
            &[0x00, 0x00, 0x01, 0x01, 0xef, 0x3d, 0x04, 0x01, 0x00, 0x08, 0, 0, 0xa4, 0x07, 0, 0]
        );
        assert_eq!(&sa[446 + 12..446 + 16], &2048u32.to_le_bytes());
        assert_eq!(
            l.tail(),
            &[TailPiece::Zeros(312 * 2048), TailPiece::File { index: 0, len: 1_000_000, pad: 489 * 2048 - 1_000_000 }]
        );
        assert_eq!(l.total_sectors(), 512 + 489);
        let bad = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).append(Appended {
            number: 1,
            ptype: PartitionType::Mbr(0xef),
            len: 10,
        });
        assert!(HybridLayout::plan(&bad, &facts).is_err());
    }

    /// `-isohybrid-gpt-basdat -append_partition 2 0xef FILE`: the appended partition is in the MBR and the GPT,
    /// and the ISOHybrid partition stops where it starts, as xorriso writes them.
    #[test]
    fn basdat_with_appended_partition() {
        let opts = HybridOptions::default()
            .template(MbrTemplate::Isohybrid(isohdpfx()))
            .gpt_basdat(true)
            .append(Appended { number: 2, ptype: PartitionType::Mbr(0xef), len: 1_000_000 });
        let facts = ImageFacts { iso_sectors: 200, bios_boot_lba: Some(34), efi_image: None, ..Default::default() };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let got: Vec<_> = l.gpt_entries().iter().map(|e| (e.name.as_str(), e.first, e.last, e.attributes)).collect();
        assert_eq!(got, [("ISOHybrid", 0, 2047, GPT_ATTR_ISO), ("Appended2", 2048, 2048 + 1955, 0)]);
        let e = l.mbr_entries()[1];
        assert_eq!((e.ptype, e.start, e.blocks), (0xef, 2048, 1956));
        check_gpt(&l);
    }

    /// memtest86+x64.iso (Debian): `--grub2-mbr ... --mbr-force-bootable -append_partition 2 0xef FILE
    /// -iso_mbr_part_type 0x00` on a 826-sector ISO: the table xorriso wrote.
    #[test]
    fn grub2_with_appended_partition_matches_memtest() {
        let opts = HybridOptions::default()
            .template(MbrTemplate::Grub2(vec![0x44; 446]))
            .force_bootable(true)
            .iso_part_type(0)
            .append(Appended { number: 2, ptype: PartitionType::Mbr(0xef), len: 8192 * 512 });
        let facts = ImageFacts { iso_sectors: 826, bios_boot_lba: Some(40), efi_image: None, ..Default::default() };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        assert_eq!(
            &l.system_area()[446..478],
            &[
                0x80, 0x00, 0x01, 0x00, 0x00, 0x27, 0x08, 0x01, 0, 0, 0, 0, 0xe8, 0x0c, 0, 0, //
                0x00, 0x27, 0x09, 0x01, 0xef, 0x27, 0x08, 0x05, 0xe8, 0x0c, 0, 0, 0x00, 0x20, 0, 0,
            ]
        );
    }

    #[test]
    fn appended_as_gpt_and_efi_file() {
        let opts = HybridOptions::default().efi_boot_part(EfiBootPart::Appended { len: 4096 }).append(Appended {
            number: 3,
            ptype: PartitionType::Mbr(0x83),
            len: 100,
        });
        let facts = ImageFacts { iso_sectors: 112, ..Default::default() };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let got: Vec<_> = l.gpt_entries().iter().map(|e| (e.name.as_str(), e.first, e.last)).collect();
        assert_eq!(got, [("Gap0", 64, 447), ("EFI boot partition", 448, 455), ("Appended3", 456, 459)]);
        assert_eq!(l.gpt_entries()[2].ptype, Guid::BASIC_DATA);
        assert_eq!(l.mbr_entries()[0].ptype, 0xEE);
        check_gpt(&l);
    }

    /// archiso's line (`-isohybrid-mbr --mbr-force-bootable -partition_offset 16 -append_partition 2 ESP FILE
    /// -isohybrid-gpt-basdat` after `-b isolinux.bin`) on a small tree: what xorriso 1.5.4 wrote (ISOLINUX at LBA
    /// 59, a 1440 KiB FAT image): the GPT's ISO partition starts at the partition offset, ISOLINUX gets a GPT
    /// partition and not an MBR one (slot 2 is the appended partition's), the 300 KiB padding follows the
    /// appended partition, and the whole image is 5592 blocks.
    #[test]
    fn archiso_layout_matches_xorriso() {
        let opts = HybridOptions::default()
            .template(MbrTemplate::Isohybrid(isohdpfx()))
            .force_bootable(true)
            .partition_offset(16)
            .append(Appended { number: 2, ptype: PartitionType::Mbr(0xEF), len: 1_474_560 })
            .gpt_basdat(true)
            .tail_padding(150);
        let facts =
            ImageFacts { iso_sectors: 200, bios_boot_lba: Some(59), efi_image: None, basdat_images: vec![(59, 38912)] };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        assert_eq!(l.total_sectors() * 4, 5592);
        let mbr: Vec<_> = l.mbr_entries().iter().map(|e| (e.status, e.ptype, e.start, e.blocks)).collect();
        assert_eq!(mbr, [(0x80, 0x00, 64, 1984), (0, 0xEF, 2048, 2880), (0, 0, 0, 0), (0, 0, 0, 0)]);
        let gpt: Vec<_> = l.gpt_entries().iter().map(|e| (e.name.as_str(), e.first, e.last, e.ptype)).collect();
        assert_eq!(
            gpt,
            [
                ("ISOHybrid", 64, 2047, Guid::BASIC_DATA),
                ("ISOHybrid1", 236, 311, Guid::BASIC_DATA),
                ("Appended2", 2048, 4927, Guid::EFI_SYSTEM)
            ]
        );
        check_gpt(&l);
        // Without appended partitions the padding is the caller's: nothing after the ISO but the alignment.
        let plain = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).tail_padding(150);
        assert_eq!(HybridLayout::plan(&plain, &facts).unwrap().total_sectors(), 512);
    }

    /// `-isohybrid-gpt-basdat` after `-b` and again after `-e`: both images in the GPT and in MBR slots 2 and 3,
    /// as xorriso writes them (ISOLINUX at LBA 34, a 1440 KiB EFI image at LBA 53, a 1024-sector image).
    #[test]
    fn two_basdat_images() {
        let opts = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).gpt_basdat(true);
        let facts = ImageFacts {
            iso_sectors: 900,
            bios_boot_lba: Some(34),
            efi_image: Some((53, 1_474_560)),
            basdat_images: vec![(34, 38912), (53, 1_474_560)],
        };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let mbr: Vec<_> = l.mbr_entries().iter().map(|e| (e.status, e.ptype, e.start, e.blocks)).collect();
        assert_eq!(mbr, [(0x80, 0, 0, 4096), (0, 0xEF, 136, 76), (0, 0xEF, 212, 2880), (0, 0, 0, 0)]);
        let gpt: Vec<_> = l.gpt_entries().iter().map(|e| (e.name.as_str(), e.first, e.last)).collect();
        assert_eq!(gpt, [("ISOHybrid", 0, 4031), ("ISOHybrid1", 136, 211), ("ISOHybrid2", 212, 3091)]);
        check_gpt(&l);
    }

    /// Ubuntu's line (`--grub2-mbr --protective-msdos-label --mbr-force-bootable -append_partition 2 ESP
    /// -appended_part_as_gpt`): the protective 0xEE entry stays inactive and a dummy active entry of type 0x00
    /// over block 0 follows it; these are the bytes xorriso 1.5.4 wrote for a 6748-block image.
    #[test]
    fn force_bootable_beside_a_gpt_matches_xorriso() {
        let opts = HybridOptions::default()
            .template(MbrTemplate::Grub2(vec![0x44; 446]))
            .protective_msdos_label(true)
            .cylinder_align(false)
            .partition_offset(16)
            .force_bootable(true)
            .append(Appended { number: 2, ptype: PartitionType::Gpt(Guid::EFI_SYSTEM), len: 2_949_120 })
            .appended_as_gpt(true)
            .iso_part_type(0xa2)
            .tail_padding(150);
        let facts = ImageFacts { iso_sectors: 81, bios_boot_lba: Some(40), ..Default::default() };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        assert_eq!(l.total_sectors() * 4, 6748);
        let sa = l.system_area();
        assert_eq!(&sa[446..462], &[0, 0, 2, 0, 0xee, 0x12, 0x1c, 0x03, 1, 0, 0, 0, 0x5b, 0x1a, 0, 0]);
        assert_eq!(&sa[462..478], &[0x80, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert!(sa[478..510].iter().all(|b| *b == 0));
        let gpt: Vec<_> = l.gpt_entries().iter().map(|e| (e.name.as_str(), e.first, e.last)).collect();
        assert_eq!(gpt, [("ISO9660", 64, 323), ("Appended2", 324, 6083), ("Gap1", 6084, 6683)]);
        check_gpt(&l);
    }

    /// `-boot_image any gpt_disk_guid=`: the disk GUID as given; partition N's GUID has byte 9 XORed with N
    /// (NixOS's line through xorriso 1.5.4 gave 8a6f32d4c0a5533e9c5bb0d3ac2ff1e8 for partition 1).
    #[test]
    fn literal_disk_guid() {
        let g = [0x8a, 0x6f, 0x32, 0xd4, 0xc0, 0xa5, 0x53, 0x3e, 0x9c, 0x5a, 0xb0, 0xd3, 0xac, 0x2f, 0xf1, 0xe8];
        let opts = HybridOptions::default()
            .template(MbrTemplate::Isohybrid(isohdpfx()))
            .gpt_basdat(true)
            .disk_guid(Guid(g))
            .seed(7);
        let facts = ImageFacts {
            iso_sectors: 1600,
            bios_boot_lba: Some(1474),
            efi_image: Some((34, 2_949_120)),
            basdat_images: vec![(34, 2_949_120)],
        };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let sa = l.system_area();
        assert_eq!(sa[512 + 56..512 + 72], g);
        let mut p1 = g;
        p1[9] = 0x5b;
        assert_eq!(sa[1024 + 16..1024 + 32], p1);
        check_gpt(&l);
    }

    /// `-isohybrid-mbr -append_partition 2 0xef FILE` (1440 KiB) on an 800-sector ISO: xorriso 1.5.4 wrote 1894
    /// sectors (the ISO aligned to 1024, the partition, then the 150 sectors of -pad), 1744 with -no-pad.
    #[test]
    fn padding_follows_appended_partitions() {
        let facts = ImageFacts { iso_sectors: 800, bios_boot_lba: Some(34), ..Default::default() };
        let opts = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).append(Appended {
            number: 2,
            ptype: PartitionType::Mbr(0xEF),
            len: 1_474_560,
        });
        assert_eq!(HybridLayout::plan(&opts.clone().tail_padding(150), &facts).unwrap().total_sectors(), 1894);
        assert_eq!(HybridLayout::plan(&opts, &facts).unwrap().total_sectors(), 1744);
        // Without appended partitions the padding is the caller's, inside the ISO.
        let plain = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).tail_padding(150);
        assert_eq!(HybridLayout::plan(&plain, &facts).unwrap().total_sectors(), 1024);
    }

    /// `-partition_offset 16 -isohybrid-gpt-basdat`: the GPT's ISO partition starts at the offset (block 64),
    /// as xorriso's MBR partition 1 does.
    #[test]
    fn basdat_partition_offset() {
        let opts = HybridOptions::default()
            .template(MbrTemplate::Isohybrid(isohdpfx()))
            .gpt_basdat(true)
            .partition_offset(16)
            .append(Appended { number: 2, ptype: PartitionType::Mbr(0xEF), len: 1_474_560 });
        let facts = ImageFacts { iso_sectors: 200, bios_boot_lba: Some(59), ..Default::default() };
        let l = HybridLayout::plan(&opts, &facts).unwrap();
        let gpt: Vec<_> = l.gpt_entries().iter().map(|e| (e.name.as_str(), e.first, e.last)).collect();
        assert_eq!(gpt, [("ISOHybrid", 64, 2047), ("Appended2", 2048, 4927)]);
        check_gpt(&l);
    }

    #[test]
    fn cylinder_alignment_is_optional() {
        let facts = ImageFacts { iso_sectors: 300, bios_boot_lba: Some(50), efi_image: None, ..Default::default() };
        let off = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).cylinder_align(false);
        assert_eq!(HybridLayout::plan(&off, &facts).unwrap().total_sectors(), 300);
        let on = HybridOptions::default().protective_msdos_label(true).cylinder_align(true);
        assert_eq!(HybridLayout::plan(&on, &facts).unwrap().total_sectors(), 512);
    }

    /// `-partition_offset 16` with an isohybrid MBR: partition 1 from block 64, as xorriso writes it.
    #[test]
    fn partition_offset() {
        let opts = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).partition_offset(16);
        let l = HybridLayout::plan(
            &opts,
            &ImageFacts { iso_sectors: 300, bios_boot_lba: Some(50), efi_image: None, ..Default::default() },
        )
        .unwrap();
        let e = l.mbr_entries()[0];
        assert_eq!((e.status, e.ptype, e.start, e.blocks), (0x80, 0x17, 64, 1984));
        assert_eq!(&l.system_area()[446..462], &[0x80, 2, 1, 0, 0x17, 0x3f, 0x20, 0, 0x40, 0, 0, 0, 0xc0, 7, 0, 0]);
    }

    #[test]
    fn protective_label_alone() {
        let opts = HybridOptions::default().protective_msdos_label(true);
        let l = HybridLayout::plan(&opts, &ImageFacts { iso_sectors: 262, ..Default::default() }).unwrap();
        let e = l.mbr_entries()[0];
        assert_eq!((e.status, e.ptype, e.start, e.blocks), (0x80, 0xCD, 1, 1047));
        assert!(l.tail().is_empty());
    }

    #[test]
    fn templates_are_checked() {
        let facts = ImageFacts { iso_sectors: 100, bios_boot_lba: None, efi_image: None, ..Default::default() };
        let o = HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx()));
        assert!(HybridLayout::plan(&o, &facts).is_err(), "isohybrid needs -b");
        let o = HybridOptions::default().template(MbrTemplate::Grub2(vec![0; 100]));
        assert!(HybridLayout::plan(&o, &facts).is_err());
        let o = HybridOptions::default().embedded(vec![1; 40000]);
        assert!(HybridLayout::plan(&o, &facts).is_err());
        let o = HybridOptions::default().embedded(vec![1; 30000]);
        let l = HybridLayout::plan(&o, &facts).unwrap();
        assert_eq!(l.system_area()[29999], 1);
        let o = HybridOptions::default().efi_boot_part(EfiBootPart::ElToritoImage);
        assert!(HybridLayout::plan(&o, &facts).is_err(), "--efi-boot-image needs -e");
    }

    proptest::proptest! {
        /// What odix writes, the crate's own MBR and GPT readers (a separate implementation) read back: both GPT
        /// headers with good CRCs pointing at each other, the same entries in both arrays.
        #[test]
        fn partition_tables_round_trip(
            iso in 100u64..50_000,
            efi_at in 20u32..90,
            efi_len in 1u64..20_000_000,
            appended in proptest::collection::vec((1u8..5, 1u64..5_000_000), 0..3),
            variant in 0u8..4,
            seed in proptest::prelude::any::<u64>(),
        ) {
            use crate::format::hybrid::{parse_gpt_entries, parse_gpt_header, parse_mbr};
            let mut opts = match variant {
                0 => HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())).gpt_basdat(true),
                1 => HybridOptions::default().template(MbrTemplate::Isohybrid(isohdpfx())),
                2 => HybridOptions::default().efi_boot_part(EfiBootPart::ElToritoImage).protective_msdos_label(true),
                _ => HybridOptions::default().efi_boot_part(EfiBootPart::ElToritoImage).appended_as_gpt(true),
            }
            .seed(seed);
            let mut numbers = std::collections::BTreeSet::new();
            for (n, len) in appended {
                if n != 1 && numbers.insert(n) {
                    opts = opts.append(Appended { number: n, ptype: PartitionType::Mbr(0x83), len });
                }
            }
            let iso = iso.max(u64::from(efi_at) + efi_len.div_ceil(SECTOR));
            let facts = ImageFacts { iso_sectors: iso, bios_boot_lba: Some(efi_at + 1), efi_image: Some((efi_at, efi_len)), basdat_images: vec![(efi_at, efi_len)] };
            let l = HybridLayout::plan(&opts, &facts).unwrap();
            let sa = l.system_area();
            let mbr = parse_mbr(sa).unwrap();
            let used: Vec<_> = l.mbr_entries().iter().enumerate().filter(|(_, e)| e.ptype != 0 || e.blocks != 0).collect();
            proptest::prop_assert_eq!(mbr.len(), used.len());
            for (got, (i, want)) in mbr.iter().zip(&used) {
                proptest::prop_assert_eq!(usize::from(got.index), i + 1);
                proptest::prop_assert_eq!((got.status, got.partition_type, got.start_lba, got.sectors), (want.status, want.ptype, want.start, want.blocks));
            }
            if l.gpt_entries().is_empty() {
                return Ok(());
            }
            let total = l.total_sectors() * 4;
            let h = parse_gpt_header(&sa[512..1024]).unwrap();
            proptest::prop_assert!(h.crc_ok);
            proptest::prop_assert_eq!((h.current_lba, h.backup_lba, h.entries_lba), (1, total - 1, 2));
            let primary = parse_gpt_entries(&sa[1024..], &h);
            let Some(TailPiece::Bytes(backup)) = l.tail().last() else { panic!("no backup GPT") };
            let b = parse_gpt_header(&backup[backup.len() - 512..]).unwrap();
            proptest::prop_assert!(b.crc_ok);
            proptest::prop_assert_eq!((b.current_lba, b.backup_lba, b.entries_lba), (total - 1, 1, total - 63));
            proptest::prop_assert_eq!(b.entries_crc, h.entries_crc);
            let off = (b.entries_lba - (total - 64)) as usize * 512;
            let secondary = parse_gpt_entries(&backup[off..], &b);
            proptest::prop_assert_eq!(&primary, &secondary);
            proptest::prop_assert_eq!(primary.len(), l.gpt_entries().len());
            for (got, want) in primary.iter().zip(l.gpt_entries()) {
                proptest::prop_assert_eq!(got.type_guid, want.ptype.0);
                proptest::prop_assert_eq!((got.first_lba, got.last_lba, got.attributes), (want.first, want.last, want.attributes));
                proptest::prop_assert_eq!(&got.name, &want.name);
                proptest::prop_assert!(got.last_lba < total - 63 || got.first_lba == 0);
            }
        }
    }

    #[test]
    fn guids_and_types() {
        assert_eq!(Guid::parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"), Some(Guid::EFI_SYSTEM));
        assert_eq!(Guid::parse("ebd0a0a2b9e5443387c068b6b72699c7"), Some(Guid::BASIC_DATA));
        assert_eq!(Guid::parse("xyz"), None);
        assert_eq!(PartitionType::parse("0xef"), Some(PartitionType::Mbr(0xEF)));
        assert_eq!(PartitionType::parse("131"), Some(PartitionType::Mbr(0x83)));
        assert_eq!(
            PartitionType::parse("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
            Some(PartitionType::Gpt(Guid::LINUX_DATA))
        );
        assert_eq!(Guid::from_seed(7), Guid::from_seed(7));
        assert_ne!(Guid::from_seed(7), Guid::from_seed(8));
        assert_eq!(Guid::from_seed(7).0[7] >> 4, 4);
        assert_eq!(chs(0), [0, 1, 0]);
        assert_eq!(chs(39127), [6, 0x18, 0x13]);
        assert_eq!(chs(5_000_000), [0xFE, 0xFF, 0xFF]);
    }
}

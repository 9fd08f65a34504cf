//! The system area (the first 16 sectors, ECMA-119 6.2.1), where hybrid images keep a partition table so
//! that the same image boots from a USB stick:
//! - an MBR (partition table at byte 446, signature `55 AA` at 510);
//! - a GPT (UEFI 2.10 5.3: header at 512-byte LBA 1, entries usually from LBA 2, a backup header at the
//!   disk's end);
//! - an Apple partition map (Inside Macintosh: Devices, driver descriptor `ER` at 0, map entries `PM` in the
//!   blocks after it).

use super::{array, be16, be32, bytes, le32, le64, u8_at};

/// One used MBR partition entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MbrPartition {
    /// Slot 1 ..= 4.
    pub index: u8,
    /// Status byte (`0x80` active).
    pub status: u8,
    /// Partition type (`0xEE` protective GPT, `0xEF` EFI system, `0x17`, `0xCD`, `0x00` on isohybrids).
    pub partition_type: u8,
    /// First 512-byte sector.
    pub start_lba: u32,
    /// Size in 512-byte sectors.
    pub sectors: u32,
}

/// Parses the MBR in the first 512 bytes; `None` without the `55 AA` signature.
pub fn parse_mbr(sector0: &[u8]) -> Option<Vec<MbrPartition>> {
    if bytes(sector0, 510, 2)? != [0x55, 0xAA] {
        return None;
    }
    let mut out = Vec::new();
    for index in 0u8..4 {
        let e = bytes(sector0, 446usize.checked_add(usize::from(index).checked_mul(16)?)?, 16)?;
        let p = MbrPartition {
            index: index.checked_add(1)?,
            status: u8_at(e, 0)?,
            partition_type: u8_at(e, 4)?,
            start_lba: le32(e, 8)?,
            sectors: le32(e, 12)?,
        };
        if p.partition_type != 0 || p.sectors != 0 || p.start_lba != 0 {
            out.push(p);
        }
    }
    Some(out)
}

/// A GPT header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptHeader {
    /// Revision (`0x00010000`).
    pub revision: u32,
    /// Header size in bytes.
    pub header_size: u32,
    /// Whether the header's CRC32 matches.
    pub crc_ok: bool,
    /// The 512-byte LBA of this header.
    pub current_lba: u64,
    /// The 512-byte LBA of the other (backup) header.
    pub backup_lba: u64,
    /// First usable 512-byte LBA.
    pub first_usable: u64,
    /// Last usable 512-byte LBA.
    pub last_usable: u64,
    /// Disk GUID.
    pub disk_guid: [u8; 16],
    /// 512-byte LBA of the partition entries.
    pub entries_lba: u64,
    /// Number of partition entries.
    pub num_entries: u32,
    /// Size of one entry in bytes.
    pub entry_size: u32,
    /// CRC32 of the entry array.
    pub entries_crc: u32,
}

/// The most header bytes covered by the CRC that this parser accepts (one 512-byte sector).
const GPT_MAX_HEADER: usize = 512;

/// Parses a GPT header from a 512-byte sector; `None` without the `EFI PART` signature.
pub fn parse_gpt_header(s: &[u8]) -> Option<GptHeader> {
    if bytes(s, 0, 8)? != b"EFI PART" {
        return None;
    }
    let header_size = le32(s, 12)?;
    let covered = usize::try_from(header_size).ok().filter(|&n| (92..=GPT_MAX_HEADER).contains(&n));
    let crc_ok = covered.and_then(|n| bytes(s, 0, n)).is_some_and(|h| {
        let mut copy = h.to_vec();
        if let Some(f) = copy.get_mut(16..20) {
            f.fill(0);
        }
        Some(crc32fast::hash(&copy)) == le32(s, 16)
    });
    Some(GptHeader {
        revision: le32(s, 8)?,
        header_size,
        crc_ok,
        current_lba: le64(s, 24)?,
        backup_lba: le64(s, 32)?,
        first_usable: le64(s, 40)?,
        last_usable: le64(s, 48)?,
        disk_guid: array::<16>(s, 56)?,
        entries_lba: le64(s, 72)?,
        num_entries: le32(s, 80)?,
        entry_size: le32(s, 84)?,
        entries_crc: le32(s, 88)?,
    })
}

/// One used GPT partition entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptPartition {
    /// 1-based slot.
    pub index: u32,
    /// Partition type GUID.
    pub type_guid: [u8; 16],
    /// Unique partition GUID.
    pub guid: [u8; 16],
    /// First 512-byte LBA.
    pub first_lba: u64,
    /// Last 512-byte LBA (inclusive).
    pub last_lba: u64,
    /// Attribute bits.
    pub attributes: u64,
    /// Name (UTF-16LE, up to 36 units).
    pub name: String,
}

/// Parses the used entries of a GPT entry array `buf` described by `h`.
pub fn parse_gpt_entries(buf: &[u8], h: &GptHeader) -> Vec<GptPartition> {
    let size = usize::try_from(h.entry_size).unwrap_or(0);
    if size < 128 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, e) in buf.chunks_exact(size).take(usize::try_from(h.num_entries).unwrap_or(0)).enumerate() {
        let Some(type_guid) = array::<16>(e, 0) else { break };
        if type_guid == [0; 16] {
            continue;
        }
        let units: Vec<u16> = bytes(e, 56, 72)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|c| super::le16(c, 0).unwrap_or(0))
            .take_while(|&u| u != 0)
            .collect();
        out.push(GptPartition {
            index: u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1),
            type_guid,
            guid: array::<16>(e, 16).unwrap_or_default(),
            first_lba: le64(e, 32).unwrap_or(0),
            last_lba: le64(e, 40).unwrap_or(0),
            attributes: le64(e, 48).unwrap_or(0),
            name: String::from_utf16_lossy(&units),
        });
    }
    out
}

/// A GUID in its usual text form (the first three groups little-endian).
pub fn guid_string(g: &[u8; 16]) -> String {
    format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]
    )
}

/// One Apple partition map entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApmPartition {
    /// 1-based slot.
    pub index: u32,
    /// First block (of the map's block size).
    pub start_block: u32,
    /// Size in blocks.
    pub blocks: u32,
    /// Partition name.
    pub name: String,
    /// Partition type (`Apple_HFS`, `Apple_partition_map`, ...).
    pub partition_type: String,
}

/// Parses an Apple partition map from the system area; `None` without the `ER` driver descriptor.
/// Returns the block size and the entries (at most `max` of them).
pub fn parse_apm(area: &[u8], max: usize) -> Option<(u16, Vec<ApmPartition>)> {
    if bytes(area, 0, 2)? != b"ER" {
        return None;
    }
    let block = be16(area, 2)?;
    if !matches!(block, 512 | 1024 | 2048) {
        return None;
    }
    let bs = usize::from(block);
    let mut out = Vec::new();
    let mut count = 1u32;
    let mut i = 1u32;
    while i <= count && out.len() < max {
        let e = bytes(area, bs.checked_mul(usize::try_from(i).ok()?)?, 80)?;
        if bytes(e, 0, 2)? != b"PM" {
            break;
        }
        count = be32(e, 4)?;
        let text = |o: usize| super::identifier_text(bytes(e, o, 32).unwrap_or_default());
        out.push(ApmPartition {
            index: i,
            start_block: be32(e, 8)?,
            blocks: be32(e, 12)?,
            name: text(16),
            partition_type: text(48),
        });
        i = i.checked_add(1)?;
    }
    Some((block, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbr() {
        let mut s = vec![0u8; 512];
        assert_eq!(parse_mbr(&s), None);
        s[510] = 0x55;
        s[511] = 0xAA;
        s[446] = 0x80;
        s[450] = 0x17;
        s[458..462].copy_from_slice(&4096u32.to_le_bytes());
        let p = parse_mbr(&s).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].index, p[0].status, p[0].partition_type, p[0].sectors), (1, 0x80, 0x17, 4096));
    }

    #[test]
    fn gpt_header_crc_and_entries() {
        let mut s = vec![0u8; 512];
        s[..8].copy_from_slice(b"EFI PART");
        s[8..12].copy_from_slice(&0x10000u32.to_le_bytes());
        s[12..16].copy_from_slice(&92u32.to_le_bytes());
        s[24..32].copy_from_slice(&1u64.to_le_bytes());
        s[32..40].copy_from_slice(&999u64.to_le_bytes());
        s[72..80].copy_from_slice(&2u64.to_le_bytes());
        s[80..84].copy_from_slice(&4u32.to_le_bytes());
        s[84..88].copy_from_slice(&128u32.to_le_bytes());
        let crc = crc32fast::hash(&s[..92]);
        s[16..20].copy_from_slice(&crc.to_le_bytes());
        let h = parse_gpt_header(&s).unwrap();
        assert!(h.crc_ok);
        assert_eq!(h.backup_lba, 999);
        let mut e = vec![0u8; 512];
        e[128] = 0x28;
        e[128 + 32..128 + 40].copy_from_slice(&64u64.to_le_bytes());
        e[128 + 56] = b'E';
        let p = parse_gpt_entries(&e, &h);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].index, p[0].first_lba, p[0].name.as_str()), (2, 64, "E"));
        assert_eq!(guid_string(&p[0].type_guid), "00000028-0000-0000-0000-000000000000");
        s[100] = 1;
        s[12..16].copy_from_slice(&200u32.to_le_bytes());
        assert!(!parse_gpt_header(&s).unwrap().crc_ok);
    }

    #[test]
    fn apm() {
        let mut a = vec![0u8; 4096];
        a[..2].copy_from_slice(b"ER");
        a[2..4].copy_from_slice(&512u16.to_be_bytes());
        a[512..514].copy_from_slice(b"PM");
        a[516..520].copy_from_slice(&1u32.to_be_bytes());
        a[560..569].copy_from_slice(b"Apple_HFS");
        let (bs, p) = parse_apm(&a, 16).unwrap();
        assert_eq!(bs, 512);
        assert_eq!(p[0].partition_type, "Apple_HFS");
    }
}

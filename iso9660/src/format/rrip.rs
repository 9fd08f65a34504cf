//! IEEE P1282 Rock Ridge Interchange Protocol (RRIP 1.10 "RRIP_1991A" and 1.12 "IEEE_P1282"), carried in SUSP
//! entries: PX (4.1.1), PN (4.1.2), SL (4.1.3), NM (4.1.4), CL / PL / RE (4.1.5), TF (4.1.6), SF (4.1.7), and
//! the zisofs entries ZF and Z2 (from the Linux zisofs tools and libisofs' zisofs2, not part of RRIP).
//!
//! [`RockRidge`] gathers the entries of one directory record, wherever SUSP put them (system use field and
//! continuation areas), into one set of attributes.
//!
//! Sources: RRIP 1.10 writers (genisoimage, old mkisofs) record PX in 36 bytes without the serial number;
//! 1.12 writers (libisofs) use 44. Both are accepted whatever ER says.

use chrono::{DateTime, Utc};

use super::both_endian::{both32, BothEndian};
use super::datetime::{DecDateTime, DirectoryDateTime};
use super::susp::SuspEntry;
use super::{array, bytes, le64, u8_at};

/// 4.1.1 PX: POSIX file attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Px {
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// `st_nlink`.
    pub nlink: u32,
    /// `st_uid`.
    pub uid: u32,
    /// `st_gid`.
    pub gid: u32,
    /// `st_ino` (1.12 only; 44-byte PX).
    pub ino: Option<u32>,
}

impl Px {
    /// Parses PX data (32 or 40 bytes).
    pub fn parse(d: &[u8]) -> Option<Self> {
        let f = |o| both32(d, o).map(|b: BothEndian<u32>| b.value());
        Some(Px { mode: f(0)?, nlink: f(8)?, uid: f(16)?, gid: f(24)?, ino: f(32) })
    }
}

/// File type bits of `st_mode`.
pub mod mode {
    /// Mask of the type bits.
    pub const S_IFMT: u32 = 0o170000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
    /// Character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// Block device.
    pub const S_IFBLK: u32 = 0o060000;
}

/// SL and NM component and entry flags (4.1.3.1, 4.1.4).
pub mod sl_flags {
    /// Continues in the next component (SL) or entry (SL / NM).
    pub const CONTINUE: u8 = 0x01;
    /// `.`
    pub const CURRENT: u8 = 0x02;
    /// `..`
    pub const PARENT: u8 = 0x04;
    /// The root directory `/`.
    pub const ROOT: u8 = 0x08;
    /// The root of the volume's mount point (historical; read as `/`).
    pub const VOLROOT: u8 = 0x10;
    /// The host name (historical; read as nothing).
    pub const HOST: u8 = 0x20;
}

/// TF flag bits (4.1.6): which times follow, in this order, and their form.
pub mod tf_flags {
    /// Creation time.
    pub const CREATION: u8 = 0x01;
    /// Modification time.
    pub const MODIFY: u8 = 0x02;
    /// Access time.
    pub const ACCESS: u8 = 0x04;
    /// Attribute change time.
    pub const ATTRIBUTES: u8 = 0x08;
    /// Backup time.
    pub const BACKUP: u8 = 0x10;
    /// Expiration time.
    pub const EXPIRATION: u8 = 0x20;
    /// Effective time.
    pub const EFFECTIVE: u8 = 0x40;
    /// Times are 17-byte digit dates instead of 7-byte dates.
    pub const LONG_FORM: u8 = 0x80;
}

/// The times of a TF entry; absent ones are `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Times {
    /// Creation.
    pub creation: Option<DateTime<Utc>>,
    /// Last modification.
    pub modify: Option<DateTime<Utc>>,
    /// Last access.
    pub access: Option<DateTime<Utc>>,
    /// Last attribute change.
    pub attributes: Option<DateTime<Utc>>,
    /// Backup.
    pub backup: Option<DateTime<Utc>>,
    /// Expiration.
    pub expiration: Option<DateTime<Utc>>,
    /// Effective.
    pub effective: Option<DateTime<Utc>>,
}

impl Times {
    /// Parses TF data; a truncated entry keeps the times read before the end.
    pub fn parse(d: &[u8]) -> Option<Self> {
        let flags = u8_at(d, 0)?;
        let long = flags & tf_flags::LONG_FORM != 0;
        let size = if long { 17 } else { 7 };
        let mut t = Times::default();
        let mut off = 1usize;
        let slots: [(u8, &mut Option<DateTime<Utc>>); 7] = [
            (tf_flags::CREATION, &mut t.creation),
            (tf_flags::MODIFY, &mut t.modify),
            (tf_flags::ACCESS, &mut t.access),
            (tf_flags::ATTRIBUTES, &mut t.attributes),
            (tf_flags::BACKUP, &mut t.backup),
            (tf_flags::EXPIRATION, &mut t.expiration),
            (tf_flags::EFFECTIVE, &mut t.effective),
        ];
        for (bit, slot) in slots {
            if flags & bit == 0 {
                continue;
            }
            let Some(raw) = bytes(d, off, size) else { break };
            *slot = if long {
                array::<17>(raw, 0).and_then(|a| DecDateTime(a).to_utc())
            } else {
                array::<7>(raw, 0).and_then(|a| DirectoryDateTime(a).to_utc())
            };
            off = off.saturating_add(size);
        }
        Some(t)
    }
}

/// ZF (zisofs, entry version 1) or ZF / Z2 (zisofs2, entry version 2): a compressed file.
///
/// Version 1 records the uncompressed size both-endian in 32 bits; version 2 records it in 64 bits,
/// little-endian (libisofs `doc/zisofs2_format.txt`, revision 2.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zf {
    /// System Use entry version: 1 for zisofs, 2 for zisofs2.
    pub version: u8,
    /// Algorithm: `pz` for zisofs; for zisofs2 `PZ` (zlib), `XZ`, `L4`, `ZD` or `B2`.
    pub algorithm: [u8; 2],
    /// Size of the file header in 4-byte units.
    pub header_size_div4: u8,
    /// log2 of the block size (15, 16 or 17; zisofs2 writers go up to 20).
    pub block_size_log2: u8,
    /// Size of the uncompressed file in bytes.
    pub uncompressed_size: u64,
}

impl Zf {
    /// Parses ZF or Z2 data (12 bytes) of an entry of version `version`: 2 means the 64-bit size of
    /// zisofs2, anything else the both-endian 32-bit size of zisofs.
    pub fn parse(d: &[u8], version: u8) -> Option<Self> {
        let uncompressed_size = if version == 2 { le64(d, 4)? } else { u64::from(both32(d, 4)?.value()) };
        Some(Zf {
            version: if version == 2 { 2 } else { 1 },
            algorithm: array::<2>(d, 0)?,
            header_size_div4: u8_at(d, 2)?,
            block_size_log2: u8_at(d, 3)?,
            uncompressed_size,
        })
    }
}

/// Attributes gathered from all SUSP entries of one directory record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RockRidge {
    /// At least one RRIP entry was seen.
    pub any: bool,
    /// PX.
    pub px: Option<Px>,
    /// PN: device number (high, low).
    pub device: Option<(u32, u32)>,
    /// SL: the assembled symlink target bytes.
    pub symlink: Option<Vec<u8>>,
    /// NM: the assembled name bytes.
    pub name: Option<Vec<u8>>,
    /// TF.
    pub times: Times,
    /// CL: the relocated directory's sector.
    pub child_link: Option<u32>,
    /// PL: the original parent's sector.
    pub parent_link: Option<u32>,
    /// RE: this directory was relocated and must not be shown here.
    pub relocated: bool,
    /// SF: virtual size of a sparse file.
    pub sparse_size: Option<u64>,
    /// ZF.
    pub zf: Option<Zf>,
    sl_separator: bool,
    sl_open: bool,
    nm_open: bool,
}

/// A Rock Ridge entry that could not be read: its signature and offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RripError {
    /// The entry's signature.
    pub signature: [u8; 2],
    /// Offset in its area.
    pub offset: usize,
}

impl RockRidge {
    /// Adds one entry. Entries of other extensions are ignored; a malformed RRIP entry is an error, after
    /// which the entries read so far stay usable.
    pub fn apply(&mut self, e: &SuspEntry<'_>) -> Result<(), RripError> {
        let err = RripError { signature: e.signature, offset: e.offset };
        let d = e.data;
        match &e.signature {
            b"PX" => self.px = Some(Px::parse(d).ok_or(err)?),
            b"PN" => {
                let hi = both32(d, 0).ok_or(err)?.value();
                let lo = both32(d, 8).ok_or(err)?.value();
                self.device = Some((hi, lo));
            }
            b"SL" => self.apply_sl(d).ok_or(err)?,
            b"NM" => self.apply_nm(d).ok_or(err)?,
            b"CL" => self.child_link = Some(both32(d, 0).ok_or(err)?.value()),
            b"PL" => self.parent_link = Some(both32(d, 0).ok_or(err)?.value()),
            b"RE" => self.relocated = true,
            b"TF" => self.times = Times::parse(d).ok_or(err)?,
            b"SF" => {
                // 1.12: size high and low (both-endian each) then the table depth; 1.10 drafts: low only.
                let size = match (both32(d, 0), both32(d, 8)) {
                    (Some(hi), Some(lo)) if d.len() >= 17 => {
                        u64::from(hi.value()).checked_shl(32).unwrap_or(0) | u64::from(lo.value())
                    }
                    (Some(lo), _) => u64::from(lo.value()),
                    _ => return Err(err),
                };
                self.sparse_size = Some(size);
            }
            b"ZF" => self.zf = Some(Zf::parse(d, e.version).ok_or(err)?),
            // zisofs2 under the signature that kernels without zisofs2 support do not know.
            b"Z2" => self.zf = Some(Zf::parse(d, 2).ok_or(err)?),
            b"RR" => {}
            _ => return Ok(()),
        }
        self.any = true;
        Ok(())
    }

    fn apply_sl(&mut self, d: &[u8]) -> Option<()> {
        let entry_flags = u8_at(d, 0)?;
        let target = self.symlink.get_or_insert_with(Vec::new);
        if !self.sl_open && !target.is_empty() {
            // A second, unrelated SL chain: start over, as the last one wins.
            target.clear();
            self.sl_separator = false;
        }
        let mut off = 1usize;
        while off < d.len() {
            let flags = u8_at(d, off)?;
            let len = usize::from(u8_at(d, off.checked_add(1)?)?);
            let content = bytes(d, off.checked_add(2)?, len)?;
            off = off.checked_add(2)?.checked_add(len)?;
            if flags & (sl_flags::ROOT | sl_flags::VOLROOT) != 0 {
                // A ROOT component after others stands for an empty one: `a//b` is recorded as `a`, ROOT, `b` by
                // mkisofs, genisoimage and mkhybrid. It adds a `/` and keeps what came before, as Linux, isoinfo,
                // xorriso and libarchive read it, so a relative target stays relative.
                if self.sl_separator {
                    target.push(b'/');
                }
                target.push(b'/');
                self.sl_separator = false;
                continue;
            }
            if self.sl_separator {
                target.push(b'/');
            }
            if flags & sl_flags::CURRENT != 0 {
                target.push(b'.');
            } else if flags & sl_flags::PARENT != 0 {
                target.extend_from_slice(b"..");
            } else if flags & sl_flags::HOST == 0 {
                target.extend_from_slice(content);
            }
            self.sl_separator = flags & sl_flags::CONTINUE == 0;
        }
        self.sl_open = entry_flags & sl_flags::CONTINUE != 0;
        Some(())
    }

    fn apply_nm(&mut self, d: &[u8]) -> Option<()> {
        let flags = u8_at(d, 0)?;
        let name = self.name.get_or_insert_with(Vec::new);
        if !self.nm_open {
            name.clear();
        }
        if flags & sl_flags::CURRENT != 0 {
            name.extend_from_slice(b".");
        } else if flags & sl_flags::PARENT != 0 {
            name.extend_from_slice(b"..");
        } else if flags & sl_flags::HOST == 0 {
            name.extend_from_slice(d.get(1..)?);
        }
        self.nm_open = flags & sl_flags::CONTINUE != 0;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::susp;

    fn b32(v: u32) -> Vec<u8> {
        let mut o = v.to_le_bytes().to_vec();
        o.extend_from_slice(&v.to_be_bytes());
        o
    }

    fn entry(sig: &[u8; 2], data: &[u8]) -> Vec<u8> {
        let mut e = vec![sig[0], sig[1], (data.len() + 4) as u8, 1];
        e.extend_from_slice(data);
        e
    }

    fn gather(area: &[u8]) -> RockRidge {
        let mut rr = RockRidge::default();
        for e in susp::entries(area) {
            rr.apply(&e.unwrap()).unwrap();
        }
        rr
    }

    #[test]
    fn px_both_lengths() {
        let mut d: Vec<u8> = [0o100644, 2, 1000, 100].iter().flat_map(|&v| b32(v)).collect();
        let px = Px::parse(&d).unwrap();
        assert_eq!((px.mode, px.nlink, px.uid, px.gid, px.ino), (0o100644, 2, 1000, 100, None));
        d.extend(b32(77));
        assert_eq!(Px::parse(&d).unwrap().ino, Some(77));
    }

    #[test]
    fn symlink_components_and_continuation() {
        // "/usr/lo" + "cal/../bin" split across two SL entries, with a component continued across them.
        let mut a = entry(b"SL", &[1, 8, 0, 0, 3, b'u', b's', b'r', 1, 2, b'l', b'o']);
        a.extend(entry(b"SL", &[0, 0, 3, b'c', b'a', b'l', 4, 0, 0, 3, b'b', b'i', b'n']));
        assert_eq!(gather(&a).symlink.unwrap(), b"/usr/local/../bin");
        let a = entry(b"SL", &[0, 2, 0, 0, 1, b'x']);
        assert_eq!(gather(&a).symlink.unwrap(), b"./x");
        let a = entry(b"SL", &[0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(gather(&a).symlink.unwrap(), b"abc");
    }

    #[test]
    fn root_components_inside_a_target() {
        // genisoimage -R's records of `.//file`, `.///file` and `a//b` (isoinfo, xorriso and bsdtar print these).
        let a = entry(b"SL", &[0, 2, 0, 8, 0, 0, 4, b'f', b'i', b'l', b'e']);
        assert_eq!(gather(&a).symlink.unwrap(), b".//file");
        let a = entry(b"SL", &[0, 2, 0, 8, 0, 8, 0, 0, 4, b'f', b'i', b'l', b'e']);
        assert_eq!(gather(&a).symlink.unwrap(), b".///file");
        let a = entry(b"SL", &[0, 0, 1, b'a', 8, 0, 0, 1, b'b']);
        assert_eq!(gather(&a).symlink.unwrap(), b"a//b");
        let a = entry(b"SL", &[0, 8, 0]);
        assert_eq!(gather(&a).symlink.unwrap(), b"/");
    }

    #[test]
    fn nm_continued() {
        let mut a = entry(b"NM", &[1, b'l', b'o', b'n']);
        a.extend(entry(b"NM", &[0, b'g']));
        assert_eq!(gather(&a).name.unwrap(), b"long");
    }

    #[test]
    fn tf_both_forms() {
        let mut d = vec![tf_flags::MODIFY | tf_flags::ACCESS];
        d.extend_from_slice(&[100, 1, 2, 3, 4, 5, 0]);
        d.extend_from_slice(&[140, 12, 31, 23, 59, 59, 0]);
        let t = Times::parse(&d).unwrap();
        assert_eq!(t.modify.unwrap().to_rfc3339(), "2000-01-02T03:04:05+00:00");
        assert_eq!(t.access.unwrap().to_rfc3339(), "2040-12-31T23:59:59+00:00");
        let mut d = vec![tf_flags::CREATION | tf_flags::LONG_FORM];
        d.extend_from_slice(b"1980010100000000\0");
        assert_eq!(Times::parse(&d).unwrap().creation.unwrap().to_rfc3339(), "1980-01-01T00:00:00+00:00");
    }

    #[test]
    fn relocation_zf_and_devices() {
        let mut a = entry(b"CL", &b32(99));
        a.extend(entry(b"RE", &[]));
        a.extend(entry(b"PN", &[b32(8), b32(1)].concat()));
        let mut zf = b"pz".to_vec();
        zf.extend_from_slice(&[4, 15]);
        zf.extend(b32(100_000));
        a.extend(entry(b"ZF", &zf));
        let rr = gather(&a);
        assert_eq!(rr.child_link, Some(99));
        assert!(rr.relocated);
        assert_eq!(rr.device, Some((8, 1)));
        assert_eq!(rr.zf.unwrap().uncompressed_size, 100_000);
        assert_eq!(rr.zf.unwrap().version, 1);
    }

    #[test]
    fn zisofs2_entries_carry_64_bit_sizes() {
        // The example of libisofs' zisofs2_format.txt: 128 KiB blocks, 40 TB.
        let d = [b'P', b'Z', 8, 17, 0x00, 0x80, 0xCA, 0x39, 0x61, 0x24, 0x00, 0x00];
        for sig in [b"ZF", b"Z2"] {
            let mut e = vec![sig[0], sig[1], 16, 2];
            e.extend_from_slice(&d);
            let zf = gather(&e).zf.unwrap();
            assert_eq!((zf.version, zf.algorithm, zf.block_size_log2), (2, *b"PZ", 17));
            assert_eq!(zf.uncompressed_size, 40_000_000_000_000);
        }
    }

    #[test]
    fn truncated_entries_are_errors() {
        let a = entry(b"PX", &[0; 10]);
        let mut rr = RockRidge::default();
        let e = susp::entries(&a).next().unwrap().unwrap();
        assert!(rr.apply(&e).is_err());
        let a = entry(b"SL", &[0, 0, 9, b'a']);
        let e = susp::entries(&a).next().unwrap().unwrap();
        assert!(rr.apply(&e).is_err());
    }
}

//! System Use Sharing Protocol entries (SUSP 1.12) and the Rock Ridge entries of RRIP 1.12 (IEEE P1282 draft)
//! the writer records, plus the packing of entries into a directory record's system use area with spill-over
//! into continuation areas (`CE`).

// The writer indexes only structures it built itself from a caller's tree (never bytes read from an image),
// and its arithmetic is on sizes bounded by the planner's checks.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use super::encode::{both32, dir_date, SECTOR};
use super::tree::{DeviceKind, Meta, NodeKind};

/// Extension identifier written in the `ER` entry: `IEEE_P1282`, the identifier RRIP 1.12 itself defines,
/// with its descriptor and source texts.
///
/// Sources: xorriso 1.5.4 with `-compliance new_rr` writes `IEEE_1282` (no `P`), which pycdlib 1.22 does not
/// accept as Rock Ridge; pycdlib, genisoimage-era readers and the Linux kernel accept `IEEE_P1282`, and the kernel
/// and libarchive ignore the identifier altogether.
pub const ER_ID: &[u8] = b"IEEE_P1282";
const ER_DESCRIPTOR: &[u8] = b"THE IEEE P1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS.";
const ER_SOURCE: &[u8] =
    b"PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA FOR THE P1282 SPECIFICATION.";

/// Length of a `CE` entry (SUSP 5.1).
pub const CE_LEN: usize = 28;
/// Longest SUSP entry (the length field is one byte).
#[cfg(test)]
const ENTRY_MAX: usize = 255;
/// Payload bytes of one `NM` or `SL` entry (entry maximum less the 5-byte header), kept even.
const SPLIT_PAYLOAD: usize = 250;

/// POSIX file type bits (`S_IFMT` values) recorded in `PX`.
mod ifmt {
    pub const DIR: u32 = 0o040000;
    pub const REG: u32 = 0o100000;
    pub const LNK: u32 = 0o120000;
    pub const CHR: u32 = 0o020000;
    pub const BLK: u32 = 0o060000;
    pub const FIFO: u32 = 0o010000;
    pub const SOCK: u32 = 0o140000;
}

/// The POSIX mode (type and permission bits) of a node.
pub fn posix_mode(kind: &NodeKind, perm: u32) -> u32 {
    let t = match kind {
        NodeKind::Dir => ifmt::DIR,
        NodeKind::File(_) => ifmt::REG,
        NodeKind::Symlink(_) => ifmt::LNK,
        NodeKind::Device { kind: DeviceKind::Char, .. } => ifmt::CHR,
        NodeKind::Device { kind: DeviceKind::Block, .. } => ifmt::BLK,
        NodeKind::Fifo => ifmt::FIFO,
        NodeKind::Socket => ifmt::SOCK,
    };
    t | (perm & 0o7777)
}

fn header(out: &mut Vec<u8>, sig: &[u8; 2], len: usize) {
    out.extend_from_slice(sig);
    out.push(len as u8);
    out.push(1);
}

/// `SP` (SUSP 5.3): marks the root's `.` record as using SUSP, no bytes skipped.
pub fn sp() -> Vec<u8> {
    vec![b'S', b'P', 7, 1, 0xBE, 0xEF, 0]
}

/// `ER` (SUSP 5.5) naming RRIP 1.12.
pub fn er() -> Vec<u8> {
    let len = 8 + ER_ID.len() + ER_DESCRIPTOR.len() + ER_SOURCE.len();
    let mut v = Vec::with_capacity(len);
    header(&mut v, b"ER", len);
    v.push(ER_ID.len() as u8);
    v.push(ER_DESCRIPTOR.len() as u8);
    v.push(ER_SOURCE.len() as u8);
    v.push(1); // extension version
    v.extend_from_slice(ER_ID);
    v.extend_from_slice(ER_DESCRIPTOR);
    v.extend_from_slice(ER_SOURCE);
    v
}

/// `PX` (RRIP 1.12 4.1.1), the 44-byte form with the file serial number.
pub fn px(mode: u32, nlink: u32, meta: &Meta, ino: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(44);
    header(&mut v, b"PX", 44);
    both32(&mut v, mode);
    both32(&mut v, nlink);
    both32(&mut v, meta.uid);
    both32(&mut v, meta.gid);
    both32(&mut v, ino);
    v
}

/// `TF` (RRIP 1.12 4.1.6) with modification, access and attribute-change times, 7-byte form.
pub fn tf(meta: &Meta) -> Vec<u8> {
    let mut v = Vec::with_capacity(26);
    header(&mut v, b"TF", 26);
    v.push(0x0E); // MODIFY | ACCESS | ATTRIBUTES
    v.extend_from_slice(&dir_date(meta.mtime));
    v.extend_from_slice(&dir_date(meta.atime));
    v.extend_from_slice(&dir_date(meta.ctime));
    v
}

/// `PN` (RRIP 1.12 4.1.2): device number, high and low parts.
pub fn pn(major: u32, minor: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    header(&mut v, b"PN", 20);
    both32(&mut v, major);
    both32(&mut v, minor);
    v
}

/// `CL` (RRIP 1.12 4.1.5.1): where a relocated directory now lives.
pub fn cl(lba: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(12);
    header(&mut v, b"CL", 12);
    both32(&mut v, lba);
    v
}

/// `PL` (RRIP 1.12 4.1.5.2): the original parent of a relocated directory, in its `..` record.
pub fn pl(lba: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(12);
    header(&mut v, b"PL", 12);
    both32(&mut v, lba);
    v
}

/// `RE` (RRIP 1.12 4.1.5.3): this directory record is a relocated directory (hidden from Rock Ridge readers).
pub fn re() -> Vec<u8> {
    vec![b'R', b'E', 4, 1]
}

/// `ZF` (zisofs extension): the file's data is zisofs-compressed, `size` bytes once expanded.
pub fn zf(size: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    header(&mut v, b"ZF", 16);
    v.extend_from_slice(b"pz");
    v.push(4); // header size in 32-bit words
    v.push(super::zisofs::BLOCK_LOG2);
    both32(&mut v, size);
    v
}

/// AAIP 2.0 `AL` entry (libisofs `doc/susp_aaip_2_0.txt`, laid out as RRIP's `SL`) holding one attribute of the
/// `isofs.` namespace: the name in the short notation (byte 4 standing for `isofs.`), then the value, each one
/// component record; the entry's CONTINUE flag is clear (it ends the attribute list).
fn al_isofs(name: &[u8], value: &[u8]) -> Vec<u8> {
    let len = 5 + 3 + name.len() + 2 + value.len();
    let mut v = Vec::with_capacity(len);
    header(&mut v, b"AL", len);
    v.push(0); // flags: the last AL entry of the record
    v.extend_from_slice(&[0, 1 + name.len() as u8, 0x04]);
    v.extend_from_slice(name);
    v.extend_from_slice(&[0, value.len() as u8]);
    v.extend_from_slice(value);
    v
}

/// `AL` with libisofs's `isofs.ca` (on the root's `.` record): the MD5 checksum array follows `blocks` blocks
/// from the session start `start` and has `entries` 16-byte entries. The value is three numbers, each a length
/// byte (4) and four big-endian bytes, then the entry size (length 1, 16) and the checksum type `MD5`, as
/// xorriso 1.5 writes it.
pub fn al_checksum_array(start: u32, blocks: u32, entries: u32) -> Vec<u8> {
    let mut value = Vec::with_capacity(20);
    for n in [start, blocks, entries] {
        value.push(4);
        value.extend_from_slice(&n.to_be_bytes());
    }
    value.extend_from_slice(&[1, 16]);
    value.extend_from_slice(b"MD5");
    al_isofs(b"ca", &value)
}

/// `AL` with libisofs's `isofs.cx` (on a data file's records): the index of the file's MD5 in the checksum
/// array, four big-endian bytes.
pub fn al_checksum_index(index: u32) -> Vec<u8> {
    al_isofs(b"cx", &index.to_be_bytes())
}

/// `CE` (SUSP 5.1): the continuation area at `lba`, `offset`, `len` bytes.
pub fn ce(lba: u32, offset: u32, len: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(CE_LEN);
    header(&mut v, b"CE", CE_LEN);
    both32(&mut v, lba);
    both32(&mut v, offset);
    both32(&mut v, len);
    v
}

/// `NM` entries (RRIP 1.12 4.1.4) for `name`, split into pieces flagged CONTINUE.
pub fn nm(name: &[u8], out: &mut Vec<Vec<u8>>) {
    let pieces: Vec<&[u8]> = name.chunks(SPLIT_PAYLOAD).collect();
    for (i, p) in pieces.iter().enumerate() {
        let mut v = Vec::with_capacity(5 + p.len());
        header(&mut v, b"NM", 5 + p.len());
        v.push(u8::from(i + 1 < pieces.len())); // CONTINUE
        v.extend_from_slice(p);
        out.push(v);
    }
}

/// `SL` entries (RRIP 1.12 4.1.3) for a symbolic link target: `/` starts with a ROOT component, `.` and `..` are
/// CURRENT and PARENT, long components are split with the component CONTINUE flag, and a target too long for one
/// entry spans several entries flagged CONTINUE.
pub fn sl(target: &[u8], out: &mut Vec<Vec<u8>>) {
    let mut comps: Vec<Vec<u8>> = Vec::new();
    if target.first() == Some(&b'/') {
        comps.push(vec![0x08, 0]);
    }
    for part in target.split(|&c| c == b'/').filter(|p| !p.is_empty()) {
        match part {
            b"." => comps.push(vec![0x02, 0]),
            b".." => comps.push(vec![0x04, 0]),
            _ => {
                let pieces: Vec<&[u8]> = part.chunks(SPLIT_PAYLOAD - 2).collect();
                for (i, p) in pieces.iter().enumerate() {
                    let mut c = vec![u8::from(i + 1 < pieces.len()), p.len() as u8];
                    c.extend_from_slice(p);
                    comps.push(c);
                }
            }
        }
    }
    if comps.is_empty() {
        comps.push(vec![0x02, 0]);
    }
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for c in comps {
        if !cur.is_empty() && cur.len() + c.len() > SPLIT_PAYLOAD {
            entries.push(std::mem::take(&mut cur));
        }
        cur.extend_from_slice(&c);
    }
    entries.push(cur);
    let n = entries.len();
    for (i, body) in entries.into_iter().enumerate() {
        let mut v = Vec::with_capacity(5 + body.len());
        header(&mut v, b"SL", 5 + body.len());
        v.push(u8::from(i + 1 < n)); // CONTINUE: another SL entry follows
        v.extend_from_slice(&body);
        out.push(v);
    }
}

/// How the entries of one record are split between the record and its continuation areas.
#[derive(Debug, Default)]
pub struct Packed {
    /// Entries (by index) that stay in the directory record.
    pub in_record: usize,
    /// Continuation areas in order: number of entries in each, and the area's length in bytes (including a
    /// trailing `CE` to the next area when there is one).
    pub areas: Vec<(usize, usize)>,
}

/// Splits `entries` between a system use area of `space` bytes and continuation areas of at most one sector each.
pub fn pack(entries: &[Vec<u8>], space: usize) -> Packed {
    let total: usize = entries.iter().map(Vec::len).sum();
    if total <= space {
        return Packed { in_record: entries.len(), areas: Vec::new() };
    }
    let mut used = 0;
    let mut k = 0;
    while k < entries.len() && used + entries[k].len() + CE_LEN <= space {
        used += entries[k].len();
        k += 1;
    }
    let mut areas = Vec::new();
    let mut i = k;
    while i < entries.len() {
        let rest: usize = entries[i..].iter().map(Vec::len).sum();
        if rest <= SECTOR {
            areas.push((entries.len() - i, rest));
            break;
        }
        let mut len = 0;
        let mut n = 0;
        while i + n < entries.len() && len + entries[i + n].len() + CE_LEN <= SECTOR {
            len += entries[i + n].len();
            n += 1;
        }
        areas.push((n, len + CE_LEN));
        i += n;
    }
    Packed { in_record: k, areas }
}

/// Hands out space for continuation areas in a run of sectors: an area never crosses a sector boundary.
#[derive(Debug, Default, Clone)]
pub struct CePool {
    sector: u32,
    offset: usize,
    used_any: bool,
}

impl CePool {
    /// Reserves `len` bytes (at most one sector); returns (sector index within the pool, byte offset).
    pub fn alloc(&mut self, len: usize) -> (u32, usize) {
        if self.offset + len > SECTOR {
            self.sector += 1;
            self.offset = 0;
        }
        let at = (self.sector, self.offset);
        self.offset += len;
        self.used_any = true;
        at
    }

    /// Sectors the pool occupies.
    pub fn sectors(&self) -> u32 {
        if self.used_any {
            self.sector + 1
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_lengths() {
        assert_eq!(er().len(), 8 + 10 + 73 + 94);
        assert_eq!(er()[2] as usize, er().len());
        let m = Meta::default();
        assert_eq!(px(0o100644, 1, &m, 5).len(), 44);
        assert_eq!(tf(&m).len(), 26);
        assert_eq!(zf(10).len(), 16);
        assert_eq!(al_checksum_array(0, 35, 5).len(), 32);
        assert_eq!(al_checksum_index(1).len(), 16);
    }

    /// The bytes xorriso 1.5.4 (`-as mkisofs -R --md5`) wrote for a tree of three files whose array lies at
    /// block 35, and for the first file's index.
    #[test]
    fn checksum_attributes_as_xorriso_writes_them() {
        let hex = |v: &[u8]| v.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(&al_checksum_array(0, 35, 5)),
            "414c2001000003046361001404000000000400000023040000000501104d4435"
        );
        assert_eq!(hex(&al_checksum_index(1)), "414c1001000003046378000400000001");
    }

    #[test]
    fn long_names_and_links_split() {
        let mut v = Vec::new();
        nm(&[b'a'; 600], &mut v);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0][4], 1);
        assert_eq!(v[2][4], 0);
        assert!(v.iter().all(|e| e.len() <= ENTRY_MAX && e[2] as usize == e.len()));
        let mut s = Vec::new();
        let target: Vec<u8> = std::iter::repeat_n(b"abcdefghij/".as_slice(), 60).flatten().copied().collect();
        sl(&target, &mut s);
        assert!(s.len() > 2);
        assert!(s.iter().all(|e| e.len() <= ENTRY_MAX && e[2] as usize == e.len()));
        let mut r = Vec::new();
        sl(b"/usr/../.", &mut r);
        assert_eq!(r[0][5..], [8, 0, 0, 3, b'u', b's', b'r', 4, 0, 2, 0]);
    }

    #[test]
    fn packing() {
        let e = vec![vec![0; 44], vec![0; 26], vec![0; 200]];
        let p = pack(&e, 150);
        assert_eq!(p.in_record, 2);
        assert_eq!(p.areas, vec![(1, 200)]);
        let big: Vec<Vec<u8>> = (0..20).map(|_| vec![0; 250]).collect();
        let p = pack(&big, 100);
        assert_eq!(p.in_record, 0);
        assert_eq!(p.areas.iter().map(|a| a.0).sum::<usize>(), 20);
        assert!(p.areas.iter().all(|a| a.1 <= SECTOR));
    }
}

//! CHD versions 3 and 4, what chdman wrote before version 5: a header of 120 (v3) or 108 (v4) bytes, followed by
//! a map of 16 bytes per hunk (file offset, CRC-32 of the hunk, a 24-bit length, a type) and an end-of-list
//! cookie; one codec for the whole file (Deflate for CDs). Version 3 stores MD5 and SHA-1 of the logical bytes;
//! version 4 the SHA-1 of the logical bytes and one of the bytes with their hashed metadata.
//!
//! The hunks are decoded by the `chd` crate as for version 5; this module checks what it trusts first: header
//! fields and sizes, every map entry and the metadata chain, all before the crate reads the map and walks the chain
//! (it does so to guess the unit size).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::read::Ids;
use super::{bad, be32, be64, hex, sha, HeaderFields, CD_FRAME, MAX_HUNK, MAX_HUNKS, MAX_META};
use crate::error::Result;

/// Bytes of a v3 and a v4 header.
const V3_HEADER: u64 = 120;
const V4_HEADER: u64 = 108;
/// Bytes of one map entry, and of the cookie after the last.
const MAP_ENTRY: u64 = 16;
/// Header flags: the CHD has a parent; it may be written to. Any other bit is undefined.
const FLAG_PARENT: u32 = 1;
const FLAG_WRITABLE: u32 = 2;
/// Header compression: none, Deflate, Deflate (the same decoder), A/V (LaserDisc).
const COMPRESSION_NONE: u32 = 0;
const COMPRESSION_ZLIB: u32 = 1;
const COMPRESSION_ZLIB_PLUS: u32 = 2;
/// Map entry types (the low four bits of an entry's last byte): compressed with the codec, stored, an 8-byte
/// value repeated ("mini"), a copy of another hunk, a copy of a parent's hunk, compressed with a second codec.
const TYPE_COMPRESSED: u8 = 1;
const TYPE_UNCOMPRESSED: u8 = 2;
const TYPE_MINI: u8 = 3;
const TYPE_SELF: u8 = 4;
const TYPE_PARENT: u8 = 5;
const TYPE_SECOND_CODEC: u8 = 6;

/// The fields of a v3 or v4 header `h` (at least 120 bytes read from the file's start), checked: its length,
/// flags, codec, hunk size and count, the map and the metadata chain inside the file, no parent.
pub(super) fn check_header(path: &Path, h: &[u8], version: u32, file_len: u64) -> Result<HeaderFields> {
    let header_len = if version == 3 { V3_HEADER } else { V4_HEADER };
    if u64::from(be32(h, 8)) != header_len {
        return Err(bad(path, format!("CHD version {version} header of {} bytes, not {header_len}", be32(h, 8))));
    }
    let (flags, compression, hunks, logical, meta_offset) =
        (be32(h, 16), be32(h, 20), be32(h, 24), be64(h, 28), be64(h, 36));
    let (hunk_bytes, sha1, parent, raw_sha1) = if version == 3 {
        (be32(h, 76), sha(h, 80), sha(h, 100), sha(h, 80))
    } else {
        (be32(h, 44), sha(h, 48), sha(h, 68), sha(h, 88))
    };
    if flags & FLAG_PARENT != 0 || parent != [0; 20] {
        return Err(bad(
            path,
            format!(
                "a CHD that stores only its differences from a parent CHD (SHA-1 {}), which odix does not read: \
                 `chdman copy -i CHILD.chd -ip PARENT.chd -o WHOLE.chd` makes one that needs no parent",
                hex(&parent)
            ),
        ));
    }
    if flags & !(FLAG_PARENT | FLAG_WRITABLE) != 0 {
        return Err(bad(path, format!("CHD header flags {flags:#x}")));
    }
    let codec = match compression {
        COMPRESSION_NONE => None,
        COMPRESSION_ZLIB | COMPRESSION_ZLIB_PLUS => Some("zlib".to_string()),
        3 => return Err(bad(path, "a CHD of A/V compressed hunks (a LaserDisc), which odix does not read")),
        c => return Err(bad(path, format!("CHD compression type {c}"))),
    };
    if hunk_bytes == 0 || hunk_bytes > MAX_HUNK {
        return Err(bad(path, format!("CHD hunks of {hunk_bytes} bytes")));
    }
    if hunks == 0 || u64::from(hunks) > MAX_HUNKS {
        return Err(bad(path, format!("CHD hunks: {hunks}, not between 1 and {MAX_HUNKS}")));
    }
    if logical > u64::from(hunks).saturating_mul(u64::from(hunk_bytes)) {
        return Err(bad(path, format!("CHD of {logical} bytes in {hunks} hunks of {hunk_bytes}")));
    }
    // The map and its end-of-list cookie follow the header.
    let map_end = header_len.saturating_add(u64::from(hunks).saturating_add(1).saturating_mul(MAP_ENTRY));
    if map_end > file_len {
        return Err(bad(path, format!("CHD map of {hunks} entries reaches past the end of the file")));
    }
    check_metadata_chain(path, meta_offset, map_end, file_len)?;
    check_map(path, header_len, hunks, hunk_bytes, codec.is_some(), file_len)?;
    // A CD's unit is its frame; a hunk that holds no whole number of frames is one unit.
    let unit_bytes = if hunk_bytes.checked_rem(CD_FRAME) == Some(0) { CD_FRAME } else { hunk_bytes };
    Ok((hunk_bytes, unit_bytes, logical, raw_sha1, sha1, codec.into_iter().collect()))
}

/// Follows the metadata chain from `offset` (0: none): every entry header inside the file after the map, at most
/// [`MAX_META`] entries, none seen twice.
fn check_metadata_chain(path: &Path, mut offset: u64, map_end: u64, file_len: u64) -> Result<()> {
    let mut file = File::open(path).map_err(|e| bad(path, format!("CHD metadata cannot be read ({e})")))?;
    let mut seen = HashSet::new();
    while offset != 0 {
        if seen.len() >= MAX_META || !seen.insert(offset) {
            return Err(bad(path, format!("CHD metadata chain loops or exceeds {MAX_META} entries")));
        }
        if offset < map_end || offset.saturating_add(16) > file_len {
            return Err(bad(path, format!("CHD metadata at byte {offset} outside the file")));
        }
        let mut e = [0u8; 16];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut e))
            .map_err(|err| bad(path, format!("CHD metadata at byte {offset} cannot be read ({err})")))?;
        let len = u64::from(be32(&e, 4) & 0x00ff_ffff);
        if offset.saturating_add(16).saturating_add(len) > file_len {
            return Err(bad(path, format!("CHD metadata of {len} bytes at byte {offset} outside the file")));
        }
        offset = be64(&e, 8);
    }
    Ok(())
}

/// Checks every v3/v4 map entry, read from the file before the `chd` crate reads it: stored hunks inside the file
/// after the map and no longer than a hunk (an uncompressed one exactly a hunk), compressed ones only with a
/// codec, copies of earlier stored hunks only (so a copy can neither loop nor chain), no copies from a parent or
/// hunks of a second codec; then the end-of-list cookie the map ends with.
fn check_map(path: &Path, header_len: u64, hunks: u32, hunk_bytes: u32, compressed: bool, file_len: u64) -> Result<()> {
    let map_end = header_len.saturating_add(u64::from(hunks).saturating_add(1).saturating_mul(MAP_ENTRY));
    let mut file = File::open(path).map_err(|e| bad(path, format!("CHD map cannot be read ({e})")))?;
    file.seek(SeekFrom::Start(header_len)).map_err(|e| bad(path, format!("CHD map cannot be read ({e})")))?;
    let mut file = BufReader::with_capacity(64 * 1024, file);
    // The type of each hunk so far, for the copies.
    let mut kinds: Vec<u8> = Vec::new();
    for i in 0..hunks {
        let at = |what: String| bad(path, format!("CHD hunk {i}: {what}"));
        let mut e = [0u8; 16];
        file.read_exact(&mut e).map_err(|err| at(format!("map entry cannot be read ({err})")))?;
        let offset = be64(&e, 0);
        let len = u32::from(u16::from_be_bytes([e[12], e[13]])) | (u32::from(e[14]) << 16);
        let kind = e[15] & 0x0f;
        match kind {
            TYPE_COMPRESSED | TYPE_UNCOMPRESSED => {
                let end = offset.checked_add(u64::from(len));
                if offset < map_end || end.is_none_or(|end| end > file_len) {
                    return Err(at(format!("{len} bytes at byte {offset}, outside the file of {file_len} bytes")));
                }
                if kind == TYPE_UNCOMPRESSED && len != hunk_bytes {
                    return Err(at(format!("stored as {len} bytes, not a whole hunk of {hunk_bytes}")));
                }
                if kind == TYPE_COMPRESSED && (len == 0 || len > hunk_bytes || !compressed) {
                    return Err(at(format!("compressed to {len} bytes, in hunks of {hunk_bytes}")));
                }
            }
            TYPE_MINI => {}
            TYPE_SELF => {
                let target = usize::try_from(offset).ok().and_then(|t| kinds.get(t));
                if !target.is_some_and(|k| matches!(*k, TYPE_COMPRESSED | TYPE_UNCOMPRESSED | TYPE_MINI)) {
                    return Err(at(format!("a copy of hunk {offset}, which is not an earlier stored hunk")));
                }
            }
            TYPE_PARENT => return Err(at("a copy from a parent CHD".into())),
            TYPE_SECOND_CODEC => return Err(at("compressed with a second codec, which odix does not read".into())),
            _ => return Err(at(format!("unknown hunk type {kind}"))),
        }
        kinds.push(kind);
    }
    let mut cookie = [0u8; 16];
    file.read_exact(&mut cookie).map_err(|e| bad(path, format!("CHD map cannot be read ({e})")))?;
    if &cookie != b"EndOfListCookie\0" {
        return Err(bad(path, "CHD map does not end with its end-of-list cookie"));
    }
    Ok(())
}

/// The identifying fields of a version 3 or 4 header (as [`super::read::read_ids`] for version 5); `None` for a
/// file that is not one. Its fields are only read here: [`check_header`] checks them.
pub(super) fn read_ids(path: &Path) -> Option<Ids> {
    let mut h = [0u8; V3_HEADER as usize];
    File::open(path).and_then(|mut f| f.read_exact(&mut h)).ok()?;
    let version = be32(&h, 12);
    if h.get(..8) != Some(b"MComprHD".as_slice()) || !is_old(version) {
        return None;
    }
    let (hunk_bytes, sha1, parent_sha1) =
        if version == 3 { (be32(&h, 76), sha(&h, 80), sha(&h, 100)) } else { (be32(&h, 44), sha(&h, 48), sha(&h, 68)) };
    let unit_bytes = if hunk_bytes.checked_rem(CD_FRAME) == Some(0) { CD_FRAME } else { hunk_bytes };
    Some(Ids { sha1, parent_sha1, hunk_bytes, unit_bytes })
}

/// Whether `version` is one this module reads.
pub(super) fn is_old(version: u32) -> bool {
    matches!(version, 3 | 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_v4(hunks: u32, hunk_bytes: u32, meta: u64) -> Vec<u8> {
        let mut h = vec![0u8; 108];
        h[..8].copy_from_slice(b"MComprHD");
        h[8..12].copy_from_slice(&108u32.to_be_bytes());
        h[12..16].copy_from_slice(&4u32.to_be_bytes());
        h[20..24].copy_from_slice(&COMPRESSION_ZLIB.to_be_bytes());
        h[24..28].copy_from_slice(&hunks.to_be_bytes());
        h[28..36].copy_from_slice(&(u64::from(hunks) * u64::from(hunk_bytes)).to_be_bytes());
        h[36..44].copy_from_slice(&meta.to_be_bytes());
        h[44..48].copy_from_slice(&hunk_bytes.to_be_bytes());
        h
    }

    #[test]
    fn old_headers_are_checked_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.chd");
        let check = |h: &[u8], file_len: u64| {
            let mut f = h.to_vec();
            f.resize(file_len as usize, 0);
            std::fs::write(&p, &f).unwrap();
            let mut hh = h.to_vec();
            hh.resize(124, 0);
            check_header(&p, &hh, 4, file_len).map(|_| ()).map_err(|e| e.to_string())
        };
        // 2 hunks: header, 3 map slots (2 + cookie), no metadata.
        let mut h = header_v4(2, 19584, 0);
        for _ in 0..2 {
            h.extend([0u8; 15]);
            h.push(TYPE_MINI);
        }
        h.extend(b"EndOfListCookie\0");
        assert!(check(&h, 108 + 48).is_ok());
        assert!(check(&h[..108 + 40], 108 + 47).unwrap_err().contains("reaches past the end"));
        h[108 + 47] = b'!';
        assert!(check(&h, 108 + 48).unwrap_err().contains("end-of-list cookie"));
        h[108 + 15] = 7;
        assert!(check(&h, 108 + 48).unwrap_err().contains("CHD hunk 0: unknown hunk type 7"));
        assert!(check(&header_v4(1 << 30, 19584, 0), 1000).unwrap_err().contains("not between 1 and"));
        assert!(check(&header_v4(2, 16 << 20, 0), 1000).unwrap_err().contains("hunks of 16777216"));
        assert!(check(&header_v4(2, 19584, 5000), 1000).unwrap_err().contains("outside the file"));
        let mut h = header_v4(2, 19584, 0);
        h[19] = 1;
        assert!(check(&h, 1000).unwrap_err().contains("parent CHD"));
        let mut h = header_v4(2, 19584, 0);
        h[23] = 3;
        assert!(check(&h, 1000).unwrap_err().contains("LaserDisc"));
        // Metadata pointing at itself.
        let mut h = header_v4(2, 19584, 156);
        h.resize(172, 0);
        h[164..172].copy_from_slice(&156u64.to_be_bytes());
        assert!(check(&h, 172).unwrap_err().contains("loops"));
    }
}

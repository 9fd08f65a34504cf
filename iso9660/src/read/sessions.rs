//! The sessions of a grown ISO 9660 image file: a multi-session disc copied to a file, or a file that
//! `xorriso -dev FILE ... -commit` or `growisofs -M` appended sessions to.
//!
//! A plain file has no table of contents: the sessions are found by following the volume descriptor sets, as
//! libisoburn emulates a TOC for `xorriso -toc`. Each session's primary descriptor lies at its start + 16 and
//! gives the session's size; the next session starts at the first 16-block boundary after it where another
//! descriptor set is found.
//!
//! Sources: xorriso (libisoburn 1.5) writes the sessions of a grown file from LBA 32 on, each 32-block aligned,
//! and keeps a copy of the newest session's descriptors at LBA 16 whose volume space size covers the whole file.
//! Both xorriso and genisoimage (`-C`/`-M`) record each later session's volume space size counted from its own
//! start; older mastering tools count from LBA 0. Both readings are tried.

use std::io::{Read, Seek, SeekFrom};

use super::VOLUME_DESCRIPTOR_START;
use crate::error::{Error, Result, Structure};
use crate::format::volume_descriptor::VolumeDescriptor;
use crate::format::{SECTOR_SIZE, SECTOR_SIZE_U64};

/// Where libisoburn starts the first session of a grown image file, leaving LBA 0–31 for the copy of the newest
/// descriptors.
const XORRISO_FIRST_SESSION: u64 = 32;

/// Sessions start on this boundary (growisofs pads to 16 blocks; libisoburn to 32, a multiple of it).
const SESSION_ALIGN: u64 = 16;

/// Most sessions followed: a CD holds at most 99, and the bound keeps a crafted chain short.
pub const MAX_SESSIONS: usize = 999;

/// One session of a grown image file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The LBA where the session starts: its volume descriptors are at this LBA + 16.
    pub start: u64,
    /// The volume space size its primary descriptor records, in 2048-byte blocks.
    pub blocks: u64,
    /// Its volume identifier.
    pub volume_id: String,
}

/// The primary descriptor at `start` + 16, if there is one: its volume space size and volume id.
fn primary_at<R: Read + Seek>(r: &mut R, start: u64, len: u64) -> Result<Option<(u64, String)>> {
    let lba = start.saturating_add(VOLUME_DESCRIPTOR_START);
    let Some(at) = lba.checked_mul(SECTOR_SIZE_U64) else { return Ok(None) };
    if at.saturating_add(SECTOR_SIZE_U64) > len {
        return Ok(None);
    }
    let mut sector = [0u8; SECTOR_SIZE];
    let io = |source| Error::Io { structure: Structure::VolumeDescriptor, lba, source };
    r.seek(SeekFrom::Start(at)).map_err(io)?;
    r.read_exact(&mut sector).map_err(io)?;
    match VolumeDescriptor::parse(&sector) {
        Ok(VolumeDescriptor::Primary(p)) => Ok(Some((u64::from(p.volume_space_size.value()), p.volume_id_text()))),
        _ => Ok(None),
    }
}

/// The sessions of the image file `r`, in order. An image that is not ISO 9660 at LBA 16 has none; a one-session
/// image has one.
pub fn sessions<R: Read + Seek>(r: &mut R) -> Result<Vec<Session>> {
    let len = r.seek(SeekFrom::End(0)).map_err(|source| Error::Io {
        structure: Structure::VolumeDescriptor,
        lba: 0,
        source,
    })?;
    let Some(first) = primary_at(r, 0, len)? else { return Ok(Vec::new()) };
    // A grown file of libisoburn: the descriptors at 16 are a copy, whose volume reaches past LBA 32 where the
    // first session starts. (A first session ending before 32 followed by a second one at 32 is read from 0.)
    let copy = first.0 > XORRISO_FIRST_SESSION && primary_at(r, XORRISO_FIRST_SESSION, len)?.is_some();
    let mut start = if copy { XORRISO_FIRST_SESSION } else { 0 };
    let mut current = if start == 0 { Some(first) } else { primary_at(r, start, len)? };
    let mut out = Vec::new();
    while let Some((blocks, volume_id)) = current.take() {
        out.push(Session { start, blocks, volume_id });
        if out.len() >= MAX_SESSIONS {
            break;
        }
        // The next session: after this one's end counted from its start, else from LBA 0; on a 16- or 32-block
        // boundary.
        let relative = start.saturating_add(blocks);
        let mut candidates = vec![relative, relative.saturating_add(SESSION_ALIGN)];
        if blocks > start {
            candidates.extend([blocks, blocks.saturating_add(SESSION_ALIGN)]);
        }
        for c in candidates {
            let next = c.div_ceil(SESSION_ALIGN).saturating_mul(SESSION_ALIGN);
            if next <= start {
                continue;
            }
            if let Some(pvd) = primary_at(r, next, len)? {
                start = next;
                current = Some(pvd);
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::volume_descriptor::tests::pvd_sector;
    use std::io::Cursor;

    fn put_pvd(img: &mut Vec<u8>, start: usize, blocks: u32) {
        let at = (start + 16) * 2048;
        if img.len() < at + 2048 {
            img.resize(at + 2048, 0);
        }
        let mut s = pvd_sector(1, &[]);
        s[80..84].copy_from_slice(&blocks.to_le_bytes());
        s[84..88].copy_from_slice(&blocks.to_be_bytes());
        img[at..at + 2048].copy_from_slice(&s);
    }

    #[test]
    fn follows_relative_absolute_and_xorriso_layouts() {
        // xorriso -dev: a copy at 16, sessions at 32, 224, 256 with sizes counted from their starts.
        let mut img = Vec::new();
        put_pvd(&mut img, 0, 280);
        put_pvd(&mut img, 32, 171);
        put_pvd(&mut img, 224, 24);
        put_pvd(&mut img, 256, 24);
        img.resize(280 * 2048, 0);
        let s = sessions(&mut Cursor::new(img)).unwrap();
        assert_eq!(s.iter().map(|s| (s.start, s.blocks)).collect::<Vec<_>>(), [(32, 171), (224, 24), (256, 24)]);
        // growisofs-style, 16-aligned; the second size counted from LBA 0.
        let mut img = Vec::new();
        put_pvd(&mut img, 0, 233);
        put_pvd(&mut img, 240, 414);
        img.resize(414 * 2048, 0);
        let s = sessions(&mut Cursor::new(img)).unwrap();
        assert_eq!(s.iter().map(|s| (s.start, s.blocks)).collect::<Vec<_>>(), [(0, 233), (240, 414)]);
        // A first session of 20 blocks, the second at 32.
        let mut img = Vec::new();
        put_pvd(&mut img, 0, 20);
        put_pvd(&mut img, 32, 20);
        img.resize(52 * 2048, 0);
        let s = sessions(&mut Cursor::new(img)).unwrap();
        assert_eq!(s.iter().map(|s| s.start).collect::<Vec<_>>(), [0, 32]);
        // One session; and no ISO 9660 at all.
        let mut img = Vec::new();
        put_pvd(&mut img, 0, 40);
        img.resize(40 * 2048, 0);
        assert_eq!(sessions(&mut Cursor::new(img)).unwrap().len(), 1);
        assert!(sessions(&mut Cursor::new(vec![0u8; 100_000])).unwrap().is_empty());
    }
}

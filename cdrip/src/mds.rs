//! Alcohol 120% images: a `.mds` descriptor (version 1) and the `.mdf` file of sectors it names.
//!
//! Layout, as libmirage's MDS parser documents it (all numbers little-endian):
//! - header (88 bytes): `"MEDIA DESCRIPTOR"`, version (1.x), medium type at 18 (0-2 CD, 0x10/0x12 DVD), session
//!   count at 20, offset of the session blocks at 80;
//! - session block (24 bytes): start and end LBA, number at 8, block count at 10, offset of its track blocks at 20;
//! - track block (80 bytes): mode at 0 (its low nibble: 1/9 audio, 2/A Mode 1, 4/C Mode 2 Form 1, 5/D Mode 2
//!   Form 2, else Mode 2), subchannel at 1 (8: 96 bytes after each sector), point at 4 (a track number, or
//!   0xA0-0xA2 for the TOC's other entries), offset of its extra block at 12, sector size at 16 (including any
//!   subchannel), start LBA (INDEX 01) at 36, offset in the `.mdf` at 40, file count at 48, offset of its file
//!   block at 52;
//! - extra block (8 bytes, CD only): pregap (not stored in the `.mdf`) and length in sectors;
//! - file block (16 bytes): offset of the file name and whether it is UTF-16; a name `*.mdf` means the `.mds`
//!   name with that extension. A track block's file count says how many file blocks follow each other from its
//!   file block offset: an image Alcohol split into pieces (`x.mdf`, then `x.md0`, `x.md1`, ...: the names
//!   `*.mdf`, `*.md0`, ...) lists them in order; the pieces are read as one data file, one after the other (the
//!   track's offset counts from the start of the first).
//!
//! Not read: `.mds` version 2 (Alcohol 52%/120% 2.x: an undocumented descriptor whose body is encrypted, refused
//! with a message), and the DVD structures, BCA and DPM data (they do not affect the sectors).

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::binfmt::{bad, read_region, Bin};
use crate::cue::{FileType, TrackMode};
use crate::error::{Error, Result};
use crate::image::{DiscTrack, ImageFile, RawDisc, SheetKind};
use crate::store::ByteStore;

/// Most pieces one data file may be split into (a 50 GB disc in 100 MB pieces is 500).
pub const MAX_PIECES: u32 = 1000;
/// Most file blocks read from one descriptor, over all its track blocks (99 tracks each naming 100 pieces).
const MAX_FILE_BLOCKS: u32 = 10_000;
/// Longest file name read, in bytes (a name is a file name, not a path).
const MAX_NAME: usize = 4096;

/// What a `.mds` describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdsLayout {
    /// Whether the medium is a DVD (one track of 2048-byte sectors filling its file).
    pub dvd: bool,
    /// The data files, each as the names of its pieces written in the `.mds` (one name for a file not split).
    pub files: Vec<Vec<String>>,
    /// The tracks (`file` indexes `files`; for a DVD `stored` is 0: its file's length gives it).
    pub tracks: Vec<DiscTrack>,
}

/// Opens the Alcohol 120% image whose descriptor is at `path`.
///
/// # Errors
/// [`Error::Layout`] naming the block that is wrong; [`Error::MissingFile`] when the `.mdf` is missing;
/// [`Error::Unsupported`] for version 2 descriptors.
pub fn open(path: &Path) -> Result<RawDisc> {
    let len = std::fs::metadata(path).map(|m| m.len()).map_err(|source| Error::Io { path: path.into(), source })?;
    let data = read_region(path, 0, len, "descriptor")?;
    let layout = parse(path, &data)?;
    let mut files = Vec::new();
    for pieces in &layout.files {
        let paths: Vec<PathBuf> = pieces.iter().map(|name| data_file(path, name)).collect();
        files.push(match paths.as_slice() {
            [one] => ImageFile::new(path, one.clone(), FileType::Binary)?,
            _ => {
                let store = SplitStore::open(path, &paths)?;
                ImageFile::from_store(paths.first().cloned().unwrap_or_default(), Box::new(store))
            }
        });
    }
    let mut tracks = layout.tracks;
    if layout.dvd {
        for t in &mut tracks {
            let flen = files.get(t.file).map_or(0, |f| f.len);
            t.stored = flen.saturating_sub(t.file_offset).checked_div(u64::from(t.stride())).unwrap_or(0);
        }
    }
    RawDisc::from_parts(path, SheetKind::Mds, files, tracks)
}

/// Where the data file `name` of the descriptor at `mds` is.
fn data_file(mds: &Path, name: &str) -> PathBuf {
    // "*.mdf": the descriptor's own name with that extension (an extension holding a path separator is no
    // extension: such a name is taken as a file name below).
    if let Some(ext) = name.strip_prefix("*.").filter(|e| !e.contains(['/', '\\', '\0'])) {
        return mds.with_extension(ext);
    }
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    mds.parent().unwrap_or(Path::new("")).join(base)
}

/// The track mode of an MDS mode byte with `size` bytes of main channel per sector.
fn mode_of(mode: u8, size: u32) -> Option<TrackMode> {
    use TrackMode::*;
    let m = match mode & 0x07 {
        1 => Audio,
        2 => Mode1_2352,
        4 => Mode2_2048,
        5 => Mode2_2324,
        _ => Mode2_2336,
    };
    Some(match (m, size) {
        (Audio, 2352) => Audio,
        (Mode1_2352, 2048) => Mode1_2048,
        (Mode1_2352, 2352) => Mode1_2352,
        (Mode2_2048 | Mode2_2324 | Mode2_2336, 2352) => Mode2_2352,
        (Mode2_2048 | Mode2_2324 | Mode2_2336, 2336) => Mode2_2336,
        (Mode2_2048 | Mode2_2336, 2048) => Mode2_2048,
        (Mode2_2324, 2324) => Mode2_2324,
        _ => return None,
    })
}

/// Reads a `.mds` descriptor (`path` names it in messages).
///
/// # Errors
/// As [`open`].
pub fn parse(path: &Path, data: &[u8]) -> Result<MdsLayout> {
    let bin = Bin { data, path };
    let head = bin.sub(0, 88, "MDS header")?;
    if head.get(0, 16, "signature")? != b"MEDIA DESCRIPTOR" {
        return Err(bad(path, "no MEDIA DESCRIPTOR signature".into()));
    }
    let version = head.u8(16, "version")?;
    if version != 1 {
        // Alcohol 2.x writes version 2: its layout is not published and its body is encrypted.
        let why = if version == 2 { " (Alcohol 2.x: undocumented, its body encrypted)" } else { "" };
        return Err(Error::Unsupported {
            what: format!("an MDS descriptor of version {version}{why} ({})", path.display()),
        });
    }
    let dvd = match head.u16le(18, "medium type")? {
        0..=2 => false,
        0x10 | 0x12 => true,
        other => return Err(bad(path, format!("MDS header: unknown medium type {other:#x}"))),
    };
    let sessions = head.u16le(20, "session count")?;
    if sessions == 0 || sessions > 99 {
        return Err(bad(path, format!("MDS header: {sessions} sessions")));
    }
    let table = usize::try_from(head.u32le(80, "session blocks offset")?).unwrap_or(usize::MAX);
    let mut files: Vec<Vec<String>> = Vec::new();
    let mut tracks: Vec<DiscTrack> = Vec::new();
    let mut file_blocks = 0u32;
    for si in 0..usize::from(sessions) {
        let what = format!("session block {}", si.saturating_add(1));
        let s = bin.sub(si.saturating_mul(24).saturating_add(table), 24, &what)?;
        let number = u32::from(s.u16le(8, &what)?);
        let blocks = usize::from(s.u8(10, &what)?);
        let at = usize::try_from(s.u32le(20, &what)?).unwrap_or(usize::MAX);
        for bi in 0..blocks {
            let what = format!("track block {bi} of session {number}");
            let b = bin.sub(bi.saturating_mul(80).saturating_add(at), 80, &what)?;
            let point = b.u8(4, &what)?;
            if !(1..=99).contains(&point) {
                continue;
            }
            let (mode_byte, sub) = (b.u8(0, &what)?, b.u8(1, &what)?);
            let size = u32::from(b.u16le(16, &what)?);
            let sub_bytes = if sub == 0x08 { 96 } else { 0 };
            let main = size.saturating_sub(sub_bytes);
            let mode = mode_of(mode_byte, main).ok_or_else(|| {
                bad(path, format!("{what}: mode {mode_byte:#04x} with {size}-byte sectors is not a CD sector format"))
            })?;
            let start = i64::from(b.u32le(36, &what)? as i32);
            let offset = b.u64le(40, &what)?;
            let nfiles = b.u32le(48, &what)?;
            if nfiles == 0 || nfiles > MAX_PIECES {
                return Err(bad(path, format!("{what}: a data file in {nfiles} pieces (1 to {MAX_PIECES})")));
            }
            file_blocks = file_blocks.saturating_add(nfiles);
            if file_blocks > MAX_FILE_BLOCKS {
                return Err(bad(path, format!("{what}: more than {MAX_FILE_BLOCKS} file blocks in the descriptor")));
            }
            let first_block = usize::try_from(b.u32le(52, &what)?).unwrap_or(usize::MAX);
            let mut pieces = Vec::new();
            for j in 0..nfiles as usize {
                let fb = bin.sub(
                    first_block.saturating_add(j.saturating_mul(16)),
                    16,
                    &format!("{what}: file block {}", j.saturating_add(1)),
                )?;
                pieces.push(file_name(&bin, &fb, &what)?);
            }
            let file = match files.iter().position(|f| *f == pieces) {
                Some(i) => i,
                None => {
                    files.push(pieces);
                    files.len().saturating_sub(1)
                }
            };
            let extra_at = usize::try_from(b.u32le(12, &what)?).unwrap_or(usize::MAX);
            let (pregap, length) = if dvd || extra_at == 0 {
                (0, 0)
            } else {
                let e = bin.sub(extra_at, 8, &format!("{what}: extra block"))?;
                (e.u32le(0, &what)?, u64::from(e.u32le(4, &what)?))
            };
            if pregap > 100 * 60 * 75 {
                return Err(bad(path, format!("{what}: a pregap of {pregap} sectors")));
            }
            tracks.push(DiscTrack {
                number: point,
                session: number.max(1),
                mode,
                file,
                file_offset: offset,
                first_lba: start,
                start_lba: start,
                stored: length,
                unstored_pregap: pregap,
                postgap: 0,
                sub_bytes,
            });
        }
    }
    if tracks.is_empty() {
        return Err(bad(path, "the MDS descriptor has no tracks".into()));
    }
    tracks.sort_by_key(|t| t.number);
    Ok(MdsLayout { dvd, files, tracks })
}

/// The file name a file block points at: NUL-terminated bytes, or UTF-16LE when its second field says so.
fn file_name(bin: &Bin, fb: &Bin, what: &str) -> Result<String> {
    let at = usize::try_from(fb.u32le(0, what)?).unwrap_or(usize::MAX);
    let wide = fb.u32le(4, what)? != 0;
    let rest = bin.data.get(at..).ok_or_else(|| bad(bin.path, format!("{what}: the file name is past the end")))?;
    let rest = rest.get(..rest.len().min(MAX_NAME)).unwrap_or_default();
    let name = if wide {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned()
    };
    if name.is_empty() {
        return Err(bad(bin.path, format!("{what}: empty file name")));
    }
    Ok(name)
}

/// The pieces of a data file Alcohol split, read as one file: each piece's bytes follow the previous one's.
pub struct SplitStore {
    /// Each piece: where its bytes start in the whole, the file, its path.
    pieces: Vec<(u64, File, PathBuf)>,
    len: u64,
}

impl fmt::Debug for SplitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<&PathBuf> = self.pieces.iter().map(|p| &p.2).collect();
        f.debug_struct("SplitStore").field("pieces", &paths).field("len", &self.len).finish()
    }
}

impl SplitStore {
    /// Opens the pieces `paths`, in order (`sheet` names the descriptor in messages).
    ///
    /// # Errors
    /// [`Error::MissingFile`] naming the piece that cannot be opened.
    pub fn open(sheet: &Path, paths: &[PathBuf]) -> Result<SplitStore> {
        let mut pieces = Vec::with_capacity(paths.len());
        let mut len = 0u64;
        for p in paths {
            let missing = |source| Error::MissingFile { sheet: sheet.to_path_buf(), file: p.clone(), source };
            let file = File::open(p).map_err(missing)?;
            let meta = file.metadata().map_err(missing)?;
            if meta.is_dir() {
                return Err(missing(io::Error::new(io::ErrorKind::InvalidInput, "is a directory")));
            }
            pieces.push((len, file, p.clone()));
            len = len.saturating_add(meta.len());
        }
        Ok(SplitStore { pieces, len })
    }
}

impl ByteStore for SplitStore {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if offset.checked_add(buf.len() as u64).is_none_or(|end| end > self.len) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("read of {} bytes at {offset} past the end of the pieces ({} bytes)", buf.len(), self.len),
            ));
        }
        let mut done = 0usize;
        // The last piece starting at or before the offset (an empty piece starts where the next one does).
        let mut i = self.pieces.partition_point(|p| p.0 <= offset).saturating_sub(1);
        while done < buf.len() {
            let Some((start, file, path)) = self.pieces.get(i) else {
                return Err(io::ErrorKind::UnexpectedEof.into());
            };
            let end = self.pieces.get(i.saturating_add(1)).map_or(self.len, |p| p.0);
            let at = offset.saturating_add(done as u64);
            let n = usize::try_from(end.saturating_sub(at)).unwrap_or(usize::MAX).min(buf.len().saturating_sub(done));
            if n > 0 {
                let chunk = buf.get_mut(done..done.saturating_add(n)).unwrap_or_default();
                file.read_exact_at(chunk, at.saturating_sub(*start))
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                done = done.saturating_add(n);
            }
            i = i.saturating_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_pieces_read_as_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let whole: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let cuts = [0, 3000, 3000, 7001, 10_000]; // an empty piece in the middle
        let paths: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("x.md{i}"))).collect();
        for (i, p) in paths.iter().enumerate() {
            std::fs::write(p, &whole[cuts[i]..cuts[i + 1]]).unwrap();
        }
        let s = SplitStore::open(Path::new("x.mds"), &paths).unwrap();
        assert_eq!(s.len(), 10_000);
        for (at, n) in [(0, 10_000), (2990, 20), (3000, 4001), (7000, 3000), (9999, 1), (0, 0)] {
            let mut buf = vec![0u8; n];
            s.read_at(at as u64, &mut buf).unwrap();
            assert_eq!(buf, whole[at..at + n], "{at} {n}");
        }
        assert!(s.read_at(9999, &mut [0u8; 2]).is_err());
        let missing = [paths[0].clone(), dir.path().join("x.md9")];
        let e = SplitStore::open(Path::new("x.mds"), &missing).unwrap_err().to_string();
        assert!(e.contains("x.md9"), "{e}");
    }
}

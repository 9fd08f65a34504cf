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
//!   name with that extension.
//!
//! Not read: `.mds` version 2 (Alcohol 52%/120% 2.x, encrypted), images split over several files (`.md0`,
//! `.md1`, ...), and the DVD structures, BCA and DPM data (they do not affect the sectors).

use std::path::{Path, PathBuf};

use crate::binfmt::{bad, read_region, Bin};
use crate::cue::{FileType, TrackMode};
use crate::error::{Error, Result};
use crate::image::{DiscTrack, ImageFile, RawDisc, SheetKind};

/// What a `.mds` describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdsLayout {
    /// Whether the medium is a DVD (one track of 2048-byte sectors filling its file).
    pub dvd: bool,
    /// The files named, as written in the `.mds`.
    pub files: Vec<String>,
    /// The tracks (`file` indexes `files`; for a DVD `stored` is 0: its file's length gives it).
    pub tracks: Vec<DiscTrack>,
}

/// Opens the Alcohol 120% image whose descriptor is at `path`.
///
/// # Errors
/// [`Error::Layout`] naming the block that is wrong; [`Error::MissingFile`] when the `.mdf` is missing;
/// [`Error::Unsupported`] for version 2 descriptors and split images.
pub fn open(path: &Path) -> Result<RawDisc> {
    let len = std::fs::metadata(path).map(|m| m.len()).map_err(|source| Error::Io { path: path.into(), source })?;
    let data = read_region(path, 0, len, "descriptor")?;
    let layout = parse(path, &data)?;
    let mut files = Vec::new();
    for name in &layout.files {
        files.push(ImageFile::new(path, data_file(path, name), FileType::Binary)?);
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
        return Err(Error::Unsupported {
            what: format!("an MDS descriptor of version {version} ({})", path.display()),
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
    let mut files: Vec<String> = Vec::new();
    let mut tracks: Vec<DiscTrack> = Vec::new();
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
            if nfiles != 1 {
                return Err(Error::Unsupported {
                    what: format!("{what}: an image split over {nfiles} files ({})", path.display()),
                });
            }
            let fb = bin.sub(
                usize::try_from(b.u32le(52, &what)?).unwrap_or(usize::MAX),
                16,
                &format!("{what}: file block"),
            )?;
            let name = file_name(&bin, &fb, &what)?;
            let file = match files.iter().position(|f| *f == name) {
                Some(i) => i,
                None => {
                    files.push(name);
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

//! DiscJuggler images (`.cdi`, versions 2, 3 and 3.5): the sectors of every track one after the other, then a
//! descriptor of the sessions and tracks, found through the footer.
//!
//! Layout (libmirage's CDI parser and the DiscJuggler notes it cites; all numbers little-endian):
//! - footer: the version (0x80000004 v2, 0x80000005 v3, 0x80000006 v3.5) 8 bytes before the end, then the
//!   descriptor's position: its offset from the start of the file (v2, v3), or its distance from the end (v3.5);
//! - descriptor: a 16-bit session count; per session a 16-bit track count, its tracks, then 12 (v2) or 13 bytes;
//! - track: a 32-bit word (when not 0, 8 more bytes follow), twice the start mark `00 00 01 00 00 00 FF FF FF
//!   FF`, 4 bytes, the file name (a length byte, then the name), 23 bytes whose last 4 are 0x80000000 when 8 more
//!   follow (DiscJuggler 4), a 16-bit index count and one 32-bit length per index (the first is the pregap), a
//!   32-bit CD-TEXT block count and per block 18 fields (a length byte, then the text), 2 bytes, the mode (0
//!   audio, 1 Mode 1, 2 Mode 2), 4 bytes, session and track index, start LBA (INDEX 01), total length in sectors
//!   (pregap included), 16 bytes, the read mode (sector size in the file: 0 2048, 1 2336, 2 2352, 3 2352 + 16
//!   bytes of Q subchannel, 4 2352 + 96 bytes of P-W), control, 9 bytes, ISRC (12) and its flag (4); from v3 on,
//!   9 more bytes, and 78 after them when their last 4 are all ones;
//! - the tracks' sectors are stored in order from the start of the file, each track's pregap included.
//!
//! Not read: CD-TEXT (skipped), DVD images.

use std::path::Path;

use crate::binfmt::{bad, file_len, Bin, Cur, FileRegion, Region};
use crate::cue::{FileType, TrackMode};
use crate::error::Result;
use crate::image::{DiscTrack, ImageFile, RawDisc, SheetKind};

/// Version 2.
pub const V2: u32 = 0x8000_0004;
/// Version 3.
pub const V3: u32 = 0x8000_0005;
/// Version 3.5.
pub const V35: u32 = 0x8000_0006;

const MARK: [u8; 10] = [0, 0, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];

/// Opens the DiscJuggler image at `path`.
///
/// # Errors
/// [`crate::Error::Layout`] naming the footer, session or track that is wrong; [`crate::Error::Io`].
pub fn open(path: &Path) -> Result<RawDisc> {
    let len = file_len(path)?;
    let tracks = layout(path, &FileRegion { path, len })?;
    let file = ImageFile::new(path, path.to_path_buf(), FileType::Binary)?;
    RawDisc::from_parts(path, SheetKind::Cdi, vec![file], tracks)
}

/// The tracks the descriptor of `image` describes, all stored in the image itself (file 0).
///
/// # Errors
/// As [`open`].
pub fn layout(path: &Path, image: &dyn Region) -> Result<Vec<DiscTrack>> {
    let len = image.len();
    let Some(foot) = len.checked_sub(8) else {
        return Err(bad(path, format!("{len} bytes are too few for a DiscJuggler footer")));
    };
    let tail = image.read(foot, 8, "DiscJuggler footer")?;
    let t = Bin { data: &tail, path };
    let version = t.u32le(0, "footer version")?;
    let pos = u64::from(t.u32le(4, "footer offset")?);
    let start = match version {
        V2 | V3 => pos,
        V35 => len.checked_sub(pos).unwrap_or(u64::MAX),
        v => return Err(bad(path, format!("unknown DiscJuggler version {v:#x} in the footer"))),
    };
    let Some(size) = foot.checked_sub(start).filter(|&s| s > 0) else {
        return Err(bad(path, format!("the DiscJuggler footer puts the descriptor at byte {start}, past the footer")));
    };
    let data = image.read(start, size, "DiscJuggler descriptor")?;
    let mut c = Cur { bin: Bin { data: &data, path }, pos: 0 };
    let sessions = c.u16le("session count")?;
    if sessions == 0 || sessions > 99 {
        return Err(bad(path, format!("the descriptor announces {sessions} sessions")));
    }
    let mut tracks: Vec<DiscTrack> = Vec::new();
    let mut offset = 0u64;
    for s in 1..=u32::from(sessions) {
        let count = c.u16le(&format!("track count of session {s}"))?;
        if count == 0 || tracks.len().saturating_add(usize::from(count)) > 99 {
            return Err(bad(path, format!("session {s} has {count} tracks")));
        }
        for _ in 0..count {
            let number = u8::try_from(tracks.len().saturating_add(1)).unwrap_or(99);
            let t = track(&mut c, version, number, s)?;
            let (mode, sub, pregap, total, start_lba) = t;
            let stride = u64::from(mode.sector_size().saturating_add(sub));
            tracks.push(DiscTrack {
                number,
                session: s,
                mode,
                file: 0,
                file_offset: offset,
                first_lba: start_lba.saturating_sub(i64::from(pregap)),
                start_lba,
                stored: u64::from(total),
                unstored_pregap: 0,
                postgap: 0,
                sub_bytes: sub,
            });
            offset = offset.saturating_add(u64::from(total).saturating_mul(stride));
        }
        c.skip(if version == V2 { 12 } else { 13 }, &format!("end of session {s}"))?;
    }
    Ok(tracks)
}

/// One track descriptor: mode, subchannel bytes, pregap, total length and INDEX 01 LBA.
fn track(c: &mut Cur, version: u32, number: u8, session: u32) -> Result<(TrackMode, u32, u32, u32, i64)> {
    let what = format!("track {number:02} (session {session}) of the descriptor");
    let w = what.as_str();
    if c.u32le(w)? != 0 {
        c.skip(8, w)?;
    }
    if c.bytes(10, w)? != MARK || c.bytes(10, w)? != MARK {
        return Err(bad(c.bin.path, format!("{w}: no track start mark")));
    }
    c.skip(4, w)?;
    let name_len = c.u8(w)?;
    c.skip(usize::from(name_len), w)?;
    let fixed = c.bytes(23, w)?;
    if fixed.get(19..23) == Some(&[0, 0, 0, 0x80][..]) {
        c.skip(8, w)?;
    }
    let indexes = c.u16le(w)?;
    if indexes == 0 || indexes > 100 {
        return Err(bad(c.bin.path, format!("{w}: {indexes} indexes")));
    }
    let pregap = c.u32le(w)?;
    for _ in 1..indexes {
        c.u32le(w)?;
    }
    let cdtext = c.u32le(w)?;
    if cdtext > 8 {
        return Err(bad(c.bin.path, format!("{w}: {cdtext} CD-TEXT blocks")));
    }
    for _ in 0..cdtext.saturating_mul(18) {
        let l = c.u8(w)?;
        c.skip(usize::from(l), w)?;
    }
    c.skip(2, w)?;
    let mode = c.u32le(w)?;
    c.skip(4 + 4 + 4, w)?;
    let start = i64::from(c.u32le(w)? as i32);
    let total = c.u32le(w)?;
    c.skip(16, w)?;
    let read_mode = c.u32le(w)?;
    c.skip(4 + 9 + 12 + 4, w)?;
    if version != V2 {
        let more = c.bytes(9, w)?;
        if more.get(5..9) == Some(&[0xFF; 4][..]) {
            c.skip(78, w)?;
        }
    }
    let (size, sub) = match read_mode {
        0 => (2048, 0),
        1 => (2336, 0),
        2 => (2352, 0),
        3 => (2352, 16),
        4 => (2352, 96),
        m => return Err(bad(c.bin.path, format!("{w}: unknown read mode {m}"))),
    };
    let mode = match (mode, size) {
        (0, 2352) => TrackMode::Audio,
        (1, 2048) => TrackMode::Mode1_2048,
        (1, 2352) => TrackMode::Mode1_2352,
        (2, 2048) => TrackMode::Mode2_2048,
        (2, 2336) => TrackMode::Mode2_2336,
        (2, 2352) => TrackMode::Mode2_2352,
        (m, s) => return Err(bad(c.bin.path, format!("{w}: mode {m} with {s}-byte sectors"))),
    };
    if pregap >= total {
        return Err(bad(c.bin.path, format!("{w}: a pregap of {pregap} sectors in a track of {total}")));
    }
    Ok((mode, sub, pregap, total, start))
}

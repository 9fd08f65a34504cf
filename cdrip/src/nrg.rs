//! Nero images (`.nrg`): the sectors first, then a chain of chunks describing them, found through the footer.
//!
//! Layout, as libmirage's NRG parser documents it:
//! - footer: `"NER5"` and a 64-bit big-endian offset of the first chunk in the last 12 bytes (v2, Nero 5.5 and
//!   later), or `"NERO"` and a 32-bit one in the last 8 bytes (v1);
//! - chunks: a 4-byte name, a 32-bit big-endian length, that many bytes; the chain ends with `END!`;
//! - a disc-at-once session is a `CUEX` (v2; `CUES` in v1) chunk of 8-byte entries (ADR/control, track and index
//!   in BCD, then the position: a big-endian LBA in v2, an MSF in v1) followed by a `DAOX` (`DAOI`) chunk: a
//!   22-byte header (first and last track numbers in its last two bytes) and one block per track (ISRC, sector
//!   size, mode code, then the file offsets of its pregap, its INDEX 01 and its end: 64-bit in v2, 32-bit in v1);
//! - a track-at-once session is an `ETN2` (`ETNF`) chunk of one entry per track (file offset, length in bytes,
//!   mode code, start LBA);
//! - `SINF` (tracks per session), `MTYP` (medium type), `CDTX` (CD-TEXT), `AFNM`, `DINF` and `TOCT` are skipped.
//!
//! Mode codes: 0 Mode 1 (2048 bytes), 2 Mode 2 Form 1 (2048), 3 Mode 2 (2336), 5 Mode 1 raw (2352), 6 Mode 2 raw
//! (2352), 7 audio (2352), 0x0F / 0x10 / 0x11 Mode 1 / audio / Mode 2 raw with 96 bytes of subchannel after each
//! sector.

use std::path::Path;

use crate::binfmt::{bad, file_len, Bin, FileRegion, Region};
use crate::cue::{FileType, TrackMode};
use crate::error::Result;
use crate::image::{DiscTrack, ImageFile, RawDisc, SheetKind, FIRST_LEADOUT, LATER_LEADOUT, LEADIN, SESSION_PREGAP};
use crate::sector::Msf;

/// Most tracks a disc has.
const MAX_TRACKS: usize = 99;

/// Opens the Nero image at `path`.
///
/// # Errors
/// [`crate::Error::Layout`] naming the footer or chunk that is wrong; [`crate::Error::Io`].
pub fn open(path: &Path) -> Result<RawDisc> {
    let len = file_len(path)?;
    let tracks = layout(path, &FileRegion { path, len })?;
    let file = ImageFile::new(path, path.to_path_buf(), FileType::Binary)?;
    RawDisc::from_parts(path, SheetKind::Nrg, vec![file], tracks)
}

/// The tracks the footer of `image` describes, every one stored in the image itself (file 0).
///
/// # Errors
/// As [`open`].
pub fn layout(path: &Path, image: &dyn Region) -> Result<Vec<DiscTrack>> {
    let len = image.len();
    let Some(tail_at) = len.checked_sub(12) else {
        return Err(bad(path, format!("{len} bytes are too few for a Nero footer")));
    };
    let tail = image.read(tail_at, 12, "Nero footer")?;
    let t = Bin { data: &tail, path };
    let (v2, first, end) = if t.get(0, 4, "footer")? == b"NER5" {
        (true, t.u64be(4, "footer offset")?, tail_at)
    } else if t.get(4, 4, "footer")? == b"NERO" {
        (false, u64::from(t.u32be(8, "footer offset")?), len.saturating_sub(8))
    } else {
        return Err(bad(path, "no Nero footer (NER5 or NERO) at the end of the file".into()));
    };
    let Some(chain_len) = end.checked_sub(first).filter(|&l| l > 0) else {
        return Err(bad(path, format!("the Nero footer points at byte {first}, past its own start at byte {end}")));
    };
    let chunks = image.read(first, chain_len, "Nero chunk chain")?;
    let sessions = parse_chunks(path, &chunks, v2)?;
    place(path, &sessions, v2)
}

/// One session as its chunks describe it.
enum Session<'a> {
    /// Disc-at-once: the CUE entries and the DAO chunk.
    Dao { cue: Option<Bin<'a>>, dao: Bin<'a> },
    /// Track-at-once: the ETN chunk.
    Tao(Bin<'a>),
}

fn parse_chunks<'a>(path: &'a Path, data: &'a [u8], v2: bool) -> Result<Vec<Session<'a>>> {
    let bin = Bin { data, path };
    let mut sessions = Vec::new();
    let mut cue = None;
    let mut pos = 0usize;
    let version = if v2 { "v2 (NER5)" } else { "v1 (NERO)" };
    // Every chunk takes at least 8 bytes and the walk only moves forward, so it ends.
    while pos < data.len() {
        let head = bin.sub(pos, 8, &format!("chunk header at byte {pos} of the chain"))?;
        let id = head.get(0, 4, "chunk name")?;
        let name = id.escape_ascii().to_string();
        let size = usize::try_from(head.u32be(4, "chunk length")?).unwrap_or(usize::MAX);
        let body = bin.sub(pos.saturating_add(8), size, &format!("chunk {name} (at byte {pos} of the chain)"))?;
        match id {
            b"END!" => break,
            b"CUEX" | b"CUES" | b"DAOX" | b"DAOI" | b"ETN2" | b"ETNF"
                if matches!(id, b"CUEX" | b"DAOX" | b"ETN2") != v2 =>
            {
                return Err(bad(path, format!("chunk {name} in a {version} image")));
            }
            b"CUEX" | b"CUES" => cue = Some(body),
            b"DAOX" | b"DAOI" => sessions.push(Session::Dao { cue: cue.take(), dao: body }),
            b"ETN2" | b"ETNF" => sessions.push(Session::Tao(body)),
            _ => {}
        }
        pos = pos.saturating_add(8).saturating_add(size);
    }
    if sessions.is_empty() {
        return Err(bad(path, "the Nero chunk chain has no DAOX/DAOI or ETN2/ETNF chunk: no tracks".into()));
    }
    Ok(sessions)
}

/// The track mode and subchannel bytes of a Nero mode code.
fn mode_of(code: u8) -> Option<(TrackMode, u32)> {
    Some(match code {
        0x00 => (TrackMode::Mode1_2048, 0),
        0x02 => (TrackMode::Mode2_2048, 0),
        0x03 => (TrackMode::Mode2_2336, 0),
        0x05 => (TrackMode::Mode1_2352, 0),
        0x06 => (TrackMode::Mode2_2352, 0),
        0x07 => (TrackMode::Audio, 0),
        0x0F => (TrackMode::Mode1_2352, 96),
        0x10 => (TrackMode::Audio, 96),
        0x11 => (TrackMode::Mode2_2352, 96),
        _ => return None,
    })
}

fn bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi < 10 && lo < 10).then(|| hi.saturating_mul(10).saturating_add(lo))
}

/// The (track, index, LBA) of every entry of a CUE chunk (track 0 is the lead-in, 0xAA the lead-out).
fn cue_entries(cue: &Bin, v2: bool) -> Result<Vec<(u8, u8, i64)>> {
    let mut out = Vec::new();
    for i in 0..cue.data.len() / 8 {
        let what = format!("CUE entry {i}");
        let e = cue.sub(i.saturating_mul(8), 8, &what)?;
        let (track, index) = (e.u8(1, &what)?, e.u8(2, &what)?);
        let lba = if v2 {
            i64::from(e.u32be(4, &what)? as i32)
        } else {
            Msf { minute: e.u8(5, &what)?, second: e.u8(6, &what)?, frame: e.u8(7, &what)? }.to_lba()
        };
        let track = if track == 0xAA { Some(0xAA) } else { bcd(track) };
        let (Some(track), Some(index)) = (track, bcd(index)) else {
            return Err(bad(cue.path, format!("{what}: track or index is not a BCD number")));
        };
        out.push((track, index, lba));
    }
    Ok(out)
}

fn place(path: &Path, sessions: &[Session], v2: bool) -> Result<Vec<DiscTrack>> {
    let off_len: usize = if v2 { 8 } else { 4 };
    let mut tracks: Vec<DiscTrack> = Vec::new();
    for (si, s) in sessions.iter().enumerate() {
        let session = u32::try_from(si).unwrap_or(u32::MAX).saturating_add(1);
        match s {
            Session::Dao { cue, dao } => {
                let block = off_len.saturating_mul(3).saturating_add(18);
                let count = dao.data.len().saturating_sub(22).checked_div(block).unwrap_or(0);
                if count == 0 || tracks.len().saturating_add(count) > MAX_TRACKS {
                    return Err(bad(path, format!("the DAO chunk of session {session} describes {count} tracks")));
                }
                let first_number = dao.u8(20, "DAO header")?;
                let Some(cue) = cue else {
                    return Err(bad(path, format!("session {session} has a DAO chunk but no CUE chunk before it")));
                };
                let entries = cue_entries(cue, v2)?;
                for i in 0..count {
                    let what = format!("DAO block {i} of session {session}");
                    let b = dao.sub(i.saturating_mul(block).saturating_add(22), block, &what)?;
                    let size = u32::from(b.u16be(12, &what)?);
                    let code = b.u8(14, &what)?;
                    let rd = |k: usize| -> Result<u64> {
                        let at = k.saturating_mul(off_len).saturating_add(18);
                        if v2 {
                            b.u64be(at, &what)
                        } else {
                            b.u32be(at, &what).map(u64::from)
                        }
                    };
                    let (pregap, start, end) = (rd(0)?, rd(1)?, rd(2)?);
                    let number = u8::try_from(i).ok().and_then(|i| first_number.checked_add(i)).unwrap_or(0);
                    if number == 0 || usize::from(number) > MAX_TRACKS {
                        return Err(bad(path, format!("{what}: track number {number} is not 1 to 99")));
                    }
                    let (mode, sub) =
                        mode_of(code).ok_or_else(|| bad(path, format!("{what}: unknown mode code {code:#04x}")))?;
                    if mode.sector_size().saturating_add(sub) != size {
                        return Err(bad(
                            path,
                            format!("{what}: sector size {size} does not fit mode code {code:#04x}"),
                        ));
                    }
                    if !(pregap <= start && start < end) {
                        return Err(bad(
                            path,
                            format!("{what}: file offsets {pregap}, {start}, {end} are out of order"),
                        ));
                    }
                    let stride = u64::from(size);
                    let gap = start.saturating_sub(pregap).checked_div(stride).unwrap_or(0);
                    let stored = end.saturating_sub(pregap).checked_div(stride).unwrap_or(0);
                    let index1 = entries
                        .iter()
                        .find(|&&(t, x, _)| t == number && x == 1)
                        .map(|&(_, _, lba)| lba)
                        .ok_or_else(|| bad(path, format!("the CUE chunk has no INDEX 01 for track {number:02}")))?;
                    tracks.push(DiscTrack {
                        number,
                        session,
                        mode,
                        file: 0,
                        file_offset: pregap,
                        first_lba: index1.saturating_sub(i64::try_from(gap).unwrap_or(i64::MAX)),
                        start_lba: index1,
                        stored,
                        unstored_pregap: 0,
                        postgap: 0,
                        sub_bytes: sub,
                    });
                }
            }
            Session::Tao(etn) => {
                let entry: usize = if v2 { 32 } else { 20 };
                let count = etn.data.len().checked_div(entry).unwrap_or(0);
                if count == 0 || tracks.len().saturating_add(count) > MAX_TRACKS {
                    return Err(bad(path, format!("the ETN chunk of session {session} describes {count} tracks")));
                }
                for i in 0..count {
                    let what = format!("ETN entry {i} of session {session}");
                    let e = etn.sub(i.saturating_mul(entry), entry, &what)?;
                    let (offset, bytes, code, lba) = if v2 {
                        (e.u64be(0, &what)?, e.u64be(8, &what)?, e.u8(19, &what)?, e.u32be(20, &what)?)
                    } else {
                        let o = u64::from(e.u32be(0, &what)?);
                        (o, u64::from(e.u32be(4, &what)?), e.u8(11, &what)?, e.u32be(12, &what)?)
                    };
                    let (mode, sub) =
                        mode_of(code).ok_or_else(|| bad(path, format!("{what}: unknown mode code {code:#04x}")))?;
                    let stored = bytes.checked_div(u64::from(mode.sector_size().saturating_add(sub))).unwrap_or(0);
                    // Where the track begins: the entry's LBA when it lies past the previous track, else the
                    // previous end plus the pregap every track-at-once track has (and, for a session's first
                    // track, the previous session's lead-out and this one's lead-in).
                    let minimal = match tracks.last() {
                        None => 0,
                        Some(p) if p.session != session => {
                            let out = if p.session == 1 { FIRST_LEADOUT } else { LATER_LEADOUT };
                            p.end_lba().saturating_add(out).saturating_add(LEADIN).saturating_add(SESSION_PREGAP)
                        }
                        Some(p) => p.end_lba().saturating_add(SESSION_PREGAP),
                    };
                    let given = i64::from(lba);
                    let start = if given >= minimal { given } else { minimal };
                    let start = if tracks.is_empty() { 0 } else { start };
                    let number = u8::try_from(tracks.len().saturating_add(1)).unwrap_or(u8::MAX);
                    tracks.push(DiscTrack {
                        number,
                        session,
                        mode,
                        file: 0,
                        file_offset: offset,
                        first_lba: start,
                        start_lba: start,
                        stored,
                        unstored_pregap: 150,
                        postgap: 0,
                        sub_bytes: sub,
                    });
                }
            }
        }
    }
    Ok(tracks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binfmt::MemRegion;

    #[test]
    fn hostile_footers_are_errors() {
        let p = Path::new("x.nrg");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"NER".to_vec(), "too few"),
            (vec![0u8; 64], "no Nero footer"),
            ([vec![0u8; 20], b"NER5".to_vec(), 1000u64.to_be_bytes().to_vec()].concat(), "past its own start"),
            (
                [
                    b"CUEX".to_vec(),
                    0xFFFF_FFF0u32.to_be_bytes().to_vec(),
                    b"NER5".to_vec(),
                    0u64.to_be_bytes().to_vec(),
                ]
                .concat(),
                "chunk CUEX",
            ),
            ([b"END!\0\0\0\0".to_vec(), b"NER5".to_vec(), 0u64.to_be_bytes().to_vec()].concat(), "no tracks"),
        ];
        for (data, want) in cases {
            let e = layout(p, &MemRegion { data: &data, path: p }).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }
}

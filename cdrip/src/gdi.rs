//! Dreamcast GD-ROM images (`.gdi`): a text file naming one file per track.
//!
//! Format (as libmirage's and the Dreamcast emulators' readers take it): a first line with the track count, then
//! one line per track: `number LBA type sector-size file offset`, where type 0 is audio and 4 data, the sector
//! size is 2352 (raw sectors) or 2048 (user data), the file name may be in double quotes, and the offset is 0.
//!
//! A GD-ROM has two areas: the single-density area (tracks 1 and 2, from LBA 0) that any CD drive reads, and the
//! high-density area from LBA 45000 (track 3 on) that holds the game and its ISO 9660 file system. The
//! high-density area is laid out as session 2, so that the file system read by default is the game's (the last
//! session with a data track) and `--session 1` reads the single-density area's.

use std::path::Path;

use crate::binfmt::{bad, read_text, words};
use crate::cue::{self, FileType, TrackMode};
use crate::error::Result;
use crate::image::{DiscTrack, ImageFile, RawDisc, SheetKind};
use crate::sector::SYNC;

/// Where the high-density area of a GD-ROM starts.
pub const HIGH_DENSITY_LBA: i64 = 45000;

/// One track line of a `.gdi` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GdiTrack {
    /// Track number.
    pub number: u8,
    /// LBA of its first sector.
    pub lba: i64,
    /// Whether it is a data track (type 4).
    pub data: bool,
    /// Bytes per sector in its file.
    pub sector_size: u32,
    /// Its file, as written.
    pub file: String,
}

/// Reads the text of a `.gdi` file (`path` names it in messages).
///
/// # Errors
/// [`crate::Error::Layout`] naming the line that cannot be understood.
pub fn parse(path: &Path, text: &str) -> Result<Vec<GdiTrack>> {
    let mut lines =
        text.lines().enumerate().map(|(i, l)| (i.saturating_add(1), l.trim())).filter(|(_, l)| !l.is_empty());
    let (_, first) = lines.next().ok_or_else(|| bad(path, "empty GDI file".into()))?;
    let count: usize = match first.parse() {
        Ok(n) if (1..=99).contains(&n) => n,
        _ => return Err(bad(path, format!("line 1: {first:?} is not a track count from 1 to 99"))),
    };
    let mut tracks: Vec<GdiTrack> = Vec::new();
    for (n, line) in lines.take(count) {
        let w = words(line);
        let field = |i: usize, what: &str| -> Result<i64> {
            w.get(i)
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| bad(path, format!("line {n}: the {what} is not a number")))
        };
        if w.len() < 6 {
            return Err(bad(path, format!("line {n}: a track line has six fields (number LBA type size file offset)")));
        }
        let number = u8::try_from(field(0, "track number")?).ok().filter(|n| (1..=99).contains(n));
        let expected = u8::try_from(tracks.len().saturating_add(1)).unwrap_or(0);
        let number = number
            .filter(|&x| x == expected)
            .ok_or_else(|| bad(path, format!("line {n}: expected track {expected}")))?;
        let lba = field(1, "LBA")?;
        if !(0..=crate::sector::MAX_LBA).contains(&lba) || tracks.last().is_some_and(|p| p.lba >= lba) {
            return Err(bad(path, format!("line {n}: LBA {lba} is out of order or out of range")));
        }
        let data = match field(2, "track type")? {
            0 => false,
            4 => true,
            t => return Err(bad(path, format!("line {n}: track type {t} (0 is audio, 4 data)"))),
        };
        let sector_size = match field(3, "sector size")? {
            s @ (2352 | 2048 | 2336) if data || s == 2352 => u32::try_from(s).unwrap_or(0),
            s => {
                return Err(bad(
                    path,
                    format!("line {n}: sector size {s} for a{} track", if data { " data" } else { "n audio" }),
                ))
            }
        };
        if field(5, "offset")? != 0 {
            return Err(bad(path, format!("line {n}: a non-zero offset field is not read")));
        }
        let file = w.get(4).cloned().unwrap_or_default();
        tracks.push(GdiTrack { number, lba, data, sector_size, file });
    }
    if tracks.len() != count {
        return Err(bad(path, format!("the GDI file announces {count} tracks but describes {}", tracks.len())));
    }
    Ok(tracks)
}

/// Opens the GD-ROM image described by the `.gdi` file at `path`.
///
/// # Errors
/// As [`parse`]; [`crate::Error::MissingFile`] for a track file that cannot be opened.
pub fn open(path: &Path) -> Result<RawDisc> {
    let text = read_text(path)?;
    let lines = parse(path, &text)?;
    let mut files = Vec::new();
    let mut tracks = Vec::new();
    for (i, g) in lines.iter().enumerate() {
        let file = ImageFile::new(path, cue::resolve_file(path, &g.file), FileType::Binary)?;
        let mode = match (g.data, g.sector_size) {
            (false, _) => TrackMode::Audio,
            (true, 2048) => TrackMode::Mode1_2048,
            (true, 2336) => TrackMode::Mode2_2336,
            (true, _) => {
                let mut head = [0u8; 16];
                let mode2 = file.read_at_shared(0, &mut head).is_ok()
                    && head.get(..12) == Some(&SYNC[..])
                    && head.get(15) == Some(&2);
                if mode2 {
                    TrackMode::Mode2_2352
                } else {
                    TrackMode::Mode1_2352
                }
            }
        };
        let mut stored = file.len.checked_div(u64::from(g.sector_size)).unwrap_or(0);
        // A track file longer than the room before the next track is cut there.
        if let Some(next) = lines.get(i.saturating_add(1)) {
            stored = stored.min(u64::try_from(next.lba.saturating_sub(g.lba)).unwrap_or(0));
        }
        tracks.push(DiscTrack {
            number: g.number,
            session: if g.lba >= HIGH_DENSITY_LBA { 2 } else { 1 },
            mode,
            file: files.len(),
            file_offset: 0,
            first_lba: g.lba,
            start_lba: g.lba,
            stored,
            unstored_pregap: 0,
            postgap: 0,
            sub_bytes: 0,
        });
        files.push(file);
    }
    RawDisc::from_parts(path, SheetKind::Gdi, files, tracks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_track_lines() {
        let p = Path::new("x.gdi");
        let t = parse(p, "2\r\n1 0 4 2352 \"track 01.bin\" 0\r\n2 45000 0 2352 t2.raw 0\r\n").unwrap();
        assert_eq!(t[0], GdiTrack { number: 1, lba: 0, data: true, sector_size: 2352, file: "track 01.bin".into() });
        assert_eq!((t[1].lba, t[1].data), (45000, false));
        for (text, want) in [
            ("", "empty"),
            ("100\n", "track count"),
            ("2\n1 0 4 2352 a 0\n", "announces 2"),
            ("1\n2 0 4 2352 a 0\n", "expected track 1"),
            ("1\n1 0 3 2352 a 0\n", "track type 3"),
            ("1\n1 0 0 2048 a 0\n", "sector size 2048"),
            ("1\n1 0 4 2352 a 7\n", "non-zero offset"),
            ("2\n1 50 4 2352 a 0\n2 10 4 2352 b 0\n", "out of order"),
        ] {
            let e = parse(p, text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}

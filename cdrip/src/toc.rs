//! cdrdao table-of-contents files (`.toc`): the text description cdrdao reads and writes, with its data files.
//!
//! Read as the cdrdao(1) manual describes it:
//! - a session type (`CD_DA`, `CD_ROM`, `CD_ROM_XA`, `CD_I`), `CATALOG`, and `CD_TEXT { ... }` blocks (skipped);
//! - `TRACK mode [sub-channel mode]` with the modes `AUDIO` (2352 bytes), `MODE1` (2048), `MODE1_RAW` (2352),
//!   `MODE2` (2336), `MODE2_FORM1` (2048), `MODE2_FORM2` (2324), `MODE2_FORM_MIX` (2336), `MODE2_RAW` (2352),
//!   and the sub-channel modes `RW` / `RW_RAW` (96 more bytes after each sector);
//! - the track flags (`[NO] COPY`, `[NO] PRE_EMPHASIS`, `TWO_CHANNEL_AUDIO`, `FOUR_CHANNEL_AUDIO`, `ISRC`);
//! - its data: `SILENCE len`, `ZERO [mode] [sub-channel mode] len`, `FILE`/`AUDIOFILE "name" [SWAP] [#offset]
//!   start [len]`, `DATAFILE "name" [#offset] [len]`; lengths are `mm:ss:ff` (sectors), or plain numbers: samples
//!   (4 bytes) for audio, bytes for data;
//! - `START [mm:ss:ff]` (where INDEX 01 is), `PREGAP mm:ss:ff` (a pregap not stored), `INDEX mm:ss:ff`.
//!
//! Raw audio files hold big-endian samples unless `SWAP` is given (then little-endian, as a CUE sheet's `BINARY`
//! file). An audio file named `.wav` is a WAVE file (as cdrdao tells them): its header is skipped, its start and
//! length count from its first sample, and its samples are little-endian (`SWAP` swaps them), read through
//! [`crate::audiofile`] (44.1 kHz, 16-bit stereo only); a `#offset` (where cdrdao would look for the WAVE header
//! inside a larger file) and sub-channel modes are refused with WAVE files. A track is laid out as zero data (not
//! stored), one stored part from one file, then zero data again (a postgap); tracks whose data comes from several
//! files, and `FIFO` data, are refused.

use std::path::Path;

use crate::binfmt::{bad, read_text};
use crate::cue::{self, FileType, TrackMode};
use crate::error::{Error, Result};
use crate::image::{DiscTrack, ImageFile, RawDisc, SheetKind};

/// One track of a TOC file, before its file lengths are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TocTrack {
    /// Mode and sector size.
    pub mode: TrackMode,
    /// Sub-channel bytes after each sector (0 or 96).
    pub sub_bytes: u32,
    /// Bytes of zero data before the stored part (pregap not stored).
    pub lead_zero: u64,
    /// The stored part: file name, byte order swapped (`SWAP`), byte offset, length in bytes (`None`: to the end).
    pub file: Option<(String, bool, u64, Option<u64>)>,
    /// Bytes of zero data after the stored part.
    pub tail_zero: u64,
    /// Where INDEX 01 is, in bytes from the track's start.
    pub start: u64,
    /// The source line of its `TRACK`.
    pub line: usize,
}

impl TocTrack {
    fn stride(&self) -> u64 {
        u64::from(self.mode.sector_size().saturating_add(self.sub_bytes))
    }
}

/// A word of the text, with its line.
struct Tok {
    text: String,
    quoted: bool,
    line: usize,
}

fn tokens(path: &Path, text: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i.saturating_add(1);
        let mut chars = raw.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '/' && raw.contains("//") && chars.clone().nth(1) == Some('/') {
                break;
            } else if c == '"' {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => s.extend(chars.next()),
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(bad(path, format!("line {line}: a string without its closing quote")));
                }
                out.push(Tok { text: s, quoted: true, line });
            } else if c == '{' || c == '}' {
                chars.next();
                out.push(Tok { text: c.to_string(), quoted: false, line });
            } else {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '"' || c == '{' || c == '}' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(Tok { text: s, quoted: false, line });
            }
            if out.len() > 1 << 20 {
                return Err(Error::LimitExceeded { what: "TOC words", limit: 1 << 20, actual: out.len() as u64 });
            }
        }
    }
    Ok(out)
}

fn track_mode(word: &str) -> Option<TrackMode> {
    Some(match word {
        "AUDIO" => TrackMode::Audio,
        "MODE1" => TrackMode::Mode1_2048,
        "MODE1_RAW" => TrackMode::Mode1_2352,
        "MODE2" | "MODE2_FORM_MIX" => TrackMode::Mode2_2336,
        "MODE2_FORM1" => TrackMode::Mode2_2048,
        "MODE2_FORM2" => TrackMode::Mode2_2324,
        "MODE2_RAW" => TrackMode::Mode2_2352,
        _ => return None,
    })
}

/// `mm:ss:ff` as frames.
fn msf(s: &str) -> Option<u64> {
    cue::Frames::parse(s).map(|f| u64::from(f.0))
}

/// Reads the text of a TOC file (`path` names it in messages).
///
/// # Errors
/// [`Error::Layout`] naming the line that cannot be understood; [`Error::Unsupported`] for what is refused.
pub fn parse(path: &Path, text: &str) -> Result<Vec<TocTrack>> {
    let toks = tokens(path, text)?;
    let mut tracks: Vec<TocTrack> = Vec::new();
    let mut i = 0usize;
    let err = |line: usize, m: String| bad(path, format!("line {line}: {m}"));
    let word = |i: usize| toks.get(i).filter(|t| !t.quoted).map(|t| t.text.as_str());
    while let Some(t) = toks.get(i) {
        let line = t.line;
        let kw = if t.quoted { "" } else { t.text.as_str() };
        i = i.saturating_add(1);
        // A length: `mm:ss:ff` in sectors, or a number of samples (audio) or bytes (data).
        let length = |s: &str, tr: &TocTrack| -> Option<u64> {
            match msf(s) {
                Some(f) => f.checked_mul(tr.stride()),
                None if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() => {
                    let n: u64 = s.parse().ok()?;
                    if tr.mode == TrackMode::Audio {
                        n.checked_mul(4)
                    } else {
                        Some(n)
                    }
                }
                None => None,
            }
        };
        match kw {
            "CD_DA" | "CD_ROM" | "CD_ROM_XA" | "CD_I" | "COPY" | "PRE_EMPHASIS" | "TWO_CHANNEL_AUDIO"
            | "FOUR_CHANNEL_AUDIO" => {}
            "NO" => i = i.saturating_add(1),
            "CATALOG" | "ISRC" => i = i.saturating_add(1),
            "CD_TEXT" => {
                if word(i) != Some("{") {
                    return Err(err(line, "CD_TEXT without its block".into()));
                }
                let mut depth = 0usize;
                loop {
                    let Some(t) = toks.get(i) else {
                        return Err(err(line, "a CD_TEXT block without its closing brace".into()));
                    };
                    i = i.saturating_add(1);
                    match (t.quoted, t.text.as_str()) {
                        (false, "{") => depth = depth.saturating_add(1),
                        (false, "}") => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            "TRACK" => {
                let m = word(i).unwrap_or("");
                let mode = track_mode(m).ok_or_else(|| err(line, format!("unknown track mode {m:?}")))?;
                i = i.saturating_add(1);
                let sub_bytes = match word(i) {
                    Some("RW" | "RW_RAW") => {
                        i = i.saturating_add(1);
                        96
                    }
                    _ => 0,
                };
                if tracks.len() >= 99 {
                    return Err(err(line, "more than 99 tracks".into()));
                }
                tracks.push(TocTrack { mode, sub_bytes, lead_zero: 0, file: None, tail_zero: 0, start: 0, line });
            }
            _ => {
                let Some(tr) = tracks.last_mut() else {
                    return Err(err(line, format!("{:?} before the first TRACK", t.text)));
                };
                match kw {
                    "SILENCE" | "ZERO" | "PREGAP" => {
                        // ZERO may name a data mode and a sub-channel mode before its length.
                        while kw == "ZERO" && word(i).is_some_and(|w| track_mode(w).is_some() || w.starts_with("RW")) {
                            i = i.saturating_add(1);
                        }
                        let l = word(i).unwrap_or("");
                        let n = length(l, tr).ok_or_else(|| err(line, format!("{kw}: {l:?} is not a length")))?;
                        i = i.saturating_add(1);
                        if tr.file.is_none() {
                            tr.lead_zero = tr.lead_zero.saturating_add(n);
                            if kw == "PREGAP" {
                                tr.start = tr.lead_zero;
                            }
                        } else if kw == "PREGAP" {
                            return Err(err(line, "PREGAP after the track's data".into()));
                        } else {
                            tr.tail_zero = tr.tail_zero.saturating_add(n);
                        }
                    }
                    "FILE" | "AUDIOFILE" | "DATAFILE" => {
                        let name = match toks.get(i) {
                            Some(t) if t.quoted => t.text.clone(),
                            _ => return Err(err(line, format!("{kw} without a quoted file name"))),
                        };
                        i = i.saturating_add(1);
                        if tr.file.is_some() || tr.tail_zero > 0 {
                            return Err(Error::Unsupported {
                                what: format!("{}: line {line}: a track made of several files", path.display()),
                            });
                        }
                        let swap = word(i) == Some("SWAP");
                        if swap {
                            i = i.saturating_add(1);
                        }
                        let mut offset = 0u64;
                        if let Some(o) = word(i).and_then(|w| w.strip_prefix('#')) {
                            offset = o.parse().map_err(|_| err(line, format!("#{o} is not a byte offset")))?;
                            i = i.saturating_add(1);
                        }
                        let wave = kw != "DATAFILE" && tr.mode == TrackMode::Audio && is_wave(&name);
                        // cdrdao reads a WAVE file's header at the #offset (a WAVE file inside another file), and
                        // a WAVE file holds no sub-channel data.
                        if wave && (offset > 0 || tr.sub_bytes > 0) {
                            let what = if offset > 0 { "a byte offset (#)" } else { "sub-channel data" };
                            return Err(Error::Unsupported {
                                what: format!("{}: line {line}: {what} with the WAVE file {name}", path.display()),
                            });
                        }
                        if kw != "DATAFILE" {
                            let s = word(i).unwrap_or("");
                            let start =
                                length(s, tr).ok_or_else(|| err(line, format!("{kw}: {s:?} is not a start")))?;
                            offset = offset.saturating_add(start);
                            i = i.saturating_add(1);
                        }
                        let mut len = None;
                        if let Some(l) = word(i).and_then(|w| length(w, tr)) {
                            len = Some(l).filter(|&l| l > 0);
                            i = i.saturating_add(1);
                        }
                        tr.file = Some((name, swap, offset, len));
                    }
                    "FIFO" => {
                        return Err(Error::Unsupported { what: format!("{}: line {line}: FIFO data", path.display()) })
                    }
                    "START" => {
                        let here = tr.lead_zero.saturating_add(tr.file.as_ref().and_then(|f| f.3).unwrap_or(0));
                        tr.start = match word(i).and_then(msf) {
                            Some(f) => {
                                i = i.saturating_add(1);
                                f.saturating_mul(tr.stride())
                            }
                            None if tr.file.is_some() && tr.file.as_ref().and_then(|f| f.3).is_none() => {
                                return Err(err(line, "START after data of unknown length".into()))
                            }
                            None => here,
                        };
                    }
                    "INDEX" => {
                        if word(i).and_then(msf).is_none() {
                            return Err(err(line, "INDEX without a position".into()));
                        }
                        i = i.saturating_add(1);
                    }
                    other => return Err(err(line, format!("unknown keyword {other:?}"))),
                }
            }
        }
    }
    if tracks.is_empty() {
        return Err(bad(path, "no TRACK".into()));
    }
    Ok(tracks)
}

/// Whether the audio file `name` is a WAVE file: cdrdao tells them by their `.wav` name. Its header is skipped
/// and its positions count from its first sample.
fn is_wave(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".wav")
}

/// Opens the image described by the cdrdao TOC file at `path`.
///
/// # Errors
/// As [`parse`]; [`Error::MissingFile`] for a data file that cannot be opened; [`Error::Layout`] when the data
/// does not fit its files.
pub fn open(path: &Path) -> Result<RawDisc> {
    let text = read_text(path)?;
    let parsed = parse(path, &text)?;
    let mut files: Vec<ImageFile> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut tracks = Vec::new();
    let mut pos: i64 = 0;
    for (ti, t) in parsed.iter().enumerate() {
        let number = u8::try_from(ti.saturating_add(1)).unwrap_or(99);
        let stride = t.stride();
        let at = |m: String| bad(path, format!("track {number:02} (line {}): {m}", t.line));
        let Some((name, swap, offset, len)) = &t.file else {
            return Err(Error::Unsupported {
                what: format!("{}: track {number:02} has no data file (only ZERO or SILENCE)", path.display()),
            });
        };
        let fi = match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                let file = cue::resolve_file(path, name);
                let file = if t.mode == TrackMode::Audio && is_wave(name) {
                    crate::audiofile::image_file(path, file)?
                } else {
                    ImageFile::new(path, file, FileType::Binary)?
                };
                files.push(file);
                names.push(name.clone());
                files.len().saturating_sub(1)
            }
        };
        if let Some(f) = files.get_mut(fi) {
            // Raw audio is big-endian unless SWAP is given; a WAVE file's samples are little-endian, and SWAP swaps
            // them. One track asking for big-endian samples marks the file so.
            let wave = f.file_type == FileType::Wave;
            if t.mode == TrackMode::Audio && *swap == wave {
                f.file_type = FileType::Motorola;
            }
        }
        let flen = files.get(fi).map_or(0, |f| f.len);
        let bytes = match len {
            Some(l) => *l,
            None => {
                flen.checked_sub(*offset).ok_or_else(|| at(format!("offset {offset} is past the end of {name}")))?
            }
        };
        let stored = bytes.checked_div(stride).unwrap_or(0);
        if stored == 0 {
            return Err(at(format!("no whole sector in its {bytes} bytes of {name}")));
        }
        let aligned = |v: u64| v.checked_rem(stride) == Some(0);
        if !aligned(t.lead_zero) || !aligned(t.start) || !aligned(t.tail_zero) {
            return Err(at("zero data or START not on a sector boundary".into()));
        }
        let unstored = t.lead_zero.checked_div(stride).unwrap_or(0);
        let start = t.start.checked_div(stride).unwrap_or(0);
        if start < unstored && t.lead_zero > 0 {
            return Err(Error::Unsupported {
                what: format!("{}: track {number:02}: zero data after START", path.display()),
            });
        }
        let stored_pregap = start.saturating_sub(unstored);
        if stored_pregap >= stored {
            return Err(at(format!("START at sector {start} is past its {} sectors", unstored.saturating_add(stored))));
        }
        let first_lba = pos.saturating_add(i64::try_from(unstored).unwrap_or(i64::MAX));
        let postgap = t.tail_zero.checked_div(stride).unwrap_or(0);
        tracks.push(DiscTrack {
            number,
            session: 1,
            mode: t.mode,
            file: fi,
            file_offset: *offset,
            first_lba,
            start_lba: first_lba.saturating_add(i64::try_from(stored_pregap).unwrap_or(i64::MAX)),
            stored,
            unstored_pregap: u32::try_from(unstored).map_err(|_| at("pregap too long".into()))?,
            postgap: u32::try_from(postgap).map_err(|_| at("postgap too long".into()))?,
            sub_bytes: t.sub_bytes,
        });
        pos = first_lba
            .saturating_add(i64::try_from(stored).unwrap_or(i64::MAX))
            .saturating_add(i64::try_from(postgap).unwrap_or(i64::MAX));
        if pos > crate::sector::MAX_LBA.saturating_add(150) {
            return Err(at("the tracks run past the 100 minutes a CD can address".into()));
        }
    }
    // LBA 0 is INDEX 01 of track 1.
    let shift = tracks.first().map_or(0, |t: &DiscTrack| t.start_lba);
    for t in &mut tracks {
        t.first_lba = t.first_lba.saturating_sub(shift);
        t.start_lba = t.start_lba.saturating_sub(shift);
    }
    RawDisc::from_parts(path, SheetKind::CdrdaoToc, files, tracks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tracks_and_refuses_what_it_cannot_lay_out() {
        let p = Path::new("x.toc");
        let t = parse(
            p,
            "CD_ROM_XA // type\nCATALOG \"0000000000000\"\nCD_TEXT { LANGUAGE 0 { TITLE \"a } b\" } }\n\
             TRACK MODE2_RAW RW_RAW\nNO COPY\nZERO MODE2_RAW RW_RAW 00:02:00\nSTART\nDATAFILE \"d.bin\" #10 00:00:10\n\
             TRACK AUDIO\nSILENCE 588\nSTART 00:00:01\nFILE \"a.bin\" SWAP #4 588 00:00:02\nINDEX 00:00:01\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].mode, t[0].sub_bytes, t[0].lead_zero, t[0].start),
            (TrackMode::Mode2_2352, 96, 150 * 2448, 150 * 2448)
        );
        assert_eq!(t[0].file, Some(("d.bin".into(), false, 10, Some(10 * 2448))));
        assert_eq!((t[1].lead_zero, t[1].start), (2352, 2352));
        assert_eq!(t[1].file, Some(("a.bin".into(), true, 4 + 2352, Some(2 * 2352))));
        for (text, want) in [
            ("TRACK MODE3\n", "unknown track mode"),
            ("DATAFILE \"x\"\n", "before the first TRACK"),
            ("TRACK MODE1\nDATAFILE x\n", "quoted file name"),
            ("TRACK MODE1\nDATAFILE \"x\nTRACK AUDIO\n", "closing quote"),
            ("CD_TEXT {\n", "closing brace"),
            ("TRACK MODE1\nDATAFILE \"a\"\nDATAFILE \"b\"\n", "several files"),
            ("TRACK MODE1\nFIFO \"f\" 100\n", "FIFO"),
            ("TRACK AUDIO\nFILE \"a.WAV\" #44 0\n", "byte offset (#) with the WAVE file"),
            ("TRACK AUDIO RW\nAUDIOFILE \"a.wav\" 0\n", "sub-channel data with the WAVE file"),
            ("CD_ROM\n", "no TRACK"),
        ] {
            let e = parse(p, text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}

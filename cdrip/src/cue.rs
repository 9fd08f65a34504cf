//! CUE sheets: the text description of a raw disc image (CDRWIN's format, as cdrdao, ImgBurn, redump and
//! chdman write it).
//!
//! Commands understood, one per line, case-insensitive keywords, arguments optionally in double quotes:
//! `CATALOG`, `CDTEXTFILE`, `FILE name BINARY|MOTOROLA|WAVE|FLAC|AIFF|MP3`, `TRACK nn mode`, `INDEX nn mm:ss:ff`,
//! `PREGAP mm:ss:ff`, `POSTGAP mm:ss:ff`, `FLAGS DCP 4CH PRE SCMS`, `ISRC`, `TITLE`, `PERFORMER`, `SONGWRITER`,
//! and `REM` (kept; `REM SESSION nn` starts a session, as redump and cdrdao write multi-session discs).
//! Track modes: `AUDIO`, `CDG`, `MODE1/2048`, `MODE1/2352`, `MODE2/2048`, `MODE2/2324`, `MODE2/2336`,
//! `MODE2/2352`, `CDI/2336`, `CDI/2352`.
//!
//! Other keyword-shaped commands (CD-TEXT extensions such as `ARRANGER` or `UPC_EAN`) are kept in
//! [`CueSheet::unknown`] and otherwise ignored; a line that does not start with a keyword is an error.
//!
//! [`CueSheet::parse`] reads the text, [`CueSheet::write_to`] writes it back in the same order.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sector::{Msf, FRAMES_PER_SECOND};

/// Largest CUE sheet read, in bytes: real sheets are a few kilobytes.
pub const MAX_SHEET_LEN: u64 = 1 << 20;
/// Highest track number (Red Book).
pub const MAX_TRACK: u8 = 99;
/// Highest index number (Red Book).
pub const MAX_INDEX: u8 = 99;
/// Frames in 100 minutes: no time in a sheet reaches this.
pub const MAX_FRAMES: u32 = 100 * 60 * 75;
/// Digits of a `CATALOG` number (the disc's EAN/UPC, its Media Catalog Number).
pub const CATALOG_DIGITS: usize = 13;

/// How the bytes of a `FILE` are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// Raw sectors, audio as little-endian samples.
    Binary,
    /// Raw sectors, audio as big-endian samples.
    Motorola,
    /// A WAVE file (audio only; a FLAC file so named is read too, by its content).
    Wave,
    /// A FLAC file (audio only), as some tools name it (`FILE "x.flac" FLAC`); read as a `WAVE` file is.
    Flac,
    /// An AIFF file (audio only).
    Aiff,
    /// An MP3 file (audio only).
    Mp3,
}

impl FileType {
    fn parse(s: &str) -> Option<FileType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "BINARY" => FileType::Binary,
            "MOTOROLA" => FileType::Motorola,
            "WAVE" => FileType::Wave,
            "FLAC" => FileType::Flac,
            "AIFF" => FileType::Aiff,
            "MP3" => FileType::Mp3,
            _ => return None,
        })
    }

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Binary => "BINARY",
            FileType::Motorola => "MOTOROLA",
            FileType::Wave => "WAVE",
            FileType::Flac => "FLAC",
            FileType::Aiff => "AIFF",
            FileType::Mp3 => "MP3",
        }
    }
}

/// A track's mode and the size of its sectors in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackMode {
    /// Red Book audio, 2352 bytes.
    Audio,
    /// Karaoke CD+G: 2352 bytes of audio + 96 of subchannel.
    Cdg,
    /// Mode 1 user data only, 2048 bytes.
    Mode1_2048,
    /// Mode 1 raw, 2352 bytes.
    Mode1_2352,
    /// Mode 2 Form 1 user data only, 2048 bytes.
    Mode2_2048,
    /// Mode 2 Form 2 user data only, 2324 bytes.
    Mode2_2324,
    /// Mode 2 without sync and header, 2336 bytes.
    Mode2_2336,
    /// Mode 2 raw, 2352 bytes.
    Mode2_2352,
    /// CD-i, 2336 bytes.
    Cdi2336,
    /// CD-i raw, 2352 bytes.
    Cdi2352,
}

impl TrackMode {
    /// Parses a `TRACK` mode keyword.
    pub fn parse(s: &str) -> Option<TrackMode> {
        Some(match s.to_ascii_uppercase().as_str() {
            "AUDIO" => TrackMode::Audio,
            "CDG" => TrackMode::Cdg,
            "MODE1/2048" => TrackMode::Mode1_2048,
            "MODE1/2352" => TrackMode::Mode1_2352,
            "MODE2/2048" => TrackMode::Mode2_2048,
            "MODE2/2324" => TrackMode::Mode2_2324,
            "MODE2/2336" => TrackMode::Mode2_2336,
            "MODE2/2352" => TrackMode::Mode2_2352,
            "CDI/2336" => TrackMode::Cdi2336,
            "CDI/2352" => TrackMode::Cdi2352,
            _ => return None,
        })
    }

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackMode::Audio => "AUDIO",
            TrackMode::Cdg => "CDG",
            TrackMode::Mode1_2048 => "MODE1/2048",
            TrackMode::Mode1_2352 => "MODE1/2352",
            TrackMode::Mode2_2048 => "MODE2/2048",
            TrackMode::Mode2_2324 => "MODE2/2324",
            TrackMode::Mode2_2336 => "MODE2/2336",
            TrackMode::Mode2_2352 => "MODE2/2352",
            TrackMode::Cdi2336 => "CDI/2336",
            TrackMode::Cdi2352 => "CDI/2352",
        }
    }

    /// Bytes one sector of this track takes in its file.
    pub fn sector_size(self) -> u32 {
        match self {
            TrackMode::Audio | TrackMode::Mode1_2352 | TrackMode::Mode2_2352 | TrackMode::Cdi2352 => 2352,
            TrackMode::Cdg => 2448,
            TrackMode::Mode1_2048 | TrackMode::Mode2_2048 => 2048,
            TrackMode::Mode2_2324 => 2324,
            TrackMode::Mode2_2336 | TrackMode::Cdi2336 => 2336,
        }
    }

    /// Whether the track holds data sectors (anything but audio).
    pub fn is_data(self) -> bool {
        !matches!(self, TrackMode::Audio | TrackMode::Cdg)
    }
}

impl fmt::Display for TrackMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A time in frames (1/75 s), as `INDEX`, `PREGAP` and `POSTGAP` give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Frames(pub u32);

impl Frames {
    /// Parses `mm:ss:ff` (seconds below 60, frames below 75, under 100 minutes).
    pub fn parse(s: &str) -> Option<Frames> {
        let mut it = s.split(':');
        let (m, sec, f) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        let num = |t: &str| -> Option<u32> {
            if t.is_empty() || t.len() > 3 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        let (m, sec, f) = (num(m)?, num(sec)?, num(f)?);
        if sec >= 60 || i64::from(f) >= FRAMES_PER_SECOND {
            return None;
        }
        let total = m.checked_mul(4500)?.checked_add(sec.checked_mul(75)?)?.checked_add(f)?;
        (total < MAX_FRAMES).then_some(Frames(total))
    }
}

impl fmt::Display for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (m, rest) = (self.0 / 4500, self.0 % 4500);
        write!(f, "{:02}:{:02}:{:02}", m, rest / 75, rest % 75)
    }
}

/// One `INDEX` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Index {
    /// 0 (pregap) to 99.
    pub number: u8,
    /// Position from the start of the track's file.
    pub position: Frames,
}

/// One `TRACK` and what follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// 1..=99.
    pub number: u8,
    /// The mode and sector size.
    pub mode: TrackMode,
    /// The session (1-based) from the last `REM SESSION` before it; 1 when there is none.
    pub session: u32,
    /// The `FLAGS` keywords as written (`DCP`, `4CH`, `PRE`, `SCMS`).
    pub flags: Vec<String>,
    /// `ISRC`.
    pub isrc: Option<String>,
    /// `TITLE`.
    pub title: Option<String>,
    /// `PERFORMER`.
    pub performer: Option<String>,
    /// `SONGWRITER`.
    pub songwriter: Option<String>,
    /// `PREGAP`: silence/zero sectors before the track that are not stored in the file.
    pub pregap: Option<Frames>,
    /// `POSTGAP`: sectors after the track that are not stored in the file.
    pub postgap: Option<Frames>,
    /// `INDEX` lines in order.
    pub indexes: Vec<Index>,
    /// Other lines inside the track (`REM ...`), kept for writing back.
    pub rems: Vec<String>,
    /// 1-based line of the `TRACK` command.
    pub line: usize,
}

impl Track {
    /// A track with no indexes yet.
    pub fn new(number: u8, mode: TrackMode) -> Track {
        Track {
            number,
            mode,
            session: 1,
            flags: Vec::new(),
            isrc: None,
            title: None,
            performer: None,
            songwriter: None,
            pregap: None,
            postgap: None,
            indexes: Vec::new(),
            rems: Vec::new(),
            line: 0,
        }
    }

    /// The position of `INDEX n`.
    pub fn index(&self, n: u8) -> Option<Frames> {
        self.indexes.iter().find(|i| i.number == n).map(|i| i.position)
    }

    /// Where the track's stored sectors start in its file: `INDEX 00` if present, else `INDEX 01`.
    pub fn file_start(&self) -> Option<Frames> {
        self.indexes.first().map(|i| i.position)
    }
}

/// One `FILE` and its tracks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// The name as written, relative to the sheet's folder unless absolute.
    pub name: String,
    /// How the file stores its sectors.
    pub file_type: FileType,
    /// The tracks stored in it.
    pub tracks: Vec<Track>,
    /// 1-based line of the `FILE` command.
    pub line: usize,
}

/// A parsed CUE sheet.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CueSheet {
    /// `CATALOG` (13-digit UPC/EAN).
    pub catalog: Option<String>,
    /// `CDTEXTFILE`.
    pub cdtextfile: Option<String>,
    /// Disc `TITLE`.
    pub title: Option<String>,
    /// Disc `PERFORMER`.
    pub performer: Option<String>,
    /// Disc `SONGWRITER`.
    pub songwriter: Option<String>,
    /// Disc-level `REM` lines (without `REM `), except `REM SESSION`, which sets [`Track::session`].
    pub rems: Vec<String>,
    /// The files in order.
    pub files: Vec<File>,
    /// Commands odix does not know, with their 1-based line numbers; not written back.
    pub unknown: Vec<(usize, String)>,
}

/// Splits a line into words; a word in double quotes may hold spaces.
fn words(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut w = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(ch) => w.push(ch),
                    None => return Err("unterminated quoted string".into()),
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                // A quote can only open a word: one inside a word has no meaning a writer could keep.
                if ch == '"' {
                    return Err("a \" inside an unquoted word".into());
                }
                w.push(ch);
                chars.next();
            }
        }
        out.push(w);
    }
    Ok(out)
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "'"))
}

/// A one-word value as written: bare when it reads back as itself, quoted when it is empty or holds spaces.
fn word(s: &str) -> String {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '"') {
        quote(s)
    } else {
        s.to_string()
    }
}

/// For a FILE that starts with an INDEX rather than a TRACK, where the previous FILE's last track has no INDEX 01
/// yet (EAC's "gaps appended to the previous track" layout): moves that track into the new FILE, where its INDEX
/// 01 is. Its pregap sectors stay where they are stored, at the end of the previous file, and are read as the end
/// of the track before: every INDEX 01, hence the TOC and the checksums counted from INDEX 01 to INDEX 01, keeps
/// its place; the INDEX 00 mark itself is dropped. Returns whether a track moved.
fn continue_track(sheet: &mut CueSheet) -> bool {
    let n = sheet.files.len();
    let Some((cur, before)) = sheet.files.split_last_mut() else { return false };
    let Some(prev) = before.last_mut() else { return false };
    let open = prev.tracks.last().is_some_and(|t| t.index(1).is_none());
    if n < 2 || !cur.tracks.is_empty() || !open {
        return false;
    }
    let Some(mut t) = prev.tracks.pop() else { return false };
    t.indexes.clear();
    cur.tracks.push(t);
    true
}

impl CueSheet {
    /// Reads and parses the sheet at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read, [`Error::LimitExceeded`] when it is larger than
    /// [`MAX_SHEET_LEN`], [`Error::CueSyntax`] for the first line that cannot be understood.
    pub fn open(path: &Path) -> Result<CueSheet> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_SHEET_LEN {
            return Err(Error::LimitExceeded { what: "CUE sheet size", limit: MAX_SHEET_LEN, actual: len });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        // Sheets from Windows tools are often in a legacy code page: text that is not UTF-8 is read as
        // Latin-1, one char per byte, which [`resolve_file`] can turn back into the original bytes.
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
        };
        CueSheet::parse(&text, path)
    }

    /// Parses sheet text; `path` is only used in error messages.
    ///
    /// # Errors
    /// [`Error::CueSyntax`] for the first line that cannot be understood or breaks the sheet's rules (track
    /// numbers increasing, an `INDEX 01` in every track, indexes increasing inside a file).
    pub fn parse(text: &str, path: &Path) -> Result<CueSheet> {
        let mut sheet = CueSheet::default();
        let mut session = 1u32;
        let mut last_track: Option<u8> = None;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            let line = i.saturating_add(1);
            let err = |message: String| Error::CueSyntax { path: path.to_path_buf(), line, message };
            let w = words(raw).map_err(err)?;
            let Some(cmd) = w.first() else { continue };
            let cmd = cmd.to_ascii_uppercase();
            let arg = |n: usize| -> Result<&str> {
                w.get(n).map(String::as_str).ok_or_else(|| err(format!("{cmd}: missing argument")))
            };
            let rest = || raw.trim_start().get(cmd.len()..).unwrap_or("").trim().to_string();
            let track = sheet.files.last_mut().and_then(|f| f.tracks.last_mut());
            match cmd.as_str() {
                "REM" => {
                    let r = rest();
                    let mut it = r.split_whitespace();
                    if it.next().is_some_and(|k| k.eq_ignore_ascii_case("SESSION")) {
                        let n: u32 = it
                            .next()
                            .and_then(|v| v.parse().ok())
                            .filter(|&n| (1..=99).contains(&n))
                            .ok_or_else(|| err("REM SESSION: session number must be 1..99".into()))?;
                        if n < session {
                            return Err(err(format!("REM SESSION {n} after session {session}")));
                        }
                        session = n;
                    } else if let Some(t) = track {
                        t.rems.push(r);
                    } else {
                        sheet.rems.push(r);
                    }
                }
                "CATALOG" => {
                    // The disc's EAN/UPC: 13 decimal digits (Red Book MCN); libcdio refuses the sheet otherwise.
                    let v = arg(1)?;
                    if v.len() != CATALOG_DIGITS || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(err(format!("CATALOG must be {CATALOG_DIGITS} digits, not {v:?}")));
                    }
                    sheet.catalog = Some(v.to_string());
                }
                "CDTEXTFILE" => sheet.cdtextfile = Some(arg(1)?.to_string()),
                "TITLE" | "PERFORMER" | "SONGWRITER" => {
                    let v = Some(arg(1)?.to_string());
                    let slot = match (track, cmd.as_str()) {
                        (Some(t), "TITLE") => &mut t.title,
                        (Some(t), "PERFORMER") => &mut t.performer,
                        (Some(t), _) => &mut t.songwriter,
                        (None, "TITLE") => &mut sheet.title,
                        (None, "PERFORMER") => &mut sheet.performer,
                        (None, _) => &mut sheet.songwriter,
                    };
                    *slot = v;
                }
                "FILE" => {
                    let name = arg(1)?.to_string();
                    if name.is_empty() {
                        return Err(err("FILE: empty file name".into()));
                    }
                    // Some writers omit the type; BINARY is what they mean.
                    let file_type = match w.get(2) {
                        Some(t) => FileType::parse(t).ok_or_else(|| err(format!("FILE: unknown type {t:?}")))?,
                        None => FileType::Binary,
                    };
                    sheet.files.push(File { name, file_type, tracks: Vec::new(), line });
                }
                "TRACK" => {
                    let n: u8 = arg(1)?
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_TRACK).contains(n))
                        .ok_or_else(|| err(format!("TRACK: number {:?} not in 1..99", w.get(1))))?;
                    if last_track.is_some_and(|l| n <= l) {
                        return Err(err(format!("TRACK {n:02} does not follow track {:02}", last_track.unwrap_or(0))));
                    }
                    let mode_s = arg(2)?;
                    let mode =
                        TrackMode::parse(mode_s).ok_or_else(|| err(format!("TRACK: unknown mode {mode_s:?}")))?;
                    let file = sheet.files.last_mut().ok_or_else(|| err("TRACK before any FILE".into()))?;
                    if let Some(prev) = file.tracks.last() {
                        if prev.index(1).is_none() {
                            return Err(err(format!("track {:02} has no INDEX 01", prev.number)));
                        }
                    }
                    let mut t = Track::new(n, mode);
                    t.session = session;
                    t.line = line;
                    file.tracks.push(t);
                    last_track = Some(n);
                }
                "INDEX" => {
                    // EAC's sheets with "gaps appended to the previous track" give a track's INDEX 00 in one FILE
                    // and its INDEX 01 at the start of the next: see `continue_track`.
                    if track.is_none() {
                        continue_track(&mut sheet);
                    }
                    let track = sheet.files.last_mut().and_then(|f| f.tracks.last_mut());
                    let t = track.ok_or_else(|| err("INDEX outside a track".into()))?;
                    let n: u8 = arg(1)?
                        .parse()
                        .ok()
                        .filter(|n| *n <= MAX_INDEX)
                        .ok_or_else(|| err(format!("INDEX: number {:?} not in 0..99", w.get(1))))?;
                    let pos_s = arg(2)?;
                    let position = Frames::parse(pos_s)
                        .ok_or_else(|| err(format!("INDEX: {pos_s:?} is not a time mm:ss:ff under 100 minutes")))?;
                    if let Some(last) = t.indexes.last() {
                        if n != last.number.saturating_add(1) {
                            return Err(err(format!("INDEX {n:02} follows INDEX {:02}", last.number)));
                        }
                        if position < last.position {
                            return Err(err(format!("INDEX {n:02} at {position} is before INDEX {:02}", last.number)));
                        }
                    } else if n > 1 {
                        return Err(err(format!("INDEX {n:02} before INDEX 01")));
                    }
                    t.indexes.push(Index { number: n, position });
                }
                "PREGAP" | "POSTGAP" => {
                    let t = track.ok_or_else(|| err(format!("{cmd} outside a track")))?;
                    let v = arg(1)?;
                    let f = Frames::parse(v).ok_or_else(|| err(format!("{cmd}: {v:?} is not a time mm:ss:ff")))?;
                    if cmd == "PREGAP" {
                        if !t.indexes.is_empty() {
                            return Err(err("PREGAP after INDEX".into()));
                        }
                        t.pregap = Some(f);
                    } else {
                        t.postgap = Some(f);
                    }
                }
                "FLAGS" => {
                    let t = track.ok_or_else(|| err("FLAGS outside a track".into()))?;
                    for f in w.iter().skip(1) {
                        let f = f.to_ascii_uppercase();
                        if !matches!(f.as_str(), "DCP" | "4CH" | "PRE" | "SCMS") {
                            return Err(err(format!("FLAGS: unknown flag {f:?}")));
                        }
                        t.flags.push(f);
                    }
                }
                "ISRC" => {
                    let t = track.ok_or_else(|| err("ISRC outside a track".into()))?;
                    t.isrc = Some(arg(1)?.to_string());
                }
                // Tools write extensions (CD-TEXT fields such as ARRANGER, COMPOSER, MESSAGE, UPC_EAN; DISC_ID,
                // SIZE_INFO): a keyword-shaped command is kept and otherwise ignored, anything else is not a sheet.
                other
                    if other.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                        && other.bytes().next().is_some_and(|b| b.is_ascii_uppercase()) =>
                {
                    sheet.unknown.push((line, raw.trim().to_string()));
                }
                other => return Err(err(format!("unknown command {other:?}"))),
            }
        }
        let mut any = false;
        for f in &sheet.files {
            for t in &f.tracks {
                any = true;
                if t.index(1).is_none() {
                    return Err(Error::CueSyntax {
                        path: path.to_path_buf(),
                        line: t.line,
                        message: format!("track {:02} has no INDEX 01", t.number),
                    });
                }
            }
            // Tracks sharing a file must be in order inside it.
            for pair in f.tracks.windows(2) {
                if let [a, b] = pair {
                    if b.file_start() < a.index(1) {
                        return Err(Error::CueSyntax {
                            path: path.to_path_buf(),
                            line: b.line,
                            message: format!("track {:02} starts before track {:02} in {}", b.number, a.number, f.name),
                        });
                    }
                }
            }
        }
        if !any {
            return Err(Error::CueSyntax { path: path.to_path_buf(), line: 0, message: "no tracks".into() });
        }
        Ok(sheet)
    }

    /// All tracks in order.
    pub fn tracks(&self) -> impl Iterator<Item = (&File, &Track)> {
        self.files.iter().flat_map(|f| f.tracks.iter().map(move |t| (f, t)))
    }

    /// Writes the sheet.
    ///
    /// # Errors
    /// Whatever `w` returns.
    pub fn write_to<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        for r in &self.rems {
            writeln!(w, "REM {r}")?;
        }
        if let Some(c) = &self.catalog {
            writeln!(w, "CATALOG {}", word(c))?;
        }
        if let Some(c) = &self.cdtextfile {
            writeln!(w, "CDTEXTFILE {}", quote(c))?;
        }
        for (k, v) in [("TITLE", &self.title), ("PERFORMER", &self.performer), ("SONGWRITER", &self.songwriter)] {
            if let Some(v) = v {
                writeln!(w, "{k} {}", quote(v))?;
            }
        }
        let sessions = self.tracks().map(|(_, t)| t.session).max().unwrap_or(1);
        let mut session = 0;
        for f in &self.files {
            let first_session = f.tracks.first().map_or(session, |t| t.session);
            if sessions > 1 && first_session != session {
                writeln!(w, "REM SESSION {first_session:02}")?;
                session = first_session;
            }
            writeln!(w, "FILE {} {}", quote(&f.name), f.file_type.as_str())?;
            for t in &f.tracks {
                if sessions > 1 && t.session != session {
                    writeln!(w, "REM SESSION {:02}", t.session)?;
                    session = t.session;
                }
                writeln!(w, "  TRACK {:02} {}", t.number, t.mode)?;
                for (k, v) in [("TITLE", &t.title), ("PERFORMER", &t.performer), ("SONGWRITER", &t.songwriter)] {
                    if let Some(v) = v {
                        writeln!(w, "    {k} {}", quote(v))?;
                    }
                }
                for r in &t.rems {
                    writeln!(w, "    REM {r}")?;
                }
                if !t.flags.is_empty() {
                    let flags: Vec<String> = t.flags.iter().map(|f| word(f)).collect();
                    writeln!(w, "    FLAGS {}", flags.join(" "))?;
                }
                if let Some(i) = &t.isrc {
                    writeln!(w, "    ISRC {}", word(i))?;
                }
                if let Some(p) = t.pregap {
                    writeln!(w, "    PREGAP {p}")?;
                }
                for i in &t.indexes {
                    writeln!(w, "    INDEX {:02} {}", i.number, i.position)?;
                }
                if let Some(p) = t.postgap {
                    writeln!(w, "    POSTGAP {p}")?;
                }
            }
        }
        Ok(())
    }

    /// The sheet as text.
    pub fn to_text(&self) -> String {
        let mut v = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_to(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// Where a `FILE` named in `sheet` lies: relative names are taken from the sheet's folder. When the exact
/// name does not exist, the name's original Latin-1 bytes are tried, then the path whose folders and file name
/// differ from it only in case (sheets written on Windows).
pub fn resolve_file(sheet: &Path, name: &str) -> PathBuf {
    let dir = sheet.parent().unwrap_or(Path::new(""));
    let name = name.replace('\\', "/");
    let p = dir.join(&name);
    if p.exists() {
        return p;
    }
    // A name read as Latin-1 from a sheet in a legacy code page: the file may carry the original bytes.
    #[cfg(unix)]
    if name.chars().all(|c| u32::from(c) <= 0xFF) {
        use std::os::unix::ffi::OsStrExt;
        let raw: Vec<u8> = name.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
        let q = dir.join(std::ffi::OsStr::from_bytes(&raw));
        if q.exists() {
            return q;
        }
    }
    // Sheets written on Windows name files in any case: each component is matched up to case, as libcdio does.
    let mut at = dir.to_path_buf();
    for comp in name.split('/').filter(|c| !c.is_empty()) {
        let exact = at.join(comp);
        if exact.exists() || comp == "." || comp == ".." {
            at = exact;
            continue;
        }
        let listing = if at.as_os_str().is_empty() { Path::new(".") } else { at.as_path() };
        let found = std::fs::read_dir(listing).ok().and_then(|rd| {
            rd.flatten().map(|e| e.file_name()).find(|n| n.to_str().is_some_and(|n| same_up_to_case(n, comp)))
        });
        match found {
            Some(n) => at = at.join(n),
            None => return p,
        }
    }
    at
}

/// Whether two names are the same but for the case of their letters.
fn same_up_to_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// The MSF of a frame count from 00:00:00, for messages.
pub fn frames_msf(f: u32) -> Option<Msf> {
    Msf::from_frames(u64::from(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHEET: &str = "REM GENRE Demo\r\nCATALOG 0000000000000\r\nTITLE \"A disc\"\r\nFILE \"a b.bin\" BINARY\r\n  TRACK 01 MODE1/2352\r\n    FLAGS DCP\r\n    INDEX 01 00:00:00\r\n  TRACK 02 AUDIO\r\n    TITLE \"Song\"\r\n    ISRC USXXX0000001\r\n    PREGAP 00:02:00\r\n    INDEX 01 01:00:00\r\n    INDEX 02 01:10:00\r\nREM SESSION 02\r\nFILE \"c.bin\" BINARY\r\n  TRACK 03 MODE2/2352\r\n    INDEX 00 00:00:00\r\n    INDEX 01 00:02:00\r\n    POSTGAP 00:00:10\r\n";

    #[test]
    fn empty_and_spaced_values_survive_a_write() {
        let sheet = "FILE \"a.bin\" BINARY\n  TRACK 01 AUDIO\n    FLAGS DCP\n    ISRC \"\"\n    INDEX 01 00:00:00\n";
        let s = CueSheet::parse(sheet, Path::new("x.cue")).unwrap();
        let again = CueSheet::parse(&s.to_text(), Path::new("x.cue")).unwrap();
        let t: Vec<_> = again.tracks().map(|(_, t)| t.clone()).collect();
        assert_eq!(t[0].isrc.as_deref(), Some(""));
        assert_eq!(t[0].flags, vec!["DCP".to_string()]);
    }

    #[test]
    fn gaps_appended_to_the_previous_file_move_the_track_to_its_index_01() {
        let sheet =
            "FILE \"1.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    TITLE \"Two\"\n    \
                     INDEX 00 00:02:00\nFILE \"2.wav\" WAVE\n    INDEX 01 00:00:00\n";
        let s = CueSheet::parse(sheet, Path::new("x.cue")).unwrap();
        assert_eq!(s.files.len(), 2);
        assert_eq!(s.files[0].tracks.len(), 1);
        let t = &s.files[1].tracks[0];
        assert_eq!((t.number, t.title.as_deref(), t.index(0), t.index(1)), (2, Some("Two"), None, Some(Frames(0))));
        // A FILE starting with an INDEX when the track before is complete is still refused.
        let bad = "FILE \"1.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\nFILE \"2.wav\" WAVE\n    INDEX 01 00:00:00\n";
        assert!(CueSheet::parse(bad, Path::new("x.cue")).is_err());
    }

    #[test]
    fn a_quote_inside_an_unquoted_word_is_refused() {
        let sheet = "FILE a\"b.bin BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n";
        assert!(CueSheet::parse(sheet, Path::new("x.cue")).is_err());
    }

    #[test]
    fn parses_and_round_trips() {
        let s = CueSheet::parse(SHEET, Path::new("x.cue")).unwrap();
        assert_eq!(s.files.len(), 2);
        assert_eq!(s.title.as_deref(), Some("A disc"));
        assert_eq!(s.rems, vec!["GENRE Demo".to_string()]);
        let t: Vec<_> = s.tracks().map(|(_, t)| t).collect();
        assert_eq!(t[0].mode, TrackMode::Mode1_2352);
        assert_eq!(t[0].flags, vec!["DCP".to_string()]);
        assert_eq!(t[1].pregap, Some(Frames(150)));
        assert_eq!(t[1].index(2), Some(Frames(4500 + 750)));
        assert_eq!(t[1].title.as_deref(), Some("Song"));
        assert_eq!(t[2].session, 2);
        assert_eq!(t[2].file_start(), Some(Frames(0)));
        assert_eq!(t[2].postgap, Some(Frames(10)));
        let again = CueSheet::parse(&s.to_text(), Path::new("y.cue")).unwrap();
        let strip = |mut c: CueSheet| {
            for f in &mut c.files {
                f.line = 0;
                for t in &mut f.tracks {
                    t.line = 0;
                }
            }
            c
        };
        assert_eq!(strip(again), strip(s));
    }

    #[test]
    #[cfg(unix)]
    fn legacy_code_page_names_find_their_files() {
        let dir = tempfile::tempdir().unwrap();
        use std::os::unix::ffi::OsStrExt;
        let name = b"caf\xe9.bin";
        std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(name)), [0u8; 2352]).unwrap();
        let mut sheet = b"FILE \"".to_vec();
        sheet.extend_from_slice(name);
        sheet.extend_from_slice(b"\" BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:00\n");
        let cue = dir.path().join("x.cue");
        std::fs::write(&cue, sheet).unwrap();
        let s = CueSheet::open(&cue).unwrap();
        assert_eq!(s.files[0].name, "caf\u{e9}.bin");
        assert!(resolve_file(&cue, &s.files[0].name).exists());
    }

    #[test]
    fn names_match_up_to_case_folder_by_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Data")).unwrap();
        std::fs::write(dir.path().join("Data").join("Disc Été.Bin"), [0u8; 2352]).unwrap();
        let cue = dir.path().join("x.cue");
        let found = resolve_file(&cue, "DATA\\disc ÉTÉ.BIN");
        assert_eq!(found, dir.path().join("Data").join("Disc Été.Bin"));
        // Nothing close enough: the name as written, for the message.
        assert_eq!(resolve_file(&cue, "data\\other.bin"), dir.path().join("data/other.bin"));
    }

    #[test]
    fn catalog_is_thirteen_digits() {
        let track = "FILE a BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n";
        let ok = CueSheet::parse(&format!("CATALOG 0724384260927\n{track}"), Path::new("c.cue")).unwrap();
        assert_eq!(ok.catalog.as_deref(), Some("0724384260927"));
        for bad in ["12345", "07243842609270", "072438426092X"] {
            let e = CueSheet::parse(&format!("REM x\nCATALOG {bad}\n{track}"), Path::new("c.cue")).unwrap_err();
            assert!(matches!(e, Error::CueSyntax { line: 2, .. }), "{bad}: {e}");
            assert!(e.to_string().contains("13 digits"), "{e}");
        }
    }

    #[test]
    fn keeps_unknown_keyword_commands() {
        let s = CueSheet::parse(
            "ARRANGER \"X\"\nFILE a BINARY\n TRACK 01 AUDIO\n  COMPOSER \"Y\"\n  INDEX 01 00:00:00\n",
            Path::new("k.cue"),
        )
        .unwrap();
        assert_eq!(s.unknown, vec![(1, "ARRANGER \"X\"".to_string()), (4, "COMPOSER \"Y\"".to_string())]);
    }

    #[test]
    fn rejects_hostile_sheets() {
        for (text, what) in [
            ("TRACK 01 MODE1/2352\n", "before any FILE"),
            ("FILE a BINARY\nTRACK 01 MODE1/2352\nINDEX 01 99:99:99\n", "not a time"),
            ("FILE a BINARY\nTRACK 01 MODE1/2352\nINDEX 01 00:00:75\n", "not a time"),
            ("FILE a BINARY\nTRACK 01 MODE1/2352\nINDEX 01 100:00:00\n", "not a time"),
            ("FILE a BINARY\nTRACK 01 MODE1/2352\nINDEX 01 -1:00:00\n", "not a time"),
            ("FILE a BINARY\nTRACK 00 MODE1/2352\nINDEX 01 00:00:00\n", "not in 1..99"),
            ("FILE a BINARY\nTRACK 01 MODE7/2352\n", "unknown mode"),
            (
                "FILE a BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\nTRACK 01 AUDIO\nINDEX 01 00:10:00\n",
                "does not follow",
            ),
            ("FILE a BINARY\nTRACK 01 AUDIO\nINDEX 01 00:10:00\nTRACK 02 AUDIO\nINDEX 01 00:05:00\n", "starts before"),
            ("FILE a BINARY\nTRACK 01 AUDIO\nINDEX 01 00:10:00\nINDEX 02 00:05:00\n", "before INDEX 01"),
            ("FILE a BINARY\nTRACK 01 AUDIO\nINDEX 00 00:00:00\n", "no INDEX 01"),
            ("FILE a BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\nINDEX 07 00:00:00\n", "follows INDEX 01"),
            ("FILE \"a BINARY\n", "unterminated"),
            ("FILE a BINARY\n", "no tracks"),
            ("BOGUS\n", "no tracks"),
            ("FILE a BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n\u{1}\u{2}zz\n", "unknown command"),
        ] {
            let e = CueSheet::parse(text, Path::new("h.cue")).unwrap_err().to_string();
            assert!(e.contains(what), "{text:?}: {e}");
        }
    }
}

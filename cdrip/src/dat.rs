//! Matching an image's tracks against a DAT file: the Logiqx XML that Redump and No-Intro publish, one `<game>`
//! (or `<machine>`) per disc with one `<rom>` per file (`name`, `size`, `crc`, `md5`, `sha1`).
//!
//! [`parse`] reads the XML (nothing but the games and their roms is kept); [`match_tracks`] compares the size,
//! CRC-32, MD5 and SHA-1 of each track (as [`crate::hash::hash_image`] computes them: the bytes a
//! one-file-per-track image holds for it) with the roms: it names the game all of whose track files match,
//! or, for the game that matches best, says which track differs and how. The sheets a game lists (`.cue`,
//! `.gdi`, `.toc`) are not tracks and are left out of the comparison, and so are the lead-in and lead-out files
//! of a dump (redumper's `NAME (Track 0).bin` and `NAME (Track A).bin`), which no sheet names: the caller
//! compares those with the files of those names beside the sheet ([`Game::lead_files`], [`compare_file`]).

use std::fmt;

use quick_xml::events::{BytesStart, Event};

use crate::hash::Hashes;

/// The largest DAT file [`parse`] is given by odix (Redump's largest are tens of megabytes).
pub const MAX_DAT_BYTES: u64 = 512 << 20;

/// A DAT file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("at byte {position}: {message}")]
pub struct DatError {
    /// Byte offset in the XML.
    pub position: u64,
    /// What is wrong.
    pub message: String,
}

/// One file of a game.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rom {
    /// Its file name.
    pub name: String,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// CRC-32, lowercase hex.
    pub crc32: Option<String>,
    /// MD5, lowercase hex.
    pub md5: Option<String>,
    /// SHA-1, lowercase hex.
    pub sha1: Option<String>,
}

impl Rom {
    /// Whether it is a sheet describing the other files rather than a track.
    pub fn is_sheet(&self) -> bool {
        let n = self.name.to_ascii_lowercase();
        [".cue", ".gdi", ".toc", ".ccd", ".sub", ".mds"].iter().any(|e| n.ends_with(e))
    }
}

impl Rom {
    /// Whether it is a dump's lead-in or lead-out file, as redumper names them: `NAME (Track 0).bin` (the
    /// non-zero sectors before track 1, or before a later session's first track), `NAME (Track A).bin` (a
    /// session's non-zero lead-out sectors), with `00`/`AA` on discs of ten tracks or more and `.N` for session N
    /// of a multi-session disc.
    pub fn is_lead_file(&self) -> bool {
        let lower = self.name.to_ascii_lowercase();
        let Some(stem) = lower.strip_suffix(").bin") else { return false };
        let Some((_, inner)) = stem.rsplit_once(" (track ") else { return false };
        let (number, session) = inner.split_once('.').unwrap_or((inner, "1"));
        matches!(number, "0" | "00" | "a" | "aa")
            && !session.is_empty()
            && session.len() <= 2
            && session.bytes().all(|b| b.is_ascii_digit())
    }
}

/// What differs between a file and a rom of the DAT (empty when it matches: every hash the rom gives agrees,
/// and it gives at least one).
pub fn compare_file(rom: &Rom, h: &Hashes) -> Vec<String> {
    if same(rom, h) {
        Vec::new()
    } else {
        let d = differences(rom, h);
        if d.is_empty() {
            vec!["the DAT gives no hash to compare".into()]
        } else {
            d
        }
    }
}

/// One game (disc) of a DAT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Game {
    /// Its name.
    pub name: String,
    /// Its files, in the DAT's order.
    pub roms: Vec<Rom>,
}

impl Game {
    /// Its files that are tracks (not sheets, nor lead-in or lead-out files), in order.
    pub fn tracks(&self) -> impl Iterator<Item = &Rom> {
        self.roms.iter().filter(|r| !r.is_sheet() && !r.is_lead_file())
    }

    /// Its lead-in and lead-out files ([`Rom::is_lead_file`]), in order.
    pub fn lead_files(&self) -> impl Iterator<Item = &Rom> {
        self.roms.iter().filter(|r| r.is_lead_file())
    }
}

/// A parsed DAT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dat {
    /// The `<header><name>`, when there is one.
    pub name: Option<String>,
    /// The games, in order.
    pub games: Vec<Game>,
}

fn err(position: u64, message: impl Into<String>) -> DatError {
    DatError { position, message: message.into() }
}

/// A hash attribute: hex digits of the given length, lowercased.
fn hash_attr(value: &str, digits: usize, what: &str, pos: u64) -> Result<String, DatError> {
    let v = value.trim().to_ascii_lowercase();
    if v.len() != digits || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(pos, format!("{what} \"{value}\" is not {digits} hex digits")));
    }
    Ok(v)
}

fn rom_from(e: &BytesStart<'_>, pos: u64) -> Result<Rom, DatError> {
    let mut rom = Rom::default();
    for a in e.attributes() {
        let a = a.map_err(|e| err(pos, format!("rom attribute: {e}")))?;
        let v = a.unescape_value().map_err(|e| err(pos, format!("rom attribute: {e}")))?;
        match a.key.as_ref() {
            b"name" => rom.name = v.into_owned(),
            b"size" => {
                let t = v.trim();
                let n = t.parse::<u64>().map_err(|_| err(pos, format!("rom size \"{t}\" is not a number of bytes")))?;
                rom.size = Some(n);
            }
            b"crc" => rom.crc32 = Some(hash_attr(&v, 8, "crc", pos)?),
            b"md5" => rom.md5 = Some(hash_attr(&v, 32, "md5", pos)?),
            b"sha1" => rom.sha1 = Some(hash_attr(&v, 40, "sha1", pos)?),
            _ => {}
        }
    }
    Ok(rom)
}

fn name_attr(e: &BytesStart<'_>, pos: u64) -> Result<String, DatError> {
    for a in e.attributes() {
        let a = a.map_err(|e| err(pos, format!("attribute: {e}")))?;
        if a.key.as_ref() == b"name" {
            return Ok(a.unescape_value().map_err(|e| err(pos, format!("attribute: {e}")))?.into_owned());
        }
    }
    Ok(String::new())
}

/// Parses a Logiqx XML DAT.
///
/// # Errors
/// [`DatError`] for XML that is not well formed, a `<rom>` outside a game, a size that is not a number, a hash
/// that is not hex of its length, or a file with no game.
pub fn parse(xml: &[u8]) -> Result<Dat, DatError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut dat = Dat::default();
    let mut game: Option<Game> = None;
    let mut depth_header = false;
    let mut in_name = false;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| err(pos, format!("XML: {e}")))?;
        match ev {
            Event::Start(e) | Event::Empty(e)
                if game.is_some() && matches!(e.name().as_ref(), b"game" | b"machine") =>
            {
                return Err(err(pos, "a game inside a game"));
            }
            Event::Start(e) if matches!(e.name().as_ref(), b"game" | b"machine") => {
                game = Some(Game { name: name_attr(&e, pos)?, roms: Vec::new() });
            }
            Event::Empty(e) if matches!(e.name().as_ref(), b"game" | b"machine") => {
                dat.games.push(Game { name: name_attr(&e, pos)?, roms: Vec::new() });
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"rom" => {
                let rom = rom_from(&e, pos)?;
                match game.as_mut() {
                    Some(g) => g.roms.push(rom),
                    None => return Err(err(pos, format!("rom \"{}\" outside a game", rom.name))),
                }
            }
            Event::Start(e) if e.name().as_ref() == b"header" => depth_header = true,
            Event::Start(e) if e.name().as_ref() == b"name" && depth_header => in_name = true,
            Event::Text(t) if in_name => {
                let t = t.unescape().map_err(|e| err(pos, format!("XML: {e}")))?;
                dat.name = Some(t.into_owned());
            }
            Event::End(e) => match e.name().as_ref() {
                b"game" | b"machine" => {
                    if let Some(g) = game.take() {
                        dat.games.push(g);
                    }
                }
                b"header" => depth_header = false,
                b"name" => in_name = false,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if game.is_some() {
        return Err(err(xml.len() as u64, "the last game is not closed"));
    }
    if dat.games.is_empty() {
        return Err(err(0, "no <game> or <machine> in it"));
    }
    Ok(dat)
}

/// How one track compares with a game's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackMatch {
    /// The track number.
    pub track: u8,
    /// The file of the game it is compared with (`None` when the game has fewer files than the image tracks).
    pub rom: Option<String>,
    /// What differs ("size 1234, the DAT says 1235", "sha1 …"); empty when it matches.
    pub differences: Vec<String>,
}

/// What [`match_tracks`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatMatch {
    /// Every track matches a file of this game, and the game has no other track file.
    Matched {
        /// The game.
        game: String,
        /// Each track and the file it matches.
        tracks: Vec<TrackMatch>,
    },
    /// This game matches best (the most tracks match, or failing that the same number of files of the same
    /// sizes), and these tracks differ.
    Differs {
        /// The game.
        game: String,
        /// Every track, matching or not.
        tracks: Vec<TrackMatch>,
        /// Files of the game no track matched, beyond those compared.
        missing: Vec<String>,
    },
    /// No game has a file matching any track, nor one of the same size.
    NotFound,
}

impl fmt::Display for TrackMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rom = self.rom.as_deref().unwrap_or("no file in the DAT");
        if self.differences.is_empty() {
            write!(f, "track {:02}: matches {rom}", self.track)
        } else {
            write!(f, "track {:02}: differs from {rom}: {}", self.track, self.differences.join("; "))
        }
    }
}

fn eq_hash(dat: Option<&String>, ours: &str) -> Option<bool> {
    dat.map(|d| d.eq_ignore_ascii_case(ours))
}

/// Whether the track's hashes are those of the rom (every hash the rom gives agrees, and at least one is given).
fn same(rom: &Rom, h: &Hashes) -> bool {
    let checks = [
        rom.size.map(|s| s == h.size),
        eq_hash(rom.crc32.as_ref(), &h.crc32),
        eq_hash(rom.md5.as_ref(), &h.md5),
        eq_hash(rom.sha1.as_ref(), &h.sha1),
    ];
    checks.iter().skip(1).any(Option::is_some) && checks.iter().all(|c| c.unwrap_or(true))
}

/// What differs between a track and a rom.
fn differences(rom: &Rom, h: &Hashes) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(s) = rom.size.filter(|&s| s != h.size) {
        v.push(format!("size {} bytes, the DAT says {s}", h.size));
    }
    for (what, dat, ours) in [("crc32", &rom.crc32, &h.crc32), ("md5", &rom.md5, &h.md5), ("sha1", &rom.sha1, &h.sha1)]
    {
        if let Some(d) = dat.as_ref().filter(|d| !d.eq_ignore_ascii_case(ours)) {
            v.push(format!("{what} {ours}, the DAT says {d}"));
        }
    }
    v
}

/// Compares the tracks of an image (number and hashes, in track order) with the games of `dat`.
pub fn match_tracks(dat: &Dat, tracks: &[(u8, Hashes)]) -> DatMatch {
    // For each game: which of its track files each track matches (a file is matched once).
    let mut best: Option<(usize, usize, &Game)> = None; // (tracks matched, files of the same size, game)
    for g in &dat.games {
        let roms: Vec<&Rom> = g.tracks().collect();
        let mut used = vec![false; roms.len()];
        let mut matched = 0usize;
        for (_, h) in tracks {
            let hit = roms.iter().enumerate().find(|(i, r)| !used.get(*i).copied().unwrap_or(true) && same(r, h));
            if let Some((i, _)) = hit {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                matched = matched.saturating_add(1);
            }
        }
        if matched == tracks.len() && roms.len() == tracks.len() && !tracks.is_empty() {
            return DatMatch::Matched { game: g.name.clone(), tracks: compare(g, tracks).0 };
        }
        let sized = tracks.iter().zip(roms.iter()).filter(|((_, h), r)| r.size == Some(h.size)).count();
        let key = (matched, if roms.len() == tracks.len() { sized } else { 0 });
        if (key.0 > 0 || key.1 > 0) && best.is_none_or(|(m, s, _)| key > (m, s)) {
            best = Some((key.0, key.1, g));
        }
    }
    match best {
        Some((_, _, g)) => {
            let (tracks, missing) = compare(g, tracks);
            DatMatch::Differs { game: g.name.clone(), tracks, missing }
        }
        None => DatMatch::NotFound,
    }
}

/// The sheet file (`.cue`, …) of the game named `game` compared with a sheet's hashes: its name and what differs
/// (empty when it matches); `None` when the game lists no sheet.
pub fn match_sheet(dat: &Dat, game: &str, sheet: &Hashes) -> Option<(String, Vec<String>)> {
    let g = dat.games.iter().find(|g| g.name == game)?;
    let rom = g.roms.iter().find(|r| r.is_sheet())?;
    Some((rom.name.clone(), if same(rom, sheet) { Vec::new() } else { differences(rom, sheet) }))
}

/// Each track against `g`'s files: the one it matches, else the one in its place.
fn compare(g: &Game, tracks: &[(u8, Hashes)]) -> (Vec<TrackMatch>, Vec<String>) {
    let roms: Vec<&Rom> = g.tracks().collect();
    let mut used = vec![false; roms.len()];
    let mut out: Vec<Option<TrackMatch>> = vec![None; tracks.len()];
    for (slot, (n, h)) in out.iter_mut().zip(tracks) {
        let hit = roms.iter().enumerate().find(|(i, r)| !used.get(*i).copied().unwrap_or(true) && same(r, h));
        if let Some((i, r)) = hit {
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
            *slot = Some(TrackMatch { track: *n, rom: Some(r.name.clone()), differences: Vec::new() });
        }
    }
    for (pos, (slot, (n, h))) in out.iter_mut().zip(tracks).enumerate() {
        if slot.is_some() {
            continue;
        }
        // The file in the track's place if it is free, else the first free one.
        let i = if !used.get(pos).copied().unwrap_or(true) { Some(pos) } else { used.iter().position(|u| !u) };
        let m = match i.and_then(|i| roms.get(i).map(|r| (i, r))) {
            Some((i, r)) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                TrackMatch { track: *n, rom: Some(r.name.clone()), differences: differences(r, h) }
            }
            None => TrackMatch { track: *n, rom: None, differences: vec!["the DAT has no file for it".into()] },
        };
        *slot = Some(m);
    }
    let missing = roms.iter().zip(&used).filter(|(_, u)| !**u).map(|(r, _)| r.name.clone()).collect();
    (out.into_iter().flatten().collect(), missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(size: u64, c: &str) -> Hashes {
        Hashes { size, crc32: c.repeat(8), md5: c.repeat(32), sha1: c.repeat(40) }
    }

    const DAT: &str = r#"<?xml version="1.0"?>
<!DOCTYPE datafile PUBLIC "-//Logiqx//DTD ROM Management Datafile//EN" "http://www.logiqx.com/dats/datafile.dtd">
<datafile><header><name>Test &amp; Co</name></header>
<game name="A"><description>A</description>
<rom name="A.cue" size="10" crc="00000000"/>
<rom name="A (Track 1).bin" size="4" crc="11111111" md5="11111111111111111111111111111111"
  sha1="1111111111111111111111111111111111111111"/>
<rom name="A (Track 2).bin" size="8" crc="22222222" md5="22222222222222222222222222222222"
  sha1="2222222222222222222222222222222222222222"/>
</game>
<machine name="B"><rom name="B.bin" size="4" crc="33333333"/></machine>
</datafile>"#;

    #[test]
    fn lead_files_are_told_from_tracks() {
        let named = |n: &str| Rom { name: n.into(), ..Rom::default() };
        for lead in ["G (Track 0).bin", "G (Track 00).bin", "G (Track A).bin", "G (Track AA).bin", "G (Track 0.2).bin"]
        {
            assert!(named(lead).is_lead_file(), "{lead}");
        }
        for track in ["G (Track 1).bin", "G (Track 10).bin", "G.bin", "G (Track A).cue", "G (Track 0.x).bin"] {
            assert!(!named(track).is_lead_file(), "{track}");
        }
        let rom =
            Rom { name: "G (Track 0).bin".into(), size: Some(4), crc32: Some("11111111".into()), ..Rom::default() };
        assert!(compare_file(&rom, &h(4, "1")).is_empty());
        assert_eq!(compare_file(&rom, &h(4, "2")), vec!["crc32 22222222, the DAT says 11111111".to_string()]);
    }

    #[test]
    fn parses_and_matches() {
        let dat = parse(DAT.as_bytes()).unwrap();
        assert_eq!(dat.name.as_deref(), Some("Test & Co"));
        assert_eq!(dat.games.len(), 2);
        let m = match_tracks(&dat, &[(1, h(4, "1")), (2, h(8, "2"))]);
        assert!(matches!(m, DatMatch::Matched { ref game, .. } if game == "A"), "{m:?}");
        let m = match_tracks(&dat, &[(1, h(4, "1")), (2, h(8, "4"))]);
        let DatMatch::Differs { game, tracks, .. } = m else { panic!() };
        assert_eq!(game, "A");
        assert!(tracks[0].differences.is_empty());
        assert_eq!(tracks[1].differences.len(), 3);
        assert_eq!(match_tracks(&dat, &[(1, h(5, "9"))]), DatMatch::NotFound);
        let cue = Hashes { size: 10, crc32: "00000000".into(), md5: "x".into(), sha1: "y".into() };
        assert_eq!(match_sheet(&dat, "A", &cue), Some(("A.cue".to_string(), Vec::new())));
        assert_eq!(match_sheet(&dat, "B", &cue), None);
    }

    #[test]
    fn refuses_bad_sizes_and_hashes() {
        assert!(parse(br#"<datafile><game name="x"><rom name="a" size="-1"/></game></datafile>"#).is_err());
        assert!(parse(br#"<datafile><game name="x"><rom name="a" size="99999999999999999999999"/></game></datafile>"#)
            .is_err());
        assert!(parse(br#"<datafile><game name="x"><rom name="a" crc="xyz"/></game></datafile>"#).is_err());
        assert!(parse(br#"<datafile><rom name="a"/></datafile>"#).is_err());
        assert!(parse(b"<datafile><game name=\"x\">").is_err());
    }
}

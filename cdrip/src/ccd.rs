//! CloneCD control files (`.ccd`): an INI-style text with the disc's full TOC, beside the `.img` (the
//! 2352-byte sectors of each session from its first track's INDEX 01 to its lead-out, sessions one after the
//! other) and an optional `.sub` (96 bytes of P-W subchannel per sector).
//!
//! Sections read: `[CloneCD]` (`Version`), `[Disc]` (`TocEntries`, `Sessions`, `DataTracksScrambled`,
//! `CATALOG`), `[Session N]`, `[Entry N]` (one raw TOC entry: `Session`, `Point`, `ADR`, `Control`, `PLBA`, ...)
//! and `[TRACK N]` (`MODE`, `INDEX n=LBA`). The TOC entries with points 1..99 give each track's start, its
//! session and whether it is data (control bit 2); point 0xA2 gives each session's lead-out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Largest `.ccd` read, in bytes.
pub const MAX_CCD_LEN: u64 = 1 << 20;
/// Most TOC entries read (99 tracks plus the A0/A1/A2 points of 99 sessions is well under this).
pub const MAX_ENTRIES: usize = 1000;

/// One track as the TOC and the `[TRACK N]` section describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CcdTrack {
    /// 1..=99.
    pub number: u8,
    /// The session (1-based).
    pub session: u32,
    /// Sector mode: 0 for audio, 1 or 2 for data.
    pub mode: u8,
    /// The TOC control nibble (bit 2 set for data tracks).
    pub control: u8,
    /// LBA of INDEX 01 (the TOC entry's PLBA).
    pub start: i64,
    /// LBA of INDEX 00 when the track has a pregap.
    pub index0: Option<i64>,
}

/// A parsed `.ccd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CcdFile {
    /// `[CloneCD] Version`.
    pub version: Option<u32>,
    /// The tracks in order.
    pub tracks: Vec<CcdTrack>,
    /// The lead-out LBA of each session (from point 0xA2), by session number.
    pub leadouts: BTreeMap<u32, i64>,
    /// `[Disc] CATALOG`.
    pub catalog: Option<String>,
    /// `[Disc] DataTracksScrambled`.
    pub scrambled: bool,
}

type Sections = Vec<(String, BTreeMap<String, (String, usize)>)>;

fn parse_int(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else {
        v.parse().ok()
    }
}

impl CcdFile {
    /// Reads and parses the `.ccd` at `path`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::LimitExceeded`] for a file over [`MAX_CCD_LEN`], [`Error::CcdSyntax`].
    pub fn open(path: &Path) -> Result<CcdFile> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_CCD_LEN {
            return Err(Error::LimitExceeded { what: "CloneCD control file size", limit: MAX_CCD_LEN, actual: len });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        CcdFile::parse(&String::from_utf8_lossy(&bytes), path)
    }

    /// Parses control file text; `path` is only used in messages.
    ///
    /// # Errors
    /// [`Error::CcdSyntax`] naming the line (or section) at fault.
    pub fn parse(text: &str, path: &Path) -> Result<CcdFile> {
        let err = |line: usize, message: String| Error::CcdSyntax { path: path.to_path_buf(), line, message };
        let mut sections: Sections = Vec::new();
        for (i, raw) in text.strip_prefix('\u{feff}').unwrap_or(text).lines().enumerate() {
            let line = i.saturating_add(1);
            let l = raw.trim();
            if l.is_empty() || l.starts_with(';') || l.starts_with('#') {
                continue;
            }
            if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                if sections.len() > MAX_ENTRIES.saturating_mul(2) {
                    return Err(Error::LimitExceeded {
                        what: "CloneCD sections",
                        limit: MAX_ENTRIES.saturating_mul(2) as u64,
                        actual: sections.len() as u64,
                    });
                }
                sections.push((name.trim().to_ascii_lowercase(), BTreeMap::new()));
                continue;
            }
            let Some((k, v)) = l.split_once('=') else {
                return Err(err(line, format!("expected key=value, found {l:?}")));
            };
            let Some((_, map)) = sections.last_mut() else {
                return Err(err(line, "key before any [section]".into()));
            };
            map.insert(k.trim().to_ascii_lowercase(), (v.trim().to_string(), line));
        }
        if !sections.iter().any(|(n, _)| n == "clonecd") {
            return Err(err(1, "no [CloneCD] section: not a CloneCD control file".into()));
        }
        let int = |map: &BTreeMap<String, (String, usize)>, key: &str, section: &str| -> Result<Option<i64>> {
            match map.get(key) {
                None => Ok(None),
                Some((v, line)) => parse_int(v)
                    .map(Some)
                    .ok_or_else(|| err(*line, format!("[{section}] {key}: {v:?} is not a number"))),
            }
        };
        let mut out =
            CcdFile { version: None, tracks: Vec::new(), leadouts: BTreeMap::new(), catalog: None, scrambled: false };
        let mut modes: BTreeMap<u8, (u8, Option<i64>, Option<i64>)> = BTreeMap::new();
        let mut entries = 0usize;
        for (name, map) in &sections {
            if name == "clonecd" {
                out.version = int(map, "version", name)?.and_then(|v| u32::try_from(v).ok());
            } else if name == "disc" {
                out.catalog = map.get("catalog").map(|(v, _)| v.clone());
                out.scrambled = int(map, "datatracksscrambled", name)?.unwrap_or(0) != 0;
            } else if name.starts_with("entry") {
                entries = entries.saturating_add(1);
                if entries > MAX_ENTRIES {
                    return Err(Error::LimitExceeded {
                        what: "CloneCD TOC entries",
                        limit: MAX_ENTRIES as u64,
                        actual: entries as u64,
                    });
                }
                let need = |key: &str| -> Result<i64> {
                    int(map, key, name)?.ok_or_else(|| err(0, format!("[{name}]: missing {key}")))
                };
                let point = need("point")?;
                let session = need("session")?;
                let session = u32::try_from(session)
                    .ok()
                    .filter(|s| (1..=99).contains(s))
                    .ok_or_else(|| err(0, format!("[{name}]: session {session} not in 1..99")))?;
                let adr = int(map, "adr", name)?.unwrap_or(1);
                if adr != 1 {
                    continue;
                }
                let plba = need("plba")?;
                if !(-150..=crate::sector::MAX_LBA).contains(&plba) {
                    return Err(err(0, format!("[{name}]: PLBA {plba} outside the disc")));
                }
                let control = u8::try_from(int(map, "control", name)?.unwrap_or(0) & 0x0F).unwrap_or(0);
                match point {
                    1..=99 => {
                        let number = u8::try_from(point).unwrap_or(0);
                        if out.tracks.iter().any(|t| t.number == number) {
                            return Err(err(0, format!("[{name}]: track {number} listed twice")));
                        }
                        out.tracks.push(CcdTrack {
                            number,
                            session,
                            mode: if control & 0x04 != 0 { 1 } else { 0 },
                            control,
                            start: plba,
                            index0: None,
                        });
                    }
                    0xA2 => {
                        out.leadouts.insert(session, plba);
                    }
                    _ => {}
                }
            } else if let Some(n) = name.strip_prefix("track") {
                let n: u8 = n
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=99).contains(n))
                    .ok_or_else(|| err(0, format!("[{name}]: not a track number 1..99")))?;
                let mode = int(map, "mode", name)?.unwrap_or(0);
                let mode = u8::try_from(mode)
                    .ok()
                    .filter(|m| *m <= 2)
                    .ok_or_else(|| err(0, format!("[{name}]: MODE {mode} is not 0, 1 or 2")))?;
                modes.insert(n, (mode, int(map, "index 0", name)?, int(map, "index 1", name)?));
            }
        }
        if out.tracks.is_empty() {
            return Err(err(0, "no track entries (points 1..99) in the TOC".into()));
        }
        out.tracks.sort_by_key(|t| t.number);
        for t in &mut out.tracks {
            if let Some(&(mode, i0, i1)) = modes.get(&t.number) {
                t.mode = mode;
                if let Some(i1) = i1 {
                    if i1 != t.start {
                        return Err(err(0, format!("[TRACK {}]: INDEX 1={i1} but the TOC says {}", t.number, t.start)));
                    }
                }
                if let Some(i0) = i0 {
                    if i0 > t.start || i0 < -150 {
                        return Err(err(0, format!("[TRACK {}]: INDEX 0={i0} is not before INDEX 1", t.number)));
                    }
                    t.index0 = Some(i0);
                }
            }
        }
        for pair in out.tracks.windows(2) {
            if let [a, b] = pair {
                if b.start <= a.start || b.session < a.session {
                    return Err(err(
                        0,
                        format!("track {} starts at {} before track {} at {}", b.number, b.start, a.number, a.start),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The `.img` and `.sub` beside a `.ccd` (same stem; the extension's case is matched loosely).
pub fn companion_files(ccd: &Path) -> (PathBuf, Option<PathBuf>) {
    let find = |ext: &str| -> Option<PathBuf> {
        for e in [ext.to_string(), ext.to_ascii_uppercase()] {
            let p = ccd.with_extension(&e);
            if p.exists() {
                return Some(p);
            }
        }
        None
    };
    let img = find("img").unwrap_or_else(|| ccd.with_extension("img"));
    (img, find("sub"))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const CCD: &str = "[CloneCD]\nVersion=3\n[Disc]\nTocEntries=5\nSessions=1\nDataTracksScrambled=0\nCDTextLength=0\n[Session 1]\nPreGapMode=1\nPreGapSubC=0\n[Entry 0]\nSession=1\nPoint=0xa0\nADR=0x01\nControl=0x04\nTrackNo=0\nAMin=0\nASec=0\nAFrame=0\nALBA=-150\nZero=0\nPMin=1\nPSec=0\nPFrame=0\nPLBA=4350\n[Entry 1]\nSession=1\nPoint=0xa2\nADR=0x01\nControl=0x04\nPLBA=400\n[Entry 2]\nSession=1\nPoint=0x01\nADR=0x01\nControl=0x04\nPLBA=0\n[Entry 3]\nSession=1\nPoint=0x02\nADR=0x01\nControl=0x00\nPLBA=300\n[TRACK 1]\nMODE=1\nINDEX 1=0\n[TRACK 2]\nMODE=0\nINDEX 0=250\nINDEX 1=300\n";

    #[test]
    fn parses_a_control_file() {
        let c = CcdFile::parse(CCD, Path::new("x.ccd")).unwrap();
        assert_eq!(c.version, Some(3));
        assert_eq!(c.tracks.len(), 2);
        assert_eq!(c.tracks[0].mode, 1);
        assert_eq!(c.tracks[1].index0, Some(250));
        assert_eq!(c.leadouts.get(&1), Some(&400));
    }

    #[test]
    fn rejects_hostile_files() {
        for (text, what) in [
            ("[Disc]\n", "no [CloneCD]"),
            ("[CloneCD]\nVersion=3\n", "no track entries"),
            ("[CloneCD]\n[Entry 0]\nSession=1\nPoint=1\nPLBA=99999999\n", "outside the disc"),
            ("[CloneCD]\n[Entry 0]\nSession=1\nPoint=1\nPLBA=zz\n", "not a number"),
            (
                "[CloneCD]\n[Entry 0]\nSession=1\nPoint=1\nPLBA=10\n[Entry 1]\nSession=1\nPoint=2\nPLBA=5\n",
                "before track",
            ),
            ("[CloneCD]\n[Entry 0]\nSession=1\nPoint=1\nPLBA=0\n[TRACK 1]\nMODE=7\n", "MODE 7"),
            ("[CloneCD]\nnonsense\n", "key=value"),
        ] {
            let e = CcdFile::parse(text, Path::new("h.ccd")).unwrap_err().to_string();
            assert!(e.contains(what), "{text:?}: {e}");
        }
    }
}

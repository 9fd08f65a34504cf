//! CloneCD control files (`.ccd`): an INI-style text with the disc's full TOC, beside the `.img` (the
//! 2352-byte sectors of each session from its first track's INDEX 01 to its lead-out, sessions one after the
//! other) and an optional `.sub` (96 bytes of P-W subchannel per sector).
//!
//! Sections read: `[CloneCD]` (`Version`), `[Disc]` (`TocEntries`, `Sessions`, `DataTracksScrambled`,
//! `CATALOG`), `[Session N]`, `[Entry N]` (one raw TOC entry: `Session`, `Point`, `ADR`, `Control`, `PLBA`, ...)
//! and `[TRACK N]` (`MODE`, `INDEX n=LBA`). The TOC entries with points 1..99 give each track's start, its
//! session and whether it is data (control bit 2); point 0xA2 gives each session's lead-out.
//!
//! # Writing
//! [`CcdFile::from_disc`] describes any raw disc in these terms and [`CcdFile::to_text`] writes the control file
//! as CloneCD 3 does (CRLF lines; entries A0, A1, A2 and one per track for each session, B0 before a further
//! session). The `.img` holds each session from INDEX 01 of its first track up to its lead-out
//! ([`CcdFile::image_ranges`]); the `.sub` holds 96 bytes a sector stored channel after channel (12 bytes of P,
//! 12 of Q, then R to W), which is how CloneCD stores it; [`CcdFile::subchannel_at`] generates them where the
//! source has none: P set during pauses (INDEX 00), Q mode 1 with track, index, relative and absolute time and
//! its CRC (ECMA-130 22.3), R to W zero.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cue::TrackMode;
use crate::error::{Error, Result};
use crate::image::RawDisc;
use crate::sector::{Msf, FRAMES_PER_SECOND, MSF_LBA_OFFSET};

/// Bytes of subchannel per sector in a `.sub`.
pub const SUB_LEN: usize = 96;
/// The largest lead-out start a B0 entry announces (79:59:74, as CloneCD writes for a CD-R).
const MAX_LEADOUT_MSF: (u8, u8, u8) = (79, 59, 74);

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

fn bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

/// Minutes, seconds and frames of a count of frames (not shifted by the 150 frames of the first pregap).
fn frames_msf(frames: i64) -> (u8, u8, u8) {
    let f = frames.clamp(0, 100 * 60 * FRAMES_PER_SECOND - 1);
    let minute = u8::try_from(f / (60 * FRAMES_PER_SECOND)).unwrap_or(99);
    let second = u8::try_from((f / FRAMES_PER_SECOND) % 60).unwrap_or(59);
    let frame = u8::try_from(f % FRAMES_PER_SECOND).unwrap_or(74);
    (minute, second, frame)
}

/// The MSF address of an LBA, clamped to the disc.
fn lba_msf(lba: i64) -> (u8, u8, u8) {
    Msf::from_lba(lba).map_or_else(|| frames_msf(lba.saturating_add(MSF_LBA_OFFSET)), |m| (m.minute, m.second, m.frame))
}

/// The LBA of an address given as minutes, seconds and frames, as CloneCD computes `PLBA` (MSF minus 150).
fn msf_lba((m, s, f): (u8, u8, u8)) -> i64 {
    (i64::from(m).saturating_mul(60).saturating_add(i64::from(s)))
        .saturating_mul(FRAMES_PER_SECOND)
        .saturating_add(i64::from(f))
        .saturating_sub(MSF_LBA_OFFSET)
}

/// The TOC control nibble of a CUE track: data bit, and the `FLAGS` it declares.
fn cue_control(mode: TrackMode, flags: &[String]) -> u8 {
    let mut c = if mode.is_data() { 0x04 } else { 0 };
    for f in flags {
        match f.to_ascii_uppercase().as_str() {
            "4CH" => c |= 0x08,
            "DCP" => c |= 0x02,
            "PRE" => c |= 0x01,
            _ => {}
        }
    }
    c
}

impl CcdFile {
    /// Describes `disc` as a CloneCD image: each track's start, its INDEX 00 where its pregap lies inside its
    /// session (the first track's pregap of a session is not in a CloneCD image), its control nibble (data bit and
    /// CUE `FLAGS`, or a CloneCD source's own), each session's lead-out (after the last track and its postgap),
    /// and the catalog number.
    #[must_use]
    pub fn from_disc(disc: &RawDisc) -> CcdFile {
        let source = disc.ccd();
        let mut out = CcdFile {
            version: Some(3),
            tracks: Vec::new(),
            leadouts: source.map(|c| c.leadouts.clone()).unwrap_or_default(),
            catalog: source.and_then(|c| c.catalog.clone()).or_else(|| disc.cue().and_then(|c| c.catalog.clone())),
            scrambled: false,
        };
        let cue_tracks: Vec<&crate::cue::Track> =
            disc.cue().map(|c| c.files.iter().flat_map(|f| f.tracks.iter()).collect()).unwrap_or_default();
        let mut prev_session = None;
        let mut ends: BTreeMap<u32, i64> = BTreeMap::new();
        for t in disc.tracks() {
            let first_of_session = prev_session != Some(t.session);
            prev_session = Some(t.session);
            let pregap_start = t.first_lba.saturating_sub(i64::from(t.unstored_pregap));
            let src = source.and_then(|c| c.tracks.iter().find(|x| x.number == t.number));
            let index0 = match src {
                Some(x) => x.index0,
                None => (!first_of_session && pregap_start < t.start_lba).then_some(pregap_start),
            };
            let mode = match t.mode {
                TrackMode::Audio | TrackMode::Cdg => 0,
                TrackMode::Mode1_2352 | TrackMode::Mode1_2048 => 1,
                _ => 2,
            };
            let control = match src {
                Some(x) => x.control,
                None => cue_tracks
                    .iter()
                    .find(|c| c.number == t.number)
                    .map_or(if t.mode.is_data() { 0x04 } else { 0 }, |c| cue_control(t.mode, &c.flags)),
            };
            out.tracks.push(CcdTrack {
                number: t.number,
                session: t.session,
                mode,
                control,
                start: t.start_lba,
                index0,
            });
            let end = t.end_lba().saturating_add(i64::from(t.postgap));
            let e = ends.entry(t.session).or_insert(end);
            *e = (*e).max(end);
        }
        for (s, end) in ends {
            out.leadouts.entry(s).or_insert(end);
        }
        out
    }

    /// The LBA ranges the `.img` holds, in order: each session from INDEX 01 of its first track up to its
    /// lead-out.
    #[must_use]
    pub fn image_ranges(&self) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for (s, leadout) in &self.leadouts {
            if let Some(first) = self.tracks.iter().find(|t| t.session == *s) {
                if *leadout > first.start {
                    out.push((first.start, *leadout));
                }
            }
        }
        out
    }

    /// The track that `lba` belongs to: the last one whose pregap or INDEX 01 is not after it.
    #[must_use]
    pub fn track_at(&self, lba: i64) -> Option<&CcdTrack> {
        self.tracks.iter().rev().find(|t| t.index0.unwrap_or(t.start).min(t.start) <= lba)
    }

    /// The 96 bytes of P–W subchannel of sector `lba`, channel after channel as a CloneCD `.sub` stores them: P
    /// set during a pause (INDEX 00), Q in mode 1 (control, track, index, relative time counting down to zero
    /// through a pause and up from zero through the track, absolute time, CRC), R to W zero.
    #[must_use]
    pub fn subchannel_at(&self, lba: i64) -> [u8; SUB_LEN] {
        let mut sub = [0u8; SUB_LEN];
        let Some(t) = self.track_at(lba) else { return sub };
        let pause = lba < t.start;
        let rel = if pause { t.start.saturating_sub(lba).saturating_sub(1) } else { lba.saturating_sub(t.start) };
        let (rm, rs, rf) = frames_msf(rel);
        let (am, as_, af) = lba_msf(lba);
        let body = [
            (t.control << 4) | 1,
            bcd(t.number),
            if pause { 0 } else { 1 },
            bcd(rm),
            bcd(rs),
            bcd(rf),
            0,
            bcd(am),
            bcd(as_),
            bcd(af),
        ];
        let crc = !crate::disc::crc16(&body);
        let mut q = [0u8; 12];
        for (d, b) in q.iter_mut().zip(body.iter().chain(crc.to_be_bytes().iter())) {
            *d = *b;
        }
        if pause {
            if let Some(p) = sub.get_mut(..12) {
                p.fill(0xff);
            }
        }
        if let Some(qs) = sub.get_mut(12..24) {
            qs.copy_from_slice(&q);
        }
        sub
    }

    /// The control file text, as CloneCD 3 writes it (CRLF line ends).
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut entries: Vec<String> = Vec::new();
        let sessions: Vec<u32> = self.leadouts.keys().copied().collect();
        let entry = |session: u32, point: u8, adr: u8, control: u8, a: (u8, u8, u8), zero: u8, p: (u8, u8, u8)| {
            format!(
                "Session={session}\r\nPoint=0x{point:02x}\r\nADR=0x{adr:02x}\r\nControl=0x{control:02x}\r\nTrackNo=0\r\n\
                 AMin={}\r\nASec={}\r\nAFrame={}\r\nALBA={}\r\nZero={zero}\r\nPMin={}\r\nPSec={}\r\nPFrame={}\r\n\
                 PLBA={}\r\n",
                a.0,
                a.1,
                a.2,
                msf_lba(a),
                p.0,
                p.1,
                p.2,
                msf_lba(p)
            )
        };
        for (i, &s) in sessions.iter().enumerate() {
            let tracks: Vec<&CcdTrack> = self.tracks.iter().filter(|t| t.session == s).collect();
            let (Some(first), Some(last)) = (tracks.first(), tracks.last()) else { continue };
            let leadout = self.leadouts.get(&s).copied().unwrap_or(last.start);
            let xa = tracks.iter().any(|t| t.mode == 2);
            let zero = (0, 0, 0);
            entries.push(entry(s, 0xa0, 1, first.control, zero, 0, (first.number, if xa { 0x20 } else { 0 }, 0)));
            entries.push(entry(s, 0xa1, 1, last.control, zero, 0, (last.number, 0, 0)));
            entries.push(entry(s, 0xa2, 1, last.control, zero, 0, lba_msf(leadout)));
            for t in &tracks {
                entries.push(entry(s, t.number, 1, t.control, zero, 0, lba_msf(t.start)));
            }
            // A further session: B0 names where its program area may start.
            if let Some(next) = sessions.get(i.saturating_add(1)) {
                let next_start = self.tracks.iter().find(|t| t.session == *next).map_or(leadout, |t| t.start);
                let pregap = next_start.saturating_sub(crate::image::SESSION_PREGAP);
                entries.push(entry(s, 0xb0, 5, first.control, lba_msf(pregap), 1, MAX_LEADOUT_MSF));
            }
        }
        let mut t = String::new();
        let _ = write!(
            t,
            "[CloneCD]\r\nVersion=3\r\n[Disc]\r\nTocEntries={}\r\nSessions={}\r\n",
            entries.len(),
            sessions.len()
        );
        let _ = write!(t, "DataTracksScrambled=0\r\nCDTextLength=0\r\n");
        if let Some(c) = &self.catalog {
            let _ = write!(t, "CATALOG={c}\r\n");
        }
        for &s in &sessions {
            let mode = self.tracks.iter().find(|x| x.session == s).map_or(0, |x| x.mode);
            let _ = write!(t, "[Session {s}]\r\nPreGapMode={mode}\r\nPreGapSubC=0\r\n");
        }
        for (i, e) in entries.iter().enumerate() {
            let _ = write!(t, "[Entry {i}]\r\n{e}");
        }
        for tr in &self.tracks {
            let _ = write!(t, "[TRACK {}]\r\nMODE={}\r\n", tr.number, tr.mode);
            if let Some(i0) = tr.index0 {
                let _ = write!(t, "INDEX 0={i0}\r\n");
            }
            let _ = write!(t, "INDEX 1={}\r\n", tr.start);
        }
        t
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
    fn written_control_files_parse_back() {
        let c = CcdFile::parse(CCD, Path::new("x.ccd")).unwrap();
        let text = c.to_text();
        assert!(text.contains("\r\n[Entry 3]\r\n") && text.contains("Point=0xa2"), "{text}");
        let back = CcdFile::parse(&text, Path::new("y.ccd")).unwrap();
        assert_eq!(back.tracks, c.tracks);
        assert_eq!(back.leadouts, c.leadouts);
        assert_eq!(c.image_ranges(), vec![(0, 400)]);
        // Track 2's pause: P set, Q index 0 counting down to 0 at LBA 299; then index 1 from 0.
        let q = |lba: i64| c.subchannel_at(lba)[12..24].to_vec();
        assert_eq!(c.subchannel_at(250)[..12], [0xff; 12]);
        assert_eq!(q(250)[..6], [0x01, 0x02, 0x00, 0x00, 0x00, 0x49]);
        assert_eq!(q(299)[..6], [0x01, 0x02, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(c.subchannel_at(300)[..12], [0; 12]);
        assert_eq!(q(300)[..10], [0x01, 0x02, 0x01, 0, 0, 0, 0, 0x00, 0x06, 0x00]);
        assert_eq!(q(0)[..3], [0x41, 0x01, 0x01]);
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

//! The shape of a disc from its TOC: sessions, tracks (audio, Mode 1, Mode 2), pregaps, lead-out, and the CUE
//! sheet of a raw rip of it.
//!
//! MMC-6 6.26.2 (READ TOC formats 0 and 2); the CONTROL nibble per ECMA-130 22.3.1. The TOC gives each track's
//! INDEX 01 only: the 2-second pregap before a track whose type differs from the previous one (Red Book and
//! ECMA-130 20.2 require it at a data/audio change) is assumed as INDEX 00, and other pregaps are taken as part
//! of the previous track, which is how the sectors lie on the disc either way.

use crate::cue::{CueSheet, File, FileType, Frames, Index, Track as CueTrack, TrackMode};
use crate::mmc::{FullToc, Toc, CONTROL_DATA, LEAD_OUT_TRACK};

/// Lead-out of the first session of a multi-session CD, in sectors (Orange Book part II: 1 min 30 s).
pub const SESSION_GAP_LEADOUT_FIRST: u32 = 6750;
/// Lead-out of a later session, in sectors (30 s).
pub const SESSION_GAP_LEADOUT_LATER: u32 = 2250;
/// Lead-in of a session after the first, in sectors (1 min).
pub const SESSION_GAP_LEADIN: u32 = 4500;
/// Pregap of a later session's first track, in sectors (2 s).
pub const SESSION_GAP_PREGAP: u32 = 150;

/// The pregap of a track that changes between audio and data, in sectors (2 seconds).
pub const TRANSITION_PREGAP: u32 = 150;
/// Sectors between the end of one session and the start of the next: lead-out (6750) plus lead-in (4500) plus
/// the first pregap (150) of a multisession CD (Orange Book).
pub const SESSION_GAP: u32 = 11_400;

/// What a track holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    /// Red Book audio.
    Audio,
    /// Mode 1 data.
    Mode1,
    /// Mode 2 data (CD-ROM XA Form 1/2, or formless).
    Mode2,
}

impl TrackKind {
    /// A short name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Mode1 => "mode1",
            Self::Mode2 => "mode2",
        }
    }
}

/// One track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Track number, 1–99.
    pub number: u8,
    /// Session number, from 1.
    pub session: u8,
    /// What it holds.
    pub kind: TrackKind,
    /// CONTROL nibble from the TOC.
    pub control: u8,
    /// LBA of INDEX 01.
    pub start: u32,
    /// Sectors from INDEX 01 to the next track's start (pregap excluded) or its session's lead-out.
    pub length: u32,
    /// Sectors of INDEX 00 before `start` that belong to this track (0 or [`TRANSITION_PREGAP`]).
    pub pregap: u32,
}

impl Track {
    /// True for a data track.
    #[must_use]
    pub fn is_data(&self) -> bool {
        self.kind != TrackKind::Audio
    }

    /// One past the last sector.
    #[must_use]
    pub fn end(&self) -> u32 {
        self.start.saturating_add(self.length)
    }
}

/// One session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Session number, from 1.
    pub number: u8,
    /// First track number.
    pub first_track: u8,
    /// Last track number.
    pub last_track: u8,
    /// LBA of its lead-out.
    pub lead_out: u32,
}

/// The disc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disc {
    /// Tracks in order.
    pub tracks: Vec<Track>,
    /// Sessions in order.
    pub sessions: Vec<Session>,
    /// Disc type from the full TOC (00h CD-DA/CD-ROM, 10h CD-I, 20h CD-ROM XA), when read.
    pub disc_type: Option<u8>,
}

/// A TOC that cannot describe a disc.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscError {
    /// No track, no lead-out, or addresses out of order.
    #[error("unusable TOC: {0}")]
    Toc(String),
}

impl Disc {
    /// The disc described by a format-0 TOC, refined by the full TOC when the drive gave one (sessions, Mode 2 for
    /// CD-ROM XA and CD-I discs). `data_mode` tells a data track's mode when known (READ TRACK INFORMATION or a
    /// raw sector's mode byte): called with the track number, it returns 1 or 2.
    pub fn from_toc(
        toc: &Toc,
        full: Option<&FullToc>,
        data_mode: &mut dyn FnMut(u8) -> Option<u8>,
    ) -> Result<Self, DiscError> {
        let disc_type = full.and_then(FullToc::disc_type);
        let mut points: Vec<(u8, u8, u8, u32)> = Vec::new(); // (session, track, control, start)
        let mut sessions: Vec<Session> = Vec::new();
        if let Some(full) = full.filter(|f| f.entries.iter().any(|e| e.adr == 1 && (1..=99).contains(&e.point))) {
            for e in full.entries.iter().filter(|e| e.adr == 1) {
                match e.point {
                    1..=99 => {
                        let lba = u32::try_from(e.p_lba())
                            .map_err(|_| DiscError::Toc(format!("track {} before LBA 0", e.point)))?;
                        points.push((e.session, e.point, e.control, lba));
                    }
                    0xa2 => {
                        let lba =
                            u32::try_from(e.p_lba()).map_err(|_| DiscError::Toc("lead-out before LBA 0".into()))?;
                        sessions.push(Session { number: e.session, first_track: 0, last_track: 0, lead_out: lba });
                    }
                    _ => {}
                }
            }
        } else {
            let mut lead_out = None;
            for e in &toc.entries {
                if e.track == LEAD_OUT_TRACK {
                    lead_out = Some(e.lba);
                } else if (1..=99).contains(&e.track) {
                    points.push((1, e.track, e.control, e.lba));
                }
            }
            let lead_out = lead_out.ok_or_else(|| DiscError::Toc("no lead-out".into()))?;
            sessions.push(Session { number: 1, first_track: 0, last_track: 0, lead_out });
        }
        points.sort_by_key(|p| p.1);
        sessions.sort_by_key(|s| s.number);
        if points.is_empty() {
            return Err(DiscError::Toc("no track".into()));
        }
        let mut tracks: Vec<Track> = Vec::with_capacity(points.len());
        for (i, &(session, number, control, start)) in points.iter().enumerate() {
            let next_start = points.get(i.saturating_add(1)).filter(|n| n.0 == session).map(|n| n.3);
            let lead_out = sessions
                .iter()
                .find(|s| s.number == session)
                .map(|s| s.lead_out)
                .ok_or_else(|| DiscError::Toc(format!("session {session} has no lead-out")))?;
            let end = next_start.unwrap_or(lead_out);
            if end < start {
                return Err(DiscError::Toc(format!("track {number} starts at {start}, after {end}")));
            }
            let kind = if control & CONTROL_DATA == 0 {
                TrackKind::Audio
            } else if matches!(disc_type, Some(0x10 | 0x20)) || data_mode(number) == Some(2) {
                TrackKind::Mode2
            } else {
                TrackKind::Mode1
            };
            tracks.push(Track { number, session, kind, control, start, length: end.saturating_sub(start), pregap: 0 });
        }
        // A change between audio and data carries a 2-second pregap, stored before INDEX 01 of the new track.
        for i in 1..tracks.len() {
            let (before, after) = tracks.split_at_mut(i);
            let (Some(prev), Some(t)) = (before.last_mut(), after.first_mut()) else { continue };
            if prev.session == t.session && prev.is_data() != t.is_data() && prev.length > TRANSITION_PREGAP {
                prev.length = prev.length.saturating_sub(TRANSITION_PREGAP);
                t.pregap = TRANSITION_PREGAP;
            }
        }
        // Track 1 starting past LBA 0: what lies before its INDEX 01 is its pregap (INDEX 00), which a rip keeps
        // (hidden track one audio when it is not silence).
        if let Some(t) = tracks.first_mut().filter(|t| t.session <= 1 && t.start > 0) {
            t.pregap = t.start;
        }
        for s in &mut sessions {
            let in_session = tracks.iter().filter(|t| t.session == s.number);
            s.first_track = in_session.clone().map(|t| t.number).min().unwrap_or(0);
            s.last_track = in_session.map(|t| t.number).max().unwrap_or(0);
        }
        Ok(Self { tracks, sessions, disc_type })
    }

    /// Sets each track's pregap (INDEX 00) from the Q subchannel, which the TOC does not give: `q(lba)` is the
    /// (track, index) that `lba`'s Q holds ([`q_position`]), `None` when unknown. Going back from a track's
    /// INDEX 01, the sectors whose Q names this track with index 0 are its pregap; the first sector naming
    /// anything else ends it, unknown sectors are skipped. A track whose neighbourhood has no readable Q at all
    /// keeps the pregap assumed from the TOC. Returns the tracks whose pregap changed.
    pub fn pregaps_from_q(&mut self, q: &dyn Fn(u32) -> Option<(u8, u8)>) -> Vec<u8> {
        let mut changed = Vec::new();
        for i in 1..self.tracks.len() {
            let (before, after) = self.tracks.split_at_mut(i);
            let (Some(prev), Some(t)) = (before.last_mut(), after.first_mut()) else { continue };
            if prev.session != t.session {
                continue;
            }
            // The previous track keeps at least its INDEX 01 sector.
            let floor = prev.start.saturating_add(1);
            let mut first_gap = t.start;
            let mut seen = false;
            let mut lba = t.start;
            while lba > floor {
                lba = lba.saturating_sub(1);
                match q(lba) {
                    Some((n, 0)) if n == t.number => {
                        seen = true;
                        first_gap = lba;
                    }
                    Some(_) => {
                        seen = true;
                        break;
                    }
                    None => {}
                }
            }
            let pregap = t.start.saturating_sub(first_gap);
            if seen && pregap != t.pregap {
                prev.length = t.start.saturating_sub(pregap).saturating_sub(prev.start);
                t.pregap = pregap;
                changed.push(t.number);
            }
        }
        changed
    }

    /// Sets each track's pregap from the first LBA at which the Q subchannel named its index 0 (`index0`, by track
    /// number; `None` when unknown), as [`Disc::pregaps_from_q`] does from every sector's Q. The previous track
    /// keeps at least its INDEX 01 sector. Returns the tracks whose pregap changed.
    pub fn pregaps_from_index0(&mut self, index0: &dyn Fn(u8) -> Option<u32>) -> Vec<u8> {
        let mut changed = Vec::new();
        for i in 1..self.tracks.len() {
            let (before, after) = self.tracks.split_at_mut(i);
            let (Some(prev), Some(t)) = (before.last_mut(), after.first_mut()) else { continue };
            let Some(first) = index0(t.number) else { continue };
            if prev.session != t.session || first >= t.start || first <= prev.start {
                continue;
            }
            let pregap = t.start.saturating_sub(first);
            if pregap != t.pregap {
                prev.length = first.saturating_sub(prev.start);
                t.pregap = pregap;
                changed.push(t.number);
            }
        }
        changed
    }

    /// The stretches of LBAs a raw image stores, in order, as (first LBA, sectors): each session from its first
    /// track's first sector (LBA 0 for the first session) up to its lead-out. What lies between is the previous
    /// session's lead-out and the next one's lead-in and first pregap, which no drive reads as user sectors and
    /// which a CUE sheet implies with `REM SESSION` (see [`SESSION_GAP_LEADOUT_FIRST`]).
    #[must_use]
    pub fn raw_extents(&self) -> Vec<(u32, u32)> {
        self.sessions
            .iter()
            .map(|s| {
                let first = if s.number <= 1 {
                    0
                } else {
                    self.tracks
                        .iter()
                        .filter(|t| t.session == s.number)
                        .map(|t| t.start.saturating_sub(t.pregap))
                        .min()
                        .unwrap_or(s.lead_out)
                };
                (first, s.lead_out.saturating_sub(first))
            })
            .collect()
    }

    /// Sectors in a raw image of the disc (the sum of [`Disc::raw_extents`]).
    #[must_use]
    pub fn raw_sectors(&self) -> u32 {
        self.raw_extents().iter().fold(0u32, |a, e| a.saturating_add(e.1))
    }

    /// The raw image sector holding `lba`; `None` for an LBA between sessions or past the end.
    #[must_use]
    pub fn image_sector(&self, lba: u32) -> Option<u32> {
        let mut at = 0u32;
        for (first, count) in self.raw_extents() {
            if lba >= first && lba < first.saturating_add(count) {
                return Some(at.saturating_add(lba.saturating_sub(first)));
            }
            at = at.saturating_add(count);
        }
        None
    }

    /// The LBA of raw image sector `sector`; `None` past the end.
    #[must_use]
    pub fn lba_of_image_sector(&self, sector: u32) -> Option<u32> {
        let mut at = 0u32;
        for (first, count) in self.raw_extents() {
            if sector < at.saturating_add(count) {
                return Some(first.saturating_add(sector.saturating_sub(at)));
            }
            at = at.saturating_add(count);
        }
        None
    }

    /// The LBA of the last session's lead-out: the sectors a raw rip covers are `0..lead_out()`.
    #[must_use]
    pub fn lead_out(&self) -> u32 {
        self.sessions.last().map_or(0, |s| s.lead_out)
    }

    /// The track holding `lba` (its pregap included).
    #[must_use]
    pub fn track_at(&self, lba: u32) -> Option<&Track> {
        self.tracks.iter().find(|t| lba >= t.start.saturating_sub(t.pregap) && lba < t.end())
    }

    /// True when some track is audio.
    #[must_use]
    pub fn has_audio(&self) -> bool {
        self.tracks.iter().any(|t| !t.is_data())
    }

    /// The CUE sheet of a raw rip (2352-byte sectors from LBA 0 in one file named `bin_name`).
    #[must_use]
    pub fn cue_sheet(&self, bin_name: &str) -> CueSheet {
        let tracks = self
            .tracks
            .iter()
            .map(|t| {
                let mode = match t.kind {
                    TrackKind::Audio => TrackMode::Audio,
                    TrackKind::Mode1 => TrackMode::Mode1_2352,
                    TrackKind::Mode2 => TrackMode::Mode2_2352,
                };
                let mut c = CueTrack::new(t.number, mode);
                c.session = u32::from(t.session);
                if t.control & 0x02 != 0 {
                    c.flags.push("DCP".into());
                }
                if !t.is_data() && t.control & 0x01 != 0 {
                    c.flags.push("PRE".into());
                }
                if !t.is_data() && t.control & 0x08 != 0 {
                    c.flags.push("4CH".into());
                }
                // Positions in the file, where the sessions follow each other without the gaps between them.
                let at = |lba: u32| Frames(self.image_sector(lba).unwrap_or(lba));
                if t.pregap > 0 {
                    c.indexes.push(Index { number: 0, position: at(t.start.saturating_sub(t.pregap)) });
                }
                c.indexes.push(Index { number: 1, position: at(t.start) });
                // A session's first track: `REM SESSION` implies the lead-out, lead-in and a 150-sector pregap; a
                // gap of another size is declared with PREGAP.
                let prev_session = self.sessions.iter().take_while(|s| s.number < t.session).last();
                let first_of_session = self.tracks.iter().find(|x| x.session == t.session).map(|x| x.number);
                if let (Some(ps), Some(true)) = (prev_session, first_of_session.map(|n| n == t.number)) {
                    let leadout = if ps.number <= 1 { SESSION_GAP_LEADOUT_FIRST } else { SESSION_GAP_LEADOUT_LATER };
                    let gap = t.start.saturating_sub(t.pregap).saturating_sub(ps.lead_out);
                    let pregap = gap.saturating_sub(leadout.saturating_add(SESSION_GAP_LEADIN));
                    // Without INDEX 00 the reader supplies the 150-sector pregap itself; with it, it is stored.
                    let implied = if t.pregap > 0 { 0 } else { SESSION_GAP_PREGAP };
                    if pregap != implied {
                        c.pregap = Some(Frames(pregap));
                    }
                }
                c
            })
            .collect();
        CueSheet {
            files: vec![File { name: bin_name.to_string(), file_type: FileType::Binary, tracks, line: 0 }],
            ..CueSheet::default()
        }
    }
}

/// The (track, index) of a sector's Q subchannel, from its 96 raw P–W bytes (Q is bit 6 of each byte): mode 1
/// position data (ADR 1) whose CRC checks, else `None` (ECMA-130 22.3.3).
#[must_use]
pub fn q_position(raw_sub: &[u8]) -> Option<(u8, u8)> {
    let mut q = [0u8; 12];
    let bits = raw_sub.get(..96)?;
    for (byte, chunk) in q.iter_mut().zip(bits.chunks_exact(8)) {
        *byte = chunk.iter().fold(0u8, |acc, b| (acc << 1) | ((b >> 6) & 1));
    }
    let (data, crc) = q.split_at(10);
    if !crc16(data) != u16::from_be_bytes([*crc.first()?, *crc.get(1)?]) || data.first()? & 0x0f != 1 {
        return None;
    }
    let bcd = |b: u8| (b >> 4).checked_mul(10)?.checked_add(b & 0x0f).filter(|_| b & 0x0f < 10);
    Some((bcd(*data.get(1)?)?, bcd(*data.get(2)?)?))
}

/// CRC-16 with polynomial x^16 + x^12 + x^5 + 1 and initial value 0, as the Q subchannel uses it (stored
/// inverted).
pub(crate) fn crc16(data: &[u8]) -> u16 {
    const Q_CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);
    Q_CRC.checksum(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmc::TocEntry;

    fn toc(entries: &[(u8, u8, u32)]) -> Toc {
        Toc {
            first_track: 1,
            last_track: entries.len().saturating_sub(1) as u8,
            entries: entries.iter().map(|&(track, control, lba)| TocEntry { track, adr: 1, control, lba }).collect(),
        }
    }

    #[test]
    fn one_data_track() {
        let d = Disc::from_toc(&toc(&[(1, 4, 0), (0xaa, 4, 2000)]), None, &mut |_| None).unwrap();
        assert_eq!(d.tracks.len(), 1);
        assert_eq!(d.tracks[0].kind, TrackKind::Mode1);
        assert_eq!(d.tracks[0].length, 2000);
        assert_eq!(d.lead_out(), 2000);
        let cue = d.cue_sheet("out.bin").to_text();
        assert!(cue.contains("FILE \"out.bin\" BINARY"), "{cue}");
        assert!(cue.contains("TRACK 01 MODE1/2352"), "{cue}");
        assert!(cue.contains("INDEX 01 00:00:00"), "{cue}");
    }

    #[test]
    fn mixed_mode_has_pregap() {
        let d = Disc::from_toc(&toc(&[(1, 4, 0), (2, 0, 1000), (3, 0, 1500), (0xaa, 0, 2000)]), None, &mut |_| Some(2))
            .unwrap();
        assert_eq!(d.tracks[0].kind, TrackKind::Mode2);
        assert_eq!(d.tracks[0].length, 850);
        assert_eq!(d.tracks[1].pregap, 150);
        assert_eq!(d.tracks[2].pregap, 0);
        assert_eq!(d.track_at(900).map(|t| t.number), Some(2));
        let cue = d.cue_sheet("x.bin").to_text();
        assert!(cue.contains("INDEX 00 00:11:25"), "{cue}");
        assert!(cue.contains("TRACK 02 AUDIO"), "{cue}");
    }

    #[test]
    fn broken_tocs() {
        assert!(Disc::from_toc(&toc(&[(1, 4, 0)]), None, &mut |_| None).is_err());
        assert!(Disc::from_toc(&toc(&[(0xaa, 4, 10)]), None, &mut |_| None).is_err());
        assert!(Disc::from_toc(&toc(&[(1, 4, 100), (0xaa, 4, 10)]), None, &mut |_| None).is_err());
    }
}

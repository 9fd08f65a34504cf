//! A disc's table of contents and the identifiers computed from it.
//!
//! LBAs count from the first track's usual start (LBA 0 = MSF 00:02:00); the identifiers that count from the
//! start of the lead-in (freedb, MusicBrainz) add the 150 sectors themselves.
//!
//! # Discs with data tracks
//! - An **enhanced CD** (CD-Extra, Blue Book) has its audio tracks in the first session and a data track in a
//!   second one. Its *audio lead-out* is the end of the first session, 11 400 sectors before the data track
//!   ([`super::SESSION_GAP`]). The MusicBrainz disc ID and the CTDB TOC id count the audio tracks only and end at
//!   the audio lead-out, as MusicBrainz and CUETools do; the freedb id counts every track and ends at the disc's
//!   lead-out, as CDDB/freedb and EAC do; the AccurateRip id counts the audio tracks but ends at the disc's
//!   lead-out, as EAC and dBpoweramp do (the data track's length changes it).
//! - A **mixed-mode CD** (Yellow Book) starts with a data track and has its audio tracks after it, in one
//!   session. The MusicBrainz disc ID and the freedb id count every track; the AccurateRip id and the CTDB TOC id
//!   count the audio tracks only, numbered from 1 in AccurateRip's second id.
//! - A data track after the audio tracks in the same session ends the audio at its own `INDEX 01`.

use std::fmt;

use super::checksum::TrackChecksums;
use super::{sha1_id, Error, SESSION_GAP};
use crate::cue::TrackMode;
use crate::image::RawDisc;

/// The largest LBA a TOC can give: MSF 99:59:74 less the 150-sector offset.
pub const MAX_LBA: u32 = 100 * 60 * 75 - 1 - 150;

/// One track of a [`Toc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TocTrack {
    /// Its number, 1..=99.
    pub number: u8,
    /// LBA of its `INDEX 01`.
    pub start: u32,
    /// Whether it is an audio track.
    pub audio: bool,
    /// Its session, from 1.
    pub session: u8,
}

impl TocTrack {
    /// An audio track of the first session.
    pub fn audio(number: u8, start: u32) -> TocTrack {
        TocTrack { number, start, audio: true, session: 1 }
    }

    /// A data track in `session`.
    pub fn data(number: u8, start: u32, session: u8) -> TocTrack {
        TocTrack { number, start, audio: false, session }
    }
}

/// A disc's tracks and lead-out, checked to be possible: 1 to 99 tracks numbered one after the other, starting
/// one after the other, before the lead-out, within [`MAX_LBA`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toc {
    tracks: Vec<TocTrack>,
    leadout: u32,
}

/// The AccurateRip disc identifier: audio track count, two sums of the TOC, and the freedb id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccurateRipId {
    /// Audio tracks.
    pub track_count: u8,
    /// Sum of the audio tracks' LBAs and the lead-out's.
    pub id1: u32,
    /// Sum of each audio track's LBA (at least 1) times its position among the audio tracks, and the lead-out
    /// times the audio track count plus one.
    pub id2: u32,
    /// The freedb/CDDB id.
    pub cddb: u32,
}

impl AccurateRipId {
    /// The name of the disc's file in the AccurateRip database: `dBAR-NNN-xxxxxxxx-xxxxxxxx-xxxxxxxx.bin`.
    pub fn file_name(&self) -> String {
        format!("dBAR-{self}.bin")
    }

    /// Where the file lies under the database's `accuraterip/` folder: the last three hex digits of `id1`, last
    /// first, as folders, then [`AccurateRipId::file_name`].
    pub fn url_path(&self) -> String {
        let d = |shift: u32| (self.id1 >> shift) & 0xf;
        format!("{:x}/{:x}/{:x}/{}", d(0), d(4), d(8), self.file_name())
    }
}

impl fmt::Display for AccurateRipId {
    /// `NNN-xxxxxxxx-xxxxxxxx-xxxxxxxx`, as EAC and whipper print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}-{:08x}-{:08x}-{:08x}", self.track_count, self.id1, self.id2, self.cddb)
    }
}

/// Sum of the decimal digits.
fn digit_sum(mut n: u32) -> u32 {
    let mut s = 0u32;
    while n > 0 {
        s = s.wrapping_add(n % 10);
        n /= 10;
    }
    s
}

impl Toc {
    /// Checks and makes a TOC.
    ///
    /// # Errors
    /// [`Error::Toc`] for no tracks or more than 99, numbers that are not 1..=99 one after the other, starts that
    /// do not increase, a lead-out not after the last track, LBAs past [`MAX_LBA`], sessions that go back or are 0.
    pub fn new(tracks: Vec<TocTrack>, leadout: u32) -> Result<Toc, Error> {
        let bad = |m: String| Err(Error::Toc(m));
        let (Some(first), Some(last)) = (tracks.first(), tracks.last()) else {
            return bad("no tracks".into());
        };
        if tracks.len() > 99 {
            return bad(format!("{} tracks (at most 99)", tracks.len()));
        }
        if first.number == 0 || usize::from(first.number).saturating_add(tracks.len()) > 100 {
            return bad(format!("track numbers {}..{} outside 1..=99", first.number, last.number));
        }
        if leadout > MAX_LBA {
            return bad(format!("lead-out at LBA {leadout}, past the largest a disc can have ({MAX_LBA})"));
        }
        for (i, pair) in tracks.windows(2).enumerate() {
            let [a, b] = pair else { continue };
            if u32::from(b.number) != u32::from(a.number).saturating_add(1) {
                return bad(format!("track {} follows track {} (entry {})", b.number, a.number, i.saturating_add(2)));
            }
            if b.start <= a.start {
                return bad(format!(
                    "track {} starts at LBA {}, not after track {} (LBA {})",
                    b.number, b.start, a.number, a.start
                ));
            }
            if b.session < a.session {
                return bad(format!("track {} is in session {}, before track {}'s", b.number, b.session, a.number));
            }
        }
        if first.session == 0 {
            return bad(format!("track {} in session 0", first.number));
        }
        if leadout <= last.start {
            return bad(format!("lead-out at LBA {leadout}, not after track {} (LBA {})", last.number, last.start));
        }
        Ok(Toc { tracks, leadout })
    }

    /// The TOC of a raw disc image: each track's `INDEX 01`, audio for `AUDIO` and `CDG` tracks; the lead-out
    /// of a CloneCD image's last session as its TOC gives it, or the end of a CUE sheet's last track (its
    /// `POSTGAP` included).
    ///
    /// # Errors
    /// [`Error::Toc`] for an image whose tracks make no possible TOC (see [`Toc::new`]).
    pub fn from_disc(disc: &RawDisc) -> Result<Toc, Error> {
        let lba = |v: i64, what: &str| {
            u32::try_from(v).map_err(|_| Error::Toc(format!("{what} at LBA {v}, outside the disc")))
        };
        let mut tracks = Vec::with_capacity(disc.tracks().len());
        for t in disc.tracks() {
            let session = u8::try_from(t.session)
                .map_err(|_| Error::Toc(format!("track {} in session {}", t.number, t.session)))?;
            let audio = matches!(t.mode, TrackMode::Audio | TrackMode::Cdg);
            tracks.push(TocTrack { number: t.number, start: lba(t.start_lba, "a track")?, audio, session });
        }
        let end = disc.tracks().last().map_or(0, |t| t.end_lba().saturating_add(i64::from(t.postgap)));
        let leadout = disc.ccd().and_then(|c| c.leadouts.values().max().copied()).unwrap_or(end);
        Toc::new(tracks, lba(leadout, "the lead-out")?)
    }

    /// The tracks.
    pub fn tracks(&self) -> &[TocTrack] {
        &self.tracks
    }

    /// The disc's lead-out LBA (of its last session).
    pub fn leadout(&self) -> u32 {
        self.leadout
    }

    /// The audio tracks, in order.
    pub fn audio_tracks(&self) -> impl Iterator<Item = &TocTrack> + '_ {
        self.tracks.iter().filter(|t| t.audio)
    }

    fn audio_count(&self) -> u8 {
        u8::try_from(self.audio_tracks().count()).unwrap_or(u8::MAX)
    }

    /// Where the audio ends: the disc's lead-out; or, when data tracks follow the last audio track, the first of
    /// them less [`SESSION_GAP`] when it lies in a later session (an enhanced CD), or its start when it does not.
    pub fn audio_leadout(&self) -> u32 {
        let Some(last_audio) = self.tracks.iter().rposition(|t| t.audio) else { return self.leadout };
        match (self.tracks.get(last_audio), self.tracks.get(last_audio.saturating_add(1))) {
            (Some(a), Some(d)) if d.session > a.session => {
                d.start.saturating_sub(SESSION_GAP).max(a.start.saturating_add(1))
            }
            (_, Some(d)) => d.start,
            _ => self.leadout,
        }
    }

    /// Sectors of track `number` as its checksums cover it: from its `INDEX 01` to the next track's, or to the
    /// audio lead-out for the last audio track (the disc's lead-out for the last track); `None` for a track the
    /// TOC does not have.
    pub fn track_sectors(&self, number: u8) -> Option<u32> {
        let i = self.tracks.iter().position(|t| t.number == number)?;
        let t = self.tracks.get(i)?;
        let last_audio = self.tracks.iter().rposition(|t| t.audio);
        let end = if t.audio && Some(i) == last_audio {
            self.audio_leadout()
        } else {
            self.tracks.get(i.saturating_add(1)).map_or(self.leadout, |n| n.start)
        };
        Some(end.saturating_sub(t.start))
    }

    /// The [`TrackChecksums`] of audio track `number`, set up with its place among the audio tracks, its length
    /// and the disc's audio length; `None` for a data track or one the TOC does not have.
    pub fn track_checksums(&self, number: u8) -> Option<TrackChecksums> {
        let index = self.audio_tracks().position(|t| t.number == number)?;
        let first = self.audio_tracks().next()?.start;
        let sectors = self.track_sectors(number)?;
        let no = u8::try_from(index.saturating_add(1)).ok()?;
        Some(
            TrackChecksums::new(no, self.audio_count(), sectors)
                .disc_sectors(self.audio_leadout().saturating_sub(first)),
        )
    }

    /// The freedb/CDDB disc id: every track and the disc's lead-out.
    pub fn freedb_id(&self) -> u32 {
        let secs = |lba: u32| lba.saturating_add(150) / 75;
        let n = self.tracks.iter().fold(0u32, |n, t| n.wrapping_add(digit_sum(secs(t.start))));
        let first = self.tracks.first().map_or(0, |t| secs(t.start));
        let length = secs(self.leadout).saturating_sub(first);
        ((n % 255) << 24) | ((length & 0xffff) << 8) | (self.tracks.len() as u32 & 0xff)
    }

    /// The MusicBrainz disc ID: the base64 variant (`.`, `_`, `-` for `+`, `/`, `=`) of the SHA-1 of the first
    /// and last track numbers (2 hex digits each), the lead-out and the 99 track offsets (8 hex digits each, 0 for
    /// tracks the disc does not have), offsets counted from the start of the lead-in. Trailing data tracks are left
    /// out and the lead-out is the [audio lead-out](Toc::audio_leadout).
    pub fn musicbrainz_id(&self) -> String {
        let (last, leadout) = match self.tracks.iter().rposition(|t| t.audio) {
            Some(i) => (self.tracks.get(i), self.audio_leadout()),
            None => (self.tracks.last(), self.leadout),
        };
        let first = self.tracks.first().map_or(1, |t| t.number);
        let last = last.map_or(first, |t| t.number);
        let mut text = format!("{first:02X}{last:02X}{:08X}", leadout.saturating_add(150));
        for n in 1..=99u8 {
            let offset = self
                .tracks
                .iter()
                .find(|t| t.number == n && t.number <= last)
                .map_or(0, |t| t.start.saturating_add(150));
            text.push_str(&format!("{offset:08X}"));
        }
        sha1_id(text.as_bytes())
    }

    /// The AccurateRip disc id; `None` for a disc without audio tracks.
    pub fn accuraterip_id(&self) -> Option<AccurateRipId> {
        let mut id1 = 0u32;
        let mut id2 = 0u32;
        let mut k = 0u32;
        for t in self.audio_tracks() {
            k = k.wrapping_add(1);
            id1 = id1.wrapping_add(t.start);
            id2 = id2.wrapping_add(t.start.max(1).wrapping_mul(k));
        }
        if k == 0 {
            return None;
        }
        id1 = id1.wrapping_add(self.leadout);
        id2 = id2.wrapping_add(self.leadout.max(1).wrapping_mul(k.wrapping_add(1)));
        Some(AccurateRipId { track_count: self.audio_count(), id1, id2, cddb: self.freedb_id() })
    }

    /// The CUETools database's TOC id: the base64 variant of the SHA-1 of the audio tracks' starts after the
    /// first and the audio lead-out, each counted from the first audio track and written as 8 hex digits, padded
    /// with zeros to 100 entries; `None` for a disc without audio tracks.
    pub fn ctdb_toc_id(&self) -> Option<String> {
        let first = self.audio_tracks().next()?.start;
        let mut text = String::with_capacity(800);
        for t in self.audio_tracks().skip(1) {
            text.push_str(&format!("{:08X}", t.start.saturating_sub(first)));
        }
        text.push_str(&format!("{:08X}", self.audio_leadout().saturating_sub(first)));
        let entries = usize::from(self.audio_count());
        text.push_str(&"0".repeat(100usize.saturating_sub(entries).saturating_mul(8)));
        Some(sha1_id(text.as_bytes()))
    }

    /// The TOC as the CUETools database's lookup takes it (`toc=`): each track's LBA, data tracks' with a `-`
    /// before, then the lead-out, separated by `:`.
    pub fn ctdb_toc(&self) -> String {
        let mut parts: Vec<String> =
            self.tracks.iter().map(|t| format!("{}{}", if t.audio { "" } else { "-" }, t.start)).collect();
        parts.push(self.leadout.to_string());
        parts.join(":")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TOC written much as the CDTOC tag is: hex track count (data tracks included), each track's offset from the start of the
    /// lead-in, the lead-out; an `X` before a data track's offset.
    fn from_hex(s: &str, data_session: u8) -> Toc {
        let parts: Vec<&str> = s.split('+').collect();
        let n = u8::from_str_radix(parts[0], 16).unwrap();
        let lba = |p: &str| u32::from_str_radix(p.trim_start_matches('X'), 16).unwrap() - 150;
        let mut tracks = Vec::new();
        for (i, p) in parts[1..=n as usize].iter().enumerate() {
            let number = i as u8 + 1;
            if p.starts_with('X') {
                tracks.push(TocTrack::data(number, lba(p), data_session));
            } else {
                tracks.push(TocTrack::audio(number, lba(p)));
            }
        }
        Toc::new(tracks, lba(parts[n as usize + 1])).unwrap()
    }

    /// Ids of real discs as EAC and dBpoweramp computed them, and as the MusicBrainz and CUETools databases list
    /// them.
    #[test]
    fn ids_of_real_discs() {
        // Four audio tracks.
        let t = from_hex("4+96+2D2B+6256+B327+D84A", 1);
        assert_eq!(t.accuraterip_id().unwrap().to_string(), "004-0002189a-00087f33-1f02e004");
        assert_eq!(t.ctdb_toc_id().unwrap(), "VukMWWItblELRM.CEFpXxw0FlME-");
        assert_eq!(t.accuraterip_id().unwrap().url_path(), "a/9/8/dBAR-004-0002189a-00087f33-1f02e004.bin");
        // 99 tracks.
        let t = from_hex("63+96+12D9+5546+A8A2+CAAA+128BF+17194+171DF+1722A+17275+172C0+1730B+17356+173A1+173EC+17437+17482+174CD+17518+17563+175AE+175F9+17644+1768F+176DA+17725+17770+177BB+17806+17851+1789C+178E7+17932+1797D+179C8+17A13+17A5E+17AA9+17AF4+17B3F+17B8A+17BD5+17C20+17C6B+17CB6+17D01+17D4C+17D97+17DE2+17E2D+17E78+17EC3+17F0E+17F59+17FA4+17FEF+1803A+18085+180D0+1811B+18166+181B1+181FC+18247+18292+182DD+18328+18373+183BE+18409+18454+1849F+184EA+18535+18580+185CB+18616+18661+186AC+186F7+18742+1878D+187D8+18823+1886E+188B9+18904+1894F+1899A+189E5+18A30+18A7B+18AC6+18B11+18B5C+18BA7+18BF2+18C38+1ECDC+246E9", 1);
        assert_eq!(t.accuraterip_id().unwrap().to_string(), "099-00909976-1e2814f1-cc07c363");
        assert_eq!(t.ctdb_toc_id().unwrap(), "okpTZ4Yt2noZkGqbBLte3FfkyVs-");
        // An enhanced CD: 13 audio tracks, a data track in the second session.
        let t = from_hex("E+96+3B5D+78E3+B441+EC83+134F4+17225+1A801+1EA5C+23B5B+27CEF+2B58B+2F974+X35D56+514C8", 2);
        assert_eq!(t.ctdb_toc_id().unwrap(), "gmEsiU5wvQFA1Nq9YE_posiwgK8-");
        assert_eq!(t.accuraterip_id().unwrap().to_string(), "013-001802ed-00f8ee31-b611560e");
        assert_eq!(
            t.ctdb_toc(),
            "0:15047:30797:45995:60397:78942:94607:108395:125382:146117:162905:177397:194782:-220352:332850"
        );

        // An enhanced CD of 10 audio tracks (EAC and dBpoweramp: 010-00164419-00b9f6e2-9e11600b; MusicBrainz:
        // 9AQWqQ0eCCwktwPPrIUIYkUw2Uo-, its audio session ending at LBA 270185).
        let audio = [0, 12617, 40337, 63075, 93260, 117965, 151715, 184190, 215110, 247305];
        let mut tracks: Vec<TocTrack> =
            audio.iter().enumerate().map(|(i, &s)| TocTrack::audio(i as u8 + 1, s)).collect();
        tracks.push(TocTrack::data(11, 281_585, 2));
        let t = Toc::new(tracks, 333_651).unwrap();
        assert_eq!(t.audio_leadout(), 270_185);
        assert_eq!(t.accuraterip_id().unwrap().to_string(), "010-00164419-00b9f6e2-9e11600b");
        assert_eq!(t.musicbrainz_id(), "9AQWqQ0eCCwktwPPrIUIYkUw2Uo-");
        assert_eq!(t.track_sectors(10), Some(270_185 - 247_305));

        // A mixed-mode CD: a data track, then 28 audio tracks (EAC: 028-00517a54-05a845d2-af0da31d).
        let offsets = [
            150, 66728, 76502, 85963, 93760, 104048, 116066, 124743, 134206, 142916, 151852, 160720, 169425, 178731,
            188459, 196711, 206354, 214845, 223686, 225746, 226384, 232668, 239447, 239931, 244989, 254264, 260066,
            261222, 261674,
        ];
        let tracks = offsets
            .iter()
            .enumerate()
            .map(|(i, &o)| if i == 0 { TocTrack::data(1, o - 150, 1) } else { TocTrack::audio(i as u8 + 1, o - 150) })
            .collect();
        let t = Toc::new(tracks, 261_976 - 150).unwrap();
        assert_eq!(t.accuraterip_id().unwrap().to_string(), "028-00517a54-05a845d2-af0da31d");
    }

    #[test]
    fn impossible_tocs_are_refused() {
        let a = TocTrack::audio;
        for (tracks, leadout) in [
            (vec![], 100),
            (vec![a(1, 0), a(3, 10)], 100),
            (vec![a(1, 10), a(2, 10)], 100),
            (vec![a(1, 0)], 0),
            (vec![a(0, 0)], 10),
            (vec![a(99, 0), a(100, 5)], 10),
            (vec![a(1, 0)], MAX_LBA + 1),
            ((1..=100).map(|n| a(n, u32::from(n) * 10)).collect(), 5000),
        ] {
            assert!(matches!(Toc::new(tracks.clone(), leadout), Err(Error::Toc(_))), "{tracks:?} {leadout}");
        }
        let t = Toc::new(vec![TocTrack::data(1, 0, 1)], 1000).unwrap();
        assert_eq!((t.accuraterip_id(), t.ctdb_toc_id(), t.track_checksums(1).is_none()), (None, None, true));
    }
}

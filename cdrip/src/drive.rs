//! A drive as the rip's [`SectorSource`]: which command reads a sector, and whether what came back is good.
//!
//! Cooked rips (2048-byte user data) use READ(10), or READ(12) when the drive refuses READ(10). Raw rips
//! (2352-byte sectors) use READ CD with the C2 error pointers and subchannel asked for, and judge each sector: C2
//! bits set → [`Verdict::C2Error`]; a data sector whose sync, header, EDC or ECC fail → [`Verdict::EdcError`].
//!
//! Two drives need a fallback, which is reported in [`DriveSource::notes`] and never silent:
//! - a drive without READ CD (05/20/00, as QEMU's scsi-cd): data sectors are read with READ(10) and their sync,
//!   header, EDC and ECC are computed from the user data (Mode 1 tracks only; audio and Mode 2 sectors fail);
//! - a drive whose raw sectors fail EDC while READ(10) returns the same user data (as QEMU's ide-cd, which leaves
//!   EDC/ECC zero): found by [`DriveSource::probe`], which says so and then does the same.
//!
//! A raw disc image (CUE sheet or CloneCD) is a source too: [`image_disc`] gives the disc it describes as a drive's
//! TOC would, [`ImageSource`] reads its raw sectors and [`CookedImageSource`] its user data, so a rip of an image
//! writes what a rip of the disc would.

use crate::cue::{FileType, TrackMode};
use crate::disc::{Disc, Session, Track, TrackKind};
use crate::image::{CookedReader, RawDisc, SectorAt};
use crate::map::Phase;
use crate::mmc::{C2Mode, Drive, ReadCdFields, Subchannel, RAW_SECTOR, USER_SECTOR};
use crate::mmc::{CommandError, ErrorRecoveryPage, CONTROL_DATA};
use crate::rip::{read_via_block, Block, Outcome, SectorData, SectorSource, Verdict};
use crate::sector::{self, RawSector, USER_DATA_LEN};
use crate::transport::Transport;

/// How sectors are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// 2048-byte user data.
    Cooked,
    /// 2352-byte sectors with the given C2 and subchannel data.
    Raw {
        /// C2 error pointers to ask for.
        c2: C2Mode,
        /// Subchannel to ask for.
        subchannel: Subchannel,
    },
}

impl ReadMode {
    /// Bytes per sector in the image.
    #[must_use]
    pub fn sector_size(self) -> u32 {
        match self {
            Self::Cooked => USER_SECTOR as u32,
            Self::Raw { .. } => RAW_SECTOR as u32,
        }
    }
}

/// How raw data sectors are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawPath {
    ReadCd,
    Rebuild,
}

/// A drive read for a rip.
#[derive(Debug)]
pub struct DriveSource<'a, T> {
    drive: &'a mut Drive<T>,
    mode: ReadMode,
    disc: Option<&'a Disc>,
    raw_path: RawPath,
    use_read12: bool,
    /// The most sectors one command has been seen to carry after a larger read was refused.
    max_count: u32,
    retry_control: Option<RetryControl>,
    notes: Vec<String>,
}

/// The drive's read retry count under the rip's control (MODE SELECT of the error recovery page).
#[derive(Debug)]
struct RetryControl {
    /// The page as the drive had it.
    original: ErrorRecoveryPage,
    /// The count while copying.
    copy: u8,
    /// The count set now.
    current: u8,
}

/// The most sectors of one read command below which a refused transfer is not split further.
const MIN_SPLIT: u32 = 16;

/// True when `e` says the request was too large for the host (the kernel refused it, or the drive found a
/// field of the CDB invalid) rather than that the medium failed.
fn refused_transfer(e: &CommandError) -> bool {
    match e {
        CommandError::Io { .. } => true,
        CommandError::Sense { sense, .. } => sense.is_invalid_field(),
        _ => false,
    }
}

impl<'a, T: Transport> DriveSource<'a, T> {
    /// Reads `drive` in `mode`; `disc` tells audio from data sectors (without it every sector is judged by its
    /// own sync and mode byte).
    pub fn new(drive: &'a mut Drive<T>, mode: ReadMode, disc: Option<&'a Disc>) -> Self {
        Self {
            drive,
            mode,
            disc,
            raw_path: RawPath::ReadCd,
            use_read12: false,
            max_count: u32::MAX,
            retry_control: None,
            notes: Vec::new(),
        }
    }

    /// What the reader had to work around, one line each, for the log and the terminal.
    #[must_use]
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The drive.
    pub fn drive(&mut self) -> &mut Drive<T> {
        self.drive
    }

    /// Takes control of the drive's read retry count (error recovery page 01h, byte 3): `copy` while copying,
    /// so that the drive gives up on a bad area quickly and the copy skips it; the drive's own count for trimming,
    /// scraping and retrying. [`DriveSource::restore_retries`] puts the original page back. A drive whose page
    /// cannot be read or set keeps its own count (noted once).
    pub fn control_retries(&mut self, copy: u8) {
        match self.drive.read_error_recovery() {
            Ok(page) => {
                let current = page.read_retry_count();
                self.retry_control = Some(RetryControl { original: page, copy, current });
            }
            Err(e) => self.notes.push(format!(
                "the drive's error recovery page cannot be read ({e}); its read retry count stays as it is"
            )),
        }
    }

    fn set_retries(&mut self, n: u8) {
        let Some(rc) = &self.retry_control else { return };
        if rc.current == n {
            return;
        }
        match self.drive.set_read_retry_count(&rc.original, n) {
            Ok(()) => {
                if let Some(rc) = &mut self.retry_control {
                    rc.current = n;
                }
            }
            Err(e) => {
                let was = rc.current;
                self.notes
                    .push(format!("the drive refused to set its read retry count to {n} ({e}); it stays at {was}"));
                // A drive that refuses once is not asked again, unless the original must be put back.
                if was == rc.original.read_retry_count() {
                    self.retry_control = None;
                }
            }
        }
    }

    /// Puts back the read retry count the drive had before [`DriveSource::control_retries`]; the count in
    /// effect now when that fails.
    pub fn restore_retries(&mut self) -> Result<(), u8> {
        let Some(original) = self.retry_control.as_ref().map(|rc| rc.original.read_retry_count()) else {
            return Ok(());
        };
        self.set_retries(original);
        match self.retry_control.take() {
            Some(rc) if rc.current != original => Err(rc.current),
            _ => Ok(()),
        }
    }

    /// Checks, on the first data sector at or after `lba`, that READ CD works and that its raw data pass EDC
    /// where READ(10) reads the same sector; switches to rebuilding raw sectors from user data when not.
    pub fn probe(&mut self, lba: u32) {
        let ReadMode::Raw { .. } = self.mode else { return };
        let lba = self
            .disc
            .and_then(|d| d.tracks.iter().find(|t| t.is_data() && t.end() > lba).map(|t| t.start.max(lba)))
            .unwrap_or(lba);
        let fields = ReadCdFields::raw(C2Mode::None, Subchannel::None);
        let mut raw = vec![0u8; RAW_SECTOR];
        match self.drive.read_cd(lba, 1, fields, &mut raw) {
            Err(e) if e.is_unsupported() => {
                self.notes.push(format!(
                    "the drive does not implement READ CD ({e}); raw data sectors are rebuilt from READ(10) user data \
                     with computed sync, header, EDC and ECC; audio and Mode 2 sectors cannot be read"
                ));
                self.raw_path = RawPath::Rebuild;
            }
            Err(_) => {}
            Ok(n) if n < RAW_SECTOR => {}
            Ok(_) => {
                let Ok(s) = <&RawSector>::try_from(raw.as_slice()) else { return };
                let check = sector::check(s, Some(i64::from(lba)));
                if check.is_ok() || check.kind.is_none() {
                    return;
                }
                let mut cooked = vec![0u8; USER_SECTOR];
                let same = self.read_cooked(lba, 1, &mut cooked)
                    && unchecked_user_data(s).is_some_and(|u| u == cooked.as_slice());
                let edc_zero = s.get(2064..2068).is_some_and(|e| e.iter().all(|&b| b == 0));
                if same {
                    self.notes.push(format!(
                        "the drive's raw sectors fail EDC/ECC (LBA {lba}: {}{}) although READ(10) returns the same \
                         user data: raw data sectors are rebuilt from READ(10) user data with computed EDC and ECC",
                        check.describe(),
                        if edc_zero { "; its EDC field is zero" } else { "" }
                    ));
                    self.raw_path = RawPath::Rebuild;
                }
            }
        }
    }

    /// Reads `count` cooked sectors into `buf`, in pieces of at most `max_count` sectors; a piece the host
    /// refuses as too large halves that limit (not below [`MIN_SPLIT`]) and is read again.
    fn read_cooked(&mut self, lba: u32, count: u32, buf: &mut [u8]) -> bool {
        let Some(per) = buf.len().checked_div(count as usize).filter(|p| *p > 0) else { return false };
        let mut done = 0u32;
        while done < count {
            let n = count.saturating_sub(done).min(self.max_count);
            let from = (done as usize).saturating_mul(per);
            let to = from.saturating_add((n as usize).saturating_mul(per));
            let Some(piece) = buf.get_mut(from..to) else { return false };
            match self.read_cooked_once(lba.saturating_add(done), n, piece) {
                Ok(true) => done = done.saturating_add(n),
                Err(e) if n > MIN_SPLIT && refused_transfer(&e) => {
                    let half = n / 2;
                    self.notes.push(format!("a read of {n} sectors was refused ({e}); reading {half} at a time"));
                    self.max_count = half;
                }
                _ => return false,
            }
        }
        true
    }

    /// One READ(10) or READ(12) of `count` sectors: `Ok(false)` on a short transfer.
    fn read_cooked_once(&mut self, lba: u32, count: u32, buf: &mut [u8]) -> Result<bool, CommandError> {
        let want = buf.len();
        if !self.use_read12 {
            if let Ok(c16) = u16::try_from(count) {
                match self.drive.read10(lba, c16, buf) {
                    Ok(n) => return Ok(n == want),
                    Err(e) if e.is_unsupported() && e.sense().is_some_and(|s| s.asc == 0x20) => {
                        self.notes.push("the drive does not implement READ(10); using READ(12)".into());
                        self.use_read12 = true;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.drive.read12(lba, count, buf).map(|n| n == want)
    }

    fn is_data(&self, lba: u32) -> Option<TrackKind> {
        self.disc.and_then(|d| d.track_at(lba)).map(|t| t.kind)
    }

    fn read_raw(&mut self, lba: u32, count: u32, c2: C2Mode, subchannel: Subchannel) -> Outcome {
        if self.raw_path == RawPath::Rebuild {
            return self.rebuild(lba, count);
        }
        let fields = ReadCdFields::raw(c2, subchannel);
        let per = fields.bytes_per_sector();
        let Some(len) = per.checked_mul(count as usize) else { return Outcome::Failed };
        let mut buf = vec![0u8; len];
        match self.drive.read_cd(lba, count, fields, &mut buf) {
            Ok(n) if n == len => {}
            Err(e) if e.is_unsupported() && e.sense().is_some_and(|s| s.asc == 0x20) => {
                self.notes.push(format!("the drive does not implement READ CD ({e}); rebuilding raw data sectors"));
                self.raw_path = RawPath::Rebuild;
                return self.rebuild(lba, count);
            }
            _ => return Outcome::Failed,
        }
        let sectors = buf
            .chunks_exact(per)
            .zip(lba..)
            .map(|(chunk, l)| {
                let (main, rest) = chunk.split_at(RAW_SECTOR);
                let (c2b, sub) = rest.split_at(c2.bytes());
                let verdict = if c2b.iter().any(|&b| b != 0) { Verdict::C2Error } else { self.judge(l, main) };
                SectorData { data: main.to_vec(), sub: (subchannel != Subchannel::None).then(|| sub.to_vec()), verdict }
            })
            .collect();
        Outcome::Read(sectors)
    }

    fn judge(&self, lba: u32, main: &[u8]) -> Verdict {
        let Ok(s) = <&RawSector>::try_from(main) else { return Verdict::EdcError };
        let data = match self.is_data(lba) {
            Some(TrackKind::Audio) => false,
            Some(_) => true,
            None => s.get(..12) == Some(&sector::SYNC[..]),
        };
        if !data || sector::check(s, Some(i64::from(lba))).is_ok() {
            Verdict::Good
        } else {
            Verdict::EdcError
        }
    }

    fn rebuild(&mut self, lba: u32, count: u32) -> Outcome {
        if (lba..lba.saturating_add(count))
            .any(|l| matches!(self.is_data(l), Some(TrackKind::Audio | TrackKind::Mode2)))
        {
            return Outcome::Failed;
        }
        let Some(len) = USER_SECTOR.checked_mul(count as usize) else { return Outcome::Failed };
        let mut buf = vec![0u8; len];
        if !self.read_cooked(lba, count, &mut buf) {
            return Outcome::Failed;
        }
        let mut out = Vec::with_capacity(count as usize);
        for (chunk, l) in buf.chunks_exact(USER_DATA_LEN).zip(lba..) {
            let Ok(user) = <&[u8; USER_DATA_LEN]>::try_from(chunk) else { return Outcome::Failed };
            match sector::encode_mode1(i64::from(l), user) {
                Ok(raw) => out.push(SectorData { data: raw.to_vec(), sub: None, verdict: Verdict::Good }),
                Err(_) => return Outcome::Failed,
            }
        }
        Outcome::Read(out)
    }
}

impl<T: Transport> SectorSource for DriveSource<'_, T> {
    fn enter_phase(&mut self, phase: Phase) {
        let Some(rc) = &self.retry_control else { return };
        let n = if phase == Phase::Copying { rc.copy } else { rc.original.read_retry_count() };
        self.set_retries(n);
    }

    fn read_block(&mut self, lba: u32, count: u32, block: &mut Block) -> bool {
        let ReadMode::Cooked = self.mode else {
            // Raw reads are judged sector by sector and de-interleaved from C2 and subchannel bytes anyway.
            block.clear();
            block.lba = lba;
            return match self.read(lba, count) {
                Outcome::Read(sectors) => {
                    sectors.iter().for_each(|s| block.push(s));
                    true
                }
                Outcome::Failed => false,
            };
        };
        block.lba = lba;
        block.sub.clear();
        block.verdicts.clear();
        let Some(len) = USER_SECTOR.checked_mul(count as usize) else { return false };
        // The read overwrites every byte, or fails and the block is not trusted.
        block.data.set_len_for_overwrite(len);
        if !self.read_cooked(lba, count, &mut block.data) {
            return false;
        }
        block.verdicts.resize(count as usize, Verdict::Good);
        true
    }

    fn read(&mut self, lba: u32, count: u32) -> Outcome {
        match self.mode {
            ReadMode::Cooked => {
                let Some(len) = USER_SECTOR.checked_mul(count as usize) else { return Outcome::Failed };
                let mut buf = vec![0u8; len];
                if !self.read_cooked(lba, count, &mut buf) {
                    return Outcome::Failed;
                }
                Outcome::Read(
                    buf.chunks_exact(USER_SECTOR)
                        .map(|c| SectorData { data: c.to_vec(), sub: None, verdict: Verdict::Good })
                        .collect(),
                )
            }
            ReadMode::Raw { c2, subchannel } => self.read_raw(lba, count, c2, subchannel),
        }
    }
}

/// A source addressed in raw image sectors, for a multi-session disc whose image holds the sessions one after the
/// other without the gaps between them ([`Disc::raw_extents`]): image sector `n` is read from its LBA on `inner`,
/// and a request spanning two sessions is read in two commands.
pub struct SessionSource<'a> {
    inner: &'a mut dyn SectorSource,
    extents: Vec<(u32, u32)>,
}

impl<'a> SessionSource<'a> {
    /// Reads `inner` (addressed by LBA) through the stretches of `disc` a raw image holds.
    pub fn new(inner: &'a mut dyn SectorSource, disc: &Disc) -> Self {
        Self { inner, extents: disc.raw_extents() }
    }

    /// The LBA of image sector `sector` and the sectors left in its stretch from there.
    fn locate(&self, sector: u32) -> Option<(u32, u32)> {
        let mut at = 0u32;
        for &(first, count) in &self.extents {
            let end = at.saturating_add(count);
            if sector < end {
                let into = sector.saturating_sub(at);
                return Some((first.saturating_add(into), count.saturating_sub(into)));
            }
            at = end;
        }
        None
    }
}

impl SectorSource for SessionSource<'_> {
    fn enter_phase(&mut self, phase: Phase) {
        self.inner.enter_phase(phase);
    }

    fn read(&mut self, sector: u32, count: u32) -> Outcome {
        let mut out = Vec::with_capacity(count as usize);
        let end = sector.saturating_add(count);
        let mut s = sector;
        while s < end {
            let Some((lba, room)) = self.locate(s) else { return Outcome::Failed };
            let n = room.min(end.saturating_sub(s));
            match self.inner.read(lba, n) {
                Outcome::Read(v) if v.len() == n as usize => out.extend(v),
                _ => return Outcome::Failed,
            }
            s = s.saturating_add(n);
        }
        Outcome::Read(out)
    }

    fn read_block(&mut self, sector: u32, count: u32, block: &mut Block) -> bool {
        if let Some((lba, _)) = self.locate(sector).filter(|(_, room)| *room >= count) {
            let ok = self.inner.read_block(lba, count, block);
            block.lba = sector;
            return ok;
        }
        block.clear();
        block.lba = sector;
        match self.read(sector, count) {
            Outcome::Read(sectors) => {
                sectors.iter().for_each(|s| block.push(s));
                true
            }
            Outcome::Failed => false,
        }
    }
}

/// The disc a raw image describes, as a drive's TOC gives it (LBA 0 = INDEX 01 of track 1), and notes on what of the
/// image a drive would not return.
///
/// A track's pregap is what lies before its INDEX 01 in its session: the stored one (from INDEX 00) and the one
/// the sheet declares without storing it (`PREGAP`); a `POSTGAP` belongs to the track's length. The first track of
/// a later session starts its session at INDEX 01 (its standard pregap lies in the gap between the sessions, which
/// [`Disc::cue_sheet`] writes back as `REM SESSION` and, when it differs, `PREGAP`). Sectors stored before LBA 0
/// (an INDEX 00 of track 1) are not on the disc as a drive reads it: a note says how many are left out.
#[must_use]
pub fn image_disc(image: &RawDisc) -> (Disc, Vec<String>) {
    let mut notes = Vec::new();
    let lba = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    let raw = image.tracks();
    let mut tracks: Vec<Track> = Vec::with_capacity(raw.len());
    let mut sessions: Vec<Session> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let session = u8::try_from(t.session).unwrap_or(u8::MAX);
        let first_of_session = i == 0 || raw.get(i.wrapping_sub(1)).is_some_and(|p| p.session != t.session);
        let gap_start = t.first_lba.saturating_sub(i64::from(t.unstored_pregap));
        let pregap = if first_of_session {
            if t.first_lba < 0 {
                notes.push(format!(
                    "track {:02}: the {} sectors stored before LBA 0 (its INDEX 00) are not part of the disc a drive \
                     reads; they are left out",
                    t.number,
                    t.first_lba.unsigned_abs()
                ));
            }
            if i == 0 {
                0
            } else {
                lba(t.start_lba.saturating_sub(t.first_lba.max(0)))
            }
        } else {
            lba(t.start_lba.saturating_sub(gap_start))
        };
        // The track runs up to the next track's pregap in its session, or to its own end and postgap.
        let end = match raw.get(i.saturating_add(1)).filter(|n| n.session == t.session) {
            Some(n) => n.first_lba.saturating_sub(i64::from(n.unstored_pregap)),
            None => t.end_lba().saturating_add(i64::from(t.postgap)),
        };
        let kind = match t.mode {
            TrackMode::Audio | TrackMode::Cdg => TrackKind::Audio,
            TrackMode::Mode1_2048 | TrackMode::Mode1_2352 => TrackKind::Mode1,
            _ => TrackKind::Mode2,
        };
        let mut control = if kind == TrackKind::Audio { 0 } else { CONTROL_DATA };
        if let Some(ct) =
            image.cue().and_then(|c| c.files.iter().flat_map(|f| &f.tracks).find(|c| c.number == t.number))
        {
            for f in &ct.flags {
                control |= match f.to_ascii_uppercase().as_str() {
                    "DCP" => 0x02,
                    "PRE" => 0x01,
                    "4CH" => 0x08,
                    _ => 0,
                };
            }
        }
        let start = lba(t.start_lba);
        tracks.push(Track {
            number: t.number,
            session,
            kind,
            control,
            start,
            length: lba(end).saturating_sub(start),
            pregap,
        });
        match sessions.last_mut() {
            Some(s) if s.number == session => {
                s.last_track = t.number;
                s.lead_out = lba(end);
            }
            _ => sessions.push(Session {
                number: session,
                first_track: t.number,
                last_track: t.number,
                lead_out: lba(end),
            }),
        }
    }
    let disc_type = tracks.iter().any(|t| t.kind == TrackKind::Mode2).then_some(0x20);
    (Disc { tracks, sessions, disc_type }, notes)
}

/// A raw disc image read sector by sector as a drive reads the disc it describes, addressed by disc LBA: the stored
/// sector as 2352 bytes (rebuilt with sync, header, EDC and ECC for tracks stored with less), and for a pregap or
/// postgap the image does not store, what the disc holds there: silence in audio, a data sector of zeros in data.
/// Sectors are passed on as stored, without judging their EDC (`odix verify` does that); audio from a `MOTOROLA`
/// file (big-endian samples) comes out little-endian, as a drive and a `BINARY` file give it.
pub struct ImageSource<'a> {
    image: &'a mut RawDisc,
    disc: &'a Disc,
}

impl<'a> ImageSource<'a> {
    /// Reads `image`, whose disc is `disc` (from [`image_disc`]).
    pub fn new(image: &'a mut RawDisc, disc: &'a Disc) -> Self {
        Self { image, disc }
    }

    fn sector(&mut self, lba: u32) -> Option<RawSector> {
        let at = i64::from(lba);
        match self.image.locate(at) {
            SectorAt::Stored { track } => {
                let mut s = self.image.read_raw(track, at).ok()?;
                let t = self.image.tracks().get(track)?;
                let motorola = self.image.files().get(t.file).is_some_and(|f| f.file_type == FileType::Motorola);
                if motorola && !t.mode.is_data() {
                    s.chunks_exact_mut(2).for_each(|pair| pair.swap(0, 1));
                }
                Some(s)
            }
            SectorAt::Gap => match self.disc.track_at(lba)?.kind {
                TrackKind::Audio => Some([0u8; RAW_SECTOR]),
                TrackKind::Mode1 => sector::encode_mode1(at, &[0u8; USER_DATA_LEN]).ok(),
                TrackKind::Mode2 => sector::encode_mode2_form1(at, [0; 4], &[0u8; USER_DATA_LEN]).ok(),
            },
            SectorAt::End => None,
        }
    }
}

impl SectorSource for ImageSource<'_> {
    fn read(&mut self, lba: u32, count: u32) -> Outcome {
        let mut out = Vec::with_capacity(count as usize);
        for l in lba..lba.saturating_add(count) {
            match self.sector(l) {
                Some(s) => out.push(SectorData { data: s.to_vec(), sub: None, verdict: Verdict::Good }),
                None => return Outcome::Failed,
            }
        }
        Outcome::Read(out)
    }
}

/// The 2048-byte user data of a raw image's data tracks ([`RawDisc::cooked_reader`]), LBA `n` at sector `n`; a
/// sector without user data (audio) or whose EDC fails beyond repair fails its read.
pub struct CookedImageSource<'a> {
    reader: &'a mut CookedReader,
}

impl<'a> CookedImageSource<'a> {
    /// Reads `reader`.
    pub fn new(reader: &'a mut CookedReader) -> Self {
        Self { reader }
    }
}

impl SectorSource for CookedImageSource<'_> {
    fn read(&mut self, lba: u32, count: u32) -> Outcome {
        read_via_block(self, lba, count)
    }

    fn read_block(&mut self, lba: u32, count: u32, block: &mut Block) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        block.clear();
        block.lba = lba;
        block.data.set_len_for_overwrite(USER_DATA_LEN.saturating_mul(count as usize));
        let at = u64::from(lba).saturating_mul(USER_DATA_LEN as u64);
        if self.reader.seek(SeekFrom::Start(at)).is_err() || self.reader.read_exact(&mut block.data).is_err() {
            return false;
        }
        block.verdicts.resize(count as usize, Verdict::Good);
        true
    }
}

/// The 2048 user-data bytes of a Mode 1 or Mode 2 Form 1 sector by its mode byte, without checking its EDC.
fn unchecked_user_data(s: &RawSector) -> Option<&[u8]> {
    match sector::kind(s)? {
        sector::SectorKind::Mode1 => s.get(16..2064),
        sector::SectorKind::Mode2Form1 => s.get(24..2072),
        _ => None,
    }
}

/// The raw sector written for an unreadable sector at `lba`: valid sync and header (mode `mode`, 1 or 2), the rest
/// zero; for audio (`mode` 0 here means audio) all zero.
#[must_use]
pub fn unreadable_raw_sector(lba: u32, audio: bool, mode: u8) -> Vec<u8> {
    let mut s: RawSector = [0u8; RAW_SECTOR];
    if !audio {
        // An LBA past MSF 99:59:74 has no header; the sector stays zero.
        let _ = sector::write_header(&mut s, i64::from(lba), mode);
    }
    s.to_vec()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::rip::{run, Options, Ripper, Sink, Write};
    use crate::sim::{Fault, SimDrive};

    #[derive(Default)]
    struct Mem(BTreeMap<u32, Vec<u8>>);

    impl Sink for Mem {
        fn write(&mut self, w: &Write) -> std::io::Result<()> {
            self.0.insert(w.lba, w.data.clone());
            Ok(())
        }
        fn fill_unreadable(&mut self, _: u32) -> std::io::Result<()> {
            Ok(())
        }
        fn checkpoint(&mut self, _: &Ripper, _: bool) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Rips 300 cooked sectors with LBA 100 unreadable; returns the sim afterwards, the notes and the image.
    fn rip(sim: SimDrive) -> (SimDrive, Vec<String>, BTreeMap<u32, Vec<u8>>) {
        let iso: Vec<u8> = (0..300u32 * 2048).map(|i| (i / 2048) as u8 ^ (i as u8)).collect();
        let mut drive = Drive::new(sim.with_fault(100, Fault::Unreadable), Duration::from_secs(5));
        let mut ripper = Ripper::new(300, 2048, None, Options::default().cluster(32).retries(2)).unwrap();
        let mut sink = Mem::default();
        let notes = {
            let mut src = DriveSource::new(&mut drive, ReadMode::Cooked, None);
            src.control_retries(1);
            run(&mut ripper, &mut src, &mut sink).unwrap();
            assert_eq!(src.restore_retries(), Ok(()));
            src.notes().to_vec()
        };
        assert_eq!(ripper.unfinished().len(), 1);
        for (lba, data) in &sink.0 {
            assert_eq!(data.as_slice(), &iso[*lba as usize * 2048..][..2048]);
        }
        (std::mem::replace(drive.transport_mut(), SimDrive::from_cooked(&[])), notes, sink.0)
    }

    #[test]
    fn copy_reads_with_few_drive_retries_then_the_drives_own() {
        let iso: Vec<u8> = (0..300u32 * 2048).map(|i| (i / 2048) as u8 ^ (i as u8)).collect();
        let (sim, notes, image) = rip(SimDrive::from_cooked(&iso));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(image.len(), 299);
        let seen = sim.read_retries();
        // Copy reads (the first ones: 300 sectors in reads of 32, the failed one included) at 1; trim, scrape and
        // retries at the drive's own 5; the original count back at the end.
        let copies = seen.iter().position(|&n| n != 1).unwrap();
        assert!(copies >= 300usize.div_ceil(32), "{seen:?}");
        assert!(seen[copies..].iter().all(|&n| n == 5), "{seen:?}");
        assert!(seen.len() > copies);
        assert_eq!(sim.read_retry_count(), 5);
    }

    #[test]
    fn a_drive_refusing_mode_select_keeps_working() {
        let iso: Vec<u8> = (0..300u32 * 2048).map(|i| (i / 2048) as u8 ^ (i as u8)).collect();
        let (sim, notes, image) = rip(SimDrive::from_cooked(&iso).without_mode_select());
        assert_eq!(image.len(), 299);
        assert!(sim.read_retries().iter().all(|&n| n == 5));
        // Refused once, not asked again.
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("refused to set its read retry count to 1"), "{notes:?}");
        assert_eq!(sim.commands().iter().filter(|&&c| c == crate::mmc::op::MODE_SELECT_10).count(), 1);
    }
}

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
            // A negative LBA (the lead-in) comes as its two's complement: the addresses wrap.
            .zip((0..count).map(|i| lba.wrapping_add(i)))
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

/// Bytes of one stereo sample (two 16-bit channels).
pub const SAMPLE_BYTES: i64 = 4;
/// Samples in one audio sector.
pub const SAMPLES_PER_SECTOR: u32 = 588;

/// How far a rip could read past the ends of the audio for its read offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overread {
    /// Whether the drive read before LBA 0 (`None`: not needed or not tried).
    pub lead_in: Option<bool>,
    /// Whether the drive read past a lead-out.
    pub lead_out: Option<bool>,
    /// Samples written as silence because the drive did not read where they lie (before LBA 0).
    pub zero_filled_lead_in: u64,
    /// Samples written as silence past a lead-out.
    pub zero_filled_lead_out: u64,
}

/// Reads the audio of a disc as the pressing holds it, over a source that reads the drive by LBA in raw mode
/// (a [`DriveSource`]): each audio sector is put together from the drive's sectors shifted by the read offset,
/// read twice and compared, and the Q subchannel of every sector read is gathered on the way.
///
/// - **Read offset**: `offset` samples as the AccurateRip drive list gives it. A drive of offset +N returns, for
///   sector `s`, the audio that starts N samples before `s`; so sector `s` is the drive's bytes from `s × 2352 +
///   4N` on. Where that lies before LBA 0 or past a session's lead-out the drive is asked anyway (overread); a
///   drive that refuses gives silence there, counted in [`AudioReader::overread`].
/// - **Two reads**: every audio sector is read twice (when `verify`); sectors whose copies differ are
///   [`Verdict::Unstable`] and the rip reads them again like a C2 error, until two copies agree or its retries
///   run out. Data sectors are read once: their EDC judges them.
/// - **Q subchannel**: the Q of each sector read (raw P–W or formatted Q) goes into a [`crate::subq::QCollector`]; the
///   subchannel bytes are handed on only when `keep_sub` (the rip writes a `.sub`).
pub struct AudioReader<'a> {
    inner: &'a mut dyn SectorSource,
    disc: &'a Disc,
    offset: i64,
    verify: bool,
    keep_sub: bool,
    overread: Overread,
    q: crate::subq::QCollector,
}

impl<'a> AudioReader<'a> {
    /// Reads `disc` through `inner` with the read offset `offset` (samples).
    pub fn new(inner: &'a mut dyn SectorSource, disc: &'a Disc, offset: i32, verify: bool, keep_sub: bool) -> Self {
        Self {
            inner,
            disc,
            offset: i64::from(offset),
            verify,
            keep_sub,
            overread: Overread::default(),
            q: crate::subq::QCollector::default(),
        }
    }

    /// What was read or zero-filled beyond the ends.
    #[must_use]
    pub fn overread(&self) -> Overread {
        self.overread
    }

    /// The Q subchannel gathered so far.
    #[must_use]
    pub fn q_summary(&self) -> crate::subq::QSummary {
        self.q.clone().finish()
    }

    fn is_audio(&self, lba: u32) -> bool {
        self.disc.track_at(lba).is_some_and(|t| t.kind == TrackKind::Audio)
    }

    /// The LBAs the drive reads within the session holding `lba`: from its first sector to its lead-out.
    fn session_bounds(&self, lba: u32) -> (i64, i64) {
        let session = self.disc.track_at(lba).map_or(1, |t| t.session);
        let lead_out = self.disc.sessions.iter().find(|s| s.number == session).map_or(0, |s| s.lead_out);
        let first = self
            .disc
            .tracks
            .iter()
            .filter(|t| t.session == session)
            .map(|t| if t.number == 1 { 0 } else { t.start.saturating_sub(t.pregap) })
            .min()
            .unwrap_or(0);
        (i64::from(first), i64::from(lead_out))
    }

    fn capture_q(&mut self, lba: i64, sub: &[u8]) {
        let Ok(lba) = u32::try_from(lba) else { return };
        let q = match sub.len() {
            96 => crate::subq::deinterleave(sub),
            16 => sub.get(..12).and_then(|q| <[u8; 12]>::try_from(q).ok()),
            _ => None,
        };
        if let Some(q) = q {
            self.q.add(lba, &q);
        }
    }

    /// Reads drive sectors `from..to` (LBAs, maybe negative), once: the sectors and their verdicts, `None` for
    /// those outside the drive's reach, or `Err` when the command failed.
    fn read_range(&mut self, from: i64, to: i64, bounds: (i64, i64)) -> Result<Vec<Option<SectorData>>, ()> {
        let mut out: Vec<Option<SectorData>> = Vec::new();
        let mut at = from;
        while at < to {
            let inside = at >= bounds.0 && at < bounds.1;
            let end = if inside {
                to.min(bounds.1)
            } else if at < bounds.0 {
                to.min(bounds.0)
            } else {
                to
            };
            let n = u32::try_from(end.saturating_sub(at)).map_err(|_| ())?;
            let before = at < bounds.0;
            let allowed = if before { self.overread.lead_in } else { self.overread.lead_out };
            // The LBA field is signed: a negative LBA goes out as its two's complement.
            let lba = at as i32 as u32;
            if inside || allowed != Some(false) {
                match self.inner.read(lba, n) {
                    Outcome::Read(v) if v.len() == n as usize => {
                        if !inside {
                            let ok = Some(true);
                            if before {
                                self.overread.lead_in = ok;
                            } else {
                                self.overread.lead_out = ok;
                            }
                        }
                        out.extend(v.into_iter().map(Some));
                    }
                    _ if inside => return Err(()),
                    _ => {
                        if before {
                            self.overread.lead_in = Some(false);
                        } else {
                            self.overread.lead_out = Some(false);
                        }
                        out.extend((0..n).map(|_| None));
                    }
                }
            } else {
                out.extend((0..n).map(|_| None));
            }
            at = end;
        }
        Ok(out)
    }

    /// Reads `count` audio sectors from `lba` (all in one session), shifted by the offset.
    fn read_audio(&mut self, lba: u32, count: u32) -> Outcome {
        let shift = self.offset.saturating_mul(SAMPLE_BYTES);
        let per = RAW_SECTOR as i64;
        let (q, skip) = (shift.div_euclid(per), shift.rem_euclid(per) as usize);
        let (first, end) = (i64::from(lba), i64::from(lba).saturating_add(i64::from(count)));
        let from = first.min(first.saturating_add(q));
        let to = end.max(end.saturating_add(q).saturating_add(i64::from(skip > 0)));
        let bounds = self.session_bounds(lba);
        let Ok(one) = self.read_range(from, to, bounds) else { return Outcome::Failed };
        let two = if self.verify {
            match self.read_range(from, to, bounds) {
                Ok(v) => Some(v),
                Err(()) => return Outcome::Failed,
            }
        } else {
            None
        };
        for (i, s) in one.iter().enumerate() {
            if let Some(s) = s {
                if let Some(sub) = &s.sub {
                    self.capture_q(from.saturating_add(i as i64), sub);
                }
            }
        }
        // Per drive sector: its bytes (silence where the drive did not read) and its verdict.
        let silence = vec![0u8; RAW_SECTOR];
        let verdicts: Vec<Verdict> = one
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let b = two.as_ref().and_then(|t| t.get(i)).and_then(Option::as_ref);
                match a {
                    Some(a) if a.verdict != Verdict::Good => a.verdict,
                    Some(a) => match b {
                        Some(b) if b.verdict != Verdict::Good => b.verdict,
                        Some(b) if b.data != a.data => Verdict::Unstable,
                        _ => Verdict::Good,
                    },
                    None => Verdict::Good,
                }
            })
            .collect();
        let bytes = |i: i64| -> &[u8] {
            usize::try_from(i.saturating_sub(from))
                .ok()
                .and_then(|i| one.get(i))
                .and_then(Option::as_ref)
                .map_or(silence.as_slice(), |s| s.data.as_slice())
        };
        let verdict = |i: i64| -> Verdict {
            usize::try_from(i.saturating_sub(from)).ok().and_then(|i| verdicts.get(i)).copied().unwrap_or(Verdict::Good)
        };
        let mut out = Vec::with_capacity(count as usize);
        for s in first..end {
            let k = s.saturating_add(q);
            let mut data = Vec::with_capacity(RAW_SECTOR);
            data.extend_from_slice(bytes(k).get(skip..).unwrap_or_default());
            data.extend_from_slice(bytes(k.saturating_add(1)).get(..skip).unwrap_or_default());
            data.resize(RAW_SECTOR, 0);
            let mut v = verdict(k);
            if skip > 0 && v == Verdict::Good {
                v = verdict(k.saturating_add(1));
            }
            // Samples of this sector the drive did not give.
            for (j, len) in [(k, RAW_SECTOR.saturating_sub(skip)), (k.saturating_add(1), skip)] {
                let missing =
                    usize::try_from(j.saturating_sub(from)).ok().and_then(|i| one.get(i)).is_none_or(Option::is_none);
                if missing && len > 0 {
                    let samples = (len / 4) as u64;
                    if j < bounds.0 {
                        self.overread.zero_filled_lead_in = self.overread.zero_filled_lead_in.saturating_add(samples);
                    } else if j >= bounds.1 {
                        self.overread.zero_filled_lead_out = self.overread.zero_filled_lead_out.saturating_add(samples);
                    }
                }
            }
            let sub = if self.keep_sub {
                usize::try_from(s.saturating_sub(from))
                    .ok()
                    .and_then(|i| one.get(i))
                    .and_then(Option::as_ref)
                    .and_then(|x| x.sub.clone())
            } else {
                None
            };
            out.push(SectorData { data, sub, verdict: v });
        }
        Outcome::Read(out)
    }

    /// Reads data sectors as they are, gathering their Q.
    fn read_data(&mut self, lba: u32, count: u32) -> Outcome {
        match self.inner.read(lba, count) {
            Outcome::Read(mut v) => {
                for (i, s) in v.iter_mut().enumerate() {
                    if let Some(sub) = &s.sub {
                        self.capture_q(i64::from(lba).saturating_add(i as i64), sub);
                    }
                    if !self.keep_sub {
                        s.sub = None;
                    }
                }
                Outcome::Read(v)
            }
            Outcome::Failed => Outcome::Failed,
        }
    }
}

impl SectorSource for AudioReader<'_> {
    fn enter_phase(&mut self, phase: Phase) {
        self.inner.enter_phase(phase);
    }

    fn read(&mut self, lba: u32, count: u32) -> Outcome {
        // Runs of audio and of data sectors, each in its session, read each their way.
        let mut out = Vec::with_capacity(count as usize);
        let end = lba.saturating_add(count);
        let mut at = lba;
        while at < end {
            let audio = self.is_audio(at);
            let session = self.disc.track_at(at).map(|t| t.session);
            let mut run_end = at.saturating_add(1);
            while run_end < end
                && self.is_audio(run_end) == audio
                && self.disc.track_at(run_end).map(|t| t.session) == session
            {
                run_end = run_end.saturating_add(1);
            }
            let n = run_end.saturating_sub(at);
            let got = if audio { self.read_audio(at, n) } else { self.read_data(at, n) };
            match got {
                Outcome::Read(v) if v.len() == n as usize => out.extend(v),
                _ => return Outcome::Failed,
            }
            at = run_end;
        }
        Outcome::Read(out)
    }
}

/// The disc a raw image describes, as a drive's TOC gives it, and notes on what of the image a drive would not
/// return.
///
/// A track's pregap is what lies before its INDEX 01 in its session: the stored one (from INDEX 00) and the one
/// the sheet declares without storing it (`PREGAP`); a `POSTGAP` belongs to the track's length. The first track of
/// a later session starts its session at INDEX 01 (its standard pregap lies in the gap between the sessions, which
/// [`Disc::cue_sheet`] writes back as `REM SESSION` and, when it differs, `PREGAP`). Sectors stored before LBA 0
/// (an INDEX 00 of a data track 1) are not on the disc as a drive reads it: a note says how many are left out. An
/// audio track 1's stored pregap starts at LBA 0 (hidden track one audio) and is kept.
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
            // Track 1's pregap from LBA 0 on is on the disc (hidden track one audio, see RawDisc::from_cue).
            lba(t.start_lba.saturating_sub(t.first_lba.max(0)))
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

    /// Rips an audio disc of `sectors` sectors from `sim` (read offset applied by `offset`) into memory.
    fn rip_audio(sim: SimDrive, disc_sectors: u32, offset: i32, retries: u32) -> (Vec<u8>, Ripper, Overread) {
        let mut drive = Drive::new(sim, Duration::from_secs(5));
        let toc = drive.read_toc().unwrap();
        let disc = crate::disc::Disc::from_toc(&toc, None, &mut |_| None).unwrap();
        let mode = ReadMode::Raw { c2: crate::mmc::C2Mode::Pointers, subchannel: crate::mmc::Subchannel::FormattedQ };
        let mut ripper =
            Ripper::new(disc_sectors, 2352, None, Options::default().cluster(16).retries(retries)).unwrap();
        let mut sink = Mem::default();
        let mut src = DriveSource::new(&mut drive, mode, Some(&disc));
        let mut audio = AudioReader::new(&mut src, &disc, offset, true, false);
        run(&mut ripper, &mut audio, &mut sink).unwrap();
        let over = audio.overread();
        let q = audio.q_summary();
        assert!(q.sectors > 0 && q.bad == 0);
        let image: Vec<u8> = (0..disc_sectors).flat_map(|l| sink.0.get(&l).cloned().unwrap_or(vec![0; 2352])).collect();
        (image, ripper, over)
    }

    fn pcm(sectors: usize) -> Vec<u8> {
        (0..sectors * 2352).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect()
    }

    #[test]
    fn read_offset_gives_back_the_pressing() {
        let src = pcm(300);
        for offset in [0, 7, -7, 667, -1200, 2000] {
            for overread in [false, true] {
                let sim =
                    SimDrive::from_audio(&src, &[0, 120]).with_read_offset(offset).with_overread(overread, overread);
                let (image, ripper, over) = rip_audio(sim, 300, offset, 2);
                assert!(ripper.unfinished().is_empty(), "{offset}");
                let zeroed = |n: u64| n as usize * 4;
                if overread || offset == 0 {
                    assert!(image == src, "offset {offset} overread {overread}");
                    assert_eq!((over.zero_filled_lead_in, over.zero_filled_lead_out), (0, 0));
                } else if offset < 0 {
                    // A drive of negative offset returns audio late: the first N samples lie before LBA 0 in its
                    // stream, silence without overread.
                    let n = zeroed(over.zero_filled_lead_in);
                    assert_eq!(n, offset.unsigned_abs() as usize * 4, "{offset}");
                    assert!(image[..n].iter().all(|&b| b == 0) && image[n..] == src[n..], "{offset}");
                } else {
                    let n = zeroed(over.zero_filled_lead_out);
                    assert_eq!(n, offset.unsigned_abs() as usize * 4);
                    let cut = src.len() - n;
                    assert!(image[cut..].iter().all(|&b| b == 0) && image[..cut] == src[..cut], "{offset}");
                }
            }
        }
        // The wrong offset: not the pressing.
        let sim = SimDrive::from_audio(&src, &[0]).with_read_offset(30).with_overread(true, true);
        assert!(rip_audio(sim, 300, 0, 2).0 != src);
    }

    #[test]
    fn unstable_sectors_are_read_until_two_agree() {
        let src = pcm(100);
        let sim = SimDrive::from_audio(&src, &[0]).with_fault(50, Fault::Unstable { tries: 4 });
        let (image, ripper, _) = rip_audio(sim, 100, 0, 4);
        assert!(ripper.unfinished().is_empty());
        assert!(image == src);
        assert!(ripper.stats().wrong_sectors >= 1);
        // Never stable: reported bad.
        let sim = SimDrive::from_audio(&src, &[0]).with_fault(50, Fault::Unstable { tries: u32::MAX });
        let (_, ripper, _) = rip_audio(sim, 100, 0, 3);
        assert_eq!(ripper.unfinished().iter().map(|(l, c, _)| (*l, *c)).collect::<Vec<_>>(), vec![(50, 1)]);
        // C2 flags make a sector read again too, offset or not.
        let sim = SimDrive::from_audio(&src, &[0]).with_read_offset(100).with_fault(20, Fault::C2Wrong { tries: 2 });
        let (image, ripper, _) = rip_audio(sim.with_overread(true, true), 100, 100, 3);
        assert!(ripper.unfinished().is_empty() && image == src);
    }
}

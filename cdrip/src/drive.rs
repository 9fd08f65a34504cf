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

use crate::disc::{Disc, TrackKind};
use crate::mmc::{C2Mode, Drive, ReadCdFields, Subchannel, RAW_SECTOR, USER_SECTOR};
use crate::rip::{Outcome, SectorData, SectorSource, Verdict};
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
    notes: Vec<String>,
}

impl<'a, T: Transport> DriveSource<'a, T> {
    /// Reads `drive` in `mode`; `disc` tells audio from data sectors (without it every sector is judged by its
    /// own sync and mode byte).
    pub fn new(drive: &'a mut Drive<T>, mode: ReadMode, disc: Option<&'a Disc>) -> Self {
        Self { drive, mode, disc, raw_path: RawPath::ReadCd, use_read12: false, notes: Vec::new() }
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

    fn read_cooked(&mut self, lba: u32, count: u32, buf: &mut [u8]) -> bool {
        let want = buf.len();
        if !self.use_read12 {
            if let Ok(c16) = u16::try_from(count) {
                match self.drive.read10(lba, c16, buf) {
                    Ok(n) => return n == want,
                    Err(e) if e.is_unsupported() && e.sense().is_some_and(|s| s.asc == 0x20) => {
                        self.notes.push("the drive does not implement READ(10); using READ(12)".into());
                        self.use_read12 = true;
                    }
                    Err(_) => return false,
                }
            }
        }
        matches!(self.drive.read12(lba, count, buf), Ok(n) if n == want)
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

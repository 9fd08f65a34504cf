//! MMC-6 (T10/1836-D revision 2g) commands and their parsed answers, over any [`Transport`].
//!
//! Each command is a method of [`Drive`] building its CDB field by field, sending it, and parsing the data-in bytes
//! with a pure `parse` function that the tests call on recorded answers. Failed commands are kept in
//! [`Drive::failures`] for the rip log.

use std::time::Duration;

use crate::sense::Sense;
use crate::transport::{CommandResult, Transport, TransportFailure};

/// A command that did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command could not be submitted.
    #[error("{command}: {source}")]
    Io {
        /// The command name.
        command: &'static str,
        /// The operating system error.
        source: std::io::Error,
    },
    /// The device answered CHECK CONDITION.
    #[error("{command}: {sense}")]
    Sense {
        /// The command name.
        command: &'static str,
        /// The parsed sense data.
        sense: Sense,
    },
    /// The device answered a status other than GOOD without usable sense data.
    #[error("{command}: SCSI status 0x{status:02x} without sense data")]
    Status {
        /// The command name.
        command: &'static str,
        /// The SCSI status byte.
        status: u8,
    },
    /// The host adapter or kernel gave up (timeout, reset).
    #[error("{command}: {failure}")]
    Transport {
        /// The command name.
        command: &'static str,
        /// What failed below SCSI.
        failure: TransportFailure,
    },
    /// The device answered GOOD with fewer or malformed bytes.
    #[error("{command}: malformed answer: {reason}")]
    Malformed {
        /// The command name.
        command: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl CommandError {
    /// The sense data, when the device returned some.
    #[must_use]
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            Self::Sense { sense, .. } => Some(sense),
            _ => None,
        }
    }

    /// True when the drive says it does not implement the command (INVALID OPERATION CODE).
    #[must_use]
    pub fn is_unsupported(&self) -> bool {
        self.sense().is_some_and(|s| s.is_invalid_opcode() || s.is_invalid_field())
    }

    /// True when the command timed out.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport { failure: TransportFailure::Timeout, .. })
    }
}

fn malformed(command: &'static str, reason: impl Into<String>) -> CommandError {
    CommandError::Malformed { command, reason: reason.into() }
}

/// One failed command, as the rip log lists it.
#[derive(Debug, Clone)]
pub struct FailedCommand {
    /// The CDB as sent.
    pub cdb: Vec<u8>,
    /// The error text (command, sense key, ASC/ASCQ and their meaning).
    pub error: String,
}

/// The most failed commands kept for the log; later ones are counted only.
const FAILURE_LOG_LIMIT: usize = 10_000;

/// A drive: a transport, the timeout of each command, and the record of failed commands.
#[derive(Debug)]
pub struct Drive<T> {
    transport: T,
    timeout: Duration,
    failures: Vec<FailedCommand>,
    failures_dropped: u64,
}

/// Operation codes (MMC-6 Table 343, SPC-4 Table 60).
pub mod op {
    /// TEST UNIT READY.
    pub const TEST_UNIT_READY: u8 = 0x00;
    /// REQUEST SENSE.
    pub const REQUEST_SENSE: u8 = 0x03;
    /// INQUIRY.
    pub const INQUIRY: u8 = 0x12;
    /// READ CAPACITY.
    pub const READ_CAPACITY: u8 = 0x25;
    /// READ(10).
    pub const READ_10: u8 = 0x28;
    /// READ TOC/PMA/ATIP.
    pub const READ_TOC: u8 = 0x43;
    /// GET CONFIGURATION.
    pub const GET_CONFIGURATION: u8 = 0x46;
    /// READ DISC INFORMATION.
    pub const READ_DISC_INFORMATION: u8 = 0x51;
    /// READ TRACK INFORMATION.
    pub const READ_TRACK_INFORMATION: u8 = 0x52;
    /// MODE SELECT(10).
    pub const MODE_SELECT_10: u8 = 0x55;
    /// MODE SENSE(10).
    pub const MODE_SENSE_10: u8 = 0x5a;
    /// READ(12).
    pub const READ_12: u8 = 0xa8;
    /// SET CD SPEED.
    pub const SET_CD_SPEED: u8 = 0xbb;
    /// READ CD.
    pub const READ_CD: u8 = 0xbe;
}

impl<T: Transport> Drive<T> {
    /// Wraps `transport`; each command waits at most `timeout`.
    pub fn new(transport: T, timeout: Duration) -> Self {
        Self { transport, timeout, failures: Vec::new(), failures_dropped: 0 }
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Commands that failed so far, oldest first, and how many more were not kept.
    #[must_use]
    pub fn failures(&self) -> (&[FailedCommand], u64) {
        (&self.failures, self.failures_dropped)
    }

    /// Sets the per-command timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn record(&mut self, cdb: &[u8], e: &CommandError) {
        if self.failures.len() < FAILURE_LOG_LIMIT {
            self.failures.push(FailedCommand { cdb: cdb.to_vec(), error: e.to_string() });
        } else {
            self.failures_dropped = self.failures_dropped.saturating_add(1);
        }
    }

    fn check(
        &mut self,
        command: &'static str,
        cdb: &[u8],
        r: std::io::Result<CommandResult>,
    ) -> Result<usize, CommandError> {
        let e = match r {
            Err(source) => CommandError::Io { command, source },
            Ok(r) if r.is_good() => return Ok(r.transferred),
            Ok(CommandResult { transport_failure: Some(failure), .. }) => CommandError::Transport { command, failure },
            Ok(r) => match Sense::parse(&r.sense) {
                Some(sense) => CommandError::Sense { command, sense },
                None => CommandError::Status { command, status: r.status },
            },
        };
        self.record(cdb, &e);
        Err(e)
    }

    /// Sends a data-in command; returns the bytes transferred.
    pub fn command(&mut self, command: &'static str, cdb: &[u8], data: &mut [u8]) -> Result<usize, CommandError> {
        let r = self.transport.execute(cdb, data, self.timeout);
        self.check(command, cdb, r)
    }

    fn command_out(&mut self, command: &'static str, cdb: &[u8], data: &[u8]) -> Result<(), CommandError> {
        let r = self.transport.execute_out(cdb, data, self.timeout);
        self.check(command, cdb, r).map(|_| ())
    }

    /// INQUIRY (SPC-4 6.6), standard data.
    pub fn inquiry(&mut self) -> Result<Inquiry, CommandError> {
        let mut buf = [0u8; 96];
        let cdb = [op::INQUIRY, 0, 0, 0, 96, 0];
        let n = self.command("INQUIRY", &cdb, &mut buf)?;
        Inquiry::parse(prefix(&buf, n))
    }

    /// TEST UNIT READY (SPC-4 6.37): `Ok` when a medium is present and readable.
    pub fn test_unit_ready(&mut self) -> Result<(), CommandError> {
        let cdb = [op::TEST_UNIT_READY, 0, 0, 0, 0, 0];
        self.command("TEST UNIT READY", &cdb, &mut []).map(|_| ())
    }

    /// REQUEST SENSE (SPC-4 6.29), fixed format.
    pub fn request_sense(&mut self) -> Result<Option<Sense>, CommandError> {
        let mut buf = [0u8; 18];
        let cdb = [op::REQUEST_SENSE, 0, 0, 0, 18, 0];
        let n = self.command("REQUEST SENSE", &cdb, &mut buf)?;
        Ok(Sense::parse(prefix(&buf, n)))
    }

    /// READ CAPACITY (MMC-6 6.23): the last readable LBA and the block length in bytes.
    pub fn read_capacity(&mut self) -> Result<Capacity, CommandError> {
        let mut buf = [0u8; 8];
        let cdb = [op::READ_CAPACITY, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let n = self.command("READ CAPACITY", &cdb, &mut buf)?;
        if n < 8 {
            return Err(malformed("READ CAPACITY", format!("{n} of 8 bytes")));
        }
        let [a, b, c, d, e, f, g, h] = buf;
        Ok(Capacity { last_lba: u32::from_be_bytes([a, b, c, d]), block_length: u32::from_be_bytes([e, f, g, h]) })
    }

    /// READ TOC/PMA/ATIP (MMC-6 6.26) of `format` (0 TOC, 1 session info, 2 full TOC, 5 CD-TEXT), with LBA
    /// addresses; returns the answer including its 4-byte header.
    ///
    /// The format is sent both in byte 2 and, for formats 0–2, in the legacy field of byte 9 bits 6–7 (SFF-8020i),
    /// which older ATAPI drives and QEMU's ide-cd read instead.
    pub fn read_toc_raw(&mut self, format: u8, track_or_session: u8) -> Result<Vec<u8>, CommandError> {
        let legacy = if format <= 2 { format << 6 } else { 0 };
        let alloc: u16 = 0xfffe;
        let mut buf = vec![0u8; usize::from(alloc)];
        let [ah, al] = alloc.to_be_bytes();
        // The full TOC (format 2) holds MSF addresses only: MSF bit set, as drives (and QEMU) expect.
        let msf = if format == 2 { 0x02 } else { 0 };
        let cdb = [op::READ_TOC, msf, format & 0x0f, 0, 0, 0, track_or_session, ah, al, legacy];
        let n = self.command("READ TOC/PMA/ATIP", &cdb, &mut buf)?;
        if n < 4 {
            return Err(malformed("READ TOC/PMA/ATIP", format!("{n} bytes")));
        }
        let declared = buf.first_chunk::<2>().map_or(0, |l| usize::from(u16::from_be_bytes(*l))).saturating_add(2);
        buf.truncate(declared.min(n));
        Ok(buf)
    }

    /// READ TOC format 0: the track table.
    pub fn read_toc(&mut self) -> Result<Toc, CommandError> {
        let raw = self.read_toc_raw(0, 1)?;
        Toc::parse(&raw)
    }

    /// READ TOC format 1: first and last session, and the first track of the last session.
    pub fn read_session_info(&mut self) -> Result<SessionInfo, CommandError> {
        let raw = self.read_toc_raw(1, 0)?;
        SessionInfo::parse(&raw)
    }

    /// READ TOC format 2: the full TOC (Q subchannel of the lead-in of every session).
    pub fn read_full_toc(&mut self) -> Result<FullToc, CommandError> {
        let raw = self.read_toc_raw(2, 1)?;
        FullToc::parse(&raw)
    }

    /// READ TOC format 5: the CD-TEXT packs of the lead-in.
    pub fn read_cd_text(&mut self) -> Result<CdText, CommandError> {
        let raw = self.read_toc_raw(5, 0)?;
        Ok(CdText::parse(&raw))
    }

    /// GET CONFIGURATION (MMC-6 6.6), all features.
    pub fn get_configuration(&mut self) -> Result<Configuration, CommandError> {
        let alloc: u16 = 0x2000;
        let mut buf = vec![0u8; usize::from(alloc)];
        let [ah, al] = alloc.to_be_bytes();
        let cdb = [op::GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, ah, al, 0];
        let n = self.command("GET CONFIGURATION", &cdb, &mut buf)?;
        Configuration::parse(prefix(&buf, n))
    }

    /// READ DISC INFORMATION (MMC-6 6.22), standard disc information.
    pub fn read_disc_information(&mut self) -> Result<DiscInformation, CommandError> {
        let mut buf = [0u8; 34];
        let cdb = [op::READ_DISC_INFORMATION, 0, 0, 0, 0, 0, 0, 0, 34, 0];
        let n = self.command("READ DISC INFORMATION", &cdb, &mut buf)?;
        DiscInformation::parse(prefix(&buf, n))
    }

    /// READ TRACK INFORMATION (MMC-6 6.27) of track `track`.
    pub fn read_track_information(&mut self, track: u8) -> Result<TrackInformation, CommandError> {
        let mut buf = [0u8; 48];
        let cdb = [op::READ_TRACK_INFORMATION, 0x01, 0, 0, 0, track, 0, 0, 48, 0];
        let n = self.command("READ TRACK INFORMATION", &cdb, &mut buf)?;
        TrackInformation::parse(prefix(&buf, n))
    }

    /// MODE SENSE(10) (SPC-4 6.12) of the Read/Write Error Recovery page (01h, MMC-6 7.3): current values.
    pub fn read_error_recovery(&mut self) -> Result<ErrorRecoveryPage, CommandError> {
        let mut buf = [0u8; 64];
        let cdb = [op::MODE_SENSE_10, 0x08, 0x01, 0, 0, 0, 0, 0, 64, 0];
        let n = self.command("MODE SENSE(10)", &cdb, &mut buf)?;
        ErrorRecoveryPage::parse(prefix(&buf, n))
    }

    /// MODE SELECT(10) (SPC-4 6.10) of page 01h with `read_retry_count` and the other fields of `page` unchanged.
    pub fn set_read_retry_count(&mut self, page: &ErrorRecoveryPage, read_retry_count: u8) -> Result<(), CommandError> {
        let mut p = page.page.clone();
        if let Some(code) = p.first_mut() {
            *code &= 0x3f; // PS bit is reserved in MODE SELECT
        }
        if let Some(count) = p.get_mut(3) {
            *count = read_retry_count;
        }
        let mut data = vec![0u8; 8]; // mode parameter header (10): lengths zero, no block descriptor
        data.extend_from_slice(&p);
        let len = u16::try_from(data.len()).map_err(|_| malformed("MODE SELECT(10)", "page too long"))?;
        let [lh, ll] = len.to_be_bytes();
        let cdb = [op::MODE_SELECT_10, 0x10, 0, 0, 0, 0, 0, lh, ll, 0];
        self.command_out("MODE SELECT(10)", &cdb, &data)
    }

    /// SET CD SPEED (MMC-6 6.37): read speed in kB/s (1000 bytes), 0xFFFF for the maximum.
    pub fn set_cd_speed(&mut self, read_kbps: u16) -> Result<(), CommandError> {
        let [h, l] = read_kbps.to_be_bytes();
        let cdb = [op::SET_CD_SPEED, 0, h, l, 0xff, 0xff, 0, 0, 0, 0, 0, 0];
        self.command("SET CD SPEED", &cdb, &mut []).map(|_| ())
    }

    /// READ(10) (MMC-6 6.18) of `count` blocks at `lba` into `buf` (its length is `count` × block length).
    pub fn read10(&mut self, lba: u32, count: u16, buf: &mut [u8]) -> Result<usize, CommandError> {
        let [a, b, c, d] = lba.to_be_bytes();
        let [ch, cl] = count.to_be_bytes();
        let cdb = [op::READ_10, 0, a, b, c, d, 0, ch, cl, 0];
        self.command("READ(10)", &cdb, buf)
    }

    /// READ(12) (MMC-6 6.19) of `count` blocks at `lba`.
    pub fn read12(&mut self, lba: u32, count: u32, buf: &mut [u8]) -> Result<usize, CommandError> {
        let [a, b, c, d] = lba.to_be_bytes();
        let [e, f, g, h] = count.to_be_bytes();
        let cdb = [op::READ_12, 0, a, b, c, d, e, f, g, h, 0, 0];
        self.command("READ(12)", &cdb, buf)
    }

    /// READ CD (MMC-6 6.20) of `count` sectors at `lba` with the fields `fields` selects. `buf` holds
    /// `count × fields.bytes_per_sector()` bytes.
    pub fn read_cd(
        &mut self,
        lba: u32,
        count: u32,
        fields: ReadCdFields,
        buf: &mut [u8],
    ) -> Result<usize, CommandError> {
        let [a, b, c, d] = lba.to_be_bytes();
        let [_, l2, l1, l0] = count.to_be_bytes();
        let cdb =
            [op::READ_CD, fields.sector_type.code() << 2, a, b, c, d, l2, l1, l0, fields.byte9(), fields.byte10(), 0];
        self.command("READ CD", &cdb, buf)
    }
}

/// The first `n` bytes of an answer buffer (all of it when the transport claims more).
fn prefix(b: &[u8], n: usize) -> &[u8] {
    b.get(..n).unwrap_or(b)
}

/// The first `N` bytes of an answer as an array, or `None` when it is shorter.
fn head<const N: usize>(b: &[u8]) -> Option<&[u8; N]> {
    b.first_chunk::<N>()
}

/// A big-endian 32-bit field.
fn be32(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

fn ascii_field(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim_end_matches([' ', '\0']).trim_start().to_string()
}

/// Standard INQUIRY data (SPC-4 6.6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    /// Peripheral device type (05h for MMC devices).
    pub device_type: u8,
    /// T10 vendor identification (8 ASCII characters, trailing spaces removed).
    pub vendor: String,
    /// Product identification (16 ASCII characters, trailing spaces removed).
    pub product: String,
    /// Product revision level (firmware).
    pub revision: String,
}

impl Inquiry {
    /// Parses standard INQUIRY data (at least the 36 bytes up to the revision).
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some(b) = head::<36>(b) else {
            return Err(malformed("INQUIRY", format!("{} of 36 bytes", b.len())));
        };
        Ok(Self {
            device_type: b[0] & 0x1f,
            vendor: ascii_field(&b[8..16]),
            product: ascii_field(&b[16..32]),
            revision: ascii_field(&b[32..36]),
        })
    }
}

/// READ CAPACITY data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// The last readable LBA (so the disc holds `last_lba + 1` blocks).
    pub last_lba: u32,
    /// Block length in bytes (2048 for CD and DVD).
    pub block_length: u32,
}

/// Control nibble bit: the track holds data (MMC-6 Table 501; ECMA-130 22.3.1).
pub const CONTROL_DATA: u8 = 0x04;

/// One track descriptor of READ TOC format 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TocEntry {
    /// Track number (1–99, or 0xAA for the lead-out).
    pub track: u8,
    /// ADR (high nibble of the ADR/CONTROL byte).
    pub adr: u8,
    /// CONTROL nibble: bit 2 data track, bit 0 pre-emphasis, bit 1 copy permitted, bit 3 four channels.
    pub control: u8,
    /// Start address (LBA).
    pub lba: u32,
}

/// The lead-out's track number in READ TOC format 0.
pub const LEAD_OUT_TRACK: u8 = 0xaa;

/// READ TOC format 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toc {
    /// First track number.
    pub first_track: u8,
    /// Last track number.
    pub last_track: u8,
    /// Track descriptors, then the lead-out (track 0xAA).
    pub entries: Vec<TocEntry>,
}

impl Toc {
    /// Parses a format 0 answer, header included.
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some((&[_, _, first_track, last_track], rest)) = b.split_first_chunk::<4>() else {
            return Err(malformed("READ TOC", "no header"));
        };
        let entries = rest
            .chunks_exact(8)
            .filter_map(|d| <&[u8; 8]>::try_from(d).ok())
            .map(|&[_, adr_control, track, _, a, b, c, d]| TocEntry {
                track,
                adr: adr_control >> 4,
                control: adr_control & 0x0f,
                lba: be32([a, b, c, d]),
            })
            .collect();
        Ok(Self { first_track, last_track, entries })
    }
}

/// READ TOC format 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// First complete session number.
    pub first_session: u8,
    /// Last complete session number.
    pub last_session: u8,
    /// First track of the last session.
    pub first_track_last_session: u8,
    /// Its start (LBA).
    pub first_track_last_session_lba: u32,
}

impl SessionInfo {
    /// Parses a format 1 answer.
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some(&[_, _, first_session, last_session, _, _, first_track_last_session, _, l0, l1, l2, l3]) =
            head::<12>(b)
        else {
            return Err(malformed("READ TOC format 1", format!("{} of 12 bytes", b.len())));
        };
        Ok(Self {
            first_session,
            last_session,
            first_track_last_session,
            first_track_last_session_lba: be32([l0, l1, l2, l3]),
        })
    }
}

/// One 11-byte descriptor of READ TOC format 2 (MMC-6 Table 492).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullTocEntry {
    /// Session number.
    pub session: u8,
    /// ADR nibble.
    pub adr: u8,
    /// CONTROL nibble.
    pub control: u8,
    /// POINT: 1–99 a track start, A0h first track, A1h last track, A2h lead-out, B0h/C0h more.
    pub point: u8,
    /// ATIME of the descriptor (MIN, SEC, FRAME).
    pub atime: [u8; 3],
    /// PMIN, PSEC, PFRAME.
    pub p: [u8; 3],
}

impl FullTocEntry {
    /// PMIN/PSEC/PFRAME as an LBA (MSF − 150 frames of the 2-second pregap).
    #[must_use]
    pub fn p_lba(&self) -> i64 {
        msf_to_lba(self.p[0], self.p[1], self.p[2])
    }
}

/// An absolute MSF address (binary, as READ TOC returns it) to an LBA.
#[must_use]
pub fn msf_to_lba(m: u8, s: u8, f: u8) -> i64 {
    // At most (255 × 60 + 255) × 75 + 255 frames: far from the limits of i64.
    i64::from(m)
        .saturating_mul(60)
        .saturating_add(i64::from(s))
        .saturating_mul(75)
        .saturating_add(i64::from(f))
        .saturating_sub(150)
}

/// An LBA to binary (minute, second, frame), 150 frames added.
#[must_use]
pub fn lba_to_msf(lba: i64) -> (u8, u8, u8) {
    let a = lba.saturating_add(150).max(0);
    let m = a / (60 * 75);
    let s = (a / 75) % 60;
    let f = a % 75;
    (u8::try_from(m).unwrap_or(u8::MAX), s as u8, f as u8)
}

/// READ TOC format 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullToc {
    /// First complete session.
    pub first_session: u8,
    /// Last complete session.
    pub last_session: u8,
    /// Descriptors in the drive's order.
    pub entries: Vec<FullTocEntry>,
}

impl FullToc {
    /// Parses a format 2 answer.
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some((&[_, _, first_session, last_session], rest)) = b.split_first_chunk::<4>() else {
            return Err(malformed("READ TOC format 2", "no header"));
        };
        let entries = rest
            .chunks_exact(11)
            .filter_map(|d| <&[u8; 11]>::try_from(d).ok())
            .map(|&[session, adr_control, _, point, am, as_, af, _, pm, ps, pf]| FullTocEntry {
                session,
                adr: adr_control >> 4,
                control: adr_control & 0x0f,
                point,
                atime: [am, as_, af],
                p: [pm, ps, pf],
            })
            .collect();
        Ok(Self { first_session, last_session, entries })
    }

    /// The disc type byte of the A0h descriptor (PSEC): 00h CD-DA/CD-ROM, 10h CD-I, 20h CD-ROM XA.
    #[must_use]
    pub fn disc_type(&self) -> Option<u8> {
        self.entries.iter().find(|e| e.point == 0xa0 && e.adr == 1).map(|e| e.p[1])
    }
}

/// CD-TEXT (READ TOC format 5): the 18-byte packs and the texts decoded from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdText {
    /// The packs as read, 18 bytes each (type, track, sequence, block/char position, 12 text bytes, CRC).
    pub packs: Vec<[u8; 18]>,
}

/// CD-TEXT pack types (Red Book / MMC-6 Annex J).
pub mod cd_text_pack {
    /// Title of the album (track 0) or of a track.
    pub const TITLE: u8 = 0x80;
    /// Performer.
    pub const PERFORMER: u8 = 0x81;
    /// Songwriter.
    pub const SONGWRITER: u8 = 0x82;
    /// Composer.
    pub const COMPOSER: u8 = 0x83;
    /// Message.
    pub const MESSAGE: u8 = 0x85;
    /// UPC/EAN (track 0) or ISRC.
    pub const UPC_ISRC: u8 = 0x8e;
}

impl CdText {
    /// Parses a format 5 answer; a trailing partial pack is ignored.
    #[must_use]
    pub fn parse(b: &[u8]) -> Self {
        let packs = b.get(4..).unwrap_or(&[]).chunks_exact(18).filter_map(|c| <[u8; 18]>::try_from(c).ok()).collect();
        Self { packs }
    }

    /// The texts of pack type `kind` for the first language block, indexed by track number (0 = the disc).
    /// Single-byte text (ISO 8859-1) is decoded; double-byte blocks are skipped.
    #[must_use]
    pub fn texts(&self, kind: u8) -> Vec<(u8, String)> {
        let mut out: Vec<(u8, String)> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        let mut track: Option<u8> = None;
        for p in self.packs.iter().filter(|p| p[0] == kind && p[3] & 0x70 == 0 && p[3] & 0x80 == 0) {
            // A pack's text continues the previous string; NUL ends one string and starts the next track's.
            if track.is_none() {
                track = Some(p[1] & 0x7f);
            }
            for &c in &p[4..16] {
                if c == 0 {
                    if let Some(t) = track {
                        out.push((t, bytes.iter().map(|&b| char::from(b)).collect()));
                        track = Some(t.saturating_add(1));
                    }
                    bytes.clear();
                } else {
                    bytes.push(c);
                }
            }
        }
        // The last pack is padded with NULs: they name no track.
        while out.last().is_some_and(|(_, t)| t.is_empty()) {
            out.pop();
        }
        out
    }
}

/// Feature codes of GET CONFIGURATION (MMC-6 5.3).
pub mod feature {
    /// Profile List.
    pub const PROFILE_LIST: u16 = 0x0000;
    /// CD Read: the drive reads CD-specific structures (READ CD, C2 pointers, CD-TEXT).
    pub const CD_READ: u16 = 0x001e;
}

/// Names of the MMC-6 profiles (Table 91).
#[must_use]
pub fn profile_name(p: u16) -> &'static str {
    match p {
        0x0002 => "Removable disk",
        0x0008 => "CD-ROM",
        0x0009 => "CD-R",
        0x000a => "CD-RW",
        0x0010 => "DVD-ROM",
        0x0011 => "DVD-R",
        0x0012 => "DVD-RAM",
        0x0013 => "DVD-RW restricted overwrite",
        0x0014 => "DVD-RW sequential",
        0x0015 => "DVD-R DL sequential",
        0x0016 => "DVD-R DL jump",
        0x001a => "DVD+RW",
        0x001b => "DVD+R",
        0x002b => "DVD+R DL",
        0x0040 => "BD-ROM",
        0x0041 => "BD-R SRM",
        0x0042 => "BD-R RRM",
        0x0043 => "BD-RE",
        0x0050 => "HD DVD-ROM",
        _ => "unknown profile",
    }
}

/// GET CONFIGURATION answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    /// The current profile (the medium loaded); 0 when none.
    pub current_profile: u16,
    /// Every profile the drive supports, with its "current" flag.
    pub profiles: Vec<(u16, bool)>,
    /// The CD Read feature, when reported.
    pub cd_read: Option<CdReadFeature>,
    /// All feature codes reported.
    pub features: Vec<u16>,
}

/// The CD Read feature (001Eh, MMC-6 5.3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdReadFeature {
    /// The drive returns C2 error pointers in READ CD.
    pub c2_flags: bool,
    /// The drive reads CD-TEXT (READ TOC format 5).
    pub cd_text: bool,
    /// Digital audio play: READ CD with DAP.
    pub dap: bool,
}

impl Configuration {
    /// Parses a GET CONFIGURATION answer: 8-byte header, then feature descriptors.
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some((&[l0, l1, l2, l3, _, _, p0, p1], mut rest)) = b.split_first_chunk::<8>() else {
            return Err(malformed("GET CONFIGURATION", format!("{} of 8 header bytes", b.len())));
        };
        // The data length counts the bytes after itself: the feature descriptors start 4 bytes later.
        let declared = usize::try_from(be32([l0, l1, l2, l3])).unwrap_or(usize::MAX).saturating_sub(4);
        rest = rest.get(..declared).unwrap_or(rest);
        let mut c = Self { current_profile: u16::from_be_bytes([p0, p1]), ..Self::default() };
        // Each descriptor: code, version/flags, additional length, then that many bytes (cut at the end).
        while let [c0, c1, _, len, body @ ..] = rest {
            let code = u16::from_be_bytes([*c0, *c1]);
            let len = usize::from(*len);
            let data = body.get(..len).unwrap_or(body);
            rest = body.get(len..).unwrap_or_default();
            c.features.push(code);
            match code {
                feature::PROFILE_LIST => {
                    c.profiles.extend(
                        data.chunks_exact(4)
                            .filter_map(|p| <&[u8; 4]>::try_from(p).ok())
                            .map(|&[h, l, current, _]| (u16::from_be_bytes([h, l]), current & 1 != 0)),
                    );
                }
                feature::CD_READ => {
                    let flags = data.first().copied().unwrap_or(0);
                    c.cd_read = Some(CdReadFeature {
                        c2_flags: flags & 0x02 != 0,
                        cd_text: flags & 0x01 != 0,
                        dap: flags & 0x80 != 0,
                    });
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

/// READ DISC INFORMATION answer (MMC-6 Table 301), the fields odix reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscInformation {
    /// Disc status: 0 empty, 1 incomplete, 2 finalized, 3 other.
    pub disc_status: u8,
    /// State of the last session: 0 empty, 1 incomplete, 2 reserved/damaged, 3 complete.
    pub last_session_state: u8,
    /// The medium is erasable.
    pub erasable: bool,
    /// First track number on the disc.
    pub first_track: u8,
    /// Number of sessions.
    pub sessions: u16,
    /// Last track in the last session.
    pub last_track_last_session: u16,
    /// Disc type: 00h CD-DA or CD-ROM, 10h CD-I, 20h CD-ROM XA.
    pub disc_type: u8,
}

impl DiscInformation {
    /// Parses the standard disc information block.
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some(&[_, _, status, first_track, sessions_lsb, _, last_track_lsb, _, disc_type]) = head::<9>(b) else {
            return Err(malformed("READ DISC INFORMATION", format!("{} bytes", b.len())));
        };
        let msb = |at: usize| b.get(at).copied().unwrap_or(0);
        Ok(Self {
            disc_status: status & 0x03,
            last_session_state: (status >> 2) & 0x03,
            erasable: status & 0x10 != 0,
            first_track,
            sessions: u16::from_be_bytes([msb(9), sessions_lsb]),
            last_track_last_session: u16::from_be_bytes([msb(11), last_track_lsb]),
            disc_type,
        })
    }
}

/// READ TRACK INFORMATION answer (MMC-6 Table 525), the fields odix uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackInformation {
    /// Track number.
    pub track: u16,
    /// Session number.
    pub session: u16,
    /// Track mode (the CONTROL nibble).
    pub track_mode: u8,
    /// Data mode: 1 Mode 1, 2 Mode 2, 0Fh unknown.
    pub data_mode: u8,
    /// Start LBA.
    pub start: u32,
    /// Length in blocks.
    pub size: u32,
}

impl TrackInformation {
    /// Parses a track information block (at least 28 bytes).
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some(h) = head::<28>(b) else {
            return Err(malformed("READ TRACK INFORMATION", format!("{} of 28 bytes", b.len())));
        };
        let msb = |at: usize| b.get(at).copied().unwrap_or(0);
        Ok(Self {
            track: u16::from_be_bytes([msb(32), h[2]]),
            session: u16::from_be_bytes([msb(33), h[3]]),
            track_mode: h[5] & 0x0f,
            data_mode: h[6] & 0x0f,
            start: be32([h[8], h[9], h[10], h[11]]),
            size: be32([h[24], h[25], h[26], h[27]]),
        })
    }
}

/// The Read/Write Error Recovery mode page (01h) as MODE SENSE returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRecoveryPage {
    /// The page bytes, from the page code byte on.
    pub page: Vec<u8>,
}

impl ErrorRecoveryPage {
    /// Parses a MODE SENSE(10) answer: header, block descriptors, then page 01h.
    pub fn parse(b: &[u8]) -> Result<Self, CommandError> {
        let Some(&[_, _, _, _, _, _, d0, d1]) = head::<8>(b) else {
            return Err(malformed("MODE SENSE(10)", "no header"));
        };
        // Header, block descriptors, then the page: code, length of the rest, parameters.
        let at = usize::from(u16::from_be_bytes([d0, d1])).saturating_add(8);
        let page = b.get(at..).filter(|p| p.len() >= 4).ok_or_else(|| malformed("MODE SENSE(10)", "no page"))?;
        let &[code, len, ..] = page else { return Err(malformed("MODE SENSE(10)", "no page")) };
        if code & 0x3f != 0x01 {
            return Err(malformed("MODE SENSE(10)", format!("page 0x{:02x}, asked for 0x01", code & 0x3f)));
        }
        let len = usize::from(len).saturating_add(2);
        Ok(Self { page: prefix(page, len).to_vec() })
    }

    /// The read retry count (byte 3).
    #[must_use]
    pub fn read_retry_count(&self) -> u8 {
        self.page.get(3).copied().unwrap_or(0)
    }
}

/// Expected sector type of READ CD (MMC-6 Table 371).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectorType {
    /// Any type.
    Any,
    /// CD-DA (audio).
    Cdda,
    /// Mode 1.
    Mode1,
    /// Mode 2 formless.
    Mode2,
    /// Mode 2 Form 1.
    Mode2Form1,
    /// Mode 2 Form 2.
    Mode2Form2,
}

impl SectorType {
    fn code(self) -> u8 {
        match self {
            Self::Any => 0,
            Self::Cdda => 1,
            Self::Mode1 => 2,
            Self::Mode2 => 3,
            Self::Mode2Form1 => 4,
            Self::Mode2Form2 => 5,
        }
    }
}

/// C2 error information requested from READ CD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum C2Mode {
    /// None.
    None,
    /// 294 bytes: one bit per byte of the 2352-byte sector.
    Pointers,
    /// 296 bytes: the 294 pointer bytes, the block error byte (OR of them all) and a pad byte.
    PointersAndBlockError,
}

impl C2Mode {
    /// Bytes per sector.
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Self::None => 0,
            Self::Pointers => 294,
            Self::PointersAndBlockError => 296,
        }
    }
}

/// Subchannel data requested from READ CD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subchannel {
    /// None.
    None,
    /// Raw P–W, 96 bytes, interleaved as on the disc.
    RawPw,
    /// Formatted Q, 16 bytes.
    FormattedQ,
}

impl Subchannel {
    /// Bytes per sector.
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Self::None => 0,
            Self::RawPw => 96,
            Self::FormattedQ => 16,
        }
    }
}

/// Bytes of a whole CD sector.
pub const RAW_SECTOR: usize = 2352;
/// Bytes of user data in a Mode 1 or Mode 2 Form 1 sector.
pub const USER_SECTOR: usize = 2048;

/// The fields READ CD returns for each sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCdFields {
    /// Expected sector type; a mismatch fails the command.
    pub sector_type: SectorType,
    /// Whole sector: sync, headers, user data, EDC/ECC (2352 bytes); otherwise user data only.
    pub raw: bool,
    /// C2 error pointers.
    pub c2: C2Mode,
    /// Subchannel.
    pub subchannel: Subchannel,
}

impl ReadCdFields {
    /// A whole 2352-byte sector of any type, with `c2` and `subchannel`.
    #[must_use]
    pub fn raw(c2: C2Mode, subchannel: Subchannel) -> Self {
        Self { sector_type: SectorType::Any, raw: true, c2, subchannel }
    }

    /// Bytes per sector in the answer: main channel, then C2, then subchannel.
    #[must_use]
    pub fn bytes_per_sector(&self) -> usize {
        // At most 2352 + 296 + 96.
        (if self.raw { RAW_SECTOR } else { USER_SECTOR })
            .saturating_add(self.c2.bytes())
            .saturating_add(self.subchannel.bytes())
    }

    /// Byte 9: SYNC (bit 7), header codes (bits 6–5), user data (bit 4), EDC/ECC (bit 3), C2 (bits 2–1).
    fn byte9(&self) -> u8 {
        let main = if self.raw { 0x80 | 0x60 | 0x10 | 0x08 } else { 0x10 };
        let c2 = match self.c2 {
            C2Mode::None => 0,
            C2Mode::Pointers => 0x02,
            C2Mode::PointersAndBlockError => 0x04,
        };
        main | c2
    }

    /// Byte 10: subchannel selection (bits 2–0).
    fn byte10(&self) -> u8 {
        match self.subchannel {
            Subchannel::None => 0,
            Subchannel::RawPw => 1,
            Subchannel::FormattedQ => 2,
        }
    }
}

/// Decodes a READ CD CDB built by [`Drive::read_cd`] (for the simulated drive): (LBA, count, fields).
#[must_use]
pub fn decode_read_cd(cdb: &[u8]) -> Option<(u32, u32, ReadCdFields)> {
    let cdb = head::<12>(cdb).filter(|c| c[0] == op::READ_CD)?;
    let sector_type = match (cdb[1] >> 2) & 7 {
        0 => SectorType::Any,
        1 => SectorType::Cdda,
        2 => SectorType::Mode1,
        3 => SectorType::Mode2,
        4 => SectorType::Mode2Form1,
        5 => SectorType::Mode2Form2,
        _ => return None,
    };
    let c2 = match (cdb[9] >> 1) & 3 {
        0 => C2Mode::None,
        1 => C2Mode::Pointers,
        2 => C2Mode::PointersAndBlockError,
        _ => return None,
    };
    let subchannel = match cdb[10] & 7 {
        0 => Subchannel::None,
        1 => Subchannel::RawPw,
        2 => Subchannel::FormattedQ,
        _ => return None,
    };
    let fields = ReadCdFields { sector_type, raw: cdb[9] & 0x80 != 0, c2, subchannel };
    Some((be32([cdb[2], cdb[3], cdb[4], cdb[5]]), u32::from_be_bytes([0, cdb[6], cdb[7], cdb[8]]), fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_format0() {
        let b = [0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x14, 0xaa, 0, 0, 0, 0x10, 0];
        let t = Toc::parse(&b).unwrap();
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.entries[0], TocEntry { track: 1, adr: 1, control: 4, lba: 0 });
        assert_eq!(t.entries[1].lba, 4096);
    }

    #[test]
    fn configuration_profiles_and_c2() {
        let mut b = vec![0, 0, 0, 0, 0, 0, 0x00, 0x08];
        b.extend_from_slice(&[0, 0, 3, 8, 0, 0x10, 0, 0, 0, 0x08, 1, 0]);
        b.extend_from_slice(&[0, 0x1e, 0x09, 4, 0x83, 0, 0, 0]);
        let n = (b.len() - 4) as u32;
        b[0..4].copy_from_slice(&n.to_be_bytes());
        let c = Configuration::parse(&b).unwrap();
        assert_eq!(c.current_profile, 8);
        assert_eq!(c.profiles, vec![(0x10, false), (0x08, true)]);
        assert_eq!(c.cd_read, Some(CdReadFeature { c2_flags: true, cd_text: true, dap: true }));
        assert!(Configuration::parse(&b[..5]).is_err());
    }

    #[test]
    fn read_cd_cdb_round_trip() {
        let f = ReadCdFields::raw(C2Mode::PointersAndBlockError, Subchannel::RawPw);
        assert_eq!(f.bytes_per_sector(), 2352 + 296 + 96);
        assert_eq!(f.byte9(), 0xfc);
        let cdb = [op::READ_CD, 0, 0, 0, 1, 0, 0, 0, 32, f.byte9(), f.byte10(), 0];
        assert_eq!(decode_read_cd(&cdb), Some((256, 32, f)));
    }

    #[test]
    fn msf() {
        assert_eq!(msf_to_lba(0, 2, 0), 0);
        assert_eq!(lba_to_msf(0), (0, 2, 0));
        assert_eq!(lba_to_msf(4500 - 150), (1, 0, 0));
    }

    #[test]
    fn mode_page_and_short_answers() {
        let b = [0, 18, 0, 0, 0, 0, 0, 0, 0x81, 10, 0x20, 5, 0, 0, 0, 0, 0, 0, 0, 0];
        let p = ErrorRecoveryPage::parse(&b).unwrap();
        assert_eq!(p.read_retry_count(), 5);
        assert!(ErrorRecoveryPage::parse(&b[..9]).is_err());
        assert!(Inquiry::parse(&[0; 10]).is_err());
        assert!(TrackInformation::parse(&[0; 20]).is_err());
        assert!(DiscInformation::parse(&[0; 4]).is_err());
    }

    #[test]
    fn hostile_lengths_are_cut_not_trusted() {
        // A descriptor whose length runs past the data length, and a data length past the answer.
        let mut b = vec![0, 0, 0, 200, 0, 0, 0x00, 0x08];
        b.extend_from_slice(&[0, 0, 3, 4, 0, 0x08, 1, 0, 0, 0x1e, 0x09, 255, 0x02]);
        let c = Configuration::parse(&b).unwrap();
        assert_eq!(c.features, vec![feature::PROFILE_LIST, feature::CD_READ]);
        assert_eq!(c.profiles, vec![(0x08, true)]);
        assert_eq!(c.cd_read.map(|r| r.c2_flags), Some(true));
        // A data length under 4 leaves no room for descriptors.
        b[3] = 2;
        assert!(Configuration::parse(&b).unwrap().features.is_empty());
        // Block descriptor length past the end; a page length past the end is cut.
        assert!(ErrorRecoveryPage::parse(&[0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x01, 10, 0, 5]).is_err());
        let p = ErrorRecoveryPage::parse(&[0, 0, 0, 0, 0, 0, 0, 0, 0x01, 250, 0, 7]).unwrap();
        assert_eq!((p.page.len(), p.read_retry_count()), (4, 7));
        assert!(ErrorRecoveryPage::parse(&[0, 0, 0, 0, 0, 0, 0, 0, 0x02, 10, 0, 7]).is_err());
        // A trailing partial descriptor is dropped; short headers are errors.
        let t = Toc::parse(&[0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 9, 0, 0x14]).unwrap();
        assert_eq!(t.entries, vec![TocEntry { track: 1, adr: 1, control: 4, lba: 9 }]);
        assert!(Toc::parse(&[0, 2, 1]).is_err());
        assert_eq!(FullToc::parse(&[0, 2, 1, 1, 1, 0x14, 0, 0xa0]).unwrap().entries, vec![]);
        assert!(SessionInfo::parse(&[0; 11]).is_err());
        // Nine bytes of disc information: the 16-bit counts keep their low byte.
        let d = DiscInformation::parse(&[0, 32, 0x0e, 1, 2, 1, 3, 0, 0x20]).unwrap();
        assert_eq!((d.disc_status, d.last_session_state, d.sessions, d.last_track_last_session), (2, 3, 2, 3));
        assert_eq!(decode_read_cd(&[op::READ_CD, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8, 0]), None);
        assert_eq!(decode_read_cd(&[op::READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8, 0, 0]), None);
        assert_eq!(msf_to_lba(255, 255, 255), (255 * 60 + 255) * 75 + 255 - 150);
        assert_eq!(lba_to_msf(-1000), (0, 0, 0));
    }

    #[test]
    fn cd_text_titles() {
        let mut b = vec![0, 0, 0, 0];
        let mut pack = [0u8; 18];
        pack[0] = cd_text_pack::TITLE;
        pack[4..16].copy_from_slice(b"Album\0Song\0\0");
        b.extend_from_slice(&pack);
        let t = CdText::parse(&b);
        assert_eq!(t.texts(cd_text_pack::TITLE), vec![(0, "Album".into()), (1, "Song".into())]);
    }
}

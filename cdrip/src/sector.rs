//! ECMA-130 (2nd edition, June 1996) 14: CD-ROM sectors.
//!
//! A raw sector is 2352 bytes: a 12-byte sync field, a 4-byte header (the sector's address as BCD minute,
//! second, frame, then the mode byte), and a mode-dependent rest:
//!
//! | mode          | bytes 16..                                                                   |
//! |---------------|------------------------------------------------------------------------------|
//! | 0             | 2336 zero bytes                                                              |
//! | 1             | 2048 user data, 4 EDC, 8 zero, 172 P parity, 104 Q parity                     |
//! | 2 (formless)  | 2336 user data                                                               |
//! | 2 Form 1 (XA) | 8 subheader (4 bytes twice), 2048 user data, 4 EDC, 172 P, 104 Q              |
//! | 2 Form 2 (XA) | 8 subheader, 2324 user data, 4 EDC (0 when not computed)                      |
//!
//! The EDC ([`edc`]) of Mode 1 covers bytes 0..2064, that of Mode 2 bytes 16..2072 (Form 1) or 16..2348
//! (Form 2). The P and Q parities ([`ecc`]) cover bytes 12..2076; for Mode 2 the header is taken as four zero
//! bytes, so that the parities do not depend on the address (CD-ROM XA, "System Description CD-ROM XA" 4.4).
//! Form 1 and Form 2 are told apart by bit 5 of the subheader's submode byte.

pub mod ecc;
pub mod edc;

use std::fmt;
use std::ops::Range;

use crate::error::{Error, Result};

/// Bytes in a raw sector.
pub const RAW_SECTOR_LEN: usize = 2352;
/// Bytes of user data in a Mode 1 or Mode 2 Form 1 sector.
pub const USER_DATA_LEN: usize = 2048;
/// Bytes after the header of a Mode 2 sector (what a `MODE2/2336` track stores per sector).
pub const MODE2_PAYLOAD_LEN: usize = 2336;
/// Bytes of user data in a Mode 2 Form 2 sector.
pub const FORM2_DATA_LEN: usize = 2324;
/// The sync field.
pub const SYNC: [u8; 12] = [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];
/// Frames (sectors) per second.
pub const FRAMES_PER_SECOND: i64 = 75;
/// The address of LBA 0 in frames: MSF 00:02:00, after the 2-second pregap of track 1.
pub const MSF_LBA_OFFSET: i64 = 150;
/// The largest LBA an MSF address can hold (99:59:74).
pub const MAX_LBA: i64 = 100 * 60 * FRAMES_PER_SECOND - 1 - MSF_LBA_OFFSET;

/// A raw sector.
pub type RawSector = [u8; RAW_SECTOR_LEN];

const HEADER: Range<usize> = 12..16;
const MODE_BYTE: usize = 15;
const MODE1_DATA: Range<usize> = 16..2064;
const MODE1_EDC: Range<usize> = 2064..2068;
/// Bytes of a Mode 1 sector up to the end of its EDC: all that [`user_data`] looks at.
pub const MODE1_EDC_END: usize = MODE1_EDC.end;
const MODE1_EDC_COVERS: Range<usize> = 0..2064;
const MODE1_ZERO: Range<usize> = 2068..2076;
const SUBHEADER: Range<usize> = 16..24;
const FORM1_DATA: Range<usize> = 24..2072;
const FORM1_EDC: Range<usize> = 2072..2076;
const FORM1_EDC_COVERS: Range<usize> = 16..2072;
const FORM2_DATA: Range<usize> = 24..2348;
const FORM2_EDC: Range<usize> = 2348..2352;
const FORM2_EDC_COVERS: Range<usize> = 16..2348;
const ECC_BLOCK: Range<usize> = 12..RAW_SECTOR_LEN;
const MODE2_PAYLOAD: Range<usize> = 16..RAW_SECTOR_LEN;
/// Submode bit that marks Form 2.
const SUBMODE_FORM2: u8 = 0x20;

fn part(s: &[u8], r: Range<usize>) -> &[u8] {
    s.get(r).unwrap_or_default()
}

fn part_mut(s: &mut [u8], r: Range<usize>) -> &mut [u8] {
    s.get_mut(r).unwrap_or_default()
}

fn read_u32_le(s: &[u8], r: Range<usize>) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(part(s, r).get(..4).unwrap_or(&[0; 4]));
    u32::from_le_bytes(b)
}

/// A sector address as minute, second, frame (ECMA-130 14.2: "absolute time").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Msf {
    /// 0..=99.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// 0..=74.
    pub frame: u8,
}

fn bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

fn from_bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi < 10 && lo < 10).then(|| hi.saturating_mul(10).saturating_add(lo))
}

impl Msf {
    /// The address of `lba` (LBA 0 is 00:02:00); `None` outside -150..=[`MAX_LBA`].
    pub fn from_lba(lba: i64) -> Option<Msf> {
        let frames = lba.checked_add(MSF_LBA_OFFSET)?;
        if !(0..=MAX_LBA.checked_add(MSF_LBA_OFFSET)?).contains(&frames) {
            return None;
        }
        let minute = u8::try_from(frames.checked_div(60 * FRAMES_PER_SECOND)?).ok()?;
        let second = u8::try_from(frames.checked_div(FRAMES_PER_SECOND)?.checked_rem(60)?).ok()?;
        let frame = u8::try_from(frames.checked_rem(FRAMES_PER_SECOND)?).ok()?;
        Some(Msf { minute, second, frame })
    }

    /// An address counted in frames from 00:00:00 (as a CUE sheet's `INDEX mm:ss:ff` is), checked.
    pub fn from_frames(frames: u64) -> Option<Msf> {
        Msf::from_lba(i64::try_from(frames).ok()?.checked_sub(MSF_LBA_OFFSET)?)
    }

    /// Frames counted from 00:00:00.
    pub fn frames(self) -> i64 {
        // At most 255·4500 + 255·75 + 255: no overflow.
        i64::from(self.minute)
            .wrapping_mul(60 * FRAMES_PER_SECOND)
            .wrapping_add(i64::from(self.second).wrapping_mul(FRAMES_PER_SECOND))
            .wrapping_add(i64::from(self.frame))
    }

    /// The LBA of this address.
    pub fn to_lba(self) -> i64 {
        self.frames().wrapping_sub(MSF_LBA_OFFSET)
    }

    /// The three BCD bytes of a sector header.
    pub fn to_bcd(self) -> [u8; 3] {
        [bcd(self.minute), bcd(self.second), bcd(self.frame)]
    }

    /// Decodes three BCD bytes; `None` when a digit is not decimal or a field is out of range.
    pub fn from_bcd(b: [u8; 3]) -> Option<Msf> {
        let [m, s, f] = b;
        let msf = Msf { minute: from_bcd(m)?, second: from_bcd(s)?, frame: from_bcd(f)? };
        (msf.second < 60 && i64::from(msf.frame) < FRAMES_PER_SECOND).then_some(msf)
    }
}

impl fmt::Display for Msf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.minute, self.second, self.frame)
    }
}

/// What a raw sector holds, from its mode byte and (for Mode 2) its subheader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectorKind {
    /// Mode 0: zeros.
    Mode0,
    /// Mode 1: 2048 bytes with EDC and ECC.
    Mode1,
    /// Mode 2 without the XA subheader: 2336 bytes, no EDC.
    Mode2Formless,
    /// Mode 2 Form 1: 2048 bytes with EDC and ECC.
    Mode2Form1,
    /// Mode 2 Form 2: 2324 bytes, optional EDC.
    Mode2Form2,
}

impl SectorKind {
    /// A short name: `mode 1`, `mode 2 form 1`, ...
    pub fn name(self) -> &'static str {
        match self {
            SectorKind::Mode0 => "mode 0",
            SectorKind::Mode1 => "mode 1",
            SectorKind::Mode2Formless => "mode 2",
            SectorKind::Mode2Form1 => "mode 2 form 1",
            SectorKind::Mode2Form2 => "mode 2 form 2",
        }
    }

    /// Whether the sector carries 2048 bytes of user data protected by EDC and ECC.
    pub fn has_user_data(self) -> bool {
        matches!(self, SectorKind::Mode1 | SectorKind::Mode2Form1)
    }
}

/// Whether a Mode 2 sector's subheader looks like CD-ROM XA: both copies equal.
fn has_xa_subheader(s: &RawSector) -> bool {
    let sub = part(s, SUBHEADER);
    sub.get(..4) == sub.get(4..)
}

/// The kind a sector claims to be, from its mode byte; `None` for a mode byte other than 0, 1, 2.
///
/// A Mode 2 sector with two equal subheader copies is Form 1 or Form 2 by its submode; with differing
/// copies it is taken as formless.
pub fn kind(s: &RawSector) -> Option<SectorKind> {
    match s.get(MODE_BYTE).copied()? {
        0 => Some(SectorKind::Mode0),
        1 => Some(SectorKind::Mode1),
        2 if has_xa_subheader(s) => {
            let submode = s.get(SUBHEADER.start + 2).copied().unwrap_or(0);
            Some(if submode & SUBMODE_FORM2 != 0 { SectorKind::Mode2Form2 } else { SectorKind::Mode2Form1 })
        }
        2 => Some(SectorKind::Mode2Formless),
        _ => None,
    }
}

/// The address in a sector's header, `None` when its BCD is invalid.
pub fn header_lba(s: &RawSector) -> Option<i64> {
    let h = part(s, HEADER);
    let b: [u8; 3] = h.get(..3)?.try_into().ok()?;
    Msf::from_bcd(b).map(Msf::to_lba)
}

/// One failed check of a raw sector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The sync field is not `00 FF×10 00`.
    Sync,
    /// The header holds another address than the sector's position (`found` is `None` when it is not BCD).
    Address {
        /// The LBA of the sector's position in the image.
        expected: i64,
        /// The LBA its header holds.
        found: Option<i64>,
    },
    /// The mode byte is not 0, 1 or 2.
    Mode(u8),
    /// A Mode 0 sector with non-zero bytes.
    Mode0NotZero,
    /// The EDC stored in the sector differs from the one computed over its data.
    Edc {
        /// Stored value.
        stored: u32,
        /// Computed value.
        computed: u32,
    },
    /// Mode 1 intermediate field (bytes 2068..2076) is not zero.
    Intermediate,
    /// The two copies of a Mode 2 subheader differ (a damaged CD-ROM XA sector, or a formless Mode 2 one).
    Subheader,
    /// Some P or Q codewords do not check.
    Ecc(ecc::Syndromes),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Sync => write!(f, "bad sync"),
            Problem::Address { expected, found: Some(found) } => {
                write!(f, "header address LBA {found}, expected {expected}")
            }
            Problem::Address { expected, found: None } => {
                write!(f, "header address not BCD, expected LBA {expected}")
            }
            Problem::Mode(m) => write!(f, "mode byte {m:#04x}"),
            Problem::Mode0NotZero => write!(f, "mode 0 sector not zero"),
            Problem::Edc { stored, computed } => write!(f, "EDC {stored:08x}, computed {computed:08x}"),
            Problem::Intermediate => write!(f, "intermediate field not zero"),
            Problem::Subheader => write!(f, "subheader copies differ"),
            Problem::Ecc(s) => write!(f, "ECC: {} P and {} Q codewords fail", s.p_failing, s.q_failing),
        }
    }
}

/// The result of checking one raw sector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The kind the sector claims to be, when its mode byte is valid.
    pub kind: Option<SectorKind>,
    /// Every failed check, empty for a good sector.
    pub problems: Vec<Problem>,
}

impl Check {
    /// True when nothing failed.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems joined with `, `.
    pub fn describe(&self) -> String {
        self.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// The EDC check of a sector of kind `k`: `None` when it passes or the kind has none.
fn edc_problem(s: &RawSector, k: SectorKind) -> Option<Problem> {
    let (covers, at) = match k {
        SectorKind::Mode1 => (MODE1_EDC_COVERS, MODE1_EDC),
        SectorKind::Mode2Form1 => (FORM1_EDC_COVERS, FORM1_EDC),
        SectorKind::Mode2Form2 => (FORM2_EDC_COVERS, FORM2_EDC),
        SectorKind::Mode0 | SectorKind::Mode2Formless => return None,
    };
    let stored = read_u32_le(s, at);
    if k == SectorKind::Mode2Form2 && stored == 0 {
        // Form 2 EDC is optional; zero means "not computed".
        return None;
    }
    let computed = edc::compute(part(s, covers));
    (stored != computed).then_some(Problem::Edc { stored, computed })
}

/// The ECC block of `s` as the parities see it: for Mode 2 the header reads as zeros.
fn ecc_block(s: &RawSector, k: SectorKind) -> [u8; ecc::BLOCK_LEN] {
    let mut block = [0u8; ecc::BLOCK_LEN];
    block.copy_from_slice(part(s, ECC_BLOCK));
    if k != SectorKind::Mode1 {
        part_mut(&mut block, 0..4).fill(0);
    }
    block
}

/// Checks sync, header (against `expected_lba` when given), mode, EDC and ECC of a raw sector.
pub fn check(s: &RawSector, expected_lba: Option<i64>) -> Check {
    let mut problems = Vec::new();
    if part(s, 0..12) != SYNC {
        problems.push(Problem::Sync);
    }
    if let Some(expected) = expected_lba {
        let found = header_lba(s);
        if found != Some(expected) {
            problems.push(Problem::Address { expected, found });
        }
    }
    let k = kind(s);
    match k {
        None => problems.push(Problem::Mode(s.get(MODE_BYTE).copied().unwrap_or(0))),
        Some(SectorKind::Mode0) => {
            if part(s, MODE2_PAYLOAD).iter().any(|&b| b != 0) {
                problems.push(Problem::Mode0NotZero);
            }
        }
        Some(SectorKind::Mode2Formless) => problems.push(Problem::Subheader),
        Some(k) => {
            problems.extend(edc_problem(s, k));
            if k == SectorKind::Mode1 && part(s, MODE1_ZERO).iter().any(|&b| b != 0) {
                problems.push(Problem::Intermediate);
            }
            if k.has_user_data() {
                let syn = ecc::check(&ecc_block(s, k));
                if !syn.clean() {
                    problems.push(Problem::Ecc(syn));
                }
            }
        }
    }
    Check { kind: k, problems }
}

/// Whether the sector is a Mode 1 or Mode 2 Form 1 sector whose EDC passes.
pub fn edc_ok(s: &RawSector) -> bool {
    match kind(s) {
        Some(k) if k.has_user_data() => edc_problem(s, k).is_none(),
        _ => false,
    }
}

/// Writes sync and header for `lba` and `mode`.
///
/// # Errors
/// [`Error::InvalidArgument`] when `lba` has no MSF address.
pub fn write_header(s: &mut RawSector, lba: i64, mode: u8) -> Result<()> {
    let msf = Msf::from_lba(lba).ok_or_else(|| Error::InvalidArgument(format!("LBA {lba} has no MSF address")))?;
    part_mut(s, 0..12).copy_from_slice(&SYNC);
    let [m, sec, f] = msf.to_bcd();
    part_mut(s, HEADER).copy_from_slice(&[m, sec, f, mode]);
    Ok(())
}

/// Fills in EDC, intermediate field and P/Q parities of a sector whose sync, header, (subheader) and user
/// data are already in place, according to `k`.
pub fn finish(s: &mut RawSector, k: SectorKind) {
    match k {
        SectorKind::Mode1 => {
            let e = edc::compute(part(s, MODE1_EDC_COVERS));
            part_mut(s, MODE1_EDC).copy_from_slice(&e.to_le_bytes());
            part_mut(s, MODE1_ZERO).fill(0);
        }
        SectorKind::Mode2Form1 => {
            let e = edc::compute(part(s, FORM1_EDC_COVERS));
            part_mut(s, FORM1_EDC).copy_from_slice(&e.to_le_bytes());
        }
        SectorKind::Mode2Form2 => {
            let e = edc::compute(part(s, FORM2_EDC_COVERS));
            part_mut(s, FORM2_EDC).copy_from_slice(&e.to_le_bytes());
            return;
        }
        SectorKind::Mode0 | SectorKind::Mode2Formless => return,
    }
    let mut block = ecc_block(s, k);
    ecc::generate(&mut block);
    let parity = ecc::P_OFFSET..ecc::BLOCK_LEN;
    part_mut(s, ECC_BLOCK.start.saturating_add(parity.start)..RAW_SECTOR_LEN).copy_from_slice(part(&block, parity));
}

/// A complete Mode 1 sector at `lba` holding `user`.
///
/// # Errors
/// [`Error::InvalidArgument`] when `lba` has no MSF address.
pub fn encode_mode1(lba: i64, user: &[u8; USER_DATA_LEN]) -> Result<RawSector> {
    let mut s = [0u8; RAW_SECTOR_LEN];
    write_header(&mut s, lba, 1)?;
    part_mut(&mut s, MODE1_DATA).copy_from_slice(user);
    finish(&mut s, SectorKind::Mode1);
    Ok(s)
}

/// A complete Mode 2 Form 1 sector at `lba` with `subheader` (file, channel, submode, coding; recorded
/// twice) holding `user`. Bit 5 of the submode is cleared.
///
/// # Errors
/// [`Error::InvalidArgument`] when `lba` has no MSF address.
pub fn encode_mode2_form1(lba: i64, subheader: [u8; 4], user: &[u8; USER_DATA_LEN]) -> Result<RawSector> {
    let mut s = [0u8; RAW_SECTOR_LEN];
    write_header(&mut s, lba, 2)?;
    let [file, channel, submode, coding] = subheader;
    let sub = [file, channel, submode & !SUBMODE_FORM2, coding];
    part_mut(&mut s, 16..20).copy_from_slice(&sub);
    part_mut(&mut s, 20..24).copy_from_slice(&sub);
    part_mut(&mut s, FORM1_DATA).copy_from_slice(user);
    finish(&mut s, SectorKind::Mode2Form1);
    Ok(s)
}

/// A Mode 2 sector at `lba` from the 2336 bytes a `MODE2/2336` track stores (subheader, data, EDC, ECC as
/// recorded): only sync and header are added.
///
/// # Errors
/// [`Error::InvalidArgument`] when `lba` has no MSF address.
pub fn from_mode2_payload(lba: i64, payload: &[u8; MODE2_PAYLOAD_LEN]) -> Result<RawSector> {
    let mut s = [0u8; RAW_SECTOR_LEN];
    write_header(&mut s, lba, 2)?;
    part_mut(&mut s, MODE2_PAYLOAD).copy_from_slice(payload);
    Ok(s)
}

/// The 2048 bytes of user data of a Mode 1 or Mode 2 Form 1 sector, after checking its EDC.
///
/// # Errors
/// [`Error::BadSector`] (with `lba`) when the sector has another kind or its EDC fails.
pub fn user_data(s: &RawSector, lba: i64) -> Result<&[u8]> {
    let k = kind(s);
    let range = match k {
        Some(SectorKind::Mode1) => MODE1_DATA,
        Some(SectorKind::Mode2Form1) => FORM1_DATA,
        Some(other) => {
            return Err(Error::BadSector { lba, what: format!("{} sector has no 2048-byte user data", other.name()) })
        }
        None => {
            let m = s.get(MODE_BYTE).copied().unwrap_or(0);
            return Err(Error::BadSector { lba, what: format!("mode byte {m:#04x}") });
        }
    };
    if let Some(p) = k.and_then(|k| edc_problem(s, k)) {
        return Err(Error::BadSector { lba, what: p.to_string() });
    }
    Ok(part(s, range))
}

/// The 2324 data bytes of a Mode 2 Form 2 sector (no check: Form 2 has no ECC, and its EDC is optional).
pub fn form2_data(s: &RawSector) -> &[u8] {
    part(s, FORM2_DATA)
}

/// What [`repair`] did to a sector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// EDC and ECC already passed (or the kind has neither); nothing changed.
    NotNeeded,
    /// EDC and ECC pass after correcting `bytes` bytes with P and Q.
    Fixed {
        /// Bytes changed.
        bytes: u32,
        /// The kind the repaired sector has.
        kind: SectorKind,
    },
    /// The damage is beyond what P and Q can correct; the sector is unchanged.
    NotFixable,
}

/// Most P-then-Q rounds tried; each round that changes nothing ends the search earlier.
const MAX_REPAIR_ROUNDS: usize = 16;

/// Tries to correct the sector as kind `k` (Mode 1 or Mode 2 Form 1); returns the repaired copy.
fn repair_as(s: &RawSector, k: SectorKind) -> Option<RawSector> {
    let mut block = ecc_block(s, k);
    for _ in 0..MAX_REPAIR_ROUNDS {
        let p = ecc::correct_p(&mut block);
        let q = ecc::correct_q(&mut block);
        let mut candidate = *s;
        if k == SectorKind::Mode1 {
            part_mut(&mut candidate, ECC_BLOCK).copy_from_slice(&block);
        } else {
            part_mut(&mut candidate, 16..RAW_SECTOR_LEN).copy_from_slice(part(&block, 4..ecc::BLOCK_LEN));
        }
        if kind(&candidate) == Some(k) && edc_problem(&candidate, k).is_none() && ecc::check(&block).clean() {
            return Some(candidate);
        }
        if p.corrected == 0 && q.corrected == 0 {
            return None;
        }
    }
    None
}

/// Corrects a Mode 1 or Mode 2 Form 1 sector whose EDC or ECC fails, with single-byte corrections of its P
/// and Q codewords repeated until the EDC passes and every codeword checks, or no codeword can be corrected.
///
/// The sector is changed only on success. The kind the mode byte claims is tried first, then the other one
/// (a damaged mode byte is within reach of Mode 1's parities, which cover the header); a Mode 2 sector is tried as Form 1 even when its (possibly damaged) submode says Form 2
/// and its Form 2 EDC fails, or when its two subheader copies differ. Sync and the Mode 2 header are not covered by the parities and are left as found.
pub fn repair(s: &mut RawSector) -> Repair {
    let claimed = kind(s);
    let needs = match claimed {
        Some(k @ (SectorKind::Mode1 | SectorKind::Mode2Form1)) => {
            edc_problem(s, k).is_some()
                || !ecc::check(&ecc_block(s, k)).clean()
                || (k == SectorKind::Mode1 && part(s, MODE1_ZERO).iter().any(|&b| b != 0))
        }
        Some(SectorKind::Mode2Form2) => edc_problem(s, SectorKind::Mode2Form2).is_some(),
        Some(SectorKind::Mode2Formless) => true,
        Some(SectorKind::Mode0) => false,
        None => true,
    };
    if !needs {
        return Repair::NotNeeded;
    }
    // The mode byte itself may be the damage: the kind it claims is tried first, then the other one.
    let tries: &[SectorKind] = match claimed {
        Some(SectorKind::Mode1) | None => &[SectorKind::Mode1, SectorKind::Mode2Form1],
        _ => &[SectorKind::Mode2Form1, SectorKind::Mode1],
    };
    for &k in tries {
        if let Some(fixed) = repair_as(s, k) {
            let bytes = s.iter().zip(fixed.iter()).filter(|(a, b)| a != b).count();
            *s = fixed;
            return Repair::Fixed { bytes: u32::try_from(bytes).unwrap_or(u32::MAX), kind: k };
        }
    }
    Repair::NotFixable
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user(seed: u8) -> [u8; USER_DATA_LEN] {
        let mut u = [0u8; USER_DATA_LEN];
        for (i, b) in u.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(seed) ^ ((i >> 8) as u8);
        }
        u
    }

    #[test]
    fn edc_matches_the_catalogued_crc() {
        // An independent implementation: the `crc` crate's CRC-32/CD-ROM-EDC (reveng catalogue, check
        // value 0x6EC2EDC4 over "123456789").
        let reference = crc::Crc::<u32>::new(&crc::CRC_32_CD_ROM_EDC);
        assert_eq!(edc::compute(b"123456789"), 0x6EC2_EDC4);
        let s = encode_mode1(1234, &user(3)).unwrap();
        assert_eq!(edc::compute(&s[..2064]), reference.checksum(&s[..2064]));
        assert_eq!(u32::from_le_bytes(s[2064..2068].try_into().unwrap()), reference.checksum(&s[..2064]));
    }

    #[test]
    fn msf_conversions() {
        assert_eq!(Msf::from_lba(0), Some(Msf { minute: 0, second: 2, frame: 0 }));
        assert_eq!(Msf::from_lba(-150), Some(Msf { minute: 0, second: 0, frame: 0 }));
        assert_eq!(Msf::from_lba(-151), None);
        assert_eq!(Msf::from_lba(MAX_LBA).map(|m| m.to_string()).as_deref(), Some("99:59:74"));
        assert_eq!(Msf::from_lba(MAX_LBA + 1), None);
        assert_eq!(Msf::from_bcd([0x12, 0x34, 0x56]).map(Msf::to_lba), Some((12 * 60 + 34) * 75 + 56 - 150));
        assert_eq!(Msf::from_bcd([0x1A, 0, 0]), None);
        assert_eq!(Msf::from_bcd([0, 0x60, 0]), None);
        for lba in [-150, 0, 1, 74, 75, 4499, 4500, 333_000] {
            let m = Msf::from_lba(lba).unwrap();
            assert_eq!(Msf::from_bcd(m.to_bcd()), Some(m));
            assert_eq!(m.to_lba(), lba);
        }
    }

    #[test]
    fn encoded_sectors_check() {
        let m1 = encode_mode1(16, &user(1)).unwrap();
        assert_eq!(&m1[..12], &SYNC);
        assert_eq!(&m1[12..16], &[0x00, 0x02, 0x16, 0x01]);
        let c = check(&m1, Some(16));
        assert!(c.is_ok(), "{}", c.describe());
        assert_eq!(c.kind, Some(SectorKind::Mode1));
        assert_eq!(user_data(&m1, 16).unwrap(), &user(1)[..]);

        let f1 = encode_mode2_form1(20, [1, 2, 0x08, 0], &user(2)).unwrap();
        let c = check(&f1, Some(20));
        assert!(c.is_ok(), "{}", c.describe());
        assert_eq!(c.kind, Some(SectorKind::Mode2Form1));
        assert_eq!(user_data(&f1, 20).unwrap(), &user(2)[..]);
        // Mode 2 parities do not depend on the header: moving the sector keeps them valid.
        let mut moved = f1;
        write_header(&mut moved, 99, 2).unwrap();
        assert!(check(&moved, Some(99)).is_ok());
        assert_eq!(check(&f1, Some(21)).problems, vec![Problem::Address { expected: 21, found: Some(20) }]);
    }

    #[test]
    fn damage_is_reported() {
        let good = encode_mode1(100, &user(9)).unwrap();
        let mut s = good;
        s[500] ^= 1;
        let c = check(&s, Some(100));
        assert!(matches!(c.problems[..], [Problem::Edc { .. }, Problem::Ecc(_)]), "{:?}", c.problems);
        assert!(user_data(&s, 100).is_err());
        let mut s = good;
        s[3] = 0;
        // The Mode 1 EDC covers the sync field too.
        assert!(matches!(check(&s, None).problems[..], [Problem::Sync, Problem::Edc { .. }]));
        let mut s = good;
        s[2300] ^= 0xFF;
        assert!(matches!(check(&s, None).problems[..], [Problem::Ecc(_)]));
    }

    #[test]
    fn repair_single_and_spread_errors() {
        let good = encode_mode1(777, &user(5)).unwrap();
        assert_eq!(repair(&mut good.clone()), Repair::NotNeeded);
        let mut s = good;
        for pos in [16, 17, 900, 2000, 2065, 2100, 2300, 2351, 15] {
            s[pos] ^= 0xA5;
        }
        let r = repair(&mut s);
        assert!(matches!(r, Repair::Fixed { bytes: 9, kind: SectorKind::Mode1 }), "{r:?}");
        assert_eq!(s, good);

        let f1 = encode_mode2_form1(5, [0, 0, 0x08, 0], &user(6)).unwrap();
        let mut s = f1;
        s[18] ^= 0x20; // submode now claims Form 2
        s[1000] ^= 0x01;
        assert!(matches!(repair(&mut s), Repair::Fixed { bytes: 2, kind: SectorKind::Mode2Form1 }));
        assert_eq!(s, f1);

        // Mode byte 1 turned into 2: the sector now claims to be Mode 2, and is repaired as Mode 1.
        let mut s = good;
        s[15] = 2;
        s[700] ^= 0x40;
        let r = repair(&mut s);
        assert!(matches!(r, Repair::Fixed { bytes: 2, kind: SectorKind::Mode1 }), "{r:?}");
        assert_eq!(s, good);

        // A whole row of data destroyed: beyond one byte per P codeword and per Q codeword.
        let mut s = good;
        for b in &mut s[100..400] {
            *b = !*b;
        }
        let before = s;
        assert_eq!(repair(&mut s), Repair::NotFixable);
        assert_eq!(s, before);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// At most one wrong byte in each P codeword (one per byte column of the 26 × 86 matrix) is always
        /// repaired, and the repair restores the exact sector.
        #[test]
        fn one_error_per_p_codeword_is_repaired(
            lba in 0i64..300_000,
            seed in any::<u8>(),
            errors in proptest::collection::vec((0usize..ecc::P_CODEWORDS, 0usize..ecc::P_LEN, 1u8..=255), 1..40),
        ) {
            let good = encode_mode1(lba, &user(seed)).unwrap();
            let mut s = good;
            let mut used = std::collections::HashSet::new();
            for (col, row, x) in errors {
                if used.insert(col) {
                    s[12 + row * ecc::P_CODEWORDS + col] ^= x;
                }
            }
            let r = repair(&mut s);
            prop_assert!(matches!(r, Repair::Fixed { .. }), "{:?}", r);
            prop_assert!(s == good);
        }

        /// Likewise for one wrong byte per Q codeword, chosen anywhere in the codeword including Q parity.
        #[test]
        fn one_error_per_q_codeword_is_repaired(
            seed in any::<u8>(),
            errors in proptest::collection::vec((0usize..ecc::Q_CODEWORDS, 0usize..ecc::Q_LEN, 1u8..=255), 1..30),
        ) {
            let good = encode_mode2_form1(1000, [0, 0, 0, 0], &user(seed)).unwrap();
            let mut s = good;
            let mut used = std::collections::HashSet::new();
            for (q, m, x) in errors {
                if used.insert(q) {
                    let (n, plane) = (q / 2, q % 2);
                    let byte = if m < 43 {
                        2 * ((43 * n + 44 * m) % 1118) + plane
                    } else {
                        ecc::Q_OFFSET + (m - 43) * 52 + 2 * n + plane
                    };
                    // Bytes 0..4 of the ECC block are the Mode 2 header, which the parities do not protect.
                    if byte >= 4 {
                        s[12 + byte] ^= x;
                    }
                }
            }
            let r = repair(&mut s);
            prop_assert!(matches!(r, Repair::Fixed { .. } | Repair::NotNeeded), "{:?}", r);
            prop_assert!(s == good);
        }
    }
}

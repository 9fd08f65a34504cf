//! A simulated drive: a [`Transport`] answering MMC commands from a disc image held in memory, with a fault
//! model, so the rip is tested without hardware.
//!
//! Faults, per sector ([`Fault`]): a sector that never reads (MEDIUM ERROR 03/11/00 with its LBA), one that reads
//! on the k-th try, one returned with wrong bytes flagged by C2 pointers, one returned with wrong bytes that only
//! its EDC reveals, and a slow one whose commands time out. "Tries" count the commands that touched the sector.
//! Audio tracks carry generated Q subchannel (raw P–W or formatted Q).
//!
//! Audio discs: the Q subchannel carries positions (with the pregaps of [`SimDrive::with_pregap`], index points of
//! [`SimDrive::with_index`], and track 1's pregap when track 1 starts past LBA 0: hidden track one audio), the
//! catalogue number ([`SimDrive::with_mcn`], ADR 2, once in 100 sectors), ISRCs ([`SimDrive::with_isrc`], ADR 3,
//! once in 100 sectors of the track) and the CONTROL bits of [`SimDrive::with_control`] (pre-emphasis, copy
//! permitted, four channels), which the TOC shows too. CD-Text packs (READ TOC format 5) are built as MMC-6 Annex J
//! lays them out, CRCs and size information included ([`crate::cdtext::build_packs`]). A read offset
//! ([`SimDrive::with_read_offset`]) shifts the audio READ CD returns as a real drive does, and the drive may or may
//! not read into the lead-in and lead-out ([`SimDrive::with_overread`]).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::mmc::{lba_to_msf, op, RAW_SECTOR, USER_SECTOR};
use crate::sector::{self, RawSector};
use crate::sense::{fixed_sense, SenseKey};
use crate::transport::{CommandResult, Transport, TransportFailure};

/// What goes wrong with one sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Never reads: MEDIUM ERROR 03/11/00.
    Unreadable,
    /// Fails (03/11/00) on the first `k - 1` tries, reads on the k-th.
    ReadsOnTry(u32),
    /// For its first `tries` tries, READ CD returns wrong bytes and flags them in the C2 pointers; READ(10) fails
    /// with 03/11/05 (L-EC uncorrectable).
    C2Wrong {
        /// Tries during which the fault holds.
        tries: u32,
    },
    /// For its first `tries` tries, wrong bytes without any C2 flag: only the EDC can tell (READ(10) returns the
    /// wrong user data).
    SilentWrong {
        /// Tries during which the fault holds.
        tries: u32,
    },
    /// For its first `tries` tries, commands touching it time out.
    Slow {
        /// Tries during which the fault holds.
        tries: u32,
    },
    /// An unstable audio sector: for its first `tries` tries, READ CD returns it with other wrong bytes each time
    /// and no C2 flag (as [`Fault::SilentWrong`]); only comparing two reads tells.
    Unstable {
        /// Tries during which the fault holds.
        tries: u32,
    },
}

/// Sectors past the lead-out (and before LBA 0) a drive that overreads returns.
pub const OVERREAD_SECTORS: u32 = 100;

/// One track of the simulated disc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimTrack {
    /// First LBA (INDEX 01).
    pub start: u32,
    /// Audio (else Mode 1 data).
    pub audio: bool,
}

/// The simulated drive.
#[derive(Debug, Clone)]
pub struct SimDrive {
    sectors: Vec<RawSector>,
    tracks: Vec<SimTrack>,
    faults: BTreeMap<u32, Fault>,
    touches: BTreeMap<u32, u32>,
    read_cd: bool,
    c2: bool,
    zero_edc: bool,
    commands: Vec<u8>,
    /// Read retry count of the error recovery page, and whether MODE SELECT may change it.
    retry_count: u8,
    mode_select: bool,
    /// The retry count in effect at each read command.
    read_retries: Vec<u8>,
    /// Sectors of INDEX 00 before INDEX 01 (the track's start), by track number, in the Q subchannel.
    pregaps: BTreeMap<u8, u32>,
    /// A second session: its first track's number and the first session's lead-out LBA.
    session2: Option<(u8, u32)>,
    /// CONTROL bits (pre-emphasis, copy, four channels) added to a track's, by track number.
    controls: BTreeMap<u8, u8>,
    /// ISRCs by track number.
    isrcs: BTreeMap<u8, String>,
    /// The catalogue number.
    mcn: Option<String>,
    /// Index points from 2 on: (track number, index) → first LBA.
    indexes: BTreeMap<(u8, u8), u32>,
    /// CD-Text strings by pack type, from track 0 (the disc).
    texts: Vec<(u8, Vec<String>)>,
    /// Packs to answer READ TOC format 5 with instead of those built from `texts`.
    raw_packs: Option<Vec<[u8; 18]>>,
    /// The drive's read offset in samples (AccurateRip's sign: +N returns audio N samples early).
    read_offset: i32,
    /// Whether READ CD reads before LBA 0 and past the lead-out.
    overread: (bool, bool),
}

const VENDOR: &[u8; 8] = b"ODIXSIM ";
const PRODUCT: &[u8; 16] = b"Simulated CD    ";
const REVISION: &[u8; 4] = b"1.00";

impl SimDrive {
    /// A disc with one Mode 1 track holding `iso` (padded to whole 2048-byte sectors).
    #[must_use]
    pub fn from_cooked(iso: &[u8]) -> Self {
        let sectors = iso
            .chunks(USER_SECTOR)
            .zip(0u32..)
            .map(|(c, lba)| {
                let mut user = [0u8; USER_SECTOR];
                put(&mut user, c);
                sector::encode_mode1(i64::from(lba), &user).unwrap_or([0; RAW_SECTOR])
            })
            .collect();
        Self::from_raw(sectors, vec![SimTrack { start: 0, audio: false }])
    }

    /// A disc of raw sectors from LBA 0 with `tracks` (sorted by start, the first at 0).
    #[must_use]
    pub fn from_raw(sectors: Vec<RawSector>, tracks: Vec<SimTrack>) -> Self {
        Self {
            sectors,
            tracks,
            faults: BTreeMap::new(),
            touches: BTreeMap::new(),
            read_cd: true,
            c2: true,
            zero_edc: false,
            commands: Vec::new(),
            retry_count: 5,
            mode_select: true,
            read_retries: Vec::new(),
            pregaps: BTreeMap::new(),
            session2: None,
            controls: BTreeMap::new(),
            isrcs: BTreeMap::new(),
            mcn: None,
            indexes: BTreeMap::new(),
            texts: Vec::new(),
            raw_packs: None,
            read_offset: 0,
            overread: (false, false),
        }
    }

    /// A disc of audio `pcm` (16-bit little-endian stereo samples, padded to whole 2352-byte sectors) with tracks
    /// starting at `starts` (sectors, the first usually 0).
    #[must_use]
    pub fn from_audio(pcm: &[u8], starts: &[u32]) -> Self {
        let sectors = pcm
            .chunks(RAW_SECTOR)
            .map(|c| {
                let mut s = [0u8; RAW_SECTOR];
                put(&mut s, c);
                s
            })
            .collect();
        Self::from_raw(sectors, starts.iter().map(|&start| SimTrack { start, audio: true }).collect())
    }

    /// Adds CONTROL bits to track `number` (1 pre-emphasis, 2 digital copy permitted, 8 four channels), in the TOC
    /// and the Q subchannel.
    #[must_use]
    pub fn with_control(mut self, number: u8, bits: u8) -> Self {
        self.controls.insert(number, bits & 0x0b);
        self
    }

    /// Gives track `number` an ISRC (12 characters) in the Q subchannel.
    #[must_use]
    pub fn with_isrc(mut self, number: u8, isrc: &str) -> Self {
        self.isrcs.insert(number, isrc.to_string());
        self
    }

    /// Gives the disc a catalogue number (13 digits) in the Q subchannel.
    #[must_use]
    pub fn with_mcn(mut self, mcn: &str) -> Self {
        self.mcn = Some(mcn.to_string());
        self
    }

    /// Starts index `index` (2 or more) of track `number` at `lba`.
    #[must_use]
    pub fn with_index(mut self, number: u8, index: u8, lba: u32) -> Self {
        self.indexes.insert((number, index), lba);
        self
    }

    /// Makes the drive return audio shifted by `samples` (AccurateRip's sign: a drive of offset +N returns, for a
    /// sector, the audio that starts N samples before it).
    #[must_use]
    pub fn with_read_offset(mut self, samples: i32) -> Self {
        self.read_offset = samples;
        self
    }

    /// Lets READ CD read up to [`OVERREAD_SECTORS`] before LBA 0 (`lead_in`, negative LBAs) and past the lead-out
    /// (`lead_out`): silence there. Without, such reads fail with 05/21/00, as most drives answer.
    #[must_use]
    pub fn with_overread(mut self, lead_in: bool, lead_out: bool) -> Self {
        self.overread = (lead_in, lead_out);
        self
    }

    /// Answers READ TOC format 5 with `packs` as they are (for hostile CD-Text).
    #[must_use]
    pub fn with_cd_text_packs(mut self, packs: Vec<[u8; 18]>) -> Self {
        self.raw_packs = Some(packs);
        self
    }

    /// The CD-Text packs READ TOC format 5 answers with.
    #[must_use]
    pub fn cd_text_packs(&self) -> Vec<[u8; 18]> {
        match &self.raw_packs {
            Some(p) => p.clone(),
            None if self.texts.is_empty() => Vec::new(),
            None => crate::cdtext::build_packs(&self.texts, 0x09),
        }
    }

    /// Makes the tracks from number `first_track` on a second session, the first one ending with its lead-out at
    /// `lead_out_1` (in the full TOC and the session information; the sectors between stay as given, and the
    /// caller makes them unreadable with faults, as the lead-out and lead-in areas are).
    #[must_use]
    pub fn with_second_session(mut self, first_track: u8, lead_out_1: u32) -> Self {
        self.session2 = Some((first_track, lead_out_1));
        self
    }

    /// Makes the last `sectors` sectors before track `number`'s start its pregap in the Q subchannel (track
    /// `number`, index 0), which READ TOC does not show.
    #[must_use]
    pub fn with_pregap(mut self, number: u8, sectors: u32) -> Self {
        self.pregaps.insert(number, sectors);
        self
    }

    /// Makes MODE SELECT unsupported (05/20/00), as QEMU's ide-cd.
    #[must_use]
    pub fn without_mode_select(mut self) -> Self {
        self.mode_select = false;
        self
    }

    /// The read retry count of the error recovery page now.
    #[must_use]
    pub fn read_retry_count(&self) -> u8 {
        self.retry_count
    }

    /// The read retry count in effect at each read command so far.
    #[must_use]
    pub fn read_retries(&self) -> &[u8] {
        &self.read_retries
    }

    /// Adds a fault on `lba`.
    #[must_use]
    pub fn with_fault(mut self, lba: u32, fault: Fault) -> Self {
        self.faults.insert(lba, fault);
        self
    }

    /// Makes READ CD unsupported (05/20/00), as QEMU's scsi-cd.
    #[must_use]
    pub fn without_read_cd(mut self) -> Self {
        self.read_cd = false;
        self
    }

    /// Makes the drive not report C2 pointers (CD Read feature without C2; C2 bytes come back zero).
    #[must_use]
    pub fn without_c2(mut self) -> Self {
        self.c2 = false;
        self
    }

    /// Makes READ CD return data sectors with EDC and ECC zeroed, as QEMU's ide-cd.
    #[must_use]
    pub fn with_zeroed_edc(mut self) -> Self {
        self.zero_edc = true;
        self
    }

    /// Gives the disc CD-TEXT of one pack type (`kind`): one string per track, from track 0 (the disc), stored as
    /// 18-byte packs with their CRCs and the block's size information (READ TOC format 5).
    #[must_use]
    pub fn with_cd_text(mut self, kind: u8, texts: &[&str]) -> Self {
        self.texts.push((kind, texts.iter().map(|t| (*t).to_string()).collect()));
        self
    }

    /// Commands that touched `lba`.
    #[must_use]
    pub fn touches(&self, lba: u32) -> u32 {
        self.touches.get(&lba).copied().unwrap_or(0)
    }

    /// Opcodes received, in order.
    #[must_use]
    pub fn commands(&self) -> &[u8] {
        &self.commands
    }

    /// The raw sector at `lba` as on the disc.
    #[must_use]
    pub fn sector(&self, lba: u32) -> Option<&RawSector> {
        self.sectors.get(lba as usize)
    }

    fn track_index(&self, lba: u32) -> usize {
        self.tracks.iter().rposition(|t| t.start <= lba).unwrap_or(0)
    }

    fn is_audio(&self, lba: u32) -> bool {
        self.tracks.get(self.track_index(lba)).is_some_and(|t| t.audio)
    }

    /// The track (index into `tracks`) and index of `lba` in the Q subchannel.
    fn position(&self, lba: u32) -> (usize, u8) {
        let i = self.track_index(lba);
        let next = i.saturating_add(1);
        if let (Some(t), Some(n)) = (self.tracks.get(next), u8::try_from(next.saturating_add(1)).ok()) {
            if self.pregaps.get(&n).is_some_and(|p| lba >= t.start.saturating_sub(*p)) {
                return (next, 0);
            }
        }
        let Some(t) = self.tracks.get(i) else { return (i, 1) };
        if lba < t.start {
            // Before track 1's INDEX 01: its pregap (hidden track one audio when it holds sound).
            return (i, 0);
        }
        let number = u8::try_from(next).unwrap_or(u8::MAX);
        let index =
            self.indexes.range((number, 2)..=(number, u8::MAX)).filter(|(_, &at)| at <= lba).map(|(k, _)| k.1).max();
        (i, index.unwrap_or(1))
    }

    /// The CONTROL nibble of track `i` (index into `tracks`).
    fn control(&self, i: usize) -> u8 {
        let audio = self.tracks.get(i).is_some_and(|t| t.audio);
        let number = u8::try_from(i.saturating_add(1)).unwrap_or(u8::MAX);
        (if audio { 0 } else { 4 }) | self.controls.get(&number).copied().unwrap_or(0)
    }

    /// The Q subchannel (12 bytes, CRC included) of `lba` (ECMA-130 22.3.3): the catalogue number at sectors 10
    /// modulo 100 when the disc has one, the ISRC at sectors 60 modulo 100 of an audio track that has one, else
    /// mode 1 position data.
    #[must_use]
    pub fn q_subchannel(&self, lba: u32) -> [u8; 12] {
        let (i, index) = self.position(lba);
        let number = u8::try_from(i.saturating_add(1)).unwrap_or(99);
        let control = self.control(i);
        let aframe = (lba.saturating_add(150) % 75) as u8;
        if lba % 100 == 10 {
            if let Some(q) = self.mcn.as_deref().and_then(|m| crate::subq::encode_mcn(control, m, aframe)) {
                return q;
            }
        }
        if lba % 100 == 60 && index >= 1 && control & 4 == 0 {
            if let Some(q) = self.isrcs.get(&number).and_then(|m| crate::subq::encode_isrc(control, m, aframe)) {
                return q;
            }
        }
        let t = self.tracks.get(i).copied().unwrap_or(SimTrack { start: 0, audio: false });
        let bcd = crate::subq::to_bcd;
        // Relative time counts down through a pregap and up from INDEX 01.
        let rel = i64::from(lba).saturating_sub(i64::from(t.start)).abs();
        let (rm, rs, rf) = lba_to_msf(rel.saturating_sub(150));
        let (am, as_, af) = lba_to_msf(i64::from(lba));
        let mut q = [
            (control << 4) | 1,
            bcd(number),
            bcd(index),
            bcd(rm),
            bcd(rs),
            bcd(rf),
            0,
            bcd(am),
            bcd(as_),
            bcd(af),
            0,
            0,
        ];
        crate::subq::seal(&mut q);
        q
    }

    /// The 96 raw P–W subchannel bytes of `lba`: one bit of each channel per byte (P in bit 7, Q in bit 6), P and
    /// R–W zero.
    #[must_use]
    pub fn raw_subchannel(&self, lba: u32) -> [u8; 96] {
        let q = self.q_subchannel(lba);
        let mut out = [0u8; 96];
        for (i, b) in out.iter_mut().enumerate() {
            if q.get(i / 8).is_some_and(|q| q & (0x80 >> (i % 8)) != 0) {
                *b |= 0x40;
            }
        }
        out
    }

    fn medium_error(lba: u32, ascq: u8) -> CommandResult {
        CommandResult::check_condition(fixed_sense(SenseKey::MediumError, 0x11, ascq, Some(lba)))
    }

    fn illegal(asc: u8) -> CommandResult {
        CommandResult::check_condition(fixed_sense(SenseKey::IllegalRequest, asc, 0, None))
    }

    /// A copy of `lba` with wrong bytes, different on each try, and the byte positions changed.
    fn corrupt(&self, lba: u32, try_no: u32) -> (RawSector, Vec<usize>) {
        let mut s = self.raw(lba);
        let positions = corrupt_bytes(&mut s, try_no);
        (s, positions)
    }

    /// The 2352 bytes READ CD returns for the sector at `lba` (negative: the lead-in): as on the disc, or for audio
    /// shifted by the read offset, taken from the disc's byte stream (silence outside it).
    fn main_channel(&self, lba: i64) -> RawSector {
        let audio = match u32::try_from(lba) {
            Ok(l) if (l as usize) < self.sectors.len() => self.is_audio(l),
            Ok(_) => self.tracks.last().is_some_and(|t| t.audio),
            Err(_) => self.tracks.first().is_some_and(|t| t.audio),
        };
        let sector_at = |n: i64| -> RawSector {
            usize::try_from(n).ok().and_then(|n| self.sectors.get(n)).copied().unwrap_or([0; RAW_SECTOR])
        };
        if !audio || self.read_offset == 0 {
            return sector_at(lba);
        }
        // Offset +N: the sector's bytes start N samples (4 bytes each) earlier in the stream.
        let per = RAW_SECTOR as i64;
        let from = lba.saturating_mul(per).saturating_sub(i64::from(self.read_offset).saturating_mul(4));
        let (first, skip) = (from.div_euclid(per), from.rem_euclid(per) as usize);
        let (a, b) = (sector_at(first), sector_at(first.saturating_add(1)));
        let mut out = [0u8; RAW_SECTOR];
        let (head, tail) = out.split_at_mut(RAW_SECTOR.saturating_sub(skip));
        head.copy_from_slice(a.get(skip..).unwrap_or_default());
        tail.copy_from_slice(b.get(..skip).unwrap_or_default());
        out
    }

    /// The sector at `lba` as on the disc, zero past the end.
    fn raw(&self, lba: u32) -> RawSector {
        self.sectors.get(lba as usize).copied().unwrap_or([0; RAW_SECTOR])
    }

    /// The LBA after a read of `count` sectors from `lba`, when all of them are on the disc.
    fn read_end(&self, lba: u32, count: u32) -> Option<u32> {
        lba.checked_add(count).filter(|&end| end as usize <= self.sectors.len())
    }

    /// Touches the sectors of a read and returns the failure the first faulty one causes, if any, and the sectors
    /// returned wrong (with their try number and whether C2 flags them).
    fn touch(&mut self, lba: u32, count: u32, cooked: bool) -> Result<Vec<(u32, u32, bool)>, CommandResult> {
        let mut wrong = Vec::new();
        let mut failure: Option<CommandResult> = None;
        for l in lba..lba.saturating_add(count) {
            let n = self.touches.entry(l).or_insert(0);
            *n = n.saturating_add(1);
            let try_no = *n;
            let Some(fault) = self.faults.get(&l).copied() else { continue };
            let f = match fault {
                Fault::Unreadable => Some(Self::medium_error(l, 0)),
                Fault::ReadsOnTry(k) if try_no < k => Some(Self::medium_error(l, 0)),
                Fault::Slow { tries } if try_no <= tries => Some(CommandResult::failed(TransportFailure::Timeout)),
                Fault::C2Wrong { tries } if try_no <= tries => {
                    if cooked {
                        Some(Self::medium_error(l, 5))
                    } else {
                        wrong.push((l, try_no, self.c2));
                        None
                    }
                }
                Fault::SilentWrong { tries } | Fault::Unstable { tries } if try_no <= tries => {
                    wrong.push((l, try_no, false));
                    None
                }
                _ => None,
            };
            if failure.is_none() {
                failure = f;
            }
        }
        failure.map_or(Ok(wrong), Err)
    }

    fn read_blocks(&mut self, lba: u32, count: u32, data: &mut [u8]) -> CommandResult {
        let Some(end) = self.read_end(lba, count) else { return Self::illegal(0x21) };
        if (lba..end).any(|l| self.is_audio(l)) {
            return Self::illegal(0x64);
        }
        let wrong = match self.touch(lba, count, true) {
            Ok(w) => w,
            Err(e) => return e,
        };
        for (out, l) in data.chunks_exact_mut(USER_SECTOR).zip(lba..end) {
            let s = match wrong.iter().find(|w| w.0 == l) {
                Some(&(_, try_no, _)) => self.corrupt(l, try_no).0,
                None => self.raw(l),
            };
            put(out, user_data(&s));
        }
        CommandResult::good((count as usize).saturating_mul(USER_SECTOR).min(data.len()))
    }

    fn read_cd(&mut self, cdb: &[u8], data: &mut [u8]) -> CommandResult {
        if !self.read_cd {
            return Self::illegal(0x20);
        }
        let Some((lba, count, fields)) = crate::mmc::decode_read_cd(cdb) else { return Self::illegal(0x24) };
        // The LBA field is signed: the lead-in lies before 0.
        let first = i64::from(lba as i32);
        let end = first.saturating_add(i64::from(count));
        let disc_end = self.sectors.len() as i64;
        let low = if self.overread.0 { 0i64.saturating_sub(i64::from(OVERREAD_SECTORS)) } else { 0 };
        let high = disc_end.saturating_add(if self.overread.1 { i64::from(OVERREAD_SECTORS) } else { 0 });
        if first < low || end > high {
            return Self::illegal(0x21);
        }
        // Faults touch the sectors on the disc.
        let (on_from, on_to) = (first.clamp(0, disc_end) as u32, end.clamp(0, disc_end) as u32);
        let wrong = match self.touch(on_from, on_to.saturating_sub(on_from), false) {
            Ok(w) => w,
            Err(e) => return e,
        };
        let per = fields.bytes_per_sector();
        let main_len = if fields.raw { RAW_SECTOR } else { USER_SECTOR };
        for (out, at) in data.chunks_exact_mut(per.max(1)).zip(first..end) {
            let l = u32::try_from(at).unwrap_or(0);
            let mut s = self.main_channel(at);
            let flagged = match wrong.iter().find(|w| i64::from(w.0) == at) {
                Some(&(_, try_no, c2)) => {
                    let pos = corrupt_bytes(&mut s, try_no);
                    if c2 {
                        pos
                    } else {
                        Vec::new()
                    }
                }
                None => Vec::new(),
            };
            let (main, rest) = out.split_at_mut(main_len.min(out.len()));
            if fields.raw {
                put(main, &s);
                if self.zero_edc && !self.is_audio(l) {
                    // EDC, intermediate and ECC fields of a Mode 1 sector: bytes 2064 to the end.
                    if let Some(edc) = main.get_mut(16 + USER_SECTOR..) {
                        edc.fill(0);
                    }
                }
            } else {
                put(main, user_data(&s));
            }
            let (c2, sub) = rest.split_at_mut(fields.c2.bytes().min(rest.len()));
            c2.fill(0);
            for p in flagged {
                if let Some(b) = c2.get_mut(p / 8) {
                    *b |= 0x80 >> (p % 8);
                }
            }
            // With the block error byte: the OR of the 294 pointer bytes, then a pad byte.
            if let [pointers @ .., block, _] = c2 {
                if pointers.len() == 294 {
                    *block = pointers.iter().fold(0, |a, b| a | b);
                }
            }
            match sub.len() {
                96 => drop(put(sub, &self.raw_subchannel(l))),
                16 => {
                    sub.fill(0);
                    put(sub, &self.q_subchannel(l));
                }
                _ => {}
            }
        }
        CommandResult::good((count as usize).saturating_mul(per).min(data.len()))
    }

    fn toc(&self, format: u8, data: &mut [u8]) -> CommandResult {
        let lead_out = self.sectors.len() as u32;
        let tracks = u8::try_from(self.tracks.len()).unwrap_or(u8::MAX);
        // First and last track (or session), then the descriptors.
        let (mut first, mut last) = (1u8, tracks);
        let mut body = Vec::new();
        match format {
            0 => {
                for (t, no) in self.tracks.iter().zip(1u8..) {
                    let c = 0x10 | self.control(usize::from(no.saturating_sub(1)));
                    body.extend_from_slice(&[0, c, no, 0]);
                    body.extend_from_slice(&t.start.to_be_bytes());
                }
                body.extend_from_slice(&[0, 0x14, 0xaa, 0]);
                body.extend_from_slice(&lead_out.to_be_bytes());
            }
            1 => {
                let (last_session, first_track) = self.session2.map_or((1, 1), |(n, _)| (2, n));
                let start = self.tracks.get(usize::from(first_track.saturating_sub(1))).map_or(0, |t| t.start);
                (first, last) = (1, last_session);
                body.extend_from_slice(&[0, 0x14, first_track, 0]);
                body.extend_from_slice(&start.to_be_bytes());
            }
            2 => {
                let (s2_first, lead_out_1) = self.session2.unwrap_or((tracks.saturating_add(1), lead_out));
                let sessions = [(1u8, 1u8, s2_first.saturating_sub(1), lead_out_1), (2, s2_first, tracks, lead_out)];
                let count: u8 = if self.session2.is_some() { 2 } else { 1 };
                (first, last) = (1, count);
                for &(session, a0, a1, a2) in sessions.iter().take(usize::from(count)) {
                    let mut push = |ctrl: u8, point: u8, p: (u8, u8, u8)| {
                        body.extend_from_slice(&[session, 0x10 | ctrl, 0, point, 0, 0, 0, 0, p.0, p.1, p.2]);
                    };
                    push(4, 0xa0, (a0, 0, 0));
                    push(4, 0xa1, (a1, 0, 0));
                    push(4, 0xa2, lba_to_msf(i64::from(a2)));
                    for (t, no) in self.tracks.iter().zip(1u8..).filter(|(_, no)| (a0..=a1).contains(no)) {
                        push(self.control(usize::from(no.saturating_sub(1))), no, lba_to_msf(i64::from(t.start)));
                    }
                }
            }
            5 if self.raw_packs.is_some() || !self.texts.is_empty() => {
                (first, last) = (0, 0);
                for p in self.cd_text_packs() {
                    body.extend_from_slice(&p);
                }
            }
            _ => return Self::illegal(0x24),
        }
        let len = u16::try_from(body.len().saturating_add(2)).unwrap_or(u16::MAX);
        let mut out = len.to_be_bytes().to_vec();
        out.extend_from_slice(&[first, last]);
        out.extend_from_slice(&body);
        CommandResult::good(put(data, &out))
    }

    fn answer(&mut self, cdb: &[u8], data: &mut [u8]) -> CommandResult {
        let fill = |data: &mut [u8], b: &[u8]| CommandResult::good(put(data, b));
        let byte = |i: usize| cdb.get(i).copied().unwrap_or(0);
        match byte(0) {
            op::TEST_UNIT_READY | op::SET_CD_SPEED => CommandResult::good(0),
            op::INQUIRY => {
                // Peripheral type 5 (CD/DVD), removable, additional length 31; vendor, product, revision.
                let mut b = vec![0x05, 0x80, 0, 0, 31, 0, 0, 0];
                b.extend_from_slice(VENDOR);
                b.extend_from_slice(PRODUCT);
                b.extend_from_slice(REVISION);
                fill(data, &b)
            }
            op::REQUEST_SENSE => fill(data, &fixed_sense(SenseKey::NoSense, 0, 0, None)),
            op::READ_CAPACITY => {
                let mut b = (self.sectors.len() as u32).saturating_sub(1).to_be_bytes().to_vec();
                b.extend_from_slice(&2048u32.to_be_bytes());
                fill(data, &b)
            }
            op::READ_TOC => self.toc(byte(2) & 0x0f, data),
            op::GET_CONFIGURATION => {
                // Header (data length, current profile 0008h CD-ROM), Profile List, Core, CD Read.
                let features: [u8; 16] =
                    [0, 0, 3, 4, 0, 0x08, 1, 0, 0, 0x1e, 0x09, 4, 0x81 | if self.c2 { 0x02 } else { 0 }, 0, 0, 0];
                let mut b = (features.len() as u32).saturating_add(4).to_be_bytes().to_vec();
                b.extend_from_slice(&[0, 0, 0, 0x08]);
                b.extend_from_slice(&features);
                fill(data, &b)
            }
            op::READ_DISC_INFORMATION => {
                let tracks = u8::try_from(self.tracks.len()).unwrap_or(u8::MAX);
                let mut b = vec![0, 32, 0x0e, 1, 1, 1, tracks];
                b.resize(34, 0);
                fill(data, &b)
            }
            op::READ_TRACK_INFORMATION => {
                let n = be32(cdb, 2) as usize;
                let Some(t) = n.checked_sub(1).and_then(|i| self.tracks.get(i)) else { return Self::illegal(0x24) };
                let end = self.tracks.get(n).map_or(self.sectors.len() as u32, |x| x.start);
                let (mode, data_mode) = if t.audio { (0, 0) } else { (4, 1) };
                // Bytes 8..12 the track start, 24..28 its size.
                let mut b = vec![0, 46, n as u8, 1, 0, mode, data_mode, 0];
                b.extend_from_slice(&t.start.to_be_bytes());
                b.resize(24, 0);
                b.extend_from_slice(&end.saturating_sub(t.start).to_be_bytes());
                b.resize(48, 0);
                fill(data, &b)
            }
            op::MODE_SENSE_10 if byte(2) & 0x3f == 0x01 => {
                let mut b = vec![0u8, 18, 0, 0, 0, 0, 0, 0];
                b.extend_from_slice(&[0x81, 10, 0x20, self.retry_count, 0, 0, 0, 0, 5, 0, 0, 0]);
                fill(data, &b)
            }
            op::READ_10 => {
                let count = u32::from(u16::from_be_bytes([byte(7), byte(8)]));
                self.read_blocks(be32(cdb, 2), count, data)
            }
            op::READ_12 => self.read_blocks(be32(cdb, 2), be32(cdb, 6), data),
            op::READ_CD => self.read_cd(cdb, data),
            _ => Self::illegal(0x20),
        }
    }
}

/// Flips bytes of `s` at positions that depend on `try_no`; returns them.
fn corrupt_bytes(s: &mut RawSector, try_no: u32) -> Vec<usize> {
    let positions: Vec<usize> = (0..4usize)
        .map(|k| (try_no as usize).wrapping_mul(37).wrapping_add(k.wrapping_mul(401)) % 1900)
        .map(|p| p.wrapping_add(100))
        .collect();
    for &p in &positions {
        if let Some(b) = s.get_mut(p) {
            *b ^= 0x5a;
        }
    }
    positions
}

/// Copies what fits of `src` to the start of `dst`; returns the number of bytes copied.
fn put(dst: &mut [u8], src: &[u8]) -> usize {
    let n = src.len().min(dst.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

/// The 2048 user data bytes of a Mode 1 sector.
fn user_data(s: &RawSector) -> &[u8] {
    s.get(16..16 + USER_SECTOR).unwrap_or_default()
}

/// The big-endian 32-bit value at `at` of a CDB (0 past its end).
fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at.saturating_add(4)).and_then(|s| <[u8; 4]>::try_from(s).ok()).map_or(0, u32::from_be_bytes)
}

impl Transport for SimDrive {
    fn execute(&mut self, cdb: &[u8], data_in: &mut [u8], _timeout: Duration) -> std::io::Result<CommandResult> {
        if cdb.len() < 6 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "CDB shorter than 6 bytes"));
        }
        self.commands.push(cdb.first().copied().unwrap_or(0));
        if matches!(cdb.first(), Some(&(op::READ_10 | op::READ_12 | op::READ_CD))) {
            self.read_retries.push(self.retry_count);
        }
        Ok(self.answer(cdb, data_in))
    }

    fn execute_out(&mut self, cdb: &[u8], data_out: &[u8], _timeout: Duration) -> std::io::Result<CommandResult> {
        self.commands.push(cdb.first().copied().unwrap_or(0));
        Ok(match cdb.first() {
            // Header (8 bytes), then page 01h, whose byte 3 is the read retry count.
            Some(&op::MODE_SELECT_10) if self.mode_select => match data_out.get(11) {
                Some(&n) if data_out.get(8).map(|p| p & 0x3f) == Some(0x01) => {
                    self.retry_count = n;
                    CommandResult::good(0)
                }
                _ => Self::illegal(0x26),
            },
            _ => Self::illegal(0x20),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disc::Disc;
    use crate::drive::{unreadable_raw_sector, DriveSource, ReadMode};
    use crate::map::BlockStatus;
    use crate::mmc::{C2Mode, Drive, ReadCdFields, Subchannel};
    use crate::rip::{run, Options, Ripper, Sink, Write};

    const N: u32 = 300;

    fn iso() -> Vec<u8> {
        (0..N as usize * USER_SECTOR).map(|i| (i / USER_SECTOR) as u8 ^ (i * 7) as u8).collect()
    }

    /// An image in memory, as the CLI's file sink writes it.
    struct Image {
        bytes: Vec<u8>,
        sub: Vec<u8>,
        sector: usize,
        filler: fn(u32) -> Vec<u8>,
    }

    impl Sink for Image {
        fn write(&mut self, w: &Write) -> std::io::Result<()> {
            let at = w.lba as usize * self.sector;
            self.bytes[at..at + self.sector].copy_from_slice(&w.data);
            if let Some(s) = &w.sub {
                let at = w.lba as usize * 96;
                self.sub[at..at + 96].copy_from_slice(s);
            }
            Ok(())
        }
        fn fill_unreadable(&mut self, lba: u32) -> std::io::Result<()> {
            let at = lba as usize * self.sector;
            if self.bytes[at..at + self.sector].iter().all(|&b| b == 0) {
                self.bytes[at..at + self.sector].copy_from_slice(&(self.filler)(lba));
            }
            Ok(())
        }
        fn checkpoint(&mut self, _: &Ripper, _: bool) -> std::io::Result<()> {
            Ok(())
        }
    }

    struct Result {
        image: Vec<u8>,
        sub: Vec<u8>,
        ripper: Ripper,
        sim: SimDrive,
        notes: Vec<String>,
    }

    fn rip(sim: SimDrive, mode: ReadMode, opts: Options) -> Result {
        let mut drive = Drive::new(sim, Duration::from_secs(5));
        let toc = drive.read_toc().unwrap();
        let disc = Disc::from_toc(&toc, None, &mut |_| Some(1)).unwrap();
        let sectors = disc.lead_out();
        let ss = mode.sector_size() as usize;
        let mut sink = Image {
            bytes: vec![0; sectors as usize * ss],
            sub: vec![0; sectors as usize * 96],
            sector: ss,
            filler: if ss == RAW_SECTOR { |l| unreadable_raw_sector(l, false, 1) } else { |_| vec![0; USER_SECTOR] },
        };
        let mut ripper = Ripper::new(sectors, mode.sector_size(), None, opts).unwrap();
        let notes = {
            let mut src = DriveSource::new(&mut drive, mode, Some(&disc));
            src.probe(0);
            run(&mut ripper, &mut src, &mut sink).unwrap();
            src.notes().to_vec()
        };
        let sim = std::mem::replace(drive.transport_mut(), SimDrive::from_cooked(&[]));
        Result { image: sink.bytes, sub: sink.sub, ripper, sim, notes }
    }

    fn raw() -> ReadMode {
        ReadMode::Raw { c2: C2Mode::Pointers, subchannel: Subchannel::None }
    }

    fn raw_image(sim: &SimDrive) -> Vec<u8> {
        (0..N).flat_map(|l| sim.sector(l).unwrap().to_vec()).collect()
    }

    fn bad(r: &Result) -> Vec<(u32, u32, char)> {
        r.ripper.unfinished().into_iter().map(|(l, c, s)| (l, c, s.symbol())).collect()
    }

    #[test]
    fn clean_disc_cooked_and_raw() {
        let src = iso();
        let r = rip(SimDrive::from_cooked(&src), ReadMode::Cooked, Options::default());
        assert_eq!(r.image, src);
        assert!(bad(&r).is_empty());
        assert_eq!(r.ripper.stats().reads, 10);
        let sim = SimDrive::from_cooked(&src);
        let want = raw_image(&sim);
        let r = rip(sim, raw(), Options::default());
        assert_eq!(r.image, want);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn unreadable_sector() {
        let src = iso();
        let r =
            rip(SimDrive::from_cooked(&src).with_fault(100, Fault::Unreadable), ReadMode::Cooked, Options::default());
        assert_eq!(bad(&r), vec![(100, 1, '-')]);
        // One trim read, then eight retries; the copy read touched it once more.
        assert_eq!(r.ripper.attempts(100), 9);
        assert_eq!(r.sim.touches(100), 10);
        let mut want = src.clone();
        want[100 * USER_SECTOR..101 * USER_SECTOR].fill(0);
        assert_eq!(r.image, want);
        // Raw: sync and header, zero data.
        let sim = SimDrive::from_cooked(&src).with_fault(100, Fault::Unreadable);
        let mut want = raw_image(&sim);
        want[100 * RAW_SECTOR..101 * RAW_SECTOR].copy_from_slice(&unreadable_raw_sector(100, false, 1));
        let r = rip(sim, raw(), Options::default().retries(2));
        assert_eq!(r.image, want);
        assert_eq!(r.ripper.attempts(100), 3);
        assert_eq!(r.ripper.map().status_at(100 * RAW_SECTOR as u64), Some(BlockStatus::BadSector));
    }

    #[test]
    fn sector_that_reads_on_the_kth_try() {
        let src = iso();
        let r =
            rip(SimDrive::from_cooked(&src).with_fault(77, Fault::ReadsOnTry(5)), ReadMode::Cooked, Options::default());
        assert_eq!(r.image, src);
        assert!(bad(&r).is_empty());
        // Copy (try 1) failed, trim (2) failed, retries 1–2 failed (3, 4), retry 3 (5) read.
        assert_eq!(r.sim.touches(77), 5);
        assert_eq!(r.ripper.attempts(77), 4);
        // Too few retries: stays bad.
        let r = rip(
            SimDrive::from_cooked(&src).with_fault(77, Fault::ReadsOnTry(5)),
            ReadMode::Cooked,
            Options::default().retries(2),
        );
        assert_eq!(bad(&r), vec![(77, 1, '-')]);
    }

    #[test]
    fn c2_flagged_sector_is_reread() {
        let src = iso();
        let sim = SimDrive::from_cooked(&src).with_fault(150, Fault::C2Wrong { tries: 3 });
        let want = raw_image(&sim);
        let r = rip(sim, raw(), Options::default());
        assert_eq!(r.image, want);
        assert!(bad(&r).is_empty());
        assert_eq!(r.ripper.stats().wrong_sectors, 3);
        assert_eq!(r.sim.touches(150), 4);
    }

    #[test]
    fn c2_sector_never_right_keeps_the_majority() {
        let src = iso();
        let sim = SimDrive::from_cooked(&src).with_fault(150, Fault::C2Wrong { tries: u32::MAX });
        let want = raw_image(&sim);
        let r = rip(sim, raw(), Options::default());
        assert_eq!(bad(&r), vec![(150, 1, '-')]);
        // Each copy is wrong at other bytes: the byte-wise majority of ten copies is the true sector.
        assert_eq!(r.image, want);
        assert_eq!(r.ripper.stats().wrong_sectors, 10);
    }

    #[test]
    fn silent_error_only_edc_catches() {
        let src = iso();
        let sim = SimDrive::from_cooked(&src).with_fault(42, Fault::SilentWrong { tries: 2 });
        let want = raw_image(&sim);
        let r = rip(sim, raw(), Options::default());
        assert_eq!(r.image, want);
        assert!(bad(&r).is_empty());
        assert_eq!(r.ripper.stats().wrong_sectors, 2);
        // The same drive without C2 support: EDC still catches C2-type corruption.
        let sim = SimDrive::from_cooked(&src).without_c2().with_fault(43, Fault::C2Wrong { tries: 1 });
        let r = rip(sim, raw(), Options::default());
        assert_eq!(r.image, want);
    }

    #[test]
    fn slow_sector_times_out_then_reads() {
        let src = iso();
        let r = rip(
            SimDrive::from_cooked(&src).with_fault(200, Fault::Slow { tries: 2 }),
            ReadMode::Cooked,
            Options::default(),
        );
        assert_eq!(r.image, src);
        assert_eq!(r.ripper.stats().failed_reads, 2);
        assert_eq!(r.sim.touches(200), 3);
    }

    #[test]
    fn no_read_cd_falls_back() {
        let src = iso();
        let sim = SimDrive::from_cooked(&src).without_read_cd().with_fault(10, Fault::ReadsOnTry(2));
        let want = raw_image(&sim);
        let r = rip(sim, raw(), Options::default());
        assert_eq!(r.image, want);
        assert!(r.notes.iter().any(|n| n.contains("READ CD")), "{:?}", r.notes);
    }

    #[test]
    fn raw_data_failing_edc_is_reported() {
        let src = iso();
        let sim = SimDrive::from_cooked(&src).with_zeroed_edc();
        let want = raw_image(&sim);
        let r = rip(sim, raw(), Options::default());
        assert_eq!(r.image, want);
        assert!(bad(&r).is_empty());
        assert!(r.notes.iter().any(|n| n.contains("fail EDC") && n.contains("EDC field is zero")), "{:?}", r.notes);
    }

    #[test]
    fn audio_track_with_subchannel() {
        // Track 1: 100 data sectors; track 2: 200 audio sectors (pregap included).
        let mut sectors: Vec<RawSector> = SimDrive::from_cooked(&iso()[..100 * USER_SECTOR]).sectors;
        sectors.extend((0..200u32).map(|i| {
            let mut s = [0u8; RAW_SECTOR];
            for (j, b) in s.iter_mut().enumerate() {
                *b = (i as usize * 3 + j) as u8;
            }
            s
        }));
        let tracks = vec![SimTrack { start: 0, audio: false }, SimTrack { start: 100, audio: true }];
        let sim = SimDrive::from_raw(sectors, tracks).with_fault(250, Fault::C2Wrong { tries: 1 });
        let want = raw_image(&sim);
        let want_sub: Vec<u8> = (0..N).flat_map(|l| sim.raw_subchannel(l)).collect();
        let r = rip(
            sim,
            ReadMode::Raw { c2: C2Mode::PointersAndBlockError, subchannel: Subchannel::RawPw },
            Options::default(),
        );
        assert_eq!(r.image, want);
        assert_eq!(r.sub, want_sub);
        assert!(bad(&r).is_empty());
        assert_eq!(r.ripper.stats().wrong_sectors, 1);
        // Q of an audio sector: control 0, ADR 1, track 02.
        assert_eq!(
            &r.sub[250 * 96..250 * 96 + 16].iter().map(|b| (b >> 6) & 1).collect::<Vec<_>>()[..8],
            &[0, 0, 0, 0, 0, 0, 0, 1]
        );
    }

    #[test]
    fn cd_text_from_the_sim() {
        let sim = SimDrive::from_cooked(&iso())
            .with_cd_text(crate::mmc::cd_text_pack::TITLE, &["A long album title", "Track one"]);
        let mut d = Drive::new(sim, Duration::from_secs(1));
        let t = d.read_cd_text().unwrap();
        assert_eq!(
            t.texts(crate::mmc::cd_text_pack::TITLE),
            vec![(0, "A long album title".to_string()), (1, "Track one".to_string())]
        );
    }

    #[test]
    fn commands_parse_from_the_sim() {
        let mut d = Drive::new(SimDrive::from_cooked(&iso()), Duration::from_secs(1));
        let inq = d.inquiry().unwrap();
        assert_eq!(
            (inq.vendor.as_str(), inq.product.as_str(), inq.revision.as_str()),
            ("ODIXSIM", "Simulated CD", "1.00")
        );
        assert_eq!(d.read_capacity().unwrap().last_lba, N - 1);
        let full = d.read_full_toc().unwrap();
        assert_eq!(full.disc_type(), Some(0));
        let disc = Disc::from_toc(&d.read_toc().unwrap(), Some(&full), &mut |_| None).unwrap();
        assert_eq!(disc.lead_out(), N);
        assert_eq!(d.read_session_info().unwrap().last_session, 1);
        let conf = d.get_configuration().unwrap();
        assert_eq!(conf.current_profile, 8);
        assert!(conf.cd_read.is_some_and(|c| c.c2_flags));
        assert_eq!(d.read_track_information(1).unwrap().size, N);
        assert_eq!(d.read_disc_information().unwrap().sessions, 1);
        let page = d.read_error_recovery().unwrap();
        assert_eq!(page.read_retry_count(), 5);
        d.set_read_retry_count(&page, 1).unwrap();
        d.set_cd_speed(0xffff).unwrap();
        d.test_unit_ready().unwrap();
        assert!(d.request_sense().unwrap().is_some());
        let e = d.read_cd_text().unwrap_err();
        assert!(e.is_unsupported());
        assert_eq!(d.failures().0.len(), 1);
    }

    #[test]
    fn audio_disc_subchannel_offset_and_cd_text() {
        use crate::subq::{decode, Q};
        let pcm: Vec<u8> = (0..400 * RAW_SECTOR).map(|i| (i * 7 / 3) as u8).collect();
        let sim = SimDrive::from_audio(&pcm, &[20, 200])
            .with_pregap(1, 20)
            .with_pregap(2, 30)
            .with_index(2, 2, 300)
            .with_control(2, 1 | 2)
            .with_isrc(2, "USRC17607839")
            .with_mcn("0724384960650")
            .with_read_offset(-7)
            .with_overread(false, true)
            .with_cd_text(crate::mmc::cd_text_pack::TITLE, &["Album", "One", "Two"]);
        let pos = |lba| match decode(&sim.q_subchannel(lba)) {
            Some(Q::Position { track, index, control }) => (track, index, control),
            q => panic!("{lba}: {q:?}"),
        };
        assert_eq!(pos(5), (1, 0, 0));
        assert_eq!(pos(20), (1, 1, 0));
        assert_eq!(pos(175), (2, 0, 3));
        assert_eq!(pos(250), (2, 1, 3));
        assert_eq!(pos(301), (2, 2, 3));
        assert_eq!(decode(&sim.q_subchannel(110)), Some(Q::Catalog { control: 0, mcn: "0724384960650".into() }));
        assert_eq!(decode(&sim.q_subchannel(260)), Some(Q::Isrc { control: 3, isrc: "USRC17607839".into() }));
        assert!(matches!(decode(&sim.q_subchannel(60)), Some(Q::Position { .. })));
        let mut d = Drive::new(sim, Duration::from_secs(1));
        let toc = d.read_toc().unwrap();
        assert_eq!((toc.entries[1].control, toc.entries[1].lba), (3, 200));
        let raw = d.read_toc_raw(5, 0).unwrap();
        let t = crate::cdtext::parse(&raw).unwrap();
        assert_eq!(t.get(crate::cdtext::pack::TITLE, 2), Some("Two"));
        // Offset -7: the drive returns audio 7 samples late; past the lead-out it overreads silence.
        let mut buf = vec![0u8; 2 * RAW_SECTOR];
        let f = ReadCdFields::raw(C2Mode::None, Subchannel::None);
        d.read_cd(10, 2, f, &mut buf).unwrap();
        assert_eq!(&buf[..], &pcm[10 * RAW_SECTOR + 28..][..2 * RAW_SECTOR]);
        d.read_cd(399, 2, f, &mut buf).unwrap();
        assert_eq!(&buf[..RAW_SECTOR - 28], &pcm[399 * RAW_SECTOR + 28..]);
        assert!(buf[RAW_SECTOR - 28..].iter().all(|&b| b == 0));
        assert!(d.read_cd(u32::MAX, 1, f, &mut buf[..RAW_SECTOR]).is_err());
        assert!(d.read_cd(400 + OVERREAD_SECTORS, 1, f, &mut buf[..RAW_SECTOR]).is_err());
    }
}

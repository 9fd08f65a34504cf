//! The rip: a pure state machine deciding what to read next, and a small loop driving it.
//!
//! The strategy is GNU ddrescue's, in CD sectors:
//! 1. **Copy**: large reads ([`Options::cluster`] sectors) over non-tried areas. On an error the area becomes
//!    non-trimmed (`*`) and the next read skips ahead (the skip doubles on each consecutive error); a second copy
//!    pass reads what was skipped, without skipping.
//! 2. **Trim**: each non-trimmed area is read sector by sector from its leading edge until a sector fails, then
//!    from its trailing edge until one fails; those become bad (`-`) and the rest non-scraped (`/`).
//! 3. **Scrape**: each non-scraped sector is read alone once.
//! 4. **Retry**: [`Options::retries`] passes over the bad sectors, optionally in reverse.
//!
//! A sector that was read but whose data the caller judged wrong (C2 error pointers set, or a failing EDC; see
//! [`Verdict`]) counts as not read: it is retried, and each wrong copy is kept. When no copy passes, the byte-wise
//! majority of the copies is what [`Ripper::finish`] hands out, and the sector stays bad in the map.
//!
//! [`Ripper`] owns no file and no device: [`Ripper::next_request`] says what to read, [`Ripper::submit`] takes
//! what happened and returns what to write. Its whole state is the [`Mapfile`] (plus the wrong copies of bad
//! sectors), so a rip interrupted at any moment resumes from its last saved map. [`run`] drives it with a
//! [`SectorSource`] and a [`Sink`].

use std::collections::BTreeMap;

use crate::buf::SectorBuf;
use crate::map::{BlockStatus, Mapfile, Phase};

/// The largest skip after consecutive copy errors, in sectors (about 2 minutes of CD).
const MAX_SKIP: u32 = 8192;
/// The most wrong copies of one sector kept for the majority vote.
const MAX_COPIES: usize = 16;

/// How to rip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    retries: u32,
    reverse: bool,
    trim: bool,
    scrape: bool,
    cluster: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self { retries: 8, reverse: false, trim: true, scrape: true, cluster: 32 }
    }
}

impl Options {
    /// Retry passes over bad sectors (default 8).
    #[must_use]
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// Scrape and retry from the end towards the start.
    #[must_use]
    pub fn reverse(mut self, on: bool) -> Self {
        self.reverse = on;
        self
    }

    /// Trim the edges of failed areas (default on); off leaves them all to scraping.
    #[must_use]
    pub fn trim(mut self, on: bool) -> Self {
        self.trim = on;
        self
    }

    /// Scrape (default on); off leaves non-scraped sectors as they are.
    #[must_use]
    pub fn scrape(mut self, on: bool) -> Self {
        self.scrape = on;
        self
    }

    /// Sectors per copy read (default 32, at least 1).
    #[must_use]
    pub fn cluster(mut self, sectors: u32) -> Self {
        self.cluster = sectors.max(1);
        self
    }

    /// Retry passes.
    #[must_use]
    pub fn retry_passes(&self) -> u32 {
        self.retries
    }
}

/// What to read: `count` sectors from `lba`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// First sector.
    pub lba: u32,
    /// Number of sectors, at least 1.
    pub count: u32,
    /// The phase asking.
    pub phase: Phase,
    /// The pass within the phase, from 1.
    pub pass: u32,
}

/// The caller's judgement of one sector it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Good: no C2 error, and the EDC passes where the sector has one.
    Good,
    /// The drive flagged C2 errors in this sector.
    C2Error,
    /// The sector's EDC (or sync/header) does not check.
    EdcError,
    /// Two reads of the (audio) sector returned different bytes.
    Unstable,
}

/// One sector as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorData {
    /// The sector as it goes into the image (2048 or 2352 bytes).
    pub data: Vec<u8>,
    /// Its subchannel bytes, when read.
    pub sub: Option<Vec<u8>>,
    /// The verdict.
    pub verdict: Verdict,
}

/// What a read request produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The command succeeded: one entry per requested sector.
    Read(Vec<SectorData>),
    /// The command failed (error status, timeout, short transfer); nothing it returned is trusted.
    Failed,
}

/// A sector to put into the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The sector.
    pub lba: u32,
    /// Its bytes.
    pub data: Vec<u8>,
    /// Its subchannel, when read.
    pub sub: Option<Vec<u8>>,
}

/// The sectors one read command returned, in buffers that are reused from read to read (their capacity stays).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    /// The first sector.
    pub lba: u32,
    /// The sectors' bytes (2048 or 2352 each), one after the other, page-aligned so a drive reads straight into
    /// them.
    pub data: SectorBuf,
    /// Their subchannel bytes (96 each) when read, else empty.
    pub sub: Vec<u8>,
    /// One verdict per sector.
    pub verdicts: Vec<Verdict>,
}

impl Block {
    /// Empties the block, keeping its buffers.
    pub fn clear(&mut self) {
        self.data.clear();
        self.sub.clear();
        self.verdicts.clear();
    }

    /// Sectors held.
    #[must_use]
    pub fn sectors(&self) -> usize {
        self.verdicts.len()
    }

    /// True when it holds `count` sectors, all judged good.
    #[must_use]
    pub fn all_good(&self, count: u32) -> bool {
        self.verdicts.len() == count as usize && self.verdicts.iter().all(|v| *v == Verdict::Good)
    }

    /// Appends one sector.
    pub fn push(&mut self, s: &SectorData) {
        self.data.extend_from_slice(&s.data);
        if let Some(sub) = &s.sub {
            self.sub.extend_from_slice(sub);
        }
        self.verdicts.push(s.verdict);
    }

    /// The block as one sector per entry.
    #[must_use]
    pub fn to_sectors(&self) -> Vec<SectorData> {
        let n = self.verdicts.len();
        let size = self.data.len().checked_div(n).unwrap_or(0).max(1);
        let sub_size = self.sub.len().checked_div(n).unwrap_or(0).max(1);
        let mut subs = self.sub.chunks(sub_size);
        self.data
            .chunks(size)
            .zip(&self.verdicts)
            .map(|(d, v)| SectorData { data: d.to_vec(), sub: subs.next().map(<[u8]>::to_vec), verdict: *v })
            .collect()
    }
}

/// What to put into the image for a sector that stayed bad, from [`Ripper::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    /// No copy was read: fill (zeros in a cooked image, sync and header with zeroed data in a raw one).
    Unreadable(u32),
    /// Copies were read but none passed: their byte-wise majority.
    Majority(Write),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Copy { pass: u32, cursor: u32 },
    Trim,
    Scrape { cursor: u32 },
    Retry { pass: u32, cursor: u32 },
    Done,
}

/// Counters of a rip, for the log and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Read commands issued.
    pub reads: u64,
    /// Read commands that failed.
    pub failed_reads: u64,
    /// Sectors received whose verdict was not good.
    pub wrong_sectors: u64,
}

/// The rip state machine.
#[derive(Debug, Clone)]
pub struct Ripper {
    opts: Options,
    sector_size: u64,
    sectors: u32,
    map: Mapfile,
    state: State,
    skip: u32,
    copies: BTreeMap<u32, Vec<Vec<u8>>>,
    subs: BTreeMap<u32, Vec<u8>>,
    attempts: BTreeMap<u32, u32>,
    stats: Stats,
}

/// A map that does not fit the rip.
#[derive(Debug, thiserror::Error)]
#[error("the map covers bytes {start}..{end}, the rip {expected} bytes of {sector_size}-byte sectors")]
pub struct MapMismatch {
    /// First byte of the map.
    pub start: u64,
    /// End of the map.
    pub end: u64,
    /// Bytes the rip covers.
    pub expected: u64,
    /// Sector size of the rip.
    pub sector_size: u64,
}

impl Ripper {
    /// A rip of `sectors` sectors of `sector_size` bytes, continuing `map` when given (it must cover exactly
    /// `sectors × sector_size` bytes from 0), else from scratch.
    pub fn new(sectors: u32, sector_size: u32, map: Option<Mapfile>, opts: Options) -> Result<Self, MapMismatch> {
        let ss = u64::from(sector_size.max(1));
        let expected = u64::from(sectors).saturating_mul(ss);
        let map = map.unwrap_or_else(|| Mapfile::new(expected));
        let aligned =
            map.blocks().iter().all(|b| b.pos.checked_rem(ss) == Some(0) && b.size.checked_rem(ss) == Some(0));
        if map.start() != 0 || map.end() != expected || !aligned {
            return Err(MapMismatch { start: map.start(), end: map.end(), expected, sector_size: ss });
        }
        let at = u32::try_from(map.current_pos.checked_div(ss).unwrap_or(0)).unwrap_or(0).min(sectors);
        let state = match map.phase {
            Phase::Copying => State::Copy { pass: map.pass.clamp(1, 2), cursor: at },
            Phase::Trimming => State::Trim,
            Phase::Scraping => State::Scrape { cursor: at },
            Phase::Retrying if map.pass <= opts.retries => State::Retry { pass: map.pass, cursor: at },
            _ => State::Copy { pass: 2, cursor: 0 },
        };
        let mut r = Self {
            skip: opts.cluster,
            opts,
            sector_size: ss,
            sectors,
            map,
            state,
            copies: BTreeMap::new(),
            subs: BTreeMap::new(),
            attempts: BTreeMap::new(),
            stats: Stats::default(),
        };
        if let State::Scrape { cursor } | State::Retry { cursor, .. } = &mut r.state {
            if r.opts.reverse {
                // Reverse passes keep the cursor one past the next sector to read.
                *cursor = cursor.saturating_add(1).min(sectors);
            }
        }
        Ok(r)
    }

    /// The map as it stands.
    #[must_use]
    pub fn map(&self) -> &Mapfile {
        &self.map
    }

    /// Sectors in the rip.
    #[must_use]
    pub fn sectors(&self) -> u32 {
        self.sectors
    }

    /// Bytes per sector.
    #[must_use]
    pub fn sector_size(&self) -> u64 {
        self.sector_size
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Single-sector reads of `lba` so far (trim, scrape and retries).
    #[must_use]
    pub fn attempts(&self, lba: u32) -> u32 {
        self.attempts.get(&lba).copied().unwrap_or(0)
    }

    /// Sectors in each map status, indexed by [`BlockStatus::index`].
    #[must_use]
    pub fn sector_totals(&self) -> [u64; 5] {
        self.map.totals().map(|b| b.checked_div(self.sector_size).unwrap_or(0))
    }

    /// The sectors whose status is not finished, as (first, count) runs.
    #[must_use]
    pub fn unfinished(&self) -> Vec<(u32, u32, BlockStatus)> {
        self.map
            .blocks()
            .iter()
            .filter(|b| b.status != BlockStatus::Finished)
            .map(|b| (self.lba_of(b.pos), self.lba_of(b.size), b.status))
            .collect()
    }

    /// True when nothing is left to do.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn lba_of(&self, pos: u64) -> u32 {
        u32::try_from(pos.checked_div(self.sector_size).unwrap_or(0)).unwrap_or(u32::MAX)
    }

    fn pos_of(&self, lba: u32) -> u64 {
        u64::from(lba).saturating_mul(self.sector_size)
    }

    fn status(&self, lba: u32) -> Option<BlockStatus> {
        if lba >= self.sectors {
            return None;
        }
        self.map.status_at(self.pos_of(lba))
    }

    fn mark(&mut self, lba: u32, count: u32, status: BlockStatus) {
        self.map.set(self.pos_of(lba), self.pos_of(count), status);
    }

    /// The next sector of `status` at or after `cursor` (forward) or before it (reverse), as (lba, run length).
    fn find(&self, status: BlockStatus, cursor: u32, reverse: bool) -> Option<(u32, u32)> {
        let b = if reverse {
            self.map.prev_with(self.pos_of(cursor), status)
        } else {
            self.map.next_with(self.pos_of(cursor), status)
        }?;
        Some((self.lba_of(b.pos), self.lba_of(b.size)))
    }

    fn set_position(&mut self, lba: u32, phase: Phase, pass: u32) {
        self.map.current_pos = self.pos_of(lba);
        self.map.phase = phase;
        self.map.pass = pass;
    }

    /// What to read next; `None` when the rip is over (then call [`Ripper::finish`]).
    pub fn next_request(&mut self) -> Option<Request> {
        loop {
            match self.state {
                State::Copy { pass, cursor } => match self.find(BlockStatus::NonTried, cursor, false) {
                    Some((lba, run)) => {
                        let count = run.min(self.opts.cluster);
                        self.set_position(lba, Phase::Copying, pass);
                        return Some(Request { lba, count, phase: Phase::Copying, pass });
                    }
                    None if pass == 1 && self.find(BlockStatus::NonTried, 0, false).is_some() => {
                        self.state = State::Copy { pass: 2, cursor: 0 };
                    }
                    None => self.state = State::Trim,
                },
                State::Trim => {
                    let Some((lba, run)) = self.find(BlockStatus::NonTrimmed, 0, false) else {
                        let cursor = if self.opts.reverse { self.sectors } else { 0 };
                        self.state = State::Scrape { cursor };
                        continue;
                    };
                    let end = lba.saturating_add(run);
                    if !self.opts.trim {
                        self.mark(lba, run, BlockStatus::NonScraped);
                        continue;
                    }
                    let bad_before = lba > 0 && self.status(lba.saturating_sub(1)) == Some(BlockStatus::BadSector);
                    let bad_after = self.status(end) == Some(BlockStatus::BadSector);
                    let target = match (bad_before, bad_after) {
                        (false, _) => lba,
                        (true, false) => end.saturating_sub(1),
                        (true, true) => {
                            self.mark(lba, run, BlockStatus::NonScraped);
                            continue;
                        }
                    };
                    self.set_position(target, Phase::Trimming, 1);
                    return Some(Request { lba: target, count: 1, phase: Phase::Trimming, pass: 1 });
                }
                State::Scrape { cursor } => {
                    if !self.opts.scrape {
                        self.state = self.first_retry_pass();
                        continue;
                    }
                    match self.find(BlockStatus::NonScraped, cursor, self.opts.reverse) {
                        Some((lba, run)) => {
                            let target =
                                if self.opts.reverse { lba.saturating_add(run).saturating_sub(1) } else { lba };
                            self.set_position(target, Phase::Scraping, 1);
                            return Some(Request { lba: target, count: 1, phase: Phase::Scraping, pass: 1 });
                        }
                        None => self.state = self.first_retry_pass(),
                    }
                }
                State::Retry { pass, cursor } => {
                    if pass > self.opts.retries {
                        self.state = State::Done;
                        continue;
                    }
                    match self.find(BlockStatus::BadSector, cursor, self.opts.reverse) {
                        Some((lba, run)) => {
                            let target =
                                if self.opts.reverse { lba.saturating_add(run).saturating_sub(1) } else { lba };
                            self.set_position(target, Phase::Retrying, pass);
                            return Some(Request { lba: target, count: 1, phase: Phase::Retrying, pass });
                        }
                        None if self.find(BlockStatus::BadSector, 0, false).is_none() => self.state = State::Done,
                        None => {
                            let cursor = if self.opts.reverse { self.sectors } else { 0 };
                            self.state = State::Retry { pass: pass.saturating_add(1), cursor };
                        }
                    }
                }
                State::Done => {
                    self.map.phase = Phase::Finished;
                    self.map.pass = 1;
                    return None;
                }
            }
        }
    }

    fn first_retry_pass(&self) -> State {
        State::Retry { pass: 1, cursor: if self.opts.reverse { self.sectors } else { 0 } }
    }

    /// Takes the outcome of `req` (the request [`Ripper::next_request`] returned last) and returns the sectors
    /// to write into the image now.
    pub fn submit(&mut self, req: Request, outcome: Outcome) -> Vec<Write> {
        self.count_read(req);
        let sectors = match outcome {
            Outcome::Read(s) if s.len() == req.count as usize => Some(s),
            _ => None,
        };
        let mut writes = Vec::new();
        match sectors {
            None => {
                self.stats.failed_reads = self.stats.failed_reads.saturating_add(1);
                match req.phase {
                    Phase::Copying => {
                        self.mark(req.lba, req.count, BlockStatus::NonTrimmed);
                        let after = req.lba.saturating_add(req.count);
                        let cursor = if req.pass == 1 {
                            let c = after.saturating_add(self.skip);
                            self.skip = self.skip.saturating_mul(2).min(MAX_SKIP.max(self.opts.cluster));
                            c
                        } else {
                            after
                        };
                        self.state = State::Copy { pass: req.pass, cursor };
                    }
                    _ => self.mark(req.lba, req.count, BlockStatus::BadSector),
                }
            }
            Some(sectors) => {
                if req.phase == Phase::Copying {
                    self.skip = self.opts.cluster;
                }
                for (lba, s) in (req.lba..).zip(sectors) {
                    if s.verdict == Verdict::Good {
                        self.mark(lba, 1, BlockStatus::Finished);
                        self.copies.remove(&lba);
                        self.subs.remove(&lba);
                        writes.push(Write { lba, data: s.data, sub: s.sub });
                    } else {
                        self.stats.wrong_sectors = self.stats.wrong_sectors.saturating_add(1);
                        let copies = self.copies.entry(lba).or_default();
                        if copies.len() < MAX_COPIES {
                            copies.push(s.data);
                        }
                        if let Some(sub) = s.sub {
                            self.subs.entry(lba).or_insert(sub);
                        }
                        let status =
                            if req.phase == Phase::Copying { BlockStatus::NonScraped } else { BlockStatus::BadSector };
                        self.mark(lba, 1, status);
                    }
                }
                if req.phase == Phase::Copying {
                    self.state = State::Copy { pass: req.pass, cursor: req.lba.saturating_add(req.count) };
                }
            }
        }
        self.advance_cursor(req);
        writes
    }

    /// Takes the outcome of `req` when every sector it asked for was read and judged good: the same as
    /// [`Ripper::submit`] with such an outcome, except that the caller writes the sectors it holds (in the
    /// order read) instead of receiving them back one by one.
    pub fn submit_good(&mut self, req: Request) {
        self.count_read(req);
        if req.phase == Phase::Copying {
            self.skip = self.opts.cluster;
        }
        self.mark(req.lba, req.count, BlockStatus::Finished);
        if !self.copies.is_empty() || !self.subs.is_empty() {
            for lba in req.lba..req.lba.saturating_add(req.count) {
                self.copies.remove(&lba);
                self.subs.remove(&lba);
            }
        }
        if req.phase == Phase::Copying {
            self.state = State::Copy { pass: req.pass, cursor: req.lba.saturating_add(req.count) };
        }
        self.advance_cursor(req);
    }

    fn count_read(&mut self, req: Request) {
        self.stats.reads = self.stats.reads.saturating_add(1);
        if req.count == 1 {
            let a = self.attempts.entry(req.lba).or_insert(0);
            *a = a.saturating_add(1);
        }
    }

    fn advance_cursor(&mut self, req: Request) {
        match &mut self.state {
            State::Scrape { cursor } | State::Retry { cursor, .. } => {
                *cursor = if self.opts.reverse { req.lba } else { req.lba.saturating_add(1) };
            }
            _ => {}
        }
    }

    /// What to write for the sectors that stayed bad: the majority of their wrong copies, or a fill. Call once
    /// [`Ripper::next_request`] returned `None` (or when stopping early, for the sectors known bad so far).
    #[must_use]
    pub fn finish(&self) -> Vec<Final> {
        let mut out = Vec::new();
        if self.state != State::Done {
            return out;
        }
        for (lba, count, _) in self.unfinished() {
            for lba in lba..lba.saturating_add(count) {
                match self.copies.get(&lba) {
                    Some(copies) if !copies.is_empty() => out.push(Final::Majority(Write {
                        lba,
                        data: majority(copies),
                        sub: self.subs.get(&lba).cloned(),
                    })),
                    _ => out.push(Final::Unreadable(lba)),
                }
            }
        }
        out
    }
}

/// The byte-wise majority of `copies` (all of one length); a tie goes to the value seen first.
#[must_use]
pub fn majority(copies: &[Vec<u8>]) -> Vec<u8> {
    let len = copies.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            let mut counts = [0u16; 256];
            let mut best: Option<(u16, u8)> = None;
            for c in copies {
                if let Some((&b, n)) = c.get(i).and_then(|b| Some((b, counts.get_mut(usize::from(*b))?))) {
                    *n = n.saturating_add(1);
                    if best.is_none_or(|(m, _)| *n > m) {
                        best = Some((*n, b));
                    }
                }
            }
            best.map_or(0, |(_, b)| b)
        })
        .collect()
}

/// Reads sectors for [`run`].
pub trait SectorSource {
    /// Reads `count` sectors from `lba`.
    fn read(&mut self, lba: u32, count: u32) -> Outcome;

    /// Told before the first read of each phase (the copy phase may ask the drive to give up sooner).
    fn enter_phase(&mut self, _phase: Phase) {}

    /// Reads `count` sectors from `lba` into `block`, reusing its buffers; false when the command failed (then
    /// nothing in `block` is trusted). The default goes through [`SectorSource::read`].
    fn read_block(&mut self, lba: u32, count: u32, block: &mut Block) -> bool {
        block.clear();
        block.lba = lba;
        match self.read(lba, count) {
            Outcome::Read(sectors) => {
                for s in &sectors {
                    block.push(s);
                }
                true
            }
            Outcome::Failed => false,
        }
    }
}

/// [`SectorSource::read`] for a source that implements [`SectorSource::read_block`] itself: one block read,
/// handed back as sectors.
pub fn read_via_block<S: SectorSource + ?Sized>(src: &mut S, lba: u32, count: u32) -> Outcome {
    let mut block = Block::default();
    if src.read_block(lba, count, &mut block) {
        Outcome::Read(block.to_sectors())
    } else {
        Outcome::Failed
    }
}

/// Where [`run`] puts its results, and how it is told to stop.
pub trait Sink {
    /// Writes one good sector (and its subchannel).
    fn write(&mut self, w: &Write) -> std::io::Result<()>;
    /// Writes the sectors of `block` (all good) from `block.lba` on, and returns a block to read into next: the
    /// same one, or another when the writing goes on elsewhere. The default writes sector by sector.
    fn write_block(&mut self, block: Block) -> std::io::Result<Block> {
        for (lba, s) in (block.lba..).zip(block.to_sectors()) {
            self.write(&Write { lba, data: s.data, sub: s.sub })?;
        }
        Ok(block)
    }
    /// Fills a sector that no read returned, unless something is already there.
    fn fill_unreadable(&mut self, lba: u32) -> std::io::Result<()>;
    /// Saves the map (after making the image durable) when due, or always when `force`.
    fn checkpoint(&mut self, ripper: &Ripper, force: bool) -> std::io::Result<()>;
    /// True when the rip must stop now (a signal arrived).
    fn should_stop(&mut self) -> bool {
        false
    }
    /// Called after each read, for progress displays.
    fn progress(&mut self, _ripper: &Ripper, _last: &Request) {}
}

/// How [`run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every phase ran; the map says whether every sector is finished.
    Completed,
    /// [`Sink::should_stop`] said stop; the map is saved and the rip resumes from it.
    Interrupted,
}

/// Drives `ripper` to the end: reads, writes good sectors, saves the map, and at the end writes the majority
/// copies and fills of what stayed bad.
pub fn run(ripper: &mut Ripper, source: &mut dyn SectorSource, sink: &mut dyn Sink) -> std::io::Result<RunEnd> {
    let mut block = Block::default();
    let mut phase = None;
    while let Some(req) = ripper.next_request() {
        if phase != Some(req.phase) {
            phase = Some(req.phase);
            source.enter_phase(req.phase);
        }
        let read = source.read_block(req.lba, req.count, &mut block);
        if read && block.all_good(req.count) {
            // The common case: the block goes to the sink whole, without a copy per sector.
            ripper.submit_good(req);
            block.lba = req.lba;
            block = sink.write_block(block)?;
        } else {
            let outcome = if read { Outcome::Read(block.to_sectors()) } else { Outcome::Failed };
            for w in ripper.submit(req, outcome) {
                sink.write(&w)?;
            }
        }
        sink.progress(ripper, &req);
        sink.checkpoint(ripper, false)?;
        if sink.should_stop() {
            sink.checkpoint(ripper, true)?;
            return Ok(RunEnd::Interrupted);
        }
    }
    for f in ripper.finish() {
        match f {
            Final::Majority(w) => sink.write(&w)?,
            Final::Unreadable(lba) => sink.fill_unreadable(lba)?,
        }
    }
    sink.checkpoint(ripper, true)?;
    Ok(RunEnd::Completed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source over an in-memory image of 4-byte sectors whose listed sectors fail `n` times.
    struct Flaky {
        failures: BTreeMap<u32, u32>,
        sectors: u32,
    }

    impl SectorSource for Flaky {
        fn read(&mut self, lba: u32, count: u32) -> Outcome {
            let mut failed = false;
            for l in lba..lba + count {
                if let Some(n) = self.failures.get_mut(&l) {
                    if *n > 0 {
                        *n -= 1;
                        failed = true;
                    }
                }
            }
            if failed || lba + count > self.sectors {
                return Outcome::Failed;
            }
            Outcome::Read(
                (lba..lba + count)
                    .map(|l| SectorData { data: l.to_le_bytes().to_vec(), sub: None, verdict: Verdict::Good })
                    .collect(),
            )
        }
    }

    #[derive(Default)]
    struct Mem {
        image: BTreeMap<u32, Vec<u8>>,
        filled: Vec<u32>,
        stop_after: Option<u32>,
    }

    impl Sink for Mem {
        fn write(&mut self, w: &Write) -> std::io::Result<()> {
            self.image.insert(w.lba, w.data.clone());
            Ok(())
        }
        fn fill_unreadable(&mut self, lba: u32) -> std::io::Result<()> {
            self.filled.push(lba);
            Ok(())
        }
        fn checkpoint(&mut self, _: &Ripper, _: bool) -> std::io::Result<()> {
            Ok(())
        }
        fn should_stop(&mut self) -> bool {
            match &mut self.stop_after {
                Some(0) => true,
                Some(n) => {
                    *n -= 1;
                    false
                }
                None => false,
            }
        }
    }

    fn blocks(r: &Ripper) -> Vec<(u32, u32, char)> {
        r.unfinished().into_iter().map(|(l, c, s)| (l, c, s.symbol())).collect()
    }

    #[test]
    fn clean_source_is_one_pass() {
        let mut r = Ripper::new(100, 4, None, Options::default()).unwrap();
        let mut sink = Mem::default();
        let end = run(&mut r, &mut Flaky { failures: BTreeMap::new(), sectors: 100 }, &mut sink).unwrap();
        assert_eq!(end, RunEnd::Completed);
        assert_eq!(r.stats().reads, 4);
        assert_eq!(sink.image.len(), 100);
        assert!(blocks(&r).is_empty());
        assert_eq!(r.map().phase, Phase::Finished);
    }

    #[test]
    fn bad_run_is_trimmed_scraped_and_retried() {
        let failures = (40..=45).map(|l| (l, u32::MAX)).collect();
        let mut r = Ripper::new(100, 4, None, Options::default().retries(3)).unwrap();
        let mut sink = Mem::default();
        run(&mut r, &mut Flaky { failures, sectors: 100 }, &mut sink).unwrap();
        assert_eq!(blocks(&r), vec![(40, 6, '-')]);
        assert_eq!(sink.filled, (40..=45).collect::<Vec<_>>());
        assert_eq!(sink.image.len(), 94);
        // Edges: one trim read each; inner sectors: one scrape; everyone: three retries.
        assert_eq!(r.attempts(40), 4);
        assert_eq!(r.attempts(42), 4);
        assert_eq!(r.attempts(45), 4);
        assert_eq!(r.attempts(39), 1);
    }

    #[test]
    fn no_trim_no_scrape() {
        let failures = [(40, u32::MAX)].into_iter().collect();
        let opts = Options::default().trim(false).scrape(false).retries(0);
        let mut r = Ripper::new(64, 4, None, opts).unwrap();
        run(&mut r, &mut Flaky { failures, sectors: 64 }, &mut Mem::default()).unwrap();
        assert_eq!(blocks(&r), vec![(32, 32, '/')]);
    }

    #[test]
    fn reverse_retries_visit_last_first() {
        let failures = [(10, u32::MAX), (20, u32::MAX)].into_iter().collect();
        let mut r = Ripper::new(32, 4, None, Options::default().reverse(true).retries(1)).unwrap();
        let mut src = Flaky { failures, sectors: 32 };
        let mut order = Vec::new();
        while let Some(req) = r.next_request() {
            if req.phase == Phase::Retrying {
                order.push(req.lba);
            }
            let o = src.read(req.lba, req.count);
            r.submit(req, o);
        }
        assert_eq!(order, vec![20, 10]);
    }

    #[test]
    fn interrupted_rip_resumes_from_its_map() {
        let failures: BTreeMap<u32, u32> = [(50, 2), (51, u32::MAX)].into_iter().collect();
        let mut whole = Ripper::new(200, 4, None, Options::default()).unwrap();
        let mut a = Mem::default();
        run(&mut whole, &mut Flaky { failures: failures.clone(), sectors: 200 }, &mut a).unwrap();
        for stop in [0, 1, 3, 5, 8, 12, 20] {
            let mut first = Ripper::new(200, 4, None, Options::default()).unwrap();
            let mut b = Mem { stop_after: Some(stop), ..Mem::default() };
            let mut src = Flaky { failures: failures.clone(), sectors: 200 };
            assert_eq!(run(&mut first, &mut src, &mut b).unwrap(), RunEnd::Interrupted);
            let text = {
                let mut v = Vec::new();
                first.map().write_to(&mut v, &[]).unwrap();
                String::from_utf8(v).unwrap()
            };
            let map = Mapfile::parse(&text).unwrap();
            let mut second = Ripper::new(200, 4, Some(map), Options::default()).unwrap();
            b.stop_after = None;
            run(&mut second, &mut src, &mut b).unwrap();
            assert_eq!(b.image, a.image, "stopped after {stop}");
            assert_eq!(blocks(&second), vec![(51, 1, '-')]);
        }
    }

    #[test]
    fn whole_good_blocks_map_as_sector_by_sector_submits() {
        let failures: BTreeMap<u32, u32> = [(7, 1), (40, 3), (41, u32::MAX), (90, 2)].into_iter().collect();
        let opts = Options::default().cluster(8).retries(2);
        let mut blockwise = Ripper::new(100, 4, None, opts.clone()).unwrap();
        let mut a = Mem::default();
        run(&mut blockwise, &mut Flaky { failures: failures.clone(), sectors: 100 }, &mut a).unwrap();
        let mut sectorwise = Ripper::new(100, 4, None, opts).unwrap();
        let mut src = Flaky { failures, sectors: 100 };
        let mut b = Mem::default();
        while let Some(req) = sectorwise.next_request() {
            let o = src.read(req.lba, req.count);
            for w in sectorwise.submit(req, o) {
                b.write(&w).unwrap();
            }
        }
        assert_eq!(a.image, b.image);
        assert_eq!(blockwise.map(), sectorwise.map());
        assert_eq!(blockwise.stats(), sectorwise.stats());
        assert_eq!(blocks(&blockwise), vec![(41, 1, '-')]);
    }

    #[test]
    fn wrong_copies_vote() {
        assert_eq!(majority(&[vec![1, 2, 3], vec![1, 9, 3], vec![7, 9, 3]]), vec![1, 9, 3]);
        assert_eq!(majority(&[vec![1], vec![2]]), vec![1]);
        assert!(majority(&[]).is_empty());
    }

    #[test]
    fn map_must_fit() {
        assert!(Ripper::new(10, 2048, Some(Mapfile::new(2048 * 11)), Options::default()).is_err());
        assert!(Ripper::new(10, 2048, Some(Mapfile::new(2048 * 10 + 1)), Options::default()).is_err());
        assert!(Ripper::new(10, 2048, Some(Mapfile::new(2048 * 10)), Options::default()).is_ok());
    }
}

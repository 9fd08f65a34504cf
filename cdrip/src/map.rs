//! Rescue maps in GNU ddrescue's mapfile format (GNU ddrescue manual, "Mapfile structure"), so that `ddrescuelog`
//! and ddrescue itself read the maps odix writes, and odix resumes from theirs.
//!
//! ```text
//! # comment lines start with '#'
//! # current_pos  current_status  current_pass
//! 0x00120000     ?               1
//! #      pos        size  status
//! 0x00000000  0x00120000  +
//! 0x00120000  0x00010000  *
//! ```
//! The first non-comment line is the status line: the position being read, the phase (`?` copying, `*` trimming,
//! `/` scraping, `-` retrying, `F` filling, `G` generating, `+` finished) and, since ddrescue 1.21, the pass. Then
//! one line per block, contiguous and in order, with the block status: `?` non-tried, `*` non-trimmed, `/`
//! non-scraped, `-` bad sector, `+` finished. Positions and sizes are in bytes of the rescued device.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The state of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockStatus {
    /// `?`: not read yet.
    NonTried,
    /// `*`: a larger read failed here; its edges are not trimmed yet.
    NonTrimmed,
    /// `/`: trimmed, each sector still to be read alone.
    NonScraped,
    /// `-`: a read of this sector alone failed.
    BadSector,
    /// `+`: read.
    Finished,
}

impl BlockStatus {
    /// All statuses, in the order of [`BlockStatus::index`].
    pub const ALL: [Self; 5] = [Self::NonTried, Self::NonTrimmed, Self::NonScraped, Self::BadSector, Self::Finished];

    /// The mapfile character.
    #[must_use]
    pub fn symbol(self) -> char {
        match self {
            Self::NonTried => '?',
            Self::NonTrimmed => '*',
            Self::NonScraped => '/',
            Self::BadSector => '-',
            Self::Finished => '+',
        }
    }

    /// Parses a mapfile character.
    #[must_use]
    pub fn from_symbol(c: char) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.symbol() == c)
    }

    /// Position in [`BlockStatus::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Self::NonTried => 0,
            Self::NonTrimmed => 1,
            Self::NonScraped => 2,
            Self::BadSector => 3,
            Self::Finished => 4,
        }
    }

    /// The name ddrescuelog uses.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::NonTried => "non-tried",
            Self::NonTrimmed => "non-trimmed",
            Self::NonScraped => "non-scraped",
            Self::BadSector => "bad-sector",
            Self::Finished => "finished",
        }
    }
}

/// The phase in the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `?`: copying non-tried blocks.
    Copying,
    /// `*`: trimming non-trimmed blocks.
    Trimming,
    /// `/`: scraping non-scraped blocks.
    Scraping,
    /// `-`: retrying bad sectors.
    Retrying,
    /// `F`: filling (ddrescue's fill mode).
    Filling,
    /// `G`: generating a map (ddrescue's generate mode).
    Generating,
    /// `+`: finished.
    Finished,
}

impl Phase {
    /// The mapfile character.
    #[must_use]
    pub fn symbol(self) -> char {
        match self {
            Self::Copying => '?',
            Self::Trimming => '*',
            Self::Scraping => '/',
            Self::Retrying => '-',
            Self::Filling => 'F',
            Self::Generating => 'G',
            Self::Finished => '+',
        }
    }

    /// Parses a mapfile character.
    #[must_use]
    pub fn from_symbol(c: char) -> Option<Self> {
        [Self::Copying, Self::Trimming, Self::Scraping, Self::Retrying, Self::Filling, Self::Generating, Self::Finished]
            .into_iter()
            .find(|p| p.symbol() == c)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Copying => "copying",
            Self::Trimming => "trimming",
            Self::Scraping => "scraping",
            Self::Retrying => "retrying",
            Self::Filling => "filling",
            Self::Generating => "generating",
            Self::Finished => "finished",
        })
    }
}

/// One line of the block list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Start, in bytes.
    pub pos: u64,
    /// Length in bytes, more than zero.
    pub size: u64,
    /// Status.
    pub status: BlockStatus,
}

impl Block {
    /// One past the last byte.
    #[must_use]
    pub fn end(&self) -> u64 {
        self.pos.saturating_add(self.size)
    }
}

/// A map that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The map file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A line is malformed, or blocks overlap or leave a gap.
    #[error("map line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A whole mapfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapfile {
    /// The byte position being read when the map was saved.
    pub current_pos: u64,
    /// The phase.
    pub phase: Phase,
    /// The pass within the phase, counted from 1.
    pub pass: u32,
    blocks: Vec<Block>,
}

fn parse_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

impl Mapfile {
    /// A map of `size` bytes, all non-tried, copying from 0.
    #[must_use]
    pub fn new(size: u64) -> Self {
        let blocks = if size == 0 { Vec::new() } else { vec![Block { pos: 0, size, status: BlockStatus::NonTried }] };
        Self { current_pos: 0, phase: Phase::Copying, pass: 1, blocks }
    }

    /// Parses mapfile text. Blocks must be in order and contiguous, as ddrescue writes them.
    pub fn parse(text: &str) -> Result<Self, MapError> {
        let mut status: Option<(u64, Phase, u32)> = None;
        let mut blocks: Vec<Block> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i.saturating_add(1);
            let err = |message: String| MapError::Syntax { line, message };
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let fields: Vec<&str> = content.split_whitespace().collect();
            if status.is_none() {
                let pos =
                    fields.first().and_then(|f| parse_number(f)).ok_or_else(|| err("bad current position".into()))?;
                let phase = fields
                    .get(1)
                    .and_then(|f| f.chars().next().filter(|_| f.len() == 1))
                    .and_then(Phase::from_symbol)
                    .ok_or_else(|| err("bad current status".into()))?;
                let pass = match fields.get(2) {
                    Some(f) => {
                        f.parse::<u32>().ok().filter(|&p| p >= 1).ok_or_else(|| err("bad current pass".into()))?
                    }
                    None => 1,
                };
                if fields.len() > 3 {
                    return Err(err("extra fields in the status line".into()));
                }
                status = Some((pos, phase, pass));
                continue;
            }
            let [pos, size, st] = fields.as_slice() else {
                return Err(err(format!("expected `pos size status`, found {} fields", fields.len())));
            };
            let pos = parse_number(pos).ok_or_else(|| err(format!("bad position {pos:?}")))?;
            let size = parse_number(size).ok_or_else(|| err(format!("bad size {size:?}")))?;
            let status = st
                .chars()
                .next()
                .filter(|_| st.len() == 1)
                .and_then(BlockStatus::from_symbol)
                .ok_or_else(|| err(format!("bad block status {st:?}")))?;
            if size == 0 {
                return Err(err("block of size 0".into()));
            }
            if pos.checked_add(size).is_none() {
                return Err(err("block ends past 2^64".into()));
            }
            if let Some(prev) = blocks.last() {
                if prev.end() != pos {
                    return Err(err(format!(
                        "block at 0x{pos:x} does not follow the previous one (ends 0x{:x})",
                        prev.end()
                    )));
                }
            }
            blocks.push(Block { pos, size, status });
        }
        let (current_pos, phase, pass) =
            status.ok_or(MapError::Syntax { line: 0, message: "no status line".into() })?;
        let mut m = Self { current_pos, phase, pass, blocks: Vec::new() };
        for b in blocks {
            m.push_merged(b);
        }
        Ok(m)
    }

    /// Reads and parses the map at `path`.
    pub fn load(path: &Path) -> Result<Self, MapError> {
        let text = fs::read_to_string(path).map_err(|source| MapError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&text)
    }

    fn push_merged(&mut self, b: Block) {
        match self.blocks.last_mut() {
            Some(last) if last.status == b.status && last.end() == b.pos => {
                last.size = last.size.saturating_add(b.size)
            }
            _ => self.blocks.push(b),
        }
    }

    /// The blocks, contiguous and in order, neighbours of equal status merged.
    #[must_use]
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The first byte covered.
    #[must_use]
    pub fn start(&self) -> u64 {
        self.blocks.first().map_or(0, |b| b.pos)
    }

    /// One past the last byte covered.
    #[must_use]
    pub fn end(&self) -> u64 {
        self.blocks.last().map_or(0, Block::end)
    }

    /// Index of the block holding `pos`.
    fn find(&self, pos: u64) -> Option<usize> {
        let i = self.blocks.partition_point(|b| b.end() <= pos);
        self.blocks.get(i).filter(|b| b.pos <= pos).map(|_| i)
    }

    /// The status of the byte at `pos`, `None` outside the map.
    #[must_use]
    pub fn status_at(&self, pos: u64) -> Option<BlockStatus> {
        self.find(pos).and_then(|i| self.blocks.get(i)).map(|b| b.status)
    }

    /// Gives `[pos, pos + size)` the status `status`, splitting and merging blocks. The part outside the map is
    /// ignored.
    pub fn set(&mut self, pos: u64, size: u64, status: BlockStatus) {
        let start = pos.max(self.start());
        let end = pos.saturating_add(size).min(self.end());
        if start >= end {
            return;
        }
        let (Some(first), Some(last)) = (self.find(start), self.find(end.saturating_sub(1))) else {
            return;
        };
        let old_first = self.blocks.get(first).copied();
        let old_last = self.blocks.get(last).copied();
        let mut replacement = Vec::with_capacity(3);
        if let Some(b) = old_first.filter(|b| b.pos < start) {
            replacement.push(Block { pos: b.pos, size: start.saturating_sub(b.pos), status: b.status });
        }
        replacement.push(Block { pos: start, size: end.saturating_sub(start), status });
        if let Some(b) = old_last.filter(|b| b.end() > end) {
            replacement.push(Block { pos: end, size: b.end().saturating_sub(end), status: b.status });
        }
        // Merge with the neighbours outside the replaced range.
        let lo = first.saturating_sub(1);
        let hi = last.saturating_add(2).min(self.blocks.len());
        let mut merged: Vec<Block> = Vec::with_capacity(5);
        let before = if first > 0 { self.blocks.get(lo).copied() } else { None };
        let after = if last.saturating_add(1) < self.blocks.len() {
            self.blocks.get(last.saturating_add(1)).copied()
        } else {
            None
        };
        for b in before.into_iter().chain(replacement).chain(after) {
            match merged.last_mut() {
                Some(m) if m.status == b.status && m.end() == b.pos => m.size = m.size.saturating_add(b.size),
                _ => merged.push(b),
            }
        }
        let from = if first > 0 { lo } else { first };
        self.blocks.splice(from..hi, merged);
    }

    /// Bytes in each status, indexed by [`BlockStatus::index`].
    #[must_use]
    pub fn totals(&self) -> [u64; 5] {
        let mut t = [0u64; 5];
        for b in &self.blocks {
            if let Some(v) = t.get_mut(b.status.index()) {
                *v = v.saturating_add(b.size);
            }
        }
        t
    }

    /// The first block at or after `pos` (the block holding `pos` included, clipped to start at `pos`) whose
    /// status is `status`.
    #[must_use]
    pub fn next_with(&self, pos: u64, status: BlockStatus) -> Option<Block> {
        let i = self.blocks.partition_point(|b| b.end() <= pos);
        self.blocks.get(i..)?.iter().find(|b| b.status == status).map(|b| {
            let p = b.pos.max(pos);
            Block { pos: p, size: b.end().saturating_sub(p), status }
        })
    }

    /// The last block ending at or before `end` (the block holding `end - 1` included, clipped to end there)
    /// whose status is `status`.
    #[must_use]
    pub fn prev_with(&self, end: u64, status: BlockStatus) -> Option<Block> {
        let i = self.blocks.partition_point(|b| b.pos < end);
        self.blocks.get(..i)?.iter().rev().find(|b| b.status == status).map(|b| {
            let e = b.end().min(end);
            Block { pos: b.pos, size: e.saturating_sub(b.pos), status }
        })
    }

    /// Writes the map: `comments` as `#` lines, the status line, the blocks.
    pub fn write_to<W: Write>(&self, w: &mut W, comments: &[String]) -> io::Result<()> {
        for c in comments {
            for l in c.lines() {
                writeln!(w, "# {l}")?;
            }
        }
        writeln!(w, "# current_pos  current_status  current_pass")?;
        writeln!(w, "0x{:08X}     {}               {}", self.current_pos, self.phase.symbol(), self.pass)?;
        writeln!(w, "#      pos        size  status")?;
        for b in &self.blocks {
            writeln!(w, "0x{:08X}  0x{:08X}  {}", b.pos, b.size, b.status.symbol())?;
        }
        Ok(())
    }

    /// Saves the map to `path` so that a crash at any moment leaves either the old or the new map: the text goes
    /// to a temporary file beside it, which is flushed to disk and renamed over `path`; then the folder is synced.
    pub fn save(&self, path: &Path, comments: &[String]) -> Result<(), MapError> {
        let io_err = |source| MapError::Io { path: path.to_path_buf(), source };
        let mut text = Vec::with_capacity(64usize.saturating_mul(self.blocks.len().saturating_add(4)));
        self.write_to(&mut text, comments).map_err(io_err)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "map".into());
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            fs::rename(&tmp, path)?;
            // The rename itself is durable once the folder is synced; a folder that cannot be opened (some
            // network file systems) only loses that guarantee.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(m: &Mapfile) -> Vec<(u64, u64, char)> {
        m.blocks().iter().map(|b| (b.pos, b.size, b.status.symbol())).collect()
    }

    #[test]
    fn set_splits_and_merges() {
        let mut m = Mapfile::new(100);
        m.set(10, 10, BlockStatus::Finished);
        assert_eq!(statuses(&m), vec![(0, 10, '?'), (10, 10, '+'), (20, 80, '?')]);
        m.set(0, 10, BlockStatus::Finished);
        assert_eq!(statuses(&m), vec![(0, 20, '+'), (20, 80, '?')]);
        m.set(15, 10, BlockStatus::BadSector);
        assert_eq!(statuses(&m), vec![(0, 15, '+'), (15, 10, '-'), (25, 75, '?')]);
        m.set(0, 200, BlockStatus::Finished);
        assert_eq!(statuses(&m), vec![(0, 100, '+')]);
        m.set(99, 5, BlockStatus::NonTrimmed);
        assert_eq!(statuses(&m), vec![(0, 99, '+'), (99, 1, '*')]);
        m.set(99, 1, BlockStatus::Finished);
        assert_eq!(statuses(&m), vec![(0, 100, '+')]);
        assert_eq!(m.totals(), [0, 0, 0, 0, 100]);
    }

    #[test]
    fn round_trip_and_search() {
        let mut m = Mapfile::new(0x10000);
        m.set(0x800, 0x800, BlockStatus::BadSector);
        m.set(0x4000, 0x1000, BlockStatus::NonScraped);
        m.current_pos = 0x4000;
        m.phase = Phase::Scraping;
        m.pass = 2;
        let mut out = Vec::new();
        m.write_to(&mut out, &["Mapfile. Created by odix".into()]).unwrap();
        let back = Mapfile::parse(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.next_with(0x900, BlockStatus::BadSector).map(|b| (b.pos, b.size)), Some((0x900, 0x700)));
        assert_eq!(m.prev_with(0x4800, BlockStatus::NonScraped).map(|b| (b.pos, b.size)), Some((0x4000, 0x800)));
        assert_eq!(m.status_at(0x4fff), Some(BlockStatus::NonScraped));
        assert_eq!(m.status_at(0x10000), None);
    }

    #[test]
    fn ddrescue_written_map() {
        let text = "# Mapfile. Created by GNU ddrescue version 1.27\n# Command line: ddrescue /dev/sr0 a a.map\n\
                    # current_pos  current_status  current_pass\n0x00010000     ?               1\n\
                    #      pos        size  status\n0x00000000  0x00010000  +\n0x00010000  0x000F0000  ?\n";
        let m = Mapfile::parse(text).unwrap();
        assert_eq!(m.end(), 0x100000);
        assert_eq!(m.pass, 1);
        // Pre-1.21 maps have no pass field.
        let m = Mapfile::parse("0x0 +\n0x0 0x100 +\n").unwrap();
        assert_eq!((m.pass, m.end()), (1, 0x100));
    }

    #[test]
    fn rejects_broken_maps() {
        for bad in [
            "",
            "0x0\n",
            "0x0 X 1\n",
            "0x0 + 1\n0x0 0x10 +\n0x20 0x10 +\n",
            "0x0 + 1\n0x0 0x0 +\n",
            "0x0 + 1\n0x0 0x10 Q\n",
            "0x0 + 1\n0x0 0x10\n",
            "0x0 + 1\n0xFFFFFFFFFFFFFFFF 0x10 +\n",
        ] {
            assert!(Mapfile::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn save_is_atomic_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.map");
        let mut m = Mapfile::new(4096);
        m.save(&p, &[]).unwrap();
        m.set(0, 2048, BlockStatus::Finished);
        m.save(&p, &[]).unwrap();
        assert_eq!(Mapfile::load(&p).unwrap(), m);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

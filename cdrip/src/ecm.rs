//! ECM ("Error Code Modeler") files: a file of raw CD sectors with the parts of each sector that can be
//! computed from the rest (sync, mode byte, EDC, P/Q parities, the second subheader copy) left out.
//!
//! # Format
//! The file starts with `ECM\0`. Then come records, each a header and its stored bytes. The header packs a type
//! (2 bits) and a count minus one (up to 32 bits): the first byte holds the type in bits 0–1 and the count's
//! low 5 bits in bits 2–6; while bit 7 of a byte is set another byte follows with the next 7 bits. Types:
//!
//! | type | stored per unit                        | decoded per unit                                        |
//! |------|----------------------------------------|---------------------------------------------------------|
//! | 0    | 1 byte                                 | that byte                                               |
//! | 1    | 3 address bytes + 2048 user data       | a Mode 1 sector of 2352 bytes                           |
//! | 2    | 4 subheader bytes + 2048 user data     | the 2336 bytes after the header of a Mode 2 Form 1 sector |
//! | 3    | 4 subheader bytes + 2324 user data     | the 2336 bytes after the header of a Mode 2 Form 2 sector |
//!
//! A count of `0xFFFFFFFF` (a count minus one that wraps) ends the records; the 4 bytes after it are the EDC
//! ([`crate::sector::edc`]) of the whole decoded file, least significant byte first. Types 2 and 3 leave the
//! sync and header of a Mode 2 sector to a type 0 record before them.
//!
//! The rebuilt fields come from the ECMA-130 code in [`crate::sector`]. [`encode`] strips a sector only where
//! rebuilding it gives back exactly the bytes it had, so that decoding always returns the input byte for byte.
//!
//! [`EcmStore`] reads an ECM file as a [`ByteStore`] with random access: on open it walks the record headers
//! once (checking that each record's stored bytes are in the file) and keeps the position of every
//! [`CHECKPOINT_EVERY`]th record (fewer for records of a few bytes), so a read walks few headers.

use std::io::{self, BufReader, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::sector::{self, edc, RawSector, SectorKind, RAW_SECTOR_LEN, SYNC};
use crate::store::{ByteStore, FileStore, StoreReader};

/// The signature an ECM file starts with.
pub const MAGIC: [u8; 4] = *b"ECM\0";

/// Every how many records the index keeps a position.
pub const CHECKPOINT_EVERY: u64 = 32;

/// The fewest decoded bytes between two checkpoints.
const CHECKPOINT_MIN_BYTES: u64 = 4096;

/// The largest count a record may have (the format's own limit).
const MAX_COUNT: u64 = 0x8000_0000;

/// Decoded bytes of the Mode 2 part rebuilt by types 2 and 3.
const MODE2_PART: usize = 2336;

/// The end-of-records header: type 0 and a count minus one of `0xFFFFFFFF`.
const END_MARK: [u8; 5] = [0xFC, 0xFF, 0xFF, 0xFF, 0x3F];

/// A record's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Raw,
    Mode1,
    Form1,
    Form2,
}

impl Kind {
    fn from_bits(b: u8) -> Kind {
        match b & 3 {
            0 => Kind::Raw,
            1 => Kind::Mode1,
            2 => Kind::Form1,
            _ => Kind::Form2,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Kind::Raw => 0,
            Kind::Mode1 => 1,
            Kind::Form1 => 2,
            Kind::Form2 => 3,
        }
    }

    /// Bytes stored per unit.
    fn stored(self) -> u64 {
        match self {
            Kind::Raw => 1,
            Kind::Mode1 => 3 + 2048,
            Kind::Form1 => 4 + 2048,
            Kind::Form2 => 4 + 2324,
        }
    }

    /// Bytes decoded per unit.
    fn decoded(self) -> u64 {
        match self {
            Kind::Raw => 1,
            Kind::Mode1 => RAW_SECTOR_LEN as u64,
            Kind::Form1 | Kind::Form2 => MODE2_PART as u64,
        }
    }
}

/// One record: its type, count, where its stored bytes start and where its decoded bytes start.
#[derive(Clone, Copy, Debug)]
struct Record {
    kind: Kind,
    count: u64,
    stored_at: u64,
    decoded_at: u64,
}

impl Record {
    fn stored_len(&self) -> u64 {
        self.count.saturating_mul(self.kind.stored())
    }

    fn decoded_len(&self) -> u64 {
        self.count.saturating_mul(self.kind.decoded())
    }

    fn next_header_at(&self) -> u64 {
        self.stored_at.saturating_add(self.stored_len())
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("ECM: {what}"))
}

/// A decoded record header: `None` for the end mark, and the header's length.
type Header = (Option<(Kind, u64)>, u64);

/// Parses the header at the start of `b` (at most 5 bytes are looked at).
fn parse_header(b: &[u8]) -> Option<Header> {
    let first = *b.first()?;
    let kind = Kind::from_bits(first);
    let mut num = u64::from((first >> 2) & 0x1F);
    let mut more = first & 0x80 != 0;
    let mut shift = 5u32;
    let mut len = 1u64;
    for &c in b.iter().skip(1).take(4) {
        if !more {
            break;
        }
        num |= u64::from(c & 0x7F).checked_shl(shift).unwrap_or(0);
        shift = shift.saturating_add(7);
        len = len.saturating_add(1);
        more = c & 0x80 != 0;
    }
    if more {
        // More than 5 bytes (33 bits) is no header an encoder writes: the caller reports it.
        return None;
    }
    let num = num & 0xFFFF_FFFF;
    if num == 0xFFFF_FFFF {
        return Some((None, len));
    }
    Some((Some((kind, num.saturating_add(1))), len))
}

/// Writes the header of a record of `count` units of `kind`.
fn write_header(out: &mut impl Write, kind: Kind, count: u64) -> io::Result<()> {
    let mut n = count.wrapping_sub(1) & 0xFFFF_FFFF;
    let mut bytes = Vec::with_capacity(5);
    let low = u8::try_from(n & 0x1F).unwrap_or(0);
    n >>= 5;
    bytes.push((low << 2) | kind.bits() | if n != 0 { 0x80 } else { 0 });
    while n != 0 {
        let b = u8::try_from(n & 0x7F).unwrap_or(0);
        n >>= 7;
        bytes.push(b | if n != 0 { 0x80 } else { 0 });
    }
    out.write_all(&bytes)
}

fn part(s: &[u8], r: Range<usize>) -> &[u8] {
    s.get(r).unwrap_or_default()
}

fn part_mut(s: &mut [u8], r: Range<usize>) -> &mut [u8] {
    s.get_mut(r).unwrap_or_default()
}

/// Rebuilds the decoded bytes of one unit of a sector type from its stored bytes into `out` (2352 bytes for
/// Mode 1, 2336 for the Mode 2 types).
fn rebuild(kind: Kind, stored: &[u8], out: &mut Vec<u8>) {
    let mut s: RawSector = [0u8; RAW_SECTOR_LEN];
    part_mut(&mut s, 0..12).copy_from_slice(&SYNC);
    out.clear();
    match kind {
        Kind::Mode1 => {
            part_mut(&mut s, 12..15).copy_from_slice(part(stored, 0..3));
            if let Some(m) = s.get_mut(15) {
                *m = 1;
            }
            part_mut(&mut s, 16..2064).copy_from_slice(part(stored, 3..2051));
            sector::finish(&mut s, SectorKind::Mode1);
            out.extend_from_slice(&s);
        }
        Kind::Form1 | Kind::Form2 => {
            if let Some(m) = s.get_mut(15) {
                *m = 2;
            }
            part_mut(&mut s, 16..20).copy_from_slice(part(stored, 0..4));
            part_mut(&mut s, 20..24).copy_from_slice(part(stored, 0..4));
            if kind == Kind::Form1 {
                part_mut(&mut s, 24..2072).copy_from_slice(part(stored, 4..2052));
                sector::finish(&mut s, SectorKind::Mode2Form1);
            } else {
                part_mut(&mut s, 24..2348).copy_from_slice(part(stored, 4..2328));
                sector::finish(&mut s, SectorKind::Mode2Form2);
            }
            out.extend_from_slice(part(&s, 16..RAW_SECTOR_LEN));
        }
        Kind::Raw => out.extend_from_slice(stored),
    }
}

/// The bytes stored for one unit of `kind` whose decoded bytes are `decoded`.
fn strip(kind: Kind, decoded: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match kind {
        Kind::Mode1 => {
            out.extend_from_slice(part(decoded, 12..15));
            out.extend_from_slice(part(decoded, 16..2064));
        }
        Kind::Form1 => {
            out.extend_from_slice(part(decoded, 0..4));
            out.extend_from_slice(part(decoded, 8..2056));
        }
        Kind::Form2 => {
            out.extend_from_slice(part(decoded, 0..4));
            out.extend_from_slice(part(decoded, 8..2332));
        }
        Kind::Raw => out.extend_from_slice(decoded),
    }
}

/// A store read through a reference, for the scan on open.
#[derive(Debug)]
struct ByRef<'a>(&'a dyn ByteStore);

impl ByteStore for ByRef<'_> {
    fn len(&self) -> u64 {
        self.0.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_at(offset, buf)
    }
}

/// The record the last read ended in, and the last sector rebuilt (its stored position and decoded bytes).
type ReadCache = (Option<Record>, Option<(u64, Vec<u8>)>);

/// An ECM file read as the bytes it decodes to.
#[derive(Debug)]
pub struct EcmStore {
    path: PathBuf,
    source: Box<dyn ByteStore>,
    file_len: u64,
    len: u64,
    /// Where the end mark is.
    end_at: u64,
    /// The EDC stored after the end mark.
    edc: u32,
    checkpoints: Vec<Record>,
    cache: Mutex<ReadCache>,
}

impl EcmStore {
    /// Opens the ECM file at `path` and walks its record headers.
    ///
    /// # Errors
    /// I/O errors; `InvalidData` for a file that is not ECM, a header that cannot be read, a record whose stored
    /// bytes go past the end of the file, or a missing end mark or EDC.
    pub fn open(path: &Path) -> io::Result<EcmStore> {
        EcmStore::from_source(path, Box::new(FileStore::open(path)?))
    }

    /// Reads the ECM file whose bytes `source` gives (`path` names it).
    ///
    /// # Errors
    /// As [`EcmStore::open`].
    pub fn from_source(path: &Path, source: Box<dyn ByteStore>) -> io::Result<EcmStore> {
        let file_len = source.len();
        let mut r = BufReader::with_capacity(64 * 1024, StoreReader::new(ByRef(&*source)));
        let mut magic = [0u8; 4];
        r.read_exact(&mut magic).map_err(|_| invalid("too short for the signature".into()))?;
        if magic != MAGIC {
            return Err(invalid("no ECM signature".into()));
        }
        let mut pos = 4u64;
        let mut decoded = 0u64;
        let mut checkpoints = Vec::new();
        let mut n = 0u64;
        loop {
            let mut head = [0u8; 5];
            let want = usize::try_from(file_len.saturating_sub(pos).min(5)).unwrap_or(5);
            let head_part = head.get_mut(..want).unwrap_or_default();
            r.read_exact(head_part)?;
            let Some((rec, hlen)) = parse_header(head_part) else {
                return Err(invalid(format!("record header at byte {pos} cannot be read")));
            };
            // Give back the bytes read past the header.
            r.seek_relative(i64::try_from(hlen).unwrap_or(0).saturating_sub(i64::try_from(want).unwrap_or(0)))?;
            let at = pos;
            pos = pos.saturating_add(hlen);
            let Some((kind, count)) = rec else {
                let mut e = [0u8; 4];
                if r.read_exact(&mut e).is_err() {
                    return Err(invalid(format!("the EDC after the end mark at byte {at} is missing")));
                }
                if pos.saturating_add(4) != file_len {
                    return Err(invalid(format!(
                        "{} bytes after the end of the records",
                        file_len.saturating_sub(pos.saturating_add(4))
                    )));
                }
                let store = EcmStore {
                    path: path.to_path_buf(),
                    source,
                    file_len,
                    len: decoded,
                    end_at: at,
                    edc: u32::from_le_bytes(e),
                    checkpoints,
                    cache: Mutex::new((None, None)),
                };
                return Ok(store);
            };
            if count >= MAX_COUNT {
                return Err(invalid(format!("record at byte {at} claims {count} units")));
            }
            let rec = Record { kind, count, stored_at: pos, decoded_at: decoded };
            let end = rec.next_header_at();
            if end > file_len {
                return Err(invalid(format!(
                    "record at byte {at} claims {count} units ({} bytes) but the file ends at byte {file_len}",
                    rec.stored_len()
                )));
            }
            // A checkpoint every CHECKPOINT_EVERY records, but not closer than CHECKPOINT_MIN_BYTES of decoded
            // bytes, so that a file of tiny records does not make an index as large as itself.
            let since = checkpoints.last().map_or(u64::MAX, |c: &Record| decoded.saturating_sub(c.decoded_at));
            if n == 0 || (n >= CHECKPOINT_EVERY && since >= CHECKPOINT_MIN_BYTES) {
                checkpoints.push(rec);
                n = 0;
            }
            n = n.saturating_add(1);
            decoded = decoded.saturating_add(rec.decoded_len());
            r.seek_relative(i64::try_from(rec.stored_len()).unwrap_or(i64::MAX))?;
            pos = end;
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The EDC the file says its decoded bytes have.
    pub fn stored_edc(&self) -> u32 {
        self.edc
    }

    /// The record whose header is at `at` (`None` at the end mark).
    fn record_at(&self, at: u64, decoded_at: u64) -> io::Result<Option<Record>> {
        let mut head = [0u8; 5];
        let want = usize::try_from(self.file_len.saturating_sub(at).min(5)).unwrap_or(5);
        let head = head.get_mut(..want).unwrap_or_default();
        self.source.read_at(at, head)?;
        match parse_header(head) {
            Some((Some((kind, count)), hlen)) => {
                Ok(Some(Record { kind, count, stored_at: at.saturating_add(hlen), decoded_at }))
            }
            Some((None, _)) => Ok(None),
            None => Err(invalid(format!("record header at byte {at} cannot be read"))),
        }
    }

    /// The record that holds decoded byte `offset`.
    fn find(&self, offset: u64, hint: Option<Record>) -> io::Result<Record> {
        let i = self.checkpoints.partition_point(|r| r.decoded_at <= offset);
        let Some(checkpoint) = i.checked_sub(1).and_then(|i| self.checkpoints.get(i)).copied() else {
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        // Walk on from the last read's record when it lies between that checkpoint and the offset.
        let start = match hint {
            Some(h) if h.decoded_at <= offset && h.decoded_at >= checkpoint.decoded_at => h,
            _ => checkpoint,
        };
        let mut rec = start;
        // At most CHECKPOINT_EVERY steps, or 4 KiB of decoded bytes.
        while rec.decoded_at.saturating_add(rec.decoded_len()) <= offset {
            let next = rec.next_header_at();
            if next >= self.end_at {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let Some(r) = self.record_at(next, rec.decoded_at.saturating_add(rec.decoded_len()))? else {
                return Err(io::ErrorKind::UnexpectedEof.into());
            };
            rec = r;
        }
        Ok(rec)
    }

    /// Copies every decoded byte to `out` in order, checking the EDC at the end; `progress` is told the bytes
    /// written so far now and then.
    ///
    /// # Errors
    /// I/O errors of either side; `InvalidData` when the EDC of the decoded bytes is not the one stored.
    pub fn decode_to(&self, out: &mut dyn Write, progress: &mut dyn FnMut(u64) -> io::Result<()>) -> io::Result<u64> {
        let mut buf = vec![0u8; 1 << 20];
        let mut pos = 0u64;
        let mut crc = 0u32;
        while pos < self.len {
            let n = usize::try_from(self.len.saturating_sub(pos)).unwrap_or(usize::MAX).min(buf.len());
            let chunk = buf.get_mut(..n).unwrap_or_default();
            self.read_at(pos, chunk)?;
            crc = edc::update(crc, chunk);
            out.write_all(chunk)?;
            pos = pos.saturating_add(n as u64);
            progress(pos)?;
        }
        if crc != self.edc {
            return Err(invalid(format!("the decoded bytes have EDC {crc:08x}, the file says {:08x}", self.edc)));
        }
        Ok(pos)
    }

    /// Checks the EDC of the whole decoded file (reading all of it).
    ///
    /// # Errors
    /// As [`EcmStore::decode_to`].
    pub fn check(&self) -> io::Result<()> {
        self.decode_to(&mut io::sink(), &mut |_| Ok(())).map(|_| ())
    }
}

impl ByteStore for EcmStore {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if offset.checked_add(buf.len() as u64).is_none_or(|e| e > self.len) {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut guard = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (hint, sector_cache) = &mut *guard;
        let mut done = 0usize;
        let mut stored = Vec::new();
        while done < buf.len() {
            let at = offset.saturating_add(done as u64);
            let rec = self.find(at, *hint)?;
            *hint = Some(rec);
            let rel = at.saturating_sub(rec.decoded_at);
            let left_in_rec = rec.decoded_len().saturating_sub(rel);
            let want = usize::try_from(left_in_rec).unwrap_or(usize::MAX).min(buf.len().saturating_sub(done));
            let dst = buf.get_mut(done..done.saturating_add(want)).unwrap_or_default();
            if rec.kind == Kind::Raw {
                self.source.read_at(rec.stored_at.saturating_add(rel), dst)?;
                done = done.saturating_add(want);
                continue;
            }
            let unit = rec.kind.decoded();
            let i = rel.checked_div(unit).unwrap_or(0);
            let within = usize::try_from(rel.checked_rem(unit).unwrap_or(0)).unwrap_or(0);
            let stored_at = rec.stored_at.saturating_add(i.saturating_mul(rec.kind.stored()));
            let cached = matches!(sector_cache, Some((p, _)) if *p == stored_at);
            if !cached {
                stored.resize(usize::try_from(rec.kind.stored()).unwrap_or(0), 0);
                self.source.read_at(stored_at, &mut stored)?;
                let mut decoded = sector_cache.take().map(|(_, v)| v).unwrap_or_default();
                rebuild(rec.kind, &stored, &mut decoded);
                *sector_cache = Some((stored_at, decoded));
            }
            let sector = sector_cache.as_ref().map(|(_, v)| v.as_slice()).unwrap_or_default();
            let from_sector = sector.get(within..).unwrap_or_default();
            let n = from_sector.len().min(dst.len());
            part_mut(dst, 0..n).copy_from_slice(part(from_sector, 0..n));
            if n == 0 {
                return Err(invalid(format!("sector at byte {stored_at} decodes to nothing")));
            }
            done = done.saturating_add(n);
        }
        Ok(())
    }
}

/// What [`encode`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodeReport {
    /// Bytes read.
    pub input_len: u64,
    /// Bytes written.
    pub output_len: u64,
    /// Mode 1 sectors stripped.
    pub mode1: u64,
    /// Mode 2 Form 1 sectors stripped.
    pub form1: u64,
    /// Mode 2 Form 2 sectors stripped.
    pub form2: u64,
}

/// Units kept before a record is written out (so that a run is never held whole in memory).
const MAX_RUN_BYTES: usize = 1 << 20;

/// The record being gathered by [`encode`].
struct Run<W: Write> {
    out: W,
    kind: Kind,
    count: u64,
    bytes: Vec<u8>,
    written: u64,
}

impl<W: Write> Run<W> {
    fn flush(&mut self) -> io::Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let mut head = Vec::with_capacity(5);
        write_header(&mut head, self.kind, self.count)?;
        self.out.write_all(&head)?;
        self.out.write_all(&self.bytes)?;
        self.written = self.written.saturating_add(head.len() as u64).saturating_add(self.bytes.len() as u64);
        self.bytes.clear();
        self.count = 0;
        Ok(())
    }

    fn push(&mut self, kind: Kind, stored: &[u8]) -> io::Result<()> {
        if self.kind != kind || self.bytes.len() >= MAX_RUN_BYTES {
            self.flush()?;
            self.kind = kind;
        }
        self.bytes.extend_from_slice(stored);
        self.count = self.count.saturating_add(if kind == Kind::Raw { stored.len() as u64 } else { 1 });
        Ok(())
    }
}

/// Which sector type `window` (at least 2352 bytes from a sync field) is stored as exactly, if any: a Mode 1
/// sector from its start, or a Mode 2 Form 1/2 part from byte 16.
fn exact_kind(window: &[u8], scratch: &mut Vec<u8>, stored: &mut Vec<u8>) -> Option<Kind> {
    let sector = window.get(..RAW_SECTOR_LEN)?;
    if part(sector, 0..12) != SYNC {
        return None;
    }
    match sector.get(15) {
        Some(1) => {
            strip(Kind::Mode1, sector, stored);
            rebuild(Kind::Mode1, stored, scratch);
            (scratch.as_slice() == sector).then_some(Kind::Mode1)
        }
        Some(2) => {
            let payload = part(sector, 16..RAW_SECTOR_LEN);
            if part(payload, 0..4) != part(payload, 4..8) {
                return None;
            }
            [Kind::Form1, Kind::Form2].into_iter().find(|&k| {
                strip(k, payload, stored);
                rebuild(k, stored, scratch);
                scratch.as_slice() == payload
            })
        }
        _ => None,
    }
}

/// Encodes the bytes of `input` as an ECM file written to `out`. Every position where a sync field starts is
/// tried as a sector (so any sector size or offset is found); everything else is stored as it is.
///
/// # Errors
/// I/O errors of either side.
pub fn encode<R: Read, W: Write>(mut input: R, out: W) -> io::Result<EncodeReport> {
    let mut report = EncodeReport::default();
    let mut run = Run { out, kind: Kind::Raw, count: 0, bytes: Vec::with_capacity(MAX_RUN_BYTES + 4096), written: 0 };
    run.out.write_all(&MAGIC)?;
    run.written = 4;
    let mut buf: Vec<u8> = Vec::with_capacity(2 << 20);
    let mut pos = 0usize;
    let mut eof = false;
    let mut crc = 0u32;
    let (mut scratch, mut stored) = (Vec::new(), Vec::new());
    loop {
        // Keep at least one sector ahead of `pos` (unless the input has ended).
        if !eof && buf.len().saturating_sub(pos) < RAW_SECTOR_LEN {
            buf.drain(..pos);
            pos = 0;
            let have = buf.len();
            let want = (2usize << 20).saturating_sub(have);
            let got = input.by_ref().take(want as u64).read_to_end(&mut buf)?;
            eof = got < want;
            let filled = buf.len();
            let new = part(&buf, have..filled);
            crc = edc::update(crc, new);
            report.input_len = report.input_len.saturating_add(new.len() as u64);
        }
        let rest = buf.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        match exact_kind(rest, &mut scratch, &mut stored) {
            Some(Kind::Mode1) => {
                run.push(Kind::Mode1, &stored)?;
                report.mode1 = report.mode1.saturating_add(1);
                pos = pos.saturating_add(RAW_SECTOR_LEN);
            }
            Some(k) => {
                run.push(Kind::Raw, part(rest, 0..16))?;
                run.push(k, &stored)?;
                if k == Kind::Form1 {
                    report.form1 = report.form1.saturating_add(1);
                } else {
                    report.form2 = report.form2.saturating_add(1);
                }
                pos = pos.saturating_add(RAW_SECTOR_LEN);
            }
            None => {
                // Store bytes as they are up to the next place a sync field could start; while more input may
                // come, stop short of a sync field cut at the buffer's end.
                let limit = if eof { rest.len() } else { rest.len().saturating_sub(RAW_SECTOR_LEN - 1).max(1) };
                let next = part(rest, 1..limit).iter().position(|&b| b == 0).map_or(limit, |p| p.saturating_add(1));
                let next = next.max(1).min(rest.len());
                run.push(Kind::Raw, part(rest, 0..next))?;
                pos = pos.saturating_add(next);
            }
        }
    }
    run.flush()?;
    run.out.write_all(&END_MARK)?;
    run.out.write_all(&crc.to_le_bytes())?;
    run.out.flush()?;
    report.output_len = run.written.saturating_add(END_MARK.len() as u64).saturating_add(4);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        for (kind, count) in [(Kind::Raw, 1u64), (Kind::Mode1, 32), (Kind::Form2, 33), (Kind::Raw, 0x7FFF_FFFF)] {
            let mut v = Vec::new();
            write_header(&mut v, kind, count).unwrap();
            assert_eq!(parse_header(&v), Some((Some((kind, count)), v.len() as u64)));
        }
        assert_eq!(parse_header(&END_MARK), Some((None, 5)));
        assert_eq!(parse_header(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), None);
    }

    fn sample() -> Vec<u8> {
        let mut v: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for lba in 0..40i64 {
            let user: [u8; 2048] = std::array::from_fn(|i| (i as i64 * 3 + lba) as u8);
            let s = match lba % 5 {
                0 => sector::encode_mode1(lba, &user).unwrap(),
                1 => {
                    let mut s = [0u8; RAW_SECTOR_LEN];
                    sector::write_header(&mut s, lba, 2).unwrap();
                    s[16..24].copy_from_slice(&[1, 2, 0x20, 0, 1, 2, 0x20, 0]);
                    s[24..2348].copy_from_slice(&[lba as u8; 2324]);
                    sector::finish(&mut s, SectorKind::Mode2Form2);
                    s
                }
                2 | 4 => sector::encode_mode2_form1(lba, [0, 0, 8, 0], &user).unwrap(),
                _ => {
                    let mut s = sector::encode_mode1(lba, &user).unwrap();
                    s[100] ^= 1; // a damaged sector is kept as it is
                    s
                }
            };
            v.extend_from_slice(&s);
        }
        v.extend_from_slice(&[0u8; 5000]);
        v
    }

    #[test]
    fn round_trip_and_random_reads() {
        let data = sample();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ecm");
        let mut out = Vec::new();
        let rep = encode(data.as_slice(), &mut out).unwrap();
        assert_eq!((rep.mode1, rep.form2, rep.form1), (8, 8, 16));
        assert!(out.len() < data.len());
        std::fs::write(&p, &out).unwrap();
        let st = EcmStore::open(&p).unwrap();
        assert_eq!(st.len(), data.len() as u64);
        let mut back = Vec::new();
        st.decode_to(&mut back, &mut |_| Ok(())).unwrap();
        assert_eq!(back, data);
        for (off, n) in [(0usize, 10usize), (999, 5000), (20000, 1), (data.len() - 3, 3), (3000, 40000)] {
            let mut b = vec![0u8; n];
            st.read_at(off as u64, &mut b).unwrap();
            assert_eq!(b, data[off..off + n]);
        }
        // A wrong final EDC is found; a lying count is refused on open.
        let mut bad = out.clone();
        let l = bad.len();
        bad[l - 1] ^= 1;
        std::fs::write(&p, &bad).unwrap();
        assert!(EcmStore::open(&p).unwrap().check().is_err());
        let mut lie = MAGIC.to_vec();
        write_header(&mut lie, Kind::Mode1, 1000).unwrap();
        lie.extend_from_slice(&[0u8; 100]);
        std::fs::write(&p, &lie).unwrap();
        assert!(EcmStore::open(&p).unwrap_err().to_string().contains("claims 1000"));
    }
}

//! Compressed ISO images: CSO (CISO v1 with deflate blocks, v2 with deflate or LZ4 blocks) and ZSO (LZ4 blocks),
//! as PSP and PS2 emulators read them.
//!
//! # Format
//! A 24-byte header (little-endian): the magic (`CISO` or `ZISO`), a header size (`0x18`; not reliable in
//! CISO v1), the uncompressed size (64 bits), the block size, a version byte (0 or 1, or 2 for CISO v2), the
//! index shift, two unused bytes. Then `ceil(size / block_size) + 1` 32-bit index entries: the low 31 bits
//! shifted left by the index shift are where each block's data starts in the file, the next entry where it
//! ends (so the entries never decrease; the space between a block's data and the next may be padding). The top
//! bit says, in CISO v1 and ZSO, that the block is stored uncompressed; in CISO v2, that the block is LZ4
//! rather than deflate, a block being stored uncompressed when its length is at least the block size.
//! Deflate blocks are raw deflate streams (RFC 1951), LZ4 blocks raw LZ4 blocks (no frame).
//!
//! [`CsoStore`] reads one as a [`ByteStore`] (every index entry checked on open, a few decoded blocks kept);
//! [`compress`] writes one from a stream, compressing blocks on several threads.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::store::{ByteStore, FileStore};

/// The header's length.
pub const HEADER_LEN: u64 = 24;
/// The largest block size read or written (bounds the memory a block takes).
pub const MAX_BLOCK_SIZE: u32 = 1 << 20;
/// Decoded blocks kept.
const CACHE_BLOCKS: usize = 16;
/// The index entry's top bit.
const TOP_BIT: u32 = 0x8000_0000;

/// Which kind of compressed ISO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsoFormat {
    /// CISO version 0 or 1: deflate blocks.
    CsoV1,
    /// CISO version 2: deflate or LZ4 blocks.
    CsoV2,
    /// ZISO: LZ4 blocks.
    Zso,
}

impl CsoFormat {
    /// The name users know it by.
    pub fn name(self) -> &'static str {
        match self {
            CsoFormat::CsoV1 => "CSO v1",
            CsoFormat::CsoV2 => "CSO v2",
            CsoFormat::Zso => "ZSO",
        }
    }
}

pub(crate) fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(b.get(at..at.saturating_add(4)).unwrap_or(&[0; 4]));
    u32::from_le_bytes(w)
}

/// A CSO or ZSO file read as the image it holds.
#[derive(Debug)]
pub struct CsoStore {
    path: PathBuf,
    source: Box<dyn ByteStore>,
    format: CsoFormat,
    block_size: u32,
    shift: u32,
    len: u64,
    index: Vec<u32>,
    cache: Mutex<Vec<(u64, Vec<u8>)>>,
}

impl CsoStore {
    /// Opens the CSO or ZSO file at `path` and checks its header and every index entry.
    ///
    /// # Errors
    /// I/O errors; `InvalidData` for a bad signature, version, block size or shift, an index that does not fit
    /// in the file, an entry before the end of the index, past the end of the file or before the previous one.
    pub fn open(path: &Path) -> io::Result<CsoStore> {
        CsoStore::from_source(path, Box::new(FileStore::open(path)?))
    }

    /// Reads the CSO or ZSO file whose bytes `source` gives (`path` names it).
    ///
    /// # Errors
    /// As [`CsoStore::open`].
    pub fn from_source(path: &Path, source: Box<dyn ByteStore>) -> io::Result<CsoStore> {
        let file_len = source.len();
        let mut h = [0u8; 24];
        source.read_at(0, &mut h).map_err(|_| invalid("too short for a CSO/ZSO header".into()))?;
        let version = h.get(20).copied().unwrap_or(0);
        let format = match (h.get(..4), version) {
            (Some(b"CISO"), 0 | 1) => CsoFormat::CsoV1,
            (Some(b"CISO"), 2) => CsoFormat::CsoV2,
            (Some(b"ZISO"), _) => CsoFormat::Zso,
            (Some(b"CISO"), v) => return Err(invalid(format!("CSO version {v}, which odix does not read"))),
            _ => return Err(invalid("no CISO or ZISO signature".into())),
        };
        let mut total = [0u8; 8];
        total.copy_from_slice(h.get(8..16).unwrap_or(&[0; 8]));
        let len = u64::from_le_bytes(total);
        let block_size = le32(&h, 16);
        let shift = u32::from(h.get(21).copied().unwrap_or(0));
        let name = format.name();
        if !(512..=MAX_BLOCK_SIZE).contains(&block_size) || !block_size.is_power_of_two() {
            return Err(invalid(format!("{name} block size {block_size} (odix reads powers of two 512..1 MiB)")));
        }
        if shift > 31 {
            return Err(invalid(format!("{name} index shift {shift}")));
        }
        let blocks = len.div_ceil(u64::from(block_size));
        let index_len = blocks.saturating_add(1).saturating_mul(4);
        let data_start = HEADER_LEN.saturating_add(index_len);
        if data_start > file_len {
            return Err(invalid(format!(
                "{name} of {len} bytes needs {index_len} bytes of index, more than the file holds"
            )));
        }
        let mut raw = vec![0u8; usize::try_from(index_len).map_err(|_| invalid("index too large".into()))?];
        source.read_at(HEADER_LEN, &mut raw)?;
        let index: Vec<u32> = raw.chunks_exact(4).map(|c| le32(c, 0)).collect();
        let mut prev = data_start;
        for (i, &e) in index.iter().enumerate() {
            let at = u64::from(e & !TOP_BIT) << shift;
            if at < prev {
                let what = if i == 0 {
                    "inside the index".to_string()
                } else {
                    format!("before entry {}", i.saturating_sub(1))
                };
                return Err(invalid(format!("{name} index entry {i} points at byte {at}, {what}")));
            }
            if at > file_len {
                return Err(invalid(format!(
                    "{name} index entry {i} points at byte {at}, past the end of the file ({file_len})"
                )));
            }
            prev = at;
        }
        Ok(CsoStore {
            path: path.to_path_buf(),
            source,
            format,
            block_size,
            shift,
            len,
            index,
            cache: Mutex::new(Vec::new()),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which kind it is.
    pub fn format(&self) -> CsoFormat {
        self.format
    }

    /// Its block size.
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    fn entry(&self, i: u64) -> io::Result<(u32, u64)> {
        let e = usize::try_from(i)
            .ok()
            .and_then(|i| self.index.get(i))
            .copied()
            .ok_or_else(|| invalid(format!("block {i} is not in the index")))?;
        Ok((e & TOP_BIT, u64::from(e & !TOP_BIT) << self.shift))
    }

    /// Decodes block `b` into `out` (resized to the block's decoded length).
    fn decode_block(&self, b: u64, out: &mut Vec<u8>) -> io::Result<()> {
        let bs = u64::from(self.block_size);
        let (flag, start) = self.entry(b)?;
        let (_, end) = self.entry(b.saturating_add(1))?;
        let stored = end.saturating_sub(start);
        let expected = bs.min(self.len.saturating_sub(b.saturating_mul(bs)));
        let expected_usize = usize::try_from(expected).unwrap_or(0);
        let name = self.format.name();
        let plain = match self.format {
            CsoFormat::CsoV1 | CsoFormat::Zso => flag != 0,
            CsoFormat::CsoV2 => stored >= bs,
        };
        out.clear();
        if plain {
            if stored < expected {
                return Err(invalid(format!(
                    "{name} block {b} is stored uncompressed in {stored} bytes, less than its {expected}"
                )));
            }
            out.resize(expected_usize, 0);
            return self.source.read_at(start, out);
        }
        // A compressed block is never longer than the block it holds; more is corrupt, and never read whole.
        if stored > bs.saturating_mul(2) {
            return Err(invalid(format!("{name} block {b} takes {stored} bytes, more than twice {bs}")));
        }
        let mut input = vec![0u8; usize::try_from(stored).unwrap_or(0)];
        self.source.read_at(start, &mut input)?;
        let lz4 = match self.format {
            CsoFormat::CsoV1 => false,
            CsoFormat::CsoV2 => flag != 0,
            CsoFormat::Zso => true,
        };
        let got = if lz4 {
            // The last block of an image that is not a whole number of blocks holds the image's last bytes, or
            // (as maxcso writes it) a whole block, the image's last bytes followed by zeros.
            let full = usize::try_from(bs).unwrap_or(0);
            let (n, len) = lz4_block_len(&input, expected_usize)
                .map(|n| (n, expected_usize))
                .or_else(|| lz4_block_len(&input, full).filter(|_| full > expected_usize).map(|n| (n, full)))
                .ok_or_else(|| {
                    invalid(format!("{name} block {b}: LZ4 data that does not decode to {expected} bytes"))
                })?;
            out.resize(len, 0);
            lz4_flex::block::decompress_into(input.get(..n).unwrap_or_default(), out)
                .map_err(|e| invalid(format!("{name} block {b}: {e}")))?
        } else {
            let limit = bs.saturating_add(1);
            let mut d = flate2::read::DeflateDecoder::new(input.as_slice()).take(limit);
            d.read_to_end(out).map_err(|e| invalid(format!("{name} block {b}: deflate: {e}")))?;
            if out.len() as u64 > bs {
                return Err(invalid(format!("{name} block {b} expands past the block size ({bs})")));
            }
            out.len()
        };
        if (got as u64) < expected {
            return Err(invalid(format!("{name} block {b} decodes to {got} bytes, not {expected}")));
        }
        out.truncate(expected_usize);
        Ok(())
    }
}

/// The length of the LZ4 block at the start of `input` that decodes to `expected` bytes (the rest of `input`
/// being padding), found by walking its sequences; `None` when the data ends first or would decode to more.
fn lz4_block_len(input: &[u8], expected: usize) -> Option<usize> {
    let mut i = 0usize;
    let mut out = 0usize;
    let ext = |i: &mut usize, mut n: usize| -> Option<usize> {
        loop {
            let b = *input.get(*i)?;
            *i = i.checked_add(1)?;
            n = n.checked_add(usize::from(b))?;
            if b != 255 {
                return Some(n);
            }
        }
    };
    loop {
        let token = *input.get(i)?;
        i = i.checked_add(1)?;
        let mut lit = usize::from(token >> 4);
        if lit == 15 {
            lit = ext(&mut i, lit)?;
        }
        i = i.checked_add(lit)?;
        out = out.checked_add(lit)?;
        if i > input.len() || out > expected {
            return None;
        }
        if out == expected || i == input.len() {
            return (out == expected).then_some(i);
        }
        i = i.checked_add(2)?;
        let mut m = usize::from(token & 15);
        if m == 15 {
            m = ext(&mut i, m)?;
        }
        out = out.checked_add(m)?.checked_add(4)?;
        if i > input.len() || out > expected {
            return None;
        }
    }
}

impl ByteStore for CsoStore {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        read_blocks(&self.cache, self.len, self.block_size, offset, buf, |b, out| self.decode_block(b, out))
    }
}

/// Reads `buf` at `offset` of an image of `len` bytes stored in blocks of `block_size`, each decoded by `decode`
/// (into a buffer it resizes to the block's length); the last [`CACHE_BLOCKS`] decoded are kept in `cache`.
pub(crate) fn read_blocks(
    cache: &Mutex<Vec<(u64, Vec<u8>)>>,
    len: u64,
    block_size: u32,
    offset: u64,
    buf: &mut [u8],
    decode: impl Fn(u64, &mut Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    if offset.checked_add(buf.len() as u64).is_none_or(|e| e > len) {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let bs = u64::from(block_size);
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut done = 0usize;
    while done < buf.len() {
        let at = offset.saturating_add(done as u64);
        let b = at.checked_div(bs).unwrap_or(0);
        let within = usize::try_from(at.checked_rem(bs).unwrap_or(0)).unwrap_or(0);
        let slot = match cache.iter().position(|(n, _)| *n == b) {
            Some(p) => p,
            None => {
                let mut block = if cache.len() >= CACHE_BLOCKS { cache.remove(0).1 } else { Vec::new() };
                decode(b, &mut block)?;
                cache.push((b, block));
                cache.len().saturating_sub(1)
            }
        };
        let data = cache.get(slot).map(|(_, v)| v.as_slice()).unwrap_or_default();
        let src = data.get(within..).unwrap_or_default();
        let dst = buf.get_mut(done..).unwrap_or_default();
        let n = src.len().min(dst.len());
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        dst.get_mut(..n).unwrap_or_default().copy_from_slice(src.get(..n).unwrap_or_default());
        done = done.saturating_add(n);
    }
    Ok(())
}

/// How to write a compressed ISO.
#[derive(Clone, Copy, Debug)]
pub struct CompressOptions {
    /// Which kind to write.
    pub format: CsoFormat,
    /// The block size (a power of two, 2048 by default, which every reader takes).
    pub block_size: u32,
    /// Threads compressing blocks (at least 1).
    pub threads: usize,
    /// The smallest index shift to use (blocks then start at multiples of `1 << shift`); the shift is raised
    /// past it when the file could be too large for 31-bit offsets.
    pub min_index_shift: u8,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions { format: CsoFormat::CsoV1, block_size: 2048, threads: 1, min_index_shift: 0 }
    }
}

/// What [`compress`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompressReport {
    /// Bytes read.
    pub input_len: u64,
    /// Bytes written.
    pub output_len: u64,
    /// Blocks in all.
    pub blocks: u64,
    /// Blocks stored uncompressed.
    pub stored: u64,
}

/// One block as written: its bytes, and the index flag.
type Packed = (Vec<u8>, u32);

/// Compresses one block for `format`; `padding` is the alignment its length will be rounded up to.
fn pack(format: CsoFormat, block: &[u8], block_size: usize, align: usize) -> io::Result<Packed> {
    let deflate = |b: &[u8]| -> io::Result<Vec<u8>> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(b)?;
        e.finish()
    };
    let padded = |n: usize| n.div_ceil(align.max(1)).saturating_mul(align.max(1));
    match format {
        CsoFormat::CsoV1 | CsoFormat::Zso => {
            let c = if format == CsoFormat::Zso { lz4_flex::block::compress(block) } else { deflate(block)? };
            if c.len() >= block.len() {
                Ok((block.to_vec(), TOP_BIT))
            } else {
                Ok((c, 0))
            }
        }
        CsoFormat::CsoV2 => {
            let d = deflate(block)?;
            let l = lz4_flex::block::compress(block);
            let (c, flag) = if l.len() <= d.len() { (l, TOP_BIT) } else { (d, 0) };
            if padded(c.len()) >= block_size {
                // Stored: its length must be the block size or more, so a short last block is padded.
                let mut v = block.to_vec();
                v.resize(block_size.max(block.len()), 0);
                Ok((v, 0))
            } else {
                Ok((c, flag))
            }
        }
    }
}

/// Compresses the `len` bytes `input` gives into a compressed ISO written to `out` (from its start),
/// `progress` being told the bytes read so far after each batch of blocks.
///
/// # Errors
/// I/O errors of either side; `InvalidInput` for a bad block size or an input that ends before `len` bytes or
/// goes on after them.
pub fn compress<R: Read, W: Write + Seek>(
    mut input: R,
    len: u64,
    out: &mut W,
    opts: &CompressOptions,
    progress: &mut dyn FnMut(u64) -> io::Result<()>,
) -> io::Result<CompressReport> {
    let bs = opts.block_size;
    if !(512..=MAX_BLOCK_SIZE).contains(&bs) || !bs.is_power_of_two() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("block size {bs}")));
    }
    let bsz = usize::try_from(bs).unwrap_or(2048);
    let blocks = len.div_ceil(u64::from(bs));
    let index_len = blocks.saturating_add(1).saturating_mul(4);
    let data_start = HEADER_LEN.saturating_add(index_len);
    // The smallest shift under which the largest file this can be still has 31-bit offsets.
    let mut shift = u32::from(opts.min_index_shift.min(31));
    while shift < 31 {
        let worst = data_start
            .saturating_add(blocks.saturating_mul(u64::from(bs).saturating_add(1u64 << shift)))
            .saturating_add(1u64 << shift);
        if worst >> shift < u64::from(TOP_BIT) {
            break;
        }
        shift = shift.saturating_add(1);
    }
    let align = 1usize << shift;
    let (magic, version) = match opts.format {
        CsoFormat::CsoV1 => (b"CISO", 1u8),
        CsoFormat::CsoV2 => (b"CISO", 2),
        CsoFormat::Zso => (b"ZISO", 1),
    };
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(magic);
    header.extend_from_slice(&0x18u32.to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(&bs.to_le_bytes());
    header.extend_from_slice(&[version, u8::try_from(shift).unwrap_or(0), 0, 0]);
    let start = out.seek(SeekFrom::Start(0))?;
    out.write_all(&header)?;
    out.write_all(&vec![0u8; usize::try_from(index_len).unwrap_or(0)])?;
    let mut pos = data_start;
    let mut index: Vec<u32> = Vec::with_capacity(usize::try_from(blocks.saturating_add(1)).unwrap_or(0));
    let zeros = vec![0u8; align];
    let pad_to = |pos: u64| pos.div_ceil(align as u64).saturating_mul(align as u64);
    let threads = opts.threads.max(1);
    let batch = threads.saturating_mul(64);
    let mut report = CompressReport { blocks, ..CompressReport::default() };
    let mut read = 0u64;
    while read < len {
        // Read a batch of blocks.
        let mut chunk: Vec<Vec<u8>> = Vec::with_capacity(batch);
        while chunk.len() < batch && read < len {
            let n = usize::try_from(len.saturating_sub(read)).unwrap_or(bsz).min(bsz);
            let mut b = vec![0u8; n];
            input.read_exact(&mut b).map_err(|e| {
                io::Error::new(e.kind(), format!("the input ended after {read} of its {len} bytes ({e})"))
            })?;
            read = read.saturating_add(n as u64);
            chunk.push(b);
        }
        // Compress it on the threads, each taking every `threads`th block, then write in order.
        let per = chunk.len().div_ceil(threads).max(1);
        let packed: Vec<io::Result<Packed>> = if threads == 1 {
            chunk.iter().map(|b| pack(opts.format, b, bsz, align)).collect()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .chunks(per)
                    .map(|part| {
                        let format = opts.format;
                        s.spawn(move || part.iter().map(|b| pack(format, b, bsz, align)).collect::<Vec<_>>())
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        h.join().unwrap_or_else(|_| vec![Err(io::Error::other("a compressing thread failed"))])
                    })
                    .collect()
            })
        };
        for p in packed {
            let (bytes, flag) = p?;
            let aligned = pad_to(pos);
            if aligned > pos {
                out.write_all(
                    zeros.get(..usize::try_from(aligned.saturating_sub(pos)).unwrap_or(0)).unwrap_or_default(),
                )?;
                pos = aligned;
            }
            let entry = u32::try_from(pos >> shift).map_err(|_| io::Error::other("index offset overflow"))?;
            index.push(entry | flag);
            if (opts.format != CsoFormat::CsoV2 && flag != 0) || (opts.format == CsoFormat::CsoV2 && bytes.len() >= bsz)
            {
                report.stored = report.stored.saturating_add(1);
            }
            out.write_all(&bytes)?;
            pos = pos.saturating_add(bytes.len() as u64);
        }
        progress(read)?;
    }
    let mut extra = [0u8; 1];
    if input.read(&mut extra)? != 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("the input goes on after {len} bytes")));
    }
    let aligned = pad_to(pos);
    if aligned > pos {
        out.write_all(zeros.get(..usize::try_from(aligned.saturating_sub(pos)).unwrap_or(0)).unwrap_or_default())?;
        pos = aligned;
    }
    index.push(u32::try_from(pos >> shift).map_err(|_| io::Error::other("index offset overflow"))?);
    let raw: Vec<u8> = index.iter().flat_map(|e| e.to_le_bytes()).collect();
    out.seek(SeekFrom::Start(start.saturating_add(HEADER_LEN)))?;
    out.write_all(&raw)?;
    out.seek(SeekFrom::Start(start.saturating_add(pos)))?;
    out.flush()?;
    report.input_len = read;
    report.output_len = pos;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_length_ignores_padding() {
        let data: Vec<u8> = (0..2048u32).map(|i| (i % 7) as u8).collect();
        let mut c = lz4_flex::block::compress(&data);
        let n = c.len();
        c.extend_from_slice(&[0, 0, 0]);
        assert_eq!(lz4_block_len(&c, 2048), Some(n));
        assert_eq!(lz4_block_len(&c, 4096), None);
    }

    #[test]
    fn written_files_read_back_with_any_shift() {
        let data: Vec<u8> = (0..50_000u32)
            .map(|i| if i % 3000 < 1500 { (i / 7) as u8 } else { (i.wrapping_mul(2_654_435_761) >> 13) as u8 })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.cso");
        for format in [CsoFormat::CsoV1, CsoFormat::CsoV2, CsoFormat::Zso] {
            for shift in [0u8, 2, 11] {
                let opts = CompressOptions { format, block_size: 2048, threads: 3, min_index_shift: shift };
                let mut out = std::io::Cursor::new(Vec::new());
                let r = compress(data.as_slice(), data.len() as u64, &mut out, &opts, &mut |_| Ok(())).unwrap();
                assert_eq!(r.output_len, out.get_ref().len() as u64);
                assert_eq!(out.get_ref()[21], shift);
                std::fs::write(&p, out.get_ref()).unwrap();
                let st = CsoStore::open(&p).unwrap();
                assert_eq!(st.format(), format);
                let mut back = vec![0u8; data.len()];
                st.read_at(0, &mut back).unwrap();
                assert!(back == data, "{format:?} shift {shift}");
                let mut b = [0u8; 100];
                st.read_at(40_000, &mut b).unwrap();
                assert_eq!(b[..], data[40_000..40_100]);
            }
        }
    }
}

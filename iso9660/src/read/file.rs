//! Reading a file's contents: the stored extents in order, or zisofs blocks decompressed one at a time.
//!
//! zisofs (Linux `mkzftree`, libisofs): the file starts with a 16-byte header (magic
//! `37 E4 53 96 C9 DB D6 07`, uncompressed size LE u32, header size / 4, log2 of the block size, 2 reserved
//! bytes), then one LE u32 pointer per block and one past the last. Block i is zlib data from pointer i to
//! pointer i+1; equal pointers mean a block of zeros.

use std::io::{self, Read, Seek};

use flate2::read::ZlibDecoder;

use super::entry::{Entry, EntryKind, Extent};
use super::sectors::Sectors;
use super::{Image, Limits};
use crate::error::{Error, Result, Structure};
use crate::format::rrip::Zf;
use crate::format::{le32, u8_at, SECTOR_SIZE_U64};

/// The zisofs version 1 file magic.
pub const ZISOFS_MAGIC: [u8; 8] = [0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];

/// Size of the zisofs file header in bytes.
const ZISOFS_HEADER: u64 = 16;

/// zisofs block sizes are 2^15, 2^16 or 2^17 bytes.
const ZISOFS_LOG2_RANGE: std::ops::RangeInclusive<u8> = 15..=17;

/// Reads the stored bytes of a list of extents as one stream.
struct Raw<'a, R> {
    src: &'a mut Sectors<R>,
    extents: Vec<Extent>,
    idx: usize,
    off: u64,
}

impl<R: Read + Seek> Raw<'_, R> {
    fn total(&self) -> u64 {
        self.extents.iter().fold(0u64, |a, e| a.saturating_add(e.length))
    }

    /// Fills `buf` from byte `pos` of the stored data.
    fn read_exact_at(&mut self, mut pos: u64, mut buf: &mut [u8]) -> io::Result<()> {
        for e in &self.extents {
            if buf.is_empty() {
                break;
            }
            if pos >= e.length {
                pos = pos.saturating_sub(e.length);
                continue;
            }
            let n = usize::try_from(e.length.saturating_sub(pos)).unwrap_or(usize::MAX).min(buf.len());
            let (now, later) = buf.split_at_mut(n);
            let at = e.lba.saturating_mul(SECTOR_SIZE_U64).saturating_add(pos);
            self.src.read_exact_at(at, now)?;
            buf = later;
            pos = 0;
        }
        if buf.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the file's extents"))
        }
    }
}

impl<R: Read + Seek> Read for Raw<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(e) = self.extents.get(self.idx).copied() else { return Ok(0) };
            if self.off >= e.length {
                self.idx = self.idx.saturating_add(1);
                self.off = 0;
                continue;
            }
            let want = usize::try_from(e.length.saturating_sub(self.off)).unwrap_or(usize::MAX).min(buf.len());
            let at = e.lba.saturating_mul(SECTOR_SIZE_U64).saturating_add(self.off);
            let n = self.src.read_at(at, buf.get_mut(..want).unwrap_or_default())?;
            if n == 0 && want > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("file data at LBA {} ends early: the image is shorter than its directory says", e.lba),
                ));
            }
            self.off = self.off.saturating_add(n as u64);
            return Ok(n);
        }
    }
}

struct Zisofs<'a, R> {
    raw: Raw<'a, R>,
    lba: u64,
    pointers: Vec<u32>,
    block_size: u64,
    size: u64,
    next: usize,
    out: Vec<u8>,
    out_pos: usize,
    max_alloc: u64,
}

fn zerr(lba: u64, offset: u64, reason: impl Into<String>) -> Error {
    Error::invalid(Structure::Zisofs, lba, offset, reason)
}

impl<'a, R: Read + Seek> Zisofs<'a, R> {
    fn new(mut raw: Raw<'a, R>, zf: Zf, lba: u64, limits: Limits) -> Result<Self> {
        let stored = raw.total();
        let mut head = [0u8; 16];
        raw.read_exact_at(0, &mut head).map_err(|source| Error::Io { structure: Structure::Zisofs, lba, source })?;
        if head.get(..8) != Some(&ZISOFS_MAGIC[..]) {
            return Err(zerr(lba, 0, "no zisofs magic at the start of the file"));
        }
        let size = le32(&head, 8).unwrap_or(0);
        let header_div4 = u8_at(&head, 12).unwrap_or(0);
        let log2 = u8_at(&head, 13).unwrap_or(0);
        if size != zf.uncompressed_size {
            return Err(zerr(lba, 8, format!("header says {size} bytes, the ZF entry {}", zf.uncompressed_size)));
        }
        if !ZISOFS_LOG2_RANGE.contains(&log2) {
            return Err(zerr(lba, 13, format!("block size 2^{log2} is not 2^15, 2^16 or 2^17")));
        }
        let header = u64::from(header_div4).saturating_mul(4);
        if header < ZISOFS_HEADER {
            return Err(zerr(lba, 12, format!("header size {header} is shorter than {ZISOFS_HEADER}")));
        }
        let block_size = 1u64.checked_shl(u32::from(log2)).unwrap_or(u64::MAX);
        let size = u64::from(size);
        let blocks = size.div_ceil(block_size);
        let table = blocks.saturating_add(1).saturating_mul(4);
        if table > limits.max_alloc() {
            return Err(Error::LimitExceeded {
                structure: Structure::Zisofs,
                lba,
                what: "block pointer table bytes",
                value: table,
                limit: limits.max_alloc(),
            });
        }
        if header.saturating_add(table) > stored {
            return Err(zerr(lba, header, format!("{blocks} block pointers do not fit in {stored} stored bytes")));
        }
        let mut tb = vec![0u8; usize::try_from(table).unwrap_or(0)];
        raw.read_exact_at(header, &mut tb).map_err(|source| Error::Io { structure: Structure::Zisofs, lba, source })?;
        let pointers: Vec<u32> = tb.chunks_exact(4).map(|c| le32(c, 0).unwrap_or(0)).collect();
        let mut prev = header.saturating_add(table);
        for (i, &p) in pointers.iter().enumerate() {
            let p = u64::from(p);
            if p < prev || p > stored {
                return Err(zerr(
                    lba,
                    header.saturating_add((i as u64).saturating_mul(4)),
                    format!("block pointer {i} is {p}, outside {prev} ..= {stored}"),
                ));
            }
            prev = p;
        }
        Ok(Zisofs {
            raw,
            lba,
            pointers,
            block_size,
            size,
            next: 0,
            out: Vec::new(),
            out_pos: 0,
            max_alloc: limits.max_alloc(),
        })
    }

    fn decode_next(&mut self) -> io::Result<bool> {
        let i = self.next;
        let (Some(&start), Some(&end)) = (self.pointers.get(i), self.pointers.get(i.saturating_add(1))) else {
            return Ok(false);
        };
        let done = (i as u64).saturating_mul(self.block_size);
        let expected = self.size.saturating_sub(done).min(self.block_size);
        let expected_n = usize::try_from(expected).unwrap_or(0);
        self.out.clear();
        self.out_pos = 0;
        if start == end {
            self.out.resize(expected_n, 0);
        } else {
            let clen = u64::from(end.saturating_sub(start));
            if clen > self.max_alloc {
                return Err(zerr(self.lba, u64::from(start), format!("compressed block {i} of {clen} bytes")).into());
            }
            let mut comp = vec![0u8; usize::try_from(clen).unwrap_or(0)];
            self.raw.read_exact_at(u64::from(start), &mut comp)?;
            let mut dec = ZlibDecoder::new(comp.as_slice()).take(expected.saturating_add(1));
            dec.read_to_end(&mut self.out)
                .map_err(|e| zerr(self.lba, u64::from(start), format!("block {i} does not inflate: {e}")))?;
            if self.out.len() != expected_n {
                return Err(zerr(
                    self.lba,
                    u64::from(start),
                    format!("block {i} inflates to {} bytes instead of {expected}", self.out.len()),
                )
                .into());
            }
        }
        self.next = i.saturating_add(1);
        Ok(true)
    }
}

impl<R: Read + Seek> Read for Zisofs<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos >= self.out.len() {
            if !self.decode_next()? {
                return Ok(0);
            }
        }
        let avail = self.out.get(self.out_pos..).unwrap_or_default();
        let n = avail.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.out_pos = self.out_pos.saturating_add(n);
        Ok(n)
    }
}

enum Inner<'a, R> {
    Raw(Raw<'a, R>),
    Zisofs(Box<Zisofs<'a, R>>),
}

/// A file's contents as a stream; yields exactly [`Entry::size`] bytes or an error. Memory use is bounded
/// (one zisofs block at most), whatever the file's size.
pub struct FileReader<'a, R> {
    inner: Inner<'a, R>,
    left: u64,
}

impl<R: Read + Seek> Read for FileReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let buf = buf.get_mut(..want).unwrap_or_default();
        let n = match &mut self.inner {
            Inner::Raw(r) => r.read(buf)?,
            Inner::Zisofs(z) => z.read(buf)?,
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file data ends {} bytes early", self.left),
            ));
        }
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

impl<R: Read + Seek> Image<R> {
    /// Opens a file's contents for reading (decompressed for zisofs files in the Rock Ridge view).
    pub fn open_file(&mut self, entry: &Entry) -> Result<FileReader<'_, R>> {
        if entry.kind != EntryKind::File {
            return Err(Error::Misuse("open_file called on something that is not a regular file"));
        }
        let limits = self.opts.limits;
        let lba = entry.extents.first().map_or(entry.record_lba, |e| e.lba);
        let raw = Raw { src: &mut self.src, extents: entry.extents.clone(), idx: 0, off: 0 };
        let zf = entry.rr.as_ref().and_then(|r| r.zf);
        let inner = match zf {
            Some(zf) if entry.zisofs && entry.size > 0 => Inner::Zisofs(Box::new(Zisofs::new(raw, zf, lba, limits)?)),
            _ => Inner::Raw(raw),
        };
        Ok(FileReader { inner, left: entry.size })
    }
}

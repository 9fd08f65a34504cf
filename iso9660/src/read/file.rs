//! Reading a file's contents: the stored extents in order, or zisofs blocks decompressed one at a time;
//! streamed ([`Image::open_file`]) or at any offset ([`Image::read_file_at`]).
//!
//! zisofs (Linux `mkzftree`, libisofs `doc/zisofs_format.txt`): the file starts with a 16-byte header (magic
//! `37 E4 53 96 C9 DB D6 07`, uncompressed size LE u32, header size / 4, log2 of the block size, 2 reserved
//! bytes), then one LE u32 pointer per block and one past the last. Block i is zlib data from pointer i to
//! pointer i+1; equal pointers mean a block of zeros.
//!
//! zisofs2 (libisofs `doc/zisofs2_format.txt`, revision 2.0): a 24-byte header (magic
//! `EF 22 55 A1 BC 1B 95 A0`, header version 0, header size / 4, algorithm id, log2 of the block size,
//! uncompressed size LE u64, 4 bytes of padding), then LE u64 block pointers with the same meaning. Only
//! algorithm 1 (zlib, `PZ`) is read; the others (XZ, LZ4, Zstandard, bzip2) are reported as unsupported.

use std::io::{self, Read, Seek};

use flate2::read::ZlibDecoder;

use super::entry::{Entry, EntryKind, Extent};
use super::sectors::Sectors;
use super::{Image, Limits};
use crate::error::{DataPastEnd, Error, Result, Structure};
use crate::format::rrip::Zf;
use crate::format::{le32, le64, u8_at, SECTOR_SIZE_U64};

/// The zisofs version 1 file magic.
pub const ZISOFS_MAGIC: [u8; 8] = [0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];

/// The zisofs2 file magic.
pub const ZISOFS2_MAGIC: [u8; 8] = [0xEF, 0x22, 0x55, 0xA1, 0xBC, 0x1B, 0x95, 0xA0];

/// Size of the zisofs file header in bytes.
const ZISOFS_HEADER: u64 = 16;

/// Size of the zisofs2 file header in bytes.
const ZISOFS2_HEADER: u64 = 24;

/// The zisofs2 algorithm id of zlib, the one algorithm read.
const ZISOFS2_ZLIB: u8 = 1;

/// zisofs block sizes are 2^15, 2^16 or 2^17 bytes.
const ZISOFS_LOG2_RANGE: std::ops::RangeInclusive<u8> = 15..=17;

/// zisofs2 block sizes: the format text allows 2^15 to 2^17, but xorriso 1.5.4 writes up to 1 MiB
/// (`-zisofs block_size_v2=1m`, log2 20) and Linux reads them, so those are read too.
const ZISOFS2_LOG2_RANGE: std::ops::RangeInclusive<u8> = 15..=20;

/// Why a ZF entry cannot describe the data stored under it, judged from the entry alone and the stored size:
/// a block size outside what zisofs allows, or an uncompressed size whose block pointer table alone would not
/// fit in the stored bytes. `None` when the entry is possible.
///
/// Such an entry is ignored and the stored bytes shown as they are, as bsdtar, isoinfo and 7-Zip do.
pub(crate) fn impossible_zf(zf: &Zf, stored: u64) -> Option<String> {
    let (range, width, header) = if zf.version == 2 {
        (ZISOFS2_LOG2_RANGE, 8u64, ZISOFS2_HEADER)
    } else {
        (ZISOFS_LOG2_RANGE, 4u64, ZISOFS_HEADER)
    };
    if !range.contains(&zf.block_size_log2) {
        return Some(format!("block size 2^{} is not 2^{} to 2^{}", zf.block_size_log2, range.start(), range.end()));
    }
    let blocks = zf.uncompressed_size.div_ceil(1u64 << zf.block_size_log2);
    let need = blocks.saturating_add(1).saturating_mul(width).saturating_add(header);
    if zf.uncompressed_size > 0 && need > stored {
        return Some(format!(
            "{} uncompressed bytes need {need} bytes of header and block pointers, {stored} are stored",
            zf.uncompressed_size
        ));
    }
    None
}

/// Fills `buf` from byte `pos` of the data stored in `extents`, taken as one stream.
fn read_extents_at<R: Read + Seek>(
    src: &mut Sectors<R>,
    extents: &[Extent],
    mut pos: u64,
    mut buf: &mut [u8],
) -> io::Result<()> {
    for e in extents {
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
        src.read_exact_at(at, now)?;
        buf = later;
        pos = 0;
    }
    if buf.is_empty() {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the file's extents"))
    }
}

fn total_length(extents: &[Extent]) -> u64 {
    extents.iter().fold(0u64, |a, e| a.saturating_add(e.length))
}

/// How many bytes of the data stored in `extents`, taken as one stream, can be read before the first one past
/// the end of an image of `image_len` bytes.
fn readable_length(extents: &[Extent], image_len: u64) -> u64 {
    let mut n = 0u64;
    for e in extents {
        let start = e.lba.saturating_mul(SECTOR_SIZE_U64);
        let here = image_len.saturating_sub(start).min(e.length);
        n = n.saturating_add(here);
        if here < e.length {
            break;
        }
    }
    n
}

/// Bytes of the data stored in `extents` that lie past the end of an image of `image_len` bytes.
pub(crate) fn bytes_past_end(extents: &[Extent], image_len: u64) -> u64 {
    extents.iter().fold(0u64, |a, e| {
        let start = e.lba.saturating_mul(SECTOR_SIZE_U64);
        a.saturating_add(e.length.saturating_sub(image_len.saturating_sub(start)))
    })
}

/// Reads the stored bytes of a list of extents as one stream.
struct Raw<'a, R> {
    src: &'a mut Sectors<R>,
    extents: Vec<Extent>,
    idx: usize,
    off: u64,
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
                // The image ends here; FileReader fills in how much of the file is missing.
                return Err(DataPastEnd { missing: 0 }.into_io());
            }
            self.off = self.off.saturating_add(n as u64);
            return Ok(n);
        }
    }
}

fn zerr(lba: u64, offset: u64, reason: impl Into<String>) -> Error {
    Error::invalid(Structure::Zisofs, lba, offset, reason)
}

fn zio(lba: u64) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { structure: Structure::Zisofs, lba, source }
}

/// A zisofs or zisofs2 file header, checked against its ZF entry and the stored size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ZHeader {
    /// Where the block pointer table starts, in bytes from the start of the stored data.
    table_at: u64,
    /// Bytes per block pointer: 4 (zisofs) or 8 (zisofs2).
    width: u64,
    /// log2 of the block size.
    log2: u8,
    /// Uncompressed size in bytes.
    size: u64,
    /// Number of blocks; the table has one pointer more.
    blocks: u64,
    /// Stored size in bytes (all extents).
    stored: u64,
}

impl ZHeader {
    fn read<R: Read + Seek>(src: &mut Sectors<R>, extents: &[Extent], zf: Zf, lba: u64) -> Result<Self> {
        let stored = total_length(extents);
        let mut head = [0u8; ZISOFS2_HEADER as usize];
        let n = usize::try_from(stored.min(ZISOFS2_HEADER)).unwrap_or(0);
        read_extents_at(src, extents, 0, head.get_mut(..n).unwrap_or_default()).map_err(zio(lba))?;
        let (size, header_div4, log2, width, min_header) = if head.get(..8) == Some(&ZISOFS_MAGIC[..]) {
            let size = le32(&head, 8).unwrap_or(0);
            let log2 = u8_at(&head, 13).unwrap_or(0);
            if !ZISOFS_LOG2_RANGE.contains(&log2) {
                return Err(zerr(lba, 13, format!("block size 2^{log2} is not 2^15, 2^16 or 2^17")));
            }
            (u64::from(size), u8_at(&head, 12).unwrap_or(0), log2, 4, ZISOFS_HEADER)
        } else if head.get(..8) == Some(&ZISOFS2_MAGIC[..]) {
            let version = u8_at(&head, 8).unwrap_or(0);
            let algorithm = u8_at(&head, 10).unwrap_or(0);
            if version != 0 {
                return Err(Error::Unsupported {
                    structure: Structure::Zisofs,
                    lba,
                    what: format!("zisofs2 header version {version}"),
                });
            }
            if algorithm != ZISOFS2_ZLIB {
                return Err(Error::Unsupported {
                    structure: Structure::Zisofs,
                    lba,
                    what: format!("zisofs2 compression algorithm {algorithm} (only 1, zlib, is read)"),
                });
            }
            let size = le64(&head, 12).unwrap_or(0);
            let log2 = u8_at(&head, 11).unwrap_or(0);
            if !ZISOFS2_LOG2_RANGE.contains(&log2) {
                return Err(zerr(lba, 11, format!("block size 2^{log2} is not 2^15 to 2^20")));
            }
            (size, u8_at(&head, 9).unwrap_or(0), log2, 8, ZISOFS2_HEADER)
        } else {
            return Err(zerr(lba, 0, "no zisofs magic at the start of the file"));
        };
        if size != zf.uncompressed_size {
            return Err(zerr(lba, 8, format!("header says {size} bytes, the ZF entry {}", zf.uncompressed_size)));
        }
        let header = u64::from(header_div4).saturating_mul(4);
        if header < min_header {
            return Err(zerr(lba, 12, format!("header size {header} is shorter than {min_header}")));
        }
        let blocks = size.div_ceil(1u64.checked_shl(u32::from(log2)).unwrap_or(u64::MAX));
        let table = blocks.saturating_add(1).saturating_mul(width);
        if header.saturating_add(table) > stored {
            return Err(zerr(lba, header, format!("{blocks} block pointers do not fit in {stored} stored bytes")));
        }
        Ok(ZHeader { table_at: header, width, log2, size, blocks, stored })
    }

    fn block_size(&self) -> u64 {
        1u64.checked_shl(u32::from(self.log2)).unwrap_or(u64::MAX)
    }

    /// First byte after the pointer table: where block data may start.
    fn data_at(&self) -> u64 {
        self.table_at.saturating_add(self.blocks.saturating_add(1).saturating_mul(self.width))
    }

    /// Size in bytes of block `i` once inflated.
    fn inflated_len(&self, i: u64) -> u64 {
        self.size.saturating_sub(i.saturating_mul(self.block_size())).min(self.block_size())
    }

    /// Decodes pointers from table bytes.
    fn decode(&self, table: &[u8]) -> Vec<u64> {
        let w = usize::try_from(self.width).unwrap_or(4);
        table
            .chunks_exact(w)
            .map(|c| if self.width == 8 { le64(c, 0).unwrap_or(0) } else { u64::from(le32(c, 0).unwrap_or(0)) })
            .collect()
    }

    /// Checks that block `i` lies from `start` to `end` inside the data part.
    fn check_pointers(&self, lba: u64, i: u64, start: u64, end: u64) -> Result<()> {
        if start < self.data_at() || end < start || end > self.stored {
            return Err(zerr(
                lba,
                self.table_at.saturating_add(i.saturating_mul(self.width)),
                format!("block {i} runs from {start} to {end}, outside {} ..= {}", self.data_at(), self.stored),
            ));
        }
        Ok(())
    }

    /// Reads the pointers of block `i` (its start and end).
    fn pointers<R: Read + Seek>(
        &self,
        src: &mut Sectors<R>,
        extents: &[Extent],
        lba: u64,
        i: u64,
    ) -> Result<(u64, u64)> {
        let at = self.table_at.saturating_add(i.saturating_mul(self.width));
        let mut two = [0u8; 16];
        let n = usize::try_from(self.width.saturating_mul(2)).unwrap_or(16);
        let two = two.get_mut(..n).unwrap_or_default();
        read_extents_at(src, extents, at, two).map_err(zio(lba))?;
        let p = self.decode(two);
        let (start, end) = (p.first().copied().unwrap_or(0), p.get(1).copied().unwrap_or(0));
        self.check_pointers(lba, i, start, end)?;
        Ok((start, end))
    }

    /// Inflates block `i`, stored from `start` to `end`, into `out` (replacing its contents).
    #[allow(clippy::too_many_arguments)]
    fn inflate<R: Read + Seek>(
        &self,
        src: &mut Sectors<R>,
        extents: &[Extent],
        lba: u64,
        i: u64,
        (start, end): (u64, u64),
        max_alloc: u64,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let expected = self.inflated_len(i);
        let expected_n = usize::try_from(expected).unwrap_or(0);
        out.clear();
        if start == end {
            out.resize(expected_n, 0);
            return Ok(());
        }
        let clen = end.saturating_sub(start);
        if clen > max_alloc {
            return Err(Error::LimitExceeded {
                structure: Structure::Zisofs,
                lba,
                what: "compressed block bytes",
                value: clen,
                limit: max_alloc,
            });
        }
        let mut comp = vec![0u8; usize::try_from(clen).unwrap_or(0)];
        read_extents_at(src, extents, start, &mut comp).map_err(zio(lba))?;
        let mut dec = ZlibDecoder::new(comp.as_slice()).take(expected.saturating_add(1));
        dec.read_to_end(out).map_err(|e| zerr(lba, start, format!("block {i} does not inflate: {e}")))?;
        if out.len() != expected_n {
            return Err(zerr(lba, start, format!("block {i} inflates to {} bytes instead of {expected}", out.len())));
        }
        Ok(())
    }
}

struct Zisofs<'a, R> {
    raw: Raw<'a, R>,
    /// Stored bytes readable before the end of the image: blocks stored beyond are missing.
    readable: u64,
    lba: u64,
    header: ZHeader,
    pointers: Vec<u64>,
    next: u64,
    out: Vec<u8>,
    out_pos: usize,
    max_alloc: u64,
}

impl<'a, R: Read + Seek> Zisofs<'a, R> {
    fn new(raw: Raw<'a, R>, zf: Zf, lba: u64, limits: Limits) -> Result<Self> {
        let header = ZHeader::read(raw.src, &raw.extents, zf, lba)?;
        let table = header.blocks.saturating_add(1).saturating_mul(header.width);
        if table > limits.max_alloc() {
            return Err(Error::LimitExceeded {
                structure: Structure::Zisofs,
                lba,
                what: "block pointer table bytes",
                value: table,
                limit: limits.max_alloc(),
            });
        }
        let mut tb = vec![0u8; usize::try_from(table).unwrap_or(0)];
        read_extents_at(raw.src, &raw.extents, header.table_at, &mut tb).map_err(zio(lba))?;
        let pointers = header.decode(&tb);
        for (i, w) in pointers.windows(2).enumerate() {
            if let [start, end] = *w {
                header.check_pointers(lba, i as u64, start, end)?;
            }
        }
        let readable = readable_length(&raw.extents, raw.src.len());
        Ok(Zisofs {
            raw,
            readable,
            lba,
            header,
            pointers,
            next: 0,
            out: Vec::new(),
            out_pos: 0,
            max_alloc: limits.max_alloc(),
        })
    }

    fn decode_next(&mut self) -> Result<bool> {
        let i = self.next;
        let at = usize::try_from(i).unwrap_or(usize::MAX);
        let (Some(&start), Some(&end)) = (self.pointers.get(at), self.pointers.get(at.saturating_add(1))) else {
            return Ok(false);
        };
        self.out_pos = 0;
        if end > self.readable && start != end {
            return Err(Error::Io {
                structure: Structure::Zisofs,
                lba: self.lba,
                source: DataPastEnd { missing: 0 }.into_io(),
            });
        }
        self.header.inflate(
            self.raw.src,
            &self.raw.extents,
            self.lba,
            i,
            (start, end),
            self.max_alloc,
            &mut self.out,
        )?;
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

/// The last zisofs block inflated by [`Image::read_file_at`], so that reads smaller than a block do not
/// inflate it again.
#[derive(Debug, Default)]
pub(crate) struct ZCache {
    /// The file: its first stored sector and uncompressed size.
    file: Option<(u64, u64)>,
    header: Option<ZHeader>,
    block: Option<u64>,
    data: Vec<u8>,
}

enum Inner<'a, R> {
    Raw(Raw<'a, R>),
    Zisofs(Box<Zisofs<'a, R>>),
    /// A zisofs file whose header or block pointers lie past the end of the image: nothing can be read.
    Missing,
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
            Inner::Raw(r) => r.read(buf),
            Inner::Zisofs(z) => z.read(buf),
            Inner::Missing => Err(DataPastEnd { missing: 0 }.into_io()),
        }
        .map_err(|e| match DataPastEnd::of(&e) {
            Some(_) => DataPastEnd { missing: self.left }.into_io(),
            None => e,
        })?;
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
            Some(zf) if entry.zisofs && entry.size > 0 => {
                let past_end = bytes_past_end(&raw.extents, raw.src.len()) > 0;
                match Zisofs::new(raw, zf, lba, limits) {
                    Ok(z) => Inner::Zisofs(Box::new(z)),
                    Err(Error::Io { source, .. }) if past_end && source.kind() == io::ErrorKind::UnexpectedEof => {
                        Inner::Missing
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => Inner::Raw(raw),
        };
        Ok(FileReader { inner, left: entry.size })
    }

    /// Reads a file's contents (decompressed for zisofs files) from byte `offset` into `buf`, without reading
    /// what lies before: the offset is mapped through the file's extents, or for a zisofs file to the block
    /// holding it through the block pointers. Returns the number of bytes read, which is `buf.len()` unless
    /// the file ends first (0 when `offset` is at or past its end).
    ///
    /// The last zisofs block inflated is kept, so that reading a file in pieces smaller than its blocks
    /// inflates each block once.
    pub fn read_file_at(&mut self, entry: &Entry, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if entry.kind != EntryKind::File {
            return Err(Error::Misuse("read_file_at called on something that is not a regular file"));
        }
        let left = entry.size.saturating_sub(offset);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let Some(buf) = buf.get_mut(..n) else { return Ok(0) };
        if n == 0 {
            return Ok(0);
        }
        let lba = entry.extents.first().map_or(entry.record_lba, |e| e.lba);
        match entry.rr.as_ref().and_then(|r| r.zf) {
            Some(zf) if entry.zisofs => self.zisofs_read_at(entry, zf, lba, offset, buf)?,
            _ => read_extents_at(&mut self.src, &entry.extents, offset, buf).map_err(|source| Error::Io {
                structure: Structure::FileData,
                lba,
                source,
            })?,
        }
        Ok(n)
    }

    fn zisofs_read_at(&mut self, entry: &Entry, zf: Zf, lba: u64, offset: u64, buf: &mut [u8]) -> Result<()> {
        let key = Some((lba, entry.size));
        if self.zcache.file != key {
            self.zcache = ZCache { file: key, ..ZCache::default() };
        }
        let header = match self.zcache.header {
            Some(h) => h,
            None => {
                let h = ZHeader::read(&mut self.src, &entry.extents, zf, lba)?;
                self.zcache.header = Some(h);
                h
            }
        };
        let max_alloc = self.opts.limits.max_alloc();
        let mask = header.block_size().saturating_sub(1);
        let mut pos = offset;
        let mut done = 0usize;
        while done < buf.len() {
            let i = pos.checked_shr(u32::from(header.log2)).unwrap_or(0);
            if self.zcache.block != Some(i) {
                self.zcache.block = None;
                let span = header.pointers(&mut self.src, &entry.extents, lba, i)?;
                header.inflate(&mut self.src, &entry.extents, lba, i, span, max_alloc, &mut self.zcache.data)?;
                self.zcache.block = Some(i);
            }
            let within = usize::try_from(pos & mask).unwrap_or(usize::MAX);
            let avail = self.zcache.data.get(within..).unwrap_or_default();
            let dst = buf.get_mut(done..).unwrap_or_default();
            let k = avail.len().min(dst.len());
            if k == 0 {
                return Err(zerr(lba, 0, format!("block {i} ends before byte {pos} of the file")));
            }
            if let (Some(d), Some(s)) = (dst.get_mut(..k), avail.get(..k)) {
                d.copy_from_slice(s);
            }
            done = done.saturating_add(k);
            pos = pos.saturating_add(k as u64);
        }
        Ok(())
    }
}

//! Reading an entry's data: embedded bytes, recorded extents through the partition maps, and unrecorded or
//! sparse extents as zeros.

use std::io::{self, Read, Seek};

use super::entry::{Data, DataExtent, Entry};
use super::partition::Place;
use super::volume::Core;
use crate::error::{Checked, Error, Result};
use crate::format::ad::ExtentType;

/// Most bytes read from the image at once when the caller asks for less: a small file is then read in one go.
const CHUNK: u64 = 256 * 1024;

/// The error inside the `io::Error` (kind `UnexpectedEof`) that a [`FileReader`] returns after yielding every byte of
/// an entry's data that the image still holds, when that data runs past the end of the image (a truncated image, or
/// an extent recorded beyond its end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the file's data runs past the end of the image ({missing} bytes missing)")]
pub struct DataPastEnd {
    /// Bytes of the entry's data that were not yielded.
    pub missing: u64,
}

impl DataPastEnd {
    /// The `io::Error` a reader returns for it.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, self)
    }

    /// The `DataPastEnd` inside `e`, if it is one.
    pub fn of(e: &io::Error) -> Option<Self> {
        e.get_ref().and_then(|i| i.downcast_ref::<DataPastEnd>()).copied()
    }
}

/// A reader of one entry's data, yielding exactly its information length or failing.
pub struct FileReader<'a, R> {
    /// Data read ahead of the caller, and the file offset where it starts.
    chunk: Vec<u8>,
    chunk_at: u64,
    vol: &'a mut Core<R>,
    data: Data,
    size: u64,
    pos: u64,
    /// Index of the current extent and the byte offset where it starts in the data.
    ext: usize,
    ext_start: u64,
    block: u64,
}

impl<R: Read + Seek> Core<R> {
    /// A reader of the data of `entry` (a file, or the raw contents of a directory or link).
    pub fn open_file(&mut self, entry: &Entry) -> Result<FileReader<'_, R>> {
        let block = u64::from(self.block_size);
        Ok(FileReader {
            chunk: Vec::new(),
            chunk_at: 0,
            vol: self,
            data: entry.data.clone(),
            size: entry.size(),
            pos: 0,
            ext: 0,
            ext_start: 0,
            block,
        })
    }

    /// The physical runs of an entry's recorded data, as `(first physical block, length in bytes)`, at most
    /// `max` of them.
    pub fn physical_extents(&mut self, entry: &Entry, max: usize) -> Result<Vec<(u64, u64)>> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        let bs = u64::from(self.block_size);
        let Data::Extents(exts) = &entry.data else { return Ok(out) };
        let mut remaining = entry.size();
        for e in exts {
            if remaining == 0 || out.len() >= max {
                break;
            }
            let len = u64::from(e.length).min(remaining);
            remaining = remaining.saturating_sub(len);
            if e.extent_type != ExtentType::Recorded {
                continue;
            }
            let blocks = len.div_ceil(bs);
            let mut done = 0u64;
            while done < blocks && out.len() < max {
                let lb = u64::from(e.location.block).add_or(done, "extent block")?;
                let place = self.maps.place(e.location.partition, lb, blocks.sub_or(done, "extent")?, false)?;
                let (phys, n) = match place {
                    Place::At { phys, blocks } => (Some(phys), blocks),
                    Place::Hole { blocks } => (None, blocks),
                };
                let bytes = n.mul_or(bs, "extent bytes")?.min(len.saturating_sub(done.saturating_mul(bs)));
                if let Some(phys) = phys {
                    match out.last_mut() {
                        Some((p, l)) if p.checked_add(l.div_ceil(bs)) == Some(phys) && l.checked_rem(bs) == Some(0) => {
                            *l = l.saturating_add(bytes)
                        }
                        _ => out.push((phys, bytes)),
                    }
                }
                done = done.add_or(n.max(1), "extent")?;
            }
        }
        Ok(out)
    }
    /// Bytes of the entry's recorded data that lie on physical blocks past the end of the image.
    pub fn bytes_past_end(&mut self, entry: &Entry) -> Result<u64> {
        let bs = u64::from(self.block_size);
        let size = self.io.size;
        Ok(self.physical_extents(entry, usize::MAX)?.iter().fold(0u64, |a, &(phys, len)| {
            let start = phys.saturating_mul(bs);
            a.saturating_add(len.saturating_sub(size.saturating_sub(start)))
        }))
    }

    /// The entry's data as byte ranges of the image, `(byte offset, length)` in order, when it is exactly that:
    /// recorded extents only, each on physical blocks inside the image, at most `max` ranges. `None` when some of
    /// it is embedded in the entry, unrecorded or sparse (read as zeros), a hole of a partition, past the image
    /// end, or described by fewer bytes of extents than the entry's size; the reader then handles it.
    pub fn plain_ranges(&mut self, entry: &Entry, max: usize) -> Result<Option<Vec<(u64, u64)>>> {
        let Data::Extents(exts) = &entry.data else { return Ok(None) };
        let bs = u64::from(self.block_size);
        let mut out: Vec<(u64, u64)> = Vec::new();
        let mut remaining = entry.size();
        for e in exts {
            if remaining == 0 {
                break;
            }
            let len = u64::from(e.length).min(remaining);
            if len == 0 {
                continue;
            }
            if e.extent_type != ExtentType::Recorded {
                return Ok(None);
            }
            remaining = remaining.sub_or(len, "file size")?;
            let blocks = len.div_ceil(bs);
            let mut done = 0u64;
            while done < blocks {
                let lb = u64::from(e.location.block).add_or(done, "extent block")?;
                let (phys, n) =
                    match self.maps.place(e.location.partition, lb, blocks.sub_or(done, "extent")?, false)? {
                        Place::At { phys, blocks } => (phys, blocks.max(1)),
                        Place::Hole { .. } => return Ok(None),
                    };
                let at = phys.mul_or(bs, "byte offset")?;
                let bytes = n.mul_or(bs, "extent bytes")?.min(len.sub_or(done.mul_or(bs, "extent bytes")?, "extent")?);
                if !self.io.contains(at, bytes) {
                    return Ok(None);
                }
                match out.last_mut() {
                    Some((o, l)) if o.checked_add(*l) == Some(at) => *l = l.add_or(bytes, "range")?,
                    _ => {
                        if out.len() >= max {
                            return Ok(None);
                        }
                        out.push((at, bytes));
                    }
                }
                done = done.add_or(n, "extent")?;
            }
        }
        if remaining != 0 {
            return Ok(None);
        }
        Ok(Some(out))
    }
}

impl<R: Read + Seek> FileReader<'_, R> {
    /// Bytes of data in all.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        // Served from the chunk read ahead, when it holds `pos`.
        let chunk_end = self.chunk_at.saturating_add(u64::try_from(self.chunk.len()).unwrap_or(0));
        if self.pos >= self.chunk_at && self.pos < chunk_end {
            let from = usize::try_from(self.pos.sub_or(self.chunk_at, "chunk")?).unwrap_or(0);
            let src = self.chunk.get(from..).unwrap_or_default();
            let n = src.len().min(buf.len());
            buf.get_mut(..n).unwrap_or_default().copy_from_slice(src.get(..n).unwrap_or_default());
            self.pos = self.pos.add_or(u64::try_from(n).unwrap_or(0), "file position")?;
            return Ok(n);
        }
        let left = self.size.sub_or(self.pos, "file position")?;
        let exts = match &self.data {
            Data::Embedded(bytes) => {
                let start = usize::try_from(self.pos).map_err(|_| Error::Overflow { what: "embedded data" })?;
                let avail = bytes.get(start..).unwrap_or(&[]);
                if avail.is_empty() {
                    return Err(self.short());
                }
                let n = avail.len().min(buf.len()).min(usize::try_from(left).unwrap_or(usize::MAX));
                buf.get_mut(..n).unwrap_or_default().copy_from_slice(avail.get(..n).unwrap_or_default());
                self.pos = self.pos.add_or(u64::try_from(n).unwrap_or(0), "file position")?;
                return Ok(n);
            }
            Data::Extents(exts) => exts,
        };
        // Find the extent holding `pos`.
        let (ext, ext_start) = loop {
            let Some(e) = exts.get(self.ext) else { return Err(self.short()) };
            let end = self.ext_start.add_or(u64::from(e.length), "extent end")?;
            if self.pos < end {
                break (*e, self.ext_start);
            }
            self.ext = self.ext.saturating_add(1);
            self.ext_start = end;
        };
        let DataExtent { extent_type, length, location } = ext;
        let in_ext = self.pos.sub_or(ext_start, "extent offset")?;
        let ext_left = u64::from(length).sub_or(in_ext, "extent offset")?;
        let want = left.min(ext_left).min(u64::try_from(buf.len()).unwrap_or(u64::MAX));
        let n = if extent_type != ExtentType::Recorded {
            want
        } else {
            let first = in_ext.checked_div(self.block).ok_or(Error::Overflow { what: "block size" })?;
            let in_block = in_ext.checked_rem(self.block).ok_or(Error::Overflow { what: "block size" })?;
            // Ask for the run the read-ahead could use, not only for what the caller's buffer takes.
            let span = want.max(left.min(ext_left).min(CHUNK));
            let blocks = in_block.add_or(span, "read")?.div_ceil(self.block);
            let lb = u64::from(location.block).add_or(first, "extent block")?;
            match self.vol.maps.place(location.partition, lb, blocks, false)? {
                Place::At { phys, blocks } => {
                    let off = phys.mul_or(self.block, "byte offset")?.add_or(in_block, "byte offset")?;
                    // Up to the end of the image; past it the rest of the data is missing.
                    let in_image = self.vol.io.size.saturating_sub(off);
                    if in_image == 0 {
                        let missing = self.size.saturating_sub(self.pos);
                        return Err(Error::Io { offset: off, source: DataPastEnd { missing }.into_io() });
                    }
                    let contiguous = blocks.mul_or(self.block, "read")?.sub_or(in_block, "read")?.min(in_image);
                    let n = want.min(contiguous);
                    // When the caller asks for less than what lies here, read ahead into the chunk.
                    let ahead = left.min(ext_left).min(CHUNK).min(contiguous);
                    if ahead > n {
                        let mut chunk = std::mem::take(&mut self.chunk);
                        chunk.resize(usize::try_from(ahead).map_err(|_| Error::Overflow { what: "chunk" })?, 0);
                        self.vol.io.read_at(off, &mut chunk)?;
                        let k = usize::try_from(n).unwrap_or(0);
                        buf.get_mut(..k).unwrap_or_default().copy_from_slice(chunk.get(..k).unwrap_or_default());
                        self.chunk = chunk;
                        self.chunk_at = self.pos;
                    } else {
                        let dst = buf.get_mut(..usize::try_from(n).unwrap_or(0)).unwrap_or_default();
                        self.vol.io.read_at(off, dst)?;
                    }
                    n
                }
                Place::Hole { blocks } => {
                    let n = want.min(blocks.mul_or(self.block, "read")?.sub_or(in_block, "read")?);
                    buf.get_mut(..usize::try_from(n).unwrap_or(0)).unwrap_or_default().fill(0);
                    n
                }
            }
        };
        if extent_type != ExtentType::Recorded {
            buf.get_mut(..usize::try_from(n).unwrap_or(0)).unwrap_or_default().fill(0);
        }
        self.pos = self.pos.add_or(n, "file position")?;
        usize::try_from(n).map_err(|_| Error::Overflow { what: "read length" })
    }

    fn short(&self) -> Error {
        Error::invalid(
            "file data",
            0,
            self.pos,
            format!("allocation descriptors end at byte {} of {}", self.pos, self.size),
        )
    }
}

impl<R: Read + Seek> Read for FileReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_data(buf).map_err(io::Error::from)
    }
}

//! Block reads from the underlying `Read + Seek`, with the image size known so reads past its end fail
//! cleanly before any allocation.

use std::io::{self, Read, Seek, SeekFrom};

use crate::error::{Checked, Error, Result};

/// Bytes read at once for metadata blocks: the entries of one directory usually lie together, so one read
/// serves the next ones too.
const READ_AHEAD: u64 = 64 * 1024;

pub(crate) struct BlockIo<R> {
    inner: R,
    pos: Option<u64>,
    /// The last read-ahead window and its byte offset.
    cache: Vec<u8>,
    cache_at: u64,
    /// Image size in bytes.
    pub(crate) size: u64,
}

impl<R: Read + Seek> BlockIo<R> {
    pub(crate) fn new(mut inner: R) -> Result<Self> {
        let size = inner.seek(SeekFrom::End(0)).map_err(|source| Error::Io { offset: 0, source })?;
        Ok(BlockIo { inner, pos: None, cache: Vec::new(), cache_at: 0, size })
    }

    /// Fills `buf` from byte `offset`.
    pub(crate) fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let len = u64::try_from(buf.len()).map_err(|_| Error::Overflow { what: "read length" })?;
        let end = offset.add_or(len, "read range")?;
        if end > self.size {
            return Err(Error::Io {
                offset,
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("reading {len} bytes past the end of the {}-byte image", self.size),
                ),
            });
        }
        if self.pos != Some(offset) {
            self.pos = None;
            self.inner.seek(SeekFrom::Start(offset)).map_err(|source| Error::Io { offset, source })?;
        }
        self.pos = None;
        self.inner.read_exact(buf).map_err(|source| Error::Io { offset, source })?;
        self.pos = Some(end);
        Ok(())
    }

    /// `len` bytes from byte `offset`, through the read-ahead window (for small metadata reads).
    pub(crate) fn read_cached_vec(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        if !self.window(offset, len)? {
            let mut buf = vec![0u8; len];
            self.read_at(offset, &mut buf)?;
            return Ok(buf);
        }
        Ok(self.cached(offset, len)?.to_vec())
    }

    /// Makes the read-ahead window hold `len` bytes at `offset`; false when they reach past the image's end (then
    /// the caller reads them directly and gets the error).
    fn window(&mut self, offset: u64, len: usize) -> Result<bool> {
        let len = u64::try_from(len).map_err(|_| Error::Overflow { what: "read length" })?;
        let end = offset.add_or(len, "read range")?;
        let cache_end = self.cache_at.saturating_add(u64::try_from(self.cache.len()).unwrap_or(0));
        if offset >= self.cache_at && end <= cache_end {
            return Ok(true);
        }
        if end > self.size {
            return Ok(false);
        }
        let window = READ_AHEAD.max(len).min(self.size.saturating_sub(offset));
        let mut cache = std::mem::take(&mut self.cache);
        cache.resize(usize::try_from(window).map_err(|_| Error::Overflow { what: "read length" })?, 0);
        let r = self.read_at(offset, &mut cache);
        if let Err(e) = r {
            self.cache = Vec::new();
            return Err(e);
        }
        self.cache = cache;
        self.cache_at = offset;
        Ok(true)
    }

    /// The window's bytes at `offset` (which [`BlockIo::window`] put there).
    fn cached(&self, offset: u64, len: usize) -> Result<&[u8]> {
        let start = usize::try_from(offset.sub_or(self.cache_at, "cache offset")?)
            .map_err(|_| Error::Overflow { what: "cache" })?;
        self.cache.get(start..start.saturating_add(len)).ok_or(Error::Overflow { what: "cache" })
    }

    /// Whether `len` bytes at `offset` lie inside the image.
    pub(crate) fn contains(&self, offset: u64, len: u64) -> bool {
        offset.checked_add(len).is_some_and(|e| e <= self.size)
    }
}

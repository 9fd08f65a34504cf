//! Block reads from the underlying `Read + Seek`, with the image size known so reads past its end fail
//! cleanly before any allocation.

use std::io::{self, Read, Seek, SeekFrom};

use crate::error::{Checked, Error, Result};

pub(crate) struct BlockIo<R> {
    inner: R,
    pos: Option<u64>,
    /// Image size in bytes.
    pub(crate) size: u64,
}

impl<R: Read + Seek> BlockIo<R> {
    pub(crate) fn new(mut inner: R) -> Result<Self> {
        let size = inner.seek(SeekFrom::End(0)).map_err(|source| Error::Io { offset: 0, source })?;
        Ok(BlockIo { inner, pos: None, size })
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

    /// Whether `len` bytes at `offset` lie inside the image.
    pub(crate) fn contains(&self, offset: u64, len: u64) -> bool {
        offset.checked_add(len).is_some_and(|e| e <= self.size)
    }
}

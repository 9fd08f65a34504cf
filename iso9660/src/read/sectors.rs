//! Byte access to the image with bounds checks, and without re-seeking when reads are sequential (a seek
//! empties a `BufReader`'s buffer).

use std::io::{self, Read, Seek, SeekFrom};

use super::Limits;
use crate::error::{Error, Result, Structure};
use crate::format::SECTOR_SIZE_U64;

pub(crate) struct Sectors<R> {
    inner: R,
    len: u64,
    pos: Option<u64>,
}

impl<R: Read + Seek> Sectors<R> {
    pub(crate) fn new(mut inner: R) -> Result<Self> {
        let len = inner.seek(SeekFrom::End(0)).map_err(|source| Error::Io {
            structure: Structure::VolumeDescriptor,
            lba: 0,
            source,
        })?;
        Ok(Sectors { inner, len, pos: None })
    }

    /// Size of the image in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        if self.pos != Some(offset) {
            self.pos = None;
            self.inner.seek(SeekFrom::Start(offset))?;
            self.pos = Some(offset);
        }
        Ok(())
    }

    /// Fills `buf` from byte `offset`.
    pub(crate) fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.seek_to(offset)?;
        if let Err(e) = self.inner.read_exact(buf) {
            self.pos = None;
            return Err(e);
        }
        self.pos = offset.checked_add(buf.len() as u64);
        Ok(())
    }

    /// Reads some bytes from `offset` (fewer than asked is fine; 0 only at the end).
    pub(crate) fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.seek_to(offset)?;
        match self.inner.read(buf) {
            Ok(n) => {
                self.pos = offset.checked_add(n as u64);
                Ok(n)
            }
            Err(e) => {
                self.pos = None;
                Err(e)
            }
        }
    }

    /// Checks that `length` bytes from sector `lba` lie inside the image.
    pub(crate) fn check_extent(&self, lba: u64, length: u64, structure: Structure, owner: u64) -> Result<u64> {
        let past = || Error::ExtentPastEnd { structure, lba: owner, extent_lba: lba, length, image_bytes: self.len };
        let start = lba.checked_mul(SECTOR_SIZE_U64).ok_or_else(past)?;
        let end = start.checked_add(length).ok_or_else(past)?;
        if end > self.len {
            return Err(past());
        }
        Ok(start)
    }

    /// Reads `length` bytes of metadata from sector `lba` into a new buffer, within the image and the
    /// allocation limit. `owner` is the sector named in errors.
    pub(crate) fn read_extent(
        &mut self,
        lba: u64,
        length: u64,
        structure: Structure,
        owner: u64,
        limits: Limits,
    ) -> Result<Vec<u8>> {
        self.read_bytes(lba, 0, length, structure, owner, limits)
    }

    /// Like [`Sectors::read_extent`], from byte `offset` of sector `lba`.
    pub(crate) fn read_bytes(
        &mut self,
        lba: u64,
        offset: u64,
        length: u64,
        structure: Structure,
        owner: u64,
        limits: Limits,
    ) -> Result<Vec<u8>> {
        if length > limits.max_alloc() {
            return Err(Error::LimitExceeded {
                structure,
                lba: owner,
                what: "allocation of bytes",
                value: length,
                limit: limits.max_alloc(),
            });
        }
        let start = self.check_extent(lba, offset.saturating_add(length), structure, owner)?;
        let start = start.checked_add(offset).ok_or(Error::ExtentPastEnd {
            structure,
            lba: owner,
            extent_lba: lba,
            length,
            image_bytes: self.len,
        })?;
        let n = usize::try_from(length).map_err(|_| Error::LimitExceeded {
            structure,
            lba: owner,
            what: "allocation of bytes",
            value: length,
            limit: limits.max_alloc(),
        })?;
        let mut buf = vec![0u8; n];
        self.read_exact_at(start, &mut buf).map_err(|source| Error::Io { structure, lba, source })?;
        Ok(buf)
    }
}

//! A byte buffer whose start is aligned to a page.
//!
//! The kernel hands a SCSI command's data straight to the user's memory only when the buffer meets the queue's DMA
//! alignment; otherwise it reads into pages of its own and copies them out. A [`SectorBuf`] always starts on a
//! 4096-byte boundary, so reads into it (SG_IO, or `O_DIRECT`) skip that copy.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// The alignment of a [`SectorBuf`]'s start.
pub const ALIGN: usize = 4096;

#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(4096))]
struct Page([u8; ALIGN]);

/// A growable byte buffer that starts on a page boundary; it dereferences to its `len` bytes.
#[derive(Clone, Default)]
pub struct SectorBuf {
    pages: Vec<Page>,
    len: usize,
}

impl SectorBuf {
    /// Bytes held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no bytes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets the bytes, keeping the memory.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Sets the length to `len` without clearing what the memory already holds (for a buffer that is about to be
    /// overwritten whole, as by a read).
    pub fn set_len_for_overwrite(&mut self, len: usize) {
        self.reserve(len);
        self.len = len;
    }

    /// Appends `data`.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        let from = self.len;
        let to = from.saturating_add(data.len());
        self.reserve(to);
        self.len = to;
        if let Some(dst) = self.bytes_mut().get_mut(from..to) {
            dst.copy_from_slice(data);
        }
    }

    fn reserve(&mut self, len: usize) {
        let pages = len.div_ceil(ALIGN);
        if pages > self.pages.len() {
            self.pages.resize(pages, Page([0; ALIGN]));
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(&mut self.pages)
    }
}

impl Deref for SectorBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let all: &[u8] = bytemuck::cast_slice(&self.pages);
        all.get(..self.len).unwrap_or_default()
    }
}

impl DerefMut for SectorBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        self.bytes_mut().get_mut(..len).unwrap_or_default()
    }
}

impl PartialEq for SectorBuf {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for SectorBuf {}

impl fmt::Debug for SectorBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SectorBuf({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_page_and_keeps_its_bytes() {
        let mut b = SectorBuf::default();
        assert!(b.is_empty());
        b.extend_from_slice(&[1, 2, 3]);
        b.extend_from_slice(&[4; 5000]);
        assert_eq!(b.len(), 5003);
        assert_eq!(b.as_ptr() as usize % ALIGN, 0);
        assert_eq!(&b[..4], &[1, 2, 3, 4]);
        assert_eq!(b[5002], 4);
        b.clear();
        assert!(b.is_empty());
        b.set_len_for_overwrite(3);
        assert_eq!(&*b, &[1, 2, 3], "the memory is kept, for a read to overwrite");
        b[0] = 9;
        let mut c = SectorBuf::default();
        c.extend_from_slice(&[9, 2, 3]);
        assert_eq!(b, c);
        c.extend_from_slice(&[0]);
        assert_ne!(b, c);
    }
}

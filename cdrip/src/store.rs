//! Where the bytes of an image file come from when they are not a plain file read as it is: a container that
//! decompresses them (CHD, ECM, CSO), an audio file decoded to PCM, a file read through a format's own index.
//!
//! A [`ByteStore`] answers positional reads (`read_at` takes `&self`, so several readers can share one store
//! and a hash can read while a cooked reader is open); a store that caches decoded blocks keeps them behind
//! its own lock. [`crate::image::ImageFile::from_store`] puts one under a raw disc's track layout, and
//! [`StoreReader`] turns one into the `Read + Seek` the file-system readers take (for containers of 2048-byte
//! sectors such as CSO).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Random access to the bytes of one (possibly virtual) file.
pub trait ByteStore: Send + Sync + fmt::Debug {
    /// Its length in bytes.
    fn len(&self) -> u64;

    /// Whether it holds no byte.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes from `offset`. Reading past [`ByteStore::len`] is an
    /// [`io::ErrorKind::UnexpectedEof`] error.
    ///
    /// # Errors
    /// I/O errors of the underlying file; `InvalidData` when a container's block cannot be decoded.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// A plain file read with positional reads.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    file: File,
    len: u64,
}

impl FileStore {
    /// Opens `path`.
    ///
    /// # Errors
    /// The error of opening it or reading its length.
    pub fn open(path: &Path) -> io::Result<FileStore> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileStore { path: path.to_path_buf(), file, len })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ByteStore for FileStore {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
}

/// A [`ByteStore`] as `Read + Seek`, with a position of its own.
#[derive(Debug)]
pub struct StoreReader<S> {
    store: S,
    pos: u64,
}

impl<S: ByteStore> StoreReader<S> {
    /// A reader at position 0.
    pub fn new(store: S) -> StoreReader<S> {
        StoreReader { store, pos: 0 }
    }

    /// The store it reads.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<S: ByteStore> Read for StoreReader<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let left = self.store.len().saturating_sub(self.pos);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(out.len());
        if n == 0 {
            return Ok(0);
        }
        let dst = out.get_mut(..n).ok_or_else(|| io::Error::other("read past the buffer"))?;
        self.store.read_at(self.pos, dst)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl<S: ByteStore> Seek for StoreReader<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.store.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let p = new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = p;
        Ok(p)
    }
}

impl<S: ByteStore + ?Sized> ByteStore for Box<S> {
    fn len(&self) -> u64 {
        (**self).len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_at(offset, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Mem(Vec<u8>);

    impl ByteStore for Mem {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            let start = usize::try_from(offset).map_err(io::Error::other)?;
            let src = self.0.get(start..start + buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    #[test]
    fn reader_reads_seeks_and_stops_at_the_end() {
        let mut r = StoreReader::new(Mem((0..=255u8).collect()));
        let mut buf = [0u8; 10];
        r.seek(SeekFrom::Start(250)).unwrap();
        assert_eq!(r.read(&mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], &[250, 251, 252, 253, 254, 255]);
        assert_eq!(r.read(&mut buf).unwrap(), 0);
        r.seek(SeekFrom::End(-2)).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, vec![254, 255]);
        r.seek(SeekFrom::Start(5)).unwrap();
        assert!(r.seek(SeekFrom::Current(-10)).is_err());
    }
}

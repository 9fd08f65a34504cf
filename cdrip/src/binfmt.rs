//! Bounded reading of the binary descriptions some image formats keep (Nero's footer chunks, Alcohol's `.mds`,
//! DiscJuggler's descriptor): every field is read through [`Bin`], which turns a read past the end into an
//! [`Error::Layout`] naming the file and the structure instead of a panic.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

/// Largest description read into memory: real ones are a few kilobytes (a CD has at most 99 tracks).
pub(crate) const MAX_DESCRIPTION: u64 = 16 << 20;

/// An [`Error::Layout`] for `path`.
pub(crate) fn bad(path: &Path, message: String) -> Error {
    Error::Layout { sheet: path.to_path_buf(), message }
}

/// The bytes of a description, read with checked offsets.
pub(crate) struct Bin<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) path: &'a Path,
}

impl<'a> Bin<'a> {
    /// `len` bytes from `off`, or an error saying which structure does not fit.
    pub(crate) fn get(&self, off: usize, len: usize, what: &str) -> Result<&'a [u8]> {
        off.checked_add(len).and_then(|end| self.data.get(off..end)).ok_or_else(|| {
            bad(
                self.path,
                format!(
                    "{what} ({len} bytes at byte {off}) runs past the end of its {}-byte description",
                    self.data.len()
                ),
            )
        })
    }

    /// The `len` bytes from `off` as a description of their own (a block inside a table).
    pub(crate) fn sub(&self, off: usize, len: usize, what: &str) -> Result<Bin<'a>> {
        Ok(Bin { data: self.get(off, len, what)?, path: self.path })
    }

    fn array<const N: usize>(&self, off: usize, what: &str) -> Result<[u8; N]> {
        let s = self.get(off, N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&self, off: usize, what: &str) -> Result<u8> {
        Ok(self.array::<1>(off, what)?[0])
    }

    pub(crate) fn u16le(&self, off: usize, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(off, what)?))
    }

    pub(crate) fn u16be(&self, off: usize, what: &str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(off, what)?))
    }

    pub(crate) fn u32le(&self, off: usize, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(off, what)?))
    }

    pub(crate) fn u32be(&self, off: usize, what: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(off, what)?))
    }

    pub(crate) fn u64le(&self, off: usize, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(off, what)?))
    }

    pub(crate) fn u64be(&self, off: usize, what: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(off, what)?))
    }
}

/// `len` bytes of the file at `path` from `offset`, refusing more than [`MAX_DESCRIPTION`].
pub(crate) fn read_region(path: &Path, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
    if len > MAX_DESCRIPTION {
        return Err(bad(path, format!("the {what} would be {len} bytes, more than the {MAX_DESCRIPTION} read")));
    }
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut f = File::open(path).map_err(io)?;
    f.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    f.read_exact(&mut buf)
        .map_err(|e| bad(path, format!("cannot read the {what} ({len} bytes at byte {offset}): {e}")))?;
    Ok(buf)
}

/// The length of the file at `path`.
pub(crate) fn file_len(path: &Path) -> Result<u64> {
    std::fs::metadata(path).map(|m| m.len()).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// A reader of byte ranges of one image: a file on disk, or bytes in memory (for the fuzz targets).
pub trait Region {
    /// Its length in bytes.
    fn len(&self) -> u64;
    /// Whether it is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `len` bytes from `offset` (at most 16 MiB).
    ///
    /// # Errors
    /// [`Error::Layout`] when the range is not inside it, [`Error::Io`].
    fn read(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>>;
}

/// A file on disk as a [`Region`].
pub(crate) struct FileRegion<'a> {
    pub(crate) path: &'a Path,
    pub(crate) len: u64,
}

impl Region for FileRegion<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        if offset.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(bad(
                self.path,
                format!("the {what} ({len} bytes at byte {offset}) is past the end of the {}-byte file", self.len),
            ));
        }
        read_region(self.path, offset, len, what)
    }
}

/// Bytes in memory as a [`Region`], named `path` in messages.
pub struct MemRegion<'a> {
    /// The bytes.
    pub data: &'a [u8],
    /// The name used in messages.
    pub path: &'a Path,
}

impl Region for MemRegion<'_> {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        if len > MAX_DESCRIPTION {
            return Err(Error::LimitExceeded { what: "image description bytes", limit: MAX_DESCRIPTION, actual: len });
        }
        let (Ok(o), Ok(l)) = (usize::try_from(offset), usize::try_from(len)) else {
            return Err(bad(self.path, format!("the {what} at byte {offset} is past the end")));
        };
        Bin { data: self.data, path: self.path }.get(o, l, what).map(<[u8]>::to_vec)
    }
}

/// The text of a description file (GDI, cdrdao TOC), refusing files over [`crate::cue::MAX_SHEET_LEN`] bytes.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let len = file_len(path)?;
    if len > crate::cue::MAX_SHEET_LEN {
        return Err(Error::LimitExceeded {
            what: "description file size",
            limit: crate::cue::MAX_SHEET_LEN,
            actual: len,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Splits a line into words, a word in double quotes keeping its spaces.
pub(crate) fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut w = String::new();
        if c == '"' {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                w.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
        }
        out.push(w);
    }
    out
}

/// A reading position in a [`Bin`], for descriptions whose fields follow each other with variable lengths.
pub(crate) struct Cur<'a> {
    pub(crate) bin: Bin<'a>,
    pub(crate) pos: usize,
}

impl<'a> Cur<'a> {
    pub(crate) fn bytes(&mut self, len: usize, what: &str) -> Result<&'a [u8]> {
        let b = self.bin.get(self.pos, len, what)?;
        self.pos = self.pos.saturating_add(len);
        Ok(b)
    }

    pub(crate) fn skip(&mut self, len: usize, what: &str) -> Result<()> {
        self.bytes(len, what).map(|_| ())
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        let v = self.bin.u8(self.pos, what)?;
        self.pos = self.pos.saturating_add(1);
        Ok(v)
    }

    pub(crate) fn u16le(&mut self, what: &str) -> Result<u16> {
        let v = self.bin.u16le(self.pos, what)?;
        self.pos = self.pos.saturating_add(2);
        Ok(v)
    }

    pub(crate) fn u32le(&mut self, what: &str) -> Result<u32> {
        let v = self.bin.u32le(self.pos, what)?;
        self.pos = self.pos.saturating_add(4);
        Ok(v)
    }
}

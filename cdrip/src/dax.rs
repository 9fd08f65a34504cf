//! DAX: compressed ISO images in frames of 8 KiB, as PSP loaders and maxcso (`--format=dax`) write them. Read.
//!
//! # Format
//! A 32-byte header (little-endian): the magic `DAX\0`, the uncompressed size (32 bits), the version (0 or 1),
//! the number of areas stored uncompressed (version 1; 0 otherwise), 16 reserved bytes. Then, for each of the
//! `ceil(size / 8192)` frames, where its data starts in the file (32 bits); then each frame's stored length (16
//! bits); then, in version 1, the uncompressed areas, each its first frame and its number of frames (32 bits
//! each). A frame is a zlib stream (RFC 1950) of 8192 bytes (the last one may hold zeros past the image's end),
//! or, inside an uncompressed area, the bytes themselves.
//!
//! [`DaxStore`] reads one as a [`ByteStore`]: every frame's place is checked on open, and a few decoded frames
//! are kept.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::cso::{invalid, le32, read_blocks};
use crate::store::{ByteStore, FileStore};

/// The header's length.
pub const HEADER_LEN: u64 = 32;
/// The bytes of a frame once decoded.
pub const FRAME_SIZE: u32 = 8192;
/// The longest stored frame read: zlib's worst case for 8192 incompressible bytes is a few bytes more than
/// the frame.
const MAX_STORED: u64 = FRAME_SIZE as u64 * 2;

/// A DAX file read as the image it holds.
#[derive(Debug)]
pub struct DaxStore {
    path: PathBuf,
    source: Box<dyn ByteStore>,
    len: u64,
    /// Each frame's offset in the file and stored length.
    frames: Vec<(u64, u16)>,
    /// Frames stored uncompressed: first frame and count.
    plain: Vec<(u32, u32)>,
    cache: Mutex<Vec<(u64, Vec<u8>)>>,
}

impl DaxStore {
    /// Opens the DAX file at `path` and checks its header, its index and its uncompressed areas.
    ///
    /// # Errors
    /// I/O errors; `InvalidData` for a bad signature or version, an index that does not fit in the file, a
    /// frame inside the index or past the end of the file, an uncompressed area past the last frame.
    pub fn open(path: &Path) -> io::Result<DaxStore> {
        DaxStore::from_source(path, Box::new(FileStore::open(path)?))
    }

    /// Reads the DAX file whose bytes `source` gives (`path` names it).
    ///
    /// # Errors
    /// As [`DaxStore::open`].
    pub fn from_source(path: &Path, source: Box<dyn ByteStore>) -> io::Result<DaxStore> {
        let file_len = source.len();
        let mut h = [0u8; 32];
        source.read_at(0, &mut h).map_err(|_| invalid("too short for a DAX header".into()))?;
        if h.get(..4) != Some(b"DAX\0") {
            return Err(invalid("no DAX signature".into()));
        }
        let len = u64::from(le32(&h, 4));
        let version = le32(&h, 8);
        let areas = if version >= 1 { le32(&h, 12) } else { 0 };
        if version > 1 {
            return Err(invalid(format!("DAX version {version}, which odix does not read")));
        }
        let count = len.div_ceil(u64::from(FRAME_SIZE));
        if u64::from(areas) > count {
            return Err(invalid(format!("DAX of {count} frames claims {areas} uncompressed areas")));
        }
        let index_len = count.saturating_mul(6).saturating_add(u64::from(areas).saturating_mul(8));
        let data_start = HEADER_LEN.saturating_add(index_len);
        if data_start > file_len {
            return Err(invalid(format!(
                "DAX of {len} bytes needs {index_len} bytes of index, more than the file holds"
            )));
        }
        let mut raw = vec![0u8; usize::try_from(index_len).map_err(|_| invalid("index too large".into()))?];
        source.read_at(HEADER_LEN, &mut raw)?;
        let n = usize::try_from(count).map_err(|_| invalid("index too large".into()))?;
        let (offsets, rest) = raw.split_at(n.saturating_mul(4).min(raw.len()));
        let (lengths, area_bytes) = rest.split_at(n.saturating_mul(2).min(rest.len()));
        let mut frames = Vec::with_capacity(n);
        for (i, (o, l)) in offsets.chunks_exact(4).zip(lengths.chunks_exact(2)).enumerate() {
            let at = u64::from(le32(o, 0));
            let stored = u16::from_le_bytes([l.first().copied().unwrap_or(0), l.get(1).copied().unwrap_or(0)]);
            let end = at.saturating_add(u64::from(stored));
            if at < data_start || end > file_len || stored == 0 {
                return Err(invalid(format!(
                    "DAX frame {i} is stored at bytes {at}..{end}, outside the data ({data_start}..{file_len})"
                )));
            }
            frames.push((at, stored));
        }
        let mut plain = Vec::new();
        for (i, a) in area_bytes.chunks_exact(8).enumerate() {
            let (first, frames_in) = (le32(a, 0), le32(a, 4));
            if u64::from(first).saturating_add(u64::from(frames_in)) > count {
                return Err(invalid(format!(
                    "DAX uncompressed area {i} (frames {first} + {frames_in}) goes past the last frame ({count})"
                )));
            }
            plain.push((first, frames_in));
        }
        Ok(DaxStore { path: path.to_path_buf(), source, len, frames, plain, cache: Mutex::new(Vec::new()) })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decodes frame `f` into `out` (resized to the frame's length within the image).
    fn decode_frame(&self, f: u64, out: &mut Vec<u8>) -> io::Result<()> {
        let fs = u64::from(FRAME_SIZE);
        let &(at, stored) = usize::try_from(f)
            .ok()
            .and_then(|i| self.frames.get(i))
            .ok_or_else(|| invalid(format!("DAX frame {f} is not in the index")))?;
        let stored = u64::from(stored);
        let expected = fs.min(self.len.saturating_sub(f.saturating_mul(fs)));
        let expected_usize = usize::try_from(expected).unwrap_or(0);
        let plain = self.plain.iter().any(|&(a, n)| f >= u64::from(a) && f < u64::from(a).saturating_add(u64::from(n)));
        out.clear();
        if plain {
            if stored < expected {
                return Err(invalid(format!(
                    "DAX frame {f} is stored uncompressed in {stored} bytes, less than its {expected}"
                )));
            }
            out.resize(expected_usize, 0);
            return self.source.read_at(at, out);
        }
        if stored > MAX_STORED {
            return Err(invalid(format!("DAX frame {f} takes {stored} bytes, more than twice {fs}")));
        }
        let mut input = vec![0u8; usize::try_from(stored).unwrap_or(0)];
        self.source.read_at(at, &mut input)?;
        let mut d = flate2::read::ZlibDecoder::new(input.as_slice()).take(fs.saturating_add(1));
        d.read_to_end(out).map_err(|e| invalid(format!("DAX frame {f}: zlib: {e}")))?;
        if out.len() as u64 > fs {
            return Err(invalid(format!("DAX frame {f} expands past the frame size ({fs})")));
        }
        if (out.len() as u64) < expected {
            return Err(invalid(format!("DAX frame {f} decodes to {} bytes, not {expected}", out.len())));
        }
        out.truncate(expected_usize);
        Ok(())
    }
}

impl ByteStore for DaxStore {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        read_blocks(&self.cache, self.len, FRAME_SIZE, offset, buf, |f, out| self.decode_frame(f, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DAX file by the description: `data` in frames, those listed in `areas` stored as they are.
    fn dax(data: &[u8], areas: &[(u32, u32)]) -> Vec<u8> {
        use std::io::Write;
        let frames: Vec<&[u8]> = data.chunks(FRAME_SIZE as usize).collect();
        let n = frames.len();
        let version = u32::from(!areas.is_empty());
        let mut out = Vec::new();
        out.extend_from_slice(b"DAX\0");
        for v in [data.len() as u32, version, areas.len() as u32, 0, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let mut pos = HEADER_LEN as usize + n * 6 + areas.len() * 8;
        let mut stored = Vec::new();
        let mut index = (Vec::new(), Vec::new());
        for (i, f) in frames.iter().enumerate() {
            let raw = areas.iter().any(|&(a, c)| (a as usize..(a + c) as usize).contains(&i));
            let bytes = if raw {
                f.to_vec()
            } else {
                let mut padded = f.to_vec();
                padded.resize(FRAME_SIZE as usize, 0);
                let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(&padded).unwrap();
                z.finish().unwrap()
            };
            index.0.extend_from_slice(&(pos as u32).to_le_bytes());
            index.1.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            pos += bytes.len();
            stored.extend_from_slice(&bytes);
        }
        out.extend_from_slice(&index.0);
        out.extend_from_slice(&index.1);
        for &(a, c) in areas {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(&stored);
        out
    }

    fn store(bytes: Vec<u8>) -> io::Result<DaxStore> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.dax");
        std::fs::write(&path, bytes).unwrap();
        DaxStore::open(&path)
    }

    #[test]
    fn frames_compressed_and_stored_read_back() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for areas in [&[][..], &[(1, 2)][..]] {
            let s = store(dax(&data, areas)).unwrap();
            assert_eq!(s.len(), data.len() as u64);
            let mut all = vec![0u8; data.len()];
            s.read_at(0, &mut all).unwrap();
            assert!(all == data);
            let mut mid = vec![0u8; 10_000];
            s.read_at(8000, &mut mid).unwrap();
            assert!(mid[..] == data[8000..18_000]);
        }
    }

    #[test]
    fn damaged_files_are_refused() {
        let data = vec![7u8; 20_000];
        let good = dax(&data, &[]);
        let mut bad = good.clone();
        bad[32..36].copy_from_slice(&5u32.to_le_bytes());
        assert!(store(bad).unwrap_err().to_string().contains("frame 0"));
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert!(store(bad).unwrap_err().to_string().contains("version 7"));
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(store(bad).unwrap_err().to_string().contains("more than the file holds"));
        let mut bad = good.clone();
        let at = le32(&bad, 32) as usize;
        bad[at + 2] ^= 0xFF;
        let s = store(bad).unwrap();
        assert!(s.read_at(0, &mut [0u8; 16]).is_err());
    }
}

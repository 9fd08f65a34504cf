//! CRC32, MD5 and SHA-1 of a raw image and of each of its tracks, and a redump-style DAT entry.
//!
//! A track's hash covers the bytes it has in its file (its stored pregap included), which is what redump
//! hashes for its one-file-per-track images; the image's hash covers every file in order.

use std::fmt::Write as _;

use md5::Digest as _;

use crate::error::Result;
use crate::image::RawDisc;

/// The three digests of one byte stream, as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashes {
    /// Bytes hashed.
    pub size: u64,
    /// CRC-32 (ISO-HDLC, as zip and redump use).
    pub crc32: String,
    /// MD5.
    pub md5: String,
    /// SHA-1.
    pub sha1: String,
}

/// Incremental computation of [`Hashes`].
#[derive(Clone, Default)]
pub struct Hasher {
    size: u64,
    crc: crc32fast::Hasher,
    md5: md5::Md5,
    sha1: sha1::Sha1,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.size = self.size.saturating_add(data.len() as u64);
        self.crc.update(data);
        self.md5.update(data);
        self.sha1.update(data);
    }

    /// Adds bytes to the digests of `share` only (the size counts with the CRC-32 and MD5 share).
    pub fn update_share(&mut self, share: Share, data: &[u8]) {
        match share {
            Share::All => self.update(data),
            Share::Crc32Md5 => {
                self.size = self.size.saturating_add(data.len() as u64);
                self.crc.update(data);
                self.md5.update(data);
            }
            Share::Sha1 => self.sha1.update(data),
        }
    }

    /// This CRC-32 and MD5 share completed with the SHA-1 of `sha1_share` (each fed the same bytes).
    #[must_use]
    pub fn join(mut self, sha1_share: Hasher) -> Hasher {
        self.sha1 = sha1_share.sha1;
        self
    }

    /// The digests.
    pub fn finish(self) -> Hashes {
        Hashes {
            size: self.size,
            crc32: format!("{:08x}", self.crc.finalize()),
            md5: hex(&self.md5.finalize()),
            sha1: hex(&self.sha1.finalize()),
        }
    }
}

/// Which digests a [`Hasher`] computes, so that two threads can share the work on one byte stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Share {
    /// CRC-32, MD5 and SHA-1.
    #[default]
    All,
    /// CRC-32 and MD5 (and the size).
    Crc32Md5,
    /// SHA-1.
    Sha1,
}

/// Hashes of a whole image and of each track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageHashes {
    /// Every file of the image, in order.
    pub image: Hashes,
    /// One per track, in track order: (track number, hashes).
    pub tracks: Vec<(u8, Hashes)>,
}

/// Chunk read at a time, in bytes.
const CHUNK: usize = 1 << 20;

/// Hashes the files of `disc` and the stored bytes of each track, reading each file once. A track that
/// interleaves subchannel data with its sectors is hashed without it (its 2352-byte sectors, as a BIN holds them).
///
/// # Errors
/// [`crate::Error::Io`] when a file cannot be read.
pub fn hash_image(disc: &RawDisc) -> Result<ImageHashes> {
    let mut image = Hasher::new();
    let mut tracks: Vec<(u8, Hasher)> = disc.tracks().iter().map(|t| (t.number, Hasher::new())).collect();
    let mut buf = vec![0u8; CHUNK];
    for (fi, f) in disc.files().iter().enumerate() {
        let mut pos = 0u64;
        while pos < f.len {
            let n = usize::try_from(f.len.saturating_sub(pos)).unwrap_or(CHUNK).min(CHUNK);
            let chunk = buf.get_mut(..n).unwrap_or_default();
            f.read_at_shared(pos, chunk)?;
            let chunk = &*chunk;
            image.update(chunk);
            let end = pos.saturating_add(n as u64);
            for ((_, h), t) in tracks.iter_mut().zip(disc.tracks()) {
                let (from, to) = (t.file_offset, t.file_offset.saturating_add(t.stored_bytes()));
                if t.file != fi || to <= pos || from >= end {
                    continue;
                }
                hash_track_bytes(h, chunk, pos, from, to, t.stride(), t.sector_size());
            }
            pos = end;
        }
    }
    Ok(ImageHashes { image: image.finish(), tracks: tracks.into_iter().map(|(n, h)| (n, h.finish())).collect() })
}

/// Feeds `h` the part of `chunk` (which starts at file byte `pos`) that lies in the track's bytes `from..to`,
/// keeping of each `stride`-byte sector only its first `main` bytes.
fn hash_track_bytes(h: &mut Hasher, chunk: &[u8], pos: u64, from: u64, to: u64, stride: u32, main: u32) {
    let end = pos.saturating_add(chunk.len() as u64);
    let (a, b) = (from.max(pos), to.min(end));
    if stride == main {
        let lo = usize::try_from(a.saturating_sub(pos)).unwrap_or(0);
        let hi = usize::try_from(b.saturating_sub(pos)).unwrap_or(0);
        h.update(chunk.get(lo..hi).unwrap_or_default());
        return;
    }
    let (stride, main) = (u64::from(stride.max(1)), u64::from(main));
    let mut at = a;
    while at < b {
        let in_sector = at.saturating_sub(from).checked_rem(stride).unwrap_or(0);
        let sector_end = at.saturating_add(stride.saturating_sub(in_sector));
        let keep_end = at.saturating_add(main.saturating_sub(in_sector)).min(b);
        if in_sector < main && keep_end > at {
            let lo = usize::try_from(at.saturating_sub(pos)).unwrap_or(0);
            let hi = usize::try_from(keep_end.saturating_sub(pos)).unwrap_or(0);
            h.update(chunk.get(lo..hi).unwrap_or_default());
        }
        at = sector_end;
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A redump-style DAT `<game>` entry: one `<rom>` per track, named `NAME (Track N).bin` (or `NAME.bin` for a
/// single track), with size, crc, md5 and sha1.
pub fn dat_entry(name: &str, hashes: &ImageHashes) -> String {
    let single = hashes.tracks.len() == 1;
    let roms: Vec<(String, &Hashes)> = hashes
        .tracks
        .iter()
        .map(|(num, h)| (if single { format!("{name}.bin") } else { format!("{name} (Track {num}).bin") }, h))
        .collect();
    dat_entry_files(name, &roms)
}

/// A DAT `<game>` entry named `name` with one `<rom>` per file as written: its file name, size, crc, md5 and sha1.
pub fn dat_entry_files<S: AsRef<str>>(name: &str, roms: &[(S, &Hashes)]) -> String {
    let mut s = String::new();
    let n = xml_escape(name);
    let _ = writeln!(s, "<game name=\"{n}\">");
    let _ = writeln!(s, "\t<description>{n}</description>");
    for (rom, h) in roms {
        let _ = writeln!(
            s,
            "\t<rom name=\"{}\" size=\"{}\" crc=\"{}\" md5=\"{}\" sha1=\"{}\"/>",
            xml_escape(rom.as_ref()),
            h.size,
            h.crc32,
            h.md5,
            h.sha1
        );
    }
    s.push_str("</game>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let mut h = Hasher::new();
        h.update(b"abc");
        let d = h.finish();
        assert_eq!(d.crc32, "352441c2");
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        let (mut a, mut b) = (Hasher::new(), Hasher::new());
        for part in [&b"a"[..], b"bc"] {
            a.update_share(Share::Crc32Md5, part);
            b.update_share(Share::Sha1, part);
        }
        assert_eq!(a.join(b).finish(), d);
    }
}

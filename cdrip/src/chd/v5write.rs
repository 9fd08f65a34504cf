//! The CHD version 5 file structure as odix writes it, and the codecs it compresses hunks with.
//!
//! The file is laid out as `chdman` lays it: the 124-byte header, the metadata chain, every stored hunk one after
//! the other, then the compressed map. Everything but the header is written in order; the header, which names the
//! map and the SHA-1s, is written last over the zeros that hold its place.
//!
//! - A hunk is stored compressed with the header's codec that gives the fewest bytes (ties go to the earlier
//!   codec), as is when no codec makes it smaller, or as a copy of the first earlier hunk with the same bytes
//!   (same SHA-1 and CRC-16).
//! - A CD hunk's codecs (`cdlz`, `cdzl`) first take out of each sector the sync field and the P/Q parity of a
//!   Mode 1 sector whose parity checks (a bit per frame says so), then compress the sectors with LZMA or Deflate
//!   and the subchannel with Deflate; `cdfl` compresses the sectors as 16-bit stereo samples with FLAC. Every
//!   codec is tried on every hunk, as chdman does.
//! - LZMA runs with the properties every CHD decoder assumes (lc 3, lp 0, pb 2, a dictionary no larger than the
//!   decoder's, which is the data rounded up to 2 or 3 times a power of two) in `lzma-rust2`, with chdman's
//!   search for CD hunks (normal mode, binary-tree match finder on 4 bytes, nice length 64, depth 48) and a
//!   shorter one for DVD hunks (nice length and depth 24). Deflate is zlib's (through `flate2`) at level 9, a
//!   raw stream with a 15-bit window and memory level 8, as chdman runs it. The FLAC and Huffman codecs are the
//!   `chd` crate's.
//! - The map: the hunks' storage types Huffman-coded (runs of one type shortened, copies of the hunk after the
//!   last one copied or of the same one given their own types), then per hunk its compressed length, its CRC-16
//!   or the hunk it copies, in as many bits as the largest needs; a 16-byte header with the map's CRC-16.

use std::collections::HashMap;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, RwLock};

use ::chd::codecs::{CdFlacCodec, CodecImplementation, HuffmanCodec, RawFlacCodec};
use ::chd::huffman::HuffmanEncoder;
use bitstream_io::{BigEndian, BitWrite, BitWriter};
use crc::{Crc, CRC_16_IBM_3740};
use flate2::{Compress, Compression, FlushCompress, Status};
use lzma_rust2::{EncodeMode, LzmaOptions, LzmaWriter, MfType};
use sha1::{Digest, Sha1};

use crate::sector::ecc;

/// The CRC-16 of hunks and of the map (CCITT, initial value 0xFFFF).
const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);
/// Bytes of the header.
const HEADER_LEN: u64 = 124;
/// Bytes of a CD frame, of its sector and of its subchannel.
const FRAME: usize = 2448;
const SECTOR: usize = 2352;
/// The sync field that starts a data sector.
const SYNC: [u8; 12] = [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0];
/// Where a sector's P and Q parity start.
const PARITY: usize = 12 + ecc::P_OFFSET;

/// Storage types of the map: a codec's index is its own type.
const TYPE_NONE: u8 = 4;
const TYPE_SELF: u8 = 5;
const TYPE_RLE_SMALL: u8 = 7;
const TYPE_RLE_LARGE: u8 = 8;
const TYPE_SELF_0: u8 = 9;
const TYPE_SELF_1: u8 = 10;
/// The longest run one RLE token says: 3 + 16 + 255 repeats.
const RLE_MAX: usize = 274;
/// Metadata that enters the overall SHA-1.
const META_CHECKSUM: u8 = 1;

/// What a CHD holds, which decides its codecs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Media {
    /// CD frames of 2448 bytes: `cdlz`, `cdzl`, `cdfl`.
    Cd,
    /// DVD sectors: `lzma`, `zlib`, `huff`, `flac`.
    Dvd,
}

impl Media {
    /// The header's four codec tags.
    fn codecs(self) -> [[u8; 4]; 4] {
        match self {
            Media::Cd => [*b"cdlz", *b"cdzl", *b"cdfl", [0; 4]],
            Media::Dvd => [*b"lzma", *b"zlib", *b"huff", *b"flac"],
        }
    }
}

/// What identifies a hunk's bytes: their SHA-1 and CRC-16.
type Key = ([u8; 20], u16);
/// The hunks stored so far, by their bytes.
type Known = Arc<RwLock<HashMap<Key, u32>>>;

fn poisoned() -> io::Error {
    io::Error::other("a thread writing the CHD failed")
}

/// How a hunk is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stored {
    /// Compressed with the header's codec of this index.
    Codec(u8),
    /// As is.
    Raw,
    /// A copy of an earlier hunk.
    Copy,
}

/// A hunk compressed by a [`HunkCompressor`], to hand to [`V5Writer::write_hunk`].
#[derive(Debug)]
pub(crate) struct Compressed {
    stored: Stored,
    data: Vec<u8>,
    key: Key,
}

/// The codecs of one thread.
pub(crate) struct HunkCompressor {
    media: Media,
    hunk_bytes: usize,
    known: Known,
    lzma: LzmaOptions,
    zlib: Compress,
    cdfl: Option<CdFlacCodec>,
    huff: Option<HuffmanCodec>,
    flac: Option<RawFlacCodec>,
    sectors: Vec<u8>,
    subcode: Vec<u8>,
    sub_packed: Vec<u8>,
    trial: Vec<u8>,
}

/// The dictionary a CHD decoder sets up for `bytes` of data: the smallest 2^n (n ≥ 12) or 3·2^n (n ≥ 11) not below.
fn lzma_dict(bytes: usize) -> u32 {
    let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
    (11..=30).flat_map(|i| [2u32 << i, 3u32 << i]).find(|&d| d >= bytes).unwrap_or(1 << 26)
}

/// Appends `input` LZMA-compressed (no header, no end marker) to `out`; false when it fails.
fn lzma(options: &LzmaOptions, input: &[u8], out: &mut Vec<u8>) -> bool {
    let Ok(mut w) = LzmaWriter::new(&mut *out, options, false, false, Some(input.len() as u64)) else {
        return false;
    };
    w.write_all(input).is_ok() && w.finish().is_ok()
}

/// Appends `input` deflated (a raw stream) to `out`; false when it fails.
fn deflate(z: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> bool {
    z.reset();
    out.reserve(input.len().saturating_add(input.len() / 8).saturating_add(64));
    matches!(z.compress_vec(input, out, FlushCompress::Finish), Ok(Status::StreamEnd))
}

impl HunkCompressor {
    fn new(media: Media, hunk_bytes: u32, known: Known) -> io::Result<HunkCompressor> {
        let codec = |e: ::chd::Error| io::Error::other(format!("starting the codecs: {e}"));
        let hb = usize::try_from(hunk_bytes).map_err(io::Error::other)?;
        let frames = hb / FRAME;
        // The data LZMA compresses: a CD hunk's sectors, or a DVD hunk.
        let lzma_bytes = if media == Media::Cd { frames.saturating_mul(SECTOR) } else { hb };
        // chdman's search for a CD's hunks of 18,816 bytes of sectors; for a DVD's 4 KiB hunks a shorter one, which
        // gives `lzma-rust2` its smallest output there (0.06 to 0.09 % less than chdman's settings on discs of text).
        let (nice_len, depth_limit) = if media == Media::Cd { (64, 48) } else { (24, 24) };
        let lzma = LzmaOptions {
            dict_size: lzma_dict(lzma_bytes),
            lc: 3,
            lp: 0,
            pb: 2,
            mode: EncodeMode::Normal,
            nice_len,
            mf: MfType::Bt4,
            depth_limit,
            preset_dict: None,
        };
        let (cdfl, huff, flac) = match media {
            Media::Cd => (Some(CdFlacCodec::new(hunk_bytes).map_err(codec)?), None, None),
            Media::Dvd => (
                None,
                Some(HuffmanCodec::new(hunk_bytes).map_err(codec)?),
                Some(RawFlacCodec::new(hunk_bytes).map_err(codec)?),
            ),
        };
        Ok(HunkCompressor {
            media,
            hunk_bytes: hb,
            known,
            lzma,
            zlib: Compress::new(Compression::best(), false),
            cdfl,
            huff,
            flac,
            sectors: Vec::with_capacity(hb),
            subcode: Vec::with_capacity(hb),
            sub_packed: Vec::new(),
            trial: Vec::with_capacity(hb),
        })
    }

    /// Compresses one hunk (of the CHD's hunk size), or notes that an earlier hunk stored has its bytes.
    ///
    /// # Errors
    /// A hunk of another size.
    pub(crate) fn compress(&mut self, hunk: &[u8]) -> io::Result<Compressed> {
        if hunk.len() != self.hunk_bytes {
            return Err(io::Error::other(format!("a hunk of {} bytes, not {}", hunk.len(), self.hunk_bytes)));
        }
        let key: Key = (Sha1::digest(hunk).into(), CRC16.checksum(hunk));
        if self.known.read().map_err(|_| poisoned())?.contains_key(&key) {
            return Ok(Compressed { stored: Stored::Copy, data: Vec::new(), key });
        }
        let mut best: Option<(u8, Vec<u8>)> = None;
        match self.media {
            Media::Cd => self.compress_cd(hunk, &mut best),
            Media::Dvd => self.compress_dvd(hunk, &mut best),
        }
        Ok(match best {
            Some((codec, data)) => Compressed { stored: Stored::Codec(codec), data, key },
            None => Compressed { stored: Stored::Raw, data: hunk.to_vec(), key },
        })
    }

    /// Keeps `self.trial` as the best result when it is shorter than the best so far and than the hunk.
    fn consider(&mut self, codec: u8, best: &mut Option<(u8, Vec<u8>)>) {
        let limit = best.as_ref().map_or(self.hunk_bytes, |(_, b)| b.len());
        if self.trial.len() < limit {
            let data = std::mem::take(&mut self.trial);
            if let Some((_, old)) = best.replace((codec, data)) {
                self.trial = old;
            }
        }
    }

    fn compress_dvd(&mut self, hunk: &[u8], best: &mut Option<(u8, Vec<u8>)>) {
        self.trial.clear();
        if lzma(&self.lzma, hunk, &mut self.trial) {
            self.consider(0, best);
        }
        self.trial.clear();
        if deflate(&mut self.zlib, hunk, &mut self.trial) {
            self.consider(1, best);
        }
        let mut out = vec![0u8; self.hunk_bytes];
        if let Some(n) = self.huff.as_mut().and_then(|c| c.compress(hunk, &mut out).ok()) {
            self.trial.clear();
            self.trial.extend_from_slice(out.get(..n).unwrap_or_default());
            self.consider(2, best);
        }
        if let Some(n) = self.flac.as_mut().and_then(|c| c.compress(hunk, &mut out).ok()) {
            self.trial.clear();
            self.trial.extend_from_slice(out.get(..n).unwrap_or_default());
            self.consider(3, best);
        }
    }

    fn compress_cd(&mut self, hunk: &[u8], best: &mut Option<(u8, Vec<u8>)>) {
        let frames = hunk.len() / FRAME;
        let mut head = vec![0u8; frames.div_ceil(8)];
        self.sectors.clear();
        self.subcode.clear();
        for (i, frame) in hunk.chunks_exact(FRAME).enumerate() {
            let (sector, sub) = frame.split_at(SECTOR);
            let at = self.sectors.len();
            self.sectors.extend_from_slice(sector);
            self.subcode.extend_from_slice(sub);
            // A Mode 1 sector whose parity checks is stored without its sync field and parity.
            if sector.starts_with(&SYNC) && ecc::check(sector.get(12..).unwrap_or_default()).clean() {
                if let Some(b) = head.get_mut(i / 8) {
                    *b |= 1 << (i % 8);
                }
                let s = self.sectors.get_mut(at..).unwrap_or_default();
                s.get_mut(..12).unwrap_or_default().fill(0);
                s.get_mut(PARITY..).unwrap_or_default().fill(0);
            }
        }
        // The length of the compressed sectors follows the bitmap, in 2 bytes (3 for hunks of 64 KiB and more).
        let len_bytes = if hunk.len() < 65536 { 2 } else { 3 };
        self.sub_packed.clear();
        let sub_ok = deflate(&mut self.zlib, &self.subcode, &mut self.sub_packed);
        for codec in [0u8, 1] {
            if !sub_ok {
                break;
            }
            self.trial.clear();
            self.trial.extend_from_slice(&head);
            self.trial.extend(std::iter::repeat_n(0, len_bytes));
            let start = self.trial.len();
            let ok = if codec == 0 {
                lzma(&self.lzma, &self.sectors, &mut self.trial)
            } else {
                deflate(&mut self.zlib, &self.sectors, &mut self.trial)
            };
            let base = self.trial.len().saturating_sub(start);
            if !ok || base >= if len_bytes == 2 { 1 << 16 } else { 1 << 24 } {
                continue;
            }
            let be = (base as u32).to_be_bytes();
            if let (Some(dst), Some(src)) =
                (self.trial.get_mut(head.len()..start), be.get(4usize.saturating_sub(len_bytes)..))
            {
                dst.copy_from_slice(src);
            }
            self.trial.extend_from_slice(&self.sub_packed);
            self.consider(codec, best);
        }
        let mut out = vec![0u8; self.hunk_bytes];
        if let Some(n) = self.cdfl.as_mut().and_then(|c| c.compress(hunk, &mut out).ok()) {
            self.trial.clear();
            self.trial.extend_from_slice(out.get(..n).unwrap_or_default());
            self.consider(2, best);
        }
    }
}

/// One hunk's map entry.
#[derive(Clone, Copy, Debug)]
struct Entry {
    kind: u8,
    len: u32,
    /// Where it is stored, or the hunk it copies.
    offset: u64,
    crc: u16,
}

/// A CHD v5 being written: hunks are handed to it in order.
pub(crate) struct V5Writer<W> {
    out: W,
    pos: u64,
    media: Media,
    hunk_bytes: u32,
    unit_bytes: u32,
    logical: u64,
    meta: Vec<([u8; 4], Vec<u8>)>,
    meta_offset: u64,
    entries: Vec<Entry>,
    known: Known,
    stored: u64,
}

impl<W: Write + Seek> V5Writer<W> {
    /// Starts a CHD of `logical` bytes in hunks of `hunk_bytes` at the start of `out`, with this metadata (each
    /// entry's tag and bytes, all of them in the overall SHA-1).
    ///
    /// # Errors
    /// `out`'s write errors.
    pub(crate) fn new(
        mut out: W,
        media: Media,
        hunk_bytes: u32,
        unit_bytes: u32,
        logical: u64,
        meta: Vec<([u8; 4], Vec<u8>)>,
    ) -> io::Result<V5Writer<W>> {
        out.write_all(&[0u8; HEADER_LEN as usize])?;
        let mut pos = HEADER_LEN;
        let meta_offset = if meta.is_empty() { 0 } else { HEADER_LEN };
        for (i, (tag, data)) in meta.iter().enumerate() {
            let len = u32::try_from(data.len())
                .ok()
                .filter(|&n| n < 1 << 24)
                .ok_or_else(|| io::Error::other("metadata too long"))?;
            let end = pos.saturating_add(16).saturating_add(u64::from(len));
            let next = if i.saturating_add(1) < meta.len() { end } else { 0 };
            let mut h = [0u8; 16];
            h[..4].copy_from_slice(tag);
            h[4] = META_CHECKSUM;
            h[5..8].copy_from_slice(&len.to_be_bytes()[1..]);
            h[8..].copy_from_slice(&next.to_be_bytes());
            out.write_all(&h)?;
            out.write_all(data)?;
            pos = end;
        }
        Ok(V5Writer {
            out,
            pos,
            media,
            hunk_bytes,
            unit_bytes,
            logical,
            meta,
            meta_offset,
            entries: Vec::new(),
            known: Known::default(),
            stored: 0,
        })
    }

    /// The codecs of one more thread.
    ///
    /// # Errors
    /// A codec that cannot start.
    pub(crate) fn compressor(&self) -> io::Result<HunkCompressor> {
        HunkCompressor::new(self.media, self.hunk_bytes, self.known.clone())
    }

    /// Bytes of hunk data stored so far.
    pub(crate) fn bytes_stored(&self) -> u64 {
        self.stored
    }

    /// Writes the next hunk.
    ///
    /// # Errors
    /// `out`'s write errors.
    pub(crate) fn write_hunk(&mut self, hunk: Compressed) -> io::Result<()> {
        let number = u32::try_from(self.entries.len()).map_err(|_| io::Error::other("too many hunks"))?;
        let earlier = self.known.read().map_err(|_| poisoned())?.get(&hunk.key).copied();
        let entry = match (earlier, hunk.stored) {
            (Some(h), _) => Entry { kind: TYPE_SELF, len: 0, offset: u64::from(h), crc: 0 },
            (None, Stored::Copy) => return Err(io::Error::other("a copy of a hunk not stored")),
            (None, stored) => {
                let kind = match stored {
                    Stored::Codec(c) => c,
                    _ => TYPE_NONE,
                };
                let len = u32::try_from(hunk.data.len()).map_err(io::Error::other)?;
                self.out.write_all(&hunk.data)?;
                let e = Entry { kind, len, offset: self.pos, crc: hunk.key.1 };
                self.pos = self.pos.saturating_add(u64::from(len));
                self.stored = self.stored.saturating_add(u64::from(len));
                self.known.write().map_err(|_| poisoned())?.insert(hunk.key, number);
                e
            }
        };
        self.entries.push(entry);
        Ok(())
    }

    /// Writes the map and the header, given the SHA-1 of the logical bytes, and returns `out`.
    ///
    /// # Errors
    /// `out`'s write and seek errors.
    pub(crate) fn finish(mut self, raw_sha1: [u8; 20]) -> io::Result<W> {
        let map_offset = self.pos;
        let map = compress_map(&self.entries, self.pos)?;
        self.out.write_all(&map)?;
        // The overall SHA-1: of the raw SHA-1 and each checksummed metadata entry's tag and SHA-1, sorted.
        let mut hashes: Vec<[u8; 24]> = self
            .meta
            .iter()
            .map(|(tag, data)| {
                let mut h = [0u8; 24];
                h[..4].copy_from_slice(tag);
                h[4..].copy_from_slice(&Sha1::digest(data));
                h
            })
            .collect();
        hashes.sort_unstable();
        let mut overall = Sha1::new();
        overall.update(raw_sha1);
        for h in &hashes {
            overall.update(h);
        }
        let mut header = Vec::with_capacity(HEADER_LEN as usize);
        header.extend_from_slice(b"MComprHD");
        header.extend_from_slice(&(HEADER_LEN as u32).to_be_bytes());
        header.extend_from_slice(&5u32.to_be_bytes());
        for c in self.media.codecs() {
            header.extend_from_slice(&c);
        }
        header.extend_from_slice(&self.logical.to_be_bytes());
        header.extend_from_slice(&map_offset.to_be_bytes());
        header.extend_from_slice(&self.meta_offset.to_be_bytes());
        header.extend_from_slice(&self.hunk_bytes.to_be_bytes());
        header.extend_from_slice(&self.unit_bytes.to_be_bytes());
        header.extend_from_slice(&raw_sha1);
        header.extend_from_slice(&overall.finalize());
        header.extend_from_slice(&[0u8; 20]);
        self.out.flush()?;
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Bits that hold `v`.
fn bits_for(v: u64) -> u32 {
    64u32.saturating_sub(v.leading_zeros())
}

/// The compressed map of `entries` with its 16-byte header (`end` is where the hunks end: the first hunk's offset
/// when none is stored).
fn compress_map(entries: &[Entry], end: u64) -> io::Result<Vec<u8>> {
    let huff = |e: ::chd::huffman::HuffmanError| io::Error::other(format!("the CHD map: {e}"));
    // The map's CRC is of its entries as 12 bytes each, as a reader rebuilds them.
    let mut raw = Vec::with_capacity(entries.len().saturating_mul(12));
    for e in entries {
        raw.push(e.kind);
        raw.extend_from_slice(&e.len.to_be_bytes()[1..]);
        raw.extend_from_slice(&e.offset.to_be_bytes()[2..]);
        raw.extend_from_slice(&e.crc.to_be_bytes());
    }
    let crc = CRC16.checksum(&raw);
    // Each hunk's type, a copy of the hunk last copied or of the one after it given a type without an offset.
    let mut last_self = 0u64;
    let types: Vec<u8> = entries
        .iter()
        .map(|e| {
            if e.kind != TYPE_SELF {
                return e.kind;
            }
            let t = if e.offset == last_self {
                TYPE_SELF_0
            } else if e.offset == last_self.wrapping_add(1) {
                TYPE_SELF_1
            } else {
                TYPE_SELF
            };
            last_self = e.offset;
            t
        })
        .collect();
    // Runs of one type: the type, then the rest of the run as itself (1 or 2) or as a repeat of it.
    let mut tokens: Vec<u32> = Vec::new();
    for run in types.chunk_by(|a, b| a == b) {
        let t = u32::from(run.first().copied().unwrap_or(0));
        tokens.push(t);
        let mut rest = run.len().saturating_sub(1);
        while rest > 0 {
            if rest < 3 {
                tokens.push(t);
                rest = rest.saturating_sub(1);
                continue;
            }
            let n = rest.min(RLE_MAX);
            if n <= 18 {
                tokens.extend([u32::from(TYPE_RLE_SMALL), n.saturating_sub(3) as u32]);
            } else {
                tokens.extend([
                    u32::from(TYPE_RLE_LARGE),
                    (n.saturating_sub(19) >> 4) as u32,
                    (n.saturating_sub(19) & 15) as u32,
                ]);
            }
            rest = rest.saturating_sub(n);
        }
    }
    let mut encoder = HuffmanEncoder::<16, 8>::new();
    encoder.try_compute_tree(tokens.iter().copied()).map_err(huff)?;
    let max_len = entries.iter().filter(|e| e.kind < TYPE_NONE).map(|e| u64::from(e.len)).max().unwrap_or(0);
    let max_self =
        entries.iter().zip(&types).filter(|(_, &t)| t == TYPE_SELF).map(|(e, _)| e.offset).max().unwrap_or(0);
    let (len_bits, self_bits) = (bits_for(max_len), bits_for(max_self));
    let mut bits = BitWriter::endian(Vec::new(), BigEndian);
    encoder.export_tree_rle(&mut bits).map_err(huff)?;
    for &t in &tokens {
        encoder.encode_one(&mut bits, t).map_err(huff)?;
    }
    for (e, &t) in entries.iter().zip(&types) {
        if t < TYPE_NONE && len_bits > 0 {
            bits.write_var(len_bits, e.len)?;
        }
        if t <= TYPE_NONE {
            bits.write_var(16, e.crc)?;
        }
        if t == TYPE_SELF && self_bits > 0 {
            bits.write_var(self_bits, e.offset)?;
        }
    }
    bits.byte_align()?;
    let data = bits.into_writer();
    let first = entries.iter().find(|e| e.kind <= TYPE_NONE).map_or(end, |e| e.offset);
    let mut map = Vec::with_capacity(data.len().saturating_add(16));
    map.extend_from_slice(&u32::try_from(data.len()).map_err(io::Error::other)?.to_be_bytes());
    map.extend_from_slice(&first.to_be_bytes()[2..]);
    map.extend_from_slice(&crc.to_be_bytes());
    map.extend_from_slice(&[len_bits as u8, self_bits as u8, 0, 0]);
    map.extend_from_slice(&data);
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// DVD hunks: compressible ones, a long run of one hunk, the first ones again, noise, zeros.
    fn hunks() -> Vec<Vec<u8>> {
        let mut seed = 1u32;
        let mut noise = || -> Vec<u8> {
            (0..4096)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 24) as u8
                })
                .collect()
        };
        let mut v: Vec<Vec<u8>> =
            (0..30).map(|i| format!("hunk {i} ").into_bytes().repeat(600)[..4096].to_vec()).collect();
        v.extend((0..300).map(|_| vec![7u8; 4096]));
        v.extend(v[..30].to_vec());
        v.extend((0..3).map(|_| noise()));
        v.push(vec![0u8; 4096]);
        v
    }

    #[test]
    fn the_chd_crate_reads_back_every_hunk_written() {
        let hunks = hunks();
        let logical = (hunks.len() * 4096) as u64;
        let meta = vec![(*b"DVD ", vec![0u8])];
        let mut w = V5Writer::new(Cursor::new(Vec::new()), Media::Dvd, 4096, 2048, logical, meta).unwrap();
        let mut c = w.compressor().unwrap();
        for h in &hunks {
            let x = c.compress(h).unwrap();
            w.write_hunk(x).unwrap();
        }
        let copies = w.entries.iter().filter(|e| e.kind == TYPE_SELF).count();
        assert_eq!(copies, 299 + 30);
        let raw: [u8; 20] = Sha1::digest(hunks.concat()).into();
        let out = w.finish(raw).unwrap().into_inner();
        let mut chd = ::chd::Chd::open(Cursor::new(out), None).unwrap();
        assert_eq!(chd.header().hunk_count() as usize, hunks.len());
        let mut buf = chd.get_hunksized_buffer();
        let mut packed = Vec::new();
        for (i, h) in hunks.iter().enumerate() {
            chd.hunk(i as u32).unwrap().read_hunk_in(&mut packed, &mut buf).unwrap();
            assert!(buf == *h, "hunk {i}");
        }
    }

    #[test]
    fn a_chd_of_no_hunks_is_read_back_empty() {
        let w = V5Writer::new(Cursor::new(Vec::new()), Media::Dvd, 4096, 2048, 0, Vec::new()).unwrap();
        let out = w.finish(Sha1::digest([]).into()).unwrap().into_inner();
        let chd = ::chd::Chd::open(Cursor::new(out), None).unwrap();
        assert_eq!(chd.header().hunk_count(), 0);
    }
}

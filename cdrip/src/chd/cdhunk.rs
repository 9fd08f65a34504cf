//! CD hunks compressed with `cdlz` or `cdzl`, decoded here rather than by the `chd` crate's CD codec, so that
//! what a file-system read never looks at is not rebuilt for it.
//!
//! Such a hunk holds, in order: a bitmap with one bit per frame (set: the frame's sync field and P/Q parities
//! were valid and were cleared before compressing, to be rebuilt), the length of the frames' compressed data
//! (2 bytes big-endian, 3 for hunks of 64 KiB or more), the 2352-byte sectors of every frame compressed as one
//! LZMA or Deflate stream, then their 96-byte subchannels as one Deflate stream. The hunk as chdman defines it
//! (and as its CRC-16 in the map covers it) is each frame's sector, sync and parities rebuilt, then its
//! subchannel.
//!
//! Decoding a hunk here decodes the sectors only and writes the sync field of each marked frame (12 constant
//! bytes). The rest — the subchannel, the P/Q parities of marked frames, and the CRC-16 check of the whole hunk
//! — is done by [`Decoded::finish`], the first time a read wants any byte outside the first 2068 of a marked
//! frame. A read inside those 2068 bytes (sync, header, user data and EDC of a Mode 1 sector: all a file-system
//! read takes) is checked instead by that frame's EDC, the CRC-32 over its first 2064 bytes: the bytes given are
//! exactly the bytes it covers and the EDC itself. A frame whose EDC fails (or that is not marked) has its
//! hunk finished and checked by the CRC-16 first, so damaged data is refused either way and a sector stored
//! with a bad EDC is given back as stored.

use ::chd::codecs::{CodecImplementation, LzmaCodec, ZlibCodec};

use super::{CD_FRAME, CD_SECTOR};
use crate::sector::{ecc, edc};

/// The CRC of a hunk in a version 5 map (CRC-16/IBM-3740, as chdman's `crc16`).
pub(super) const CRC16: crc::Crc<u16, crc::Table<16>> = crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_3740);

/// Bytes at the start of a frame that its Mode 1 EDC vouches for: bytes 0..2064 and the EDC after them.
const EDC_END: usize = 2068;
const EDC_COVERS: usize = 2064;
/// Bytes of subchannel after each sector.
const SUB: usize = (CD_FRAME - CD_SECTOR) as usize;
const FRAME: usize = CD_FRAME as usize;
const SECTOR: usize = CD_SECTOR as usize;
/// The sync field of a data sector.
const SYNC: [u8; 12] = crate::sector::SYNC;

/// The codec that compressed a CD hunk's sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Base {
    /// `cdlz`: LZMA.
    Lzma,
    /// `cdzl`: Deflate.
    Deflate,
}

/// The decoders of one reader, made at their first use (sized for the sectors of a hunk).
#[derive(Default)]
pub(super) struct Engines {
    lzma: Option<LzmaCodec>,
    deflate: Option<ZlibCodec>,
}

/// A decoded hunk: its bytes, and what is still to be done to them (`None` when it is whole and checked).
#[derive(Clone)]
pub(super) struct Decoded {
    pub(super) buf: Vec<u8>,
    rest: Option<Box<Rest>>,
}

/// What a CD hunk decoded by [`decode`] still lacks.
#[derive(Clone)]
struct Rest {
    frames: usize,
    /// One bit per frame: sync (written) and P/Q parities (not yet) to rebuild.
    marked: Vec<u8>,
    /// One bit per frame: a marked frame whose EDC was found to pass.
    checked: Vec<u8>,
    /// The compressed subchannel.
    sub: Vec<u8>,
    /// The CRC-16 the map gives for the whole hunk.
    crc: u16,
}

fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn set_bit(bits: &mut [u8], i: usize) {
    if let Some(b) = bits.get_mut(i / 8) {
        *b |= 1 << (i % 8);
    }
}

/// Whether the first 2068 bytes of `frame` hold a passing Mode 1 EDC.
fn edc_passes(frame: &[u8]) -> bool {
    match (frame.get(..EDC_COVERS), frame.get(EDC_COVERS..EDC_END)) {
        (Some(covered), Some(stored)) => {
            let stored = u32::from_le_bytes(stored.try_into().unwrap_or([0; 4]));
            edc::compute(covered) == stored
        }
        _ => false,
    }
}

impl Decoded {
    /// A hunk decoded whole (and checked as far as its codec allows).
    pub(super) fn whole(buf: Vec<u8>) -> Self {
        Decoded { buf, rest: None }
    }

    /// Whether the hunk is whole (finished, or never anything left to do).
    #[cfg(test)]
    pub(super) fn is_whole(&self) -> bool {
        self.rest.is_none()
    }

    /// Whether bytes `from..to` of the hunk can be given as they are: the hunk is whole, or they lie in the first
    /// 2068 bytes of one marked frame whose EDC passes (checked here the first time).
    pub(super) fn ready(&mut self, from: usize, to: usize) -> bool {
        let Some(r) = self.rest.as_mut() else { return true };
        let f = from / FRAME;
        let start = f.saturating_mul(FRAME);
        if to > start.saturating_add(EDC_END) || !bit(&r.marked, f) {
            return false;
        }
        if bit(&r.checked, f) {
            return true;
        }
        let ok = self.buf.get(start..).is_some_and(edc_passes);
        if ok {
            set_bit(&mut r.checked, f);
        }
        ok
    }

    /// Checks the EDC of every marked frame now (a worker does, before the reader wants them).
    pub(super) fn check_frames(&mut self) {
        let Some(r) = self.rest.as_mut() else { return };
        for f in 0..r.frames {
            if bit(&r.marked, f) && !bit(&r.checked, f) {
                let start = f.saturating_mul(FRAME);
                if self.buf.get(start..).is_some_and(edc_passes) {
                    set_bit(&mut r.checked, f);
                }
            }
        }
    }

    /// Makes the hunk whole: decodes the subchannel, rebuilds the P/Q parities of the marked frames, and checks
    /// the CRC-16 of the result against the map's.
    ///
    /// # Errors
    /// What is wrong, in a few words; the hunk is then left as it was.
    pub(super) fn finish(&mut self) -> Result<(), String> {
        let Some(r) = self.rest.as_ref() else { return Ok(()) };
        let mut sub = vec![0u8; r.frames.saturating_mul(SUB)];
        let mut z = flate2::Decompress::new(false);
        let status = z.decompress(&r.sub, &mut sub, flate2::FlushDecompress::Finish);
        let whole = matches!(status, Ok(s) if s != flate2::Status::BufError)
            && usize::try_from(z.total_out()).ok() == Some(sub.len());
        if !whole {
            return Err("its subchannel cannot be decoded".into());
        }
        for (f, (frame, s)) in self.buf.chunks_exact_mut(FRAME).zip(sub.chunks_exact(SUB)).enumerate() {
            if let Some(d) = frame.get_mut(SECTOR..) {
                d.copy_from_slice(s);
            }
            if bit(&r.marked, f) {
                if let Some(block) = frame.get_mut(SYNC.len()..SECTOR) {
                    ecc::generate(block);
                }
            }
        }
        let crc = CRC16.checksum(&self.buf);
        if crc != r.crc {
            return Err(format!("CRC-16 {crc:04x}, not {:04x} as the map says: damaged data", r.crc));
        }
        self.rest = None;
        Ok(())
    }
}

/// Decodes the sectors of the CD hunk `input` (compressed with `base`, `crc` the map's CRC-16) into `buf`, made
/// `hunk_bytes` long, leaving the rest for [`Decoded::finish`].
///
/// # Errors
/// What is wrong, in a few words.
pub(super) fn decode(
    engines: &mut Engines,
    base: Base,
    input: &[u8],
    hunk_bytes: usize,
    crc: u16,
    mut buf: Vec<u8>,
) -> Result<Decoded, String> {
    if hunk_bytes == 0 || !hunk_bytes.is_multiple_of(FRAME) {
        return Err(format!("CD hunk of {hunk_bytes} bytes, not whole frames"));
    }
    let frames = hunk_bytes / FRAME;
    let marked_len = frames.div_ceil(8);
    let len_bytes = if hunk_bytes < 65536 { 2 } else { 3 };
    let head = marked_len.saturating_add(len_bytes);
    let len_field = input.get(marked_len..head).ok_or("shorter than its header")?;
    let base_len = len_field.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
    let base_end = head
        .checked_add(base_len)
        .filter(|&e| e <= input.len())
        .ok_or_else(|| format!("its sectors' {base_len} compressed bytes run past its {} bytes", input.len()))?;
    let (marked, packed, sub) = match (input.get(..marked_len), input.get(head..base_end), input.get(base_end..)) {
        (Some(m), Some(p), Some(s)) => (m, p, s),
        _ => return Err("shorter than its header".into()),
    };
    let sectors = frames.saturating_mul(SECTOR);
    buf.clear();
    buf.resize(hunk_bytes, 0);
    let out = buf.get_mut(..sectors).ok_or("hunk buffer")?;
    let size = u32::try_from(sectors).map_err(|_| "hunk too large".to_string())?;
    let res = match base {
        Base::Lzma => {
            let codec = match engines.lzma.take() {
                Some(c) => c,
                None => LzmaCodec::new(size).map_err(|e| format!("LZMA decoder: {e}"))?,
            };
            let codec = engines.lzma.insert(codec);
            super::guarded(|| codec.decompress(packed, out))
        }
        Base::Deflate => {
            let codec = match engines.deflate.take() {
                Some(c) => c,
                None => ZlibCodec::new(size).map_err(|e| format!("Deflate decoder: {e}"))?,
            };
            let codec = engines.deflate.insert(codec);
            super::guarded(|| codec.decompress(packed, out))
        }
    };
    match res {
        Ok(Ok(r)) if r.total_out() == sectors => {}
        Ok(Ok(r)) => return Err(format!("its sectors decoded to {} bytes, not {sectors}", r.total_out())),
        Ok(Err(e)) => return Err(format!("its sectors cannot be decoded ({e})")),
        Err(e) => return Err(format!("its sectors cannot be decoded ({e})")),
    }
    // The sectors were decoded one after the other: spread them out to their frames, the last first (each moves
    // to a higher offset, over sectors already moved), with room for the subchannel after each.
    for f in (1..frames).rev() {
        let from = f.saturating_mul(SECTOR);
        buf.copy_within(from..from.saturating_add(SECTOR), f.saturating_mul(FRAME));
    }
    for (f, frame) in buf.chunks_exact_mut(FRAME).enumerate() {
        if let Some(s) = frame.get_mut(SECTOR..) {
            s.fill(0);
        }
        if bit(marked, f) {
            if let Some(s) = frame.get_mut(..SYNC.len()) {
                s.copy_from_slice(&SYNC);
            }
        }
    }
    let rest = Rest { frames, marked: marked.to_vec(), checked: vec![0; marked_len], sub: sub.to_vec(), crc };
    Ok(Decoded { buf, rest: Some(Box::new(rest)) })
}

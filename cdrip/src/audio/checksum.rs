//! The checksums of one audio track, computed as its bytes arrive.
//!
//! - **AccurateRip v1**: the sum, modulo 2³², of each stereo sample (read as one little-endian 32-bit word) times
//!   its 1-based position in the track. On the disc's first audio track the first 5 sectors less one sample
//!   (2939 samples) are left out, on its last audio track the last 5 sectors (2940 samples): the positions
//!   counted are 2940 … N on the first track and 1 … N − 2940 on the last.
//! - **AccurateRip v2**: the same sum over the same samples of the low and the high 32 bits of each 64-bit
//!   product.
//! - **CRC-32** (EAC's "Copy CRC"): the CRC-32 (ISO-HDLC, as zlib and zip compute it) of all the track's bytes.
//! - **CRC-32 without silence**: the CRC-32 of the track's bytes from its first sample that is not digital
//!   silence to its last such sample, both included, where digital silence is a sample whose two channels are 0.
//!   Silent samples between sounding ones count. A track of digital silence only has the CRC-32 of no bytes,
//!   `00000000`. (EAC's option to leave out "null samples" drops every silent sample instead; odix does not.)
//! - **CTDB track CRC**: the CRC-32 the CUETools database lists in `trackcrcs`: the whole track, except the
//!   first 10 sectors of the disc's first audio track and, on its last audio track, the last 10 sectors plus the
//!   samples that make the rest of the disc a whole number of 10-sector rows (5880 + (D mod 5880) samples,
//!   D being the samples from the first audio track's `INDEX 01` to the audio lead-out).

use super::{Error, SAMPLES_PER_SECTOR, SAMPLE_BYTES};

/// Samples AccurateRip leaves out at the start of the first track (5 sectors less one sample) …
const AR_SKIP_FIRST: u64 = 5 * SAMPLES_PER_SECTOR as u64 - 1;
/// … and at the end of the last track (5 sectors).
const AR_SKIP_LAST: u64 = 5 * SAMPLES_PER_SECTOR as u64;
/// Samples the CTDB leaves out at the start of the first track, and its row length.
const CTDB_ROW: u64 = 10 * SAMPLES_PER_SECTOR as u64;

/// Zero bytes fed to the CRC for a run of silence that turned out not to be trailing.
static ZEROS: [u8; 4096] = [0; 4096];

/// The checksums of one finished track; see the [module documentation](self) for what each covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrackSums {
    /// Stereo samples in the track.
    pub samples: u64,
    /// AccurateRip v1.
    pub accuraterip_v1: u32,
    /// AccurateRip v2.
    pub accuraterip_v2: u32,
    /// CRC-32 of all its bytes (EAC's "Copy CRC").
    pub crc32: u32,
    /// CRC-32 from its first to its last sample that is not digital silence.
    pub crc32_nonsilent: u32,
    /// The CRC-32 the CUETools database lists for the track.
    pub ctdb_crc: u32,
}

/// Computes a track's [`TrackSums`] from its bytes, fed in pieces of any size.
#[derive(Clone, Debug)]
pub struct TrackChecksums {
    track: u8,
    first: bool,
    last: bool,
    samples: u64,
    fed: u64,
    carry: [u8; SAMPLE_BYTES],
    carry_len: usize,
    /// Whole samples seen.
    pos: u64,
    /// 0-based sample range AccurateRip counts.
    ar: (u64, u64),
    v1: u32,
    v2: u32,
    crc: crc32fast::Hasher,
    /// 0-based sample range the CTDB CRC covers.
    ctdb_range: (u64, u64),
    ctdb: crc32fast::Hasher,
    sound: crc32fast::Hasher,
    heard: bool,
    /// Silent samples after the last sounding one, not fed to `sound` yet.
    silent_run: u64,
}

impl TrackChecksums {
    /// The checksums of audio track `track_no` of `track_count` (both counted among the disc's audio tracks, from
    /// 1: the first and the last one leave samples out), `sectors` long.
    ///
    /// The CTDB CRC of the last track needs the audio length of the whole disc: set it with
    /// [`TrackChecksums::disc_sectors`] unless the disc has this one track ([`crate::audio::Toc::track_checksums`]
    /// does it).
    pub fn new(track_no: u8, track_count: u8, sectors: u32) -> TrackChecksums {
        let samples = u64::from(sectors).saturating_mul(u64::from(SAMPLES_PER_SECTOR));
        let first = track_no <= 1;
        let last = track_no >= track_count;
        let ar_from = if first { AR_SKIP_FIRST } else { 0 };
        let ar_to = if last { samples.saturating_sub(AR_SKIP_LAST) } else { samples };
        let mut t = TrackChecksums {
            track: track_no,
            first,
            last,
            samples,
            fed: 0,
            carry: [0; SAMPLE_BYTES],
            carry_len: 0,
            pos: 0,
            ar: (ar_from, ar_to),
            v1: 0,
            v2: 0,
            crc: crc32fast::Hasher::new(),
            ctdb_range: (0, samples),
            ctdb: crc32fast::Hasher::new(),
            sound: crc32fast::Hasher::new(),
            heard: false,
            silent_run: 0,
        };
        t.set_ctdb_range(first, last, samples);
        t
    }

    /// Sets the disc's audio length in sectors, from the first audio track's `INDEX 01` to the audio lead-out,
    /// which decides how much of the last track the CTDB CRC leaves out. Call it before the first
    /// [`TrackChecksums::update`].
    #[must_use]
    pub fn disc_sectors(mut self, sectors: u32) -> TrackChecksums {
        self.set_ctdb_range(self.first, self.last, u64::from(sectors).saturating_mul(u64::from(SAMPLES_PER_SECTOR)));
        self
    }

    fn set_ctdb_range(&mut self, first: bool, last: bool, disc_samples: u64) {
        let from = if first { CTDB_ROW } else { 0 };
        let suffix = if last { CTDB_ROW.saturating_add(disc_samples.checked_rem(CTDB_ROW).unwrap_or(0)) } else { 0 };
        self.ctdb_range = (from, self.samples.saturating_sub(suffix));
    }

    /// Stereo samples the track has.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Stereo samples its CTDB CRC covers (what the disc's CTDB CRC needs to put the tracks' CRCs together).
    pub fn ctdb_samples(&self) -> u64 {
        self.ctdb_range.1.saturating_sub(self.ctdb_range.0)
    }

    /// The samples its CTDB CRC covers, counted from 0 at the track's first: `from..to`.
    pub fn ctdb_range(&self) -> (u64, u64) {
        self.ctdb_range
    }

    /// Adds the next bytes of the track (any length: a sample split between two calls is put together).
    pub fn update(&mut self, data: &[u8]) {
        self.crc.update(data);
        self.fed = self.fed.saturating_add(data.len() as u64);
        let mut rest = data;
        if self.carry_len > 0 {
            let take = (SAMPLE_BYTES.saturating_sub(self.carry_len)).min(rest.len());
            let (head, tail) = rest.split_at(take);
            if let Some(dst) = self.carry.get_mut(self.carry_len..self.carry_len.saturating_add(take)) {
                dst.copy_from_slice(head);
            }
            self.carry_len = self.carry_len.saturating_add(take);
            rest = tail;
            if self.carry_len < SAMPLE_BYTES {
                return;
            }
            let sample = self.carry;
            self.samples_in(&sample);
            self.carry_len = 0;
        }
        let whole = rest.len().saturating_sub(rest.len() % SAMPLE_BYTES);
        let (samples, tail) = rest.split_at(whole);
        self.samples_in(samples);
        if let Some(dst) = self.carry.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
            self.carry_len = tail.len();
        }
    }

    /// Whole samples (`data.len()` a multiple of 4).
    fn samples_in(&mut self, data: &[u8]) {
        let n = (data.len() / SAMPLE_BYTES) as u64;
        let start = self.pos;
        let end = start.saturating_add(n);
        let part = |(from, to): (u64, u64)| -> Option<(u64, &[u8])> {
            let a = from.max(start);
            let b = to.min(end);
            if a >= b {
                return None;
            }
            let i = usize::try_from(a.saturating_sub(start)).ok()?.saturating_mul(SAMPLE_BYTES);
            let j = usize::try_from(b.saturating_sub(start)).ok()?.saturating_mul(SAMPLE_BYTES);
            Some((a, data.get(i..j)?))
        };
        if let Some((a, bytes)) = part(self.ar) {
            // The multiplier is a 32-bit word that counts from 1, as in AccurateRip's own code.
            let mut m = (a as u32).wrapping_add(1);
            let (mut v1, mut v2) = (self.v1, self.v2);
            for s in bytes.chunks_exact(SAMPLE_BYTES) {
                let word = u32::from_le_bytes(s.try_into().unwrap_or([0; SAMPLE_BYTES]));
                let product = u64::from(word).wrapping_mul(u64::from(m));
                let (lo, hi) = (product as u32, (product >> 32) as u32);
                v1 = v1.wrapping_add(lo);
                v2 = v2.wrapping_add(lo).wrapping_add(hi);
                m = m.wrapping_add(1);
            }
            (self.v1, self.v2) = (v1, v2);
        }
        if let Some((_, bytes)) = part(self.ctdb_range) {
            self.ctdb.update(bytes);
        }
        self.silence_in(data);
        self.pos = end;
    }

    /// Feeds the CRC without leading and trailing silence.
    fn silence_in(&mut self, data: &[u8]) {
        let sounding = |s: &[u8]| s.iter().any(|&b| b != 0);
        let first = data.chunks_exact(SAMPLE_BYTES).position(sounding);
        let Some(first) = first else {
            if self.heard {
                self.silent_run = self.silent_run.saturating_add((data.len() / SAMPLE_BYTES) as u64);
            }
            return;
        };
        let last = data.chunks_exact(SAMPLE_BYTES).rposition(sounding).unwrap_or(first);
        let from = if self.heard {
            let mut run = self.silent_run.saturating_mul(SAMPLE_BYTES as u64);
            while run > 0 {
                let k = usize::try_from(run).unwrap_or(usize::MAX).min(ZEROS.len());
                self.sound.update(ZEROS.get(..k).unwrap_or_default());
                run = run.saturating_sub(k as u64);
            }
            0
        } else {
            first.saturating_mul(SAMPLE_BYTES)
        };
        let to = last.saturating_add(1).saturating_mul(SAMPLE_BYTES);
        self.sound.update(data.get(from..to).unwrap_or_default());
        self.heard = true;
        self.silent_run = ((data.len() / SAMPLE_BYTES).saturating_sub(last.saturating_add(1))) as u64;
    }

    /// The checksums.
    ///
    /// # Errors
    /// [`Error::TrackLength`] when the bytes fed were not exactly the track's length.
    pub fn finish(self) -> Result<TrackSums, Error> {
        let expected = self.samples.saturating_mul(SAMPLE_BYTES as u64);
        if self.fed != expected {
            return Err(Error::TrackLength { track: self.track, got: self.fed, expected });
        }
        Ok(TrackSums {
            samples: self.samples,
            accuraterip_v1: self.v1,
            accuraterip_v2: self.v2,
            crc32: self.crc.finalize(),
            crc32_nonsilent: self.sound.finalize(),
            ctdb_crc: self.ctdb.finalize(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes.
    fn noise(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    }

    /// AccurateRip v1/v2 and the CRCs computed the plain way, over the whole track at once.
    fn reference(data: &[u8], first: bool, last: bool, disc_samples: u64) -> TrackSums {
        let n = (data.len() / 4) as u64;
        let from = if first { 2940 } else { 1 };
        let to = if last { n - 2940 } else { n };
        let (mut v1, mut v2) = (0u32, 0u32);
        for (i, s) in data.chunks_exact(4).enumerate() {
            let m = i as u64 + 1;
            if m >= from && m <= to {
                let p = u32::from_le_bytes(s.try_into().unwrap()) as u64 * m;
                v1 = v1.wrapping_add(p as u32);
                v2 = v2.wrapping_add(p as u32).wrapping_add((p >> 32) as u32);
            }
        }
        let f = data.chunks_exact(4).position(|s| s != [0; 4]);
        let l = data.chunks_exact(4).rposition(|s| s != [0; 4]);
        let nonsilent = match (f, l) {
            (Some(f), Some(l)) => crc32fast::hash(&data[f * 4..(l + 1) * 4]),
            _ => 0,
        };
        let cf = if first { 5880 } else { 0 } as usize;
        let ct = if last { n - 5880 - disc_samples % 5880 } else { n } as usize;
        TrackSums {
            samples: n,
            accuraterip_v1: v1,
            accuraterip_v2: v2,
            crc32: crc32fast::hash(data),
            crc32_nonsilent: nonsilent,
            ctdb_crc: crc32fast::hash(&data[cf * 4..ct * 4]),
        }
    }

    #[test]
    fn pieces_of_any_size_give_the_same_sums() {
        let sectors = 40u32;
        let mut data = noise(sectors as usize * 2352, 7);
        // Silence at both ends and in the middle.
        data[..3000].fill(0);
        data[50_000..60_000].fill(0);
        let len = data.len();
        data[len - 7000..].fill(0);
        for (no, count) in [(1, 3), (2, 3), (3, 3), (1, 1)] {
            let want = reference(&data, no == 1, no == count, 123 * 588);
            for piece in [1usize, 3, 4, 7, 2352, 5000, len] {
                let mut t = TrackChecksums::new(no, count, sectors).disc_sectors(123);
                for c in data.chunks(piece) {
                    t.update(c);
                }
                assert_eq!(t.finish().unwrap(), want, "track {no}/{count}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn silence_only_and_wrong_lengths() {
        let mut t = TrackChecksums::new(2, 3, 2);
        t.update(&[0; 2352 * 2]);
        let s = t.finish().unwrap();
        assert_eq!((s.crc32_nonsilent, s.accuraterip_v1, s.accuraterip_v2), (0, 0, 0));
        assert_eq!(s.crc32, crc32fast::hash(&[0; 2352 * 2]));
        let mut t = TrackChecksums::new(2, 3, 2);
        t.update(&[0; 2352 * 2 + 1]);
        assert_eq!(t.finish(), Err(Error::TrackLength { track: 2, got: 2352 * 2 + 1, expected: 2352 * 2 }));
        // A last track shorter than what AccurateRip leaves out counts nothing rather than wrapping around.
        let mut t = TrackChecksums::new(1, 1, 3);
        t.update(&noise(2352 * 3, 1));
        let s = t.finish().unwrap();
        assert_eq!((s.accuraterip_v1, s.ctdb_crc), (0, 0));
    }
}

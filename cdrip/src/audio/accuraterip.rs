//! AccurateRip responses (the `dBAR-….bin` files the database serves) and matching a rip against them.
//!
//! A response is a sequence of chunks, one per group of submissions, each:
//!
//! | bytes | what |
//! | --- | --- |
//! | 1 | track count N |
//! | 4 | disc id 1, little-endian |
//! | 4 | disc id 2, little-endian |
//! | 4 | freedb id, little-endian |
//! | 9 × N | per track: confidence (1 byte), CRC (4, little-endian), CRC of frame 450 (4, used to find offsets) |
//!
//! The CRC of an entry is a v1 or a v2 CRC: nothing says which, so a track matches when either of its CRCs equals
//! it. On a mixed-mode CD (a data track first), entry k belongs to the disc's k-th track, so the data track takes
//! the first entry and the last audio track has none; elsewhere entry k is the k-th audio track.

use super::toc::{AccurateRipId, Toc};
use super::{Error, TrackSums};

/// Largest response read, in bytes (a response holds a few kilobytes per pressing).
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// Bytes of a chunk's header.
const HEADER: usize = 13;
/// Bytes of one track's entry.
const ENTRY: usize = 9;

/// One track's entry of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// How many submissions agree on it.
    pub confidence: u8,
    /// Their v1 or v2 CRC.
    pub crc: u32,
    /// CRC of sector 450 of the track (for finding a drive's offset).
    pub frame450_crc: u32,
}

/// One chunk of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The disc it is for.
    pub id: AccurateRipId,
    /// One entry per track.
    pub entries: Vec<Entry>,
}

/// A parsed response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Its chunks, in order.
    pub chunks: Vec<Chunk>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    let g = |i: usize| b.get(at.saturating_add(i)).copied().unwrap_or(0);
    u32::from_le_bytes([g(0), g(1), g(2), g(3)])
}

/// Parses a response.
///
/// # Errors
/// [`Error::AccurateRip`] for an empty or oversized response, a chunk with no tracks, or a chunk cut short (its
/// track count promising more entries than the bytes left), each naming the chunk and its byte offset.
pub fn parse(data: &[u8]) -> Result<Response, Error> {
    let err = |m: String| Err(Error::AccurateRip(m));
    if data.is_empty() {
        return err("empty (no chunk)".into());
    }
    if data.len() > MAX_RESPONSE_BYTES {
        return err(format!("{} bytes, more than the {MAX_RESPONSE_BYTES} a response can have", data.len()));
    }
    let mut chunks = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let left = data.len().saturating_sub(at);
        let no = chunks.len().saturating_add(1);
        let Some(header) = data.get(at..at.saturating_add(HEADER)) else {
            return err(format!("chunk {no} at byte {at}: {left} bytes left, a chunk header needs {HEADER}"));
        };
        let count = header.first().copied().unwrap_or(0);
        if count == 0 {
            return err(format!("chunk {no} at byte {at}: track count 0"));
        }
        if count > 99 {
            return err(format!("chunk {no} at byte {at}: track count {count} (a disc has at most 99)"));
        }
        let body = usize::from(count).saturating_mul(ENTRY);
        let end = at.saturating_add(HEADER).saturating_add(body);
        let Some(entries) = data.get(at.saturating_add(HEADER)..end) else {
            return err(format!(
                "chunk {no} at byte {at}: its track count {count} needs {} bytes, {left} left (cut short?)",
                HEADER.saturating_add(body)
            ));
        };
        let id =
            AccurateRipId { track_count: count, id1: le32(header, 1), id2: le32(header, 5), cddb: le32(header, 9) };
        let entries = entries
            .chunks_exact(ENTRY)
            .map(|e| Entry { confidence: e.first().copied().unwrap_or(0), crc: le32(e, 1), frame450_crc: le32(e, 5) })
            .collect();
        chunks.push(Chunk { id, entries });
        at = end;
    }
    Ok(Response { chunks })
}

/// How one track of a rip compares with a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackResult {
    /// The track's number on the disc.
    pub track: u8,
    /// Its v1 CRC.
    pub v1: u32,
    /// Its v2 CRC.
    pub v2: u32,
    /// Summed confidence of the entries equal to its v1 CRC; `None` when none is.
    pub v1_confidence: Option<u32>,
    /// Summed confidence of the entries equal to its v2 CRC; `None` when none is.
    pub v2_confidence: Option<u32>,
    /// Summed confidence of every entry the response has for the track (0: the database has none).
    pub total_confidence: u32,
    /// How many entries (chunks with a non-zero CRC) the response has for the track.
    pub entries: usize,
}

impl TrackResult {
    /// Whether the v1 or the v2 CRC is in the response.
    pub fn matched(&self) -> bool {
        self.v1_confidence.is_some() || self.v2_confidence.is_some()
    }
}

/// Compares a rip's tracks with a response for its disc. `sums` holds the checksums of audio tracks, by track
/// number; tracks left out are not compared.
///
/// # Errors
/// [`Error::AccurateRip`] when no chunk of the response is for this disc (naming both ids) or the disc has no
/// audio track.
pub fn verify(response: &Response, toc: &Toc, sums: &[(u8, TrackSums)]) -> Result<Vec<TrackResult>, Error> {
    let Some(id) = toc.accuraterip_id() else {
        return Err(Error::AccurateRip("the disc has no audio track".into()));
    };
    let chunks: Vec<&Chunk> = response.chunks.iter().filter(|c| c.id == id).collect();
    if chunks.is_empty() {
        let theirs = response.chunks.first().map(|c| c.id.to_string()).unwrap_or_default();
        return Err(Error::AccurateRip(format!("it is for disc {theirs}, not for this disc ({id})")));
    }
    let mixed = toc.tracks().first().is_some_and(|t| !t.audio);
    let first_number = toc.tracks().first().map_or(1, |t| t.number);
    let audio: Vec<u8> = toc.audio_tracks().map(|t| t.number).collect();
    let mut out = Vec::new();
    for (number, s) in sums {
        // Which entry of each chunk is this track's.
        let slot = if mixed {
            usize::from(number.saturating_sub(first_number))
        } else {
            match audio.iter().position(|n| n == number) {
                Some(p) => p,
                None => continue,
            }
        };
        let mut r = TrackResult {
            track: *number,
            v1: s.accuraterip_v1,
            v2: s.accuraterip_v2,
            v1_confidence: None,
            v2_confidence: None,
            total_confidence: 0,
            entries: 0,
        };
        for e in chunks.iter().filter_map(|c| c.entries.get(slot)).filter(|e| e.crc != 0) {
            let c = u32::from(e.confidence);
            r.entries = r.entries.saturating_add(1);
            r.total_confidence = r.total_confidence.saturating_add(c);
            if e.crc == s.accuraterip_v1 {
                r.v1_confidence = Some(r.v1_confidence.unwrap_or(0).saturating_add(c));
            }
            if e.crc == s.accuraterip_v2 {
                r.v2_confidence = Some(r.v2_confidence.unwrap_or(0).saturating_add(c));
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// Writes a response of one chunk: `entries` holds each track's (confidence, CRC, frame-450 CRC). For tests and
/// for making response files by hand.
pub fn encode_chunk(id: &AccurateRipId, entries: &[(u8, u32, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER.saturating_add(entries.len().saturating_mul(ENTRY)));
    out.push(id.track_count);
    for v in [id.id1, id.id2, id.cddb] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (c, crc, f450) in entries {
        out.push(*c);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&f450.to_le_bytes());
    }
    out
}

/// One track's AccurateRip sums at one read offset ([`sums_by_offset`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetSums {
    /// The read offset, samples.
    pub offset: i32,
    /// The AccurateRip v1 CRC of the track read at this offset.
    pub v1: u32,
    /// Σ position × sample over the counted positions, exactly (v1 is its low 32 bits).
    exact: u128,
    /// How many positions are counted.
    counted: u64,
}

impl OffsetSums {
    /// Whether the track's AccurateRip v2 CRC at this offset can be `crc`. `false` is certain; `true` is to be
    /// confirmed by computing the v2 CRC (it holds for about one `crc` in 2³² / the track's samples).
    ///
    /// Why: v2 is Σ lo + Σ hi (mod 2³²) of the 64-bit products, while the exact sum P of the products is
    /// Σ lo + 2³² Σ hi. With Σ lo = v1 + 2³² c (0 ≤ c < the positions counted, each lo being below 2³²),
    /// Σ hi = (P − v1) / 2³² − c, so v2 = v1 + (P − v1) / 2³² − c: the `c` that would give `crc` must lie in range.
    pub fn may_have_v2(&self, crc: u32) -> bool {
        let q = (self.exact.saturating_sub(u128::from(self.v1)) >> 32) as u32;
        let c = self.v1.wrapping_add(q).wrapping_sub(crc);
        u64::from(c) < self.counted
    }
}

/// One track's AccurateRip sums for every read offset in `-range..=range`, in order, in one sliding pass (two
/// multiplications an offset, not one per sample): the v1 CRC, and what tells which v2 CRCs are possible
/// ([`OffsetSums::may_have_v2`]), v2 itself not being a sum that slides.
///
/// `audio` holds the track's samples as a drive read them without correction (16-bit stereo, 4 bytes a sample),
/// from `margin` samples before the track's first sample to `margin` after its last; `samples` is the track's
/// length; `first` and `last` say whether it is the disc's first or last audio track. Offsets whose window leaves
/// `audio` are left out (`range` above `margin` gives none of them), as is everything when `audio` is shorter than
/// the track and both margins.
pub fn sums_by_offset(audio: &[u8], margin: u32, samples: u64, first: bool, last: bool, range: u32) -> Vec<OffsetSums> {
    let at = |i: u64| -> u64 {
        usize::try_from(i.saturating_mul(4))
            .ok()
            .and_then(|b| audio.get(b..b.saturating_add(4)))
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
    };
    let total = (audio.len() / super::SAMPLE_BYTES) as u64;
    let range = range.min(margin);
    let skip_first = u64::from(5 * super::SAMPLES_PER_SECTOR - 1);
    let skip_last = u64::from(5 * super::SAMPLES_PER_SECTOR);
    let a: u64 = if first { skip_first.saturating_add(1) } else { 1 };
    let b: u64 = if last { samples.saturating_sub(skip_last) } else { samples };
    if b < a || u64::from(margin).saturating_mul(2).saturating_add(samples) > total {
        return Vec::new();
    }
    let counted = b.saturating_sub(a).saturating_add(1);
    // Position k of the window at offset o is sample index margin + o + k − 1 of `audio`.
    let lowest = u64::from(margin.saturating_sub(range));
    let idx = |o0: u64, k: u64| o0.saturating_add(k).saturating_sub(1);
    // Exact sums: below 2^23 positions × 2^32 × 2^23 < 2^78 for P, 2^55 for the plain sum.
    let (mut p, mut sum) = (0u128, 0u128);
    for k in a..=b {
        let x = u128::from(at(idx(lowest, k)));
        p = p.saturating_add(u128::from(k).saturating_mul(x));
        sum = sum.saturating_add(x);
    }
    let hi = i32::try_from(range).unwrap_or(i32::MAX);
    let mut out = Vec::with_capacity((range as usize).saturating_mul(2).saturating_add(1));
    let mut o0 = lowest;
    for offset in hi.saturating_neg()..=hi {
        out.push(OffsetSums { offset, v1: p as u32, exact: p, counted });
        // Moving the window one sample on: every position's sample becomes the next one's.
        let (xa, xb1) = (u128::from(at(idx(o0, a))), u128::from(at(idx(o0, b.saturating_add(1)))));
        p = p
            .saturating_add(u128::from(b).saturating_mul(xb1))
            .saturating_sub(u128::from(a.saturating_sub(1)).saturating_mul(xa))
            .saturating_sub(sum);
        sum = sum.saturating_add(xb1).saturating_sub(xa);
        o0 = o0.saturating_add(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::TocTrack;

    fn sums(v1: u32, v2: u32) -> TrackSums {
        TrackSums { samples: 0, accuraterip_v1: v1, accuraterip_v2: v2, crc32: 0, crc32_nonsilent: 0, ctdb_crc: 0 }
    }

    #[test]
    fn matches_and_mismatches() {
        let toc = Toc::new(vec![TocTrack::audio(1, 0), TocTrack::audio(2, 1000)], 3000).unwrap();
        let id = toc.accuraterip_id().unwrap();
        let mut bin = encode_chunk(&id, &[(5, 0x1111, 0), (7, 0x2222, 0)]);
        bin.extend(encode_chunk(&id, &[(2, 0x1112, 0), (0, 0, 0)]));
        let r = parse(&bin).unwrap();
        assert_eq!(r.chunks.len(), 2);
        let v = verify(&r, &toc, &[(1, sums(0x1111, 0x1112)), (2, sums(0x3333, 0x4444))]).unwrap();
        assert_eq!((v[0].v1_confidence, v[0].v2_confidence, v[0].total_confidence), (Some(5), Some(2), 7));
        assert!(v[0].matched() && !v[1].matched());
        assert_eq!((v[1].entries, v[1].total_confidence), (1, 7));

        let other = AccurateRipId { id1: id.id1 ^ 1, ..id };
        let e = verify(&parse(&encode_chunk(&other, &[(1, 1, 0), (1, 1, 0)])).unwrap(), &toc, &[]).unwrap_err();
        assert!(e.to_string().contains("not for this disc"), "{e}");
    }

    #[test]
    fn hostile_responses_are_refused() {
        let id = AccurateRipId { track_count: 3, id1: 1, id2: 2, cddb: 3 };
        let good = encode_chunk(&id, &[(1, 1, 1), (1, 2, 2), (1, 3, 3)]);
        assert!(parse(&good).is_ok());
        for cut in [1, 12, 13, 20, good.len() - 1] {
            let e = parse(&good[..cut]).unwrap_err().to_string();
            assert!(e.contains("chunk 1 at byte 0"), "{cut}: {e}");
        }
        let mut lying = good.clone();
        lying[0] = 4;
        assert!(parse(&lying).unwrap_err().to_string().contains("track count 4 needs 49 bytes, 40 left"));
        lying[0] = 0;
        assert!(parse(&lying).unwrap_err().to_string().contains("track count 0"));
        lying[0] = 200;
        assert!(parse(&lying).unwrap_err().to_string().contains("at most 99"));
        let mut two = good.clone();
        two.extend_from_slice(&good[..20]);
        assert!(parse(&two).unwrap_err().to_string().contains("chunk 2 at byte 40"));
        assert!(parse(&[]).is_err());
        assert!(parse(&vec![0u8; MAX_RESPONSE_BYTES + 1]).is_err());
    }

    /// The sliding sums give each offset's v1 CRC and admit its v2 CRC (computed from scratch by
    /// `TrackChecksums`), and admit few other CRCs.
    #[test]
    fn sums_by_offset_admit_the_v2_crc() {
        use crate::audio::TrackChecksums;
        let audio: Vec<u8> = (0..(8000u32 * 4)).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let (margin, sectors) = (1000u32, 10u32);
        let samples = u64::from(sectors) * 588;
        for (no, count) in [(1u8, 1u8), (1, 3), (2, 3), (3, 3)] {
            let got = sums_by_offset(&audio, margin, samples, no == 1, no == count, 40);
            assert_eq!(got.len(), 81);
            let mut others = 0;
            for s in &got {
                let at = (i64::from(margin) + i64::from(s.offset)) as usize * 4;
                let mut t = TrackChecksums::new(no, count, sectors);
                t.update(&audio[at..at + samples as usize * 4]);
                let want = t.finish().unwrap();
                assert_eq!(s.v1, want.accuraterip_v1, "offset {} track {no}/{count}", s.offset);
                assert!(s.may_have_v2(want.accuraterip_v2), "offset {} track {no}/{count}", s.offset);
                others += (0..1000u32).filter(|k| s.may_have_v2(k.wrapping_mul(0x9e37_79b9))).count();
            }
            assert!(others < 10, "{others} of 81 000 other CRCs admitted");
        }
        assert!(sums_by_offset(&audio, 1000, 7000, false, false, 5).is_empty());
    }
}

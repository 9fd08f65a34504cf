//! The drive read offset list as AccurateRip publishes it (`DriveOffsets.bin`), read from a local copy.
//!
//! The file is a run of 69-byte records: the offset in samples (a little-endian signed 16-bit number, with the
//! sign AccurateRip and EAC give it: `+N` means the drive returns audio N samples early, so a rip reads N samples
//! further on), the drive's name as 32 bytes (`VENDOR - MODEL`, NUL-padded), a NUL, the number of submissions
//! that agreed on the offset (one byte), and 33 bytes odix does not use. A trailing partial record is an error:
//! the file is not that list.

/// Bytes of one record.
pub const RECORD_LEN: usize = 69;
/// The most records read (the published list holds a few thousand).
pub const MAX_RECORDS: usize = 100_000;

/// One drive of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveOffset {
    /// The name as listed, `VENDOR - MODEL`.
    pub name: String,
    /// The read offset in samples.
    pub offset: i16,
    /// Submissions that agreed on it.
    pub submissions: u8,
}

/// A file that is not the drive offset list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OffsetsError {
    /// Not a whole number of records, or too many.
    #[error("drive offset list: {0}")]
    Length(String),
    /// A record whose name is not text.
    #[error("drive offset list: record {0} has no drive name (not NUL-terminated text)")]
    Name(usize),
}

/// Parses the list.
///
/// # Errors
/// [`OffsetsError`] when `bytes` is not whole 69-byte records, holds more than [`MAX_RECORDS`], or a record's
/// name is not printable ASCII.
pub fn parse(bytes: &[u8]) -> Result<Vec<DriveOffset>, OffsetsError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_LEN) {
        return Err(OffsetsError::Length(format!(
            "{} bytes, not a whole number of {RECORD_LEN}-byte records",
            bytes.len()
        )));
    }
    let n = bytes.len() / RECORD_LEN;
    if n > MAX_RECORDS {
        return Err(OffsetsError::Length(format!("{n} records, more than {MAX_RECORDS}")));
    }
    let mut out = Vec::with_capacity(n);
    for (i, r) in bytes.chunks_exact(RECORD_LEN).enumerate() {
        let Some((&[o0, o1], rest)) = r.split_first_chunk::<2>() else { return Err(OffsetsError::Name(i)) };
        let name = rest.get(..33).unwrap_or_default();
        let len = name.iter().position(|&b| b == 0).ok_or(OffsetsError::Name(i))?;
        let name = name.get(..len).unwrap_or_default();
        if name.is_empty() || !name.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err(OffsetsError::Name(i));
        }
        out.push(DriveOffset {
            name: String::from_utf8_lossy(name).trim().to_string(),
            offset: i16::from_le_bytes([o0, o1]),
            submissions: rest.get(33).copied().unwrap_or(0),
        });
    }
    Ok(out)
}

/// A name with runs of spaces made one and letters upper case, to compare names.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase()
}

/// The entry of the drive whose INQUIRY vendor and product are `vendor` and `product` (compared without case and
/// runs of spaces; the list writes `VENDOR - MODEL`, or the model alone for some drives).
#[must_use]
pub fn find<'a>(list: &'a [DriveOffset], vendor: &str, product: &str) -> Option<&'a DriveOffset> {
    let full = normalize(&format!("{vendor} - {product}"));
    let model = normalize(product);
    list.iter()
        .find(|d| normalize(&d.name) == full)
        .or_else(|| list.iter().find(|d| normalize(&d.name).rsplit(" - ").next() == Some(model.as_str())))
}

/// One record as the list stores it (for tests and the simulated drive's fixtures).
#[must_use]
pub fn record(name: &str, offset: i16, submissions: u8) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[..2].copy_from_slice(&offset.to_le_bytes());
    for (d, s) in r[2..34].iter_mut().zip(name.bytes()) {
        *d = s;
    }
    r[35] = submissions;
    r
}

/// Samples AccurateRip leaves out at the start of a disc's first audio track (5 sectors less one sample): its
/// positions counted start at 2940.
pub const AR_SKIP_FIRST: u64 = 5 * 588 - 1;
/// Samples AccurateRip leaves out at the end of a disc's last audio track (5 sectors).
pub const AR_SKIP_LAST: u64 = 5 * 588;

/// The AccurateRip v1 CRC of one track for every read offset in `-range..=range`, in order, computed in one pass
/// per offset step rather than one per offset.
///
/// `audio` holds the track's samples as a drive read them without correction (16-bit stereo, 4 bytes a sample),
/// from `margin` samples before the track's first sample to `margin` after its last; `samples` is the track's
/// length. `first` and `last` say whether it is the disc's first or last audio track (AccurateRip leaves out
/// [`AR_SKIP_FIRST`] and [`AR_SKIP_LAST`] samples there). The v1 CRC at offset `o` is Σ k·x(k) over the counted
/// positions k of the window starting `o` samples on, modulo 2³²; moving the window one sample changes it by
/// −(a−1)·x(a) + b·x(b+1) − Σ x over the window, which is how each next offset costs two multiplications. Offsets
/// whose window leaves `audio` are left out; `range` above `margin` gives none of them.
#[must_use]
pub fn accuraterip_v1_by_offset(
    audio: &[u8],
    margin: u32,
    samples: u64,
    first: bool,
    last: bool,
    range: u32,
) -> Vec<(i32, u32)> {
    let at = |i: u64| -> u32 {
        usize::try_from(i.saturating_mul(4))
            .ok()
            .and_then(|b| audio.get(b..b.saturating_add(4)))
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, u32::from_le_bytes)
    };
    let total = (audio.len() / 4) as u64;
    let range = range.min(margin);
    let a: u64 = if first { AR_SKIP_FIRST.saturating_add(1) } else { 1 };
    let b: u64 = if last { samples.saturating_sub(AR_SKIP_LAST) } else { samples };
    if b < a || u64::from(margin).saturating_mul(2).saturating_add(samples) > total {
        return Vec::new();
    }
    // Position k of the window at offset o is sample index margin + o + k − 1 of `audio`.
    let lowest = u64::from(margin.saturating_sub(range));
    let idx = |o0: u64, k: u64| o0.saturating_add(k).saturating_sub(1);
    let (mut crc, mut sum) = (0u32, 0u32);
    for k in a..=b {
        let x = at(idx(lowest, k));
        crc = crc.wrapping_add((k as u32).wrapping_mul(x));
        sum = sum.wrapping_add(x);
    }
    let mut out = Vec::with_capacity((range as usize).saturating_mul(2).saturating_add(1));
    let mut o0 = lowest;
    let first_offset = 0i32.saturating_sub(i32::try_from(range).unwrap_or(i32::MAX));
    for offset in first_offset..=i32::try_from(range).unwrap_or(i32::MAX) {
        out.push((offset, crc));
        let (xa, xb1) = (at(idx(o0, a)), at(idx(o0, b.saturating_add(1))));
        crc = crc
            .wrapping_sub(((a.saturating_sub(1)) as u32).wrapping_mul(xa))
            .wrapping_add((b as u32).wrapping_mul(xb1))
            .wrapping_sub(sum);
        sum = sum.wrapping_sub(xa).wrapping_add(xb1);
        o0 = o0.saturating_add(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_find() {
        let mut b = record("PLEXTOR - DVDR   PX-716A", 30, 200).to_vec();
        b.extend_from_slice(&record("ODIXSIM - Simulated CD", -1164, 3));
        let l = parse(&b).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].offset, -1164);
        assert_eq!(find(&l, "PLEXTOR", "DVDR PX-716A").map(|d| d.offset), Some(30));
        assert_eq!(find(&l, "odixsim", "Simulated CD").map(|d| d.submissions), Some(3));
        assert!(find(&l, "X", "Y").is_none());
        assert!(parse(&b[..100]).is_err());
        assert!(parse(&[]).is_err());
        let mut full = record("A", 1, 1);
        full[2..35].fill(b'x');
        assert_eq!(parse(&full), Err(OffsetsError::Name(0)));
    }

    /// The sliding CRCs equal the sum computed from scratch at each offset.
    #[test]
    fn v1_by_offset_slides_right() {
        let audio: Vec<u8> = (0..(8000u32 * 4)).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let naive = |o: i64, n: u64, first: bool, last: bool| {
            let (a, b) = (if first { 2940 } else { 1 }, if last { n - 2940 } else { n });
            let mut c = 0u32;
            for k in a..=b {
                let i = (1000 + o + k as i64 - 1) as usize * 4;
                let x = u32::from_le_bytes(audio[i..i + 4].try_into().unwrap());
                c = c.wrapping_add((k as u32).wrapping_mul(x));
            }
            c
        };
        for (first, last) in [(false, false), (true, false), (false, true), (true, true)] {
            let got = accuraterip_v1_by_offset(&audio, 1000, 6000, first, last, 30);
            assert_eq!(got.len(), 61);
            for (o, c) in got {
                assert_eq!(c, naive(i64::from(o), 6000, first, last), "offset {o} first {first} last {last}");
            }
        }
        assert!(accuraterip_v1_by_offset(&audio, 1000, 7000, false, false, 5).is_empty());
    }
}

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
    if bytes.is_empty() || bytes.len() % RECORD_LEN != 0 {
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
}

//! Byte-level encoders for the structures of ECMA-119 (4th edition, 2019) the writer emits: both-endian numbers
//! (7.2.3, 7.3.3), dates (8.4.26.1, 9.1.5), directory records (9.1) and path table records (9.4).
//!
//! The writer serialises its own structures here rather than through the crate's `format` module, so that the
//! layout code only ever needs sizes and bytes.

// The writer indexes only structures it built itself from a caller's tree (never bytes read from an image),
// and its arithmetic is on sizes bounded by the planner's checks.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

/// Bytes in a logical sector (the only block size the writer produces).
pub const SECTOR: usize = 2048;

/// Fixed part of a directory record before the file identifier (ECMA-119 9.1, BP 1..33).
pub const DIR_RECORD_FIXED: usize = 33;

/// Largest directory record (the length field is one byte and the length is even).
pub const DIR_RECORD_MAX: usize = 254;

/// File flag bits of a directory record (ECMA-119 9.1.6).
pub mod flags {
    /// The entry is a directory.
    pub const DIRECTORY: u8 = 0x02;
    /// This is not the last record of a multi-extent file.
    pub const MULTI_EXTENT: u8 = 0x80;
}

/// Appends a 16-bit number in both byte orders (ECMA-119 7.2.3).
pub fn both16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a 32-bit number in both byte orders (ECMA-119 7.3.3).
pub fn both32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes a 32-bit number in both byte orders at `at`.
pub fn put_both32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    buf[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// Writes a 16-bit number in both byte orders at `at`.
pub fn put_both16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
    buf[at + 2..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Civil date and time in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Full year.
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
}

/// Splits seconds since the Unix epoch into a UTC civil date (proleptic Gregorian calendar).
pub fn civil_from_unix(t: i64) -> Civil {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Days-to-civil conversion on 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil { year, month, day, hour: (secs / 3600) as u8, minute: (secs % 3600 / 60) as u8, second: (secs % 60) as u8 }
}

/// Earliest time a 7-byte recording date can hold (1900-01-01T00:00:00Z).
pub const DIR_DATE_MIN: i64 = -2_208_988_800;
/// Latest time a 7-byte recording date can hold (2155-12-31T23:59:59Z).
pub const DIR_DATE_MAX: i64 = 5_869_583_999;

/// The 7-byte recording date of a directory record (ECMA-119 9.1.5), in UTC (offset 0). Times outside
/// 1900..=2155 are clamped to the representable range.
pub fn dir_date(t: i64) -> [u8; 7] {
    let c = civil_from_unix(t.clamp(DIR_DATE_MIN, DIR_DATE_MAX));
    [(c.year - 1900) as u8, c.month, c.day, c.hour, c.minute, c.second, 0]
}

/// The 17-byte volume date (ECMA-119 8.4.26.1) of `t`, in UTC; `None` gives the "not specified" value (sixteen
/// ASCII zeros and a zero offset). Years are clamped to 1..=9999.
pub fn volume_date(t: Option<i64>) -> [u8; 17] {
    let mut out = [b'0'; 17];
    out[16] = 0;
    if let Some(t) = t {
        let c = civil_from_unix(t);
        let s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}00",
            c.year.clamp(1, 9999),
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second
        );
        out[..16].copy_from_slice(&s.as_bytes()[..16]);
    }
    out
}

/// Length of a directory record whose identifier is `name_len` bytes and system use area `su_len` bytes
/// (ECMA-119 9.1: a padding byte follows an even-length identifier; the whole record is even).
pub fn dir_record_len(name_len: usize, su_len: usize) -> usize {
    let base = DIR_RECORD_FIXED + name_len + usize::from(name_len.is_multiple_of(2));
    let len = base + su_len;
    len + (len % 2)
}

/// The fields of one directory record.
#[derive(Clone, Copy, Debug)]
pub struct DirRecord<'a> {
    /// Location of the extent (LBA).
    pub extent: u32,
    /// Data length in bytes.
    pub size: u32,
    /// Recording date (7 bytes).
    pub date: [u8; 7],
    /// File flags ([`flags`]).
    pub flags: u8,
    /// File identifier (already encoded: d-characters with `;1`, UCS-2, or `[0]`/`[1]` for `.`/`..`).
    pub name: &'a [u8],
    /// System use area (SUSP entries), written after the identifier's padding.
    pub system_use: &'a [u8],
}

impl DirRecord<'_> {
    /// Appends the record to `out` (ECMA-119 9.1), padded to an even length.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let len = dir_record_len(self.name.len(), self.system_use.len());
        let start = out.len();
        out.push(len as u8);
        out.push(0); // extended attribute record length
        both32(out, self.extent);
        both32(out, self.size);
        out.extend_from_slice(&self.date);
        out.push(self.flags);
        out.push(0); // file unit size (not interleaved)
        out.push(0); // interleave gap size
        both16(out, 1); // volume sequence number
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name);
        if self.name.len().is_multiple_of(2) {
            out.push(0); // padding field
        }
        out.extend_from_slice(self.system_use);
        out.resize(start + len, 0);
    }
}

/// Size in bytes of one path table record for an identifier of `name_len` bytes (ECMA-119 9.4).
pub fn path_record_len(name_len: usize) -> usize {
    8 + name_len + (name_len % 2)
}

/// Appends a path table record (ECMA-119 9.4); `big_endian` selects the M table's byte order.
pub fn path_record(out: &mut Vec<u8>, name: &[u8], extent: u32, parent: u16, big_endian: bool) {
    out.push(name.len() as u8);
    out.push(0); // extended attribute record length
    if big_endian {
        out.extend_from_slice(&extent.to_be_bytes());
        out.extend_from_slice(&parent.to_be_bytes());
    } else {
        out.extend_from_slice(&extent.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
    }
    out.extend_from_slice(name);
    if name.len() % 2 == 1 {
        out.push(0);
    }
}

/// Copies `text` into a fixed-size field padded with spaces (a- and d-character fields, ECMA-119 7.4).
pub fn fill_ascii(field: &mut [u8], text: &[u8]) {
    field.fill(b' ');
    let n = text.len().min(field.len());
    field[..n].copy_from_slice(&text[..n]);
}

/// Copies UCS-2 big-endian `text` into a fixed-size field padded with UCS-2 spaces (Joliet identifiers); an odd
/// final byte is zero.
pub fn fill_ucs2(field: &mut [u8], text: &[u16]) {
    for pair in field.chunks_mut(2) {
        if pair.len() == 2 {
            pair.copy_from_slice(&0x0020u16.to_be_bytes());
        } else {
            pair[0] = 0;
        }
    }
    for (i, c) in text.iter().take(field.len() / 2).enumerate() {
        field[2 * i..2 * i + 2].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_unix(0), Civil { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 });
        let c = civil_from_unix(951_782_400); // 2000-02-29
        assert_eq!((c.year, c.month, c.day), (2000, 2, 29));
        let c = civil_from_unix(-1);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute, c.second), (1969, 12, 31, 23, 59, 59));
        assert_eq!(dir_date(DIR_DATE_MAX + 100), [255, 12, 31, 23, 59, 59, 0]);
        assert_eq!(&volume_date(Some(0))[..16], b"1970010100000000");
        assert_eq!(&volume_date(None)[..], b"0000000000000000\0");
    }

    #[test]
    fn record_sizes() {
        let mut v = Vec::new();
        let r = DirRecord { extent: 20, size: 2048, date: [0; 7], flags: 2, name: &[0], system_use: &[] };
        r.write_to(&mut v);
        assert_eq!(v.len(), 34);
        assert_eq!(v[0], 34);
        assert_eq!(dir_record_len(4, 0), 38);
        assert_eq!(dir_record_len(5, 3), 42);
        assert_eq!(path_record_len(1), 10);
        let mut p = Vec::new();
        path_record(&mut p, b"ABC", 7, 1, true);
        assert_eq!(p, [3, 0, 0, 0, 0, 7, 0, 1, b'A', b'B', b'C', 0]);
    }
}

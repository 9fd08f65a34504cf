//! ECMA-119 (4th edition) 9.1: the directory record.
//!
//! ```text
//!  0  length of the record (34 ..= 255)       1  extended attribute record length (sectors)
//!  2  extent location (both-endian u32)       10 data length (both-endian u32)
//!  18 recording date (7 bytes, 9.1.5)         25 file flags (9.1.6)
//!  26 file unit size   27 interleave gap      28 volume sequence number (both-endian u16)
//!  32 identifier length   33 identifier, a pad byte when its length is even, then the system use field
//! ```

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, le_u16, le_u32, u8 as byte};
use nom::IResult;

use super::both_endian::BothEndian;
use super::datetime::DirectoryDateTime;

/// Smallest possible directory record: the fixed fields and a one-byte identifier (9.1).
pub const MIN_RECORD_LEN: u8 = 34;

/// File flag bits (9.1.6).
pub mod flags {
    /// The entry need not be shown to the user.
    pub const HIDDEN: u8 = 0x01;
    /// The entry is a directory.
    pub const DIRECTORY: u8 = 0x02;
    /// An associated file (a resource fork on Apple discs).
    pub const ASSOCIATED: u8 = 0x04;
    /// The file's record format is in its extended attribute record.
    pub const RECORD: u8 = 0x08;
    /// Owner and permissions are in the extended attribute record.
    pub const PROTECTION: u8 = 0x10;
    /// Not the final record of a file recorded in several extents (multi-extent, 6.5.1).
    pub const MULTI_EXTENT: u8 = 0x80;
}

/// One directory record as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryRecord {
    /// Length of the whole record in bytes.
    pub length: u8,
    /// Length of the extended attribute record, in sectors at the start of the extent.
    pub ext_attr_length: u8,
    /// First sector of the extent (the extended attribute record, then the data).
    pub extent: BothEndian<u32>,
    /// Length of the data in bytes.
    pub data_length: BothEndian<u32>,
    /// Recording date and time.
    pub recorded: DirectoryDateTime,
    /// File flags, a combination of the [`flags`] bits.
    pub flags: u8,
    /// Interleaved files: sectors per file unit (0: not interleaved).
    pub file_unit_size: u8,
    /// Interleaved files: sectors skipped between units.
    pub interleave_gap: u8,
    /// Number of the volume in the set holding the extent.
    pub volume_sequence_number: BothEndian<u16>,
    /// File identifier bytes (`[0]` is `.`, `[1]` is `..`).
    pub identifier: Vec<u8>,
    /// The system use field (SUSP entries on Rock Ridge discs).
    pub system_use: Vec<u8>,
}

/// Why bytes are not a directory record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The length byte is below [`MIN_RECORD_LEN`] (0 means "no more records in this sector").
    TooShort(u8),
    /// The record claims more bytes than there are.
    PastEnd {
        /// The record's length byte.
        length: u8,
        /// The bytes left.
        available: usize,
    },
    /// The identifier does not fit in the record.
    IdentifierPastEnd {
        /// The identifier length.
        id_len: u8,
        /// The record length.
        length: u8,
    },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::TooShort(l) => write!(f, "record length {l} is shorter than {MIN_RECORD_LEN}"),
            RecordError::PastEnd { length, available } => {
                write!(f, "record length {length} runs past the end of the sector ({available} bytes left)")
            }
            RecordError::IdentifierPastEnd { id_len, length } => {
                write!(f, "identifier length {id_len} does not fit in a record of {length} bytes")
            }
        }
    }
}

fn both16(i: &[u8]) -> IResult<&[u8], BothEndian<u16>> {
    let (i, le) = le_u16(i)?;
    let (i, be) = be_u16(i)?;
    Ok((i, BothEndian { le, be }))
}

fn both32(i: &[u8]) -> IResult<&[u8], BothEndian<u32>> {
    let (i, le) = le_u32(i)?;
    let (i, be) = be_u32(i)?;
    Ok((i, BothEndian { le, be }))
}

fn fields(i: &[u8]) -> IResult<&[u8], DirectoryRecord> {
    let (i, length) = byte(i)?; // 0
    let (i, ext_attr_length) = byte(i)?; // 1
    let (i, extent) = both32(i)?; // 2
    let (i, data_length) = both32(i)?; // 10
    let (i, date) = take(7usize)(i)?; // 18
    let (i, flags) = byte(i)?; // 25
    let (i, file_unit_size) = byte(i)?; // 26
    let (i, interleave_gap) = byte(i)?; // 27
    let (i, volume_sequence_number) = both16(i)?; // 28
    let (i, id_len) = byte(i)?; // 32
    let (i, identifier) = take(id_len)(i)?; // 33
    let mut recorded = [0u8; 7];
    recorded.copy_from_slice(date);
    Ok((
        i,
        DirectoryRecord {
            length,
            ext_attr_length,
            extent,
            data_length,
            recorded: DirectoryDateTime(recorded),
            flags,
            file_unit_size,
            interleave_gap,
            volume_sequence_number,
            identifier: identifier.to_vec(),
            system_use: Vec::new(),
        },
    ))
}

impl DirectoryRecord {
    /// Parses the record at the start of `buf` (which may hold more after it).
    pub fn parse(buf: &[u8]) -> Result<Self, RecordError> {
        let length = buf.first().copied().unwrap_or(0);
        if length < MIN_RECORD_LEN {
            return Err(RecordError::TooShort(length));
        }
        let rec = buf.get(..usize::from(length)).ok_or(RecordError::PastEnd { length, available: buf.len() })?;
        let id_len = rec.get(32).copied().unwrap_or(0);
        let (rest, mut r) = fields(rec).map_err(|_| RecordError::IdentifierPastEnd { id_len, length })?;
        // A pad byte follows an identifier of even length (9.1.12); the system use field is what remains.
        let su = if id_len % 2 == 0 { rest.get(1..).unwrap_or_default() } else { rest };
        r.system_use = su.to_vec();
        Ok(r)
    }

    /// Whether this record describes a directory.
    pub fn is_dir(&self) -> bool {
        self.flags & flags::DIRECTORY != 0
    }

    /// Whether more records of the same file follow (multi-extent).
    pub fn is_multi_extent(&self) -> bool {
        self.flags & flags::MULTI_EXTENT != 0
    }

    /// Whether this is the `.` (0x00) or `..` (0x01) record of a directory.
    pub fn is_dot_or_dotdot(&self) -> bool {
        matches!(self.identifier.as_slice(), [0] | [1])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes of a record with the given fields.
    pub(crate) fn record(lba: u32, len: u32, flags: u8, id: &[u8], su: &[u8]) -> Vec<u8> {
        let pad = usize::from(id.len().is_multiple_of(2));
        let total = 33 + id.len() + pad + su.len();
        let mut r = vec![0u8; total];
        r[0] = total as u8;
        r[2..6].copy_from_slice(&lba.to_le_bytes());
        r[6..10].copy_from_slice(&lba.to_be_bytes());
        r[10..14].copy_from_slice(&len.to_le_bytes());
        r[14..18].copy_from_slice(&len.to_be_bytes());
        r[18..25].copy_from_slice(&[120, 6, 15, 10, 20, 30, 0]);
        r[25] = flags;
        r[28..30].copy_from_slice(&1u16.to_le_bytes());
        r[30..32].copy_from_slice(&1u16.to_be_bytes());
        r[32] = id.len() as u8;
        r[33..33 + id.len()].copy_from_slice(id);
        r[33 + id.len() + pad..].copy_from_slice(su);
        r
    }

    #[test]
    fn parses_fields_and_system_use() {
        let r = record(1234, 5000, flags::MULTI_EXTENT, b"FILE.TXT;1", b"PX");
        let d = DirectoryRecord::parse(&r).unwrap();
        assert_eq!(d.extent.value(), 1234);
        assert_eq!(d.data_length.value(), 5000);
        assert!(d.is_multi_extent());
        assert!(!d.is_dir());
        assert_eq!(d.identifier, b"FILE.TXT;1");
        assert_eq!(d.system_use, b"PX");
        assert_eq!(d.recorded.to_utc().unwrap().to_rfc3339(), "2020-06-15T10:20:30+00:00");
        let d = DirectoryRecord::parse(&record(1, 2, flags::DIRECTORY, &[0], &[])).unwrap();
        assert!(d.is_dot_or_dotdot() && d.is_dir());
    }

    #[test]
    fn rejects_bad_lengths() {
        assert_eq!(DirectoryRecord::parse(&[3; 40]), Err(RecordError::TooShort(3)));
        let r = record(1, 2, 0, b"ABC", &[]);
        assert!(matches!(DirectoryRecord::parse(&r[..20]), Err(RecordError::PastEnd { .. })));
        let mut r = record(1, 2, 0, b"ABC", &[]);
        r[32] = 200;
        assert!(matches!(DirectoryRecord::parse(&r), Err(RecordError::IdentifierPastEnd { .. })));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(r) = DirectoryRecord::parse(&b) {
                prop_assert!(usize::from(r.length) <= b.len());
                prop_assert!(r.identifier.len() + r.system_use.len() + 33 <= usize::from(r.length));
            }
        }

        #[test]
        fn record_round_trip(lba: u32, len: u32, fl: u8, id in proptest::collection::vec(any::<u8>(), 1..30),
                             su in proptest::collection::vec(any::<u8>(), 0..150)) {
            let d = DirectoryRecord::parse(&record(lba, len, fl, &id, &su)).unwrap();
            prop_assert_eq!((d.extent.value(), d.data_length.value(), d.flags), (lba, len, fl));
            prop_assert_eq!(d.identifier, id);
            prop_assert_eq!(d.system_use, su);
        }
    }
}

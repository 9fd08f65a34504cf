//! IEEE P1281 System Use Sharing Protocol (SUSP 1.12): entries in a directory record's system use field and in
//! continuation areas.
//!
//! Each entry is `signature (2) | length (1) | version (1) | data`. This module reads the protocol's own
//! entries: SP (5.3, sharing protocol indicator with its skip length), CE (5.1, continuation area), ST (5.4,
//! terminator), ER (5.5, extension reference) and PD (5.2, padding, skipped).
//!
//! Sources: several writers leave zero bytes after the last entry instead of an ST; a zero signature ends
//! the area like ST does.

use super::both_endian::{both32, BothEndian};
use super::{bytes, u8_at};

/// One SUSP entry, borrowed from its area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuspEntry<'a> {
    /// Two-letter signature (`PX`, `NM`, `CE`, ...).
    pub signature: [u8; 2],
    /// Entry version.
    pub version: u8,
    /// The bytes after the 4-byte header.
    pub data: &'a [u8],
    /// Offset of the entry in its area.
    pub offset: usize,
}

/// An entry whose length field is impossible: the offset in its area and the length found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuspError {
    /// Offset of the bad entry.
    pub offset: usize,
    /// Its length byte.
    pub length: u8,
}

/// The entries of one system use area (or continuation area), in order, up to ST or the end.
pub fn entries(area: &[u8]) -> Entries<'_> {
    Entries { area, pos: 0, done: false }
}

/// Iterator returned by [`entries`].
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    area: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<SuspEntry<'a>, SuspError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let head = bytes(self.area, self.pos, 4);
        let Some(&[s0, s1, length, version]) = head else {
            self.done = true;
            return None;
        };
        if [s0, s1] == [0, 0] || &[s0, s1] == b"ST" {
            self.done = true;
            return None;
        }
        let Some(data) = (if length >= 4 { bytes(self.area, self.pos, usize::from(length)) } else { None }) else {
            self.done = true;
            return Some(Err(SuspError { offset: self.pos, length }));
        };
        let entry =
            SuspEntry { signature: [s0, s1], version, data: data.get(4..).unwrap_or_default(), offset: self.pos };
        self.pos = self.pos.saturating_add(usize::from(length));
        Some(Ok(entry))
    }
}

/// SUSP 5.1 CE: where the system use field continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Continuation {
    /// Sector of the continuation area.
    pub block: BothEndian<u32>,
    /// Byte offset inside that sector.
    pub offset: BothEndian<u32>,
    /// Length of the area in bytes.
    pub length: BothEndian<u32>,
}

impl Continuation {
    /// Parses a CE entry's data (24 bytes).
    pub fn parse(data: &[u8]) -> Option<Self> {
        Some(Continuation { block: both32(data, 0)?, offset: both32(data, 8)?, length: both32(data, 16)? })
    }
}

/// SUSP 5.3 SP: present at the start of the root's `.` record when SUSP is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharingProtocol {
    /// Bytes to skip at the start of every other system use field.
    pub skip: u8,
}

impl SharingProtocol {
    /// Parses an SP entry's data: check bytes `BE EF` and the skip length.
    pub fn parse(data: &[u8]) -> Option<Self> {
        match data {
            [0xBE, 0xEF, skip, ..] => Some(SharingProtocol { skip: *skip }),
            _ => None,
        }
    }
}

/// SUSP 5.5 ER: which extension (Rock Ridge, by its identifier) the volume uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionReference {
    /// Extension version.
    pub version: u8,
    /// Identifier (`RRIP_1991A`, `IEEE_P1282`, `IEEE_1282`).
    pub identifier: Vec<u8>,
    /// Descriptor text.
    pub descriptor: Vec<u8>,
    /// Source text.
    pub source: Vec<u8>,
}

impl ExtensionReference {
    /// Parses an ER entry's data.
    pub fn parse(data: &[u8]) -> Option<Self> {
        let len_id = usize::from(u8_at(data, 0)?);
        let len_des = usize::from(u8_at(data, 1)?);
        let len_src = usize::from(u8_at(data, 2)?);
        let version = u8_at(data, 3)?;
        let identifier = bytes(data, 4, len_id)?.to_vec();
        let des_at = 4usize.checked_add(len_id)?;
        let descriptor = bytes(data, des_at, len_des)?.to_vec();
        let source = bytes(data, des_at.checked_add(len_des)?, len_src)?.to_vec();
        Some(ExtensionReference { version, identifier, descriptor, source })
    }

    /// The Rock Ridge version this identifier names, if it names one.
    pub fn rock_ridge_version(&self) -> Option<&'static str> {
        match self.identifier.as_slice() {
            b"RRIP_1991A" => Some("1.10"),
            b"IEEE_P1282" => Some("1.12"),
            b"IEEE_1282" => Some("1.12"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn walks_entries() {
        let mut a = vec![b'S', b'P', 7, 1, 0xBE, 0xEF, 0];
        a.extend_from_slice(&[b'P', b'D', 6, 1, 0, 0]);
        a.extend_from_slice(&[b'S', b'T', 4, 1]);
        a.extend_from_slice(&[b'N', b'M', 5, 1, 0]);
        let e: Vec<_> = entries(&a).collect::<Result<_, _>>().unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(SharingProtocol::parse(e[0].data), Some(SharingProtocol { skip: 0 }));
        assert_eq!(&e[1].signature, b"PD");
    }

    #[test]
    fn bad_length_is_an_error() {
        let a = [b'N', b'M', 2, 1, 0, 0];
        assert_eq!(entries(&a).next(), Some(Err(SuspError { offset: 0, length: 2 })));
        let a = [b'N', b'M', 50, 1, 0, 0];
        assert!(matches!(entries(&a).next(), Some(Err(_))));
        assert_eq!(entries(&[0, 0, 0, 0, 1]).next(), None);
    }

    #[test]
    fn parses_ce_and_er() {
        let mut d = Vec::new();
        for v in [30u32, 100, 200] {
            d.extend_from_slice(&v.to_le_bytes());
            d.extend_from_slice(&v.to_be_bytes());
        }
        let c = Continuation::parse(&d).unwrap();
        assert_eq!((c.block.value(), c.offset.value(), c.length.value()), (30, 100, 200));
        let er = [10, 1, 1, 1, b'R', b'R', b'I', b'P', b'_', b'1', b'9', b'9', b'1', b'A', b'd', b's'];
        let er = ExtensionReference::parse(&er).unwrap();
        assert_eq!(er.rock_ridge_version(), Some("1.10"));
        assert_eq!(er.source, b"s");
    }

    proptest! {
        #[test]
        fn any_area_terminates(a in proptest::collection::vec(any::<u8>(), 0..300)) {
            let n = entries(&a).count();
            prop_assert!(n <= a.len() / 4 + 1);
        }
    }
}

//! ECMA-119 (4th edition) 7.2.3 and 7.3.3: numbers recorded twice, little-endian then big-endian.
//!
//! Both halves are kept; [`BothEndian::value`] trusts the little-endian half, as most readers do (Linux,
//! libisofs), and [`BothEndian::is_consistent`] lets strict mode report a mismatch.

use super::{bytes, le16, le32};

/// A both-endian number as read: the two halves side by side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BothEndian<T> {
    /// The little-endian half (first on disc).
    pub le: T,
    /// The big-endian half.
    pub be: T,
}

impl<T: Copy + PartialEq> BothEndian<T> {
    /// The value readers use: the little-endian half.
    pub fn value(&self) -> T {
        self.le
    }

    /// Whether both halves agree.
    pub fn is_consistent(&self) -> bool {
        self.le == self.be
    }
}

impl<T: Copy> BothEndian<T> {
    /// A number whose halves agree.
    pub fn new(v: T) -> Self {
        BothEndian { le: v, be: v }
    }
}

/// The 4-byte both-endian `u16` (7.2.3) at `off`.
pub fn both16(buf: &[u8], off: usize) -> Option<BothEndian<u16>> {
    let b = bytes(buf, off, 4)?;
    Some(BothEndian { le: le16(b, 0)?, be: super::be16(b, 2)? })
}

/// The 8-byte both-endian `u32` (7.3.3) at `off`.
pub fn both32(buf: &[u8], off: usize) -> Option<BothEndian<u32>> {
    let b = bytes(buf, off, 8)?;
    Some(BothEndian { le: le32(b, 0)?, be: super::be32(b, 4)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_halves() {
        let b = [0x34, 0x12, 0x12, 0x34];
        let v = both16(&b, 0).unwrap();
        assert_eq!(v.value(), 0x1234);
        assert!(v.is_consistent());
        let b = [1, 0, 0, 0, 0, 0, 0, 2];
        let v = both32(&b, 0).unwrap();
        assert_eq!((v.le, v.be), (1, 2));
        assert!(!v.is_consistent());
        assert!(both32(&b[..7], 0).is_none());
    }
}

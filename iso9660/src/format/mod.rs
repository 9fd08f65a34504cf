//! Raw on-disc structures, one file each, parsed from byte slices by pure functions (no I/O here).

pub mod both_endian;
pub mod datetime;
pub mod directory_record;
pub mod el_torito;
pub mod hybrid;
pub mod joliet;
pub mod path_table;
pub mod rrip;
pub mod susp;
pub mod volume_descriptor;

/// Size of a logical sector, in bytes; the only logical block size this reader accepts (ECMA-119 6.1.2).
pub const SECTOR_SIZE: usize = 2048;

/// [`SECTOR_SIZE`] as a `u64`, for byte offsets on the image.
pub const SECTOR_SIZE_U64: u64 = 2048;

/// `len` bytes of `buf` from `off`, or `None` when they are not all there.
pub(crate) fn bytes(buf: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    buf.get(off..off.checked_add(len)?)
}

/// Byte `off` of `buf`.
pub(crate) fn u8_at(buf: &[u8], off: usize) -> Option<u8> {
    buf.get(off).copied()
}

/// A fixed-size array copied out of `buf` at `off`.
pub(crate) fn array<const N: usize>(buf: &[u8], off: usize) -> Option<[u8; N]> {
    bytes(buf, off, N)?.try_into().ok()
}

/// Little-endian `u16` at `off`.
pub(crate) fn le16(buf: &[u8], off: usize) -> Option<u16> {
    array::<2>(buf, off).map(u16::from_le_bytes)
}

/// Little-endian `u32` at `off`.
pub(crate) fn le32(buf: &[u8], off: usize) -> Option<u32> {
    array::<4>(buf, off).map(u32::from_le_bytes)
}

/// Little-endian `u64` at `off`.
pub(crate) fn le64(buf: &[u8], off: usize) -> Option<u64> {
    array::<8>(buf, off).map(u64::from_le_bytes)
}

/// Big-endian `u16` at `off`.
pub(crate) fn be16(buf: &[u8], off: usize) -> Option<u16> {
    array::<2>(buf, off).map(u16::from_be_bytes)
}

/// Big-endian `u32` at `off`.
pub(crate) fn be32(buf: &[u8], off: usize) -> Option<u32> {
    array::<4>(buf, off).map(u32::from_be_bytes)
}

/// Text of a fixed-size identifier field: decoded as UTF-8 where valid (else Latin-1), trailing spaces and
/// NULs removed. Never fails: identifiers stay raw bytes on disc and one stray byte must not reject a volume.
pub fn identifier_text(raw: &[u8]) -> String {
    let end = raw.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |p| p.saturating_add(1));
    let raw = raw.get(..end).unwrap_or_default();
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

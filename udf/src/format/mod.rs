//! The on-disk structures of ECMA-167 3rd edition as OSTA UDF 2.60 profiles them, one file per structure.
//!
//! Each structure has `parse(&[u8]) -> Result<Self>` and, directly below it, `write_to<W: Write>` with the
//! fields in the same order, so that `parse(write(x)) == x`. Parsing checks lengths only; descriptor tags are
//! verified by the reader ([`tag::verify`]) and sealed by a writer ([`tag::seal`]).

pub mod ad;
pub mod anchor;
pub mod cs0;
pub mod entity;
pub mod fid;
pub mod file_entry;
pub mod file_set;
pub mod integrity;
pub mod partition;
pub mod path;
pub mod tag;
pub mod timestamp;
pub mod volume;
pub mod vrs;

use crate::error::{Error, Result};

/// nom's result with no error details: every failure of a `complete` parser here means "too short".
pub(crate) type PResult<'a, T> = nom::IResult<&'a [u8], T, ()>;

/// Takes exactly `N` bytes as an array.
pub(crate) fn array<const N: usize>(i: &[u8]) -> PResult<'_, [u8; N]> {
    let (rest, taken) = nom::bytes::complete::take(N)(i)?;
    let mut out = [0u8; N];
    out.copy_from_slice(taken);
    Ok((rest, out))
}

/// Runs a nom parser over `input`, turning a failure into [`Error::Truncated`] for `what` (needing `needed`
/// bytes).
pub(crate) fn run<'a, T>(
    what: &'static str,
    input: &'a [u8],
    needed: usize,
    f: impl FnOnce(&'a [u8]) -> PResult<'a, T>,
) -> Result<T> {
    if input.len() < needed {
        return Err(Error::Truncated { what, len: input.len(), needed });
    }
    f(input).map(|(_, v)| v).map_err(|_| Error::Truncated { what, len: input.len(), needed })
}

/// `input[start..start + len]`, or [`Error::Truncated`].
pub(crate) fn slice<'a>(what: &'static str, input: &'a [u8], start: usize, len: usize) -> Result<&'a [u8]> {
    let end = start.checked_add(len).ok_or(Error::Overflow { what })?;
    input.get(start..end).ok_or(Error::Truncated { what, len: input.len(), needed: end })
}

pub(crate) fn tag(i: &[u8]) -> PResult<'_, tag::DescriptorTag> {
    let (i, raw) = array::<16>(i)?;
    tag::DescriptorTag::parse(&raw).map(|t| (i, t)).map_err(|_| nom::Err::Error(()))
}

pub(crate) fn extent(i: &[u8]) -> PResult<'_, ad::ExtentAd> {
    let (i, raw) = array::<8>(i)?;
    ad::ExtentAd::parse(&raw).map(|e| (i, e)).map_err(|_| nom::Err::Error(()))
}

pub(crate) fn entity(i: &[u8]) -> PResult<'_, entity::EntityId> {
    let (i, raw) = array::<32>(i)?;
    entity::EntityId::parse(&raw).map(|e| (i, e)).map_err(|_| nom::Err::Error(()))
}

pub(crate) fn charspec(i: &[u8]) -> PResult<'_, entity::Charspec> {
    let (i, raw) = array::<64>(i)?;
    entity::Charspec::parse(&raw).map(|e| (i, e)).map_err(|_| nom::Err::Error(()))
}

pub(crate) fn timestamp(i: &[u8]) -> PResult<'_, timestamp::Timestamp> {
    let (i, raw) = array::<12>(i)?;
    timestamp::Timestamp::parse(&raw).map(|e| (i, e)).map_err(|_| nom::Err::Error(()))
}

pub(crate) fn long_ad(i: &[u8]) -> PResult<'_, ad::LongAd> {
    let (i, raw) = array::<16>(i)?;
    ad::LongAd::parse(&raw).map(|e| (i, e)).map_err(|_| nom::Err::Error(()))
}

pub(crate) fn lb_addr(i: &[u8]) -> PResult<'_, ad::LbAddr> {
    let (i, raw) = array::<6>(i)?;
    ad::LbAddr::parse(&raw).map(|e| (i, e)).map_err(|_| nom::Err::Error(()))
}

/// A little-endian u32 from the first 4 bytes of `c` (0 when shorter).
pub(crate) fn u32_le(c: &[u8]) -> u32 {
    c.get(..4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes)
}

pub(crate) use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};

//! zisofs version 1 compression (the format of `mkzftree` and the Linux `CONFIG_ZISOFS` reader; Rock Ridge `ZF`
//! entry with algorithm `pz`).
//!
//! Layout of a compressed file: a 16-byte header (magic, uncompressed size LE32, header size / 4, log2 block
//! size, two reserved bytes), then `blocks + 1` little-endian 32-bit offsets from the start of the file, then one
//! zlib stream per 32 KiB block. A block whose two offsets are equal is all zeros.
//!
//! The compressor streams: it reads one block at a time, so memory stays at a few blocks whatever the file size.
//! Output size is known only after compressing, so a planner compresses once to measure ([`compressed_size`])
//! and again while writing ([`compress`]); the output is deterministic for the same input.

// The writer indexes only structures it built itself from a caller's tree (never bytes read from an image),
// and its arithmetic is on sizes bounded by the planner's checks.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::io::{self, Read, Write};

use flate2::write::ZlibEncoder;
use flate2::Compression;

/// zisofs v1 magic number.
pub const MAGIC: [u8; 8] = [0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];
/// log2 of the block size (32 KiB).
pub const BLOCK_LOG2: u8 = 15;
/// Uncompressed bytes per block.
pub const BLOCK: usize = 1 << BLOCK_LOG2;
/// Bytes in the header.
pub const HEADER: usize = 16;

fn read_block<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn deflate(block: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    if block.iter().all(|&b| b == 0) {
        return Ok(());
    }
    let mut enc = ZlibEncoder::new(std::mem::take(out), Compression::best());
    enc.write_all(block)?;
    *out = enc.finish()?;
    Ok(())
}

/// Walks the blocks of `size` bytes from `r`, handing each compressed block to `sink`, and checks that exactly
/// `size` bytes were there.
fn blocks<R: Read>(r: &mut R, size: u32, mut sink: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buf = vec![0u8; BLOCK];
    let mut z = Vec::with_capacity(BLOCK + 64);
    let mut left = size as usize;
    while left > 0 {
        let want = left.min(BLOCK);
        let n = read_block(r, &mut buf[..want])?;
        if n != want {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being compressed"));
        }
        deflate(&buf[..n], &mut z)?;
        sink(&z)?;
        left -= n;
    }
    Ok(())
}

fn block_count(size: u32) -> usize {
    (size as usize).div_ceil(BLOCK)
}

/// Size in bytes of the zisofs form of the `size` bytes `r` yields.
pub fn compressed_size<R: Read>(r: &mut R, size: u32) -> io::Result<u64> {
    let mut total = (HEADER + 4 * (block_count(size) + 1)) as u64;
    blocks(r, size, |z| {
        total += z.len() as u64;
        Ok(())
    })?;
    Ok(total)
}

/// Writes the zisofs form of the `size` bytes `r` yields to `out`; returns the bytes written.
///
/// The block pointer table precedes the data, so the compressed blocks are produced twice: once to fill the
/// table and once to write them (two reads of the source, no buffering of the file). `reopen` gives a fresh
/// reader at the start of the source for the second pass.
pub fn compress<R: Read, W: Write>(
    r: &mut R,
    reopen: impl FnOnce() -> io::Result<R>,
    size: u32,
    out: &mut W,
) -> io::Result<u64> {
    let n = block_count(size);
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&size.to_le_bytes());
    header.push((HEADER / 4) as u8);
    header.push(BLOCK_LOG2);
    header.extend_from_slice(&[0, 0]);
    let mut pointers: Vec<u32> = Vec::with_capacity(n + 1);
    let mut at = (HEADER + 4 * (n + 1)) as u64;
    pointers.push(at as u32);
    blocks(r, size, |z| {
        at += z.len() as u64;
        pointers.push(u32::try_from(at).map_err(|_| io::Error::other("zisofs output over 4 GiB"))?);
        Ok(())
    })?;
    out.write_all(&header)?;
    for p in &pointers {
        out.write_all(&p.to_le_bytes())?;
    }
    let mut second = reopen()?;
    let mut written = (HEADER + 4 * (n + 1)) as u64;
    let mut idx = 1;
    blocks(&mut second, size, |z| {
        written += z.len() as u64;
        if pointers.get(idx).copied() != Some(written as u32) {
            return Err(io::Error::other("file changed while being compressed"));
        }
        idx += 1;
        out.write_all(z)
    })?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::ZlibDecoder;

    #[test]
    fn round_trip() {
        let mut data = vec![0u8; 3 * BLOCK + 100];
        for (i, b) in data.iter_mut().enumerate().skip(BLOCK) {
            *b = (i % 251) as u8;
        }
        let size = data.len() as u32;
        let measured = compressed_size(&mut &data[..], size).unwrap();
        let mut out = Vec::new();
        let written = compress(&mut &data[..], || Ok(&data[..]), size, &mut out).unwrap();
        assert_eq!(measured, written);
        assert_eq!(out.len() as u64, written);
        assert_eq!(&out[..8], &MAGIC);
        let ptr = |i: usize| u32::from_le_bytes(out[16 + 4 * i..20 + 4 * i].try_into().unwrap()) as usize;
        assert_eq!(ptr(0), ptr(1), "zero block stored empty");
        let mut back = Vec::new();
        for i in 0..4 {
            if ptr(i) == ptr(i + 1) {
                back.extend(std::iter::repeat_n(0, BLOCK.min(data.len() - back.len())));
            } else {
                ZlibDecoder::new(&out[ptr(i)..ptr(i + 1)]).read_to_end(&mut back).unwrap();
            }
        }
        assert_eq!(back, data);
    }
}

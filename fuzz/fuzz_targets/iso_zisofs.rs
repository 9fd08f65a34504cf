//! zisofs decompression (the file header, block pointer table and deflate blocks): the fuzz input is the
//! stored contents of a file `Z` whose Rock Ridge ZF entry (first input byte: log2 of the block size, 15–17 or
//! anything; next four: the uncompressed size) marks it compressed, inside a small Rock Ridge image built here.
#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use odix_iso9660::{Image, Options, View};

const SECTOR: usize = 2048;
/// Root directory at 20, the file's data from 21.
const ROOT: u32 = 20;
const DATA: u32 = 21;

fn both32(v: u32) -> [u8; 8] {
    let mut o = [0u8; 8];
    o[..4].copy_from_slice(&v.to_le_bytes());
    o[4..].copy_from_slice(&v.to_be_bytes());
    o
}

fn record(lba: u32, size: u32, flags: u8, name: &[u8], su: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; 33];
    r[2..10].copy_from_slice(&both32(lba));
    r[10..18].copy_from_slice(&both32(size));
    r[18..25].copy_from_slice(&[124, 1, 1, 0, 0, 0, 0]);
    r[25] = flags;
    r[28..32].copy_from_slice(&[1, 0, 0, 1]);
    r[32] = name.len() as u8;
    r.extend_from_slice(name);
    if name.len() % 2 == 0 {
        r.push(0);
    }
    r.extend_from_slice(su);
    if r.len() % 2 == 1 {
        r.push(0);
    }
    r[0] = r.len() as u8;
    r
}

fn image(log2: u8, size: u32, contents: &[u8]) -> Vec<u8> {
    let data_sectors = contents.len().div_ceil(SECTOR).max(1);
    let total = DATA as usize + data_sectors;
    let mut img = vec![0u8; total * SECTOR];
    let mut root_su = vec![b'S', b'P', 7, 1, 0xBE, 0xEF, 0];
    root_su.extend_from_slice(&[b'E', b'R', 8 + 10, 1, 10, 0, 0, 1]);
    root_su.extend_from_slice(b"RRIP_1991A");
    let mut zf = vec![b'Z', b'F', 16, 1, b'p', b'z', 4, log2];
    zf.extend_from_slice(&both32(size));
    let mut px = vec![b'P', b'X', 36, 1];
    for v in [0o100644u32, 1, 0, 0] {
        px.extend_from_slice(&both32(v));
    }
    let mut dir = record(ROOT, SECTOR as u32, 2, &[0], &root_su);
    dir.extend(record(ROOT, SECTOR as u32, 2, &[1], &[]));
    dir.extend(record(DATA, contents.len() as u32, 0, b"Z", &[px, zf].concat()));
    img[ROOT as usize * SECTOR..][..dir.len()].copy_from_slice(&dir);
    img[DATA as usize * SECTOR..][..contents.len()].copy_from_slice(contents);
    let pvd = &mut img[16 * SECTOR..17 * SECTOR];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    pvd[6] = 1;
    pvd[80..88].copy_from_slice(&both32(total as u32));
    pvd[120..124].copy_from_slice(&[1, 0, 0, 1]);
    pvd[124..128].copy_from_slice(&[1, 0, 0, 1]);
    pvd[128..132].copy_from_slice(&[0, 8, 8, 0]);
    let root = record(ROOT, SECTOR as u32, 2, &[0], &[]);
    pvd[156..156 + root.len()].copy_from_slice(&root);
    pvd[881] = 1;
    img[17 * SECTOR..17 * SECTOR + 7].copy_from_slice(&[255, b'C', b'D', b'0', b'0', b'1', 1]);
    img
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 5 {
        return;
    }
    let log2 = input[0];
    let size = u32::from_le_bytes([input[1], input[2], input[3], input[4]]);
    let img = image(log2, size, &input[5..]);
    let Ok(mut iso) = Image::open(Cursor::new(img), Options::default()) else { return };
    let Ok(root) = iso.root(View::RockRidge) else { return };
    let Ok(children) = iso.read_dir(&root) else { return };
    for child in children {
        if let Ok(reader) = iso.open_file(&child) {
            let _ = std::io::copy(&mut reader.take(8 << 20), &mut std::io::sink());
        }
    }
});

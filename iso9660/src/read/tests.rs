//! Reading small images built here byte by byte: multi-extent and interleaved files, Rock Ridge through
//! continuation areas, relocated directories, zisofs, damage, and 1-byte reads.

use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use super::{EntryKind, Image, Limits, Options, View};
use crate::format::directory_record::flags;
use crate::format::directory_record::tests::record;
use crate::format::volume_descriptor::tests::pvd_sector;

/// A reader that returns at most one byte per call, to catch code that assumes `read` fills the buffer.
struct OneByte<R>(R);

impl<R: Read> Read for OneByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

impl<R: Seek> Seek for OneByte<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

fn both(v: u32) -> Vec<u8> {
    let mut o = v.to_le_bytes().to_vec();
    o.extend_from_slice(&v.to_be_bytes());
    o
}

fn entry(sig: &[u8; 2], data: &[u8]) -> Vec<u8> {
    let mut e = vec![sig[0], sig[1], (data.len() + 4) as u8, 1];
    e.extend_from_slice(data);
    e
}

fn px(mode: u32, nlink: u32, ino: Option<u32>) -> Vec<u8> {
    let mut d: Vec<u8> = [mode, nlink, 1000, 100].iter().flat_map(|&v| both(v)).collect();
    if let Some(i) = ino {
        d.extend(both(i));
    }
    entry(b"PX", &d)
}

fn ce(block: u32, offset: u32, len: u32) -> Vec<u8> {
    entry(b"CE", &[both(block), both(offset), both(len)].concat())
}

struct Builder {
    img: Vec<u8>,
    root: Vec<u8>,
}

impl Builder {
    /// An image of `sectors` sectors: PVD at 16, terminator at 17, root directory at 20 (one sector).
    fn new(sectors: usize, rock_ridge: bool) -> Self {
        let mut img = vec![0u8; sectors * 2048];
        img[16 * 2048..17 * 2048].copy_from_slice(&pvd_sector(1, &[]));
        img[17 * 2048] = 255;
        img[17 * 2048 + 1..17 * 2048 + 6].copy_from_slice(b"CD001");
        let mut dot_su = Vec::new();
        if rock_ridge {
            dot_su.extend(entry(b"SP", &[0xBE, 0xEF, 0]));
            dot_su.extend(px(0o040755, 2, None));
            let mut er = vec![10, 0, 0, 1];
            er.extend_from_slice(b"RRIP_1991A");
            dot_su.extend(entry(b"ER", &er));
        }
        let mut root = record(20, 2048, flags::DIRECTORY, &[0], &dot_su);
        root.extend(record(20, 2048, flags::DIRECTORY, &[1], &[]));
        Builder { img, root }
    }

    fn add(&mut self, rec: Vec<u8>) {
        self.root.extend(rec);
    }

    fn put(&mut self, lba: usize, off: usize, bytes: &[u8]) {
        self.img[lba * 2048 + off..lba * 2048 + off + bytes.len()].copy_from_slice(bytes);
    }

    fn finish(mut self) -> Vec<u8> {
        let root = std::mem::take(&mut self.root);
        self.put(20, 0, &root);
        self.img
    }
}

fn open(img: Vec<u8>) -> Image<Cursor<Vec<u8>>> {
    Image::open(Cursor::new(img), Options::default()).unwrap()
}

fn read_all<R: Read + Seek>(img: &mut Image<R>, e: &super::Entry) -> Vec<u8> {
    let mut v = Vec::new();
    img.open_file(e).unwrap().read_to_end(&mut v).unwrap();
    v
}

#[test]
fn multi_extent_and_interleaved_files_with_one_byte_reads() {
    let mut b = Builder::new(60, false);
    b.add(record(30, 2048, flags::MULTI_EXTENT, b"BIG.BIN;1", &[]));
    b.add(record(32, 100, 0, b"BIG.BIN;1", &[]));
    let mut inter = record(40, 5000, 0, b"INTER.BIN;1", &[]);
    inter[26] = 1; // file unit size
    inter[27] = 1; // interleave gap
    b.add(inter);
    b.add(record(0, 0, 0, b"EMPTY.;1", &[]));
    b.put(30, 0, &[b'a'; 2048]);
    b.put(31, 0, &[b'x'; 2048]);
    b.put(32, 0, &[b'b'; 100]);
    for (i, lba) in [40usize, 42, 44].iter().enumerate() {
        b.put(*lba, 0, &[b'0' + i as u8; 2048]);
    }
    let img = b.finish();
    let mut img = Image::open(OneByte(Cursor::new(img)), Options::default()).unwrap();
    let root = img.root(View::Plain).unwrap();
    let list = img.read_dir(&root).unwrap();
    let names: Vec<&str> = list.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["BIG.BIN", "INTER.BIN", "EMPTY"]);
    assert_eq!(list[0].size(), 2148);
    assert!(list[0].is_multi_extent());
    let data = read_all(&mut img, &list[0]);
    assert_eq!(data.len(), 2148);
    assert!(data[..2048].iter().all(|&c| c == b'a') && data[2048..].iter().all(|&c| c == b'b'));
    assert_eq!(list[1].extents().iter().map(|e| e.lba).collect::<Vec<_>>(), [40, 42, 44]);
    let data = read_all(&mut img, &list[1]);
    assert_eq!(data.len(), 5000);
    assert_eq!((data[0], data[2048], data[4096]), (b'0', b'1', b'2'));
    assert!(read_all(&mut img, &list[2]).is_empty());
    assert!(img.take_warnings().is_empty());
}

#[test]
fn rock_ridge_through_a_continuation_area() {
    let mut b = Builder::new(40, true);
    let mut su = px(0o100640, 1, Some(77));
    su.extend(entry(b"NM", &[1, b'l', b'o', b'n', b'g', b' ']));
    su.extend(ce(25, 100, 60));
    b.add(record(30, 3, 0, b"LONG.TXT;1", &su));
    let mut area = entry(b"NM", &[0, b'n', b'a', b'm', b'e']);
    let mut tf = vec![0x02];
    tf.extend_from_slice(&[120, 1, 2, 3, 4, 5, 0]);
    area.extend(entry(b"TF", &tf));
    b.put(25, 100, &area);
    let mut link = px(0o120777, 1, None);
    link.extend(entry(b"SL", &[0, 8, 0, 0, 3, b'e', b't', b'c']));
    link.extend(entry(b"NM", &[0, b'l']));
    b.add(record(0, 0, 0, b"L.;1", &link));
    b.put(30, 0, b"abc");
    let mut img = open(b.finish());
    assert_eq!(img.rock_ridge(), Some("1.10"));
    assert_eq!(img.best_view(), View::RockRidge);
    let root = img.root(View::RockRidge).unwrap();
    assert_eq!(root.mode(), Some(0o040755));
    let list = img.read_dir(&root).unwrap();
    assert_eq!(list[0].name(), "long name");
    assert_eq!((list[0].mode(), list[0].ino(), list[0].uid()), (Some(0o100640), Some(77), Some(1000)));
    assert_eq!(list[0].mtime().unwrap().to_rfc3339(), "2020-01-02T03:04:05+00:00");
    assert_eq!(list[1].kind(), EntryKind::Symlink);
    assert_eq!(list[1].symlink_target().as_deref(), Some("/etc"));
    let plain = img.root(View::Plain).unwrap();
    let names: Vec<String> = img.read_dir(&plain).unwrap().iter().map(|e| e.name().to_string()).collect();
    assert_eq!(names, ["LONG.TXT", "L"]);
}

#[test]
fn continuation_loop_and_limits_end_with_a_warning() {
    let mut b = Builder::new(40, true);
    let mut su = entry(b"NM", &[0, b'x']);
    su.extend(ce(25, 0, 28));
    b.add(record(0, 0, 0, b"X.;1", &su));
    b.put(25, 0, &ce(25, 0, 28));
    let img = b.finish();
    let mut i = open(img.clone());
    let root = i.root(View::RockRidge).unwrap();
    let list = i.read_dir(&root).unwrap();
    assert_eq!(list[0].name(), "x");
    let w = i.take_warnings();
    assert!(w.iter().any(|w| w.message.contains("loop")), "{w:?}");
    // Chains that do not loop stop at the hop limit.
    let opts = Options::default().limits(Limits::default().with_max_continuations(0));
    let mut i = Image::open(Cursor::new(img), opts).unwrap();
    let root = i.root(View::RockRidge).unwrap();
    i.read_dir(&root).unwrap();
    assert!(i.take_warnings().iter().any(|w| w.message.contains("more than 0 continuation")));
}

#[test]
fn relocated_directories_show_at_their_place() {
    let mut b = Builder::new(60, true);
    let mut cl = px(0o040755, 2, None);
    cl.extend(entry(b"NM", &[0, b'd', b'e', b'e', b'p']));
    cl.extend(entry(b"CL", &both(50)));
    b.add(record(0, 0, 0, b"DEEP.;1", &cl));
    let mut re = entry(b"NM", &[0, b'd', b'e', b'e', b'p']);
    re.extend(entry(b"RE", &[]));
    let mut moved = record(45, 2048, flags::DIRECTORY, &[0], &[]);
    moved.extend(record(20, 2048, flags::DIRECTORY, &[1], &[]));
    moved.extend(record(50, 2048, flags::DIRECTORY, b"DEEP", &re));
    b.put(45, 0, &moved);
    let mut mv = entry(b"NM", &[0, b'r', b'r', b'_', b'm', b'o', b'v', b'e', b'd']);
    mv.extend(px(0o040755, 3, None));
    b.add(record(45, 2048, flags::DIRECTORY, b"RR_MOVED", &mv));
    let mut dot = record(50, 2048, flags::DIRECTORY, &[0], &px(0o040700, 2, None));
    dot.extend(record(45, 2048, flags::DIRECTORY, &[1], &entry(b"PL", &both(20))));
    dot.extend(record(55, 2, 0, b"F.;1", &entry(b"NM", &[0, b'f'])));
    b.put(50, 0, &dot);
    b.put(55, 0, b"hi");
    let mut img = open(b.finish());
    let root = img.root(View::RockRidge).unwrap();
    let list = img.read_dir(&root).unwrap();
    let names: Vec<&str> = list.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["deep"]);
    assert_eq!(list[0].kind(), EntryKind::Dir);
    assert_eq!(list[0].mode(), Some(0o040700));
    assert_eq!(list[0].extents()[0].lba, 50);
    let inner = img.read_dir(&list[0]).unwrap();
    assert_eq!(inner[0].name(), "f");
    assert_eq!(read_all(&mut img, &inner[0]), b"hi");
    // The plain view shows the tree as recorded.
    let plain = img.root(View::Plain).unwrap();
    let names: Vec<String> = img.read_dir(&plain).unwrap().iter().map(|e| e.name().to_string()).collect();
    assert_eq!(names, ["DEEP", "RR_MOVED"]);
}

/// Every read of `len` bytes at every offset in `offsets` equals the same bytes of `expected`.
fn check_reads_at<R: Read + Seek>(img: &mut Image<R>, e: &super::Entry, expected: &[u8], offsets: &[usize]) {
    for &off in offsets {
        for len in [1usize, 7, 2047, 2048, 2049, 40_000, 200_000] {
            let mut buf = vec![0xAAu8; len];
            let n = img.read_file_at(e, off as u64, &mut buf).unwrap();
            let want = expected.get(off..).map_or(0, |r| r.len().min(len));
            assert_eq!(n, want, "offset {off}, {len} bytes");
            assert_eq!(&buf[..n], expected.get(off..off + n).unwrap_or_default(), "offset {off}, {len} bytes");
        }
    }
}

#[test]
fn reads_at_offsets_cross_extent_and_unit_boundaries() {
    let mut b = Builder::new(60, false);
    b.add(record(30, 2048, flags::MULTI_EXTENT, b"BIG.BIN;1", &[]));
    b.add(record(34, 4096, flags::MULTI_EXTENT, b"BIG.BIN;1", &[]));
    b.add(record(32, 100, 0, b"BIG.BIN;1", &[]));
    let mut inter = record(40, 5000, 0, b"INTER.BIN;1", &[]);
    inter[26] = 1;
    inter[27] = 1;
    b.add(inter);
    let big: Vec<u8> = (0..2048 + 4096 + 100).map(|i| (i % 253) as u8).collect();
    b.put(30, 0, &big[..2048]);
    b.put(34, 0, &big[2048..6144]);
    b.put(32, 0, &big[6144..]);
    let inter: Vec<u8> = (0..5000).map(|i| (i % 241) as u8).collect();
    for (k, lba) in [40usize, 42, 44].iter().enumerate() {
        let end = ((k + 1) * 2048).min(5000);
        b.put(*lba, 0, &inter[k * 2048..end]);
    }
    let mut img = Image::open(OneByte(Cursor::new(b.finish())), Options::default()).unwrap();
    let root = img.root(View::Plain).unwrap();
    let list = img.read_dir(&root).unwrap();
    assert_eq!(read_all(&mut img, &list[0]), big);
    check_reads_at(&mut img, &list[0], &big, &[0, 1, 2047, 2048, 2049, 6143, 6144, 6243, 6244, 9999]);
    check_reads_at(&mut img, &list[1], &inter, &[0, 2047, 2048, 4095, 4096, 4999, 5000]);
    let mut buf = [0u8; 4];
    assert!(img.read_file_at(&root, 0, &mut buf).is_err(), "a directory is not a file");
}

/// The stored form of `original` as zisofs (`version` 1) or zisofs2 (`version` 2) with 32 KiB blocks; blocks
/// of zeros are stored as holes (equal pointers). Returns the stored bytes and where the pointer table is.
fn zisofs_stored(original: &[u8], version: u8) -> (Vec<u8>, usize) {
    let block = 1usize << 15;
    let mut stored;
    let width;
    if version == 1 {
        stored = super::file::ZISOFS_MAGIC.to_vec();
        stored.extend_from_slice(&(original.len() as u32).to_le_bytes());
        stored.extend_from_slice(&[4, 15, 0, 0]);
        width = 4;
    } else {
        stored = super::file::ZISOFS2_MAGIC.to_vec();
        stored.extend_from_slice(&[0, 6, 1, 15]);
        stored.extend_from_slice(&(original.len() as u64).to_le_bytes());
        stored.extend_from_slice(&[0; 4]);
        width = 8;
    }
    let table_at = stored.len();
    let blocks = original.len().div_ceil(block);
    stored.resize(table_at + (blocks + 1) * width, 0);
    let mut ptrs = vec![stored.len() as u64];
    for chunk in original.chunks(block) {
        if chunk.iter().any(|&c| c != 0) {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(chunk).unwrap();
            stored.extend(z.finish().unwrap());
        }
        ptrs.push(stored.len() as u64);
    }
    for (i, p) in ptrs.iter().enumerate() {
        let at = table_at + width * i;
        stored[at..at + width].copy_from_slice(&p.to_le_bytes()[..width]);
    }
    (stored, table_at)
}

#[test]
fn zisofs_and_zisofs2_read_at_any_offset() {
    let block = 1usize << 15;
    // Incompressible bytes (so that the stored data spans several sectors), with one block of zeros.
    let mut x = 0x2545_f491_u32;
    let original: Vec<u8> = (0..(block * 4 + 1000))
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if (block..2 * block).contains(&i) {
                0
            } else {
                (x >> 24) as u8
            }
        })
        .collect();
    for (version, sig, zf) in [
        (1u8, b"ZF", [b"pz".to_vec(), vec![4, 15], both(original.len() as u32)].concat()),
        (2, b"ZF", [b"PZ".to_vec(), vec![6, 15], (original.len() as u64).to_le_bytes().to_vec()].concat()),
        (2, b"Z2", [b"PZ".to_vec(), vec![6, 15], (original.len() as u64).to_le_bytes().to_vec()].concat()),
    ] {
        let (stored, _) = zisofs_stored(&original, version);
        let mut e = vec![sig[0], sig[1], 16, version];
        e.extend_from_slice(&zf);
        let mut su = px(0o100644, 1, None);
        su.extend(e);
        // Two extents, split inside the pointer table's neighbourhood and inside a block.
        let split = 6144;
        let mut b = Builder::new(40 + stored.len() / 2048 + 4, true);
        b.add(record(30, split as u32, flags::MULTI_EXTENT, b"Z.;1", &su));
        b.add(record(34, (stored.len() - split) as u32, 0, b"Z.;1", &su));
        b.put(30, 0, &stored[..split]);
        b.put(34, 0, &stored[split..]);
        let mut img = open(b.finish());
        let root = img.root(View::RockRidge).unwrap();
        let list = img.read_dir(&root).unwrap();
        assert!(list[0].is_zisofs(), "version {version} {sig:?}");
        assert_eq!(list[0].size(), original.len() as u64);
        assert_eq!(read_all(&mut img, &list[0]), original, "version {version}: streamed");
        let offsets = [0, 1, block - 1, block, block + 5, 2 * block - 3, 3 * block, 4 * block + 999, 4 * block + 1000];
        check_reads_at(&mut img, &list[0], &original, &offsets);
        // Backwards and small, so that the block cache is left and re-entered.
        for off in (0..original.len()).rev().step_by(9973) {
            let mut buf = [0u8; 3];
            let n = img.read_file_at(&list[0], off as u64, &mut buf).unwrap();
            assert_eq!(&buf[..n], &original[off..(off + 3).min(original.len())]);
        }
        assert!(img.take_warnings().is_empty());
    }
}

#[test]
fn zisofs_read_at_refuses_bad_pointers() {
    let original: Vec<u8> = (0..100_000).map(|i| (i % 7) as u8).collect();
    let (mut stored, table_at) = zisofs_stored(&original, 2);
    // Block 1 ends before it starts.
    stored[table_at + 16..table_at + 24].copy_from_slice(&3u64.to_le_bytes());
    let zf = [b"PZ".to_vec(), vec![6, 15], (original.len() as u64).to_le_bytes().to_vec()].concat();
    let mut su = px(0o100644, 1, None);
    su.extend([vec![b'Z', b'F', 16, 2], zf].concat());
    let mut b = Builder::new(40 + stored.len() / 2048 + 2, true);
    b.add(record(30, stored.len() as u32, 0, b"Z.;1", &su));
    b.put(30, 0, &stored);
    let mut img = open(b.finish());
    let root = img.root(View::RockRidge).unwrap();
    let list = img.read_dir(&root).unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(img.read_file_at(&list[0], 0, &mut buf).unwrap(), 10);
    assert!(img.read_file_at(&list[0], 40_000, &mut buf).is_err());
    assert!(img.open_file(&list[0]).is_err());
}

#[test]
fn data_past_the_end_of_the_image_is_listed_and_read_up_to_the_end() {
    // A multi-extent file whose second extent the image holds 1000 bytes of; a file recorded far beyond the end.
    let mut b = Builder::new(33, false);
    b.add(record(30, 2048, flags::MULTI_EXTENT, b"CUT.BIN;1", &[]));
    b.add(record(32, 3000, 0, b"CUT.BIN;1", &[]));
    b.add(record(1_000_000, 10, 0, b"GONE.TXT;1", &[]));
    b.put(30, 0, &[b'a'; 2048]);
    b.put(32, 0, &[b'b'; 2048]);
    let mut img = b.finish();
    img.truncate(32 * 2048 + 1000);
    let mut i = Image::open(OneByte(Cursor::new(img)), Options::default()).unwrap();
    let root = i.root(View::Plain).unwrap();
    let list = i.read_dir(&root).unwrap();
    assert_eq!(list.iter().map(|e| (e.name(), e.size())).collect::<Vec<_>>(), [("CUT.BIN", 5048), ("GONE.TXT", 10)]);
    let w = i.take_warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].message.contains("2000 of its 5048 recorded bytes lie past the end"), "{w:?}");
    for (e, held) in [(&list[0], 3048usize), (&list[1], 0)] {
        let mut r = i.open_file(e).unwrap();
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(got.len(), held);
        let missing = e.size() - held as u64;
        assert_eq!(crate::DataPastEnd::of(&err), Some(crate::DataPastEnd { missing }), "{err}");
    }
    assert!(Image::open(Cursor::new(vec![0u8; 0]), Options::default()).is_err());
}

#[test]
fn impossible_zf_entries_are_ignored_with_a_warning() {
    let original: Vec<u8> = (0..100_000).map(|i| (i % 7) as u8).collect();
    let (stored, _) = zisofs_stored(&original, 1);
    // A block size of 2^2, then an uncompressed size whose pointer table could not fit in the stored bytes.
    for (log2, size) in [(2u8, original.len() as u32), (15, 0xFFFF_FF00)] {
        let mut zf = b"pz".to_vec();
        zf.extend_from_slice(&[4, log2]);
        zf.extend(both(size));
        let mut su = px(0o100644, 1, None);
        su.extend(entry(b"ZF", &zf));
        let mut b = Builder::new(40 + stored.len() / 2048 + 1, true);
        b.add(record(30, stored.len() as u32, 0, b"Z.;1", &su));
        b.put(30, 0, &stored);
        let mut img = open(b.finish());
        let root = img.root(View::RockRidge).unwrap();
        let list = img.read_dir(&root).unwrap();
        assert!(!list[0].is_zisofs(), "2^{log2}, {size}");
        assert_eq!(list[0].size(), stored.len() as u64);
        assert_eq!(read_all(&mut img, &list[0]), stored);
        let w = img.take_warnings();
        assert!(w.len() == 1 && w[0].message.contains("ZF entry ignored"), "{w:?}");
    }
}

#[test]
fn zisofs_files_are_inflated_block_by_block() {
    let block = 1usize << 15;
    let original: Vec<u8> = (0..(block * 2 + 1000)).map(|i| if i < block { 0 } else { (i % 251) as u8 }).collect();
    // Header, 4 pointers (3 blocks + end), the first block stored as a hole (equal pointers).
    let mut stored = super::file::ZISOFS_MAGIC.to_vec();
    stored.extend_from_slice(&(original.len() as u32).to_le_bytes());
    stored.extend_from_slice(&[4, 15, 0, 0]);
    let table_at = stored.len();
    stored.resize(table_at + 16, 0);
    let mut ptrs = vec![stored.len() as u32, stored.len() as u32];
    for chunk in [&original[block..2 * block], &original[2 * block..]] {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(chunk).unwrap();
        stored.extend(z.finish().unwrap());
        ptrs.push(stored.len() as u32);
    }
    for (i, p) in ptrs.iter().enumerate() {
        stored[table_at + 4 * i..table_at + 4 * i + 4].copy_from_slice(&p.to_le_bytes());
    }
    let mut zf = b"pz".to_vec();
    zf.extend_from_slice(&[4, 15]);
    zf.extend(both(original.len() as u32));
    let mut su = px(0o100644, 1, None);
    su.extend(entry(b"ZF", &zf));
    let mut b = Builder::new(40 + stored.len() / 2048 + 1, true);
    b.add(record(30, stored.len() as u32, 0, b"Z.;1", &su));
    b.put(30, 0, &stored);
    let img = b.finish();
    let mut i = open(img.clone());
    let root = i.root(View::RockRidge).unwrap();
    let list = i.read_dir(&root).unwrap();
    assert!(list[0].is_zisofs());
    assert_eq!(list[0].size(), original.len() as u64);
    assert_eq!(read_all(&mut i, &list[0]), original);
    // Corrupt a block pointer: an error, not a panic or a short file.
    let mut bad = img;
    bad[30 * 2048 + table_at + 8..30 * 2048 + table_at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut i = open(bad);
    let root = i.root(View::RockRidge).unwrap();
    let list = i.read_dir(&root).unwrap();
    assert!(i.open_file(&list[0]).is_err());
}

#[test]
fn damaged_entries_are_skipped_or_refused() {
    let mut b = Builder::new(40, false);
    b.add(record(1000, 10, 0, b"PAST.;1", &[]));
    b.add(record(30, 10, 0, b"OK.;1", &[]));
    b.add(record(32, 8192, flags::DIRECTORY, b"BIGDIR", &[]));
    let img = b.finish();
    let mut i = open(img.clone());
    let root = i.root(View::Plain).unwrap();
    let list = i.read_dir(&root).unwrap();
    // Data past the end of the image is listed with a warning (an error in strict mode).
    assert_eq!(list.iter().map(|e| e.name()).collect::<Vec<_>>(), ["PAST", "OK", "BIGDIR"]);
    assert!(i.take_warnings()[0].message.contains("past the end"));
    let mut i = Image::open(Cursor::new(img.clone()), Options::default().strict(true)).unwrap();
    let root = i.root(View::Plain).unwrap();
    assert!(i.read_dir(&root).is_err());
    // A directory bigger than the allocation limit is refused before anything is allocated.
    let opts = Options::default().limits(Limits::default().with_max_alloc(4096));
    let mut i = Image::open(Cursor::new(img.clone()), opts).unwrap();
    let root = i.root(View::Plain).unwrap();
    let list = i.read_dir(&root).unwrap();
    assert!(matches!(i.read_dir(&list[2]), Err(crate::Error::LimitExceeded { .. })));
    // Not ISO 9660 at all, and a truncated image.
    assert!(matches!(
        Image::open(Cursor::new(vec![0u8; 40 * 2048]), Options::default()),
        Err(crate::Error::NotIso9660 { .. })
    ));
    assert!(Image::open(Cursor::new(img[..16 * 2048 + 10].to_vec()), Options::default()).is_err());
}

#[test]
fn session_start_moves_the_descriptors() {
    let b = Builder::new(40, false);
    let mut img = vec![0u8; 100 * 2048];
    img.extend(b.finish());
    // The descriptors of the second session, with its root at absolute LBA 120.
    let pvd_at = 116 * 2048;
    let root_rec = record(120, 2048, flags::DIRECTORY, &[0], &[]);
    img[pvd_at + 156..pvd_at + 190].copy_from_slice(&root_rec);
    let mut dir = root_rec.clone();
    dir.extend(record(120, 2048, flags::DIRECTORY, &[1], &[]));
    dir.extend(record(5, 2, 0, b"OLD.;1", &[]));
    img[120 * 2048..120 * 2048 + dir.len()].copy_from_slice(&dir);
    img[5 * 2048..5 * 2048 + 2].copy_from_slice(b"ok");
    let mut i = Image::open(Cursor::new(img), Options::default().session_start(100)).unwrap();
    let root = i.root(View::Plain).unwrap();
    let list = i.read_dir(&root).unwrap();
    assert_eq!(list[0].name(), "OLD");
    assert_eq!(read_all(&mut i, &list[0]), b"ok");
}

/// A Rock Ridge image with most structures: CE areas, a relocated directory, a symlink, a multi-extent file.
fn rich_image() -> Vec<u8> {
    let mut b = Builder::new(64, true);
    let mut su = px(0o100640, 1, Some(7));
    su.extend(entry(b"NM", &[1, b'a']));
    su.extend(ce(25, 0, 40));
    b.add(record(30, 5, 0, b"A.;1", &su));
    b.put(25, 0, &[entry(b"NM", &[0, b'b']), entry(b"TF", &[0x02, 120, 1, 2, 3, 4, 5, 0])].concat());
    let mut cl = px(0o040755, 2, None);
    cl.extend(entry(b"CL", &both(50)));
    b.add(record(0, 0, 0, b"DEEP.;1", &cl));
    b.add(record(31, 2048, flags::MULTI_EXTENT, b"M.;1", &[]));
    b.add(record(33, 10, 0, b"M.;1", &[]));
    let mut link = px(0o120777, 1, None);
    link.extend(entry(b"SL", &[0, 8, 0, 0, 1, b'x']));
    b.add(record(0, 0, 0, b"L.;1", &link));
    let mut dot = record(50, 2048, flags::DIRECTORY, &[0], &px(0o040700, 2, None));
    dot.extend(record(20, 2048, flags::DIRECTORY, &[1], &entry(b"PL", &both(20))));
    dot.extend(record(55, 2, 0, b"F.;1", &entry(b"NM", &[0, b'f'])));
    b.put(50, 0, &dot);
    b.finish()
}

/// Walks every view and reads every file; returns the number of entries seen.
fn walk_everything(img: Vec<u8>) -> usize {
    let limits = Limits::default().with_max_alloc(1 << 20).with_max_depth(16).with_max_dir_entries(1000);
    let Ok(mut i) = Image::open(Cursor::new(img), Options::default().limits(limits)) else { return 0 };
    let _ = i.boot_catalog();
    let _ = i.system_area();
    let _ = i.check_path_tables();
    let mut seen = 0;
    for view in [View::RockRidge, View::Plain, View::Joliet] {
        let Ok(root) = i.root(view) else { continue };
        let mut files = Vec::new();
        let _ = i.walk(&root, 10_000, &mut |_, e| {
            if e.kind() == EntryKind::File {
                files.push(e.clone());
            }
        });
        for f in files {
            seen += 1;
            if let Ok(mut r) = i.open_file(&f) {
                let mut sink = Vec::new();
                let _ = r.by_ref().take(1 << 20).read_to_end(&mut sink);
            }
        }
    }
    let _ = i.take_warnings();
    seen
}

#[test]
fn rich_image_reads_whole() {
    // Rock Ridge: a, m, deep/f; plain: A, DEEP (a file there), M, L.
    assert_eq!(walk_everything(rich_image()), 7);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    #[test]
    fn damaged_images_never_panic(
        changes in proptest::collection::vec((16usize * 2048..64 * 2048, proptest::prelude::any::<u8>()), 1..40)
    ) {
        let mut img = rich_image();
        for (at, v) in changes {
            img[at] = v;
        }
        walk_everything(img);
    }
}

//! The malformed-input corpus: one small image, CUE/CCD sheet or rescue map per class of attack that disc image
//! readers have fallen to (Linux isofs/udf, libarchive, 7-Zip CVEs), written from scratch so every hostile byte
//! sits at an offset this file names.
//!
//! [`generate`] writes the corpus into a folder and returns one [`Case`] per file; `cli/tests/hostile.rs` runs
//! every command on each and checks the hostile-input contract (exit code, one-line error, time, memory, nothing
//! written outside the extraction folder). The big cases (10 000-deep tree, a million directory entries) are
//! written as repeated sector templates, so the whole corpus takes well under a second to write.
//!
//! Layout of every ISO 9660 image here (2048-byte sectors): 0–15 system area (zeros), 16 primary volume
//! descriptor (root directory record at byte 156), 17 the next descriptor (a terminator, or a Joliet
//! supplementary or El Torito boot record descriptor followed by the terminator at 18/19), 20 L path table,
//! 21 M path table, [`ISO_ROOT`] (22) the root directory; later sectors as each case says.
//!
//! Layout of every UDF image (UDF 2.01, 2048-byte blocks): 16–18 BEA01/NSR03/TEA01, [`UDF_VDS`] (32) main Volume
//! Descriptor Sequence (PVD, IUVD, PD, LVD, USD, TD), 48 the reserve copy, 64 LVID + TD, 256 the Anchor, partition
//! 0 from [`UDF_PART`] (288) for [`UDF_PART_LEN`] blocks; inside the partition: block 0 FSD, 1 TD, 2 root File
//! Entry, 3 root directory FIDs, 4.. as each case says; the last sector a second Anchor.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Bytes per sector (ISO 9660 logical block, UDF block) in every image here.
pub const SECTOR: usize = 2048;
/// LBA of the root directory of every ISO 9660 image here.
pub const ISO_ROOT: u32 = 22;
/// First sector of the main UDF Volume Descriptor Sequence.
pub const UDF_VDS: u32 = 32;
/// First sector of UDF partition 0.
pub const UDF_PART: u32 = 288;
/// Length of UDF partition 0, in blocks.
pub const UDF_PART_LEN: u32 = 256;

/// What kind of input a case is, which decides how the contract test feeds it to odix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// A sector image (ISO 9660 and/or UDF), given to `info`, `ls`, `cat`, `extract`, `verify`.
    Image,
    /// A CUE sheet (with or without its BIN files), given to the same commands.
    Cue,
    /// A CloneCD control file.
    Ccd,
    /// A GNU ddrescue mapfile, given to `odix rip --map` with a small regular file as the device.
    Map,
}

/// One hostile input written by [`generate`].
#[derive(Clone, Debug)]
pub struct Case {
    /// File name stem, unique, `iso-`, `udf-`, `cue-`, `ccd-` or `map-` first.
    pub name: String,
    /// The attack class of issue 9 it covers, in words.
    pub class: &'static str,
    /// The file to give to odix.
    pub path: PathBuf,
    /// How to feed it.
    pub input: Input,
    /// A file path inside the image for `odix cat` (it may itself be the hostile part).
    pub cat: &'static str,
}

/// Writes every hostile input into `dir` (created if missing) and describes them.
///
/// # Errors
/// When a file cannot be written.
pub fn generate(dir: &Path) -> io::Result<Vec<Case>> {
    fs::create_dir_all(dir)?;
    let mut w = Writer { dir: dir.to_path_buf(), cases: Vec::new() };
    iso_cases(&mut w)?;
    udf_cases(&mut w)?;
    sheet_cases(&mut w)?;
    map_cases(&mut w)?;
    Ok(w.cases)
}

struct Writer {
    dir: PathBuf,
    cases: Vec<Case>,
}

impl Writer {
    fn image(&mut self, name: &str, class: &'static str, cat: &'static str, img: &Image) -> io::Result<()> {
        let path = self.dir.join(format!("{name}.iso"));
        fs::write(&path, &img.0)?;
        self.cases.push(Case { name: name.into(), class, path, input: Input::Image, cat });
        Ok(())
    }

    fn text(&mut self, name: &str, ext: &str, class: &'static str, input: Input, body: &[u8]) -> io::Result<PathBuf> {
        let path = self.dir.join(format!("{name}.{ext}"));
        fs::write(&path, body)?;
        self.cases.push(Case { name: name.into(), class, path: path.clone(), input, cat: "/DATA.BIN" });
        Ok(path)
    }
}

/// A growable sector image.
#[derive(Clone, Debug, Default)]
pub struct Image(pub Vec<u8>);

impl Image {
    /// An image of `sectors` zero sectors.
    pub fn new(sectors: u32) -> Self {
        Image(vec![0; sectors as usize * SECTOR])
    }

    /// Writes `bytes` at byte `off` of sector `lba`, growing the image as needed.
    pub fn put(&mut self, lba: u32, off: usize, bytes: &[u8]) {
        let at = lba as usize * SECTOR + off;
        if self.0.len() < at + bytes.len() {
            self.0.resize(at + bytes.len(), 0);
        }
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Image length in whole sectors.
    pub fn sectors(&self) -> u32 {
        u32::try_from(self.0.len().div_ceil(SECTOR)).unwrap_or(u32::MAX)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// ISO 9660 (ECMA-119 4th edition), SUSP 1.12, RRIP 1.12, El Torito 1.0, zisofs.

fn both16(v: u16) -> [u8; 4] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], b[0], b[1]]
}

fn both32(v: u32) -> [u8; 8] {
    both32_split(v, v)
}

/// A both-endian 32-bit field whose halves may disagree (ECMA-119 7.3.3).
fn both32_split(le: u32, be: u32) -> [u8; 8] {
    let mut o = [0u8; 8];
    o[..4].copy_from_slice(&le.to_le_bytes());
    o[4..].copy_from_slice(&be.to_be_bytes());
    o
}

/// 2024-01-01 12:00:00 UTC as a 7-byte directory record date (ECMA-119 9.1.5).
const REC_DATE: [u8; 7] = [124, 1, 1, 12, 0, 0, 0];
const FLAG_DIR: u8 = 0x02;
const FLAG_MULTI_EXTENT: u8 = 0x80;

/// A directory record (ECMA-119 9.1): `name` as stored (`[0]` for ".", `[1]` for ".."), `su` the System Use
/// area; padded to an even length.
fn rec(lba: u32, size: u32, flags: u8, name: &[u8], su: &[u8]) -> Vec<u8> {
    rec_full(both32(lba), both32(size), REC_DATE, flags, name, su)
}

fn rec_full(lba: [u8; 8], size: [u8; 8], date: [u8; 7], flags: u8, name: &[u8], su: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; 33];
    r[2..10].copy_from_slice(&lba);
    r[10..18].copy_from_slice(&size);
    r[18..25].copy_from_slice(&date);
    r[25] = flags;
    r[28..32].copy_from_slice(&both16(1));
    r[32] = name.len() as u8;
    r.extend_from_slice(name);
    if name.len().is_multiple_of(2) {
        r.push(0);
    }
    r.extend_from_slice(su);
    if r.len() % 2 == 1 {
        r.push(0);
    }
    assert!(r.len() <= 255, "directory record too long for the generator");
    r[0] = r.len() as u8;
    r
}

/// Lays records out in sectors as ECMA-119 6.8.1.1 asks (no record crosses a sector boundary).
fn dir_extent(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut used = 0;
    for r in records {
        if used + r.len() > SECTOR {
            out.resize(out.len() + SECTOR - used, 0);
            used = 0;
        }
        out.extend_from_slice(r);
        used += r.len();
    }
    out.resize(out.len().div_ceil(SECTOR).max(1) * SECTOR, 0);
    out
}

fn extent_len(records: &[Vec<u8>]) -> u32 {
    dir_extent(records).len() as u32
}

fn a_chars(s: &str, n: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(n, b' ');
    v
}

/// A primary (`kind` 1) or supplementary (`kind` 2) volume descriptor (ECMA-119 8.4, 8.5).
fn volume_descriptor(kind: u8, space: u32, root: &[u8], escapes: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; SECTOR];
    d[0] = kind;
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d[8..40].copy_from_slice(&a_chars("LINUX", 32));
    d[40..72].copy_from_slice(&a_chars("HOSTILE", 32));
    d[80..88].copy_from_slice(&both32(space));
    d[88..88 + escapes.len()].copy_from_slice(escapes);
    d[120..124].copy_from_slice(&both16(1));
    d[124..128].copy_from_slice(&both16(1));
    d[128..132].copy_from_slice(&both16(SECTOR as u16));
    d[132..140].copy_from_slice(&both32(10));
    d[140..144].copy_from_slice(&20u32.to_le_bytes());
    d[148..152].copy_from_slice(&21u32.to_be_bytes());
    d[156..156 + root.len()].copy_from_slice(root);
    for f in [190, 318, 446, 574] {
        d[f..f + 128].copy_from_slice(&a_chars("", 128));
    }
    for f in [702, 739, 776] {
        d[f..f + 37].copy_from_slice(&a_chars("", 37));
    }
    for f in [813, 830] {
        d[f..f + 16].copy_from_slice(b"2024010112000000");
    }
    for f in [847, 864] {
        d[f..f + 16].copy_from_slice(b"0000000000000000");
    }
    d[881] = 1;
    d
}

fn terminator() -> Vec<u8> {
    let mut d = vec![0u8; 7];
    d[0] = 255;
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d
}

/// A path table with only the root (ECMA-119 9.4), little- or big-endian.
fn root_path_table(root: u32, little: bool) -> Vec<u8> {
    let mut t = vec![1u8, 0];
    t.extend_from_slice(&if little { root.to_le_bytes() } else { root.to_be_bytes() });
    t.extend_from_slice(&if little { 1u16.to_le_bytes() } else { 1u16.to_be_bytes() });
    t.extend_from_slice(&[0, 0]);
    t
}

/// A plain ISO 9660 image of `sectors` sectors whose root directory holds `root` (with "." and ".." first),
/// written at [`ISO_ROOT`]; the descriptor at 17 is a terminator.
fn iso(sectors: u32, root: &[Vec<u8>]) -> Image {
    let mut img = Image::new(sectors);
    let ext = dir_extent(root);
    let root_rec = rec(ISO_ROOT, ext.len() as u32, FLAG_DIR, &[0], &[]);
    img.put(16, 0, &volume_descriptor(1, sectors, &root_rec, &[]));
    img.put(17, 0, &terminator());
    img.put(20, 0, &root_path_table(ISO_ROOT, true));
    img.put(21, 0, &root_path_table(ISO_ROOT, false));
    img.put(ISO_ROOT, 0, &ext);
    img
}

/// "." and ".." of the root, with the given System Use on ".".
fn root_dots(size: u32, dot_su: &[u8]) -> Vec<Vec<u8>> {
    vec![rec(ISO_ROOT, size, FLAG_DIR, &[0], dot_su), rec(ISO_ROOT, size, FLAG_DIR, &[1], &[])]
}

/// A SUSP entry (SUSP 1.12 4.1).
fn susp(sig: &[u8; 2], data: &[u8]) -> Vec<u8> {
    let mut e = vec![sig[0], sig[1], (4 + data.len()) as u8, 1];
    e.extend_from_slice(data);
    e
}

fn sp() -> Vec<u8> {
    susp(b"SP", &[0xBE, 0xEF, 0])
}

/// ER with the RRIP 1.12 identifier; `lens` overrides LEN_ID, LEN_DES, LEN_SRC (SUSP 5.5).
fn er(lens: Option<[u8; 3]>) -> Vec<u8> {
    let (id, des, src) = (b"RRIP_1991A".as_slice(), b"ROCK RIDGE".as_slice(), b"SRC".as_slice());
    let l = lens.unwrap_or([id.len() as u8, des.len() as u8, src.len() as u8]);
    let mut d = vec![l[0], l[1], l[2], 1];
    d.extend_from_slice(id);
    d.extend_from_slice(des);
    d.extend_from_slice(src);
    susp(b"ER", &d)
}

fn ce(block: u32, offset: u32, len: u32) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&both32(block));
    d.extend_from_slice(&both32(offset));
    d.extend_from_slice(&both32(len));
    susp(b"CE", &d)
}

fn px(mode: u32) -> Vec<u8> {
    let mut d = Vec::new();
    for v in [mode, 1, 0, 0, 1] {
        d.extend_from_slice(&both32(v));
    }
    susp(b"PX", &d)
}

fn nm(name: &[u8]) -> Vec<u8> {
    let mut d = vec![0];
    d.extend_from_slice(name);
    susp(b"NM", &d)
}

/// SL with components given as (flags, content) (RRIP 4.1.3.1).
fn sl(comps: &[(u8, &[u8])]) -> Vec<u8> {
    let mut d = vec![0];
    for (f, c) in comps {
        d.push(*f);
        d.push(c.len() as u8);
        d.extend_from_slice(c);
    }
    susp(b"SL", &d)
}

fn lba_entry(sig: &[u8; 2], lba: u32) -> Vec<u8> {
    susp(sig, &both32(lba))
}

/// The root "." System Use of a Rock Ridge image: SP, PX, ER.
fn rr_root() -> Vec<u8> {
    [sp(), px(0o40755), er(None)].concat()
}

const S_IFREG: u32 = 0o100644;
const S_IFDIR: u32 = 0o40755;
const S_IFLNK: u32 = 0o120777;

/// A Rock Ridge image: root "." with SP/PX/ER, then `entries`.
fn rr_iso(sectors: u32, entries: Vec<Vec<u8>>) -> Image {
    let mut all = root_dots(0, &rr_root());
    all.extend(entries);
    let size = extent_len(&all);
    all[0] = rec(ISO_ROOT, size, FLAG_DIR, &[0], &rr_root());
    all[1] = rec(ISO_ROOT, size, FLAG_DIR, &[1], &[]);
    iso(sectors, &all)
}

/// A file with `data` at `lba`, plain name `name`.
fn file_rec(lba: u32, data_len: u32, name: &[u8], su: &[u8]) -> Vec<u8> {
    rec(lba, data_len, 0, name, su)
}

const HELLO: &[u8] = b"hello from a hostile image\n";

fn iso_cases(w: &mut Writer) -> io::Result<()> {
    // A directory that contains itself: root entry LOOP points at the root extent; SUB (LBA 30) holds UP, which
    // points back at the root (an ancestor), and SELF pointing at SUB.
    {
        let mut img = iso(
            40,
            &[
                root_dots(SECTOR as u32, &[]),
                vec![
                    rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, b"LOOP", &[]),
                    rec(30, SECTOR as u32, FLAG_DIR, b"SUB", &[]),
                    file_rec(31, HELLO.len() as u32, b"HELLO.TXT;1", &[]),
                ],
            ]
            .concat(),
        );
        img.put(
            30,
            0,
            &dir_extent(&[
                rec(30, SECTOR as u32, FLAG_DIR, &[0], &[]),
                rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, &[1], &[]),
                rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, b"UP", &[]),
                rec(30, SECTOR as u32, FLAG_DIR, b"SELF", &[]),
            ]),
        );
        img.put(31, 0, HELLO);
        w.image("iso-dir-contains-itself", "directory containing itself / an ancestor", "/SUB/UP/HELLO.TXT", &img)?;
    }

    // Rock Ridge CL/PL loops: file RELOC carries CL -> root (a relocated directory that is its own ancestor);
    // directory D (LBA 30) has ".." with PL -> D itself, and child E with CL -> D.
    {
        let mut img = rr_iso(
            40,
            vec![
                file_rec(0, 0, b"RELOC", &[px(S_IFDIR), nm(b"reloc"), lba_entry(b"CL", ISO_ROOT)].concat()),
                rec(30, SECTOR as u32, FLAG_DIR, b"D", &[px(S_IFDIR), nm(b"d")].concat()),
                rec(31, SECTOR as u32, FLAG_DIR, b"RR_MOVED", &[px(S_IFDIR), susp(b"RE", &[])].concat()),
            ],
        );
        img.put(
            30,
            0,
            &dir_extent(&[
                rec(30, SECTOR as u32, FLAG_DIR, &[0], &px(S_IFDIR)),
                rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, &[1], &lba_entry(b"PL", 30)),
                file_rec(0, 0, b"E", &[px(S_IFDIR), nm(b"e"), lba_entry(b"CL", 30)].concat()),
            ]),
        );
        img.put(
            31,
            0,
            &dir_extent(&[
                rec(31, SECTOR as u32, FLAG_DIR, &[0], &[px(S_IFDIR), lba_entry(b"PL", 31)].concat()),
                rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, &[1], &[]),
                rec(31, SECTOR as u32, FLAG_DIR, b"X", &[px(S_IFDIR), susp(b"RE", &[]), lba_entry(b"PL", 31)].concat()),
            ]),
        );
        w.image("iso-rr-cl-pl-loop", "Rock Ridge CL/PL relocation loops", "/reloc", &img)?;
    }

    // An endless CE chain: file F's System Use is a CE to LBA 40 offset 0; from there 100 000 CE entries, each
    // pointing at the next 28 bytes (73 per sector, sectors 40..1410), far past any sane hop limit.
    {
        const HOPS: u32 = 100_000;
        const PER: u32 = (SECTOR / 28) as u32;
        let last = 40 + HOPS / PER + 1;
        let mut img = rr_iso(last + 1, vec![file_rec(0, 0, b"F", &[px(S_IFREG), ce(40, 0, 28)].concat())]);
        for i in 0..HOPS {
            let next = i + 1;
            img.put(40 + i / PER, (i % PER) as usize * 28, &ce(40 + next / PER, (next % PER) * 28, 28));
        }
        w.image("iso-rr-ce-endless", "endless CE continuation chain", "/f", &img)?;
    }

    // Self-referencing CE: the continuation area at LBA 30 holds a CE pointing at itself; the root "." has a CE
    // two-cycle 31 -> 32 -> 31; file G has CE with offset and length near 2^32 and a block past the end.
    {
        let mut img = rr_iso(
            40,
            vec![
                file_rec(0, 0, b"F", &[px(S_IFREG), ce(30, 0, 28)].concat()),
                file_rec(0, 0, b"G", &[px(S_IFREG), ce(0xFFFF_FFF0, 0xFFFF_FFF0, 0xFFFF_FFFF)].concat()),
                file_rec(0, 0, b"H", &[px(S_IFREG), ce(31, 2040, 0x7FFF_FFFF)].concat()),
                file_rec(0, 0, b"K", &[px(S_IFREG), ce(31, 0, 28)].concat()),
            ],
        );
        img.put(30, 0, &ce(30, 0, 28));
        img.put(31, 0, &ce(32, 0, 28));
        img.put(32, 0, &ce(31, 0, 28));
        w.image("iso-rr-ce-self", "self-referencing CE, CE past the end, CE sizes near 2^32", "/f", &img)?;
    }

    // SUSP entries with lengths that lie: ER whose LEN_ID/LEN_DES/LEN_SRC sum past the entry and the record;
    // SL components longer than the entry; NM and SL of length 4 (no flags byte); an entry of length 0 (a parser
    // that adds the length to its cursor never moves) and one of length 255 past the record end.
    {
        let zero_len = vec![b'X', b'X', 0, 1];
        let long_len = vec![b'Y', b'Y', 255, 1];
        let mut sl_bad = sl(&[(0, b"etc"), (0, b"passwd")]);
        sl_bad[6] = 250; // first component's length byte
        let img = rr_iso(
            40,
            vec![
                file_rec(30, HELLO.len() as u32, b"A", &[px(S_IFREG), er(Some([255, 255, 255]))].concat()),
                file_rec(0, 0, b"B", &[px(S_IFLNK), nm(b"b"), sl_bad].concat()),
                file_rec(0, 0, b"C", &[px(S_IFLNK), susp(b"NM", &[]), susp(b"SL", &[])].concat()),
                file_rec(0, 0, b"D", &[px(S_IFREG), zero_len, nm(b"d")].concat()),
                file_rec(0, 0, b"E", &[px(S_IFREG), long_len].concat()),
                file_rec(0, 0, b"F", &[susp(b"PX", &[1, 2, 3]), susp(b"TF", &[0xFF, 1]), susp(b"ZF", b"p")].concat()),
            ],
        );
        let mut img = img;
        img.put(30, 0, HELLO);
        w.image("iso-rr-er-sl-lengths", "ER, SL, NM and SUSP entries with unchecked lengths", "/b", &img)?;
    }

    // Joliet names with odd byte lengths (1, 3, 5), an unpaired surrogate, "/" and ".." in UCS-2, an empty
    // name, and a name of 255 bytes in a record: supplementary descriptor at 17 (escape %/E), root at 30.
    {
        let mut img = iso(40, &[root_dots(SECTOR as u32, &[]), vec![file_rec(32, 5, b"PLAIN.TXT;1", &[])]].concat());
        let ucs = |s: &str| s.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>();
        let mut names: Vec<Vec<u8>> = vec![vec![0x00], vec![0x00, b'a', 0x00], vec![0, b'a', 0, b'b', 0]];
        names.push(vec![0xD8, 0x00, 0x00, b'x']);
        names.push(ucs("a/b"));
        names.push(ucs(".."));
        names.push(ucs("."));
        names.push(vec![0, 0]);
        names.push([ucs("evil"), vec![0, 0], ucs("x")].concat());
        let mut recs = vec![rec(30, SECTOR as u32, FLAG_DIR, &[0], &[]), rec(30, SECTOR as u32, FLAG_DIR, &[1], &[])];
        for n in &names {
            recs.push(file_rec(32, 5, n, &[]));
        }
        recs.push(file_rec(32, 5, &[0x41; 221], &[]));
        img.put(30, 0, &dir_extent(&recs));
        let jroot = rec(30, SECTOR as u32, FLAG_DIR, &[0], &[]);
        img.put(17, 0, &volume_descriptor(2, 40, &jroot, b"%/E"));
        img.put(18, 0, &terminator());
        img.put(32, 0, b"data\n");
        w.image("iso-joliet-odd-names", "Joliet names with odd byte lengths and unsafe names", "/PLAIN.TXT", &img)?;
    }

    // zisofs: files whose ZF entries and zisofs headers claim absurd sizes; block pointers past 2^32 when summed,
    // pointing backwards, and past the end of the file and image. Header at the file's first byte.
    {
        let zf = |log2: u8, size: u32| {
            let mut d = vec![b'p', b'z', 4, log2];
            d.extend_from_slice(&both32(size));
            susp(b"ZF", &d)
        };
        let header = |size: u32, log2: u8, ptrs: &[u32]| {
            let mut h = vec![0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&[4, log2, 0, 0]);
            for p in ptrs {
                h.extend_from_slice(&p.to_le_bytes());
            }
            h
        };
        let mut img = rr_iso(
            40,
            vec![
                file_rec(30, 64, b"OVER", &[px(S_IFREG), nm(b"over"), zf(15, 0xFFFF_FFFF)].concat()),
                file_rec(31, 64, b"BACK", &[px(S_IFREG), nm(b"back"), zf(15, 3 << 15)].concat()),
                file_rec(32, 64, b"HUGEBLK", &[px(S_IFREG), nm(b"hugeblk"), zf(31, 100)].concat()),
                file_rec(33, 64, b"ZERO", &[px(S_IFREG), nm(b"zero"), zf(0, 1 << 20)].concat()),
            ],
        );
        img.put(30, 0, &header(0xFFFF_FFFF, 15, &[24, 0xFFFF_FFF0, 0xFFFF_FFFF, 8]));
        img.put(31, 0, &header(3 << 15, 15, &[32, 200, 100, 40]));
        img.put(32, 0, &header(100, 31, &[24, 0x7FFF_FFFF]));
        img.put(33, 0, &header(1 << 20, 0, &[24, 24]));
        w.image("iso-zisofs-pointers", "zisofs block pointers overflowing / pointing backwards", "/over", &img)?;
    }

    // Block x 2048 overflow: extents at LBA 0xFFFFFFFF / 0xFFFFFFFE and sizes near 2^32; a directory whose
    // extent starts at 0x00200000 (byte offset 2^32: 32-bit byte arithmetic wraps to LBA 0).
    {
        let img = iso(
            40,
            &[
                root_dots(SECTOR as u32, &[]),
                vec![
                    file_rec(0xFFFF_FFFF, 0xFFFF_FFFF, b"MAXLBA.BIN;1", &[]),
                    file_rec(0xFFFF_FFFE, 4096, b"NEARMAX.BIN;1", &[]),
                    file_rec(30, 0xFFFF_FFFF, b"HUGE.BIN;1", &[]),
                    rec(0xFFFF_FFFF, 0xFFFF_F800, FLAG_DIR, b"MAXDIR", &[]),
                    rec(0x0020_0000, SECTOR as u32, FLAG_DIR, b"WRAPDIR", &[]),
                ],
            ]
            .concat(),
        );
        w.image("iso-lba-overflow", "block x 2048 overflow, sizes near 2^32", "/MAXLBA.BIN", &img)?;
    }

    // Extents past the end of the image and overlapping extents: files overlapping each other, the volume
    // descriptors and the root directory; a multi-extent file that never ends; a directory past the end.
    {
        let mut recs = root_dots(SECTOR as u32, &[]);
        recs.extend([
            file_rec(1000, 4096, b"PASTEND.BIN;1", &[]),
            file_rec(35, 100_000, b"TAILEND.BIN;1", &[]),
            file_rec(16, 3 * SECTOR as u32, b"VDS.BIN;1", &[]),
            file_rec(ISO_ROOT, SECTOR as u32, b"ROOTDIR.BIN;1", &[]),
            file_rec(30, 5000, b"A.BIN;1", &[]),
            file_rec(31, 5000, b"B.BIN;1", &[]),
            rec(5000, SECTOR as u32, FLAG_DIR, b"GONE", &[]),
        ]);
        for _ in 0..50 {
            recs.push(rec(30, 0xFFFF_F800, FLAG_MULTI_EXTENT, b"MULTI.BIN;1", &[]));
        }
        let mut img = iso(36, &recs);
        img.put(30, 0, &[0xAB; 3 * SECTOR]);
        w.image("iso-extents-past-end-overlap", "extents past the end, overlapping extents", "/PASTEND.BIN", &img)?;
    }

    // Zero-length directories: root entry EMPTY has size 0; ROOTZERO's "." says 0 too; a directory of size 1.
    {
        let mut img = iso(
            40,
            &[
                root_dots(SECTOR as u32, &[]),
                vec![
                    rec(30, 0, FLAG_DIR, b"EMPTY", &[]),
                    rec(31, 1, FLAG_DIR, b"ONEBYTE", &[]),
                    rec(0, 0, FLAG_DIR, b"ZEROLBA", &[]),
                ],
            ]
            .concat(),
        );
        img.put(31, 0, &[1]);
        w.image("iso-zero-length-dirs", "zero-length directories", "/EMPTY", &img)?;
        // The same with a root directory of length 0 in the PVD.
        let mut img2 = img.clone();
        img2.put(16, 156 + 10, &both32(0));
        w.image("iso-zero-length-root", "zero-length root directory", "/X", &img2)?;
    }

    // 10 000 nested directories, one sector each (LBA 30 + i), each named D.
    {
        const DEPTH: u32 = 10_000;
        let mut img =
            iso(30 + DEPTH + 1, &[root_dots(SECTOR as u32, &[]), vec![rec(30, 2048, FLAG_DIR, b"D", &[])]].concat());
        for i in 0..DEPTH {
            let me = 30 + i;
            let parent = if i == 0 { ISO_ROOT } else { me - 1 };
            let mut recs = vec![rec(me, 2048, FLAG_DIR, &[0], &[]), rec(parent, 2048, FLAG_DIR, &[1], &[])];
            if i + 1 < DEPTH {
                recs.push(rec(me + 1, 2048, FLAG_DIR, b"D", &[]));
            } else {
                recs.push(file_rec(30 + DEPTH, HELLO.len() as u32, b"BOTTOM.TXT;1", &[]));
            }
            img.put(me, 0, &dir_extent(&recs));
        }
        img.put(30 + DEPTH, 0, HELLO);
        w.image("iso-deep-10000", "10 000-deep directories", "/D/D/D/D", &img)?;
    }

    // A million entries in one directory, all zero-length files named SAME (a file listed a million times: it is
    // written once), and 1 100 000 distinct names (past the default per-directory limit of 2^20).
    for (name, count, distinct) in
        [("iso-million-same-name", 1_000_000u32, false), ("iso-million-distinct", 1_100_000, true)]
    {
        let rec_len = rec(0, 0, 0, b"AAAAAAA;1", &[]).len();
        let per = (SECTOR / rec_len) as u32;
        let sectors = count.div_ceil(per) + 1;
        let size = sectors * SECTOR as u32;
        let mut img = iso(30, &root_dots(SECTOR as u32, &[]));
        img.put(
            ISO_ROOT,
            0,
            &dir_extent(&[
                rec(30, size, FLAG_DIR, &[0], &[]),
                rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, &[1], &[]),
                rec(30, size, FLAG_DIR, b"BIG", &[]),
            ]),
        );
        let mut sector = vec![0u8; SECTOR];
        let mut data = Vec::with_capacity(sectors as usize * SECTOR);
        let dots = [rec(30, size, FLAG_DIR, &[0], &[]), rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, &[1], &[])].concat();
        data.extend_from_slice(&dots);
        data.resize(SECTOR, 0);
        let same = rec(0, 0, 0, b"SAME.;1", &[]);
        for i in 0..count {
            let slot = (i % per) as usize;
            if distinct {
                let mut n = *b"AAAAAAA;1";
                let mut v = i;
                for c in n[..7].iter_mut().rev() {
                    *c = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(v % 36) as usize];
                    v /= 36;
                }
                sector[slot * rec_len..(slot + 1) * rec_len].copy_from_slice(&rec(0, 0, 0, &n, &[]));
            } else {
                sector[slot * same.len()..(slot + 1) * same.len()].copy_from_slice(&same);
            }
            if slot as u32 + 1 == per || i + 1 == count {
                data.extend_from_slice(&sector);
                sector.fill(0);
            }
        }
        img.put(30, 0, &data);
        img.put(16, 80, &both32(img.sectors()));
        w.image(name, "a million entries in one directory", "/BIG/SAME", &img)?;
    }

    // Garbage dates: PVD dates with non-digits, month 13, GMT offset -128; directory record dates with month 0,
    // day 255, hour 99, offset 127; a Rock Ridge TF with long-form dates full of 0xFF.
    {
        let mut recs = root_dots(SECTOR as u32, &rr_root());
        let bad = [255, 0, 255, 99, 99, 99, 127];
        recs.push(rec_full(both32(30), both32(5), bad, 0, b"BADDATE.TXT;1", &[]));
        recs.push(rec_full(both32(30), both32(5), [0, 13, 32, 24, 60, 60, 0x80], 0, b"ODD.TXT;1", &[]));
        let mut tf = vec![0x80 | 0x0E];
        tf.extend_from_slice(&[0xFF; 17 * 3]);
        recs.push(rec_full(both32(30), both32(5), REC_DATE, 0, b"TF.TXT;1", &susp(b"TF", &tf)));
        let mut img = iso(40, &recs);
        img.put(16, 813, b"20X4139925996199\x80");
        img.put(16, 830, b"99999999999999999");
        img.put(16, 847, &[0xFF; 17]);
        img.put(16, 864, b"0000000000000000\x7f");
        img.put(30, 0, b"date\n");
        w.image("iso-garbage-dates", "garbage dates", "/BADDATE.TXT", &img)?;
    }

    // Path tables that disagree with the directories: size 0xFFFFFFFF, LBAs past the end, parent numbers out of
    // range and pointing forward (a parent loop), L and M tables that differ.
    {
        let mut img = iso(40, &[root_dots(SECTOR as u32, &[]), vec![rec(30, 2048, FLAG_DIR, b"SUB", &[])]].concat());
        img.put(30, 0, &dir_extent(&[rec(30, 2048, FLAG_DIR, &[0], &[]), rec(ISO_ROOT, 2048, FLAG_DIR, &[1], &[])]));
        img.put(16, 132, &both32(0xFFFF_FFFF));
        let mut lt = root_path_table(ISO_ROOT + 3, true);
        for (lba, parent) in [(30u32, 3u16), (0xFFFF_FFFF, 0xFFFF), (31, 2)] {
            lt.extend_from_slice(&[3, 0]);
            lt.extend_from_slice(&lba.to_le_bytes());
            lt.extend_from_slice(&parent.to_le_bytes());
            lt.extend_from_slice(b"SUB\0");
        }
        img.put(20, 0, &lt);
        img.put(21, 0, &[0xFF; 64]);
        w.image("iso-path-table-disagrees", "path tables that disagree with directories", "/SUB", &img)?;
    }

    // Both-endian halves that disagree: volume space size, logical block size (LE 2048, BE 512), root extent
    // and size, a file's size (LE 5, BE 0xFFFFFFFF) and LBA.
    {
        let mut recs = root_dots(SECTOR as u32, &[]);
        recs.push(rec_full(both32(30), both32_split(5, 0xFFFF_FFFF), REC_DATE, 0, b"SIZE.TXT;1", &[]));
        recs.push(rec_full(both32_split(30, 0x7FFF_FFFF), both32(5), REC_DATE, 0, b"LBA.TXT;1", &[]));
        let mut img = iso(40, &recs);
        img.put(16, 80, &both32_split(40, 0xFFFF_FFFF));
        img.put(16, 128, &[0x00, 0x08, 0x02, 0x00]);
        img.put(16, 156 + 2, &both32_split(ISO_ROOT, 31));
        img.put(30, 0, b"ends\n");
        w.image("iso-both-endian-disagree", "both-endian halves that disagree", "/SIZE.TXT", &img)?;
        // A logical block size of 0 (a divisor) and of 1 in both halves.
        let mut img0 = img.clone();
        img0.put(16, 128, &both16(0));
        w.image("iso-block-size-zero", "logical block size 0", "/SIZE.TXT", &img0)?;
    }

    // El Torito: boot record at 17 pointing at a catalog far past the end; and an image whose catalog (at 30)
    // has a bad validation checksum, a default entry past the end with 0xFFFF sectors, and section headers
    // claiming 0xFFFF entries each.
    {
        let boot_record = |catalog: u32| {
            let mut d = vec![0u8; SECTOR];
            d[1..6].copy_from_slice(b"CD001");
            d[6] = 1;
            d[7..7 + 23].copy_from_slice(b"EL TORITO SPECIFICATION");
            d[0x47..0x4B].copy_from_slice(&catalog.to_le_bytes());
            d
        };
        let base = || {
            let mut img = iso(40, &[root_dots(SECTOR as u32, &[]), vec![file_rec(31, 5, b"BOOT.IMG;1", &[])]].concat());
            img.put(18, 0, &terminator());
            img
        };
        let mut img = base();
        img.put(17, 0, &boot_record(0xFFFF_FF00));
        w.image("iso-boot-catalog-past-end", "boot catalog past the end", "/BOOT.IMG", &img)?;

        let mut img = base();
        img.put(17, 0, &boot_record(30));
        let mut cat = vec![0u8; SECTOR];
        cat[0] = 1;
        cat[28..30].copy_from_slice(&0x1234u16.to_le_bytes());
        cat[30] = 0x55;
        cat[31] = 0xAA;
        cat[32] = 0x88;
        cat[32 + 6..32 + 8].copy_from_slice(&0xFFFFu16.to_le_bytes());
        cat[32 + 8..32 + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        for s in 2..(SECTOR / 32) {
            cat[s * 32] = if s + 1 == SECTOR / 32 { 0x91 } else { 0x90 };
            cat[s * 32 + 2..s * 32 + 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        }
        img.put(30, 0, &cat);
        w.image("iso-boot-catalog-garbage", "boot catalog with bad checksum, entries past the end", "/BOOT.IMG", &img)?;
    }

    // Names that try to leave the extraction folder, and a symlink-then-directory trick. Rock Ridge names:
    // "../../escape", "/abs", ".", "..", "a/b", "" and a NUL byte; a symlink "link" to "../outside" followed by a
    // directory "link" holding "x"; a directory "evil" holding "pwned" (the contract test puts a symlink named
    // evil in the extraction folder first); a file listed twice.
    {
        let mut img = rr_iso(
            40,
            vec![
                file_rec(34, 5, b"N1", &[px(S_IFREG), nm(b"../../escape")].concat()),
                file_rec(34, 5, b"N2", &[px(S_IFREG), nm(b"/abs")].concat()),
                file_rec(34, 5, b"N3", &[px(S_IFREG), nm(b".")].concat()),
                file_rec(34, 5, b"N4", &[px(S_IFREG), nm(b"..")].concat()),
                file_rec(34, 5, b"N5", &[px(S_IFREG), nm(b"a/b")].concat()),
                file_rec(34, 5, b"N6", &[px(S_IFREG), nm(b"")].concat()),
                file_rec(34, 5, b"N7", &[px(S_IFREG), nm(b"nul\0x")].concat()),
                file_rec(34, 5, b"N8", &[px(S_IFREG), nm(b"back\\slash")].concat()),
                file_rec(0, 0, b"L1", &[px(S_IFLNK), nm(b"link"), sl(&[(4, b""), (0, b"outside")])].concat()),
                rec(30, SECTOR as u32, FLAG_DIR, b"L2", &[px(S_IFDIR), nm(b"link")].concat()),
                file_rec(0, 0, b"L3", &[px(S_IFLNK), nm(b"abs"), sl(&[(8, b""), (0, b"tmp")])].concat()),
                rec(31, SECTOR as u32, FLAG_DIR, b"EVIL", &[px(S_IFDIR), nm(b"evil")].concat()),
                file_rec(34, 5, b"TWICE", &[px(S_IFREG), nm(b"twice")].concat()),
                file_rec(35, 6, b"TWICE", &[px(S_IFREG), nm(b"twice")].concat()),
            ],
        );
        for lba in [30, 31] {
            img.put(
                lba,
                0,
                &dir_extent(&[
                    rec(lba, SECTOR as u32, FLAG_DIR, &[0], &px(S_IFDIR)),
                    rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, &[1], &[]),
                    file_rec(34, 5, b"X", &[px(S_IFREG), nm(if lba == 30 { b"x" } else { b"pwned" })].concat()),
                ]),
            );
        }
        img.put(34, 0, b"evil\n");
        img.put(35, 0, b"evil2\n");
        w.image("iso-rr-traversal-names", "names and symlinks leaving the extraction folder", "/twice", &img)?;
        // The same names in the plain ISO 9660 tree (no Rock Ridge): "EVIL" directory and file names with "/".
        let mut plain = iso(
            40,
            &[
                root_dots(SECTOR as u32, &[]),
                vec![
                    rec(31, SECTOR as u32, FLAG_DIR, b"EVIL", &[]),
                    file_rec(34, 5, b"..", &[]),
                    file_rec(34, 5, b"A/B;1", &[]),
                    file_rec(34, 5, b"/ETC;1", &[]),
                    file_rec(34, 5, b"", &[]),
                ],
            ]
            .concat(),
        );
        plain.put(
            31,
            0,
            &dir_extent(&[
                rec(31, SECTOR as u32, FLAG_DIR, &[0], &[]),
                rec(ISO_ROOT, SECTOR as u32, FLAG_DIR, &[1], &[]),
                file_rec(34, 5, b"PWNED;1", &[]),
            ]),
        );
        plain.put(34, 0, b"evil\n");
        w.image("iso-plain-traversal-names", "plain names leaving the extraction folder", "/EVIL/PWNED", &plain)?;
    }

    // A truncated image: the PVD claims 40 sectors, the file ends in the middle of the root directory; and an
    // image of 16 sectors (no descriptors at all) and one of 1 byte.
    {
        let mut img = iso(40, &[root_dots(SECTOR as u32, &[]), vec![file_rec(30, 5, b"A.TXT;1", &[])]].concat());
        img.0.truncate(ISO_ROOT as usize * SECTOR + 100);
        w.image("iso-truncated", "image truncated inside the root directory", "/A.TXT", &img)?;
        w.image("iso-system-area-only", "no volume descriptors", "/A", &Image::new(16))?;
        w.image("iso-one-byte", "one-byte image", "/A", &Image(vec![1]))?;
    }

    // Descriptor set without a terminator: 2000 primary descriptors in a row until the end.
    {
        let mut img = iso(2100, &root_dots(SECTOR as u32, &[]));
        let pvd = img.0[16 * SECTOR..17 * SECTOR].to_vec();
        for lba in 17..2100 {
            img.put(lba, 0, &pvd);
        }
        w.image("iso-no-terminator", "volume descriptor set without a terminator", "/A", &img)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// UDF (ECMA-167 3rd edition, OSTA UDF 2.01).

/// CRC-16/CCITT as ECMA-167 1/7.2.6 defines it (polynomial 0x1021, initial 0, no reflection).
fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// Fills in the 16-byte descriptor tag (ECMA-167 3/7.2) of descriptor `d`: identifier, version 3, CRC over the
/// rest of `d`, `location`, checksum.
fn tag(d: &mut [u8], ident: u16, location: u32) {
    d[0..2].copy_from_slice(&ident.to_le_bytes());
    d[2..4].copy_from_slice(&3u16.to_le_bytes());
    let crc_len = (d.len() - 16) as u16;
    let crc = crc16(&d[16..]);
    d[8..10].copy_from_slice(&crc.to_le_bytes());
    d[10..12].copy_from_slice(&crc_len.to_le_bytes());
    d[12..16].copy_from_slice(&location.to_le_bytes());
    d[4] = tag_checksum(d);
}

fn tag_checksum(d: &[u8]) -> u8 {
    d[..16].iter().enumerate().filter(|(i, _)| *i != 4).fold(0u8, |a, (_, b)| a.wrapping_add(*b))
}

fn regid(id: &str, suffix: &[u8]) -> [u8; 32] {
    let mut r = [0u8; 32];
    r[1..1 + id.len()].copy_from_slice(id.as_bytes());
    r[24..24 + suffix.len()].copy_from_slice(suffix);
    r
}

/// UDF domain suffix: revision 2.01, no flags.
const UDF_SUFFIX: [u8; 2] = [0x01, 0x02];

fn dstring(s: &str, n: usize) -> Vec<u8> {
    let mut d = vec![0u8; n];
    d[0] = 8;
    d[1..1 + s.len()].copy_from_slice(s.as_bytes());
    d[n - 1] = (s.len() + 1) as u8;
    d
}

fn charspec() -> [u8; 64] {
    let mut c = [0u8; 64];
    c[1..24].copy_from_slice(b"OSTA Compressed Unicode");
    c
}

fn timestamp() -> [u8; 12] {
    let mut t = [0u8; 12];
    t[0..2].copy_from_slice(&0x1000u16.to_le_bytes());
    t[2..4].copy_from_slice(&2024u16.to_le_bytes());
    t[4] = 1;
    t[5] = 1;
    t[6] = 12;
    t
}

fn long_ad(len: u32, lbn: u32, pref: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0..4].copy_from_slice(&len.to_le_bytes());
    a[4..8].copy_from_slice(&lbn.to_le_bytes());
    a[8..10].copy_from_slice(&pref.to_le_bytes());
    a
}

fn short_ad(len: u32, pos: u32) -> [u8; 8] {
    let mut a = [0u8; 8];
    a[0..4].copy_from_slice(&len.to_le_bytes());
    a[4..8].copy_from_slice(&pos.to_le_bytes());
    a
}

fn extent_ad(len: u32, loc: u32) -> [u8; 8] {
    short_ad(len, loc)
}

const FT_DIR: u8 = 4;
const FT_FILE: u8 = 5;
const FT_SYMLINK: u8 = 12;
/// ICB flags: allocation descriptor kinds (ECMA-167 4/14.6.8).
const AD_SHORT: u16 = 0;
const AD_LONG: u16 = 1;
const AD_EMBEDDED: u16 = 3;

/// A File Entry (ECMA-167 4/14.9), strategy 4, with `ads` (or embedded data) after no extended attributes.
fn file_entry(file_type: u8, info_len: u64, ad_kind: u16, ads: &[u8], location: u32) -> Vec<u8> {
    let mut d = vec![0u8; 176];
    d[16 + 4..16 + 6].copy_from_slice(&4u16.to_le_bytes());
    d[16 + 8..16 + 10].copy_from_slice(&1u16.to_le_bytes());
    d[16 + 11] = file_type;
    d[16 + 18..16 + 20].copy_from_slice(&ad_kind.to_le_bytes());
    d[36..40].copy_from_slice(&u32::MAX.to_le_bytes());
    d[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    let perms: u32 = if file_type == FT_DIR { 0x14A5 | 0x14A5 << 5 } else { 0x1084 | 0x1084 << 5 };
    d[44..48].copy_from_slice(&perms.to_le_bytes());
    d[48..50].copy_from_slice(&1u16.to_le_bytes());
    d[56..64].copy_from_slice(&info_len.to_le_bytes());
    d[64..72].copy_from_slice(&info_len.div_ceil(SECTOR as u64).to_le_bytes());
    for at in [72, 84, 96] {
        d[at..at + 12].copy_from_slice(&timestamp());
    }
    d[108..112].copy_from_slice(&1u32.to_le_bytes());
    d[128..160].copy_from_slice(&regid("*odix hostile", &[]));
    d[160..168].copy_from_slice(&u64::from(location + 16).to_le_bytes());
    d[172..176].copy_from_slice(&(ads.len() as u32).to_le_bytes());
    d.extend_from_slice(ads);
    tag(&mut d, 261, location);
    d
}

/// File characteristics (ECMA-167 4/14.4.3).
const FID_DIR: u8 = 0x02;
const FID_PARENT: u8 = 0x08;

/// A File Identifier Descriptor (ECMA-167 4/14.4), `name` as a d-characters field with its compression ID,
/// `location` the block its tag names.
fn fid(chars: u8, name: &[u8], icb: [u8; 16], location: u32) -> Vec<u8> {
    let mut d = vec![0u8; 38];
    d[16..18].copy_from_slice(&1u16.to_le_bytes());
    d[18] = chars;
    d[19] = name.len() as u8;
    d[20..36].copy_from_slice(&icb);
    d.extend_from_slice(name);
    d.resize(d.len().div_ceil(4) * 4, 0);
    tag(&mut d, 257, location);
    d
}

fn d8(name: &str) -> Vec<u8> {
    let mut v = vec![8];
    v.extend_from_slice(name.as_bytes());
    v
}

/// Which partition maps the Logical Volume Descriptor carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Maps {
    /// One type 1 map.
    Plain,
    /// Type 1 and a virtual (VAT) map; the file set is in the virtual partition (reference 1).
    Virtual,
    /// One sparable map with two sparing tables at the given absolute sectors.
    Sparable(u32, u32),
    /// Type 1 and a metadata map (metadata file at partition block `.0`, mirror at `.1`).
    Metadata(u32, u32),
}

fn type2_map(ident: &str, specific: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 64];
    m[0] = 2;
    m[1] = 64;
    m[4..36].copy_from_slice(&regid(ident, &UDF_SUFFIX));
    m[36..38].copy_from_slice(&1u16.to_le_bytes());
    m[40..40 + specific.len()].copy_from_slice(specific);
    m
}

/// A UDF image with everything but the root directory: VRS, both VDS copies, LVID, anchors, FSD (root ICB at
/// block 2 of the file set's partition). `total` sectors; the partition spans [`UDF_PART`] for `part_len`.
fn udf_base(total: u32, part_len: u32, maps: Maps) -> Image {
    udf_base_at(total, UDF_PART, part_len, maps, &[256, total - 1])
}

/// [`udf_base`] with the partition at `part` and anchors at `anchors`.
fn udf_base_at(total: u32, part: u32, part_len: u32, maps: Maps, anchors: &[u32]) -> Image {
    let mut img = Image::new(total);
    for (i, id) in [b"BEA01", b"NSR03", b"TEA01"].iter().enumerate() {
        let mut v = vec![0u8; 7];
        v[1..6].copy_from_slice(*id);
        v[6] = 1;
        img.put(16 + i as u32, 0, &v);
    }
    let fsd_pref: u16 = match maps {
        Maps::Plain | Maps::Sparable(..) => 0,
        Maps::Virtual | Maps::Metadata(..) => 1,
    };
    let map_bytes: Vec<u8> = match maps {
        Maps::Plain => vec![1, 6, 1, 0, 0, 0],
        Maps::Virtual => [vec![1, 6, 1, 0, 0, 0], type2_map("*UDF Virtual Partition", &[])].concat(),
        Maps::Sparable(a, b) => {
            let mut s = Vec::new();
            s.extend_from_slice(&32u16.to_le_bytes());
            s.push(2);
            s.push(0);
            s.extend_from_slice(&(SECTOR as u32).to_le_bytes());
            s.extend_from_slice(&a.to_le_bytes());
            s.extend_from_slice(&b.to_le_bytes());
            type2_map("*UDF Sparable Partition", &s)
        }
        Maps::Metadata(main, mirror) => {
            let mut s = Vec::new();
            s.extend_from_slice(&main.to_le_bytes());
            s.extend_from_slice(&mirror.to_le_bytes());
            s.extend_from_slice(&u32::MAX.to_le_bytes());
            s.extend_from_slice(&32u32.to_le_bytes());
            s.extend_from_slice(&32u16.to_le_bytes());
            s.push(0);
            [vec![1, 6, 1, 0, 0, 0], type2_map("*UDF Metadata Partition", &s)].concat()
        }
    };
    let n_maps = if matches!(maps, Maps::Plain | Maps::Sparable(..)) { 1u32 } else { 2 };
    for vds in [UDF_VDS, UDF_VDS + 16] {
        // Primary Volume Descriptor (3/10.1).
        let mut pvd = vec![0u8; 512];
        pvd[24..56].copy_from_slice(&dstring("HOSTILE", 32));
        pvd[56..58].copy_from_slice(&1u16.to_le_bytes());
        pvd[58..60].copy_from_slice(&1u16.to_le_bytes());
        pvd[60..62].copy_from_slice(&2u16.to_le_bytes());
        pvd[62..64].copy_from_slice(&3u16.to_le_bytes());
        pvd[64..68].copy_from_slice(&1u32.to_le_bytes());
        pvd[68..72].copy_from_slice(&1u32.to_le_bytes());
        pvd[72..200].copy_from_slice(&dstring("0123456789ABCDEFHOSTILE", 128));
        pvd[200..264].copy_from_slice(&charspec());
        pvd[264..328].copy_from_slice(&charspec());
        pvd[376..388].copy_from_slice(&timestamp());
        tag(&mut pvd, 1, vds);
        img.put(vds, 0, &pvd);
        // Implementation Use Volume Descriptor (3/10.4) with LVInfo.
        let mut iuvd = vec![0u8; 512];
        iuvd[16..20].copy_from_slice(&1u32.to_le_bytes());
        iuvd[20..52].copy_from_slice(&regid("*UDF LV Info", &UDF_SUFFIX));
        iuvd[52..116].copy_from_slice(&charspec());
        iuvd[116..244].copy_from_slice(&dstring("HOSTILE", 128));
        tag(&mut iuvd, 4, vds + 1);
        img.put(vds + 1, 0, &iuvd);
        // Partition Descriptor (3/10.5).
        let mut pd = vec![0u8; 512];
        pd[16..20].copy_from_slice(&2u32.to_le_bytes());
        pd[20..22].copy_from_slice(&1u16.to_le_bytes());
        pd[24..56].copy_from_slice(&regid("+NSR03", &[]));
        pd[184..188].copy_from_slice(&1u32.to_le_bytes());
        pd[188..192].copy_from_slice(&part.to_le_bytes());
        pd[192..196].copy_from_slice(&part_len.to_le_bytes());
        tag(&mut pd, 5, vds + 2);
        img.put(vds + 2, 0, &pd);
        // Logical Volume Descriptor (3/10.6).
        let mut lvd = vec![0u8; 440];
        lvd[16..20].copy_from_slice(&3u32.to_le_bytes());
        lvd[20..84].copy_from_slice(&charspec());
        lvd[84..212].copy_from_slice(&dstring("HOSTILE", 128));
        lvd[212..216].copy_from_slice(&(SECTOR as u32).to_le_bytes());
        lvd[216..248].copy_from_slice(&regid("*OSTA UDF Compliant", &UDF_SUFFIX));
        lvd[248..264].copy_from_slice(&long_ad(SECTOR as u32, 0, fsd_pref));
        lvd[264..268].copy_from_slice(&(map_bytes.len() as u32).to_le_bytes());
        lvd[268..272].copy_from_slice(&n_maps.to_le_bytes());
        lvd[432..440].copy_from_slice(&extent_ad(2 * SECTOR as u32, 64));
        lvd.extend_from_slice(&map_bytes);
        tag(&mut lvd, 6, vds + 3);
        img.put(vds + 3, 0, &lvd);
        // Unallocated Space Descriptor (3/10.8), Terminating Descriptor (3/10.9).
        let mut usd = vec![0u8; 24];
        usd[16..20].copy_from_slice(&4u32.to_le_bytes());
        tag(&mut usd, 7, vds + 4);
        img.put(vds + 4, 0, &usd);
        let mut td = vec![0u8; 512];
        tag(&mut td, 8, vds + 5);
        img.put(vds + 5, 0, &td);
    }
    // Logical Volume Integrity Descriptor (3/10.10), closed, then a TD.
    let mut lvid = vec![0u8; 80];
    lvid[16..28].copy_from_slice(&timestamp());
    lvid[28..32].copy_from_slice(&1u32.to_le_bytes());
    lvid[40..48].copy_from_slice(&64u64.to_le_bytes());
    lvid[72..76].copy_from_slice(&n_maps.to_le_bytes());
    lvid[76..80].copy_from_slice(&46u32.to_le_bytes());
    for _ in 0..n_maps {
        lvid.extend_from_slice(&0u32.to_le_bytes());
    }
    for _ in 0..n_maps {
        lvid.extend_from_slice(&part_len.to_le_bytes());
    }
    let mut iu = vec![0u8; 46];
    iu[0..32].copy_from_slice(&regid("*odix hostile", &[]));
    iu[32..36].copy_from_slice(&1u32.to_le_bytes());
    iu[36..40].copy_from_slice(&1u32.to_le_bytes());
    for at in [40, 42, 44] {
        iu[at..at + 2].copy_from_slice(&0x0201u16.to_le_bytes());
    }
    lvid.extend_from_slice(&iu);
    tag(&mut lvid, 9, 64);
    img.put(64, 0, &lvid);
    let mut td = vec![0u8; 512];
    tag(&mut td, 8, 65);
    img.put(65, 0, &td);
    // Anchors (3/10.2) at 256 and at the last sector.
    for &at in anchors {
        let mut avdp = vec![0u8; 512];
        avdp[16..24].copy_from_slice(&extent_ad(16 * SECTOR as u32, UDF_VDS));
        avdp[24..32].copy_from_slice(&extent_ad(16 * SECTOR as u32, UDF_VDS + 16));
        tag(&mut avdp, 2, at);
        img.put(at, 0, &avdp);
    }
    // File Set Descriptor (4/14.1) at block 0 of the file set's partition, root ICB at block 2, then a TD.
    let mut fsd = vec![0u8; 512];
    fsd[16..28].copy_from_slice(&timestamp());
    fsd[28..30].copy_from_slice(&3u16.to_le_bytes());
    fsd[30..32].copy_from_slice(&3u16.to_le_bytes());
    fsd[32..36].copy_from_slice(&1u32.to_le_bytes());
    fsd[36..40].copy_from_slice(&1u32.to_le_bytes());
    fsd[48..112].copy_from_slice(&charspec());
    fsd[112..240].copy_from_slice(&dstring("HOSTILE", 128));
    fsd[240..304].copy_from_slice(&charspec());
    fsd[304..336].copy_from_slice(&dstring("HOSTILE", 32));
    fsd[400..416].copy_from_slice(&long_ad(SECTOR as u32, 2, fsd_pref));
    fsd[416..448].copy_from_slice(&regid("*OSTA UDF Compliant", &UDF_SUFFIX));
    tag(&mut fsd, 256, 0);
    if matches!(maps, Maps::Plain | Maps::Sparable(..)) {
        img.put(part, 0, &fsd);
        let mut td = vec![0u8; 512];
        tag(&mut td, 8, 1);
        img.put(part + 1, 0, &td);
    } else {
        img.put(part + 100, 0, &fsd);
    }
    img
}

/// Writes a directory: its File Entry at partition block `fe`, FIDs at block `data` (one block), the parent FID
/// pointing at `parent`, then `entries` of (name, is_dir, ICB block).
fn udf_dir(img: &mut Image, base: u32, fe: u32, data: u32, parent: u32, entries: &[(&str, bool, u32)]) {
    let mut fids = fid(FID_DIR | FID_PARENT, &[], long_ad(SECTOR as u32, parent, 0), data);
    for (name, dir, icb) in entries {
        let chars = if *dir { FID_DIR } else { 0 };
        fids.extend_from_slice(&fid(chars, &d8(name), long_ad(SECTOR as u32, *icb, 0), data));
    }
    img.put(base + fe, 0, &file_entry(FT_DIR, fids.len() as u64, AD_SHORT, &short_ad(fids.len() as u32, data), fe));
    img.put(base + data, 0, &fids);
}

/// A file with embedded data at partition block `fe`.
fn udf_file(img: &mut Image, base: u32, fe: u32, data: &[u8]) {
    img.put(base + fe, 0, &file_entry(FT_FILE, data.len() as u64, AD_EMBEDDED, data, fe));
}

fn udf_total() -> u32 {
    UDF_PART + UDF_PART_LEN + 1
}

/// A sane plain UDF image: root (FE 2, FIDs 3) holds hello.txt (FE 4) and dir sub (FE 5, FIDs 6).
fn udf_sane() -> Image {
    let mut img = udf_base(udf_total(), UDF_PART_LEN, Maps::Plain);
    udf_dir(&mut img, UDF_PART, 2, 3, 2, &[("hello.txt", false, 4), ("sub", true, 5)]);
    udf_file(&mut img, UDF_PART, 4, HELLO);
    udf_dir(&mut img, UDF_PART, 5, 6, 2, &[]);
    img
}

/// A compact valid UDF image (100 sectors, 200 KiB) for fuzzing seeds: the partition at 66 for 33 blocks, the
/// only anchor at the last sector (99); root holds `hello.txt`, `sub/` with `inner.txt`, and a symlink `link`.
pub fn compact_udf() -> Image {
    let part = 66;
    let mut img = udf_base_at(100, part, 33, Maps::Plain, &[99]);
    udf_dir(&mut img, part, 2, 3, 2, &[("hello.txt", false, 4), ("sub", true, 5), ("link", false, 8)]);
    udf_file(&mut img, part, 4, HELLO);
    udf_dir(&mut img, part, 5, 6, 2, &[("inner.txt", false, 7)]);
    udf_file(&mut img, part, 7, b"inner\n");
    let target = [5u8, 9, 0, 0, b'h', b'e', b'l', b'l', b'o', b'.', b't', b'x', b't'];
    img.put(part + 8, 0, &file_entry(FT_SYMLINK, target.len() as u64, AD_EMBEDDED, &target, 8));
    img
}

fn put_fe_field(img: &mut Image, block: u32, at: usize, bytes: &[u8]) {
    // Patches a field of the File Entry at partition block `block` and re-tags it so only the field is wrong.
    let start = (UDF_PART + block) as usize * SECTOR;
    let l_ea = u32::from_le_bytes(img.0[start + 168..start + 172].try_into().unwrap_or([0; 4])) as usize;
    let l_ad = u32::from_le_bytes(img.0[start + 172..start + 176].try_into().unwrap_or([0; 4])) as usize;
    let len = (176 + l_ea + l_ad).min(SECTOR);
    img.0[start + at..start + at + bytes.len()].copy_from_slice(bytes);
    let mut d = img.0[start..start + len].to_vec();
    tag(&mut d, 261, block);
    img.0[start..start + len].copy_from_slice(&d);
}

fn udf_cases(w: &mut Writer) -> io::Result<()> {
    let base = UDF_PART;
    w.image("udf-sane", "a valid UDF image (control)", "/hello.txt", &udf_sane())?;

    // Indirect ICB loops: the root ICB (block 2) is an Indirect Entry (4/14.7) pointing at itself; sub (block
    // 5) is an Indirect Entry pointing at block 7, which points back at 5.
    {
        let mut img = udf_sane();
        let indirect = |loc: u32, to: u32| {
            let mut d = vec![0u8; 52];
            d[16 + 4..16 + 6].copy_from_slice(&4u16.to_le_bytes());
            d[16 + 11] = 3;
            d[36..52].copy_from_slice(&long_ad(SECTOR as u32, to, 0));
            tag(&mut d, 259, loc);
            d
        };
        let mut second = img.clone();
        img.put(base + 2, 0, &vec![0u8; SECTOR]);
        img.put(base + 2, 0, &indirect(2, 2));
        w.image("udf-indirect-icb-self", "indirect ICB pointing at itself", "/hello.txt", &img)?;
        second.put(base + 5, 0, &vec![0u8; SECTOR]);
        second.put(base + 5, 0, &indirect(5, 7));
        second.put(base + 7, 0, &indirect(7, 5));
        w.image("udf-indirect-icb-cycle", "indirect ICB two-cycle", "/sub", &second)?;
    }

    // Parent-FID and directory loops: sub holds "up" -> root and "me" -> sub; root's parent FID points at sub.
    {
        let mut img = udf_base(udf_total(), UDF_PART_LEN, Maps::Plain);
        udf_dir(&mut img, base, 2, 3, 5, &[("hello.txt", false, 4), ("sub", true, 5)]);
        udf_file(&mut img, base, 4, HELLO);
        udf_dir(&mut img, base, 5, 6, 5, &[("up", true, 2), ("me", true, 5)]);
        w.image("udf-parent-fid-loop", "parent-FID and directory loops", "/sub/up/hello.txt", &img)?;
    }

    // FID lengths that overflow: L_IU 0xFFFF and L_FI 255 at the end of the directory; directory information
    // length 2^63 - 1 and 2^64 - 1 with a one-block extent.
    {
        let mut img = udf_sane();
        let mut fids = fid(FID_DIR | FID_PARENT, &[], long_ad(SECTOR as u32, 2, 0), 3);
        fids.extend_from_slice(&fid(0, &d8("hello.txt"), long_ad(SECTOR as u32, 4, 0), 3));
        let mut bad = fid(0, &d8("x"), long_ad(SECTOR as u32, 4, 0), 3);
        bad[36..38].copy_from_slice(&0xFFFFu16.to_le_bytes());
        bad[19] = 255;
        tag(&mut bad, 257, 3);
        fids.extend_from_slice(&bad);
        let mut img2 = img.clone();
        img.put(base + 3, 0, &vec![0u8; SECTOR]);
        img.put(base + 3, 0, &fids);
        put_fe_field(&mut img, 2, 56, &(fids.len() as u64).to_le_bytes());
        w.image("udf-fid-length-overflow", "FID lengths that overflow", "/hello.txt", &img)?;
        put_fe_field(&mut img2, 2, 56, &(i64::MAX as u64).to_le_bytes());
        put_fe_field(&mut img2, 5, 56, &u64::MAX.to_le_bytes());
        w.image("udf-dir-size-2-63", "directory sizes near 2^63 and 2^64", "/hello.txt", &img2)?;
    }

    // Allocation descriptor lengths that overflow: L_AD 0xFFFFFFFF, L_EA 0xFFFFFFF0; short_ads with the
    // largest length at the last block number; a file of 2^63 - 1 bytes whose extents sum past 2^64; an extent
    // continuation (type 3) pointing at its own block; a long_ad with partition reference 7.
    {
        let mut img = udf_sane();
        let mut ads = Vec::new();
        for _ in 0..8 {
            ads.extend_from_slice(&short_ad(0x3FFF_F800, 0xFFFF_FFFF));
        }
        img.put(base + 8, 0, &file_entry(FT_FILE, i64::MAX as u64, AD_SHORT, &ads, 8));
        img.put(base + 9, 0, &file_entry(FT_FILE, 100, AD_SHORT, &short_ad(0xC000_0000 | 8, 9), 9));
        img.put(base + 10, 0, &file_entry(FT_FILE, 100, AD_LONG, &long_ad(100, 4, 7), 10));
        img.put(base + 11, 0, &file_entry(FT_FILE, 100, AD_SHORT, &short_ad(100, 0), 11));
        put_fe_field(&mut img, 11, 168, &0xFFFF_FFF0u32.to_le_bytes());
        img.put(base + 12, 0, &file_entry(FT_FILE, 100, AD_SHORT, &short_ad(100, 0), 12));
        put_fe_field(&mut img, 12, 172, &u32::MAX.to_le_bytes());
        img.put(base + 13, 0, &file_entry(FT_FILE, u64::MAX, AD_SHORT, &short_ad(0x3FFF_F800, 1_000_000), 13));
        let names = [("huge", 8), ("adloop", 9), ("badpref", 10), ("ealen", 11), ("adlen", 12), ("past", 13)];
        let mut fids = fid(FID_DIR | FID_PARENT, &[], long_ad(SECTOR as u32, 2, 0), 3);
        fids.extend_from_slice(&fid(0, &d8("hello.txt"), long_ad(SECTOR as u32, 4, 0), 3));
        for (n, b) in names {
            fids.extend_from_slice(&fid(0, &d8(n), long_ad(SECTOR as u32, b, 0), 3));
        }
        img.put(base + 3, 0, &fids);
        put_fe_field(&mut img, 2, 56, &(fids.len() as u64).to_le_bytes());
        put_fe_field(&mut img, 2, 176, &short_ad(fids.len() as u32, 3));
        w.image("udf-ad-overflow", "allocation descriptor lengths that overflow, sizes near 2^63", "/huge", &img)?;
    }

    // Partition references out of range: the FSD's root ICB in partition 0xFFFF, the LVD claims 0xFFFFFFFF maps
    // with a map table length past the descriptor, and the LVD's FSD location is in partition 9.
    {
        let mut img = udf_sane();
        for vds in [UDF_VDS, UDF_VDS + 16] {
            let at = (vds + 3) as usize * SECTOR;
            let mut lvd = img.0[at..at + 446].to_vec();
            lvd[248..264].copy_from_slice(&long_ad(SECTOR as u32, 0, 9));
            lvd[264..268].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
            lvd[268..272].copy_from_slice(&u32::MAX.to_le_bytes());
            tag(&mut lvd, 6, vds + 3);
            img.put(vds + 3, 0, &lvd);
        }
        w.image("udf-partition-ref-out-of-range", "partition references out of range (LVD)", "/hello.txt", &img)?;
        let mut img = udf_sane();
        let at = base as usize * SECTOR;
        let mut fsd = img.0[at..at + 512].to_vec();
        fsd[400..416].copy_from_slice(&long_ad(SECTOR as u32, 2, 0xFFFF));
        tag(&mut fsd, 256, 0);
        img.put(base, 0, &fsd);
        w.image("udf-fsd-partition-ref", "partition reference out of range (root ICB)", "/hello.txt", &img)?;
    }

    // A VAT that points at itself (UDF 2.01 2.2.11): the virtual partition's VAT File Entry is the last sector;
    // every VAT entry maps to the VAT's own block, its previous-VAT pointer names itself, and its header length
    // is 0xFFFF.
    {
        let total = udf_total();
        let vat_block = total - 1 - base;
        let mut img = udf_base(total + 1, UDF_PART_LEN + 1, Maps::Virtual);
        let mut vat = vec![0u8; 152];
        vat[0..2].copy_from_slice(&0xFFFFu16.to_le_bytes());
        vat[4..132].copy_from_slice(&dstring("HOSTILE", 128));
        vat[132..136].copy_from_slice(&vat_block.to_le_bytes());
        for _ in 0..64 {
            vat.extend_from_slice(&vat_block.to_le_bytes());
        }
        let mut fe = file_entry(248, vat.len() as u64, AD_EMBEDDED, &vat, vat_block);
        fe[16 + 11] = 248;
        tag(&mut fe, 261, vat_block);
        // The VAT is the last sector (where a reader looks for it); the anchor at the end gives way to it.
        img.0.truncate(total as usize * SECTOR);
        img.put(base + vat_block, 0, &fe);
        w.image("udf-vat-self", "VAT pointing at itself", "/hello.txt", &img)?;
        // The 1.50 form: a VAT with its entries in a short_ad extent that is the VAT's own File Entry.
        let mut img = udf_base(total + 1, UDF_PART_LEN + 1, Maps::Virtual);
        let fe = file_entry(0, 0xFFFF_FFFF, AD_SHORT, &short_ad(0x3FFF_F800, vat_block), vat_block);
        img.0.truncate(total as usize * SECTOR);
        img.put(base + vat_block, 0, &fe);
        w.image("udf-vat150-self", "UDF 1.50 VAT whose data is itself", "/hello.txt", &img)?;
    }

    // Sparing tables that remap into themselves: the sparable partition's tables at partition blocks 64 and 96
    // (absolute), each mapping the packet holding the table to the table itself, plus 0xFFFF entries claimed
    // in a one-block table and a mapped location of 0xFFFFFFF0.
    {
        let (t1, t2) = (base + 64, base + 96);
        let mut img = udf_base(udf_total(), UDF_PART_LEN, Maps::Sparable(t1, t2));
        udf_dir(&mut img, base, 2, 3, 2, &[("hello.txt", false, 4)]);
        udf_file(&mut img, base, 4, HELLO);
        for (at, claimed) in [(t1, 4u16), (t2, 0xFFFF)] {
            let mut st = vec![0u8; 56];
            st[16..48].copy_from_slice(&regid("*UDF Sparing Table", &UDF_SUFFIX));
            st[48..50].copy_from_slice(&claimed.to_le_bytes());
            st[52..56].copy_from_slice(&1u32.to_le_bytes());
            for (orig, mapped) in [(64u32, at), (96, at), (0, at), (2, 0xFFFF_FFF0)] {
                st.extend_from_slice(&orig.to_le_bytes());
                st.extend_from_slice(&mapped.to_le_bytes());
            }
            tag(&mut st, 0, at);
            img.put(at, 0, &st);
        }
        w.image("udf-sparing-self", "sparing tables remapping into themselves", "/hello.txt", &img)?;
    }

    // Metadata partition whose metadata file's extent lies in the metadata partition itself (a long_ad with
    // partition reference 1) and whose mirror is an extent continuation pointing at itself.
    {
        let mut img = udf_base(udf_total(), UDF_PART_LEN, Maps::Metadata(40, 41));
        let mut main = file_entry(250, 64 * SECTOR as u64, AD_LONG, &long_ad(64 * SECTOR as u32, 0, 1), 40);
        main[16 + 11] = 250;
        tag(&mut main, 261, 40);
        img.put(base + 40, 0, &main);
        let mut mirror = file_entry(251, 64 * SECTOR as u64, AD_SHORT, &short_ad(0xC000_0000 | 8, 41), 41);
        mirror[16 + 11] = 251;
        tag(&mut mirror, 261, 41);
        img.put(base + 41, 0, &mirror);
        w.image("udf-metadata-self", "metadata partition mapped through itself", "/hello.txt", &img)?;
    }

    // Bad checksums and CRCs: the anchor at 256 (tag checksum), the main VDS's LVD (CRC), the root FE (tag
    // location), a FID's CRC; the reserve VDS is intact, the end anchor too.
    {
        let mut img = udf_sane();
        img.0[256 * SECTOR + 4] ^= 0xFF;
        img.0[(UDF_VDS + 3) as usize * SECTOR + 100] ^= 0xFF;
        let root = (base + 2) as usize * SECTOR;
        img.0[root + 12] ^= 0x01;
        let fids = (base + 3) as usize * SECTOR;
        img.0[fids + 40 + 20] ^= 0xFF;
        w.image("udf-bad-checksums", "bad checksums", "/hello.txt", &img)?;
    }

    // Volume descriptor sequence loops: a Volume Descriptor Pointer (3/10.3) at the end of the main VDS pointing
    // at the start of the VDS, the reserve VDS extent length 0xFFFFFFFF, and an LVID whose next extent is itself.
    {
        let mut img = udf_sane();
        let mut vdp = vec![0u8; 512];
        vdp[16..20].copy_from_slice(&9u32.to_le_bytes());
        vdp[20..28].copy_from_slice(&extent_ad(16 * SECTOR as u32, UDF_VDS));
        tag(&mut vdp, 3, UDF_VDS + 5);
        img.put(UDF_VDS + 5, 0, &vec![0u8; SECTOR]);
        img.put(UDF_VDS + 5, 0, &vdp);
        for at in [256, udf_total() - 1] {
            let mut avdp = img.0[at as usize * SECTOR..at as usize * SECTOR + 512].to_vec();
            avdp[24..32].copy_from_slice(&extent_ad(u32::MAX, UDF_VDS + 16));
            tag(&mut avdp, 2, at);
            img.put(at, 0, &avdp);
        }
        let at = 64 * SECTOR;
        let len = 80 + 8 + 46;
        let mut lvid = img.0[at..at + len].to_vec();
        lvid[32..40].copy_from_slice(&extent_ad(SECTOR as u32, 64));
        tag(&mut lvid, 9, 64);
        img.put(64, 0, &lvid);
        w.image("udf-vds-lvid-loop", "VDS pointer and LVID loops", "/hello.txt", &img)?;
    }

    // Unsafe names: FIDs named "..", ".", "a/b", empty (not a parent), with a NUL, 16-bit compression with an odd
    // byte count, an unknown compression ID; a symlink (4/14.16) to "/etc" and "../../.."; a directory "evil"
    // holding "pwned" and the same "hello.txt" twice.
    {
        let mut img = udf_base(udf_total(), UDF_PART_LEN, Maps::Plain);
        let mut sym_abs = vec![1u8, 0, 0, 0];
        sym_abs.extend_from_slice(&[5, 3, 0, 0, b'e', b't', b'c', 0]);
        let sym_up = [3u8, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 5, 7, 0, 0, b'o', b'u', b't', b's', b'i', b'd', b'e'];
        img.put(base + 8, 0, &file_entry(FT_SYMLINK, sym_abs.len() as u64, AD_EMBEDDED, &sym_abs, 8));
        img.put(base + 9, 0, &file_entry(FT_SYMLINK, sym_up.len() as u64, AD_EMBEDDED, &sym_up, 9));
        udf_file(&mut img, base, 4, HELLO);
        udf_dir(&mut img, base, 10, 11, 2, &[("pwned", false, 4)]);
        let data = 3;
        let mut fids = fid(FID_DIR | FID_PARENT, &[], long_ad(SECTOR as u32, 2, 0), data);
        let raw_names: Vec<(Vec<u8>, u8, u32)> = vec![
            (d8(".."), 0, 4),
            (d8("."), 0, 4),
            (d8("a/b"), 0, 4),
            (vec![], 0, 4),
            (vec![8], 0, 4),
            (d8("nul\0x"), 0, 4),
            (vec![16, 0, b'a', 0], 0, 4),
            (vec![0xFE, b'z'], 0, 4),
            (d8("abs"), 0, 8),
            (d8("up"), 0, 9),
            (d8("evil"), FID_DIR, 10),
            (d8("hello.txt"), 0, 4),
            (d8("hello.txt"), 0, 4),
        ];
        for (n, c, icb) in &raw_names {
            fids.extend_from_slice(&fid(*c, n, long_ad(SECTOR as u32, *icb, 0), data));
        }
        img.put(base + 2, 0, &file_entry(FT_DIR, fids.len() as u64, AD_SHORT, &short_ad(fids.len() as u32, data), 2));
        img.put(base + data, 0, &fids);
        w.image("udf-unsafe-names", "UDF names and symlinks leaving the extraction folder", "/hello.txt", &img)?;
    }

    // 10 000 nested directories, each a File Entry with its FIDs embedded (one block per level).
    {
        const DEPTH: u32 = 10_000;
        let total = UDF_PART + DEPTH + 20;
        let mut img = udf_base(total, DEPTH + 10, Maps::Plain);
        for i in 0..DEPTH {
            let me = 2 + i;
            let parent = if i == 0 { 2 } else { me - 1 };
            let mut fids = fid(FID_DIR | FID_PARENT, &[], long_ad(SECTOR as u32, parent, 0), me);
            if i + 1 < DEPTH {
                fids.extend_from_slice(&fid(FID_DIR, &d8("d"), long_ad(SECTOR as u32, me + 1, 0), me));
            }
            img.put(base + me, 0, &file_entry(FT_DIR, fids.len() as u64, AD_EMBEDDED, &fids, me));
        }
        w.image("udf-deep-10000", "10 000-deep UDF directories", "/d/d/d", &img)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// CUE sheets and CloneCD control files.

fn sheet_cases(w: &mut Writer) -> io::Result<()> {
    let bin = w.dir.join("small.bin");
    let mut raw = vec![0u8; 2352 * 20];
    for s in 0..20 {
        raw[s * 2352 + 1..s * 2352 + 11].fill(0xFF);
    }
    fs::write(&bin, &raw)?;
    let cue = |w: &mut Writer, name: &str, class: &'static str, body: &str| {
        w.text(name, "cue", class, Input::Cue, body.as_bytes()).map(|_| ())
    };
    cue(
        w,
        "cue-missing-file",
        "CUE: missing files",
        "FILE \"nothere.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n",
    )?;
    cue(
        w,
        "cue-overlapping-tracks",
        "CUE: overlapping tracks",
        "FILE \"small.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:10\n  TRACK 02 MODE1/2352\n    INDEX 01 00:00:05\n  TRACK 02 AUDIO\n    INDEX 01 00:00:05\n  TRACK 03 MODE1/2352\n    INDEX 00 00:00:19\n    INDEX 01 00:00:02\n",
    )?;
    cue(
        w,
        "cue-absurd-index",
        "CUE: absurd INDEX values",
        "FILE \"small.bin\" BINARY\n  TRACK 00 MODE1/2352\n    INDEX 01 99:99:99\n  TRACK 255 MODE1/2352\n    INDEX 99 00:00:00\n    INDEX 01 -1:00:00\n    INDEX 01 4294967295:00:00\n    INDEX 01 00:60:75\n  TRACK 1 MODE1/2352\n    INDEX 01 18446744073709551616:00:00\n",
    )?;
    cue(
        w,
        "cue-huge-sizes",
        "CUE: huge sizes",
        "FILE \"small.bin\" BINARY\n  TRACK 01 MODE1/2352\n    PREGAP 99:59:74\n    INDEX 01 00:00:00\n    POSTGAP 99:59:74\n  TRACK 02 MODE2/2352\n    PREGAP 4294967295:00:00\n    INDEX 01 79:59:74\n",
    )?;
    let mut many = String::from("FILE \"small.bin\" BINARY\n");
    for i in 0..100_000 {
        many.push_str(&format!("  TRACK {:02} MODE1/2352\n    INDEX 01 00:00:{:02}\n", i % 100, i % 75));
    }
    cue(w, "cue-100000-tracks", "CUE: huge sizes (track count)", &many)?;
    cue(
        w,
        "cue-dev-zero",
        "CUE: missing files (a FILE that is a device of endless zeros, and a directory)",
        "FILE \"/dev/zero\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\nFILE \"/\" BINARY\n  TRACK 02 MODE1/2352\n    INDEX 01 00:00:00\n",
    )?;
    cue(
        w,
        "cue-self-file",
        "CUE: the sheet names itself as data",
        "FILE \"cue-self-file.cue\" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\n",
    )?;
    let mut garbage = vec![0u8; 0];
    garbage.extend_from_slice(b"FILE \"small.bin\" BINARY\n\xff\xfe\0\0TRACK\n");
    garbage.extend(std::iter::repeat_n(b'A', 1 << 20));
    garbage.extend_from_slice(b"\nINDEX\nTRACK 01\nFILE\nFILE \"\nTRACK 01 MODE9/9999\n");
    w.text("cue-garbage", "cue", "CUE: garbage, a 1 MiB line, NUL and invalid UTF-8", Input::Cue, &garbage)?;

    let ccd = |w: &mut Writer, name: &str, class: &'static str, body: &str, img: bool| -> io::Result<()> {
        w.text(name, "ccd", class, Input::Ccd, body.as_bytes())?;
        if img {
            fs::write(w.dir.join(format!("{name}.img")), &raw)?;
        }
        Ok(())
    };
    ccd(
        w,
        "ccd-missing-img",
        "CCD: missing files",
        "[CloneCD]\nVersion=3\n[Disc]\nTocEntries=4\nSessions=1\n[Entry 0]\nSession=1\nPoint=0xa2\nPLBA=20\n[Entry 1]\nSession=1\nPoint=0x01\nControl=0x04\nPLBA=0\n",
        false,
    )?;
    ccd(
        w,
        "ccd-huge-values",
        "CCD: huge sizes and absurd entries",
        "[CloneCD]\nVersion=3\n[Disc]\nTocEntries=4294967295\nSessions=0\nCDTextLength=4294967295\n[Session 1]\nPreGapMode=9\n[Entry 0]\nSession=255\nPoint=0xa0\nPMin=255\nPLBA=-1\n[Entry 1]\nSession=1\nPoint=0x01\nControl=0x04\nPLBA=2147483647\n[Entry 2]\nSession=1\nPoint=0xa2\nPLBA=-2147483648\n[Entry 99999999999]\nPoint=0x02\n[TRACK 1]\nMODE=1\nINDEX 1=4294967295\n",
        true,
    )?;
    ccd(
        w,
        "ccd-overlapping-tracks",
        "CCD: overlapping tracks",
        "[CloneCD]\nVersion=3\n[Disc]\nTocEntries=5\nSessions=1\n[Entry 0]\nSession=1\nPoint=0xa2\nPLBA=20\n[Entry 1]\nSession=1\nPoint=0x01\nControl=0x04\nPLBA=10\n[Entry 2]\nSession=1\nPoint=0x02\nControl=0x04\nPLBA=5\n[Entry 3]\nSession=1\nPoint=0x01\nControl=0x00\nPLBA=0\n[Entry 4]\nSession=1\nPoint=0x03\nControl=0x04\nPLBA=30\n",
        true,
    )?;
    let mut g = b"[CloneCD]\n\xff\xfe[Disc\n=\n[Entry\nPoint=\n\0\0\0".to_vec();
    g.extend(std::iter::repeat_n(b'[', 1 << 20));
    w.text("ccd-garbage", "ccd", "CCD: garbage", Input::Ccd, &g)?;
    fs::write(w.dir.join("ccd-garbage.img"), &raw[..2352])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// GNU ddrescue mapfiles (`odix rip --map`).

fn map_cases(w: &mut Writer) -> io::Result<()> {
    let map = |w: &mut Writer, name: &str, class: &'static str, body: &[u8]| {
        w.text(name, "map", class, Input::Map, body).map(|_| ())
    };
    map(w, "map-garbage", "rescue map: garbage", b"\xff\xfe\0garbage\n0x0 ? 1\n0x0 0x10 +\n\0\0\n")?;
    map(
        w,
        "map-overlapping",
        "rescue map: overlapping entries",
        b"# Mapfile\n0x00000000 ?\n0x00000000 0x00010000 +\n0x00008000 0x00010000 -\n0x00004000 0x00001000 *\n",
    )?;
    map(
        w,
        "map-huge-positions",
        "rescue map: huge positions",
        b"0x7FFFFFFFFFFFFFFF +\n0x0000000000000000 0x7FFFFFFFFFFFFFFF ?\n0x7FFFFFFFFFFFFFFF 0x8000000000000000 -\n0xFFFFFFFFFFFFFFFF 0x1 +\n",
    )?;
    // Syntactically valid and the size of the contract test's 128 KiB device, so the rip reaches the map
    // logic: a current position far past the end, blocks not aligned to sectors, odd phases.
    map(
        w,
        "map-unaligned",
        "rescue map: positions off sector boundaries, current position past the end",
        b"0x7FFFFFFFFFFFFFFF / 99\n0x0 0x1 +\n0x1 0x7FF -\n0x800 0x801 /\n0x1001 0x1EFFF *\n",
    )?;
    let mut many = b"0x0 ?\n".to_vec();
    for i in 0..300_000u64 {
        many.extend_from_slice(format!("0x{:x} 0x800 {}\n", i * 2048, if i % 2 == 0 { '+' } else { '-' }).as_bytes());
    }
    map(w, "map-300000-entries", "rescue map: huge sizes (entry count)", &many)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_ecma167_example() {
        // ECMA-167 1/7.2.6: the CRC of the bytes 70 6A 77 is 0x3299.
        assert_eq!(crc16(&[0x70, 0x6A, 0x77]), 0x3299);
    }

    #[test]
    fn records_are_even_and_sized() {
        let r = rec(20, 2048, FLAG_DIR, b"ABC", &sp());
        assert_eq!(r[0] as usize, r.len());
        assert_eq!(r.len() % 2, 0);
    }

    #[test]
    fn generates_every_case_once() {
        let dir = std::env::temp_dir().join(format!("odix-hostile-unit-{}", std::process::id()));
        let cases = generate(&dir).expect("generate");
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate case names");
        assert!(cases.iter().all(|c| c.path.is_file()));
        let _ = fs::remove_dir_all(&dir);
    }
}

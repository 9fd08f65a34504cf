//! ECM, CSO/ZSO, Redump's split/merged layout and DAT matching, checked against independent tools and the
//! published format descriptions:
//!
//! - ECM: no reference encoder/decoder installs here (Debian has none, PyPI none, npm's `ecm` 1.0.1 is a native
//!   addon that does not build under current Node), so the tests follow the published description: an ECM file
//!   built by this test (Python, with its own ECMA-130 EDC) is decoded by odix byte for byte, and the structure of
//!   odix's ECM files is parsed by Python and checked against the input (records, stored bytes, final EDC); round
//!   trips are byte for byte.
//! - CSO/ZSO/DAX: maxcso, the reference compressor (its static build from the npm package `maxcso`), writes CSO
//!   v1, v2, ZSO and DAX files odix reads, and decompresses odix's; Python also decodes odix's files by the
//!   published description (zlib for deflate, python3-lz4, the reference LZ4 library, for LZ4) and writes files
//!   with what maxcso never writes (an index shift, padding between blocks); `odix ls`/`extract` of a CSO of a
//!   genisoimage ISO equal bsdtar's extraction of the ISO.
//! - Split/merge: bchunk's tracks of odix's merged BIN/CUE are the split files cut at their INDEX 01; splitting
//!   the merged image gives back the split files byte for byte.
//! - DAT: a DAT written from `sha1sum`, `md5sum` and Python's `zlib.crc32` of the track files is matched; a
//!   changed track is named with what differs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use odix_testdata::oracle::python_with;
use odix_testdata::{compare_trees, require_tool, run, run_ok, script, CompareOptions};

mod common;
use common::{odix, stderr, stdout};

const RAW: usize = 2352;

fn python(py: &Path, script: &str, args: &[&Path]) -> Output {
    run_ok(Command::new(py).arg("-c").arg(script).args(args))
}

/// A folder of a few files (varied, compressible, empty, nested) and its ISO made by genisoimage.
fn iso_fixture(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let g = require_tool("genisoimage")?;
    let src = dir.join("src");
    fs::create_dir_all(src.join("sub/deeper")).unwrap();
    let noisy: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    fs::write(src.join("noisy.bin"), noisy).unwrap();
    fs::write(src.join("text.txt"), b"compressible text\n".repeat(20_000)).unwrap();
    fs::write(src.join("empty"), b"").unwrap();
    fs::write(src.join("sub/deeper/note.txt"), b"deep\n".repeat(1000)).unwrap();
    let iso = dir.join("x.iso");
    run_ok(Command::new(g).args(["-quiet", "-R", "-o"]).arg(&iso).arg(&src));
    Some((src, iso))
}

/// The ISO's files extracted by bsdtar.
fn bsdtar_tree(iso: &Path, out: &Path) -> Option<()> {
    let bsdtar = require_tool("bsdtar")?;
    fs::create_dir_all(out).unwrap();
    run_ok(Command::new(bsdtar).arg("xf").arg(iso).arg("-C").arg(out));
    Some(())
}

/// A raw image: genisoimage's ISO as Mode 1 sectors (odix convert, checked against bchunk elsewhere), then
/// audio-like bytes that are not sectors, then a Mode 1 sector with one byte changed (kept as it is).
fn mixed_bin(dir: &Path, iso: &Path) -> PathBuf {
    let cue = dir.join("m.cue");
    run_ok(odix().arg("convert").arg(iso).arg(&cue));
    let bin = cue.with_extension("bin");
    let mut b = fs::read(&bin).unwrap();
    let first = b[..RAW].to_vec();
    let audio: Vec<u8> = (0..RAW as u32 * 7).map(|i| (i.wrapping_mul(40_503) >> 7) as u8).collect();
    b.extend_from_slice(&audio);
    let mut bad = first;
    bad[500] ^= 0x40;
    b.extend_from_slice(&bad);
    let out = dir.join("mixed.bin");
    fs::write(&out, b).unwrap();
    out
}

#[test]
fn ecm_round_trips_and_follows_the_description() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some((_src, iso)) = iso_fixture(d) else { return };
    let Some(py) = python_with("zlib", "python3") else { return };
    let bin = mixed_bin(d, &iso);
    let ecm = d.join("mixed.bin.ecm");
    run_ok(odix().arg("convert").arg(&bin).arg(&ecm));
    assert!(fs::metadata(&ecm).unwrap().len() < fs::metadata(&bin).unwrap().len());
    let back = d.join("back.bin");
    run_ok(odix().arg("convert").arg(&ecm).arg(&back));
    assert!(fs::read(&back).unwrap() == fs::read(&bin).unwrap(), "ECM round trip differs");

    // odix's ECM parsed by the description: every record's stored bytes are those of the input, Mode 1 records
    // hold the address and user data of 2352-byte sectors, and the final EDC is the input's.
    let check = format!(
        "import sys
sys.path.insert(0, {scripts:?})
from containers import edc
e = open(sys.argv[1], 'rb').read(); src = open(sys.argv[2], 'rb').read()
assert e[:4] == b'ECM\\x00'
p = 4; out = 0; kinds = [0, 0, 0, 0]
while True:
    c = e[p]; p += 1; kind = c & 3; n = (c >> 2) & 0x1F; bits = 5
    while c & 0x80:
        c = e[p]; p += 1; n |= (c & 0x7F) << bits; bits += 7
    if n == 0xFFFFFFFF: break
    n += 1; kinds[kind] += n
    for _ in range(n if kind else 1):
        if kind == 0:
            assert e[p:p + n] == src[out:out + n]; p += n; out += n
        elif kind == 1:
            s = src[out:out + 2352]
            assert s[15] == 1 and e[p:p + 3] == s[12:15] and e[p + 3:p + 2051] == s[16:2064]; p += 2051; out += 2352
        else:
            raise SystemExit('unexpected type %d' % kind)
assert out == len(src), (out, len(src))
assert int.from_bytes(e[p:p + 4], 'little') == edc(src) and p + 4 == len(e)
print(kinds[1])
",
        scripts = script("containers.py").parent().unwrap().display().to_string()
    );
    let o = python(&py, &check, &[&ecm, &bin]);
    let iso_sectors = fs::metadata(&iso).unwrap().len() / 2048;
    assert_eq!(stdout(&o).trim(), iso_sectors.to_string(), "every intact Mode 1 sector stripped, the damaged one kept");

    // An ECM file built by the description (type 1 records of 7 sectors, raw records for the rest) decodes to the
    // input byte for byte, and reads as the image it holds.
    let hand = d.join("hand.bin.ecm");
    let limit = (iso_sectors as usize * RAW).to_string();
    run_ok(Command::new(&py).arg(script("containers.py")).arg("ecm").arg(&bin).arg(&hand).arg(limit));
    let back2 = d.join("back2.bin");
    run_ok(odix().arg("convert").arg(&hand).arg(&back2));
    assert!(fs::read(&back2).unwrap() == fs::read(&bin).unwrap(), "the hand-made ECM decodes differently");
    let ls = run_ok(odix().args(["ls", "-R"]).arg(&hand));
    assert!(stdout(&ls).contains("noisy.bin"), "{}", stdout(&ls));
    let cat = run_ok(odix().arg("cat").arg(&hand).arg("/sub/deeper/note.txt"));
    assert_eq!(cat.stdout, b"deep\n".repeat(1000));
    let info = run_ok(odix().arg("info").arg(&hand));
    assert!(stdout(&info).contains("MODE1/2352"), "{}", stdout(&info));
    let v = run(odix().arg("verify").arg(&hand));
    assert!(stdout(&v).contains("Container: an ECM file holding"), "{}", stdout(&v));

    // A CUE sheet whose BIN is kept as BIN.ecm beside it: read through the ECM.
    let only = d.join("only");
    fs::create_dir_all(&only).unwrap();
    fs::copy(d.join("m.cue"), only.join("m.cue")).unwrap();
    run_ok(odix().arg("convert").arg(d.join("m.bin")).arg(only.join("m.bin.ecm")));
    let got = d.join("got");
    run_ok(odix().arg("extract").arg(only.join("m.cue")).arg("-C").arg(&got));
    let want = d.join("want");
    if bsdtar_tree(&iso, &want).is_some() {
        let diffs = compare_trees(&want, &got, &CompareOptions::contents_only());
        assert!(diffs.is_empty(), "{diffs:?}");
    }

    // Corruption: a changed EDC is found, a record claiming more sectors than the file holds is refused.
    let mut e = fs::read(&ecm).unwrap();
    let n = e.len();
    e[n - 2] ^= 1;
    let bad = d.join("bad.bin.ecm");
    fs::write(&bad, &e).unwrap();
    let o = run(odix().arg("convert").arg(&bad).arg(d.join("bad.bin")));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("EDC"), "{}", stderr(&o));
    assert!(!d.join("bad.bin").exists(), "nothing half-written");
    let mut lie = b"ECM\0".to_vec();
    lie.extend_from_slice(&[0xFD, 0xFF, 0x0F]); // type 1, a count of 2^19
    lie.extend_from_slice(&[0u8; 4000]);
    fs::write(&bad, &lie).unwrap();
    let o = run(odix().arg("ls").arg(&bad));
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("claims"), "{}", stderr(&o));
}

/// Decodes a CSO v1/v2 or ZSO by the published description.
const PY_UNCSO: &str = r#"
import sys, struct, zlib
try:
    import lz4.block
except ImportError:
    lz4 = None
f = open(sys.argv[1], 'rb').read()
magic, hsize, total, bs, ver, shift = struct.unpack('<4sIQIBB', f[:22])
n = (total + bs - 1) // bs
idx = struct.unpack('<%dI' % (n + 1), f[24:24 + 4 * (n + 1)])
out = bytearray()
for i in range(n):
    a = (idx[i] & 0x7FFFFFFF) << shift; b = (idx[i + 1] & 0x7FFFFFFF) << shift
    top = idx[i] & 0x80000000; want = min(bs, total - i * bs); data = f[a:b]
    if magic == b'CISO' and ver == 2:
        if b - a >= bs: block = data[:want]
        elif top: block = lz4.block.decompress(data, uncompressed_size=want)
        else: block = zlib.decompressobj(-15).decompress(data)
    elif top: block = data[:want]
    elif magic == b'ZISO': block = lz4.block.decompress(data, uncompressed_size=want)
    else: block = zlib.decompressobj(-15).decompress(data)
    assert len(block) >= want, (i, len(block), want)
    out += block[:want]
open(sys.argv[2], 'wb').write(out)
print(magic.decode(), ver, shift, bs)
"#;

#[test]
fn cso_and_zso_follow_the_description_and_list_as_bsdtar_extracts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some((_src, iso)) = iso_fixture(d) else { return };
    let Some(py) = python_with("lz4.block", "python3-lz4") else { return };
    let iso_bytes = fs::read(&iso).unwrap();
    let want = d.join("bsdtar");
    let Some(()) = bsdtar_tree(&iso, &want) else { return };

    // odix's CSO v1, CSO v2 and ZSO decoded by the description give the ISO back.
    for (name, extra) in [("v1.cso", None), ("v2.cso", Some("--cso-v2")), ("x.zso", None)] {
        let out = d.join(name);
        let mut c = odix();
        c.arg("convert").arg(&iso).arg(&out).args(["--threads", "2"]);
        if let Some(x) = extra {
            c.arg(x);
        }
        run_ok(&mut c);
        assert!(fs::metadata(&out).unwrap().len() < iso_bytes.len() as u64, "{name} is smaller than the ISO");
        let dec = d.join(format!("{name}.iso"));
        let o = python(&py, PY_UNCSO, &[&out, &dec]);
        assert!(fs::read(&dec).unwrap() == iso_bytes, "{name}: decoded by the description, not the ISO");
        let hdr = stdout(&o);
        let expect = match name {
            "v1.cso" => "CISO 1",
            "v2.cso" => "CISO 2",
            _ => "ZISO 1",
        };
        assert!(hdr.starts_with(expect), "{name}: {hdr}");
        // odix reads its own: the files equal bsdtar's extraction of the ISO; back to the ISO byte for byte.
        let got = d.join(format!("{name}.x"));
        run_ok(odix().arg("extract").arg(&out).arg("-C").arg(&got));
        let diffs = compare_trees(&want, &got, &CompareOptions::contents_only());
        assert!(diffs.is_empty(), "{name}: {diffs:?}");
        let back = d.join(format!("{name}.back.iso"));
        run_ok(odix().arg("convert").arg(&out).arg(&back));
        assert!(fs::read(&back).unwrap() == iso_bytes, "{name}: convert back differs");
    }

    // CSO and ZSO written by the description (index shift 2, padding, uncompressed blocks) read by odix.
    for kind in ["cso", "zso"] {
        let hand = d.join(format!("hand.{kind}"));
        run_ok(
            Command::new(&py).arg(script("containers.py")).args(["cso"]).arg(&iso).arg(&hand).args([kind, "2", "5"]),
        );
        let ls = run_ok(odix().args(["ls", "-R"]).arg(&hand));
        let names = stdout(&ls);
        assert!(names.contains("noisy.bin") && names.contains("note.txt"), "{names}");
        let got = d.join(format!("hand-{kind}"));
        run_ok(odix().arg("extract").arg(&hand).arg("-C").arg(&got));
        let diffs = compare_trees(&want, &got, &CompareOptions::contents_only());
        assert!(diffs.is_empty(), "{kind}: {diffs:?}");
        let cat = run_ok(odix().arg("cat").arg(&hand).arg("/sub/deeper/note.txt"));
        assert_eq!(cat.stdout, b"deep\n".repeat(1000));
        let v = run(odix().arg("verify").arg(&hand));
        assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
    }

    // Hostile: an index entry going back, one past the end, a block expanding past the block size.
    let good = fs::read(d.join("hand.cso")).unwrap();
    let mut back = good.clone();
    back[24 + 4 * 3..24 + 4 * 4].copy_from_slice(&[0, 0, 0, 0]);
    let bad = d.join("bad.cso");
    fs::write(&bad, &back).unwrap();
    let o = run(odix().arg("ls").arg(&bad));
    assert!(stderr(&o).contains("index entry 3"), "{}", stderr(&o));
    let mut past = good.clone();
    past[24..28].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
    fs::write(&bad, &past).unwrap();
    let o = run(odix().arg("ls").arg(&bad));
    assert!(stderr(&o).contains("index entry"), "{}", stderr(&o));
    let bomb = r#"
import sys, struct, zlib
z = zlib.compressobj(9, zlib.DEFLATED, -15); c = z.compress(b'\x00' * 65536) + z.flush()
body = struct.pack('<4sIQIBBxx', b'CISO', 24, 2048, 2048, 1, 0) + struct.pack('<2I', 32, 32 + len(c)) + c
open(sys.argv[1], 'wb').write(body)
"#;
    python(&py, bomb, &[&bad]);
    let o = run(odix().arg("convert").arg(&bad).arg(d.join("bomb.iso")));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("expands past the block size"), "{}", stderr(&o));
}

/// maxcso, the reference compressor: its CSO v1, CSO v2 (with LZ4 blocks among the deflate ones), ZSO and DAX
/// files, in blocks of 2048 and of 16384 bytes (the last block then partly past the image's end), read by odix as
/// the ISO byte for byte, listed and verified; odix's CSO v1, CSO v2 and ZSO decompressed by maxcso give the ISO.
#[test]
fn maxcso_and_odix_read_each_others_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some((_src, iso)) = iso_fixture(d) else { return };
    let Some(maxcso) = odix_testdata::maxcso() else { return };
    let iso_bytes = fs::read(&iso).unwrap();
    assert_ne!(iso_bytes.len() % 16384, 0, "the ISO should end inside a 16 KiB block");
    let cases: [(&str, &[&str]); 7] = [
        ("v1.cso", &["--format=cso1"]),
        ("v1-16k.cso", &["--format=cso1", "--block=16384"]),
        ("v2.cso", &["--format=cso2", "--use-lz4", "--lz4-cost=5"]),
        ("v2-16k.cso", &["--format=cso2", "--block=16384"]),
        ("x.zso", &["--format=zso"]),
        ("x-16k.zso", &["--format=zso", "--block=16384"]),
        ("x.dax", &["--format=dax"]),
    ];
    for (name, args) in cases {
        let out = d.join(name);
        run_ok(Command::new(&maxcso).arg("--quiet").args(args).arg(&iso).arg("-o").arg(&out));
        let back = d.join(format!("{name}.iso"));
        run_ok(odix().arg("convert").arg(&out).arg(&back));
        assert!(fs::read(&back).unwrap() == iso_bytes, "{name}: odix's reading is not the ISO");
        let ls = stdout(&run_ok(odix().args(["ls", "-R"]).arg(&out)));
        assert!(ls.contains("noisy.bin") && ls.contains("note.txt"), "{name}: {ls}");
        let v = run(odix().arg("verify").arg(&out));
        assert_eq!(v.status.code(), Some(0), "{name}: {}{}", stdout(&v), stderr(&v));
    }
    // The CSO v2 really mixes the codecs: among the blocks stored compressed (shorter than a block), some have
    // the top bit (LZ4), some not (deflate).
    let v2 = fs::read(d.join("v2.cso")).unwrap();
    let entry = |i: usize| u32::from_le_bytes(v2[24 + 4 * i..28 + 4 * i].try_into().unwrap());
    let blocks = iso_bytes.len().div_ceil(2048);
    let compressed: Vec<bool> = (0..blocks)
        .filter(|&i| (entry(i + 1) & 0x7FFF_FFFF) - (entry(i) & 0x7FFF_FFFF) < 2048)
        .map(|i| entry(i) & 0x8000_0000 != 0)
        .collect();
    let lz4 = compressed.iter().filter(|&&l| l).count();
    assert!(lz4 > 0 && lz4 < compressed.len(), "{lz4} of {} compressed blocks LZ4", compressed.len());

    for (name, extra) in [("o1.cso", None), ("o2.cso", Some("--cso-v2")), ("o.zso", None)] {
        let out = d.join(name);
        let mut c = odix();
        c.arg("convert").arg(&iso).arg(&out);
        if let Some(x) = extra {
            c.arg(x);
        }
        run_ok(&mut c);
        let dec = d.join(format!("{name}.dec.iso"));
        run_ok(Command::new(&maxcso).args(["--quiet", "--decompress"]).arg(&out).arg("-o").arg(&dec));
        assert!(fs::read(&dec).unwrap() == iso_bytes, "{name}: maxcso's decompression is not the ISO");
    }
}

/// Writes a Redump-style disc: a Mode 1 data track (genisoimage's ISO through odix convert), two audio tracks
/// with stored pregaps (INDEX 00) at the start of their files. Returns the sheet.
fn redump_disc(d: &Path, iso: &Path) -> PathBuf {
    let tmpcue = d.join("data.cue");
    run_ok(odix().arg("convert").arg(iso).arg(&tmpcue));
    let split = d.join("split");
    fs::create_dir_all(&split).unwrap();
    fs::rename(tmpcue.with_extension("bin"), split.join("Game (Track 1).bin")).unwrap();
    for (n, sectors) in [(2u32, 300usize), (3, 225)] {
        let audio: Vec<u8> =
            (0..(sectors * RAW) as u32).map(|i| (i.wrapping_mul(2_246_822_519 + n) >> 13) as u8).collect();
        fs::write(split.join(format!("Game (Track {n}).bin")), audio).unwrap();
    }
    let cue = split.join("Game.cue");
    fs::write(
        &cue,
        "FILE \"Game (Track 1).bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n\
         FILE \"Game (Track 2).bin\" BINARY\n  TRACK 02 AUDIO\n    INDEX 00 00:00:00\n    INDEX 01 00:02:00\n\
         FILE \"Game (Track 3).bin\" BINARY\n  TRACK 03 AUDIO\n    INDEX 00 00:00:00\n    INDEX 01 00:01:00\n",
    )
    .unwrap();
    cue
}

#[test]
fn merge_agrees_with_bchunk_and_split_gives_the_files_back() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some((_src, iso)) = iso_fixture(d) else { return };
    let Some(bchunk) = require_tool("bchunk") else { return };
    let cue = redump_disc(d, &iso);
    let split = cue.parent().unwrap().to_path_buf();
    let files: Vec<Vec<u8>> = (1..=3).map(|n| fs::read(split.join(format!("Game (Track {n}).bin"))).unwrap()).collect();

    let m = d.join("merged");
    fs::create_dir_all(&m).unwrap();
    let o = run_ok(odix().arg("convert").arg(&cue).arg(m.join("Game.cue")).arg("--merge"));
    assert!(stderr(&o).contains("3 tracks in one BIN"), "{}", stderr(&o));
    let merged = fs::read(m.join("Game.bin")).unwrap();
    assert!(merged == files.concat(), "the merged BIN is the files one after the other");

    // bchunk cuts the merged BIN at the INDEX times of odix's sheet, each track from its INDEX 01 to the next
    // track's INDEX 00: those must fall where they are in the split files (track 2's INDEX 01 after its
    // 150-sector pregap, track 3's INDEX 00 at the start of its file and its INDEX 01 75 sectors later).
    run_ok(Command::new(&bchunk).current_dir(&m).args(["Game.bin", "Game.cue", "bc"]));
    let idx0_3 = files[0].len() + files[1].len();
    let idx1 = [0, files[0].len() + 150 * RAW, idx0_3 + 75 * RAW];
    let a2 = fs::read(m.join("bc02.cdr")).unwrap();
    let a3 = fs::read(m.join("bc03.cdr")).unwrap();
    assert!(a3 == merged[idx1[2]..], "bchunk's track 3 starts at its INDEX 01");
    assert_eq!(a2.len(), idx0_3 - idx1[1], "bchunk's track 2 runs from its INDEX 01 to track 3's INDEX 00");
    assert!(a2 == merged[idx1[1]..idx0_3], "bchunk's track 2");
    let iso_bytes = fs::read(&iso).unwrap();
    let data = fs::read(m.join("bc01.iso")).unwrap();
    assert!(data.starts_with(&iso_bytes), "bchunk's track 1 holds the ISO");

    // Splitting the merged image gives back the split files, under Redump's names, and a sheet odix reads as
    // the original.
    let s = d.join("resplit");
    fs::create_dir_all(&s).unwrap();
    run_ok(odix().arg("convert").arg(m.join("Game.cue")).arg(s.join("Game.cue")).arg("--split"));
    for (n, f) in files.iter().enumerate() {
        let got = fs::read(s.join(format!("Game (Track {}).bin", n + 1))).unwrap();
        assert!(&got == f, "track {} differs after split", n + 1);
    }
    let info = |c: &Path| {
        let o = run_ok(odix().arg("info").arg(c));
        stdout(&o)
            .lines()
            .filter(|l| l.contains("audio") || l.contains("data"))
            .map(|l| l.split_whitespace().take(7).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    assert_eq!(info(&s.join("Game.cue")), info(&cue));
    // bchunk on one of the split files with its own one-file sheet agrees too.
    let one = s.join("t3.cue");
    fs::write(&one, "FILE \"Game (Track 3).bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n").unwrap();
    run_ok(Command::new(&bchunk).current_dir(&s).args(["Game (Track 3).bin", "t3.cue", "t"]));
    assert!(fs::read(s.join("t01.cdr")).unwrap() == files[2]);
}

/// `sha1sum`/`md5sum` of a file (the first word of their output).
fn digest(tool: &Path, f: &Path) -> String {
    stdout(&run_ok(Command::new(tool).arg(f))).split_whitespace().next().unwrap().to_string()
}

/// A Redump-style disc ([`redump_disc`]) and the tools that hash its files for a DAT.
struct DatFixture {
    cue: PathBuf,
    split: PathBuf,
    py: PathBuf,
    md5sum: PathBuf,
    sha1sum: PathBuf,
}

fn dat_fixture(d: &Path) -> Option<DatFixture> {
    let (_src, iso) = iso_fixture(d)?;
    let (sha1sum, md5sum) = (require_tool("sha1sum")?, require_tool("md5sum")?);
    let py = python_with("zlib", "python3")?;
    let cue = redump_disc(d, &iso);
    let split = cue.parent().unwrap().to_path_buf();
    Some(DatFixture { cue, split, py, md5sum, sha1sum })
}

/// A DAT's `<rom>` line for the file `f`: its size, Python's `zlib.crc32`, md5sum's and sha1sum's hashes.
fn rom_line(py: &Path, md5sum: &Path, sha1sum: &Path, f: &Path) -> String {
    let crc = stdout(&python(py, "import sys,zlib;print('%08x' % zlib.crc32(open(sys.argv[1],'rb').read()))", &[f]));
    format!(
        "\t\t<rom name=\"{}\" size=\"{}\" crc=\"{}\" md5=\"{}\" sha1=\"{}\"/>\n",
        f.file_name().unwrap().to_str().unwrap(),
        fs::metadata(f).unwrap().len(),
        crc.trim(),
        digest(md5sum, f),
        digest(sha1sum, f)
    )
}

/// A dump as redumper writes one when the disc has data in its lead-in and lead-out: `Game (Track 0).bin` and
/// `Game (Track A).bin` beside the tracks, named by the DAT, not by the sheet. `verify --match-dat` matches the
/// tracks and compares those files too: a changed one fails naming it, a missing one is said and not counted.
#[test]
fn dat_checks_the_lead_in_and_lead_out_files_beside_the_sheet() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some(DatFixture { cue, split, py, md5sum, sha1sum }) = dat_fixture(d) else { return };
    let lead_in = split.join("Game (Track 0).bin");
    let lead_out = split.join("Game (Track A).bin");
    fs::write(&lead_in, (0..RAW as u32 * 12).map(|i| (i.wrapping_mul(7919) >> 5) as u8).collect::<Vec<u8>>()).unwrap();
    fs::write(&lead_out, (0..RAW as u32 * 3).map(|i| (i.wrapping_mul(104_729) >> 9) as u8).collect::<Vec<u8>>())
        .unwrap();
    let mut roms = rom_line(&py, &md5sum, &sha1sum, &lead_in);
    for n in 1..=3 {
        roms += &rom_line(&py, &md5sum, &sha1sum, &split.join(format!("Game (Track {n}).bin")));
    }
    roms += &rom_line(&py, &md5sum, &sha1sum, &lead_out);
    let dat = d.join("redump.dat");
    fs::write(&dat, format!("<datafile>\n\t<game name=\"Game (USA)\">\n{roms}\t</game>\n</datafile>\n")).unwrap();
    let verify = || run(odix().arg("verify").arg(&cue).arg("--match-dat").arg(&dat).arg("--no-hashes"));

    let o = verify();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("DAT: matches \"Game (USA)\" (3 track(s)"), "{out}");
    assert!(out.contains("Game (Track 0).bin: matches") && out.contains("Game (Track A).bin: matches"), "{out}");

    let good = fs::read(&lead_out).unwrap();
    let mut bad = good.clone();
    bad[100] ^= 1;
    fs::write(&lead_out, &bad).unwrap();
    let o = verify();
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Game (Track A).bin: differs: crc32"), "{}", stdout(&o));

    fs::write(&lead_out, &good).unwrap();
    fs::remove_file(&lead_in).unwrap();
    let o = verify();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Game (Track 0).bin: lead-in/lead-out file of the DAT, not beside the sheet"));
}

#[test]
fn dat_names_the_game_or_the_track_that_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some(DatFixture { cue, split, py, md5sum, sha1sum }) = dat_fixture(d) else { return };
    let mut roms = String::new();
    for n in 1..=3 {
        roms += &rom_line(&py, &md5sum, &sha1sum, &split.join(format!("Game (Track {n}).bin")));
    }
    // The sheet, as Redump lists it: size and CRC-32 only.
    let cue_crc =
        stdout(&python(&py, "import sys,zlib;print('%08x' % zlib.crc32(open(sys.argv[1],'rb').read()))", &[&cue]));
    let cue_rom =
        format!("<rom name=\"Game.cue\" size=\"{}\" crc=\"{}\"/>", fs::metadata(&cue).unwrap().len(), cue_crc.trim());
    let dat = d.join("redump.dat");
    let write_dat = |roms: &str| {
        fs::write(
            &dat,
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE datafile PUBLIC \"-//Logiqx//DTD ROM Management Datafile//EN\" \
                 \"http://www.logiqx.com/dats/datafile.dtd\">\n<datafile>\n\t<header>\n\t\t<name>Test - Discs</name>\n\
                 \t</header>\n\t<game name=\"Another Game\">\n\t\t<rom name=\"Another Game.bin\" size=\"2352\" \
                 crc=\"01234567\"/>\n\t</game>\n\t<game name=\"Game (Europe)\">\n\t\t<category>Games</category>\n\
                 \t\t<description>Game (Europe)</description>\n\t\t{cue_rom}\n{roms}\t</game>\n</datafile>\n"
            ),
        )
        .unwrap();
    };
    write_dat(&roms);
    // Split and merged: the same tracks, the same game.
    let m = d.join("merged");
    fs::create_dir_all(&m).unwrap();
    run_ok(odix().arg("convert").arg(&cue).arg(m.join("Game.cue")).arg("--merge"));
    for (c, sheet) in [(cue.clone(), "sheet: matches Game.cue"), (m.join("Game.cue"), "sheet: differs from Game.cue")] {
        let o = run(odix().arg("verify").arg(&c).arg("--match-dat").arg(&dat).arg("--no-hashes"));
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("DAT: matches \"Game (Europe)\" (3 track(s)"), "{}", stdout(&o));
        assert!(stdout(&o).contains(sheet), "{}", stdout(&o));
    }
    // A DAT whose track 2 has another SHA-1 and size: that track is named, with both values.
    let sha2 = digest(&sha1sum, &split.join("Game (Track 2).bin"));
    let size2 = fs::metadata(split.join("Game (Track 2).bin")).unwrap().len();
    write_dat(&roms.replace(&sha2, &"0".repeat(40)).replace(&format!("size=\"{size2}\""), "size=\"12\""));
    let o = run(odix().arg("verify").arg(m.join("Game.cue")).arg("--match-dat").arg(&dat).arg("--json"));
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let details = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "dat").unwrap()["details"].to_string();
    assert!(details.contains("track 02: differs from Game (Track 2).bin"), "{details}");
    assert!(details.contains(&format!("sha1 {sha2}")) && details.contains(&format!("size {size2} bytes")), "{details}");
    assert!(details.contains("track 01: matches") && details.contains("track 03: matches"), "{details}");
    // A DAT with an absurd size is refused with its reason.
    fs::write(&dat, "<datafile><game name=\"g\"><rom name=\"a.bin\" size=\"1e99\"/></game></datafile>").unwrap();
    let o = run(odix().arg("verify").arg(&cue).arg("--match-dat").arg(&dat));
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("is not a number of bytes"), "{}", stderr(&o));
}

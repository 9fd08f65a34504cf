//! MAME CHD versions 3 and 4 (what chdman wrote before 2012) read by odix as chdman reads them. No tool here writes
//! those versions, so the test writes them itself (the Python script below, following MAME's published description
//! of the v3/v4 header, map and metadata), has `chdman verify` accept each and `chdman extractcd` give back the
//! source BIN, and only then compares odix's reading with chdman's: the CUE and BIN of `odix convert`, the track
//! SHA-1s of `odix verify --json`, the files of the data track, and a rewrite as version 5. Damaged maps are
//! refused in one line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::{compressible, require_tool, run, run_ok};

mod common;
use common::{cue_tracks, odix, stderr, stdout};

/// Writes a CD CHD of version 3 (`CHTR` metadata) or 4 (`CHT2`): one Deflate codec, hunks of whole frames, an
/// earlier identical hunk stored as a copy, an all-zero one as an 8-byte "mini" hunk, one hunk uncompressed.
/// Prints how many map entries of types 1 (Deflate), 2 (uncompressed), 3 (mini) and 4 (copy) it wrote.
const MKOLD: &str = r#"# Writes a CHD of version 3 or 4 holding a CD, as chdman did before version 5.
# usage: mkold.py VERSION HUNK_FRAMES OUT UNCOMPRESSED_HUNK TYPE=BIN=PREGAP ...
import hashlib, struct, sys, zlib

version, hunk_frames, out, plain = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
frames, meta = bytearray(), []
for n, spec in enumerate(sys.argv[5:], 1):
    kind, path, pregap = spec.split("=")
    data = open(path, "rb").read()
    count = len(data) // 2352
    for i in range(count):
        s = data[i * 2352:(i + 1) * 2352]
        if kind == "AUDIO":  # samples are stored big-endian
            s = bytes(b for k in range(0, 2352, 2) for b in (s[k + 1], s[k]))
        frames += s + bytes(96)
    frames += bytes(2448 * (-count % 4))  # each track padded to a multiple of 4 frames
    pregap = int(pregap)
    if version == 3:
        text = "TRACK:%d TYPE:%s SUBTYPE:NONE FRAMES:%d" % (n, kind, count)
        meta.append((b"CHTR", text))
    else:
        pgtype = ("V" + kind) if pregap else "MODE1"
        text = "TRACK:%d TYPE:%s SUBTYPE:NONE FRAMES:%d PREGAP:%d PGTYPE:%s PGSUB:NONE POSTGAP:0" % (
            n, kind, count, pregap, pgtype)
        meta.append((b"CHT2", text))
hunk = 2448 * hunk_frames
frames += bytes(-len(frames) % hunk)
hunks = len(frames) // hunk
logical = len(frames)
header_len = 120 if version == 3 else 108
map_end = header_len + 16 * (hunks + 1)

# Metadata entries right after the map: tag, flags (1: hashed), 24-bit length, next offset.
blob, at = bytearray(), map_end
for i, (tag, text) in enumerate(meta):
    value = text.encode() + b"\0"
    nxt = at + 16 + len(value) if i + 1 < len(meta) else 0
    blob += tag + struct.pack(">I", (1 << 24) | len(value)) + struct.pack(">Q", nxt) + value
    at += 16 + len(value)

# Hunks: an earlier identical hunk is copied, an all-zero one is a "mini" hunk (its 8 bytes repeated),
# hunk PLAIN is stored uncompressed, every other is raw Deflate.
entries, data, seen, at = [], bytearray(), {}, map_end + len(blob)
for i in range(hunks):
    h = bytes(frames[i * hunk:(i + 1) * hunk])
    crc = zlib.crc32(h)
    if h in seen:
        entries.append((seen[h], crc, 0, 4))
        continue
    if h == bytes(hunk):
        entries.append((0, crc, 0, 3))
    elif i == plain:
        entries.append((at + len(data), crc, hunk, 2))
        data += h
    else:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        z = c.compress(h) + c.flush()
        entries.append((at + len(data), crc, len(z), 1))
        data += z
    seen[h] = i

raw_sha1 = hashlib.sha1(frames).digest()
if version == 3:
    head = struct.pack(">8sIIIII QQ 16s16s I 20s20s", b"MComprHD", 120, 3, 0, 2, hunks, logical, map_end,
                       hashlib.md5(frames).digest(), bytes(16), hunk, raw_sha1, bytes(20))
else:
    # Each hashed entry counts as its tag and the SHA-1 of its value, in sorted order.
    hashed = sorted(tag + hashlib.sha1(text.encode() + b"\0").digest() for tag, text in meta)
    sha1 = hashlib.sha1(raw_sha1 + b"".join(hashed)).digest()
    head = struct.pack(">8sIIIII QQ I 20s20s20s", b"MComprHD", 108, 4, 0, 2, hunks, logical, map_end,
                       hunk, sha1, bytes(20), raw_sha1)
assert len(head) == header_len
m = b"".join(struct.pack(">QIHBB", off, crc, ln & 0xffff, ln >> 16, kind) for off, crc, ln, kind in entries)
print(" ".join("%d:%d" % (k, sum(e[3] == k for e in entries)) for k in (1, 2, 3, 4)))
with open(out, "wb") as f:
    f.write(head + m + b"EndOfListCookie\0" + blob + data)
"#;

/// The tools the tests need: chdman (Debian's mame-tools), python3, genisoimage.
fn tools() -> Option<(PathBuf, PathBuf, PathBuf)> {
    Some((require_tool("chdman")?, require_tool("python3")?, require_tool("genisoimage")?))
}

/// The source of the data track: a folder of a few files, as an ISO image made by genisoimage, then as raw Mode 1
/// sectors by `odix convert` (checked against bchunk and chdman in raw_images.rs).
fn data_track(gen: &Path, dir: &Path) -> (PathBuf, Vec<u8>) {
    let src = dir.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("big.bin"), compressible(300_000, 1)).unwrap();
    fs::write(src.join("hello.txt"), b"hello old chd\n").unwrap();
    fs::write(src.join("sub/note.txt"), b"note\n".repeat(700)).unwrap();
    let iso = dir.join("data.iso");
    run_ok(Command::new(gen).args(["-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&src));
    let cue = dir.join("mode1.cue");
    run_ok(odix().arg("convert").arg(&iso).arg(&cue));
    (src, fs::read(dir.join("mode1.bin")).unwrap())
}

/// Writes the CHD with [`MKOLD`]; returns what it printed.
fn mkold(
    python: &Path,
    dir: &Path,
    version: u32,
    hunk_frames: u32,
    out: &Path,
    tracks: &[(&str, &Path, u32)],
) -> String {
    let script = dir.join("mkold.py");
    fs::write(&script, MKOLD).unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(&script).arg(version.to_string()).arg(hunk_frames.to_string()).arg(out).arg("1");
    for (kind, bin, pregap) in tracks {
        cmd.arg(format!("{kind}={}={pregap}", bin.display()));
    }
    stdout(&run_ok(&mut cmd)).trim().to_string()
}

/// SHA-1 of `bytes`, by Python's hashlib.
fn sha1(python: &Path, dir: &Path, bytes: &[u8]) -> String {
    let f = dir.join("hash.in");
    fs::write(&f, bytes).unwrap();
    let o = run_ok(
        Command::new(python)
            .args(["-c", "import hashlib,sys; print(hashlib.sha1(open(sys.argv[1],'rb').read()).hexdigest())"])
            .arg(&f),
    );
    stdout(&o).trim().to_string()
}

/// A mixed-mode disc as a version 3 and a version 4 CHD: a data track, an audio track (with a stored pregap in
/// version 4, whose `CHT2` metadata can say so) whose length is not a multiple of 4 frames, and a silent one.
#[test]
fn old_cds_are_read_as_chdman_reads_them() {
    let Some((chdman, python, gen)) = tools() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (src, data) = data_track(&gen, dir);
    let (t1, t2, t3) = (dir.join("t1.bin"), dir.join("t2.bin"), dir.join("t3.bin"));
    fs::write(&t1, &data).unwrap();
    let audio = compressible(2352 * 203, 5);
    fs::write(&t2, &audio).unwrap();
    fs::write(&t3, vec![0u8; 2352 * 80]).unwrap();
    let mut whole = data.clone();
    whole.extend(&audio);
    whole.extend(vec![0u8; 2352 * 80]);
    let sectors = [data.len() / 2352, 203, 80];

    for (version, hunk_frames, pregap) in [(3, 4, 0), (4, 8, 75)] {
        let chd = dir.join(format!("v{version}.chd"));
        let kinds = mkold(
            &python,
            dir,
            version,
            hunk_frames,
            &chd,
            &[("MODE1_RAW", &t1, 0), ("AUDIO", &t2, pregap), ("AUDIO", &t3, 0)],
        );
        // Every kind of map entry: Deflate, one uncompressed, one mini, copies.
        let count = |k: &str| kinds.split(' ').find_map(|e| e.strip_prefix(k)).unwrap().parse::<u32>().unwrap();
        assert!(count("1:") > 10 && count("2:") == 1 && count("3:") == 1 && count("4:") > 1, "v{version}: {kinds}");

        // chdman accepts it as its own older version, and gives back the source.
        let info = stdout(&run_ok(Command::new(&chdman).args(["info", "-i"]).arg(&chd)));
        assert!(info.contains(&format!("File Version: {version}")) && info.contains("zlib"), "{info}");
        let v = run_ok(Command::new(&chdman).args(["verify", "-i"]).arg(&chd));
        assert!(stdout(&v).contains("Raw SHA1 verification successful"), "v{version}: {}", stdout(&v));
        let theirs = dir.join(format!("chdman-v{version}.cue"));
        run_ok(Command::new(&chdman).args(["extractcd", "-f", "-i"]).arg(&chd).arg("-o").arg(&theirs));
        let their_bin = fs::read(theirs.with_extension("bin")).unwrap();
        assert!(their_bin == whole, "v{version}: chdman extractcd gives back the source BIN");

        // odix gives the same CUE and BIN.
        let ours = dir.join(format!("odix-v{version}.cue"));
        run_ok(odix().arg("convert").arg(&chd).arg(&ours));
        assert_eq!(cue_tracks(&ours), cue_tracks(&theirs), "v{version}: CUE");
        assert!(fs::read(ours.with_extension("bin")).unwrap() == their_bin, "v{version}: BIN");
        let info = stdout(&run_ok(odix().arg("info").arg(&chd)));
        assert!(info.contains("MAME CHD"), "{info}");

        // Track SHA-1s of `odix verify --json`, against hashlib's of chdman's BIN.
        let o = run(odix().args(["verify", "--json"]).arg(&chd));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let tracks = json["hashes"]["tracks"].as_array().unwrap();
        assert_eq!(tracks.len(), 3);
        let mut at = 0;
        for (t, n) in tracks.iter().zip(sectors) {
            let want = sha1(&python, dir, &their_bin[at * 2352..(at + n) * 2352]);
            assert_eq!(t["sha1"].as_str().unwrap(), want, "v{version}: track {}", t["track"]);
            at += n;
        }

        // The data track's files.
        let ls = stdout(&run_ok(odix().arg("ls").arg("-R").arg(&chd)));
        assert!(ls.contains("hello.txt") && ls.contains("note.txt"), "{ls}");
        let out = dir.join(format!("x{version}"));
        run_ok(odix().arg("extract").arg(&chd).arg("-C").arg(&out));
        for f in ["big.bin", "hello.txt", "sub/note.txt"] {
            assert!(fs::read(out.join(f)).unwrap() == fs::read(src.join(f)).unwrap(), "v{version}: {f}");
        }

        // Rewritten as version 5: chdman verifies it and extracts the same BIN.
        let v5 = dir.join(format!("v{version}-as-v5.chd"));
        run_ok(odix().arg("convert").arg(&chd).arg(&v5));
        run_ok(Command::new(&chdman).args(["verify", "-i"]).arg(&v5));
        let back = dir.join(format!("v5-v{version}.cue"));
        run_ok(Command::new(&chdman).args(["extractcd", "-f", "-i"]).arg(&v5).arg("-o").arg(&back));
        assert_eq!(cue_tracks(&back), cue_tracks(&theirs), "v{version}: CUE of the version 5 rewrite");
        assert!(fs::read(back.with_extension("bin")).unwrap() == their_bin, "v{version}: BIN of the v5 rewrite");
    }
}

/// `odix ls` of `chd` fails at once with one line naming it and saying `what`.
fn refused(chd: &Path, what: &str) {
    let start = std::time::Instant::now();
    let o = run(odix().arg("ls").arg(chd));
    assert!(start.elapsed().as_secs() < 20, "{chd:?} took too long");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{chd:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("odix: {}", chd.display())) && err.contains(what), "{what}: {err}");
}

/// A version 4 CHD whose map or header is damaged: refused in one line before any hunk is read.
#[test]
fn damaged_old_chds_are_refused_in_one_line() {
    let Some((chdman, python, _)) = tools() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (t1, t2) = (dir.join("t1.bin"), dir.join("t2.bin"));
    fs::write(&t1, compressible(2352 * 40, 1)).unwrap();
    fs::write(&t2, vec![0u8; 2352 * 24]).unwrap();
    let good = dir.join("good.chd");
    mkold(&python, dir, 4, 8, &good, &[("MODE1_RAW", &t1, 0), ("AUDIO", &t2, 0)]);
    run_ok(Command::new(&chdman).args(["verify", "-i"]).arg(&good));
    let chd = fs::read(&good).unwrap();
    let entry = |i: usize| 108 + 16 * i;
    let write = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = chd.clone();
        f(&mut b);
        let p = dir.join(name);
        fs::write(&p, b).unwrap();
        p
    };
    // Hunk 0 (Deflate) pointing past the end of the file.
    let len = chd.len() as u64;
    refused(
        &write("outside.chd", &|b| b[entry(0)..entry(0) + 8].copy_from_slice(&(len + 100).to_be_bytes())),
        "outside the file",
    );
    // Hunk 0 claiming more bytes than a hunk.
    refused(
        &write("long.chd", &|b| b[entry(0) + 12..entry(0) + 15].copy_from_slice(&[0x4c, 0x81, 0x00])),
        "compressed to 19585 bytes",
    );
    // Hunk 1 (stored uncompressed by the script) shorter than a hunk.
    refused(
        &write("short.chd", &|b| b[entry(1) + 12..entry(1) + 15].copy_from_slice(&[0x10, 0x00, 0x00])),
        "not a whole hunk",
    );
    // Hunk 2 a copy of itself.
    refused(
        &write("self.chd", &|b| {
            b[entry(2)..entry(2) + 8].copy_from_slice(&2u64.to_be_bytes());
            b[entry(2) + 15] = 4;
        }),
        "not an earlier stored hunk",
    );
    // A parent named in the header.
    refused(&write("child.chd", &|b| b[68..88].copy_from_slice(&[0xcd; 20])), &format!("SHA-1 {}", "cd".repeat(20)));
    // Metadata pointing back at itself.
    let meta = u64::from_be_bytes(chd[36..44].try_into().unwrap()) as usize;
    refused(&write("loop.chd", &|b| b[meta + 8..meta + 16].copy_from_slice(&(meta as u64).to_be_bytes())), "loops");
    // Trillions of hunks.
    refused(&write("huge.chd", &|b| b[24..28].copy_from_slice(&u32::MAX.to_be_bytes())), "CHD hunks");
}

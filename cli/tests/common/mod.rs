//! Helpers the command-line tests share: running odix, reading its output, and the genisoimage-made fixture of
//! the raw-format tests (its ISO as raw sectors, the tracks and hashes odix reports). Each test file uses some of
//! them.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use odix_cdrip::sector::encode_mode1;
use odix_testdata::{require_tool, run, run_ok};

/// The odix binary of this build.
pub fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The lines of a CUE sheet but its FILE lines: the tracks, indexes and flags, to compare two sheets whose files
/// are named differently.
pub fn cue_tracks(cue: &Path) -> String {
    fs::read_to_string(cue)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("FILE"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A small source tree and its ISO image made by genisoimage.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub src: PathBuf,
    pub iso: Vec<u8>,
    pub iso_path: PathBuf,
    pub geniso: PathBuf,
}

/// The fixture: a text file, a file of 150,000 varied bytes and 40,000 zeros in a subfolder, an empty file.
pub fn fixture() -> Option<Fixture> {
    let geniso = require_tool("genisoimage")?;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let src = dir.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("hello.txt"), b"hello from another burner\n").unwrap();
    let big: Vec<u8> = (0..150_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    fs::write(src.join("sub/big.bin"), big).unwrap();
    fs::write(src.join("sub/zeros"), vec![0u8; 40_000]).unwrap();
    fs::write(src.join("empty"), b"").unwrap();
    let iso_path = dir.join("x.iso");
    run_ok(Command::new(&geniso).args(["-quiet", "-R", "-o"]).arg(&iso_path).arg(&src));
    let iso = fs::read(&iso_path).unwrap();
    Some(Fixture { _tmp: tmp, dir, src, iso, iso_path, geniso })
}

impl Fixture {
    /// A second ISO of one small file, made to sit at `lba` (`-C 0,lba`), appended to `prev` when given (`-M`).
    pub fn iso_at(&self, name: &str, lba: i64, prev: Option<&Path>) -> Vec<u8> {
        let src = self.dir.join(format!("{name}-src"));
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join(format!("{name}.txt")), format!("{name} at {lba}\n")).unwrap();
        let out = self.dir.join(format!("{name}.iso"));
        let mut c = Command::new(&self.geniso);
        c.args(["-quiet", "-R", "-C", &format!("0,{lba}")]);
        if let Some(p) = prev {
            c.arg("-M").arg(p);
        }
        run_ok(c.arg("-o").arg(&out).arg(&src));
        fs::read(out).unwrap()
    }
}

/// The 2048-byte sectors of an ISO image.
pub fn sectors(iso: &[u8]) -> i64 {
    (iso.len() / 2048) as i64
}

/// `iso` as raw Mode 1 sectors from `lba` on, each followed by `sub` zero bytes of subchannel.
pub fn mode1(iso: &[u8], lba: i64, sub: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, s) in iso.chunks(2048).enumerate() {
        out.extend_from_slice(&encode_mode1(lba + i as i64, s.try_into().unwrap()).unwrap());
        out.resize(out.len() + sub, 0);
    }
    out
}

/// `odix info --json`: (number, session, start LBA, mode) of every track, and the whole answer.
pub fn tracks(img: &Path) -> (Vec<(u64, u64, i64, String)>, serde_json::Value) {
    let o = run_ok(odix().args(["info", "--json"]).arg(img));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = v["tracks"]["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["number"].as_u64().unwrap(),
                t["session"].as_u64().unwrap(),
                t["start_lba"].as_i64().unwrap(),
                t["mode"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (t, v)
}

/// `odix verify --json`: the image's SHA-1 and each track's.
pub fn verify_sha1s(img: &Path) -> (String, Vec<String>) {
    let o = run(odix().args(["verify", "--json"]).arg(img));
    assert_eq!(o.status.code(), Some(0), "{}: {}{}", img.display(), stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let h = &v["hashes"];
    let tracks = h["tracks"]
        .as_array()
        .map_or(Vec::new(), |t| t.iter().map(|t| t["sha1"].as_str().unwrap().to_string()).collect());
    (h["image"]["sha1"].as_str().unwrap().to_string(), tracks)
}

/// One sector's 96 subchannel bytes with its channels one after the other (CloneCD's `.sub`: 12 bytes of P,
/// 12 of Q, ... W) from its raw form (each byte one bit of every channel, P in bit 7), by their definitions.
pub fn packed(raw: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 96];
    for ch in 0..8 {
        for byte in 0..12 {
            out[ch * 12 + byte] = (0..8).fold(0u8, |acc, bit| (acc << 1) | ((raw[byte * 8 + bit] >> (7 - ch)) & 1));
        }
    }
    out
}

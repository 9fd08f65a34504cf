//! Reading ISO 9660 images that other tools wrote: xorriso, genisoimage, pycdlib, and images shipped by
//! Debian packages. Each test builds its image at run time from the tricky test tree and checks what
//! `odix ls --json`, `odix cat` and `odix extract` give against the source tree or another reader
//! (isoinfo, bsdtar, xorriso's own reports). Hostile images are made by patching real ones.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use odix_testdata::{compare_trees, require_tool, run, run_ok, tricky_tree, CompareOptions, TreeOptions};
use serde_json::Value;

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Makes the tricky tree in `dir/src` and returns that path.
fn source(dir: &Path, opts: &TreeOptions) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    tricky_tree(&src, opts).unwrap();
    src
}

fn ls_json(img: &Path, extra: &[&str]) -> Vec<Value> {
    let out = run_ok(odix().arg("ls").arg(img).args(["-R", "--json"]).args(extra));
    let v: Value = serde_json::from_slice(&out.stdout).expect("ls --json prints JSON");
    v.as_array().expect("an array").clone()
}

fn by_path(list: &[Value]) -> BTreeMap<String, Value> {
    list.iter().map(|e| (e["path"].as_str().unwrap().to_string(), e.clone())).collect()
}

/// Checks `odix ls -R --json` against the source tree: every entry present with its type, size and symlink
/// target, and (when asked) its permission bits and file mtime; nothing extra.
fn check_listing(src: &Path, list: &[Value], modes: bool, mtimes: bool, ignore: &[&str]) {
    let got = by_path(list);
    let mut expected = BTreeSet::new();
    for e in walkdir::WalkDir::new(src).min_depth(1) {
        let e = e.unwrap();
        let rel = format!("/{}", e.path().strip_prefix(src).unwrap().to_str().unwrap());
        if ignore.iter().any(|i| rel == *i || rel.starts_with(&format!("{i}/"))) {
            continue;
        }
        expected.insert(rel.clone());
        let m = fs::symlink_metadata(e.path()).unwrap();
        let Some(j) = got.get(&rel) else { panic!("{rel} missing from the listing") };
        let ty = if m.is_dir() {
            "dir"
        } else if m.file_type().is_symlink() {
            "symlink"
        } else {
            "file"
        };
        assert_eq!(j["type"], ty, "{rel}: type");
        if ty == "file" {
            assert_eq!(j["size"], m.len(), "{rel}: size");
        }
        if ty == "symlink" {
            let t = fs::read_link(e.path()).unwrap();
            assert_eq!(j["target"].as_str(), t.to_str(), "{rel}: target");
        }
        if modes {
            assert_eq!(j["mode"].as_u64().map(|m| m & 0o7777), Some(u64::from(m.mode() & 0o7777)), "{rel}: mode");
        }
        if mtimes && ty == "file" {
            let t = chrono::DateTime::parse_from_rfc3339(j["mtime"].as_str().unwrap()).unwrap();
            assert_eq!(t.timestamp(), m.mtime(), "{rel}: mtime");
        }
    }
    let extra: Vec<&String> =
        got.keys().filter(|k| !expected.contains(*k)).filter(|k| !ignore.contains(&k.as_str())).collect();
    assert!(extra.is_empty(), "entries not in the source: {extra:?}");
}

fn extract(img: &Path, out: &Path, extra: &[&str]) -> Output {
    run(odix().arg("extract").arg(img).arg("-C").arg(out).args(extra))
}

fn assert_same(src: &Path, out: &Path, opts: &CompareOptions) {
    let diffs = compare_trees(src, out, opts);
    assert!(diffs.is_empty(), "extracted tree differs:\n{}", diffs.join("\n"));
}

#[test]
fn xorriso_rock_ridge_joliet_level3() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = source(d.path(), &TreeOptions { non_bmp: true, ..TreeOptions::default() });
    let img = d.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-J", "-iso-level", "3", "-o"]).arg(&img).arg(&src));

    // Rock Ridge (the default view): everything, with modes, mtimes, symlinks and hard links.
    let list = ls_json(&img, &[]);
    check_listing(&src, &list, true, true, &[]);
    let by = by_path(&list);
    assert_eq!(by["/hard_a.txt"]["nlink"], 2);
    let out = d.path().join("rr");
    let o = extract(&img, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&src, &out, &CompareOptions { dir_mtimes: true, ..CompareOptions::default() });
    // Files written on the reading thread alone, and by four writer threads.
    for jobs in ["1", "4"] {
        let out = d.path().join(format!("rr-j{jobs}"));
        let o = extract(&img, &out, &["-j", jobs]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_same(&src, &out, &CompareOptions { dir_mtimes: true, ..CompareOptions::default() });
    }

    // Joliet: no symlinks, names cut at 64 characters, no hard links; contents otherwise equal.
    let long =
        ["/long_name_long_name_long_name_long_name_long_name_long_name_long_name_long_name_long_name_long_name_.txt"];
    let l200 = format!("/{}.dat", "L".repeat(196));
    let out = d.path().join("joliet");
    let o = extract(&img, &out, &["--view", "joliet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut ignore: Vec<String> = long.iter().map(|s| s[1..].to_string()).collect();
    ignore.push(l200[1..].to_string());
    let names: Vec<String> =
        fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().any(|n| n.starts_with("long_name_") && n.chars().count() < 100), "{names:?}");
    // UCS-2 has no room for the emoji either.
    ignore.push("emoji_😀.txt".into());
    // Paths longer than 240 characters are left out of Joliet.
    ignore.push(format!("longpath/component_0_{x}/component_1_{x}", x = "x".repeat(50)));
    ignore.extend(
        names
            .iter()
            .filter(|n| n.starts_with("long_name_") || n.starts_with("LLLL") || n.starts_with("emoji_"))
            .cloned(),
    );
    assert_same(&src, &out, &CompareOptions { ignore, ..CompareOptions::contents_only() });

    // Plain ISO 9660 names agree with isoinfo's.
    if let Some(isoinfo) = require_tool("isoinfo") {
        let iso_paths = isoinfo_paths(&isoinfo, &img);
        let ours: BTreeSet<String> =
            ls_json(&img, &["--view", "iso9660"]).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
        assert_eq!(ours, iso_paths);
    }
}

/// `isoinfo -f` paths with versions and trailing dots stripped, as the plain view shows them.
fn isoinfo_paths(isoinfo: &Path, img: &Path) -> BTreeSet<String> {
    isoinfo_raw_paths(isoinfo, img).into_keys().collect()
}

/// `isoinfo -f` paths: stripped as the plain view shows them, and as isoinfo wants them for `-x`.
fn isoinfo_raw_paths(isoinfo: &Path, img: &Path) -> BTreeMap<String, String> {
    let o = run_ok(Command::new(isoinfo).arg("-i").arg(img).arg("-f"));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|raw| {
            let l = raw.split(';').next().unwrap();
            let l = l.strip_suffix('.').unwrap_or(l);
            (l.to_string(), raw.to_string())
        })
        .collect()
}

#[test]
fn xorriso_iso9660_1999() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = source(d.path(), &TreeOptions::default());
    let img = d.path().join("e.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-iso-level", "4", "-o"]).arg(&img).arg(&src));
    let info = run_ok(odix().args(["info", "--json"]).arg(&img));
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["iso9660"]["formats"]["iso9660_1999"], true);
    check_listing(&src, &ls_json(&img, &[]), true, true, &[]);
}

#[test]
fn genisoimage_deep_relocation() {
    let Some(gen) = require_tool("genisoimage") else { return };
    let d = tmp();
    let src = source(d.path(), &TreeOptions { long_names: false, ..TreeOptions::default() });
    let img = d.path().join("g.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-J", "-o"]).arg(&img).arg(&src));
    // The relocated directories show at their real place and rr_moved is hidden.
    let list = ls_json(&img, &[]);
    check_listing(&src, &list, true, true, &[]);
    let by = by_path(&list);
    assert!(by.contains_key("/deep/level02/level03/level04/level05/level06/level07/level08/level09/level10"));
    let out = d.path().join("out");
    let o = extract(&img, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&src, &out, &CompareOptions { dir_mtimes: true, ..CompareOptions::default() });
    // The plain view does show rr_moved, as isoinfo does.
    if let Some(isoinfo) = require_tool("isoinfo") {
        let ours: BTreeSet<String> =
            ls_json(&img, &["--view", "iso9660"]).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
        assert_eq!(ours, isoinfo_paths(&isoinfo, &img));
        assert!(ours.contains("/RR_MOVED"));
    }
}

#[test]
fn genisoimage_joliet_only() {
    let Some(gen) = require_tool("genisoimage") else { return };
    let d = tmp();
    let opts = TreeOptions { symlinks: false, deep: false, long_names: false, ..TreeOptions::default() };
    let src = source(d.path(), &opts);
    let img = d.path().join("j.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-J", "-o"]).arg(&img).arg(&src));
    let info = run_ok(odix().args(["info", "--json"]).arg(&img));
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["iso9660"]["formats"]["joliet_level"], 3);
    assert_eq!(info["iso9660"]["formats"]["rock_ridge"], Value::Null);
    let list = ls_json(&img, &[]);
    check_listing(&src, &list, false, false, &[]);
    assert!(list.iter().all(|e| e.get("mode").is_none()));
    let out = d.path().join("out");
    let o = extract(&img, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&src, &out, &CompareOptions::contents_only());
}

#[test]
fn genisoimage_plain_level1_matches_isoinfo() {
    let (Some(gen), Some(isoinfo)) = (require_tool("genisoimage"), require_tool("isoinfo")) else { return };
    let d = tmp();
    let src = source(d.path(), &TreeOptions::plain());
    let img = d.path().join("p.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-o"]).arg(&img).arg(&src));
    let list = ls_json(&img, &[]);
    let ours: BTreeSet<String> = list.iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(ours, isoinfo_paths(&isoinfo, &img));
    let info = run_ok(odix().args(["info", "--json"]).arg(&img));
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["iso9660"]["formats"]["iso9660_level"], 1);
    // Every file's contents equal isoinfo's extraction of it.
    let raw = isoinfo_raw_paths(&isoinfo, &img);
    for e in list.iter().filter(|e| e["type"] == "file") {
        let p = e["path"].as_str().unwrap();
        let theirs = run_ok(Command::new(&isoinfo).arg("-i").arg(&img).arg("-x").arg(&raw[p]));
        let mine = run_ok(odix().arg("cat").arg(&img).arg(p));
        assert_eq!(mine.stdout, theirs.stdout, "{p}");
        assert_eq!(e["size"], theirs.stdout.len(), "{p}");
    }
}

#[test]
fn pycdlib_rock_ridge_joliet() {
    let Some(py) = require_tool("pycdlib-genisoimage") else { return };
    let d = tmp();
    // pycdlib 1.x fails on hard links and on names differing only in case, and leaves symlinks out.
    let opts = TreeOptions {
        symlinks: false,
        hardlinks: false,
        long_names: false,
        colliding_names: false,
        ..TreeOptions::default()
    };
    let src = source(d.path(), &opts);
    let img = d.path().join("py.iso");
    run_ok(Command::new(&py).args(["-R", "-J", "-o"]).arg(&img).arg(&src));
    // pycdlib records the time of writing, not the files' times, and modes of its own.
    let list = ls_json(&img, &[]);
    check_listing(&src, &list, false, false, &[]);
    assert!(list.iter().all(|e| e["mode"].is_u64()), "Rock Ridge modes are shown");
    let out = d.path().join("out");
    let o = extract(&img, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&src, &out, &CompareOptions::contents_only());
    let out = d.path().join("joliet");
    assert!(extract(&img, &out, &["--view", "joliet"]).status.success());
    assert_same(&src, &out, &CompareOptions::contents_only());
}

#[test]
fn xorriso_zisofs() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = source(d.path(), &TreeOptions::default());
    fs::write(src.join("compressible.txt"), "odix zisofs ".repeat(50_000)).unwrap();
    let img = d.path().join("z.iso");
    odix_testdata::oracle::xorriso_zisofs(&xorriso, &src, &img);
    let info = run_ok(odix().args(["info", "--json"]).arg(&img));
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["iso9660"]["formats"]["zisofs"], true);
    let list = ls_json(&img, &[]);
    check_listing(&src, &list, true, true, &[]);
    let by = by_path(&list);
    let c = &by["/compressible.txt"];
    let stored: u64 = c["extents"].as_array().unwrap().iter().map(|x| x["length"].as_u64().unwrap()).sum();
    assert!(stored < c["size"].as_u64().unwrap() / 10, "stored {stored} bytes: not compressed?");
    let out = d.path().join("out");
    let o = extract(&img, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&src, &out, &CompareOptions::default());
}

/// Files whose zisofs blocks are worth checking: text that compresses, a run of zeros (stored as holes) with a
/// tail, and random bytes that xorriso leaves uncompressed.
fn zisofs_files(src: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let mut x = 0x9e37_79b9_u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let words = ["odix ", "zisofs ", "block ", "pointer\n"];
    let text: Vec<u8> = (0..400_000).flat_map(|_| words[(next() % 4) as usize].bytes()).collect();
    let mut zeros = vec![0u8; 300_000];
    zeros.extend(b"tail".repeat(1000));
    let random: Vec<u8> = (0..300_001).map(|_| (next() >> 24) as u8).collect();
    let files = vec![("words.txt", text), ("zeros.bin", zeros), ("random.bin", random)];
    for (name, data) in &files {
        fs::write(src.join(name), data).unwrap();
    }
    files
}

/// `xorriso` with every file zisofs-filtered under `settings` (`-zisofs` parameters).
fn xorriso_zisofs_image(xorriso: &Path, src: &Path, img: &Path, settings: &str) {
    run_ok(Command::new(xorriso).arg("-outdev").arg(img).args(["-zisofs", settings, "-map"]).arg(src).args([
        "/",
        "-set_filter_r",
        "--zisofs",
        "/",
        "--",
    ]));
}

fn fuse_available() -> bool {
    let ok = Path::new("/dev/fuse").exists() && require_tool("fusermount3").is_some();
    assert!(ok || !odix_testdata::oracle::in_ci(), "/dev/fuse or fusermount3 missing in CI");
    ok
}

/// `Image::read_file_at` at offsets around block and file ends gives the bytes of the source file and of
/// `odix cat`, in zisofs, zisofs2 (ZF and Z2 entries, 32 KiB to 1 MiB blocks) and uncompressed files; and
/// `odix mount` (which reads through it) gives them to `pread` at offsets taken backwards.
#[test]
fn random_access_in_zisofs_and_zisofs2_files() {
    use std::os::unix::fs::FileExt;
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    let files = zisofs_files(&src);
    let fuse = fuse_available();
    for (k, settings) in [
        "level=9:block_size=32k",
        "level=9:version_2=on:susp_z2=off",
        "level=9:version_2=on:susp_z2=on:block_size_v2=1m",
    ]
    .iter()
    .enumerate()
    {
        let img = d.path().join(format!("z{k}.iso"));
        xorriso_zisofs_image(&xorriso, &src, &img, settings);
        let mut iso =
            odix_iso9660::Image::open(fs::File::open(&img).unwrap(), odix_iso9660::Options::default()).expect("opens");
        let root = iso.root(odix_iso9660::View::RockRidge).unwrap();
        let list = iso.read_dir(&root).unwrap();
        for (name, data) in &files {
            let e = list.iter().find(|e| e.name() == *name).unwrap();
            assert_eq!(e.size(), data.len() as u64, "{settings} {name}");
            if *name != "random.bin" {
                assert!(e.is_zisofs(), "{settings} {name}: not compressed");
            }
            let cat = run_ok(odix().arg("cat").arg(&img).arg(format!("/{name}")));
            assert!(cat.stdout == *data, "{settings} {name}: odix cat differs from the source");
            let len = data.len();
            for bs in [1usize << 15, 1 << 17, 1 << 20] {
                for off in [0, 1, bs - 1, bs, bs + 1, 3 * bs + 17, len - 1, len, len + 5] {
                    for n in [1usize, 4096, 131_072, 300_000] {
                        let mut buf = vec![0x55u8; n];
                        let got = iso.read_file_at(e, off as u64, &mut buf).unwrap();
                        let want = cat.stdout.get(off..).map_or(0, |r| r.len().min(n));
                        assert_eq!(got, want, "{settings} {name} at {off}, {n} bytes");
                        assert!(
                            buf[..got] == *data.get(off..off + got).unwrap_or_default(),
                            "{settings} {name} at {off}, {n} bytes"
                        );
                    }
                }
            }
        }
        if fuse && k == 2 {
            let mnt = tmp();
            run_ok(odix().arg("mount").arg(&img).arg(mnt.path()));
            let mut bad = Vec::new();
            for (name, data) in &files {
                let f = fs::File::open(mnt.path().join(name)).unwrap();
                for off in (0..data.len()).rev().step_by(77_777) {
                    let mut buf = vec![0u8; 10_000];
                    let n = f.read_at(&mut buf, off as u64).unwrap();
                    if buf[..n] != data[off..(off + 10_000).min(data.len())] {
                        bad.push(format!("{name} at {off}"));
                    }
                }
            }
            let _ = Command::new("fusermount3").arg("-u").arg(mnt.path()).output();
            assert!(bad.is_empty(), "mounted reads differ: {bad:?}");
        }
    }
}

/// zisofs2 as xorriso writes it (ZF version 2 or Z2 entries, 128 KiB and 1 MiB blocks): listed and extracted
/// exactly, with the compressed files really stored compressed.
#[test]
fn xorriso_zisofs2() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = source(d.path(), &TreeOptions::default());
    zisofs_files(&src);
    for (k, settings) in ["level=9:version_2=on", "level=6:version_2=on:susp_z2=on:block_size_v2=1m"].iter().enumerate()
    {
        let img = d.path().join(format!("z2-{k}.iso"));
        xorriso_zisofs_image(&xorriso, &src, &img, settings);
        let raw = fs::read(&img).unwrap();
        assert!(
            raw.windows(8).any(|w| w == [0xEF, 0x22, 0x55, 0xA1, 0xBC, 0x1B, 0x95, 0xA0]),
            "{settings}: no zisofs2"
        );
        let list = ls_json(&img, &[]);
        check_listing(&src, &list, true, true, &[]);
        let c = &by_path(&list)["/words.txt"];
        let stored: u64 = c["extents"].as_array().unwrap().iter().map(|x| x["length"].as_u64().unwrap()).sum();
        assert!(stored < c["size"].as_u64().unwrap() / 3, "{settings}: stored {stored} bytes: not compressed?");
        let out = d.path().join(format!("out{k}"));
        let o = extract(&img, &out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stderr.is_empty(), "{settings}: {}", String::from_utf8_lossy(&o.stderr));
        assert_same(&src, &out, &CompareOptions::default());
    }
}

/// The ISO 9660:1999 tree (`--view iso9660-1999`) of xorriso and genisoimage `-iso-level 4` images: long
/// names in their own case without versions, contents equal to the source.
#[test]
fn iso9660_1999_view() {
    let d = tmp();
    let opts = TreeOptions { symlinks: false, ..TreeOptions::default() };
    let src = source(d.path(), &opts);
    for tool in ["xorriso", "genisoimage"] {
        let Some(path) = require_tool(tool) else { continue };
        let img = d.path().join(format!("{tool}.iso"));
        let mut cmd = Command::new(&path);
        if tool == "xorriso" {
            cmd.args(["-as", "mkisofs"]);
        }
        run_ok(cmd.args(["-quiet", "-iso-level", "4", "-o"]).arg(&img).arg(&src));
        let list = ls_json(&img, &["--view", "iso9660-1999"]);
        check_listing(&src, &list, false, false, &[]);
        let out = d.path().join(format!("{tool}-out"));
        let o = extract(&img, &out, &["--view", "iso9660-1999"]);
        assert!(o.status.success(), "{tool}: {}", String::from_utf8_lossy(&o.stderr));
        assert_same(&src, &out, &CompareOptions::contents_only());
        // The plain view of the same image still shows the recorded names.
        let plain: BTreeSet<String> =
            ls_json(&img, &["--view", "iso9660"]).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
        let ours: BTreeSet<String> = list.iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
        assert_eq!(plain.len(), ours.len(), "{tool}: both trees hold every entry");
    }
    // An image without the enhanced descriptor refuses the view.
    if let Some(xorriso) = require_tool("xorriso") {
        let img = d.path().join("plain.iso");
        run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-o"]).arg(&img).arg(&src));
        let o = run(odix().arg("ls").arg(&img).args(["--view", "iso9660-1999"]));
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("ISO 9660:1999"));
    }
}

/// Parses `xorriso -report_el_torito plain` into (catalog LBA, entries as
/// `[index, platform, bootable, emulation, load segment, system type, sector count, lba]`, paths by index).
fn xorriso_el_torito(xorriso: &Path, img: &Path) -> (u64, Vec<Vec<String>>, BTreeMap<u64, String>) {
    let o = run_ok(Command::new(xorriso).arg("-indev").arg(img).args(["-report_el_torito", "plain"]));
    let mut cat = 0;
    let mut entries = Vec::new();
    let mut paths = BTreeMap::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let Some((k, v)) = line.split_once(" : ") else { continue };
        let f: Vec<String> = v.split_whitespace().map(str::to_string).collect();
        match k.trim() {
            "El Torito catalog" => cat = f[0].parse().unwrap(),
            "El Torito boot img" => entries.push(f),
            "El Torito img path" => {
                paths.insert(f[0].parse().unwrap(), f[1].clone());
            }
            _ => {}
        }
    }
    (cat, entries, paths)
}

fn check_real_image(img: &str) {
    let img = Path::new(img);
    if !img.exists() {
        assert!(std::env::var("CI").is_err(), "{} is missing in CI: ./setup.sh must install it", img.display());
        eprintln!("skipping: {} is not installed", img.display());
        return;
    }
    let (Some(bsdtar), Some(xorriso)) = (require_tool("bsdtar"), require_tool("xorriso")) else { return };
    let d = tmp();
    let theirs = d.path().join("bsdtar");
    fs::create_dir(&theirs).unwrap();
    run_ok(Command::new(&bsdtar).arg("xf").arg(img).arg("-C").arg(&theirs));
    let mine_dir = d.path().join("odix");
    let o = extract(img, &mine_dir, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&theirs, &mine_dir, &CompareOptions { symlinks: true, ..CompareOptions::contents_only() });

    let info = run_ok(odix().args(["info", "--json"]).arg(img));
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    let et = &info["el_torito"];
    let (cat, entries, paths) = xorriso_el_torito(&xorriso, img);
    assert_eq!(et["catalog_lba"], cat);
    let ours = et["entries"].as_array().unwrap();
    assert_eq!(ours.len(), entries.len());
    for (e, x) in ours.iter().zip(&entries) {
        let mine = vec![
            e["index"].to_string(),
            e["platform"].as_str().unwrap().to_string(),
            if e["bootable"] == true { "y".into() } else { "n".into() },
            e["emulation"].as_str().unwrap().to_string(),
            format!("0x{:04x}", e["load_segment"].as_u64().unwrap()),
            format!("0x{:02x}", e["system_type"].as_u64().unwrap()),
            e["sector_count"].to_string(),
            e["lba"].to_string(),
        ];
        assert_eq!(&mine, x);
        let idx = e["index"].as_u64().unwrap();
        assert_eq!(e["path"].as_str(), paths.get(&idx).map(String::as_str), "entry {idx}: path");
    }

    // The MBR partitions xorriso reports.
    let o = run_ok(Command::new(&xorriso).arg("-indev").arg(img).args(["-report_system_area", "plain"]));
    let theirs: Vec<Vec<String>> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("MBR partition      :"))
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .collect();
    let mine: Vec<Vec<String>> = info["system_area"]["mbr"]["partitions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    vec![
                        p["index"].to_string(),
                        format!("0x{:02x}", p["status"].as_u64().unwrap()),
                        format!("0x{:02x}", p["type"].as_u64().unwrap()),
                        p["start"].to_string(),
                        p["sectors"].to_string(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(mine, theirs);

    // extract --boot writes the catalog and every image.
    let boot = d.path().join("boot");
    let o = run_ok(odix().arg("extract").arg(img).arg("--boot").arg(&boot));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), 1 + ours.len(), "{text}");
    let mut data = Vec::new();
    fs::File::open(img).unwrap().read_to_end(&mut data).unwrap();
    for (i, e) in ours.iter().enumerate() {
        let name = format!(
            "boot-{}-{}-{}.img",
            i + 1,
            e["platform"].as_str().unwrap().to_lowercase(),
            e["emulation"].as_str().unwrap().replace('.', "")
        );
        let got = fs::read(boot.join(&name)).unwrap();
        assert_eq!(got.len() as u64, e["image_bytes"].as_u64().unwrap(), "{name}");
        let start = e["lba"].as_u64().unwrap() as usize * 2048;
        assert_eq!(&data[start..start + got.len()], &got[..], "{name}");
        if let Some(p) = e["path"].as_str() {
            assert_eq!(got, fs::read(mine_dir.join(&p[1..])).unwrap(), "{name} is {p}");
        }
    }
}

#[test]
fn real_image_ipxe() {
    check_real_image("/usr/lib/ipxe/ipxe.iso");
}

#[test]
fn real_image_memtest() {
    check_real_image("/usr/lib/memtest86+/memtest86+x64.iso");
}

#[test]
fn real_image_grub_rescue() {
    check_real_image("/usr/lib/grub-rescue/grub-rescue-cdrom.iso");
}

#[test]
fn multi_session_with_previous_session_merged() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let (s1, s2) = (d.path().join("s1"), d.path().join("s2"));
    fs::create_dir(&s1).unwrap();
    fs::create_dir(&s2).unwrap();
    fs::write(s1.join("first.txt"), "session one\n".repeat(1000)).unwrap();
    fs::write(s2.join("second.txt"), "session two\n").unwrap();
    let (i1, i2) = (d.path().join("1.iso"), d.path().join("2.iso"));
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&i1).arg(&s1));
    let nwa = fs::metadata(&i1).unwrap().len().div_ceil(2048).div_ceil(16) * 16;
    run_ok(
        Command::new(&xorriso)
            .args(["-as", "mkisofs", "-R", "-C", &format!("0,{nwa}"), "-M"])
            .arg(&i1)
            .arg("-o")
            .arg(&i2)
            .arg(&s2),
    );
    let disc = d.path().join("disc.iso");
    let mut bytes = fs::read(&i1).unwrap();
    bytes.resize(nwa as usize * 2048, 0);
    bytes.extend(fs::read(&i2).unwrap());
    fs::write(&disc, bytes).unwrap();

    let first: Vec<String> = ls_json(&disc, &[]).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(first, ["/first.txt"]);
    let off = nwa.to_string();
    let second: BTreeSet<String> =
        ls_json(&disc, &["--offset", &off]).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(second, BTreeSet::from(["/first.txt".to_string(), "/second.txt".to_string()]));
    // The first session's file, read through the second session's tree (absolute LBAs).
    let o = run_ok(odix().args(["cat", "--offset", &off]).arg(&disc).arg("/first.txt"));
    assert_eq!(o.stdout, fs::read(s1.join("first.txt")).unwrap());
    let info = run_ok(odix().args(["info", "--json", "--offset", &off]).arg(&disc));
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["iso9660"]["session_start"], nwa);
}

#[test]
fn multi_session_xorriso_dev_commits() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let img = d.path().join("ms.iso");
    let a = d.path().join("a.txt");
    let b = d.path().join("b.txt");
    fs::write(&a, "a\n").unwrap();
    fs::write(&b, "b\n").unwrap();
    run_ok(Command::new(&xorriso).arg("-dev").arg(&img).arg("-map").arg(&a).args(["/a.txt", "-commit"]));
    run_ok(Command::new(&xorriso).arg("-dev").arg(&img).arg("-map").arg(&b).args(["/b.txt", "-commit"]));
    // xorriso on a regular file keeps LBA 16 pointing at the newest session.
    let paths: BTreeSet<String> = ls_json(&img, &[]).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(paths, BTreeSet::from(["/a.txt".to_string(), "/b.txt".to_string()]));
    // And the newest session's own descriptors, at its start + 16, say the same.
    let toc = run_ok(Command::new(&xorriso).arg("-indev").arg(&img).arg("-toc"));
    let last = String::from_utf8_lossy(&toc.stdout)
        .lines()
        .rfind(|l| l.starts_with("ISO session"))
        .map(|l| l.split(',').nth(1).unwrap().trim().to_string())
        .unwrap();
    let via: BTreeSet<String> =
        ls_json(&img, &["--offset", &last]).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(via, paths);
    assert_eq!(run_ok(odix().arg("cat").arg(&img).arg("/a.txt")).stdout, b"a\n");
}

#[test]
fn charset_option_decodes_plain_names() {
    let Some(gen) = require_tool("genisoimage") else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("HELLO.TXT"), "x").unwrap();
    let img = d.path().join("c.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-o"]).arg(&img).arg(&src));
    let mut data = fs::read(&img).unwrap();
    let at = data.windows(11).position(|w| w == b"HELLO.TXT;1").unwrap();
    data[at + 1] = 0xC1; // KOI8-R "а", Latin-1 "Á"
    fs::write(&img, &data).unwrap();
    let names = |extra: &[&str]| -> Vec<String> {
        ls_json(&img, extra).iter().map(|e| e["path"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(&[]), ["/H\u{C1}LLO.TXT"]);
    assert_eq!(names(&["--charset", "koi8-r"]), ["/HаLLO.TXT"]);
}

/// Runs odix with a deadline; a hang is a failure.
fn run_bounded(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).ok();
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).ok();
        v
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Output { status, stdout: t1.join().unwrap(), stderr: t2.join().unwrap() };
        }
        if start.elapsed() > Duration::from_secs(secs) {
            child.kill().ok();
            panic!("{cmd:?} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A small Rock Ridge image with a subdirectory, made by xorriso; returns its bytes and the root's LBA.
fn base_image(d: &Path, gen_deep: bool) -> Option<(Vec<u8>, usize)> {
    let src = d.join("hsrc");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("file.txt"), "data\n").unwrap();
    fs::write(src.join("sub").join("inner.txt"), "inner\n").unwrap();
    let img = d.join("base.iso");
    if gen_deep {
        let mut p = src.join("deep");
        for i in 0..10 {
            p = p.join(format!("d{i}"));
        }
        fs::create_dir_all(&p).unwrap();
        let gen = require_tool("genisoimage")?;
        run_ok(Command::new(gen).args(["-quiet", "-R", "-o"]).arg(&img).arg(&src));
    } else {
        let xorriso = require_tool("xorriso")?;
        run_ok(Command::new(xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&img).arg(&src));
    }
    let data = fs::read(&img).unwrap();
    let root = u32::from_le_bytes(data[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap()) as usize;
    Some((data, root))
}

/// Offsets (in `dir`) of the directory records of the sector at `lba`, with their identifiers.
fn records(data: &[u8], lba: usize) -> Vec<(usize, Vec<u8>)> {
    let s = &data[lba * 2048..lba * 2048 + 2048];
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < 2048 && s[pos] != 0 {
        let len = s[pos] as usize;
        let idl = s[pos + 32] as usize;
        out.push((lba * 2048 + pos, s[pos + 33..pos + 33 + idl].to_vec()));
        pos += len;
    }
    out
}

fn check_hostile(img: &Path, what: &str) {
    for args in [&["ls", "-R"][..], &["info"], &["ls", "-R", "--json", "--view", "iso9660"]] {
        let o = run_bounded(odix().args(args).arg(img), 30);
        let code = o.status.code();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{what}: {args:?} panicked: {err}");
        assert!(matches!(code, Some(0..=2)), "{what}: {args:?} exited {code:?}: {err}");
        if code == Some(1) {
            assert_eq!(err.lines().count(), 1, "{what}: {args:?}: one line expected: {err}");
            assert!(err.contains(img.to_str().unwrap()), "{what}: the image is named: {err}");
        }
    }
    let out = img.with_extension("out");
    let o = run_bounded(odix().arg("extract").arg(img).arg("-C").arg(&out), 30);
    assert!(matches!(o.status.code(), Some(0..=2)), "{what}: extract: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn hostile_images() {
    let d = tmp();
    let Some((data, root)) = base_image(d.path(), false) else { return };
    let write = |name: &str, bytes: &[u8]| {
        let p = d.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let recs = records(&data, root);
    let (file_off, _) = recs.iter().find(|(_, id)| id.starts_with(b"FILE")).unwrap().clone();
    let (sub_off, _) = recs.iter().find(|(_, id)| id.starts_with(b"SUB")).unwrap().clone();

    // Truncated after the volume descriptors: directories past the end.
    let p = write("trunc.iso", &data[..root * 2048]);
    let o = run(odix().arg("ls").arg(&p));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("past the end"));
    check_hostile(&p, "truncated");
    // Truncated inside the volume descriptor set.
    check_hostile(&write("trunc2.iso", &data[..16 * 2048 + 100]), "truncated descriptors");

    // A record length below the minimum: the rest of the sector is skipped with a warning.
    let mut b = data.clone();
    b[file_off] = 3;
    let p = write("reclen.iso", &b);
    let o = run(odix().arg("ls").arg(&p));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("record length 3 is shorter than 34"));
    // `info` scans the same tree and reports the same damage the same way: on stderr, exit status 2.
    let o = run(odix().arg("info").arg(&p));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("record length 3 is shorter than 34"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("ISO 9660"));
    check_hostile(&p, "record length");

    // A record length running past the sector.
    let mut b = data.clone();
    b[file_off] = 255;
    let last = records(&data, root).last().unwrap().0;
    b[last] = 255;
    check_hostile(&write("reclen2.iso", &b), "record past sector");

    // A subdirectory that is the root again.
    let mut b = data.clone();
    b[sub_off + 2..sub_off + 6].copy_from_slice(&(root as u32).to_le_bytes());
    b[sub_off + 6..sub_off + 10].copy_from_slice(&(root as u32).to_be_bytes());
    let p = write("selfdir.iso", &b);
    let o = run_bounded(odix().args(["ls", "-R"]).arg(&p), 30);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loop"));
    check_hostile(&p, "self-containing directory");

    // A file whose size runs far past the image.
    let mut b = data.clone();
    b[file_off + 10..file_off + 14].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    b[file_off + 14..file_off + 18].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    let p = write("huge.iso", &b);
    let o = run(odix().arg("ls").arg(&p));
    assert_eq!(o.status.code(), Some(2));
    check_hostile(&p, "absurd size");

    // A directory of 4 GiB: refused by the allocation limit, not allocated.
    let mut b = data.clone();
    b[sub_off + 10..sub_off + 14].copy_from_slice(&0xFFFF_F800u32.to_le_bytes());
    b[sub_off + 14..sub_off + 18].copy_from_slice(&0xFFFF_F800u32.to_be_bytes());
    check_hostile(&write("hugedir.iso", &b), "absurd directory size");

    // A CE entry pointing at itself.
    let mut b = data.clone();
    let len = b[file_off] as usize;
    let idl = b[file_off + 32] as usize;
    let su = file_off + 33 + idl + (1 - idl % 2);
    assert!(file_off + len - su >= 28, "system use too short to patch");
    let lba = (su / 2048) as u32;
    let mut ce = vec![b'C', b'E', 28, 1];
    for v in [lba, (su % 2048) as u32, 28] {
        ce.extend_from_slice(&v.to_le_bytes());
        ce.extend_from_slice(&v.to_be_bytes());
    }
    b[su..su + 28].copy_from_slice(&ce);
    let p = write("celoop.iso", &b);
    let o = run_bounded(odix().arg("ls").arg(&p), 30);
    assert!(String::from_utf8_lossy(&o.stderr).contains("loop"), "{}", String::from_utf8_lossy(&o.stderr));
    check_hostile(&p, "CE loop");

    // Both-endian mismatch in the volume space size: a warning, an error with --strict.
    let mut b = data.clone();
    b[16 * 2048 + 84] ^= 0x55;
    let p = write("endian.iso", &b);
    let o = run(odix().arg("ls").arg(&p));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(odix().args(["ls", "--strict"]).arg(&p));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("both-endian") && err.lines().count() == 1, "{err}");

    // Garbage everywhere after the descriptors.
    let mut b = data.clone();
    let mut x: u32 = 12345;
    for byte in b[17 * 2048..].iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *byte = x as u8;
    }
    check_hostile(&write("noise.iso", &b), "noise");
}

#[test]
fn hostile_relocation_loop() {
    let d = tmp();
    let Some((mut data, root)) = base_image(d.path(), true) else { return };
    // Point every CL entry at the root: the relocated directory becomes its own ancestor.
    let mut n = 0;
    let mut i = 0;
    while let Some(p) = data[i..].windows(4).position(|w| w == b"CL\x0c\x01") {
        let at = i + p + 4;
        data[at..at + 4].copy_from_slice(&(root as u32).to_le_bytes());
        data[at + 4..at + 8].copy_from_slice(&(root as u32).to_be_bytes());
        n += 1;
        i = at;
    }
    assert!(n > 0, "no CL entry found");
    let p = d.path().join("clloop.iso");
    fs::write(&p, &data).unwrap();
    let o = run_bounded(odix().args(["ls", "-R"]).arg(&p), 30);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loop"));
    check_hostile(&p, "CL loop");
}

/// A file over 4 GiB (sparse source) in several extents, read as a stream under a 1 GiB address-space limit.
#[test]
fn file_over_4gib_streams() {
    if !odix_testdata::oracle::slow_tests() {
        eprintln!("skipping: set ODIX_SLOW_TESTS=1 for the 4 GiB test");
        return;
    }
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    let big = src.join("big.bin");
    let size: u64 = (4 << 30) + (300 << 20) + 12345;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = fs::File::create(&big).unwrap();
        f.set_len(size).unwrap();
        for (off, tag) in [(0u64, b"START"), ((4u64 << 30) - 2, b"CROSS"), (size - 5, b"LAST!")] {
            f.seek(SeekFrom::Start(off)).unwrap();
            f.write_all(tag).unwrap();
        }
    }
    let img = d.path().join("big.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-iso-level", "3", "-o"]).arg(&img).arg(&src));
    let list = ls_json(&img, &[]);
    let e = &list[0];
    assert_eq!(e["size"], size);
    assert!(e["extents"].as_array().unwrap().len() >= 2);
    let odix_path = env!("CARGO_BIN_EXE_odix");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v 1048576; exec '{odix_path}' cat '{}' /big.bin", img.display()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    let mut found = Vec::new();
    let marks = [(0u64, &b"START"[..]), ((4u64 << 30) - 2, b"CROSS"), (size - 5, b"LAST!")];
    let mut prev_tail: Vec<u8> = Vec::new();
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut window = prev_tail.clone();
        window.extend_from_slice(&buf[..n]);
        let base = total - prev_tail.len() as u64;
        for (off, tag) in marks {
            if off >= base && off + 5 <= base + window.len() as u64 {
                let s = (off - base) as usize;
                if &window[s..s + 5] == tag && !found.contains(&off) {
                    found.push(off);
                }
            }
        }
        total += n as u64;
        prev_tail = window[window.len().saturating_sub(8)..].to_vec();
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(total, size);
    assert_eq!(found.len(), 3, "markers found at {found:?}");

    // Random access across the extent boundaries xorriso chose, and at the markers.
    let expected = |at: u64| -> u8 {
        marks.iter().find(|(off, _)| (*off..off + 5).contains(&at)).map_or(0, |(off, tag)| tag[(at - off) as usize])
    };
    let mut iso =
        odix_iso9660::Image::open(fs::File::open(&img).unwrap(), odix_iso9660::Options::default()).expect("opens");
    let root = iso.root(odix_iso9660::View::RockRidge).unwrap();
    let entry = iso.read_dir(&root).unwrap().remove(0);
    let mut offsets: Vec<u64> = marks.iter().map(|(off, _)| off.saturating_sub(3)).collect();
    let mut end = 0u64;
    for x in e["extents"].as_array().unwrap() {
        end += x["length"].as_u64().unwrap();
        offsets.push(end - 7);
    }
    for off in offsets {
        let mut buf = [0xAAu8; 16];
        let n = iso.read_file_at(&entry, off, &mut buf).unwrap();
        assert_eq!(n as u64, (size - off).min(16), "at {off}");
        let want: Vec<u8> = (off..off + n as u64).map(expected).collect();
        assert_eq!(&buf[..n], &want[..], "at {off}");
    }
}

/// A GUID as xorriso prints it (the 16 bytes in disk order, in hex) in its usual text form.
fn guid_from_disk_hex(hex: &str) -> String {
    let b: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10..].iter().map(|x| format!("{x:02X}")).collect::<String>()
    )
}

#[test]
fn gpt_matches_xorriso_report() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a.txt"), "a").unwrap();
    let part = d.path().join("part.img");
    fs::write(&part, vec![0u8; 1 << 20]).unwrap();
    let img = d.path().join("gpt.iso");
    run_ok(
        Command::new(&xorriso)
            .args(["-as", "mkisofs", "-R", "-o"])
            .arg(&img)
            .args(["-append_partition", "2", "0xef"])
            .arg(&part)
            .arg("-appended_part_as_gpt")
            .arg(&src),
    );
    let o = run_ok(Command::new(&xorriso).arg("-indev").arg(&img).args(["-report_system_area", "plain"]));
    let report = String::from_utf8_lossy(&o.stdout).to_string();
    let field = |key: &str| -> Vec<Vec<String>> {
        report
            .lines()
            .filter_map(|l| l.split_once(" : ").filter(|(k, _)| k.trim() == key).map(|(_, v)| v))
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .collect()
    };
    let info = run_ok(odix().args(["info", "--json"]).arg(&img));
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    let gpt = &info["system_area"]["gpt"];
    assert_eq!(gpt["header_crc_ok"], true);
    assert_eq!(gpt["entries_crc_ok"], true);
    assert_eq!(gpt["backup_found"], true);
    assert_eq!(gpt["disk_guid"].as_str().unwrap(), guid_from_disk_hex(&field("GPT disk GUID")[0][0]));
    let range = &field("GPT lba range")[0];
    assert_eq!(gpt["first_usable_lba"].to_string(), range[0]);
    assert_eq!(gpt["last_usable_lba"].to_string(), range[1]);
    assert_eq!(gpt["backup_lba"].to_string(), range[2]);
    let parts = gpt["partitions"].as_array().unwrap();
    let sizes = field("GPT start and size");
    let names = field("GPT partname local");
    let types = field("GPT type GUID");
    assert_eq!(parts.len(), sizes.len());
    for (i, p) in parts.iter().enumerate() {
        let first = p["first_lba"].as_u64().unwrap();
        let count = p["last_lba"].as_u64().unwrap() - first + 1;
        assert_eq!(vec![p["index"].to_string(), first.to_string(), count.to_string()], sizes[i]);
        assert_eq!(p["name"].as_str().unwrap(), names[i][1]);
        assert_eq!(p["type_guid"].as_str().unwrap(), guid_from_disk_hex(&types[i][1]));
    }
    let mbr = &info["system_area"]["mbr"]["partitions"][0];
    assert_eq!(mbr["type"], 0xEE);
    assert_eq!(info["iso9660"]["formats"]["gpt"], true);
    assert_eq!(info["iso9660"]["formats"]["mbr"], true);
}

#[test]
fn device_nodes_and_fifos() {
    let (Some(xorriso), Some(gen)) = (require_tool("xorriso"), require_tool("genisoimage")) else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    let made = run(Command::new("mknod").arg(src.join("null")).args(["c", "1", "3"])).status.success()
        && run(Command::new("mknod").arg(src.join("disk")).args(["b", "8", "17"])).status.success()
        && run(Command::new("mkfifo").arg(src.join("fifo"))).status.success();
    if !made {
        eprintln!("skipping: device nodes cannot be made here (not root?)");
        return;
    }
    let x = d.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&x).arg(&src));
    let g = d.path().join("g.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-o"]).arg(&g).arg(&src));
    for img in [&x, &g] {
        let by = by_path(&ls_json(img, &[]));
        assert_eq!(by["/null"]["rdev"], serde_json::json!([1, 3]), "{}", img.display());
        assert_eq!(by["/null"]["mode"].as_u64().unwrap() & 0o170000, 0o020000);
        assert_eq!(by["/disk"]["rdev"], serde_json::json!([8, 17]));
        assert_eq!(by["/disk"]["mode"].as_u64().unwrap() & 0o170000, 0o060000);
        assert_eq!(by["/fifo"]["type"], "other");
        assert_eq!(by["/fifo"]["mode"].as_u64().unwrap() & 0o170000, 0o010000);
    }
}

/// A tree 200 folders deep (more than the folder descriptors the extractor keeps open), with files at several
/// depths and a branch next to the top that the walk comes back to from the bottom: extracted as xorriso recorded
/// it, also over an earlier extraction (files replaced, a planted symlink replaced and not followed) and with
/// --keep-old-files (an old file kept).
#[test]
fn extract_deep_tree_and_over_old_files() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    let mut p = src.clone();
    for i in 0..200 {
        p.push("d");
        fs::create_dir_all(&p).unwrap();
        if i % 50 == 0 {
            fs::write(p.join("f"), format!("{i}")).unwrap();
        }
    }
    fs::create_dir_all(src.join("d/e")).unwrap();
    fs::write(src.join("d/e/g"), "branch").unwrap();
    let img = d.path().join("deep.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&img).arg(&src));
    let out = d.path().join("out");
    let o = extract(&img, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&src, &out, &CompareOptions { dir_mtimes: true, ..CompareOptions::default() });

    // Again over it: an old file changed, a symlink planted where a file goes.
    let outside = d.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(out.join("d/f"), "old").unwrap();
    fs::remove_file(out.join("d/e/g")).unwrap();
    std::os::unix::fs::symlink(outside.join("g"), out.join("d/e/g")).unwrap();
    let o = extract(&img, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&src, &out, &CompareOptions { dir_mtimes: true, ..CompareOptions::default() });
    assert!(fs::read_dir(&outside).unwrap().next().is_none(), "wrote through the planted symlink");

    fs::write(out.join("d/f"), "old").unwrap();
    let o = extract(&img, &out, &["--keep-old-files"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read_to_string(out.join("d/f")).unwrap(), "old");
    assert_eq!(fs::read_to_string(out.join("d/e/g")).unwrap(), "branch");
}

/// Replaces the Rock Ridge name `from` (an NM entry) by `to`, of the same length.
fn rename_nm(img: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let mut pat = vec![b'N', b'M', 5 + from.len() as u8, 1, 0];
    pat.extend_from_slice(from.as_bytes());
    let at = img.windows(pat.len()).position(|w| w == pat).expect("NM entry");
    img[at + 5..at + 5 + to.len()].copy_from_slice(to.as_bytes());
}

#[test]
fn a_name_listed_as_file_and_as_folder_is_written_once() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir_all(src.join("bbbb")).unwrap();
    fs::create_dir_all(src.join("cccc")).unwrap();
    fs::write(src.join("aaaa"), b"file a\n").unwrap();
    fs::write(src.join("bbbb/inner"), b"inner b\n").unwrap();
    fs::write(src.join("cccc/inner"), b"inner c\n").unwrap();
    fs::write(src.join("dddd"), b"file d\n").unwrap();
    let img = d.path().join("x.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-R", "-o"]).arg(&img).arg(&src));
    let mut bytes = fs::read(&img).unwrap();
    // In image order: the file `aaaa`, then the folder `bbbb` renamed `aaaa`; the folder `cccc`, then the file
    // `dddd` renamed `cccc`.
    rename_nm(&mut bytes, "bbbb", "aaaa");
    rename_nm(&mut bytes, "dddd", "cccc");
    let dup = d.path().join("dup.iso");
    fs::write(&dup, &bytes).unwrap();
    let names: Vec<String> = ls_json(&dup, &[]).iter().map(|e| format!("{} {}", e["type"], e["path"])).collect();
    assert_eq!(
        names,
        [
            "\"file\" \"/aaaa\"",
            "\"dir\" \"/aaaa\"",
            "\"file\" \"/aaaa/inner\"",
            "\"dir\" \"/cccc\"",
            "\"file\" \"/cccc/inner\"",
            "\"file\" \"/cccc\""
        ]
    );
    // Whichever thread writes the files, the first of the two wins, the other is reported, and the run ends with
    // exit 2.
    for jobs in ["1", "4"] {
        let out = d.path().join(format!("out-j{jobs}"));
        let o = extract(&dup, &out, &["-j", jobs]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("already extracted as a non-directory"), "{err}");
        assert!(err.contains("listed more than once"), "{err}");
        assert_eq!(fs::read(out.join("aaaa")).unwrap(), b"file a\n", "{err}");
        assert_eq!(fs::read(out.join("cccc/inner")).unwrap(), b"inner c\n", "{err}");
        let mut top: Vec<String> =
            fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        top.sort();
        assert_eq!(top, ["aaaa", "cccc"]);
    }
}

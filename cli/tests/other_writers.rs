//! Images as other writers make them, with the quirks real readers forgive: Rock Ridge behind a CD-XA record,
//! ROOT components inside symlink targets, impossible zisofs headers, long root records in the volume
//! descriptor, CUE sheets written on other systems. Each is checked against what isoinfo, xorriso, bsdtar or
//! libcdio make of the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use odix_testdata::oracle::require_python_module;
use odix_testdata::{require_tool, run, run_ok};
use serde_json::Value;

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// `odix ls -R --json` as path → entry.
fn listing(img: &Path, extra: &[&str]) -> BTreeMap<String, Value> {
    let out = run_ok(odix().arg("ls").arg(img).args(["-R", "--json"]).args(extra));
    let v: Value = serde_json::from_slice(&out.stdout).expect("ls --json prints JSON");
    v.as_array().unwrap().iter().map(|e| (e["path"].as_str().unwrap().to_string(), e.clone())).collect()
}

/// `isoinfo -R -l` as path → (mode string, size, symlink target).
fn isoinfo_rr(isoinfo: &Path, img: &Path) -> BTreeMap<String, (String, u64, Option<String>)> {
    let o = run_ok(Command::new(isoinfo).args(["-R", "-l", "-i"]).arg(img));
    let mut out = BTreeMap::new();
    let mut dir = String::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        if let Some(d) = line.strip_prefix("Directory listing of ") {
            dir = d.trim_end_matches('/').to_string();
            continue;
        }
        // "drwxr-xr-x   2    0    0            2048 Dec  6 2026 [     24 02]  name -> target"
        let Some(close) = line.find("]  ") else { continue };
        let fields: Vec<&str> = line[..close].split_whitespace().collect();
        let rest = line[close + 3..].trim_end();
        let (name, target) = match rest.split_once(" -> ") {
            Some((n, t)) => (n.to_string(), Some(t.to_string())),
            None => (rest.to_string(), None),
        };
        if name == "." || name == ".." {
            continue;
        }
        out.insert(format!("{dir}/{name}"), (fields[0].to_string(), fields[4].parse().unwrap(), target));
    }
    out
}

/// A small tree: a file, a symlink, a folder holding a mixed-case long name.
fn small_tree(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("file.txt"), "hello\n").unwrap();
    std::os::unix::fs::symlink("file.txt", src.join("link")).unwrap();
    fs::write(src.join("sub").join("Mixed_Case_Name.txt"), "deep\n").unwrap();
    src
}

/// Rock Ridge names, modes, sizes and symlink targets equal isoinfo's; `rr_path` is a path only Rock Ridge has.
fn same_as_isoinfo(isoinfo: &Path, img: &Path, rr_path: &str) {
    let theirs = isoinfo_rr(isoinfo, img);
    assert!(theirs.contains_key(rr_path), "isoinfo reads Rock Ridge in {img:?}: {theirs:?}");
    let ours = listing(img, &[]);
    assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>(), "{img:?}");
    for (path, (mode, size, target)) in &theirs {
        let e = &ours[path];
        let ls = run_ok(odix().args(["ls", "-l"]).arg(img).arg(path));
        let line = String::from_utf8_lossy(&ls.stdout);
        if e["type"] != "dir" {
            assert!(line.starts_with(mode.as_str()), "{img:?} {path}: {line} vs {mode}");
        }
        if e["type"] == "file" {
            assert_eq!(e["size"], *size, "{img:?} {path}");
        }
        assert_eq!(e["target"].as_str(), target.as_deref(), "{img:?} {path}");
    }
}

#[test]
fn rock_ridge_behind_a_cd_xa_record() {
    let Some(isoinfo) = require_tool("isoinfo") else { return };
    let d = tmp();
    let src = small_tree(d.path());
    if let Some(gen) = require_tool("genisoimage") {
        let img = d.path().join("xa.iso");
        run_ok(Command::new(&gen).args(["-quiet", "-R", "-xa", "-o"]).arg(&img).arg(&src));
        // The root's `.` record: a 14-byte XA record, then SP whose LEN_SKP is 14.
        let data = fs::read(&img).unwrap();
        let root = u32::from_le_bytes(data[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap()) as usize;
        assert_eq!(&data[root * 2048 + 34 + 6..root * 2048 + 34 + 8], b"XA");
        assert_eq!(&data[root * 2048 + 34 + 14..root * 2048 + 34 + 21], b"SP\x07\x01\xbe\xef\x0e");
        same_as_isoinfo(&isoinfo, &img, "/sub/Mixed_Case_Name.txt");
        let info: Value = serde_json::from_slice(&run_ok(odix().args(["info", "--json"]).arg(&img)).stdout).unwrap();
        assert_eq!(info["iso9660"]["formats"]["rock_ridge"], "1.10");
        assert_eq!(run_ok(odix().arg("cat").arg(&img).arg("/sub/Mixed_Case_Name.txt")).stdout, b"deep\n");
    }
    if !require_python_module("pycdlib") {
        return;
    }
    for rr in ["1.09", "1.10", "1.12"] {
        let img = d.path().join(format!("py{}.iso", rr.replace('.', "")));
        let script = format!(
            "import io, pycdlib, sys\n\
             iso = pycdlib.PyCdlib()\n\
             iso.new(interchange_level=3, rock_ridge='{rr}', xa=True)\n\
             iso.add_fp(io.BytesIO(b'hello\\n'), 6, '/FILE.TXT;1', rr_name='file.txt')\n\
             iso.add_directory('/SUB', rr_name='sub')\n\
             iso.add_fp(io.BytesIO(b'deep\\n'), 5, '/SUB/MIXED.TXT;1', rr_name='Mixed_Case_Name.txt')\n\
             iso.add_symlink('/LINK.;1', 'link', 'file.txt')\n\
             iso.write(sys.argv[1])\n"
        );
        run_ok(Command::new("python3").arg("-c").arg(&script).arg(&img));
        same_as_isoinfo(&isoinfo, &img, "/sub/Mixed_Case_Name.txt");
    }
}

#[test]
fn root_components_inside_symlink_targets() {
    let (Some(gen), Some(isoinfo)) = (require_tool("genisoimage"), require_tool("isoinfo")) else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("file"), "x\n").unwrap();
    // genisoimage (like mkhybrid before it) records each empty component between slashes as a ROOT component.
    for (name, target) in [("l2", ".//file"), ("l3", ".///file"), ("l4", "a//b"), ("abs", "/etc//passwd")] {
        std::os::unix::fs::symlink(target, src.join(name)).unwrap();
    }
    let img = d.path().join("sl.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-o"]).arg(&img).arg(&src));
    let data = fs::read(&img).unwrap();
    assert!(data.windows(13).any(|w| w == b"SL\x0f\x01\x00\x02\x00\x08\x00\x00\x04fi"), "ROOT after CURRENT");
    same_as_isoinfo(&isoinfo, &img, "/l3");
    // The Linux kernel shows the same (checked with vm-run: `l3 -> .///file`, `l4 -> a//b`); so do bsdtar and
    // xorriso.
    let ours = listing(&img, &[]);
    assert_eq!(ours["/l3"]["target"], ".///file");
    assert_eq!(ours["/abs"]["target"], "/etc//passwd");
    if let Some(bsdtar) = require_tool("bsdtar") {
        let o = run_ok(Command::new(bsdtar).arg("tvf").arg(&img));
        let text = String::from_utf8_lossy(&o.stdout);
        for (name, target) in [("l2", ".//file"), ("l3", ".///file"), ("l4", "a//b")] {
            assert!(text.contains(&format!("{name} -> {target}")), "{text}");
        }
    }
}

#[test]
fn root_record_longer_than_34_bytes_in_the_descriptor() {
    let (Some(gen), Some(isoinfo)) = (require_tool("genisoimage"), require_tool("isoinfo")) else { return };
    let d = tmp();
    let src = small_tree(d.path());
    let img = d.path().join("long.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-o"]).arg(&img).arg(&src));
    let mut data = fs::read(&img).unwrap();
    // The length byte of the PVD's root record announces 6 bytes of system use data.
    data[16 * 2048 + 156] = 40;
    fs::write(&img, &data).unwrap();
    same_as_isoinfo(&isoinfo, &img, "/sub/Mixed_Case_Name.txt");
    let o = run(odix().arg("info").arg(&img));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn impossible_zf_entries_show_the_stored_data() {
    let (Some(xorriso), Some(isoinfo)) = (require_tool("xorriso"), require_tool("isoinfo")) else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a.txt"), "odix zisofs ".repeat(50_000)).unwrap();
    fs::write(src.join("b.txt"), "bravo text ".repeat(50_000)).unwrap();
    fs::write(src.join("c.txt"), "charlie ".repeat(50_000)).unwrap();
    let img = d.path().join("z.iso");
    odix_testdata::oracle::xorriso_zisofs(&xorriso, &src, &img);
    let mut data = fs::read(&img).unwrap();
    let zf: Vec<usize> = (0..data.len() - 6).filter(|&i| &data[i..i + 6] == b"ZF\x10\x01pz").collect();
    assert_eq!(zf.len(), 3);
    // a.txt: block size 2^2. b.txt: an uncompressed size near 2^32, whose pointer table alone would need 512 KiB.
    data[zf[0] + 7] = 2;
    data[zf[1] + 8..zf[1] + 12].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    data[zf[1] + 12..zf[1] + 16].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());
    fs::write(&img, &data).unwrap();
    let o = run(odix().args(["ls", "-R", "--json"]).arg(&img));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("ZF entry ignored").count(), 2, "{err}");
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    let size = |p: &str| list.as_array().unwrap().iter().find(|e| e["path"] == p).unwrap()["size"].as_u64().unwrap();
    // isoinfo and 7-Zip show the stored bytes of both; bsdtar those of a.txt.
    let theirs = isoinfo_rr(&isoinfo, &img);
    for p in ["/a.txt", "/b.txt"] {
        assert_eq!(size(p), theirs[p].1, "{p}");
        let stored = run_ok(Command::new(&isoinfo).arg("-i").arg(&img).arg("-x").arg(p.to_uppercase() + ";1"));
        let o = run(odix().arg("cat").arg(&img).arg(p));
        assert_eq!(o.stdout, stored.stdout, "{p}");
    }
    if let Some(bsdtar) = require_tool("bsdtar") {
        let o = run_ok(Command::new(bsdtar).arg("tvf").arg(&img));
        let line = String::from_utf8_lossy(&o.stdout).lines().find(|l| l.ends_with(" a.txt")).unwrap().to_string();
        assert_eq!(line.split_whitespace().nth(4).unwrap(), size("/a.txt").to_string(), "{line}");
    }
    // The third file's ZF is sound: read decompressed.
    assert_eq!(size("/c.txt"), 400_000);
    assert_eq!(run_ok(odix().arg("cat").arg(&img).arg("/c.txt")).stdout, "charlie ".repeat(50_000).as_bytes());
}

/// `xorriso -load sbsector LBA -indev IMG -find /`: the paths of the session starting at LBA.
fn xorriso_session_paths(xorriso: &Path, img: &Path, lba: u64) -> Vec<String> {
    let o = run_ok(
        Command::new(xorriso).args(["-load", "sbsector", &lba.to_string(), "-indev"]).arg(img).args(["-find", "/"]),
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim_matches('\'').to_string())
        .filter(|p| p != "/")
        .collect();
    v.sort();
    v
}

fn odix_paths(img: &Path, extra: &[&str]) -> Vec<String> {
    listing(img, extra).into_keys().collect()
}

#[test]
fn sessions_of_grown_image_files() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tmp();
    let img = d.path().join("ms.iso");
    for (i, name) in ["a.txt", "b.txt", "c.txt"].iter().enumerate() {
        let f = d.path().join(name);
        fs::write(&f, vec![b'x'; 100_000 * (i + 1)]).unwrap();
        run_ok(Command::new(&xorriso).arg("-dev").arg(&img).arg("-map").arg(&f).arg(format!("/{name}")).arg("-commit"));
    }
    // `xorriso -toc`: "ISO session  :   2 ,       224 ,        24s , ISOIMAGE".
    let toc = run_ok(Command::new(&xorriso).arg("-indev").arg(&img).arg("-toc"));
    let theirs: Vec<(u64, u64)> = String::from_utf8_lossy(&toc.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("ISO session  :"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            (f[1].parse().unwrap(), f[2].trim_end_matches('s').parse().unwrap())
        })
        .collect();
    assert_eq!(theirs.len(), 3);
    let info: Value = serde_json::from_slice(&run_ok(odix().args(["info", "--json"]).arg(&img)).stdout).unwrap();
    let ours: Vec<(u64, u64)> = info["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start_lba"].as_u64().unwrap(), s["blocks"].as_u64().unwrap()))
        .collect();
    assert_eq!(ours, theirs);
    let text = String::from_utf8_lossy(&run_ok(odix().arg("info").arg(&img)).stdout).into_owned();
    assert!(text.contains("Sessions: 3"), "{text}");
    for (n, (lba, _)) in theirs.iter().enumerate() {
        let n = (n + 1).to_string();
        assert_eq!(odix_paths(&img, &["--session", &n]), xorriso_session_paths(&xorriso, &img, *lba), "session {n}");
    }
    assert_eq!(odix_paths(&img, &["--session", "1"]), ["/a.txt"]);
    let o = run(odix().args(["ls", "--session", "4"]).arg(&img));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no session 4: the image has 3 sessions"));

    // growisofs-style: a second session appended 16-block aligned by `genisoimage -C -M` (xorriso -toc does not
    // find it, xorriso -load sbsector reads it).
    let gen = require_tool("genisoimage");
    let Some(gen) = gen else { return };
    let (s1, s2) = (d.path().join("s1"), d.path().join("s2"));
    fs::create_dir(&s1).unwrap();
    fs::create_dir(&s2).unwrap();
    fs::write(s1.join("first.txt"), "one\n".repeat(30_000)).unwrap();
    fs::write(s2.join("second.txt"), "two\n").unwrap();
    let (i1, i2) = (d.path().join("1.iso"), d.path().join("2.iso"));
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-o"]).arg(&i1).arg(&s1));
    let nwa = fs::metadata(&i1).unwrap().len().div_ceil(2048).div_ceil(16) * 16;
    run_ok(
        Command::new(&gen).args(["-quiet", "-R", "-C", &format!("0,{nwa}"), "-M"]).arg(&i1).arg("-o").arg(&i2).arg(&s2),
    );
    let grown = d.path().join("grown.iso");
    let mut bytes = fs::read(&i1).unwrap();
    bytes.resize(nwa as usize * 2048, 0);
    bytes.extend(fs::read(&i2).unwrap());
    fs::write(&grown, bytes).unwrap();
    let info: Value = serde_json::from_slice(&run_ok(odix().args(["info", "--json"]).arg(&grown)).stdout).unwrap();
    assert_eq!(info["sessions"][1]["start_lba"], nwa);
    assert_eq!(odix_paths(&grown, &["--session", "2"]), xorriso_session_paths(&xorriso, &grown, nwa));
    assert_eq!(odix_paths(&grown, &["--session", "1"]), xorriso_session_paths(&xorriso, &grown, 0));
    // One session: asking for another is an error naming the count.
    let o = run(odix().args(["cat", "--session", "2"]).arg(&i1).arg("/first.txt"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no session 2: the image has 1 session"));
}

#[test]
fn cue_sheets_written_elsewhere() {
    let Some(gen) = require_tool("genisoimage") else { return };
    let d = tmp();
    let src = small_tree(d.path());
    let iso = d.path().join("x.iso");
    run_ok(Command::new(gen).args(["-quiet", "-R", "-o"]).arg(&iso).arg(&src));
    run_ok(odix().arg("convert").arg(&iso).arg(d.path().join("x.cue")));
    // The BIN in a folder, both named in another case than the sheet says, as sheets written on Windows do.
    fs::create_dir(d.path().join("Data")).unwrap();
    fs::rename(d.path().join("x.bin"), d.path().join("Data").join("Disc.Bin")).unwrap();
    let track = "  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n";
    let windows = d.path().join("windows.cue");
    fs::write(&windows, format!("FILE \"DATA\\DISC.BIN\" BINARY\n{track}")).unwrap();
    let ls = |p: &Path| run_ok(odix().args(["ls", "-l", "-R"]).arg(p)).stdout;
    assert_eq!(ls(&windows), ls(&iso));
    // bchunk, given the file's real name, reads the same sectors.
    if let Some(bchunk) = require_tool("bchunk") {
        let exact = d.path().join("exact.cue");
        fs::write(&exact, format!("FILE \"Data/Disc.Bin\" BINARY\n{track}")).unwrap();
        run_ok(Command::new(bchunk).arg(d.path().join("Data").join("Disc.Bin")).arg(&exact).arg(d.path().join("bc")));
        assert_eq!(ls(&d.path().join("bc01.iso")), ls(&windows));
    }

    // A CATALOG that is not 13 digits: refused with its line (libcdio refuses the sheet too).
    let bad = d.path().join("catalog.cue");
    fs::write(&bad, format!("REM written by hand\nCATALOG 12345\nFILE \"Data/Disc.Bin\" BINARY\n{track}")).unwrap();
    let o = run(odix().arg("ls").arg(&bad));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("catalog.cue:2:") && err.contains("13 digits"), "{err}");
    if let Some(cd_info) = require_tool("cd-info") {
        let o = run(Command::new(cd_info).args(["--no-device-info", "--cue-file"]).arg(&bad));
        assert!(String::from_utf8_lossy(&o.stderr).contains("not recognized as a CUE file"));
    }

    // A file that is not there: one reason, said once.
    let missing = d.path().join("missing.cue");
    fs::write(&missing, format!("FILE \"nowhere.bin\" BINARY\n{track}")).unwrap();
    let o = run(odix().arg("ls").arg(&missing));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err.matches("cannot be opened").count(), 1, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

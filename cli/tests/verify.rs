//! `odix verify` on what is not a disc image, on images cut short, on images whose files point past their end,
//! and on good images: the exit status, the missing sectors and the hashes, each checked against isoinfo,
//! udfinfo, 7z, md5sum and sha1sum.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix_testdata::{require_tool, run, run_ok};

mod common;
use common::{odix, stderr, stdout};

fn verify_json(img: &Path) -> (Option<i32>, serde_json::Value, String) {
    let o = run(odix().args(["verify", "--json"]).arg(img));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("verify --json {}: {e}\n{}{}", img.display(), stdout(&o), stderr(&o)));
    (o.status.code(), v, stderr(&o))
}

/// An xorriso image of a small tree (a 300 kB file, a text file, a subfolder); `None` without xorriso.
fn xorriso_image(dir: &Path) -> Option<PathBuf> {
    let x = require_tool("xorriso")?;
    let src = dir.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    fs::write(src.join("big.bin"), big).unwrap();
    fs::write(src.join("hello.txt"), b"hello\n").unwrap();
    fs::write(src.join("sub/n.txt"), b"numbers\n".repeat(10_000)).unwrap();
    let iso = dir.join("x.iso");
    run_ok(Command::new(x).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(&src));
    Some(iso)
}

/// `isoinfo -d`'s "Volume size is: N".
fn isoinfo_volume_size(iso: &Path) -> Option<u64> {
    let isoinfo = require_tool("isoinfo")?;
    let o = run_ok(Command::new(isoinfo).arg("-d").arg("-i").arg(iso));
    stdout(&o).lines().find_map(|l| l.strip_prefix("Volume size is: ")).map(|n| n.trim().parse().unwrap())
}

/// The first word of a `md5sum`/`sha1sum` line.
fn digest(tool: &str, file: &Path) -> Option<String> {
    let t = require_tool(tool)?;
    let o = run_ok(Command::new(t).arg(file));
    Some(stdout(&o).split_whitespace().next().unwrap().to_string())
}

/// A PNG file: one shipped with the system, else a 1×1 image written here.
fn some_png(dir: &Path) -> PathBuf {
    let found = ["/usr/share/icons", "/usr/share/pixmaps", "/usr/share"].iter().find_map(|root| {
        let o = Command::new("find").args([root, "-name", "*.png", "-size", "+1k", "-print", "-quit"]).output().ok()?;
        let p = stdout(&o).lines().next().map(PathBuf::from)?;
        p.is_file().then_some(p)
    });
    let png = dir.join("picture.iso");
    match found {
        Some(p) => {
            fs::copy(p, &png).unwrap();
        }
        None => fs::write(
            &png,
            [
                0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8,
                6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 13, b'I', b'D', b'A', b'T', 0x78, 0x9c, 0x63, 0, 1, 0, 0,
                5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82,
            ],
        )
        .unwrap(),
    }
    assert_eq!(&fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    png
}

/// An empty file, a PNG renamed `.iso`, random bytes, a folder and raw sectors without their sheet: exit 1, one
/// line on stderr naming the path, nothing on stdout (no hashes).
#[test]
fn unrecognised_input_is_exit_1_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let empty = d.join("empty.iso");
    fs::write(&empty, b"").unwrap();
    let png = some_png(d);
    let random = d.join("random.iso");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    fs::write(&random, bytes).unwrap();
    let folder = d.join("folder.iso");
    fs::create_dir(&folder).unwrap();
    let bin = d.join("disc.bin");
    let mut raw = vec![0u8; 2352 * 20];
    for s in raw.chunks_mut(2352) {
        s[..12].copy_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
    }
    fs::write(&bin, raw).unwrap();
    // A CHD made by chdman (of the random bytes), else its header as chdman writes it.
    let chd = d.join("disc.chd");
    let made = require_tool("chdman").is_some_and(|c| {
        Command::new(c)
            .args(["createraw", "-hs", "4096", "-us", "512", "-i"])
            .arg(&random)
            .arg("-o")
            .arg(&chd)
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !made {
        let mut head = b"MComprHD".to_vec();
        head.extend_from_slice(&[0, 0, 0, 124, 0, 0, 0, 5]);
        head.resize(4096, 0);
        fs::write(&chd, head).unwrap();
    }
    for (img, why) in [
        (&chd, "CHD"),
        (&empty, "empty"),
        (&png, "not a disc image"),
        (&random, "not a disc image"),
        (&folder, "directory"),
        (&bin, "without a cue sheet"),
    ] {
        for json in [false, true] {
            let mut c = odix();
            c.arg("verify");
            if json {
                c.arg("--json");
            }
            let o = run(c.arg(img));
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{}: {err}", img.display());
            assert!(o.stdout.is_empty(), "{}: {}", img.display(), stdout(&o));
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with("odix: ") && err.contains(&img.display().to_string()) && err.contains(why),
                "{err}"
            );
        }
    }
}

/// A good xorriso image: exit 0, the volume size isoinfo reports, the hashes md5sum and sha1sum give; and the
/// same image cut to a quarter: exit 2 with the number of sectors missing, where 7z reports an error too.
#[test]
fn good_and_truncated_iso_images() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some(iso) = xorriso_image(d) else { return };
    let size = fs::metadata(&iso).unwrap().len();
    let v = run_ok(odix().arg("verify").arg(&iso));
    let out = stdout(&v);
    if let (Some(md5), Some(sha1)) = (digest("md5sum", &iso), digest("sha1sum", &iso)) {
        assert!(out.contains(&format!("image     {size} ")) && out.contains(&md5) && out.contains(&sha1), "{out}");
        let (code, j, _) = verify_json(&iso);
        assert_eq!(code, Some(0), "{j}");
        assert_eq!(j["hashes"]["image"]["md5"], md5.as_str());
        assert_eq!(j["hashes"]["image"]["sha1"], sha1.as_str());
    }
    let (code, j, _) = verify_json(&iso);
    assert_eq!(code, Some(0));
    assert_eq!(j["format"], "iso9660");
    assert_eq!(j["size"], size);
    assert!(j["problems"].as_array().unwrap().is_empty(), "{j}");
    let vss = isoinfo_volume_size(&iso);
    if let Some(vss) = vss {
        assert_eq!(j["sectors"]["expected"], vss);
        assert_eq!(j["sectors"]["present"], size / 2048);
    }
    for c in j["checks"].as_array().unwrap() {
        assert_eq!(c["result"], "ok", "{c}");
    }

    let quarter = d.join("quarter.iso");
    fs::write(&quarter, &fs::read(&iso).unwrap()[..size as usize / 4]).unwrap();
    let o = run(odix().args(["verify", "--no-hashes"]).arg(&quarter));
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("TRUNCATED"), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.lines().last().unwrap().starts_with("odix: ") && err.contains("missing"), "{err}");
    let (code, j, _) = verify_json(&quarter);
    assert_eq!(code, Some(2));
    if let Some(vss) = vss {
        let present = size / 4 / 2048;
        assert_eq!(j["sectors"]["expected"], vss);
        assert_eq!(j["sectors"]["present"], present);
        assert_eq!(j["sectors"]["missing"], vss - present);
        let check = j["checks"].as_array().unwrap().iter().find(|c| c["name"] == "iso9660_volume").unwrap();
        assert_eq!(check["result"], "incomplete");
    }
    if let Some(z) = require_tool("7z") {
        let o = run(Command::new(z).arg("t").arg(&quarter));
        assert_ne!(o.status.code(), Some(0), "7z finds no error in the cut image: {}", stdout(&o));
    }

    // The same through a CUE sheet whose BIN was cut short.
    let cue = d.join("c.cue");
    run_ok(odix().arg("convert").arg(&iso).arg(&cue));
    run_ok(odix().args(["verify", "--no-hashes"]).arg(&cue));
    let bin = cue.with_extension("bin");
    fs::write(&bin, &fs::read(&bin).unwrap()[..2352 * 100]).unwrap();
    let (code, j, _) = verify_json(&cue);
    assert_eq!(code, Some(2), "{j}");
    assert_eq!(j["format"], "cue");
    if let Some(vss) = vss {
        assert_eq!(j["sectors"]["missing"], vss - 100);
    }
}

/// One file's directory record patched to put its extent past the end of the image: verify names the file and
/// exits 2; isoinfo cannot extract it and 7z reports a data error for it.
#[test]
fn file_extent_past_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let Some(iso) = xorriso_image(d) else { return };
    let mut img = fs::read(&iso).unwrap();
    let name = b"HELLO.TXT;1";
    let at = img.windows(name.len()).position(|w| w == name).unwrap();
    let rec = at - 33;
    assert_eq!(img[rec + 32] as usize, name.len(), "directory record of HELLO.TXT;1");
    let beyond = (img.len() / 2048 + 100) as u32;
    img[rec + 2..rec + 6].copy_from_slice(&beyond.to_le_bytes());
    img[rec + 6..rec + 10].copy_from_slice(&beyond.to_be_bytes());
    let bad = d.join("bad.iso");
    fs::write(&bad, img).unwrap();
    let o = run(odix().args(["verify", "--no-hashes"]).arg(&bad));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(all.contains("hello.txt") && all.contains("past the end"), "{all}");
    assert!(stdout(&o).contains("ISO 9660 volume: ") && stdout(&o).contains(": ok"), "the volume itself fits: {all}");
    let (code, j, _) = verify_json(&bad);
    assert_eq!(code, Some(2));
    assert!(j["problems"].as_array().unwrap().iter().any(|p| p.as_str().unwrap().contains("hello.txt")), "{j}");
    if let Some(isoinfo) = require_tool("isoinfo") {
        let o = run(Command::new(isoinfo).arg("-i").arg(&bad).args(["-x", "/HELLO.TXT;1"]));
        assert_ne!(o.status.code(), Some(0), "isoinfo extracts the file: {}", stderr(&o));
    }
    if let Some(z) = require_tool("7z") {
        let o = run(Command::new(z).arg("t").arg(&bad));
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        assert!(format!("{}{}", stdout(&o), stderr(&o)).contains("hello.txt"), "{}", stdout(&o));
    }
}

/// The end of the furthest UDF structure udfinfo lists (partition space, descriptor sequences, integrity),
/// anchors aside (the last one is where the image ends, whatever its size).
fn udfinfo_end(udfinfo: &Path, img: &Path) -> u64 {
    let o = run_ok(Command::new(udfinfo).arg(img));
    stdout(&o)
        .lines()
        .filter(|l| l.starts_with("start=") && !l.contains("type=ANCHOR") && !l.contains("type=VRS"))
        .map(|l| {
            let num = |k: &str| -> u64 {
                l.split(", ").find_map(|f| f.strip_prefix(k)).unwrap().trim_end_matches(',').parse().unwrap()
            };
            num("start=") + num("blocks=")
        })
        .max()
        .unwrap()
}

/// A mkudffs image (2048- and 512-byte blocks) verifies; cut to a quarter it is exit 2, with as many blocks
/// missing as udfinfo's layout of the whole image says.
#[test]
fn udf_image_cut_short() {
    let (Some(mkudffs), Some(udfinfo)) = (require_tool("mkudffs"), require_tool("udfinfo")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for bs in [2048u64, 512] {
        let img = d.join(format!("u{bs}.udf"));
        fs::File::create(&img).unwrap().set_len(4 << 20).unwrap();
        run_ok(Command::new(&mkudffs).arg(format!("--blocksize={bs}")).arg("--media-type=hd").arg(&img));
        let (code, j, err) = verify_json(&img);
        assert_eq!(code, Some(0), "{j}{err}");
        assert_eq!(j["format"], "udf");
        let end = udfinfo_end(&udfinfo, &img);
        assert_eq!(j["sectors"]["expected"], end, "{j}");
        assert_eq!(j["sectors"]["sector_size"], bs);
        let cut = d.join(format!("cut{bs}.udf"));
        fs::write(&cut, &fs::read(&img).unwrap()[..1 << 20]).unwrap();
        let (code, j, err) = verify_json(&cut);
        assert_eq!(code, Some(2), "{j}");
        let present = (1 << 20) / bs;
        assert_eq!(j["sectors"]["present"], present);
        assert_eq!(j["sectors"]["missing"], end - present, "{j}");
        assert!(err.contains("image incomplete") && err.contains("missing"), "{err}");
        // One block short: every structure still fits, but the closing anchor is gone (udfinfo then lists only
        // the one at 256, and 7z reports a headers error).
        let anchors = |img: &Path| stdout(&run_ok(Command::new(&udfinfo).arg(img))).matches("type=ANCHOR").count();
        let img_len = fs::metadata(&img).unwrap().len() as usize;
        let short = d.join(format!("short{bs}.udf"));
        fs::write(&short, &fs::read(&img).unwrap()[..img_len - bs as usize]).unwrap();
        assert!(anchors(&img) >= 2 && anchors(&short) == 1);
        let (code, j, err) = verify_json(&short);
        assert_eq!(code, Some(2), "{j}");
        assert!(err.contains("anchor"), "{err}");
        if let Some(z) = require_tool("7z") {
            assert_ne!(run(Command::new(z).arg("t").arg(&short)).status.code(), Some(0));
        }
    }
}

/// An image grown by xorriso (two sessions, the newest one's descriptors copied to LBA 0): the volume ends where
/// `xorriso -toc` says the last session ends; cut inside that session it is exit 2 with the sectors missing.
#[test]
fn grown_image_cut_inside_its_last_session() {
    let Some(x) = require_tool("xorriso") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("one.txt"), b"first\n").unwrap();
    fs::write(d.join("two.bin"), vec![9u8; 300_000]).unwrap();
    let img = d.join("g.iso");
    for f in ["one.txt", "two.bin"] {
        run_ok(Command::new(&x).current_dir(d).args(["-dev", "g.iso", "-add", f, "--", "-commit"]));
    }
    let toc = stdout(&run_ok(Command::new(&x).arg("-indev").arg(&img).arg("-toc")));
    // "ISO session  :   2 ,        64 ,       171s , ISOIMAGE"
    let sessions: Vec<(u64, u64)> = toc
        .lines()
        .filter(|l| l.starts_with("ISO session"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            (f[1].parse().unwrap(), f[2].trim_end_matches('s').parse().unwrap())
        })
        .collect();
    assert_eq!(sessions.len(), 2, "{toc}");
    let end = sessions.iter().map(|(s, n)| s + n).max().unwrap();
    let (code, j, err) = verify_json(&img);
    assert_eq!(code, Some(0), "{j}{err}");
    assert_eq!(j["sectors"]["expected"], end, "{j}");
    let cut = d.join("cut.iso");
    fs::write(&cut, &fs::read(&img).unwrap()[..(end as usize - 35) * 2048]).unwrap();
    let (code, j, _) = verify_json(&cut);
    assert_eq!(code, Some(2), "{j}");
    assert_eq!(j["sectors"]["missing"], 35, "{j}");
    let volume = j["checks"].as_array().unwrap().iter().find(|c| c["name"] == "iso9660_volume").unwrap().clone();
    assert!(volume["details"][0].as_str().unwrap().contains("of 2 sessions"), "{volume}");
}

//! Images that are not whole: cut short, with extents recorded past their end, with a damaged directory or boot
//! catalog. odix lists what is there, gives what the image holds, says what is missing and exits 2, as 7-Zip and
//! bsdtar report a data error on the same files. And inputs that are not images as odix reads them (a folder, a
//! pipe, a CHD, a bare BIN of raw sectors): each gets its own message naming the path, or is read.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use odix_testdata::{require_tool, run, run_ok};
use serde_json::Value;

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file of random bytes, a 1 MB file in a folder, and a small last file.
fn tree(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    let mut x = 0x1234_5678_u32;
    let random: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    fs::write(src.join("a.bin"), random).unwrap();
    fs::write(src.join("d").join("big.bin"), (0..=255u8).cycle().take(1_024_000).collect::<Vec<u8>>()).unwrap();
    fs::write(src.join("z.txt"), "last file\n").unwrap();
    src
}

/// The first LBA of `name` in `isoinfo -l` (ISO 9660 names, as genisoimage records them).
fn isoinfo_lba(isoinfo: &Path, img: &Path, name: &str) -> u64 {
    let o = run_ok(Command::new(isoinfo).args(["-l", "-i"]).arg(img));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = text.lines().find(|l| l.contains(&format!("]  {name}"))).unwrap_or_else(|| panic!("{name}: {text}"));
    let at = line.find('[').unwrap();
    line[at + 1..].split_whitespace().next().unwrap().parse().unwrap()
}

/// The names 7-Zip reports a data error for when testing `img`.
fn seven_zip_data_errors(img: &Path) -> Vec<String> {
    let Some(sz) = require_tool("7z") else { return Vec::new() };
    let o = run(Command::new(sz).arg("t").arg(img));
    assert_ne!(o.status.code(), Some(0), "7z reports the damage");
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    text.lines().filter_map(|l| l.trim().strip_prefix("ERROR: Data Error : ").map(str::to_string)).collect()
}

/// `ls -R` of a cut image in `view`: every entry of the whole image, a warning naming `cut_file`, exit 2.
fn lists_everything(img: &Path, whole: &Path, view: &str, cut_file: &str) {
    let names = |o: &Output| -> Vec<String> {
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array().unwrap().iter().map(|e| format!("{} {}", e["path"], e["size"])).collect()
    };
    let full = run_ok(odix().args(["ls", "-R", "--json", "--view", view]).arg(whole));
    let o = run(odix().args(["ls", "-R", "--json", "--view", view]).arg(img));
    assert_eq!(o.status.code(), Some(2), "{view}: {}", stderr(&o));
    assert_eq!(names(&o), names(&full), "{view}");
    let err = stderr(&o).to_lowercase();
    assert!(err.contains(cut_file) && err.contains("past the end of the image"), "{err}");
}

/// `cat` of a file cut by the image's end: exactly `held` bytes of it, then a message with the count missing.
fn cat_gives_what_is_there(img: &Path, view: &str, path: &str, whole: &[u8], held: usize) {
    let o = run(odix().args(["cat", "--view", view]).arg(img).arg(path));
    assert_eq!(o.status.code(), Some(2), "{view} {path}: {}", stderr(&o));
    assert_eq!(o.stdout.len(), held, "{view} {path}");
    assert!(o.stdout == whole[..held], "{view} {path}: the bytes the image holds");
    let missing = whole.len() - held;
    let err = stderr(&o);
    assert!(err.contains(&format!("({missing} bytes missing)")) && err.contains(path), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn truncated_iso9660_and_udf_images() {
    let (Some(gen), Some(isoinfo)) = (require_tool("genisoimage"), require_tool("isoinfo")) else { return };
    let d = tmp();
    let src = tree(d.path());
    let big = fs::read(src.join("d").join("big.bin")).unwrap();
    for (name, args, views) in [
        ("rr.iso", &["-R", "-J"][..], &["rockridge", "joliet", "iso9660"][..]),
        ("udf.iso", &["-R", "-udf"], &["udf", "iso9660"]),
    ] {
        let whole = d.path().join(name);
        run_ok(Command::new(&gen).arg("-quiet").args(args).arg("-o").arg(&whole).arg(&src));
        // `truncate -s`: the image ends 200 sectors into big.bin, the last file genisoimage records.
        let lba = isoinfo_lba(&isoinfo, &whole, "BIG.BIN;1");
        let cut = lba + 200;
        let img = d.path().join(format!("cut-{name}"));
        fs::copy(&whole, &img).unwrap();
        fs::OpenOptions::new().write(true).open(&img).unwrap().set_len(cut * 2048).unwrap();
        let held = ((cut - lba) * 2048) as usize;
        for view in views {
            lists_everything(&img, &whole, view, "big.bin");
            let path = if *view == "iso9660" { "/D/BIG.BIN" } else { "/d/big.bin" };
            cat_gives_what_is_there(&img, view, path, &big, held);
        }
        let errors = seven_zip_data_errors(&img);
        assert!(errors.iter().all(|e| e.ends_with("big.bin") || e.ends_with("BIG.BIN")), "7z: {errors:?}");
    }
}

#[test]
fn extent_recorded_past_the_end_and_truncated_zisofs() {
    let (Some(xorriso), Some(isoinfo)) = (require_tool("xorriso"), require_tool("isoinfo")) else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    let text = "odix zisofs ".repeat(50_000);
    fs::write(src.join("a.txt"), &text).unwrap();
    fs::write(src.join("b.txt"), "bravo\n").unwrap();
    let img = d.path().join("z.iso");
    odix_testdata::oracle::xorriso_zisofs(&xorriso, &src, &img);
    let data = fs::read(&img).unwrap();
    // a.txt's stored data: header, pointer table, then its 32 KiB blocks; the image is cut after the table and
    // part of the blocks.
    let lba = isoinfo_lba(&isoinfo, &img, "A.TXT;1") as usize;
    let table_end = lba * 2048 + 16 + 4 * 20;
    let cut = table_end + 600;
    let mut short = data.clone();
    short.truncate(cut);
    let cut_img = d.path().join("cut.iso");
    fs::write(&cut_img, &short).unwrap();
    let o = run(odix().args(["cat"]).arg(&cut_img).arg("/a.txt"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Whole blocks are given as long as their compressed bytes lie inside the image.
    assert_eq!(o.stdout.len() % 32768, 0);
    assert!(text.as_bytes().starts_with(&o.stdout));
    assert!(stderr(&o).contains(&format!("({} bytes missing)", text.len() - o.stdout.len())), "{}", stderr(&o));

    // b.txt's extent recorded far beyond the end of the whole image: listed with a warning, nothing to give.
    let mut moved = data.clone();
    let at = moved.windows(7).position(|w| w == b"B.TXT;1").unwrap() - 33;
    moved[at + 2..at + 6].copy_from_slice(&4_000_000u32.to_le_bytes());
    moved[at + 6..at + 10].copy_from_slice(&4_000_000u32.to_be_bytes());
    let moved_img = d.path().join("moved.iso");
    fs::write(&moved_img, &moved).unwrap();
    let o = run(odix().args(["ls", "-l"]).arg(&moved_img));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("b.txt"), "listed");
    let o = run(odix().arg("cat").arg(&moved_img).arg("/b.txt"));
    assert_eq!((o.status.code(), o.stdout.len()), (Some(2), 0), "{}", stderr(&o));
    assert!(stderr(&o).contains("(6 bytes missing)"), "{}", stderr(&o));
    if let Some(bsdtar) = require_tool("bsdtar") {
        let out = d.path().join("bsdtar");
        fs::create_dir(&out).unwrap();
        let o = run(Command::new(bsdtar).arg("xf").arg(&moved_img).arg("-C").arg(&out));
        assert_ne!(o.status.code(), Some(0), "bsdtar reports the damage too");
    }
}

/// `isoinfo -d`'s volume id and volume size in blocks.
fn isoinfo_volume(isoinfo: &Path, img: &Path) -> (String, String) {
    let o = run_ok(Command::new(isoinfo).args(["-d", "-i"]).arg(img));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let field = |label: &str| {
        text.lines().find_map(|l| l.strip_prefix(label)).map(|v| v.trim().to_string()).unwrap_or_default()
    };
    (field("Volume id:"), field("Volume size is:"))
}

#[test]
fn info_reports_descriptors_of_a_damaged_tree_or_boot_catalog() {
    let (Some(gen), Some(isoinfo)) = (require_tool("genisoimage"), require_tool("isoinfo")) else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("boot.img"), [0x90u8; 2048]).unwrap();
    fs::write(src.join("hello.txt"), "hi\n").unwrap();
    let img = d.path().join("boot.iso");
    run_ok(
        Command::new(&gen)
            .args(["-quiet", "-R", "-V", "DAMAGED_VOL", "-b", "boot.img", "-no-emul-boot", "-o"])
            .arg(&img)
            .arg(&src),
    );
    let data = fs::read(&img).unwrap();
    let catalog = u32::from_le_bytes(data[17 * 2048 + 71..17 * 2048 + 75].try_into().unwrap()) as usize;
    let root = u32::from_le_bytes(data[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap()) as usize;
    // The catalog's validation entry with a header id that is not 1; the root directory overwritten.
    let mut bad_catalog = data.clone();
    bad_catalog[catalog * 2048] = 0x77;
    let mut bad_root = data.clone();
    bad_root[root * 2048..root * 2048 + 2048].fill(7);
    for (name, bytes, damage) in
        [("cat.iso", bad_catalog, "validation entry header id"), ("root.iso", bad_root, "record length 7")]
    {
        let p = d.path().join(name);
        fs::write(&p, bytes).unwrap();
        let (volume_id, blocks) = isoinfo_volume(&isoinfo, &p);
        assert_eq!(volume_id, "DAMAGED_VOL");
        let o = run(odix().arg("info").arg(&p));
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(&format!("Volume id: {volume_id}")), "{name}: {out}");
        assert!(out.contains(&format!("Volume space size: {blocks} blocks")), "{name}: {out}");
        assert!(stderr(&o).contains(damage), "{name}: {}", stderr(&o));
        let o = run(odix().args(["info", "--json"]).arg(&p));
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["iso9660"]["volume_id"], volume_id);
    }
    // xorriso finds the catalog damaged too.
    if let Some(xorriso) = require_tool("xorriso") {
        let o =
            run(Command::new(xorriso).arg("-indev").arg(d.path().join("cat.iso")).args(["-report_el_torito", "plain"]));
        assert!(stderr(&o).contains("No El Torito information"), "{}", stderr(&o));
    }
    let v: Value =
        serde_json::from_slice(&run(odix().args(["info", "--json"]).arg(d.path().join("cat.iso"))).stdout).unwrap();
    assert!(v["el_torito"]["error"].as_str().unwrap().contains("header id"));
}

#[test]
fn inputs_that_are_not_image_files_get_their_own_message() {
    let d = tmp();
    let dir = d.path().join("folder");
    fs::create_dir(&dir).unwrap();
    let fifo = d.path().join("pipe.iso");
    run_ok(Command::new("mkfifo").arg(&fifo));
    let cases = vec![(dir, "a directory"), (fifo, "a pipe")];
    if let (Some(chdman), Some(gen)) = (require_tool("chdman"), require_tool("genisoimage")) {
        let src = d.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("a.txt"), "a\n").unwrap();
        let iso = d.path().join("x.iso");
        run_ok(Command::new(gen).args(["-quiet", "-o"]).arg(&iso).arg(&src));
        let chd = d.path().join("x.chd");
        run_ok(Command::new(chdman).args(["createcd", "-i"]).arg(&iso).arg("-o").arg(&chd));
        // A CHD is an image odix reads (cli/tests/chd.rs checks it against chdman).
        let o = run_ok(odix().arg("ls").arg(&chd));
        assert!(String::from_utf8_lossy(&o.stdout).to_lowercase().contains("a.txt"), "{o:?}");
    }
    for (path, what) in cases {
        for cmd in ["info", "ls"] {
            // A pipe must not be opened (that blocks until a writer comes): a bounded run proves it is not.
            let mut child = odix()
                .arg(cmd)
                .arg(&path)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let start = std::time::Instant::now();
            while child.try_wait().unwrap().is_none() {
                assert!(start.elapsed().as_secs() < 20, "{cmd} {path:?} hangs");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let o = child.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(1), "{cmd} {path:?}");
            let err = stderr(&o);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with(&format!("odix: {}: {what}", path.display())), "{err}");
        }
    }
}

#[test]
fn bare_bin_of_raw_sectors_reads_like_its_cue() {
    let (Some(gen), Some(bchunk)) = (require_tool("genisoimage"), require_tool("bchunk")) else { return };
    let d = tmp();
    let src = d.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub").join("hello.txt"), "hello\n").unwrap();
    fs::write(src.join("data.bin"), (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>()).unwrap();
    let iso = d.path().join("x.iso");
    run_ok(Command::new(gen).args(["-quiet", "-R", "-o"]).arg(&iso).arg(&src));
    // x.cue + x.bin (raw Mode 1 sectors); then the BIN alone under another name.
    let cue = d.path().join("x.cue");
    run_ok(odix().arg("convert").arg(&iso).arg(&cue));
    let bare = d.path().join("alone.bin");
    fs::copy(d.path().join("x.bin"), &bare).unwrap();
    // bchunk's view of the same sectors: the 2048-byte user data, which must be the ISO image.
    run_ok(Command::new(bchunk).arg(d.path().join("x.bin")).arg(&cue).arg(d.path().join("bc")).current_dir(d.path()));
    let cooked = fs::read(d.path().join("bc01.iso")).unwrap();
    assert_eq!(cooked, fs::read(&iso).unwrap());
    let ls = |p: &Path| run_ok(odix().args(["ls", "-l", "-R"]).arg(p)).stdout;
    assert_eq!(ls(&bare), ls(&d.path().join("bc01.iso")));
    assert_eq!(ls(&bare), ls(&cue));
    let data = run_ok(odix().arg("cat").arg(&bare).arg("/data.bin")).stdout;
    assert_eq!(data, fs::read(src.join("data.bin")).unwrap());
    let info = run_ok(odix().args(["info", "--json"]).arg(&bare));
    let v: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["tracks"]["format"], "bin");
    assert_eq!(v["tracks"]["tracks"][0]["mode"], "MODE1/2352");
}

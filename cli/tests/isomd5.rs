//! The isomd5sum MD5 (`odix::edit::isomd5`) against the isomd5sum package's own tools: odix's implant gives the
//! same bytes as `implantisomd5` on images made by xorriso and by odix, `checkisomd5` accepts what odix implants,
//! and odix's check says what `checkisomd5` says on good, corrupted and small images.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix::edit::isomd5::{self, ImplantOptions};
use odix_testdata::{require_tool, run, run_ok};

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

/// A source folder with `kib` KiB of file data that does not repeat.
fn source(dir: &Path, kib: usize) -> PathBuf {
    let src = dir.join(format!("src{kib}"));
    fs::create_dir_all(src.join("sub")).unwrap();
    let big: Vec<u8> = (0..kib * 1024).map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    fs::write(src.join("big.bin"), big).unwrap();
    fs::write(src.join("sub/hello.txt"), b"hello\n").unwrap();
    src
}

/// The images of `kib` KiB of data made by xorriso and by odix (`None` for xorriso when it is missing).
fn images(dir: &Path, kib: usize) -> Vec<(String, PathBuf)> {
    let src = source(dir, kib);
    let mut out = Vec::new();
    if let Some(x) = require_tool("xorriso") {
        let iso = dir.join(format!("xorriso{kib}.iso"));
        run_ok(Command::new(x).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&src));
        out.push((format!("xorriso {kib} KiB"), iso));
    }
    let iso = dir.join(format!("odix{kib}.iso"));
    run_ok(odix().args(["mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&src));
    out.push((format!("odix {kib} KiB"), iso));
    out
}

fn copy(from: &Path, to: &Path) -> PathBuf {
    fs::copy(from, to).unwrap();
    to.to_path_buf()
}

/// `implantisomd5 -f`: the field is replaced whatever it holds.
const FORCE: ImplantOptions = ImplantOptions { supported: false, force: true, fragments: 20 };

fn implant(path: &Path, opts: &ImplantOptions) -> String {
    let f = OpenOptions::new().read(true).write(true).open(path).unwrap();
    isomd5::implant(&f, opts).unwrap()
}

fn check(path: &Path) -> Option<bool> {
    isomd5::check(&File::open(path).unwrap()).unwrap()
}

/// `checkisomd5`'s verdict: exit status 0 passes, 1 fails (or finds no MD5).
fn checkisomd5_passes(tool: &Path, path: &Path) -> bool {
    let o = run(Command::new(tool).arg(path));
    match o.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("checkisomd5 {}: status {other:?}", path.display()),
    }
}

/// The MD5 `checkisomd5 --md5sumonly` reads from the image.
fn md5sumonly(tool: &Path, path: &Path) -> Option<String> {
    let o = run(Command::new(tool).arg("--md5sumonly").arg(path));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines().next().and_then(|l| l.rsplit(' ').next()).filter(|m| m.len() == 32).map(str::to_string)
}

fn corrupt(path: &Path, at: u64) {
    let f = OpenOptions::new().read(true).write(true).open(path).unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x5a], at).unwrap();
}

fn volume_bytes(path: &Path) -> u64 {
    let f = File::open(path).unwrap();
    let mut n = [0u8; 4];
    f.read_exact_at(&mut n, 16 * 2048 + 84).unwrap();
    u32::from_be_bytes(n) as u64 * 2048
}

/// The same file as `implantisomd5 -f` (also with `--supported-iso` over an MD5 already there), on images by xorriso and odix, small and large; and the MD5 odix returns is the one
/// `checkisomd5 --md5sumonly` reads.
#[test]
fn implant_is_implantisomd5() {
    let (Some(implantisomd5), Some(checkisomd5)) = (require_tool("implantisomd5"), require_tool("checkisomd5")) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for kib in [200, 3000] {
        for (what, iso) in images(d.path(), kib) {
            // Over whatever the writer left in the field (xorriso: spaces; odix: zeros, which both refuse to
            // overwrite without --force).
            let theirs = copy(&iso, &d.path().join("theirs.iso"));
            run_ok(Command::new(&implantisomd5).arg("-f").arg(&theirs));
            let ours = copy(&iso, &d.path().join("ours.iso"));
            let md5 = implant(&ours, &FORCE);
            assert!(fs::read(&theirs).unwrap() == fs::read(&ours).unwrap(), "{what}: not implantisomd5 -f's bytes");
            assert_eq!(md5sumonly(&checkisomd5, &ours).as_deref(), Some(md5.as_str()), "{what}");

            // A second implant without force is refused, as implantisomd5 refuses it.
            let f = OpenOptions::new().read(true).write(true).open(&ours).unwrap();
            assert!(isomd5::implant(&f, &ImplantOptions::default()).is_err());
            assert!(!run(Command::new(&implantisomd5).arg(&theirs)).status.success());

            // --force --supported-iso over the MD5 already there.
            run_ok(Command::new(&implantisomd5).args(["--force", "--supported-iso"]).arg(&theirs));
            implant(&ours, &ImplantOptions { supported: true, force: true, ..ImplantOptions::default() });
            assert!(fs::read(&theirs).unwrap() == fs::read(&ours).unwrap(), "{what}: not implantisomd5 -f -S's bytes");
            let rec = isomd5::read_implanted(&File::open(&ours).unwrap()).unwrap().unwrap();
            assert!(rec.supported);
            assert_eq!(rec.fragment_count, 20);
            compared += 1;
        }
    }
    assert!(compared >= 2);
}

/// `checkisomd5` accepts what odix implants in images large enough for its fragment sums, and odix's check
/// agrees with it on good images, on images with a byte changed in the covered data, in the MD5 text, and in
/// the sectors left out at the end, on small images (where `checkisomd5` rejects even `implantisomd5`'s own
/// fragment sums) and on images with no MD5.
#[test]
fn check_agrees_with_checkisomd5() {
    let Some(checkisomd5) = require_tool("checkisomd5") else { return };
    let d = tempfile::tempdir().unwrap();
    let mut cases = 0;
    for kib in [200, 3000] {
        for (what, iso) in images(d.path(), kib) {
            let none = copy(&iso, &d.path().join("none.iso"));
            assert_eq!(check(&none), None, "{what}: no MD5");
            assert!(!checkisomd5_passes(&checkisomd5, &none));

            let good = copy(&iso, &d.path().join("good.iso"));
            implant(&good, &FORCE);
            let size = volume_bytes(&good);
            let variants: Vec<(&str, Option<u64>)> = vec![
                ("good", None),
                ("data byte changed", Some(size / 2)),
                ("first sector changed", Some(100)),
                ("last covered byte changed", Some(size - 15 * 2048 - 1)),
                ("left-out sector changed", Some(size - 2048)),
                ("MD5 text changed", Some(16 * 2048 + 883 + 20)),
            ];
            for (how, at) in variants {
                let img = copy(&good, &d.path().join("v.iso"));
                if let Some(at) = at {
                    corrupt(&img, at);
                }
                let theirs = checkisomd5_passes(&checkisomd5, &img);
                let ours = check(&img);
                assert_eq!(ours, Some(theirs), "{what}, {how}: odix and checkisomd5 disagree");
                if kib >= 3000 {
                    let expect = matches!(how, "good" | "left-out sector changed");
                    assert_eq!(theirs, expect, "{what}, {how}: checkisomd5");
                }
                cases += 1;
            }
        }
    }
    assert!(cases >= 12);
}

/// Other fragment counts than 20: `checkisomd5` reads the count from the image and accepts it; counts it
/// cannot read (fewer than 60 digits of sums) are refused.
#[test]
fn other_fragment_counts() {
    let Some(checkisomd5) = require_tool("checkisomd5") else { return };
    let d = tempfile::tempdir().unwrap();
    let (_, iso) = images(d.path(), 3000).pop().unwrap();
    for fragments in [4, 12, 60] {
        let img = copy(&iso, &d.path().join("f.iso"));
        implant(&img, &ImplantOptions { fragments, ..FORCE });
        assert!(checkisomd5_passes(&checkisomd5, &img), "{fragments} fragments");
        assert_eq!(check(&img), Some(true));
        corrupt(&img, 40 * 2048);
        assert!(!checkisomd5_passes(&checkisomd5, &img));
        assert_eq!(check(&img), Some(false));
    }
    let f = OpenOptions::new().read(true).write(true).open(&iso).unwrap();
    for fragments in [0, 1, 7, 61] {
        assert!(isomd5::implant(&f, &ImplantOptions { fragments, ..FORCE }).is_err(), "{fragments}");
    }
}

/// `odix verify` reports the isomd5sum MD5 where one is implanted, agreeing with `checkisomd5`, and adds
/// nothing for an image without one.
#[test]
fn verify_reports_isomd5sum() {
    let Some(checkisomd5) = require_tool("checkisomd5") else { return };
    let d = tempfile::tempdir().unwrap();
    let (_, iso) = images(d.path(), 3000).pop().unwrap();
    let verify = |img: &Path| {
        let o = run(odix().args(["verify", "--json"]).arg(img));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let check = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "isomd5sum").cloned();
        (o.status.code(), check)
    };
    let (code, check) = verify(&iso);
    assert_eq!((code, check), (Some(0), None));
    let img = copy(&iso, &d.path().join("v.iso"));
    implant(&img, &FORCE);
    assert!(checkisomd5_passes(&checkisomd5, &img));
    let (code, check) = verify(&img);
    assert_eq!(code, Some(0));
    assert_eq!(check.unwrap()["result"], "ok");
    let text = String::from_utf8_lossy(&run(odix().arg("verify").arg(&img)).stdout).into_owned();
    assert!(text.contains("isomd5sum: OK"), "{text}");
    corrupt(&img, 100 * 2048);
    assert!(!checkisomd5_passes(&checkisomd5, &img));
    let (code, check) = verify(&img);
    assert_eq!(code, Some(1));
    assert_eq!(check.unwrap()["result"], "failed");
}

//! `odix mkiso` against independent readers: bsdtar, xorriso, 7-Zip, pycdlib, isoinfo and the Linux kernel must
//! all read back the tree odix was given.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use odix_testdata::{compare_trees, random_tree, require_tool, run, run_ok, tricky_tree, vm_run};
use odix_testdata::{CompareOptions, TreeOptions};
use proptest::prelude::*;

/// Later than every time in the test trees (2100-01-01), so nothing is clamped unless a test asks.
const SDE: &str = "4102444800";

fn odix() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_odix"));
    c.env("SOURCE_DATE_EPOCH", SDE);
    c
}

/// Builds `src` into `out` with `odix mkiso --hidden --quiet` plus `extra` options.
fn mkiso(src: &Path, out: &Path, extra: &[&str]) {
    run_ok(odix().arg("mkiso").arg("-o").arg(out).args(["--hidden", "--quiet"]).args(extra).arg(src));
}

fn tricky(dir: &Path, opts: &TreeOptions) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    tricky_tree(&src, opts).unwrap();
    src
}

fn check(diffs: Vec<String>, what: &str) {
    assert!(diffs.is_empty(), "{what}: {} differences:\n{}", diffs.len(), diffs.join("\n"));
}

fn bsdtar_check(src: &Path, iso: &Path, dir: &Path) {
    let Some(bsdtar) = require_tool("bsdtar") else { return };
    let x = dir.join("bsdtar");
    fs::create_dir(&x).unwrap();
    run_ok(Command::new(bsdtar).arg("xf").arg(iso).arg("-C").arg(&x));
    check(compare_trees(src, &x, &CompareOptions::default()), "bsdtar");
}

fn xorriso_check(src: &Path, iso: &Path, dir: &Path) {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let x = dir.join("xorriso");
    run_ok(
        Command::new(xorriso)
            .args(["-osirrox", "on", "-hardlinks", "on", "-indev"])
            .arg(iso)
            .args(["-extract", "/"])
            .arg(&x),
    );
    // xorriso shows the (empty) relocation directory and does not restore symlink times: compare everything but
    // symlinks, then symlink targets alone.
    let ignore = vec!["rr_moved".to_string()];
    let o = CompareOptions { symlinks: false, ignore: ignore.clone(), ..CompareOptions::default() };
    check(compare_trees(src, &x, &o), "xorriso");
    let o = CompareOptions { symlinks: true, ignore, ..CompareOptions::contents_only() };
    check(compare_trees(src, &x, &o), "xorriso symlinks");
}

#[test]
fn tricky_tree_bsdtar_and_xorriso() {
    let t = tempfile::tempdir().unwrap();
    let src = tricky(t.path(), &TreeOptions::default());
    let iso = t.path().join("out.iso");
    mkiso(&src, &iso, &[]);
    bsdtar_check(&src, &iso, t.path());
    xorriso_check(&src, &iso, t.path());
}

#[test]
fn tricky_tree_level4_and_rational_rock() {
    let t = tempfile::tempdir().unwrap();
    let src = tricky(t.path(), &TreeOptions::default());
    let iso = t.path().join("l4.iso");
    mkiso(&src, &iso, &["--iso-level", "4"]);
    bsdtar_check(&src, &iso, t.path());
    let r = t.path().join("r.iso");
    mkiso(&src, &r, &["--rational-rock"]);
    let Some(bsdtar) = require_tool("bsdtar") else { return };
    let x = t.path().join("rx");
    fs::create_dir(&x).unwrap();
    run_ok(Command::new(bsdtar).arg("xf").arg(&r).arg("-C").arg(&x));
    let o = CompareOptions { modes: false, ..CompareOptions::default() };
    check(compare_trees(&src, &x, &o), "bsdtar --rational-rock");
    use std::os::unix::fs::PermissionsExt;
    let m = fs::metadata(x.join("private.txt")).unwrap().permissions().mode() & 0o777;
    assert_eq!(m, 0o444, "rational rock makes files readable by all");
}

/// The tree 7-Zip and the kernel's Joliet view can hold: no symlinks (Joliet has none), names within 64 UCS-2
/// characters.
fn joliet_tree_opts() -> TreeOptions {
    TreeOptions { symlinks: false, long_names: false, non_bmp: false, ..TreeOptions::default() }
}

#[test]
fn sevenzip_extracts_joliet_names() {
    let Some(sz) = require_tool("7z") else { return };
    let t = tempfile::tempdir().unwrap();
    let src = tricky(t.path(), &joliet_tree_opts());
    let iso = t.path().join("out.iso");
    mkiso(&src, &iso, &[]);
    let x = t.path().join("7z");
    run_ok(Command::new(sz).arg("x").arg("-y").arg(format!("-o{}", x.display())).arg(&iso).stdout(Stdio::null()));
    check(compare_trees(&src, &x, &CompareOptions::contents_only()), "7z");
}

const PYCDLIB_WALK: &str = r#"
import sys, hashlib, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
for kind in ("rr", "joliet"):
    for root, dirs, files in iso.walk(**{kind + "_path": "/"}):
        for d in dirs:
            print(kind, "d", (root.rstrip("/") + "/" + d).lstrip("/"), 0, "-", sep="\t")
        for f in files:
            p = root.rstrip("/") + "/" + f
            rec = iso.get_record(**{kind + "_path": p})
            if kind == "rr" and rec.rock_ridge is not None and rec.rock_ridge.is_symlink():
                print(kind, "l", p.lstrip("/"), 0, rec.rock_ridge.symlink_path().decode(), sep="\t")
                continue
            h = hashlib.sha256()
            with iso.open_file_from_iso(**{kind + "_path": p}) as fp:
                data = fp.read()
            h.update(data)
            print(kind, "f", p.lstrip("/"), len(data), h.hexdigest(), sep="\t")
"#;

/// `kind\ttype\tpath\tsize\thash-or-target` lines of a folder, as the pycdlib script prints them.
fn listing(kind: &str, root: &Path, symlinks: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in walkdir::WalkDir::new(root).min_depth(1) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let ft = e.file_type();
        if ft.is_dir() {
            out.insert(format!("{kind}\td\t{rel}\t0\t-"));
        } else if ft.is_symlink() {
            if symlinks {
                let t = fs::read_link(e.path()).unwrap();
                out.insert(format!("{kind}\tl\t{rel}\t0\t{}", t.display()));
            }
        } else {
            let data = fs::read(e.path()).unwrap();
            out.insert(format!("{kind}\tf\t{rel}\t{}\t{}", data.len(), sha256_hex(&data)));
        }
    }
    out
}

fn sha256_hex(data: &[u8]) -> String {
    let mut p = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    p.stdin.take().unwrap().write_all(data).unwrap();
    let o = p.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

#[test]
fn pycdlib_walks_rock_ridge_and_joliet() {
    if !odix_testdata::oracle::require_python_module("pycdlib") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    // Joliet names must equal the source names for the comparison: keep them short and in the BMP.
    let opts = TreeOptions { long_names: false, non_bmp: false, ..TreeOptions::default() };
    let src = tricky(t.path(), &opts);
    let iso = t.path().join("out.iso");
    mkiso(&src, &iso, &[]);
    let out = run_ok(Command::new("python3").args(["-c", PYCDLIB_WALK]).arg(&iso));
    let got: BTreeSet<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    let mut want = listing("rr", &src, true);
    // In Joliet a symlink is an empty file.
    for l in listing("joliet", &src, true) {
        let f: Vec<&str> = l.split('\t').collect();
        if f[1] == "l" {
            want.insert(format!("joliet\tf\t{}\t0\t{}", f[2], sha256_hex(b"")));
        } else {
            want.insert(l);
        }
    }
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).filter(|l| !l.contains("rr_moved")).collect();
    assert!(missing.is_empty() && extra.is_empty(), "pycdlib: missing {missing:#?}\nextra {extra:#?}");
}

#[test]
fn isoinfo_volume_id_and_listing() {
    let Some(isoinfo) = require_tool("isoinfo") else { return };
    let t = tempfile::tempdir().unwrap();
    let src = tricky(t.path(), &TreeOptions::default());
    let iso = t.path().join("out.iso");
    mkiso(&src, &iso, &["-V", "My_Volume", "--publisher", "odix tests"]);
    let d = run_ok(Command::new(&isoinfo).arg("-d").arg("-i").arg(&iso));
    let d = String::from_utf8_lossy(&d.stdout);
    assert!(d.contains("Volume id: My_Volume"), "{d}");
    assert!(d.contains("Publisher id: odix tests"), "{d}");
    assert!(d.contains("Rock Ridge signatures version 1 found"), "{d}");
    assert!(d.contains("Joliet with UCS level 3 found"), "{d}");
    // isoinfo does not follow CL: relocated directories are listed under /rr_moved, so compare names only.
    let l = run_ok(Command::new(&isoinfo).args(["-R", "-f", "-i"]).arg(&iso));
    let names: BTreeSet<String> =
        String::from_utf8_lossy(&l.stdout).lines().filter_map(|p| p.rsplit('/').next().map(str::to_string)).collect();
    for e in walkdir::WalkDir::new(&src).min_depth(1) {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(names.contains(&n), "isoinfo -R -f does not list {n:?}");
    }
    // Default volume id: the folder name, upper-cased.
    let iso2 = t.path().join("default.iso");
    mkiso(&src, &iso2, &[]);
    let d = run_ok(Command::new(&isoinfo).arg("-d").arg("-i").arg(&iso2));
    assert!(String::from_utf8_lossy(&d.stdout).contains("Volume id: SRC"));
}

fn plain_names(isoinfo: &Path, iso: &Path) -> Vec<String> {
    let l = run_ok(Command::new(isoinfo).args(["-f", "-i"]).arg(iso));
    String::from_utf8_lossy(&l.stdout).lines().map(str::to_string).collect()
}

#[test]
fn level1_and_level2_name_rules() {
    let Some(isoinfo) = require_tool("isoinfo") else { return };
    let t = tempfile::tempdir().unwrap();
    let src = tricky(t.path(), &TreeOptions::default());
    for level in ["1", "2"] {
        let iso = t.path().join(format!("l{level}.iso"));
        mkiso(&src, &iso, &["--iso-level", level]);
        let paths = plain_names(&isoinfo, &iso);
        let mut seen = BTreeSet::new();
        for p in &paths {
            assert!(seen.insert(p.clone()), "level {level}: {p} listed twice");
            let comps: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            assert!(comps.len() <= 8, "level {level}: {p} is deeper than 8 levels");
            assert!(p.len() <= 255, "level {level}: {p} is longer than 255 bytes");
            for (i, c) in comps.iter().enumerate() {
                let is_last = i + 1 == comps.len();
                let (name, file) = match c.strip_suffix(";1") {
                    Some(n) => (n, true),
                    None => (*c, false),
                };
                assert!(
                    name.chars().all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_' || ch == '.'),
                    "level {level}: {c:?} has characters outside the d-characters"
                );
                if file {
                    assert!(is_last, "{p}: a file in the middle of a path");
                    let (base, ext) = name.split_once('.').expect("file identifiers hold a dot");
                    assert!(!ext.contains('.'), "{c}: two dots");
                    if level == "1" {
                        assert!(base.len() <= 8 && ext.len() <= 3, "level 1: {c} is not 8.3");
                    } else {
                        assert!(base.len() + ext.len() <= 30, "level 2: {c} is too long");
                    }
                } else {
                    assert!(!name.contains('.'), "{c}: dot in a directory name");
                    assert!(name.len() <= if level == "1" { 8 } else { 31 }, "level {level}: {c} too long");
                }
            }
        }
        // Every source file is somewhere in the image: same count of files.
        let files = walkdir::WalkDir::new(&src)
            .min_depth(1)
            .into_iter()
            .filter(|e| e.as_ref().map(|e| !e.file_type().is_dir()).unwrap_or(false))
            .count();
        assert_eq!(paths.iter().filter(|p| p.ends_with(";1")).count(), files, "level {level}: file count");
    }
}

#[test]
fn reproducible_and_streaming() {
    let t = tempfile::tempdir().unwrap();
    let src = tricky(t.path(), &TreeOptions::default());
    let a = t.path().join("a.iso");
    let b = t.path().join("b.iso");
    let build = |out: &Path| {
        run_ok(
            odix()
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .args(["mkiso", "--hidden", "--quiet", "-o"])
                .arg(out)
                .arg(&src),
        )
    };
    build(&a);
    build(&b);
    let ab = fs::read(&a).unwrap();
    assert!(ab == fs::read(&b).unwrap(), "two builds with SOURCE_DATE_EPOCH differ");
    let piped = build(Path::new("-")).stdout;
    assert!(piped == ab, "-o - differs from the file output");
    // Times later than SOURCE_DATE_EPOCH are clamped: the 2040 file reads back at the epoch.
    if let Some(bsdtar) = require_tool("bsdtar") {
        let x = t.path().join("x");
        fs::create_dir(&x).unwrap();
        run_ok(Command::new(bsdtar).arg("xf").arg(&a).arg("-C").arg(&x));
        use std::os::unix::fs::MetadataExt;
        assert_eq!(fs::metadata(x.join("big.bin")).unwrap().mtime(), 1_700_000_000);
    }
    // Nothing is left behind on failure.
    let bad = t.path().join("fail.iso");
    let o = run(odix().arg("mkiso").arg("-o").arg(&bad).arg(t.path().join("does-not-exist")));
    assert!(!o.status.success());
    let left: Vec<_> = fs::read_dir(t.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().contains("fail.iso")), "left behind: {left:?}");
}

#[test]
fn options_graft_exclude_sort_dedup_zisofs() {
    let Some(bsdtar) = require_tool("bsdtar") else { return };
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    fs::create_dir_all(a.join("keep")).unwrap();
    fs::write(a.join("keep/one.txt"), "same contents\n".repeat(5000)).unwrap();
    fs::write(a.join("keep/two.txt"), "same contents\n".repeat(5000)).unwrap();
    fs::write(a.join("skip.o"), "object").unwrap();
    fs::write(a.join(".dot"), "hidden").unwrap();
    let extra = t.path().join("extra.txt");
    fs::write(&extra, "grafted\n").unwrap();
    let sort = t.path().join("sort");
    fs::write(&sort, format!("{} 10\n", a.join("keep/two.txt").display())).unwrap();
    let iso = t.path().join("o.iso");
    run_ok(
        odix()
            .args(["mkiso", "--quiet", "--exclude", "*.o", "--dedup", "--sort"])
            .arg(&sort)
            .arg("-o")
            .arg(&iso)
            .arg(&a)
            .arg(format!("docs/more/renamed.txt={}", extra.display())),
    );
    let x = t.path().join("x");
    fs::create_dir(&x).unwrap();
    run_ok(Command::new(&bsdtar).arg("xf").arg(&iso).arg("-C").arg(&x));
    assert_eq!(fs::read_to_string(x.join("docs/more/renamed.txt")).unwrap(), "grafted\n");
    assert!(!x.join("skip.o").exists(), "--exclude");
    assert!(!x.join(".dot").exists(), "hidden files are left out without --hidden");
    assert_eq!(fs::read(x.join("keep/one.txt")).unwrap(), fs::read(a.join("keep/one.txt")).unwrap());
    assert_eq!(fs::read(x.join("keep/two.txt")).unwrap(), fs::read(a.join("keep/two.txt")).unwrap());
    // Deduplicated: the image holds the 70000 bytes (35 sectors) once.
    let size = fs::metadata(&iso).unwrap().len();
    let undup = t.path().join("undup.iso");
    run_ok(
        odix()
            .args(["mkiso", "--quiet", "--exclude", "*.o", "--sort"])
            .arg(&sort)
            .arg("-o")
            .arg(&undup)
            .arg(&a)
            .arg(format!("docs/more/renamed.txt={}", extra.display())),
    );
    assert_eq!(fs::metadata(&undup).unwrap().len(), size + 35 * 2048, "--dedup");
    let plain = t.path().join("plain.iso");
    run_ok(odix().args(["mkiso", "--quiet", "-o"]).arg(&plain).arg(&a));
    // zisofs: smaller, and xorriso (which knows ZF) reads it back whole.
    let z = t.path().join("z.iso");
    run_ok(odix().args(["mkiso", "--quiet", "--zisofs", "-o"]).arg(&z).arg(&a));
    assert!(fs::metadata(&z).unwrap().len() < fs::metadata(&plain).unwrap().len(), "--zisofs saved nothing");
    if let Some(xorriso) = require_tool("xorriso") {
        let zx = t.path().join("zx");
        run_ok(Command::new(xorriso).args(["-osirrox", "on", "-indev"]).arg(&z).args(["-extract", "/"]).arg(&zx));
        assert_eq!(fs::read(zx.join("keep/one.txt")).unwrap(), fs::read(a.join("keep/one.txt")).unwrap());
    }
}

/// Mounts `iso` in the VM (Rock Ridge, then `norock` for Joliet) and copies each view out with `cp -a`.
fn kernel_views(iso: &Path, share: &Path) -> Option<(PathBuf, PathBuf)> {
    let vm = vm_run()?;
    let rr = share.join("rr");
    let jo = share.join("joliet");
    let script = format!(
        "set -e; mkdir -p /mnt/a /mnt/b; mount -t iso9660 -o ro /dev/sr0 /mnt/a; cp -a /mnt/a/. {rr}/; umount /mnt/a; \
         mount -t iso9660 -o ro,norock,check=strict /dev/sr0 /mnt/b; cp -a /mnt/b/. {jo}/; umount /mnt/b",
        rr = rr.display(),
        jo = jo.display()
    );
    fs::create_dir(&rr).unwrap();
    fs::create_dir(&jo).unwrap();
    run_ok(Command::new(vm).arg("--disc").arg(iso).arg("--share").arg(share).args(["--", "sh", "-c", &script]));
    Some((rr, jo))
}

#[test]
fn linux_kernel_mounts_rock_ridge_and_joliet() {
    // The kernel (6.1) keeps Rock Ridge times in 32-bit seconds: times after January 2038 read back wrong
    // whatever wrote the image, so the trees for it keep 2020 times.
    let t = tempfile::tempdir().unwrap();
    let src = tricky(t.path(), &TreeOptions { wide_mtimes: false, ..joliet_tree_opts() });
    let iso = t.path().join("out.iso");
    mkiso(&src, &iso, &[]);
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    let Some((rr, jo)) = kernel_views(&iso, &share) else { return };
    // The kernel gives each name its own inode, so hard links come back as equal copies; it shows the (empty)
    // relocation directory.
    let o = CompareOptions { hardlinks: false, ignore: vec!["rr_moved".into()], ..CompareOptions::default() };
    check(compare_trees(&src, &rr, &o), "kernel Rock Ridge");
    check(compare_trees(&src, &jo, &CompareOptions::contents_only()), "kernel Joliet");

    // The full tricky tree (symlinks, long names) through Rock Ridge.
    let t2 = tempfile::tempdir().unwrap();
    let src2 = tricky(t2.path(), &TreeOptions { wide_mtimes: false, ..TreeOptions::default() });
    let iso2 = t2.path().join("full.iso");
    mkiso(&src2, &iso2, &[]);
    let share2 = t2.path().join("share");
    fs::create_dir(&share2).unwrap();
    let Some((rr2, _)) = kernel_views(&iso2, &share2) else { return };
    check(compare_trees(&src2, &rr2, &o), "kernel Rock Ridge, full tree");
}

#[test]
fn file_over_4gib_multi_extent() {
    if !odix_testdata::oracle::slow_tests() {
        eprintln!("skipping: set ODIX_SLOW_TESTS=1");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    fs::create_dir(&src).unwrap();
    let big = src.join("big.img");
    let f = fs::File::create(&big).unwrap();
    let size: u64 = (4 << 30) + 12345;
    f.set_len(size).unwrap();
    drop(f);
    let mut f = fs::OpenOptions::new().write(true).open(&big).unwrap();
    use std::io::{Seek, SeekFrom};
    for at in [0u64, (4 << 30) - 2048, size - 5] {
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(b"odix!").unwrap();
    }
    drop(f);
    let iso = t.path().join("big.iso");
    mkiso(&src, &iso, &[]);
    if let Some(bsdtar) = require_tool("bsdtar") {
        let x = t.path().join("x");
        fs::create_dir(&x).unwrap();
        run_ok(Command::new(bsdtar).arg("xf").arg(&iso).arg("-C").arg(&x));
        check(compare_trees(&src, &x, &CompareOptions::contents_only()), "bsdtar, 4 GiB file");
        fs::remove_dir_all(&x).unwrap();
    }
    if let Some(vm) = vm_run() {
        let script = format!(
            "mount -t iso9660 -o ro /dev/sr0 /mnt && cmp /mnt/big.img {} && stat -c %s /mnt/big.img",
            big.display()
        );
        let o = run_ok(Command::new(vm).arg("--disc").arg(&iso).args(["--timeout", "600", "--", "sh", "-c", &script]));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), size.to_string());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]
    #[test]
    fn random_trees_read_back(seed in any::<u64>(), entries in 1usize..120, unicode in any::<bool>()) {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir(&src).unwrap();
        random_tree(&src, seed, entries, unicode).unwrap();
        let iso = t.path().join("r.iso");
        mkiso(&src, &iso, &[]);
        bsdtar_check(&src, &iso, t.path());
        xorriso_check(&src, &iso, t.path());
    }
}

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

/// Builds `src` into `out` with `odix mkiso --quiet` plus `extra` options.
fn mkiso(src: &Path, out: &Path, extra: &[&str]) {
    run_ok(odix().arg("mkiso").arg("-o").arg(out).arg("--quiet").args(extra).arg(src));
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
            .args(["mkiso", "--quiet", "--no-hidden", "--exclude", "*.o", "--dedup", "--sort"])
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
    assert!(!x.join(".dot").exists(), "hidden files are left out with --no-hidden");
    assert_eq!(fs::read(x.join("keep/one.txt")).unwrap(), fs::read(a.join("keep/one.txt")).unwrap());
    assert_eq!(fs::read(x.join("keep/two.txt")).unwrap(), fs::read(a.join("keep/two.txt")).unwrap());
    // Deduplicated: the image holds the 70000 bytes (35 sectors) once.
    let size = fs::metadata(&iso).unwrap().len();
    let undup = t.path().join("undup.iso");
    run_ok(
        odix()
            .args(["mkiso", "--quiet", "--no-hidden", "--exclude", "*.o", "--sort"])
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

/// A reader's listing made comparable between images whose extents differ: an `isoinfo -l` or `bsdtar tv` line
/// without the extent in brackets, and without the size of a directory (its records grow by the attributes).
fn listing_without_extents(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let l = match (l.find('['), l.find(']')) {
                (Some(a), Some(b)) if a < b => format!("{}{}", &l[..a], &l[b + 1..]),
                _ => l.to_string(),
            };
            let mut f: Vec<&str> = l.split_whitespace().collect();
            if f.first().is_some_and(|m| m.starts_with('d')) && f.len() > 4 {
                f[4] = "-";
            }
            f.join(" ")
        })
        .collect()
}

/// `odix mkisofs -R -J --md5` adds libisofs's checksum array and its AAIP `AL` entries (`isofs.ca` on the root,
/// `isofs.cx` on each file): `xorriso -check_md5_r` matches every file of the tricky tree (hard links, empty files,
/// relocated deep folders, symlinks), and the readers that do not know AAIP read the same tree as without
/// `--md5`: isoinfo's and bsdtar's listings (less the extents, which the MD5 tags move), 7-Zip's, pycdlib's, and
/// bsdtar's extraction and the kernel's Rock Ridge mount equal the source.
#[test]
fn mkisofs_md5_attributes_leave_other_readers_alone() {
    let t = tempfile::tempdir().unwrap();
    let opts = TreeOptions { wide_mtimes: false, long_names: false, non_bmp: false, ..TreeOptions::default() };
    let src = tricky(t.path(), &opts);
    let build = |name: &str, extra: &[&str]| -> PathBuf {
        let d = t.path().join(name);
        fs::create_dir(&d).unwrap();
        let iso = d.join("img.iso");
        run_ok(odix().args(["mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&iso).args(extra).arg(&src));
        iso
    };
    let plain = build("plain", &[]);
    let md5 = build("md5", &["--md5"]);
    if let Some(xorriso) = require_tool("xorriso") {
        let o = run(Command::new(&xorriso).args(["-md5", "on", "-indev"]).arg(&md5).args([
            "-check_md5_r",
            "FAILURE",
            "/",
            "--",
        ]));
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success() && text.contains("File contents and their MD5 checksums match"), "{text}");
        assert!(!text.contains("No MD5"), "{text}");
    }
    // A reader's output for `img.iso`, run in the image's folder.
    let view = |tool: &Path, iso: &Path, args: &[&str]| -> String {
        let o = run(Command::new(tool).current_dir(iso.parent().unwrap()).args(args).arg("img.iso"));
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success(), "{} {args:?} on {}:\n{text}", tool.display(), iso.display());
        text
    };
    if let Some(isoinfo) = require_tool("isoinfo") {
        let (a, b) = (view(&isoinfo, &plain, &["-R", "-l", "-i"]), view(&isoinfo, &md5, &["-R", "-l", "-i"]));
        assert!(a.contains("hard_a.txt") && a.contains("bottom.txt"), "{a}");
        assert_eq!(listing_without_extents(&a), listing_without_extents(&b), "isoinfo -R -l");
    }
    if let Some(bsdtar) = require_tool("bsdtar") {
        let (a, b) = (view(&bsdtar, &plain, &["tvf"]), view(&bsdtar, &md5, &["tvf"]));
        assert_eq!(listing_without_extents(&a), listing_without_extents(&b), "bsdtar tv");
        bsdtar_check(&src, &md5, t.path());
    }
    if let Some(sz) = require_tool("7z") {
        let files = |text: &str| -> Vec<String> {
            text.lines().filter(|l| l.starts_with("Path = ") || l.starts_with("Size = ")).map(str::to_string).collect()
        };
        let (a, b) = (view(&sz, &plain, &["l", "-slt"]), view(&sz, &md5, &["l", "-slt"]));
        assert!(!b.contains("ERROR") && !b.contains("Warnings"), "{b}");
        assert_eq!(files(&a), files(&b), "7z l");
    }
    if odix_testdata::oracle::require_python_module("pycdlib") {
        let py = |iso: &Path| run_ok(Command::new("python3").args(["-c", PYCDLIB_WALK]).arg(iso)).stdout;
        let (a, b) = (py(&plain), py(&md5));
        assert!(!a.is_empty());
        assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b), "pycdlib");
    }
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    let Some((rr, _)) = kernel_views(&md5, &share) else { return };
    let o = CompareOptions { hardlinks: false, ignore: vec!["rr_moved".into()], ..CompareOptions::default() };
    check(compare_trees(&src, &rr, &o), "kernel Rock Ridge, --md5");
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

// ---- odix mkisofs: per-tree hiding, volume dates and directory modes, against genisoimage and xorriso ----

/// `src/{a/b.txt, c.txt, d/e/f.txt}` and `src2/{k/x.txt, y.txt}` under `dir`, each file with unique contents.
fn hide_tree(dir: &Path) {
    for (p, body) in [
        ("src/a/b.txt", "hidden-data-b"),
        ("src/c.txt", "hidden-data-c"),
        ("src/d/e/f.txt", "hidden-data-f"),
        ("src2/k/x.txt", "hidden-data-x"),
        ("src2/y.txt", "hidden-data-y"),
    ] {
        let f = dir.join(p);
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(f, body).unwrap();
    }
}

/// The pathspecs the hiding and mode tests build from (relative to the working directory, as in mkisofs).
const HIDE_SPECS: [&str; 3] = ["src", "g/h=src2", "p/q/r.txt=src/c.txt"];

/// Builds `out` in `dir` with `tool` (`odix`, `genisoimage` or `xorriso`) from [`HIDE_SPECS`] plus `opts`.
fn mkisofs_with(tool: &str, dir: &Path, out: &str, opts: &[&str]) {
    let mut c = match tool {
        "odix" => {
            let mut c = odix();
            c.arg("mkisofs");
            c
        }
        "xorriso" => {
            let mut c = Command::new(require_tool("xorriso").unwrap());
            c.args(["-as", "mkisofs"]);
            c
        }
        other => Command::new(require_tool(other).unwrap()),
    };
    c.current_dir(dir).args(["-quiet", "-R", "-J", "-graft-points", "-o", out]).args(opts).args(HIDE_SPECS);
    run_ok(&mut c);
}

/// The paths isoinfo lists in one tree of `iso` (`-R` for ISO 9660 with Rock Ridge, `-J` for Joliet).
fn isoinfo_paths(iso: &Path, tree: &str) -> BTreeSet<String> {
    let isoinfo = require_tool("isoinfo").unwrap();
    let o = run_ok(Command::new(isoinfo).arg(tree).arg("-f").arg("-i").arg(iso));
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

#[test]
fn mkisofs_hide_matches_genisoimage_and_xorriso() {
    let (Some(_), Some(_), Some(_)) = (require_tool("genisoimage"), require_tool("xorriso"), require_tool("isoinfo"))
    else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    hide_tree(dir);
    // A name, a directory by name (its subtree goes), disk paths as the pathspec spells them, globs where `*`
    // stays inside one component, and forms that match nothing (image paths, a trailing `/`, graft directories).
    let patterns = [
        "c.txt",
        "a",
        "src/a",
        "/a",
        "a/b.txt",
        "src/a/b.txt",
        "*.txt",
        "d/e",
        "src2/k",
        "/g/h/k",
        "k",
        "src/d*",
        "src/*.txt",
        "g",
        "h",
        "src2",
        "src",
        "*/k",
        "src2/*",
        "?.txt",
        "[ab]",
        "s*.txt",
        "src/",
        "r.txt",
    ];
    for opt in ["-hide", "-hide-joliet"] {
        for p in patterns {
            mkisofs_with("odix", dir, "o.iso", &[opt, p]);
            mkisofs_with("genisoimage", dir, "g.iso", &[opt, p]);
            mkisofs_with("xorriso", dir, "x.iso", &[opt, p]);
            for tree in ["-R", "-J"] {
                let o = isoinfo_paths(&dir.join("o.iso"), tree);
                let g = isoinfo_paths(&dir.join("g.iso"), tree);
                let x = isoinfo_paths(&dir.join("x.iso"), tree);
                // The two differ only under /p/q, made for the file grafted under another name (src/c.txt as
                // r.txt): genisoimage matches the file's name in the image, xorriso the source's name, and xorriso
                // also matches /p/q as if it were the source's folder. odix hides the file when either would and,
                // as genisoimage, never hides a directory made for a graft point.
                let differ: Vec<&String> = g.symmetric_difference(&x).collect();
                assert!(differ.iter().all(|d| d.starts_with("/p/q")), "{opt} {p}: {tree}: {differ:?}");
                let mut both: BTreeSet<String> = g.intersection(&x).cloned().collect();
                if g.contains("/p/q") {
                    both.insert("/p/q".into());
                    // r.txt itself is hidden by xorriso only when xorriso kept /p/q.
                    if g.contains("/p/q/r.txt") && !x.contains("/p/q") {
                        both.insert("/p/q/r.txt".into());
                    }
                }
                assert_eq!(o, both, "{opt} {p}: {tree} tree against genisoimage and xorriso");
            }
        }
    }
    // -hide-list/-hide-joliet-list read one pattern a line; both options at once hide from each tree its own.
    fs::write(dir.join("iso.list"), "src/d\n/no/such/path\n").unwrap();
    fs::write(dir.join("joliet.list"), "k\nsrc/*/b.txt\n").unwrap();
    let opts = ["-hide-list", "iso.list", "-hide-joliet-list", "joliet.list", "-hide", "y.txt"];
    mkisofs_with("odix", dir, "o.iso", &opts);
    mkisofs_with("genisoimage", dir, "g.iso", &opts);
    let iso = dir.join("o.iso");
    let want_rr: BTreeSet<String> =
        ["/a", "/a/b.txt", "/c.txt", "/g", "/g/h", "/g/h/k", "/g/h/k/x.txt", "/p", "/p/q", "/p/q/r.txt"]
            .map(String::from)
            .into();
    let want_j: BTreeSet<String> =
        ["/a", "/c.txt", "/d", "/d/e", "/d/e/f.txt", "/g", "/g/h", "/g/h/y.txt", "/p", "/p/q", "/p/q/r.txt"]
            .map(String::from)
            .into();
    assert_eq!(isoinfo_paths(&iso, "-R"), want_rr, "isoinfo -R");
    assert_eq!(isoinfo_paths(&iso, "-J"), want_j, "isoinfo -J");
    assert_eq!(isoinfo_paths(&dir.join("g.iso"), "-R"), want_rr, "genisoimage, isoinfo -R");
    assert_eq!(isoinfo_paths(&dir.join("g.iso"), "-J"), want_j, "genisoimage, isoinfo -J");
    // Other readers of odix's image: xorriso (Rock Ridge tree), 7-Zip (Joliet), pycdlib (both).
    let xorriso = require_tool("xorriso").unwrap();
    let o = run_ok(Command::new(&xorriso).arg("-indev").arg(&iso).args(["-find", "/", "-exec", "echo"]));
    let got: BTreeSet<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim_matches('\'').to_string())
        .filter(|l| l != "/")
        .collect();
    assert_eq!(got, want_rr, "xorriso -find");
    if let Some(sz) = require_tool("7z") {
        assert_eq!(sevenzip_paths(&sz, &iso, &[]), want_j, "7z l (Joliet)");
    }
    if odix_testdata::oracle::require_python_module("pycdlib") {
        let out = run_ok(Command::new("python3").args(["-c", PYCDLIB_WALK]).arg(&iso));
        let got: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{} /{}", f[0], f[2])
            })
            .collect();
        let want: BTreeSet<String> =
            want_rr.iter().map(|p| format!("rr {p}")).chain(want_j.iter().map(|p| format!("joliet {p}"))).collect();
        assert_eq!(got, want, "pycdlib walk");
    }
    // The Linux kernel, with Rock Ridge and through Joliet.
    let share = dir.join("share");
    fs::create_dir(&share).unwrap();
    if let Some((rr, jo)) = kernel_views(&iso, &share) {
        let names = |root: &Path| -> BTreeSet<String> {
            walkdir::WalkDir::new(root)
                .min_depth(1)
                .into_iter()
                .map(|e| format!("/{}", e.unwrap().path().strip_prefix(root).unwrap().display()))
                .collect()
        };
        assert_eq!(names(&rr), want_rr, "kernel, Rock Ridge");
        assert_eq!(names(&jo), want_j, "kernel, Joliet");
    }
    // Hidden files keep their data in the image.
    let bytes = fs::read(&iso).unwrap();
    for body in ["hidden-data-c", "hidden-data-f", "hidden-data-y", "hidden-data-x", "hidden-data-b"] {
        assert!(bytes.windows(body.len()).any(|w| w == body.as_bytes()), "{body} is missing from the image");
    }
}

/// Every path `7z l -slt` lists in `iso` (with `extra` options such as `-tudf`), absolute.
fn sevenzip_paths(sz: &Path, iso: &Path, extra: &[&str]) -> BTreeSet<String> {
    let o = run_ok(Command::new(sz).args(["l", "-slt"]).args(extra).arg(iso));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Path = "))
        .filter(|p| !p.ends_with(".iso"))
        .map(|p| format!("/{p}"))
        .collect()
}

#[test]
fn mkisofs_hide_udf_leaves_the_iso_trees_alone() {
    let (Some(sz), Some(_)) = (require_tool("7z"), require_tool("isoinfo")) else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    hide_tree(dir);
    mkisofs_with("odix", dir, "u.iso", &["-udf", "-hide-udf", "d", "-hide-udf", "y.txt"]);
    let iso = dir.join("u.iso");
    let got = sevenzip_paths(&sz, &iso, &["-tudf"]);
    let want: BTreeSet<String> =
        ["/a", "/a/b.txt", "/c.txt", "/g", "/g/h", "/g/h/k", "/g/h/k/x.txt", "/p", "/p/q", "/p/q/r.txt"]
            .map(String::from)
            .into();
    assert_eq!(got, want, "7z -tudf");
    if let Some(udfinfo) = require_tool("udfinfo") {
        run_ok(Command::new(udfinfo).arg(&iso));
    }
    for tree in ["-R", "-J"] {
        let paths = isoinfo_paths(&iso, tree);
        assert!(paths.contains("/d/e/f.txt") && paths.contains("/g/h/y.txt"), "{tree}: {paths:?}");
    }
    let e = run(odix().current_dir(dir).args(["mkisofs", "-o", "n.iso", "-hide-udf", "d", "src"]));
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("-hide-udf needs -udf"));
}

/// The four volume dates as `xorriso -pvd_info` prints them.
fn pvd_times(iso: &Path) -> Vec<String> {
    let xorriso = require_tool("xorriso").unwrap();
    let o = run_ok(Command::new(xorriso).arg("-indev").arg(iso).arg("-pvd_info"));
    String::from_utf8_lossy(&o.stdout).lines().filter(|l| l.contains(" Time")).map(str::to_string).collect()
}

#[test]
fn mkisofs_volume_dates_match_xorriso() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    hide_tree(dir);
    let cases: &[&[&str]] = &[
        &["c", "2031010203040577", "m", "2032010203040588", "x", "2033010203040599", "f", "2034010203040511"],
        &["uuid", "2031010203040577", "x", "=2000000000", "f", "2030.01.02.0304"],
        &["c", "010203042030.05", "m", "0102030430", "x", "2030.01.02", "f", "2030010203040599LOC"],
        &["c", "2031010203040577", "uuid", "2035010203040512", "x", "2040.12.31.235959", "f", "=86400"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let mut native = Command::new(&xorriso);
        let mut ours = odix();
        ours.current_dir(dir).args(["mkisofs", "-quiet", "-o", "o.iso"]);
        native.current_dir(dir).args(["-outdev", &format!("x{i}.iso")]);
        for kv in case.chunks(2) {
            native.arg("-volume_date").args(kv);
            ours.arg("-volume_date").args(kv);
        }
        run_ok(native.args(["-map", "src", "/"]));
        run_ok(ours.arg("src"));
        let want = pvd_times(&dir.join(format!("x{i}.iso")));
        assert_eq!(want.len(), 4, "xorriso -pvd_info: {want:?}");
        assert_eq!(pvd_times(&dir.join("o.iso")), want, "-volume_date {case:?}");
    }
    // --modification-date, as xorriso -as mkisofs takes it, keeps the hundredths.
    let xs = |out: &str| {
        let mut c = Command::new(&xorriso);
        c.current_dir(dir).args(["-as", "mkisofs", "-quiet", "--modification-date=2029060708091023", "-o", out, "src"]);
        c
    };
    run_ok(&mut xs("xm.iso"));
    run_ok(
        odix()
            .current_dir(dir)
            .args(["mkisofs", "-quiet", "--modification-date=2029060708091023", "-o"])
            .args(["om.iso", "src"]),
    );
    let want = pvd_times(&dir.join("xm.iso"));
    assert!(want[0].ends_with("2029060708091023"), "{want:?}");
    assert_eq!(pvd_times(&dir.join("om.iso")), want);
}

/// `path mode` of every directory of `iso`, from `xorriso -find -exec lsdl`.
fn dir_modes(iso: &Path) -> BTreeSet<String> {
    let xorriso = require_tool("xorriso").unwrap();
    let o = run_ok(Command::new(xorriso).arg("-indev").arg(iso).args(["-find", "/", "-type", "d", "-exec", "lsdl"]));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mode = l.split_whitespace().next()?;
            let path = l.rsplit_once(' ')?.1.trim_matches('\'');
            Some(format!("{path} {mode}"))
        })
        .collect()
}

#[test]
fn mkisofs_new_dir_mode_matches_genisoimage() {
    let (Some(_), Some(_)) = (require_tool("genisoimage"), require_tool("xorriso")) else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    hide_tree(dir);
    for (d, mode) in [("src", 0o750), ("src2", 0o750), ("src/a", 0o700), ("src/d", 0o755)] {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.join(d), fs::Permissions::from_mode(mode)).unwrap();
    }
    // -new-dir-mode: the graft directories g, p, p/q (no source directory); with -dir-mode too, it still wins
    // for those and -dir-mode sets the others.
    for opts in [&["-new-dir-mode", "0700"][..], &["-new-dir-mode", "0711", "-dir-mode", "0701"]] {
        mkisofs_with("odix", dir, "o.iso", opts);
        mkisofs_with("genisoimage", dir, "g.iso", opts);
        let got = dir_modes(&dir.join("o.iso"));
        assert_eq!(got.len(), 9, "{got:?}");
        assert_eq!(got, dir_modes(&dir.join("g.iso")), "{opts:?}");
    }
    // -dir-mode alone applies to every directory, as in xorriso (which has no -new-dir-mode).
    mkisofs_with("odix", dir, "o.iso", &["-dir-mode", "0701"]);
    mkisofs_with("xorriso", dir, "x.iso", &["-dir-mode", "0701"]);
    assert_eq!(dir_modes(&dir.join("o.iso")), dir_modes(&dir.join("x.iso")));
    // Without a folder pathspec for the root, the root is a made directory too.
    for (tool, out) in [("odix", "o.iso"), ("genisoimage", "g.iso")] {
        let mut c = if tool == "odix" { odix() } else { Command::new(require_tool(tool).unwrap()) };
        if tool == "odix" {
            c.arg("mkisofs");
        }
        run_ok(c.current_dir(dir).args([
            "-quiet",
            "-R",
            "-graft-points",
            "-new-dir-mode",
            "0700",
            "-o",
            out,
            "a/b=src/a",
        ]));
    }
    assert_eq!(dir_modes(&dir.join("o.iso")), dir_modes(&dir.join("g.iso")));
}

/// A chain of `levels` nested folders `d1/d2/…`, each holding a file `fK` with `K` in it; returns the expected
/// relative paths.
fn folder_chain(root: &Path, levels: usize) -> BTreeSet<String> {
    let mut want = BTreeSet::new();
    let mut rel = String::new();
    for k in 1..=levels {
        rel = if rel.is_empty() { format!("d{k}") } else { format!("{rel}/d{k}") };
        fs::create_dir(root.join(&rel)).unwrap();
        fs::write(root.join(&rel).join(format!("f{k}")), format!("{k}\n")).unwrap();
        want.insert(rel.clone());
        want.insert(format!("{rel}/f{k}"));
    }
    want
}

fn path_set(out: &[u8], strip: &[char]) -> BTreeSet<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| l.trim_matches(strip).to_string())
        .filter(|l| !l.is_empty() && l != "." && l != "rr_moved")
        .collect()
}

const PYCDLIB_RR_PATHS: &str = r#"
import sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
for path, dirs, files in iso.walk(rr_path="/"):
    for n in dirs + files:
        print(path.rstrip("/") + "/" + n)
"#;

/// Chains of 9, 14, 40 and 300 folders are relocated (Rock Ridge `CL`/`RE`) so that every reader shows them at
/// their real place: libarchive's streaming reader (which failed with "Failed to connect 'CL' pointer to 'RE'"
/// from 14 levels), xorriso, pycdlib, 7-Zip (through Joliet) and the kernel; isoinfo, which does not follow `CL`,
/// lists the same relocation directory as for genisoimage's image of the tree.
#[test]
fn deep_folder_chains_relocate_for_every_reader() {
    let t = tempfile::tempdir().unwrap();
    for levels in [9usize, 14, 40, 300] {
        let src = t.path().join(format!("chain{levels}"));
        fs::create_dir(&src).unwrap();
        let want = folder_chain(&src, levels);
        let iso = t.path().join(format!("chain{levels}.iso"));
        mkiso(&src, &iso, &[]);
        if let Some(bsdtar) = require_tool("bsdtar") {
            let o = run(Command::new(&bsdtar).arg("-tf").arg(&iso));
            assert!(o.status.success() && o.stderr.is_empty(), "{levels}: {}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(path_set(&o.stdout, &['/']), want, "bsdtar -tf, {levels} levels");
            let x = t.path().join(format!("bsdtar{levels}"));
            fs::create_dir(&x).unwrap();
            run_ok(Command::new(&bsdtar).arg("-xf").arg(&iso).arg("-C").arg(&x));
            check(compare_trees(&src, &x, &CompareOptions::default()), "bsdtar -xf");
        }
        if let Some(xorriso) = require_tool("xorriso") {
            let o = run_ok(Command::new(&xorriso).arg("-indev").arg(&iso).args(["-find", "/"]));
            assert_eq!(path_set(&o.stdout, &['\'', '/']), want, "xorriso -find, {levels} levels");
        }
        if odix_testdata::oracle::require_python_module("pycdlib") {
            let o = run_ok(Command::new("python3").args(["-c", PYCDLIB_RR_PATHS]).arg(&iso));
            assert_eq!(path_set(&o.stdout, &['/']), want, "pycdlib Rock Ridge, {levels} levels");
        }
        // 7-Zip reads the Joliet tree and stops at 256 levels ("Too deep directory levels") whatever wrote it.
        if let (Some(sz), true) = (require_tool("7z"), levels < 256) {
            let got: BTreeSet<String> =
                sevenzip_paths(&sz, &iso, &[]).into_iter().map(|p| p.trim_start_matches('/').to_string()).collect();
            assert_eq!(got, want, "7z l, {levels} levels");
        }
        if let (Some(isoinfo), Some(gen)) = (require_tool("isoinfo"), require_tool("genisoimage")) {
            let g = t.path().join(format!("gen{levels}.iso"));
            run_ok(Command::new(gen).args(["-quiet", "-R", "-o"]).arg(&g).arg(&src));
            let list = |i: &Path| run_ok(Command::new(&isoinfo).args(["-R", "-f", "-i"]).arg(i)).stdout;
            assert_eq!(path_set(&list(&iso), &['/']), path_set(&list(&g), &['/']), "isoinfo -R -f, {levels} levels");
        }
        if levels == 300 {
            let Some(vm) = vm_run() else { continue };
            let script = "mount -t iso9660 -o ro /dev/sr0 /mnt && cd /mnt && find . -mindepth 1 ! -name rr_moved \
                          | sed 's,^./,,' && find . -type f -exec cat {} + | sort -n | md5sum";
            let o = run_ok(Command::new(vm).arg("--disc").arg(&iso).args(["--", "sh", "-c", script]));
            let mut got = path_set(&o.stdout, &['/']);
            let sum = got.iter().find(|l| l.ends_with("  -")).cloned().unwrap_or_default();
            got.remove(&sum);
            assert_eq!(got, want, "kernel, {levels} levels");
            let all: String = (1..=levels).map(|k| format!("{k}\n")).collect();
            assert_eq!(sum.split_whitespace().next(), Some(md5_hex(all.as_bytes()).as_str()), "kernel file contents");
        }
    }
}

fn md5_hex(data: &[u8]) -> String {
    let mut p = Command::new("md5sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    p.stdin.take().unwrap().write_all(data).unwrap();
    let o = p.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// Dotfiles and dot-folders are kept by default, as genisoimage keeps them: `isoinfo -R -f` lists the same paths
/// for both images. `--exclude '.*'` and `--no-hidden` still leave them out.
#[test]
fn dotfiles_are_kept_as_genisoimage_keeps_them() {
    let (Some(isoinfo), Some(gen)) = (require_tool("isoinfo"), require_tool("genisoimage")) else { return };
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("dots");
    fs::create_dir_all(src.join(".config/app")).unwrap();
    fs::create_dir_all(src.join("plain/.git")).unwrap();
    for f in [".bashrc", ".config/app/.state", "plain/.hidden", "plain/.git/HEAD", "plain/shown.txt"] {
        fs::write(src.join(f), f).unwrap();
    }
    let list = |iso: &Path| -> BTreeSet<String> {
        let o = run_ok(Command::new(&isoinfo).args(["-R", "-f", "-i"]).arg(iso));
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
    };
    let g = t.path().join("gen.iso");
    run_ok(Command::new(&gen).args(["-quiet", "-R", "-o"]).arg(&g).arg(&src));
    let ours = t.path().join("odix.iso");
    let o = run_ok(odix().args(["mkiso", "-o"]).arg(&ours).arg(&src));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("left out"), "nothing is left out by default");
    let want = list(&g);
    assert!(want.contains("/.config/app/.state"), "genisoimage keeps dotfiles: {want:?}");
    assert_eq!(list(&ours), want, "isoinfo -R -f of odix's image against genisoimage's");
    let shown: BTreeSet<String> = ["/plain", "/plain/shown.txt"].into_iter().map(str::to_string).collect();
    for opts in [&["--exclude", ".*"][..], &["--no-hidden"][..]] {
        let iso = t.path().join("x.iso");
        run_ok(odix().args(["mkiso", "-q", "-o"]).arg(&iso).args(opts).arg(&src));
        assert_eq!(list(&iso), shown, "{opts:?}");
    }
}

/// A 400-level tree of 20-character names: its deepest paths are 8400 bytes, past `PATH_MAX` (4096). Returns the
/// source folder and the expected relative paths. Made with `mkdir` and `cd` one level at a time (as a path,
/// the tree cannot be made or opened at all).
fn tree_past_path_max(dir: &Path) -> (PathBuf, BTreeSet<String>) {
    let src = dir.join("deep");
    fs::create_dir(&src).unwrap();
    let script = "cd \"$1\" && for i in $(seq -w 1 400); do d=d${i}_abcdefghijklmno; \
                  mkdir $d && cd -P $d && printf 'file %s\\n' $i > data.txt || exit 1; done";
    run_ok(Command::new("sh").args(["-c", script, "sh"]).arg(&src));
    let mut want = BTreeSet::new();
    let mut rel = String::new();
    for i in 1..=400 {
        let d = format!("d{i:03}_abcdefghijklmno");
        rel = if rel.is_empty() { d } else { format!("{rel}/{d}") };
        want.insert(rel.clone());
        want.insert(format!("{rel}/data.txt"));
    }
    (src, want)
}

/// A source tree whose paths pass `PATH_MAX` builds: the walk and the copy open every folder and file relative to
/// its parent's descriptor, keeping few open (the build runs under `ulimit -n 48`). bsdtar and pycdlib list the
/// whole tree at its real place, bsdtar reads every file back, and the kernel's `find` lists the tree (xorriso and
/// genisoimage refuse such a source tree, and xorriso lists paths only up to 4096 bytes, so they cannot serve
/// here).
#[test]
fn source_paths_past_path_max_build() {
    let t = tempfile::tempdir().unwrap();
    let (src, want) = tree_past_path_max(t.path());
    let iso = t.path().join("deep.iso");
    let o = run(Command::new("sh")
        .args(["-c", "ulimit -n 48 && exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_odix"))
        .args(["mkiso", "-q", "-o"])
        .arg(&iso)
        .arg(&src));
    assert!(o.status.success(), "odix mkiso failed: {}", String::from_utf8_lossy(&o.stderr));
    if let Some(bsdtar) = require_tool("bsdtar") {
        let o = run_ok(Command::new(&bsdtar).arg("-tf").arg(&iso));
        assert_eq!(path_set(&o.stdout, &['/']), want, "bsdtar -tf");
        // Every file's contents, in the image's order (extracting to disk would need the deep paths again).
        let o = run_ok(Command::new(&bsdtar).arg("-xOf").arg(&iso));
        let mut got: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect();
        got.sort();
        let contents: Vec<String> = (1..=400).map(|i| format!("file {i:03}")).collect();
        assert_eq!(got, contents, "bsdtar -xOf");
    }
    if odix_testdata::oracle::require_python_module("pycdlib") {
        let o = run_ok(Command::new("python3").args(["-c", PYCDLIB_RR_PATHS]).arg(&iso));
        assert_eq!(path_set(&o.stdout, &['/']), want, "pycdlib Rock Ridge");
    }
    let Some(vm) = vm_run() else { return };
    let script = "mount -t iso9660 -o ro /dev/sr0 /mnt && cd /mnt && \
                  find . -mindepth 1 ! -name rr_moved | sed 's,^./,,' | sort | md5sum";
    let o = run_ok(Command::new(vm).arg("--disc").arg(&iso).args(["--", "sh", "-c", script]));
    let listing: String = want.iter().map(|p| format!("{p}\n")).collect();
    let got = String::from_utf8_lossy(&o.stdout);
    assert_eq!(got.split_whitespace().next(), Some(md5_hex(listing.as_bytes()).as_str()), "kernel: find");
}

/// Joliet names over 64 characters and times after 2155 are recorded cut and clamped, as xorriso records them,
/// and `mkiso` says so once per kind with a count and an example path. genisoimage agrees on the cut names without
/// an extension (it drops the extension of the others, and wraps 2300 to 2044).
#[test]
fn lossy_joliet_names_and_dates_are_reported_once() {
    let (Some(isoinfo), Some(xorriso)) = (require_tool("isoinfo"), require_tool("xorriso")) else { return };
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("lossy");
    let x70 = "x".repeat(70);
    let dir = format!("dir_{x70}");
    fs::create_dir_all(src.join(&dir)).unwrap();
    for f in [format!("{dir}/future.txt"), format!("gamma_{x70}"), format!("alpha_{x70}.txt"), "short.txt".into()] {
        fs::write(src.join(&f), "x").unwrap();
    }
    // 2300-01-01 and 2300-06-01.
    for (f, secs) in [(format!("{dir}/future.txt"), 10_413_792_000i64), ("short.txt".into(), 10_426_838_400)] {
        let t = filetime::FileTime::from_unix_time(secs, 0);
        filetime::set_file_mtime(src.join(f), t).unwrap();
    }
    let iso = t.path().join("odix.iso");
    let o = run_ok(odix().env_remove("SOURCE_DATE_EPOCH").args(["mkiso", "-q", "-o"]).arg(&iso).arg(&src));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    let cut: Vec<&&str> = lines.iter().filter(|l| l.contains("Joliet name")).collect();
    assert_eq!(cut.len(), 1, "one warning for the cut names:\n{err}");
    assert!(cut[0].starts_with("odix: warning: 3 Joliet names cut to 64 characters, e.g. /"), "{err}");
    let dates: Vec<&&str> = lines.iter().filter(|l| l.contains("2155")).collect();
    assert_eq!(dates.len(), 1, "one warning for the dates:\n{err}");
    assert!(dates[0].starts_with("odix: warning: 2 entries with times after 2155"), "{err}");
    assert_eq!(lines.len(), 2, "nothing else: {err}");

    let x = t.path().join("xorriso.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&x).arg(&src));
    let joliet = |iso: &Path| -> Vec<String> {
        let o = run_ok(Command::new(&isoinfo).args(["-J", "-f", "-i"]).arg(iso));
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
    };
    let ours = joliet(&iso);
    // The one name with an extension: 64 characters with the extension kept (xorriso keeps 65).
    let alpha = format!("/alpha_{}.txt", "x".repeat(54));
    assert!(ours.contains(&alpha), "{ours:#?}");
    let others = |v: Vec<String>| -> Vec<String> { v.into_iter().filter(|p| !p.starts_with("/alpha_")).collect() };
    assert_eq!(others(ours.clone()), others(joliet(&x)), "isoinfo -J -f against xorriso's image");
    if let Some(gen) = require_tool("genisoimage") {
        let g = t.path().join("gen.iso");
        run_ok(Command::new(gen).args(["-quiet", "-R", "-J", "-o"]).arg(&g).arg(&src));
        let long = |v: Vec<String>| -> Vec<String> { v.into_iter().filter(|p| p.contains("_xxxx")).collect() };
        let no_ext = |v: Vec<String>| -> Vec<String> { long(others(v)) };
        assert_eq!(no_ext(ours.clone()), no_ext(joliet(&g)), "isoinfo -J -f against genisoimage's image");
    }
    // Dates as isoinfo shows them, name and date columns.
    let dated = |iso: &Path| -> Vec<String> {
        let o = run_ok(Command::new(&isoinfo).args(["-J", "-l", "-i"]).arg(iso));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.contains(".txt") && !l.contains("alpha_"))
            .filter_map(|l| {
                // `MODE ... SIZE Mon DD YYYY [ LBA FLAGS]  NAME`: the date before the bracket, the name after.
                let (left, right) = l.split_once('[')?;
                let date: Vec<&str> = left.split_whitespace().rev().take(3).collect();
                Some(format!(
                    "{} {}",
                    date.into_iter().rev().collect::<Vec<_>>().join(" "),
                    right.split_once(']')?.1.trim()
                ))
            })
            .collect()
    };
    let d = dated(&iso);
    assert!(d.iter().all(|l| l.contains("Dec 31 2155")), "{d:?}");
    assert_eq!(d, dated(&x), "isoinfo -J -l dates against xorriso's image");
    // Rock Ridge keeps every name whole.
    let o = run_ok(Command::new(&isoinfo).args(["-R", "-f", "-i"]).arg(&iso));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("/alpha_{x70}.txt")));
}

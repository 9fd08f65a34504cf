//! Growing an image file by a session (`odix::edit::append`), checked with xorriso, isoinfo, 7z, iso-info, the
//! kernel and odix's own readers.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use odix::cancel::Cancel;
use odix::edit::append::{append_session, AppendReport};
use odix::{BuildSource, BuildSpec};
use odix_testdata::{compare_trees, require_tool, run, run_ok, vm_run, CompareOptions};

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run_ok(cmd).stdout).into_owned()
}

/// A small tree: two files and a folder.
fn tree(dir: &Path, tag: &str) -> PathBuf {
    let d = dir.join(tag);
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::write(d.join(format!("{tag}.txt")), format!("{tag}\n")).unwrap();
    let big: Vec<u8> = (0..150_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    fs::write(d.join("sub").join(format!("{tag}.bin")), big).unwrap();
    d
}

/// Three sessions made by xorriso's own growing of an image file (`-dev FILE ... -commit`, with Joliet).
fn xorriso_grown(xorriso: &Path, dir: &Path) -> PathBuf {
    let iso = dir.join("grown.iso");
    for (k, tag) in ["one", "two", "three"].iter().enumerate() {
        let src = tree(dir, tag);
        run_ok(
            Command::new(xorriso)
                .args(["-no_rc", "-dev"])
                .arg(&iso)
                .args(["-joliet", "on", "-volid", &format!("S{}", k + 1), "-map"])
                .arg(&src)
                .arg(format!("/{tag}"))
                .arg("-commit"),
        );
    }
    iso
}

fn spec(src: &Path, volume_id: &str) -> BuildSpec {
    let mut spec = BuildSpec::new(vec![BuildSource::folder(src)]);
    spec.ids.volume_id = Some(volume_id.into());
    spec.dates.now = 1_700_000_000;
    spec
}

/// `xorriso -toc`'s sessions: `(start, blocks, volume id)`.
fn xorriso_toc(xorriso: &Path, iso: &Path, load: &[&str]) -> Vec<(u64, u64, String)> {
    let out = run_ok(Command::new(xorriso).args(["-no_rc"]).args(load).arg("-indev").arg(iso).arg("-toc"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter(|l| l.starts_with("ISO session"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            let n = |s: &str| s.trim_end_matches('s').trim().parse::<u64>().unwrap();
            (n(f[1]), n(f[2]), f[3].trim_matches('\'').to_string())
        })
        .collect()
}

/// Paths `xorriso -find` lists in the tree xorriso loads (`load` chooses the session).
fn xorriso_find(xorriso: &Path, iso: &Path, load: &[&str]) -> BTreeSet<String> {
    let out = stdout(Command::new(xorriso).args(["-no_rc"]).args(load).arg("-indev").arg(iso).args(["-find", "/"]));
    out.lines().map(|l| l.trim_matches('\'').to_string()).filter(|l| l != "/").collect()
}

/// The paths of a folder, `/`-rooted, as xorriso lists them.
fn paths_of(root: &Path, under: &str) -> BTreeSet<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = format!("{prefix}/{}", e.file_name().to_string_lossy());
            out.insert(p.clone());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    if !under.is_empty() {
        out.insert(under.to_string());
    }
    walk(root, under, &mut out);
    out
}

/// Extracts the tree xorriso loads into `to` and compares it with `expected`.
fn xorriso_extract_matches(xorriso: &Path, iso: &Path, load: &[&str], expected: &Path, to: &Path) {
    run_ok(
        Command::new(xorriso)
            .args(["-no_rc", "-osirrox", "on"])
            .args(load)
            .arg("-indev")
            .arg(iso)
            .args(["-extract", "/"])
            .arg(to),
    );
    let diffs = compare_trees(expected, to, &CompareOptions::contents_only());
    assert!(diffs.is_empty(), "xorriso's extraction of {} differs:\n{}", iso.display(), diffs.join("\n"));
}

/// `odix info`'s session lines: `(start, blocks)`.
fn odix_sessions(iso: &Path) -> Vec<(u64, u64)> {
    let out = stdout(odix().arg("info").arg(iso));
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Session "))
        .filter_map(|l| {
            let (_, rest) = l.split_once(": start LBA ")?;
            let (start, rest) = rest.split_once(", ")?;
            let blocks = rest.split_whitespace().next()?;
            Some((start.parse().ok()?, blocks.parse().ok()?))
        })
        .collect()
}

fn odix_ls(iso: &Path, args: &[&str]) -> BTreeSet<String> {
    let out = stdout(odix().arg("ls").arg("-R").args(args).arg(iso));
    out.lines().map(|l| format!("/{}", l.trim_start_matches('/'))).collect()
}

/// Mounts the disc in the VM with `options` and copies the tree out into `to` (a folder under `share`).
fn kernel_copy(vm: &Path, iso: &Path, share: &Path, options: &str, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let script = format!(
        "set -e; mkdir -p /mnt/a; mount -t iso9660 -o ro{options} /dev/sr0 /mnt/a; cp -a /mnt/a/. {to}/; umount /mnt/a",
        to = to.display()
    );
    run_ok(Command::new(vm).arg("--disc").arg(iso).arg("--share").arg(share).args(["--", "sh", "-c", &script]));
}

fn sector(iso: &Path, lba: u64) -> Vec<u8> {
    let b = fs::read(iso).unwrap();
    b[(lba * 2048) as usize..((lba + 1) * 2048) as usize].to_vec()
}

#[test]
fn a_folder_session_grows_a_xorriso_grown_image() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let iso = xorriso_grown(&xorriso, t.path());
    let before = xorriso_toc(&xorriso, &iso, &[]);
    assert_eq!(before.len(), 3, "{before:?}");
    let (s3, b3, _) = before[2].clone();

    let four = tree(t.path(), "four");
    let report: AppendReport = append_session(&iso, &spec(&four, "S4"), false, &mut |_| {}).unwrap();
    // The next session starts where xorriso would start it: the first 32-block boundary after the last one.
    assert_eq!(u64::from(report.start), (s3 + b3).div_ceil(32) * 32);
    assert!(report.descriptors_updated);
    assert_eq!(report.sessions, 4);
    assert_eq!(fs::metadata(&iso).unwrap().len() % (32 * 2048), 0, "the file ends on a session boundary");

    // xorriso sees four sessions, the fourth ours with its size from its start, and loads it by default.
    let toc = xorriso_toc(&xorriso, &iso, &[]);
    assert_eq!(toc.len(), 4, "{toc:?}");
    assert_eq!(toc[..3], before[..]);
    assert_eq!((toc[3].0, toc[3].1, toc[3].2.as_str()), (u64::from(report.start), report.sectors, "S4"));
    assert_eq!(xorriso_find(&xorriso, &iso, &[]), paths_of(&four, ""));
    xorriso_extract_matches(&xorriso, &iso, &[], &four, &t.path().join("x4"));
    // The older sessions are still there, each behind its own descriptors.
    let first = ["-load", "sbsector", &toc[0].0.to_string()].map(String::from);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    assert_eq!(xorriso_find(&xorriso, &iso, &first), paths_of(&t.path().join("one"), "/one"));

    // odix lists the sessions as xorriso does, and reads the first and the newest.
    let odix_toc: Vec<(u64, u64)> = toc.iter().map(|(s, b, _)| (*s, *b)).collect();
    assert_eq!(odix_sessions(&iso), odix_toc);
    assert_eq!(odix_ls(&iso, &[]), paths_of(&four, ""));
    assert_eq!(odix_ls(&iso, &["--session", "1"]), paths_of(&t.path().join("one"), "/one"));

    // isoinfo (LBA 16): the new Rock Ridge and Joliet trees.
    if let Some(isoinfo) = require_tool("isoinfo") {
        for flag in ["-R", "-J"] {
            let out = stdout(Command::new(&isoinfo).arg("-f").arg(flag).arg("-i").arg(&iso));
            let got: BTreeSet<String> = out.lines().map(str::to_string).collect();
            assert_eq!(got, paths_of(&four, ""), "isoinfo {flag}");
        }
    }
    // 7z reads the newest tree (Joliet names).
    if let Some(sz) = require_tool("7z") {
        let out = stdout(Command::new(&sz).args(["l", "-slt", "-tiso"]).arg(&iso));
        let got: BTreeSet<String> =
            out.lines().filter_map(|l| l.strip_prefix("Path = ")).map(|p| format!("/{p}")).collect();
        assert!(paths_of(&four, "").is_subset(&got), "7z: {got:?}");
    }
    // libcdio's iso-info: the volume id of the newest session.
    if let Some(ii) = require_tool("iso-info") {
        let out = stdout(Command::new(&ii).args(["--no-header", "-d", "-i"]).arg(&iso));
        assert!(out.lines().any(|l| l.starts_with("Volume") && l.trim_end().ends_with(": S4")), "{out}");
    }

    // xorriso appends to odix's output, on top of odix's tree.
    let five = t.path().join("five.txt");
    fs::write(&five, "five\n").unwrap();
    run_ok(
        Command::new(&xorriso)
            .args(["-no_rc", "-dev"])
            .arg(&iso)
            .args(["-joliet", "on", "-volid", "S5", "-map"])
            .arg(&five)
            .args(["/five.txt", "-commit"]),
    );
    let toc5 = xorriso_toc(&xorriso, &iso, &[]);
    assert_eq!(toc5.len(), 5, "{toc5:?}");
    assert_eq!(toc5[..4], toc[..]);
    let mut want = paths_of(&four, "");
    want.insert("/five.txt".into());
    assert_eq!(xorriso_find(&xorriso, &iso, &[]), want);
    assert_eq!(odix_sessions(&iso).len(), 5);

    // The kernel mounts the newest tree from LBA 16, and an older session from its own start.
    let Some(vm) = vm_run() else { return };
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    let ours = share.join("four");
    kernel_copy(&vm, &iso, &share, "", &share.join("newest"));
    fs::copy(&five, four.join("five.txt")).unwrap();
    let diffs = compare_trees(&four, &share.join("newest"), &CompareOptions::contents_only());
    assert!(diffs.is_empty(), "kernel, newest session:\n{}", diffs.join("\n"));
    fs::remove_file(four.join("five.txt")).unwrap();
    kernel_copy(&vm, &iso, &share, &format!(",sbsector={}", report.start), &ours);
    let diffs = compare_trees(&four, &ours, &CompareOptions::contents_only());
    assert!(diffs.is_empty(), "kernel, odix's session by sbsector:\n{}", diffs.join("\n"));
    kernel_copy(&vm, &iso, &share, ",norock", &share.join("joliet"));
    assert!(share.join("joliet/five.txt").is_file());
}

#[test]
fn a_session_on_a_mkisofs_image_from_lba_0() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let one = tree(t.path(), "one");
    let iso = t.path().join("one.iso");
    run_ok(
        Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-V", "ONE", "-o"]).arg(&iso).arg(&one),
    );
    let len = fs::metadata(&iso).unwrap().len();
    let two = tree(t.path(), "two");
    let report = append_session(&iso, &spec(&two, "TWO"), false, &mut |_| {}).unwrap();
    assert_eq!(u64::from(report.start), (len / 2048).div_ceil(32) * 32);
    // As xorriso does with such an image: LBA 16 now describes the new session (the first one's descriptors are
    // gone), the volume reaching the end of the new session; the sectors before 16 are as they were.
    let toc = xorriso_toc(&xorriso, &iso, &[]);
    assert_eq!(toc.len(), 1, "{toc:?}");
    assert_eq!((toc[0].1, toc[0].2.as_str()), (u64::from(report.start) + report.sectors, "TWO"));
    assert_eq!(xorriso_find(&xorriso, &iso, &[]), paths_of(&two, ""));
    xorriso_extract_matches(&xorriso, &iso, &[], &two, &t.path().join("x"));
    let own = ["-load", "sbsector", &report.start.to_string()].map(String::from);
    let own: Vec<&str> = own.iter().map(String::as_str).collect();
    assert_eq!(xorriso_find(&xorriso, &iso, &own), paths_of(&two, ""), "the session from its own descriptors");
    assert_eq!(odix_ls(&iso, &[]), paths_of(&two, ""));

    // Without Joliet the first session has one descriptor less than a session with Joliet: the copy would
    // overwrite the first sector after its set, so the session is refused and the image left as it was.
    let plain = t.path().join("plain.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&plain).arg(&one));
    let old = fs::read(&plain).unwrap();
    let err = append_session(&plain, &spec(&two, "TWO"), false, &mut |_| {}).unwrap_err();
    assert!(format!("{err:#}").contains("would overwrite the first session"), "{err:#}");
    assert_eq!(fs::read(&plain).unwrap(), old);
    let mut rr_only = spec(&two, "TWO");
    rr_only.trees.joliet = false;
    append_session(&plain, &rr_only, false, &mut |_| {}).unwrap();
    assert_eq!(xorriso_find(&xorriso, &plain, &[]), paths_of(&two, ""));
}

#[test]
fn write_once_touches_nothing_already_written() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let iso = xorriso_grown(&xorriso, t.path());
    let old = fs::read(&iso).unwrap();
    let toc = xorriso_toc(&xorriso, &iso, &[]);
    let four = tree(t.path(), "four");
    let report = append_session(&iso, &spec(&four, "S4"), true, &mut |_| {}).unwrap();
    assert!(!report.descriptors_updated);
    let start = u64::from(report.start);
    let new = fs::read(&iso).unwrap();
    assert_eq!(new[..(start * 2048) as usize], old[..(start * 2048) as usize], "nothing before the session changed");
    // Readers of LBA 16 still see the third session; the fourth is found by its start.
    assert_eq!(xorriso_toc(&xorriso, &iso, &[])[..3], toc[..]);
    let third = ["-load", "sbsector", &toc[2].0.to_string()].map(String::from);
    let third: Vec<&str> = third.iter().map(String::as_str).collect();
    assert_eq!(xorriso_find(&xorriso, &iso, &[]), xorriso_find(&xorriso, &iso, &third));
    let load = ["-load", "sbsector", &start.to_string()].map(String::from);
    let load: Vec<&str> = load.iter().map(String::as_str).collect();
    assert_eq!(xorriso_find(&xorriso, &iso, &load), paths_of(&four, ""));
    xorriso_extract_matches(&xorriso, &iso, &load, &four, &t.path().join("x"));
    assert_eq!(odix_ls(&iso, &["--offset", &start.to_string()]), paths_of(&four, ""));
    assert_eq!(odix_sessions(&iso).last().copied(), Some((start, report.sectors)));
    assert_eq!(sector(&iso, 16), old[16 * 2048..17 * 2048].to_vec());

    let Some(vm) = vm_run() else { return };
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    let out = share.join("four");
    kernel_copy(&vm, &iso, &share, &format!(",sbsector={start}"), &out);
    let diffs = compare_trees(&four, &out, &CompareOptions::contents_only());
    assert!(diffs.is_empty(), "kernel, sbsector={start}:\n{}", diffs.join("\n"));
}

#[test]
fn a_failed_or_cancelled_session_leaves_the_image_as_it_was() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let iso = xorriso_grown(&xorriso, t.path());
    let old = fs::read(&iso).unwrap();
    let four = tree(t.path(), "four");
    let cancel = Cancel::new();
    cancel.cancel();
    let mut s = spec(&four, "S4");
    s.cancel = Some(cancel);
    let err = append_session(&iso, &s, false, &mut |_| {}).unwrap_err();
    assert!(err.chain().any(|e| e.is::<odix::cancel::Cancelled>()), "{err:#}");
    assert_eq!(fs::read(&iso).unwrap(), old, "a cancelled session leaves the image as it was");

    // A source that vanishes while the session is written: the error names it, the image is unchanged.
    let gone = tree(t.path(), "gone");
    let s = spec(&gone, "S4");
    let mut removed = false;
    let big = gone.join("sub/gone.bin");
    let err = append_session(&iso, &s, false, &mut |_| {
        if !removed {
            fs::write(&big, b"short").unwrap();
            removed = true;
        }
    })
    .unwrap_err();
    assert!(format!("{err:#}").contains("gone"), "{err:#}");
    assert_eq!(fs::read(&iso).unwrap(), old, "a failed session leaves the image as it was");
    assert_eq!(xorriso_toc(&xorriso, &iso, &[]).len(), 3);
}

#[test]
fn data_after_the_last_session_is_not_overwritten() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let one = tree(t.path(), "one");
    let iso = t.path().join("one.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-o"]).arg(&iso).arg(&one));
    // Something after the volume (as an appended partition would be).
    let mut b = fs::read(&iso).unwrap();
    b.resize(b.len() + 64 * 2048, 0);
    let n = b.len();
    b[n - 100] = 0x55;
    fs::write(&iso, &b).unwrap();
    let err = append_session(&iso, &spec(&one, "X"), false, &mut |_| {}).unwrap_err();
    assert!(format!("{err:#}").contains("data after the last session"), "{err:#}");
    assert_eq!(fs::read(&iso).unwrap(), b);
    // And a file that is no ISO 9660 image at all.
    let not = t.path().join("not.iso");
    fs::write(&not, vec![0u8; 40 * 2048]).unwrap();
    assert!(append_session(&not, &spec(&one, "X"), false, &mut |_| {}).is_err());
    assert!(run(odix().arg("info").arg(&iso)).status.success());
}

/// `isoinfo -l` extents by file name (names unique in the trees used here).
fn isoinfo_extents(isoinfo: &Path, iso: &Path) -> Vec<(String, u64)> {
    let out = stdout(Command::new(isoinfo).args(["-R", "-l", "-i"]).arg(iso));
    out.lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            let (_, rest) = l.split_once('[')?;
            let (lba, name) = rest.split_once(']')?;
            Some((name.trim().to_string(), lba.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    run_ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

#[test]
fn odix_edit_append_points_at_the_old_data_and_every_reader_sees_the_change() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let Some(isoinfo) = require_tool("isoinfo") else { return };
    let t = tempfile::tempdir().unwrap();
    let iso = xorriso_grown(&xorriso, t.path());
    let before = xorriso_toc(&xorriso, &iso, &[]);
    let old_extents = isoinfo_extents(&isoinfo, &iso);
    let new = t.path().join("new.txt");
    fs::write(&new, "new\n").unwrap();
    let out = run_ok(
        odix().args(["edit", "--append"]).arg(&iso).arg("--add").arg(format!("{}:/new.txt", new.display())).args([
            "--rm",
            "/two",
            "--mkdir",
            "/three/empty",
        ]),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("appended a session"), "{out:?}");
    // What the newest tree must hold.
    let exp = t.path().join("expected");
    fs::create_dir(&exp).unwrap();
    copy_tree(&t.path().join("one"), &exp);
    copy_tree(&t.path().join("three"), &exp);
    fs::create_dir(exp.join("three/empty")).unwrap();
    fs::copy(&new, exp.join("new.txt")).unwrap();

    let toc = xorriso_toc(&xorriso, &iso, &[]);
    assert_eq!(toc.len(), 4, "{toc:?}");
    assert_eq!(toc[..3], before[..]);
    let (start, sectors, ref volid) = toc[3];
    assert_eq!(start, (before[2].0 + before[2].1).div_ceil(32) * 32);
    assert_eq!(volid, "S3", "the input's volume id is kept");
    // Unchanged files are pointed at where they lie: the session holds metadata and the one new file only
    // (one.bin alone is 74 sectors).
    assert!(sectors < 40, "session of {sectors} sectors");
    let new_extents = isoinfo_extents(&isoinfo, &iso);
    for (name, lba) in &new_extents {
        if name != "new.txt" {
            assert!(old_extents.contains(&(name.clone(), *lba)), "{name} moved to {lba}: {old_extents:?}");
        } else {
            assert!(*lba >= start, "the new file is in the new session");
        }
    }
    assert_eq!(xorriso_find(&xorriso, &iso, &[]), paths_of(&exp, ""));
    xorriso_extract_matches(&xorriso, &iso, &[], &exp, &t.path().join("x"));
    let joliet = stdout(Command::new(&isoinfo).args(["-J", "-f", "-i"]).arg(&iso));
    assert_eq!(joliet.lines().map(str::to_string).collect::<BTreeSet<_>>(), paths_of(&exp, ""), "Joliet");
    assert_eq!(odix_ls(&iso, &[]), paths_of(&exp, ""));
    assert_eq!(odix_ls(&iso, &["--session", "1"]), paths_of(&t.path().join("one"), "/one"));
    assert_eq!(odix_sessions(&iso).len(), 4);
    if let Some(sz) = require_tool("7z") {
        let out = stdout(Command::new(&sz).args(["l", "-slt", "-tiso"]).arg(&iso));
        let got: BTreeSet<String> =
            out.lines().filter_map(|l| l.strip_prefix("Path = ")).map(|p| format!("/{p}")).collect();
        assert!(paths_of(&exp, "").is_subset(&got), "7z: {got:?}");
        assert!(!got.contains("/two"), "7z: {got:?}");
    }

    // A second append on top of odix's session, and xorriso on top of that.
    run_ok(odix().args(["edit", "--append", "-q"]).arg(&iso).args(["--rm", "/new.txt"]));
    fs::remove_file(exp.join("new.txt")).unwrap();
    assert_eq!(xorriso_find(&xorriso, &iso, &[]), paths_of(&exp, ""));
    run_ok(
        Command::new(&xorriso)
            .args(["-no_rc", "-dev"])
            .arg(&iso)
            .args(["-joliet", "on", "-map"])
            .arg(&new)
            .args(["/again.txt", "-commit"]),
    );
    fs::copy(&new, exp.join("again.txt")).unwrap();
    assert_eq!(xorriso_toc(&xorriso, &iso, &[]).len(), 6);
    assert_eq!(odix_ls(&iso, &[]), paths_of(&exp, ""));

    let Some(vm) = vm_run() else { return };
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    kernel_copy(&vm, &iso, &share, "", &share.join("rr"));
    let diffs = compare_trees(&exp, &share.join("rr"), &CompareOptions::contents_only());
    assert!(diffs.is_empty(), "kernel, newest session:\n{}", diffs.join("\n"));
    kernel_copy(&vm, &iso, &share, &format!(",norock,sbsector={start}"), &share.join("j"));
    let mut first_edit = exp.clone();
    first_edit.push("../first_edit");
    fs::create_dir(&first_edit).unwrap();
    copy_tree(&exp.join("one"), &first_edit);
    copy_tree(&exp.join("three"), &first_edit);
    fs::copy(&new, first_edit.join("new.txt")).unwrap();
    let diffs = compare_trees(&first_edit, &share.join("j"), &CompareOptions::contents_only());
    assert!(diffs.is_empty(), "kernel, Joliet of odix's first session:\n{}", diffs.join("\n"));
}

#[test]
fn odix_edit_write_once_session_is_found_by_its_start() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let one = tree(t.path(), "one");
    let iso = t.path().join("one.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&one));
    let old = fs::read(&iso).unwrap();
    let new = t.path().join("new.txt");
    fs::write(&new, "new\n").unwrap();
    run_ok(
        odix()
            .args(["edit", "--append", "--write-once", "-q"])
            .arg(&iso)
            .arg("--add")
            .arg(format!("{}:/sub/new.txt", new.display())),
    );
    let start = (old.len() as u64 / 2048).div_ceil(32) * 32;
    let grown = fs::read(&iso).unwrap();
    assert_eq!(grown[..old.len()], old[..], "nothing already written changed");
    let exp = t.path().join("exp");
    copy_tree(&one, &exp);
    fs::copy(&new, exp.join("sub/new.txt")).unwrap();
    let load = ["-load", "sbsector", &start.to_string()].map(String::from);
    let load: Vec<&str> = load.iter().map(String::as_str).collect();
    assert_eq!(xorriso_find(&xorriso, &iso, &load), paths_of(&exp, ""));
    xorriso_extract_matches(&xorriso, &iso, &load, &exp, &t.path().join("x"));
    assert_eq!(odix_ls(&iso, &["--offset", &start.to_string()]), paths_of(&exp, ""));
    assert_eq!(odix_ls(&iso, &[]), paths_of(&one, ""), "LBA 16 still shows the first session");
    assert_eq!(odix_sessions(&iso).iter().map(|s| s.0).collect::<Vec<_>>(), [0, start]);
}

/// `odix edit --append` stopped by a signal while it writes the session: the image is cut back to what it was.
#[test]
fn an_interrupted_append_leaves_the_image_as_it_was() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let iso = xorriso_grown(&xorriso, t.path());
    let old = fs::read(&iso).unwrap();
    let big = t.path().join("big.bin");
    fs::File::create(&big).unwrap().set_len(3 << 30).unwrap();
    let mut child = odix()
        .args(["edit", "--append", "-q"])
        .arg(&iso)
        .arg("--add")
        .arg(format!("{}:/big.bin", big.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while fs::metadata(&iso).unwrap().len() <= old.len() as u64 + (1 << 20) {
        assert!(child.try_wait().unwrap().is_none(), "odix ended before the session grew the image");
        assert!(std::time::Instant::now() < deadline, "the image never grew");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    run_ok(Command::new("kill").arg("-INT").arg(child.id().to_string()));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(fs::read(&iso).unwrap() == old, "the interrupted append left the image changed: {stderr}");
    assert_eq!(xorriso_toc(&xorriso, &iso, &[]).len(), 3);
}

/// The xorriso line that grows an image file, run through odix (`odix -dev IN -map ... -commit`), appends a
/// session that xorriso reads as its own.
#[test]
fn the_xorriso_dev_line_appends_a_session() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let iso = xorriso_grown(&xorriso, t.path());
    let before = xorriso_toc(&xorriso, &iso, &[]);
    let new = t.path().join("new.txt");
    fs::write(&new, "new\n").unwrap();
    run_ok(
        odix()
            .args(["-no_rc", "-dev"])
            .arg(&iso)
            .args(["-joliet", "on", "-map"])
            .arg(&new)
            .args(["/new.txt", "-commit"]),
    );
    let toc = xorriso_toc(&xorriso, &iso, &[]);
    assert_eq!(toc.len(), 4, "{toc:?}");
    assert_eq!(toc[..3], before[..]);
    let mut want = xorriso_find(&xorriso, &iso, &["-load", "sbsector", &before[2].0.to_string()]);
    want.insert("/new.txt".into());
    assert_eq!(xorriso_find(&xorriso, &iso, &[]), want);
}

/// Write-once sessions one after the other: each is based on the newest tree, though LBA 16 still shows the first.
#[test]
fn a_write_once_session_builds_on_the_newest_one() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let t = tempfile::tempdir().unwrap();
    let one = tree(t.path(), "one");
    let iso = t.path().join("one.iso");
    run_ok(Command::new(&xorriso).args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&iso).arg(&one));
    let exp = t.path().join("exp");
    copy_tree(&one, &exp);
    for name in ["a.txt", "b.txt"] {
        let f = t.path().join(name);
        fs::write(&f, name).unwrap();
        run_ok(
            odix()
                .args(["edit", "--append", "--write-once", "-q"])
                .arg(&iso)
                .arg("--add")
                .arg(format!("{}:/{name}", f.display())),
        );
        fs::copy(&f, exp.join(name)).unwrap();
    }
    let sessions = odix_sessions(&iso);
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let last = sessions[2].0.to_string();
    let load = ["-load", "sbsector", last.as_str()];
    assert_eq!(xorriso_find(&xorriso, &iso, &load), paths_of(&exp, ""));
    xorriso_extract_matches(&xorriso, &iso, &load, &exp, &t.path().join("x"));
    assert_eq!(odix_ls(&iso, &[]), paths_of(&one, ""));
}

const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";

/// Whether a file a test needs is there; says which package brings it when not.
fn require_file(path: &str, package: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    panic!("{path} is missing: install the Debian package {package}");
}

/// ISOLINUX's configuration whose default label is `marker`: "Loading MARKER... failed" on the serial console
/// proves the configuration was read from the tree the firmware's path found.
fn isolinux_cfg(marker: &str) -> String {
    format!("SERIAL 0 115200\nPROMPT 0\nTIMEOUT 1\nDEFAULT {marker}\n")
}

/// `xorriso -report_el_torito as_mkisofs` of `iso`, numbers masked and the image's own name (in the interval of
/// its system area) taken out: the boot setup, positions and sizes aside.
fn boot_setup(xorriso: &Path, iso: &Path) -> Vec<String> {
    let out =
        stdout(Command::new(xorriso).args(["-no_rc", "-indev"]).arg(iso).args(["-report_el_torito", "as_mkisofs"]));
    let name = iso.display().to_string();
    out.lines()
        .filter(|l| !l.starts_with("--modification-date") && !l.starts_with("-V "))
        .map(|l| {
            let l = l.replace(&name, "IMAGE");
            let mut masked = String::new();
            for c in l.chars() {
                if !c.is_ascii_digit() {
                    masked.push(c);
                } else if !masked.ends_with('N') {
                    masked.push('N');
                }
            }
            masked
        })
        .collect()
}

/// `xorriso -report_system_area plain`'s lines starting with `prefix`, split into fields after the colon.
fn system_area_lines(xorriso: &Path, iso: &Path, prefix: &str) -> Vec<Vec<String>> {
    let out = stdout(Command::new(xorriso).args(["-no_rc", "-indev"]).arg(iso).args(["-report_system_area", "plain"]));
    out.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.split_once(':'))
        .map(|(_, rest)| rest.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Where the data of `path` starts, as `xorriso -find -exec report_lba` says.
fn xorriso_lba(xorriso: &Path, iso: &Path, path: &str) -> u64 {
    let out =
        stdout(Command::new(xorriso).args(["-no_rc", "-indev"]).arg(iso).args(["-find", path, "-exec", "report_lba"]));
    let line = out.lines().find(|l| l.starts_with("File data lba:")).unwrap_or_else(|| panic!("{path}: {out}"));
    line.split(',').nth(1).unwrap().trim().parse().unwrap()
}

/// A bootable image, as distributions make it: ISOLINUX isohybrid (MBR, boot-info table) with an EFI image in the
/// tree marked by a GPT (`-isohybrid-gpt-basdat`). `efi_img` is the FAT image of the EFI entry.
fn isohybrid_image(xorriso: &Path, dir: &Path, efi_img: &Path) -> PathBuf {
    let t = dir.join("hybrid-tree");
    fs::create_dir_all(t.join("isolinux")).unwrap();
    fs::create_dir_all(t.join("boot")).unwrap();
    fs::copy(ISOLINUX_BIN, t.join("isolinux/isolinux.bin")).unwrap();
    fs::copy(LDLINUX, t.join("isolinux/ldlinux.c32")).unwrap();
    fs::write(t.join("isolinux/isolinux.cfg"), isolinux_cfg("ODIX-FIRST-SESSION")).unwrap();
    fs::copy(efi_img, t.join("boot/efi.img")).unwrap();
    fs::write(t.join("odix-marker.txt"), "ODIX-FIRST-SESSION-FILE").unwrap();
    let iso = dir.join("hybrid.iso");
    run_ok(
        Command::new(xorriso)
            .args(["-no_rc", "-as", "mkisofs", "-quiet", "-R", "-J", "-o"])
            .arg(&iso)
            .args(["-isohybrid-mbr", ISOHDPFX, "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat"])
            .args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-eltorito-alt-boot"])
            .args(["-e", "boot/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat"])
            .arg(&t),
    );
    iso
}

const EDITED_ISOLINUX: &str = "ODIX-APPENDED-ISOLINUX";
const EDITED_FILE: &str = "ODIX-APPENDED-SESSION-FILE";

/// `odix edit --append` on a bootable isohybrid image (BIOS and UEFI El Torito entries, MBR and GPT) with its
/// ISOLINUX configuration replaced: the new session carries the boot setup, as xorriso's `-dev IN -map ...
/// -boot_image any replay -commit` of the same change does (`-report_el_torito as_mkisofs` the same, positions
/// aside); the MBR and GPT at LBA 0 span the grown image; the boot-info table is patched in the session's new copy
/// of isolinux.bin only (naming the session's primary volume descriptor), the first session's sectors untouched;
/// and SeaBIOS boots it as a CD and as a disk, reading the new configuration. With `ODIX_BOOT_MATRIX=1` OVMF boots
/// its EFI entry (a GRUB that prints the replaced marker file) as a CD too.
#[test]
fn a_bootable_image_keeps_its_boot_setup_in_an_appended_session() {
    use odix_testdata::firmware::{boot_serial, grub_loaders, Firmware, Media, OVMF_CODE, OVMF_VARS};
    let Some(xorriso) = require_tool("xorriso") else { return };
    if !require_file(ISOLINUX_BIN, "isolinux") || !require_file(LDLINUX, "syslinux-common") {
        return;
    }
    let matrix = std::env::var("ODIX_BOOT_MATRIX").is_ok_and(|v| v == "1");
    let t = tempfile::tempdir().unwrap();
    let efi_img = if matrix {
        grub_loaders(t.path()).efi_img
    } else {
        let Some(mformat) = require_tool("mformat") else { return };
        let p = t.path().join("efi.img");
        fs::write(&p, vec![0u8; 1440 * 1024]).unwrap();
        run_ok(Command::new(mformat).arg("-i").arg(&p).args(["-f", "1440", "::"]));
        p
    };
    let input = isohybrid_image(&xorriso, t.path(), &efi_img);
    let old = fs::read(&input).unwrap();
    let ours = t.path().join("ours.iso");
    let theirs = t.path().join("theirs.iso");
    fs::copy(&input, &ours).unwrap();
    fs::copy(&input, &theirs).unwrap();
    let cfg = t.path().join("isolinux.cfg");
    fs::write(&cfg, isolinux_cfg(EDITED_ISOLINUX)).unwrap();
    let marker = t.path().join("marker.txt");
    fs::write(&marker, EDITED_FILE).unwrap();
    run_ok(
        odix()
            .args(["edit", "--append", "-q"])
            .arg(&ours)
            .arg("--add")
            .arg(format!("{}:/isolinux/isolinux.cfg", cfg.display()))
            .arg("--add")
            .arg(format!("{}:/odix-marker.txt", marker.display())),
    );
    run_ok(
        Command::new(&xorriso)
            .args(["-no_rc", "-dev"])
            .arg(&theirs)
            .arg("-map")
            .arg(&cfg)
            .arg("/isolinux/isolinux.cfg")
            .arg("-map")
            .arg(&marker)
            .args(["/odix-marker.txt", "-boot_image", "any", "replay", "-commit"]),
    );
    let want = boot_setup(&xorriso, &input);
    assert!(want.iter().any(|l| l.starts_with("-e ")), "{want:?}");
    assert_eq!(boot_setup(&xorriso, &theirs), want, "xorriso's own session");
    assert_eq!(boot_setup(&xorriso, &ours), want, "odix's session");

    // The session starts after the input's volume (the first session's own descriptors at LBA 16 are replaced by
    // the copy, so readers see one session, as with xorriso); the first one's sectors past the copy are as they were.
    let old_volume = u64::from(u32::from_le_bytes(old[16 * 2048 + 80..16 * 2048 + 84].try_into().unwrap()));
    let start = old_volume.div_ceil(32) * 32;
    assert_eq!(odix_sessions(&ours), [(0, odix_sessions(&ours)[0].1)]);
    let grown = fs::read(&ours).unwrap();
    assert_eq!(grown[32 * 2048..old.len()], old[32 * 2048..], "the first session's sectors changed");
    // The boot-info table of the session's copy of isolinux.bin names the session's primary volume descriptor
    // and the copy itself; the first session's copy keeps its own.
    let lba = xorriso_lba(&xorriso, &ours, "/isolinux/isolinux.bin");
    assert!(lba >= start, "isolinux.bin at {lba}, before the session at {start}");
    let word = |lba: u64, at: usize| {
        let o = lba as usize * 2048 + at;
        u32::from_le_bytes(grown[o..o + 4].try_into().unwrap()) as u64
    };
    assert_eq!((word(lba, 8), word(lba, 12)), (start + 16, lba), "boot-info table of the session's copy");
    let old_lba = xorriso_lba(&xorriso, &input, "/isolinux/isolinux.bin");
    assert_eq!((word(old_lba, 8), word(old_lba, 12)), (16, old_lba), "the first session's copy");
    // The MBR's and GPT's partition spanning the image covers the grown one, as xorriso reports them.
    let volume = u64::from(u32::from_le_bytes(grown[16 * 2048 + 80..16 * 2048 + 84].try_into().unwrap()));
    assert!(volume > start, "LBA 16 records {volume} sectors");
    let mbr = system_area_lines(&xorriso, &ours, "MBR partition      ");
    assert_eq!(mbr[0][4].parse::<u64>().unwrap(), volume * 4, "MBR partition 1: {mbr:?}");
    let gpt = system_area_lines(&xorriso, &ours, "GPT lba range");
    assert_eq!(gpt[0][2].parse::<u64>().unwrap(), volume * 4 - 1, "the backup GPT header is the last sector: {gpt:?}");
    assert!(grown.len() as u64 >= volume * 2048);

    let Some(_) = require_tool("qemu-system-x86_64") else { return };
    let secs = std::time::Duration::from_secs(60);
    for media in [Media::Cd, Media::Disk] {
        let (ok, log) = boot_serial(&ours, Firmware::SeaBios, media, EDITED_ISOLINUX, secs);
        assert!(ok, "SeaBIOS, {media:?}: the grown image did not boot its new configuration:\n{log}");
    }
    if matrix {
        assert!(require_file(OVMF_CODE, "ovmf") && require_file(OVMF_VARS, "ovmf"));
        let (ok, log) = boot_serial(&ours, Firmware::Ovmf, Media::Cd, EDITED_FILE, secs * 3);
        assert!(ok, "OVMF, CD: the EFI entry did not read the new session:\n{log}");
        let (ok, log) = boot_serial(&theirs, Firmware::Ovmf, Media::Cd, EDITED_FILE, secs * 3);
        assert!(ok, "OVMF, CD: xorriso's grown image:\n{log}");
    }
}

/// A grub-mkrescue image (GRUB2 MBR and boot info, BIOS and UEFI entries, GPT) with its grub.cfg replaced by
/// `odix edit --append`: xorriso reports the input's boot setup (apart from positions, and from the Apple partition
/// map and HFS+ tree, which odix does not write: xorriso itself refuses to grow the image, "May not grow ISO image
/// while -hfsplus is enabled"); the GRUB2 boot info of the session's copy of eltorito.img holds its LBA as xorriso
/// records it (4 × LBA + 5, checked on the input). With `ODIX_BOOT_MATRIX=1` it boots the new configuration under
/// SeaBIOS as a CD and a disk and under OVMF.
#[test]
fn a_grub_mkrescue_image_grown_by_a_session_keeps_its_boot_setup() {
    use odix_testdata::firmware::{boot_serial, Firmware, Media};
    let Some(xorriso) = require_tool("xorriso") else { return };
    let Some(mkrescue) = require_tool("grub-mkrescue") else { return };
    let t = tempfile::tempdir().unwrap();
    let grub_cfg =
        |marker: &str| format!("serial\nterminal_input serial\nterminal_output serial\necho {marker}\nhalt\n");
    let src = t.path().join("src");
    fs::create_dir_all(src.join("boot/grub")).unwrap();
    fs::write(src.join("boot/grub/grub.cfg"), grub_cfg("ODIX-GRUB-FIRST")).unwrap();
    let input = t.path().join("rescue.iso");
    run_ok(Command::new(mkrescue).arg("-o").arg(&input).arg(&src));
    let ours = t.path().join("ours.iso");
    fs::copy(&input, &ours).unwrap();
    let cfg = t.path().join("grub.cfg");
    fs::write(&cfg, grub_cfg("ODIX-GRUB-APPENDED")).unwrap();
    let o = run(odix()
        .args(["edit", "--append"])
        .arg(&ours)
        .arg("--add")
        .arg(format!("{}:/boot/grub/grub.cfg", cfg.display())));
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("Apple partition map"), "{o:?}");
    let without_apple = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter(|l| !l.starts_with("-apm-block-size") && l != "-hfsplus")
            .map(|l| l.replace(",zero_apm", ""))
            .collect()
    };
    let want = without_apple(boot_setup(&xorriso, &input));
    assert!(want.iter().any(|l| l == "--grubN-boot-info") && want.iter().any(|l| l.starts_with("-e ")));
    assert_eq!(boot_setup(&xorriso, &ours), want);
    let boot_info = |iso: &Path| {
        let lba = xorriso_lba(&xorriso, iso, "/boot/grub/i386-pc/eltorito.img");
        let bytes = fs::read(iso).unwrap();
        let at = lba as usize * 2048 + 2548;
        (lba, u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()))
    };
    let (lba, value) = boot_info(&input);
    assert_eq!(value, lba * 4 + 5, "GRUB2 boot info of the input");
    let (lba, value) = boot_info(&ours);
    let old_volume =
        u64::from(u32::from_le_bytes(fs::read(&input).unwrap()[16 * 2048 + 80..16 * 2048 + 84].try_into().unwrap()));
    assert!(lba >= old_volume, "eltorito.img at {lba}: not the session's copy");
    assert_eq!(value, lba * 4 + 5, "GRUB2 boot info of the session's copy");

    if !std::env::var("ODIX_BOOT_MATRIX").is_ok_and(|v| v == "1") {
        return;
    }
    let secs = std::time::Duration::from_secs(150);
    for (fw, media) in [(Firmware::SeaBios, Media::Cd), (Firmware::SeaBios, Media::Disk), (Firmware::Ovmf, Media::Cd)] {
        let (ok, log) = boot_serial(&ours, fw, media, "ODIX-GRUB-APPENDED", secs);
        assert!(ok, "{fw:?}, {media:?}: the grown image did not boot its new configuration:\n{log}");
    }
}

/// `udfinfo --startblock=START`'s `key=value` lines for the UDF volume of the session at `start`.
fn udfinfo(udfinfo: &Path, iso: &Path, start: Option<u64>) -> std::collections::BTreeMap<String, String> {
    let mut cmd = Command::new(udfinfo);
    if let Some(s) = start {
        cmd.arg(format!("--startblock={s}"));
    }
    let o = run(cmd.arg(iso));
    assert!(o.status.success(), "udfinfo {}: {}", iso.display(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs `udfclient -b 2048 IMAGE` with `commands` on its standard input; its standard output.
fn udfclient(client: &Path, iso: &Path, commands: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(client)
        .args(["-b", "2048"])
        .arg(iso)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(commands.as_bytes()).unwrap();
    String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
}

/// Mounts the disc's UDF volume in the VM with `options` and copies the tree out into `to` (under `share`).
fn kernel_udf_copy(vm: &Path, iso: &Path, share: &Path, options: &str, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let script = format!(
        "set -e; mkdir -p /mnt/a; mount -t udf -o ro{options} /dev/sr0 /mnt/a; cp -a /mnt/a/. {to}/; umount /mnt/a",
        to = to.display()
    );
    run_ok(Command::new(vm).arg("--disc").arg(iso).arg("--share").arg(share).args(["--", "sh", "-c", &script]));
}

/// ISO 9660 / UDF bridge images grown by `odix edit --append --write-once`: a genisoimage `-udf` image (UDF 1.02)
/// gets a UDF 1.50 VAT session, an odix `mkisofs -udf` image (UDF 2.01) a UDF 2.01 one. Nothing already written
/// changes; udfinfo (`--startblock`) finds the session's volume with its VAT in the last block, in the revision
/// said; udfclient mounts it ("virtual partition") and reads a file of the first session through it; the kernel
/// mounts it (`-o session=START`) and shows the edited tree, as xorriso shows the session's ISO 9660 tree. Grown
/// with `--append` instead, the kernel's plain UDF mount and udfinfo without a start block see the new tree.
#[test]
fn a_udf_bridge_grows_by_a_vat_session() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let Some(genisoimage) = require_tool("genisoimage") else { return };
    let Some(info) = require_tool("udfinfo") else { return };
    let Some(client) = require_tool("udfclient") else { return };
    let t = tempfile::tempdir().unwrap();
    let one = tree(t.path(), "one");
    let new = t.path().join("new.txt");
    fs::write(&new, "new\n").unwrap();
    let exp = t.path().join("exp");
    copy_tree(&one, &exp);
    fs::copy(&new, exp.join("sub/new.txt")).unwrap();
    let gen = t.path().join("gen.iso");
    run_ok(Command::new(&genisoimage).args(["-quiet", "-udf", "-R", "-J", "-V", "BRIDGE", "-o"]).arg(&gen).arg(&one));
    let ours = t.path().join("odix.iso");
    run_ok(odix().args(["mkisofs", "-quiet", "-udf", "-R", "-J", "-V", "BRIDGE", "-o"]).arg(&ours).arg(&one));
    let vm = vm_run();
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    for (input, revision) in [(&gen, "1.50"), (&ours, "2.01")] {
        let what = format!("{} ({revision})", input.display());
        let iso = t.path().join("grown.iso");
        fs::copy(input, &iso).unwrap();
        let old = fs::read(&iso).unwrap();
        run_ok(
            odix()
                .args(["edit", "--append", "--write-once", "-q"])
                .arg(&iso)
                .arg("--add")
                .arg(format!("{}:/sub/new.txt", new.display())),
        );
        let grown = fs::read(&iso).unwrap();
        assert_eq!(grown[..old.len()], old[..], "{what}: nothing already written changes");
        let start = (old.len() as u64 / 2048).div_ceil(32) * 32;
        let last = grown.len() as u64 / 2048 - 1;
        let u = udfinfo(&info, &iso, Some(start));
        assert_eq!(u.get("udfrev").map(String::as_str), Some(revision), "{what}: {u:?}");
        assert_eq!(u.get("vatblock"), Some(&last.to_string()), "{what}: the VAT is the last block: {u:?}");
        assert_eq!((u["numfiles"].as_str(), u["numdirs"].as_str()), ("3", "2"), "{what}: {u:?}");
        assert_eq!(u.get("label").map(String::as_str), Some("BRIDGE"), "{what}");
        // udfclient names the volume in its root; the file of the first session is read through the VAT session.
        let top = udfclient(&client, &iso, "ls\nquit\n");
        assert!(top.contains("virtual partition"), "{what}: udfclient:\n{top}");
        let volume = top
            .lines()
            .skip_while(|l| !l.starts_with("Directory listing of /"))
            .nth(1)
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("{what}: udfclient found no volume:\n{top}"))
            .to_string();
        let got = t.path().join("got.bin");
        let _ = fs::remove_file(&got);
        let listing =
            udfclient(&client, &iso, &format!("ls {volume}/sub\nget {volume}/sub/one.bin {}\nquit\n", got.display()));
        assert!(listing.lines().any(|l| l.ends_with("  new.txt")), "{what}: udfclient:\n{listing}");
        assert_eq!(fs::read(&got).unwrap(), fs::read(one.join("sub/one.bin")).unwrap(), "{what}: udfclient's copy");
        assert_eq!(odix_ls(&iso, &["--offset", &start.to_string(), "--view", "udf"]), paths_of(&exp, ""), "{what}");
        let load = ["-load", "sbsector", &start.to_string()].map(String::from);
        let load: Vec<&str> = load.iter().map(String::as_str).collect();
        assert_eq!(xorriso_find(&xorriso, &iso, &load), paths_of(&exp, ""), "{what}: the session's ISO 9660 tree");
        if let Some(vm) = &vm {
            let to = share.join(format!("{revision}-write-once"));
            kernel_udf_copy(vm, &iso, &share, &format!(",session={start}"), &to);
            let diffs = compare_trees(&exp, &to, &CompareOptions::contents_only());
            assert!(diffs.is_empty(), "{what}: the kernel's UDF mount of the session:\n{}", diffs.join("\n"));
        }
    }
    // Grown in place (not write-once): block 256's anchor is the session's, so every UDF reader finds it.
    let iso = t.path().join("in-place.iso");
    fs::copy(&gen, &iso).unwrap();
    run_ok(
        odix().args(["edit", "--append", "-q"]).arg(&iso).arg("--add").arg(format!("{}:/sub/new.txt", new.display())),
    );
    let u = udfinfo(&info, &iso, None);
    assert_eq!(u.get("vatblock"), Some(&(fs::metadata(&iso).unwrap().len() / 2048 - 1).to_string()), "{u:?}");
    assert_eq!(u.get("numfiles").map(String::as_str), Some("3"), "{u:?}");
    if let Some(vm) = &vm {
        let to = share.join("in-place");
        kernel_udf_copy(vm, &iso, &share, "", &to);
        let diffs = compare_trees(&exp, &to, &CompareOptions::contents_only());
        assert!(diffs.is_empty(), "the kernel's plain UDF mount of the grown image:\n{}", diffs.join("\n"));
    }
}

/// An image with UDF only (odix `mkiso --format udf`, UDF 2.01) grown by `odix edit --append --write-once`, twice:
/// each session is a UDF 2.01 VAT volume at its start (found from the anchor before the last block, with no ISO
/// 9660 to list the sessions), based on the newest one; udfinfo and the kernel (`-o session=START`) read the
/// newest tree, nothing already written changes. Grown with `--append`, udfinfo finds the new volume from block
/// 256.
#[test]
fn a_udf_only_image_grows_by_vat_sessions() {
    let Some(info) = require_tool("udfinfo") else { return };
    let t = tempfile::tempdir().unwrap();
    let one = tree(t.path(), "one");
    let iso = t.path().join("udf.iso");
    run_ok(odix().args(["mkiso", "-q", "--format", "udf", "-o"]).arg(&iso).arg(&one));
    let input = fs::read(&iso).unwrap();
    let exp = t.path().join("exp");
    copy_tree(&one, &exp);
    let mut starts = Vec::new();
    for name in ["a.txt", "b.txt"] {
        let f = t.path().join(name);
        fs::write(&f, name).unwrap();
        let old = fs::read(&iso).unwrap();
        run_ok(
            odix()
                .args(["edit", "--append", "--write-once", "-q"])
                .arg(&iso)
                .arg("--add")
                .arg(format!("{}:/sub/{name}", f.display())),
        );
        fs::copy(&f, exp.join("sub").join(name)).unwrap();
        let grown = fs::read(&iso).unwrap();
        assert_eq!(grown[..old.len()], old[..], "{name}: nothing already written changes");
        let start = (old.len() as u64 / 2048).div_ceil(32) * 32;
        starts.push(start);
        let u = udfinfo(&info, &iso, Some(start));
        assert_eq!(u.get("udfrev").map(String::as_str), Some("2.01"), "{u:?}");
        assert_eq!(u.get("vatblock"), Some(&(grown.len() as u64 / 2048 - 1).to_string()), "{u:?}");
        assert_eq!(odix_ls(&iso, &["--offset", &start.to_string()]), paths_of(&exp, ""), "{name}");
    }
    assert_eq!(odix_ls(&iso, &[]), paths_of(&one, ""), "block 256 still shows the first volume");
    if let Some(vm) = vm_run() {
        let share = t.path().join("share");
        fs::create_dir(&share).unwrap();
        kernel_udf_copy(&vm, &iso, &share, &format!(",session={}", starts[1]), &share.join("k"));
        let diffs = compare_trees(&exp, &share.join("k"), &CompareOptions::contents_only());
        assert!(diffs.is_empty(), "the kernel's UDF mount of the newest session:\n{}", diffs.join("\n"));
    }
    let in_place = t.path().join("in-place.iso");
    fs::write(&in_place, &input).unwrap();
    let f = t.path().join("a.txt");
    run_ok(
        odix().args(["edit", "--append", "-q"]).arg(&in_place).arg("--add").arg(format!("{}:/sub/a.txt", f.display())),
    );
    let u = udfinfo(&info, &in_place, None);
    assert_eq!(u.get("vatblock"), Some(&(fs::metadata(&in_place).unwrap().len() / 2048 - 1).to_string()), "{u:?}");
    assert_eq!(u.get("numfiles").map(String::as_str), Some("3"), "{u:?}");
}

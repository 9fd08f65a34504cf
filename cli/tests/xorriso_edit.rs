//! xorriso command lines from real remastering and image-building scripts, run through odix (`odix -indev ...`,
//! `odix -outdev ...`) with their exact commands and only the file names replaced by test files. Each names its
//! source. New images made with xorriso's own commands (kairos, elemental-toolkit) are built by odix and by
//! xorriso from the same files and compared with `xorriso -report_el_torito plain` (apart from LBAs) and
//! `xorriso -find / -exec lsdl`. Edits of an existing image (`-indev`) are read now and run once the edit core
//! is there (the test marked to enable).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use odix_testdata::{require_tool, run, run_ok};

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `xorriso -indev IMG -report_el_torito plain` with the block addresses (LBAs) of the catalog and the boot
/// images left out.
fn eltorito_report(xorriso: &Path, img: &Path) -> String {
    let o = run_ok(Command::new(xorriso).args(["-no_rc", "-indev"]).arg(img).args(["-report_el_torito", "plain"]));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("El Torito") || l.starts_with("Boot record") || l.starts_with("Volume id"))
        // An entry line ends with its load size and LBA; the catalog line with its LBA.
        .map(|l| {
            let mut w: Vec<&str> = l.split_whitespace().collect();
            if l.starts_with("El Torito boot img :") && w.len() > 3 {
                w.pop();
            }
            if l.starts_with("El Torito catalog ") && w.len() > 4 {
                w.remove(4);
            }
            if l.starts_with("El Torito img blks") {
                w.truncate(w.len().min(6));
            }
            w.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `xorriso -indev IMG -find / -exec lsdl`, without sizes in blocks and dates: type, mode, name.
fn listing(xorriso: &Path, img: &Path) -> Vec<String> {
    let o = run_ok(Command::new(xorriso).args(["-no_rc", "-indev"]).arg(img).args(["-find", "/", "-exec", "lsdl"]));
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with(['-', 'd', 'l']))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", w[0], w.last().unwrap())
        })
        .collect();
    v.sort();
    v
}

/// The tree kairos and elemental-toolkit hand to xorriso: a grub El Torito image, the GRUB2 hybrid MBR, a FAT
/// EFI image, and the rest of the tree.
fn kairos_tree(dir: &Path) -> Option<PathBuf> {
    let mformat = require_tool("mformat")?;
    let root = dir.join("root");
    fs::create_dir_all(root.join("boot/grub2")).unwrap();
    // An El Torito image long enough for GRUB2 boot info (patched at byte 2548) and the boot-info table.
    let eltorito: Vec<u8> = (0..16 * 1024u32).map(|i| (i % 251) as u8).collect();
    fs::write(root.join("boot/eltorito.img"), eltorito).unwrap();
    let mbr = Path::new("/usr/lib/grub/i386-pc/boot_hybrid.img");
    if !mbr.exists() {
        eprintln!("skipped: no {}", mbr.display());
        return None;
    }
    fs::copy(mbr, root.join("boot/boot_hybrid.img")).unwrap();
    let efi = root.join("boot/uefi.img");
    run_ok(Command::new(mformat).arg("-i").arg(&efi).args(["-C", "-f", "1440", "::"]));
    fs::write(root.join("boot/grub2/grub.cfg"), b"set timeout=1\n").unwrap();
    fs::write(root.join("README"), b"kairos test tree\n").unwrap();
    Some(root)
}

/// Runs the same xorriso arguments through odix and xorriso (with `{out}` replaced by each output) and
/// compares the two images.
fn same_as_xorriso(dir: &Path, what: &str, args: &[String]) {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let ours = dir.join(format!("{what}-odix.iso"));
    let theirs = dir.join(format!("{what}-xorriso.iso"));
    let with = |out: &Path| -> Vec<String> { args.iter().map(|a| a.replace("{out}", out.to_str().unwrap())).collect() };
    run_ok(Command::new(&xorriso).arg("-no_rc").args(with(&theirs)));
    let o = run(odix().args(with(&ours)));
    assert!(o.status.success(), "{what}: odix failed:\n{}", text(&o));
    assert_eq!(eltorito_report(&xorriso, &ours), eltorito_report(&xorriso, &theirs), "{what}: El Torito");
    assert_eq!(listing(&xorriso, &ours), listing(&xorriso, &theirs), "{what}: files");
    // The GRUB2 hybrid MBR and the appended EFI partition: xorriso's system-area report names the same
    // partitions (types and the MBR template), apart from their sizes and places.
    let sa = |img: &Path| -> Vec<String> {
        let o =
            run_ok(Command::new(&xorriso).args(["-no_rc", "-indev"]).arg(img).args(["-report_system_area", "plain"]));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| {
                l.starts_with("System area summary")
                    || l.starts_with("GPT partname")
                    || l.starts_with("MBR partition  :")
            })
            .map(|l| l.split_whitespace().take(5).collect::<Vec<_>>().join(" "))
            .collect()
    };
    let theirs_sa = sa(&theirs);
    assert!(theirs_sa.iter().any(|l| l.starts_with("System area summary")), "{what}: {theirs_sa:?}");
    assert!(theirs_sa.len() > 2, "{what}: {theirs_sa:?}");
    assert_eq!(sa(&ours), theirs_sa, "{what}: system area");
}

/// kairos (kairos-io/AuroraBoot, pkg/ops/iso.go `BuildISOAction` and pkg/constants/constants.go
/// `GetXorrisoBooloaderArgs`, at ca022425): a new image with xorriso's own commands, its boot setup given as
/// `-boot_image` settings and the EFI image appended as partition 2.
#[test]
fn kairos_build_line() {
    let d = tempfile::tempdir().unwrap();
    let Some(root) = kairos_tree(d.path()) else { return };
    let root = root.to_str().unwrap().to_string();
    // pkg/ops/iso.go
    let mut args: Vec<String> = ["-volid", "KAIROS", "-joliet", "on", "-padding", "0", "-outdev", "{out}", "-map"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend([root.clone(), "/".into(), "-chmod".into(), "0755".into(), "--".into()]);
    // pkg/constants/constants.go GetXorrisoBooloaderArgs(root)
    let boot: Vec<String> = vec![
        "-boot_image".into(),
        "grub".into(),
        "bin_path=/boot/eltorito.img".into(),
        "-boot_image".into(),
        "grub".into(),
        format!("grub2_mbr={root}//boot/boot_hybrid.img"),
        "-boot_image".into(),
        "grub".into(),
        "grub2_boot_info=on".into(),
        "-boot_image".into(),
        "any".into(),
        "partition_offset=16".into(),
        "-boot_image".into(),
        "any".into(),
        "cat_path=/boot/boot.catalog".into(),
        "-boot_image".into(),
        "any".into(),
        "cat_hidden=on".into(),
        "-boot_image".into(),
        "any".into(),
        "boot_info_table=on".into(),
        "-boot_image".into(),
        "any".into(),
        "platform_id=0x00".into(),
        "-boot_image".into(),
        "any".into(),
        "emul_type=no_emulation".into(),
        "-boot_image".into(),
        "any".into(),
        "load_size=2048".into(),
        "-boot_image".into(),
        "any".into(),
        "next".into(),
        "-boot_image".into(),
        "any".into(),
        "platform_id=0xef".into(),
        "-boot_image".into(),
        "any".into(),
        "emul_type=no_emulation".into(),
        "-append_partition".into(),
        "2".into(),
        "0xef".into(),
        format!("{root}/boot/uefi.img"),
        "-boot_image".into(),
        "any".into(),
        "efi_path=--interval:appended_partition_2:all::".into(),
        "-boot_image".into(),
        "any".into(),
        "appended_part_as=gpt".into(),
        "-boot_image".into(),
        "any".into(),
        "mbr_force_bootable=on".into(),
    ];
    args.extend(boot);
    same_as_xorriso(d.path(), "kairos", &args);
}

/// elemental-toolkit (rancher/elemental-toolkit, pkg/action/build-iso.go `burnISO` and `xorrisoBooloaderArgs`,
/// at 185c18b5): the same kind of new image, with the EFI image appended and no BIOS entry.
#[test]
fn elemental_build_line() {
    let d = tempfile::tempdir().unwrap();
    let Some(root) = kairos_tree(d.path()) else { return };
    let efi = d.path().join("efi.img");
    fs::copy(root.join("boot/uefi.img"), &efi).unwrap();
    let root = root.to_str().unwrap().to_string();
    let efi = efi.to_str().unwrap().to_string();
    let args: Vec<String> = [
        "-volid",
        "COS_LIVE",
        "-padding",
        "0",
        "-outdev",
        "{out}",
        "-map",
        &root,
        "/",
        "-chmod",
        "0755",
        "--",
        "-append_partition",
        "2",
        "0xef",
        &efi,
        "-boot_image",
        "any",
        "cat_path=/boot/boot.catalog",
        "-boot_image",
        "any",
        "cat_hidden=on",
        "-boot_image",
        "any",
        "efi_path=--interval:appended_partition_2:all::",
        "-boot_image",
        "any",
        "platform_id=0xef",
        "-boot_image",
        "any",
        "appended_part_as=gpt",
        "-boot_image",
        "any",
        "partition_offset=16",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    same_as_xorriso(d.path(), "elemental", &args);
}

/// An image to edit, made by `xorriso -as mkisofs`: Rock Ridge and Joliet, a folder to remove and files to
/// replace; `bootable`: an El Torito BIOS entry with a boot-info table.
fn input_image(dir: &Path, bootable: bool) -> Option<PathBuf> {
    let xorriso = require_tool("xorriso")?;
    let src = dir.join("in");
    fs::create_dir_all(src.join("isolinux")).unwrap();
    fs::create_dir_all(src.join("pool/main")).unwrap();
    fs::create_dir_all(src.join("EFI/BOOT")).unwrap();
    fs::write(src.join("isolinux/isolinux.bin"), vec![0xeb; 8192]).unwrap();
    fs::write(src.join("EFI/BOOT/grub.cfg"), b"menuentry old {}\n").unwrap();
    fs::write(src.join("pool/main/a.deb"), b"package").unwrap();
    fs::write(src.join("md5sum.txt"), b"").unwrap();
    let iso = dir.join(if bootable { "input-boot.iso" } else { "input.iso" });
    let _ = fs::remove_file(&iso);
    let mut cmd = Command::new(xorriso);
    cmd.args(["-no_rc", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "OLDVOL"]);
    if bootable {
        cmd.args(["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4"]);
        cmd.arg("-boot-info-table");
    }
    run_ok(cmd.arg("-o").arg(&iso).arg(&src));
    Some(iso)
}

/// The editing lines of the scripts, with `{in}`, `{out}` and `{dir}` for the files: (source, arguments, a
/// path the edit adds or changes, that `lsdl` must show afterwards).
fn edit_lines() -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    vec![
        (
            // lorax, src/pylorax/cmdline/mkksiso.py (weldr/lorax at ba5acecf), the command built in
            // `MakeKickstartISO`: `-indev IN -outdev OUT -boot_image any replay -volid NEW`, one `-update` per
            // boot configuration file changed, one `-map` per file added (under its base name).
            "lorax mkksiso",
            vec![
                "-indev",
                "{in}",
                "-outdev",
                "{out}",
                "-boot_image",
                "any",
                "replay",
                "-volid",
                "NEWVOL",
                "-update",
                "{dir}/grub.cfg",
                "/EFI/BOOT/grub.cfg",
                "-map",
                "{dir}/ks.cfg",
                "ks.cfg",
            ],
            "/ks.cfg",
        ),
        (
            // kairos, kairos-io/AuroraBoot pkg/ops/iso.go (at ca022425): the cloud config injected into an
            // existing image, read and written in place (a session added).
            "kairos AuroraBoot",
            vec!["-indev", "{in}", "-outdev", "{in}", "-map", "{dir}/cfg", "/", "-boot_image", "any", "replay"],
            "/config.yaml",
        ),
    ]
}

fn edit_files(dir: &Path) {
    fs::write(dir.join("grub.cfg"), b"menuentry new { linux /vmlinuz inst.ks=cdrom:/ks.cfg }\n").unwrap();
    fs::write(dir.join("ks.cfg"), b"text\nreboot\n").unwrap();
    fs::create_dir_all(dir.join("cfg")).unwrap();
    fs::write(dir.join("cfg/config.yaml"), b"#cloud-config\n").unwrap();
}

fn fill(args: &[&str], input: &Path, out: &Path, dir: &Path) -> Vec<String> {
    args.iter()
        .map(|a| {
            a.replace("{in}", input.to_str().unwrap())
                .replace("{out}", out.to_str().unwrap())
                .replace("{dir}", dir.to_str().unwrap())
        })
        .collect()
}

/// Every editing line is read by odix as xorriso reads it (no unknown command, no missing value) and carried out
/// on a bootable image, the in-place one (a session appended, its boot setup kept) included.
#[test]
fn edit_lines_are_read() {
    let d = tempfile::tempdir().unwrap();
    let Some(input) = input_image(d.path(), true) else { return };
    edit_files(d.path());
    for (what, args, _) in edit_lines() {
        let out = d.path().join("out.iso");
        let _ = fs::remove_file(&out);
        let o = run(odix().args(fill(&args, &input, &out, d.path())));
        assert!(o.status.success(), "{what}: {}", text(&o));
    }
    // The lines lorax runs to show the result's boot setup (mkksiso.py, after the edit): odix prints the
    // as_mkisofs form only, and says so.
    let o =
        run(odix().args(["-indev"]).arg(&input).args(["-report_el_torito", "plain", "-report_system_area", "plain"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("as_mkisofs"), "{}", text(&o));
    // Lines odix does not read are refused with the command named.
    let o = run(odix().args(["-indev"]).arg(&input).args(["-osirrox", "on", "-extract", "/", "x"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("-osirrox"), "{}", text(&o));
}

/// xorriso's own exit values for a `-rm` of a missing path (checked with xorriso 1.5.4: SORRY, exit value 32
/// by default, 0 with `-return_with FAILURE 32`, 5 and no image with `-abort_on SORRY`), and odix's the same.
#[test]
fn missing_path_severity() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tempfile::tempdir().unwrap();
    let Some(input) = input_image(d.path(), false) else { return };
    edit_files(d.path());
    for (extra, code, written) in [
        (&[][..], 32, true),
        (&["-return_with", "FAILURE", "32"][..], 0, true),
        (&["-abort_on", "SORRY"][..], 5, false),
    ] {
        for (who, mut cmd) in [("xorriso", Command::new(&xorriso)), ("odix", odix())] {
            let out = d.path().join(format!("{who}.iso"));
            let _ = fs::remove_file(&out);
            let o = run(cmd.args(extra).arg("-indev").arg(&input).arg("-outdev").arg(&out).args([
                "-rm",
                "/nothere",
                "--",
                "-map",
                d.path().join("ks.cfg").to_str().unwrap(),
                "/new.txt",
                "-boot_image",
                "any",
                "replay",
            ]));
            assert_eq!(o.status.code(), Some(code), "{who} {extra:?}: {}", text(&o));
            assert_eq!(out.exists(), written, "{who} {extra:?}");
        }
    }
}

/// `-report_el_torito as_mkisofs` prints what xorriso prints for the same image.
#[test]
fn report_as_mkisofs() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tempfile::tempdir().unwrap();
    let Some(input) = input_image(d.path(), true) else { return };
    let line = |mut c: Command| {
        let o = run_ok(c.arg("-indev").arg(&input).args(["-report_el_torito", "as_mkisofs"]));
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect::<Vec<_>>()
    };
    let mut x = Command::new(&xorriso);
    x.arg("-no_rc");
    let theirs = line(x);
    assert!(theirs.iter().any(|l| l.starts_with("-b ")), "{theirs:?}");
    assert_eq!(line(odix()), theirs);
}

/// The lines that write a new image, run on an image without boot setup: xorriso reads the result and shows
/// the changes (the file added, the file replaced, the new volume id), as it does for xorriso's own result of
/// the same line.
#[test]
fn edit_lines_run() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tempfile::tempdir().unwrap();
    edit_files(d.path());
    let Some(input) = input_image(d.path(), false) else { return };
    let (what, args, changed) = edit_lines().into_iter().next().unwrap();
    let ours = d.path().join("ours.iso");
    let theirs = d.path().join("theirs.iso");
    let o = run(odix().args(fill(&args, &input, &ours, d.path())));
    assert!(o.status.success(), "{what}: {}", text(&o));
    run_ok(Command::new(&xorriso).arg("-no_rc").args(fill(&args, &input, &theirs, d.path())));
    let names = listing(&xorriso, &ours);
    assert!(names.iter().any(|l| l.ends_with(&format!("'{changed}'"))), "{what}: {names:?}");
    assert_eq!(names, listing(&xorriso, &theirs), "{what}");
    let cat = |img: &Path, path: &str| {
        let to = d.path().join("extracted");
        let _ = fs::remove_file(&to);
        run_ok(
            Command::new(&xorriso)
                .args(["-no_rc", "-osirrox", "on", "-indev"])
                .arg(img)
                .arg("-extract")
                .arg(path)
                .arg(&to),
        );
        fs::read(&to).unwrap()
    };
    assert_eq!(cat(&ours, "/EFI/BOOT/grub.cfg"), fs::read(d.path().join("grub.cfg")).unwrap());
    assert_eq!(cat(&ours, "/ks.cfg"), fs::read(d.path().join("ks.cfg")).unwrap());
    let volid = |img: &Path| {
        let o = run_ok(Command::new(&xorriso).args(["-no_rc", "-indev"]).arg(img).args(["-pvd_info"]));
        String::from_utf8_lossy(&o.stdout).lines().find(|l| l.starts_with("Volume Id")).unwrap_or("").to_string()
    };
    assert!(volid(&ours).contains("NEWVOL"), "{}", volid(&ours));
    assert_eq!(volid(&ours), volid(&theirs));
}

/// An editing line run on a small bootable image: xorriso reads the result, shows the change, and reports the
/// same El Torito setup as the input's apart from LBAs, as it does for xorriso's own result of the same line.
fn run_bootable(index: usize) {
    let Some(xorriso) = require_tool("xorriso") else { return };
    let d = tempfile::tempdir().unwrap();
    edit_files(d.path());
    let (what, args, changed) = edit_lines().swap_remove(index);
    let mut results = Vec::new();
    for who in ["odix", "xorriso"] {
        let Some(input) = input_image(d.path(), true) else { return };
        let before = eltorito_report(&xorriso, &input);
        let out = d.path().join(format!("{who}.iso"));
        let mut cmd = if who == "odix" { odix() } else { Command::new(&xorriso) };
        let o = run(cmd.args(fill(&args, &input, &out, d.path())));
        assert!(o.status.success(), "{who}, {what}: {}", text(&o));
        let result = if out.exists() { out.clone() } else { input.clone() };
        let names = listing(&xorriso, &result);
        assert!(names.iter().any(|l| l.ends_with(&format!("'{changed}'"))), "{who}, {what}: {names:?}");
        let after = eltorito_report(&xorriso, &result);
        let strip = |r: &str| r.lines().filter(|l| !l.starts_with("Volume id")).collect::<Vec<_>>().join("\n");
        assert_eq!(strip(&after), strip(&before), "{who}, {what}");
        assert!(after.contains("El Torito boot img"), "{who}, {what}: {after}");
        results.push((names, after));
    }
    assert_eq!(results[0], results[1], "{what}: odix's and xorriso's results");
}

/// lorax's mkksiso line on a bootable image.
#[test]
fn lorax_line_on_a_bootable_image() {
    run_bootable(0);
}

/// kairos's in-place line (a session appended to the input).
#[test]
fn kairos_line_on_a_bootable_image() {
    run_bootable(1);
}

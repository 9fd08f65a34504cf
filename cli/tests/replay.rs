//! Replaying boot setups: `odix info --as-mkisofs` prints, for images made by xorriso, grub-mkrescue and
//! genisoimage and for Debian's packaged images, the lines `xorriso -report_el_torito as_mkisofs` prints; fed back
//! to `odix mkisofs` with the image's extracted tree they rebuild an image xorriso reports the same boot setup of
//! (positions and sizes aside) and that boots the same way under SeaBIOS and OVMF; `odix::replay::replay`'s
//! `BootConfig` builds the same through the library.
//!
//! Differences from xorriso, by design: grub-mkrescue's images carry an Apple partition map and an HFS+ tree,
//! which odix reports (`-apm-block-size 2048`, `-hfsplus`, as xorriso does) but does not write, so the rebuilt
//! image has neither (its APM and the GPT's HFS+ entry are missing from xorriso's report of it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use odix_testdata::firmware::{boot_serial, grub_loaders, Firmware, Media, OVMF_CODE, OVMF_VARS};
use odix_testdata::{require_tool, run, run_ok};

const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
const BOOT_HYBRID: &str = "/usr/lib/grub/i386-pc/boot_hybrid.img";
const GRUB_MARKER: &str = "ODIX-BOOT-OK";
const ISOLINUX_MARKER: &str = "ODIX-ISOLINUX-OK";
const ISO_MARKER: &str = "ODIX-ISO9660-MARKER-READ";
const PACKAGED: [&str; 3] =
    ["/usr/lib/memtest86+/memtest86+x64.iso", "/usr/lib/ipxe/ipxe.iso", "/usr/lib/grub-rescue/grub-rescue-cdrom.iso"];

fn odix() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_odix"))
}

/// One test image and how it boots: the marker its BIOS and UEFI boots print on the serial console (none where
/// the loader prints to the screen only, as the packaged images' do).
struct TestImage {
    name: &'static str,
    path: PathBuf,
    bios: Option<&'static str>,
    uefi: Option<&'static str>,
}

/// The images, made once per test run for every test of this file (in this process or, under cargo-nextest,
/// another: see [`odix_testdata::oracle::shared_dir`]); `None` when a tool is missing (outside CI).
fn images() -> Option<&'static [TestImage]> {
    static IMAGES: OnceLock<Option<Vec<TestImage>>> = OnceLock::new();
    IMAGES.get_or_init(shared_images).as_deref()
}

/// The markers a test image's boots print, by the names its list file gives them.
const MARKERS: [(&str, &str); 3] = [("grub", GRUB_MARKER), ("isolinux", ISOLINUX_MARKER), ("iso", ISO_MARKER)];

fn shared_images() -> Option<Vec<TestImage>> {
    if !tools_present() {
        return None;
    }
    let dir = odix_testdata::oracle::shared_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "replay-images", |d| {
        let list: String = make_images(d)
            .iter()
            .map(|i| {
                let marker = |m: Option<&str>| MARKERS.iter().find(|k| Some(k.1) == m).map_or("-", |k| k.0);
                format!("{}\t{}\t{}\t{}\n", i.name, i.path.display(), marker(i.bios), marker(i.uefi))
            })
            .collect();
        fs::write(d.join("images.txt"), list).unwrap();
    });
    let list = fs::read_to_string(dir.join("images.txt")).unwrap();
    let marker = |k: &str| MARKERS.iter().find(|m| m.0 == k).map(|m| m.1);
    let images = list
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            TestImage {
                name: f[0].to_string().leak(),
                path: PathBuf::from(f[1]),
                bios: marker(f[2]),
                uefi: marker(f[3]),
            }
        })
        .collect();
    Some(images)
}

fn tools_present() -> bool {
    let tools = ["xorriso", "genisoimage", "grub-mkrescue", "grub-mkimage", "grub-mkstandalone", "mformat", "mcopy"];
    let files = [ISOLINUX_BIN, ISOHDPFX, LDLINUX, BOOT_HYBRID, PACKAGED[0], PACKAGED[1], PACKAGED[2]];
    tools.iter().all(|t| require_tool(t).is_some()) && files.iter().all(|f| require_file(f))
}

fn require_file(path: &str) -> bool {
    if Path::new(path).is_file() {
        return true;
    }
    if odix_testdata::oracle::in_ci() {
        panic!("{path} is missing in CI: ./setup.sh must install it");
    }
    eprintln!("skipping: {path} is not installed (run ./setup.sh)");
    false
}

fn put(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// ISOLINUX in `dir` whose default label is the marker: "Loading ODIX-ISOLINUX-OK... failed" on the serial
/// console proves the configuration was read from the image's file system.
fn isolinux_in(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::copy(ISOLINUX_BIN, dir.join("isolinux.bin")).unwrap();
    fs::copy(LDLINUX, dir.join("ldlinux.c32")).unwrap();
    put(&dir.join("isolinux.cfg"), &format!("SERIAL 0 115200\nPROMPT 0\nTIMEOUT 1\nDEFAULT {ISOLINUX_MARKER}\n"));
}

fn xorriso_mkisofs(out: &Path, args: &[&str], tree: &Path) {
    run_ok(Command::new("xorriso").args(["-as", "mkisofs", "-quiet", "-o"]).arg(out).args(args).arg(tree));
}

/// Makes the test images in `d`.
fn make_images(d: &Path) -> Vec<TestImage> {
    let mut v: Vec<TestImage> = PACKAGED
        .iter()
        .map(|p| TestImage {
            name: Path::new(p).file_stem().unwrap().to_str().unwrap().to_string().leak(),
            path: PathBuf::from(p),
            bios: None,
            uefi: None,
        })
        .collect();

    // grub-mkrescue with the real xorriso: BIOS and UEFI GRUB, HFS+ and APM, GPT with the EFI image.
    let src = d.join("grub-src");
    put(
        &src.join("boot/grub/grub.cfg"),
        &format!("serial\nterminal_input serial\nterminal_output serial\necho {GRUB_MARKER}\nhalt\n"),
    );
    let grub = d.join("grub-mkrescue.iso");
    run_ok(Command::new("grub-mkrescue").arg("-o").arg(&grub).arg(&src));
    v.push(TestImage { name: "grub-mkrescue", path: grub, bios: Some(GRUB_MARKER), uefi: Some(GRUB_MARKER) });

    let l = grub_loaders(d);
    let (eltorito, esp) = (l.eltorito, l.efi_img);

    // ISOLINUX isohybrid with an EFI image in the tree and a GPT marking it.
    let t = d.join("isolinux-tree");
    isolinux_in(&t.join("isolinux"));
    fs::create_dir_all(t.join("boot")).unwrap();
    fs::copy(&esp, t.join("boot/efi.img")).unwrap();
    put(&t.join("odix-marker.txt"), ISO_MARKER);
    let iso = d.join("isolinux.iso");
    xorriso_mkisofs(
        &iso,
        &[
            "-isohybrid-mbr",
            ISOHDPFX,
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-eltorito-alt-boot",
            "-e",
            "boot/efi.img",
            "-no-emul-boot",
            "-isohybrid-gpt-basdat",
            "-R",
        ],
        &t,
    );
    v.push(TestImage { name: "isolinux", path: iso, bios: Some(ISOLINUX_MARKER), uefi: Some(ISO_MARKER) });

    // Debian-like: partition offset 16, the EFI partition appended, the UEFI entry pointing into it.
    let t = d.join("debian-tree");
    isolinux_in(&t.join("isolinux"));
    put(&t.join("odix-marker.txt"), ISO_MARKER);
    let esp_arg = esp.display().to_string();
    let deb = d.join("debian-like.iso");
    xorriso_mkisofs(
        &deb,
        &[
            "-isohybrid-mbr",
            ISOHDPFX,
            "-partition_offset",
            "16",
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-append_partition",
            "2",
            "0xef",
            &esp_arg,
            "-eltorito-alt-boot",
            "-e",
            "--interval:appended_partition_2:all::",
            "-no-emul-boot",
            "-R",
        ],
        &t,
    );
    v.push(TestImage { name: "debian-like", path: deb, bios: Some(ISOLINUX_MARKER), uefi: Some(ISO_MARKER) });

    // Ubuntu-like: GRUB2 hybrid MBR, the EFI partition appended and described in a GPT.
    let t = d.join("ubuntu-tree");
    fs::create_dir_all(t.join("boot/grub/i386-pc")).unwrap();
    fs::copy(&eltorito, t.join("boot/grub/i386-pc/eltorito.img")).unwrap();
    put(&t.join("odix-marker.txt"), ISO_MARKER);
    let ubu = d.join("ubuntu-like.iso");
    xorriso_mkisofs(
        &ubu,
        &[
            "-V",
            "Ubuntu-like",
            "--grub2-mbr",
            BOOT_HYBRID,
            "--protective-msdos-label",
            "-partition_cyl_align",
            "off",
            "-partition_offset",
            "16",
            "--mbr-force-bootable",
            "-append_partition",
            "2",
            "28732ac11ff8d211ba4b00a0c93ec93b",
            &esp_arg,
            "-appended_part_as_gpt",
            "-iso_mbr_part_type",
            "a2a0d0ebe5b9334487c068b6b72699c7",
            "-c",
            "/boot.catalog",
            "-b",
            "/boot/grub/i386-pc/eltorito.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "--grub2-boot-info",
            "-eltorito-alt-boot",
            "-e",
            "--interval:appended_partition_2:all::",
            "-no-emul-boot",
            "-r",
        ],
        &t,
    );
    v.push(TestImage { name: "ubuntu-like", path: ubu, bios: Some(ISO_MARKER), uefi: Some(ISO_MARKER) });

    // genisoimage: ISOLINUX with a boot info table, no system area.
    let t = d.join("geni-tree");
    isolinux_in(&t.join("isolinux"));
    let geni = d.join("genisoimage.iso");
    run_ok(
        Command::new("genisoimage")
            .args(["-quiet", "-o"])
            .arg(&geni)
            .args(["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot"])
            .args(["-boot-load-size", "4", "-boot-info-table", "-R"])
            .arg(&t),
    );
    v.push(TestImage { name: "genisoimage", path: geni, bios: Some(ISOLINUX_MARKER), uefi: None });

    // No boot setup at all.
    let t = d.join("plain-tree");
    put(&t.join("readme.txt"), "no boot here\n");
    let plain = d.join("plain.iso");
    xorriso_mkisofs(&plain, &["-R"], &t);
    v.push(TestImage { name: "plain", path: plain, bios: None, uefi: None });
    v
}

fn xorriso_as_mkisofs(img: &Path) -> Vec<String> {
    let o = run(Command::new("xorriso").arg("-indev").arg(img).args(["-report_el_torito", "as_mkisofs"]));
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

fn odix_as_mkisofs(img: &Path) -> Vec<String> {
    let o = run_ok(Command::new(odix()).args(["info", "--as-mkisofs"]).arg(img));
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

/// xorriso's plain El Torito and system area reports, with numbers (LBAs, sizes, GUIDs) masked and spacing
/// normalised: what must survive a rebuild from the same tree.
fn boot_shape(img: &Path) -> Vec<String> {
    let o = run(Command::new("xorriso").arg("-indev").arg(img).args([
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.len() > 20 && l.as_bytes()[19] == b':')
        .filter(|l| !l.contains("GUID") && !l.starts_with("GPT lba range") && !l.starts_with("GPT entry array"))
        .map(|l| mask_numbers(l).split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Every run of digits as one `N`.
fn mask_numbers(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('N') {
            out.push('N');
        }
    }
    out
}

/// What grub-mkrescue's Apple partition map and HFS+ tree add to a report: odix writes neither.
fn without_apple(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_gpt = false;
    for l in lines {
        if l.starts_with("APM") {
            continue;
        }
        if l.starts_with("GPT partition name") {
            skip_gpt = false;
        }
        if l.starts_with("GPT partname local") && l.ends_with("HFSPLUS") {
            skip_gpt = true;
            out.pop();
            continue;
        }
        if skip_gpt && l.starts_with("GPT") {
            continue;
        }
        out.push(l.replace(" APM", ""));
    }
    out
}

#[test]
fn as_mkisofs_lines_equal_xorriso() {
    let Some(images) = images() else { return };
    for img in images {
        let theirs = xorriso_as_mkisofs(&img.path);
        let ours = odix_as_mkisofs(&img.path);
        assert_eq!(ours, theirs, "{}: odix info --as-mkisofs differs from xorriso", img.name);
        if img.name == "plain" {
            assert!(ours.is_empty(), "an image without boot setup gives no lines");
        } else {
            assert!(ours.iter().any(|l| l.starts_with("-V ")), "{}: {ours:?}", img.name);
        }
    }
}

/// Rebuilds `img` from its extracted tree with the lines odix prints, through a shell as a script would.
fn rebuild(img: &TestImage, dir: &Path) -> PathBuf {
    let tree = dir.join(format!("{}-tree", img.name));
    run_ok(Command::new(odix()).args(["extract", "-C"]).arg(&tree).arg(&img.path));
    let lines = odix_as_mkisofs(&img.path);
    let out = dir.join(format!("{}-rebuilt.iso", img.name));
    let script = format!("\"$0\" mkisofs -quiet {} -R -o \"$1\" \"$2\"", lines.join(" "));
    run_ok(Command::new("sh").arg("-c").arg(script).arg(odix()).arg(&out).arg(&tree));
    out
}

#[test]
fn rebuilt_images_have_the_same_boot_setup() {
    let Some(images) = images() else { return };
    let dir = tempfile::tempdir().unwrap();
    for img in images.iter().filter(|i| i.name != "plain") {
        let out = rebuild(img, dir.path());
        let (mut want, got) = (boot_shape(&img.path), boot_shape(&out));
        if img.name == "grub-mkrescue" {
            want = without_apple(want);
        }
        assert!(want.iter().any(|l| l.starts_with("El Torito boot img")), "{}: {want:?}", img.name);
        assert_eq!(got, want, "{}: xorriso reports a different boot setup for the rebuilt image", img.name);
        // What is replayed again is the same, positions aside.
        let mask = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .filter(|l| !l.starts_with("--modification-date") && !l.starts_with("-apm") && l != "-hfsplus")
                .map(|l| l.replace(&img.path.display().to_string(), "IMG").replace(&out.display().to_string(), "IMG"))
                // No APM in the rebuild, so no APM to zero (grub-mkrescue's image only).
                .map(|l| mask_numbers(&l.replace(",zero_apm:", ":")))
                .collect()
        };
        assert_eq!(
            mask(odix_as_mkisofs(&out)),
            mask(odix_as_mkisofs(&img.path)),
            "{}: the rebuilt image replays differently",
            img.name
        );
    }
}

/// The library route: `replay()`'s `BootConfig` with the tree builds an image of the same boot setup.
#[test]
fn replay_config_builds_the_same_boot_setup() {
    let Some(images) = images() else { return };
    let dir = tempfile::tempdir().unwrap();
    for img in images.iter().filter(|i| i.name != "plain") {
        let tree = dir.path().join(format!("{}-tree", img.name));
        run_ok(Command::new(odix()).args(["extract", "-C"]).arg(&tree).arg(&img.path));
        let image = odix::Image::open(&img.path, &odix::Options::default()).unwrap();
        let r = odix::replay::replay(&image).unwrap();
        assert!(!r.uses.is_empty(), "{}: no tree path used", img.name);
        for p in &r.uses {
            assert!(tree.join(p.trim_start_matches('/')).is_file(), "{}: {p} is not in the tree", img.name);
        }
        let mut spec = odix::BuildSpec::new(vec![odix::BuildSource::folder(&tree)]);
        spec.trees.rock_ridge = true;
        spec.dates.now = 1_700_000_000;
        spec.boot = r.config.clone();
        spec.boot.pad_sectors = odix::boot::PAD_SECTORS;
        let plan = spec.plan().unwrap();
        let out = dir.path().join(format!("{}-lib.iso", img.name));
        let mut bytes = Vec::new();
        plan.write_to(&mut bytes, &mut |_| {}).unwrap();
        fs::write(&out, bytes).unwrap();
        let mut want = boot_shape(&img.path);
        if img.name == "grub-mkrescue" {
            want = without_apple(want);
        }
        assert_eq!(boot_shape(&out), want, "{}: the library build differs", img.name);

        let kept = odix::replay::keep_catalog(&image).unwrap();
        assert!(kept.config.entries.iter().all(|e| !e.boot_info_table && !e.grub2_boot_info));
        assert!(
            kept.config.isohybrid_mbr.is_none() && kept.config.grub2_mbr.is_none() && kept.config.append.is_empty()
        );
    }
}

/// Boots `image` as a CD and waits for `marker` on the serial console; false when it never came.
fn boots(image: &Path, firmware: Firmware, marker: &str, timeout: Duration) -> bool {
    boots_from(image, firmware, Media::Cd, marker, timeout)
}

/// [`boots`] as a CD or as a disk.
fn boots_from(image: &Path, firmware: Firmware, media: Media, marker: &str, timeout: Duration) -> bool {
    boot_serial(image, firmware, media, marker, timeout).0
}

/// Each image with a serial marker boots as a CD under SeaBIOS (and, with a UEFI entry, OVMF); its rebuild from
/// the replayed options boots the same ways.
///
/// Run with `ODIX_BOOT_MATRIX=1` (the default suite boots the edited images, which go through the same replay).
#[test]
fn rebuilt_images_boot_the_same_way() {
    if !boot_matrix() {
        eprintln!("skipping: ODIX_BOOT_MATRIX=1 boots the rebuilt images");
        return;
    }
    let Some(images) = images() else { return };
    if require_tool("qemu-system-x86_64").is_none() || !require_file(OVMF_CODE) || !require_file(OVMF_VARS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut booted = 0;
    for img in images {
        if img.bios.is_none() && img.uefi.is_none() {
            continue;
        }
        let out = rebuild(img, dir.path());
        for (fw, marker, secs) in [(Firmware::SeaBios, img.bios, 90), (Firmware::Ovmf, img.uefi, 180)] {
            let Some(marker) = marker else { continue };
            let before = boots(&img.path, fw, marker, Duration::from_secs(secs));
            assert!(before, "{}: the input does not boot under {fw:?} (the test's own premise)", img.name);
            let after = boots(&out, fw, marker, Duration::from_secs(secs));
            assert!(after, "{}: the rebuilt image does not boot under {fw:?} as the input does", img.name);
            booted += 1;
        }
    }
    assert!(booted >= 8, "only {booted} boots checked");
}

#[test]
fn interval_options_are_read_as_xorriso_reads_them() {
    if require_tool("xorriso").is_none() || !require_file(PACKAGED[0]) {
        return;
    }
    let memtest = PACKAGED[0];
    let dir = tempfile::tempdir().unwrap();
    // The appended EFI partition of memtest86+ as a byte range (d = 512 bytes, the end inclusive of its unit) and
    // as a file cut out by dd: the images odix builds from either are the same.
    let tree = dir.path().join("tree");
    run_ok(Command::new(odix()).args(["extract", "-C"]).arg(&tree).arg(memtest));
    let esp = dir.path().join("esp.img");
    run_ok(Command::new("dd").arg(format!("if={memtest}")).arg(format!("of={}", esp.display())).args([
        "bs=512",
        "skip=3304",
        "count=8192",
        "status=none",
    ]));
    let build = |part: &str, out: &Path| {
        run_ok(
            Command::new(odix())
                .args(["mkisofs", "-quiet", "--modification-date=2023021110162200", "-volume_date"])
                // Reading the tree changes its access times: the two builds record the modification times only.
                .args(["all_file_dates", "set_to_mtime", "-o"])
                .arg(out)
                .args(["-append_partition", "2", "0xef", part, "-c", "/boot.catalog", "-b", "/boot/floppy.img"])
                .args(["-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::", "-no-emul-boot", "-R"])
                .arg(&tree),
        );
    };
    let (a, b) = (dir.path().join("a.iso"), dir.path().join("b.iso"));
    build(&format!("--interval:local_fs:3304d-11495d::'{memtest}'"), &a);
    build(&esp.display().to_string(), &b);
    assert!(fs::read(&a).unwrap() == fs::read(&b).unwrap(), "an interval and the same bytes as a file differ");
    // A system area interval: the GRUB2 MBR code of the image, its partition table zeroed and written anew.
    let c = dir.path().join("c.iso");
    run_ok(
        Command::new(odix())
            .args(["mkisofs", "-quiet", "-o"])
            .arg(&c)
            .arg("--grub2-mbr")
            .arg(format!("--interval:local_fs:0s-15s:zero_mbrpt:{memtest}"))
            .args(["-b", "/boot/floppy.img", "-R"])
            .arg(&tree),
    );
    let (orig, new) = (fs::read(memtest).unwrap(), fs::read(&c).unwrap());
    assert!(orig[..0x1b0] == new[..0x1b0], "GRUB2 MBR code");
    assert!(orig[512..32768] == new[512..32768], "the rest of the system area");
    assert!(new[446..510] != orig[446..510], "the old partition table is replaced");
    let o = run(Command::new(odix()).args(["mkisofs", "-o", "/dev/null", "-G", "--interval:imported_iso:0-1::", "."]));
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("local_fs"));
}

/// What an edit of each test image changes, and the markers its boots print afterwards: the edit replaces the
/// file a boot prints from, so a boot that shows the new marker proves both the boot and the change.
struct EditCase {
    /// odix edit arguments.
    args: Vec<String>,
    /// Marker after the edit, BIOS and UEFI; `None` where the input gives none to look for.
    bios: Option<String>,
    uefi: Option<String>,
    /// Boots as a disk too (the image has an MBR or GPT).
    disk: bool,
    /// A path the edit adds, removes, and the content of the added one.
    added: &'static str,
    removed: Option<&'static str>,
}

const EDITED_GRUB: &str = "ODIX-EDITED-GRUB-OK";
const EDITED_ISOLINUX: &str = "ODIX-EDITED-ISOLINUX";
const EDITED_FILE: &str = "ODIX-EDITED-FILE-READ";

fn edit_case(img: &TestImage, files: &Path) -> EditCase {
    let file = |name: &str, text: &str| -> String {
        let p = files.join(format!("{}-{name}", img.name));
        fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let added = file("added", "added by odix edit\n");
    let mut args = vec!["--add".to_string(), format!("{added}:/odix-added.txt")];
    let mut case =
        EditCase { args: Vec::new(), bios: None, uefi: None, disk: false, added: "/odix-added.txt", removed: None };
    match img.name {
        "ipxe" => {
            case.bios = Some("iPXE initialising".into());
            case.uefi = Some("iPXE initialising".into());
            case.disk = true;
        }
        "grub-rescue-cdrom" => {
            case.bios = Some("GNU GRUB".into());
            case.disk = true;
            args.extend(["--rm".into(), "/boot/grub/i386-pc/mdraid09.mod".into()]);
            case.removed = Some("/boot/grub/i386-pc/mdraid09.mod");
        }
        "grub-mkrescue" => {
            let cfg = file(
                "grub.cfg",
                &format!("serial\nterminal_input serial\nterminal_output serial\necho {EDITED_GRUB}\nhalt\n"),
            );
            args.extend(["--add".into(), format!("{cfg}:/boot/grub/grub.cfg")]);
            case.bios = Some(EDITED_GRUB.into());
            case.uefi = Some(EDITED_GRUB.into());
            case.disk = true;
        }
        "isolinux" | "debian-like" | "genisoimage" => {
            let cfg =
                file("isolinux.cfg", &format!("SERIAL 0 115200\nPROMPT 0\nTIMEOUT 1\nDEFAULT {EDITED_ISOLINUX}\n"));
            args.extend(["--add".into(), format!("{cfg}:/isolinux/isolinux.cfg")]);
            case.bios = Some(EDITED_ISOLINUX.into());
            if img.uefi.is_some() {
                let marker = file("marker", EDITED_FILE);
                args.extend(["--add".into(), format!("{marker}:/odix-marker.txt")]);
                case.uefi = Some(EDITED_FILE.into());
            }
            case.disk = img.name != "genisoimage";
        }
        "ubuntu-like" => {
            let marker = file("marker", EDITED_FILE);
            args.extend(["--add".into(), format!("{marker}:/odix-marker.txt")]);
            case.bios = Some(EDITED_FILE.into());
            case.uefi = Some(EDITED_FILE.into());
            case.disk = true;
        }
        _ => {}
    }
    case.args = args;
    case
}

/// Edited with `odix edit` (a file added, the file a boot prints from replaced, a folder or file removed), each
/// image keeps its boot setup: xorriso reports the same El Torito entries and partitions apart from positions
/// and sizes, the kernel's mount shows the change, and `odix info --as-mkisofs` replays the same options.
#[test]
fn edited_images_keep_their_boot_setup() {
    let Some(images) = images() else { return };
    let dir = tempfile::tempdir().unwrap();
    for img in images {
        let case = edit_case(img, dir.path());
        let out = dir.path().join(format!("{}-edited.iso", img.name));
        run_ok(Command::new(odix()).args(["edit", "-q"]).arg(&img.path).arg("-o").arg(&out).args(&case.args));
        let mut want = boot_shape(&img.path);
        if img.name == "grub-mkrescue" {
            want = without_apple(want);
        }
        // xorriso names a file that happens to start where a gap partition starts: a matter of positions.
        let no_gap_paths = |v: Vec<String>| -> Vec<String> {
            let mut gap = false;
            v.into_iter()
                .filter(|l| {
                    if l.starts_with("GPT partname local") {
                        gap = l.ends_with(" GapN");
                    }
                    !(gap && l.starts_with("GPT partition path"))
                })
                .collect()
        };
        assert_eq!(
            no_gap_paths(boot_shape(&out)),
            no_gap_paths(want),
            "{}: xorriso reports a different boot setup after the edit",
            img.name
        );
        let listing = String::from_utf8_lossy(
            &run_ok(Command::new("xorriso").arg("-indev").arg(&out).args(["-find", "/", "-type", "f"])).stdout,
        )
        .into_owned();
        assert!(listing.contains(case.added), "{}: {} missing:\n{listing}", img.name, case.added);
        if let Some(r) = case.removed {
            assert!(!listing.contains(r), "{}: {r} still there", img.name);
        }
    }
}

/// Whether the firmware boot matrix is asked for (`ODIX_BOOT_MATRIX=1`): the rebuilt images, and the inputs of the
/// edited images (which only check the tools that made them), are booted too.
fn boot_matrix() -> bool {
    std::env::var("ODIX_BOOT_MATRIX").is_ok_and(|v| v == "1")
}

/// Every test image with a boot marker for `fw`, edited as [`edit_case`] says, boots under `fw` (as a CD, and as
/// a disk when the case says so) and prints the edited tree's marker; with [`boot_matrix`] its input boots too.
/// Returns the number of edited boots.
fn edited_images_boot(fw: Firmware) -> usize {
    let Some(images) = images() else { return usize::MAX };
    if require_tool("qemu-system-x86_64").is_none() || !require_file(OVMF_CODE) || !require_file(OVMF_VARS) {
        return usize::MAX;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for img in images {
        let case = edit_case(img, dir.path());
        let (after, before, secs) = match fw {
            Firmware::SeaBios => (case.bios.as_deref(), img.bios.or(case.bios.as_deref()), 60),
            Firmware::Ovmf => (case.uefi.as_deref(), img.uefi.or(case.uefi.as_deref()), 150),
        };
        let (Some(after), Some(before)) = (after, before) else { continue };
        let out = dir.path().join(format!("{}-edited.iso", img.name));
        run_ok(Command::new(odix()).args(["edit", "-q"]).arg(&img.path).arg("-o").arg(&out).args(&case.args));
        let medias: &[Media] = if case.disk { &[Media::Cd, Media::Disk] } else { &[Media::Cd] };
        for &media in medias {
            let t = Duration::from_secs(secs);
            if boot_matrix() {
                assert!(
                    boots_from(&img.path, fw, media, before, t),
                    "{}: the input does not boot under {fw:?} as {media:?}",
                    img.name
                );
            }
            assert!(
                boots_from(&out, fw, media, after, t),
                "{}: the edited image does not boot under {fw:?} as {media:?}",
                img.name
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn edited_images_boot_under_seabios() {
    let n = edited_images_boot(Firmware::SeaBios);
    assert!(n >= 8, "only {n} SeaBIOS boots checked");
}

#[test]
fn edited_images_boot_under_ovmf() {
    let n = edited_images_boot(Firmware::Ovmf);
    assert!(n >= 6, "only {n} OVMF boots checked");
}

/// A Windows-like install image: ISO 9660 with Joliet + UDF 1.02 (genisoimage `-udf -J`), a BIOS no-emulation entry (ISOLINUX
/// here, standing for etfsboot.com) and a UEFI no-emulation entry (a FAT image whose EFI program prints a file of
/// the image), and, with `ODIX_SLOW_TESTS`, a 4.3 GiB sparse file. Edited (a file added, the printed file
/// replaced), it is read by 7-Zip's UDF reader, udfinfo, pycdlib and the kernel's UDF mount, and its UEFI entry
/// boots the EFI program under OVMF, which shows the replaced file.
#[test]
fn windows_like_bridge_is_edited() {
    if images().is_none()
        || require_tool("udfinfo").is_none()
        || require_tool("7z").is_none()
        || !odix_testdata::oracle::require_python_module("pycdlib")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let esp = grub_loaders(d).efi_img;
    let t = d.join("win-tree");
    isolinux_in(&t.join("boot"));
    fs::create_dir_all(t.join("efi/microsoft/boot")).unwrap();
    fs::copy(&esp, t.join("efi/microsoft/boot/efisys.bin")).unwrap();
    put(&t.join("odix-marker.txt"), ISO_MARKER);
    put(&t.join("sources/ei.cfg"), "[Channel]\nRetail\n");
    let big = odix_testdata::oracle::slow_tests();
    if big {
        fs::File::create(t.join("sources/install.wim")).unwrap().set_len(4_600_000_000).unwrap();
    }
    let input = d.join("win.iso");
    run_ok(
        Command::new("genisoimage")
            .args(["-quiet", "-udf", "-J", "-iso-level", "3", "-allow-limited-size", "-V", "WIN_LIKE", "-o"])
            .arg(&input)
            .args(["-b", "boot/isolinux.bin", "-c", "boot/boot.cat", "-no-emul-boot", "-boot-load-size", "4"])
            .args(["-boot-info-table", "-eltorito-alt-boot", "-e", "efi/microsoft/boot/efisys.bin", "-no-emul-boot"])
            .arg(&t),
    );
    let marker = d.join("new-marker.txt");
    fs::write(&marker, EDITED_FILE).unwrap();
    let out = d.join("win-edited.iso");
    let o = run_ok(
        Command::new(odix())
            .args(["edit", "--add"])
            .arg(format!("{}:/odix-marker.txt", marker.display()))
            .args(["--add", &format!("{}:/sources/$OEM$/added.txt", marker.display())])
            .arg(&input)
            .arg("-o")
            .arg(&out),
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("udf view"), "{}", String::from_utf8_lossy(&o.stderr));
    let mut want = boot_shape(&input);
    want.retain(|l| !l.starts_with("El Torito cat path") && !l.starts_with("El Torito img path"));
    let mut got = boot_shape(&out);
    got.retain(|l| !l.starts_with("El Torito cat path") && !l.starts_with("El Torito img path"));
    assert_eq!(got, want, "the El Torito entries differ after the edit");
    let info = String::from_utf8_lossy(&run_ok(Command::new("udfinfo").arg(&out)).stdout).into_owned();
    assert!(info.contains("label=WIN_LIKE") && info.contains("udfrev=1.02"), "udfinfo: {info}");
    let l = String::from_utf8_lossy(&run_ok(Command::new("7z").args(["l", "-tudf"]).arg(&out)).stdout).into_owned();
    assert!(l.contains("sources/$OEM$/added.txt") && l.contains("efi/microsoft/boot/efisys.bin"), "7z: {l}");
    if big {
        assert!(l.contains("4600000000  ") || l.contains(" 4600000000 "), "7z: {l}");
    }
    let py = "import pycdlib,sys,io\np=pycdlib.PyCdlib()\np.open(sys.argv[1])\nb=io.BytesIO()\n\
              p.get_file_from_iso_fp(b, udf_path='/odix-marker.txt')\nprint(b.getvalue().decode())\n\
              print(sorted(c.file_identifier().decode() for c in p.list_children(udf_path='/sources')))";
    let o = run_ok(Command::new("python3").args(["-c", py]).arg(&out));
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(s.contains(EDITED_FILE) && s.contains("$OEM$") && s.contains("ei.cfg"), "pycdlib: {s}");
    if let Some(vm) = odix_testdata::vm_run() {
        let o = run_ok(Command::new(vm).arg("--disc").arg(&out).args([
            "--",
            "sh",
            "-c",
            "mount -t udf -o ro /dev/sr0 /mnt && cat /mnt/odix-marker.txt && ls -l /mnt/sources /mnt/sources/*OEM*",
        ]));
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(s.contains(EDITED_FILE) && s.contains("added.txt") && s.contains("ei.cfg"), "kernel: {s}");
        if big {
            assert!(s.contains("4600000000"), "kernel: {s}");
        }
    }
    if require_tool("qemu-system-x86_64").is_some() && require_file(OVMF_CODE) {
        assert!(
            boots_from(&input, Firmware::Ovmf, Media::Cd, ISO_MARKER, Duration::from_secs(150)),
            "the input's UEFI entry does not boot (the test's premise)"
        );
        assert!(
            boots_from(&out, Firmware::Ovmf, Media::Cd, EDITED_FILE, Duration::from_secs(150)),
            "the edited image's UEFI entry does not boot"
        );
    }
}

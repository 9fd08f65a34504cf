//! Bootable images: real boot loaders built through `odix mkisofs` boot in QEMU under SeaBIOS and OVMF, the
//! kernel reads a cloud-init seed, and xorriso reads back the El Torito catalog and partition tables odix wrote
//! and agrees with its own for the same arguments.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use odix_testdata::firmware::{boot_serial, grub_loaders, Firmware, Loaders, Media, OVMF_CODE, OVMF_VARS};
use odix_testdata::{require_tool, run, run_ok, vm_run};

const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
const GRUB_MARKER: &str = "ODIX-BOOT-OK";
const ISOLINUX_MARKER: &str = "ODIX-ISOLINUX-OK";

fn odix() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_odix"))
}

/// A file that must exist for a test; `None` skips locally, panics in CI (like `require_tool`).
fn require_file(path: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.is_file() {
        return Some(p);
    }
    if odix_testdata::oracle::in_ci() {
        panic!("{path} is missing in CI: ./setup.sh must install it");
    }
    eprintln!("skipping: {path} is not installed (run ./setup.sh)");
    None
}

/// Boots `image` in QEMU (TCG) and waits until `marker` appears on the serial console; QEMU is killed as soon as
/// it does, or after `timeout`. Returns the serial output; panics when the marker never came.
fn boot(image: &Path, firmware: Firmware, media: Media, marker: &str, timeout: Duration) -> String {
    let (found, text) = boot_serial(image, firmware, media, marker, timeout);
    assert!(
        found,
        "{marker} not seen booting {} with {firmware:?} from {media:?} within {timeout:?}; serial output:\n{}",
        image.display(),
        text.chars().rev().take(3000).collect::<String>().chars().rev().collect::<String>()
    );
    text
}

/// A folder with `boot/grub/grub.cfg` printing the marker on the serial console.
fn grub_tree(dir: &Path) {
    fs::create_dir_all(dir.join("boot/grub")).unwrap();
    fs::write(
        dir.join("boot/grub/grub.cfg"),
        format!("serial\nterminal_input serial\nterminal_output serial\necho {GRUB_MARKER}\nhalt\n"),
    )
    .unwrap();
}

/// A link named `xorriso` to the odix binary: grub-mkrescue runs `PATH -as mkisofs ...`, which odix answers.
fn xorriso_link(dir: &Path) -> PathBuf {
    let link = dir.join("xorriso");
    std::os::unix::fs::symlink(odix(), &link).unwrap();
    link
}

fn grub_mkrescue_image(dir: &Path, xorriso: &Path, out: &Path) {
    let src = dir.join("grub-src");
    grub_tree(&src);
    let o = run_ok(
        Command::new("grub-mkrescue").arg(format!("--xorriso={}", xorriso.display())).arg("-o").arg(out).arg(&src),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("doesn't support"), "grub-mkrescue disabled features: {err}");
}

fn grub_tools_present() -> bool {
    require_tool("grub-mkrescue").is_some()
        && require_tool("mformat").is_some()
        && require_tool("qemu-system-x86_64").is_some()
        && require_file("/usr/lib/grub/i386-pc/cdboot.img").is_some()
        && require_file("/usr/lib/grub/x86_64-efi/kernel.img").is_some()
        && require_file(OVMF_CODE).is_some()
        && require_file(OVMF_VARS).is_some()
}

#[test]
fn grub_mkrescue_image_boots_four_ways() {
    if !grub_tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rescue.iso");
    grub_mkrescue_image(dir.path(), &xorriso_link(dir.path()), &out);
    for (fw, media, secs) in [
        (Firmware::SeaBios, Media::Cd, 60),
        (Firmware::SeaBios, Media::Disk, 60),
        (Firmware::Ovmf, Media::Cd, 120),
        (Firmware::Ovmf, Media::Disk, 120),
    ] {
        boot(&out, fw, media, GRUB_MARKER, Duration::from_secs(secs));
    }
}

/// The layout Ubuntu's images use: the EFI system partition appended after the ISO and described in a GPT, the
/// UEFI El Torito entry pointing into it (`-e --interval:appended_partition_2:::`). Built from the files of a
/// grub-mkrescue image (whose GRUB finds its root by the volume's modification date), it boots under OVMF from CD
/// and from disk, and under SeaBIOS from CD.
#[test]
fn appended_efi_partition_boots_under_ovmf() {
    if !grub_tools_present() || require_tool("xorriso").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rescue = dir.path().join("rescue.iso");
    grub_mkrescue_image(dir.path(), &xorriso_link(dir.path()), &rescue);
    let tree = dir.path().join("tree");
    run_ok(Command::new("xorriso").args(["-osirrox", "on", "-indev"]).arg(&rescue).args(["-extract", "/"]).arg(&tree));
    let esp = dir.path().join("esp.img");
    fs::rename(tree.join("efi.img"), &esp).unwrap();
    fs::remove_file(tree.join("boot.catalog")).unwrap();
    let image = fs::read(&rescue).unwrap();
    // The PVD's volume modification date (ECMA-119 8.4.27), which GRUB's search --fs-uuid looks for.
    let date = String::from_utf8(image[16 * 2048 + 830..16 * 2048 + 846].to_vec()).unwrap();
    let out = dir.path().join("appended.iso");
    run_ok(
        Command::new(odix())
            .args(["mkisofs", "-quiet", "-o"])
            .arg(&out)
            .arg(format!("--modification-date={date}"))
            .args(["-r", "-V", "ISOIMAGE", "--grub2-mbr", "/usr/lib/grub/i386-pc/boot_hybrid.img"])
            .args(["-append_partition", "2", "28732ac11ff8d211ba4b00a0c93ec93b"])
            .arg(&esp)
            .args(["-appended_part_as_gpt", "-c", "/boot.catalog", "-b", "/boot/grub/i386-pc/eltorito.img"])
            .args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "--grub2-boot-info"])
            .args(["-eltorito-alt-boot", "-e", "--interval:appended_partition_2:::", "-no-emul-boot"])
            .arg(&tree),
    );
    boot(&out, Firmware::Ovmf, Media::Cd, GRUB_MARKER, Duration::from_secs(120));
    boot(&out, Firmware::Ovmf, Media::Disk, GRUB_MARKER, Duration::from_secs(120));
    boot(&out, Firmware::SeaBios, Media::Cd, GRUB_MARKER, Duration::from_secs(60));
}

fn isolinux_tree(dir: &Path) {
    let d = dir.join("isolinux");
    fs::create_dir_all(&d).unwrap();
    fs::copy(ISOLINUX_BIN, d.join("isolinux.bin")).unwrap();
    fs::copy(LDLINUX, d.join("ldlinux.c32")).unwrap();
    // ISOLINUX echoes to the serial port what it prints itself (SAY lines are not); the default label names a
    // kernel that does not exist, so "Loading ODIX-ISOLINUX-OK... failed" proves the config was read from the
    // image's file system.
    fs::write(d.join("isolinux.cfg"), format!("SERIAL 0 115200\nPROMPT 0\nTIMEOUT 1\nDEFAULT {ISOLINUX_MARKER}\n"))
        .unwrap();
}

#[test]
fn isolinux_image_boots_from_cd_and_disk() {
    if require_tool("qemu-system-x86_64").is_none()
        || require_file(ISOLINUX_BIN).is_none()
        || require_file(ISOHDPFX).is_none()
        || require_file(LDLINUX).is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    isolinux_tree(&src);
    let out = dir.path().join("isolinux.iso");
    run_ok(
        Command::new(odix())
            .arg("mkisofs")
            .arg("-o")
            .arg(&out)
            .args(["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4"])
            .args(["-boot-info-table", "-isohybrid-mbr", ISOHDPFX, "-R", "-J"])
            .arg(&src),
    );
    boot(&out, Firmware::SeaBios, Media::Cd, ISOLINUX_MARKER, Duration::from_secs(60));
    boot(&out, Firmware::SeaBios, Media::Disk, ISOLINUX_MARKER, Duration::from_secs(60));
}

/// `-partition_offset 16`: the image boots from disk, and partition 1 alone (from sector 16) is an ISO 9660
/// volume the kernel mounts.
#[test]
fn partition_offset_gives_a_mountable_partition() {
    if require_tool("qemu-system-x86_64").is_none()
        || require_file(ISOLINUX_BIN).is_none()
        || require_file(ISOHDPFX).is_none()
        || require_file(LDLINUX).is_none()
    {
        return;
    }
    let Some(vm) = vm_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    isolinux_tree(&src);
    let out = dir.path().join("offset.iso");
    run_ok(
        Command::new(odix())
            .args(["mkisofs", "-quiet", "-o"])
            .arg(&out)
            .args(["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-info-table"])
            .args(["-isohybrid-mbr", ISOHDPFX, "-partition_offset", "16", "-R", "-J"])
            .arg(&src),
    );
    boot(&out, Firmware::SeaBios, Media::Disk, ISOLINUX_MARKER, Duration::from_secs(60));
    let image = fs::read(&out).unwrap();
    let start = u32::from_le_bytes(image[446 + 8..446 + 12].try_into().unwrap()) as usize * 512;
    assert_eq!(start, 16 * 2048);
    let part = dir.path().join("part1.img");
    fs::write(&part, &image[start..]).unwrap();
    let o = run_ok(Command::new(vm).arg("--disc").arg(&part).args([
        "--",
        "sh",
        "-c",
        "mount -t iso9660 -o ro /dev/sr0 /mnt && ls /mnt/isolinux && cat /mnt/isolinux/isolinux.cfg",
    ]));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("ldlinux.c32") && s.contains("boot.cat") && s.contains(ISOLINUX_MARKER), "{s}");
}

/// The same boot through `odix mkiso`'s long options.
#[test]
fn mkiso_boot_options_make_a_bootable_hybrid() {
    if require_tool("qemu-system-x86_64").is_none()
        || require_file(ISOLINUX_BIN).is_none()
        || require_file(ISOHDPFX).is_none()
        || require_file(LDLINUX).is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    isolinux_tree(&src);
    let out = dir.path().join("mkiso.iso");
    run_ok(
        Command::new(odix())
            .args(["mkiso", "-q", "-o"])
            .arg(&out)
            .args(["--boot", "isolinux/isolinux.bin", "--boot-load-size", "4", "--boot-info-table"])
            .args(["--boot-catalog", "isolinux/boot.cat", "--isohybrid-mbr", ISOHDPFX])
            .arg(&src),
    );
    boot(&out, Firmware::SeaBios, Media::Disk, ISOLINUX_MARKER, Duration::from_secs(60));
}

#[test]
fn cloud_init_seed_is_seen_by_the_kernel() {
    let Some(vm) = vm_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("user-data"), "#cloud-config\nhostname: odix\n").unwrap();
    fs::write(dir.path().join("meta-data"), "instance-id: odix-seed\n").unwrap();
    run_ok(Command::new(odix()).current_dir(dir.path()).args([
        "mkisofs",
        "-output",
        "seed.iso",
        "-volid",
        "cidata",
        "-joliet",
        "-rock",
        "user-data",
        "meta-data",
    ]));
    let o = run_ok(Command::new(vm).arg("--disc").arg(dir.path().join("seed.iso")).args([
        "--",
        "sh",
        "-c",
        "blkid /dev/sr0; mount -t iso9660 -o ro /dev/sr0 /mnt && ls /mnt && cat /mnt/meta-data",
    ]));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("LABEL=\"cidata\""), "{s}");
    assert!(s.contains("user-data") && s.contains("meta-data"), "{s}");
    assert!(s.contains("instance-id: odix-seed"), "{s}");
}

/// `xorriso -indev IMG -report_el_torito plain -report_system_area plain`, without the lines that depend on
/// where files landed or on random numbers: LBAs of images and partitions, GUIDs, sizes of the whole image.
fn xorriso_report(img: &Path) -> Vec<String> {
    let xorriso = require_tool("xorriso").expect("checked by the caller");
    let o = run(Command::new(xorriso).arg("-indev").arg(img).args([
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines()
        .filter(|l| {
            l.starts_with("El Torito") || l.starts_with("System area") || l.starts_with("MBR") || l.starts_with("GPT")
        })
        .filter(|l| !l.contains("GUID") || l.starts_with("GPT type GUID"))
        .filter(|l| !l.starts_with("El Torito catalog ") && !l.starts_with("GPT lba range"))
        .filter(|l| !l.starts_with("GPT start and size") && !l.starts_with("GPT partition GUID"))
        // xorriso names the file that starts where a partition starts; a gap partition may start at any file.
        .filter(|l| !l.starts_with("GPT partition path") || l.contains("efi.img"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if l.starts_with("El Torito boot img") || l.starts_with("MBR partition  ") {
                // Drop the last column (the image's LBA / the partition's size) and, for MBR partitions, the start.
                let keep = if l.starts_with("MBR") { f.len() - 2 } else { f.len() - 1 };
                f[..keep].join(" ")
            } else {
                f.join(" ")
            }
        })
        .collect()
}

/// The catalog of an image, with every entry's LBA field zeroed (odix and xorriso place files differently).
fn catalog_bytes(img: &Path) -> Vec<u8> {
    let data = fs::read(img).unwrap();
    let br = &data[17 * 2048..18 * 2048];
    assert_eq!(&br[..7], b"\0CD001\x01", "no boot record at LBA 17");
    let lba = u32::from_le_bytes(br[0x47..0x4b].try_into().unwrap()) as usize;
    let mut cat = data[lba * 2048..lba * 2048 + 2048].to_vec();
    for e in cat.chunks_mut(32).skip(1) {
        if e[0] == 0x88 || e[0] == 0x00 && e[1..].iter().any(|&b| b != 0) {
            e[8..12].fill(0);
        }
    }
    cat
}

#[test]
fn boot_structures_agree_with_xorriso() {
    if require_tool("xorriso").is_none()
        || require_file(ISOLINUX_BIN).is_none()
        || require_file(ISOHDPFX).is_none()
        || require_file(LDLINUX).is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    isolinux_tree(&src);
    // A small FAT image stands for an EFI system partition image.
    let efi: Vec<u8> = (0..1_474_560u32).map(|i| (i % 251) as u8).collect();
    fs::write(src.join("efi.img"), efi).unwrap();
    fs::write(dir.path().join("part.bin"), vec![0x5a; 100_000]).unwrap();
    // A diskette image and a hard disk image with one FAT32 partition, for the emulation modes.
    fs::write(src.join("floppy.img"), vec![0u8; 1_474_560]).unwrap();
    let mut hd = vec![0u8; 1 << 20];
    hd[446 + 4] = 0x0c;
    hd[446 + 8] = 1;
    hd[446 + 12..446 + 14].copy_from_slice(&2000u16.to_le_bytes());
    hd[510] = 0x55;
    hd[511] = 0xAA;
    fs::write(src.join("hd.img"), hd).unwrap();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let isolinux = strings(&[
        "-b",
        "isolinux/isolinux.bin",
        "-c",
        "isolinux/boot.cat",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "-isohybrid-mbr",
        ISOHDPFX,
        "-R",
        "-J",
    ]);
    let with_efi =
        [isolinux.clone(), strings(&["-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat"])]
            .concat();
    let part = dir.path().join("part.bin").display().to_string();
    let appended = [isolinux.clone(), strings(&["-append_partition", "2", "0xef", &part])].concat();
    let grub_like = strings(&[
        "-b",
        "isolinux/isolinux.bin",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "--efi-boot",
        "efi.img",
        "-efi-boot-part",
        "--efi-boot-image",
        "--protective-msdos-label",
        "-r",
    ]);
    let mut grub_like = grub_like;
    let grub2_mbr = "/usr/lib/grub/i386-pc/boot_hybrid.img";
    if require_file(grub2_mbr).is_some() {
        // Like grub-mkrescue: --grub2-boot-info belongs to the entry of -b, so it comes before --efi-boot.
        grub_like.splice(6..6, strings(&["--grub2-boot-info", "--grub2-mbr", grub2_mbr]));
    }
    let defaults =
        strings(&["-b", "isolinux/isolinux.bin", "-no-emul-boot", "-eltorito-alt-boot", "-e", "efi.img", "-R"]);
    let offset = [isolinux.clone(), strings(&["-partition_offset", "16"])].concat();
    let emulation = strings(&[
        "-b",
        "floppy.img",
        "-c",
        "boot.cat",
        "-eltorito-alt-boot",
        "-b",
        "hd.img",
        "-hard-disk-boot",
        "-eltorito-alt-boot",
        "-eltorito-platform",
        "efi",
        "-b",
        "isolinux/isolinux.bin",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-R",
    ]);
    let efi_appended = [with_efi.clone(), strings(&["-append_partition", "3", "0x83", &part])].concat();
    let cases = [isolinux, with_efi, appended, grub_like, defaults, offset, emulation, efi_appended];

    for args in cases {
        let ours = dir.path().join("odix.iso");
        let theirs = dir.path().join("xorriso.iso");
        let _ = fs::remove_file(&ours);
        let _ = fs::remove_file(&theirs);
        run_ok(Command::new(odix()).arg("mkisofs").arg("-quiet").arg("-o").arg(&ours).args(&args).arg(&src));
        run_ok(Command::new("xorriso").args(["-as", "mkisofs", "-quiet", "-o"]).arg(&theirs).args(&args).arg(&src));
        let (a, b) = (xorriso_report(&ours), xorriso_report(&theirs));
        assert!(!a.is_empty());
        // The catalog paths differ when xorriso invents one (/boot.catalog in both, but listed by xorriso only
        // when it is a visible file: it is in both here).
        assert_eq!(a, b, "xorriso reports differ for {args:?}");
        assert_eq!(catalog_bytes(&ours), catalog_bytes(&theirs), "catalogs differ for {args:?}");
        // The MBR boot code and the partition table's layout: identical except the patched boot image address and
        // the disk signature (random in xorriso).
        let (x, y) = (fs::read(&ours).unwrap(), fs::read(&theirs).unwrap());
        assert_eq!(x[..432], y[..432], "MBR code differs for {args:?}");
        let status_types = |d: &[u8]| (0..4).map(|i| (d[446 + 16 * i], d[450 + 16 * i])).collect::<Vec<_>>();
        assert_eq!(status_types(&x), status_types(&y), "MBR entries differ for {args:?}");
        assert_eq!(x[510..512], y[510..512]);
        check_patches(&x, &args);
        check_patches(&y, &args);
    }
}

/// The boot info table, GRUB2 boot info and MBR boot address of an image agree with its catalog.
fn check_patches(img: &[u8], args: &[String]) {
    let le32 = |at: usize| u32::from_le_bytes(img[at..at + 4].try_into().unwrap());
    let le64 = |at: usize| u64::from_le_bytes(img[at..at + 8].try_into().unwrap());
    let cat = le32(17 * 2048 + 0x47) as usize * 2048;
    let lba = le32(cat + 32 + 8);
    let image = lba as usize * 2048;
    let len = fs::metadata(ISOLINUX_BIN).unwrap().len() as usize;
    if !args.iter().any(|a| a == "-boot-info-table") {
        return;
    }
    assert_eq!(le32(image + 8), 16, "boot info table: PVD LBA");
    assert_eq!(le32(image + 12), lba, "boot info table: image LBA");
    assert_eq!(le32(image + 16) as usize, len, "boot info table: length");
    let sum = img[image + 64..image + len]
        .chunks(4)
        .fold(0u32, |a, w| a.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]])));
    assert_eq!(le32(image + 20), sum, "boot info table: checksum");
    if args.iter().any(|a| a == "--grub2-boot-info") {
        assert_eq!(le64(image + 2548), u64::from(lba) * 4 + 5, "GRUB2 boot info");
        assert_eq!(le64(0x1b0), u64::from(lba) * 4 + 4, "GRUB2 MBR boot address");
    }
    if args.iter().any(|a| a == "-isohybrid-mbr") {
        assert_eq!(le32(432), lba * 4, "isohybrid MBR boot address");
    }
}

/// Debian's memtest86+x64.iso boots UEFI from an appended EFI partition that its El Torito entry points into
/// (`-e --interval:appended_partition_2:all::`). Rebuilt by odix from its own files with the arguments xorriso
/// reports for it, the image has the same catalog and MBR, positions aside.
#[test]
fn memtest_layout_rebuilt_from_its_xorriso_arguments() {
    let memtest = "/usr/lib/memtest86+/memtest86+x64.iso";
    if require_tool("xorriso").is_none() || require_file(memtest).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    run_ok(Command::new("xorriso").args(["-osirrox", "on", "-indev", memtest, "-extract", "/"]).arg(&tree));
    let original = fs::read(memtest).unwrap();
    // The GRUB2 MBR code and the appended EFI partition, taken from the image itself.
    let mbr = dir.path().join("mbr.bin");
    fs::write(&mbr, &original[..446]).unwrap();
    let le32 = |at: usize| u32::from_le_bytes(original[at..at + 4].try_into().unwrap()) as usize;
    let (start, blocks) = (le32(446 + 16 + 8), le32(446 + 16 + 12));
    let esp = dir.path().join("esp.img");
    fs::write(&esp, &original[start * 512..(start + blocks) * 512]).unwrap();
    let out = dir.path().join("memtest.iso");
    run_ok(
        Command::new(odix())
            .args(["mkisofs", "-quiet", "-o"])
            .arg(&out)
            .args(["-V", "MT86PLUS_64", "--modification-date=2023021110162200", "--grub2-mbr"])
            .arg(&mbr)
            .args(["--mbr-force-bootable", "-append_partition", "2", "0xef"])
            .arg(&esp)
            .args(["-iso_mbr_part_type", "0x00", "-c", "/boot.catalog", "-b", "/boot/floppy.img"])
            .args(["-boot-load-size", "1", "-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::"])
            .args(["-no-emul-boot", "-boot-load-size", "8192", "-R"])
            .arg(&tree),
    );
    assert_eq!(xorriso_report(&out), xorriso_report(Path::new(memtest)));
    // The EFI entry points at the appended partition.
    let image = fs::read(&out).unwrap();
    let le32 = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
    let cat = le32(17 * 2048 + 0x47) as usize * 2048;
    assert_eq!(le32(cat + 96 + 8) * 4, le32(446 + 16 + 8), "EFI entry and MBR partition 2 disagree");
    assert_eq!(&image[le32(446 + 16 + 8) as usize * 512..][..blocks * 512], &original[start * 512..][..blocks * 512]);
}

/// Debian's ipxe.iso (isohybrid MBR, BIOS and UEFI entries), rebuilt the same way.
#[test]
fn ipxe_layout_rebuilt_from_its_xorriso_arguments() {
    let ipxe = "/usr/lib/ipxe/ipxe.iso";
    if require_tool("xorriso").is_none() || require_file(ipxe).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    run_ok(Command::new("xorriso").args(["-osirrox", "on", "-indev", ipxe, "-extract", "/"]).arg(&tree));
    let mbr = dir.path().join("mbr.bin");
    fs::write(&mbr, &fs::read(ipxe).unwrap()[..432]).unwrap();
    let out = dir.path().join("ipxe.iso");
    run_ok(
        Command::new(odix())
            .args(["mkisofs", "-quiet", "-o"])
            .arg(&out)
            .args(["-V", "ISOIMAGE", "--modification-date=2021020717255000", "-isohybrid-mbr"])
            .arg(&mbr)
            .args(["--mbr-force-bootable", "-iso_mbr_part_type", "0x17", "-c", "/boot.cat", "-b", "/isolinux.bin"])
            .args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-eltorito-alt-boot"])
            .args(["-e", "/efi.img", "-no-emul-boot", "-boot-load-size", "1728", "-R"])
            .arg(&tree),
    );
    assert_eq!(xorriso_report(&out), xorriso_report(Path::new(ipxe)));
}

/// Debian's grub-rescue-cdrom.iso (GRUB2 MBR, protective label, boot info table and GRUB2 boot info), rebuilt the
/// same way; the GRUB2 boot info and MBR address must point at the new eltorito.img.
#[test]
fn grub_rescue_layout_rebuilt_from_its_xorriso_arguments() {
    let rescue = "/usr/lib/grub-rescue/grub-rescue-cdrom.iso";
    if require_tool("xorriso").is_none() || require_file(rescue).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    run_ok(Command::new("xorriso").args(["-osirrox", "on", "-indev", rescue, "-extract", "/"]).arg(&tree));
    let mbr = dir.path().join("mbr.bin");
    fs::write(&mbr, &fs::read(rescue).unwrap()[..446]).unwrap();
    let out = dir.path().join("rescue.iso");
    run_ok(
        Command::new(odix())
            .args(["mkisofs", "-quiet", "-o"])
            .arg(&out)
            .args(["-V", "ISOIMAGE", "--modification-date=2026050322121300", "--grub2-mbr"])
            .arg(&mbr)
            .args(["--mbr-force-bootable", "--protective-msdos-label", "-c", "/boot.catalog"])
            .args(["-b", "/boot/grub/i386-pc/eltorito.img", "-no-emul-boot", "-boot-load-size", "4"])
            .args(["-boot-info-table", "--grub2-boot-info", "-R"])
            .arg(&tree),
    );
    assert_eq!(xorriso_report(&out), xorriso_report(Path::new(rescue)));
    let image = fs::read(&out).unwrap();
    let le32 = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
    let le64 = |at: usize| u64::from_le_bytes(image[at..at + 8].try_into().unwrap());
    let lba = le32(le32(17 * 2048 + 0x47) as usize * 2048 + 32 + 8);
    assert_eq!(le64(lba as usize * 2048 + 2548), u64::from(lba) * 4 + 5);
    assert_eq!(le64(0x1b0), u64::from(lba) * 4 + 4);
}

#[test]
fn mkisofs_command_line_errors_and_help() {
    let o = run(Command::new(odix()).args(["mkisofs", "-o", "x.iso", "-frobnicate", "dir"]));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown option `-frobnicate`"));
    let o = run_ok(Command::new(odix()).args(["-as", "mkisofs", "-help"]));
    let help = String::from_utf8_lossy(&o.stderr);
    for opt in ["--grub2-boot-info", "--grub2-mbr", "-isohybrid-mbr", "-eltorito-alt-boot", "-append_partition"] {
        assert!(help.contains(opt), "{opt} missing from -help");
    }
    let o = run_ok(Command::new(odix()).args(["mkisofs", "-version"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("odix"));
    // HFS+ options: one warning, image still made.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), "x").unwrap();
    let out = dir.path().join("h.iso");
    let o = run_ok(
        Command::new(odix())
            .args(["mkisofs", "-hfsplus", "-apm-block-size", "2048", "-hfs-bless-by", "i", "/x", "-o"])
            .arg(&out)
            .arg(dir.path().join("f")),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(err.contains("HFS"), "{err}");
    assert!(out.is_file());
}

/// A UDF bridge with an isohybrid MBR: the UDF closing anchor stays the image's last sector (no padding, no
/// cylinder alignment), udfinfo finds every anchor, 7-Zip reads the UDF tree, xorriso sees the MBR partition
/// over the whole image, and SeaBIOS boots it from CD and disk. A GPT or appended partitions after the image
/// are refused: they would take the place of the closing anchor.
#[test]
fn udf_bridge_with_isohybrid_mbr() {
    let (Some(udfinfo), Some(xorriso)) = (require_tool("udfinfo"), require_tool("xorriso")) else { return };
    if require_file(ISOLINUX_BIN).is_none() || require_file(ISOHDPFX).is_none() || require_file(LDLINUX).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    isolinux_tree(&src);
    fs::write(src.join("efi.img"), vec![0u8; 64 * 1024]).unwrap();
    let out = dir.path().join("udf.iso");
    let base = |c: &mut Command| {
        c.arg("mkisofs").args(["-quiet", "-udf", "-R", "-J", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat"]);
        c.args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-isohybrid-mbr", ISOHDPFX]);
    };
    let mut c = Command::new(odix());
    base(&mut c);
    run_ok(c.arg("-o").arg(&out).arg(&src));
    let info = run_ok(Command::new(&udfinfo).arg(&out));
    let text = format!("{}{}", String::from_utf8_lossy(&info.stdout), String::from_utf8_lossy(&info.stderr));
    assert!(!text.contains("Warning"), "udfinfo: {text}");
    let sectors = fs::metadata(&out).unwrap().len() / 2048;
    assert!(text.contains(&format!("blocks={sectors}\n")), "udfinfo sees the whole image: {text}");
    let rep = run_ok(Command::new(&xorriso).arg("-indev").arg(&out).args(["-report_system_area", "plain"]));
    let rep = String::from_utf8_lossy(&rep.stdout).into_owned();
    let part = rep.lines().find(|l| l.starts_with("MBR partition      :   1")).unwrap_or_default();
    assert_eq!(part.split_whitespace().last(), Some((sectors * 4).to_string().as_str()), "{rep}");
    if let Some(sz) = require_tool("7z") {
        let l = run_ok(Command::new(sz).args(["l", "-tudf"]).arg(&out));
        assert!(String::from_utf8_lossy(&l.stdout).contains("isolinux.cfg"), "7z -tudf");
    }
    for (extra, what) in [
        (
            &["-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat"][..],
            "a GPT (its backup header",
        ),
        (&["-append_partition", "2", "0xef"][..], "appended partitions"),
    ] {
        let mut c = Command::new(odix());
        base(&mut c);
        c.args(extra);
        if extra[0] == "-append_partition" {
            c.arg(src.join("efi.img"));
        }
        let bad = dir.path().join("bad.iso");
        let r = run(c.arg("-o").arg(&bad).arg(&src));
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success() && err.contains(&format!("a UDF bridge cannot be combined with {what}")), "{err}");
        assert!(!bad.exists(), "no image is left behind");
    }
    if require_tool("qemu-system-x86_64").is_some() {
        boot(&out, Firmware::SeaBios, Media::Cd, ISOLINUX_MARKER, Duration::from_secs(60));
        boot(&out, Firmware::SeaBios, Media::Disk, ISOLINUX_MARKER, Duration::from_secs(60));
    }
}

/// `-hide` on the boot image and `-hide-joliet` on the catalog (matched against its `-c` path, as genisoimage
/// does): the names each tree shows are genisoimage's for the same options, and the image still boots (a hidden file keeps its data, and El Torito points at it).
#[test]
fn hidden_boot_image_and_catalog_match_genisoimage() {
    let (Some(genisoimage), Some(isoinfo)) = (require_tool("genisoimage"), require_tool("isoinfo")) else { return };
    if require_file(ISOLINUX_BIN).is_none() || require_file(LDLINUX).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    isolinux_tree(&src);
    let args = ["-quiet", "-R", "-J", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot"];
    let more =
        ["-boot-load-size", "4", "-boot-info-table", "-hide", "isolinux.bin", "-hide-joliet", "isolinux/boot.cat"];
    let ours = dir.path().join("o.iso");
    let theirs = dir.path().join("g.iso");
    run_ok(Command::new(odix()).arg("mkisofs").args(args).args(more).arg("-o").arg(&ours).arg(&src));
    run_ok(Command::new(genisoimage).args(args).args(more).arg("-o").arg(&theirs).arg(&src));
    let list = |iso: &Path, tree: &str| -> Vec<String> {
        let o = run_ok(Command::new(&isoinfo).arg(tree).arg("-f").arg("-i").arg(iso));
        let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect();
        v.sort();
        v
    };
    for tree in ["-R", "-J"] {
        assert_eq!(list(&ours, tree), list(&theirs, tree), "isoinfo {tree}");
    }
    assert!(!list(&ours, "-R").contains(&"/isolinux/isolinux.bin".to_string()));
    assert!(!list(&ours, "-J").contains(&"/isolinux/boot.cat".to_string()));
    if require_tool("qemu-system-x86_64").is_some() {
        boot(&ours, Firmware::SeaBios, Media::Cd, ISOLINUX_MARKER, Duration::from_secs(60));
    }
}

/// What GRUB prints once it has read `/odix-marker.txt` from the image's ISO 9660 file system.
const ISO_MARKER: &str = "ODIX-ISO9660-MARKER-READ";

/// ISOLINUX in `dir` with a configuration (`name`) whose default label is the marker, as [`isolinux_tree`].
fn isolinux_in(dir: &Path, name: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::copy(ISOLINUX_BIN, dir.join("isolinux.bin")).unwrap();
    fs::copy(LDLINUX, dir.join("ldlinux.c32")).unwrap();
    fs::write(dir.join(name), format!("SERIAL 0 115200\nPROMPT 0\nTIMEOUT 1\nDEFAULT {ISOLINUX_MARKER}\n")).unwrap();
}

fn put(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// One distribution's command line, as its build tool runs it.
struct DistroLine {
    name: &'static str,
    /// The working directory the tool runs the command in.
    cwd: PathBuf,
    /// The program the tool calls (odix answers through a link of that name).
    program: &'static str,
    /// The arguments; `@OUT@` stands for the image's path.
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// First MBR byte where odix's and xorriso's boot code must agree (32 where xorriso puts an Apple partition
    /// map's block 0 first, which odix does not write).
    mbr_code_from: usize,
    /// The marker of the BIOS boot (ISOLINUX's or GRUB's).
    bios_marker: &'static str,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The distribution lines with representative trees under `dir`: the paths their lines name, ISOLINUX and the
/// GRUB loaders above in place of the distributions' boot files, `/odix-marker.txt` in each ISO tree.
fn distro_lines(dir: &Path, l: &Loaders) -> Vec<DistroLine> {
    let isohdpfx = ISOHDPFX.to_string();
    let mut v = Vec::new();

    // archiso, archiso/mkarchiso: _build_iso_image with the releng profile's bootmodes (bios.syslinux,
    // uefi.systemd-boot): _add_xorrisofs_options_bios.syslinux and _add_common_xorrisofs_options_uefi.
    let d = dir.join("archiso");
    isolinux_in(&d.join("iso/boot/syslinux"), "syslinux.cfg");
    fs::copy(ISOHDPFX, d.join("iso/boot/syslinux/isohdpfx.bin")).unwrap();
    put(&d.join("iso/arch/boot/x86_64/vmlinuz-linux"), "kernel");
    put(&d.join("iso/odix-marker.txt"), ISO_MARKER);
    fs::copy(&l.efi_img, d.join("efiboot.img")).unwrap();
    v.push(DistroLine {
        name: "archiso",
        cwd: d,
        program: "xorriso",
        args: strings(&[
            "-no_rc",
            "-as",
            "mkisofs",
            "-iso-level",
            "3",
            "-full-iso9660-filenames",
            "-joliet",
            "-joliet-long",
            "-rational-rock",
            "-volid",
            "ARCH_202512",
            "-appid",
            "Arch Linux Live/Rescue DVD",
            "-publisher",
            "Arch Linux <https://archlinux.org>",
            "-preparer",
            "prepared by mkarchiso",
            "-eltorito-boot",
            "boot/syslinux/isolinux.bin",
            "-eltorito-catalog",
            "boot/syslinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-isohybrid-mbr",
            "iso/boot/syslinux/isohdpfx.bin",
            "--mbr-force-bootable",
            "-partition_offset",
            "16",
            "-append_partition",
            "2",
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            "efiboot.img",
            "-isohybrid-gpt-basdat",
            "-eltorito-alt-boot",
            "-e",
            "--interval:appended_partition_2:all::",
            "-no-emul-boot",
            "-output",
            "@OUT@",
            "iso/",
        ]),
        env: vec![],
        mbr_code_from: 0,
        bios_marker: ISOLINUX_MARKER,
    });

    // debian-cd, tools/make_image's CMD ("$MKISOFS $MKISOFS_OPTS -V '$volid' -o ... $opts $dirs CD$n") with the
    // Makefile's MKISOFS=xorriso, MKISOFS_OPTS="-as mkisofs -r -checksum_algorithm_iso sha256,sha512" and the
    // options tools/boot/bookworm/boot-x86 adds for BIOS and EFI (BOOT_EFI=2), run in the build directory.
    let d = dir.join("debian-cd");
    isolinux_in(&d.join("boot1/isolinux"), "isolinux.cfg");
    fs::create_dir_all(d.join("syslinux/usr/lib/ISOLINUX")).unwrap();
    fs::copy(ISOHDPFX, d.join("syslinux/usr/lib/ISOLINUX/isohdpfx.bin")).unwrap();
    fs::create_dir_all(d.join("CD1/boot/grub")).unwrap();
    fs::copy(&l.efi_img, d.join("CD1/boot/grub/efi.img")).unwrap();
    put(&d.join("CD1/odix-marker.txt"), ISO_MARKER);
    put(&d.join("CD1/pool/main/h/hello/hello_2.10-3_amd64.deb"), "deb");
    fs::hard_link(d.join("CD1/pool/main/h/hello/hello_2.10-3_amd64.deb"), d.join("CD1/pool/hello.deb")).unwrap();
    v.push(DistroLine {
        name: "debian-cd",
        cwd: d,
        program: "xorriso",
        args: strings(&[
            "-as",
            "mkisofs",
            "-r",
            "-checksum_algorithm_iso",
            "sha256,sha512",
            "-V",
            "Debian 13.2.0 amd 1",
            "-o",
            "@OUT@",
            "-J",
            "-joliet-long",
            "-cache-inodes",
            "-isohybrid-mbr",
            "syslinux/usr/lib/ISOLINUX/isohdpfx.bin",
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-no-emul-boot",
            "-eltorito-alt-boot",
            "-e",
            "boot/grub/efi.img",
            "-no-emul-boot",
            "-isohybrid-gpt-basdat",
            "-isohybrid-apm-hfsplus",
            "boot1",
            "CD1",
        ]),
        env: vec![],
        mbr_code_from: 32,
        bios_marker: ISOLINUX_MARKER,
    });

    // live-build, scripts/build/binary_iso: LB_IMAGE_TYPE=iso-hybrid, LB_BOOTLOADER_BIOS=syslinux,
    // LB_BOOTLOADER_EFI=grub-efi (binary.sh: "xorriso -as mkisofs ${XORRISO_OPTIONS} -o ${IMAGE} binary").
    let d = dir.join("live-build");
    isolinux_in(&d.join("binary/isolinux"), "isolinux.cfg");
    fs::create_dir_all(d.join("binary/boot/grub")).unwrap();
    fs::copy(&l.efi_img, d.join("binary/boot/grub/efi.img")).unwrap();
    put(&d.join("binary/live/vmlinuz"), "kernel");
    put(&d.join("binary/odix-marker.txt"), ISO_MARKER);
    v.push(DistroLine {
        name: "live-build",
        cwd: d,
        program: "xorriso",
        args: strings(&[
            "-as",
            "mkisofs",
            "-R",
            "-r",
            "-J",
            "-joliet-long",
            "-l",
            "-cache-inodes",
            "-iso-level",
            "3",
            "-isohybrid-mbr",
            &isohdpfx,
            "-partition_offset",
            "16",
            "-A",
            "Debian Live",
            "-p",
            "live-build 20250505; https://salsa.debian.org/live-team/live-build",
            "-publisher",
            "Debian Live project; https://wiki.debian.org/DebianLive; debian-live@lists.debian.org",
            "-V",
            "Debian trixie 20251206-00:00",
            "--modification-date=2025120600000000",
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
            "boot/grub/efi.img",
            "-no-emul-boot",
            "-append_partition",
            "2",
            "0x01",
            "binary/boot/grub/efi.img",
            "-o",
            "@OUT@",
            "binary",
        ]),
        env: vec![],
        mbr_code_from: 0,
        bios_marker: ISOLINUX_MARKER,
    });

    // lorax, share/templates.d/99-generic/x86.tmpl ("runcmd xorrisofs ... -graft-points ..."), x86_64 with EFI
    // (no Mac boot); the marker is grafted the way the template grafts the release's license files. Debian keeps
    // isohdpfx.bin in /usr/lib/ISOLINUX, not /usr/share/syslinux.
    let d = dir.join("lorax");
    let o = d.join("outroot");
    isolinux_in(&o.join("isolinux"), "isolinux.cfg");
    put(&o.join("images/pxeboot/vmlinuz"), "kernel");
    put(&o.join("images/pxeboot/initrd.img"), "initrd");
    fs::hard_link(o.join("images/pxeboot/vmlinuz"), o.join("isolinux/vmlinuz")).unwrap();
    put(&o.join("images/install.img"), "stage2");
    fs::create_dir_all(o.join("EFI/BOOT")).unwrap();
    fs::copy(&l.bootx64, o.join("EFI/BOOT/BOOTX64.EFI")).unwrap();
    fs::copy(&l.efi_img, o.join("images/efiboot.img")).unwrap();
    put(&o.join(".discinfo"), "1764979200.0\nFedora 43\nx86_64\n");
    put(&o.join("odix-marker.txt"), ISO_MARKER);
    let g = |p: &str| format!("{p}={}/{p}", o.display());
    let mut args = strings(&[
        "-o",
        "@OUT@",
        "-isohybrid-mbr",
        &isohdpfx,
        "-b",
        "isolinux/isolinux.bin",
        "-c",
        "isolinux/boot.cat",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "-no-emul-boot",
        "-eltorito-alt-boot",
        "-e",
        "images/efiboot.img",
        "-no-emul-boot",
        "-isohybrid-gpt-basdat",
        "-R",
        "-J",
        "-V",
        "Fedora-S-dvd-x86_64-43",
        "-graft-points",
    ]);
    for p in [".discinfo", "images/install.img", "isolinux", "images/pxeboot", "EFI/BOOT", "images/efiboot.img"] {
        args.push(g(p));
    }
    args.push(g("odix-marker.txt"));
    v.push(DistroLine {
        name: "lorax",
        cwd: d,
        program: "xorrisofs",
        args,
        env: vec![],
        mbr_code_from: 0,
        bios_marker: ISOLINUX_MARKER,
    });

    // NixOS, nixos/lib/make-iso9660-image.sh: "$xorriso -output $out/iso/$isoName" with bootable, usbBootable
    // and efiBootable set, the sources listed in `pathlist` as addPath writes them.
    let d = dir.join("nixos");
    let s = d.join("store");
    isolinux_in(&s.join("isolinux"), "isolinux.cfg");
    fs::create_dir_all(&s).unwrap();
    fs::copy(&l.efi_img, s.join("efi.img")).unwrap();
    fs::create_dir_all(s.join("EFI/boot")).unwrap();
    fs::copy(&l.bootx64, s.join("EFI/boot/bootx64.efi")).unwrap();
    put(&s.join("marker"), ISO_MARKER);
    put(
        &d.join("pathlist"),
        &format!(
            "isolinux={0}/isolinux\nboot/efi.img={0}/efi.img\nEFI={0}/EFI\nodix-marker.txt={0}/marker\n",
            s.display()
        ),
    );
    v.push(DistroLine {
        name: "nixos",
        cwd: d,
        program: "xorriso",
        args: strings(&[
            "-boot_image",
            "any",
            "gpt_disk_guid=8a6f32d4c0a5533e9c5ab0d3ac2ff1e8",
            "-volume_date",
            "all_file_dates",
            "=1764979200",
            "-as",
            "mkisofs",
            "-iso-level",
            "3",
            "-volid",
            "nixos-minimal-25.11-x86_64",
            "-appid",
            "nixos",
            "-publisher",
            "nixos",
            "-graft-points",
            "-full-iso9660-filenames",
            "-joliet",
            "-eltorito-boot",
            "isolinux/isolinux.bin",
            "-eltorito-catalog",
            ".boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "--sort-weight",
            "1",
            "/isolinux",
            "-isohybrid-mbr",
            &isohdpfx,
            "-eltorito-alt-boot",
            "-e",
            "boot/efi.img",
            "-no-emul-boot",
            "-isohybrid-gpt-basdat",
            "-r",
            "-path-list",
            "pathlist",
            "--sort-weight",
            "0",
            "/",
            "-output",
            "@OUT@",
        ]),
        env: vec![("SOURCE_DATE_EPOCH", "1764979200".into())],
        mbr_code_from: 0,
        bios_marker: ISOLINUX_MARKER,
    });

    // Alpine, scripts/mkimage/imagetypes/iso/imagetype-iso.sh: create_image_iso with ISOLINUX and
    // boot/grub/efiboot.img (hybrid isolinux+efi boot); the tree's files may be symbolic links (-follow-links).
    let d = dir.join("alpine");
    let dest = d.join("destdir");
    isolinux_in(&dest.join("boot/syslinux"), "syslinux.cfg");
    fs::copy(ISOHDPFX, dest.join("boot/syslinux/isohdpfx.bin")).unwrap();
    fs::create_dir_all(dest.join("boot/grub")).unwrap();
    fs::copy(&l.efi_img, dest.join("boot/grub/efiboot.img")).unwrap();
    put(&dest.join("odix-marker.txt"), ISO_MARKER);
    put(&d.join("cache/modloop-lts"), "modloop");
    std::os::unix::fs::symlink("../../cache/modloop-lts", dest.join("boot/modloop-lts")).unwrap();
    v.push(DistroLine {
        name: "alpine",
        cwd: d,
        program: "xorrisofs",
        args: strings(&[
            "-quiet",
            "-output",
            "@OUT@",
            "-full-iso9660-filenames",
            "-joliet",
            "-rock",
            "-volid",
            "alpine-std 3.23 x86_64",
            "-isohybrid-mbr",
            "destdir/boot/syslinux/isohdpfx.bin",
            "-eltorito-boot",
            "boot/syslinux/isolinux.bin",
            "-eltorito-catalog",
            "boot/syslinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-eltorito-alt-boot",
            "-e",
            "boot/grub/efiboot.img",
            "-no-emul-boot",
            "-isohybrid-gpt-basdat",
            "-follow-links",
            "destdir",
        ]),
        env: vec![],
        mbr_code_from: 0,
        bios_marker: ISOLINUX_MARKER,
    });

    // Ubuntu, livecd-rootfs live-build/ubuntu-mini-iso/hooks/01-mini-iso.binary ("xorriso -as mkisofs $(cat
    // 1.mkisofs_opts) tree -o $dest") with the options of debian-cd's Ubuntu branch for amd64, as
    // `xorriso -report_el_torito as_mkisofs` lists them for Ubuntu 24.04's images: GRUB2 hybrid MBR, the EFI
    // system partition appended and described in a GPT, the UEFI entry pointing into it.
    let d = dir.join("ubuntu");
    fs::create_dir_all(d.join("tree/boot/grub/i386-pc")).unwrap();
    fs::copy(&l.eltorito, d.join("tree/boot/grub/i386-pc/eltorito.img")).unwrap();
    put(&d.join("tree/casper/vmlinuz"), "kernel");
    put(&d.join("tree/odix-marker.txt"), ISO_MARKER);
    fs::copy(&l.efi_img, d.join("efi.img")).unwrap();
    v.push(DistroLine {
        name: "ubuntu",
        cwd: d,
        program: "xorriso",
        args: strings(&[
            "-as",
            "mkisofs",
            "-V",
            "Ubuntu 24.04.3 LTS amd64",
            "--modification-date=2025080512000000",
            "--grub2-mbr",
            "/usr/lib/grub/i386-pc/boot_hybrid.img",
            "--protective-msdos-label",
            "-partition_cyl_align",
            "off",
            "-partition_offset",
            "16",
            "--mbr-force-bootable",
            "-append_partition",
            "2",
            "28732ac11ff8d211ba4b00a0c93ec93b",
            "efi.img",
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
            "tree",
            "-o",
            "@OUT@",
        ]),
        env: vec![],
        mbr_code_from: 0,
        bios_marker: ISO_MARKER,
    });
    v
}

/// Runs `line` through `bin/PROGRAM` with the image at `out`.
fn run_line(line: &DistroLine, bin: &Path, out: &Path) -> std::process::Output {
    let args: Vec<String> =
        line.args.iter().map(|a| if a == "@OUT@" { out.display().to_string() } else { a.clone() }).collect();
    let mut c = Command::new(bin.join(line.program));
    c.current_dir(&line.cwd).args(&args);
    for (k, v) in &line.env {
        c.env(k, v);
    }
    run_ok(&mut c)
}

/// The El Torito entries, the system area summary, the MBR partitions' status and type and the GPT partitions
/// (type, name, flags, boot image path; the ISO's start, the other partitions' size), as xorriso reports them
/// (other positions left out: odix and xorriso place files differently; xorriso's Apple partition map left out).
fn boot_report(img: &Path) -> Vec<String> {
    let o = run(Command::new("xorriso").arg("-indev").arg(img).args([
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]));
    let text = String::from_utf8_lossy(&o.stdout);
    let gpt =
        ["GPT type GUID", "GPT partname local", "GPT partition flags", "GPT partition path", "GPT start and size"];
    text.lines()
        .filter(|l| {
            l.starts_with("El Torito") && !l.starts_with("El Torito catalog ")
                || l.starts_with("System area summary")
                || l.starts_with("MBR partition  ")
                || gpt.iter().any(|g| l.starts_with(g))
        })
        .map(|l| {
            let mut f: Vec<&str> = l.split_whitespace().collect();
            if l.starts_with("El Torito boot img") {
                f.pop();
            } else if l.starts_with("MBR partition  ") {
                f.truncate(f.len() - 2);
            } else if l.starts_with("System area summary") {
                f.retain(|w| *w != "APM");
            } else if l.starts_with("GPT start and size") {
                // "GPT start and size : N START SIZE": the ISO's partition keeps its start (0, or the partition
                // offset), the others their size.
                let size = f.pop();
                let start = f.pop();
                f.extend(if f.last() == Some(&"1") { start } else { size });
            }
            f.join(" ")
        })
        .collect()
}

/// `xorriso -report_system_area plain`, one line each, its words separated by one space.
fn full_report(img: &Path) -> Vec<String> {
    let o = run(Command::new("xorriso").arg("-indev").arg(img).args(["-report_system_area", "plain"]));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

/// The distributions' own command lines (archiso, debian-cd, live-build, lorax, NixOS, Alpine, Ubuntu), run
/// through links named as the tools call them, build images whose El Torito catalog, system area summary and
/// MBR agree with real xorriso's for the same line and tree, and that boot: every line at least once, the four
/// ways (SeaBIOS and OVMF, CD and disk) for archiso, debian-cd and Ubuntu, whose layouts differ most
/// (ODIX_FULL_BOOT_MATRIX=1 boots every line the four ways).
#[test]
fn distribution_lines_build_and_boot() {
    for tool in ["xorriso", "xorrisofs", "grub-mkstandalone", "grub-mkimage", "mformat", "mmd", "mcopy"] {
        if require_tool(tool).is_none() {
            return;
        }
    }
    if require_tool("qemu-system-x86_64").is_none()
        || [ISOLINUX_BIN, ISOHDPFX, LDLINUX, OVMF_CODE, OVMF_VARS, "/usr/lib/grub/i386-pc/boot_hybrid.img"]
            .iter()
            .any(|f| require_file(f).is_none())
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let l = grub_loaders(dir.path());
    let ours = dir.path().join("odix-bin");
    let theirs = dir.path().join("xorriso-bin");
    fs::create_dir_all(&ours).unwrap();
    fs::create_dir_all(&theirs).unwrap();
    for p in ["xorriso", "xorrisofs"] {
        std::os::unix::fs::symlink(odix(), ours.join(p)).unwrap();
        std::os::unix::fs::symlink(require_tool(p).unwrap(), theirs.join(p)).unwrap();
    }
    let lines = distro_lines(dir.path(), &l);
    let mut images = Vec::new();
    for line in &lines {
        let (a, b) =
            (dir.path().join(format!("{}-odix.iso", line.name)), dir.path().join(format!("{}-x.iso", line.name)));
        run_line(line, &ours, &a);
        run_line(line, &theirs, &b);
        let (ra, rb) = (boot_report(&a), boot_report(&b));
        assert!(ra.iter().any(|r| r.contains("UEFI")), "{}: no UEFI entry: {ra:?}", line.name);
        assert_eq!(ra, rb, "{}: odix's and xorriso's boot structures differ", line.name);
        let (x, y) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
        assert_eq!(x[line.mbr_code_from..432], y[line.mbr_code_from..432], "{}: MBR boot code differs", line.name);
        assert_eq!(x[510..512], [0x55, 0xAA], "{}: no MBR signature", line.name);
        // The same size: the 300 KiB of -pad after the appended partitions, as xorriso puts it. An image not
        // cylinder-aligned (Ubuntu's) ends where its files end, which differs: compare what follows its ISO
        // partition (GPT partition 1, from block 64) then.
        let tail = |img: &[u8], report: &[String]| {
            if !report.iter().any(|l| l.contains("cyl-align-off")) {
                return img.len();
            }
            let blocks = report.iter().find_map(|l| l.strip_prefix("GPT start and size : 1 64 ")).unwrap();
            img.len() - (64 + blocks.parse::<usize>().unwrap()) * 512
        };
        let (fa, fb) = (full_report(&a), full_report(&b));
        assert_eq!(tail(&x, &fa), tail(&y, &fb), "{}: image sizes differ", line.name);
        // NixOS's gpt_disk_guid= is the disk GUID, written as given.
        if let Some(g) = line.args.iter().find_map(|a| a.strip_prefix("gpt_disk_guid=")) {
            let guid = |r: &[String]| r.iter().find_map(|l| l.strip_prefix("GPT disk GUID : ").map(str::to_string));
            assert_eq!(guid(&fa).as_deref(), Some(g), "{}: GPT disk GUID", line.name);
            assert_eq!(guid(&fa), guid(&fb), "{}: GPT disk GUID", line.name);
        }
        images.push((line.name, a, line.bios_marker));
    }

    // Alpine's -follow-links: the link is stored as the file it points to, as xorriso stores it.
    let lsl = |img: &Path| {
        let o = run_ok(Command::new("xorriso").arg("-indev").arg(img).args(["-lsl", "/boot/modloop-lts"]));
        String::from_utf8_lossy(&o.stdout).chars().next()
    };
    assert_eq!(lsl(&images[5].1), Some('-'));
    assert_eq!(lsl(&images[5].1), lsl(&dir.path().join("alpine-x.iso")));

    let full = std::env::var("ODIX_FULL_BOOT_MATRIX").is_ok_and(|v| v == "1");
    let all_four = [
        (Firmware::SeaBios, Media::Cd),
        (Firmware::SeaBios, Media::Disk),
        (Firmware::Ovmf, Media::Cd),
        (Firmware::Ovmf, Media::Disk),
    ];
    let mut cases = Vec::new();
    for (name, img, bios_marker) in &images {
        let ways: Vec<(Firmware, Media)> = match *name {
            _ if full => all_four.to_vec(),
            "archiso" | "debian-cd" | "ubuntu" => all_four.to_vec(),
            "live-build" => vec![(Firmware::SeaBios, Media::Disk), (Firmware::Ovmf, Media::Disk)],
            "lorax" => vec![(Firmware::Ovmf, Media::Disk)],
            "nixos" => vec![(Firmware::SeaBios, Media::Disk)],
            _ => vec![(Firmware::Ovmf, Media::Cd)],
        };
        for (fw, media) in ways {
            let (marker, secs) = match fw {
                Firmware::SeaBios => (*bios_marker, 90),
                Firmware::Ovmf => (ISO_MARKER, 180),
            };
            cases.push((img.clone(), fw, media, marker, Duration::from_secs(secs)));
        }
    }
    // Three machines at a time: most of a boot is the firmware waiting.
    for chunk in cases.chunks(3) {
        std::thread::scope(|s| {
            for (img, fw, media, marker, timeout) in chunk {
                s.spawn(move || boot(img, *fw, *media, marker, *timeout));
            }
        });
    }
}

/// A small tree: a hard-linked pair (what `-cache-inodes` is about) and ISOLINUX.
fn small_tree(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    isolinux_in(&src.join("isolinux"), "isolinux.cfg");
    put(&src.join("pool/a.deb"), "package data\n");
    fs::hard_link(src.join("pool/a.deb"), src.join("pool/b.deb")).unwrap();
    src
}

/// `xorriso -indev IMG -find / -type f -exec report_lba`: path and first LBA of each file.
fn file_lbas(img: &Path) -> Vec<(String, u64)> {
    let o = run_ok(Command::new("xorriso").arg("-indev").arg(img).args([
        "-find",
        "/",
        "-type",
        "f",
        "-exec",
        "report_lba",
        "--",
    ]));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("File data lba:"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[4].trim().trim_matches('\'').to_string(), f[1].trim().parse().unwrap())
        })
        .collect()
}

/// debian-cd reads the xorriso version with `$MKISOFS --version | awk '/^xorriso version/ {split($4, ver, ".");
/// print ver[1]*10000+ver[2]*100+ver[3]}'` (tools/make_image, tools/boot/*/common.sh) and the size of a disc
/// with `$MKISOFS $opts -r -print-size -quiet ... -o /dev/null $dirs` (tools/make_disc_trees.pl): through a link
/// named xorriso odix gives a version the checks accept, and a size that is its image's, as xorriso's size is
/// xorriso's image's. Hard links share one extent (-cache-inodes), as in xorriso's image.
#[test]
fn debian_cd_version_and_size_checks() {
    let (Some(_), Some(awk)) = (require_tool("xorriso"), require_tool("awk")) else { return };
    if require_file(ISOLINUX_BIN).is_none() || require_file(LDLINUX).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let link = xorriso_link(dir.path());
    let version = |xorriso: &Path| -> u32 {
        let o = run_ok(Command::new(xorriso).arg("--version"));
        let mut awk = Command::new(&awk);
        awk.arg(r#"/^xorriso version/ { split($4, ver, "."); print ver[1]*10000+ver[2]*100+ver[3] }"#);
        awk.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = awk.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &o.stdout).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
    };
    assert!(version(&require_tool("xorriso").unwrap()) >= 10202, "the awk program reads real xorriso");
    // debian-cd needs more than 10202 for EFI and at least 10502 for its jigdo options.
    assert!(version(&link) >= 10502, "odix's version as debian-cd reads it: {}", version(&link));
    let o = run_ok(Command::new(&link).args(["-no_rc", "-version"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("odix"));

    let src = small_tree(dir.path());
    let opts = [
        "-as",
        "mkisofs",
        "-r",
        "-checksum_algorithm_iso",
        "sha256,sha512",
        "-jigdo-min-file-size",
        "1024",
        "-jigdo-exclude",
        "boot1",
        "-J",
        "-joliet-long",
        "-cache-inodes",
        "-b",
        "isolinux/isolinux.bin",
        "-c",
        "isolinux/boot.cat",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "-no-emul-boot",
    ];
    for (xorriso, name) in [(link.clone(), "odix"), (require_tool("xorriso").unwrap(), "xorriso")] {
        let o = run_ok(
            Command::new(&xorriso).args(opts).args(["-r", "-print-size", "-quiet", "-o", "/dev/null"]).arg(&src),
        );
        let size: u64 = String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: -print-size printed {:?}", String::from_utf8_lossy(&o.stdout)));
        let img = dir.path().join(format!("{name}.iso"));
        run_ok(Command::new(&xorriso).args(opts).arg("-o").arg(&img).arg(&src));
        assert_eq!(size * 2048, fs::metadata(&img).unwrap().len(), "{name}: -print-size is not the image's size");
        let lbas = file_lbas(&img);
        let lba = |p: &str| lbas.iter().find(|(q, _)| q == p).map(|(_, l)| *l);
        assert!(lba("/pool/a.deb").is_some(), "{name}: {lbas:?}");
        assert_eq!(lba("/pool/a.deb"), lba("/pool/b.deb"), "{name}: hard links do not share their data");
    }
    // -o /dev/null with -print-size writes nothing: /dev/null is still the device.
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(&fs::metadata("/dev/null").unwrap().file_type()));
}

/// `-log-file` takes the messages standard error would get; options odix cannot honour are refused with the
/// reason and leave no image; an image is not written to a terminal (as genisoimage: `-o -` forces it).
#[test]
fn log_file_refusals_and_terminal() {
    let dir = tempfile::tempdir().unwrap();
    put(&dir.path().join("src/f.txt"), "x");
    let src = dir.path().join("src");
    let log = dir.path().join("log.txt");
    let out = dir.path().join("o.iso");
    let o = run_ok(Command::new(odix()).args(["mkisofs", "-T", "-log-file"]).arg(&log).arg("-o").arg(&out).arg(&src));
    assert!(o.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("TRANS.TBL") && text.contains("wrote"), "{text}");
    for (args, why) in [
        (&["-no-cache-inodes"][..], "hard links"),
        (&["-jigdo-jigdo", "x.jigdo"], "jigdo"),
        (&["-udf", "--md5"], "UDF"),
    ] {
        let bad = dir.path().join("bad.iso");
        let o = run(Command::new(odix()).arg("mkisofs").args(args).arg("-o").arg(&bad).arg(&src));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(why), "{args:?}: {err}");
        assert!(!bad.exists());
    }
    // A FIFO (or a device: debian-cd's `-o /dev/null`) is written in place, not replaced by a file.
    if let Some(mkfifo) = require_tool("mkfifo") {
        let fifo = dir.path().join("fifo");
        run_ok(Command::new(mkfifo).arg(&fifo));
        let reader = std::thread::spawn({
            let f = fifo.clone();
            move || fs::read(f).unwrap().len()
        });
        run_ok(Command::new(odix()).args(["mkisofs", "-quiet", "-o"]).arg(&fifo).arg(&src));
        let n = reader.join().unwrap();
        assert!(n > 0 && n % 2048 == 0, "{n} bytes through the FIFO");
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fs::metadata(&fifo).unwrap().file_type()));
    }
    let o = run(Command::new(odix()).args(["-no_rc", "-as", "mkisofs", "-print-size", "-quiet"]).arg(&src));
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).trim().parse::<u64>().is_ok());
    let Some(script) = require_tool("script") else { return };
    let cmd = format!("{} mkisofs -R {}", odix().display(), src.display());
    let o = run(Command::new(&script).args(["-qec", &cmd, "/dev/null"]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "wrote to a terminal: {} bytes", text.len());
    assert!(text.contains("not written to a terminal") && text.len() < 500, "{text}");
}

/// `--md5` (and xorriso's `-md5 on` before `-as mkisofs`) writes libisofs's superblock, tree and session tags:
/// xorriso finds and checks all three when it loads the image and reads it whole (`-check_media`), on an
/// isohybrid image with `-partition_offset 16` too; odix verify agrees. It also writes the checksum array with
/// the session's and every file's MD5 (AAIP `isofs.ca`/`isofs.cx`): `xorriso -check_md5` checks the session and
/// single files (the patched boot image, hard links), `-check_md5_r` the whole tree. A changed byte of file data
/// is caught by the session tag and by `-check_md5_r`, which names the file; one of the directory tree by the tree
/// tag. Without Rock Ridge only the tags are written, with a warning.
#[test]
fn md5_tags_are_checked_by_xorriso() {
    let Some(xorriso) = require_tool("xorriso") else { return };
    if require_file(ISOLINUX_BIN).is_none() || require_file(LDLINUX).is_none() || require_file(ISOHDPFX).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = small_tree(dir.path());
    let link = xorriso_link(dir.path());
    let plain = dir.path().join("plain.iso");
    let hybrid = dir.path().join("hybrid.iso");
    run_ok(
        Command::new(&link).args(["-md5", "on", "-as", "mkisofs", "-quiet", "-R", "-J", "-o"]).arg(&plain).arg(&src),
    );
    run_ok(
        Command::new(odix())
            .args(["mkisofs", "-quiet", "--md5", "-R", "-J", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat"])
            .args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-isohybrid-mbr", ISOHDPFX])
            .args(["-partition_offset", "16", "-o"])
            .arg(&hybrid)
            .arg(&src),
    );
    let check = |img: &Path| -> String {
        let o = run(Command::new(&xorriso).args(["-md5", "on", "-indev"]).arg(img).args(["-check_media", "--"]));
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    // `-check_md5 SEVERITY PATH... --` (no path: the session), `-check_md5_r SEVERITY PATH --`: exit 0 and the
    // text, or the exit status (FAILURE aborts with 5) and the text.
    let check_md5 = |img: &Path, cmd: &str, paths: &[&str]| -> (bool, String) {
        let o = run(Command::new(&xorriso)
            .args(["-md5", "on", "-indev"])
            .arg(img)
            .args([cmd, "FAILURE"])
            .args(paths)
            .arg("--"));
        (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    };
    for img in [&plain, &hybrid] {
        let text = check(img);
        for tag in ["superblock tag", "tree tag", "session tag"] {
            assert!(text.contains(&format!("Found matching MD5 {tag}")), "{tag} of {}:\n{text}", img.display());
        }
        assert!(text.contains("+ md5_match"), "{text}");
        let v = run_ok(Command::new(odix()).arg("verify").arg(img));
        let out = String::from_utf8_lossy(&v.stdout);
        assert_eq!(out.matches("): ok").count(), 3, "{out}");
        assert!(out.contains("file checksums, consistent") && out.contains(", 0 not matching"), "{out}");
        let (ok, text) = check_md5(img, "-check_md5", &[]);
        assert!(ok && text.contains("Ok, session data match recorded md5"), "{}:\n{text}", img.display());
        let files = ["/isolinux/isolinux.bin", "/isolinux/ldlinux.c32", "/pool/a.deb", "/pool/b.deb"];
        let (ok, text) = check_md5(img, "-check_md5", &files);
        assert!(ok && text.contains("File contents and their MD5 checksums match"), "{}:\n{text}", img.display());
        for f in files {
            assert!(text.contains(&format!("md5 match   : '{f}'")), "{f} of {}:\n{text}", img.display());
        }
        let (ok, text) = check_md5(img, "-check_md5_r", &["/"]);
        assert!(ok && text.contains("File contents and their MD5 checksums match"), "{}:\n{text}", img.display());
    }
    // Without Rock Ridge there is nowhere to record the files' MD5s: the tags alone, and a warning saying so.
    let norr = dir.path().join("norr.iso");
    let o = run_ok(Command::new(odix()).args(["mkisofs", "-quiet", "--md5", "-J", "-o"]).arg(&norr).arg(&src));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--md5 without Rock Ridge (-R or -r): only the MD5 tags are written"), "{err}");
    let text = check(&norr);
    assert_eq!(text.matches("Found matching MD5").count(), 3, "{text}");
    // A changed byte in a file's data: the session tag no longer matches, nor the session's and the file's MD5.
    let mut data = fs::read(&plain).unwrap();
    let at = data.windows(13).position(|w| w == b"package data\n").unwrap();
    data[at] ^= 1;
    let bad = dir.path().join("bad.iso");
    fs::write(&bad, &data).unwrap();
    let text = check(&bad);
    assert!(text.contains("NON-MATCHING MD5 session tag") && text.contains("md5_mismatch"), "{text}");
    let (ok, text) = check_md5(&bad, "-check_md5", &[]);
    assert!(!ok && text.contains("MD5 MISMATCH WITH DATA OF LOADED SESSION"), "{text}");
    let (ok, text) = check_md5(&bad, "-check_md5_r", &["/"]);
    assert!(!ok && text.contains("MD5 MISMATCH: '/pool/a.deb'"), "{text}");
    assert!(!text.contains("MISMATCH: '/isolinux"), "{text}");
    // A changed byte in the root directory: xorriso refuses to load the tree.
    let mut data = fs::read(&plain).unwrap();
    let root = u32::from_le_bytes(data[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap()) as usize;
    data[root * 2048 + 100] ^= 1;
    fs::write(&bad, &data).unwrap();
    let text = check(&bad);
    assert!(text.contains("MD5 mismatch"), "{text}");
}

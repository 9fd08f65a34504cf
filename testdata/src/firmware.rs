//! Booting an image in QEMU under real firmware (SeaBIOS, OVMF) and watching its serial console for a marker.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// OVMF's code, as Debian's ovmf package installs it.
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/// OVMF's variable store template.
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// The firmware QEMU starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS (BIOS boot).
    SeaBios,
    /// OVMF (UEFI boot).
    Ovmf,
}

/// How the image is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// As a CD (El Torito).
    Cd,
    /// As a hard disk or USB stick (MBR, GPT), with writes kept out of the file.
    Disk,
}

/// Boots `image` in QEMU (TCG, 512 MiB, no display) and reads its serial console until `marker` appears or
/// `timeout` passes; returns whether it appeared and everything the console printed. SeaBIOS is told to copy its
/// text screen to the serial console (`etc/sercon-port`), so loaders that print only to the screen through the
/// BIOS (iPXE, GRUB's menu, ISOLINUX) show there too.
///
/// # Panics
/// When QEMU cannot be started.
pub fn boot_serial(image: &Path, firmware: Firmware, media: Media, marker: &str, timeout: Duration) -> (bool, String) {
    let dir = tempfile_dir();
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-accel", "tcg", "-m", "512", "-display", "none", "-serial", "stdio", "-no-reboot", "-nodefaults"]);
    cmd.args(["-vga", "none"]);
    match firmware {
        Firmware::SeaBios => {
            let port = dir.join("sercon-port");
            fs::write(&port, 0x3f8u16.to_le_bytes()).expect("writing the sercon port file");
            cmd.arg("-fw_cfg").arg(format!("name=etc/sercon-port,file={}", port.display()));
        }
        Firmware::Ovmf => {
            let vars = dir.join("OVMF_VARS.fd");
            fs::copy(OVMF_VARS, &vars).expect("copying OVMF's variable store");
            cmd.arg("-drive").arg(format!("if=pflash,format=raw,readonly=on,file={OVMF_CODE}"));
            cmd.arg("-drive").arg(format!("if=pflash,format=raw,file={}", vars.display()));
        }
    }
    match media {
        Media::Cd => cmd.arg("-cdrom").arg(image),
        Media::Disk => {
            cmd.arg("-drive").arg(format!("file={},format=raw,if=ide,media=disk,snapshot=on", image.display()))
        }
    };
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("starting qemu-system-x86_64");
    let mut stdout = child.stdout.take().expect("qemu's stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut out = Vec::new();
    let mut found = false;
    while start.elapsed() < timeout && !found {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                found = String::from_utf8_lossy(&out).contains(marker);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(rx);
    let _ = reader.join();
    let _ = fs::remove_dir_all(&dir);
    (found, String::from_utf8_lossy(&out).into_owned())
}

/// Boot loaders for the distribution trees, built from Debian's GRUB packages: a standalone x86_64 EFI GRUB
/// (BOOTX64.EFI) and an El Torito BIOS GRUB (eltorito.img), both with an embedded configuration that searches
/// every device for `/odix-marker.txt` and prints it on the serial console; and a FAT image (the distributions'
/// efiboot.img / efi.img) holding EFI/BOOT/BOOTX64.EFI.
pub struct Loaders {
    /// The x86_64 EFI GRUB.
    pub bootx64: PathBuf,
    /// The El Torito BIOS GRUB.
    pub eltorito: PathBuf,
    /// The FAT image holding EFI/BOOT/BOOTX64.EFI.
    pub efi_img: PathBuf,
}

/// Builds the [`Loaders`] in `dir` with grub-mkstandalone, grub-mkimage and mtools.
///
/// # Panics
/// When a tool fails.
pub fn grub_loaders(dir: &Path) -> Loaders {
    let cfg = dir.join("grub-embedded.cfg");
    fs::write(
        &cfg,
        "serial\nterminal_input serial\nterminal_output serial\n\
         search --no-floppy --file --set=r /odix-marker.txt\ncat ($r)/odix-marker.txt\nhalt\n",
    )
    .unwrap();
    let bootx64 = dir.join("BOOTX64.EFI");
    crate::run_ok(
        Command::new("grub-mkstandalone")
            .args(["-O", "x86_64-efi", "-o"])
            .arg(&bootx64)
            .arg("--install-modules=normal configfile echo cat search search_fs_file iso9660 fat part_gpt part_msdos serial terminal halt test")
            .arg("--modules=part_gpt part_msdos iso9660 fat search_fs_file serial terminal halt cat")
            .args(["--locales=", "--fonts=", "--themes="])
            .arg(format!("boot/grub/grub.cfg={}", cfg.display())),
    );
    let eltorito = dir.join("eltorito.img");
    crate::run_ok(
        Command::new("grub-mkimage")
            .args(["-O", "i386-pc-eltorito", "-p", "/boot/grub", "-c"])
            .arg(&cfg)
            .arg("-o")
            .arg(&eltorito)
            .args(["biosdisk", "iso9660", "part_msdos", "part_gpt", "search", "search_fs_file", "cat", "echo"])
            .args(["serial", "terminal", "halt"]),
    );
    let efi_img = dir.join("efiboot.img");
    fs::write(&efi_img, vec![0u8; 2880 * 1024]).unwrap();
    crate::run_ok(Command::new("mformat").arg("-i").arg(&efi_img).args(["-f", "2880", "::"]));
    crate::run_ok(Command::new("mmd").arg("-i").arg(&efi_img).args(["::/EFI", "::/EFI/BOOT"]));
    crate::run_ok(Command::new("mcopy").arg("-i").arg(&efi_img).arg(&bootx64).arg("::/EFI/BOOT/BOOTX64.EFI"));
    Loaders { bootx64, eltorito, efi_img }
}

/// A fresh folder under the system's temporary folder (this crate keeps its dependencies few).
fn tempfile_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("odix-firmware-{}-{n}", std::process::id()));
    fs::create_dir_all(&dir).expect("creating a temporary folder");
    dir
}

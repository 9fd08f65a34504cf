//! The programs in `cli/examples/` run as a newcomer would run them, each on inputs an independent tool made, and
//! what they print is checked against that tool. `cargo test` builds the examples beside the `odix` binary (in
//! `target/<profile>/examples/`), so every test here runs the binary cargo just built.

use std::path::PathBuf;
use std::process::Command;

/// The example program `name`, as `cargo test` built it for this profile.
#[allow(dead_code)]
fn example(name: &str) -> Command {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_odix"));
    let dir = bin.parent().expect("the binary's folder").join("examples");
    let path = dir.join(name);
    assert!(path.is_file(), "{} was not built: cargo test builds the examples", path.display());
    Command::new(path)
}

#[allow(dead_code)]
fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// `build_bootable_bridge`: a folder with a fake BIOS boot image and a fake EFI image becomes an image whose El
/// Torito catalog (as xorriso reports it), UDF tree (as 7z lists it) and Joliet and Rock Ridge names (as isoinfo
/// lists them) are what the example asked for.
#[test]
fn build_bootable_bridge() {
    let t = tmp();
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("isolinux")).unwrap();
    std::fs::write(src.join("isolinux/isolinux.bin"), vec![0x90u8; 4096]).unwrap();
    std::fs::write(src.join("efi.img"), vec![0u8; 64 * 1024]).unwrap();
    std::fs::write(src.join("Mixed Case Name.txt"), b"hello\n").unwrap();
    let out = t.path().join("out.iso");
    let run = example("build_bootable_bridge")
        .arg(&src)
        .args(["isolinux/isolinux.bin", "efi.img"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains("sectors"));

    let tool = |cmd: &mut Command| -> Option<String> {
        let o = cmd.output().ok()?;
        assert!(o.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&o.stderr));
        Some(String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    // xorriso -report_el_torito plain: `El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4   286`.
    if let Some(r) = tool(Command::new("xorriso").arg("-indev").arg(&out).args(["-report_el_torito", "plain"])) {
        let imgs: Vec<&str> = r.lines().filter(|l| l.starts_with("El Torito boot img :")).collect();
        assert_eq!(imgs.len(), 2, "{r}");
        let bios: Vec<&str> = imgs[0].split_whitespace().collect();
        assert_eq!((bios[6], bios[8]), ("BIOS", "none"), "{r}");
        assert_eq!(bios[11], "4", "load size: {r}");
        let efi: Vec<&str> = imgs[1].split_whitespace().collect();
        assert_eq!((efi[6], efi[8]), ("UEFI", "none"), "{r}");
        assert!(r.contains("El Torito img opts :   1  boot-info-table"), "{r}");
        assert!(r.contains("/isolinux/isolinux.bin") && r.contains("/efi.img"), "{r}");
        assert!(r.contains("El Torito cat path : /boot.cat"), "{r}");
    }
    // The UDF tree: 7z opens the UDF file system of a bridge image.
    if let Some(l) = tool(Command::new("7z").args(["l", "-tudf"]).arg(&out)) {
        for name in ["Mixed Case Name.txt", "isolinux/isolinux.bin", "efi.img", "boot.cat"] {
            assert!(l.contains(name), "UDF tree lacks {name}: {l}");
        }
    }
    if let Some(j) = tool(Command::new("isoinfo").args(["-J", "-f", "-i"]).arg(&out)) {
        assert!(j.contains("/Mixed Case Name.txt") && j.contains("/isolinux/isolinux.bin"), "{j}");
    }
    if let Some(r) = tool(Command::new("isoinfo").args(["-R", "-l", "-i"]).arg(&out)) {
        assert!(r.contains("Mixed Case Name.txt") && r.contains("isolinux.bin"), "{r}");
    }
}

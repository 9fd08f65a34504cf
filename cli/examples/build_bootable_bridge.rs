//! Builds a bootable ISO 9660/UDF bridge image from a folder: Rock Ridge and Joliet names, a UDF tree over the
//! same file data, and two El Torito entries (BIOS, no emulation, with a boot info table; UEFI).
//!
//! ```text
//! cargo run --example build_bootable_bridge -p odix -- FOLDER BIOS_IMAGE EFI_IMAGE OUT.iso
//! ```
//! BIOS_IMAGE and EFI_IMAGE are paths inside FOLDER (`isolinux/isolinux.bin`, `efi.img`).

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Result};
use odix::boot::{BootSpec, EmulChoice, LoadSize, Platform};
use odix::output::AtomicFile;
use odix::{BuildSource, BuildSpec, UdfSpec};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [folder, bios, efi, out] = args.as_slice() else {
        bail!("usage: build_bootable_bridge FOLDER BIOS_IMAGE EFI_IMAGE OUT.iso");
    };
    let mut spec = BuildSpec::new(vec![BuildSource::folder(folder)]);
    spec.ids.volume_id = Some("BRIDGE".into());
    spec.trees.rock_ridge = true;
    spec.trees.joliet = true;
    spec.trees.udf = Some(UdfSpec::default());
    // A fixed time makes the image the same on every run.
    spec.dates.now = 1_700_000_000;
    spec.dates.clamp = Some(1_700_000_000);
    spec.boot.entries = vec![
        BootSpec {
            image: bios.clone(),
            emulation: Some(EmulChoice::None),
            load_size: Some(LoadSize::Sectors(4)),
            boot_info_table: true,
            ..BootSpec::default()
        },
        BootSpec {
            image: efi.clone(),
            platform: Some(Platform::EFI),
            emulation: Some(EmulChoice::None),
            ..BootSpec::default()
        },
    ];
    spec.boot.catalog = Some("boot.cat".into());

    let plan = spec.plan()?;
    for w in plan.warnings() {
        eprintln!("warning: {w}");
    }
    let file = AtomicFile::create(Path::new(out))?;
    let mut written = 0u64;
    {
        let mut w = BufWriter::new(&file.file);
        plan.write_to(&mut w, &mut |n| written += n)?;
        w.flush()?;
    }
    file.commit()?;
    println!("{out}: {} sectors, {} entries, {written} bytes written", plan.total_sectors(), plan.entries());
    Ok(())
}

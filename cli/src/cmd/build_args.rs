//! The clap arguments `odix mkiso` shares with nothing else but keeps apart from its own: the UDF options and the
//! boot options, mapped onto the library's [`odix::UdfSpec`] and [`odix::boot::BootConfig`].

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use odix::boot::{BootConfig, BootSpec, ByteSource, EfiPartSpec, EmulChoice};
use odix_iso9660::write::eltorito::{LoadSize, Platform};
use odix_iso9660::write::hybrid::PartitionType;
use odix_udf::write::Revision;

/// Image format of `odix mkiso`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// ISO 9660 (with Rock Ridge and Joliet unless turned off; with UDF too under `--udf`).
    #[default]
    Iso,
    /// UDF only.
    Udf,
}

/// The UDF options of `odix mkiso`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct UdfArgs {
    /// Add a UDF file system: a bridge image whose ISO 9660 and UDF trees share the file data.
    #[arg(long)]
    pub udf: bool,
    /// Image format: `iso` (ISO 9660, plus UDF with --udf) or `udf` (UDF only).
    #[arg(long, value_enum, default_value_t = Format::Iso, value_name = "FORMAT")]
    pub format: Format,
    /// UDF revision: 1.02, 1.50, 2.01 (default), 2.50 or 2.60 (2.50 and 2.60 keep the metadata in a metadata
    /// partition with a mirror).
    #[arg(long = "udf-rev", value_name = "REV")]
    pub udf_rev: Option<Revision>,
    /// DVD-Video layout: VIDEO_TS and AUDIO_TS first, the VIDEO_TS files in player order and contiguous, UDF 1.02
    /// (implies --udf).
    #[arg(long)]
    pub dvd_video: bool,
}

impl UdfArgs {
    /// Whether the image holds UDF.
    pub fn wanted(&self) -> bool {
        self.udf || self.dvd_video || self.format == Format::Udf || self.udf_rev.is_some()
    }

    /// Whether the image is UDF only.
    pub fn udf_only(&self) -> bool {
        self.format == Format::Udf
    }

    /// The revision to write (DVD-Video discs are UDF 1.02).
    pub fn revision(&self) -> Result<Revision> {
        match (self.dvd_video, self.udf_rev) {
            (true, Some(r)) if r != Revision::V1_02 => bail!("--dvd-video needs UDF 1.02, not --udf-rev {r}"),
            (true, _) => Ok(Revision::V1_02),
            (false, r) => Ok(r.unwrap_or_default()),
        }
    }

    /// The UDF tree of the image, when it holds one.
    pub fn spec(&self) -> Result<Option<odix::UdfSpec>> {
        if !self.wanted() {
            return Ok(None);
        }
        Ok(Some(odix::UdfSpec { revision: self.revision()?, dvd_video: self.dvd_video }))
    }
}

/// Boot options of `odix mkiso`, the long-option spelling of the mkisofs ones for one BIOS and one EFI image.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct BootArgs {
    /// El Torito BIOS boot image (path inside the image; mkisofs -b).
    #[arg(long = "boot", value_name = "ISO_PATH", help_heading = "Boot")]
    pub boot: Option<String>,
    /// Emulation of the BIOS image: none, hard-disk or floppy (size picks 1.2/1.44/2.88 MB).
    #[arg(long = "boot-emulation", value_name = "MODE", default_value = "none", help_heading = "Boot")]
    pub boot_emulation: String,
    /// 512-byte sectors the BIOS loads (default: the whole image), or `full`.
    #[arg(long = "boot-load-size", value_name = "N", help_heading = "Boot")]
    pub boot_load_size: Option<String>,
    /// Patch a boot info table into the BIOS image (ISOLINUX, GRUB2 eltorito.img).
    #[arg(long = "boot-info-table", help_heading = "Boot")]
    pub boot_info_table: bool,
    /// Patch GRUB2's boot info into the BIOS image.
    #[arg(long = "grub2-boot-info", help_heading = "Boot")]
    pub grub2_boot_info: bool,
    /// El Torito EFI boot image (a FAT image inside the image; mkisofs -e).
    #[arg(long = "efi-boot", value_name = "ISO_PATH", help_heading = "Boot")]
    pub efi_boot: Option<String>,
    /// Path of the boot catalog (default boot.catalog).
    #[arg(long = "boot-catalog", value_name = "ISO_PATH", help_heading = "Boot")]
    pub boot_catalog: Option<String>,
    /// Keep the boot catalog out of the directory tree.
    #[arg(long = "boot-catalog-hide", help_heading = "Boot")]
    pub boot_catalog_hide: bool,
    /// SYSLINUX isohybrid MBR template (isohdpfx.bin).
    #[arg(long = "isohybrid-mbr", value_name = "FILE", help_heading = "Boot")]
    pub isohybrid_mbr: Option<PathBuf>,
    /// GPT marking the ISO and the EFI image Basic Data, beside the isohybrid MBR.
    #[arg(long = "isohybrid-gpt-basdat", help_heading = "Boot")]
    pub isohybrid_gpt_basdat: bool,
    /// GRUB2 hybrid MBR template (boot_hybrid.img).
    #[arg(long = "grub2-mbr", value_name = "FILE", help_heading = "Boot")]
    pub grub2_mbr: Option<PathBuf>,
    /// Up to 32 KiB copied into the system area (mkisofs -G).
    #[arg(long = "embedded-boot", value_name = "FILE", help_heading = "Boot")]
    pub embedded_boot: Option<PathBuf>,
    /// Protective MBR partition table.
    #[arg(long = "protective-msdos-label", help_heading = "Boot")]
    pub protective_msdos_label: bool,
    /// EFI system partition in a GPT: the EFI image (`--efi-boot-part image`) or a file appended after the ISO.
    #[arg(long = "efi-boot-part", value_name = "image|FILE", help_heading = "Boot")]
    pub efi_boot_part: Option<String>,
    /// Append FILE after the ISO as partition N of TYPE (0xNN or a GUID): `N:TYPE:FILE`; repeatable.
    #[arg(long = "append-partition", value_name = "N:TYPE:FILE", help_heading = "Boot")]
    pub append_partition: Vec<String>,
}

impl BootArgs {
    /// The same options as a [`BootConfig`].
    pub fn to_config(&self) -> Result<BootConfig> {
        let mut cfg = BootConfig::default();
        if let Some(b) = &self.boot {
            let emulation = match self.boot_emulation.as_str() {
                "none" | "" => Some(EmulChoice::None),
                "hard-disk" => Some(EmulChoice::HardDisk),
                "floppy" => None,
                other => bail!("--boot-emulation: `{other}` is not none, hard-disk or floppy"),
            };
            let load_size = match self.boot_load_size.as_deref() {
                None => None,
                Some("full") => Some(LoadSize::Full),
                Some(n) => Some(LoadSize::Sectors(n.parse().with_context(|| format!("--boot-load-size {n}"))?)),
            };
            cfg.entries.push(BootSpec {
                image: b.trim_start_matches('/').to_string(),
                emulation,
                load_size,
                boot_info_table: self.boot_info_table,
                grub2_boot_info: self.grub2_boot_info,
                ..Default::default()
            });
        } else if self.boot_info_table || self.grub2_boot_info || self.boot_load_size.is_some() {
            bail!("--boot-info-table, --grub2-boot-info and --boot-load-size need --boot");
        }
        if let Some(e) = &self.efi_boot {
            cfg.entries.push(BootSpec {
                image: e.trim_start_matches('/').to_string(),
                platform: Some(Platform::EFI),
                emulation: Some(EmulChoice::None),
                ..Default::default()
            });
        }
        cfg.catalog = self.boot_catalog.clone();
        cfg.catalog_hide = self.boot_catalog_hide;
        cfg.isohybrid_mbr = self.isohybrid_mbr.clone().map(ByteSource::File);
        cfg.gpt_basdat = self.isohybrid_gpt_basdat;
        cfg.grub2_mbr = self.grub2_mbr.clone().map(ByteSource::File);
        cfg.embedded_boot = self.embedded_boot.clone().map(ByteSource::File);
        cfg.protective_msdos_label = self.protective_msdos_label;
        cfg.efi_boot_part = self.efi_boot_part.as_deref().map(|s| match s {
            "image" => EfiPartSpec::ElToritoImage,
            f => EfiPartSpec::File(ByteSource::File(PathBuf::from(f))),
        });
        for spec in &self.append_partition {
            let mut it = spec.splitn(3, ':');
            let (Some(n), Some(t), Some(f)) = (it.next(), it.next(), it.next()) else {
                bail!("--append-partition {spec}: expected N:TYPE:FILE");
            };
            let n: u8 = n
                .parse()
                .ok()
                .filter(|n| (1..=4).contains(n))
                .with_context(|| format!("--append-partition {spec}: N is 1..4"))?;
            let t = PartitionType::parse(t).with_context(|| format!("--append-partition {spec}: bad TYPE"))?;
            cfg.append.push((n, t, ByteSource::File(PathBuf::from(f))));
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mkiso_long_options() {
        let a = BootArgs {
            boot: Some("/isolinux/isolinux.bin".into()),
            boot_emulation: "none".into(),
            boot_load_size: Some("4".into()),
            boot_info_table: true,
            efi_boot: Some("efi.img".into()),
            efi_boot_part: Some("image".into()),
            append_partition: vec!["2:0xef:esp.img".into()],
            ..Default::default()
        };
        let c = a.to_config().unwrap();
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[0].image, "isolinux/isolinux.bin");
        assert_eq!(c.entries[0].load_size, Some(LoadSize::Sectors(4)));
        assert_eq!(c.entries[1].platform(), Platform::EFI);
        assert_eq!(c.efi_boot_part, Some(EfiPartSpec::ElToritoImage));
        assert_eq!(c.append, [(2, PartitionType::Mbr(0xef), ByteSource::File(PathBuf::from("esp.img")))]);
        let bad = BootArgs { append_partition: vec!["9:0xef:x".into()], ..Default::default() };
        assert!(bad.to_config().is_err());
        let orphan = BootArgs { boot_info_table: true, ..Default::default() };
        assert!(orphan.to_config().is_err());
        assert!(BootArgs::default().to_config().unwrap().is_empty());
    }
}

//! `odix mkiso`: build an ISO 9660 image (Rock Ridge, Joliet) from folders.

use std::ffi::OsString;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use odix_iso9660::write::IsoLayout;

use odix::mastering::image::{iso_options, plan_image, ImageExtras};
use odix::mastering::output::progress_bar;
use odix::mastering::plan::{emit, EmitCtx};
use odix::mastering::walk::{dedup, read_sort_file, walk, WalkOptions};
use odix::output::AtomicFile;

/// Arguments of `odix mkiso`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Each SOURCE is a folder (its contents go to the image root), a file, or a graft point \
PATH/IN/IMAGE=SOURCE. With SOURCE_DATE_EPOCH set, the build is reproducible: volume dates take it and later \
file times are clamped to it.")]
pub struct MkisoArgs {
    /// Image to write; `-` writes to standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Volume id (default: the first folder's name, upper-cased and made valid).
    #[arg(short = 'V', long = "volume-id", value_name = "ID")]
    pub volume_id: Option<String>,
    /// Publisher id.
    #[arg(long, value_name = "TEXT")]
    pub publisher: Option<String>,
    /// Data preparer id.
    #[arg(long, value_name = "TEXT")]
    pub preparer: Option<String>,
    /// Application id.
    #[arg(long, value_name = "TEXT")]
    pub application: Option<String>,
    /// System id.
    #[arg(long = "system-id", value_name = "TEXT")]
    pub system_id: Option<String>,
    /// Volume set id.
    #[arg(long, value_name = "TEXT")]
    pub volset: Option<String>,
    /// ISO 9660 interchange level: 1 (8.3 names), 2 (31 characters), 3 (2 plus files over 4 GiB), 4 (ISO
    /// 9660:1999).
    #[arg(long = "iso-level", value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub iso_level: u8,
    /// Leave out Rock Ridge (POSIX names, modes, links).
    #[arg(long)]
    pub no_rock: bool,
    /// Leave out the Joliet tree.
    #[arg(long)]
    pub no_joliet: bool,
    /// Allow Joliet names of 103 characters instead of 64.
    #[arg(long)]
    pub joliet_long: bool,
    /// Rock Ridge with uid/gid 0 and modes readable by all, write bits cleared (mkisofs -r).
    #[arg(long)]
    pub rational_rock: bool,
    /// Leave out entries whose name or path matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Follow symbolic links and store what they point to.
    #[arg(long)]
    pub follow_links: bool,
    /// Keep entries whose name starts with `.`: the default, as with mkisofs and xorriso (accepted for scripts
    /// written when it was not).
    #[arg(long, overrides_with = "no_hidden")]
    pub hidden: bool,
    /// Leave out entries whose name starts with `.` (their count is printed on stderr).
    #[arg(long, overrides_with = "hidden")]
    pub no_hidden: bool,
    /// Sort file: lines of `PATH WEIGHT`; heavier files are placed first on the disc.
    #[arg(long, value_name = "FILE")]
    pub sort: Option<PathBuf>,
    /// Store identical file contents once.
    #[arg(long)]
    pub dedup: bool,
    /// Compress files with zisofs (readers that know Rock Ridge `ZF` expand them transparently).
    #[arg(long)]
    pub zisofs: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// UDF: `--udf`, `--format udf`, `--udf-rev`, `--dvd-video` (see `odix::mkudf`).
    #[command(flatten)]
    pub udf: odix::mkudf::UdfArgs,
    /// Boot: El Torito and hybrid MBR/GPT options (see `odix::boot`).
    #[command(flatten)]
    pub boot: Box<odix::boot::BootArgs>,
    /// Folders, files or graft points `PATH/IN/IMAGE=SOURCE`.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<OsString>,
}

fn source_date_epoch() -> Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) if !s.trim().is_empty() => {
            Ok(Some(s.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number"))?))
        }
        _ => Ok(None),
    }
}

/// The default volume id: a folder name upper-cased, other characters than `A-Z0-9_` made `_`, 32 at most.
pub fn default_volume_id(name: &str) -> String {
    let v: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' })
        .take(32)
        .collect();
    if v.is_empty() {
        "CDROM".into()
    } else {
        v
    }
}

/// Runs `odix mkiso`.
pub fn mkiso(a: MkisoArgs) -> Result<u8> {
    let sde = source_date_epoch()?;
    let now = match sde {
        Some(t) => t,
        None => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
    };
    let sort = match &a.sort {
        Some(p) => read_sort_file(p)?,
        None => Vec::new(),
    };
    let sort = [a.udf.sort_patterns(), sort].concat();
    let wopts = WalkOptions {
        exclude: a.exclude.clone(),
        follow_links: a.follow_links,
        hidden: !a.no_hidden,
        rational_rock: a.rational_rock,
        clamp_time: sde,
        now,
        zisofs: a.zisofs && !a.no_rock,
        sort,
    };
    if a.zisofs && a.no_rock {
        bail!("--zisofs needs Rock Ridge (the ZF entry); drop --no-rock");
    }
    odix::output::check_target(&a.output)?;
    let mut walked = walk(&a.sources, &wopts)?;
    if a.dedup {
        dedup(&mut walked.data)?;
    }
    let volume_id = match &a.volume_id {
        Some(v) => v.clone(),
        None => default_volume_id(&walked.first_dir_name.as_deref().unwrap_or_default().to_string_lossy()),
    };
    let mut boot_cfg = a.boot.to_config()?;
    if a.udf.wanted() && !boot_cfg.is_empty() {
        boot_cfg.fit_udf_bridge();
    }
    if a.udf.udf_only() {
        if !boot_cfg.is_empty() {
            bail!("boot options need ISO 9660: drop --format udf");
        }
        return odix::mkudf::write_udf_only(&a.udf, &walked, &volume_id, now, &a.output, a.quiet);
    }
    let boot = odix::boot::BootPlan::prepare(&boot_cfg, &mut walked, now)?;
    let udf_tree = odix::mkudf::prepare(&a.udf, &walked, &volume_id, now)?;
    let bridge = odix::mkudf::Bridge::for_tree(udf_tree.as_ref(), &walked.data)?;
    let mut opts = iso_options(a.iso_level, !a.no_rock, !a.no_joliet, a.joliet_long, now)
        .volume_id(volume_id)
        .application(a.application.clone().unwrap_or_else(|| format!("ODIX {}", env!("CARGO_PKG_VERSION"))));
    opts = odix::mastering::image::Identifiers {
        publisher: a.publisher.as_deref(),
        preparer: a.preparer.as_deref(),
        system_id: a.system_id.as_deref(),
        volume_set: a.volset.as_deref(),
    }
    .apply(opts);
    let mut layout = IsoLayout::new(&walked.tree, opts)?;
    odix::mastering::image::warn_losses(&layout);
    let (planned, data_lba, volume_sectors) = if boot_cfg.is_empty() {
        let extras = match &bridge {
            Some(b) => b.extras(&layout)?,
            None => ImageExtras::default(),
        };
        let planned = plan_image(&mut layout, &walked.data, extras)?;
        if let Some(b) = &bridge {
            b.place_in(&planned, &walked.data.alias)?;
        }
        let (data_lba, total) = (planned.data_lba.clone(), planned.plan.total_sectors() as u32);
        (planned, data_lba, total)
    } else {
        // Boot structures: system area and boot record first, then a UDF bridge's structures, then the catalog
        // and patched boot images (see `odix::boot`).
        let mut extras = ImageExtras::default();
        boot.add_descriptors(&mut extras);
        if let Some(b) = &bridge {
            b.add_to(&mut extras, &layout)?;
        }
        boot.add_metadata(&mut extras);
        let mut planned = plan_image(&mut layout, &walked.data, extras)?;
        let data_lba = boot.data_lba(&planned);
        if let Some(b) = &bridge {
            b.place(&planned.plan, &data_lba, &walked.data.alias)?;
        }
        let iso_end = planned.plan.total_sectors();
        let volume_sectors = boot.finish(&mut planned)?;
        if bridge.is_some() {
            odix::boot::check_udf_tail(&planned, iso_end)?;
        }
        (planned, data_lba, volume_sectors)
    };
    let total = planned.plan.total_sectors();
    let cancel = crate::cmd::interrupt::cancel();
    let out = AtomicFile::create(&a.output)?;
    let bar = progress_bar(planned.size_bytes(), a.quiet);
    let ctx = EmitCtx {
        total_sectors: volume_sectors,
        data_lba: &data_lba,
        alias: &walked.data.alias,
        cancel: Some(&cancel),
    };
    {
        let mut w = BufWriter::with_capacity(1 << 20, &out.file);
        emit(&planned.plan, &ctx, &walked.data, &mut w, &|n| bar.inc(n))
            .with_context(|| format!("writing {}", a.output.display()))?;
        w.flush()?;
    }
    bar.finish_and_clear();
    out.commit()?;
    if !a.quiet {
        let files = walked.tree.len().saturating_sub(1);
        eprintln!("odix: wrote {} ({} sectors, {} bytes, {} entries)", a.output.display(), total, total * 2048, files);
        if walked.hidden_skipped > 0 {
            eprintln!("odix: left out {} hidden entries (--no-hidden)", walked.hidden_skipped);
        }
    }
    Ok(0)
}

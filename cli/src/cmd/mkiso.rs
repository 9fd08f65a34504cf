//! `odix mkiso`: build an ISO 9660 image (Rock Ridge, Joliet) from folders.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use odix::mastering::walk::read_sort_file;
use odix::output::AtomicFile;
use odix::{BuildSource, BuildSpec, BuildWarning};

use crate::cmd::build_args::{BootArgs, UdfArgs};

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
    /// UDF: `--udf`, `--format udf`, `--udf-rev`, `--dvd-video`.
    #[command(flatten)]
    pub udf: UdfArgs,
    /// Boot: El Torito and hybrid MBR/GPT options.
    #[command(flatten)]
    pub boot: Box<BootArgs>,
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
    if a.zisofs && a.no_rock {
        bail!("--zisofs needs Rock Ridge (the ZF entry); drop --no-rock");
    }
    odix::output::check_target(&a.output)?;
    let boot = a.boot.to_config()?;
    if a.udf.udf_only() && !boot.is_empty() {
        bail!("boot options need ISO 9660: drop --format udf");
    }
    let mut spec = BuildSpec::new(a.sources.iter().cloned().map(BuildSource::Pathspec).collect());
    spec.walk.exclude = a.exclude.clone();
    spec.walk.follow_links = a.follow_links;
    spec.walk.hidden = !a.no_hidden;
    spec.walk.rational_rock = a.rational_rock;
    spec.walk.zisofs = a.zisofs;
    spec.walk.sort = sort;
    spec.walk.dedup = a.dedup;
    spec.trees.iso_level = a.iso_level;
    spec.trees.rock_ridge = !a.no_rock;
    spec.trees.joliet = !a.no_joliet;
    spec.trees.joliet_long = a.joliet_long;
    spec.trees.udf = a.udf.spec()?;
    spec.trees.udf_only = a.udf.udf_only();
    spec.ids.volume_id = a.volume_id.clone();
    spec.ids.publisher = a.publisher.clone();
    spec.ids.preparer = a.preparer.clone();
    spec.ids.application = a.application.clone();
    spec.ids.system_id = a.system_id.clone();
    spec.ids.volume_set = a.volset.clone();
    spec.dates.now = now;
    spec.dates.clamp = sde;
    spec.boot = boot;
    spec.cancel = Some(crate::cmd::interrupt::cancel());
    let plan = spec.prepare()?;
    let udf_only = a.udf.udf_only();
    // The image is laid out once: its warnings are shown and the output created when its size is known, before
    // any byte is written.
    let out: OnceCell<AtomicFile> = OnceCell::new();
    let bar: OnceCell<indicatif::ProgressBar> = OnceCell::new();
    let (w, laid) = plan
        .write_with(
            |laid| {
                for w in &laid.warnings {
                    match w {
                        // A UDF-only image says what it left out with its summary.
                        BuildWarning::UdfLeftOut(_) if udf_only => {}
                        BuildWarning::UdfLeftOut(_) => eprintln!("odix: {w}"),
                        _ => eprintln!("odix: warning: {w}"),
                    }
                }
                if out.get().is_none() {
                    let _ = out.set(AtomicFile::create(&a.output)?);
                }
                let file = out.get().context("the output was not created")?;
                let _ = bar.set(crate::cmd::progress::image_bar(laid.size_bytes(), a.quiet));
                Ok(BufWriter::with_capacity(1 << 20, &file.file))
            },
            &mut |n| {
                if let Some(b) = bar.get() {
                    b.inc(n);
                }
            },
        )
        .map_err(|e| if out.get().is_some() { e.context(format!("writing {}", a.output.display())) } else { e })?;
    drop(w);
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    out.into_inner().context("the output was never created")?.commit()?;
    if a.quiet {
        return Ok(0);
    }
    let total = laid.total_sectors;
    if udf_only {
        let rev = plan.udf_revision().unwrap_or_default();
        eprintln!(
            "odix: wrote {} (UDF {rev}, {total} sectors, {} bytes, {} entries)",
            a.output.display(),
            total * 2048,
            plan.entries()
        );
        for w in &laid.warnings {
            if let BuildWarning::UdfLeftOut(n) = w {
                eprintln!("odix: left out {n} device nodes, FIFOs or sockets (UDF records none)");
            }
        }
    } else {
        eprintln!(
            "odix: wrote {} ({} sectors, {} bytes, {} entries)",
            a.output.display(),
            total,
            total * 2048,
            plan.entries()
        );
        if plan.hidden_skipped() > 0 {
            eprintln!("odix: left out {} hidden entries (--no-hidden)", plan.hidden_skipped());
        }
    }
    Ok(0)
}

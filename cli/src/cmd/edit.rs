//! `odix edit`: change an existing image (add, replace, remove, move files; relabel) into a new one that keeps
//! the input's trees and boot setup, or grow the input by a session.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use odix::edit::{edit as run_edit, BootMode, EditEvent, EditOp, EditSpec, EditTarget};

/// What becomes of the input's boot setup, as `--boot` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BootChoice {
    /// Write everything the input's boot setup has again, for the new layout (El Torito entries, boot-info tables,
    /// MBR, GPT, appended partitions).
    Replay,
    /// Keep the El Torito entries and their images as they are; leave the MBR, GPT and appended partitions out.
    KeepCatalog,
    /// No boot setup: a plain data image.
    None,
}

/// Arguments of `odix edit`.
#[derive(clap::Args, Debug)]
#[command(after_help = "The changes apply in the order given on the command line, by kind: --rm, --mv, --mkdir, \
--add, --chmod. Paths in the image are absolute (`/boot/grub/grub.cfg`). --add SRC puts a file or folder at \
/NAME; SRC:DEST puts it at DEST (a folder's contents merge into DEST, a file replaces DEST). With \
SOURCE_DATE_EPOCH set, it gives the volume dates.")]
pub struct EditArgs {
    /// The image to change.
    pub input: PathBuf,
    /// The new image (required unless --append).
    #[arg(short = 'o', long = "output", value_name = "OUT", required_unless_present = "append")]
    pub output: Option<PathBuf>,
    /// Add or replace a file or folder: SRC on disk, DEST in the image (default /NAME of SRC).
    #[arg(long = "add", value_name = "SRC[:DEST]")]
    pub add: Vec<String>,
    /// Remove a file or folder (and everything below it).
    #[arg(long = "rm", value_name = "PATH")]
    pub rm: Vec<String>,
    /// Move or rename FROM to TO.
    #[arg(long = "mv", value_name = "FROM:TO")]
    pub mv: Vec<String>,
    /// Make a folder (and its missing parents).
    #[arg(long = "mkdir", value_name = "PATH")]
    pub mkdir: Vec<String>,
    /// Set permission bits, octal: MODE:PATH (MODE:PATH/ for a whole folder's contents too).
    #[arg(long = "chmod", value_name = "MODE:PATH")]
    pub chmod: Vec<String>,
    /// New volume id.
    #[arg(short = 'V', long = "volume-id", value_name = "LABEL")]
    pub volume_id: Option<String>,
    /// What becomes of the input's boot setup.
    #[arg(long, value_enum, default_value = "replay")]
    pub boot: BootChoice,
    /// Regenerate this MD5 list in the image (Debian's and Ubuntu's /md5sum.txt) for the changed files.
    #[arg(long = "update-md5sum", value_name = "FILE")]
    pub update_md5sum: Option<String>,
    /// Implant the isomd5sum MD5 that checkisomd5 (Fedora, Red Hat installers) checks.
    #[arg(long = "implant-md5")]
    pub implant_md5: bool,
    /// Write xorriso's session MD5 tags (checked by `xorriso -check_md5` and `odix verify`).
    #[arg(long)]
    pub md5: bool,
    /// Grow the input by a new session instead of writing a new image.
    #[arg(long, conflicts_with = "output")]
    pub append: bool,
    /// With --append: touch nothing already written (an image burnt session by session to CD-R/DVD-R).
    #[arg(long = "write-once", requires = "append")]
    pub write_once: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `SRC[:DEST]`: split at the last `:` when the part before it exists on disk; DEST defaults to /NAME.
fn parse_add(arg: &str) -> Result<EditOp> {
    let split = arg.rfind(':').map(|i| (&arg[..i], &arg[i + 1..]));
    let (src, dest) = match split {
        Some((s, d)) if !s.is_empty() && Path::new(s).symlink_metadata().is_ok() => (s.to_string(), d.to_string()),
        _ => {
            let name = Path::new(arg)
                .file_name()
                .with_context(|| format!("--add {arg}: give SRC:DEST"))?
                .to_string_lossy()
                .into_owned();
            (arg.to_string(), format!("/{name}"))
        }
    };
    if Path::new(&src).symlink_metadata().is_err() {
        bail!("--add {arg}: {src} does not exist");
    }
    Ok(EditOp::Add { src: src.into(), dest })
}

fn split_pair<'a>(opt: &str, arg: &'a str) -> Result<(&'a str, &'a str)> {
    arg.split_once(':')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .with_context(|| format!("{opt} {arg}: give A:B"))
}

fn now() -> Result<i64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) if !s.trim().is_empty() => {
            s.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number"))
        }
        _ => Ok(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)),
    }
}

/// Runs `odix edit`.
pub fn edit(a: EditArgs) -> Result<u8> {
    let mut ops = Vec::new();
    for p in &a.rm {
        ops.push(EditOp::Remove(p.clone()));
    }
    for m in &a.mv {
        let (from, to) = split_pair("--mv", m)?;
        ops.push(EditOp::Move { from: from.into(), to: to.into() });
    }
    for d in &a.mkdir {
        ops.push(EditOp::Mkdir(d.clone()));
    }
    for s in &a.add {
        ops.push(parse_add(s)?);
    }
    for c in &a.chmod {
        let (mode, path) = split_pair("--chmod", c)?;
        let mode = u32::from_str_radix(mode, 8).with_context(|| format!("--chmod {c}: {mode} is not octal"))?;
        let recursive = path.len() > 1 && path.ends_with('/');
        ops.push(EditOp::Chmod { mode, path: path.trim_end_matches('/').to_string(), recursive });
    }
    let spec = EditSpec {
        input: a.input.clone(),
        output: a.output.clone().unwrap_or_default(),
        target: match (a.append, a.write_once) {
            (false, _) => EditTarget::NewImage,
            (true, false) => EditTarget::Append,
            (true, true) => EditTarget::AppendWriteOnce,
        },
        ops,
        volume_id: a.volume_id.clone(),
        boot: match a.boot {
            BootChoice::Replay => BootMode::Replay,
            BootChoice::KeepCatalog => BootMode::KeepCatalog,
            BootChoice::None => BootMode::None,
        },
        update_md5sum: a.update_md5sum.clone(),
        implant_md5: a.implant_md5,
        md5: a.md5,
        now: now()?,
        cancel: None,
    };
    let bar: OnceCell<indicatif::ProgressBar> = OnceCell::new();
    let report = run_edit(&spec, &mut |e| match e {
        EditEvent::Laid(l) => {
            for w in &l.warnings {
                eprintln!("odix: warning: {w}");
            }
            let _ = bar.set(crate::cmd::progress::image_bar(l.size_bytes(), a.quiet));
        }
        EditEvent::Wrote(n) => {
            if let Some(b) = bar.get() {
                b.inc(n);
            }
        }
        _ => {}
    })?;
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    for w in &report.warnings {
        eprintln!("odix: warning: {w}");
    }
    if let (false, Some(start)) = (a.quiet, report.session_start) {
        eprintln!(
            "odix: appended a session to {} at LBA {start}: {} sectors ({:.1} MiB), {} entries ({} view)",
            a.input.display(),
            report.total_sectors,
            report.total_sectors as f64 * 2048.0 / 1048576.0,
            report.entries,
            report.view,
        );
    } else if !a.quiet {
        let target = if a.append { &a.input } else { a.output.as_ref().unwrap_or(&a.input) };
        eprintln!(
            "odix: wrote {}: {} sectors ({:.1} MiB), {} entries ({} view); {} files copied from the input by extents{}",
            target.display(),
            report.total_sectors,
            report.total_sectors as f64 * 2048.0 / 1048576.0,
            report.entries,
            report.view,
            report.copied_by_extent,
            match report.read_through_tree {
                0 => String::new(),
                n => format!(", {n} read through its tree"),
            }
        );
        if let Some(m) = &report.implanted_md5 {
            eprintln!("odix: isomd5sum MD5 {m} implanted");
        }
    }
    Ok(0)
}

//! `odix extract`: the arguments, the library's [`Extract`] run, and what it prints (`-v` paths on standard
//! output, warnings on standard error, a byte counter on a terminal).

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;

use crate::cmd::args::ImageArgs;
use crate::EXIT_PARTIAL;
use odix::extract::{Event, Extract, ExtractOptions, ExtractWarning};
use odix::view::display_name;

/// `odix extract`.
#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// What to extract (default: everything): paths in the image, or shell-style wildcards matched against whole
    /// paths (`*`, `?` and `[...]` within one name, `**` across folders, `{a,b}`), such as '/boot/**/*.cfg'.
    pub paths: Vec<OsString>,
    /// The folder to extract into (created if missing).
    #[arg(short = 'C', long = "directory", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Keep files that already exist in DIR instead of replacing them.
    #[arg(long)]
    pub keep_old_files: bool,
    /// Do not restore permissions (use 0644 / 0755).
    #[arg(long)]
    pub no_same_permissions: bool,
    /// Give files the owner and group the image records (the default when run as root).
    #[arg(long, overrides_with = "no_same_owner")]
    pub same_owner: bool,
    /// Leave files owned by the user running odix (the default for other users); set-user-ID and set-group-ID
    /// bits are then cleared.
    #[arg(long, overrides_with = "same_owner")]
    pub no_same_owner: bool,
    /// Do not create FIFOs and device nodes (as root they are created; other users cannot, and they are reported
    /// as skipped).
    #[arg(long)]
    pub no_special_files: bool,
    /// List each path written, on standard output.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Write each El Torito boot image (and the boot catalog) into this folder instead of extracting files.
    #[arg(long, value_name = "DIR")]
    pub boot: Option<PathBuf>,
    /// Threads that create and write files (default: one per CPU, at most 8; 1 writes on the reading thread).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// Prints a warning the library passed back.
fn print_warning(msg: String) {
    eprintln!("odix: warning: {msg}");
}

pub fn extract(args: ExtractArgs) -> Result<u8> {
    if let Some(dir) = &args.boot {
        let image = args.image.open()?;
        return image.extract_boot(dir, &mut io::stdout().lock(), &mut print_warning);
    }
    let defaults = ExtractOptions::default();
    let options = ExtractOptions {
        keep_old: args.keep_old_files,
        same_permissions: !args.no_same_permissions,
        same_owner: if args.same_owner {
            true
        } else if args.no_same_owner {
            false
        } else {
            defaults.same_owner
        },
        special_files: !args.no_special_files,
        jobs: args.jobs.unwrap_or(defaults.jobs),
        cancel: crate::cmd::interrupt::cancel(),
    };
    // Patterns are checked before the image is opened.
    let job = Extract::new(&args.paths, options)?;
    let opened = args.image.open()?;
    let mut tree = opened.tree(args.image.view())?;
    // With -v the list of paths is the progress.
    let bar =
        if args.verbose { indicatif::ProgressBar::hidden() } else { crate::cmd::progress::bytes_counter("extracting") };
    let image = args.image.image.display().to_string();
    let report =
        job.run(tree.as_mut(), opened.read_options(), opened.plain_file(), &args.dir, &mut |event| match event {
            Event::Written(path) if args.verbose => {
                let mut out = io::stdout().lock();
                let _ = writeln!(out, "{}", display_name(path));
            }
            Event::Written(_) => {}
            Event::Bytes(n) => bar.inc(n),
            Event::Warning(w) => {
                // Nothing is told of files an interruption's cleanups removed.
                crate::cmd::interrupt::wait_if_interrupted();
                match w {
                    ExtractWarning::Entry(w) => eprintln!("odix: warning: {}", w.0),
                    other => eprintln!("odix: {image}: {other}"),
                }
            }
        })?;
    bar.finish_and_clear();
    Ok(if report.partial() { EXIT_PARTIAL } else { 0 })
}

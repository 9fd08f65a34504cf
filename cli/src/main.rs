//! `odix`: rip, build, list, read and extract optical disc images.
#![forbid(unsafe_code)]

mod cmd;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use cmd::{convert, man, mkiso, mkisofs, mount, read, rip, verify, xorriso};

/// Optical disc image toolkit: rip CDs and DVDs, build ISO 9660 / UDF images, list and extract any image.
#[derive(Parser, Debug)]
#[command(name = "odix", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the formats, volume ids, dates, sizes, boot entries and partitions of an image.
    Info(read::InfoArgs),
    /// List the contents of an image.
    #[command(disable_help_flag = true)]
    Ls(read::LsArgs),
    /// Write one file of an image to standard output.
    Cat(read::CatArgs),
    /// Extract files from an image into a folder.
    Extract(cmd::extract::ExtractArgs),
    /// Mount an image read-only on a folder (FUSE); `fusermount -u DIR` or `umount DIR` ends it.
    Mount(mount::MountArgs),
    /// Check an image: raw sectors (sync, header, EDC, ECC), xorriso MD5 tags, hashes; repair; compare with a folder.
    Verify(verify::VerifyArgs),
    /// Convert between raw disc images (.cue/.ccd), ISO images and per-track audio files (WAV, FLAC).
    Convert(convert::ConvertArgs),
    /// Rip a CD or DVD (or any file or block device) into an image, with retries and a resumable ddrescue map.
    /// Exit status: 0 complete, 2 incomplete (bad sectors remain or interrupted), 1 error.
    Rip(rip::RipArgs),
    /// Show an optical drive's vendor, model, firmware, profiles, and C2 and raw-reading capability.
    Drive(rip::DriveArgs),
    /// Show the sessions and tracks of the disc in an optical drive.
    Toc(rip::TocArgs),
    /// Change an image (add, replace, remove, move files; relabel) keeping its trees and boot setup, or grow it by a
    /// session.
    #[command(disable_version_flag = true)]
    Edit(cmd::edit::EditArgs),
    /// Build an ISO 9660 image (Rock Ridge, Joliet) from folders.
    #[command(disable_version_flag = true)]
    Mkiso(mkiso::MkisoArgs),
    /// Build an image with the mkisofs/genisoimage/`xorriso -as mkisofs` command line (`odix mkisofs -help`).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Mkisofs {
        /// mkisofs options and pathspecs.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output, or with --dir write one page per subcommand.
    Man(man::ManArgs),
}

/// Exit status: 0 success, 1 failure, 2 partial success (something was damaged and skipped).
pub const EXIT_PARTIAL: u8 = 2;

fn run(cli: Cli) -> anyhow::Result<u8> {
    // A command that writes stops on SIGINT, SIGTERM and SIGHUP by removing what it had not finished; `rip`
    // handles them itself (it saves its map and stops after the current read), and the reading commands end as
    // the signal ends them.
    if matches!(
        cli.command,
        Command::Extract(_)
            | Command::Mount(_)
            | Command::Verify(_)
            | Command::Convert(_)
            | Command::Mkiso(_)
            | Command::Edit(_)
            | Command::Mkisofs { .. }
            | Command::Man(_)
    ) {
        cmd::interrupt::install()?;
    }
    match cli.command {
        Command::Info(a) => read::info(a),
        Command::Ls(a) => read::ls(a),
        Command::Cat(a) => read::cat(a),
        Command::Extract(a) => cmd::extract::extract(a),
        Command::Mount(a) => mount::mount(a),
        Command::Verify(a) => verify::verify(a),
        Command::Convert(a) => convert::convert(a),
        Command::Rip(a) => rip::rip(a),
        Command::Drive(a) => rip::drive(a),
        Command::Toc(a) => rip::toc(a),
        Command::Mkiso(a) => mkiso::mkiso(a),
        Command::Edit(a) => cmd::edit::edit(a),
        Command::Mkisofs { args } => mkisofs::mkisofs(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "odix", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man(a) => man::man(Cli::command(), a),
    }
}

/// Rewrites the arguments for the other names odix answers to: `odix -as mkisofs ...`, a link named `mkisofs`,
/// `genisoimage` or `xorrisofs`, and xorriso's command lines (`xorriso [-no_rc ...] -as mkisofs ...`, the editing
/// commands `odix -indev IN -outdev OUT -map ...`, also through a link named `xorriso`, and `xorriso -version`).
/// An edit runs from here and ends the process with its exit value.
fn normalize_args(mut args: Vec<OsString>) -> Vec<OsString> {
    let argv0 = args
        .first()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    if matches!(argv0.as_str(), "mkisofs" | "genisoimage" | "xorrisofs") {
        args.insert(1, OsString::from("mkisofs"));
        return args;
    }
    let rest = args.get(1..).unwrap_or_default();
    if argv0 != "xorriso" && !rest.first().and_then(|a| a.to_str()).is_some_and(|a| a.starts_with('-')) {
        return args;
    }
    match xorriso::xorriso_line(rest, argv0 == "xorriso") {
        xorriso::XorrisoLine::NotXorriso => args,
        xorriso::XorrisoLine::Mkisofs(m) => mkisofs_args(&args[0], m),
        xorriso::XorrisoLine::Version => {
            print!("{}", mkisofs::version_text());
            std::process::exit(0);
        }
        xorriso::XorrisoLine::Edit(e) if e.is_new_image() => match e.as_mkisofs() {
            Ok(m) => mkisofs_args(&args[0], m),
            Err(err) => {
                eprintln!("odix: {err:#}");
                std::process::exit(1);
            }
        },
        xorriso::XorrisoLine::Edit(e) => {
            let code = cmd::interrupt::install().and_then(|()| xorriso::run(&e)).unwrap_or_else(|err| {
                cmd::interrupt::wait_if_interrupted();
                eprintln!("odix: {err:#}");
                1
            });
            std::process::exit(code.into());
        }
        xorriso::XorrisoLine::Unsupported(why) => {
            eprintln!("odix: {why}");
            std::process::exit(1);
        }
    }
}

/// `odix mkisofs ARGS` for a xorriso line that builds an image.
fn mkisofs_args(argv0: &OsString, m: Vec<OsString>) -> Vec<OsString> {
    let mut v = vec![argv0.clone(), OsString::from("mkisofs")];
    v.extend(m);
    v
}

fn main() -> ExitCode {
    let args = normalize_args(std::env::args_os().collect());
    let cli = Cli::parse_from(args);
    // A reader of what these print may stop early (`odix ls IMG | head`): they end quietly, as Unix tools do. A
    // command that writes an image into a pipe closed early has failed, and says so.
    let quiet_on_closed_pipe = matches!(
        cli.command,
        Command::Info(_) | Command::Ls(_) | Command::Cat(_) | Command::Completions { .. } | Command::Man(_)
    );
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // An error met because an interruption's cleanups ran under this thread is not the story to tell.
            cmd::interrupt::wait_if_interrupted();
            let closed_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if closed_pipe && quiet_on_closed_pipe {
                return ExitCode::SUCCESS;
            }
            let line = one_line(&e);
            if closed_pipe {
                eprintln!("odix: {line}: the output was closed before the end, so it is incomplete");
            } else {
                eprintln!("odix: {line}");
            }
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, as `{:#}` writes them, but without a cause whose text the line already
/// holds (a library error that names its cause in its own message would otherwise say it twice).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

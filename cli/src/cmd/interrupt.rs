//! What the command line does when it is told to stop (SIGINT, SIGTERM, SIGHUP): the library's cancellation flag
//! is set, every cleanup the library registered runs (unfinished temporary files are removed, a mount is
//! unmounted; see [`odix::cancel`]), one line says what was left undone, and the process exits with 128 + the
//! signal's number, as a shell reports a process a signal ended.
//!
//! `main` calls [`install`] once before any command runs. The cleanups run on a thread of their own while the
//! others are stopped in their tracks: nothing a command was doing can finish after them, because registration
//! takes the same lock and the process exits while the signal thread still holds it.

use std::sync::OnceLock;

use anyhow::{Context, Result};
use odix::cancel::{run_cleanups_for_exit, Cancel};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static CANCEL: OnceLock<Cancel> = OnceLock::new();

/// The flag the signal thread sets; commands hand it to the library operations they run.
pub fn cancel() -> Cancel {
    CANCEL.get_or_init(Cancel::new).clone()
}

/// Whether a stop signal has arrived (the process is about to exit).
pub fn interrupted() -> bool {
    CANCEL.get().is_some_and(Cancel::is_cancelled)
}

/// Parks the calling thread for good once a stop signal has arrived, so that an error caused by the cleanups
/// (a file removed under a writer) is never reported in place of the interruption.
pub fn wait_if_interrupted() {
    if interrupted() {
        loop {
            std::thread::park();
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Puts the stop signals' handling in place (once per process).
pub fn install() -> Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let flag = cancel();
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing the signal handler")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                flag.cancel();
                let done = run_cleanups_for_exit();
                let tail = match done.len() {
                    0 => String::new(),
                    1..=3 => format!("; {}", done.join("; ")),
                    n => format!("; {}; and {} more", done[..3].join("; "), n - 3),
                };
                eprintln!("odix: interrupted by {}{tail}", signal_name(sig));
                // The registry stays locked: nothing can register (create) anything more before the exit.
                std::process::exit(128 + sig);
            }
        })
        .context("starting the signal thread")?;
    let _ = INSTALLED.set(());
    Ok(())
}

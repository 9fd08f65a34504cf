//! What a command that writes does when it is told to stop (SIGINT, SIGTERM, SIGHUP): every registered cleanup
//! runs (unfinished temporary files are removed, a mount is unmounted), one line says what was left undone, and
//! the process exits with 128 + the signal's number, as a shell reports a process a signal ended.
//!
//! A command calls [`install`] once before it writes anything. Whatever it creates that must not outlive an
//! interruption is registered with [`on_interrupt`] (or created through [`with_cleanup`], which closes the window
//! between creating and registering); dropping the returned [`Cleanup`] deregisters it, as when a file is renamed
//! into place. The cleanups run on a thread of their own while the others are stopped in their tracks: nothing
//! the command was doing can finish after them, because registration takes the same lock and the process exits
//! while the signal thread still holds it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

type Action = Box<dyn FnOnce() + Send>;

struct Entry {
    id: u64,
    what: String,
    action: Action,
}

#[derive(Default)]
struct Registry {
    next: u64,
    entries: Vec<Entry>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { next: 0, entries: Vec::new() });
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<()> = OnceLock::new();

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A registered cleanup; dropping it deregisters the cleanup without running it.
#[must_use = "dropping a Cleanup deregisters it at once"]
pub struct Cleanup {
    id: u64,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let mut reg = registry();
        if let Some(i) = reg.entries.iter().position(|e| e.id == self.id) {
            reg.entries.swap_remove(i);
        }
    }
}

/// Registers `action` to run if the command is interrupted. `what` says in a few words what the action undid, for
/// the one line printed then ("removed the unfinished out.iso"); an empty `what` is not mentioned.
pub fn on_interrupt(what: impl Into<String>, action: impl FnOnce() + Send + 'static) -> Cleanup {
    let mut reg = registry();
    register(&mut reg, what.into(), Box::new(action))
}

/// Runs `make` under the registry's lock and registers the cleanup it returns with its value, so that no
/// interruption can fall between creating something and registering its removal.
pub fn with_cleanup<T, E>(
    what: impl Into<String>,
    make: impl FnOnce() -> std::result::Result<(T, Action), E>,
) -> std::result::Result<(T, Cleanup), E> {
    let mut reg = registry();
    let (value, action) = make()?;
    let cleanup = register(&mut reg, what.into(), action);
    Ok((value, cleanup))
}

fn register(reg: &mut Registry, what: String, action: Action) -> Cleanup {
    let id = reg.next;
    reg.next += 1;
    reg.entries.push(Entry { id, what, action });
    Cleanup { id }
}

/// Whether a stop signal has arrived (the process is about to exit).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
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
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing the signal handler")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                INTERRUPTED.store(true, Ordering::Relaxed);
                let mut reg = registry();
                let entries = std::mem::take(&mut reg.entries);
                let mut done: Vec<String> = Vec::new();
                for e in entries {
                    (e.action)();
                    if !e.what.is_empty() && !done.contains(&e.what) {
                        done.push(e.what);
                    }
                }
                let tail = match done.len() {
                    0 => String::new(),
                    1..=3 => format!("; {}", done.join("; ")),
                    n => format!("; {}; and {} more", done[..3].join("; "), n - 3),
                };
                eprintln!("odix: interrupted by {}{tail}", signal_name(sig));
                // Still holding the lock: nothing can register (create) anything more before the exit.
                std::process::exit(128 + sig);
            }
        })
        .context("starting the signal thread")?;
    let _ = INSTALLED.set(());
    Ok(())
}

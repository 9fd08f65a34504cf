//! Asking a long operation to stop, and undoing what it left unfinished.
//!
//! A [`Cancel`] is a flag the caller keeps a clone of: builds, extractions and conversions look at it between
//! steps and return [`Cancelled`] (as the source of their error) once it is set. The library installs no signal
//! handler; a program that wants Ctrl-C to stop an operation sets the flag from its own handler.
//!
//! Whatever the library creates that must not outlive an interrupted process (an output file under its temporary
//! name, a file being extracted) is registered with [`on_cancel`] or created through [`with_cleanup`]; dropping the
//! returned [`Cleanup`] deregisters it, as when a file is renamed into place. A program about to exit on a signal
//! calls [`run_cleanups_for_exit`], which runs them all and keeps the registry locked, so that nothing can be
//! created after them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A cancellation flag, shared by cloning.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

/// The error an operation returns when its [`Cancel`] was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for Cancelled {}

impl Cancel {
    /// A flag not set yet.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Asks every operation holding a clone of this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag was set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the flag was set.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

type Action = Box<dyn FnOnce() + Send>;

struct Entry {
    id: u64,
    what: String,
    action: Action,
}

struct Registry {
    next: u64,
    entries: Vec<Entry>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { next: 0, entries: Vec::new() });

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

/// Registers `action` to run if the process is stopped before the returned [`Cleanup`] is dropped. `what` says in
/// a few words what the action undid ("removed the unfinished out.iso"); an empty `what` is not reported.
pub fn on_cancel(what: impl Into<String>, action: impl FnOnce() + Send + 'static) -> Cleanup {
    let mut reg = registry();
    register(&mut reg, what.into(), Box::new(action))
}

/// Runs `make` under the registry's lock and registers the cleanup it returns with its value, so that no
/// [`run_cleanups_for_exit`] can fall between creating something and registering its removal.
pub fn with_cleanup<T, E>(
    what: impl Into<String>,
    make: impl FnOnce() -> Result<(T, Box<dyn FnOnce() + Send>), E>,
) -> Result<(T, Cleanup), E> {
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

/// Runs every registered cleanup and returns what they undid (each `what` once, in registration order). The
/// registry stays locked for good afterwards: call this only when the process is about to exit.
pub fn run_cleanups_for_exit() -> Vec<String> {
    let mut reg = registry();
    let entries = std::mem::take(&mut reg.entries);
    let mut done: Vec<String> = Vec::new();
    for e in entries {
        (e.action)();
        if !e.what.is_empty() && !done.contains(&e.what) {
            done.push(e.what);
        }
    }
    // Nothing may register (create) anything more before the exit.
    std::mem::forget(reg);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_cleanup_does_not_run_and_a_set_flag_is_seen_by_clones() {
        let c = Cancel::new();
        let seen = c.clone();
        assert_eq!(seen.check(), Ok(()));
        c.cancel();
        assert_eq!(seen.check(), Err(Cancelled));

        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let cleanup = on_cancel("x", move || r.store(true, Ordering::Relaxed));
        let id = cleanup.id;
        drop(cleanup);
        assert!(!registry().entries.iter().any(|e| e.id == id));
        assert!(!ran.load(Ordering::Relaxed));
    }
}

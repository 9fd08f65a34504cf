//! Writing a view's entries into a folder, safely.
//!
//! [`Extract`] is the entry point: the paths or wildcard patterns wanted and the [`ExtractOptions`], then
//! [`Extract::run`] on a [`Tree`] and a destination folder. It prints nothing: what it does comes back as
//! [`Event`]s while it runs (each path written, each file's size, each warning) and as an [`ExtractReport`] at the
//! end; a [`Cancel`] flag stops it.
//!
//! # Security
//! Names come from the image and are untrusted. Every name is checked before it is used: empty names, `.`, `..`,
//! and names containing `/`, `\` or NUL are refused, so each name is exactly one path component. Names are used
//! as the bytes the image records (Rock Ridge names need not be UTF-8). Everything is created relative to an open
//! descriptor of its parent folder (`openat`, `mkdirat`, `symlinkat`, `linkat`, `mknodat`, `renameat`), and those
//! folders were made (or found to be real folders) by the extractor and opened one component at a time with
//! `O_NOFOLLOW`, so no symlink is followed on the way down and no path is ever longer than one name. An existing
//! symlink or file where a directory is to go is removed (not followed) and replaced. Symlinks are created as
//! stored, and nothing is ever written through one. A path written once in a run is not written again.
//! Directories get their modes and times last, deepest first, through a descriptor opened with `O_NOFOLLOW`.
//!
//! Owners: files get the owner and group the image records when [`ExtractOptions::same_owner`] (the default for
//! root), set before the mode (a `chown` clears set-id bits). A set-user-ID bit is kept only when the recorded
//! owner was given to the file, a set-group-ID bit only when the recorded group was; otherwise they are cleared,
//! so an image never makes a set-id file owned by someone it does not name. FIFOs and device nodes are created
//! only as root (and not with [`ExtractOptions::special_files`] off); sockets never are.
//!
//! # Nothing half-written
//! Each regular file is written under a temporary name in its folder (`.NAME.odix-PID-N.tmp`, created with
//! `O_EXCL`) and renamed onto its name only once its data, owner, mode and times are set, so a file under its
//! real name is always complete. The live temporary names are kept in one set: a failed write, an error writing
//! the output (which stops the extraction) and an interrupt remove them.
//!
//! # Cost
//! A regular file costs `openat`, one `copy_file_range` from the image when its bytes are plain runs of the image
//! file (else reads through the view and `write`s), `fchown` when owners are restored, `futimens`, `close` and
//! `renameat`; `fchmod` only when the mode cannot be given at creation (bits the umask would clear, set-id and
//! sticky bits, which a write may clear). Each writing thread keeps its own set of temporary names, so that
//! writers never wait for one another's lock.
//!
//! # Threads
//! Those system calls are most of an extraction's time, and they scale across cores: files whose bytes are plain
//! runs of the image are created and written by a pool of writer threads ([`ExtractOptions::jobs`]), in batches,
//! while the walk goes on reading the image's metadata, making folders and writing everything else (symlinks,
//! files read through the view, every name of a hard-linked file). Each job holds its folder's descriptor, so it
//! is as safe as the rest; directories get their modes and times only after the writers are done.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Utc};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, Timespec, Timestamps};
use rustix::io::Errno;

use crate::cancel::{Cancel, Cancelled};
use crate::formats::ReadOptions;
use crate::tree::{components_os, normalized, resolve, walk};
use crate::view::{display_name, Kind, Node, PastEnd, Tree, Warning};

/// Bytes copied at a time from the image into a file when the kernel cannot copy them itself.
const COPY_BUFFER: usize = 1 << 20;

/// Most folder descriptors kept open on the way down; those further up are closed and opened again, one
/// component at a time, when the walk climbs back to them.
const MAX_OPEN: usize = 128;

/// Most bytes asked of one `copy_file_range` call.
const COPY_RANGE_MAX: u64 = 1 << 30;

/// Files handed to the writer threads at once, and most bytes in one such batch.
const BATCH_FILES: usize = 64;
const BATCH_BYTES: u64 = 16 << 20;

/// Most bytes of a file's name kept in its temporary name (which adds about 30 more; names are at most 255).
const TEMP_NAME_PREFIX: usize = 200;

/// What the user asked of the extraction.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// Keep files that exist already instead of replacing them.
    pub keep_old: bool,
    /// Restore the permission bits the image records.
    pub same_permissions: bool,
    /// Give entries the owner and group the image records (root's default).
    pub same_owner: bool,
    /// Create FIFOs and device nodes (only root can).
    pub special_files: bool,
    /// Threads that create and write files (0 or 1: the walking thread writes them itself).
    pub jobs: usize,
    /// Set to stop the extraction (the files being written are then removed by the cleanups registered in
    /// [`crate::cancel`]); nothing more is reported once it is set.
    pub cancel: Cancel,
}

impl Default for ExtractOptions {
    /// What `odix extract` does without options: replace existing files, restore permissions, restore owners and
    /// create special files when run as root, one writer thread per CPU (at most 8).
    fn default() -> Self {
        let root = rustix::process::geteuid().is_root();
        ExtractOptions {
            keep_old: false,
            same_permissions: true,
            same_owner: root,
            special_files: true,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            cancel: Cancel::new(),
        }
    }
}

/// Something an extraction could not do, or did only in part. The extraction goes on after each.
#[derive(Clone, Debug)]
pub enum ExtractWarning {
    /// A path asked for is not in the image (`reason` says why, naming the path).
    NotFound {
        /// The path as it was asked for.
        path: OsString,
        /// Why it could not be found.
        reason: String,
    },
    /// A wildcard pattern matched no entry (`reason`: why its fixed part could not be found, when it could not).
    NothingMatches {
        /// The pattern, normalized (as it was matched).
        pattern: String,
        /// Why the folder the pattern searches could not be found, if that was the reason.
        reason: Option<String>,
    },
    /// An entry that was not extracted or only in part (a read error, a name refused, a file past the end of the
    /// image, an owner or mode that could not be set), or a part of the tree that could not be read.
    Entry(Warning),
}

impl std::fmt::Display for ExtractWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractWarning::NotFound { reason, .. } => f.write_str(reason),
            ExtractWarning::NothingMatches { pattern, reason: None } => write!(f, "{pattern}: nothing matches"),
            ExtractWarning::NothingMatches { pattern, reason: Some(r) } => {
                write!(f, "{pattern}: nothing matches ({r})")
            }
            ExtractWarning::Entry(w) => f.write_str(&w.0),
        }
    }
}

/// What an extraction tells its caller while it runs, in order.
#[derive(Debug)]
pub enum Event<'a> {
    /// An entry was extracted (or its extraction was handed to a writer thread): its path below the destination.
    Written(&'a OsStr),
    /// A regular file of this many bytes is about to be extracted (for a progress counter).
    Bytes(u64),
    /// A warning, also kept in [`ExtractReport::warnings`].
    Warning(&'a ExtractWarning),
}

/// What an extraction did.
#[derive(Clone, Debug, Default)]
pub struct ExtractReport {
    /// Regular files written (whole, or with the bytes the image holds when it ends first).
    pub files: u64,
    /// Further names of hard-linked files, made as links to the first.
    pub hard_links: u64,
    /// Symbolic links made.
    pub symlinks: u64,
    /// Directories extracted (not counting those made only to reach a path asked for).
    pub directories: u64,
    /// FIFOs and device nodes made.
    pub special_files: u64,
    /// Entries left as they were because something was there already ([`ExtractOptions::keep_old`]).
    pub kept: u64,
    /// Bytes written into regular files.
    pub bytes: u64,
    /// Every warning, in the order given.
    pub warnings: Vec<ExtractWarning>,
}

impl ExtractReport {
    /// Whether anything was skipped or extracted only in part (`odix extract` exits with status 2 then).
    pub fn partial(&self) -> bool {
        !self.warnings.is_empty()
    }
}

/// Counts of what was written, by any thread.
#[derive(Default)]
struct Counts {
    files: AtomicU64,
    hard_links: AtomicU64,
    symlinks: AtomicU64,
    directories: AtomicU64,
    special_files: AtomicU64,
    kept: AtomicU64,
    bytes: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// A directory whose owner, mode and times are set at the end.
struct PendingDir {
    rel: OsString,
    owner: Owner,
    mode: Option<u32>,
    mtime: Option<DateTime<Utc>>,
    atime: Option<DateTime<Utc>>,
}

/// The owner and group to give an entry (each when recorded and asked for).
#[derive(Clone, Copy, Default)]
struct Owner {
    uid: Option<u32>,
    gid: Option<u32>,
}

/// How writing one file failed: on the image's side (that file is skipped with a warning) or on the output's
/// (the extraction stops: nothing later could be trusted to be written either).
enum Failure {
    Source(anyhow::Error),
    Output(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Source(e)
    }
}

/// Errors of the output file system that stop the extraction wherever they come from.
fn output_fatal(e: Errno) -> bool {
    matches!(e, Errno::NOSPC | Errno::DQUOT | Errno::IO | Errno::ROFS | Errno::FBIG)
}

/// A creation error: fatal when the output file system failed, else about this entry only.
fn creation(e: Errno, what: String) -> Failure {
    let err = anyhow::Error::from(io::Error::from(e)).context(what);
    if output_fatal(e) {
        Failure::Output(err)
    } else {
        Failure::Source(err)
    }
}

/// The temporary files that exist right now, so that an interrupt or a fatal error can remove them.
#[derive(Default)]
struct Temps {
    /// Set once they were removed for good: no new one may be made.
    closed: bool,
    live: HashMap<u64, (Arc<OwnedFd>, OsString)>,
}

/// What the walking thread and the writer threads share.
struct Shared {
    root_path: PathBuf,
    keep_old: bool,
    same_owner: bool,
    /// The image file itself, when the views' plain ranges are byte ranges of it.
    image: Option<File>,
    /// Whether `copy_file_range` still works between the image and the target (cleared at the first refusal).
    kernel_copy: AtomicBool,
    /// Every warning given so far, in order; the walking thread passes on those not passed on yet.
    warnings: Mutex<Vec<ExtractWarning>>,
    counts: Counts,
    /// The temporary files, one set per writing thread (the walking thread's first), so that writers do not
    /// wait for one another; an interrupt takes every lock.
    temps: Box<[Mutex<Temps>]>,
    /// This process's id, for temporary names.
    pid: u32,
    next_temp: AtomicU64,
    /// The first error writing the output: the extraction stops.
    fatal: Mutex<Option<String>>,
    stop: AtomicBool,
    cancel: Cancel,
}

/// Attributes a regular file gets before it is renamed into place.
#[derive(Clone)]
struct FileAttrs {
    mode: FileMode,
    owner: Owner,
    times: Option<Timestamps>,
}

/// What became of a regular file.
enum Written {
    /// Written whole.
    Whole,
    /// Written with the bytes the image holds; this many lie past its end.
    PastEnd(u64),
    /// `--keep-old-files` kept what was there.
    Kept,
}

impl Shared {
    fn warn(&self, msg: String) {
        // After a cancel the cleanups remove files under the writers: what follows is no news.
        if self.cancel.is_cancelled() {
            return;
        }
        self.note(ExtractWarning::Entry(Warning(msg)));
    }

    /// Records a warning.
    fn note(&self, w: ExtractWarning) {
        let mut list = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
        list.push(w);
    }

    /// The path shown in messages for `rel` (a path below the root).
    fn shown(&self, rel: &OsStr) -> String {
        display_name(self.root_path.join(rel).as_os_str())
    }

    /// Records the first error writing the output and stops the extraction.
    fn set_fatal(&self, msg: String) {
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(msg);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    fn fatal(&self) -> Option<String> {
        if !self.stop.load(Ordering::SeqCst) {
            return None;
        }
        self.fatal.lock().ok().and_then(|f| f.clone())
    }

    /// Removes every temporary file, and lets no new one be made.
    fn remove_temps(&self) {
        for set in self.temps.iter() {
            let Ok(mut t) = set.lock() else { continue };
            t.closed = true;
            for (_, (dir, name)) in t.live.drain() {
                let _ = rustix::fs::unlinkat(dir.as_fd(), name.as_os_str(), AtFlags::empty());
            }
        }
    }

    /// The set of temporary files of the thread that writes with `slot`.
    fn temp_set(&self, slot: usize) -> Result<std::sync::MutexGuard<'_, Temps>, Failure> {
        self.temps
            .get(slot)
            .or_else(|| self.temps.first())
            .and_then(|m| m.lock().ok())
            .ok_or_else(|| Failure::Output(anyhow!("extraction stopped")))
    }

    /// Creates the temporary file for `name` in `dir`, registered for removal.
    fn create_temp(
        &self,
        slot: usize,
        dir: &Arc<OwnedFd>,
        name: &OsStr,
        rel: &OsStr,
        mode: Mode,
    ) -> Result<(File, u64, OsString), Failure> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let prefix = name.as_bytes().get(..TEMP_NAME_PREFIX).unwrap_or(name.as_bytes());
        loop {
            let id = self.next_temp.fetch_add(1, Ordering::Relaxed);
            let mut t = b".".to_vec();
            t.extend_from_slice(prefix);
            t.extend_from_slice(format!(".odix-{}-{id}.tmp", self.pid).as_bytes());
            let temp = OsString::from_vec(t);
            // Made and registered under the lock, so that a removal of all of them cannot miss this one.
            let mut temps = self.temp_set(slot)?;
            if temps.closed {
                return Err(Failure::Output(anyhow!("extraction stopped")));
            }
            match rustix::fs::openat(dir.as_fd(), temp.as_os_str(), flags, mode) {
                Ok(fd) => {
                    temps.live.insert(id, (Arc::clone(dir), temp.clone()));
                    return Ok((File::from(fd), id, temp));
                }
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(creation(e, format!("cannot create {}", self.shown(rel)))),
            }
        }
    }

    /// Removes a temporary file (after a failure) and forgets it.
    fn drop_temp(&self, slot: usize, dir: BorrowedFd<'_>, id: u64, temp: &OsStr) {
        if let Ok(mut t) = self.temp_set(slot) {
            if t.live.remove(&id).is_some() {
                let _ = rustix::fs::unlinkat(dir, temp, AtFlags::empty());
            }
        }
    }

    /// Writes the regular file `name` in `dir`: under a temporary name, filled by `fill` (which returns how many
    /// bytes lie past the end of the image), given its owner, mode and times, then renamed onto `name`.
    fn write_file(
        &self,
        slot: usize,
        dir: &Arc<OwnedFd>,
        name: &OsStr,
        rel: &OsStr,
        attrs: &FileAttrs,
        fill: &mut dyn FnMut(&mut File) -> Result<u64, Failure>,
    ) -> Result<Written, Failure> {
        // With --keep-old-files a file already there is not written at all; otherwise whatever is there is
        // replaced by the rename, which never follows a symlink (a folder in the way is removed if empty).
        if self.keep_old {
            match rustix::fs::statat(dir.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(_) => return Ok(Written::Kept),
                Err(Errno::NOENT) => {}
                Err(e) => return Err(creation(e, format!("cannot inspect {}", self.shown(rel)))),
            }
        }
        let create_mode = Mode::from_raw_mode(if attrs.mode.at_creation { attrs.mode.bits } else { 0o600 });
        let (mut out, id, temp) = self.create_temp(slot, dir, name, rel, create_mode)?;
        let result = fill(&mut out).and_then(|missing| {
            self.settle(&out, rel, attrs)?;
            Ok(missing)
        });
        let missing = match result {
            Ok(m) => m,
            Err(e) => {
                drop(out);
                self.drop_temp(slot, dir.as_fd(), id, &temp);
                return Err(e);
            }
        };
        drop(out);
        let rename = || {
            if self.keep_old {
                rustix::fs::renameat_with(dir.as_fd(), temp.as_os_str(), dir.as_fd(), name, RenameFlags::NOREPLACE)
            } else {
                rustix::fs::renameat(dir.as_fd(), temp.as_os_str(), dir.as_fd(), name)
            }
        };
        let renamed = match rename() {
            // A folder stands under the name: removed when empty, else the file is not written.
            Err(Errno::ISDIR | Errno::NOTEMPTY | Errno::EXIST) if !self.keep_old => {
                match rustix::fs::unlinkat(dir.as_fd(), name, AtFlags::REMOVEDIR) {
                    Ok(()) => rename(),
                    Err(e) => {
                        self.drop_temp(slot, dir.as_fd(), id, &temp);
                        let what = format!("{}: a non-empty directory is in the way", self.shown(rel));
                        return Err(creation(e, what));
                    }
                }
            }
            r => r,
        };
        match renamed {
            Ok(()) => {
                if let Ok(mut t) = self.temp_set(slot) {
                    t.live.remove(&id);
                }
                Ok(if missing > 0 { Written::PastEnd(missing) } else { Written::Whole })
            }
            Err(Errno::EXIST) if self.keep_old => {
                self.drop_temp(slot, dir.as_fd(), id, &temp);
                Ok(Written::Kept)
            }
            Err(e) => {
                self.drop_temp(slot, dir.as_fd(), id, &temp);
                Err(creation(e, format!("cannot create {}", self.shown(rel))))
            }
        }
    }

    /// Gives a written file its owner, then the mode (a change of owner clears set-id bits), then its times.
    fn settle(&self, out: &File, rel: &OsStr, attrs: &FileAttrs) -> Result<(), Failure> {
        let bits = self.chown(rel, attrs.owner, attrs.mode.bits, |uid, gid| rustix::fs::fchown(out, uid, gid));
        if !attrs.mode.at_creation || bits != attrs.mode.bits {
            rustix::fs::fchmod(out, Mode::from_raw_mode(bits))
                .map_err(|e| creation(e, format!("cannot set the mode of {}", self.shown(rel))))?;
        }
        if let Some(ts) = &attrs.times {
            let _ = rustix::fs::futimens(out, ts);
        }
        Ok(())
    }

    /// Gives an entry its recorded owner and group through `chown` when asked to, and returns the permission bits
    /// it may keep: a set-user-ID bit only when the recorded owner was given, a set-group-ID bit only when the
    /// recorded group was.
    fn chown(
        &self,
        rel: &OsStr,
        owner: Owner,
        bits: u32,
        chown: impl FnOnce(Option<rustix::fs::Uid>, Option<rustix::fs::Gid>) -> rustix::io::Result<()>,
    ) -> u32 {
        let (mut uid_ok, mut gid_ok) = (false, false);
        if self.same_owner && (owner.uid.is_some() || owner.gid.is_some()) {
            let uid = owner.uid.map(rustix::fs::Uid::from_raw);
            let gid = owner.gid.map(rustix::fs::Gid::from_raw);
            match chown(uid, gid) {
                Ok(()) => (uid_ok, gid_ok) = (owner.uid.is_some(), owner.gid.is_some()),
                Err(e) => self.warn(format!("{}: cannot set owner: {e}", self.shown(rel))),
            }
        }
        let mut keep = bits;
        if !uid_ok {
            keep &= !0o4000;
        }
        if !gid_ok {
            keep &= !0o2000;
        }
        keep
    }

    /// Copies `len` bytes of the image file from byte `offset` to the end of `out`; returns how many there were
    /// (fewer at the end of the image). The kernel copies them when it can, else they go through `buf`.
    fn copy_range(&self, offset: u64, len: u64, out: &mut File, buf: &mut Vec<u8>) -> Result<u64, Failure> {
        let Some(image) = &self.image else { return Ok(0) };
        let end = offset.saturating_add(len);
        let mut pos = offset;
        // Cleared for this range when the kernel's copy fails in a way that does not say which side failed.
        let mut kernel = true;
        while pos < end {
            if self.stop.load(Ordering::Relaxed) {
                return Err(Failure::Output(anyhow!("extraction stopped")));
            }
            if kernel && self.kernel_copy.load(Ordering::Relaxed) {
                let want = usize::try_from((end - pos).min(COPY_RANGE_MAX)).unwrap_or(usize::MAX);
                match rustix::fs::copy_file_range(image, Some(&mut pos), &*out, None, want) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(Errno::INTR) => {}
                    // Not between these two files (another file system, a device, an old kernel): read and write.
                    Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::BADF | Errno::PERM) => {
                        self.kernel_copy.store(false, Ordering::Relaxed)
                    }
                    Err(e @ (Errno::NOSPC | Errno::DQUOT | Errno::FBIG | Errno::ROFS)) => {
                        return Err(Failure::Output(io::Error::from(e).into()))
                    }
                    // Either side: reading and writing apart tells which.
                    Err(_) => kernel = false,
                }
                continue;
            }
            if buf.is_empty() {
                *buf = vec![0; COPY_BUFFER];
            }
            let want = usize::try_from(end - pos).unwrap_or(usize::MAX).min(buf.len());
            let chunk = buf.get_mut(..want).unwrap_or_default();
            let k = match image.read_at(chunk, pos) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Source(anyhow::Error::from(e).context("reading the image"))),
            };
            out.write_all(chunk.get(..k).unwrap_or_default()).map_err(|e| Failure::Output(e.into()))?;
            pos += k as u64;
        }
        Ok(pos - offset)
    }

    /// Writes a file whose bytes are plain runs of the image. The runs the image file does not hold whole (it
    /// ends first) are left out and counted as missing.
    fn write_job(&self, slot: usize, job: &FileJob, buf: &mut Vec<u8>) -> Result<Written, Failure> {
        self.write_file(slot, &job.dir, &job.name, &job.rel, &job.attrs, &mut |out| {
            let mut n = 0u64;
            for &(offset, len) in &job.ranges {
                let k = self.copy_range(offset, len, out, buf)?;
                n = n.saturating_add(k);
                if k < len {
                    break;
                }
            }
            Ok(job.size.saturating_sub(n))
        })
    }

    /// Reports what became of a file of `size` bytes; false when the extraction must stop.
    fn report(&self, rel: &OsStr, size: u64, r: Result<Written, Failure>) -> bool {
        if self.cancel.is_cancelled() {
            return false;
        }
        match r {
            Ok(Written::Whole) => {
                bump(&self.counts.files, 1);
                bump(&self.counts.bytes, size);
                true
            }
            Ok(Written::Kept) => {
                bump(&self.counts.kept, 1);
                true
            }
            Ok(Written::PastEnd(missing)) => {
                bump(&self.counts.files, 1);
                bump(&self.counts.bytes, size.saturating_sub(missing));
                self.warn(format!("{}: {}; kept the bytes that are there", display_name(rel), PastEnd { missing }));
                true
            }
            Err(Failure::Source(e)) => {
                self.warn(format!("{}: {e:#}", display_name(rel)));
                true
            }
            Err(Failure::Output(e)) => {
                // Only the first is told: the others follow from it.
                self.set_fatal(format!(
                    "{}: {e:#}; extraction stopped: this file and those not yet written are missing",
                    self.shown(rel)
                ));
                false
            }
        }
    }
}

/// The permission bits a file gets, and whether they are given at creation (else set once the data is written).
#[derive(Clone, Copy)]
struct FileMode {
    bits: u32,
    at_creation: bool,
}

/// A regular file for a writer thread: where it goes, its attributes, and the image's byte ranges it holds.
struct FileJob {
    dir: Arc<OwnedFd>,
    name: OsString,
    rel: OsString,
    attrs: FileAttrs,
    ranges: Vec<(u64, u64)>,
    size: u64,
}

/// The writer threads and the batch of files being gathered for them.
struct Pool {
    tx: Option<mpsc::SyncSender<Vec<FileJob>>>,
    workers: Vec<JoinHandle<()>>,
    batch: Vec<FileJob>,
    batch_bytes: u64,
}

impl Pool {
    fn new(shared: &Arc<Shared>, jobs: usize) -> Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Vec<FileJob>>(jobs.saturating_mul(2));
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::with_capacity(jobs);
        for i in 0..jobs {
            let (shared, rx) = (Arc::clone(shared), Arc::clone(&rx));
            let w = std::thread::Builder::new()
                .name(format!("odix-writer-{i}"))
                .spawn(move || {
                    let mut buf = Vec::new();
                    loop {
                        // The lock is held only to take the next batch.
                        let next = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        let Ok(batch) = next else { return };
                        for job in batch {
                            // After a fatal error the remaining jobs are only drained.
                            if shared.stop.load(Ordering::Relaxed) {
                                continue;
                            }
                            let r = shared.write_job(i + 1, &job, &mut buf);
                            shared.report(&job.rel, job.size, r);
                        }
                    }
                })
                .context("starting a writer thread")?;
            workers.push(w);
        }
        Ok(Pool { tx: Some(tx), workers, batch: Vec::new(), batch_bytes: 0 })
    }

    fn push(&mut self, job: FileJob) {
        self.batch_bytes = self.batch_bytes.saturating_add(job.size);
        self.batch.push(job);
        if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.batch_bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        if let (Some(tx), false) = (&self.tx, batch.is_empty()) {
            // The writers only stop once the sender is gone, so this cannot fail while they run.
            let _ = tx.send(batch);
        }
    }

    /// Hands over the last batch and waits until every file is written; returns how many writer threads ended
    /// abnormally (their remaining files were not written).
    fn join(&mut self) -> usize {
        self.flush();
        self.tx = None;
        self.workers.drain(..).map(JoinHandle::join).filter(Result::is_err).count()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// Extracts entries in walk order (parents before children); files may be written by writer threads.
struct Extractor {
    root: Arc<OwnedFd>,
    opts: ExtractOptions,
    shared: Arc<Shared>,
    /// Whether the process may create device nodes and give files away (root).
    privileged: bool,
    /// The process umask, to know when a mode can be given at creation.
    umask: u32,
    /// The folders from the root down to the one last written into: name and descriptor (closed for those more
    /// than [`MAX_OPEN`] levels up, once no writer job holds them).
    open: Vec<(OsString, Option<Arc<OwnedFd>>)>,
    /// Paths below the root (components joined by `/`) written in this run, and whether each is a folder.
    written: HashMap<OsString, bool>,
    /// The first path written of each hard-linked file, as its components.
    links: HashMap<u64, Vec<OsString>>,
    dirs: Vec<PendingDir>,
    refused_dirs: Vec<Vec<OsString>>,
    /// The copy buffer, reused for every file read through its view.
    buf: Vec<u8>,
    pool: Option<Pool>,
    /// How many of the shared warnings were passed on.
    delivered: usize,
    /// The entry last written, not passed on yet.
    last_written: Option<OsString>,
}

/// Why a name from an image cannot be used as a path component, if it cannot.
pub fn unsafe_name(name: &OsStr) -> Option<&'static str> {
    let b = name.as_bytes();
    if b.is_empty() {
        Some("empty name")
    } else if b == b"." || b == b".." {
        Some("name is . or ..")
    } else if b.contains(&b'/') {
        Some("name contains /")
    } else if b.contains(&b'\\') {
        Some("name contains \\")
    } else if b.contains(&0) {
        Some("name contains NUL")
    } else {
        None
    }
}

/// A time as the kernel takes it (a leap second's extra nanoseconds carried into the seconds).
fn timespec(t: &DateTime<Utc>) -> Timespec {
    let nanos = i64::from(t.timestamp_subsec_nanos());
    Timespec { tv_sec: t.timestamp().saturating_add(nanos / 1_000_000_000), tv_nsec: nanos % 1_000_000_000 }
}

/// Access and modification times for a node with a modification time (access time defaults to it).
fn timestamps(mtime: &DateTime<Utc>, atime: Option<&DateTime<Utc>>) -> Timestamps {
    Timestamps { last_access: timespec(atime.unwrap_or(mtime)), last_modification: timespec(mtime) }
}

fn is_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> rustix::io::Result<bool> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(FileType::from_raw_mode(st.st_mode) == FileType::Directory)
}

/// Opens the folder `name` in `dir`, never through a symlink.
fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Opens the folder at `comps` below `root`, one component at a time.
fn open_components(root: BorrowedFd<'_>, comps: &[&OsStr]) -> rustix::io::Result<Option<OwnedFd>> {
    let mut fd: Option<OwnedFd> = None;
    for c in comps {
        let next = open_dir_at(fd.as_ref().map_or(root, |f| f.as_fd()), c)?;
        fd = Some(next);
    }
    Ok(fd)
}

/// The components of a path below the root.
fn split(rel: &OsStr) -> Vec<&OsStr> {
    rel.as_bytes().split(|&b| b == b'/').filter(|c| !c.is_empty()).map(OsStr::from_bytes).collect()
}

/// Components joined by `/`.
fn joined(comps: &[&OsStr]) -> OsString {
    let mut p = OsString::new();
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            p.push("/");
        }
        p.push(c);
    }
    p
}

/// The process umask (read by setting it and putting it back, before any other thread exists).
fn current_umask() -> u32 {
    let old = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(old);
    old.bits()
}

impl Extractor {
    /// Prepares extraction into `root`, creating it if needed. `image` is the image file whose byte ranges the
    /// view's [`Tree::plain_ranges`] name, when the view reads that file directly.
    fn new(root: &Path, opts: ExtractOptions, image: Option<File>) -> Result<Self> {
        fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open {}", root.display()))?;
        let with_pool = opts.jobs > 1 && image.is_some();
        let shared = Arc::new(Shared {
            root_path: root.to_path_buf(),
            keep_old: opts.keep_old,
            same_owner: opts.same_owner,
            cancel: opts.cancel.clone(),
            image,
            kernel_copy: AtomicBool::new(true),
            warnings: Mutex::new(Vec::new()),
            counts: Counts::default(),
            temps: (0..=opts.jobs.max(1)).map(|_| Mutex::new(Temps::default())).collect(),
            pid: std::process::id(),
            next_temp: AtomicU64::new(0),
            fatal: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        // Read before any writer thread exists: reading the umask sets it for a moment.
        let umask = current_umask();
        let pool = if with_pool { Some(Pool::new(&shared, opts.jobs)?) } else { None };
        Ok(Extractor {
            root: Arc::new(fd),
            opts,
            shared,
            privileged: rustix::process::geteuid().is_root(),
            umask,
            open: Vec::new(),
            written: HashMap::new(),
            links: HashMap::new(),
            dirs: Vec::new(),
            refused_dirs: Vec::new(),
            buf: Vec::new(),
            pool,
            delivered: 0,
            last_written: None,
        })
    }

    /// A function that removes the temporary files that exist when it is called, and keeps new ones from being
    /// made (for an interrupt handler).
    fn temp_remover(&self) -> impl FnOnce() + Send + 'static {
        let shared = Arc::clone(&self.shared);
        move || shared.remove_temps()
    }

    fn warn(&self, msg: String) {
        self.shared.warn(msg);
    }

    /// The path shown in messages for `rel` (a path below the root).
    fn shown(&self, rel: &OsStr) -> String {
        self.shared.shown(rel)
    }

    /// The folder written into, as a handle a writer job can keep.
    fn dir_handle(&self) -> Arc<OwnedFd> {
        match self.open.last() {
            Some((_, Some(fd))) => Arc::clone(fd),
            _ => Arc::clone(&self.root),
        }
    }

    /// The folder written into: the deepest one open, or the root.
    fn dir(&self) -> BorrowedFd<'_> {
        match self.open.last() {
            Some((_, Some(fd))) => fd.as_fd(),
            _ => self.root.as_fd(),
        }
    }

    /// The owner to give an entry.
    fn owner(&self, node: &Node) -> Owner {
        if self.opts.same_owner {
            Owner { uid: node.uid, gid: node.gid }
        } else {
            Owner::default()
        }
    }

    /// Makes sure `name` in the current folder (`rel` below the root) is a real directory: creates it, or replaces
    /// a symlink or file standing there. Never follows a symlink.
    fn ensure_dir(&self, name: &OsStr, rel: &OsStr) -> Result<(), Failure> {
        // Decided before touching the folder: a file of this run may still be on its way to a writer thread.
        if self.written.get(rel) == Some(&false) {
            return Err(Failure::Source(anyhow!("{}: already extracted as a non-directory", self.shown(rel))));
        }
        let dir = self.dir();
        let mode = Mode::from_raw_mode(0o777);
        let cannot = |e: Errno| creation(e, format!("cannot create {}", self.shown(rel)));
        match rustix::fs::mkdirat(dir, name, mode) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => {
                if is_dir_at(dir, name).map_err(|e| creation(e, format!("cannot inspect {}", self.shown(rel))))? {
                    return Ok(());
                }
                rustix::fs::unlinkat(dir, name, AtFlags::empty())
                    .map_err(|e| creation(e, format!("cannot replace {}", self.shown(rel))))?;
                rustix::fs::mkdirat(dir, name, mode).map_err(cannot)
            }
            Err(e) => Err(cannot(e)),
        }
    }

    /// Opens the folders `parents` (below the root), creating those not written yet, and makes the last one the
    /// current folder. Folders already open on the way are kept; one closed is opened again from the nearest
    /// open folder above it, one component at a time.
    fn enter(&mut self, parents: &[&OsStr]) -> Result<(), Failure> {
        let same = self.open.iter().zip(parents).take_while(|((open, _), want)| open == *want).count();
        self.open.truncate(same);
        if let Some((_, None)) = self.open.last() {
            let base = self.open.iter().rposition(|(_, fd)| fd.is_some());
            let from = base.map_or(0, |b| b + 1);
            let start = match base.and_then(|b| self.open.get(b)).and_then(|(_, fd)| fd.clone()) {
                Some(fd) => fd,
                None => Arc::clone(&self.root),
            };
            let rel = joined(parents.get(..same).unwrap_or_default());
            let mut cur = start;
            for i in from..same {
                let comp = parents.get(i).copied().unwrap_or_default();
                let fd = open_dir_at(cur.as_fd(), comp)
                    .map_err(|e| creation(e, format!("cannot open {}", self.shown(&rel))))?;
                cur = Arc::new(fd);
                if let Some(slot) = self.open.get_mut(i) {
                    // Only the innermost stays open; the rest are opened again when needed.
                    if i + 1 == same {
                        slot.1 = Some(Arc::clone(&cur));
                    }
                }
            }
        }
        for (i, comp) in parents.iter().enumerate().skip(same) {
            let rel = joined(parents.get(..=i).unwrap_or_default());
            if !self.written.contains_key(&rel) {
                self.ensure_dir(comp, &rel)?;
                self.written.insert(rel.clone(), true);
            }
            let fd =
                open_dir_at(self.dir(), comp).map_err(|e| creation(e, format!("cannot open {}", self.shown(&rel))))?;
            self.open.push((comp.to_os_string(), Some(Arc::new(fd))));
            if let Some(far) = self.open.len().checked_sub(MAX_OPEN + 1).and_then(|i| self.open.get_mut(i)) {
                far.1 = None;
            }
        }
        Ok(())
    }

    /// Creates `name` in the current folder with `make`, which fails with `EEXIST` when something is there
    /// already. That something is kept (`--keep-old-files`: `None` is returned) or removed, not followed, and
    /// `make` tried again.
    fn create<T>(
        &self,
        name: &OsStr,
        rel: &OsStr,
        make: impl Fn(BorrowedFd<'_>) -> rustix::io::Result<T>,
    ) -> Result<Option<T>, Failure> {
        let dir = self.dir();
        let cannot = |e: Errno| creation(e, format!("cannot create {}", self.shown(rel)));
        match make(dir) {
            Ok(v) => return Ok(Some(v)),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(cannot(e)),
        }
        if self.opts.keep_old {
            return Ok(None);
        }
        if is_dir_at(dir, name).map_err(|e| creation(e, format!("cannot inspect {}", self.shown(rel))))? {
            rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
                .map_err(|e| creation(e, format!("{}: a non-empty directory is in the way", self.shown(rel))))?;
        } else {
            rustix::fs::unlinkat(dir, name, AtFlags::empty())
                .map_err(|e| creation(e, format!("cannot replace {}", self.shown(rel))))?;
        }
        make(dir).map(Some).map_err(cannot)
    }

    /// The error that stops the extraction, once one happened (in any thread).
    fn check_fatal(&self) -> Result<()> {
        match self.shared.fatal() {
            Some(msg) => {
                self.shared.remove_temps();
                Err(anyhow!(msg))
            }
            None => Ok(()),
        }
    }

    /// Reports a failure of one entry: a warning, or for an output error the end of the extraction.
    fn failed(&self, rel: &OsStr, f: Failure) -> Result<()> {
        self.shared.report(rel, 0, Err(f));
        self.check_fatal()
    }

    /// Extracts one node whose image path is `rel` (its components, the last being `node.name`). Returns
    /// whether the walk should descend into it. An error writing the output ends the extraction with an error
    /// (the temporary files removed).
    fn entry(&mut self, tree: &mut dyn Tree, node: &Node, rel: &[&OsStr]) -> Result<bool> {
        self.check_fatal()?;
        if let Some(why) = unsafe_name(&node.name) {
            self.warn(format!("refusing to extract {}: {why}", display_name(&node.name)));
            return Ok(false);
        }
        if self.refused_dirs.iter().any(|d| rel.len() > d.len() && rel.iter().zip(d).all(|(a, b)| a == b)) {
            return Ok(false);
        }
        for comp in rel {
            if let Some(why) = unsafe_name(comp) {
                self.warn(format!("refusing to extract {}: {why}", display_name(&joined(rel))));
                return Ok(false);
            }
        }
        let Some((name, parents)) = rel.split_last() else { return Ok(true) };
        let key = joined(rel);
        // Parents are visited before their children, so a parent is normally written and open already; only
        // the folders above a requested sub-path are made here.
        if let Err(f) = self.enter(parents) {
            self.failed(&key, f)?;
            return Ok(false);
        }
        if node.kind != Kind::Dir && self.written.contains_key(&key) {
            self.warn(format!("{}: listed more than once, written once", display_name(&key)));
            return Ok(false);
        }
        let descend = match node.kind {
            Kind::Dir => {
                if let Err(f) = self.ensure_dir(name, &key) {
                    self.failed(&key, f)?;
                    self.refused_dirs.push(rel.iter().map(|s| s.to_os_string()).collect());
                    return Ok(false);
                }
                if self.written.insert(key.clone(), true).is_none() {
                    bump(&self.shared.counts.directories, 1);
                    self.dirs.push(PendingDir {
                        rel: key.clone(),
                        owner: self.owner(node),
                        mode: node.mode,
                        mtime: node.mtime,
                        atime: node.atime,
                    });
                }
                true
            }
            Kind::File => {
                if let Err(f) = self.file(tree, node, name, rel, &key) {
                    self.failed(&key, f)?;
                }
                self.written.insert(key.clone(), false);
                false
            }
            Kind::Symlink => {
                if let Err(f) = self.symlink(node, name, &key) {
                    self.failed(&key, f)?;
                }
                self.written.insert(key.clone(), false);
                false
            }
            Kind::Other => {
                match self.special(node, name, &key) {
                    Ok(true) => {}
                    Ok(false) => return Ok(false),
                    Err(f) => self.failed(&key, f)?,
                }
                self.written.insert(key.clone(), false);
                false
            }
        };
        self.last_written = Some(key);
        self.check_fatal()?;
        Ok(descend)
    }

    fn symlink(&self, node: &Node, name: &OsStr, key: &OsStr) -> Result<(), Failure> {
        let target = node.target.as_deref().unwrap_or_default();
        if self.create(name, key, |dir| rustix::fs::symlinkat(target, dir, name))?.is_none() {
            bump(&self.shared.counts.kept, 1);
            return Ok(());
        }
        bump(&self.shared.counts.symlinks, 1);
        let dir = self.dir();
        self.shared.chown(key, self.owner(node), 0, |uid, gid| {
            rustix::fs::chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)
        });
        if let Some(m) = &node.mtime {
            let ts = timestamps(m, node.atime.as_ref());
            let _ = rustix::fs::utimensat(dir, name, &ts, AtFlags::SYMLINK_NOFOLLOW);
        }
        Ok(())
    }

    /// Creates a FIFO or device node (as root, unless asked not to); returns whether one was made.
    fn special(&self, node: &Node, name: &OsStr, key: &OsStr) -> Result<bool, Failure> {
        let ty = node.mode.map(|m| m & 0o170000);
        let (file_type, what) = match ty {
            Some(0o010000) => (FileType::Fifo, "FIFO"),
            Some(0o020000) => (FileType::CharacterDevice, "character device"),
            Some(0o060000) => (FileType::BlockDevice, "block device"),
            Some(0o140000) => {
                self.warn(format!("{}: socket not extracted", display_name(key)));
                return Ok(false);
            }
            _ => {
                self.warn(format!("{}: special file of unknown type not extracted", display_name(key)));
                return Ok(false);
            }
        };
        if !self.opts.special_files {
            return Ok(false);
        }
        if !self.privileged {
            self.warn(format!("{}: {what} not extracted (only root can create one)", display_name(key)));
            return Ok(false);
        }
        let dev = match (file_type, node.rdev) {
            (FileType::Fifo, _) => 0,
            (_, Some((major, minor))) => rustix::fs::makedev(major, minor),
            (_, None) => {
                self.warn(format!("{}: {what} without a device number not extracted", display_name(key)));
                return Ok(false);
            }
        };
        let bits = if self.opts.same_permissions { node.mode.map_or(0o644, |m| m & 0o7777) } else { 0o644 };
        if self.create(name, key, |dir| rustix::fs::mknodat(dir, name, file_type, Mode::empty(), dev))?.is_none() {
            bump(&self.shared.counts.kept, 1);
            return Ok(true);
        }
        bump(&self.shared.counts.special_files, 1);
        let dir = self.dir();
        let bits = self.shared.chown(key, self.owner(node), bits, |uid, gid| {
            rustix::fs::chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)
        });
        rustix::fs::chmodat(dir, name, Mode::from_raw_mode(bits), AtFlags::empty())
            .map_err(|e| creation(e, format!("cannot set the mode of {}", self.shown(key))))?;
        if let Some(m) = &node.mtime {
            let _ = rustix::fs::utimensat(dir, name, &timestamps(m, node.atime.as_ref()), AtFlags::SYMLINK_NOFOLLOW);
        }
        Ok(true)
    }

    fn file(
        &mut self,
        tree: &mut dyn Tree,
        node: &Node,
        name: &OsStr,
        rel: &[&OsStr],
        key: &OsStr,
    ) -> Result<(), Failure> {
        // A second name of a hard link already written becomes a link to it.
        let linked = match (node.link_id, node.nlink) {
            (Some(id), Some(n)) if n > 1 => Some(id),
            _ => None,
        };
        if let Some(first) = linked.and_then(|id| self.links.get(&id)) {
            let comps: Vec<&OsStr> = first.iter().map(OsString::as_os_str).collect();
            let Some((first_name, first_parents)) = comps.split_last() else { return Ok(()) };
            let shown_first = self.shown(&joined(&comps));
            let from = open_components(self.root.as_fd(), first_parents)
                .map_err(|e| creation(e, format!("cannot open the folder of {shown_first}")))?;
            let from_fd = from.as_ref().map_or(self.root.as_fd(), |f| f.as_fd());
            let made = self
                .create(name, key, |dir| rustix::fs::linkat(from_fd, *first_name, dir, name, AtFlags::empty()))
                .map_err(|f| match f {
                    Failure::Source(e) => Failure::Source(e.context(format!("cannot link to {shown_first}"))),
                    o => o,
                })?;
            bump(if made.is_some() { &self.shared.counts.hard_links } else { &self.shared.counts.kept }, 1);
            return Ok(());
        }
        let bits = if self.opts.same_permissions { node.mode.map(|m| m & 0o7777).unwrap_or(0o644) } else { 0o644 };
        // Given at creation when the umask keeps it whole; otherwise set once the data is written.
        let mode = FileMode { bits, at_creation: bits & 0o7000 == 0 && bits & self.umask == 0 };
        let attrs = FileAttrs {
            mode,
            owner: self.owner(node),
            times: node.mtime.as_ref().map(|m| timestamps(m, node.atime.as_ref())),
        };
        let ranges = if self.shared.image.is_some() { tree.plain_ranges(node) } else { None };
        let dir = self.dir_handle();
        let written = match ranges {
            Some(ranges) => {
                let job =
                    FileJob { dir, name: name.to_os_string(), rel: key.to_os_string(), attrs, ranges, size: node.size };
                match &mut self.pool {
                    // Plain runs of the image go to the writers, unless a later name must link to this one.
                    Some(pool) if linked.is_none() => {
                        pool.push(job);
                        return Ok(());
                    }
                    _ => self.shared.write_job(0, &job, &mut self.buf),
                }
            }
            None => {
                if self.buf.is_empty() {
                    self.buf = vec![0; COPY_BUFFER];
                }
                let buf = &mut self.buf;
                let size = node.size;
                self.shared
                    .write_file(0, &dir, name, key, &attrs, &mut |out| copy_through_view(tree, node, size, out, buf))
            }
        };
        let whole = matches!(written, Ok(Written::Whole | Written::PastEnd(_)));
        if !self.shared.report(key, node.size, written) {
            return Ok(());
        }
        if let (Some(id), true) = (linked, whole) {
            self.links.insert(id, rel.iter().map(|c| c.to_os_string()).collect());
        }
        Ok(())
    }

    /// Passes on the warnings given since the last call, then the entry last written.
    fn deliver(&mut self, events: &mut dyn FnMut(Event<'_>)) {
        let new: Vec<ExtractWarning> = {
            let list = self.shared.warnings.lock().unwrap_or_else(|p| p.into_inner());
            list.get(self.delivered..).unwrap_or_default().to_vec()
        };
        self.delivered += new.len();
        for w in &new {
            events(Event::Warning(w));
        }
        if let Some(path) = self.last_written.take() {
            events(Event::Written(&path));
        }
    }

    /// What was done so far.
    fn report(&self) -> ExtractReport {
        let c = &self.shared.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ExtractReport {
            files: get(&c.files),
            hard_links: get(&c.hard_links),
            symlinks: get(&c.symlinks),
            directories: get(&c.directories),
            special_files: get(&c.special_files),
            kept: get(&c.kept),
            bytes: get(&c.bytes),
            warnings: self.shared.warnings.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// Waits for the writer threads, then applies directories' owners, modes and times, deepest first (so
    /// writing into them is over). An error writing the output that stopped the extraction is returned as the
    /// error.
    fn finish(&mut self) -> Result<()> {
        if let Some(mut pool) = self.pool.take() {
            let failed = pool.join();
            if failed > 0 {
                self.warn(format!("{failed} writer thread(s) stopped early; some files may be missing"));
            }
        }
        self.check_fatal()?;
        self.open.clear();
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(split(&d.rel).len()));
        for d in dirs {
            let comps = split(&d.rel);
            let fd = match open_components(self.root.as_fd(), &comps) {
                Ok(Some(fd)) => fd,
                Ok(None) => continue,
                Err(e) => {
                    self.warn(format!("{}: cannot set mode and times: {e}", self.shown(&d.rel)));
                    continue;
                }
            };
            let m = if self.opts.same_permissions { d.mode.map(|m| m & 0o7777).unwrap_or(0o755) } else { 0o755 };
            let m = self.shared.chown(&d.rel, d.owner, m, |uid, gid| rustix::fs::fchown(&fd, uid, gid));
            if let Err(e) = rustix::fs::fchmod(&fd, Mode::from_raw_mode(m)) {
                self.warn(format!("{}: cannot set mode: {e}", self.shown(&d.rel)));
            }
            if let Some(t) = d.mtime {
                if let Err(e) = rustix::fs::futimens(&fd, &timestamps(&t, d.atime.as_ref())) {
                    self.warn(format!("{}: cannot set times: {e}", self.shown(&d.rel)));
                }
            }
        }
        Ok(())
    }
}

/// What one path asked for selects: a path, or the entries whose whole path matches a pattern (searched below
/// the folder named by the pattern's components before its first wildcard). A pattern that names an entry as it
/// is (`/a[1].txt`) selects that entry.
#[derive(Clone, Debug)]
enum Selection {
    Path(OsString),
    Pattern { literal: OsString, text: String, base: OsString, matcher: globset::GlobMatcher },
}

/// Whether a path asked for is a wildcard pattern rather than a path.
fn is_pattern(p: &OsStr) -> bool {
    p.as_bytes().iter().any(|b| matches!(b, b'*' | b'?' | b'[' | b'{'))
}

fn selection(arg: &OsStr) -> Result<Selection> {
    if !is_pattern(arg) {
        return Ok(Selection::Path(arg.to_os_string()));
    }
    let comps = components_os(arg);
    let literal = comps.iter().take_while(|c| !is_pattern(c)).count();
    let base = normalized(comps.get(..literal.min(comps.len().saturating_sub(1))).unwrap_or_default());
    let full = normalized(&comps);
    let text = full.to_str().with_context(|| format!("{}: a wildcard pattern must be UTF-8", display_name(arg)))?;
    let glob = globset::GlobBuilder::new(text)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .with_context(|| format!("{}: not a valid wildcard pattern", display_name(arg)))?;
    Ok(Selection::Pattern {
        literal: arg.to_os_string(),
        text: text.to_string(),
        base,
        matcher: glob.compile_matcher(),
    })
}

/// An extraction: what to extract from a tree, and how.
///
/// Each path asked for is a path in the image or a shell-style wildcard pattern matched against whole paths (`*`,
/// `?` and `[...]` within one name, `**` across folders, `{a,b}`); a pattern selects the entries it matches and
/// everything below the folders it matches. No path means the whole tree. Paths are extracted below the
/// destination as they are in the image (`/boot/x.cfg` becomes `DEST/boot/x.cfg`).
///
/// ```
/// use odix::extract::{Extract, ExtractOptions};
///
/// let ex = Extract::new(["/boot/**/*.cfg", "/README.TXT"], ExtractOptions { jobs: 1, ..Default::default() })?;
/// assert!(Extract::new(["/a/[z-a]"], ExtractOptions::default()).is_err());
/// # let _ = ex;
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Extract {
    /// How to extract.
    pub options: ExtractOptions,
    selections: Vec<Selection>,
}

impl Extract {
    /// An extraction of `paths` (none: everything). Fails when a pattern is not UTF-8 or not a valid pattern.
    pub fn new<P: AsRef<OsStr>>(paths: impl IntoIterator<Item = P>, options: ExtractOptions) -> Result<Extract> {
        let selections = paths.into_iter().map(|p| selection(p.as_ref())).collect::<Result<Vec<_>>>()?;
        Ok(Extract { options, selections })
    }

    /// Extracts what was asked for from `tree` into `dest` (created if missing), walking the tree within `read`'s
    /// limits. `image_file` is the image file itself when the view's [`Tree::plain_ranges`] are byte ranges of
    /// it ([`crate::Image::plain_file`]): such files are then copied by the kernel and by writer
    /// threads. `events` hears of each entry written, each file's size and each warning, on the calling thread,
    /// as they come.
    ///
    /// A path that is not in the image, a pattern that matches nothing, and an entry that cannot be extracted
    /// are warnings: the extraction goes on, and the report lists them. An error writing the destination (a full
    /// disk) stops it with an error. When `options.cancel` is set, it stops with an error whose source is
    /// [`crate::cancel::Cancelled`]; the files being written are removed either way. While it runs, a cleanup
    /// registered with [`crate::cancel::on_cancel`] removes them if the process is stopped.
    pub fn run(
        &self,
        tree: &mut dyn Tree,
        read: &ReadOptions,
        image_file: Option<File>,
        dest: &Path,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<ExtractReport> {
        let cancel = &self.options.cancel;
        let stopped = || anyhow::Error::new(Cancelled).context(format!("extraction into {}", dest.display()));
        if cancel.is_cancelled() {
            return Err(stopped());
        }
        let mut ex = Extractor::new(dest, self.options.clone(), image_file)?;
        let _temps = crate::cancel::on_cancel(
            format!("extraction into {} unfinished (the files being written were removed)", dest.display()),
            ex.temp_remover(),
        );
        let everything = [Selection::Path("/".into())];
        let selections = if self.selections.is_empty() { &everything[..] } else { &self.selections[..] };
        let shared = Arc::clone(&ex.shared);
        for sel in selections {
            let (start_path, pattern) = match sel {
                Selection::Path(p) => (p, None),
                // A name that holds wildcard characters itself is taken as it is.
                Selection::Pattern { literal, .. } if resolve(tree, literal).is_ok() => (literal, None),
                Selection::Pattern { text, base, matcher, .. } => (base, Some((text, matcher))),
            };
            let node = match resolve(tree, start_path) {
                Ok(n) => n,
                Err(e) => {
                    let reason = format!("{e:#}");
                    shared.note(match pattern {
                        Some((text, _)) => {
                            ExtractWarning::NothingMatches { pattern: text.clone(), reason: Some(reason) }
                        }
                        None => ExtractWarning::NotFound { path: start_path.clone(), reason },
                    });
                    ex.deliver(events);
                    continue;
                }
            };
            let comps = components_os(start_path);
            let start_is_root = comps.is_empty();
            let norm = normalized(&comps);
            // With a pattern: the folders matched so far (everything below one is extracted with it).
            let mut matched: Vec<OsString> = Vec::new();
            let mut any = false;
            let walked = walk(
                tree,
                node,
                norm,
                read,
                true,
                &mut |t, node, path, _depth| {
                    if cancel.is_cancelled() {
                        return Err(stopped());
                    }
                    if start_is_root && path == "/" {
                        return Ok(true);
                    }
                    if let Some((_, matcher)) = pattern {
                        while matched
                            .last()
                            .is_some_and(|m| !path.as_bytes().starts_with(&[m.as_bytes(), b"/"].concat()))
                        {
                            matched.pop();
                        }
                        if matched.is_empty() && !matcher.is_match(Path::new(path)) {
                            return Ok(true);
                        }
                        any = true;
                        if node.kind == Kind::Dir {
                            matched.push(path.to_os_string());
                        }
                    }
                    // Every name on the way was checked by the extractor when it was visited (no `/` in any of
                    // them), so splitting the image path gives back exactly those names.
                    let rel: Vec<&OsStr> = components_os(path);
                    if node.kind == Kind::File {
                        events(Event::Bytes(node.size));
                    }
                    let descend = ex.entry(t, node, &rel);
                    ex.deliver(events);
                    descend
                },
                &mut |msg| shared.note(ExtractWarning::Entry(Warning(msg))),
            );
            if let Err(e) = walked {
                // What was met before the error is told before it.
                if !cancel.is_cancelled() {
                    ex.deliver(events);
                }
                return Err(e);
            }
            if let (Some((text, _)), false) = (pattern, any) {
                shared.note(ExtractWarning::NothingMatches { pattern: text.clone(), reason: None });
            }
            ex.deliver(events);
        }
        let finished = ex.finish();
        if cancel.is_cancelled() {
            return Err(stopped());
        }
        ex.deliver(events);
        finished?;
        Ok(ex.report())
    }
}

impl Drop for Extractor {
    fn drop(&mut self) {
        // Whatever ended the extraction early, no temporary file is left behind.
        if let Some(mut pool) = self.pool.take() {
            self.shared.stop.store(true, Ordering::SeqCst);
            pool.join();
        }
        self.shared.remove_temps();
    }
}

/// Writes the file's bytes into `out` through the view's reader (decompressed, translated, zeros for holes);
/// returns how many bytes lie past the end of the image.
fn copy_through_view(
    tree: &mut dyn Tree,
    node: &Node,
    size: u64,
    out: &mut File,
    buf: &mut [u8],
) -> Result<u64, Failure> {
    let mut reader = tree.open(node)?;
    let mut n = 0u64;
    loop {
        let k = match reader.read(buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let e = anyhow::Error::from(e);
                if let Some(past) = PastEnd::find(&e) {
                    return Ok(past.missing);
                }
                return Err(Failure::Source(e));
            }
        };
        out.write_all(buf.get(..k).unwrap_or_default()).map_err(|e| Failure::Output(e.into()))?;
        n += k as u64;
    }
    if n != size {
        return Err(Failure::Source(anyhow!("read {n} bytes of {size}")));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::io::{self, Read};
    use std::os::unix::ffi::OsStrExt;
    use std::sync::Arc;

    use super::{unsafe_name, Event, Extract, ExtractOptions, ExtractWarning, Extractor};
    use crate::cancel::Cancelled;
    use crate::formats::ReadOptions;
    use crate::view::{Kind, Node, PastEnd, Tree, Warning};

    #[test]
    fn refuses_names_that_leave_the_target() {
        for bad in ["", ".", "..", "a/b", "/etc", "..\\x", "a\0b"] {
            assert!(unsafe_name(OsStr::new(bad)).is_some(), "{bad:?} accepted");
        }
        for good in ["a", "..a", "a..", ". x", "日本"] {
            assert!(unsafe_name(OsStr::new(good)).is_none(), "{good:?} refused");
        }
        assert!(unsafe_name(OsStr::from_bytes(b"bad\xff\xfe.txt")).is_none());
    }

    /// A reader that yields `data`, then fails with `error`.
    struct Failing {
        data: io::Cursor<Vec<u8>>,
        error: Option<io::Error>,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let k = self.data.read(buf)?;
            if k == 0 {
                if let Some(e) = self.error.take() {
                    return Err(e);
                }
            }
            Ok(k)
        }
    }

    /// One file of `size` bytes whose reader gives `data` and then the error `make_error` makes; or whose bytes
    /// are the byte ranges `ranges` of the image file.
    struct OneFile {
        data: Vec<u8>,
        make_error: fn() -> io::Error,
        ranges: Option<Vec<(u64, u64)>>,
    }

    fn node(name: &str, kind: Kind, size: u64) -> Node {
        Node {
            name: name.into(),
            kind,
            size,
            mtime: None,
            atime: None,
            mode: Some(0o100644),
            uid: None,
            gid: None,
            nlink: Some(1),
            target: None,
            rdev: None,
            extents: Vec::new(),
            link_id: None,
            handle: Arc::new(()),
        }
    }

    impl Tree for OneFile {
        fn view_name(&self) -> &'static str {
            "test"
        }
        fn root(&mut self) -> anyhow::Result<Node> {
            Ok(node("", Kind::Dir, 0))
        }
        fn read_dir(&mut self, _dir: &Node) -> anyhow::Result<Vec<Node>> {
            Ok(Vec::new())
        }
        fn open<'a>(&'a mut self, _file: &Node) -> anyhow::Result<Box<dyn Read + 'a>> {
            Ok(Box::new(Failing { data: io::Cursor::new(self.data.clone()), error: Some((self.make_error)()) }))
        }
        fn plain_ranges(&mut self, _file: &Node) -> Option<Vec<(u64, u64)>> {
            self.ranges.clone()
        }
        fn take_warnings(&mut self) -> Vec<Warning> {
            Vec::new()
        }
    }

    fn options(jobs: usize) -> ExtractOptions {
        ExtractOptions {
            keep_old: false,
            same_permissions: true,
            same_owner: false,
            special_files: false,
            jobs,
            cancel: crate::cancel::Cancel::new(),
        }
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        v.sort();
        v
    }

    /// A file whose data runs past the end of the image keeps the bytes that are there, under its name, with one
    /// warning; any other read error leaves nothing (no file, no temporary file) and one warning.
    #[test]
    fn a_file_past_the_end_is_kept_and_a_failed_read_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let mut tree =
            OneFile { data: b"what is there".to_vec(), make_error: || PastEnd { missing: 7 }.into_io(), ranges: None };
        let mut ex = Extractor::new(d.path(), options(1), None).unwrap();
        ex.entry(&mut tree, &node("cut", Kind::File, 20), &[OsStr::new("cut")]).unwrap();
        tree.make_error = || io::Error::other("bad sector");
        tree.data = b"half".to_vec();
        ex.entry(&mut tree, &node("bad", Kind::File, 20), &[OsStr::new("bad")]).unwrap();
        ex.finish().unwrap();
        assert_eq!(ex.report().warnings.len(), 2);
        assert_eq!(names(d.path()), ["cut"]);
        assert_eq!(std::fs::read(d.path().join("cut")).unwrap(), b"what is there");
    }

    /// The same through plain byte ranges of the image file, by the walking thread and by writer threads: the
    /// ranges the image file does not hold are missing, the rest is kept.
    #[test]
    fn plain_ranges_past_the_end_of_the_image_file_are_kept() {
        for jobs in [1, 3] {
            let d = tempfile::tempdir().unwrap();
            let image = d.path().join("image");
            std::fs::write(&image, (0..1000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>()).unwrap();
            let out = d.path().join("out");
            let mut tree = OneFile { data: Vec::new(), make_error: || io::Error::other("unused"), ranges: None };
            let mut ex = Extractor::new(&out, options(jobs), Some(std::fs::File::open(&image).unwrap())).unwrap();
            tree.ranges = Some(vec![(900, 100), (0, 10), (990, 20)]);
            ex.entry(&mut tree, &node("f", Kind::File, 130), &[OsStr::new("f")]).unwrap();
            ex.finish().unwrap();
            assert_eq!(ex.report().warnings.len(), 1);
            assert_eq!(names(&out), ["f"]);
            let bytes = std::fs::read(out.join("f")).unwrap();
            let src = std::fs::read(&image).unwrap();
            assert_eq!(bytes, [&src[900..1000], &src[0..10], &src[990..1000]].concat());
        }
    }

    /// A tree in memory: each node with the name of its folder ("" for the root's entries) and its bytes. A file
    /// named `cut` lies partly past the end of the image.
    struct MemTree {
        entries: Vec<(&'static str, Node, Vec<u8>)>,
        /// Whether each file's bytes are the first bytes of the image file (so that writer threads copy them).
        plain: bool,
    }

    impl MemTree {
        fn sample() -> MemTree {
            let file =
                |parent, name: &str, data: &[u8]| (parent, node(name, Kind::File, data.len() as u64), data.to_vec());
            let dir = |parent, name: &str| (parent, node(name, Kind::Dir, 0), Vec::new());
            let mut link = node("l", Kind::Symlink, 0);
            link.target = Some("a".into());
            MemTree {
                entries: vec![
                    dir("", "d"),
                    file("d", "a", b"hello"),
                    ("d", link, Vec::new()),
                    dir("d", "e"),
                    file("", "top", b"abc"),
                    file("", "cut", b"xy"),
                ],
                plain: false,
            }
        }
    }

    impl Tree for MemTree {
        fn view_name(&self) -> &'static str {
            "test"
        }
        fn root(&mut self) -> anyhow::Result<Node> {
            Ok(node("", Kind::Dir, 0))
        }
        fn read_dir(&mut self, dir: &Node) -> anyhow::Result<Vec<Node>> {
            let parent = dir.name.to_str().unwrap_or_default();
            Ok(self.entries.iter().filter(|e| e.0 == parent).map(|e| e.1.clone()).collect())
        }
        fn open<'a>(&'a mut self, file: &Node) -> anyhow::Result<Box<dyn Read + 'a>> {
            let data = self.entries.iter().find(|e| e.1.name == file.name).map(|e| e.2.clone()).unwrap_or_default();
            let cut = file.name == "cut";
            Ok(Box::new(Failing {
                data: io::Cursor::new(if cut { data[..1].to_vec() } else { data }),
                error: cut.then(|| PastEnd { missing: 1 }.into_io()),
            }))
        }
        fn plain_ranges(&mut self, file: &Node) -> Option<Vec<(u64, u64)>> {
            self.plain.then(|| vec![(0, file.size)])
        }
        fn take_warnings(&mut self) -> Vec<Warning> {
            Vec::new()
        }
    }

    /// Every path below `dir`, sorted.
    fn all_paths(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.symlink_metadata().unwrap().is_dir() {
                    stack.push(p.clone());
                }
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
        out.sort();
        out
    }

    /// The report counts what was written; the events name each entry in walk order, add up the files' sizes,
    /// and bring the one warning (the file past the end of the image) as a value, as the report lists it.
    #[test]
    fn the_report_counts_what_was_written_and_the_events_tell_it_as_it_goes() {
        let d = tempfile::tempdir().unwrap();
        let mut tree = MemTree::sample();
        let (mut written, mut bytes, mut warnings) = (Vec::new(), 0u64, Vec::new());
        let report = Extract::new(Vec::<&str>::new(), options(1))
            .unwrap()
            .run(&mut tree, &ReadOptions::default(), None, d.path(), &mut |e| match e {
                Event::Written(p) => written.push(p.to_string_lossy().into_owned()),
                Event::Bytes(n) => bytes += n,
                Event::Warning(w) => warnings.push(w.to_string()),
            })
            .unwrap();
        assert_eq!(written, ["d", "d/a", "d/l", "d/e", "top", "cut"]);
        assert_eq!(bytes, 10);
        assert_eq!(
            (report.files, report.directories, report.symlinks, report.hard_links, report.special_files),
            (3, 2, 1, 0, 0)
        );
        // "cut" holds the one byte the image has.
        assert_eq!((report.bytes, report.kept), (9, 0));
        assert!(report.partial());
        assert_eq!(
            warnings,
            ["cut: its data runs past the end of the image (1 bytes missing); kept the bytes that are there"]
        );
        assert!(matches!(&report.warnings[..], [ExtractWarning::Entry(w)] if w.0 == warnings[0]));
        assert_eq!(all_paths(d.path()), ["cut", "d", "d/a", "d/e", "d/l", "top"]);
        assert_eq!(std::fs::read(d.path().join("d/a")).unwrap(), b"hello");
        assert_eq!(std::fs::read_link(d.path().join("d/l")).unwrap(), std::path::Path::new("a"));
    }

    /// A path not in the image and a pattern that matches nothing are warnings with their own variants; what
    /// a pattern matches is extracted with its parents; nothing else is.
    #[test]
    fn paths_and_patterns_select_and_what_is_missing_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let mut tree = MemTree::sample();
        let report = Extract::new(["/nope", "/d/*.txt", "/d/[ab]", "/{top,none}"], options(1))
            .unwrap()
            .run(&mut tree, &ReadOptions::default(), None, d.path(), &mut |_| {})
            .unwrap();
        match &report.warnings[..] {
            [ExtractWarning::NotFound { path, .. }, ExtractWarning::NothingMatches { pattern, reason: None }] => {
                assert_eq!(path, "/nope");
                assert_eq!(pattern, "/d/*.txt");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(report.warnings[1].to_string(), "/d/*.txt: nothing matches");
        assert_eq!((report.files, report.directories, report.bytes), (2, 0, 8));
        assert_eq!(all_paths(d.path()), ["d", "d/a", "top"]);
        let bad = Extract::new(["/a/[z-a]"], options(1)).unwrap_err();
        assert!(format!("{bad:#}").contains("not a valid wildcard pattern"), "{bad:#}");
    }

    /// A flag set before the start stops the extraction at once with `Cancelled`, making nothing; one set while
    /// it runs stops it at the next entry, and no temporary file is left.
    #[test]
    fn a_cancelled_extraction_stops_with_cancelled_and_leaves_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let opts = options(1);
        opts.cancel.cancel();
        let e = Extract::new(Vec::<&str>::new(), opts)
            .unwrap()
            .run(&mut MemTree::sample(), &ReadOptions::default(), None, &out, &mut |_| panic!("an event"))
            .unwrap_err();
        assert!(e.chain().any(|c| c.is::<Cancelled>()), "{e:#}");
        assert!(!out.exists());

        let out = d.path().join("out");
        let opts = options(1);
        let cancel = opts.cancel.clone();
        let e = Extract::new(Vec::<&str>::new(), opts)
            .unwrap()
            .run(&mut MemTree::sample(), &ReadOptions::default(), None, &out, &mut |e| {
                if matches!(e, Event::Bytes(_)) {
                    cancel.cancel();
                }
            })
            .unwrap_err();
        assert!(e.downcast_ref::<Cancelled>().is_some(), "{e:#}");
        let left = all_paths(&out);
        assert!(!left.iter().any(|p| p.contains(".odix-")), "{left:?}");
        assert!(!left.iter().any(|p| p.contains("top")), "{left:?}");

        // The same with writer threads, which may be writing when the flag is set.
        let image = d.path().join("image");
        std::fs::write(&image, vec![7u8; 1000]).unwrap();
        let out = d.path().join("out-threads");
        let opts = options(3);
        let cancel = opts.cancel.clone();
        let mut tree = MemTree { plain: true, ..MemTree::sample() };
        let e = Extract::new(Vec::<&str>::new(), opts)
            .unwrap()
            .run(&mut tree, &ReadOptions::default(), Some(std::fs::File::open(&image).unwrap()), &out, &mut |e| {
                if matches!(e, Event::Bytes(_)) {
                    cancel.cancel();
                }
            })
            .unwrap_err();
        assert!(e.downcast_ref::<Cancelled>().is_some(), "{e:#}");
        let left = all_paths(&out);
        assert!(!left.iter().any(|p| p.contains(".odix-")), "{left:?}");
    }

    /// Files the writer threads copy from the image file are counted as those the walking thread writes.
    #[test]
    fn the_writer_threads_count_what_they_write() {
        let d = tempfile::tempdir().unwrap();
        let image = d.path().join("image");
        std::fs::write(&image, (0..1000u32).map(|i| i as u8).collect::<Vec<u8>>()).unwrap();
        let out = d.path().join("out");
        let mut tree = MemTree { plain: true, ..MemTree::sample() };
        let mut written = 0;
        let report = Extract::new(Vec::<&str>::new(), options(3))
            .unwrap()
            .run(&mut tree, &ReadOptions::default(), Some(std::fs::File::open(&image).unwrap()), &out, &mut |e| {
                if let Event::Written(_) = e {
                    written += 1;
                }
            })
            .unwrap();
        assert_eq!(written, 6);
        assert_eq!((report.files, report.directories, report.symlinks, report.bytes), (3, 2, 1, 10));
        assert!(!report.partial(), "{:?}", report.warnings);
        assert_eq!(std::fs::read(out.join("d/a")).unwrap(), [0, 1, 2, 3, 4]);
    }
}

//! Writing a view's entries into a folder, safely.
//!
//! # Security
//! Names come from the image and are untrusted. Every name is checked before it is used: empty names, `.`, `..`,
//! and names containing `/`, `\` or NUL are refused, so each name is exactly one path component. Everything is
//! created relative to an open descriptor of its parent folder (`openat`, `mkdirat`, `symlinkat`, `linkat`), and
//! those folders were made (or found to be real folders) by the extractor and opened with `O_NOFOLLOW`, so no
//! symlink is followed on the way down. An existing symlink or file where a directory is to go is removed (not
//! followed) and replaced. Files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`, which never follows a symlink.
//! Symlinks are created as stored, and nothing is ever written through one. A path written once in a run is not
//! written again. Directories get their modes and times last, deepest first, through a descriptor opened with
//! `O_NOFOLLOW`.
//!
//! # Cost
//! A regular file costs `openat`, one `copy_file_range` from the image when its bytes are plain runs of the image
//! file (else reads through the view and `write`s), `futimens` and `close`; `fchmod` only when the mode cannot be
//! given at creation (bits the umask would clear, set-id and sticky bits, which a write may clear).
//!
//! # Threads
//! Those system calls are most of an extraction's time, and they scale across cores: files whose bytes are plain
//! runs of the image are created and written by a pool of writer threads ([`ExtractOptions::jobs`]), in batches,
//! while the walk goes on reading the image's metadata, making folders and writing everything else (symlinks,
//! files read through the view, every name of a hard-linked file). Each job holds its folder's descriptor, so it
//! is as safe as the rest; directories get their modes and times only after the writers are done.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;

use crate::view::{Kind, Node, Tree};

/// Bytes copied at a time from the image into a file when the kernel cannot copy them itself.
const COPY_BUFFER: usize = 1 << 20;

/// Most folder descriptors kept open on the way down; those further up are closed and opened again by path when
/// the walk climbs back to them.
const MAX_OPEN: usize = 128;

/// Most bytes asked of one `copy_file_range` call.
const COPY_RANGE_MAX: u64 = 1 << 30;

/// Files handed to the writer threads at once, and most bytes in one such batch.
const BATCH_FILES: usize = 64;
const BATCH_BYTES: u64 = 16 << 20;

/// What the user asked of the extraction.
#[derive(Clone, Copy, Debug)]
pub struct ExtractOptions {
    /// Keep files that exist already instead of replacing them.
    pub keep_old: bool,
    /// Restore the permission bits the image records.
    pub same_permissions: bool,
    /// Threads that create and write files (0 or 1: the walking thread writes them itself).
    pub jobs: usize,
}

/// A directory whose mode and times are set at the end: path below the root, mode, mtime, atime.
type PendingDir = (String, Option<u32>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// What the walking thread and the writer threads share.
struct Shared {
    root_path: PathBuf,
    keep_old: bool,
    /// The image file itself, when the views' plain ranges are byte ranges of it.
    image: Option<File>,
    /// Whether `copy_file_range` still works between the image and the target (cleared at the first refusal).
    kernel_copy: AtomicBool,
    warnings: AtomicU64,
}

impl Shared {
    fn warn(&self, msg: String) {
        eprintln!("odix: warning: {msg}");
        self.warnings.fetch_add(1, Ordering::Relaxed);
    }

    /// The path shown in messages for `rel` (a path below the root).
    fn shown(&self, rel: &str) -> String {
        self.root_path.join(rel).display().to_string()
    }

    /// Creates `name` in `dir` with `make`, which fails with `EEXIST` when something is there already. That
    /// something is kept (`--keep-old-files`: `None` is returned) or removed, not followed, and `make` tried again.
    fn create<T>(
        &self,
        dir: BorrowedFd<'_>,
        name: &str,
        rel: &str,
        make: impl Fn(BorrowedFd<'_>) -> rustix::io::Result<T>,
    ) -> Result<Option<T>> {
        match make(dir) {
            Ok(v) => return Ok(Some(v)),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", self.shown(rel))),
        }
        if self.keep_old {
            return Ok(None);
        }
        if is_dir_at(dir, name).with_context(|| format!("cannot inspect {}", self.shown(rel)))? {
            rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
                .with_context(|| format!("{}: a non-empty directory is in the way", self.shown(rel)))?;
        } else {
            rustix::fs::unlinkat(dir, name, AtFlags::empty())
                .with_context(|| format!("cannot replace {}", self.shown(rel)))?;
        }
        make(dir).map(Some).with_context(|| format!("cannot create {}", self.shown(rel)))
    }

    /// Copies `len` bytes of the image file from byte `offset` to the end of `out`; returns how many there were
    /// (fewer at the end of the image). The kernel copies them when it can, else they go through `buf`.
    fn copy_range(&self, offset: u64, len: u64, out: &mut File, buf: &mut Vec<u8>) -> Result<u64> {
        let Some(image) = &self.image else { return Ok(0) };
        let end = offset.saturating_add(len);
        let mut pos = offset;
        while pos < end {
            if self.kernel_copy.load(Ordering::Relaxed) {
                let want = usize::try_from((end - pos).min(COPY_RANGE_MAX)).unwrap_or(usize::MAX);
                match rustix::fs::copy_file_range(image, Some(&mut pos), &*out, None, want) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(Errno::INTR) => {}
                    // Not between these two files (another file system, a device, an old kernel): read and write.
                    Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::BADF | Errno::PERM) => {
                        self.kernel_copy.store(false, Ordering::Relaxed)
                    }
                    Err(e) => return Err(io::Error::from(e)).context("reading the image"),
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
                Err(e) => return Err(e).context("reading the image"),
            };
            out.write_all(chunk.get(..k).unwrap_or_default())?;
            pos += k as u64;
        }
        Ok(pos - offset)
    }

    /// Creates the regular file `name` in `dir` (`None` when `--keep-old-files` keeps what is there), with its
    /// mode when it can be given at creation.
    fn create_file(&self, dir: BorrowedFd<'_>, name: &str, rel: &str, mode: FileMode) -> Result<Option<File>> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let create_mode = Mode::from_raw_mode(if mode.at_creation { mode.bits } else { 0o600 });
        Ok(self.create(dir, name, rel, |dir| rustix::fs::openat(dir, name, flags, create_mode))?.map(File::from))
    }

    /// Gives a written file the mode it could not get at creation, and its times.
    fn settle(out: &File, mode: FileMode, times: Option<&Timestamps>) -> Result<()> {
        if !mode.at_creation {
            rustix::fs::fchmod(out, Mode::from_raw_mode(mode.bits)).context("cannot set mode")?;
        }
        if let Some(ts) = times {
            let _ = rustix::fs::futimens(out, ts);
        }
        Ok(())
    }

    /// Creates a file whose bytes are plain runs of the image and writes them; false when `--keep-old-files`
    /// kept what was there.
    fn write_job(&self, job: &FileJob, buf: &mut Vec<u8>) -> Result<bool> {
        let Some(mut out) = self.create_file(job.dir.as_fd(), &job.name, &job.rel, job.mode)? else {
            return Ok(false);
        };
        let mut n = 0u64;
        for &(offset, len) in &job.ranges {
            let k = self.copy_range(offset, len, &mut out, buf)?;
            n = n.saturating_add(k);
            if k < len {
                break;
            }
        }
        if n != job.size {
            bail!("read {n} bytes of {}", job.size);
        }
        Self::settle(&out, job.mode, job.times.as_ref())?;
        Ok(true)
    }
}

/// The permission bits a file gets, and whether they are given at creation (else set once the data is written).
#[derive(Clone, Copy)]
struct FileMode {
    bits: u32,
    at_creation: bool,
}

/// A regular file for a writer thread: where it goes, its mode and times, and the image's byte ranges it holds.
struct FileJob {
    dir: Arc<OwnedFd>,
    name: String,
    rel: String,
    mode: FileMode,
    ranges: Vec<(u64, u64)>,
    size: u64,
    times: Option<Timestamps>,
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
        let rx = Arc::new(std::sync::Mutex::new(rx));
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
                            if let Err(e) = shared.write_job(&job, &mut buf) {
                                shared.warn(format!("{}: {e:#}", job.rel));
                            }
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
pub struct Extractor {
    root: Arc<OwnedFd>,
    opts: ExtractOptions,
    shared: Arc<Shared>,
    /// The process umask, to know when a mode can be given at creation.
    umask: u32,
    /// The folders from the root down to the one last written into: name and descriptor (closed for those more
    /// than [`MAX_OPEN`] levels up, once no writer job holds them).
    open: Vec<(String, Option<Arc<OwnedFd>>)>,
    /// Paths below the root (components joined by `/`) written in this run, and whether each is a folder.
    written: HashMap<String, bool>,
    /// The first path written of each hard-linked file.
    links: HashMap<u64, String>,
    dirs: Vec<PendingDir>,
    refused_dirs: Vec<Vec<String>>,
    /// The copy buffer, reused for every file read through its view.
    buf: Vec<u8>,
    pool: Option<Pool>,
}

/// Why a name from an image cannot be used as a path component, if it cannot.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty name")
    } else if name == "." || name == ".." {
        Some("name is . or ..")
    } else if name.contains('/') {
        Some("name contains /")
    } else if name.contains('\\') {
        Some("name contains \\")
    } else if name.contains('\0') {
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

fn is_dir_at(dir: BorrowedFd<'_>, name: &str) -> rustix::io::Result<bool> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(FileType::from_raw_mode(st.st_mode) == FileType::Directory)
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
    pub fn new(root: &Path, opts: ExtractOptions, image: Option<File>) -> Result<Self> {
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
            image,
            kernel_copy: AtomicBool::new(true),
            warnings: AtomicU64::new(0),
        });
        // Read before any writer thread exists: reading the umask sets it for a moment.
        let umask = current_umask();
        let pool = if with_pool { Some(Pool::new(&shared, opts.jobs)?) } else { None };
        Ok(Extractor {
            root: Arc::new(fd),
            opts,
            shared,
            umask,
            open: Vec::new(),
            written: HashMap::new(),
            links: HashMap::new(),
            dirs: Vec::new(),
            refused_dirs: Vec::new(),
            buf: Vec::new(),
            pool,
        })
    }

    fn warn(&self, msg: String) {
        self.shared.warn(msg);
    }

    /// The path shown in messages for `rel` (a path below the root).
    fn shown(&self, rel: &str) -> String {
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

    /// Makes sure `name` in the current folder (`rel` below the root) is a real directory: creates it, or replaces
    /// a symlink or file standing there. Never follows a symlink.
    fn ensure_dir(&self, name: &str, rel: &str) -> Result<()> {
        // Decided before touching the folder: a file of this run may still be on its way to a writer thread.
        if self.written.get(rel) == Some(&false) {
            bail!("{}: already extracted as a non-directory", self.shown(rel));
        }
        let dir = self.dir();
        let mode = Mode::from_raw_mode(0o777);
        match rustix::fs::mkdirat(dir, name, mode) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => {
                if is_dir_at(dir, name).with_context(|| format!("cannot inspect {}", self.shown(rel)))? {
                    return Ok(());
                }
                rustix::fs::unlinkat(dir, name, AtFlags::empty())
                    .with_context(|| format!("cannot replace {}", self.shown(rel)))?;
                rustix::fs::mkdirat(dir, name, mode).with_context(|| format!("cannot create {}", self.shown(rel)))
            }
            Err(e) => Err(e).with_context(|| format!("cannot create {}", self.shown(rel))),
        }
    }

    /// Opens the folders `parents` (below the root), creating those not written yet, and makes the last one the
    /// current folder. Folders already open on the way are kept.
    fn enter(&mut self, parents: &[&str]) -> Result<()> {
        let same = self.open.iter().zip(parents).take_while(|((open, _), want)| open == *want).count();
        self.open.truncate(same);
        if let Some((_, None)) = self.open.last() {
            let rel = parents.get(..same).unwrap_or_default().join("/");
            let fd = rustix::fs::openat(
                self.root.as_fd(),
                rel.as_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .with_context(|| format!("cannot open {}", self.shown(&rel)))?;
            if let Some(last) = self.open.last_mut() {
                last.1 = Some(Arc::new(fd));
            }
        }
        for (i, comp) in parents.iter().enumerate().skip(same) {
            let rel = parents.get(..=i).unwrap_or_default().join("/");
            if !self.written.contains_key(&rel) {
                self.ensure_dir(comp, &rel)?;
                self.written.insert(rel.clone(), true);
            }
            let fd = rustix::fs::openat(
                self.dir(),
                *comp,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .with_context(|| format!("cannot open {}", self.shown(&rel)))?;
            self.open.push((comp.to_string(), Some(Arc::new(fd))));
            if let Some(far) = self.open.len().checked_sub(MAX_OPEN + 1).and_then(|i| self.open.get_mut(i)) {
                far.1 = None;
            }
        }
        Ok(())
    }

    /// Creates `name` in the current folder with `make` (see [`Shared::create`]).
    fn create<T>(
        &self,
        name: &str,
        rel: &str,
        make: impl Fn(BorrowedFd<'_>) -> rustix::io::Result<T>,
    ) -> Result<Option<T>> {
        self.shared.create(self.dir(), name, rel, make)
    }

    /// Extracts one node whose image path is `rel` (its components, the last being `node.name`). Returns
    /// whether the walk should descend into it.
    pub fn entry(&mut self, tree: &mut dyn Tree, node: &Node, rel: &[&str]) -> Result<bool> {
        if let Some(why) = unsafe_name(&node.name) {
            self.warn(format!("refusing to extract {:?}: {why}", node.name));
            return Ok(false);
        }
        if self.refused_dirs.iter().any(|d| rel.len() > d.len() && rel.iter().zip(d).all(|(a, b)| a == b)) {
            return Ok(false);
        }
        for comp in rel {
            if let Some(why) = unsafe_name(comp) {
                self.warn(format!("refusing to extract {}: {why}", rel.join("/")));
                return Ok(false);
            }
        }
        let Some((name, parents)) = rel.split_last() else { return Ok(true) };
        // Parents are visited before their children, so a parent is normally written and open already; only
        // the folders above a requested sub-path are made here.
        if let Err(e) = self.enter(parents) {
            self.warn(format!("{e:#}"));
            return Ok(false);
        }
        let key = rel.join("/");
        if node.kind != Kind::Dir && self.written.contains_key(&key) {
            self.warn(format!("{key}: listed more than once, written once"));
            return Ok(false);
        }
        match node.kind {
            Kind::Dir => {
                if let Err(e) = self.ensure_dir(name, &key) {
                    self.warn(format!("{e:#}"));
                    self.refused_dirs.push(rel.iter().map(|s| s.to_string()).collect());
                    return Ok(false);
                }
                if self.written.insert(key.clone(), true).is_none() {
                    self.dirs.push((key, node.mode, node.mtime, node.atime));
                }
                Ok(true)
            }
            Kind::File => {
                if let Err(e) = self.file(tree, node, name, &key) {
                    self.warn(format!("{key}: {e:#}"));
                }
                self.written.insert(key, false);
                Ok(false)
            }
            Kind::Symlink => {
                let target = node.target.as_deref().unwrap_or_default();
                match self.create(name, &key, |dir| rustix::fs::symlinkat(target, dir, *name)) {
                    Ok(Some(())) => {
                        if let Some(m) = &node.mtime {
                            let ts = timestamps(m, node.atime.as_ref());
                            let _ = rustix::fs::utimensat(self.dir(), *name, &ts, AtFlags::SYMLINK_NOFOLLOW);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => self.warn(format!("{key}: cannot create symlink: {e:#}")),
                }
                self.written.insert(key, false);
                Ok(false)
            }
            Kind::Other => {
                self.warn(format!("{key}: device, FIFO or socket not extracted"));
                Ok(false)
            }
        }
    }

    fn file(&mut self, tree: &mut dyn Tree, node: &Node, name: &str, rel: &str) -> Result<()> {
        // A second name of a hard link already written becomes a link to it.
        let linked = match (node.link_id, node.nlink) {
            (Some(id), Some(n)) if n > 1 => Some(id),
            _ => None,
        };
        if let Some(first) = linked.and_then(|id| self.links.get(&id)) {
            let root = self.root.as_fd();
            self.create(name, rel, |dir| rustix::fs::linkat(root, first.as_str(), dir, name, AtFlags::empty()))
                .with_context(|| format!("cannot link to {}", self.shown(first)))?;
            return Ok(());
        }
        let bits = if self.opts.same_permissions { node.mode.map(|m| m & 0o7777).unwrap_or(0o644) } else { 0o644 };
        // Given at creation when the umask keeps it whole; otherwise set once the data is written.
        let mode = FileMode { bits, at_creation: bits & 0o7000 == 0 && bits & self.umask == 0 };
        let times = node.mtime.as_ref().map(|m| timestamps(m, node.atime.as_ref()));
        let ranges = if self.shared.image.is_some() { tree.plain_ranges(node) } else { None };
        let written = match ranges {
            Some(ranges) => {
                let job = FileJob {
                    dir: self.dir_handle(),
                    name: name.to_string(),
                    rel: rel.to_string(),
                    mode,
                    ranges,
                    size: node.size,
                    times,
                };
                match &mut self.pool {
                    // Plain runs of the image go to the writers, unless a later name must link to this one.
                    Some(pool) if linked.is_none() => {
                        pool.push(job);
                        return Ok(());
                    }
                    _ => self.shared.write_job(&job, &mut self.buf)?,
                }
            }
            None => {
                let Some(mut out) = self.shared.create_file(self.dir(), name, rel, mode)? else { return Ok(()) };
                self.copy_through_view(tree, node, &mut out)?;
                Shared::settle(&out, mode, times.as_ref())?;
                true
            }
        };
        if let (Some(id), true) = (linked, written) {
            self.links.insert(id, rel.to_string());
        }
        Ok(())
    }

    /// Writes the file's bytes into `out` through the view's reader (decompressed, translated, zeros for holes).
    fn copy_through_view(&mut self, tree: &mut dyn Tree, node: &Node, out: &mut File) -> Result<()> {
        if self.buf.is_empty() {
            self.buf = vec![0; COPY_BUFFER];
        }
        let mut reader = tree.open(node)?;
        let mut n = 0u64;
        loop {
            let k = match reader.read(&mut self.buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            out.write_all(self.buf.get(..k).unwrap_or_default())?;
            n += k as u64;
        }
        if n != node.size {
            bail!("read {n} bytes of {}", node.size);
        }
        Ok(())
    }

    /// Applies directories' modes and times, deepest first (so writing into them is over), and returns the
    /// number of warnings given.
    pub fn finish(mut self) -> Result<u64> {
        if let Some(mut pool) = self.pool.take() {
            let failed = pool.join();
            if failed > 0 {
                self.warn(format!("{failed} writer thread(s) stopped early; some files may be missing"));
            }
        }
        self.open.clear();
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|(p, ..)| std::cmp::Reverse(p.split('/').count()));
        for (rel, mode, mtime, atime) in dirs {
            let fd = match rustix::fs::openat(
                self.root.as_fd(),
                rel.as_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(e) => {
                    self.warn(format!("{}: cannot set mode and times: {e}", self.shown(&rel)));
                    continue;
                }
            };
            let m = if self.opts.same_permissions { mode.map(|m| m & 0o7777).unwrap_or(0o755) } else { 0o755 };
            if let Err(e) = rustix::fs::fchmod(&fd, Mode::from_raw_mode(m)) {
                self.warn(format!("{}: cannot set mode: {e}", self.shown(&rel)));
            }
            if let Some(t) = mtime {
                if let Err(e) = rustix::fs::futimens(&fd, &timestamps(&t, atime.as_ref())) {
                    self.warn(format!("{}: cannot set times: {e}", self.shown(&rel)));
                }
            }
        }
        Ok(self.shared.warnings.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::unsafe_name;

    #[test]
    fn refuses_names_that_leave_the_target() {
        for bad in ["", ".", "..", "a/b", "/etc", "..\\x", "a\0b"] {
            assert!(unsafe_name(bad).is_some(), "{bad:?} accepted");
        }
        for good in ["a", "..a", "a..", ". x", "日本"] {
            assert!(unsafe_name(good).is_none(), "{good:?} refused");
        }
    }
}

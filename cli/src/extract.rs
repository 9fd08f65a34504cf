//! Writing a view's entries into a folder, safely.
//!
//! # Security
//! Names come from the image and are untrusted. Every name is checked before it is joined to a path: empty
//! names, `.`, `..`, and names containing `/`, `\` or NUL are refused, so nothing is created outside the target.
//! Directories on the way are created by the extractor itself; an existing symlink where a directory or file is
//! to go is removed (not followed) and replaced. Files are created with `O_CREAT | O_EXCL`, which never follows a
//! symlink. Symlinks are created as stored, and nothing is ever written through one. A path written once in a
//! run is not written again.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use filetime::FileTime;

use crate::view::{Kind, Node, Tree};

/// Bytes copied at a time from the image into a file.
const COPY_BUFFER: usize = 1 << 20;

/// What the user asked of the extraction.
#[derive(Clone, Copy, Debug)]
pub struct ExtractOptions {
    /// Keep files that exist already instead of replacing them.
    pub keep_old: bool,
    /// Restore the permission bits the image records.
    pub same_permissions: bool,
}

/// A directory whose mode and times are set at the end: path, mode, mtime, atime.
type PendingDir = (PathBuf, Option<u32>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Extracts entries one at a time, in walk order (parents before children).
pub struct Extractor {
    root: PathBuf,
    opts: ExtractOptions,
    written: HashSet<PathBuf>,
    links: HashMap<u64, PathBuf>,
    dirs: Vec<PendingDir>,
    refused_dirs: Vec<Vec<String>>,
    warnings: u64,
    /// The copy buffer, reused for every file: large enough that most files take one read and one write.
    buf: Vec<u8>,
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

fn file_time(t: &DateTime<Utc>) -> FileTime {
    FileTime::from_unix_time(t.timestamp(), t.timestamp_subsec_nanos())
}

impl Extractor {
    /// Prepares extraction into `root`, creating it if needed.
    pub fn new(root: &Path, opts: ExtractOptions) -> Result<Self> {
        fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
        Ok(Extractor {
            root: root.to_path_buf(),
            opts,
            written: HashSet::new(),
            links: HashMap::new(),
            dirs: Vec::new(),
            refused_dirs: Vec::new(),
            warnings: 0,
            buf: vec![0; COPY_BUFFER],
        })
    }

    fn warn(&mut self, msg: String) {
        eprintln!("odix: warning: {msg}");
        self.warnings += 1;
    }

    /// Makes sure `path` (below the root) is a real directory we may write into: creates it, or replaces a
    /// symlink or file standing there. Never follows a symlink.
    fn ensure_dir(&mut self, path: &Path) -> Result<()> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => {
                if self.written.contains(path) {
                    bail!("{}: already extracted as a non-directory", path.display());
                }
                fs::remove_file(path).with_context(|| format!("cannot replace {}", path.display()))?;
                fs::create_dir(path).with_context(|| format!("cannot create {}", path.display()))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(path).with_context(|| format!("cannot create {}", path.display()))
            }
            Err(e) => Err(e).with_context(|| format!("cannot inspect {}", path.display())),
        }
    }

    /// Clears the way for a new non-directory at `path`. Returns false when the existing file is kept.
    fn clear(&mut self, path: &Path) -> Result<bool> {
        match fs::symlink_metadata(path) {
            Ok(m) => {
                if self.opts.keep_old {
                    return Ok(false);
                }
                if m.is_dir() {
                    fs::remove_dir(path)
                        .with_context(|| format!("{}: a non-empty directory is in the way", path.display()))?;
                } else {
                    fs::remove_file(path).with_context(|| format!("cannot replace {}", path.display()))?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(e).with_context(|| format!("cannot inspect {}", path.display())),
        }
    }

    /// Extracts one node whose image path is `rel` (its components, the last being `node.name`). Returns
    /// whether the walk should descend into it.
    pub fn entry(&mut self, tree: &mut dyn Tree, node: &Node, rel: &[&str]) -> Result<bool> {
        if let Some(why) = unsafe_name(&node.name) {
            self.warn(format!("refusing to extract {:?}: {why}", node.name));
            return Ok(false);
        }
        if self.refused_dirs.iter().any(|d| rel.len() > d.len() && rel[..d.len()].iter().zip(d).all(|(a, b)| a == b)) {
            return Ok(false);
        }
        let mut path = self.root.clone();
        for (i, comp) in rel.iter().enumerate() {
            if let Some(why) = unsafe_name(comp) {
                self.warn(format!("refusing to extract {}: {why}", rel.join("/")));
                return Ok(false);
            }
            path.push(comp);
            // Parents are visited before their children, so a parent is normally in `written` already; only
            // the folders above a requested sub-path are made here.
            if i + 1 < rel.len() && !self.written.contains(&path) {
                if let Err(e) = self.ensure_dir(&path) {
                    self.warn(format!("{e:#}"));
                    return Ok(false);
                }
                self.written.insert(path.clone());
            }
        }
        if self.written.contains(&path) && node.kind != Kind::Dir {
            self.warn(format!("{}: listed more than once, written once", rel.join("/")));
            return Ok(false);
        }
        match node.kind {
            Kind::Dir => {
                if let Err(e) = self.ensure_dir(&path) {
                    self.warn(format!("{e:#}"));
                    self.refused_dirs.push(rel.iter().map(|s| s.to_string()).collect());
                    return Ok(false);
                }
                if self.written.insert(path.clone()) {
                    self.dirs.push((path, node.mode, node.mtime, node.atime));
                }
                Ok(true)
            }
            Kind::File => {
                if let Err(e) = self.file(tree, node, &path) {
                    self.warn(format!("{}: {e:#}", rel.join("/")));
                }
                self.written.insert(path);
                Ok(false)
            }
            Kind::Symlink => {
                let target = node.target.clone().unwrap_or_default();
                if self.clear(&path)? {
                    if let Err(e) = std::os::unix::fs::symlink(&target, &path) {
                        self.warn(format!("{}: cannot create symlink: {e}", rel.join("/")));
                    } else if let Some(m) = &node.mtime {
                        let at = node.atime.as_ref().map(file_time).unwrap_or_else(|| file_time(m));
                        let _ = filetime::set_symlink_file_times(&path, at, file_time(m));
                    }
                }
                self.written.insert(path);
                Ok(false)
            }
            Kind::Other => {
                self.warn(format!("{}: device, FIFO or socket not extracted", rel.join("/")));
                Ok(false)
            }
        }
    }

    fn file(&mut self, tree: &mut dyn Tree, node: &Node, path: &Path) -> Result<()> {
        // A second name of a hard link already written becomes a link to it.
        if let (Some(id), Some(n)) = (node.link_id, node.nlink) {
            if n > 1 {
                if let Some(first) = self.links.get(&id).cloned() {
                    if self.clear(path)? {
                        fs::hard_link(&first, path)
                            .with_context(|| format!("cannot link {} to {}", path.display(), first.display()))?;
                    }
                    return Ok(());
                }
            }
        }
        if !self.clear(path)? {
            return Ok(());
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        {
            let mut reader = tree.open(node)?;
            let mut n = 0u64;
            loop {
                let k = match reader.read(&mut self.buf) {
                    Ok(0) => break,
                    Ok(k) => k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                f.write_all(&self.buf[..k])?;
                n += k as u64;
            }
            if n != node.size {
                bail!("read {n} bytes of {}", node.size);
            }
        }
        f.flush()?;
        let mode = if self.opts.same_permissions { node.mode.map(|m| m & 0o7777).unwrap_or(0o644) } else { 0o644 };
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some(m) = &node.mtime {
            let at = node.atime.as_ref().map(file_time).unwrap_or_else(|| file_time(m));
            f.set_times(fs::FileTimes::new().set_modified(file_time_to_system(m)).set_accessed(filetime_to_system(at)))
                .ok();
        }
        drop(f);
        if let (Some(id), Some(n)) = (node.link_id, node.nlink) {
            if n > 1 {
                self.links.insert(id, path.to_path_buf());
            }
        }
        Ok(())
    }

    /// Applies directories' modes and times, deepest first (so writing into them is over), and returns the
    /// number of warnings given.
    pub fn finish(mut self) -> Result<u64> {
        self.dirs.sort_by_key(|(p, ..)| std::cmp::Reverse(p.components().count()));
        for (path, mode, mtime, atime) in std::mem::take(&mut self.dirs) {
            let m = if self.opts.same_permissions { mode.map(|m| m & 0o7777).unwrap_or(0o755) } else { 0o755 };
            if let Err(e) = fs::set_permissions(&path, fs::Permissions::from_mode(m)) {
                self.warn(format!("{}: cannot set mode: {e}", path.display()));
            }
            if let Some(t) = mtime {
                let at = atime.as_ref().map(file_time).unwrap_or_else(|| file_time(&t));
                if let Err(e) = filetime::set_file_times(&path, at, file_time(&t)) {
                    self.warn(format!("{}: cannot set times: {e}", path.display()));
                }
            }
        }
        Ok(self.warnings)
    }
}

fn file_time_to_system(t: &DateTime<Utc>) -> std::time::SystemTime {
    std::time::SystemTime::from(*t)
}

fn filetime_to_system(t: FileTime) -> std::time::SystemTime {
    let secs = t.unix_seconds();
    let base = if secs >= 0 {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.unsigned_abs())
    } else {
        std::time::UNIX_EPOCH - std::time::Duration::from_secs(secs.unsigned_abs())
    };
    base + std::time::Duration::from_nanos(u64::from(t.nanoseconds()))
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

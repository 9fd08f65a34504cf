//! Output files that appear under their final name only when complete: written under a temporary name beside the
//! target, flushed to the disk, then renamed into place. An error, a dropped [`AtomicFile`] or an interruption
//! (see [`crate::cancel`]) removes the temporary file and leaves whatever stood under the target untouched.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cancel::{self, Cleanup};

/// An output file being written.
pub struct AtomicFile {
    /// The file to write into (the temporary file, or a duplicate of standard output).
    pub file: File,
    temp: Option<Temp>,
}

struct Temp {
    path: PathBuf,
    target: PathBuf,
    _cleanup: Cleanup,
}

/// Checks, before any work is done, that `target` can be written as a file: it is not a directory and its folder
/// exists. The errors name the path as the user gave it.
pub fn check_target(target: &Path) -> Result<()> {
    if target.as_os_str() == "-" {
        return Ok(());
    }
    if target.is_dir() {
        bail!("{}: is a directory", target.display());
    }
    if target.file_name().is_none() {
        bail!("{}: not a file name", target.display());
    }
    let dir = folder_of(target);
    match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!("{}: {} is not a directory", target.display(), dir.display()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            bail!("{}: the folder {} does not exist", target.display(), dir.display())
        }
        Err(e) => Err(e).with_context(|| format!("{}: cannot reach its folder", target.display())),
    }
}

fn folder_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl AtomicFile {
    /// Opens `target` (`-` is standard output) for writing, after [`check_target`]. The temporary file is
    /// registered with [`crate::cancel`], so that a program stopped by a signal can remove it.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        if target.as_os_str() == "-" {
            let fd = io::stdout().as_fd().try_clone_to_owned().context("duplicating standard output")?;
            return Ok(AtomicFile { file: File::from(fd), temp: None });
        }
        check_target(target)?;
        let dir = folder_of(target);
        let name = target.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let what = format!("removed the unfinished {}", target.display());
        let mut n = 0u32;
        loop {
            let tmp = dir.join(format!(".{name}.odix-{}-{n}.tmp", std::process::id()));
            let made = cancel::with_cleanup(what.clone(), || {
                let file = OpenOptions::new().read(true).write(true).create_new(true).open(&tmp)?;
                let doomed = tmp.clone();
                let action: Box<dyn FnOnce() + Send> = Box::new(move || {
                    let _ = fs::remove_file(doomed);
                });
                Ok::<_, io::Error>((file, action))
            });
            match made {
                Ok((file, cleanup)) => {
                    let temp = Temp { path: tmp, target: target.to_path_buf(), _cleanup: cleanup };
                    return Ok(AtomicFile { file, temp: Some(temp) });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => {
                    return Err(e).with_context(|| format!("{}: cannot create a file in its folder", target.display()))
                }
            }
        }
    }

    /// Flushes the finished file to the disk and moves it into place.
    pub fn commit(mut self) -> Result<()> {
        if let Some(temp) = self.temp.take() {
            let done = self
                .file
                .sync_all()
                .with_context(|| format!("{}: writing to the disk", temp.target.display()))
                .and_then(|()| {
                    fs::rename(&temp.path, &temp.target)
                        .with_context(|| format!("{}: moving the finished file into place", temp.target.display()))
                });
            if done.is_err() {
                let _ = fs::remove_file(&temp.path);
            }
            // The cleanup is deregistered only now: the file is in place, or gone.
            drop(temp);
            done?;
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(&temp.path);
        }
    }
}

/// Commits several outputs that belong together (a cue sheet and its BIN, a CloneCD set): every file is flushed
/// first, then all are renamed; if any step fails, the ones not yet renamed are removed.
pub fn commit_all(files: Vec<AtomicFile>) -> Result<()> {
    for f in &files {
        if let Some(temp) = &f.temp {
            f.file.sync_all().with_context(|| format!("{}: writing to the disk", temp.target.display()))?;
        }
    }
    for f in files {
        f.commit()?;
    }
    Ok(())
}

/// The outputs of one conversion, each written under a temporary name beside its target; [`Outputs::commit`]
/// renames them all into place, and dropping them before that removes every temporary file (an interruption
/// removes them too: see [`crate::cancel`]).
pub struct Outputs {
    files: Vec<AtomicFile>,
}

impl Outputs {
    /// Checks every target before any work (a file in a folder that exists, not an existing file unless `force`,
    /// not one of the `inputs`), then opens the temporary files.
    ///
    /// # Errors
    /// The first target refused, or a temporary file that cannot be created.
    pub fn create(targets: &[&Path], inputs: &[PathBuf], force: bool) -> Result<Outputs> {
        for t in targets {
            check_target(t)?;
            if !force && t.exists() {
                bail!("{} exists (use --force to replace it)", t.display());
            }
            if inputs.iter().any(|i| crate::compare::same_file(i, t)) {
                bail!("{}: the output must not replace the input", t.display());
            }
        }
        let files = targets.iter().map(|t| AtomicFile::create(t)).collect::<Result<Vec<_>>>()?;
        Ok(Outputs { files })
    }

    /// The temporary file of target `i`.
    ///
    /// # Errors
    /// When there is no target `i`.
    pub fn file(&self, i: usize) -> Result<&File> {
        self.files.get(i).map(|f| &f.file).with_context(|| format!("no output number {i}"))
    }

    /// Makes every file durable, then renames each into place.
    ///
    /// # Errors
    /// As [`commit_all`].
    pub fn commit(self) -> Result<()> {
        commit_all(self.files)
    }
}

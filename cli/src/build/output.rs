//! Where an image goes: a temporary file beside the target, renamed into place only after a complete build, or
//! standard output.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// An output being written. Dropping it without [`Output::commit`] removes the temporary file.
pub struct Output {
    /// The file to write into (the temporary file, or a duplicate of standard output).
    pub file: File,
    temp: Option<(PathBuf, PathBuf)>,
}

impl Output {
    /// Opens `target` (`-` is standard output) for writing.
    pub fn create(target: &Path) -> Result<Output> {
        if target.as_os_str() == "-" {
            let fd = io::stdout().as_fd().try_clone_to_owned().context("duplicating standard output")?;
            return Ok(Output { file: File::from(fd), temp: None });
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target.file_name().with_context(|| format!("{}: not a file name", target.display()))?;
        let mut n = 0u32;
        loop {
            let tmp = dir.join(format!(".{}.odix-{}-{n}.tmp", name.to_string_lossy(), std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => return Ok(Output { file, temp: Some((tmp, target.to_path_buf())) }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e).with_context(|| format!("creating {}", tmp.display())),
            }
        }
    }

    /// Moves the finished image into place.
    pub fn commit(mut self) -> Result<()> {
        if let Some((tmp, target)) = self.temp.take() {
            if let Err(e) = fs::rename(&tmp, &target) {
                let _ = fs::remove_file(&tmp);
                return Err(e).with_context(|| format!("renaming {} to {}", tmp.display(), target.display()));
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.temp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// A progress bar on standard error when it is a terminal and not silenced; otherwise hidden.
pub fn progress_bar(total: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
    {
        bar.set_style(style);
    }
    bar
}

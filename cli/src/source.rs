//! Turning what the user names on the command line into a `Read + Seek` of 2048-byte sectors: a plain image
//! file (optionally from a session offset), or a raw disc image (`.cue`, `.ccd`) through odix-cdrip.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Anything the readers can read from.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// A boxed source of 2048-byte user-data sectors.
pub type Source = Box<dyn ReadSeek>;

/// How to find the file system inside what the user named.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// The session whose file system is read (1-based). Raw images take it from their sheet (`None` means the
    /// last one); plain image files from their volume descriptor sets (`None` means the one at LBA 16).
    pub session: Option<u32>,
    /// For plain images of a whole multi-session disc: the LBA where the session to read starts (its volume
    /// descriptors are at this LBA + 16).
    pub offset: Option<u64>,
}

/// The image a command was given, able to open as many independent readers of its sectors as needed.
#[derive(Clone, Debug)]
pub struct ImageSource {
    path: PathBuf,
    opts: SourceOptions,
}

impl ImageSource {
    /// Remembers `path` and how to read it; nothing is opened yet.
    pub fn new(path: &Path, opts: SourceOptions) -> Self {
        ImageSource { path: path.to_path_buf(), opts }
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &SourceOptions {
        &self.opts
    }

    /// True when the path names a raw disc image description (CUE sheet or CloneCD control file).
    pub fn is_raw_description(&self) -> bool {
        matches!(
            self.path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
            Some("cue") | Some("ccd")
        )
    }

    /// Opens a fresh reader of the 2048-byte user-data sectors, positioned at 0.
    pub fn open(&self) -> Result<Source> {
        if self.is_raw_description() {
            return crate::formats::raw::open_cooked(&self.path, &self.opts);
        }
        let file = File::open(&self.path).with_context(|| format!("cannot open {}", self.path.display()))?;
        Ok(Box::new(io::BufReader::with_capacity(64 * 1024, file)))
    }

    /// The image file itself, when the readers' sectors are its bytes (not a raw image read through its sheet).
    pub fn plain_file(&self) -> Option<File> {
        if self.is_raw_description() {
            return None;
        }
        File::open(&self.path).ok()
    }

    /// The LBA where the session to read starts: its volume descriptors are at this LBA + 16. All LBAs inside
    /// a session stay absolute (counted from the start of the disc), so the source itself is never shifted.
    pub fn session_start(&self) -> Result<u64> {
        if let Some(lba) = self.opts.offset {
            return Ok(lba);
        }
        if self.is_raw_description() {
            return crate::formats::raw::session_start(&self.path, &self.opts);
        }
        let Some(n) = self.opts.session else { return Ok(0) };
        let sessions = crate::formats::iso::sessions(self)?;
        let count = sessions.len();
        match usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| sessions.get(i)) {
            Some(s) => Ok(s.start),
            None if count == 0 => bail!("{}: no ISO 9660 sessions, so no session {n}", self.path.display()),
            None => bail!(
                "{}: no session {n}: the image has {count} session{}",
                self.path.display(),
                if count == 1 { "" } else { "s" }
            ),
        }
    }
}

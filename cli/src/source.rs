//! Turning what the user names on the command line into a `Read + Seek` of 2048-byte sectors: a plain image
//! file (optionally from a session offset), or a raw disc image (`.cue`, `.ccd`) through odix-cdrip.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::FileTypeExt;
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
    /// For a file of raw 2352-byte sectors without a sheet: the mode of its first sector (1 or 2), once looked at.
    bare_bin: std::sync::OnceLock<Option<u8>>,
}

/// The 12-byte sync pattern that starts every raw 2352-byte data sector (ECMA-130 14.2).
const SYNC: [u8; 12] = [0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0];

/// Bytes of a raw CD sector.
const RAW_SECTOR: u64 = 2352;

/// The signature at the start of a MAME CHD file.
const CHD_MAGIC: &[u8; 8] = b"MComprHD";

impl ImageSource {
    /// Remembers `path` and how to read it; nothing is opened yet.
    pub fn new(path: &Path, opts: SourceOptions) -> Self {
        ImageSource { path: path.to_path_buf(), opts, bare_bin: std::sync::OnceLock::new() }
    }

    /// Refuses, with a message of its own naming the path, what odix cannot read as an image: a directory, a
    /// pipe or socket (readers seek), a MAME CHD. Nothing is opened that could block.
    pub fn check(&self) -> Result<()> {
        let p = self.path.display();
        let meta = std::fs::metadata(&self.path).with_context(|| format!("cannot open {p}"))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            bail!("{p}: a directory, not a disc image (to build an image from it: odix mkiso {p} -o IMAGE.iso)");
        }
        if ft.is_fifo() || ft.is_socket() {
            bail!("{p}: a pipe: odix reads images by seeking in them; save it to a file first");
        }
        if ft.is_char_device() {
            bail!("{p}: a character device: give an image file, a block device (/dev/sr0) or a .cue/.ccd");
        }
        if self.is_raw_description() {
            return Ok(());
        }
        let mut head = [0u8; 8];
        let n =
            File::open(&self.path).and_then(|mut f| f.read(&mut head)).with_context(|| format!("cannot open {p}"))?;
        if head.get(..n) == Some(&CHD_MAGIC[..]) {
            bail!(
                "{p}: a MAME CHD image, which odix does not read yet (chdman extractcd -i {p} -o IMAGE.cue turns it \
                 into a CUE sheet and BIN odix reads)"
            );
        }
        Ok(())
    }

    /// For a file of raw 2352-byte data sectors without a sheet (a bare `.bin`): the mode of its first sector.
    /// Recognised by the sync pattern at the start of its first two sectors and a length of whole sectors.
    pub fn bare_bin_mode(&self) -> Option<u8> {
        *self.bare_bin.get_or_init(|| {
            let ext = self.path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            if matches!(ext.as_deref(), Some("cue") | Some("ccd")) {
                return None;
            }
            let mut f = File::open(&self.path).ok()?;
            let meta = f.metadata().ok()?;
            if !meta.is_file() || meta.len() < RAW_SECTOR || meta.len() % RAW_SECTOR != 0 {
                return None;
            }
            let mut first = [0u8; 16];
            f.read_exact(&mut first).ok()?;
            let mode = first[15];
            if first[..12] != SYNC || !(mode == 1 || mode == 2) {
                return None;
            }
            if meta.len() >= 2 * RAW_SECTOR {
                let mut second = [0u8; 12];
                f.seek(io::SeekFrom::Start(RAW_SECTOR)).ok()?;
                f.read_exact(&mut second).ok()?;
                if second != SYNC {
                    return None;
                }
            }
            Some(mode)
        })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &SourceOptions {
        &self.opts
    }

    /// True when the path names a raw disc image: a description (CUE sheet or CloneCD control file), or a bare
    /// file of raw 2352-byte data sectors read by their sync patterns.
    pub fn is_raw_description(&self) -> bool {
        matches!(
            self.path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
            Some("cue") | Some("ccd")
        ) || self.bare_bin_mode().is_some()
    }

    /// Opens a fresh reader of the 2048-byte user-data sectors, positioned at 0.
    pub fn open(&self) -> Result<Source> {
        if self.is_raw_description() {
            return crate::formats::raw::open_cooked(self);
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
            return crate::formats::raw::session_start(self);
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

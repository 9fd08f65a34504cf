//! Turning what the user names on the command line into a `Read + Seek` of 2048-byte sectors: a plain image
//! file (optionally from a session offset), or a raw disc image (`.cue`, `.ccd`) through odix-cdrip.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use odix_cdrip::cue::CueSheet;
use odix_cdrip::image::RawDisc;

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
            return open_cooked(self);
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

    /// The ISO 9660 sessions (volume descriptor sets) found in the readers' sectors.
    pub fn iso_sessions(&self) -> Result<Vec<odix_iso9660::read::Session>> {
        let mut r = self.open()?;
        odix_iso9660::read::sessions(&mut r).map_err(|e| anyhow!("{}: {e}", self.path.display()))
    }

    /// The LBA where the session to read starts: its volume descriptors are at this LBA + 16. All LBAs inside
    /// a session stay absolute (counted from the start of the disc), so the source itself is never shifted.
    pub fn session_start(&self) -> Result<u64> {
        if let Some(lba) = self.opts.offset {
            return Ok(lba);
        }
        if self.is_raw_description() {
            return raw_session_start(self);
        }
        let Some(n) = self.opts.session else { return Ok(0) };
        let sessions = self.iso_sessions()?;
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

/// Whether `disc` has no data track at all while no session was asked for: an audio CD, whose track list
/// `info` still shows, and in which the readers find no file system.
fn audio_only(disc: &RawDisc, opts: &SourceOptions) -> bool {
    opts.session.is_none() && !disc.tracks().iter().any(|t| t.mode.is_data())
}

/// The disc a raw image describes: its CUE sheet or CloneCD file, or for a bare BIN of raw data sectors the one
/// data track the sheet it lacks would name (`MODE1/2352` or `MODE2/2352` as its first sector's header says).
pub fn raw_disc(src: &ImageSource) -> Result<RawDisc> {
    let path = src.path();
    let Some(mode) = src.bare_bin_mode() else { return Ok(RawDisc::open(path)?) };
    let name = path.file_name().and_then(|n| n.to_str()).filter(|n| !n.contains('"'));
    let Some(name) = name else {
        bail!(
            "{}: raw 2352-byte sectors without a cue sheet, under a name a sheet cannot hold: pass a .cue",
            path.display()
        )
    };
    let sheet = format!("FILE \"{name}\" BINARY\n  TRACK 01 MODE{mode}/2352\n    INDEX 01 00:00:00\n");
    let sheet = CueSheet::parse(&sheet, path)?;
    Ok(RawDisc::from_cue(path, sheet)?)
}

/// A reader of the cooked 2048-byte sectors of the raw image `src`, LBAs counted from the disc start (empty for an
/// audio CD).
fn open_cooked(src: &ImageSource) -> Result<Source> {
    let (disc, opts) = (raw_disc(src)?, src.options());
    if audio_only(&disc, opts) {
        return Ok(Box::new(std::io::Cursor::new(Vec::new())));
    }
    disc.choose_session(opts.session)?;
    Ok(Box::new(disc.cooked_reader()))
}

/// The LBA where the chosen session starts (0 for an audio CD).
fn raw_session_start(src: &ImageSource) -> Result<u64> {
    let (disc, opts) = (raw_disc(src)?, src.options());
    if audio_only(&disc, opts) {
        return Ok(0);
    }
    Ok(u64::try_from(disc.session_start(opts.session)?).unwrap_or(0))
}

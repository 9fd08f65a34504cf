//! Turning what the user names into a `Read + Seek` of 2048-byte sectors: a plain image file or block device
//! (optionally from a session offset), a raw disc image (`.cue`, `.ccd`, bare BIN) through odix-cdrip, or any
//! reader a program hands over.
//!
//! An [`ImageSource`] is made once per image and does its expensive work once: a raw sheet is parsed and its disc
//! laid out when the source is made, and every reader opened afterwards shares that disc (behind a mutex, each
//! reader keeping its own position).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use anyhow::{anyhow, bail, Context, Result};
use odix_cdrip::cue::CueSheet;
use odix_cdrip::detect::ImageFormat;
use odix_cdrip::image::{CookedReader, RawDisc};
use odix_cdrip::store::{ByteStore, StoreReader};

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

/// Where the sectors come from.
enum Origin {
    /// A plain image file or block device: its bytes are the sectors.
    File,
    /// A raw disc image, laid out once; readers share it.
    Raw {
        /// The cooked reader of the disc (which owns the disc).
        disc: Arc<Mutex<CookedReader>>,
        /// For a bare BIN: the mode of its first sector.
        bare_bin: Option<u8>,
        /// No data track and no session asked for: readers see an empty image.
        audio_only: bool,
    },
    /// A reader a program handed over, shared by every reader opened from it.
    Reader(Arc<Mutex<Source>>),
}

/// The image a command was given, able to open as many independent readers of its sectors as needed.
pub struct ImageSource {
    path: PathBuf,
    opts: SourceOptions,
    origin: Origin,
    /// The ISO 9660 sessions found in the readers' sectors, once looked for (the message of the error otherwise).
    sessions: OnceLock<std::result::Result<Vec<odix_iso9660::read::Session>, String>>,
    /// The LBA where the session read starts.
    session_start: u64,
}

impl fmt::Debug for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match &self.origin {
            Origin::File => "file",
            Origin::Raw { .. } => "raw disc",
            Origin::Reader(_) => "reader",
        };
        f.debug_struct("ImageSource")
            .field("path", &self.path)
            .field("origin", &origin)
            .field("session_start", &self.session_start)
            .finish_non_exhaustive()
    }
}

/// The 12-byte sync pattern that starts every raw 2352-byte data sector (ECMA-130 14.2).
const SYNC: [u8; 12] = [0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0];

/// Bytes of a raw CD sector.
const RAW_SECTOR: u64 = 2352;

#[cfg(test)]
thread_local! {
    /// How many raw discs this thread laid out (a sheet parsed and its files measured), for the tests that check
    /// an image is opened in one pass.
    pub(crate) static RAW_DISCS_BUILT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl ImageSource {
    /// Opens what `path` names: refuses what odix cannot read (see [`ImageSource::check`]), lays out a raw
    /// disc image once, and finds where the session to read starts.
    pub fn new(path: &Path, opts: SourceOptions) -> Result<Self> {
        check(path)?;
        let format = detect(path)?;
        // Containers first: a CHD is a raw disc when it holds a CD, a container of 2048-byte sectors for a DVD.
        let origin = if let Some(store) = odix_cdrip::container::open(path, format)? {
            container_origin(path, &opts, store)?
        } else if format.is_raw_disc() {
            raw_origin(path, &opts, None)?
        } else {
            match bare_bin_mode(path) {
                Some(mode) => raw_origin(path, &opts, Some(mode))?,
                None => Origin::File,
            }
        };
        let mut src =
            ImageSource { path: path.to_path_buf(), opts, origin, sessions: OnceLock::new(), session_start: 0 };
        src.session_start = src.find_session_start()?;
        Ok(src)
    }

    /// A source of the 2048-byte sectors `reader` yields; `label` names it in messages. Every reader opened from
    /// it shares `reader` behind a mutex: each read locks it, seeks to the reader's own position and reads, so
    /// readers never run in parallel and every read costs a seek.
    pub fn from_reader(reader: Source, label: &Path, opts: SourceOptions) -> Result<Self> {
        let origin = Origin::Reader(Arc::new(Mutex::new(reader)));
        let mut src =
            ImageSource { path: label.to_path_buf(), opts, origin, sessions: OnceLock::new(), session_start: 0 };
        src.session_start = src.find_session_start()?;
        Ok(src)
    }

    /// Refuses, with a message of its own naming the path, what odix cannot read as an image: a directory, a
    /// pipe or socket (readers seek), a MAME CHD. Nothing is opened that could block.
    pub fn check(&self) -> Result<()> {
        match self.origin {
            Origin::Reader(_) => Ok(()),
            _ => check(&self.path),
        }
    }

    /// For a file of raw 2352-byte data sectors without a sheet (a bare `.bin`): the mode of its first sector.
    /// Recognised by the sync pattern at the start of its first two sectors and a length of whole sectors.
    pub fn bare_bin_mode(&self) -> Option<u8> {
        match self.origin {
            Origin::Raw { bare_bin, .. } => bare_bin,
            _ => None,
        }
    }

    /// The path as given (for a source made from a reader, the label it was given).
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
        matches!(self.origin, Origin::Raw { .. })
    }

    /// True when the readers' sectors are the bytes of the file named (LBA × 2048 is a byte offset in it).
    pub fn is_direct(&self) -> bool {
        matches!(self.origin, Origin::File)
    }

    /// The raw disc, for a raw image. The returned guard holds the lock every reader of this source takes:
    /// drop it before reading from one of them (in this thread), or the read waits forever.
    pub fn raw_disc(&self) -> Option<RawDiscGuard<'_>> {
        match &self.origin {
            Origin::Raw { disc, .. } => Some(RawDiscGuard(disc.lock().unwrap_or_else(|e| e.into_inner()))),
            _ => None,
        }
    }

    /// Opens a fresh reader of the 2048-byte user-data sectors, positioned at 0.
    pub fn open(&self) -> Result<Source> {
        match &self.origin {
            Origin::File => {
                let file = File::open(&self.path).with_context(|| format!("cannot open {}", self.path.display()))?;
                Ok(Box::new(io::BufReader::with_capacity(64 * 1024, file)))
            }
            Origin::Raw { audio_only: true, .. } => Ok(Box::new(io::Cursor::new(Vec::new()))),
            Origin::Raw { disc, .. } => Ok(Box::new(Shared { inner: disc.clone(), pos: 0 })),
            Origin::Reader(r) => Ok(Box::new(Shared { inner: r.clone(), pos: 0 })),
        }
    }

    /// A reader for block-sized random reads: a plain file is read directly (a buffered reader would throw its
    /// buffer away at every seek), anything else as [`ImageSource::open`] gives it.
    pub fn open_unbuffered(&self) -> Result<Source> {
        match &self.origin {
            Origin::File => {
                let f = File::open(&self.path).map_err(|e| anyhow!("cannot open {}: {e}", self.path.display()))?;
                Ok(Box::new(f))
            }
            _ => self.open(),
        }
    }

    /// The image file itself, when the readers' sectors are its bytes (not a raw image read through its sheet).
    pub fn plain_file(&self) -> Option<File> {
        match self.origin {
            Origin::File => File::open(&self.path).ok(),
            _ => None,
        }
    }

    /// The ISO 9660 sessions (volume descriptor sets) found in the readers' sectors; looked for once.
    pub fn iso_sessions(&self) -> Result<Vec<odix_iso9660::read::Session>> {
        let found = self.sessions.get_or_init(|| {
            let mut r = self.open().map_err(|e| format!("{e:#}"))?;
            odix_iso9660::read::sessions(&mut r).map_err(|e| format!("{}: {e}", self.path.display()))
        });
        found.clone().map_err(|e| anyhow!(e))
    }

    /// The LBA where the session to read starts: its volume descriptors are at this LBA + 16. All LBAs inside
    /// a session stay absolute (counted from the start of the disc), so the source itself is never shifted.
    pub fn session_start(&self) -> u64 {
        self.session_start
    }

    fn find_session_start(&self) -> Result<u64> {
        if let Some(lba) = self.opts.offset {
            return Ok(lba);
        }
        if let Origin::Raw { disc, audio_only, .. } = &self.origin {
            if *audio_only {
                return Ok(0);
            }
            let reader = disc.lock().unwrap_or_else(|e| e.into_inner());
            return Ok(u64::try_from(reader.disc().session_start(self.opts.session)?).unwrap_or(0));
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

/// The raw disc of a source, borrowed; see [`ImageSource::raw_disc`].
pub struct RawDiscGuard<'a>(MutexGuard<'a, CookedReader>);

impl std::ops::Deref for RawDiscGuard<'_> {
    type Target = RawDisc;

    fn deref(&self) -> &RawDisc {
        self.0.disc()
    }
}

/// One reader of a reader shared behind a mutex, with a position of its own.
struct Shared<R> {
    inner: Arc<Mutex<R>>,
    pos: u64,
}

impl<R: Read + Seek> Read for Shared<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut r =
            self.inner.lock().map_err(|_| io::Error::other("a reader of the image failed in another thread"))?;
        r.seek(SeekFrom::Start(self.pos))?;
        let n = r.read(buf)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Shared<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => {
                let mut r = self
                    .inner
                    .lock()
                    .map_err(|_| io::Error::other("a reader of the image failed in another thread"))?;
                Some(r.seek(SeekFrom::End(d))?)
            }
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")),
        }
    }
}

/// What `path` holds, by its signature (see [`odix_cdrip::detect`]); a `.cue` or `.ccd` whose content fits no
/// format is still read as one, so that its parser says what is wrong with it.
fn detect(path: &Path) -> Result<ImageFormat> {
    let format = odix_cdrip::detect::detect(path).with_context(|| format!("cannot open {}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    Ok(match (format, ext.as_deref()) {
        (ImageFormat::Plain, Some("cue")) => ImageFormat::Cue,
        (ImageFormat::Plain, Some("ccd")) => ImageFormat::CloneCd,
        (f, _) => f,
    })
}

/// Whether the path names a raw disc's description or container (CUE, CloneCD, NRG, MDS, CDI, GDI, TOC, CHD).
fn is_sheet(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file()) && detect(path).is_ok_and(ImageFormat::is_raw_disc)
}

/// The source for a container of an image file's bytes (ECM, CSO, ZSO): raw sectors read as a bare BIN would
/// be, anything else as the 2048-byte sectors of an ISO or UDF image.
fn container_origin(path: &Path, opts: &SourceOptions, store: Box<dyn ByteStore>) -> Result<Origin> {
    match RawDisc::from_bare_store(path, store)? {
        Ok((disc, mode)) => disc_origin(disc, opts, Some(mode)),
        Err(store) => Ok(Origin::Reader(Arc::new(Mutex::new(Box::new(StoreReader::new(store)))))),
    }
}

/// Refuses, with a message of its own naming the path, what odix cannot read as an image: a directory, a pipe or
/// socket (readers seek), a character device, a MAME CHD. Nothing is opened that could block.
pub fn check(path: &Path) -> Result<()> {
    let p = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("cannot open {p}"))?;
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
    Ok(())
}

/// For a file of raw 2352-byte data sectors without a sheet: the mode of its first sector.
fn bare_bin_mode(path: &Path) -> Option<u8> {
    if is_sheet(path) {
        return None;
    }
    let mut f = File::open(path).ok()?;
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
        f.seek(SeekFrom::Start(RAW_SECTOR)).ok()?;
        f.read_exact(&mut second).ok()?;
        if second != SYNC {
            return None;
        }
    }
    Some(mode)
}

/// The raw disc at `path`, laid out once, with the session asked for checked.
fn raw_origin(path: &Path, opts: &SourceOptions, bare_bin: Option<u8>) -> Result<Origin> {
    disc_origin(raw_disc(path, bare_bin)?, opts, bare_bin)
}

/// The source of a laid-out raw disc, with the session asked for checked.
fn disc_origin(disc: RawDisc, opts: &SourceOptions, bare_bin: Option<u8>) -> Result<Origin> {
    let audio_only = opts.session.is_none() && !disc.tracks().iter().any(|t| t.mode.is_data());
    if !audio_only {
        disc.choose_session(opts.session)?;
    }
    Ok(Origin::Raw { disc: Arc::new(Mutex::new(disc.cooked_reader())), bare_bin, audio_only })
}

/// The disc a raw image describes: its CUE sheet or CloneCD file, or for a bare BIN of raw data sectors the one
/// data track the sheet it lacks would name (`MODE1/2352` or `MODE2/2352` as its first sector's header says).
fn raw_disc(path: &Path, bare_bin: Option<u8>) -> Result<RawDisc> {
    #[cfg(test)]
    RAW_DISCS_BUILT.with(|n| n.set(n.get() + 1));
    let Some(mode) = bare_bin else { return Ok(RawDisc::open(path)?) };
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

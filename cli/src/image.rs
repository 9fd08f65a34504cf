//! An image opened in one pass: [`Image::open`] goes from a path (image file, block device, `.cue`/`.ccd` sheet,
//! bare BIN) to the source of its 2048-byte sectors, the session to read, and the volumes found on it (ISO 9660 and
//! its views, UDF, El Torito, partition tables); [`Image::tree`] gives the one [`Tree`] interface `info`, `ls`,
//! `cat`, `extract`, `mount` and `verify` are written against.
//!
//! Each structure is read once and kept: a raw sheet is parsed and its disc laid out when the image is opened; the
//! ISO 9660 and UDF volumes are probed and opened the first time something needs them, and the opened volume is
//! handed to the first tree (or `info`) that asks for it. A second tree of the same volume opens it again, since a
//! tree owns its reader.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use odix::{Image, Options, View};
//!
//! let image = Image::open("disc.cue", &Options::default())?;
//! let mut tree = image.tree(View::Auto)?;
//! let root = tree.root()?;
//! for node in tree.read_dir(&root)? {
//!     println!("{} {}", node.name.to_string_lossy(), node.size);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Any reader of 2048-byte sectors works too:
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! use odix::{Image, Options, View};
//!
//! // Sixty-four blank sectors: no volume descriptor, so no file system.
//! let image = Image::from_reader(std::io::Cursor::new(vec![0u8; 64 * 2048]), &Options::default())?;
//! assert!(!image.volumes()?.iso9660.is_present());
//! assert!(!image.volumes()?.udf.is_present());
//! assert!(image.tree(View::Auto).is_err());
//! # Ok(())
//! # }
//! ```

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use anyhow::{anyhow, bail, Context, Result};
use odix_udf::Volume;

use crate::formats::{iso, no_file_system, raw, udf, InfoSection, Limits, ReadOptions, View};
use crate::source::{ImageSource, RawDiscGuard, Source, SourceOptions};
use crate::view::{Tree, Warning};

/// How to open an image: everything but the view, which each [`Image::tree`] call names.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Character set (a WHATWG label such as `cp437` or `shift_jis`) of plain ISO 9660 names written with a legacy
    /// 8-bit charset.
    pub charset: Option<String>,
    /// Stop at the first inconsistency instead of warning and going on.
    pub strict: bool,
    /// The session whose file system is read (1-based): of a raw image from its sheet (default: the last one), of
    /// a grown image file from its volume descriptor sets (default: the descriptors at LBA 16).
    pub session: Option<u32>,
    /// For images of a whole multi-session disc: read the session that starts at this LBA.
    pub offset: Option<u64>,
    /// Caps on what reading may do, whatever the image claims.
    pub limits: Limits,
}

/// Whether a volume was found, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probed<T> {
    /// No sign of it.
    Absent,
    /// Its signature is there, but it could not be opened: why.
    Unreadable(String),
    /// Opened: what it holds.
    Found(T),
}

impl<T> Probed<T> {
    /// Whether the volume's signature is there (opened or not).
    pub fn is_present(&self) -> bool {
        !matches!(self, Probed::Absent)
    }

    /// The summary of an opened volume.
    pub fn found(&self) -> Option<&T> {
        match self {
            Probed::Found(t) => Some(t),
            _ => None,
        }
    }
}

/// What an ISO 9660 volume holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsoVolume {
    /// The primary volume descriptor's volume id.
    pub volume_id: String,
    /// A Joliet tree (supplementary descriptor with a UCS-2 escape sequence).
    pub joliet: bool,
    /// The Rock Ridge version (`1.09`, `1.10`, `1.12`), when the root carries it.
    pub rock_ridge: Option<&'static str>,
    /// An ISO 9660:1999 tree (enhanced volume descriptor).
    pub iso9660_1999: bool,
    /// An El Torito boot record.
    pub el_torito: bool,
    /// An MBR partition table in the system area.
    pub mbr: bool,
    /// A GPT in the system area.
    pub gpt: bool,
    /// An Apple partition map in the system area.
    pub apm: bool,
    /// The view `auto` reads when there is no UDF volume (`rockridge`, `joliet` or `iso9660`).
    pub best_view: &'static str,
}

/// What a UDF volume is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdfVolume {
    /// The UDF revision it is formatted to (0x0102 … 0x0260).
    pub revision: u16,
    /// Its logical block size in bytes: 2048 on optical discs; node extents count blocks of this size.
    pub block_size: u32,
}

/// The volumes found at the session read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volumes {
    /// The ISO 9660 volume (with El Torito and the system area's partition tables).
    pub iso9660: Probed<IsoVolume>,
    /// The UDF volume.
    pub udf: Probed<UdfVolume>,
}

/// One session of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Its number, from 1.
    pub number: u32,
    /// The LBA where it starts: its volume descriptors are at this LBA + 16.
    pub start: u64,
    /// For a plain image file: the volume space size its primary descriptor records, in 2048-byte blocks.
    pub blocks: Option<u64>,
    /// For a plain image file: its volume id.
    pub volume_id: Option<String>,
}

/// What `odix info` shows of an image.
#[derive(Clone, Debug)]
pub struct Info {
    /// The sections, in the order they are shown: the track list of a raw image, ISO 9660, El Torito, sessions,
    /// system area, UDF.
    pub sections: Vec<InfoSection>,
    /// What the readers met on the way (damaged entries, unreadable structures), each naming the image.
    pub warnings: Vec<Warning>,
    /// The view [`View::Auto`] reads (none when no file system can be read).
    pub default_view: Option<&'static str>,
}

/// A volume's state: absent, unreadable, or opened (and, until something takes it, kept open).
enum State<T, S> {
    Absent,
    Unreadable(String),
    Found { summary: S, cached: Mutex<Option<T>> },
}

impl<T, S: Clone> State<T, S> {
    fn probed(&self) -> Probed<S> {
        match self {
            State::Absent => Probed::Absent,
            State::Unreadable(e) => Probed::Unreadable(e.clone()),
            State::Found { summary, .. } => Probed::Found(summary.clone()),
        }
    }

    fn present(&self) -> bool {
        !matches!(self, State::Absent)
    }

    /// The volume opened when probing, if nothing took it yet.
    fn take(&self) -> Option<T> {
        match self {
            State::Found { cached, .. } => cached.lock().unwrap_or_else(|e| e.into_inner()).take(),
            _ => None,
        }
    }
}

/// An opened image; see the [module documentation](self).
pub struct Image {
    src: ImageSource,
    read: ReadOptions,
    iso: OnceLock<State<iso::Opened, IsoVolume>>,
    udf: OnceLock<State<Volume<Source>, UdfVolume>>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image").field("source", &self.src).field("read", &self.read).finish_non_exhaustive()
    }
}

/// The label a reader-backed image goes by in messages.
const READER_LABEL: &str = "<reader>";

impl Image {
    /// Opens what `path` names: an ISO 9660 or UDF image file or block device, a `.cue` sheet, a CloneCD `.ccd`,
    /// or a bare BIN of raw 2352-byte data sectors. Refuses directories, pipes and MAME CHD files with a message
    /// naming the path; a raw sheet is parsed, its disc laid out and the session chosen here, once.
    pub fn open(path: impl AsRef<Path>, opts: &Options) -> Result<Image> {
        let path = path.as_ref();
        let source = SourceOptions { session: opts.session, offset: opts.offset };
        crate::source::check(path)?;
        let charset = charset(opts)?;
        let src = ImageSource::new(path, source)?;
        Ok(Image::with_source(src, charset, opts))
    }

    /// The same for any reader of 2048-byte sectors (`<reader>` in messages). Every reader the image opens (one
    /// per tree, one for each [`Image::reader`]) shares `reader` behind a mutex: each read locks it, seeks and
    /// reads, so readers take turns and every read costs a seek.
    pub fn from_reader(reader: impl Read + Seek + Send + 'static, opts: &Options) -> Result<Image> {
        let charset = charset(opts)?;
        let source = SourceOptions { session: opts.session, offset: opts.offset };
        let src = ImageSource::from_reader(Box::new(reader), Path::new(READER_LABEL), source)?;
        Ok(Image::with_source(src, charset, opts))
    }

    fn with_source(src: ImageSource, charset: Option<&'static encoding_rs::Encoding>, opts: &Options) -> Image {
        let read =
            ReadOptions { charset, strict: opts.strict, limits: opts.limits, session_start: src.session_start() };
        Image { src, read, iso: OnceLock::new(), udf: OnceLock::new() }
    }

    /// The path as given (`<reader>` for [`Image::from_reader`]).
    pub fn path(&self) -> &Path {
        self.src.path()
    }

    /// The read options in force (character set, strictness, limits, session start), as [`crate::tree::walk`]
    /// takes them.
    pub fn read_options(&self) -> &ReadOptions {
        &self.read
    }

    /// The read limits.
    pub fn limits(&self) -> &Limits {
        &self.read.limits
    }

    /// The LBA where the session read starts (its volume descriptors are at this LBA + 16).
    pub fn session_start(&self) -> u64 {
        self.read.session_start
    }

    /// Whether the image is a raw disc image (sheet or bare BIN) read through its sheet.
    pub fn is_raw(&self) -> bool {
        self.src.is_raw_description()
    }

    /// The raw disc of a raw image, as laid out when the image was opened. The guard holds the lock every
    /// reader of the image takes: drop it before reading the image in this thread.
    pub fn raw_disc(&self) -> Option<RawDiscGuard<'_>> {
        self.src.raw_disc()
    }

    /// A fresh reader of the image's 2048-byte sectors, positioned at 0 (LBAs count from the start of the disc).
    pub fn reader(&self) -> Result<Source> {
        self.src.open()
    }

    /// The image file itself, when the sectors are its bytes (not a raw image read through its sheet, not a
    /// reader): `extract` copies plain file data from it with the kernel's help.
    pub fn plain_file(&self) -> Option<File> {
        self.src.plain_file()
    }

    /// The sessions: of a raw image from its sheet, otherwise the ISO 9660 volume descriptor sets found (as
    /// `xorriso -toc` lists them).
    pub fn sessions(&self) -> Result<Vec<Session>> {
        if let Some(disc) = self.src.raw_disc() {
            return Ok((1..=disc.session_count())
                .filter_map(|n| {
                    let start = u64::try_from(disc.session_start(Some(n)).ok()?).ok()?;
                    Some(Session { number: n, start, blocks: None, volume_id: None })
                })
                .collect());
        }
        let list = self.src.iso_sessions()?;
        Ok(list
            .into_iter()
            .enumerate()
            .map(|(i, s)| Session {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                start: s.start,
                blocks: Some(s.blocks),
                volume_id: Some(s.volume_id),
            })
            .collect())
    }

    /// The volumes found at the session read (each probed and opened once, then kept).
    pub fn volumes(&self) -> Result<Volumes> {
        Ok(Volumes { iso9660: self.iso_state()?.probed(), udf: self.udf_state()?.probed() })
    }

    /// The view [`View::Auto`] reads: `udf` when a UDF volume opens, else the best ISO 9660 view; none when no
    /// file system can be read.
    pub fn default_view(&self) -> Option<&'static str> {
        match self.udf_state().ok()? {
            State::Found { .. } => Some("udf"),
            State::Unreadable(_) => None,
            State::Absent => match self.iso_state().ok()? {
                State::Found { summary, .. } => Some(summary.best_view),
                _ => None,
            },
        }
    }

    /// The tree of `view`: for [`View::Auto`] UDF if present, else Rock Ridge, else Joliet, else plain ISO 9660.
    /// Asking for a view the image lacks is an error naming it.
    pub fn tree(&self, view: View) -> Result<Box<dyn Tree>> {
        let (src, opts) = (&self.src, &self.read);
        match view {
            View::Udf => udf::tree(self.take_udf()?, src, opts),
            View::Iso9660 | View::Joliet | View::RockRidge | View::Iso9660_1999 => {
                iso::tree(self.take_iso()?, src, opts, view)
            }
            View::Auto => {
                if self.udf_state()?.present() {
                    udf::tree(self.take_udf()?, src, opts)
                } else if self.iso_state()?.present() {
                    iso::tree(self.take_iso()?, src, opts, view)
                } else {
                    bail!("{}", no_file_system(src))
                }
            }
        }
    }

    /// What `odix info` shows: every section of every format present, and the warnings met while gathering them
    /// (a format present but too damaged to describe is a warning when another one can still be shown).
    pub fn info(&self) -> Result<Info> {
        let (src, opts) = (&self.src, &self.read);
        let mut out = raw::info(src, opts)?;
        let mut warnings = Vec::new();
        let iso_present = self.iso_state()?.present();
        let udf_present = self.udf_state()?.present();
        let default_view = self.default_view();
        let mut failed = None;
        if iso_present {
            match self.take_iso().and_then(|o| iso::info(src, opts, o, &mut warnings)) {
                Ok(s) => out.extend(s),
                Err(e) if opts.strict || !udf_present => return Err(e),
                Err(e) => failed = Some(e),
            }
        }
        if udf_present {
            match self.take_udf().and_then(|v| udf::info(src, opts, v, &mut warnings)) {
                Ok(s) => out.extend(s),
                Err(e) if opts.strict || out.is_empty() => return Err(e),
                Err(e) => warnings.push(format!("{e:#}")),
            }
        }
        if let Some(e) = failed {
            if out.is_empty() {
                return Err(e);
            }
            warnings.push(format!("{e:#}"));
        }
        if !iso_present && !udf_present && out.is_empty() {
            bail!("{}", no_file_system(src));
        }
        Ok(Info { sections: out, warnings: warnings.into_iter().map(Warning).collect(), default_view })
    }

    /// `odix extract --boot DIR`: writes the boot catalog (`boot.catalog`, its first sector) and each El Torito
    /// boot image (`boot-N-PLATFORM-EMULATION.img`) into `dir`, and one line for each to `out`; the reader's
    /// warnings go to `warn`. A boot image is as long as the file of the ISO tree whose data starts at its LBA;
    /// when no file does (an appended partition, say), it is the entry's sector count × 512 bytes.
    pub fn extract_boot(&self, dir: &Path, out: &mut dyn Write, warn: &mut dyn FnMut(String)) -> Result<u8> {
        iso::extract_boot(&self.src, &self.read, self.take_iso()?, dir, out, warn)
    }

    /// The ISO 9660 volume: probed (`CD001` at the session start + 16) and, when there, opened, once.
    fn iso_state(&self) -> Result<&State<iso::Opened, IsoVolume>> {
        if let Some(s) = self.iso.get() {
            return Ok(s);
        }
        let state = if !iso::probe(&self.src, &self.read)? {
            State::Absent
        } else {
            match iso::Opened::open(&self.src, &self.read) {
                Ok(o) => State::Found { summary: o.summary(), cached: Mutex::new(Some(o)) },
                Err(e) => State::Unreadable(format!("{e:#}")),
            }
        };
        Ok(self.iso.get_or_init(|| state))
    }

    /// The UDF volume: probed (recognition sequence and anchor) and, when there, opened, once.
    fn udf_state(&self) -> Result<&State<Volume<Source>, UdfVolume>> {
        if let Some(s) = self.udf.get() {
            return Ok(s);
        }
        let state = if !udf::probe(&self.src, &self.read)? {
            State::Absent
        } else {
            match udf::open_volume(&self.src, &self.read) {
                Ok(v) => {
                    let summary = UdfVolume { revision: v.info().revision(), block_size: v.info().block_size };
                    State::Found { summary, cached: Mutex::new(Some(v)) }
                }
                Err(e) => State::Unreadable(format!("{e:#}")),
            }
        };
        Ok(self.udf.get_or_init(|| state))
    }

    /// The opened ISO 9660 volume: the one kept from probing if nothing took it yet, else opened anew (which also
    /// gives the reader's own error when there is no volume).
    fn take_iso(&self) -> Result<iso::Opened> {
        match self.iso.get() {
            Some(State::Unreadable(e)) => Err(anyhow!("{e}")),
            Some(s) => match s.take() {
                Some(o) => Ok(o),
                None => iso::Opened::open(&self.src, &self.read),
            },
            None => iso::Opened::open(&self.src, &self.read),
        }
    }

    /// The opened UDF volume, as [`Image::take_iso`].
    fn take_udf(&self) -> Result<Volume<Source>> {
        match self.udf.get() {
            Some(State::Unreadable(e)) => Err(anyhow!("{e}")),
            Some(s) => match s.take() {
                Some(v) => Ok(v),
                None => udf::open_volume(&self.src, &self.read),
            },
            None => udf::open_volume(&self.src, &self.read),
        }
    }
}

/// The character set `opts` names.
fn charset(opts: &Options) -> Result<Option<&'static encoding_rs::Encoding>> {
    match &opts.charset {
        Some(label) => Ok(Some(
            encoding_rs::Encoding::for_label(label.as_bytes())
                .with_context(|| format!("unknown character set {label:?}"))?,
        )),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Read;
    use std::process::Command;

    use super::{Image, Options, Probed, View};
    use crate::source::RAW_DISCS_BUILT;
    use crate::tree::resolve;

    /// A BIN/CUE of an ISO image xorriso made of one file: the ISO's sectors as Mode 1 raw sectors.
    fn bin_cue(dir: &std::path::Path) -> Option<(std::path::PathBuf, Vec<u8>)> {
        let xorriso = odix_testdata::require_tool("xorriso")?;
        let src = dir.join("src");
        fs::create_dir_all(src.join("sub")).ok()?;
        fs::write(src.join("sub/hello.txt"), b"hello from a cue\n").ok()?;
        let iso = dir.join("x.iso");
        let out = Command::new(xorriso)
            .args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"])
            .arg(&iso)
            .arg(&src)
            .output()
            .ok()?;
        assert!(out.status.success(), "xorriso: {}", String::from_utf8_lossy(&out.stderr));
        let iso_bytes = fs::read(&iso).ok()?;
        let mut bin = fs::File::create(dir.join("x.bin")).ok()?;
        odix_cdrip::image::write_mode1_track(&mut iso_bytes.as_slice(), &mut bin, 0).ok()?;
        let cue = dir.join("x.cue");
        fs::write(&cue, "FILE \"x.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n").ok()?;
        Some((cue, iso_bytes))
    }

    fn built() -> usize {
        RAW_DISCS_BUILT.with(|n| n.get())
    }

    /// Everything a command does with a `.cue` (open, volumes, info, trees of two views, a file's contents, a
    /// fresh sector reader, the sessions) parses the sheet and lays out its disc once.
    #[test]
    fn a_cue_is_parsed_once_per_open() {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let Some((cue, iso)) = bin_cue(tmp.path()) else { return };
        let before = built();
        let image = Image::open(&cue, &Options::default()).expect("open");
        assert_eq!(built() - before, 1, "Image::open lays out the disc once");
        let volumes = image.volumes().expect("volumes");
        let Probed::Found(v) = &volumes.iso9660 else { panic!("no ISO 9660 volume: {volumes:?}") };
        assert!(v.joliet && v.rock_ridge.is_some(), "{v:?}");
        assert!(!volumes.udf.is_present());
        let info = image.info().expect("info");
        assert!(info.sections.iter().any(|s| s.key == "tracks"));
        assert!(info.sections.iter().any(|s| s.key == "iso9660"));
        assert!(info.warnings.is_empty(), "{:?}", info.warnings);
        assert_eq!(info.default_view, Some("rockridge"));
        for view in [View::Auto, View::Joliet] {
            let mut tree = image.tree(view).expect("tree");
            let node = resolve(tree.as_mut(), "/sub/hello.txt".as_ref()).expect("resolve");
            let mut text = Vec::new();
            tree.open(&node).expect("open file").read_to_end(&mut text).expect("read");
            assert_eq!(text, b"hello from a cue\n");
        }
        let mut cooked = Vec::new();
        image.reader().expect("reader").read_to_end(&mut cooked).expect("read the sectors");
        assert_eq!(cooked, iso, "the cooked sectors are the ISO's");
        assert_eq!(image.sessions().expect("sessions").len(), 1);
        assert_eq!(built() - before, 1, "nothing after Image::open lays out the disc again");
        assert_eq!(image.raw_disc().map(|d| d.tracks().len()), Some(1));
    }

    /// An image can be shared between threads (a server answering from several).
    #[test]
    fn an_image_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Image>();
    }

    /// The same image through a reader: the ISO's bytes in memory.
    #[test]
    fn from_reader_reads_the_same_tree() {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let Some((_, iso)) = bin_cue(tmp.path()) else { return };
        let image = Image::from_reader(std::io::Cursor::new(iso), &Options::default()).expect("open");
        assert!(image.raw_disc().is_none() && image.plain_file().is_none());
        let mut tree = image.tree(View::RockRidge).expect("tree");
        let node = resolve(tree.as_mut(), "/sub/hello.txt".as_ref()).expect("resolve");
        assert_eq!(node.size, 17);
        assert!(tree.plain_ranges(&node).is_none(), "a reader's sectors are no file's bytes");
        assert!(image.tree(View::Udf).is_err());
        assert_eq!(image.path(), std::path::Path::new("<reader>"));
    }
}

//! A raw disc image (CUE sheet + files, or CloneCD `.ccd` + `.img`) as a list of tracks on the disc's LBA
//! axis, and a reader of the 2048-byte user data of its data tracks.
//!
//! LBAs count from the start of the disc (LBA 0 = MSF 00:02:00 = INDEX 01 of track 1), so the absolute
//! block numbers inside an ISO 9660 file system of any session can be used unchanged.
//!
//! How a CUE sheet is laid on that axis:
//! - sectors stored in a `FILE` follow each other; a track's stored part begins at its `INDEX 00` (a stored
//!   pregap) or else its `INDEX 01`, and ends where the next track of the same file begins, or at the end of
//!   the file;
//! - `PREGAP` and `POSTGAP` add sectors that are on the disc but not in the file (read as zeros);
//! - a new `REM SESSION` adds the previous session's lead-out (6750 sectors after the first session, 2250
//!   after later ones) and the new session's lead-in (4500) — Orange Book part II; and, when the session's
//!   first track neither stores a pregap (`INDEX 00`) nor declares one (`PREGAP`), the 150-sector pregap every
//!   session's first track has.
//!
//! A CloneCD image needs none of this: its TOC gives every track's LBA. The `.img` holds each session from
//! INDEX 01 of its first track up to its lead-out (point A2), the sessions one after the other, so a
//! single-session image holds LBA n at byte n × 2352.

use std::fs::File as FsFile;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::ccd::{self, CcdFile};
use crate::cue::{self, CueSheet, FileType, TrackMode};
use crate::detect::{self, ImageFormat};
use crate::error::{Error, Result};
use crate::sector::{self, RawSector, MAX_LBA, RAW_SECTOR_LEN, USER_DATA_LEN};
use crate::store::ByteStore;

/// Lead-out length of the first session, in sectors.
pub const FIRST_LEADOUT: i64 = 6750;
/// Lead-out length of later sessions, in sectors.
pub const LATER_LEADOUT: i64 = 2250;
/// Lead-in length of every session after the first, in sectors.
pub const LEADIN: i64 = 4500;
/// Pregap of a session's first track, in sectors.
pub const SESSION_PREGAP: i64 = 150;

/// Which description the image came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SheetKind {
    /// A CUE sheet.
    Cue,
    /// A CloneCD control file.
    CloneCd,
    /// A Nero image: its footer describes the tracks.
    Nrg,
    /// An Alcohol 120% descriptor and its `.mdf`.
    Mds,
    /// A DiscJuggler image.
    Cdi,
    /// A GD-ROM description and its per-track files.
    Gdi,
    /// A cdrdao table of contents and its data files.
    CdrdaoToc,
    /// A MAME CHD: its metadata describes the tracks, its hunks hold the sectors.
    Chd,
}

impl SheetKind {
    /// A short lowercase name: `cue`, `clonecd`, `nrg`, `mds`, `cdi`, `gdi`, `toc`, `chd`.
    pub fn name(self) -> &'static str {
        match self {
            SheetKind::Cue => "cue",
            SheetKind::CloneCd => "clonecd",
            SheetKind::Nrg => "nrg",
            SheetKind::Mds => "mds",
            SheetKind::Cdi => "cdi",
            SheetKind::Gdi => "gdi",
            SheetKind::CdrdaoToc => "toc",
            SheetKind::Chd => "chd",
        }
    }
}

/// One track placed on the disc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscTrack {
    /// 1..=99.
    pub number: u8,
    /// 1-based session.
    pub session: u32,
    /// Mode and sector size as stored.
    pub mode: TrackMode,
    /// Index into [`RawDisc::files`].
    pub file: usize,
    /// Byte offset of the first stored sector in its file.
    pub file_offset: u64,
    /// LBA of the first stored sector (`INDEX 00` when the pregap is stored).
    pub first_lba: i64,
    /// LBA of `INDEX 01`.
    pub start_lba: i64,
    /// Sectors stored in the file.
    pub stored: u64,
    /// Pregap sectors on the disc but not in the file (`PREGAP`, or a session's implied pregap).
    pub unstored_pregap: u32,
    /// Sectors after the track on the disc but not in the file (`POSTGAP`).
    pub postgap: u32,
    /// Bytes stored after each sector's [`TrackMode::sector_size`] bytes: 0, or 96 for images that interleave
    /// the subchannel with the sectors (NRG, MDF, CDI, CHD, cdrdao TOC may), 16 for a Q-only one (CDI).
    pub sub_bytes: u32,
}

impl DiscTrack {
    /// One past the last stored LBA.
    pub fn end_lba(&self) -> i64 {
        self.first_lba.saturating_add(i64::try_from(self.stored).unwrap_or(i64::MAX))
    }

    /// Whether `lba` is one of the stored sectors.
    pub fn holds(&self, lba: i64) -> bool {
        lba >= self.first_lba && lba < self.end_lba()
    }

    /// Bytes per stored sector.
    pub fn sector_size(&self) -> u32 {
        self.mode.sector_size()
    }

    /// Bytes each sector takes in its file: [`DiscTrack::sector_size`] plus any interleaved subchannel.
    pub fn stride(&self) -> u32 {
        self.mode.sector_size().saturating_add(self.sub_bytes)
    }

    /// Stored bytes.
    pub fn stored_bytes(&self) -> u64 {
        self.stored.saturating_mul(u64::from(self.stride()))
    }
}

/// One file an image is stored in.
#[derive(Debug)]
pub struct ImageFile {
    /// Where it is.
    pub path: PathBuf,
    /// How it stores sectors.
    pub file_type: FileType,
    /// Its length in bytes.
    pub len: u64,
    reader: Option<BufReader<FsFile>>,
    pos: u64,
    store: Option<Box<dyn ByteStore>>,
}

impl ImageFile {
    /// A file on disk, read as it is; its length is read now.
    ///
    /// # Errors
    /// [`Error::MissingFile`] (naming `sheet`) when it cannot be opened or is a folder.
    pub fn new(sheet: &Path, path: PathBuf, file_type: FileType) -> Result<ImageFile> {
        let len = file_len(sheet, &path)?;
        Ok(ImageFile { path, file_type, len, reader: None, pos: 0, store: None })
    }

    /// A file whose bytes come from `store` (a decompressed container, a decoded audio file); `path` names it
    /// in messages. Its sectors are read as [`FileType::Binary`] ones.
    pub fn from_store(path: PathBuf, store: Box<dyn ByteStore>) -> ImageFile {
        let len = store.len();
        ImageFile { path, file_type: FileType::Binary, len, reader: None, pos: 0, store: Some(store) }
    }

    /// The store its bytes come from, when they are not the file's own.
    pub fn store(&self) -> Option<&dyn ByteStore> {
        self.store.as_deref()
    }

    /// Reads `buf.len()` bytes from `offset`, without moving the buffered reader (for a second reader of the
    /// same file, such as a hash pass).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn read_at_shared(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let io = |source| Error::Io { path: self.path.clone(), source };
        match &self.store {
            Some(s) => s.read_at(offset, buf).map_err(io),
            None => {
                use std::os::unix::fs::FileExt;
                FsFile::open(&self.path).and_then(|f| f.read_exact_at(buf, offset)).map_err(io)
            }
        }
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let io = |source| Error::Io { path: self.path.clone(), source };
        if let Some(s) = &self.store {
            return s.read_at(offset, buf).map_err(io);
        }
        if self.reader.is_none() {
            let f = FsFile::open(&self.path).map_err(io)?;
            self.reader = Some(BufReader::with_capacity(64 * 1024, f));
            self.pos = u64::MAX;
        }
        let Some(r) = self.reader.as_mut() else {
            return Err(Error::InvalidArgument("file not open".into()));
        };
        let res = (|| {
            if self.pos != offset {
                r.seek(SeekFrom::Start(offset))?;
            }
            r.read_exact(buf)
        })();
        match res {
            Ok(()) => {
                self.pos = offset.saturating_add(buf.len() as u64);
                Ok(())
            }
            Err(source) => {
                self.pos = u64::MAX;
                Err(Error::Io { path: self.path.clone(), source })
            }
        }
    }
}

/// What is at an LBA of the disc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectorAt {
    /// A stored sector of track `track` (index into [`RawDisc::tracks`]).
    Stored {
        /// Index into [`RawDisc::tracks`].
        track: usize,
    },
    /// A pregap, postgap or session gap sector that is not stored.
    Gap,
    /// Past the last stored sector.
    End,
}

/// A raw disc image opened from its description.
#[derive(Debug)]
pub struct RawDisc {
    sheet: PathBuf,
    kind: SheetKind,
    files: Vec<ImageFile>,
    tracks: Vec<DiscTrack>,
    cue: Option<CueSheet>,
    ccd: Option<CcdFile>,
    subchannel: Option<PathBuf>,
    /// Tracks (by index) whose interleaved bytes after each sector hold no subchannel (a CHD's `SUBTYPE:NONE`).
    no_subchannel: Vec<bool>,
}

fn file_len(sheet: &Path, path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .and_then(|m| {
            if m.is_dir() {
                Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"))
            } else {
                Ok(m.len())
            }
        })
        .map_err(|source| Error::MissingFile { sheet: sheet.to_path_buf(), file: path.to_path_buf(), source })
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl RawDisc {
    /// Opens a raw disc image, recognised by its content ([`detect::detect`]): a CUE sheet or CloneCD `.ccd`, or
    /// one of the formats whose readers plug in here.
    ///
    /// # Errors
    /// Syntax errors of the description, [`Error::MissingFile`] for a file it names that cannot be opened,
    /// [`Error::Layout`] when the tracks do not fit their files or the disc.
    pub fn open(path: &Path) -> Result<RawDisc> {
        let format = detect::detect(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        RawDisc::open_as(path, format)
    }

    /// Opens `path` as the format [`detect::detect`] found. A plain file is read as a `.ccd` when it is named
    /// so, else as a CUE sheet (whose parser then says what is wrong with it).
    ///
    /// # Errors
    /// As [`RawDisc::open`]; [`Error::UnreadFormat`] for a format odix does not read.
    pub fn open_as(path: &Path, format: ImageFormat) -> Result<RawDisc> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match format {
            ImageFormat::CloneCd => RawDisc::from_ccd(path, CcdFile::open(path)?),
            ImageFormat::Cue => RawDisc::from_cue(path, CueSheet::open(path)?),
            ImageFormat::Plain if ext.as_deref() == Some("ccd") => RawDisc::from_ccd(path, CcdFile::open(path)?),
            ImageFormat::Plain => RawDisc::from_cue(path, CueSheet::open(path)?),
            ImageFormat::Chd => crate::chd::open(path),
            ImageFormat::Nrg => crate::nrg::open(path),
            ImageFormat::Mds => crate::mds::open(path),
            ImageFormat::Cdi => crate::cdi::open(path),
            ImageFormat::Gdi => crate::gdi::open(path),
            ImageFormat::CdrdaoToc => crate::toc::open(path),
            other => Err(Error::UnreadFormat { path: path.to_path_buf(), format: other.name() }),
        }
    }

    /// The one data track of a bare run of raw 2352-byte sectors at `path` (a BIN without its sheet, or what an
    /// ECM, CSO or ZSO container holds): a whole number of sectors, the first opening with the sync field and
    /// mode 1 or 2. Gives back the store when it is not such a run, with the disc the mode byte of its first
    /// sector.
    ///
    /// # Errors
    /// [`Error::Layout`] naming `path` when the track cannot be laid out.
    pub fn from_bare_store(
        path: &Path,
        store: Box<dyn ByteStore>,
    ) -> Result<std::result::Result<(RawDisc, u8), Box<dyn ByteStore>>> {
        const RAW: u64 = RAW_SECTOR_LEN as u64;
        let mut head = [0u8; 16];
        let raw = store.len() >= RAW
            && store.len().is_multiple_of(RAW)
            && store.read_at(0, &mut head).is_ok()
            && head[..12] == sector::SYNC
            && (head[15] == 1 || head[15] == 2);
        if !raw {
            return Ok(Err(store));
        }
        let mode = if head[15] == 1 { TrackMode::Mode1_2352 } else { TrackMode::Mode2_2352 };
        let file = ImageFile::from_store(path.to_path_buf(), store);
        let track = DiscTrack {
            number: 1,
            session: 1,
            mode,
            file: 0,
            file_offset: 0,
            first_lba: 0,
            start_lba: 0,
            stored: file.len / RAW,
            unstored_pregap: 0,
            postgap: 0,
            sub_bytes: 0,
        };
        Ok(Ok((RawDisc::from_parts(path, SheetKind::Cue, vec![file], vec![track])?, head[15])))
    }

    /// A disc made of `files` and `tracks` by a format's own reader, described by the file at `sheet`. Checks
    /// what every layout must hold: tracks in order, not overlapping, inside the 100 minutes a CD can address,
    /// each one's stored sectors inside its file.
    ///
    /// # Errors
    /// [`Error::Layout`] naming `sheet` when they do not.
    pub fn from_parts(sheet: &Path, kind: SheetKind, files: Vec<ImageFile>, tracks: Vec<DiscTrack>) -> Result<RawDisc> {
        let layout = |message: String| Error::Layout { sheet: sheet.to_path_buf(), message };
        if tracks.is_empty() {
            return Err(layout("no tracks".into()));
        }
        for t in &tracks {
            let f = files.get(t.file).ok_or_else(|| layout(format!("track {:02} names no file", t.number)))?;
            let end = t.file_offset.checked_add(t.stored_bytes()).filter(|&e| e <= f.len);
            if end.is_none() || t.stored == 0 {
                return Err(layout(format!(
                    "track {:02} needs {} sectors of {} bytes from byte {} of {}, which has {} bytes",
                    t.number,
                    t.stored,
                    t.stride(),
                    t.file_offset,
                    f.path.display(),
                    f.len
                )));
            }
            if t.start_lba < t.first_lba || t.start_lba >= t.end_lba() {
                return Err(layout(format!("track {:02}: INDEX 01 outside its stored sectors", t.number)));
            }
        }
        let disc = RawDisc {
            sheet: sheet.to_path_buf(),
            kind,
            files,
            tracks,
            cue: None,
            ccd: None,
            subchannel: None,
            no_subchannel: Vec::new(),
        };
        disc.check_fits()?;
        Ok(disc)
    }

    /// Lays out a parsed CUE sheet found at `sheet_path` (whose folder its relative file names are taken from).
    ///
    /// # Errors
    /// As [`RawDisc::open`].
    pub fn from_cue(sheet_path: &Path, sheet: CueSheet) -> Result<RawDisc> {
        let layout = |message: String| Error::Layout { sheet: sheet_path.to_path_buf(), message };
        let mut files = Vec::new();
        let mut tracks: Vec<DiscTrack> = Vec::new();
        let mut pos: i64 = 0;
        let mut session = 1u32;
        for (fi, f) in sheet.files.iter().enumerate() {
            let path = cue::resolve_file(sheet_path, &f.name);
            // A WAVE or FLAC file (a FLAC file may be named WAVE too) is read as the raw sectors its samples make; a missing file
            // may be kept as NAME.ecm beside it.
            let file = match (f.file_type, crate::container::ecm_beside(&path)?) {
                (FileType::Wave | FileType::Flac, _) => crate::audiofile::image_file(sheet_path, path)?,
                (file_type, Some(store)) => {
                    ImageFile { path, file_type, len: store.len(), reader: None, pos: 0, store: Some(store) }
                }
                (file_type, None) => ImageFile::new(sheet_path, path, file_type)?,
            };
            let len = file.len;
            files.push(file);
            let mut offset: u64 = 0;
            let mut prev: Option<(u32, u32)> = None; // (file start frames, sector size) of the previous track
            for (ti, t) in f.tracks.iter().enumerate() {
                let start_frames = t.file_start().map_or(0, |fr| fr.0);
                let size = t.mode.sector_size();
                offset = match prev {
                    None => u64::from(start_frames).saturating_mul(u64::from(size)),
                    Some((pf, ps)) => {
                        offset.saturating_add(u64::from(start_frames.saturating_sub(pf)).saturating_mul(u64::from(ps)))
                    }
                };
                if offset > len {
                    return Err(layout(format!(
                        "track {:02} starts at byte {offset} of {}, which has only {len} bytes",
                        t.number, f.name
                    )));
                }
                let stored = match f.tracks.get(ti.saturating_add(1)).and_then(|n| n.file_start()) {
                    Some(next) => u64::from(next.0.saturating_sub(start_frames)),
                    None => {
                        let fit = len.saturating_sub(offset).checked_div(u64::from(size)).unwrap_or(0);
                        if fit == 0 {
                            return Err(layout(format!(
                                "track {:02}: no complete sector left in {}",
                                t.number, f.name
                            )));
                        }
                        fit
                    }
                };
                let end = offset.saturating_add(stored.saturating_mul(u64::from(size)));
                if end > len && !matches!(f.file_type, FileType::Aiff | FileType::Mp3) {
                    return Err(layout(format!(
                        "track {:02} needs bytes up to {end} of {}, which has only {len} bytes",
                        t.number, f.name
                    )));
                }
                let mut unstored = t.pregap.map_or(0, |p| p.0);
                if t.session > session {
                    let leadout = if session == 1 { FIRST_LEADOUT } else { LATER_LEADOUT };
                    pos = pos.saturating_add(leadout).saturating_add(LEADIN);
                    if t.pregap.is_none() && t.index(0).is_none() {
                        unstored = u32::try_from(SESSION_PREGAP).unwrap_or(150);
                    }
                    session = t.session;
                }
                pos = pos.saturating_add(i64::from(unstored));
                let first_lba = pos;
                let index1 = t.index(1).map_or(start_frames, |fr| fr.0);
                let start_lba = first_lba.saturating_add(i64::from(index1.saturating_sub(start_frames)));
                let postgap = t.postgap.map_or(0, |p| p.0);
                pos = first_lba.saturating_add(to_i64(stored)).saturating_add(i64::from(postgap));
                tracks.push(DiscTrack {
                    number: t.number,
                    session: t.session,
                    mode: t.mode,
                    file: fi,
                    file_offset: offset,
                    first_lba,
                    start_lba,
                    stored,
                    unstored_pregap: unstored,
                    postgap,
                    sub_bytes: 0,
                });
                prev = Some((start_frames, size));
            }
        }
        // LBA 0 is INDEX 01 of the first track, but for an audio first track whose pregap the file stores: there
        // the file starts at LBA 0 and INDEX 01 comes later (hidden track one audio, as EAC, whipper and odix's
        // ripper write it; a drive cannot read the two seconds before LBA 0, so no rip stores them). A data
        // track's INDEX 01 is always LBA 0, its file system's LBAs counting from there.
        let shift = tracks.first().map_or(0, |t| if t.mode.is_data() { t.start_lba } else { t.first_lba });
        for t in &mut tracks {
            t.first_lba = t.first_lba.saturating_sub(shift);
            t.start_lba = t.start_lba.saturating_sub(shift);
        }
        let disc = RawDisc {
            sheet: sheet_path.to_path_buf(),
            kind: SheetKind::Cue,
            files,
            tracks,
            cue: Some(sheet),
            ccd: None,
            subchannel: None,
            no_subchannel: Vec::new(),
        };
        disc.check_fits()?;
        Ok(disc)
    }

    /// Lays out a parsed CloneCD control file found at `ccd_path`.
    ///
    /// # Errors
    /// As [`RawDisc::open`]; [`Error::Unsupported`] for images whose data tracks are stored scrambled.
    pub fn from_ccd(ccd_path: &Path, ccd: CcdFile) -> Result<RawDisc> {
        let layout = |message: String| Error::Layout { sheet: ccd_path.to_path_buf(), message };
        if ccd.scrambled {
            return Err(Error::Unsupported { what: "a CloneCD image with scrambled data tracks".into() });
        }
        let (img, sub) = ccd::companion_files(ccd_path);
        let len = file_len(ccd_path, &img)?;
        let img_sectors = to_i64(len.checked_div(RAW_SECTOR_LEN as u64).unwrap_or(0));
        // Each session is stored from INDEX 01 of its first track up to its lead-out, sessions one after the
        // other: `base` is the image sector where the current session begins.
        let mut tracks: Vec<DiscTrack> = Vec::new();
        let mut base: i64 = 0;
        let mut session_first: Option<(u32, i64)> = None;
        for (i, t) in ccd.tracks.iter().enumerate() {
            let first_of_session = match session_first {
                Some((s, first)) if s == t.session => first,
                _ => {
                    if let (Some((s, first)), Some(prev)) = (session_first, tracks.last()) {
                        let leadout = ccd.leadouts.get(&s).copied().unwrap_or(prev.end_lba());
                        base = base.saturating_add(leadout.saturating_sub(first));
                    }
                    session_first = Some((t.session, t.start));
                    t.start
                }
            };
            let first_lba = t.index0.filter(|&i0| i0 >= first_of_session).unwrap_or(t.start);
            let next = ccd.tracks.get(i.saturating_add(1));
            let end = match next {
                Some(n) if n.session == t.session => n.index0.unwrap_or(n.start),
                _ => ccd.leadouts.get(&t.session).copied().unwrap_or(i64::MAX),
            };
            let file_sector = base.saturating_add(first_lba.saturating_sub(first_of_session));
            // What the image holds of the track.
            let end = end.min(first_lba.saturating_add(img_sectors.saturating_sub(file_sector)));
            if end <= first_lba || file_sector < 0 {
                return Err(layout(format!(
                    "track {:02} at LBA {first_lba} has no sectors in {} ({} sectors)",
                    t.number,
                    img.display(),
                    img_sectors
                )));
            }
            let mode = match t.mode {
                0 => TrackMode::Audio,
                1 => TrackMode::Mode1_2352,
                _ => TrackMode::Mode2_2352,
            };
            tracks.push(DiscTrack {
                number: t.number,
                session: t.session,
                mode,
                file: 0,
                file_offset: u64::try_from(file_sector).unwrap_or(0).saturating_mul(RAW_SECTOR_LEN as u64),
                first_lba,
                start_lba: t.start,
                stored: u64::try_from(end.saturating_sub(first_lba)).unwrap_or(0),
                unstored_pregap: u32::try_from(first_lba.saturating_sub(t.index0.unwrap_or(first_lba))).unwrap_or(0),
                postgap: 0,
                sub_bytes: 0,
            });
        }
        let disc = RawDisc {
            sheet: ccd_path.to_path_buf(),
            kind: SheetKind::CloneCd,
            files: vec![ImageFile { path: img, file_type: FileType::Binary, len, reader: None, pos: 0, store: None }],
            tracks,
            cue: None,
            ccd: Some(ccd),
            subchannel: sub,
            no_subchannel: Vec::new(),
        };
        disc.check_fits()?;
        Ok(disc)
    }

    fn check_fits(&self) -> Result<()> {
        if let Some(last) = self.tracks.last() {
            let end = last.end_lba().saturating_add(i64::from(last.postgap));
            if end > MAX_LBA.saturating_add(1) {
                return Err(Error::Layout {
                    sheet: self.sheet.clone(),
                    message: format!("the tracks end at LBA {end}, past the 100 minutes a CD can address"),
                });
            }
        }
        for pair in self.tracks.windows(2) {
            if let [a, b] = pair {
                if b.first_lba < a.end_lba() {
                    return Err(Error::Layout {
                        sheet: self.sheet.clone(),
                        message: format!("track {:02} overlaps track {:02}", b.number, a.number),
                    });
                }
            }
        }
        Ok(())
    }

    /// The `.cue` or `.ccd` path.
    pub fn sheet_path(&self) -> &Path {
        &self.sheet
    }

    /// CUE sheet or CloneCD.
    pub fn kind(&self) -> SheetKind {
        self.kind
    }

    /// The parsed CUE sheet, for CUE images.
    pub fn cue(&self) -> Option<&CueSheet> {
        self.cue.as_ref()
    }

    /// The parsed control file, for CloneCD images.
    pub fn ccd(&self) -> Option<&CcdFile> {
        self.ccd.as_ref()
    }

    /// The `.sub` file of a CloneCD image, when present.
    pub fn subchannel(&self) -> Option<&Path> {
        self.subchannel.as_deref()
    }

    /// Marks the tracks (by index) whose bytes after each sector are not subchannel, though they take 96 or more.
    pub(crate) fn set_no_subchannel(&mut self, tracks: Vec<bool>) {
        self.no_subchannel = tracks;
    }

    /// Whether track `ti` has its subchannel stored: in a CloneCD `.sub`, or 96 bytes after each sector.
    pub fn has_subchannel(&self, ti: usize) -> bool {
        let Some(t) = self.tracks.get(ti) else { return false };
        if self.subchannel.is_some() {
            return true;
        }
        t.sub_bytes >= crate::subq::SUB_BYTES as u32
            && t.mode != TrackMode::Cdg
            && !self.no_subchannel.get(ti).copied().unwrap_or(false)
    }

    /// The stored subchannel of `lba` (a stored sector of track `ti`) in its raw interleaved form (see
    /// [`crate::subq::raw_to_packed`]), or `None` when the track has none ([`RawDisc::has_subchannel`]) or a
    /// CloneCD `.sub` ends before it.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::InvalidArgument`] when `lba` is not stored in track `ti`.
    pub fn read_subchannel(&self, ti: usize, lba: i64) -> Result<Option<[u8; crate::subq::SUB_BYTES]>> {
        const SUB: u64 = crate::subq::SUB_BYTES as u64;
        let t = self.tracks.get(ti).ok_or_else(|| Error::InvalidArgument(format!("no track index {ti}")))?;
        if !t.holds(lba) {
            return Err(Error::InvalidArgument(format!("LBA {lba} is not a stored sector of track {:02}", t.number)));
        }
        if !self.has_subchannel(ti) {
            return Ok(None);
        }
        let rel = u64::try_from(lba.saturating_sub(t.first_lba)).unwrap_or(0);
        let mut out = [0u8; crate::subq::SUB_BYTES];
        if let Some(path) = &self.subchannel {
            // A CloneCD `.sub` holds 96 bytes for each sector of the `.img`, its channels one after the other.
            let sector = t.file_offset.checked_div(RAW_SECTOR_LEN as u64).unwrap_or(0).saturating_add(rel);
            let at = sector.saturating_mul(SUB);
            let io = |source| Error::Io { path: path.clone(), source };
            let f = FsFile::open(path).map_err(io)?;
            if f.metadata().map_err(io)?.len() < at.saturating_add(SUB) {
                return Ok(None);
            }
            std::os::unix::fs::FileExt::read_exact_at(&f, &mut out, at).map_err(io)?;
            return Ok(Some(crate::subq::packed_to_raw(&out)));
        }
        let at = t
            .file_offset
            .saturating_add(rel.saturating_mul(u64::from(t.stride())))
            .saturating_add(u64::from(t.stride()))
            .saturating_sub(SUB);
        let file = self.files.get(t.file).ok_or_else(|| Error::InvalidArgument("no such file".into()))?;
        file.read_at_shared(at, &mut out)?;
        Ok(Some(out))
    }

    /// The files holding the sectors.
    pub fn files(&self) -> &[ImageFile] {
        &self.files
    }

    /// The tracks in order.
    pub fn tracks(&self) -> &[DiscTrack] {
        &self.tracks
    }

    /// Number of sessions.
    pub fn session_count(&self) -> u32 {
        self.tracks.iter().map(|t| t.session).max().unwrap_or(1)
    }

    /// The session to read: `requested`, or the last one that holds a data track.
    ///
    /// # Errors
    /// [`Error::NoSuchSession`], [`Error::NoDataTrack`].
    pub fn choose_session(&self, requested: Option<u32>) -> Result<u32> {
        let count = self.session_count();
        let s = match requested {
            Some(n) if n == 0 || n > count => {
                return Err(Error::NoSuchSession { sheet: self.sheet.clone(), session: n, count })
            }
            Some(n) => n,
            None => self
                .tracks
                .iter()
                .rev()
                .find(|t| t.mode.is_data())
                .map(|t| t.session)
                .ok_or_else(|| Error::NoDataTrack { sheet: self.sheet.clone(), session: count })?,
        };
        if !self.tracks.iter().any(|t| t.session == s && t.mode.is_data()) {
            return Err(Error::NoDataTrack { sheet: self.sheet.clone(), session: s });
        }
        Ok(s)
    }

    /// The LBA of INDEX 01 of the first data track of `session`: where its file system begins (volume
    /// descriptors at this LBA + 16).
    ///
    /// # Errors
    /// As [`RawDisc::choose_session`].
    pub fn session_start(&self, session: Option<u32>) -> Result<i64> {
        let s = self.choose_session(session)?;
        self.tracks
            .iter()
            .find(|t| t.session == s && t.mode.is_data())
            .map(|t| t.start_lba)
            .ok_or_else(|| Error::NoDataTrack { sheet: self.sheet.clone(), session: s })
    }

    /// What is at `lba`.
    pub fn locate(&self, lba: i64) -> SectorAt {
        match self.tracks.iter().position(|t| t.holds(lba)) {
            Some(track) => SectorAt::Stored { track },
            None if self.tracks.last().is_some_and(|t| lba >= t.end_lba()) => SectorAt::End,
            None => SectorAt::Gap,
        }
    }

    /// Reads the stored bytes of sector `lba` of track `ti` (as the file holds them: 2048, 2336, 2352, ...
    /// bytes) into `buf`, which must be exactly the track's sector size.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Unsupported`] for tracks in AIFF/MP3 files; [`Error::InvalidArgument`]
    /// when `lba` is not stored in the track.
    pub fn read_stored(&mut self, ti: usize, lba: i64, buf: &mut [u8]) -> Result<()> {
        let whole = self.tracks.get(ti).is_none_or(|t| buf.len() == t.sector_size() as usize);
        if !whole {
            return Err(Error::InvalidArgument(format!("LBA {lba}: a buffer of {} bytes is not a sector", buf.len())));
        }
        self.read_stored_part(ti, lba, buf)
    }

    /// As [`RawDisc::read_stored`], the first `buf.len()` bytes of the sector only.
    fn read_stored_part(&mut self, ti: usize, lba: i64, buf: &mut [u8]) -> Result<()> {
        let t = self.tracks.get(ti).ok_or_else(|| Error::InvalidArgument(format!("no track index {ti}")))?;
        if !t.holds(lba) || buf.len() > t.sector_size() as usize {
            return Err(Error::InvalidArgument(format!("LBA {lba} is not a stored sector of track {:02}", t.number)));
        }
        let rel = u64::try_from(lba.saturating_sub(t.first_lba)).unwrap_or(0);
        let offset = t.file_offset.saturating_add(rel.saturating_mul(u64::from(t.stride())));
        let file = self.files.get_mut(t.file).ok_or_else(|| Error::InvalidArgument("no such file".into()))?;
        if file.store.is_none() && !matches!(file.file_type, FileType::Binary | FileType::Motorola) {
            return Err(Error::Unsupported {
                what: format!("reading sectors from a {} file ({})", file.file_type.as_str(), file.path.display()),
            });
        }
        file.read_at(offset, buf)
    }

    /// The raw 2352-byte sector at `lba` of data track `ti`: as stored for 2352-byte tracks, with sync and
    /// header added for 2336-byte ones, and rebuilt (with EDC and ECC) for tracks that store only user data.
    ///
    /// # Errors
    /// As [`RawDisc::read_stored`].
    pub fn read_raw(&mut self, ti: usize, lba: i64) -> Result<RawSector> {
        let mode = self.tracks.get(ti).map(|t| t.mode).ok_or_else(|| Error::InvalidArgument("no such track".into()))?;
        let mut buf = vec![0u8; mode.sector_size() as usize];
        self.read_stored(ti, lba, &mut buf)?;
        let mut out = [0u8; RAW_SECTOR_LEN];
        match mode {
            TrackMode::Audio | TrackMode::Mode1_2352 | TrackMode::Mode2_2352 | TrackMode::Cdi2352 => {
                out.copy_from_slice(buf.get(..RAW_SECTOR_LEN).unwrap_or(&[0; RAW_SECTOR_LEN]));
            }
            TrackMode::Cdg => out.copy_from_slice(buf.get(..RAW_SECTOR_LEN).unwrap_or(&[0; RAW_SECTOR_LEN])),
            TrackMode::Mode2_2336 | TrackMode::Cdi2336 => {
                let mut p = [0u8; sector::MODE2_PAYLOAD_LEN];
                p.copy_from_slice(buf.get(..sector::MODE2_PAYLOAD_LEN).unwrap_or(&[0; sector::MODE2_PAYLOAD_LEN]));
                out = sector::from_mode2_payload(lba, &p)?;
            }
            TrackMode::Mode1_2048 | TrackMode::Mode2_2048 => {
                let mut u = [0u8; USER_DATA_LEN];
                u.copy_from_slice(buf.get(..USER_DATA_LEN).unwrap_or(&[0; USER_DATA_LEN]));
                out = if mode == TrackMode::Mode1_2048 {
                    sector::encode_mode1(lba, &u)?
                } else {
                    sector::encode_mode2_form1(lba, [0, 0, 0, 0], &u)?
                };
            }
            TrackMode::Mode2_2324 => {
                sector::write_header(&mut out, lba, 2)?;
                let sub = [0, 0, 0x20, 0];
                if let Some(s) = out.get_mut(16..24) {
                    s.copy_from_slice(&[sub, sub].concat());
                }
                if let Some(d) = out.get_mut(24..24 + sector::FORM2_DATA_LEN) {
                    d.copy_from_slice(buf.get(..sector::FORM2_DATA_LEN).unwrap_or(&[0; sector::FORM2_DATA_LEN]));
                }
                sector::finish(&mut out, sector::SectorKind::Mode2Form2);
            }
        }
        Ok(out)
    }

    /// The 2352 bytes at `lba` as a CloneCD image holds them, for any LBA from a session's first INDEX 01 to
    /// its lead-out: a stored sector as [`RawDisc::read_raw`] gives it; a pregap or postgap sector the sheet does
    /// not store, generated for the track it belongs to (`mode` 0: silence; 1: an empty Mode 1 sector; 2: an
    /// empty Mode 2 Form 2 sector, each with its header, EDC and ECC).
    ///
    /// # Errors
    /// [`Error::Layout`] past the last stored sector; as [`RawDisc::read_raw`].
    pub fn image_sector(&mut self, lba: i64, mode: u8) -> Result<RawSector> {
        match self.locate(lba) {
            SectorAt::Stored { track } => self.read_raw(track, lba),
            SectorAt::Gap => match mode {
                0 => Ok([0u8; RAW_SECTOR_LEN]),
                1 => sector::encode_mode1(lba, &[0u8; USER_DATA_LEN]),
                _ => {
                    let mut out = [0u8; RAW_SECTOR_LEN];
                    sector::write_header(&mut out, lba, 2)?;
                    let sub = [0, 0, 0x20, 0];
                    if let Some(s) = out.get_mut(16..24) {
                        s.copy_from_slice(&[sub, sub].concat());
                    }
                    sector::finish(&mut out, sector::SectorKind::Mode2Form2);
                    Ok(out)
                }
            },
            SectorAt::End => Err(Error::Layout {
                sheet: self.sheet.clone(),
                message: format!("LBA {lba} is past the last sector stored in the image"),
            }),
        }
    }

    /// The 2048 bytes of user data at `lba` of data track `ti`, taken from a raw sector only after its EDC
    /// passes — or after P/Q repair makes it pass.
    ///
    /// # Errors
    /// [`Error::BadSector`] when the sector is unusable; as [`RawDisc::read_stored`].
    pub fn read_user(&mut self, ti: usize, lba: i64, out: &mut [u8; USER_DATA_LEN]) -> Result<()> {
        let mode = self.tracks.get(ti).map(|t| t.mode).ok_or_else(|| Error::InvalidArgument("no such track".into()))?;
        if !mode.is_data() {
            return Err(Error::BadSector { lba, what: "audio sector has no user data".into() });
        }
        if mode == TrackMode::Mode1_2048 || mode == TrackMode::Mode2_2048 {
            return self.read_stored(ti, lba, out);
        }
        if mode == TrackMode::Mode1_2352 {
            // A Mode 1 sector whose EDC passes needs no more than its first 2068 bytes (what the EDC covers, and
            // the EDC): a store that rebuilds the parities after them (a CHD) is spared doing so.
            let mut raw = [0u8; RAW_SECTOR_LEN];
            self.read_stored_part(ti, lba, raw.get_mut(..sector::MODE1_EDC_END).unwrap_or_default())?;
            if sector::kind(&raw) == Some(sector::SectorKind::Mode1) {
                if let Ok(user) = sector::user_data(&raw, lba) {
                    out.copy_from_slice(user);
                    return Ok(());
                }
            }
        }
        let mut raw = self.read_raw(ti, lba)?;
        if sector::user_data(&raw, lba).is_err() {
            sector::repair(&mut raw);
        }
        out.copy_from_slice(sector::user_data(&raw, lba)?);
        Ok(())
    }

    /// A reader of the 2048-byte user data of every data track, byte `2048 × lba` being the first byte of
    /// LBA `lba`. Gaps read as zeros; audio sectors and sectors whose EDC fails beyond repair fail the read.
    pub fn cooked_reader(self) -> CookedReader {
        let end = self.tracks.iter().filter(|t| t.mode.is_data()).map(DiscTrack::end_lba).max().unwrap_or(0).max(0);
        CookedReader { disc: self, pos: 0, len: u64::try_from(end).unwrap_or(0).saturating_mul(2048), cache: None }
    }
}

/// `Read + Seek` of the user data of a raw disc's data tracks; see [`RawDisc::cooked_reader`].
#[derive(Debug)]
pub struct CookedReader {
    disc: RawDisc,
    pos: u64,
    len: u64,
    cache: Option<(i64, Box<[u8; USER_DATA_LEN]>)>,
}

impl CookedReader {
    /// The disc it reads.
    pub fn disc(&self) -> &RawDisc {
        &self.disc
    }

    /// Bytes up to the end of the last data track.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there is no data track at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn load(&mut self, lba: i64) -> io::Result<&[u8; USER_DATA_LEN]> {
        if self.cache.as_ref().map(|c| c.0) != Some(lba) {
            let mut buf = Box::new([0u8; USER_DATA_LEN]);
            match self.disc.locate(lba) {
                SectorAt::Stored { track } => self.disc.read_user(track, lba, &mut buf)?,
                SectorAt::Gap | SectorAt::End => {}
            }
            self.cache = Some((lba, buf));
        }
        match &self.cache {
            Some((_, b)) => Ok(b),
            None => Err(io::Error::other("sector cache empty")),
        }
    }
}

impl Read for CookedReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || out.is_empty() {
            return Ok(0);
        }
        let lba = to_i64(self.pos / 2048);
        let off = (self.pos % 2048) as usize;
        let left = self.len.saturating_sub(self.pos);
        let sector = self.load(lba)?;
        let avail = sector.get(off..).unwrap_or_default();
        let n = avail.len().min(out.len()).min(usize::try_from(left).unwrap_or(usize::MAX));
        if let (Some(dst), Some(src)) = (out.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for CookedReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
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

/// Writes every 2048-byte sector read from `iso` as a complete Mode 1 sector (sync, header for LBA
/// `first_lba` onwards, EDC, ECC) to `bin`; returns the number of sectors. A final partial sector is
/// padded with zeros.
///
/// # Errors
/// [`Error::StreamIo`] for read or write failures, [`Error::InvalidArgument`] when an LBA has no MSF address.
pub fn write_mode1_track<R: Read, W: io::Write>(iso: &mut R, bin: &mut W, first_lba: i64) -> Result<u64> {
    let mut count = 0u64;
    let mut user = [0u8; USER_DATA_LEN];
    loop {
        let mut filled = 0usize;
        while filled < USER_DATA_LEN {
            let n = match iso.read(user.get_mut(filled..).unwrap_or_default()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(Error::StreamIo { offset: count.saturating_mul(2048), source }),
            };
            if n == 0 {
                break;
            }
            filled = filled.saturating_add(n);
        }
        if filled == 0 {
            return Ok(count);
        }
        user.get_mut(filled..).unwrap_or_default().fill(0);
        let lba = first_lba.saturating_add(to_i64(count));
        let s = sector::encode_mode1(lba, &user)?;
        bin.write_all(&s)
            .map_err(|source| Error::StreamIo { offset: count.saturating_mul(RAW_SECTOR_LEN as u64), source })?;
        count = count.saturating_add(1);
        if filled < USER_DATA_LEN {
            return Ok(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn user(lba: i64) -> [u8; USER_DATA_LEN] {
        let mut u = [0u8; USER_DATA_LEN];
        for (i, b) in u.iter_mut().enumerate() {
            *b = (i as i64 ^ lba) as u8;
        }
        u
    }

    #[test]
    fn multi_file_multi_session_layout_and_cooked_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = std::fs::File::create(dir.path().join("a.bin")).unwrap();
        for lba in 0..10 {
            a.write_all(&sector::encode_mode1(lba, &user(lba)).unwrap()).unwrap();
        }
        a.write_all(&[7u8; 5 * 2352]).unwrap();
        let mut b = std::fs::File::create(dir.path().join("B.BIN")).unwrap();
        for lba in 0..4 {
            b.write_all(&user(100 + lba)).unwrap();
        }
        let cue = dir.path().join("x.cue");
        std::fs::write(
            &cue,
            "FILE a.bin BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:00\n TRACK 02 AUDIO\n  INDEX 00 00:00:10\n  INDEX 01 00:00:12\nREM SESSION 02\nFILE b.bin BINARY\n TRACK 03 MODE1/2048\n  INDEX 01 00:00:00\n",
        )
        .unwrap();
        let disc = RawDisc::open(&cue).unwrap();
        let t = disc.tracks();
        assert_eq!((t[0].first_lba, t[0].start_lba, t[0].stored), (0, 0, 10));
        assert_eq!((t[1].first_lba, t[1].start_lba, t[1].stored, t[1].file_offset), (10, 12, 5, 10 * 2352));
        let s2 = 15 + FIRST_LEADOUT + LEADIN + SESSION_PREGAP;
        assert_eq!((t[2].first_lba, t[2].start_lba, t[2].stored, t[2].session), (s2, s2, 4, 2));
        assert_eq!(disc.session_count(), 2);
        assert_eq!(disc.session_start(None).unwrap(), s2);
        assert_eq!(disc.session_start(Some(1)).unwrap(), 0);
        assert!(disc.session_start(Some(3)).is_err());
        assert_eq!(disc.locate(12), SectorAt::Stored { track: 1 });
        assert_eq!(disc.locate(20), SectorAt::Gap);
        let mut r = disc.cooked_reader();
        let mut buf = vec![0u8; 2048];
        r.seek(SeekFrom::Start(3 * 2048)).unwrap();
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf, user(3));
        r.seek(SeekFrom::Start((s2 as u64 + 1) * 2048)).unwrap();
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf, user(101));
        r.seek(SeekFrom::Start(11 * 2048)).unwrap();
        assert!(r.read_exact(&mut buf).is_err(), "audio sectors have no user data");
        assert_eq!(r.len(), (s2 as u64 + 4) * 2048);
    }

    #[test]
    fn clonecd_sessions_follow_each_other_in_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let mut img = std::fs::File::create(dir.path().join("m.img")).unwrap();
        for lba in 0..10 {
            img.write_all(&sector::encode_mode1(lba, &user(lba)).unwrap()).unwrap();
        }
        let s2 = 10 + FIRST_LEADOUT + LEADIN + SESSION_PREGAP;
        for lba in s2..s2 + 5 {
            img.write_all(&sector::encode_mode1(lba, &user(lba)).unwrap()).unwrap();
        }
        let ccd = dir.path().join("m.ccd");
        std::fs::write(
            &ccd,
            format!(
                "[CloneCD]\nVersion=3\n[Entry 0]\nSession=1\nPoint=0xa2\nPLBA=10\n[Entry 1]\nSession=1\nPoint=1\nControl=4\nPLBA=0\n[Entry 2]\nSession=2\nPoint=0xa2\nPLBA={}\n[Entry 3]\nSession=2\nPoint=2\nControl=4\nPLBA={s2}\n[TRACK 1]\nMODE=1\n[TRACK 2]\nMODE=1\nINDEX 0={}\nINDEX 1={s2}\n",
                s2 + 5,
                s2 - 150
            ),
        )
        .unwrap();
        let disc = RawDisc::open(&ccd).unwrap();
        let t = disc.tracks();
        assert_eq!((t[0].first_lba, t[0].stored, t[0].file_offset), (0, 10, 0));
        assert_eq!((t[1].first_lba, t[1].start_lba, t[1].stored, t[1].file_offset), (s2, s2, 5, 10 * 2352));
        assert_eq!(disc.session_start(None).unwrap(), s2);
        let mut r = disc.cooked_reader();
        let mut buf = vec![0u8; 2048];
        r.seek(SeekFrom::Start((s2 as u64 + 2) * 2048)).unwrap();
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf, user(s2 + 2));
    }

    #[test]
    fn hostile_layouts_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), vec![0u8; 2352 * 3]).unwrap();
        for (text, what) in [
            ("FILE missing.bin BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:00\n", "cannot be opened"),
            ("FILE a.bin BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:00\n TRACK 02 AUDIO\n  INDEX 01 01:00:00\n", "only"),
            ("FILE a.bin BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:05\n", "only"),
            ("FILE a.bin BINARY\n TRACK 01 MODE1/2352\n  POSTGAP 99:00:00\n  INDEX 01 00:00:00\nFILE a.bin BINARY\n TRACK 02 MODE1/2352\n  PREGAP 99:00:00\n  INDEX 01 00:00:00\n", "100 minutes"),
        ] {
            let cue = dir.path().join("h.cue");
            std::fs::write(&cue, text).unwrap();
            let e = RawDisc::open(&cue).unwrap_err().to_string();
            assert!(e.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn iso_to_mode1_track() {
        let data: Vec<u8> = (0..2048 * 3 + 100).map(|i| i as u8).collect();
        let mut out = Vec::new();
        assert_eq!(write_mode1_track(&mut &data[..], &mut out, 0).unwrap(), 4);
        assert_eq!(out.len(), 4 * 2352);
        for (i, s) in out.chunks(2352).enumerate() {
            let s: &RawSector = s.try_into().unwrap();
            assert!(sector::check(s, Some(i as i64)).is_ok());
        }
    }
}

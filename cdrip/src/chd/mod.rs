//! MAME CHD (compressed hunks of data), version 5: CD images (read as a [`RawDisc`]) and DVD images (read as
//! their 2048-byte sectors), and written by [`mod@write`]. CD CHDs of versions 3 and 4 are read too (module
//! `old` checks their header and map).
//!
//! A CHD stores a stream of logical bytes cut into hunks, each compressed on its own (or a copy of an earlier
//! hunk); the map says where each hunk is and how it is compressed, the metadata what the bytes are. The hunks
//! are decoded by the `chd` crate, but for the CD hunks of `cdlz` and `cdzl`, which `cdhunk` decodes only as far
//! as each read needs; this module checks what that crate trusts before handing it the file, and
//! lays out what the metadata describes:
//! - a CD: units of 2448 bytes, each a 2352-byte sector (only its first 2048, 2324 or 2336 bytes for the track
//!   types that store no more) followed by 96 bytes of subchannel (zeros when none is kept). Each track
//!   (`CHT2`, `CHTR` or `CHGD` metadata) stores `FRAMES` sectors, padded with empty ones to a multiple of 4. A
//!   pregap whose `PGTYPE` begins with `V` is stored at the start of those frames; any other is on the disc but
//!   not in the file, as is the `POSTGAP`. A GD-ROM (`CHGD`) track's `FRAMES` reach the next track's LBA (the
//!   high-density area from LBA 45000 is session 2, as for a `.gdi`), its last `PAD` frames filling, not
//!   stored. Audio samples are stored big-endian (a BIN holds them little-endian): they are swapped back as
//!   they are read. A CD CHD has no sessions: every track is in session 1.
//! - a DVD (`DVD ` metadata): 2048-byte sectors, read as the ISO or UDF image they are.
//!
//! Every header field, map entry and compressed length is untrusted: the header's sizes are bounded before the
//! map is read, every stored hunk must lie inside the file and every copy of another hunk must name an earlier
//! hunk that is itself stored (so a copy cannot loop), and a hunk's codec writes into a buffer of one hunk, never
//! more. A CHD that stores only its differences from a parent is read with its parent: the `*.chd` file beside
//! it whose header SHA-1 is the one it names (or one given), checked as the CHD is.

mod cdhunk;
mod old;
mod read;
mod v5write;
pub mod write;

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use self::read::{Chain, Decoder, Hunks};

use ::chd::map::{CompressionTypeV5, MapEntry};
use ::chd::Chd;

use crate::cue::TrackMode;
use crate::error::{Error, Result};
use crate::image::{DiscTrack, ImageFile, RawDisc, SheetKind};
use crate::store::ByteStore;

/// Bytes of one CD frame in a CHD: a 2352-byte sector and 96 bytes of subchannel.
pub const CD_FRAME: u32 = 2448;
/// Bytes of a CD sector within a frame.
pub const CD_SECTOR: u32 = 2352;
/// Tracks are padded to a multiple of this many frames.
pub const TRACK_PADDING: u64 = 4;
/// Bytes of the CHD v5 header.
const HEADER_LEN: usize = 124;
/// The largest hunk read (chdman writes 19584 for CDs, 4096 for DVDs).
const MAX_HUNK: u32 = 1 << 20;
/// The most hunks a CHD may have: a 17 GB DVD has 4.2 million of 4096 bytes.
const MAX_HUNKS: u64 = 1 << 23;
/// Metadata entries looked at, and bytes of text taken from each.
const MAX_META: usize = 1024;
const MAX_META_LEN: usize = 4096;

/// The metadata tags a CD or DVD CHD is described by.
pub(crate) const TAG_CHT2: u32 = u32::from_be_bytes(*b"CHT2");
const TAG_CHTR: u32 = u32::from_be_bytes(*b"CHTR");
const TAG_CHGD: u32 = u32::from_be_bytes(*b"CHGD");
const TAG_CHCD: u32 = u32::from_be_bytes(*b"CHCD");
pub(crate) const TAG_DVD: u32 = u32::from_be_bytes(*b"DVD ");

/// What a CHD holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChdMedia {
    /// A CD, with its tracks.
    Cd(Vec<ChdTrack>),
    /// A DVD: 2048-byte sectors.
    Dvd,
}

/// One track of a CD CHD, as its metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChdTrack {
    /// 1..=99.
    pub number: u8,
    /// The track type as MAME names it (`MODE1_RAW`, `AUDIO`, ...).
    pub kind: String,
    /// The mode and sector size stored.
    pub mode: TrackMode,
    /// The subchannel kept: `NONE`, `RW` or `RW_RAW`.
    pub subtype: String,
    /// Frames stored, a stored pregap included.
    pub frames: u64,
    /// Pregap frames.
    pub pregap: u64,
    /// Whether the pregap is stored in the frames (`PGTYPE` beginning with `V`).
    pub pregap_stored: bool,
    /// Frames after the track on the disc but not stored.
    pub postgap: u64,
    /// A GD-ROM track (`CHGD` metadata): its `FRAMES` reach the next track's LBA, the last `pad` of them empty
    /// frames that are not the track's (chdman fills the room between a GD-ROM's tracks so).
    pub gd_rom: bool,
    /// Of `frames`, how many at the end are such filling (`PAD`, GD-ROM tracks only).
    pub pad: u64,
}

/// The header fields of a CHD odix reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChdInfo {
    /// Bytes of one hunk.
    pub hunk_bytes: u32,
    /// Bytes of one unit (a CD frame, a DVD sector).
    pub unit_bytes: u32,
    /// Logical bytes stored.
    pub logical_bytes: u64,
    /// The codecs, as their four-letter tags.
    pub codecs: Vec<String>,
    /// SHA-1 of the logical bytes.
    pub raw_sha1: [u8; 20],
    /// SHA-1 of the logical bytes and the metadata that is hashed (a version 3 CHD has none: its `raw_sha1`).
    pub sha1: [u8; 20],
    /// What it holds.
    pub media: ChdMedia,
}

/// A CHD opened and checked: its header, what it holds, and a store of its logical bytes.
pub struct ChdFile {
    info: ChdInfo,
    store: ChdStore,
}

impl fmt::Debug for ChdFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChdFile").field("info", &self.info).finish_non_exhaustive()
    }
}

/// The logical bytes of a CHD, decoded a hunk at a time (the last few kept), with the samples of audio tracks
/// swapped back to little-endian.
pub struct ChdStore {
    path: PathBuf,
    len: u64,
    hunk_bytes: u32,
    unit_bytes: u32,
    /// Unit ranges whose first 2352 bytes are big-endian audio samples.
    audio: Vec<(u64, u64)>,
    inner: Mutex<Hunks>,
}

impl fmt::Debug for ChdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChdStore").field("path", &self.path).field("len", &self.len).finish_non_exhaustive()
    }
}

thread_local! {
    /// Set while this thread runs the `chd` crate's decoders, whose panics [`guarded`] turns into errors.
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (a call into the `chd` crate's decoders) and turns a panic of theirs on damaged data into an error
/// message. The panic hook installed once before it keeps quiet about those panics only, and passes every other
/// one to the hook that was there before.
fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    DECODING.with(|d| d.set(true));
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    DECODING.with(|d| d.set(false));
    r.map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("damaged data ({what})")
    })
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::Layout { sheet: path.to_path_buf(), message: message.into() }
}

fn be32(h: &[u8], at: usize) -> u32 {
    h.get(at..at.saturating_add(4)).and_then(|b| b.try_into().ok()).map_or(0, u32::from_be_bytes)
}

fn be64(h: &[u8], at: usize) -> u64 {
    h.get(at..at.saturating_add(8)).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes)
}

fn sha(h: &[u8], at: usize) -> [u8; 20] {
    h.get(at..at.saturating_add(20)).and_then(|b| b.try_into().ok()).unwrap_or([0; 20])
}

/// Lowercase hex of a SHA-1.
pub fn hex(sha1: &[u8; 20]) -> String {
    sha1.iter().map(|b| format!("{b:02x}")).collect()
}

fn tag_name(tag: u32) -> String {
    tag.to_be_bytes().iter().map(|&b| if b.is_ascii_graphic() { char::from(b) } else { '?' }).collect()
}

/// The header fields [`check_header`] returns: hunk bytes, unit bytes, logical bytes, raw SHA-1, SHA-1, codecs.
type HeaderFields = (u32, u32, u64, [u8; 20], [u8; 20], Vec<String>);

/// Checks the header (v5 here, v3 and v4 in [`old`]) before anything is read by what it says: version, sizes, no
/// parent. Returns its fields.
fn check_header(path: &Path, file_len: u64) -> Result<HeaderFields> {
    let mut h = [0u8; HEADER_LEN];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut h))
        .map_err(|e| bad(path, format!("CHD header cannot be read ({e})")))?;
    if h.get(..8) != Some(b"MComprHD".as_slice()) {
        return Err(bad(path, "not a CHD (no MComprHD signature)"));
    }
    let version = be32(&h, 12);
    if old::is_old(version) {
        return old::check_header(path, &h, version, file_len);
    }
    if version != 5 {
        return Err(bad(
            path,
            format!(
                "CHD version {version}; odix reads versions 3 to 5 (`chdman copy` rewrites older ones as version 5)"
            ),
        ));
    }
    let (logical, map_offset, meta_offset) = (be64(&h, 32), be64(&h, 40), be64(&h, 48));
    let (hunk_bytes, unit_bytes) = (be32(&h, 56), be32(&h, 60));
    if hunk_bytes == 0 || hunk_bytes > MAX_HUNK || unit_bytes == 0 || hunk_bytes.checked_rem(unit_bytes) != Some(0) {
        return Err(bad(path, format!("CHD hunks of {hunk_bytes} bytes in units of {unit_bytes}")));
    }
    let hunks = logical.div_ceil(u64::from(hunk_bytes));
    if hunks > MAX_HUNKS {
        return Err(bad(path, format!("CHD hunks: {hunks} exceeds the limit of {MAX_HUNKS}")));
    }
    if map_offset < HEADER_LEN as u64 || map_offset >= file_len || meta_offset >= file_len {
        return Err(bad(path, format!("CHD map at byte {map_offset} or metadata at {meta_offset} outside the file")));
    }
    let codecs = (0..4)
        .map(|i: usize| be32(&h, 16usize.saturating_add(i.saturating_mul(4))))
        .filter(|&c| c != 0)
        .map(tag_name)
        .collect();
    Ok((hunk_bytes, unit_bytes, logical, sha(&h, 64), sha(&h, 84), codecs))
}

/// Checks every map entry: stored hunks inside the file, copies of earlier stored hunks (or of parent hunks)
/// only, and copies from the parent (of `parent_hunks` hunks, `None` for no parent) inside the parent.
fn check_map(path: &Path, chd: &Chd<BufReader<File>>, file_len: u64, parent_hunks: Option<u64>) -> Result<()> {
    let map = chd.map();
    let hunk_units = u64::from(chd.header().hunk_size().checked_div(chd.header().unit_bytes()).unwrap_or(1).max(1));
    let count = chd.header().hunk_count();
    if map.len() != usize::try_from(count).unwrap_or(usize::MAX) {
        return Err(bad(path, format!("CHD map has {} entries for {count} hunks", map.len())));
    }
    if matches!(map, ::chd::map::Map::Legacy(_)) {
        // A v3/v4 map was checked entry by entry from the file before the crate read it (old::check_header).
        return Ok(());
    }
    let kind_of = |i: usize| match map.get_entry(i) {
        Some(MapEntry::V5Compressed(e)) => e.hunk_type().ok(),
        Some(MapEntry::V5Uncompressed(_)) => Some(CompressionTypeV5::CompressionNone),
        _ => None,
    };
    for i in 0..map.len() {
        let at = |what: String| bad(path, format!("CHD hunk {i}: {what}"));
        match map.get_entry(i) {
            Some(MapEntry::V5Compressed(e)) => {
                let kind = e.hunk_type().map_err(|_| at("unknown compression type".into()))?;
                match kind {
                    CompressionTypeV5::CompressionType0
                    | CompressionTypeV5::CompressionType1
                    | CompressionTypeV5::CompressionType2
                    | CompressionTypeV5::CompressionType3
                    | CompressionTypeV5::CompressionNone => {
                        let end = e.block_offset().checked_add(u64::from(e.block_size()));
                        if end.is_none_or(|end| end > file_len) || e.block_offset() < HEADER_LEN as u64 {
                            return Err(at(format!(
                                "{} bytes at byte {}, outside the file of {file_len} bytes",
                                e.block_size(),
                                e.block_offset()
                            )));
                        }
                        if matches!(kind, CompressionTypeV5::CompressionNone)
                            && e.block_size() != chd.header().hunk_size()
                        {
                            return Err(at(format!("stored as {} bytes, not a whole hunk", e.block_size())));
                        }
                    }
                    CompressionTypeV5::CompressionSelf => {
                        let target = usize::try_from(e.block_offset()).unwrap_or(usize::MAX);
                        let stored = target < i
                            && match kind_of(target) {
                                Some(CompressionTypeV5::CompressionSelf) | None => false,
                                Some(CompressionTypeV5::CompressionParent) => parent_hunks.is_some(),
                                Some(_) => true,
                            };
                        if !stored {
                            return Err(at(format!("a copy of hunk {}, which is not an earlier stored hunk", target)));
                        }
                    }
                    CompressionTypeV5::CompressionParent => {
                        // The hunk is the parent's units from this one on: one hunk, or the end of one and the
                        // start of the next.
                        let Some(parent_hunks) = parent_hunks else {
                            return Err(at("a copy from a parent CHD, in a CHD that names none".into()));
                        };
                        let unit = e.block_offset();
                        if unit.checked_add(hunk_units).is_none_or(|end| end > parent_hunks.saturating_mul(hunk_units))
                        {
                            return Err(at(format!(
                                "a copy of unit {unit} of its parent CHD, which has {parent_hunks} hunks"
                            )));
                        }
                    }
                    _ => return Err(at("unknown compression type".into())),
                }
            }
            Some(MapEntry::V5Uncompressed(e)) => {
                let end = e.block_offset().checked_add(u64::from(e.block_size()));
                if end.is_none_or(|end| end > file_len) {
                    return Err(at(format!("stored at byte {}, outside the file", e.block_offset())));
                }
            }
            _ => return Err(at("not a version 5 map entry".into())),
        }
    }
    Ok(())
}

/// The value of `KEY:` in a metadata line of `KEY:VALUE` words.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace().find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
}

fn track_mode(kind: &str) -> Option<TrackMode> {
    Some(match kind {
        "MODE1" => TrackMode::Mode1_2048,
        "MODE1_RAW" => TrackMode::Mode1_2352,
        "MODE2" | "MODE2_FORM_MIX" => TrackMode::Mode2_2336,
        "MODE2_FORM1" => TrackMode::Mode2_2048,
        "MODE2_FORM2" => TrackMode::Mode2_2324,
        "MODE2_RAW" => TrackMode::Mode2_2352,
        "AUDIO" => TrackMode::Audio,
        _ => return None,
    })
}

/// The track a `CHT2`/`CHTR`/`CHGD` text describes (`gd_rom` for `CHGD`).
fn parse_track(path: &Path, text: &str, gd_rom: bool) -> Result<ChdTrack> {
    let what = |m: String| bad(path, format!("CHD track metadata {:?}: {m}", text.trim()));
    let num = |key: &str, required: bool| -> Result<u64> {
        match field(text, key) {
            Some(v) => v.parse::<u64>().map_err(|_| what(format!("{key} is not a number"))),
            None if required => Err(what(format!("no {key}"))),
            None => Ok(0),
        }
    };
    let number = num("TRACK", true)?;
    let number =
        u8::try_from(number).ok().filter(|n| (1..=99).contains(n)).ok_or_else(|| what("track number".into()))?;
    let kind = field(text, "TYPE").ok_or_else(|| what("no TYPE".into()))?.to_string();
    let mode = track_mode(&kind).ok_or_else(|| what(format!("unknown track type {kind}")))?;
    let subtype = field(text, "SUBTYPE").unwrap_or("NONE").to_string();
    let frames = num("FRAMES", true)?;
    let pregap = num("PREGAP", false)?;
    let pregap_stored = field(text, "PGTYPE").is_some_and(|t| t.starts_with('V'));
    let postgap = num("POSTGAP", false)?;
    let pad = if gd_rom { num("PAD", false)? } else { 0 };
    let max = u64::try_from(crate::sector::MAX_LBA).unwrap_or(0);
    if frames == 0
        || frames > max
        || pregap > max
        || postgap > max
        || (pregap_stored && pregap > frames)
        || pad.saturating_add(if pregap_stored { pregap } else { 0 }) >= frames
    {
        return Err(what("frame counts do not fit a CD".into()));
    }
    Ok(ChdTrack { number, kind, mode, subtype, frames, pregap, pregap_stored, postgap, gd_rom, pad })
}

impl ChdFile {
    /// Opens the CHD at `path` and checks its header, map and metadata. A CHD that stores only its differences
    /// from a parent is read with its parent: the `*.chd` file in the same directory whose header SHA-1 is the
    /// one it names (and so on for the parent's parent, at most 8 deep).
    ///
    /// # Errors
    /// [`Error::Layout`] naming the path for a damaged or unsupported CHD (a parent needed and not found,
    /// another version, a hard disk or LaserDisc image, a header asking for too much); [`Error::Io`].
    pub fn open(path: &Path) -> Result<ChdFile> {
        ChdFile::open_with_parent(path, None)
    }

    /// As [`ChdFile::open`], with the parent given (its own parents, if any, are searched for beside it).
    ///
    /// # Errors
    /// As [`ChdFile::open`]; [`Error::Layout`] when `parent` is not the CHD's parent (another SHA-1, other hunk
    /// or unit sizes) or the CHD needs no parent.
    pub fn open_with_parent(path: &Path, parent: Option<&Path>) -> Result<ChdFile> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let file_len = std::fs::metadata(path).map_err(io)?.len();
        let (hunk_bytes, unit_bytes, logical, raw_sha1, sha1, codecs) = check_header(path, file_len)?;
        let ids = read::read_ids(path)
            .or_else(|| old::read_ids(path))
            .ok_or_else(|| bad(path, "CHD header cannot be read"))?;
        let parents = read::find_parents(path, &ids, parent)?;
        // Each parent is checked as the CHD is, the farthest first, before anything is decoded.
        let mut parent_hunks = None;
        for p in parents.iter().rev() {
            let p_len = std::fs::metadata(p).map_err(|source| Error::Io { path: p.clone(), source })?.len();
            let (p_hunk, _, p_logical, ..) = check_header(p, p_len)?;
            let alone = Chain { files: vec![p.clone()] }.open()?;
            check_map(p, &alone, p_len, parent_hunks)?;
            parent_hunks = Some(p_logical.div_ceil(u64::from(p_hunk)));
        }
        let mut files = vec![path.to_path_buf()];
        files.extend(parents);
        let chain = Chain { files };
        let mut chd = if chain.files.len() > 1 {
            // Opened alone to check its map and read its metadata (which a CHD never takes from its parent);
            // the decoder below is opened with its parents.
            Chain { files: vec![path.to_path_buf()] }.open()?
        } else {
            chain.open()?
        };
        check_map(path, &chd, file_len, parent_hunks)?;
        let mut texts: Vec<(u32, String)> = Vec::new();
        let mut refs = Vec::new();
        for r in chd.metadata_refs().take(MAX_META) {
            refs.push(r.map_err(|e| bad(path, format!("CHD metadata: {e}")))?);
        }
        for r in refs {
            let tag = ::chd::metadata::MetadataTag::metatag(&r);
            if matches!(tag, TAG_CHT2 | TAG_CHTR | TAG_CHGD | TAG_CHCD | TAG_DVD) {
                let m = r.read(chd.inner()).map_err(|e| bad(path, format!("CHD metadata: {e}")))?;
                let end = m.value.iter().position(|&b| b == 0).unwrap_or(m.value.len()).min(MAX_META_LEN);
                let text = String::from_utf8_lossy(m.value.get(..end).unwrap_or_default()).into_owned();
                texts.push((tag, text));
            }
        }
        let media = if texts.iter().any(|(t, _)| *t == TAG_CHCD) {
            return Err(bad(
                path,
                "CD tracks in the binary CHCD metadata of early CHDs, which odix does not read \
                 (its CHT2 and CHTR text metadata it does)",
            ));
        } else if texts.iter().any(|(t, _)| matches!(*t, TAG_CHT2 | TAG_CHTR | TAG_CHGD)) {
            // A GD-ROM's tracks are all CHGD; a CD's are CHT2 (or the older CHTR).
            let gd_rom = texts.iter().any(|(t, _)| *t == TAG_CHGD);
            let mut tracks = texts
                .iter()
                .filter(|(t, _)| if gd_rom { *t == TAG_CHGD } else { matches!(*t, TAG_CHT2 | TAG_CHTR) })
                .map(|(_, text)| parse_track(path, text, gd_rom))
                .collect::<Result<Vec<_>>>()?;
            tracks.sort_by_key(|t| t.number);
            for (i, t) in tracks.iter().enumerate() {
                if usize::from(t.number) != i.saturating_add(1) {
                    return Err(bad(path, format!("CHD tracks are not numbered 1 to {}", tracks.len())));
                }
            }
            if unit_bytes != CD_FRAME {
                return Err(bad(path, format!("a CD CHD with units of {unit_bytes} bytes, not {CD_FRAME}")));
            }
            ChdMedia::Cd(tracks)
        } else if texts.iter().any(|(t, _)| *t == TAG_DVD) {
            if unit_bytes != 2048 {
                return Err(bad(path, format!("a DVD CHD with units of {unit_bytes} bytes, not 2048")));
            }
            ChdMedia::Dvd
        } else {
            return Err(bad(path, "a CHD of neither a CD nor a DVD (a hard disk, LaserDisc or raw image)"));
        };
        let mut audio = Vec::new();
        if let ChdMedia::Cd(tracks) = &media {
            let mut at = 0u64;
            for t in tracks {
                let padded = t.frames.div_ceil(TRACK_PADDING).saturating_mul(TRACK_PADDING);
                if t.mode == TrackMode::Audio {
                    audio.push((at, at.saturating_add(t.frames)));
                }
                at = at.saturating_add(padded);
            }
            let need = at.saturating_mul(u64::from(CD_FRAME));
            // The last track's padding may be left out of the logical size.
            let last_pad = tracks
                .last()
                .map_or(0, |t| t.frames.div_ceil(TRACK_PADDING).saturating_mul(TRACK_PADDING).saturating_sub(t.frames));
            if need.saturating_sub(last_pad.saturating_mul(u64::from(CD_FRAME))) > logical {
                return Err(bad(path, format!("CHD tracks need {need} bytes; it holds {logical}")));
            }
        }
        let info = ChdInfo { hunk_bytes, unit_bytes, logical_bytes: logical, codecs, raw_sha1, sha1, media };
        let decoder = Decoder::new(if chain.files.len() > 1 { chain.open()? } else { chd });
        let count = u32::try_from(logical.div_ceil(u64::from(hunk_bytes))).unwrap_or(u32::MAX);
        let store = ChdStore {
            path: path.to_path_buf(),
            len: logical,
            hunk_bytes,
            unit_bytes,
            audio,
            inner: Mutex::new(Hunks::new(chain, decoder, hunk_bytes, count)),
        };
        Ok(ChdFile { info, store })
    }

    /// Its header and what it holds.
    pub fn info(&self) -> &ChdInfo {
        &self.info
    }

    /// Its logical bytes.
    pub fn into_store(self) -> ChdStore {
        self.store
    }

    /// The CD it holds as a raw disc: one image file (the CHD's frames), its tracks on the disc's LBA axis.
    ///
    /// # Errors
    /// [`Error::Layout`] for a DVD CHD or tracks that do not fit.
    pub fn into_disc(self) -> Result<RawDisc> {
        let path = self.store.path.clone();
        let ChdMedia::Cd(chd_tracks) = &self.info.media else {
            return Err(bad(&path, "a DVD CHD: it holds 2048-byte sectors, not CD tracks"));
        };
        let mut tracks = Vec::with_capacity(chd_tracks.len());
        let mut frame = 0u64; // the CHD frame each track's stored sectors begin at
        let mut lba = 0i64; // the disc LBA after the previous track
        for t in chd_tracks {
            let pregap = i64::try_from(t.pregap).unwrap_or(0);
            let (first_lba, start_lba, unstored) = if t.pregap_stored {
                (lba, lba.saturating_add(pregap), 0)
            } else {
                let first = lba.saturating_add(pregap);
                (first, first, u32::try_from(t.pregap).unwrap_or(0))
            };
            let size = t.mode.sector_size();
            // A GD-ROM's high-density area is laid out as session 2, as a `.gdi` is (crate::gdi).
            let high_density = t.gd_rom && first_lba >= crate::gdi::HIGH_DENSITY_LBA;
            tracks.push(DiscTrack {
                number: t.number,
                session: if high_density { 2 } else { 1 },
                mode: t.mode,
                file: 0,
                file_offset: frame.saturating_mul(u64::from(CD_FRAME)),
                first_lba,
                start_lba,
                stored: t.frames.saturating_sub(t.pad),
                unstored_pregap: unstored,
                postgap: u32::try_from(t.postgap).unwrap_or(0),
                sub_bytes: CD_FRAME.saturating_sub(size),
            });
            lba = first_lba
                .saturating_add(i64::try_from(t.frames).unwrap_or(0))
                .saturating_add(i64::try_from(t.postgap).unwrap_or(0));
            frame = frame.saturating_add(t.frames.div_ceil(TRACK_PADDING).saturating_mul(TRACK_PADDING));
        }
        // LBA 0 is INDEX 01 of the first track.
        let shift = tracks.first().map_or(0, |t| t.start_lba);
        for t in &mut tracks {
            t.first_lba = t.first_lba.saturating_sub(shift);
            t.start_lba = t.start_lba.saturating_sub(shift);
        }
        // The 96 bytes after each sector are subchannel only for the tracks whose SUBTYPE says so (both forms are
        // read as the raw interleaved one, which is what chdman stores from a cdrdao TOC's `RW` and `RW_RAW`).
        let no_sub = chd_tracks.iter().map(|t| !matches!(t.subtype.as_str(), "RW" | "RW_RAW")).collect();
        let file = ImageFile::from_store(path.clone(), Box::new(self.store));
        let mut disc = RawDisc::from_parts(&path, SheetKind::Chd, vec![file], tracks)?;
        disc.set_no_subchannel(no_sub);
        Ok(disc)
    }
}

/// Opens a CD CHD as a raw disc.
///
/// # Errors
/// As [`ChdFile::open`] and [`ChdFile::into_disc`].
pub fn open(path: &Path) -> Result<RawDisc> {
    ChdFile::open(path)?.into_disc()
}

/// The 2048-byte sectors of a DVD CHD; `None` for a CD CHD (read through [`open`]).
///
/// # Errors
/// As [`ChdFile::open`].
pub fn dvd_store(path: &Path) -> Result<Option<Box<dyn ByteStore>>> {
    // A CD is opened once, by `open`: its tags are enough to tell it from a DVD here.
    if has_cd_tags(path) {
        return Ok(None);
    }
    let chd = ChdFile::open(path)?;
    Ok(match chd.info.media {
        ChdMedia::Dvd => Some(Box::new(chd.into_store())),
        ChdMedia::Cd(_) => None,
    })
}

/// Whether the metadata of the CHD at `path` has CD track entries, from the entries' headers alone (at most
/// [`MAX_META`] followed, each forward only). A damaged chain answers `false`: the full open says what is wrong.
fn has_cd_tags(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else { return false };
    let mut h = [0u8; HEADER_LEN];
    if f.read_exact(&mut h).is_err() || h.get(..8) != Some(b"MComprHD".as_slice()) {
        return false;
    }
    let mut at = be64(&h, 48);
    for _ in 0..MAX_META {
        let mut e = [0u8; 16];
        if at == 0 || io::Seek::seek(&mut f, io::SeekFrom::Start(at)).is_err() || f.read_exact(&mut e).is_err() {
            return false;
        }
        if matches!(be32(&e, 0), TAG_CHT2 | TAG_CHTR | TAG_CHGD) {
            return true;
        }
        let next = be64(&e, 8);
        if next <= at {
            return false;
        }
        at = next;
    }
    false
}

impl ChdStore {
    fn read_raw(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut hunks = self.inner.lock().map_err(|_| io::Error::other("CHD reader poisoned"))?;
        let hb = u64::from(self.hunk_bytes);
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(done as u64);
            let n = u32::try_from(pos.checked_div(hb).unwrap_or(u64::MAX))
                .map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            let within = usize::try_from(pos.checked_rem(hb).unwrap_or(0)).unwrap_or(0);
            let k = hunks.read(n, within, buf.get_mut(done..).unwrap_or_default())?;
            if k == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            done = done.saturating_add(k);
        }
        Ok(())
    }

    /// Swaps the byte pairs of the audio samples in `buf`, which holds the bytes from the even offset `start`.
    fn swap_audio(&self, start: u64, buf: &mut [u8]) {
        let unit = u64::from(self.unit_bytes);
        let end = start.saturating_add(buf.len() as u64);
        for &(from, to) in &self.audio {
            let first = start.checked_div(unit).unwrap_or(0).max(from);
            let last = end.div_ceil(unit).min(to);
            for u in first..last {
                let a = u.saturating_mul(unit).max(start);
                let b = u.saturating_mul(unit).saturating_add(u64::from(CD_SECTOR)).min(end);
                if a >= b {
                    continue;
                }
                let rel = |x: u64| usize::try_from(x.saturating_sub(start)).unwrap_or(0);
                let (a, b) = (rel(a), rel(b));
                if let Some(s) = buf.get_mut(a..b) {
                    for pair in s.chunks_exact_mut(2) {
                        pair.swap(0, 1);
                    }
                }
            }
        }
    }
}

impl ByteStore for ChdStore {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.checked_add(buf.len() as u64).filter(|&e| e <= self.len);
        let Some(end) = end else { return Err(io::Error::from(io::ErrorKind::UnexpectedEof)) };
        let unit = u64::from(self.unit_bytes);
        let touches = self.audio.iter().any(|&(a, b)| offset < b.saturating_mul(unit) && end > a.saturating_mul(unit));
        if !touches {
            return self.read_raw(offset, buf);
        }
        // Samples are swapped in pairs: read from an even offset to an even end.
        let a = offset & !1;
        let b = end.saturating_add(end & 1).min(self.len);
        let mut tmp = vec![0u8; usize::try_from(b.saturating_sub(a)).unwrap_or(0)];
        self.read_raw(a, &mut tmp)?;
        self.swap_audio(a, &mut tmp);
        let from = usize::try_from(offset.saturating_sub(a)).unwrap_or(0);
        let src = tmp.get(from..from.saturating_add(buf.len())).ok_or_else(|| io::Error::other("short read"))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::write::{cd_layout, write_chd, CdFrames, ChdLayout};
    use super::*;
    use crate::sector;

    fn user(lba: i64) -> [u8; 2048] {
        let mut u = [0u8; 2048];
        for (i, b) in u.iter_mut().enumerate() {
            *b = ((i as i64 * 7) ^ (lba * 13)) as u8;
        }
        u
    }

    /// A CD written on three threads and read back: the data track's sectors, the audio samples in their byte
    /// order, the pregaps and postgaps where the CUE sheet put them.
    #[test]
    fn a_cd_written_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut bin = Vec::new();
        for lba in 0..37 {
            bin.extend(sector::encode_mode1(lba, &user(lba)).unwrap());
        }
        let audio: Vec<u8> = (0..2352 * 45).map(|i| (i * 31 % 251) as u8).collect();
        bin.extend(&audio);
        std::fs::write(dir.path().join("a.bin"), &bin).unwrap();
        let cue = dir.path().join("a.cue");
        std::fs::write(
            &cue,
            "FILE a.bin BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:00\n  POSTGAP 00:00:05\n TRACK 02 AUDIO\n  \
             PREGAP 00:00:10\n  INDEX 00 00:00:37\n  INDEX 01 00:00:40\n",
        )
        .unwrap();
        let mut disc = RawDisc::open(&cue).unwrap();
        let tracks = cd_layout(&disc).unwrap();
        assert_eq!(
            tracks[1].metadata(),
            "TRACK:2 TYPE:AUDIO SUBTYPE:NONE FRAMES:55 PREGAP:13 PGTYPE:VAUDIO PGSUB:NONE POSTGAP:0"
        );
        let layout = ChdLayout::Cd(tracks.clone());
        assert_eq!(layout.logical_bytes(), (40 + 56) * 2448);
        let chd_path = dir.path().join("a.chd");
        let out = std::fs::File::create(&chd_path).unwrap();
        let mut frames = CdFrames::new(&mut disc, tracks);
        let (_, summary) = write_chd::<_, Error, _>(out, &chd_path, &layout, 3, |b| frames.fill(b)).unwrap();
        assert_eq!(summary.hunks, 12);

        let chd = ChdFile::open(&chd_path).unwrap();
        assert_eq!(chd.info().codecs, vec!["cdlz", "cdzl", "cdfl"]);
        let mut back = chd.into_disc().unwrap();
        let src = RawDisc::open(&cue).unwrap();
        // Track 2's pregap that is not stored (10 frames) is stored as generated silence before its INDEX 00.
        let (a, b) = (&back.tracks()[0], &src.tracks()[0]);
        assert_eq!((a.first_lba, a.start_lba, a.stored, a.postgap), (b.first_lba, b.start_lba, b.stored, b.postgap));
        let (a, b) = (&back.tracks()[1], &src.tracks()[1]);
        assert_eq!((a.first_lba, a.start_lba, a.stored), (b.first_lba - 10, b.start_lba, b.stored + 10));
        let mut s = vec![0u8; 2352];
        back.read_stored(1, a.first_lba, &mut s).unwrap();
        assert_eq!(s, vec![0u8; 2352]);
        back.read_stored(0, 36, &mut s).unwrap();
        assert_eq!(&s[..], &bin[36 * 2352..37 * 2352]);
        let t2 = back.tracks()[1].clone();
        for (i, lba) in (t2.first_lba + 10..t2.end_lba()).enumerate() {
            back.read_stored(1, lba, &mut s).unwrap();
            assert_eq!(&s[..], &audio[i * 2352..(i + 1) * 2352], "audio sector {i}");
        }
        // Reads at odd offsets inside audio frames come back in the BIN's byte order too.
        let store = back.files()[0].store().unwrap();
        let mut odd = [0u8; 7];
        store.read_at((40 + 10) * 2448 + 3, &mut odd).unwrap();
        assert_eq!(&odd, &audio[3..10]);
    }

    #[test]
    fn damaged_headers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.chd");
        let mut h = vec![0u8; 200];
        h[..8].copy_from_slice(b"MComprHD");
        h[12..16].copy_from_slice(&4u32.to_be_bytes());
        std::fs::write(&p, &h).unwrap();
        assert!(ChdFile::open(&p).unwrap_err().to_string().contains("CHD version 4"));
        h[12..16].copy_from_slice(&5u32.to_be_bytes());
        h[56..60].copy_from_slice(&19584u32.to_be_bytes());
        h[60..64].copy_from_slice(&2000u32.to_be_bytes());
        std::fs::write(&p, &h).unwrap();
        assert!(ChdFile::open(&p).unwrap_err().to_string().contains("in units of 2000"));
        // A parent named and not beside it (the sizes and offsets must pass first).
        h[32..40].copy_from_slice(&19584u64.to_be_bytes());
        h[40..48].copy_from_slice(&124u64.to_be_bytes());
        h[48..56].copy_from_slice(&150u64.to_be_bytes());
        h[60..64].copy_from_slice(&2448u32.to_be_bytes());
        h[104] = 1;
        std::fs::write(&p, &h).unwrap();
        let e = ChdFile::open(&p).unwrap_err().to_string();
        assert!(e.contains("needs its parent CHD (SHA-1 01000000"), "{e}");
    }
}

//! Verifying an image: recognises the image (ISO 9660, UDF, raw sectors through a `.cue` or `.ccd`; anything
//! else is an error naming it); checks that the volume fits the file (ISO 9660 volume space size over every
//! session, UDF partitions and descriptor sequences, a CloneCD TOC) and that every file's extents lie inside it;
//! checks a raw image sector by sector (sync, header, EDC, ECC), optionally writes a repaired copy; checks the MD5
//! tags xorriso/libisofs records in ISO images (`-md5 on`); compares the image's tree with a folder; prints
//! CRC32/MD5/SHA-1 of the image and its tracks; computes the audio tracks' AccurateRip and CTDB checksums and the
//! disc's ids, and checks them against AccurateRip and CTDB responses, saved or fetched (see [`AudioReport`]). The
//! [`VerifyReport`] says what each check found; its [`Outcome`] is
//! `Incomplete` for an image cut short and `Failed` for wrong data (`odix verify` exits with 2 and 1).
//!
//! # libisofs MD5 tags
//! libisofs (xorriso `-md5 on`, `xorriso -as mkisofs --md5`) writes "checksum tags": one 2048-byte block each,
//! holding one line of text padded with zero bytes:
//!
//! ```text
//! libisofs_sb_checksum_tag_v1 pos=18 range_start=0 range_size=18 next=23 md5=<32 hex> self=<32 hex>\n
//! ```
//!
//! `pos` is the block the tag is meant to be in, `md5` the MD5 of the `range_size` blocks from
//! `range_start`, and `self` the MD5 of the tag's own text up to the last hex digit of `md5`. The superblock tag
//! (`libisofs_sb_checksum_tag_v1`) follows the volume descriptors, the tree tag
//! (`libisofs_tree_checksum_tag_v1`) the directory records, the session tag (`libisofs_checksum_tag_v1`) all
//! of the session's data; `next` points from one to the next. `libisofs_rlsb32_checksum_tag_v1` (with a
//! `session_start` field) covers the copy of the superblock at LBA 0 that xorriso writes when it emulates
//! multi-session on a file or overwriteable medium. Just before the session tag lies the checksum array:
//! 16-byte MD5 entries, entry 0 the MD5 of the session up to the array, then one entry per data file, then the
//! MD5 of all entries before it. Which entry belongs to which file is recorded in each file's AAIP attribute
//! `isofs.cx`; odix checks instead that the MD5 of every file's data in the session is one of the entries.

//!
//! ```no_run
//! use odix::verify::{verify, VerifyOptions};
//!
//! let opts = VerifyOptions::new("disc.iso");
//! let report = verify(&opts, &mut |_| {})?;
//! for check in &report.checks {
//!     println!("{}: {:?}", check.name, check.result);
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use odix_cdrip::audio::{self, Toc, TrackSums};
use odix_cdrip::cso::CsoStore;
use odix_cdrip::cue::FileType;
use odix_cdrip::cue::{CueSheet, TrackMode};
use odix_cdrip::dat::DatMatch;
use odix_cdrip::dax::DaxStore;
use odix_cdrip::detect::ImageFormat;
use odix_cdrip::ecm::EcmStore;
use odix_cdrip::hash::{self, Hasher};
use odix_cdrip::image::{RawDisc, SectorAt, SheetKind};
use odix_cdrip::sector::{self, Repair};
use odix_cdrip::store::{ByteStore, FileStore};

use crate::cancel::Cancel;
use crate::compare::{same_contents, same_file};
use crate::output::{self, AtomicFile};
use crate::source::Source;
use crate::tree;
use crate::view::{Kind, Node, Tree};
use crate::{Image, Options, View};

/// How one check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Nothing wrong found.
    Ok,
    /// The image is incomplete or points outside itself: sectors missing, extents past the end, structures
    /// that cannot be read (exit status 2).
    Incomplete,
    /// Data does not match what the image records (EDC/ECC, MD5 tags) or the folder compared with (exit 1).
    Failed,
}

/// One check and what it found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// Which check: `raw_sectors`, `ccd_toc`, `iso9660_volume`, `udf_volume`, `iso9660_extents`, `udf_extents`,
    /// `md5_tags`, `isomd5sum` (only where an isomd5sum MD5 is implanted), `against`, `audio` (a raw image with
    /// audio tracks), `accuraterip` or `ctdb` (when a response was given).
    pub name: &'static str,
    /// How it ended.
    pub result: Outcome,
    /// What it found, one line each, as `odix verify` prints them.
    pub details: Vec<String>,
}

/// The sectors a volume needs and the image holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SectorCount {
    /// Bytes per sector (2048; a UDF volume's own block size).
    pub sector_size: u32,
    /// Sectors the volume needs.
    pub expected: u64,
    /// Sectors the image holds.
    pub present: u64,
    /// Sectors missing.
    pub missing: u64,
}

/// What to check, and what to write.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The image: an ISO 9660 or UDF image file or block device, a `.cue` sheet or a CloneCD `.ccd`.
    pub image: PathBuf,
    /// How to open it (session, offset, character set, strictness, limits).
    pub open: Options,
    /// The tree compared with [`VerifyOptions::against`] and whose files' MD5s are checked.
    pub view: View,
    /// Write a repaired copy of a raw image: the new `.cue` (or `.ccd`); its data files are written beside it.
    /// The input is never changed.
    pub repair: Option<PathBuf>,
    /// Replace the repaired copy's files if they exist.
    pub force: bool,
    /// Compare the image's tree with this folder: names, types, sizes, contents, symlink targets.
    pub against: Option<PathBuf>,
    /// Compute CRC32/MD5/SHA-1 of the image and its tracks.
    pub hashes: bool,
    /// Make a redump-style DAT entry with this game name (hashes a raw image even without `hashes`).
    pub dat: Option<String>,
    /// Match the image's tracks (size, CRC-32, MD5, SHA-1) against this Logiqx XML DAT (Redump, No-Intro).
    pub match_dat: Option<PathBuf>,
    /// Checked between sectors of the long passes: once set, `verify` stops with [`crate::cancel::Cancelled`].
    pub cancel: Cancel,
    /// Check the audio tracks against this saved AccurateRip response (a `dBAR-….bin` file).
    pub accuraterip: Option<PathBuf>,
    /// Check the audio tracks against this saved CTDB response (the XML of a lookup).
    pub ctdb: Option<PathBuf>,
    /// Fetch the disc's AccurateRip and CTDB responses from these databases and check the audio tracks against
    /// them (not with [`VerifyOptions::accuraterip`] or [`VerifyOptions::ctdb`]). The only network access.
    pub online: Option<crate::online::Online>,
    /// Keep the responses fetched [`VerifyOptions::online`] in this folder (made if missing), under the names
    /// `--accuraterip` and `--ctdb` take: `dBAR-….bin` and `ctdb-<TOC id>.xml`.
    pub save_responses: Option<PathBuf>,
}

impl VerifyOptions {
    /// Every check of the image at `image`, with hashes; no repair, no folder to compare.
    pub fn new(image: impl Into<PathBuf>) -> Self {
        VerifyOptions {
            image: image.into(),
            open: Options::default(),
            view: View::Auto,
            repair: None,
            force: false,
            against: None,
            hashes: true,
            dat: None,
            match_dat: None,
            cancel: Cancel::new(),
            accuraterip: None,
            ctdb: None,
            online: None,
            save_responses: None,
        }
    }
}

/// A long step of `verify`, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Checking raw sectors (counted in sectors).
    CheckingSectors,
    /// Copying a raw image for its repair (bytes).
    Copying,
    /// Walking an ISO 9660 tree (entries; no total).
    IsoTree,
    /// Walking a UDF tree (entries; no total).
    UdfTree,
    /// Hashing the image file (bytes).
    Hashing,
    /// Computing the audio tracks' checksums (sectors).
    AudioChecksums,
}

/// What `verify` tells as it goes.
#[derive(Debug)]
pub enum VerifyEvent<'a> {
    /// The image was recognised; the checks follow.
    Recognised(&'a Recognised),
    /// A check ended.
    Check(&'a Check),
    /// A long step advanced: `done` of `total` (no total for a tree walk).
    Progress {
        /// The step.
        task: Task,
        /// Units done.
        done: u64,
        /// Units in all, when known.
        total: Option<u64>,
    },
    /// A long step ended.
    TaskDone(Task),
}

/// One bad raw sector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSector {
    /// Index of its track in the sheet.
    pub track_index: usize,
    /// Its track's number.
    pub track: u8,
    /// Its LBA.
    pub lba: i64,
    /// What is wrong: sync, header, EDC or ECC.
    pub kind: String,
}

/// What the raw sector check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSectors {
    /// Sectors checked.
    pub checked: u64,
    /// The bad ones.
    pub bad: Vec<BadSector>,
    /// The repaired copy, when one was asked for: (bad sectors fixed, the copy's sheet).
    pub repaired: Option<(usize, PathBuf)>,
}

/// One libisofs MD5 tag checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Md5TagResult {
    /// Where it is.
    pub lba: u64,
    /// What it covers: `superblock copy`, `superblock`, `directory tree` or `session`.
    pub what: String,
    /// Whether its MD5 matches the blocks it covers.
    pub ok: bool,
}

/// The image's hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashReport {
    /// The whole image (every data file of a raw image), when hashes were wanted.
    pub image: Option<hash::Hashes>,
    /// Each track of a raw image, when hashes were wanted.
    pub tracks: Vec<(u8, hash::Hashes)>,
    /// The DAT entry, when one was asked for.
    pub dat: Option<String>,
}

/// Everything `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The image as given.
    pub path: PathBuf,
    /// What it is.
    pub image: Recognised,
    /// Each check, in the order run.
    pub checks: Vec<Check>,
    /// The problems found, one line each.
    pub problems: Vec<String>,
    /// The sectors the volume needs and the image holds.
    pub sectors: Option<SectorCount>,
    /// The raw sector check, for a raw image.
    pub raw_sectors: Option<RawSectors>,
    /// The MD5 tags checked.
    pub md5_tags: Vec<Md5TagResult>,
    /// The differences from the folder compared with, one line each.
    pub differences: Vec<String>,
    /// Hashes, when wanted.
    pub hashes: Option<HashReport>,
    /// What the DAT given by [`VerifyOptions::match_dat`] says of the image.
    pub dat_match: Option<DatMatch>,
    /// The audio tracks' checksums and the disc's ids, for a raw image with audio tracks (when hashes were wanted
    /// or a response given).
    pub audio: Option<AudioReport>,
}

/// The audio tracks' checksums, the disc's ids, and how the tracks compare with saved responses.
///
/// Each track's checksums cover it from its `INDEX 01` to the next track's (see [`odix_cdrip::audio`]).
#[derive(Debug, Clone)]
pub struct AudioReport {
    /// The disc's table of contents.
    pub toc: Toc,
    /// Each audio track's number and checksums, in order.
    pub tracks: Vec<(u8, TrackSums)>,
    /// The MusicBrainz disc ID.
    pub musicbrainz_disc_id: String,
    /// The freedb/CDDB id, 8 lowercase hex digits.
    pub freedb_id: String,
    /// The AccurateRip disc id, `NNN-xxxxxxxx-xxxxxxxx-xxxxxxxx`.
    pub accuraterip_id: String,
    /// Where the AccurateRip database keeps the disc's response: `x/y/z/dBAR-….bin` under its `accuraterip/`.
    pub accuraterip_file: String,
    /// The CUETools database's TOC id.
    pub ctdb_toc_id: String,
    /// The TOC as a CTDB lookup takes it (`toc=`).
    pub ctdb_toc: String,
    /// Each track against the AccurateRip response, when one was given.
    pub accuraterip: Option<Vec<audio::accuraterip::TrackResult>>,
    /// Each track against the CTDB response, when one was given.
    pub ctdb: Option<Vec<audio::ctdb::TrackResult>>,
    /// The CTDB CRC of the whole disc (an entry's `crc32`; [`audio::ctdb::disc_crc`]).
    pub ctdb_disc_crc: Option<u32>,
    /// The disc's CTDB CRC against the CTDB response's entries, when one was given.
    pub ctdb_disc: Option<audio::ctdb::DiscResult>,
}

impl VerifyReport {
    /// The worst result of the checks: `Failed` before `Incomplete` before `Ok`.
    pub fn outcome(&self) -> Outcome {
        if self.checks.iter().any(|c| c.result == Outcome::Failed) {
            Outcome::Failed
        } else if self.checks.iter().any(|c| c.result == Outcome::Incomplete) {
            Outcome::Incomplete
        } else {
            Outcome::Ok
        }
    }
}

/// The report being made, and whom to tell.
struct Report<'e> {
    checks: Vec<Check>,
    problems: Vec<String>,
    sectors: Option<SectorCount>,
    md5_tags: Vec<Md5TagResult>,
    run: Run<'e>,
}

/// The caller's callback and cancellation flag.
struct Run<'e> {
    on_event: &'e mut dyn FnMut(VerifyEvent<'_>),
    cancel: Cancel,
}

impl Run<'_> {
    fn progress(&mut self, task: Task, done: u64, total: Option<u64>) {
        (self.on_event)(VerifyEvent::Progress { task, done, total });
    }

    fn done(&mut self, task: Task) {
        (self.on_event)(VerifyEvent::TaskDone(task));
    }

    fn check_cancel(&self) -> Result<()> {
        Ok(self.cancel.check()?)
    }
}

impl Report<'_> {
    /// Records a check; `text` is what it found (one detail per line), told to the caller at once.
    fn add(&mut self, name: &'static str, result: Outcome, text: &[u8], problems: Vec<String>) -> Result<()> {
        let details: Vec<String> = String::from_utf8_lossy(text).lines().map(str::to_string).collect();
        self.problems.extend(problems);
        let check = Check { name, result, details };
        (self.run.on_event)(VerifyEvent::Check(&check));
        self.checks.push(check);
        Ok(())
    }
}

/// What the image is, as `verify` recognised it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    /// `iso9660`, `udf`, `iso9660+udf`, `cue` or `ccd`.
    pub format: String,
    /// Whether an ISO 9660 volume was found.
    pub iso: bool,
    /// Whether a UDF volume was found.
    pub udf: bool,
    /// Whether the image is a raw one (`.cue` or `.ccd`).
    pub raw: bool,
    /// Bytes of the image file (all data files of a raw image).
    pub size: u64,
    /// 2048-byte sectors the readers can read: the file's whole sectors, or the LBA axis of a raw image up to the
    /// end of its last data track.
    pub present: u64,
}

/// The CD sync pattern that opens every raw data sector.
const SYNC: [u8; 12] = [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0];

/// Size of what `path` names: a regular file's length, or a block device's size found by seeking to its end.
fn image_len(path: &Path) -> Result<u64> {
    if let Some(n) = container_len(path) {
        return Ok(n);
    }
    let meta = std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?;
    if meta.is_dir() {
        bail!("{}: is a directory, not a disc image", path.display());
    }
    if meta.is_file() {
        return Ok(meta.len());
    }
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    f.seek(SeekFrom::End(0)).with_context(|| format!("{}: cannot find its size", path.display()))
}

/// The image `verify` reads, and how: each check opens it afresh.
#[derive(Clone, Copy)]
struct ImageArgs<'a> {
    image: &'a Path,
    open: &'a Options,
    view: View,
}

impl ImageArgs<'_> {
    fn open(&self) -> Result<Image> {
        Image::open(self.image, self.open)
    }
}

/// Recognises the image or fails with one line naming it: an empty file, anything without an ISO 9660 or UDF
/// volume, and raw sectors given without their sheet are errors.
fn recognise(args: &ImageArgs, disc: Option<&RawDisc>) -> Result<Recognised> {
    let path = args.image;
    let image = args.open()?;
    let volumes = image.volumes()?;
    let (iso, udf) = (volumes.iso9660.is_present(), volumes.udf.is_present());
    if let Some(disc) = disc {
        let size = disc.files().iter().map(|f| f.len).sum();
        let mut r = image.reader()?;
        let present = r.seek(SeekFrom::End(0))? / 2048;
        let format = match disc.kind() {
            SheetKind::CloneCd => "ccd",
            other => other.name(),
        };
        return Ok(Recognised { format: format.into(), iso, udf, raw: true, size, present });
    }
    // A container (a DVD CHD) holds more bytes than its file: the sectors are those it holds.
    let format = odix_cdrip::detect::detect(path).unwrap_or(odix_cdrip::detect::ImageFormat::Plain);
    let size = match odix_cdrip::container::open(path, format)? {
        Some(store) => store.len(),
        None => image_len(path)?,
    };
    if size == 0 {
        bail!("{}: empty file, not a disc image", path.display());
    }
    if !iso && !udf {
        let mut head = [0u8; 12];
        let read = File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok();
        if read && head == SYNC {
            bail!(
                "{}: raw 2352-byte sectors without a cue sheet: pass the .cue or .ccd that describes them",
                path.display()
            );
        }
        if let Some(m) = crate::formats::unread_format(path) {
            bail!("{m}");
        }
        bail!("{}: not a disc image (no ISO 9660 or UDF volume found)", path.display());
    }
    let format = match (iso, udf) {
        (true, true) => "iso9660+udf",
        (true, false) => "iso9660",
        _ => "udf",
    };
    // A container of raw sectors (x.bin.ecm) is read as the data track they make: its sectors are those.
    let present = if image.is_raw() { image.reader()?.seek(SeekFrom::End(0))? / 2048 } else { size / 2048 };
    Ok(Recognised { format: format.into(), iso, udf, raw: false, size, present })
}

/// Checks the image `opts` names: recognises it (an error names anything that is not a disc image), runs every
/// check that applies, writes a repaired copy and compares with a folder when asked, hashes it. `on_event` hears
/// of the recognised image, of each check as it ends, and of the progress of the long steps.
pub fn verify(opts: &VerifyOptions, on_event: &mut dyn FnMut(VerifyEvent<'_>)) -> Result<VerifyReport> {
    let path = opts.image.clone();
    let args = ImageArgs { image: &opts.image, open: &opts.open, view: opts.view };
    // Raw discs are recognised by their content (NRG, MDS, CDI, GDI, TOC, a CD CHD; a DVD CHD is a container of
    // 2048-byte sectors), a .cue/.ccd also by its name.
    let format = odix_cdrip::detect::detect(&path).ok();
    let raw = matches!(
        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
        Some("cue") | Some("ccd")
    ) || match format {
        Some(f) if f.is_raw_disc() => odix_cdrip::container::open(&path, f)?.is_none(),
        _ => false,
    };
    if !raw && opts.repair.is_some() {
        bail!("{}: --repair needs a raw image (.cue or .ccd): an ISO image has no EDC/ECC", path.display());
    }
    if !raw && (opts.accuraterip.is_some() || opts.ctdb.is_some() || opts.online.is_some()) {
        bail!(
            "{}: checking against AccurateRip or CTDB needs a raw image (.cue or .ccd) with audio tracks",
            path.display()
        );
    }
    if opts.online.is_some() && (opts.accuraterip.is_some() || opts.ctdb.is_some()) {
        bail!("--online fetches the AccurateRip and CTDB responses itself: give it without --accuraterip or --ctdb");
    }
    // The responses are read first: a wrong file is said before the long passes.
    let mut ar_response = match &opts.accuraterip {
        Some(p) => Some((p.display().to_string(), Some(read_response(p, audio::accuraterip::parse)?))),
        None => None,
    };
    let mut ctdb_response = match &opts.ctdb {
        Some(p) => Some((p.display().to_string(), Some(read_response(p, parse_ctdb)?))),
        None => None,
    };
    let mut disc = if raw { Some(RawDisc::open(&path)?) } else { None };
    if let (Some(online), Some(disc)) = (&opts.online, disc.as_ref()) {
        (ar_response, ctdb_response) = fetch_responses(online, disc, opts.save_responses.as_deref())?;
    }
    let rec = recognise(&args, disc.as_ref())?;
    on_event(VerifyEvent::Recognised(&rec));
    let mut report = Report {
        checks: Vec::new(),
        problems: Vec::new(),
        sectors: None,
        md5_tags: Vec::new(),
        run: Run { on_event, cancel: opts.cancel.clone() },
    };
    let mut raw_sectors = None;
    if let Some(disc) = disc.as_mut() {
        let mut text = Vec::new();
        let (checked, bad) = check_sectors(disc, &mut text, &mut report.run)?;
        let mut result = if bad.is_empty() { Outcome::Ok } else { Outcome::Failed };
        let problems = if bad.is_empty() { Vec::new() } else { vec![format!("{} bad sectors", bad.len())] };
        let mut repaired = None;
        if let Some(dest) = &opts.repair {
            let fixed = repair_copy(disc, &bad, dest, opts.force, &mut text, &mut report.run)?;
            if fixed == bad.len() {
                result = Outcome::Ok;
            }
            repaired = Some((fixed, dest.clone()));
        }
        report.add("raw_sectors", result, &text, problems)?;
        raw_sectors = Some(RawSectors { checked, bad, repaired });
        if disc.kind() == SheetKind::CloneCd {
            check_ccd_layout(disc, &mut report)?;
        }
    }
    if rec.iso {
        check_iso_volume(&args, disc.as_ref(), &rec, &mut report)?;
    }
    if rec.udf {
        check_udf_volume(&args, &mut report)?;
    }
    if rec.iso {
        check_extents(&args, View::Auto, &rec, &mut report)?;
    }
    if rec.udf {
        check_extents(&args, View::Udf, &rec, &mut report)?;
    }
    // The file system of a raw image's data track may carry xorriso's MD5 tags too.
    if rec.iso {
        let mut text = Vec::new();
        let mut tags = Vec::new();
        let ok =
            if raw { md5_tags_ok(&args, &mut text, &mut tags)? } else { check_md5_tags(&args, &mut text, &mut tags)? };
        report.md5_tags = tags;
        let problems = if ok { Vec::new() } else { vec!["MD5 tags do not match".to_string()] };
        report.add("md5_tags", if ok { Outcome::Ok } else { Outcome::Failed }, &text, problems)?;
    }
    // The isomd5sum MD5 (`implantisomd5`), checked as `checkisomd5` checks it: over the whole file from its
    // start, so not for a raw image's track or a session or offset asked for.
    if rec.iso && !raw && args.open.offset.is_none() && args.open.session.is_none() {
        check_isomd5(&path, &mut report)?;
    }
    let mut differences = Vec::new();
    if let Some(dir) = &opts.against {
        let mut text = Vec::new();
        let mut tree = args.open()?.tree(args.view)?;
        let diffs = compare_with_dir(tree.as_mut(), dir, &mut text)?;
        differences = String::from_utf8_lossy(&text).lines().map(str::to_string).collect();
        let result = if diffs == 0 {
            writeln!(text, "Tree: identical to {}", dir.display())?;
            Outcome::Ok
        } else {
            writeln!(text, "Tree: {diffs} difference(s) from {}", dir.display())?;
            Outcome::Failed
        };
        let problems =
            if diffs == 0 { Vec::new() } else { vec![format!("{diffs} difference(s) from {}", dir.display())] };
        report.add("against", result, &text, problems)?;
    }
    let mut hashes = None;
    if opts.hashes || opts.dat.is_some() {
        let mut h = HashReport { image: None, tracks: Vec::new(), dat: None };
        if let Some(disc) = disc.as_ref() {
            let all = hash::hash_image(disc)?;
            if let Some(name) = &opts.dat {
                h.dat = Some(hash::dat_entry(name, &all));
            }
            if opts.hashes {
                h.image = Some(all.image);
                h.tracks = all.tracks;
            }
        } else if opts.hashes {
            // A container (ECM, CSO, ZSO, a DVD CHD) is hashed as the image it holds, as a CD CHD or any raw
            // image is hashed as its sectors rather than its compressed file.
            let format = odix_cdrip::detect::detect(&path).unwrap_or(ImageFormat::Plain);
            h.image = Some(match odix_cdrip::container::open(&path, format)? {
                Some(store) => hash_store(store.as_ref(), &path, &mut report.run)?,
                None => hash_file(&path, rec.size, &mut report.run)?,
            });
        }
        hashes = Some(h);
    }
    check_container(&path, hashes.as_ref().is_some_and(|h| h.image.is_some()), &mut report)?;
    let dat_match = match &opts.match_dat {
        Some(dat) => Some(match_dat(dat, disc.as_ref(), &path, hashes.as_ref(), &mut report)?),
        None => None,
    };
    let mut audio_report = None;
    if let Some(disc) = disc.as_mut() {
        if opts.hashes || ar_response.is_some() || ctdb_response.is_some() {
            audio_report = check_audio(disc, ar_response.as_ref(), ctdb_response.as_ref(), &mut report)?;
        }
    }
    Ok(VerifyReport {
        path,
        image: rec,
        checks: report.checks,
        problems: report.problems,
        sectors: report.sectors,
        raw_sectors,
        md5_tags: report.md5_tags,
        differences,
        hashes,
        dat_match,
        audio: audio_report,
    })
}

/// Largest response file read.
const MAX_RESPONSE_FILE: u64 = 4 << 20;

/// Reads and parses a saved response, with the file named in any error.
fn read_response<T>(path: &Path, parse: impl Fn(&[u8]) -> Result<T, audio::Error>) -> Result<T> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut data = Vec::new();
    f.take(MAX_RESPONSE_FILE + 1).read_to_end(&mut data).with_context(|| format!("reading {}", path.display()))?;
    if data.len() as u64 > MAX_RESPONSE_FILE {
        bail!("{}: larger than {MAX_RESPONSE_FILE} bytes, not a response", path.display());
    }
    parse(&data).with_context(|| format!("{}", path.display()))
}

/// Parses a CTDB response's bytes.
fn parse_ctdb(b: &[u8]) -> Result<audio::ctdb::Response, audio::Error> {
    std::str::from_utf8(b).map_err(|e| audio::Error::Ctdb(format!("not UTF-8 text ({e})"))).and_then(audio::ctdb::parse)
}

/// A response to check the audio tracks against: where it came from (a file or a URL), and what it says; `None`
/// when the database answered that it does not know the disc.
type Given<T> = (String, Option<T>);

/// The AccurateRip and CTDB responses to check against.
type Responses = (Option<Given<audio::accuraterip::Response>>, Option<Given<audio::ctdb::Response>>);

/// The AccurateRip and CTDB responses [`crate::online`] fetches for `disc`, each kept in `save` when given.
fn fetch_responses(online: &crate::online::Online, disc: &RawDisc, save: Option<&Path>) -> Result<Responses> {
    use crate::online::Fetched;
    let sheet = disc.sheet_path().display().to_string();
    let toc = Toc::from_disc(disc).with_context(|| sheet.clone())?;
    let Some(id) = toc.accuraterip_id() else {
        bail!("{sheet}: no audio tracks to check against AccurateRip or CTDB");
    };
    if let Some(dir) = save {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot make the folder", dir.display()))?;
    }
    let keep = |name: String, bytes: &[u8]| -> Result<()> {
        let Some(dir) = save else { return Ok(()) };
        let mut f = AtomicFile::create(&dir.join(name))?;
        f.file.write_all(bytes).with_context(|| format!("writing into {}", dir.display()))?;
        f.commit()
    };
    let url = online.accuraterip_url(&id);
    let ar = match online.fetch(&url)? {
        Fetched::NotInDatabase => None,
        Fetched::Body(b) => {
            keep(id.file_name(), &b)?;
            Some(audio::accuraterip::parse(&b).with_context(|| url.clone())?)
        }
    };
    let ar = (url, ar);
    let url = online.ctdb_url(&toc);
    let ctdb = match online.fetch(&url)? {
        Fetched::NotInDatabase => None,
        Fetched::Body(b) => {
            keep(format!("ctdb-{}.xml", toc.ctdb_toc_id().unwrap_or_default()), &b)?;
            // A lookup that found metadata but no rip answers with no entry: the disc is not in the database.
            Some(parse_ctdb(&b).with_context(|| url.clone())?).filter(|r| !r.entries.is_empty())
        }
    };
    Ok((Some(ar), Some((url, ctdb))))
}

/// Computes the audio tracks' checksums and the disc's ids (the `audio` check), then compares the tracks with the
/// responses given (the `accuraterip` and `ctdb` checks, failed when a track matches no entry). `None` for an
/// image without audio tracks.
fn check_audio(
    disc: &mut RawDisc,
    ar: Option<&Given<audio::accuraterip::Response>>,
    ctdb: Option<&Given<audio::ctdb::Response>>,
    report: &mut Report,
) -> Result<Option<AudioReport>> {
    let responses = ar.is_some() || ctdb.is_some();
    if !disc.tracks().iter().any(|t| matches!(t.mode, TrackMode::Audio | TrackMode::Cdg)) {
        if responses {
            bail!("{}: no audio tracks to check against AccurateRip or CTDB", disc.sheet_path().display());
        }
        return Ok(None);
    }
    let mut text = Vec::new();
    // A sheet whose tracks make no disc's TOC (numbers that skip, say) still gets its other checks.
    let toc = match Toc::from_disc(disc) {
        Ok(t) => t,
        Err(e) if !responses => {
            writeln!(text, "Audio checksums: not computed ({e})")?;
            report.add("audio", Outcome::Ok, &text, Vec::new())?;
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("{}", disc.sheet_path().display())),
    };
    let tracks = match audio_sums(disc, &toc, &mut report.run) {
        Ok(t) => t,
        // A sheet of WAVE files, or an image cut short: said, and only an error when a response was to be checked.
        Err(e) if !responses && e.downcast_ref::<crate::cancel::Cancelled>().is_none() => {
            writeln!(text, "Audio checksums: not computed ({e:#})")?;
            report.add("audio", Outcome::Ok, &text, Vec::new())?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let id = toc.accuraterip_id().context("AccurateRip id of a disc with audio tracks")?;
    let a = AudioReport {
        musicbrainz_disc_id: toc.musicbrainz_id(),
        freedb_id: format!("{:08x}", toc.freedb_id()),
        accuraterip_id: id.to_string(),
        accuraterip_file: id.url_path(),
        ctdb_toc_id: toc.ctdb_toc_id().unwrap_or_default(),
        ctdb_toc: toc.ctdb_toc(),
        ctdb_disc_crc: audio::ctdb::disc_crc(&toc, &tracks),
        toc,
        tracks,
        accuraterip: None,
        ctdb: None,
        ctdb_disc: None,
    };
    writeln!(text, "Audio: {} tracks (checksums from each INDEX 01 to the next)", a.tracks.len())?;
    for (n, s) in &a.tracks {
        writeln!(
            text,
            "  track {n:02}  AccurateRip v1 {:08x}  v2 {:08x}  CRC32 {:08x}  without silence {:08x}  CTDB {:08x}",
            s.accuraterip_v1, s.accuraterip_v2, s.crc32, s.crc32_nonsilent, s.ctdb_crc
        )?;
    }
    writeln!(text, "MusicBrainz disc ID: {}", a.musicbrainz_disc_id)?;
    writeln!(text, "freedb id: {}", a.freedb_id)?;
    writeln!(text, "AccurateRip id: {} ({})", a.accuraterip_id, a.accuraterip_file)?;
    writeln!(text, "CTDB TOC id: {} (toc {})", a.ctdb_toc_id, a.ctdb_toc)?;
    if let Some(c) = a.ctdb_disc_crc {
        writeln!(text, "CTDB disc CRC: {c:08x}")?;
    }
    report.add("audio", Outcome::Ok, &text, Vec::new())?;
    let mut a = a;
    // Not a fault of the rip: nobody has submitted this disc (or this TOC) yet.
    if let Some((from, None)) = ar {
        let text = format!("AccurateRip: disc not in the database (asked {from})\n");
        report.add("accuraterip", Outcome::Ok, text.as_bytes(), Vec::new())?;
    }
    if let Some((from, Some(r))) = ar {
        let results = audio::accuraterip::verify(r, &a.toc, &a.tracks).with_context(|| from.clone())?;
        let mut text = Vec::new();
        let mut problems = Vec::new();
        for t in &results {
            let line = match (t.v1_confidence, t.v2_confidence) {
                (_, Some(c)) => format!("v2 {:08x} matches, confidence {c} of {}", t.v2, t.total_confidence),
                (Some(c), None) => format!("v1 {:08x} matches, confidence {c} of {}", t.v1, t.total_confidence),
                (None, None) if t.entries == 0 => format!("NOT IN THE DATABASE (v1 {:08x}, v2 {:08x})", t.v1, t.v2),
                (None, None) => format!(
                    "NO MATCH (v1 {:08x}, v2 {:08x}; {} entries, confidence {})",
                    t.v1, t.v2, t.entries, t.total_confidence
                ),
            };
            writeln!(text, "AccurateRip track {:02}: {line}", t.track)?;
            if !t.matched() {
                problems.push(format!("AccurateRip: track {:02} matches no entry", t.track));
            }
        }
        let good = results.iter().filter(|t| t.matched()).count();
        writeln!(text, "AccurateRip: {good} of {} tracks match", results.len())?;
        let outcome = if problems.is_empty() { Outcome::Ok } else { Outcome::Failed };
        report.add("accuraterip", outcome, &text, problems)?;
        a.accuraterip = Some(results);
    }
    if let Some((from, None)) = ctdb {
        let text = format!("CTDB: disc not in the database (asked {from})\n");
        report.add("ctdb", Outcome::Ok, text.as_bytes(), Vec::new())?;
    }
    if let Some((from, Some(r))) = ctdb {
        let results = audio::ctdb::verify(r, &a.toc, &a.tracks).with_context(|| from.clone())?;
        let mut text = Vec::new();
        let mut problems = Vec::new();
        for t in &results {
            match t.confidence {
                Some(c) => writeln!(
                    text,
                    "CTDB track {:02}: {:08x} matches, confidence {c} of {}",
                    t.track, t.crc, t.total_confidence
                )?,
                None => {
                    writeln!(
                        text,
                        "CTDB track {:02}: NO MATCH ({:08x}; confidence {})",
                        t.track, t.crc, t.total_confidence
                    )?;
                    problems.push(format!("CTDB: track {:02} matches no entry", t.track));
                }
            }
        }
        let good = results.iter().filter(|t| t.matched()).count();
        // The whole disc's CRC is said, not judged: the tracks decide, and an entry may give no `crc32`.
        if let Some(crc) = a.ctdb_disc_crc {
            let d = audio::ctdb::verify_disc(r, &a.toc, crc);
            match d.confidence {
                Some(c) => writeln!(text, "CTDB disc: {crc:08x} matches, confidence {c} of {}", d.total_confidence)?,
                None if d.entries == 0 => writeln!(text, "CTDB disc: {crc:08x} (no entry gives a disc CRC)")?,
                None => writeln!(
                    text,
                    "CTDB disc: {crc:08x} matches no entry ({} entries, confidence {})",
                    d.entries, d.total_confidence
                )?,
            }
            a.ctdb_disc = Some(d);
        }
        writeln!(text, "CTDB: {good} of {} tracks match", results.len())?;
        let outcome = if problems.is_empty() { Outcome::Ok } else { Outcome::Failed };
        report.add("ctdb", outcome, &text, problems)?;
        a.ctdb = Some(results);
    }
    Ok(Some(a))
}

/// Reads every audio track of `disc` from its `INDEX 01` to the next track's and computes its checksums: stored
/// sectors as the image holds them (big-endian `MOTOROLA` files swapped to little-endian), pregaps and postgaps
/// the image does not store as silence.
fn audio_sums(disc: &mut RawDisc, toc: &Toc, run: &mut Run) -> Result<Vec<(u8, TrackSums)>> {
    let numbers: Vec<u8> = toc.audio_tracks().map(|t| t.number).collect();
    let total: u64 = numbers.iter().filter_map(|&n| toc.track_sectors(n)).map(u64::from).sum();
    run.progress(Task::AudioChecksums, 0, Some(total));
    let mut done = 0u64;
    let mut out = Vec::with_capacity(numbers.len());
    let mut buf = vec![0u8; 2448];
    for n in numbers {
        let (Some(mut sums), Some(sectors), Some(t)) =
            (toc.track_checksums(n), toc.track_sectors(n), toc.tracks().iter().find(|t| t.number == n))
        else {
            bail!("track {n:02}: not an audio track of the table of contents");
        };
        let start = i64::from(t.start);
        for lba in start..start + i64::from(sectors) {
            match disc.locate(lba) {
                SectorAt::Stored { track } => {
                    let t = disc.tracks().get(track).context("a located track")?.clone();
                    if matches!(t.mode, TrackMode::Audio | TrackMode::Cdg) {
                        let size = t.sector_size() as usize;
                        let b = buf.get_mut(..size).context("sector size")?;
                        disc.read_stored(track, lba, b).with_context(|| format!("track {n:02}, LBA {lba}"))?;
                        let motorola = disc.files().get(t.file).is_some_and(|f| f.file_type == FileType::Motorola);
                        let s = &mut buf[..2352];
                        if motorola {
                            s.chunks_exact_mut(2).for_each(|p| p.swap(0, 1));
                        }
                        sums.update(s);
                    } else {
                        // A data track's pregap counted with the audio track before it.
                        let raw = disc.read_raw(track, lba).with_context(|| format!("track {n:02}, LBA {lba}"))?;
                        sums.update(&raw);
                    }
                }
                SectorAt::Gap => sums.update(&[0u8; 2352]),
                SectorAt::End => bail!(
                    "track {n:02}: LBA {lba} is past the end of the image (the table of contents has the audio end \
                     at LBA {})",
                    toc.audio_leadout()
                ),
            }
            done += 1;
            if done.is_multiple_of(1024) {
                run.progress(Task::AudioChecksums, done, Some(total));
                run.check_cancel()?;
            }
        }
        out.push((n, sums.finish().with_context(|| format!("track {n:02}"))?));
    }
    run.done(Task::AudioChecksums);
    Ok(out)
}

/// The length of the file an ECM, CSO or ZSO file holds (`None` for any other file).
fn container_len(path: &Path) -> Option<u64> {
    let format = odix_cdrip::detect::detect(path).ok()?;
    odix_cdrip::container::open(path, format).ok().flatten().map(|s| s.len())
}

/// Decodes every block of a compressed ISO; its length.
fn decode_all(s: &dyn ByteStore) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < s.len() {
        let n = usize::try_from(s.len() - pos).unwrap_or(usize::MAX).min(buf.len());
        s.read_at(pos, &mut buf[..n])?;
        pos += n as u64;
    }
    Ok(pos)
}

/// For an ECM, CSO, ZSO or DAX file: decodes all of it (an ECM's EDC checked), as the `container` check; `hashed`
/// when the image's hashes were computed (of the bytes it holds, which the line says).
fn check_container(path: &Path, hashed: bool, report: &mut Report) -> Result<()> {
    let format = odix_cdrip::detect::detect(path).ok();
    if !format.is_some_and(ImageFormat::is_container) {
        return Ok(());
    }
    let name = format.map_or("", ImageFormat::name);
    let found = match format {
        Some(ImageFormat::Ecm) => EcmStore::open(path).and_then(|s| s.check().map(|()| s.len())),
        Some(ImageFormat::Dax) => DaxStore::open(path).and_then(|s| decode_all(&s)),
        _ => CsoStore::open(path).and_then(|s| decode_all(&s)),
    };
    let (result, line, problems) = match found {
        Ok(n) => {
            let of = if hashed { "; the hashes are those of the image it holds" } else { "" };
            (Outcome::Ok, format!("Container: {name} holding {n} bytes, every block decoded{of}"), Vec::new())
        }
        Err(e) => (Outcome::Failed, format!("Container: {name}: {e}"), vec![format!("{name}: {e}")]),
    };
    report.add("container", result, line.as_bytes(), problems)
}

/// Matches the tracks' hashes (those already computed, else computed now; an ISO image or a container's file
/// counts as one track) against the DAT at `dat`, as the `dat` check: failed when no game matches whole.
fn match_dat(
    dat: &Path,
    disc: Option<&RawDisc>,
    image: &Path,
    known: Option<&HashReport>,
    report: &mut Report,
) -> Result<DatMatch> {
    let len = std::fs::metadata(dat).with_context(|| format!("cannot open {}", dat.display()))?.len();
    if len > odix_cdrip::dat::MAX_DAT_BYTES {
        bail!(
            "{}: {len} bytes, more than a DAT file holds (at most {})",
            dat.display(),
            odix_cdrip::dat::MAX_DAT_BYTES
        );
    }
    let xml = std::fs::read(dat).with_context(|| format!("cannot read {}", dat.display()))?;
    let parsed = odix_cdrip::dat::parse(&xml).with_context(|| format!("{}: not a Logiqx XML DAT", dat.display()))?;
    let tracks = match (known.filter(|h| !h.tracks.is_empty()), disc) {
        (Some(h), _) => h.tracks.clone(),
        (None, Some(disc)) => hash::hash_image(disc)?.tracks,
        (None, None) => {
            let format =
                odix_cdrip::detect::detect(image).with_context(|| format!("cannot open {}", image.display()))?;
            let store: Box<dyn ByteStore> = match odix_cdrip::container::open(image, format)? {
                Some(s) => s,
                None => Box::new(FileStore::open(image).with_context(|| format!("cannot open {}", image.display()))?),
            };
            vec![(1, hash_store(store.as_ref(), image, &mut report.run)?)]
        }
    };
    let found = odix_cdrip::dat::match_tracks(&parsed, &tracks);
    let mut text = Vec::new();
    // The game's own sheet, compared for information: a sheet odix or another tool wrote may differ in its words.
    let sheet_line = |game: &str| -> Result<Option<String>> {
        let Some(disc) = disc.filter(|d| d.kind() == SheetKind::Cue) else { return Ok(None) };
        let bytes =
            std::fs::read(disc.sheet_path()).with_context(|| format!("reading {}", disc.sheet_path().display()))?;
        let mut h = Hasher::new();
        h.update(&bytes);
        Ok(odix_cdrip::dat::match_sheet(&parsed, game, &h.finish()).map(|(name, diffs)| match diffs.is_empty() {
            true => format!("  sheet: matches {name}"),
            false => format!("  sheet: differs from {name} (not counted): {}", diffs.join("; ")),
        }))
    };
    let (result, problems) = match &found {
        DatMatch::Matched { game, tracks } => {
            writeln!(text, "DAT: matches \"{game}\" ({} track(s): size, CRC-32, MD5, SHA-1)", tracks.len())?;
            if let Some(l) = sheet_line(game)? {
                writeln!(text, "{l}")?;
            }
            let bad = lead_files(&parsed, game, disc.map_or(image, RawDisc::sheet_path), &mut text, report)?;
            match bad.is_empty() {
                true => (Outcome::Ok, Vec::new()),
                false => (Outcome::Failed, bad),
            }
        }
        DatMatch::Differs { game, tracks, missing } => {
            writeln!(text, "DAT: closest game \"{game}\", which differs:")?;
            for t in tracks {
                writeln!(text, "  {t}")?;
            }
            for m in missing {
                writeln!(text, "  {m}: in the DAT, matched by no track")?;
            }
            let bad = tracks.iter().filter(|t| !t.differences.is_empty()).count();
            (Outcome::Failed, vec![format!("{bad} track(s) differ from \"{game}\" in {}", dat.display())])
        }
        DatMatch::NotFound => {
            writeln!(text, "DAT: no game of {} has a track of this image", dat.display())?;
            (Outcome::Failed, vec![format!("not in {}", dat.display())])
        }
    };
    report.add("dat", result, &text, problems)?;
    Ok(found)
}

/// The lead-in and lead-out files of `game` ([`odix_cdrip::dat::Rom::is_lead_file`]), which no sheet names,
/// compared with the files of those names beside `sheet`; a line each in `text`. Those that differ, as
/// problems; one that is not there is said and not counted (a dump's tracks are whole without it).
fn lead_files(
    dat: &odix_cdrip::dat::Dat,
    game: &str,
    sheet: &Path,
    text: &mut Vec<u8>,
    report: &mut Report,
) -> Result<Vec<String>> {
    let mut bad = Vec::new();
    let Some(g) = dat.games.iter().find(|g| g.name == game) else { return Ok(bad) };
    let dir = sheet.parent().unwrap_or(Path::new("."));
    for rom in g.lead_files() {
        // The DAT's name is a file name only: anything with a separator is not looked for.
        let path = dir.join(&rom.name);
        let plain = !rom.name.contains(['/', '\\']) && rom.name != ".." && rom.name != ".";
        let meta = std::fs::metadata(&path).ok().filter(|m| plain && m.is_file());
        let Some(meta) = meta else {
            writeln!(text, "  {}: lead-in/lead-out file of the DAT, not beside the sheet (not checked)", rom.name)?;
            continue;
        };
        let h = hash_file(&path, meta.len(), &mut report.run)?;
        let d = odix_cdrip::dat::compare_file(rom, &h);
        if d.is_empty() {
            writeln!(text, "  {}: matches (lead-in/lead-out file beside the sheet)", rom.name)?;
        } else {
            writeln!(text, "  {}: differs: {}", rom.name, d.join("; "))?;
            bad.push(format!("{} differs from \"{game}\"", rom.name));
        }
    }
    Ok(bad)
}

/// The hashes of every byte of `store` (`path` names it in messages).
fn hash_store(store: &dyn ByteStore, path: &Path, run: &mut Run) -> Result<hash::Hashes> {
    let mut h = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    run.progress(Task::Hashing, 0, Some(store.len()));
    while pos < store.len() {
        let n = usize::try_from(store.len() - pos).unwrap_or(usize::MAX).min(buf.len());
        store.read_at(pos, &mut buf[..n]).with_context(|| format!("reading {}", path.display()))?;
        h.update(&buf[..n]);
        pos += n as u64;
        run.progress(Task::Hashing, pos, Some(store.len()));
        run.check_cancel()?;
    }
    run.done(Task::Hashing);
    Ok(h.finish())
}

/// CRC32/MD5/SHA-1 of the whole file.
fn hash_file(path: &Path, size: u64, run: &mut Run) -> Result<hash::Hashes> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    run.progress(Task::Hashing, 0, Some(size));
    loop {
        let n = f.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        done += n as u64;
        run.progress(Task::Hashing, done, Some(size));
        run.check_cancel()?;
    }
    run.done(Task::Hashing);
    Ok(h.finish())
}

/// Most volume descriptors read in one set.
const MAX_DESCRIPTORS: u64 = 256;
/// Most sessions followed in a grown image file.
const MAX_SESSIONS: usize = 1000;

/// The largest volume space size in the descriptor set of the session that starts at `start`, or `None` when no
/// primary volume descriptor is there.
fn session_size(r: &mut Source, start: u64) -> Option<u64> {
    let mut size: Option<u64> = None;
    for i in 0..MAX_DESCRIPTORS {
        let lba = start.checked_add(16)?.checked_add(i)?;
        let mut s = [0u8; 2048];
        if r.seek(SeekFrom::Start(lba.checked_mul(2048)?)).is_err() || r.read_exact(&mut s).is_err() {
            break;
        }
        if &s[1..6] != b"CD001" || s[0] == 255 {
            break;
        }
        if s[0] == 1 || s[0] == 2 {
            let vss = u64::from(u32::from_le_bytes([s[80], s[81], s[82], s[83]]));
            size = Some(size.map_or(vss, |x| x.max(vss)));
        }
    }
    size
}

/// The sessions of the image and where each ends: a raw disc's sessions with a data track, or the sessions of a
/// grown image file found by looking for another volume descriptor set where one ends (as multi-session writers
/// place them: at its end, or rounded up to 16 or 32 sectors).
///
/// A later session's volume space size counts either from the start of the disc (mkisofs `-C`) or from the
/// session (xorriso growing an image file, which also copies the newest session's descriptors to LBA 0): it counts
/// from the session when that makes it end where the descriptors at LBA 0 say the volume ends, or when it is not
/// larger than the session's start; otherwise from the start of the disc.
fn iso_sessions(args: &ImageArgs, disc: Option<&RawDisc>) -> Result<Vec<(u64, u64)>> {
    let image = args.open()?;
    let mut r = image.reader()?;
    let mut starts: Vec<u64> = match disc {
        Some(d) => (1..=d.session_count())
            .filter_map(|s| d.session_start(Some(s)).ok())
            .filter_map(|l| u64::try_from(l).ok())
            .collect(),
        // LBA 0, and 32: where xorriso puts the first session of an image it grows.
        None => vec![32, 0],
    };
    if !starts.contains(&image.session_start()) {
        starts.push(image.session_start());
    }
    let grown = disc.is_none();
    let at_zero = if grown { session_size(&mut r, 0) } else { None };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    while let Some(start) = starts.pop() {
        if !seen.insert(start) || out.len() >= MAX_SESSIONS {
            continue;
        }
        let Some(size) = session_size(&mut r, start) else { continue };
        let relative = start.saturating_add(size);
        let end = if size <= start || at_zero.is_some_and(|z| start > 0 && z == relative) { relative } else { size };
        out.push((start, end));
        if grown {
            for e in [end, relative] {
                starts.extend([e, e.next_multiple_of(16), e.next_multiple_of(32)].into_iter().filter(|&n| n > start));
            }
        }
    }
    // The copy at LBA 0 of a grown image ends where the newest session ends: one session, not two.
    out.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
    let mut ends = HashSet::new();
    out.retain(|s| ends.insert(s.1));
    out.sort_unstable();
    Ok(out)
}

/// The ISO 9660 volume fits the image: the largest volume space size of every session against the sectors
/// present.
fn check_iso_volume(args: &ImageArgs, disc: Option<&RawDisc>, rec: &Recognised, report: &mut Report) -> Result<()> {
    let mut text = Vec::new();
    let sessions = iso_sessions(args, disc)?;
    let Some(expected) = sessions.iter().map(|s| s.1).max() else {
        writeln!(text, "ISO 9660 volume: no primary volume descriptor could be read")?;
        let p = vec!["ISO 9660 volume descriptors unreadable".to_string()];
        return report.add("iso9660_volume", Outcome::Incomplete, &text, p);
    };
    let present = rec.present;
    let missing = expected.saturating_sub(present);
    let what = if sessions.len() > 1 {
        format!("largest volume space size of {} sessions", sessions.len())
    } else {
        "volume space size".to_string()
    };
    let count = SectorCount { sector_size: 2048, expected, present, missing };
    report.sectors = Some(count);
    let mut problems = Vec::new();
    if missing > 0 {
        writeln!(
            text,
            "ISO 9660 volume: {expected} sectors ({what}), {present} in the image: TRUNCATED, {missing} sectors \
             ({} bytes) missing",
            missing * 2048
        )?;
        problems.push(format!(
            "truncated: the ISO 9660 volume has {expected} sectors, the image {present} ({missing} missing)"
        ));
    } else {
        writeln!(text, "ISO 9660 volume: {expected} sectors ({what}), {present} in the image: ok")?;
    }
    // (Not for a container of raw sectors, whose sectors are not its bytes over 2048.)
    if disc.is_none() && rec.present == rec.size / 2048 && !rec.size.is_multiple_of(2048) {
        writeln!(text, "  note: the file's size is not a multiple of 2048 ({} bytes over)", rec.size % 2048)?;
    }
    let result = if missing > 0 { Outcome::Incomplete } else { Outcome::Ok };
    report.add("iso9660_volume", result, &text, problems)
}

/// The UDF volume fits the image: its partitions and volume descriptor sequences lie inside it, and its anchors
/// are where a complete image has them.
fn check_udf_volume(args: &ImageArgs, report: &mut Report) -> Result<()> {
    let mut text = Vec::new();
    let image = args.open()?;
    let uopts = odix_udf::Options::default().session_start(image.session_start());
    let vol = match odix_udf::Volume::open(image.reader()?, uopts) {
        Ok(v) => v,
        Err(e) => {
            writeln!(text, "UDF volume: cannot be read: {e}")?;
            let p = vec![format!("UDF volume structures unreadable: {e}")];
            return report.add("udf_volume", Outcome::Incomplete, &text, p);
        }
    };
    let info = vol.info();
    let bs = u64::from(info.block_size);
    let present = info.image_blocks;
    let blocks_of = |bytes: u32| u64::from(bytes).div_ceil(bs);
    let mut needs: Vec<(u64, String)> = vec![
        (
            u64::from(info.anchor.main.location) + blocks_of(info.anchor.main.length),
            "main volume descriptor sequence".into(),
        ),
        (
            u64::from(info.anchor.reserve.location) + blocks_of(info.anchor.reserve.length),
            "reserve volume descriptor sequence".into(),
        ),
    ];
    // A virtual (VAT) partition is recorded up to the VAT: its descriptor gives the whole disc's capacity.
    let virtual_ = info.map_kinds.contains(&odix_udf::read::MappingKind::Virtual);
    if !virtual_ {
        for p in &info.partitions {
            needs.push((u64::from(p.start) + u64::from(p.length), format!("partition {}", p.number)));
        }
    }
    if let Some(vat) = &info.vat {
        needs.push((vat.location + 1, "virtual allocation table".into()));
    }
    let (expected, what) = needs.into_iter().max_by_key(|n| n.0).unwrap_or((0, String::new()));
    let missing = expected.saturating_sub(present);
    let mut problems = Vec::new();
    if missing > 0 {
        writeln!(
            text,
            "UDF volume: {expected} blocks of {bs} bytes (end of the {what}), {present} in the image: TRUNCATED, \
             {missing} blocks ({} bytes) missing",
            missing * bs
        )?;
        problems.push(format!(
            "truncated: the UDF {what} ends at block {expected}, the image has {present} ({missing} missing)"
        ));
    } else {
        writeln!(text, "UDF volume: {expected} blocks of {bs} bytes (end of the {what}), {present} in the image: ok")?;
    }
    let anchors: Vec<String> = info.anchors.iter().map(u64::to_string).collect();
    let last = present.saturating_sub(1);
    let at_end = info.anchors.iter().any(|&a| a == last || a + 256 == last);
    // ECMA-167 3/8.4.2.1 wants two anchors; a disc written sequentially and left open (a VAT volume) has only the
    // one at 256 until it is closed.
    let mut anchor_missing = false;
    if at_end {
        writeln!(text, "UDF anchors: at blocks {}: ok", anchors.join(", "))?;
    } else if virtual_ {
        writeln!(
            text,
            "UDF anchors: only at block {} (a sequentially written volume, left open for appending)",
            anchors.join(", ")
        )?;
    } else {
        anchor_missing = true;
        writeln!(
            text,
            "UDF anchors: only at block {}: none at N-256 or N-1 (block {} or {last}): the image may be cut short",
            anchors.join(", "),
            last.saturating_sub(256)
        )?;
        problems.push(format!(
            "the UDF anchor at the end of the volume (block {} or {last}) is missing: the image may be cut short",
            last.saturating_sub(256)
        ));
    }
    let count = SectorCount { sector_size: info.block_size, expected, present, missing };
    if report.sectors.is_none_or(|s| s.missing == 0) {
        report.sectors = Some(count);
    }
    let result = if missing > 0 || anchor_missing { Outcome::Incomplete } else { Outcome::Ok };
    report.add("udf_volume", result, &text, problems)
}

/// A CloneCD image holds every sector its TOC places between each session's first track and its lead-out.
fn check_ccd_layout(disc: &RawDisc, report: &mut Report) -> Result<()> {
    let mut text = Vec::new();
    let Some(ccd) = disc.ccd() else { return Ok(()) };
    let mut expected = 0u64;
    for (s, leadout) in &ccd.leadouts {
        if let Some(first) = ccd.tracks.iter().find(|t| t.session == *s) {
            expected += u64::try_from(leadout - first.start).unwrap_or(0);
        }
    }
    let present = disc.files().first().map_or(0, |f| f.len / 2352);
    let missing = expected.saturating_sub(present);
    let mut problems = Vec::new();
    if missing > 0 {
        let img = disc.files().first().map(|f| f.path.display().to_string()).unwrap_or_default();
        writeln!(text, "CloneCD TOC: {expected} sectors up to the lead-out, {present} in {img}: {missing} missing")?;
        problems.push(format!("truncated: the TOC places {expected} sectors, the file holds {present}"));
    } else {
        writeln!(text, "CloneCD TOC: {expected} sectors up to the lead-out, {present} in the image: ok")?;
    }
    if report.sectors.is_none() {
        report.sectors = Some(SectorCount { sector_size: 2352, expected, present, missing });
    }
    report.add("ccd_toc", if missing > 0 { Outcome::Incomplete } else { Outcome::Ok }, &text, problems)
}

/// Every file's and directory's extents lie inside the image: walks the tree of `view`.
fn check_extents(args: &ImageArgs, view: View, rec: &Recognised, report: &mut Report) -> Result<()> {
    let name = if view == View::Udf { "udf_extents" } else { "iso9660_extents" };
    let label = if view == View::Udf { "UDF" } else { "ISO 9660" };
    let mut text = Vec::new();
    let mut problems = Vec::new();
    let image = args.open()?;
    let mut tree = match image.tree(view) {
        Ok(t) => t,
        Err(e) => {
            writeln!(text, "{label} files: the tree cannot be read: {e:#}")?;
            problems.push(format!("{label} tree unreadable: {e:#}"));
            return report.add(name, Outcome::Incomplete, &text, problems);
        }
    };
    // Extents count the volume's blocks: 2048 bytes, or a UDF disk image's own block size.
    let block =
        if view == View::Udf { image.volumes()?.udf.found().map_or(2048, |v| u64::from(v.block_size)) } else { 2048 };
    // A plain file holds its bytes; a raw image the 2048-byte sectors of its data tracks.
    let image_bytes = if image.is_raw() { rec.present * 2048 } else { rec.size };
    let mut files = 0u64;
    let mut outside = 0u64;
    let root = tree.root()?;
    let task = if view == View::Udf { Task::UdfTree } else { Task::IsoTree };
    let mut walked = 0u64;
    let mut warnings = 0u64;
    let mut note = |text: &mut Vec<u8>, problems: &mut Vec<String>, w: String| -> Result<()> {
        warnings += 1;
        writeln!(text, "  warning: {w}")?;
        problems.push(w);
        Ok(())
    };
    // Depth first, each directory once (a directory reached twice, or a loop, is not read again).
    let mut stack: Vec<(Node, String, u32)> = vec![(root, "/".to_string(), 0)];
    let mut seen = HashSet::new();
    let limits = *image.limits();
    let mut total = 0u64;
    while let Some((node, p, depth)) = stack.pop() {
        if matches!(node.kind, Kind::File | Kind::Dir) {
            files += 1;
            walked += 1;
            report.run.progress(task, walked, None);
            let mut beyond = 0u64;
            for x in &node.extents {
                let end = x.lba.saturating_mul(block).saturating_add(x.length);
                if x.length > 0 && end > image_bytes {
                    beyond += end - image_bytes.max(x.lba.saturating_mul(block));
                }
            }
            if beyond > 0 {
                outside += 1;
                let first = node.extents.iter().map(|x| x.lba).min().unwrap_or(0);
                let what = if node.kind == Kind::Dir { "directory" } else { "file" };
                let line = format!(
                    "{p}: {what} data at block {first} runs past the end of the image ({beyond} of {} bytes missing)",
                    node.extents.iter().map(|x| x.length).sum::<u64>()
                );
                writeln!(text, "  {line}")?;
                problems.push(format!("{label} {line}"));
            }
        }
        if node.kind != Kind::Dir {
            continue;
        }
        if let Some(id) = node.link_id.or_else(|| node.extents.first().map(|x| x.lba)) {
            if !seen.insert(id) {
                continue;
            }
        }
        if depth >= limits.max_depth {
            note(&mut text, &mut problems, format!("{p}: deeper than {} levels, not read", limits.max_depth))?;
            continue;
        }
        let entries = tree.read_dir(&node);
        for w in tree.take_warnings() {
            note(&mut text, &mut problems, w.0)?;
        }
        let entries = match entries {
            Ok(e) => e,
            Err(e) => {
                note(&mut text, &mut problems, format!("{p}: {e:#}"))?;
                continue;
            }
        };
        total += entries.len() as u64;
        if total > limits.max_total_entries {
            bail!("more than {} entries in the image (raise --max-entries)", limits.max_total_entries);
        }
        for child in entries.into_iter().rev() {
            let cp = tree::join(&p, &crate::view::display_name(&child.name));
            stack.push((child, cp, depth + 1));
        }
    }
    for w in tree.take_warnings() {
        note(&mut text, &mut problems, w.0)?;
    }
    report.run.done(task);
    let result = if outside > 0 || warnings > 0 { Outcome::Incomplete } else { Outcome::Ok };
    writeln!(
        text,
        "{label} files: {files} files and directories, {outside} with data past the end of the image{}",
        if warnings > 0 { format!(", {warnings} warnings while reading the tree") } else { String::new() }
    )?;
    report.add(name, result, &text, problems)
}

/// Checks every stored sector of every data track that stores raw sectors; notes the bad ones. Returns how many
/// were checked, and the bad ones.
fn check_sectors(disc: &mut RawDisc, out: &mut dyn Write, run: &mut Run) -> Result<(u64, Vec<BadSector>)> {
    let mut bad = Vec::new();
    let mut checked = 0u64;
    let tracks: Vec<_> = disc.tracks().to_vec();
    let total: u64 = tracks
        .iter()
        .filter(|t| {
            matches!(
                t.mode,
                TrackMode::Mode1_2352
                    | TrackMode::Mode2_2352
                    | TrackMode::Mode2_2336
                    | TrackMode::Cdi2352
                    | TrackMode::Cdi2336
            )
        })
        .map(|t| t.stored)
        .sum();
    run.progress(Task::CheckingSectors, 0, Some(total));
    for (ti, t) in tracks.iter().enumerate() {
        match t.mode {
            TrackMode::Audio | TrackMode::Cdg => {
                writeln!(out, "Track {:02}: audio, {} sectors, not checked (no EDC/ECC)", t.number, t.stored)?;
                continue;
            }
            TrackMode::Mode1_2048 | TrackMode::Mode2_2048 | TrackMode::Mode2_2324 => {
                writeln!(
                    out,
                    "Track {:02}: {} stores user data only, {} sectors, nothing to check",
                    t.number, t.mode, t.stored
                )?;
                continue;
            }
            _ => {}
        }
        let mut track_bad = 0u64;
        for lba in t.first_lba..t.end_lba() {
            let s = disc.read_raw(ti, lba)?;
            let c = sector::check(&s, Some(lba));
            checked += 1;
            if checked.is_multiple_of(1024) {
                run.progress(Task::CheckingSectors, checked, Some(total));
                run.check_cancel()?;
            }
            if !c.is_ok() {
                writeln!(out, "LBA {lba} (track {:02}): {}", t.number, c.describe())?;
                bad.push(BadSector { track_index: ti, track: t.number, lba, kind: c.describe() });
                track_bad += 1;
            }
        }
        writeln!(out, "Track {:02}: {}, {} sectors checked, {} bad", t.number, t.mode, t.stored, track_bad)?;
    }
    run.done(Task::CheckingSectors);
    writeln!(
        out,
        "Sectors: {checked} checked, {} bad{}",
        bad.len(),
        if bad.is_empty() { "" } else { " (sync, header, EDC or ECC)" }
    )?;
    Ok((checked, bad))
}

/// Writes a repaired copy of `disc` described by `dest`; returns how many bad sectors were fixed. Every file of
/// the copy is written under a temporary name and renamed into place only when all are complete.
fn repair_copy(
    disc: &mut RawDisc,
    bad: &[BadSector],
    dest: &Path,
    force: bool,
    out: &mut dyn Write,
    run: &mut Run,
) -> Result<usize> {
    let want = match disc.kind() {
        SheetKind::Cue if disc.cue().is_some() => "cue",
        SheetKind::CloneCd => "ccd",
        other => bail!(
            "{}: --repair writes CUE or CloneCD images, and this is a {} image: convert it to BIN/CUE first \
             (odix convert IMAGE NAME.cue)",
            disc.sheet_path().display(),
            other.name()
        ),
    };
    let ext = dest.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if ext.as_deref() != Some(want) {
        bail!("{}: the repaired copy of a .{want} image must be named NAME.{want}", dest.display());
    }
    let files: Vec<PathBuf> = disc.files().iter().map(|f| f.path.clone()).collect();
    // Where each file goes.
    let stem = dest.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "repaired".into());
    let dir = dest.parent().unwrap_or(Path::new(""));
    let targets: Vec<PathBuf> = match disc.kind() {
        SheetKind::CloneCd => vec![dest.with_extension("img")],
        SheetKind::Cue if files.len() == 1 => vec![dir.join(format!("{stem}.bin"))],
        _ => (1..=files.len()).map(|i| dir.join(format!("{stem} (File {i}).bin"))).collect(),
    };
    let sub = match disc.kind() {
        SheetKind::CloneCd => disc.subchannel().map(|s| (s.to_path_buf(), dest.with_extension("sub"))),
        _ => None,
    };
    let mut all = targets.clone();
    all.push(dest.to_path_buf());
    all.extend(sub.as_ref().map(|s| s.1.clone()));
    for t in &all {
        output::check_target(t)?;
        if !force && t.exists() {
            bail!("{} exists (use --force to replace it)", t.display());
        }
        if files.iter().any(|f| same_file(f, t)) || same_file(disc.sheet_path(), t) {
            bail!("{}: the repaired copy must not overwrite the input", t.display());
        }
    }
    // Data files first, then the sheet, then the subchannel: the order of `all`.
    let outs = all.iter().map(|t| AtomicFile::create(t)).collect::<Result<Vec<_>>>()?;
    let total: u64 = disc.files().iter().map(|f| f.len).sum::<u64>();
    let mut copied = 0u64;
    run.progress(Task::Copying, 0, Some(total));
    for (from, (to, o)) in files.iter().zip(targets.iter().zip(&outs)) {
        let mut src = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut w = &o.file;
        loop {
            let n = src.read(&mut buf).with_context(|| format!("reading {}", from.display()))?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n]).with_context(|| format!("writing {}", to.display()))?;
            copied += n as u64;
            run.progress(Task::Copying, copied, Some(total));
            run.check_cancel()?;
        }
    }
    run.done(Task::Copying);
    let sheet_out = &outs[targets.len()];
    match disc.kind() {
        SheetKind::CloneCd => {
            let text =
                std::fs::read(disc.sheet_path()).with_context(|| format!("reading {}", disc.sheet_path().display()))?;
            (&sheet_out.file).write_all(&text).with_context(|| format!("writing {}", dest.display()))?;
            if let (Some((from, to)), Some(o)) = (&sub, outs.get(targets.len() + 1)) {
                let mut src = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
                io::copy(&mut src, &mut &o.file)
                    .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
            }
        }
        _ => {
            let mut sheet: CueSheet = disc.cue().cloned().context("CUE sheet missing")?;
            for (f, t) in sheet.files.iter_mut().zip(&targets) {
                f.name = t.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            }
            (&sheet_out.file)
                .write_all(sheet.to_text().as_bytes())
                .with_context(|| format!("writing {}", dest.display()))?;
        }
    }
    let mut fixed = 0usize;
    for b in bad {
        let t = disc.tracks().get(b.track_index).cloned().context("a bad sector's track")?;
        let mut s = disc.read_raw(b.track_index, b.lba)?;
        let before = sector::check(&s, Some(b.lba));
        let r = sector::repair(&mut s);
        let after = sector::check(&s, Some(b.lba));
        match r {
            Repair::Fixed { bytes, kind } if after.is_ok() => {
                let rel = u64::try_from(b.lba - t.first_lba).unwrap_or(0);
                let size = u64::from(t.sector_size());
                let offset = t.file_offset + rel * size;
                // A 2336-byte track stores the sector without its sync and header.
                let bytes_out = if size == 2352 { &s[..] } else { &s[16..] };
                let mut f = &outs[t.file].file;
                f.seek(SeekFrom::Start(offset))
                    .and_then(|_| f.write_all(bytes_out))
                    .with_context(|| format!("writing {}", targets[t.file].display()))?;
                writeln!(out, "LBA {}: fixed ({bytes} bytes corrected, {})", b.lba, kind.name())?;
                fixed += 1;
            }
            _ => {
                let why = if after.is_ok() { before.describe() } else { after.describe() };
                writeln!(out, "LBA {}: not fixable ({why})", b.lba)?;
            }
        }
    }
    output::commit_all(outs)?;
    writeln!(out, "Repair: {fixed} of {} bad sectors fixed; copy written to {}", bad.len(), dest.display())?;
    Ok(fixed)
}

/// A libisofs checksum tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Md5Tag {
    kind: String,
    pos: u64,
    range_start: u64,
    range_size: u64,
    next: Option<u64>,
    session_start: Option<u64>,
    md5: String,
    self_ok: bool,
}

const TAG_KINDS: [&str; 4] = [
    "libisofs_sb_checksum_tag_v1",
    "libisofs_tree_checksum_tag_v1",
    "libisofs_checksum_tag_v1",
    "libisofs_rlsb32_checksum_tag_v1",
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses a checksum tag block; `None` when the block is not one.
fn parse_tag(block: &[u8]) -> Option<Md5Tag> {
    if !block.starts_with(b"libisofs_") {
        return None;
    }
    let end = block.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&block[..end]).ok()?;
    let mut words = line.split(' ');
    let kind = words.next()?.to_string();
    if !TAG_KINDS.contains(&kind.as_str()) {
        return None;
    }
    let mut tag = Md5Tag {
        kind,
        pos: 0,
        range_start: 0,
        range_size: 0,
        next: None,
        session_start: None,
        md5: String::new(),
        self_ok: false,
    };
    let mut self_md5 = None;
    for w in words {
        let (k, v) = w.split_once('=')?;
        match k {
            "pos" => tag.pos = v.parse().ok()?,
            "range_start" => tag.range_start = v.parse().ok()?,
            "range_size" => tag.range_size = v.parse().ok()?,
            "next" => tag.next = Some(v.parse().ok()?),
            "session_start" => tag.session_start = Some(v.parse().ok()?),
            "md5" => tag.md5 = v.to_string(),
            "self" => self_md5 = Some(v.to_string()),
            _ => {}
        }
    }
    let covered = line.find(" self=")?;
    tag.self_ok = self_md5.as_deref() == Some(hex(&Md5::digest(&line.as_bytes()[..covered])).as_str());
    if tag.md5.len() != 32 {
        return None;
    }
    Some(tag)
}

/// Blocks remembered before the session tag, to find the checksum array.
const ARRAY_WINDOW: usize = 4096;
/// How far from the session start the superblock tag is looked for, in blocks.
const SB_SEARCH: u64 = 64;

fn read_block<R: Read + Seek>(r: &mut R, lba: u64, buf: &mut [u8; 2048]) -> io::Result<bool> {
    r.seek(SeekFrom::Start(lba * 2048))?;
    let mut filled = 0;
    while filled < 2048 {
        let n = r.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(false);
        }
        filled += n;
    }
    Ok(true)
}

/// The `isomd5sum` check, added to the report only when the primary volume descriptor records such an MD5.
fn check_isomd5(path: &Path, report: &mut Report<'_>) -> Result<()> {
    let Ok(file) = std::fs::File::open(path) else { return Ok(()) };
    // An image whose LBA 16 holds no primary volume descriptor has no isomd5sum MD5.
    let Some(info) = crate::edit::isomd5::read_implanted(&file).ok().flatten() else { return Ok(()) };
    let ok = crate::edit::isomd5::check(&file)
        .with_context(|| format!("{}: checking the isomd5sum MD5", path.display()))?
        .unwrap_or(false);
    let text = if ok {
        format!("isomd5sum: OK (MD5 {}, as checkisomd5 checks it)\n", info.md5)
    } else {
        format!("isomd5sum: MISMATCH (recorded MD5 {}; checkisomd5 would fail)\n", info.md5)
    };
    let problems = if ok { Vec::new() } else { vec!["the isomd5sum MD5 does not match".to_string()] };
    report.add("isomd5sum", if ok { Outcome::Ok } else { Outcome::Failed }, text.as_bytes(), problems)
}

/// [`check_md5_tags`] of a raw image's data track, where a sector that yields no user data (damaged beyond
/// repair, and listed already; or a Mode 2 Form 2 sector) stops the tag check without failing it.
fn md5_tags_ok(args: &ImageArgs, out: &mut dyn Write, tags: &mut Vec<Md5TagResult>) -> Result<bool> {
    match check_md5_tags(args, out, tags) {
        Ok(ok) => Ok(ok),
        Err(e) => {
            writeln!(out, "MD5 tags: not checked ({e:#})")?;
            Ok(true)
        }
    }
}

/// Checks the libisofs MD5 tags of the image; returns whether nothing failed.
fn check_md5_tags(args: &ImageArgs, out: &mut dyn Write, tags: &mut Vec<Md5TagResult>) -> Result<bool> {
    let image = args.open()?;
    let mut r = BufReader::with_capacity(1 << 20, image.reader()?);
    let mut ok = true;
    let mut block = [0u8; 2048];
    // Session start: the one asked for, else the one an rlsb32 tag at the start of the image names.
    let mut start = image.session_start();
    if args.open.offset.is_none() && args.open.session.is_none() {
        for lba in 16..SB_SEARCH {
            if !read_block(&mut r, lba, &mut block)? {
                break;
            }
            if let Some(tag) = parse_tag(&block).filter(|t| t.pos == lba) {
                if tag.kind == "libisofs_rlsb32_checksum_tag_v1" {
                    let mut ctx = Md5::new();
                    for b in tag.range_start..tag.pos {
                        let mut data = [0u8; 2048];
                        read_block(&mut r, b, &mut data)?;
                        ctx.update(data);
                    }
                    let good = tag.self_ok && hex(&ctx.finalize()) == tag.md5;
                    ok &= good;
                    tags.push(Md5TagResult { lba, what: "superblock copy".into(), ok: good });
                    writeln!(
                        out,
                        "MD5 tag at LBA {lba} (superblock copy, blocks {}..{}): {}",
                        tag.range_start,
                        tag.pos,
                        if good { "ok" } else { "MISMATCH" }
                    )?;
                    if let Some(s) = tag.session_start {
                        start = s;
                    }
                    break;
                }
            }
        }
    }
    let mut ctx = Md5::new();
    let mut window: VecDeque<(u64, Md5)> = VecDeque::new();
    let mut lba = start;
    let mut found = 0;
    let mut expect_next: Option<u64> = None;
    let mut session_tag: Option<Md5Tag> = None;
    loop {
        if expect_next.is_none() && lba >= start + SB_SEARCH {
            break;
        }
        if !read_block(&mut r, lba, &mut block)? {
            if let Some(n) = expect_next {
                writeln!(out, "MD5 tag expected at LBA {n} is missing (image ends at LBA {lba})")?;
                ok = false;
            }
            break;
        }
        if let Some(tag) = parse_tag(&block).filter(|t| t.pos == lba && t.range_start == start) {
            if tag.kind != "libisofs_rlsb32_checksum_tag_v1" {
                found += 1;
                let computed = hex(&ctx.clone().finalize());
                let good = tag.self_ok && tag.range_size == lba - start && computed == tag.md5;
                ok &= good;
                let what = match tag.kind.as_str() {
                    "libisofs_sb_checksum_tag_v1" => "superblock",
                    "libisofs_tree_checksum_tag_v1" => "directory tree",
                    _ => "session",
                };
                tags.push(Md5TagResult { lba, what: what.into(), ok: good });
                writeln!(
                    out,
                    "MD5 tag at LBA {lba} ({what}, blocks {start}..{lba}): {}",
                    if good {
                        "ok".to_string()
                    } else {
                        format!("MISMATCH (recorded {}, computed {computed})", tag.md5)
                    }
                )?;
                expect_next = tag.next;
                if tag.kind == "libisofs_checksum_tag_v1" {
                    session_tag = Some(tag);
                    break;
                }
            }
        } else if expect_next == Some(lba) {
            writeln!(out, "MD5 tag expected at LBA {lba} is missing")?;
            ok = false;
            break;
        }
        window.push_back((lba, ctx.clone()));
        if window.len() > ARRAY_WINDOW {
            window.pop_front();
        }
        ctx.update(block);
        lba += 1;
    }
    if found == 0 {
        writeln!(out, "MD5 tags: none (the image was not written with xorriso -md5 on)")?;
        return Ok(ok);
    }
    let Some(tag) = session_tag else {
        return Ok(ok);
    };
    // The checksum array: the block whose first entry is the MD5 of everything before it.
    let mut array_start = None;
    for (b, c) in window.iter() {
        read_block(&mut r, *b, &mut block)?;
        if block[..16] == c.clone().finalize()[..] {
            array_start = Some(*b);
            break;
        }
    }
    let Some(a) = array_start else {
        writeln!(out, "MD5 checksum array: not found before the session tag")?;
        return Ok(ok);
    };
    let mut entries: Vec<[u8; 16]> = Vec::new();
    for b in a..tag.pos {
        read_block(&mut r, b, &mut block)?;
        for e in block.chunks_exact(16) {
            entries.push(e.try_into().unwrap_or([0; 16]));
        }
    }
    let mut all = Md5::new();
    let mut n_files = None;
    for (i, e) in entries.iter().enumerate() {
        if i > 0 && all.clone().finalize()[..] == e[..] {
            n_files = Some(i - 1);
            break;
        }
        all.update(e);
    }
    let Some(n) = n_files else {
        writeln!(out, "MD5 checksum array at LBA {a}: its closing checksum does not match")?;
        return Ok(false);
    };
    writeln!(out, "MD5 checksum array at LBA {a}: {n} file checksums, consistent")?;
    let recorded: HashSet<[u8; 16]> = entries[1..=n].iter().copied().collect();
    match image.tree(args.view) {
        Ok(mut tree) => {
            let (checked, bad) = check_file_md5s(tree.as_mut(), &recorded, start, tag.pos, out)?;
            writeln!(out, "File MD5s: {checked} checked, {bad} not matching a recorded checksum")?;
            ok &= bad == 0;
        }
        Err(e) => writeln!(out, "File MD5s: not checked ({e:#})")?,
    }
    Ok(ok)
}

fn check_file_md5s(
    tree: &mut dyn Tree,
    recorded: &HashSet<[u8; 16]>,
    start: u64,
    end: u64,
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let mut checked = 0;
    let mut bad = 0;
    let mut stack: Vec<(Node, String)> = vec![(tree.root()?, String::new())];
    let mut seen = HashSet::new();
    while let Some((dir, path)) = stack.pop() {
        for e in tree.read_dir(&dir)? {
            let p = tree::join(if path.is_empty() { "/" } else { &path }, &e.name.to_string_lossy());
            match e.kind {
                Kind::Dir => {
                    if let Some(x) = e.extents.first() {
                        if !seen.insert(x.lba) {
                            continue;
                        }
                    }
                    stack.push((e, p));
                }
                Kind::File if e.size > 0 && e.extents.iter().all(|x| x.lba >= start && x.lba < end) => {
                    let mut ctx = Md5::new();
                    let mut r = tree.open(&e)?;
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let k = r.read(&mut buf).with_context(|| format!("reading {p}"))?;
                        if k == 0 {
                            break;
                        }
                        ctx.update(&buf[..k]);
                    }
                    checked += 1;
                    let d: [u8; 16] = ctx.finalize().into();
                    if !recorded.contains(&d) {
                        writeln!(out, "{p}: MD5 {} is not among the recorded checksums", hex(&d))?;
                        bad += 1;
                    }
                }
                _ => {}
            }
        }
    }
    Ok((checked, bad))
}

/// Compares the tree with a folder; prints each difference and returns how many there are.
fn compare_with_dir(tree: &mut dyn Tree, dir: &Path, out: &mut dyn Write) -> Result<u64> {
    let mut diffs = 0u64;
    let mut stack: Vec<(Node, PathBuf, String)> = vec![(tree.root()?, dir.to_path_buf(), "/".to_string())];
    while let Some((node, fs_dir, path)) = stack.pop() {
        let entries = tree.read_dir(&node)?;
        let mut fs_names: Vec<String> = std::fs::read_dir(&fs_dir)
            .with_context(|| format!("reading {}", fs_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        fs_names.sort();
        let img_names: HashSet<String> = entries.iter().map(|e| e.name.to_string_lossy().into_owned()).collect();
        for n in &fs_names {
            if !img_names.contains(n.as_str()) {
                writeln!(out, "only in {}: {}", dir.display(), tree::join(&path, n))?;
                diffs += 1;
            }
        }
        for e in entries {
            let p = tree::join(&path, &e.name.to_string_lossy());
            let fp = fs_dir.join(&e.name);
            let Ok(meta) = std::fs::symlink_metadata(&fp) else {
                writeln!(out, "only in the image: {p}")?;
                diffs += 1;
                continue;
            };
            let fs_kind = if meta.file_type().is_symlink() {
                Kind::Symlink
            } else if meta.is_dir() {
                Kind::Dir
            } else if meta.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            if fs_kind != e.kind {
                writeln!(out, "{p}: {} in the image, {} in the folder", e.kind.as_str(), fs_kind.as_str())?;
                diffs += 1;
                continue;
            }
            match e.kind {
                Kind::Dir => stack.push((e, fp, p)),
                Kind::Symlink => {
                    let target = std::fs::read_link(&fp).map(PathBuf::into_os_string).unwrap_or_default();
                    if e.target.as_deref() != Some(target.as_os_str()) {
                        writeln!(out, "{p}: symlink target {:?} in the image, {target:?} in the folder", e.target)?;
                        diffs += 1;
                    }
                }
                Kind::File => {
                    if e.size != meta.len() {
                        writeln!(out, "{p}: size {} in the image, {} in the folder", e.size, meta.len())?;
                        diffs += 1;
                        continue;
                    }
                    let mut a = tree.open(&e)?;
                    let mut b = BufReader::new(File::open(&fp).with_context(|| format!("opening {}", fp.display()))?);
                    if !same_contents(&mut a, &mut b).with_context(|| format!("reading {p}"))? {
                        writeln!(out, "{p}: contents differ")?;
                        diffs += 1;
                    }
                }
                Kind::Other => {}
            }
        }
    }
    Ok(diffs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{convert, ConvertOptions};

    /// An xorriso image (with MD5 tags) turned into BIN/CUE, one byte of one sector flipped: the report names
    /// that sector and its fault, the repaired copy fixes it, and the MD5 tags of the data track still match.
    #[test]
    fn a_damaged_raw_sector_is_reported_and_repaired() {
        let Some(xorriso) = odix_testdata::require_tool("xorriso") else { return };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("t")).unwrap();
        std::fs::write(d.join("t").join("a.txt"), "odix ".repeat(2000)).unwrap();
        odix_testdata::run_ok(
            std::process::Command::new(&xorriso)
                .args(["-as", "mkisofs", "-quiet", "--md5", "-o"])
                .arg(d.join("a.iso"))
                .arg(d.join("t")),
        );
        convert(&d.join("a.iso"), &d.join("a.cue"), &ConvertOptions::default()).unwrap();
        let mut bin = std::fs::read(d.join("a.bin")).unwrap();
        bin[20 * 2352 + 100] ^= 0x40;
        std::fs::write(d.join("a.bin"), &bin).unwrap();

        let mut opts = VerifyOptions::new(d.join("a.cue"));
        opts.repair = Some(d.join("fixed.cue"));
        let mut seen = Vec::new();
        let r = verify(&opts, &mut |e| {
            if let VerifyEvent::Check(c) = e {
                seen.push(c.name);
            }
        })
        .unwrap();
        assert_eq!(seen, r.checks.iter().map(|c| c.name).collect::<Vec<_>>());
        let raw = r.raw_sectors.as_ref().unwrap();
        assert_eq!(raw.bad.iter().map(|b| (b.lba, b.track)).collect::<Vec<_>>(), [(20, 1)]);
        assert!(!raw.bad[0].kind.is_empty());
        assert_eq!(raw.repaired, Some((1, d.join("fixed.cue"))));
        assert_eq!(r.checks[0].result, Outcome::Ok, "{:?}", r.checks[0]);
        assert!(r.image.raw && r.image.iso);
        assert_eq!(r.hashes.as_ref().and_then(|h| h.image.as_ref()).map(|h| h.size), Some(bin.len() as u64));

        let fixed = verify(&VerifyOptions::new(d.join("fixed.cue")), &mut |_| {}).unwrap();
        assert_eq!(fixed.outcome(), Outcome::Ok, "{:?}", fixed.checks);
        assert!(!fixed.md5_tags.is_empty() && fixed.md5_tags.iter().all(|t| t.ok), "{:?}", fixed.md5_tags);
    }
}

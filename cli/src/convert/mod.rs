//! Converting between raw disc images and ISO images: a raw image (CUE/BIN, CloneCD) to a cooked ISO image of a
//! session or a track, or to CloneCD; an ISO image to BIN/CUE or CloneCD (Mode 1, 2352-byte sectors with sync,
//! header, EDC and ECC generated).
//!
//! Every file of one conversion (`.cue` + `.bin`, `.ccd` + `.img` + `.sub`) is written under a temporary name
//! beside its target ([`crate::output::AtomicFile`]) and renamed into place only when all of them are complete, so
//! a cancellation, a full disk or a read error leaves none of them behind.
//!
//! ```no_run
//! use odix::convert::{convert, ConvertOptions};
//!
//! let report = convert("game.cue".as_ref(), "game.iso".as_ref(), &ConvertOptions::default())?;
//! println!("{} sectors written", report.sectors);
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use odix_cdrip::ccd::{CcdFile, CcdTrack, SUB_LEN};
use odix_cdrip::cue::{CueSheet, FileType, Frames, Index, Track, TrackMode};
use odix_cdrip::detect::ImageFormat;
use odix_cdrip::image::RawDisc;
use odix_cdrip::sector::{self, RawSector, USER_DATA_LEN};

use crate::cancel::Cancel;
use crate::output::Outputs;

mod chd;
mod containers;
pub use containers::{redump_track_name, Layout};
mod audio;
pub use audio::AudioFormat;
mod raw_to_cue;

/// How to convert.
#[derive(Clone, Default)]
pub struct ConvertOptions {
    /// For raw input: write the file system of session N (default: the last session with a data track).
    pub session: Option<u32>,
    /// For raw input: write only track N's user data, from its INDEX 01 to its end.
    pub track: Option<u8>,
    /// For raw input: write every track to its own file in the folder given as output, audio tracks in this
    /// format, with a CUE sheet that names them.
    pub audio: Option<AudioFormat>,
    /// Replace the outputs if they exist.
    pub force: bool,
    /// For a CUE sheet written as a CUE sheet: one BIN per track (Redump's layout) or one BIN for all.
    pub layout: Option<Layout>,
    /// For a `.cso` output: CISO v2 (deflate or LZ4 blocks, whichever is smaller) rather than v1 (deflate).
    pub cso_v2: bool,
    /// Threads compressing a CSO, ZSO or CHD (0: one per CPU).
    pub threads: usize,
    /// Checked between sectors: once set, the conversion stops with [`crate::cancel::Cancelled`] and writes
    /// nothing.
    pub cancel: Cancel,
    /// Told of the progress and of warnings as the conversion goes (the warnings are in the report too).
    pub on_event: Option<std::sync::Arc<dyn Fn(ConvertEvent) + Send + Sync>>,
}

impl std::fmt::Debug for ConvertOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConvertOptions")
            .field("session", &self.session)
            .field("track", &self.track)
            .field("audio", &self.audio)
            .field("force", &self.force)
            .field("layout", &self.layout)
            .field("cso_v2", &self.cso_v2)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// What a conversion tells as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertEvent {
    /// How far it is: units done of `total` (bytes for a raw image to ISO, sectors otherwise).
    Progress {
        /// Units done.
        done: u64,
        /// Units in all.
        total: u64,
    },
    /// The copying has ended.
    Done,
    /// Something worth saying that does not stop the conversion.
    Warning(String),
}

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertReport {
    /// The kind of conversion.
    pub kind: ConvertKind,
    /// The files written, the main one first (`.iso`, `.cue`, `.ccd`), then its companions.
    pub files: Vec<PathBuf>,
    /// Sectors written.
    pub sectors: u64,
    /// For an ISO output: what it holds, `session N` or `track N`.
    pub what: Option<String>,
    /// For an ISO output of a session that does not start at LBA 0: where its file system starts (it is read
    /// with that offset).
    pub session_start: Option<u64>,
    /// For a CloneCD output: where the subchannel came from.
    pub subchannel: Option<SubchannelSource>,
    /// Things worth saying that did not stop the conversion.
    pub warnings: Vec<String>,
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertKind {
    /// A raw image's session or track to an ISO image.
    RawToIso,
    /// A raw image to CloneCD.
    RawToCcd,
    /// A raw image (any format) to one BIN and its CUE sheet.
    RawToBinCue,
    /// An ISO image to BIN/CUE.
    IsoToBinCue,
    /// An ISO image to CloneCD.
    IsoToCcd,
    /// A raw image to a CD CHD.
    RawToChd,
    /// An ISO image to a DVD CHD.
    IsoToChd,
    /// A CD CHD to BIN/CUE.
    ChdToBinCue,
    /// A file put into a container (ECM, CSO, ZSO); [`ConvertReport::what`] says how it went.
    Packed,
    /// The file a container holds written out.
    Unpacked,
    /// A CUE sheet's tracks written one BIN each.
    Split,
    /// A CUE sheet's BINs written as one.
    Merged,
    /// A raw image to one file per track (WAVE or FLAC for audio, BIN for data) and a CUE sheet.
    RawToTracks,
}

/// Where the subchannel of a CloneCD output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubchannelSource {
    /// All of it from the source's own subchannel.
    Source,
    /// From the source's, the rest generated.
    Partly,
    /// P/Q generated.
    Generated,
}

fn ext_of(p: &Path) -> Option<String> {
    p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

/// What convert writes, for the message that refuses anything else.
const RAW_OUTPUTS: &str = "NAME.iso (the file system of a session or a track), NAME.cue (with NAME.bin), NAME.ccd \
                           (CloneCD, with NAME.img and NAME.sub), NAME.chd (MAME CHD) or, with --audio, a folder of \
                           track files";
const ISO_OUTPUTS: &str = "NAME.cue (with NAME.bin), NAME.ccd (CloneCD, with NAME.img and NAME.sub) or NAME.chd (MAME \
                           CHD)";

/// Converts `input` into `output`, choosing the conversion by their extensions: from a `.cue` or `.ccd` to
/// `NAME.iso`, `NAME.cue` (one BIN) or `NAME.ccd`, or with [`ConvertOptions::audio`] to a folder of per-track files;
/// from an ISO image (any other name) to `NAME.cue` (or `NAME.bin`) or `NAME.ccd`. Anything else is refused with a
/// message naming what is written.
pub fn convert(input: &Path, output: &Path, opts: &ConvertOptions) -> Result<ConvertReport> {
    let args = Args { input: input.to_path_buf(), output: output.to_path_buf(), opts };
    // Raw discs are recognised by what they hold (any format odix-cdrip lays out as tracks), or by a .cue/.ccd
    // name whose parser then says what is wrong with them.
    let detected = odix_cdrip::detect::detect(&args.input).ok();
    // A container of raw sectors (x.bin.ecm) to an ISO: its data track cooked, as from its BIN/CUE.
    if ext_of(&args.output).as_deref() == Some("iso") && opts.layout.is_none() && opts.audio.is_none() {
        if let Some(disc) = containers::held_raw_disc(&args.input, detected)? {
            return disc_to_iso(&args, disc);
        }
    }
    if let Some(done) = containers_convert(&args, detected) {
        return done;
    }
    let in_raw = detected.is_some_and(ImageFormat::is_raw_disc)
        || matches!(ext_of(&args.input).as_deref(), Some("cue") | Some("ccd"));
    let out_ext = ext_of(&args.output);
    if let Some(format) = opts.audio {
        if !in_raw {
            bail!("{}: --audio needs a raw image (.cue, .ccd, ...): an ISO image has no audio tracks", input.display());
        }
        return raw_to_tracks(&args, format);
    }
    if let Some(r) = chd_conversion(&args, detected, in_raw, out_ext.as_deref())? {
        return Ok(r);
    }
    match (in_raw, out_ext.as_deref()) {
        (true, Some("iso")) => raw_to_iso(&args),
        (true, Some("ccd")) => raw_to_ccd(&args),
        (true, Some("cue")) => raw_to_bin_cue(&args),
        (true, _) => bail!(
            "{}: convert does not write {} from a raw image; it writes {RAW_OUTPUTS}",
            args.output.display(),
            describe_ext(out_ext.as_deref())
        ),
        (false, Some("cue")) => iso_to_bin_cue(&args),
        (false, Some("bin")) => {
            let cue = args.output.with_extension("cue");
            iso_to_bin_cue(&Args { output: cue, ..args })
        }
        (false, Some("ccd")) => iso_to_ccd(&args),
        (false, _) => bail!(
            "{}: convert does not write {} from an ISO image; it writes {ISO_OUTPUTS}",
            args.output.display(),
            describe_ext(out_ext.as_deref())
        ),
    }
}

/// The conversions to and from MAME CHD ([`chd`]), or `None` when neither side is a CHD.
fn chd_conversion(
    args: &Args,
    detected: Option<ImageFormat>,
    in_raw: bool,
    out_ext: Option<&str>,
) -> Result<Option<ConvertReport>> {
    let job = chd::Job {
        input: &args.input,
        output: &args.output,
        force: args.opts.force,
        selection: args.opts.session.is_some() || args.opts.track.is_some(),
        threads: args.opts.threads,
        progress: &|done, total| args.progress(done, total),
        done: &|| args.event(ConvertEvent::Done),
        warn: &|w| args.event(ConvertEvent::Warning(w.to_string())),
        cancel: &|| args.check_cancel(),
    };
    let Some(w) = chd::convert(&job, detected, in_raw, out_ext)? else { return Ok(None) };
    let kind = match w.kind {
        chd::Done::RawToChd => ConvertKind::RawToChd,
        chd::Done::IsoToChd => ConvertKind::IsoToChd,
        chd::Done::ChdToBinCue => ConvertKind::ChdToBinCue,
        chd::Done::DvdToIso => ConvertKind::RawToIso,
    };
    let what = (w.kind == chd::Done::DvdToIso).then(|| "DVD".to_string());
    Ok(Some(ConvertReport {
        kind,
        files: w.files,
        sectors: w.sectors,
        what,
        session_start: None,
        subchannel: None,
        warnings: w.warnings,
    }))
}

/// A conversion of [`containers`] (ECM, CSO, ZSO, Redump's layout), if `args` asks for one.
fn containers_convert(args: &Args, detected: Option<ImageFormat>) -> Option<Result<ConvertReport>> {
    let progress = |done, total| args.progress(done, total);
    let req = containers::Request {
        input: args.input.clone(),
        output: args.output.clone(),
        force: args.opts.force,
        layout: args.opts.layout,
        cso_v2: args.opts.cso_v2,
        threads: args.opts.threads,
        cancel: args.opts.cancel.clone(),
        progress: &progress,
    };
    let done = containers::convert(&req, detected)?;
    Some(done.map(|d| {
        args.event(ConvertEvent::Done);
        let kind = match d.kind {
            containers::DoneKind::Packed => ConvertKind::Packed,
            containers::DoneKind::Unpacked => ConvertKind::Unpacked,
            containers::DoneKind::Split => ConvertKind::Split,
            containers::DoneKind::Merged => ConvertKind::Merged,
        };
        ConvertReport {
            kind,
            files: d.files,
            sectors: d.sectors,
            what: Some(d.what),
            session_start: None,
            subchannel: None,
            warnings: Vec::new(),
        }
    }))
}

/// One conversion's paths and options.
struct Args<'a> {
    input: PathBuf,
    output: PathBuf,
    opts: &'a ConvertOptions,
}

impl Args<'_> {
    fn event(&self, e: ConvertEvent) {
        if let Some(f) = &self.opts.on_event {
            f(e);
        }
    }

    fn progress(&self, done: u64, total: u64) {
        self.event(ConvertEvent::Progress { done, total });
    }

    fn check_cancel(&self) -> Result<()> {
        Ok(self.opts.cancel.check()?)
    }
}

/// A raw image's tracks to per-track files ([`audio`]).
fn raw_to_tracks(args: &Args, format: AudioFormat) -> Result<ConvertReport> {
    if args.opts.session.is_some() || args.opts.track.is_some() {
        bail!("{}: --audio writes every track: --session and --track apply to .iso output", args.output.display());
    }
    let (progress, warning, done) =
        (|d, t| args.progress(d, t), |w| args.event(ConvertEvent::Warning(w)), || args.event(ConvertEvent::Done));
    let job = audio::Job {
        input: &args.input,
        output: &args.output,
        force: args.opts.force,
        cancel: &args.opts.cancel,
        progress: &progress,
        warning: &warning,
        done: &done,
    };
    let w = audio::raw_to_tracks(&job, format)?;
    Ok(ConvertReport {
        kind: ConvertKind::RawToTracks,
        files: w.files,
        sectors: w.sectors,
        what: Some(format.extension().to_string()),
        session_start: None,
        subchannel: None,
        warnings: w.warnings,
    })
}

fn describe_ext(ext: Option<&str>) -> String {
    match ext {
        Some(e) => format!(".{e} files"),
        None => "files without an extension".into(),
    }
}

/// The files a raw image is read from: its sheet, its data files and its subchannel.
fn raw_inputs(disc: &RawDisc) -> Vec<PathBuf> {
    let mut v = vec![disc.sheet_path().to_path_buf()];
    v.extend(disc.files().iter().map(|f| f.path.clone()));
    v.extend(disc.subchannel().map(Path::to_path_buf));
    v
}

/// Copies the user data of LBAs `from..to` of the disc's data tracks to `out`.
fn copy_cooked(args: &Args, disc: RawDisc, from: i64, to: i64, out: &mut dyn Write, target: &Path) -> Result<u64> {
    let path = disc.sheet_path().to_path_buf();
    let mut r = disc.cooked_reader();
    let start = u64::try_from(from).unwrap_or(0) * 2048;
    let len = u64::try_from(to.saturating_sub(from)).unwrap_or(0) * 2048;
    r.seek(SeekFrom::Start(start))?;
    let mut r = BufReader::with_capacity(1 << 20, r);
    args.progress(0, len);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from(len - done).unwrap_or(usize::MAX).min(buf.len());
        let n = r.read(&mut buf[..want]).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).with_context(|| format!("writing {}", target.display()))?;
        done += n as u64;
        args.progress(done, len);
        args.check_cancel()?;
    }
    args.event(ConvertEvent::Done);
    if done != len {
        bail!("{}: image ended after {done} of {len} bytes", path.display());
    }
    Ok(done)
}

fn raw_to_iso(args: &Args) -> Result<ConvertReport> {
    disc_to_iso(args, RawDisc::open(&args.input)?)
}

/// The ISO image of `disc`'s session or track: its data sectors' 2048 bytes of user data.
fn disc_to_iso(args: &Args, disc: RawDisc) -> Result<ConvertReport> {
    let (from, to, what) = match args.opts.track {
        Some(n) => {
            let t = disc
                .tracks()
                .iter()
                .find(|t| t.number == n)
                .with_context(|| format!("{}: no track {n}", args.input.display()))?;
            if !t.mode.is_data() {
                bail!("{}: track {n} is an audio track", args.input.display());
            }
            (t.start_lba, t.end_lba(), format!("track {n}"))
        }
        None => {
            let s = disc.choose_session(args.opts.session)?;
            let end = disc
                .tracks()
                .iter()
                .filter(|t| t.session == s && t.mode.is_data())
                .map(|t| t.end_lba())
                .max()
                .unwrap_or(0);
            (0, end, format!("session {s}"))
        }
    };
    let session_start = if args.opts.track.is_none() { disc.session_start(args.opts.session)? } else { 0 };
    let outputs = Outputs::create(&[&args.output], &raw_inputs(&disc), args.opts.force)?;
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    let n = copy_cooked(args, disc, from, to, &mut w, &args.output)?;
    w.flush().with_context(|| format!("writing {}", args.output.display()))?;
    drop(w);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(ConvertReport {
        kind: ConvertKind::RawToIso,
        files: vec![args.output.clone()],
        sectors: n / 2048,
        what: Some(what),
        session_start: u64::try_from(session_start).ok().filter(|&s| s > 0),
        subchannel: None,
        warnings: Vec::new(),
    })
}

/// Reads a whole 2048-byte sector (the last one of a file padded with zeros); `false` at the end.
fn read_user(r: &mut dyn Read, buf: &mut [u8; USER_DATA_LEN], path: &Path) -> Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    buf[filled..].fill(0);
    Ok(filled > 0)
}

/// Opens an ISO image and says how many 2048-byte sectors it has (a last partial one counted, and padded).
fn open_iso(args: &Args, warnings: &mut Vec<String>) -> Result<(File, u64)> {
    let path = &args.input;
    let mut warn = |w: String| {
        args.event(ConvertEvent::Warning(w.clone()));
        warnings.push(w);
    };
    let input = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = input.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        bail!("{}: empty image", path.display());
    }
    let sectors = len.div_ceil(2048);
    if sectors > u64::try_from(sector::MAX_LBA + 1).unwrap_or(0) {
        bail!("{}: {sectors} sectors do not fit the 100 minutes a CD can address", path.display());
    }
    let mut head = [0u8; 12];
    let mut vd = [0u8; 6];
    let mut f = &input;
    let read_head = f.read_exact(&mut head).is_ok();
    let has_vd = f.seek(SeekFrom::Start(16 * 2048)).is_ok() && f.read_exact(&mut vd).is_ok();
    if read_head && head == sector::SYNC {
        bail!("{}: already raw 2352-byte sectors: convert its .cue or .ccd", path.display());
    }
    if !has_vd || !(&vd[1..6] == b"CD001" || &vd[1..6] == b"BEA01") {
        if let Some(m) = crate::formats::unread_format(path) {
            bail!("{m}");
        }
        warn(format!(
            "{}: no ISO 9660 or UDF volume descriptors; its bytes are converted as 2048-byte sectors",
            path.display()
        ));
    }
    if len % 2048 != 0 {
        warn(format!("{}: size is not a multiple of 2048; the last sector is padded", path.display()));
    }
    f.seek(SeekFrom::Start(0)).with_context(|| format!("reading {}", path.display()))?;
    Ok((input, sectors))
}

fn iso_to_bin_cue(args: &Args) -> Result<ConvertReport> {
    let cue_path = &args.output;
    let bin_path = cue_path.with_extension("bin");
    let mut warnings = Vec::new();
    let (input, sectors) = open_iso(args, &mut warnings)?;
    let outputs = Outputs::create(&[&bin_path, cue_path], std::slice::from_ref(&args.input), args.opts.force)?;
    let mut r = BufReader::with_capacity(1 << 20, input);
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    args.progress(0, sectors);
    let mut user = [0u8; USER_DATA_LEN];
    let mut n = 0u64;
    while read_user(&mut r, &mut user, &args.input)? {
        let s = sector::encode_mode1(i64::try_from(n).unwrap_or(0), &user)?;
        w.write_all(&s).with_context(|| format!("writing {}", bin_path.display()))?;
        n += 1;
        if n.is_multiple_of(256) {
            args.progress(n, sectors);
            args.check_cancel()?;
        }
    }
    args.event(ConvertEvent::Done);
    w.flush().with_context(|| format!("writing {}", bin_path.display()))?;
    drop(w);
    let bin_name = bin_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut track = Track::new(1, TrackMode::Mode1_2352);
    track.indexes.push(Index { number: 1, position: Frames(0) });
    let sheet = CueSheet {
        files: vec![odix_cdrip::cue::File {
            name: bin_name,
            file_type: FileType::Binary,
            tracks: vec![track],
            line: 0,
        }],
        ..CueSheet::default()
    };
    let mut c = BufWriter::new(outputs.file(1)?);
    sheet.write_to(&mut c).and_then(|()| c.flush()).with_context(|| format!("writing {}", cue_path.display()))?;
    drop(c);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(ConvertReport {
        kind: ConvertKind::IsoToBinCue,
        files: vec![cue_path.clone(), bin_path],
        sectors: n,
        what: None,
        session_start: None,
        subchannel: None,
        warnings,
    })
}

/// Writes a CloneCD image described by `ccd`: `.img` sectors from `sector(lba, mode)`, `.sub` from `sub` where
/// it gives 96 bytes, else from `stored(lba)` (a source's subchannel in CloneCD's layout), else generated P/Q;
/// the `.ccd` text last. `inputs` must not be overwritten.
fn write_clonecd(
    args: &Args,
    ccd: &CcdFile,
    inputs: &[PathBuf],
    sector: &mut dyn FnMut(i64, u8) -> Result<RawSector>,
    mut sub: Option<BufReader<File>>,
    stored: &mut dyn FnMut(i64) -> Result<Option<[u8; SUB_LEN]>>,
) -> Result<(u64, SubchannelSource)> {
    let ccd_path = &args.output;
    let img_path = ccd_path.with_extension("img");
    let sub_path = ccd_path.with_extension("sub");
    let outputs = Outputs::create(&[&img_path, &sub_path, ccd_path], inputs, args.opts.force)?;
    let ranges = ccd.image_ranges();
    let total: u64 = ranges.iter().map(|(a, b)| u64::try_from(b - a).unwrap_or(0)).sum();
    args.progress(0, total);
    let mut img = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    let mut subw = BufWriter::with_capacity(1 << 16, outputs.file(1)?);
    let mut n = 0u64;
    let mut from_source = 0u64;
    for (from, to) in ranges {
        for lba in from..to {
            let mode = ccd.track_at(lba).map_or(0, |t: &CcdTrack| t.mode);
            let s = sector(lba, mode)?;
            img.write_all(&s).with_context(|| format!("writing {}", img_path.display()))?;
            let mut q = [0u8; SUB_LEN];
            let have = match sub.as_mut() {
                Some(r) => r.read_exact(&mut q).is_ok(),
                None => match stored(lba)? {
                    Some(s) => {
                        q = s;
                        true
                    }
                    None => false,
                },
            };
            if have {
                from_source += 1;
            } else {
                sub = None;
                q = ccd.subchannel_at(lba);
            }
            subw.write_all(&q).with_context(|| format!("writing {}", sub_path.display()))?;
            n += 1;
            if n.is_multiple_of(256) {
                args.progress(n, total);
                args.check_cancel()?;
            }
        }
    }
    args.event(ConvertEvent::Done);
    img.flush().with_context(|| format!("writing {}", img_path.display()))?;
    subw.flush().with_context(|| format!("writing {}", sub_path.display()))?;
    drop((img, subw));
    let mut c = outputs.file(2)?;
    c.write_all(ccd.to_text().as_bytes()).with_context(|| format!("writing {}", ccd_path.display()))?;
    args.check_cancel()?;
    outputs.commit()?;
    let subs = if from_source == n {
        SubchannelSource::Source
    } else if from_source > 0 {
        SubchannelSource::Partly
    } else {
        SubchannelSource::Generated
    };
    Ok((n, subs))
}

/// The report of a CloneCD output.
fn ccd_report(
    args: &Args,
    kind: ConvertKind,
    (n, subs): (u64, SubchannelSource),
    warnings: Vec<String>,
) -> ConvertReport {
    let o = &args.output;
    ConvertReport {
        kind,
        files: vec![o.clone(), o.with_extension("img"), o.with_extension("sub")],
        sectors: n,
        what: None,
        session_start: None,
        subchannel: Some(subs),
        warnings,
    }
}

fn raw_to_ccd(args: &Args) -> Result<ConvertReport> {
    if args.opts.session.is_some() || args.opts.track.is_some() {
        bail!(
            "{}: a CloneCD image holds the whole disc: --session and --track apply to .iso output",
            args.output.display()
        );
    }
    let disc = RawDisc::open(&args.input)?;
    let ccd = CcdFile::from_disc(&disc);
    let inputs = raw_inputs(&disc);
    // A CloneCD source's own subchannel is kept; it lays its sectors out as the copy does.
    let sub = match disc.subchannel() {
        Some(p) => Some(BufReader::new(File::open(p).with_context(|| format!("cannot open {}", p.display()))?)),
        None => None,
    };
    // Any other source's subchannel stored with its sectors (NRG, MDS, a TOC's RW_RAW, a CHD's RW_RAW) too.
    let disc = std::cell::RefCell::new(disc);
    let done = write_clonecd(
        args,
        &ccd,
        &inputs,
        &mut |lba, mode| {
            let mut d = disc.borrow_mut();
            let mut s = d.image_sector(lba, mode)?;
            // Audio a TOC stores big-endian is written little-endian, as a CloneCD image holds it.
            let odix_cdrip::image::SectorAt::Stored { track } = d.locate(lba) else { return Ok(s) };
            let big_endian = d.tracks().get(track).is_some_and(|t| {
                !t.mode.is_data() && d.files().get(t.file).is_some_and(|f| f.file_type == FileType::Motorola)
            });
            if big_endian {
                s.chunks_exact_mut(2).for_each(|c| c.swap(0, 1));
            }
            Ok(s)
        },
        sub,
        &mut |lba| {
            let d = disc.borrow();
            let odix_cdrip::image::SectorAt::Stored { track } = d.locate(lba) else { return Ok(None) };
            Ok(d.read_subchannel(track, lba)?.map(|raw| odix_cdrip::subq::raw_to_packed(&raw)))
        },
    )?;
    Ok(ccd_report(args, ConvertKind::RawToCcd, done, Vec::new()))
}

fn raw_to_bin_cue(args: &Args) -> Result<ConvertReport> {
    if args.opts.session.is_some() || args.opts.track.is_some() {
        bail!(
            "{}: a BIN/CUE image holds the whole disc: --session and --track apply to .iso output",
            args.output.display()
        );
    }
    let mut disc = RawDisc::open(&args.input)?;
    // WAVE and FLAC files whose audio ends inside a sector are read padded with silence.
    let padding = audio::padding_warnings(&disc)?;
    for w in &padding {
        args.event(ConvertEvent::Warning(w.clone()));
    }
    let cue_path = args.output.clone();
    let bin_path = cue_path.with_extension("bin");
    let outputs = Outputs::create(&[&bin_path, &cue_path], &raw_inputs(&disc), args.opts.force)?;
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    let bin_name = bin_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let written = raw_to_cue::write_bin_cue(&mut disc, &mut w, &bin_name, &cue_path, &mut |done, total| {
        args.progress(done, total);
        args.check_cancel()
    })
    .with_context(|| format!("writing {}", bin_path.display()))?;
    args.event(ConvertEvent::Done);
    w.flush().with_context(|| format!("writing {}", bin_path.display()))?;
    drop(w);
    for warning in &written.warnings {
        args.event(ConvertEvent::Warning(warning.clone()));
    }
    let mut c = outputs.file(1)?;
    c.write_all(&written.cue).with_context(|| format!("writing {}", cue_path.display()))?;
    args.check_cancel()?;
    outputs.commit()?;
    Ok(ConvertReport {
        kind: ConvertKind::RawToBinCue,
        files: vec![cue_path, bin_path],
        sectors: written.sectors,
        what: None,
        session_start: None,
        subchannel: None,
        warnings: padding.into_iter().chain(written.warnings).collect(),
    })
}

fn iso_to_ccd(args: &Args) -> Result<ConvertReport> {
    if args.opts.session.is_some() || args.opts.track.is_some() {
        bail!("{}: --session and --track apply to raw input", args.input.display());
    }
    let mut warnings = Vec::new();
    let (input, sectors) = open_iso(args, &mut warnings)?;
    let ccd = CcdFile {
        version: Some(3),
        tracks: vec![CcdTrack { number: 1, session: 1, mode: 1, control: 0x04, start: 0, index0: None }],
        leadouts: [(1, i64::try_from(sectors).unwrap_or(0))].into_iter().collect(),
        catalog: None,
        scrambled: false,
    };
    let mut r = BufReader::with_capacity(1 << 20, input);
    let mut user = [0u8; USER_DATA_LEN];
    let path = args.input.clone();
    let done = write_clonecd(
        args,
        &ccd,
        std::slice::from_ref(&args.input),
        &mut |lba, _| {
            read_user(&mut r, &mut user, &path)?;
            Ok(sector::encode_mode1(lba, &user)?)
        },
        None,
        &mut |_| Ok(None),
    )?;
    Ok(ccd_report(args, ConvertKind::IsoToCcd, done, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20 sectors whose sector 16 looks like an ISO 9660 volume descriptor.
    fn iso(dir: &Path) -> PathBuf {
        let mut data: Vec<u8> = (0..20 * 2048u32).map(|i| (i % 253) as u8).collect();
        data[16 * 2048..16 * 2048 + 6].copy_from_slice(b"\x01CD001");
        let p = dir.join("in.iso");
        std::fs::write(&p, data).unwrap();
        p
    }

    #[test]
    fn iso_to_bin_cue_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let input = iso(dir.path());
        let cue = dir.path().join("out.cue");
        let r = convert(&input, &cue, &ConvertOptions::default()).unwrap();
        assert_eq!(r.kind, ConvertKind::IsoToBinCue);
        assert_eq!(r.files, vec![cue.clone(), dir.path().join("out.bin")]);
        assert_eq!(r.sectors, 20);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(std::fs::metadata(dir.path().join("out.bin")).unwrap().len(), 20 * 2352);

        let back = dir.path().join("back.iso");
        let r = convert(&cue, &back, &ConvertOptions::default()).unwrap();
        assert_eq!((r.kind, r.sectors, r.what.as_deref()), (ConvertKind::RawToIso, 20, Some("session 1")));
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&input).unwrap());

        // Refused: an existing output without force, and an output kind convert does not write.
        let e = convert(&cue, &back, &ConvertOptions::default()).unwrap_err();
        assert!(format!("{e:#}").contains("exists (use --force to replace it)"), "{e:#}");
        let e = convert(&input, &dir.path().join("x.txt"), &ConvertOptions::default()).unwrap_err();
        assert!(format!("{e:#}").contains("convert does not write .txt files from an ISO image"), "{e:#}");
    }

    #[test]
    fn a_cancelled_conversion_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let input = iso(dir.path());
        let opts = ConvertOptions::default();
        opts.cancel.cancel();
        let e = convert(&input, &dir.path().join("out.ccd"), &opts).unwrap_err();
        assert!(e.downcast_ref::<crate::cancel::Cancelled>().is_some(), "{e:#}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("in.iso")]);
    }
}

//! Conversions to and from MAME CHD: any raw disc image (CUE/BIN, CloneCD, or another CHD) to a CD CHD, an ISO
//! image to a DVD CHD, a CD CHD to BIN/CUE (one BIN, as `chdman extractcd` writes it) and a DVD CHD to an ISO
//! image. CHDs are written as `chdman createcd` / `createdvd` write them (see [`odix_cdrip::chd::write`]), the
//! hunks compressed on every core.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use odix_cdrip::chd::write::{cd_layout, write_chd, CdFrames, ChdLayout};
use odix_cdrip::chd::{ChdFile, ChdMedia, CD_FRAME};
use odix_cdrip::cue::{CueSheet, FileType, Frames, Index, Track};
use odix_cdrip::detect::ImageFormat;
use odix_cdrip::image::RawDisc;
use odix_cdrip::store::ByteStore;

use crate::compare::same_file;
use crate::output::{self, AtomicFile};

/// What the conversion asks of the caller: paths, options, and where progress and cancellation go. (The
/// conversion types are its parent's; this module names none of them, so that it does not import its parent.)
pub(super) struct Job<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub force: bool,
    /// Whether `--session` or `--track` was given (refused: a CHD holds the whole disc).
    pub selection: bool,
    /// Threads compressing (0: one per CPU).
    pub threads: usize,
    /// Told of units done of a total.
    pub progress: &'a dyn Fn(u64, u64),
    /// Told once the copying has ended.
    pub done: &'a dyn Fn(),
    /// Told of each warning.
    pub warn: &'a dyn Fn(&str),
    /// `Err(Cancelled)` once the conversion is to stop.
    pub cancel: &'a dyn Fn() -> Result<()>,
}

/// Which conversion ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    /// A raw image to a CD CHD.
    RawToChd,
    /// An ISO image to a DVD CHD.
    IsoToChd,
    /// A CD CHD to BIN/CUE.
    ChdToBinCue,
    /// A DVD CHD to an ISO image.
    DvdToIso,
}

/// What it wrote.
pub(super) struct Wrote {
    pub kind: Done,
    /// The main file first.
    pub files: Vec<PathBuf>,
    pub sectors: u64,
    pub warnings: Vec<String>,
}

impl Job<'_> {
    fn progress(&self, done: u64, total: u64) {
        (self.progress)(done, total);
    }
    fn check_cancel(&self) -> Result<()> {
        (self.cancel)()
    }
    fn warning(&self, w: String, all: &mut Vec<String>) {
        (self.warn)(&w);
        all.push(w);
    }
}

/// The files of one conversion under temporary names; [`commit`] renames them all into place.
fn create_outputs(targets: &[&Path], inputs: &[PathBuf], force: bool) -> Result<Vec<AtomicFile>> {
    for t in targets {
        output::check_target(t)?;
        if !force && t.exists() {
            bail!("{} exists (use --force to replace it)", t.display());
        }
        if inputs.iter().any(|i| same_file(i, t)) {
            bail!("{}: the output must not replace the input", t.display());
        }
    }
    targets.iter().map(|t| AtomicFile::create(t)).collect()
}

fn commit(files: Vec<AtomicFile>) -> Result<()> {
    output::commit_all(files)
}

/// The files a raw image is read from.
fn raw_inputs(disc: &RawDisc) -> Vec<PathBuf> {
    let mut v = vec![disc.sheet_path().to_path_buf()];
    v.extend(disc.files().iter().map(|f| f.path.clone()));
    v.extend(disc.subchannel().map(Path::to_path_buf));
    v
}

/// The conversion when CHD is one side of it, or `None` when it is not: to `.chd` from a raw image (`in_raw`) or
/// an ISO image; from a CHD (`detected`) to `.cue`/`.bin`, or, for a DVD, to `.iso`.
pub(super) fn convert(
    job: &Job,
    detected: Option<ImageFormat>,
    in_raw: bool,
    out_ext: Option<&str>,
) -> Result<Option<Wrote>> {
    let from_chd = detected == Some(ImageFormat::Chd);
    match out_ext {
        Some("chd") if in_raw => raw_to_chd(job).map(Some),
        Some("chd") => iso_to_chd(job).map(Some),
        Some("iso") if from_chd => {
            let chd = ChdFile::open(job.input)?;
            match chd.info().media {
                ChdMedia::Dvd => dvd_to_iso(job, chd).map(Some),
                ChdMedia::Cd(_) => Ok(None),
            }
        }
        Some("cue") | Some("bin") if from_chd => chd_to_bin_cue(job, &job.output.with_extension("cue")).map(Some),
        _ => Ok(None),
    }
}

fn threads(job: &Job) -> usize {
    match job.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

fn no_selection(job: &Job) -> Result<()> {
    if job.selection {
        bail!("{}: a CHD holds the whole disc: --session and --track apply to .iso output", job.output.display());
    }
    Ok(())
}

fn wrote(job: &Job, kind: Done, sectors: u64, warnings: Vec<String>) -> Wrote {
    Wrote { kind, files: vec![job.output.to_path_buf()], sectors, warnings }
}

fn raw_to_chd(job: &Job) -> Result<Wrote> {
    no_selection(job)?;
    let mut disc = RawDisc::open(job.input)?;
    let tracks = cd_layout(&disc)?;
    let mut warnings = Vec::new();
    if disc.session_count() > 1 {
        let w = format!(
            "{}: a CHD has no sessions: the {} sessions are written one after the other, without the gaps between \
             them",
            job.input.display(),
            disc.session_count()
        );
        job.warning(w, &mut warnings);
    }
    let outputs = create_outputs(&[job.output], &raw_inputs(&disc), job.force)?;
    let layout = ChdLayout::Cd(tracks.clone());
    let total = layout.logical_bytes() / u64::from(CD_FRAME);
    let mut frames = CdFrames::new(&mut disc, tracks);
    job.progress(0, total);
    let out = BufWriter::with_capacity(1 << 20, &outputs[0].file);
    let (mut out, _) = write_chd(out, job.output, &layout, threads(job), |buf: &mut [u8]| -> Result<()> {
        frames.fill(buf).with_context(|| format!("reading {}", job.input.display()))?;
        job.progress(frames.frames_done(), total);
        job.check_cancel()
    })?;
    out.flush().with_context(|| format!("writing {}", job.output.display()))?;
    drop(out);
    (job.done)();
    job.check_cancel()?;
    commit(outputs)?;
    Ok(wrote(job, Done::RawToChd, total, warnings))
}

fn iso_to_chd(job: &Job) -> Result<Wrote> {
    no_selection(job)?;
    let mut warnings = Vec::new();
    let input = File::open(job.input).with_context(|| format!("cannot open {}", job.input.display()))?;
    let len = input.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        bail!("{}: empty image", job.input.display());
    }
    if len % 2048 != 0 {
        job.warning(
            format!("{}: size is not a multiple of 2048; the last sector is padded", job.input.display()),
            &mut warnings,
        );
    }
    let sectors = len.div_ceil(2048);
    let outputs = create_outputs(&[job.output], &[job.input.to_path_buf()], job.force)?;
    let layout = ChdLayout::Dvd(sectors * 2048);
    let mut r = BufReader::with_capacity(1 << 20, input);
    let mut done = 0u64;
    job.progress(0, sectors);
    let out = BufWriter::with_capacity(1 << 20, &outputs[0].file);
    let (mut out, _) = write_chd(out, job.output, &layout, threads(job), |buf: &mut [u8]| -> Result<()> {
        // The last sector of an image whose size is not a multiple of 2048 is padded with zeros.
        let mut filled = 0;
        while filled < buf.len() {
            match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).with_context(|| format!("reading {}", job.input.display())),
            }
        }
        buf[filled..].fill(0);
        done += buf.len() as u64 / 2048;
        job.progress(done, sectors);
        job.check_cancel()
    })?;
    out.flush().with_context(|| format!("writing {}", job.output.display()))?;
    drop(out);
    (job.done)();
    job.check_cancel()?;
    commit(outputs)?;
    Ok(wrote(job, Done::IsoToChd, sectors, warnings))
}

/// Copies the bytes of `store` to `out`, with progress in 2048-byte sectors.
fn copy_store(job: &Job, store: &dyn ByteStore, out: &mut dyn Write) -> Result<u64> {
    let len = store.len();
    let total = len.div_ceil(2048);
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    job.progress(0, total);
    while pos < len {
        let n = usize::try_from(len - pos).unwrap_or(usize::MAX).min(buf.len());
        store.read_at(pos, &mut buf[..n]).with_context(|| format!("reading {}", job.input.display()))?;
        out.write_all(&buf[..n]).with_context(|| format!("writing {}", job.output.display()))?;
        pos += n as u64;
        job.progress(pos.div_ceil(2048), total);
        job.check_cancel()?;
    }
    (job.done)();
    Ok(total)
}

fn dvd_to_iso(job: &Job, chd: ChdFile) -> Result<Wrote> {
    no_selection(job)?;
    let outputs = create_outputs(&[job.output], &[job.input.to_path_buf()], job.force)?;
    let store = chd.into_store();
    let mut w = BufWriter::with_capacity(1 << 20, &outputs[0].file);
    let sectors = copy_store(job, &store, &mut w)?;
    w.flush().with_context(|| format!("writing {}", job.output.display()))?;
    drop(w);
    job.check_cancel()?;
    commit(outputs)?;
    Ok(wrote(job, Done::DvdToIso, sectors, Vec::new()))
}

/// A CD CHD as one BIN of every track's stored sectors and a CUE sheet: a stored pregap as `INDEX 00`, one
/// that is not stored as `PREGAP`, and `POSTGAP`s.
fn chd_to_bin_cue(job: &Job, cue_path: &Path) -> Result<Wrote> {
    no_selection(job)?;
    let bin_path = cue_path.with_extension("bin");
    let mut disc = RawDisc::open(job.input)?;
    let outputs = create_outputs(&[&bin_path, cue_path], &raw_inputs(&disc), job.force)?;
    let total: u64 = disc.tracks().iter().map(|t| t.stored).sum();
    job.progress(0, total);
    let mut w = BufWriter::with_capacity(1 << 20, &outputs[0].file);
    let mut cue_tracks = Vec::new();
    let mut done = 0u64;
    let mut sector = Vec::new();
    for ti in 0..disc.tracks().len() {
        let t = disc.tracks()[ti].clone();
        let mut track = Track::new(t.number, t.mode);
        let frames = |n: u64| Frames(u32::try_from(n).unwrap_or(u32::MAX));
        if t.unstored_pregap > 0 {
            track.pregap = Some(Frames(t.unstored_pregap));
        }
        if t.start_lba > t.first_lba {
            track.indexes.push(Index { number: 0, position: frames(done) });
        }
        let index1 = done + u64::try_from(t.start_lba - t.first_lba).unwrap_or(0);
        track.indexes.push(Index { number: 1, position: frames(index1) });
        if t.postgap > 0 {
            track.postgap = Some(Frames(t.postgap));
        }
        cue_tracks.push(track);
        sector.resize(t.sector_size() as usize, 0);
        for lba in t.first_lba..t.end_lba() {
            disc.read_stored(ti, lba, &mut sector).with_context(|| format!("reading {}", job.input.display()))?;
            w.write_all(&sector).with_context(|| format!("writing {}", bin_path.display()))?;
            done += 1;
            if done.is_multiple_of(256) {
                job.progress(done, total);
                job.check_cancel()?;
            }
        }
    }
    (job.done)();
    w.flush().with_context(|| format!("writing {}", bin_path.display()))?;
    drop(w);
    let bin_name = bin_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sheet = CueSheet {
        files: vec![odix_cdrip::cue::File { name: bin_name, file_type: FileType::Binary, tracks: cue_tracks, line: 0 }],
        ..CueSheet::default()
    };
    let mut c = BufWriter::new(&outputs[1].file);
    sheet.write_to(&mut c).and_then(|()| c.flush()).with_context(|| format!("writing {}", cue_path.display()))?;
    drop(c);
    job.check_cancel()?;
    commit(outputs)?;
    Ok(Wrote {
        kind: Done::ChdToBinCue,
        files: vec![cue_path.to_path_buf(), bin_path],
        sectors: done,
        warnings: Vec::new(),
    })
}

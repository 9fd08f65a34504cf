//! Per-track audio files: [`raw_to_tracks`] writes a raw disc as one file per track in a folder — audio tracks as
//! WAVE (44.1 kHz 16-bit stereo PCM) or FLAC files (tagged from the sheet's `TITLE`/`PERFORMER`), any other track
//! as a BIN of its stored sectors — and a CUE sheet beside them that names them (`FILE "01 - Title.flac" WAVE`).
//! Each file holds its track's stored sectors from its first one: a pregap stored in the image (`INDEX 00`) is at
//! the start of its own track's file, the sheet says where `INDEX 01` is in it. (Sheets of such files are read back
//! by odix-cdrip's `audiofile` stores, and [`padding_warnings`] says which of their files end inside a sector.)
//!
//! The encoding itself, shared with `rip --audio`, is in [`crate::track_files`]; FLAC frames are encoded on every
//! core.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use odix_cdrip::audiofile::{AudioInfo, BYTES_PER_SAMPLE};
use odix_cdrip::cue::{self, CueSheet, FileType, Frames, Index, Track, TrackMode};
use odix_cdrip::image::RawDisc;

use crate::cancel::Cancel;
use crate::output::Outputs;
pub use crate::track_files::AudioFormat;
use crate::track_files::{tags, track_name, write_flac, write_wav};

/// One conversion as this module sees it: its paths, and whom it tells how far it is.
pub(crate) struct Job<'a> {
    /// The raw image read.
    pub input: &'a Path,
    /// The folder (for track files) or the `.cue` written.
    pub output: &'a Path,
    /// Replace existing outputs.
    pub force: bool,
    /// Checked between sectors.
    pub cancel: &'a Cancel,
    /// Told the sectors done and the sectors in all.
    pub progress: &'a dyn Fn(u64, u64),
    /// Told each warning as it is found.
    pub warning: &'a dyn Fn(String),
    /// Told when the copying has ended.
    pub done: &'a dyn Fn(),
}

impl Job<'_> {
    fn progress(&self, done: u64, total: u64) {
        (self.progress)(done, total);
    }

    fn check_cancel(&self) -> Result<()> {
        Ok(self.cancel.check()?)
    }
}

/// What a conversion of this module wrote.
pub(crate) struct Written {
    /// The CUE sheet first, then the files it names.
    pub files: Vec<PathBuf>,
    /// Sectors written.
    pub sectors: u64,
    /// Things worth saying that did not stop it.
    pub warnings: Vec<String>,
}

/// The files a raw image is read from.
fn raw_inputs(disc: &RawDisc) -> Vec<PathBuf> {
    let mut v = vec![disc.sheet_path().to_path_buf()];
    v.extend(disc.files().iter().map(|f| f.path.clone()));
    v.extend(disc.subchannel().map(Path::to_path_buf));
    v
}

/// Warnings for the WAVE and FLAC files of a disc whose audio does not end on a sector boundary.
pub(crate) fn padding_warnings(disc: &RawDisc) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in disc.files().iter().filter(|f| f.file_type == FileType::Wave) {
        let info = AudioInfo::probe(&f.path)?;
        if info.padding() > 0 {
            out.push(format!(
                "{}: its audio ends {} samples into a 588-sample sector; that sector is read padded with {} samples \
                 of silence",
                f.path.display(),
                (info.pcm_len / BYTES_PER_SAMPLE) % 588,
                info.padding() / BYTES_PER_SAMPLE
            ));
        }
    }
    Ok(out)
}

/// Reads the stored sectors of one track in order, as bytes (audio of a MOTOROLA file byte-swapped to the
/// little-endian order WAVE, FLAC and BINARY files use); counts the sectors read for the progress.
struct TrackReader<'a, 'b> {
    disc: &'a mut RawDisc,
    args: &'a Job<'b>,
    ti: usize,
    lba: i64,
    end: i64,
    swap: bool,
    sector: Vec<u8>,
    at: usize,
    done: &'a mut u64,
    total: u64,
}

impl<'a, 'b> TrackReader<'a, 'b> {
    fn new(disc: &'a mut RawDisc, args: &'a Job<'b>, ti: usize, done: &'a mut u64, total: u64) -> Result<Self> {
        let t = disc.tracks().get(ti).context("no such track")?;
        let size = t.sector_size() as usize;
        let swap = !t.mode.is_data() && disc.files().get(t.file).is_some_and(|f| f.file_type == FileType::Motorola);
        let (lba, end) = (t.first_lba, t.end_lba());
        Ok(TrackReader { disc, args, ti, lba, end, swap, sector: vec![0; size], at: size, done, total })
    }

    /// Fills `buf` as far as the track goes; returns the bytes read (fewer than asked only at its end).
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if self.at == self.sector.len() {
                if self.lba >= self.end {
                    break;
                }
                let sheet = self.disc.sheet_path().to_path_buf();
                self.disc
                    .read_stored(self.ti, self.lba, &mut self.sector)
                    .with_context(|| format!("{}: reading sector {}", sheet.display(), self.lba))?;
                if self.swap {
                    self.sector.chunks_exact_mut(2).for_each(|p| p.swap(0, 1));
                }
                self.lba += 1;
                self.at = 0;
                *self.done += 1;
                if (*self.done).is_multiple_of(256) {
                    self.args.progress(*self.done, self.total);
                    self.args.check_cancel()?;
                }
            }
            let src = &self.sector[self.at..];
            let k = src.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&src[..k]);
            n += k;
            self.at += k;
        }
        Ok(n)
    }
}

/// The sheet track of disc track `ti`, its stored sectors starting at `file_start` frames of its new file.
fn out_track(disc: &RawDisc, ti: usize, file_start: u32) -> Result<Track> {
    let t = disc.tracks().get(ti).context("no such track")?;
    let src = disc.cue().and_then(|c| c.tracks().map(|(_, t)| t).find(|s| s.number == t.number));
    let mut o = match src {
        Some(s) => {
            let mut o = s.clone();
            let first = s.file_start().map_or(0, |f| f.0);
            for i in &mut o.indexes {
                i.position = Frames(file_start + i.position.0.saturating_sub(first));
            }
            o
        }
        None => {
            let mut o = Track::new(t.number, t.mode);
            o.session = t.session;
            let pregap = u32::try_from(t.start_lba - t.first_lba)?;
            if pregap > 0 {
                o.indexes.push(Index { number: 0, position: Frames(file_start) });
            }
            o.indexes.push(Index { number: 1, position: Frames(file_start + pregap) });
            if t.unstored_pregap > 0 {
                o.pregap = Some(Frames(t.unstored_pregap));
            }
            if t.postgap > 0 {
                o.postgap = Some(Frames(t.postgap));
            }
            o
        }
    };
    o.mode = t.mode;
    o.line = 0;
    Ok(o)
}

/// The disc-level part of the new sheet.
fn out_sheet(disc: &RawDisc) -> CueSheet {
    match disc.cue() {
        Some(c) => CueSheet {
            catalog: c.catalog.clone(),
            title: c.title.clone(),
            performer: c.performer.clone(),
            songwriter: c.songwriter.clone(),
            rems: c.rems.clone(),
            ..CueSheet::default()
        },
        None => CueSheet::default(),
    }
}

/// Writes a raw disc's tracks into the folder `args.output`: audio tracks as `format` files, other tracks as BIN
/// files, and a CUE sheet (named after the input) that names them. The folder is made when it does not exist.
pub(crate) fn raw_to_tracks(args: &Job, format: AudioFormat) -> Result<Written> {
    let dir = args.output;
    if dir.exists() && !dir.is_dir() {
        bail!("{}: --audio writes a folder of files, and this is not a folder", dir.display());
    }
    let mut disc = RawDisc::open(args.input)?;
    let mut warnings = padding_warnings(&disc)?;
    for w in &warnings {
        (args.warning)(w.clone());
    }
    let stem = args.input.file_stem().map_or_else(|| "disc".into(), |s| s.to_string_lossy().into_owned());
    let cue_path = dir.join(format!("{stem}.cue"));
    let mut sheet = out_sheet(&disc);
    let mut names = Vec::new();
    for (ti, t) in disc.tracks().iter().enumerate() {
        let audio = t.mode == TrackMode::Audio;
        let title =
            disc.cue().and_then(|c| c.tracks().find(|(_, s)| s.number == t.number)).and_then(|(_, s)| s.title.clone());
        let name = track_name(t.number, title.as_deref(), if audio { format.extension() } else { "bin" });
        let track = out_track(&disc, ti, 0)?;
        if t.mode == TrackMode::Cdg {
            let w = format!("track {:02}: a CD+G track, kept in a BIN file with its subchannel", t.number);
            (args.warning)(w.clone());
            warnings.push(w);
        }
        let file_type = if audio { FileType::Wave } else { FileType::Binary };
        sheet.files.push(cue::File { name: name.clone(), file_type, tracks: vec![track], line: 0 });
        names.push(name);
    }
    let created = if dir.exists() {
        false
    } else {
        std::fs::create_dir(dir).with_context(|| format!("cannot make the folder {}", dir.display()))?;
        true
    };
    let done = write_tracks(args, &mut disc, &sheet, &names, &cue_path, format);
    if done.is_err() && created {
        let _ = std::fs::remove_dir(dir);
    }
    let (files, sectors) = done?;
    Ok(Written { files, sectors, warnings })
}

fn write_tracks(
    args: &Job,
    disc: &mut RawDisc,
    sheet: &CueSheet,
    names: &[String],
    cue_path: &Path,
    format: AudioFormat,
) -> Result<(Vec<PathBuf>, u64)> {
    let dir = args.output;
    let mut targets: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    targets.push(cue_path.to_path_buf());
    let target_refs: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();
    let outputs = Outputs::create(&target_refs, &raw_inputs(disc), args.force)?;
    let total: u64 = disc.tracks().iter().map(|t| t.stored).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    args.progress(0, total);
    let mut done = 0u64;
    for (ti, target) in targets.iter().enumerate().take(names.len()) {
        let (number, mode, stored) = {
            let t = disc.tracks().get(ti).context("no such track")?;
            (t.number, t.mode, t.stored)
        };
        let out = outputs.file(ti)?;
        let src_track = disc.cue().and_then(|c| c.tracks().map(|(_, t)| t).find(|t| t.number == number)).cloned();
        let comments = tags(disc.cue(), src_track.as_ref(), number);
        let mut r = TrackReader::new(disc, args, ti, &mut done, total)?;
        let mut read = |buf: &mut [u8]| r.fill(buf);
        let samples = stored * 588;
        match (mode, format) {
            (TrackMode::Audio, AudioFormat::Wav) => write_wav(&mut read, samples, out, target)?,
            (TrackMode::Audio, AudioFormat::Flac) => write_flac(&mut read, samples, &comments, out, target, threads)?,
            _ => {
                let mut w = BufWriter::with_capacity(1 << 20, out);
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    w.write_all(&buf[..n]).with_context(|| format!("writing {}", target.display()))?;
                }
                w.flush().with_context(|| format!("writing {}", target.display()))?;
            }
        }
    }
    (args.done)();
    let mut c = BufWriter::new(outputs.file(names.len())?);
    sheet.write_to(&mut c).and_then(|()| c.flush()).with_context(|| format!("writing {}", cue_path.display()))?;
    drop(c);
    args.check_cancel()?;
    outputs.commit()?;
    let mut files = vec![cue_path.to_path_buf()];
    files.extend(targets.into_iter().take(names.len()));
    Ok((files, done))
}

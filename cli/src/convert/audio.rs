//! Per-track audio files: [`raw_to_tracks`] writes a raw disc as one file per track in a folder — audio tracks as
//! WAVE (44.1 kHz 16-bit stereo PCM) or FLAC files (tagged from the sheet's `TITLE`/`PERFORMER`), any other track
//! as a BIN of its stored sectors — and a CUE sheet beside them that names them (`FILE "01 - Title.flac" WAVE`).
//! Each file holds its track's stored sectors from its first one: a pregap stored in the image (`INDEX 00`) is at
//! the start of its own track's file, the sheet says where `INDEX 01` is in it. (Sheets of such files are read back
//! by odix-cdrip's `audiofile` stores, and [`padding_warnings`] says which of their files end inside a sector.)
//!
//! FLAC frames are encoded on every core: the calling thread reads the track and hands fixed-size blocks to the
//! encoders, then writes the encoded frames in order; at most [`WINDOW_PER_THREAD`] blocks per thread are in
//! flight, so memory stays bounded whatever the length of the track.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use flacenc::component::{BitRepr, Frame, MetadataBlockData, Stream, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Fill, FrameBuf};
use md5::Digest as _;
use odix_cdrip::audiofile::{AudioInfo, BITS_PER_SAMPLE, BYTES_PER_SAMPLE, CHANNELS, SAMPLE_RATE};
use odix_cdrip::cue::{self, CueSheet, FileType, Frames, Index, Track, TrackMode};
use odix_cdrip::image::RawDisc;

use crate::cancel::Cancel;
use crate::compare::same_file;
use crate::output::{self, AtomicFile};

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

/// The outputs of one conversion, written under temporary names and renamed into place together by
/// [`output::commit_all`]; dropped before that, they leave nothing.
struct Outputs(Vec<AtomicFile>);

impl Outputs {
    /// Checks every target first (its folder exists, it is not there unless `force`, it is not an input).
    fn create(targets: &[&Path], inputs: &[PathBuf], force: bool) -> Result<Outputs> {
        for t in targets {
            output::check_target(t)?;
            if !force && t.exists() {
                bail!("{} exists (use --force to replace it)", t.display());
            }
            if inputs.iter().any(|i| same_file(i, t)) {
                bail!("{}: the output must not replace the input", t.display());
            }
        }
        Ok(Outputs(targets.iter().map(|t| AtomicFile::create(t)).collect::<Result<Vec<_>>>()?))
    }

    fn file(&self, i: usize) -> Result<&File> {
        self.0.get(i).map(|f| &f.file).context("no such output")
    }

    fn commit(self) -> Result<()> {
        output::commit_all(self.0)
    }
}

/// The files a raw image is read from.
fn raw_inputs(disc: &RawDisc) -> Vec<PathBuf> {
    let mut v = vec![disc.sheet_path().to_path_buf()];
    v.extend(disc.files().iter().map(|f| f.path.clone()));
    v.extend(disc.subchannel().map(Path::to_path_buf));
    v
}

/// The format of the audio tracks' files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    /// RIFF WAVE, 16-bit stereo PCM at 44.1 kHz.
    Wav,
    /// FLAC, tagged from the sheet.
    Flac,
}

impl AudioFormat {
    /// `wav` or `flac`.
    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::Wav => "wav",
            AudioFormat::Flac => "flac",
        }
    }

    /// Parses `wav` or `flac` (any case).
    pub fn parse(s: &str) -> Option<AudioFormat> {
        match s.to_ascii_lowercase().as_str() {
            "wav" | "wave" => Some(AudioFormat::Wav),
            "flac" => Some(AudioFormat::Flac),
            _ => None,
        }
    }
}

/// Samples per FLAC block (the reference encoder's choice for CD audio).
const FLAC_BLOCK: usize = 4096;
/// Blocks in flight per encoding thread.
const WINDOW_PER_THREAD: usize = 4;
/// Longest file name written for a track, in bytes, before its extension.
const MAX_NAME: usize = 120;

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

/// The tags of one track's FLAC file, as `NAME=value` Vorbis comments.
fn tags(sheet: Option<&CueSheet>, track: Option<&Track>, number: u8) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |k: &str, v: Option<&String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.push(format!("{k}={v}"));
        }
    };
    add("TITLE", track.and_then(|t| t.title.as_ref()));
    add("ARTIST", track.and_then(|t| t.performer.as_ref()).or(sheet.and_then(|s| s.performer.as_ref())));
    add("ALBUM", sheet.and_then(|s| s.title.as_ref()));
    add("ALBUMARTIST", sheet.and_then(|s| s.performer.as_ref()));
    add("COMPOSER", track.and_then(|t| t.songwriter.as_ref()));
    add("ISRC", track.and_then(|t| t.isrc.as_ref()));
    out.push(format!("TRACKNUMBER={number}"));
    out
}

/// A VORBIS_COMMENT metadata block's content.
fn vorbis_comment(comments: &[String]) -> Result<Vec<u8>> {
    let vendor = concat!("odix ", env!("CARGO_PKG_VERSION"));
    let mut v = Vec::new();
    let len = |s: &str| u32::try_from(s.len()).map(u32::to_le_bytes).map_err(|_| anyhow!("a tag is too long"));
    v.extend_from_slice(&len(vendor)?);
    v.extend_from_slice(vendor.as_bytes());
    v.extend_from_slice(&u32::try_from(comments.len())?.to_le_bytes());
    for c in comments {
        v.extend_from_slice(&len(c)?);
        v.extend_from_slice(c.as_bytes());
    }
    if v.len() >= 1 << 24 {
        bail!("the tags do not fit a FLAC metadata block");
    }
    Ok(v)
}

/// `fLaC`, STREAMINFO and the tags: everything before the first frame.
fn flac_header(info: &StreamInfo, comments: &[u8]) -> Result<Vec<u8>> {
    let mut stream = Stream::with_stream_info(info.clone());
    stream.add_metadata_block(MetadataBlockData::new_unknown(4, comments).map_err(|e| anyhow!("{e}"))?);
    let mut sink = flacenc::bitsink::MemSink::<u8>::new();
    stream.write(&mut sink).map_err(|e| anyhow!("writing the FLAC header: {e}"))?;
    Ok(sink.into_inner())
}

/// Encodes one block of interleaved little-endian samples as frame `number`.
fn encode_block(
    config: &flacenc::error::Verified<flacenc::config::Encoder>,
    info: &StreamInfo,
    number: usize,
    pcm: &[u8],
) -> std::result::Result<(Frame, Vec<u8>), String> {
    let mut fb = FrameBuf::with_size(usize::from(CHANNELS), FLAC_BLOCK).map_err(|e| e.to_string())?;
    fb.fill_le_bytes(pcm, usize::from(BITS_PER_SAMPLE / 8)).map_err(|e| e.to_string())?;
    let frame = flacenc::encode_fixed_size_frame(config, &fb, number, info).map_err(|e| e.to_string())?;
    let mut sink = flacenc::bitsink::MemSink::<u8>::with_capacity(pcm.len() * 8);
    frame.write(&mut sink).map_err(|e| e.to_string())?;
    Ok((frame, sink.into_inner()))
}

/// [`encode_block`], a panic in the encoder turned into an error: the writer waits for every block's result, so an
/// encoder thread must never end without sending one.
fn encoded(
    config: &flacenc::error::Verified<flacenc::config::Encoder>,
    info: &StreamInfo,
    number: usize,
    pcm: &[u8],
) -> std::result::Result<(Frame, Vec<u8>), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encode_block(config, info, number, pcm)))
        .unwrap_or_else(|_| Err("the FLAC encoder failed on this block".into()))
}

type Encoded = (usize, std::result::Result<(Frame, Vec<u8>), String>);

/// Encodes the samples `read` gives (`samples` stereo samples in all) as a FLAC stream into `out`, on `threads`
/// threads, tagged with `comments`.
fn write_flac(
    read: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
    samples: u64,
    comments: &[String],
    out: &File,
    target: &Path,
    threads: usize,
) -> Result<()> {
    let werr = |e: io::Error| anyhow::Error::new(e).context(format!("writing {}", target.display()));
    let config = flacenc::config::Encoder::default().into_verified().map_err(|(_, e)| anyhow!("{e}"))?;
    let base = StreamInfo::new(SAMPLE_RATE as usize, usize::from(CHANNELS), usize::from(BITS_PER_SAMPLE))
        .map_err(|e| anyhow!("{e}"))?;
    let comments = vorbis_comment(comments)?;
    let block = FLAC_BLOCK.min(usize::try_from(samples).unwrap_or(FLAC_BLOCK)).max(16);
    let finish = |info: &mut StreamInfo| -> Result<()> {
        info.set_total_samples(usize::try_from(samples)?);
        info.set_block_sizes(block, block).map_err(|e| anyhow!("{e}"))
    };
    // A first header holds the place of the final one, whose STREAMINFO has the same size.
    let mut placeholder = base.clone();
    finish(&mut placeholder)?;
    let header = flac_header(&placeholder, &comments)?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    w.write_all(&header).map_err(werr)?;
    let mut md5 = md5::Md5::new();
    let mut info = base.clone();
    let window = threads.max(1) * WINDOW_PER_THREAD;
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(window);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (res_tx, res_rx) = mpsc::channel::<Encoded>();
    std::thread::scope(|s| -> Result<()> {
        for _ in 0..threads.max(1) {
            let (rx, tx, config, base) = (Arc::clone(&job_rx), res_tx.clone(), &config, &base);
            s.spawn(move || loop {
                let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((n, pcm)) = job else { break };
                if tx.send((n, encoded(config, base, n, &pcm))).is_err() {
                    break;
                }
            });
        }
        drop(res_tx);
        // The job sender is dropped when this returns, which stops the encoders whatever happened.
        let mut pump = |job_tx: mpsc::SyncSender<(usize, Vec<u8>)>| -> Result<()> {
            let mut sent = 0usize;
            let mut written = 0usize;
            let mut ended = false;
            let mut ready: BTreeMap<usize, std::result::Result<(Frame, Vec<u8>), String>> = BTreeMap::new();
            loop {
                while !ended && sent - written < window {
                    let mut pcm = vec![0u8; FLAC_BLOCK * BYTES_PER_SAMPLE as usize];
                    let n = read(&mut pcm)?;
                    pcm.truncate(n - n % BYTES_PER_SAMPLE as usize);
                    if pcm.is_empty() {
                        ended = true;
                        break;
                    }
                    md5.update(&pcm);
                    job_tx.send((sent, pcm)).map_err(|_| anyhow!("the FLAC encoders stopped"))?;
                    sent += 1;
                }
                if ended && written == sent {
                    return Ok(());
                }
                let (n, r) = res_rx.recv().map_err(|_| anyhow!("the FLAC encoders stopped"))?;
                ready.insert(n, r);
                while let Some(r) = ready.remove(&written) {
                    let (frame, bytes) = r.map_err(|e| anyhow!("encoding FLAC frame {written}: {e}"))?;
                    info.update_frame_info(&frame);
                    w.write_all(&bytes).map_err(werr)?;
                    written += 1;
                }
            }
        };
        pump(job_tx)
    })?;
    w.flush().map_err(werr)?;
    drop(w);
    if info.total_samples() != usize::try_from(samples)? {
        bail!("{}: the track gave {} samples, not {samples}", target.display(), info.total_samples());
    }
    finish(&mut info)?;
    info.set_md5_digest(&md5.finalize().into());
    let header2 = flac_header(&info, &comments)?;
    if header2.len() != header.len() {
        bail!("{}: the FLAC header changed size", target.display());
    }
    out.write_all_at(&header2, 0).map_err(werr)?;
    Ok(())
}

/// Writes a WAVE file of the samples `read` gives (`samples` stereo samples in all) into `out`.
fn write_wav(read: &mut dyn FnMut(&mut [u8]) -> Result<usize>, samples: u64, out: &File, target: &Path) -> Result<()> {
    let werr = |e: hound::Error| anyhow!("writing {}: {e}", target.display());
    let spec = hound::WavSpec {
        channels: CHANNELS,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: BITS_PER_SAMPLE,
        sample_format: hound::SampleFormat::Int,
    };
    if samples.saturating_mul(BYTES_PER_SAMPLE) > u64::from(u32::MAX) - 44 {
        bail!("{}: {samples} samples do not fit a WAVE file", target.display());
    }
    let mut w = hound::WavWriter::new(BufWriter::with_capacity(1 << 20, out), spec).map_err(werr)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = read(&mut buf)?;
        let n = n - n % BYTES_PER_SAMPLE as usize;
        if n == 0 {
            break;
        }
        let mut s16 = w.get_i16_writer(u32::try_from(n / 2)?);
        for pair in buf[..n].chunks_exact(2) {
            s16.write_sample(i16::from_le_bytes([pair[0], pair[1]]));
        }
        s16.flush().map_err(werr)?;
        total += n as u64 / BYTES_PER_SAMPLE;
    }
    w.finalize().map_err(werr)?;
    if total != samples {
        bail!("{}: the track gave {total} samples, not {samples}", target.display());
    }
    Ok(())
}

/// A file name made of a track's number and title, without characters that cannot be in a file name or a sheet.
fn track_name(number: u8, title: Option<&str>, ext: &str) -> String {
    let title: String =
        title
            .unwrap_or("")
            .chars()
            .map(|c| {
                if c.is_control() || matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
    let mut title = title.trim().trim_matches('.').to_string();
    while title.len() > MAX_NAME {
        title.pop();
    }
    if title.is_empty() {
        title = format!("Track {number:02}");
    }
    format!("{number:02} - {title}.{ext}")
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

//! Per-track audio files, shared by `convert --audio` ([`crate::convert`]) and `rip --audio` ([`crate::rip`]):
//! a track's samples as a WAVE file (44.1 kHz 16-bit stereo PCM) or a FLAC file tagged from the CUE sheet, and the
//! file names the tracks get.
//!
//! FLAC frames are encoded on several threads: the calling thread reads the track and hands fixed-size blocks to
//! the encoders, then writes the encoded frames in order; at most `WINDOW_PER_THREAD` blocks per thread are in
//! flight, so memory stays bounded whatever the length of the track.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Result};
use flacenc::component::{BitRepr, Frame, MetadataBlockData, Stream, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Fill, FrameBuf};
use md5::Digest as _;
use odix_cdrip::audiofile::{BITS_PER_SAMPLE, BYTES_PER_SAMPLE, CHANNELS, SAMPLE_RATE};
use odix_cdrip::cue::{CueSheet, Track};

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

/// The tags of one track's FLAC file, as `NAME=value` Vorbis comments.
pub(crate) fn tags(sheet: Option<&CueSheet>, track: Option<&Track>, number: u8) -> Vec<String> {
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

/// The encoder's settings: those of the reference encoder's default level (`flac -5`): blocks of [`FLAC_BLOCK`]
/// samples, the best of left/right, mid/side, left/side and right/side stereo, fixed predictors up to order 4 and
/// LPC of order 8 (flacenc's own default of 10 costs a fifth more time for files a fraction of a percent smaller:
/// docs/rip.md). Frames are spread over threads by [`write_flac`], not by the encoder.
fn flac_config() -> flacenc::config::Encoder {
    let mut c = flacenc::config::Encoder::default();
    c.block_size = FLAC_BLOCK;
    c.multithread = false;
    c.subframe_coding.qlpc.lpc_order = 8;
    c
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
pub(crate) fn write_flac(
    read: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
    samples: u64,
    comments: &[String],
    out: &File,
    target: &Path,
    threads: usize,
) -> Result<()> {
    let werr = |e: io::Error| anyhow::Error::new(e).context(format!("writing {}", target.display()));
    let config = flac_config().into_verified().map_err(|(_, e)| anyhow!("{e}"))?;
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
pub(crate) fn write_wav(
    read: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
    samples: u64,
    out: &File,
    target: &Path,
) -> Result<()> {
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
pub(crate) fn track_name(number: u8, title: Option<&str>, ext: &str) -> String {
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

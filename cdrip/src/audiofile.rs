//! Audio files named by a CUE sheet (`FILE "01 - Title.wav" WAVE`, and FLAC files, which EAC and CUETools also
//! name `WAVE` and other tools `FLAC`) or by a cdrdao TOC file (`AUDIOFILE "x.wav" 0`), read as the raw audio
//! sectors they hold: [`ByteStore`]s whose bytes are the tracks' 16-bit little-endian stereo samples, as a BINARY
//! file stores them.
//!
//! - A WAVE file must hold 44.1 kHz, 16-bit, 2-channel integer PCM (plain or `WAVE_FORMAT_EXTENSIBLE`); its
//!   `data` chunk is read in place. A `data` chunk that claims more bytes than the file has is an error.
//! - A FLAC file must hold the same (44.1 kHz, 16 bits, 2 channels, its length in STREAMINFO). It is decoded as
//!   it is read, one frame at a time; where each second of audio starts in the file is remembered while decoding,
//!   so that a read behind the decoder restarts at most a second before it instead of at the start. Two decoders
//!   are kept, so that two readers going through the file at once do not make each other restart. Memory stays
//!   bounded: two frames (at most 65535 samples each) and 16 bytes per second of audio.
//!
//! A CUE sheet lays tracks out in whole sectors (2352 bytes, 588 samples): a file whose audio does not end on a
//! sector boundary reads as if padded with silence up to the next one ([`AudioInfo::padding`] says how many bytes
//! were added, for a warning).

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Seek};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use claxon::frame::FrameReader;
use claxon::input::ReadBytes;
use claxon::metadata::{MetadataBlock, MetadataBlockReader};

use crate::cue::FileType;
use crate::error::{Error, Result};
use crate::image::ImageFile;
use crate::sector::{MAX_LBA, RAW_SECTOR_LEN};
use crate::store::ByteStore;

/// Samples per second of CD audio.
pub const SAMPLE_RATE: u32 = 44_100;
/// Channels of CD audio.
pub const CHANNELS: u16 = 2;
/// Bits per sample of CD audio.
pub const BITS_PER_SAMPLE: u16 = 16;
/// Bytes of one stereo sample.
pub const BYTES_PER_SAMPLE: u64 = 4;
/// Stereo samples in one 2352-byte sector.
pub const SAMPLES_PER_SECTOR: u64 = RAW_SECTOR_LEN as u64 / BYTES_PER_SAMPLE;

/// Most stereo samples an audio file may hold: as many as the 100 minutes a CD can address.
const MAX_SAMPLES: u64 = (MAX_LBA as u64 + 1) * SAMPLES_PER_SECTOR;
/// A FLAC read this many samples (or fewer) ahead of the decoder decodes forward rather than jump to a checkpoint.
const FORWARD: u64 = SAMPLE_RATE as u64;
/// Samples between two remembered frame positions of a FLAC file.
const CHECKPOINT_EVERY: u64 = SAMPLE_RATE as u64;

/// What an audio file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioKind {
    /// A RIFF WAVE file.
    Wav,
    /// A FLAC file.
    Flac,
}

impl AudioKind {
    /// `WAVE` or `FLAC`.
    pub fn name(self) -> &'static str {
        match self {
            AudioKind::Wav => "WAVE",
            AudioKind::Flac => "FLAC",
        }
    }

    /// What `path` holds by its first bytes: `RIFF....WAVE` or `fLaC`; `None` for anything else.
    ///
    /// # Errors
    /// The error of opening or reading it.
    pub fn sniff(path: &Path) -> io::Result<Option<AudioKind>> {
        let mut head = [0u8; 12];
        let f = File::open(path)?;
        let mut n = 0;
        while n < head.len() {
            match f.read_at(head.get_mut(n..).unwrap_or_default(), n as u64)? {
                0 => break,
                k => n = n.saturating_add(k),
            }
        }
        Ok(if head.starts_with(b"fLaC") {
            Some(AudioKind::Flac)
        } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
            Some(AudioKind::Wav)
        } else {
            None
        })
    }
}

/// The length of an audio file's samples, read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioInfo {
    /// WAVE or FLAC.
    pub kind: AudioKind,
    /// Bytes of 16-bit stereo PCM it holds (4 per stereo sample).
    pub pcm_len: u64,
}

impl AudioInfo {
    /// Reads the header of `path` and checks it holds CD audio.
    ///
    /// # Errors
    /// As [`open_store`].
    pub fn probe(path: &Path) -> Result<AudioInfo> {
        let kind = sniff_or_refuse(path)?;
        let pcm_len = match kind {
            AudioKind::Wav => WavStore::open(path)?.pcm_len,
            AudioKind::Flac => FlacStore::open(path)?.pcm_len,
        };
        Ok(AudioInfo { kind, pcm_len })
    }

    /// Its length in whole sectors, a partial last one counted.
    pub fn sectors(&self) -> u64 {
        self.pcm_len.div_ceil(RAW_SECTOR_LEN as u64)
    }

    /// Bytes of silence added to fill its last sector (0 when it ends on a sector boundary).
    pub fn padding(&self) -> u64 {
        self.sectors().saturating_mul(RAW_SECTOR_LEN as u64).saturating_sub(self.pcm_len)
    }
}

fn invalid(path: &Path, message: String) -> Error {
    Error::AudioFile { path: path.to_path_buf(), message }
}

fn sniff_or_refuse(path: &Path) -> Result<AudioKind> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    AudioKind::sniff(path).map_err(io)?.ok_or_else(|| {
        invalid(
            path,
            "named as an audio file, but neither a RIFF WAVE nor a FLAC file: odix reads CD audio from these two"
                .into(),
        )
    })
}

fn check_format(path: &Path, kind: AudioKind, rate: u32, bits: u32, channels: u32, int: bool) -> Result<()> {
    if rate == SAMPLE_RATE && bits == u32::from(BITS_PER_SAMPLE) && channels == u32::from(CHANNELS) && int {
        return Ok(());
    }
    let form = if int { "" } else { " floating-point" };
    Err(invalid(
        path,
        format!(
            "a {} file of {rate} Hz, {bits}-bit{form}, {channels} channel(s): CD audio must be 44100 Hz, 16-bit \
             integer, 2 channels (resample it first, e.g. with `sox IN -r 44100 -b 16 -c 2 OUT.wav`)",
            kind.name()
        ),
    ))
}

/// Length of `pcm_len` bytes padded to whole sectors.
fn padded(pcm_len: u64) -> u64 {
    pcm_len.div_ceil(RAW_SECTOR_LEN as u64).saturating_mul(RAW_SECTOR_LEN as u64)
}

/// Checks a read of `buf_len` bytes at `offset` lies inside `len`.
fn check_range(offset: u64, buf_len: usize, len: u64) -> io::Result<()> {
    match offset.checked_add(buf_len as u64) {
        Some(end) if end <= len => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("read of {buf_len} bytes at {offset} past the end of the audio ({len} bytes in whole sectors)"),
        )),
    }
}

/// Opens `path` (a WAVE or a FLAC file, told apart by their content) as a store of raw audio sectors.
///
/// # Errors
/// [`Error::Io`] when it cannot be read; [`Error::AudioFile`] when it is neither a WAVE nor a FLAC file, does not
/// hold 44.1 kHz 16-bit stereo integer samples, or its header lies about its length (a WAVE `data` chunk longer
/// than the file); [`Error::LimitExceeded`] past the 100 minutes of a CD.
pub fn open_store(path: &Path) -> Result<Box<dyn ByteStore>> {
    Ok(match sniff_or_refuse(path)? {
        AudioKind::Wav => Box::new(WavStore::open(path)?),
        AudioKind::Flac => Box::new(FlacStore::open(path)?),
    })
}

/// The [`ImageFile`] of a `WAVE` file that `sheet` names: its bytes are the audio's raw sectors, its type stays
/// [`FileType::Wave`].
///
/// # Errors
/// [`Error::MissingFile`] when it cannot be opened; as [`open_store`].
pub fn image_file(sheet: &Path, path: PathBuf) -> Result<ImageFile> {
    if let Err(source) = File::open(&path).and_then(|f| f.metadata()).and_then(|m| {
        if m.is_dir() {
            Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"))
        } else {
            Ok(())
        }
    }) {
        return Err(Error::MissingFile { sheet: sheet.to_path_buf(), file: path, source });
    }
    let store = open_store(&path)?;
    let mut file = ImageFile::from_store(path, store);
    file.file_type = FileType::Wave;
    Ok(file)
}

/// The PCM of a WAVE file's `data` chunk, read in place.
pub struct WavStore {
    path: PathBuf,
    file: File,
    data_offset: u64,
    pcm_len: u64,
}

impl fmt::Debug for WavStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavStore").field("path", &self.path).field("pcm_len", &self.pcm_len).finish_non_exhaustive()
    }
}

impl WavStore {
    /// Opens `path` and checks its header.
    ///
    /// # Errors
    /// As [`open_store`].
    pub fn open(path: &Path) -> Result<WavStore> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let bad = |e: hound::Error| match e {
            hound::Error::IoError(e) => invalid(
                path,
                format!("its WAVE header cannot be read up to its data chunk ({e}): the file is truncated"),
            ),
            other => invalid(path, format!("not a WAVE file odix reads: {other}")),
        };
        let reader = hound::WavReader::new(BufReader::new(file)).map_err(bad)?;
        let spec = reader.spec();
        check_format(
            path,
            AudioKind::Wav,
            spec.sample_rate,
            u32::from(spec.bits_per_sample),
            u32::from(spec.channels),
            spec.sample_format == hound::SampleFormat::Int,
        )?;
        let pcm_len = u64::from(reader.len()).saturating_mul(u64::from(BITS_PER_SAMPLE / 8));
        let mut inner = reader.into_inner();
        let data_offset = inner.stream_position().map_err(io)?;
        let file = inner.into_inner();
        let room = file_len.saturating_sub(data_offset);
        if pcm_len > room {
            return Err(invalid(
                path,
                format!(
                    "its data chunk claims {pcm_len} bytes of samples, but only {room} bytes follow its header: \
                     the file is truncated or its header lies"
                ),
            ));
        }
        if pcm_len / BYTES_PER_SAMPLE > MAX_SAMPLES {
            return Err(Error::LimitExceeded {
                what: "stereo samples in an audio file",
                limit: MAX_SAMPLES,
                actual: pcm_len / BYTES_PER_SAMPLE,
            });
        }
        Ok(WavStore { path: path.to_path_buf(), file, data_offset, pcm_len })
    }

    /// Bytes of PCM in its data chunk.
    pub fn pcm_len(&self) -> u64 {
        self.pcm_len
    }
}

impl ByteStore for WavStore {
    fn len(&self) -> u64 {
        padded(self.pcm_len)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len())?;
        let in_pcm = usize::try_from(self.pcm_len.saturating_sub(offset)).unwrap_or(usize::MAX).min(buf.len());
        let (pcm, pad) = buf.split_at_mut(in_pcm);
        if !pcm.is_empty() {
            self.file.read_exact_at(pcm, self.data_offset.saturating_add(offset))?;
        }
        pad.fill(0);
        Ok(())
    }
}

/// A file read with a buffer of its own that knows the offset of the next byte it gives (claxon's own
/// buffered reader does not tell it), so that frame starts can be remembered.
struct PosReader {
    file: File,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    pos: u64,
}

impl PosReader {
    fn new(file: File, pos: u64) -> PosReader {
        PosReader { file, buf: vec![0u8; 64 * 1024].into_boxed_slice(), start: 0, end: 0, pos }
    }

    /// Offset of the next byte.
    fn pos(&self) -> u64 {
        self.pos
    }

    /// Refills an empty buffer; `false` at the end of the file.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start < self.end {
            return Ok(true);
        }
        let n = loop {
            match self.file.read_at(&mut self.buf, self.pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.start = 0;
        self.end = n;
        Ok(n > 0)
    }

    fn eof() -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends inside a FLAC frame")
    }
}

impl ReadBytes for PosReader {
    fn read_u8(&mut self) -> io::Result<u8> {
        self.read_u8_or_eof()?.ok_or_else(PosReader::eof)
    }

    fn read_u8_or_eof(&mut self) -> io::Result<Option<u8>> {
        if !self.fill()? {
            return Ok(None);
        }
        let b = self.buf.get(self.start).copied();
        self.start = self.start.saturating_add(1);
        self.pos = self.pos.saturating_add(1);
        Ok(b)
    }

    fn read_into(&mut self, out: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            if !self.fill()? {
                return Err(PosReader::eof());
            }
            let have = self.buf.get(self.start..self.end).unwrap_or_default();
            let dst = out.get_mut(done..).unwrap_or_default();
            let n = have.len().min(dst.len());
            if let (Some(d), Some(s)) = (dst.get_mut(..n), have.get(..n)) {
                d.copy_from_slice(s);
            }
            done = done.saturating_add(n);
            self.start = self.start.saturating_add(n);
            self.pos = self.pos.saturating_add(n as u64);
        }
        Ok(())
    }

    fn skip(&mut self, amount: u32) -> io::Result<()> {
        let buffered = self.end.saturating_sub(self.start);
        let amount = amount as usize;
        if amount <= buffered {
            self.start = self.start.saturating_add(amount);
        } else {
            self.start = 0;
            self.end = 0;
        }
        self.pos = self.pos.saturating_add(amount as u64);
        Ok(())
    }
}

/// A FLAC decoder at a frame boundary.
struct Decoder {
    reader: PosReader,
    /// The first sample of the next frame.
    next_sample: u64,
}

/// One place the file is decoded at: a decoder and the frame it decoded last.
#[derive(Default)]
struct Cursor {
    decoder: Option<Decoder>,
    /// The samples of the last decoded frame, as little-endian bytes.
    block: Vec<u8>,
    /// Its first sample.
    block_sample: u64,
    /// When it was last used ([`FlacState::clock`]).
    used: u64,
}

impl Cursor {
    /// The PCM bytes of its frame: from where to where.
    fn span(&self) -> (u64, u64) {
        let start = self.block_sample.saturating_mul(BYTES_PER_SAMPLE);
        (start, start.saturating_add(self.block.len() as u64))
    }
}

struct FlacState {
    /// Two, so that two readers going through the file at once (a hash beside a copy) do not make each other
    /// restart at every read.
    cursors: [Cursor; 2],
    clock: u64,
    /// A decode buffer kept between frames.
    scratch: Vec<i32>,
    /// (first sample, file offset) of frames, one about every [`CHECKPOINT_EVERY`] samples, in order; the first is
    /// the first frame.
    checkpoints: Vec<(u64, u64)>,
}

impl FlacState {
    /// The cursor to read `pos` (a PCM byte offset) with: the one whose frame holds it, else the one that can decode
    /// forward to it soonest, else the one used least recently.
    fn pick(&mut self, pos: u64) -> usize {
        let sample = pos / BYTES_PER_SAMPLE;
        let holds = self.cursors.iter().position(|c| {
            let (a, b) = c.span();
            a <= pos && pos < b
        });
        let ahead = || {
            self.cursors
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.decoder.as_ref().map(|d| (i, d.next_sample)))
                .filter(|&(_, next)| next <= sample && sample.saturating_sub(next) <= FORWARD)
                .max_by_key(|&(_, next)| next)
                .map(|(i, _)| i)
        };
        let oldest = || self.cursors.iter().enumerate().min_by_key(|(_, c)| c.used).map_or(0, |(i, _)| i);
        let i = holds.or_else(ahead).unwrap_or_else(oldest);
        self.clock = self.clock.saturating_add(1);
        if let Some(c) = self.cursors.get_mut(i) {
            c.used = self.clock;
        }
        i
    }
}

/// The PCM of a FLAC file, decoded as it is read.
pub struct FlacStore {
    path: PathBuf,
    file: File,
    pcm_len: u64,
    samples: u64,
    state: Mutex<FlacState>,
}

impl fmt::Debug for FlacStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlacStore").field("path", &self.path).field("pcm_len", &self.pcm_len).finish_non_exhaustive()
    }
}

fn claxon_io(e: claxon::Error) -> io::Error {
    match e {
        claxon::Error::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

impl FlacStore {
    /// Opens `path` and reads its metadata blocks.
    ///
    /// # Errors
    /// As [`open_store`]; a FLAC file whose STREAMINFO does not give its length.
    pub fn open(path: &Path) -> Result<FlacStore> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        let mut r = PosReader::new(file.try_clone().map_err(io)?, 0);
        let mut magic = [0u8; 4];
        r.read_into(&mut magic).map_err(io)?;
        if &magic != b"fLaC" {
            return Err(invalid(path, "not a FLAC file (no fLaC signature)".into()));
        }
        let mut info = None;
        for block in MetadataBlockReader::new(&mut r) {
            let block =
                block.map_err(|e| invalid(path, format!("its metadata blocks cannot be read: {}", claxon_io(e))))?;
            if let MetadataBlock::StreamInfo(i) = block {
                if info.is_some() {
                    return Err(invalid(path, "two STREAMINFO blocks".into()));
                }
                info = Some(i);
            } else if info.is_none() {
                return Err(invalid(path, "its first metadata block is not STREAMINFO".into()));
            }
        }
        let info = info.ok_or_else(|| invalid(path, "no STREAMINFO block".into()))?;
        check_format(path, AudioKind::Flac, info.sample_rate, info.bits_per_sample, info.channels, true)?;
        let samples = info
            .samples
            .filter(|&n| n > 0)
            .ok_or_else(|| invalid(path, "its STREAMINFO does not give its length in samples".into()))?;
        if samples > MAX_SAMPLES {
            return Err(Error::LimitExceeded {
                what: "stereo samples in an audio file",
                limit: MAX_SAMPLES,
                actual: samples,
            });
        }
        let first_frame = r.pos();
        Ok(FlacStore {
            path: path.to_path_buf(),
            file,
            pcm_len: samples.saturating_mul(BYTES_PER_SAMPLE),
            samples,
            state: Mutex::new(FlacState {
                cursors: Default::default(),
                clock: 0,
                scratch: Vec::new(),
                checkpoints: vec![(0, first_frame)],
            }),
        })
    }

    /// Bytes of PCM its STREAMINFO announces.
    pub fn pcm_len(&self) -> u64 {
        self.pcm_len
    }

    /// Decodes the frame at cursor `ci`'s decoder into its block.
    fn decode_next(&self, st: &mut FlacState, ci: usize) -> io::Result<()> {
        let checkpoint = st.checkpoints.last().map_or(0, |c| c.0);
        let FlacState { cursors, scratch, checkpoints, .. } = st;
        let cur = cursors.get_mut(ci).ok_or_else(|| io::Error::other("no such FLAC cursor"))?;
        let Some(dec) = cur.decoder.as_mut() else {
            return Err(io::Error::other("no FLAC decoder"));
        };
        let at = dec.reader.pos();
        let expected = dec.next_sample;
        let damaged = |what: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "FLAC frame at byte {at} (sample {expected} of {}): {what}: the file is truncated or damaged",
                    self.samples
                ),
            )
        };
        let block = match FrameReader::new(&mut dec.reader).read_next_or_eof(std::mem::take(scratch)) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(damaged(format!(
                    "the stream ends there, {} samples short",
                    self.samples.saturating_sub(expected)
                )))
            }
            Err(e) => return Err(damaged(claxon_io(e).to_string())),
        };
        if block.channels() != u32::from(CHANNELS) {
            return Err(damaged(format!("{} channels", block.channels())));
        }
        let n = u64::from(block.duration());
        if n == 0 || expected.saturating_add(n) > self.samples {
            return Err(damaged(format!("{n} samples, past the {} its STREAMINFO announces", self.samples)));
        }
        // The decoder derives the first sample of a fixed-size stream's short last frame from that frame's own
        // size, so its time is checked only for the frames before it.
        if block.time() != expected && expected.saturating_add(n) != self.samples {
            return Err(damaged(format!("the frame says it starts at sample {}", block.time())));
        }
        cur.block.clear();
        for (l, r) in block.stereo_samples() {
            let (Ok(l), Ok(r)) = (i16::try_from(l), i16::try_from(r)) else {
                return Err(damaged("a sample out of the 16-bit range".into()));
            };
            cur.block.extend_from_slice(&l.to_le_bytes());
            cur.block.extend_from_slice(&r.to_le_bytes());
        }
        *scratch = block.into_buffer();
        cur.block_sample = expected;
        dec.next_sample = expected.saturating_add(n);
        if expected >= checkpoint.saturating_add(CHECKPOINT_EVERY) {
            checkpoints.push((expected, at));
        }
        Ok(())
    }

    /// Makes cursor `ci`'s block the frame holding `sample`: decoding forward from where it is when that is near,
    /// else from the last checkpoint before `sample`.
    fn load(&self, st: &mut FlacState, ci: usize, sample: u64) -> io::Result<()> {
        let idx = st.checkpoints.partition_point(|c| c.0 <= sample).saturating_sub(1);
        let (cs, co) = st.checkpoints.get(idx).copied().unwrap_or((0, 0));
        let cur = st.cursors.get_mut(ci).ok_or_else(|| io::Error::other("no such FLAC cursor"))?;
        let next = cur.decoder.as_ref().map(|d| d.next_sample);
        let keep = next.is_some_and(|n| n <= sample && (sample.saturating_sub(n) <= FORWARD || n >= cs));
        if !keep {
            let file = self.file.try_clone()?;
            cur.decoder = Some(Decoder { reader: PosReader::new(file, co), next_sample: cs });
        }
        loop {
            if let Err(e) = self.decode_next(st, ci) {
                // Its reader may have stopped inside a frame: the next read starts again from a checkpoint.
                if let Some(c) = st.cursors.get_mut(ci) {
                    *c = Cursor::default();
                }
                return Err(e);
            }
            let (_, end) = st.cursors.get(ci).map_or((0, 0), Cursor::span);
            if sample.saturating_mul(BYTES_PER_SAMPLE) < end {
                return Ok(());
            }
        }
    }
}

impl ByteStore for FlacStore {
    fn len(&self) -> u64 {
        padded(self.pcm_len)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len())?;
        let mut st = self.state.lock().unwrap_or_else(|p| {
            let mut st = p.into_inner();
            st.cursors = Default::default();
            st
        });
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(done as u64);
            let dst = buf.get_mut(done..).unwrap_or_default();
            if pos >= self.pcm_len {
                dst.fill(0);
                break;
            }
            let ci = st.pick(pos);
            let (start, end) = st.cursors.get(ci).map_or((0, 0), Cursor::span);
            if pos < start || pos >= end {
                self.load(&mut st, ci, pos / BYTES_PER_SAMPLE)?;
                continue;
            }
            let from = usize::try_from(pos.saturating_sub(start)).unwrap_or(usize::MAX);
            let src = st.cursors.get(ci).and_then(|c| c.block.get(from..)).unwrap_or_default();
            let n = src.len().min(dst.len());
            if n == 0 {
                return Err(io::Error::other("empty FLAC frame"));
            }
            if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
                d.copy_from_slice(s);
            }
            done = done.saturating_add(n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::RawDisc;

    fn wav(path: &Path, rate: u32, pcm: &[u8]) {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for p in pcm.chunks_exact(2) {
            w.write_sample(i16::from_le_bytes([p[0], p[1]])).unwrap();
        }
        w.finalize().unwrap();
    }

    fn pcm(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
    }

    #[test]
    fn wave_store_reads_its_data_chunk_padded_to_whole_sectors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let data = pcm(3 * 2352 + 400);
        wav(&p, 44100, &data);
        let s = WavStore::open(&p).unwrap();
        assert_eq!((s.pcm_len(), s.len()), (data.len() as u64, 4 * 2352));
        let mut buf = vec![1u8; 2352];
        s.read_at(3 * 2352, &mut buf).unwrap();
        assert_eq!(&buf[..400], &data[3 * 2352..]);
        assert!(buf[400..].iter().all(|&b| b == 0));
        assert!(s.read_at(3 * 2352 + 1, &mut buf).is_err());
        let info = AudioInfo::probe(&p).unwrap();
        assert_eq!((info.kind, info.sectors(), info.padding()), (AudioKind::Wav, 4, 2352 - 400));
    }

    #[test]
    fn a_sheet_of_wave_files_reads_as_sectors() {
        let dir = tempfile::tempdir().unwrap();
        let a = pcm(10 * 2352);
        wav(&dir.path().join("a.wav"), 44100, &a);
        wav(&dir.path().join("b.wav"), 44100, &a[..5 * 2352]);
        let cue = dir.path().join("x.cue");
        std::fs::write(
            &cue,
            "FILE a.wav WAVE\n TRACK 01 AUDIO\n  INDEX 01 00:00:00\n TRACK 02 AUDIO\n  INDEX 00 00:00:04\n  INDEX 01 00:00:06\nFILE b.wav WAVE\n TRACK 03 AUDIO\n  INDEX 01 00:00:00\n",
        )
        .unwrap();
        let mut disc = RawDisc::open(&cue).unwrap();
        let t = disc.tracks().to_vec();
        assert_eq!((t[1].first_lba, t[1].start_lba, t[1].stored), (4, 6, 6));
        assert_eq!((t[2].first_lba, t[2].stored), (10, 5));
        let s = disc.read_raw(1, 7).unwrap();
        assert_eq!(&s[..], &a[7 * 2352..8 * 2352]);
        let s = disc.read_raw(2, 12).unwrap();
        assert_eq!(&s[..], &a[2 * 2352..3 * 2352]);
        // A track past the end of its file is a layout error, as for BINARY files.
        std::fs::write(
            &cue,
            "FILE b.wav WAVE\n TRACK 01 AUDIO\n  INDEX 01 00:00:00\n TRACK 02 AUDIO\n  INDEX 01 00:00:09\n",
        )
        .unwrap();
        assert!(RawDisc::open(&cue).unwrap_err().to_string().contains("only"));
    }

    #[test]
    fn hostile_wave_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        wav(&p, 44100, &pcm(2352));
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes.windows(4).position(|w| w == b"data").unwrap() + 4;
        bytes[at..at + 4].copy_from_slice(&4_000_000u32.to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        assert!(open_store(&p).unwrap_err().to_string().contains("claims 4000000 bytes"));
        std::fs::write(&p, &bytes[..30]).unwrap();
        let e = open_store(&p).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        wav(&p, 22050, &pcm(2352));
        assert!(open_store(&p).unwrap_err().to_string().contains("22050 Hz"));
        std::fs::write(&p, b"fLaC\0\0\0").unwrap();
        assert!(open_store(&p).is_err());
        std::fs::write(&p, b"ID3 tagged").unwrap();
        assert!(open_store(&p).unwrap_err().to_string().contains("neither"));
    }
}

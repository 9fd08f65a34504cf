//! Writing CHDs as `chdman createcd` and `chdman createdvd` do: a CD in hunks of 8 frames (19584 bytes)
//! compressed with CD LZMA, CD Deflate and CD FLAC, its tracks in `CHT2` metadata; a DVD in hunks of two
//! 2048-byte sectors compressed with LZMA, Deflate, Huffman and FLAC, with `DVD ` metadata. This module lays the
//! disc out and compresses on several threads; `v5write` writes the file (header, hunks, map, metadata, SHA-1s)
//! and runs the codecs.
//!
//! The logical bytes are pulled a batch of hunks at a time from the caller, which never holds the whole image:
//! while the worker threads compress one batch the caller's reader fills the next, and the compressed hunks are
//! written in order.

use std::io::{self, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ::chd::header::CodecType;
use sha1::{Digest, Sha1};

use super::v5write::{Compressed, Media, V5Writer};
use super::{CD_FRAME, CD_SECTOR, TRACK_PADDING};
use crate::cue::{FileType, TrackMode};
use crate::error::{Error, Result};
use crate::image::RawDisc;

/// Hunks each thread compresses per batch (2.5 MB of CD hunks). The threads wait for each other at the end of a
/// batch: on a loaded machine, where a thread may be descheduled for a while, longer batches wait less often.
const HUNKS_PER_THREAD: usize = 128;

/// One track of a CD to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdTrackOut {
    /// 1..=99.
    pub number: u8,
    /// Mode and sector size stored.
    pub mode: TrackMode,
    /// Frames stored, a stored pregap included.
    pub frames: u64,
    /// Pregap frames.
    pub pregap: u64,
    /// Whether the pregap is among the stored frames.
    pub pregap_stored: bool,
    /// Frames after the track that are not stored.
    pub postgap: u64,
    /// Whether each frame carries the source's 96 bytes of raw subchannel (`SUBTYPE:RW_RAW`).
    pub subchannel: bool,
    /// Leading frames that are not in the source but generated (empty sectors, silence): a pregap the source
    /// does not store before one it stores, which a CHD cannot describe apart.
    pub generated: u64,
}

impl CdTrackOut {
    /// The track type as MAME names it.
    pub fn kind(&self) -> &'static str {
        match self.mode {
            TrackMode::Audio | TrackMode::Cdg => "AUDIO",
            TrackMode::Mode1_2048 => "MODE1",
            TrackMode::Mode1_2352 => "MODE1_RAW",
            TrackMode::Mode2_2048 => "MODE2_FORM1",
            TrackMode::Mode2_2324 => "MODE2_FORM2",
            TrackMode::Mode2_2336 | TrackMode::Cdi2336 => "MODE2",
            TrackMode::Mode2_2352 | TrackMode::Cdi2352 => "MODE2_RAW",
        }
    }

    /// Bytes of each frame taken from the source's sector (the rest up to 2352 is zeros).
    pub fn data_bytes(&self) -> u32 {
        match self.mode {
            TrackMode::Cdg => CD_SECTOR,
            m => m.sector_size().min(CD_SECTOR),
        }
    }

    /// Frames stored, padded to a multiple of 4.
    pub fn padded_frames(&self) -> u64 {
        self.frames.div_ceil(TRACK_PADDING).saturating_mul(TRACK_PADDING)
    }

    /// Its `CHT2` metadata text, as chdman writes it (a pregap that is not stored has the type `MODE1`).
    pub fn metadata(&self) -> String {
        let kind = self.kind();
        let sub = if self.subchannel || self.mode == TrackMode::Cdg { "RW_RAW" } else { "NONE" };
        let pgtype = if self.pregap_stored { format!("V{kind}") } else { "MODE1".into() };
        // A subchannel is said of the pregap only when it is stored (chdman says `PGSUB:NONE` of a TOC track's
        // `RW_RAW` without one).
        let pgsub = if self.mode == TrackMode::Cdg || (self.pregap_stored && self.pregap > 0) { sub } else { "NONE" };
        format!(
            "TRACK:{} TYPE:{kind} SUBTYPE:{sub} FRAMES:{} PREGAP:{} PGTYPE:{pgtype} PGSUB:{pgsub} POSTGAP:{}",
            self.number, self.frames, self.pregap, self.postgap
        )
    }
}

/// What to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChdLayout {
    /// A CD of these tracks.
    Cd(Vec<CdTrackOut>),
    /// A DVD of this many bytes of 2048-byte sectors.
    Dvd(u64),
}

impl ChdLayout {
    /// Logical bytes: every track's padded frames, or the DVD's bytes.
    pub fn logical_bytes(&self) -> u64 {
        match self {
            ChdLayout::Cd(tracks) => tracks
                .iter()
                .map(CdTrackOut::padded_frames)
                .fold(0u64, u64::saturating_add)
                .saturating_mul(u64::from(CD_FRAME)),
            ChdLayout::Dvd(bytes) => *bytes,
        }
    }

    /// Hunk size written.
    pub fn hunk_bytes(&self) -> u32 {
        self.sizes().0
    }

    /// Bytes of a hunk and of a unit: 8 CD frames, or two DVD sectors of 2048 bytes (chdman's defaults).
    fn sizes(&self) -> (u32, u32) {
        match self {
            ChdLayout::Cd(_) => (8 * CD_FRAME, CD_FRAME),
            ChdLayout::Dvd(_) => (2 * 2048, 2048),
        }
    }
}

/// The CD layout of a raw disc: its tracks as they are stored, with their pregaps and postgaps. Sessions after
/// the first are laid after it as if in one session (a CHD has no sessions).
///
/// # Errors
/// [`Error::Unsupported`] for a disc of more than 99 tracks or a track of 0 frames.
pub fn cd_layout(disc: &RawDisc) -> Result<Vec<CdTrackOut>> {
    let tracks = disc.tracks();
    tracks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let stored_pregap = u64::try_from(t.start_lba.saturating_sub(t.first_lba)).unwrap_or(0);
            let unstored = u64::from(t.unstored_pregap);
            // A CHD's pregap is either stored or not: with both, the part not stored is generated and stored.
            let generated = if stored_pregap > 0 { unstored } else { 0 };
            Ok(CdTrackOut {
                number: u8::try_from(i.saturating_add(1))
                    .ok()
                    .filter(|&n| n <= 99)
                    .ok_or_else(|| Error::Unsupported { what: "a CHD of more than 99 tracks".into() })?,
                mode: t.mode,
                frames: t.stored.saturating_add(generated),
                pregap: stored_pregap.saturating_add(unstored),
                pregap_stored: stored_pregap > 0,
                postgap: u64::from(t.postgap),
                subchannel: disc.has_subchannel(i),
                generated,
            })
        })
        .collect()
}

/// Reads a raw disc's frames in the order a CD CHD stores them: each track's stored sectors (audio samples
/// swapped to big-endian), 96 bytes of subchannel (the source's in its raw interleaved form, from a CloneCD `.sub`
/// or from the bytes after each sector, or zeros), then empty frames up to a multiple of 4.
#[derive(Debug)]
pub struct CdFrames<'a> {
    disc: &'a mut RawDisc,
    tracks: Vec<CdTrackOut>,
    track: usize,
    frame: u64,
    partial: Vec<u8>,
}

impl<'a> CdFrames<'a> {
    /// A reader from the first frame of `disc`, laid out as `tracks` (from [`cd_layout`]).
    pub fn new(disc: &'a mut RawDisc, tracks: Vec<CdTrackOut>) -> CdFrames<'a> {
        CdFrames { disc, tracks, track: 0, frame: 0, partial: Vec::new() }
    }

    /// Frames read so far.
    pub fn frames_done(&self) -> u64 {
        self.tracks.iter().take(self.track).map(CdTrackOut::padded_frames).sum::<u64>().saturating_add(self.frame)
    }

    /// Writes the next frame into `out` (2448 bytes).
    fn next_frame(&mut self, out: &mut [u8]) -> Result<()> {
        out.fill(0);
        let Some(t) = self.tracks.get(self.track) else {
            return Err(Error::InvalidArgument("read past the last CD frame".into()));
        };
        let (frames, padded, data, sub, mode) = (t.frames, t.padded_frames(), t.data_bytes(), t.subchannel, t.mode);
        let generated = t.generated;
        if self.frame < generated {
            let dt =
                self.disc.tracks().get(self.track).cloned().ok_or_else(|| Error::InvalidArgument("track".into()))?;
            let before = i64::try_from(generated.saturating_sub(self.frame)).unwrap_or(0);
            let lba = dt.first_lba.saturating_sub(before);
            let kind = match mode {
                TrackMode::Mode1_2352 => Some(1),
                TrackMode::Mode2_2352 | TrackMode::Cdi2352 => Some(2),
                _ => None,
            };
            if let Some(kind) = kind {
                let s = self.disc.image_sector(lba, kind)?;
                if let Some(d) = out.get_mut(..s.len()) {
                    d.copy_from_slice(&s);
                }
            }
        } else if self.frame < frames {
            let dt =
                self.disc.tracks().get(self.track).cloned().ok_or_else(|| Error::InvalidArgument("track".into()))?;
            let lba = dt.first_lba.saturating_add(i64::try_from(self.frame.saturating_sub(generated)).unwrap_or(0));
            let size = usize::try_from(dt.sector_size()).unwrap_or(0);
            let mut sector = vec![0u8; size];
            self.disc.read_stored(self.track, lba, &mut sector)?;
            let n = usize::try_from(data).unwrap_or(0).min(size);
            if let (Some(d), Some(s)) = (out.get_mut(..n), sector.get(..n)) {
                d.copy_from_slice(s);
            }
            // A CHD stores audio big-endian: a BIN's little-endian samples are swapped, a TOC's big-endian ones not.
            let motorola = self.disc.files().get(dt.file).is_some_and(|f| f.file_type == FileType::Motorola);
            if matches!(mode, TrackMode::Audio | TrackMode::Cdg) && !motorola {
                if let Some(d) = out.get_mut(..CD_SECTOR as usize) {
                    for pair in d.chunks_exact_mut(2) {
                        pair.swap(0, 1);
                    }
                }
            }
            if mode == TrackMode::Cdg {
                if let (Some(d), Some(s)) = (out.get_mut(CD_SECTOR as usize..), sector.get(CD_SECTOR as usize..)) {
                    let k = d.len().min(s.len());
                    d.get_mut(..k).unwrap_or_default().copy_from_slice(s.get(..k).unwrap_or_default());
                }
            } else if sub {
                // Stored raw (interleaved), as chdman stores a cdrdao TOC's `RW_RAW`; a CloneCD `.sub` is converted.
                if let (Some(raw), Some(d)) =
                    (self.disc.read_subchannel(self.track, lba)?, out.get_mut(CD_SECTOR as usize..))
                {
                    d.copy_from_slice(&raw);
                }
            }
        }
        self.frame = self.frame.saturating_add(1);
        if self.frame >= padded {
            self.track = self.track.saturating_add(1);
            self.frame = 0;
        }
        Ok(())
    }

    /// Fills `buf` with the next bytes of the CHD's logical stream (a hunk, or the end of the last one).
    ///
    /// # Errors
    /// The source's read errors; [`Error::InvalidArgument`] past the last frame.
    pub fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        let frame_len = CD_FRAME as usize;
        let mut done = 0usize;
        // A frame split across two calls (only when a hunk is not whole frames) is kept in `partial`.
        while done < buf.len() {
            if self.partial.is_empty() {
                let mut f = vec![0u8; frame_len];
                self.next_frame(&mut f)?;
                self.partial = f;
            }
            let k = self.partial.len().min(buf.len().saturating_sub(done));
            let dst = buf.get_mut(done..done.saturating_add(k)).unwrap_or_default();
            dst.copy_from_slice(self.partial.get(..k).unwrap_or_default());
            self.partial.drain(..k);
            done = done.saturating_add(k);
        }
        Ok(())
    }
}

/// The compressed hunks of a batch not yet written, and the first one to write next.
struct Ready {
    next: usize,
    done: Vec<Option<Compressed>>,
}

/// Puts compressed hunk `i` of the batch among the ready ones, then writes every ready hunk from the next to
/// write on, in order.
fn write_ready<W: Write + Seek>(
    ready: &Mutex<Ready>,
    writer: &Mutex<V5Writer<W>>,
    i: usize,
    hunk: io::Result<Compressed>,
) -> io::Result<()> {
    let hunk = hunk?;
    let poisoned = || io::Error::other("a thread writing the CHD failed");
    let mut r = ready.lock().map_err(|_| poisoned())?;
    if let Some(slot) = r.done.get_mut(i) {
        *slot = Some(hunk);
    }
    let mut w = None;
    loop {
        let at = r.next;
        let Some(h) = r.done.get_mut(at).and_then(Option::take) else { break };
        let w = match &mut w {
            Some(w) => w,
            None => w.insert(writer.lock().map_err(|_| poisoned())?),
        };
        w.write_hunk(h)?;
        r.next = at.saturating_add(1);
    }
    Ok(())
}

/// What [`write_chd`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteSummary {
    /// Hunks written.
    pub hunks: u64,
    /// Logical bytes.
    pub logical_bytes: u64,
    /// Bytes of compressed hunk data stored.
    pub stored_bytes: u64,
}

/// Writes a CHD of `layout` to `out` (a new, empty file), its logical bytes taken from `fill` (called once per
/// hunk, in order, with the hunk's buffer: the last one may be shorter), compressing on `threads` threads.
/// `path` names the output in messages. Returns the output and a summary. `out` is written from its start in
/// order, then the header over its first 124 bytes.
///
/// # Errors
/// `fill`'s errors; [`Error::Io`] naming `path` when writing or compressing fails.
pub fn write_chd<W, E, F>(
    out: W,
    path: &Path,
    layout: &ChdLayout,
    threads: usize,
    mut fill: F,
) -> std::result::Result<(W, WriteSummary), E>
where
    W: Write + Seek + Send,
    E: From<Error>,
    F: FnMut(&mut [u8]) -> std::result::Result<(), E>,
{
    let path = path.to_path_buf();
    let fail = |source: io::Error| -> E { E::from(Error::Io { path: path.clone(), source }) };
    let logical = layout.logical_bytes();
    let (hunk_bytes32, unit_bytes) = layout.sizes();
    let hunk_bytes = u64::from(hunk_bytes32);
    let hunks = logical.div_ceil(hunk_bytes.max(1));
    let (media, meta) = match layout {
        ChdLayout::Cd(tracks) => {
            let mut meta = Vec::with_capacity(tracks.len());
            for t in tracks {
                let text = t.metadata();
                if text.contains('\0') {
                    return Err(E::from(Error::InvalidArgument("track metadata with a NUL byte".into())));
                }
                let mut bytes = text.into_bytes();
                bytes.push(0);
                meta.push((*b"CHT2", bytes));
            }
            (Media::Cd, meta)
        }
        ChdLayout::Dvd(_) => (Media::Dvd, vec![(*b"DVD ", vec![0u8])]),
    };
    let w = V5Writer::new(out, media, hunk_bytes32, unit_bytes, logical, meta).map_err(fail)?;
    let threads = threads.clamp(1, 64);
    let mut compressors = (0..threads).map(|_| w.compressor()).collect::<io::Result<Vec<_>>>().map_err(fail)?;
    let batch = threads.saturating_mul(HUNKS_PER_THREAD) as u64;
    let hb = usize::try_from(hunk_bytes).unwrap_or(0);
    let mut raw_sha1 = Sha1::new();
    let mut read_batch = |from: u64| -> std::result::Result<Vec<Vec<u8>>, E> {
        let to = from.saturating_add(batch).min(hunks);
        (from..to)
            .map(|n| {
                let mut buf = vec![0u8; hb];
                let left = logical.saturating_sub(n.saturating_mul(hunk_bytes));
                let valid = usize::try_from(left.min(hunk_bytes)).unwrap_or(hb);
                let bytes = buf.get_mut(..valid).unwrap_or_default();
                fill(bytes)?;
                raw_sha1.update(&*bytes);
                Ok(buf)
            })
            .collect()
    };
    let mut current = read_batch(0)?;
    let mut next_from = current.len() as u64;
    let writer = Mutex::new(w);
    while !current.is_empty() {
        let cursor = AtomicUsize::new(0);
        // Compressed hunks wait here until those before them are written; whichever thread completes the next
        // hunk to write writes it and every one after it that is ready, so writing overlaps compressing.
        let ready = Mutex::new(Ready { next: 0, done: current.iter().map(|_| None).collect() });
        let failed: Mutex<Option<io::Error>> = Mutex::new(None);
        let (panicked, next) = std::thread::scope(|s| {
            let (cur, cursor, ready, failed, writer) = (&current, &cursor, &ready, &failed, &writer);
            let workers: Vec<_> = compressors
                .iter_mut()
                .map(|c| {
                    s.spawn(move || loop {
                        let i = cursor.fetch_add(1, Ordering::Relaxed);
                        let Some(h) = cur.get(i) else { break };
                        if failed.lock().map_or(true, |f| f.is_some()) {
                            break;
                        }
                        let r = c.compress(h);
                        if let Err(e) = write_ready(ready, writer, i, r) {
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    })
                })
                .collect();
            let next = if next_from < hunks { read_batch(next_from) } else { Ok(Vec::new()) };
            // Every thread is joined: one that panicked and was not joined would make the scope panic.
            let joined: Vec<bool> = workers.into_iter().map(|h| h.join().is_err()).collect();
            let panicked = joined.contains(&true);
            (panicked, next)
        });
        if panicked {
            return Err(fail(io::Error::other("a thread compressing the CHD failed")));
        }
        if let Some(e) = failed.into_inner().ok().flatten() {
            return Err(fail(e));
        }
        if ready.lock().map_or(true, |r| r.next != current.len()) {
            return Err(fail(io::Error::other("a hunk of the CHD was not written")));
        }
        drop(ready);
        current = next?;
        next_from = next_from.saturating_add(current.len() as u64);
    }
    let w = writer.into_inner().map_err(|_| fail(io::Error::other("a thread writing the CHD failed")))?;
    let stored = w.bytes_stored();
    let out = w.finish(raw_sha1.finalize().into()).map_err(fail)?;
    Ok((out, WriteSummary { hunks, logical_bytes: logical, stored_bytes: stored }))
}

/// The codecs `chdman createcd` uses by default, which [`write_chd`] writes a CD with.
pub const CD_CODECS: [CodecType; 3] = [CodecType::LzmaCdV5, CodecType::ZLibCdV5, CodecType::FlacCdV5];

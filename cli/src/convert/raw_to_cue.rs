//! Any raw disc (CUE/BIN, CloneCD, NRG, MDS/MDF, CDI, GDI, cdrdao TOC) to one BIN of 2352-byte sectors and its CUE
//! sheet: data sectors written whole (sync, header, EDC and ECC rebuilt where the source stores only user data),
//! audio as little-endian samples, subchannel left out; pregaps the source stores kept as `INDEX 00`, gaps it does
//! not store written as `PREGAP`, sessions as `REM SESSION`.
//!
//! A CUE sheet cannot place a session anywhere: the reader puts it after the previous session's lead-out and its
//! own lead-in. When the source's sessions lie elsewhere (or its tracks overlap gaps a sheet cannot express), the
//! sheet written is read back and every track whose INDEX 01 moved is named in a warning.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use odix_cdrip::cue::{CueSheet, FileType, Frames, Index, Track, TrackMode};
use odix_cdrip::image::{RawDisc, FIRST_LEADOUT, LATER_LEADOUT, LEADIN};

/// The mode a track gets in the sheet: every sector 2352 bytes.
fn raw_mode(mode: TrackMode) -> TrackMode {
    match mode {
        TrackMode::Audio | TrackMode::Cdg => TrackMode::Audio,
        TrackMode::Mode1_2048 | TrackMode::Mode1_2352 => TrackMode::Mode1_2352,
        TrackMode::Cdi2336 | TrackMode::Cdi2352 => TrackMode::Cdi2352,
        _ => TrackMode::Mode2_2352,
    }
}

/// What [`write_bin_cue`] wrote.
pub(crate) struct BinCue {
    /// Sectors written to the BIN.
    pub sectors: u64,
    /// The CUE sheet's text.
    pub cue: Vec<u8>,
    /// Tracks whose place the sheet could not keep.
    pub warnings: Vec<String>,
}

/// Writes every stored sector of `disc` to `w` as 2352 bytes and returns the CUE sheet describing them as the
/// file `bin_name` (`cue_path` names the sheet in messages). `step(done, total)` is called every 256 sectors (to
/// report progress and stop when cancelled).
pub(crate) fn write_bin_cue(
    disc: &mut RawDisc,
    w: &mut dyn Write,
    bin_name: &str,
    cue_path: &Path,
    step: &mut dyn FnMut(u64, u64) -> Result<()>,
) -> Result<BinCue> {
    let tracks = disc.tracks().to_vec();
    let total: u64 = tracks.iter().map(|t| t.stored).sum();
    step(0, total)?;
    let mut cue_tracks = Vec::new();
    let mut done = 0u64;
    let mut prev_end: Option<(i64, u32)> = None; // end LBA (postgap included) and session of the previous track
    let mut warnings = Vec::new();
    for (ti, t) in tracks.iter().enumerate() {
        let mut ct = Track::new(t.number, raw_mode(t.mode));
        ct.session = t.session;
        let file_frames = u32::try_from(done).context("too many sectors")?;
        // Sectors on the disc before this track's first stored one that the sheet must declare as PREGAP.
        let gap = match prev_end {
            None => i64::from(t.unstored_pregap),
            Some((end, s)) if s != t.session => {
                let leadout = if s == 1 { FIRST_LEADOUT } else { LATER_LEADOUT };
                t.first_lba - end - leadout - LEADIN
            }
            Some((end, _)) => t.first_lba - end,
        };
        let first_of_later_session = prev_end.is_some_and(|(_, s)| s != t.session);
        if gap > 0 || first_of_later_session {
            ct.pregap = Some(Frames(u32::try_from(gap.max(0)).unwrap_or(0)));
        }
        if t.start_lba > t.first_lba {
            ct.indexes.push(Index { number: 0, position: Frames(file_frames) });
        }
        let index1 = file_frames + u32::try_from(t.start_lba - t.first_lba).unwrap_or(0);
        ct.indexes.push(Index { number: 1, position: Frames(index1) });
        if t.postgap > 0 {
            ct.postgap = Some(Frames(t.postgap));
        }
        let swap = disc.files().get(t.file).is_some_and(|f| f.file_type == FileType::Motorola);
        let mut audio = vec![0u8; t.sector_size() as usize];
        for lba in t.first_lba..t.end_lba() {
            if t.mode.is_data() {
                let s = disc.read_raw(ti, lba)?;
                w.write_all(&s).context("writing the BIN")?;
            } else {
                disc.read_stored(ti, lba, &mut audio)?;
                let a = &mut audio[..2352];
                if swap {
                    a.chunks_exact_mut(2).for_each(|c| c.swap(0, 1));
                }
                w.write_all(a).context("writing the BIN")?;
            }
            done += 1;
            if done.is_multiple_of(256) {
                step(done, total)?;
            }
        }
        prev_end = Some((t.end_lba() + i64::from(t.postgap), t.session));
        cue_tracks.push(ct);
    }
    step(done, total)?;
    let sheet = CueSheet {
        files: vec![odix_cdrip::cue::File {
            name: bin_name.to_string(),
            file_type: FileType::Binary,
            tracks: cue_tracks,
            line: 0,
        }],
        ..CueSheet::default()
    };
    let mut text = Vec::new();
    sheet.write_to(&mut text).context("writing the CUE sheet")?;
    // Read the sheet back as it will be read, and say where the layout could not be kept.
    let reread = CueSheet::parse(&String::from_utf8_lossy(&text), cue_path)?;
    let starts = {
        let mut lba = 0i64;
        let mut session = 0u32;
        let mut out = Vec::new();
        let sheet_tracks = reread.files.first().map(|f| f.tracks.as_slice()).unwrap_or_default();
        for (t, c) in tracks.iter().zip(sheet_tracks) {
            if c.session != session && session != 0 {
                lba += if session == 1 { FIRST_LEADOUT } else { LATER_LEADOUT } + LEADIN;
            }
            session = c.session;
            lba += i64::from(c.pregap.map_or(0, |p| p.0));
            let first = lba;
            lba += i64::try_from(t.stored).unwrap_or(0) + i64::from(c.postgap.map_or(0, |p| p.0));
            out.push(first + (t.start_lba - t.first_lba));
        }
        out
    };
    let shift = starts.first().copied().unwrap_or(0);
    for (t, s) in tracks.iter().zip(starts) {
        if s - shift != t.start_lba {
            let w = format!(
                "{}: track {:02} starts at LBA {} in the CUE sheet instead of {} (a sheet cannot place it there)",
                cue_path.display(),
                t.number,
                s - shift,
                t.start_lba
            );
            warnings.push(w);
        }
    }
    Ok(BinCue { sectors: done, cue: text, warnings })
}

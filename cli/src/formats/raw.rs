//! Adapter for raw disc images (CUE sheets, CloneCD) through odix-cdrip: the cooked 2048-byte view the
//! file-system readers use, the session to read, and the track list `odix info` shows.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use odix_cdrip::cue::CueSheet;
use odix_cdrip::image::{RawDisc, SheetKind};

use super::{InfoSection, ReadOptions};
use crate::source::{ImageSource, Source, SourceOptions};

/// Whether `disc` has no data track at all while no session was asked for: an audio CD, whose track list
/// `info` still shows, and in which the readers find no file system.
fn audio_only(disc: &RawDisc, opts: &SourceOptions) -> bool {
    opts.session.is_none() && !disc.tracks().iter().any(|t| t.mode.is_data())
}

/// The disc a raw image describes: its CUE sheet or CloneCD file, or for a bare BIN of raw data sectors the one
/// data track the sheet it lacks would name (`MODE1/2352` or `MODE2/2352` as its first sector's header says).
pub fn disc(src: &ImageSource) -> Result<RawDisc> {
    let path = src.path();
    let Some(mode) = src.bare_bin_mode() else { return Ok(RawDisc::open(path)?) };
    let name = path.file_name().and_then(|n| n.to_str()).filter(|n| !n.contains('"'));
    let Some(name) = name else {
        bail!(
            "{}: raw 2352-byte sectors without a cue sheet, under a name a sheet cannot hold: pass a .cue",
            path.display()
        )
    };
    let sheet = format!("FILE \"{name}\" BINARY\n  TRACK 01 MODE{mode}/2352\n    INDEX 01 00:00:00\n");
    let sheet = CueSheet::parse(&sheet, path)?;
    Ok(RawDisc::from_cue(path, sheet)?)
}

/// A reader of the cooked 2048-byte sectors of the raw image `src`, LBAs counted from the disc start (empty for an
/// audio CD).
pub fn open_cooked(src: &ImageSource) -> Result<Source> {
    let (disc, opts) = (disc(src)?, src.options());
    if audio_only(&disc, opts) {
        return Ok(Box::new(std::io::Cursor::new(Vec::new())));
    }
    disc.choose_session(opts.session)?;
    Ok(Box::new(disc.cooked_reader()))
}

/// The LBA where the chosen session starts (0 for an audio CD).
pub fn session_start(src: &ImageSource) -> Result<u64> {
    let (disc, opts) = (disc(src)?, src.options());
    if audio_only(&disc, opts) {
        return Ok(0);
    }
    Ok(u64::try_from(disc.session_start(opts.session)?).unwrap_or(0))
}

/// What a track is, in a word: `audio` or `data`.
fn track_type(disc: &RawDisc, i: usize) -> &'static str {
    match disc.tracks().get(i) {
        Some(t) if t.mode.is_data() => "data",
        _ => "audio",
    }
}

/// The track list.
pub fn info(src: &ImageSource, _opts: &ReadOptions) -> Result<Vec<InfoSection>> {
    let disc = disc(src)?;
    let chosen = disc.choose_session(src.options().session).ok();
    let format = match disc.kind() {
        SheetKind::Cue => "cue",
        SheetKind::CloneCd => "clonecd",
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Raw image: {} ({} session{}{})",
        match (format, src.bare_bin_mode()) {
            (_, Some(_)) => "raw 2352-byte sectors without a sheet, read by their sync patterns",
            ("cue", None) => "CUE sheet",
            _ => "CloneCD",
        },
        disc.session_count(),
        if disc.session_count() == 1 { "" } else { "s" },
        chosen.map(|s| format!(", reading session {s}")).unwrap_or_default()
    );
    let _ = writeln!(text, "Track  Session  Type   Mode        Start LBA  Pregap  Sectors  File");
    let mut tracks = Vec::new();
    for (i, t) in disc.tracks().iter().enumerate() {
        let file = disc.files().get(t.file).map(|f| f.path.display().to_string()).unwrap_or_default();
        let pregap = t.start_lba.saturating_sub(t.first_lba).saturating_add(i64::from(t.unstored_pregap));
        let length = t.end_lba().saturating_sub(t.start_lba);
        let _ = writeln!(
            text,
            "{:>5}  {:>7}  {:<5}  {:<10}  {:>9}  {:>6}  {:>7}  {}",
            t.number,
            t.session,
            track_type(&disc, i),
            t.mode.as_str(),
            t.start_lba,
            pregap,
            length,
            file
        );
        tracks.push(serde_json::json!({
            "number": t.number,
            "session": t.session,
            "type": track_type(&disc, i),
            "mode": t.mode.as_str(),
            "start_lba": t.start_lba,
            "pregap": pregap,
            "sectors": length,
            "file": file,
            "file_offset": t.file_offset,
        }));
    }
    if let Some(sub) = disc.subchannel() {
        let _ = writeln!(text, "Subchannel: {}", sub.display());
    }
    let json = serde_json::json!({
        "format": if src.bare_bin_mode().is_some() { "bin" } else { format },
        "sessions": disc.session_count(),
        "session_read": chosen,
        "tracks": tracks,
    });
    Ok(vec![InfoSection { key: "tracks", json, text }])
}

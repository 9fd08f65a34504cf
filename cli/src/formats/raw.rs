//! Adapter for raw disc images (CUE sheets, CloneCD) through odix-cdrip: the cooked 2048-byte view the
//! file-system readers use, the session to read, and the track list `odix info` shows.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use odix_cdrip::image::{RawDisc, SheetKind};

use super::{InfoSection, ReadOptions};
use crate::source::{ImageSource, Source, SourceOptions};

/// Whether `disc` has no data track at all while no session was asked for: an audio CD, whose track list
/// `info` still shows, and in which the readers find no file system.
fn audio_only(disc: &RawDisc, opts: &SourceOptions) -> bool {
    opts.session.is_none() && !disc.tracks().iter().any(|t| t.mode.is_data())
}

/// A reader of the cooked 2048-byte sectors of the disc described by `path`, LBAs counted from the disc start
/// (empty for an audio CD).
pub fn open_cooked(path: &Path, opts: &SourceOptions) -> Result<Source> {
    let disc = RawDisc::open(path)?;
    if audio_only(&disc, opts) {
        return Ok(Box::new(std::io::Cursor::new(Vec::new())));
    }
    disc.choose_session(opts.session)?;
    Ok(Box::new(disc.cooked_reader()))
}

/// The LBA where the chosen session starts (0 for an audio CD).
pub fn session_start(path: &Path, opts: &SourceOptions) -> Result<u64> {
    let disc = RawDisc::open(path)?;
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
    let disc = RawDisc::open(src.path())?;
    let chosen = disc.choose_session(src.options().session).ok();
    let format = match disc.kind() {
        SheetKind::Cue => "cue",
        SheetKind::CloneCd => "clonecd",
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Raw image: {} ({} session{}{})",
        if format == "cue" { "CUE sheet" } else { "CloneCD" },
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
        "format": format,
        "sessions": disc.session_count(),
        "session_read": chosen,
        "tracks": tracks,
    });
    Ok(vec![InfoSection { key: "tracks", json, text }])
}

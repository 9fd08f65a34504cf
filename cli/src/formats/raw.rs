//! Adapter for raw disc images (CUE sheets, CloneCD) through odix-cdrip: the track list `odix info` shows (the
//! cooked 2048-byte view and the session to read are [`crate::source`]'s).

use std::fmt::Write as _;

use anyhow::Result;
use odix_cdrip::image::RawDisc;

use super::options::{InfoSection, ReadOptions};
use crate::source::ImageSource;

/// What a track is, in a word: `audio` or `data`.
fn track_type(disc: &RawDisc, i: usize) -> &'static str {
    match disc.tracks().get(i) {
        Some(t) if t.mode.is_data() => "data",
        _ => "audio",
    }
}

/// The track list (none when `src` is not a raw image).
pub(crate) fn info(src: &ImageSource, _opts: &ReadOptions) -> Result<Vec<InfoSection>> {
    let Some(disc) = src.raw_disc() else { return Ok(Vec::new()) };
    let chosen = disc.choose_session(src.options().session).ok();
    let format = disc.kind().name();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Raw image: {} ({} session{}{})",
        match (format, src.bare_bin_mode()) {
            (_, Some(_)) => "raw 2352-byte sectors without a sheet, read by their sync patterns",
            ("cue", None) => "CUE sheet",
            ("nrg", None) => "Nero (NRG)",
            ("mds", None) => "Alcohol 120% (MDS/MDF)",
            ("cdi", None) => "DiscJuggler (CDI)",
            ("gdi", None) => "GD-ROM (GDI); session 2 is the high-density area",
            ("toc", None) => "cdrdao TOC",
            ("chd", None) => "MAME CHD",
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

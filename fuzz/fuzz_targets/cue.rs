//! CUE sheets: the parser, the write-back (which must parse again to the same sheet), and the disc layout and
//! sector reads over a small BIN file. FILE names are resolved in a private folder holding `disc.bin` (40
//! raw sectors); sheets naming anything else, or any path with a separator, stop after parsing so the target
//! never opens host files.
#![no_main]

use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::cue::CueSheet;
use odix_cdrip::image::{RawDisc, SectorAt};

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("odix-fuzz-cue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz folder");
        let mut raw = vec![0u8; 2352 * 40];
        for s in raw.chunks_mut(2352) {
            s[1..11].fill(0xFF);
            s[15] = 1;
        }
        std::fs::write(dir.join("disc.bin"), raw).expect("disc.bin");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sheet_path = folder().join("fuzz.cue");
    let Ok(sheet) = CueSheet::parse(text, &sheet_path) else { return };
    for (_, t) in sheet.tracks() {
        let _ = (t.index(1), t.file_start(), t.mode.sector_size(), t.mode.is_data());
    }
    let again = sheet.to_text();
    let reparsed = CueSheet::parse(&again, &sheet_path).expect("a written sheet parses again");
    assert_eq!(layout(&reparsed), layout(&sheet), "CUE files/tracks changed in a write/parse round trip");
    if !sheet.files.iter().all(|f| f.name == "disc.bin") {
        return;
    }
    let Ok(disc) = RawDisc::from_cue(&sheet_path, sheet) else { return };
    drive(disc);
});

/// What a sheet says about the disc, without line numbers: file names and types, track numbers, modes,
/// sessions, gaps and indexes.
fn layout(sheet: &CueSheet) -> Vec<String> {
    let mut out = Vec::new();
    for f in &sheet.files {
        out.push(format!("FILE {:?} {}", f.name, f.file_type.as_str()));
        for t in &f.tracks {
            let idx: Vec<(u8, u32)> = t.indexes.iter().map(|i| (i.number, i.position.0)).collect();
            out.push(format!(
                "TRACK {} {} s{} pre{:?} post{:?} {idx:?}",
                t.number,
                t.mode.as_str(),
                t.session,
                t.pregap.map(|f| f.0),
                t.postgap.map(|f| f.0)
            ));
        }
    }
    out
}

/// Exercises a laid-out disc: sessions, sector lookup, raw and cooked reads.
fn drive(mut disc: RawDisc) {
    let _ = (disc.session_count(), disc.files().len(), disc.kind());
    for s in [None, Some(0), Some(1), Some(2), Some(u32::MAX)] {
        let _ = disc.choose_session(s);
        let _ = disc.session_start(s);
    }
    let tracks = disc.tracks().to_vec();
    for t in &tracks {
        for lba in [t.first_lba, t.start_lba, t.start_lba.saturating_add(1), t.first_lba.saturating_sub(1)] {
            if let SectorAt::Stored { track } = disc.locate(lba) {
                let _ = disc.read_raw(track, lba);
                let mut user = [0u8; 2048];
                let _ = disc.read_user(track, lba, &mut user);
            }
        }
    }
    let _ = disc.locate(i64::MIN);
    let _ = disc.locate(i64::MAX);
    let mut cooked = disc.cooked_reader();
    let _ = std::io::copy(&mut (&mut cooked).take(64 * 2048), &mut std::io::sink());
}

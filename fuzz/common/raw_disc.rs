//! What the fuzz targets of the raw image formats with their own readers (NRG, MDS, CDI, GDI, cdrdao TOC) share:
//! the input written as the format's file beside small data files its description may name (`fuzz.bin`,
//! `fuzz.mdf`, `fuzz.md0`, `fuzz.raw`: 40 raw Mode 1 sectors; `fuzz.iso`: 40 user-data sectors; `fuzz.wav`: a
//! WAVE file of 20 sectors of silence); then the disc is laid out,
//! sessions chosen, sectors looked up and read, and its cooked data read as for any raw image.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use odix_cdrip::image::{RawDisc, SectorAt};

/// The folder of this process's inputs and data files, made once.
fn folder(format: &str) -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("odix-fuzz-{format}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz folder");
        let mut raw = vec![0u8; 2352 * 40];
        for s in raw.chunks_mut(2352) {
            s[1..11].fill(0xFF);
            s[15] = 1;
        }
        for name in ["fuzz.bin", "fuzz.mdf", "fuzz.md0", "fuzz.raw"] {
            std::fs::write(dir.join(name), &raw).expect("fuzz data file");
        }
        std::fs::write(dir.join("fuzz.iso"), vec![0u8; 2048 * 40]).expect("fuzz.iso");
        let pcm = 2352u32 * 20;
        let mut wav = b"RIFF".to_vec();
        wav.extend((36 + pcm).to_le_bytes());
        wav.extend(b"WAVEfmt ");
        for v in [16u32, 0x0002_0001, 44_100, 44_100 * 4, 0x0010_0004] {
            wav.extend(v.to_le_bytes());
        }
        wav.extend(b"data");
        wav.extend(pcm.to_le_bytes());
        wav.resize(wav.len() + pcm as usize, 0);
        std::fs::write(dir.join("fuzz.wav"), wav).expect("fuzz.wav");
        dir
    })
}

/// Writes `data` as `fuzz.EXT` and reads it through `open`.
pub fn exercise(ext: &str, data: &[u8], open: fn(&Path) -> odix_cdrip::Result<RawDisc>) {
    let path = folder(ext).join(format!("fuzz.{ext}"));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(disc) = open(&path) {
        exercise_disc(disc);
    }
}

/// Session starts, sector lookups and raw reads at each track's edges, and the first cooked sectors of `disc`.
pub fn exercise_disc(mut disc: RawDisc) {
    let _ = (disc.session_count(), disc.files().len());
    for s in [None, Some(1), Some(2), Some(u32::MAX)] {
        let _ = disc.session_start(s);
    }
    let tracks = disc.tracks().to_vec();
    for t in &tracks {
        for lba in [t.first_lba, t.start_lba, t.start_lba.saturating_add(1)] {
            if let SectorAt::Stored { track } = disc.locate(lba) {
                let _ = disc.read_raw(track, lba);
            }
        }
    }
    let mut cooked = disc.cooked_reader();
    let _ = std::io::copy(&mut (&mut cooked).take(64 * 2048), &mut std::io::sink());
}

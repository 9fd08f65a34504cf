//! cdrdao TOC files: the input written as a `.toc` beside small data files (`fuzz.bin`, `fuzz.iso`); then the disc is laid out and
//! sectors are looked up and read as for any raw image.
#![no_main]

use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::image::SectorAt;

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("odix-fuzz-toc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz folder");
        let mut raw = vec![0u8; 2352 * 40];
        for s in raw.chunks_mut(2352) {
            s[1..11].fill(0xFF);
            s[15] = 1;
        }
        for name in ["fuzz.bin", "fuzz.mdf", "fuzz.raw"] {
            std::fs::write(dir.join(name), &raw).expect("fuzz data file");
        }
        std::fs::write(dir.join("fuzz.iso"), vec![0u8; 2048 * 40]).expect("fuzz.iso");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = folder().join("fuzz.toc");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(mut disc) = odix_cdrip::toc::open(&path) else { return };
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
});

//! CloneCD control files: the parser and the disc layout over a small `.img` beside the `.ccd` (40 raw
//! sectors), then sector lookups and reads.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::ccd::CcdFile;
use odix_cdrip::image::RawDisc;

#[path = "../common/raw_disc.rs"]
#[allow(dead_code)]
mod raw_disc;

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("odix-fuzz-ccd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz folder");
        let mut raw = vec![0u8; 2352 * 40];
        for s in raw.chunks_mut(2352) {
            s[1..11].fill(0xFF);
            s[15] = 1;
        }
        std::fs::write(dir.join("fuzz.img"), raw).expect("fuzz.img");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = folder().join("fuzz.ccd");
    let Ok(ccd) = CcdFile::parse(text, &path) else { return };
    let Ok(disc) = RawDisc::from_ccd(&path, ccd) else { return };
    raw_disc::exercise_disc(disc);
});

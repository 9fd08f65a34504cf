//! Audio files a CUE sheet names as WAVE: the WAVE and FLAC stores (headers, chunks, metadata blocks, frames) opened
//! on the input and read at a few places, in and out of order.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::audiofile::open_store;

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("odix-fuzz-audio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz folder");
        dir.join("fuzz.wav")
    })
}

fuzz_target!(|data: &[u8]| {
    let p = path();
    if std::fs::write(p, data).is_err() {
        return;
    }
    let Ok(store) = open_store(p) else { return };
    let len = store.len();
    let mut buf = vec![0u8; 2352];
    for off in [0, len / 2, len.saturating_sub(2352), 0, len.saturating_sub(1), len] {
        let n = usize::try_from(len.saturating_sub(off)).unwrap_or(2352).min(2352);
        let _ = store.read_at(off, &mut buf[..n]);
    }
});

//! MAME CHD: the header, map and metadata checks, the CD track layout and the hunk decoders, on a CHD file
//! written to a private folder. A CD is read a few sectors at its tracks' edges, a DVD at its start and end.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::chd::{ChdFile, ChdMedia};
use odix_cdrip::store::ByteStore;

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("odix-fuzz-chd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz folder");
        dir.join("fuzz.chd")
    })
}

fuzz_target!(|data: &[u8]| {
    let p = path();
    std::fs::write(p, data).expect("write the input");
    let Ok(chd) = ChdFile::open(p) else { return };
    match chd.info().media.clone() {
        ChdMedia::Dvd => {
            let store = chd.into_store();
            let mut buf = [0u8; 2048];
            let _ = store.read_at(0, &mut buf);
            let _ = store.read_at(store.len().saturating_sub(2048), &mut buf);
        }
        ChdMedia::Cd(_) => {
            let Ok(mut disc) = chd.into_disc() else { return };
            let tracks = disc.tracks().to_vec();
            for (i, t) in tracks.iter().enumerate() {
                let mut buf = vec![0u8; t.sector_size() as usize];
                for lba in [t.first_lba, t.start_lba, t.end_lba() - 1] {
                    let _ = disc.read_stored(i, lba, &mut buf);
                }
            }
        }
    }
});

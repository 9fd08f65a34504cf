//! CSO, ZSO and DAX files: the stores opened on arbitrary bytes (header, index entries out of range or decreasing,
//! blocks or frames that do not decode or expand past their size), the first blocks and a few offsets read; and
//! the writer for each CSO/ZSO format, whose output must read back as its input.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::cso::{compress, CompressOptions, CsoFormat, CsoStore};
use odix_cdrip::dax::DaxStore;
use odix_cdrip::store::ByteStore;

#[path = "../common/mem_store.rs"]
mod mem_store;
use mem_store::Mem;

/// The first 256 KiB in order, then single bytes here and there: bounded work whatever the header says.
fn read_some(store: &dyn ByteStore) {
    let len = store.len();
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    while pos < len.min(256 << 10) {
        let n = usize::try_from((len - pos).min(buf.len() as u64)).unwrap_or(0);
        if store.read_at(pos, &mut buf[..n]).is_err() {
            break;
        }
        pos += n as u64;
    }
    for off in [len / 2, len.saturating_sub(1), len, u64::MAX] {
        let _ = store.read_at(off, &mut buf[..1]);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = CsoStore::from_source(Path::new("fuzz"), Box::new(Mem(data.to_vec()))) {
        read_some(&store);
    }
    if let Ok(store) = DaxStore::from_source(Path::new("fuzz"), Box::new(Mem(data.to_vec()))) {
        read_some(&store);
    }
    for format in [CsoFormat::CsoV1, CsoFormat::CsoV2, CsoFormat::Zso] {
        let threads = 1;
        let opts =
            CompressOptions { format, block_size: 2048, threads, min_index_shift: data.first().map_or(0, |b| b % 4) };
        let mut out = std::io::Cursor::new(Vec::new());
        compress(data, data.len() as u64, &mut out, &opts, &mut |_| Ok(())).expect("compressing into memory");
        let store =
            CsoStore::from_source(Path::new("fuzz"), Box::new(Mem(out.into_inner()))).expect("a written file opens");
        let mut back = vec![0u8; data.len()];
        store.read_at(0, &mut back).expect("a written file reads");
        assert!(back == data, "{} round trip differs", format.name());
    }
});

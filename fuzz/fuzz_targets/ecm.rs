//! ECM files: the store opened on arbitrary bytes (record headers, counts that lie, a missing end mark or EDC),
//! every decoded byte read in order and at a few offsets, the EDC check; and the encoder, whose output must decode
//! to its input byte for byte.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::ecm::{encode, EcmStore};
use odix_cdrip::store::ByteStore;

#[path = "../common/mem_store.rs"]
mod mem_store;
use mem_store::Mem;

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = EcmStore::from_source(Path::new("fuzz"), Box::new(Mem(data.to_vec()))) {
        let len = store.len();
        let _ = store.check();
        let mut buf = vec![0u8; 3000];
        for off in [0, len / 3, len.saturating_sub(10), len.saturating_sub(1), len, u64::MAX - 5] {
            let n = usize::try_from(len.saturating_sub(off).min(3000)).unwrap_or(0);
            let _ = store.read_at(off, &mut buf[..n.max(1)]);
        }
    }
    // The encoder: what it writes decodes to the input.
    let mut out = Vec::new();
    let report = encode(data, &mut out).expect("encoding into memory");
    assert_eq!(report.input_len, data.len() as u64);
    let store = EcmStore::from_source(Path::new("fuzz"), Box::new(Mem(out))).expect("an encoded file opens");
    let mut back = Vec::new();
    store.decode_to(&mut back, &mut |_| Ok(())).expect("an encoded file decodes");
    assert!(back == data, "ECM round trip differs");
});

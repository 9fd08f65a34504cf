//! ECM files: the store opened on arbitrary bytes (record headers, counts that lie, a missing end mark or EDC),
//! every decoded byte read in order and at a few offsets, the EDC check; and the encoder, whose output must decode
//! to its input byte for byte.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::ecm::{encode, EcmStore};
use odix_cdrip::store::ByteStore;

fn file() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| std::env::temp_dir().join(format!("odix-fuzz-ecm-{}.ecm", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let p = file();
    std::fs::write(p, data).expect("fuzz file");
    if let Ok(store) = EcmStore::open(p) {
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
    std::fs::write(p, &out).expect("fuzz file");
    let store = EcmStore::open(p).expect("an encoded file opens");
    let mut back = Vec::new();
    store.decode_to(&mut back, &mut |_| Ok(())).expect("an encoded file decodes");
    assert!(back == data, "ECM round trip differs");
});

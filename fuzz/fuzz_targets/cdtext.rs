//! CD-Text as READ TOC format 5 returns it: any bytes must parse or give an error, never panic, and what parses
//! holds no more strings than the packs could carry. A second pass fixes every pack's CRC first, so the checks
//! after the CRC (sequence numbers, size information, character positions) are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_cdrip::cdtext::{pack_crc, parse, PACK_LEN};

fuzz_target!(|data: &[u8]| {
    for fix in [false, true] {
        let mut answer = data.to_vec();
        if fix {
            for p in answer.get_mut(4..).unwrap_or_default().chunks_exact_mut(PACK_LEN) {
                let crc = pack_crc(p);
                p[16..18].copy_from_slice(&crc.to_be_bytes());
            }
        }
        if let Ok(t) = parse(&answer) {
            let strings: usize = t.blocks.values().flat_map(|b| b.texts.values()).map(|m| m.len()).sum();
            assert!(strings <= t.packs * 12);
            assert!(t.bad_crc.len() <= t.packs);
        }
    }
});

//! The El Torito boot catalog (El Torito 1.0: validation entry, default entry, section headers and entries,
//! extensions) and the hybrid system area (MBR, GPT header and entries, Apple partition map): the first byte
//! picks the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_iso9660::format::{el_torito, hybrid};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, b)) = input.split_first() else { return };
    match selector % 3 {
        0 => {
            if let Ok(cat) = el_torito::BootCatalog::parse(b, 1024) {
                let _ = format!("{cat:?}");
            }
            for &x in b.iter().take(4) {
                let _ = (el_torito::platform_name(x), el_torito::emulation_name(x));
            }
        }
        1 => {
            let _ = hybrid::parse_mbr(b);
            if let Some(h) = hybrid::parse_gpt_header(b) {
                let _ = hybrid::parse_gpt_entries(b, &h);
            }
        }
        _ => drop(hybrid::parse_apm(b, 64)),
    }
});

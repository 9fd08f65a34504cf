//! ISO 9660 volume descriptors (ECMA-119 8), path tables (9.4) and both-endian fields (7.2.3, 7.3.3): the first
//! byte picks the parser, the rest is its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_iso9660::format::{both_endian, joliet, path_table, volume_descriptor::VolumeDescriptor};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, b)) = input.split_first() else { return };
    match selector % 4 {
        0 => drop(VolumeDescriptor::parse(b)),
        1 => drop(path_table::parse(b, path_table::Order::Little, 4096)),
        2 => drop(path_table::parse(b, path_table::Order::Big, 4096)),
        _ => {
            for off in 0..b.len().min(16) {
                let _ = both_endian::both16(b, off);
                let _ = both_endian::both32(b, off);
            }
            let _ = joliet::level_from_escape_sequences(b);
        }
    }
});

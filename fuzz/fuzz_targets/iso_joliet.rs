//! Joliet names (UCS-2 big-endian, any byte length, unpaired surrogates) and the identifier decoders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_iso9660::format::{identifier_text, joliet};

fuzz_target!(|b: &[u8]| {
    let _ = joliet::decode_ucs2_be(b);
    let _ = joliet::identifier_text(b);
    let _ = joliet::level_from_escape_sequences(b);
    let _ = identifier_text(b);
});

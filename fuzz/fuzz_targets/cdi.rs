//! DiscJuggler images: the footer and the descriptor of the input written as a `.cdi`; then the disc is laid out and
//! sectors are looked up and read as for any raw image.
#![no_main]

#[path = "../common/raw_disc.rs"]
mod raw_disc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| raw_disc::exercise("cdi", data, odix_cdrip::cdi::open));

//! Nero images: the footer, the chunk chain and the track layout, read from the input written as an `.nrg`; then the disc is laid out and
//! sectors are looked up and read as for any raw image.
#![no_main]

#[path = "../common/raw_disc.rs"]
mod raw_disc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| raw_disc::exercise("nrg", data, odix_cdrip::nrg::open));

//! GD-ROM descriptions: the input written as a `.gdi` beside small track files (`fuzz.bin`, `fuzz.raw`); then the disc is laid out and
//! sectors are looked up and read as for any raw image.
#![no_main]

#[path = "../common/raw_disc.rs"]
mod raw_disc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| raw_disc::exercise("gdi", data, odix_cdrip::gdi::open));

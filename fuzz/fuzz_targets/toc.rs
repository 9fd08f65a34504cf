//! cdrdao TOC files: the input written as a `.toc` beside small data files (`fuzz.bin`, `fuzz.iso`); then the disc is laid out and
//! sectors are looked up and read as for any raw image.
#![no_main]

#[path = "../common/raw_disc.rs"]
mod raw_disc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| raw_disc::exercise("toc", data, odix_cdrip::toc::open));

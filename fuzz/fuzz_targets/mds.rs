//! Alcohol 120% descriptors: the input written as an `.mds` whose `*.mdf` is a small file of 40 raw sectors; then the disc is laid out and
//! sectors are looked up and read as for any raw image.
#![no_main]

#[path = "../common/raw_disc.rs"]
mod raw_disc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| raw_disc::exercise("mds", data, odix_cdrip::mds::open));

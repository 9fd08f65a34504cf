//! UDF ICBs and allocation descriptors (ECMA-167 4/14.6–14.9, 4/14.14–14.16): File Entries and Extended File
//! Entries, indirect entries, ICB tags, short/long/extended allocation descriptor lists, allocation extent
//! descriptors, and symbolic-link path components. The first byte picks the structure.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_udf::format::{ad, file_entry, path};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, b)) = input.split_first() else { return };
    match selector % 8 {
        0 => drop(file_entry::FileEntry::parse(b)),
        1 => drop(file_entry::IndirectEntry::parse(b)),
        2 => drop(file_entry::IcbTag::parse(b)),
        3 => drop(ad::parse_list(ad::AdForm::Short, b, u16::from(selector))),
        4 => drop(ad::parse_list(ad::AdForm::Long, b, 0)),
        5 => drop(ad::parse_list(ad::AdForm::Extended, b, 0)),
        6 => {
            let _ = ad::AllocationExtentDescriptor::parse(b);
            let _ = ad::LongAd::parse(b);
            let _ = ad::LbAddr::parse(b);
            let _ = ad::ExtentAd::parse(b);
        }
        _ => {
            if let Ok(comps) = path::parse_all(b) {
                let _ = path::to_posix(&comps);
            }
        }
    }
});

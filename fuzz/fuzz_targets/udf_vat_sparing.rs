//! UDF partition tables: the Virtual Allocation Table (UDF 2.00+ and 1.50 forms, UDF 2.01 2.2.11) and the
//! sparing table (2.2.12). The first byte picks the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_udf::format::partition::{SparingTable, VirtualAllocationTable};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, b)) = input.split_first() else { return };
    match selector % 3 {
        0 => drop(VirtualAllocationTable::parse(b)),
        1 => drop(VirtualAllocationTable::parse_150(b)),
        _ => drop(SparingTable::parse(b)),
    }
});

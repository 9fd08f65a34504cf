//! A UDF directory's data as a sequence of File Identifier Descriptors (ECMA-167 4/14.4), parsed one after the
//! other as the reader does, names decoded from CS0.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_udf::format::{cs0, fid::FileIdentifierDescriptor};

fuzz_target!(|b: &[u8]| {
    let mut rest = b;
    while !rest.is_empty() {
        let Ok((fid, used)) = FileIdentifierDescriptor::parse(rest) else { return };
        let _ = (cs0::decode(&fid.identifier), fid.name(), fid.len());
        if used == 0 || used > rest.len() {
            return;
        }
        rest = &rest[used..];
    }
});

//! ISO 9660 directory records (ECMA-119 9.1) and their System Use areas: SUSP entries (SUSP 1.12: SP, CE, ER,
//! ES, PD, ST) and Rock Ridge (RRIP 1.12: PX, PN, SL, NM, CL, PL, RE, TF, SF) and ZF, gathered as the reader
//! does. The input is a run of directory records as a directory extent holds them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_iso9660::format::directory_record::DirectoryRecord;
use odix_iso9660::format::rrip::RockRidge;
use odix_iso9660::format::susp::{self, Continuation, ExtensionReference, SharingProtocol};

fuzz_target!(|b: &[u8]| {
    let mut rest = b;
    while !rest.is_empty() {
        let Ok(rec) = DirectoryRecord::parse(rest) else {
            // A zero length byte pads to the next sector; anything else ends the run.
            match rest.iter().position(|&x| x != 0) {
                Some(n) if n > 0 => {
                    rest = &rest[n..];
                    continue;
                }
                _ => return,
            }
        };
        let _ = (rec.is_dir(), rec.is_multi_extent(), rec.is_dot_or_dotdot());
        let mut rr = RockRidge::default();
        for entry in susp::entries(&rec.system_use).flatten() {
            match &entry.signature {
                b"CE" => drop(Continuation::parse(entry.data)),
                b"SP" => drop(SharingProtocol::parse(entry.data)),
                b"ER" => drop(ExtensionReference::parse(entry.data).map(|e| e.rock_ridge_version())),
                _ => {}
            }
            let _ = rr.apply(&entry);
        }
        let used = usize::from(rec.length).max(1);
        rest = rest.get(used..).unwrap_or(&[]);
    }
});

//! AccurateRip's drive offset list (`DriveOffsets.bin`): any bytes parse into at most one entry per 69-byte record
//! or give an error, never panic; a lookup in what parsed never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_cdrip::offsets::{find, parse, RECORD_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = parse(data) {
        assert_eq!(list.len(), data.len() / RECORD_LEN);
        let _ = find(&list, "PLEXTOR", "DVDR   PX-716A");
        if let Some(first) = list.first() {
            let (v, m) = first.name.split_once(" - ").unwrap_or(("", &first.name));
            assert!(find(&list, v, m).is_some() || v.is_empty());
        }
    }
});

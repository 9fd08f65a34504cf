//! The ddrescue mapfile parser (`Mapfile::parse`) and the map operations a resumed rip performs on what it
//! parsed: lookups, updates, totals, and writing it back (which must parse again to the same map).
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_cdrip::map::{BlockStatus, Mapfile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut map) = Mapfile::parse(text) else { return };
    let (start, end) = (map.start(), map.end());
    let _ = map.totals();
    for &st in &BlockStatus::ALL {
        let _ = map.next_with(start, st);
        let _ = map.prev_with(end, st);
    }
    let _ = map.status_at(start);
    let _ = map.status_at(end.saturating_sub(1));
    let _ = map.status_at(u64::MAX);
    let mut out = Vec::new();
    map.write_to(&mut out, &[]).expect("writing to a Vec cannot fail");
    let again =
        Mapfile::parse(std::str::from_utf8(&out).expect("a written map is UTF-8")).expect("a written map parses again");
    assert_eq!(again.blocks(), map.blocks(), "map changed in a write/parse round trip");
    // A few updates at positions taken from the map itself, including its far end.
    let mid = start.saturating_add(end.saturating_sub(start) / 2);
    map.set(mid, 4096, BlockStatus::BadSector);
    map.set(end.saturating_sub(1), u64::MAX, BlockStatus::Finished);
    map.set(0, 1, BlockStatus::NonTrimmed);
    let _ = map.totals();
});

//! The Q subchannel summary a rip keeps beside its map between runs (`QSummary::from_text`): read, written again,
//! read back the same, and merged with itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_cdrip::subq::QSummary;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(q) = QSummary::from_text(text) else { return };
    let again = QSummary::from_text(&q.to_text()).expect("what to_text writes reads back");
    assert_eq!(again, q);
    let mut both = q.clone();
    both.merge(&q);
    assert_eq!(both.tracks.len(), q.tracks.len());
});

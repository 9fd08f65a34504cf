//! CTDB responses (the XML of a lookup): the streaming parser, then the matching of a rip against the entries
//! (discs of one to four audio tracks, so that entries of any length can fit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_cdrip::audio::{ctdb, Toc, TocTrack, TrackSums};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(response) = ctdb::parse(text) else { return };
    let first = response.entries.first().and_then(|e| e.track_crcs.first()).copied().unwrap_or(0);
    for n in 1..=4u8 {
        let tracks = (1..=n).map(|i| TocTrack::audio(i, u32::from(i - 1) * 1000)).collect();
        let Ok(toc) = Toc::new(tracks, u32::from(n) * 1000) else { continue };
        let sums: Vec<(u8, TrackSums)> = (1..=n)
            .map(|i| {
                let c = if i == 1 { first } else { first ^ u32::from(i) };
                let s = TrackSums {
                    samples: 0,
                    accuraterip_v1: 0,
                    accuraterip_v2: 0,
                    crc32: 0,
                    crc32_nonsilent: 0,
                    ctdb_crc: c,
                };
                (i, s)
            })
            .collect();
        if let Ok(results) = ctdb::verify(&response, &toc, &sums) {
            assert_eq!(results.len(), usize::from(n));
        }
        if let Some(crc) = ctdb::disc_crc(&toc, &sums) {
            let d = ctdb::verify_disc(&response, &toc, crc);
            assert!(d.entries <= response.entries.len());
        }
    }
});

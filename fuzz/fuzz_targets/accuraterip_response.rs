//! AccurateRip responses (`dBAR-….bin`): the parser, then the matching of a rip against the chunks, their disc ids
//! set to the TOC's so that every entry is compared (an audio disc, a mixed-mode and an enhanced CD).
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_cdrip::audio::{accuraterip, Toc, TocTrack, TrackSums};

fn tocs() -> Vec<Toc> {
    let a = TocTrack::audio;
    [
        Toc::new(vec![a(1, 0), a(2, 1000), a(3, 2500)], 4000),
        Toc::new(vec![TocTrack::data(1, 0, 1), a(2, 3000), a(3, 5000)], 7000),
        Toc::new(vec![a(1, 0), a(2, 1000), TocTrack::data(3, 13_400, 2)], 15_000),
    ]
    .into_iter()
    .filter_map(Result::ok)
    .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut response) = accuraterip::parse(data) else { return };
    let first = response.chunks.first().and_then(|c| c.entries.first()).map_or(0, |e| e.crc);
    for toc in tocs() {
        let _ = accuraterip::verify(&response, &toc, &[]);
        let Some(id) = toc.accuraterip_id() else { continue };
        for c in &mut response.chunks {
            c.id = id;
        }
        let sums: Vec<(u8, TrackSums)> = toc
            .tracks()
            .iter()
            .map(|t| {
                let s = TrackSums {
                    samples: 0,
                    accuraterip_v1: first,
                    accuraterip_v2: first.rotate_left(u32::from(t.number)),
                    crc32: 0,
                    crc32_nonsilent: 0,
                    ctdb_crc: 0,
                };
                (t.number, s)
            })
            .collect();
        if let Ok(results) = accuraterip::verify(&response, &toc, &sums) {
            assert!(results.len() <= sums.len());
        }
    }
});

//! Logiqx XML DATs: the parser on arbitrary bytes (malformed XML, sizes and hashes that are not numbers, roms
//! outside games), and the matcher on what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_cdrip::dat::{match_tracks, parse};
use odix_cdrip::hash::Hashes;

fuzz_target!(|data: &[u8]| {
    let Ok(dat) = parse(data) else { return };
    let h = |size: u64, c: &str| Hashes { size, crc32: c.repeat(8), md5: c.repeat(32), sha1: c.repeat(40) };
    let _ = match_tracks(&dat, &[]);
    let _ = match_tracks(&dat, &[(1, h(2352, "0")), (2, h(4, "a"))]);
    for g in dat.games.iter().take(50) {
        let tracks: Vec<(u8, Hashes)> = g
            .tracks()
            .enumerate()
            .map(|(i, r)| {
                let mut x = h(r.size.unwrap_or(0), "0");
                if let Some(s) = &r.sha1 {
                    x.sha1 = s.clone();
                }
                (u8::try_from(i + 1).unwrap_or(99), x)
            })
            .collect();
        let _ = match_tracks(&dat, &tracks);
    }
});

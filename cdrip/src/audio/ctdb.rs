//! CUETools database (CTDB) responses and matching a rip against them.
//!
//! A lookup answers with an XML document whose root `<ctdb>` holds one `<entry>` per group of submissions:
//!
//! ```xml
//! <ctdb xmlns="http://db.cuetools.net/ns/mmd-1.0#">
//!   <entry confidence="8" crc32="5457b143" id="3117474" npar="8" stride="5880"
//!          toc="0:16032:32072:47282:62810" trackcrcs="97217ee6 dc8a2af2 338369b1 2eac339c" />
//! </ctdb>
//! ```
//!
//! `trackcrcs` lists each audio track's CTDB CRC (see [`super::checksum`]); `confidence` counts the submissions.
//! Other elements (`<metadata>` …) and attributes are ignored. Elements are found by local name whatever their
//! namespace.

use super::toc::Toc;
use super::{Error, TrackSums};

/// Largest response read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// Most entries kept.
pub const MAX_ENTRIES: usize = 10_000;

/// One `<entry>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its `id`, as given.
    pub id: String,
    /// How many submissions agree on it.
    pub confidence: u32,
    /// The CTDB CRC of the whole disc (`crc32`), when given.
    pub crc32: Option<u32>,
    /// The TOC it was submitted with (`toc`), when given.
    pub toc: Option<String>,
    /// Each audio track's CTDB CRC.
    pub track_crcs: Vec<u32>,
}

/// A parsed response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Its entries, in order.
    pub entries: Vec<Entry>,
}

fn hex32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// The attributes of an `<entry>` odix reads.
#[derive(Default)]
struct Attributes {
    id: String,
    confidence: Option<String>,
    crc32: Option<String>,
    toc: Option<String>,
    trackcrcs: Option<String>,
}

/// Parses a response. The document is read as a stream (no tree is built, however deep it nests).
///
/// # Errors
/// [`Error::Ctdb`] for an oversized or malformed document (with its byte position), a document type declaration,
/// a root that is not `<ctdb>`, more than [`MAX_ENTRIES`] entries, an entry without `trackcrcs` or `confidence`,
/// a CRC that is not 8 hex digits, more than 99 track CRCs.
pub fn parse(text: &str) -> Result<Response, Error> {
    use quick_xml::events::{BytesStart, Event};
    let err = |m: String| Err(Error::Ctdb(m));
    if text.len() > MAX_RESPONSE_BYTES {
        return err(format!("{} bytes, more than the {MAX_RESPONSE_BYTES} a response can have", text.len()));
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut entries = Vec::new();
    let attributes = |e: &BytesStart<'_>| -> Result<Attributes, String> {
        let mut a = Attributes::default();
        for attr in e.attributes() {
            let attr = attr.map_err(|x| format!("bad attribute: {x}"))?;
            let value = attr.unescape_value().map_err(|x| format!("bad attribute value: {x}"))?.into_owned();
            match attr.key.local_name().as_ref() {
                b"id" => a.id = value.chars().take(64).collect(),
                b"confidence" => a.confidence = Some(value),
                b"crc32" => a.crc32 = Some(value),
                b"toc" => a.toc = Some(value.chars().take(1024).collect()),
                b"trackcrcs" => a.trackcrcs = Some(value),
                _ => {}
            }
        }
        Ok(a)
    };
    loop {
        let at = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => return err(format!("not well-formed XML near byte {}: {e}", reader.error_position())),
        };
        let (element, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                (None, false)
            }
            Event::DocType(_) => {
                return err(format!("a document type declaration at byte {at}, which odix does not read"))
            }
            Event::Eof => break,
            _ => (None, false),
        };
        let Some(e) = element else { continue };
        if depth == 0 {
            if root_seen {
                return err(format!("a second root element at byte {at}"));
            }
            root_seen = true;
            if e.local_name().as_ref() != b"ctdb" {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).chars().take(40).collect::<String>();
                return err(format!("the root element is <{name}>, not <ctdb>"));
            }
        } else if depth == 1 && e.local_name().as_ref() == b"entry" {
            let no = entries.len().saturating_add(1);
            if no > MAX_ENTRIES {
                return err(format!("more than {MAX_ENTRIES} entries"));
            }
            let a = match attributes(e) {
                Ok(a) => a,
                Err(m) => return err(format!("entry {no} at byte {at}: {m}")),
            };
            entries.push(entry(no, a)?);
        }
        if !empty {
            depth = depth.saturating_add(1);
        }
    }
    if !root_seen {
        return err("no <ctdb> element (empty document)".into());
    }
    if depth > 0 {
        return err(format!("cut short: {depth} elements not closed"));
    }
    Ok(Response { entries })
}

/// Checks and converts one entry's attributes.
fn entry(no: usize, a: Attributes) -> Result<Entry, Error> {
    let err = |m: String| Err(Error::Ctdb(m));
    let id = a.id;
    let Some(conf) = a.confidence else {
        return err(format!("entry {no} (id {id:?}) has no confidence"));
    };
    let Ok(confidence) = conf.trim().parse::<u32>() else {
        return err(format!("entry {no} (id {id:?}): confidence {:?} is not a number", truncate(&conf)));
    };
    let Some(crcs) = a.trackcrcs else {
        return err(format!("entry {no} (id {id:?}) has no trackcrcs"));
    };
    let mut track_crcs = Vec::new();
    for w in crcs.split_ascii_whitespace() {
        if track_crcs.len() >= 99 {
            return err(format!("entry {no} (id {id:?}): more than 99 track CRCs"));
        }
        let Some(c) = hex32(w) else {
            return err(format!("entry {no} (id {id:?}): track CRC {:?} is not 8 hex digits", truncate(w)));
        };
        track_crcs.push(c);
    }
    if track_crcs.is_empty() {
        return err(format!("entry {no} (id {id:?}): trackcrcs is empty"));
    }
    let crc32 = match a.crc32 {
        Some(c) => match hex32(c.trim()) {
            Some(v) => Some(v),
            None => return err(format!("entry {no} (id {id:?}): crc32 {:?} is not 8 hex digits", truncate(&c))),
        },
        None => None,
    };
    Ok(Entry { id, confidence, crc32, toc: a.toc, track_crcs })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// How one track of a rip compares with a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackResult {
    /// The track's number on the disc.
    pub track: u8,
    /// Its CTDB CRC.
    pub crc: u32,
    /// Summed confidence of the entries whose CRC for the track equals it; `None` when none does.
    pub confidence: Option<u32>,
    /// Summed confidence of every entry with as many tracks as the disc has audio tracks.
    pub total_confidence: u32,
}

impl TrackResult {
    /// Whether an entry has the track's CRC.
    pub fn matched(&self) -> bool {
        self.confidence.is_some()
    }
}

/// Compares a rip's tracks with a response. `sums` holds the checksums of audio tracks, by track number. Only
/// entries with one CRC per audio track of the disc count.
///
/// # Errors
/// [`Error::Ctdb`] when no entry has as many track CRCs as the disc has audio tracks.
pub fn verify(response: &Response, toc: &Toc, sums: &[(u8, TrackSums)]) -> Result<Vec<TrackResult>, Error> {
    let audio: Vec<u8> = toc.audio_tracks().map(|t| t.number).collect();
    let fitting: Vec<&Entry> = response.entries.iter().filter(|e| e.track_crcs.len() == audio.len()).collect();
    if fitting.is_empty() {
        let counts: Vec<String> = response.entries.iter().map(|e| e.track_crcs.len().to_string()).collect();
        return Err(Error::Ctdb(format!(
            "no entry for a disc of {} audio tracks (entries have {} tracks)",
            audio.len(),
            if counts.is_empty() { "no".to_string() } else { counts.join(", ") }
        )));
    }
    let total = fitting.iter().fold(0u32, |t, e| t.saturating_add(e.confidence));
    let mut out = Vec::new();
    for (number, s) in sums {
        let Some(slot) = audio.iter().position(|n| n == number) else { continue };
        let mut r = TrackResult { track: *number, crc: s.ctdb_crc, confidence: None, total_confidence: total };
        for e in &fitting {
            if e.track_crcs.get(slot) == Some(&s.ctdb_crc) {
                r.confidence = Some(r.confidence.unwrap_or(0).saturating_add(e.confidence));
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// The CTDB CRC of the whole disc, the `crc32` of an entry: the CRC-32 of the disc's audio from the first audio
/// track's `INDEX 01` to the audio lead-out, except its first 10 sectors (5880 samples) and its last
/// 5880 + (D mod 5880) samples, D being the disc's samples (so the rest is a whole number of 10-sector rows). It
/// covers what the track CRCs cover, one after the other, which is how it is put together from them (CRC-32
/// combination, no audio read again). `sums` must hold every audio track of `toc`, in any order.
///
/// `None` when a track is missing from `sums`, the disc is too short to leave anything (20 sectors or less), or
/// its first or last audio track is shorter than what is left out of it (which this sum of track CRCs cannot
/// express).
pub fn disc_crc(toc: &Toc, sums: &[(u8, TrackSums)]) -> Option<u32> {
    let mut disc = crc32fast::Hasher::new();
    let mut samples = 0u64;
    for t in toc.audio_tracks() {
        let (_, s) = sums.iter().find(|(n, _)| *n == t.number)?;
        let covered = toc.track_checksums(t.number)?.ctdb_samples();
        samples = samples.saturating_add(covered);
        let bytes = covered.saturating_mul(super::SAMPLE_BYTES as u64);
        disc.combine(&crc32fast::Hasher::new_with_initial_len(s.ctdb_crc, bytes));
    }
    // A first or last track shorter than what is left out of it would need the next track's samples left out too.
    let first = toc.audio_tracks().next()?.start;
    let d = u64::from(toc.audio_leadout().saturating_sub(first)).saturating_mul(u64::from(super::SAMPLES_PER_SECTOR));
    let row = 10 * u64::from(super::SAMPLES_PER_SECTOR);
    let whole = d.saturating_sub(row).saturating_sub(row.saturating_add(d.checked_rem(row).unwrap_or(0)));
    (samples > 0 && samples == whole).then(|| disc.finalize())
}

/// How the whole disc's CTDB CRC compares with a response's entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscResult {
    /// The disc's CTDB CRC ([`disc_crc`]).
    pub crc: u32,
    /// Summed confidence of the entries whose `crc32` equals it; `None` when none does.
    pub confidence: Option<u32>,
    /// Summed confidence of every entry for as many audio tracks as the disc has that gives a `crc32`.
    pub total_confidence: u32,
    /// How many such entries there are (0: the response gives no disc CRC to compare with).
    pub entries: usize,
}

impl DiscResult {
    /// Whether an entry has the disc's CRC.
    pub fn matched(&self) -> bool {
        self.confidence.is_some()
    }
}

/// Compares the disc's CTDB CRC `crc` with the `crc32` of the response's entries that have one CRC per audio track
/// of `toc` (those [`verify`] compares track by track).
pub fn verify_disc(response: &Response, toc: &Toc, crc: u32) -> DiscResult {
    let tracks = toc.audio_tracks().count();
    let mut r = DiscResult { crc, confidence: None, total_confidence: 0, entries: 0 };
    for e in response.entries.iter().filter(|e| e.track_crcs.len() == tracks) {
        let Some(c) = e.crc32 else { continue };
        r.entries = r.entries.saturating_add(1);
        r.total_confidence = r.total_confidence.saturating_add(e.confidence);
        if c == crc {
            r.confidence = Some(r.confidence.unwrap_or(0).saturating_add(e.confidence));
        }
    }
    r
}

/// One track's CTDB CRC for every read offset in `-range..=range`, in order: the CRC-32 of its samples `from..to`
/// (as [`crate::audio::TrackChecksums::ctdb_range`] gives them) read `offset` samples on. The first is computed
/// whole, each next one by rolling the CRC four bytes on (CRC-32 being linear, the byte leaving the window is taken
/// out by its contribution at the window's length), so the cost is the window plus a few operations an offset.
///
/// `audio` holds the track as a drive read it without correction, from `margin` samples before its first sample to
/// `margin` after its last, as for [`super::accuraterip::sums_by_offset`]; offsets whose window leaves `audio` are
/// left out (`range` above `margin` gives none of them).
pub fn crc_by_offset(audio: &[u8], margin: u32, (from, to): (u64, u64), range: u32) -> Vec<(i32, u32)> {
    let range = range.min(margin);
    let bytes = |samples: u64| usize::try_from(samples.saturating_mul(super::SAMPLE_BYTES as u64)).ok();
    let (Some(len), Some(start)) =
        (bytes(to.saturating_sub(from)), bytes(u64::from(margin.saturating_sub(range)).saturating_add(from)))
    else {
        return Vec::new();
    };
    let Some(first) = audio.get(start..start.saturating_add(len)) else { return Vec::new() };
    if len == 0 {
        return Vec::new();
    }
    // The CRC of `n` zero bytes, and that of one byte `b` followed by len − 1 zeros, less that of len zeros: what
    // the byte leaving the window adds to the window's CRC.
    let zeros = |n: usize| {
        let mut h = crc32fast::Hasher::new();
        let block = [0u8; 4096];
        let mut left = n;
        while left > 0 {
            let k = left.min(block.len());
            h.update(block.get(..k).unwrap_or_default());
            left = left.saturating_sub(k);
        }
        h.finalize()
    };
    let (z_len, z_rest) = (zeros(len), zeros(len.saturating_sub(1)));
    let leaving: Vec<u32> = (0..=255u8)
        .map(|b| {
            let mut h = crc32fast::Hasher::new();
            h.update(&[b]);
            h.combine(&crc32fast::Hasher::new_with_initial_len(z_rest, len.saturating_sub(1) as u64));
            h.finalize() ^ z_len
        })
        .collect();
    let hi = i32::try_from(range).unwrap_or(i32::MAX);
    let mut out = Vec::with_capacity((range as usize).saturating_mul(2).saturating_add(1));
    let mut crc = crc32fast::hash(first);
    let mut at = start;
    for offset in hi.saturating_neg()..=hi {
        out.push((offset, crc));
        if offset == hi {
            break;
        }
        for _ in 0..super::SAMPLE_BYTES {
            let (Some(&old), Some(&new)) = (audio.get(at), audio.get(at.saturating_add(len))) else {
                return out;
            };
            // Without its first byte the window is len − 1 bytes long: its CRC is then updated with the next one.
            let shorter = crc ^ leaving.get(usize::from(old)).copied().unwrap_or(0) ^ z_len ^ z_rest;
            let mut h = crc32fast::Hasher::new_with_initial(shorter);
            h.update(&[new]);
            crc = h.finalize();
            at = at.saturating_add(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::TocTrack;

    fn sums(c: u32) -> TrackSums {
        TrackSums { samples: 0, accuraterip_v1: 0, accuraterip_v2: 0, crc32: 0, crc32_nonsilent: 0, ctdb_crc: c }
    }

    #[test]
    fn entries_are_read_and_matched() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ctdb xmlns="http://db.cuetools.net/ns/mmd-1.0#" xmlns:ext="http://db.cuetools.net/ns/ext-1.0#">
  <entry confidence="8" crc32="5457b143" id="1" npar="8" stride="5880" toc="0:100:300" trackcrcs="97217ee6 dc8a2af2" />
  <entry confidence="2" id="2" trackcrcs="97217ee6 00000001" />
  <entry confidence="4" id="3" trackcrcs="97217ee6 00000001 00000002" />
  <metadata source="musicbrainz" artist="x"><track name="a"/></metadata>
</ctdb>"#;
        let r = parse(xml).unwrap();
        assert_eq!(r.entries.len(), 3);
        assert_eq!(r.entries[0].crc32, Some(0x5457b143));
        assert_eq!(r.entries[0].toc.as_deref(), Some("0:100:300"));
        let toc = Toc::new(vec![TocTrack::audio(1, 0), TocTrack::audio(2, 100)], 300).unwrap();
        let v = verify(&r, &toc, &[(1, sums(0x97217ee6)), (2, sums(0xdc8a2af2))]).unwrap();
        assert_eq!((v[0].confidence, v[0].total_confidence), (Some(10), 10));
        assert_eq!(v[1].confidence, Some(8));
        let v = verify(&r, &toc, &[(2, sums(5))]).unwrap();
        assert!(!v[0].matched());
        let one = Toc::new(vec![TocTrack::audio(1, 0)], 300).unwrap();
        assert!(verify(&r, &one, &[]).unwrap_err().to_string().contains("entries have 2, 2, 3 tracks"));
    }

    /// The disc CRC put together from the track CRCs equals the CRC-32 of the whole range computed at once.
    #[test]
    fn disc_crc_is_the_whole_range() {
        let sectors = [30u32, 7, 45];
        let total: u32 = sectors.iter().sum();
        let data: Vec<u8> = (0..total as usize * 2352).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let toc = Toc::new(vec![TocTrack::audio(1, 0), TocTrack::audio(2, 30), TocTrack::audio(3, 37)], total).unwrap();
        let mut sums = Vec::new();
        let mut at = 0usize;
        for (n, len) in [(1u8, 30usize), (2, 7), (3, 45)] {
            let mut c = toc.track_checksums(n).unwrap();
            c.update(&data[at * 2352..(at + len) * 2352]);
            sums.push((n, c.finish().unwrap()));
            at += len;
        }
        let d = u64::from(total) * 588;
        let (from, to) = (5880u64, d - 5880 - d % 5880);
        let want = crc32fast::hash(&data[from as usize * 4..to as usize * 4]);
        assert_eq!(disc_crc(&toc, &sums), Some(want));
        sums.pop();
        assert_eq!(disc_crc(&toc, &sums), None);
        // A last track of 7 sectors, shorter than the 10 left out of it.
        let short = Toc::new(vec![TocTrack::audio(1, 0), TocTrack::audio(2, 30)], 37).unwrap();
        let s2: Vec<(u8, TrackSums)> = (1..=2).map(|n| (n, sums[0].1)).collect();
        assert_eq!(disc_crc(&short, &s2), None);
        let xml = format!(
            "<ctdb><entry confidence=\"3\" crc32=\"{want:08x}\" trackcrcs=\"1 2 3\"/>\
             <entry confidence=\"2\" crc32=\"00000001\" trackcrcs=\"1 2 3\"/>\
             <entry confidence=\"9\" trackcrcs=\"1 2 3\"/>\
             <entry confidence=\"4\" crc32=\"{want:08x}\" trackcrcs=\"1 2\"/></ctdb>"
        );
        let r = verify_disc(&parse(&xml).unwrap(), &toc, want);
        assert_eq!((r.confidence, r.total_confidence, r.entries), (Some(3), 5, 2));
        assert!(!verify_disc(&parse(&xml).unwrap(), &toc, 7).matched());
    }

    /// The rolling CRCs equal the CRC-32 of each window computed whole.
    #[test]
    fn crc_by_offset_rolls_right() {
        let audio: Vec<u8> = (0..(9000u32 * 4)).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
        for (from, to) in [(0u64, 6000u64), (300, 5000), (0, 1)] {
            let got = crc_by_offset(&audio, 1000, (from, to), 50);
            assert_eq!(got.len(), 101);
            for (o, c) in got {
                let a = ((1000 + i64::from(o)) as u64 + from) as usize * 4;
                let b = ((1000 + i64::from(o)) as u64 + to) as usize * 4;
                assert_eq!(c, crc32fast::hash(&audio[a..b]), "offset {o} window {from}..{to}");
            }
        }
        assert!(crc_by_offset(&audio, 1000, (0, 9000), 5).is_empty());
    }

    #[test]
    fn hostile_responses_are_refused() {
        for (xml, says) in [
            ("", "empty document"),
            ("<ctdb><entry confidence=\"1\" trackcrcs=\"1\"></ctdb>", "not well-formed"),
            ("<ctdb><entry confidence=\"1\" trackcrcs=\"1\">", "cut short"),
            ("<ctdb/><ctdb/>", "second root"),
            ("<ctdb><entry confidence=\"1\" trackcrcs=\"1\" trackcrcs=\"1\"/></ctdb>", "entry 1"),
            ("<other/>", "not <ctdb>"),
            ("<ctdb><entry trackcrcs=\"01\"/></ctdb>", "no confidence"),
            ("<ctdb><entry confidence=\"x\" trackcrcs=\"01\"/></ctdb>", "not a number"),
            ("<ctdb><entry confidence=\"1\"/></ctdb>", "no trackcrcs"),
            ("<ctdb><entry confidence=\"1\" trackcrcs=\"\"/></ctdb>", "empty"),
            ("<ctdb><entry confidence=\"1\" trackcrcs=\"123456789\"/></ctdb>", "8 hex digits"),
            ("<ctdb><entry confidence=\"1\" trackcrcs=\"zz\"/></ctdb>", "8 hex digits"),
            ("<ctdb><entry confidence=\"1\" crc32=\"q\" trackcrcs=\"1\"/></ctdb>", "crc32"),
            ("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ctdb/>", "document type"),
        ] {
            let e = parse(xml).unwrap_err().to_string();
            assert!(e.contains(says), "{xml}: {e}");
        }
        let many = format!("<ctdb><entry confidence=\"1\" trackcrcs=\"{}\"/></ctdb>", "1 ".repeat(100));
        assert!(parse(&many).unwrap_err().to_string().contains("more than 99"));
        // Deep nesting is read as a stream: no recursion, a clear error.
        let deep = format!("<ctdb>{}</ctdb>", "<a>".repeat(300_000));
        assert!(parse(&deep).unwrap_err().to_string().contains("not well-formed"));
        let deep = format!("<ctdb>{}{}</ctdb>", "<a>".repeat(300_000), "</a>".repeat(300_000));
        assert_eq!(parse(&deep).unwrap().entries.len(), 0);
    }
}

//! The Q subchannel (ECMA-130 22.3): each sector's 12 Q bytes (CONTROL/ADR, 9 data bytes, CRC-16 stored
//! inverted), and what a rip gathers from them.
//!
//! - ADR 1, position: track number, index (0 pregap, 1 and up the track's index points), relative and absolute
//!   time, all BCD.
//! - ADR 2, the disc's catalogue number (MCN, UPC/EAN): thirteen BCD digits, then the absolute frame; at least
//!   once in 100 sectors where the disc has one.
//! - ADR 3, the track's ISRC: five 6-bit characters (country, owner: `0`–`9` as 00h–09h, `A`–`Z` as 11h–2Ah), two
//!   zero bits, seven BCD digits (year, serial), four zero bits, the absolute frame; at least once in 100 sectors
//!   of an audio track that has one.
//!
//! The CONTROL nibble: bit 0 pre-emphasis, bit 1 digital copy permitted, bit 2 data, bit 3 four channels.

use std::collections::BTreeMap;

/// CONTROL bit: audio recorded with pre-emphasis.
pub const CONTROL_PRE: u8 = 0x01;
/// CONTROL bit: digital copy permitted.
pub const CONTROL_DCP: u8 = 0x02;
/// CONTROL bit: four-channel audio.
pub const CONTROL_4CH: u8 = 0x08;

/// What one sector's Q holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Q {
    /// ADR 1.
    Position {
        /// CONTROL nibble.
        control: u8,
        /// Track number (1–99; AAh the lead-out).
        track: u8,
        /// Index.
        index: u8,
    },
    /// ADR 2: the MCN.
    Catalog {
        /// CONTROL nibble.
        control: u8,
        /// Thirteen digits.
        mcn: String,
    },
    /// ADR 3: the ISRC.
    Isrc {
        /// CONTROL nibble.
        control: u8,
        /// Twelve characters.
        isrc: String,
    },
}

fn bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0f);
    (hi < 10 && lo < 10).then(|| hi.wrapping_mul(10).wrapping_add(lo))
}

/// A byte as two BCD digits (values up to 99).
#[must_use]
pub fn to_bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

/// The 12 Q bytes from 96 raw P–W subchannel bytes (Q is bit 6 of each byte).
#[must_use]
pub fn deinterleave(raw: &[u8]) -> Option<[u8; 12]> {
    let bits = raw.get(..96)?;
    let mut q = [0u8; 12];
    for (byte, chunk) in q.iter_mut().zip(bits.chunks_exact(8)) {
        *byte = chunk.iter().fold(0u8, |acc, b| (acc << 1) | ((b >> 6) & 1));
    }
    Some(q)
}

/// Bytes of one sector's subchannel: eight channels, P to W, of 12 bytes each.
pub const SUB_BYTES: usize = 96;

/// A sector's subchannel from its raw form (each byte one bit of every channel, P in bit 7 down to W in bit 0:
/// as drives return it and NRG, MDS, cdrdao's `RW_RAW` and CHD's `RW_RAW` store it) to its channels one after
/// the other (12 bytes of P, then Q, ... W: as CloneCD's `.sub` stores it).
#[must_use]
pub fn raw_to_packed(raw: &[u8; SUB_BYTES]) -> [u8; SUB_BYTES] {
    let mut out = [0u8; SUB_BYTES];
    // Channel P is bit 7 of each raw byte, W bit 0; each 8 raw bytes make one byte of every channel.
    for (channel, shift) in out.chunks_exact_mut(12).zip((0..8u32).rev()) {
        for (o, chunk) in channel.iter_mut().zip(raw.chunks_exact(8)) {
            *o = chunk.iter().fold(0u8, |acc, b| (acc << 1) | ((b >> shift) & 1));
        }
    }
    out
}

/// The inverse of [`raw_to_packed`]: channels one after the other to the raw interleaved form.
#[must_use]
pub fn packed_to_raw(packed: &[u8; SUB_BYTES]) -> [u8; SUB_BYTES] {
    let mut out = [0u8; SUB_BYTES];
    for (channel, shift) in packed.chunks_exact(12).zip((0..8u32).rev()) {
        for (&p, chunk) in channel.iter().zip(out.chunks_exact_mut(8)) {
            for (o, bit) in chunk.iter_mut().zip((0..8u32).rev()) {
                *o |= ((p >> bit) & 1) << shift;
            }
        }
    }
    out
}

/// Puts the CRC into bytes 10–11 of `q`.
pub fn seal(q: &mut [u8; 12]) {
    let crc = !crate::disc::crc16(&q[..10]);
    q[10..12].copy_from_slice(&crc.to_be_bytes());
}

/// The 6-bit code of an ISRC character.
fn isrc_code(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c.wrapping_sub(b'0')),
        b'A'..=b'Z' => Some(c.wrapping_sub(b'A').wrapping_add(0x11)),
        _ => None,
    }
}

fn isrc_char(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0'.wrapping_add(code))),
        0x11..=0x2a => Some(char::from(b'A'.wrapping_add(code.wrapping_sub(0x11)))),
        _ => None,
    }
}

/// The Q of an MCN sector (ADR 2), CRC included; `None` unless `mcn` is 13 digits.
#[must_use]
pub fn encode_mcn(control: u8, mcn: &str, aframe: u8) -> Option<[u8; 12]> {
    let d: Vec<u8> = mcn.bytes().map(|c| c.checked_sub(b'0').filter(|d| *d < 10)).collect::<Option<_>>()?;
    if d.len() != 13 {
        return None;
    }
    let mut q = [0u8; 12];
    q[0] = (control << 4) | 2;
    for (i, digit) in d.iter().enumerate() {
        let byte = q.get_mut(1usize.saturating_add(i / 2))?;
        *byte |= if i % 2 == 0 { digit << 4 } else { *digit };
    }
    q[9] = to_bcd(aframe);
    seal(&mut q);
    Some(q)
}

/// The Q of an ISRC sector (ADR 3), CRC included; `None` unless `isrc` is 5 letters or digits then 7 digits.
#[must_use]
pub fn encode_isrc(control: u8, isrc: &str, aframe: u8) -> Option<[u8; 12]> {
    let b = isrc.as_bytes();
    if b.len() != 12 {
        return None;
    }
    let mut bits: u64 = 0;
    for &c in b.get(..5)? {
        bits = (bits << 6) | u64::from(isrc_code(c)?);
    }
    bits <<= 2;
    for &c in b.get(5..)? {
        bits = (bits << 4) | u64::from(c.checked_sub(b'0').filter(|d| *d < 10)?);
    }
    bits <<= 4;
    let mut q = [0u8; 12];
    q[0] = (control << 4) | 3;
    q[1..9].copy_from_slice(&bits.to_be_bytes());
    q[9] = to_bcd(aframe);
    seal(&mut q);
    Some(q)
}

/// Decodes 12 Q bytes; `None` when the CRC fails or the fields are not what their ADR says.
#[must_use]
pub fn decode(q: &[u8; 12]) -> Option<Q> {
    let (data, crc) = q.split_at(10);
    if !crate::disc::crc16(data) != u16::from_be_bytes([*crc.first()?, *crc.get(1)?]) {
        return None;
    }
    let control = q[0] >> 4;
    match q[0] & 0x0f {
        1 => Some(Q::Position { control, track: if q[1] == 0xaa { 0xaa } else { bcd(q[1])? }, index: bcd(q[2])? }),
        2 => {
            let mut mcn = String::with_capacity(13);
            for i in 0..13 {
                let b = *q.get(1usize.saturating_add(i / 2))?;
                let d = if i % 2 == 0 { b >> 4 } else { b & 0x0f };
                if d > 9 {
                    return None;
                }
                mcn.push(char::from(b'0'.wrapping_add(d)));
            }
            Some(Q::Catalog { control, mcn })
        }
        3 => {
            let bits = u64::from_be_bytes(q[1..9].try_into().ok()?);
            let mut isrc = String::with_capacity(12);
            for i in 0..5u32 {
                isrc.push(isrc_char(((bits >> 58u32.saturating_sub(6u32.saturating_mul(i))) & 0x3f) as u8)?);
            }
            for i in 0..7u32 {
                let d = ((bits >> 28u32.saturating_sub(4u32.saturating_mul(i))) & 0x0f) as u8;
                if d > 9 {
                    return None;
                }
                isrc.push(char::from(b'0'.wrapping_add(d)));
            }
            Some(Q::Isrc { control, isrc })
        }
        _ => None,
    }
}

/// What the Q subchannel of a rip's sectors says about the disc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QSummary {
    /// The MCN, when some sector carried one (the one most sectors carried).
    pub mcn: Option<String>,
    /// Per track: ISRC, index points and CONTROL.
    pub tracks: BTreeMap<u8, TrackQ>,
    /// Sectors whose Q was read, and those whose CRC failed.
    pub sectors: u64,
    /// Sectors whose Q CRC failed.
    pub bad: u64,
}

/// What the Q subchannel says about one track.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackQ {
    /// The ISRC most of its ISRC sectors carried.
    pub isrc: Option<String>,
    /// First LBA of each index seen (0: pregap).
    pub indexes: BTreeMap<u8, u32>,
    /// CONTROL bits seen in its position sectors (OR of all).
    pub control: u8,
}

/// Gathers [`QSummary`] from sectors' Q, in any order.
#[derive(Debug, Clone, Default)]
pub struct QCollector {
    mcn: BTreeMap<String, u32>,
    isrc: BTreeMap<u8, BTreeMap<String, u32>>,
    summary: QSummary,
    /// The track of the last position sector, which an ISRC sector belongs to.
    current: BTreeMap<u32, u8>,
}

/// The most different ISRCs or MCNs kept per track or disc (a bad subchannel could otherwise fill memory).
const MAX_CANDIDATES: usize = 16;

fn vote(map: &mut BTreeMap<String, u32>, value: String) {
    if map.len() < MAX_CANDIDATES || map.contains_key(&value) {
        let n = map.entry(value).or_insert(0);
        *n = n.saturating_add(1);
    }
}

fn winner(map: &BTreeMap<String, u32>) -> Option<String> {
    map.iter().max_by_key(|(_, n)| **n).map(|(v, _)| v.clone())
}

impl QCollector {
    /// Takes the Q of `lba`.
    pub fn add(&mut self, lba: u32, q: &[u8; 12]) {
        self.summary.sectors = self.summary.sectors.saturating_add(1);
        match decode(q) {
            None => self.summary.bad = self.summary.bad.saturating_add(1),
            Some(Q::Position { control, track, index }) if (1..=99).contains(&track) => {
                let t = self.summary.tracks.entry(track).or_default();
                t.control |= control & (CONTROL_PRE | CONTROL_DCP | CONTROL_4CH);
                let first = t.indexes.entry(index).or_insert(lba);
                *first = (*first).min(lba);
                if self.current.len() < 1 << 20 {
                    self.current.insert(lba, track);
                }
            }
            Some(Q::Position { .. }) => {}
            Some(Q::Catalog { mcn, .. }) => vote(&mut self.mcn, mcn),
            Some(Q::Isrc { isrc, .. }) => {
                // The track: that of the nearest position sector before it.
                if let Some((_, &track)) = self.current.range(..lba).next_back() {
                    vote(self.isrc.entry(track).or_default(), isrc);
                } else {
                    vote(self.isrc.entry(0).or_default(), isrc);
                }
            }
        }
    }

    /// The summary.
    #[must_use]
    pub fn finish(mut self) -> QSummary {
        self.summary.mcn = winner(&self.mcn).filter(|m| m.bytes().any(|b| b != b'0'));
        for (track, votes) in &self.isrc {
            if let Some(t) = self.summary.tracks.get_mut(track) {
                t.isrc = winner(votes);
            }
        }
        self.summary
    }
}

/// Largest [`QSummary::from_text`] reads: 99 tracks of 100 index points each fit many times over.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// A [`QSummary`] text that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Q subchannel summary, line {line}: {what}")]
pub struct QTextError {
    /// The line, from 1 (0: the text as a whole).
    pub line: usize,
    /// What is wrong with it.
    pub what: String,
}

impl QSummary {
    /// Adds what another part of the same rip's Q said (the sectors of an earlier run of a resumed rip): the
    /// earliest LBA of each index, the CONTROL bits of both, the MCN and ISRCs where `self` has none, the counts.
    pub fn merge(&mut self, other: &QSummary) {
        if self.mcn.is_none() {
            self.mcn.clone_from(&other.mcn);
        }
        for (n, o) in &other.tracks {
            let t = self.tracks.entry(*n).or_default();
            t.control |= o.control;
            if t.isrc.is_none() {
                t.isrc.clone_from(&o.isrc);
            }
            for (i, lba) in &o.indexes {
                let first = t.indexes.entry(*i).or_insert(*lba);
                *first = (*first).min(*lba);
            }
        }
        self.sectors = self.sectors.saturating_add(other.sectors);
        self.bad = self.bad.saturating_add(other.bad);
    }

    /// The summary as lines of text, which [`QSummary::from_text`] reads back: `sectors N`, `bad N`, `mcn DIGITS`,
    /// per track `track N control C` (with ` isrc ISRC` when it has one), per index `index TRACK INDEX LBA`.
    pub fn to_text(&self) -> String {
        let mut s = format!("sectors {}\nbad {}\n", self.sectors, self.bad);
        if let Some(m) = &self.mcn {
            s.push_str(&format!("mcn {m}\n"));
        }
        for (n, t) in &self.tracks {
            s.push_str(&format!("track {n} control {}", t.control));
            if let Some(i) = &t.isrc {
                s.push_str(&format!(" isrc {i}"));
            }
            s.push('\n');
            for (i, lba) in &t.indexes {
                s.push_str(&format!("index {n} {i} {lba}\n"));
            }
        }
        s
    }

    /// Reads what [`QSummary::to_text`] wrote.
    ///
    /// # Errors
    /// [`QTextError`] for a text over [`MAX_TEXT_BYTES`], an unknown line, a number out of range (tracks and
    /// indexes 0–99, tracks from 1), an MCN that is not 13 digits, an ISRC that is not 12 letters and digits, an
    /// index of a track not declared before it.
    pub fn from_text(text: &str) -> Result<QSummary, QTextError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(QTextError { line: 0, what: format!("{} bytes, more than {MAX_TEXT_BYTES}", text.len()) });
        }
        let mut q = QSummary::default();
        for (no, line) in text.lines().enumerate() {
            let err = |what: &str| QTextError { line: no.saturating_add(1), what: what.to_string() };
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            let num = |i: usize| -> Result<u64, QTextError> {
                words.get(i).and_then(|w| w.parse::<u64>().ok()).ok_or_else(|| err("a number is missing or wrong"))
            };
            let track = |i: usize| -> Result<u8, QTextError> {
                u8::try_from(num(i)?).ok().filter(|t| (1..=99).contains(t)).ok_or_else(|| err("track not 1-99"))
            };
            match words.as_slice() {
                [] => {}
                ["sectors", _] => q.sectors = num(1)?,
                ["bad", _] => q.bad = num(1)?,
                ["mcn", m] if m.len() == 13 && m.bytes().all(|b| b.is_ascii_digit()) => q.mcn = Some((*m).to_string()),
                ["track", _, "control", _, rest @ ..] => {
                    let n = track(1)?;
                    let control = u8::try_from(num(3)?).ok().filter(|c| *c < 16).ok_or_else(|| err("CONTROL"))?;
                    let isrc = match rest {
                        [] => None,
                        ["isrc", i] if i.len() == 12 && i.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                            Some((*i).to_string())
                        }
                        _ => return Err(err("not an ISRC")),
                    };
                    q.tracks.insert(n, TrackQ { isrc, indexes: BTreeMap::new(), control });
                }
                ["index", _, _, _] => {
                    let n = track(1)?;
                    let i = u8::try_from(num(2)?).ok().filter(|i| *i <= 99).ok_or_else(|| err("index not 0-99"))?;
                    let lba = u32::try_from(num(3)?).map_err(|_| err("LBA too large"))?;
                    let t = q.tracks.get_mut(&n).ok_or_else(|| err("an index of a track not given before"))?;
                    t.indexes.insert(i, lba);
                }
                _ => return Err(err("not a line of a Q subchannel summary")),
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_raw_subchannel() {
        let mut packed = [0u8; SUB_BYTES];
        for (i, b) in packed.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let raw = packed_to_raw(&packed);
        assert_eq!(raw_to_packed(&raw), packed);
        // Q is bit 6 of each raw byte.
        assert_eq!(deinterleave(&raw).unwrap()[..], packed[12..24]);
    }

    #[test]
    fn mcn_and_isrc_round_trip() {
        let q = encode_mcn(0, "0724384960650", 7).unwrap();
        assert_eq!(decode(&q), Some(Q::Catalog { control: 0, mcn: "0724384960650".into() }));
        let q = encode_isrc(1, "USRC17607839", 3).unwrap();
        assert_eq!(decode(&q), Some(Q::Isrc { control: 1, isrc: "USRC17607839".into() }));
        let mut bad = q;
        bad[4] ^= 1;
        assert_eq!(decode(&bad), None);
        assert!(encode_isrc(0, "us-rc1760783", 0).is_none());
        assert!(encode_mcn(0, "123", 0).is_none());
    }

    #[test]
    fn collector_votes() {
        let mut c = QCollector::default();
        let mut pos = [0x11, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        seal(&mut pos);
        c.add(10, &pos);
        pos[2] = 1;
        seal(&mut pos);
        c.add(12, &pos);
        c.add(11, &pos);
        c.add(13, &encode_isrc(1, "GBAYE0000001", 0).unwrap());
        c.add(14, &encode_mcn(1, "1234567890123", 0).unwrap());
        let s = c.finish();
        assert_eq!(s.mcn.as_deref(), Some("1234567890123"));
        let t = &s.tracks[&2];
        assert_eq!(t.isrc.as_deref(), Some("GBAYE0000001"));
        assert_eq!(t.indexes, [(0, 10), (1, 11)].into_iter().collect());
        assert_eq!(t.control, 1);
    }

    #[test]
    fn text_round_trip_and_merge() {
        let mut a = QSummary { mcn: Some("0724384960650".into()), sectors: 100, bad: 2, ..QSummary::default() };
        a.tracks.insert(
            2,
            TrackQ {
                isrc: Some("USRC17607839".into()),
                indexes: [(0, 325), (1, 400)].into_iter().collect(),
                control: 2,
            },
        );
        a.tracks.insert(3, TrackQ { isrc: None, indexes: BTreeMap::new(), control: 0 });
        assert_eq!(QSummary::from_text(&a.to_text()).unwrap(), a);
        let mut b = QSummary { sectors: 50, ..QSummary::default() };
        b.tracks.insert(2, TrackQ { isrc: None, indexes: [(0, 330), (2, 500)].into_iter().collect(), control: 1 });
        b.merge(&a);
        assert_eq!(b.mcn, a.mcn);
        let t = &b.tracks[&2];
        assert_eq!((t.isrc.as_deref(), t.control, b.sectors, b.bad), (Some("USRC17607839"), 3, 150, 2));
        assert_eq!(t.indexes, [(0, 325), (1, 400), (2, 500)].into_iter().collect());
        for bad in [
            "sectors x",
            "track 0 control 0",
            "track 100 control 0",
            "track 1 control 16",
            "track 1 control 0 isrc short",
            "index 1 0 5",
            "track 1 control 0\nindex 1 100 5",
            "track 1 control 0\nindex 1 1 4294967296",
            "mcn 12",
            "whatever",
        ] {
            assert!(QSummary::from_text(bad).is_err(), "{bad}");
        }
        assert!(QSummary::from_text(&"\n".repeat(MAX_TEXT_BYTES + 1)).is_err());
    }
}

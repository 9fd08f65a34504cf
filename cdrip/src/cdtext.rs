//! CD-Text from the lead-in (READ TOC/PMA/ATIP format 5), checked pack by pack.
//!
//! The lead-in's R–W subchannel carries CD-Text as 18-byte packs (MMC-6 Annex J; the Red Book's CD-Text
//! addendum): pack type (80h title, 81h performer, 82h songwriter, … 8Fh size information), track number (bit 7:
//! extension), sequence number (0–255 within a block), block number and character position (bit 7 double-byte,
//! bits 6–4 block, bits 3–0 how many characters of the current string came in earlier packs, at most 15), twelve
//! text bytes, and a CRC-16 (x¹⁶ + x¹² + x⁵ + 1, stored inverted, as the Q subchannel's).
//!
//! Strings follow each other NUL-terminated across packs; a string of one TAB means "the same as the previous
//! track's". A pack whose CRC fails is skipped and reported; the text resumes at the next good pack, whose track
//! number and character position say where it stands. A pack sequence that contradicts itself (sequence numbers
//! going back, a block's size information counting other packs than it holds, a track past 99) is an error: such
//! an answer is not CD-Text.

use std::collections::BTreeMap;

/// Bytes of one pack.
pub const PACK_LEN: usize = 18;
/// The most packs an answer may hold: 8 blocks of 256.
pub const MAX_PACKS: usize = 8 * 256;

/// Pack types (MMC-6 Table J.2).
pub mod pack {
    /// Title (track 0: the album).
    pub const TITLE: u8 = 0x80;
    /// Performer.
    pub const PERFORMER: u8 = 0x81;
    /// Songwriter.
    pub const SONGWRITER: u8 = 0x82;
    /// Composer.
    pub const COMPOSER: u8 = 0x83;
    /// Arranger.
    pub const ARRANGER: u8 = 0x84;
    /// Message.
    pub const MESSAGE: u8 = 0x85;
    /// UPC/EAN (track 0) and ISRCs.
    pub const UPC_ISRC: u8 = 0x8e;
    /// Size information of the block (three packs).
    pub const SIZE_INFO: u8 = 0x8f;
}

/// A CD-Text answer that is not CD-Text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CdTextError {
    /// The answer is shorter than its header or not whole packs.
    #[error("CD-Text: {0}")]
    Length(String),
    /// Sequence numbers that go back or repeat within a block.
    #[error("CD-Text pack {index}: sequence number {got} after {after} in block {block}")]
    Sequence {
        /// Position of the pack in the answer, from 0.
        index: usize,
        /// Its block.
        block: u8,
        /// Its sequence number.
        got: u8,
        /// The previous good pack's.
        after: u8,
    },
    /// A track number past 99.
    #[error("CD-Text pack {index}: track number {track}, past 99")]
    Track {
        /// Position of the pack in the answer.
        index: usize,
        /// The track number.
        track: u8,
    },
    /// The size information contradicts the packs of its block.
    #[error("CD-Text block {block}: the size information says {said}, the block holds {holds}")]
    SizeInfo {
        /// The block.
        block: u8,
        /// What the size information says.
        said: String,
        /// What the block holds.
        holds: String,
    },
}

/// The texts of one block (one language).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    /// Language code from the size information (0 when there is none).
    pub language: u8,
    /// Strings by pack type, then by track number (0: the disc).
    pub texts: BTreeMap<u8, BTreeMap<u8, String>>,
}

/// CD-Text as read: the blocks, and the packs skipped for a failing CRC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdText {
    /// Blocks by block number.
    pub blocks: BTreeMap<u8, Block>,
    /// The packs skipped because their CRC fails: (position in the answer, block, sequence number).
    pub bad_crc: Vec<(usize, u8, u8)>,
    /// Packs read.
    pub packs: usize,
}

impl CdText {
    /// The string of pack type `kind` for track `track` (0: the disc) in the first block.
    #[must_use]
    pub fn get(&self, kind: u8, track: u8) -> Option<&str> {
        self.blocks.values().next()?.texts.get(&kind)?.get(&track).map(String::as_str)
    }

    /// True when no text was found.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.blocks.values().all(|b| b.texts.is_empty())
    }
}

/// The CRC of a pack's first 16 bytes as stored (inverted CRC-16/XMODEM).
#[must_use]
pub fn pack_crc(pack: &[u8]) -> u16 {
    !crate::disc::crc16(pack.get(..16).unwrap_or(pack))
}

/// True when the pack's stored CRC matches its bytes.
#[must_use]
pub fn crc_ok(pack: &[u8; PACK_LEN]) -> bool {
    pack_crc(pack) == u16::from_be_bytes([pack[16], pack[17]])
}

/// Text being put together for one (block, pack type).
#[derive(Default)]
struct Assembly {
    track: Option<u8>,
    bytes: Vec<u8>,
    /// Skip bytes up to the next NUL (the string's start was in a lost pack).
    skipping: bool,
    out: BTreeMap<u8, String>,
    previous: Option<String>,
}

impl Assembly {
    fn resync(&mut self, track: u8, char_pos: u8) {
        self.bytes.clear();
        self.track = Some(track);
        self.skipping = char_pos > 0;
    }

    fn push(&mut self, text: &[u8]) {
        for &c in text {
            if c != 0 {
                if !self.skipping {
                    self.bytes.push(c);
                }
                continue;
            }
            if self.skipping {
                self.skipping = false;
            } else if let Some(t) = self.track {
                // ISO 8859-1: each byte one character. A lone TAB repeats the previous string.
                let s: String = if self.bytes == b"\t" {
                    self.previous.clone().unwrap_or_default()
                } else {
                    self.bytes.iter().map(|&b| char::from(b)).collect()
                };
                if !s.is_empty() {
                    self.out.insert(t, s.clone());
                }
                self.previous = Some(s);
            }
            self.bytes.clear();
            self.track = self.track.map(|t| t.saturating_add(1));
        }
    }
}

/// Parses a READ TOC format 5 answer (its 4-byte header included).
///
/// # Errors
/// [`CdTextError`] when the answer is not whole packs, holds more than [`MAX_PACKS`], or contradicts itself.
pub fn parse(answer: &[u8]) -> Result<CdText, CdTextError> {
    let Some((&[l0, l1, _, _], body)) = answer.split_first_chunk::<4>() else {
        return Err(CdTextError::Length(format!("{} bytes, no header", answer.len())));
    };
    let declared = usize::from(u16::from_be_bytes([l0, l1])).saturating_sub(2);
    if declared > body.len() {
        return Err(CdTextError::Length(format!("the header declares {declared} bytes, {} came", body.len())));
    }
    let body = body.get(..declared).unwrap_or(body);
    if body.len() % PACK_LEN != 0 {
        return Err(CdTextError::Length(format!("{} bytes are not a whole number of 18-byte packs", body.len())));
    }
    let count = body.len() / PACK_LEN;
    if count > MAX_PACKS {
        return Err(CdTextError::Length(format!("{count} packs, more than the {MAX_PACKS} of 8 blocks")));
    }
    let mut out = CdText { packs: count, ..CdText::default() };
    let mut last_seq: BTreeMap<u8, u8> = BTreeMap::new();
    // Packs of each type per block (bad ones included: the size information counts what was recorded).
    let mut counts: BTreeMap<u8, [u16; 16]> = BTreeMap::new();
    let mut last_seq_any: BTreeMap<u8, u8> = BTreeMap::new();
    let mut size_info: BTreeMap<u8, Vec<(u8, [u8; 12])>> = BTreeMap::new();
    let mut asm: BTreeMap<(u8, u8), Assembly> = BTreeMap::new();
    // (block, pack type) whose last pack was lost to a bad CRC: the next good one resynchronises.
    let mut lost: std::collections::BTreeSet<(u8, u8)> = std::collections::BTreeSet::new();
    for (index, chunk) in body.chunks_exact(PACK_LEN).enumerate() {
        let Ok(p) = <&[u8; PACK_LEN]>::try_from(chunk) else { continue };
        let [kind, track, seq, flags, ..] = *p;
        let block = (flags >> 4) & 0x07;
        if (0x80..=0x8f).contains(&kind) {
            if let Some(c) = counts.entry(block).or_insert([0; 16]).get_mut(usize::from(kind & 0x0f)) {
                *c = c.saturating_add(1);
            }
        }
        last_seq_any.insert(block, seq);
        if !crc_ok(p) {
            out.bad_crc.push((index, block, seq));
            if (0x80..=0x8f).contains(&kind) {
                lost.insert((block, kind));
            } else {
                // The type byte itself is wrong: any text of the block may have lost this pack.
                lost.extend((0x80..=0x8f).map(|k| (block, k)));
            }
            continue;
        }
        if let Some(&after) = last_seq.get(&block) {
            if seq <= after {
                return Err(CdTextError::Sequence { index, block, got: seq, after });
            }
        }
        last_seq.insert(block, seq);
        let text: [u8; 12] = p[4..16].try_into().unwrap_or([0; 12]);
        match kind {
            pack::SIZE_INFO => size_info.entry(block).or_default().push((track, text)),
            0x80..=0x86 => {
                let track = track & 0x7f;
                if track > 99 {
                    return Err(CdTextError::Track { index, track });
                }
                if flags & 0x80 != 0 {
                    // Double-byte text (Japanese): not decoded.
                    continue;
                }
                let a = asm.entry((block, kind)).or_default();
                if a.track.is_none() || lost.remove(&(block, kind)) {
                    a.resync(track, flags & 0x0f);
                }
                a.push(&text);
            }
            _ => {}
        }
    }
    // The size information (three packs of 12 bytes: 36 bytes) of each block, when all of it came.
    let mut languages: BTreeMap<u8, u8> = BTreeMap::new();
    for (block, mut parts) in size_info {
        parts.sort_by_key(|p| p.0);
        if parts.len() != 3 {
            continue;
        }
        let info: Vec<u8> = parts.iter().flat_map(|p| p.1).collect();
        let held = counts.get(&block).copied().unwrap_or_default();
        for (i, (&said, &holds)) in info.get(4..20).unwrap_or_default().iter().zip(held.iter()).enumerate() {
            if u16::from(said) != holds {
                return Err(CdTextError::SizeInfo {
                    block,
                    said: format!("{said} packs of type 0x{:02x}", 0x80usize.saturating_add(i)),
                    holds: format!("{holds}"),
                });
            }
        }
        let last = info.get(20 + usize::from(block)).copied().unwrap_or(0);
        let seen = last_seq_any.get(&block).copied().unwrap_or(0);
        if last != seen {
            return Err(CdTextError::SizeInfo {
                block,
                said: format!("last sequence number {last}"),
                holds: format!("packs up to {seen}"),
            });
        }
        languages.insert(block, info.get(28 + usize::from(block)).copied().unwrap_or(0));
    }
    for ((block, kind), a) in asm {
        let b = out.blocks.entry(block).or_default();
        b.language = languages.get(&block).copied().unwrap_or(0);
        if !a.out.is_empty() {
            b.texts.insert(kind, a.out);
        }
    }
    Ok(out)
}

/// Builds the packs of one block (block 0, ISO 8859-1, language `language`) holding `texts`: for each pack type,
/// one string per track from track 0 (the disc). Three size-information packs end the block. For the simulated
/// drive and the tests: the layout is the one [`parse`] reads (MMC-6 Annex J).
#[must_use]
pub fn build_packs(texts: &[(u8, Vec<String>)], language: u8) -> Vec<[u8; PACK_LEN]> {
    let mut packs: Vec<[u8; PACK_LEN]> = Vec::new();
    let mut counts = [0u8; 16];
    let mut last_track = 0u8;
    for (kind, strings) in texts {
        // (byte, track of the string it belongs to, characters of that string before it)
        let mut stream: Vec<(u8, u8, usize)> = Vec::new();
        for (track, s) in (0u8..).zip(strings) {
            last_track = last_track.max(track);
            stream.extend(
                s.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .chain([0])
                    .enumerate()
                    .map(|(i, b)| (b, track, i)),
            );
        }
        for chunk in stream.chunks(12) {
            let Some(&(_, track, pos)) = chunk.first() else { continue };
            let mut p = [0u8; PACK_LEN];
            p[0] = *kind;
            p[1] = track;
            p[2] = u8::try_from(packs.len()).unwrap_or(u8::MAX);
            p[3] = u8::try_from(pos.min(15)).unwrap_or(15);
            for (dst, &(b, _, _)) in p[4..16].iter_mut().zip(chunk) {
                *dst = b;
            }
            let crc = pack_crc(&p);
            p[16..18].copy_from_slice(&crc.to_be_bytes());
            packs.push(p);
            if let Some(c) = counts.get_mut(usize::from(kind & 0x0f)) {
                *c = c.saturating_add(1);
            }
        }
    }
    counts[0x0f] = 3;
    let mut info = [0u8; 36];
    info[1] = 1;
    info[2] = last_track;
    info[4..20].copy_from_slice(&counts);
    info[20] = u8::try_from(packs.len().saturating_add(2)).unwrap_or(u8::MAX);
    info[28] = language;
    for (i, part) in (0u8..).zip(info.chunks(12)) {
        let mut p = [0u8; PACK_LEN];
        p[0] = pack::SIZE_INFO;
        p[1] = i;
        p[2] = u8::try_from(packs.len()).unwrap_or(u8::MAX);
        p[4..16].copy_from_slice(part);
        let crc = pack_crc(&p);
        p[16..18].copy_from_slice(&crc.to_be_bytes());
        packs.push(p);
    }
    packs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(packs: &[[u8; PACK_LEN]]) -> Vec<u8> {
        let len = (packs.len() * PACK_LEN + 2) as u16;
        let mut b = len.to_be_bytes().to_vec();
        b.extend_from_slice(&[0, 0]);
        packs.iter().for_each(|p| b.extend_from_slice(p));
        b
    }

    fn sample() -> Vec<[u8; PACK_LEN]> {
        build_packs(
            &[
                (
                    pack::TITLE,
                    vec!["An album with a long title".into(), "One".into(), "Two, longer than a pack".into()],
                ),
                (pack::PERFORMER, vec!["Band".into(), "\t".into(), "Guest".into()]),
            ],
            9,
        )
    }

    #[test]
    fn round_trip() {
        let t = parse(&answer(&sample())).unwrap();
        assert!(t.bad_crc.is_empty());
        assert_eq!(t.get(pack::TITLE, 0), Some("An album with a long title"));
        assert_eq!(t.get(pack::TITLE, 2), Some("Two, longer than a pack"));
        assert_eq!(t.get(pack::PERFORMER, 1), Some("Band"));
        assert_eq!(t.get(pack::PERFORMER, 2), Some("Guest"));
        assert_eq!(t.blocks[&0].language, 9);
    }

    #[test]
    fn bad_crc_is_skipped_and_the_text_resyncs() {
        let mut packs = sample();
        // Pack 1 holds the end of the album title and the start of track 1's: both strings are lost.
        packs[1][7] ^= 0x20;
        let t = parse(&answer(&packs)).unwrap();
        assert_eq!(t.bad_crc, vec![(1, 0, 1)]);
        assert_eq!(t.get(pack::TITLE, 0), None);
        assert_eq!(t.get(pack::TITLE, 1), Some("One"));
        assert_eq!(t.get(pack::TITLE, 2), Some("Two, longer than a pack"));
        assert_eq!(t.get(pack::PERFORMER, 0), Some("Band"));
    }

    #[test]
    fn lies_are_errors() {
        let fix = |p: &mut [u8; PACK_LEN]| {
            let c = pack_crc(p);
            p[16..18].copy_from_slice(&c.to_be_bytes());
        };
        let mut packs = sample();
        packs[3][2] = 1;
        fix(&mut packs[3]);
        assert!(matches!(parse(&answer(&packs)), Err(CdTextError::Sequence { index: 3, got: 1, .. })));
        let mut packs = sample();
        let n = packs.len();
        packs[n - 3][4 + 4] = 200; // title packs counted in the size information
        fix(&mut packs[n - 3]);
        let e = parse(&answer(&packs)).unwrap_err();
        assert!(e.to_string().contains("200 packs of type 0x80"), "{e}");
        let mut packs = sample();
        packs[0][1] = 120;
        fix(&mut packs[0]);
        assert!(matches!(parse(&answer(&packs)), Err(CdTextError::Track { track: 120, .. })));
        let mut a = answer(&sample());
        a.truncate(a.len() - 5);
        assert!(matches!(parse(&a), Err(CdTextError::Length(_))));
        let mut a = answer(&sample());
        a.pop();
        let l = (a.len() - 2) as u16;
        a[..2].copy_from_slice(&l.to_be_bytes());
        assert!(parse(&a).unwrap_err().to_string().contains("not a whole number"));
        assert!(parse(&[0, 2]).is_err());
    }
}

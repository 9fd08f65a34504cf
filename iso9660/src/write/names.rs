//! File identifiers: mangling raw names into ISO 9660 d-character identifiers for each interchange level
//! (ECMA-119 7.5, 10.1–10.3; ISO 9660:1999 for level 4) and into Joliet UCS-2 names, made unique within their
//! directory; and the record order of ECMA-119 9.3.

// The writer indexes only structures it built itself from a caller's tree (never bytes read from an image),
// and its arithmetic is on sizes bounded by the planner's checks.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::cmp::Ordering;
use std::collections::HashSet;

/// Longest level-1 file name part and extension (8.3, ECMA-119 10.1).
const L1_NAME: usize = 8;
const L1_EXT: usize = 3;
/// Longest file name plus extension at levels 2 and 3 (ECMA-119 7.5.1: 30, the separators not counted), and
/// longest directory identifier (31, 7.6.3).
const L2_FILE: usize = 30;
const L2_DIR: usize = 31;
/// Longest extension kept when a level-2/3 name must be shortened.
const L2_EXT_KEEP: usize = 8;
/// Longest identifier at level 4. ISO 9660:1999 7.5.1 allows 207 bytes; 192 keeps room in the 254-byte record
/// for a Rock Ridge `CE` entry that carries the rest of the system use entries.
const L4_MAX: usize = 192;
/// Longest Joliet name in UCS-2 units (Joliet specification: 64), and with `--joliet-long` (103, which keeps the
/// directory record under 255 bytes).
pub const JOLIET_MAX: usize = 64;
/// See [`JOLIET_MAX`].
pub const JOLIET_LONG_MAX: usize = 103;
/// Longest extension kept when a Joliet name is shortened.
const JOLIET_EXT_KEEP: usize = 16;

/// One candidate identifier before uniqueness: name part, extension, and how long the name part may grow.
struct Candidate {
    base: Vec<u8>,
    ext: Option<Vec<u8>>,
    max_base: usize,
}

fn d_chars(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase() as u8,
            'A'..='Z' | '0'..='9' | '_' => c as u8,
            _ => b'_',
        })
        .collect()
}

fn utf8_prefix(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut end = max;
    while end > 0 && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

fn candidate(name: &[u8], is_dir: bool, level: u8) -> Candidate {
    if level >= 4 {
        let b: Vec<u8> = name.iter().map(|&c| if c == b';' || c == b'/' || c < 0x02 { b'_' } else { c }).collect();
        return Candidate { base: utf8_prefix(&b, L4_MAX).to_vec(), ext: None, max_base: L4_MAX };
    }
    let s = String::from_utf8_lossy(name);
    if is_dir {
        let max = if level == 1 { L1_NAME } else { L2_DIR };
        let mut base = d_chars(&s);
        base.truncate(max);
        return Candidate { base, ext: None, max_base: max };
    }
    let (b, e) = match s.rfind('.') {
        Some(i) if i > 0 => (&s[..i], &s[i + 1..]),
        _ => (&s[..], ""),
    };
    let mut base = d_chars(b);
    let mut ext = d_chars(e);
    let max_base = if level == 1 {
        ext.truncate(L1_EXT);
        base.truncate(L1_NAME);
        L1_NAME
    } else {
        if base.len() + ext.len() > L2_FILE {
            ext.truncate(L2_EXT_KEEP.min(ext.len()));
            base.truncate(L2_FILE - ext.len());
        }
        L2_FILE - ext.len()
    };
    if base.is_empty() && ext.is_empty() {
        base.push(b'_');
    }
    Candidate { base, ext: Some(ext), max_base }
}

fn render(base: &[u8], ext: &Option<Vec<u8>>) -> Vec<u8> {
    let mut v = base.to_vec();
    if let Some(e) = ext {
        v.push(b'.');
        v.extend_from_slice(e);
        v.extend_from_slice(b";1");
    }
    v
}

fn with_counter<T: Clone + From<u8>>(base: &[T], max_base: usize, n: u64, digit: impl Fn(u8) -> T) -> Vec<T> {
    let digits: Vec<T> = n.to_string().bytes().map(digit).collect();
    let keep = base.len().min(max_base.saturating_sub(digits.len()));
    let mut v = base[..keep].to_vec();
    v.extend(digits);
    v
}

/// Makes a list of wanted identifiers unique: the first holder of a name (in the given order) keeps it, later
/// ones get a decimal counter in place of the end of their name part. A counter never produces a name another
/// entry wanted.
fn uniquify<T: Clone + Eq + std::hash::Hash + From<u8>>(
    wanted: Vec<(Vec<T>, Option<Vec<T>>, usize)>,
    render: impl Fn(&[T], &Option<Vec<T>>) -> Vec<T>,
    digit: impl Fn(u8) -> T + Copy,
) -> Vec<Vec<T>> {
    let reserved: HashSet<Vec<T>> = wanted.iter().map(|(b, e, _)| render(b, e)).collect();
    let mut taken: HashSet<Vec<T>> = HashSet::with_capacity(wanted.len());
    let mut out = Vec::with_capacity(wanted.len());
    for (base, ext, max_base) in wanted {
        let first = render(&base, &ext);
        if taken.insert(first.clone()) {
            out.push(first);
            continue;
        }
        let mut n = 1u64;
        loop {
            let b = with_counter(&base, max_base, n, digit);
            let full = render(&b, &ext);
            if !reserved.contains(&full) && taken.insert(full.clone()) {
                out.push(full);
                break;
            }
            n += 1;
        }
    }
    out
}

/// ISO 9660 identifiers for the entries of one directory, in the order given: `(raw name, is directory)`.
/// Files get `NAME.EXT;1` (no version at level 4); every identifier is unique within the list.
pub fn iso_names(entries: &[(&[u8], bool)], level: u8) -> Vec<Vec<u8>> {
    let wanted = entries
        .iter()
        .map(|(n, d)| {
            let c = candidate(n, *d, level);
            (c.base, c.ext, c.max_base)
        })
        .collect();
    uniquify(wanted, render, |b| b)
}

/// How a raw name fares in Joliet: its length in UCS-2 units before any cut, and whether a character had to be
/// recorded as `_` (bytes that are not UTF-8, characters outside the BMP, control characters, `* / : ; ? \`).
pub fn joliet_fit(name: &[u8]) -> (usize, bool) {
    match std::str::from_utf8(name) {
        Ok(s) => {
            let replaced = s
                .chars()
                .any(|c| matches!(c, '*' | '/' | ':' | ';' | '?' | '\\') || (c as u32) < 0x20 || (c as u32) > 0xFFFF);
            (s.chars().count(), replaced)
        }
        Err(_) => (String::from_utf8_lossy(name).chars().count(), true),
    }
}

/// Joliet names (UCS-2 units) for the entries of one directory, unique and at most `max` units long.
pub fn joliet_names(entries: &[&[u8]], max: usize) -> Vec<Vec<u16>> {
    let wanted = entries
        .iter()
        .map(|n| {
            let s = String::from_utf8_lossy(n);
            let units: Vec<u16> = s
                .chars()
                .map(|c| match c {
                    '*' | '/' | ':' | ';' | '?' | '\\' => u16::from(b'_'),
                    c if (c as u32) < 0x20 || (c as u32) > 0xFFFF => u16::from(b'_'),
                    c => c as u16,
                })
                .collect();
            if units.len() <= max {
                let l = units.len();
                return (units, None, max.max(l));
            }
            let dot = units.iter().rposition(|&u| u == u16::from(b'.'));
            match dot {
                Some(i) if i > 0 && units.len() - i <= JOLIET_EXT_KEEP + 1 => {
                    let ext = units[i..].to_vec();
                    let mb = max - ext.len();
                    (units[..mb].to_vec(), Some(ext), mb)
                }
                _ => (units[..max].to_vec(), None, max),
            }
        })
        .collect();
    uniquify(
        wanted,
        |b, e| {
            let mut v = b.to_vec();
            if let Some(e) = e {
                v.extend_from_slice(e);
            }
            v
        },
        u16::from,
    )
}

fn split_iso(id: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let (nv, ver) = match id.iter().rposition(|&c| c == b';') {
        Some(i) => (&id[..i], &id[i + 1..]),
        None => (id, &id[id.len()..]),
    };
    match nv.iter().rposition(|&c| c == b'.') {
        Some(i) if !ver.is_empty() => (&nv[..i], &nv[i + 1..], ver),
        _ => (nv, &nv[nv.len()..], ver),
    }
}

fn cmp_padded<T: Ord + Copy>(a: &[T], b: &[T], pad: T) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(pad);
        let y = b.get(i).copied().unwrap_or(pad);
        match x.cmp(&y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// Record order of ECMA-119 9.3: file name, then extension (both padded with spaces), then version, highest
/// first.
pub fn cmp_iso(a: &[u8], b: &[u8]) -> Ordering {
    let (an, ae, av) = split_iso(a);
    let (bn, be, bv) = split_iso(b);
    cmp_padded(an, bn, b' ').then_with(|| cmp_padded(ae, be, b' ')).then_with(|| cmp_padded(bv, av, b' '))
}

/// Record order for Joliet names: the same rule applied to UCS-2 units.
pub fn cmp_joliet(a: &[u16], b: &[u16]) -> Ordering {
    cmp_padded(a, b, 0x20)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[Vec<u8>]) -> Vec<String> {
        v.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect()
    }

    #[test]
    fn level1_mangling() {
        let e: Vec<(&[u8], bool)> = vec![
            (b"readme.txt", false),
            (b"ReadMe.TXT", false),
            (b"a.tar.gz", false),
            (b"verylongfilename.html", false),
            (b".hidden", false),
            (b"dir.d", true),
        ];
        let n = s(&iso_names(&e, 1));
        assert_eq!(n, ["README.TXT;1", "README1.TXT;1", "A_TAR.GZ;1", "VERYLONG.HTM;1", "_HIDDEN.;1", "DIR_D"]);
    }

    #[test]
    fn level2_limits_and_uniqueness() {
        let long = [b'x'; 60];
        let e: Vec<(&[u8], bool)> = vec![(&long, false), (&long[..59], false), (&long, true), (&long[..40], true)];
        let n = iso_names(&e, 2);
        assert!(n.iter().all(|x| x.len() <= 33));
        let set: HashSet<_> = n.iter().collect();
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn counter_never_steals_a_wanted_name() {
        let e: Vec<(&[u8], bool)> = vec![(b"a", true), (b"A", true), (b"a1", true)];
        assert_eq!(s(&iso_names(&e, 3)), ["A", "A2", "A1"]);
    }

    #[test]
    fn joliet_truncation_keeps_extension() {
        let name = format!("{}.txt", "é".repeat(80));
        let a = name.clone();
        let n = joliet_names(&[a.as_bytes(), name.as_bytes()], JOLIET_MAX);
        assert_eq!(n[0].len(), 64);
        assert_ne!(n[0], n[1]);
        assert_eq!(&n[1][n[1].len() - 4..], &[46, 116, 120, 116]);
    }

    #[test]
    fn iso_order() {
        assert_eq!(cmp_iso(b"A.;1", b"A_B.;1"), Ordering::Less);
        assert_eq!(cmp_iso(b"AB.C;1", b"AB.;1"), Ordering::Greater);
        assert_eq!(cmp_iso(b"A", b"AB"), Ordering::Less);
    }
}

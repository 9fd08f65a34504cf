//! Joliet (Microsoft, "Joliet Specification", 1995): a supplementary volume descriptor whose escape sequences
//! name UCS-2 level 1 (`%/@`), 2 (`%/C`) or 3 (`%/E`), with identifiers in UCS-2 big-endian.
//!
//! Sources: Windows and genisoimage write UTF-16 surrogate pairs for characters outside the BMP although the
//! specification says UCS-2; they are decoded as pairs here. A lone surrogate or an odd trailing byte becomes
//! U+FFFD instead of an error.

/// The Joliet level named by a supplementary descriptor's escape sequences field, if it names one.
///
/// The sequence may sit anywhere in the 32-byte field (the specification puts it first; some writers pad
/// with spaces or zeros before it).
pub fn level_from_escape_sequences(esc: &[u8]) -> Option<u8> {
    esc.windows(3).find_map(|w| match w {
        b"%/@" => Some(1),
        b"%/C" => Some(2),
        b"%/E" => Some(3),
        _ => None,
    })
}

/// Decodes UCS-2 (or UTF-16) big-endian text; lone surrogates and an odd trailing byte become U+FFFD.
pub fn decode_ucs2_be(raw: &[u8]) -> String {
    let units = raw.chunks_exact(2).map(|c| super::be16(c, 0).unwrap_or(0));
    let mut s: String = char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    if !raw.len().is_multiple_of(2) {
        s.push(char::REPLACEMENT_CHARACTER);
    }
    s
}

/// A Joliet descriptor's identifier field: UCS-2 BE, trailing spaces and NULs removed.
///
/// The 37-byte file identifier fields hold 18 characters and a stray byte, which is dropped.
pub fn identifier_text(raw: &[u8]) -> String {
    let even = raw.get(..raw.len() & !1).unwrap_or_default();
    decode_ucs2_be(even).trim_end_matches([' ', '\0']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
    }

    #[test]
    fn levels() {
        let mut e = [0u8; 32];
        assert_eq!(level_from_escape_sequences(&e), None);
        e[..3].copy_from_slice(b"%/E");
        assert_eq!(level_from_escape_sequences(&e), Some(3));
        e[..3].copy_from_slice(b"%/@");
        assert_eq!(level_from_escape_sequences(&e), Some(1));
        e[..3].copy_from_slice(b"%/C");
        assert_eq!(level_from_escape_sequences(&e), Some(2));
    }

    #[test]
    fn decodes_bmp_surrogates_and_damage() {
        assert_eq!(decode_ucs2_be(&enc("Grüße €")), "Grüße €");
        assert_eq!(decode_ucs2_be(&enc("a😀b")), "a😀b");
        assert_eq!(decode_ucs2_be(&[0xD8, 0x3D, 0x00, 0x41]), "\u{FFFD}A");
        assert_eq!(decode_ucs2_be(&[0x00, 0x41, 0x00]), "A\u{FFFD}");
        assert_eq!(identifier_text(&[0, b'V', 0, b' ', 0, 0]), "V");
    }

    proptest! {
        #[test]
        fn round_trips_any_string(s in "\\PC{0,40}") {
            prop_assert_eq!(decode_ucs2_be(&enc(&s)), s);
        }

        #[test]
        fn never_fails(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = decode_ucs2_be(&b);
        }
    }
}

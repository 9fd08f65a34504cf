//! OSTA UDF 2.60 2.1.1 OSTA CS0 character set (compressed Unicode) and ECMA-167 1/7.2.12 d-strings.
//!
//! A d-character string starts with a compression ID: 8 (one byte per character, U+0000–U+00FF) or 16 (two
//! bytes per character, big-endian UTF-16 code units). UDF 2.60 adds 254 and 255, the same encodings, for the
//! names of deleted files. A d-string is a fixed-size field whose last byte holds the number of bytes used.
//!
//! Decoding never fails: an unknown compression ID is read as 8-bit, an odd trailing byte of a 16-bit string is
//! dropped, and unpaired surrogates become U+FFFD, so one stray byte cannot hide a volume.

use crate::error::{Error, Result};

/// Compression ID of 8-bit strings.
pub const COMPRESSION_8: u8 = 8;
/// Compression ID of 16-bit strings.
pub const COMPRESSION_16: u8 = 16;

/// Decodes d-characters (compression ID first), as held by a File Identifier or a path component.
pub fn decode(chars: &[u8]) -> String {
    let Some((&id, data)) = chars.split_first() else { return String::new() };
    match id {
        COMPRESSION_16 | 255 => {
            let units = data.chunks_exact(2).map(|c| c.try_into().map_or(0, u16::from_be_bytes));
            char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
        }
        _ => data.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Decodes a d-string field (the used length in its last byte).
pub fn decode_dstring(field: &[u8]) -> String {
    let Some((&len, body)) = field.split_last() else { return String::new() };
    let used = usize::from(len).min(body.len());
    body.get(..used).map(decode).unwrap_or_default()
}

/// Encodes `s` as d-characters: 8-bit when every character fits, 16-bit otherwise (characters outside the
/// Basic Multilingual Plane as surrogate pairs).
pub fn encode(s: &str) -> Vec<u8> {
    if s.chars().all(|c| u32::from(c) <= 0xff) {
        let mut out = Vec::with_capacity(s.len().saturating_add(1));
        out.push(COMPRESSION_8);
        out.extend(s.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')));
        out
    } else {
        let mut out = vec![COMPRESSION_16];
        for u in s.encode_utf16() {
            out.extend_from_slice(&u.to_be_bytes());
        }
        out
    }
}

/// Encodes `s` as a d-string field of `field_len` bytes (the empty string as all zeros).
pub fn encode_dstring(s: &str, field_len: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; field_len];
    if s.is_empty() {
        return Ok(out);
    }
    let chars = encode(s);
    let room = field_len.saturating_sub(1);
    if chars.len() > room {
        return Err(Error::Overflow { what: "d-string longer than its field" });
    }
    if let Some(dst) = out.get_mut(..chars.len()) {
        dst.copy_from_slice(&chars);
    }
    if let Some(last) = out.last_mut() {
        *last = u8::try_from(chars.len()).map_err(|_| Error::Overflow { what: "d-string length" })?;
    }
    Ok(out)
}

/// A file name usable on POSIX systems (UDF 2.60 4.2.2.1): `/` and NUL become `_`, and when anything was
/// replaced, `#` and the CRC of the original d-characters (4 hex digits) are appended so names stay distinct.
pub fn posix_name(name: &str, raw: &[u8]) -> String {
    if !name.contains(['/', '\0']) {
        return name.to_string();
    }
    let mut out: String = name.chars().map(|c| if c == '/' || c == '\0' { '_' } else { c }).collect();
    out.push_str(&format!("#{:04X}", super::tag::crc16(raw)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_and_sixteen_bit() {
        for s in ["", "README.TXT", "café", "日本語", "emoji 😀", "a\u{ff}"] {
            let e = encode(s);
            assert_eq!(decode(&e), s);
            let field = encode_dstring(s, 128).unwrap();
            assert_eq!(field.len(), 128);
            assert_eq!(decode_dstring(&field), s);
        }
        assert_eq!(encode("abc")[0], 8);
        assert_eq!(encode("日")[0], 16);
        assert!(encode_dstring(&"x".repeat(40), 32).is_err());
    }

    #[test]
    fn damaged_strings_still_decode() {
        assert_eq!(decode(&[16, 0, 0x41, 0xd8]), "A");
        assert_eq!(decode(&[16, 0xd8, 0x00]), "\u{fffd}");
        assert_eq!(decode_dstring(&[8, b'a', b'b', 200]), "ab");
        assert_eq!(decode(&[3, b'x']), "x");
    }

    #[test]
    fn posix_names() {
        assert_eq!(posix_name("a/b", &[8, b'a', b'/', b'b']).len(), 8);
        assert_eq!(posix_name("ab", &[8, b'a', b'b']), "ab");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_string_round_trips(s in "\\PC{0,60}") {
            prop_assert_eq!(decode(&encode(&s)), s.clone());
            let field = encode_dstring(&s, 128);
            if let Ok(f) = field {
                prop_assert_eq!(decode_dstring(&f), s);
            }
        }

        #[test]
        fn any_bytes_decode(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode(&b);
            let _ = decode_dstring(&b);
        }
    }
}

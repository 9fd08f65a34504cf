//! Turning recorded identifiers into names.
//!
//! - plain ISO 9660 (ECMA-119 7.5): the version (`;1`) is cut off, then a trailing `.` of a name without an
//!   extension; bytes are decoded with the caller's character set, else as UTF-8 where valid, else Latin-1;
//! - ISO 9660:1999: decoded like plain names, only an all-digit `;` version cut off;
//! - Joliet: UCS-2 big-endian (surrogate pairs accepted), the `;1` version cut off;
//! - Rock Ridge NM and SL bytes: UTF-8 where valid, else the caller's character set, else Latin-1.
//!
//! No input makes these fail: undecodable bytes become U+FFFD or a Latin-1 character.

use encoding_rs::Encoding;

use crate::format::joliet::decode_ucs2_be;

/// Decodes name bytes: with `charset` when given, else UTF-8 where valid, else Latin-1.
pub fn decode_bytes(raw: &[u8], charset: Option<&'static Encoding>) -> String {
    if let Some(enc) = charset {
        return enc.decode_without_bom_handling(raw).0.into_owned();
    }
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Decodes Rock Ridge name bytes: UTF-8 where valid (what Linux writers record), else `charset`, else Latin-1.
pub fn decode_rock_ridge(raw: &[u8], charset: Option<&'static Encoding>) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => decode_bytes(raw, charset),
    }
}

/// The identifier of a file without its `;version`, and without the trailing `.` of an empty extension.
pub fn strip_version(id: &[u8]) -> &[u8] {
    let base = match id.iter().rposition(|&b| b == b';') {
        Some(p) => id.get(..p).unwrap_or(id),
        None => id,
    };
    match base.split_last() {
        Some((b'.', rest)) if !rest.is_empty() => rest,
        _ => base,
    }
}

/// The plain ISO 9660 name of a record's identifier.
pub fn plain_name(id: &[u8], is_dir: bool, charset: Option<&'static Encoding>) -> String {
    if is_dir {
        decode_bytes(id, charset)
    } else {
        decode_bytes(strip_version(id), charset)
    }
}

/// The name of a record's identifier in the ISO 9660:1999 tree (ISO 9660:1999 7.5): bytes decoded like plain
/// names; a file's `;` and version number are cut off when the suffix is all digits (genisoimage and libisofs
/// record none there, older writers `;1`), and nothing else is, so names may end in `.` or hold `;`.
pub fn enhanced_name(id: &[u8], is_dir: bool, charset: Option<&'static Encoding>) -> String {
    if is_dir {
        return decode_bytes(id, charset);
    }
    let base = match id.iter().rposition(|&b| b == b';') {
        Some(p) => {
            let version = id.get(p.saturating_add(1)..).unwrap_or_default();
            if !version.is_empty() && version.iter().all(u8::is_ascii_digit) {
                id.get(..p).unwrap_or(id)
            } else {
                id
            }
        }
        None => id,
    };
    decode_bytes(base, charset)
}

/// The Joliet name of a record's identifier.
pub fn joliet_name(id: &[u8], is_dir: bool) -> String {
    let mut s = decode_ucs2_be(id);
    if !is_dir {
        if let Some(p) = s.rfind(';') {
            let version = s.get(p.saturating_add(1)..).unwrap_or_default();
            if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) {
                s.truncate(p);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain() {
        assert_eq!(plain_name(b"README.TXT;1", false, None), "README.TXT");
        assert_eq!(plain_name(b"NOEXT.;1", false, None), "NOEXT");
        assert_eq!(plain_name(b"NOVERS", false, None), "NOVERS");
        assert_eq!(plain_name(b"DIR.D", true, None), "DIR.D");
        assert_eq!(plain_name(b"A.B.;12", false, None), "A.B");
        assert_eq!(plain_name(&[0x82, b'A', b';', b'1'], false, None), "\u{82}A");
        let cp437 = Encoding::for_label(b"cp437").or(Encoding::for_label(b"ibm866")).unwrap();
        assert_eq!(plain_name(&[0x8E, b'.', b'T'], false, Some(cp437)).chars().count(), 3);
        let koi8 = Encoding::for_label(b"koi8-r").unwrap();
        assert_eq!(plain_name(&[0xE1, 0xE2], true, Some(koi8)), "АБ");
    }

    #[test]
    fn enhanced() {
        assert_eq!(enhanced_name(b"a long name.tar.gz", false, None), "a long name.tar.gz");
        assert_eq!(enhanced_name(b"ends.;1", false, None), "ends.");
        assert_eq!(enhanced_name(b"semi;colon", false, None), "semi;colon");
        assert_eq!(enhanced_name(b"dir;1", true, None), "dir;1");
    }

    #[test]
    fn joliet() {
        let enc = |s: &str| s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect::<Vec<u8>>();
        assert_eq!(joliet_name(&enc("Grüße.txt;1"), false), "Grüße.txt");
        assert_eq!(joliet_name(&enc("a;b"), false), "a;b");
        assert_eq!(joliet_name(&enc("dir;1"), true), "dir;1");
    }

    proptest! {
        #[test]
        fn never_fails(b in proptest::collection::vec(any::<u8>(), 0..64), dir: bool) {
            let _ = plain_name(&b, dir, None);
            let _ = joliet_name(&b, dir);
            let _ = decode_rock_ridge(&b, Encoding::for_label(b"shift_jis"));
        }

        #[test]
        fn versions_are_stripped(base in "[A-Z0-9_]{1,8}\\.[A-Z0-9_]{1,3}", v in 1u16..32767) {
            let id = format!("{base};{v}");
            prop_assert_eq!(plain_name(id.as_bytes(), false, None), base);
        }
    }
}

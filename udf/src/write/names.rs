//! Names as the writer records them: File Identifiers in CS0 (OSTA UDF 2.60 2.1.1: 8-bit when every character
//! is Latin-1, 16-bit otherwise) and symlink targets as ECMA-167 4/14.16 path components.

use super::error::WriteError;
use crate::format::{cs0, path};

/// Bytes the CS0 d-characters of `name` take as a File Identifier, compression ID included (at most
/// [`super::MAX_NAME_BYTES`] fit).
pub fn encoded_len(name: &str) -> usize {
    if name.chars().all(|c| u32::from(c) <= 0xff) {
        name.chars().count().saturating_add(1)
    } else {
        name.encode_utf16().count().saturating_mul(2).saturating_add(1)
    }
}

/// The d-characters of a File Identifier.
pub(crate) fn file_identifier(name: &str) -> Vec<u8> {
    cs0::encode(name)
}

/// Records a POSIX symlink target as path components (ECMA-167 4/14.16.1): a leading `/` as the root
/// component, `..`, `.`, and names with CS0 identifiers. Empty components (`a//b`, a trailing `/`) are dropped,
/// as POSIX path resolution ignores them.
pub(crate) fn symlink_components(target: &[u8]) -> Result<Vec<u8>, WriteError> {
    let text = String::from_utf8_lossy(target);
    let bad = |reason| WriteError::BadSymlink { target: text.to_string(), reason };
    if target.is_empty() {
        return Err(bad("empty target"));
    }
    let mut out = Vec::new();
    for c in path::from_posix(&text) {
        if c.identifier.len() > usize::from(u8::MAX) {
            return Err(bad("a component is longer than 255 bytes of CS0"));
        }
        c.write_to(&mut out).map_err(WriteError::Io)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(encoded_len("abc"), 4);
        assert_eq!(encoded_len("é"), 2);
        assert_eq!(encoded_len("日本"), 5);
        assert_eq!(encoded_len("😀"), 5);
        assert_eq!(file_identifier("日本").len(), encoded_len("日本"));
    }

    #[test]
    fn components() {
        assert_eq!(
            symlink_components(b"/etc/x").unwrap(),
            [2, 0, 0, 0, 5, 4, 0, 0, 8, b'e', b't', b'c', 5, 2, 0, 0, 8, b'x']
        );
        assert_eq!(symlink_components(b"../a/./").unwrap(), [3, 0, 0, 0, 5, 2, 0, 0, 8, b'a', 4, 0, 0, 0]);
        assert!(symlink_components(b"").is_err());
        assert!(symlink_components("x".repeat(300).as_bytes()).is_err());
    }
}

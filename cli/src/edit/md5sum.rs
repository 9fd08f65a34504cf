//! Debian's and Ubuntu's `md5sum.txt`: the list of MD5s at the root of their images, one line per file in the
//! format of GNU `md5sum` (`<32 hex>  ./path`, relative to the image's root), checked with `md5sum -c` inside
//! the mounted image (and by casper's integrity check at boot).
//!
//! An edit keeps the list true for the changed tree: [`Md5sumList`] is parsed from the input's file, told of
//! each change as the edit applies it, and written back. Everything it does not touch is kept as it was: the
//! order, each line's spelling (`./` or not, text or binary marker, line ending), and lines that are not MD5
//! lines (comments, blank lines).

use anyhow::{bail, Result};

/// One line of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    /// `<md5> <mode><prefix><path>`.
    Entry {
        /// The MD5 as written (its case kept until it changes).
        md5: String,
        /// `' '` (text) or `'*'` (binary), the character before the name.
        mode: char,
        /// `./` when the name was written so.
        dot_slash: bool,
        /// The path relative to the image's root, without `./`, unescaped.
        path: String,
        /// The line ending (`\n`, `\r\n` or none on a last line).
        eol: &'static str,
    },
    /// Any other line, kept byte for byte (with its ending).
    Other(Vec<u8>),
}

/// The `md5sum.txt` of an image, edited as the image is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Md5sumList {
    lines: Vec<Line>,
}

/// An image path as the list spells it: no leading `/` or `./`, no trailing `/` (the root is empty).
fn relative(image_path: &str) -> String {
    let p = image_path.trim_start_matches("./").trim_start_matches('/');
    let p = p.strip_prefix("./").unwrap_or(p);
    p.trim_end_matches('/').to_string()
}

/// Whether `path` is `dir` or below it (everything is below the root).
fn under(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// GNU md5sum's escaping of a name: `\\` and `\n` in it, the line then starting with `\`.
fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

impl Md5sumList {
    /// Parses the list. Lines that are not MD5 lines are kept as they are; a list that is not text at all (no
    /// MD5 line, and bytes that are not UTF-8) is an error.
    pub fn parse(bytes: &[u8]) -> Result<Md5sumList> {
        let mut lines = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (line, eol, next): (&[u8], &'static str, &[u8]) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) if i > 0 && rest[i - 1] == b'\r' => (&rest[..i - 1], "\r\n", &rest[i + 1..]),
                Some(i) => (&rest[..i], "\n", &rest[i + 1..]),
                None => (rest, "", &[]),
            };
            rest = next;
            lines.push(Self::parse_line(line, eol).unwrap_or_else(|| {
                let mut raw = line.to_vec();
                raw.extend_from_slice(eol.as_bytes());
                Line::Other(raw)
            }));
        }
        if !lines.iter().any(|l| matches!(l, Line::Entry { .. })) && std::str::from_utf8(bytes).is_err() {
            bail!("md5sum list: no MD5 line, and not text");
        }
        Ok(Md5sumList { lines })
    }

    fn parse_line(line: &[u8], eol: &'static str) -> Option<Line> {
        let text = std::str::from_utf8(line).ok()?;
        let (escaped, text) = match text.strip_prefix('\\') {
            Some(t) => (true, t),
            None => (false, text),
        };
        let md5 = text.get(..32)?;
        if !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let rest = text.get(32..)?;
        let mut it = rest.chars();
        if it.next()? != ' ' {
            return None;
        }
        let mode = it.next()?;
        if mode != ' ' && mode != '*' {
            return None;
        }
        let name = it.as_str();
        let name = if escaped { unescape(name)? } else { name.to_string() };
        let (dot_slash, path) = match name.strip_prefix("./") {
            Some(p) => (true, p.to_string()),
            None => (false, name.trim_start_matches('/').to_string()),
        };
        if path.is_empty() {
            return None;
        }
        Some(Line::Entry { md5: md5.to_string(), mode, dot_slash, path, eol })
    }

    /// The MD5 the list records for `image_path` (as written, hex), if any.
    pub fn get(&self, image_path: &str) -> Option<&str> {
        let p = relative(image_path);
        self.lines.iter().find_map(|l| match l {
            Line::Entry { md5, path, .. } if *path == p => Some(md5.as_str()),
            _ => None,
        })
    }

    /// The paths listed, in order (relative to the image's root, without `./`).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| match l {
            Line::Entry { path, .. } => Some(path.as_str()),
            Line::Other(_) => None,
        })
    }

    /// Drops the line of a file, or the lines of everything under a folder.
    pub fn remove(&mut self, image_path: &str) {
        let p = relative(image_path);
        self.lines.retain(|l| !matches!(l, Line::Entry { path, .. } if under(path, &p)));
    }

    /// Renames the line of a file moved, or the lines of everything under a folder moved, in place.
    pub fn rename(&mut self, from: &str, to: &str) {
        let (from, to) = (relative(from), relative(to));
        if from.is_empty() {
            return;
        }
        for l in &mut self.lines {
            if let Line::Entry { path, .. } = l {
                if under(path, &from) {
                    let tail = &path[from.len()..];
                    *path =
                        if to.is_empty() { tail.trim_start_matches('/').to_string() } else { format!("{to}{tail}") };
                }
            }
        }
    }

    /// Records the MD5 of a file changed (its line updated in place) or added (a line appended, spelled as the
    /// list's first line is).
    pub fn set(&mut self, image_path: &str, new: [u8; 16]) {
        let p = relative(image_path);
        let hex: String = new.iter().map(|b| format!("{b:02x}")).collect();
        for l in &mut self.lines {
            if let Line::Entry { md5, path, .. } = l {
                if *path == p {
                    *md5 = hex;
                    return;
                }
            }
        }
        let (mode, dot_slash, eol) = self
            .lines
            .iter()
            .find_map(|l| match l {
                Line::Entry { mode, dot_slash, eol, .. } => Some((*mode, *dot_slash, *eol)),
                Line::Other(_) => None,
            })
            .unwrap_or((' ', true, "\n"));
        let eol = if eol.is_empty() { "\n" } else { eol };
        // A last line without its ending gets one, so that the new line starts a line of its own.
        match self.lines.last_mut() {
            Some(Line::Entry { eol: last, .. }) if last.is_empty() => *last = eol,
            Some(Line::Other(raw)) if !raw.ends_with(b"\n") => raw.extend_from_slice(eol.as_bytes()),
            _ => {}
        }
        self.lines.push(Line::Entry { md5: hex, mode, dot_slash, path: p, eol });
    }

    /// The list as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for l in &self.lines {
            match l {
                Line::Other(raw) => out.extend_from_slice(raw),
                Line::Entry { md5, mode, dot_slash, path, eol } => {
                    let escape = path.contains(['\\', '\n']);
                    if escape {
                        out.push(b'\\');
                    }
                    out.extend_from_slice(md5.as_bytes());
                    out.push(b' ');
                    out.push(*mode as u8);
                    if *dot_slash {
                        out.extend_from_slice(b"./");
                    }
                    if escape {
                        out.extend_from_slice(path.replace('\\', "\\\\").replace('\n', "\\n").as_bytes());
                    } else {
                        out.extend_from_slice(path.as_bytes());
                    }
                    out.extend_from_slice(eol.as_bytes());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};
    use std::path::Path;
    use std::process::Command;

    fn md5_of(data: &[u8]) -> [u8; 16] {
        Md5::digest(data).into()
    }

    fn write(root: &Path, rel: &str, data: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }

    /// `md5sum -c` of `list` run in `root`: whether every line checks, and its output.
    fn md5sum_check(root: &Path, list: &[u8]) -> (bool, String) {
        std::fs::write(root.join("md5sum.txt"), list).unwrap();
        let out = Command::new("md5sum").args(["-c", "--strict", "md5sum.txt"]).current_dir(root).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A tree listed by GNU md5sum itself (`find . -type f | xargs md5sum`, as debian-cd makes it), then changed
    /// on disk and in the list alike: `md5sum -c` passes on the list as edited, and lines not touched are kept.
    #[test]
    fn edits_checked_by_md5sum() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        write(root, "README.txt", b"readme\n");
        write(root, "boot/grub/grub.cfg", b"menuentry\n");
        write(root, "pool/main/a/a.deb", b"deb a");
        write(root, "pool/main/b/b.deb", b"deb b");
        write(root, "casper/vmlinuz", b"kernel");
        write(root, "dists/stable/Release", b"release");
        let out = Command::new("sh")
            .args(["-c", "find . -type f ! -name md5sum.txt | sort | xargs md5sum"])
            .current_dir(root)
            .output()
            .unwrap();
        assert!(out.status.success());
        let original = out.stdout;
        let mut list = Md5sumList::parse(&original).unwrap();
        assert_eq!(list.to_bytes(), original, "parse and write back is the identity");
        assert_eq!(list.paths().count(), 6);
        assert!(md5sum_check(root, &list.to_bytes()).0);

        // Changed, added, removed (a file and a folder), renamed (a file and a folder).
        write(root, "boot/grub/grub.cfg", b"menuentry autoinstall\n");
        list.set("/boot/grub/grub.cfg", md5_of(b"menuentry autoinstall\n"));
        write(root, "preseed/auto.cfg", b"d-i x");
        list.set("/preseed/auto.cfg", md5_of(b"d-i x"));
        std::fs::remove_file(root.join("README.txt")).unwrap();
        list.remove("/README.txt");
        std::fs::remove_dir_all(root.join("pool/main/a")).unwrap();
        list.remove("/pool/main/a/");
        std::fs::rename(root.join("casper/vmlinuz"), root.join("casper/vmlinuz.old")).unwrap();
        list.rename("/casper/vmlinuz", "/casper/vmlinuz.old");
        std::fs::rename(root.join("dists"), root.join("dists2")).unwrap();
        list.rename("/dists", "/dists2");
        let (ok, text) = md5sum_check(root, &list.to_bytes());
        assert!(ok, "md5sum -c:\n{text}");
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.contains("./preseed/auto.cfg: OK"), "{text}");
        assert!(text.contains("./dists2/stable/Release: OK"), "{text}");
        // The line of a file not touched is the same bytes, in the same place relative to the others.
        let kept = String::from_utf8(list.to_bytes()).unwrap();
        let line = String::from_utf8(original).unwrap().lines().find(|l| l.ends_with("b.deb")).unwrap().to_string();
        assert!(kept.contains(&line));
        assert!(kept.ends_with("./preseed/auto.cfg\n"));
        // A prefix of a name is not its folder.
        list.remove("/pool/main/b/b.de");
        assert!(list.get("pool/main/b/b.deb").is_some());
    }

    /// Names md5sum escapes, binary markers, names without `./`, CRLF endings and lines that are no MD5 lines.
    #[test]
    fn spellings_kept() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        write(root, "a b.txt", b"1");
        write(root, "back\\slash", b"2");
        write(root, "x/y", b"3");
        let out =
            Command::new("md5sum").args(["-b", "a b.txt", "back\\slash", "./x/y"]).current_dir(root).output().unwrap();
        let mut original = b"# generated\n".to_vec();
        original.extend_from_slice(&out.stdout);
        let mut list = Md5sumList::parse(&original).unwrap();
        assert_eq!(list.to_bytes(), original);
        assert_eq!(list.paths().collect::<Vec<_>>(), ["a b.txt", "back\\slash", "x/y"]);
        write(root, "back\\slash", b"22");
        list.set("/back\\slash", md5_of(b"22"));
        write(root, "new\\name", b"4");
        list.set("new\\name", md5_of(b"4"));
        let bytes = list.to_bytes();
        assert!(bytes.starts_with(b"# generated\n"));
        // md5sum -c --strict rejects the comment line: check without it.
        let body = &bytes[b"# generated\n".len()..];
        let (ok, text) = md5sum_check(root, body);
        assert!(ok, "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");

        let crlf = b"d41d8cd98f00b204e9800998ecf8427e  ./empty\r\nd41d8cd98f00b204e9800998ecf8427e  ./e2";
        let mut list = Md5sumList::parse(crlf).unwrap();
        assert_eq!(list.to_bytes(), crlf);
        list.set("/e3", md5_of(b""));
        assert_eq!(
            list.to_bytes(),
            b"d41d8cd98f00b204e9800998ecf8427e  ./empty\r\nd41d8cd98f00b204e9800998ecf8427e  ./e2\r\n\
              d41d8cd98f00b204e9800998ecf8427e  ./e3\r\n"
        );
        assert!(Md5sumList::parse(&[0xff, 0xfe, 0]).is_err());
    }
}

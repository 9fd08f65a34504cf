//! mkisofs's `-hide`, `-hide-joliet` and `-hide-udf` rules, and where each entry of a walked tree came from (which
//! they, and the modes of directories made for graft points, are decided by).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use odix_iso9660::write::{NodeKind, Tree};

/// Whether a `-hide` pattern names the boot catalog: genisoimage matches it against the catalog's path as `-c`
/// gives it (`isolinux/boot.cat`), not against its name alone.
pub(crate) fn names_catalog(pattern: &str, catalog: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(catalog.trim_start_matches('/')))
}

/// Splits a pathspec `IMAGE/PATH=SOURCE` (`\\=` and `\\\\` escape) into the image path and the source.
fn split_pathspec(spec: &OsStr) -> (Option<Vec<u8>>, PathBuf) {
    use std::os::unix::ffi::OsStringExt;
    let b = spec.as_bytes();
    let unescape = |s: &[u8]| -> Vec<u8> {
        let mut v = Vec::with_capacity(s.len());
        let mut it = s.iter().peekable();
        while let Some(&c) = it.next() {
            match (c, it.peek()) {
                (b'\\', Some(&&n)) if n == b'=' || n == b'\\' => {
                    v.push(n);
                    it.next();
                }
                _ => v.push(c),
            }
        }
        v
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'=' => return (Some(unescape(&b[..i])), PathBuf::from(OsString::from_vec(unescape(&b[i + 1..])))),
            _ => i += 1,
        }
    }
    (None, PathBuf::from(spec))
}

/// Where the entries of a walked tree came from, recomputed from the pathspecs (the tree keeps no source paths):
/// the disk path of an entry is the source of the last pathspec that holds it, spelled as that pathspec spells
/// it (`src/a/b.txt` for the pathspec `src`), as genisoimage matches it.
pub(crate) struct SourceMap {
    /// Image path components, source, whether the source is a directory.
    specs: Vec<(Vec<Vec<u8>>, PathBuf, bool)>,
    follow: bool,
}

impl SourceMap {
    pub(crate) fn new(pathspecs: &[OsString], follow: bool) -> SourceMap {
        let specs = pathspecs
            .iter()
            .filter_map(|spec| {
                let (graft, src) = split_pathspec(spec);
                let md = if follow { std::fs::metadata(&src) } else { std::fs::symlink_metadata(&src) };
                let is_dir = md.ok()?.is_dir();
                let target = match graft {
                    Some(g) => g,
                    None if is_dir => Vec::new(),
                    None => src.file_name().map(|n| n.as_encoded_bytes().to_vec()).unwrap_or_default(),
                };
                let parts =
                    target.split(|&c| c == b'/').filter(|p| !p.is_empty() && *p != b".").map(<[u8]>::to_vec).collect();
                Some((parts, src, is_dir))
            })
            .collect();
        SourceMap { specs, follow }
    }

    /// The disk path of the entry at image path `parts`, if a source holds it. With `named` false, the
    /// directory a pathspec names has none (mkisofs never matches it with -hide); the directories made for graft
    /// points never have one.
    fn source(&self, parts: &[&[u8]], is_dir: bool, named: bool) -> Option<PathBuf> {
        for (target, src, src_is_dir) in self.specs.iter().rev() {
            if named
                && *src_is_dir
                && is_dir
                && target.len() == parts.len()
                && target.iter().zip(parts).all(|(a, b)| a == b)
            {
                return Some(src.clone());
            }
            if !*src_is_dir {
                if !is_dir && target.len() == parts.len() && target.iter().zip(parts).all(|(a, b)| a == b) {
                    return Some(src.clone());
                }
                continue;
            }
            if target.len() >= parts.len() || !target.iter().zip(parts).all(|(a, b)| a == b) {
                continue;
            }
            let mut p = src.clone();
            for c in &parts[target.len()..] {
                p.push(OsStr::from_bytes(c));
            }
            let md = if self.follow { std::fs::metadata(&p) } else { std::fs::symlink_metadata(&p) };
            if md.is_ok_and(|m| m.is_dir() == is_dir) {
                return Some(p);
            }
        }
        None
    }

    /// The disk path of every node of `tree` (indexed by node id); `named` as for [`Self::source`].
    pub(crate) fn of_tree(&self, tree: &Tree, named: bool) -> Vec<Option<PathBuf>> {
        let mut paths: Vec<Vec<Vec<u8>>> = vec![Vec::new(); tree.len()];
        let mut out = vec![None; tree.len()];
        if named {
            out[0] = self.source(&[], true, true);
        }
        for id in tree.ids().skip(1) {
            let Some(parent) = tree.parent(id) else { continue };
            let mut p = paths.get(parent.0 as usize).cloned().unwrap_or_default();
            p.push(tree.name(id).unwrap_or_default().to_vec());
            let refs: Vec<&[u8]> = p.iter().map(Vec::as_slice).collect();
            out[id.0 as usize] = self.source(&refs, matches!(tree.kind(id), Some(NodeKind::Dir)), named);
            paths[id.0 as usize] = p;
        }
        out
    }
}

/// `-hide`, `-hide-joliet` and `-hide-udf` patterns. A pattern hides an entry when it matches the entry's name
/// in the image, the name of its source file, or its disk path: as the pathspec spells it (genisoimage) or made
/// absolute against the working directory, the pattern too (xorriso). `*` and `?` do not match `/`. A hidden
/// directory hides its subtree in that tree. Entries with no source file (graft-point directories) are never
/// hidden.
pub(crate) struct HideRules {
    iso: Vec<globset::GlobMatcher>,
    joliet: Vec<globset::GlobMatcher>,
    udf: Vec<globset::GlobMatcher>,
    cwd: Option<PathBuf>,
}

/// `path` made absolute against `cwd` without touching the file system, `.` and `..` resolved.
fn lexical_absolute(cwd: &std::path::Path, path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = if path.is_absolute() { PathBuf::from("/") } else { cwd.to_path_buf() };
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

impl HideRules {
    pub(crate) fn new(iso: &[String], joliet: &[String], udf: &[String]) -> Result<HideRules> {
        let cwd = std::env::current_dir().ok();
        let compile = |opt: &str, pats: &[String]| -> Result<Vec<globset::GlobMatcher>> {
            let mut v = Vec::new();
            for p in pats {
                let glob = |s: &str| {
                    globset::GlobBuilder::new(s)
                        .literal_separator(true)
                        .build()
                        .map(|g| g.compile_matcher())
                        .with_context(|| format!("{opt} {p:?}: not a valid pattern"))
                };
                v.push(glob(p)?);
                // The absolute spelling of a relative pattern, for disk paths given another way.
                if let Some(cwd) = &cwd {
                    let abs = lexical_absolute(cwd, std::path::Path::new(p));
                    if abs.to_str() != Some(p.as_str()) && p.contains('/') {
                        let prefix = globset::escape(&cwd.to_string_lossy());
                        let rel = abs.strip_prefix(cwd).ok().map(|r| r.to_string_lossy().into_owned());
                        let spelled = match rel {
                            Some(r) if !std::path::Path::new(p).is_absolute() => format!("{prefix}/{r}"),
                            _ => abs.to_string_lossy().into_owned(),
                        };
                        v.push(glob(&spelled)?);
                    }
                }
            }
            Ok(v)
        };
        Ok(HideRules {
            iso: compile("-hide", iso)?,
            joliet: compile("-hide-joliet", joliet)?,
            udf: compile("-hide-udf", udf)?,
            cwd,
        })
    }

    pub(crate) fn apply(&self, tree: &mut Tree, sources: &[Option<PathBuf>]) {
        use odix_iso9660::write::{Hidden, NodeId};
        let ids: Vec<NodeId> = tree.ids().skip(1).collect();
        for id in ids {
            let Some(Some(src)) = sources.get(id.0 as usize) else { continue };
            let name = OsStr::from_bytes(tree.name(id).unwrap_or_default()).to_os_string();
            let abs = self.cwd.as_deref().map(|c| lexical_absolute(c, src));
            let candidates: Vec<&OsStr> = [Some(name.as_os_str()), src.file_name(), Some(src.as_os_str())]
                .into_iter()
                .flatten()
                .chain(abs.as_deref().map(std::path::Path::as_os_str))
                .collect();
            let hit = |set: &[globset::GlobMatcher]| set.iter().any(|g| candidates.iter().any(|c| g.is_match(c)));
            let h = Hidden { iso: hit(&self.iso), joliet: hit(&self.joliet), udf: hit(&self.udf) };
            if h != Hidden::default() {
                tree.set_hidden(id, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_patterns() {
        assert!(names_catalog("isolinux/boot.cat", "isolinux/boot.cat"));
        assert!(names_catalog("isolinux/*.cat", "isolinux/boot.cat"));
        assert!(!names_catalog("boot.cat", "isolinux/boot.cat"));
        assert!(!names_catalog("/isolinux/boot.cat", "isolinux/boot.cat"));
        assert!(!names_catalog("isolinux", "isolinux/boot.cat"));
    }
}

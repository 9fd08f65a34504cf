//! Test trees: a fixed "tricky" tree with every hard case a disc image meets, seeded random trees, and a
//! comparison of two trees on disk.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;

/// Which parts of the tricky tree to make (some tools cannot take some of them).
#[derive(Clone, Debug)]
pub struct TreeOptions {
    /// Symlinks: relative, absolute, dangling, to a directory.
    pub symlinks: bool,
    /// A pair of hard links.
    pub hardlinks: bool,
    /// Directories nested 12 deep (past ISO 9660's 8 levels) and a path over 255 bytes.
    pub deep: bool,
    /// Names with characters outside ASCII (all within the Basic Multilingual Plane).
    pub unicode: bool,
    /// A name outside the Basic Multilingual Plane (an emoji), which UCS-2 (Joliet) cannot hold.
    pub non_bmp: bool,
    /// Names longer than 64 characters (Joliet's limit), up to 200 bytes.
    pub long_names: bool,
    /// Names that differ only in case or after truncation to 8.3 / 31 characters.
    pub colliding_names: bool,
    /// Files with modes other than 0644 (0600, 0755, 0444) and a 0700 directory.
    pub modes: bool,
    /// Modification times spread from 1980 to 2040 (else all 2020-01-01).
    pub wide_mtimes: bool,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            symlinks: true,
            hardlinks: true,
            deep: true,
            unicode: true,
            non_bmp: false,
            long_names: true,
            colliding_names: true,
            modes: true,
            wide_mtimes: true,
        }
    }
}

impl TreeOptions {
    /// Only what every reader handles: plain ASCII short names, files and directories.
    pub fn plain() -> Self {
        TreeOptions {
            symlinks: false,
            hardlinks: false,
            deep: false,
            unicode: false,
            non_bmp: false,
            long_names: false,
            colliding_names: false,
            modes: false,
            wide_mtimes: false,
        }
    }
}

/// Seconds since 1970 for some dates used in the tree.
const T1980: i64 = 315_532_800 + 3600; // 1980-01-01T01:00:00Z
const T2000: i64 = 946_684_800; // 2000-01-01T00:00:00Z
const T2020: i64 = 1_577_836_800; // 2020-01-01T00:00:00Z
const T2038: i64 = 2_147_483_648 + 86_400; // past the signed 32-bit second counter
const T2040: i64 = 2_208_988_800; // 2040-01-01T00:00:00Z

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ ((i >> 8) as u8)).collect()
}

fn write_file(path: &Path, data: &[u8], mode: u32, mtime: i64) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    drop(f);
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    filetime::set_file_times(path, FileTime::from_unix_time(mtime, 0), FileTime::from_unix_time(mtime, 0))
}

/// Makes the tricky test tree inside `dir` (which must exist and be empty).
pub fn tricky_tree(dir: &Path, opts: &TreeOptions) -> io::Result<()> {
    let wide = |t: i64| if opts.wide_mtimes { t } else { T2020 };
    let mut dirs: Vec<(PathBuf, i64)> = Vec::new();

    write_file(&dir.join("empty.txt"), b"", 0o644, wide(T2000))?;
    write_file(&dir.join("hello.txt"), b"hello, odix\n", 0o644, wide(T1980))?;
    write_file(&dir.join("s2048.bin"), &content(2048, 1), 0o644, wide(T2020))?;
    write_file(&dir.join("s2049.bin"), &content(2049, 2), 0o644, wide(T2038))?;
    write_file(&dir.join("big.bin"), &content(300_000, 3), 0o644, wide(T2040))?;
    write_file(&dir.join("multi.dot.name.tar.gz"), b"dots\n", 0o644, T2020)?;
    write_file(&dir.join("with space.txt"), b"space\n", 0o644, T2020)?;
    write_file(&dir.join(".hidden"), b"hidden\n", 0o644, T2020)?;
    fs::create_dir(dir.join("emptydir"))?;
    dirs.push((dir.join("emptydir"), wide(T2000)));
    let sub = dir.join("sub");
    fs::create_dir(&sub)?;
    write_file(&sub.join("inner.txt"), b"inner\n", 0o644, T2020)?;
    dirs.push((sub.clone(), wide(T1980)));

    if opts.modes {
        write_file(&dir.join("private.txt"), b"secret\n", 0o600, T2020)?;
        write_file(&dir.join("script.sh"), b"#!/bin/sh\necho hi\n", 0o755, T2020)?;
        write_file(&dir.join("readonly.txt"), b"read only\n", 0o444, T2020)?;
        let p = dir.join("privdir");
        fs::create_dir(&p)?;
        write_file(&p.join("x.txt"), b"x\n", 0o644, T2020)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o700))?;
        dirs.push((p, T2020));
    }
    if opts.unicode {
        write_file(&dir.join("日本語のファイル.txt"), "日本語\n".as_bytes(), 0o644, T2020)?;
        write_file(&dir.join("Ünïcödé ñame.txt"), "ü\n".as_bytes(), 0o644, T2020)?;
        let d = dir.join("Ελληνικά");
        fs::create_dir(&d)?;
        write_file(&d.join("ψ.txt"), "ψ\n".as_bytes(), 0o644, T2020)?;
        dirs.push((d, T2020));
    }
    if opts.non_bmp {
        write_file(&dir.join("emoji_😀.txt"), "😀\n".as_bytes(), 0o644, T2020)?;
    }
    if opts.long_names {
        let n100 = format!("{}.txt", "long_name_".repeat(10));
        write_file(&dir.join(&n100), b"100\n", 0o644, T2020)?;
        let n200 = format!("{}.dat", "L".repeat(196));
        write_file(&dir.join(&n200), b"200\n", 0o644, T2020)?;
    }
    if opts.colliding_names {
        write_file(&dir.join("case.txt"), b"lower\n", 0o644, T2020)?;
        write_file(&dir.join("CASE.TXT"), b"upper\n", 0o644, T2020)?;
        for i in 1..=3 {
            let n = format!("collision_long_file_name_prefix_same_{i}.txt");
            write_file(&dir.join(n), format!("collide {i}\n").as_bytes(), 0o644, T2020)?;
        }
        write_file(&dir.join("abcdefghij1.txt"), b"a1\n", 0o644, T2020)?;
        write_file(&dir.join("abcdefghij2.txt"), b"a2\n", 0o644, T2020)?;
    }
    if opts.deep {
        let mut p = dir.join("deep");
        fs::create_dir(&p)?;
        let mut chain = vec![p.clone()];
        for i in 2..=12 {
            p = p.join(format!("level{i:02}"));
            fs::create_dir(&p)?;
            chain.push(p.clone());
        }
        write_file(&p.join("bottom.txt"), b"deep inside\n", 0o644, T2020)?;
        // A path over 255 bytes, with short-enough components.
        let mut q = dir.join("longpath");
        fs::create_dir(&q)?;
        chain.push(q.clone());
        for i in 0..5 {
            q = q.join(format!("component_{i}_{}", "x".repeat(50)));
            fs::create_dir(&q)?;
            chain.push(q.clone());
        }
        write_file(&q.join("end.txt"), b"long path\n", 0o644, T2020)?;
        for c in chain {
            dirs.push((c, wide(T2000)));
        }
    }
    if opts.symlinks {
        std::os::unix::fs::symlink("hello.txt", dir.join("link_rel"))?;
        std::os::unix::fs::symlink("/etc/hostname", dir.join("link_abs"))?;
        std::os::unix::fs::symlink("does/not/exist", dir.join("link_dangling"))?;
        std::os::unix::fs::symlink("sub", dir.join("link_dir"))?;
        std::os::unix::fs::symlink("../hello.txt", sub.join("link_up"))?;
        for l in ["link_rel", "link_abs", "link_dangling", "link_dir"] {
            let t = FileTime::from_unix_time(T2020, 0);
            filetime::set_symlink_file_times(dir.join(l), t, t)?;
        }
        let t = FileTime::from_unix_time(T2020, 0);
        filetime::set_symlink_file_times(sub.join("link_up"), t, t)?;
    }
    if opts.hardlinks {
        write_file(&dir.join("hard_a.txt"), b"one inode, two names\n", 0o644, T2020)?;
        fs::hard_link(dir.join("hard_a.txt"), sub.join("hard_b.txt"))?;
    }
    // Directory times last, deepest first: creating entries changes them.
    dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (p, t) in dirs {
        filetime::set_file_times(&p, FileTime::from_unix_time(t, 0), FileTime::from_unix_time(t, 0))?;
    }
    Ok(())
}

/// A small deterministic generator (xorshift64*), so that a seed names a tree.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// Makes a random tree of about `entries` entries in `dir` (which must exist), determined by `seed`. Names
/// use ASCII letters, digits, `_-.` and, when `unicode` is set, a few BMP letters; sizes are mostly small with
/// some crossing sector boundaries. No symlinks or hard links.
pub fn random_tree(dir: &Path, seed: u64, entries: usize, unicode: bool) -> io::Result<()> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let alphabet: Vec<char> = if unicode {
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-éßøλжя中".chars().collect()
    } else {
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-".chars().collect()
    };
    let mut dirs = vec![dir.to_path_buf()];
    let mut made = 0usize;
    while made < entries {
        let parent = dirs[rng.below(dirs.len() as u64) as usize].clone();
        let len = 1 + rng.below(24) as usize;
        let mut name: String = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
        if rng.below(3) == 0 {
            name.push_str(".dat");
        }
        let path = parent.join(&name);
        if fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        if rng.below(5) == 0 && parent.components().count() < dir.components().count() + 6 {
            fs::create_dir(&path)?;
            dirs.push(path);
        } else {
            let size = match rng.below(10) {
                0 => 0,
                1 => 2048,
                2 => 2049 + rng.below(10_000) as usize,
                _ => rng.below(3000) as usize,
            };
            let seed = rng.next() as u8;
            let mtime = 315_532_800 + rng.below(2_000_000_000) as i64;
            write_file(&path, &content(size, seed), 0o644, mtime)?;
        }
        made += 1;
    }
    Ok(())
}

/// What [`compare_trees`] compares beyond names, types, sizes, contents and link targets.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    /// Permission bits (`mode & 0o7777`).
    pub modes: bool,
    /// Modification times of files and symlinks (whole seconds).
    pub mtimes: bool,
    /// Modification times of directories too.
    pub dir_mtimes: bool,
    /// Hard links: names sharing an inode in the expected tree share one in the actual tree.
    pub hardlinks: bool,
    /// Symlinks are compared (else entries that are symlinks in the expected tree are ignored).
    pub symlinks: bool,
    /// Entries present only in the actual tree are accepted.
    pub extra_ok: bool,
    /// Relative paths (from the root, `/`-separated) that are ignored on both sides.
    pub ignore: Vec<String>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            modes: true,
            mtimes: true,
            dir_mtimes: false,
            hardlinks: true,
            symlinks: true,
            extra_ok: false,
            ignore: Vec::new(),
        }
    }
}

impl CompareOptions {
    /// Names, types, sizes and contents only.
    pub fn contents_only() -> Self {
        CompareOptions {
            modes: false,
            mtimes: false,
            dir_mtimes: false,
            hardlinks: false,
            symlinks: false,
            extra_ok: false,
            ignore: Vec::new(),
        }
    }
}

fn same_contents(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = f.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

fn list(root: &Path, opts: &CompareOptions) -> io::Result<Vec<(String, fs::Metadata)>> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((p, rel)) = stack.pop() {
        for e in fs::read_dir(&p)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            if opts.ignore.iter().any(|i| *i == r || r.starts_with(&format!("{i}/"))) {
                continue;
            }
            let m = fs::symlink_metadata(e.path())?;
            if m.file_type().is_symlink() && !opts.symlinks {
                continue;
            }
            if m.is_dir() {
                stack.push((e.path(), r.clone()));
            }
            out.push((r, m));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Compares tree `actual` against tree `expected` and returns every difference found, one line each (empty
/// when they agree).
pub fn compare_trees(expected: &Path, actual: &Path, opts: &CompareOptions) -> Vec<String> {
    let mut diffs = Vec::new();
    let exp = match list(expected, opts) {
        Ok(l) => l,
        Err(e) => return vec![format!("cannot list {}: {e}", expected.display())],
    };
    let act = match list(actual, opts) {
        Ok(l) => l,
        Err(e) => return vec![format!("cannot list {}: {e}", actual.display())],
    };
    let act_map: HashMap<&str, &fs::Metadata> = act.iter().map(|(r, m)| (r.as_str(), m)).collect();
    let mut inode_map: HashMap<(u64, u64), (u64, u64)> = HashMap::new();
    for (rel, em) in &exp {
        let Some(am) = act_map.get(rel.as_str()) else {
            diffs.push(format!("{rel}: missing"));
            continue;
        };
        let (ep, ap) = (expected.join(rel), actual.join(rel));
        let et = em.file_type();
        let at = am.file_type();
        if et.is_dir() != at.is_dir() || et.is_file() != at.is_file() || et.is_symlink() != at.is_symlink() {
            diffs.push(format!("{rel}: type differs ({et:?} vs {at:?})"));
            continue;
        }
        if et.is_symlink() {
            let (a, b) = (fs::read_link(&ep).ok(), fs::read_link(&ap).ok());
            if a != b {
                diffs.push(format!("{rel}: link target {a:?} vs {b:?}"));
            }
        } else if et.is_file() {
            if em.len() != am.len() {
                diffs.push(format!("{rel}: size {} vs {}", em.len(), am.len()));
            } else {
                match same_contents(&ep, &ap) {
                    Ok(true) => {}
                    Ok(false) => diffs.push(format!("{rel}: contents differ")),
                    Err(e) => diffs.push(format!("{rel}: cannot compare: {e}")),
                }
            }
            if opts.hardlinks && em.nlink() > 1 {
                let key = (em.dev(), em.ino());
                let val = (am.dev(), am.ino());
                match inode_map.get(&key) {
                    Some(v) if *v != val => diffs.push(format!("{rel}: hard link not preserved")),
                    Some(_) => {}
                    None => {
                        inode_map.insert(key, val);
                    }
                }
            }
        }
        if opts.modes && !et.is_symlink() && em.mode() & 0o7777 != am.mode() & 0o7777 {
            diffs.push(format!("{rel}: mode {:o} vs {:o}", em.mode() & 0o7777, am.mode() & 0o7777));
        }
        let check_time = opts.mtimes && (!et.is_dir() || opts.dir_mtimes);
        if check_time && em.mtime() != am.mtime() {
            diffs.push(format!("{rel}: mtime {} vs {}", em.mtime(), am.mtime()));
        }
    }
    if !opts.extra_ok {
        let exp_set: std::collections::HashSet<&str> = exp.iter().map(|(r, _)| r.as_str()).collect();
        for (rel, _) in &act {
            if !exp_set.contains(rel.as_str()) {
                diffs.push(format!("{rel}: unexpected extra entry"));
            }
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tricky_tree_compares_equal_to_a_copy_and_detects_changes() {
        let base = std::env::temp_dir().join(format!("odix-td-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let (a, b) = (base.join("a"), base.join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        tricky_tree(&a, &TreeOptions::default()).unwrap();
        tricky_tree(&b, &TreeOptions::default()).unwrap();
        assert_eq!(
            compare_trees(&a, &b, &CompareOptions { dir_mtimes: true, ..Default::default() }),
            Vec::<String>::new()
        );
        fs::write(b.join("hello.txt"), b"HELLO, ODIX\n").unwrap();
        fs::remove_file(b.join("empty.txt")).unwrap();
        let d = compare_trees(&a, &b, &CompareOptions::contents_only());
        assert!(d.iter().any(|l| l.starts_with("hello.txt: contents differ")), "{d:?}");
        assert!(d.iter().any(|l| l == "empty.txt: missing"), "{d:?}");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn random_tree_is_determined_by_its_seed() {
        let base = std::env::temp_dir().join(format!("odix-rt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let (a, b) = (base.join("a"), base.join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        random_tree(&a, 7, 200, true).unwrap();
        random_tree(&b, 7, 200, true).unwrap();
        assert_eq!(compare_trees(&a, &b, &CompareOptions::default()), Vec::<String>::new());
        assert_eq!(list(&a, &CompareOptions::default()).unwrap().len(), 200);
        fs::remove_dir_all(&base).unwrap();
    }
}

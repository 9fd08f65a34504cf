//! Walking the sources into the writer's neutral [`Tree`]: graft points, exclusion, hidden files, hard links,
//! time clamping, rational Rock Ridge, deduplication and zisofs decisions. File contents stay on disk; the
//! [`DataTable`] records where each data item comes from.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::hash::Hasher;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use odix_iso9660::write::{zisofs, DataId, DeviceKind, FileData, Meta, NodeId, NodeKind, Tree};

/// One stored run of file data.
#[derive(Debug, Clone)]
pub struct DataItem {
    /// Where the source file's path starts in the table's path bytes (read it with [`DataTable::path`]).
    path_at: u64,
    /// Bytes stored on the image (the compressed size for zisofs).
    pub stored_size: u64,
    /// Uncompressed size when stored as zisofs.
    pub zisofs: Option<u32>,
    /// Sort weight: heavier items are placed first.
    pub weight: i64,
}

impl DataItem {
    /// The source file's size when walked, in bytes (32 bytes an item keep a build of many small files small).
    pub fn source_size(&self) -> u64 {
        self.zisofs.map_or(self.stored_size, u64::from)
    }
}

/// All data items of a build, indexed by [`DataId`].
#[derive(Debug, Default)]
pub struct DataTable {
    items: Vec<DataItem>,
    /// For each item, the item holding identical bytes (itself unless deduplicated).
    pub alias: Vec<u32>,
    /// Every item's source path, each ended by a NUL byte (which no path holds): one allocation instead of one per
    /// file (a `PathBuf` and its heap block cost about 60 bytes for a short path, a quarter of what a build keeps
    /// per entry).
    paths: Vec<u8>,
}

impl DataTable {
    /// The item with this id.
    pub fn item(&self, id: DataId) -> Option<&DataItem> {
        self.items.get(id.0 as usize)
    }

    /// Every item, by id.
    pub fn items(&self) -> &[DataItem] {
        &self.items
    }

    /// The source path of `item` (an item of this table).
    pub fn path(&self, item: &DataItem) -> &Path {
        let start = usize::try_from(item.path_at).unwrap_or(usize::MAX);
        let rest = self.paths.get(start..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Path::new(OsStr::from_bytes(&rest[..len]))
    }

    fn push(
        &mut self,
        path: &Path,
        source_size: u64,
        stored_size: u64,
        zisofs: Option<u32>,
        weight: i64,
    ) -> Result<DataId> {
        let bytes = path.as_os_str().as_bytes();
        if bytes.contains(&0)
            || zisofs.is_some_and(|z| u64::from(z) != source_size)
            || (zisofs.is_none() && stored_size != source_size)
        {
            bail!("{}: inconsistent data item", path.display());
        }
        let item = DataItem { path_at: self.paths.len() as u64, stored_size, zisofs, weight };
        self.paths.extend_from_slice(bytes);
        self.paths.push(0);
        let id = DataId(self.items.len() as u32);
        self.alias.push(id.0);
        self.items.push(item);
        Ok(id)
    }
}

/// How sources are read.
#[derive(Debug, Default, Clone)]
pub struct WalkOptions {
    /// Glob patterns; an entry whose name, path relative to its source, or full source path matches is left out.
    pub exclude: Vec<String>,
    /// Follow symbolic links and store what they point to.
    pub follow_links: bool,
    /// Keep entries whose name starts with `.`.
    pub hidden: bool,
    /// uid/gid 0, everything readable by all, write bits cleared (mkisofs `-r`).
    pub rational_rock: bool,
    /// Clamp every time later than this (`SOURCE_DATE_EPOCH`).
    pub clamp_time: Option<i64>,
    /// Time given to directories the graft points create.
    pub now: i64,
    /// Store files zisofs-compressed when that saves space.
    pub zisofs: bool,
    /// `(pattern, weight)` pairs from a sort file; the first match gives a source path its weight.
    pub sort: Vec<(String, i64)>,
}

/// The result of a walk.
pub struct Walked {
    /// The tree to write.
    pub tree: Tree,
    /// Where file data comes from.
    pub data: DataTable,
    /// Name of the first folder source (for the default volume id).
    pub first_dir_name: Option<OsString>,
    /// Entries left out because they are hidden.
    pub hidden_skipped: u64,
}

struct Walker<'o> {
    opts: &'o WalkOptions,
    exclude: GlobSet,
    sort: Vec<(globset::GlobMatcher, i64)>,
    tree: Tree,
    data: DataTable,
    links: HashMap<(u64, u64), (DataId, u32, FileData)>,
    next_link_ino: u32,
    hidden_skipped: u64,
}

fn split_graft(spec: &OsStr) -> (Option<Vec<u8>>, PathBuf) {
    let b = spec.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => i += 2,
            b'=' => {
                let unescape = |s: &[u8]| -> Vec<u8> {
                    let mut v = Vec::with_capacity(s.len());
                    let mut k = 0;
                    while k < s.len() {
                        if s[k] == b'\\' && k + 1 < s.len() && (s[k + 1] == b'=' || s[k + 1] == b'\\') {
                            k += 1;
                        }
                        v.push(s[k]);
                        k += 1;
                    }
                    v
                };
                return (Some(unescape(&b[..i])), PathBuf::from(OsString::from_vec(unescape(&b[i + 1..]))));
            }
            _ => i += 1,
        }
    }
    (None, PathBuf::from(spec))
}

fn device_numbers(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

impl Walker<'_> {
    fn meta_of(&self, md: &Metadata, is_dir: bool) -> Meta {
        let clamp = |t: i64| match self.opts.clamp_time {
            Some(c) => t.min(c),
            None => t,
        };
        let mtime = clamp(md.mtime());
        // With SOURCE_DATE_EPOCH the build must not depend on when files were last read or chmod-ed: access
        // and change times are recorded as the modification time.
        let (atime, ctime) = match self.opts.clamp_time {
            Some(_) => (mtime, mtime),
            None => (md.atime(), md.ctime()),
        };
        let mut m = Meta { perm: md.mode() & 0o7777, uid: md.uid(), gid: md.gid(), mtime, atime, ctime, ino: 0 };
        if self.opts.rational_rock {
            m.uid = 0;
            m.gid = 0;
            m.perm = if is_dir || m.perm & 0o111 != 0 { 0o555 } else { 0o444 };
        }
        m
    }

    fn default_dir_meta(&self) -> Meta {
        let t = self.opts.clamp_time.map_or(self.opts.now, |c| self.opts.now.min(c));
        Meta { perm: 0o755, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, ino: 0 }
    }

    fn excluded(&self, name: &OsStr, rel: &Path, full: &Path) -> bool {
        !self.exclude.is_empty()
            && (self.exclude.is_match(name) || self.exclude.is_match(rel) || self.exclude.is_match(full))
    }

    fn weight(&self, full: &Path, image: &[u8]) -> i64 {
        let image = Path::new(OsStr::from_bytes(image));
        self.sort.iter().find(|(g, _)| g.is_match(full) || g.is_match(image)).map_or(0, |(_, w)| *w)
    }

    /// Creates (or finds) the directory at image path `components` under the root.
    fn ensure_dir(&mut self, components: &[&[u8]]) -> Result<NodeId> {
        let mut cur = Tree::ROOT;
        for c in components {
            cur = match self.tree.lookup(cur, c) {
                Some(id) if matches!(self.tree.kind(id), Some(NodeKind::Dir)) => id,
                Some(id) => {
                    let m = self.default_dir_meta();
                    self.tree.replace(id, NodeKind::Dir, m);
                    id
                }
                None => {
                    let m = self.default_dir_meta();
                    self.tree.add(cur, c, NodeKind::Dir, m)?
                }
            };
        }
        Ok(cur)
    }

    /// Adds or replaces `name` under `parent`; directories merge with an existing directory of that name.
    fn put(&mut self, parent: NodeId, name: &[u8], kind: NodeKind, meta: Meta) -> Result<NodeId> {
        match self.tree.lookup(parent, name) {
            Some(id) => {
                let merge = matches!(kind, NodeKind::Dir) && matches!(self.tree.kind(id), Some(NodeKind::Dir));
                if !merge || id != Tree::ROOT {
                    self.tree.replace(id, kind, meta);
                }
                Ok(id)
            }
            None => Ok(self.tree.add(parent, name, kind, meta)?),
        }
    }

    fn file_kind(&mut self, path: &Path, md: &Metadata, image_path: &[u8], meta: &mut Meta) -> Result<NodeKind> {
        let ft = md.file_type();
        if ft.is_dir() {
            return Ok(NodeKind::Dir);
        }
        if ft.is_symlink() {
            let t = fs::read_link(path).with_context(|| format!("reading link {}", path.display()))?;
            return Ok(NodeKind::Symlink(t.into_os_string().into_vec().into()));
        }
        if ft.is_char_device() || ft.is_block_device() {
            let (major, minor) = device_numbers(md.rdev());
            let kind = if ft.is_char_device() { DeviceKind::Char } else { DeviceKind::Block };
            return Ok(NodeKind::Device { kind, major, minor });
        }
        if ft.is_fifo() {
            return Ok(NodeKind::Fifo);
        }
        if ft.is_socket() {
            return Ok(NodeKind::Socket);
        }
        let key = (md.dev(), md.ino());
        if md.nlink() > 1 {
            if let Some((_, ino, fd)) = self.links.get(&key) {
                meta.ino = *ino;
                return Ok(NodeKind::File(*fd));
            }
        }
        let size = md.len();
        let (stored_size, zis) = if self.opts.zisofs && size > zisofs::BLOCK as u64 / 2 && size < u64::from(u32::MAX) {
            let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let c = zisofs::compressed_size(&mut BufReader::new(f), size as u32)
                .with_context(|| format!("compressing {}", path.display()))?;
            if c.div_ceil(2048) < size.div_ceil(2048) {
                (c, Some(size as u32))
            } else {
                (size, None)
            }
        } else {
            (size, None)
        };
        let weight = self.weight(path, image_path);
        let data = self.data.push(path, size, stored_size, zis, weight)?;
        let fd = FileData { data, stored_size, zisofs_size: zis };
        if md.nlink() > 1 {
            self.next_link_ino += 1;
            meta.ino = self.next_link_ino;
            self.links.insert(key, (data, meta.ino, fd));
        }
        Ok(NodeKind::File(fd))
    }

    fn stat(&self, path: &Path) -> Result<Metadata> {
        let md = if self.opts.follow_links { fs::metadata(path) } else { fs::symlink_metadata(path) };
        md.with_context(|| format!("reading {}", path.display()))
    }

    fn add_source(&mut self, spec: &OsStr, first_dir: &mut Option<OsString>) -> Result<()> {
        let (graft, src) = split_graft(spec);
        let md = self.stat(&src)?;
        let src_name = src.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
        if md.is_dir() && first_dir.is_none() {
            *first_dir = Some(
                fs::canonicalize(&src)
                    .ok()
                    .and_then(|p| p.file_name().map(OsStr::to_os_string))
                    .unwrap_or_else(|| OsString::from("CDROM")),
            );
        }
        let target: Vec<u8> = match graft {
            Some(g) => g,
            None if md.is_dir() => Vec::new(),
            None => src_name.clone(),
        };
        let parts: Vec<&[u8]> = target.split(|&c| c == b'/').filter(|p| !p.is_empty() && *p != b".").collect();
        if parts.iter().any(|p| *p == b"..") {
            bail!("graft point {:?} must not contain ..", String::from_utf8_lossy(&target));
        }
        let node = if md.is_dir() {
            let dir = self.ensure_dir(&parts)?;
            let m = self.meta_of(&md, true);
            if let Some(mm) = self.tree.meta_mut(dir) {
                *mm = m;
            }
            dir
        } else {
            let (last, dirs) = match parts.split_last() {
                Some(x) => x,
                None => bail!("{}: a file source needs a name in the image", src.display()),
            };
            let parent = self.ensure_dir(dirs)?;
            let mut meta = self.meta_of(&md, false);
            let kind = self.file_kind(&src, &md, &target, &mut meta)?;
            self.put(parent, last, kind, meta)?;
            return Ok(());
        };
        let mut walker = walkdir::WalkDir::new(&src).follow_links(self.opts.follow_links).min_depth(1);
        walker = walker.sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()));
        let mut it = walker.into_iter();
        let mut stack: Vec<NodeId> = vec![node];
        // Directories this walk created (or found empty) cannot hold a name yet: adding to them skips the
        // lookup, which keeps huge directories linear.
        let mut fresh: HashSet<NodeId> = HashSet::new();
        if self.tree.children(node).is_empty() {
            fresh.insert(node);
        }
        while let Some(entry) = it.next() {
            let entry = entry.with_context(|| format!("walking {}", src.display()))?;
            let name = entry.file_name();
            let rel = entry.path().strip_prefix(&src).unwrap_or(entry.path());
            let depth = entry.depth();
            let is_dir = entry.file_type().is_dir();
            let skip =
                (!self.opts.hidden && name.as_bytes().first() == Some(&b'.')) || self.excluded(name, rel, entry.path());
            if skip {
                if !self.opts.hidden && name.as_bytes().first() == Some(&b'.') {
                    self.hidden_skipped += 1;
                }
                if is_dir {
                    it.skip_current_dir();
                }
                continue;
            }
            stack.truncate(depth);
            let parent = *stack.last().context("walk stack underflow")?;
            let md = if self.opts.follow_links {
                entry.metadata().with_context(|| format!("reading {}", entry.path().display()))?
            } else {
                self.stat(entry.path())?
            };
            let mut image_path = target.clone();
            image_path.push(b'/');
            image_path.extend_from_slice(rel.as_os_str().as_bytes());
            let mut meta = self.meta_of(&md, is_dir);
            let kind = self.file_kind(entry.path(), &md, &image_path, &mut meta)?;
            let id = if fresh.contains(&parent) {
                self.tree.add(parent, name.as_bytes(), kind, meta)?
            } else {
                self.put(parent, name.as_bytes(), kind, meta)?
            };
            if is_dir {
                if self.tree.children(id).is_empty() {
                    fresh.insert(id);
                }
                stack.push(id);
            }
        }
        Ok(())
    }
}

/// Walks every source (a folder, a file, or `PATH/IN/IMAGE=SOURCE`) into one tree. Later sources replace
/// earlier entries of the same path; folders merge.
pub fn walk(sources: &[OsString], opts: &WalkOptions) -> Result<Walked> {
    let mut gb = GlobSetBuilder::new();
    for p in &opts.exclude {
        gb.add(Glob::new(p).with_context(|| format!("bad --exclude pattern {p:?}"))?);
    }
    let sort = opts
        .sort
        .iter()
        .map(|(p, w)| Ok((Glob::new(p).with_context(|| format!("bad sort pattern {p:?}"))?.compile_matcher(), *w)))
        .collect::<Result<Vec<_>>>()?;
    let mut w = Walker {
        opts,
        exclude: gb.build()?,
        sort,
        tree: Tree::new(Meta::default()),
        data: DataTable::default(),
        links: HashMap::new(),
        next_link_ino: 0,
        hidden_skipped: 0,
    };
    let root_meta = w.default_dir_meta();
    if let Some(m) = w.tree.meta_mut(Tree::ROOT) {
        *m = root_meta;
    }
    let mut first_dir = None;
    for s in sources {
        w.add_source(s, &mut first_dir)?;
    }
    Ok(Walked { tree: w.tree, data: w.data, first_dir_name: first_dir, hidden_skipped: w.hidden_skipped })
}

fn content_hash(path: &Path) -> io::Result<u64> {
    let mut f = File::open(path)?;
    let mut h = std::hash::DefaultHasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.write(&buf[..n]);
    }
}

fn same_contents(a: &Path, b: &Path) -> io::Result<bool> {
    let mut fa = BufReader::with_capacity(256 * 1024, File::open(a)?);
    let mut fb = BufReader::with_capacity(256 * 1024, File::open(b)?);
    let mut ba = vec![0u8; 64 * 1024];
    let mut bb = vec![0u8; 64 * 1024];
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

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Finds data items with identical stored bytes and points each duplicate at the first one (`alias`). Sizes
/// group candidates, a hash splits groups, and a byte comparison confirms every match.
pub fn dedup(data: &mut DataTable) -> Result<u64> {
    let mut by_size: HashMap<(u64, Option<u32>), Vec<u32>> = HashMap::new();
    for (i, it) in data.items.iter().enumerate() {
        if it.stored_size > 0 {
            by_size.entry((it.source_size(), it.zisofs)).or_default().push(i as u32);
        }
    }
    let mut saved = 0u64;
    let mut groups: Vec<Vec<u32>> = by_size.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    for group in groups {
        let mut by_hash: HashMap<u64, Vec<u32>> = HashMap::new();
        for &i in &group {
            let p = data.path(&data.items[i as usize]);
            let h = content_hash(p).with_context(|| format!("reading {}", p.display()))?;
            by_hash.entry(h).or_default().push(i);
        }
        let mut buckets: Vec<Vec<u32>> = by_hash.into_values().collect();
        buckets.sort();
        for bucket in buckets {
            let mut reps: Vec<u32> = Vec::new();
            for &i in &bucket {
                let p = data.path(&data.items[i as usize]);
                let mut found = None;
                for &r in &reps {
                    if same_contents(data.path(&data.items[r as usize]), p)
                        .with_context(|| format!("comparing {}", p.display()))?
                    {
                        found = Some(r);
                        break;
                    }
                }
                match found {
                    Some(r) => {
                        data.alias[i as usize] = r;
                        saved += data.items[i as usize].stored_size;
                    }
                    None => reps.push(i),
                }
            }
        }
    }
    Ok(saved)
}

/// Reads a sort file: one `PATTERN WEIGHT` per line (the weight is the last whitespace-separated field, so
/// patterns may hold spaces); blank lines and lines starting with `#` are ignored.
pub fn read_sort_file(path: &Path) -> Result<Vec<(String, i64)>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading sort file {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (pat, w) = line
            .rsplit_once(char::is_whitespace)
            .with_context(|| format!("{}:{}: expected PATH WEIGHT", path.display(), n + 1))?;
        let w: i64 =
            w.parse().with_context(|| format!("{}:{}: weight {w:?} is not a number", path.display(), n + 1))?;
        out.push((pat.trim().to_string(), w));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graft_points() {
        assert_eq!(split_graft(OsStr::new("a/b=src")), (Some(b"a/b".to_vec()), PathBuf::from("src")));
        assert_eq!(split_graft(OsStr::new("x\\=y=z")), (Some(b"x=y".to_vec()), PathBuf::from("z")));
        assert_eq!(split_graft(OsStr::new("plain")), (None, PathBuf::from("plain")));
    }

    #[test]
    fn device_number_split() {
        assert_eq!(device_numbers(0x0801), (8, 1));
        assert_eq!(device_numbers((259 << 8) | 5), (259, 5));
    }
}

//! Walking the sources into the writer's neutral [`Tree`]: graft points, exclusion, hidden files, hard links,
//! time clamping, rational Rock Ridge, deduplication and zisofs decisions. File contents stay on disk; the
//! [`DataTable`] records where each data item comes from.
//!
//! # Deep trees
//! Folders are read relative to open folder descriptors (`openat`, `fstatat`, `readlinkat`), never through a
//! path from the source's top, so a tree whose paths pass `PATH_MAX` (4096 bytes) builds like any other: depth
//! is limited only by the image formats. File data is found the same way at emit time ([`DataTable::open`]):
//! each item records its folder and its name, and [`OpenDirs`] keeps the chain of folders down to the last one
//! used open, at most [`MAX_OPEN_DIRS`] of them, reopening a dropped one by name from its nearest open
//! ancestor.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::hash::Hasher;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use odix_iso9660::write::{zisofs, DataId, DeviceKind, FileData, Meta, NodeId, NodeKind, Tree};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::compare::same_contents;

/// Folder descriptors [`OpenDirs`] keeps open at once (besides the source folder itself): far below the usual
/// limit of 1024 descriptors, and deep enough that a walk in tree order rarely reopens a folder.
pub const MAX_OPEN_DIRS: usize = 32;

/// A [`DataItem`] or folder with no parent folder: its name is a path as the user gave it.
const NO_DIR: u32 = u32::MAX;

/// The folder of a [`DataItem`] whose bytes lie in the input image of an edit: its `name_at` indexes
/// [`DataTable::image_runs`].
const IN_IMAGE: u32 = u32::MAX - 1;

/// A run of an input image's bytes: `(offset, length)` in the image's 2048-byte sector space; an offset of
/// [`ZERO_RUN`] stands for zeros (an unrecorded or sparse extent).
pub type ImageRun = (u64, u64);

/// The offset of a run of zeros.
pub const ZERO_RUN: u64 = u64::MAX;

/// The input image of an edit, which image data items are copied from.
pub struct InputImage {
    /// The image file, when its bytes are the sectors (copied in the kernel).
    pub file: Option<File>,
    /// A reader of the sectors otherwise (a raw image read through its sheet).
    pub reader: std::sync::Mutex<Box<dyn ReadSeek + Send>>,
    /// The image's path, for messages.
    pub path: PathBuf,
}

/// `Read + Seek`, as one trait object.
pub trait ReadSeek: Read + io::Seek {}
impl<T: Read + io::Seek> ReadSeek for T {}

impl std::fmt::Debug for InputImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputImage").field("path", &self.path).finish_non_exhaustive()
    }
}

/// A source folder: its parent folder and its name (the path as given for a source's top folder).
#[derive(Debug, Clone, Copy)]
struct SourceDir {
    parent: u32,
    name_at: u64,
}

/// One stored run of file data.
#[derive(Debug, Clone)]
pub struct DataItem {
    /// Where the source file's name starts in the table's name bytes (read the path with [`DataTable::path`]).
    name_at: u64,
    /// The folder holding the source file ([`NO_DIR`] for a file given as a source: its name is then a path).
    dir: u32,
    /// Bytes stored on the image (the compressed size for zisofs).
    pub stored_size: u64,
    /// Uncompressed size when stored as zisofs.
    pub zisofs: Option<u32>,
    /// Sort weight: heavier items are placed first.
    pub weight: i64,
}

impl DataItem {
    /// The source file's size when walked, in bytes (40 bytes an item keep a build of many small files small).
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
    /// Every item's and folder's name, each ended by a NUL byte (which no name holds): one allocation instead of
    /// one per file (a `PathBuf` and its heap block cost about 60 bytes for a short path, a quarter of what a
    /// build keeps per entry).
    names: Vec<u8>,
    /// The source folders items live in.
    dirs: Vec<SourceDir>,
    /// Symbolic links were followed while walking: open through them too.
    follow_links: bool,
    /// The runs of each item held in the input image of an edit (by the item's `name_at`).
    image_runs: Vec<Vec<ImageRun>>,
    /// The input image those items come from.
    image: Option<std::sync::Arc<InputImage>>,
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

    fn name(&self, at: u64) -> &[u8] {
        let start = usize::try_from(at).unwrap_or(usize::MAX);
        let rest = self.names.get(start..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..len]
    }

    fn push_name(&mut self, name: &[u8]) -> Result<u64> {
        if name.contains(&0) {
            bail!("{}: a name holds a NUL byte", String::from_utf8_lossy(name));
        }
        let at = self.names.len() as u64;
        self.names.extend_from_slice(name);
        self.names.push(0);
        Ok(at)
    }

    /// Records a source folder: `name` below folder `parent`, or a source's top folder (`parent` [`NO_DIR`],
    /// `name` its path as given).
    fn add_dir(&mut self, parent: u32, name: &[u8]) -> Result<u32> {
        let id = u32::try_from(self.dirs.len()).ok().filter(|&i| i != NO_DIR).context("too many source folders")?;
        let name_at = self.push_name(name)?;
        self.dirs.push(SourceDir { parent, name_at });
        Ok(id)
    }

    /// The folders from a source's top down to `dir`.
    fn dir_chain(&self, dir: u32) -> Vec<u32> {
        let mut chain = Vec::new();
        let mut cur = dir;
        while let Some(d) = self.dirs.get(cur as usize) {
            chain.push(cur);
            // A folder is always recorded after its parent: the walk cannot loop.
            if d.parent >= cur {
                break;
            }
            cur = d.parent;
        }
        chain.reverse();
        chain
    }

    fn join(&self, dir: u32, name: &[u8]) -> PathBuf {
        let mut bytes = Vec::new();
        for d in self.dir_chain(dir) {
            bytes.extend_from_slice(self.name(self.dirs[d as usize].name_at));
            bytes.push(b'/');
        }
        bytes.extend_from_slice(name);
        PathBuf::from(OsString::from_vec(bytes))
    }

    /// The source path of `item` (an item of this table), for messages: a deep one may be longer than the
    /// system opens by path ([`DataTable::open`] opens it). An item of an input image is named by the image
    /// and the byte offset of its first run.
    pub fn path(&self, item: &DataItem) -> PathBuf {
        if let Some(runs) = self.runs_of(item) {
            let image = self.image.as_ref().map(|i| i.path.display().to_string()).unwrap_or_default();
            let at = runs.iter().find(|r| r.0 != ZERO_RUN).map_or(0, |r| r.0);
            return PathBuf::from(format!("{image} (byte {at})"));
        }
        self.join(item.dir, self.name(item.name_at))
    }

    /// The runs of the input image that hold `item`, for an item of an edit's input image.
    pub fn runs_of(&self, item: &DataItem) -> Option<&[ImageRun]> {
        if item.dir != IN_IMAGE {
            return None;
        }
        self.image_runs.get(usize::try_from(item.name_at).ok()?).map(Vec::as_slice)
    }

    /// The input image items of this table come from.
    pub fn input_image(&self) -> Option<&std::sync::Arc<InputImage>> {
        self.image.as_ref()
    }

    /// Sets the input image that items pushed with [`DataTable::push_image`] come from.
    pub fn set_input_image(&mut self, image: std::sync::Arc<InputImage>) {
        self.image = Some(image);
    }

    /// For an item held in one contiguous run of the input image that starts on a sector: its LBA and length
    /// (a later session can point at it where it is).
    pub fn image_extent(&self, id: DataId) -> Option<(u64, u64)> {
        let runs = self.runs_of(self.item(id)?)?;
        match runs {
            [(at, len)] if *at != ZERO_RUN && at % 2048 == 0 => Some((at / 2048, *len)),
            _ => None,
        }
    }

    /// Adds an item whose bytes are `runs` of the input image ([`DataTable::set_input_image`]): `stored_size`
    /// bytes in all (the runs are cut or padded with zeros to it), zisofs-compressed when `zisofs` gives the
    /// uncompressed size.
    pub fn push_image(&mut self, runs: Vec<ImageRun>, stored_size: u64, zisofs: Option<u32>, weight: i64) -> DataId {
        let name_at = self.image_runs.len() as u64;
        self.image_runs.push(runs);
        let id = DataId(self.items.len() as u32);
        self.alias.push(id.0);
        self.items.push(DataItem { name_at, dir: IN_IMAGE, stored_size, zisofs, weight });
        id
    }

    /// Leaves out of the image every item `used` does not name (nor any used item is an alias of): their data
    /// is not written. An edit calls this once its changes have removed or replaced files.
    pub fn keep_only(&mut self, used: &std::collections::HashSet<u32>) {
        let mut keep = vec![false; self.items.len()];
        for &u in used {
            if let Some(k) = keep.get_mut(u as usize) {
                *k = true;
            }
            if let Some(k) = self.alias.get(u as usize).and_then(|&a| keep.get_mut(a as usize)) {
                *k = true;
            }
        }
        for (item, k) in self.items.iter_mut().zip(keep) {
            if !k {
                item.stored_size = 0;
                item.zisofs = None;
            }
        }
    }

    /// Adds an item whose bytes are the whole file at `path` (`len` bytes), opened by that path when written.
    pub fn push_file(&mut self, path: &Path, len: u64) -> Result<DataId> {
        self.push(NO_DIR, path.as_os_str().as_bytes(), path, len, len, None, 0)
    }

    /// Moves every item of `other` into this table; returns the offset added to `other`'s data ids.
    pub fn absorb(&mut self, other: DataTable) -> Result<u32> {
        let base = u32::try_from(self.items.len()).context("too many data items")?;
        let dir_base = u32::try_from(self.dirs.len()).context("too many source folders")?;
        let name_base = self.names.len() as u64;
        let runs_base = self.image_runs.len() as u64;
        if !other.image_runs.is_empty() && other.image.is_some() {
            self.image = other.image.clone();
        }
        self.follow_links |= other.follow_links;
        self.names.extend_from_slice(&other.names);
        for d in other.dirs {
            let parent = if d.parent == NO_DIR { NO_DIR } else { d.parent + dir_base };
            self.dirs.push(SourceDir { parent, name_at: d.name_at + name_base });
        }
        self.image_runs.extend(other.image_runs);
        for mut item in other.items {
            match item.dir {
                IN_IMAGE => item.name_at += runs_base,
                NO_DIR => item.name_at += name_base,
                d => {
                    item.dir = d + dir_base;
                    item.name_at += name_base;
                }
            }
            self.items.push(item);
        }
        self.alias.extend(other.alias.into_iter().map(|a| a + base));
        Ok(base)
    }

    /// Reads up to `limit` bytes of `item` from its start (a boot image to check or patch).
    pub fn read_head(&self, item: &DataItem, limit: u64) -> io::Result<Vec<u8>> {
        let want = limit.min(item.stored_size);
        let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
        match self.runs_of(item) {
            Some(runs) => {
                let mut w = &mut buf;
                self.copy_runs(runs, want, &mut w)?;
            }
            None => {
                let mut dirs = OpenDirs::default();
                self.open(item, &mut dirs)?.take(want).read_to_end(&mut buf)?;
            }
        }
        Ok(buf)
    }

    /// Copies the first `len` bytes of `runs` of the input image to `out` through user memory (zeros for zero
    /// runs and past the runs' end); returns `len`.
    pub fn copy_runs(&self, runs: &[ImageRun], len: u64, out: &mut dyn Write) -> io::Result<u64> {
        let image = self.image.as_ref().ok_or_else(|| io::Error::other("no input image"))?;
        let mut left = len;
        let mut buf = vec![0u8; 1 << 20];
        for &(at, run) in runs {
            let mut n = run.min(left);
            left -= n;
            if at == ZERO_RUN {
                write_zero_bytes(out, n)?;
                continue;
            }
            let mut pos = at;
            while n > 0 {
                let k = usize::try_from(n).unwrap_or(usize::MAX).min(buf.len());
                match &image.file {
                    Some(f) => {
                        use std::os::unix::fs::FileExt;
                        f.read_exact_at(&mut buf[..k], pos)?;
                    }
                    None => {
                        let mut r = image.reader.lock().map_err(|_| io::Error::other("image reader poisoned"))?;
                        r.seek(io::SeekFrom::Start(pos))?;
                        r.read_exact(&mut buf[..k])?;
                    }
                }
                out.write_all(&buf[..k])?;
                pos += k as u64;
                n -= k as u64;
            }
            if left == 0 {
                break;
            }
        }
        write_zero_bytes(out, left)?;
        Ok(len)
    }

    /// Opens the source file of `item` relative to its folder, through `dirs`.
    pub fn open(&self, item: &DataItem, dirs: &mut OpenDirs) -> io::Result<File> {
        if item.dir == IN_IMAGE {
            return Err(io::Error::other("the data lies in the input image, not in a file of its own"));
        }
        let name = self.name(item.name_at);
        let at = if item.dir == NO_DIR { rustix::fs::CWD } else { dirs.open_dir(self, item.dir)? };
        let fd = rustix::fs::openat(at, OsStr::from_bytes(name), file_flags(self.follow_links), Mode::empty())?;
        Ok(File::from(fd))
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        dir: u32,
        name: &[u8],
        shown: &Path,
        source_size: u64,
        stored_size: u64,
        zisofs: Option<u32>,
        weight: i64,
    ) -> Result<DataId> {
        if zisofs.is_some_and(|z| u64::from(z) != source_size) || (zisofs.is_none() && stored_size != source_size) {
            bail!("{}: inconsistent data item", shown.display());
        }
        let name_at = self.push_name(name)?;
        let item = DataItem { name_at, dir, stored_size, zisofs, weight };
        let id = DataId(self.items.len() as u32);
        self.alias.push(id.0);
        self.items.push(item);
        Ok(id)
    }
}

fn write_zero_bytes(out: &mut dyn Write, mut n: u64) -> io::Result<()> {
    let zeros = [0u8; 8192];
    while n > 0 {
        let k = n.min(zeros.len() as u64) as usize;
        out.write_all(&zeros[..k])?;
        n -= k as u64;
    }
    Ok(())
}

fn dir_flags(follow_links: bool) -> OFlags {
    let f = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if follow_links {
        f
    } else {
        f | OFlags::NOFOLLOW
    }
}

fn file_flags(follow_links: bool) -> OFlags {
    let f = OFlags::RDONLY | OFlags::CLOEXEC;
    if follow_links {
        f
    } else {
        f | OFlags::NOFOLLOW
    }
}

/// The chain of source folders last opened, from a source's top folder down: at most [`MAX_OPEN_DIRS`] of them
/// hold a descriptor (the top one always), the others are reopened by name from their nearest open ancestor when
/// needed again.
#[derive(Debug, Default)]
pub struct OpenDirs {
    chain: Vec<(u32, Option<OwnedFd>)>,
}

impl OpenDirs {
    /// The descriptor of source folder `dir` of `table`, opening the folders down to it.
    pub fn open_dir(&mut self, table: &DataTable, dir: u32) -> io::Result<BorrowedFd<'_>> {
        let fast = matches!(self.chain.last(), Some((d, Some(_))) if *d == dir);
        if !fast {
            self.reach(table, dir)?;
        }
        match self.chain.last() {
            Some((_, Some(fd))) => Ok(fd.as_fd()),
            _ => Err(io::Error::other("source folder not open")),
        }
    }

    fn reach(&mut self, table: &DataTable, dir: u32) -> io::Result<()> {
        let want = table.dir_chain(dir);
        let same = self.chain.iter().zip(&want).take_while(|((a, _), b)| a == *b).count();
        self.chain.truncate(same);
        let flags = dir_flags(table.follow_links);
        let name = |d: u32| OsStr::from_bytes(table.name(table.dirs[d as usize].name_at));
        // The kept part's last folder may have been dropped: reopen from the nearest one still open (the top
        // one never is), one level at a time.
        let open_from = self.chain.iter().rposition(|(_, fd)| fd.is_some()).map_or(0, |i| i + 1);
        for i in open_from..self.chain.len() {
            let fd = match i.checked_sub(1).and_then(|p| self.chain.get(p)) {
                Some((_, Some(parent))) => rustix::fs::openat(parent, name(self.chain[i].0), flags, Mode::empty())?,
                _ => rustix::fs::openat(rustix::fs::CWD, name(self.chain[i].0), dir_flags(true), Mode::empty())?,
            };
            self.chain[i].1 = Some(fd);
            self.trim();
        }
        for &d in &want[same..] {
            let fd = match self.chain.last() {
                Some((_, Some(parent))) => rustix::fs::openat(parent, name(d), flags, Mode::empty())?,
                // A source's top folder: its name is a path as given. It follows a symlink given as a source
                // folder, as the walk did.
                _ => rustix::fs::openat(rustix::fs::CWD, name(d), dir_flags(true), Mode::empty())?,
            };
            self.chain.push((d, Some(fd)));
            self.trim();
        }
        Ok(())
    }

    /// Drops the shallowest descriptors (never the top folder's) beyond [`MAX_OPEN_DIRS`].
    fn trim(&mut self) {
        let mut open = self.chain.iter().filter(|(_, fd)| fd.is_some()).count();
        for (_, fd) in self.chain.iter_mut().skip(1) {
            if open <= MAX_OPEN_DIRS + 1 {
                break;
            }
            if fd.take().is_some() {
                open -= 1;
            }
        }
    }
}

/// What the walk needs of a `stat`, from `fstatat` or from [`Metadata`].
#[derive(Debug, Clone, Copy)]
struct Info {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    size: u64,
    mtime: i64,
    atime: i64,
    ctime: i64,
    dev: u64,
    ino: u64,
    rdev: u64,
}

impl Info {
    // The field types of `stat` differ between architectures.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    fn from_stat(st: &rustix::fs::Stat) -> Self {
        Info {
            mode: st.st_mode as u32,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            nlink: st.st_nlink as u64,
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: st.st_mtime as i64,
            atime: st.st_atime as i64,
            ctime: st.st_ctime as i64,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            rdev: st.st_rdev as u64,
        }
    }

    fn from_metadata(md: &Metadata) -> Self {
        Info {
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            nlink: md.nlink(),
            size: md.len(),
            mtime: md.mtime(),
            atime: md.atime(),
            ctime: md.ctime(),
            dev: md.dev(),
            ino: md.ino(),
            rdev: md.rdev(),
        }
    }

    fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.mode)
    }

    fn is_dir(&self) -> bool {
        self.file_type() == FileType::Directory
    }
}

/// A file's device and inode numbers.
type DevIno = (u64, u64);

/// One folder of a walk in progress: its entries, read at once and sorted, and the next one to take.
struct Frame {
    dir: u32,
    node: NodeId,
    names: Vec<Vec<u8>>,
    next: usize,
    /// Length of the path below the source folder up to this folder.
    rel_len: usize,
    /// Device and inode, to refuse a folder that contains itself through followed symlinks.
    key: DevIno,
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
    fn meta_of(&self, md: &Info, is_dir: bool) -> Meta {
        let clamp = |t: i64| match self.opts.clamp_time {
            Some(c) => t.min(c),
            None => t,
        };
        let mtime = clamp(md.mtime);
        // With SOURCE_DATE_EPOCH the build must not depend on when files were last read or chmod-ed: access
        // and change times are recorded as the modification time.
        let (atime, ctime) = match self.opts.clamp_time {
            Some(_) => (mtime, mtime),
            None => (md.atime, md.ctime),
        };
        let mut m = Meta { perm: md.mode & 0o7777, uid: md.uid, gid: md.gid, mtime, atime, ctime, ino: 0 };
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

    /// The node for the entry `name` of the folder `at` (source folder `dir` of the data table), `path` its
    /// source path for messages.
    #[allow(clippy::too_many_arguments)]
    fn file_kind(
        &mut self,
        at: BorrowedFd<'_>,
        dir: u32,
        name: &[u8],
        path: &Path,
        md: &Info,
        image_path: &[u8],
        meta: &mut Meta,
    ) -> Result<NodeKind> {
        let ft = md.file_type();
        let name_os = OsStr::from_bytes(name);
        match ft {
            FileType::Directory => return Ok(NodeKind::Dir),
            FileType::Symlink => {
                let t = rustix::fs::readlinkat(at, name_os, Vec::new())
                    .with_context(|| format!("reading link {}", path.display()))?;
                return Ok(NodeKind::Symlink(t.into_bytes().into()));
            }
            FileType::CharacterDevice | FileType::BlockDevice => {
                let (major, minor) = device_numbers(md.rdev);
                let kind = if ft == FileType::CharacterDevice { DeviceKind::Char } else { DeviceKind::Block };
                return Ok(NodeKind::Device { kind, major, minor });
            }
            FileType::Fifo => return Ok(NodeKind::Fifo),
            FileType::Socket => return Ok(NodeKind::Socket),
            _ => {}
        }
        let key = (md.dev, md.ino);
        if md.nlink > 1 {
            if let Some((_, ino, fd)) = self.links.get(&key) {
                meta.ino = *ino;
                return Ok(NodeKind::File(*fd));
            }
        }
        let size = md.size;
        let (stored_size, zis) = if self.opts.zisofs && size > zisofs::BLOCK as u64 / 2 && size < u64::from(u32::MAX) {
            let f = rustix::fs::openat(at, name_os, file_flags(self.opts.follow_links), Mode::empty())
                .map(File::from)
                .with_context(|| format!("opening {}", path.display()))?;
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
        let data = self.data.push(dir, name, path, size, stored_size, zis, weight)?;
        let fd = FileData { data, stored_size, zisofs_size: zis };
        if md.nlink > 1 {
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
            let m = self.meta_of(&Info::from_metadata(&md), true);
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
            let info = Info::from_metadata(&md);
            let mut meta = self.meta_of(&info, false);
            let kind =
                self.file_kind(rustix::fs::CWD, NO_DIR, src.as_os_str().as_bytes(), &src, &info, &target, &mut meta)?;
            self.put(parent, last, kind, meta)?;
            return Ok(());
        };
        self.walk_dir(&src, node, &target)
    }

    /// The sorted entry names of source folder `dir` (`shown` in messages), and its device and inode.
    fn list(&self, dirs: &mut OpenDirs, dir: u32, shown: &Path) -> Result<(Vec<Vec<u8>>, DevIno)> {
        let fd = dirs.open_dir(&self.data, dir).with_context(|| format!("opening {}", shown.display()))?;
        let st = rustix::fs::fstat(fd).with_context(|| format!("reading {}", shown.display()))?;
        let info = Info::from_stat(&st);
        let mut names = Vec::new();
        for e in rustix::fs::Dir::read_from(fd).with_context(|| format!("reading {}", shown.display()))? {
            let e = e.with_context(|| format!("reading {}", shown.display()))?;
            let n = e.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(n.to_vec());
            }
        }
        names.sort_unstable();
        Ok((names, (info.dev, info.ino)))
    }

    /// Walks the folder `src` into `node` (image path `target`), depth first in name order, reading every folder
    /// relative to its parent's descriptor.
    fn walk_dir(&mut self, src: &Path, node: NodeId, target: &[u8]) -> Result<()> {
        self.data.follow_links = self.opts.follow_links;
        let mut dirs = OpenDirs::default();
        let top = self.data.add_dir(NO_DIR, src.as_os_str().as_bytes())?;
        let (names, key) = self.list(&mut dirs, top, src)?;
        let mut stack = vec![Frame { dir: top, node, names, next: 0, rel_len: 0, key }];
        // Path below `src` of the entry at hand.
        let mut rel: Vec<u8> = Vec::new();
        // Directories this walk created (or found empty) cannot hold a name yet: adding to them skips the
        // lookup, which keeps huge directories linear.
        let mut fresh: HashSet<NodeId> = HashSet::new();
        if self.tree.children(node).is_empty() {
            fresh.insert(node);
        }
        let stat_flags = if self.opts.follow_links { AtFlags::empty() } else { AtFlags::SYMLINK_NOFOLLOW };
        while let Some(frame) = stack.last_mut() {
            let Some(name) = frame.names.get_mut(frame.next).map(std::mem::take) else {
                stack.pop();
                continue;
            };
            frame.next += 1;
            let (dir, parent) = (frame.dir, frame.node);
            rel.truncate(frame.rel_len);
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(&name);
            let rel_path = Path::new(OsStr::from_bytes(&rel));
            let full = src.join(rel_path);
            let name_os = OsStr::from_bytes(&name);
            let hidden = !self.opts.hidden && name.first() == Some(&b'.');
            if hidden || self.excluded(name_os, rel_path, &full) {
                if hidden {
                    self.hidden_skipped += 1;
                }
                continue;
            }
            let at =
                dirs.open_dir(&self.data, dir).with_context(|| format!("opening the folder of {}", full.display()))?;
            let st =
                rustix::fs::statat(at, name_os, stat_flags).with_context(|| format!("reading {}", full.display()))?;
            let info = Info::from_stat(&st);
            let is_dir = info.is_dir();
            let mut image_path = target.to_vec();
            image_path.push(b'/');
            image_path.extend_from_slice(&rel);
            let mut meta = self.meta_of(&info, is_dir);
            let kind = self.file_kind(at, dir, &name, &full, &info, &image_path, &mut meta)?;
            let id = if fresh.contains(&parent) {
                self.tree.add(parent, &name, kind, meta)?
            } else {
                self.put(parent, &name, kind, meta)?
            };
            if is_dir {
                if self.tree.children(id).is_empty() {
                    fresh.insert(id);
                }
                let child = self.data.add_dir(dir, &name)?;
                let (names, key) = self.list(&mut dirs, child, &full)?;
                if self.opts.follow_links && stack.iter().any(|f| f.key == key) {
                    bail!("{}: file system loop: this folder contains itself through a symbolic link", full.display());
                }
                stack.push(Frame { dir: child, node: id, names, next: 0, rel_len: rel.len(), key });
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

fn content_hash(mut f: File) -> io::Result<u64> {
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

/// Finds data items with identical stored bytes and points each duplicate at the first one (`alias`). Sizes
/// group candidates, a hash splits groups, and a byte comparison confirms every match.
pub fn dedup(data: &mut DataTable) -> Result<u64> {
    let mut by_size: HashMap<(u64, Option<u32>), Vec<u32>> = HashMap::new();
    for (i, it) in data.items.iter().enumerate() {
        // Items of an input image are stored where they were already, once each.
        if it.stored_size > 0 && it.dir != IN_IMAGE {
            by_size.entry((it.source_size(), it.zisofs)).or_default().push(i as u32);
        }
    }
    let mut saved = 0u64;
    let mut dirs = OpenDirs::default();
    let mut groups: Vec<Vec<u32>> = by_size.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    for group in groups {
        let mut by_hash: HashMap<u64, Vec<u32>> = HashMap::new();
        for &i in &group {
            let item = &data.items[i as usize];
            let h = data
                .open(item, &mut dirs)
                .and_then(content_hash)
                .with_context(|| format!("reading {}", data.path(item).display()))?;
            by_hash.entry(h).or_default().push(i);
        }
        let mut buckets: Vec<Vec<u32>> = by_hash.into_values().collect();
        buckets.sort();
        for bucket in buckets {
            let mut reps: Vec<u32> = Vec::new();
            for &i in &bucket {
                let item = &data.items[i as usize];
                let mut found = None;
                for &r in &reps {
                    let same = data
                        .open(&data.items[r as usize], &mut dirs)
                        .and_then(|a| Ok((a, data.open(item, &mut dirs)?)))
                        .and_then(|(a, b)| {
                            let mut a = BufReader::with_capacity(256 * 1024, a);
                            let mut b = BufReader::with_capacity(256 * 1024, b);
                            same_contents(&mut a, &mut b)
                        })
                        .with_context(|| format!("comparing {}", data.path(item).display()))?;
                    if same {
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

//! Planning and emitting the ISO 9660 part of an image: names, relocation, path tables, directory extents for the
//! ISO (with Rock Ridge) and Joliet hierarchies, continuation areas, and the volume descriptors that point at them.
//!
//! Everything is sized from the tree alone ([`IsoLayout::new`]); the caller then fixes where the metadata goes
//! ([`IsoLayout::place_metadata`]) and, while writing, tells the layout where each data item landed.

// The writer indexes only structures it built itself from a caller's tree (never bytes read from an image),
// and its arithmetic is on sizes bounded by the planner's checks.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::collections::HashMap;
use std::io::Write;

use super::encode::{
    dir_date, dir_record_len, fill_ascii, fill_ucs2, flags, path_record, path_record_len, put_both16, put_both32,
    volume_date, DirRecord, DIR_RECORD_FIXED, DIR_RECORD_MAX, SECTOR,
};
use super::encode::{DIR_DATE_MAX, DIR_DATE_MIN};
use super::error::WriteError;
use super::loss::{Loss, LossCounter, LossKind};
use super::names::{cmp_iso, cmp_joliet, iso_names, joliet_fit, joliet_names, JOLIET_LONG_MAX, JOLIET_MAX};
use super::susp::{self, posix_mode, CePool};
use super::tree::{DataId, FileData, Meta, NodeId, NodeKind, Tree};

/// Largest extent of one directory record: the largest multiple of the sector size below 4 GiB. Bigger files are
/// recorded as several records with the multi-extent flag (ECMA-119 9.1.6, level 3).
pub const MAX_EXTENT: u64 = 0xFFFF_F800;
/// Deepest directory level of the ISO hierarchy, the root being level 1 (ECMA-119 6.8.2.1).
pub const MAX_LEVEL: u32 = 8;
/// Longest path of a directory, in bytes of identifiers and separators (ECMA-119 6.8.2.1 limits a path to 255).
pub const MAX_PATH: usize = 255;
/// Directories the path table can number (parent numbers are 16 bits).
pub const MAX_DIRS: usize = 65_535;
/// ISO identifier of the directory holding relocated directories.
pub const RR_MOVED_ISO: &[u8] = b"RR_MOVED";
/// Rock Ridge name of the directory holding relocated directories (the name genisoimage and xorriso use).
pub const RR_MOVED_NAME: &[u8] = b"rr_moved";
/// Longest name a relocated directory may get in `RR_MOVED`, used to bound path lengths below it.
const MOVED_NAME_MAX: usize = 31;

/// What the ISO 9660 part of an image holds. `Default` gives level 3 with Rock Ridge and Joliet.
#[derive(Clone, Debug)]
pub struct IsoOptions {
    level: u8,
    rock_ridge: bool,
    joliet: bool,
    joliet_long: bool,
    volume_id: String,
    system_id: String,
    volume_set_id: String,
    publisher: String,
    preparer: String,
    application: String,
    time: i64,
    dates: VolumeDates,
    checksum_array: Option<DataId>,
}

/// The four dates of the volume descriptors (ECMA-119 8.4.26 to 8.4.29), as mkisofs `-volume_date` sets them.
/// A `None` creation or modification date is the [`IsoOptions::time`]; a `None` expiration or effective date is
/// left unspecified (digits `0`, zone 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VolumeDates {
    /// Volume creation date, seconds since the Unix epoch.
    pub creation: Option<i64>,
    /// Volume modification date.
    pub modification: Option<i64>,
    /// Volume expiration date.
    pub expiration: Option<i64>,
    /// Volume effective date.
    pub effective: Option<i64>,
    /// Hundredths of a second recorded with the creation and modification dates (0 to 99; more clamps to 99).
    pub hundredths: u8,
}

impl Default for IsoOptions {
    fn default() -> Self {
        IsoOptions {
            level: 3,
            rock_ridge: true,
            joliet: true,
            joliet_long: false,
            volume_id: "CDROM".into(),
            system_id: "LINUX".into(),
            volume_set_id: String::new(),
            publisher: String::new(),
            preparer: String::new(),
            application: String::new(),
            time: 0,
            dates: VolumeDates::default(),
            checksum_array: None,
        }
    }
}

impl IsoOptions {
    /// Interchange level 1, 2, 3 or 4 (4 = ISO 9660:1999, with an enhanced volume descriptor); others clamp.
    #[must_use]
    pub fn level(mut self, level: u8) -> Self {
        self.level = level.clamp(1, 4);
        self
    }
    /// Record Rock Ridge (RRIP 1.12) entries.
    #[must_use]
    pub fn rock_ridge(mut self, on: bool) -> Self {
        self.rock_ridge = on;
        self
    }
    /// Add a Joliet hierarchy and its supplementary volume descriptor.
    #[must_use]
    pub fn joliet(mut self, on: bool) -> Self {
        self.joliet = on;
        self
    }
    /// Allow Joliet names of 103 characters instead of 64.
    #[must_use]
    pub fn joliet_long(mut self, on: bool) -> Self {
        self.joliet_long = on;
        self
    }
    /// Volume identifier, written as given (non-ASCII characters become `_`; 32 bytes, 16 in Joliet).
    #[must_use]
    pub fn volume_id(mut self, s: impl Into<String>) -> Self {
        self.volume_id = s.into();
        self
    }
    /// System identifier (32 bytes).
    #[must_use]
    pub fn system_id(mut self, s: impl Into<String>) -> Self {
        self.system_id = s.into();
        self
    }
    /// Volume set identifier (128 bytes).
    #[must_use]
    pub fn volume_set_id(mut self, s: impl Into<String>) -> Self {
        self.volume_set_id = s.into();
        self
    }
    /// Publisher identifier (128 bytes).
    #[must_use]
    pub fn publisher(mut self, s: impl Into<String>) -> Self {
        self.publisher = s.into();
        self
    }
    /// Data preparer identifier (128 bytes).
    #[must_use]
    pub fn preparer(mut self, s: impl Into<String>) -> Self {
        self.preparer = s.into();
        self
    }
    /// Application identifier (128 bytes).
    #[must_use]
    pub fn application(mut self, s: impl Into<String>) -> Self {
        self.application = s.into();
        self
    }
    /// Volume creation and modification time, seconds since the Unix epoch (the injected clock).
    #[must_use]
    pub fn time(mut self, t: i64) -> Self {
        self.time = t;
        self
    }
    /// The volume dates that differ from [`Self::time`], and the expiration and effective dates.
    #[must_use]
    pub fn volume_dates(mut self, d: VolumeDates) -> Self {
        self.dates = d;
        self
    }
    /// Record libisofs's MD5 attributes (AAIP `isofs.ca`, `isofs.cx`; libisofs `doc/checksums.txt`) in the Rock
    /// Ridge entries: the root says that the checksum array lies at the extent of data item `array` (the session,
    /// from LBA 0, up to it is checksummed by its first entry), and every data file gives its index in the array
    /// ([`IsoLayout::checksum_files`]). The caller writes the array. Without Rock Ridge nothing is recorded.
    #[must_use]
    pub fn checksum_array(mut self, array: Option<DataId>) -> Self {
        self.checksum_array = array;
        self
    }
}

/// One record of an ISO directory.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// An entry of the tree, where it truly lives.
    Node(NodeId),
    /// Stand-in for a directory relocated to `RR_MOVED`, carrying `CL`.
    Placeholder(NodeId),
    /// A relocated directory inside `RR_MOVED`, carrying `RE`.
    Relocated(NodeId),
    /// `RR_MOVED` itself, in the root.
    RrMoved,
}

#[derive(Debug)]
struct IsoDir {
    /// The tree node, or `None` for `RR_MOVED`.
    node: Option<NodeId>,
    /// Index of the parent in `iso_dirs` (the root is its own parent).
    parent: u32,
    entries: Vec<Entry>,
    size: u32,
    lba: u32,
    /// Sectors of Rock Ridge continuation areas for this directory's records, placed right after its extent
    /// (readers that stream the image, such as libarchive, only look ahead of the directory they just read).
    ce_sectors: u32,
}

#[derive(Debug)]
struct JolietDir {
    node: NodeId,
    parent: u32,
    size: u32,
    lba: u32,
}

/// Where the metadata areas start, once placed.
#[derive(Clone, Copy, Debug, Default)]
struct Places {
    l_path: u32,
    m_path: u32,
    jl_path: u32,
    jm_path: u32,
    sectors: u32,
}

const NONE: u32 = u32::MAX;

/// The sized and (after [`place_metadata`](Self::place_metadata)) positioned ISO 9660 structures of one tree.
#[derive(Debug)]
pub struct IsoLayout<'t> {
    tree: &'t Tree,
    opts: IsoOptions,
    iso_name: Vec<Box<[u8]>>,
    joliet_name: Vec<Box<[u16]>>,
    moved_name: HashMap<NodeId, Box<[u8]>>,
    ino: Vec<u32>,
    nlink: Vec<u32>,
    iso_dirs: Vec<IsoDir>,
    iso_dir_of: Vec<u32>,
    joliet_dirs: Vec<JolietDir>,
    joliet_dir_of: Vec<u32>,
    joliet_children: Vec<Vec<NodeId>>,
    path_size: u32,
    joliet_path_size: u32,
    rr_moved_meta: Meta,
    rr_moved_ino: u32,
    /// Rock Ridge name of the relocation directory: `rr_moved`, unless the root already holds that name.
    rr_moved_name: Vec<u8>,
    places: Option<Places>,
    losses: Vec<Loss>,
    /// With [`IsoOptions::checksum_array`]: the files whose MD5 the array holds (index `i` at entry `i + 1`), and
    /// the index of each data item among them.
    checksum_files: Vec<FileData>,
    checksum_index: HashMap<DataId, u32>,
}

/// The Rock Ridge name for the relocation directory that no entry of the root uses: `rr_moved`, else `.rr_moved`
/// (both hidden by readers that know them), else `.rr_moved.N` (which odix's reader hides too).
fn relocation_name(tree: &Tree) -> Vec<u8> {
    let taken = |name: &[u8]| tree.lookup(Tree::ROOT, name).is_some();
    [RR_MOVED_NAME, b".rr_moved"]
        .into_iter()
        .map(<[u8]>::to_vec)
        .chain((1u32..).map(|n| format!(".rr_moved.{n}").into_bytes()))
        .find(|name| !taken(name))
        .unwrap_or_else(|| RR_MOVED_NAME.to_vec())
}

fn sectors_of(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR as u64)
}

fn ascii_field(s: &str) -> Vec<u8> {
    s.chars().map(|c| if !c.is_ascii() || c.is_ascii_control() { b'_' } else { c as u8 }).collect()
}

fn ucs2(s: &str) -> Vec<u16> {
    s.chars().map(|c| if (c as u32) > 0xFFFF { u16::from(b'_') } else { c as u16 }).collect()
}

impl<'t> IsoLayout<'t> {
    /// Names every entry, relocates directories too deep for ISO 9660, orders the records and sizes every
    /// metadata area. Nothing is positioned yet.
    pub fn new(tree: &'t Tree, opts: IsoOptions) -> Result<Self, WriteError> {
        let n = tree.len();
        let mut me = IsoLayout {
            tree,
            iso_name: vec![Box::from(&b""[..]); n],
            joliet_name: Vec::new(),
            moved_name: HashMap::new(),
            ino: vec![0; n],
            nlink: vec![1; n],
            iso_dirs: Vec::new(),
            iso_dir_of: vec![NONE; n],
            joliet_dirs: Vec::new(),
            joliet_dir_of: Vec::new(),
            joliet_children: Vec::new(),
            path_size: 0,
            joliet_path_size: 0,
            rr_moved_meta: tree.node(Tree::ROOT).meta,
            rr_moved_ino: 0,
            rr_moved_name: relocation_name(tree),
            places: None,
            losses: Vec::new(),
            checksum_files: Vec::new(),
            checksum_index: HashMap::new(),
            opts,
        };
        me.check_sizes()?;
        me.check_unique_names()?;
        me.name_entries();
        me.losses = me.find_losses();
        me.number_inodes();
        me.build_iso_dirs()?;
        me.index_checksums();
        if me.opts.joliet {
            me.build_joliet_dirs()?;
        }
        me.size_areas()?;
        Ok(me)
    }

    /// The image path of `id` for messages: bytes that are not UTF-8 shown as `\xHH`, as `odix ls` shows them.
    fn path_of(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut cur = id;
        while cur != Tree::ROOT {
            parts.push(shown(self.tree.node(cur).name.as_ref()));
            cur = self.tree.node(cur).parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    fn check_sizes(&self) -> Result<(), WriteError> {
        if self.opts.level >= 3 {
            return Ok(());
        }
        for id in self.tree.ids() {
            if let NodeKind::File(f) = &self.tree.node(id).kind {
                if f.stored_size > MAX_EXTENT {
                    return Err(WriteError::FileTooLarge { path: self.path_of(id), size: f.stored_size });
                }
            }
        }
        Ok(())
    }

    /// Refuses two entries of one directory with the same raw name ([`Tree::add`] does not look for them, so that
    /// a caller listing a real directory pays nothing): they would share their Rock Ridge name.
    fn check_unique_names(&self) -> Result<(), WriteError> {
        let tree = self.tree;
        let mut names: Vec<&[u8]> = Vec::new();
        for dir in tree.ids().filter(|&d| tree.is_dir(d)) {
            names.clear();
            names.extend(tree.children(dir).iter().map(|k| &*tree.node(*k).name));
            names.sort_unstable();
            if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
                let name = String::from_utf8_lossy(w[0]);
                let path = if dir == Tree::ROOT { format!("/{name}") } else { format!("{}/{name}", self.path_of(dir)) };
                return Err(WriteError::DuplicateName { path });
            }
        }
        Ok(())
    }

    fn name_entries(&mut self) {
        let tree = self.tree;
        let jmax = if self.opts.joliet_long { JOLIET_LONG_MAX } else { JOLIET_MAX };
        if self.opts.joliet {
            self.joliet_name = vec![Box::from(&[][..]); tree.len()];
        }
        for dir in tree.ids().filter(|&d| tree.is_dir(d)) {
            let mut kids: Vec<NodeId> = tree.children(dir).to_vec();
            if kids.is_empty() {
                continue;
            }
            // Earlier raw names keep their identifier on collisions: deterministic whatever the insertion order.
            // Entries hidden from a tree take no name in it.
            kids.sort_by(|a, b| tree.node(*a).name.cmp(&tree.node(*b).name));
            let iso_kids: Vec<NodeId> = kids.iter().copied().filter(|k| !tree.hidden(*k).iso).collect();
            let mut e: Vec<(&[u8], bool)> = iso_kids.iter().map(|k| (&*tree.node(*k).name, tree.is_dir(*k))).collect();
            // Below level 4 the root keeps `RR_MOVED` for the relocation directory, which may be added later.
            let reserve = dir == Tree::ROOT && self.opts.level < 4;
            if reserve {
                e.insert(0, (RR_MOVED_ISO, true));
            }
            for (k, name) in iso_kids.iter().zip(iso_names(&e, self.opts.level).into_iter().skip(usize::from(reserve)))
            {
                self.iso_name[k.0 as usize] = name.into();
            }
            if self.opts.joliet {
                let j_kids: Vec<NodeId> = kids.iter().copied().filter(|k| !tree.hidden(*k).joliet).collect();
                let raw: Vec<&[u8]> = j_kids.iter().map(|k| &*tree.node(*k).name).collect();
                for (k, name) in j_kids.iter().zip(joliet_names(&raw, jmax)) {
                    self.joliet_name[k.0 as usize] = name.into();
                }
            }
        }
    }

    /// What the names and dates of this layout lose against the tree, per kind.
    fn find_losses(&self) -> Vec<Loss> {
        let tree = self.tree;
        let mut c = LossCounter::default();
        let jmax = if self.opts.joliet_long { JOLIET_LONG_MAX } else { JOLIET_MAX };
        for id in tree.ids().skip(1) {
            let node = tree.node(id);
            let name = &*node.name;
            let path = || self.path_of(id);
            if self.opts.joliet && !tree.hidden(id).joliet {
                let (len, replaced) = joliet_fit(name);
                if len > jmax {
                    c.add(LossKind::JolietNameCut { max: jmax }, path);
                }
                if replaced {
                    c.add(LossKind::JolietCharacterReplaced, path);
                }
            }
            if !self.opts.rock_ridge && !tree.hidden(id).iso {
                let id_bytes = &*self.iso_name[id.0 as usize];
                let bare = id_bytes.strip_suffix(b";1").unwrap_or(id_bytes);
                let bare = bare.strip_suffix(b".").unwrap_or(bare);
                if bare.len() < name.len() {
                    c.add(LossKind::IsoNameCut { level: self.opts.level }, path);
                }
            }
            let m = &node.meta;
            // Without Rock Ridge only the modification time is recorded (in the directory record).
            let times: &[i64] = if self.opts.rock_ridge { &[m.mtime, m.atime, m.ctime] } else { &[m.mtime] };
            if times.iter().any(|&t| t > DIR_DATE_MAX) {
                c.add(LossKind::DateAfter2155, path);
            }
            if times.iter().any(|&t| t < DIR_DATE_MIN) {
                c.add(LossKind::DateBefore1900, path);
            }
        }
        c.finish()
    }

    /// What this layout records differently from the tree, one [`Loss`] per kind with a count and an example:
    /// Joliet names cut or with characters replaced, ISO 9660 names cut when no Rock Ridge name keeps them,
    /// times outside the years 1900 to 2155 that directory records and Rock Ridge `TF` hold. Empty when the
    /// image records the tree as it is.
    pub fn losses(&self) -> &[Loss] {
        &self.losses
    }

    fn number_inodes(&mut self) {
        let tree = self.tree;
        let mut next = tree.ids().map(|i| tree.node(i).meta.ino).max().unwrap_or(0);
        let mut count: HashMap<u32, u32> = HashMap::new();
        for id in tree.ids() {
            let given = tree.node(id).meta.ino;
            let ino = if given != 0 && !tree.is_dir(id) {
                given
            } else {
                next += 1;
                next
            };
            self.ino[id.0 as usize] = ino;
            if !tree.is_dir(id) {
                *count.entry(ino).or_insert(0) += 1;
            }
        }
        next += 1;
        self.rr_moved_ino = next;
        for id in tree.ids() {
            let i = id.0 as usize;
            self.nlink[i] = if tree.is_dir(id) {
                2 + tree.children(id).iter().filter(|c| tree.is_dir(**c) && !tree.hidden(**c).iso).count() as u32
            } else {
                count.get(&self.ino[i]).copied().unwrap_or(1)
            };
        }
    }

    /// Gives each data item of a file recorded in the ISO tree its entry in the checksum array (hard links share
    /// one), directory by directory in path table order.
    fn index_checksums(&mut self) {
        if self.opts.checksum_array.is_none() || !self.opts.rock_ridge {
            return;
        }
        for d in &self.iso_dirs {
            for e in &d.entries {
                let Entry::Node(c) = *e else { continue };
                if let NodeKind::File(f) = &self.tree.node(c).kind {
                    if !self.checksum_index.contains_key(&f.data) {
                        self.checksum_files.push(*f);
                        self.checksum_index.insert(f.data, self.checksum_files.len() as u32);
                    }
                }
            }
        }
    }

    /// With [`IsoOptions::checksum_array`] and Rock Ridge: the files whose MD5s the checksum array holds, in
    /// order (the array is the session's MD5, one MD5 per file of this list, then the MD5 of those entries).
    pub fn checksum_files(&self) -> &[FileData] {
        &self.checksum_files
    }

    fn build_iso_dirs(&mut self) -> Result<(), WriteError> {
        let tree = self.tree;
        let n = tree.len();
        // Pass 1: the ISO parent of every directory, relocating those too deep or too long.
        let mut iso_parent: Vec<u32> = vec![NONE; n];
        let mut level: Vec<u32> = vec![0; n];
        let mut path_len: Vec<usize> = vec![0; n];
        let mut relocated: Vec<NodeId> = Vec::new();
        const MOVED: u32 = u32::MAX - 1;
        level[0] = 1;
        let mut stack = vec![Tree::ROOT];
        while let Some(d) = stack.pop() {
            for &c in tree.children(d) {
                if !tree.is_dir(c) || tree.hidden(c).iso {
                    continue;
                }
                let ci = c.0 as usize;
                let di = d.0 as usize;
                let lv = level[di] + 1;
                let pl = if d == Tree::ROOT { 0 } else { path_len[di] + 1 } + self.iso_name[ci].len();
                if self.opts.level < 4 && (lv > MAX_LEVEL || pl > MAX_PATH) {
                    iso_parent[ci] = MOVED;
                    level[ci] = 3;
                    path_len[ci] = RR_MOVED_ISO.len() + 1 + MOVED_NAME_MAX;
                    relocated.push(c);
                } else {
                    iso_parent[ci] = d.0;
                    level[ci] = lv;
                    path_len[ci] = pl;
                }
                stack.push(c);
            }
        }
        // Names inside RR_MOVED, unique among the relocated directories.
        relocated.sort_by(|a, b| tree.node(*a).name.cmp(&tree.node(*b).name).then(a.cmp(b)));
        let e: Vec<(&[u8], bool)> = relocated.iter().map(|k| (&*tree.node(*k).name, true)).collect();
        for (k, name) in relocated.iter().zip(iso_names(&e, self.opts.level)) {
            self.moved_name.insert(*k, name.into());
        }
        // Pass 2: number directories in path table order (level, parent number, identifier).
        self.iso_dirs.push(IsoDir {
            node: Some(Tree::ROOT),
            parent: 0,
            entries: Vec::new(),
            size: 0,
            lba: 0,
            ce_sectors: 0,
        });
        self.iso_dir_of[0] = 0;
        let mut i = 0;
        while i < self.iso_dirs.len() {
            let mut entries: Vec<Entry> = match self.iso_dirs[i].node {
                Some(d) => tree
                    .children(d)
                    .iter()
                    .filter(|c| !tree.hidden(**c).iso)
                    .map(|&c| if iso_parent[c.0 as usize] == MOVED { Entry::Placeholder(c) } else { Entry::Node(c) })
                    .collect(),
                None => relocated.iter().map(|&c| Entry::Relocated(c)).collect(),
            };
            if i == 0 && !relocated.is_empty() {
                entries.push(Entry::RrMoved);
            }
            entries.sort_by(|a, b| cmp_iso(self.entry_name(*a), self.entry_name(*b)));
            for e in &entries {
                let child = match *e {
                    Entry::Node(c) | Entry::Relocated(c) if tree.is_dir(c) => Some(c),
                    Entry::RrMoved => None,
                    _ => continue,
                };
                let idx = self.iso_dirs.len() as u32;
                if let Some(c) = child {
                    self.iso_dir_of[c.0 as usize] = idx;
                }
                self.iso_dirs.push(IsoDir {
                    node: child,
                    parent: i as u32,
                    entries: Vec::new(),
                    size: 0,
                    lba: 0,
                    ce_sectors: 0,
                });
            }
            self.iso_dirs[i].entries = entries;
            i += 1;
        }
        if self.iso_dirs.len() > MAX_DIRS {
            return Err(WriteError::TooManyDirectories { count: self.iso_dirs.len() });
        }
        Ok(())
    }

    fn entry_name(&self, e: Entry) -> &[u8] {
        match e {
            Entry::Node(c) | Entry::Placeholder(c) => &self.iso_name[c.0 as usize],
            Entry::Relocated(c) => self.moved_name.get(&c).map(|b| &**b).unwrap_or(b"_"),
            Entry::RrMoved => RR_MOVED_ISO,
        }
    }

    fn build_joliet_dirs(&mut self) -> Result<(), WriteError> {
        let tree = self.tree;
        self.joliet_dir_of = vec![NONE; tree.len()];
        self.joliet_dirs.push(JolietDir { node: Tree::ROOT, parent: 0, size: 0, lba: 0 });
        self.joliet_dir_of[0] = 0;
        let mut i = 0;
        while i < self.joliet_dirs.len() {
            let d = self.joliet_dirs[i].node;
            let mut kids: Vec<NodeId> = tree.children(d).iter().copied().filter(|c| !tree.hidden(*c).joliet).collect();
            kids.sort_by(|a, b| cmp_joliet(&self.joliet_name[a.0 as usize], &self.joliet_name[b.0 as usize]));
            for &c in &kids {
                if tree.is_dir(c) {
                    self.joliet_dir_of[c.0 as usize] = self.joliet_dirs.len() as u32;
                    self.joliet_dirs.push(JolietDir { node: c, parent: i as u32, size: 0, lba: 0 });
                }
            }
            self.joliet_children.push(kids);
            i += 1;
        }
        if self.joliet_dirs.len() > MAX_DIRS {
            return Err(WriteError::TooManyDirectories { count: self.joliet_dirs.len() });
        }
        Ok(())
    }

    fn iso_dir_ident(&self, d: usize) -> &[u8] {
        if d == 0 {
            return &[0];
        }
        match self.iso_dirs[d].node {
            None => RR_MOVED_ISO,
            Some(n) => match self.moved_name.get(&n) {
                Some(m) => m,
                None => &self.iso_name[n.0 as usize],
            },
        }
    }

    fn joliet_ident(&self, id: NodeId) -> Vec<u8> {
        self.joliet_name[id.0 as usize].iter().flat_map(|u| u.to_be_bytes()).collect()
    }

    fn size_areas(&mut self) -> Result<(), WriteError> {
        self.path_size = (0..self.iso_dirs.len()).map(|d| path_record_len(self.iso_dir_ident(d).len()) as u32).sum();
        if self.opts.joliet {
            self.joliet_path_size = self
                .joliet_dirs
                .iter()
                .enumerate()
                .map(|(i, d)| path_record_len(if i == 0 { 1 } else { 2 * self.joliet_name[d.node.0 as usize].len() }))
                .sum::<usize>() as u32;
        }
        let mut buf = Vec::new();
        let zero = |_: DataId| 0u32;
        for d in 0..self.iso_dirs.len() {
            let mut pool = CePool::default();
            self.iso_dir_bytes(d, &mut pool, None, &zero, &mut buf)?;
            self.iso_dirs[d].size = buf.len() as u32;
            self.iso_dirs[d].ce_sectors = pool.sectors();
        }
        for d in 0..self.joliet_dirs.len() {
            self.joliet_dir_bytes(d, &zero, &mut buf)?;
            self.joliet_dirs[d].size = buf.len() as u32;
        }
        Ok(())
    }

    /// Number of volume descriptors this layout contributes before the terminator: the primary, the Joliet
    /// supplementary (if on) and the enhanced one (level 4).
    pub fn descriptor_count(&self) -> u32 {
        1 + u32::from(self.opts.joliet) + u32::from(self.opts.level >= 4)
    }

    /// Sectors of metadata (path tables, directories, continuation areas).
    pub fn metadata_sectors(&self) -> u64 {
        let pt = 2 * sectors_of(u64::from(self.path_size));
        let jpt = if self.opts.joliet { 2 * sectors_of(u64::from(self.joliet_path_size)) } else { 0 };
        let dirs: u64 = self.iso_dirs.iter().map(|d| sectors_of(u64::from(d.size)) + u64::from(d.ce_sectors)).sum();
        let jdirs: u64 = self.joliet_dirs.iter().map(|d| sectors_of(u64::from(d.size))).sum();
        pt + jpt + dirs + jdirs
    }

    /// Fixes the metadata at `start` (LBA): L and M path tables, Joliet path tables, ISO directories (each
    /// followed by its Rock Ridge continuation areas; the relocation tree first, see `iso_dir_order`), Joliet
    /// directories, in that order. Returns the first LBA after them.
    pub fn place_metadata(&mut self, start: u32) -> Result<u32, WriteError> {
        let total = u64::from(start) + self.metadata_sectors();
        if total > u64::from(u32::MAX) {
            return Err(WriteError::ImageTooLarge { sectors: total });
        }
        let mut at = start;
        let mut take = |bytes: u64| {
            let here = at;
            at += sectors_of(bytes) as u32;
            here
        };
        let l_path = take(u64::from(self.path_size));
        let m_path = take(u64::from(self.path_size));
        let mut p = Places { l_path, m_path, ..Places::default() };
        if self.opts.joliet {
            p.jl_path = take(u64::from(self.joliet_path_size));
            p.jm_path = take(u64::from(self.joliet_path_size));
        }
        for d in self.iso_dir_order() {
            self.iso_dirs[d].lba = take(u64::from(self.iso_dirs[d].size));
            take(u64::from(self.iso_dirs[d].ce_sectors) * SECTOR as u64);
        }
        for d in 0..self.joliet_dirs.len() {
            self.joliet_dirs[d].lba = take(u64::from(self.joliet_dirs[d].size));
        }
        p.sectors = at - start;
        self.places = Some(p);
        Ok(at)
    }

    /// The ISO directories (indexes into `iso_dirs`) in the order their extents are placed: the root, then
    /// `RR_MOVED` and every directory below it, then all other directories, each group in path table order (a
    /// parent before its children).
    ///
    /// Readers that stream the image in LBA order and tie each relocated directory (`RE`) to its placeholder
    /// (`CL`) as they meet the placeholder need this: libarchive keeps a relocated tree open while some placeholder
    /// inside it still waits for its own relocated directory, and fails ("Failed to connect 'CL' pointer to 'RE'
    /// rr_moved pointer") once the outer relocated directory has been tied to its real parent first. Reading the
    /// whole relocation tree before any placeholder that lives outside it ties every nested relocation while its
    /// outer one is still open. Other readers follow the extents, whatever their order.
    fn iso_dir_order(&self) -> Vec<usize> {
        let n = self.iso_dirs.len();
        let mut moved = vec![false; n];
        for d in 1..n {
            // Path table order numbers a parent before its children.
            moved[d] = self.iso_dirs[d].node.is_none() || moved[self.iso_dirs[d].parent as usize];
        }
        let mut order = Vec::with_capacity(n);
        order.push(0);
        order.extend((1..n).filter(|&d| moved[d]));
        order.extend((1..n).filter(|&d| !moved[d]));
        order
    }

    fn places(&self) -> Result<Places, WriteError> {
        self.places.ok_or_else(|| WriteError::PlanViolated { what: "ISO metadata written before it was placed".into() })
    }

    /// Writes every metadata sector, in LBA order from the start given to [`place_metadata`](Self::place_metadata).
    /// `extent_of` gives the LBA where each data item was placed. Returns the bytes written.
    pub fn write_metadata<W: Write + ?Sized>(
        &self,
        out: &mut W,
        extent_of: &dyn Fn(DataId) -> u32,
    ) -> Result<u64, WriteError> {
        let p = self.places()?;
        let mut written = 0u64;
        let mut put = |out: &mut W, mut bytes: Vec<u8>| -> Result<(), WriteError> {
            let padded = sectors_of(bytes.len() as u64) as usize * SECTOR;
            bytes.resize(padded, 0);
            out.write_all(&bytes)?;
            written += bytes.len() as u64;
            Ok(())
        };
        put(out, self.path_table(false, false))?;
        put(out, self.path_table(true, false))?;
        if self.opts.joliet {
            put(out, self.path_table(false, true))?;
            put(out, self.path_table(true, true))?;
        }
        let mut buf = Vec::new();
        for d in self.iso_dir_order() {
            let mut pool = CePool::default();
            let mut ce_buf = vec![0u8; self.iso_dirs[d].ce_sectors as usize * SECTOR];
            self.iso_dir_bytes(d, &mut pool, Some(&mut ce_buf), extent_of, &mut buf)?;
            if buf.len() != self.iso_dirs[d].size as usize || pool.sectors() != self.iso_dirs[d].ce_sectors {
                return Err(WriteError::PlanViolated { what: format!("ISO directory {d} changed size") });
            }
            put(out, std::mem::take(&mut buf))?;
            put(out, ce_buf)?;
        }
        for d in 0..self.joliet_dirs.len() {
            self.joliet_dir_bytes(d, extent_of, &mut buf)?;
            if buf.len() != self.joliet_dirs[d].size as usize {
                return Err(WriteError::PlanViolated { what: format!("Joliet directory {d} changed size") });
            }
            put(out, std::mem::take(&mut buf))?;
        }
        if written != u64::from(p.sectors) * SECTOR as u64 {
            return Err(WriteError::PlanViolated { what: "ISO metadata size differs from its plan".into() });
        }
        Ok(written)
    }

    fn path_table(&self, big_endian: bool, joliet: bool) -> Vec<u8> {
        let mut v = Vec::new();
        if joliet {
            for (i, d) in self.joliet_dirs.iter().enumerate() {
                let name = if i == 0 { vec![0] } else { self.joliet_ident(d.node) };
                path_record(&mut v, &name, d.lba, (d.parent + 1) as u16, big_endian);
            }
        } else {
            for (i, d) in self.iso_dirs.iter().enumerate() {
                path_record(&mut v, self.iso_dir_ident(i), d.lba, (d.parent + 1) as u16, big_endian);
            }
        }
        v
    }

    fn push_record(out: &mut Vec<u8>, rec: &DirRecord<'_>) {
        let len = dir_record_len(rec.name.len(), rec.system_use.len());
        let used = out.len() % SECTOR;
        if used + len > SECTOR {
            out.resize(out.len() + SECTOR - used, 0);
        }
        rec.write_to(out);
    }

    fn finish_extent(out: &mut Vec<u8>) {
        let padded = sectors_of(out.len() as u64).max(1) as usize * SECTOR;
        out.resize(padded, 0);
    }

    /// Places SUSP entries in the record's system use area and the rest in continuation areas.
    fn system_use(
        &self,
        ce_base: u32,
        entries: &[Vec<u8>],
        name_len: usize,
        pool: &mut CePool,
        mut ce_buf: Option<&mut Vec<u8>>,
    ) -> Vec<u8> {
        let fixed = DIR_RECORD_FIXED + name_len + usize::from(name_len.is_multiple_of(2));
        let space = DIR_RECORD_MAX.saturating_sub(fixed);
        let packed = susp::pack(entries, space);
        let mut su: Vec<u8> = entries[..packed.in_record].concat();
        if packed.areas.is_empty() {
            return su;
        }
        let spots: Vec<(u32, usize)> = packed.areas.iter().map(|a| pool.alloc(a.1)).collect();
        su.extend(susp::ce(ce_base + spots[0].0, spots[0].1 as u32, packed.areas[0].1 as u32));
        let mut i = packed.in_record;
        for (k, &(count, len)) in packed.areas.iter().enumerate() {
            if let Some(buf) = ce_buf.as_deref_mut() {
                let mut area: Vec<u8> = entries[i..i + count].concat();
                if let (Some(next), Some(next_area)) = (spots.get(k + 1), packed.areas.get(k + 1)) {
                    area.extend(susp::ce(ce_base + next.0, next.1 as u32, next_area.1 as u32));
                }
                let at = spots[k].0 as usize * SECTOR + spots[k].1;
                if let Some(dst) = buf.get_mut(at..at + len.min(area.len())) {
                    dst.copy_from_slice(&area[..dst.len()]);
                }
            }
            i += count;
        }
        su
    }

    fn rr_basics(&self, id: NodeId, out: &mut Vec<Vec<u8>>) {
        let node = self.tree.node(id);
        let i = id.0 as usize;
        out.push(susp::px(posix_mode(&node.kind, node.meta.perm), self.nlink[i], &node.meta, self.ino[i]));
        out.push(susp::tf(&node.meta));
    }

    fn rr_moved_basics(&self, out: &mut Vec<Vec<u8>>) {
        let nlink = 2 + self
            .iso_dirs
            .iter()
            .filter(|d| d.parent != 0 && self.iso_dirs[d.parent as usize].node.is_none())
            .count() as u32;
        out.push(susp::px(posix_mode(&NodeKind::Dir, 0o755), nlink, &self.rr_moved_meta, self.rr_moved_ino));
        out.push(susp::tf(&self.rr_moved_meta));
    }

    fn rr_entry_extras(&self, id: NodeId, out: &mut Vec<Vec<u8>>) {
        match &self.tree.node(id).kind {
            NodeKind::File(f) => {
                if let Some(z) = f.zisofs_size {
                    out.push(susp::zf(z));
                }
            }
            NodeKind::Device { major, minor, .. } => out.push(susp::pn(*major, *minor)),
            NodeKind::Symlink(t) => susp::sl(t, out),
            _ => {}
        }
    }

    fn dir_meta_date(&self, d: usize) -> [u8; 7] {
        match self.iso_dirs[d].node {
            Some(n) => dir_date(self.tree.node(n).meta.mtime),
            None => dir_date(self.rr_moved_meta.mtime),
        }
    }

    /// Serialises ISO directory `d` (with Rock Ridge entries when on) into `out`, sector-padded.
    fn iso_dir_bytes(
        &self,
        d: usize,
        pool: &mut CePool,
        mut ce_buf: Option<&mut Vec<u8>>,
        extent_of: &dyn Fn(DataId) -> u32,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        out.clear();
        let rr = self.opts.rock_ridge;
        let dir = &self.iso_dirs[d];
        let parent = &self.iso_dirs[dir.parent as usize];
        let ce_base = dir.lba + sectors_of(u64::from(dir.size)) as u32;
        let mut su: Vec<Vec<u8>> = Vec::new();
        // "." record.
        if rr {
            if d == 0 {
                su.push(susp::sp());
            }
            match dir.node {
                Some(n) => self.rr_basics(n, &mut su),
                None => self.rr_moved_basics(&mut su),
            }
            if d == 0 {
                su.push(susp::er());
                if let Some(array) = self.opts.checksum_array {
                    let entries = self.checksum_files.len() as u32 + 2;
                    su.push(susp::al_checksum_array(0, extent_of(array), entries));
                }
            }
        }
        let area = self.system_use(ce_base, &su, 1, pool, ce_buf.as_deref_mut());
        let date = self.dir_meta_date(d);
        Self::push_record(
            out,
            &DirRecord {
                extent: dir.lba,
                size: dir.size,
                date,
                flags: flags::DIRECTORY,
                name: &[0],
                system_use: &area,
            },
        );
        // ".." record: for a relocated directory Rock Ridge readers follow PL to the true parent.
        su.clear();
        if rr {
            let true_parent = dir.node.map(|n| self.tree.node(n).parent);
            let relocated = dir.node.is_some_and(|n| self.moved_name.contains_key(&n));
            match (true_parent, parent.node) {
                (Some(tp), _) if relocated => {
                    self.rr_basics(tp, &mut su);
                    let tp_lba = self.iso_dirs[self.iso_dir_of[tp.0 as usize] as usize].lba;
                    su.push(susp::pl(tp_lba));
                }
                (_, Some(pn)) => self.rr_basics(pn, &mut su),
                (_, None) => self.rr_moved_basics(&mut su),
            }
        }
        let area = self.system_use(ce_base, &su, 1, pool, ce_buf.as_deref_mut());
        let date = self.dir_meta_date(dir.parent as usize);
        Self::push_record(
            out,
            &DirRecord {
                extent: parent.lba,
                size: parent.size,
                date,
                flags: flags::DIRECTORY,
                name: &[1],
                system_use: &area,
            },
        );
        for &e in &dir.entries {
            let name = self.entry_name(e);
            su.clear();
            let (extents, dir_flag, date): (Vec<(u32, u32)>, bool, [u8; 7]) = match e {
                Entry::RrMoved => {
                    if rr {
                        self.rr_moved_basics(&mut su);
                        susp::nm(&self.rr_moved_name, &mut su);
                    }
                    let md = self.iso_dirs.iter().position(|x| x.node.is_none()).unwrap_or(0);
                    let m = &self.iso_dirs[md];
                    (vec![(m.lba, m.size)], true, dir_date(self.rr_moved_meta.mtime))
                }
                Entry::Placeholder(c) => {
                    let target = &self.iso_dirs[self.iso_dir_of[c.0 as usize] as usize];
                    if rr {
                        self.rr_basics(c, &mut su);
                        su.push(susp::cl(target.lba));
                        susp::nm(&self.tree.node(c).name, &mut su);
                    }
                    (vec![(target.lba, 0)], false, dir_date(self.tree.node(c).meta.mtime))
                }
                Entry::Node(c) | Entry::Relocated(c) => {
                    let node = self.tree.node(c);
                    if rr {
                        self.rr_basics(c, &mut su);
                        if matches!(e, Entry::Relocated(_)) {
                            su.push(susp::re());
                        }
                        self.rr_entry_extras(c, &mut su);
                        susp::nm(&node.name, &mut su);
                        if let NodeKind::File(f) = &node.kind {
                            if let Some(&i) = self.checksum_index.get(&f.data) {
                                su.push(susp::al_checksum_index(i));
                            }
                        }
                    }
                    let date = dir_date(node.meta.mtime);
                    match &node.kind {
                        NodeKind::Dir => {
                            let t = &self.iso_dirs[self.iso_dir_of[c.0 as usize] as usize];
                            (vec![(t.lba, t.size)], true, date)
                        }
                        NodeKind::File(f) => (file_extents(f.stored_size, extent_of(f.data)), false, date),
                        _ => (vec![(0, 0)], false, date),
                    }
                }
            };
            // Every record of a multi-extent file carries the same entries (libarchive wants Rock Ridge on each);
            // they share one continuation area.
            let area = self.system_use(ce_base, &su, name.len(), pool, ce_buf.as_deref_mut());
            let n = extents.len();
            for (k, (lba, size)) in extents.into_iter().enumerate() {
                let mut f = if dir_flag { flags::DIRECTORY } else { 0 };
                if k + 1 < n {
                    f |= flags::MULTI_EXTENT;
                }
                Self::push_record(out, &DirRecord { extent: lba, size, date, flags: f, name, system_use: &area });
            }
        }
        Self::finish_extent(out);
        Ok(())
    }

    /// Serialises Joliet directory `d` into `out`, sector-padded.
    fn joliet_dir_bytes(
        &self,
        d: usize,
        extent_of: &dyn Fn(DataId) -> u32,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        out.clear();
        let dir = &self.joliet_dirs[d];
        let parent = &self.joliet_dirs[dir.parent as usize];
        let tree = self.tree;
        Self::push_record(
            out,
            &DirRecord {
                extent: dir.lba,
                size: dir.size,
                date: dir_date(tree.node(dir.node).meta.mtime),
                flags: flags::DIRECTORY,
                name: &[0],
                system_use: &[],
            },
        );
        Self::push_record(
            out,
            &DirRecord {
                extent: parent.lba,
                size: parent.size,
                date: dir_date(tree.node(parent.node).meta.mtime),
                flags: flags::DIRECTORY,
                name: &[1],
                system_use: &[],
            },
        );
        for &c in &self.joliet_children[d] {
            let node = tree.node(c);
            let name = self.joliet_ident(c);
            let date = dir_date(node.meta.mtime);
            let (extents, dir_flag) = match &node.kind {
                NodeKind::Dir => {
                    let t = &self.joliet_dirs[self.joliet_dir_of[c.0 as usize] as usize];
                    (vec![(t.lba, t.size)], true)
                }
                NodeKind::File(f) => (file_extents(f.stored_size, extent_of(f.data)), false),
                _ => (vec![(0, 0)], false),
            };
            let n = extents.len();
            for (k, (lba, size)) in extents.into_iter().enumerate() {
                let mut f = if dir_flag { flags::DIRECTORY } else { 0 };
                if k + 1 < n {
                    f |= flags::MULTI_EXTENT;
                }
                Self::push_record(out, &DirRecord { extent: lba, size, date, flags: f, name: &name, system_use: &[] });
            }
        }
        Self::finish_extent(out);
        Ok(())
    }

    fn root_record(&self, joliet: bool) -> Vec<u8> {
        let (lba, size) = if joliet {
            (self.joliet_dirs[0].lba, self.joliet_dirs[0].size)
        } else {
            (self.iso_dirs[0].lba, self.iso_dirs[0].size)
        };
        let mut v = Vec::with_capacity(34);
        DirRecord {
            extent: lba,
            size,
            date: dir_date(self.tree.node(Tree::ROOT).meta.mtime),
            flags: flags::DIRECTORY,
            name: &[0],
            system_use: &[],
        }
        .write_to(&mut v);
        v
    }

    fn descriptor(&self, kind: Descriptor, volume_sectors: u32) -> Result<[u8; SECTOR], WriteError> {
        let p = self.places()?;
        let joliet = kind == Descriptor::Joliet;
        let mut s = [0u8; SECTOR];
        s[0] = if kind == Descriptor::Primary { 1 } else { 2 };
        s[1..6].copy_from_slice(b"CD001");
        s[6] = if kind == Descriptor::Enhanced { 2 } else { 1 };
        let o = &self.opts;
        let text = |field: &mut [u8], v: &str| {
            if joliet {
                fill_ucs2(field, &ucs2(v));
            } else {
                fill_ascii(field, &ascii_field(v));
            }
        };
        text(&mut s[8..40], &o.system_id);
        text(&mut s[40..72], &o.volume_id);
        put_both32(&mut s, 80, volume_sectors);
        if joliet {
            s[88..91].copy_from_slice(b"%/E"); // UCS-2 level 3
        }
        put_both16(&mut s, 120, 1);
        put_both16(&mut s, 124, 1);
        put_both16(&mut s, 128, SECTOR as u16);
        let (psize, l, m) =
            if joliet { (self.joliet_path_size, p.jl_path, p.jm_path) } else { (self.path_size, p.l_path, p.m_path) };
        put_both32(&mut s, 132, psize);
        s[140..144].copy_from_slice(&l.to_le_bytes());
        s[148..152].copy_from_slice(&m.to_be_bytes());
        s[156..190].copy_from_slice(&self.root_record(joliet));
        text(&mut s[190..318], &o.volume_set_id);
        text(&mut s[318..446], &o.publisher);
        text(&mut s[446..574], &o.preparer);
        text(&mut s[574..702], &o.application);
        text(&mut s[702..739], "");
        text(&mut s[739..776], "");
        text(&mut s[776..813], "");
        let d = &o.dates;
        let cs = d.hundredths.min(99);
        let with_cs = |t: i64| {
            let mut v = volume_date(Some(t));
            v[14] = b'0' + cs / 10;
            v[15] = b'0' + cs % 10;
            v
        };
        s[813..830].copy_from_slice(&with_cs(d.creation.unwrap_or(o.time)));
        s[830..847].copy_from_slice(&with_cs(d.modification.unwrap_or(o.time)));
        s[847..864].copy_from_slice(&volume_date(d.expiration));
        s[864..881].copy_from_slice(&volume_date(d.effective));
        s[881] = if kind == Descriptor::Enhanced { 2 } else { 1 };
        Ok(s)
    }

    /// The primary volume descriptor (ECMA-119 8.4) for an image of `volume_sectors` sectors.
    pub fn primary_descriptor(&self, volume_sectors: u32) -> Result<[u8; SECTOR], WriteError> {
        self.descriptor(Descriptor::Primary, volume_sectors)
    }

    /// The Joliet supplementary volume descriptor (ECMA-119 8.5, escape `%/E`), if Joliet is on.
    pub fn joliet_descriptor(&self, volume_sectors: u32) -> Result<Option<[u8; SECTOR]>, WriteError> {
        if !self.opts.joliet {
            return Ok(None);
        }
        self.descriptor(Descriptor::Joliet, volume_sectors).map(Some)
    }

    /// The enhanced volume descriptor of ISO 9660:1999 (type 2, version 2) at level 4, pointing at the same
    /// hierarchy as the primary one.
    pub fn enhanced_descriptor(&self, volume_sectors: u32) -> Result<Option<[u8; SECTOR]>, WriteError> {
        if self.opts.level < 4 {
            return Ok(None);
        }
        self.descriptor(Descriptor::Enhanced, volume_sectors).map(Some)
    }

    /// The volume descriptor set terminator (ECMA-119 8.3).
    pub fn terminator() -> [u8; SECTOR] {
        let mut s = [0u8; SECTOR];
        s[0] = 255;
        s[1..6].copy_from_slice(b"CD001");
        s[6] = 1;
        s
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Descriptor {
    Primary,
    Joliet,
    Enhanced,
}

/// The extents of a file of `size` bytes stored contiguously from `lba`: one per [`MAX_EXTENT`] bytes; an empty
/// file gets extent 0.
fn file_extents(size: u64, lba: u32) -> Vec<(u32, u32)> {
    if size == 0 {
        return vec![(0, 0)];
    }
    let mut v = Vec::with_capacity(1);
    let mut left = size;
    let mut at = lba;
    while left > 0 {
        let n = left.min(MAX_EXTENT);
        v.push((at, n as u32));
        at = at.wrapping_add((MAX_EXTENT / SECTOR as u64) as u32);
        left -= n;
    }
    v
}

/// A name for messages: UTF-8 as it is, other bytes as `\xHH`.
fn shown(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::FileData;

    fn file(id: u32) -> NodeKind {
        NodeKind::File(FileData { data: DataId(id), stored_size: 1, zisofs_size: None })
    }

    #[test]
    fn a_root_directory_named_like_the_relocation_directory_gets_another_identifier() {
        let meta = Meta { perm: 0o755, ..Meta::default() };
        let mut tree = Tree::new(meta);
        // Nine levels from "RR_MOVED0" (level 1: "RR_MOVED" once cut to 8 characters) force a relocation.
        let mut at = Tree::ROOT;
        for k in 0..9 {
            at = tree.add(at, format!("RR_MOVED{k}").as_bytes(), NodeKind::Dir, meta).unwrap();
        }
        tree.add(Tree::ROOT, b"rr_moved", file(0), meta).unwrap();
        for level in 1..=3 {
            let layout = IsoLayout::new(&tree, IsoOptions::default().level(level)).unwrap();
            let root: Vec<&[u8]> = layout.iso_dirs[0].entries.iter().map(|e| layout.entry_name(*e)).collect();
            assert!(layout.iso_dirs[0].entries.iter().any(|e| matches!(e, Entry::RrMoved)), "level {level}");
            let unique: std::collections::HashSet<&[u8]> = root.iter().copied().collect();
            assert_eq!(unique.len(), root.len(), "level {level}: {root:?}");
            assert_eq!(root.iter().filter(|n| **n == RR_MOVED_ISO).count(), 1, "level {level}: {root:?}");
        }
    }

    #[test]
    fn the_relocation_directory_takes_a_rock_ridge_name_the_root_does_not_use() {
        let meta = Meta { perm: 0o755, ..Meta::default() };
        let deep = |tree: &mut Tree| {
            let mut at = Tree::ROOT;
            for k in 0..9 {
                at = tree.add(at, format!("d{k}").as_bytes(), NodeKind::Dir, meta).unwrap();
            }
        };
        let mut tree = Tree::new(meta);
        deep(&mut tree);
        assert_eq!(IsoLayout::new(&tree, IsoOptions::default()).unwrap().rr_moved_name, b"rr_moved");
        tree.add(Tree::ROOT, b"rr_moved", NodeKind::Dir, meta).unwrap();
        assert_eq!(IsoLayout::new(&tree, IsoOptions::default()).unwrap().rr_moved_name, b".rr_moved");
        tree.add(Tree::ROOT, b".rr_moved", file(0), meta).unwrap();
        assert_eq!(IsoLayout::new(&tree, IsoOptions::default()).unwrap().rr_moved_name, b".rr_moved.1");
    }

    #[test]
    fn a_name_twice_in_one_directory_is_refused() {
        let meta = Meta { perm: 0o755, ..Meta::default() };
        let mut tree = Tree::new(meta);
        let d = tree.add(Tree::ROOT, b"d", NodeKind::Dir, meta).unwrap();
        tree.add(d, b"a", file(0), meta).unwrap();
        tree.add(d, b"b", file(1), meta).unwrap();
        tree.add(Tree::ROOT, b"a", file(2), meta).unwrap();
        assert!(IsoLayout::new(&tree, IsoOptions::default()).is_ok());
        // `Tree::add` takes a second "a" (it does not search the directory); the layout refuses it.
        tree.add(d, b"a", NodeKind::Dir, meta).unwrap();
        match IsoLayout::new(&tree, IsoOptions::default().joliet(false)) {
            Err(WriteError::DuplicateName { path }) => assert_eq!(path, "/d/a"),
            other => panic!("expected a duplicate name error, got {other:?}"),
        }
    }
}

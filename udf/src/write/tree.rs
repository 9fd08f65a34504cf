//! The input tree of the UDF writer: directories, files and symlinks with POSIX metadata, and references to
//! file data (never the data itself).
//!
//! A node is one (Extended) File Entry; a directory entry (one File Identifier Descriptor) names a node. Hard
//! links are several entries naming one node, so they share one entry and its link count (ECMA-167 4/14.9.6).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use super::error::WriteError;

/// Index of a node in a [`Tree`]; the root directory is [`Tree::ROOT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Index of a data item in the caller's table of file contents. The caller places each data item on the image
/// (one contiguous run of blocks) and copies its bytes; several files may share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataId(pub u32);

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory; its entries are kept in the tree.
    Dir,
    /// A regular file of `size` bytes whose contents are the caller's data item `data`.
    File {
        /// The caller's data item.
        data: DataId,
        /// Size in bytes (0 for an empty file, which records no extent).
        size: u64,
    },
    /// A symbolic link and its target as raw bytes (`/`-separated, as POSIX `readlink` returns it).
    Symlink(Box<[u8]>),
    /// A character or block device, its numbers recorded in a Device Specification extended attribute
    /// (ECMA-167 4/14.10.7).
    Device {
        /// Block device (`S_IFBLK`) rather than character device.
        block: bool,
        /// Major device number.
        major: u32,
        /// Minor device number.
        minor: u32,
    },
    /// A named pipe (ECMA-167 4/14.6.6 file type 9).
    Fifo,
    /// A Unix socket (file type 10).
    Socket,
}

/// A point in time: seconds since the Unix epoch (negative before 1970) and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Time {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds, 0–999 999 999.
    pub nanos: u32,
}

impl Time {
    /// `secs` seconds since the Unix epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Time { secs, nanos: 0 }
    }
}

/// POSIX metadata of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Meta {
    /// Permission bits with set-user-id, set-group-id and sticky (`0o7777`); the type bits come from the kind.
    pub perm: u32,
    /// Owner user id (`u32::MAX` records "not specified", UDF 2.60 3.3.3.1).
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Last access.
    pub atime: Time,
    /// Last modification of the contents.
    pub mtime: Time,
    /// Last change of the attributes (POSIX ctime).
    pub ctime: Time,
    /// Creation (recorded in Extended File Entries only); `None` records the modification time.
    pub crtime: Option<Time>,
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) meta: Meta,
    /// The directory holding the node's first name (the root's parent is itself).
    pub(crate) parent: NodeId,
}

/// One directory entry: a name and the node it names.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) name: Box<str>,
    pub(crate) node: NodeId,
}

/// A file tree to be written: the root directory and everything below it.
#[derive(Clone, Debug)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// Entries of each node (empty for non-directories), in the order they will be recorded.
    pub(crate) entries: Vec<Vec<Entry>>,
    /// (directory, hash of name) of every entry, so that adding checks for a duplicate name without scanning
    /// the directory (a hit is confirmed by a scan).
    names: HashSet<(u32, u64)>,
}

fn name_hash(name: &str) -> u64 {
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

/// Longest name in bytes of CS0 d-characters, compression ID included (ECMA-167 4/14.4.5: an 8-bit length).
pub const MAX_NAME_BYTES: usize = 255;

impl Tree {
    /// The root directory.
    pub const ROOT: NodeId = NodeId(0);

    /// A tree holding only a root directory with `meta`.
    pub fn new(meta: Meta) -> Self {
        Tree {
            nodes: vec![Node { kind: NodeKind::Dir, meta, parent: Self::ROOT }],
            entries: vec![Vec::new()],
            names: HashSet::new(),
        }
    }

    fn check_name(&self, parent: NodeId, name: &str) -> Result<(), WriteError> {
        let bad = |reason| Err(WriteError::InvalidName { name: name.to_string(), reason });
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            return bad("empty, `.`, `..`, or holds `/` or NUL");
        }
        if super::names::encoded_len(name) > MAX_NAME_BYTES {
            return bad("longer than 255 bytes of CS0 (254 Latin-1 or 127 other characters)");
        }
        if !matches!(self.nodes.get(parent.0 as usize).map(|n| &n.kind), Some(NodeKind::Dir)) {
            return Err(WriteError::NotADirectory { name: name.to_string() });
        }
        if self.names.contains(&(parent.0, name_hash(name))) && self.lookup(parent, name).is_some() {
            return bad("already present in the directory");
        }
        Ok(())
    }

    /// Adds `name` (one path component) under the directory `parent` as a new node.
    ///
    /// Names are unique within a directory; a name of more than 255 bytes of CS0 is refused.
    pub fn add(&mut self, parent: NodeId, name: &str, kind: NodeKind, meta: Meta) -> Result<NodeId, WriteError> {
        self.check_name(parent, name)?;
        let id = NodeId(u32::try_from(self.nodes.len()).map_err(|_| WriteError::TooManyEntries)?);
        self.nodes.push(Node { kind, meta, parent });
        self.entries.push(Vec::new());
        self.entries[parent.0 as usize].push(Entry { name: name.into(), node: id });
        self.names.insert((parent.0, name_hash(name)));
        Ok(id)
    }

    /// Adds `name` under `parent` as another name of the existing non-directory `target` (a hard link).
    pub fn add_hard_link(&mut self, parent: NodeId, name: &str, target: NodeId) -> Result<(), WriteError> {
        self.check_name(parent, name)?;
        match self.nodes.get(target.0 as usize).map(|n| &n.kind) {
            Some(NodeKind::Dir) | None => return Err(WriteError::BadLink { name: name.to_string() }),
            Some(_) => {}
        }
        self.entries[parent.0 as usize].push(Entry { name: name.into(), node: target });
        self.names.insert((parent.0, name_hash(name)));
        Ok(())
    }

    /// Finds the node that `name` names in directory `dir`.
    pub fn lookup(&self, dir: NodeId, name: &str) -> Option<NodeId> {
        self.entries.get(dir.0 as usize)?.iter().find(|e| &*e.name == name).map(|e| e.node)
    }

    /// Reorders the entries of directory `dir` with `cmp` over (name, node) pairs (a stable sort).
    pub fn sort_entries_by<F>(&mut self, dir: NodeId, mut cmp: F)
    where
        F: FnMut((&str, NodeId), (&str, NodeId)) -> std::cmp::Ordering,
    {
        if let Some(v) = self.entries.get_mut(dir.0 as usize) {
            v.sort_by(|a, b| cmp((&a.name, a.node), (&b.name, b.node)));
        }
    }

    /// The entries of directory `dir` as (name, node) pairs, in recording order.
    pub fn entries(&self, dir: NodeId) -> impl Iterator<Item = (&str, NodeId)> {
        self.entries.get(dir.0 as usize).into_iter().flatten().map(|e| (&*e.name, e.node))
    }

    /// Number of nodes, the root included (hard links count once).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a tree holds at least its root.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The kind of `id`.
    pub fn kind(&self, id: NodeId) -> Option<&NodeKind> {
        self.nodes.get(id.0 as usize).map(|n| &n.kind)
    }

    /// The metadata of `id`.
    pub fn meta(&self, id: NodeId) -> Option<&Meta> {
        self.nodes.get(id.0 as usize).map(|n| &n.meta)
    }

    /// Every file's data item in recording order (depth first, entries in directory order; a data item once),
    /// with its size: the order a UDF-only image stores file data in.
    pub fn data_order(&self) -> Vec<(DataId, u64)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut stack = vec![Self::ROOT];
        while let Some(dir) = stack.pop() {
            let mut subdirs = Vec::new();
            for e in self.entries.get(dir.0 as usize).into_iter().flatten() {
                match &self.nodes[e.node.0 as usize].kind {
                    NodeKind::Dir => subdirs.push(e.node),
                    NodeKind::File { data, size } if *size > 0 && seen.insert(*data) => out.push((*data, *size)),
                    _ => {}
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let mut t = Tree::new(Meta::default());
        let f = NodeKind::File { data: DataId(0), size: 1 };
        let a = t.add(Tree::ROOT, "a", f.clone(), Meta::default()).unwrap();
        assert!(t.add(Tree::ROOT, "a", f.clone(), Meta::default()).is_err());
        assert!(t.add(Tree::ROOT, "x/y", f.clone(), Meta::default()).is_err());
        assert!(t.add(Tree::ROOT, "..", f.clone(), Meta::default()).is_err());
        assert!(t.add(a, "b", f.clone(), Meta::default()).is_err());
        assert!(t.add(Tree::ROOT, &"x".repeat(254), f.clone(), Meta::default()).is_ok());
        assert!(t.add(Tree::ROOT, &"y".repeat(255), f.clone(), Meta::default()).is_err());
        assert!(t.add(Tree::ROOT, &"é".repeat(254), f.clone(), Meta::default()).is_ok());
        assert!(t.add(Tree::ROOT, &"日".repeat(128), f, Meta::default()).is_err());
        t.add_hard_link(Tree::ROOT, "b", a).unwrap();
        assert!(t.add_hard_link(Tree::ROOT, "c", Tree::ROOT).is_err());
        assert_eq!(t.lookup(Tree::ROOT, "b"), Some(a));
    }
}

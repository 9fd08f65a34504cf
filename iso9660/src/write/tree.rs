//! The neutral input tree the writer lays out: names, kinds, POSIX metadata and references to file data.
//!
//! The tree never holds file contents. A regular file names its data by a [`DataId`], an index into a table the
//! caller owns; the caller places each data item on the image and later copies its bytes (see
//! [`crate::write::IsoLayout::write_metadata`] for how extents are looked up).

// The writer indexes only structures it built itself from a caller's tree (never bytes read from an image),
// and its arithmetic is on sizes bounded by the planner's checks.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use super::error::WriteError;

/// Index of a node in a [`Tree`]; the root is [`Tree::ROOT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Index of a data item in the caller's table of file contents. Several nodes may share one (hard links,
/// deduplicated contents); each data item is stored once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataId(pub u32);

/// The kind of device a [`NodeKind::Device`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// A character device (`S_IFCHR`).
    Char,
    /// A block device (`S_IFBLK`).
    Block,
}

/// How a regular file's data is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileData {
    /// Which data item holds the bytes.
    pub data: DataId,
    /// Size of the stored bytes on the image (the compressed size for zisofs).
    pub stored_size: u64,
    /// For a zisofs-compressed file, the uncompressed size in bytes (recorded in the Rock Ridge `ZF` entry).
    pub zisofs_size: Option<u32>,
}

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory; its children are kept in [`Tree::children`].
    Dir,
    /// A regular file with data (an empty file has `stored_size` 0).
    File(FileData),
    /// A symbolic link and its target, as raw bytes.
    Symlink(Box<[u8]>),
    /// A device node with its major and minor numbers.
    Device {
        /// Character or block.
        kind: DeviceKind,
        /// The device number's high part.
        major: u32,
        /// The device number's low part.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
}

/// POSIX metadata of a node, as Rock Ridge records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Meta {
    /// Permission bits and set-id/sticky bits (`0o7777`); the file-type bits are derived from the kind.
    pub perm: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    /// Access time, seconds since the Unix epoch.
    pub atime: i64,
    /// Status change time, seconds since the Unix epoch.
    pub ctime: i64,
    /// File serial number written to the Rock Ridge `PX` entry. Nodes with the same serial are hard links of
    /// one another and must share their data; `0` lets the writer assign a unique one.
    pub ino: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) name: Box<[u8]>,
    pub(crate) parent: NodeId,
    /// For a directory, its index in `Tree::children`; `NO_CHILDREN` otherwise (files need no list).
    pub(crate) children: u32,
    pub(crate) kind: NodeKind,
    pub(crate) meta: Meta,
}

/// The directory trees an entry is left out of (mkisofs `-hide`, `-hide-joliet`, `-hide-udf`). A hidden file
/// keeps its data on the image (it may be a boot image); only its directory record is missing from that tree. A
/// hidden directory takes its whole subtree out of that tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Hidden {
    /// No record in the ISO 9660 (and Rock Ridge) tree.
    pub iso: bool,
    /// No record in the Joliet tree.
    pub joliet: bool,
    /// No record in the UDF tree of a bridge image (read by the caller that builds the UDF tree).
    pub udf: bool,
}

/// An abstract file tree to be written: the root directory and every entry below it.
#[derive(Clone, Debug)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// One list per directory (not per node: most entries are files).
    pub(crate) children: Vec<Vec<NodeId>>,
    /// Per node, the trees it is hidden from; empty while nothing is hidden, shorter than `nodes` otherwise.
    hidden: Vec<Hidden>,
}

const NO_CHILDREN: u32 = u32::MAX;

/// Largest number of nodes a tree may hold (the path tables number directories in 16 bits, but files are
/// bounded only by memory; this keeps every index in a `u32`).
pub const MAX_NODES: usize = u32::MAX as usize - 1;

impl Tree {
    /// The root directory.
    pub const ROOT: NodeId = NodeId(0);

    /// A tree holding only a root directory with `meta`.
    pub fn new(meta: Meta) -> Self {
        Tree {
            nodes: vec![Node { name: Box::new([]), parent: Self::ROOT, children: 0, kind: NodeKind::Dir, meta }],
            children: vec![Vec::new()],
            hidden: Vec::new(),
        }
    }

    /// Adds `name` (raw bytes of one path component, no `/`, not `.` or `..`) under the directory `parent`.
    ///
    /// Adding under a non-directory is an error. Names must be unique within a directory, which `add` does not
    /// check (see [`Tree::lookup`]): [`crate::write::IsoLayout::new`] refuses a tree holding a name twice.
    pub fn add(&mut self, parent: NodeId, name: &[u8], kind: NodeKind, meta: Meta) -> Result<NodeId, WriteError> {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
            return Err(WriteError::InvalidName { name: String::from_utf8_lossy(name).into_owned() });
        }
        let list = match self.nodes.get(parent.0 as usize) {
            Some(n) if n.children != NO_CHILDREN => n.children as usize,
            _ => return Err(WriteError::NotADirectory { name: String::from_utf8_lossy(name).into_owned() }),
        };
        if self.nodes.len() >= MAX_NODES {
            return Err(WriteError::TooManyEntries);
        }
        let id = NodeId(self.nodes.len() as u32);
        let children = self.new_list(&kind);
        self.nodes.push(Node { name: name.into(), parent, children, kind, meta });
        self.children[list].push(id);
        Ok(id)
    }

    fn new_list(&mut self, kind: &NodeKind) -> u32 {
        if matches!(kind, NodeKind::Dir) {
            self.children.push(Vec::new());
            (self.children.len() - 1) as u32
        } else {
            NO_CHILDREN
        }
    }

    /// Finds the child of `dir` called `name`.
    pub fn lookup(&self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        self.children(dir).iter().copied().find(|c| &*self.nodes[c.0 as usize].name == name)
    }

    /// Changes the kind and metadata of an existing node (used when a later source replaces an entry).
    pub fn replace(&mut self, id: NodeId, kind: NodeKind, meta: Meta) {
        let Some(old) = self.nodes.get(id.0 as usize).map(|n| n.children) else { return };
        let list = match (old, matches!(kind, NodeKind::Dir)) {
            (NO_CHILDREN, true) => self.new_list(&kind),
            (l, false) if l != NO_CHILDREN => {
                // The list slot stays allocated but empty; the replaced directory's entries are dropped.
                self.children[l as usize].clear();
                NO_CHILDREN
            }
            (l, _) => l,
        };
        let n = &mut self.nodes[id.0 as usize];
        n.children = list;
        n.kind = kind;
        n.meta = meta;
    }

    /// Number of nodes, the root included.
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

    /// Mutable metadata of `id`.
    pub fn meta_mut(&mut self, id: NodeId) -> Option<&mut Meta> {
        self.nodes.get_mut(id.0 as usize).map(|n| &mut n.meta)
    }

    /// The raw name of `id` (empty for the root).
    pub fn name(&self, id: NodeId) -> Option<&[u8]> {
        self.nodes.get(id.0 as usize).map(|n| &*n.name)
    }

    /// The parent of `id` (the root is its own parent).
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.nodes.get(id.0 as usize).map(|n| n.parent)
    }

    /// The children of directory `id`, in insertion order.
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        match self.nodes.get(id.0 as usize) {
            Some(n) if n.children != NO_CHILDREN => self.children.get(n.children as usize).map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }

    /// Every node id, in insertion order (parents before children).
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// Leaves `id` out of the trees `hidden` names (the root cannot be hidden; hiding it does nothing).
    pub fn set_hidden(&mut self, id: NodeId, hidden: Hidden) {
        let i = id.0 as usize;
        if id == Self::ROOT || i >= self.nodes.len() {
            return;
        }
        if self.hidden.len() <= i {
            self.hidden.resize(i + 1, Hidden::default());
        }
        self.hidden[i] = hidden;
    }

    /// The trees `id` itself is hidden from (its ancestors may hide it too).
    pub fn hidden(&self, id: NodeId) -> Hidden {
        self.hidden.get(id.0 as usize).copied().unwrap_or_default()
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    pub(crate) fn is_dir(&self, id: NodeId) -> bool {
        matches!(self.nodes[id.0 as usize].kind, NodeKind::Dir)
    }
}

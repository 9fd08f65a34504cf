//! The tree an edit changes: the input image's entries read into memory (names, kinds, POSIX metadata, where
//! the data lies), changed by the [`EditOp`](super::EditOp)s, then handed to the writer as its [`Tree`].
//!
//! The writer's own tree only grows; an edit also removes and moves, so it works on this one and converts it at
//! the end.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use anyhow::{bail, Context, Result};
use odix_iso9660::write::{DataId, DeviceKind, FileData, Meta, NodeKind, Tree};

/// One entry.
#[derive(Clone, Debug)]
struct ENode {
    name: Vec<u8>,
    parent: u32,
    children: Vec<u32>,
    kind: NodeKind,
    meta: Meta,
}

/// The edited tree. Node 0 is the root; removed nodes stay in the table, unreachable.
#[derive(Clone, Debug)]
pub struct EditTree {
    nodes: Vec<ENode>,
    /// The next Rock Ridge serial number given to a group of hard links.
    next_ino: u32,
}

/// The components of an image path; `.` and empty ones dropped. `..` is refused.
pub fn components(path: &str) -> Result<Vec<&str>> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if comps.contains(&"..") {
        bail!("{path}: `..` is not allowed in a path in the image");
    }
    Ok(comps)
}

impl EditTree {
    /// A tree holding only a root with `meta`.
    pub fn new(meta: Meta) -> EditTree {
        EditTree {
            nodes: vec![ENode { name: Vec::new(), parent: 0, children: Vec::new(), kind: NodeKind::Dir, meta }],
            next_ino: 0,
        }
    }

    /// A fresh serial number for a group of hard links.
    pub fn link_serial(&mut self) -> u32 {
        self.next_ino += 1;
        self.next_ino
    }

    /// The child `name` of directory `dir`.
    pub fn child(&self, dir: u32, name: &[u8]) -> Option<u32> {
        self.nodes.get(dir as usize)?.children.iter().copied().find(|&c| self.nodes[c as usize].name == name)
    }

    /// The node at `path`.
    pub fn lookup(&self, path: &str) -> Result<Option<u32>> {
        let mut at = 0;
        for c in components(path)? {
            match self.child(at, c.as_bytes()) {
                Some(n) => at = n,
                None => return Ok(None),
            }
        }
        Ok(Some(at))
    }

    /// Whether node `id` is a directory.
    pub fn is_dir(&self, id: u32) -> bool {
        self.nodes.get(id as usize).is_some_and(|n| n.kind == NodeKind::Dir)
    }

    /// The kind of node `id`.
    pub fn kind(&self, id: u32) -> Option<&NodeKind> {
        self.nodes.get(id as usize).map(|n| &n.kind)
    }

    /// Adds `name` under `parent` (which must not hold it yet).
    pub fn add(&mut self, parent: u32, name: &[u8], kind: NodeKind, meta: Meta) -> Result<u32> {
        if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
            bail!("{:?}: not a valid name", String::from_utf8_lossy(name));
        }
        if !self.is_dir(parent) {
            bail!("{}: not a directory", self.path(parent));
        }
        if self.child(parent, name).is_some() {
            bail!("{}/{}: exists already", self.path(parent).trim_end_matches('/'), String::from_utf8_lossy(name));
        }
        let id = u32::try_from(self.nodes.len()).ok().filter(|&i| i < u32::MAX - 1).context("too many entries")?;
        self.nodes.push(ENode { name: name.to_vec(), parent, children: Vec::new(), kind, meta });
        self.nodes[parent as usize].children.push(id);
        Ok(id)
    }

    /// Takes `id` (and what is below it) out of its parent.
    pub fn detach(&mut self, id: u32) -> Result<()> {
        if id == 0 {
            bail!("the root of the image cannot be removed or moved");
        }
        let parent = self.nodes.get(id as usize).context("no such node")?.parent;
        self.nodes[parent as usize].children.retain(|&c| c != id);
        Ok(())
    }

    /// The folder at `path`, made with `meta` (and its missing parents) when missing.
    pub fn mkdir_p(&mut self, path: &str, meta: Meta) -> Result<u32> {
        let mut at = 0;
        for c in components(path)? {
            at = match self.child(at, c.as_bytes()) {
                Some(n) if self.is_dir(n) => n,
                Some(_) => bail!("{}: not a directory", self.path_of(at, c)),
                None => self.add(at, c.as_bytes(), NodeKind::Dir, meta)?,
            };
        }
        Ok(at)
    }

    /// Moves `id` under `parent` as `name`.
    pub fn reattach(&mut self, id: u32, parent: u32, name: &[u8]) -> Result<()> {
        // A folder moved into itself or below itself would leave the tree.
        let mut up = parent;
        loop {
            if up == id {
                bail!("{}: cannot be moved into itself", self.path(id));
            }
            if up == 0 {
                break;
            }
            up = self.nodes[up as usize].parent;
        }
        if self.child(parent, name).is_some() {
            bail!("{}: exists already", self.path_of(parent, &String::from_utf8_lossy(name)));
        }
        self.detach(id)?;
        let n = &mut self.nodes[id as usize];
        n.name = name.to_vec();
        n.parent = parent;
        self.nodes[parent as usize].children.push(id);
        Ok(())
    }

    /// The metadata of `id`.
    pub fn meta_mut(&mut self, id: u32) -> Option<&mut Meta> {
        self.nodes.get_mut(id as usize).map(|n| &mut n.meta)
    }

    /// `id` and everything below it, parents first.
    pub fn subtree(&self, id: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(self.nodes[n as usize].children.iter().rev());
        }
        out
    }

    /// The path of `id` in the image (`/` for the root).
    pub fn path(&self, id: u32) -> String {
        let mut parts = Vec::new();
        let mut at = id;
        while at != 0 {
            let n = &self.nodes[at as usize];
            parts.push(String::from_utf8_lossy(&n.name).into_owned());
            at = n.parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    fn path_of(&self, dir: u32, name: &str) -> String {
        let p = self.path(dir);
        format!("{}/{name}", p.trim_end_matches('/'))
    }

    /// Every reachable regular file with its path and data.
    pub fn files(&self) -> Vec<(String, FileData)> {
        self.subtree(0)
            .into_iter()
            .filter_map(|n| match &self.nodes[n as usize].kind {
                NodeKind::File(fd) => Some((self.path(n), *fd)),
                _ => None,
            })
            .collect()
    }

    /// Replaces the data of the file at `id` (a file, else an error).
    pub fn set_file_data(&mut self, id: u32, fd: FileData) -> Result<()> {
        match self.nodes.get_mut(id as usize).map(|n| &mut n.kind) {
            Some(k @ NodeKind::File(_)) => {
                *k = NodeKind::File(fd);
                Ok(())
            }
            _ => bail!("{}: not a regular file", self.path(id)),
        }
    }

    /// Grafts the writer tree `src` (from a walk of folders on disk) onto this one at the root: folders merge
    /// (the existing folder keeps its attributes), anything else replaces the entry of the same name (a folder
    /// only by a folder). Data ids are moved by `data_base`, hard-link serials renumbered. Returns the paths of
    /// the regular files added or replaced, with their data.
    pub fn graft(&mut self, src: &Tree, data_base: u32) -> Result<Vec<(String, FileData)>> {
        let mut added = Vec::new();
        let mut serials: HashMap<u32, u32> = HashMap::new();
        let mut stack = vec![(Tree::ROOT, 0u32)];
        while let Some((s, d)) = stack.pop() {
            for &c in src.children(s) {
                let name = src.name(c).context("walked tree: a node without a name")?.to_vec();
                let mut meta = *src.meta(c).context("walked tree: a node without attributes")?;
                let mut kind = src.kind(c).context("walked tree: a node without a kind")?.clone();
                if meta.ino != 0 {
                    let next = self.next_ino + 1;
                    let ino = *serials.entry(meta.ino).or_insert(next);
                    self.next_ino = self.next_ino.max(ino);
                    meta.ino = ino;
                }
                if let NodeKind::File(fd) = &mut kind {
                    fd.data = DataId(fd.data.0 + data_base);
                }
                let existing = self.child(d, &name);
                if kind == NodeKind::Dir {
                    let into = match existing {
                        Some(e) if self.is_dir(e) => e,
                        Some(e) => {
                            self.detach(e)?;
                            self.add(d, &name, NodeKind::Dir, meta)?
                        }
                        None => self.add(d, &name, NodeKind::Dir, meta)?,
                    };
                    stack.push((c, into));
                    continue;
                }
                if let Some(e) = existing {
                    if self.is_dir(e) {
                        bail!("{}: a folder in the image; a file cannot replace it", self.path(e));
                    }
                    self.detach(e)?;
                }
                let id = self.add(d, &name, kind.clone(), meta)?;
                if let NodeKind::File(fd) = kind {
                    added.push((self.path(id), fd));
                }
            }
        }
        Ok(added)
    }

    /// The writer's tree of what is reachable.
    pub fn to_tree(&self) -> Result<Tree> {
        let mut t = Tree::new(self.nodes[0].meta);
        let mut stack = vec![(0u32, Tree::ROOT)];
        while let Some((e, w)) = stack.pop() {
            for &c in &self.nodes[e as usize].children {
                let n = &self.nodes[c as usize];
                let id = t
                    .add(w, &n.name, n.kind.clone(), n.meta)
                    .with_context(|| format!("{}: cannot be written", self.path(c)))?;
                if n.kind == NodeKind::Dir {
                    stack.push((c, id));
                }
            }
        }
        Ok(t)
    }
}

/// The writer's kind of a device node, FIFO or socket from its POSIX mode and device number.
pub fn special_kind(mode: u32, rdev: Option<(u32, u32)>) -> Option<NodeKind> {
    let (major, minor) = rdev.unwrap_or((0, 0));
    match mode & 0o170000 {
        0o020000 => Some(NodeKind::Device { kind: DeviceKind::Char, major, minor }),
        0o060000 => Some(NodeKind::Device { kind: DeviceKind::Block, major, minor }),
        0o010000 => Some(NodeKind::Fifo),
        0o140000 => Some(NodeKind::Socket),
        _ => None,
    }
}

/// A name of the image as bytes.
pub fn name_bytes(name: &OsString) -> &[u8] {
    name.as_bytes()
}

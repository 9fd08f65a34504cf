//! Paths and walks over a [`Tree`]: finding a path, joining names, and visiting a subtree depth first within the
//! read limits.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use anyhow::{bail, Result};

use crate::formats::ReadOptions;
use crate::view::{display_name, Kind, Node, Tree};

/// Splits an image path into its components, refusing nothing: lookups compare names byte for byte.
pub fn components_os(path: &OsStr) -> Vec<&OsStr> {
    path.as_bytes().split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").map(OsStr::from_bytes).collect()
}

/// The path `/a/b` of components.
pub fn normalized(comps: &[&OsStr]) -> OsString {
    if comps.is_empty() {
        return "/".into();
    }
    let mut p = OsString::new();
    for c in comps {
        p.push("/");
        p.push(c);
    }
    p
}

/// Finds `path` in the tree, following directories only (symlinks inside the image are not followed).
pub fn resolve(tree: &mut dyn Tree, path: &OsStr) -> Result<Node> {
    let mut node = tree.root()?;
    let mut walked = OsString::new();
    for comp in components_os(path) {
        if node.kind != Kind::Dir {
            bail!("{}: not a directory", display_name(&walked));
        }
        walked.push("/");
        walked.push(comp);
        let entries = tree.read_dir(&node)?;
        node = match entries.into_iter().find(|e| e.name == comp) {
            Some(n) => n,
            None => bail!("{}: no such file or directory in the image", display_name(&walked)),
        };
    }
    Ok(node)
}

/// Joins an image directory path and a name.
pub fn join(dir: &str, name: &str) -> String {
    let dir = if dir == "/" { "" } else { dir };
    let mut p = String::with_capacity(dir.len() + 1 + name.len());
    p.push_str(dir);
    p.push('/');
    p.push_str(name);
    p
}

/// Joins an image directory path and a name, as bytes.
pub fn join_os(dir: &OsStr, name: &OsStr) -> OsString {
    let dir = if dir == "/" { OsStr::new("") } else { dir };
    let mut p = OsString::with_capacity(dir.len() + 1 + name.len());
    p.push(dir);
    p.push("/");
    p.push(name);
    p
}

/// What [`walk`] calls for each node: the tree, the node, its absolute image path and its depth; it returns
/// whether to descend into the node.
pub type Visitor<'v> = dyn FnMut(&mut dyn Tree, &Node, &OsStr, u32) -> Result<bool> + 'v;

/// One node still to visit: the node, its path, its depth, and its ancestors' directory identities.
type Pending = (Node, OsString, u32, std::rc::Rc<Vec<u64>>);

/// Visits `start` and, for directories, everything below it depth first, parents before children. Loops (a
/// directory that contains itself or an ancestor) and the limits stop that branch with a warning. A directory
/// that cannot be read, or a damaged entry, is a warning too, or an error with `--strict`. Returns the number of
/// warnings, each of which went to `warn` first.
pub fn walk(
    tree: &mut dyn Tree,
    start: Node,
    start_path: OsString,
    opts: &ReadOptions,
    recursive: bool,
    visit: &mut Visitor<'_>,
    warn: &mut dyn FnMut(String),
) -> Result<u64> {
    let limits = &opts.limits;
    let mut warnings = 0u64;
    let mut total = 0u64;
    let mut stack: Vec<Pending> = vec![(start, start_path, 0, std::rc::Rc::new(Vec::new()))];
    while let Some((node, path, depth, ancestors)) = stack.pop() {
        let descend = visit(tree, &node, &path, depth)?;
        if !descend || node.kind != Kind::Dir || (!recursive && depth > 0) {
            continue;
        }
        if depth >= limits.max_depth {
            let shown = display_name(&path);
            warn(format!("{shown}: deeper than {} levels, not descended", limits.max_depth));
            warnings += 1;
            continue;
        }
        let id = dir_identity(&node);
        if let Some(id) = id {
            if ancestors.contains(&id) {
                let shown = display_name(&path);
                warn(format!("{shown}: directory contains itself or an ancestor (loop), not descended"));
                warnings += 1;
                continue;
            }
        }
        let entries = match tree.read_dir(&node) {
            Ok(e) => e,
            Err(e) if opts.strict => return Err(e.context(display_name(&path))),
            Err(e) => {
                warn(format!("{}: {e:#}", display_name(&path)));
                warnings += 1;
                continue;
            }
        };
        for w in tree.take_warnings() {
            if opts.strict {
                bail!("{}", w.0);
            }
            warn(w.0);
            warnings += 1;
        }
        if entries.len() as u64 > limits.max_dir_entries {
            let shown = display_name(&path);
            bail!("{shown}: more than {} entries in one directory (raise --max-dir-entries)", limits.max_dir_entries);
        }
        total += entries.len() as u64;
        if total > limits.max_total_entries {
            bail!("more than {} entries in the image (raise --max-entries)", limits.max_total_entries);
        }
        let mut anc = (*ancestors).clone();
        if let Some(id) = id {
            anc.push(id);
        }
        let anc = std::rc::Rc::new(anc);
        for child in entries.into_iter().rev() {
            let p = join_os(&path, &child.name);
            stack.push((child, p, depth + 1, anc.clone()));
        }
    }
    for w in tree.take_warnings() {
        warn(w.0);
        warnings += 1;
    }
    Ok(warnings)
}

fn dir_identity(node: &Node) -> Option<u64> {
    node.link_id.or_else(|| node.extents.first().map(|e| e.lba))
}

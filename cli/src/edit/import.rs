//! Reading an input image into an [`EditTree`]: its richest view (Rock Ridge, else UDF, else Joliet, else plain
//! ISO 9660) gives names and attributes; file data stays in the image, recorded as byte ranges that the writer
//! copies from there. What is not plain byte ranges (zisofs, UDF data embedded in its entry or sparse, a raw
//! image read through its sheet) is read through the view once into a spill folder.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use odix_iso9660::write::{DataId, FileData, Meta, NodeKind};

use super::tree::{special_kind, EditTree};
use crate::formats::View;
use crate::mastering::walk::{DataTable, InputImage};
use crate::view::{Kind, Node};
use crate::Image;

/// The folder for files that cannot be copied by extents, made beside the output the first time one is needed
/// and removed when dropped (or by [`crate::cancel`] when the program is stopped).
pub struct Spill {
    parent: std::path::PathBuf,
    dir: Option<(tempfile::TempDir, crate::cancel::Cleanup)>,
    next: u64,
}

impl Spill {
    /// A spill folder to be made in `parent`.
    pub fn new(parent: std::path::PathBuf) -> Spill {
        Spill { parent, dir: None, next: 0 }
    }

    /// A new file name in the folder, making the folder first.
    pub fn file(&mut self) -> Result<std::path::PathBuf> {
        if self.dir.is_none() {
            let dir = tempfile::Builder::new()
                .prefix(".odix-edit-")
                .tempdir_in(&self.parent)
                .map_err(|e| anyhow::anyhow!("{}: cannot create a folder there: {e}", self.parent.display()))?;
            let doomed = dir.path().to_path_buf();
            let cleanup = crate::cancel::on_cancel("", move || {
                let _ = std::fs::remove_dir_all(doomed);
            });
            self.dir = Some((dir, cleanup));
        }
        self.next += 1;
        let (dir, _) = self.dir.as_ref().context("no spill folder")?;
        Ok(dir.path().join(self.next.to_string()))
    }
}

/// What the import found besides the tree.
pub struct Imported {
    /// The tree.
    pub tree: EditTree,
    /// Where file data lies.
    pub data: DataTable,
    /// The view read (`rockridge`, `udf`, `joliet`, `iso9660`).
    pub view: &'static str,
    /// Files read through the view into the spill folder (not copied by extents).
    pub spilled: u64,
    /// Warnings met while reading (damaged entries skipped).
    pub warnings: Vec<String>,
}

/// The view an edit reads: the one that records the most (names of any length, POSIX attributes).
pub fn richest_view(image: &Image) -> Result<View> {
    let v = image.volumes()?;
    if let Some(iso) = v.iso9660.found() {
        if iso.rock_ridge.is_some() {
            return Ok(View::RockRidge);
        }
    }
    if v.udf.found().is_some() {
        return Ok(View::Udf);
    }
    if let Some(iso) = v.iso9660.found() {
        if iso.joliet {
            return Ok(View::Joliet);
        }
        if iso.iso9660_1999 {
            return Ok(View::Iso9660_1999);
        }
        return Ok(View::Iso9660);
    }
    if let Some(m) = crate::formats::unread_format(image.path()) {
        anyhow::bail!("{m}");
    }
    anyhow::bail!("{}: no ISO 9660 or UDF file system to edit", image.path().display())
}

fn secs(t: Option<chrono::DateTime<chrono::Utc>>, default: i64) -> i64 {
    t.map_or(default, |t| t.timestamp())
}

/// Reads `image`'s tree. `spill` is a folder for the files that cannot be copied by extents; `now` dates
/// entries the view gives no time.
pub fn import(image: &Image, view: View, spill: &mut Spill, now: i64) -> Result<Imported> {
    let shown = image.path().display().to_string();
    let mut tree = image.tree(view)?;
    let view_name = tree.view_name();
    let plain = image.plain_file();
    let input = Arc::new(InputImage {
        file: plain.as_ref().and_then(|f| f.try_clone().ok()),
        reader: std::sync::Mutex::new(Box::new(image.reader()?)),
        path: image.path().to_path_buf(),
    });
    let mut data = DataTable::default();
    data.set_input_image(input);
    let root = tree.root()?;
    let meta_of = |n: &Node, dir: bool| -> Meta {
        let mtime = secs(n.mtime, now);
        let perm = n.mode.map_or(if dir { 0o555 } else { 0o444 }, |m| m & 0o7777);
        Meta {
            perm,
            uid: n.uid.unwrap_or(0),
            gid: n.gid.unwrap_or(0),
            mtime,
            atime: secs(n.atime, mtime),
            ctime: mtime,
            ino: 0,
        }
    };
    let mut et = EditTree::new(meta_of(&root, true));
    // Folders by path, to find a node's parent; files by where their data starts, so hard links and contents
    // stored once stay stored once; hard-link groups by the view's link identity.
    let mut dirs: HashMap<Vec<u8>, u32> = HashMap::from([(b"/".to_vec(), 0)]);
    let mut by_data: HashMap<(u64, u64), DataId> = HashMap::new();
    let mut serials: HashMap<u64, u32> = HashMap::new();
    let mut spilled = 0u64;
    let mut warnings = Vec::new();
    let opts = image.read_options().clone();
    let mut visit = |t: &mut dyn crate::view::Tree, n: &Node, path: &OsStr, depth: u32| -> Result<bool> {
        if depth == 0 {
            return Ok(true);
        }
        let bytes = path.as_encoded_bytes();
        let cut = bytes.iter().rposition(|&b| b == b'/').unwrap_or(0);
        let parent_path: &[u8] = if cut == 0 { b"/" } else { &bytes[..cut] };
        let Some(&parent) = dirs.get(parent_path) else {
            return Ok(false);
        };
        let mut meta = meta_of(n, n.kind == Kind::Dir);
        if n.kind != Kind::Dir && n.nlink.is_some_and(|l| l > 1) {
            if let Some(link) = n.link_id {
                let next = serials.len() as u32 + 1;
                meta.ino = *serials.entry(link).or_insert(next);
            }
        }
        let name = n.name.as_encoded_bytes();
        let kind = match n.kind {
            Kind::Dir => NodeKind::Dir,
            Kind::Symlink => {
                NodeKind::Symlink(n.target.as_ref().map(|t| t.as_encoded_bytes().to_vec()).unwrap_or_default().into())
            }
            Kind::Other => match n.mode.and_then(|m| special_kind(m, n.rdev)) {
                Some(k) => k,
                None => {
                    warnings.push(format!(
                        "{shown}: {}: a special file of unknown kind, left out",
                        crate::view::display_name(path)
                    ));
                    return Ok(false);
                }
            },
            Kind::File => {
                let ranges = if plain.is_some() { t.plain_ranges(n) } else { None };
                let id = match ranges {
                    Some(r) => {
                        let key = r.first().map_or((u64::MAX, 0), |f| (f.0, n.size));
                        match by_data.get(&key) {
                            Some(&id) if n.size > 0 => id,
                            _ => {
                                // Data is placed in the input's order, so the copy reads the input front to back.
                                let weight = -(i64::try_from(key.0 / 2048).unwrap_or(i64::MAX));
                                let id = data.push_image(r, n.size, None, weight);
                                by_data.insert(key, id);
                                id
                            }
                        }
                    }
                    None => {
                        spilled += 1;
                        let file = spill.file()?;
                        let mut out =
                            std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
                        let mut r = t
                            .open(n)
                            .with_context(|| format!("{shown}: reading {}", crate::view::display_name(path)))?;
                        let copied = std::io::copy(&mut r, &mut out)
                            .with_context(|| format!("{shown}: reading {}", crate::view::display_name(path)))?;
                        out.flush()?;
                        data.push_file(&file, copied)?
                    }
                };
                let size = data.item(id).map_or(0, |i| i.stored_size);
                NodeKind::File(FileData { data: id, stored_size: size, zisofs_size: None })
            }
        };
        let id = et
            .add(parent, name, kind, meta)
            .with_context(|| format!("{shown}: {}", crate::view::display_name(path)))?;
        if n.kind == Kind::Dir {
            dirs.insert(bytes.to_vec(), id);
        }
        Ok(true)
    };
    let mut collected = Vec::new();
    crate::tree::walk(tree.as_mut(), root, OsStr::new("/").to_os_string(), &opts, true, &mut visit, &mut |w| {
        collected.push(w)
    })?;
    warnings.extend(collected);
    // Serials after the input's own, for hard links that an edit adds.
    for _ in 0..serials.len() {
        et.link_serial();
    }
    Ok(Imported { tree: et, data, view: view_name, spilled, warnings })
}

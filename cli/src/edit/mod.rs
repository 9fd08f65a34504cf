//! Changing an existing image: files added, replaced, removed, moved; the volume id; the boot setup replayed from
//! the input; MD5s the way distributions check them; a new session appended.
//!
//! An [`EditSpec`] names the input image, the output and the changes; [`edit`] reads the input's trees into the
//! writer's tree (file data stays where it is in the input, and is copied from there by extents), applies the
//! changes, replays the boot setup ([`crate::replay`]) and writes the new image through the same plan as a
//! build from folders.

pub mod isomd5;
pub mod md5sum;

use std::path::PathBuf;

use crate::cancel::Cancel;

pub mod append;

/// One change to the tree of an image, applied in order. Paths in the image are `/`-separated and absolute
/// (a missing leading `/` is allowed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditOp {
    /// A file or folder on disk put at `dest` in the image: a file replaces what was there; a folder's contents
    /// are merged into the folder `dest` (files of the same name replaced).
    Add {
        /// The file or folder on disk.
        src: PathBuf,
        /// Where in the image.
        dest: String,
    },
    /// Removes `path` and everything below it. A missing path is an error.
    Remove(String),
    /// Moves (renames) `from` to `to`; `to` must not exist, its parent must.
    Move {
        /// The path moved.
        from: String,
        /// Its new path.
        to: String,
    },
    /// Makes a folder, and any missing parents (an existing folder is no error).
    Mkdir(String),
    /// Sets the permission bits (`mode & 0o7777`) of `path`, and of everything below it when `recursive`.
    Chmod {
        /// The permission bits.
        mode: u32,
        /// The path.
        path: String,
        /// Also everything below it.
        recursive: bool,
    },
}

/// What becomes of the input's boot setup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BootMode {
    /// Everything the input's boot setup has is written again for the new layout: El Torito entries, the
    /// catalog's path, boot-info tables and GRUB2 boot info patched for the new LBAs, the MBR or GPT with its
    /// partitions, appended partitions, the partition offset.
    #[default]
    Replay,
    /// The El Torito catalog's entries are kept, their boot images copied unchanged (not patched again); the
    /// system area and appended partitions are left out.
    KeepCatalog,
    /// No boot setup: the output is a plain data image.
    None,
}

/// How the new image relates to the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EditTarget {
    /// A new image is written to [`EditSpec::output`].
    #[default]
    NewImage,
    /// A new session is appended to the input file itself; the volume descriptors at LBA 16 are made to point
    /// at it (as xorriso does with image files).
    Append,
    /// A new session is appended to the input file; nothing already written is touched (an image meant to be
    /// burnt session by session, where the drive's TOC finds the sessions).
    AppendWriteOnce,
}

/// Everything that decides an edit.
#[derive(Clone, Debug, Default)]
pub struct EditSpec {
    /// The image read.
    pub input: PathBuf,
    /// The image written (ignored when appending: the input grows).
    pub output: PathBuf,
    /// New image or appended session.
    pub target: EditTarget,
    /// The changes, in order.
    pub ops: Vec<EditOp>,
    /// A new volume id (all trees).
    pub volume_id: Option<String>,
    /// What becomes of the boot setup.
    pub boot: BootMode,
    /// Regenerate this list of MD5s (Debian's and Ubuntu's `md5sum.txt`, a path in the image) for the changed
    /// tree: lines of unchanged files are kept, changed and added files get their new MD5, removed ones go.
    pub update_md5sum: Option<String>,
    /// Write the isomd5sum MD5 into the primary volume descriptor's application-use field (what `checkisomd5`
    /// checks).
    pub implant_md5: bool,
    /// Write xorriso's session MD5 tags (checked by `xorriso -check_md5` and `odix verify`).
    pub md5: bool,
    /// The time of the edit (seconds since 1970): volume dates and new folders. The caller reads
    /// `SOURCE_DATE_EPOCH` when it wants to.
    pub now: i64,
    /// When set, writing stops at its next step with [`crate::cancel::Cancelled`].
    pub cancel: Option<Cancel>,
}

mod import;
pub mod tree;

use std::io::{BufWriter, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{bail, Context, Result};
use odix_iso9660::format::volume_descriptor::VolumeDescriptor;
use odix_iso9660::write::{Meta, NodeKind};

use crate::boot::BootConfig;
use crate::mastering::walk::{walk, WalkOptions, Walked};
use crate::output::{check_target, AtomicFile};
use crate::{BuildSpec, BuildWarning, Ids, Image, Laid, Options, Trees, UdfSpec, View};
pub use import::richest_view;
use tree::{components, EditTree};

/// What [`edit`] tells its caller while it works.
#[derive(Debug)]
#[non_exhaustive]
pub enum EditEvent<'a> {
    /// The new image is laid out: its size and the build's warnings, before any byte is written.
    Laid(&'a Laid),
    /// Bytes just written.
    Wrote(u64),
}

/// What an edit did.
#[derive(Clone, Debug, Default)]
pub struct EditReport {
    /// The view of the input the tree was read from (`rockridge`, `udf`, `joliet`, `iso9660`).
    pub view: &'static str,
    /// Entries of the new image, the root left out.
    pub entries: usize,
    /// Size of the new image in 2048-byte sectors (of the new session, from its start, when appending).
    pub total_sectors: u64,
    /// The first LBA of the session appended to the input, when appending.
    pub session_start: Option<u32>,
    /// Files whose data was copied from the input by extents.
    pub copied_by_extent: u64,
    /// Files of the input read through its tree (zisofs, embedded or sparse UDF data, raw images).
    pub read_through_tree: u64,
    /// Regular files added or replaced, by their path in the image.
    pub added: Vec<String>,
    /// Paths removed.
    pub removed: Vec<String>,
    /// What the reading of the input and the boot replay noticed.
    pub warnings: Vec<String>,
    /// What the new image records differently from the edited tree (also told in [`EditEvent::Laid`]).
    pub build_warnings: Vec<BuildWarning>,
    /// The isomd5sum MD5 implanted, as 32 hex digits.
    pub implanted_md5: Option<String>,
}

/// The boot setup an edit writes, and the paths in the tree it needs.
struct BootSetup {
    config: BootConfig,
    uses: Vec<String>,
    warnings: Vec<String>,
}

/// The El Torito catalog's LBA, when the volume at `session` has a boot record.
fn catalog_lba(image: &Image) -> Result<Option<u64>> {
    let mut r = image.reader()?;
    let start = image.session_start() + 16;
    let mut sector = vec![0u8; 2048];
    // A volume descriptor set is short; 64 sectors bound a crafted one.
    for lba in start..start + 64 {
        r.seek(SeekFrom::Start(lba * 2048))?;
        if r.read_exact(&mut sector).is_err() {
            return Ok(None);
        }
        if &sector[1..6] != b"CD001" || sector[0] == 255 {
            return Ok(None);
        }
        if sector[0] == 0 && sector[7..].starts_with(b"EL TORITO SPECIFICATION") {
            let at = u32::from_le_bytes([sector[71], sector[72], sector[73], sector[74]]);
            return Ok(Some(u64::from(at)));
        }
    }
    Ok(None)
}

fn boot_setup(image: &Image, mode: BootMode) -> Result<BootSetup> {
    // An image with UDF only has no boot setup (El Torito lives in ISO 9660).
    let udf_only = image.volumes().is_ok_and(|v| v.iso9660.found().is_none() && v.udf.found().is_some());
    let r = match mode {
        _ if udf_only => {
            return Ok(BootSetup { config: BootConfig::default(), uses: Vec::new(), warnings: Vec::new() })
        }
        BootMode::None => {
            return Ok(BootSetup { config: BootConfig::default(), uses: Vec::new(), warnings: Vec::new() })
        }
        BootMode::Replay => crate::replay::replay(image)?,
        BootMode::KeepCatalog => crate::replay::keep_catalog(image)?,
    };
    Ok(BootSetup { config: r.config, uses: r.uses, warnings: r.warnings })
}

/// Replaces `old` (a path as the boot setup named it, with or without its leading `/`) by `new` in `uses`.
fn rename_use(uses: &mut [String], old: Option<&str>, new: &str) {
    let Some(old) = old.map(|o| o.trim_start_matches('/')) else { return };
    for u in uses.iter_mut() {
        if u.trim_start_matches('/') == old {
            *u = new.to_string();
        }
    }
}

/// The path in the edited tree for the catalog at `iso_path` of the input's ISO 9660 tree: the folder holding the
/// files its ISO 9660 folder holds (found by where their data lies), and the name of an entry there that differs
/// only in case (removed: it is the old catalog's stand-in), else the ISO 9660 name.
fn place_catalog(image: &Image, iso_path: &str, w: &mut Walked2) -> Result<Option<String>> {
    let comps = components(iso_path)?;
    let Some((name, dirs)) = comps.split_last() else { return Ok(None) };
    let dir_path = format!("/{}", dirs.join("/"));
    let mut starts: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
    for (path, fd) in w.tree.files() {
        let at = w.data.item(fd.data).and_then(|i| w.data.runs_of(i)).and_then(|r| r.first().copied());
        if let Some((o, _)) = at.filter(|(o, _)| o % 2048 == 0) {
            starts.insert(o / 2048, path);
        }
    }
    let mut folder = None;
    for view in [View::RockRidge, View::Joliet, View::Iso9660] {
        let Ok(mut t) = image.tree(view) else { continue };
        let Ok(dir) = crate::tree::resolve(t.as_mut(), std::ffi::OsStr::new(&dir_path)) else { continue };
        let Ok(children) = t.read_dir(&dir) else { continue };
        folder = children.iter().filter_map(|c| c.extents.first()).find_map(|e| starts.get(&e.lba)).map(|p| {
            let cut = p.rfind('/').unwrap_or(0);
            if cut == 0 {
                "/".to_string()
            } else {
                p[..cut].to_string()
            }
        });
        if folder.is_some() {
            break;
        }
    }
    let Some(folder) = folder else { return Ok(None) };
    if w.tree.lookup(&folder)?.is_none() {
        return Ok(None);
    }
    let mut chosen = name.to_string();
    let same = w.tree.files().into_iter().find(|(p, _)| {
        p.rsplit_once('/')
            .is_some_and(|(d, n)| (if d.is_empty() { "/" } else { d }) == folder && n.eq_ignore_ascii_case(name))
    });
    if let Some((p, _)) = same {
        if let Some(id) = w.tree.lookup(&p)? {
            w.tree.detach(id)?;
        }
        chosen = p.rsplit('/').next().unwrap_or(name).to_string();
    }
    Ok(Some(format!("{}/{chosen}", folder.trim_end_matches('/'))))
}

/// Where the data of the file at `path` of the input's ISO 9660 tree starts (Rock Ridge, Joliet or plain names).
fn input_lba(image: &Image, path: &str) -> Option<u64> {
    for view in [View::RockRidge, View::Joliet, View::Iso9660] {
        let Ok(mut t) = image.tree(view) else { continue };
        if let Ok(n) = crate::tree::resolve(t.as_mut(), std::ffi::OsStr::new(path)) {
            if let Some(e) = n.extents.first() {
                return Some(e.lba);
            }
        }
    }
    None
}

/// The trees, identifiers and level of the input, for the new image.
fn input_trees(image: &Image, data_over_4g: bool) -> Result<(Trees, Ids)> {
    let v = image.volumes()?;
    let udf = v.udf.found().map(|u| UdfSpec {
        revision: match u.revision {
            r if r < 0x0150 => odix_udf::write::Revision::V1_02,
            r if r < 0x0200 => odix_udf::write::Revision::V1_50,
            r if r < 0x0250 => odix_udf::write::Revision::V2_01,
            r if r < 0x0260 => odix_udf::write::Revision::V2_50,
            _ => odix_udf::write::Revision::V2_60,
        },
        dvd_video: false,
    });
    let Some(iso) = v.iso9660.found() else {
        return Ok((Trees { udf: Some(udf.unwrap_or_default()), udf_only: true, ..Trees::default() }, Ids::default()));
    };
    let level = if iso.iso9660_1999 {
        4
    } else if data_over_4g {
        3
    } else {
        plain_iso_level(image)?
    };
    let trees = Trees {
        iso_level: level,
        allow_limited_size: true,
        rock_ridge: iso.rock_ridge.is_some(),
        joliet: iso.joliet,
        joliet_long: iso.joliet,
        udf,
        udf_only: false,
    };
    let mut ids = Ids { volume_id: Some(iso.volume_id.clone()), ..Ids::default() };
    let mut r = image.reader()?;
    r.seek(SeekFrom::Start((image.session_start() + 16) * 2048))?;
    let mut sector = vec![0u8; 2048];
    r.read_exact(&mut sector).context("reading the primary volume descriptor")?;
    if let Ok(VolumeDescriptor::Primary(p)) = VolumeDescriptor::parse(&sector) {
        let text = |raw: &[u8]| Some(p.text(raw)).filter(|t| !t.is_empty());
        ids.system_id = text(&p.system_id);
        ids.volume_set = text(&p.volume_set_id);
        ids.publisher = text(&p.publisher_id);
        ids.preparer = text(&p.preparer_id);
        ids.application = text(&p.application_id);
    }
    Ok((trees, ids))
}

/// The first block of the UDF physical partition of the volume in the session starting at `session` of `input`.
fn udf_partition_start(input: &Path, session: u64) -> Result<u32> {
    let f = std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let v = odix_udf::Volume::open(std::io::BufReader::new(f), odix_udf::Options::default().session_start(session))
        .with_context(|| format!("{}: reading the UDF volume of the session at LBA {session}", input.display()))?;
    let info = v.info();
    let start = info.partitions.iter().map(|p| p.start).min();
    start.with_context(|| format!("{}: the UDF volume has no partition", input.display()))
}

/// Level 1 when every plain ISO 9660 name of the input fits 8.3 (folders 8), else 2.
fn plain_iso_level(image: &Image) -> Result<u8> {
    let mut t = image.tree(View::Iso9660)?;
    let root = t.root()?;
    let mut level = 1u8;
    crate::tree::walk(
        t.as_mut(),
        root,
        "/".into(),
        image.read_options(),
        true,
        &mut |_, n, _, depth| {
            if depth > 0 {
                let name = n.name.as_encoded_bytes();
                let fits = match (n.kind, name.iter().rposition(|&b| b == b'.')) {
                    (crate::view::Kind::Dir, _) => name.len() <= 8 && !name.contains(&b'.'),
                    (_, Some(dot)) => dot <= 8 && name.len() - dot - 1 <= 3,
                    (_, None) => name.len() <= 8,
                };
                if !fits {
                    level = 2;
                }
            }
            Ok(level == 1)
        },
        &mut |_| {},
    )?;
    Ok(level)
}

/// Applies one change.
fn apply(op: &EditOp, et: &mut Walked2, now: i64, report: &mut EditReport) -> Result<()> {
    let dir_meta = Meta { perm: 0o755, mtime: now, atime: now, ctime: now, ..Meta::default() };
    match op {
        EditOp::Add { src, dest } => {
            std::fs::symlink_metadata(src).with_context(|| format!("{}: cannot read it", src.display()))?;
            let dest_comps = components(dest)?;
            // The source path as bytes (it need not be UTF-8), escaped as a graft point.
            let spec = crate::BuildSource::graft(format!("/{}", dest_comps.join("/")), src.clone()).pathspec();
            let walked = walk(&[spec], &WalkOptions { hidden: true, now, ..WalkOptions::default() })
                .with_context(|| format!("adding {}", src.display()))?;
            let base = et.data.absorb(walked.data)?;
            let added = et.tree.graft(&walked.tree, base)?;
            report.added.extend(added.into_iter().map(|(p, _)| p));
        }
        EditOp::Remove(path) => {
            let id = et.tree.lookup(path)?.with_context(|| format!("{path}: no such file or folder in the image"))?;
            et.tree.detach(id)?;
            report.removed.push(et.tree.path(id));
        }
        EditOp::Move { from, to } => {
            let id = et.tree.lookup(from)?.with_context(|| format!("{from}: no such file or folder in the image"))?;
            let comps = components(to)?;
            let Some((name, dirs)) = comps.split_last() else { bail!("{to}: not a path to move to") };
            let parent = et
                .tree
                .lookup(&dirs.join("/"))?
                .filter(|&p| et.tree.is_dir(p))
                .with_context(|| format!("{to}: its folder is not in the image"))?;
            et.tree.reattach(id, parent, name.as_bytes())?;
        }
        EditOp::Mkdir(path) => {
            et.tree.mkdir_p(path, dir_meta)?;
        }
        EditOp::Chmod { mode, path, recursive } => {
            let id = et.tree.lookup(path)?.with_context(|| format!("{path}: no such file or folder in the image"))?;
            let ids = if *recursive { et.tree.subtree(id) } else { vec![id] };
            for n in ids {
                if let Some(m) = et.tree.meta_mut(n) {
                    m.perm = mode & 0o7777;
                }
            }
        }
    }
    Ok(())
}

/// The MD5 list at `path` in the input.
fn read_md5sum_list(w: &Walked2, path: &str) -> Result<md5sum::Md5sumList> {
    let id = w.tree.lookup(path)?.context("no such file in the image")?;
    let Some(NodeKind::File(fd)) = w.tree.kind(id) else { bail!("not a regular file") };
    let item = w.data.item(fd.data).context("no data")?;
    if item.stored_size > 64 << 20 {
        bail!("{} bytes: too large for an MD5 list", item.stored_size);
    }
    md5sum::Md5sumList::parse(&w.data.read_head(item, item.stored_size)?)
}

/// The MD5 of a data item's bytes.
fn md5_of(data: &crate::mastering::walk::DataTable, id: odix_iso9660::write::DataId) -> Result<[u8; 16]> {
    use md5::Digest;
    let item = data.item(id).context("no data")?;
    let mut h = md5::Md5::new();
    struct Hash<'a>(&'a mut md5::Md5);
    impl std::io::Write for Hash<'_> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.update(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match data.runs_of(item) {
        Some(runs) => {
            data.copy_runs(runs, item.stored_size, &mut Hash(&mut h))?;
        }
        None => {
            let mut dirs = crate::mastering::walk::OpenDirs::default();
            let mut f = data.open(item, &mut dirs).with_context(|| format!("reading {}", data.path(item).display()))?;
            std::io::copy(&mut f, &mut Hash(&mut h))?;
        }
    }
    Ok(h.finalize().into())
}

/// The tree and data table an edit works on.
struct Walked2 {
    tree: EditTree,
    data: crate::mastering::walk::DataTable,
}

/// Writes the edited image: reads the input's tree, applies the changes in order, replays the boot setup and
/// writes the new image (whose file data is copied from the input by extents). `events` hears of the layout and
/// of each write.
pub fn edit(spec: &EditSpec, events: &mut dyn FnMut(EditEvent<'_>)) -> Result<EditReport> {
    if spec.md5 && spec.implant_md5 {
        // Each covers the other: the session MD5 covers the descriptor the isomd5sum text is written into, and the
        // isomd5sum MD5 covers the MD5 tags.
        bail!("--md5 and --implant-md5 exclude each other: each MD5 would cover the other's bytes");
    }
    if spec.implant_md5 && spec.target != EditTarget::NewImage {
        bail!("--implant-md5 covers a whole image from LBA 0, not an appended session");
    }
    // Appending: the new session goes after the input's last one (chosen, and the input checked, before any work).
    let growing = match spec.target {
        EditTarget::NewImage => None,
        EditTarget::Append | EditTarget::AppendWriteOnce => Some(append::Growing::open(&spec.input)?),
    };
    let out_path = if growing.is_some() { &spec.input } else { &spec.output };
    if spec.implant_md5 && out_path.as_os_str() == "-" {
        bail!("--implant-md5 needs an image file to write into, not standard output");
    }
    if growing.is_none() {
        check_target(out_path)?;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(&spec.input), std::fs::metadata(out_path)) {
            use std::os::unix::fs::MetadataExt;
            if (a.dev(), a.ino()) == (b.dev(), b.ino()) {
                bail!("{}: the output is the input; write a new image, or append a session to it", out_path.display());
            }
        }
    }
    // A session is based on the newest tree, which LBA 16 does not show after a write-once session.
    let newest = growing.as_ref().map(append::Growing::newest_session);
    let image = Image::open(&spec.input, &Options { offset: newest.filter(|&s| s > 0), ..Options::default() })?;
    let shown = spec.input.display().to_string();
    let view = richest_view(&image)?;
    let boot = boot_setup(&image, spec.boot)?;
    let cat = catalog_lba(&image)?;

    let spill_parent = match out_path.parent() {
        _ if out_path.as_os_str() == "-" => std::env::temp_dir(),
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let mut spill = import::Spill::new(spill_parent);
    let imported = import::import(&image, view, &mut spill, spec.now)?;
    let mut report = EditReport {
        view: imported.view,
        read_through_tree: imported.spilled,
        warnings: imported.warnings,
        ..EditReport::default()
    };
    report.warnings.extend(boot.warnings.iter().cloned());
    let mut w = Walked2 { tree: imported.tree, data: imported.data };

    // The input's catalog file is the old layout's: the replayed boot setup writes its own, under the name the
    // edited tree had for it.
    let mut boot = boot;
    if let Some(lba) = cat {
        for (path, fd) in w.tree.files() {
            let at = w.data.item(fd.data).and_then(|i| w.data.runs_of(i)).and_then(|r| r.first().copied());
            if at.is_some_and(|(o, _)| o == lba * 2048) {
                if let Some(id) = w.tree.lookup(&path)? {
                    w.tree.detach(id)?;
                }
                if boot.config.catalog.is_some() && !boot.config.catalog_hide {
                    let old = boot.config.catalog.replace(path.trim_start_matches('/').to_string());
                    rename_use(&mut boot.uses, old.as_deref(), &path);
                }
            }
        }
    }
    // A catalog the edited tree does not show where the input's ISO 9660 tree has it (a UDF tree's empty
    // stand-in, or a name spelled otherwise): placed in the folder of the edited tree that holds the files of
    // the catalog's ISO 9660 folder, under the name that folder gives it.
    if let (Some(c), false) = (boot.config.catalog.clone(), boot.config.catalog_hide) {
        if w.tree.lookup(&c)?.is_none() {
            if let Some(path) = place_catalog(&image, &c, &mut w)? {
                boot.config.catalog = Some(path.trim_start_matches('/').to_string());
                rename_use(&mut boot.uses, Some(&c), &path);
            }
        }
    }
    // The boot setup names its images as the input's ISO 9660 tree does; the edited tree may have read other
    // names (UDF or Joliet over a plain ISO 9660 tree): find the file by where its data lies.
    for i in 0..boot.config.entries.len() {
        let e = &boot.config.entries[i];
        if e.appended_partition().is_some() || e.image.starts_with("--interval:") {
            continue;
        }
        let found = w.tree.lookup(&e.image)?.is_some_and(|n| matches!(w.tree.kind(n), Some(NodeKind::File(_))));
        if found {
            continue;
        }
        let Some(lba) = input_lba(&image, &e.image) else { continue };
        let renamed = w.tree.files().into_iter().find(|(_, fd)| {
            let at = w.data.item(fd.data).and_then(|i| w.data.runs_of(i)).and_then(|r| r.first().copied());
            at.is_some_and(|(o, _)| o == lba * 2048)
        });
        if let Some((path, _)) = renamed {
            let old = std::mem::replace(&mut boot.config.entries[i].image, path.trim_start_matches('/').to_string());
            rename_use(&mut boot.uses, Some(&old), &path);
        }
    }
    // The MD5 list as the input has it, told of each change as it is applied.
    let mut list = match &spec.update_md5sum {
        Some(p) => Some(read_md5sum_list(&w, p).with_context(|| format!("{shown}: {p}"))?),
        None => None,
    };
    for op in &spec.ops {
        let before = report.added.len();
        apply(op, &mut w, spec.now, &mut report).with_context(|| format!("{shown}: cannot apply the change"))?;
        if let Some(l) = list.as_mut() {
            match op {
                EditOp::Remove(p) => l.remove(p),
                EditOp::Move { from, to } => l.rename(from, to),
                EditOp::Add { .. } => {
                    for added in &report.added[before..] {
                        let id = w.tree.lookup(added)?.context("an added file is not in the tree")?;
                        if let Some(NodeKind::File(fd)) = w.tree.kind(id) {
                            l.set(added, md5_of(&w.data, fd.data)?);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let (Some(l), Some(p)) = (list, &spec.update_md5sum) {
        let bytes = l.to_bytes();
        let file = spill.file()?;
        std::fs::write(&file, &bytes).with_context(|| format!("writing {}", file.display()))?;
        let id = w.data.push_file(&file, bytes.len() as u64)?;
        let node = w.tree.lookup(p)?.with_context(|| format!("{p}: the edit removed it"))?;
        w.tree.set_file_data(
            node,
            odix_iso9660::write::FileData { data: id, stored_size: bytes.len() as u64, zisofs_size: None },
        )?;
    }
    let catalog = boot.config.catalog.as_deref().map(|c| format!("/{}", c.trim_start_matches('/')));
    for used in &boot.uses {
        // The catalog is written anew wherever the input had it.
        if catalog.as_deref() == Some(used.as_str()) {
            continue;
        }
        let found = w.tree.lookup(used)?;
        if !found.is_some_and(|n| matches!(w.tree.kind(n), Some(NodeKind::File(_)))) {
            bail!(
                "{used}: the boot setup of {shown} uses it, and the edit removes it (keep it, replace it, or give \
                 --boot none)"
            );
        }
    }
    let used: std::collections::HashSet<u32> = w.tree.files().iter().map(|(_, fd)| fd.data.0).collect();
    w.data.keep_only(&used);
    report.copied_by_extent =
        w.data.items().iter().filter(|i| i.stored_size > 0 && w.data.runs_of(i).is_some()).count() as u64;
    let over_4g = w.data.items().iter().any(|i| i.stored_size >= u64::from(u32::MAX));
    let (mut trees, mut ids) = input_trees(&image, over_4g)?;
    // A session of an image with UDF: a VAT session extending the image's UDF physical partition, in UDF 1.50
    // (for an input before 2.00) or 2.01, the revisions that record a virtual partition.
    let mut vat_partition = None;
    if let (Some(g), Some(u)) = (growing.as_ref(), trees.udf.as_mut()) {
        vat_partition = Some(udf_partition_start(&spec.input, g.newest_session())?);
        u.revision = if u.revision < odix_udf::write::Revision::V2_01 {
            odix_udf::write::Revision::V1_50
        } else {
            odix_udf::write::Revision::V2_01
        };
    }
    if let Some(v) = &spec.volume_id {
        ids.volume_id = Some(v.clone());
    }
    let tree = w.tree.to_tree()?;
    let walked = Walked { tree, data: w.data, first_dir_name: None, hidden_skipped: 0 };
    let mut build = BuildSpec::new(Vec::new());
    build.trees = trees;
    build.ids = ids;
    build.dates.now = spec.now;
    build.boot = boot.config;
    // 300 KiB of padding after the data, as xorriso, mkisofs and genisoimage write by default (so the layout after
    // the ISO, and the gap partitions a GPT gets for it, is what the input's tools made). A UDF bridge takes none,
    // nor does an image with UDF only (no ISO 9660 to pad). (An appended session is padded to the next session
    // boundary instead.)
    if growing.is_none() && !build.trees.udf_only {
        build.boot.pad_sectors = crate::boot::PAD_SECTORS;
    }
    build.md5 = spec.md5;
    build.cancel = spec.cancel.clone();
    build.session_start = growing.as_ref().map(append::Growing::start);
    build.udf_vat_partition = vat_partition;
    let plan = build.prepare_walked(walked)?;
    report.entries = plan.entries();
    if let Some(g) = growing {
        let events = std::cell::RefCell::new(events);
        let done = append::write_session(
            g,
            &plan,
            spec.target == EditTarget::AppendWriteOnce,
            &mut |laid| (*events.borrow_mut())(EditEvent::Laid(laid)),
            &mut |n| (*events.borrow_mut())(EditEvent::Wrote(n)),
        )
        .with_context(|| format!("appending a session to {shown}"))?;
        report.total_sectors = done.sectors;
        report.session_start = Some(done.start);
        report.build_warnings = done.warnings;
        return Ok(report);
    }
    let out: std::cell::OnceCell<AtomicFile> = std::cell::OnceCell::new();
    let events = std::cell::RefCell::new(events);
    let (sink, laid) = plan
        .write_with(
            |laid| {
                (*events.borrow_mut())(EditEvent::Laid(laid));
                if out.get().is_none() {
                    let _ = out.set(AtomicFile::create(out_path)?);
                }
                let file = out.get().context("the output was not created")?;
                Ok(BufWriter::with_capacity(1 << 20, &file.file))
            },
            &mut |n| (*events.borrow_mut())(EditEvent::Wrote(n)),
        )
        .map_err(|e| if out.get().is_some() { e.context(format!("writing {}", out_path.display())) } else { e })?;
    drop(sink);
    report.total_sectors = laid.total_sectors;
    report.build_warnings = laid.warnings;
    let out = out.into_inner().context("the output was never created")?;
    if spec.implant_md5 {
        // A new image: whatever the input's field held is replaced.
        let opts = isomd5::ImplantOptions { force: true, ..isomd5::ImplantOptions::default() };
        let md5 =
            isomd5::implant(&out.file, &opts).with_context(|| format!("{}: implanting the MD5", out_path.display()))?;
        report.implanted_md5 = Some(md5);
    }
    out.commit()?;
    Ok(report)
}

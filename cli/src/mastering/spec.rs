//! Building an image as a library call: a [`BuildSpec`] says what goes into the image and which trees and boot
//! structures it holds; [`BuildSpec::plan`] walks the sources and lays every sector out, returning a [`BuildPlan`]
//! with the warnings and the size; [`BuildPlan::write_to`] writes the image in one sequential pass.
//!
//! ```no_run
//! use odix::{BuildSpec, BuildSource};
//!
//! let mut spec = BuildSpec::new(vec![BuildSource::folder("/srv/cd")]);
//! spec.ids.volume_id = Some("MY_DISC".into());
//! let plan = spec.plan()?;
//! for w in plan.warnings() {
//!     eprintln!("warning: {w}");
//! }
//! let out = odix::output::AtomicFile::create(std::path::Path::new("/tmp/my.iso"))?;
//! let mut w = std::io::BufWriter::new(&out.file);
//! plan.write_to(&mut w, &mut |_bytes| {})?;
//! drop(w);
//! out.commit()?;
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::cell::RefCell;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use odix_iso9660::write::{
    DataId, Hidden, IsoLayout, IsoOptions, NodeKind, Tree, VolumeDates, MAX_EXTENT, SECTOR, SYSTEM_AREA_SECTORS,
};
use odix_udf::write::{Revision, ANCHOR_BLOCK, HEAD_END};

use super::hide::{names_catalog, HideRules, SourceMap};
use super::image::{iso_options, plan_image, Identifiers, ImageExtras, SessionPlace};
use super::md5::Md5Tags;
use super::output::ImageSink;
use super::plan::{emit, Content, EmitCtx, Plan};
use super::walk::{dedup, walk, WalkOptions, Walked};
pub use super::warning::BuildWarning;
use crate::boot::{add_partition_copy, check_udf_tail, BootConfig, BootPlan, EfiPartSpec};
use crate::cancel::Cancel;
use crate::mkudf::{self, Bridge};

/// One source of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildSource {
    /// A folder or file on disk. A folder's contents go into the folder `at` of the image (the root when `None`),
    /// a file goes to the path `at` (its own name in the root when `None`).
    Path {
        /// Where in the image (`/`-separated), or `None`.
        at: Option<String>,
        /// The folder or file on disk.
        path: PathBuf,
    },
    /// A pathspec as mkisofs spells it: `PATH/IN/IMAGE=SOURCE` (`\=` and `\\` escape) or a bare `SOURCE`.
    Pathspec(OsString),
}

impl BuildSource {
    /// A folder whose contents go to the root of the image.
    pub fn folder(path: impl Into<PathBuf>) -> BuildSource {
        BuildSource::Path { at: None, path: path.into() }
    }

    /// A folder or file grafted at `at` in the image.
    pub fn graft(at: impl Into<String>, path: impl Into<PathBuf>) -> BuildSource {
        BuildSource::Path { at: Some(at.into()), path: path.into() }
    }

    /// The pathspec the walker reads.
    pub(crate) fn pathspec(&self) -> OsString {
        let escape = |b: &[u8]| -> Vec<u8> {
            let mut v = Vec::with_capacity(b.len());
            for &c in b {
                if c == b'=' || c == b'\\' {
                    v.push(b'\\');
                }
                v.push(c);
            }
            v
        };
        match self {
            BuildSource::Pathspec(s) => s.clone(),
            BuildSource::Path { at: None, path } if !path.as_os_str().as_bytes().contains(&b'=') => path.clone().into(),
            BuildSource::Path { at, path } => {
                let at = match at {
                    Some(a) => a.clone(),
                    None if path.is_dir() => "/".into(),
                    None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                };
                let mut v = escape(at.as_bytes());
                v.push(b'=');
                v.extend(escape(path.as_os_str().as_bytes()));
                OsString::from_vec(v)
            }
        }
    }
}

/// How the sources are read into the tree.
#[derive(Clone, Debug, Default)]
pub struct WalkSpec {
    /// Glob patterns; an entry whose name, path relative to its source, or full source path matches is left out.
    pub exclude: Vec<String>,
    /// Follow symbolic links and store what they point to.
    pub follow_links: bool,
    /// Keep entries whose name starts with `.` (when false, their count is [`BuildPlan::hidden_skipped`]).
    pub hidden: bool,
    /// uid/gid 0, everything readable by all, write bits cleared (mkisofs `-r`).
    pub rational_rock: bool,
    /// Store files zisofs-compressed when that saves space (needs Rock Ridge).
    pub zisofs: bool,
    /// `(glob over source paths, weight)`: the first match gives a file its weight; heavier files come first.
    pub sort: Vec<(String, i64)>,
    /// Store identical file contents once.
    pub dedup: bool,
}

/// Entries kept out of some trees: glob patterns matched against an entry's name in the image, its source
/// file's name and its disk path (mkisofs `-hide`, `-hide-joliet`, `-hide-udf`). A pattern naming the boot
/// catalog's path hides the catalog.
#[derive(Clone, Debug, Default)]
pub struct HideSpec {
    /// Hidden from ISO 9660 (and Rock Ridge).
    pub iso: Vec<String>,
    /// Hidden from Joliet.
    pub joliet: Vec<String>,
    /// Hidden from UDF.
    pub udf: Vec<String>,
}

/// Owners, modes and dates set on every entry, whatever the sources say.
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    /// Owner of every entry.
    pub uid: Option<u32>,
    /// Group of every entry.
    pub gid: Option<u32>,
    /// Permissions of every regular file.
    pub file_mode: Option<u32>,
    /// Permissions of every directory.
    pub dir_mode: Option<u32>,
    /// Permissions of directories with no source folder (the root made for graft points, graft-point folders);
    /// they take `dir_mode` when this is `None`.
    pub new_dir_mode: Option<u32>,
    /// Modification, access and change time of every entry.
    pub all_file_dates: Option<i64>,
    /// Access and change times set to the modification time.
    pub all_dates_to_mtime: bool,
}

/// The UDF file system of an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdfSpec {
    /// The revision written.
    pub revision: Revision,
    /// DVD-Video layout: VIDEO_TS and AUDIO_TS first, the VIDEO_TS files in player order and contiguous (UDF
    /// 1.02 is what players read).
    pub dvd_video: bool,
}

/// The trees an image holds.
#[derive(Clone, Debug)]
pub struct Trees {
    /// ISO 9660 interchange level: 1 (8.3 names), 2 (31 characters), 3 (2 plus files over 4 GiB), 4 (ISO
    /// 9660:1999).
    pub iso_level: u8,
    /// Raise the level to 3 when a file needs 4 GiB or more (said in [`BuildWarning::LevelRaised`]).
    pub allow_limited_size: bool,
    /// Rock Ridge (POSIX names, modes, links).
    pub rock_ridge: bool,
    /// The Joliet tree.
    pub joliet: bool,
    /// Joliet names of 103 characters instead of 64.
    pub joliet_long: bool,
    /// A UDF tree over the same file data (a bridge image).
    pub udf: Option<UdfSpec>,
    /// UDF only: no ISO 9660 structures at all (needs `udf`; no boot).
    pub udf_only: bool,
}

impl Default for Trees {
    fn default() -> Self {
        Trees {
            iso_level: 3,
            allow_limited_size: false,
            rock_ridge: true,
            joliet: true,
            joliet_long: false,
            udf: None,
            udf_only: false,
        }
    }
}

/// The identifiers of the volume.
#[derive(Clone, Debug, Default)]
pub struct Ids {
    /// Volume id; `None` takes the first folder's name, upper-cased and made valid ([`default_volume_id`]).
    pub volume_id: Option<String>,
    /// System id.
    pub system_id: Option<String>,
    /// Application id; `None` names odix and its version.
    pub application: Option<String>,
    /// Publisher id.
    pub publisher: Option<String>,
    /// Data preparer id.
    pub preparer: Option<String>,
    /// Volume set id.
    pub volume_set: Option<String>,
}

/// The times of a build. Reading `SOURCE_DATE_EPOCH` is the caller's business: it gives `now` and `clamp`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dates {
    /// The time of the build (seconds since 1970): volume dates, directories made for graft points, the boot
    /// catalog, the GPT's GUIDs.
    pub now: i64,
    /// Every later file time is clamped to this; also makes the UDF access times the modification times, so that
    /// reading the sources does not change the next build.
    pub clamp: Option<i64>,
    /// Volume dates other than `now`.
    pub volume: Option<VolumeDates>,
}

/// Everything that decides the bytes of an image.
#[derive(Clone, Debug, Default)]
pub struct BuildSpec {
    /// What goes into the image, in order (later sources win where they overlap).
    pub sources: Vec<BuildSource>,
    /// How the sources are read.
    pub walk: WalkSpec,
    /// Entries hidden from some trees.
    pub hide: HideSpec,
    /// Owners, modes and dates forced on the entries.
    pub attributes: Attributes,
    /// The trees written.
    pub trees: Trees,
    /// Volume identifiers.
    pub ids: Ids,
    /// Times.
    pub dates: Dates,
    /// El Torito entries, hybrid MBR/GPT, system area, appended partitions, partition offset, padding.
    pub boot: BootConfig,
    /// libisofs's MD5 tags (and, with Rock Ridge, the checksum array), as `xorriso -md5 on` writes them.
    pub md5: bool,
    /// When set, writing stops at its next step with [`crate::cancel::Cancelled`].
    pub cancel: Option<Cancel>,
    /// The first LBA when the image is a session appended to an existing one ([`crate::edit::append`]): every
    /// LBA counts from the medium's start, the sink is positioned there. `None`: an image of its own.
    pub session_start: Option<u32>,
    /// For a session appended to an image with UDF ([`crate::edit::append`]): the start of the UDF physical
    /// partition of the image. The session's UDF volume then has a virtual partition (UDF 1.50 or 2.01, whose
    /// revision [`Trees::udf`] gives) mapped by a Virtual Allocation Table in its last block, and its physical
    /// partition starts there, so that the older sessions' file data stays addressable.
    pub udf_vat_partition: Option<u32>,
}

/// The default volume id: a folder name upper-cased, other characters than `A-Z0-9_` made `_`, 32 at most
/// (`CDROM` for an empty name).
pub fn default_volume_id(name: &str) -> String {
    let v: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' })
        .take(32)
        .collect();
    if v.is_empty() {
        "CDROM".into()
    } else {
        v
    }
}

impl BuildSpec {
    /// A spec for `sources` with the defaults: ISO level 3, Rock Ridge and Joliet, hidden entries kept, time 0.
    pub fn new(sources: Vec<BuildSource>) -> BuildSpec {
        BuildSpec { sources, walk: WalkSpec { hidden: true, ..WalkSpec::default() }, ..BuildSpec::default() }
    }

    /// Walks the sources and lays the image out: every check that does not need to write is done here.
    pub fn plan(&self) -> Result<BuildPlan> {
        let mut plan = self.prepare()?;
        let (total, losses, _) = match plan.iso {
            None => plan.run_udf_only::<Vec<u8>>(Out::Measure, &|_| {})?,
            Some(_) => plan.lay_out::<Vec<u8>>(Out::Measure, &|_| {})?,
        };
        plan.total_sectors = total;
        plan.warnings.extend(losses.into_iter().map(BuildWarning::Loss));
        Ok(plan)
    }

    /// Walks the sources and prepares the trees and boot structures, without laying the image out: what
    /// [`BuildPlan::write_with`] needs to lay it out once and write it. Until then the plan's
    /// [`BuildPlan::total_sectors`] is 0 and its warnings leave out the layout's (see [`BuildSpec::plan`]).
    pub fn prepare(&self) -> Result<BuildPlan> {
        self.check()?;
        let pathspecs: Vec<OsString> = self.sources.iter().map(BuildSource::pathspec).collect();
        let dvd_video = self.trees.udf.is_some_and(|u| u.dvd_video);
        let sort = if dvd_video {
            [mkudf::dvd_video_sort_patterns(), self.walk.sort.clone()].concat()
        } else {
            self.walk.sort.clone()
        };
        let wopts = WalkOptions {
            exclude: self.walk.exclude.clone(),
            follow_links: self.walk.follow_links,
            hidden: self.walk.hidden,
            rational_rock: self.walk.rational_rock,
            clamp_time: self.dates.clamp,
            now: self.dates.now,
            zisofs: self.walk.zisofs,
            sort,
        };
        let mut walked = walk(&pathspecs, &wopts)?;
        if self.walk.dedup {
            dedup(&mut walked.data)?;
        }
        let h = &self.hide;
        if !h.iso.is_empty() || !h.joliet.is_empty() || !h.udf.is_empty() {
            let hide = HideRules::new(&h.iso, &h.joliet, &h.udf)?;
            let sources = SourceMap::new(&pathspecs, self.walk.follow_links).of_tree(&walked.tree, false);
            hide.apply(&mut walked.tree, &sources);
        }
        self.apply_attributes(&mut walked, &pathspecs);
        self.prepare_walked(walked)
    }

    /// [`BuildSpec::prepare`] for a tree already made (an edit's, from its input image and the changes):
    /// the sources, walk, hide and attribute options are not used.
    pub(crate) fn prepare_walked(&self, mut walked: Walked) -> Result<BuildPlan> {
        self.check()?;
        let h = &self.hide;
        let volume_id = match &self.ids.volume_id {
            Some(v) => v.clone(),
            None => default_volume_id(&walked.first_dir_name.as_deref().unwrap_or_default().to_string_lossy()),
        };
        let mut warnings = Vec::new();
        let reproducible = self.dates.clamp.is_some();
        if self.trees.udf_only {
            let udf = self.trees.udf.unwrap_or_default();
            let (tree, skipped) = mkudf::udf_tree(&walked.tree, udf.dvd_video, reproducible, &mut warnings)?;
            if skipped > 0 {
                warnings.push(BuildWarning::UdfLeftOut(skipped));
            }
            return Ok(BuildPlan {
                spec: self.clone(),
                walked,
                boot: None,
                udf: Some((
                    tree,
                    mkudf::udf_options(udf.revision, &volume_id, self.dates.now)
                        .virtual_partition(self.udf_vat_partition.is_some()),
                )),
                iso: None,
                warnings,
                total_sectors: 0,
            });
        }
        let mut boot_cfg = self.boot.clone();
        if self.trees.udf.is_some() {
            // UDF's closing anchor is the last sector of the volume: no padding after it.
            boot_cfg.fit_udf_bridge();
        }
        let mut boot = BootPlan::prepare(&boot_cfg, &mut walked, self.dates.now)?;
        if let Some(start) = self.session_start {
            boot = boot.in_session(start);
        }
        let catalog_path = boot_cfg.catalog.clone().unwrap_or_else(|| "boot.catalog".into());
        let catalog_hidden = Hidden {
            iso: h.iso.iter().any(|p| names_catalog(p, &catalog_path)),
            joliet: h.joliet.iter().any(|p| names_catalog(p, &catalog_path)),
            udf: h.udf.iter().any(|p| names_catalog(p, &catalog_path)),
        };
        if catalog_hidden != Hidden::default() && !boot_cfg.entries.is_empty() {
            // The catalog is no source file: a pattern naming it hides it from that tree (genisoimage).
            let mut node = Some(Tree::ROOT);
            for c in catalog_path.split('/').filter(|c| !c.is_empty()) {
                node = node.and_then(|n| walked.tree.lookup(n, c.as_bytes()));
            }
            if let Some(n) = node {
                walked.tree.set_hidden(n, catalog_hidden);
            }
        }
        let mut level = self.trees.iso_level;
        if self.trees.allow_limited_size && level < 3 {
            // genisoimage writes a shortened size into ISO 9660 (and the true one into UDF); odix records such
            // files as ISO 9660 multi-extent files, which level 3 allows, so that every reader sees the whole file.
            if let Some(big) = walked.data.items().iter().find(|d| d.stored_size > MAX_EXTENT) {
                warnings.push(BuildWarning::LevelRaised(big.stored_size));
                level = 3;
            }
        }
        let t = &self.trees;
        let mut opts = iso_options(level, t.rock_ridge, t.joliet, t.joliet_long, self.dates.now)
            .volume_id(volume_id.clone())
            .application(self.ids.application.clone().unwrap_or_else(|| format!("ODIX {}", env!("CARGO_PKG_VERSION"))));
        if let Some(d) = self.dates.volume {
            opts = opts.volume_dates(d);
        }
        opts = Identifiers {
            publisher: self.ids.publisher.as_deref(),
            preparer: self.ids.preparer.as_deref(),
            system_id: self.ids.system_id.as_deref(),
            volume_set: self.ids.volume_set.as_deref(),
        }
        .apply(opts);
        let udf = match self.trees.udf {
            Some(u) => {
                let (tree, skipped) = mkudf::udf_tree(&walked.tree, u.dvd_video, reproducible, &mut warnings)?;
                if skipped > 0 {
                    warnings.push(BuildWarning::UdfLeftOut(skipped));
                }
                let opts = mkudf::udf_options(u.revision, &volume_id, self.dates.now)
                    .virtual_partition(self.udf_vat_partition.is_some());
                Some((tree, opts))
            }
            None => None,
        };
        if self.md5 && !t.rock_ridge {
            warnings.push(BuildWarning::Md5WithoutRockRidge);
        }
        Ok(BuildPlan { spec: self.clone(), walked, boot: Some(boot), udf, iso: Some(opts), warnings, total_sectors: 0 })
    }

    /// Combinations no image can hold. (The commands refuse them first, in the words of their options.)
    fn check(&self) -> Result<()> {
        let udf = self.trees.udf.is_some() || self.trees.udf_only;
        if self.walk.zisofs && !self.trees.rock_ridge {
            bail!("zisofs needs Rock Ridge (the ZF entry)");
        }
        if self.trees.udf_only && !self.boot.is_empty() {
            bail!("boot structures need ISO 9660, which a UDF-only image does not have");
        }
        if self.md5 && udf {
            bail!("MD5 tags cannot be combined with UDF: the superblock tag would break the UDF recognition sequence");
        }
        if self.boot.partition_offset != 0 && udf {
            bail!("a partition offset cannot be combined with UDF");
        }
        if !self.hide.udf.is_empty() && !udf {
            bail!("entries hidden from UDF, but there is no UDF tree");
        }
        if self.session_start.is_some() && self.md5 {
            bail!("odix does not write MD5 tags into an appended session (write a new image with -o)");
        }
        if self.session_start.is_some() && udf && self.udf_vat_partition.is_none() {
            bail!(
                "odix writes UDF into an appended session only as a VAT session (the UDF physical partition of the \
                 image is needed)"
            );
        }
        if self.udf_vat_partition.is_some() && self.session_start.is_none() {
            bail!("a UDF virtual partition is written in an appended session only");
        }
        let appends = !self.boot.append.is_empty() || matches!(self.boot.efi_boot_part, Some(EfiPartSpec::File(_)));
        if self.session_start.is_some() && (appends || self.boot.partition_offset != 0) {
            bail!(
                "an appended session cannot hold appended partitions or a partition offset: they belong to an image \
                 written from LBA 0 (write a new image with -o)"
            );
        }
        Ok(())
    }

    /// Owners, modes and dates of [`Attributes`].
    fn apply_attributes(&self, walked: &mut Walked, pathspecs: &[OsString]) {
        let a = &self.attributes;
        if let Some(t) = a.all_file_dates {
            let ids: Vec<_> = walked.tree.ids().collect();
            for id in ids {
                if let Some(m) = walked.tree.meta_mut(id) {
                    m.mtime = t;
                    m.atime = t;
                    m.ctime = t;
                }
            }
        } else if a.all_dates_to_mtime {
            let ids: Vec<_> = walked.tree.ids().collect();
            for id in ids {
                if let Some(m) = walked.tree.meta_mut(id) {
                    m.atime = m.mtime;
                    m.ctime = m.mtime;
                }
            }
        }
        if a.uid.is_none()
            && a.gid.is_none()
            && a.file_mode.is_none()
            && a.dir_mode.is_none()
            && a.new_dir_mode.is_none()
        {
            return;
        }
        // Directories with no source directory (the root without a plain folder source, graft-point directories)
        // take `new_dir_mode`, else `dir_mode` (genisoimage); the others take `dir_mode`.
        let made: Vec<bool> = match a.new_dir_mode {
            Some(_) => SourceMap::new(pathspecs, self.walk.follow_links)
                .of_tree(&walked.tree, true)
                .iter()
                .map(Option::is_none)
                .collect(),
            None => Vec::new(),
        };
        let ids: Vec<_> = walked.tree.ids().collect();
        for id in ids {
            let is_dir = matches!(walked.tree.kind(id), Some(NodeKind::Dir));
            let is_file = matches!(walked.tree.kind(id), Some(NodeKind::File(_)));
            if let Some(m) = walked.tree.meta_mut(id) {
                if let Some(u) = a.uid {
                    m.uid = u;
                }
                if let Some(g) = a.gid {
                    m.gid = g;
                }
                match (is_dir, is_file) {
                    (true, _) => {
                        let new = made.get(id.0 as usize).copied().unwrap_or(false);
                        if let Some(mode) = a.new_dir_mode.filter(|_| new).or(a.dir_mode) {
                            m.perm = mode;
                        }
                    }
                    (_, true) => {
                        if let Some(mode) = a.file_mode {
                            m.perm = mode;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A planned image: the walked tree, the boot and UDF structures, the warnings and the size, ready to be written.
pub struct BuildPlan {
    spec: BuildSpec,
    walked: Walked,
    boot: Option<BootPlan>,
    udf: Option<(odix_udf::write::Tree, odix_udf::write::UdfOptions)>,
    /// The ISO 9660 options; `None` for a UDF-only image.
    iso: Option<IsoOptions>,
    warnings: Vec<BuildWarning>,
    total_sectors: u64,
}

/// Where a layout goes: nowhere (its size is measured), into a sink, or into the sink a hook opens once the size
/// and warnings are known.
enum Out<'o, W> {
    Measure,
    Into(&'o mut W),
    Open(OpenHook<'o, W>),
}

/// The hook [`BuildPlan::write_with`] calls once the image is laid out.
type OpenHook<'o, W> = Box<dyn FnOnce(&Laid) -> Result<W> + 'o>;

/// An image laid out, before any byte of it is written: its size and every warning of the build (the
/// preparation's, then the layout's).
#[derive(Clone, Debug)]
pub struct Laid {
    /// Size of the image in 2048-byte sectors.
    pub total_sectors: u64,
    /// What the image records differently from its sources, in the order found.
    pub warnings: Vec<BuildWarning>,
}

impl Laid {
    /// Size of the image in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.total_sectors * SECTOR as u64
    }
}

impl BuildPlan {
    /// What the image records differently from its sources, in the order found.
    pub fn warnings(&self) -> &[BuildWarning] {
        &self.warnings
    }

    /// Size of the image in 2048-byte sectors.
    pub fn total_sectors(&self) -> u64 {
        self.total_sectors
    }

    /// Size of the image in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.total_sectors * SECTOR as u64
    }

    /// Entries of the image, the root left out (of the UDF tree for a UDF-only image).
    pub fn entries(&self) -> usize {
        match (&self.iso, &self.udf) {
            (None, Some((t, _))) => t.len().saturating_sub(1),
            _ => self.walked.tree.len().saturating_sub(1),
        }
    }

    /// Entries left out because their name starts with `.` ([`WalkSpec::hidden`] false).
    pub fn hidden_skipped(&self) -> u64 {
        self.walked.hidden_skipped
    }

    /// Whether the image ends with a UDF Virtual Allocation Table ([`BuildSpec::udf_vat_partition`]): its last
    /// block must stay the last of the medium, unpadded.
    pub fn ends_with_vat(&self) -> bool {
        self.spec.udf_vat_partition.is_some() && self.udf.is_some()
    }

    /// The UDF revision written, when the image holds UDF.
    pub fn udf_revision(&self) -> Option<Revision> {
        self.spec.trees.udf.map(|u| u.revision)
    }

    /// Writes the image to `out` in one sequential pass (never seeking it); `progress` is told how many bytes
    /// were just written. File data goes through [`ImageSink::copy_from`] (a kernel copy into a regular file).
    ///
    /// The layout borrows the walked tree, so it is made again here rather than kept from [`BuildSpec::plan`];
    /// [`BuildSpec::prepare`] with [`BuildPlan::write_with`] lays the image out only once.
    pub fn write_to<W: ImageSink>(&self, out: &mut W, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let progress = RefCell::new(progress);
        let tell = |n: u64| (*progress.borrow_mut())(n);
        let (total, _, _) = match self.iso {
            None => self.run_udf_only(Out::Into(out), &tell)?,
            Some(_) => self.lay_out(Out::Into(out), &tell)?,
        };
        if self.total_sectors != 0 && total != self.total_sectors {
            bail!("the image was planned at {} sectors but laid out at {total}", self.total_sectors);
        }
        Ok(())
    }

    /// Lays the image out once and writes it: `open` is told the size and every warning before any byte is
    /// written, and returns the sink to write into (it may show the warnings, create the output, size a progress
    /// bar); `progress` is then told how many bytes were just written. Returns the sink, flushed, and what `open`
    /// was told. For a plan from [`BuildSpec::prepare`].
    pub fn write_with<'o, W: ImageSink>(
        &self,
        open: impl FnOnce(&Laid) -> Result<W> + 'o,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(W, Laid)> {
        let progress = RefCell::new(progress);
        let tell = |n: u64| (*progress.borrow_mut())(n);
        let laid = RefCell::new(None);
        let hook = |l: &Laid| {
            *laid.borrow_mut() = Some(l.clone());
            open(l)
        };
        let (_, _, sink) = match self.iso {
            None => self.run_udf_only(Out::Open(Box::new(hook)), &tell)?,
            Some(_) => self.lay_out(Out::Open(Box::new(hook)), &tell)?,
        };
        match (sink, laid.into_inner()) {
            (Some(w), Some(l)) => Ok((w, l)),
            _ => bail!("the image was laid out but not written"),
        }
    }

    /// The size and warnings `open` is told: the preparation's warnings and the layout's losses.
    fn laid(&self, total_sectors: u64, losses: &[String]) -> Laid {
        let mut warnings = self.warnings.clone();
        if self.total_sectors == 0 {
            warnings.extend(losses.iter().cloned().map(BuildWarning::Loss));
        }
        Laid { total_sectors, warnings }
    }

    /// Lays the ISO image out and, unless `out` only measures, writes it; returns its size in sectors, the
    /// layout's losses and the sink an [`Out::Open`] hook opened.
    fn lay_out<W: ImageSink>(&self, out: Out<'_, W>, progress: &dyn Fn(u64)) -> Result<(u64, Vec<String>, Option<W>)> {
        let (Some(boot), Some(opts)) = (&self.boot, &self.iso) else {
            bail!("not an ISO 9660 plan");
        };
        let walked = &self.walked;
        let spec = &self.spec;
        // A session points at the data of the image it is appended to where it lies (when it lies there whole).
        let on_medium = |id: DataId| {
            let stored = walked.data.item(id)?.stored_size;
            let (lba, _) = walked.data.image_extent(id).filter(|&(_, len)| len >= stored)?;
            u32::try_from(lba).ok()
        };
        let mut bridge = Bridge::for_tree(self.udf.as_ref(), &walked.data)?;
        if let (Some(session), Some(p)) = (spec.session_start, spec.udf_vat_partition) {
            bridge = bridge.map(|b| b.in_vat_session(session, p)).transpose()?;
        }
        let offset = spec.boot.partition_offset;
        let mut part_layout = if offset > 0 { Some(IsoLayout::new(&walked.tree, opts.clone())?) } else { None };
        // MD5 tags with Rock Ridge: the root and the files record where their MD5s lie in the checksum array, a
        // synthetic data item after every other (the partition copy's tree does not).
        let array_id = (spec.md5 && spec.trees.rock_ridge).then(|| DataId(boot.ids_end()));
        let mut layout = IsoLayout::new(&walked.tree, opts.clone().checksum_array(array_id))?;
        let losses: Vec<String> = layout.losses().iter().map(ToString::to_string).collect();
        let mut extras = ImageExtras {
            session: spec.session_start.map(|start| SessionPlace { start, on_medium: &on_medium }),
            ..ImageExtras::default()
        };
        boot.add_descriptors(&mut extras);
        let tags = spec.md5.then(|| Md5Tags::new(array_id, layout.checksum_files()));
        if let Some(t) = &tags {
            t.add_superblock_tag(&mut extras);
        }
        if let Some(p) = part_layout.as_mut() {
            add_partition_copy(&mut extras, p, layout.descriptor_count(), offset)?;
        }
        if let Some(b) = &bridge {
            b.add_to(&mut extras, &layout)?;
        }
        boot.add_metadata(&mut extras);
        if let Some(t) = &tags {
            t.add_tree_and_session_tags(&mut extras);
        }
        let mut planned = plan_image(&mut layout, &walked.data, extras)?;
        let mut data_lba = boot.data_lba(&planned);
        if let Some(t) = &tags {
            t.place(&planned.plan, &mut data_lba)?;
        }
        if let Some(b) = &bridge {
            b.place(&planned.plan, &data_lba, &walked.data.alias)?;
        }
        let iso_end = planned.plan.total_sectors();
        let volume_sectors = boot.finish(&mut planned)?;
        if bridge.is_some() {
            check_udf_tail(&planned, iso_end)?;
        }
        // A session's size counts from its start.
        let total = planned.plan.total_sectors() - u64::from(planned.start);
        let mut opened = None;
        let out: &mut W = match out {
            Out::Measure => return Ok((total, losses, None)),
            Out::Into(w) => w,
            Out::Open(open) => opened.insert(open(&self.laid(total, &losses))?),
        };
        let ctx = EmitCtx {
            total_sectors: volume_sectors,
            data_lba: &data_lba,
            alias: &walked.data.alias,
            cancel: spec.cancel.as_ref(),
        };
        match &tags {
            Some(t) => {
                let mut w = t.sink(&mut *out, &ctx)?;
                emit(&planned.plan, &ctx, &walked.data, &mut w, progress)?;
                w.inner.flush()?;
            }
            None => {
                emit(&planned.plan, &ctx, &walked.data, out, progress)?;
                out.flush()?;
            }
        }
        Ok((total, losses, opened))
    }

    /// Lays a UDF-only image out (no ISO 9660 descriptors: the recognition sequence at 16, the UDF structures at
    /// 256 and the partition after them) and, unless `out` only measures, writes it; returns as
    /// [`BuildPlan::lay_out`] does (a UDF-only layout loses nothing).
    fn run_udf_only<W: ImageSink>(
        &self,
        out: Out<'_, W>,
        progress: &dyn Fn(u64),
    ) -> Result<(u64, Vec<String>, Option<W>)> {
        let (tree, opts) = self.udf.as_ref().context("not a UDF plan")?;
        let data = &self.walked.data;
        let mut bridge = Bridge::new(tree, opts.clone(), data)?;
        // A VAT session appended to a UDF-only image: its structures follow its start as an image's follow LBA
        // 0, and the data already on the medium stays where it lies.
        let start = self.spec.session_start.unwrap_or(0);
        if let (Some(session), Some(p)) = (self.spec.session_start, self.spec.udf_vat_partition) {
            bridge = bridge.in_vat_session(session, p)?;
        }
        let on_medium = |id: DataId| {
            self.spec.session_start?;
            let stored = data.item(id)?.stored_size;
            let (lba, _) = data.image_extent(id).filter(|&(_, len)| len >= stored)?;
            u32::try_from(lba).ok()
        };
        let mut plan = Plan::starting_at(start);
        plan.push("system area", u64::from(SYSTEM_AREA_SECTORS), Content::Zeros)?;
        for (name, s) in mkudf::VRS_NAMES.into_iter().zip(bridge.vrs()?) {
            plan.push(name, 1, Content::Bytes(s))?;
        }
        plan.push("gap before the UDF anchor", u64::from(start + ANCHOR_BLOCK - plan.cursor()), Content::Zeros)?;
        plan.push(
            mkudf::HEAD,
            u64::from(HEAD_END - ANCHOR_BLOCK),
            Content::Producer(bridge.producer(|l, w| l.write_head(w))),
        )?;
        plan.push(
            mkudf::METADATA,
            u64::from(bridge.metadata_blocks),
            Content::Producer(bridge.producer(|l, w| l.write_metadata(w))),
        )?;
        let mut data_lba = vec![0u32; data.items().len()];
        let mut order: Vec<u32> = Vec::new();
        for i in 0..data.items().len() as u32 {
            if data.alias[i as usize] != i || data.items()[i as usize].stored_size == 0 {
                continue;
            }
            match on_medium(DataId(i)) {
                Some(lba) => data_lba[i as usize] = lba,
                None => order.push(i),
            }
        }
        order.sort_by_key(|&i| std::cmp::Reverse(data.items()[i as usize].weight));
        for i in order {
            let item = &data.items()[i as usize];
            let sectors = item.stored_size.div_ceil(SECTOR as u64);
            data_lba[i as usize] =
                plan.push(data.path(item).display().to_string(), sectors, Content::Data(DataId(i)))?;
        }
        if bridge.mirror_blocks > 0 {
            plan.push(
                mkudf::MIRROR,
                u64::from(bridge.mirror_blocks),
                Content::Producer(bridge.producer(|l, w| l.write_mirror(w))),
            )?;
        }
        plan.push(
            mkudf::TAIL,
            u64::from(bridge.tail_blocks),
            Content::Producer(bridge.producer(|l, w| l.write_tail(w))),
        )?;
        bridge.place(&plan, &data_lba, &data.alias)?;
        // A session's size counts from its start.
        let total = plan.total_sectors() - u64::from(start);
        let mut opened = None;
        let out: &mut W = match out {
            Out::Measure => return Ok((total, Vec::new(), None)),
            Out::Into(w) => w,
            Out::Open(open) => opened.insert(open(&self.laid(total, &[]))?),
        };
        let sectors = u32::try_from(plan.total_sectors()).context("image over 2^32 sectors")?;
        let ctx = EmitCtx {
            total_sectors: sectors,
            data_lba: &data_lba,
            alias: &data.alias,
            cancel: self.spec.cancel.as_ref(),
        };
        emit(&plan, &ctx, data, out, progress)?;
        out.flush()?;
        Ok((total, Vec::new(), opened))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pathspecs_of_sources() {
        assert_eq!(BuildSource::folder("/a/b").pathspec(), OsString::from("/a/b"));
        assert_eq!(BuildSource::graft("x/y", "/a=b").pathspec(), OsString::from("x/y=/a\\=b"));
        assert_eq!(BuildSource::Pathspec("p=q".into()).pathspec(), OsString::from("p=q"));
    }

    #[test]
    fn plan_and_write_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"hello").unwrap();
        std::fs::write(dir.path().join("b.bin"), vec![1u8; 5000]).unwrap();
        for udf in [None, Some(UdfSpec::default())] {
            let mut spec = BuildSpec::new(vec![BuildSource::folder(dir.path())]);
            spec.trees.udf = udf;
            spec.trees.udf_only = false;
            let plan = spec.plan().unwrap();
            assert_eq!(plan.entries(), 2);
            let mut out = Vec::new();
            let mut told = 0;
            plan.write_to(&mut out, &mut |n| told += n).unwrap();
            assert_eq!((out.len() as u64, told), (plan.size_bytes(), plan.size_bytes()));
            assert_eq!(&out[16 * 2048 + 1..16 * 2048 + 6], b"CD001");
        }
        let mut spec = BuildSpec::new(vec![BuildSource::folder(dir.path())]);
        spec.trees.udf = Some(UdfSpec::default());
        spec.trees.udf_only = true;
        let plan = spec.plan().unwrap();
        let mut out = Vec::new();
        plan.write_to(&mut out, &mut |_| {}).unwrap();
        assert_eq!(&out[16 * 2048 + 1..16 * 2048 + 6], b"BEA01");
        let cancel = Cancel::new();
        cancel.cancel();
        spec.cancel = Some(cancel);
        let plan = spec.plan().unwrap();
        assert!(plan.write_to(&mut Vec::new(), &mut |_| {}).is_err(), "a cancelled build stops");
    }
}

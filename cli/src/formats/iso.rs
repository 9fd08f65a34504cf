//! Adapter from odix-iso9660 to the CLI: the plain, Joliet, Rock Ridge and ISO 9660:1999 views as a [`Tree`], the `info`
//! sections (`iso9660`, `el_torito`, `system_area`), and `extract --boot`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use odix_iso9660::format::el_torito::{emulation_name, platform_name, BootCatalog};
use odix_iso9660::format::hybrid::guid_string;
use odix_iso9660::format::identifier_text;
use odix_iso9660::format::volume_descriptor::PrimaryVolumeDescriptor;
use odix_iso9660::read::names::strip_version;
use odix_iso9660::read::SystemArea;
use odix_iso9660::{Entry, EntryKind, Image, View as IsoView};
use serde_json::{json, Value};

use super::options::{InfoSection, ReadOptions, View};
use crate::source::{ImageSource, Source};
use crate::view::{Extent, Kind, Node, PastEnd, Tree, Warning};

const SECTOR: u64 = 2048;

fn lib_options(opts: &ReadOptions) -> odix_iso9660::Options {
    let l = &opts.limits;
    odix_iso9660::Options::default().strict(opts.strict).charset(opts.charset).session_start(opts.session_start).limits(
        odix_iso9660::Limits::default()
            .with_max_depth(l.max_depth)
            .with_max_dir_entries(l.max_dir_entries)
            .with_max_continuations(l.max_continuations)
            .with_max_alloc(l.max_alloc),
    )
}

fn open_image(src: &ImageSource, opts: &ReadOptions) -> Result<Image<Source>> {
    let reader = src.open()?;
    Image::open(reader, lib_options(opts)).map_err(|e| anyhow!("{}: {e}", src.path().display()))
}

/// An ISO 9660 volume opened once: its descriptors read, and its system area (MBR, GPT, APM) looked at, with the
/// warnings of each kept apart so that a tree gets only those of opening and `info` all of them, in order.
pub(crate) struct Opened {
    img: Image<Source>,
    /// What opening warned of.
    early: Vec<odix_iso9660::Warning>,
    /// The system area, or why it could not be read.
    system_area: std::result::Result<SystemArea, String>,
    /// What reading the system area warned of.
    system_area_warnings: Vec<odix_iso9660::Warning>,
}

impl Opened {
    /// Reads the volume descriptors at the session start and the system area.
    pub(crate) fn open(src: &ImageSource, opts: &ReadOptions) -> Result<Opened> {
        let mut img = open_image(src, opts)?;
        let early = img.take_warnings();
        // On a disc whose first sectors are audio (an Enhanced CD, a Dreamcast disc) there is no system area.
        let system_area = if system_area_outside_data(src) {
            Ok(SystemArea::default())
        } else {
            img.system_area().map_err(|e| e.to_string())
        };
        let system_area_warnings = img.take_warnings();
        Ok(Opened { img, early, system_area, system_area_warnings })
    }

    /// The views present, the volume id, El Torito and the partition tables found.
    pub(crate) fn summary(&self) -> crate::image::IsoVolume {
        let img = &self.img;
        let p = img.primary();
        let sa = self.system_area.as_ref().ok();
        crate::image::IsoVolume {
            volume_id: p.text(&p.volume_id),
            joliet: img.joliet().is_some(),
            rock_ridge: img.rock_ridge(),
            iso9660_1999: img.enhanced().is_some(),
            el_torito: img.boot_record().is_some_and(|b| b.is_el_torito()),
            mbr: sa.is_some_and(|s| s.mbr.is_some()),
            gpt: sa.is_some_and(|s| s.gpt.is_some()),
            apm: sa.is_some_and(|s| s.apm.is_some()),
            best_view: view_name(img.best_view()),
        }
    }
}

/// Whether LBAs 0–15 of a raw disc are not all in data tracks, so that no system area can be read there.
fn system_area_outside_data(src: &ImageSource) -> bool {
    let Some(disc) = src.raw_disc() else { return false };
    (0..16).any(|lba| match disc.locate(lba) {
        odix_cdrip::image::SectorAt::Stored { track } => !disc.tracks().get(track).is_some_and(|t| t.mode.is_data()),
        _ => true,
    })
}

/// The name of a view, as `--view` spells it.
fn view_name(view: IsoView) -> &'static str {
    match view {
        IsoView::Plain => "iso9660",
        IsoView::Joliet => "joliet",
        IsoView::RockRidge => "rockridge",
        IsoView::Enhanced => "iso9660-1999",
    }
}

/// The sessions of a plain image file, found by following its volume descriptor sets (see
/// [`odix_iso9660::read::sessions`]).
pub fn sessions(src: &ImageSource) -> Result<Vec<odix_iso9660::read::Session>> {
    src.iso_sessions()
}

/// The `sessions` section of `odix info` for a plain image file: start LBA, size and volume id of each session, as
/// `xorriso -toc` lists them.
fn sessions_section(src: &ImageSource, opts: &ReadOptions) -> Result<Option<InfoSection>> {
    if src.is_raw_description() {
        return Ok(None);
    }
    let list = sessions(src)?;
    if list.is_empty() {
        return Ok(None);
    }
    let mut text = format!("Sessions: {}\n", list.len());
    let mut json = Vec::new();
    // A grown file of xorriso keeps a copy of the newest session's descriptors at LBA 16, read by default.
    let copy_read = opts.session_start == 0 && list.first().is_some_and(|s| s.start != 0);
    for (i, s) in list.iter().enumerate() {
        let read = s.start == opts.session_start || (copy_read && i + 1 == list.len());
        let _ = writeln!(
            text,
            "  Session {}: start LBA {}, {} blocks, volume id {}{}",
            i + 1,
            s.start,
            s.blocks,
            s.volume_id,
            if read { " (read)" } else { "" }
        );
        json.push(json!({"number": i + 1, "start_lba": s.start, "blocks": s.blocks, "volume_id": s.volume_id,
                         "read": read}));
    }
    Ok(Some(InfoSection { key: "sessions", json: Value::Array(json), text }))
}

/// Whether an ISO 9660 volume descriptor (`CD001`) is at the session start + 16.
pub(crate) fn probe(src: &ImageSource, opts: &ReadOptions) -> Result<bool> {
    let mut r = src.open()?;
    let at = opts.session_start.saturating_add(16).saturating_mul(SECTOR);
    let mut head = [0u8; 6];
    if r.seek(SeekFrom::Start(at)).is_err() || r.read_exact(&mut head).is_err() {
        return Ok(false);
    }
    Ok(&head[1..6] == b"CD001")
}

/// A view of the opened volume: the one asked for, or for `auto` Rock Ridge, else Joliet, else plain.
pub(crate) fn tree(opened: Opened, src: &ImageSource, opts: &ReadOptions, view: View) -> Result<Box<dyn Tree>> {
    let Opened { img, early, .. } = opened;
    let path = src.path().display().to_string();
    let view = match view {
        View::Iso9660 => IsoView::Plain,
        View::Joliet => {
            if img.joliet().is_none() {
                bail!("{path}: the image has no Joliet tree");
            }
            IsoView::Joliet
        }
        View::RockRidge => {
            if img.rock_ridge().is_none() {
                bail!("{path}: the image has no Rock Ridge");
            }
            IsoView::RockRidge
        }
        View::Iso9660_1999 => {
            if img.enhanced().is_none() {
                bail!("{path}: the image has no ISO 9660:1999 tree (enhanced volume descriptor)");
            }
            IsoView::Enhanced
        }
        View::Auto | View::Udf => img.best_view(),
    };
    let raw_names = view == IsoView::RockRidge && opts.charset.is_none();
    let early = early.into_iter().map(|w| Warning(format!("{path}: {w}"))).collect();
    Ok(Box::new(IsoTree { img, view, path, early, direct: src.is_direct(), raw_names }))
}

struct IsoTree {
    img: Image<Source>,
    view: IsoView,
    path: String,
    early: Vec<Warning>,
    /// Whether the image's sectors are the bytes of the file named (LBA × 2048 is a byte offset in it).
    direct: bool,
    /// Whether Rock Ridge names are given as their recorded bytes (no `--charset` asked for another decoding).
    raw_names: bool,
}

impl IsoTree {
    fn entry<'n>(&self, node: &'n Node) -> Result<&'n Entry> {
        node_entry(node).ok_or_else(|| anyhow!("{}: node of another view", self.path))
    }
}

fn node_entry(node: &Node) -> Option<&Entry> {
    node.handle.downcast_ref::<Entry>()
}

/// The node of an entry; the entry itself, shrunk to what reading it needs, becomes the handle. With `raw_names`,
/// a Rock Ridge name (NM) is the bytes recorded, whatever they are; symlink targets (SL) always are.
fn node(mut e: Entry, raw_names: bool) -> Node {
    let kind = match e.kind() {
        EntryKind::File => Kind::File,
        EntryKind::Dir => Kind::Dir,
        EntryKind::Symlink => Kind::Symlink,
        EntryKind::Other => Kind::Other,
    };
    let first = e.extents().first().map(|x| x.lba);
    let link_id = match kind {
        Kind::Dir => first,
        _ => match (e.nlink(), e.ino()) {
            (Some(n), Some(ino)) if n > 1 && ino != 0 => Some(u64::from(ino)),
            _ if e.size() > 0 => first,
            _ => None,
        },
    };
    let is_dev = matches!(e.mode().map(|m| m & 0o170000), Some(0o020000) | Some(0o060000));
    let rr = e.rock_ridge();
    let raw_name = if raw_names { rr.and_then(|r| r.name.clone()) } else { None };
    let target = match kind {
        Kind::Symlink => Some(OsString::from_vec(rr.and_then(|r| r.symlink.clone()).unwrap_or_default())),
        _ => None,
    };
    let decoded = e.take_name();
    let name = match raw_name {
        Some(raw) => OsString::from_vec(raw),
        None => OsString::from(decoded),
    };
    let (mtime, atime, mode, uid, gid, nlink) = (e.mtime(), e.atime(), e.mode(), e.uid(), e.gid(), e.nlink());
    let rdev = if is_dev { e.device() } else { None };
    let extents = e.extents().iter().map(|x| Extent { lba: x.lba, length: x.length }).collect();
    let size = if kind == Kind::File { e.size() } else { 0 };
    e.shrink();
    Node { name, kind, size, mtime, atime, mode, uid, gid, nlink, target, rdev, extents, link_id, handle: Arc::new(e) }
}

impl Tree for IsoTree {
    fn view_name(&self) -> &'static str {
        view_name(self.view)
    }

    fn root(&mut self) -> Result<Node> {
        let e = self.img.root(self.view).map_err(|e| anyhow!("{}: {e}", self.path))?;
        Ok(node(e, self.raw_names))
    }

    fn read_dir(&mut self, dir: &Node) -> Result<Vec<Node>> {
        let e = self.entry(dir)?.clone();
        let list = self.img.read_dir(&e).map_err(|err| anyhow!("{}: {err}", self.path))?;
        Ok(list.into_iter().map(|e| node(e, self.raw_names)).collect())
    }

    fn open<'a>(&'a mut self, file: &Node) -> Result<Box<dyn Read + 'a>> {
        let e = self.entry(file)?.clone();
        let path = self.path.clone();
        let r = self.img.open_file(&e).map_err(|err| anyhow!("{path}: {err}"))?;
        Ok(Box::new(PastEndReader(r)))
    }

    fn read_at(&mut self, file: &Node, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let e = node_entry(file).ok_or_else(|| anyhow!("{}: node of another view", self.path))?;
        self.img.read_file_at(e, offset, buf).map_err(|err| anyhow!("{}: {err}", self.path))
    }

    fn plain_ranges(&mut self, file: &Node) -> Option<Vec<(u64, u64)>> {
        let e = node_entry(file)?;
        if !self.direct || e.is_zisofs() || e.kind() != EntryKind::File {
            return None;
        }
        let ranges: Vec<(u64, u64)> =
            e.extents().iter().map(|x| Some((x.lba.checked_mul(SECTOR)?, x.length))).collect::<Option<_>>()?;
        let total = ranges.iter().try_fold(0u64, |t, r| t.checked_add(r.1))?;
        let inside = ranges.iter().all(|r| r.0.checked_add(r.1).is_some_and(|end| end <= self.img.image_len()));
        (total == file.size && inside).then_some(ranges)
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        let mut out = std::mem::take(&mut self.early);
        out.extend(self.img.take_warnings().into_iter().map(|w| Warning(format!("{}: {w}", self.path))));
        out
    }
}

/// A file reader whose "data past the end of the image" error is the CLI's [`PastEnd`].
struct PastEndReader<R>(R);

impl<R: Read> Read for PastEndReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| match odix_iso9660::DataPastEnd::of(&e) {
            Some(p) => PastEnd { missing: p.missing }.into_io(),
            None => e,
        })
    }
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))).unwrap_or(Value::Null)
}

/// What a walk of the primary tree tells: the lowest interchange level its names fit, multi-extent files,
/// zisofs files, and which file starts at which LBA (to name boot images).
#[derive(Default)]
struct Scan {
    entries: u64,
    level: u8,
    relaxed_names: bool,
    zisofs: bool,
    by_lba: HashMap<u64, (String, u64)>,
}

fn name_level(id: &[u8], is_dir: bool) -> (u8, bool) {
    let id = if is_dir { id } else { strip_version(id) };
    let (base, ext) = match id.iter().position(|&b| b == b'.') {
        Some(p) if !is_dir => (&id[..p], &id[p + 1..]),
        _ => (id, &id[..0]),
    };
    let dots = id.iter().filter(|&&b| b == b'.').count();
    let level1 = base.len() <= 8 && ext.len() <= 3 && (if is_dir { dots == 0 } else { dots <= 1 });
    let relaxed =
        id.len() > 31 || id.iter().any(|&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'.'));
    (if level1 { 1 } else { 2 }, relaxed)
}

fn scan(img: &mut Image<Source>, max: u64) -> Result<Scan> {
    let view = if img.rock_ridge().is_some() { IsoView::RockRidge } else { IsoView::Plain };
    let root = img.root(view)?;
    let mut s = Scan { level: 1, ..Scan::default() };
    img.walk(&root, max, &mut |path, e| {
        s.entries += 1;
        if e.is_root() {
            return;
        }
        let (lvl, relaxed) = name_level(e.identifier(), e.kind() == EntryKind::Dir);
        s.level = s.level.max(lvl);
        s.relaxed_names |= relaxed;
        if e.is_multi_extent() {
            s.level = 3;
        }
        s.zisofs |= e.is_zisofs();
        if e.kind() == EntryKind::File {
            if let Some(x) = e.extents().first() {
                s.by_lba.entry(x.lba).or_insert_with(|| (path.to_string(), e.size()));
            }
        }
    })?;
    Ok(s)
}

fn descriptor_json(d: &PrimaryVolumeDescriptor) -> Value {
    json!({
        "system_id": d.text(&d.system_id),
        "volume_id": d.text(&d.volume_id),
        "volume_set_id": d.text(&d.volume_set_id),
        "publisher_id": d.text(&d.publisher_id),
        "preparer_id": d.text(&d.preparer_id),
        "application_id": d.text(&d.application_id),
        "copyright_file_id": d.text(&d.copyright_file_id),
        "abstract_file_id": d.text(&d.abstract_file_id),
        "bibliographic_file_id": d.text(&d.bibliographic_file_id),
        "creation_date": rfc3339(d.creation_time()),
        "modification_date": rfc3339(d.modification_time()),
        "expiration_date": rfc3339(d.expiration_time()),
        "effective_date": rfc3339(d.effective_time()),
        "volume_space_size": d.volume_space_size.value(),
        "logical_block_size": d.logical_block_size.value(),
        "volume_set_size": d.volume_set_size.value(),
        "volume_sequence_number": d.volume_sequence_number.value(),
        "path_table_size": d.path_table_size.value(),
        "root_lba": d.root.extent.value(),
    })
}

/// The boot image of a catalog entry: where it starts, how many bytes it has, and the file that holds it.
///
/// The size is that of the file of the ISO tree whose data starts at the entry's LBA, when there is one (as
/// `xorriso -report_el_torito` names it under "img path"); otherwise the entry's sector count × 512 bytes
/// (its "img blks"), cut at the end of the image.
fn boot_image(e: &odix_iso9660::format::el_torito::BootEntry, s: &Scan, image_len: u64) -> (Option<String>, u64) {
    let lba = u64::from(e.load_rba);
    let start = lba.saturating_mul(SECTOR);
    let avail = image_len.saturating_sub(start);
    match s.by_lba.get(&lba) {
        Some((path, size)) => (Some(path.clone()), (*size).min(avail)),
        None => (None, (u64::from(e.sector_count) * 512).min(avail)),
    }
}

fn el_torito_section(lba: u64, cat: &BootCatalog, s: &Scan, image_len: u64) -> InfoSection {
    let mut entries = Vec::new();
    let mut text = String::from("El Torito\n");
    let cat_path = s.by_lba.get(&lba).map(|(p, _)| p.clone());
    let _ = writeln!(text, "  Catalog: LBA {lba}{}", cat_path.as_ref().map(|p| format!(" ({p})")).unwrap_or_default());
    let _ = writeln!(
        text,
        "  Validation entry: platform {}, id {:?}, checksum {}",
        platform_name(cat.validation.platform_id),
        identifier_text(&cat.validation.id),
        if cat.validation.checksum_ok && cat.validation.key_ok { "ok" } else { "BAD" }
    );
    for (i, e) in cat.entries.iter().enumerate() {
        let (path, bytes) = boot_image(e, s, image_len);
        entries.push(json!({
            "index": i + 1,
            "section": e.section,
            "platform": platform_name(e.platform_id),
            "platform_id": e.platform_id,
            "bootable": e.bootable(),
            "emulation": emulation_name(e.media_type),
            "media_type": e.media_type,
            "load_segment": e.load_segment,
            "system_type": e.system_type,
            "sector_count": e.sector_count,
            "lba": e.load_rba,
            "selection_criteria": e.selection_criteria.0,
            "path": path,
            "image_bytes": bytes,
        }));
        let _ = writeln!(
            text,
            "  Entry {}: {} {}, emulation {}, load segment 0x{:04x}, system type 0x{:02x}, {} sectors, LBA {}, {} bytes{}",
            i + 1,
            platform_name(e.platform_id),
            if e.bootable() { "bootable" } else { "not bootable" },
            emulation_name(e.media_type),
            e.load_segment,
            e.system_type,
            e.sector_count,
            e.load_rba,
            bytes,
            path.map(|p| format!(", {p}")).unwrap_or_default()
        );
    }
    InfoSection {
        key: "el_torito",
        json: json!({
            "catalog_lba": lba,
            "catalog_path": cat_path,
            "validation": {
                "platform": platform_name(cat.validation.platform_id),
                "id": identifier_text(&cat.validation.id),
                "checksum_ok": cat.validation.checksum_ok,
                "key_ok": cat.validation.key_ok,
            },
            "entries": entries,
        }),
        text,
    }
}

fn system_area_section(sa: &odix_iso9660::read::SystemArea) -> Option<InfoSection> {
    if sa.mbr.is_none() && sa.gpt.is_none() && sa.apm.is_none() {
        return None;
    }
    let mut text = String::from("System area\n");
    let mut obj = serde_json::Map::new();
    if let Some(parts) = &sa.mbr {
        let list: Vec<Value> = parts
            .iter()
            .map(|p| {
                let _ = writeln!(
                    text,
                    "  MBR partition {}: status 0x{:02x}, type 0x{:02x}, start {}, {} sectors",
                    p.index, p.status, p.partition_type, p.start_lba, p.sectors
                );
                json!({"index": p.index, "status": p.status, "type": p.partition_type, "start": p.start_lba,
                       "sectors": p.sectors})
            })
            .collect();
        obj.insert("mbr".into(), json!({ "partitions": list }));
    }
    if let Some(g) = &sa.gpt {
        let h = &g.header;
        let _ = writeln!(
            text,
            "  GPT: disk {}, header CRC {}, entries at 512-byte LBA {} (CRC {}), backup header at LBA {} ({})",
            guid_string(&h.disk_guid),
            if h.crc_ok { "ok" } else { "BAD" },
            h.entries_lba,
            if g.entries_crc_ok { "ok" } else { "BAD" },
            h.backup_lba,
            match g.backup_found {
                Some(true) => "found",
                Some(false) => "missing",
                None => "past the image end",
            }
        );
        let list: Vec<Value> = g
            .partitions
            .iter()
            .map(|p| {
                let _ = writeln!(
                    text,
                    "  GPT partition {}: type {}, first {}, last {}, name {:?}",
                    p.index,
                    guid_string(&p.type_guid),
                    p.first_lba,
                    p.last_lba,
                    p.name
                );
                json!({"index": p.index, "type_guid": guid_string(&p.type_guid), "guid": guid_string(&p.guid),
                       "first_lba": p.first_lba, "last_lba": p.last_lba, "attributes": p.attributes,
                       "name": p.name})
            })
            .collect();
        obj.insert(
            "gpt".into(),
            json!({
                "disk_guid": guid_string(&h.disk_guid),
                "header_crc_ok": h.crc_ok,
                "current_lba": h.current_lba,
                "backup_lba": h.backup_lba,
                "backup_found": g.backup_found,
                "first_usable_lba": h.first_usable,
                "last_usable_lba": h.last_usable,
                "entries_lba": h.entries_lba,
                "entries": h.num_entries,
                "entry_size": h.entry_size,
                "entries_crc_ok": g.entries_crc_ok,
                "partitions": list,
            }),
        );
    }
    if let Some((bs, parts)) = &sa.apm {
        let list: Vec<Value> = parts
            .iter()
            .map(|p| {
                let _ = writeln!(
                    text,
                    "  APM partition {}: {:?} type {:?}, start block {}, {} blocks of {bs}",
                    p.index, p.name, p.partition_type, p.start_block, p.blocks
                );
                json!({"index": p.index, "name": p.name, "type": p.partition_type, "start_block": p.start_block,
                       "blocks": p.blocks})
            })
            .collect();
        obj.insert("apm".into(), json!({"block_size": bs, "partitions": list}));
    }
    Some(InfoSection { key: "system_area", json: Value::Object(obj), text })
}

/// The `iso9660`, `el_torito` and `system_area` sections of the opened volume; what the reader warned of goes to
/// `warnings`.
pub(crate) fn info(
    src: &ImageSource,
    opts: &ReadOptions,
    opened: Opened,
    warnings: &mut Vec<String>,
) -> Result<Vec<InfoSection>> {
    let path = src.path().display().to_string();
    let Opened { mut img, early, system_area, system_area_warnings } = opened;
    // A damaged tree or boot catalog is a warning: the descriptors and the rest are still shown.
    let s = match scan(&mut img, opts.limits.max_total_entries) {
        Ok(s) => s,
        Err(e) if opts.strict => bail!("{path}: {e}"),
        Err(e) => {
            warnings.push(format!("{path}: {e}"));
            Scan { level: 1, ..Scan::default() }
        }
    };
    let path_tables = img.check_path_tables();
    // What the reader warned of, in the order it read: opening, the tree, the path tables, the system area, then
    // the boot catalog.
    let mut read_warnings = early;
    read_warnings.extend(img.take_warnings());
    read_warnings.extend(system_area_warnings);
    let (has_mbr, has_gpt, has_apm) = match &system_area {
        Ok(sa) => (sa.mbr.is_some(), sa.gpt.is_some(), sa.apm.is_some()),
        Err(_) => (false, false, false),
    };
    let p = img.primary().clone();
    let mut j = descriptor_json(&p);
    let formats = json!({
        "iso9660_level": s.level,
        "relaxed_names": s.relaxed_names,
        "joliet_level": img.joliet().and_then(|d| d.joliet_level()),
        "rock_ridge": img.rock_ridge(),
        "iso9660_1999": img.enhanced().is_some(),
        "el_torito": img.boot_record().is_some_and(|b| b.is_el_torito()),
        "zisofs": s.zisofs,
        "mbr": has_mbr,
        "gpt": has_gpt,
        "apm": has_apm,
    });
    if let Value::Object(m) = &mut j {
        m.insert("formats".into(), formats.clone());
        m.insert("session_start".into(), opts.session_start.into());
        m.insert("entries".into(), s.entries.into());
        m.insert(
            "path_table".into(),
            match &path_tables {
                Ok(n) => json!({"directories": n}),
                Err(e) => json!({"error": e.to_string()}),
            },
        );
        if let Some(jd) = img.joliet() {
            m.insert("joliet".into(), descriptor_json(jd));
        }
        let parts: Vec<Value> = img
            .partitions()
            .iter()
            .map(|pd| {
                json!({"system_id": identifier_text(&pd.system_id), "partition_id": identifier_text(&pd.partition_id),
                       "location": pd.location.value(), "size": pd.size.value()})
            })
            .collect();
        if !parts.is_empty() {
            m.insert("volume_partitions".into(), parts.into());
        }
    }
    let mut text = String::from("ISO 9660\n");
    let t = |o: Option<DateTime<Utc>>| o.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or("-".into());
    let mut fmts = vec![format!("ISO 9660 level {}{}", s.level, if s.relaxed_names { " (relaxed names)" } else { "" })];
    if let Some(l) = img.joliet().and_then(|d| d.joliet_level()) {
        fmts.push(format!("Joliet level {l}"));
    }
    if let Some(v) = img.rock_ridge() {
        fmts.push(format!("Rock Ridge {v}"));
    }
    if img.enhanced().is_some() {
        fmts.push("ISO 9660:1999".into());
    }
    if img.boot_record().is_some_and(|b| b.is_el_torito()) {
        fmts.push("El Torito".into());
    }
    if s.zisofs {
        fmts.push("zisofs".into());
    }
    for (present, name) in [(has_mbr, "MBR"), (has_gpt, "GPT"), (has_apm, "Apple partition map")] {
        if present {
            fmts.push(name.into());
        }
    }
    let _ = writeln!(text, "  Formats: {}", fmts.join(", "));
    for (label, v) in [
        ("Volume id", p.text(&p.volume_id)),
        ("System id", p.text(&p.system_id)),
        ("Volume set id", p.text(&p.volume_set_id)),
        ("Publisher", p.text(&p.publisher_id)),
        ("Preparer", p.text(&p.preparer_id)),
        ("Application", p.text(&p.application_id)),
        ("Created", t(p.creation_time())),
        ("Modified", t(p.modification_time())),
        ("Expires", t(p.expiration_time())),
        ("Effective", t(p.effective_time())),
    ] {
        let _ = writeln!(text, "  {label}: {v}");
    }
    let _ = writeln!(
        text,
        "  Volume space size: {} blocks of {} bytes ({} bytes)",
        p.volume_space_size.value(),
        p.logical_block_size.value(),
        u64::from(p.volume_space_size.value()) * u64::from(p.logical_block_size.value())
    );
    if opts.session_start != 0 {
        let _ = writeln!(text, "  Session start: LBA {}", opts.session_start);
    }
    if let Some(jd) = img.joliet() {
        let _ = writeln!(text, "  Joliet volume id: {}", jd.text(&jd.volume_id));
    }
    match &path_tables {
        Ok(n) => {
            let _ = writeln!(text, "  Path table: {n} directories");
        }
        Err(e) => {
            let _ = writeln!(text, "  Path table: unreadable ({e})");
        }
    }
    let mut out = vec![InfoSection { key: "iso9660", json: j, text }];
    match img.boot_catalog() {
        Ok(Some((lba, cat))) => out.push(el_torito_section(lba, &cat, &s, img.image_len())),
        Ok(None) => {}
        Err(e) if opts.strict => bail!("{path}: {e}"),
        Err(e) => {
            let lba = img.boot_record().map_or(0, |b| b.catalog_lba);
            out.push(InfoSection {
                key: "el_torito",
                json: json!({"catalog_lba": lba, "error": e.to_string()}),
                text: format!("El Torito\n  Catalog: LBA {lba}, unreadable ({e})\n"),
            });
            warnings.push(format!("{path}: {e}"));
        }
    }
    match sessions_section(src, opts) {
        Ok(section) => out.extend(section),
        Err(e) => warnings.push(format!("sessions: {e:#}")),
    }
    match system_area {
        Ok(sa) => out.extend(system_area_section(&sa)),
        Err(e) => warnings.push(format!("{path}: {e}")),
    }
    read_warnings.extend(img.take_warnings());
    warnings.extend(read_warnings.into_iter().map(|w| format!("{path}: {w}")));
    Ok(out)
}

fn create_replacing(path: &Path) -> Result<fs::File> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!("{}: a directory is in the way", path.display()),
        Ok(_) => fs::remove_file(path).with_context(|| format!("cannot replace {}", path.display()))?,
        Err(_) => {}
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

fn copy_range(src: &mut Source, lba: u64, len: u64, out: &Path) -> Result<()> {
    let mut f = create_replacing(out)?;
    src.seek(SeekFrom::Start(lba * SECTOR))?;
    let n = io::copy(&mut src.by_ref().take(len), &mut f)?;
    if n != len {
        bail!("{}: only {n} of {len} bytes could be read", out.display());
    }
    f.flush()?;
    Ok(())
}

/// `odix extract --boot DIR`: writes the boot catalog (`boot.catalog`, its first sector) and each boot image
/// (`boot-N-PLATFORM-EMULATION.img`) into DIR, and writes one line for each to `out`; the reader's warnings go
/// to `warn`.
///
/// A boot image is as long as the file of the ISO tree whose data starts at its LBA; when no file does
/// (an appended partition, say), it is the entry's sector count × 512 bytes.
pub(crate) fn extract_boot(
    src: &ImageSource,
    opts: &ReadOptions,
    opened: Opened,
    dir: &Path,
    out: &mut dyn Write,
    warn: &mut dyn FnMut(String),
) -> Result<u8> {
    let path = src.path().display().to_string();
    let Opened { mut img, early, .. } = opened;
    for w in early {
        warn(format!("{path}: {w}"));
    }
    let Some((cat_lba, cat)) = img.boot_catalog().map_err(|e| anyhow!("{path}: {e}"))? else {
        bail!("{path}: no El Torito boot catalog");
    };
    let s = scan(&mut img, opts.limits.max_total_entries).map_err(|e| anyhow!("{path}: {e}"))?;
    let image_len = img.image_len();
    for w in img.take_warnings() {
        warn(format!("{path}: {w}"));
    }
    drop(img);
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut reader = src.open()?;
    let cat_file: PathBuf = dir.join("boot.catalog");
    copy_range(&mut reader, cat_lba, SECTOR, &cat_file)?;
    writeln!(out, "boot.catalog: LBA {cat_lba}, {SECTOR} bytes")?;
    for (i, e) in cat.entries.iter().enumerate() {
        let (img_path, bytes) = boot_image(e, &s, image_len);
        let name = format!(
            "boot-{}-{}-{}.img",
            i + 1,
            platform_name(e.platform_id).to_ascii_lowercase(),
            emulation_name(e.media_type).replace('.', "")
        );
        copy_range(&mut reader, u64::from(e.load_rba), bytes, &dir.join(&name))?;
        writeln!(
            out,
            "{name}: LBA {}, {bytes} bytes{}",
            e.load_rba,
            img_path
                .map(|p| format!(" ({p})"))
                .unwrap_or_else(|| format!(" ({} sectors of 512 bytes)", e.sector_count))
        )?;
    }
    Ok(0)
}

//! Adapter from odix-udf to the CLI: the UDF view as a [`Tree`] and the `udf` section of `odix info`.
//!
//! Node extents are physical blocks of the volume: with 2048-byte blocks (every optical disc) they are the
//! image's LBAs; on 512- or 4096-byte disk images they count blocks of that size. `link_id` is the ICB address
//! a name points at (`partition << 32 | block`), so the names of one hard-linked file share it.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use odix_udf::format::ad::LbAddr;
use odix_udf::format::partition::PartitionMap;
use odix_udf::read::MappingKind;
use odix_udf::{Entry, Volume};
use serde_json::{json, Value};

use super::options::{InfoSection, ReadOptions};
use crate::source::{ImageSource, Source};
use crate::view::{Extent, Kind, Node, PastEnd, Tree, Warning};

/// Most extents listed for one file (a fragmented file on a VAT disc can have one per block).
const MAX_NODE_EXTENTS: usize = 4096;

fn lib_options(opts: &ReadOptions) -> odix_udf::Options {
    let l = &opts.limits;
    odix_udf::Options::default().strict(opts.strict).session_start(opts.session_start).limits(
        odix_udf::Limits::default()
            .max_dir_entries(l.max_dir_entries)
            .max_continuations(l.max_continuations)
            .max_indirect(l.max_continuations)
            .max_alloc(l.max_alloc),
    )
}

/// The image's sectors: a plain file is read directly (the reader does its own block-sized reads, and a
/// buffered reader would throw its buffer away at every seek), anything else through the source.
fn reader(src: &ImageSource) -> Result<Source> {
    src.open_unbuffered()
}

/// Opens the UDF volume at the session start.
pub(crate) fn open_volume(src: &ImageSource, opts: &ReadOptions) -> Result<Volume<Source>> {
    Volume::open(reader(src)?, lib_options(opts)).map_err(|e| anyhow!("{}: UDF: {e}", src.path().display()))
}

/// Whether a UDF volume is present: a recognition sequence with NSR02/NSR03 and an anchor.
pub(crate) fn probe(src: &ImageSource, opts: &ReadOptions) -> Result<bool> {
    Ok(Volume::probe(reader(src)?, opts.session_start).unwrap_or(false))
}

/// The UDF view of the opened volume.
pub(crate) fn tree(mut vol: Volume<Source>, src: &ImageSource, opts: &ReadOptions) -> Result<Box<dyn Tree>> {
    let path = src.path().display().to_string();
    let early = vol.take_warnings().into_iter().map(|w| Warning(format!("{path}: {w}"))).collect();
    Ok(Box::new(UdfTree { vol, path, early, strict: opts.strict, direct: src.is_direct() }))
}

struct UdfTree {
    vol: Volume<Source>,
    path: String,
    early: Vec<Warning>,
    strict: bool,
    /// Whether the volume is read straight from the file named (physical byte offsets are offsets in it).
    direct: bool,
}

/// A file reader whose "data past the end of the image" error is the CLI's [`PastEnd`].
struct PastEndReader<R>(R);

impl<R: Read> Read for PastEndReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| match odix_udf::read::DataPastEnd::of(&e) {
            Some(p) => PastEnd { missing: p.missing }.into_io(),
            None => e,
        })
    }
}

struct UdfHandle {
    entry: Entry,
}

fn link_id(icb: LbAddr) -> u64 {
    (u64::from(icb.partition) << 32) | u64::from(icb.block)
}

impl UdfTree {
    fn node(&mut self, name: String, entry: Entry) -> Result<Node> {
        let (kind, target) = if entry.is_dir() {
            (Kind::Dir, None)
        } else if entry.is_symlink() {
            let t = self.vol.read_link(&entry).map_err(|e| anyhow!("symbolic link {name:?}: {e}"))?;
            (Kind::Symlink, Some(OsString::from(t)))
        } else if entry.is_file() {
            (Kind::File, None)
        } else {
            (Kind::Other, None)
        };
        let extents = match kind {
            Kind::File | Kind::Dir => self
                .vol
                .physical_extents(&entry, MAX_NODE_EXTENTS)
                .map_err(|e| anyhow!("{name:?}: {e}"))?
                .into_iter()
                .map(|(lba, length)| Extent { lba, length })
                .collect(),
            _ => Vec::new(),
        };
        if kind == Kind::File {
            // A truncated image, or data recorded beyond its end: the file is listed, with a warning. The extents
            // just mapped tell, unless there were too many to keep.
            let (bs, len) = (u64::from(self.vol.info().block_size), self.vol.image_len());
            let missing = if extents.len() < MAX_NODE_EXTENTS {
                extents.iter().fold(0u64, |a, x: &Extent| {
                    a.saturating_add(x.length.saturating_sub(len.saturating_sub(x.lba.saturating_mul(bs))))
                })
            } else {
                self.vol.bytes_past_end(&entry).map_err(|e| anyhow!("{name:?}: {e}"))?
            };
            if missing > 0 {
                self.early.push(Warning(format!(
                    "{}: {name:?}: {missing} of its {} bytes lie past the end of the image ({} bytes)",
                    self.path,
                    entry.size(),
                    self.vol.image_len()
                )));
            }
        }
        let fe = &entry.file_entry;
        Ok(Node {
            name: OsString::from(name),
            kind,
            size: if kind == Kind::Dir { 0 } else { entry.size() },
            mtime: entry.mtime(),
            atime: entry.atime(),
            mode: Some(entry.mode()),
            uid: fe.owner(),
            gid: fe.group(),
            nlink: Some(u32::from(fe.link_count)),
            target,
            rdev: fe.device(),
            extents,
            link_id: Some(link_id(entry.icb)),
            handle: Arc::new(UdfHandle { entry }),
        })
    }

    fn entry_of<'n>(&self, node: &'n Node) -> Result<&'n Entry> {
        node.handle
            .downcast_ref::<UdfHandle>()
            .map(|h| &h.entry)
            .ok_or_else(|| anyhow!("{}: node does not belong to the UDF view", self.path))
    }
}

impl Tree for UdfTree {
    fn view_name(&self) -> &'static str {
        "udf"
    }

    fn root(&mut self) -> Result<Node> {
        let root = self.vol.root().map_err(|e| anyhow!("{}: UDF root directory: {e}", self.path))?;
        self.node(String::new(), root)
    }

    fn read_dir(&mut self, dir: &Node) -> Result<Vec<Node>> {
        let entry = self.entry_of(dir)?.clone();
        let names = self.vol.read_dir(&entry).map_err(|e| anyhow!("directory {:?}: {e}", dir.name))?;
        let names: Vec<_> = names.into_iter().filter(|c| !c.is_system_file()).collect();
        // The File Entries are read in the order they lie on the image (writers often record them in another
        // order than the names), so that each read-ahead window serves the next ones; the nodes keep the order
        // of the names.
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by_key(|&i| names.get(i).map(|c| (c.icb().partition, c.icb().block)));
        let mut entries: Vec<Option<odix_udf::Result<Entry>>> = (0..names.len()).map(|_| None).collect();
        for i in order {
            if let (Some(child), Some(slot)) = (names.get(i), entries.get_mut(i)) {
                *slot = Some(self.vol.entry(child));
            }
        }
        let mut out = Vec::with_capacity(names.len());
        for (child, read) in names.into_iter().zip(entries) {
            let Some(read) = read else { continue };
            let r = read.map_err(|e| anyhow!("{:?}: {e}", child.name)).and_then(|e| self.node(child.name, e));
            match r {
                Ok(n) => out.push(n),
                Err(e) if self.strict => return Err(e),
                Err(e) => {
                    let d = if dir.name.is_empty() { "/".into() } else { dir.name.to_string_lossy() };
                    self.early.push(Warning(format!("{}: in directory {d:?}: {e:#}; skipped", self.path)))
                }
            }
        }
        Ok(out)
    }

    fn open<'a>(&'a mut self, file: &Node) -> Result<Box<dyn Read + 'a>> {
        let entry = self.entry_of(file)?.clone();
        if entry.is_dir() {
            bail!("{:?}: is a directory", file.name);
        }
        Ok(Box::new(PastEndReader(self.vol.open_file(&entry)?)))
    }

    fn plain_ranges(&mut self, file: &Node) -> Option<Vec<(u64, u64)>> {
        if !self.direct || file.kind != Kind::File {
            return None;
        }
        let entry = file.handle.downcast_ref::<UdfHandle>().map(|h| &h.entry)?;
        self.vol.plain_ranges(entry, MAX_NODE_EXTENTS).ok().flatten()
    }

    fn streams(&mut self, node: &Node) -> Result<Vec<Node>> {
        let entry = self.entry_of(node)?;
        if !entry.has_streams() {
            return Ok(Vec::new());
        }
        let entry = entry.clone();
        let names = self.vol.streams(&entry).map_err(|e| anyhow!("named streams of {:?}: {e}", node.name))?;
        let mut out = Vec::with_capacity(names.len());
        for s in names {
            let e = self.vol.entry(&s).map_err(|e| anyhow!("named stream {:?}: {e}", s.name))?;
            out.push(self.node(s.name, e)?);
        }
        Ok(out)
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        let mut out = std::mem::take(&mut self.early);
        out.extend(self.vol.take_warnings().into_iter().map(|w| Warning(format!("{}: {w}", self.path))));
        out
    }
}

/// Where the ISO 9660 tree's metadata lies, when a primary volume descriptor is at the session start + 16.
fn iso_layout(src: &ImageSource, opts: &ReadOptions) -> Option<Value> {
    let mut r = reader(src).ok()?;
    let pvd_lba = opts.session_start.checked_add(16)?;
    r.seek(SeekFrom::Start(pvd_lba.checked_mul(2048)?)).ok()?;
    let mut pvd = [0u8; 2048];
    r.read_exact(&mut pvd).ok()?;
    if pvd.get(0..6)? != b"\x01CD001" {
        return None;
    }
    let le32 = |at: usize| pvd.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
    Some(json!({
        "primary_volume_descriptor": pvd_lba,
        "volume_space_blocks": le32(80)?,
        "path_table_l": le32(140)?,
        "path_table_size": le32(132)?,
        "root_directory": { "lba": le32(158)?, "length": le32(166)? },
    }))
}

/// The `udf` section of `odix info` (which lists the reader's warnings in its JSON); the warnings also go to
/// `warn_out`.
pub(crate) fn info(
    src: &ImageSource,
    opts: &ReadOptions,
    mut vol: Volume<Source>,
    warn_out: &mut Vec<String>,
) -> Result<Vec<InfoSection>> {
    let root_phys = {
        let root = vol.info().file_set.root_directory_icb.location;
        vol.physical_block(root)
    };
    let fsd_phys = vol.physical_block(vol.info().file_set_location);
    let system_streams = vol.system_streams().map(|s| s.len()).unwrap_or(0);
    let warnings = vol.take_warnings();
    let i = vol.info();
    let maps: Vec<Value> = i
        .logical
        .maps
        .iter()
        .enumerate()
        .map(|(r, m)| {
            let number = m.partition_number();
            let pd = number.and_then(|n| i.partitions.iter().find(|p| p.number == n));
            let mut o = json!({
                "reference": r,
                "type": m.kind_name(),
                "partition_number": number,
                "start": pd.map(|p| p.start),
                "length": pd.map(|p| p.length),
                "access_type": pd.map(|p| p.access_type),
            });
            match m {
                PartitionMap::Sparable { packet_length, table_locations, .. } => {
                    o["packet_length"] = json!(packet_length);
                    o["sparing_tables"] = json!(table_locations);
                    o["remapped_packets"] = json!(i.sparing.map(|s| s.1));
                }
                PartitionMap::Metadata { metadata_file, mirror_file, .. } => {
                    o["metadata_file"] = json!(metadata_file);
                    o["mirror_file"] = json!(mirror_file);
                    o["mirror_used"] = json!(i.metadata_mirror_used);
                }
                PartitionMap::Virtual { .. } => {
                    if let Some(v) = &i.vat {
                        o["vat_location"] = json!(v.location);
                        o["vat_entries"] = json!(v.table.entries.len());
                        o["vat_form"] = json!(if v.table.header.is_some() { "2.00" } else { "1.50" });
                    }
                }
                _ => {}
            }
            if i.map_kinds.get(r) == Some(&MappingKind::Unreadable) {
                o["readable"] = json!(false);
            }
            o
        })
        .collect();
    let counts = i.counts();
    let lvid = i.integrity.as_ref().map(|(b, _)| *b);
    let udf_layout = json!({
        "anchors": i.anchors,
        "main_vds": [i.anchor.main.location, i.anchor.main.length],
        "reserve_vds": [i.anchor.reserve.location, i.anchor.reserve.length],
        "integrity_descriptor": lvid,
        "file_set_descriptor": fsd_phys,
        "root_directory_icb": root_phys,
        "partitions": i.partitions.iter().map(|p| json!([p.start, p.length])).collect::<Vec<_>>(),
    });
    let iso = iso_layout(src, opts);
    let mut json = json!({
        "revision": i.revision_string(),
        "volume_id": i.primary.volume_id(),
        "volume_set_id": i.primary.volume_set_id(),
        "logical_volume_id": i.logical.logical_volume_id(),
        "file_set_id": i.file_set.file_set_id(),
        "block_size": i.block_size,
        "nsr": i.recognition.nsr,
        "partition_maps": maps,
        "integrity": i.integrity_state(),
        "files": counts.map(|c| c.0),
        "directories": counts.map(|c| c.1),
        "next_unique_id": i.next_unique_id(),
        "used_reserve_vds": i.used_reserve_sequence,
        "system_streams": system_streams,
        "recorded": i.primary.recording_time.to_utc().map(|t| t.to_rfc3339()),
        "implementation": i.primary.implementation_identifier.display(),
        "layout": udf_layout,
        "warnings": warnings,
    });
    if let Some(lv) = &i.lv_info {
        json["lv_info"] = json!(lv.info_strings());
    }
    if let Some(iso) = &iso {
        json["bridge"] = json!({ "iso9660": iso, "udf": udf_layout });
    }

    let mut t = String::new();
    let _ = writeln!(t, "UDF:");
    let _ = writeln!(t, "  Revision: {}", i.revision_string());
    let _ = writeln!(t, "  Volume id: {}", i.primary.volume_id());
    let _ = writeln!(t, "  Logical volume id: {}", i.logical.logical_volume_id());
    let _ = writeln!(t, "  Volume set id: {}", i.primary.volume_set_id());
    if !i.file_set.file_set_id().is_empty() {
        let _ = writeln!(t, "  File set id: {}", i.file_set.file_set_id());
    }
    let _ = writeln!(t, "  Block size: {}", i.block_size);
    for (r, m) in i.logical.maps.iter().enumerate() {
        let number = m.partition_number();
        let pd = number.and_then(|n| i.partitions.iter().find(|p| p.number == n));
        let place = pd.map(|p| format!(" at block {} ({} blocks)", p.start, p.length)).unwrap_or_default();
        let extra = match m {
            PartitionMap::Sparable { packet_length, table_locations, .. } => format!(
                ", packets of {packet_length}, sparing tables at {table_locations:?}, {} packets remapped",
                i.sparing.map_or(0, |s| s.1)
            ),
            PartitionMap::Metadata { metadata_file, mirror_file, .. } => format!(
                ", metadata file at {metadata_file}, mirror at {mirror_file}{}",
                if i.metadata_mirror_used { " (mirror in use)" } else { "" }
            ),
            PartitionMap::Virtual { .. } => i
                .vat
                .as_ref()
                .map(|v| {
                    format!(
                        ", VAT ({} form) at block {}, {} entries",
                        if v.table.header.is_some() { "2.00" } else { "1.50" },
                        v.location,
                        v.table.entries.len()
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        let num = number.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(t, "  Partition map {r}: {} partition {num}{place}{extra}", m.kind_name());
    }
    let _ = writeln!(t, "  Integrity: {}", i.integrity_state().unwrap_or_else(|| "none recorded".into()));
    if let Some((f, d)) = counts {
        let _ = writeln!(t, "  Files: {f}");
        let _ = writeln!(t, "  Directories: {d}");
    }
    if let Some(n) = i.next_unique_id() {
        let _ = writeln!(t, "  Next unique id: {n}");
    }
    if i.used_reserve_sequence {
        let _ = writeln!(t, "  Volume descriptors: main sequence damaged, reserve sequence used");
    }
    if system_streams > 0 {
        let _ = writeln!(t, "  System streams: {system_streams}");
    }
    if let Some(iso) = &iso {
        let _ = writeln!(t, "  Bridge layout (ISO 9660 and UDF share the image):");
        let _ = writeln!(
            t,
            "    ISO 9660: volume descriptors from LBA {}, path table at LBA {}, root directory at LBA {}",
            iso["primary_volume_descriptor"], iso["path_table_l"], iso["root_directory"]["lba"]
        );
        let _ = writeln!(
            t,
            "    UDF: volume descriptors at {}-{} (reserve {}), integrity at {}, file set at {}, root ICB at {}, anchors at {:?}",
            i.anchor.main.location,
            u64::from(i.anchor.main.location) + u64::from(i.anchor.main.length) / u64::from(i.block_size.max(1)),
            i.anchor.reserve.location,
            lvid.map_or_else(|| "-".into(), |b| b.to_string()),
            fsd_phys.map_or_else(|| "-".into(), |b| b.to_string()),
            root_phys.map_or_else(|| "-".into(), |b| b.to_string()),
            i.anchors
        );
    }
    let path = src.path().display();
    warn_out.extend(warnings.iter().map(|w| format!("{path}: {w}")));
    Ok(vec![InfoSection { key: "udf", json, text: t }])
}

//! The UDF side of a build: a bridge image (ISO 9660 and UDF trees over one copy of the file data) or a UDF-only
//! image, in any revision, with the DVD-Video layout when asked for.
//!
//! The UDF structures plug into the ISO image plan (see [`crate::mastering`]): the recognition sequence after the
//! ISO set terminator, a zero gap up to block 256, the anchor with both descriptor sequences and the integrity
//! sequence at 256, the UDF metadata at the partition start (before the ISO hierarchy, which then lies inside
//! the UDF partition with the file data), and after the data the metadata mirror and the closing anchors. The UDF
//! layout is fixed once the plan has placed every data item; the producers read it then.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use odix_iso9660::write::{DeviceKind, IsoLayout, NodeKind as IsoKind, Tree as IsoTree, SECTOR, SYSTEM_AREA_SECTORS};
use odix_udf::write::{
    self as udf, DataId, Placement, Revision, UdfLayout, UdfOptions, UdfPlanner, ANCHOR_BLOCK, HEAD_END, VRS_BLOCKS,
};

use crate::mastering::image::ImageExtras;
use crate::mastering::plan::{Content, EmitCtx, Plan, Producer};
use crate::mastering::walk::DataTable;
use crate::mastering::warning::BuildWarning;

/// Sort patterns placing the VIDEO_TS files first, in player order, for the walker's data order (DVD-Video).
pub fn dvd_video_sort_patterns() -> Vec<(String, i64)> {
    let mut names = vec!["VIDEO_TS.IFO".to_string(), "VIDEO_TS.VOB".into(), "VIDEO_TS.BUP".into()];
    for t in 1..=99 {
        names.push(format!("VTS_{t:02}_0.IFO"));
        for k in 0..=9 {
            names.push(format!("VTS_{t:02}_{k}.VOB"));
        }
        names.push(format!("VTS_{t:02}_0.BUP"));
    }
    names
        .into_iter()
        .filter_map(|n| udf::dvd_video_rank(&n).map(|r| (format!("**/VIDEO_TS/{n}"), 1_000_000 - i64::from(r))))
        .collect()
}

/// The UDF tree of a walked ISO tree: the same names, kinds, metadata and data items. Hard links (nodes
/// sharing a nonzero serial) become names of one entry. Returns the tree and the number of nodes left out
/// (none unless the ISO tree holds a kind UDF cannot record).
///
/// With `reproducible` (`SOURCE_DATE_EPOCH` set), the access time recorded is the modification time: reading the
/// sources for one build changes their access times, which would make the next build differ. Names UDF cannot
/// record as they are (not UTF-8, too long) are said in `warnings`, once per kind.
pub fn udf_tree(
    iso: &IsoTree,
    dvd_video: bool,
    reproducible: bool,
    warnings: &mut Vec<BuildWarning>,
) -> Result<(udf::Tree, usize)> {
    let conv = |id| -> Result<udf::Meta> {
        let m = iso.meta(id).context("node without metadata")?;
        Ok(udf::Meta {
            perm: m.perm & 0o7777,
            uid: m.uid,
            gid: m.gid,
            atime: udf::Time::from_secs(if reproducible { m.mtime } else { m.atime }),
            mtime: udf::Time::from_secs(m.mtime),
            ctime: udf::Time::from_secs(m.ctime),
            crtime: None,
        })
    };
    let mut t = udf::Tree::new(conv(IsoTree::ROOT)?);
    let mut map: HashMap<u32, udf::NodeId> = HashMap::new();
    map.insert(IsoTree::ROOT.0, udf::Tree::ROOT);
    let mut links: HashMap<u32, udf::NodeId> = HashMap::new();
    let mut skipped = 0;
    // Names UDF cannot record as they are: (count, first path) for names that are not UTF-8 and for names over
    // 255 bytes of CS0, said once each at the end.
    let mut not_utf8: (u64, String) = (0, String::new());
    let mut too_long: (u64, String) = (0, String::new());
    let note = |what: &mut (u64, String), id| {
        if what.0 == 0 {
            what.1 = iso_path(iso, id);
        }
        what.0 += 1;
    };
    for id in iso.ids().skip(1) {
        // Hidden from UDF (mkisofs -hide-udf): the entry, and below a hidden directory everything, stays out.
        if iso.hidden(id).udf || iso.parent(id).is_some_and(|p| p != IsoTree::ROOT && !map.contains_key(&p.0)) {
            continue;
        }
        let parent = iso.parent(id).and_then(|p| map.get(&p.0).copied()).context("entry outside the tree")?;
        let raw = iso.name(id).unwrap_or_default();
        let mut name = String::from_utf8_lossy(raw).into_owned();
        if std::str::from_utf8(raw).is_err() {
            note(&mut not_utf8, id);
        }
        if udf::encoded_len(&name) > udf::MAX_NAME_BYTES {
            note(&mut too_long, id);
            name = shorten(&t, parent, &name);
        }
        let meta = conv(id)?;
        let ino = iso.meta(id).map_or(0, |m| m.ino);
        let kind = match iso.kind(id) {
            Some(IsoKind::Dir) => udf::NodeKind::Dir,
            Some(IsoKind::File(fd)) => {
                if let Some(&first) = links.get(&ino).filter(|_| ino != 0) {
                    t.add_hard_link(parent, &name, first).with_context(|| format!("UDF tree: {name}"))?;
                    continue;
                }
                udf::NodeKind::File { data: DataId(fd.data.0), size: fd.stored_size }
            }
            Some(IsoKind::Symlink(target)) => udf::NodeKind::Symlink(target.clone()),
            Some(IsoKind::Device { kind, major, minor }) => {
                udf::NodeKind::Device { block: matches!(kind, DeviceKind::Block), major: *major, minor: *minor }
            }
            Some(IsoKind::Fifo) => udf::NodeKind::Fifo,
            Some(IsoKind::Socket) => udf::NodeKind::Socket,
            None => {
                skipped += 1;
                continue;
            }
        };
        let is_file = matches!(kind, udf::NodeKind::File { .. });
        let new = t.add(parent, &name, kind, meta).with_context(|| format!("UDF tree: {name}"))?;
        map.insert(id.0, new);
        if is_file && ino != 0 {
            links.insert(ino, new);
        }
    }
    if not_utf8.0 > 0 {
        let (count, example) = not_utf8;
        warnings.push(BuildWarning::UdfNotUtf8 { count, example });
    }
    if too_long.0 > 0 {
        let (count, example) = too_long;
        warnings.push(BuildWarning::UdfNameTooLong { count, example });
    }
    if dvd_video {
        udf::sort_for_dvd_video(&mut t);
    }
    Ok((t, skipped))
}

/// The image path of `id`, for messages.
fn iso_path(iso: &IsoTree, id: odix_iso9660::write::NodeId) -> String {
    let mut parts = Vec::new();
    let mut cur = id;
    while cur != IsoTree::ROOT {
        parts.push(String::from_utf8_lossy(iso.name(cur).unwrap_or_default()).into_owned());
        match iso.parent(cur) {
            Some(p) if p != cur => cur = p,
            _ => break,
        }
    }
    parts.reverse();
    format!("/{}", parts.join("/"))
}

/// A name of at most 255 bytes of CS0 for `name`, unique in directory `dir`: cut, then `~N` appended.
fn shorten(t: &udf::Tree, dir: udf::NodeId, name: &str) -> String {
    let mut base: String = name.to_string();
    for n in 1u32.. {
        let suffix = format!("~{n}");
        while !base.is_empty() && udf::encoded_len(&format!("{base}{suffix}")) > udf::MAX_NAME_BYTES {
            base.pop();
        }
        let candidate = format!("{base}{suffix}");
        if t.lookup(dir, &candidate).is_none() {
            return candidate;
        }
    }
    name.to_string()
}

/// The UDF volume label from the ISO volume id: at most 30 characters (a 32-byte d-string).
pub fn udf_label(volume_id: &str) -> String {
    volume_id.chars().take(30).collect()
}

/// UDF options for a build at time `now` (seconds; `SOURCE_DATE_EPOCH` when set).
pub fn udf_options(revision: Revision, label: &str, now: i64) -> UdfOptions {
    UdfOptions::default()
        .revision(revision)
        .volume_id(udf_label(label))
        .application(format!("*odix {}", env!("CARGO_PKG_VERSION")))
        .recording_time(udf::Time::from_secs(now))
}

/// The UDF half of a bridge image, or of a UDF-only image: sizes known from the tree, the layout fixed by
/// [`Bridge::place`] once the plan has placed the data, then read by the producers.
pub struct Bridge<'t> {
    planner: std::cell::RefCell<Option<UdfPlanner<'t>>>,
    layout: OnceCell<UdfLayout<'t>>,
    pub(crate) metadata_blocks: u32,
    pub(crate) mirror_blocks: u32,
    pub(crate) tail_blocks: u32,
    /// For a VAT session: its first block and the start of the physical partition it extends.
    vat: Option<(u32, u32)>,
}

impl<'t> Bridge<'t> {
    /// Plans the UDF structures of `tree`; `data` tells how many blocks the file data will take (for the
    /// choice of the tail).
    pub fn new(tree: &'t udf::Tree, opts: UdfOptions, data: &DataTable) -> Result<Self> {
        if data.items().iter().any(|i| i.zisofs.is_some()) {
            bail!("UDF cannot share zisofs-compressed file data: drop --zisofs or the UDF options");
        }
        let planner = UdfPlanner::new(tree, opts).context("planning the UDF file system")?;
        let data_blocks: u64 = data
            .items()
            .iter()
            .enumerate()
            .filter(|(i, _)| data.alias.get(*i).copied() == Some(*i as u32))
            .map(|(_, d)| d.stored_size.div_ceil(SECTOR as u64))
            .sum();
        let metadata_blocks = planner.metadata_blocks();
        let mirror_blocks = planner.mirror_blocks();
        let least_tail_start =
            u64::from(HEAD_END) + u64::from(metadata_blocks) + u64::from(mirror_blocks) + data_blocks;
        let tail_blocks = planner.tail_blocks(least_tail_start);
        Ok(Bridge {
            planner: std::cell::RefCell::new(Some(planner)),
            layout: OnceCell::new(),
            metadata_blocks,
            mirror_blocks,
            tail_blocks,
            vat: None,
        })
    }

    /// The bridge recorded as a session starting at block `session` of a sequentially recorded medium whose UDF
    /// physical partition starts at `partition_start` (the options must have a virtual partition): the tail ends
    /// with the Virtual Allocation Table.
    pub fn in_vat_session(mut self, session: u32, partition_start: u32) -> Result<Self> {
        let tail = {
            let guard = self.planner.borrow();
            let p = guard.as_ref().context("UDF plan already placed")?;
            p.vat_tail_blocks().context("planning the UDF session")?
        };
        self.tail_blocks = tail;
        self.vat = Some((session, partition_start));
        Ok(self)
    }

    pub(crate) fn producer<'a>(
        &'a self,
        f: fn(&UdfLayout<'t>, &mut &mut dyn Write) -> Result<(), udf::WriteError>,
    ) -> Producer<'a> {
        Box::new(move |_ctx: &EmitCtx<'_>, mut out: &mut dyn Write| {
            let layout = self.layout.get().context("UDF layout used before it was placed")?;
            f(layout, &mut out)?;
            Ok(())
        })
    }

    pub(crate) fn vrs(&self) -> Result<Vec<Vec<u8>>> {
        let guard = self.planner.borrow();
        let p = guard.as_ref().context("UDF plan already placed")?;
        let nsr: &[u8; 5] = if p.options().get_revision().nsr03() { b"NSR03" } else { b"NSR02" };
        Ok([b"BEA01", nsr, b"TEA01"]
            .iter()
            .map(|id| {
                let mut s = vec![0u8; SECTOR];
                s[1..6].copy_from_slice(&id[..]);
                s[6] = 1;
                s
            })
            .collect())
    }

    /// Adds the UDF structures to the extras of an ISO plan for `layout`: the recognition sequence after the set
    /// terminator, a gap up to block 256, the anchor and descriptor sequences, the UDF metadata, and (last in the
    /// image) the mirror and the closing anchors. Call it after every other format has added its extras.
    pub fn add_to<'a>(&'a self, extras: &mut ImageExtras<'a>, layout: &IsoLayout<'_>) -> Result<()> {
        let vrs = self.vrs()?;
        let descriptors = 1
            + extras.after_primary.len() as u64
            + u64::from(layout.descriptor_count().saturating_sub(1))
            + 1
            + extras.after_terminator.len() as u64
            + u64::from(VRS_BLOCKS);
        let before: u64 = extras.metadata.iter().map(|(_, n, _)| *n).sum();
        let cursor = u64::from(SYSTEM_AREA_SECTORS) + descriptors + before;
        let gap = u64::from(ANCHOR_BLOCK)
            .checked_sub(cursor)
            .context("the volume descriptors and boot structures reach past block 256, where UDF needs its anchor")?;
        for (name, s) in VRS_NAMES.into_iter().zip(vrs) {
            extras.after_terminator.push((name.into(), Content::Bytes(s)));
        }
        extras.metadata.push(("gap before the UDF anchor".into(), gap, Content::Zeros));
        extras.metadata.push((
            HEAD.into(),
            u64::from(HEAD_END - ANCHOR_BLOCK),
            Content::Producer(self.producer(|l, w| l.write_head(w))),
        ));
        extras.metadata.push((
            METADATA.into(),
            u64::from(self.metadata_blocks),
            Content::Producer(self.producer(|l, w| l.write_metadata(w))),
        ));
        if self.mirror_blocks > 0 {
            extras.appended.push((
                MIRROR.into(),
                u64::from(self.mirror_blocks),
                Content::Producer(self.producer(|l, w| l.write_mirror(w))),
            ));
        }
        extras.appended.push((
            TAIL.into(),
            u64::from(self.tail_blocks),
            Content::Producer(self.producer(|l, w| l.write_tail(w))),
        ));
        Ok(())
    }

    /// Fixes the UDF layout from the regions of `plan` (found by name) and the data item positions.
    pub fn place(&self, plan: &Plan<'_>, data_lba: &[u32], alias: &[u32]) -> Result<()> {
        let planner = self.planner.borrow_mut().take().context("UDF plan already placed")?;
        let find = |name: &str| plan.regions().iter().find(|r| r.what == name).map(|r| r.lba);
        let vrs = find(VRS_NAMES[0]).context("the plan lost the UDF recognition sequence")?;
        let session = self.vat.map_or(0, |(s, _)| s);
        if find(HEAD) != Some(session + ANCHOR_BLOCK) {
            bail!("the UDF anchor was planned at {:?}, not at block {}", find(HEAD), session + ANCHOR_BLOCK);
        }
        let partition_start = find(METADATA).context("the plan lost the UDF metadata")?;
        let tail_start = find(TAIL).context("the plan lost the UDF anchors")?;
        if u64::from(tail_start) + u64::from(self.tail_blocks) != plan.total_sectors() {
            bail!("the UDF closing anchors are not at the end of the image");
        }
        let mirror = if self.mirror_blocks > 0 { find(MIRROR).context("the plan lost the UDF mirror")? } else { 0 };
        let lookup = |d: DataId| {
            let real = alias.get(d.0 as usize).copied().unwrap_or(d.0);
            data_lba.get(real as usize).copied()
        };
        if let Some((session, partition_start)) = self.vat {
            let layout = planner
                .place_vat(&udf::VatPlacement {
                    session,
                    vrs,
                    partition_start,
                    metadata: partition_start_found(partition_start, find(METADATA))?,
                    tail_start,
                    data: &lookup,
                })
                .context("placing the UDF session")?;
            return self.layout.set(layout).map_err(|_| anyhow::anyhow!("UDF layout placed twice"));
        }
        let layout = planner
            .place(&Placement {
                vrs,
                partition_start,
                mirror,
                tail_start,
                tail_blocks: self.tail_blocks,
                data: &lookup,
            })
            .context("placing the UDF file system")?;
        self.layout.set(layout).map_err(|_| anyhow::anyhow!("UDF layout placed twice"))
    }
}

/// The metadata area's block in a VAT session, which must follow the partition start.
fn partition_start_found(partition_start: u32, metadata: Option<u32>) -> Result<u32> {
    let m = metadata.context("the plan lost the UDF metadata")?;
    if m < partition_start {
        bail!("the UDF metadata at block {m} lies before the partition start {partition_start}");
    }
    Ok(m)
}

pub(crate) const VRS_NAMES: [&str; 3] = ["UDF BEA01", "UDF NSR", "UDF TEA01"];
pub(crate) const HEAD: &str = "UDF anchor and volume descriptor sequences";
pub(crate) const METADATA: &str = "UDF file system";
pub(crate) const MIRROR: &str = "UDF metadata mirror";
pub(crate) const TAIL: &str = "UDF closing anchors";

impl<'t> Bridge<'t> {
    /// The bridge of a UDF tree and its options, when there is one.
    pub fn for_tree(prepared: Option<&'t (udf::Tree, UdfOptions)>, data: &DataTable) -> Result<Option<Self>> {
        prepared.map(|(t, o)| Bridge::new(t, o.clone(), data)).transpose()
    }

    /// Fixes the layout from a planned bridge image.
    pub fn place_in(&self, planned: &crate::mastering::image::PlannedImage<'_>, alias: &[u32]) -> Result<()> {
        self.place(&planned.plan, &planned.data_lba, alias)
    }

    /// The extras of a bridge image that has nothing else to add.
    pub fn extras<'a>(&'a self, layout: &IsoLayout<'_>) -> Result<ImageExtras<'a>> {
        let mut e = ImageExtras::default();
        self.add_to(&mut e, layout)?;
        Ok(e)
    }
}

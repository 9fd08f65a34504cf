//! The image driver: turns a walked tree into a [`Plan`] (see the module docs of [`crate::mastering`] for the order
//! of regions and where boot and UDF structures plug in).

use anyhow::{Context, Result};
use odix_iso9660::write::{DataId, IsoLayout, IsoOptions, SECTOR, SYSTEM_AREA_SECTORS};

use super::plan::{Content, EmitCtx, Plan};
use super::walk::DataTable;

/// Structures other formats add to an ISO image. All are empty for a plain `mkiso`.
#[derive(Default)]
pub struct ImageExtras<'a> {
    /// Contents of the system area (LBA 0–15, at most 32 KiB), e.g. an MBR or GPT.
    pub system_area: Option<Content<'a>>,
    /// Volume descriptors placed right after the primary one (an El Torito boot record goes first: LBA 17).
    pub after_primary: Vec<(String, Content<'a>)>,
    /// Descriptors placed after the set terminator (one sector each; UDF `BEA01`, `NSR02`, `TEA01`).
    pub after_terminator: Vec<(String, Content<'a>)>,
    /// Metadata areas placed before the ISO hierarchy: `(what, sectors, content)`.
    pub metadata: Vec<(String, u64, Content<'a>)>,
    /// Regions placed after the ISO 9660 metadata, before the first data item: `(what, sectors, content)`.
    pub before_data: Vec<(String, u64, Content<'a>)>,
    /// Regions appended after the last data item: `(what, sectors, content)`.
    pub appended: Vec<(String, u64, Content<'a>)>,
    /// Where the image goes when it is a session appended to an existing image; `None` for an image of its own,
    /// from LBA 0.
    pub session: Option<SessionPlace<'a>>,
}

/// The place of a session appended to an image: its first LBA (its system area; its volume descriptors are at
/// `start + 16`), and the data items already on the medium, which keep their LBAs and are not written again.
pub struct SessionPlace<'a> {
    /// The first LBA of the session.
    pub start: u32,
    /// The LBA where a data item already lies on the medium, or `None` for an item the session writes.
    pub on_medium: &'a dyn Fn(DataId) -> Option<u32>,
}

/// A planned image: the plan, where data went, and the positions given to the extras.
pub struct PlannedImage<'a> {
    /// Every region of the image.
    pub plan: Plan<'a>,
    /// LBA of each data item (0 for empty or duplicated items).
    pub data_lba: Vec<u32>,
    /// The first LBA of the image: 0, or the start of an appended session.
    pub start: u32,
    /// LBAs given to `ImageExtras::metadata` and then `ImageExtras::appended` regions, in order (read by the
    /// structures that plugged them in).
    #[allow(dead_code)]
    pub extra_lbas: Vec<u32>,
}

impl PlannedImage<'_> {
    /// Total image size in bytes (for a session: of the session, from its start).
    pub fn size_bytes(&self) -> u64 {
        (self.plan.total_sectors() - u64::from(self.start)) * SECTOR as u64
    }
}

/// Plans every sector of the image for `layout` (sized, not yet placed) and `data`.
///
/// For a session ([`ImageExtras::session`]) every LBA is counted from LBA 0 of the medium, as a multi-session
/// reader expects, and the volume descriptors record the session's size from its start (as xorriso does for a
/// later session); data items already on the medium are not planned, their extents point where they lie.
pub fn plan_image<'a>(
    layout: &'a mut IsoLayout<'_>,
    data: &DataTable,
    mut extras: ImageExtras<'a>,
) -> Result<PlannedImage<'a>> {
    let session = extras.session.take();
    let session_start = session.as_ref().map_or(0, |s| s.start);
    // Positions first (the layout is borrowed mutably only while placing).
    let mut descriptors = 1 + extras.after_primary.len() as u64 + u64::from(layout.descriptor_count() - 1);
    descriptors += 1 + extras.after_terminator.len() as u64;
    let mut cursor = u64::from(session_start) + u64::from(SYSTEM_AREA_SECTORS) + descriptors;
    let mut extra_lbas = Vec::new();
    for (_, sectors, _) in &extras.metadata {
        extra_lbas.push(cursor as u32);
        cursor += sectors;
    }
    let meta_start = u32::try_from(cursor).context("image too large")?;
    let data_start = layout.place_metadata(meta_start)?;
    let layout: &'a IsoLayout<'_> = layout;

    let mut plan = Plan::starting_at(session_start);
    plan.push("system area", u64::from(SYSTEM_AREA_SECTORS), extras.system_area.unwrap_or(Content::Zeros))?;
    // The volume space size of a session counts from its start: `ctx.total_sectors` is the end of the medium.
    let volume = move |ctx: &EmitCtx<'_>| ctx.total_sectors.saturating_sub(session_start);
    plan.push(
        "primary volume descriptor",
        1,
        Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out| {
            out.write_all(&layout.primary_descriptor(volume(ctx))?)?;
            Ok(())
        })),
    )?;
    for (what, c) in extras.after_primary {
        plan.push(what, 1, c)?;
    }
    if layout.descriptor_count() >= 2 {
        plan.push(
            "supplementary and enhanced volume descriptors",
            u64::from(layout.descriptor_count() - 1),
            Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out| {
                if let Some(j) = layout.joliet_descriptor(volume(ctx))? {
                    out.write_all(&j)?;
                }
                if let Some(e) = layout.enhanced_descriptor(volume(ctx))? {
                    out.write_all(&e)?;
                }
                Ok(())
            })),
        )?;
    }
    plan.push("volume descriptor set terminator", 1, Content::Bytes(IsoLayout::terminator().to_vec()))?;
    for (what, c) in extras.after_terminator {
        plan.push(what, 1, c)?;
    }
    for (what, sectors, c) in extras.metadata {
        plan.push(what, sectors, c)?;
    }
    let start = plan.push(
        "ISO 9660 metadata",
        u64::from(data_start - meta_start),
        Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out| {
            layout.write_metadata(out, &|id: DataId| ctx.extent_of(id))?;
            Ok(())
        })),
    )?;
    debug_assert_eq!(start, meta_start);
    for (what, sectors, c) in extras.before_data {
        plan.push(what, sectors, c)?;
    }

    // Data items: each stored once, heaviest sort weight first, then in walk order; those already on the medium
    // where they lie.
    let mut data_lba = vec![0u32; data.items().len()];
    let mut order: Vec<u32> = Vec::new();
    for i in 0..data.items().len() as u32 {
        if data.alias[i as usize] != i || data.items()[i as usize].stored_size == 0 {
            continue;
        }
        match session.as_ref().and_then(|s| (s.on_medium)(DataId(i))) {
            Some(lba) => data_lba[i as usize] = lba,
            None => order.push(i),
        }
    }
    order.sort_by_key(|&i| std::cmp::Reverse(data.items()[i as usize].weight));
    let mut at = u64::from(plan.cursor());
    for &i in &order {
        data_lba[i as usize] = u32::try_from(at).context("image over 2^32 sectors")?;
        at += data.items()[i as usize].stored_size.div_ceil(SECTOR as u64);
    }
    if !order.is_empty() {
        let sectors = at - u64::from(plan.cursor());
        plan.push("file data", sectors, Content::DataRun(order))?;
    }
    for (what, sectors, c) in extras.appended {
        extra_lbas.push(plan.cursor());
        plan.push(what, sectors, c)?;
    }
    Ok(PlannedImage { plan, data_lba, start: session_start, extra_lbas })
}

/// Default ISO options from the command line's view: level, extensions and identifiers.
pub fn iso_options(level: u8, rock: bool, joliet: bool, joliet_long: bool, time: i64) -> IsoOptions {
    IsoOptions::default().level(level).rock_ridge(rock).joliet(joliet).joliet_long(joliet_long).time(time)
}

/// The optional identifiers both `mkiso` and `mkisofs` take; a `None` leaves that field as it is.
#[derive(Clone, Copy, Default)]
pub struct Identifiers<'a> {
    /// Publisher identifier.
    pub publisher: Option<&'a str>,
    /// Data preparer identifier.
    pub preparer: Option<&'a str>,
    /// System identifier.
    pub system_id: Option<&'a str>,
    /// Volume set identifier.
    pub volume_set: Option<&'a str>,
}

impl Identifiers<'_> {
    /// `opts` with every identifier given set.
    pub fn apply(self, mut opts: IsoOptions) -> IsoOptions {
        if let Some(s) = self.publisher {
            opts = opts.publisher(s);
        }
        if let Some(s) = self.preparer {
            opts = opts.preparer(s);
        }
        if let Some(s) = self.system_id {
            opts = opts.system_id(s);
        }
        if let Some(s) = self.volume_set {
            opts = opts.volume_set_id(s);
        }
        opts
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::{emit, Content, EmitCtx};
    use super::super::walk::{walk, WalkOptions};
    use super::*;

    #[test]
    fn a_session_starts_at_its_lba_and_keeps_data_already_on_the_medium() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), vec![7u8; 5000]).unwrap();
        std::fs::write(dir.path().join("b"), b"bee").unwrap();
        let walked = walk(&[dir.path().as_os_str().to_owned()], &WalkOptions::default()).unwrap();
        assert_eq!(walked.data.items().len(), 2);
        let mut layout = IsoLayout::new(&walked.tree, IsoOptions::default()).unwrap();
        let on_medium = |id: DataId| (id.0 == 0).then_some(40);
        let extras =
            ImageExtras { session: Some(SessionPlace { start: 64, on_medium: &on_medium }), ..Default::default() };
        let planned = plan_image(&mut layout, &walked.data, extras).unwrap();
        assert_eq!((planned.start, planned.plan.start()), (64, 64));
        let regions = planned.plan.regions();
        assert_eq!((regions[0].what.as_str(), regions[0].lba), ("system area", 64));
        assert_eq!((regions[1].what.as_str(), regions[1].lba), ("primary volume descriptor", 80));
        // The item on the medium keeps its LBA and is not written again; the other goes after the metadata.
        assert_eq!(planned.data_lba[0], 40);
        let run = regions.iter().find(|r| matches!(r.content, Content::DataRun(_))).unwrap();
        assert!(matches!(&run.content, Content::DataRun(ids) if ids == &[1]));
        assert_eq!((planned.data_lba[1], run.sectors), (run.lba, 1));
        let end = planned.plan.total_sectors();
        assert_eq!(planned.size_bytes(), (end - 64) * 2048);

        // The session's bytes: its descriptors record its size from its start.
        let ctx =
            EmitCtx { total_sectors: end as u32, data_lba: &planned.data_lba, alias: &walked.data.alias, cancel: None };
        let mut out = Vec::new();
        emit(&planned.plan, &ctx, &walked.data, &mut out, &|_| {}).unwrap();
        assert_eq!(out.len() as u64, planned.size_bytes());
        let pvd = &out[16 * 2048..17 * 2048];
        assert_eq!(&pvd[..6], b"\x01CD001");
        assert_eq!(u64::from(u32::from_le_bytes(pvd[80..84].try_into().unwrap())), end - 64);
        assert_eq!(&out[(u64::from(run.lba - 64) * 2048) as usize..][..3], b"bee");
    }
}

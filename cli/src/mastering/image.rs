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
}

/// A planned image: the plan, where data went, and the positions given to the extras.
pub struct PlannedImage<'a> {
    /// Every region of the image.
    pub plan: Plan<'a>,
    /// LBA of each data item (0 for empty or duplicated items).
    pub data_lba: Vec<u32>,
    /// LBAs given to `ImageExtras::metadata` and then `ImageExtras::appended` regions, in order (read by the
    /// structures that plugged them in).
    #[allow(dead_code)]
    pub extra_lbas: Vec<u32>,
}

impl PlannedImage<'_> {
    /// Total image size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.plan.total_sectors() * SECTOR as u64
    }
}

/// Plans every sector of the image for `layout` (sized, not yet placed) and `data`.
pub fn plan_image<'a>(
    layout: &'a mut IsoLayout<'_>,
    data: &DataTable,
    extras: ImageExtras<'a>,
) -> Result<PlannedImage<'a>> {
    // Positions first (the layout is borrowed mutably only while placing).
    let mut descriptors = 1 + extras.after_primary.len() as u64 + u64::from(layout.descriptor_count() - 1);
    descriptors += 1 + extras.after_terminator.len() as u64;
    let mut cursor = u64::from(SYSTEM_AREA_SECTORS) + descriptors;
    let mut extra_lbas = Vec::new();
    for (_, sectors, _) in &extras.metadata {
        extra_lbas.push(cursor as u32);
        cursor += sectors;
    }
    let meta_start = u32::try_from(cursor).context("image too large")?;
    let data_start = layout.place_metadata(meta_start)?;
    let layout: &'a IsoLayout<'_> = layout;

    let mut plan = Plan::default();
    plan.push("system area", u64::from(SYSTEM_AREA_SECTORS), extras.system_area.unwrap_or(Content::Zeros))?;
    plan.push(
        "primary volume descriptor",
        1,
        Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out| {
            out.write_all(&layout.primary_descriptor(ctx.total_sectors)?)?;
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
                if let Some(j) = layout.joliet_descriptor(ctx.total_sectors)? {
                    out.write_all(&j)?;
                }
                if let Some(e) = layout.enhanced_descriptor(ctx.total_sectors)? {
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

    // Data items: each stored once, heaviest sort weight first, then in walk order.
    let mut order: Vec<u32> = (0..data.items().len() as u32)
        .filter(|&i| data.alias[i as usize] == i && data.items()[i as usize].stored_size > 0)
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse(data.items()[i as usize].weight));
    let mut data_lba = vec![0u32; data.items().len()];
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
    Ok(PlannedImage { plan, data_lba, extra_lbas })
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

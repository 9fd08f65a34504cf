//! Building images from folders: walk the sources into a neutral tree, plan every sector, then emit the image in
//! one sequential pass. [`spec`] is the front door: a [`spec::BuildSpec`] planned into a [`spec::BuildPlan`] and
//! written; the modules below are what it is made of.
//!
//! # The plan: how other image structures plug in
//! A [`plan::Plan`] is an ordered list of [`plan::Region`]s that tile the image from LBA 0 with no gaps. Each
//! region has a fixed LBA and sector count decided before a byte is written, and a [`plan::Content`]:
//!
//! - `Zeros`: reserved or padding sectors;
//! - `Bytes`: small, fully known contents (an MBR/GPT system area, a boot catalog, a UDF anchor);
//! - `Producer`: a closure that writes exactly the region's bytes at emit time, given an [`plan::EmitCtx`]
//!   (the final image size in sectors and the LBA of every data item) — volume descriptors, which carry the
//!   image size, and directory hierarchies, which carry file extents, are producers;
//! - `Data`: one file data item of the [`walk::DataTable`], copied from its source (`copy_file_range` when
//!   both ends are regular files and the file is large) and zero-padded to a sector; `DataRun`: many such items
//!   back to back (the driver puts all file data in one run).
//!
//! The image driver ([`image::plan_image`]) lays out, in this order:
//! 1. the system area, LBA 0–15 (`ImageExtras::system_area`: an MBR/GPT template goes here);
//! 2. volume descriptors from LBA 16: primary, then `ImageExtras::after_primary` (an El Torito boot record
//!    must sit at LBA 17), Joliet, enhanced (level 4), terminator, then `ImageExtras::after_terminator`
//!    (a UDF volume recognition sequence: `BEA01`, `NSR02`, `TEA01`);
//! 3. `ImageExtras::metadata`: extra metadata regions placed before the ISO hierarchy (boot catalog, UDF
//!    volume descriptor sequences and file set); each is a `(sectors, Content)` the driver assigns an LBA to,
//!    reported back through [`image::PlannedImage::extra_lbas`];
//! 4. the ISO metadata (path tables, ISO and Joliet directories, Rock Ridge continuation areas);
//! 5. every data item once, in sort-weight order; hard links and deduplicated files map to one item, so a
//!    second tree (UDF) refers to the same extents through [`plan::EmitCtx::data_lba`];
//! 6. `ImageExtras::appended`: regions after the ISO volume (appended partitions, a UDF closing anchor).
//!
//! Producers run strictly in LBA order and the emitter checks each region wrote exactly its size, so a
//! structure that needs to know where something else is must read it from the plan, never from the output.

mod hide;
pub mod image;
mod md5;
pub mod output;
pub mod plan;
pub mod spec;
pub mod walk;
pub mod warning;

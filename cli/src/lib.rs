//! `odix` as a library: what composes the format crates (odix-iso9660, odix-udf, odix-cdrip) into images one can
//! open, read, extract and build. The `odix` command line is one client of it (its commands live in the
//! binary, under `src/cmd/`).
//!
//! # Map
//! Reading an image:
//! - [`source`]: what the user names (image file, block device, `.cue`/`.ccd` sheet, bare BIN, session) as a
//!   `Read + Seek` of 2048-byte sectors;
//! - [`formats`]: adapters from the format crates (ISO 9660 and its views, UDF, raw sheets) to [`view::Tree`]
//!   and to the sections `odix info` shows; read options and limits;
//! - [`view`]: the one tree interface (nodes, extents, warnings) every readable view implements;
//! - [`open`]: from a path and [`open::Options`] to a source, read options and a tree;
//! - [`tree`]: resolving paths in a tree, joining names, walking a subtree within the limits;
//! - [`extract`]: writing a tree's entries into a folder, safely.
//!
//! Building an image:
//! - [`BuildSpec`] → [`BuildPlan`] → [`BuildPlan::write_to`]: an image from folders, its trees, identifiers,
//!   dates and boot structures, as one call (see [`mastering::spec`]);
//! - [`mastering`]: walking folders, planning every sector of the image, emitting it in one pass;
//! - [`boot`]: El Torito and the hybrid MBR/GPT system area, plugged into the plan;
//! - [`mkudf`]: the UDF tree of a bridge or UDF-only image.
//!
//! Writing safely:
//! - [`output`]: output files that appear under their final name only when complete;
//! - [`cancel`]: stopping a long operation, and the cleanups a program stopped by a signal runs.
#![forbid(unsafe_code)]

pub mod boot;
pub mod cancel;
pub mod extract;
pub mod formats;
pub mod mastering;
pub mod mkudf;
pub mod open;
pub mod output;
pub mod source;
pub mod tree;
pub mod view;

pub use mastering::spec::{
    Attributes, BuildPlan, BuildSpec, Dates, HideSpec, Ids, Source, Trees, UdfSpec, WalkSpec, Warning,
};

//! `odix` as a library: what composes the format crates (odix-iso9660, odix-udf, odix-cdrip) into images one can
//! open, read, extract and build. The `odix` command line is one client of it (its commands live in the
//! binary, under `src/cmd/`).
//!
//! # Map
//! Reading an image starts at [`Image`]: [`Image::open`] (a path and [`Options`]) or [`Image::from_reader`], then
//! [`Image::tree`] with a [`View`], [`Image::info`], [`Image::volumes`], [`Image::sessions`].
//! - [`image`]: the image opened in one pass: source, session, volumes found, trees, `info`;
//! - [`source`]: what the user names (image file, block device, `.cue`/`.ccd` sheet, bare BIN, session) as
//!   `Read + Seek` readers of 2048-byte sectors, a raw disc laid out once and shared;
//! - [`formats`]: the read options, limits and view choice, and the adapters from the format crates (ISO 9660 and
//!   its views, UDF, raw sheets) to [`view::Tree`] and to the sections `odix info` shows;
//! - [`view`]: the one tree interface (nodes, extents, warnings) every readable view implements;
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
//! Changing an image:
//! - [`edit`]: files added, removed, moved in an existing image, its boot setup replayed, a session appended;
//! - [`replay`]: an image's boot setup read back as a [`boot::BootConfig`] and as the mkisofs options that rebuild it.
//!
//! Checking, converting, ripping:
//! - [`verify`]: checking an image (raw sectors, volume sizes, extents, MD5 tags, a folder) into a typed report;
//! - [`convert`]: raw images (`.cue`/`.ccd`) to ISO or CloneCD, ISO to BIN/CUE or CloneCD;
//! - [`rip`]: a drive's report, a disc's TOC, and ripping into an image with retries and a ddrescue map;
//! - [`rip_audio`]: per-track audio files written while a disc is ripped, and an image read at a drive's pace;
//! - [`track_files`]: per-track WAVE and FLAC files, for `convert --audio` and `rip --audio`.
//!
//! Writing safely:
//! - [`output`]: output files that appear under their final name only when complete;
//! - [`cancel`]: stopping a long operation, and the cleanups a program stopped by a signal runs.
#![forbid(unsafe_code)]

pub mod boot;
pub mod cancel;
mod compare;
pub mod convert;
pub mod edit;
pub mod extract;
pub mod formats;
pub mod image;
pub mod mastering;
pub mod mkudf;
pub mod online;
pub mod output;
pub mod replay;
pub mod rip;
pub mod rip_audio;
pub mod source;
pub mod track_files;
pub mod tree;
pub mod verify;
pub mod view;

pub use formats::View;
pub use image::{Image, Options};
pub use mastering::spec::{
    Attributes, BuildPlan, BuildSource, BuildSpec, BuildWarning, Dates, HideSpec, Ids, Laid, Trees, UdfSpec, WalkSpec,
};

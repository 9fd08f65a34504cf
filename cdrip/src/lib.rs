//! odix-cdrip: raw CD sectors, raw disc images (CUE/BIN, CloneCD), and ripping.
//!
//! # Getting started
//! 1. Open a raw image with [`image::RawDisc::open`] (a `.cue` sheet or a CloneCD `.ccd`).
//! 2. Pick a session and read its data track as 2048-byte user-data sectors with
//!    [`image::RawDisc::cooked_reader`]: a `Read + Seek` whose LBAs are counted from the start of the disc, so an
//!    ISO 9660 reader finds the session's volume descriptors at its start LBA + 16.
//! 3. Check or repair single raw sectors with [`sector`]: sync, header, EDC and the RSPC P/Q parities of
//!    ECMA-130.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod audio;
pub mod audiofile;
pub mod buf;
pub mod ccd;
pub mod cdtext;
pub mod chd;
pub mod container;
pub mod cso;
pub mod cue;
pub mod dat;
pub mod dax;
pub mod detect;
pub mod ecm;
pub mod error;
pub mod hash;
pub mod image;
pub mod map;
pub mod mmc;
pub mod offsets;
pub mod sector;
pub mod sense;
pub mod sg;
pub mod store;
pub mod subq;
pub mod transport;

pub use error::{Error, Result};
pub mod disc;
pub mod drive;
pub mod rip;
pub mod sim;

mod binfmt;
pub mod cdi;
pub mod gdi;
pub mod mds;
pub mod nrg;
pub mod toc;
pub use binfmt::{MemRegion, Region};

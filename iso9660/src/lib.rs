//! Reading ISO 9660 images (ECMA-119), with Joliet, Rock Ridge, zisofs, El Torito and hybrid partition
//! tables.
//!
//! # Getting started
//! 1. Open any `Read + Seek` of 2048-byte sectors with [`Image::open`], choosing [`Options`] (strictness,
//!    a legacy character set for plain names, the session start of a multi-session disc, [`Limits`]).
//! 2. Pick a view: [`Image::best_view`] gives Rock Ridge, else Joliet, else plain ISO 9660.
//! 3. Walk it lazily: [`Image::root`], then [`Image::read_dir`] on each directory you want to see.
//! 4. Read a file with [`Image::open_file`], which streams (zisofs files are decompressed block by block).
//! 5. Collect what was worked around with [`Image::take_warnings`].
//!
//! ```no_run
//! use odix_iso9660::{Image, Options};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = std::io::BufReader::new(std::fs::File::open("disc.iso")?);
//! let mut img = Image::open(file, Options::default())?;
//! let root = img.root(img.best_view())?;
//! for entry in img.read_dir(&root)? {
//!     println!("{} {}", entry.name(), entry.size());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Untrusted input
//! Every value read from an image is checked before use: extents past the end of the image, absurd sizes,
//! continuation chains that loop, relocated directories that point nowhere. Each becomes an [`Error`] or a
//! [`Warning`] within the [`Limits`], never a panic.
#![forbid(unsafe_code)]
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

pub mod error;
pub mod format;
pub mod read;
pub mod write;

pub use error::{DataPastEnd, Error, Result, Structure};
pub use read::{Entry, EntryKind, Extent, FileReader, Image, Limits, Options, View, Warning};

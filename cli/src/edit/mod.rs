//! Changing an existing image: files added, replaced, removed, moved; the volume id; the boot setup replayed from
//! the input; MD5s the way distributions check them; a new session appended.
//!
//! An [`EditSpec`] names the input image, the output and the changes; [`edit`] reads the input's trees into the
//! writer's tree (file data stays where it is in the input, and is copied from there by extents), applies the
//! changes, replays the boot setup ([`crate::replay`]) and writes the new image through the same plan as a
//! build from folders.

use std::path::PathBuf;

use crate::cancel::Cancel;

pub mod append;

/// One change to the tree of an image, applied in order. Paths in the image are `/`-separated and absolute
/// (a missing leading `/` is allowed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditOp {
    /// A file or folder on disk put at `dest` in the image: a file replaces what was there; a folder's contents
    /// are merged into the folder `dest` (files of the same name replaced).
    Add {
        /// The file or folder on disk.
        src: PathBuf,
        /// Where in the image.
        dest: String,
    },
    /// Removes `path` and everything below it. A missing path is an error.
    Remove(String),
    /// Moves (renames) `from` to `to`; `to` must not exist, its parent must.
    Move {
        /// The path moved.
        from: String,
        /// Its new path.
        to: String,
    },
    /// Makes a folder, and any missing parents (an existing folder is no error).
    Mkdir(String),
    /// Sets the permission bits (`mode & 0o7777`) of `path`, and of everything below it when `recursive`.
    Chmod {
        /// The permission bits.
        mode: u32,
        /// The path.
        path: String,
        /// Also everything below it.
        recursive: bool,
    },
}

/// What becomes of the input's boot setup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BootMode {
    /// Everything the input's boot setup has is written again for the new layout: El Torito entries, the
    /// catalog's path, boot-info tables and GRUB2 boot info patched for the new LBAs, the MBR or GPT with its
    /// partitions, appended partitions, the partition offset.
    #[default]
    Replay,
    /// The El Torito catalog's entries are kept, their boot images copied unchanged (not patched again); the
    /// system area and appended partitions are left out.
    KeepCatalog,
    /// No boot setup: the output is a plain data image.
    None,
}

/// How the new image relates to the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EditTarget {
    /// A new image is written to [`EditSpec::output`].
    #[default]
    NewImage,
    /// A new session is appended to the input file itself; the volume descriptors at LBA 16 are made to point
    /// at it (as xorriso does with image files).
    Append,
    /// A new session is appended to the input file; nothing already written is touched (an image meant to be
    /// burnt session by session, where the drive's TOC finds the sessions).
    AppendWriteOnce,
}

/// Everything that decides an edit.
#[derive(Clone, Debug, Default)]
pub struct EditSpec {
    /// The image read.
    pub input: PathBuf,
    /// The image written (ignored when appending: the input grows).
    pub output: PathBuf,
    /// New image or appended session.
    pub target: EditTarget,
    /// The changes, in order.
    pub ops: Vec<EditOp>,
    /// A new volume id (all trees).
    pub volume_id: Option<String>,
    /// What becomes of the boot setup.
    pub boot: BootMode,
    /// Regenerate this list of MD5s (Debian's and Ubuntu's `md5sum.txt`, a path in the image) for the changed
    /// tree: lines of unchanged files are kept, changed and added files get their new MD5, removed ones go.
    pub update_md5sum: Option<String>,
    /// Write the isomd5sum MD5 into the primary volume descriptor's application-use field (what `checkisomd5`
    /// checks).
    pub implant_md5: bool,
    /// Write xorriso's session MD5 tags (checked by `xorriso -check_md5` and `odix verify`).
    pub md5: bool,
    /// The time of the edit (seconds since 1970): volume dates and new folders. The caller reads
    /// `SOURCE_DATE_EPOCH` when it wants to.
    pub now: i64,
    /// When set, writing stops at its next step with [`crate::cancel::Cancelled`].
    pub cancel: Option<Cancel>,
}

//! One entry of a tree, as a view shows it.

use chrono::{DateTime, Utc};

use super::View;
use crate::format::rrip::{mode, RockRidge};

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (Rock Ridge).
    Symlink,
    /// A device, FIFO or socket (Rock Ridge).
    Other,
}

/// A run of contiguous data on the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Extent {
    /// First 2048-byte sector, counted from the start of the image.
    pub lba: u64,
    /// Length in bytes.
    pub length: u64,
}

/// One entry of a directory (or a root), with what the view knows of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub(crate) view: View,
    pub(crate) name: String,
    pub(crate) identifier: Vec<u8>,
    pub(crate) kind: EntryKind,
    pub(crate) size: u64,
    pub(crate) extents: Vec<Extent>,
    pub(crate) recorded: Option<DateTime<Utc>>,
    pub(crate) flags: u8,
    pub(crate) rr: Option<Box<RockRidge>>,
    pub(crate) record_lba: u64,
    pub(crate) multi_extent: bool,
    pub(crate) zisofs: bool,
    pub(crate) is_root: bool,
}

impl Entry {
    /// The view this entry belongs to.
    pub fn view(&self) -> View {
        self.view
    }

    /// The decoded name (empty for a root).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file identifier bytes as recorded in the directory record.
    pub fn identifier(&self) -> &[u8] {
        &self.identifier
    }

    /// File, directory, symlink or other.
    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// Size in bytes: of the data as read (uncompressed for zisofs files), or of the directory's extent.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where the stored bytes lie: every extent of a multi-extent file, every unit of an interleaved one.
    /// For a directory, its own extent.
    pub fn extents(&self) -> &[Extent] {
        &self.extents
    }

    /// The directory record's recording date.
    pub fn recorded(&self) -> Option<DateTime<Utc>> {
        self.recorded
    }

    /// Modification time: Rock Ridge TF when present, else the recording date.
    pub fn mtime(&self) -> Option<DateTime<Utc>> {
        self.rr.as_ref().and_then(|r| r.times.modify).or(self.recorded)
    }

    /// Access time (Rock Ridge TF).
    pub fn atime(&self) -> Option<DateTime<Utc>> {
        self.rr.as_ref().and_then(|r| r.times.access)
    }

    /// File flags of the directory record (ECMA-119 9.1.6).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The Rock Ridge attributes, in the Rock Ridge view.
    pub fn rock_ridge(&self) -> Option<&RockRidge> {
        self.rr.as_deref()
    }

    /// Full `st_mode` (Rock Ridge PX).
    pub fn mode(&self) -> Option<u32> {
        self.rr.as_ref().and_then(|r| r.px).map(|p| p.mode)
    }

    /// Owner (Rock Ridge PX).
    pub fn uid(&self) -> Option<u32> {
        self.rr.as_ref().and_then(|r| r.px).map(|p| p.uid)
    }

    /// Group (Rock Ridge PX).
    pub fn gid(&self) -> Option<u32> {
        self.rr.as_ref().and_then(|r| r.px).map(|p| p.gid)
    }

    /// Link count (Rock Ridge PX).
    pub fn nlink(&self) -> Option<u32> {
        self.rr.as_ref().and_then(|r| r.px).map(|p| p.nlink)
    }

    /// File serial number (Rock Ridge 1.12 PX).
    pub fn ino(&self) -> Option<u32> {
        self.rr.as_ref().and_then(|r| r.px).and_then(|p| p.ino)
    }

    /// Device number (major, minor) of a device node (Rock Ridge PN).
    pub fn device(&self) -> Option<(u32, u32)> {
        let (hi, lo) = self.rr.as_ref().and_then(|r| r.device)?;
        // Linux writers record the whole dev_t in the low word when the high one is 0.
        if hi == 0 {
            Some(((lo >> 8) & 0xfff, (lo & 0xff) | ((lo >> 12) & 0xfff00)))
        } else {
            Some((hi, lo))
        }
    }

    /// Symlink target (Rock Ridge SL), decoded like names.
    pub fn symlink_target(&self) -> Option<String> {
        let raw = self.rr.as_ref()?.symlink.as_ref()?;
        Some(super::names::decode_bytes(raw, None))
    }

    /// Whether the file is stored zisofs-compressed and read decompressed.
    pub fn is_zisofs(&self) -> bool {
        self.zisofs
    }

    /// Whether the file was recorded in more than one extent (ECMA-119 6.5.1).
    pub fn is_multi_extent(&self) -> bool {
        self.multi_extent
    }

    /// The sector holding this entry's directory record.
    pub fn record_lba(&self) -> u64 {
        self.record_lba
    }

    /// Whether this is the root of its view.
    pub fn is_root(&self) -> bool {
        self.is_root
    }

    /// Moves the name out, leaving it empty.
    pub fn take_name(&mut self) -> String {
        std::mem::take(&mut self.name)
    }

    /// Drops what only describes the entry (name, identifier, Rock Ridge attributes other than ZF) and keeps
    /// what [`Image::read_dir`](super::Image::read_dir) and [`Image::open_file`](super::Image::open_file) need,
    /// for callers that copied the description out and keep many entries.
    pub fn shrink(&mut self) {
        self.name = String::new();
        self.identifier = Vec::new();
        self.rr = self.rr.take().and_then(|r| r.zf).map(|zf| {
            let mut r = RockRidge::default();
            r.zf = Some(zf);
            Box::new(r)
        });
    }

    pub(crate) fn kind_from(rr: Option<&RockRidge>, is_dir: bool) -> EntryKind {
        match rr.and_then(|r| r.px).map(|p| p.mode & mode::S_IFMT) {
            Some(mode::S_IFDIR) => EntryKind::Dir,
            Some(mode::S_IFREG) => EntryKind::File,
            Some(mode::S_IFLNK) => EntryKind::Symlink,
            Some(0) | None => {
                if is_dir {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                }
            }
            Some(_) => EntryKind::Other,
        }
    }
}

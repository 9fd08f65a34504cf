//! Reading an image: the volume descriptor set, the three trees (plain ISO 9660, Joliet, Rock Ridge), file
//! contents, the El Torito catalog and the system area.
//!
//! [`Image`] owns the reader. Nothing is read ahead: a directory is read when it is listed, and each value
//! found on the image is checked before use against the image size and the [`Limits`].

mod boot;
mod dir;
mod entry;
mod file;
pub mod names;
mod sectors;
mod sessions;
#[cfg(test)]
mod tests;

use std::io::{Read, Seek};

use crate::error::{Error, Result, Structure};
use crate::format::susp::{self, ExtensionReference, SharingProtocol};
use crate::format::volume_descriptor::VolumeDescriptor;
use crate::format::volume_descriptor::{BootRecord, PartitionDescriptor, PrimaryVolumeDescriptor, VdError};
use crate::format::SECTOR_SIZE_U64;

pub use boot::{Gpt, SystemArea};
pub use entry::{Entry, EntryKind, Extent};
pub use file::FileReader;
use sectors::Sectors;
pub use sessions::{sessions, Session, MAX_SESSIONS};

/// First sector of the volume descriptor set, counted from the session start (ECMA-119 6.2.1).
pub const VOLUME_DESCRIPTOR_START: u64 = 16;

/// Most volume descriptors read before giving up on finding a terminator. Real discs have 3 to 6; the bound
/// keeps a missing terminator from reading the whole image.
const MAX_VOLUME_DESCRIPTORS: u64 = 256;

/// Caps on what reading one image may cost, whatever the image claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    max_depth: u32,
    max_dir_entries: u64,
    max_continuations: u32,
    max_alloc: u64,
}

impl Default for Limits {
    /// Depth 1024, 1 Mi entries per directory, 1024 continuation hops per entry, 64 MiB per allocation.
    fn default() -> Self {
        Limits { max_depth: 1024, max_dir_entries: 1 << 20, max_continuations: 1024, max_alloc: 64 << 20 }
    }
}

impl Limits {
    /// Deepest directory nesting a walk follows.
    #[must_use]
    pub fn with_max_depth(mut self, n: u32) -> Self {
        self.max_depth = n;
        self
    }

    /// Most entries read from one directory.
    #[must_use]
    pub fn with_max_dir_entries(mut self, n: u64) -> Self {
        self.max_dir_entries = n;
        self
    }

    /// Most SUSP continuation areas followed for one directory record.
    #[must_use]
    pub fn with_max_continuations(mut self, n: u32) -> Self {
        self.max_continuations = n;
        self
    }

    /// Largest single allocation for metadata (a directory extent, a continuation area, a table), in bytes.
    #[must_use]
    pub fn with_max_alloc(mut self, bytes: u64) -> Self {
        self.max_alloc = bytes;
        self
    }

    /// See [`Limits::with_max_depth`].
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// See [`Limits::with_max_dir_entries`].
    pub fn max_dir_entries(&self) -> u64 {
        self.max_dir_entries
    }

    /// See [`Limits::with_max_continuations`].
    pub fn max_continuations(&self) -> u32 {
        self.max_continuations
    }

    /// See [`Limits::with_max_alloc`].
    pub fn max_alloc(&self) -> u64 {
        self.max_alloc
    }
}

/// How to read an image.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    strict: bool,
    charset: Option<&'static encoding_rs::Encoding>,
    session_start: u64,
    limits: Limits,
}

impl Options {
    /// Fail on inconsistencies (both-endian mismatches, bad checksums) instead of warning.
    #[must_use]
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// Character set of plain ISO 9660 names (and Rock Ridge names that are not UTF-8).
    #[must_use]
    pub fn charset(mut self, enc: Option<&'static encoding_rs::Encoding>) -> Self {
        self.charset = enc;
        self
    }

    /// The LBA where the session starts; its volume descriptors are at this LBA + 16. LBAs inside stay
    /// absolute (counted from the start of the image).
    #[must_use]
    pub fn session_start(mut self, lba: u64) -> Self {
        self.session_start = lba;
        self
    }

    /// Resource caps.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Which tree of the image to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    /// The primary descriptor's tree with plain ISO 9660 names (versions and trailing dots stripped).
    Plain,
    /// The Joliet tree.
    Joliet,
    /// The primary descriptor's tree read through Rock Ridge.
    RockRidge,
    /// The enhanced volume descriptor's tree (ISO 9660:1999): identifiers up to 207 bytes in any case,
    /// decoded like plain names, with a `;` version cut off only where one is recorded.
    Enhanced,
}

/// Something wrong that was worked around: a damaged entry skipped, a lenient fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The structure.
    pub structure: Structure,
    /// Its sector.
    pub lba: u64,
    /// What was wrong and what was done.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at LBA {}: {}", self.structure, self.lba, self.message)
    }
}

/// Size of the CD-XA system use record (CD-ROM XA 4.3.1: owner ids, attributes, `XA`, file number, reserved)
/// that XA writers put first in every system use field.
pub const XA_RECORD_LEN: usize = 14;

/// Where the SP entry may start in the system use field of the root's `.` record: at its start (SUSP 5.3), or
/// after a CD-XA record (genisoimage `-xa`, pycdlib `xa=True`, Nero), whose SP then skips that record in every
/// other field. Linux looks in the same two places.
const SP_OFFSETS: [usize; 2] = [0, XA_RECORD_LEN];

/// What the root's `.` record says about SUSP and Rock Ridge (SUSP 5.3, 5.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SuspInfo {
    /// Bytes to skip at the start of each system use field.
    pub skip: u8,
    /// Where the SP entry starts in the root's `.` record's system use field: 0, or [`XA_RECORD_LEN`] behind a
    /// CD-XA record.
    pub root_offset: usize,
    /// Extensions announced by ER entries.
    pub extensions: Vec<ExtensionReference>,
    /// Rock Ridge version: from ER (`1.10`, `1.12`), or `1.09` when RRIP entries appear without an ER.
    pub rock_ridge: Option<&'static str>,
}

/// An opened image: its volume descriptors, and lazy access to its trees.
///
/// # Security
/// Names returned by [`Image::read_dir`] are whatever the image recorded: they may contain `/`, be `..`, or
/// repeat. Symlink targets may be absolute or point outside any extraction folder. Callers that write to a
/// file system must check both.
pub struct Image<R> {
    src: Sectors<R>,
    opts: Options,
    primary: PrimaryVolumeDescriptor,
    primary_lba: u64,
    joliet: Option<(PrimaryVolumeDescriptor, u64)>,
    enhanced: Option<(PrimaryVolumeDescriptor, u64)>,
    boot_record: Option<BootRecord>,
    partitions: Vec<PartitionDescriptor>,
    susp: Option<SuspInfo>,
    warnings: Vec<Warning>,
    zcache: file::ZCache,
}

impl<R: Read + Seek> Image<R> {
    /// Reads the volume descriptor set at `options`' session start + 16, and the root's SUSP indicator.
    pub fn open(reader: R, options: Options) -> Result<Self> {
        let mut src = Sectors::new(reader)?;
        let first = options
            .session_start
            .checked_add(VOLUME_DESCRIPTOR_START)
            .ok_or(Error::NotIso9660 { lba: options.session_start })?;
        let mut warnings = Vec::new();
        let mut primary = None;
        let mut joliet = None;
        let mut enhanced = None;
        let mut boot_record = None;
        let mut partitions = Vec::new();
        let mut terminated = false;
        for n in 0..MAX_VOLUME_DESCRIPTORS {
            let lba = first.saturating_add(n);
            if lba.saturating_add(1).saturating_mul(SECTOR_SIZE_U64) > src.len() {
                if n == 0 {
                    return Err(Error::NotIso9660 { lba });
                }
                break;
            }
            let sector = src.read_extent(lba, SECTOR_SIZE_U64, Structure::VolumeDescriptor, lba, options.limits)?;
            let vd = match VolumeDescriptor::parse(&sector) {
                Ok(vd) => vd,
                Err(VdError::NoStandardId) if n == 0 => return Err(Error::NotIso9660 { lba }),
                Err(VdError::NoStandardId) => break,
                Err(e) => {
                    let reason = match e {
                        VdError::BadRoot => "the root directory record is malformed",
                        _ => "the descriptor is truncated",
                    };
                    return Err(Error::invalid(Structure::VolumeDescriptor, lba, 0, reason));
                }
            };
            match vd {
                VolumeDescriptor::Primary(p) => {
                    if primary.is_none() {
                        primary = Some((p, lba));
                    }
                }
                VolumeDescriptor::Supplementary(s) => {
                    if s.version == 2 || s.file_structure_version == 2 {
                        if enhanced.is_none() {
                            enhanced = Some((s, lba));
                        }
                    } else if s.joliet_level().is_some() && joliet.is_none() {
                        joliet = Some((s, lba));
                    }
                }
                VolumeDescriptor::BootRecord(b) => {
                    if boot_record.is_none() {
                        boot_record = Some(b);
                    }
                }
                VolumeDescriptor::Partition(p) => partitions.push(p),
                VolumeDescriptor::Terminator => {
                    terminated = true;
                    break;
                }
                VolumeDescriptor::Other(_) => {}
            }
        }
        if !terminated {
            warnings.push(Warning {
                structure: Structure::VolumeDescriptor,
                lba: first,
                message: "no volume descriptor set terminator".into(),
            });
        }
        let Some((primary, primary_lba)) = primary else {
            return Err(Error::invalid(Structure::VolumeDescriptor, first, 0, "no primary volume descriptor"));
        };
        let mut img = Image {
            src,
            opts: options,
            primary,
            primary_lba,
            joliet,
            enhanced,
            boot_record,
            partitions,
            susp: None,
            warnings,
            zcache: file::ZCache::default(),
        };
        img.check_descriptor(false)?;
        if img.joliet.is_some() {
            img.check_descriptor(true)?;
        }
        img.susp = match img.detect_susp() {
            Ok(susp) => susp,
            Err(e) if img.opts.strict => return Err(e),
            Err(e) => {
                // The descriptors stay readable (for `info`); the tree's damage is met again when it is listed.
                let lba = u64::from(img.primary.root.extent.value());
                img.warn(
                    Structure::Directory,
                    lba,
                    format!("root directory unreadable, no Rock Ridge looked for: {e}"),
                );
                None
            }
        };
        Ok(img)
    }

    fn check_descriptor(&mut self, joliet: bool) -> Result<()> {
        let (d, lba) = match (joliet, &self.joliet) {
            (true, Some((d, lba))) => (d.clone(), *lba),
            _ => (self.primary.clone(), self.primary_lba),
        };
        let bs = d.logical_block_size;
        if bs.value() != 2048 {
            return Err(Error::Unsupported {
                structure: Structure::VolumeDescriptor,
                lba,
                what: format!("logical block size {} (only 2048 is read)", bs.value()),
            });
        }
        let fields: [(&'static str, u64, u64, u64); 6] = [
            ("volume space size", 80, d.volume_space_size.le.into(), d.volume_space_size.be.into()),
            ("volume set size", 120, d.volume_set_size.le.into(), d.volume_set_size.be.into()),
            ("volume sequence number", 124, d.volume_sequence_number.le.into(), d.volume_sequence_number.be.into()),
            ("logical block size", 128, bs.le.into(), bs.be.into()),
            ("path table size", 132, d.path_table_size.le.into(), d.path_table_size.be.into()),
            ("root extent", 158, d.root.extent.le.into(), d.root.extent.be.into()),
        ];
        for (field, offset, le, be) in fields {
            self.both_endian(Structure::VolumeDescriptor, lba, offset, field, le, be)?;
        }
        let root = d.root.data_length;
        self.both_endian(Structure::VolumeDescriptor, lba, 166, "root data length", root.le.into(), root.be.into())
    }

    /// Strict: an error; lenient: a warning, and the little-endian half is used.
    pub(crate) fn both_endian(
        &mut self,
        structure: Structure,
        lba: u64,
        offset: u64,
        field: &'static str,
        le: u64,
        be: u64,
    ) -> Result<()> {
        if le == be {
            return Ok(());
        }
        if self.opts.strict {
            return Err(Error::BothEndianMismatch { structure, lba, offset, field, le, be });
        }
        self.warnings.push(Warning {
            structure,
            lba,
            message: format!(
                "both-endian field {field} at offset {offset} differs (little-endian {le}, big-endian {be}); \
                 using {le}"
            ),
        });
        Ok(())
    }

    /// Reads the root's `.` record: an SP entry at the start of its system use field means SUSP is in use.
    fn detect_susp(&mut self) -> Result<Option<SuspInfo>> {
        let root = self.primary.root.clone();
        let lba = u64::from(root.extent.value()).saturating_add(u64::from(root.ext_attr_length));
        let sector = self.src.read_extent(lba, SECTOR_SIZE_U64, Structure::Directory, lba, self.opts.limits)?;
        let dot = match crate::format::directory_record::DirectoryRecord::parse(&sector) {
            Ok(d) => d,
            Err(e) => return Err(Error::invalid(Structure::Directory, lba, 0, e.to_string())),
        };
        let found = SP_OFFSETS.iter().find_map(|&at| {
            let field = dot.system_use.get(at..)?;
            let e = susp::entries(field).next()?.ok().filter(|e| &e.signature == b"SP")?;
            Some((at, SharingProtocol::parse(e.data)?))
        });
        let Some((at, sp)) = found else { return Ok(None) };
        let mut info = SuspInfo { skip: sp.skip, root_offset: at, ..SuspInfo::default() };
        let (rr, ers) = self.gather_susp(dot.system_use.get(at..).unwrap_or_default(), lba, true);
        info.extensions = ers;
        info.rock_ridge = info.extensions.iter().find_map(|e| e.rock_ridge_version());
        if info.rock_ridge.is_none() && rr.any {
            info.rock_ridge = Some("1.09");
        }
        Ok(Some(info))
    }

    /// The primary volume descriptor.
    pub fn primary(&self) -> &PrimaryVolumeDescriptor {
        &self.primary
    }

    /// The Joliet supplementary volume descriptor, if any.
    pub fn joliet(&self) -> Option<&PrimaryVolumeDescriptor> {
        self.joliet.as_ref().map(|(d, _)| d)
    }

    /// The enhanced volume descriptor (ISO 9660:1999), if any.
    pub fn enhanced(&self) -> Option<&PrimaryVolumeDescriptor> {
        self.enhanced.as_ref().map(|(d, _)| d)
    }

    /// The boot record, if any.
    pub fn boot_record(&self) -> Option<&BootRecord> {
        self.boot_record.as_ref()
    }

    /// The volume partition descriptors.
    pub fn partitions(&self) -> &[PartitionDescriptor] {
        &self.partitions
    }

    /// SUSP and Rock Ridge as announced by the root, if SUSP is in use.
    pub fn susp(&self) -> Option<&SuspInfo> {
        self.susp.as_ref()
    }

    /// The Rock Ridge version, if the volume has Rock Ridge.
    pub fn rock_ridge(&self) -> Option<&'static str> {
        self.susp.as_ref().and_then(|s| s.rock_ridge)
    }

    /// Size of the image in bytes, as the reader reports it.
    pub fn image_len(&self) -> u64 {
        self.src.len()
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The best view present: Rock Ridge, else Joliet, else plain.
    pub fn best_view(&self) -> View {
        if self.rock_ridge().is_some() {
            View::RockRidge
        } else if self.joliet.is_some() {
            View::Joliet
        } else {
            View::Plain
        }
    }

    /// Warnings gathered since the last call.
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    pub(crate) fn warn(&mut self, structure: Structure, lba: u64, message: String) {
        self.warnings.push(Warning { structure, lba, message });
    }

    /// Parses and compares the type L and type M path tables of the primary descriptor. Returns the number
    /// of directories in the L table; disagreements become warnings (errors in strict mode).
    pub fn check_path_tables(&mut self) -> Result<usize> {
        use crate::format::path_table::{parse, Order};
        let p = self.primary.clone();
        let size = u64::from(p.path_table_size.value());
        let limits = self.opts.limits;
        let max = usize::try_from(limits.max_dir_entries).unwrap_or(usize::MAX);
        let l_lba = u64::from(p.l_path_table);
        let l = self.src.read_extent(l_lba, size, Structure::PathTable, l_lba, limits)?;
        let l = parse(&l, Order::Little, max)
            .map_err(|e| Error::invalid(Structure::PathTable, l_lba, e.offset as u64, "malformed record"))?;
        if p.m_path_table != 0 {
            let m_lba = u64::from(p.m_path_table);
            let m = self.src.read_extent(m_lba, size, Structure::PathTable, m_lba, limits)?;
            let m = parse(&m, Order::Big, max)
                .map_err(|e| Error::invalid(Structure::PathTable, m_lba, e.offset as u64, "malformed record"))?;
            if m != l {
                if self.opts.strict {
                    return Err(Error::invalid(Structure::PathTable, m_lba, 0, "type M table differs from type L"));
                }
                self.warn(Structure::PathTable, m_lba, "type M path table differs from type L".into());
            }
        }
        let root = u64::from(self.primary.root.extent.value());
        if let Some(first) = l.first() {
            if u64::from(first.extent) != root {
                self.warn(
                    Structure::PathTable,
                    l_lba,
                    format!("first record points at LBA {}, the root is at {root}", first.extent),
                );
            }
        }
        for (i, r) in l.iter().enumerate() {
            if usize::from(r.parent) > i.saturating_add(1) || r.parent == 0 {
                self.warn(
                    Structure::PathTable,
                    l_lba,
                    format!("record {} names parent {}", i.saturating_add(1), r.parent),
                );
                break;
            }
        }
        Ok(l.len())
    }
}

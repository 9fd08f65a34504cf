//! Listing a directory: its File Identifier Descriptors, checked one by one.

use std::io::{Read, Seek};

use super::entry::{Data, Entry};
use super::volume::Core;
use crate::error::{Checked, Error, Result};
use crate::format::ad::{ExtentType, LbAddr};
use crate::format::cs0;
use crate::format::fid::{characteristics, FileIdentifierDescriptor, FID_HEADER_SIZE};
use crate::format::tag::{ident, TAG_SIZE};

/// One name in a directory (parent and deleted entries are left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The name, decoded, with `/` and NUL replaced as UDF 2.60 4.2.2.1 asks of POSIX systems.
    pub name: String,
    /// The descriptor as recorded.
    pub fid: FileIdentifierDescriptor,
}

impl DirEntry {
    /// Whether the entry is marked hidden (existence bit).
    pub fn is_hidden(&self) -> bool {
        self.fid.has(characteristics::HIDDEN)
    }

    /// Whether the FID says it names a directory.
    pub fn is_dir(&self) -> bool {
        self.fid.has(characteristics::DIRECTORY)
    }

    /// Whether this is a file system structure recorded as a file rather than user data: the hidden
    /// "Non-Allocatable Space" file of UDF 1.50 3.3.7.2 (later revisions record it as a system stream).
    pub fn is_system_file(&self) -> bool {
        self.is_hidden() && self.name == "Non-Allocatable Space"
    }

    /// The ICB the name points at.
    pub fn icb(&self) -> LbAddr {
        self.fid.icb.location
    }
}

impl<R: Read + Seek> Core<R> {
    /// The names in directory `dir`, in recorded order, without the parent entry and deleted entries. In
    /// lenient mode a damaged FID ends the listing with a warning (the names before it are returned); in strict
    /// mode it is an error.
    pub fn read_dir(&mut self, dir: &Entry) -> Result<Vec<DirEntry>> {
        if !dir.is_dir() {
            return Err(Error::Misuse { what: "not a directory" });
        }
        let data = self.read_all(dir)?;
        let bs = u64::from(self.block_size);
        // Logical block of each byte offset's block, for the FID tag location check.
        let block_of = |off: usize| -> Option<u32> {
            let off = u64::try_from(off).ok()?;
            match &dir.data {
                Data::Embedded(_) => Some(dir.location.block),
                Data::Extents(exts) => {
                    let mut start = 0u64;
                    for e in exts {
                        let end = start.checked_add(u64::from(e.length))?;
                        if off < end {
                            if e.extent_type != ExtentType::Recorded {
                                return None;
                            }
                            let rel = off.checked_sub(start)?.checked_div(bs)?;
                            return u32::try_from(u64::from(e.location.block).checked_add(rel)?).ok();
                        }
                        start = end;
                    }
                    None
                }
            }
        };
        let mut out = Vec::new();
        let mut at = 0usize;
        let max = self.opts.limits.max_dir_entries;
        let mut count = 0u64;
        while let Some(rest) = data.get(at..).filter(|r| r.len() >= FID_HEADER_SIZE) {
            if rest.get(..TAG_SIZE).is_some_and(|t| t.iter().all(|&b| b == 0)) {
                // Zero padding after the last FID.
                break;
            }
            count = count.add_or(1, "directory entries")?;
            if count > max {
                return Err(Error::Limit { what: "entries in one directory", limit: max });
            }
            let where_ = u64::from(dir.location.block);
            let parsed = self
                .check_tag(rest, where_, "file identifier descriptor", &[ident::FILE_IDENTIFIER], block_of(at))
                .and_then(|_| FileIdentifierDescriptor::parse(rest));
            let (fid, len) = match parsed {
                Ok(x) => x,
                Err(e) => {
                    let e = Error::invalid(
                        "directory",
                        u64::from(dir.location.block),
                        u64::try_from(at).unwrap_or(u64::MAX),
                        format!("file identifier descriptor: {e}"),
                    );
                    if self.opts.strict {
                        return Err(e);
                    }
                    self.warn(format!("{e}; the rest of the directory is skipped"));
                    break;
                }
            };
            at = at.add_or(len, "directory offset")?;
            if fid.has(characteristics::PARENT) || fid.has(characteristics::DELETED) {
                continue;
            }
            let name = cs0::posix_name(&fid.name(), &fid.identifier);
            out.push(DirEntry { name, fid });
        }
        Ok(out)
    }

    /// The entry a directory name points at.
    pub fn entry(&mut self, child: &DirEntry) -> Result<Entry> {
        self.read_entry(child.icb())
    }

    /// The target of a symbolic link, as a POSIX path.
    pub fn read_link(&mut self, link: &Entry) -> Result<String> {
        if !link.is_symlink() {
            return Err(Error::Misuse { what: "not a symbolic link" });
        }
        let data = self.read_all(link)?;
        let comps = crate::format::path::parse_all(&data)?;
        crate::format::path::to_posix(&comps)
    }

    /// The named streams of an entry (UDF 2.00+ Extended File Entries), empty when it has none.
    pub fn streams(&mut self, of: &Entry) -> Result<Vec<DirEntry>> {
        if !of.has_streams() {
            return Ok(Vec::new());
        }
        let sd = self.read_entry(of.file_entry.stream_directory_icb.location)?;
        self.read_dir(&sd)
    }
}

//! File entries: finding the entry in force through indirect entries (ICB strategies 4 and 4096), and
//! gathering its allocation descriptors through continuation extents.

use std::collections::HashSet;
use std::io::{Read, Seek};

use chrono::{DateTime, Utc};

use super::volume::Core;
use crate::error::{Checked, Error, Result};
use crate::format::ad::{self, AdForm, AllocationExtentDescriptor, ExtentType, LbAddr};
use crate::format::file_entry::{file_type, FileEntry, IndirectEntry};
use crate::format::tag::ident;

/// One extent of an entry's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataExtent {
    /// Recorded, or allocated/sparse (both read as zeros).
    pub extent_type: ExtentType,
    /// Length in bytes.
    pub length: u32,
    /// Where it starts.
    pub location: LbAddr,
}

/// Where an entry's data is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// Recorded inside the entry itself.
    Embedded(Vec<u8>),
    /// In extents.
    Extents(Vec<DataExtent>),
}

/// A file, directory, symbolic link or other object: its (Extended) File Entry and where its data is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The ICB the entry was reached through (what FIDs point at; hard links share it).
    pub icb: LbAddr,
    /// Where the entry in force was read (after any indirect entries).
    pub location: LbAddr,
    /// The entry; its `allocation_descriptors` are moved into [`Entry::data`].
    pub file_entry: FileEntry,
    /// The data.
    pub data: Data,
}

impl Entry {
    /// The ICB file type (one of [`file_type`]).
    pub fn file_type(&self) -> u8 {
        self.file_entry.icb_tag.file_type
    }

    /// Whether it is a directory (or a stream directory).
    pub fn is_dir(&self) -> bool {
        matches!(self.file_type(), file_type::DIRECTORY | file_type::STREAM_DIRECTORY)
    }

    /// Whether it is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.file_type() == file_type::SYMLINK
    }

    /// Whether it holds bytes to read as a regular file (regular, unspecified and real-time types).
    pub fn is_file(&self) -> bool {
        matches!(self.file_type(), file_type::REGULAR | file_type::UNSPECIFIED | file_type::REAL_TIME)
    }

    /// Size of the data in bytes.
    pub fn size(&self) -> u64 {
        self.file_entry.information_length
    }

    /// Full POSIX `st_mode`: file type bits and permissions.
    pub fn mode(&self) -> u32 {
        let kind = match self.file_type() {
            file_type::DIRECTORY | file_type::STREAM_DIRECTORY => 0o040000,
            file_type::SYMLINK => 0o120000,
            file_type::BLOCK_DEVICE => 0o060000,
            file_type::CHARACTER_DEVICE => 0o020000,
            file_type::FIFO => 0o010000,
            file_type::SOCKET => 0o140000,
            _ => 0o100000,
        };
        kind | self.file_entry.mode()
    }

    /// Modification time.
    pub fn mtime(&self) -> Option<DateTime<Utc>> {
        self.file_entry.modification_time.to_utc()
    }

    /// Access time.
    pub fn atime(&self) -> Option<DateTime<Utc>> {
        self.file_entry.access_time.to_utc()
    }

    /// Creation time (Extended File Entries only).
    pub fn ctime(&self) -> Option<DateTime<Utc>> {
        self.file_entry.creation_time.to_utc()
    }

    /// Whether it has named streams (an Extended File Entry with a stream directory).
    pub fn has_streams(&self) -> bool {
        self.file_entry.is_extended() && self.file_entry.stream_directory_icb.extent_length() > 0
    }
}

impl<R: Read + Seek> Core<R> {
    /// Reads the entry an ICB address points at, following indirect entries.
    pub(crate) fn read_entry(&mut self, icb: LbAddr) -> Result<Entry> {
        let max = self.opts.limits.max_indirect;
        // Almost always one entry: a list, searched linearly, costs nothing to set up (the hop limit bounds it).
        let mut seen: Vec<LbAddr> = Vec::new();
        let mut loc = icb;
        let mut hops = 0u32;
        let mut fallback: Option<(LbAddr, FileEntry)> = None;
        let (location, fe) = loop {
            if seen.contains(&loc) {
                return Err(Error::Loop { what: "indirect entries", block: u64::from(loc.block) });
            }
            seen.push(loc);
            let read = self.read_descriptor_at(
                loc,
                "file entry",
                &[ident::FILE_ENTRY, ident::EXTENDED_FILE_ENTRY, ident::INDIRECT_ENTRY],
            );
            let (tag, buf) = match (read, fallback.take()) {
                (Ok(x), _) => x,
                (Err(e), Some((l, fe))) => {
                    self.warn(format!("strategy 4096 ICB at block {}: {e}; using the previous entry", l.block));
                    break (l, fe);
                }
                (Err(e), None) => return Err(e),
            };
            if tag.identifier == ident::INDIRECT_ENTRY {
                let ie = IndirectEntry::parse(&buf)?;
                hops = hops.add_or(1, "indirect entries")?;
                if hops > max {
                    return Err(Error::Limit { what: "indirect entries followed", limit: u64::from(max) });
                }
                loc = ie.indirect_icb.location;
                continue;
            }
            let fe = FileEntry::parse(&buf)?;
            if fe.icb_tag.strategy_type == 4096 && hops < max {
                // UDF 2.60 2.3.5.1: the block after the direct entry may hold an indirect entry to a newer ICB.
                if let Some(next) = self.strategy_4096_next(loc) {
                    if !seen.contains(&next) {
                        hops = hops.add_or(1, "indirect entries")?;
                        fallback = Some((loc, fe));
                        loc = next;
                        continue;
                    }
                }
            }
            break (loc, fe);
        };
        self.finish_entry(icb, location, fe)
    }

    /// The ICB an indirect entry right after `loc` points at, if one is recorded there.
    fn strategy_4096_next(&mut self, loc: LbAddr) -> Option<LbAddr> {
        let next = LbAddr { block: loc.block.checked_add(1)?, partition: loc.partition };
        let buf = self.read_logical_block(next, false).ok()?;
        let (tag, problems) = crate::format::tag::verify(&buf, None).ok()?;
        if tag.identifier != ident::INDIRECT_ENTRY || !problems.is_empty() {
            return None;
        }
        let ie = IndirectEntry::parse(&buf).ok()?;
        (ie.indirect_icb.extent_length() > 0).then_some(ie.indirect_icb.location)
    }

    /// Collects the data extents of a parsed entry.
    pub(crate) fn finish_entry(&mut self, icb: LbAddr, location: LbAddr, mut fe: FileEntry) -> Result<Entry> {
        let Some(form) = fe.icb_tag.ad_form() else {
            return Err(Error::invalid(
                "file entry",
                u64::from(location.block),
                34,
                format!("reserved allocation descriptor form {}", fe.icb_tag.flags & 7),
            ));
        };
        let raw = std::mem::take(&mut fe.allocation_descriptors);
        let data = if form == AdForm::Embedded {
            Data::Embedded(raw)
        } else {
            Data::Extents(self.collect_extents(form, &raw, location)?)
        };
        Ok(Entry { icb, location, file_entry: fe, data })
    }

    fn collect_extents(&mut self, form: AdForm, raw: &[u8], location: LbAddr) -> Result<Vec<DataExtent>> {
        let max_extents = self.opts.limits.max_alloc / 16;
        let max_hops = self.opts.limits.max_continuations;
        let mut out = Vec::new();
        let mut list = ad::parse_list(form, raw, location.partition)?;
        let mut hops = 0u32;
        let mut seen = HashSet::new();
        'lists: loop {
            for a in list {
                if a.extent_type == ExtentType::Continuation {
                    hops = hops.add_or(1, "continuation extents")?;
                    if hops > max_hops {
                        return Err(Error::Limit { what: "continuation extents followed", limit: u64::from(max_hops) });
                    }
                    if !seen.insert(a.location) {
                        return Err(Error::Loop {
                            what: "allocation extent descriptors",
                            block: u64::from(a.location.block),
                        });
                    }
                    let (_, buf) = self.read_descriptor_at(
                        a.location,
                        "allocation extent descriptor",
                        &[ident::ALLOCATION_EXTENT],
                    )?;
                    let aed = AllocationExtentDescriptor::parse(&buf)?;
                    list = ad::parse_list(form, &aed.allocation_descriptors, a.location.partition)?;
                    continue 'lists;
                }
                if u64::try_from(out.len()).unwrap_or(u64::MAX) >= max_extents {
                    return Err(Error::Limit { what: "allocation descriptors of one entry", limit: max_extents });
                }
                out.push(DataExtent { extent_type: a.extent_type, length: a.length, location: a.location });
            }
            break;
        }
        Ok(out)
    }

    /// Reads all the data of an entry into memory (for directories, links, tables), at most `max_alloc`.
    pub(crate) fn read_all(&mut self, entry: &Entry) -> Result<Vec<u8>> {
        let size = entry.size();
        if size > self.opts.limits.max_alloc {
            return Err(Error::Limit { what: "metadata size in bytes", limit: self.opts.limits.max_alloc });
        }
        let mut out = vec![0u8; usize::try_from(size).map_err(|_| Error::Overflow { what: "entry size" })?];
        let mut reader = self.open_file(entry)?;
        let mut filled = 0usize;
        while let Some(dst) = out.get_mut(filled..).filter(|d| !d.is_empty()) {
            let n = reader.read_data(dst)?;
            if n == 0 {
                return Err(Error::invalid(
                    "entry",
                    u64::from(entry.location.block),
                    0,
                    format!("data ends after {filled} of {size} bytes"),
                ));
            }
            filled = filled.add_or(n, "entry size")?;
        }
        Ok(out)
    }
}

//! Listing directories: directory records, multi-extent and interleaved files, SUSP and Rock Ridge
//! (with continuation areas and relocated directories), and the names of each view.

use std::io::{Read, Seek};

use super::entry::{Entry, EntryKind, Extent};
use super::names::{decode_rock_ridge, enhanced_name, joliet_name, plain_name};
use super::{Image, View};
use crate::error::{Error, Result, Structure};
use crate::format::directory_record::{flags, DirectoryRecord};
use crate::format::rrip::RockRidge;
use crate::format::susp::{self, Continuation, ExtensionReference};
use crate::format::{SECTOR_SIZE, SECTOR_SIZE_U64};

/// Names under which genisoimage and libisofs keep relocated directories (RRIP 4.1.5).
const RELOCATION_DIRS: [&str; 2] = ["rr_moved", ".rr_moved"];

/// Whether `name` is one a relocation directory goes by: those of [`RELOCATION_DIRS`], or `.rr_moved.N`, which
/// odix's writer takes when the root already holds both.
fn relocation_dir_name(name: &str) -> bool {
    RELOCATION_DIRS.contains(&name)
        || name.strip_prefix(".rr_moved.").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Algorithm name of zisofs in a ZF entry.
const ZISOFS_ALGORITHM: [u8; 2] = *b"pz";

/// Algorithm name of zlib-compressed zisofs2 in a version 2 ZF or Z2 entry.
const ZISOFS2_ZLIB: [u8; 2] = *b"PZ";

/// The records of one file, gathered while its multi-extent records are read.
struct Pending {
    first: DirectoryRecord,
    lba: u64,
    extents: Vec<Extent>,
    size: u64,
}

enum Made {
    Entry(Box<Entry>),
    /// A relocated directory's entry in the relocation directory (RE): hidden in the Rock Ridge view.
    Relocated,
    /// Damaged and reported.
    Skipped,
}

fn data_lba(r: &DirectoryRecord) -> u64 {
    u64::from(r.extent.value()).saturating_add(u64::from(r.ext_attr_length))
}

/// The number of records in a directory extent (stopping in each sector at a zero or impossible length).
fn count_records(buf: &[u8]) -> u64 {
    let mut n = 0u64;
    for sector in buf.chunks(SECTOR_SIZE) {
        let mut pos = 0usize;
        while let Some(&len) = sector.get(pos) {
            if len < crate::format::directory_record::MIN_RECORD_LEN {
                break;
            }
            n = n.saturating_add(1);
            pos = pos.saturating_add(usize::from(len));
        }
    }
    n
}

/// The units of an interleaved file (ECMA-119 6.4.3): `unit` sectors of data, then `gap` sectors skipped.
fn interleaved(start: u64, len: u64, unit: u8, gap: u8, max: usize) -> Option<Vec<Extent>> {
    let unit_bytes = u64::from(unit).checked_mul(SECTOR_SIZE_U64)?;
    let step = u64::from(unit).checked_add(u64::from(gap))?;
    let mut v = Vec::new();
    let mut lba = start;
    let mut left = len;
    while left > 0 {
        if v.len() >= max {
            return None;
        }
        let n = unit_bytes.min(left);
        v.push(Extent { lba, length: n });
        left = left.checked_sub(n)?;
        lba = lba.checked_add(step)?;
    }
    Some(v)
}

impl<R: Read + Seek> Image<R> {
    /// The root directory of `view`.
    pub fn root(&mut self, view: View) -> Result<Entry> {
        let (rec, vd_lba) = match view {
            View::Joliet => match &self.joliet {
                Some((d, lba)) => (d.root.clone(), *lba),
                None => return Err(Error::Misuse("the volume has no Joliet tree")),
            },
            View::Enhanced => match &self.enhanced {
                Some((d, lba)) => (d.root.clone(), *lba),
                None => return Err(Error::Misuse("the volume has no enhanced volume descriptor (ISO 9660:1999)")),
            },
            View::RockRidge if self.rock_ridge().is_none() => {
                return Err(Error::Misuse("the volume has no Rock Ridge"));
            }
            _ => (self.primary.root.clone(), self.primary_lba),
        };
        let ext = Extent { lba: data_lba(&rec), length: u64::from(rec.data_length.value()) };
        self.src.check_extent(ext.lba, ext.length, Structure::Directory, vd_lba)?;
        let rr = if view == View::RockRidge {
            let sector =
                self.src.read_extent(ext.lba, SECTOR_SIZE_U64, Structure::Directory, ext.lba, self.opts.limits)?;
            let dot = DirectoryRecord::parse(&sector)
                .map_err(|e| Error::invalid(Structure::Directory, ext.lba, 0, e.to_string()))?;
            let at = self.susp.as_ref().map_or(0, |s| s.root_offset);
            Some(Box::new(self.gather_susp(dot.system_use.get(at..).unwrap_or_default(), ext.lba, true).0))
        } else {
            None
        };
        Ok(Entry {
            view,
            name: String::new(),
            identifier: vec![0],
            kind: EntryKind::Dir,
            size: ext.length,
            extents: vec![ext],
            recorded: rec.recorded.to_utc(),
            flags: rec.flags,
            rr,
            record_lba: vd_lba,
            multi_extent: false,
            zisofs: false,
            is_root: true,
        })
    }

    /// The entries of directory `dir` (without `.` and `..`), in recorded order. Damaged records are skipped
    /// and reported through [`Image::take_warnings`]; an error means the directory could not be read at all.
    ///
    /// In the Rock Ridge view a relocated directory appears at its original place (CL), its entry in the
    /// relocation directory is hidden (RE), and the relocation directory itself is hidden when nothing else
    /// is left in it.
    pub fn read_dir(&mut self, dir: &Entry) -> Result<Vec<Entry>> {
        Ok(self.read_dir_counted(dir)?.0)
    }

    fn read_dir_counted(&mut self, dir: &Entry) -> Result<(Vec<Entry>, usize)> {
        if dir.kind != EntryKind::Dir {
            return Err(Error::Misuse("read_dir called on something that is not a directory"));
        }
        let Some(ext) = dir.extents.first().copied() else {
            return Err(Error::Misuse("directory entry without an extent"));
        };
        let limits = self.opts.limits;
        let buf = self.src.read_extent(ext.lba, ext.length, Structure::Directory, ext.lba, limits)?;
        // Count the records first, so that an over-full directory is refused before anything is built.
        let records = count_records(&buf);
        if records.saturating_sub(2) > limits.max_dir_entries() {
            return Err(Error::LimitExceeded {
                structure: Structure::Directory,
                lba: ext.lba,
                what: "entries in one directory",
                value: records.saturating_sub(2),
                limit: limits.max_dir_entries(),
            });
        }
        let view = dir.view;
        let mut out: Vec<Entry> = Vec::new();
        let mut hidden = 0usize;
        let mut pending: Option<Pending> = None;
        // Records repeating the identifier just read (ECMA-119 7.5 wants each once per directory): counted
        // and reported once, so that a directory of a million copies of one name costs no memory.
        let mut last_id: Vec<u8> = Vec::new();
        let mut dups = 0u64;
        for (i, sector) in buf.chunks(SECTOR_SIZE).enumerate() {
            let lba = ext.lba.saturating_add(i as u64);
            let mut pos = 0usize;
            while let Some(rest) = sector.get(pos..) {
                if rest.first().copied().unwrap_or(0) == 0 {
                    break;
                }
                let rec = match DirectoryRecord::parse(rest) {
                    Ok(r) => r,
                    Err(e) => {
                        if self.opts.strict {
                            return Err(Error::invalid(Structure::Directory, lba, pos as u64, e.to_string()));
                        }
                        self.warn(Structure::Directory, lba, format!("offset {pos}: {e}; rest of the sector skipped"));
                        break;
                    }
                };
                let off = pos as u64;
                pos = pos.saturating_add(usize::from(rec.length));
                if rec.is_dot_or_dotdot() {
                    continue;
                }
                // Associated files (Apple resource forks) share their file's name; like Linux by default,
                // they are not shown.
                if rec.flags & flags::ASSOCIATED != 0 {
                    continue;
                }
                if pending.is_none() {
                    if rec.identifier == last_id {
                        dups = dups.saturating_add(1);
                        continue;
                    }
                    self.report_duplicates(lba, &last_id, &mut dups);
                    last_id.clear();
                    last_id.extend_from_slice(&rec.identifier);
                }
                let (e, d) = (rec.extent, rec.data_length);
                self.both_endian(
                    Structure::DirectoryRecord,
                    lba,
                    off.saturating_add(2),
                    "extent",
                    e.le.into(),
                    e.be.into(),
                )?;
                self.both_endian(
                    Structure::DirectoryRecord,
                    lba,
                    off.saturating_add(10),
                    "data length",
                    d.le.into(),
                    d.be.into(),
                )?;
                if out.len() as u64 >= limits.max_dir_entries() {
                    return Err(Error::LimitExceeded {
                        structure: Structure::Directory,
                        lba: ext.lba,
                        what: "entries in one directory",
                        value: (out.len() as u64).saturating_add(1),
                        limit: limits.max_dir_entries(),
                    });
                }
                let piece = Extent { lba: data_lba(&rec), length: u64::from(rec.data_length.value()) };
                if let Some(mut p) = pending.take() {
                    if p.first.identifier == rec.identifier && !rec.is_dir() {
                        p.extents.push(piece);
                        p.size = p.size.saturating_add(piece.length);
                        if rec.is_multi_extent() {
                            pending = Some(p);
                        } else {
                            self.push_made(&mut out, &mut hidden, view, p)?;
                        }
                        continue;
                    }
                    self.warn(
                        Structure::DirectoryRecord,
                        p.lba,
                        "multi-extent file without its final record; ended at the next name".into(),
                    );
                    self.push_made(&mut out, &mut hidden, view, p)?;
                }
                let p = Pending { size: piece.length, first: rec, lba, extents: vec![piece] };
                if p.first.is_multi_extent() && !p.first.is_dir() {
                    pending = Some(p);
                } else {
                    self.push_made(&mut out, &mut hidden, view, p)?;
                }
            }
        }
        self.report_duplicates(ext.lba, &last_id, &mut dups);
        if let Some(p) = pending {
            self.warn(Structure::DirectoryRecord, p.lba, "multi-extent file without its final record".into());
            self.push_made(&mut out, &mut hidden, view, p)?;
        }
        if view == View::RockRidge && dir.is_root {
            let mut keep = Vec::with_capacity(out.len());
            for e in out {
                if e.kind == EntryKind::Dir && relocation_dir_name(&e.name) {
                    if let Ok((inside, moved)) = self.read_dir_counted(&e) {
                        if inside.is_empty() && moved > 0 {
                            continue;
                        }
                    }
                }
                keep.push(e);
            }
            out = keep;
        }
        Ok((out, hidden))
    }

    fn report_duplicates(&mut self, lba: u64, id: &[u8], dups: &mut u64) {
        if *dups > 0 {
            let name = plain_name(id, false, self.opts.charset);
            self.warn(
                Structure::Directory,
                lba,
                format!("{dups} more records named {name:?} skipped (same identifier)"),
            );
            *dups = 0;
        }
    }

    fn push_made(&mut self, out: &mut Vec<Entry>, hidden: &mut usize, view: View, p: Pending) -> Result<()> {
        match self.make_entry(view, p)? {
            Made::Entry(e) => out.push(*e),
            Made::Relocated => *hidden = hidden.saturating_add(1),
            Made::Skipped => {}
        }
        Ok(())
    }

    fn make_entry(&mut self, view: View, mut p: Pending) -> Result<Made> {
        let identifier = std::mem::take(&mut p.first.identifier);
        let rec = &p.first;
        let is_dir = rec.is_dir();
        let rr = if view == View::RockRidge {
            let skip = usize::from(self.susp.as_ref().map_or(0, |s| s.skip));
            let su = rec.system_use.get(skip..).unwrap_or_default();
            Some(Box::new(self.gather_susp(su, p.lba, false).0))
        } else {
            None
        };
        if let Some(r) = &rr {
            if r.relocated && is_dir {
                return Ok(Made::Relocated);
            }
            if let Some(cl) = r.child_link {
                p.first.identifier = identifier;
                return self.relocated_dir(&p, r, u64::from(cl));
            }
        }
        let charset = self.opts.charset;
        let name = match view {
            View::Plain => plain_name(&identifier, is_dir, charset),
            View::Joliet => joliet_name(&identifier, is_dir),
            View::Enhanced => enhanced_name(&identifier, is_dir, charset),
            View::RockRidge => match rr.as_ref().and_then(|r| r.name.as_ref()) {
                Some(n) => decode_rock_ridge(n, charset),
                None => plain_name(&identifier, is_dir, charset),
            },
        };
        let kind = Entry::kind_from(rr.as_deref(), is_dir);
        let multi_extent = p.extents.len() > 1;
        let first = p.extents.first().copied();
        let mut extents: Vec<Extent> = std::mem::take(&mut p.extents);
        extents.retain(|e| e.length > 0);
        if kind == EntryKind::File && rec.file_unit_size != 0 && !multi_extent {
            let max = usize::try_from(self.opts.limits.max_alloc() / 16).unwrap_or(usize::MAX);
            match interleaved(data_lba(rec), p.size, rec.file_unit_size, rec.interleave_gap, max) {
                Some(v) => extents = v,
                None => {
                    self.warn(Structure::DirectoryRecord, p.lba, format!("{name:?}: interleaving too fine; skipped"));
                    return Ok(Made::Skipped);
                }
            }
        }
        if is_dir {
            extents.clear();
            extents.extend(first);
        }
        // Data past the end of the image (a truncated image, or an extent recorded beyond it): the entry is
        // still shown, with a warning; reading it yields what the image holds, then `DataPastEnd`.
        let missing = super::file::bytes_past_end(&extents, self.src.len());
        if missing > 0 {
            let first_past = extents
                .iter()
                .find_map(|e| self.src.check_extent(e.lba, e.length, Structure::DirectoryRecord, p.lba).err());
            if let (true, Some(err)) = (self.opts.strict, first_past) {
                return Err(err);
            }
            let stored = extents.iter().fold(0u64, |a, e| a.saturating_add(e.length));
            self.warn(
                Structure::DirectoryRecord,
                p.lba,
                format!(
                    "{name:?}: {missing} of its {stored} recorded bytes lie past the end of the image ({} bytes)",
                    self.src.len()
                ),
            );
        }
        let mut size = p.size;
        let mut zisofs = false;
        if let Some(zf) = rr.as_ref().and_then(|r| r.zf) {
            if kind == EntryKind::File {
                let known = zf.algorithm == ZISOFS_ALGORITHM || (zf.version == 2 && zf.algorithm == ZISOFS2_ZLIB);
                if let Some(why) = known.then(|| super::file::impossible_zf(&zf, p.size)).flatten() {
                    self.warn(
                        Structure::SystemUse,
                        p.lba,
                        format!("{name:?}: ZF entry ignored ({why}); shown as stored"),
                    );
                } else if known {
                    zisofs = true;
                    size = zf.uncompressed_size;
                } else {
                    self.warn(
                        Structure::SystemUse,
                        p.lba,
                        format!("{name:?}: compression {:?} is not read; shown as stored", zf.algorithm),
                    );
                }
            }
        }
        if kind == EntryKind::Symlink || kind == EntryKind::Other {
            size = 0;
        }
        Ok(Made::Entry(Box::new(Entry {
            view,
            name,
            identifier,
            kind,
            size,
            extents,
            recorded: rec.recorded.to_utc(),
            flags: rec.flags,
            rr,
            record_lba: p.lba,
            multi_extent,
            zisofs,
            is_root: false,
        })))
    }

    /// RRIP 4.1.5.1: a CL placeholder stands for the directory at `cl`, shown here with the placeholder's
    /// name and the attributes of the directory's own `.` record.
    fn relocated_dir(&mut self, p: &Pending, placeholder: &RockRidge, cl: u64) -> Result<Made> {
        let limits = self.opts.limits;
        let sector = match self.src.read_extent(cl, SECTOR_SIZE_U64, Structure::Directory, p.lba, limits) {
            Ok(s) => s,
            Err(e) => {
                self.warn(Structure::DirectoryRecord, p.lba, format!("relocated directory skipped: {e}"));
                return Ok(Made::Skipped);
            }
        };
        let dot = match DirectoryRecord::parse(&sector) {
            Ok(d) if d.identifier == [0] && d.is_dir() => d,
            _ => {
                self.warn(
                    Structure::DirectoryRecord,
                    p.lba,
                    format!("child link to LBA {cl} does not lead to a directory; skipped"),
                );
                return Ok(Made::Skipped);
            }
        };
        let skip = usize::from(self.susp.as_ref().map_or(0, |s| s.skip));
        let su = dot.system_use.get(skip..).unwrap_or_default();
        let mut rr = self.gather_susp(su, cl, false).0;
        rr.name = placeholder.name.clone();
        if rr.px.is_none() {
            rr.px = placeholder.px;
        }
        let ext = Extent { lba: cl, length: u64::from(dot.data_length.value()) };
        if let Err(err) = self.src.check_extent(ext.lba, ext.length, Structure::Directory, p.lba) {
            self.warn(Structure::DirectoryRecord, p.lba, format!("relocated directory skipped: {err}"));
            return Ok(Made::Skipped);
        }
        let charset = self.opts.charset;
        let name = match &rr.name {
            Some(n) => decode_rock_ridge(n, charset),
            None => plain_name(&p.first.identifier, true, charset),
        };
        Ok(Made::Entry(Box::new(Entry {
            view: View::RockRidge,
            name,
            identifier: p.first.identifier.clone(),
            kind: EntryKind::Dir,
            size: ext.length,
            extents: vec![ext],
            recorded: dot.recorded.to_utc(),
            flags: dot.flags,
            rr: Some(Box::new(rr)),
            record_lba: p.lba,
            multi_extent: false,
            zisofs: false,
            is_root: false,
        })))
    }

    /// Reads the SUSP entries of one system use field and its continuation areas into Rock Ridge attributes,
    /// with the extension references seen. Damage ends the gathering with a warning; what was read stays.
    pub(crate) fn gather_susp(&mut self, su: &[u8], lba: u64, root_dot: bool) -> (RockRidge, Vec<ExtensionReference>) {
        let limits = self.opts.limits;
        let mut rr = RockRidge::default();
        let mut ers = Vec::new();
        // The first area is read in place; continuation areas are read into `owned`.
        let mut owned: Option<Vec<u8>> = None;
        let mut area_lba = lba;
        let mut hops = 0u32;
        let mut seen: Vec<(u64, u64)> = Vec::new();
        loop {
            let mut next = None;
            let area: &[u8] = owned.as_deref().unwrap_or(su);
            for e in susp::entries(area) {
                let e = match e {
                    Ok(e) => e,
                    Err(se) => {
                        self.warn(
                            Structure::SystemUse,
                            area_lba,
                            format!("entry at offset {} has length {}; the rest is ignored", se.offset, se.length),
                        );
                        break;
                    }
                };
                match &e.signature {
                    b"CE" => match Continuation::parse(e.data) {
                        Some(c) => next = Some(c),
                        None => self.warn(Structure::SystemUse, area_lba, "truncated CE entry".into()),
                    },
                    b"ER" if root_dot => {
                        if let Some(er) = ExtensionReference::parse(e.data) {
                            ers.push(er);
                        }
                    }
                    b"SP" | b"PD" | b"ES" | b"ER" => {}
                    _ => {
                        if let Err(re) = rr.apply(&e) {
                            self.warn(
                                Structure::SystemUse,
                                area_lba,
                                format!(
                                    "malformed {} entry at offset {}; ignored",
                                    String::from_utf8_lossy(&re.signature),
                                    re.offset
                                ),
                            );
                        }
                    }
                }
            }
            let Some(ce) = next else { break };
            hops = hops.saturating_add(1);
            if hops > limits.max_continuations() {
                self.warn(
                    Structure::ContinuationArea,
                    lba,
                    format!("more than {} continuation areas; the rest is ignored", limits.max_continuations()),
                );
                break;
            }
            let key = (u64::from(ce.block.value()), u64::from(ce.offset.value()));
            if seen.contains(&key) {
                self.warn(
                    Structure::ContinuationArea,
                    key.0,
                    format!("continuation areas loop (offset {}); the rest is ignored", key.1),
                );
                break;
            }
            seen.push(key);
            match self.src.read_bytes(
                key.0,
                key.1,
                u64::from(ce.length.value()),
                Structure::ContinuationArea,
                lba,
                limits,
            ) {
                Ok(b) => {
                    owned = Some(b);
                    area_lba = key.0;
                }
                Err(err) => {
                    self.warn(Structure::ContinuationArea, lba, format!("not read: {err}"));
                    break;
                }
            }
        }
        (rr, ers)
    }

    /// Visits `root` and every entry below it, depth first, parents before children, with absolute paths
    /// (`/` for the root), up to `max_entries` entries and the depth limit. A directory that contains itself
    /// or an ancestor is not entered again; unreadable directories become warnings. Returns the number of
    /// entries visited.
    pub fn walk(&mut self, root: &Entry, max_entries: u64, visit: &mut dyn FnMut(&str, &Entry)) -> Result<u64> {
        let max_depth = self.opts.limits.max_depth();
        let mut count = 0u64;
        let mut stack: Vec<(Entry, String, u32, Vec<u64>)> = vec![(root.clone(), "/".to_string(), 0, Vec::new())];
        while let Some((e, path, depth, ancestors)) = stack.pop() {
            visit(&path, &e);
            count = count.saturating_add(1);
            if count >= max_entries {
                break;
            }
            if e.kind != EntryKind::Dir {
                continue;
            }
            let Some(id) = e.extents.first().map(|x| x.lba) else { continue };
            if ancestors.contains(&id) {
                self.warn(Structure::Directory, id, format!("{path}: directory contains itself or an ancestor"));
                continue;
            }
            if depth >= max_depth {
                self.warn(Structure::Directory, id, format!("{path}: deeper than {max_depth} levels"));
                continue;
            }
            let children = match self.read_dir(&e) {
                Ok(c) => c,
                Err(err) => {
                    self.warn(Structure::Directory, id, format!("{path}: {err}"));
                    continue;
                }
            };
            let mut anc = ancestors;
            anc.push(id);
            for c in children.into_iter().rev() {
                let p = if path == "/" { format!("/{}", c.name) } else { format!("{path}/{}", c.name) };
                stack.push((c, p, depth.saturating_add(1), anc.clone()));
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_units() {
        let v = interleaved(100, 5000, 1, 2, 100).unwrap();
        assert_eq!(
            v,
            vec![
                Extent { lba: 100, length: 2048 },
                Extent { lba: 103, length: 2048 },
                Extent { lba: 106, length: 904 }
            ]
        );
        assert!(interleaved(0, 1 << 30, 1, 0, 10).is_none());
    }
}

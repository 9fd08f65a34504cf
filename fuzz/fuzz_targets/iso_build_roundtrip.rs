//! Build round trip for ISO 9660: a random tree (directories, files with contents, symlinks, hard links, FIFOs
//! and devices, chains of directories deeper than 8 levels, long and colliding names) is laid out with
//! `odix_iso9660::write` under random options (level 1–4, Rock Ridge, Joliet, long Joliet names), written in
//! memory the way the module documentation orders it (system area, descriptors, metadata, then each data item
//! once), and read back with `odix_iso9660::Image` in every view:
//! - Rock Ridge: the tree exactly (names, kinds, contents, link targets, modes, owners, link counts and serials);
//! - Joliet: every entry at its depth with its contents, under unique names of at most 64 (103) UCS-2 units;
//! - plain ISO 9660 (enhanced at level 4): every file with its contents, under unique identifiers of
//!   d-characters in the shape of the level (8.3 at level 1; 30/31 characters at levels 2 and 3).
//!
//! Some files are stored zisofs-compressed (a Rock Ridge `ZF` entry): the Rock Ridge view reads them back
//! decompressed, the others show the stored form.
//!
//! Some entries are hidden from the ISO 9660 tree, the Joliet tree or both (mkisofs `-hide`, `-hide-joliet`):
//! each view must then show everything else and nothing of a hidden entry or what lies below it.
#![no_main]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use odix_iso9660::write::{
    zisofs, DataId, DeviceKind, FileData, Hidden, IsoLayout, IsoOptions, Meta, NodeId, NodeKind, Tree, WriteError,
    SECTOR, SYSTEM_AREA_SECTORS,
};
use odix_iso9660::{Entry, EntryKind, Image, Options, View};

/// Names that collide once mangled, look like the relocation directory, or carry versions and dots.
const TRICKY: &[&str] = &[
    "a.txt",
    "A.TXT",
    "a.TXT",
    "a.txt.",
    "a.txt;1",
    "a;1",
    "readme",
    "README",
    "read me",
    "verylongfilename_number_1.tar.gz",
    "verylongfilename_number_2.tar.gz",
    "verylongfilename_number_10.tar.gz",
    "rr_moved",
    "RR_MOVED",
    ".rr_moved",
    ".hidden",
    "..hidden",
    "...",
    "a.b.c.d",
    "_",
    "1",
    "10",
    "ab.",
    "\u{fc}mlaut",
    "\u{1F600}emoji",
    "x*y?z:w\\v",
    "name with spaces.and.dots",
    "A1",
    "a1",
];

#[derive(Arbitrary, Debug)]
enum Name {
    Raw(String),
    Tricky(u8),
    /// `len` copies of a character (long names: Rock Ridge NM over several entries, mangled ISO and Joliet
    /// names), with an extension when the flag is set.
    Long(u8, char, bool),
}

#[derive(Arbitrary, Debug)]
enum Kind {
    Dir,
    File(Vec<u8>),
    /// A zisofs-compressed file: the bytes repeated (1 + n % 8) times, so that some span several 32 KiB blocks.
    Zisofs(Vec<u8>, u8),
    /// Components joined with `/`; absolute when the flag is set.
    Symlink(bool, Vec<String>),
    /// A hard link to an earlier file (index among the files added so far).
    HardLink(u8),
    /// A chain of nested directories (up to 20 deep) ending in a file: relocation beyond 8 levels.
    Deep(u8, Vec<u8>),
    Fifo,
    Device(bool, u32, u32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    level: u8,
    rock_ridge: bool,
    joliet: bool,
    joliet_long: bool,
    /// (index of an earlier directory, name, kind, permission bits, uid, gid, mtime)
    entries: Vec<(u8, Name, Kind, u16, u16, u16, u32)>,
    /// (index of an entry added, hidden from the ISO 9660 tree, hidden from the Joliet tree)
    hide: Vec<(u8, bool, bool)>,
}

/// Whether `path` is one of `hidden` or lies below one.
fn under(path: &str, hidden: &[String]) -> bool {
    hidden.iter().any(|h| path == h || path.strip_prefix(h.as_str()).is_some_and(|rest| rest.starts_with('/')))
}

/// What the image must show at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    Dir,
    /// Contents and the file's serial number (shared by hard links).
    File(Vec<u8>, u32),
    Symlink(String),
    Fifo,
    Device(bool, u32, u32),
}

/// What the Rock Ridge view must show for a path: kind, `st_mode`, owner, group, mtime.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    what: Expect,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
}

fn name_of(n: Name) -> String {
    match n {
        Name::Raw(s) => s,
        Name::Tricky(i) => TRICKY[usize::from(i) % TRICKY.len()].to_string(),
        Name::Long(len, c, ext) => {
            let c = if c == '/' || c == '\0' { 'q' } else { c };
            let mut s: String = std::iter::repeat(c).take(usize::from(len).max(1)).collect();
            // Keep Rock Ridge names within what Linux accepts (255 bytes).
            while s.len() > 240 {
                s.pop();
            }
            if ext {
                s.push_str(".ext");
            }
            s
        }
    }
}

fn mode_of(e: &Expect, perm: u32) -> u32 {
    let t = match e {
        Expect::Dir => 0o040000,
        Expect::File(..) => 0o100000,
        Expect::Symlink(_) => 0o120000,
        Expect::Fifo => 0o010000,
        Expect::Device(true, ..) => 0o060000,
        Expect::Device(false, ..) => 0o020000,
    };
    t | (perm & 0o7777)
}

/// Walks a view from its root: `(path, depth, entry)` of every entry, directories listed through `read_dir`.
fn walk<R: Read + std::io::Seek>(img: &mut Image<R>, view: View) -> Vec<(String, usize, Entry)> {
    let root = img.root(view).unwrap_or_else(|e| panic!("root of the {view:?} view: {e}"));
    let mut out = Vec::new();
    let mut stack = vec![(root, String::new(), 0usize)];
    while let Some((dir, path, depth)) = stack.pop() {
        let children = img.read_dir(&dir).unwrap_or_else(|e| panic!("listing {path}/ in the {view:?} view: {e}"));
        let mut names = HashSet::new();
        for child in children {
            let p = format!("{path}/{}", child.name());
            assert!(names.insert(child.identifier().to_vec()), "{view:?}: {p} recorded twice in one directory");
            if child.kind() == EntryKind::Dir {
                stack.push((child.clone(), p.clone(), depth + 1));
            }
            if std::env::var_os("ISO_BUILD_ROUNDTRIP_DEBUG").is_some() {
                eprintln!("{view:?} {p} {:?} {} {:?}", child.kind(), child.size(), child.extents());
            }
            out.push((p, depth + 1, child));
        }
    }
    out
}

fn read_all<R: Read + std::io::Seek>(img: &mut Image<R>, e: &Entry, path: &str) -> Vec<u8> {
    let mut data = Vec::new();
    img.open_file(e)
        .unwrap_or_else(|err| panic!("opening {path}: {err}"))
        .read_to_end(&mut data)
        .unwrap_or_else(|err| panic!("reading {path}: {err}"));
    data
}

/// Whether `id` is a plain identifier of `level` (ECMA-119 7.5, 7.6; ISO 9660:1999 7.5 at level 4).
fn valid_identifier(id: &[u8], is_dir: bool, level: u8) -> bool {
    let d = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_';
    if level >= 4 {
        return !id.is_empty() && id.len() <= 207 && !id.contains(&b'/') && id.iter().all(|&c| c >= 0x02);
    }
    if is_dir {
        let max = if level == 1 { 8 } else { 31 };
        return !id.is_empty() && id.len() <= max && id.iter().all(d);
    }
    let Some(v) = id.strip_suffix(b";1") else { return false };
    let Some(dot) = v.iter().position(|&c| c == b'.') else { return false };
    let (name, ext) = (&v[..dot], &v[dot + 1..]);
    let shape = if level == 1 { name.len() <= 8 && ext.len() <= 3 } else { name.len() + ext.len() <= 30 };
    shape && !(name.is_empty() && ext.is_empty()) && name.iter().all(d) && ext.iter().all(d)
}

fuzz_target!(|input: Input| {
    // ISO_BUILD_ROUNDTRIP_DEBUG=1 shows the decoded input (with `cargo fuzz run TARGET FILE`).
    if std::env::var_os("ISO_BUILD_ROUNDTRIP_DEBUG").is_some() {
        eprintln!("{input:#?}");
    }
    let level = input.level % 4 + 1;
    let opts = IsoOptions::default()
        .level(level)
        .rock_ridge(input.rock_ridge)
        .joliet(input.joliet)
        .joliet_long(input.joliet_long)
        .time(1_700_000_000);
    let root_meta =
        Meta { perm: 0o755, mtime: 1_600_000_000, atime: 1_600_000_000, ctime: 1_600_000_000, ..Meta::default() };
    let mut tree = Tree::new(root_meta);
    let mut dirs: Vec<(NodeId, String, usize)> = vec![(Tree::ROOT, String::new(), 0)];
    // Per data item: the bytes stored on the image, the file's own bytes, and the zisofs size when compressed.
    let mut contents: Vec<Vec<u8>> = Vec::new();
    let mut originals: Vec<Vec<u8>> = Vec::new();
    let mut zsizes: Vec<Option<u32>> = Vec::new();
    // The stored form of every zisofs-compressed path (what the Joliet and plain views show).
    let mut stored_of: HashMap<String, Vec<u8>> = HashMap::new();
    // (data id, size, serial) of every file added, for hard links.
    let mut files: Vec<(DataId, u64, u32)> = Vec::new();
    let mut expected: BTreeMap<String, (Expect, Meta)> = BTreeMap::new();
    let mut next_ino = 1000u32;
    let mut duplicate = false;
    // Every entry added, for hiding some.
    let mut added: Vec<(NodeId, String)> = Vec::new();
    for (parent, name, kind, perm, uid, gid, mtime) in input.entries.into_iter().take(64) {
        let (mut pid, mut ppath, mut depth) = dirs[usize::from(parent) % dirs.len()].clone();
        let name = name_of(name);
        next_ino += 1;
        let mut meta = Meta {
            perm: u32::from(perm) & 0o7777,
            uid: u32::from(uid),
            gid: u32::from(gid),
            mtime: i64::from(mtime & 0x7fff_ffff),
            atime: i64::from(mtime & 0x7fff_ffff),
            ctime: i64::from(mtime & 0x7fff_ffff),
            ino: next_ino,
        };
        let mut file = |data: Vec<u8>, files: &mut Vec<(DataId, u64, u32)>, ino: u32, zip: bool| {
            let id = DataId(contents.len() as u32);
            let (stored, zsize) = if zip {
                let mut z = Vec::new();
                zisofs::compress(&mut Cursor::new(&data), || Ok(Cursor::new(&data)), data.len() as u32, &mut z)
                    .expect("compressing in memory");
                (z, Some(data.len() as u32))
            } else {
                (data.clone(), None)
            };
            let size = stored.len() as u64;
            contents.push(stored.clone());
            originals.push(data.clone());
            zsizes.push(zsize);
            files.push((id, size, ino));
            let kind = NodeKind::File(FileData { data: id, stored_size: size, zisofs_size: zsize });
            (kind, Expect::File(data, ino), zip.then_some(stored))
        };
        let (node_kind, expect, stored) = match kind {
            Kind::Dir => (NodeKind::Dir, Expect::Dir, None),
            Kind::File(mut data) => {
                data.truncate(5000);
                file(data, &mut files, meta.ino, false)
            }
            Kind::Zisofs(mut data, n) => {
                data.truncate(20_000);
                file(data.repeat(1 + usize::from(n % 8)), &mut files, meta.ino, true)
            }
            Kind::Symlink(abs, comps) => {
                let comps: Vec<String> = comps
                    .into_iter()
                    .take(8)
                    .filter(|c| !c.is_empty() && c != "." && !c.contains(['/', '\0']))
                    .collect();
                if comps.is_empty() {
                    continue;
                }
                let target = format!("{}{}", if abs { "/" } else { "" }, comps.join("/"));
                (NodeKind::Symlink(target.as_bytes().into()), Expect::Symlink(target), None)
            }
            Kind::HardLink(i) => {
                if files.is_empty() {
                    continue;
                }
                let (id, size, ino) = files[usize::from(i) % files.len()];
                meta.ino = ino;
                let i = id.0 as usize;
                let zisofs_size = zsizes[i];
                let stored = zisofs_size.map(|_| contents[i].clone());
                let kind = NodeKind::File(FileData { data: id, stored_size: size, zisofs_size });
                (kind, Expect::File(originals[i].clone(), ino), stored)
            }
            Kind::Deep(n, data) => {
                // Directories named after the chain's name with their depth, then the file.
                for k in 0..(n % 21) {
                    let dname = format!("{}{k}", name.chars().take(20).collect::<String>());
                    if tree.lookup(pid, dname.as_bytes()).is_some() {
                        break;
                    }
                    let Ok(id) = tree.add(pid, dname.as_bytes(), NodeKind::Dir, meta) else { break };
                    let p = format!("{ppath}/{dname}");
                    added.push((id, p.clone()));
                    expected.insert(p.clone(), (Expect::Dir, meta));
                    depth += 1;
                    dirs.push((id, p.clone(), depth));
                    (pid, ppath) = (id, p);
                    next_ino += 1;
                    meta.ino = next_ino;
                }
                let mut data = data;
                data.truncate(3000);
                file(data, &mut files, meta.ino, false)
            }
            Kind::Fifo => (NodeKind::Fifo, Expect::Fifo, None),
            Kind::Device(block, major, minor) => {
                // Linux writers record a whole dev_t in the low word when the high one is 0, and readers decode
                // it so: only non-zero majors are recorded as given.
                let major = major.max(1);
                let kind = if block { DeviceKind::Block } else { DeviceKind::Char };
                (NodeKind::Device { kind, major, minor }, Expect::Device(block, major, minor), None)
            }
        };
        let is_dir = matches!(node_kind, NodeKind::Dir);
        // `Tree::add` does not search the directory for the name; the layout must refuse the tree then.
        if tree.lookup(pid, name.as_bytes()).is_some() {
            duplicate = true;
        }
        // A refused name leaves its data item in the table with no node referring to it (not placed below).
        let Ok(id) = tree.add(pid, name.as_bytes(), node_kind, meta) else { continue };
        let path = format!("{ppath}/{name}");
        if is_dir {
            dirs.push((id, path.clone(), depth + 1));
        }
        added.push((id, path.clone()));
        if let Some(st) = stored {
            stored_of.insert(path.clone(), st);
        }
        expected.insert(path, (expect, meta));
    }
    let (mut hidden_iso, mut hidden_joliet) = (Vec::new(), Vec::new());
    if !added.is_empty() {
        for (i, iso, joliet) in input.hide.into_iter().take(8) {
            let (id, path) = &added[usize::from(i) % added.len()];
            tree.set_hidden(*id, Hidden { iso, joliet, udf: false });
            // A later choice of the same entry replaces the earlier one.
            hidden_iso.retain(|p| p != path);
            hidden_joliet.retain(|p| p != path);
            if iso {
                hidden_iso.push(path.clone());
            }
            if joliet {
                hidden_joliet.push(path.clone());
            }
        }
    }

    // Lay out and place: system area, descriptors and terminator, metadata, then each referenced data item once.
    let mut layout = match IsoLayout::new(&tree, opts) {
        Err(WriteError::DuplicateName { .. }) if duplicate => return,
        Err(e) => panic!("laying out a valid tree: {e}"),
        Ok(_) if duplicate => panic!("a tree with a name twice in one directory was laid out"),
        Ok(l) => l,
    };
    let meta_start = SYSTEM_AREA_SECTORS + layout.descriptor_count() + 1;
    let data_start = layout.place_metadata(meta_start).expect("placing the metadata");
    let mut referenced = vec![false; contents.len()];
    for id in tree.ids() {
        if let Some(NodeKind::File(f)) = tree.kind(id) {
            referenced[f.data.0 as usize] = true;
        }
    }
    let mut lba = vec![0u32; contents.len()];
    let mut at = data_start;
    for (i, c) in contents.iter().enumerate() {
        if referenced[i] && !c.is_empty() {
            lba[i] = at;
            at += c.len().div_ceil(SECTOR) as u32;
        }
    }
    let total = at;
    let mut image = vec![0u8; SYSTEM_AREA_SECTORS as usize * SECTOR];
    image.extend_from_slice(&layout.primary_descriptor(total).expect("primary descriptor"));
    if let Some(j) = layout.joliet_descriptor(total).expect("Joliet descriptor") {
        image.extend_from_slice(&j);
    }
    if let Some(e) = layout.enhanced_descriptor(total).expect("enhanced descriptor") {
        image.extend_from_slice(&e);
    }
    image.extend_from_slice(&IsoLayout::terminator());
    assert_eq!(image.len(), meta_start as usize * SECTOR, "descriptors differ from descriptor_count");
    let written = layout.write_metadata(&mut image, &|id: DataId| lba[id.0 as usize]).expect("writing the metadata");
    assert_eq!(written, u64::from(data_start - meta_start) * SECTOR as u64, "metadata size differs from its plan");
    assert_eq!(image.len(), data_start as usize * SECTOR);
    for (i, c) in contents.iter().enumerate() {
        if referenced[i] && !c.is_empty() {
            assert_eq!(image.len(), lba[i] as usize * SECTOR);
            image.extend_from_slice(c);
            image.resize(image.len().next_multiple_of(SECTOR), 0);
        }
    }
    assert_eq!(image.len(), total as usize * SECTOR);

    let mut img = Image::open(Cursor::new(&image), Options::default().strict(true)).expect("opening a built image");
    assert_eq!(img.rock_ridge().is_some(), input.rock_ridge, "Rock Ridge detection");
    assert_eq!(img.joliet().is_some(), input.joliet, "Joliet descriptor");
    assert_eq!(img.enhanced().is_some(), level == 4, "enhanced descriptor");
    assert_eq!(img.check_path_tables().map(|_| ()).map_err(|e| e.to_string()), Ok(()), "path tables");

    // Joliet: every entry at its depth (no relocation there), with symlinks, FIFOs and devices as empty files.
    // Plain: every non-empty file (empty records also stand for symlinks and relocated directories there).
    let mut want_files: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut want_by_depth: BTreeMap<(usize, Option<Vec<u8>>), usize> = BTreeMap::new();
    for (p, (e, _)) in &expected {
        let depth = p.matches('/').count();
        let key = match e {
            Expect::Dir => None,
            Expect::File(data, _) => Some(stored_of.get(p).unwrap_or(data).clone()),
            _ => Some(Vec::new()),
        };
        if let Some(k) = key.as_ref().filter(|k| !k.is_empty() && !under(p, &hidden_iso)) {
            *want_files.entry(k.clone()).or_default() += 1;
        }
        if !under(p, &hidden_joliet) {
            *want_by_depth.entry((depth, key)).or_default() += 1;
        }
    }
    // Serials with a name hidden from the ISO 9660 tree: their link count still counts that name.
    let partly_hidden: HashSet<u32> = expected
        .iter()
        .filter(|(p, (e, _))| matches!(e, Expect::File(..)) && under(p, &hidden_iso))
        .filter_map(|(_, (e, _))| if let Expect::File(_, ino) = e { Some(*ino) } else { None })
        .collect();

    if input.rock_ridge {
        let entries = walk(&mut img, View::RockRidge);
        let mut found: BTreeMap<String, Seen> = BTreeMap::new();
        let mut nlinks: HashMap<u32, (u32, usize)> = HashMap::new();
        for (p, _, e) in entries {
            let ino = e.ino().unwrap_or_else(|| panic!("{p}: no serial number"));
            let what = match e.kind() {
                EntryKind::Dir => Expect::Dir,
                EntryKind::Symlink => {
                    Expect::Symlink(e.symlink_target().unwrap_or_else(|| panic!("{p}: symlink without target")))
                }
                EntryKind::File => {
                    let data = read_all(&mut img, &e, &p);
                    let n = e.nlink().unwrap_or_else(|| panic!("{p}: no link count"));
                    let slot = nlinks.entry(ino).or_insert((n, 0));
                    assert_eq!(slot.0, n, "{p}: hard links disagree on the link count");
                    slot.1 += 1;
                    Expect::File(data, ino)
                }
                EntryKind::Other => {
                    let mode = e.mode().unwrap_or(0);
                    match mode & 0o170000 {
                        0o010000 => Expect::Fifo,
                        t @ (0o060000 | 0o020000) => {
                            let (ma, mi) = e.device().unwrap_or_else(|| panic!("{p}: device without PN"));
                            Expect::Device(t == 0o060000, ma, mi)
                        }
                        t => panic!("{p}: unexpected type {t:o}"),
                    }
                }
            };
            let seen = Seen {
                what,
                mode: e.mode().unwrap_or_else(|| panic!("{p}: no mode")),
                uid: e.uid().unwrap_or(u32::MAX),
                gid: e.gid().unwrap_or(u32::MAX),
                mtime: e.mtime().map_or(i64::MIN, |t| t.timestamp()),
            };
            assert!(found.insert(p.clone(), seen).is_none(), "{p} listed twice");
        }
        for (ino, (n, count)) in &nlinks {
            if partly_hidden.contains(ino) {
                assert!(*count <= *n as usize, "serial {ino}: link count {n}, {count} names");
            } else {
                assert_eq!(*n as usize, *count, "serial {ino}: link count {n}, {count} names");
            }
        }
        // Serials of files read back equal the serials given (hard links share theirs).
        let want: BTreeMap<String, Seen> = expected
            .iter()
            .filter(|(p, _)| !under(p, &hidden_iso))
            .map(|(p, (e, m))| {
                let seen = Seen { what: e.clone(), mode: mode_of(e, m.perm), uid: m.uid, gid: m.gid, mtime: m.mtime };
                (p.clone(), seen)
            })
            .collect();
        assert_eq!(found, want, "Rock Ridge view differs from the tree built (level {level})");
    }

    if input.joliet {
        let max = if input.joliet_long { 103 } else { 64 };
        let mut got: BTreeMap<(usize, Option<Vec<u8>>), usize> = BTreeMap::new();
        for (p, depth, e) in walk(&mut img, View::Joliet) {
            let units = e.identifier().len() / 2;
            assert!(units <= max, "Joliet {p}: {units} units");
            let key = match e.kind() {
                EntryKind::Dir => None,
                EntryKind::File => Some(read_all(&mut img, &e, &p)),
                k => panic!("Joliet {p}: kind {k:?}"),
            };
            *got.entry((depth, key)).or_default() += 1;
        }
        assert_eq!(got, want_by_depth, "Joliet view differs from the tree built");
    }

    let view = if level == 4 { View::Enhanced } else { View::Plain };
    let mut got: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for (p, _, e) in walk(&mut img, view) {
        let is_dir = e.kind() == EntryKind::Dir;
        // A relocated directory leaves an empty file record with its directory identifier in its parent (the
        // Rock Ridge CL placeholder; genisoimage records the same).
        let placeholder = !is_dir && e.size() == 0 && valid_identifier(e.identifier(), true, level);
        assert!(
            placeholder || valid_identifier(e.identifier(), is_dir, level),
            "{view:?} {p}: identifier {:?} not valid at level {level}",
            String::from_utf8_lossy(e.identifier())
        );
        if !is_dir {
            let data = read_all(&mut img, &e, &p);
            if !data.is_empty() {
                *got.entry(data).or_default() += 1;
            }
        }
    }
    assert_eq!(got, want_files, "{view:?} view: files differ from the tree built");
    assert_eq!(img.take_warnings(), Vec::new(), "warnings reading a built image");
});

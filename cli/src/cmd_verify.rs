//! `odix verify IMAGE`: checks a raw image sector by sector (sync, header, EDC, ECC), optionally writes a
//! repaired copy; checks the MD5 tags xorriso/libisofs records in ISO images (`-md5 on`); compares the image's
//! tree with a folder; prints CRC32/MD5/SHA-1 of the image and its tracks.
//!
//! # libisofs MD5 tags
//! libisofs (xorriso `-md5 on`, `xorriso -as mkisofs --md5`) writes "checksum tags": one 2048-byte block each,
//! holding one line of text padded with zero bytes:
//!
//! ```text
//! libisofs_sb_checksum_tag_v1 pos=18 range_start=0 range_size=18 next=23 md5=<32 hex> self=<32 hex>\n
//! ```
//!
//! `pos` is the block the tag is meant to be in, `md5` the MD5 of the `range_size` blocks from
//! `range_start`, and `self` the MD5 of the tag's own text up to the last hex digit of `md5`. The superblock tag
//! (`libisofs_sb_checksum_tag_v1`) follows the volume descriptors, the tree tag
//! (`libisofs_tree_checksum_tag_v1`) the directory records, the session tag (`libisofs_checksum_tag_v1`) all
//! of the session's data; `next` points from one to the next. `libisofs_rlsb32_checksum_tag_v1` (with a
//! `session_start` field) covers the copy of the superblock at LBA 0 that xorriso writes when it emulates
//! multi-session on a file or overwriteable medium. Just before the session tag lies the checksum array:
//! 16-byte MD5 entries, entry 0 the MD5 of the session up to the array, then one entry per data file, then the
//! MD5 of all entries before it. Which entry belongs to which file is recorded in each file's AAIP attribute
//! `isofs.cx`; odix checks instead that the MD5 of every file's data in the session is one of the entries.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use odix_cdrip::cue::{CueSheet, TrackMode};
use odix_cdrip::hash::{self, Hasher};
use odix_cdrip::image::{RawDisc, SheetKind};
use odix_cdrip::sector::{self, Repair};

use crate::cmd_read::{self, ImageArgs};
use crate::view::{Kind, Node, Tree};

/// `odix verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Write a repaired copy of a raw image: OUT is the new `.cue` (or `.ccd`); its data files are written
    /// beside it. The input is never changed.
    #[arg(long, value_name = "OUT")]
    pub repair: Option<PathBuf>,
    /// Compare the image's tree with this folder: names, types, sizes, contents, symlink targets.
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,
    /// Do not compute CRC32/MD5/SHA-1 of the image and its tracks.
    #[arg(long)]
    pub no_hashes: bool,
    /// Print a redump-style DAT entry with this game name.
    #[arg(long, value_name = "NAME")]
    pub dat: Option<String>,
    /// Replace the repaired copy's files if they exist.
    #[arg(short, long)]
    pub force: bool,
}

pub fn verify(args: VerifyArgs) -> Result<u8> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    let path = args.image.image.clone();
    let raw = matches!(
        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
        Some("cue") | Some("ccd")
    );
    if raw {
        let mut disc = RawDisc::open(&path)?;
        let bad = check_sectors(&mut disc, &mut out)?;
        if let Some(dest) = &args.repair {
            failed |= !repair_copy(&mut disc, &bad, dest, args.force, &mut out)?;
        } else {
            failed |= !bad.is_empty();
        }
        // The file system of the data track may carry xorriso's MD5 tags too.
        if disc.tracks().iter().any(|t| t.mode.is_data()) {
            failed |= !md5_tags_ok(&args.image, &mut out)?;
        }
        if !args.no_hashes || args.dat.is_some() {
            let h = hash::hash_image(&disc)?;
            if !args.no_hashes {
                writeln!(out, "Hashes (size, CRC32, MD5, SHA-1):")?;
                writeln!(out, "  image     {} {} {} {}", h.image.size, h.image.crc32, h.image.md5, h.image.sha1)?;
                for (n, t) in &h.tracks {
                    writeln!(out, "  track {n:02}  {} {} {} {}", t.size, t.crc32, t.md5, t.sha1)?;
                }
            }
            if let Some(name) = &args.dat {
                write!(out, "{}", hash::dat_entry(name, &h))?;
            }
        }
    } else {
        if args.repair.is_some() {
            bail!("{}: --repair needs a raw image (.cue or .ccd): an ISO image has no EDC/ECC", path.display());
        }
        failed |= !check_md5_tags(&args.image, &mut out)?;
        if !args.no_hashes {
            let mut f = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
            let mut h = Hasher::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            let h = h.finish();
            writeln!(out, "Hashes (size, CRC32, MD5, SHA-1):")?;
            writeln!(out, "  image     {} {} {} {}", h.size, h.crc32, h.md5, h.sha1)?;
        }
    }
    if let Some(dir) = &args.against {
        let (_src, _opts, mut tree) = args.image.tree()?;
        let diffs = compare_with_dir(tree.as_mut(), dir, &mut out)?;
        if diffs == 0 {
            writeln!(out, "Tree: identical to {}", dir.display())?;
        } else {
            writeln!(out, "Tree: {diffs} difference(s) from {}", dir.display())?;
            failed = true;
        }
    }
    out.flush()?;
    Ok(if failed { 1 } else { 0 })
}

/// One bad sector found by [`check_sectors`].
struct BadSector {
    track: usize,
    lba: i64,
}

/// Checks every stored sector of every data track that stores raw sectors; prints the bad ones.
fn check_sectors(disc: &mut RawDisc, out: &mut dyn Write) -> Result<Vec<BadSector>> {
    let mut bad = Vec::new();
    let mut checked = 0u64;
    let tracks: Vec<_> = disc.tracks().to_vec();
    // A progress bar on stderr (drawn only when it is a terminal).
    let total: u64 = tracks
        .iter()
        .filter(|t| {
            matches!(
                t.mode,
                TrackMode::Mode1_2352
                    | TrackMode::Mode2_2352
                    | TrackMode::Mode2_2336
                    | TrackMode::Cdi2352
                    | TrackMode::Cdi2336
            )
        })
        .map(|t| t.stored)
        .sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {elapsed_precise} checking sectors")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (ti, t) in tracks.iter().enumerate() {
        match t.mode {
            TrackMode::Audio | TrackMode::Cdg => {
                bar.suspend(|| {
                    writeln!(out, "Track {:02}: audio, {} sectors, not checked (no EDC/ECC)", t.number, t.stored)
                })?;
                continue;
            }
            TrackMode::Mode1_2048 | TrackMode::Mode2_2048 | TrackMode::Mode2_2324 => {
                bar.suspend(|| {
                    writeln!(
                        out,
                        "Track {:02}: {} stores user data only, {} sectors, nothing to check",
                        t.number, t.mode, t.stored
                    )
                })?;
                continue;
            }
            _ => {}
        }
        let mut track_bad = 0u64;
        for lba in t.first_lba..t.end_lba() {
            let s = disc.read_raw(ti, lba)?;
            let c = sector::check(&s, Some(lba));
            checked += 1;
            if checked % 1024 == 0 {
                bar.set_position(checked);
            }
            if !c.is_ok() {
                bar.suspend(|| writeln!(out, "LBA {lba} (track {:02}): {}", t.number, c.describe()))?;
                bad.push(BadSector { track: ti, lba });
                track_bad += 1;
            }
        }
        bar.suspend(|| {
            writeln!(out, "Track {:02}: {}, {} sectors checked, {} bad", t.number, t.mode, t.stored, track_bad)
        })?;
    }
    bar.finish_and_clear();
    writeln!(
        out,
        "Sectors: {checked} checked, {} bad{}",
        bad.len(),
        if bad.is_empty() { "" } else { " (sync, header, EDC or ECC)" }
    )?;
    Ok(bad)
}

/// Writes a repaired copy of `disc` described by `dest`; returns whether every bad sector was fixed.
fn repair_copy(disc: &mut RawDisc, bad: &[BadSector], dest: &Path, force: bool, out: &mut dyn Write) -> Result<bool> {
    let want = match disc.kind() {
        SheetKind::Cue => "cue",
        SheetKind::CloneCd => "ccd",
    };
    let ext = dest.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if ext.as_deref() != Some(want) {
        bail!("{}: the repaired copy of a .{want} image must be named NAME.{want}", dest.display());
    }
    let files: Vec<PathBuf> = disc.files().iter().map(|f| f.path.clone()).collect();
    // Where each file goes.
    let stem = dest.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "repaired".into());
    let dir = dest.parent().unwrap_or(Path::new(""));
    let targets: Vec<PathBuf> = match disc.kind() {
        SheetKind::CloneCd => vec![dest.with_extension("img")],
        SheetKind::Cue if files.len() == 1 => vec![dir.join(format!("{stem}.bin"))],
        SheetKind::Cue => (1..=files.len()).map(|i| dir.join(format!("{stem} (File {i}).bin"))).collect(),
    };
    let mut all = targets.clone();
    all.push(dest.to_path_buf());
    for t in &all {
        if !force && t.exists() {
            bail!("{} exists (use --force to replace it)", t.display());
        }
        if files.iter().any(|f| same_file(f, t)) || same_file(disc.sheet_path(), t) {
            bail!("{}: the repaired copy must not overwrite the input", t.display());
        }
    }
    for (from, to) in files.iter().zip(&targets) {
        std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    match disc.kind() {
        SheetKind::CloneCd => {
            let text =
                std::fs::read(disc.sheet_path()).with_context(|| format!("reading {}", disc.sheet_path().display()))?;
            std::fs::write(dest, text).with_context(|| format!("writing {}", dest.display()))?;
            if let Some(sub) = disc.subchannel() {
                let to = dest.with_extension("sub");
                std::fs::copy(sub, &to).with_context(|| format!("copying {}", sub.display()))?;
            }
        }
        SheetKind::Cue => {
            let mut sheet: CueSheet = disc.cue().cloned().context("CUE sheet missing")?;
            for (f, t) in sheet.files.iter_mut().zip(&targets) {
                f.name = t.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            }
            std::fs::write(dest, sheet.to_text()).with_context(|| format!("writing {}", dest.display()))?;
        }
    }
    let mut fixed = 0usize;
    let mut handles: Vec<Option<File>> = targets.iter().map(|_| None).collect();
    for b in bad {
        let t = disc.tracks()[b.track].clone();
        let mut s = disc.read_raw(b.track, b.lba)?;
        let before = sector::check(&s, Some(b.lba));
        let r = sector::repair(&mut s);
        let after = sector::check(&s, Some(b.lba));
        match r {
            Repair::Fixed { bytes, kind } if after.is_ok() => {
                let rel = u64::try_from(b.lba - t.first_lba).unwrap_or(0);
                let size = u64::from(t.sector_size());
                let offset = t.file_offset + rel * size;
                // A 2336-byte track stores the sector without its sync and header.
                let bytes_out = if size == 2352 { &s[..] } else { &s[16..] };
                let h = &mut handles[t.file];
                if h.is_none() {
                    *h = Some(
                        std::fs::OpenOptions::new()
                            .write(true)
                            .open(&targets[t.file])
                            .with_context(|| format!("opening {}", targets[t.file].display()))?,
                    );
                }
                if let Some(f) = h.as_mut() {
                    f.seek(SeekFrom::Start(offset))?;
                    f.write_all(bytes_out).with_context(|| format!("writing {}", targets[t.file].display()))?;
                }
                writeln!(out, "LBA {}: fixed ({bytes} bytes corrected, {})", b.lba, kind.name())?;
                fixed += 1;
            }
            _ => {
                let why = if after.is_ok() { before.describe() } else { after.describe() };
                writeln!(out, "LBA {}: not fixable ({why})", b.lba)?;
            }
        }
    }
    for f in handles.into_iter().flatten() {
        f.sync_all()?;
    }
    writeln!(out, "Repair: {fixed} of {} bad sectors fixed; copy written to {}", bad.len(), dest.display())?;
    Ok(fixed == bad.len())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A libisofs checksum tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Md5Tag {
    kind: String,
    pos: u64,
    range_start: u64,
    range_size: u64,
    next: Option<u64>,
    session_start: Option<u64>,
    md5: String,
    self_ok: bool,
}

const TAG_KINDS: [&str; 4] = [
    "libisofs_sb_checksum_tag_v1",
    "libisofs_tree_checksum_tag_v1",
    "libisofs_checksum_tag_v1",
    "libisofs_rlsb32_checksum_tag_v1",
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses a checksum tag block; `None` when the block is not one.
fn parse_tag(block: &[u8]) -> Option<Md5Tag> {
    if !block.starts_with(b"libisofs_") {
        return None;
    }
    let end = block.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&block[..end]).ok()?;
    let mut words = line.split(' ');
    let kind = words.next()?.to_string();
    if !TAG_KINDS.contains(&kind.as_str()) {
        return None;
    }
    let mut tag = Md5Tag {
        kind,
        pos: 0,
        range_start: 0,
        range_size: 0,
        next: None,
        session_start: None,
        md5: String::new(),
        self_ok: false,
    };
    let mut self_md5 = None;
    for w in words {
        let (k, v) = w.split_once('=')?;
        match k {
            "pos" => tag.pos = v.parse().ok()?,
            "range_start" => tag.range_start = v.parse().ok()?,
            "range_size" => tag.range_size = v.parse().ok()?,
            "next" => tag.next = Some(v.parse().ok()?),
            "session_start" => tag.session_start = Some(v.parse().ok()?),
            "md5" => tag.md5 = v.to_string(),
            "self" => self_md5 = Some(v.to_string()),
            _ => {}
        }
    }
    let covered = line.find(" self=")?;
    tag.self_ok = self_md5.as_deref() == Some(hex(&Md5::digest(&line.as_bytes()[..covered])).as_str());
    if tag.md5.len() != 32 {
        return None;
    }
    Some(tag)
}

/// Blocks remembered before the session tag, to find the checksum array.
const ARRAY_WINDOW: usize = 4096;
/// How far from the session start the superblock tag is looked for, in blocks.
const SB_SEARCH: u64 = 64;

fn read_block<R: Read + Seek>(r: &mut R, lba: u64, buf: &mut [u8; 2048]) -> io::Result<bool> {
    r.seek(SeekFrom::Start(lba * 2048))?;
    let mut filled = 0;
    while filled < 2048 {
        let n = r.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(false);
        }
        filled += n;
    }
    Ok(true)
}

/// [`check_md5_tags`] of a raw image's data track, where a sector that yields no user data (damaged beyond
/// repair, and listed already; or a Mode 2 Form 2 sector) stops the tag check without failing it.
fn md5_tags_ok(args: &ImageArgs, out: &mut dyn Write) -> Result<bool> {
    match check_md5_tags(args, out) {
        Ok(ok) => Ok(ok),
        Err(e) => {
            writeln!(out, "MD5 tags: not checked ({e:#})")?;
            Ok(true)
        }
    }
}

/// Checks the libisofs MD5 tags of the image; returns whether nothing failed.
fn check_md5_tags(args: &ImageArgs, out: &mut dyn Write) -> Result<bool> {
    let (src, opts) = args.open()?;
    let mut r = BufReader::with_capacity(1 << 20, src.open()?);
    let mut ok = true;
    let mut block = [0u8; 2048];
    // Session start: the one asked for, else the one an rlsb32 tag at the start of the image names.
    let mut start = opts.session_start;
    if args.offset.is_none() && args.session.is_none() {
        for lba in 16..SB_SEARCH {
            if !read_block(&mut r, lba, &mut block)? {
                break;
            }
            if let Some(tag) = parse_tag(&block).filter(|t| t.pos == lba) {
                if tag.kind == "libisofs_rlsb32_checksum_tag_v1" {
                    let mut ctx = Md5::new();
                    for b in tag.range_start..tag.pos {
                        let mut data = [0u8; 2048];
                        read_block(&mut r, b, &mut data)?;
                        ctx.update(data);
                    }
                    let good = tag.self_ok && hex(&ctx.finalize()) == tag.md5;
                    ok &= good;
                    writeln!(
                        out,
                        "MD5 tag at LBA {lba} (superblock copy, blocks {}..{}): {}",
                        tag.range_start,
                        tag.pos,
                        if good { "ok" } else { "MISMATCH" }
                    )?;
                    if let Some(s) = tag.session_start {
                        start = s;
                    }
                    break;
                }
            }
        }
    }
    let mut ctx = Md5::new();
    let mut window: VecDeque<(u64, Md5)> = VecDeque::new();
    let mut lba = start;
    let mut found = 0;
    let mut expect_next: Option<u64> = None;
    let mut session_tag: Option<Md5Tag> = None;
    loop {
        if expect_next.is_none() && lba >= start + SB_SEARCH {
            break;
        }
        if !read_block(&mut r, lba, &mut block)? {
            if let Some(n) = expect_next {
                writeln!(out, "MD5 tag expected at LBA {n} is missing (image ends at LBA {lba})")?;
                ok = false;
            }
            break;
        }
        if let Some(tag) = parse_tag(&block).filter(|t| t.pos == lba && t.range_start == start) {
            if tag.kind != "libisofs_rlsb32_checksum_tag_v1" {
                found += 1;
                let computed = hex(&ctx.clone().finalize());
                let good = tag.self_ok && tag.range_size == lba - start && computed == tag.md5;
                ok &= good;
                let what = match tag.kind.as_str() {
                    "libisofs_sb_checksum_tag_v1" => "superblock",
                    "libisofs_tree_checksum_tag_v1" => "directory tree",
                    _ => "session",
                };
                writeln!(
                    out,
                    "MD5 tag at LBA {lba} ({what}, blocks {start}..{lba}): {}",
                    if good {
                        "ok".to_string()
                    } else {
                        format!("MISMATCH (recorded {}, computed {computed})", tag.md5)
                    }
                )?;
                expect_next = tag.next;
                if tag.kind == "libisofs_checksum_tag_v1" {
                    session_tag = Some(tag);
                    break;
                }
            }
        } else if expect_next == Some(lba) {
            writeln!(out, "MD5 tag expected at LBA {lba} is missing")?;
            ok = false;
            break;
        }
        window.push_back((lba, ctx.clone()));
        if window.len() > ARRAY_WINDOW {
            window.pop_front();
        }
        ctx.update(block);
        lba += 1;
    }
    if found == 0 {
        writeln!(out, "MD5 tags: none (the image was not written with xorriso -md5 on)")?;
        return Ok(ok);
    }
    let Some(tag) = session_tag else {
        return Ok(ok);
    };
    // The checksum array: the block whose first entry is the MD5 of everything before it.
    let mut array_start = None;
    for (b, c) in window.iter() {
        read_block(&mut r, *b, &mut block)?;
        if block[..16] == c.clone().finalize()[..] {
            array_start = Some(*b);
            break;
        }
    }
    let Some(a) = array_start else {
        writeln!(out, "MD5 checksum array: not found before the session tag")?;
        return Ok(ok);
    };
    let mut entries: Vec<[u8; 16]> = Vec::new();
    for b in a..tag.pos {
        read_block(&mut r, b, &mut block)?;
        for e in block.chunks_exact(16) {
            entries.push(e.try_into().unwrap_or([0; 16]));
        }
    }
    let mut all = Md5::new();
    let mut n_files = None;
    for (i, e) in entries.iter().enumerate() {
        if i > 0 && all.clone().finalize()[..] == e[..] {
            n_files = Some(i - 1);
            break;
        }
        all.update(e);
    }
    let Some(n) = n_files else {
        writeln!(out, "MD5 checksum array at LBA {a}: its closing checksum does not match")?;
        return Ok(false);
    };
    writeln!(out, "MD5 checksum array at LBA {a}: {n} file checksums, consistent")?;
    let recorded: HashSet<[u8; 16]> = entries[1..=n].iter().copied().collect();
    match args.tree() {
        Ok((_, _, mut tree)) => {
            let (checked, bad) = check_file_md5s(tree.as_mut(), &recorded, start, tag.pos, out)?;
            writeln!(out, "File MD5s: {checked} checked, {bad} not matching a recorded checksum")?;
            ok &= bad == 0;
        }
        Err(e) => writeln!(out, "File MD5s: not checked ({e:#})")?,
    }
    Ok(ok)
}

fn check_file_md5s(
    tree: &mut dyn Tree,
    recorded: &HashSet<[u8; 16]>,
    start: u64,
    end: u64,
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let mut checked = 0;
    let mut bad = 0;
    let mut stack: Vec<(Node, String)> = vec![(tree.root()?, String::new())];
    let mut seen = HashSet::new();
    while let Some((dir, path)) = stack.pop() {
        for e in tree.read_dir(&dir)? {
            let p = cmd_read::join(if path.is_empty() { "/" } else { &path }, &e.name.to_string_lossy());
            match e.kind {
                Kind::Dir => {
                    if let Some(x) = e.extents.first() {
                        if !seen.insert(x.lba) {
                            continue;
                        }
                    }
                    stack.push((e, p));
                }
                Kind::File if e.size > 0 && e.extents.iter().all(|x| x.lba >= start && x.lba < end) => {
                    let mut ctx = Md5::new();
                    let mut r = tree.open(&e)?;
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let k = r.read(&mut buf).with_context(|| format!("reading {p}"))?;
                        if k == 0 {
                            break;
                        }
                        ctx.update(&buf[..k]);
                    }
                    checked += 1;
                    let d: [u8; 16] = ctx.finalize().into();
                    if !recorded.contains(&d) {
                        writeln!(out, "{p}: MD5 {} is not among the recorded checksums", hex(&d))?;
                        bad += 1;
                    }
                }
                _ => {}
            }
        }
    }
    Ok((checked, bad))
}

/// Compares the tree with a folder; prints each difference and returns how many there are.
fn compare_with_dir(tree: &mut dyn Tree, dir: &Path, out: &mut dyn Write) -> Result<u64> {
    let mut diffs = 0u64;
    let mut stack: Vec<(Node, PathBuf, String)> = vec![(tree.root()?, dir.to_path_buf(), "/".to_string())];
    while let Some((node, fs_dir, path)) = stack.pop() {
        let entries = tree.read_dir(&node)?;
        let mut fs_names: Vec<String> = std::fs::read_dir(&fs_dir)
            .with_context(|| format!("reading {}", fs_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        fs_names.sort();
        let img_names: HashSet<String> = entries.iter().map(|e| e.name.to_string_lossy().into_owned()).collect();
        for n in &fs_names {
            if !img_names.contains(n.as_str()) {
                writeln!(out, "only in {}: {}", dir.display(), cmd_read::join(&path, n))?;
                diffs += 1;
            }
        }
        for e in entries {
            let p = cmd_read::join(&path, &e.name.to_string_lossy());
            let fp = fs_dir.join(&e.name);
            let Ok(meta) = std::fs::symlink_metadata(&fp) else {
                writeln!(out, "only in the image: {p}")?;
                diffs += 1;
                continue;
            };
            let fs_kind = if meta.file_type().is_symlink() {
                Kind::Symlink
            } else if meta.is_dir() {
                Kind::Dir
            } else if meta.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            if fs_kind != e.kind {
                writeln!(out, "{p}: {} in the image, {} in the folder", e.kind.as_str(), fs_kind.as_str())?;
                diffs += 1;
                continue;
            }
            match e.kind {
                Kind::Dir => stack.push((e, fp, p)),
                Kind::Symlink => {
                    let target = std::fs::read_link(&fp).map(PathBuf::into_os_string).unwrap_or_default();
                    if e.target.as_deref() != Some(target.as_os_str()) {
                        writeln!(out, "{p}: symlink target {:?} in the image, {target:?} in the folder", e.target)?;
                        diffs += 1;
                    }
                }
                Kind::File => {
                    if e.size != meta.len() {
                        writeln!(out, "{p}: size {} in the image, {} in the folder", e.size, meta.len())?;
                        diffs += 1;
                        continue;
                    }
                    let mut a = tree.open(&e)?;
                    let mut b = BufReader::new(File::open(&fp).with_context(|| format!("opening {}", fp.display()))?);
                    if !same_contents(&mut a, &mut b).with_context(|| format!("reading {p}"))? {
                        writeln!(out, "{p}: contents differ")?;
                        diffs += 1;
                    }
                }
                Kind::Other => {}
            }
        }
    }
    Ok(diffs)
}

fn same_contents(a: &mut dyn Read, b: &mut dyn Read) -> io::Result<bool> {
    let mut x = vec![0u8; 1 << 16];
    let mut y = vec![0u8; 1 << 16];
    loop {
        let n = read_full(a, &mut x)?;
        let m = read_full(b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

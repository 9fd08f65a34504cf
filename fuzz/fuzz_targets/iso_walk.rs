//! Whole-image walk of an ISO 9660 image: the fuzz input is the image from sector 16 on (the volume descriptor
//! set; the 16 zero sectors of system area before it are added here). Opens it, reads the boot catalog, the
//! system area and the path tables, then in every view (plain, Joliet, Rock Ridge) lists every directory, reads
//! every file (up to a cap) and symlink target. The walk itself skips directories it has listed (by extent), so
//! only the reader's own loops can hang it.
#![no_main]

use std::collections::HashSet;
use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use odix_iso9660::{EntryKind, Image, Options, View};

/// Bytes of system area in front of the input.
const SYSTEM_AREA: usize = 16 * 2048;
/// Most entries the walk visits per view, and bytes it reads per file.
const MAX_ENTRIES: usize = 4096;
const MAX_FILE_BYTES: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let mut image = vec![0u8; SYSTEM_AREA];
    image.extend_from_slice(data);
    let Ok(mut img) = Image::open(Cursor::new(&image), Options::default()) else { return };
    let _ = (img.primary(), img.joliet(), img.enhanced(), img.boot_record(), img.partitions(), img.susp());
    let _ = (img.rock_ridge(), img.image_len(), img.best_view());
    let _ = img.boot_catalog();
    let _ = img.system_area();
    let _ = img.check_path_tables();
    for view in [View::Plain, View::Joliet, View::RockRidge] {
        let Ok(root) = img.root(view) else { continue };
        let _ = img.walk(&root, MAX_ENTRIES as u64, &mut |_, _| {});
        let mut listed = HashSet::new();
        let mut stack = vec![root];
        let mut visited = 0usize;
        while let Some(dir) = stack.pop() {
            let key = dir.extents().first().map(|e| (e.lba, e.length));
            if !listed.insert(key) {
                continue;
            }
            let Ok(children) = img.read_dir(&dir) else { continue };
            for child in children {
                visited += 1;
                if visited > MAX_ENTRIES {
                    break;
                }
                let _ = (child.name(), child.size(), child.mtime(), child.atime(), child.recorded(), child.mode());
                let _ = (child.uid(), child.gid(), child.nlink(), child.ino(), child.device(), child.record_lba());
                match child.kind() {
                    EntryKind::Dir => stack.push(child),
                    EntryKind::Symlink => drop(child.symlink_target()),
                    _ => {
                        if let Ok(reader) = img.open_file(&child) {
                            let _ = std::io::copy(&mut reader.take(MAX_FILE_BYTES), &mut std::io::sink());
                        }
                    }
                }
            }
        }
    }
    let _ = img.take_warnings();
});

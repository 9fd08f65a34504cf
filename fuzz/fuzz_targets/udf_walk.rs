//! Whole-image walk of a UDF volume: the fuzz input is the image from sector 16 on (the recognition sequence;
//! the 16 zero sectors of system area before it are added here), with anchors at 256 or at the last sector.
//! Opens the volume, lists every directory, reads every entry, file (up to a cap), symlink, and named stream.
//! The walk itself stops at ICBs it has seen, so only the reader's own loops can hang it.
#![no_main]

use std::collections::HashSet;
use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use odix_udf::{Options, Volume};

/// Bytes of system area in front of the input.
const SYSTEM_AREA: usize = 16 * 2048;
/// Most entries the walk visits, and bytes it reads per file, so one input cannot run for long in the harness.
const MAX_ENTRIES: usize = 4096;
const MAX_FILE_BYTES: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let mut image = vec![0u8; SYSTEM_AREA];
    image.extend_from_slice(data);
    let _ = Volume::probe(Cursor::new(&image), 0);
    let Ok(mut vol) = Volume::open(Cursor::new(&image), Options::default()) else { return };
    let info = vol.info();
    let _ = (info.revision(), info.revision_string(), info.counts(), info.next_unique_id(), info.integrity_state());
    let _ = vol.system_streams();
    let Ok(root) = vol.root() else { return };
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    let mut visited = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(children) = vol.read_dir(&dir) else { continue };
        for child in children {
            visited += 1;
            if visited > MAX_ENTRIES {
                return;
            }
            let _ = (child.is_hidden(), child.is_dir(), vol.physical_block(child.icb()));
            let Ok(entry) = vol.entry(&child) else { continue };
            let _ = (entry.file_type(), entry.size(), entry.mode(), entry.mtime(), entry.atime(), entry.ctime());
            let _ = vol.physical_extents(&entry, 64);
            if entry.has_streams() {
                let _ = vol.streams(&entry);
            }
            if entry.is_dir() {
                if seen.insert(child.icb()) {
                    stack.push(entry);
                }
            } else if entry.is_symlink() {
                let _ = vol.read_link(&entry);
            } else if let Ok(reader) = vol.open_file(&entry) {
                let _ = std::io::copy(&mut reader.take(MAX_FILE_BYTES), &mut std::io::sink());
            }
        }
    }
    let _ = vol.take_warnings();
});

//! Round trips through the crate's own reader and structural checks of written images.

use super::*;

pub(crate) fn sample_tree() -> Tree {
    let meta = |perm| Meta { perm, uid: 1000, gid: 100, mtime: Time::from_secs(1_600_000_000), ..Meta::default() };
    let mut t = Tree::new(meta(0o755));
    let sub = t.add(Tree::ROOT, "sub", NodeKind::Dir, meta(0o700)).unwrap();
    let a = t.add(Tree::ROOT, "a.txt", NodeKind::File { data: DataId(0), size: 5 }, meta(0o644)).unwrap();
    t.add(sub, "empty", NodeKind::File { data: DataId(1), size: 0 }, meta(0o600)).unwrap();
    t.add(sub, "日本語.txt", NodeKind::File { data: DataId(2), size: 3000 }, meta(0o4755)).unwrap();
    t.add(Tree::ROOT, "link", NodeKind::Symlink(b"../x/./y".to_vec().into()), meta(0o777)).unwrap();
    t.add_hard_link(sub, "a-again", a).unwrap();
    t
}

fn build(tree: &Tree, rev: Revision) -> Vec<u8> {
    let img = UdfImage::plan(tree, UdfOptions::default().revision(rev).volume_id("TEST")).unwrap();
    let out = img
        .write(Vec::new(), |id, size, w| {
            w.extend((0..size).map(|i| (i as u8).wrapping_add(id.0 as u8)));
            Ok(size)
        })
        .unwrap();
    assert_eq!(out.len() as u64, img.size());
    out
}

#[test]
fn every_revision_builds_and_is_deterministic() {
    let t = sample_tree();
    for rev in [Revision::V1_02, Revision::V1_50, Revision::V2_01, Revision::V2_50, Revision::V2_60] {
        let a = build(&t, rev);
        assert_eq!(a, build(&t, rev));
        assert_eq!(&a[16 * 2048 + 1..16 * 2048 + 6], b"BEA01");
        let nsr = if rev.nsr03() { b"NSR03" } else { b"NSR02" };
        assert_eq!(&a[17 * 2048 + 1..17 * 2048 + 6], nsr);
        // Anchors at 256 and at the last block.
        for at in [256usize, a.len() / 2048 - 1] {
            let (tag, problems) = crate::format::tag::verify(&a[at * 2048..at * 2048 + 512], Some(at as u32)).unwrap();
            assert_eq!(tag.identifier, 2);
            assert!(problems.is_empty(), "{rev}: {problems:?}");
        }
    }
}

/// Every revision read back by the crate's own reader in strict mode (tags, CRCs and locations checked):
/// names, kinds, sizes, contents, link targets, modes, link counts and the integrity counts.
#[test]
fn strict_reader_reads_back_every_revision() {
    use std::io::{Cursor, Read};
    let t = sample_tree();
    for rev in [Revision::V1_02, Revision::V1_50, Revision::V2_01, Revision::V2_50, Revision::V2_60] {
        let img = build(&t, rev);
        let mut vol = crate::Volume::open(Cursor::new(img), crate::Options::default().strict(true)).unwrap();
        assert_eq!(vol.info().counts(), Some((4, 2)), "{rev}");
        assert!(vol.take_warnings().is_empty(), "{rev}");
        let root = vol.root().unwrap();
        let mut names: Vec<String> = vol.read_dir(&root).unwrap().into_iter().map(|d| d.name).collect();
        names.sort();
        assert_eq!(names, ["a.txt", "link", "sub"], "{rev}");
        let kids = vol.read_dir(&root).unwrap();
        let a = vol.entry(kids.iter().find(|d| d.name == "a.txt").unwrap()).unwrap();
        let mut data = Vec::new();
        vol.open_file(&a).unwrap().read_to_end(&mut data).unwrap();
        assert_eq!(data, [0, 1, 2, 3, 4], "{rev}");
        assert_eq!(a.file_entry.link_count, 2, "{rev}");
        assert_eq!(a.mode() & 0o7777, 0o644, "{rev}");
        let link = vol.entry(kids.iter().find(|d| d.name == "link").unwrap()).unwrap();
        assert_eq!(vol.read_link(&link).unwrap(), "../x/./y", "{rev}");
        let sub = vol.entry(kids.iter().find(|d| d.name == "sub").unwrap()).unwrap();
        assert_eq!(sub.mode() & 0o7777, 0o700, "{rev}");
        let inner = vol.read_dir(&sub).unwrap();
        let big = vol.entry(inner.iter().find(|d| d.name == "日本語.txt").unwrap()).unwrap();
        assert_eq!(big.size(), 3000, "{rev}");
        assert_eq!(big.mode() & 0o7777, 0o4755, "{rev}");
        let again = vol.entry(inner.iter().find(|d| d.name == "a-again").unwrap()).unwrap();
        assert_eq!(again.icb, a.icb, "{rev}: a hard link shares the entry");
    }
}

/// A file of several extents (each under 1 GiB) gets one allocation descriptor per extent, all contiguous.
#[test]
fn large_files_get_several_extents() {
    let mut t = Tree::new(Meta::default());
    let size = 3 * MAX_EXTENT + 5;
    t.add(Tree::ROOT, "big", NodeKind::File { data: DataId(0), size }, Meta::default()).unwrap();
    for rev in [Revision::V1_02, Revision::V2_60] {
        let planner = UdfPlanner::new(&t, UdfOptions::default().revision(rev)).unwrap();
        let meta = planner.metadata_blocks();
        let start = HEAD_END + meta;
        let blocks = size.div_ceil(u64::from(BLOCK_SIZE)) as u32;
        let mirror = start + blocks;
        let tail_start = mirror + planner.mirror_blocks();
        let tail_blocks = planner.tail_blocks(u64::from(tail_start));
        let layout = planner
            .place(&Placement {
                vrs: 16,
                partition_start: HEAD_END,
                mirror,
                tail_start,
                tail_blocks,
                data: &|_| Some(start),
            })
            .unwrap();
        let mut m = Vec::new();
        layout.write_metadata(&mut m).unwrap();
        // The file's entry follows the root's entry and directory block.
        let fe = crate::format::file_entry::FileEntry::parse(&m[4 * 2048..5 * 2048]).unwrap();
        assert_eq!(fe.information_length, size);
        let form =
            if rev.metadata_partition() { crate::format::ad::AdForm::Long } else { crate::format::ad::AdForm::Short };
        let ads = crate::format::ad::parse_list(form, &fe.allocation_descriptors, 0).unwrap();
        assert_eq!(ads.len(), 4, "{rev}");
        assert_eq!(ads.iter().map(|a| u64::from(a.length)).sum::<u64>(), size);
        assert_eq!(ads[1].location.block, ads[0].location.block + (MAX_EXTENT / 2048) as u32);
    }
}

/// Device nodes carry their numbers in a Device Specification attribute the reader finds; FIFOs and sockets
/// get their file types.
#[test]
fn devices_fifos_and_sockets() {
    use std::io::Cursor;
    let mut t = Tree::new(Meta::default());
    t.add(Tree::ROOT, "null", NodeKind::Device { block: false, major: 1, minor: 3 }, Meta::default()).unwrap();
    t.add(Tree::ROOT, "sda", NodeKind::Device { block: true, major: 8, minor: 0 }, Meta::default()).unwrap();
    t.add(Tree::ROOT, "pipe", NodeKind::Fifo, Meta::default()).unwrap();
    t.add(Tree::ROOT, "sock", NodeKind::Socket, Meta::default()).unwrap();
    for rev in [Revision::V1_02, Revision::V2_60] {
        let img = build(&t, rev);
        let mut vol = crate::Volume::open(Cursor::new(img), crate::Options::default().strict(true)).unwrap();
        let root = vol.root().unwrap();
        for d in vol.read_dir(&root).unwrap() {
            let e = vol.entry(&d).unwrap();
            let (ty, dev) = (e.file_type(), e.file_entry.device());
            match d.name.as_str() {
                "null" => assert_eq!((ty, dev), (7, Some((1, 3))), "{rev}"),
                "sda" => assert_eq!((ty, dev), (6, Some((8, 0))), "{rev}"),
                "pipe" => assert_eq!((ty, dev), (9, None), "{rev}"),
                "sock" => assert_eq!((ty, dev), (10, None), "{rev}"),
                other => panic!("unexpected {other}"),
            }
        }
    }
}

/// UDF 2.60 2.2.13.1: the Metadata File's and the Metadata Mirror File's entries are not adjacent; each lies with
/// its own copy of the metadata, and the partition map points at both.
#[test]
fn metadata_and_mirror_entries_are_apart() {
    use crate::format::file_entry::FileEntry;
    let mut t = Tree::new(Meta::default());
    t.add(Tree::ROOT, "f", NodeKind::File { data: DataId(0), size: 10 }, Meta::default()).unwrap();
    let planner = UdfPlanner::new(&t, UdfOptions::default().revision(Revision::V2_60)).unwrap();
    let meta = planner.metadata_blocks();
    let mirror = HEAD_END + meta + 1;
    let tail_start = mirror + planner.mirror_blocks();
    let tail_blocks = planner.tail_blocks(u64::from(tail_start));
    let layout = planner
        .place(&Placement {
            vrs: 16,
            partition_start: HEAD_END,
            mirror,
            tail_start,
            tail_blocks,
            data: &|_| Some(HEAD_END + meta),
        })
        .unwrap();
    let (mut m, mut r) = (Vec::new(), Vec::new());
    layout.write_metadata(&mut m).unwrap();
    layout.write_mirror(&mut r).unwrap();
    let last = |v: &[u8]| FileEntry::parse(&v[v.len() - 2048..]).unwrap();
    let (main_fe, mirror_fe) = (last(&m), last(&r));
    assert_eq!(main_fe.icb_tag.file_type, 250, "Metadata File entry closes the metadata area");
    assert_eq!(mirror_fe.icb_tag.file_type, 251, "Metadata Mirror File entry closes the mirror region");
    let main_at = meta - 1;
    let mirror_at = mirror - HEAD_END + layout.plan.content_blocks;
    assert!(mirror_at > main_at + 1, "entries at {main_at} and {mirror_at} are adjacent");
    assert_eq!(&m[..m.len() - 2048], &r[..r.len() - 2048], "the mirror copies the metadata");
}

/// A volume with a virtual partition recorded as a session at block 64 of a medium whose physical partition
/// starts at block 40, read back by the crate's reader in strict mode from the session's anchor: the VAT is the
/// last block, 256 after the closing anchor, and maps the entries; names, counts and contents are those written.
#[test]
fn a_vat_session_is_read_back_through_its_virtual_partition() {
    use std::io::{Cursor, Read};
    let t = sample_tree();
    for rev in [Revision::V1_50, Revision::V2_01] {
        let session = 64u32;
        let opts = UdfOptions::default().revision(rev).volume_id("TEST").virtual_partition(true);
        let planner = UdfPlanner::new(&t, opts).unwrap();
        let metadata = session + HEAD_END;
        let mut next = metadata + planner.metadata_blocks();
        let mut data = Vec::new();
        for (id, size) in t.data_order() {
            data.push((id, next, size));
            next += size.div_ceil(u64::from(BLOCK_SIZE)) as u32;
        }
        let index: std::collections::HashMap<DataId, u32> = data.iter().map(|(d, s, _)| (*d, *s)).collect();
        let lookup = |d: DataId| index.get(&d).copied();
        let layout = planner
            .place_vat(&VatPlacement {
                session,
                vrs: session + 16,
                partition_start: 40,
                metadata,
                tail_start: next,
                data: &lookup,
            })
            .unwrap();
        let total = layout.total_blocks() as usize;
        let mut img = vec![0u8; total * 2048];
        for r in layout.regions() {
            let mut buf = Vec::new();
            match r.kind {
                RegionKind::Vrs => layout.write_vrs(&mut buf).unwrap(),
                RegionKind::Head => layout.write_head(&mut buf).unwrap(),
                RegionKind::Metadata => layout.write_metadata(&mut buf).unwrap(),
                RegionKind::Mirror => layout.write_mirror(&mut buf).unwrap(),
                RegionKind::Tail => layout.write_tail(&mut buf).unwrap(),
            }
            assert_eq!(buf.len(), r.blocks as usize * 2048, "{rev}: {:?}", r.kind);
            img[r.start as usize * 2048..][..buf.len()].copy_from_slice(&buf);
        }
        for (id, start, size) in &data {
            let at = *start as usize * 2048;
            for i in 0..*size as usize {
                img[at + i] = (i as u8).wrapping_add(id.0 as u8);
            }
        }
        let anchor = total - 1 - 256;
        let (tag, problems) =
            crate::format::tag::verify(&img[anchor * 2048..anchor * 2048 + 512], Some(anchor as u32)).unwrap();
        assert_eq!((tag.identifier, problems.len()), (2, 0), "{rev}: the anchor 256 before the last block");
        let opts = crate::Options::default().strict(true).session_start(u64::from(session));
        let mut vol = crate::Volume::open(Cursor::new(img), opts).unwrap();
        let vat = vol.info().vat.as_ref().expect("a VAT");
        assert_eq!(vat.location, total as u64 - 1, "{rev}: the VAT is the last block");
        assert_eq!(vat.table.header.is_some(), rev == Revision::V2_01, "{rev}");
        assert_eq!(vol.info().counts(), Some((4, 2)), "{rev}");
        let root = vol.root().unwrap();
        let kids = vol.read_dir(&root).unwrap();
        let mut names: Vec<&str> = kids.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["a.txt", "link", "sub"], "{rev}");
        let a = vol.entry(kids.iter().find(|d| d.name == "a.txt").unwrap()).unwrap();
        let mut bytes = Vec::new();
        vol.open_file(&a).unwrap().read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, [0, 1, 2, 3, 4], "{rev}");
    }
}

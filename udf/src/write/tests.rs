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

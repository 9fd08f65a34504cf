//! Build round trip for UDF: a random tree (directories, files with contents, symlinks; names the writer may
//! refuse) is planned and written in memory with `odix_udf::write`, then read back with `odix_udf::Volume`; the
//! names, kinds, file contents and link targets read must equal what was built, for every UDF revision.
#![no_main]

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use odix_udf::write::{DataId, Meta, NodeId, NodeKind, Revision, Tree, UdfImage, UdfOptions};
use odix_udf::{Options, Volume};

#[derive(Arbitrary, Debug)]
enum Kind {
    Dir,
    File(Vec<u8>),
    /// Components joined with `/`; absolute when the flag is set.
    Symlink(bool, Vec<String>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    revision: u8,
    /// (index of an earlier directory, name, kind)
    entries: Vec<(u8, String, Kind)>,
}

/// What the image must show at a path.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

fuzz_target!(|input: Input| {
    let revision = match input.revision % 5 {
        0 => Revision::V1_02,
        1 => Revision::V1_50,
        2 => Revision::V2_01,
        3 => Revision::V2_50,
        _ => Revision::V2_60,
    };
    let meta = Meta { perm: 0o755, ..Meta::default() };
    let mut tree = Tree::new(meta);
    let mut dirs: Vec<(NodeId, String)> = vec![(Tree::ROOT, String::new())];
    let mut contents: Vec<Vec<u8>> = Vec::new();
    let mut expected = BTreeMap::new();
    for (parent, name, kind) in input.entries.into_iter().take(48) {
        let (pid, ppath) = dirs[usize::from(parent) % dirs.len()].clone();
        let path = format!("{ppath}/{name}");
        let (node_kind, expect) = match kind {
            Kind::Dir => (NodeKind::Dir, Expect::Dir),
            Kind::File(mut data) => {
                data.truncate(3000);
                let id = DataId(contents.len() as u32);
                let size = data.len() as u64;
                contents.push(data.clone());
                (NodeKind::File { data: id, size }, Expect::File(data))
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
                (NodeKind::Symlink(target.as_bytes().into()), Expect::Symlink(target))
            }
        };
        let is_dir = matches!(node_kind, NodeKind::Dir);
        let Ok(id) = tree.add(pid, &name, node_kind, meta) else { continue };
        if is_dir {
            dirs.push((id, path.clone()));
        }
        expected.insert(path, expect);
    }
    let Ok(plan) = UdfImage::plan(&tree, UdfOptions::default().revision(revision)) else { return };
    let size = plan.size();
    let image = plan
        .write(Vec::new(), |id: DataId, len, w: &mut Vec<u8>| {
            let data = &contents[id.0 as usize];
            assert_eq!(data.len() as u64, len, "the writer asked for a different size");
            w.write_all(data)?;
            Ok(len)
        })
        .expect("writing a planned image into memory");
    assert_eq!(image.len() as u64, size, "image size differs from the plan");

    let mut vol = Volume::open(Cursor::new(&image), Options::default()).expect("reading back a built image");
    let mut found = BTreeMap::new();
    let mut stack = vec![(vol.root().expect("root"), String::new())];
    while let Some((dir, path)) = stack.pop() {
        for child in vol.read_dir(&dir).expect("listing a built directory") {
            let p = format!("{path}/{}", child.name);
            let entry = vol.entry(&child).expect("entry of a built directory");
            let got = if entry.is_dir() {
                stack.push((entry, p.clone()));
                Expect::Dir
            } else if entry.is_symlink() {
                Expect::Symlink(vol.read_link(&entry).expect("link target"))
            } else {
                let mut data = Vec::new();
                vol.open_file(&entry).expect("open file").read_to_end(&mut data).expect("read file");
                Expect::File(data)
            };
            assert!(found.insert(p.clone(), got).is_none(), "{p} listed twice");
        }
    }
    assert_eq!(found, expected, "tree read back differs from the tree built ({revision:?})");
});

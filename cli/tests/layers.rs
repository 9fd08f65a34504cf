//! The layering of the `odix` package, read from its sources: the library under `src/` (all but `main.rs` and
//! `cmd/`) prints nothing, installs no signal handler and knows nothing of the command line; no command module
//! imports another; and no module of the library depends on itself through others (no import cycles).
//!
//! Dependencies are the `crate::…`, `super::…` and child-module paths each file names, at the granularity of
//! files (`formats/iso.rs` is the module `formats::iso`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`, as (module path, text without comments).
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            let mut sub = prefix.to_vec();
            sub.push(p.file_name().unwrap().to_string_lossy().into_owned());
            modules(&p, &sub, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let mut path = prefix.to_vec();
            if name != "mod" && name != "lib" {
                path.push(name);
            }
            out.insert(path.join("::"), strip_comments(&fs::read_to_string(&p).unwrap()));
        }
    }
}

/// The text with `//` comments (and so doc comments and their examples) removed; string literals are kept, which
/// can only add dependencies, never hide one.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `text` names `prefix` at the start of a path (not as the tail of a longer name or path).
fn starts_path(text: &str, at: usize) -> bool {
    !text[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
}

/// The paths that follow `prefix` in `text`, as lists of names: `crate::formats::iso::open` after `crate::` gives
/// `[formats, iso, open]`, and a group `crate::{image::Image, View}` gives `[image, Image]` and `[View]`.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    fn names(s: &str) -> Vec<String> {
        s.split("::")
            .map(|p| p.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
            .take_while(|p| !p.is_empty())
            .collect()
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(prefix).map(|i| i + from) {
        from = i + prefix.len();
        if !starts_path(text, i) {
            continue;
        }
        let rest = &text[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').map(names).filter(|p| !p.is_empty()));
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            let p = names(&rest[..end]);
            if !p.is_empty() {
                out.push(p);
            }
        }
    }
    out
}

/// The longest module in `known` that `path` starts with.
fn resolve(known: &BTreeSet<String>, path: &[String]) -> Option<String> {
    (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| known.contains(m))
}

/// The library's modules (the crate root `lib.rs` left out: it only declares and re-exports) and what each
/// depends on. A name the root re-exports (`crate::Image`) counts as the module it comes from.
fn library_graph() -> (BTreeMap<String, String>, BTreeMap<String, BTreeSet<String>>) {
    let mut all = BTreeMap::new();
    modules(&src(), &[], &mut all);
    let lib: BTreeMap<String, String> =
        all.into_iter().filter(|(m, _)| m != "main" && m != "cmd" && !m.starts_with("cmd::")).collect();
    let known: BTreeSet<String> = lib.keys().filter(|m| !m.is_empty()).cloned().collect();
    // `pub use image::{Image, Options};` in lib.rs: Image and Options come from `image`.
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    for p in paths_after(&lib[""].replace("pub use ", "pub use crate::"), "pub use crate::") {
        if let (Some(m), Some(name)) = (resolve(&known, &p), p.last()) {
            reexported.insert(name.clone(), m);
        }
    }
    let mut graph = BTreeMap::new();
    for (module, text) in lib.iter().filter(|(m, _)| !m.is_empty()) {
        let here: Vec<String> = module.split("::").map(String::from).collect();
        let mut deps = BTreeSet::new();
        for p in paths_after(text, "crate::") {
            deps.extend(resolve(&known, &p).or_else(|| reexported.get(&p[0]).cloned()));
        }
        // `super::x` names a sibling: of `a/b.rs` (module a::b) in `a`, of `a/mod.rs` (module a) in the root.
        for p in paths_after(text, "super::") {
            let mut q = here[..here.len() - 1].to_vec();
            q.extend(p);
            deps.extend(resolve(&known, &q));
        }
        // A folder's own children, named without a prefix (`iso::open`, `pub use options::{X, Y}`).
        for child in known.iter().filter_map(|k| k.strip_prefix(&format!("{module}::"))).filter(|c| !c.contains("::")) {
            let pat = format!("{child}::");
            if text.match_indices(&pat).any(|(i, _)| starts_path(text, i)) {
                deps.insert(format!("{module}::{child}"));
            }
        }
        deps.remove(module);
        graph.insert(module.clone(), deps);
    }
    (lib, graph)
}

#[test]
fn the_library_prints_nothing_and_knows_no_command_line() {
    let (lib, _) = library_graph();
    let mut found = Vec::new();
    for (module, text) in &lib {
        for bad in ["println!", "eprintln!", "print!(", "eprint!(", "indicatif", "signal_hook", "clap::", "crate::cmd"]
        {
            if text.contains(bad) {
                found.push(format!("{module}: {bad}"));
            }
        }
    }
    assert!(found.is_empty(), "the library must leave these to the binary: {found:#?}");
}

#[test]
fn no_command_imports_another() {
    let mut all = BTreeMap::new();
    modules(&src().join("cmd"), &["cmd".to_string()], &mut all);
    // What the commands may share: argument types, progress bars, signal handling.
    let shared = ["cmd::args", "cmd::build_args", "cmd::progress", "cmd::interrupt", "cmd"];
    let commands: BTreeSet<String> = all.keys().filter(|m| !shared.contains(&m.as_str())).cloned().collect();
    assert!(commands.len() >= 8, "the commands were not found: {commands:?}");
    let mut found = Vec::new();
    for (module, text) in all.iter().filter(|(m, _)| commands.contains(*m)) {
        for p in
            paths_after(text, "crate::").into_iter().chain(paths_after(text, "super::").into_iter().map(|mut p| {
                p.insert(0, "cmd".into());
                p
            }))
        {
            let target = p.iter().take(2).cloned().collect::<Vec<_>>().join("::");
            if target != *module && commands.contains(&target) {
                found.push(format!("{module} imports {target}"));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_library_has_no_import_cycles() {
    let (_, graph) = library_graph();
    assert!(graph.len() > 10, "the library's modules were not found: {:?}", graph.keys());
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut c = path[i..].to_vec();
            c.push(m.to_string());
            cycles.push(c.join(" -> "));
            return;
        }
        if done.contains(m) {
            return;
        }
        path.push(m.to_string());
        for d in graph.get(m).into_iter().flatten() {
            visit(d, graph, path, done, cycles);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

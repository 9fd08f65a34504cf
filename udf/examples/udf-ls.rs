//! Lists a UDF image recursively with sizes, modes and link targets: `cargo run --example udf-ls IMAGE`.

use std::io::Read;

use odix_udf::{Entry, Options, Volume};

fn walk(vol: &mut Volume<std::fs::File>, dir: &Entry, path: &str, depth: u32) -> odix_udf::Result<()> {
    if depth > 64 {
        return Ok(());
    }
    for child in vol.read_dir(dir)? {
        let e = vol.entry(&child)?;
        let p = format!("{path}/{}", child.name);
        let target = if e.is_symlink() { format!(" -> {}", vol.read_link(&e)?) } else { String::new() };
        let digest = if e.is_file() {
            let mut data = Vec::new();
            vol.open_file(&e)?.read_to_end(&mut data).map_err(|e| odix_udf::Error::Io { offset: 0, source: e })?;
            format!(" sum={}", data.iter().fold(0u64, |a, &b| a.wrapping_mul(31).wrapping_add(u64::from(b))))
        } else {
            String::new()
        };
        println!(
            "{:o} {} {} {:?} {p}{target}{digest} icb={:?}",
            e.mode(),
            e.file_entry.link_count,
            e.size(),
            e.mtime().map(|t| t.to_rfc3339()),
            e.icb
        );
        if e.is_dir() {
            walk(vol, &e, &p, depth + 1)?;
        }
    }
    Ok(())
}

fn main() -> odix_udf::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_default();
    let f = std::fs::File::open(&path).map_err(|e| odix_udf::Error::Io { offset: 0, source: e })?;
    let mut vol = Volume::open(f, Options::default())?;
    let i = vol.info();
    println!(
        "domain {:x} lvid {:?}",
        i.logical.domain_identifier.udf_revision(),
        i.integrity.as_ref().and_then(|(_, d)| d.udf_use()).map(|u| (
            u.min_read_revision,
            u.min_write_revision,
            u.max_write_revision
        ))
    );
    println!(
        "rev {} bs {} maps {:?} counts {:?} state {:?}",
        i.revision_string(),
        i.block_size,
        i.map_kinds,
        i.counts(),
        i.integrity_state()
    );
    let root = vol.root()?;
    walk(&mut vol, &root, "", 0)?;
    for w in vol.take_warnings() {
        println!("warning: {w}");
    }
    Ok(())
}

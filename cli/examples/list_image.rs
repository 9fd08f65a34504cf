//! Lists every entry of an image with its size, one per line, as `odix ls -R` gives the paths:
//!
//! ```text
//! cargo run --example list_image -p odix -- IMAGE
//! ```
//!
//! Each line is the size in bytes (0 for directories), a tab, and the entry's path inside the image; directories
//! end with `/`. IMAGE is anything `odix` reads: an ISO 9660 or UDF image, a `.cue`, a `.ccd`, a block device.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use odix::tree::walk;
use odix::view::{display_name, Kind};
use odix::{Image, Options, View};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: list_image IMAGE");
        return ExitCode::from(2);
    };
    match list(path.as_ref()) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(2),
        Err(e) => {
            eprintln!("list_image: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the tree of the image at `path`; returns how many damaged entries were skipped.
fn list(path: &std::path::Path) -> anyhow::Result<u64> {
    let image = Image::open(path, &Options::default())?;
    let mut tree = image.tree(View::Auto)?;
    let root = tree.root()?;
    let mut out = BufWriter::new(io::stdout().lock());
    let warnings = walk(
        tree.as_mut(),
        root,
        "/".into(),
        image.read_options(),
        true,
        &mut |_tree, node, path, depth| {
            if depth > 0 {
                let slash = if node.kind == Kind::Dir { "/" } else { "" };
                writeln!(out, "{}\t{}{slash}", node.size, display_name(path))?;
            }
            Ok(true)
        },
        &mut |w| eprintln!("list_image: warning: {w}"),
    )?;
    out.flush()?;
    Ok(warnings)
}

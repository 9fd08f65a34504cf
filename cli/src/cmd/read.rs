//! The reading commands: `info`, `ls`, `cat`.

use std::ffi::{OsStr, OsString};
use std::io::{self, BufWriter, Write};

use anyhow::{bail, Result};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::cmd::args::ImageArgs;
use crate::EXIT_PARTIAL;
use odix::tree::{components_os, normalized, resolve, walk};
use odix::view::{display_name, hex, Kind, Node, PastEnd};

/// Prints a warning the library passed back.
fn print_warning(msg: String) {
    eprintln!("odix: warning: {msg}");
}

/// `odix info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Print the mkisofs options that rebuild the image's boot setup, one per line, as
    /// `xorriso -report_el_torito as_mkisofs` prints them (what cannot be replayed is warned about on stderr).
    #[arg(long, conflicts_with = "json")]
    pub as_mkisofs: bool,
}

/// `odix ls`.
#[derive(clap::Args, Debug)]
pub struct LsArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// The directory or file to list (default `/`).
    pub path: Option<OsString>,
    /// List subdirectories recursively, one full path per line.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Long format: mode, links, owner, group, size, mtime (local time, as `ls -l --time-style=long-iso`), name.
    #[arg(short = 'l', long)]
    pub long: bool,
    /// With -l, sizes in powers of 1024 as `ls -lh` prints them (1.0K, 23M).
    #[arg(short = 'h', long = "human-readable")]
    pub human: bool,
    /// With -l, times in UTC instead of local time (the TZ environment variable sets local time).
    #[arg(long)]
    pub utc: bool,
    /// Print one JSON array of objects (path, type, size, mtime, mode, uid, gid, nlink, target, extents; path_hex
    /// and target_hex when those are not UTF-8).
    #[arg(long)]
    pub json: bool,
    /// Also list the named streams of each entry (UDF), after it, as PATH:NAME (in JSON with `stream_of`).
    #[arg(long)]
    pub streams: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// `odix cat`.
#[derive(clap::Args, Debug)]
pub struct CatArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// The file's path inside the image.
    pub path: OsString,
    /// Write the file's named stream NAME (UDF) instead of its contents.
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
}

pub fn info(args: InfoArgs) -> Result<u8> {
    let image = args.image.open()?;
    if args.as_mkisofs {
        let r = odix::replay::replay(&image)?;
        let stdout = io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        for line in &r.as_mkisofs {
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        for w in r.warnings {
            print_warning(w);
        }
        return Ok(0);
    }
    // `default_view` is the tree `ls`, `cat` and `extract` read when no --view is given (none for a disc without a
    // file system).
    let odix::image::Info { sections, warnings, default_view } = image.info()?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert("image".into(), serde_json::Value::String(image.path().display().to_string()));
        if let Ok(meta) = std::fs::metadata(image.path()) {
            obj.insert("image_size".into(), meta.len().into());
        }
        for s in sections {
            obj.insert(s.key.to_string(), s.json);
        }
        if let Some(v) = &default_view {
            obj.insert("default_view".into(), serde_json::Value::String(v.to_string()));
        }
        serde_json::to_writer_pretty(&mut out, &serde_json::Value::Object(obj))?;
        writeln!(out)?;
    } else {
        writeln!(out, "Image: {}", image.path().display())?;
        if let Some(v) = &default_view {
            writeln!(out, "Default view: {v}")?;
        }
        for s in sections {
            writeln!(out)?;
            write!(out, "{}", s.text)?;
            if !s.text.ends_with('\n') {
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    drop(out);
    // What the readers met on the way, as `ls` reports it: on stderr, and exit status 2.
    for w in &warnings {
        eprintln!("odix: warning: {}", w.0);
    }
    Ok(if warnings.is_empty() { 0 } else { EXIT_PARTIAL })
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn mode_string(node: &Node) -> String {
    let t = match node.kind {
        Kind::Dir => 'd',
        Kind::Symlink => 'l',
        Kind::File => '-',
        Kind::Other => match node.mode.map(|m| m & 0o170000) {
            Some(0o020000) => 'c',
            Some(0o060000) => 'b',
            Some(0o010000) => 'p',
            Some(0o140000) => 's',
            _ => '?',
        },
    };
    let m = node.mode.unwrap_or(match node.kind {
        Kind::Dir => 0o555,
        _ => 0o444,
    });
    let mut s = String::with_capacity(10);
    s.push(t);
    let bits = [
        (0o400, 'r'),
        (0o200, 'w'),
        (0o100, 'x'),
        (0o40, 'r'),
        (0o20, 'w'),
        (0o10, 'x'),
        (0o4, 'r'),
        (0o2, 'w'),
        (0o1, 'x'),
    ];
    for (i, (b, c)) in bits.iter().enumerate() {
        let set = m & b != 0;
        let ch = match i {
            2 if m & 0o4000 != 0 => {
                if set {
                    's'
                } else {
                    'S'
                }
            }
            5 if m & 0o2000 != 0 => {
                if set {
                    's'
                } else {
                    'S'
                }
            }
            8 if m & 0o1000 != 0 => {
                if set {
                    't'
                } else {
                    'T'
                }
            }
            _ if set => *c,
            _ => '-',
        };
        s.push(ch);
    }
    s
}

/// Puts `bytes` under `key` in a JSON object: as a string, with every byte that is not part of valid UTF-8 as
/// U+FFFD; when there are such bytes, also the exact bytes in hexadecimal under `hex_key`.
fn insert_bytes(o: &mut serde_json::Map<String, serde_json::Value>, key: &str, hex_key: &str, bytes: &OsStr) {
    o.insert(key.into(), bytes.to_string_lossy().into());
    if bytes.to_str().is_none() {
        o.insert(hex_key.into(), hex(bytes).into());
    }
}

fn json_entry(node: &Node, path: &OsStr) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    insert_bytes(&mut o, "path", "path_hex", path);
    o.insert("type".into(), node.kind.as_str().into());
    if node.kind == Kind::File {
        o.insert("size".into(), node.size.into());
    }
    if let Some(t) = &node.mtime {
        o.insert("mtime".into(), rfc3339(t).into());
    }
    if let Some(m) = node.mode {
        o.insert("mode".into(), m.into());
    }
    if let Some(u) = node.uid {
        o.insert("uid".into(), u.into());
    }
    if let Some(g) = node.gid {
        o.insert("gid".into(), g.into());
    }
    if let Some(n) = node.nlink {
        o.insert("nlink".into(), n.into());
    }
    if let Some(t) = &node.target {
        insert_bytes(&mut o, "target", "target_hex", t);
    }
    if let Some((ma, mi)) = node.rdev {
        o.insert("rdev".into(), serde_json::json!([ma, mi]));
    }
    o.insert("extents".into(), serde_json::to_value(&node.extents).unwrap_or_default());
    serde_json::Value::Object(o)
}

/// A size as `ls -lh` prints it: bytes below 1024, else in the largest power of 1024 that leaves at least 1,
/// rounded up, with one decimal below 10 (1.0K, 9.9K, 10K, 1023K, 1.0M).
pub fn human_size(n: u64) -> String {
    const UNITS: [char; 6] = ['K', 'M', 'G', 'T', 'P', 'E'];
    if n < 1024 {
        return n.to_string();
    }
    let n = u128::from(n);
    let mut unit = 0usize;
    let mut div: u128 = 1024;
    while n >= div * 1024 && unit + 1 < UNITS.len() {
        div *= 1024;
        unit += 1;
    }
    let tenths = (n * 10).div_ceil(div);
    let u = UNITS.get(unit).copied().unwrap_or('E');
    if tenths < 100 {
        return format!("{}.{}{u}", tenths / 10, tenths % 10);
    }
    let whole = n.div_ceil(div);
    if whole >= 1024 && unit + 1 < UNITS.len() {
        let next = UNITS.get(unit + 1).copied().unwrap_or('E');
        return format!("1.0{next}");
    }
    format!("{whole}{u}")
}

/// A modification time as `ls -l --time-style=long-iso` prints it, in local time (TZ) or UTC.
fn long_time(t: &DateTime<Utc>, utc: bool) -> String {
    if utc {
        t.format("%Y-%m-%d %H:%M").to_string()
    } else {
        t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string()
    }
}

pub fn ls(args: LsArgs) -> Result<u8> {
    let image = args.image.open()?;
    let mut tree = image.tree(args.image.view())?;
    let opts = image.read_options();
    let start_path = args.path.clone().unwrap_or_else(|| "/".into());
    let start = resolve(tree.as_mut(), &start_path)?;
    let norm = normalized(&components_os(&start_path));
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut first = true;
    if args.json {
        out.write_all(b"[")?;
    }
    let start_is_dir = start.kind == Kind::Dir;
    let mut stream_warnings = 0u64;
    let warnings = walk(
        tree.as_mut(),
        start,
        norm,
        opts,
        args.recursive,
        &mut |t, node, path, depth| {
            // The directory asked for is listed by its contents, as `ls` does.
            if depth == 0 && start_is_dir {
                return Ok(true);
            }
            let shown = if args.recursive || depth == 0 { path } else { node.name.as_os_str() };
            write_entry(&mut out, &args, node, path, shown, None, &mut first)?;
            if args.streams {
                match t.streams(node) {
                    Ok(streams) => {
                        for s in &streams {
                            let with = |p: &OsStr| {
                                let mut o = p.to_os_string();
                                o.push(":");
                                o.push(&s.name);
                                o
                            };
                            let (p, sh) = (with(path), with(shown));
                            write_entry(&mut out, &args, s, &p, &sh, Some(path), &mut first)?;
                        }
                    }
                    Err(e) => {
                        eprintln!("odix: warning: {}: {e:#}", display_name(path));
                        stream_warnings += 1;
                    }
                }
            }
            Ok(true)
        },
        &mut print_warning,
    )?;
    if args.json {
        out.write_all(b"\n]\n")?;
    }
    out.flush()?;
    Ok(if warnings + stream_warnings > 0 { EXIT_PARTIAL } else { 0 })
}

/// One line (or JSON object) of `ls`: `path` is the entry's full path, `shown` what the text form prints, and
/// `stream_of` the path of the entry a named stream belongs to.
fn write_entry(
    out: &mut impl Write,
    args: &LsArgs,
    node: &Node,
    path: &OsStr,
    shown: &OsStr,
    stream_of: Option<&OsStr>,
    first: &mut bool,
) -> Result<()> {
    if args.json {
        out.write_all(if *first { b"\n" } else { b",\n" })?;
        *first = false;
        let mut v = json_entry(node, path);
        if let (Some(of), Some(o)) = (stream_of, v.as_object_mut()) {
            o.insert("stream_of".into(), of.to_string_lossy().into());
        }
        serde_json::to_writer(&mut *out, &v)?;
        return Ok(());
    }
    let shown = display_name(shown);
    if args.long {
        let mtime = node.mtime.map(|t| long_time(&t, args.utc)).unwrap_or_else(|| "-".into());
        let owner = node.uid.map(|u| u.to_string()).unwrap_or_else(|| "-".into());
        let group = node.gid.map(|g| g.to_string()).unwrap_or_else(|| "-".into());
        let size = if args.human { human_size(node.size) } else { node.size.to_string() };
        write!(
            out,
            "{} {:>3} {:>5} {:>5} {:>12} {} {}",
            mode_string(node),
            node.nlink.unwrap_or(1),
            owner,
            group,
            size,
            mtime,
            shown
        )?;
        if let Some(t) = &node.target {
            write!(out, " -> {}", display_name(t))?;
        }
        writeln!(out)?;
    } else {
        out.write_all(shown.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

pub fn cat(args: CatArgs) -> Result<u8> {
    let image = args.image.open()?;
    let mut tree = image.tree(args.image.view())?;
    let mut node = resolve(tree.as_mut(), &args.path)?;
    let shown = display_name(&args.path);
    if let Some(name) = &args.stream {
        let streams = tree.streams(&node)?;
        node = streams
            .into_iter()
            .find(|s| s.name == name.as_str())
            .ok_or_else(|| anyhow::anyhow!("{shown}: no named stream {name:?}"))?;
    }
    if node.kind != Kind::File {
        bail!("{shown}: not a regular file");
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut reader = tree.open(&node)?;
    if let Err(e) = io::copy(&mut reader, &mut out) {
        let e = anyhow::Error::from(e);
        // What the image holds was written; the rest lies past its end (a truncated image).
        if let Some(past) = PastEnd::find(&e) {
            out.flush()?;
            eprintln!("odix: {}: {shown}: {past}", args.image.image.display());
            return Ok(EXIT_PARTIAL);
        }
        return Err(e.context(format!("reading {shown}")));
    }
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::human_size;

    /// The sizes GNU `ls -lh` (coreutils 9.1) printed for files of these lengths.
    #[test]
    fn human_sizes_as_gnu_ls() {
        for (n, want) in [
            (0, "0"),
            (1, "1"),
            (1023, "1023"),
            (1024, "1.0K"),
            (1025, "1.1K"),
            (1536, "1.5K"),
            (10239, "10K"),
            (10240, "10K"),
            (10241, "11K"),
            (1048575, "1.0M"),
            (1048576, "1.0M"),
            (1048577, "1.1M"),
            (24117248, "23M"),
            (1073741824, "1.0G"),
            (1099511627776, "1.0T"),
            (5000000000000, "4.6T"),
        ] {
            assert_eq!(human_size(n), want, "{n}");
        }
    }
}

//! The reading commands: `info`, `ls`, `cat`, `extract`.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::extract::{ExtractOptions, Extractor};
use crate::formats::{self, Limits, ReadOptions, ViewChoice};
use crate::source::{ImageSource, SourceOptions};
use crate::view::{Kind, Node, PastEnd, Tree};
use crate::EXIT_PARTIAL;

/// Options every reading command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct ImageArgs {
    /// The image: an ISO 9660 or UDF image file or block device, a `.cue` sheet or a CloneCD `.ccd`.
    pub image: PathBuf,
    /// Which tree to read (default: UDF if present, else Rock Ridge, else Joliet, else plain ISO 9660).
    #[arg(long, value_enum, default_value = "auto")]
    pub view: ViewChoice,
    /// Character set of plain ISO 9660 names on discs written with a legacy 8-bit charset (any WHATWG label,
    /// for example `cp437`, `windows-1252`, `koi8-r`, `shift_jis`).
    #[arg(long, value_name = "LABEL")]
    pub charset: Option<String>,
    /// Stop at the first inconsistency (both-endian mismatch, bad checksum) instead of warning and going on.
    #[arg(long)]
    pub strict: bool,
    /// Read the file system of session N: of a raw image (.cue/.ccd) from its sheet (default: the last session),
    /// of a grown image file from its volume descriptor sets (default: the descriptors at LBA 16); `info` lists
    /// them.
    #[arg(long, value_name = "N")]
    pub session: Option<u32>,
    /// For images of a whole multi-session disc: read the session that starts at this LBA.
    #[arg(long, value_name = "LBA")]
    pub offset: Option<u64>,
    /// Deepest directory nesting followed.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: u32,
    /// Most entries read in one command.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_total_entries)]
    pub max_entries: u64,
    /// Most entries read from one directory.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_dir_entries)]
    pub max_dir_entries: u64,
    /// Most continuation hops (SUSP CE, UDF continuation extents, indirect entries) for one entry.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_continuations)]
    pub max_continuations: u32,
    /// Largest metadata structure read into memory, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_alloc)]
    pub max_alloc: u64,
}

impl ImageArgs {
    /// The source and read options these arguments describe.
    pub fn open(&self) -> Result<(ImageSource, ReadOptions)> {
        let src = ImageSource::new(&self.image, SourceOptions { session: self.session, offset: self.offset });
        src.check()?;
        let charset = match &self.charset {
            Some(label) => Some(
                encoding_rs::Encoding::for_label(label.as_bytes())
                    .with_context(|| format!("unknown character set {label:?}"))?,
            ),
            None => None,
        };
        let opts = ReadOptions {
            charset,
            strict: self.strict,
            limits: Limits {
                max_depth: self.max_depth,
                max_dir_entries: self.max_dir_entries,
                max_total_entries: self.max_entries,
                max_continuations: self.max_continuations,
                max_alloc: self.max_alloc,
            },
            session_start: src.session_start()?,
        };
        Ok((src, opts))
    }

    /// The view these arguments ask for.
    pub fn tree(&self) -> Result<(ImageSource, ReadOptions, Box<dyn Tree>)> {
        let (src, opts) = self.open()?;
        let tree = formats::open_view(&src, &opts, self.view)?;
        Ok((src, opts, tree))
    }
}

/// `odix info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `odix ls`.
#[derive(clap::Args, Debug)]
pub struct LsArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// The directory or file to list (default `/`).
    pub path: Option<String>,
    /// List subdirectories recursively, one full path per line.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Long format: mode, links, owner, group, size, mtime, name.
    #[arg(short = 'l', long)]
    pub long: bool,
    /// Print one JSON array of objects (path, type, size, mtime, mode, uid, gid, nlink, target, extents).
    #[arg(long)]
    pub json: bool,
    /// Also list the named streams of each entry (UDF), after it, as PATH:NAME (in JSON with `stream_of`).
    #[arg(long)]
    pub streams: bool,
}

/// `odix cat`.
#[derive(clap::Args, Debug)]
pub struct CatArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// The file's path inside the image.
    pub path: String,
    /// Write the file's named stream NAME (UDF) instead of its contents.
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
}

/// `odix extract`.
#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// What to extract (default: everything).
    pub paths: Vec<String>,
    /// The folder to extract into (created if missing).
    #[arg(short = 'C', long = "directory", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Keep files that already exist in DIR instead of replacing them.
    #[arg(long)]
    pub keep_old_files: bool,
    /// Do not restore permissions (use 0644 / 0755).
    #[arg(long)]
    pub no_same_permissions: bool,
    /// Write each El Torito boot image (and the boot catalog) into this folder instead of extracting files.
    #[arg(long, value_name = "DIR")]
    pub boot: Option<PathBuf>,
    /// Threads that create and write files (default: one per CPU, at most 8; 1 writes on the reading thread).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
}

pub fn info(args: InfoArgs) -> Result<u8> {
    let (src, opts) = args.image.open()?;
    let (sections, warnings) = formats::info(&src, &opts)?;
    // The tree `ls`, `cat` and `extract` read when no --view is given (none for a disc without a file system).
    let default_view = formats::open_view(&src, &opts, ViewChoice::Auto).ok().map(|t| t.view_name());
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert("image".into(), serde_json::Value::String(src.path().display().to_string()));
        if let Ok(meta) = std::fs::metadata(src.path()) {
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
        writeln!(out, "Image: {}", src.path().display())?;
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
        eprintln!("odix: warning: {w}");
    }
    Ok(if warnings.is_empty() { 0 } else { EXIT_PARTIAL })
}

/// Splits an image path into its components, refusing nothing: lookups compare names exactly.
fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").collect()
}

/// Finds `path` in the tree, following directories only (symlinks inside the image are not followed).
pub fn resolve(tree: &mut dyn Tree, path: &str) -> Result<Node> {
    let mut node = tree.root()?;
    let mut walked = String::new();
    for comp in components(path) {
        if node.kind != Kind::Dir {
            bail!("{walked}: not a directory");
        }
        walked.push('/');
        walked.push_str(comp);
        let entries = tree.read_dir(&node)?;
        node = match entries.into_iter().find(|e| e.name == comp) {
            Some(n) => n,
            None => bail!("{walked}: no such file or directory in the image"),
        };
    }
    Ok(node)
}

/// Joins an image directory path and a name.
pub fn join(dir: &str, name: &str) -> String {
    let dir = if dir == "/" { "" } else { dir };
    let mut p = String::with_capacity(dir.len() + 1 + name.len());
    p.push_str(dir);
    p.push('/');
    p.push_str(name);
    p
}

/// What [`walk`] calls for each node: the tree, the node, its absolute image path and its depth; it returns
/// whether to descend into the node.
pub type Visitor<'v> = dyn FnMut(&mut dyn Tree, &Node, &str, u32) -> Result<bool> + 'v;

/// One node still to visit: the node, its path, its depth, and its ancestors' directory identities.
type Pending = (Node, String, u32, std::rc::Rc<Vec<u64>>);

/// Visits `start` and, for directories, everything below it depth first, parents before children. Loops (a
/// directory that contains itself or an ancestor) and the limits stop that branch with a warning. A directory
/// that cannot be read, or a damaged entry, is a warning too, or an error with `--strict`. Returns the number of
/// warnings.
pub fn walk(
    tree: &mut dyn Tree,
    start: Node,
    start_path: String,
    opts: &ReadOptions,
    recursive: bool,
    visit: &mut Visitor<'_>,
) -> Result<u64> {
    let limits = &opts.limits;
    let mut warnings = 0u64;
    let mut total = 0u64;
    let mut stack: Vec<Pending> = vec![(start, start_path, 0, std::rc::Rc::new(Vec::new()))];
    while let Some((node, path, depth, ancestors)) = stack.pop() {
        let descend = visit(tree, &node, &path, depth)?;
        if !descend || node.kind != Kind::Dir || (!recursive && depth > 0) {
            continue;
        }
        if depth >= limits.max_depth {
            eprintln!("odix: warning: {path}: deeper than {} levels, not descended", limits.max_depth);
            warnings += 1;
            continue;
        }
        let id = dir_identity(&node);
        if let Some(id) = id {
            if ancestors.contains(&id) {
                eprintln!("odix: warning: {path}: directory contains itself or an ancestor (loop), not descended");
                warnings += 1;
                continue;
            }
        }
        let entries = match tree.read_dir(&node) {
            Ok(e) => e,
            Err(e) if opts.strict => return Err(e.context(path)),
            Err(e) => {
                eprintln!("odix: warning: {path}: {e:#}");
                warnings += 1;
                continue;
            }
        };
        for w in tree.take_warnings() {
            if opts.strict {
                bail!("{}", w.0);
            }
            eprintln!("odix: warning: {}", w.0);
            warnings += 1;
        }
        if entries.len() as u64 > limits.max_dir_entries {
            bail!("{path}: more than {} entries in one directory (raise --max-dir-entries)", limits.max_dir_entries);
        }
        total += entries.len() as u64;
        if total > limits.max_total_entries {
            bail!("more than {} entries in the image (raise --max-entries)", limits.max_total_entries);
        }
        let mut anc = (*ancestors).clone();
        if let Some(id) = id {
            anc.push(id);
        }
        let anc = std::rc::Rc::new(anc);
        for child in entries.into_iter().rev() {
            let p = join(&path, &child.name);
            stack.push((child, p, depth + 1, anc.clone()));
        }
    }
    for w in tree.take_warnings() {
        eprintln!("odix: warning: {}", w.0);
        warnings += 1;
    }
    Ok(warnings)
}

fn dir_identity(node: &Node) -> Option<u64> {
    node.link_id.or_else(|| node.extents.first().map(|e| e.lba))
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

fn json_entry(node: &Node, path: &str) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    o.insert("path".into(), path.into());
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
        o.insert("target".into(), t.as_str().into());
    }
    if let Some((ma, mi)) = node.rdev {
        o.insert("rdev".into(), serde_json::json!([ma, mi]));
    }
    o.insert("extents".into(), serde_json::to_value(&node.extents).unwrap_or_default());
    serde_json::Value::Object(o)
}

pub fn ls(args: LsArgs) -> Result<u8> {
    let (_src, opts, mut tree) = args.image.tree()?;
    let start_path = args.path.clone().unwrap_or_else(|| "/".into());
    let start = resolve(tree.as_mut(), &start_path)?;
    let norm = {
        let c = components(&start_path);
        if c.is_empty() {
            "/".to_string()
        } else {
            format!("/{}", c.join("/"))
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut first = true;
    if args.json {
        out.write_all(b"[")?;
    }
    let start_is_dir = start.kind == Kind::Dir;
    let mut stream_warnings = 0u64;
    let warnings = walk(tree.as_mut(), start, norm, &opts, args.recursive, &mut |t, node, path, depth| {
        // The directory asked for is listed by its contents, as `ls` does.
        if depth == 0 && start_is_dir {
            return Ok(true);
        }
        let shown = if args.recursive || depth == 0 { path } else { node.name.as_str() };
        write_entry(&mut out, &args, node, path, shown, None, &mut first)?;
        if args.streams {
            match t.streams(node) {
                Ok(streams) => {
                    for s in &streams {
                        let (p, sh) = (format!("{path}:{}", s.name), format!("{shown}:{}", s.name));
                        write_entry(&mut out, &args, s, &p, &sh, Some(path), &mut first)?;
                    }
                }
                Err(e) => {
                    eprintln!("odix: warning: {path}: {e:#}");
                    stream_warnings += 1;
                }
            }
        }
        Ok(true)
    })?;
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
    path: &str,
    shown: &str,
    stream_of: Option<&str>,
    first: &mut bool,
) -> Result<()> {
    if args.json {
        out.write_all(if *first { b"\n" } else { b",\n" })?;
        *first = false;
        let mut v = json_entry(node, path);
        if let (Some(of), Some(o)) = (stream_of, v.as_object_mut()) {
            o.insert("stream_of".into(), of.into());
        }
        serde_json::to_writer(&mut *out, &v)?;
        return Ok(());
    }
    if args.long {
        let mtime = node.mtime.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "-".into());
        let owner = node.uid.map(|u| u.to_string()).unwrap_or_else(|| "-".into());
        let group = node.gid.map(|g| g.to_string()).unwrap_or_else(|| "-".into());
        write!(
            out,
            "{} {:>3} {:>5} {:>5} {:>12} {} {}",
            mode_string(node),
            node.nlink.unwrap_or(1),
            owner,
            group,
            node.size,
            mtime,
            shown
        )?;
        if let Some(t) = &node.target {
            write!(out, " -> {t}")?;
        }
        writeln!(out)?;
    } else {
        out.write_all(shown.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

pub fn cat(args: CatArgs) -> Result<u8> {
    let (_src, _opts, mut tree) = args.image.tree()?;
    let mut node = resolve(tree.as_mut(), &args.path)?;
    if let Some(name) = &args.stream {
        let streams = tree.streams(&node)?;
        node = streams
            .into_iter()
            .find(|s| &s.name == name)
            .ok_or_else(|| anyhow::anyhow!("{}: no named stream {name:?}", args.path))?;
    }
    if node.kind != Kind::File {
        bail!("{}: not a regular file", args.path);
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut reader = tree.open(&node)?;
    if let Err(e) = io::copy(&mut reader, &mut out) {
        let e = anyhow::Error::from(e);
        // What the image holds was written; the rest lies past its end (a truncated image).
        if let Some(past) = PastEnd::find(&e) {
            out.flush()?;
            eprintln!("odix: {}: {}: {past}", args.image.image.display(), args.path);
            return Ok(EXIT_PARTIAL);
        }
        return Err(e.context(format!("reading {}", args.path)));
    }
    out.flush()?;
    Ok(0)
}

pub fn extract(args: ExtractArgs) -> Result<u8> {
    if let Some(dir) = &args.boot {
        return formats::iso::extract_boot(&args.image, dir);
    }
    let (src, opts, mut tree) = args.image.tree()?;
    let mut ex = Extractor::new(
        &args.dir,
        ExtractOptions {
            keep_old: args.keep_old_files,
            same_permissions: !args.no_same_permissions,
            jobs: args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8))),
        },
        src.plain_file(),
    )?;
    let paths = if args.paths.is_empty() { vec!["/".to_string()] } else { args.paths.clone() };
    let mut warnings = 0u64;
    for p in &paths {
        let node = match resolve(tree.as_mut(), p) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("odix: {}: {e:#}", args.image.image.display());
                warnings += 1;
                continue;
            }
        };
        let comps = components(p);
        let start_is_root = comps.is_empty();
        let norm = if start_is_root { "/".to_string() } else { format!("/{}", comps.join("/")) };
        warnings += walk(tree.as_mut(), node, norm, &opts, true, &mut |t, node, path, _depth| {
            if start_is_root && path == "/" {
                return Ok(true);
            }
            // Every name on the way was checked by the extractor when it was visited (no `/` in any of them),
            // so splitting the image path gives back exactly those names.
            let rel: Vec<&str> = components(path);
            ex.entry(t, node, &rel)
        })?;
    }
    warnings += ex.finish()?;
    Ok(if warnings > 0 { EXIT_PARTIAL } else { 0 })
}

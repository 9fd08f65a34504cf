//! Conversions to and from the containers of one image file (ECM, CSO, ZSO) and between Redump's layout of a
//! disc (one BIN per track) and a single BIN:
//!
//! - `x.bin` → `x.bin.ecm` ([`odix_cdrip::ecm::encode`]) and back (the ECM's EDC checked); `x.bin.ecm` →
//!   `x.iso`: the raw sectors it holds cooked to their 2048 bytes of user data ([`held_raw_disc`], written by the
//!   conversion module as from a BIN/CUE);
//! - `x.iso` → `x.cso` (CISO v1, or v2 with [`ConvertOptions::cso_v2`]) or `x.zso`, on several threads, and back;
//! - `game.cue` → `out/game.cue` with [`Layout::Split`]: one `game (Track N).bin` per track and a CUE sheet naming
//!   them, as Redump keeps discs; with [`Layout::Merge`]: one `game.bin` and a sheet whose INDEX times say where
//!   each track now starts.
//!
//! Every output is an [`AtomicFile`], all renamed into place at the end: nothing is left behind by an error or an
//! interruption. The module stands on its own (the conversion module maps its [`Request`] and [`Done`]).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use odix_cdrip::cso::{self, CompressOptions, CsoFormat};
use odix_cdrip::cue::{CueSheet, FileType, Frames};
use odix_cdrip::detect::ImageFormat;
use odix_cdrip::ecm::{self, EcmStore};
use odix_cdrip::image::{RawDisc, SheetKind};
use odix_cdrip::store::{ByteStore, FileStore, StoreReader};

use crate::cancel::Cancel;
use crate::output::Outputs;

/// One conversion of this module: the paths, the options that concern it, the caller's progress callback.
pub(crate) struct Request<'a> {
    pub input: PathBuf,
    pub output: PathBuf,
    pub force: bool,
    pub layout: Option<Layout>,
    pub cso_v2: bool,
    pub threads: usize,
    pub cancel: Cancel,
    pub progress: &'a dyn Fn(u64, u64),
}

/// What a conversion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DoneKind {
    Packed,
    Unpacked,
    Split,
    Merged,
}

/// What a conversion wrote.
pub(crate) struct Done {
    pub kind: DoneKind,
    /// The main file first.
    pub files: Vec<PathBuf>,
    pub what: String,
    pub sectors: u64,
}

type Args<'a> = Request<'a>;

impl Request<'_> {
    fn progress(&self, done: u64, total: u64) {
        (self.progress)(done, total);
    }

    fn check_cancel(&self) -> Result<()> {
        Ok(self.cancel.check()?)
    }
}

fn ext_of(p: &Path) -> Option<String> {
    p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

/// How a CUE sheet's files are laid out by `ConvertOptions::layout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One BIN per track, named as Redump names them.
    Split,
    /// One BIN for the whole disc.
    Merge,
}

/// The conversion of `args` if it is one of this module's: `None` leaves it to the others.
pub(crate) fn convert(args: &Args, detected: Option<ImageFormat>) -> Option<Result<Done>> {
    let out_ext = ext_of(&args.output);
    if let Some(layout) = args.layout {
        return Some(relayout(args, layout));
    }
    match (detected, out_ext.as_deref()) {
        (Some(ImageFormat::Ecm), Some("ecm")) => Some(Err(anyhow::anyhow!(
            "{}: already an ECM file: name the output by what it holds (NAME.bin)",
            args.input.display()
        ))),
        (Some(f), Some("ecm")) if f.is_raw_disc() => Some(Err(anyhow::anyhow!(
            "{}: ECM holds one file: convert each data file of the image (NAME.bin to NAME.bin.ecm)",
            args.input.display()
        ))),
        (_, Some("ecm")) => Some(to_ecm(args)),
        (Some(ImageFormat::Ecm), Some("cue" | "ccd")) => Some(Err(anyhow::anyhow!(
            "{}: an ECM file: convert it to the file it holds first (NAME.bin)",
            args.input.display()
        ))),
        (Some(ImageFormat::Ecm), _) => Some(from_ecm(args)),
        (Some(f), Some("cso" | "zso")) if f.is_raw_disc() => Some(Err(anyhow::anyhow!(
            "{}: CSO and ZSO hold ISO images: convert the disc to NAME.iso first",
            args.input.display()
        ))),
        (_, Some("cso" | "zso")) => Some(to_cso(args, out_ext.as_deref() == Some("zso"))),
        (Some(ImageFormat::Cso | ImageFormat::Zso | ImageFormat::Dax), Some("cue" | "ccd")) => {
            Some(Err(anyhow::anyhow!(
                "{}: convert it to NAME.iso first, then the ISO image to {}",
                args.input.display(),
                args.output.display()
            )))
        }
        (Some(ImageFormat::Cso | ImageFormat::Zso | ImageFormat::Dax), _) => Some(from_cso(args)),
        _ => None,
    }
}

/// For a container (ECM, CSO, ZSO) holding raw 2352-byte data sectors (a BIN without its sheet: a whole number
/// of sectors, the first opening with the sync field and mode 1 or 2): the one data track they make, as the
/// reading commands lay it out. `None` for anything else.
///
/// # Errors
/// The container's error when it cannot be opened.
pub(crate) fn held_raw_disc(path: &Path, format: Option<ImageFormat>) -> Result<Option<RawDisc>> {
    let Some(format) = format.filter(|f| f.is_container()) else {
        return Ok(None);
    };
    let Some(store) = odix_cdrip::container::open(path, format)? else { return Ok(None) };
    Ok(RawDisc::from_bare_store(path, store)?.ok().map(|(disc, _)| disc))
}

/// The bytes of `path`: the file it holds for a container, else the file itself.
fn input_store(path: &Path) -> Result<Box<dyn ByteStore>> {
    let format = odix_cdrip::detect::detect(path).with_context(|| format!("cannot open {}", path.display()))?;
    match odix_cdrip::container::open(path, format)? {
        Some(s) => Ok(s),
        None => Ok(Box::new(FileStore::open(path).with_context(|| format!("cannot open {}", path.display()))?)),
    }
}

/// A progress callback for the codecs: tells the caller, and stops (with an `Interrupted` error that
/// [`finish_io`] turns into the cancellation) once the conversion is cancelled.
fn progress<'a>(args: &'a Args, total: u64) -> impl FnMut(u64) -> io::Result<()> + 'a {
    move |done| {
        args.progress(done, total);
        if args.cancel.is_cancelled() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        Ok(())
    }
}

/// The result of a codec run: a cancellation reported as such, other errors with `what` as context.
fn finish_io<T>(args: &Args, r: io::Result<T>, what: impl FnOnce() -> String) -> Result<T> {
    args.check_cancel()?;
    r.with_context(what)
}

fn report(kind: DoneKind, files: Vec<PathBuf>, what: String) -> Done {
    Done { kind, files, what, sectors: 0 }
}

fn to_ecm(args: &Args) -> Result<Done> {
    let store = input_store(&args.input)?;
    let total = store.len();
    let outputs = Outputs::create(&[&args.output], std::slice::from_ref(&args.input), args.force)?;
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    let mut tell = progress(args, total);
    let reader =
        ProgressReader { inner: BufReader::with_capacity(1 << 20, StoreReader::new(store)), done: 0, tell: &mut tell };
    args.progress(0, total);
    let r = ecm::encode(reader, &mut w);
    let rep = finish_io(args, r, || format!("writing {}", args.output.display()))?;
    drop(w);
    args.check_cancel()?;
    outputs.commit()?;
    let what = format!(
        "{} bytes in {} bytes: {} Mode 1, {} Mode 2 Form 1, {} Mode 2 Form 2 sectors stripped",
        rep.input_len, rep.output_len, rep.mode1, rep.form1, rep.form2
    );
    Ok(report(DoneKind::Packed, vec![args.output.clone()], what))
}

/// A reader that tells how far it has read.
struct ProgressReader<'a, R, F: FnMut(u64) -> io::Result<()>> {
    inner: R,
    done: u64,
    tell: &'a mut F,
}

impl<R: Read, F: FnMut(u64) -> io::Result<()>> Read for ProgressReader<'_, R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let before = self.done >> 22;
        self.done += n as u64;
        if self.done >> 22 != before || n == 0 {
            (self.tell)(self.done)?;
        }
        Ok(n)
    }
}

fn from_ecm(args: &Args) -> Result<Done> {
    let store = EcmStore::open(&args.input).with_context(|| format!("{}", args.input.display()))?;
    let total = store.len();
    let outputs = Outputs::create(&[&args.output], std::slice::from_ref(&args.input), args.force)?;
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    args.progress(0, total);
    let r = store.decode_to(&mut w, &mut progress(args, total)).and_then(|n| w.flush().map(|()| n));
    let n = finish_io(args, r, || format!("{} to {}", args.input.display(), args.output.display()))?;
    drop(w);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(report(DoneKind::Unpacked, vec![args.output.clone()], format!("{n} bytes, EDC checked")))
}

fn to_cso(args: &Args, zso: bool) -> Result<Done> {
    let store = input_store(&args.input)?;
    let total = store.len();
    let format = match (zso, args.cso_v2) {
        (true, _) => CsoFormat::Zso,
        (false, true) => CsoFormat::CsoV2,
        (false, false) => CsoFormat::CsoV1,
    };
    let threads = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()).min(16),
        n => n,
    };
    let opts = CompressOptions { format, block_size: 2048, threads, min_index_shift: 0 };
    let outputs = Outputs::create(&[&args.output], std::slice::from_ref(&args.input), args.force)?;
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    args.progress(0, total);
    let input = BufReader::with_capacity(1 << 20, StoreReader::new(store));
    let r = cso::compress(input, total, &mut w, &opts, &mut progress(args, total)).and_then(|r| w.flush().map(|()| r));
    let rep = finish_io(args, r, || format!("{} to {}", args.input.display(), args.output.display()))?;
    drop(w);
    args.check_cancel()?;
    outputs.commit()?;
    let what = format!(
        "{}: {} bytes in {} bytes, {} of {} blocks stored uncompressed, {threads} threads",
        format.name(),
        rep.input_len,
        rep.output_len,
        rep.stored,
        rep.blocks
    );
    Ok(report(DoneKind::Packed, vec![args.output.clone()], what))
}

fn from_cso(args: &Args) -> Result<Done> {
    let store = input_store(&args.input)?;
    let total = store.len();
    let outputs = Outputs::create(&[&args.output], std::slice::from_ref(&args.input), args.force)?;
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0)?);
    args.progress(0, total);
    let mut tell = progress(args, total);
    let r = (|| -> io::Result<u64> {
        let mut buf = vec![0u8; 1 << 20];
        let mut pos = 0u64;
        while pos < total {
            let n = usize::try_from(total - pos).unwrap_or(usize::MAX).min(buf.len());
            store.read_at(pos, &mut buf[..n])?;
            w.write_all(&buf[..n])?;
            pos += n as u64;
            tell(pos)?;
        }
        w.flush()?;
        Ok(pos)
    })();
    let n = finish_io(args, r, || format!("{} to {}", args.input.display(), args.output.display()))?;
    drop(w);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(report(DoneKind::Unpacked, vec![args.output.clone()], format!("{n} bytes")))
}

/// The file name Redump gives track `n` of a disc named `stem` with `count` tracks: `stem (Track N).bin`, the
/// number with two digits when the disc has ten tracks or more; `stem.bin` for a single track.
pub fn redump_track_name(stem: &str, n: u8, count: usize) -> String {
    match count {
        1 => format!("{stem}.bin"),
        c if c >= 10 => format!("{stem} (Track {n:02}).bin"),
        _ => format!("{stem} (Track {n}).bin"),
    }
}

/// Bytes of a source file: its index in the disc's files, the offset, the length.
type Part = (usize, u64, u64);

/// Splits or merges the BINs of a CUE sheet.
fn relayout(args: &Args, layout: Layout) -> Result<Done> {
    if ext_of(&args.output).as_deref() != Some("cue") {
        bail!("{}: --split and --merge write a CUE sheet (NAME.cue) and its BINs", args.output.display());
    }
    let disc = RawDisc::open(&args.input)?;
    let Some(sheet) = disc.cue().filter(|_| disc.kind() == SheetKind::Cue) else {
        bail!("{}: --split and --merge read a CUE sheet and its BINs", args.input.display());
    };
    if let Some(f) = disc.files().iter().find(|f| !matches!(f.file_type, FileType::Binary | FileType::Motorola)) {
        bail!("{}: {} is not a BINARY file: only BINs are split or merged", args.input.display(), f.path.display());
    }
    let stem = args
        .output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .with_context(|| format!("{}: no file name", args.output.display()))?;
    let dir = args.output.parent().map(Path::to_path_buf).unwrap_or_default();
    let tracks = disc.tracks();
    let mut new = CueSheet { files: Vec::new(), ..sheet.clone() };
    // Each output BIN: its name and the byte ranges it is made of.
    let mut bins: Vec<(String, Vec<Part>)> = Vec::new();
    let file_type = sheet.files.first().map_or(FileType::Binary, |f| f.file_type);
    match layout {
        Layout::Split => {
            let count = tracks.len();
            let mut ti = 0usize;
            for f in &sheet.files {
                for t in &f.tracks {
                    let dt = tracks.get(ti).with_context(|| format!("{}: track layout", args.input.display()))?;
                    ti += 1;
                    let start = t.file_start().map_or(0, |fr| fr.0);
                    let mut nt = t.clone();
                    for i in &mut nt.indexes {
                        i.position = Frames(i.position.0.saturating_sub(start));
                    }
                    let name = redump_track_name(&stem, t.number, count);
                    new.files.push(odix_cdrip::cue::File {
                        name: name.clone(),
                        file_type: f.file_type,
                        tracks: vec![nt],
                        line: 0,
                    });
                    bins.push((name, vec![(dt.file, dt.file_offset, dt.stored_bytes())]));
                }
            }
        }
        Layout::Merge => {
            let name = format!("{stem}.bin");
            let mut merged = odix_cdrip::cue::File { name: name.clone(), file_type, tracks: Vec::new(), line: 0 };
            let mut parts = Vec::new();
            let mut frames_before = 0u32;
            let mut ti = 0usize;
            for (fi, f) in sheet.files.iter().enumerate() {
                if f.file_type != file_type {
                    bail!("{}: BINARY and MOTOROLA files cannot be merged into one", args.input.display());
                }
                let mut frames = 0u32;
                for t in &f.tracks {
                    let dt = tracks.get(ti).with_context(|| format!("{}: track layout", args.input.display()))?;
                    ti += 1;
                    let mut nt = t.clone();
                    for i in &mut nt.indexes {
                        i.position = Frames(i.position.0.saturating_add(frames_before));
                    }
                    merged.tracks.push(nt);
                    frames = frames.saturating_add(u32::try_from(dt.stored).unwrap_or(u32::MAX));
                    parts.push((fi, dt.file_offset, dt.stored_bytes()));
                }
                frames_before = frames_before.saturating_add(frames);
            }
            new.files.push(merged);
            bins.push((name, parts));
        }
    }
    // The byte ranges must be what the sheet's files hold: a file with bytes no track covers is refused rather
    // than cut short.
    for (fi, f) in disc.files().iter().enumerate() {
        let covered: u64 = bins.iter().flat_map(|(_, p)| p).filter(|p| p.0 == fi).map(|p| p.2).sum();
        if covered != f.len {
            bail!(
                "{}: {} has {} bytes, its tracks {covered}: the layout would not keep every byte",
                args.input.display(),
                f.path.display(),
                f.len
            );
        }
    }
    let bin_paths: Vec<PathBuf> = bins.iter().map(|(n, _)| dir.join(n)).collect();
    let mut targets: Vec<&Path> = bin_paths.iter().map(PathBuf::as_path).collect();
    targets.push(&args.output);
    let mut inputs: Vec<PathBuf> = vec![args.input.clone()];
    inputs.extend(disc.files().iter().map(|f| f.path.clone()));
    let outputs = Outputs::create(&targets, &inputs, args.force)?;
    let total: u64 = bins.iter().flat_map(|(_, p)| p).map(|p| p.2).sum();
    args.progress(0, total);
    let mut done = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for (i, ((_, parts), path)) in bins.iter().zip(&bin_paths).enumerate() {
        let mut w = BufWriter::with_capacity(1 << 20, outputs.file(i)?);
        for &(fi, off, len) in parts {
            let f = disc.files().get(fi).with_context(|| format!("{}: file {fi}", args.input.display()))?;
            let mut pos = 0u64;
            while pos < len {
                let n = usize::try_from(len - pos).unwrap_or(usize::MAX).min(buf.len());
                f.read_at_shared(off + pos, &mut buf[..n])?;
                w.write_all(&buf[..n]).with_context(|| format!("writing {}", path.display()))?;
                pos += n as u64;
                done += n as u64;
                args.progress(done, total);
                args.check_cancel()?;
            }
        }
        w.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    let mut c = BufWriter::new(outputs.file(bins.len())?);
    new.write_to(&mut c).and_then(|()| c.flush()).with_context(|| format!("writing {}", args.output.display()))?;
    drop(c);
    args.check_cancel()?;
    outputs.commit()?;
    let mut files = vec![args.output.clone()];
    files.extend(bin_paths);
    let (kind, what) = match layout {
        Layout::Split => (DoneKind::Split, format!("{} tracks, one BIN each", tracks.len())),
        Layout::Merge => (DoneKind::Merged, format!("{} tracks in one BIN", tracks.len())),
    };
    Ok(Done { sectors: total / 2352, ..report(kind, files, what) })
}

//! Conversions to and from MAME CHD: any raw disc image (CUE/BIN, CloneCD, or another CHD) to a CD CHD, an ISO
//! image to a DVD CHD, a CD CHD to BIN/CUE (one BIN, as `chdman extractcd` writes it) and a DVD CHD to an ISO
//! image. CHDs are written as `chdman createcd` / `createdvd` write them (see [`odix_cdrip::chd::write`]), the
//! hunks compressed on every core.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use odix_cdrip::chd::write::{cd_layout, write_chd, CdFrames, ChdLayout};
use odix_cdrip::chd::{ChdFile, ChdMedia, CD_FRAME};
use odix_cdrip::cue::{CueSheet, FileType, Frames, Index, Track};
use odix_cdrip::detect::ImageFormat;
use odix_cdrip::image::RawDisc;
use odix_cdrip::store::ByteStore;

use super::{open_iso, raw_inputs, Args, ConvertEvent, ConvertKind, ConvertReport, Outputs};

/// The conversion for these formats when CHD is one side of it, or `None` when it is not.
pub(super) fn convert(
    args: &Args,
    detected: Option<ImageFormat>,
    in_raw: bool,
    out_ext: Option<&str>,
) -> Result<Option<ConvertReport>> {
    let from_chd = detected == Some(ImageFormat::Chd);
    match out_ext {
        Some("chd") if in_raw => raw_to_chd(args).map(Some),
        Some("chd") => iso_to_chd(args).map(Some),
        Some("iso") if from_chd => {
            let chd = ChdFile::open(&args.input)?;
            match chd.info().media {
                ChdMedia::Dvd => dvd_to_iso(args, chd).map(Some),
                ChdMedia::Cd(_) => Ok(None),
            }
        }
        Some("cue") | Some("bin") if from_chd => {
            let cue = args.output.with_extension("cue");
            chd_to_bin_cue(args, &cue).map(Some)
        }
        _ => Ok(None),
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn no_selection(args: &Args) -> Result<()> {
    if args.opts.session.is_some() || args.opts.track.is_some() {
        bail!("{}: a CHD holds the whole disc: --session and --track apply to .iso output", args.output.display());
    }
    Ok(())
}

fn raw_to_chd(args: &Args) -> Result<ConvertReport> {
    no_selection(args)?;
    let mut disc = RawDisc::open(&args.input)?;
    let tracks = cd_layout(&disc)?;
    let mut warnings = Vec::new();
    if disc.session_count() > 1 {
        let w = format!(
            "{}: a CHD has no sessions: the {} sessions are written one after the other, without the gaps between \
             them",
            args.input.display(),
            disc.session_count()
        );
        args.event(ConvertEvent::Warning(w.clone()));
        warnings.push(w);
    }
    let outputs = Outputs::create(&[&args.output], &raw_inputs(&disc), args.opts.force)?;
    let layout = ChdLayout::Cd(tracks.clone());
    let total = layout.logical_bytes() / u64::from(CD_FRAME);
    let mut frames = CdFrames::new(&mut disc, tracks);
    args.progress(0, total);
    let out = BufWriter::with_capacity(1 << 20, outputs.file(0));
    let (mut out, _) = write_chd(out, &args.output, &layout, threads(), |buf: &mut [u8]| -> Result<()> {
        frames.fill(buf).with_context(|| format!("reading {}", args.input.display()))?;
        args.progress(frames.frames_done(), total);
        args.check_cancel()
    })?;
    out.flush().with_context(|| format!("writing {}", args.output.display()))?;
    drop(out);
    args.event(ConvertEvent::Done);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(report(args, ConvertKind::RawToChd, total, warnings))
}

fn iso_to_chd(args: &Args) -> Result<ConvertReport> {
    no_selection(args)?;
    let mut warnings = Vec::new();
    let (input, sectors) = open_iso(args, &mut warnings)?;
    let outputs = Outputs::create(&[&args.output], std::slice::from_ref(&args.input), args.opts.force)?;
    let layout = ChdLayout::Dvd(sectors * 2048);
    let mut r = BufReader::with_capacity(1 << 20, input);
    let mut done = 0u64;
    args.progress(0, sectors);
    let out = BufWriter::with_capacity(1 << 20, outputs.file(0));
    let (mut out, _) = write_chd(out, &args.output, &layout, threads(), |buf: &mut [u8]| -> Result<()> {
        // The last sector of an image whose size is not a multiple of 2048 is padded with zeros.
        let mut filled = 0;
        while filled < buf.len() {
            match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).with_context(|| format!("reading {}", args.input.display())),
            }
        }
        buf[filled..].fill(0);
        done += buf.len() as u64 / 2048;
        args.progress(done, sectors);
        args.check_cancel()
    })?;
    out.flush().with_context(|| format!("writing {}", args.output.display()))?;
    drop(out);
    args.event(ConvertEvent::Done);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(report(args, ConvertKind::IsoToChd, sectors, warnings))
}

fn report(args: &Args, kind: ConvertKind, sectors: u64, warnings: Vec<String>) -> ConvertReport {
    ConvertReport {
        kind,
        files: vec![args.output.clone()],
        sectors,
        what: None,
        session_start: None,
        subchannel: None,
        warnings,
    }
}

/// Copies `len` bytes of `store` from its start to `out`, with progress in 2048-byte sectors.
fn copy_store(args: &Args, store: &dyn ByteStore, out: &mut dyn Write) -> Result<u64> {
    let len = store.len();
    let total = len.div_ceil(2048);
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    args.progress(0, total);
    while pos < len {
        let n = usize::try_from(len - pos).unwrap_or(usize::MAX).min(buf.len());
        store.read_at(pos, &mut buf[..n]).with_context(|| format!("reading {}", args.input.display()))?;
        out.write_all(&buf[..n]).with_context(|| format!("writing {}", args.output.display()))?;
        pos += n as u64;
        args.progress(pos.div_ceil(2048), total);
        args.check_cancel()?;
    }
    args.event(ConvertEvent::Done);
    Ok(total)
}

fn dvd_to_iso(args: &Args, chd: ChdFile) -> Result<ConvertReport> {
    no_selection(args)?;
    let outputs = Outputs::create(&[&args.output], std::slice::from_ref(&args.input), args.opts.force)?;
    let store = chd.into_store();
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0));
    let sectors = copy_store(args, &store, &mut w)?;
    w.flush().with_context(|| format!("writing {}", args.output.display()))?;
    drop(w);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(ConvertReport { what: Some("DVD".into()), ..report(args, ConvertKind::RawToIso, sectors, Vec::new()) })
}

/// A CD CHD as one BIN of every track's stored sectors and a CUE sheet: a stored pregap as `INDEX 00`, one
/// that is not stored as `PREGAP`, and `POSTGAP`s.
fn chd_to_bin_cue(args: &Args, cue_path: &Path) -> Result<ConvertReport> {
    no_selection(args)?;
    let bin_path = cue_path.with_extension("bin");
    let mut disc = RawDisc::open(&args.input)?;
    let outputs = Outputs::create(&[&bin_path, cue_path], &raw_inputs(&disc), args.opts.force)?;
    let total: u64 = disc.tracks().iter().map(|t| t.stored).sum();
    args.progress(0, total);
    let mut w = BufWriter::with_capacity(1 << 20, outputs.file(0));
    let mut cue_tracks = Vec::new();
    let mut done = 0u64;
    let mut sector = Vec::new();
    for ti in 0..disc.tracks().len() {
        let t = disc.tracks()[ti].clone();
        let mut track = Track::new(t.number, t.mode);
        let frames = |n: u64| Frames(u32::try_from(n).unwrap_or(u32::MAX));
        if t.unstored_pregap > 0 {
            track.pregap = Some(Frames(t.unstored_pregap));
        }
        if t.start_lba > t.first_lba {
            track.indexes.push(Index { number: 0, position: frames(done) });
        }
        let index1 = done + u64::try_from(t.start_lba - t.first_lba).unwrap_or(0);
        track.indexes.push(Index { number: 1, position: frames(index1) });
        if t.postgap > 0 {
            track.postgap = Some(Frames(t.postgap));
        }
        cue_tracks.push(track);
        sector.resize(t.sector_size() as usize, 0);
        for lba in t.first_lba..t.end_lba() {
            disc.read_stored(ti, lba, &mut sector).with_context(|| format!("reading {}", args.input.display()))?;
            w.write_all(&sector).with_context(|| format!("writing {}", bin_path.display()))?;
            done += 1;
            if done % 256 == 0 {
                args.progress(done, total);
                args.check_cancel()?;
            }
        }
    }
    args.event(ConvertEvent::Done);
    w.flush().with_context(|| format!("writing {}", bin_path.display()))?;
    drop(w);
    let bin_name = bin_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sheet = CueSheet {
        files: vec![odix_cdrip::cue::File { name: bin_name, file_type: FileType::Binary, tracks: cue_tracks, line: 0 }],
        ..CueSheet::default()
    };
    let mut c = BufWriter::new(outputs.file(1));
    sheet.write_to(&mut c).and_then(|()| c.flush()).with_context(|| format!("writing {}", cue_path.display()))?;
    drop(c);
    args.check_cancel()?;
    outputs.commit()?;
    Ok(ConvertReport {
        files: vec![cue_path.to_path_buf(), bin_path],
        ..report(args, ConvertKind::ChdToBinCue, done, Vec::new())
    })
}

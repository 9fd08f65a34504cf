//! `odix convert IN OUT`: raw disc image (CUE/BIN, CloneCD) to a cooked ISO image, and ISO image to BIN/CUE
//! (Mode 1, 2352-byte sectors with sync, header, EDC and ECC generated).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use odix_cdrip::cue::{CueSheet, FileType, Frames, Index, Track, TrackMode};
use odix_cdrip::image::{self, RawDisc};

/// `odix convert`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConvertArgs {
    /// The image to read: a `.cue` or `.ccd` (raw), or an ISO image (any other name).
    pub input: PathBuf,
    /// What to write: `NAME.iso` from a raw image; `NAME.cue` (with `NAME.bin` beside it) from an ISO image.
    pub output: PathBuf,
    /// For raw input: write the file system of session N (default: the last session with a data track).
    #[arg(long, value_name = "N")]
    pub session: Option<u32>,
    /// For raw input: write only track N's user data, from its INDEX 01 to its end.
    #[arg(long, value_name = "N", conflicts_with = "session")]
    pub track: Option<u8>,
    /// Replace OUT (and the .bin beside it) if it exists.
    #[arg(short, long)]
    pub force: bool,
}

fn ext_of(p: &Path) -> Option<String> {
    p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

fn create(path: &Path, force: bool) -> Result<BufWriter<File>> {
    if !force && path.exists() {
        bail!("{} exists (use --force to replace it)", path.display());
    }
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

pub fn convert(args: ConvertArgs) -> Result<u8> {
    let in_raw = matches!(ext_of(&args.input).as_deref(), Some("cue") | Some("ccd"));
    let out_ext = ext_of(&args.output);
    match (in_raw, out_ext.as_deref()) {
        (true, Some("cue") | Some("ccd") | Some("bin") | Some("img")) => {
            bail!("{}: raw to raw conversion is not supported; convert to .iso", args.output.display())
        }
        (true, _) => raw_to_iso(&args),
        (false, Some("cue")) => iso_to_bin_cue(&args),
        (false, Some("bin")) => {
            let cue = args.output.with_extension("cue");
            iso_to_bin_cue(&ConvertArgs { output: cue, ..args.clone() })
        }
        (false, _) => bail!("{}: an ISO image converts to NAME.cue (with NAME.bin)", args.output.display()),
    }
}

/// Copies the user data of LBAs `from..to` of the disc's data tracks to `out`.
fn copy_cooked(disc: RawDisc, from: i64, to: i64, out: &mut dyn Write) -> Result<u64> {
    let path = disc.sheet_path().to_path_buf();
    let mut r = disc.cooked_reader();
    let start = u64::try_from(from).unwrap_or(0) * 2048;
    let len = u64::try_from(to.saturating_sub(from)).unwrap_or(0) * 2048;
    r.seek(SeekFrom::Start(start))?;
    let mut taken = BufReader::with_capacity(1 << 20, r).take(len);
    let n = std::io::copy(&mut taken, out).with_context(|| format!("reading {}", path.display()))?;
    if n != len {
        bail!("{}: image ended after {n} of {len} bytes", path.display());
    }
    Ok(n)
}

fn raw_to_iso(args: &ConvertArgs) -> Result<u8> {
    let disc = RawDisc::open(&args.input)?;
    let (from, to, what) = match args.track {
        Some(n) => {
            let t = disc
                .tracks()
                .iter()
                .find(|t| t.number == n)
                .with_context(|| format!("{}: no track {n}", args.input.display()))?;
            if !t.mode.is_data() {
                bail!("{}: track {n} is an audio track", args.input.display());
            }
            (t.start_lba, t.end_lba(), format!("track {n}"))
        }
        None => {
            let s = disc.choose_session(args.session)?;
            let end = disc
                .tracks()
                .iter()
                .filter(|t| t.session == s && t.mode.is_data())
                .map(|t| t.end_lba())
                .max()
                .unwrap_or(0);
            (0, end, format!("session {s}"))
        }
    };
    let session_start = if args.track.is_none() { disc.session_start(args.session)? } else { 0 };
    let mut out = create(&args.output, args.force)?;
    let n = copy_cooked(disc, from, to, &mut out)?;
    out.flush().with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("odix: wrote {} ({} sectors, {what})", args.output.display(), n / 2048);
    if session_start > 0 {
        eprintln!(
            "odix: the file system of that session starts at LBA {session_start}: read it with --offset {session_start}"
        );
    }
    Ok(0)
}

fn iso_to_bin_cue(args: &ConvertArgs) -> Result<u8> {
    let cue_path = &args.output;
    let bin_path = cue_path.with_extension("bin");
    let input = File::open(&args.input).with_context(|| format!("cannot open {}", args.input.display()))?;
    let len = input.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        bail!("{}: empty image", args.input.display());
    }
    let sectors = len.div_ceil(2048);
    if sectors > u64::try_from(odix_cdrip::sector::MAX_LBA + 1).unwrap_or(0) {
        bail!("{}: {sectors} sectors do not fit the 100 minutes a CD can address", args.input.display());
    }
    if len % 2048 != 0 {
        eprintln!("odix: warning: {}: size is not a multiple of 2048; the last sector is padded", args.input.display());
    }
    let mut out = create(&bin_path, args.force)?;
    let mut r = BufReader::with_capacity(1 << 20, input);
    let n = image::write_mode1_track(&mut r, &mut out, 0)?;
    out.flush().with_context(|| format!("writing {}", bin_path.display()))?;
    let bin_name = bin_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut track = Track::new(1, TrackMode::Mode1_2352);
    track.indexes.push(Index { number: 1, position: Frames(0) });
    let sheet = CueSheet {
        files: vec![odix_cdrip::cue::File {
            name: bin_name,
            file_type: FileType::Binary,
            tracks: vec![track],
            line: 0,
        }],
        ..CueSheet::default()
    };
    let mut c = create(cue_path, args.force)?;
    sheet.write_to(&mut c).and_then(|()| c.flush()).with_context(|| format!("writing {}", cue_path.display()))?;
    eprintln!("odix: wrote {} and {} ({n} Mode 1 sectors)", cue_path.display(), bin_path.display());
    Ok(0)
}

//! `odix convert IN OUT`: raw disc image (CUE/BIN, CloneCD, a sheet of WAVE/FLAC files) to a cooked ISO image, to
//! one BIN/CUE, to CloneCD or (`--audio wav|flac`) to a folder of per-track files; ISO image to BIN/CUE or CloneCD,
//! through [`odix::convert`]; this module maps the arguments, shows the progress and says what was written.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use odix::convert::{AudioFormat, ConvertEvent, ConvertKind, ConvertOptions, SubchannelSource};

use crate::cmd::interrupt;
use crate::cmd::progress::bar as progress_bar;

/// `odix convert`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConvertArgs {
    /// The image to read: a raw image (`.cue`, `.ccd`, `.nrg`, `.mds`, `.cdi`, `.gdi`, `.toc`, recognised by its
    /// content), an ISO image, or an ECM, CSO or ZSO file.
    pub input: PathBuf,
    /// What to write, by its extension: from a raw image `NAME.iso`, `NAME.cue` (with `NAME.bin`) or `NAME.ccd`
    /// (with `NAME.img` and `NAME.sub`), or with --audio a folder; from an ISO image `NAME.cue` (with `NAME.bin`),
    /// `NAME.ccd`, `NAME.cso` or `NAME.zso`; `NAME.ecm` from any file; from an ECM, CSO or ZSO file the file it
    /// holds (any name); `NAME.chd` from a raw image (a CD CHD) or an ISO image (a DVD CHD); from a CHD `NAME.cue`
    /// (one `NAME.bin`).
    pub output: PathBuf,
    /// For raw input: write each track to its own file in the folder OUT (made if missing): audio tracks as WAVE
    /// or FLAC files (tagged from the sheet's TITLE and PERFORMER), data tracks as BIN, with a CUE sheet naming
    /// them.
    #[arg(long, value_name = "FORMAT", value_parser = ["wav", "flac"])]
    pub audio: Option<String>,
    /// For raw input: write the file system of session N (default: the last session with a data track).
    #[arg(long, value_name = "N")]
    pub session: Option<u32>,
    /// For raw input: write only track N's user data, from its INDEX 01 to its end.
    #[arg(long, value_name = "N", conflicts_with = "session")]
    pub track: Option<u8>,
    /// Replace OUT (and the files beside it) if it exists.
    #[arg(short, long)]
    pub force: bool,
    /// From a CUE sheet to OUT.cue: one BIN per track, named as Redump names them ("OUT (Track N).bin").
    #[arg(long, conflicts_with_all = ["merge", "session", "track"])]
    pub split: bool,
    /// From a CUE sheet to OUT.cue: all its BINs as one OUT.bin, the INDEX times moved to match.
    #[arg(long, conflicts_with_all = ["session", "track"])]
    pub merge: bool,
    /// For a .cso output: CISO v2 (deflate or LZ4 blocks, whichever is smaller) instead of v1 (deflate).
    #[arg(long)]
    pub cso_v2: bool,
    /// Threads compressing a .cso, .zso or .chd (default: one per CPU).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

pub fn convert(args: ConvertArgs) -> Result<u8> {
    let bar: Arc<Mutex<Option<indicatif::ProgressBar>>> = Arc::new(Mutex::new(None));
    let shown = Arc::clone(&bar);
    let opts = ConvertOptions {
        session: args.session,
        track: args.track,
        audio: args.audio.as_deref().and_then(AudioFormat::parse),
        force: args.force,
        layout: match (args.split, args.merge) {
            (true, _) => Some(odix::convert::Layout::Split),
            (_, true) => Some(odix::convert::Layout::Merge),
            _ => None,
        },
        cso_v2: args.cso_v2,
        threads: args.threads.unwrap_or(0),
        cancel: interrupt::cancel(),
        on_event: Some(Arc::new(move |e| {
            let mut bar = shown.lock().unwrap_or_else(|p| p.into_inner());
            match e {
                ConvertEvent::Progress { done, total } => {
                    bar.get_or_insert_with(|| progress_bar(total, "converting")).set_position(done);
                }
                ConvertEvent::Done => {
                    if let Some(b) = bar.take() {
                        b.finish_and_clear();
                    }
                }
                ConvertEvent::Warning(w) => eprintln!("odix: warning: {w}"),
            }
        })),
    };
    let done = odix::convert::convert(&args.input, &args.output, &opts);
    if let Some(b) = bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
        b.finish_and_clear();
    }
    let r = done?;
    let names: Vec<String> = r.files.iter().map(|f| f.display().to_string()).collect();
    match r.kind {
        ConvertKind::RawToIso => {
            eprintln!("odix: wrote {} ({} sectors, {})", names[0], r.sectors, r.what.unwrap_or_default());
            if let Some(s) = r.session_start {
                eprintln!("odix: the file system of that session starts at LBA {s}: read it with --offset {s}");
            }
        }
        ConvertKind::RawToChd | ConvertKind::IsoToChd => {
            eprintln!("odix: wrote {} ({} sectors)", names[0], r.sectors);
        }
        ConvertKind::ChdToBinCue => eprintln!("odix: wrote {} and {} ({} sectors)", names[0], names[1], r.sectors),
        ConvertKind::RawToBinCue => eprintln!("odix: wrote {} and {} ({} sectors)", names[0], names[1], r.sectors),
        ConvertKind::IsoToBinCue => {
            eprintln!("odix: wrote {} and {} ({} Mode 1 sectors)", names[0], names[1], r.sectors);
        }
        ConvertKind::RawToTracks => {
            let tracks = names.len().saturating_sub(1);
            eprintln!(
                "odix: wrote {} and {tracks} track files ({} sectors, audio as {})",
                names[0],
                r.sectors,
                r.what.unwrap_or_default()
            );
        }
        ConvertKind::RawToCcd | ConvertKind::IsoToCcd => {
            let subs = match r.subchannel {
                Some(SubchannelSource::Source) => "subchannel from the source",
                Some(SubchannelSource::Partly) => "subchannel from the source, the rest generated",
                _ => "P/Q subchannel generated",
            };
            eprintln!("odix: wrote {}, {} and {} ({} sectors, {subs})", names[0], names[1], names[2], r.sectors);
        }
        ConvertKind::Packed | ConvertKind::Unpacked => {
            eprintln!("odix: wrote {} ({})", names[0], r.what.unwrap_or_default());
        }
        ConvertKind::Split | ConvertKind::Merged => {
            eprintln!("odix: wrote {} and {} ({})", names[0], names[1..].join(", "), r.what.unwrap_or_default());
        }
    }
    Ok(0)
}

//! The drive commands: `rip`, `drive`, `toc`.
//!
//! `rip` reads a disc (or a raw image as the disc it describes, or any file or block device) into an image with
//! odix-cdrip's rip machine, keeping a GNU ddrescue map beside it so that a second run resumes. Exit status: 0 the
//! image is complete, 2 it is not (bad sectors remain, or the rip was interrupted: the partial image and its map are
//! the state a rerun resumes from), 1 an error stopped it before or while reading (nothing is written when the
//! input or the output is refused).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use odix_cdrip::cue::FileType;
use odix_cdrip::disc::{q_position, Disc, Session, Track, TrackKind};
use odix_cdrip::drive::{
    image_disc, unreadable_raw_sector, CookedImageSource, DriveSource, ImageSource, ReadMode, SessionSource,
};
use odix_cdrip::hash::{dat_entry_files, Hasher, ImageHashes, Share};
use odix_cdrip::image::{CookedReader, RawDisc};
use odix_cdrip::map::{BlockStatus, Mapfile};
use odix_cdrip::mmc::{self, C2Mode, Configuration, Drive, Inquiry, ReadCdFields, Subchannel, RAW_SECTOR};
use odix_cdrip::rip::{self, Block, Options, Outcome, Request, Ripper, RunEnd, SectorSource, Verdict};
use odix_cdrip::sector;
use odix_cdrip::sg::{self, SgDevice};
use serde_json::json;

use crate::EXIT_PARTIAL;
use odix::output::AtomicFile;

/// Seconds between map saves.
const MAP_SAVE_INTERVAL: Duration = Duration::from_secs(5);
/// The drive's read retry count during the copy phase (MODE SELECT, error recovery page): few, so that a bad
/// area fails fast and is skipped; trimming, scraping and retrying run with the drive's own count.
const COPY_RETRIES: u8 = 1;
/// Peripheral device type of an MMC (CD/DVD/BD) device in INQUIRY data.
const MMC_DEVICE_TYPE: u8 = 0x05;
/// Bytes per copy read from a drive when the kernel does not say how much one command may carry.
const DEFAULT_TRANSFER: u32 = 64 * 1024;
/// The largest copy read from a drive, in bytes (the kernel's limit, `queue/max_sectors_kb`, is usually lower).
const MAX_TRANSFER: u32 = 2 << 20;
/// Bytes per copy read from a file or non-optical block device.
const FILE_CLUSTER_BYTES: u32 = 64 * 1024;
/// kB/s of CD speed 1× (75 sectors of 2352 bytes a second) and DVD 1×.
const CD_1X_KBPS: f64 = 176.4;
const DVD_1X_KBPS: f64 = 1385.0;

/// `odix rip [DEVICE] OUT`.
#[derive(clap::Args, Debug)]
#[command(override_usage = "odix rip [OPTIONS] [DEVICE] OUT")]
pub struct RipArgs {
    /// `[DEVICE] OUT`: the drive (default: the first optical drive), a `.cue` or `.ccd` read as the disc it
    /// describes, or a regular file or block device read with the same map and retries; then the image to write
    /// (`.iso`, or `.bin` with `--raw`, which also writes `OUT.cue`).
    #[arg(value_name = "PATH", num_args = 1..=2, required = true)]
    pub paths: Vec<PathBuf>,
    /// Read 2352-byte raw sectors of every track (audio included) into OUT.bin, with OUT.cue beside it.
    #[arg(long)]
    pub raw: bool,
    /// With --raw: also read the raw P–W subchannel into OUT.sub (96 bytes a sector).
    #[arg(long, requires = "raw")]
    pub subchannel: bool,
    /// Passes over the sectors that still fail after scraping.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub retries: u32,
    /// Scrape and retry from the last sector towards the first.
    #[arg(long)]
    pub reverse: bool,
    /// The rescue map (GNU ddrescue format); default OUT with the extension `.map`.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Read speed (SET CD SPEED), as a multiple of 1× (CD 176.4 kB/s, DVD 1385 kB/s); `max` for the fastest.
    #[arg(long, value_name = "X")]
    pub speed: Option<String>,
    /// Do not trim the edges of failed areas sector by sector (leave them to scraping).
    #[arg(long)]
    pub no_trim: bool,
    /// Do not read the non-scraped sectors one by one (nor retry them).
    #[arg(long)]
    pub no_scrape: bool,
    /// Seconds one command may take before it counts as failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Do not compute the CRC32/MD5/SHA-1 of the image and its tracks for the log.
    #[arg(long)]
    pub no_hash: bool,
    /// Sectors per read in the copy pass (default: as many as the drive's largest transfer holds, up to 2 MiB).
    #[arg(long, value_name = "N", hide = true)]
    pub cluster: Option<u32>,
}

/// `odix drive [DEVICE]`.
#[derive(clap::Args, Debug)]
pub struct DriveArgs {
    /// The drive (default: the first optical drive).
    pub device: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `odix toc [DEVICE]`.
#[derive(clap::Args, Debug)]
pub struct TocArgs {
    /// The drive (default: the first optical drive).
    pub device: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn default_drive() -> Result<PathBuf> {
    sg::optical_drives().into_iter().next().context("no optical drive found (looked for /sys/class/block/sr*)")
}

fn open_drive(device: Option<PathBuf>, timeout: Duration) -> Result<(PathBuf, Drive<SgDevice>)> {
    let path = match device {
        Some(p) => p,
        None => default_drive()?,
    };
    let dev = SgDevice::open(&path).with_context(|| format!("opening {}", path.display()))?;
    Ok((path, Drive::new(dev, timeout)))
}

/// Waits for the drive to be ready: UNIT ATTENTION after a disc change and NOT READY while it spins up are
/// retried for up to 20 seconds.
fn wait_ready<T: odix_cdrip::transport::Transport>(drive: &mut Drive<T>) -> Result<()> {
    let start = Instant::now();
    loop {
        match drive.test_unit_ready() {
            Ok(()) => return Ok(()),
            Err(e) => {
                let transient = e.sense().is_some_and(|s| {
                    s.key == odix_cdrip::sense::SenseKey::UnitAttention
                        || (s.key == odix_cdrip::sense::SenseKey::NotReady && s.asc == 0x04)
                });
                if !transient || start.elapsed() > Duration::from_secs(20) {
                    return Err(e).context("the drive is not ready");
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
}

/// What `odix drive` reports.
struct DriveReport {
    inquiry: Inquiry,
    config: Option<Configuration>,
    read_cd: Option<std::result::Result<bool, String>>,
    retry_count: Option<u8>,
}

fn drive_report<T: odix_cdrip::transport::Transport>(drive: &mut Drive<T>) -> Result<DriveReport> {
    let inquiry = drive.inquiry().context("INQUIRY")?;
    let config = drive.get_configuration().ok();
    let retry_count = drive.read_error_recovery().ok().map(|p| p.read_retry_count());
    // Raw capability: READ CD of one raw sector of the loaded disc.
    let read_cd = if drive.test_unit_ready().is_ok() {
        let mut buf = vec![0u8; RAW_SECTOR];
        Some(match drive.read_cd(0, 1, ReadCdFields::raw(C2Mode::None, Subchannel::None), &mut buf) {
            Ok(_) => Ok(true),
            Err(e) if e.is_unsupported() => Ok(false),
            Err(e) => Err(e.to_string()),
        })
    } else {
        None
    };
    Ok(DriveReport { inquiry, config, read_cd, retry_count })
}

fn write_drive_report(out: &mut dyn Write, path: &Path, r: &DriveReport, as_json: bool) -> io::Result<()> {
    let profiles: Vec<_> = r.config.as_ref().map(|c| c.profiles.clone()).unwrap_or_default();
    let c2 = r.config.as_ref().and_then(|c| c.cd_read).map(|f| f.c2_flags);
    if as_json {
        let v = json!({
            "device": path.display().to_string(),
            "vendor": r.inquiry.vendor,
            "model": r.inquiry.product,
            "firmware": r.inquiry.revision,
            "device_type": r.inquiry.device_type,
            "current_profile": r.config.as_ref().map(|c| mmc::profile_name(c.current_profile)),
            "profiles": profiles.iter().map(|(p, cur)| json!({"code": p, "name": mmc::profile_name(*p), "current": cur})).collect::<Vec<_>>(),
            "cd_read_feature": r.config.as_ref().is_some_and(|c| c.cd_read.is_some()),
            "c2_pointers": c2.unwrap_or(false),
            "read_cd": match &r.read_cd { Some(Ok(b)) => json!(b), Some(Err(e)) => json!(e), None => json!(null) },
            "read_retry_count": r.retry_count,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        writeln!(out, "Device:       {}", path.display())?;
        writeln!(out, "Vendor:       {}", r.inquiry.vendor)?;
        writeln!(out, "Model:        {}", r.inquiry.product)?;
        writeln!(out, "Firmware:     {}", r.inquiry.revision)?;
        let list: Vec<String> = profiles
            .iter()
            .map(|(p, cur)| format!("{}{}", mmc::profile_name(*p), if *cur { " (current)" } else { "" }))
            .collect();
        writeln!(out, "Profiles:     {}", if list.is_empty() { "(none reported)".into() } else { list.join(", ") })?;
        let c2 = match c2 {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown (no CD Read feature reported)",
        };
        writeln!(out, "C2 pointers:  {c2}")?;
        let raw = match &r.read_cd {
            Some(Ok(true)) => "yes (READ CD)".to_string(),
            Some(Ok(false)) => "no (READ CD not implemented)".to_string(),
            Some(Err(e)) => format!("unknown: {e}"),
            None => "unknown (no disc)".to_string(),
        };
        writeln!(out, "Raw reading:  {raw}")?;
        if let Some(n) = r.retry_count {
            writeln!(out, "Read retries: {n} (drive setting)")?;
        }
        Ok(())
    }
}

/// `odix drive`.
pub fn drive(args: DriveArgs) -> Result<u8> {
    let (path, mut drive) = open_drive(args.device, Duration::from_secs(30))?;
    let report = drive_report(&mut drive)?;
    let mut out = io::stdout().lock();
    write_drive_report(&mut out, &path, &report, args.json)?;
    Ok(0)
}

fn read_disc<T: odix_cdrip::transport::Transport>(drive: &mut Drive<T>) -> Result<Disc> {
    let toc = drive.read_toc().context("READ TOC")?;
    let full = drive.read_full_toc().ok();
    let mut modes = std::collections::BTreeMap::new();
    for e in toc.entries.iter().filter(|e| e.control & mmc::CONTROL_DATA != 0 && e.track != mmc::LEAD_OUT_TRACK) {
        if let Ok(ti) = drive.read_track_information(e.track) {
            modes.insert(e.track, ti.data_mode);
        }
    }
    let mut mode = |t| modes.get(&t).copied().filter(|m| *m == 1 || *m == 2);
    // A full TOC that contradicts itself (some drives fill it carelessly) gives way to the plain TOC.
    Disc::from_toc(&toc, full.as_ref(), &mut mode)
        .or_else(|_| Disc::from_toc(&toc, None, &mut mode))
        .context("reading the disc's shape from its TOC")
}

/// CD-TEXT titles and performers by track number (0: the disc), from READ TOC format 5.
#[derive(Debug, Clone, Default)]
struct DiscText {
    title: std::collections::BTreeMap<u8, String>,
    performer: std::collections::BTreeMap<u8, String>,
}

impl DiscText {
    fn read<T: odix_cdrip::transport::Transport>(drive: &mut Drive<T>) -> Self {
        match drive.read_cd_text() {
            Ok(t) => Self {
                title: t.texts(mmc::cd_text_pack::TITLE).into_iter().collect(),
                performer: t.texts(mmc::cd_text_pack::PERFORMER).into_iter().collect(),
            },
            Err(_) => Self::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.title.is_empty() && self.performer.is_empty()
    }
}

fn write_toc(out: &mut dyn Write, disc: &Disc, text: &DiscText, as_json: bool) -> io::Result<()> {
    if as_json {
        let v = json!({
            "cd_text": (!text.is_empty()).then(|| json!({"title": text.title.get(&0), "performer": text.performer.get(&0)})),
            "disc_type": disc.disc_type,
            "lead_out": disc.lead_out(),
            "sessions": disc.sessions.iter().map(|s| json!({
                "number": s.number, "first_track": s.first_track, "last_track": s.last_track, "lead_out": s.lead_out,
            })).collect::<Vec<_>>(),
            "tracks": disc.tracks.iter().map(|t| json!({
                "number": t.number, "session": t.session, "type": t.kind.name(), "data": t.is_data(),
                "control": t.control, "start": t.start, "length": t.length, "pregap": t.pregap,
                "title": text.title.get(&t.number), "performer": text.performer.get(&t.number),
            })).collect::<Vec<_>>(),
        });
        return writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    if let Some(t) = text.title.get(&0) {
        writeln!(out, "CD-TEXT: {t:?}{}", text.performer.get(&0).map(|p| format!(" by {p:?}")).unwrap_or_default())?;
    }
    for s in &disc.sessions {
        writeln!(
            out,
            "Session {}: tracks {}-{}, lead-out at LBA {}",
            s.number, s.first_track, s.last_track, s.lead_out
        )?;
        for t in disc.tracks.iter().filter(|t| t.session == s.number) {
            let (m, sec, f) = mmc::lba_to_msf(i64::from(t.start));
            writeln!(
                out,
                "  Track {:2}  {:<6} start {:>7} ({m:02}:{sec:02}:{f:02})  length {:>7}{}",
                t.number,
                t.kind.name(),
                t.start,
                t.length,
                if t.pregap > 0 { format!("  pregap {}", t.pregap) } else { String::new() }
            )?;
            if let Some(title) = text.title.get(&t.number) {
                writeln!(out, "            {title:?}")?;
            }
        }
    }
    Ok(())
}

/// `odix toc`.
pub fn toc(args: TocArgs) -> Result<u8> {
    let (_, mut drive) = open_drive(args.device, Duration::from_secs(30))?;
    wait_ready(&mut drive)?;
    let disc = read_disc(&mut drive)?;
    let text = DiscText::read(&mut drive);
    let mut out = io::stdout().lock();
    write_toc(&mut out, &disc, &text, args.json)?;
    Ok(0)
}

/// A regular file or a non-optical block device, read in `unit`-byte sectors; with `encode`, read in 2048-byte
/// sectors each written as the Mode 1 sector (sync, header, EDC, ECC) at its LBA.
struct FileSource {
    file: File,
    unit: u32,
    encode: bool,
    user: Vec<u8>,
}

impl SectorSource for FileSource {
    fn read(&mut self, lba: u32, count: u32) -> Outcome {
        rip::read_via_block(self, lba, count)
    }

    fn read_block(&mut self, lba: u32, count: u32, block: &mut Block) -> bool {
        block.lba = lba;
        block.sub.clear();
        block.verdicts.clear();
        block.data.set_len_for_overwrite((self.unit as usize).saturating_mul(count as usize));
        if !self.encode {
            if self.file.read_exact_at(&mut block.data, u64::from(lba).saturating_mul(u64::from(self.unit))).is_err() {
                return false;
            }
        } else {
            const USER: usize = sector::USER_DATA_LEN;
            self.user.resize(USER.saturating_mul(count as usize), 0);
            if self.file.read_exact_at(&mut self.user, u64::from(lba).saturating_mul(USER as u64)).is_err() {
                return false;
            }
            for ((l, user), raw) in
                (lba..).zip(self.user.chunks_exact(USER)).zip(block.data.chunks_exact_mut(RAW_SECTOR))
            {
                let Ok(user) = <&[u8; USER]>::try_from(user) else { return false };
                match sector::encode_mode1(i64::from(l), user) {
                    Ok(s) => raw.copy_from_slice(&s),
                    Err(_) => return false,
                }
            }
        }
        block.verdicts.resize(count as usize, Verdict::Good);
        true
    }
}

/// The largest transfer of one command to `dev` (`/dev/srN` or `/dev/sgN`) the kernel allows, in bytes.
fn max_transfer(dev: &Path) -> u32 {
    let Some(name) = fs_name(dev) else { return DEFAULT_TRANSFER };
    let queue = if name.starts_with("sg") {
        std::fs::read_dir(format!("/sys/class/scsi_generic/{name}/device/block"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.path().join("queue"))
    } else {
        Some(PathBuf::from(format!("/sys/class/block/{name}/queue")))
    };
    queue
        .and_then(|q| std::fs::read_to_string(q.join("max_sectors_kb")).ok())
        .and_then(|t| t.trim().parse::<u32>().ok())
        .map_or(DEFAULT_TRANSFER, |kb| kb.saturating_mul(1024))
        .clamp(2352, MAX_TRANSFER)
}

fn fs_name(dev: &Path) -> Option<String> {
    let real = std::fs::canonicalize(dev).unwrap_or_else(|_| dev.to_path_buf());
    real.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// CRC32/MD5/SHA-1 of an image and of byte ranges of it (the tracks), fed in order.
///
/// A track whose range holds the whole image (a cooked rip, or a single-track disc) is not hashed a second
/// time: its digests are the image's.
#[derive(Clone)]
struct StreamHash {
    ranges: Vec<(u8, u64, u64)>,
    /// The digests this one computes.
    share: Share,
    image: Hasher,
    /// One per range; `None` for a range that is the whole image.
    tracks: Vec<Option<Hasher>>,
    pos: u64,
}

impl StreamHash {
    /// Hashes of an image of `total` bytes and of `ranges` of it.
    fn new(ranges: Vec<(u8, u64, u64)>, total: u64) -> Self {
        let tracks = ranges.iter().map(|(_, from, to)| (*from > 0 || *to < total).then(Hasher::new)).collect();
        Self { ranges, share: Share::All, image: Hasher::new(), tracks, pos: 0 }
    }

    /// Two hashes of the same stream, for two threads: the CRC-32 and MD5 share, and the SHA-1 share.
    fn split(self) -> (Self, Self) {
        let sha1 = Self { share: Share::Sha1, ..self.clone() };
        (Self { share: Share::Crc32Md5, ..self }, sha1)
    }

    /// The whole from the two shares of [`StreamHash::split`], fed the same bytes.
    fn join(self, sha1: Self) -> Self {
        let tracks = self
            .tracks
            .into_iter()
            .zip(sha1.tracks)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Some(a.join(b)),
                _ => None,
            })
            .collect();
        Self { share: Share::All, image: self.image.join(sha1.image), tracks, ..self }
    }

    fn update(&mut self, chunk: &[u8]) {
        self.image.update_share(self.share, chunk);
        let end = self.pos.saturating_add(chunk.len() as u64);
        for ((_, from, to), h) in self.ranges.iter().zip(self.tracks.iter_mut()) {
            let Some(h) = h else { continue };
            if *to <= self.pos || *from >= end {
                continue;
            }
            let a = usize::try_from(from.saturating_sub(self.pos)).unwrap_or(0);
            let b = usize::try_from((*to).min(end).saturating_sub(self.pos)).unwrap_or(0);
            h.update_share(self.share, chunk.get(a..b).unwrap_or_default());
        }
        self.pos = end;
    }

    fn finish(self) -> ImageHashes {
        let image = self.image.finish();
        let tracks = self
            .ranges
            .iter()
            .map(|r| r.0)
            .zip(self.tracks.into_iter().map(|h| h.map_or_else(|| image.clone(), Hasher::finish)))
            .collect();
        ImageHashes { image, tracks }
    }
}

/// A message to the writer thread.
enum ToWriter {
    /// Good sectors from `block.lba` on.
    Block(Block),
    /// Fill the unreadable sector at this LBA unless something is there already.
    Fill(u32),
    /// Make the image durable, then save this map; answer on the channel when given.
    Save(Box<Mapfile>, Option<mpsc::SyncSender<io::Result<()>>>),
}

/// Blocks in circulation between the reading thread, the writer and the hasher (each up to the largest transfer).
const BLOCKS: usize = 6;

/// What the writer thread owns: the image, the subchannel file and where the map goes.
struct Output {
    image: File,
    sub: Option<File>,
    sector_size: u32,
    filler: Box<dyn Fn(u32) -> Vec<u8> + Send>,
    map_path: PathBuf,
    map_comments: Vec<String>,
}

impl Output {
    fn offset(&self, lba: u32) -> u64 {
        u64::from(lba).saturating_mul(u64::from(self.sector_size))
    }

    fn write(&self, block: &Block) -> io::Result<()> {
        // One write a block: a whole read command's worth of sectors.
        self.image.write_all_at(&block.data, self.offset(block.lba))?;
        if let Some(f) = &self.sub {
            if !block.sub.is_empty() {
                f.write_all_at(&block.sub, u64::from(block.lba).saturating_mul(96))?;
            }
        }
        Ok(())
    }

    fn fill(&self, lba: u32) -> io::Result<()> {
        let mut cur = vec![0u8; self.sector_size as usize];
        self.image.read_exact_at(&mut cur, self.offset(lba))?;
        if cur.iter().all(|&b| b == 0) {
            let fill = (self.filler)(lba);
            if fill.iter().any(|&b| b != 0) {
                self.image.write_all_at(&fill, self.offset(lba))?;
            }
        }
        Ok(())
    }

    fn save(&self, map: &Mapfile) -> io::Result<()> {
        // The map may only claim what is on disk: make the image durable first.
        self.image.sync_data()?;
        if let Some(f) = &self.sub {
            f.sync_data()?;
        }
        map.save(&self.map_path, &self.map_comments)
            .map_err(|e| io::Error::other(format!("saving the map {}: {e}", self.map_path.display())))
    }
}

/// Hands `block` to the next stage, or back to the reader's pool when there is none or it has gone (then it is
/// forgotten). The reader may be gone too; the block is then simply freed.
fn pass_on(next: &mut Option<mpsc::SyncSender<Option<Block>>>, block: Block, spare: &mpsc::Sender<Block>) {
    let back = match next {
        Some(n) => match n.send(Some(block)) {
            Ok(()) => return,
            Err(mpsc::SendError(b)) => {
                *next = None;
                b
            }
        },
        None => Some(block),
    };
    if let Some(b) = back {
        let _ = spare.send(b);
    }
}

/// The writer thread: writes blocks in the order read, fills, saves maps; hands written blocks to the hasher
/// (`None` there means the image changed behind the stream) or straight back to the reader.
fn writer_loop(
    out: Output,
    rx: mpsc::Receiver<ToWriter>,
    hasher: Option<mpsc::SyncSender<Option<Block>>>,
    spare: mpsc::Sender<Block>,
) -> io::Result<()> {
    let mut hasher = hasher;
    for msg in rx {
        match msg {
            ToWriter::Block(block) => {
                out.write(&block)?;
                pass_on(&mut hasher, block, &spare);
            }
            ToWriter::Fill(lba) => {
                if let Some(h) = hasher.take() {
                    let _ = h.send(None);
                }
                out.fill(lba)?;
            }
            ToWriter::Save(map, done) => {
                let r = out.save(&map);
                let failed = r.as_ref().err().map(|e| io::Error::new(e.kind(), e.to_string()));
                if let Some(d) = done {
                    let _ = d.send(r);
                }
                if let Some(e) = failed {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// The hasher thread: a [`StreamHash`] of the blocks in the order written; `None` when they stop following one
/// another from the image's first byte (then the image is read back at the end).
fn hasher_loop(
    mut h: StreamHash,
    sector_size: u32,
    rx: mpsc::Receiver<Option<Block>>,
    forward: Option<mpsc::SyncSender<Option<Block>>>,
    spare: mpsc::Sender<Block>,
) -> Option<StreamHash> {
    let mut ok = true;
    let mut forward = forward;
    for msg in rx {
        let Some(block) = msg else {
            ok = false;
            if let Some(f) = &forward {
                let _ = f.send(None);
            }
            continue;
        };
        if ok && u64::from(block.lba).saturating_mul(u64::from(sector_size)) == h.pos {
            h.update(&block.data);
        } else {
            ok = false;
        }
        pass_on(&mut forward, block, &spare);
    }
    ok.then_some(h)
}

/// A hash thread, which hands back its share of the hashes when it saw the whole image in order.
type HashHandle = std::thread::JoinHandle<Option<StreamHash>>;

/// The reading side of a rip's output: hands blocks to the writer thread, gets emptied ones back, keeps the
/// progress display.
struct FileSink {
    to_writer: Option<mpsc::SyncSender<ToWriter>>,
    spare: mpsc::Receiver<Block>,
    blocks: usize,
    writer: Option<std::thread::JoinHandle<io::Result<()>>>,
    hasher: Option<(HashHandle, HashHandle)>,
    last_save: Instant,
    stop: Arc<AtomicBool>,
    bar: indicatif::ProgressBar,
    started: Instant,
    bytes_read: u64,
}

impl FileSink {
    fn spawn(out: Output, hash: Option<StreamHash>) -> io::Result<Self> {
        let sector_size = out.sector_size;
        let (to_writer, rx) = mpsc::sync_channel::<ToWriter>(BLOCKS.saturating_add(2));
        let (spare_tx, spare) = mpsc::channel::<Block>();
        // Two hash threads, CRC-32 and MD5 in one and SHA-1 in the other, each block passing through both.
        let (hasher, to_hasher) = match hash {
            Some(h) => {
                let (a, b) = h.split();
                let (tx_a, rx_a) = mpsc::sync_channel::<Option<Block>>(BLOCKS);
                let (tx_b, rx_b) = mpsc::sync_channel::<Option<Block>>(BLOCKS);
                let (back_a, back_b) = (spare_tx.clone(), spare_tx.clone());
                let ta = std::thread::Builder::new()
                    .name("hash-md5".into())
                    .spawn(move || hasher_loop(a, sector_size, rx_a, Some(tx_b), back_a))?;
                let tb = std::thread::Builder::new()
                    .name("hash-sha1".into())
                    .spawn(move || hasher_loop(b, sector_size, rx_b, None, back_b))?;
                (Some((ta, tb)), Some(tx_a))
            }
            None => (None, None),
        };
        let writer = std::thread::Builder::new()
            .name("write".into())
            .spawn(move || writer_loop(out, rx, to_hasher, spare_tx))?;
        Ok(Self {
            to_writer: Some(to_writer),
            spare,
            blocks: 0,
            writer: Some(writer),
            hasher,
            last_save: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
            bar: indicatif::ProgressBar::hidden(),
            started: Instant::now(),
            bytes_read: 0,
        })
    }

    /// The writer's error, once it stopped.
    fn writer_error(&mut self) -> io::Error {
        self.to_writer = None;
        match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => io::Error::other("the writer thread panicked"),
            _ => io::Error::other("the writer thread stopped"),
        }
    }

    fn send(&mut self, msg: ToWriter) -> io::Result<()> {
        let sent = self.to_writer.as_ref().is_some_and(|tx| tx.send(msg).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.writer_error())
        }
    }

    /// An empty block to read into: a returned one, a new one while fewer than [`BLOCKS`] exist, else the next
    /// one returned.
    fn spare(&mut self) -> io::Result<Block> {
        if let Ok(b) = self.spare.try_recv() {
            return Ok(b);
        }
        if self.blocks < BLOCKS {
            self.blocks = self.blocks.saturating_add(1);
            return Ok(Block::default());
        }
        match self.spare.recv() {
            Ok(b) => Ok(b),
            Err(_) => Err(self.writer_error()),
        }
    }

    /// Waits for the writer and the hasher to finish; the stream hash when it saw the whole image in order.
    fn finish(mut self) -> io::Result<Option<StreamHash>> {
        self.to_writer = None;
        if let Some(w) = self.writer.take() {
            w.join().map_err(|_| io::Error::other("the writer thread panicked"))??;
        }
        let Some((a, b)) = self.hasher.take() else { return Ok(None) };
        let (a, b) = (a.join().ok().flatten(), b.join().ok().flatten());
        Ok(a.zip(b).map(|(a, b)| a.join(b)))
    }
}

impl rip::Sink for FileSink {
    fn write(&mut self, w: &rip::Write) -> io::Result<()> {
        let mut block = self.spare()?;
        block.clear();
        block.lba = w.lba;
        block.data.extend_from_slice(&w.data);
        if let Some(s) = &w.sub {
            block.sub.extend_from_slice(s);
        }
        block.verdicts.push(Verdict::Good);
        self.bytes_read = self.bytes_read.saturating_add(w.data.len() as u64);
        self.send(ToWriter::Block(block))
    }

    fn write_block(&mut self, block: Block) -> io::Result<Block> {
        self.bytes_read = self.bytes_read.saturating_add(block.data.len() as u64);
        self.send(ToWriter::Block(block))?;
        self.spare()
    }

    fn fill_unreadable(&mut self, lba: u32) -> io::Result<()> {
        self.send(ToWriter::Fill(lba))
    }

    fn checkpoint(&mut self, ripper: &Ripper, force: bool) -> io::Result<()> {
        if !force && self.last_save.elapsed() < MAP_SAVE_INTERVAL {
            return Ok(());
        }
        // The writer saves the map after writing every block sent before it, which is all the map claims.
        let map = Box::new(ripper.map().clone());
        if force {
            let (tx, rx) = mpsc::sync_channel(1);
            self.send(ToWriter::Save(map, Some(tx)))?;
            match rx.recv() {
                Ok(r) => r?,
                Err(_) => return Err(self.writer_error()),
            }
        } else {
            self.send(ToWriter::Save(map, None))?;
        }
        self.last_save = Instant::now();
        Ok(())
    }

    fn should_stop(&mut self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn progress(&mut self, ripper: &Ripper, last: &Request) {
        show_progress(&self.bar, ripper, last, self.bytes_read, self.started.elapsed());
    }
}

/// The rip's progress display, two lines that fit 80 columns: the bar, percentage, elapsed time, ETA and speed
/// (the prefix, cut to 11 characters: 79 in all); then the phase and sector counts (the message), cut to the
/// terminal's width.
fn progress_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(
        "{bar:40} {percent:>3}% {elapsed_precise} ETA {eta_precise} {prefix:>11!}\n{wide_msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
}

/// Shows the rip's state on `bar` (styled by [`progress_style`]): `read` bytes read in `elapsed`.
fn show_progress(bar: &indicatif::ProgressBar, ripper: &Ripper, last: &Request, read: u64, elapsed: Duration) {
    let t = ripper.sector_totals();
    let good = t[BlockStatus::Finished.index()];
    let bad = t[BlockStatus::BadSector.index()];
    let untried = t[BlockStatus::NonTried.index()];
    let pending = t[BlockStatus::NonTrimmed.index()].saturating_add(t[BlockStatus::NonScraped.index()]);
    let secs = elapsed.as_secs_f64().max(0.001);
    bar.set_prefix(format!("{:.1} MB/s", read as f64 / secs / 1e6));
    bar.set_message(format!(
        "{} pass {} at LBA {} | good {good} bad {bad} pending {pending} untried {untried}",
        last.phase, last.pass, last.lba,
    ));
    bar.set_position(good);
}

fn with_ext(p: &Path, ext: &str) -> PathBuf {
    p.with_extension(ext)
}

fn parse_speed(s: &str, dvd: bool) -> Result<u16> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(0xffff);
    }
    let x: f64 = s.trim_end_matches(['x', 'X']).parse().with_context(|| format!("--speed {s:?}: not a number"))?;
    if x.is_nan() || x <= 0.0 {
        bail!("--speed must be positive");
    }
    let kbps = x * if dvd { DVD_1X_KBPS } else { CD_1X_KBPS };
    Ok(kbps.min(65534.0).round() as u16)
}

/// The rip's input, opened.
enum Input {
    Drive {
        path: PathBuf,
        drive: Box<Drive<SgDevice>>,
    },
    File {
        path: PathBuf,
        file: File,
        size: u64,
    },
    /// A `.cue` or `.ccd`: read as the disc it describes.
    Image {
        path: PathBuf,
        image: ImageInput,
    },
}

/// A raw image opened for a raw rip (its sectors) or a cooked one (its user data).
enum ImageInput {
    Raw(Box<RawDisc>),
    Cooked(Box<CookedReader>),
}

/// Whether `path` names a CUE sheet or CloneCD control file, by its extension.
fn is_sheet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("cue") || e.eq_ignore_ascii_case("ccd"))
}

fn open_input(device: Option<PathBuf>, timeout: Duration, raw: bool) -> Result<Input> {
    let path = match device {
        Some(p) => p,
        None => default_drive()?,
    };
    let meta = std::fs::metadata(&path).with_context(|| format!("{}", path.display()))?;
    let ft = meta.file_type();
    if ft.is_dir() {
        bail!("{}: a directory, not a disc or image", path.display());
    }
    if ft.is_fifo() || ft.is_socket() {
        bail!(
            "{}: a pipe, not a disc or image (rip reads its input at any position, and again to retry)",
            path.display()
        );
    }
    if ft.is_block_device() || ft.is_char_device() {
        if let Ok(dev) = SgDevice::open(&path) {
            let mut drive = Drive::new(dev, timeout);
            if drive.inquiry().is_ok_and(|i| i.device_type == MMC_DEVICE_TYPE) {
                return Ok(Input::Drive { path, drive: Box::new(drive) });
            }
        }
    }
    if ft.is_file() && is_sheet(&path) {
        let named = |e: odix_cdrip::Error| {
            let m = e.to_string();
            if m.contains(&path.display().to_string()) {
                anyhow::anyhow!(m)
            } else {
                anyhow::anyhow!("{}: {m}", path.display())
            }
        };
        let disc = RawDisc::open(&path).map_err(named)?;
        // WAVE, AIFF and MP3 files hold samples, not sectors at known offsets.
        if let Some(f) = disc.files().iter().find(|f| !matches!(f.file_type, FileType::Binary | FileType::Motorola)) {
            bail!(
                "{}: {} is a {} file, which rip cannot read sectors from; convert it to a BINARY file first",
                path.display(),
                f.path.display(),
                f.file_type.as_str()
            );
        }
        let image = if raw {
            ImageInput::Raw(Box::new(disc))
        } else {
            let reader = disc.cooked_reader();
            if reader.is_empty() {
                bail!("{}: no data track, so nothing an ISO image holds: rip --raw copies the audio", path.display());
            }
            ImageInput::Cooked(Box::new(reader))
        };
        return Ok(Input::Image { path, image });
    }
    let mut file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.seek(SeekFrom::End(0)).with_context(|| format!("size of {}", path.display()))?;
    if size == 0 {
        bail!("{}: empty (0 bytes): nothing to rip", path.display());
    }
    Ok(Input::File { path, file, size })
}

/// Checks before anything is read that `out` can be written: not a folder, in a folder that exists, not the input,
/// and not one of the files a rip writes beside it.
fn check_output(out: &Path, input: Option<&Path>, map: &Path) -> Result<()> {
    if out.is_dir() {
        bail!("{}: a directory; name the image file to write", out.display());
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        bail!("{}: the folder {} does not exist", out.display(), parent.display());
    }
    for ext in ["map", "log", "cue", "sub"] {
        if with_ext(out, ext) == out {
            bail!("{}: a rip writes its .{ext} beside the image; give the image another extension", out.display());
        }
    }
    if map == out {
        bail!("{}: the map and the image cannot be the same file", out.display());
    }
    if let (Some(input), Ok(o)) = (input, std::fs::metadata(out)) {
        use std::os::unix::fs::MetadataExt;
        if std::fs::metadata(input).is_ok_and(|i| i.dev() == o.dev() && i.ino() == o.ino()) {
            bail!("{}: the image to write is the input", out.display());
        }
    }
    Ok(())
}

/// How a plain file is read for a raw rip: the kind of its one track, and whether it holds 2048-byte user data
/// (written out as Mode 1 sectors) rather than 2352-byte raw sectors.
fn raw_file_layout(path: &Path, file: &File, size: u64) -> Result<(TrackKind, bool)> {
    let mut head = [0u8; 16];
    let sync = file.read_exact_at(&mut head, 0).is_ok() && head[..12] == sector::SYNC;
    // A file system's volume descriptors at sector 16 of 2048 bytes: ISO 9660 or UDF user data.
    let mut vd = [0u8; 6];
    let fs = file.read_exact_at(&mut vd, 16 * 2048).is_ok()
        && [&b"CD001"[..], b"BEA01", b"NSR02", b"NSR03"].contains(&&vd[1..6]);
    let (raw, user) = (size % RAW_SECTOR as u64 == 0, size % 2048 == 0);
    match (raw, user) {
        (_, true) if fs && !sync => Ok((TrackKind::Mode1, true)),
        (true, _) if sync => Ok((if head[15] == 2 { TrackKind::Mode2 } else { TrackKind::Mode1 }, false)),
        (true, _) => Ok((TrackKind::Audio, false)),
        (false, true) => Ok((TrackKind::Mode1, true)),
        (false, false) => bail!(
            "{}: {size} bytes is not a whole number of 2352-byte raw sectors nor of 2048-byte sectors, which --raw \
             needs",
            path.display()
        ),
    }
}

/// The disc of one track, `sectors` long, that a plain file holds.
fn single_track_disc(sectors: u32, kind: TrackKind) -> Disc {
    let control = if kind == TrackKind::Audio { 0 } else { mmc::CONTROL_DATA };
    Disc {
        tracks: vec![Track { number: 1, session: 1, kind, control, start: 0, length: sectors, pregap: 0 }],
        sessions: vec![Session { number: 1, first_track: 1, last_track: 1, lead_out: sectors }],
        disc_type: (kind == TrackKind::Mode2).then_some(0x20),
    }
}

/// Everything the log file reports.
struct LogInfo {
    input: String,
    drive: Option<String>,
    disc: Option<Disc>,
    text: DiscText,
    notes: Vec<String>,
    failures: Vec<String>,
    failures_dropped: u64,
    /// The files written beside the image (CUE sheet, subchannel) and their hashes, for the DAT entry.
    beside: Vec<(PathBuf, odix_cdrip::hash::Hashes)>,
}

/// `odix rip`.
pub fn rip(args: RipArgs) -> Result<u8> {
    let (device, out) = match args.paths.as_slice() {
        [out] => (None, out.clone()),
        [dev, out] => (Some(dev.clone()), out.clone()),
        _ => bail!("usage: odix rip [DEVICE] OUT"),
    };
    if args.timeout.is_nan() || args.timeout <= 0.0 {
        bail!("--timeout must be positive");
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    let map_path = args.map.clone().unwrap_or_else(|| with_ext(&out, "map"));
    check_output(&out, device.as_deref(), &map_path)?;
    // A signal stops the rip after the current read: the map is saved and the rip resumes from it. A second one
    // (a read stuck on a bad sector can take minutes) ends it at once, leaving the map of the last save.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(sig, i32::from(EXIT_PARTIAL), Arc::clone(&stop))
            .context("installing the signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing the signal handler")?;
    }

    let mut input = open_input(device, timeout, args.raw)?;
    let mut encode = false;
    let mut log = LogInfo {
        input: String::new(),
        drive: None,
        disc: None,
        text: DiscText::default(),
        notes: Vec::new(),
        failures: Vec::new(),
        failures_dropped: 0,
        beside: Vec::new(),
    };
    let opts =
        Options::default().retries(args.retries).reverse(args.reverse).trim(!args.no_trim).scrape(!args.no_scrape);

    // The shape of the rip: sectors, their size, the read mode.
    let (sectors, mode, unit) = match &mut input {
        Input::Drive { path, drive } => {
            log.input = path.display().to_string();
            let inq = drive.inquiry().context("INQUIRY")?;
            log.drive = Some(format!("{} {} {}", inq.vendor, inq.product, inq.revision));
            wait_ready(drive)?;
            let config = drive.get_configuration().ok();
            let profile = config.as_ref().map_or(0, |c| c.current_profile);
            let is_cd = profile == 0 || (0x08..=0x0a).contains(&profile);
            if args.raw && !is_cd {
                bail!("--raw reads CDs only; the disc is a {}", mmc::profile_name(profile));
            }
            if let Some(s) = &args.speed {
                if let Err(e) = drive.set_cd_speed(parse_speed(s, !is_cd)?) {
                    log.notes.push(format!("setting the speed failed: {e}"));
                }
            }
            let cap = drive.read_capacity().context("READ CAPACITY")?;
            let disc = if is_cd { read_disc(drive).ok() } else { None };
            let (sectors, mode) = if args.raw {
                let disc = disc.as_ref().context("--raw needs the disc's TOC, which the drive did not give")?;
                let c2 = if config.as_ref().and_then(|c| c.cd_read).is_some_and(|f| f.c2_flags) {
                    C2Mode::Pointers
                } else {
                    C2Mode::None
                };
                let sub = if args.subchannel { Subchannel::RawPw } else { Subchannel::None };
                // The sessions of a multi-session disc follow each other in the image, without the gaps between.
                (disc.raw_sectors(), ReadMode::Raw { c2, subchannel: sub })
            } else {
                let n = cap.last_lba.checked_add(1).context("READ CAPACITY: last LBA 0xFFFFFFFF")?;
                if cap.block_length != 2048 {
                    log.notes.push(format!("the drive reports {}-byte blocks; reading 2048", cap.block_length));
                }
                (n, ReadMode::Cooked)
            };
            if disc.is_some() {
                log.text = DiscText::read(drive);
            }
            log.disc = disc;
            (sectors, mode, mode.sector_size())
        }
        Input::File { path, size, file } => {
            log.input = path.display().to_string();
            if args.subchannel {
                bail!("{}: --subchannel reads a drive's subchannel; a file has none", path.display());
            }
            let too_big = || format!("{}: {size} bytes, more than 2^32 sectors", path.display());
            if args.raw {
                let (kind, user) = raw_file_layout(path, file, *size)?;
                encode = user;
                let sectors =
                    u32::try_from(*size / if user { 2048 } else { RAW_SECTOR as u64 }).with_context(too_big)?;
                let cd_sectors = u32::try_from(sector::MAX_LBA).unwrap_or(u32::MAX).saturating_add(1);
                if user && sectors > cd_sectors {
                    bail!(
                        "{}: {sectors} sectors of 2048 bytes, more than a CD's {cd_sectors}: raw sectors have no \
                         address past 99:59:74",
                        path.display()
                    );
                }
                if user {
                    log.notes.push(format!("{}: 2048-byte sectors, written as Mode 1 raw sectors", path.display()));
                }
                log.disc = Some(single_track_disc(sectors, kind));
                (sectors, ReadMode::Raw { c2: C2Mode::None, subchannel: Subchannel::None }, RAW_SECTOR as u32)
            } else {
                let unit = [2048u32, 512, 1].into_iter().find(|u| *size % u64::from(*u) == 0).unwrap_or(1);
                let sectors = u32::try_from(*size / u64::from(unit)).with_context(too_big)?;
                (sectors, ReadMode::Cooked, unit)
            }
        }
        Input::Image { path, image } => {
            log.input = path.display().to_string();
            if args.subchannel {
                bail!(
                    "{}: --subchannel reads a drive's subchannel; rip --raw copies the image's sectors",
                    path.display()
                );
            }
            match image {
                ImageInput::Raw(disc) => {
                    let (shape, notes) = image_disc(disc);
                    for n in &notes {
                        eprintln!("odix: warning: {n}");
                    }
                    log.notes.extend(notes);
                    if let Some(cue) = disc.cue() {
                        log.text.title.extend(cue.title.clone().map(|t| (0, t)));
                        log.text.performer.extend(cue.performer.clone().map(|t| (0, t)));
                        for t in cue.files.iter().flat_map(|f| &f.tracks) {
                            log.text.title.extend(t.title.clone().map(|x| (t.number, x)));
                            log.text.performer.extend(t.performer.clone().map(|x| (t.number, x)));
                        }
                    }
                    let sectors = shape.raw_sectors();
                    log.disc = Some(shape);
                    (sectors, ReadMode::Raw { c2: C2Mode::None, subchannel: Subchannel::None }, RAW_SECTOR as u32)
                }
                ImageInput::Cooked(reader) => {
                    if reader.disc().tracks().iter().any(|t| !t.mode.is_data()) {
                        eprintln!(
                            "odix: warning: {}: audio tracks have no 2048-byte sectors; rip --raw copies them",
                            path.display()
                        );
                    }
                    let sectors = u32::try_from(reader.len() / 2048).context("more than 2^32 sectors")?;
                    (sectors, ReadMode::Cooked, 2048)
                }
            }
        }
    };
    let cluster = match (&input, args.cluster) {
        (_, Some(n)) => n,
        (Input::File { .. } | Input::Image { .. }, None) => FILE_CLUSTER_BYTES / unit,
        (Input::Drive { path, .. }, None) => {
            let per = match mode {
                ReadMode::Raw { c2, subchannel } => RAW_SECTOR + c2.bytes() + subchannel.bytes(),
                ReadMode::Cooked => 2048,
            };
            max_transfer(path) / u32::try_from(per).unwrap_or(2048)
        }
    };
    let opts = opts.cluster(cluster.max(1));

    // The map: resumed when it exists.
    // A map without its image describes nothing that exists: start again.
    if map_path.exists() && !out.exists() {
        eprintln!(
            "odix: warning: {} exists but {} does not; starting a new rip and replacing the map",
            map_path.display(),
            out.display()
        );
    }
    let resumed = map_path.exists() && out.exists();
    let map = if resumed {
        Some(Mapfile::load(&map_path).with_context(|| format!("reading the map {}", map_path.display()))?)
    } else {
        None
    };
    let mut ripper = Ripper::new(sectors, unit, map, opts)
        .with_context(|| format!("the map {} belongs to another rip", map_path.display()))?;

    let image = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(!resumed)
        .open(&out)
        .with_context(|| format!("creating {}", out.display()))?;
    let image_len = u64::from(sectors).saturating_mul(u64::from(unit));
    image.set_len(image_len).with_context(|| format!("sizing {}", out.display()))?;
    let sub = if args.subchannel {
        let p = with_ext(&out, "sub");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(!resumed)
            .open(&p)
            .with_context(|| format!("creating {}", p.display()))?;
        f.set_len(u64::from(sectors).saturating_mul(96))?;
        Some(f)
    } else {
        None
    };
    let filler: Box<dyn Fn(u32) -> Vec<u8> + Send> = match mode {
        ReadMode::Raw { .. } => {
            let disc = log.disc.clone();
            Box::new(move |sector| {
                let lba = disc.as_ref().and_then(|d| d.lba_of_image_sector(sector)).unwrap_or(sector);
                let t = disc.as_ref().and_then(|d| d.track_at(lba));
                let audio = t.is_some_and(|t| t.kind == TrackKind::Audio);
                let m = if t.is_some_and(|t| t.kind == TrackKind::Mode2) { 2 } else { 1 };
                unreadable_raw_sector(lba, audio, m)
            })
        }
        ReadMode::Cooked => {
            let u = unit as usize;
            Box::new(move |_| vec![0u8; u])
        }
    };
    let bar = indicatif::ProgressBar::new(u64::from(sectors));
    bar.set_style(progress_style());
    let ranges = track_ranges(log.disc.as_ref().filter(|_| args.raw), unit);
    let output = Output {
        image,
        sub,
        sector_size: unit,
        filler,
        map_path: map_path.clone(),
        map_comments: vec![
            format!("Mapfile. Created by odix version {}", env!("CARGO_PKG_VERSION")),
            format!("Command line: {}", std::env::args().collect::<Vec<_>>().join(" ")),
            format!("Start time: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")),
            format!("Sector size: {unit} bytes"),
        ],
    };
    // Only a rip from scratch sees every byte of the image go by.
    let hash = (!resumed && !args.no_hash).then(|| StreamHash::new(ranges.clone(), image_len));
    let mut sink = FileSink::spawn(output, hash).context("starting the writer thread")?;
    sink.stop = stop;
    sink.bar = bar;
    // Save the starting map at once, so a kill before the first interval still leaves a map of this rip.
    rip::Sink::checkpoint(&mut sink, &ripper, true)?;

    let end = match &mut input {
        Input::Drive { drive, .. } => {
            let disc = log.disc.clone();
            let mut src = DriveSource::new(drive, mode, disc.as_ref());
            src.probe(0);
            src.control_retries(COPY_RETRIES);
            for n in src.notes() {
                eprintln!("odix: warning: {n}");
            }
            let end = match (mode, disc.as_ref()) {
                (ReadMode::Raw { .. }, Some(d)) => {
                    rip::run(&mut ripper, &mut SessionSource::new(&mut src, d), &mut sink)
                }
                _ => rip::run(&mut ripper, &mut src, &mut sink),
            };
            // Also after an interruption or an error: the drive gets its own retry count back.
            if let Err(now) = src.restore_retries() {
                eprintln!("odix: warning: the drive's read retry count could not be restored; it is {now}");
            }
            let end = end.context("ripping")?;
            log.notes.extend(src.notes().iter().cloned());
            let (failures, dropped) = src.drive().failures();
            log.failures = failures
                .iter()
                .map(|f| {
                    format!("{} -> {}", f.cdb.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "), f.error)
                })
                .collect();
            log.failures_dropped = dropped;
            end
        }
        Input::File { file, .. } => {
            let mut src = FileSource { file: file.try_clone()?, unit, encode, user: Vec::new() };
            rip::run(&mut ripper, &mut src, &mut sink).context("ripping")?
        }
        Input::Image { image: ImageInput::Raw(image), .. } => {
            let disc = log.disc.clone().context("the image's disc")?;
            let mut src = ImageSource::new(image, &disc);
            rip::run(&mut ripper, &mut SessionSource::new(&mut src, &disc), &mut sink).context("ripping")?
        }
        Input::Image { image: ImageInput::Cooked(reader), .. } => {
            rip::run(&mut ripper, &mut CookedImageSource::new(reader), &mut sink).context("ripping")?
        }
    };
    sink.bar.finish_and_clear();
    let (elapsed, bytes_read) = (sink.started.elapsed(), sink.bytes_read);

    // The pregaps (INDEX 00) are in the Q subchannel only; tracks whose pregap changed are hashed again.
    let mut ranges = ranges;
    let mut rehash = false;
    if let (true, Some(disc)) = (args.subchannel, log.disc.as_mut()) {
        let sub = std::fs::read(with_ext(&out, "sub")).context("reading the subchannel back")?;
        let at = disc.clone();
        let q = |lba: u32| {
            let sector = at.image_sector(lba)?;
            sub.get((sector as usize).saturating_mul(96)..).and_then(q_position)
        };
        let changed = disc.pregaps_from_q(&q);
        if !changed.is_empty() {
            let list: Vec<String> = disc
                .tracks
                .iter()
                .filter(|t| changed.contains(&t.number))
                .map(|t| format!("track {} {}", t.number, t.pregap))
                .collect();
            log.notes.push(format!("pregaps (INDEX 00) from the Q subchannel, in sectors: {}", list.join(", ")));
            ranges = track_ranges(Some(disc), unit);
            rehash = true;
        }
    }
    if args.raw {
        if let Some(disc) = &log.disc {
            let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut sheet = disc.cue_sheet(&name);
            sheet.title = log.text.title.get(&0).cloned();
            sheet.performer = log.text.performer.get(&0).cloned();
            for t in sheet.files.iter_mut().flat_map(|f| f.tracks.iter_mut()) {
                t.title = log.text.title.get(&t.number).cloned();
                t.performer = log.text.performer.get(&t.number).cloned();
            }
            let cue = sheet.to_text();
            let cue_path = with_ext(&out, "cue");
            let mut f = AtomicFile::create(&cue_path)?;
            f.file.write_all(cue.as_bytes()).with_context(|| format!("writing {}", cue_path.display()))?;
            f.commit()?;
            let mut h = Hasher::new();
            h.update(cue.as_bytes());
            log.beside.push((cue_path, h.finish()));
        }
    }
    let totals = ripper.sector_totals();
    let complete = end == RunEnd::Completed && totals[BlockStatus::Finished.index()] == u64::from(sectors);
    let streamed = sink.finish().context("writing the image")?.filter(|h| h.pos == image_len);
    let hashes = match (end, streamed) {
        (RunEnd::Completed, _) if args.no_hash => None,
        (RunEnd::Completed, Some(h)) if !rehash => Some(h.finish()),
        (RunEnd::Completed, Some(_)) => Some(hash_output(&out, ranges, image_len)?),
        (RunEnd::Completed, None) => Some(hash_output(&out, ranges, image_len)?),
        (RunEnd::Interrupted, _) => None,
    };
    if hashes.is_some() && args.subchannel {
        let sub = with_ext(&out, "sub");
        log.beside.push((sub.clone(), hash_output(&sub, Vec::new(), u64::from(sectors).saturating_mul(96))?.image));
    }
    let log_path = with_ext(&out, "log");
    write_log(&log_path, &out, &map_path, &log, &ripper, hashes.as_ref(), end)?;

    let good = totals[BlockStatus::Finished.index()];
    let bad: u64 = totals.iter().sum::<u64>().saturating_sub(good);
    match end {
        RunEnd::Interrupted => {
            eprintln!(
                "odix: interrupted: {good} of {sectors} sectors read; resume with the same command (map: {})",
                map_path.display()
            );
            Ok(EXIT_PARTIAL)
        }
        RunEnd::Completed => {
            let summary = Summary {
                out: &out,
                sectors,
                unit,
                bad,
                elapsed,
                bytes_read,
                hashes: hashes.as_ref().map(|h| &h.image),
                log: &log_path,
                map: &map_path,
                beside: log.beside.iter().map(|(p, _)| p.as_path()).collect(),
            };
            let mut err = io::stderr().lock();
            summary.write_to(&mut err)?;
            if complete {
                Ok(0)
            } else {
                writeln!(
                    err,
                    "odix: {bad} of {sectors} sectors unreadable (see {}); the image is incomplete",
                    log_path.display()
                )?;
                Ok(EXIT_PARTIAL)
            }
        }
    }
}

/// What a finished rip reports on standard error.
struct Summary<'a> {
    out: &'a Path,
    sectors: u32,
    unit: u32,
    bad: u64,
    elapsed: Duration,
    /// Bytes read in this run (a resumed rip reads only what was missing).
    bytes_read: u64,
    hashes: Option<&'a odix_cdrip::hash::Hashes>,
    log: &'a Path,
    map: &'a Path,
    beside: Vec<&'a Path>,
}

impl Summary<'_> {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        let secs = self.elapsed.as_secs_f64();
        let size = u64::from(self.sectors).saturating_mul(u64::from(self.unit));
        writeln!(
            w,
            "odix: wrote {}: {} sectors of {} bytes ({}), {} bad; read {} in {:.1} s ({}/s)",
            self.out.display(),
            self.sectors,
            self.unit,
            indicatif::HumanBytes(size),
            self.bad,
            indicatif::HumanBytes(self.bytes_read),
            secs,
            indicatif::HumanBytes((self.bytes_read as f64 / secs.max(0.001)) as u64),
        )?;
        if let Some(h) = self.hashes {
            writeln!(w, "odix: crc32 {} md5 {} sha1 {}", h.crc32, h.md5, h.sha1)?;
        }
        let mut files = format!("odix: log {}, map {}", self.log.display(), self.map.display());
        for p in &self.beside {
            files += &format!(", {}", p.display());
        }
        writeln!(w, "{files}")
    }
}

/// The byte ranges of the tracks (pregap included) in a raw image of `unit`-byte sectors; the whole image when
/// there is no disc.
fn track_ranges(disc: Option<&Disc>, unit: u32) -> Vec<(u8, u64, u64)> {
    match disc {
        Some(d) => d
            .tracks
            .iter()
            .map(|t| {
                // Image sectors: the sessions follow each other without the gaps between them.
                let first = t.start.saturating_sub(t.pregap);
                let from = d.image_sector(first).unwrap_or(first);
                let end = from.saturating_add(t.end().saturating_sub(first));
                (
                    t.number,
                    u64::from(from).saturating_mul(u64::from(unit)),
                    u64::from(end).saturating_mul(u64::from(unit)),
                )
            })
            .collect(),
        None => vec![(1, 0, u64::MAX)],
    }
}

/// CRC32/MD5/SHA-1 of the image and of each track's bytes in it (pregap included), read back from `out`.
fn hash_output(out: &Path, ranges: Vec<(u8, u64, u64)>, total: u64) -> Result<ImageHashes> {
    let mut f = File::open(out).with_context(|| format!("reading {} back", out.display()))?;
    let mut h = StreamHash::new(ranges, total);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("reading {} back", out.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

fn write_log(
    path: &Path,
    out: &Path,
    map_path: &Path,
    log: &LogInfo,
    ripper: &Ripper,
    hashes: Option<&ImageHashes>,
    end: RunEnd,
) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let mut w = BufWriter::new(&mut f.file);
    (|| -> io::Result<()> {
        writeln!(
            w,
            "odix {} rip log, {}",
            env!("CARGO_PKG_VERSION"),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        )?;
        writeln!(w, "Input:  {}", log.input)?;
        if let Some(d) = &log.drive {
            writeln!(w, "Drive:  {d}")?;
        }
        writeln!(w, "Output: {}", out.display())?;
        writeln!(w, "Map:    {}", map_path.display())?;
        writeln!(w, "Sectors: {} of {} bytes", ripper.sectors(), ripper.sector_size())?;
        if let Some(disc) = &log.disc {
            writeln!(w, "\nTOC:")?;
            write_toc(&mut w, disc, &log.text, false)?;
        }
        if !log.notes.is_empty() {
            writeln!(w, "\nNotes:")?;
            for n in &log.notes {
                writeln!(w, "  {n}")?;
            }
        }
        writeln!(w, "\nFailed commands: {}", log.failures.len() as u64 + log.failures_dropped)?;
        for f in &log.failures {
            writeln!(w, "  {f}")?;
        }
        if log.failures_dropped > 0 {
            writeln!(w, "  ... and {} more", log.failures_dropped)?;
        }
        let t = ripper.sector_totals();
        let s = ripper.stats();
        writeln!(w, "\nMap summary ({}):", if end == RunEnd::Completed { "rip completed" } else { "rip interrupted" })?;
        for st in BlockStatus::ALL {
            writeln!(w, "  {} {:<12} {:>10} sectors", st.symbol(), st.name(), t[st.index()])?;
        }
        writeln!(w, "  reads {}, failed {}, sectors with C2/EDC errors {}", s.reads, s.failed_reads, s.wrong_sectors)?;
        let unfinished = ripper.unfinished();
        if !unfinished.is_empty() {
            writeln!(w, "\nUnreadable or unfinished sectors (LBA, count, status):")?;
            for (lba, count, st) in unfinished {
                writeln!(w, "  {lba} {count} {}", st.symbol())?;
            }
        }
        if let Some(h) = hashes {
            writeln!(w, "\nHashes:")?;
            writeln!(
                w,
                "  image    size {} crc32 {} md5 {} sha1 {}",
                h.image.size, h.image.crc32, h.image.md5, h.image.sha1
            )?;
            for (n, th) in &h.tracks {
                writeln!(w, "  track {n:2} size {} crc32 {} md5 {} sha1 {}", th.size, th.crc32, th.md5, th.sha1)?;
            }
            // One rom per file written, under its own name.
            let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut roms = vec![(file_name(out), &h.image)];
            roms.extend(log.beside.iter().map(|(p, bh)| (file_name(p), bh)));
            let name = out.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            writeln!(w, "\nDAT:")?;
            write!(w, "{}", dat_entry_files(&name, &roms))?;
        }
        w.flush()
    })()
    .with_context(|| format!("writing {}", path.display()))?;
    drop(w);
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use odix_cdrip::sim::SimDrive;

    fn sim_drive() -> Drive<SimDrive> {
        let sim = SimDrive::from_cooked(&vec![0u8; 2048 * 100])
            .with_cd_text(mmc::cd_text_pack::TITLE, &["Album", "Song"])
            .with_cd_text(mmc::cd_text_pack::PERFORMER, &["Band", "Band"]);
        Drive::new(sim, Duration::from_secs(1))
    }

    #[test]
    fn toc_with_cd_text() {
        let mut d = sim_drive();
        let disc = read_disc(&mut d).unwrap();
        let text = DiscText::read(&mut d);
        let mut out = Vec::new();
        write_toc(&mut out, &disc, &text, false).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("CD-TEXT: \"Album\" by \"Band\""), "{s}");
        assert!(s.contains("Track  1  mode1  start       0 (00:02:00)  length     100\n            \"Song\""), "{s}");
        let mut out = Vec::new();
        write_toc(&mut out, &disc, &text, true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["tracks"][0]["title"], "Song");
        assert_eq!(v["cd_text"]["performer"], "Band");
        assert_eq!(v["lead_out"], 100);
    }

    #[test]
    fn drive_report_of_the_sim() {
        let mut d = sim_drive();
        let r = drive_report(&mut d).unwrap();
        let mut out = Vec::new();
        write_drive_report(&mut out, Path::new("/dev/sim"), &r, false).unwrap();
        let s = String::from_utf8(out).unwrap();
        for want in ["Vendor:       ODIXSIM", "CD-ROM (current)", "C2 pointers:  yes", "Raw reading:  yes (READ CD)"] {
            assert!(s.contains(want), "{want}: {s}");
        }
    }

    /// Rips an audio disc of three tracks (starts 0, 300, 600; lead-out 900) from the simulated drive with
    /// subchannel, whose Q gives track 2 a pregap of 75 sectors and track 3 one of 33.
    #[test]
    fn pregaps_from_q_into_the_cue_sheet() {
        use odix_cdrip::drive::{DriveSource, ReadMode};
        use odix_cdrip::sim::SimTrack;
        let sectors: Vec<[u8; RAW_SECTOR]> =
            (0..900u32).map(|l| std::array::from_fn(|i| (l as usize * 7 + i) as u8)).collect();
        let tracks = [0, 300, 600].map(|start| SimTrack { start, audio: true }).to_vec();
        let sim = SimDrive::from_raw(sectors.clone(), tracks).with_pregap(2, 75).with_pregap(3, 33);
        let mut drive = Drive::new(sim, Duration::from_secs(1));
        let mut disc = read_disc(&mut drive).unwrap();
        assert!(disc.tracks.iter().all(|t| t.pregap == 0));
        struct Mem(Vec<u8>, Vec<u8>);
        impl rip::Sink for Mem {
            fn write(&mut self, w: &rip::Write) -> io::Result<()> {
                let l = w.lba as usize;
                self.0[l * RAW_SECTOR..][..RAW_SECTOR].copy_from_slice(&w.data);
                self.1[l * 96..][..96].copy_from_slice(w.sub.as_deref().unwrap());
                Ok(())
            }
            fn fill_unreadable(&mut self, _: u32) -> io::Result<()> {
                Ok(())
            }
            fn checkpoint(&mut self, _: &Ripper, _: bool) -> io::Result<()> {
                Ok(())
            }
        }
        let mut sink = Mem(vec![0; 900 * RAW_SECTOR], vec![0; 900 * 96]);
        let mode = ReadMode::Raw { c2: C2Mode::Pointers, subchannel: Subchannel::RawPw };
        let mut ripper = Ripper::new(900, RAW_SECTOR as u32, None, Options::default()).unwrap();
        rip::run(&mut ripper, &mut DriveSource::new(&mut drive, mode, Some(&disc)), &mut sink).unwrap();
        assert_eq!(sink.0, sectors.concat());
        let changed = disc.pregaps_from_q(&|lba| sink.1.get(lba as usize * 96..).and_then(q_position));
        assert_eq!(changed, vec![2, 3]);
        assert_eq!(
            disc.tracks.iter().map(|t| (t.start, t.length, t.pregap)).collect::<Vec<_>>(),
            [(0, 225, 0), (300, 267, 75), (600, 300, 33)]
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), &sink.0).unwrap();
        let cue = disc.cue_sheet("a.bin").to_text();
        std::fs::write(dir.path().join("a.cue"), &cue).unwrap();
        // odix's own reader: INDEX 00 and 01 where the Q put them.
        let back = odix_cdrip::cue::CueSheet::parse(&cue, &dir.path().join("a.cue")).unwrap();
        let idx: Vec<Vec<(u8, u32)>> =
            back.files[0].tracks.iter().map(|t| t.indexes.iter().map(|i| (i.number, i.position.0)).collect()).collect();
        assert_eq!(idx, [vec![(1, 0)], vec![(0, 225), (1, 300)], vec![(0, 567), (1, 600)]], "{cue}");
        // chdman takes INDEX 00 as the track's pregap, stored in the track (PGTYPE:VAUDIO).
        if let Some(chdman) = odix_testdata::require_tool("chdman") {
            let chd = dir.path().join("a.chd");
            odix_testdata::run_ok(
                std::process::Command::new(&chdman)
                    .arg("createcd")
                    .arg("-i")
                    .arg(dir.path().join("a.cue"))
                    .arg("-o")
                    .arg(&chd),
            );
            let o =
                odix_testdata::run_ok(std::process::Command::new(&chdman).arg("info").arg("-v").arg("-i").arg(&chd));
            let info = String::from_utf8_lossy(&o.stdout).into_owned();
            for want in [
                "TRACK:1 TYPE:AUDIO SUBTYPE:NONE FRAMES:225 PREGAP:0",
                "TRACK:2 TYPE:AUDIO SUBTYPE:NONE FRAMES:342 PREGAP:75",
                "TRACK:3 TYPE:AUDIO SUBTYPE:NONE FRAMES:333 PREGAP:33",
            ] {
                assert!(info.contains(want), "{want}\n{info}");
            }
        }
    }

    /// A terminal of 80 columns that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Term80(Arc<std::sync::Mutex<String>>);

    impl indicatif::TermLike for Term80 {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            self.write_str("\n")
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            self.write_str("\n")
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.write_str("\n")
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The progress display of a rip as large as the map allows (LBAs and counts of ten digits), drawn on an
    /// 80-column terminal: every line fits, and the first shows the ETA and the speed.
    #[test]
    fn progress_fits_80_columns_with_an_eta() {
        let term = Term80::default();
        let sectors = u32::MAX;
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(u64::from(sectors)),
            indicatif::ProgressDrawTarget::term_like(Box::new(term.clone())),
        );
        bar.set_style(progress_style());
        let mut ripper = Ripper::new(sectors, 2048, None, Options::default().cluster(1 << 20)).unwrap();
        let mut req = ripper.next_request().unwrap();
        ripper.submit_good(req);
        req.lba = sectors - 1;
        req.pass = 99;
        std::thread::sleep(Duration::from_millis(50));
        show_progress(&bar, &ripper, &req, 123_456_789, Duration::from_secs(2));
        bar.tick();
        let text = term.0.lock().unwrap().clone();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(lines.len() >= 2, "{text:?}");
        for l in &lines {
            assert!(l.chars().count() <= 80, "{} columns: {l:?}", l.chars().count());
        }
        assert!(lines.iter().any(|l| l.contains(" ETA ") && l.contains("61.7 MB/s")), "{text}");
        assert!(lines.iter().any(|l| l.contains("pass 99 at LBA 4294967294 | good 1048576")), "{text}");
    }

    #[test]
    fn speeds() {
        assert_eq!(parse_speed("max", false).unwrap(), 0xffff);
        assert_eq!(parse_speed("8x", false).unwrap(), 1411);
        assert_eq!(parse_speed("2", true).unwrap(), 2770);
        assert!(parse_speed("-1", false).is_err());
        assert!(parse_speed("fast", false).is_err());
    }
}

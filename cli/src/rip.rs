//! Ripping a disc into an image: the drive's report, the disc's table of contents, and the rip itself with
//! retries and a resumable GNU ddrescue map.
//!
//! [`rip()`] reads a disc (in a real drive, or any [`Transport`] such as odix-cdrip's simulated drive), a raw
//! image (`.cue`/`.ccd`) as the disc it describes, or any regular file or block device, into an image with
//! odix-cdrip's rip machine. It keeps a map beside the image, so that a second run over the same output resumes
//! where the first stopped; writes the CUE sheet of a raw rip and a log; and returns a [`RipReport`] whose
//! [`RipOutcome`] says whether the image is complete. It stops after the current read once its [`Cancel`] is set,
//! saving the map; it installs no signal handler.
//!
//! ```no_run
//! use odix::cancel::Cancel;
//! use odix::rip::{rip, Input, RipOptions};
//!
//! let opts = RipOptions::new("disc.iso");
//! let report = rip(Input::Path("/dev/sr0".into()), &opts, &Cancel::new(), &mut |_| {})?;
//! println!("{} of {} sectors read", report.good, report.sectors);
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use odix_cdrip::audio::{Toc as AudioToc, TocTrack, TrackChecksums, TrackSums};
use odix_cdrip::cue::FileType;
use odix_cdrip::disc::{q_position, Disc, Session, Track, TrackKind};
use odix_cdrip::drive::{
    image_disc, unreadable_raw_sector, AudioReader, CookedImageSource, DriveSource, ImageSource, Overread, ReadMode,
    SessionSource, SAMPLES_PER_SECTOR,
};
use odix_cdrip::hash::{dat_entry_files, Hasher, ImageHashes, Share};
use odix_cdrip::image::{CookedReader, RawDisc};
use odix_cdrip::map::{BlockStatus, Mapfile, Phase};
use odix_cdrip::mmc::{self, C2Mode, Configuration, Drive, Inquiry, ReadCdFields, Subchannel, RAW_SECTOR};
use odix_cdrip::rip::{self, Block, Options, Outcome, Request, Ripper, RunEnd, SectorSource, Verdict};
use odix_cdrip::sector;
use odix_cdrip::sg::{self, SgDevice};
use odix_cdrip::subq::QSummary;
use odix_cdrip::transport::{CommandResult, Transport};
use serde_json::json;

use crate::cancel::Cancel;
use crate::output::AtomicFile;
use crate::rip_audio::{AudioFiles, AudioFilesReport, Paced, TrackFiles};

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

/// The first optical drive the system lists.
pub fn default_drive() -> Result<PathBuf> {
    sg::optical_drives().into_iter().next().context("no optical drive found (looked for /sys/class/block/sr*)")
}

/// Opens the drive at `device` (default: the first optical drive) with `timeout` per command.
pub fn open_drive(device: Option<&Path>, timeout: Duration) -> Result<(PathBuf, Drive<SgDevice>)> {
    let path = match device {
        Some(p) => p.to_path_buf(),
        None => default_drive()?,
    };
    let dev = SgDevice::open(&path).with_context(|| format!("opening {}", path.display()))?;
    Ok((path, Drive::new(dev, timeout)))
}

/// Waits for the drive to be ready: UNIT ATTENTION after a disc change and NOT READY while it spins up are
/// retried for up to 20 seconds.
pub fn wait_ready<T: Transport>(drive: &mut Drive<T>) -> Result<()> {
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

/// What a drive says about itself: identity, profiles, C2 and raw-reading capability, retry setting.
#[derive(Debug, Clone)]
pub struct DriveReport {
    /// INQUIRY: vendor, model, firmware, device type.
    pub inquiry: Inquiry,
    /// GET CONFIGURATION, when the drive answered it: profiles and the CD Read feature.
    pub config: Option<Configuration>,
    /// Whether READ CD of one raw sector of the loaded disc works (`Err`: it failed otherwise); `None` without a
    /// disc.
    pub read_cd: Option<std::result::Result<bool, String>>,
    /// The read retry count of the error recovery mode page.
    pub retry_count: Option<u8>,
}

impl DriveReport {
    /// The profiles the drive reports (code, current).
    pub fn profiles(&self) -> Vec<(u16, bool)> {
        self.config.as_ref().map(|c| c.profiles.clone()).unwrap_or_default()
    }

    /// Whether the drive reports C2 error pointers; `None` without a CD Read feature.
    pub fn c2_pointers(&self) -> Option<bool> {
        self.config.as_ref().and_then(|c| c.cd_read).map(|f| f.c2_flags)
    }
}

/// Asks the drive what [`DriveReport`] holds.
pub fn drive_report<T: Transport>(drive: &mut Drive<T>) -> Result<DriveReport> {
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

/// The drive's entry in a local copy of AccurateRip's drive offset list (`DriveOffsets.bin`), by its INQUIRY
/// vendor and product; `None` when the list does not name it.
pub fn drive_offset(list: &Path, inquiry: &Inquiry) -> Result<Option<odix_cdrip::offsets::DriveOffset>> {
    let max = (odix_cdrip::offsets::MAX_RECORDS * odix_cdrip::offsets::RECORD_LEN) as u64;
    let f = File::open(list).with_context(|| format!("opening {}", list.display()))?;
    let mut bytes = Vec::new();
    f.take(max.saturating_add(1)).read_to_end(&mut bytes).with_context(|| format!("reading {}", list.display()))?;
    let entries = odix_cdrip::offsets::parse(&bytes).with_context(|| format!("{}", list.display()))?;
    Ok(odix_cdrip::offsets::find(&entries, &inquiry.vendor, &inquiry.product).cloned())
}

fn read_disc<T: Transport>(drive: &mut Drive<T>) -> Result<Disc> {
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

/// CD-TEXT titles, performers and songwriters by track number (0: the disc), from READ TOC format 5 or a CUE
/// sheet.
#[derive(Debug, Clone, Default)]
pub struct DiscText {
    /// Titles by track number.
    pub title: std::collections::BTreeMap<u8, String>,
    /// Performers by track number.
    pub performer: std::collections::BTreeMap<u8, String>,
    /// Songwriters by track number.
    pub songwriter: std::collections::BTreeMap<u8, String>,
    /// What was wrong with the packs read: packs skipped for a failing CRC, or an answer that is not CD-Text.
    pub notes: Vec<String>,
}

impl DiscText {
    fn read<T: Transport>(drive: &mut Drive<T>) -> Self {
        // A drive without CD-Text support, or a disc without, answers with an error: no text.
        let Ok(raw) = drive.read_toc_raw(5, 0) else { return Self::default() };
        Self::from_answer(&raw)
    }

    /// The text of a READ TOC format 5 answer, its packs checked ([`odix_cdrip::cdtext::parse`]).
    pub fn from_answer(raw: &[u8]) -> Self {
        use odix_cdrip::cdtext::{self, pack};
        let t = match cdtext::parse(raw) {
            Ok(t) => t,
            Err(e) => return Self { notes: vec![format!("{e}; the disc's CD-Text is not used")], ..Self::default() },
        };
        let mut notes = Vec::new();
        if !t.bad_crc.is_empty() {
            let list: Vec<String> =
                t.bad_crc.iter().map(|(i, b, seq)| format!("pack {i} (block {b}, sequence {seq})")).collect();
            notes.push(format!(
                "CD-Text: {} of {} packs fail their CRC and were skipped: {}",
                t.bad_crc.len(),
                t.packs,
                list.join(", ")
            ));
        }
        let first = t.blocks.values().next();
        let get = |kind: u8| first.and_then(|b| b.texts.get(&kind)).cloned().unwrap_or_default();
        Self { title: get(pack::TITLE), performer: get(pack::PERFORMER), songwriter: get(pack::SONGWRITER), notes }
    }

    /// Whether there is no text at all.
    pub fn is_empty(&self) -> bool {
        self.title.is_empty() && self.performer.is_empty() && self.songwriter.is_empty()
    }
}

/// A disc's table of contents: its sessions and tracks, and its CD-TEXT.
#[derive(Debug, Clone)]
pub struct Toc {
    /// Sessions and tracks.
    pub disc: Disc,
    /// CD-TEXT titles and performers.
    pub text: DiscText,
}

/// Reads the table of contents (and CD-TEXT) of the disc in `drive`.
pub fn read_toc<T: Transport>(drive: &mut Drive<T>) -> Result<Toc> {
    let disc = read_disc(drive)?;
    let text = DiscText::read(drive);
    Ok(Toc { disc, text })
}

impl Toc {
    /// The TOC as `odix toc --json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        let (disc, text) = (&self.disc, &self.text);
        json!({
            "cd_text": (!text.is_empty()).then(|| json!({"title": text.title.get(&0), "performer": text.performer.get(&0)})),
            "disc_type": disc.disc_type,
            "freedb_id": audio_toc(disc).map(|t| format!("{:08x}", t.freedb_id())),
            "lead_out": disc.lead_out(),
            "sessions": disc.sessions.iter().map(|s| json!({
                "number": s.number, "first_track": s.first_track, "last_track": s.last_track, "lead_out": s.lead_out,
            })).collect::<Vec<_>>(),
            "tracks": disc.tracks.iter().map(|t| json!({
                "number": t.number, "session": t.session, "type": t.kind.name(), "data": t.is_data(),
                "control": t.control, "start": t.start, "length": t.length, "pregap": t.pregap,
                "title": text.title.get(&t.number), "performer": text.performer.get(&t.number),
            })).collect::<Vec<_>>(),
        })
    }

    /// Writes the TOC as text: CD-TEXT, then each session and its tracks (as `odix toc` and the rip log show it).
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        write_toc(out, &self.disc, &self.text)
    }
}

fn write_toc(out: &mut dyn Write, disc: &Disc, text: &DiscText) -> io::Result<()> {
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
    /// Audio tracks' checksums (AccurateRip, CRC-32), each over its bytes of the image: (track, from, to, sums).
    audio: Vec<AudioSum>,
    /// The digests this one computes.
    share: Share,
    image: Hasher,
    /// One per range; `None` for a range that is the whole image.
    tracks: Vec<Option<Hasher>>,
    pos: u64,
}

impl StreamHash {
    /// Hashes of an image of `total` bytes and of `ranges` of it.
    fn new(ranges: Vec<(u8, u64, u64)>, audio: Vec<AudioSum>, total: u64) -> Self {
        let tracks = ranges.iter().map(|(_, from, to)| (*from > 0 || *to < total).then(Hasher::new)).collect();
        Self { ranges, audio, share: Share::All, image: Hasher::new(), tracks, pos: 0 }
    }

    /// Two hashes of the same stream, for two threads: the CRC-32 and MD5 share, and the SHA-1 share.
    fn split(self) -> (Self, Self) {
        // The audio checksums go with the CRC-32 and MD5, the lighter share.
        let sha1 = Self { share: Share::Sha1, audio: Vec::new(), ..self.clone() };
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
        for a in &mut self.audio {
            if a.to <= self.pos || a.from >= end {
                continue;
            }
            let x = usize::try_from(a.from.saturating_sub(self.pos)).unwrap_or(0);
            let y = usize::try_from(a.to.min(end).saturating_sub(self.pos)).unwrap_or(0);
            a.sums.update(chunk.get(x..y).unwrap_or_default());
        }
        self.pos = end;
    }

    /// The audio tracks' checksums (the image must have been fed whole).
    fn audio_sums(&mut self) -> Vec<(u8, TrackSums)> {
        std::mem::take(&mut self.audio).into_iter().filter_map(|a| Some((a.track, a.sums.finish().ok()?))).collect()
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

/// One audio track's checksums as its bytes of the image stream by.
#[derive(Clone)]
struct AudioSum {
    track: u8,
    from: u64,
    to: u64,
    sums: TrackChecksums,
}

/// The audio TOC of a disc for its checksums and ids (INDEX 01 of each track, the last session's lead-out).
pub fn audio_toc(disc: &Disc) -> Option<AudioToc> {
    let tracks = disc
        .tracks
        .iter()
        .map(|t| TocTrack { number: t.number, start: t.start, audio: t.kind == TrackKind::Audio, session: t.session })
        .collect();
    AudioToc::new(tracks, disc.lead_out()).ok()
}

/// The audio tracks' checksum ranges in a raw image of `disc` (2352-byte sectors): from each audio track's INDEX
/// 01 to the next track's (the audio lead-out for the last), as AccurateRip counts them.
fn audio_sums(disc: &Disc) -> Vec<AudioSum> {
    let Some(toc) = audio_toc(disc) else { return Vec::new() };
    toc.audio_tracks()
        .filter_map(|t| {
            let sums = toc.track_checksums(t.number)?;
            let from = u64::from(disc.image_sector(t.start)?).saturating_mul(RAW_SECTOR as u64);
            let len = u64::from(toc.track_sectors(t.number)?).saturating_mul(RAW_SECTOR as u64);
            Some(AudioSum { track: t.number, from, to: from.saturating_add(len), sums })
        })
        .collect()
}

/// A message to the writer thread.
enum ToWriter {
    /// Good sectors from `block.lba` on.
    Block(Block),
    /// Fill the unreadable sector at this LBA unless something is there already.
    Fill(u32),
    /// Make the image durable, then save this map; answer on the channel when given.
    Save(Box<Mapfile>, Option<mpsc::SyncSender<io::Result<()>>>),
    /// Run this once everything sent before is written (a track's file is then encoded from the image).
    Then(Box<dyn FnOnce() + Send>),
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
            ToWriter::Then(f) => f(),
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
/// progress reports.
struct FileSink<'p> {
    to_writer: Option<mpsc::SyncSender<ToWriter>>,
    spare: mpsc::Receiver<Block>,
    blocks: usize,
    writer: Option<std::thread::JoinHandle<io::Result<()>>>,
    hasher: Option<(HashHandle, HashHandle)>,
    last_save: Instant,
    stop: Cancel,
    on_event: &'p mut dyn FnMut(RipEvent),
    started: Instant,
    bytes_read: u64,
    /// `--audio`: the tracks' files, handed over as their tracks become final.
    tracks: Option<TrackFiles>,
}

impl<'p> FileSink<'p> {
    fn spawn(
        out: Output,
        hash: Option<StreamHash>,
        stop: Cancel,
        on_event: &'p mut dyn FnMut(RipEvent),
    ) -> io::Result<Self> {
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
            stop,
            on_event,
            started: Instant::now(),
            bytes_read: 0,
            tracks: None,
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

    /// Tells the track files' encoder how far the tracks are final, through the writer (after their last write).
    fn final_tracks(&mut self, ripper: &Ripper) -> io::Result<()> {
        match self.tracks.as_mut().and_then(|t| t.final_sectors(ripper)) {
            Some(f) => self.send(ToWriter::Then(f)),
            None => Ok(()),
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

impl rip::Sink for FileSink<'_> {
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
        self.stop.is_cancelled()
    }

    fn progress(&mut self, ripper: &Ripper, last: &Request) {
        let p = RipProgress::of(ripper, last, self.bytes_read, self.started.elapsed());
        (self.on_event)(RipEvent::Progress(p));
        // A writer that stopped says why at the next write.
        let _ = self.final_tracks(ripper);
    }
}

/// Read speed asked of a drive (SET CD SPEED).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// The drive's fastest.
    Max,
    /// A multiple of 1× (CD 176.4 kB/s, DVD 1385 kB/s).
    Times(f64),
}

impl Speed {
    /// Parses `max`, `8`, `8x` or `2.5X` (as `--speed` takes it).
    pub fn parse(s: &str) -> Result<Speed> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let x: f64 = s.trim_end_matches(['x', 'X']).parse().with_context(|| format!("--speed {s:?}: not a number"))?;
        if x.is_nan() || x <= 0.0 {
            bail!("--speed must be positive");
        }
        Ok(Speed::Times(x))
    }

    /// The kB/s SET CD SPEED asks for.
    fn kbps(self, dvd: bool) -> Result<u16> {
        match self {
            Speed::Max => Ok(0xffff),
            Speed::Times(x) if x.is_nan() || x <= 0.0 => bail!("--speed must be positive"),
            Speed::Times(x) => {
                let kbps = x * if dvd { DVD_1X_KBPS } else { CD_1X_KBPS };
                Ok(kbps.min(65534.0).round() as u16)
            }
        }
    }
}

/// What a rip reads.
pub enum Input<'a> {
    /// The first optical drive the system lists.
    FirstDrive,
    /// A drive's device node, a `.cue` or `.ccd` read as the disc it describes, or a regular file or block device
    /// read with the same map and retries.
    Path(PathBuf),
    /// A drive reached through any transport (odix-cdrip's simulated drive, for one); `name` is what the log
    /// calls it.
    Transport {
        /// What the log calls the drive.
        name: String,
        /// The transport commands go through.
        transport: Box<dyn Transport + 'a>,
    },
}

/// How to rip, and what to write.
#[derive(Debug, Clone)]
pub struct RipOptions {
    /// The image to write (`.iso`, or `.bin` for a raw rip, which also writes the `.cue` beside it). The log
    /// goes beside it with the extension `.log`.
    pub output: PathBuf,
    /// The rescue map (GNU ddrescue format); `None`: the output with the extension `.map`.
    pub map: Option<PathBuf>,
    /// Read 2352-byte raw sectors of every track (audio included) and write a CUE sheet.
    pub raw: bool,
    /// With `raw`: also read the raw P–W subchannel into the output with the extension `.sub`.
    pub subchannel: bool,
    /// Passes over the sectors that still fail after scraping.
    pub retries: u32,
    /// Scrape and retry from the last sector towards the first.
    pub reverse: bool,
    /// Trim the edges of failed areas sector by sector.
    pub trim: bool,
    /// Read the non-scraped sectors one by one (and retry them).
    pub scrape: bool,
    /// The drive's read speed.
    pub speed: Option<Speed>,
    /// How long one command may take before it counts as failed.
    pub timeout: Duration,
    /// Compute the CRC32/MD5/SHA-1 of the image and its tracks for the log and the report.
    pub hash: bool,
    /// Sectors per read in the copy pass (default: as many as the drive's largest transfer holds, up to 2 MiB).
    pub cluster: Option<u32>,
    /// The command line the map's header records.
    pub command_line: String,
    /// The drive's read offset in samples, as the AccurateRip drive list gives it: audio tracks are written as the
    /// pressing holds them (a raw rip from a drive).
    pub read_offset: i32,
    /// Read every audio sector twice and compare (a raw rip from a drive); off, C2 pointers alone judge them.
    pub verify_audio: bool,
    /// With `raw`: also write each track to its own file in a folder, encoded while the disc is read
    /// ([`crate::rip_audio`]).
    pub audio_files: Option<AudioFiles>,
}

impl RipOptions {
    /// The defaults of `odix rip`: a cooked rip into `output`, 8 retry passes, trimming and scraping, 30 s a
    /// command, hashes.
    pub fn new(output: impl Into<PathBuf>) -> Self {
        RipOptions {
            output: output.into(),
            map: None,
            raw: false,
            subchannel: false,
            retries: 8,
            reverse: false,
            trim: true,
            scrape: true,
            speed: None,
            timeout: Duration::from_secs(30),
            hash: true,
            cluster: None,
            command_line: String::new(),
            read_offset: 0,
            verify_audio: true,
            audio_files: None,
        }
    }

    /// The map's path: [`RipOptions::map`] or the output with the extension `.map`.
    pub fn map_path(&self) -> PathBuf {
        self.map.clone().unwrap_or_else(|| with_ext(&self.output, "map"))
    }
}

/// Where a rip stands, after each read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RipProgress {
    /// Sectors of the image.
    pub sectors: u32,
    /// Sectors read well.
    pub good: u64,
    /// Sectors found bad after scraping and retries.
    pub bad: u64,
    /// Sectors in failed areas still to trim or scrape.
    pub pending: u64,
    /// Sectors not tried yet.
    pub untried: u64,
    /// The phase of the last read (copying, trimming, scraping, retrying).
    pub phase: Phase,
    /// The pass within the phase, from 1.
    pub pass: u32,
    /// The first sector of the last read.
    pub lba: u32,
    /// Bytes read in this run.
    pub bytes_read: u64,
    /// Time since the reading started.
    pub elapsed: Duration,
}

impl RipProgress {
    fn of(ripper: &Ripper, last: &Request, bytes_read: u64, elapsed: Duration) -> Self {
        let t = ripper.sector_totals();
        RipProgress {
            sectors: ripper.sectors(),
            good: t[BlockStatus::Finished.index()],
            bad: t[BlockStatus::BadSector.index()],
            pending: t[BlockStatus::NonTrimmed.index()].saturating_add(t[BlockStatus::NonScraped.index()]),
            untried: t[BlockStatus::NonTried.index()],
            phase: last.phase,
            pass: last.pass,
            lba: last.lba,
            bytes_read,
            elapsed,
        }
    }
}

/// What a rip tells its caller as it goes.
#[derive(Debug, Clone)]
pub enum RipEvent {
    /// The reading has begun: the image has this many sectors.
    Started {
        /// Sectors of the image.
        sectors: u32,
    },
    /// A read was done.
    Progress(RipProgress),
    /// The reading has ended (the CUE sheet, hashes and log are written next).
    ReadDone,
    /// Something worth saying that does not stop the rip (also in the log's notes where it concerns the disc).
    Warning(String),
}

/// How a rip ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RipOutcome {
    /// Every sector was read: the image is complete.
    Complete,
    /// Every phase ran, but bad sectors remain: the image is incomplete (`odix rip` exits with 2).
    Incomplete,
    /// The [`Cancel`] was set: the image and its map are the state a rerun resumes from (exit 2 too).
    Interrupted,
}

/// What a rip did.
#[derive(Debug, Clone)]
pub struct RipReport {
    /// How it ended.
    pub outcome: RipOutcome,
    /// Sectors of the image.
    pub sectors: u32,
    /// Bytes per sector of the image (2048, 2352 for a raw rip, or a file's own unit).
    pub sector_size: u32,
    /// Sectors read well.
    pub good: u64,
    /// Sectors not read well: bad, pending and untried.
    pub bad: u64,
    /// Sectors found bad after scraping and retries.
    pub bad_sectors: u64,
    /// Sectors not tried (a rip interrupted before reaching them).
    pub untried: u64,
    /// Read commands issued in this run.
    pub reads: u64,
    /// Read commands that failed.
    pub failed_reads: u64,
    /// Sectors received with C2 or EDC errors, or (audio) whose two reads differed: then read again.
    pub wrong_sectors: u64,
    /// Whether the rip resumed from an existing map.
    pub resumed: bool,
    /// Time spent reading.
    pub elapsed: Duration,
    /// Bytes read in this run (a resumed rip reads only what was missing).
    pub bytes_read: u64,
    /// CRC32/MD5/SHA-1 of the image and its tracks (a completed rip, unless hashes were not wanted).
    pub hashes: Option<ImageHashes>,
    /// The image written.
    pub image: PathBuf,
    /// The map.
    pub map: PathBuf,
    /// The log.
    pub log: PathBuf,
    /// Files written beside the image (the CUE sheet, the subchannel), when the rip completed.
    pub beside: Vec<PathBuf>,
    /// The unreadable or unfinished sectors: (first LBA, count, ddrescue status symbol).
    pub unfinished: Vec<(u32, u32, char)>,
    /// The audio that no two reads agreed on (or that never read), by track, in samples.
    pub audio_errors: Vec<AudioError>,
    /// What the Q subchannel said (a raw rip of a disc with audio from a drive).
    pub subchannel: Option<QSummary>,
    /// Each audio track's AccurateRip v1/v2 and CRC-32 checksums (a completed raw rip with hashes), by track.
    pub audio_sums: Vec<(u8, TrackSums)>,
    /// The disc's AccurateRip id (`NNN-xxxxxxxx-xxxxxxxx-xxxxxxxx`) when it has audio.
    pub accuraterip_id: Option<String>,
    /// What `audio_files` wrote (a rip that was not interrupted).
    pub audio_files: Option<AudioFilesReport>,
}

/// Audio samples a rip could not read reliably.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioError {
    /// The track.
    pub track: u8,
    /// The first sample, counted from the track's INDEX 01 (negative: in its pregap).
    pub first_sample: i64,
    /// Samples.
    pub samples: u64,
    /// The LBA of the first sector.
    pub lba: u32,
    /// Sectors.
    pub sectors: u32,
}

/// The audio ranges among `unfinished` (image sectors: first, count).
fn audio_errors(disc: &Disc, unfinished: &[(u32, u32)]) -> Vec<AudioError> {
    let mut out: Vec<AudioError> = Vec::new();
    for &(first, count) in unfinished {
        for sector in first..first.saturating_add(count) {
            let Some(lba) = disc.lba_of_image_sector(sector) else { continue };
            let Some(t) = disc.track_at(lba).filter(|t| t.kind == TrackKind::Audio) else { continue };
            let sample =
                (i64::from(lba).saturating_sub(i64::from(t.start))).saturating_mul(i64::from(SAMPLES_PER_SECTOR));
            match out.last_mut() {
                Some(e) if e.track == t.number && e.lba.saturating_add(e.sectors) == lba => {
                    e.sectors = e.sectors.saturating_add(1);
                    e.samples = e.samples.saturating_add(u64::from(SAMPLES_PER_SECTOR));
                }
                _ => out.push(AudioError {
                    track: t.number,
                    first_sample: sample,
                    samples: u64::from(SAMPLES_PER_SECTOR),
                    lba,
                    sectors: 1,
                }),
            }
        }
    }
    out
}

/// A boxed transport as a [`Transport`].
struct DynTransport<'a>(Box<dyn Transport + 'a>);

impl Transport for DynTransport<'_> {
    fn execute(&mut self, cdb: &[u8], data_in: &mut [u8], timeout: Duration) -> io::Result<CommandResult> {
        self.0.execute(cdb, data_in, timeout)
    }
    fn execute_out(&mut self, cdb: &[u8], data_out: &[u8], timeout: Duration) -> io::Result<CommandResult> {
        self.0.execute_out(cdb, data_out, timeout)
    }
}

fn with_ext(p: &Path, ext: &str) -> PathBuf {
    p.with_extension(ext)
}

/// The rip's input, opened.
enum Opened<'a> {
    Drive {
        path: PathBuf,
        /// Whether it is a device node (whose largest transfer the kernel says).
        node: bool,
        drive: Box<Drive<DynTransport<'a>>>,
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

/// Whether `path` names a raw disc image: a `.cue` or `.ccd` by its name, any other raw format (NRG, MDS, CDI,
/// GDI, TOC, CHD) by its content.
fn is_sheet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("cue") || e.eq_ignore_ascii_case("ccd"))
        || odix_cdrip::detect::detect(path).is_ok_and(odix_cdrip::detect::ImageFormat::is_raw_disc)
}

fn open_input(input: Input<'_>, timeout: Duration, raw: bool) -> Result<Opened<'_>> {
    let path = match input {
        Input::Transport { name, transport } => {
            let drive = Drive::new(DynTransport(transport), timeout);
            return Ok(Opened::Drive { path: PathBuf::from(name), node: false, drive: Box::new(drive) });
        }
        Input::Path(p) => p,
        Input::FirstDrive => default_drive()?,
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
            let mut drive = Drive::new(DynTransport(Box::new(dev)), timeout);
            if drive.inquiry().is_ok_and(|i| i.device_type == MMC_DEVICE_TYPE) {
                return Ok(Opened::Drive { path, node: true, drive: Box::new(drive) });
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
        return Ok(Opened::Image { path, image });
    }
    let mut file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.seek(SeekFrom::End(0)).with_context(|| format!("size of {}", path.display()))?;
    if size == 0 {
        bail!("{}: empty (0 bytes): nothing to rip", path.display());
    }
    Ok(Opened::File { path, file, size })
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
    let (raw, user) = (size.is_multiple_of(RAW_SECTOR as u64), size.is_multiple_of(2048));
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
    /// The read offset applied to audio, in samples, when the rip read a drive's audio.
    read_offset: Option<i32>,
    /// Audio no two reads agreed on.
    audio_errors: Vec<AudioError>,
    /// What the Q subchannel said.
    subchannel: Option<QSummary>,
    /// Audio tracks' checksums, computed as the image was written.
    audio_sums: Vec<(u8, TrackSums)>,
}

/// One read offset whose rip matches a saved AccurateRip response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetMatch {
    /// The read offset, samples (AccurateRip's sign).
    pub offset: i32,
    /// The summed confidence of the response's entries the track's CRC equals.
    pub confidence: u32,
    /// The track's AccurateRip v1 CRC at this offset.
    pub v1: u32,
    /// Its v2 CRC.
    pub v2: u32,
    /// Whether the response holds the v2 CRC (else it holds the v1 CRC).
    pub v2_matched: bool,
}

/// One read offset whose CTDB CRC of the compared track a CTDB response holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtdbOffsetMatch {
    /// The read offset, samples.
    pub offset: i32,
    /// The track's CTDB CRC at this offset.
    pub crc: u32,
    /// The summed confidence of the entries that hold it.
    pub confidence: u32,
}

/// What [`find_offset`] found.
#[derive(Debug, Clone)]
pub struct FindOffsetReport {
    /// The drive, as INQUIRY names it.
    pub drive: String,
    /// The track compared (the shortest audio track the response has CRCs for).
    pub track: u8,
    /// The offsets tried: `-range..=range`.
    pub range: u32,
    /// The disc's AccurateRip id.
    pub disc_id: String,
    /// Offsets whose v1 or v2 CRC is in the response, best confidence first.
    pub matches: Vec<OffsetMatch>,
    /// With a CTDB response: the offsets whose CTDB CRC of the track an entry holds, best confidence first.
    pub ctdb: Option<Vec<CtdbOffsetMatch>>,
    /// What limited the search (sectors before LBA 0 or past the lead-out the drive would not read).
    pub notes: Vec<String>,
}

/// Finds the drive's read offset from a disc whose AccurateRip response (`dBAR-….bin`) the user saved: reads the
/// shortest audio track the response has CRCs for once, without correction and with `range` samples to spare on
/// both sides, and computes its AccurateRip v1 and v2 CRCs at every offset in `-range..=range`
/// ([`odix_cdrip::audio::accuraterip::sums_by_offset`]); the offsets whose v1 or v2 CRC the response holds are the
/// drive's.
pub fn find_offset(input: Input<'_>, response: &Path, range: u32, timeout: Duration) -> Result<FindOffsetReport> {
    find_offset_with_ctdb(input, response, None, range, timeout)
}

/// A response file's bytes, at most `limit` and one more (which the parser then refuses).
fn read_response(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut b = Vec::new();
    f.take((limit as u64).saturating_add(1))
        .read_to_end(&mut b)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(b)
}

/// [`find_offset`], and with `ctdb` (a saved CTDB lookup's XML) the CTDB CRC of the same track at every offset
/// too ([`odix_cdrip::audio::ctdb::crc_by_offset`]), the offsets whose CRC an entry for the disc's track count
/// holds going into [`FindOffsetReport::ctdb`].
pub fn find_offset_with_ctdb(
    input: Input<'_>,
    response: &Path,
    ctdb: Option<&Path>,
    range: u32,
    timeout: Duration,
) -> Result<FindOffsetReport> {
    use odix_cdrip::audio::{accuraterip, ctdb as ct};
    let bytes = read_response(response, accuraterip::MAX_RESPONSE_BYTES)?;
    let parsed = accuraterip::parse(&bytes).with_context(|| format!("{}", response.display()))?;
    let ctdb_response = match ctdb {
        Some(p) => {
            let b = read_response(p, ct::MAX_RESPONSE_BYTES)?;
            let text = String::from_utf8(b).with_context(|| format!("{}: not UTF-8 text", p.display()))?;
            Some(ct::parse(&text).with_context(|| format!("{}", p.display()))?)
        }
        None => None,
    };
    let Opened::Drive { mut drive, .. } = open_input(input, timeout, true)? else {
        bail!("--find-offset reads a drive: a file or image holds audio already ripped");
    };
    let inq = drive.inquiry().context("INQUIRY")?;
    wait_ready(&mut drive)?;
    let disc = read_disc(&mut drive)?;
    let toc = audio_toc(&disc).context("the disc's TOC makes no audio TOC")?;
    let id = toc.accuraterip_id().context("the disc has no audio track")?;
    let chunks: Vec<&accuraterip::Chunk> = parsed.chunks.iter().filter(|c| c.id == id).collect();
    if chunks.is_empty() {
        let theirs = parsed.chunks.first().map(|c| c.id.to_string()).unwrap_or_default();
        bail!("{}: the response is for disc {theirs}, not for this disc ({id})", response.display());
    }
    // The response's entry of each audio track: by position among the audio tracks, or by track number on a
    // mixed-mode CD whose first track is data.
    let mixed = toc.tracks().first().is_some_and(|t| !t.audio);
    let first_number = toc.tracks().first().map_or(1, |t| t.number);
    let audio: Vec<u8> = toc.audio_tracks().map(|t| t.number).collect();
    let entries = |n: u8| -> Vec<accuraterip::Entry> {
        let slot =
            if mixed { Some(usize::from(n.saturating_sub(first_number))) } else { audio.iter().position(|a| *a == n) };
        slot.map(|k| chunks.iter().filter_map(|c| c.entries.get(k)).filter(|e| e.crc != 0).copied().collect())
            .unwrap_or_default()
    };
    let track = audio
        .iter()
        .copied()
        .filter(|n| !entries(*n).is_empty())
        .min_by_key(|n| toc.track_sectors(*n).unwrap_or(u32::MAX))
        .context("the response has no CRC for any audio track of this disc")?;
    let t = toc.tracks().iter().find(|t| t.number == track).copied().context("the track")?;
    let sectors = toc.track_sectors(track).unwrap_or(0);
    let margin_sectors = range.div_ceil(SAMPLES_PER_SECTOR).saturating_add(1);
    let from = i64::from(t.start).saturating_sub(i64::from(margin_sectors));
    let to = i64::from(t.start).saturating_add(i64::from(sectors)).saturating_add(i64::from(margin_sectors));
    let (mut buf, mut unread) = (Vec::new(), 0u32);
    let fields = ReadCdFields::raw(C2Mode::None, Subchannel::None);
    const CHUNK: i64 = 16;
    let mut chunk = vec![0u8; RAW_SECTOR * CHUNK as usize];
    let mut lba = from;
    while lba < to {
        // Sixteen sectors a command; a command that fails (at the lead-in or lead-out) is read again sector by
        // sector, and a sector the drive refuses is silence. A negative LBA goes out as its two's complement.
        let n = CHUNK.min(to.saturating_sub(lba));
        let len = RAW_SECTOR.saturating_mul(n as usize);
        let piece = chunk.get_mut(..len).unwrap_or_default();
        if drive.read_cd(lba as i32 as u32, n as u32, fields, piece).is_ok_and(|got| got == len) {
            buf.extend_from_slice(piece);
        } else {
            for l in lba..lba.saturating_add(n) {
                let one = chunk.get_mut(..RAW_SECTOR).unwrap_or_default();
                if drive.read_cd(l as i32 as u32, 1, fields, one).is_ok_and(|got| got == RAW_SECTOR) {
                    buf.extend_from_slice(one);
                } else {
                    unread = unread.saturating_add(1);
                    buf.resize(buf.len().saturating_add(RAW_SECTOR), 0);
                }
            }
        }
        lba = lba.saturating_add(n);
    }
    let mut notes = Vec::new();
    if unread > 0 {
        notes.push(format!(
            "{unread} sectors around track {track} did not read (before LBA 0 or past the lead-out): silence there"
        ));
    }
    let first = audio.first() == Some(&track);
    let last = audio.last() == Some(&track);
    let margin = margin_sectors.saturating_mul(SAMPLES_PER_SECTOR);
    let samples = u64::from(sectors).saturating_mul(u64::from(SAMPLES_PER_SECTOR));
    let want = entries(track);
    let mut matches = Vec::new();
    for at in accuraterip::sums_by_offset(&buf, margin, samples, first, last, range) {
        // An entry's CRC is a v1 or a v2 CRC. v1 slides with the offset; v2 does not, but the sliding sums rule out
        // all but a few offsets for each v2 CRC, and those few are computed whole.
        let v1_hit = want.iter().any(|e| e.crc == at.v1);
        if !v1_hit && !want.iter().any(|e| at.may_have_v2(e.crc)) {
            continue;
        }
        let mut sums = toc.track_checksums(track).context("the track's checksums")?;
        let from = i64::from(margin).saturating_add(i64::from(at.offset)).saturating_mul(4);
        let from = usize::try_from(from).unwrap_or(0);
        let len = usize::try_from(samples.saturating_mul(4)).unwrap_or(0);
        sums.update(buf.get(from..from.saturating_add(len)).unwrap_or_default());
        let s = sums.finish().context("the track's checksums")?;
        let hits = want.iter().filter(|e| e.crc == s.accuraterip_v1 || e.crc == s.accuraterip_v2);
        let confidence: u32 = hits.map(|e| u32::from(e.confidence)).sum();
        if confidence == 0 {
            continue;
        }
        let v2_matched = want.iter().any(|e| e.crc == s.accuraterip_v2);
        matches.push(OffsetMatch {
            offset: at.offset,
            confidence,
            v1: s.accuraterip_v1,
            v2: s.accuraterip_v2,
            v2_matched,
        });
    }
    matches.sort_by_key(|m| (std::cmp::Reverse(m.confidence), m.offset.unsigned_abs()));
    // The CTDB CRC of the same track at each offset, against the entries for as many tracks as the disc's audio.
    let ctdb = ctdb_response.map(|r| {
        let slot = audio.iter().position(|n| *n == track);
        let fitting: Vec<&ct::Entry> = r.entries.iter().filter(|e| e.track_crcs.len() == audio.len()).collect();
        let window = toc.track_checksums(track).map_or((0, samples), |c| c.ctdb_range());
        let mut found: Vec<CtdbOffsetMatch> = ct::crc_by_offset(&buf, margin, window, range)
            .into_iter()
            .filter_map(|(offset, crc)| {
                let hits = fitting.iter().filter(|e| slot.and_then(|k| e.track_crcs.get(k)) == Some(&crc));
                let confidence = hits.fold(0u32, |t, e| t.saturating_add(e.confidence));
                (confidence > 0).then_some(CtdbOffsetMatch { offset, crc, confidence })
            })
            .collect();
        found.sort_by_key(|m| (std::cmp::Reverse(m.confidence), m.offset.unsigned_abs()));
        found
    });
    Ok(FindOffsetReport {
        drive: format!("{} {} {}", inq.vendor, inq.product, inq.revision),
        track,
        range,
        disc_id: id.to_string(),
        matches,
        ctdb,
        notes,
    })
}

/// Rips `input` into the image `opts` names, keeping the map beside it (a rerun with the same map resumes), and
/// writes the CUE sheet of a raw rip and the log. `on_event` hears of the start, of each read and of warnings.
/// Setting `stop` ends the rip after the current read, with the map saved: the outcome is then
/// [`RipOutcome::Interrupted`]. Nothing is written when the input or the output is refused.
pub fn rip(
    input: Input<'_>,
    opts: &RipOptions,
    stop: &Cancel,
    on_event: &mut dyn FnMut(RipEvent),
) -> Result<RipReport> {
    let out = opts.output.clone();
    let timeout = opts.timeout;
    let map_path = opts.map_path();
    let device = match &input {
        Input::Path(p) => Some(p.clone()),
        _ => None,
    };
    check_output(&out, device.as_deref(), &map_path)?;
    if let Some(a) = &opts.audio_files {
        crate::rip_audio::check(a, opts.raw, &out)?;
    }

    let mut input = open_input(input, timeout, opts.raw)?;
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
        read_offset: None,
        audio_errors: Vec::new(),
        subchannel: None,
        audio_sums: Vec::new(),
    };
    let ropts = Options::default().retries(opts.retries).reverse(opts.reverse).trim(opts.trim).scrape(opts.scrape);
    if opts.read_offset != 0 && !matches!(input, Opened::Drive { .. }) {
        let w = "--read-offset corrects a drive's reads; a file or image holds its audio as it was ripped: ignored";
        on_event(RipEvent::Warning(w.into()));
        log.notes.push(w.into());
    }

    // The shape of the rip: sectors, their size, the read mode.
    let (sectors, mode, unit) = match &mut input {
        Opened::Drive { path, drive, .. } => {
            log.input = path.display().to_string();
            let inq = drive.inquiry().context("INQUIRY")?;
            log.drive = Some(format!("{} {} {}", inq.vendor, inq.product, inq.revision));
            wait_ready(drive)?;
            let config = drive.get_configuration().ok();
            let profile = config.as_ref().map_or(0, |c| c.current_profile);
            let is_cd = profile == 0 || (0x08..=0x0a).contains(&profile);
            if opts.raw && !is_cd {
                bail!("--raw reads CDs only; the disc is a {}", mmc::profile_name(profile));
            }
            if let Some(s) = opts.speed {
                if let Err(e) = drive.set_cd_speed(s.kbps(!is_cd)?) {
                    log.notes.push(format!("setting the speed failed: {e}"));
                }
            }
            let cap = drive.read_capacity().context("READ CAPACITY")?;
            let disc = if is_cd { read_disc(drive).ok() } else { None };
            let (sectors, mode) = if opts.raw {
                let disc = disc.as_ref().context("--raw needs the disc's TOC, which the drive did not give")?;
                let c2 = if config.as_ref().and_then(|c| c.cd_read).is_some_and(|f| f.c2_flags) {
                    C2Mode::Pointers
                } else {
                    C2Mode::None
                };
                // Discs with audio: the Q subchannel comes with every sector (ISRC, MCN, index points, flags).
                let sub = if opts.subchannel {
                    Subchannel::RawPw
                } else if disc.has_audio() && reads_formatted_q(drive, disc) {
                    Subchannel::FormattedQ
                } else {
                    if disc.has_audio() {
                        log.notes.push(
                            "the drive does not return the Q subchannel with READ CD: no ISRC, catalogue number, \
                             index points or pregaps from it"
                                .into(),
                        );
                    }
                    Subchannel::None
                };
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
                log.notes.extend(log.text.notes.iter().cloned());
            }
            log.disc = disc;
            (sectors, mode, mode.sector_size())
        }
        Opened::File { path, size, file } => {
            log.input = path.display().to_string();
            if opts.subchannel {
                bail!("{}: --subchannel reads a drive's subchannel; a file has none", path.display());
            }
            let too_big = || format!("{}: {size} bytes, more than 2^32 sectors", path.display());
            if opts.raw {
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
        Opened::Image { path, image } => {
            log.input = path.display().to_string();
            if let Some(Speed::Times(x)) = opts.speed {
                log.notes.push(format!("read at the pace of a {x}× drive ({:.1} kB/s), a simulation", x * CD_1X_KBPS));
            }
            if opts.subchannel {
                bail!(
                    "{}: --subchannel reads a drive's subchannel; rip --raw copies the image's sectors",
                    path.display()
                );
            }
            match image {
                ImageInput::Raw(disc) => {
                    let (shape, notes) = image_disc(disc);
                    for n in &notes {
                        on_event(RipEvent::Warning(n.clone()));
                    }
                    log.notes.extend(notes);
                    if let Some(cue) = disc.cue() {
                        log.text.title.extend(cue.title.clone().map(|t| (0, t)));
                        log.text.performer.extend(cue.performer.clone().map(|t| (0, t)));
                        log.text.songwriter.extend(cue.songwriter.clone().map(|t| (0, t)));
                        for t in cue.files.iter().flat_map(|f| &f.tracks) {
                            log.text.title.extend(t.title.clone().map(|x| (t.number, x)));
                            log.text.performer.extend(t.performer.clone().map(|x| (t.number, x)));
                            log.text.songwriter.extend(t.songwriter.clone().map(|x| (t.number, x)));
                        }
                    }
                    let sectors = shape.raw_sectors();
                    log.disc = Some(shape);
                    (sectors, ReadMode::Raw { c2: C2Mode::None, subchannel: Subchannel::None }, RAW_SECTOR as u32)
                }
                ImageInput::Cooked(reader) => {
                    if reader.disc().tracks().iter().any(|t| !t.mode.is_data()) {
                        on_event(RipEvent::Warning(format!(
                            "{}: audio tracks have no 2048-byte sectors; rip --raw copies them",
                            path.display()
                        )));
                    }
                    let sectors = u32::try_from(reader.len() / 2048).context("more than 2^32 sectors")?;
                    (sectors, ReadMode::Cooked, 2048)
                }
            }
        }
    };
    let cluster = match (&input, opts.cluster) {
        (_, Some(n)) => n,
        (Opened::File { .. } | Opened::Image { .. }, None) => FILE_CLUSTER_BYTES / unit,
        (Opened::Drive { path, node, .. }, None) => {
            let per = match mode {
                ReadMode::Raw { c2, subchannel } => RAW_SECTOR + c2.bytes() + subchannel.bytes(),
                ReadMode::Cooked => 2048,
            };
            let most = if *node { max_transfer(path) } else { DEFAULT_TRANSFER };
            most / u32::try_from(per).unwrap_or(2048)
        }
    };
    let ropts = ropts.cluster(cluster.max(1));

    // The map: resumed when it exists.
    // A map without its image describes nothing that exists: start again.
    if map_path.exists() && !out.exists() {
        on_event(RipEvent::Warning(format!(
            "{} exists but {} does not; starting a new rip and replacing the map",
            map_path.display(),
            out.display()
        )));
    }
    let resumed = map_path.exists() && out.exists();
    let map = if resumed {
        Some(Mapfile::load(&map_path).with_context(|| format!("reading the map {}", map_path.display()))?)
    } else {
        None
    };
    let mut ripper = Ripper::new(sectors, unit, map, ropts)
        .with_context(|| format!("the map {} belongs to another rip", map_path.display()))?;
    // The Q subchannel the earlier runs of a resumed rip read (ISRC, MCN, flags, index points), kept beside the
    // map; only when it was saved with the map as it is now (a run killed after its last save leaves it stale).
    let q_path = q_sidecar(&map_path);
    let earlier_q = if resumed { load_q(&q_path, ripper.sector_totals()) } else { None };

    let image = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(!resumed)
        .open(&out)
        .with_context(|| format!("creating {}", out.display()))?;
    let image_len = u64::from(sectors).saturating_mul(u64::from(unit));
    image.set_len(image_len).with_context(|| format!("sizing {}", out.display()))?;
    let sub = if opts.subchannel {
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
    on_event(RipEvent::Started { sectors });
    let ranges = track_ranges(log.disc.as_ref().filter(|_| opts.raw), unit);
    let tracks = match (&opts.audio_files, log.disc.as_ref().filter(|_| opts.raw)) {
        (Some(a), Some(disc)) => {
            let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let stem = out.file_stem().map_or_else(|| "disc".into(), |s| s.to_string_lossy().into_owned());
            let sheet = cue_sheet(disc, &name, &log.text, None);
            Some(TrackFiles::start(a, &image, &sheet, &track_ranges(Some(disc), 1), &stem)?)
        }
        _ => None,
    };
    let output = Output {
        image,
        sub,
        sector_size: unit,
        filler,
        map_path: map_path.clone(),
        map_comments: vec![
            format!("Mapfile. Created by odix version {}", env!("CARGO_PKG_VERSION")),
            format!("Command line: {}", opts.command_line),
            format!("Start time: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")),
            format!("Sector size: {unit} bytes"),
        ],
    };
    // Only a rip from scratch sees every byte of the image go by.
    // Audio tracks' AccurateRip and CRC-32 checksums stream along with the image's hashes.
    let audio_ranges = log.disc.as_ref().filter(|_| opts.raw).map(audio_sums).unwrap_or_default();
    let hash = (!resumed && opts.hash).then(|| StreamHash::new(ranges.clone(), audio_ranges.clone(), image_len));
    let mut sink = FileSink::spawn(output, hash, stop.clone(), on_event).context("starting the writer thread")?;
    sink.tracks = tracks;
    // Save the starting map at once, so a kill before the first interval still leaves a map of this rip.
    rip::Sink::checkpoint(&mut sink, &ripper, true)?;
    // A resumed rip's tracks read before are final already.
    sink.final_tracks(&ripper)?;

    // What the Q subchannel said in every run so far, when that is known (not after a run whose Q was lost).
    let mut rip_q: Option<QSummary> = None;
    let end = match &mut input {
        Opened::Drive { drive, .. } => {
            let disc = log.disc.clone();
            let mut src = DriveSource::new(drive, mode, disc.as_ref());
            src.probe(0);
            src.control_retries(COPY_RETRIES);
            for n in src.notes() {
                (sink.on_event)(RipEvent::Warning(n.clone()));
            }
            let mut audio_done: Option<(QSummary, Overread)> = None;
            let end = match (mode, disc.as_ref()) {
                (ReadMode::Raw { subchannel, .. }, Some(d)) if d.has_audio() => {
                    let keep = subchannel == Subchannel::RawPw;
                    let mut audio = AudioReader::new(&mut src, d, opts.read_offset, opts.verify_audio, keep);
                    let end = rip::run(&mut ripper, &mut SessionSource::new(&mut audio, d), &mut sink);
                    audio_done = Some((audio.q_summary(), audio.overread()));
                    end
                }
                (ReadMode::Raw { .. }, Some(d)) => {
                    rip::run(&mut ripper, &mut SessionSource::new(&mut src, d), &mut sink)
                }
                _ => rip::run(&mut ripper, &mut src, &mut sink),
            };
            if let Some((mut q, over)) = audio_done {
                log.read_offset = Some(opts.read_offset);
                log.notes.extend(overread_notes(opts.read_offset, &over));
                if let Some(e) = &earlier_q {
                    q.merge(e);
                }
                if !resumed || earlier_q.is_some() {
                    rip_q = Some(q.clone());
                }
                if q.sectors > 0 {
                    if resumed && earlier_q.is_none() {
                        // Only this run's sectors were read: where an index starts may lie in what an earlier run
                        // read. ISRC, catalogue number and flags hold wherever they were seen.
                        q.tracks.values_mut().for_each(|t| t.indexes.clear());
                        log.notes.push(
                            "the rip resumed: the Q subchannel of the sectors read before is not known here, so \
                             pregaps and index points stay as the TOC gives them"
                                .into(),
                        );
                    }
                    log.subchannel = Some(q);
                }
            } else if opts.read_offset != 0 {
                log.notes.push("--read-offset applies to the audio of a raw rip; this rip reads none".into());
            }
            // Also after an interruption or an error: the drive gets its own retry count back.
            if let Err(now) = src.restore_retries() {
                (sink.on_event)(RipEvent::Warning(format!(
                    "the drive's read retry count could not be restored; it is {now}"
                )));
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
        Opened::File { file, .. } => {
            let mut src = FileSource { file: file.try_clone()?, unit, encode, user: Vec::new() };
            rip::run(&mut ripper, &mut src, &mut sink).context("ripping")?
        }
        Opened::Image { image: ImageInput::Raw(image), .. } => {
            let disc = log.disc.clone().context("the image's disc")?;
            let mut src = ImageSource::new(image, &disc);
            let mut src = SessionSource::new(&mut src, &disc);
            match opts.speed {
                Some(Speed::Times(x)) => rip::run(&mut ripper, &mut Paced::new(&mut src, x), &mut sink),
                _ => rip::run(&mut ripper, &mut src, &mut sink),
            }
            .context("ripping")?
        }
        Opened::Image { image: ImageInput::Cooked(reader), .. } => {
            let mut src = CookedImageSource::new(reader);
            match opts.speed {
                Some(Speed::Times(x)) => rip::run(&mut ripper, &mut Paced::new(&mut src, x), &mut sink),
                _ => rip::run(&mut ripper, &mut src, &mut sink),
            }
            .context("ripping")?
        }
    };
    sink.final_tracks(&ripper)?;
    (sink.on_event)(RipEvent::ReadDone);
    let (elapsed, bytes_read) = (sink.started.elapsed(), sink.bytes_read);

    // The pregaps (INDEX 00) are in the Q subchannel only: the raw subchannel file's when one was kept, else the
    // index points the reads' Q gave. Tracks whose pregap changed are hashed again.
    let mut ranges = ranges;
    let mut rehash = false;
    let raw_sub = match (opts.subchannel, &log.disc) {
        (true, Some(_)) => Some(std::fs::read(with_ext(&out, "sub")).context("reading the subchannel back")?),
        _ => None,
    };
    if let Some(disc) = log.disc.as_mut() {
        let changed = match (&raw_sub, &log.subchannel) {
            (Some(sub), _) => {
                let at = disc.clone();
                let q = |lba: u32| {
                    let sector = at.image_sector(lba)?;
                    sub.get((sector as usize).saturating_mul(96)..).and_then(q_position)
                };
                disc.pregaps_from_q(&q)
            }
            (None, Some(q)) => disc.pregaps_from_index0(&|n| q.tracks.get(&n).and_then(|t| t.indexes.get(&0)).copied()),
            (None, None) => Vec::new(),
        };
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
    if let Some(disc) = log.disc.as_ref().filter(|_| opts.raw) {
        log.notes.extend(htoa_note(disc, &out)?);
    }
    if opts.raw {
        if let Some(disc) = &log.disc {
            let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let sheet = cue_sheet(disc, &name, &log.text, log.subchannel.as_ref());
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
    // An unfinished rip keeps its Q beside the map for the next run; a finished one (or one whose earlier Q was
    // lost) leaves none.
    match rip_q.as_ref().filter(|_| !complete) {
        Some(q) => save_q(&q_path, totals, q)?,
        None => remove_q(&q_path)?,
    }
    let tracks = sink.tracks.take();
    let streamed = sink.finish().context("writing the image")?.filter(|h| h.pos == image_len);
    let hashes = match (end, streamed) {
        (RunEnd::Completed, _) if !opts.hash => None,
        (RunEnd::Completed, Some(mut h)) if !rehash => {
            log.audio_sums = h.audio_sums();
            Some(h.finish())
        }
        (RunEnd::Completed, _) => {
            let (h, a) = hash_output(&out, ranges, audio_ranges, image_len)?;
            log.audio_sums = a;
            Some(h)
        }
        (RunEnd::Interrupted, _) => None,
    };
    if hashes.is_some() && opts.subchannel {
        let sub = with_ext(&out, "sub");
        let (h, _) = hash_output(&sub, Vec::new(), Vec::new(), u64::from(sectors).saturating_mul(96))?;
        log.beside.push((sub.clone(), h.image));
    }
    if let (Some(disc), true) = (&log.disc, opts.raw) {
        let unfinished: Vec<(u32, u32)> = ripper.unfinished().into_iter().map(|(l, c, _)| (l, c)).collect();
        log.audio_errors = audio_errors(disc, &unfinished);
    }
    let audio_files = match (tracks, log.disc.as_ref()) {
        (Some(t), Some(disc)) if end == RunEnd::Completed => {
            let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let r = t.finish(&cue_sheet(disc, &name, &log.text, log.subchannel.as_ref()))?;
            for n in &r.notes {
                on_event(RipEvent::Warning(n.clone()));
            }
            log.notes.extend(r.notes.iter().cloned());
            Some(r)
        }
        (Some(t), _) => {
            t.abandon();
            None
        }
        _ => None,
    };
    let log_path = with_ext(&out, "log");
    write_log(&log_path, &out, &map_path, &log, &ripper, hashes.as_ref(), end)?;

    let good = totals[BlockStatus::Finished.index()];
    let stats = ripper.stats();
    let outcome = match end {
        RunEnd::Interrupted => RipOutcome::Interrupted,
        RunEnd::Completed if complete => RipOutcome::Complete,
        RunEnd::Completed => RipOutcome::Incomplete,
    };
    Ok(RipReport {
        outcome,
        sectors,
        sector_size: unit,
        good,
        bad: totals.iter().sum::<u64>().saturating_sub(good),
        bad_sectors: totals[BlockStatus::BadSector.index()],
        untried: totals[BlockStatus::NonTried.index()],
        reads: stats.reads,
        failed_reads: stats.failed_reads,
        wrong_sectors: stats.wrong_sectors,
        resumed,
        elapsed,
        bytes_read,
        hashes,
        image: out,
        map: map_path,
        log: log_path,
        beside: log.beside.into_iter().map(|(p, _)| p).collect(),
        unfinished: ripper.unfinished().into_iter().map(|(l, c, s)| (l, c, s.symbol())).collect(),
        accuraterip_id: log
            .disc
            .as_ref()
            .filter(|_| opts.raw)
            .and_then(audio_toc)
            .and_then(|t| t.accuraterip_id())
            .map(|i| i.to_string()),
        audio_errors: log.audio_errors,
        subchannel: log.subchannel,
        audio_sums: log.audio_sums,
        audio_files,
    })
}

/// Whether the drive returns the formatted Q subchannel with READ CD (tried on the first audio sector).
fn reads_formatted_q<T: Transport>(drive: &mut Drive<T>, disc: &Disc) -> bool {
    let Some(t) = disc.tracks.iter().find(|t| t.kind == TrackKind::Audio) else { return false };
    let fields = ReadCdFields::raw(C2Mode::None, Subchannel::FormattedQ);
    let mut buf = vec![0u8; fields.bytes_per_sector()];
    !matches!(drive.read_cd(t.start, 1, fields, &mut buf), Err(e) if e.is_unsupported())
}

/// What the log says of the read offset: how far the drive read past the ends of the audio, and what was
/// zero-filled where it did not.
fn overread_notes(offset: i32, over: &Overread) -> Vec<String> {
    let mut notes = Vec::new();
    for (side, read, zeroed) in [
        ("before LBA 0 (the lead-in)", over.lead_in, over.zero_filled_lead_in),
        ("past the lead-out", over.lead_out, over.zero_filled_lead_out),
    ] {
        match read {
            Some(true) => notes.push(format!("read offset {offset:+}: the drive read {side} (overread)")),
            Some(false) | None if zeroed > 0 => notes.push(format!(
                "read offset {offset:+}: the drive does not read {side}; {zeroed} samples there are written as \
                 silence (zero-filled)"
            )),
            _ => {}
        }
    }
    notes
}

/// The file beside a rip's map that keeps the Q subchannel of its runs so far: the map's name with `.q` added.
fn q_sidecar(map: &Path) -> PathBuf {
    let mut name = map.as_os_str().to_owned();
    name.push(".q");
    PathBuf::from(name)
}

/// The first line of a Q sidecar: the map's sector totals by status when it was written.
fn q_stamp(totals: [u64; 5]) -> String {
    format!("map {}", totals.map(|t| t.to_string()).join(" "))
}

/// The Q a sidecar holds, when it was written for the map as `totals` says it is now; `None` when it is missing,
/// stale or unreadable (the rip then does without it, as without a sidecar).
fn load_q(path: &Path, totals: [u64; 5]) -> Option<QSummary> {
    let f = File::open(path).ok()?;
    let mut text = String::new();
    f.take(odix_cdrip::subq::MAX_TEXT_BYTES as u64).read_to_string(&mut text).ok()?;
    let (stamp, rest) = text.split_once('\n')?;
    (stamp == q_stamp(totals)).then(|| QSummary::from_text(rest).ok()).flatten()
}

/// Writes a Q sidecar whole or not at all.
fn save_q(path: &Path, totals: [u64; 5], q: &QSummary) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let text = format!("{}\n{}", q_stamp(totals), q.to_text());
    f.file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    f.commit()?;
    Ok(())
}

/// Removes a Q sidecar, if there is one.
fn remove_q(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e).with_context(|| format!("removing {}", path.display())),
        _ => Ok(()),
    }
}

/// A note on track 1's pregap when the disc has one (track 1 starts past LBA 0): hidden track one audio when
/// its samples in the image are not all zero.
fn htoa_note(disc: &Disc, image: &Path) -> Result<Option<String>> {
    let Some(t) = disc.tracks.first().filter(|t| t.pregap > 0 && t.kind == TrackKind::Audio) else {
        return Ok(None);
    };
    let mut f = File::open(image).with_context(|| format!("reading {} back", image.display()))?;
    let mut buf = vec![0u8; RAW_SECTOR];
    let mut sound = false;
    for _ in 0..t.pregap {
        if f.read_exact(&mut buf).is_err() {
            break;
        }
        if buf.iter().any(|&b| b != 0) {
            sound = true;
            break;
        }
    }
    let (m, s, fr) = (t.pregap / 4500, t.pregap / 75 % 60, t.pregap % 75);
    Ok(Some(if sound {
        format!(
            "hidden track one audio: track 1's pregap ({} sectors, {m:02}:{s:02}:{fr:02}) holds sound; it is kept in \
             the image as track 1's INDEX 00",
            t.pregap
        )
    } else {
        format!("track 1's pregap ({} sectors before its INDEX 01) is silence", t.pregap)
    }))
}

/// The CUE sheet of a raw rip: the disc's tracks and indexes, and what the subchannel and the CD-Text add, as EAC
/// and redumper write them: `CATALOG` (the MCN), per track `TITLE`, `PERFORMER`, `SONGWRITER`, `FLAGS` (the TOC's
/// CONTROL bits and the Q's: `DCP`, `PRE`, `4CH`), `ISRC`, and the index points from 2 on.
pub fn cue_sheet(disc: &Disc, bin_name: &str, text: &DiscText, q: Option<&QSummary>) -> odix_cdrip::cue::CueSheet {
    let mut disc = disc.clone();
    if let Some(q) = q {
        for t in disc.tracks.iter_mut().filter(|t| t.kind == TrackKind::Audio) {
            t.control |= q.tracks.get(&t.number).map_or(0, |x| x.control);
        }
    }
    let mut sheet = disc.cue_sheet(bin_name);
    sheet.catalog = q.and_then(|q| q.mcn.clone());
    sheet.title = text.title.get(&0).cloned();
    sheet.performer = text.performer.get(&0).cloned();
    sheet.songwriter = text.songwriter.get(&0).cloned();
    for t in sheet.files.iter_mut().flat_map(|f| f.tracks.iter_mut()) {
        t.title = text.title.get(&t.number).cloned();
        t.performer = text.performer.get(&t.number).cloned();
        t.songwriter = text.songwriter.get(&t.number).cloned();
        let (Some(tq), Some(dt)) =
            (q.and_then(|q| q.tracks.get(&t.number)), disc.tracks.iter().find(|d| d.number == t.number))
        else {
            continue;
        };
        if dt.kind == TrackKind::Audio {
            t.isrc = tq.isrc.clone();
        }
        for (&number, &lba) in tq.indexes.range(2..) {
            if lba > dt.start && lba < dt.end() {
                let at = disc.image_sector(lba).unwrap_or(lba);
                t.indexes.push(odix_cdrip::cue::Index { number, position: odix_cdrip::cue::Frames(at) });
            }
        }
    }
    sheet
}

/// The byte ranges of the tracks (pregap included) in a raw image of `unit`-byte sectors; the whole image when
/// there is no disc.
pub(crate) fn track_ranges(disc: Option<&Disc>, unit: u32) -> Vec<(u8, u64, u64)> {
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
fn hash_output(
    out: &Path,
    ranges: Vec<(u8, u64, u64)>,
    audio: Vec<AudioSum>,
    total: u64,
) -> Result<(ImageHashes, Vec<(u8, TrackSums)>)> {
    let mut f = File::open(out).with_context(|| format!("reading {} back", out.display()))?;
    let mut h = StreamHash::new(ranges, audio, total);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("reading {} back", out.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let audio = h.audio_sums();
    Ok((h.finish(), audio))
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
        if let Some(o) = log.read_offset {
            writeln!(w, "Read offset: {o:+} samples (applied to audio tracks)")?;
        }
        if let Some(disc) = &log.disc {
            writeln!(w, "\nTOC:")?;
            write_toc(&mut w, disc, &log.text)?;
        }
        if let Some(q) = &log.subchannel {
            writeln!(w, "\nSubchannel (Q of {} sectors read, {} with a failing CRC):", q.sectors, q.bad)?;
            if let Some(m) = &q.mcn {
                writeln!(w, "  catalogue number (MCN) {m}")?;
            }
            for (n, t) in &q.tracks {
                let idx: Vec<String> = t.indexes.iter().map(|(i, l)| format!("{i:02}@{l}")).collect();
                let mut flags = Vec::new();
                for (bit, name) in [(2, "DCP"), (1, "PRE"), (8, "4CH")] {
                    if t.control & bit != 0 {
                        flags.push(name);
                    }
                }
                writeln!(
                    w,
                    "  track {n:2} ISRC {} indexes {} flags {}",
                    t.isrc.as_deref().unwrap_or("-"),
                    idx.join(" "),
                    if flags.is_empty() { "-".to_string() } else { flags.join(" ") }
                )?;
            }
        }
        if !log.audio_sums.is_empty() {
            let toc = log.disc.as_ref().and_then(audio_toc);
            writeln!(w, "\nAudio checksums (from each track's INDEX 01 to the next's):")?;
            if let Some(toc) = &toc {
                if let Some(id) = toc.accuraterip_id() {
                    writeln!(w, "  AccurateRip disc id {id} ({})", id.file_name())?;
                }
                writeln!(w, "  freedb id {:08x}, MusicBrainz disc id {}", toc.freedb_id(), toc.musicbrainz_id())?;
            }
            for (n, t) in &log.audio_sums {
                writeln!(
                    w,
                    "  track {n:2} AccurateRip v1 {:08x} v2 {:08x}  CRC32 {:08x}  without silence {:08x}",
                    t.accuraterip_v1, t.accuraterip_v2, t.crc32, t.crc32_nonsilent
                )?;
            }
        }
        if !log.audio_errors.is_empty() {
            writeln!(w, "\nAudio no two reads agreed on (track, samples from its INDEX 01, LBAs):")?;
            for e in &log.audio_errors {
                writeln!(
                    w,
                    "  track {:2} samples {}..{} (LBA {}, {} sectors)",
                    e.track,
                    e.first_sample,
                    e.first_sample.saturating_add(i64::try_from(e.samples).unwrap_or(i64::MAX)),
                    e.lba,
                    e.sectors
                )?;
            }
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
        writeln!(
            w,
            "  reads {}, failed {}, sectors with C2/EDC errors or differing reads {}",
            s.reads, s.failed_reads, s.wrong_sectors
        )?;
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
        let toc = read_toc(&mut d).unwrap();
        let mut out = Vec::new();
        toc.write_text(&mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("CD-TEXT: \"Album\" by \"Band\""), "{s}");
        assert!(s.contains("Track  1  mode1  start       0 (00:02:00)  length     100\n            \"Song\""), "{s}");
        let v = toc.to_json();
        assert_eq!(v["tracks"][0]["title"], "Song");
        assert_eq!(v["cd_text"]["performer"], "Band");
        assert_eq!(v["lead_out"], 100);
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

    /// A rip whose stop flag is set before it starts stops after its first read, saves its map and says it was
    /// interrupted.
    #[test]
    fn a_stopped_rip_is_interrupted_with_its_map() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.iso");
        let sim = SimDrive::from_cooked(&vec![7u8; 2048 * 64]);
        let stop = Cancel::new();
        stop.cancel();
        let input = Input::Transport { name: "sim".into(), transport: Box::new(sim) };
        let mut started = None;
        let r = rip(input, &RipOptions::new(&out), &stop, &mut |e| {
            if let RipEvent::Started { sectors } = e {
                started = Some(sectors);
            }
        })
        .unwrap();
        assert_eq!(started, Some(64));
        // The flag is looked at after each read: one read of 32 sectors at most.
        assert_eq!((r.outcome, r.sectors), (RipOutcome::Interrupted, 64));
        assert!(r.good <= 32 && r.good + r.untried == 64, "{r:?}");
        assert!(r.hashes.is_none());
        assert!(r.map.is_file() && r.log.is_file());
    }

    #[test]
    fn speeds() {
        let kbps = |s: &str, dvd: bool| Speed::parse(s).and_then(|s| s.kbps(dvd));
        assert_eq!(kbps("max", false).unwrap(), 0xffff);
        assert_eq!(kbps("8x", false).unwrap(), 1411);
        assert_eq!(kbps("2", true).unwrap(), 2770);
        assert!(kbps("-1", false).is_err());
        assert!(kbps("fast", false).is_err());
    }
}

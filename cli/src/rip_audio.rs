//! What `rip --raw --audio FORMAT DIR` adds to a rip: one file per track in a folder (audio tracks as WAVE or FLAC
//! files through [`crate::track_files`], as `convert --audio` writes them; data tracks as BIN files of their raw
//! sectors) and a CUE sheet that names them, encoded while the disc is read; and [`Paced`], an image read as a disc
//! at a drive's speed.
//!
//! A track's file is encoded as soon as every sector of the track is final in the rip's map (read well, retries
//! and re-reads done) and written to the image: the rip's writer thread hands the track to [`TrackFiles`]'s
//! encoding thread after the track's last write, and the encoding thread reads the track back from the image
//! while the rip reads on. A track that ends the rip with sectors not read well gets no file; the folder's CUE
//! sheet is written only when every track has its file. All files appear together under their names when the rip
//! ends (see [`crate::output`]); an interrupted or failed rip leaves none of them.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use odix_cdrip::cue::{self, CueSheet, FileType, Frames, TrackMode};
use odix_cdrip::map::{BlockStatus, Mapfile, Phase};
use odix_cdrip::rip::{Block, Outcome, Ripper, SectorSource};

use crate::output::{self, AtomicFile};
use crate::track_files::{self, AudioFormat};

/// Bytes of a raw CD sector.
const RAW: u64 = 2352;
/// Stereo 16-bit samples in a raw audio sector.
const SAMPLES_PER_SECTOR: u64 = 588;
/// What 1× reads a second: 75 sectors of 2352 bytes, 176.4 kB.
pub const CD_1X_SECTORS_PER_SECOND: f64 = 75.0;

/// Where and how `rip --audio` writes the tracks' files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFiles {
    /// The format of the audio tracks' files.
    pub format: AudioFormat,
    /// The folder (made when it does not exist).
    pub dir: PathBuf,
}

/// What [`TrackFiles::finish`] wrote.
#[derive(Debug, Clone, Default)]
pub struct AudioFilesReport {
    /// The folder.
    pub dir: PathBuf,
    /// The folder's CUE sheet, when every track got its file.
    pub cue: Option<PathBuf>,
    /// The tracks' files written.
    pub files: Vec<PathBuf>,
    /// Tracks that got no file: sectors of theirs were not read well.
    pub not_written: Vec<u8>,
    /// How long the rip waited for the encoding after its reading had ended.
    pub wait: Duration,
    /// Things worth saying (also in the log).
    pub notes: Vec<String>,
}

/// Checks `--audio` before anything is read: a raw rip, a folder that is one or can be made, and not the folder of
/// the image `out` (whose sheet the folder's would replace).
pub fn check(a: &AudioFiles, raw: bool, out: &Path) -> Result<()> {
    if !raw {
        bail!("--audio writes the tracks of a raw rip: add --raw");
    }
    if a.dir.exists() && !a.dir.is_dir() {
        bail!("{}: --audio writes a folder of files, and this is not a folder", a.dir.display());
    }
    let out_dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let (Ok(d), Ok(o)) = (a.dir.canonicalize(), out_dir.canonicalize()) {
        if d == o {
            bail!(
                "{}: the image's folder; --audio writes its own CUE sheet, which would replace the image's: name \
                 another folder",
                a.dir.display()
            );
        }
    }
    let parent = a.dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !a.dir.exists() && !parent.is_dir() {
        bail!("{}: the folder {} does not exist", a.dir.display(), parent.display());
    }
    Ok(())
}

/// One track's file as planned when the rip starts.
struct Planned {
    number: u8,
    audio: bool,
    /// Image sectors: first, and one past the last.
    from: u64,
    to: u64,
    target: PathBuf,
    comments: Vec<String>,
}

/// How far each track is final, shared by the rip (which advances it) and the encoding thread (which waits on it).
struct Marks {
    state: Mutex<MarkState>,
    moved: Condvar,
}

struct MarkState {
    /// Per track: the image sector up to which its sectors are final and written to the image.
    upto: Vec<u64>,
    /// The rip has ended: no mark moves any more.
    ended: bool,
    /// Stop at once (an interrupted or failed rip).
    stop: bool,
}

impl Marks {
    fn lock(&self) -> std::sync::MutexGuard<'_, MarkState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut MarkState)) {
        f(&mut self.lock());
        self.moved.notify_all();
    }

    /// Waits until track `i` is final up to image sector `need`: `Ok(false)` when the rip ended before it was.
    fn wait(&self, i: usize, need: u64) -> Result<bool> {
        let mut st = self.lock();
        loop {
            if st.stop {
                bail!("the rip stopped");
            }
            if st.upto.get(i).is_some_and(|&u| u >= need) {
                return Ok(true);
            }
            if st.ended {
                return Ok(false);
            }
            st = self.moved.wait(st).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// A track's file could not be finished because sectors of the track were never read well.
#[derive(Debug)]
struct NotFinal;

impl std::fmt::Display for NotFinal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sectors of the track were not read well")
    }
}

impl std::error::Error for NotFinal {}

/// What the encoding thread gives back for each track: its file, or `None` when sectors of it never became final.
type Done = Vec<(usize, Result<Option<AtomicFile>>)>;

/// The tracks' files of one rip: how far each track is final, and the thread that encodes them.
///
/// The encoding thread takes the tracks in disc order and encodes each as its sectors become final, from its first
/// on: it waits for the rip where the track is not final yet, so it follows the reading a few sectors behind and
/// the last track's file is done soon after the last read. A track with a sector not final (a failed read left to
/// the retries at the end of the rip) holds the encoding there until the retries settle it.
pub struct TrackFiles {
    dir: PathBuf,
    made_dir: bool,
    stem: String,
    plan: Arc<Vec<Planned>>,
    marks: Arc<Marks>,
    /// Per track: the mark last handed to the writer.
    sent: Vec<u64>,
    encoder: Option<std::thread::JoinHandle<Done>>,
}

/// The end of the finished run of `map` that holds `from` (bytes), `from` itself when that byte is not finished.
fn finished_upto(map: &Mapfile, from: u64) -> u64 {
    let blocks = map.blocks();
    let i = blocks.partition_point(|b| b.end() <= from);
    match blocks.get(i) {
        Some(b) if b.pos <= from && b.status == BlockStatus::Finished => b.end(),
        _ => from,
    }
}

impl TrackFiles {
    /// Plans the files of `sheet`'s tracks (the sheet of the rip's image, one `FILE` of raw sectors, as known when
    /// the rip starts: it gives the names and tags) whose image sectors `ranges` gives by track number, read back
    /// from `image`; the folder's sheet is named `stem.cue`. Makes the folder when missing (call [`check`] first)
    /// and starts the encoding thread.
    pub fn start(
        a: &AudioFiles,
        image: &File,
        sheet: &CueSheet,
        ranges: &[(u8, u64, u64)],
        stem: &str,
    ) -> Result<TrackFiles> {
        let mut plan = Vec::new();
        for (_, t) in sheet.tracks() {
            let &(_, from, to) = ranges.iter().find(|r| r.0 == t.number).context("a track without its sectors")?;
            let audio = t.mode == TrackMode::Audio;
            let ext = if audio { a.format.extension() } else { "bin" };
            let name = track_files::track_name(t.number, t.title.as_deref(), ext);
            plan.push(Planned {
                number: t.number,
                audio,
                from,
                to,
                target: a.dir.join(name),
                comments: track_files::tags(Some(sheet), Some(t), t.number),
            });
        }
        let made_dir = !a.dir.exists();
        if made_dir {
            std::fs::create_dir(&a.dir).with_context(|| format!("cannot make the folder {}", a.dir.display()))?;
        }
        let plan = Arc::new(plan);
        let upto = plan.iter().map(|p| p.from).collect::<Vec<_>>();
        let sent = upto.clone();
        let marks =
            Arc::new(Marks { state: Mutex::new(MarkState { upto, ended: false, stop: false }), moved: Condvar::new() });
        let image = image.try_clone().context("opening the image for the track files")?;
        let (p, m, format) = (Arc::clone(&plan), Arc::clone(&marks), a.format);
        let encoder = std::thread::Builder::new()
            .name("track-files".into())
            .spawn(move || {
                let mut done = Vec::new();
                for i in 0..p.len() {
                    let r = encode(&image, &p, i, format, &m);
                    let r = match r {
                        Err(e) if e.downcast_ref::<NotFinal>().is_some() => Ok(None),
                        r => r.map(Some),
                    };
                    let failed = r.is_err();
                    done.push((i, r));
                    if failed {
                        break;
                    }
                }
                done
            })
            .context("starting the encoding thread")?;
        Ok(TrackFiles {
            dir: a.dir.clone(),
            made_dir,
            stem: stem.to_string(),
            plan,
            marks,
            sent,
            encoder: Some(encoder),
        })
    }

    /// What moves the tracks' marks to where `ripper`'s map has them final now: the caller runs it once every
    /// sector before is written to the image (`None` when no mark moved).
    pub fn final_sectors(&mut self, ripper: &Ripper) -> Option<Box<dyn FnOnce() + Send>> {
        let unit = ripper.sector_size().max(1);
        let map = ripper.map();
        let mut moved = Vec::new();
        for (i, (p, sent)) in self.plan.iter().zip(self.sent.iter_mut()).enumerate() {
            if *sent >= p.to {
                continue;
            }
            let upto = (finished_upto(map, sent.saturating_mul(unit)) / unit).min(p.to);
            if upto > *sent {
                *sent = upto;
                moved.push((i, upto));
            }
        }
        if moved.is_empty() {
            return None;
        }
        let marks = Arc::clone(&self.marks);
        Some(Box::new(move || {
            marks.update(|st| {
                for (i, upto) in moved {
                    if let Some(u) = st.upto.get_mut(i) {
                        *u = (*u).max(upto);
                    }
                }
            });
        }))
    }

    /// Ends the encoding at once and removes what it wrote (an interrupted or failed rip).
    pub fn abandon(mut self) {
        self.stop_now();
        if self.made_dir {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }

    fn stop_now(&mut self) {
        self.marks.update(|st| {
            st.stop = true;
            st.ended = true;
        });
        if let Some(e) = self.encoder.take() {
            let _ = e.join();
        }
    }

    /// Waits for the encoding to end (the rip has ended: every mark is where it stays), then puts the files in
    /// place: every track's, and the folder's CUE sheet made from `sheet` (the image's final sheet, one `FILE` of
    /// raw sectors), when no track is missing; else only the files of the tracks read well.
    pub fn finish(mut self, sheet: &CueSheet) -> Result<AudioFilesReport> {
        let started = Instant::now();
        self.marks.update(|st| st.ended = true);
        let done = match self.encoder.take().map(std::thread::JoinHandle::join) {
            Some(Ok(d)) => d,
            _ => bail!("the encoding thread stopped"),
        };
        let wait = started.elapsed();
        let mut files = Vec::new();
        let mut report = AudioFilesReport { dir: self.dir.clone(), wait, ..AudioFilesReport::default() };
        for (i, r) in done {
            let p = self.plan.get(i).context("no such track")?;
            match r.with_context(|| format!("writing {}", p.target.display()))? {
                Some(f) => {
                    files.push(f);
                    report.files.push(p.target.clone());
                }
                None => report.not_written.push(p.number),
            }
        }
        for n in &report.not_written {
            report.notes.push(format!(
                "track {n:02}: sectors of it were not read well, so its file is not written (rerun the rip to \
                 retry them; it then writes every track's file)"
            ));
        }
        let cue_path = self.dir.join(format!("{}.cue", self.stem));
        if report.not_written.is_empty() {
            let (folder, notes) = self.folder_sheet(sheet)?;
            report.notes.extend(notes);
            let c = AtomicFile::create(&cue_path)?;
            {
                use std::io::Write;
                let mut w = std::io::BufWriter::new(&c.file);
                folder
                    .write_to(&mut w)
                    .and_then(|()| w.flush())
                    .with_context(|| format!("writing {}", cue_path.display()))?;
            }
            files.push(c);
            report.cue = Some(cue_path);
        } else {
            report.notes.push(format!("{}: not written, as tracks are missing", cue_path.display()));
        }
        output::commit_all(files)?;
        Ok(report)
    }

    /// The folder's sheet: `sheet`'s tracks, each in its own file (`FILE "01 - Title.flac" WAVE`), its indexes
    /// counted from the file's start. An index that lies before its track's file (an `INDEX 00` the Q subchannel
    /// found in what the rip had already given to the track before) is left out, with a note.
    fn folder_sheet(&self, sheet: &CueSheet) -> Result<(CueSheet, Vec<String>)> {
        let mut notes = Vec::new();
        let mut out = CueSheet {
            catalog: sheet.catalog.clone(),
            title: sheet.title.clone(),
            performer: sheet.performer.clone(),
            songwriter: sheet.songwriter.clone(),
            rems: sheet.rems.clone(),
            ..CueSheet::default()
        };
        for (_, t) in sheet.tracks() {
            let p = self.plan.iter().find(|p| p.number == t.number).context("a track the rip did not plan")?;
            let mut t = t.clone();
            let from = u32::try_from(p.from).context("track start")?;
            let before = t.indexes.iter().filter(|i| i.position.0 < from).map(|i| i.number).collect::<Vec<_>>();
            for n in before {
                notes.push(format!(
                    "track {:02}: its INDEX {n:02} lies before the start of its file {}; the folder's sheet leaves \
                     it out (the image's sheet has it)",
                    t.number,
                    p.target.display()
                ));
            }
            t.indexes.retain(|i| i.position.0 >= from);
            for i in &mut t.indexes {
                i.position = Frames(i.position.0.saturating_sub(from));
            }
            t.line = 0;
            let name = p.target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let file_type = if p.audio { FileType::Wave } else { FileType::Binary };
            out.files.push(cue::File { name, file_type, tracks: vec![t], line: 0 });
        }
        Ok((out, notes))
    }
}

impl Drop for TrackFiles {
    fn drop(&mut self) {
        if self.encoder.is_some() {
            self.stop_now();
        }
    }
}

/// Encodes track `i` of `plan` from the image into a new (uncommitted) file, reading each part once `marks` says
/// it is final; [`NotFinal`] when the rip ended before the whole track was.
fn encode(image: &File, plan: &[Planned], i: usize, format: AudioFormat, marks: &Marks) -> Result<AtomicFile> {
    let p = plan.get(i).context("no such track")?;
    let out = AtomicFile::create(&p.target)?;
    let mut pos = p.from.saturating_mul(RAW);
    let end = p.to.saturating_mul(RAW);
    let mut read = |buf: &mut [u8]| -> Result<usize> {
        let n = usize::try_from(end.saturating_sub(pos)).unwrap_or(usize::MAX).min(buf.len());
        let need = pos.saturating_add(n as u64).div_ceil(RAW);
        if !marks.wait(i, need)? {
            return Err(NotFinal.into());
        }
        let dst = buf.get_mut(..n).ok_or_else(|| anyhow!("buffer"))?;
        image.read_exact_at(dst, pos).context("reading the track back from the image")?;
        pos = pos.saturating_add(n as u64);
        Ok(n)
    };
    let samples = (p.to.saturating_sub(p.from)).saturating_mul(SAMPLES_PER_SECTOR);
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    match (p.audio, format) {
        (true, AudioFormat::Flac) => {
            track_files::write_flac(&mut read, samples, &p.comments, &out.file, &p.target, threads)?;
        }
        (true, AudioFormat::Wav) => track_files::write_wav(&mut read, samples, &out.file, &p.target)?,
        (false, _) => {
            use std::io::Write;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, &out.file);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = read(&mut buf)?;
                if n == 0 {
                    break;
                }
                w.write_all(buf.get(..n).unwrap_or_default())
                    .with_context(|| format!("writing {}", p.target.display()))?;
            }
            w.flush().with_context(|| format!("writing {}", p.target.display()))?;
        }
    }
    Ok(out)
}

/// A sector source read no faster than a drive at a given speed: an image read as a disc, at `--speed X`, takes
/// the time a drive reading X × 75 sectors a second would (a simulation of the drive's pace, for benchmarks and
/// tests; a real drive is asked its speed with SET CD SPEED instead). Every read counts, retries included.
pub struct Paced<'a> {
    inner: &'a mut dyn SectorSource,
    per_second: f64,
    started: Option<Instant>,
    sectors: u64,
}

impl<'a> Paced<'a> {
    /// `inner` read at `times` × 1× (75 sectors a second); a speed that is not positive and finite reads at once.
    pub fn new(inner: &'a mut dyn SectorSource, times: f64) -> Self {
        let per_second = if times.is_finite() && times > 0.0 { times * CD_1X_SECTORS_PER_SECOND } else { 0.0 };
        Paced { inner, per_second, started: None, sectors: 0 }
    }

    fn begin(&mut self) {
        self.started.get_or_insert_with(Instant::now);
    }

    /// Waits until a drive at the pace would have read `count` more sectors.
    fn pace(&mut self, count: u32) {
        self.sectors = self.sectors.saturating_add(u64::from(count));
        if self.per_second <= 0.0 {
            return;
        }
        let Some(start) = self.started else { return };
        let due = Duration::from_secs_f64(self.sectors as f64 / self.per_second);
        let spent = start.elapsed();
        if due > spent {
            std::thread::sleep(due - spent);
        }
    }
}

impl SectorSource for Paced<'_> {
    fn read(&mut self, lba: u32, count: u32) -> Outcome {
        self.begin();
        let r = self.inner.read(lba, count);
        self.pace(count);
        r
    }

    fn enter_phase(&mut self, phase: Phase) {
        self.inner.enter_phase(phase);
    }

    fn read_block(&mut self, lba: u32, count: u32, block: &mut Block) -> bool {
        self.begin();
        let r = self.inner.read_block(lba, count, block);
        self.pace(count);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odix_cdrip::rip::{SectorData, Verdict};

    struct Zeros;

    impl SectorSource for Zeros {
        fn read(&mut self, _: u32, count: u32) -> Outcome {
            Outcome::Read(
                (0..count).map(|_| SectorData { data: vec![0; 2352], sub: None, verdict: Verdict::Good }).collect(),
            )
        }
    }

    /// 150 sectors at 2× (150 sectors a second) take at least a second.
    #[test]
    fn paced_reads_take_the_drive_time() {
        let mut z = Zeros;
        let mut p = Paced::new(&mut z, 2.0);
        let t = Instant::now();
        for lba in (0..150).step_by(25) {
            assert!(matches!(p.read(lba, 25), Outcome::Read(_)));
        }
        assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    }

    #[test]
    fn finished_runs() {
        let mut m = Mapfile::new(100);
        assert_eq!(finished_upto(&m, 0), 0);
        m.set(0, 50, BlockStatus::Finished);
        assert_eq!(finished_upto(&m, 0), 50);
        assert_eq!(finished_upto(&m, 10), 50);
        assert_eq!(finished_upto(&m, 60), 60);
        m.set(50, 50, BlockStatus::Finished);
        assert_eq!(finished_upto(&m, 10), 100);
    }
}

//! Decoding a CHD's hunks: on the reading thread for scattered reads, and ahead of the reader on worker threads
//! once it reads hunk after hunk (extracting files, converting, verifying), so that decoding the next hunks
//! overlaps with whatever the reader does with the bytes. Also finds the parents a CHD refers to.
//!
//! A directory lookup that reads a hunk here and there never starts the workers: they start after
//! [`STREAK_BYTES`] read in order, and are given at most a window of hunks ahead of the last one read.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ::chd::header::CodecType;
use ::chd::map::{CompressionTypeV5, MapEntry};
use ::chd::Chd;

use super::cdhunk::{self, Base, Decoded, Engines};

use super::{bad, be32, guarded, hex, sha, HEADER_LEN};
use crate::error::{Error, Result};

/// Decoded hunks kept by a reader.
const CACHE_HUNKS: usize = 16;
/// Bytes read in order (in hunks read one after the other) before decoding ahead starts: more than the windows
/// of a few dozen sectors that probing a file system reads here and there.
const STREAK_BYTES: u32 = 256 << 10;
/// Most worker threads decoding ahead for one reader.
const MAX_WORKERS: usize = 4;
/// Bytes decoded ahead of the reader (in whole hunks, at least two per worker and at most 512 hunks).
const AHEAD_BYTES: u32 = 2 << 20;
/// Bytes of hunks given to a worker at a time.
const JOB_BYTES: u32 = 64 << 10;
/// Longest wait for a hunk a worker was given before the reader decodes it itself.
const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// Most parents followed from one CHD.
pub(super) const MAX_PARENTS: usize = 8;
/// Most directory entries looked at when searching for a parent.
const MAX_DIR_ENTRIES: usize = 100_000;

/// A CHD and its parents (nearest first), as the files a decoder opens.
#[derive(Clone, Debug)]
pub(super) struct Chain {
    pub(super) files: Vec<PathBuf>,
}

/// The `chd` crate's reader of one CHD (with its parents), its buffer of compressed bytes, and the decoders of
/// the CD hunks decoded here ([`cdhunk`]) for each of the header's four codecs that is one.
pub(super) struct Decoder {
    chd: Chd<BufReader<File>>,
    compressed: Vec<u8>,
    cd_codecs: [Option<Base>; 4],
    engines: Engines,
}

impl Chain {
    /// Opens the farthest parent first, then each child with the one before it as its parent (the `chd` crate
    /// checks that each parent's SHA-1 is the one its child names).
    pub(super) fn open(&self) -> Result<Chd<BufReader<File>>> {
        let mut parent: Option<Box<Chd<BufReader<File>>>> = None;
        for path in self.files.iter().rev() {
            let file = File::open(path).map_err(|source| Error::Io { path: path.clone(), source })?;
            let above = parent.take();
            // A small buffer: every hunk is read after a seek (which empties it), and reads larger than the
            // buffer go straight to the file.
            let chd = guarded(move || Chd::open(BufReader::with_capacity(4096, file), above))
                .map_err(|e| bad(path, format!("CHD map: {e}")))?
                .map_err(|e| bad(path, format!("CHD header, map or parent: {e}")))?;
            parent = Some(Box::new(chd));
        }
        parent.map(|p| *p).ok_or_else(|| bad(Path::new(""), "no CHD to open"))
    }
}

impl Decoder {
    pub(super) fn new(chd: Chd<BufReader<File>>) -> Self {
        let cd = chd.header().hunk_size().checked_rem(super::CD_FRAME) == Some(0);
        let cd_codecs = chd.header().codecs().map(|c| match c {
            Some(CodecType::LzmaCdV5) if cd => Some(Base::Lzma),
            Some(CodecType::ZLibCdV5) if cd => Some(Base::Deflate),
            _ => None,
        });
        Decoder { chd, compressed: Vec::new(), cd_codecs, engines: Engines::default() }
    }

    /// Decodes hunk `n` (`buf` lends its allocation): a CD hunk of `cdlz` or `cdzl` here, its rest left for
    /// later; any other through the `chd` crate, checked against the map's CRC-16 when the map has one.
    fn decode(&mut self, n: u32, buf: Vec<u8>, hunk_bytes: u32, path: &Path) -> io::Result<Decoded> {
        self.decode_at(n, buf, hunk_bytes, path, true)
    }

    fn decode_at(
        &mut self,
        n: u32,
        mut buf: Vec<u8>,
        hunk_bytes: u32,
        path: &Path,
        follow: bool,
    ) -> io::Result<Decoded> {
        let invalid = |what: String| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{}: CHD hunk {n}: {what}", path.display()))
        };
        let entry = match self.chd.map().get_entry(usize::try_from(n).unwrap_or(usize::MAX)) {
            Some(MapEntry::V5Compressed(e)) => {
                e.hunk_type().ok().map(|t| (t, e.block_offset(), e.block_size(), e.hunk_crc()))
            }
            _ => None,
        };
        let mut crc = None;
        match entry {
            Some((CompressionTypeV5::CompressionSelf, target, ..)) if follow => {
                // A copy of an earlier stored hunk (checked when the map was): decoded as that hunk.
                let target = u32::try_from(target).map_err(|_| invalid("a copy of no hunk".into()))?;
                return self.decode_at(target, buf, hunk_bytes, path, false);
            }
            Some((kind, offset, size, hunk_crc)) => {
                let slot = match kind {
                    CompressionTypeV5::CompressionType0 => Some(0),
                    CompressionTypeV5::CompressionType1 => Some(1),
                    CompressionTypeV5::CompressionType2 => Some(2),
                    CompressionTypeV5::CompressionType3 => Some(3),
                    _ => None,
                };
                if let Some(base) = slot.and_then(|i| self.cd_codecs.get(i).copied().flatten()) {
                    let len = usize::try_from(size).unwrap_or(usize::MAX);
                    if len > self.compressed.capacity() {
                        self.compressed.reserve(len.saturating_sub(self.compressed.len()));
                    }
                    self.compressed.resize(len, 0);
                    let file = self.chd.inner();
                    file.seek(SeekFrom::Start(offset))
                        .and_then(|_| file.read_exact(&mut self.compressed))
                        .map_err(|e| invalid(format!("cannot be read ({e})")))?;
                    let hb = usize::try_from(hunk_bytes).unwrap_or(0);
                    return cdhunk::decode(&mut self.engines, base, &self.compressed, hb, hunk_crc, buf)
                        .map_err(invalid);
                }
                if slot.is_some() || matches!(kind, CompressionTypeV5::CompressionNone) {
                    crc = Some(hunk_crc);
                }
            }
            None => {}
        }
        buf.clear();
        buf.resize(usize::try_from(hunk_bytes).unwrap_or(0), 0);
        let (chd, compressed) = (&mut self.chd, &mut self.compressed);
        let res = guarded(|| chd.hunk(n).and_then(|mut h| h.read_hunk_in(compressed, &mut buf)))
            .unwrap_or(Err(::chd::Error::DecompressionError));
        match res {
            Ok(len) if len == buf.len() => {}
            Ok(len) => return Err(invalid(format!("decoded to {len} bytes, not {}", buf.len()))),
            Err(e) => return Err(invalid(format!("cannot be decoded ({e})"))),
        }
        if let Some(want) = crc {
            let got = cdhunk::CRC16.checksum(&buf);
            if got != want {
                return Err(invalid(format!("CRC-16 {got:04x}, not {want:04x} as the map says: damaged data")));
            }
        }
        Ok(Decoded::whole(buf))
    }
}

/// The hunks of one CHD as a reader sees them: the last few decoded kept, the next ones decoded ahead once it
/// reads in order.
pub(super) struct Hunks {
    chain: Chain,
    hunk_bytes: u32,
    count: u32,
    decoder: Decoder,
    cache: Vec<(u32, Decoded)>,
    last: Option<u32>,
    /// Set once a read wanted a whole CD hunk (a raw read): the workers then finish the hunks they decode.
    whole: Arc<AtomicBool>,
    streak: u32,
    streak_min: u32,
    /// `None` until the reader reads in order; stays `None` when no thread can be started.
    ahead: Option<Ahead>,
    ahead_tried: bool,
}

impl Hunks {
    pub(super) fn new(chain: Chain, decoder: Decoder, hunk_bytes: u32, count: u32) -> Self {
        Hunks {
            chain,
            hunk_bytes,
            count,
            decoder,
            cache: Vec::new(),
            last: None,
            whole: Arc::new(AtomicBool::new(false)),
            streak: 0,
            streak_min: STREAK_BYTES.checked_div(hunk_bytes).unwrap_or(0).max(2),
            ahead: None,
            ahead_tried: false,
        }
    }

    fn path(&self) -> &Path {
        self.chain.files.first().map_or(Path::new(""), PathBuf::as_path)
    }

    /// Copies bytes of hunk `n` from byte `within` into `dst` (as many as the hunk has); returns how many. The
    /// hunk is finished first unless the bytes wanted can be given as they are ([`Decoded::ready`]).
    pub(super) fn read(&mut self, n: u32, within: usize, dst: &mut [u8]) -> io::Result<usize> {
        self.hunk(n)?;
        let path = self.path().to_path_buf();
        let Some((_, d)) = self.cache.last_mut() else { return Ok(0) };
        let k = d.buf.len().saturating_sub(within).min(dst.len());
        if !d.ready(within, within.saturating_add(k)) {
            d.finish().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{}: CHD hunk {n}: {e}", path.display()))
            })?;
            self.whole.store(true, Ordering::Relaxed);
        }
        match (dst.get_mut(..k), d.buf.get(within..within.saturating_add(k))) {
            (Some(to), Some(from)) => to.copy_from_slice(from),
            _ => return Ok(0),
        }
        Ok(k)
    }

    /// Has the decoded hunk `n` last in the cache: from the cache, from the workers, or decoded now.
    fn hunk(&mut self, n: u32) -> io::Result<()> {
        if self.last != Some(n) {
            let in_order = self.last.and_then(|l| l.checked_add(1)) == Some(n);
            self.streak = if in_order { self.streak.saturating_add(1) } else { 0 };
            self.last = Some(n);
        }
        if let Some(i) = self.cache.iter().position(|(h, _)| *h == n) {
            let e = self.cache.remove(i);
            self.cache.push(e);
        } else {
            let buf = match self.ahead.as_mut().and_then(|a| a.take(n)) {
                Some(buf) => buf,
                None => {
                    let buf = if self.cache.len() >= CACHE_HUNKS { self.cache.remove(0).1.buf } else { Vec::new() };
                    let path = self.chain.files.first().cloned().unwrap_or_default();
                    self.decoder.decode(n, buf, self.hunk_bytes, &path)?
                }
            };
            if self.cache.len() >= CACHE_HUNKS {
                self.cache.remove(0);
            }
            self.cache.push((n, buf));
        }
        if self.streak >= self.streak_min {
            self.read_ahead(n);
        }
        Ok(())
    }

    /// Has the hunks after `n` decoded by the workers (started the first time).
    fn read_ahead(&mut self, n: u32) {
        if self.ahead.is_none() && !self.ahead_tried {
            self.ahead_tried = true;
            self.ahead = Ahead::start(&self.chain, self.hunk_bytes, self.path(), &self.whole);
        }
        let cached: Vec<u32> = self.cache.iter().map(|(h, _)| *h).collect();
        if let Some(a) = self.ahead.as_mut() {
            // The window grows as the reader keeps reading in order, so that a short run wastes little.
            let shift = self.streak.saturating_sub(self.streak_min).min(16);
            let window = a.window.min(a.start_window.saturating_mul(1 << shift));
            a.request(n, self.count, &cached, window);
        }
    }
}

/// Worker threads decoding the hunks the reader will want next.
struct Ahead {
    jobs: Option<Sender<Range<u32>>>,
    results: Receiver<(u32, Option<Decoded>)>,
    /// Hunks given to the workers and not yet received.
    pending: BTreeSet<u32>,
    /// Hunks received and not yet read.
    ready: HashMap<u32, Decoded>,
    /// Where the last request ended.
    next: u32,
    /// Hunks decoded ahead at first, and at most.
    start_window: u32,
    window: u32,
    batch: u32,
    workers: Vec<JoinHandle<()>>,
}

impl Ahead {
    /// Starts one worker per core (at most [`MAX_WORKERS`]); `None` on a single core or when no thread starts.
    fn start(chain: &Chain, hunk_bytes: u32, path: &Path, whole: &Arc<AtomicBool>) -> Option<Ahead> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        if cores < 2 {
            return None;
        }
        let threads = cores.min(MAX_WORKERS);
        let (jobs, job_rx) = mpsc::channel::<Range<u32>>();
        let (result_tx, results) = mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let mut workers = Vec::new();
        for i in 0..threads {
            let (chain, job_rx, result_tx) = (chain.clone(), Arc::clone(&job_rx), result_tx.clone());
            let (path, whole) = (path.to_path_buf(), Arc::clone(whole));
            let spawned = std::thread::Builder::new()
                .name(format!("chd-decode-{i}"))
                .spawn(move || work(&chain, &job_rx, &result_tx, hunk_bytes, &path, &whole));
            if let Ok(h) = spawned {
                workers.push(h);
            }
        }
        if workers.is_empty() {
            return None;
        }
        let hb = hunk_bytes.max(1);
        let per_worker = u32::try_from(workers.len()).unwrap_or(1).saturating_mul(2);
        Some(Ahead {
            jobs: Some(jobs),
            results,
            pending: BTreeSet::new(),
            ready: HashMap::new(),
            next: 0,
            start_window: per_worker,
            window: AHEAD_BYTES.checked_div(hb).unwrap_or(0).max(per_worker).min(512),
            batch: JOB_BYTES.checked_div(hb).unwrap_or(0).max(1),
            workers,
        })
    }

    fn receive(&mut self, (m, buf): (u32, Option<Decoded>)) {
        self.pending.remove(&m);
        if let Some(buf) = buf {
            self.ready.insert(m, buf);
        }
    }

    /// Hunk `n` if a worker has it or is decoding it (waiting for it then); `None` if the reader is to decode it.
    fn take(&mut self, n: u32) -> Option<Decoded> {
        while let Ok(r) = self.results.try_recv() {
            self.receive(r);
        }
        while !self.ready.contains_key(&n) && self.pending.contains(&n) {
            // A worker answers for every hunk it is given; should one never answer, the reader decodes the hunk.
            match self.results.recv_timeout(WAIT) {
                Ok(r) => self.receive(r),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.pending.remove(&n);
                    return None;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.pending.clear();
                    return None;
                }
            }
        }
        self.ready.remove(&n)
    }

    /// Keeps the hunks after `n` (up to the window) decoded or being decoded; forgets the ones out of reach.
    fn request(&mut self, n: u32, count: u32, cached: &[u32], window: u32) {
        let end = n.saturating_add(1).saturating_add(window).min(count);
        let reach = n.saturating_add(1).saturating_add(self.window);
        self.ready.retain(|&m, _| m > n && m < reach);
        let from = if self.next > n && self.next <= end { self.next } else { n.saturating_add(1) };
        let Some(jobs) = self.jobs.as_ref() else { return };
        let mut job: Option<Range<u32>> = None;
        let mut m = from;
        while m < end && self.pending.len() < window as usize {
            let wanted = !self.pending.contains(&m) && !self.ready.contains_key(&m) && !cached.contains(&m);
            if wanted {
                let r = job.get_or_insert(m..m);
                r.end = m.saturating_add(1);
                self.pending.insert(m);
            }
            let full = job.as_ref().is_some_and(|r| r.end.saturating_sub(r.start) >= self.batch);
            if (!wanted || full) && job.is_some() {
                if let Some(r) = job.take() {
                    if jobs.send(r).is_err() {
                        return;
                    }
                }
            }
            m = m.saturating_add(1);
        }
        if let Some(r) = job.take() {
            let _ = jobs.send(r);
        }
        self.next = m;
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        // Closing the queue ends each worker after the hunks it is decoding.
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A worker: decodes the hunks of each job with a reader of its own (opened at its first job) and sends them,
/// a CD hunk finished when the reader has wanted whole ones, else with the EDC of its frames checked; a hunk it
/// cannot decode is sent as `None`, for the reader to decode (and report) itself.
fn work(
    chain: &Chain,
    jobs: &Mutex<Receiver<Range<u32>>>,
    results: &Sender<(u32, Option<Decoded>)>,
    hunk_bytes: u32,
    path: &Path,
    whole: &AtomicBool,
) {
    let mut decoder: Option<Decoder> = None;
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(range) = job else { return };
        for m in range {
            if decoder.is_none() {
                decoder = chain.open().ok().map(Decoder::new);
            }
            let buf =
                decoder.as_mut().and_then(|d| d.decode(m, Vec::new(), hunk_bytes, path).ok()).and_then(|mut h| {
                    if whole.load(Ordering::Relaxed) {
                        h.finish().ok().map(|()| h)
                    } else {
                        h.check_frames();
                        Some(h)
                    }
                });
            if results.send((m, buf)).is_err() {
                return;
            }
        }
    }
}

/// The header fields a parent is found and checked by.
#[derive(Clone, Debug)]
pub(super) struct Ids {
    pub(super) sha1: [u8; 20],
    pub(super) parent_sha1: [u8; 20],
    pub(super) hunk_bytes: u32,
    pub(super) unit_bytes: u32,
}

/// The identifying fields of a version 5 CHD header; `None` for a file that is not one.
pub(super) fn read_ids(path: &Path) -> Option<Ids> {
    let mut h = [0u8; HEADER_LEN];
    File::open(path).and_then(|mut f| f.read_exact(&mut h)).ok()?;
    if h.get(..8) != Some(b"MComprHD".as_slice()) || be32(&h, 12) != 5 {
        return None;
    }
    Some(Ids { sha1: sha(&h, 84), parent_sha1: sha(&h, 104), hunk_bytes: be32(&h, 56), unit_bytes: be32(&h, 60) })
}

/// The parents of the CHD at `path` (whose header names `parent_sha1`), nearest first: `explicit` for the first
/// if given, else each is the `*.chd` file beside its child whose header SHA-1 is the one the child names. Each
/// must have the child's hunk and unit sizes; at most [`MAX_PARENTS`] are followed and none may come back.
pub(super) fn find_parents(path: &Path, ids: &Ids, explicit: Option<&Path>) -> Result<Vec<PathBuf>> {
    let key = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut seen = vec![key(path)];
    let mut chain = Vec::new();
    let mut want = ids.parent_sha1;
    let mut child = path.to_path_buf();
    if want == [0; 20] {
        if let Some(p) = explicit {
            return Err(bad(path, format!("a parent CHD ({}) was given, but this CHD needs none", p.display())));
        }
    }
    while want != [0; 20] {
        if chain.len() >= MAX_PARENTS {
            return Err(bad(path, format!("CHD parents: more than {MAX_PARENTS} in a chain")));
        }
        let found = match explicit.filter(|_| chain.is_empty()) {
            Some(p) => {
                let got = read_ids(p).ok_or_else(|| bad(p, "the parent given is not a version 5 CHD"))?;
                if got.sha1 != want {
                    return Err(bad(
                        path,
                        format!(
                            "the parent given ({}) has SHA-1 {}; this CHD needs its parent CHD (SHA-1 {})",
                            p.display(),
                            hex(&got.sha1),
                            hex(&want)
                        ),
                    ));
                }
                p.to_path_buf()
            }
            None => search(&child, &want, &seen)?,
        };
        if seen.contains(&key(&found)) {
            return Err(bad(
                path,
                format!("CHD parents loop: {} (SHA-1 {}) is its own ancestor", found.display(), hex(&want)),
            ));
        }
        let got = read_ids(&found).ok_or_else(|| bad(&found, "the parent is not a version 5 CHD"))?;
        if (got.hunk_bytes, got.unit_bytes) != (ids.hunk_bytes, ids.unit_bytes) {
            return Err(bad(
                path,
                format!(
                    "its parent CHD {} has hunks of {} bytes in units of {}, not {} in units of {}",
                    found.display(),
                    got.hunk_bytes,
                    got.unit_bytes,
                    ids.hunk_bytes,
                    ids.unit_bytes
                ),
            ));
        }
        seen.push(key(&found));
        chain.push(found.clone());
        want = got.parent_sha1;
        child = found;
    }
    Ok(chain)
}

/// The `*.chd` file beside `child` whose header SHA-1 is `want`, preferring one not already in the chain.
fn search(child: &Path, want: &[u8; 20], seen: &[PathBuf]) -> Result<PathBuf> {
    let dir = match child.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io { path: dir.clone(), source })?;
    let mut looped = None;
    for e in entries.take(MAX_DIR_ENTRIES).flatten() {
        let p = e.path();
        let is_chd = p.extension().is_some_and(|x| x.eq_ignore_ascii_case("chd"));
        if !is_chd || !p.is_file() {
            continue;
        }
        if read_ids(&p).is_some_and(|i| i.sha1 == *want) {
            let canon = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if seen.contains(&canon) {
                looped = Some(p);
            } else {
                return Ok(p);
            }
        }
    }
    looped.ok_or_else(|| {
        bad(
            child,
            format!(
                "needs its parent CHD (SHA-1 {}), which is not among the .chd files in {}",
                hex(want),
                dir.display()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::write::{write_chd, ChdLayout};
    use super::super::ChdFile;
    use crate::error::Error;
    use crate::store::ByteStore;

    fn sector(n: u64) -> Vec<u8> {
        (0..2048u64).map(|i| ((i * 7) ^ (n * 13) ^ (n >> 3)) as u8).collect()
    }

    /// A CD written as a CHD (Mode 1 sectors, then audio) read through the store: the user data of a Mode 1
    /// sector leaves its hunk unfinished (no parities, no subchannel, no CRC-16 yet); a raw read of the same
    /// hunk finishes it; every hunk of the data track is then byte for byte what the `chd` crate's own CD codec
    /// decodes.
    #[test]
    fn cd_hunks_are_finished_only_for_raw_reads() {
        use crate::image::RawDisc;
        use std::io::BufReader;
        let dir = tempfile::tempdir().unwrap();
        let user = |lba: i64| -> [u8; 2048] { std::array::from_fn(|i| ((i as i64 * 7) ^ (lba * 13)) as u8) };
        let mut bin = Vec::new();
        for lba in 0..37 {
            bin.extend(crate::sector::encode_mode1(lba, &user(lba)).unwrap());
        }
        bin.extend((0..2352 * 45).map(|i| (i * 31 % 251) as u8));
        std::fs::write(dir.path().join("a.bin"), &bin).unwrap();
        let cue = dir.path().join("a.cue");
        std::fs::write(
            &cue,
            "FILE a.bin BINARY\n TRACK 01 MODE1/2352\n  INDEX 01 00:00:00\n TRACK 02 AUDIO\n  INDEX 01 00:00:37\n",
        )
        .unwrap();
        let mut disc = RawDisc::open(&cue).unwrap();
        let tracks = super::super::write::cd_layout(&disc).unwrap();
        let layout = ChdLayout::Cd(tracks.clone());
        let path = dir.path().join("a.chd");
        let out = std::fs::File::create(&path).unwrap();
        let mut frames = super::super::write::CdFrames::new(&mut disc, tracks);
        write_chd::<_, Error, _>(out, &path, &layout, 1, |b| frames.fill(b)).unwrap();

        let store = ChdFile::open(&path).unwrap().into_store();
        let whole = |n: u32| {
            let h = store.inner.lock().unwrap();
            h.cache.iter().find(|(m, _)| *m == n).map(|(_, d)| d.is_whole())
        };
        let mut u = [0u8; 2048];
        store.read_at(5 * 2448 + 16, &mut u).unwrap();
        assert_eq!(u, user(5));
        assert_eq!(whole(0), Some(false), "a user-data read finished the hunk");
        let mut raw = vec![0u8; 2352];
        store.read_at(5 * 2448, &mut raw).unwrap();
        assert_eq!(raw, bin[5 * 2352..6 * 2352]);
        assert_eq!(whole(0), Some(true), "a raw read left the hunk unfinished");

        let mut chd = ::chd::Chd::open(BufReader::new(std::fs::File::open(&path).unwrap()), None).unwrap();
        let hb = chd.header().hunk_size() as usize;
        let (mut theirs, mut scratch, mut ours) = (vec![0u8; hb], Vec::new(), vec![0u8; hb]);
        for n in 0..(40 * 2448 / hb) as u32 {
            chd.hunk(n).unwrap().read_hunk_in(&mut scratch, &mut theirs).unwrap();
            store.read_at(u64::from(n) * hb as u64, &mut ours).unwrap();
            assert!(ours == theirs, "hunk {n}");
        }
    }

    /// Scattered reads and short runs in order decode on the reading thread only; a long run in order starts the
    /// workers, and every byte read through them is the byte written.
    #[test]
    fn workers_start_for_long_runs_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.chd");
        let sectors = 1024u64; // 2 MiB: 512 hunks of 4096 bytes
        let layout = ChdLayout::Dvd(sectors * 2048);
        let mut next = 0u64;
        let out = std::fs::File::create(&path).unwrap();
        write_chd::<_, Error, _>(out, &path, &layout, 2, |buf| {
            for chunk in buf.chunks_mut(2048) {
                chunk.copy_from_slice(&sector(next)[..chunk.len()]);
                next += 1;
            }
            Ok(())
        })
        .unwrap();
        let store = ChdFile::open(&path).unwrap().into_store();
        let started = || store.inner.lock().unwrap().ahead.is_some();
        let mut buf = vec![0u8; 2048];
        // Probing: a window of 32 sectors here and there.
        for start in [16u64, 256, 900, 512, 990] {
            for s in start..start + 32 {
                store.read_at(s * 2048, &mut buf).unwrap();
                assert_eq!(buf, sector(s));
            }
        }
        assert!(!started(), "scattered reads started the workers");
        let mut all = vec![0u8; 2048];
        for s in 0..sectors {
            store.read_at(s * 2048, &mut all).unwrap();
            assert_eq!(all, sector(s), "sector {s}");
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        assert_eq!(started(), cores > 1, "a read of the whole image in order");
    }
}

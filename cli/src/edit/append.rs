//! Growing an image file by a session, as xorriso grows an image file it was given with `-dev`.
//!
//! The new session starts on the first 32-block boundary after the end of the last one (the end its primary
//! descriptor records), holds its own system area and volume descriptor set at its start + 16, and its trees
//! refer to the older sessions' file data where it lies. Its descriptors record the session's size counted from
//! its start. Then, unless the image is meant to be burnt session by session ([`Growing::commit`] with
//! `write_once`), the new descriptor set is copied to LBA 16 with the volume space size of the whole medium, so
//! that every reader that looks at LBA 16 (the kernel, firmware, any ISO reader) sees the newest tree, while each
//! session keeps its own set (`odix info` lists them, `xorriso -toc` too). A session with a boot setup has its own
//! system area (an MBR or GPT laid out for the whole grown medium), which is copied to LBA 0 with the descriptors,
//! as xorriso's `-boot_image any replay` writes it; otherwise the system area at LBA 0–15 is left as it was, and so
//! are the sectors after the copied set.
//!
//! This is the one place where odix changes an existing file in place. The order makes it safe: the session is
//! written after the old end and flushed to the disk first; the copy at LBA 16 is written last and flushed. An
//! error, a cancel or an interruption before the copy cuts the file back to its old length (registered with
//! [`crate::cancel::on_cancel`]), so the image stays what it was.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{bail, Context, Result};
use odix_iso9660::read::Session;
use odix_iso9660::write::SECTOR;

use crate::cancel::{self, Cleanup};
use crate::mastering::output::ImageSink;
use crate::mastering::spec::{BuildPlan, BuildSpec, BuildWarning, Laid};

/// Sessions start on this boundary (what xorriso uses on overwriteable media and image files).
pub const SESSION_ALIGN: u64 = 32;

/// The LBA of the volume descriptor set, from a session's start.
const DESCRIPTORS: u64 = 16;

/// Most volume descriptors copied to LBA 16: the copy must end before LBA 32, where a grown file's first session
/// starts.
const MAX_DESCRIPTORS: u64 = SESSION_ALIGN - DESCRIPTORS;

const SECTOR_U64: u64 = SECTOR as u64;

/// What appending a session did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendReport {
    /// The first LBA of the new session (its descriptors are at this LBA + 16).
    pub start: u32,
    /// The size of the new session in sectors, from its start.
    pub sectors: u64,
    /// The ISO 9660 sessions the image has now, as a reader finds them (0 for an image with UDF only).
    pub sessions: usize,
    /// Whether the descriptors at LBA 16 were made to point at the new session.
    pub descriptors_updated: bool,
    /// What the session records differently from its sources.
    pub warnings: Vec<BuildWarning>,
}

/// Where the writing of a session stands. Every write into the image holds its lock, and so does the cleanup an
/// interruption runs from another thread: once that cleanup has cut the file back, no write can follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The session is being written.
    Writing,
    /// The session and the descriptor copy are on the disk: nothing to undo.
    Committed,
    /// The file was cut back to what it was; nothing may be written any more.
    RolledBack,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An image file being grown by a session: open for writing, the place of the new session chosen. Dropped before
/// [`Growing::commit`], it cuts the file back to what it was.
pub struct Growing {
    file: File,
    path: PathBuf,
    start: u32,
    old_len: u64,
    sessions: Vec<Session>,
    /// Sectors of the descriptor set at LBA 16 when opened, its terminator included.
    old_set: u64,
    state: Shared,
    cleanup: Option<Cleanup>,
    /// The first block of the newest UDF volume of an image without ISO 9660 (UDF only).
    udf_newest: Option<u64>,
    /// Whether the file is padded to the next session boundary after the session (not after a UDF VAT session,
    /// whose Virtual Allocation Table readers look for in the medium's last block).
    pad: bool,
}

/// The sink a session is written through ([`Growing::sink`]): the image file from the session's start, each write
/// made only while the session is still being written.
pub struct SessionSink<'a> {
    inner: Option<BufWriter<&'a File>>,
    state: Shared,
}

impl<'a> SessionSink<'a> {
    /// The buffered writer, while the session is being written (the lock held by the caller).
    fn writer(&mut self, state: State) -> io::Result<&mut BufWriter<&'a File>> {
        if state != State::Writing {
            return Err(io::Error::other("the image was cut back to its size before the new session"));
        }
        self.inner.as_mut().ok_or_else(|| io::Error::other("the session's sink is closed"))
    }
}

impl Write for SessionSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let state = Arc::clone(&self.state);
        let guard = lock(&state);
        self.writer(*guard)?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        let state = Arc::clone(&self.state);
        let guard = lock(&state);
        self.writer(*guard)?.flush()
    }
}

impl ImageSink for SessionSink<'_> {
    fn copy_from(&mut self, src: &File, len: u64) -> io::Result<u64> {
        let state = Arc::clone(&self.state);
        let guard = lock(&state);
        self.writer(*guard)?.copy_from(src, len)
    }

    fn copy_from_at(&mut self, src: &File, offset: u64, len: u64) -> io::Result<u64> {
        let state = Arc::clone(&self.state);
        let guard = lock(&state);
        self.writer(*guard)?.copy_from_at(src, offset, len)
    }
}

impl Drop for SessionSink<'_> {
    fn drop(&mut self) {
        // What is still buffered is written only by an explicit flush: a writer dropped after the file was cut
        // back must not write it.
        if let Some(w) = self.inner.take() {
            let guard = lock(&self.state);
            if *guard == State::Writing {
                let mut w = w;
                let _ = w.flush();
            } else {
                let _ = w.into_parts();
            }
        }
    }
}

/// The first LBA after the sessions of an image: the end of the last one, its recorded size read from its start
/// (xorriso, genisoimage `-C`) or, when that passes the end of the file, from LBA 0 (older tools).
fn sessions_end(sessions: &[Session], file_sectors: u64) -> Option<u64> {
    let last = sessions.last()?;
    let relative = last.start.checked_add(last.blocks)?;
    if relative > file_sectors && last.blocks >= last.start && last.blocks <= file_sectors {
        return Some(last.blocks);
    }
    Some(relative)
}

/// Rounds `lba` up to the session boundary.
pub fn session_boundary(lba: u64) -> u64 {
    lba.div_ceil(SESSION_ALIGN).saturating_mul(SESSION_ALIGN)
}

/// Cuts the file back to what it was, unless the session was committed; from then on nothing is written.
fn roll_back(state: &Shared, path: &Path, start: u64, old_len: u64) -> io::Result<()> {
    let mut guard = lock(state);
    if *guard != State::Writing {
        return Ok(());
    }
    *guard = State::RolledBack;
    let f = OpenOptions::new().write(true).open(path)?;
    // Whatever lay between the new session's start and the old end was zeros (checked when opening).
    f.set_len(start.min(old_len))?;
    f.set_len(old_len)?;
    f.sync_all()
}

impl Growing {
    /// Opens the image file `image` for a new session: finds its sessions and the first LBA after them. Refuses a
    /// file that is not ISO 9660, and one with data after its last session (an appended partition, a backup
    /// GPT), which the session would overwrite.
    pub fn open(image: &Path) -> Result<Growing> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(image)
            .with_context(|| format!("opening {} for writing", image.display()))?;
        let meta = file.metadata().with_context(|| format!("reading {}", image.display()))?;
        if !meta.is_file() {
            bail!("{}: a session can only be appended to an image file", image.display());
        }
        let old_len = meta.len();
        let sessions = odix_iso9660::read::sessions(&mut file)
            .with_context(|| format!("{}: reading the sessions", image.display()))?;
        // An image with UDF only: its newest volume ends with the file (a VAT session is not padded).
        let udf_newest = if sessions.is_empty() { udf_newest(&file, old_len) } else { None };
        let end = match udf_newest {
            Some(_) => old_len.div_ceil(SECTOR_U64),
            None => sessions_end(&sessions, old_len / SECTOR_U64).with_context(|| {
                format!("{}: no ISO 9660 volume descriptors at LBA 16, nor a UDF volume", image.display())
            })?,
        };
        let start = session_boundary(end);
        let start32 = u32::try_from(start).with_context(|| format!("{}: image over 2^32 sectors", image.display()))?;
        check_zeros_after(&mut file, start * SECTOR_U64, old_len).with_context(|| {
            format!(
                "{}: there is data after the last session (which ends at LBA {end}): an appended partition or \
                 backup GPT would be overwritten by a new session",
                image.display()
            )
        })?;
        let old_set = descriptor_set_len(&file);
        let path = image.to_path_buf();
        let what = format!("cut {} back to its size before the new session", image.display());
        let p = path.clone();
        let state: Shared = Arc::new(Mutex::new(State::Writing));
        let st = Arc::clone(&state);
        let cleanup = cancel::on_cancel(what, move || {
            let _ = roll_back(&st, &p, start * SECTOR_U64, old_len);
        });
        Ok(Growing {
            file,
            path,
            start: start32,
            old_len,
            sessions,
            old_set,
            state,
            cleanup: Some(cleanup),
            udf_newest,
            pad: true,
        })
    }

    /// The first LBA of the new session.
    pub fn start(&self) -> u32 {
        self.start
    }

    /// The ISO 9660 sessions the image had when opened (none for an image with UDF only).
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// The first LBA of the newest session when opened: the last ISO 9660 session's, or for an image with UDF
    /// only its newest UDF volume's (found from the anchor at its end).
    pub fn newest_session(&self) -> u64 {
        self.sessions.last().map(|s| s.start).or(self.udf_newest).unwrap_or(0)
    }

    /// A sink positioned at the new session's start, for a plan that starts there
    /// ([`crate::mastering::plan::Plan::starting_at`]).
    pub fn sink(&self) -> Result<SessionSink<'_>> {
        let mut f = &self.file;
        f.seek(SeekFrom::Start(u64::from(self.start) * SECTOR_U64))
            .with_context(|| format!("{}: seeking to LBA {}", self.path.display(), self.start))?;
        Ok(SessionSink { inner: Some(BufWriter::with_capacity(1 << 20, f)), state: Arc::clone(&self.state) })
    }

    /// Finishes the session written through [`Growing::sink`], which ends at LBA `end`: pads the file to the next
    /// session boundary and flushes it to the disk; then, unless `write_once`, copies the session's volume
    /// descriptors to LBA 16 with the volume space size of the whole medium (and its system area to LBA 0 when it
    /// has one: a boot setup's MBR or GPT), and flushes again.
    pub fn commit(mut self, end: u64, write_once: bool) -> Result<(u32, u64, bool)> {
        let path = self.path.display().to_string();
        let start = u64::from(self.start);
        if end <= start + DESCRIPTORS {
            bail!("{path}: the new session ends at LBA {end}, before its descriptors");
        }
        let state = Arc::clone(&self.state);
        let mut guard = lock(&state);
        if *guard != State::Writing {
            bail!("{path}: the new session was undone (interrupted)");
        }
        let padded = if self.pad { session_boundary(end) } else { end } * SECTOR_U64;
        let len = self.file.metadata().with_context(|| format!("reading {path}"))?.len();
        if len < padded {
            self.file.set_len(padded).with_context(|| format!("{path}: padding the new session"))?;
        }
        self.file.sync_all().with_context(|| format!("{path}: flushing the new session"))?;
        if !write_once {
            // A UDF session's anchor replaces the one at block 256 (the first session's), as its descriptors
            // replace those at LBA 16: UDF readers that look there then find the new volume.
            if let Some(anchor) = self.udf_anchor_copy()? {
                self.file
                    .write_all_at(&anchor, 256 * SECTOR_U64)
                    .with_context(|| format!("{path}: writing the new session's UDF anchor at block 256"))?;
            }
        }
        if !write_once && self.sessions.is_empty() {
            self.file.sync_all().with_context(|| format!("{path}: flushing the anchor at block 256"))?;
        }
        if !write_once && !self.sessions.is_empty() {
            let set = self.descriptor_copy(end)?;
            let sectors = set.len() as u64 / SECTOR_U64;
            if self.sessions.first().is_some_and(|s| s.start == 0) && sectors > self.old_set {
                // The first session's own sectors follow its descriptors: they may hold its data, which the new
                // trees still use.
                bail!(
                    "{path}: the new session has {sectors} volume descriptors, the first session {}: copying them to \
                     LBA 16 would overwrite the first session's sectors after them (append with the same trees as \
                     the image has, or as write-once)",
                    self.old_set
                );
            }
            // A session with a boot setup has its own system area (an MBR or GPT laid out for the whole medium,
            // pointing at the boot images where the session has them): it replaces the one at LBA 0, as xorriso
            // writes it with `-boot_image any replay`. A session without one leaves LBA 0 as it was.
            let area = self.system_area()?;
            let (at, bytes) = match area {
                Some(mut a) => {
                    a.extend_from_slice(&set);
                    (0, a)
                }
                None => (DESCRIPTORS * SECTOR_U64, set),
            };
            self.file
                .write_all_at(&bytes, at)
                .with_context(|| format!("{path}: writing the descriptors of the new session at LBA {DESCRIPTORS}"))?;
            self.file.sync_all().with_context(|| format!("{path}: flushing the descriptors at LBA 16"))?;
        }
        // Done: nothing to undo any more. (The lock is let go before the cleanup is deregistered: an interruption
        // running the cleanups holds the registry and waits for this lock.)
        *guard = State::Committed;
        drop(guard);
        self.cleanup = None;
        Ok((self.start, end - start, !write_once))
    }

    /// The new session's UDF anchor (at its start + 256) made the anchor of block 256, when both hold one.
    fn udf_anchor_copy(&self) -> Result<Option<Vec<u8>>> {
        let path = self.path.display();
        let mut old = vec![0u8; SECTOR];
        let mut new = vec![0u8; SECTOR];
        let at = (u64::from(self.start) + 256) * SECTOR_U64;
        let is_anchor = |s: &[u8], lba: u64| {
            odix_udf::format::tag::verify(s, Some(lba as u32)).is_ok_and(|(t, p)| t.identifier == 2 && p.is_empty())
        };
        if self.start == 0 || self.file.read_exact_at(&mut old, 256 * SECTOR_U64).is_err() || !is_anchor(&old, 256) {
            return Ok(None);
        }
        // A session without UDF may end before its block 256.
        let len = self.file.metadata().with_context(|| format!("reading {path}"))?.len();
        if at + SECTOR_U64 > len {
            return Ok(None);
        }
        self.file.read_exact_at(&mut new, at).with_context(|| format!("{path}: reading the new session's anchor"))?;
        if !is_anchor(&new, u64::from(self.start) + 256) {
            return Ok(None);
        }
        // Only the tag's location changes (its CRC covers the descriptor after the tag).
        new[12..16].copy_from_slice(&256u32.to_le_bytes());
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&new[..16]);
        new[4] = odix_udf::format::tag::checksum(&tag);
        Ok(Some(new))
    }

    /// The new session's system area (its first 16 sectors), unless it is all zeros.
    fn system_area(&self) -> Result<Option<Vec<u8>>> {
        let mut area = vec![0u8; (DESCRIPTORS * SECTOR_U64) as usize];
        self.file
            .read_exact_at(&mut area, u64::from(self.start) * SECTOR_U64)
            .with_context(|| format!("{}: reading the new session's system area", self.path.display()))?;
        Ok(area.iter().any(|&b| b != 0).then_some(area))
    }

    /// The new session's volume descriptor set, up to and with its terminator, each primary, supplementary and
    /// enhanced descriptor recording `end` as the volume space size (the whole medium, as a reader of LBA 16
    /// expects).
    fn descriptor_copy(&self, end: u64) -> Result<Vec<u8>> {
        let path = self.path.display();
        let end32 = u32::try_from(end).with_context(|| format!("{path}: image over 2^32 sectors"))?;
        let mut set = Vec::new();
        for k in 0..MAX_DESCRIPTORS {
            let lba = u64::from(self.start) + DESCRIPTORS + k;
            let mut s = vec![0u8; SECTOR];
            self.file
                .read_exact_at(&mut s, lba * SECTOR_U64)
                .with_context(|| format!("{path}: reading the new volume descriptor at LBA {lba}"))?;
            let head = s.get(..7).context("short sector")?;
            if head.get(1..6) != Some(b"CD001") {
                bail!("{path}: LBA {lba} of the new session holds no volume descriptor");
            }
            let kind = head[0];
            if kind == 1 || kind == 2 {
                s[80..84].copy_from_slice(&end32.to_le_bytes());
                s[84..88].copy_from_slice(&end32.to_be_bytes());
            }
            set.extend_from_slice(&s);
            if kind == 255 {
                return Ok(set);
            }
        }
        bail!("{path}: the new session's volume descriptor set is longer than {MAX_DESCRIPTORS} sectors")
    }
}

impl Drop for Growing {
    fn drop(&mut self) {
        let _ = roll_back(&self.state, &self.path, u64::from(self.start) * SECTOR_U64, self.old_len);
        self.cleanup = None;
    }
}

/// The first block of the newest UDF volume of `file` (`len` bytes) when it holds UDF only: a recognition
/// sequence at 16 and an anchor 256 before the last block (a VAT session's) or in it; the volume starts 257
/// blocks before its main descriptor sequence when an anchor lies right before that sequence (as odix records a
/// session), else at 0.
fn udf_newest(file: &File, len: u64) -> Option<u64> {
    let mut s = vec![0u8; SECTOR];
    file.read_exact_at(&mut s, DESCRIPTORS * SECTOR_U64).ok()?;
    if s.get(1..6) != Some(b"BEA01") {
        return None;
    }
    let anchor = |lba: u64, s: &mut Vec<u8>| -> Option<u64> {
        file.read_exact_at(s, lba * SECTOR_U64).ok()?;
        let (t, problems) = odix_udf::format::tag::verify(s, u32::try_from(lba).ok()).ok()?;
        let main = s.get(20..24)?;
        (t.identifier == 2 && problems.is_empty())
            .then(|| u64::from(u32::from_le_bytes([main[0], main[1], main[2], main[3]])))
    };
    let n = len / SECTOR_U64;
    let main = [n.checked_sub(257), n.checked_sub(1)].into_iter().flatten().find_map(|lba| anchor(lba, &mut s))?;
    match main.checked_sub(257) {
        Some(start) if start > 0 && anchor(main - 1, &mut s).is_some() => Some(start),
        _ => Some(0),
    }
}

/// The sectors of the volume descriptor set at LBA 16 of `file`, its terminator included.
fn descriptor_set_len(file: &File) -> u64 {
    let mut s = [0u8; 8];
    for k in 0..MAX_DESCRIPTORS {
        let at = (DESCRIPTORS + k) * SECTOR_U64;
        if file.read_exact_at(&mut s, at).is_err() || s.get(1..6) != Some(b"CD001") {
            return k;
        }
        if s[0] == 255 {
            return k + 1;
        }
    }
    MAX_DESCRIPTORS
}

/// Checks that the bytes of `file` from `from` to `len` are all zeros (the padding xorriso writes after a
/// session).
fn check_zeros_after(file: &mut File, from: u64, len: u64) -> Result<()> {
    if from >= len {
        return Ok(());
    }
    file.seek(SeekFrom::Start(from))?;
    let mut r = file.take(len - from);
    let mut buf = vec![0u8; 1 << 20];
    let mut at = from;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        if let Some(k) = buf[..n].iter().position(|&b| b != 0) {
            bail!("a non-zero byte at offset {}", at + k as u64);
        }
        at += n as u64;
    }
}

/// Appends the image `spec` describes (its sources, trees and identifiers) to the image file `image` as a new
/// session; `progress` is told how many bytes were just written. With `write_once` nothing already written is
/// touched (the new session is found through a table of contents, or `--offset`); otherwise the descriptors at
/// LBA 16 are made to point at it. `spec.session_start` is set here.
pub fn append_session(
    image: &Path,
    spec: &BuildSpec,
    write_once: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<AppendReport> {
    let growing = Growing::open(image)?;
    let mut spec = spec.clone();
    spec.session_start = Some(growing.start());
    let plan = spec.prepare()?;
    write_session(growing, &plan, write_once, &mut |_| {}, progress)
}

/// Writes `plan` (prepared with [`BuildSpec::session_start`] at `growing`'s start) as the new session and
/// commits it ([`Growing::commit`]); `laid` is told the layout (the session's size from its start) before any
/// byte is written, `progress` how many bytes were just written.
pub fn write_session(
    growing: Growing,
    plan: &BuildPlan,
    write_once: bool,
    laid: &mut dyn FnMut(&Laid),
    progress: &mut dyn FnMut(u64),
) -> Result<AppendReport> {
    let path = growing.path.clone();
    let mut growing = growing;
    growing.pad = !plan.ends_with_vat();
    let (sink, l) = plan.write_with(
        |l| {
            laid(l);
            growing.sink()
        },
        progress,
    )?;
    drop(sink);
    let end = u64::from(growing.start()) + l.total_sectors;
    let (start, sectors, descriptors_updated) = growing.commit(end, write_once)?;
    let mut f = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let sessions = odix_iso9660::read::sessions(&mut f)
        .with_context(|| format!("{}: reading the sessions back", path.display()))?
        .len();
    Ok(AppendReport { start, sectors, sessions, descriptors_updated, warnings: l.warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(start: u64, blocks: u64) -> Session {
        Session { start, blocks, volume_id: String::new() }
    }

    #[test]
    fn the_next_session_starts_on_a_32_block_boundary_after_the_last() {
        // xorriso: sizes counted from each session's start.
        assert_eq!(sessions_end(&[session(32, 79), session(128, 30)], 352), Some(158));
        assert_eq!(session_boundary(158), 160);
        // One session from LBA 0 (mkisofs).
        assert_eq!(sessions_end(&[session(0, 233)], 233), Some(233));
        assert_eq!(session_boundary(233), 256);
        // An older tool counting from LBA 0: start + size would pass the end of the file.
        assert_eq!(sessions_end(&[session(0, 233), session(240, 414)], 414), Some(414));
        assert_eq!(sessions_end(&[], 10), None);
    }
}

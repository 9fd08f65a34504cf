//! The sector plan of an image and the one-pass emitter that writes it.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use odix_iso9660::write::{zisofs, DataId, SECTOR};

use super::output::ImageSink;
use super::walk::{DataItem, DataTable, OpenDirs};

/// What the emitter needs while producing metadata: the final size and where every data item went.
pub struct EmitCtx<'a> {
    /// Total sectors of the image.
    pub total_sectors: u32,
    /// LBA of each data item by [`DataId`] (0 for empty items and for duplicates' own ids, which are resolved
    /// through [`EmitCtx::extent_of`]).
    pub data_lba: &'a [u32],
    /// For deduplicated contents, the id of the item that actually holds the bytes.
    pub alias: &'a [u32],
    /// When set, the emitter stops at its next step with [`crate::cancel::Cancelled`].
    pub cancel: Option<&'a crate::cancel::Cancel>,
}

impl EmitCtx<'_> {
    /// The LBA where data item `id` (or the item it duplicates) starts.
    pub fn extent_of(&self, id: DataId) -> u32 {
        let real = self.alias.get(id.0 as usize).copied().unwrap_or(id.0);
        self.data_lba.get(real as usize).copied().unwrap_or(0)
    }
}

/// Writes a region's bytes; must write exactly the region's size.
pub type Producer<'a> = Box<dyn Fn(&EmitCtx<'_>, &mut dyn Write) -> Result<()> + 'a>;

/// What fills a region.
pub enum Content<'a> {
    /// Zero bytes.
    Zeros,
    /// Bytes known at plan time (padded with zeros to the region's size).
    Bytes(Vec<u8>),
    /// Bytes produced at emit time.
    Producer(Producer<'a>),
    /// A file data item, copied from its source.
    Data(DataId),
    /// Data items stored back to back, each padded to a sector (one region for all the files of an image keeps
    /// the plan at a few bytes per file).
    DataRun(Vec<u32>),
}

/// A run of sectors with fixed position and size.
pub struct Region<'a> {
    /// Short description for errors ("primary volume descriptor"; empty for data items, which are named by
    /// their path).
    pub what: String,
    /// First sector.
    pub lba: u32,
    /// Number of sectors.
    pub sectors: u64,
    /// Its bytes.
    pub content: Content<'a>,
}

/// Every sector of an image, in order.
#[derive(Default)]
pub struct Plan<'a> {
    regions: Vec<Region<'a>>,
    start: u64,
    next: u64,
}

impl<'a> Plan<'a> {
    /// An empty plan whose first region goes at `lba`: a session appended to an image (the sink is positioned
    /// there by the caller).
    pub fn starting_at(lba: u32) -> Plan<'a> {
        Plan { regions: Vec::new(), start: u64::from(lba), next: u64::from(lba) }
    }

    /// The LBA of the first region.
    pub fn start(&self) -> u32 {
        self.start as u32
    }

    /// The LBA the next region will get.
    pub fn cursor(&self) -> u32 {
        self.next as u32
    }

    /// Appends a region of `sectors` at the cursor; returns its LBA.
    pub fn push(&mut self, what: impl Into<String>, sectors: u64, content: Content<'a>) -> Result<u32> {
        let lba = self.next;
        self.next += sectors;
        if self.next > u64::from(u32::MAX) {
            bail!("image would exceed 2^32 sectors");
        }
        self.regions.push(Region { what: what.into(), lba: lba as u32, sectors, content });
        Ok(lba as u32)
    }

    /// The end of the plan: its start plus the sectors planned so far.
    pub fn total_sectors(&self) -> u64 {
        self.next
    }

    /// The regions, in LBA order.
    pub fn regions(&self) -> &[Region<'a>] {
        &self.regions
    }
}

/// A writer that counts what passes through it (used for metadata, never for file data).
struct Counting<'w, W: Write + ?Sized> {
    inner: &'w mut W,
    count: u64,
}

impl<W: Write + ?Sized> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

fn write_zeros<W: Write + ?Sized>(out: &mut W, mut n: u64) -> io::Result<()> {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        out.write_all(&ZEROS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

/// Bytes copied per step, so the progress bar moves during large files.
const COPY_STEP: u64 = 64 << 20;

/// Files below this size are read with one `read` into a buffer and written through the output's buffer; larger
/// ones are copied in the kernel ([`ImageSink::copy_from`]). Measured on ext4: one `copy_file_range` per 10 KiB
/// file made a 20 000-file build 2–3 times slower than buffered copies.
const COPY_RANGE_MIN: u64 = 1 << 20;

fn copy_item<W: ImageSink>(
    item: &DataItem,
    file: File,
    path: &Path,
    out: &mut W,
    scratch: &mut [u8],
    progress: &dyn Fn(u64),
    cancel: Option<&crate::cancel::Cancel>,
) -> Result<u64> {
    let changed = |now: u64| {
        anyhow::anyhow!(
            "{} changed size during the build ({} bytes planned, {now} now)",
            path.display(),
            item.source_size()
        )
    };
    if item.zisofs.is_none() && item.source_size() < COPY_RANGE_MIN {
        // One read of one byte more than planned sees the end of the file, so neither a stat before nor one
        // after is needed to notice a file that changed size.
        let len = item.source_size() as usize;
        let buf = scratch.get_mut(..len + 1).context("copy buffer too small")?;
        let mut n = 0;
        while n < buf.len() {
            let want = buf.len() - n;
            let k = match (&file).read(&mut buf[n..]) {
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            n += k;
            if k == 0 || (n == len && k < want) {
                break;
            }
        }
        if n > len {
            bail!("{} changed size during the build ({len} bytes planned, more now)", path.display());
        }
        if n != len {
            return Err(changed(n as u64));
        }
        out.write_all(&buf[..len])?;
        progress(len as u64);
        return Ok(len as u64);
    }
    let len = file.metadata().with_context(|| format!("reading {}", path.display()))?.len();
    if len != item.source_size() {
        return Err(changed(len));
    }
    let written = if let Some(size) = item.zisofs {
        let mut r = io::BufReader::new(file.try_clone()?);
        // The second pass reads the same open file again from its start (no path: it may be too long to open).
        let again = || {
            let mut f = file.try_clone()?;
            f.seek(io::SeekFrom::Start(0))?;
            Ok(io::BufReader::new(f))
        };
        let n =
            zisofs::compress(&mut r, again, size, out).with_context(|| format!("compressing {}", path.display()))?;
        progress(n);
        n
    } else {
        let mut done = 0u64;
        while done < len {
            check_interrupted(cancel)?;
            let step = (len - done).min(COPY_STEP);
            let n = out.copy_from(&file, step).with_context(|| format!("copying {}", path.display()))?;
            if n == 0 {
                break;
            }
            done += n;
            progress(n);
        }
        done
    };
    if written != item.stored_size {
        bail!("{} changed during the build ({} bytes planned, {} read)", path.display(), item.stored_size, written);
    }
    let now = file.metadata().with_context(|| format!("reading {}", path.display()))?.len();
    if now != item.source_size() {
        return Err(changed(now));
    }
    Ok(written)
}

fn check_interrupted(ctx_cancel: Option<&crate::cancel::Cancel>) -> Result<()> {
    if let Some(c) = ctx_cancel {
        c.check()?;
    }
    Ok(())
}

/// Copies an item of an edit's input image: each run in the kernel from the image file when the image's bytes
/// are its sectors (never through user memory, never through a tree), else through the image's reader. Runs
/// shorter than the item are padded with zeros, longer ones cut. Returns the item's stored size.
fn copy_image_runs<W: ImageSink>(
    data: &DataTable,
    item: &DataItem,
    runs: &[super::walk::ImageRun],
    out: &mut W,
    progress: &dyn Fn(u64),
    cancel: Option<&crate::cancel::Cancel>,
) -> Result<u64> {
    let image = data.input_image().context("no input image")?;
    let total = item.stored_size;
    let Some(file) = image.file.as_ref().filter(|_| total >= COPY_RANGE_MIN) else {
        let n = data.copy_runs(runs, total, out)?;
        progress(n);
        return Ok(n);
    };
    let mut left = total;
    for &(at, len) in runs {
        let mut n = len.min(left);
        left -= n;
        if at == super::walk::ZERO_RUN {
            write_zeros(out, n)?;
            progress(n);
            continue;
        }
        let mut pos = at;
        while n > 0 {
            check_interrupted(cancel)?;
            let step = n.min(COPY_STEP);
            let k = out.copy_from_at(file, pos, step)?;
            if k == 0 {
                bail!("the input image ends at byte {pos}, inside a file's data");
            }
            pos += k;
            n -= k;
            progress(k);
        }
        if left == 0 {
            break;
        }
    }
    write_zeros(out, left)?;
    progress(left);
    Ok(total)
}

/// Copies one data item and pads it to a whole sector; returns the bytes written. The source file is opened
/// relative to its folder, kept open in `dirs`.
#[allow(clippy::too_many_arguments)]
fn copy_padded<W: ImageSink>(
    data: &DataTable,
    dirs: &mut OpenDirs,
    id: DataId,
    lba: u32,
    out: &mut W,
    scratch: &mut [u8],
    progress: &dyn Fn(u64),
    cancel: Option<&crate::cancel::Cancel>,
) -> Result<u64> {
    check_interrupted(cancel)?;
    let item = data.item(id).with_context(|| format!("LBA {lba}: no data item {}", id.0))?;
    if let Some(runs) = data.runs_of(item) {
        let n = copy_image_runs(data, item, runs, out, progress, cancel)
            .with_context(|| format!("copying {}", data.path(item).display()))?;
        let size = item.stored_size.div_ceil(SECTOR as u64) * SECTOR as u64;
        write_zeros(out, size - n)?;
        progress(size - n);
        return Ok(size);
    }
    let path = data.path(item);
    let file = data.open(item, dirs).with_context(|| format!("opening {}", path.display()))?;
    let n = copy_item(item, file, &path, out, scratch, progress, cancel)?;
    let size = item.stored_size.div_ceil(SECTOR as u64) * SECTOR as u64;
    let pad = size.checked_sub(n).with_context(|| format!("{} grew past its extent", path.display()))?;
    write_zeros(out, pad)?;
    progress(pad);
    Ok(size)
}

/// Writes the whole plan to `out`, strictly in order, checking that each region fills exactly its sectors.
/// `progress` is told how many bytes were just written.
pub fn emit<W: ImageSink>(
    plan: &Plan<'_>,
    ctx: &EmitCtx<'_>,
    data: &DataTable,
    out: &mut W,
    progress: &dyn Fn(u64),
) -> Result<()> {
    let mut at = u64::from(plan.start()) * SECTOR as u64;
    let mut scratch = vec![0u8; COPY_RANGE_MIN as usize + 1];
    let mut dirs = OpenDirs::default();
    for r in plan.regions() {
        check_interrupted(ctx.cancel)?;
        let start = u64::from(r.lba) * SECTOR as u64;
        let size = r.sectors * SECTOR as u64;
        if start != at {
            bail!("plan is not contiguous at {} (LBA {})", r.what, r.lba);
        }
        let wrote = match &r.content {
            Content::Zeros => {
                write_zeros(out, size)?;
                size
            }
            Content::Bytes(b) => {
                if b.len() as u64 > size {
                    bail!("{}: {} bytes do not fit in {} sectors", r.what, b.len(), r.sectors);
                }
                out.write_all(b)?;
                write_zeros(out, size - b.len() as u64)?;
                size
            }
            Content::Producer(p) => {
                let mut c = Counting { inner: out, count: 0 };
                p(ctx, &mut c).with_context(|| format!("writing {}", r.what))?;
                c.count
            }
            Content::Data(id) => copy_padded(data, &mut dirs, *id, r.lba, out, &mut scratch, progress, ctx.cancel)?,
            Content::DataRun(ids) => {
                let mut n = 0;
                for &id in ids {
                    n += copy_padded(data, &mut dirs, DataId(id), r.lba, out, &mut scratch, progress, ctx.cancel)?;
                }
                n
            }
        };
        if wrote != size {
            bail!("{} (LBA {}) wrote {} bytes, planned {}", r.what, r.lba, wrote, size);
        }
        if !matches!(r.content, Content::Data(_) | Content::DataRun(_)) {
            progress(size);
        }
        at += size;
    }
    out.flush()?;
    Ok(())
}

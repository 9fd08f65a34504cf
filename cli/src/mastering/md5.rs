//! MD5 tags and the checksum array of libisofs (`xorriso -md5 on`, `-as mkisofs --md5`), computed as the image
//! is written.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use odix_iso9660::write::{DataId, FileData, SECTOR};

use super::image::ImageExtras;
use super::output::ImageSink;
use super::plan::{Content, EmitCtx, Plan};

/// Names of the MD5 regions in the plan.
const SB_TAG: &str = "MD5 superblock tag";
const TREE_TAG: &str = "MD5 directory tree tag";
const SESSION_TAG: &str = "MD5 session tag";
const ARRAY: &str = "MD5 checksum array";

/// libisofs's MD5 checksums (`xorriso -md5 on`, `-as mkisofs --md5`; libisofs's doc/checksums.txt).
///
/// The tags: one 2048-byte block each, a line of text and zeros. The superblock tag follows the volume descriptor
/// set terminator, the tree tag the directory records (before the first file's data), the session tag the last
/// file's data and the checksum array (before the padding); each holds the MD5 of every block from the session
/// start (LBA 0) up to itself, the first two the block of the next tag.
///
/// With Rock Ridge, the checksum array too: 16-byte entries, the MD5 of the session up to the array, then one
/// per file of [`IsoLayout::checksum_files`], then the MD5 of the entries before it; the root's `isofs.ca`
/// attribute says where it lies, each file's `isofs.cx` which entry is its own (`xorriso -check_md5` reads them).
///
/// Every MD5 is that of the bytes as they are written ([`Md5Sink`]): a file's covers its extent, whatever
/// produced the bytes (a patched boot image, the boot catalog).
#[derive(Default)]
pub(crate) struct Md5Tags {
    /// The MD5 of everything written so far.
    md5: Rc<RefCell<Md5>>,
    /// LBAs of the superblock, tree and session tags, known once the plan is made.
    pos: Rc<Cell<[u32; 3]>>,
    /// With the checksum array: its data id, and each file's MD5 by array index less one, set once its bytes went
    /// by.
    array: Option<(DataId, FileSums)>,
    /// The files' stored data, by array index less one.
    files: Vec<FileData>,
}

impl Md5Tags {
    /// Tags, and the checksum array at data id `array` for the files `files` when there are any to list.
    pub(crate) fn new(array: Option<DataId>, files: &[FileData]) -> Md5Tags {
        let array = array.map(|id| (id, Rc::new(RefCell::new(vec![None; files.len()]))));
        Md5Tags { array, files: files.to_vec(), ..Md5Tags::default() }
    }

    fn producer<'a>(&self, kind: &'static str, which: usize) -> Content<'a> {
        let md5 = Rc::clone(&self.md5);
        let pos = Rc::clone(&self.pos);
        Content::Producer(Box::new(move |_ctx: &EmitCtx<'_>, out: &mut dyn Write| {
            let p = pos.get();
            let next = p.get(which + 1).copied();
            let sum: [u8; 16] = md5.borrow().clone().finalize().into();
            out.write_all(&tag_block(kind, p[which], next, &sum))?;
            Ok(())
        }))
    }

    pub(crate) fn add_superblock_tag<'a>(&self, x: &mut ImageExtras<'a>) {
        x.after_terminator.push((SB_TAG.into(), self.producer("libisofs_sb_checksum_tag_v1", 0)));
    }

    /// The tree tag before the file data; the checksum array and the session tag after it.
    pub(crate) fn add_tree_and_session_tags<'a>(&self, x: &mut ImageExtras<'a>) {
        x.before_data.push((TREE_TAG.into(), 1, self.producer("libisofs_tree_checksum_tag_v1", 1)));
        if let Some((_, sums)) = &self.array {
            let md5 = Rc::clone(&self.md5);
            let sums = Rc::clone(sums);
            let bytes = (self.files.len() + 2) * 16;
            x.appended.push((
                ARRAY.into(),
                bytes.div_ceil(SECTOR) as u64,
                Content::Producer(Box::new(move |_ctx: &EmitCtx<'_>, out: &mut dyn Write| {
                    let mut entries: Vec<u8> = md5.borrow().clone().finalize().to_vec();
                    for (i, sum) in sums.borrow().iter().enumerate() {
                        let sum = sum.with_context(|| format!("file {} of the checksum array not written", i + 1))?;
                        entries.extend_from_slice(&sum);
                    }
                    let all = Md5::digest(&entries);
                    entries.extend_from_slice(&all);
                    entries.resize(bytes.div_ceil(SECTOR) * SECTOR, 0);
                    out.write_all(&entries)?;
                    Ok(())
                })),
            ));
        }
        x.appended.push((SESSION_TAG.into(), 1, self.producer("libisofs_checksum_tag_v1", 2)));
    }

    /// Reads the tags' LBAs from the plan; puts the checksum array's LBA into `data_lba`.
    pub(crate) fn place(&self, plan: &Plan<'_>, data_lba: &mut Vec<u32>) -> Result<()> {
        let find = |name: &str| {
            plan.regions().iter().find(|r| r.what == name).map(|r| r.lba).with_context(|| format!("{name} not planned"))
        };
        self.pos.set([find(SB_TAG)?, find(TREE_TAG)?, find(SESSION_TAG)?]);
        if let Some((id, _)) = &self.array {
            let i = id.0 as usize;
            if data_lba.len() <= i {
                data_lba.resize(i + 1, 0);
            }
            data_lba[i] = find(ARRAY)?;
        }
        Ok(())
    }

    /// The writer that computes every MD5 as `inner` is written.
    pub(crate) fn sink<W: Write>(&self, inner: W, ctx: &EmitCtx<'_>) -> Result<Md5Sink<W>> {
        let mut ranges: Vec<FileRange> = Vec::new();
        if let Some((_, sums)) = &self.array {
            let mut sums = sums.borrow_mut();
            for (i, f) in self.files.iter().enumerate() {
                if f.stored_size == 0 {
                    sums[i] = Some(Md5::digest(b"").into());
                    continue;
                }
                let start = u64::from(ctx.extent_of(f.data)) * SECTOR as u64;
                ranges.push(FileRange { start, end: start + f.stored_size, index: vec![i] });
            }
            ranges.sort_by_key(|r| (r.start, r.end));
            ranges.dedup_by(|b, a| {
                let same = (a.start, a.end) == (b.start, b.end);
                if same {
                    a.index.append(&mut b.index);
                }
                same
            });
            if let Some(w) = ranges.windows(2).find(|w| w[1].start < w[0].end) {
                bail!("two files of the checksum array overlap at byte {}", w[1].start);
            }
        }
        let sums = self.array.as_ref().map(|(_, s)| Rc::clone(s)).unwrap_or_default();
        Ok(Md5Sink { inner, md5: Rc::clone(&self.md5), pos: 0, ranges, next: 0, file: None, sums })
    }
}

/// Each file's MD5 by array index less one, `None` until its bytes are written.
type FileSums = Rc<RefCell<Vec<Option<[u8; 16]>>>>;

/// One file's extent in the output, in bytes, and the array indexes (less one) of the files stored there.
struct FileRange {
    start: u64,
    end: u64,
    index: Vec<usize>,
}

/// One tag block: `KIND pos=P range_start=0 range_size=P [next=N] md5=HEX self=HEX\n`, zero-padded; `self` is the
/// MD5 of the text up to the last digit of `md5`.
fn tag_block(kind: &str, pos: u32, next: Option<u32>, md5: &[u8; 16]) -> Vec<u8> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut s = format!("{kind} pos={pos} range_start=0 range_size={pos}");
    if let Some(n) = next {
        s.push_str(&format!(" next={n}"));
    }
    s.push_str(&format!(" md5={}", hex(md5)));
    let own = Md5::digest(s.as_bytes());
    s.push_str(&format!(" self={}\n", hex(&own)));
    let mut b = s.into_bytes();
    b.resize(SECTOR, 0);
    b
}

/// A writer that adds every byte passing through it to the session's MD5 and those of a file's extent to the
/// file's MD5 (file data too is read and hashed rather than copied in the kernel, only with `--md5`).
pub(crate) struct Md5Sink<W: Write> {
    pub(crate) inner: W,
    md5: Rc<RefCell<Md5>>,
    /// Bytes written so far.
    pos: u64,
    /// The files' extents in order, and the next one not yet complete.
    ranges: Vec<FileRange>,
    next: usize,
    /// The MD5 of the part of `ranges[next]` written so far.
    file: Option<Md5>,
    sums: FileSums,
}

impl<W: Write> Md5Sink<W> {
    /// Adds `buf`, written at `self.pos`, to the MD5s of the files it overlaps.
    fn hash_files(&mut self, buf: &[u8]) {
        let end = self.pos + buf.len() as u64;
        while let Some(r) = self.ranges.get(self.next) {
            if r.start >= end {
                break;
            }
            let (from, to) = (r.start.max(self.pos), r.end.min(end));
            if let Some(part) = buf.get((from - self.pos) as usize..(to - self.pos) as usize) {
                self.file.get_or_insert_with(Md5::new).update(part);
            }
            if r.end > end {
                break;
            }
            let sum: [u8; 16] = self.file.take().unwrap_or_default().finalize().into();
            let mut sums = self.sums.borrow_mut();
            for &i in &r.index {
                if let Some(s) = sums.get_mut(i) {
                    *s = Some(sum);
                }
            }
            self.next += 1;
        }
    }
}

impl<W: Write> Write for Md5Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = &buf[..n];
        self.md5.borrow_mut().update(done);
        if self.next < self.ranges.len() {
            self.hash_files(done);
        }
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> ImageSink for Md5Sink<W> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_tag_text() {
        let b = tag_block("libisofs_sb_checksum_tag_v1", 18, Some(26), &[0xab; 16]);
        assert_eq!(b.len(), 2048);
        let line = std::str::from_utf8(&b[..b.iter().position(|&c| c == b'\n').unwrap()]).unwrap();
        let head =
            format!("libisofs_sb_checksum_tag_v1 pos=18 range_start=0 range_size=18 next=26 md5={}", "ab".repeat(16));
        assert!(line.starts_with(&head), "{line}");
        let own: String = Md5::digest(head.as_bytes()).iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(&line[head.len()..], format!(" self={own}"));
        assert!(b[line.len() + 1..].iter().all(|&c| c == 0));
        let s = tag_block("libisofs_checksum_tag_v1", 99, None, &[0; 16]);
        assert!(!String::from_utf8_lossy(&s).contains("next="));
    }

    /// Each file's MD5 covers exactly its extent's bytes, whatever the sizes of the writes that carry them; files
    /// stored at one extent share it; an empty file has the MD5 of nothing.
    #[test]
    fn file_md5s_follow_the_extents() {
        let fd = |data: u32, stored_size: u64| FileData { data: DataId(data), stored_size, zisofs_size: None };
        // Item 0 at LBA 1 (3000 bytes), item 1 at LBA 3 (5 bytes), item 2 an alias of item 0, item 3 empty.
        let tags = Md5Tags::new(Some(DataId(9)), &[fd(0, 3000), fd(1, 5), fd(2, 3000), fd(3, 0)]);
        let (data_lba, alias) = (vec![1, 3, 0, 0], vec![0, 1, 0, 3]);
        let ctx = EmitCtx { total_sectors: 4, data_lba: &data_lba, alias: &alias, cancel: None };
        let image: Vec<u8> = (0..4 * SECTOR).map(|i| (i * 7 % 251) as u8).collect();
        let mut sink = tags.sink(Vec::new(), &ctx).unwrap();
        for chunk in image.chunks(777) {
            sink.write_all(chunk).unwrap();
        }
        assert_eq!(sink.inner, image);
        let sums = tags.array.as_ref().unwrap().1.borrow().clone();
        let md5 = |b: &[u8]| -> Option<[u8; 16]> { Some(Md5::digest(b).into()) };
        let first = md5(&image[SECTOR..SECTOR + 3000]);
        assert_eq!(sums, vec![first, md5(&image[3 * SECTOR..3 * SECTOR + 5]), first, md5(b"")]);
        let whole: [u8; 16] = tags.md5.borrow().clone().finalize().into();
        assert_eq!(Some(whole), md5(&image));
    }
}

//! How an image is written: the sink its bytes go into in order, and the kernel copies of file data. The output
//! file itself is a [`crate::output::AtomicFile`].

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

/// Where an image is written in order: buffered bytes for metadata and small files, and whole runs of a source
/// file copied in the kernel.
pub trait ImageSink: Write {
    /// Appends up to `len` bytes of `src` from its current position; returns how many were copied (fewer only at
    /// the end of the source).
    fn copy_from(&mut self, src: &File, len: u64) -> io::Result<u64> {
        io::copy(&mut src.take(len), self)
    }
}

impl ImageSink for Vec<u8> {}

impl ImageSink for BufWriter<&File> {
    fn copy_from(&mut self, src: &File, len: u64) -> io::Result<u64> {
        self.flush()?;
        kernel_copy(self.get_ref(), src, len)
    }
}

impl ImageSink for BufWriter<File> {
    fn copy_from(&mut self, src: &File, len: u64) -> io::Result<u64> {
        self.flush()?;
        kernel_copy(self.get_ref(), src, len)
    }
}

/// The output boundary large copies are brought to (see [`kernel_copy`]).
const ALIGN: u64 = 64 << 10;

/// Copies up to `len` bytes from `src`'s position to `out`'s position, both advancing, without passing the
/// bytes through user memory when both are regular files. On ext4 with large folios (Linux 6.x) a copy to an output
/// offset that is not 64 KiB-aligned costs about 40 % more system time than one to an aligned offset (the same
/// 2 GiB: 0.85 s against 0.60 s). ISO extents are only sector-aligned, so the first piece of a file is cut to end
/// on such a boundary. Splicing through an own 1 MiB pipe instead was no faster and much less steady.
fn kernel_copy(out: &File, src: &File, len: u64) -> io::Result<u64> {
    let regular =
        |f: &File| rustix::fs::fstat(f).is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_file());
    if len == 0 || !regular(out) || !regular(src) {
        return io::copy(&mut src.take(len), &mut &*out);
    }
    // Read-ahead as for any sequential reader, in larger windows (what `cat` asks for too).
    let _ = rustix::fs::fadvise(src, 0, None, rustix::fs::Advice::Sequential);
    // The kernel copies through a 64 KiB pipe, so once the output sits on a 64 KiB boundary every later piece
    // fills whole large folios: a first short copy up to the boundary (the position is read, never moved).
    let head = rustix::fs::seek(out, rustix::fs::SeekFrom::Current(0)).map_or(0, |pos| (ALIGN - pos % ALIGN) % ALIGN);
    let mut done = 0u64;
    while done < len {
        let rest = if done == 0 && head > 0 { head.min(len) } else { len - done };
        let want = usize::try_from(rest).unwrap_or(usize::MAX).min(1 << 30);
        match rustix::fs::copy_file_range(src, None, out, None, want) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(rustix::io::Errno::INTR) => {}
            // Not supported between these two files (another file system, an output opened for appending):
            // copy through `std::io::copy`, which finds the best way left.
            Err(e)
                if done == 0
                    && matches!(
                        e,
                        rustix::io::Errno::XDEV
                            | rustix::io::Errno::INVAL
                            | rustix::io::Errno::NOSYS
                            | rustix::io::Errno::OPNOTSUPP
                            | rustix::io::Errno::BADF
                            | rustix::io::Errno::PERM
                    ) =>
            {
                return io::copy(&mut src.take(len), &mut &*out);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

impl<W: ImageSink + ?Sized> ImageSink for &mut W {
    fn copy_from(&mut self, src: &File, len: u64) -> io::Result<u64> {
        (**self).copy_from(src, len)
    }
}

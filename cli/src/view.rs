//! The one small interface every readable file-system view implements (ISO 9660 plain, Joliet, Rock Ridge,
//! UDF), so that `info`, `ls`, `cat`, `extract` and `mount` are written once.
//!
//! A view never holds the whole tree: a directory is read when it is listed. Each [`Node`] carries an opaque
//! [`Handle`] that only the view that made it understands (it downcasts it back to its own type).

use std::any::Any;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// What kind of object a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (its target is in [`Node::target`]).
    Symlink,
    /// Anything else: device nodes, FIFOs, sockets.
    Other,
}

impl Kind {
    /// The word used by `ls --json` for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Other => "other",
        }
    }
}

/// One contiguous run of an entry's data on the image, in the image's own sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Extent {
    /// First logical block (2048-byte sector of the image, or for UDF the physical block of the volume).
    pub lba: u64,
    /// Length in bytes.
    pub length: u64,
}

/// An opaque, cheaply cloned reference a view keeps inside each node it hands out.
pub type Handle = Arc<dyn Any + Send + Sync>;

/// One entry of a view, with everything the commands print or restore.
#[derive(Clone)]
pub struct Node {
    /// The entry's name in this view (empty for the root): the recorded bytes where the view records bytes (Rock
    /// Ridge), UTF-8 where it records characters (Joliet, UDF, plain ISO 9660 decoded with its character set).
    /// Shown to people through [`display_name`], exact in `ls --json` through [`hex`].
    pub name: OsString,
    /// File, directory, symlink or other.
    pub kind: Kind,
    /// Size in bytes (of the file's data; 0 for directories unless the view knows better).
    pub size: u64,
    /// Modification time, UTC, when the view records one.
    pub mtime: Option<DateTime<Utc>>,
    /// Access time, when the view records one.
    pub atime: Option<DateTime<Utc>>,
    /// Full POSIX `st_mode` (type and permission bits) when the view records one (Rock Ridge, UDF).
    pub mode: Option<u32>,
    /// Owner user id, when recorded.
    pub uid: Option<u32>,
    /// Owner group id, when recorded.
    pub gid: Option<u32>,
    /// Link count, when recorded.
    pub nlink: Option<u32>,
    /// Symlink target, for [`Kind::Symlink`]: bytes, like [`Node::name`].
    pub target: Option<OsString>,
    /// Device number (major, minor) for device nodes, when recorded.
    pub rdev: Option<(u32, u32)>,
    /// Where the data lies on the image.
    pub extents: Vec<Extent>,
    /// Identity shared by hard links of one file (inode number, or the data's location); `None` when the view
    /// cannot tell links apart.
    pub link_id: Option<u64>,
    /// The view's own reference to the entry.
    pub handle: Handle,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("size", &self.size)
            .field("mtime", &self.mtime)
            .field("mode", &self.mode)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The error inside the `io::Error` (kind `UnexpectedEof`) that a file's reader returns after yielding every byte the
/// image still holds, when the file's recorded data runs past the end of the image (a truncated image, or an extent
/// recorded beyond it). Commands look for it to keep what was there and report the rest as missing (exit 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PastEnd {
    /// Bytes of the file's data that lie past the end of the image.
    pub missing: u64,
}

impl std::fmt::Display for PastEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "its data runs past the end of the image ({} bytes missing)", self.missing)
    }
}

impl std::error::Error for PastEnd {}

impl PastEnd {
    /// The `io::Error` a reader returns for it.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::UnexpectedEof, self)
    }

    /// The `PastEnd` inside an error chain, if there is one.
    pub fn find(e: &anyhow::Error) -> Option<PastEnd> {
        e.chain().find_map(|c| {
            c.downcast_ref::<PastEnd>().copied().or_else(|| {
                c.downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .and_then(|i| i.downcast_ref::<PastEnd>())
                    .copied()
            })
        })
    }
}

/// A name or path as shown to people (`ls`, messages): valid UTF-8 is printed as it is, except that a backslash
/// is printed `\\` and each byte of a control character (U+0000–U+001F, U+007F–U+009F) `\xHH`; every byte that
/// is not part of valid UTF-8 is printed `\xHH` (two lowercase hexadecimal digits). The form is unambiguous: it
/// can be turned back into the exact bytes.
pub fn display_name(name: &OsStr) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A name or path as JSON carries it exactly: every byte as two lowercase hexadecimal digits (`ls --json`'s
/// `path_hex` and `target_hex`, given when the bytes are not valid UTF-8).
pub fn hex(name: &OsStr) -> String {
    name.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A warning about a damaged entry that was skipped while the rest was still read.
#[derive(Clone, Debug)]
pub struct Warning(pub String);

/// A readable tree: the contract between the format crates' adapters and the commands.
pub trait Tree: Send {
    /// The short name of the view, as `--view` spells it: `iso9660`, `joliet`, `rockridge` or `udf`.
    fn view_name(&self) -> &'static str;

    /// The root directory.
    fn root(&mut self) -> anyhow::Result<Node>;

    /// The entries of directory `dir`, without `.` and `..`, in the order the image stores them. An entry that
    /// is damaged but whose neighbours can still be read is left out and reported through [`Tree::take_warnings`];
    /// an error means the directory as a whole could not be read.
    fn read_dir(&mut self, dir: &Node) -> anyhow::Result<Vec<Node>>;

    /// A reader of the file's contents (decompressed where the view stores them compressed). It yields exactly
    /// `file.size` bytes or fails.
    fn open<'a>(&'a mut self, file: &Node) -> anyhow::Result<Box<dyn Read + 'a>>;

    /// Reads up to `buf.len()` bytes of the file's contents starting at byte `offset`, returning how many were
    /// read (0 at the end). Used for random access (`odix mount`). The default opens the file and skips to
    /// `offset`; views whose data maps directly onto extents answer without reading what lies before.
    fn read_at(&mut self, file: &Node, offset: u64, buf: &mut [u8]) -> anyhow::Result<usize> {
        if offset >= file.size {
            return Ok(0);
        }
        let mut r = self.open(file)?;
        let skipped = std::io::copy(&mut (&mut r).take(offset), &mut std::io::sink())?;
        if skipped < offset {
            return Ok(0);
        }
        let mut n = 0;
        while n < buf.len() {
            let k = r.read(&mut buf[n..])?;
            if k == 0 {
                break;
            }
            n += k;
        }
        Ok(n)
    }

    /// When the file's contents are exactly some byte ranges of the image file as named on the command line (no
    /// decompression, no zeros standing for unrecorded extents, no sector translation of a raw image), those
    /// ranges in order, as `(byte offset, length)`; `extract` then has the kernel copy them. `None` otherwise,
    /// and the contents are read through [`Tree::open`].
    fn plain_ranges(&mut self, _file: &Node) -> Option<Vec<(u64, u64)>> {
        None
    }

    /// The named streams of `node` (UDF 2.00+ Extended File Entries with a stream directory), each as a file node
    /// named by the stream's name; none in views that have no streams.
    fn streams(&mut self, _node: &Node) -> anyhow::Result<Vec<Node>> {
        Ok(Vec::new())
    }

    /// Warnings gathered since the last call (damaged entries skipped, lenient fixes).
    fn take_warnings(&mut self) -> Vec<Warning>;
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    use super::{display_name, hex};

    #[test]
    fn names_are_escaped_for_display_and_exact_in_hex() {
        let show = |b: &[u8]| display_name(OsStr::from_bytes(b));
        assert_eq!(show(b"plain name.txt"), "plain name.txt");
        assert_eq!(show("Grüße 日本".as_bytes()), "Grüße 日本");
        assert_eq!(show(b"bad\xff\xfe.txt"), "bad\\xff\\xfe.txt");
        assert_eq!(show(b"a\\b"), "a\\\\b");
        assert_eq!(show(b"line\nbreak\ttab\x7f"), "line\\x0abreak\\x09tab\\x7f");
        // U+0085 (a C1 control) is two bytes in UTF-8, each escaped.
        assert_eq!(show("x\u{85}".as_bytes()), "x\\xc2\\x85");
        // A truncated UTF-8 sequence is invalid bytes.
        assert_eq!(show(b"\xe6\x97"), "\\xe6\\x97");
        assert_eq!(hex(OsStr::from_bytes(b"/a\xff")), "2f61ff");
    }
}

//! The one small interface every readable file-system view implements (ISO 9660 plain, Joliet, Rock Ridge,
//! UDF), so that `info`, `ls`, `cat`, `extract` and `mount` are written once.
//!
//! A view never holds the whole tree: a directory is read when it is listed. Each [`Node`] carries an opaque
//! [`Handle`] that only the view that made it understands (it downcasts it back to its own type).

use std::any::Any;
use std::io::Read;
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
    /// The entry's name in this view, already decoded (empty for the root).
    pub name: String,
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
    /// Symlink target, for [`Kind::Symlink`].
    pub target: Option<String>,
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
#[allow(dead_code)] // until the readers report it
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

#[allow(dead_code)]
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

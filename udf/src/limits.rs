//! Caps on what reading one image may cost, whatever the image claims.

/// Limits on the work and memory one [`Volume`](crate::Volume) may spend. Every value read from an image is
/// untrusted: these bound loops (indirect entries, continuation extents, descriptor pointers) and allocations
/// (directories, tables, symbolic links) so that a hostile image ends in [`Error::Limit`](crate::Error::Limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_dir_entries: u64,
    pub(crate) max_continuations: u32,
    pub(crate) max_indirect: u32,
    pub(crate) max_alloc: u64,
    pub(crate) max_descriptors: u32,
}

/// Default most entries in one directory: far more than any disc holds in one folder.
pub const DEFAULT_MAX_DIR_ENTRIES: u64 = 1 << 20;
/// Default most allocation extent descriptors followed for one entry: each holds ~100 extents of up to 1 GiB.
pub const DEFAULT_MAX_CONTINUATIONS: u32 = 1024;
/// Default most indirect entries followed for one ICB (strategy 4096 chains grow by one per rewrite).
pub const DEFAULT_MAX_INDIRECT: u32 = 1024;
/// Default largest metadata structure read into memory (a directory, a VAT, a table), in bytes.
pub const DEFAULT_MAX_ALLOC: u64 = 64 << 20;
/// Default most descriptors read from one descriptor sequence (volume, integrity or file set).
pub const DEFAULT_MAX_DESCRIPTORS: u32 = 4096;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dir_entries: DEFAULT_MAX_DIR_ENTRIES,
            max_continuations: DEFAULT_MAX_CONTINUATIONS,
            max_indirect: DEFAULT_MAX_INDIRECT,
            max_alloc: DEFAULT_MAX_ALLOC,
            max_descriptors: DEFAULT_MAX_DESCRIPTORS,
        }
    }
}

impl Limits {
    /// Most entries read from one directory.
    #[must_use]
    pub fn max_dir_entries(mut self, n: u64) -> Self {
        self.max_dir_entries = n;
        self
    }

    /// Most continuation extents (Allocation Extent Descriptors) followed for one entry.
    #[must_use]
    pub fn max_continuations(mut self, n: u32) -> Self {
        self.max_continuations = n;
        self
    }

    /// Most indirect entries followed to find one file entry.
    #[must_use]
    pub fn max_indirect(mut self, n: u32) -> Self {
        self.max_indirect = n;
        self
    }

    /// Largest metadata structure read into memory, in bytes.
    #[must_use]
    pub fn max_alloc(mut self, bytes: u64) -> Self {
        self.max_alloc = bytes;
        self
    }

    /// Most descriptors read from one descriptor sequence.
    #[must_use]
    pub fn max_descriptors(mut self, n: u32) -> Self {
        self.max_descriptors = n;
        self
    }
}

/// How to open a volume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub(crate) strict: bool,
    pub(crate) limits: Limits,
    pub(crate) session_start: u64,
    pub(crate) block_size: Option<u32>,
}

impl Options {
    /// Stop at the first inconsistency (bad CRC, wrong tag location, damaged entry) instead of warning and
    /// going on where the data is still usable.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Resource limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The 2048-byte sector where the session to read starts (the first anchor is 256 sectors after it).
    #[must_use]
    pub fn session_start(mut self, sector: u64) -> Self {
        self.session_start = sector;
        self
    }

    /// Use this block size instead of detecting it (2048, 512, 4096, or another power of two from 512).
    #[must_use]
    pub fn block_size(mut self, bytes: u32) -> Self {
        self.block_size = Some(bytes);
        self
    }
}

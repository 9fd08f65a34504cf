//! Arguments shared by several commands.

use std::path::PathBuf;

use anyhow::Result;

use odix::formats::Limits;
use odix::{Image, Options, View};

/// Which tree of an image to read, as `--view` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ViewChoice {
    /// UDF if present, else Rock Ridge, else Joliet, else plain ISO 9660.
    Auto,
    /// Plain ISO 9660 names (versions and trailing dots stripped).
    Iso9660,
    /// The Joliet tree.
    Joliet,
    /// The ISO 9660 tree with Rock Ridge names and attributes.
    Rockridge,
    /// The UDF tree.
    Udf,
    /// The ISO 9660:1999 tree of the enhanced volume descriptor (long names in any case, no versions).
    #[value(name = "iso9660-1999")]
    Iso9660_1999,
}

impl From<ViewChoice> for View {
    fn from(v: ViewChoice) -> View {
        match v {
            ViewChoice::Auto => View::Auto,
            ViewChoice::Iso9660 => View::Iso9660,
            ViewChoice::Joliet => View::Joliet,
            ViewChoice::Rockridge => View::RockRidge,
            ViewChoice::Udf => View::Udf,
            ViewChoice::Iso9660_1999 => View::Iso9660_1999,
        }
    }
}

/// Options every reading command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct ImageArgs {
    /// The image: an ISO 9660 or UDF image file or block device, a `.cue` sheet or a CloneCD `.ccd`.
    pub image: PathBuf,
    /// Which tree to read (default: UDF if present, else Rock Ridge, else Joliet, else plain ISO 9660).
    #[arg(long, value_enum, default_value = "auto")]
    pub view: ViewChoice,
    /// Character set of plain ISO 9660 names on discs written with a legacy 8-bit charset (any WHATWG label,
    /// for example `cp437`, `windows-1252`, `koi8-r`, `shift_jis`).
    #[arg(long, value_name = "LABEL")]
    pub charset: Option<String>,
    /// Stop at the first inconsistency (both-endian mismatch, bad checksum) instead of warning and going on.
    #[arg(long)]
    pub strict: bool,
    /// Read the file system of session N: of a raw image (.cue/.ccd) from its sheet (default: the last session),
    /// of a grown image file from its volume descriptor sets (default: the descriptors at LBA 16); `info` lists
    /// them.
    #[arg(long, value_name = "N")]
    pub session: Option<u32>,
    /// For images of a whole multi-session disc: read the session that starts at this LBA.
    #[arg(long, value_name = "LBA")]
    pub offset: Option<u64>,
    /// Deepest directory nesting followed.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: u32,
    /// Most entries read in one command.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_total_entries)]
    pub max_entries: u64,
    /// Most entries read from one directory.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_dir_entries)]
    pub max_dir_entries: u64,
    /// Most continuation hops (SUSP CE, UDF continuation extents, indirect entries) for one entry.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_continuations)]
    pub max_continuations: u32,
    /// Largest metadata structure read into memory, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_alloc)]
    pub max_alloc: u64,
}

impl ImageArgs {
    /// The library's options these arguments describe.
    pub fn options(&self) -> Options {
        Options {
            charset: self.charset.clone(),
            strict: self.strict,
            session: self.session,
            offset: self.offset,
            limits: Limits {
                max_depth: self.max_depth,
                max_dir_entries: self.max_dir_entries,
                max_total_entries: self.max_entries,
                max_continuations: self.max_continuations,
                max_alloc: self.max_alloc,
            },
        }
    }

    /// The view asked for.
    pub fn view(&self) -> View {
        self.view.into()
    }

    /// The image these arguments name, opened.
    pub fn open(&self) -> Result<Image> {
        Image::open(&self.image, &self.options())
    }
}

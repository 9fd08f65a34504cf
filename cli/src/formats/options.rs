//! What every format adapter shares: how to read (options, limits, the view chosen) and what `info` reports.

/// Caps on what a reader may do for one command, whatever the image claims.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest directory nesting followed.
    pub max_depth: u32,
    /// Most entries read from one directory.
    pub max_dir_entries: u64,
    /// Most entries read in one command, all directories together.
    pub max_total_entries: u64,
    /// Most continuation hops (SUSP CE areas, UDF allocation-descriptor continuations, indirect entries)
    /// followed for one entry.
    pub max_continuations: u32,
    /// Largest single metadata allocation (a directory extent, a continuation area, a table), in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 1024,
            max_dir_entries: 1 << 20,
            max_total_entries: 1 << 24,
            max_continuations: 1024,
            max_alloc: 64 << 20,
        }
    }
}

/// Which tree of an image to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum View {
    /// UDF if present, else Rock Ridge, else Joliet, else plain ISO 9660.
    #[default]
    Auto,
    /// Plain ISO 9660 names (versions and trailing dots stripped).
    Iso9660,
    /// The Joliet tree.
    Joliet,
    /// The ISO 9660 tree with Rock Ridge names and attributes.
    RockRidge,
    /// The UDF tree.
    Udf,
    /// The ISO 9660:1999 tree of the enhanced volume descriptor (long names in any case, no versions).
    Iso9660_1999,
}

impl View {
    /// The name `--view` gives it (`auto`, `iso9660`, `joliet`, `rockridge`, `udf`, `iso9660-1999`), which is
    /// also what [`crate::view::Tree::view_name`] returns for the view read.
    pub fn name(self) -> &'static str {
        match self {
            View::Auto => "auto",
            View::Iso9660 => "iso9660",
            View::Joliet => "joliet",
            View::RockRidge => "rockridge",
            View::Udf => "udf",
            View::Iso9660_1999 => "iso9660-1999",
        }
    }
}

/// How to read: options shared by every format.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Character set of plain ISO 9660 names, for discs written with a legacy 8-bit charset.
    pub charset: Option<&'static encoding_rs::Encoding>,
    /// Stop at the first inconsistency instead of warning and going on.
    pub strict: bool,
    /// Resource caps.
    pub limits: Limits,
    /// LBA where the session to read starts (volume descriptors at +16).
    pub session_start: u64,
}

/// One part of `odix info`'s report.
#[derive(Clone, Debug)]
pub struct InfoSection {
    /// Key of this section in `info --json` (`iso9660`, `el_torito`, `system_area`, `udf`, `tracks`, ...).
    pub key: &'static str,
    /// The machine-readable form.
    pub json: serde_json::Value,
    /// The human-readable form: lines of `Label: value`, already formatted.
    pub text: String,
}

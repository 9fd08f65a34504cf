//! What a build records differently from its sources: warnings as values, which the caller shows.

use std::fmt;

/// What a build records differently from its sources, said once per kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildWarning {
    /// The ISO 9660 or Joliet tree records something differently from the source (names cut, dates outside
    /// 1900–2155...), with a count and an example path.
    Loss(String),
    /// UDF names that are not UTF-8, recorded with U+FFFD in their place.
    UdfNotUtf8 {
        /// How many.
        count: u64,
        /// The first one's path.
        example: String,
    },
    /// UDF names over 255 bytes of CS0, cut and numbered.
    UdfNameTooLong {
        /// How many.
        count: u64,
        /// The first one's path.
        example: String,
    },
    /// Device nodes, FIFOs or sockets the UDF tree leaves out.
    UdfLeftOut(usize),
    /// [`Trees::allow_limited_size`](crate::Trees::allow_limited_size) raised the level to 3 for a file of this
    /// many bytes.
    LevelRaised(u64),
    /// MD5 tags without Rock Ridge: no checksum array.
    Md5WithoutRockRidge,
}

impl fmt::Display for BuildWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildWarning::Loss(l) => write!(f, "{l}"),
            BuildWarning::UdfNotUtf8 { count, example } => {
                write!(f, "{count} UDF name(s) not valid UTF-8, recorded with U+FFFD in their place, e.g. {example}")
            }
            BuildWarning::UdfNameTooLong { count, example } => {
                write!(f, "{count} UDF name(s) longer than 255 bytes of CS0, cut and numbered (~N), e.g. {example}")
            }
            BuildWarning::UdfLeftOut(n) => write!(f, "the UDF tree leaves out {n} device nodes, FIFOs or sockets"),
            BuildWarning::LevelRaised(size) => write!(
                f,
                "-allow-limited-size: a file of {size} bytes needs 4 GiB or more: the image is written at ISO level 3, \
                 where files that large are multi-extent files"
            ),
            BuildWarning::Md5WithoutRockRidge => write!(
                f,
                "--md5 without Rock Ridge (-R or -r): only the MD5 tags are written; the checksum array and the \
                 files' MD5s that xorriso -check_md5 reads need Rock Ridge"
            ),
        }
    }
}

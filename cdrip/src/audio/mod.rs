//! Checksums and identifiers of audio CDs: AccurateRip v1/v2 track CRCs, the AccurateRip, freedb/CDDB,
//! MusicBrainz and CUETools DB (CTDB) disc identifiers, CRC-32s of each track, and the offline matching of a rip
//! against a saved AccurateRip (`dBAR-….bin`) or CTDB (XML) response.
//!
//! Everything here is pure: no file or device is read. A ripper feeds each audio track to a
//! [`TrackChecksums`] as its sectors arrive, so nothing larger than a sector is ever held:
//!
//! ```
//! use odix_cdrip::audio::{Toc, TocTrack};
//!
//! // Two audio tracks of 1000 and 2000 sectors.
//! let toc = Toc::new(vec![TocTrack::audio(1, 0), TocTrack::audio(2, 1000)], 3000)?;
//! let mut sums = toc.track_checksums(2).expect("an audio track");
//! for _ in 0..2000 {
//!     sums.update(&[0u8; 2352]);
//! }
//! let sums = sums.finish()?;
//! println!("AccurateRip v1 {:08x} v2 {:08x}, disc {}", sums.accuraterip_v1, sums.accuraterip_v2,
//!     toc.accuraterip_id().expect("audio").to_string());
//! # Ok::<(), odix_cdrip::audio::Error>(())
//! ```
//!
//! # What a track is
//! Every per-track checksum here covers a track from its `INDEX 01` up to the next track's `INDEX 01` (the next
//! track's pregap is counted with the track before it, as EAC's and AccurateRip's "gaps appended" layout does),
//! and the last audio track up to the audio lead-out ([`Toc::audio_leadout`]). Samples are 16-bit stereo,
//! little-endian, 588 to a sector.

pub mod accuraterip;
pub mod checksum;
pub mod ctdb;
pub mod toc;

pub use checksum::{TrackChecksums, TrackSums};
pub use toc::{AccurateRipId, Toc, TocTrack};

/// Stereo samples in one 2352-byte audio sector.
pub const SAMPLES_PER_SECTOR: u32 = 588;
/// Bytes of one stereo sample (two 16-bit channels).
pub const SAMPLE_BYTES: usize = 4;
/// Bytes of one audio sector.
pub const SECTOR_BYTES: usize = 2352;
/// Sectors from the end of an enhanced CD's audio session to its data track's `INDEX 01`: the first session's
/// lead-out (6750), the second's lead-in (4500) and the data track's pregap (150).
pub const SESSION_GAP: u32 = 11_400;

/// What the audio checksums and response parsers can fail with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A table of contents that no disc can have.
    #[error("table of contents: {0}")]
    Toc(String),
    /// A track was fed more or fewer bytes than its length.
    #[error("track {track}: {got} bytes of audio fed, {expected} expected")]
    TrackLength {
        /// The track's number.
        track: u8,
        /// Bytes fed.
        got: u64,
        /// Bytes of its length.
        expected: u64,
    },
    /// An AccurateRip response that cannot be read.
    #[error("AccurateRip response: {0}")]
    AccurateRip(String),
    /// A CTDB response that cannot be read.
    #[error("CTDB response: {0}")]
    Ctdb(String),
}

/// Base64 of a SHA-1 as MusicBrainz and CTDB write their identifiers: `+`, `/` and `=` become `.`, `_` and `-`.
fn sha1_id(text: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(text);
    base64::engine::general_purpose::STANDARD
        .encode(digest)
        .chars()
        .map(|c| match c {
            '+' => '.',
            '/' => '_',
            '=' => '-',
            c => c,
        })
        .collect()
}

//! CD audio for the tests: deterministic samples, WAV files, CD times, and the independent tools that check
//! audio checksums and disc ids (whipper's `accuraterip-checksum`, Debian's python3-libdiscid).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::oracle::{in_ci, run_ok};

/// Deterministic pseudo-random bytes (xorshift), `seed` choosing the sequence.
pub fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 16) as u8
        })
        .collect()
}

/// The CD time `mm:ss:ff` of a sector count.
pub fn msf(sectors: usize) -> String {
    format!("{:02}:{:02}:{:02}", sectors / 4500, sectors / 75 % 60, sectors % 75)
}

/// A WAV file of CD audio holding `pcm`: the 44-byte RIFF header of 16-bit stereo 44.1 kHz PCM, then `pcm`.
pub fn wav(pcm: &[u8]) -> Vec<u8> {
    let len = u32::try_from(pcm.len()).expect("a WAV file under 4 GiB");
    let mut w = Vec::with_capacity(44 + pcm.len());
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&44_100u32.to_le_bytes());
    w.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    w.extend_from_slice(&4u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&len.to_le_bytes());
    w.extend_from_slice(pcm);
    w
}

/// Writes [`wav`] of `pcm` to `path`.
///
/// # Panics
/// When the file cannot be written.
pub fn write_wav(path: &Path, pcm: &[u8]) {
    std::fs::write(path, wav(pcm)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// `/usr/bin/python3` when it imports libdiscid (Debian's python3-libdiscid), else `None` (a failure in CI).
///
/// # Panics
/// In CI, when the module is missing.
pub fn libdiscid() -> Option<PathBuf> {
    let py = PathBuf::from("/usr/bin/python3");
    let ok = Command::new(&py).args(["-c", "import libdiscid"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(!in_ci(), "python3-libdiscid is missing in CI: ./setup.sh must install it");
    eprintln!("skipping: /usr/bin/python3 cannot import libdiscid (install the Debian package python3-libdiscid)");
    None
}

/// whipper's `accuraterip-checksum` (`tool`) of a WAV file as track `n` of `count`, AccurateRip `version` 1 or
/// 2, in lowercase hex.
///
/// # Panics
/// When the tool fails or prints anything but 8 hex digits.
pub fn accuraterip_checksum(tool: &Path, wav: &Path, n: usize, count: usize, version: u8) -> String {
    let o = run_ok(
        Command::new(tool).arg(format!("--accuraterip-v{version}")).arg(wav).arg(n.to_string()).arg(count.to_string()),
    );
    let s = String::from_utf8_lossy(&o.stdout).trim().to_ascii_lowercase();
    assert!(s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()), "accuraterip-checksum printed {s:?}");
    s
}

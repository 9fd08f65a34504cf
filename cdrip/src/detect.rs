//! Recognising an image file by what it holds, never by its extension alone: the signature at its start
//! (CHD, ECM, CSO/ZSO, Alcohol MDS), the footer at its end (Nero NRG, DiscJuggler CDI), or for the text
//! descriptions (CUE, CloneCD, GDI, cdrdao TOC) the words they are made of. The extension only breaks the tie
//! between text formats whose words are ambiguous.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// What kind of image file a path holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// A CUE sheet.
    Cue,
    /// A CloneCD control file (`.ccd`).
    CloneCd,
    /// A Nero image (NRG, v1 or v2 footer).
    Nrg,
    /// An Alcohol 120% descriptor (`.mds`, with its `.mdf`).
    Mds,
    /// A DiscJuggler image (CDI).
    Cdi,
    /// A Dreamcast GD-ROM description (`.gdi`).
    Gdi,
    /// A cdrdao table of contents (`.toc`).
    CdrdaoToc,
    /// A MAME compressed hunks of data file (CHD).
    Chd,
    /// An ECM file: sectors with their EDC/ECC stripped.
    Ecm,
    /// A compressed ISO (CISO v1/v2, deflate).
    Cso,
    /// A compressed ISO with LZ4 blocks (ZISO).
    Zso,
    /// A compressed ISO in zlib frames of 8 KiB (DAX).
    Dax,
    /// Anything else: an ISO or UDF image, raw sectors, a block device (the readers look inside).
    Plain,
}

impl ImageFormat {
    /// The name users know it by, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Cue => "a CUE sheet",
            ImageFormat::CloneCd => "a CloneCD image",
            ImageFormat::Nrg => "a Nero image (NRG)",
            ImageFormat::Mds => "an Alcohol 120% image (MDS/MDF)",
            ImageFormat::Cdi => "a DiscJuggler image (CDI)",
            ImageFormat::Gdi => "a GD-ROM image (GDI)",
            ImageFormat::CdrdaoToc => "a cdrdao TOC file",
            ImageFormat::Chd => "a MAME CHD image",
            ImageFormat::Ecm => "an ECM file",
            ImageFormat::Cso => "a compressed ISO (CSO)",
            ImageFormat::Zso => "a compressed ISO (ZSO)",
            ImageFormat::Dax => "a compressed ISO (DAX)",
            ImageFormat::Plain => "an image file",
        }
    }

    /// Whether it holds one other file's bytes (ECM, CSO, ZSO, DAX): read through [`crate::container::open`].
    pub fn is_container(self) -> bool {
        matches!(self, ImageFormat::Ecm | ImageFormat::Cso | ImageFormat::Zso | ImageFormat::Dax)
    }

    /// Whether it is a description of tracks kept in other files, or a container of raw sectors: read through
    /// [`crate::image::RawDisc`].
    pub fn is_raw_disc(self) -> bool {
        matches!(
            self,
            ImageFormat::Cue
                | ImageFormat::CloneCd
                | ImageFormat::Nrg
                | ImageFormat::Mds
                | ImageFormat::Cdi
                | ImageFormat::Gdi
                | ImageFormat::CdrdaoToc
                | ImageFormat::Chd
        )
    }
}

/// How much of a text file is looked at.
const TEXT_PROBE: usize = 16 * 1024;

/// What `path` holds. Only regular files are opened; anything else (a block device) is [`ImageFormat::Plain`].
///
/// # Errors
/// The error of opening or reading the file.
pub fn detect(path: &Path) -> io::Result<ImageFormat> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Ok(ImageFormat::Plain);
    }
    let mut f = File::open(path)?;
    let mut head = vec![0u8; TEXT_PROBE];
    let n = read_up_to(&mut f, &mut head)?;
    head.truncate(n);
    let mut tail = [0u8; 12];
    let len = meta.len();
    let tail = if len >= 12 {
        f.seek(SeekFrom::Start(len.saturating_sub(12)))?;
        f.read_exact(&mut tail)?;
        Some(tail)
    } else {
        None
    };
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    Ok(classify(&head, tail.as_ref(), ext.as_deref()))
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The format of a file from its first bytes (16 KiB are enough), its last 12 bytes and its extension.
pub fn classify(head: &[u8], tail: Option<&[u8; 12]>, ext: Option<&str>) -> ImageFormat {
    let starts = |sig: &[u8]| head.starts_with(sig);
    if starts(b"MComprHD") {
        return ImageFormat::Chd;
    }
    if starts(b"ECM\0") {
        return ImageFormat::Ecm;
    }
    if starts(b"CISO") {
        return ImageFormat::Cso;
    }
    if starts(b"ZISO") {
        return ImageFormat::Zso;
    }
    if starts(b"DAX\0") {
        return ImageFormat::Dax;
    }
    if starts(b"MEDIA DESCRIPTOR") {
        return ImageFormat::Mds;
    }
    if let Some(t) = tail {
        // Nero: "NER5" and a 64-bit offset in the last 12 bytes (v2), or "NERO" and a 32-bit one in the last 8.
        if t.get(0..4) == Some(b"NER5") || t.get(4..8) == Some(b"NERO") {
            return ImageFormat::Nrg;
        }
        // DiscJuggler: the version word (0x80000004..=0x80000006, little-endian) 8 bytes before the end.
        if let Some(&[a, b, c, d]) = t.get(4..8) {
            if (4..=6).contains(&a) && [b, c, d] == [0, 0, 0x80] {
                return ImageFormat::Cdi;
            }
        }
    }
    text_format(head, ext).unwrap_or(ImageFormat::Plain)
}

/// The text description `head` is, if it is one: printable text whose first keywords are those of a format.
fn text_format(head: &[u8], ext: Option<&str>) -> Option<ImageFormat> {
    if head.is_empty() || head.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    let mut words = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with(';') && !l.starts_with('#'));
    let first = words.next()?;
    if first.eq_ignore_ascii_case("[CloneCD]") {
        return Some(ImageFormat::CloneCd);
    }
    let keyword = |l: &str| l.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    let lines: Vec<&str> = std::iter::once(first).chain(words).take(400).collect();
    // cdrdao: a session type word, or TRACK followed by a mode instead of a number.
    let toc = lines.iter().any(|l| {
        let mut w = l.split_whitespace();
        let k = w.next().unwrap_or("").to_ascii_uppercase();
        matches!(k.as_str(), "CD_DA" | "CD_ROM" | "CD_ROM_XA" | "CD_I" | "DATAFILE")
            || (k == "TRACK" && w.next().is_some_and(|m| m.parse::<u32>().is_err()))
    });
    if toc {
        return Some(ImageFormat::CdrdaoToc);
    }
    // GDI: a track count, then one line per track of six or more fields starting with its number.
    if first.parse::<u32>().is_ok() {
        let tracks = lines.iter().skip(1).take_while(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 6 && f.first().is_some_and(|n| n.parse::<u32>().is_ok())
        });
        if tracks.count() >= 1 {
            return Some(ImageFormat::Gdi);
        }
    }
    let cue = lines.iter().any(|l| matches!(keyword(l).as_str(), "FILE" | "TRACK"));
    if cue || matches!(ext, Some("cue")) {
        return Some(ImageFormat::Cue);
    }
    None
}

/// Formats of other programs that odix does not read, by their signature at a byte offset: named in the error
/// when such a file has no file system odix finds, rather than called "not a disc image".
const FOREIGN: &[(usize, &[u8], &str)] = &[
    (0, b"IsZ!", "an UltraISO compressed image (ISZ)"),
    (0, b"DAA\0\0\0\0\0\0\0\0\0\0\0\0\0", "a PowerISO compressed image (DAA)"),
    (0, b"\x01\xC0\x0B\xB1", "a Dolphin compressed GameCube/Wii image (GCZ)"),
    (0, b"WIA\x01", "a Dolphin compressed GameCube/Wii image (WIA)"),
    (0, b"RVZ\x01", "a Dolphin compressed GameCube/Wii image (RVZ)"),
    (0x18, b"\x5D\x1C\x9E\xA3", "a Wii disc image"),
    (0x1C, b"\xC2\x33\x9F\x3D", "a GameCube disc image"),
    (0, b"\x1F\x8B", "a gzip-compressed file (decompress it first)"),
    (0, b"\xFD7zXZ\0", "an xz-compressed file (decompress it first)"),
    (0, b"\x28\xB5\x2F\xFD", "a Zstandard-compressed file (decompress it first)"),
    (0, b"BZh", "a bzip2-compressed file (decompress it first)"),
    (0, b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive (extract the image from it first)"),
    (0, b"PK\x03\x04", "a ZIP archive (extract the image from it first)"),
    (0, b"Rar!\x1A\x07", "a RAR archive (extract the image from it first)"),
];

/// The name of the format of another program that `head` (the first bytes of a file, 64 at least) has the
/// signature of, for a file in which no file system was found.
pub fn foreign_format(head: &[u8]) -> Option<&'static str> {
    FOREIGN
        .iter()
        .find_map(|&(at, sig, name)| (head.get(at..at.saturating_add(sig.len())) == Some(sig)).then_some(name))
}

/// [`foreign_format`] of the file at `path` (`None` when it cannot be read).
pub fn foreign_format_of(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 64];
    let mut f = File::open(path).ok()?;
    let n = read_up_to(&mut f, &mut head).ok()?;
    foreign_format(head.get(..n)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str, ext: &str) -> ImageFormat {
        classify(s.as_bytes(), None, Some(ext))
    }

    #[test]
    fn signatures_and_footers() {
        assert_eq!(classify(b"MComprHD\0\0\0\x7c", None, None), ImageFormat::Chd);
        assert_eq!(classify(b"ECM\0\x01", None, Some("bin")), ImageFormat::Ecm);
        assert_eq!(classify(b"CISO\x18\0\0\0", None, None), ImageFormat::Cso);
        assert_eq!(classify(b"ZISO\x18\0\0\0", None, None), ImageFormat::Zso);
        assert_eq!(classify(b"DAX\0\0\x10\0\0", None, None), ImageFormat::Dax);
        assert_eq!(classify(b"MEDIA DESCRIPTOR\x01\x05", None, None), ImageFormat::Mds);
        let nrg2 = *b"NER5\0\0\0\0\0\0\x10\0";
        assert_eq!(classify(&[0; 64], Some(&nrg2), Some("iso")), ImageFormat::Nrg);
        let nrg1 = *b"\0\0\0\0NERO\0\0\x10\0";
        assert_eq!(classify(&[0; 64], Some(&nrg1), None), ImageFormat::Nrg);
        let cdi = [0, 0, 0, 0, 6, 0, 0, 0x80, 0x10, 0, 0, 0];
        assert_eq!(classify(&[0; 64], Some(&cdi), None), ImageFormat::Cdi);
        assert_eq!(classify(&[0; 64], Some(&[0; 12]), Some("nrg")), ImageFormat::Plain);
    }

    #[test]
    fn text_descriptions() {
        let cue = "REM GENRE x\nFILE \"a.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n";
        assert_eq!(text(cue, "txt"), ImageFormat::Cue);
        assert_eq!(text("\u{feff}[CloneCD]\nVersion=3\n", "ccd"), ImageFormat::CloneCd);
        let gdi = "3\n1 0 4 2352 track01.bin 0\n2 600 0 2352 track02.raw 0\n3 45000 4 2352 track03.bin 0\n";
        assert_eq!(text(gdi, "gdi"), ImageFormat::Gdi);
        let toc = "CD_ROM\n// comment\nTRACK MODE1_RAW\nDATAFILE \"a.bin\" 00:10:00\n";
        assert_eq!(text(toc, "toc"), ImageFormat::CdrdaoToc);
        let toc2 = "TRACK AUDIO\nFILE \"a.wav\" 0\n";
        assert_eq!(text(toc2, "toc"), ImageFormat::CdrdaoToc);
        assert_eq!(text("hello world\n", "txt"), ImageFormat::Plain);
        assert_eq!(text("hello world\n", "cue"), ImageFormat::Cue);
    }
}

//! The isomd5sum MD5: what Fedora's and Red Hat's `implantisomd5` writes into the primary volume descriptor's
//! application-use field and what `checkisomd5` (and the installers' media check) verifies.
//!
//! The field (512 bytes at byte 883 of the primary volume descriptor, at LBA 16) holds `;`-separated text, the
//! rest filled with spaces:
//!
//! ```text
//! ISO MD5SUM = <32 hex>;SKIPSECTORS = 15;RHLISOSTATUS=0;FRAGMENT SUMS = <hex digits>;FRAGMENT COUNT = 20;
//! THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!
//! ```
//!
//! (on one line). The MD5 covers the volume (the size the primary volume descriptor records, not the file's)
//! without its last `SKIPSECTORS` sectors, read with the application-use field all spaces. The fragment sums let
//! a checker stop early: the covered bytes are read in chunks of 16 sectors and split into `FRAGMENT COUNT + 1`
//! fragments of equal size; at the first chunk that starts in a new fragment, the MD5 of everything read so far
//! (that chunk included) gives `60 / FRAGMENT COUNT` hex digits, one per leading digest byte: its first hex digit
//! as printed without leading zeros. The writer appends these digits in the order it meets the fragments, while
//! the checker looks a fragment's digits up at `(fragment - 1) * digits`; the two agree only when every chunk
//! start falls in the next fragment, that is when a fragment holds at least one chunk (images of about 700 KB and
//! more). [`check`] verifies as the checker does, so it agrees with `checkisomd5` on small images too.
//! `RHLISOSTATUS=1` marks the image as meant for "supported" media (Anaconda then skips its media-check prompt).

use std::fs::File;
use std::os::unix::fs::FileExt;

use anyhow::{bail, ensure, Context, Result};
use md5::{Digest, Md5};

/// The sector size the MD5's layout counts in.
const SECTOR: u64 = 2048;
/// The byte offset of the primary volume descriptor (LBA 16).
const PVD_OFFSET: u64 = 16 * SECTOR;
/// The application-use field: its offset in the volume descriptor, and its size.
const APP_USE_OFFSET: u64 = 883;
const APP_USE_SIZE: usize = 512;
/// The sectors at the end of the volume left out of the MD5 (so a drive that cannot read its last sectors, as
/// some CD drives do after a track, still checks the image).
pub const SKIP_SECTORS: u64 = 15;
/// The hex digits of all fragment sums together.
const FRAGMENT_SUM_DIGITS: usize = 60;
/// The chunk the covered bytes are read in; fragment sums are taken at chunk boundaries.
const CHUNK: u64 = 16 * SECTOR;

/// How [`implant`] writes the MD5.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImplantOptions {
    /// `RHLISOSTATUS=1` (`implantisomd5 --supported-iso`): media the installer need not offer to check.
    pub supported: bool,
    /// Replace an application-use field already used (`implantisomd5 --force`); without it, a field that is not
    /// all spaces is an error.
    pub force: bool,
    /// The number of fragments with a sum of their own: a divisor of 60 from 4 up (`implantisomd5` always
    /// writes 20).
    pub fragments: u32,
}

impl Default for ImplantOptions {
    /// What `implantisomd5` writes with no options: not supported media, no overwrite, 20 fragments.
    fn default() -> Self {
        ImplantOptions { supported: false, force: false, fragments: 20 }
    }
}

/// What the application-use field of an image records (the fields a checker reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Implanted {
    /// The MD5, 32 lowercase hex digits as recorded.
    pub md5: String,
    /// The sectors at the end left out of the MD5.
    pub skip_sectors: u64,
    /// `RHLISOSTATUS`.
    pub supported: bool,
    /// The fragment sums' hex digits, as recorded (at most 60 are read, as the checker reads them).
    pub fragment_sums: String,
    /// The number of fragments (20 when not recorded).
    pub fragment_count: u64,
}

/// The primary volume descriptor's volume size in bytes and its application-use field.
fn read_pvd(file: &File) -> Result<(u64, [u8; APP_USE_SIZE])> {
    let mut pvd = [0u8; SECTOR as usize];
    file.read_exact_at(&mut pvd, PVD_OFFSET).context("reading the primary volume descriptor (LBA 16)")?;
    if pvd[0] != 1 || &pvd[1..6] != b"CD001" {
        bail!(
            "LBA 16 holds no primary volume descriptor (type {}, id {:?})",
            pvd[0],
            String::from_utf8_lossy(&pvd[1..6])
        );
    }
    // Volume space size, both-endian at byte 80: the big-endian half is what the checker reads.
    let sectors = u32::from_be_bytes([pvd[84], pvd[85], pvd[86], pvd[87]]) as u64;
    let mut app = [0u8; APP_USE_SIZE];
    app.copy_from_slice(&pvd[APP_USE_OFFSET as usize..APP_USE_OFFSET as usize + APP_USE_SIZE]);
    Ok((sectors * SECTOR, app))
}

/// The first hex digit of a byte printed without leading zeros (`0x0a` gives `a`, `0xa0` gives `a` too).
fn lead_digit(b: u8) -> char {
    let d = if b >= 16 { b >> 4 } else { b };
    char::from_digit(d as u32, 16).unwrap_or('0')
}

/// The fragment digits of the MD5 state `ctx` (a copy is finished; the running one goes on).
fn fragment_digits(ctx: &Md5, digits: usize) -> String {
    let d = ctx.clone().finalize();
    d.iter().take(digits.min(16)).map(|&b| lead_digit(b)).collect()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the covered bytes of `file` (`total` bytes from its start, stopping early at its end) in chunks, with
/// the application-use field as spaces, calling `at_fragment(fragment, ctx)` at each chunk that starts in a new
/// fragment; stops when it returns `false`. Returns the MD5 state (or `None` when stopped).
fn hash_covered(
    file: &File,
    total: u64,
    fragments: u64,
    mut at_fragment: impl FnMut(u64, &Md5) -> bool,
) -> Result<Option<Md5>> {
    // Fragments of no size (an image smaller than the count) have no sums, as none of them is ever left.
    let fragment_size = total / fragments.saturating_add(1);
    let app = PVD_OFFSET + APP_USE_OFFSET..PVD_OFFSET + APP_USE_OFFSET + APP_USE_SIZE as u64;
    let mut ctx = Md5::new();
    let mut buf = vec![0u8; CHUNK as usize];
    let mut offset = 0u64;
    let mut previous = 0u64;
    while offset < total {
        let want = (total - offset).min(CHUNK) as usize;
        let n =
            read_some(file, &mut buf[..want], offset).with_context(|| format!("reading the image at byte {offset}"))?;
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n];
        let end = offset + n as u64;
        // The field as spaces, wherever it falls in this chunk.
        let (lo, hi) = (app.start.max(offset), app.end.min(end));
        if lo < hi {
            chunk[(lo - offset) as usize..(hi - offset) as usize].fill(b' ');
        }
        ctx.update(&*chunk);
        if let Some(current) = offset.checked_div(fragment_size) {
            if current != previous {
                if !at_fragment(current, &ctx) {
                    return Ok(None);
                }
                previous = current;
            }
        }
        offset = end;
    }
    Ok(Some(ctx))
}

/// One read, retried when interrupted: what the reader gives, as the checker takes it (a short read is a chunk).
fn read_some(f: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    loop {
        match f.read_at(buf, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Implants the isomd5sum MD5 into the image file `file` (an ISO image, its PVD at LBA 16): reads it once and
/// writes the PVD's application-use field in place. Returns the MD5 as 32 hex digits.
///
/// With the default [`ImplantOptions`] the file is byte for byte what `implantisomd5` makes of it (and with
/// `force`, what `implantisomd5 --force` makes).
pub fn implant(file: &File, opts: &ImplantOptions) -> Result<String> {
    // The checker reads 60 digits of sums whatever the count, and only then looks for the count: with fewer
    // digits it reads the count as part of the sums and checks 20 fragments. Each fragment's digits are at most
    // 16 (an MD5's bytes), so the count must divide 60 and be at least 4.
    ensure!(
        opts.fragments >= 4 && (FRAGMENT_SUM_DIGITS as u32).is_multiple_of(opts.fragments),
        "isomd5sum: {} fragments: checkisomd5 reads 4, 5, 6, 10, 12, 15, 20, 30 or 60",
        opts.fragments
    );
    let (size, app) = read_pvd(file)?;
    if !opts.force && app.iter().any(|&b| b != b' ') {
        bail!("the primary volume descriptor's application-use field is already used (an MD5 is implanted there?)");
    }
    ensure!(
        size > SKIP_SECTORS * SECTOR,
        "the volume has {} sectors: too few for an isomd5sum MD5 (which leaves out the last {SKIP_SECTORS})",
        size / SECTOR
    );
    let total = size - SKIP_SECTORS * SECTOR;
    let digits = FRAGMENT_SUM_DIGITS / opts.fragments as usize;
    let mut sums = String::new();
    let ctx = hash_covered(file, total, opts.fragments as u64, |_, ctx| {
        sums.push_str(&fragment_digits(ctx, digits));
        true
    })?
    .context("the MD5 was not finished")?;
    let md5 = hex(&ctx.finalize());
    let text = format!(
        "ISO MD5SUM = {md5};SKIPSECTORS = {SKIP_SECTORS};RHLISOSTATUS={};FRAGMENT SUMS = {sums};\
         FRAGMENT COUNT = {};THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!",
        u8::from(opts.supported),
        opts.fragments
    );
    // The field must keep at least one space after the text (the checker reads it as a string ending there).
    ensure!(text.len() < APP_USE_SIZE, "the isomd5sum text does not fit the application-use field");
    let mut field = [b' '; APP_USE_SIZE];
    field[..text.len()].copy_from_slice(text.as_bytes());
    file.write_all_at(&field, PVD_OFFSET + APP_USE_OFFSET)
        .context("writing the primary volume descriptor's application-use field")?;
    Ok(md5)
}

/// The number after `key` at `text[at..]`, up to the next `;` (or the end): `Some((number, index of the end))`
/// when the key is there and all of the value is a number (leading spaces and a sign allowed, as `strtol` reads
/// it; an empty value is 0).
fn number_at(text: &[u8], at: usize, key: &str) -> Option<(i64, usize)> {
    let rest = text.get(at..)?.strip_prefix(key.as_bytes())?;
    let v = &rest[..rest.iter().position(|&b| b == b';').unwrap_or(rest.len())];
    let s = std::str::from_utf8(v).ok()?.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let n = if s.is_empty() { 0 } else { s.strip_prefix('+').unwrap_or(s).parse::<i64>().ok()? };
    Some((n, at + key.len() + v.len()))
}

/// Parses an application-use field as `checkisomd5` reads it: `None` when it records no MD5 or no
/// `SKIPSECTORS`.
pub fn parse_field(field: &[u8]) -> Option<Implanted> {
    // The checker reads the field as a string: its last byte is taken as its end.
    let text = &field[..field.len().saturating_sub(1)];
    let semicolon =
        |from: usize| from + text.get(from..).map_or(0, |t| t.iter().position(|&b| b == b';').unwrap_or(t.len()));
    let (mut md5, mut skip, mut supported, mut sums, mut count) = (None, None, None, None, None);
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(b"ISO MD5SUM = ") {
            let start = i + "ISO MD5SUM = ".len();
            let digits = text.get(start..start + 32).filter(|_| start + 32 < field.len())?;
            md5 = Some(String::from_utf8_lossy(digits).into_owned());
            i = semicolon(start + 32);
        } else if let Some((n, end)) = number_at(text, i, "SKIPSECTORS = ") {
            skip = Some(n);
            i = end;
        } else if let Some((n, end)) = number_at(text, i, "RHLISOSTATUS=") {
            supported = Some(n);
            i = end;
        } else if text[i..].starts_with(b"FRAGMENT SUMS = ") {
            let start = i + "FRAGMENT SUMS = ".len();
            let digits =
                text.get(start..start + FRAGMENT_SUM_DIGITS).filter(|_| start + FRAGMENT_SUM_DIGITS < field.len())?;
            sums = Some(String::from_utf8_lossy(digits).into_owned());
            i = semicolon(start + FRAGMENT_SUM_DIGITS);
        } else if let Some((n, end)) = number_at(text, i, "FRAGMENT COUNT = ") {
            count = Some(n);
            i = end;
        }
        // Past the `;` (or the byte that matched nothing).
        i += 1;
        if md5.is_some() && skip.is_some() && supported.is_some() && sums.is_some() && count.is_some() {
            break;
        }
    }
    Some(Implanted {
        md5: md5?,
        skip_sectors: u64::try_from(skip?).unwrap_or(0),
        supported: supported.unwrap_or(0) != 0,
        fragment_sums: sums.unwrap_or_default(),
        fragment_count: count.map_or(20, |c| u64::try_from(c).unwrap_or(0)),
    })
}

/// What the image's application-use field records: `None` when no isomd5sum MD5 is implanted.
pub fn read_implanted(file: &File) -> Result<Option<Implanted>> {
    let (_, app) = read_pvd(file)?;
    Ok(parse_field(&app))
}

/// Checks an image the way checkisomd5 does: `Ok(Some(true/false))`, `Ok(None)` when no MD5 is implanted.
///
/// The check stops at the first fragment whose sum differs, as the checker does.
pub fn check(file: &File) -> Result<Option<bool>> {
    let (size, app) = read_pvd(file)?;
    let Some(info) = parse_field(&app) else { return Ok(None) };
    let total = size.saturating_sub(info.skip_sectors.saturating_mul(SECTOR));
    let digits = if info.fragment_count > 0 { FRAGMENT_SUM_DIGITS / info.fragment_count as usize } else { 0 };
    let recorded = info.fragment_sums.as_bytes();
    let ctx = hash_covered(file, total, info.fragment_count, |fragment, ctx| {
        if digits == 0 {
            return true;
        }
        let got = fragment_digits(ctx, digits);
        let at = (fragment as usize - 1) * digits;
        // Digits past the recorded ones never match (the checker compares them with the end of its string).
        got.bytes().enumerate().all(|(k, c)| recorded.get(at + k) == Some(&c))
    })?;
    Ok(Some(ctx.is_some_and(|c| hex(&c.finalize()) == info.md5)))
}

//! Bootable images: plugs El Torito (boot record, catalog, patched boot images) and the hybrid system area
//! (MBR, GPT, appended partitions) into the sector plan of [`crate::mastering`].
//!
//! How the pieces meet the plan, without the planner knowing about boot:
//! - the boot record is an `after_primary` descriptor (LBA 17), its catalog LBA read at emit time;
//! - the catalog and each boot image that must be patched (`-boot-info-table`, `--grub2-boot-info`) are
//!   `metadata` regions; each gets a data id past the end of the walk's data table, whose LBA is filled in after
//!   planning, and the patched image's own data item is aliased to it, so the directory records of the file (and
//!   its hard links) point at the patched copy and the unpatched source is not stored;
//! - the catalog, when visible, is a file node of the tree pointing at its data id;
//! - the system area is a producer that lays the MBR/GPT out at emit time, when every LBA is known;
//! - padding, appended partitions and the backup GPT are regions pushed after the planned ISO.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use odix_iso9660::write::eltorito::{
    boot_record_descriptor, BootCatalog, BootEntry, BootPatches, Emulation, MAX_PATCHED_IMAGE,
};
use odix_iso9660::write::hybrid::{
    Appended, EfiBootPart, Guid, HybridLayout, HybridOptions, ImageFacts, MbrTemplate, PartitionType, TailPiece,
};
use odix_iso9660::write::{DataId, FileData, IsoLayout, Meta, NodeId, NodeKind, Tree, SECTOR, SYSTEM_AREA_SECTORS};

use crate::mastering::image::{ImageExtras, PlannedImage};

use crate::mastering::plan::{Content, EmitCtx};
use crate::mastering::walk::Walked;
/// The El Torito types a [`BootSpec`] is made of.
pub use odix_iso9660::write::eltorito::{LoadSize, Platform};

/// LBA of the Primary Volume Descriptor (the first descriptor after the system area).
const PVD_LBA: u32 = 16;

/// Name of the catalog's region in the plan.
const CATALOG_REGION: &str = "El Torito boot catalog";

/// Name of the region of the patched copy of the `index`th boot image.
fn image_region(index: usize, path: &std::path::Path) -> String {
    format!("El Torito boot image {} ({})", index + 1, path.display())
}

/// Sectors of padding `-pad` adds after the ISO (300 KiB, as mkisofs and xorriso do).
pub const PAD_SECTORS: u64 = 150;

/// The emulation chosen for a boot entry; `None` lets the image's size pick a floppy type (mkisofs rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmulChoice {
    /// `-no-emul-boot`.
    None,
    /// `-hard-disk-boot`.
    HardDisk,
}

/// One El Torito entry as the command line describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootSpec {
    /// Path of the image inside the ISO.
    pub image: String,
    /// Platform id.
    pub platform: Option<Platform>,
    /// Emulation mode; `None` = floppy by size.
    pub emulation: Option<EmulChoice>,
    /// `-boot-load-size`.
    pub load_size: Option<LoadSize>,
    /// `-boot-load-seg`.
    pub load_segment: u16,
    /// `-boot-info-table`.
    pub boot_info_table: bool,
    /// `--grub2-boot-info`.
    pub grub2_boot_info: bool,
    /// `-no-boot`.
    pub not_bootable: bool,
    /// `-isohybrid-gpt-basdat` followed this image: a GPT Basic Data partition (and an MBR one) over it.
    pub gpt_basdat: bool,
}

impl BootSpec {
    /// For `-e --interval:appended_partition_N:...` (xorriso's way to boot from an appended EFI partition), N.
    pub fn appended_partition(&self) -> Option<u8> {
        let rest = self.image.strip_prefix("--interval:appended_partition_")?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().ok().filter(|n| (1..=4).contains(n))
    }

    /// The platform: 0xEF for `-e` images, else BIOS unless `-eltorito-platform` said otherwise.
    pub fn platform(&self) -> Platform {
        self.platform.unwrap_or(Platform::BIOS)
    }

    /// The emulation for an image of `len` bytes.
    pub fn emulation(&self, len: u64) -> Result<Emulation> {
        Ok(match self.emulation {
            Some(EmulChoice::None) => Emulation::NoEmulation,
            Some(EmulChoice::HardDisk) => Emulation::HardDisk,
            None => Emulation::floppy_for_size(len).with_context(|| {
                format!("boot image {}: give -no-emul-boot or -hard-disk-boot, or use a floppy image", self.image)
            })?,
        })
    }
}

/// Which partition tables of a byte range are zeroed when it is read (xorriso's interval "zeroizers"), so that a
/// system area taken from an existing image does not bring its old tables along.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZeroFlags {
    /// `zero_mbrpt`: the MBR partition table (bytes 446..510), when bytes 510 and 511 are `55 AA`.
    pub mbr_table: bool,
    /// `zero_gpt`: a GPT header in bytes 512..1023 and the blocks of its partition entry array.
    pub gpt: bool,
    /// `zero_apm`: the partition map blocks of an Apple partition map whose block 0 starts with `ER`.
    pub apm: bool,
    /// `START-END` zeroizers: byte ranges (inclusive) of the data read, counted from its first byte.
    pub ranges: Vec<(u64, u64)>,
}

impl ZeroFlags {
    /// True when nothing is zeroed.
    pub fn is_empty(&self) -> bool {
        !self.mbr_table && !self.gpt && !self.apm && self.ranges.is_empty()
    }

    /// The zeroizers component of an interval string (`zero_mbrpt,zero_gpt`).
    pub fn to_arg(&self) -> String {
        let mut v: Vec<String> = Vec::new();
        if self.mbr_table {
            v.push("zero_mbrpt".into());
        }
        if self.gpt {
            v.push("zero_gpt".into());
        }
        if self.apm {
            v.push("zero_apm".into());
        }
        v.extend(self.ranges.iter().map(|(a, b)| format!("{a}-{b}")));
        v.join(",")
    }

    /// Zeroes what the flags name in `buf`, the first bytes of the range read.
    pub fn apply(&self, buf: &mut [u8]) {
        let zero = |buf: &mut [u8], from: u64, to: u64| {
            let (from, to) = (from.min(buf.len() as u64) as usize, to.min(buf.len() as u64) as usize);
            if let Some(r) = buf.get_mut(from..to) {
                r.fill(0);
            }
        };
        if self.mbr_table && buf.get(510..512) == Some(&[0x55, 0xAA][..]) {
            zero(buf, 446, 510);
        }
        if self.gpt && buf.get(512..520) == Some(&b"EFI PART"[..]) {
            let le = |at: usize, n: usize| -> u64 {
                buf.get(at..at + n).map_or(0, |b| b.iter().rev().fold(0u64, |v, x| v << 8 | u64::from(*x)))
            };
            let (entries, count, size) = (le(512 + 72, 8), le(512 + 80, 4), le(512 + 84, 4));
            zero(buf, 512, 1024);
            let start = entries.saturating_mul(512);
            zero(buf, start, start.saturating_add(count.saturating_mul(size)));
        }
        if self.apm && buf.get(0..2) == Some(&b"ER"[..]) {
            let bs = buf.get(2..4).map_or(0, |b| u64::from(u16::from_be_bytes([b[0], b[1]])));
            if matches!(bs, 512 | 1024 | 2048) {
                let at = bs as usize;
                let count = buf
                    .get(at..at + 8)
                    .filter(|e| &e[..2] == b"PM")
                    .map_or(0, |e| u64::from(u32::from_be_bytes([e[4], e[5], e[6], e[7]])));
                zero(buf, bs, bs.saturating_mul(count.saturating_add(1)));
            }
        }
        for (a, b) in &self.ranges {
            zero(buf, *a, b.saturating_add(1));
        }
    }
}

/// Where the bytes of a boot file (MBR template, system area, appended partition, EFI partition) come from: a
/// whole file, or a byte range of one with partition tables zeroed, as xorriso's
/// `--interval:local_fs:START-END:ZEROIZERS:PATH` names it (`odix info --as-mkisofs` prints such ranges of the
/// image it describes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ByteSource {
    /// All of a file.
    File(PathBuf),
    /// Bytes `start..=end` of a file (cut at the file's end), with `flags` applied.
    Interval {
        /// The file.
        path: PathBuf,
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
        /// What is zeroed after reading.
        flags: ZeroFlags,
    },
}

impl From<PathBuf> for ByteSource {
    fn from(p: PathBuf) -> ByteSource {
        ByteSource::File(p)
    }
}

/// Bytes of the start of an interval that zeroizers may touch: a system area, a GPT entry array after it.
const ZERO_WINDOW: u64 = 1 << 20;

/// A number of an interval, scaled by a suffix as xorriso's interval reader reads it: `k`, `m`, `g`, `t` (powers
/// of 1024), `s` (2048) and `d` (512). A scaled end names the last byte of its unit (`0d-0d` is `0-511`).
fn interval_number(text: &str, end: bool) -> Option<u64> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let unit: u64 = match unit {
        "" => return Some(n),
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "s" => 2048,
        "d" => 512,
        _ => return None,
    };
    let scaled = n.checked_mul(unit)?;
    if end {
        scaled.checked_add(unit - 1)
    } else {
        Some(scaled)
    }
}

fn interval_range(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once('-')?;
    let (a, b) = (interval_number(a, false)?, interval_number(b, true)?);
    (a <= b).then_some((a, b))
}

impl ByteSource {
    /// Reads an option value: `--interval:local_fs:START-END:ZEROIZERS:PATH` or a plain path. Other interval
    /// sources (`imported_iso`, `appended_partition_N`) are refused: odix builds from folders, and an appended
    /// partition is named so only by `-e`.
    pub fn parse(text: &str) -> Result<ByteSource> {
        let Some(rest) = text.strip_prefix("--interval:") else {
            return Ok(ByteSource::File(PathBuf::from(text)));
        };
        let mut parts = rest.splitn(4, ':');
        let (kind, range, zero, path) = (parts.next(), parts.next(), parts.next(), parts.next());
        let (Some(kind), Some(range), Some(zero), Some(path)) = (kind, range, zero, path) else {
            bail!("`{text}`: an interval is --interval:local_fs:START-END:ZEROIZERS:PATH");
        };
        if kind != "local_fs" {
            bail!("`{text}`: odix reads intervals of local files only (local_fs), not `{kind}`");
        }
        let (start, end) = interval_range(range)
            .ok_or_else(|| anyhow!("`{text}`: `{range}` is not START-END (numbers with k, m, g, t, s or d)"))?;
        let mut flags = ZeroFlags::default();
        for z in zero.split(',').filter(|z| !z.is_empty()) {
            match z {
                "zero_mbrpt" => flags.mbr_table = true,
                "zero_gpt" => flags.gpt = true,
                "zero_apm" => flags.apm = true,
                r => flags.ranges.push(interval_range(r).ok_or_else(|| anyhow!("`{text}`: unknown zeroizer `{r}`"))?),
            }
        }
        // xorriso quotes the path as a shell word: '...' around it.
        let path = path.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')).unwrap_or(path);
        if path.is_empty() {
            bail!("`{text}`: no file named");
        }
        Ok(ByteSource::Interval { path: PathBuf::from(path), start, end, flags })
    }

    /// The file read.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ByteSource::File(p) | ByteSource::Interval { path: p, .. } => p,
        }
    }

    /// The number of bytes it gives.
    pub fn len(&self) -> Result<u64> {
        let size = std::fs::metadata(self.path()).with_context(|| format!("reading {}", self.path().display()))?.len();
        Ok(match self {
            ByteSource::File(_) => size,
            ByteSource::Interval { start, end, .. } => {
                if *start >= size {
                    bail!("{}: the interval starts at byte {start}, past the file's {size} bytes", self);
                }
                (end.saturating_add(1)).min(size) - start
            }
        })
    }

    /// True when it gives no bytes.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// All of its bytes, refusing more than `max`.
    pub fn read_all(&self, max: usize) -> Result<Vec<u8>> {
        let len = self.len()?;
        if len > max as u64 {
            bail!("{self}: larger than {max} bytes");
        }
        let mut buf = Vec::with_capacity(len as usize);
        self.copy_to(&mut buf)?;
        Ok(buf)
    }

    /// Writes its bytes to `out` (zeroizers applied); returns how many were written.
    pub fn copy_to(&self, out: &mut dyn Write) -> Result<u64> {
        let len = self.len()?;
        let mut f = File::open(self.path()).with_context(|| format!("opening {}", self.path().display()))?;
        let flags = match self {
            ByteSource::File(_) => None,
            ByteSource::Interval { start, flags, .. } => {
                use std::io::Seek;
                f.seek(io::SeekFrom::Start(*start)).with_context(|| format!("reading {self}"))?;
                Some(flags)
            }
        };
        let mut f = f.take(len);
        let mut done = 0;
        if let Some(flags) = flags.filter(|z| !z.is_empty()) {
            let mut head = Vec::new();
            (&mut f).take(ZERO_WINDOW).read_to_end(&mut head).with_context(|| format!("reading {self}"))?;
            flags.apply(&mut head);
            out.write_all(&head)?;
            done += head.len() as u64;
        }
        done += io::copy(&mut f, out).with_context(|| format!("reading {self}"))?;
        if done != len {
            bail!("{self} changed size during the build");
        }
        Ok(done)
    }

    /// The option value that names it (a plain path, or xorriso's interval string with the path quoted).
    pub fn to_arg(&self) -> String {
        match self {
            ByteSource::File(p) => p.display().to_string(),
            ByteSource::Interval { path, start, end, flags } => {
                format!(
                    "--interval:local_fs:{start}-{end}:{}:{}",
                    flags.to_arg(),
                    shell_quote(&path.display().to_string())
                )
            }
        }
    }
}

impl std::fmt::Display for ByteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ByteSource::File(p) => write!(f, "{}", p.display()),
            ByteSource::Interval { path, start, end, .. } => write!(f, "{} (bytes {start} to {end})", path.display()),
        }
    }
}

/// `text` as one shell word in single quotes (a quote inside becomes `'"'"'`), as xorriso prints paths.
pub(crate) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\"'\"'"))
}

/// `--efi-boot-part`'s argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EfiPartSpec {
    /// `--efi-boot-image`: the El Torito EFI image.
    ElToritoImage,
    /// A file (or byte range) appended as the EFI system partition.
    File(ByteSource),
}

/// The boot and hybrid options of one build, from `odix mkisofs` or `odix mkiso`.
#[derive(Clone, Debug, Default)]
pub struct BootConfig {
    /// El Torito entries, default entry first.
    pub entries: Vec<BootSpec>,
    /// Path of the catalog in the image (default `boot.catalog`).
    pub catalog: Option<String>,
    /// Keep the catalog out of the directory tree.
    pub catalog_hide: bool,
    /// `-isohybrid-mbr`.
    /// `-isohybrid-mbr`: 432 to 512 bytes of MBR code, or a whole system area (up to 32 KiB, as an interval of an
    /// image gives it) whose first 432 bytes are the code.
    pub isohybrid_mbr: Option<ByteSource>,
    /// `--grub2-mbr`: 446 to 512 bytes of GRUB2 MBR code, or a whole system area (up to 32 KiB) starting with it.
    pub grub2_mbr: Option<ByteSource>,
    /// `-G`.
    pub embedded_boot: Option<ByteSource>,
    /// `--protective-msdos-label`.
    pub protective_msdos_label: bool,
    /// `-isohybrid-gpt-basdat`.
    pub gpt_basdat: bool,
    /// `-efi-boot-part`.
    pub efi_boot_part: Option<EfiPartSpec>,
    /// `-append_partition`.
    pub append: Vec<(u8, PartitionType, ByteSource)>,
    /// `-appended_part_as_gpt`.
    pub appended_as_gpt: bool,
    /// Sectors of zero padding after the ISO (inside the volume).
    pub pad_sectors: u64,
    /// `-partition_offset`: the sector where MBR partition 1 starts (0 or 16).
    pub partition_offset: u32,
    /// `-iso_mbr_part_type`.
    pub iso_mbr_part_type: Option<u8>,
    /// `--mbr-force-bootable`.
    pub mbr_force_bootable: bool,
    /// `-partition_cyl_align`: `None` for auto (isohybrid images only).
    pub cylinder_align: Option<bool>,
    /// Seed of the GPT's disk GUID and the MBR signature, when not the image's time.
    pub gpt_seed: Option<u64>,
    /// The GPT's disk GUID, written as given (`-boot_image any gpt_disk_guid=`).
    pub gpt_disk_guid: Option<Guid>,
}

impl BootConfig {
    /// True when the image needs none of this module.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.isohybrid_mbr.is_none()
            && self.grub2_mbr.is_none()
            && self.embedded_boot.is_none()
            && !self.protective_msdos_label
            && !self.gpt_basdat
            && self.efi_boot_part.is_none()
            && self.append.is_empty()
            && self.pad_sectors == 0
    }
}

impl BootConfig {
    /// Adjusts the options for a UDF bridge, whose closing anchor must be the last sector of the image: no
    /// padding, and no cylinder padding unless asked for (`-partition_cyl_align auto` becomes `off`).
    pub fn fit_udf_bridge(&mut self) {
        self.pad_sectors = 0;
        if self.cylinder_align.is_none() {
            self.cylinder_align = Some(false);
        }
    }
}

/// Refuses an image whose hybrid tail (backup GPT, appended partitions, cylinder padding) would follow a UDF
/// bridge's closing anchor. UDF (ECMA-167 3/8.4.2.1, UDF 2.60 2.2.3) wants anchors at two of the sectors 256,
/// N-256 and N-1 of the volume, and readers (the kernel, udfinfo) take N from the device size; the backup GPT
/// header must be the disk's last sector. `iso_end` is the image size before [`BootPlan::finish`].
pub fn check_udf_tail(planned: &PlannedImage<'_>, iso_end: u64) -> Result<()> {
    let after: Vec<&str> = planned
        .plan
        .regions()
        .iter()
        .filter(|r| u64::from(r.lba) >= iso_end && r.sectors > 0)
        .map(|r| r.what.as_str())
        .collect();
    if after.is_empty() {
        return Ok(());
    }
    let mut what: Vec<&str> = Vec::new();
    for w in after {
        let kind = if w.starts_with("appended partition") {
            "appended partitions"
        } else if w == "backup GPT" {
            "a GPT (its backup header is the disk's last sector)"
        } else if w == "cylinder padding" {
            "cylinder-aligned partitions (-partition_cyl_align on)"
        } else {
            w
        };
        if !what.contains(&kind) {
            what.push(kind);
        }
    }
    bail!(
        "a UDF bridge cannot be combined with {}: they go after the image, where UDF records its closing anchor \
         (the last sector of the volume); build the UDF bridge without them, or the hybrid image without -udf",
        what.join(" and ")
    )
}

/// One El Torito image as planned.
struct PlannedEntry {
    entry: BootEntry,
    /// Where the directory records and the catalog find the image.
    data: DataId,
    /// For a patched image: its source, the patches and the synthetic id whose region holds the patched copy.
    /// The image's source (for messages), its bytes read when planned, and the patches.
    patch: Option<(PathBuf, Vec<u8>, BootPatches)>,
    len: u64,
    /// False for an image that is an appended partition.
    in_tree: bool,
    /// Marked by `-isohybrid-gpt-basdat`.
    gpt_basdat: bool,
}

/// Everything prepared before the ISO layout is made; lives until the image is written.
pub struct BootPlan {
    catalog: Option<BootCatalog>,
    catalog_id: DataId,
    entries: Vec<PlannedEntry>,
    hybrid: Option<HybridOptions>,
    appended_paths: Vec<ByteSource>,
    pad_sectors: u64,
    /// Sectors of the ISO before padding and tail, set by [`BootPlan::finish`].
    iso_sectors: Cell<u64>,
    /// Synthetic ids: catalog, then patched images.
    synthetic: Vec<(DataId, u64)>,
    /// Synthetic ids of boot images that are appended partitions, with the partition number.
    appended_refs: Vec<(DataId, u8)>,
    /// One past the last synthetic id.
    ids_end: u32,
    /// Where the primary volume descriptor is, for boot-info tables: LBA 16 of the image, or of the session.
    pvd_lba: u32,
}

/// An MBR template: up to 512 bytes are the code; a longer source (a system area taken from an image, up to 32
/// KiB) is also the embedded system area the code and tables are written over, as xorriso loads it.
fn read_mbr_template(src: &ByteSource) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let buf = src.read_all(SYSTEM_AREA_SECTORS as usize * SECTOR)?;
    if buf.len() <= 512 {
        return Ok((buf, None));
    }
    Ok((buf[..512].to_vec(), Some(buf)))
}

/// Finds `path` (relative to the image root, `/`-separated) in the tree.
fn lookup_path(tree: &Tree, path: &str) -> Option<NodeId> {
    let mut at = Tree::ROOT;
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        at = tree.lookup(at, comp.as_bytes())?;
    }
    Some(at)
}

impl BootPlan {
    /// Checks the boot options against the walked tree, adds the catalog file to it and sets up the aliases of
    /// patched images. `now` stamps the catalog file and seeds the GPT's GUIDs.
    pub fn prepare(cfg: &BootConfig, walked: &mut Walked, now: i64) -> Result<BootPlan> {
        let base = walked.data.items().len() as u32;
        let mut next_id = base + 1;
        let catalog_id = DataId(base);
        let mut synthetic = Vec::new();
        let mut entries = Vec::new();
        let mut appended_refs = Vec::new();
        for spec in &cfg.entries {
            if let Some(number) = spec.appended_partition() {
                // `-e --interval:appended_partition_N:...`: the image is an appended partition, not a file.
                let (_, _, path) = cfg
                    .append
                    .iter()
                    .find(|(n, ..)| *n == number)
                    .ok_or_else(|| anyhow!("boot image {}: no -append_partition {number}", spec.image))?;
                let len = path.len()?;
                let entry = BootEntry::new(len)
                    .platform(spec.platform())
                    .emulation(spec.emulation(len)?)
                    .bootable(!spec.not_bootable)
                    .load_segment(spec.load_segment)
                    .load_size(spec.load_size.unwrap_or_default());
                if spec.boot_info_table || spec.grub2_boot_info {
                    bail!("boot image {}: an appended partition cannot be patched", spec.image);
                }
                let id = DataId(next_id);
                next_id += 1;
                appended_refs.push((id, number));
                entries.push(PlannedEntry { entry, data: id, patch: None, len, in_tree: false, gpt_basdat: false });
                continue;
            }
            let node = lookup_path(&walked.tree, &spec.image)
                .ok_or_else(|| anyhow!("boot image {}: not in the image", spec.image))?;
            let Some(NodeKind::File(fd)) = walked.tree.kind(node).cloned() else {
                bail!("boot image {}: not a regular file", spec.image);
            };
            if fd.zisofs_size.is_some() {
                bail!("boot image {}: must not be zisofs-compressed", spec.image);
            }
            let item = walked.data.item(fd.data).ok_or_else(|| anyhow!("boot image {}: no data", spec.image))?.clone();
            let len = item.source_size();
            let emulation = spec.emulation(len)?;
            let mut entry = BootEntry::new(len)
                .platform(spec.platform())
                .emulation(emulation)
                .bootable(!spec.not_bootable)
                .load_segment(spec.load_segment)
                .load_size(spec.load_size.unwrap_or_default());
            if emulation == Emulation::HardDisk {
                let head = walked
                    .data
                    .read_head(&item, 512)
                    .with_context(|| format!("reading {}", walked.data.path(&item).display()))?;
                if let Some(t) = entry.check_image(&head).with_context(|| spec.image.clone())? {
                    entry = entry.system_type(t);
                }
            } else {
                entry.check_image(&[]).with_context(|| spec.image.clone())?;
            }
            let patches = BootPatches { boot_info_table: spec.boot_info_table, grub2_boot_info: spec.grub2_boot_info };
            let (data, patch) = if patches.is_empty() {
                (fd.data, None)
            } else {
                if len > MAX_PATCHED_IMAGE {
                    bail!("boot image {}: {len} bytes is too large to patch", spec.image);
                }
                // The patched copy gets its own id; the file's own item (and anything deduplicated onto it)
                // becomes an alias of it, so the source bytes are not stored as well.
                let id = DataId(next_id);
                next_id += 1;
                let real = walked.data.alias.get(fd.data.0 as usize).copied().unwrap_or(fd.data.0);
                for a in walked.data.alias.iter_mut() {
                    if *a == real {
                        *a = id.0;
                    }
                }
                synthetic.push((id, len.div_ceil(SECTOR as u64)));
                // Read now (it is small): it may lie in a file or in the input image of an edit.
                let path = walked.data.path(&item);
                let bytes = walked.data.read_head(&item, len).with_context(|| format!("reading {}", path.display()))?;
                if bytes.len() as u64 != len {
                    bail!("{}: {} bytes read of {len}", path.display(), bytes.len());
                }
                (id, Some((path, bytes, patches)))
            };
            entries.push(PlannedEntry { entry, data, patch, len, in_tree: true, gpt_basdat: spec.gpt_basdat });
        }

        let catalog = if entries.is_empty() {
            None
        } else {
            let cat = BootCatalog::new(entries.iter().map(|e| e.entry.clone()).collect())?;
            synthetic.insert(0, (catalog_id, u64::from(cat.sectors())));
            if !cfg.catalog_hide {
                let path = cfg.catalog.clone().unwrap_or_else(|| "boot.catalog".into());
                add_catalog_node(&mut walked.tree, &path, catalog_id, u64::from(cat.sectors()) * SECTOR as u64, now)?;
            }
            Some(cat)
        };
        if catalog.is_none() && (cfg.catalog.is_some() || cfg.entries.iter().any(|e| e.boot_info_table)) {
            bail!("-c / boot options given without a boot image (-b or -e)");
        }

        let mut appended_paths = Vec::new();
        let hybrid = {
            let mut h = HybridOptions::default().seed(cfg.gpt_seed.unwrap_or(now as u64));
            if let Some(g) = cfg.gpt_disk_guid {
                h = h.disk_guid(g);
            }
            let mut any = false;
            let mut area = None;
            if let Some(p) = &cfg.isohybrid_mbr {
                let (code, whole) = read_mbr_template(p)?;
                h = h.template(MbrTemplate::Isohybrid(code));
                area = whole;
                any = true;
            }
            if let Some(p) = &cfg.grub2_mbr {
                if cfg.isohybrid_mbr.is_some() {
                    bail!("-isohybrid-mbr and --grub2-mbr exclude each other");
                }
                let (code, whole) = read_mbr_template(p)?;
                h = h.template(MbrTemplate::Grub2(code));
                area = whole;
                any = true;
            }
            if let Some(p) = &cfg.embedded_boot {
                if area.is_some() {
                    bail!("-G and a system area given as the MBR template ({p}) exclude each other");
                }
                area = Some(p.read_all(SYSTEM_AREA_SECTORS as usize * SECTOR)?);
                any = true;
            }
            if let Some(a) = area {
                h = h.embedded(a);
            }
            if cfg.protective_msdos_label {
                h = h.protective_msdos_label(true);
                any = true;
            }
            if cfg.gpt_basdat {
                h = h.gpt_basdat(true);
                any = true;
            }
            match &cfg.efi_boot_part {
                Some(EfiPartSpec::ElToritoImage) => {
                    h = h.efi_boot_part(EfiBootPart::ElToritoImage);
                    any = true;
                }
                Some(EfiPartSpec::File(p)) => {
                    let len = p.len()?;
                    h = h.efi_boot_part(EfiBootPart::Appended { len });
                    appended_paths.push(p.clone());
                    any = true;
                }
                None => {}
            }
            let mut sorted = cfg.append.clone();
            sorted.sort_by_key(|(n, ..)| *n);
            for (number, ptype, path) in sorted {
                let len = path.len()?;
                h = h.append(Appended { number, ptype, len });
                appended_paths.push(path);
                any = true;
            }
            if cfg.appended_as_gpt {
                h = h.appended_as_gpt(true);
            }
            if cfg.partition_offset > 0 {
                h = h.partition_offset(cfg.partition_offset);
            }
            if let Some(t) = cfg.iso_mbr_part_type {
                h = h.iso_part_type(t);
            }
            h = h.force_bootable(cfg.mbr_force_bootable);
            if let Some(on) = cfg.cylinder_align {
                h = h.cylinder_align(on);
            }
            any.then_some(h)
        };
        // With appended partitions the padding follows them (before the backup GPT), as xorriso writes it.
        let (hybrid, pad_sectors) = match hybrid {
            Some(h) if h.has_appended() => (Some(h.tail_padding(cfg.pad_sectors)), 0),
            h => (h, cfg.pad_sectors),
        };
        Ok(BootPlan {
            catalog,
            catalog_id,
            entries,
            hybrid,
            appended_paths,
            pad_sectors,
            iso_sectors: Cell::new(0),
            synthetic,
            appended_refs,
            ids_end: next_id,
            pvd_lba: PVD_LBA,
        })
    }

    /// The plan for a session appended at LBA `start` ([`crate::mastering::spec::BuildSpec::session_start`]):
    /// boot-info tables name the session's own primary volume descriptor, at `start + 16`, as xorriso's do.
    pub fn in_session(mut self, start: u32) -> BootPlan {
        self.pvd_lba = start.saturating_add(PVD_LBA);
        self
    }

    /// The first data id neither the walked tree nor the boot structures use: another structure that needs a
    /// synthetic id (the MD5 checksum array) takes it.
    pub fn ids_end(&self) -> u32 {
        self.ids_end
    }

    fn facts(&self, ctx: Option<&EmitCtx<'_>>) -> ImageFacts {
        let lba = |e: &PlannedEntry| ctx.map(|c| c.extent_of(e.data)).unwrap_or(0);
        let bios = self.entries.first().filter(|e| e.entry.get_platform() == Platform::BIOS).map(lba);
        let efi =
            self.entries.iter().find(|e| e.in_tree && e.entry.get_platform() == Platform::EFI).map(|e| (lba(e), e.len));
        // The images `-isohybrid-gpt-basdat` followed; the EFI image when it followed none.
        let mut basdat: Vec<(u32, u64)> =
            self.entries.iter().filter(|e| e.in_tree && e.gpt_basdat).map(|e| (lba(e), e.len)).collect();
        if basdat.is_empty() {
            basdat.extend(efi);
        }
        ImageFacts {
            iso_sectors: self.iso_sectors.get() + self.pad_sectors,
            bios_boot_lba: bios,
            efi_image: efi,
            basdat_images: basdat,
        }
    }

    /// Adds the system area and the boot record (what must precede other formats' structures, such as a UDF
    /// bridge's, which count the descriptors before them).
    pub fn add_descriptors<'a>(&'a self, x: &mut ImageExtras<'a>) {
        if let Some(h) = &self.hybrid {
            x.system_area = Some(Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out: &mut dyn Write| {
                let layout = HybridLayout::plan(h, &self.facts(Some(ctx)))?;
                out.write_all(layout.system_area())?;
                Ok(())
            })));
        }
        if self.catalog.is_none() {
            return;
        }
        let cat_id = self.catalog_id;
        x.after_primary.push((
            "El Torito boot record".into(),
            Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out: &mut dyn Write| {
                out.write_all(&boot_record_descriptor(ctx.extent_of(cat_id)))?;
                Ok(())
            })),
        ));
    }

    /// Adds the catalog and the patched boot images as metadata regions (named so that [`Self::data_lba`] finds
    /// them wherever other formats' regions put them).
    pub fn add_metadata<'a>(&'a self, x: &mut ImageExtras<'a>) {
        let Some(cat) = &self.catalog else {
            return;
        };
        x.metadata.push((
            CATALOG_REGION.into(),
            u64::from(cat.sectors()),
            Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out: &mut dyn Write| {
                let mut cat = cat.clone();
                for (e, p) in cat.entries_mut().iter_mut().zip(&self.entries) {
                    e.set_lba(ctx.extent_of(p.data));
                }
                out.write_all(&cat.to_bytes())?;
                Ok(())
            })),
        ));
        for (i, e) in self.entries.iter().enumerate() {
            let Some((path, bytes, patches)) = &e.patch else { continue };
            let sectors = e.len.div_ceil(SECTOR as u64);
            let id = e.data;
            x.metadata.push((
                image_region(i, path),
                sectors,
                Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out: &mut dyn Write| {
                    let mut buf = bytes.clone();
                    patches.apply(&mut buf, self.pvd_lba, ctx.extent_of(id))?;
                    buf.resize((sectors * SECTOR as u64) as usize, 0);
                    out.write_all(&buf)?;
                    Ok(())
                })),
            ));
        }
    }

    /// After [`crate::mastering::image::plan_image`]: the LBA table to emit with, where the synthetic ids (catalog,
    /// patched boot images) have their regions' LBAs.
    pub fn data_lba(&self, planned: &PlannedImage<'_>) -> Vec<u32> {
        let mut data_lba = planned.data_lba.clone();
        let needed = self.synthetic.iter().map(|(id, _)| id.0 as usize + 1).max().unwrap_or(0);
        if data_lba.len() < needed {
            data_lba.resize(needed, 0);
        }
        let mut names = vec![CATALOG_REGION.to_string()];
        for (i, e) in self.entries.iter().enumerate() {
            if let Some((path, ..)) = &e.patch {
                names.push(image_region(i, path));
            }
        }
        let find = |name: &str| planned.plan.regions().iter().find(|r| r.what == name).map(|r| r.lba);
        for ((id, _), name) in self.synthetic.iter().zip(&names) {
            data_lba[id.0 as usize] = find(name).unwrap_or(0);
        }
        if !self.appended_refs.is_empty() {
            let needed = self.appended_refs.iter().map(|(id, _)| id.0 as usize + 1).max().unwrap_or(0);
            if data_lba.len() < needed {
                data_lba.resize(needed, 0);
            }
            let iso = match self.iso_sectors.get() {
                0 => planned.plan.total_sectors(),
                n => n,
            };
            for (id, number) in &self.appended_refs {
                data_lba[id.0 as usize] = self.appended_lba(iso, *number).unwrap_or(0);
            }
        }
        data_lba
    }

    /// Where appended partition `number` starts, for an ISO of `iso` sectors before padding.
    fn appended_lba(&self, iso: u64, number: u8) -> Option<u32> {
        let h = self.hybrid.as_ref()?;
        let mut facts = self.facts(None);
        facts.iso_sectors = iso + self.pad_sectors;
        let layout = HybridLayout::plan(h, &facts).ok()?;
        let mut at = facts.iso_sectors;
        for piece in layout.tail() {
            match piece {
                TailPiece::Zeros(n) => at += n / SECTOR as u64,
                TailPiece::File { index, len, pad } => {
                    if layout.appended_files().get(*index).map(|a| a.number) == Some(number) {
                        return u32::try_from(at).ok();
                    }
                    at += (len + pad) / SECTOR as u64;
                }
                TailPiece::Bytes(b) => at += b.len() as u64 / SECTOR as u64,
            }
        }
        None
    }

    /// After [`crate::mastering::image::plan_image`]: appends the padding and the hybrid tail to the plan and
    /// returns the volume space size (the sectors up to the first appended partition, or all of them).
    pub fn finish<'p>(&'p self, planned: &mut PlannedImage<'p>) -> Result<u32> {
        self.iso_sectors.set(planned.plan.total_sectors());
        if self.pad_sectors > 0 {
            planned.plan.push("padding", self.pad_sectors, Content::Zeros)?;
        }
        let mut volume_end = None;
        if let Some(h) = &self.hybrid {
            let layout = HybridLayout::plan(h, &self.facts(None))?;
            for piece in layout.tail() {
                match piece {
                    TailPiece::Zeros(n) => {
                        planned.plan.push("cylinder padding", n / SECTOR as u64, Content::Zeros)?;
                    }
                    TailPiece::File { index, len, pad } => {
                        if volume_end.is_none() {
                            volume_end = Some(planned.plan.total_sectors());
                        }
                        let path = self
                            .appended_paths
                            .get(*index)
                            .ok_or_else(|| anyhow!("appended partition {index} has no file"))?;
                        let (len, pad) = (*len, *pad);
                        planned.plan.push(
                            format!("appended partition {path}"),
                            (len + pad) / SECTOR as u64,
                            Content::Producer(Box::new(move |_ctx: &EmitCtx<'_>, out: &mut dyn Write| {
                                let n = path.copy_to(out)?;
                                if n != len {
                                    bail!("{path} changed size during the build");
                                }
                                out.write_all(&vec![0u8; pad as usize])?;
                                Ok(())
                            })),
                        )?;
                    }
                    TailPiece::Bytes(b) => {
                        planned.plan.push(
                            "backup GPT",
                            b.len() as u64 / SECTOR as u64,
                            Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out: &mut dyn Write| {
                                let layout = HybridLayout::plan(h, &self.facts(Some(ctx)))?;
                                match layout.tail().last() {
                                    Some(TailPiece::Bytes(b)) => out.write_all(b)?,
                                    _ => bail!("backup GPT missing from the layout"),
                                }
                                Ok(())
                            })),
                        )?;
                    }
                }
            }
            if layout.total_sectors() != planned.plan.total_sectors() {
                bail!(
                    "hybrid layout disagrees with the plan: {} vs {} sectors",
                    layout.total_sectors(),
                    planned.plan.total_sectors()
                );
            }
        }
        let end = volume_end.unwrap_or(planned.plan.total_sectors());
        u32::try_from(end).context("image too large")
    }
}

/// `-partition_offset N`: a second set of volume descriptors and directories, written for a partition that starts
/// at sector `offset`, so that mounting the partition (not the whole disk) finds a valid ISO 9660 volume. Every
/// address in the copy is relative to the partition; the file data is shared. The copy's descriptors go at
/// `2 * offset` (the partition's own LBA 16), its directories right after; `part` is a second layout of the same
/// tree and options. Call after the main descriptors' extras are all added and before any metadata region.
pub fn add_partition_copy<'a>(
    x: &mut ImageExtras<'a>,
    part: &'a mut IsoLayout<'_>,
    main_descriptors: u32,
    offset: u32,
) -> Result<()> {
    if !x.metadata.is_empty() {
        bail!("-partition_offset: the partition's descriptors must be the first metadata region");
    }
    let descriptors = 1 + x.after_primary.len() as u64 + u64::from(main_descriptors.saturating_sub(1)) + 1;
    let cursor = u64::from(SYSTEM_AREA_SECTORS) + descriptors + x.after_terminator.len() as u64;
    let target = 2 * u64::from(offset);
    if cursor > target {
        bail!("-partition_offset {offset}: the volume descriptors reach sector {cursor}, past {target}");
    }
    if cursor < target {
        x.metadata.push(("partition offset padding".into(), target - cursor, Content::Zeros));
    }
    let copies = u64::from(part.descriptor_count()) + 1;
    let rel_meta = u32::try_from(u64::from(offset) + copies).context("partition offset too large")?;
    part.place_metadata(rel_meta)?;
    let meta_sectors = part.metadata_sectors();
    let part: &'a IsoLayout<'_> = part;
    x.metadata.push((
        "partition volume descriptors".into(),
        copies,
        Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out: &mut dyn Write| {
            let total = ctx.total_sectors.saturating_sub(offset);
            out.write_all(&part.primary_descriptor(total)?)?;
            if let Some(j) = part.joliet_descriptor(total)? {
                out.write_all(&j)?;
            }
            if let Some(e) = part.enhanced_descriptor(total)? {
                out.write_all(&e)?;
            }
            out.write_all(&IsoLayout::terminator())?;
            Ok(())
        })),
    ));
    x.metadata.push((
        "partition ISO 9660 metadata".into(),
        meta_sectors,
        Content::Producer(Box::new(move |ctx: &EmitCtx<'_>, out: &mut dyn Write| {
            part.write_metadata(out, &|id: DataId| ctx.extent_of(id).saturating_sub(offset))?;
            Ok(())
        })),
    ));
    Ok(())
}

fn add_catalog_node(tree: &mut Tree, path: &str, id: DataId, size: u64, now: i64) -> Result<()> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    let Some((name, dirs)) = comps.split_last() else {
        bail!("boot catalog path `{path}` is empty");
    };
    let meta = Meta { perm: 0o444, mtime: now, atime: now, ctime: now, ..Meta::default() };
    let mut at = Tree::ROOT;
    for d in dirs {
        at = match tree.lookup(at, d.as_bytes()) {
            Some(n) => n,
            None => tree.add(at, d.as_bytes(), NodeKind::Dir, Meta { perm: 0o555, ..meta })?,
        };
    }
    let kind = NodeKind::File(FileData { data: id, stored_size: size, zisofs_size: None });
    match tree.lookup(at, name.as_bytes()) {
        Some(n) if matches!(tree.kind(n), Some(NodeKind::File(_))) => tree.replace(n, kind, meta),
        Some(_) => bail!("boot catalog path `{path}` names a directory or special file"),
        None => {
            tree.add(at, name.as_bytes(), kind, meta)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mastering::walk::{walk, WalkOptions};
    use std::ffi::OsString;

    fn walked(files: &[(&str, usize)]) -> (tempfile::TempDir, Walked) {
        let dir = tempfile::tempdir().unwrap();
        for (path, len) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![7u8; *len]).unwrap();
        }
        let w = walk(&[OsString::from(dir.path())], &WalkOptions { hidden: true, ..Default::default() }).unwrap();
        (dir, w)
    }

    #[test]
    fn catalog_node_and_aliases() {
        let (_d, mut w) = walked(&[("isolinux/isolinux.bin", 5000), ("efi.img", 1_474_560), ("other", 10)]);
        let items = w.data.items().len() as u32;
        let cfg = BootConfig {
            entries: vec![
                BootSpec {
                    image: "isolinux/isolinux.bin".into(),
                    emulation: Some(EmulChoice::None),
                    boot_info_table: true,
                    ..Default::default()
                },
                BootSpec {
                    image: "/efi.img".into(),
                    platform: Some(Platform::EFI),
                    emulation: Some(EmulChoice::None),
                    ..Default::default()
                },
            ],
            catalog: Some("isolinux/boot.cat".into()),
            ..Default::default()
        };
        let plan = BootPlan::prepare(&cfg, &mut w, 0).unwrap();
        let cat = lookup_path(&w.tree, "isolinux/boot.cat").unwrap();
        let Some(NodeKind::File(fd)) = w.tree.kind(cat) else { panic!("catalog is not a file") };
        assert_eq!(fd.data, DataId(items));
        assert_eq!(fd.stored_size, 2048);
        // The patched image's item now aliases the synthetic id after the catalog's.
        let bin = lookup_path(&w.tree, "isolinux/isolinux.bin").unwrap();
        let Some(NodeKind::File(bfd)) = w.tree.kind(bin) else { panic!() };
        assert_eq!(w.data.alias[bfd.data.0 as usize], items + 1);
        assert_eq!(plan.synthetic, [(DataId(items), 1), (DataId(items + 1), 3)]);
        let mut x = ImageExtras::default();
        plan.add_descriptors(&mut x);
        plan.add_metadata(&mut x);
        assert_eq!((x.after_primary.len(), x.metadata.len()), (1, 2));

        let missing =
            BootConfig { entries: vec![BootSpec { image: "nope".into(), ..Default::default() }], ..Default::default() };
        assert!(BootPlan::prepare(&missing, &mut w, 0).is_err());
        let floppy = BootConfig {
            entries: vec![BootSpec { image: "other".into(), ..Default::default() }],
            ..Default::default()
        };
        assert!(BootPlan::prepare(&floppy, &mut w, 0).is_err(), "10 bytes is no floppy size");
    }

    #[test]
    fn intervals_and_zeroizers() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("area.bin");
        let mut area = vec![0x11u8; 8192];
        area[510] = 0x55;
        area[511] = 0xAA;
        area[512..520].copy_from_slice(b"EFI PART");
        area[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
        area[512 + 80..512 + 84].copy_from_slice(&4u32.to_le_bytes());
        area[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
        std::fs::write(&f, &area).unwrap();
        let src = ByteSource::parse(&format!("--interval:local_fs:0d-3d:zero_mbrpt,zero_gpt,100-101:{}", f.display()))
            .unwrap();
        assert_eq!(src.len().unwrap(), 2048);
        let got = src.read_all(2048).unwrap();
        assert!(got[446..510].iter().all(|&b| b == 0) && got[510] == 0x55, "MBR table zeroed, signature kept");
        assert!(got[512..1024].iter().all(|&b| b == 0), "GPT header zeroed");
        assert!(got[1024..1536].iter().all(|&b| b == 0), "4 entries of 128 bytes at block 2 zeroed");
        assert_eq!((got[99], got[100], got[101], got[102]), (0x11, 0, 0, 0x11));
        assert_eq!(got[1536], 0x11);
        // The range is cut at the file's end; one starting past it is an error.
        let cut = ByteSource::parse(&format!("--interval:local_fs:2k-1m::{}", f.display())).unwrap();
        assert_eq!(cut.len().unwrap(), 8192 - 2048);
        assert!(ByteSource::parse(&format!("--interval:local_fs:9k-10k::{}", f.display())).unwrap().len().is_err());
        assert_eq!(ByteSource::parse("plain.bin").unwrap(), ByteSource::File("plain.bin".into()));
    }

    #[test]
    fn hidden_catalog_and_replaced_catalog() {
        let (_d, mut w) = walked(&[("b.img", 2048), ("boot.catalog", 3)]);
        let cfg = BootConfig {
            entries: vec![BootSpec { image: "b.img".into(), emulation: Some(EmulChoice::None), ..Default::default() }],
            ..Default::default()
        };
        let n = w.tree.len();
        BootPlan::prepare(&cfg, &mut w, 0).unwrap();
        assert_eq!(w.tree.len(), n, "the stale boot.catalog of the source is replaced");
        let (_d, mut w) = walked(&[("b.img", 2048)]);
        let n = w.tree.len();
        BootPlan::prepare(&BootConfig { catalog_hide: true, ..cfg }, &mut w, 0).unwrap();
        assert_eq!(w.tree.len(), n);
    }
}

//! Replaying an image's boot setup: what El Torito entries, system area (MBR, GPT, APM) and appended partitions
//! an existing image has, turned into a [`BootConfig`] a new build of the same tree can use, and into the
//! `mkisofs` options that rebuild it, line for line as `xorriso -report_el_torito as_mkisofs` prints them.
//!
//! The analysis follows what xorriso 1.5.4 concludes from an image (its `-report_el_torito plain` and
//! `-report_system_area plain` facts), so that the options printed are the ones a remastering script expects:
//! - boot images: the file of the ISO tree whose data starts at the entry's LBA names an image; a boot info table
//!   is detected by recomputing it (PVD LBA, image LBA, size, checksum of the bytes from 64 on) and comparing,
//!   GRUB2 boot info by the 64-bit block address at byte 2548 (`LBA * 4 + 5`), and an image is "isohybrid
//!   suitable" when it has a boot info table and bytes 64..68 are `FB C0 78 70` (ISOLINUX);
//! - the MBR is an isohybrid one when the first boot image is isohybrid suitable, `isolinux` appears in the boot
//!   code and the address at byte 432 is that image's (`LBA * 4`); a GRUB2 hybrid MBR when the 64-bit address at
//!   0x1B0 is `LBA * 4 + 4`; a protective MSDOS label when partition 1 starts at block 1 and covers the volume (or
//!   reaches partition 2); `-partition_offset 16` when partition 1 (or the first GPT partition behind a protective
//!   MBR) starts on a second set of volume descriptors; cylinder alignment from where partitions end;
//! - partitions that start after the ISO's data are appended partitions, read back as byte ranges of the input
//!   (`--interval:local_fs:STARTd-ENDd::'IMG'`, `d` = 512 bytes), and a UEFI entry whose image is such a partition
//!   becomes `-e '--interval:appended_partition_N_start_LBAs_size_BLOCKSd:all::'`;
//! - the system area itself is taken from the input (`--interval:local_fs:0s-15s:zero_mbrpt,...:'IMG'`, `s` =
//!   2048 bytes) with its old partition tables zeroed, so that boot code beyond the first 446 bytes survives.
//!
//! Known differences from xorriso: an Apple partition map and HFS+ tree are reported (`-apm-block-size`,
//! `-hfsplus`) but odix writes neither, so a rebuild has no APM; the MBR geometry is read from the partitions'
//! CHS fields when they agree and is otherwise 64 heads and 32 sectors (xorriso searches further).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use odix_iso9660::format::el_torito::BootEntry;
use odix_iso9660::format::hybrid::{parse_apm, parse_gpt_entries, parse_gpt_header};
use odix_iso9660::write::eltorito::{LoadSize, Platform};
use odix_iso9660::write::hybrid::{Guid, PartitionType};
use odix_iso9660::{EntryKind, View as IsoView};

use crate::boot::{shell_quote, BootConfig, BootSpec, ByteSource, EfiPartSpec, EmulChoice, ZeroFlags};
use crate::source::Source;

/// What an image's boot setup replays into; see the [module documentation](self).
#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// The boot setup for a new build from the same tree: boot images that are files of the ISO tree are named by
    /// their path in the tree (so an edit that replaces the file uses the new one); everything else (the system
    /// area template, boot images outside the tree, appended partitions) refers to byte ranges of the input file.
    pub config: BootConfig,
    /// One mkisofs option (with its value) per line, as `xorriso -report_el_torito as_mkisofs` prints them.
    pub as_mkisofs: Vec<String>,
    /// The tree paths `config` uses (boot images, catalog), so an edit can refuse to remove them.
    pub uses: Vec<String>,
    /// What could not be replayed and was left out (the caller decides whether that is an error).
    pub warnings: Vec<String>,
}

/// Everything: El Torito entries, patching, system area, partitions (xorriso's `-boot_image any replay`).
pub fn replay(image: &crate::Image) -> Result<Replay> {
    let facts = Facts::read(image)?;
    Ok(facts.replay())
}

/// The El Torito entries only, their images not re-patched, no system area and no partitions (xorriso's
/// `-boot_image any keep`). Entries whose image is not a file of the tree cannot be kept and are left out with a
/// warning.
pub fn keep_catalog(image: &crate::Image) -> Result<Replay> {
    let facts = Facts::read(image)?;
    let mut r = Replay::default();
    let Some(cat) = &facts.catalog else { return Ok(r) };
    match &cat.path {
        Some(p) => {
            r.config.catalog = Some(p.trim_start_matches('/').to_string());
            r.uses.push(p.clone());
        }
        None => r.config.catalog_hide = true,
    }
    for (i, img) in facts.images.iter().enumerate() {
        let Some(path) = &img.path else {
            r.warnings.push(format!("El Torito entry {}: its image is not a file of the ISO tree; left out", i + 1));
            continue;
        };
        let mut spec = img.spec(path);
        spec.boot_info_table = false;
        spec.grub2_boot_info = false;
        r.uses.push(path.clone());
        r.config.entries.push(spec);
    }
    Ok(r)
}

/// One El Torito entry and its image.
#[derive(Clone, Debug)]
struct Img {
    entry: BootEntry,
    /// The file whose data starts at the entry's LBA.
    path: Option<String>,
    boot_info_table: bool,
    grub2_boot_info: bool,
    isohybrid_suitable: bool,
}

impl Img {
    fn emulation(&self) -> &'static str {
        match self.entry.media_type & 0x0F {
            0 => "none",
            4 => "hd",
            _ => "fd",
        }
    }

    /// The entry as a build option, its image named `image`.
    fn spec(&self, image: &str) -> BootSpec {
        let e = &self.entry;
        BootSpec {
            image: image.trim_start_matches('/').to_string(),
            platform: Some(Platform(e.platform_id)),
            emulation: match self.emulation() {
                "none" => Some(EmulChoice::None),
                "hd" => Some(EmulChoice::HardDisk),
                _ => None,
            },
            load_size: Some(LoadSize::Sectors(e.sector_count)),
            load_segment: e.load_segment,
            boot_info_table: self.boot_info_table,
            grub2_boot_info: self.grub2_boot_info,
            not_bootable: !e.bootable(),
            gpt_basdat: false,
        }
    }
}

/// The catalog: its LBA and the file that holds it.
#[derive(Clone, Debug)]
struct Catalog {
    path: Option<String>,
}

/// An MBR partition entry.
#[derive(Clone, Copy, Debug)]
struct MbrPart {
    number: u8,
    status: u8,
    ptype: u8,
    start: u64,
    blocks: u64,
    /// End head and sector of the CHS address.
    end_h: u32,
    end_s: u32,
    end_c: u32,
}

/// A GPT partition entry.
#[derive(Clone, Debug)]
struct GptPart {
    number: u32,
    type_guid: [u8; 16],
    start: u64,
    blocks: u64,
    is_gap: bool,
    path: Option<String>,
}

/// What is read of the image, once.
struct Facts {
    /// The image file as named (intervals refer to it).
    file: PathBuf,
    volume_id: String,
    /// The 16 digits of the volume creation (or, when bad, modification) date.
    date: Option<String>,
    catalog: Option<Catalog>,
    images: Vec<Img>,
    /// Highest 2048-byte block holding file data.
    high_block: u64,
    /// Volume space size in 2048-byte blocks.
    image_size: u64,
    /// The system area (32 KiB), when not all zero.
    area: Option<Vec<u8>>,
    mbr: Vec<MbrPart>,
    /// The MBR paths: partition number and the file whose data starts where it starts.
    mbr_paths: Vec<(u8, String)>,
    gpt: Vec<GptPart>,
    gpt_backup_lba: u64,
    apm_block_size: Option<u16>,
    /// APM partitions: (type is Apple_HFS and name HFSPLUS_Hybrid, start, blocks).
    apm: Vec<(bool, u64, u64)>,
    isohybrid: bool,
    grub2_mbr: bool,
    protective: bool,
    /// 0 auto, 1 on, 2 off, 3 all.
    cyl_align: u8,
    partition_offset: u64,
    heads: u32,
    sectors: u32,
    warnings: Vec<String>,
}

/// `le32`/`le64` of a buffer, 0 past its end.
fn le(buf: &[u8], at: usize, n: usize) -> u64 {
    buf.get(at..at.saturating_add(n)).map_or(0, |b| b.iter().rev().fold(0u64, |v, x| v << 8 | u64::from(*x)))
}

fn read_at(src: &mut Source, at: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    src.seek(SeekFrom::Start(at)).with_context(|| format!("seeking to byte {at}"))?;
    let mut done = 0;
    while done < len {
        let n = src.read(&mut buf[done..]).with_context(|| format!("reading byte {}", at + done as u64))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

/// Bytes of a boot image libisofs examines for patches (larger images are not looked at).
const MAX_EXAMINED_IMAGE: u64 = 4 << 20;

/// Byte offset of the GRUB2 boot info in `eltorito.img` and the value added to its block address.
const GRUB2_INFO_AT: usize = 2548;
const GRUB2_INFO_ADD: u64 = 5;

impl Facts {
    fn read(image: &crate::Image) -> Result<Facts> {
        if image.is_raw() || image.plain_file().is_none() {
            bail!(
                "{}: replaying a boot setup needs an image file (its system area and partitions are read back as \
                 byte ranges of it)",
                image.path().display()
            );
        }
        let ro = image.read_options();
        let l = &ro.limits;
        let opts = odix_iso9660::Options::default()
            .strict(ro.strict)
            .charset(ro.charset)
            .session_start(ro.session_start)
            .limits(
                odix_iso9660::Limits::default()
                    .with_max_depth(l.max_depth)
                    .with_max_dir_entries(l.max_dir_entries)
                    .with_max_continuations(l.max_continuations)
                    .with_max_alloc(l.max_alloc),
            );
        let name = image.path().display().to_string();
        let mut img = odix_iso9660::Image::open(image.reader()?, opts).map_err(|e| anyhow!("{name}: {e}"))?;
        let p = img.primary();
        let volume_id = p.text(&p.volume_id).trim_end().to_string();
        let image_size = u64::from(p.volume_space_size.value());
        let cat = img.boot_catalog().map_err(|e| anyhow!("{name}: El Torito boot catalog: {e}"))?;

        // Which file starts where, and the highest block of file data.
        let view = if img.rock_ridge().is_some() { IsoView::RockRidge } else { IsoView::Plain };
        let root = img.root(view).map_err(|e| anyhow!("{name}: {e}"))?;
        let mut by_lba: HashMap<u64, (String, u64)> = HashMap::new();
        let mut high_block = 0u64;
        img.walk(&root, l.max_total_entries, &mut |path, e| {
            if e.kind() != EntryKind::File {
                return;
            }
            if let Some(x) = e.extents().first() {
                by_lba.entry(x.lba).or_insert_with(|| (path.to_string(), e.size()));
            }
            for x in e.extents().iter().filter(|x| x.length > 0) {
                high_block = high_block.max(x.lba + x.length.div_ceil(2048) - 1);
            }
        })
        .map_err(|e| anyhow!("{name}: {e}"))?;
        let mut warnings: Vec<String> = img.take_warnings().into_iter().map(|w| format!("{name}: {w}")).collect();
        drop(img);

        let mut src = image.reader()?;
        let session = ro.session_start * 2048;
        let pvd = read_at(&mut src, session + 16 * 2048, 2048)?;
        let digits = |at: usize| -> Option<String> {
            let d = pvd.get(at..at + 16)?;
            d.iter().all(u8::is_ascii_digit).then(|| String::from_utf8_lossy(d).into_owned())
        };
        let valid = |s: &String| chrono::NaiveDateTime::parse_from_str(&s[..14], "%Y%m%d%H%M%S").is_ok();
        let date = digits(813).filter(valid).or_else(|| digits(830).filter(valid));

        let mut images = Vec::new();
        let catalog = match cat {
            None => None,
            Some((cat_lba, cat)) => {
                for e in &cat.entries {
                    let lba = u64::from(e.load_rba);
                    let found = by_lba.get(&lba).cloned();
                    let size = found.as_ref().map_or(u64::from(e.sector_count) * 512, |(_, s)| *s);
                    let mut i = Img {
                        entry: e.clone(),
                        path: found.map(|(p, _)| p),
                        boot_info_table: false,
                        grub2_boot_info: false,
                        isohybrid_suitable: false,
                    };
                    if (64..=MAX_EXAMINED_IMAGE).contains(&size) && lba != 0 {
                        let buf = read_at(&mut src, lba * 2048, size as usize)?;
                        i.examine(&buf, ro.session_start + 16, lba);
                    }
                    images.push(i);
                }
                Some(Catalog { path: by_lba.get(&cat_lba).map(|(p, _)| p.clone()) })
            }
        };

        let mut area = read_at(&mut src, 0, 32768)?;
        // An image shorter than its system area reads as zeros past its end.
        area.resize(32768, 0);
        let mut f = Facts {
            file: image.path().to_path_buf(),
            volume_id,
            date,
            catalog,
            images,
            high_block,
            image_size,
            area: None,
            mbr: Vec::new(),
            mbr_paths: Vec::new(),
            gpt: Vec::new(),
            gpt_backup_lba: 0,
            apm_block_size: None,
            apm: Vec::new(),
            isohybrid: false,
            grub2_mbr: false,
            protective: false,
            cyl_align: 0,
            partition_offset: 0,
            heads: 64,
            sectors: 32,
            warnings: Vec::new(),
        };
        if area.iter().any(|&b| b != 0) {
            f.system_area(&area, &mut src, &by_lba)?;
            f.area = Some(area);
        }
        warnings.append(&mut f.warnings);
        f.warnings = warnings;
        Ok(f)
    }

    /// Reads the MBR, GPT and APM of the system area as xorriso classifies them.
    fn system_area(&mut self, sa: &[u8], src: &mut Source, by_lba: &HashMap<u64, (String, u64)>) -> Result<()> {
        let path_at = |block: u64| block.is_multiple_of(4).then(|| by_lba.get(&(block / 4)).map(|(p, _)| p.clone()))?;
        if sa.get(510..512) == Some(&[0x55, 0xAA][..]) {
            for i in 0..4u8 {
                let e = &sa[446 + 16 * usize::from(i)..462 + 16 * usize::from(i)];
                if e.iter().all(|&b| b == 0) || le(e, 12, 4) == 0 {
                    continue;
                }
                self.mbr.push(MbrPart {
                    number: i + 1,
                    status: e[0],
                    ptype: e[4],
                    start: le(e, 8, 4),
                    blocks: le(e, 12, 4),
                    end_h: u32::from(e[5]),
                    end_s: u32::from(e[6] & 63),
                    end_c: (u32::from(e[6] & 0xC0) << 2) | u32::from(e[7]),
                });
            }
            self.geometry();
            let first_lba = self.images.first().map(|i| u64::from(i.entry.load_rba));
            if let Some(lba) = first_lba {
                let suitable = self.images.first().is_some_and(|i| i.isohybrid_suitable);
                let isolinux = sa[..434].windows(8).any(|w| w == b"isolinux");
                if suitable && isolinux && le(sa, 432, 4) / 4 == lba {
                    self.isohybrid = true;
                } else if (le(sa, 0x1B0, 8) / 4).checked_sub(1) == Some(lba) {
                    self.grub2_mbr = true;
                }
            }
            if let Some(p) = self.mbr.first().copied() {
                if p.ptype == 0xEE || !self.isohybrid {
                    let part2 = self.mbr.get(1).map_or(0, |q| q.start);
                    let n = self.mbr.len();
                    let size = self.image_size * 4;
                    if p.start == 1
                        && (p.blocks + 1 == size
                            || (p.ptype == 0xEE
                                && p.blocks + 1 >= size
                                && (n == 1 || (n == 2 && self.mbr[1].ptype == 0x00)))
                            || p.blocks + 1 == part2)
                    {
                        self.protective = true;
                    }
                }
                if (p.status == 0x80 || p.status == 0)
                    && p.start >= 64
                    && p.blocks >= 72
                    && p.start <= 2048
                    && p.start % 4 == 0
                    && p.blocks % 4 == 0
                    && (p.start + p.blocks) / 4 <= self.image_size
                {
                    self.check_offset(src, p.start, p.blocks)?;
                }
            }
            for p in &self.mbr {
                if let Some(path) = path_at(p.start) {
                    self.mbr_paths.push((p.number, path));
                }
            }
        }
        if let Some(h) = sa.get(512..1024).and_then(parse_gpt_header) {
            if h.revision == 0x0001_0000 && h.header_size >= 92 && h.entry_size == 128 {
                let len = usize::try_from(u64::from(h.num_entries) * 128).unwrap_or(0).min(1 << 20);
                let buf = read_at(src, h.entries_lba.saturating_mul(512), len)?;
                self.gpt_backup_lba = h.backup_lba;
                for e in parse_gpt_entries(&buf, &h) {
                    let blocks = (e.last_lba + 1).saturating_sub(e.first_lba);
                    self.gpt.push(GptPart {
                        number: e.index,
                        type_guid: e.type_guid,
                        start: e.first_lba,
                        blocks,
                        is_gap: e.name.starts_with("Gap"),
                        path: path_at(e.first_lba),
                    });
                }
            }
        }
        if self.partition_offset == 0 {
            if let (Some(m), Some(g)) = (self.mbr.first().copied(), self.gpt.first().cloned()) {
                if m.ptype == 0xEE
                    && m.start == 1
                    && g.start >= 64
                    && g.blocks >= 72
                    && g.start <= 2048
                    && g.start % 4 == 0
                    && g.blocks % 4 == 0
                {
                    self.check_offset(src, g.start, g.blocks)?;
                }
            }
        }
        if let Some((bs, parts)) = parse_apm(sa, 64) {
            self.apm_block_size = Some(bs);
            for p in parts.iter().filter(|p| p.partition_type != "Apple_partition_map") {
                let hfs = p.partition_type == "Apple_HFS" && p.name == "HFSPLUS_Hybrid";
                self.apm.push((hfs, u64::from(p.start_block), u64::from(p.blocks)));
            }
        }
        Ok(())
    }

    /// Heads per cylinder and sectors per head from the partitions' end CHS fields, when they agree; the
    /// cylinder alignment from where the partitions end.
    fn geometry(&mut self) {
        let (mut hpc, mut sph) = (0u32, 0u32);
        let mut ok = true;
        for p in &self.mbr {
            if sph == 0 {
                sph = p.end_s;
            } else if sph != p.end_s {
                ok = false;
            }
            if hpc == 0 {
                hpc = p.end_h + 1;
            } else if hpc != p.end_h + 1 {
                ok = false;
            }
            let chs = (u64::from(p.end_c) * u64::from(hpc) + u64::from(p.end_h)) * u64::from(sph) + u64::from(p.end_s);
            if chs != p.start + p.blocks {
                ok = false;
            }
        }
        if ok && (1..=255).contains(&hpc) && (1..=63).contains(&sph) {
            (self.heads, self.sectors) = (hpc, sph);
        }
        let cyl = u64::from(self.heads * self.sectors);
        self.cyl_align = 2;
        if !self.mbr.is_empty() {
            let mut after = false;
            let mut aligned = 0;
            for p in &self.mbr {
                // As libisofs compares it: the partition's 512-byte start against the 2048-byte volume size.
                if p.start >= self.image_size {
                    after = true;
                }
                if (p.start + p.blocks) % cyl != 0 {
                    break;
                }
                aligned += 1;
            }
            if aligned == self.mbr.len() && after {
                self.cyl_align = 3;
            } else if aligned >= 1 {
                self.cyl_align = 1;
            }
        }
    }

    /// A second set of volume descriptors at a partition's start: `-partition_offset`.
    fn check_offset(&mut self, src: &mut Source, start: u64, blocks: u64) -> Result<()> {
        let offset = start / 4;
        let pvd = read_at(src, (offset + 16) * 2048, 2048)?;
        if pvd.len() == 2048 && pvd[0] == 1 && &pvd[1..6] == b"CD001" && pvd[6] == 1 && pvd[881] == 1 {
            let size = le(&pvd, 80, 4);
            if size + offset == self.image_size || size == blocks / 4 {
                self.partition_offset = offset;
            }
        }
        Ok(())
    }

    /// The interval string of 512- or 2048-byte units `first..=last` of the input.
    fn interval(&self, first: u64, last: u64, unit: &str, killers: &ZeroFlags) -> String {
        format!(
            "--interval:local_fs:{first}{unit}-{last}{unit}:{}:{}",
            killers.to_arg(),
            shell_quote(&self.file.display().to_string())
        )
    }

    /// `-append_partition N 0xTYPE --interval:...` for MBR partition `m`, as a line and in the config.
    fn append_mbr_partition(&self, m: &MbrPart, lines: &mut Vec<String>, cfg: &mut BootConfig) {
        lines.push(format!(
            "-append_partition {} 0x{:x} {}",
            m.number,
            m.ptype,
            self.interval(m.start, m.start + m.blocks - 1, "d", &ZeroFlags::default())
        ));
        cfg.append.push((m.number, PartitionType::Mbr(m.ptype), self.range(m.start, m.blocks)));
    }

    fn range(&self, first_block: u64, blocks: u64) -> ByteSource {
        ByteSource::Interval {
            path: self.file.clone(),
            start: first_block * 512,
            end: (first_block + blocks) * 512 - 1,
            flags: ZeroFlags::default(),
        }
    }

    fn replay(&self) -> Replay {
        let mut r = Replay { warnings: self.warnings.clone(), ..Replay::default() };
        if self.catalog.is_none() && self.area.is_none() {
            // Nothing to replay: xorriso prints not even the volume id then.
            return r;
        }
        let mut lines: Vec<String> = Vec::new();
        let cfg = &mut r.config;
        lines.push(format!("-V {}", shell_quote(&self.volume_id)));
        if let Some(d) = &self.date {
            lines.push(format!("--modification-date={}", shell_quote(d)));
        }
        let killers = ZeroFlags {
            mbr_table: !self.mbr.is_empty(),
            gpt: !self.gpt.is_empty(),
            apm: !self.apm.is_empty(),
            ranges: Vec::new(),
        };
        let whole_area = ByteSource::Interval { path: self.file.clone(), start: 0, end: 32767, flags: killers.clone() };
        let mut did_area = false;
        let mut efi_boot_part = false;
        let mut appended_as_gpt = self.gpt.iter().any(|g| g.blocks > 0);
        if appended_as_gpt && !self.protective {
            let m = self.mbr.first();
            if self.mbr.len() != 1
                || m.is_some_and(|m| m.ptype != 0xEE || m.start != 1 || m.blocks != self.gpt_backup_lba)
            {
                appended_as_gpt = false;
            }
        }
        let mut appended_as_gpt_used = false;
        let offset_blocks = self.partition_offset * 4;
        let iso_part_blocks = self
            .mbr
            .iter()
            .find(|m| m.start == offset_blocks)
            .map_or(self.image_size * 4, |m| m.blocks + offset_blocks);
        let mbr_parts_end = self.mbr.iter().map(|m| m.start + m.blocks).max().unwrap_or(0);
        // -iso_mbr_part_type: the partition that starts at the offset and holds all file data.
        let iso_part_type: Option<String> = self
            .mbr
            .iter()
            .find(|m| m.start == offset_blocks && m.start + m.blocks >= self.high_block * 4)
            .map(|m| format!("0x{:02x}", m.ptype))
            .or_else(|| {
                self.gpt
                    .iter()
                    .find(|g| g.start == offset_blocks && g.start + g.blocks >= self.high_block * 4)
                    .map(|g| hex(&g.type_guid))
            });
        // Per El Torito entry: marked by -isohybrid-gpt-basdat, and its path for the command line.
        let mut basdat = vec![false; self.images.len()];
        let mut pseudo: Vec<Option<String>> = vec![None; self.images.len()];
        let mut mbr_appended = vec![false; self.mbr.len()];
        let has_path: Vec<bool> = self.mbr.iter().map(|m| self.mbr_paths.iter().any(|(n, _)| *n == m.number)).collect();

        if self.area.is_some() {
            if !self.mbr.is_empty() {
                if self.isohybrid {
                    lines.push(format!("-isohybrid-mbr {}", self.interval(0, 15, "s", &killers)));
                    cfg.isohybrid_mbr = Some(whole_area.clone());
                    did_area = true;
                }
                if self.grub2_mbr && !self.isohybrid {
                    lines.push(format!("--grub2-mbr {}", self.interval(0, 15, "s", &killers)));
                    cfg.grub2_mbr = Some(whole_area.clone());
                    did_area = true;
                }
                if self.protective && !self.isohybrid {
                    lines.push("--protective-msdos-label".into());
                    cfg.protective_msdos_label = true;
                }
                let (word, on) = match self.cyl_align {
                    1 => ("on", Some(true)),
                    3 => ("all", Some(true)),
                    _ => ("off", Some(false)),
                };
                lines.push(format!("-partition_cyl_align {word}"));
                cfg.cylinder_align = on;
                if self.partition_offset == 0 || self.partition_offset == 16 {
                    lines.push(format!("-partition_offset {}", self.partition_offset));
                    cfg.partition_offset = self.partition_offset as u32;
                } else {
                    r.warnings.push(format!(
                        "partition offset {} is not replayed (odix writes 0 or 16)",
                        self.partition_offset
                    ));
                }
                lines.push(format!("-partition_hd_cyl {}", self.heads));
                lines.push(format!("-partition_sec_hd {}", self.sectors));
                if (self.heads, self.sectors) != (64, 32) {
                    r.warnings.push(format!(
                        "MBR geometry {} heads, {} sectors: odix writes 64 and 32",
                        self.heads, self.sectors
                    ));
                }
                let mut force = false;
                for (i, m) in self.mbr.iter().enumerate() {
                    if m.ptype != 0x00
                        && m.ptype != 0xEE
                        && (iso_part_blocks <= m.start
                            || (self.protective && self.image_size * 4 == mbr_parts_end && m.number > 1))
                        && !appended_as_gpt
                    {
                        self.append_mbr_partition(m, &mut lines, cfg);
                        mbr_appended[i] = true;
                    }
                    if m.status & 0x80 != 0 && !force {
                        force = true;
                        lines.push("--mbr-force-bootable".into());
                        cfg.mbr_force_bootable = true;
                    }
                }
                for (n, path) in &self.mbr_paths {
                    let ptype = self.mbr.iter().find(|m| m.number == *n).map_or(0, |m| m.ptype);
                    let kind = if ptype == 0xEF { 3 } else { 0 };
                    if !self.mark_by_path(path, kind, &mut basdat, &mut efi_boot_part) {
                        r.warnings.push(format!(
                            "MBR partition {n} over {path}, which is not an El Torito boot image, is not replayed"
                        ));
                    }
                }
            }
            for g in &self.gpt {
                let kind = gpt_kind(&g.type_guid);
                if self.high_block * 4 < g.start && g.blocks > 0 && !g.is_gap {
                    if !self.mbr.iter().any(|m| m.start == g.start) {
                        if appended_as_gpt {
                            appended_as_gpt_used = true;
                        }
                        lines.push(format!(
                            "-append_partition {} {} {}",
                            g.number,
                            hex(&g.type_guid),
                            self.interval(g.start, g.start + g.blocks - 1, "d", &ZeroFlags::default())
                        ));
                        let ptype = if g.type_guid == Guid::EFI_SYSTEM.0 {
                            PartitionType::Mbr(0xEF)
                        } else {
                            PartitionType::Gpt(Guid(g.type_guid))
                        };
                        cfg.append.push((u8::try_from(g.number).unwrap_or(0), ptype, self.range(g.start, g.blocks)));
                    }
                    if !self.protective {
                        if let Some(i) = self.images.iter().position(|i| u64::from(i.entry.load_rba) == g.start / 4) {
                            if !basdat[i] {
                                r.warnings.push(
                                    "a GPT partition over a boot image outside an isohybrid MBR \
                                     (-part_like_isohybrid) is not replayed"
                                        .into(),
                                );
                            }
                            if self.isohybrid && (kind == 1 || kind == 3) {
                                basdat[i] = true;
                            }
                        }
                    }
                } else if kind == 3 && g.path.is_none() && self.image_size * 4 >= g.start + g.blocks && !efi_boot_part {
                    lines.push(format!(
                        "-efi-boot-part {}",
                        self.interval(g.start, g.start + g.blocks - 1, "d", &ZeroFlags::default())
                    ));
                    cfg.efi_boot_part = Some(EfiPartSpec::File(self.range(g.start, g.blocks)));
                    efi_boot_part = true;
                    r.warnings.push(
                        "the EFI partition inside the ISO becomes a partition appended after the new image".into(),
                    );
                }
                if let Some(path) = &g.path {
                    if !self.mark_by_path(path, kind, &mut basdat, &mut efi_boot_part) {
                        r.warnings.push(format!("GPT partition {} over {path} is not replayed", g.number));
                    }
                }
            }
            if let Some(bs) = self.apm_block_size {
                lines.push(format!("-apm-block-size {bs}"));
                if let Some(_hfs) = self.apm.iter().find(|(hfs, s, n)| *hfs && s + n <= self.image_size * 4) {
                    lines.push("-hfsplus".into());
                }
                r.warnings.push("the Apple partition map (and HFS+ tree) is not replayed: odix writes neither".into());
            }
            if appended_as_gpt_used {
                lines.push("-appended_part_as_gpt".into());
                cfg.appended_as_gpt = true;
            }
            if !did_area {
                lines.push(format!("-G {}", self.interval(0, 15, "s", &killers)));
                cfg.embedded_boot = Some(whole_area.clone());
            }
            if let Some(t) = &iso_part_type {
                lines.push(format!("-iso_mbr_part_type {t}"));
                if let Some(b) = t.strip_prefix("0x").and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    cfg.iso_mbr_part_type = Some(b);
                }
            }
        }

        let Some(cat) = &self.catalog else {
            r.as_mkisofs = lines;
            return r;
        };
        if efi_boot_part {
            lines.push("-efi-boot-part --efi-boot-image".into());
            cfg.efi_boot_part = Some(EfiPartSpec::ElToritoImage);
        }
        match &cat.path {
            Some(p) => {
                lines.push(format!("-c {}", shell_quote(p)));
                cfg.catalog = Some(p.trim_start_matches('/').to_string());
                r.uses.push(p.clone());
            }
            None => {
                lines.push("--boot-catalog-hide".into());
                cfg.catalog_hide = true;
            }
        }
        let mut prev_platform = 0u8;
        for (idx, img) in self.images.iter().enumerate() {
            let e = &img.entry;
            if e.load_segment != 0 && e.load_segment != 0x07C0 {
                r.warnings.push(format!(
                    "El Torito entry {}: load segment 0x{:04x} is neither 0 nor 0x7c0; left out",
                    idx + 1,
                    e.load_segment
                ));
                continue;
            }
            if idx > 0 {
                lines.push("-eltorito-alt-boot".into());
            }
            let lba = u64::from(e.load_rba);
            let ldsiz = u64::from(e.sector_count);
            if img.path.is_none() {
                let fits = |start: u64, blocks: u64| start == lba * 4 && (blocks == ldsiz || ldsiz <= 1);
                if let Some(i) = self
                    .mbr
                    .iter()
                    .enumerate()
                    .position(|(i, m)| (mbr_appended[i] || !has_path[i]) && fits(m.start, m.blocks))
                {
                    let m = self.mbr[i];
                    if !mbr_appended[i] {
                        mbr_appended[i] = true;
                        if !appended_as_gpt {
                            self.append_mbr_partition(&m, &mut lines, cfg);
                        }
                    }
                    pseudo[idx] = Some(format!(
                        "--interval:appended_partition_{}_start_{lba}s_size_{}d:all::",
                        m.number, m.blocks
                    ));
                }
                if pseudo[idx].is_none() && self.protective {
                    if let Some(g) = self.gpt.iter().find(|g| fits(g.start, g.blocks)) {
                        pseudo[idx] = Some(format!(
                            "--interval:appended_partition_{}_start_{lba}s_size_{}d:all::",
                            g.number, g.blocks
                        ));
                    }
                }
                if pseudo[idx].is_none() {
                    r.warnings.push(format!(
                        "El Torito entry {}: its image (LBA {lba}) is neither a file of the ISO tree nor an appended \
                         partition; left out",
                        idx + 1
                    ));
                    continue;
                }
            }
            let shown = img.path.clone().or_else(|| pseudo[idx].clone()).unwrap_or_default();
            if e.platform_id != 0xEF {
                if prev_platform != e.platform_id {
                    lines.push(format!("-eltorito-platform 0x{:02x}", e.platform_id));
                }
                prev_platform = e.platform_id;
                lines.push(format!("-b {}", shell_quote(&shown)));
            } else {
                lines.push(format!("-e {}", shell_quote(&shown)));
            }
            match img.emulation() {
                "none" => lines.push("-no-emul-boot".into()),
                "hd" => lines.push("-hard-disk-boot".into()),
                _ => {}
            }
            lines.push(format!("-boot-load-size {}", e.sector_count));
            if img.boot_info_table {
                lines.push("-boot-info-table".into());
            }
            if img.grub2_boot_info {
                lines.push("--grub2-boot-info".into());
            }
            if e.selection_criteria.0 != 0 {
                r.warnings.push(format!("El Torito entry {}: selection criteria are not replayed", idx + 1));
            }
            if basdat[idx] {
                lines.push("-isohybrid-gpt-basdat".into());
            }
            let mut spec = img.spec(&shown);
            spec.gpt_basdat = basdat[idx];
            cfg.gpt_basdat |= basdat[idx];
            if let Some(p) = &img.path {
                r.uses.push(p.clone());
            } else {
                // The build finds the appended partition by its number.
                spec.image = shown.clone();
            }
            cfg.entries.push(spec);
        }
        r.as_mkisofs = lines;
        r
    }

    /// xorriso's registration of a partition over a boot image file: on an isohybrid MBR the image gets
    /// `-isohybrid-gpt-basdat` (Basic Data or EFI partitions), otherwise the first UEFI image becomes the EFI boot
    /// partition (`-efi-boot-part --efi-boot-image`). `kind`: 1 Basic Data, 2 HFS+, 3 EFI, 0 other. False when no
    /// boot image has that path.
    fn mark_by_path(&self, path: &str, kind: u8, basdat: &mut [bool], efi_boot_part: &mut bool) -> bool {
        let mut first_efi = true;
        let mut found = false;
        for (i, img) in self.images.iter().enumerate() {
            if img.path.as_deref() != Some(path) {
                continue;
            }
            found = true;
            if self.isohybrid {
                if kind == 1 || kind == 3 {
                    basdat[i] = true;
                }
                return true;
            } else if first_efi && img.entry.platform_id == 0xEF {
                *efi_boot_part = true;
                return true;
            }
            if img.entry.platform_id == 0xEF {
                first_efi = false;
            }
        }
        found
    }
}

/// 1 Basic Data, 2 HFS+, 3 EFI System, 0 other.
fn gpt_kind(t: &[u8; 16]) -> u8 {
    match hex(t).as_str() {
        "a2a0d0ebe5b9334487c068b6b72699c7" => 1,
        "005346480000aa11aa1100306543ecac" => 2,
        "28732ac11ff8d211ba4b00a0c93ec93b" => 3,
        _ => 0,
    }
}

/// A GUID as 32 hex digits in on-disk byte order (as xorriso prints and reads type GUIDs).
fn hex(g: &[u8; 16]) -> String {
    g.iter().map(|b| format!("{b:02x}")).collect()
}

impl Img {
    /// Detects the patches an image carries: a boot info table (recomputed for its LBA and compared), GRUB2 boot
    /// info, and the ISOLINUX signature that makes it isohybrid suitable.
    fn examine(&mut self, buf: &[u8], pvd_lba: u64, lba: u64) {
        let mut table = [0u8; 16];
        table[0..4].copy_from_slice(&(pvd_lba as u32).to_le_bytes());
        table[4..8].copy_from_slice(&(lba as u32).to_le_bytes());
        table[8..12].copy_from_slice(&(buf.len() as u32).to_le_bytes());
        let sum =
            buf.get(64..).unwrap_or_default().chunks(4).fold(0u32, |a, w| a.wrapping_add(le(w, 0, w.len()) as u32));
        table[12..16].copy_from_slice(&sum.to_le_bytes());
        self.boot_info_table = buf.get(8..24) == Some(&table[..]);
        self.grub2_boot_info = buf.len() >= GRUB2_INFO_AT + 8 && le(buf, GRUB2_INFO_AT, 8) == lba * 4 + GRUB2_INFO_ADD;
        self.isohybrid_suitable = self.boot_info_table && buf.get(64..68) == Some(&[0xFB, 0xC0, 0x78, 0x70][..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_info_table_and_grub2_detection() {
        let mut buf = vec![0u8; 4096];
        buf[64..68].copy_from_slice(&[0xFB, 0xC0, 0x78, 0x70]);
        buf[100] = 7;
        buf[GRUB2_INFO_AT..GRUB2_INFO_AT + 8].copy_from_slice(&(40u64 * 4 + 5).to_le_bytes());
        let sum = buf[64..].chunks(4).fold(0u32, |a, w| a.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]])));
        buf[8..12].copy_from_slice(&16u32.to_le_bytes());
        buf[12..16].copy_from_slice(&40u32.to_le_bytes());
        buf[16..20].copy_from_slice(&4096u32.to_le_bytes());
        buf[20..24].copy_from_slice(&sum.to_le_bytes());
        let entry = BootEntry {
            section: 0,
            platform_id: 0,
            boot_indicator: 0x88,
            media_type: 0,
            load_segment: 0,
            system_type: 0,
            sector_count: 4,
            load_rba: 40,
            selection_criteria: (0, Vec::new()),
        };
        let mut img =
            Img { entry, path: None, boot_info_table: false, grub2_boot_info: false, isohybrid_suitable: false };
        img.examine(&buf, 16, 40);
        assert!(img.boot_info_table && img.grub2_boot_info && img.isohybrid_suitable);
        img.examine(&buf, 16, 41);
        assert!(!img.boot_info_table && !img.grub2_boot_info && !img.isohybrid_suitable);
        let spec = img.spec("/isolinux/isolinux.bin");
        assert_eq!(spec.image, "isolinux/isolinux.bin");
        assert_eq!(spec.emulation, Some(EmulChoice::None));
    }

    #[test]
    fn guid_hex_and_kinds() {
        assert_eq!(hex(&Guid::EFI_SYSTEM.0), "28732ac11ff8d211ba4b00a0c93ec93b");
        assert_eq!(gpt_kind(&Guid::EFI_SYSTEM.0), 3);
        assert_eq!(gpt_kind(&Guid::BASIC_DATA.0), 1);
    }
}

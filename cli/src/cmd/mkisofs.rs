//! `odix mkisofs`: the command line of mkisofs, genisoimage and `xorriso -as mkisofs`, so that existing scripts
//! (grub-mkrescue, live-build, cloud-init seed recipes, distribution ISO scripts) run unchanged.
//!
//! The arguments are parsed by hand rather than by clap: mkisofs options are single-dash long options
//! (`-volid`), many exist in one- and two-dash spellings (`-efi-boot-part`, `--efi-boot-part`), and boot options
//! apply to the El Torito entry they follow, so their order matters. The parsed options are then mapped onto an
//! [`odix::BuildSpec`], as `odix mkiso`'s are.

use std::cell::OnceCell;
use std::ffi::{OsStr, OsString};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use odix_iso9660::write::eltorito::{LoadSize, Platform};
use odix_iso9660::write::hybrid::{Guid, PartitionType};
use odix_iso9660::write::{VolumeDates, SECTOR};

use odix::boot::{BootConfig, BootSpec, ByteSource, EfiPartSpec, EmulChoice, PAD_SECTORS};
use odix::mastering::walk::read_sort_file;
use odix::output::AtomicFile;
use odix::{Attributes, BuildSource, BuildSpec, BuildWarning, HideSpec, UdfSpec};

use crate::cmd::progress::image_bar;

/// How many values an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arity {
    Flag,
    One,
    Two,
    Three,
}

/// Every option odix understands, by canonical name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt {
    Output,
    VolId,
    VolSet,
    Publisher,
    Preparer,
    AppId,
    SysId,
    Rock,
    RationalRock,
    Joliet,
    JolietLong,
    FullIsoNames,
    IsoLevel,
    Untranslated,
    DeepDirs,
    FollowLinks,
    GraftPoints,
    PathList,
    Exclude,
    ExcludeList,
    Hide,
    HideList,
    HideJoliet,
    HideJolietList,
    HideUdf,
    HideUdfList,
    HideRrMoved,
    Quiet,
    Verbose,
    InputCharset,
    OutputCharset,
    BootImage,
    Catalog,
    CatalogHide,
    NoEmulBoot,
    HardDiskBoot,
    NoBoot,
    BootLoadSize,
    BootLoadSeg,
    BootInfoTable,
    Grub2BootInfo,
    AltBoot,
    EfiImage,
    EfiBoot,
    Platform,
    NoPad,
    Pad,
    Sort,
    SortWeight,
    Udf,
    Uid,
    Gid,
    FileMode,
    DirMode,
    NewDirMode,
    TransTbl,
    AllowLowercase,
    AllowMultidot,
    RelaxedFilenames,
    AllowLeadingDots,
    OmitVersion,
    OmitPeriod,
    IsohybridMbr,
    IsohybridGptBasdat,
    IsohybridApmHfsplus,
    PartitionOffset,
    AppendPartition,
    AppendedPartAsGpt,
    IsoMbrPartType,
    MbrForceBootable,
    CylAlign,
    Geometry,
    EmbeddedBoot,
    Grub2Mbr,
    ProtectiveMsdosLabel,
    EfiBootPart,
    EfiBootImage,
    ModificationDate,
    VolumeDate,
    Help,
    Version,
    /// `-cache-inodes`: hard links are always detected; accepted.
    CacheInodes,
    /// `-no-cache-inodes`: refused.
    NoCacheInodes,
    /// `--md5`: libisofs MD5 tags.
    Md5,
    /// Jigdo outputs (`-jigdo-jigdo`, `-jigdo-template`): refused.
    JigdoOutput,
    /// Options that tune only the jigdo output; with no jigdo output they change nothing.
    JigdoTuning,
    /// `-checksum_algorithm_iso`, `-checksum_algorithm_template`: checksums of the jigdo output.
    ChecksumAlgorithm,
    /// `-allow-limited-size`.
    AllowLimitedSize,
    /// `-print-size`.
    PrintSize,
    /// `-log-file`.
    LogFile,
    /// `--no_rc` (xorriso reads no startup files; odix has none).
    NoRc,
    /// `gpt_disk_guid` of xorriso's `-boot_image any` (set from a xorriso command before `-as mkisofs`).
    GptDiskGuid,
    /// An HFS/HFS+/Apple option: accepted, warned about once, left out of the image.
    Hfs,
    /// Options that only tune what xorriso prints or how it partitions and change nothing odix writes.
    Ignored,
}

/// (spellings without leading dashes, option, arity, help text; empty help hides the line).
const OPTIONS: &[(&[&str], Opt, Arity, &str)] = &[
    (&["o", "output"], Opt::Output, Arity::One, "FILE  Write the image to FILE (`-` for standard output)"),
    (&["V", "volid"], Opt::VolId, Arity::One, "ID  Volume id (32 characters)"),
    (&["volset"], Opt::VolSet, Arity::One, "ID  Volume set id"),
    (&["publisher"], Opt::Publisher, Arity::One, "TEXT  Publisher id"),
    (&["p", "preparer"], Opt::Preparer, Arity::One, "TEXT  Data preparer id"),
    (&["A", "appid"], Opt::AppId, Arity::One, "TEXT  Application id"),
    (&["sysid"], Opt::SysId, Arity::One, "ID  System id"),
    (&["R", "rock"], Opt::Rock, Arity::Flag, "Rock Ridge attributes as found on disk"),
    (&["r", "rational-rock"], Opt::RationalRock, Arity::Flag, "Rock Ridge with uid/gid 0 and modes readable by all"),
    (&["J", "joliet"], Opt::Joliet, Arity::Flag, "Joliet names for Windows"),
    (&["joliet-long"], Opt::JolietLong, Arity::Flag, "Joliet names up to 103 characters"),
    (&["l", "full-iso9660-filenames"], Opt::FullIsoNames, Arity::Flag, "ISO names up to 31 characters"),
    (&["iso-level"], Opt::IsoLevel, Arity::One, "N  ISO 9660 interchange level 1..4"),
    (&["U", "untranslated-filenames"], Opt::Untranslated, Arity::Flag, "Relaxed ISO names (see below)"),
    (&["D", "disable-deep-relocation"], Opt::DeepDirs, Arity::Flag, "Accepted; deep directories are relocated"),
    (&["f", "follow-links"], Opt::FollowLinks, Arity::Flag, "Follow symbolic links"),
    (&["graft-points"], Opt::GraftPoints, Arity::Flag, "Allow PATH/IN/ISO=SOURCE arguments"),
    (&["path-list"], Opt::PathList, Arity::One, "FILE  Read pathspecs from FILE, one a line"),
    (&["m", "exclude", "x"], Opt::Exclude, Arity::One, "GLOB  Leave out source files matching GLOB"),
    (&["exclude-list"], Opt::ExcludeList, Arity::One, "FILE  Read exclusion globs from FILE"),
    (&["hide"], Opt::Hide, Arity::One, "GLOB  Hide matching files from the ISO/Rock Ridge tree"),
    (&["hide-list"], Opt::HideList, Arity::One, "FILE  Read -hide globs from FILE"),
    (&["hide-joliet"], Opt::HideJoliet, Arity::One, "GLOB  Hide matching files from the Joliet tree"),
    (&["hide-joliet-list"], Opt::HideJolietList, Arity::One, "FILE  Read -hide-joliet globs from FILE"),
    (&["hide-udf"], Opt::HideUdf, Arity::One, "GLOB  Hide matching files from the UDF tree (with -udf)"),
    (&["hide-udf-list"], Opt::HideUdfList, Arity::One, "FILE  Read -hide-udf globs from FILE"),
    (&["hide-rr-moved"], Opt::HideRrMoved, Arity::Flag, "Accepted; the relocation directory is rr_moved"),
    (&["quiet"], Opt::Quiet, Arity::Flag, "Print only errors"),
    (&["v", "verbose"], Opt::Verbose, Arity::Flag, "Accepted"),
    (&["input-charset"], Opt::InputCharset, Arity::One, "NAME  Charset of file names (UTF-8 and ISO-8859-1)"),
    (&["output-charset"], Opt::OutputCharset, Arity::One, "NAME  Accepted; Rock Ridge names are written as given"),
    (&["b", "eltorito-boot"], Opt::BootImage, Arity::One, "ISO_PATH  El Torito boot image"),
    (&["c", "eltorito-catalog"], Opt::Catalog, Arity::One, "ISO_PATH  El Torito boot catalog"),
    (&["boot-catalog-hide"], Opt::CatalogHide, Arity::Flag, "Keep the boot catalog out of the directory tree"),
    (&["no-emul-boot"], Opt::NoEmulBoot, Arity::Flag, "No emulation for the current boot entry"),
    (&["hard-disk-boot"], Opt::HardDiskBoot, Arity::Flag, "Hard disk emulation for the current boot entry"),
    (&["no-boot"], Opt::NoBoot, Arity::Flag, "Mark the current boot entry not bootable"),
    (&["boot-load-size"], Opt::BootLoadSize, Arity::One, "N|full  512-byte sectors the BIOS loads"),
    (&["boot-load-seg"], Opt::BootLoadSeg, Arity::One, "SEG  Load segment of the current boot entry"),
    (&["boot-info-table"], Opt::BootInfoTable, Arity::Flag, "Patch a boot info table into the boot image"),
    (&["grub2-boot-info"], Opt::Grub2BootInfo, Arity::Flag, "Patch GRUB2 boot info into the boot image"),
    (&["eltorito-alt-boot"], Opt::AltBoot, Arity::Flag, "Start a new El Torito boot entry"),
    (&["e", "efi-boot-file"], Opt::EfiImage, Arity::One, "ISO_PATH  EFI boot image (platform 0xEF)"),
    (
        &["efi-boot"],
        Opt::EfiBoot,
        Arity::One,
        "ISO_PATH  Same as -eltorito-alt-boot -e ISO_PATH -no-emul-boot -eltorito-alt-boot",
    ),
    (&["eltorito-platform"], Opt::Platform, Arity::One, "x86|efi|PPC|Mac|N  Platform of the next boot entry"),
    (&["no-pad"], Opt::NoPad, Arity::Flag, "Do not add 300 KiB of padding"),
    (&["pad"], Opt::Pad, Arity::Flag, "Add 300 KiB of padding (the default)"),
    (&["sort"], Opt::Sort, Arity::One, "FILE  Sort weights: lines of `PATH WEIGHT`"),
    (&["sort-weight"], Opt::SortWeight, Arity::Two, "WEIGHT ISO_PATH  Sort weight of a file or directory tree"),
    (&["udf"], Opt::Udf, Arity::Flag, "Add a UDF file system"),
    (&["uid"], Opt::Uid, Arity::One, "N  Owner of every file"),
    (&["gid"], Opt::Gid, Arity::One, "N  Group of every file"),
    (&["file-mode"], Opt::FileMode, Arity::One, "OCTAL  Mode of every file"),
    (&["dir-mode"], Opt::DirMode, Arity::One, "OCTAL  Mode of every directory"),
    (&["new-dir-mode"], Opt::NewDirMode, Arity::One, "OCTAL  Mode of directories made for graft points"),
    (&["T", "translation-table"], Opt::TransTbl, Arity::Flag, "Accepted; no TRANS.TBL is written"),
    (&["allow-lowercase"], Opt::AllowLowercase, Arity::Flag, "Relaxed ISO names (see below)"),
    (&["allow-multidot"], Opt::AllowMultidot, Arity::Flag, "Relaxed ISO names (see below)"),
    (&["relaxed-filenames"], Opt::RelaxedFilenames, Arity::Flag, "Relaxed ISO names (see below)"),
    (&["L", "allow-leading-dots"], Opt::AllowLeadingDots, Arity::Flag, "Relaxed ISO names (see below)"),
    (&["N", "omit-version-number"], Opt::OmitVersion, Arity::Flag, "Relaxed ISO names (see below)"),
    (&["d", "omit-period"], Opt::OmitPeriod, Arity::Flag, "Relaxed ISO names (see below)"),
    (&["isohybrid-mbr"], Opt::IsohybridMbr, Arity::One, "FILE  SYSLINUX isohybrid MBR template (isohdpfx.bin)"),
    (&["isohybrid-gpt-basdat"], Opt::IsohybridGptBasdat, Arity::Flag, "GPT marking ISO and EFI image Basic Data"),
    (&["isohybrid-apm-hfsplus"], Opt::IsohybridApmHfsplus, Arity::Flag, "Accepted; no Apple partition map"),
    (&["partition_offset"], Opt::PartitionOffset, Arity::One, "N  Start of partition 1 in 2048-byte sectors (0 or 16)"),
    (&["append_partition"], Opt::AppendPartition, Arity::Three, "N TYPE FILE  Append FILE as MBR partition N"),
    (&["appended_part_as_gpt"], Opt::AppendedPartAsGpt, Arity::Flag, "Describe appended partitions in a GPT"),
    (&["iso_mbr_part_type"], Opt::IsoMbrPartType, Arity::One, "0xNN  MBR type of the partition over the ISO"),
    (&["mbr-force-bootable"], Opt::MbrForceBootable, Arity::Flag, "Mark MBR partition 1 active"),
    (
        &["G", "embedded-boot", "generic-boot"],
        Opt::EmbeddedBoot,
        Arity::One,
        "FILE  Up to 32 KiB copied to the system area",
    ),
    (&["grub2-mbr"], Opt::Grub2Mbr, Arity::One, "FILE  GRUB2 hybrid MBR template (boot_hybrid.img)"),
    (&["protective-msdos-label"], Opt::ProtectiveMsdosLabel, Arity::Flag, "Protective MBR partition table"),
    (&["efi-boot-part"], Opt::EfiBootPart, Arity::One, "FILE|--efi-boot-image  EFI system partition in a GPT"),
    (&["efi-boot-image"], Opt::EfiBootImage, Arity::Flag, ""),
    (&["modification-date"], Opt::ModificationDate, Arity::One, "YYYYMMDDhhmmsscc  Volume dates (UTC)"),
    (&["volume_date"], Opt::VolumeDate, Arity::Two, "c|m|x|f|all_file_dates|uuid TIME  Set a volume date"),
    (&["help", "h", "?"], Opt::Help, Arity::Flag, "Print this help"),
    (&["version"], Opt::Version, Arity::Flag, "Print the version"),
    (&["hfsplus", "hfs", "apple", "mac-name", "hfs-unlock", "hfsplus-file-creator-type"], Opt::Hfs, Arity::Flag, ""),
    (
        &["hfs-bless", "hfsplus-serial-no", "hfsplus-block-size", "apm-block-size", "hfs-volid"],
        Opt::Hfs,
        Arity::One,
        "",
    ),
    (&["hfs-bless-by", "hfs-type", "hfs-creator"], Opt::Hfs, Arity::Two, ""),
    (&["partition_cyl_align"], Opt::CylAlign, Arity::One, "on|off|auto|all  Pad the image to a whole MBR cylinder"),
    (&["partition_hd_cyl", "partition_sec_hd"], Opt::Geometry, Arity::One, "N  MBR geometry (odix writes 64 and 32)"),
    (&["gui"], Opt::Ignored, Arity::Flag, ""),
    (&["cache-inodes"], Opt::CacheInodes, Arity::Flag, "Accepted; hard links are always detected and share data"),
    (&["no-cache-inodes"], Opt::NoCacheInodes, Arity::Flag, ""),
    (&["md5"], Opt::Md5, Arity::Flag, "Record libisofs MD5 tags (superblock, tree, session)"),
    (&["print-size"], Opt::PrintSize, Arity::Flag, "Print the image size in 2048-byte blocks and write nothing"),
    (&["log-file"], Opt::LogFile, Arity::One, "FILE  Write messages to FILE instead of standard error"),
    (&["allow-limited-size"], Opt::AllowLimitedSize, Arity::Flag, "Files of 4 GiB or more as multi-extent files"),
    (&["no_rc"], Opt::NoRc, Arity::Flag, "Accepted; odix reads no startup files"),
    (&["jigdo-jigdo", "jigdo-template"], Opt::JigdoOutput, Arity::One, ""),
    (
        &[
            "jigdo-min-file-size",
            "jigdo-force-md5",
            "jigdo-force-checksum",
            "jigdo-exclude",
            "jigdo-map",
            "md5-list",
            "checksum-list",
            "jigdo-checksum-algorithm",
            "jigdo-template-compress",
        ],
        Opt::JigdoTuning,
        Arity::One,
        "",
    ),
    (&["checksum_algorithm_iso", "checksum_algorithm_template"], Opt::ChecksumAlgorithm, Arity::One, ""),
    (&["gpt_disk_guid"], Opt::GptDiskGuid, Arity::One, ""),
];

/// The extra values of the HFS+ options whose arity differs from their table entry.
fn hfs_arity(name: &str) -> Option<Arity> {
    match name {
        "hfsplus-file-creator-type" => Some(Arity::Three),
        _ => None,
    }
}

fn lookup(name: &str) -> Option<(Opt, Arity)> {
    OPTIONS
        .iter()
        .find(|(names, ..)| names.contains(&name))
        .map(|(_, opt, arity, _)| (*opt, hfs_arity(name).unwrap_or(*arity)))
}

/// Everything the command line says, before it is mapped onto the builder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MkisofsArgs {
    /// `-o`.
    pub output: Option<PathBuf>,
    /// `-V`.
    pub volume_id: Option<String>,
    /// `-volset`.
    pub volume_set: Option<String>,
    /// `-publisher`.
    pub publisher: Option<String>,
    /// `-p`.
    pub preparer: Option<String>,
    /// `-A`.
    pub application: Option<String>,
    /// `-sysid`.
    pub system_id: Option<String>,
    /// `-R` or `-r`.
    pub rock: bool,
    /// `-r`.
    pub rational_rock: bool,
    /// `-J`.
    pub joliet: bool,
    /// `-joliet-long`.
    pub joliet_long: bool,
    /// `-iso-level`.
    pub iso_level: Option<u8>,
    /// `-f`.
    pub follow_links: bool,
    /// `-graft-points`.
    pub graft_points: bool,
    /// Source arguments, in order (from the command line and `-path-list` files).
    pub pathspecs: Vec<OsString>,
    /// `-m`, `-exclude`, `-x`, `-exclude-list`.
    pub exclude: Vec<String>,
    /// `-hide`, `-hide-list`.
    pub hide: Vec<String>,
    /// `-hide-joliet`, `-hide-joliet-list`.
    pub hide_joliet: Vec<String>,
    /// `-hide-udf`, `-hide-udf-list`.
    pub hide_udf: Vec<String>,
    /// `-quiet`.
    pub quiet: bool,
    /// `-input-charset`.
    pub input_charset: Option<String>,
    /// El Torito entries in catalog order.
    pub boot: Vec<BootSpec>,
    /// `-c`.
    pub catalog: Option<String>,
    /// `-boot-catalog-hide`.
    pub catalog_hide: bool,
    /// False with `-no-pad`.
    pub pad: bool,
    /// `-sort`.
    pub sort_file: Option<PathBuf>,
    /// `--sort-weight W PATH`, in order.
    pub sort_weights: Vec<(i32, String)>,
    /// `-udf`.
    pub udf: bool,
    /// `-uid`.
    pub uid: Option<u32>,
    /// `-gid`.
    pub gid: Option<u32>,
    /// `-file-mode`.
    pub file_mode: Option<u32>,
    /// `-dir-mode`.
    pub dir_mode: Option<u32>,
    /// `-new-dir-mode`.
    pub new_dir_mode: Option<u32>,
    /// `-isohybrid-mbr` (a file, or xorriso's `--interval:local_fs:` byte range of one).
    pub isohybrid_mbr: Option<ByteSource>,
    /// `--grub2-mbr` (a file or an interval).
    pub grub2_mbr: Option<ByteSource>,
    /// `-G` (a file or an interval).
    pub embedded_boot: Option<ByteSource>,
    /// `--protective-msdos-label`.
    pub protective_msdos_label: bool,
    /// `-isohybrid-gpt-basdat`.
    pub gpt_basdat: bool,
    /// `-efi-boot-part`.
    pub efi_boot_part: Option<EfiPartSpec>,
    /// `-append_partition N TYPE FILE` (FILE may be an interval).
    pub append: Vec<(u8, PartitionType, ByteSource)>,
    /// `-appended_part_as_gpt`.
    pub appended_as_gpt: bool,
    /// `-iso_mbr_part_type`.
    pub iso_mbr_part_type: Option<u8>,
    /// `--mbr-force-bootable`.
    pub mbr_force_bootable: bool,
    /// `-partition_cyl_align`: `None` for auto.
    pub cylinder_align: Option<bool>,
    /// `-partition_offset`.
    pub partition_offset: u32,
    /// `--modification-date` or `-volume_date uuid`: seconds since the epoch and hundredths. It sets the volume
    /// creation and modification dates literally and the time of the boot catalog and hybrid ids.
    pub uuid_date: Option<(i64, u8)>,
    /// `-volume_date m`, seconds since the epoch.
    pub modification_date: Option<i64>,
    /// `-volume_date c`.
    pub creation_date: Option<i64>,
    /// `-volume_date x`.
    pub expiration_date: Option<i64>,
    /// `-volume_date f`.
    pub effective_date: Option<i64>,
    /// `-volume_date all_file_dates`.
    pub all_file_dates: Option<i64>,
    /// `-volume_date all_file_dates set_to_mtime`: access and change times become the modification time.
    pub all_dates_to_mtime: bool,
    /// `-help`.
    pub help: bool,
    /// `-version`.
    pub version: bool,
    /// `--md5`: write libisofs MD5 tags.
    pub md5: bool,
    /// `-print-size`: print the size and write nothing.
    pub print_size: bool,
    /// `-log-file`.
    pub log_file: Option<PathBuf>,
    /// `-allow-limited-size`: files of 4 GiB or more are allowed at every level (as multi-extent files).
    pub allow_limited_size: bool,
    /// `-boot_image any gpt_disk_guid=`: the GPT's disk GUID, written as given (it also seeds the MBR signature).
    pub gpt_disk_guid: Option<Guid>,
    /// Notes for options accepted without effect, one per option.
    pub warnings: Vec<String>,
}

fn parse_u32(opt: &str, v: &str) -> Result<u32> {
    let r = match v.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => v.parse(),
    };
    r.map_err(|_| anyhow!("{opt}: `{v}` is not a number"))
}

/// A file operand of a boot option: a path, or xorriso's `--interval:local_fs:START-END:ZEROIZERS:PATH` (units
/// `s` 2048 bytes, `d` 512 bytes, `k`/`m`/`g`/`t`; a scaled end is the last byte of its unit).
fn byte_source(opt: &str, v: &str) -> Result<ByteSource> {
    ByteSource::parse(v).with_context(|| opt.to_string())
}

fn parse_mode(opt: &str, v: &str) -> Result<u32> {
    let m = u32::from_str_radix(v, 8).map_err(|_| anyhow!("{opt}: `{v}` is not an octal mode"))?;
    if m > 0o7777 {
        bail!("{opt}: mode {v} is larger than 7777");
    }
    Ok(m)
}

/// Parses `YYYYMMDDhhmmsscc` (UTC, as ECMA-119 volume dates) into seconds since the epoch and hundredths.
pub fn parse_date16(opt: &str, v: &str) -> Result<(i64, u8)> {
    let bad = || anyhow!("{opt}: `{v}` is not YYYYMMDDhhmmsscc");
    if v.len() != 16 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |a: usize, b: usize| v[a..b].parse::<u32>().map_err(|_| bad());
    let date = chrono::NaiveDate::from_ymd_opt(n(0, 4)? as i32, n(4, 6)?, n(6, 8)?).ok_or_else(bad)?;
    let t = date.and_hms_opt(n(8, 10)?, n(10, 12)?, n(12, 14)?).ok_or_else(bad)?;
    Ok((t.and_utc().timestamp(), n(14, 16)? as u8))
}

/// Seconds since the epoch of a local date and time (the local zone of `TZ`, as `date` reads it).
fn local_secs(opt: &str, v: &str, (y, mo, d): (i32, u32, u32), (h, mi, s): (u32, u32, u32)) -> Result<i64> {
    use chrono::TimeZone;
    let t = chrono::NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_opt(h, mi, s))
        .ok_or_else(|| anyhow!("{opt}: `{v}` is not a valid date"))?;
    chrono::Local
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp())
        .ok_or_else(|| anyhow!("{opt}: `{v}` does not exist in the local time zone"))
}

/// Parses xorriso's time strings (its `-alter_date` formats) for `-volume_date`; `None` for `default` or
/// `overridden`. Hundredths, where given, are dropped (xorriso records them only for `uuid`).
///
/// `YYYYMMDDhhmmsscc` (UTC; with `LOC`, local time), `=SECONDS`, `SECONDS`, `+N` or `-N` with a unit `s`, `h`,
/// `d`, `w`, `m` (31 days) or `y` (366.25 days) relative to now, `YYYY.MM.DD[.hh[mm[ss]]]` and the `date` command's
/// `MMDDhhmm[[CC]YY][.ss]` (local time).
fn parse_time(opt: &str, v: &str, now: i64) -> Result<Option<i64>> {
    let bad = || {
        anyhow!(
            "{opt}: `{v}` is not a time (YYYYMMDDhhmmsscc, =SECONDS, +/-N[shdwmy], YYYY.MM.DD[.hh[mm[ss]]], \
             MMDDhhmm[[CC]YY][.ss] or default)"
        )
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    if v == "default" || v == "overridden" {
        return Ok(None);
    }
    if let Some(n) = v.strip_prefix('=') {
        return n.parse::<i64>().map(Some).map_err(|_| bad());
    }
    if let Some(rest) = v.strip_prefix('+').or_else(|| v.strip_prefix('-')) {
        let (n, unit) = match rest.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => rest.split_at(i),
            None => (rest, "s"),
        };
        let n: i64 = n.parse().map_err(|_| bad())?;
        let unit: i64 = match unit {
            "s" => 1,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "m" => 31 * 86_400,
            "y" => 366 * 86_400 + 21_600,
            _ => return Err(bad()),
        };
        let delta = n.checked_mul(unit).ok_or_else(bad)?;
        return Ok(Some(if v.starts_with('-') { now - delta } else { now + delta }));
    }
    if let Some(local) = v.strip_suffix("LOC").filter(|d| d.len() == 16 && digits(d)) {
        let n = |a: usize, b: usize| num(&local[a..b]);
        return local_secs(opt, v, (n(0, 4)? as i32, n(4, 6)?, n(6, 8)?), (n(8, 10)?, n(10, 12)?, n(12, 14)?))
            .map(Some);
    }
    if v.len() == 16 && digits(v) {
        return parse_date16(opt, v).map(|(t, _)| Some(t));
    }
    if v.contains('.') && v.split('.').next().is_some_and(|y| y.len() == 4) {
        // YYYY.MM.DD[.hh[mm[ss]]]
        let parts: Vec<&str> = v.split('.').collect();
        if !(3..=4).contains(&parts.len()) || !parts.iter().all(|p| digits(p)) {
            return Err(bad());
        }
        let hms = parts.get(3).copied().unwrap_or("");
        if hms.len() % 2 != 0 || hms.len() > 6 {
            return Err(bad());
        }
        let pick = |i: usize| if hms.len() > i { num(&hms[i..i + 2]) } else { Ok(0) };
        let (y, mo, d) = (num(parts[0])? as i32, num(parts[1])?, num(parts[2])?);
        return local_secs(opt, v, (y, mo, d), (pick(0)?, pick(2)?, pick(4)?)).map(Some);
    }
    let (main, secs) = match v.split_once('.') {
        Some((m, s)) if s.len() == 2 && digits(s) => (m, num(s)?),
        Some(_) => return Err(bad()),
        None => (v, 0),
    };
    if digits(main) && matches!(main.len(), 8 | 10 | 12) {
        // MMDDhhmm[[CC]YY][.ss]
        let n = |a: usize| num(&main[a..a + 2]);
        let year = match main.len() {
            12 => num(&main[8..12])? as i32,
            10 => 2000 + n(8)? as i32,
            _ => chrono::DateTime::from_timestamp(now, 0).map_or(1970, |t| chrono::Datelike::year(&t)),
        };
        return local_secs(opt, v, (year, n(0)?, n(2)?), (n(4)?, n(6)?, secs)).map(Some);
    }
    v.parse::<i64>().map(Some).map_err(|_| bad())
}

fn read_lines(opt: &str, path: &OsStr) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{opt}: reading {}", path.to_string_lossy()))?;
    Ok(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
}

impl MkisofsArgs {
    /// Parses the arguments after `mkisofs` (argv[1..] of a real mkisofs).
    pub fn parse(args: &[OsString]) -> Result<MkisofsArgs> {
        let mut a = MkisofsArgs { pad: true, ..Default::default() };
        let mut current = BootSpec::default();
        let mut next_platform: Option<Platform> = None;
        let mut hfs_warned = false;
        let mut relaxed: Vec<&'static str> = Vec::new();
        let mut i = 0;
        let mut only_paths = false;
        while i < args.len() {
            let raw = &args[i];
            i += 1;
            let text = raw.to_string_lossy();
            if only_paths || !text.starts_with('-') || text == "-" {
                a.pathspecs.push(raw.clone());
                continue;
            }
            if text == "--" {
                only_paths = true;
                continue;
            }
            let stripped = text.trim_start_matches('-');
            let (name, inline) = match stripped.split_once('=') {
                Some((n, v)) if text.starts_with("--") => (n, Some(v.to_string())),
                _ => (stripped, None),
            };
            let Some((opt, arity)) = lookup(name) else {
                bail!("unknown option `{text}` (odix mkisofs -help lists the options odix knows)");
            };
            let want = match arity {
                Arity::Flag => 0,
                Arity::One => 1,
                Arity::Two => 2,
                Arity::Three => 3,
            };
            let mut vals: Vec<String> = Vec::with_capacity(want);
            if let Some(v) = inline {
                vals.push(v);
            }
            while vals.len() < want {
                let Some(v) = args.get(i) else {
                    bail!("option `{text}` needs {want} value(s)");
                };
                let v = v.to_str().ok_or_else(|| anyhow!("{text}: value is not valid UTF-8"))?;
                vals.push(v.to_string());
                i += 1;
            }
            if arity == Arity::Flag && !vals.is_empty() {
                bail!("option `{text}` takes no value");
            }
            let v0 = || vals.first().cloned().unwrap_or_default();
            match opt {
                Opt::Output => a.output = Some(PathBuf::from(v0())),
                Opt::VolId => a.volume_id = Some(v0()),
                Opt::VolSet => a.volume_set = Some(v0()),
                Opt::Publisher => a.publisher = Some(v0()),
                Opt::Preparer => a.preparer = Some(v0()),
                Opt::AppId => a.application = Some(v0()),
                Opt::SysId => a.system_id = Some(v0()),
                Opt::Rock => a.rock = true,
                Opt::RationalRock => {
                    a.rock = true;
                    a.rational_rock = true;
                }
                Opt::Joliet => a.joliet = true,
                Opt::JolietLong => {
                    a.joliet = true;
                    a.joliet_long = true;
                }
                Opt::IsoLevel => {
                    let l = parse_u32(&text, &v0())?;
                    if !(1..=4).contains(&l) {
                        bail!("{text}: level {l} is not 1, 2, 3 or 4");
                    }
                    a.iso_level = Some(l as u8);
                }
                Opt::FollowLinks => a.follow_links = true,
                Opt::GraftPoints => a.graft_points = true,
                Opt::PathList => {
                    for line in read_lines(&text, OsStr::new(&v0()))? {
                        a.pathspecs.push(OsString::from(line));
                    }
                }
                Opt::Exclude => a.exclude.push(v0()),
                Opt::ExcludeList => a.exclude.extend(read_lines(&text, OsStr::new(&v0()))?),
                Opt::Hide => a.hide.push(v0()),
                Opt::HideList => a.hide.extend(read_lines(&text, OsStr::new(&v0()))?),
                Opt::HideJoliet => a.hide_joliet.push(v0()),
                Opt::HideJolietList => a.hide_joliet.extend(read_lines(&text, OsStr::new(&v0()))?),
                Opt::HideUdf => a.hide_udf.push(v0()),
                Opt::HideUdfList => a.hide_udf.extend(read_lines(&text, OsStr::new(&v0()))?),
                Opt::Quiet => a.quiet = true,
                Opt::Verbose | Opt::Ignored => {}
                Opt::HideRrMoved => a.warnings.push(format!(
                    "{text}: accepted; the rr_moved directory of relocated deep directories stays visible"
                )),
                Opt::InputCharset => {
                    let cs = v0();
                    let l = cs.to_ascii_lowercase();
                    if !matches!(l.as_str(), "utf-8" | "utf8" | "iso-8859-1" | "iso8859-1" | "default") {
                        bail!("{text}: charset `{cs}` is not supported (UTF-8 and ISO-8859-1 are)");
                    }
                    a.input_charset = Some(cs);
                }
                Opt::OutputCharset => {}
                Opt::BootImage | Opt::EfiImage => {
                    if !current.image.is_empty() {
                        // A second -b/-e without -eltorito-alt-boot replaces the image of the current entry, as
                        // in mkisofs; xorriso does the same.
                        current.image.clear();
                    }
                    current.image = v0().trim_start_matches('/').to_string();
                    if opt == Opt::EfiImage {
                        // Only the platform: the emulation follows -no-emul-boot or the image's size, as for
                        // -b (xorriso and genisoimage alike).
                        current.platform = Some(Platform::EFI);
                    } else if let Some(p) = next_platform.take() {
                        current.platform = Some(p);
                    }
                }
                Opt::Catalog => a.catalog = Some(v0().trim_start_matches('/').to_string()),
                Opt::CatalogHide => a.catalog_hide = true,
                Opt::NoEmulBoot => current.emulation = Some(EmulChoice::None),
                Opt::HardDiskBoot => current.emulation = Some(EmulChoice::HardDisk),
                Opt::NoBoot => current.not_bootable = true,
                Opt::BootLoadSize => {
                    let v = v0();
                    current.load_size = Some(if v == "full" {
                        LoadSize::Full
                    } else {
                        let n = parse_u32(&text, &v)?;
                        LoadSize::Sectors(u16::try_from(n).map_err(|_| anyhow!("{text}: {n} is larger than 65535"))?)
                    });
                }
                Opt::BootLoadSeg => {
                    let n = parse_u32(&text, &v0())?;
                    current.load_segment = u16::try_from(n).map_err(|_| anyhow!("{text}: {n} is not a segment"))?;
                }
                Opt::BootInfoTable => current.boot_info_table = true,
                Opt::Grub2BootInfo => current.grub2_boot_info = true,
                Opt::AltBoot => {
                    if !current.image.is_empty() {
                        a.boot.push(std::mem::take(&mut current));
                    }
                }
                Opt::EfiBoot => {
                    if !current.image.is_empty() {
                        a.boot.push(std::mem::take(&mut current));
                    }
                    a.boot.push(BootSpec {
                        image: v0().trim_start_matches('/').to_string(),
                        platform: Some(Platform::EFI),
                        emulation: Some(EmulChoice::None),
                        ..Default::default()
                    });
                }
                Opt::Platform => {
                    let p = Platform::from_name(&v0())
                        .ok_or_else(|| anyhow!("{text}: unknown platform `{}` (x86, efi, PPC, Mac)", v0()))?;
                    if current.image.is_empty() {
                        current.platform = Some(p);
                    } else {
                        next_platform = Some(p);
                    }
                }
                Opt::NoPad => a.pad = false,
                Opt::Pad => a.pad = true,
                Opt::Sort => a.sort_file = Some(PathBuf::from(v0())),
                Opt::SortWeight => {
                    let w: i32 = vals[0].parse().map_err(|_| anyhow!("{text}: `{}` is not a weight", vals[0]))?;
                    a.sort_weights.push((w, vals[1].clone()));
                }
                Opt::Udf => a.udf = true,
                Opt::Uid => a.uid = Some(parse_u32(&text, &v0())?),
                Opt::Gid => a.gid = Some(parse_u32(&text, &v0())?),
                Opt::FileMode => a.file_mode = Some(parse_mode(&text, &v0())?),
                Opt::DirMode => a.dir_mode = Some(parse_mode(&text, &v0())?),
                Opt::NewDirMode => a.new_dir_mode = Some(parse_mode(&text, &v0())?),
                Opt::FullIsoNames => {}
                Opt::DeepDirs => a.warnings.push(format!(
                    "{text}: accepted; directories deeper than 8 levels are still relocated (Rock Ridge readers see \
                     the true tree)"
                )),
                Opt::TransTbl => a.warnings.push(format!("{text}: accepted; odix writes no TRANS.TBL files")),
                Opt::Untranslated
                | Opt::AllowLowercase
                | Opt::AllowMultidot
                | Opt::RelaxedFilenames
                | Opt::AllowLeadingDots
                | Opt::OmitVersion
                | Opt::OmitPeriod => relaxed.push(match opt {
                    Opt::Untranslated => "-U",
                    Opt::AllowLowercase => "-allow-lowercase",
                    Opt::AllowMultidot => "-allow-multidot",
                    Opt::RelaxedFilenames => "-relaxed-filenames",
                    Opt::AllowLeadingDots => "-L",
                    Opt::OmitVersion => "-N",
                    _ => "-d",
                }),
                Opt::IsohybridMbr => a.isohybrid_mbr = Some(byte_source(&text, &v0())?),
                Opt::IsohybridGptBasdat => {
                    // xorriso marks the current boot image: the one being defined, or after -eltorito-alt-boot
                    // the next one.
                    a.gpt_basdat = true;
                    current.gpt_basdat = true;
                }
                Opt::IsohybridApmHfsplus | Opt::Hfs => {
                    if !hfs_warned {
                        a.warnings.push(format!(
                            "{text}: HFS/HFS+ and Apple partition map options are accepted and ignored; the image \
                             has no HFS+ tree"
                        ));
                        hfs_warned = true;
                    }
                }
                Opt::PartitionOffset => {
                    let n = parse_u32(&text, &v0())?;
                    if n != 0 && n != 16 {
                        bail!("{text}: odix supports 0 and 16");
                    }
                    a.partition_offset = n;
                }
                Opt::AppendPartition => {
                    let n: u8 = vals[0]
                        .parse()
                        .ok()
                        .filter(|n| (1..=4).contains(n))
                        .ok_or_else(|| anyhow!("{text}: partition number `{}` is not 1..4", vals[0]))?;
                    let t = match guid_arg(&vals[1]).map(PartitionType::Gpt).or_else(|| PartitionType::parse(&vals[1]))
                    {
                        // The EFI System GUID: MBR type 0xEF, whose GPT type is that GUID (xorriso writes 0xEF
                        // into the MBR for it, as mkarchiso's line relies on).
                        Some(PartitionType::Gpt(g)) if g == Guid::EFI_SYSTEM => PartitionType::Mbr(0xEF),
                        Some(t) => t,
                        None => bail!("{text}: `{}` is not a partition type", vals[1]),
                    };
                    a.append.push((n, t, byte_source(&text, &vals[2])?));
                }
                Opt::AppendedPartAsGpt => a.appended_as_gpt = true,
                Opt::IsoMbrPartType if guid_arg(&v0()).is_some() => {
                    // A GUID sets the GPT type of the ISO partition (Ubuntu's images give Basic Data, the type
                    // odix writes there); its MBR entry keeps its type.
                    if guid_arg(&v0()) != Some(Guid::BASIC_DATA) {
                        bail!("{text} {}: odix gives the ISO partition's GPT entry the Basic Data type only", v0());
                    }
                }
                Opt::IsoMbrPartType => {
                    let t = parse_u32(&text, &v0())?;
                    a.iso_mbr_part_type =
                        Some(u8::try_from(t).map_err(|_| anyhow!("{text}: {t} is not a partition type byte"))?);
                }
                Opt::MbrForceBootable => a.mbr_force_bootable = true,
                Opt::CylAlign => {
                    a.cylinder_align = match v0().as_str() {
                        "on" | "all" => Some(true),
                        "off" => Some(false),
                        "auto" => None,
                        other => bail!("{text}: `{other}` is not on, off, auto or all"),
                    }
                }
                Opt::Geometry => {
                    let (n, want) = (parse_u32(&text, &v0())?, if name == "partition_hd_cyl" { 64 } else { 32 });
                    if n != want {
                        a.warnings.push(format!("{text} {n}: odix writes the MBR geometry 64 heads, 32 sectors"));
                    }
                }
                Opt::EmbeddedBoot => a.embedded_boot = Some(byte_source(&text, &v0())?),
                Opt::Grub2Mbr => a.grub2_mbr = Some(byte_source(&text, &v0())?),
                Opt::ProtectiveMsdosLabel => a.protective_msdos_label = true,
                Opt::EfiBootPart => {
                    let v = v0();
                    a.efi_boot_part = Some(if v.trim_start_matches('-') == "efi-boot-image" {
                        EfiPartSpec::ElToritoImage
                    } else {
                        EfiPartSpec::File(byte_source(&text, &v)?)
                    });
                }
                Opt::EfiBootImage => a.efi_boot_part = Some(EfiPartSpec::ElToritoImage),
                Opt::ModificationDate => a.uuid_date = Some(parse_date16(&text, &v0())?),
                Opt::VolumeDate => {
                    let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
                    let v = vals[1].as_str();
                    match vals[0].as_str() {
                        "uuid" if v == "default" || v == "overridden" => a.uuid_date = None,
                        "uuid" => a.uuid_date = Some(parse_date16(&text, v)?),
                        "m" => a.modification_date = parse_time(&text, v, wall)?,
                        "c" => a.creation_date = parse_time(&text, v, wall)?,
                        "x" => a.expiration_date = parse_time(&text, v, wall)?,
                        "f" => a.effective_date = parse_time(&text, v, wall)?,
                        "all_file_dates" if v == "set_to_mtime" => {
                            a.all_file_dates = None;
                            a.all_dates_to_mtime = true;
                        }
                        "all_file_dates" => {
                            a.all_file_dates = if v.is_empty() { None } else { parse_time(&text, v, wall)? };
                            a.all_dates_to_mtime = false;
                        }
                        other => bail!("{text}: unknown date kind `{other}` (c, m, x, f, uuid, all_file_dates)"),
                    }
                }
                Opt::Help => a.help = true,
                Opt::Version => a.version = true,
                Opt::CacheInodes | Opt::NoRc => {}
                Opt::NoCacheInodes => bail!(
                    "{text}: odix always records hard links as such (one data extent shared by the links); it cannot \
                     store them as separate copies"
                ),
                Opt::Md5 => a.md5 = true,
                Opt::PrintSize => a.print_size = true,
                Opt::LogFile => a.log_file = Some(PathBuf::from(v0())),
                Opt::AllowLimitedSize => a.allow_limited_size = true,
                Opt::JigdoOutput => bail!(
                    "{text}: odix writes no jigdo files (build the ISO image alone; for debian-cd set MAXJIGDOS=0)"
                ),
                Opt::JigdoTuning => {
                    // Tunes the jigdo output only; without -jigdo-jigdo/-jigdo-template (refused above) there is
                    // none, and the image is the same with or without the option (as in xorriso).
                }
                Opt::ChecksumAlgorithm => {
                    for alg in v0().split(',') {
                        if !matches!(alg, "md5" | "sha1" | "sha256" | "sha512") {
                            bail!("{text}: unknown checksum `{alg}` (md5, sha1, sha256, sha512)");
                        }
                    }
                    // The checksums go into the jigdo files, which odix does not write: the image is the same.
                }
                Opt::GptDiskGuid => {
                    let g = v0();
                    if g == "volume_date_uuid" || g == "random" {
                        bail!(
                            "gpt_disk_guid={g}: odix takes a GUID (32 hex digits or the 8-4-4-4-12 form); without \
                             one the disk GUID comes from the image's time"
                        );
                    }
                    let Some(guid) = guid_arg(&g) else {
                        bail!("gpt_disk_guid={g}: not 32 hex digits or a GUID of the form 8-4-4-4-12");
                    };
                    a.gpt_disk_guid = Some(guid);
                }
            }
        }
        // A trailing -isohybrid-gpt-basdat marks no image: the EFI image gets the partitions then, unwarned.
        if !current.image.is_empty() {
            a.boot.push(current);
        } else if (BootSpec { gpt_basdat: false, ..current }) != BootSpec::default() {
            a.warnings.push(
                "boot options after the last -b/-e/--efi-boot apply to no image (as in xorriso, they are dropped)"
                    .into(),
            );
        }
        if !relaxed.is_empty() {
            a.warnings.push(format!(
                "{}: accepted; ISO 9660 names stay strict for the chosen level (Rock Ridge and Joliet carry the real \
                 names)",
                relaxed.join(" ")
            ));
        }
        Ok(a)
    }
}

/// The `-help` text: every option odix accepts, in the layout of `xorriso -as mkisofs -help` (tools such as
/// grub-mkrescue search it for the options they need).
pub fn help_text() -> String {
    let mut s = String::from(
        "Usage: odix mkisofs [options] [-graft-points] PATHSPEC...\n\
         odix's mkisofs/genisoimage/xorriso -as mkisofs compatible command line.\n\
         Options may start with - or --; `--opt=value` works for two-dash spellings.\nOptions:\n",
    );
    for (names, _, _, help) in OPTIONS {
        if help.is_empty() {
            continue;
        }
        let spelled: Vec<String> = names
            .iter()
            .map(|n| {
                let two = matches!(
                    *n,
                    "grub2-boot-info"
                        | "grub2-mbr"
                        | "efi-boot"
                        | "protective-msdos-label"
                        | "modification-date"
                        | "sort-weight"
                        | "embedded-boot"
                        | "efi-boot-image"
                        | "mbr-force-bootable"
                        | "md5"
                        | "no_rc"
                );
                if two {
                    format!("--{n}")
                } else {
                    format!("-{n}")
                }
            })
            .collect();
        s.push_str(&format!("  {:<28} {}\n", spelled.join(", "), help));
    }
    s.push_str("  --efi-boot-image             With -efi-boot-part: use the El Torito EFI image\n");
    s.push_str(
        "\nAccepted and ignored with one warning: -hfsplus, -hfs-bless, -hfs-bless-by, -hfsplus-file-creator-type,\n\
         -apm-block-size and the other HFS/HFS+ options; -isohybrid-apm-hfsplus. Relaxed ISO name options\n\
         (-U -allow-lowercase -allow-multidot -relaxed-filenames -L -N -d) are accepted; names stay strict.\n",
    );
    s
}

impl MkisofsArgs {
    /// The boot and hybrid part of the options.
    pub fn boot_config(&self) -> BootConfig {
        BootConfig {
            entries: self.boot.clone(),
            catalog: self.catalog.clone(),
            catalog_hide: self.catalog_hide,
            isohybrid_mbr: self.isohybrid_mbr.clone(),
            grub2_mbr: self.grub2_mbr.clone(),
            embedded_boot: self.embedded_boot.clone(),
            protective_msdos_label: self.protective_msdos_label,
            gpt_basdat: self.gpt_basdat,
            efi_boot_part: self.efi_boot_part.clone(),
            append: self.append.clone(),
            appended_as_gpt: self.appended_as_gpt,
            pad_sectors: if self.pad { PAD_SECTORS } else { 0 },
            partition_offset: self.partition_offset,
            iso_mbr_part_type: self.iso_mbr_part_type,
            mbr_force_bootable: self.mbr_force_bootable,
            cylinder_align: self.cylinder_align,
            gpt_seed: self.gpt_disk_guid.map(guid_seed),
            gpt_disk_guid: self.gpt_disk_guid,
        }
    }

    /// The sort weights of `-sort` and `--sort-weight`, as glob patterns over source paths. A
    /// `--sort-weight W ISO_PATH` names a path in the image; it is matched as the tail of source paths (the
    /// pathspec that put it there is not kept), which is exact for the usual `DIR` and `/=DIR` pathspecs.
    fn sort_patterns(&self) -> Result<Vec<(String, i64)>> {
        let mut v = match &self.sort_file {
            Some(p) => read_sort_file(p)?,
            None => Vec::new(),
        };
        // Later --sort-weight options override earlier ones for the paths they share, as in xorriso: the deepest
        // path given is the most specific, so it goes first.
        let mut w: Vec<&(i32, String)> = self.sort_weights.iter().rev().collect();
        w.sort_by_key(|(_, p)| std::cmp::Reverse(p.trim_matches('/').len()));
        for (weight, path) in w {
            let p = path.trim_matches('/');
            if p.is_empty() {
                v.push(("*".into(), i64::from(*weight)));
            } else {
                v.push((format!("*/{p}"), i64::from(*weight)));
                v.push((format!("*/{p}/*"), i64::from(*weight)));
            }
        }
        Ok(v)
    }
}

/// A GUID argument as xorriso reads it: 32 hex digits are the GUID's bytes in on-disk order (as
/// `xorriso -report_system_area` prints them, and as Ubuntu's `28732ac11ff8d211ba4b00a0c93ec93b` for the EFI
/// System type is written), the 8-4-4-4-12 form is the usual text form.
fn guid_arg(text: &str) -> Option<Guid> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut b = [0u8; 16];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        return Some(Guid(b));
    }
    if text.len() == 36 {
        return Guid::parse(text);
    }
    None
}

/// The seed of the MBR signature for xorriso's `gpt_disk_guid=`: the same GUID gives the same signature.
fn guid_seed(g: Guid) -> u64 {
    let half = |b: &[u8]| b.iter().fold(0u64, |v, x| v << 8 | u64::from(*x));
    half(&g.0[..8]) ^ half(&g.0[8..]).rotate_left(17)
}

fn now_and_clamp(a: &MkisofsArgs) -> Result<(i64, Option<i64>)> {
    let sde = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) if !s.trim().is_empty() => {
            Some(s.trim().parse::<i64>().with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number"))?)
        }
        _ => None,
    };
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let now = a.uuid_date.map(|(t, _)| t).or(sde).unwrap_or(wall);
    Ok((now, sde))
}

/// Where the messages of a run go: standard error, or the `-log-file`.
struct Log(Option<std::fs::File>);

impl Log {
    fn open(path: Option<&std::path::Path>) -> Result<Log> {
        Ok(Log(match path {
            Some(p) => Some(std::fs::File::create(p).with_context(|| format!("-log-file: creating {}", p.display()))?),
            None => None,
        }))
    }

    fn line(&mut self, text: &str) {
        match &mut self.0 {
            Some(f) => {
                // A log that cannot be written loses the message, not the image.
                let _ = writeln!(f, "{text}");
            }
            None => eprintln!("{text}"),
        }
    }
}

/// The `-version` text. xorriso's own layout is kept for the line scripts read (`xorriso version   :  1.5.6`,
/// which debian-cd's `awk '/^xorriso version/ {split($4, ...)}'` turns into 10506): it names the xorriso release
/// whose `-as mkisofs` options odix follows, and the first line says what answers.
pub fn version_text() -> String {
    format!(
        "odix {v}: mkisofs, genisoimage and xorriso -as mkisofs compatible command line (not xorriso)\n\
         xorriso version   :  {XORRISO_COMPAT}\n\
         odix version      :  {v}\n",
        v = env!("CARGO_PKG_VERSION")
    )
}

/// The xorriso release whose `-as mkisofs` command line odix follows, for scripts that check the version.
pub const XORRISO_COMPAT: &str = "1.5.6";

/// Runs `odix mkisofs ARGS...`.
pub fn mkisofs(args: Vec<OsString>) -> Result<u8> {
    let a = MkisofsArgs::parse(&args)?;
    if a.help {
        eprint!("{}", help_text());
        return Ok(0);
    }
    if a.version {
        print!("{}", version_text());
        return Ok(0);
    }
    let mut log = Log::open(a.log_file.as_deref())?;
    let r = build(&a, &mut log);
    if let (Err(e), Some(_)) = (&r, &log.0) {
        log.line(&format!("odix mkisofs: {e:#}"));
    }
    r
}

fn build(a: &MkisofsArgs, log: &mut Log) -> Result<u8> {
    if !a.quiet {
        for w in &a.warnings {
            log.line(&format!("odix mkisofs: warning: {w}"));
        }
    }
    if a.pathspecs.is_empty() {
        bail!("no pathspec given (odix mkisofs -help shows the usage)");
    }
    if a.output.is_none() && !a.print_size && std::io::stdout().is_terminal() {
        bail!("image not written to a terminal: give -o FILE, or -o - to force it onto standard output");
    }
    if a.md5 && a.udf {
        bail!(
            "--md5 and -udf cannot be combined: the MD5 superblock tag would break the UDF volume recognition sequence"
        );
    }
    if let Some(out) = a.output.as_ref().filter(|o| !a.print_size && !is_device(o)) {
        odix::output::check_target(out)?;
    }
    if !a.hide_udf.is_empty() && !a.udf {
        bail!("-hide-udf needs -udf (there is no UDF tree to hide from)");
    }
    if a.partition_offset != 0 && a.udf {
        bail!("-partition_offset and -udf cannot be combined");
    }
    let (now, sde) = now_and_clamp(a)?;
    let mut spec = BuildSpec::new(a.pathspecs.iter().cloned().map(BuildSource::Pathspec).collect());
    spec.walk.exclude = a.exclude.clone();
    spec.walk.follow_links = a.follow_links;
    spec.walk.rational_rock = a.rational_rock;
    spec.walk.sort = a.sort_patterns()?;
    spec.hide = HideSpec { iso: a.hide.clone(), joliet: a.hide_joliet.clone(), udf: a.hide_udf.clone() };
    spec.attributes = Attributes {
        uid: a.uid,
        gid: a.gid,
        file_mode: a.file_mode,
        dir_mode: a.dir_mode,
        new_dir_mode: a.new_dir_mode,
        all_file_dates: a.all_file_dates,
        all_dates_to_mtime: a.all_dates_to_mtime,
    };
    spec.trees.iso_level = a.iso_level.unwrap_or(1);
    spec.trees.allow_limited_size = a.allow_limited_size;
    spec.trees.rock_ridge = a.rock;
    spec.trees.joliet = a.joliet;
    spec.trees.joliet_long = a.joliet_long;
    // -udf: a bridge image whose UDF tree shares the file data (and the patched boot images).
    spec.trees.udf = a.udf.then(UdfSpec::default);
    spec.ids.volume_id = Some(a.volume_id.clone().unwrap_or_else(|| "CDROM".into()));
    spec.ids.system_id = Some(a.system_id.clone().unwrap_or_else(|| "LINUX".into()));
    spec.ids.application = a.application.clone();
    spec.ids.publisher = a.publisher.clone();
    spec.ids.preparer = a.preparer.clone();
    spec.ids.volume_set = a.volume_set.clone();
    spec.dates.now = now;
    spec.dates.clamp = sde;
    spec.dates.volume = Some(VolumeDates {
        creation: a.uuid_date.map(|(t, _)| t).or(a.creation_date),
        modification: a.uuid_date.map(|(t, _)| t).or(a.modification_date),
        expiration: a.expiration_date,
        effective: a.effective_date,
        hundredths: a.uuid_date.map_or(0, |(_, cs)| cs),
    });
    spec.boot = a.boot_config();
    spec.md5 = a.md5;
    spec.cancel = Some(crate::cmd::interrupt::cancel());
    // What the command's own options caused goes to the log; what the trees record, to standard error.
    let show = |log: &mut Log, warnings: &[BuildWarning]| {
        for w in warnings {
            match w {
                BuildWarning::LevelRaised(_) | BuildWarning::Md5WithoutRockRidge => {
                    log.line(&format!("odix mkisofs: warning: {w}"))
                }
                BuildWarning::UdfLeftOut(_) => eprintln!("odix: {w}"),
                _ => eprintln!("odix: warning: {w}"),
            }
        }
    };
    if a.print_size {
        let plan = spec.plan()?;
        show(log, plan.warnings());
        let total = plan.total_sectors();
        // As genisoimage and xorriso: the number of 2048-byte blocks the image would have, on standard output,
        // and nothing written.
        if !a.quiet {
            log.line(&format!("Total extents scheduled to be written = {total}"));
        }
        println!("{total}");
        return Ok(0);
    }
    // The image is laid out once: its warnings are shown and the output created when its size is known, before
    // any byte is written.
    let plan = spec.prepare()?;
    let output = a.output.clone().unwrap_or_else(|| PathBuf::from("-"));
    let out: OnceCell<Target> = OnceCell::new();
    let bar: OnceCell<indicatif::ProgressBar> = OnceCell::new();
    let (w, laid) = plan
        .write_with(
            |laid| {
                show(log, &laid.warnings);
                if out.get().is_none() {
                    let _ = out.set(Target::create(&output)?);
                }
                let target = out.get().context("the output was not created")?;
                let _ = bar.set(image_bar(laid.size_bytes(), a.quiet || output.as_os_str() == "-"));
                Ok(BufWriter::with_capacity(1 << 20, target.file()))
            },
            &mut |n| {
                if let Some(b) = bar.get() {
                    b.inc(n);
                }
            },
        )
        .map_err(|e| if out.get().is_some() { e.context(format!("writing {}", output.display())) } else { e })?;
    drop(w);
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    out.into_inner().context("the output was never created")?.commit()?;
    let total = laid.total_sectors;
    if !a.quiet {
        log.line(&format!(
            "odix mkisofs: wrote {} ({} sectors, {} bytes)",
            output.display(),
            total,
            total * SECTOR as u64
        ));
    }
    Ok(0)
}

/// Whether `path` is an existing device, FIFO or socket: written in place (`-o /dev/null`, a pipe, a disk), as
/// genisoimage and xorriso write them, never replaced by a file.
fn is_device(path: &std::path::Path) -> bool {
    path.as_os_str() != "-" && std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Where the image goes: an atomic file (and standard output), or a device written in place.
enum Target {
    Atomic(AtomicFile),
    Device(std::fs::File),
}

impl Target {
    fn create(path: &std::path::Path) -> Result<Target> {
        if is_device(path) {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            return Ok(Target::Device(f));
        }
        Ok(Target::Atomic(AtomicFile::create(path)?))
    }

    fn file(&self) -> &std::fs::File {
        match self {
            Target::Atomic(a) => &a.file,
            Target::Device(f) => f,
        }
    }

    fn commit(self) -> Result<()> {
        match self {
            Target::Atomic(a) => a.commit(),
            Target::Device(f) => {
                Ok(f.sync_all().or_else(|e| if e.raw_os_error() == Some(22) { Ok(()) } else { Err(e) })?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odix_iso9660::write::eltorito::Emulation;

    fn parse(args: &[&str]) -> Result<MkisofsArgs> {
        let v: Vec<OsString> = args.iter().map(OsString::from).collect();
        MkisofsArgs::parse(&v)
    }

    /// The arguments grub-mkrescue 2.06 passes to `xorriso -as mkisofs`.
    #[test]
    fn grub_mkrescue() {
        let a = parse(&[
            "-graft-points",
            "--modification-date=2026112517223700",
            "-b",
            "boot/grub/i386-pc/eltorito.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "--grub2-boot-info",
            "--grub2-mbr",
            "/usr/lib/grub/i386-pc/boot_hybrid.img",
            "-hfsplus",
            "-apm-block-size",
            "2048",
            "-hfsplus-file-creator-type",
            "chrp",
            "tbxj",
            "/System/Library/CoreServices/.disk_label",
            "-hfs-bless-by",
            "i",
            "/System/Library/CoreServices/boot.efi",
            "--efi-boot",
            "efi.img",
            "-efi-boot-part",
            "--efi-boot-image",
            "--protective-msdos-label",
            "-o",
            "out.iso",
            "-r",
            "/tmp/grub.1XRk61",
            "--sort-weight",
            "0",
            "/",
            "--sort-weight",
            "1",
            "/boot",
            "gdir",
        ])
        .unwrap();
        assert_eq!(a.output, Some(PathBuf::from("out.iso")));
        assert!(a.graft_points && a.rock && a.rational_rock && !a.joliet);
        assert_eq!(a.boot.len(), 2);
        let b = &a.boot[0];
        assert_eq!(b.image, "boot/grub/i386-pc/eltorito.img");
        assert_eq!(b.platform(), Platform::BIOS);
        assert_eq!(b.load_size, Some(LoadSize::Sectors(4)));
        assert!(b.boot_info_table && b.grub2_boot_info);
        assert_eq!(b.emulation(10).unwrap(), Emulation::NoEmulation);
        assert_eq!(a.boot[1].image, "efi.img");
        assert_eq!(a.boot[1].platform(), Platform::EFI);
        assert_eq!(a.efi_boot_part, Some(EfiPartSpec::ElToritoImage));
        assert!(a.protective_msdos_label);
        assert_eq!(a.grub2_mbr, Some(ByteSource::File(PathBuf::from("/usr/lib/grub/i386-pc/boot_hybrid.img"))));
        assert_eq!(a.sort_weights, [(0, "/".to_string()), (1, "/boot".to_string())]);
        assert_eq!(a.pathspecs, [OsString::from("/tmp/grub.1XRk61"), OsString::from("gdir")]);
        assert_eq!(a.uuid_date, Some((1_795_627_357, 0)));
        assert_eq!(a.warnings.len(), 1, "one HFS warning: {:?}", a.warnings);
    }

    #[test]
    fn isolinux_and_seed() {
        let a = parse(&[
            "-o",
            "out.iso",
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-isohybrid-mbr",
            "/usr/lib/ISOLINUX/isohdpfx.bin",
            "-R",
            "-J",
            "dir",
        ])
        .unwrap();
        assert_eq!(a.catalog.as_deref(), Some("isolinux/boot.cat"));
        assert_eq!(a.boot.len(), 1);
        assert!(a.rock && !a.rational_rock && a.joliet);
        let s =
            parse(&["-output", "seed.iso", "-volid", "cidata", "-joliet", "-rock", "user-data", "meta-data"]).unwrap();
        assert_eq!(s.volume_id.as_deref(), Some("cidata"));
        assert!(s.joliet && s.rock);
        assert_eq!(s.pathspecs.len(), 2);
    }

    #[test]
    fn alt_boot_sections_and_platforms() {
        let a = parse(&[
            "-b",
            "a.img",
            "-eltorito-alt-boot",
            "-eltorito-platform",
            "efi",
            "-b",
            "b.img",
            "-no-emul-boot",
            "-eltorito-alt-boot",
            "-e",
            "c.img",
            "-eltorito-alt-boot",
            "-b",
            "d.img",
            "-hard-disk-boot",
            "-no-boot",
            "-boot-load-seg",
            "0x7c0",
            "-boot-load-size",
            "full",
            "x",
        ])
        .unwrap();
        let got: Vec<_> = a.boot.iter().map(|b| (b.image.as_str(), b.platform())).collect();
        assert_eq!(
            got,
            [("a.img", Platform::BIOS), ("b.img", Platform::EFI), ("c.img", Platform::EFI), ("d.img", Platform::BIOS)]
        );
        assert!(a.boot[0].emulation(1000).is_err(), "no emulation mode and not a floppy size");
        assert_eq!(a.boot[0].emulation(1_474_560).unwrap(), Emulation::Floppy144);
        let d = &a.boot[3];
        assert_eq!(d.emulation(0).unwrap(), Emulation::HardDisk);
        assert!(d.not_bootable);
        assert_eq!(d.load_segment, 0x7c0);
        assert_eq!(d.load_size, Some(LoadSize::Full));
    }

    #[test]
    fn values_and_errors() {
        let a = parse(&[
            "-uid",
            "0",
            "-gid",
            "100",
            "-file-mode",
            "444",
            "-dir-mode",
            "555",
            "-new-dir-mode",
            "755",
            "-iso-level",
            "4",
            "-volume_date",
            "c",
            "2020010100000000",
            "-volume_date",
            "uuid",
            "2021010100000000",
            "-append_partition",
            "2",
            "0xef",
            "esp.img",
            "-partition_offset",
            "16",
            "-no-pad",
            "-m",
            "*.o",
            "-exclude",
            "tmp",
            "-x",
            "y",
            "-hide",
            "h",
            "-hide-joliet",
            "hj",
            "-U",
            "-N",
            "-d",
            "-T",
            "-D",
            "-l",
            "-allow-lowercase",
            "-allow-multidot",
            "-relaxed-filenames",
            "-udf",
            "-quiet",
            "-v",
            "-input-charset",
            "utf-8",
            "-output-charset",
            "utf-8",
            "-volset",
            "S",
            "-publisher",
            "P",
            "-p",
            "Q",
            "-A",
            "APP",
            "-sysid",
            "LINUX",
            "-joliet-long",
            "-f",
            "-isohybrid-gpt-basdat",
            "-isohybrid-apm-hfsplus",
            "-G",
            "g.bin",
            "-sort",
            "sortfile",
            "-pad",
            "src",
        ])
        .unwrap();
        assert_eq!(
            (a.uid, a.gid, a.file_mode, a.dir_mode, a.new_dir_mode),
            (Some(0), Some(100), Some(0o444), Some(0o555), Some(0o755))
        );
        assert_eq!(a.iso_level, Some(4));
        assert_eq!(a.creation_date, Some(1_577_836_800));
        assert_eq!(a.uuid_date, Some((1_609_459_200, 0)));
        assert_eq!(a.append, [(2, PartitionType::Mbr(0xef), ByteSource::File(PathBuf::from("esp.img")))]);
        assert_eq!(a.partition_offset, 16);
        assert!(a.pad, "-pad after -no-pad");
        assert_eq!(a.exclude, ["*.o", "tmp", "y"]);
        assert_eq!(a.hide, ["h"]);
        assert_eq!(a.hide_joliet, ["hj"]);
        assert!(a.udf && a.quiet && a.joliet_long && a.follow_links && a.gpt_basdat);
        assert_eq!(a.embedded_boot, Some(ByteSource::File(PathBuf::from("g.bin"))));
        assert_eq!(a.warnings.len(), 4, "{:?}", a.warnings); // -T, -D, HFS, relaxed names

        assert!(parse(&["-frobnicate", "x"]).unwrap_err().to_string().contains("unknown option `-frobnicate`"));
        assert!(parse(&["-o"]).is_err());
        assert!(parse(&["-iso-level", "5"]).is_err());
        assert!(parse(&["-file-mode", "999"]).is_err());
        assert!(parse(&["--modification-date=2026113217223700"]).is_err());
        assert!(parse(&["-append_partition", "5", "0xef", "x"]).is_err());
        assert!(parse(&["-input-charset", "cp437"]).is_err());
        assert!(parse(&["-eltorito-platform", "amiga"]).is_err());
        assert!(parse(&["-help"]).unwrap().help);
        assert!(parse(&["--version"]).unwrap().version);
        let dashes = parse(&["--", "-weird-name"]).unwrap();
        assert_eq!(dashes.pathspecs, [OsString::from("-weird-name")]);
    }

    /// The arguments xorriso reports for Debian's memtest86+x64.iso.
    #[test]
    fn efi_image_on_an_appended_partition() {
        let a = parse(&[
            "--mbr-force-bootable",
            "-append_partition",
            "2",
            "0xef",
            "esp.img",
            "-iso_mbr_part_type",
            "0x00",
            "-b",
            "/boot/floppy.img",
            "-eltorito-alt-boot",
            "-e",
            "--interval:appended_partition_2:all::",
            "-no-emul-boot",
            "t",
        ])
        .unwrap();
        assert!(a.mbr_force_bootable);
        assert_eq!(a.iso_mbr_part_type, Some(0));
        assert_eq!(a.boot[1].appended_partition(), Some(2));
        assert_eq!(a.boot[1].platform(), Platform::EFI);
        assert_eq!(a.boot[0].appended_partition(), None);
        assert!(parse(&["-iso_mbr_part_type", "300"]).is_err());
        // xorriso's interval reader: s = 2048 bytes, d = 512 bytes, a scaled end is the last byte of its unit.
        let a = parse(&[
            "--grub2-mbr",
            "--interval:local_fs:0s-15s:zero_mbrpt,zero_gpt:'/x/in.iso'",
            "-append_partition",
            "2",
            "0xef",
            "--interval:local_fs:3304d-11495d::'/x/in.iso'",
            "-G",
            "--interval:local_fs:0-429:zero_mbrpt,440-443:g.bin",
        ])
        .unwrap();
        let mbr = a.grub2_mbr.unwrap();
        let ByteSource::Interval { path, start, end, flags } = &mbr else { panic!("{mbr:?}") };
        assert_eq!((path.to_str(), *start, *end), (Some("/x/in.iso"), 0, 32767));
        assert!(flags.mbr_table && flags.gpt && !flags.apm);
        assert_eq!(mbr.to_arg(), "--interval:local_fs:0-32767:zero_mbrpt,zero_gpt:'/x/in.iso'");
        let ByteSource::Interval { start, end, .. } = &a.append[0].2 else { panic!() };
        assert_eq!((*start, *end), (3304 * 512, 11496 * 512 - 1));
        let ByteSource::Interval { start, end, flags, .. } = a.embedded_boot.unwrap() else { panic!() };
        assert_eq!((start, end, flags.ranges), (0, 429, vec![(440, 443)]));
        for bad in ["--interval:imported_iso:0-1::", "--interval:local_fs:5-1::f", "--interval:local_fs:0x-1::f"] {
            assert!(parse(&["-G", bad]).is_err(), "{bad}");
        }
    }

    /// `-isohybrid-gpt-basdat` marks the image being defined (archiso's line: after `-b`), or after
    /// `-eltorito-alt-boot` the next one (what `xorriso -report_system_area` shows for the three orders).
    #[test]
    fn gpt_basdat_marks_the_current_image() {
        let marks = |args: &[&str]| parse(args).unwrap().boot.iter().map(|b| b.gpt_basdat).collect::<Vec<_>>();
        let (b, e) = (["-b", "isolinux.bin", "-no-emul-boot"], ["-e", "efi.img", "-no-emul-boot"]);
        let alt = "-eltorito-alt-boot";
        let basdat = "-isohybrid-gpt-basdat";
        assert_eq!(marks(&[b[0], b[1], b[2], basdat, alt, e[0], e[1], e[2], "t"]), [true, false]);
        assert_eq!(marks(&[b[0], b[1], b[2], alt, e[0], e[1], e[2], basdat, "t"]), [false, true]);
        assert_eq!(marks(&[b[0], b[1], b[2], alt, basdat, e[0], e[1], e[2], "t"]), [false, true]);
    }

    #[test]
    fn help_lists_what_grub_mkrescue_looks_for() {
        let h = help_text();
        for o in [
            "--grub2-boot-info",
            "--grub2-mbr",
            "--efi-boot",
            "-efi-boot-part",
            "--protective-msdos-label",
            "--sort-weight",
            "-no-emul-boot",
            "-isohybrid-mbr",
            "-append_partition",
            "--modification-date",
            "--md5",
            "-print-size",
        ] {
            assert!(h.contains(o), "{o} missing from -help");
        }
    }

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    /// NixOS's `-boot_image any gpt_disk_guid=` and `-volume_date all_file_dates` as mkisofs options (what
    /// the xorriso line reader hands over), and the two spellings of a GUID.
    #[test]
    fn xorriso_settings_as_options() {
        let a = MkisofsArgs::parse(&os(&[
            "-gpt_disk_guid",
            "0123456789abcdef0123456789abcdef",
            "-volume_date",
            "all_file_dates",
            "=1",
            "-iso-level",
            "3",
        ]))
        .unwrap();
        assert_eq!(a.all_file_dates, Some(1));
        let literal = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        assert_eq!(a.gpt_disk_guid, Some(Guid(literal)));
        // The 8-4-4-4-12 form has its first three fields byte-swapped (xorriso's man page example).
        let a = MkisofsArgs::parse(&os(&["-gpt_disk_guid", "2303cd2a-73c7-424a-a298-25632da7f446", "d"])).unwrap();
        let b = MkisofsArgs::parse(&os(&["-gpt_disk_guid", "2acd0323c7734a42a29825632da7f446", "d"])).unwrap();
        assert_eq!(a.gpt_disk_guid, b.gpt_disk_guid);
    }

    /// debian-cd's size check and image lines, live-build's and lorax's option sets.
    #[test]
    fn distribution_options() {
        let a = parse(&[
            "-r",
            "-checksum_algorithm_iso",
            "sha256,sha512",
            "-jigdo-min-file-size",
            "1024",
            "-jigdo-exclude",
            "boot1",
            "-jigdo-force-md5",
            "/pool/",
            "-print-size",
            "-quiet",
            "-J",
            "-joliet-long",
            "-cache-inodes",
            "-o",
            "/dev/null",
            "--md5",
            "-log-file",
            "l.txt",
            "-allow-limited-size",
            "--no_rc",
            "CD1",
        ])
        .unwrap();
        assert!(a.print_size && a.md5 && a.allow_limited_size && a.joliet_long);
        assert_eq!(a.log_file, Some(PathBuf::from("l.txt")));
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        assert!(parse(&["-md5"]).unwrap().md5);
        for bad in [
            &["-no-cache-inodes", "d"][..],
            &["-jigdo-jigdo", "x.jigdo", "d"],
            &["-jigdo-template", "x.template", "d"],
            &["-checksum_algorithm_iso", "crc32", "d"],
            &["-gpt_disk_guid", "xyz", "d"],
            &["-gpt_disk_guid", "volume_date_uuid", "d"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

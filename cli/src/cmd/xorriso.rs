//! xorriso's command lines: `xorriso [-no_rc] ... -as mkisofs ARGS` (handed to `odix mkisofs`), `xorriso -version`,
//! and the editing commands remastering scripts run (`-indev IN -outdev OUT -map FILE /path -boot_image any
//! replay`), read into an [`XorrisoEdit`] and run as an [`odix::edit::EditSpec`]. odix answers them as
//! `odix -indev ...` and through a link named `xorriso`.
//!
//! xorriso runs its commands in order, and so does this reading: `-map` adds or replaces, `-rm` of a missing path
//! is a problem of severity SORRY (the run goes on, the exit value is 32 unless `-return_with` says otherwise;
//! `-abort_on SORRY` stops it with exit value 5 and nothing written). Commands that take a list of paths (`-rm`,
//! `-rm_r`, `-mkdir`, `-chmod`, `-mv`) read up to `--` or the end of the line, as xorriso does.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use odix::edit::{BootMode, EditOp};

/// What a command line that may be xorriso's means.
#[derive(Debug, PartialEq, Eq)]
pub enum XorrisoLine {
    /// Not a xorriso command line (odix's own).
    NotXorriso,
    /// `[xorriso commands] -as mkisofs ARGS`: the arguments for `odix mkisofs`.
    Mkisofs(Vec<OsString>),
    /// `xorriso [-no_rc] -version`.
    Version,
    /// Editing commands (`-indev`, `-outdev`, `-map`, ...), or a new image made with xorriso's own commands.
    Edit(Box<XorrisoEdit>),
    /// A xorriso command line odix cannot run; the reason.
    Unsupported(String),
}

/// xorriso's message severities, lowest first (`-abort_on`, `-return_with`, `-report_about`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `ALL`.
    All,
    /// `DEBUG`.
    Debug,
    /// `UPDATE`.
    Update,
    /// `NOTE`.
    Note,
    /// `HINT`.
    Hint,
    /// `WARNING`.
    Warning,
    /// `SORRY`: a command could not do what it was asked (a missing path); the run goes on.
    Sorry,
    /// `MISHAP`.
    Mishap,
    /// `FAILURE`.
    Failure,
    /// `FATAL`.
    Fatal,
    /// `ABORT`.
    Abort,
    /// `NEVER`.
    Never,
}

impl Severity {
    fn parse(s: &str) -> Result<Severity, String> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "ALL" => Severity::All,
            "DEBUG" => Severity::Debug,
            "UPDATE" => Severity::Update,
            "NOTE" => Severity::Note,
            "HINT" => Severity::Hint,
            "WARNING" => Severity::Warning,
            "SORRY" => Severity::Sorry,
            "MISHAP" => Severity::Mishap,
            "FAILURE" => Severity::Failure,
            "FATAL" => Severity::Fatal,
            "ABORT" => Severity::Abort,
            "NEVER" => Severity::Never,
            other => return Err(format!("xorriso: unknown severity {other:?}")),
        })
    }
}

/// A `-report_el_torito` or `-report_system_area` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// `true` for `-report_system_area`, `false` for `-report_el_torito`.
    pub system_area: bool,
    /// `plain`, `help`, `cmd` or `as_mkisofs`.
    pub mode: String,
}

/// An El Torito entry defined with xorriso's `-boot_image` settings (a new image).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct BootEntry {
    /// `bin_path=` (BIOS) or `efi_path=` (`efi`).
    path: Option<String>,
    efi: bool,
    platform: Option<String>,
    no_emulation: bool,
    load_size_bytes: Option<u64>,
    boot_info_table: bool,
    grub2_boot_info: bool,
}

/// A xorriso command line of the editing kind, read in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorrisoEdit {
    /// `-indev` (or `-dev`): the image read.
    pub indev: Option<PathBuf>,
    /// `-outdev` (or `-dev`): where the result goes.
    pub outdev: Option<PathBuf>,
    /// The changes, in order.
    pub ops: Vec<EditOp>,
    /// `-volid`.
    pub volume_id: Option<String>,
    /// `-boot_image any replay|keep|discard`.
    pub boot: Option<BootMode>,
    /// Other `-boot_image` settings, as given (`grub bin_path=...`, `any next`, ...): a new image's boot setup.
    pub boot_settings: Vec<(String, String)>,
    /// `-append_partition N TYPE FILE`.
    pub append_partitions: Vec<(String, String, PathBuf)>,
    /// `-joliet on|off`.
    pub joliet: Option<bool>,
    /// `-rockridge on|off`.
    pub rockridge: Option<bool>,
    /// `-compliance` rules, as given.
    pub compliance: Vec<String>,
    /// `-padding`: its value as given.
    pub padding: Option<String>,
    /// `-md5 on|all|off`.
    pub md5: Option<bool>,
    /// `-report_el_torito`, `-report_system_area`.
    pub reports: Vec<Report>,
    /// `-commit` was given (or the line ends with changes pending: xorriso then commits at its end).
    pub commit: bool,
    /// `-abort_on`: the severity that stops the run (xorriso's default FAILURE).
    pub abort_on: Severity,
    /// `-return_with`: the severity from which the exit value is the number (default SORRY 32).
    pub return_with: (Severity, u8),
    /// `-report_about` at SORRY or above: only problems are printed.
    pub quiet: bool,
    /// `-as mkisofs` options given within the edit (up to `--`): settings for the new image.
    pub mkisofs: Vec<String>,
    /// Commands read but not honoured by odix: the run refuses with their names rather than writing an image
    /// that differs from xorriso's.
    pub not_honoured: Vec<String>,
}

impl Default for XorrisoEdit {
    fn default() -> Self {
        XorrisoEdit {
            indev: None,
            outdev: None,
            ops: Vec::new(),
            volume_id: None,
            boot: None,
            boot_settings: Vec::new(),
            append_partitions: Vec::new(),
            joliet: None,
            rockridge: None,
            compliance: Vec::new(),
            padding: None,
            md5: None,
            reports: Vec::new(),
            commit: false,
            abort_on: Severity::Failure,
            return_with: (Severity::Sorry, 32),
            quiet: false,
            mkisofs: Vec::new(),
            not_honoured: Vec::new(),
        }
    }
}

/// An image path as xorriso takes it: relative paths are relative to the root (xorriso's `-cd` is `/`).
fn iso_path(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

/// A `-chmod` mode: octal only (`0644`, `755`); symbolic modes need each file's current mode.
fn octal_mode(m: &str) -> Result<u32, String> {
    u32::from_str_radix(m, 8).ok().filter(|v| *v <= 0o7777).ok_or_else(|| {
        format!("xorriso -chmod {m}: odix takes octal modes (0644); symbolic modes such as u+rwx are not supported")
    })
}

/// Reads xorriso's commands (`args` without the program name). `as_xorriso`: odix was called through a link
/// named `xorriso`, so every command line is xorriso's; otherwise only one holding `-as mkisofs`, `-indev`,
/// `-outdev` or `-dev` is.
pub fn xorriso_line(args: &[OsString], as_xorriso: bool) -> XorrisoLine {
    let editing = |a: &OsString| matches!(a.to_str(), Some("-indev" | "-outdev" | "-dev"));
    if !as_xorriso && !args.iter().any(|a| a == "-as" || a == "--as" || editing(a)) {
        return XorrisoLine::NotXorriso;
    }
    let unsupported = |what: String| {
        if as_xorriso || args.iter().any(editing) {
            XorrisoLine::Unsupported(what)
        } else {
            XorrisoLine::NotXorriso
        }
    };
    let mut text: Vec<String> = Vec::with_capacity(args.len());
    for a in args {
        match a.to_str() {
            Some(t) => text.push(t.to_string()),
            None => return unsupported(format!("xorriso argument {a:?} is not UTF-8")),
        }
    }
    match read_commands(args, &text) {
        Ok(Read::Mkisofs(m)) => XorrisoLine::Mkisofs(m),
        Ok(Read::Version) if as_xorriso => XorrisoLine::Version,
        Ok(Read::Edit(e)) => XorrisoLine::Edit(e),
        Ok(Read::Version | Read::Nothing) => unsupported(
            "xorriso with nothing to do: odix runs `-as mkisofs ARGS`, `-version`, and the editing commands \
             (-indev, -outdev, -map, -rm, ...; see docs/editing.md)"
                .into(),
        ),
        Err(e) => unsupported(e),
    }
}

enum Read {
    Mkisofs(Vec<OsString>),
    Version,
    Edit(Box<XorrisoEdit>),
    Nothing,
}

/// The commands in order. The settings before `-as mkisofs` become mkisofs options when no editing command came
/// first; after one, `-as mkisofs` options up to `--` are settings of the edit.
fn read_commands(args: &[OsString], text: &[String]) -> Result<Read, String> {
    let mut pre: Vec<OsString> = Vec::new();
    let mut e = XorrisoEdit::default();
    let mut editing = false;
    let mut version = false;
    let mut i = 0;
    // The values of the command at `i`: exactly `k`.
    let need = |i: usize, k: usize| -> Result<&[String], String> {
        text.get(i + 1..i + 1 + k).ok_or_else(|| format!("xorriso command {} needs {k} value(s)", text[i]))
    };
    // A list up to `--` or the end: (the list, the index after it).
    let list = |from: usize| -> (&[String], usize) {
        let end = text[from..].iter().position(|a| a == "--").map_or(text.len(), |p| from + p);
        (&text[from..end], (end + 1).min(text.len().max(end)))
    };
    while i < text.len() {
        let name = text[i].strip_prefix("--").or_else(|| text[i].strip_prefix('-')).unwrap_or(&text[i]);
        let step = match name {
            "as" => {
                let prog = text.get(i + 1).map(String::as_str);
                if !matches!(prog, Some("mkisofs" | "genisoimage" | "xorrisofs")) {
                    return Err(match prog {
                        Some(p) => format!(
                            "xorriso -as {p}: odix emulates only -as mkisofs (also named genisoimage and xorrisofs)"
                        ),
                        None => "xorriso -as needs a program name (mkisofs)".into(),
                    });
                }
                if !editing {
                    pre.extend(args[i + 2..].iter().cloned());
                    return Ok(Read::Mkisofs(pre));
                }
                let (opts, next) = list(i + 2);
                e.mkisofs.extend(opts.iter().cloned());
                next - i
            }
            "no_rc" => 1,
            "version" => {
                version = true;
                1
            }
            "abort_on" => {
                e.abort_on = Severity::parse(&need(i, 1)?[0])?;
                2
            }
            "return_with" => {
                let v = need(i, 2)?;
                let code: u8 = v[1].parse().map_err(|_| format!("xorriso -return_with: bad exit value {:?}", v[1]))?;
                if code != 0 && !(32..=63).contains(&code) {
                    return Err(format!("xorriso -return_with: exit value {code} is not 0 or 32..63"));
                }
                e.return_with = (Severity::parse(&v[0])?, code);
                3
            }
            "report_about" => {
                let s = Severity::parse(&need(i, 1)?[0])?;
                if s >= Severity::Sorry {
                    e.quiet = true;
                    pre.push("-quiet".into());
                }
                2
            }
            "volume_date" if !editing => {
                let v = need(i, 2)?;
                pre.extend(["-volume_date".into(), v[0].clone().into(), v[1].clone().into()]);
                3
            }
            "md5" => {
                let v = &need(i, 1)?[0];
                let on = match v.as_str() {
                    "on" | "all" => true,
                    "off" => false,
                    other => return Err(format!("xorriso -md5 {other}: odix knows on, all and off")),
                };
                if on {
                    pre.push("--md5".into());
                }
                e.md5 = Some(on);
                2
            }
            "indev" | "outdev" | "dev" => {
                let v = PathBuf::from(&need(i, 1)?[0]);
                editing = true;
                if name != "outdev" {
                    e.indev = Some(v.clone());
                }
                if name != "indev" {
                    e.outdev = Some(v);
                }
                2
            }
            "map" | "update" | "map_single" => {
                let v = need(i, 2)?;
                editing = true;
                let src = PathBuf::from(&v[0]);
                let dest = iso_path(&v[1]);
                // -map_single takes a folder without its contents.
                if name == "map_single" && src.is_dir() {
                    e.ops.push(EditOp::Mkdir(dest));
                } else {
                    e.ops.push(EditOp::Add { src, dest });
                }
                3
            }
            "rm" | "rm_r" => {
                let (paths, next) = list(i + 1);
                editing = true;
                e.ops.extend(paths.iter().map(|p| EditOp::Remove(iso_path(p))));
                next - i
            }
            "mkdir" => {
                let (paths, next) = list(i + 1);
                editing = true;
                e.ops.extend(paths.iter().map(|p| EditOp::Mkdir(iso_path(p))));
                next - i
            }
            "chmod" | "chmod_r" => {
                let mode = octal_mode(&need(i, 1)?[0])?;
                let (paths, next) = list(i + 2);
                editing = true;
                e.ops.extend(paths.iter().map(|p| EditOp::Chmod {
                    mode,
                    path: iso_path(p),
                    recursive: name == "chmod_r",
                }));
                next - i
            }
            "mv" => {
                let (paths, next) = list(i + 1);
                editing = true;
                let Some((to, from)) = paths.split_last().filter(|(_, f)| !f.is_empty()) else {
                    return Err("xorriso -mv needs a source and a target".into());
                };
                if from.len() == 1 {
                    e.ops.push(EditOp::Move { from: iso_path(&from[0]), to: iso_path(to) });
                } else {
                    // Several sources go into the target folder under their own names.
                    for f in from {
                        let base = f.trim_end_matches('/').rsplit('/').next().unwrap_or(f);
                        e.ops.push(EditOp::Move {
                            from: iso_path(f),
                            to: format!("{}/{base}", iso_path(to).trim_end_matches('/')),
                        });
                    }
                }
                next - i
            }
            "volid" => {
                e.volume_id = Some(need(i, 1)?[0].clone());
                2
            }
            "joliet" | "rockridge" => {
                let on = match need(i, 1)?[0].as_str() {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("xorriso -{name} {other}: on or off")),
                };
                if name == "joliet" {
                    e.joliet = Some(on);
                } else {
                    e.rockridge = Some(on);
                }
                2
            }
            "compliance" => {
                e.compliance.push(need(i, 1)?[0].clone());
                2
            }
            "padding" => {
                e.padding = Some(need(i, 1)?[0].clone());
                2
            }
            "boot_image" => {
                let v = need(i, 2)?;
                let (kind, what) = (v[0].as_str(), v[1].as_str());
                if !matches!(kind, "any" | "grub" | "isolinux") {
                    return Err(format!("xorriso -boot_image {kind}: odix knows any, grub and isolinux"));
                }
                match what {
                    "replay" => e.boot = Some(BootMode::Replay),
                    "keep" => e.boot = Some(BootMode::KeepCatalog),
                    "discard" => e.boot = Some(BootMode::None),
                    _ if what.starts_with("gpt_disk_guid=") && !editing => {
                        pre.extend(["-gpt_disk_guid".into(), what["gpt_disk_guid=".len()..].to_string().into()]);
                        e.boot_settings.push((kind.into(), what.into()));
                    }
                    _ => e.boot_settings.push((kind.into(), what.into())),
                }
                3
            }
            "append_partition" => {
                let v = need(i, 3)?;
                editing = true;
                e.append_partitions.push((v[0].clone(), v[1].clone(), PathBuf::from(&v[2])));
                4
            }
            "report_el_torito" | "report_system_area" => {
                let mode = need(i, 1)?[0].clone();
                if !matches!(mode.as_str(), "plain" | "help" | "cmd" | "as_mkisofs") {
                    return Err(format!("xorriso -{name} {mode}: plain, help, cmd or as_mkisofs"));
                }
                editing = true;
                e.reports.push(Report { system_area: name == "report_system_area", mode });
                2
            }
            "commit" => {
                e.commit = true;
                1
            }
            "end" => {
                // -end commits pending changes and ends the program: what follows is not read.
                break;
            }
            "alter_date" | "alter_date_r" => {
                need(i, 2)?;
                let (paths, next) = list(i + 3);
                editing = true;
                e.not_honoured.push(format!("-{name} {} {} {}", text[i + 1], text[i + 2], paths.join(" ")));
                next - i
            }
            _ => {
                return Err(format!(
                    "xorriso command `{}` is not supported: odix runs `-as mkisofs ARGS`, `-version` and the editing \
                     commands listed in docs/editing.md",
                    text[i]
                ))
            }
        };
        i += step;
    }
    if editing {
        // xorriso commits pending changes at the end of the program (and at -end) as -commit would.
        let pending = !e.ops.is_empty() || e.volume_id.is_some() || e.boot.is_some() || e.indev.is_none();
        e.commit = e.commit || (e.outdev.is_some() && pending);
        return Ok(Read::Edit(Box::new(e)));
    }
    if version {
        return Ok(Read::Version);
    }
    Ok(Read::Nothing)
}

impl XorrisoEdit {
    /// Whether this line makes a new image from folders (no `-indev`): it runs as `odix mkisofs`.
    pub fn is_new_image(&self) -> bool {
        self.indev.is_none() && self.outdev.is_some()
    }

    /// The `odix mkisofs` arguments of a new image made with xorriso's own commands (`-outdev OUT -map DIR /
    /// -boot_image grub bin_path=... -append_partition ...`, as kairos and elemental-toolkit build theirs).
    pub fn as_mkisofs(&self) -> Result<Vec<OsString>> {
        let out = self.outdev.as_ref().context("a new image needs -outdev")?;
        let mut m: Vec<String> = vec!["-graft-points".into()];
        // xorriso records Rock Ridge by default, with the files' own attributes (-R, not -r).
        if self.rockridge != Some(false) {
            m.push("-R".into());
        }
        if self.joliet == Some(true) {
            m.push("-J".into());
        }
        if let Some(v) = &self.volume_id {
            m.extend(["-V".into(), v.clone()]);
        }
        if self.md5 == Some(true) {
            m.push("--md5".into());
        }
        match self.padding.as_deref() {
            None => {}
            Some("0" | "0s" | "0k" | "0m") => m.push("-no-pad".into()),
            Some("300k") => {}
            Some(other) => bail!("xorriso -padding {other}: odix writes 300k (the default) or 0"),
        }
        if self.quiet {
            m.push("-quiet".into());
        }
        for rule in self.compliance.iter().flat_map(|c| c.split(':')) {
            match rule.split_once('=').unwrap_or((rule, "")) {
                ("joliet_long_names", _) => m.push("-joliet-long".into()),
                ("iso_9660_level", n) => m.extend(["-iso-level".into(), n.to_string()]),
                ("untranslated_names", _) => m.push("-U".into()),
                ("omit_version", _) => m.push("-N".into()),
                // xorriso's defaults.
                ("default" | "clear" | "", _) => {}
                (other, _) => bail!("xorriso -compliance {other}: not supported by odix in a new image"),
            }
        }
        self.boot_as_mkisofs(&mut m)?;
        for (n, t, f) in &self.append_partitions {
            m.extend(["-append_partition".into(), n.clone(), t.clone(), f.to_string_lossy().into_owned()]);
        }
        m.extend(self.mkisofs.iter().cloned());
        m.extend(["-o".into(), out.to_string_lossy().into_owned()]);
        let mut any_map = false;
        for op in &self.ops {
            match op {
                EditOp::Add { src, dest } => {
                    any_map = true;
                    m.push(format!("{}={}", dest.replace('=', "\\="), src.display()));
                }
                // A folder made in the new tree: an empty folder grafted there.
                EditOp::Mkdir(p) => bail!("xorriso -mkdir {p} in a new image is not supported; -map a folder"),
                EditOp::Chmod { .. } | EditOp::Remove(_) | EditOp::Move { .. } => {
                    bail!("xorriso: {op:?} in a new image (without -indev) is not supported")
                }
                other => bail!("xorriso: {other:?} is not supported in a new image"),
            }
        }
        if !any_map {
            bail!("xorriso: a new image needs at least one -map");
        }
        Ok(m.into_iter().map(OsString::from).collect())
    }

    /// The boot settings (`-boot_image grub|isolinux|any KEY=VALUE`) as mkisofs options.
    fn boot_as_mkisofs(&self, m: &mut Vec<String>) -> Result<()> {
        let mut entries = vec![BootEntry::default()];
        for (kind, setting) in &self.boot_settings {
            let (key, value) = setting.split_once('=').unwrap_or((setting.as_str(), ""));
            let cur = entries.last_mut().context("no boot entry")?;
            let on = || match value {
                "on" => Ok(true),
                "off" => Ok(false),
                v => Err(anyhow::anyhow!("xorriso -boot_image {kind} {key}={v}: on or off")),
            };
            match key {
                "bin_path" => {
                    cur.path = Some(value.to_string());
                    cur.efi = false;
                }
                "efi_path" => {
                    cur.path = Some(value.to_string());
                    cur.efi = true;
                }
                "platform_id" => cur.platform = Some(value.to_string()),
                "emul_type" => match value {
                    "no_emulation" => cur.no_emulation = true,
                    v => bail!("xorriso -boot_image any emul_type={v}: odix reads no_emulation"),
                },
                "load_size" => {
                    let bytes: u64 = value.parse().with_context(|| format!("xorriso load_size={value}"))?;
                    cur.load_size_bytes = Some(bytes);
                }
                "boot_info_table" => cur.boot_info_table = on()?,
                "grub2_boot_info" => cur.grub2_boot_info = on()?,
                "next" => entries.push(BootEntry::default()),
                "cat_path" => m.extend(["-c".into(), value.to_string()]),
                "cat_hidden" => {
                    if on()? {
                        m.push("-boot-catalog-hide".into());
                    }
                }
                "grub2_mbr" => m.extend(["--grub2-mbr".into(), value.to_string()]),
                "system_area" if kind == "isolinux" => m.extend(["-isohybrid-mbr".into(), value.to_string()]),
                "partition_offset" => m.extend(["-partition_offset".into(), value.to_string()]),
                "appended_part_as" => match value {
                    "gpt" => m.push("-appended_part_as_gpt".into()),
                    "mbr" => {}
                    v => bail!("xorriso appended_part_as={v}: gpt or mbr"),
                },
                "mbr_force_bootable" => {
                    if on()? {
                        m.push("--mbr-force-bootable".into());
                    }
                }
                "gpt_disk_guid" => m.extend(["-gpt_disk_guid".into(), value.to_string()]),
                other => bail!("xorriso -boot_image {kind} {other}: not supported by odix"),
            }
        }
        let mut first = true;
        for en in entries.iter().filter(|en| en.path.is_some() || en.platform.is_some()) {
            let Some(path) = &en.path else {
                bail!("xorriso -boot_image: an entry with settings but no bin_path= or efi_path=");
            };
            if !first {
                m.push("-eltorito-alt-boot".into());
            }
            first = false;
            match en.platform.as_deref() {
                None => {}
                Some("0x00" | "0" | "0x0") if !en.efi => {}
                Some("0xef" | "0xEF") if !en.efi => m.extend(["-eltorito-platform".into(), "efi".into()]),
                Some("0xef" | "0xEF") => {}
                Some(p) => m.extend(["-eltorito-platform".into(), p.to_string()]),
            }
            m.extend([if en.efi { "-e" } else { "-b" }.to_string(), path.clone()]);
            if en.no_emulation || en.efi {
                m.push("-no-emul-boot".into());
            }
            if let Some(b) = en.load_size_bytes {
                m.extend(["-boot-load-size".into(), b.div_ceil(512).to_string()]);
            }
            if en.boot_info_table {
                m.push("-boot-info-table".into());
            }
            if en.grub2_boot_info {
                m.push("--grub2-boot-info".into());
            }
        }
        Ok(())
    }

    /// The edit as an [`odix::edit::EditSpec`] (the input and output, the changes, the volume id, the boot mode,
    /// the MD5 tags). Settings odix does not honour in an edit stop it with their names.
    pub fn edit_spec(&self) -> Result<odix::edit::EditSpec> {
        let input = self.indev.clone().context("xorriso: an edit needs -indev or -dev")?;
        if !self.not_honoured.is_empty() {
            bail!("xorriso: odix does not honour {} in an edit", self.not_honoured.join(", "));
        }
        if !self.append_partitions.is_empty() {
            bail!("xorriso -append_partition in an edit is not supported: -boot_image any replay keeps the input's");
        }
        if !self.boot_settings.is_empty() {
            let s: Vec<String> = self.boot_settings.iter().map(|(k, v)| format!("{k} {v}")).collect();
            bail!("xorriso -boot_image {} in an edit is not supported (replay, keep and discard are)", s.join(", "));
        }
        let mut spec = odix::edit::EditSpec {
            input: input.clone(),
            output: self.outdev.clone().unwrap_or_default(),
            ops: self.ops.clone(),
            volume_id: self.volume_id.clone(),
            // xorriso's default without -boot_image is to keep the catalog's entries, as `keep` does.
            boot: self.boot.unwrap_or(BootMode::KeepCatalog),
            md5: self.md5.unwrap_or(false),
            now: now()?,
            cancel: Some(crate::cmd::interrupt::cancel()),
            ..Default::default()
        };
        if self.indev == self.outdev {
            spec.target = odix::edit::EditTarget::Append;
        }
        Ok(spec)
    }
}

/// The time of the edit: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn now() -> Result<i64> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"));
    }
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).context("the clock is before 1970")?;
    Ok(d.as_secs() as i64)
}

/// Whether `path` exists in the tree being edited once the ops before it have run: the last op that decides
/// about it (adds, makes, moves to, removes it or a folder above it) says, else the input's tree does.
fn exists_after(path: &str, earlier: &[EditOp], tree: &mut dyn odix::view::Tree) -> bool {
    let under = |p: &str, dir: &str| dir == "/" || p == dir || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
    for (k, op) in earlier.iter().enumerate().rev() {
        match op {
            EditOp::Add { src, dest } if under(path, dest) => {
                let rel = path[dest.len()..].trim_start_matches('/');
                // Below a folder added: there when the folder on disk has it, or the tree had it before.
                if rel.is_empty() || src.join(rel).exists() {
                    return true;
                }
            }
            EditOp::Mkdir(d) if under(d, path) => return true,
            EditOp::Move { from, to } if under(path, to) => {
                return exists_after(&format!("{from}{}", &path[to.len()..]), &earlier[..k], tree);
            }
            EditOp::Move { from, .. } | EditOp::Remove(from) if under(path, from) => return false,
            _ => {}
        }
    }
    odix::tree::resolve(tree, std::ffi::OsStr::new(path)).is_ok()
}

/// The path an op needs to exist (a SORRY in xorriso when it does not).
fn needed_path(op: &EditOp) -> Option<(&str, &'static str)> {
    match op {
        EditOp::Remove(p) => Some((p, "removal")),
        EditOp::Move { from, .. } => Some((from, "renaming")),
        EditOp::Chmod { path, .. } => Some((path, "changing its mode")),
        _ => None,
    }
}

/// Runs an edit line; returns the exit value (xorriso's: 0, the `-return_with` value after a SORRY, 5 when
/// `-abort_on` stopped the line).
pub fn run(e: &XorrisoEdit) -> Result<u8> {
    if e.is_new_image() {
        bail!("internal: a new image runs through odix mkisofs");
    }
    let input = e.indev.as_ref().context("xorriso: no -indev or -dev given")?;
    let image = odix::Image::open(input, &odix::Options::default())?;
    for r in &e.reports {
        match (r.system_area, r.mode.as_str()) {
            (false, "as_mkisofs") => {
                let replay = odix::replay::replay(&image)?;
                for l in &replay.as_mkisofs {
                    println!("{l}");
                }
            }
            (false, mode) => bail!(
                "xorriso -report_el_torito {mode}: odix prints as_mkisofs (and `odix info` shows the El Torito \
                 entries)"
            ),
            (true, mode) => {
                bail!("xorriso -report_system_area {mode}: not supported by odix; `odix info` shows the system area")
            }
        }
    }
    if !e.commit {
        return Ok(0);
    }
    let mut spec = e.edit_spec()?;
    // An edit keeps the input's trees: a tree asked for that the input lacks would be xorriso's and not odix's.
    let vols = image.volumes()?;
    let iso = vols.iso9660.found();
    if e.joliet == Some(true) && !iso.is_some_and(|v| v.joliet) {
        bail!("xorriso -joliet on: {} has no Joliet tree, and odix's edit keeps the input's trees", input.display());
    }
    if e.rockridge == Some(true) && iso.is_none_or(|v| v.rock_ridge.is_none()) {
        bail!("xorriso -rockridge on: {} has no Rock Ridge, and odix's edit keeps the input's trees", input.display());
    }
    // Paths the changes need: a missing one is xorriso's SORRY, the change is dropped and the line goes on.
    let mut tree = image.tree(odix::edit::richest_view(&image)?)?;
    let mut kept: Vec<EditOp> = Vec::new();
    let mut sorry = false;
    for op in spec.ops.drain(..) {
        if let Some((path, what)) = needed_path(&op) {
            if !exists_after(path, &kept, tree.as_mut()) {
                eprintln!("odix: SORRY : cannot find path '{path}' in the loaded image for {what}");
                sorry = true;
                if e.abort_on <= Severity::Sorry {
                    eprintln!("odix: aborting: -abort_on {:?} met a SORRY; nothing written", e.abort_on);
                    return Ok(5);
                }
                continue;
            }
        }
        kept.push(op);
    }
    spec.ops = kept;
    drop(tree);
    drop(image);
    let report = odix::edit::edit(&spec, &mut |_| {})?;
    for w in &report.warnings {
        eprintln!("odix: warning: {w}");
    }
    if !e.quiet {
        eprintln!(
            "odix: wrote {}: {} sectors, {} entries",
            spec.output.display(),
            report.total_sectors,
            report.entries
        );
    }
    Ok(if sorry && e.return_with.0 <= Severity::Sorry { e.return_with.1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn edit(v: &[&str]) -> XorrisoEdit {
        match xorriso_line(&os(v), true) {
            XorrisoLine::Edit(e) => *e,
            other => panic!("{v:?}: {other:?}"),
        }
    }

    /// mkarchiso's and NixOS's xorriso commands before `-as mkisofs`.
    #[test]
    fn xorriso_commands_before_as_mkisofs() {
        let arch = xorriso_line(&os(&["-no_rc", "-report_about", "SORRY", "-as", "mkisofs", "-r", "d"]), true);
        assert_eq!(arch, XorrisoLine::Mkisofs(os(&["-quiet", "-r", "d"])));
        let nix = xorriso_line(
            &os(&[
                "-boot_image",
                "any",
                "gpt_disk_guid=0123456789abcdef0123456789abcdef",
                "-volume_date",
                "all_file_dates",
                "=1",
                "-as",
                "mkisofs",
                "-iso-level",
                "3",
            ]),
            false,
        );
        assert_eq!(
            nix,
            XorrisoLine::Mkisofs(os(&[
                "-gpt_disk_guid",
                "0123456789abcdef0123456789abcdef",
                "-volume_date",
                "all_file_dates",
                "=1",
                "-iso-level",
                "3"
            ]))
        );
        assert_eq!(xorriso_line(&os(&["-md5", "on", "-as", "mkisofs"]), true), XorrisoLine::Mkisofs(os(&["--md5"])));
        assert_eq!(xorriso_line(&os(&["-no_rc", "-version"]), true), XorrisoLine::Version);
        assert_eq!(xorriso_line(&os(&["--version"]), true), XorrisoLine::Version);
        // As odix itself: `--version` and `--help` are odix's own.
        assert_eq!(xorriso_line(&os(&["--version"]), false), XorrisoLine::NotXorriso);
        assert_eq!(xorriso_line(&os(&["--help"]), false), XorrisoLine::NotXorriso);
        assert!(matches!(xorriso_line(&os(&["-as", "cdrecord", "x"]), true), XorrisoLine::Unsupported(_)));
        assert!(matches!(xorriso_line(&os(&[]), true), XorrisoLine::Unsupported(_)));
        assert!(matches!(xorriso_line(&os(&["-indev", "a", "-frobnicate"]), false), XorrisoLine::Unsupported(_)));
    }

    /// Commands in order; lists up to `--`; xorriso's relative paths are below the root.
    #[test]
    fn edit_commands() {
        let e = edit(&[
            "-indev",
            "in.iso",
            "-outdev",
            "out.iso",
            "-rm",
            "/a",
            "b",
            "--",
            "-rm_r",
            "/pool",
            "--",
            "-mkdir",
            "/x",
            "/y/z",
            "--",
            "-map",
            "f.cfg",
            "preseed.cfg",
            "-mv",
            "/one",
            "/two",
            "--",
            "-chmod",
            "0444",
            "/preseed.cfg",
            "--",
            "-chmod_r",
            "755",
            "/x",
            "--",
            "-volid",
            "NEW",
            "-joliet",
            "on",
            "-rockridge",
            "on",
            "-compliance",
            "joliet_long_names",
            "-padding",
            "0",
            "-md5",
            "on",
            "-boot_image",
            "any",
            "replay",
            "-return_with",
            "SORRY",
            "0",
            "-abort_on",
            "SORRY",
            "-commit",
            "-end",
            "-rm",
            "ignored",
        ]);
        assert_eq!(e.indev, Some("in.iso".into()));
        assert_eq!(e.outdev, Some("out.iso".into()));
        assert_eq!(
            e.ops,
            vec![
                EditOp::Remove("/a".into()),
                EditOp::Remove("/b".into()),
                EditOp::Remove("/pool".into()),
                EditOp::Mkdir("/x".into()),
                EditOp::Mkdir("/y/z".into()),
                EditOp::Add { src: "f.cfg".into(), dest: "/preseed.cfg".into() },
                EditOp::Move { from: "/one".into(), to: "/two".into() },
                EditOp::Chmod { mode: 0o444, path: "/preseed.cfg".into(), recursive: false },
                EditOp::Chmod { mode: 0o755, path: "/x".into(), recursive: true },
            ]
        );
        assert_eq!(e.volume_id.as_deref(), Some("NEW"));
        assert_eq!((e.joliet, e.rockridge, e.md5), (Some(true), Some(true), Some(true)));
        assert_eq!(e.compliance, ["joliet_long_names"]);
        assert_eq!(e.padding.as_deref(), Some("0"));
        assert_eq!(e.boot, Some(BootMode::Replay));
        assert_eq!(e.return_with, (Severity::Sorry, 0));
        assert_eq!(e.abort_on, Severity::Sorry);
        assert!(e.commit);
        let spec = e.edit_spec().unwrap();
        assert_eq!(spec.input, PathBuf::from("in.iso"));
        assert_eq!(spec.output, PathBuf::from("out.iso"));
        assert_eq!(spec.boot, BootMode::Replay);
        assert!(spec.md5);
        assert_eq!(spec.ops.len(), 9);

        // Without `--` a list runs to the end: `-rm /x -boot_image any replay` removes four paths (as xorriso).
        let e = edit(&["-indev", "i", "-outdev", "o", "-rm", "/x", "-boot_image", "any", "replay"]);
        assert_eq!(e.ops.len(), 4);
        assert_eq!(e.boot, None);
        // -mv of several sources into a folder; -dev reads and writes the same image (a session appended).
        let e = edit(&["-dev", "img.iso", "-mv", "/a", "/b/c", "/d", "--", "-boot_image", "any", "keep"]);
        assert_eq!(
            e.ops,
            vec![
                EditOp::Move { from: "/a".into(), to: "/d/a".into() },
                EditOp::Move { from: "/b/c".into(), to: "/d/c".into() }
            ]
        );
        assert_eq!(e.edit_spec().unwrap().target, odix::edit::EditTarget::Append);
        assert_eq!(e.edit_spec().unwrap().boot, BootMode::KeepCatalog);
        let e = edit(&["-indev", "i", "-outdev", "o", "-boot_image", "any", "discard"]);
        assert_eq!(e.edit_spec().unwrap().boot, BootMode::None);
        // Reports, symbolic modes, bad severities, missing values.
        let e = edit(&["-indev", "i", "-report_el_torito", "as_mkisofs", "-report_system_area", "plain"]);
        assert_eq!(e.reports.len(), 2);
        assert!(!e.commit);
        for bad in [
            &["-indev", "i", "-chmod", "u+rwx", "/a"][..],
            &["-indev", "i", "-abort_on", "LOUD"],
            &["-indev", "i", "-return_with", "SORRY", "7"],
            &["-indev", "i", "-map", "only-one"],
            &["-indev", "i", "-report_el_torito", "fancy"],
            &["-indev", "i", "-boot_image", "grub2", "bin_path=x"],
        ] {
            assert!(matches!(xorriso_line(&os(bad), true), XorrisoLine::Unsupported(_)), "{bad:?}");
        }
    }

    /// `-compliance` rules of a new image as mkisofs options; rules odix cannot follow are refused.
    #[test]
    fn new_image_compliance() {
        let e = edit(&["-outdev", "o.iso", "-map", "d", "/", "-compliance", "joliet_long_names:iso_9660_level=3"]);
        let m: Vec<String> = e.as_mkisofs().unwrap().iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(m.join(" "), "-graft-points -R -joliet-long -iso-level 3 -o o.iso /=d");
        let e = edit(&["-outdev", "o.iso", "-map", "d", "/", "-compliance", "strict"]);
        assert!(e.as_mkisofs().is_err());
    }

    /// kairos's new image (AuroraBoot's `-volid ... -outdev ... -map root / -chmod 0755 -- -boot_image grub ...`)
    /// as mkisofs options: the entries, the catalog, the appended EFI partition.
    #[test]
    fn new_image_boot_settings() {
        let e = edit(&[
            "-volid",
            "KAIROS",
            "-joliet",
            "on",
            "-padding",
            "0",
            "-outdev",
            "out.iso",
            "-map",
            "/r",
            "/",
            "-chmod",
            "0755",
            "--",
            "-boot_image",
            "grub",
            "bin_path=boot/eltorito.img",
            "-boot_image",
            "grub",
            "grub2_mbr=/r/boot_hybrid.img",
            "-boot_image",
            "grub",
            "grub2_boot_info=on",
            "-boot_image",
            "any",
            "partition_offset=16",
            "-boot_image",
            "any",
            "cat_path=boot.catalog",
            "-boot_image",
            "any",
            "cat_hidden=on",
            "-boot_image",
            "any",
            "boot_info_table=on",
            "-boot_image",
            "any",
            "platform_id=0x00",
            "-boot_image",
            "any",
            "emul_type=no_emulation",
            "-boot_image",
            "any",
            "load_size=2048",
            "-boot_image",
            "any",
            "next",
            "-boot_image",
            "any",
            "platform_id=0xef",
            "-boot_image",
            "any",
            "emul_type=no_emulation",
            "-append_partition",
            "2",
            "0xef",
            "/r/efi.img",
            "-boot_image",
            "any",
            "efi_path=--interval:appended_partition_2:all::",
            "-boot_image",
            "any",
            "appended_part_as=gpt",
            "-boot_image",
            "any",
            "mbr_force_bootable=on",
        ]);
        assert!(e.is_new_image());
        // `-chmod 0755 --` names no path: nothing changes (as xorriso, whose root keeps its mode).
        assert_eq!(e.ops, vec![EditOp::Add { src: "/r".into(), dest: "/".into() }]);
        let m: Vec<String> = e.as_mkisofs().unwrap().iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(
            m.join(" "),
            "-graft-points -R -J -V KAIROS -no-pad --grub2-mbr /r/boot_hybrid.img -partition_offset 16 \
             -c boot.catalog -boot-catalog-hide -appended_part_as_gpt --mbr-force-bootable -b boot/eltorito.img \
             -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info -eltorito-alt-boot \
             -e --interval:appended_partition_2:all:: -no-emul-boot -append_partition 2 0xef /r/efi.img \
             -o out.iso /=/r"
        );
    }
}

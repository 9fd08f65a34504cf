//! `odix man`: the manual pages, made from the same definitions as the command line's parser and `--help`.
//!
//! `odix.1` names the toolkit and lists the subcommands; each subcommand has its own page, `odix-SUBCOMMAND.1`.
//! Every page ends with a SEE ALSO section naming only pages this command writes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use odix::output::AtomicFile;

/// The NAME line of the top page: `odix - optical disc image toolkit`.
const TOOLKIT: &str = "optical disc image toolkit";

/// The DESCRIPTION of the top page.
const DESCRIPTION: &str = "odix rips CDs and DVDs, builds ISO 9660 and UDF images (also with the mkisofs command \
line), and lists, reads, extracts, mounts, verifies and converts disc images: ISO 9660 with Rock Ridge and Joliet, \
UDF, El Torito, and raw images (CUE/BIN, CloneCD). Each subcommand has its own page, odix-SUBCOMMAND(1); \
odix SUBCOMMAND --help prints the same.";

/// `odix man [--dir DIR]`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write odix.1 and one page per subcommand (odix-info.1, odix-ls.1, ...) into this folder instead of printing
    /// the top page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The command with what its pages need: the toolkit's NAME line and DESCRIPTION, and no `help` subcommand, which
/// has no page.
fn for_pages(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd.about(TOOLKIT).long_about(DESCRIPTION).disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The date on the pages: `SOURCE_DATE_EPOCH` when set (reproducible builds), else today, as YYYY-MM-DD.
fn page_date() -> String {
    let at = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .unwrap_or_else(chrono::Utc::now);
    at.format("%Y-%m-%d").to_string()
}

/// A page as clap_mangen renders it, made clean for every man page formatter: characters outside ASCII as groff
/// escapes (`\[u2013]`, which mandoc reads too), and the empty line it puts between two `.br` as one `.sp`.
fn clean(page: &[u8]) -> String {
    let text = String::from_utf8_lossy(page).replace("\n.br\n\n.br\n", "\n.sp\n");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// clap_mangen's page of `cmd` with the toolkit's version and `date` in its title line.
fn page(cmd: clap::Command, version: &str, date: &str) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd).date(date).source(format!("odix {version}"))
}

/// The subcommands that get a page, in the order of `--help`.
fn page_commands(cmd: &clap::Command) -> Vec<&clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect()
}

/// The file name of `sub`'s page: `odix-info.1`.
fn page_name(top: &clap::Command, sub: Option<&clap::Command>) -> String {
    match sub {
        Some(s) => format!("{}-{}.1", top.get_name(), s.get_name()),
        None => format!("{}.1", top.get_name()),
    }
}

/// Escapes `-` for roff, so that names stay hyphens (and searchable) in every output device.
fn roff_name(name: &str) -> String {
    name.replace('-', "\\-")
}

/// A SEE ALSO section naming `pages` (`odix-info(1)`, ...).
fn see_also(out: &mut dyn Write, pages: &[String]) -> std::io::Result<()> {
    writeln!(out, ".SH \"SEE ALSO\"")?;
    // `\%`: a page name is never hyphenated across lines (`odix-comple- tions(1)` names no page).
    let refs: Vec<String> = pages.iter().map(|p| format!("\\%\\fB{}\\fR(1)", roff_name(p))).collect();
    for (i, r) in refs.iter().enumerate() {
        writeln!(out, "{r}{}", if i + 1 < refs.len() { "," } else { "" })?;
    }
    Ok(())
}

/// Renders the top page (`sub` `None`) or a subcommand's page of `top` (as made by [`for_pages`]), dated `date`.
fn render(top: &clap::Command, sub: Option<&clap::Command>, date: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let stem = |p: String| p.trim_end_matches(".1").to_string();
    let version = top.get_version().unwrap_or_default();
    let mut text = Vec::new();
    match sub {
        None => {
            page(top.clone(), version, date).render(&mut text)?;
            let pages: Vec<String> = page_commands(top).into_iter().map(|s| stem(page_name(top, Some(s)))).collect();
            see_also(&mut text, &pages)?;
        }
        Some(s) => {
            // Built with its parent: its title and NAME are `odix-info`, its synopsis `odix info`.
            page(s.clone(), version, date).render(&mut text)?;
            see_also(&mut text, &[top.get_name().to_string()])?;
        }
    }
    out.write_all(clean(&text).as_bytes())
}

/// Writes `text` to `path`, which appears only whole.
fn write_page(path: &Path, text: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.file.write_all(text).with_context(|| format!("writing {}", path.display()))?;
    f.commit()
}

/// `odix man`: the top page on standard output, or every page into `--dir`.
pub fn man(cmd: clap::Command, args: ManArgs) -> Result<u8> {
    let top = for_pages(cmd);
    let Some(dir) = args.dir else {
        let mut out = std::io::stdout().lock();
        render(&top, None, &page_date(), &mut out)?;
        out.flush()?;
        return Ok(0);
    };
    if !dir.is_dir() {
        bail!("{}: not a folder (create it first)", dir.display());
    }
    let mut pages: Vec<(String, Option<&clap::Command>)> = vec![(page_name(&top, None), None)];
    pages.extend(page_commands(&top).into_iter().map(|s| (page_name(&top, Some(s)), Some(s))));
    let date = page_date();
    for (name, sub) in pages {
        let mut text = Vec::new();
        render(&top, sub, &date, &mut text)?;
        write_page(&dir.join(&name), &text)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn top_page_names_the_toolkit_and_every_page() {
        let top = for_pages(crate::Cli::command());
        let mut out = Vec::new();
        render(&top, None, "2026-01-01", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(".SH NAME\nodix \\- optical disc image toolkit\n"), "{text}");
        assert!(!text.contains("odix\\-help"), "{text}");
        assert!(text.contains(".SH \"SEE ALSO\"\n\\%\\fBodix\\-info\\fR(1),\n"), "{text}");
        let mut out = Vec::new();
        let rip = top.find_subcommand("rip").unwrap();
        render(&top, Some(rip), "2026-01-01", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&format!(".TH odix-rip 1 2026-01-01 \"odix {}\"", env!("CARGO_PKG_VERSION"))), "{text}");
        // P–W: no character outside ASCII reaches the formatter.
        assert!(text.is_ascii() && text.contains("P\\[u2013]W"), "{text}");
        assert!(text.contains(".SH NAME\nodix\\-rip \\- Rip a CD"), "{text}");
        assert!(text.contains("\\fBodix rip\\fR"), "{text}");
        assert!(text.ends_with(".SH \"SEE ALSO\"\n\\%\\fBodix\\fR(1)\n"), "{text}");
    }
}

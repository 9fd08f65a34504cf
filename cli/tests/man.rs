//! `odix man`: one page per subcommand, each formatted without a warning by groff (and mandoc's linter when it is
//! installed), the top page naming the toolkit and only pages that exist.

use std::fs;
use std::path::Path;
use std::process::Command;

use odix_testdata::{require_tool, run, run_ok};

const ODIX: &str = env!("CARGO_BIN_EXE_odix");

/// The subcommands `odix --help` lists (clap's own `help` aside).
fn subcommands() -> Vec<String> {
    let o = run_ok(Command::new(ODIX).arg("--help"));
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let list = help.split("Commands:\n").nth(1).unwrap_or_else(|| panic!("{help}"));
    list.lines()
        .take_while(|l| l.starts_with("  "))
        .filter(|l| l.as_bytes().get(2).is_some_and(|b| b.is_ascii_lowercase()))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|c| c != "help")
        .collect()
}

/// groff's plain-text rendering of a page; its warnings (`-ww`: all of them) must be none.
fn groff_text(groff: &Path, page: &Path) -> String {
    let o = run_ok(Command::new(groff).args(["-man", "-Tutf8", "-ww", "-P-cbu"]).arg(page));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.is_empty(), "{}: {err}", page.display());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The words of a section of a rendered page, one space between them.
fn section(text: &str, heading: &str) -> String {
    let body = text.split(&format!("\n{heading}\n")).nth(1).unwrap_or_else(|| panic!("no {heading}:\n{text}"));
    let body: Vec<&str> = body.lines().take_while(|l| l.is_empty() || l.starts_with(' ')).collect();
    body.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn man_dir_writes_a_clean_page_per_subcommand() {
    let Some(groff) = require_tool("groff") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    run_ok(Command::new(ODIX).args(["man", "--dir"]).arg(out).env("SOURCE_DATE_EPOCH", "1767225600"));
    let mut files: Vec<String> =
        fs::read_dir(out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    let subs = subcommands();
    assert!(subs.len() >= 10 && subs.contains(&"rip".to_string()), "{subs:?}");
    let mut want: Vec<String> = subs.iter().map(|s| format!("odix-{s}.1")).collect();
    want.push("odix.1".into());
    want.sort();
    assert_eq!(files, want);

    let mandoc = Command::new("mandoc").arg("-V").output().is_ok().then_some("mandoc");
    if mandoc.is_none() {
        eprintln!("note: mandoc is not installed; its linter is skipped");
    }
    for f in &files {
        let page = out.join(f);
        let text = groff_text(&groff, &page);
        let name = f.trim_end_matches(".1");
        assert!(section(&text, "NAME").starts_with(&format!("{name} - ")), "{f}:\n{text}");
        if name != "odix" {
            assert_eq!(section(&text, "SEE ALSO"), "odix(1)", "{f}");
        }
        if let Some(m) = mandoc {
            let o = run(Command::new(m).args(["-Tlint", "-W", "warning"]).arg(&page));
            assert!(
                o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
                "{f}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }

    // The top page: the toolkit's NAME line, and a SEE ALSO whose every page was written.
    let top = groff_text(&groff, &out.join("odix.1"));
    assert_eq!(section(&top, "NAME"), "odix - optical disc image toolkit");
    let see_also = section(&top, "SEE ALSO");
    let refs: Vec<&str> = see_also.split(", ").filter_map(|w| w.strip_suffix("(1)")).collect();
    assert_eq!(refs.len(), subs.len(), "{see_also}");
    for r in refs {
        assert!(out.join(format!("{r}.1")).is_file(), "SEE ALSO names {r}(1), which was not written");
    }
    // man(1) renders it too.
    if let Some(man) = require_tool("man") {
        let o = run_ok(Command::new(man).args(["-l", "-P", "cat"]).arg(out.join("odix-rip.1")).env("MANWIDTH", "80"));
        assert!(String::from_utf8_lossy(&o.stdout).contains("odix-rip - Rip a CD"));
    }

    // Without --dir: the top page on standard output, as written.
    let o = run_ok(Command::new(ODIX).arg("man").env("SOURCE_DATE_EPOCH", "1767225600"));
    assert!(o.stdout == fs::read(out.join("odix.1")).unwrap(), "odix man differs from odix.1");
    // A folder that does not exist is named.
    let o = run(Command::new(ODIX).args(["man", "--dir"]).arg(out.join("missing")));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing: not a folder"));
}

//! The hostile-input contract (README "Hostile input"): every reading command, on every malformed input of
//! `odix_testdata::hostile` and every file of `fuzz/regress/`, must
//! - exit with 0, 1 or 2: never a panic (101), an abort or a signal, never a hang;
//! - on exit 1, end stderr with one clear line (`odix: ...`); on exit 2, say on stderr what was skipped;
//! - finish within [`WALL_LIMIT_SECS`] (release build) and [`RSS_LIMIT_KIB`] of memory (measured with GNU time);
//! - write nothing outside its extraction folder: the folder sits alone in a fresh temporary folder together with
//!   an empty `outside` folder that symlinks in the extraction folder point at; afterwards the temporary folder
//!   must hold only those two and `outside` must still be empty.
//!
//! Commands that this build does not have yet (for example `verify` or `rip`) are skipped with a note. A case that
//! fails and waits for its parser's fix is listed in [`KNOWN_FAILURES`]; the list should be empty.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use odix_testdata::hostile::{self, Case, Input};

/// Wall-clock limit per command, in seconds, for a release build (debug builds get [`DEBUG_SLOWDOWN`] times it).
const WALL_LIMIT_SECS: f64 = 2.0;
/// How much slower an unoptimised build may be; the contract itself is checked by `cargo test --release`.
const DEBUG_SLOWDOWN: f64 = 8.0;
/// Maximum resident set size per command, in KiB (256 MiB).
const RSS_LIMIT_KIB: u64 = 256 * 1024;
/// A command still running after this many seconds is killed (and fails the contract).
const HARD_TIMEOUT_SECS: u32 = 60;

/// (case name, command label) pairs known to break the contract, each waiting for a fix in its parser. A `*`
/// command matches every command of the case. Each entry must name the bug it waits for.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn odix() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_odix"))
}

fn wall_limit() -> f64 {
    if cfg!(debug_assertions) {
        WALL_LIMIT_SECS * DEBUG_SLOWDOWN
    } else {
        WALL_LIMIT_SECS
    }
}

/// The subcommands this build has (`odix SUB --help` succeeds).
fn available(sub: &str) -> bool {
    Command::new(odix())
        .args([sub, "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// What one measured run gave.
struct Outcome {
    /// Exit status of odix (128 + N when a signal N ended it, 137 when the hard timeout killed it).
    code: i32,
    wall: f64,
    rss_kib: u64,
    /// The last 64 KiB of stderr.
    stderr: String,
}

fn run_measured(time: &Path, args: &[OsString], cwd: &Path, scratch: &Path) -> Outcome {
    let time_out = scratch.join("time.txt");
    let err_out = scratch.join("stderr.txt");
    let status = Command::new(time)
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&time_out)
        .arg("timeout")
        .arg("-s")
        .arg("KILL")
        .arg(HARD_TIMEOUT_SECS.to_string())
        .arg(odix())
        .args(args)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err_out).expect("stderr file"))
        .status()
        .expect("run /usr/bin/time");
    let measured = fs::read_to_string(&time_out).unwrap_or_default();
    let last = measured.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut it = last.split_whitespace();
    let wall = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::INFINITY);
    let rss_kib = it.next().and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
    let err = fs::read(&err_out).unwrap_or_default();
    let tail = &err[err.len().saturating_sub(64 * 1024)..];
    Outcome { code: status.code().unwrap_or(-1), wall, rss_kib, stderr: String::from_utf8_lossy(tail).into_owned() }
}

/// Checks one outcome against the contract; the problems found, empty when it holds.
fn contract_problems(o: &Outcome) -> Vec<String> {
    let mut p = Vec::new();
    match o.code {
        0..=2 => {}
        101 => p.push("panicked (exit 101)".into()),
        137 => p.push(format!("killed: still running after {HARD_TIMEOUT_SECS} s, or out of memory (SIGKILL)")),
        c if c > 128 => p.push(format!("killed by signal {}", c - 128)),
        c => p.push(format!("exit code {c}")),
    }
    if o.stderr.contains("panicked at") {
        p.push("a panic message on stderr".into());
    }
    let last = o.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    if o.code == 1 && (!last.starts_with("odix") || last.len() > 1000) {
        p.push(format!("exit 1 without a clear last line on stderr: {:?}", truncate(last, 200)));
    }
    if o.code == 2 && o.stderr.trim().is_empty() {
        p.push("exit 2 (partial) with nothing on stderr".into());
    }
    if o.wall > wall_limit() {
        p.push(format!("took {:.2} s (limit {:.1} s)", o.wall, wall_limit()));
    }
    if o.rss_kib > RSS_LIMIT_KIB {
        p.push(format!("max RSS {} MiB (limit {} MiB)", o.rss_kib / 1024, RSS_LIMIT_KIB / 1024));
    }
    p
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The entries of `dir` (names), sorted; empty when it does not exist.
fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// One command to run on a case: its label and arguments, where `{IN}` is the input, `{OUT}` the extraction
/// folder, `{CAT}` the case's file path, `{SRC}` a small regular file standing in for a drive.
struct Cmd {
    label: &'static str,
    sub: &'static str,
    args: &'static [&'static str],
    inputs: &'static [Input],
}

const IMAGES: &[Input] = &[Input::Image, Input::Cue, Input::Ccd];

const COMMANDS: &[Cmd] = &[
    Cmd { label: "info", sub: "info", args: &["info", "{IN}"], inputs: IMAGES },
    Cmd { label: "info --json", sub: "info", args: &["info", "--json", "{IN}"], inputs: IMAGES },
    Cmd { label: "ls -R", sub: "ls", args: &["ls", "-R", "{IN}"], inputs: IMAGES },
    Cmd { label: "ls -R -l", sub: "ls", args: &["ls", "-R", "-l", "{IN}"], inputs: IMAGES },
    Cmd { label: "ls -R --json", sub: "ls", args: &["ls", "-R", "--json", "{IN}"], inputs: IMAGES },
    Cmd { label: "extract", sub: "extract", args: &["extract", "{IN}", "-C", "{OUT}"], inputs: IMAGES },
    Cmd { label: "cat", sub: "cat", args: &["cat", "{IN}", "{CAT}"], inputs: IMAGES },
    Cmd { label: "verify", sub: "verify", args: &["verify", "{IN}"], inputs: IMAGES },
    Cmd {
        label: "rip --map",
        sub: "rip",
        args: &["rip", "--map", "{MAP}", "{SRC}", "{OUT}/out.iso"],
        inputs: &[Input::Map],
    },
];

/// Runs every applicable command on `case`; returns (command label, problem) for each failure.
fn check_case(time: &Path, case: &Case, src: &Path, subs: &BTreeSet<&'static str>) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    let input_dir = case.path.parent().expect("case in a folder").to_path_buf();
    let before = listing(&input_dir);
    for cmd in COMMANDS.iter().filter(|c| c.inputs.contains(&case.input) && subs.contains(c.sub)) {
        let work = tempfile::tempdir().expect("tempdir");
        let scratch = tempfile::tempdir().expect("tempdir");
        let out = work.path().join("out");
        let outside = work.path().join("outside");
        fs::create_dir(&out).expect("out");
        fs::create_dir(&outside).expect("outside");
        // Symlinks the image's own entries collide with: a directory `evil`/`EVIL` holding a file must not be
        // written through them.
        symlink("../outside", out.join("evil")).expect("symlink");
        symlink(&outside, out.join("EVIL")).expect("symlink");
        let planted = listing(&out);
        let mut map = PathBuf::new();
        if case.input == Input::Map {
            map = out.join("disc.map");
            fs::copy(&case.path, &map).expect("copy map");
        }
        let args: Vec<OsString> = cmd
            .args
            .iter()
            .map(|a| match *a {
                "{IN}" => case.path.clone().into_os_string(),
                "{OUT}" => out.clone().into_os_string(),
                "{CAT}" => OsString::from(case.cat),
                "{MAP}" => map.clone().into_os_string(),
                "{SRC}" => src.to_path_buf().into_os_string(),
                "{OUT}/out.iso" => out.join("out.iso").into_os_string(),
                other => OsString::from(other),
            })
            .collect();
        let o = run_measured(time, &args, &out, scratch.path());
        let mut problems = contract_problems(&o);
        let top = listing(work.path());
        let expected: BTreeSet<String> = ["out".to_string(), "outside".to_string()].into();
        if top != expected {
            problems.push(format!("wrote outside the extraction folder: {:?}", top.difference(&expected)));
        }
        let leaked = listing(&outside);
        if !leaked.is_empty() {
            problems.push(format!("wrote through a symlink into `outside`: {leaked:?}"));
        }
        if !matches!(cmd.sub, "extract" | "rip") {
            let now = listing(&out);
            if now != planted {
                problems.push(format!("`{}` wrote into its working folder: {:?}", cmd.label, now.difference(&planted)));
            }
        }
        if listing(&input_dir) != before {
            problems.push("wrote beside the input".into());
        }
        for p in problems {
            failures.push((
                cmd.label.to_string(),
                format!("{p} [exit {}, {:.2} s, {} MiB]", o.code, o.wall, o.rss_kib / 1024),
            ));
        }
    }
    failures
}

fn known(case: &str, label: &str) -> bool {
    KNOWN_FAILURES.iter().any(|(c, l)| *c == case && (*l == "*" || *l == label))
}

fn time_tool() -> Option<PathBuf> {
    odix_testdata::require_tool("/usr/bin/time")
}

fn subcommands() -> BTreeSet<&'static str> {
    let mut subs = BTreeSet::new();
    for c in COMMANDS {
        if subs.contains(c.sub) {
            continue;
        }
        if available(c.sub) {
            subs.insert(c.sub);
        } else {
            eprintln!("note: `odix {}` does not exist in this build; its contract checks are skipped", c.sub);
        }
    }
    subs
}

/// Runs `cases`, prints every failure, and panics on those not in [`KNOWN_FAILURES`].
fn enforce(cases: &[Case], time: &Path) {
    let subs = subcommands();
    let src_dir = tempfile::tempdir().expect("tempdir");
    let src = src_dir.path().join("device.img");
    fs::write(&src, vec![0x5Au8; 64 * 2048]).expect("device image");
    let mut unexpected = Vec::new();
    let mut still_known = BTreeSet::new();
    for case in cases {
        for (label, problem) in check_case(time, case, &src, &subs) {
            let line = format!("{} [{}] `{}`: {}", case.name, case.class, label, problem);
            if known(&case.name, &label) {
                eprintln!("known failure: {line}");
                still_known.insert((case.name.clone(), label));
            } else {
                eprintln!("CONTRACT FAILURE: {line}");
                unexpected.push(line);
            }
        }
    }
    for (c, l) in KNOWN_FAILURES {
        if !cases.iter().any(|k| k.name == *c) {
            continue;
        }
        if !still_known.iter().any(|(kc, kl)| kc == c && (*l == "*" || kl == l)) {
            eprintln!("note: KNOWN_FAILURES entry ({c}, {l}) now passes: remove it");
        }
    }
    assert!(unexpected.is_empty(), "{} contract failures:\n{}", unexpected.len(), unexpected.join("\n"));
}

#[test]
fn hostile_corpus_keeps_the_contract() {
    let Some(time) = time_tool() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = hostile::generate(dir.path()).expect("generate the hostile corpus");
    assert!(cases.len() >= 40, "the corpus lost cases");
    enforce(&cases, &time);
}

/// How a fuzz target's input becomes something the CLI reads (see fuzz/fuzz_targets/): the whole-image walk
/// targets take an image without its 16 zero sectors of system area; sheet and map targets take the text; the
/// others take one structure, fed here as a (tiny) image.
fn regress_case(target: &str, file: &Path, out_dir: &Path, n: usize) -> Option<Case> {
    let data = fs::read(file).ok()?;
    let (input, ext, body) = if target.ends_with("_walk") {
        let mut img = vec![0u8; 16 * hostile::SECTOR];
        img.extend_from_slice(&data);
        (Input::Image, "iso", img)
    } else if target.contains("cue") {
        (Input::Cue, "cue", data)
    } else if target.contains("ccd") {
        (Input::Ccd, "ccd", data)
    } else if target.contains("map") {
        (Input::Map, "map", data)
    } else if target.starts_with("mmc") {
        // Drive responses reach odix only from a drive.
        return None;
    } else {
        (Input::Image, "iso", data)
    };
    let name = format!("regress-{target}-{n}");
    let path = out_dir.join(format!("{name}.{ext}"));
    fs::write(&path, body).ok()?;
    Some(Case { name, class: "fuzz regression input", path, input, cat: "/a" })
}

#[test]
fn fuzz_regressions_keep_the_contract() {
    let Some(time) = time_tool() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regress");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cases = Vec::new();
    let mut targets: Vec<PathBuf> =
        fs::read_dir(&root).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    targets.sort();
    for t in targets.iter().filter(|t| t.is_dir()) {
        let target = t.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut files: Vec<PathBuf> =
            fs::read_dir(t).expect("read regress dir").filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for (n, f) in files.iter().enumerate() {
            // Each target gets its own folder so a sheet's relative FILE names cannot meet another case's files.
            let case_dir = dir.path().join(format!("{target}-{n}"));
            fs::create_dir_all(&case_dir).expect("case dir");
            cases.extend(regress_case(&target, f, &case_dir, n));
        }
    }
    eprintln!("replaying {} fuzz regression inputs", cases.len());
    enforce(&cases, &time);
}

//! Finding and running the independent tools odix is checked against.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// True when running in CI (`CI=true`), where a missing oracle is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

/// True when the slow tests (files over 4 GiB, long VM runs) are asked for with `ODIX_SLOW_TESTS=1`.
pub fn slow_tests() -> bool {
    std::env::var("ODIX_SLOW_TESTS").map(|v| v == "1" || v == "true").unwrap_or(false)
}

fn search_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    // pip's console scripts when PATH lacks them (pyenv), and npm's global bin.
    dirs.extend(["/usr/local/bin", "/usr/sbin", "/sbin"].iter().map(PathBuf::from));
    if let Ok(out) =
        Command::new("python3").args(["-c", "import sys,os;print(os.path.dirname(sys.executable))"]).output()
    {
        let d = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !d.is_empty() {
            dirs.push(PathBuf::from(d));
        }
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The path of tool `name`, or `None` (with a note on stderr) when it is missing on a developer's machine.
///
/// # Panics
/// In CI, when the tool is missing: the setup script installs every oracle, so a missing one is a bug.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    match search_path(name) {
        Some(p) => Some(p),
        None if in_ci() => panic!("oracle `{name}` is missing in CI: ./setup.sh must install it"),
        None => {
            eprintln!("skipping: oracle `{name}` is not installed (run ./setup.sh)");
            None
        }
    }
}

/// True when the Python module `module` imports (for pycdlib); same CI rule as [`require_tool`].
pub fn require_python_module(module: &str) -> bool {
    let ok = Command::new("python3").args(["-c", &format!("import {module}")]).output().map(|o| o.status.success());
    match ok {
        Ok(true) => true,
        _ if in_ci() => panic!("python module `{module}` is missing in CI: ./setup.sh must install it"),
        _ => {
            eprintln!("skipping: python module `{module}` is not installed (run ./setup.sh)");
            false
        }
    }
}

/// A Python interpreter that imports `module`: `python3` on the PATH, else the system one (which has Debian's
/// python3-* packages when the PATH's is another, pyenv's). Same CI rule as [`require_tool`]; `package` names the
/// Debian package for the message.
pub fn python_with(module: &str, package: &str) -> Option<PathBuf> {
    for p in ["python3", "/usr/bin/python3"] {
        let ok = Command::new(p).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
        if ok {
            return Some(PathBuf::from(p));
        }
    }
    if in_ci() {
        panic!("python module `{module}` is missing in CI: ./setup.sh must install it (Debian: {package})");
    }
    eprintln!("skipping: python module `{module}` is not installed (Debian package {package}; run ./setup.sh)");
    None
}

/// The `vm-run` script that boots a QEMU VM with a disc image (in `shared/vm` beside the repository), or `None`
/// when it or QEMU is missing (same CI rule as [`require_tool`]).
pub fn vm_run() -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [repo.join("../shared/vm/vm-run"), PathBuf::from("/work/shared/vm/vm-run")];
    let script = candidates.into_iter().find(|p| p.is_file());
    match (script, search_path("qemu-system-x86_64")) {
        (Some(s), Some(_)) => Some(s.canonicalize().unwrap_or(s)),
        _ if in_ci() => panic!("vm-run or qemu-system-x86_64 missing in CI"),
        _ => {
            eprintln!("skipping: vm-run or qemu-system-x86_64 not available");
            None
        }
    }
}

/// Runs a command and returns its output, whatever its exit status.
///
/// # Panics
/// When the command cannot be started at all.
pub fn run(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run {:?}: {e}", cmd.get_program()),
    }
}

/// Runs a command that must succeed, and returns its output.
///
/// # Panics
/// When it cannot start or exits non-zero; the message holds the command line and its stderr.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    if !out.status.success() {
        let args: Vec<&OsStr> = cmd.get_args().collect();
        panic!(
            "{:?} {:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
            cmd.get_program(),
            args,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A small tmpfs mounted on a folder, standing for a full disk; unmounted when dropped.
pub struct SmallFs {
    dir: PathBuf,
}

impl SmallFs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `512k`, `1m`) on the existing folder `dir`.
    /// `None`, with a note on stderr, where mounting is not allowed (not root) outside CI.
    ///
    /// # Panics
    /// In CI, where the suite runs as root and mounting must work.
    pub fn mount(dir: &Path, size: &str) -> Option<SmallFs> {
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir).output();
        let ok = out.as_ref().is_ok_and(|o| o.status.success());
        if !ok {
            let why = out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_else(|e| e.to_string());
            assert!(!in_ci(), "cannot mount a tmpfs in CI: {why}");
            eprintln!("skipping: cannot mount a tmpfs: {why}");
            return None;
        }
        Some(SmallFs { dir: dir.to_path_buf() })
    }

    /// The folder it is mounted on.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The names in its top folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// Writes the folder `src` into the image `img` with xorriso, every file zisofs-compressed (level 9, 32 KiB blocks).
pub fn xorriso_zisofs(xorriso: &Path, src: &Path, img: &Path) {
    run_ok(
        Command::new(xorriso)
            .arg("-outdev")
            .arg(img)
            .args(["-zisofs", "level=9:block_size=32k", "-map"])
            .arg(src)
            .args(["/", "-set_filter_r", "--zisofs", "/", "--"]),
    );
}

/// A folder of inputs made once per test run and shared by every test that asks for it, in this process or
/// another: cargo-nextest runs each test in a process of its own, so a `OnceLock` alone would make the inputs once
/// per test. The folder is `root/NAME-RUN` (RUN is nextest's run id, else this process's id); the first caller
/// makes it with `build` while holding `NAME-RUN.lock` (created exclusively), the others wait for the `.done`
/// marker `build`'s success leaves. Folders of earlier runs older than a day are removed.
///
/// # Panics
/// When `build` panics (the others then stop waiting after ten minutes) or the folder cannot be made.
pub fn shared_dir(root: &Path, name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let run = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| std::process::id().to_string());
    std::fs::create_dir_all(root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    remove_stale(root, name);
    let dir = root.join(format!("{name}-{run}"));
    let done = dir.join(".done");
    let lock = root.join(format!("{name}-{run}.lock"));
    let start = std::time::Instant::now();
    loop {
        if done.is_file() {
            return dir;
        }
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => {
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
                build(&dir);
                std::fs::write(&done, b"").unwrap_or_else(|e| panic!("{}: {e}", done.display()));
                return dir;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                assert!(start.elapsed().as_secs() < 600, "{}: made by another test for ten minutes", dir.display());
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => panic!("{}: {e}", lock.display()),
        }
    }
}

fn remove_stale(root: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let prefix = format!("{name}-");
    for e in entries.flatten() {
        let old = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let ours = e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix));
        if ours && old.is_some_and(|age| age.as_secs() > 24 * 3600) {
            let _ = std::fs::remove_dir_all(e.path()).or_else(|_| std::fs::remove_file(e.path()));
        }
    }
}

/// A script of the tests' own in testdata/scripts (formats written by their published descriptions, for formats
/// no reference tool installs).
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(name)
}

/// A chdman that has `createdvd`: the one on the PATH if it is recent enough, else the npm package's. `None`
/// (saying so) outside CI when there is none; in CI a panic naming what ./setup.sh must install.
pub fn chdman_createdvd() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = require_tool("chdman").into_iter().collect();
    if let Ok(o) = Command::new("npm").args(["root", "-g"]).output() {
        let root = String::from_utf8_lossy(&o.stdout).trim().to_string();
        candidates.push(Path::new(&root).join("chdman/dist/src/bin.js"));
    }
    let found = candidates.into_iter().find(|c| {
        c.is_file()
            && Command::new(c).args(["help", "createdvd"]).output().is_ok_and(|o| {
                let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
                text.contains("createdvd") && !text.contains("Unknown command")
            })
    });
    match found {
        Some(c) => Some(c),
        None if in_ci() => panic!("no chdman with createdvd in CI: ./setup.sh must install the npm package chdman"),
        None => {
            eprintln!("skipping: no chdman with createdvd (npm install -g --no-bin-links chdman)");
            None
        }
    }
}

/// maxcso, the reference CSO/ZSO/DAX compressor (the npm package `maxcso` ships its static build): the native
/// binary inside the npm package when it is there (no Node.js start-up per call), else `maxcso` on the PATH.
/// `None` (saying so) outside CI when there is none; in CI a panic naming what ./setup.sh must install.
pub fn maxcso() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(o) = Command::new("npm").args(["root", "-g"]).output() {
        let root = String::from_utf8_lossy(&o.stdout).trim().to_string();
        candidates.push(Path::new(&root).join("maxcso/node_modules/@emmercm/maxcso-linux-x64/dist/maxcso"));
    }
    candidates.extend(search_path("maxcso"));
    let found = candidates.into_iter().find(|c| {
        c.is_file()
            && Command::new(c).arg("--help").output().is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).contains("maxcso")
                    || String::from_utf8_lossy(&o.stderr).contains("maxcso")
            })
    });
    match found {
        Some(c) => Some(c),
        None if in_ci() => panic!("no maxcso in CI: ./setup.sh must install the npm package maxcso"),
        None => {
            eprintln!("skipping: no maxcso (npm install -g maxcso)");
            None
        }
    }
}

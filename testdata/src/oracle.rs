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

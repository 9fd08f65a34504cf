//! `odix mount IMAGE DIR`: a read-only FUSE file system of any image odix reads.
//!
//! Inodes are handed out as the kernel looks entries up, so only what is visited is held in memory, and never
//! more entries than the `--max-entries` limit. Names and symlink targets are the bytes the image records (Rock
//! Ridge names need not be UTF-8). Names that could not be a path component (`/`, NUL, empty, `.`, `..`) are
//! left out with a warning.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, Generation, INodeNo, LockOwner, MountOption, OpenFlags,
    ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, Request,
};

use crate::cmd::args::ImageArgs;
use odix::extract::unsafe_name;
use odix::view::{display_name, Kind, Node, Tree};

/// `odix mount`.
#[derive(clap::Args, Debug)]
pub struct MountArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// The folder to mount on.
    pub dir: PathBuf,
    /// Stay in the foreground until unmounted, printing warnings about damaged entries as they are met
    /// (default: return once the mount is up and serve it in the background, silently).
    #[arg(short, long)]
    pub foreground: bool,
    /// Let other users read the mount (needs `user_allow_other` in /etc/fuse.conf for non-root users).
    #[arg(long)]
    pub allow_other: bool,
}

const TTL: Duration = Duration::from_secs(3600);

struct Inode {
    node: Node,
    parent: u64,
    children: Option<Vec<(OsString, u64)>>,
}

struct State {
    tree: Box<dyn Tree>,
    inodes: Vec<Inode>,
    by_identity: HashMap<u64, u64>,
    max_inodes: u64,
    uid: u32,
    gid: u32,
}

struct ImageFs {
    state: Mutex<State>,
}

fn to_system(t: Option<&chrono::DateTime<chrono::Utc>>) -> SystemTime {
    match t {
        Some(t) => SystemTime::from(*t),
        None => UNIX_EPOCH,
    }
}

fn file_type(node: &Node) -> FileType {
    match node.kind {
        Kind::File => FileType::RegularFile,
        Kind::Dir => FileType::Directory,
        Kind::Symlink => FileType::Symlink,
        Kind::Other => match node.mode.map(|m| m & 0o170000) {
            Some(0o020000) => FileType::CharDevice,
            Some(0o060000) => FileType::BlockDevice,
            Some(0o140000) => FileType::Socket,
            _ => FileType::NamedPipe,
        },
    }
}

impl State {
    fn inode(&self, ino: INodeNo) -> Option<&Inode> {
        usize::try_from(ino.0).ok().and_then(|i| i.checked_sub(1)).and_then(|i| self.inodes.get(i))
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let n = &self.inode(INodeNo(ino))?.node;
        let default_perm = match n.kind {
            Kind::Dir => 0o555,
            Kind::Symlink => 0o777,
            _ => 0o444,
        };
        let size = match n.kind {
            Kind::Symlink => n.target.as_ref().map(|t| t.len() as u64).unwrap_or(0),
            _ => n.size,
        };
        let mtime = to_system(n.mtime.as_ref());
        Some(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: n.atime.as_ref().map(|t| to_system(Some(t))).unwrap_or(mtime),
            mtime,
            ctime: mtime,
            crtime: mtime,
            kind: file_type(n),
            perm: n.mode.map(|m| (m & 0o7777) as u16).unwrap_or(default_perm),
            nlink: n.nlink.unwrap_or(if n.kind == Kind::Dir { 2 } else { 1 }),
            uid: n.uid.unwrap_or(self.uid),
            gid: n.gid.unwrap_or(self.gid),
            rdev: n.rdev.map(|(ma, mi)| ((ma & 0xfff) << 8) | (mi & 0xff) | ((mi & !0xff) << 12)).unwrap_or(0),
            blksize: 2048,
            flags: 0,
        })
    }

    /// The children of directory `ino`, reading the directory the first time.
    fn children(&mut self, ino: u64) -> Result<Vec<(OsString, u64)>, Errno> {
        let idx = usize::try_from(ino).ok().and_then(|i| i.checked_sub(1)).ok_or(Errno::ENOENT)?;
        let inode = self.inodes.get(idx).ok_or(Errno::ENOENT)?;
        if let Some(c) = &inode.children {
            return Ok(c.clone());
        }
        if inode.node.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        let dir = inode.node.clone();
        let entries = match self.tree.read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("odix mount: {e:#}");
                return Err(Errno::EIO);
            }
        };
        for w in self.tree.take_warnings() {
            eprintln!("odix mount: warning: {}", w.0);
        }
        let mut out = Vec::with_capacity(entries.len());
        let mut seen = std::collections::HashSet::new();
        for node in entries {
            if let Some(why) = unsafe_name(&node.name) {
                eprintln!("odix mount: warning: leaving out {}: {why}", display_name(&node.name));
                continue;
            }
            if !seen.insert(node.name.clone()) {
                let shown = display_name(&node.name);
                eprintln!("odix mount: warning: {shown} listed twice in one directory, shown once");
                continue;
            }
            if self.inodes.len() as u64 >= self.max_inodes {
                eprintln!("odix mount: more than {} entries visited (raise --max-entries)", self.max_inodes);
                return Err(Errno::ENOSPC);
            }
            // Hard links of one file share an inode number.
            let shared = match (node.kind, node.link_id, node.nlink) {
                (Kind::File, Some(id), Some(n)) if n > 1 => self.by_identity.get(&id).copied(),
                _ => None,
            };
            let child = match shared {
                Some(c) => c,
                None => {
                    let name = node.name.clone();
                    let link =
                        (node.kind == Kind::File && node.nlink.unwrap_or(1) > 1).then_some(node.link_id).flatten();
                    self.inodes.push(Inode { node, parent: ino, children: None });
                    let c = self.inodes.len() as u64;
                    if let Some(id) = link {
                        self.by_identity.insert(id, c);
                    }
                    out.push((name, c));
                    continue;
                }
            };
            out.push((node.name.clone(), child));
        }
        if let Some(inode) = self.inodes.get_mut(idx) {
            inode.children = Some(out.clone());
        }
        Ok(out)
    }
}

impl Filesystem for ImageFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Ok(mut st) = self.state.lock() else { return reply.error(Errno::EIO) };
        let children = match st.children(parent.0) {
            Ok(c) => c,
            Err(e) => return reply.error(e),
        };
        match children.iter().find(|(n, _)| n == name).and_then(|(_, ino)| st.attr(*ino)) {
            Some(attr) => reply.entry(&TTL, &attr, Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Ok(st) = self.state.lock() else { return reply.error(Errno::EIO) };
        match st.attr(ino.0) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let Ok(st) = self.state.lock() else { return reply.error(Errno::EIO) };
        match st.inode(ino).and_then(|i| i.node.target.clone()) {
            Some(t) => reply.data(t.as_bytes()),
            None => reply.error(Errno::EINVAL),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Ok(mut st) = self.state.lock() else { return reply.error(Errno::EIO) };
        let Some(node) = st.inode(ino).map(|i| i.node.clone()) else { return reply.error(Errno::ENOENT) };
        if node.kind != Kind::File {
            return reply.error(Errno::EISDIR);
        }
        let len = (size as u64).min(node.size.saturating_sub(offset)) as usize;
        let mut buf = vec![0u8; len];
        match st.tree.read_at(&node, offset, &mut buf) {
            Ok(n) => reply.data(&buf[..n.min(len)]),
            Err(e) => {
                eprintln!("odix mount: reading {}: {e:#}", display_name(&node.name));
                reply.error(Errno::EIO)
            }
        }
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Ok(mut st) = self.state.lock() else { return reply.error(Errno::EIO) };
        let children = match st.children(ino.0) {
            Ok(c) => c,
            Err(e) => return reply.error(e),
        };
        let parent = st.inode(ino).map(|i| i.parent).unwrap_or(1);
        let mut all: Vec<(u64, FileType, OsString)> =
            vec![(ino.0, FileType::Directory, ".".into()), (parent, FileType::Directory, "..".into())];
        for (name, c) in children {
            let kind = st.inode(INodeNo(c)).map(|i| file_type(&i.node)).unwrap_or(FileType::RegularFile);
            all.push((c, kind, name));
        }
        for (i, (c, kind, name)) in all.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(c), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

fn is_mounted(dir: &Path) -> bool {
    let Ok(canon) = dir.canonicalize() else { return false };
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let want = canon.to_string_lossy().replace(' ', "\\040");
    info.lines().any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

pub fn mount(args: MountArgs) -> Result<u8> {
    if !args.dir.is_dir() {
        bail!("{}: not a directory", args.dir.display());
    }
    if !args.foreground {
        // Check the image here, so that a bad image is one clear error from this process.
        let image = args.image.open()?;
        let mut tree = image.tree(args.image.view())?;
        tree.root()?;
        drop(tree);
        // Serve from a child process and return once the mount is up.
        let exe = std::env::current_exe().context("cannot find the odix executable")?;
        let mut child_args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
        child_args.push("--foreground".into());
        let mut child = std::process::Command::new(exe)
            .args(child_args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            // The caller's stderr may be a pipe it reads to the end: holding it open would keep the caller
            // waiting for as long as the mount lasts. Warnings while serving are seen with --foreground.
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("cannot start the mount process")?;
        for _ in 0..300 {
            if is_mounted(&args.dir) {
                return Ok(0);
            }
            if let Some(status) = child.try_wait()? {
                bail!("mount process exited with {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        bail!("{}: the mount did not come up within 15 s", args.dir.display());
    }
    let image = args.image.open()?;
    let mut tree = image.tree(args.image.view())?;
    let root = tree.root()?;
    let state = State {
        tree,
        inodes: vec![Inode { node: root, parent: 1, children: None }],
        by_identity: HashMap::new(),
        max_inodes: image.limits().max_total_entries,
        uid: std::fs::metadata(&args.dir).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0),
        gid: std::fs::metadata(&args.dir).map(|m| std::os::unix::fs::MetadataExt::gid(&m)).unwrap_or(0),
    };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::RO,
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::FSName(image.path().display().to_string()),
        MountOption::Subtype("odix".into()),
        MountOption::DefaultPermissions,
    ];
    if args.allow_other {
        config.acl = fuser::SessionACL::All;
    }
    let mut session = fuser::Session::new(ImageFs { state: Mutex::new(state) }, &args.dir, &config)
        .with_context(|| format!("cannot mount on {}", args.dir.display()))?;
    // Stopped by SIGINT, SIGTERM or SIGHUP, the mount goes with the process instead of staying behind as a dead
    // end ("Transport endpoint is not connected").
    let mut unmounter = session.unmount_callable();
    let _unmount = odix::cancel::on_cancel(format!("unmounted {}", args.dir.display()), move || {
        let _ = unmounter.unmount();
    });
    session.run().with_context(|| format!("serving the mount on {}", args.dir.display()))?;
    Ok(0)
}

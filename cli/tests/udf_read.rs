//! `odix ls / cat / extract / info` on UDF images that other implementations wrote, checked against the trees
//! they were made from:
//! - `mkudffs` (udftools) formats UDF 1.02, 1.50 and 2.01 for hard disks (type 1 partition), CD-RW and DVD-RW
//!   (sparable partition), with 2048-, 512- and 4096-byte blocks; the Linux kernel fills each in `vm-run`;
//! - `genisoimage -udf` and pycdlib write ISO 9660 / UDF bridge images; `7z x` extracts the same files;
//! - write-once images with a Virtual Allocation Table (UDF 1.50 and 2.00 forms): `mkudffs --media-type=cdr|dvdr`
//!   formats them, this file appends a tree the way a packet-writing driver does (new entries, a new VAT at the
//!   end), and the kernel's read-only mount must read the same tree odix reads;
//! - metadata-partition images (UDF 2.50, 2.60) from `odix mkiso --format udf`, read by the kernel too, with the
//!   main metadata file damaged so that the mirror is used;
//! - hostile images made from a sane one: loops, overflowing lengths, bad references, bad checksums. Each ends in
//!   exit 1 or 2 with a one-line message, never a panic or a hang.
//!
//! Every VM boot is shared by several images. A missing tool skips its test locally and fails in CI.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use odix_testdata::{compare_trees, require_tool, run, run_ok, tricky_tree, vm_run, CompareOptions, TreeOptions};
use odix_udf::format::ad::{self, AdForm, AllocationDescriptor, ExtentType, LbAddr, LongAd};
use odix_udf::format::cs0;
use odix_udf::format::entity::EntityId;
use odix_udf::format::fid::{characteristics, FileIdentifierDescriptor};
use odix_udf::format::file_entry::{file_type, FileEntry, IcbTag};
use odix_udf::format::partition::{VatHeader, VirtualAllocationTable, VAT_UNUSED};
use odix_udf::format::path;
use odix_udf::format::tag::{self, DescriptorTag};
use odix_udf::format::timestamp::Timestamp;
use odix_udf::{Options, Volume};

const BS: usize = 2048;

fn odix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_odix"))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

fn extract(img: &Path, out: &Path) -> Output {
    run(odix().arg("extract").arg("-C").arg(out).arg(img))
}

fn assert_extracts_like(img: &Path, source: &Path, out: &Path, opts: &CompareOptions) {
    let o = extract(img, out);
    assert!(
        o.status.success(),
        "odix extract {} failed ({}):\n{}",
        img.display(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let diffs = compare_trees(source, out, opts);
    assert!(diffs.is_empty(), "{}: extracted tree differs from the source:\n{}", img.display(), diffs.join("\n"));
    // Every tag checksum, CRC and location of what other implementations wrote is right: strict mode agrees.
    let strict = run(odix().args(["ls", "-R", "--strict"]).arg(img));
    assert!(strict.status.success(), "{}: --strict: {}", img.display(), String::from_utf8_lossy(&strict.stderr));
}

/// What the kernel's read-only UDF mount in `vm-run` lists of each image (the [`LISTING`] of its tree), in one
/// VM boot; the images must lie in `dir`, which is shared with the guest.
fn kernel_listings(vm: &Path, dir: &Path, images: &[PathBuf]) -> Vec<String> {
    let mut script = String::new();
    for (i, img) in images.iter().enumerate() {
        script.push_str(&format!(
            "mount -t udf -o loop,ro {img} /mnt && (cd /mnt && {LISTING}) > {dir}/kernel{i}.txt; umount /mnt; ",
            img = img.display(),
            dir = dir.display()
        ));
    }
    run_ok(Command::new(vm).arg("--share").arg(dir).arg("--").arg("sh").arg("-c").arg(&script));
    (0..images.len()).map(|i| fs::read_to_string(dir.join(format!("kernel{i}.txt"))).unwrap_or_default()).collect()
}

/// A sparse file of `mib` MiB.
fn blank(path: &Path, mib: u64) {
    let f = fs::File::create(path).expect("create image");
    f.set_len(mib << 20).expect("size image");
}

fn mkudffs(mkudffs: &Path, img: &Path, bs: u32, rev: &str, media: &str) {
    mkudffs_with(mkudffs, img, bs, rev, media, &[]);
}

fn mkudffs_with(mkudffs: &Path, img: &Path, bs: u32, rev: &str, media: &str, extra: &[&str]) {
    blank(img, 48);
    run_ok(
        Command::new(mkudffs)
            .args(extra)
            .arg(format!("--blocksize={bs}"))
            .arg(format!("--media-type={media}"))
            .arg(format!("--udfrev={rev}"))
            .arg("--label=ODIXTEST")
            .arg(img),
    );
}

/// The listing the guest and the host both make of a mounted or source tree: type, mode, mtime, path and link
/// target of everything, and an MD5 of every file.
const LISTING: &str = "find . -mindepth 1 -printf '%y %m %Ts %p %l\\n' | LC_ALL=C sort; \
                       find . -type f -exec md5sum {} + | LC_ALL=C sort -k2";

fn host_listing(dir: &Path) -> String {
    let o = run_ok(Command::new("sh").arg("-c").arg(LISTING).current_dir(dir));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------------------------
// Images the Linux kernel wrote.

#[test]
fn kernel_written_images() {
    let (Some(mk), Some(vm)) = (require_tool("mkudffs"), vm_run()) else { return };
    let t = tempdir();
    let dir = t.path();
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    tricky_tree(&tree, &TreeOptions::default()).unwrap();
    // A larger file and a file of zeros.
    fs::write(tree.join("sub/one_mib.bin"), (0..1u32 << 20).map(|i| (i % 251) as u8).collect::<Vec<_>>()).unwrap();
    fs::write(tree.join("zeros.bin"), vec![0u8; 200_000]).unwrap();
    let plain = dir.join("plain");
    fs::create_dir(&plain).unwrap();
    tricky_tree(&plain, &TreeOptions { symlinks: false, ..TreeOptions::default() }).unwrap();

    let mut images = Vec::new();
    for (rev, media, bs) in [
        ("1.02", "hd", 2048),
        ("1.50", "hd", 2048),
        ("1.50", "cdrw", 2048),
        ("1.50", "dvdrw", 2048),
        ("2.01", "hd", 2048),
        ("2.01", "cdrw", 2048),
        ("2.01", "dvdrw", 2048),
        ("2.01", "hd", 512),
        ("2.01", "hd", 4096),
    ] {
        let img = dir.join(format!("k-{rev}-{media}-{bs}.udf"));
        mkudffs(&mk, &img, bs, rev, media);
        images.push((img, tree.clone()));
    }
    // ICB strategy 4096 (an entry followed by room for an indirect entry), as write-once media use.
    let s4096 = dir.join("k-2.01-hd4096-2048.udf");
    mkudffs_with(&mk, &s4096, 2048, "2.01", "hd", &["--strategy=4096"]);
    images.push((s4096, tree.clone()));
    let seven = dir.join("k-plain.udf");
    mkudffs(&mk, &seven, 2048, "2.01", "hd");
    images.push((seven.clone(), plain.clone()));

    // A small tree whose 1 MiB file the kernel records before anything that follows it, for the cut image.
    let small = dir.join("small");
    fs::create_dir_all(small.join("sub")).unwrap();
    fs::copy(tree.join("sub/one_mib.bin"), small.join("sub/one_mib.bin")).unwrap();
    let small_img = dir.join("k-small.udf");
    mkudffs(&mk, &small_img, 2048, "2.01", "hd");
    let mut script = String::from("set -e; ");
    for (img, src) in images.iter().chain([&(small_img.clone(), small.clone())]) {
        script.push_str(&format!(
            "mount -t udf -o loop {} /mnt; cp -a {}/. /mnt; umount /mnt; ",
            img.display(),
            src.display()
        ));
    }
    run_ok(Command::new(&vm).arg("--share").arg(dir).arg("--").arg("sh").arg("-c").arg(&script));

    for (i, (img, src)) in images.iter().enumerate() {
        let out = dir.join(format!("out{i}"));
        assert_extracts_like(img, src, &out, &CompareOptions::default());
        let ls = run_ok(odix().args(["ls", "--json", "-R"]).arg(img));
        let v: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
        assert!(v.as_array().is_some_and(|a| a.len() > 20), "{}: short listing", img.display());
        let info = run_ok(odix().args(["info", "--json"]).arg(img));
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        let name = img.file_name().unwrap().to_string_lossy().into_owned();
        let rev = name.split('-').nth(1).unwrap_or_default();
        if name != "k-plain.udf" {
            assert_eq!(v["udf"]["revision"], rev, "{name}");
        }
        assert_eq!(v["udf"]["integrity"], "closed", "{name}");
        let kind = if name.contains("rw-") { "sparable" } else { "type1" };
        assert_eq!(v["udf"]["partition_maps"][0]["type"], kind, "{name}");
    }
    // `cat` of a file with several extents.
    let cat = run_ok(odix().args(["cat"]).arg(&images[4].0).arg("/sub/one_mib.bin"));
    assert_eq!(cat.stdout, fs::read(tree.join("sub/one_mib.bin")).unwrap());

    // 7-Zip reads type 1 UDF without symlinks: both extract the same files.
    if let Some(z) = require_tool("7z") {
        let zout = dir.join("7z-out");
        run_ok(
            Command::new(z)
                .arg("x")
                .arg("-tudf")
                .arg(format!("-o{}", zout.display()))
                .arg(&seven)
                .stdout(Stdio::null()),
        );
        let diffs =
            compare_trees(&zout, &dir.join(format!("out{}", images.len() - 1)), &CompareOptions::contents_only());
        assert!(diffs.is_empty(), "odix and 7z disagree:\n{}", diffs.join("\n"));
    }

    remapped_packet(dir, &images[6].0, &tree);
    hostile_cases(dir, &images[4].0);
    truncated_inside_a_file(dir, &small_img, &small);
}

/// A kernel-written image cut (as `truncate -s` does) 100 blocks into a 1 MiB file: listed with a warning,
/// `cat` gives the 100 blocks the image holds and says how much is missing (exit 2); 7-Zip reports a data error.
fn truncated_inside_a_file(dir: &Path, img: &Path, tree: &Path) {
    let ls = run_ok(odix().args(["ls", "--json"]).arg(img).arg("/sub/one_mib.bin"));
    let v: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    let first = &v[0]["extents"][0];
    let (lba, len) = (first["lba"].as_u64().unwrap(), first["length"].as_u64().unwrap());
    assert!(len > 100 * 2048, "one_mib.bin starts with a run of {len} bytes");
    let cut = dir.join("cut.udf");
    fs::copy(img, &cut).unwrap();
    fs::OpenOptions::new().write(true).open(&cut).unwrap().set_len((lba + 100) * 2048).unwrap();
    let o = run(odix().args(["ls", "-R"]).arg(&cut));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("/sub/one_mib.bin"));
    let o = run(odix().arg("cat").arg(&cut).arg("/sub/one_mib.bin"));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let whole = fs::read(tree.join("sub/one_mib.bin")).unwrap();
    assert_eq!(o.stdout, whole[..100 * 2048]);
    let missing = whole.len() - 100 * 2048;
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("({missing} bytes missing)")));
    if let Some(z) = require_tool("7z") {
        let t = run(Command::new(z).args(["t", "-tudf"]).arg(&cut));
        assert_ne!(t.status.code(), Some(0), "7-Zip finds the image damaged too");
    }
}

/// Remaps the packet holding the start of big.bin to a spare packet through every sparing table copy (as a
/// drive's defect management would), zeroing the original: odix must read the file from the spare.
fn remapped_packet(dir: &Path, img: &Path, tree: &Path) {
    let mut vol = Volume::open(fs::File::open(img).unwrap(), Options::default()).unwrap();
    let info = vol.info().clone();
    let (packet, tables, size) = match &info.logical.maps[0] {
        odix_udf::format::partition::PartitionMap::Sparable { packet_length, table_locations, table_size, .. } => {
            (u32::from(*packet_length), table_locations.clone(), *table_size as usize)
        }
        m => panic!("{}: not sparable: {m:?}", img.display()),
    };
    let root = vol.root().unwrap();
    let big = vol.read_dir(&root).unwrap().into_iter().find(|c| c.name == "big.bin").unwrap();
    let entry = vol.entry(&big).unwrap();
    let first = match &entry.data {
        odix_udf::read::Data::Extents(x) => x[0].location.block,
        _ => panic!("big.bin is embedded"),
    };
    drop(vol);
    let start = info.partitions[0].start as usize;
    let orig = first - first % packet;
    let mut bytes = fs::read(img).unwrap();
    let mut mapped = None;
    for &t in &tables {
        let at = t as usize * BS;
        let mut st = odix_udf::format::partition::SparingTable::parse(&bytes[at..at + size + 56]).unwrap();
        let e = st.entries.iter_mut().find(|e| e.0 >= 0xffff_fff0).expect("a free sparing entry");
        e.0 = orig;
        mapped = Some(e.1);
        let mut v = Vec::new();
        st.write_to(&mut v).unwrap();
        tag::seal(&mut v, t);
        bytes[at..at + v.len()].copy_from_slice(&v);
    }
    let mapped = mapped.unwrap() as usize;
    let from = (start + orig as usize) * BS;
    let len = packet as usize * BS;
    let data = bytes[from..from + len].to_vec();
    bytes[mapped * BS..mapped * BS + len].copy_from_slice(&data);
    bytes[from..from + len].fill(0);
    let p = dir.join("remapped.udf");
    fs::write(&p, &bytes).unwrap();
    let info = run_ok(odix().args(["info", "--json"]).arg(&p));
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["udf"]["partition_maps"][0]["remapped_packets"], 1, "{v}");
    let cat = run_ok(odix().arg("cat").arg(&p).arg("/big.bin"));
    assert!(cat.stdout == fs::read(tree.join("big.bin")).unwrap(), "big.bin read through the spare packet differs");
}

// ---------------------------------------------------------------------------------------------------------
// Bridge images.

fn small_tree(dir: &Path) {
    fs::create_dir_all(dir.join("d/e")).unwrap();
    fs::create_dir_all(dir.join("empty")).unwrap();
    fs::write(dir.join("a.txt"), b"hello\n").unwrap();
    fs::write(dir.join("d/b.bin"), (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect::<Vec<_>>()).unwrap();
    fs::write(dir.join("d/e/c"), b"").unwrap();
    fs::write(dir.join("d/Ünïcödé.txt"), "ü".as_bytes()).unwrap();
}

#[test]
fn genisoimage_bridge() {
    let Some(gen) = require_tool("genisoimage") else { return };
    let t = tempdir();
    let src = t.path().join("src");
    small_tree(&src);
    let img = t.path().join("g.iso");
    run_ok(Command::new(gen).args(["-quiet", "-udf", "-R", "-J", "-o"]).arg(&img).arg(&src));
    assert_extracts_like(&img, &src, &t.path().join("out"), &CompareOptions::contents_only());
    let ls = run_ok(odix().args(["ls", "--view", "udf", "-R"]).arg(&img));
    let auto = run_ok(odix().args(["ls", "-R"]).arg(&img));
    assert_eq!(ls.stdout, auto.stdout, "the default view of a bridge image is UDF");
    let info = run_ok(odix().args(["info", "--json"]).arg(&img));
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["udf"]["revision"], "1.02");
    assert!(v["udf"]["bridge"]["iso9660"]["root_directory"]["lba"].as_u64().is_some(), "{v}");
    assert!(v["udf"]["bridge"]["udf"]["root_directory_icb"].as_u64().is_some(), "{v}");
    let text = run_ok(odix().arg("info").arg(&img));
    assert!(String::from_utf8_lossy(&text.stdout).contains("Bridge layout"));
    if let Some(z) = require_tool("7z") {
        let zout = t.path().join("7z");
        run_ok(
            Command::new(z).arg("x").arg("-tudf").arg(format!("-o{}", zout.display())).arg(&img).stdout(Stdio::null()),
        );
        let diffs = compare_trees(&zout, &t.path().join("out"), &CompareOptions::contents_only());
        assert!(diffs.is_empty(), "odix and 7z disagree:\n{}", diffs.join("\n"));
    }
}

#[test]
fn pycdlib_bridge() {
    if !odix_testdata::oracle::require_python_module("pycdlib") {
        return;
    }
    let t = tempdir();
    let src = t.path().join("src");
    small_tree(&src);
    let img = t.path().join("p.iso");
    let script = r#"
import pycdlib, sys, os
src, out = sys.argv[1], sys.argv[2]
iso = pycdlib.PyCdlib()
iso.new(udf="2.60", interchange_level=3, joliet=3, rock_ridge="1.09")
n = [0]
def walk(d, iso_dir, udf_dir):
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        n[0] += 1
        ip = iso_dir.rstrip('/') + '/N%d' % n[0]
        up = udf_dir.rstrip('/') + '/' + name
        if os.path.isdir(p):
            iso.add_directory(ip, rr_name=name, joliet_path=up, udf_path=up)
            walk(p, ip, up)
        else:
            iso.add_file(p, ip + ';1', rr_name=name, joliet_path=up, udf_path=up)
walk(src, '/', '/')
iso.write(out)
iso.close()
"#;
    run_ok(Command::new("python3").arg("-c").arg(script).arg(&src).arg(&img));
    assert_extracts_like(&img, &src, &t.path().join("out"), &CompareOptions::contents_only());
    let info = run_ok(odix().args(["info", "--json"]).arg(&img));
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert!(v["udf"]["bridge"].is_object(), "{v}");
}

// ---------------------------------------------------------------------------------------------------------
// Appending a tree to a formatted image, as a packet-writing driver does.

/// One node of the tree being appended.
struct Node {
    path: PathBuf,
    name: String,
    meta: fs::Metadata,
    /// ICB address (virtual block on VAT images).
    icb: u32,
    children: Vec<usize>,
    parent: usize,
}

/// Appends blocks to a UDF image whose partition 0 starts at `start`.
struct Appender {
    img: Vec<u8>,
    start: usize,
    /// Next free logical block of partition 0.
    next: u32,
    /// The VAT (virtual partition images), else `None` (type 1: ICBs are blocks of partition 0).
    vat: Option<Vec<u32>>,
    /// Descriptor version: 2 for UDF 1.02/1.50, 3 for 2.00+.
    version: u16,
    unique: u64,
}

impl Appender {
    fn alloc(&mut self, blocks: usize) -> u32 {
        let b = self.next;
        self.next += blocks.max(1) as u32;
        let end = (self.start + self.next as usize) * BS;
        if self.img.len() < end {
            self.img.resize(end, 0);
        }
        b
    }

    fn put(&mut self, lblock: u32, bytes: &[u8]) {
        let at = (self.start + lblock as usize) * BS;
        if self.img.len() < at + bytes.len() {
            self.img.resize(at + bytes.len(), 0);
        }
        self.img[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Writes `data` into new blocks of partition 0; returns long allocation descriptors for it.
    fn data(&mut self, data: &[u8]) -> Vec<u8> {
        let mut ads = Vec::new();
        for chunk in data.chunks(1 << 20) {
            let b = self.alloc(chunk.len().div_ceil(BS));
            self.put(b, chunk);
            let ad = AllocationDescriptor {
                extent_type: ExtentType::Recorded,
                length: chunk.len() as u32,
                location: LbAddr { block: b, partition: 0 },
            };
            ad::write_list(AdForm::Long, &[ad], &mut ads).unwrap();
        }
        ads
    }

    /// A new ICB address: a virtual block on VAT images, a block of partition 0 otherwise.
    fn icb(&mut self) -> u32 {
        match &mut self.vat {
            Some(v) => {
                v.push(VAT_UNUSED);
                v.len() as u32 - 1
            }
            None => self.alloc(1),
        }
    }

    fn icb_partition(&self) -> u16 {
        u16::from(self.vat.is_some())
    }

    /// Records an entry for ICB `icb`: where it lands in partition 0.
    fn place_entry(&mut self, icb: u32, fe: &[u8]) {
        let lblock = match &self.vat {
            Some(_) => self.alloc(1),
            None => icb,
        };
        if let Some(v) = &mut self.vat {
            v[icb as usize] = lblock;
        }
        self.put(lblock, fe);
    }

    #[allow(clippy::too_many_arguments)]
    fn file_entry(
        &mut self,
        icb: u32,
        ftype: u8,
        meta: &fs::Metadata,
        nlink: u16,
        size: u64,
        form: AdForm,
        ads: Vec<u8>,
    ) {
        let (permissions, flags) = FileEntry::permissions_from_mode(meta.mode());
        let mtime = Timestamp::from_utc(&chrono::DateTime::from_timestamp(meta.mtime(), 0).unwrap());
        self.unique += 1;
        let fe = FileEntry {
            tag: DescriptorTag::new(odix_udf::format::tag::ident::FILE_ENTRY, self.version, 0, icb),
            icb_tag: IcbTag {
                strategy_type: 4,
                max_entries: 1,
                file_type: ftype,
                flags: flags | if form == AdForm::Embedded { 3 } else { 1 },
                ..Default::default()
            },
            uid: meta.uid(),
            gid: meta.gid(),
            permissions,
            link_count: nlink,
            record_format: 0,
            record_display_attributes: 0,
            record_length: 0,
            information_length: size,
            object_size: 0,
            logical_blocks_recorded: size.div_ceil(BS as u64),
            access_time: mtime,
            modification_time: mtime,
            creation_time: Timestamp::default(),
            attribute_time: mtime,
            checkpoint: 1,
            reserved: 0,
            extended_attribute_icb: LongAd::default(),
            stream_directory_icb: LongAd::default(),
            implementation_identifier: EntityId::new(b"*odix test", [0; 8]),
            unique_id: self.unique + 16,
            extended_attributes: Vec::new(),
            allocation_descriptors: ads,
        };
        let mut v = Vec::new();
        fe.write_to(&mut v).unwrap();
        assert!(v.len() <= BS, "entry too big");
        tag::seal(&mut v, icb);
        self.place_entry(icb, &v);
    }

    fn fid(&self, loc: u32, name: Option<&str>, ch: u8, icb: u32) -> Vec<u8> {
        let f = FileIdentifierDescriptor {
            tag: DescriptorTag::new(odix_udf::format::tag::ident::FILE_IDENTIFIER, self.version, 0, loc),
            version: 1,
            characteristics: ch,
            icb: LongAd {
                length: BS as u32,
                location: LbAddr { block: icb, partition: self.icb_partition() },
                implementation_use: [0; 6],
            },
            implementation_use: Vec::new(),
            identifier: name.map(cs0::encode).unwrap_or_default(),
        };
        let mut v = Vec::new();
        f.write_to(&mut v).unwrap();
        v
    }

    /// Appends the tree at `src` and makes it the contents of the directory whose ICB is `root`.
    fn append_tree(&mut self, src: &Path, root: u32) {
        let mut nodes = vec![Node {
            path: src.to_path_buf(),
            name: String::new(),
            meta: fs::metadata(src).unwrap(),
            icb: root,
            children: Vec::new(),
            parent: 0,
        }];
        let mut inodes: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut i = 0;
        while i < nodes.len() {
            if nodes[i].meta.is_dir() {
                let mut names: Vec<_> = fs::read_dir(&nodes[i].path).unwrap().map(|e| e.unwrap().path()).collect();
                names.sort();
                for p in names {
                    let meta = fs::symlink_metadata(&p).unwrap();
                    let key = (meta.dev(), meta.ino());
                    let icb = match inodes.get(&key) {
                        Some(&icb) if meta.is_file() => icb,
                        _ => {
                            let icb = self.icb();
                            inodes.insert(key, icb);
                            icb
                        }
                    };
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    nodes.push(Node { path: p, name, meta, icb, children: Vec::new(), parent: i });
                    let n = nodes.len() - 1;
                    nodes[i].children.push(n);
                }
            }
            i += 1;
        }
        let mut written = std::collections::HashSet::new();
        for n in 0..nodes.len() {
            let node = &nodes[n];
            if !written.insert(node.icb) {
                continue;
            }
            let ft = node.meta.file_type();
            if ft.is_dir() {
                let parent = nodes[node.parent].icb;
                let mut fids = self.fid(0, None, characteristics::PARENT | characteristics::DIRECTORY, parent);
                let mut subdirs = 0u16;
                for &c in &node.children {
                    let child = &nodes[c];
                    let ch = if child.meta.is_dir() {
                        subdirs += 1;
                        characteristics::DIRECTORY
                    } else {
                        0
                    };
                    fids.extend(self.fid(0, Some(&child.name), ch, child.icb));
                }
                let size = fids.len() as u64;
                let (form, ads) = if fids.len() <= BS - 176 {
                    // Embedded: FID tag locations are the directory's ICB block.
                    (AdForm::Embedded, relocate_fids(&fids, |_| node.icb))
                } else {
                    let first = self.next;
                    let fids = relocate_fids(&fids, |off| first + (off / BS) as u32);
                    (AdForm::Long, self.data(&fids))
                };
                let meta = node.meta.clone();
                self.file_entry(node.icb, file_type::DIRECTORY, &meta, subdirs + 1, size, form, ads);
            } else if ft.is_symlink() {
                let target = fs::read_link(&node.path).unwrap();
                let mut data = Vec::new();
                for c in path::from_posix(&target.to_string_lossy()) {
                    c.write_to(&mut data).unwrap();
                }
                let meta = node.meta.clone();
                self.file_entry(node.icb, file_type::SYMLINK, &meta, 1, data.len() as u64, AdForm::Embedded, data);
            } else {
                let data = fs::read(&node.path).unwrap();
                let meta = node.meta.clone();
                let nlink = node.meta.nlink() as u16;
                let ads = self.data(&data);
                self.file_entry(node.icb, file_type::REGULAR, &meta, nlink, data.len() as u64, AdForm::Long, ads);
            }
        }
    }
}

/// Sets the tag location of every FID in `fids` (by its byte offset) and seals it.
fn relocate_fids(fids: &[u8], loc: impl Fn(usize) -> u32) -> Vec<u8> {
    let mut out = fids.to_vec();
    let mut at = 0;
    while at < out.len() {
        let (f, len) = FileIdentifierDescriptor::parse(&out[at..]).unwrap();
        let _ = f;
        tag::seal(&mut out[at..at + len], loc(at));
        at += len;
    }
    out
}

/// Appends `tree` to the formatted write-once image `base` (mkudffs `--media-type=cdr|dvdr`), ending with a new
/// VAT in the form the volume uses, and writes the result to `out`.
fn append_to_vat_image(base: &Path, tree: &Path, out: &Path) {
    let vol = Volume::open(fs::File::open(base).unwrap(), Options::default()).unwrap();
    let info = vol.info().clone();
    let vat = info.vat.clone().expect("a VAT");
    let start = info.partitions[0].start as usize;
    let img = fs::read(base).unwrap();
    let end = (vat.location as usize + 1) * BS;
    let version = if info.revision() >= 0x200 { 3 } else { 2 };
    let mut a = Appender {
        img: img[..end].to_vec(),
        start,
        next: (vat.location as usize + 1 - start) as u32,
        vat: Some(vat.table.entries.clone()),
        version,
        unique: 1000,
    };
    let root = info.file_set.root_directory_icb.location.block;
    a.append_tree(tree, root);
    // The new VAT: data blocks, then its entry as the last block of the image.
    let entries = a.vat.take().unwrap();
    let table = VirtualAllocationTable {
        header: vat.table.header.clone().map(|h| VatHeader { files: 0, directories: 0, ..h }),
        entries,
        previous_vat: vat.location as u32 - start as u32,
    };
    let mut data = Vec::new();
    table.write_to(&mut data).unwrap();
    let b = a.alloc(data.len().div_ceil(BS));
    a.put(b, &data);
    let short = AllocationDescriptor {
        extent_type: ExtentType::Recorded,
        length: data.len() as u32,
        location: LbAddr { block: b, partition: 0 },
    };
    let mut ads = Vec::new();
    ad::write_list(AdForm::Short, &[short], &mut ads).unwrap();
    let vat_icb = a.alloc(1);
    let ft = if table.header.is_some() { file_type::VAT } else { file_type::UNSPECIFIED };
    let meta = fs::metadata(tree).unwrap();
    a.vat = None;
    a.file_entry(vat_icb, ft, &meta, 1, data.len() as u64, AdForm::Short, ads);
    // `file_entry` wrote long-form flags; the VAT's descriptors are short ones.
    let at = (start + vat_icb as usize) * BS;
    let mut fe = FileEntry::parse(&a.img[at..at + BS]).unwrap();
    fe.icb_tag.flags &= !7;
    let mut v = Vec::new();
    fe.write_to(&mut v).unwrap();
    tag::seal(&mut v, vat_icb);
    a.img[at..at + BS].fill(0);
    a.img[at..at + v.len()].copy_from_slice(&v);
    a.img.truncate(at + BS);
    fs::write(out, &a.img).unwrap();
}

#[test]
fn vat_images_match_the_kernel() {
    let (Some(mk), Some(vm)) = (require_tool("mkudffs"), vm_run()) else { return };
    let t = tempdir();
    let dir = t.path();
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    tricky_tree(&tree, &TreeOptions::default()).unwrap();
    let mut images = Vec::new();
    for (rev, media) in [("1.50", "cdr"), ("2.01", "cdr"), ("2.01", "dvdr"), ("2.60", "bdr")] {
        let base = dir.join(format!("base-{rev}-{media}.udf"));
        mkudffs(&mk, &base, 2048, rev, media);
        let img = dir.join(format!("vat-{rev}-{media}.udf"));
        append_to_vat_image(&base, &tree, &img);
        images.push(img);
    }
    let kernel_lists = kernel_listings(&vm, dir, &images);
    let expected = host_listing(&tree);
    for (i, (img, kernel)) in images.iter().zip(&kernel_lists).enumerate() {
        assert_eq!(*kernel, expected, "{}: the kernel reads another tree than the one appended", img.display());
        let out = dir.join(format!("out{i}"));
        assert_extracts_like(img, &tree, &out, &CompareOptions::default());
        let info = run_ok(odix().args(["info", "--json"]).arg(img));
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(v["udf"]["partition_maps"][1]["type"], "virtual");
        let form = if img.to_string_lossy().contains("1.50") { "1.50" } else { "2.00" };
        assert_eq!(v["udf"]["partition_maps"][1]["vat_form"], form);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Metadata partitions (UDF 2.50, 2.60), written by odix's writer and read by the kernel.

#[test]
fn metadata_partition_images() {
    let Some(vm) = vm_run() else { return };
    let help = run(odix().args(["mkiso", "--help"]));
    if !String::from_utf8_lossy(&help.stdout).contains("udf-rev") {
        eprintln!("skipping: this build has no `mkiso --udf-rev`");
        return;
    }
    let t = tempdir();
    let dir = t.path();
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    tricky_tree(&tree, &TreeOptions::default()).unwrap();
    let mut images = Vec::new();
    for rev in ["2.50", "2.60"] {
        let img = dir.join(format!("m-{rev}.udf"));
        run_ok(
            odix()
                .args(["mkiso", "-q", "--hidden", "--format", "udf", "--udf-rev", rev, "-V", "META", "-o"])
                .arg(&img)
                .arg(&tree),
        );
        images.push(img);
    }
    let kernel_lists = kernel_listings(&vm, dir, &images);
    for (i, (img, kernel)) in images.iter().zip(kernel_lists).enumerate() {
        assert!(kernel.lines().count() > 20, "the kernel did not read {}", img.display());
        let out = dir.join(format!("out{i}"));
        assert_extracts_like(img, &tree, &out, &CompareOptions::default());
        assert_eq!(host_listing(&out), kernel, "{}: odix and the kernel read different trees", img.display());
        let info = run_ok(odix().args(["info", "--json"]).arg(img));
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        let maps = v["udf"]["partition_maps"].as_array().unwrap();
        assert!(maps.iter().any(|m| m["type"] == "metadata"), "{v}");

        // Damage the main metadata file's entry: the mirror file must serve instead.
        let vol = Volume::open(fs::File::open(img).unwrap(), Options::default()).unwrap();
        let info = vol.info().clone();
        let (phys_ref, meta_block) = info
            .logical
            .maps
            .iter()
            .find_map(|m| match m {
                odix_udf::format::partition::PartitionMap::Metadata { partition_number, metadata_file, .. } => {
                    Some((*partition_number, *metadata_file))
                }
                _ => None,
            })
            .unwrap();
        let start = info.partitions.iter().find(|p| p.number == phys_ref).unwrap().start as usize;
        let mut bytes = fs::read(img).unwrap();
        bytes[(start + meta_block as usize) * BS + 4] ^= 0xff;
        let damaged = dir.join(format!("m-damaged-{i}.udf"));
        fs::write(&damaged, &bytes).unwrap();
        let out = dir.join(format!("damaged-out{i}"));
        let o = extract(&damaged, &out);
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("mirror"));
        let diffs = compare_trees(&tree, &out, &CompareOptions::default());
        assert!(diffs.is_empty(), "mirror read differs:\n{}", diffs.join("\n"));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Hostile images, derived from a sane kernel-written one.

/// Runs every reading command on `img`: each must end with exit 1 or 2 and a clear last line, within 20 s.
fn assert_rejected_cleanly(name: &str, img: &Path, scratch: &Path) {
    for args in [vec!["ls", "-lR"], vec!["extract", "-C"], vec!["info"]] {
        let mut c = odix();
        c.args(&args);
        if args[0] == "extract" {
            c.arg(scratch.join(format!("x-{name}")));
        }
        c.arg(img).stdout(Stdio::null()).stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = c.spawn().unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(20) {
                child.kill().ok();
                panic!("{name}: `odix {}` hangs", args[0]);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let code = status.code();
        assert!(matches!(code, Some(0..=2)), "{name}: `odix {}` exited {status}:\n{err}", args[0]);
        if code == Some(1) {
            let last = err.lines().last().unwrap_or_default();
            assert!(last.starts_with("odix: "), "{name}: unclear error {err:?}");
        }
        if args[0] != "info" {
            assert_ne!(code, Some(0), "{name}: `odix {}` accepted a hostile image:\n{err}", args[0]);
        }
    }
}

/// The source tree of the images in `kernel_written_images` (beside them).
fn tree_of(img: &Path) -> PathBuf {
    img.parent().unwrap().join("tree")
}

fn hostile_cases(dir: &Path, sane: &Path) {
    let bytes = fs::read(sane).unwrap();
    let mut vol = Volume::open(fs::File::open(sane).unwrap(), Options::default()).unwrap();
    let info = vol.info().clone();
    let start = info.partitions[0].start as usize;
    let phys = |b: u32| (start + b as usize) * BS;
    let root = vol.root().unwrap();
    let children = vol.read_dir(&root).unwrap();
    let sub = children.iter().find(|c| c.name == "sub").unwrap().clone();
    let big = children.iter().find(|c| c.name == "big.bin").unwrap().clone();
    let sub_entry = vol.entry(&sub).unwrap();
    let big_entry = vol.entry(&big).unwrap();
    let root_icb = root.icb.block;
    let reseal = |img: &mut Vec<u8>, block: u32, len: usize| {
        let at = phys(block);
        tag::seal(&mut img[at..at + len], block);
    };
    // Recorded length of the (extended) file entry at `block`: header, extended attributes, descriptors.
    let fe_len = |e: &odix_udf::Entry| -> usize {
        let at = phys(e.location.block);
        let (base, lens) = if e.file_entry.is_extended() { (216, at + 208) } else { (176, at + 168) };
        let l_ea = u32::from_le_bytes(bytes[lens..lens + 4].try_into().unwrap()) as usize;
        let l_ad = u32::from_le_bytes(bytes[lens + 4..lens + 8].try_into().unwrap()) as usize;
        base + l_ea + l_ad
    };
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();

    // The root ICB is an indirect entry pointing at itself.
    let mut img = bytes.clone();
    let ie = odix_udf::format::file_entry::IndirectEntry {
        tag: DescriptorTag::new(259, 3, 0, root_icb),
        icb_tag: IcbTag { strategy_type: 4, max_entries: 1, file_type: 3, ..Default::default() },
        indirect_icb: LongAd {
            length: BS as u32,
            location: LbAddr { block: root_icb, partition: 0 },
            implementation_use: [0; 6],
        },
    };
    let mut v = Vec::new();
    ie.write_to(&mut v).unwrap();
    tag::seal(&mut v, root_icb);
    img[phys(root_icb)..phys(root_icb) + BS].fill(0);
    img[phys(root_icb)..phys(root_icb) + v.len()].copy_from_slice(&v);
    cases.push(("indirect-loop", img));

    // A subdirectory whose only name points back at the root (a directory loop through FIDs).
    let mut img = bytes.clone();
    if let odix_udf::read::Data::Embedded(fids) = &sub_entry.data {
        let (parent, plen) = FileIdentifierDescriptor::parse(fids).unwrap();
        let (mut child, _) = FileIdentifierDescriptor::parse(&fids[plen..]).unwrap();
        child.icb = parent.icb;
        child.characteristics = characteristics::DIRECTORY;
        let mut v = Vec::new();
        child.write_to(&mut v).unwrap();
        let at = phys(sub_entry.location.block) + fe_len(&sub_entry) - fids.len() + plen;
        tag::seal(&mut v, sub_entry.location.block);
        img[at..at + v.len()].copy_from_slice(&v);
        reseal(&mut img, sub_entry.location.block, fe_len(&sub_entry));
        cases.push(("parent-loop", img));
    }

    // FID with an implementation-use length running past the directory.
    let mut img = bytes.clone();
    if let odix_udf::read::Data::Embedded(fids) = &sub_entry.data {
        let at = phys(sub_entry.location.block) + fe_len(&sub_entry) - fids.len();
        img[at + 36..at + 38].copy_from_slice(&0xfff0u16.to_le_bytes());
        let (_, plen) = FileIdentifierDescriptor::parse(fids).unwrap();
        tag::seal(&mut img[at..at + plen], sub_entry.location.block);
        reseal(&mut img, sub_entry.location.block, fe_len(&sub_entry));
        cases.push(("fid-overflow", img));
    }

    // Allocation descriptor length larger than the entry.
    let mut img = bytes.clone();
    let at = phys(big_entry.location.block);
    let l_ad_at = at + if big_entry.file_entry.is_extended() { 212 } else { 172 };
    img[l_ad_at..l_ad_at + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    reseal(&mut img, big_entry.location.block, fe_len(&big_entry));
    cases.push(("ad-length-overflow", img));

    // A data extent in a partition that does not exist.
    let mut img = bytes.clone();
    let mut fe = big_entry.file_entry.clone();
    let exts = match &big_entry.data {
        odix_udf::read::Data::Extents(x) => x.clone(),
        _ => panic!("big.bin is embedded"),
    };
    let ads: Vec<AllocationDescriptor> = exts
        .iter()
        .map(|e| AllocationDescriptor {
            extent_type: e.extent_type,
            length: e.length,
            location: LbAddr { block: e.location.block, partition: 7 },
        })
        .collect();
    let mut raw = Vec::new();
    ad::write_list(AdForm::Long, &ads, &mut raw).unwrap();
    fe.allocation_descriptors = raw;
    fe.icb_tag.flags = (fe.icb_tag.flags & !7) | 1;
    let mut v = Vec::new();
    fe.write_to(&mut v).unwrap();
    tag::seal(&mut v, big_entry.location.block);
    img[at..at + BS].fill(0);
    img[at..at + v.len()].copy_from_slice(&v);
    cases.push(("partition-reference", img));

    // A continuation extent that continues in itself.
    let mut img = bytes.clone();
    let aed_block = big_entry.location.block;
    let mut fe = big_entry.file_entry.clone();
    let cont = AllocationDescriptor {
        extent_type: ExtentType::Continuation,
        length: BS as u32,
        location: LbAddr { block: aed_block + 100_000, partition: 0 },
    };
    let mut raw = Vec::new();
    ad::write_list(AdForm::Short, &[cont], &mut raw).unwrap();
    fe.allocation_descriptors = raw;
    fe.icb_tag.flags &= !7;
    let mut v = Vec::new();
    fe.write_to(&mut v).unwrap();
    tag::seal(&mut v, big_entry.location.block);
    img[at..at + BS].fill(0);
    img[at..at + v.len()].copy_from_slice(&v);
    cases.push(("continuation-outside", img.clone()));
    let self_cont = AllocationDescriptor { location: LbAddr { block: aed_block, partition: 0 }, ..cont };
    let aed = odix_udf::format::ad::AllocationExtentDescriptor {
        tag: DescriptorTag::new(258, 3, 0, aed_block),
        previous_location: 0,
        allocation_descriptors: {
            let mut r = Vec::new();
            ad::write_list(AdForm::Short, &[self_cont], &mut r).unwrap();
            r
        },
    };
    let mut v = Vec::new();
    aed.write_to(&mut v).unwrap();
    tag::seal(&mut v, aed_block);
    // The entry's first descriptor points at a block holding an AED that points at itself.
    let spare = big_entry.file_entry.information_length as usize / BS;
    let spare_block = match exts.first() {
        Some(e) => e.location.block + spare as u32,
        None => unreachable!(),
    };
    let mut aed2 = aed.clone();
    aed2.tag.location = spare_block;
    aed2.allocation_descriptors.clear();
    ad::write_list(
        AdForm::Short,
        &[AllocationDescriptor { location: LbAddr { block: spare_block, partition: 0 }, ..cont }],
        &mut aed2.allocation_descriptors,
    )
    .unwrap();
    let mut v = Vec::new();
    aed2.write_to(&mut v).unwrap();
    tag::seal(&mut v, spare_block);
    img[phys(spare_block)..phys(spare_block) + v.len()].copy_from_slice(&v);
    let mut fe2 = FileEntry::parse(&img[at..at + BS]).unwrap();
    fe2.allocation_descriptors.clear();
    ad::write_list(
        AdForm::Short,
        &[AllocationDescriptor { location: LbAddr { block: spare_block, partition: 0 }, ..cont }],
        &mut fe2.allocation_descriptors,
    )
    .unwrap();
    let mut v = Vec::new();
    fe2.write_to(&mut v).unwrap();
    tag::seal(&mut v, big_entry.location.block);
    img[at..at + BS].fill(0);
    img[at..at + v.len()].copy_from_slice(&v);
    cases.push(("continuation-loop", img));

    // Bad checksums: the root entry's tag, and every volume descriptor sequence block.
    let mut img = bytes.clone();
    img[phys(root_icb) + 4] ^= 0x55;
    cases.push(("root-checksum", img));
    let mut img = bytes.clone();
    for ext in [info.anchor.main, info.anchor.reserve] {
        for b in 0..(ext.length as usize / BS) {
            img[(ext.location as usize + b) * BS + 4] ^= 0x55;
        }
    }
    cases.push(("vds-checksums", img));
    // Bad CRC of a file entry: lenient mode reads with a warning (exit 2).
    let mut img = bytes.clone();
    img[at + 100] ^= 1;
    cases.push(("file-entry-crc", img));

    for (name, img) in &cases {
        let p = dir.join(format!("hostile-{name}.udf"));
        fs::write(&p, img).unwrap();
        assert_rejected_cleanly(name, &p, dir);
    }
    // Lenient mode reads past a bad CRC with a warning; strict mode stops.
    let crc = dir.join("hostile-file-entry-crc.udf");
    let lenient = run(odix().args(["cat"]).arg(&crc).arg("/big.bin"));
    assert_eq!(lenient.status.code(), Some(0), "{}", String::from_utf8_lossy(&lenient.stderr));
    assert_eq!(lenient.stdout, fs::read(tree_of(sane).join("big.bin")).unwrap_or_else(|_| lenient.stdout.clone()));
    let strict = run(odix().args(["cat", "--strict"]).arg(&crc).arg("/big.bin"));
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("CRC"), "{}", String::from_utf8_lossy(&strict.stderr));

    // The main volume descriptor sequence damaged alone: the reserve one is used, with a warning.
    let mut img = bytes.clone();
    for b in 0..(info.anchor.main.length as usize / BS) {
        img[(info.anchor.main.location as usize + b) * BS + 4] ^= 0x55;
    }
    let p = dir.join("main-vds-damaged.udf");
    fs::write(&p, &img).unwrap();
    let o = run(odix().args(["info", "--json"]).arg(&p));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["udf"]["used_reserve_vds"], true);
    let damaged = run(odix().args(["ls", "-R"]).arg(&p));
    assert_eq!(damaged.status.code(), Some(2), "a damaged main sequence is reported");
    assert!(String::from_utf8_lossy(&damaged.stderr).contains("reserve"));
    assert_eq!(damaged.stdout, run_ok(odix().args(["ls", "-R"]).arg(sane)).stdout);
}

// ---------------------------------------------------------------------------------------------------------
// VAT and sparing tables that point at themselves.

#[test]
fn vat_and_sparing_table_loops() {
    let Some(mk) = require_tool("mkudffs") else { return };
    let t = tempdir();
    let dir = t.path();
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("f.txt"), b"file\n").unwrap();

    // A VAT whose descriptors lie in the virtual partition it defines.
    let base = dir.join("base.udf");
    mkudffs(&mk, &base, 2048, "2.01", "cdr");
    let img = dir.join("vat.udf");
    append_to_vat_image(&base, &tree, &img);
    let mut bytes = fs::read(&img).unwrap();
    let last = bytes.len() / BS - 1;
    let mut fe = FileEntry::parse(&bytes[last * BS..]).unwrap();
    let loc = fe.tag.location;
    let exts = ad::parse_list(AdForm::Short, &fe.allocation_descriptors, 1).unwrap();
    fe.allocation_descriptors.clear();
    ad::write_list(AdForm::Long, &exts, &mut fe.allocation_descriptors).unwrap();
    fe.icb_tag.flags = (fe.icb_tag.flags & !7) | 1;
    let mut v = Vec::new();
    fe.write_to(&mut v).unwrap();
    tag::seal(&mut v, loc);
    bytes[last * BS..].fill(0);
    bytes[last * BS..last * BS + v.len()].copy_from_slice(&v);
    let p = dir.join("vat-self.udf");
    fs::write(&p, &bytes).unwrap();
    let o = run(odix().args(["ls"]).arg(&p));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("VAT"), "{}", String::from_utf8_lossy(&o.stderr));

    // A sparing table remapping a packet onto the sparing table itself.
    let img = dir.join("spar.udf");
    mkudffs(&mk, &img, 2048, "2.01", "dvdrw");
    let vol = Volume::open(fs::File::open(&img).unwrap(), Options::default()).unwrap();
    let (loc, _) = vol.info().sparing.unwrap();
    let mut bytes = fs::read(&img).unwrap();
    let at = loc as usize * BS;
    let mut st = odix_udf::format::partition::SparingTable::parse(&bytes[at..at + 16 * BS]).unwrap();
    st.entries[0] = (0, loc as u32);
    let mut v = Vec::new();
    st.write_to(&mut v).unwrap();
    tag::seal(&mut v, loc as u32);
    bytes[at..at + v.len()].copy_from_slice(&v);
    let p = dir.join("spar-self.udf");
    fs::write(&p, &bytes).unwrap();
    let o = run(odix().args(["ls"]).arg(&p));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sparing table"));
}

// ---------------------------------------------------------------------------------------------------------
// A file over 4 GiB made of unrecorded extents and a recorded tail.

#[test]
fn sparse_file_over_4_gib() {
    let Some(mk) = require_tool("mkudffs") else { return };
    let t = tempdir();
    let dir = t.path();
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("huge.bin"), b"x").unwrap();
    fs::write(tree.join("small.txt"), b"small\n").unwrap();
    let base = dir.join("base.udf");
    mkudffs(&mk, &base, 2048, "2.01", "hd");
    let vol = Volume::open(fs::File::open(&base).unwrap(), Options::default()).unwrap();
    let info = vol.info().clone();
    let start = info.partitions[0].start as usize;
    let part_len = info.partitions[0].length;
    drop(vol);
    let mut a =
        Appender { img: fs::read(&base).unwrap(), start, next: part_len / 2, vat: None, version: 3, unique: 100 };
    a.append_tree(&tree, info.file_set.root_directory_icb.location.block);
    let img = dir.join("sparse.udf");
    fs::write(&img, &a.img).unwrap();

    // Rewrite huge.bin: five unrecorded extents of 1 GiB − 2048, then 4096 recorded bytes.
    let mut vol = Volume::open(fs::File::open(&img).unwrap(), Options::default()).unwrap();
    let root = vol.root().unwrap();
    let huge = vol.read_dir(&root).unwrap().into_iter().find(|c| c.name == "huge.bin").unwrap();
    let entry = vol.entry(&huge).unwrap();
    drop(vol);
    let tail: Vec<u8> = (0..4096u32).map(|i| (i % 253) as u8).collect();
    let tail_block = a.alloc(2);
    a.put(tail_block, &tail);
    let gap = (1u32 << 30) - 2048;
    let mut ads: Vec<AllocationDescriptor> = (0..5)
        .map(|_| AllocationDescriptor { extent_type: ExtentType::Allocated, length: gap, location: LbAddr::default() })
        .collect();
    ads.push(AllocationDescriptor {
        extent_type: ExtentType::Recorded,
        length: 4096,
        location: LbAddr { block: tail_block, partition: 0 },
    });
    let mut fe = entry.file_entry.clone();
    fe.information_length = 5 * u64::from(gap) + 4096;
    fe.allocation_descriptors.clear();
    ad::write_list(AdForm::Long, &ads, &mut fe.allocation_descriptors).unwrap();
    fe.icb_tag.flags = (fe.icb_tag.flags & !7) | 1;
    let mut v = Vec::new();
    fe.write_to(&mut v).unwrap();
    tag::seal(&mut v, entry.location.block);
    let at = (start + entry.location.block as usize) * BS;
    a.img[at..at + BS].fill(0);
    a.img[at..at + v.len()].copy_from_slice(&v);
    fs::write(&img, &a.img).unwrap();

    // ICB strategy 4096: small.txt's entry is followed by an indirect entry to a newer entry, recorded in the
    // block huge.bin's first data used (free now). The newer entry is the one in force.
    let mut vol = Volume::open(fs::File::open(&img).unwrap(), Options::default()).unwrap();
    let root = vol.root().unwrap();
    let small = vol.read_dir(&root).unwrap().into_iter().find(|c| c.name == "small.txt").unwrap();
    let small_entry = vol.entry(&small).unwrap();
    drop(vol);
    let b = small_entry.location.block;
    assert_eq!(b, entry.location.block + 1, "layout of the appended entries changed");
    let newer_data = b"newer entry\n";
    let newer_block = a.alloc(1);
    a.put(newer_block, newer_data);
    let newer_icb = a.alloc(1);
    let mut fe = small_entry.file_entry.clone();
    fe.tag.location = newer_icb;
    fe.information_length = newer_data.len() as u64;
    fe.icb_tag.strategy_type = 4096;
    fe.icb_tag.max_entries = 2;
    fe.icb_tag.flags = (fe.icb_tag.flags & !7) | 1;
    fe.allocation_descriptors.clear();
    let newer_ad = AllocationDescriptor {
        extent_type: ExtentType::Recorded,
        length: newer_data.len() as u32,
        location: LbAddr { block: newer_block, partition: 0 },
    };
    ad::write_list(AdForm::Long, &[newer_ad], &mut fe.allocation_descriptors).unwrap();
    let mut v = Vec::new();
    fe.write_to(&mut v).unwrap();
    tag::seal(&mut v, newer_icb);
    a.put(newer_icb, &v);
    // The old entry says strategy 4096 too.
    let at_old = (start + b as usize) * BS;
    let mut old = FileEntry::parse(&a.img[at_old..at_old + BS]).unwrap();
    old.icb_tag.strategy_type = 4096;
    old.icb_tag.max_entries = 2;
    let mut v = Vec::new();
    old.write_to(&mut v).unwrap();
    tag::seal(&mut v, b);
    a.img[at_old..at_old + BS].fill(0);
    a.img[at_old..at_old + v.len()].copy_from_slice(&v);
    let ie = odix_udf::format::file_entry::IndirectEntry {
        tag: DescriptorTag::new(259, 3, 0, b + 1),
        icb_tag: IcbTag { strategy_type: 4096, max_entries: 2, file_type: 3, ..Default::default() },
        indirect_icb: LongAd {
            length: BS as u32,
            location: LbAddr { block: newer_icb, partition: 0 },
            implementation_use: [0; 6],
        },
    };
    let mut v = Vec::new();
    ie.write_to(&mut v).unwrap();
    tag::seal(&mut v, b + 1);
    let at_ie = (start + b as usize + 1) * BS;
    a.img[at_ie..at_ie + BS].fill(0);
    a.img[at_ie..at_ie + v.len()].copy_from_slice(&v);
    fs::write(&img, &a.img).unwrap();
    let cat = run_ok(odix().arg("cat").arg(&img).arg("/small.txt"));
    assert_eq!(cat.stdout, newer_data, "the entry after the indirect entry is in force");

    let ls = run_ok(odix().args(["ls", "--json"]).arg(&img).arg("/huge.bin"));
    let v: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(v[0]["size"], 5 * u64::from(gap) + 4096, "{v}");
    // Stream it through `cat`: zeros, then the tail.
    let mut child = odix().arg("cat").arg(&img).arg("/huge.bin").stdout(Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let zeros = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let mut last = Vec::new();
    loop {
        let n = std::io::Read::read(&mut out, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        let zeros_until = 5 * u64::from(gap);
        let z = (zeros_until.saturating_sub(total) as usize).min(n);
        assert!(buf[..z] == zeros[..z], "non-zero byte in the unrecorded part near byte {total}");
        last.extend_from_slice(&buf[z..n]);
        total += n as u64;
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(total, 5 * u64::from(gap) + 4096);
    assert_eq!(last, tail);
}

// ---------------------------------------------------------------------------------------------------------
// Named streams (UDF 2.00+): no tool on Linux writes them, so the test records them into an image mkudffs
// formatted and a tree appended as above, following ECMA-167 4/14.17 and UDF 2.60 3.3.5: the file's entry becomes
// an Extended File Entry whose stream directory ICB points at a stream directory (file type 13, a parent FID
// naming the file, then one FID per stream).

/// Gives the entry at ICB `owner` a stream directory holding `streams` (name, bytes).
fn add_streams(a: &mut Appender, owner: u32, streams: &[(&str, &[u8])], meta: &fs::Metadata) {
    let mut fids = a.fid(0, None, characteristics::PARENT | characteristics::DIRECTORY, owner);
    for (name, data) in streams {
        let icb = a.icb();
        let ads = a.data(data);
        a.file_entry(icb, file_type::REGULAR, meta, 1, data.len() as u64, AdForm::Long, ads);
        fids.extend(a.fid(0, Some(name), 0, icb));
    }
    let sd = a.icb();
    let size = fids.len() as u64;
    a.file_entry(sd, file_type::STREAM_DIRECTORY, meta, 1, size, AdForm::Embedded, relocate_fids(&fids, |_| sd));
    // The owner's entry, as an Extended File Entry pointing at the stream directory.
    let at = (a.start + owner as usize) * BS;
    let mut fe = FileEntry::parse(&a.img[at..at + BS]).unwrap();
    fe.tag.identifier = tag::ident::EXTENDED_FILE_ENTRY;
    fe.stream_directory_icb =
        LongAd { length: BS as u32, location: LbAddr { block: sd, partition: 0 }, implementation_use: [0; 6] };
    let mut v = Vec::new();
    fe.write_to(&mut v).unwrap();
    tag::seal(&mut v, owner);
    a.img[at..at + BS].fill(0);
    a.img[at..at + v.len()].copy_from_slice(&v);
}

#[test]
fn named_streams() {
    let Some(mk) = require_tool("mkudffs") else { return };
    let t = tempdir();
    let dir = t.path();
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("d")).unwrap();
    fs::write(tree.join("a.txt"), b"the file's own data\n").unwrap();
    let base = dir.join("base.udf");
    mkudffs(&mk, &base, 2048, "2.01", "hd");
    let vol = Volume::open(fs::File::open(&base).unwrap(), Options::default()).unwrap();
    let info = vol.info().clone();
    let start = info.partitions[0].start as usize;
    let root = info.file_set.root_directory_icb.location.block;
    let img = fs::read(&base).unwrap();
    // A freshly formatted partition is empty past its first blocks; append from its middle.
    let next = info.partitions[0].length / 2;
    let mut a = Appender { img, start, next, vat: None, version: 3, unique: 1000 };
    a.append_tree(&tree, root);
    let appended = dir.join("appended.udf");
    fs::write(&appended, &a.img).unwrap();
    let mut vol = Volume::open(fs::File::open(&appended).unwrap(), Options::default()).unwrap();
    let root_entry = vol.root().unwrap();
    let names = vol.read_dir(&root_entry).unwrap();
    let icb_of = |n: &str| names.iter().find(|c| c.name == n).unwrap().icb().block;
    let (file_icb, dir_icb) = (icb_of("a.txt"), icb_of("d"));
    let meta = fs::metadata(tree.join("a.txt")).unwrap();
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    add_streams(&mut a, file_icb, &[("comment", b"a stream\n"), ("Zone.Identifier", &big)], &meta);
    add_streams(&mut a, dir_icb, &[("icon", b"folder stream")], &meta);
    let img = dir.join("streams.udf");
    fs::write(&img, &a.img).unwrap();

    // Listed after their owner, only when asked for.
    let plain = run_ok(odix().args(["ls", "-R"]).arg(&img));
    assert_eq!(String::from_utf8_lossy(&plain.stdout), "/a.txt\n/d\n");
    let o = run_ok(odix().args(["ls", "-R", "--streams"]).arg(&img));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "/a.txt\n/a.txt:comment\n/a.txt:Zone.Identifier\n/d\n/d:icon\n");
    let j = run_ok(odix().args(["ls", "-R", "--streams", "--json"]).arg(&img));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&j.stdout).unwrap();
    let s = list.iter().find(|e| e["path"] == "/a.txt:Zone.Identifier").unwrap();
    assert_eq!((s["stream_of"].as_str(), s["size"].as_u64()), (Some("/a.txt"), Some(5000)));
    assert!(list.iter().find(|e| e["path"] == "/a.txt").unwrap().get("stream_of").is_none());

    // Read back byte for byte; the file's own data is untouched.
    let c = run_ok(odix().args(["cat", "--stream", "Zone.Identifier"]).arg(&img).arg("/a.txt"));
    assert_eq!(c.stdout, big);
    let c = run_ok(odix().args(["cat", "--stream", "icon"]).arg(&img).arg("/d"));
    assert_eq!(c.stdout, b"folder stream");
    let c = run_ok(odix().arg("cat").arg(&img).arg("/a.txt"));
    assert_eq!(c.stdout, b"the file's own data\n");
    let missing = run(odix().args(["cat", "--stream", "nope"]).arg(&img).arg("/a.txt"));
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no named stream \"nope\""));
    let out = dir.join("out");
    assert_extracts_like(&img, &tree, &out, &CompareOptions::default());

    // The kernel, which ignores streams, reads the Extended File Entries as the same tree.
    if let Some(vm) = vm_run() {
        assert_eq!(kernel_listings(&vm, dir, &[img]), [host_listing(&tree)]);
    }
}

//! `odix verify --online`: the AccurateRip and CTDB responses fetched over HTTP from a server this test runs on the
//! loopback interface (pointed to by ODIX_ACCURATERIP_URL and ODIX_CTDB_URL), holding responses written here by
//! the published layouts with the CRCs whipper's `accuraterip-checksum` and Python's `zlib.crc32` give for the
//! tracks, at the paths computed here from libdiscid's freedb id (python3-libdiscid). Then the ways a lookup
//! fails: a disc not in the database (404), a server error, a server that never answers (bounded wall time), an
//! oversized response, a closed port, and the real servers without a network.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use odix_testdata::audio::{accuraterip_checksum, libdiscid, msf, noise, write_wav};
use odix_testdata::{require_tool, run, run_ok};

mod common;
use common::{odix, stderr, stdout};

const SECTOR: usize = 2352;
const SAMPLES: usize = 588;

/// libdiscid's freedb id of a TOC: first and last track, the lead-out and each track's offset, all counted from
/// the start of the lead-in (LBA + 150).
fn libdiscid_freedb(py: &Path, last: usize, leadout: usize, offsets: &[usize]) -> String {
    let offsets: Vec<String> = offsets.iter().map(|o| o.to_string()).collect();
    let script = format!(
        "import libdiscid\nd = libdiscid.put(1, {last}, {leadout}, [{}])\nprint(d.freedb_id)",
        offsets.join(", ")
    );
    stdout(&run_ok(Command::new(py).args(["-c", &script]))).trim().to_string()
}

/// Python's `zlib.crc32` of a file's bytes from `from` to `len - cut_end`.
fn zlib_crc(file: &Path, from: usize, cut_end: usize) -> String {
    let python = require_tool("python3").expect("python3 (Debian package python3)");
    let script = "import sys, zlib\n\
        d = open(sys.argv[1], 'rb').read()\n\
        print('%08x' % zlib.crc32(d[int(sys.argv[2]):len(d) - int(sys.argv[3])]))\n";
    let o = run_ok(Command::new(python).args(["-c", script]).arg(file).arg(from.to_string()).arg(cut_end.to_string()));
    stdout(&o).trim().to_string()
}

/// Track starts (LBA) and the lead-out of the four-track disc [`disc`] writes.
const STARTS: [usize; 4] = [0, 475, 805, 1155];
const LEADOUT: usize = 1655;

/// A four-track audio disc in one BIN file: track 1 (400 sectors, starting with silence), track 2 with a stored
/// 75-sector pregap (`INDEX 00`), track 3 with a 30-sector pregap the image does not store (`PREGAP`), track 4
/// (500 sectors). Returns the sheet and the bytes of each track from its `INDEX 01` to the next track's, as
/// AccurateRip and CTDB take them.
fn disc(dir: &Path) -> (PathBuf, Vec<Vec<u8>>) {
    let mut t1 = noise(400 * SECTOR, 1);
    t1[..4000].fill(0);
    let p2 = noise(75 * SECTOR, 2);
    let t2 = noise(300 * SECTOR, 3);
    let t3 = noise(350 * SECTOR, 4);
    let t4 = noise(500 * SECTOR, 5);
    fs::write(dir.join("disc.bin"), [&t1[..], &p2, &t2, &t3, &t4].concat()).unwrap();
    let cue = format!(
        "FILE \"disc.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 00 {}\n    \
         INDEX 01 {}\n  TRACK 03 AUDIO\n    PREGAP 00:00:30\n    INDEX 01 {}\n  TRACK 04 AUDIO\n    INDEX 01 {}\n",
        msf(400),
        msf(475),
        msf(775),
        msf(1125)
    );
    let path = dir.join("disc.cue");
    fs::write(&path, cue).unwrap();
    let spans = vec![[&t1[..], &p2].concat(), [&t2[..], &vec![0u8; 30 * SECTOR]].concat(), t3, t4];
    (path, spans)
}

/// An AccurateRip response chunk as the database's `dBAR-….bin` files are laid out: track count (1 byte), disc
/// ids 1 and 2 and the freedb id (4 bytes each, little-endian), then for each track its confidence (1 byte), CRC
/// and frame-450 CRC (4 bytes each, little-endian).
fn ar_chunk(ids: (u32, u32, u32), entries: &[(u8, u32)]) -> Vec<u8> {
    let mut out = vec![entries.len() as u8];
    for v in [ids.0, ids.1, ids.2] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (conf, crc) in entries {
        out.push(*conf);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    }
    out
}

/// A CTDB lookup answer with one entry of these track CRCs.
fn ctdb_xml(crcs: &[String]) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ctdb xmlns=\"http://db.cuetools.net/ns/mmd-1.0#\">\n  \
         <entry confidence=\"5\" crc32=\"01234567\" id=\"42\" npar=\"8\" stride=\"5880\" toc=\"0:475:805:1155:1655\" \
         trackcrcs=\"{}\" />\n</ctdb>\n",
        crcs.join(" ")
    )
    .into_bytes()
}

/// What the test server answers to a request.
#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// This status, with a short text body.
    Status(u16),
    /// Nothing, ever: the connection stays open until the client gives up.
    Silent,
    /// 200 with a body of this many bytes.
    Huge(usize),
}

/// An HTTP/1.1 server on the loopback interface, one thread per connection, that records each request's target.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (seen, route) = (requests.clone(), Arc::new(route));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, route) = (seen.clone(), route.clone());
                thread::spawn(move || serve(stream, &seen, route.as_ref()));
            }
        });
        Server { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, seen: &Mutex<Vec<String>>, route: &(dyn Fn(&str) -> Reply + Send + Sync)) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split_whitespace().nth(1).unwrap_or_default().to_string();
    seen.lock().unwrap().push(target.clone());
    let answer = |status: &str, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\
             Connection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let bytes = match route(&target) {
        Reply::Body(b) => answer("200 OK", &b),
        Reply::Status(404) => answer("404 Not Found", b"Not Found"),
        Reply::Status(s) => answer(&format!("{s} Oops"), b"server trouble"),
        Reply::Huge(n) => answer("200 OK", &vec![0x41; n]),
        Reply::Silent => {
            // Wait for the client to hang up (read returns 0) or for the test to end.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
            let _ = stream.read(&mut buf);
            return;
        }
    };
    // The client may stop reading (a response too large): its errors are not this server's concern.
    let _ = stream.write_all(&bytes);
}

/// `odix verify --online ARGS… IMAGE` with both databases at `server` (or at the URLs given, or none set), no
/// proxy, its wall time.
fn online(image: &Path, urls: Option<(&str, &str)>, args: &[&str]) -> (Output, Duration) {
    let mut cmd = odix();
    cmd.arg("verify").arg("--online").args(args).arg(image);
    match urls {
        Some((ar, ctdb)) => {
            cmd.env("ODIX_ACCURATERIP_URL", ar).env("ODIX_CTDB_URL", ctdb);
            for v in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
                cmd.env_remove(v);
            }
        }
        None => {
            cmd.env_remove("ODIX_ACCURATERIP_URL").env_remove("ODIX_CTDB_URL");
        }
    }
    let start = Instant::now();
    let o = run(&mut cmd);
    (o, start.elapsed())
}

/// The whole test: match, mismatch, saved responses, then each failure.
#[test]
fn verify_online_against_a_local_server() {
    let Some(tool) = require_tool("accuraterip-checksum") else { return };
    let Some(py) = libdiscid() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (cue, spans) = disc(d);

    // The tracks' AccurateRip v2 CRCs by whipper, their CTDB CRCs by zlib (the first track without its first 10
    // sectors, the last without its last 10 and the samples that make the disc whole 10-sector rows).
    let disc_samples = (LEADOUT - STARTS[0]) * SAMPLES;
    let mut v2 = Vec::new();
    let mut ctdb = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        let wav = d.join(format!("track{}.wav", i + 1));
        write_wav(&wav, span);
        v2.push(u32::from_str_radix(&accuraterip_checksum(&tool, &wav, i + 1, 4, 2), 16).unwrap());
        let raw = d.join(format!("track{}.raw", i + 1));
        fs::write(&raw, span).unwrap();
        let from = if i == 0 { 5880 * 4 } else { 0 };
        let cut = if i == 3 { (5880 + disc_samples % 5880) * 4 } else { 0 };
        ctdb.push(zlib_crc(&raw, from, cut));
    }

    // Where the databases keep this disc, from the published definitions: the AccurateRip ids (sum of the LBAs
    // and the lead-out; sum of each LBA, at least 1, times its number and the lead-out times 5; the freedb id),
    // the file under the folders of id 1's last three hex digits; the CTDB lookup of the TOC's LBAs.
    let offsets: Vec<usize> = STARTS.iter().map(|s| s + 150).collect();
    let freedb = u32::from_str_radix(&libdiscid_freedb(&py, 4, LEADOUT + 150, &offsets), 16).unwrap();
    let id1 = (STARTS.iter().sum::<usize>() + LEADOUT) as u32;
    let id2 = (STARTS.iter().enumerate().map(|(i, &s)| s.max(1) * (i + 1)).sum::<usize>() + LEADOUT * 5) as u32;
    let ids = (id1, id2, freedb);
    let name = format!("dBAR-004-{id1:08x}-{id2:08x}-{freedb:08x}.bin");
    let ar_path = format!("/ar/{:x}/{:x}/{:x}/{name}", id1 & 0xf, id1 >> 4 & 0xf, id1 >> 8 & 0xf);
    let ctdb_path = "/ctdb/lookup2.php?version=3&ctdb=1&fuzzy=1&metadata=none&toc=0:475:805:1155:1655";

    let right_ar = ar_chunk(ids, &[(12, v2[0]), (3, v2[1]), (5, v2[2]), (7, v2[3])]);
    let right_ctdb = ctdb_xml(&ctdb);
    let serve_these = |ar: Vec<u8>, xml: Vec<u8>| {
        let (ar_path, ctdb_path) = (ar_path.clone(), ctdb_path.to_string());
        Server::start(move |t| {
            if t == ar_path {
                Reply::Body(ar.clone())
            } else if t == ctdb_path {
                Reply::Body(xml.clone())
            } else {
                Reply::Status(404)
            }
        })
    };
    let urls = |s: &Server| (format!("{}/ar/", s.url), format!("{}/ctdb", s.url));

    // Every track right: exit 0, both databases asked at the paths computed above, nothing else asked.
    let server = serve_these(right_ar.clone(), right_ctdb.clone());
    let (ar_url, ctdb_url) = urls(&server);
    let saved = d.join("saved");
    let (o, _) = online(&cue, Some((&ar_url, &ctdb_url)), &["--save-responses", saved.to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert_eq!(server.requests(), [ar_path.as_str(), ctdb_path]);
    assert!(text.contains(&format!("AccurateRip track 01: v2 {:08x} matches, confidence 12 of 12", v2[0])), "{text}");
    assert!(text.contains("AccurateRip: 4 of 4 tracks match"), "{text}");
    assert!(text.contains(&format!("CTDB track 04: {} matches, confidence 5 of 5", ctdb[3])), "{text}");
    assert!(text.contains("CTDB: 4 of 4 tracks match"), "{text}");
    // The responses kept are the bytes served, and check offline as they did online.
    assert_eq!(fs::read(saved.join(&name)).unwrap(), right_ar);
    let ctdb_file: Vec<PathBuf> = fs::read_dir(&saved)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    assert_eq!(ctdb_file.len(), 1, "{ctdb_file:?}");
    assert_eq!(fs::read(&ctdb_file[0]).unwrap(), right_ctdb);
    let o = run(odix()
        .arg("verify")
        .arg("--accuraterip")
        .arg(saved.join(&name))
        .arg("--ctdb")
        .arg(&ctdb_file[0])
        .arg(&cue));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("AccurateRip: 4 of 4 tracks match"), "{}", stdout(&o));
    // Without --online odix asks nothing, even with the variables set.
    let before = server.requests().len();
    let o = run(odix().arg("verify").env("ODIX_ACCURATERIP_URL", &ar_url).env("ODIX_CTDB_URL", &ctdb_url).arg(&cue));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(server.requests().len(), before);

    // Track 3 wrong in AccurateRip, track 2 in CTDB: exit 1, each said.
    let mut bad_ctdb = ctdb.clone();
    bad_ctdb[1] = "00000001".into();
    let server = serve_these(
        ar_chunk(ids, &[(12, v2[0]), (3, v2[1]), (5, v2[2] ^ 0x0bad_f00d), (7, v2[3])]),
        ctdb_xml(&bad_ctdb),
    );
    let (ar_url, ctdb_url) = urls(&server);
    let (o, _) = online(&cue, Some((&ar_url, &ctdb_url)), &["--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let matched = |db: &str| -> Vec<bool> {
        v["audio"][db].as_array().unwrap().iter().map(|t| t["matched"].as_bool().unwrap()).collect()
    };
    assert_eq!(matched("accuraterip"), [true, true, false, true]);
    assert_eq!(matched("ctdb"), [true, false, true, true]);
    let (o, _) = online(&cue, Some((&ar_url, &ctdb_url)), &[]);
    let text = stdout(&o);
    assert!(text.contains("AccurateRip track 03: NO MATCH") && text.contains("CTDB track 02: NO MATCH"), "{text}");

    // Neither database knows the disc (404): said as such, not a failed rip.
    let server = Server::start(|_| Reply::Status(404));
    let (ar_url, ctdb_url) = urls(&server);
    let (o, _) = online(&cue, Some((&ar_url, &ctdb_url)), &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(text.contains(&format!("AccurateRip: disc not in the database (asked {}{ar_path}", server.url)), "{text}");
    assert!(text.contains("CTDB: disc not in the database"), "{text}");
    assert_eq!(server.requests().len(), 2);

    // Failures: one line on stderr naming the URL and what went wrong, exit status 1, within the timeout.
    let ar_only = |reply: Reply| Server::start(move |_| reply.clone());
    let cases: Vec<(Server, &[&str], String, Duration)> = vec![
        (ar_only(Reply::Status(500)), &[], "the server answered HTTP 500".into(), Duration::from_secs(20)),
        (
            ar_only(Reply::Silent),
            &["--online-timeout", "2"],
            "no whole answer within 2 s".into(),
            Duration::from_secs(10),
        ),
        (
            ar_only(Reply::Huge(5 << 20)),
            &[],
            format!("the response is larger than {} bytes", 4 << 20),
            Duration::from_secs(20),
        ),
        (ar_only(Reply::Body(b"\x04short".to_vec())), &[], "a chunk header needs 13".into(), Duration::from_secs(20)),
    ];
    for (server, args, says, bound) in cases {
        let (ar_url, ctdb_url) = urls(&server);
        let (o, took) = online(&cue, Some((&ar_url, &ctdb_url)), args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{says}: {e}");
        assert_eq!(e.lines().count(), 1, "{says}: {e}");
        assert!(e.contains(says.as_str()) && e.contains(&format!("{}{ar_path}", server.url)), "{says}: {e}");
        assert!(took < bound, "{says}: took {took:?}");
    }

    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let (o, _) = online(&cue, Some((&url, &url)), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("connection refused"), "{}", stderr(&o));

    // The real databases, with no URL set, on a machine without a network: one line, quickly. (With a network the
    // lookup works, and this made-up disc is in neither database.)
    let (o, took) = online(&cue, None, &["--online-timeout", "15"]);
    let (text, e) = (stdout(&o), stderr(&o));
    assert!(took < Duration::from_secs(40), "took {took:?}");
    if o.status.code() == Some(1) {
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains("http://www.accuraterip.com/accuraterip/") || e.contains("http://db.cuetools.net/"), "{e}");
    } else {
        assert!(text.contains("AccurateRip: disc not in the database"), "{text}{e}");
    }
}

/// `--online` wants a raw image with audio tracks, and no saved response beside it.
#[test]
fn online_needs_an_audio_image_and_no_saved_response() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let iso = d.join("x.iso");
    fs::write(&iso, vec![0u8; 40 * 2048]).unwrap();
    let (o, _) = online(&iso, Some(("http://127.0.0.1:9/", "http://127.0.0.1:9/")), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs a raw image"), "{}", stderr(&o));
    let o = run(odix().args(["verify", "--online", "--ctdb", "r.xml"]).arg(&iso));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    let o = run(odix().args(["verify", "--save-responses", "dir"]).arg(&iso));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

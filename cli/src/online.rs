//! Fetching a disc's AccurateRip and CUETools database (CTDB) responses over HTTP, for `odix verify --online`.
//!
//! Nothing here runs unless asked: odix goes on the network only when [`Online`] is given. Both databases answer
//! plain HTTP, so no TLS is linked in. Every request has a connect and a total timeout and a size limit (the
//! parsers' own, [`MAX_RESPONSE_BYTES`]); errors are one line naming the URL and what went wrong (no answer, host
//! not found, connection refused, an HTTP error status). A 404 is no error: it is how both databases say they do
//! not know the disc ([`Fetched::NotInDatabase`]).

use std::io;
use std::time::Duration;

use anyhow::{anyhow, Result};
use odix_cdrip::audio::{AccurateRipId, Toc};

/// Where the AccurateRip database keeps its responses: the disc's [`AccurateRipId::url_path`] follows.
pub const ACCURATERIP_URL: &str = "http://www.accuraterip.com/accuraterip/";
/// The CUETools database server: its lookup is `lookup2.php` under it.
pub const CTDB_URL: &str = "http://db.cuetools.net/";
/// The environment variable that replaces [`ACCURATERIP_URL`] (a mirror, or a test server).
pub const ACCURATERIP_URL_VAR: &str = "ODIX_ACCURATERIP_URL";
/// The environment variable that replaces [`CTDB_URL`].
pub const CTDB_URL_VAR: &str = "ODIX_CTDB_URL";
/// Longest wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a whole request may take, the body read included.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response read: what the AccurateRip and CTDB parsers accept.
pub const MAX_RESPONSE_BYTES: u64 = odix_cdrip::audio::accuraterip::MAX_RESPONSE_BYTES as u64;

/// How to reach the databases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Online {
    /// The AccurateRip base URL, ending in `/`.
    pub accuraterip_url: String,
    /// The CTDB server's base URL, ending in `/`.
    pub ctdb_url: String,
    /// Longest wait for a connection (at most [`Online::timeout`]).
    pub connect_timeout: Duration,
    /// Longest a whole request may take.
    pub timeout: Duration,
    /// Largest response body read; a longer one is an error.
    pub max_bytes: u64,
}

impl Default for Online {
    /// The public databases, with the default timeouts and limit.
    fn default() -> Online {
        Online {
            accuraterip_url: ACCURATERIP_URL.to_string(),
            ctdb_url: CTDB_URL.to_string(),
            connect_timeout: CONNECT_TIMEOUT,
            timeout: TIMEOUT,
            max_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

/// What a database answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The response body (HTTP 200).
    Body(Vec<u8>),
    /// HTTP 404: the database does not know the disc.
    NotInDatabase,
}

/// `url` with a `/` at its end.
fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

impl Online {
    /// The defaults, with the base URLs taken from [`ACCURATERIP_URL_VAR`] and [`CTDB_URL_VAR`] when set and not
    /// empty.
    pub fn from_env() -> Online {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut o = Online::default();
        if let Some(u) = var(ACCURATERIP_URL_VAR) {
            o.accuraterip_url = with_slash(&u);
        }
        if let Some(u) = var(CTDB_URL_VAR) {
            o.ctdb_url = with_slash(&u);
        }
        o
    }

    /// Sets the total timeout; the connect timeout becomes the smaller of it and [`CONNECT_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Online {
        self.timeout = timeout;
        self.connect_timeout = timeout.min(CONNECT_TIMEOUT);
        self
    }

    /// The URL of a disc's AccurateRip response: the base URL and [`AccurateRipId::url_path`].
    pub fn accuraterip_url(&self, id: &AccurateRipId) -> String {
        format!("{}{}", with_slash(&self.accuraterip_url), id.url_path())
    }

    /// The URL of a disc's CTDB lookup: `lookup2.php` of the server, protocol version 3, CTDB entries asked,
    /// fuzzy (entries of other pressings of the same TOC id come too), no metadata, and the TOC as
    /// [`Toc::ctdb_toc`] writes it (digits, `-` and `:`, nothing to escape).
    pub fn ctdb_url(&self, toc: &Toc) -> String {
        format!(
            "{}lookup2.php?version=3&ctdb=1&fuzzy=1&metadata=none&toc={}",
            with_slash(&self.ctdb_url),
            toc.ctdb_toc()
        )
    }

    /// GETs `url`: its body when the server answers 200, [`Fetched::NotInDatabase`] for 404.
    ///
    /// # Errors
    /// One line naming `url`: the host not found, a connection refused or unanswered, no whole answer within
    /// the timeout, a body larger than [`Online::max_bytes`], any other HTTP status.
    pub fn fetch(&self, url: &str) -> Result<Fetched> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(self.connect_timeout.min(self.timeout)))
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("odix/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let fail = |e: ureq::Error| anyhow!("{url}: {}", self.explain(&e));
        let mut response = agent.get(url).call().map_err(fail)?;
        let status = response.status();
        if status == ureq::http::StatusCode::NOT_FOUND {
            return Ok(Fetched::NotInDatabase);
        }
        if status != ureq::http::StatusCode::OK {
            let reason = status.canonical_reason().map(|r| format!(" {r}")).unwrap_or_default();
            return Err(anyhow!("{url}: the server answered HTTP {}{reason}", status.as_u16()));
        }
        let body = response.body_mut().with_config().limit(self.max_bytes).read_to_vec().map_err(fail)?;
        Ok(Fetched::Body(body))
    }

    /// What went wrong, in words.
    fn explain(&self, e: &ureq::Error) -> String {
        let secs = |d: Duration| {
            let s = d.as_secs_f64();
            if s.fract() == 0.0 {
                format!("{s:.0} s")
            } else {
                format!("{s} s")
            }
        };
        match e {
            ureq::Error::Timeout(ureq::Timeout::Connect) => {
                format!("no connection within {} (offline?)", secs(self.connect_timeout.min(self.timeout)))
            }
            ureq::Error::Timeout(_) => format!("no whole answer within {}", secs(self.timeout)),
            ureq::Error::HostNotFound => "host not found (offline?)".to_string(),
            ureq::Error::BodyExceedsLimit(_) => {
                format!("the response is larger than {} bytes, not a database response", self.max_bytes)
            }
            ureq::Error::ConnectionFailed => "cannot connect (offline?)".to_string(),
            ureq::Error::Io(io) => match io.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                io::ErrorKind::NotFound => "host not found (offline?)".to_string(),
                io::ErrorKind::TimedOut => format!("no whole answer within {}", secs(self.timeout)),
                io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof => {
                    format!("the server closed the connection ({io})")
                }
                _ => format!("cannot reach the server: {io}"),
            },
            other => other.to_string().replace('\n', " "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odix_cdrip::audio::TocTrack;

    #[test]
    fn urls_follow_the_published_forms() {
        let toc =
            Toc::new(vec![TocTrack::audio(1, 0), TocTrack::audio(2, 18_000), TocTrack::data(3, 40_000, 1)], 50_000)
                .unwrap();
        let id = toc.accuraterip_id().unwrap();
        let o = Online::default();
        assert_eq!(o.accuraterip_url(&id), format!("http://www.accuraterip.com/accuraterip/{}", id.url_path()));
        assert_eq!(
            o.ctdb_url(&toc),
            "http://db.cuetools.net/lookup2.php?version=3&ctdb=1&fuzzy=1&metadata=none&toc=0:18000:-40000:50000"
        );
        let o = Online { ctdb_url: "http://127.0.0.1:9/mirror".into(), ..Online::default() };
        assert!(o.ctdb_url(&toc).starts_with("http://127.0.0.1:9/mirror/lookup2.php?"));
        let o = Online::default().with_timeout(Duration::from_secs(3));
        assert_eq!((o.connect_timeout, o.timeout), (Duration::from_secs(3), Duration::from_secs(3)));
    }
}

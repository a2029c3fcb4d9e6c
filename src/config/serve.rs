//! The config file's `[serve]` table: the settings of `pasv-doctor serve` that are not
//! settings of a check (where it listens, which targets it may check, how many at once, who
//! may ask). Read with the rest of the file, so a mistake is an error naming its line before
//! anything starts. `check` and `batch` read the file too and leave this table alone.
//!
//! ```toml
//! [serve]
//! listen = "127.0.0.1:9129"
//! allow_targets = ["203.0.113.0/24", "2001:db8::/32", "ftp.example.net", "*.example.org"]
//! max_concurrent = 64
//! auth_token_file = "/etc/pasv-doctor/token"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

use super::allow::AllowList;
use super::value;

/// The default listening address: loopback, the port proposed for this exporter.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9129";

/// `[serve]` as read; every key optional (`crate::serve` applies the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeTable {
    /// `IP:PORT` to listen on.
    #[serde(default, deserialize_with = "listen")]
    pub listen: Option<SocketAddr>,
    /// Which servers may be checked; none listed: global unicast addresses only.
    #[serde(default)]
    pub allow_targets: AllowList,
    /// Checks running at once.
    #[serde(default, deserialize_with = "concurrency")]
    pub max_concurrent: Option<usize>,
    /// Checks waiting for a slot; more are refused at once (503).
    #[serde(default, deserialize_with = "queue")]
    pub max_queue: Option<usize>,
    /// The longest a check waits for a slot before 503.
    #[serde(default, deserialize_with = "wait")]
    pub queue_timeout: Option<Duration>,
    /// A file whose first line is the token for `/api/*` and the desk.
    #[serde(default, deserialize_with = "path")]
    pub auth_token_file: Option<PathBuf>,
    /// A file whose first line is the token for `/probe` and `/metrics` (default: the
    /// `auth_token_file` token).
    #[serde(default, deserialize_with = "path")]
    pub probe_token_file: Option<PathBuf>,
    /// Origins (`https://desk.example.net`) besides the request's own `Host` that the desk's
    /// forms may be posted from (a reverse proxy in front).
    #[serde(default, deserialize_with = "origins")]
    pub allowed_origins: Vec<String>,
    /// Requests to `/api/*` and the desk's forms per client address and minute; 0: no limit.
    #[serde(default, deserialize_with = "rate")]
    pub rate_limit_per_minute: Option<u32>,
}

impl ServeTable {
    /// File names made relative to the config file's folder, as the other tables' are.
    pub fn anchor(&mut self, folder: &Path) {
        for p in [&mut self.auth_token_file, &mut self.probe_token_file]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = folder.join(&*p);
            }
        }
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d)
}

fn listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let s = text(d)?;
    s.parse().map(Some).map_err(|_| {
        de::Error::custom(format!(
            "listen: \"{s}\" is not IP:PORT (e.g. {DEFAULT_LISTEN} or [::1]:9129)"
        ))
    })
}

fn number<'de, D: Deserializer<'de>>(
    d: D,
    key: &str,
    low: u64,
    high: u64,
) -> Result<Option<usize>, D::Error> {
    let n = u64::deserialize(d)?;
    if (low..=high).contains(&n) {
        Ok(Some(n as usize))
    } else {
        Err(de::Error::custom(format!(
            "{key}: {n} is not a number from {low} to {high}"
        )))
    }
}

fn concurrency<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    number(d, "max_concurrent", 1, 4096)
}

fn queue<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    number(d, "max_queue", 0, 65536)
}

fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    number(d, "rate_limit_per_minute", 0, 1_000_000).map(|n| n.map(|n| n as u32))
}

fn wait<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    value::duration(&text(d)?)
        .map(Some)
        .map_err(de::Error::custom)
}

fn path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    value::path(&text(d)?).map(Some).map_err(de::Error::custom)
}

fn origins<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    for o in &list {
        let ok = (o.starts_with("http://") || o.starts_with("https://"))
            && !o.ends_with('/')
            && o.split("://")
                .nth(1)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(['/', '?', '#', ' ', '@']));
        if !ok {
            return Err(de::Error::custom(format!(
                "allowed_origins: \"{o}\" is not an origin such as https://desk.example.net"
            )));
        }
    }
    Ok(list.into_iter().map(|o| o.to_ascii_lowercase()).collect())
}

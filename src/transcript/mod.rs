//! The transcript: plain data recording everything a probe saw, and nothing it concluded.
//!
//! The probe fills it in; the analysis reads it; the JSON report embeds it; a transcript
//! attached to a ticket can be replayed through the analysis as a fixture. It records what
//! the server said (replies as received), the control peer, and what was actually tried
//! (every connection attempt with its outcome). The password never enters it: `PASS` is
//! recorded with a fixed mask.
//!
//! Times are microseconds since the probe started (`at_us`) or durations (`*_us`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::proto::PassiveKind;

mod data;
mod session;
mod tls;

pub use data::*;
pub use session::*;
pub use tls::*;

/// What `PASS` is recorded as, whatever was sent.
pub const PASSWORD_MASK: &str = "********";

/// The stand-in for an address a client log does not show (the server's, or where a data
/// connection went). It is never shown: JSON has `null`, reports say "not in the log", and
/// the analysis compares nothing with it. Port 0 is never a real peer's.
pub const UNKNOWN_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// Whether an address is the stand-in for one the log does not show (its port may be
/// known: a data connection to the advertised port at an address the log does not name).
/// No check connects to, or is connected from, the unspecified address.
pub fn is_unknown(addr: SocketAddr) -> bool {
    addr.ip().is_unspecified()
}

/// An address for people: the address, or "not in the log".
pub fn show_addr(addr: SocketAddr) -> String {
    if is_unknown(addr) && addr.port() != 0 {
        format!("port {} (address not in the log)", addr.port())
    } else if is_unknown(addr) {
        "address not in the log".to_string()
    } else {
        addr.to_string()
    }
}

/// Serializes [`UNKNOWN_ADDR`] as `null` and reads `null` back as it.
mod maybe_addr {
    use std::net::SocketAddr;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(addr: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
        (!super::is_unknown(*addr)).then_some(addr).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        Ok(Option::<SocketAddr>::deserialize(d)?.unwrap_or(super::UNKNOWN_ADDR))
    }
}

/// Everything one run of the probe saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    pub target: TargetInfo,
    pub settings: Settings,
    /// The DNS look-ups, absent when the target is an address.
    pub dns: Option<DnsLookup>,
    /// One session per server address checked.
    pub servers: Vec<ServerSession>,
    /// The overall deadline ended the probe before it was done.
    pub deadline_hit: bool,
    /// Ctrl-C stopped the check: what is recorded is what was seen until then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// This machine's public address, when `--my-ip-url` asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_public: Option<IpAddr>,
    /// Why the public address could not be learned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_public_error: Option<String>,
    /// Wall time of the whole probe.
    pub total_us: u64,
    /// Set when the transcript was read from a client's log (`pasv-doctor explain`), not
    /// recorded by the probe: which client wrote it and what the log does not show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_log: Option<ClientLog>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetInfo {
    /// The TARGET as given.
    pub input: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The path listed (`None`: the login directory).
    pub path: Option<String>,
}

/// The address family the user restricted the check to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Any,
    V4,
    V6,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub samples: u32,
    pub timeout_us: u64,
    pub deadline_us: u64,
    pub family: Family,
    pub probe_advertised: bool,
    pub expect_range: Option<(u16, u16)>,
    pub expect_address: Option<IpAddr>,
    /// The TLS mode asked for (`off`, `auto`, `explicit`, `implicit`).
    #[serde(default = "default_tls")]
    pub tls: TlsRequest,
    /// Data channel protection asked for (`p` private, `c` clear).
    #[serde(default)]
    pub prot_clear: bool,
    /// Certificates expiring within this many days are reported.
    #[serde(default = "default_cert_warn_days")]
    pub cert_warn_days: u32,
    /// Wall-clock time of the check, seconds since the Unix epoch (for certificate dates).
    #[serde(default)]
    pub checked_at_unix: i64,
    /// The passive range map asked for (`auto` or `LOW-HIGH`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_range: Option<String>,
}

fn default_tls() -> TlsRequest {
    TlsRequest::Off
}

fn default_cert_warn_days() -> u32 {
    21
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsLookup {
    pub name: String,
    /// The nameserver asked (`None`: the system's configuration).
    pub nameserver: Option<SocketAddr>,
    pub a: DnsAnswer,
    pub aaaa: DnsAnswer,
    pub elapsed_us: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsAnswer {
    /// Whether this record type was asked for (see `-4`/`-6`).
    pub queried: bool,
    pub records: Vec<DnsRecord>,
    /// Why the look-up failed; "no records" is not a failure and leaves this empty.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsRecord {
    pub ip: IpAddr,
    pub ttl: u32,
}

impl Transcript {
    /// A transcript of a target with no session recorded yet.
    pub fn new(target: TargetInfo, settings: Settings) -> Transcript {
        Transcript {
            target,
            settings,
            dns: None,
            servers: Vec::new(),
            deadline_hit: false,
            interrupted: false,
            client_public: None,
            client_public_error: None,
            total_us: 0,
            client_log: None,
        }
    }

    /// The addresses the name resolved to, both families (empty for a literal address).
    pub fn dns_addresses(&self) -> Vec<IpAddr> {
        self.dns
            .as_ref()
            .map(|d| {
                d.a.records
                    .iter()
                    .chain(&d.aaaa.records)
                    .map(|r| r.ip)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every address the target owns: control peers and DNS answers of both families.
    pub fn own_addresses(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self.servers.iter().map(|s| s.peer()).collect();
        out.extend(self.dns_addresses());
        out.sort();
        out.dedup();
        out
    }
}

/// Where a transcript read from a client's log came from (`pasv-doctor explain`). A log
/// shows only what the client did: no test connections, no DNS answers, and sometimes not
/// the server's address; `unknown` says which of these the report cannot know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientLog {
    /// The log format read: `filezilla`, `winscp`, `curl`, `lftp` or `bare`.
    pub format: String,
    /// The client that wrote the log (e.g. `FileZilla`), when the log shows it.
    pub client: Option<String>,
    /// The client's version, when the log shows it.
    pub version: Option<String>,
    /// The client's own messages that bear on the diagnosis (substituted addresses,
    /// timeouts, fallbacks, errors), user names and passwords redacted.
    pub messages: Vec<ClientMessage>,
    /// What the log does not show, in words.
    pub unknown: Vec<String>,
}

/// One message the client wrote in its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientMessage {
    /// Index into `Transcript::servers` of the session it belongs to.
    pub server: usize,
    /// Line number in the log (from 1).
    pub line: u64,
    pub text: String,
}

#[cfg(test)]
impl Transcript {
    /// A transcript of `host` with nothing recorded, for tests of what reads transcripts.
    pub fn test_empty(host: &str) -> Transcript {
        Transcript::new(
            TargetInfo {
                input: host.into(),
                host: host.into(),
                port: 21,
                user: "anonymous".into(),
                path: None,
            },
            Settings {
                samples: 1,
                timeout_us: 1,
                deadline_us: 1,
                family: Family::Any,
                probe_advertised: false,
                expect_range: None,
                expect_address: None,
                tls: TlsRequest::Off,
                prot_clear: false,
                cert_warn_days: 21,
                checked_at_unix: 0,
                scan_range: None,
            },
        )
    }
}

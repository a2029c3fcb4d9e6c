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
}

fn default_tls() -> TlsRequest {
    TlsRequest::Off
}

fn default_cert_warn_days() -> u32 {
    21
}

/// The TLS mode the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsRequest {
    /// Plain FTP only.
    Off,
    /// AUTH TLS when the server accepts it, else plain (and say so).
    Auto,
    /// AUTH TLS required (RFC 4217).
    Explicit,
    /// TLS from the first byte (port 990).
    Implicit,
}

impl TlsRequest {
    /// The mode as the command line and the JSON name it: `off`, `auto`, `explicit`,
    /// `implicit`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsRequest::Off => "off",
            TlsRequest::Auto => "auto",
            TlsRequest::Explicit => "explicit",
            TlsRequest::Implicit => "implicit",
        }
    }
}

/// How a certificate chain checked out against the trust roots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "detail")]
pub enum CertVerdict {
    Trusted,
    Expired,
    NotYetValid,
    NameMismatch,
    UnknownIssuer,
    SelfSigned,
    /// Any other verification failure, with rustls's reason.
    Invalid(String),
}

impl CertVerdict {
    /// The verdict in words, e.g. "unknown issuer" (never the variant's name).
    pub fn describe(&self) -> String {
        match self {
            CertVerdict::Trusted => "trusted".to_string(),
            CertVerdict::Expired => "expired".to_string(),
            CertVerdict::NotYetValid => "not yet valid".to_string(),
            CertVerdict::NameMismatch => "not valid for this host name".to_string(),
            CertVerdict::UnknownIssuer => "unknown issuer".to_string(),
            CertVerdict::SelfSigned => "self-signed".to_string(),
            CertVerdict::Invalid(why) => format!("invalid: {why}"),
        }
    }
}

/// What the server's certificate says (from x509-parser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses the certificate is valid for.
    pub sans: Vec<String>,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    /// Certificates the server sent, the leaf included.
    pub chain_len: usize,
    /// SHA-256 of the leaf (DER), as `openssl x509 -fingerprint -sha256` and FileZilla show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A TLS handshake's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsHandshake {
    /// `TLSv1_3`, `TLSv1_2`.
    pub version: Option<String>,
    pub cipher: Option<String>,
    /// The session was resumed (abbreviated handshake).
    pub resumed: bool,
    /// Why the handshake failed (the alert or the local error).
    pub error: Option<String>,
    pub elapsed_us: u64,
}

impl TlsHandshake {
    /// A handshake that failed, or could not start, for `error`.
    pub fn failed(error: String, elapsed_us: u64) -> TlsHandshake {
        TlsHandshake {
            version: None,
            cipher: None,
            resumed: false,
            error: Some(error),
            elapsed_us,
        }
    }
}

/// TLS on the control connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlTls {
    /// `explicit` (AUTH TLS) or `implicit`.
    pub mode: TlsRequest,
    /// The AUTH TLS exchange (explicit mode).
    pub auth: Option<Exchange>,
    pub handshake: Option<TlsHandshake>,
    pub certificate: Option<CertInfo>,
    /// The chain's verification result (recorded even when `--insecure` went on): the
    /// verifier's first objection.
    pub verdict: Option<CertVerdict>,
    /// Every problem found with the certificate, `verdict` first. The verifier stops at its
    /// first objection (an expired certificate hides an unknown issuer, an unknown issuer a
    /// wrong name), so the probe also checks the chain at a time inside its validity and the
    /// name on its own. Empty when trusted or not verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<CertVerdict>,
    /// The probe went on past a failed verification because of `--insecure`.
    pub insecure: bool,
    pub pbsz: Option<Exchange>,
    pub prot: Option<Exchange>,
}

impl ControlTls {
    /// TLS asked for in `mode` (after `auth`, explicit mode), nothing else known yet.
    pub fn new(mode: TlsRequest, auth: Option<Exchange>, insecure: bool) -> ControlTls {
        ControlTls {
            mode,
            auth,
            handshake: None,
            certificate: None,
            verdict: None,
            problems: Vec::new(),
            insecure,
            pbsz: None,
            prot: None,
        }
    }
}

/// TLS on one data connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataTls {
    pub handshake: TlsHandshake,
    /// This data connection deliberately did not offer the control session for resumption
    /// (the test of whether the server requires session reuse).
    pub fresh_session: bool,
    /// The verdict on the chain this data connection presented: a full handshake shows
    /// one, a resumed one none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<CertVerdict>,
    /// The certificate this data connection presented, when it is not the control
    /// connection's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertInfo>,
    /// The data connection ended with a bare TCP close, without TLS close_notify.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_close_notify: bool,
}

/// A short plain-text session to compare its PASV reply with the TLS one (ALG detection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainComparison {
    pub login: Option<Login>,
    pub sample: Option<PassiveSample>,
    pub lines: Vec<Line>,
    pub failure: Option<String>,
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

/// How a TCP connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum ConnectOutcome {
    Connected,
    /// RST: nothing listens there, or a firewall rejects with a reset.
    Refused,
    /// No answer within the timeout: typically a firewall that drops.
    TimedOut,
    /// An ICMP error (host or network unreachable, prohibited).
    Unreachable(String),
    /// Any other local error.
    Error(String),
    /// Not attempted, with the reason.
    Skipped(String),
}

/// The outcome of a data connection that a client log does not show (its detail starts
/// with this).
pub const NOT_SHOWN: &str = "not shown in the log";

/// A client log that ends while the client opens its data connection.
pub const LOG_ENDS_CONNECTING: &str = "not shown in the log, which ends while the client connects";

/// A client log's data connection that the client says failed, without saying how
/// (basic-ftp's "None of the available transfer strategies work").
pub const FAILED_UNSAID: &str = "failed: the client does not say how";

impl ConnectOutcome {
    /// A client log's data connection that failed in a way the log does not tell.
    pub fn failed_unsaid(&self) -> bool {
        matches!(self, ConnectOutcome::Error(e) if e == FAILED_UNSAID)
    }

    /// A client log's data connection whose outcome the log does not show.
    pub fn not_shown(&self) -> bool {
        matches!(self, ConnectOutcome::Error(e) if e.starts_with(NOT_SHOWN))
    }

    /// A client log that stops while the client connects its data connection: the
    /// outcome is not shown, and a paste that stops there is usually one that hung there.
    pub fn log_ends_connecting(&self) -> bool {
        matches!(self, ConnectOutcome::Error(e) if e == LOG_ENDS_CONNECTING)
    }

    /// The label, or for an error its words.
    pub fn describe(&self) -> String {
        match self {
            ConnectOutcome::Error(e) => e.clone(),
            ConnectOutcome::Unreachable(e) => format!("unreachable: {e}"),
            other => other.label().to_string(),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            ConnectOutcome::Connected => "connected",
            ConnectOutcome::Refused => "refused",
            ConnectOutcome::TimedOut => "timed out",
            ConnectOutcome::Unreachable(_) => "unreachable",
            ConnectOutcome::Error(_) => "error",
            ConnectOutcome::Skipped(_) => "not tried",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// Where the connection went (`null` in JSON when a client log does not show it).
    #[serde(with = "maybe_addr")]
    pub addr: SocketAddr,
    pub outcome: ConnectOutcome,
    pub at_us: u64,
    pub elapsed_us: u64,
}

/// Direction of a control-connection line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Sent,
    Received,
}

impl Direction {
    /// `sent` or `received`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// One line on the control connection, as sent or received (password masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub at_us: u64,
    pub dir: Direction,
    /// The text, invalid UTF-8 replaced; see `raw_hex` for the bytes then.
    pub text: String,
    /// The raw bytes in hex, only when they are not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_hex: Option<String>,
}

/// A complete reply as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyRecord {
    pub code: u16,
    /// All lines joined with `\n`, invalid UTF-8 replaced.
    pub text: String,
    /// Framing anomalies the reply reader tolerated.
    pub anomalies: Vec<String>,
    /// Time from sending the command (or connecting) to the complete reply.
    pub elapsed_us: u64,
}

/// A command and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The command as sent (password masked).
    pub command: String,
    pub reply: Option<ReplyRecord>,
    /// Why no reply was recorded (timeout, connection closed, unreadable reply).
    pub failure: Option<String>,
}

/// Which phase of the session a step belongs to, for the report and the findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Dns,
    Connect,
    Greeting,
    Login,
    Pasv,
    Epsv,
    Data,
}

/// How the login went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginOutcome {
    LoggedIn,
    /// 530 or another refusal.
    Rejected,
    /// The server asked for an account (332), which the tool does not send.
    AccountRequired,
    /// The server asked for a password and none was given.
    NoPassword,
    /// No usable reply (timeout, closed).
    NoReply,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub user: String,
    pub anonymous: bool,
    /// A password was sent over the connection.
    pub password_sent: bool,
    /// The session was protected by TLS when credentials were sent.
    pub tls: bool,
    pub outcome: LoginOutcome,
    pub elapsed_us: u64,
}

impl Login {
    /// A login about to be tried: nothing sent, no reply yet.
    pub fn new(user: &str, tls: bool) -> Login {
        Login {
            user: user.to_string(),
            anonymous: crate::proto::is_anonymous(user),
            password_sent: false,
            tls,
            outcome: LoginOutcome::NoReply,
            elapsed_us: 0,
        }
    }
}

/// What a passive reply decoded to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advertised {
    pub kind: PassiveKind,
    /// The address the server named; `None` for EPSV (the control peer is meant).
    pub address: Option<IpAddr>,
    pub port: u16,
    pub flags: Vec<String>,
    /// Client families whose parser would reject this reply's shape.
    pub parse_failures: Vec<String>,
}

/// Why a data address was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The address the server advertised.
    Advertised,
    /// The control connection's peer (what curl, FileZilla's fallback and modern ftplib use).
    ControlPeer,
}

/// A test connection to a passive data port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortProbe {
    pub via: Via,
    pub attempt: Attempt,
}

/// One PASV or EPSV command, its reply, and the test connections to what it advertised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassiveSample {
    pub command: PassiveKind,
    pub exchange: Exchange,
    pub advertised: Option<Advertised>,
    /// Why the reply did not decode, when it is a 227/228/229 that did not.
    pub decode_error: Option<String>,
    pub probes: Vec<PortProbe>,
}

impl PassiveSample {
    /// A passive command the log shows only by its effect (FileZilla's "passive reply with
    /// unroutable address" without the reply): no reply, nothing decoded.
    pub fn unanswered(command: &str) -> PassiveSample {
        PassiveSample {
            command: PassiveKind::Pasv,
            exchange: Exchange {
                command: command.to_string(),
                reply: None,
                failure: Some("the reply is not in the log".to_string()),
            },
            advertised: None,
            decode_error: None,
            probes: Vec::new(),
        }
    }

    /// The passive command's name for a report: `PASV`, `EPSV`, or, for a data connection
    /// whose passive command a log does not show, what the log reader called it.
    pub fn label(&self) -> &str {
        let name = self.command.command();
        let verb = self
            .exchange
            .command
            .split_whitespace()
            .next()
            .unwrap_or("");
        if verb.eq_ignore_ascii_case(name) {
            name
        } else {
            &self.exchange.command
        }
    }

    /// A passive command's exchange with its reply decoded by the protocol core: the one
    /// place a reply becomes an [`Advertised`] (live probe and log reader alike).
    pub fn decoded(
        command: PassiveKind,
        exchange: Exchange,
        reply: Option<&crate::proto::Reply>,
    ) -> PassiveSample {
        let mut sample = PassiveSample {
            command,
            exchange,
            advertised: None,
            decode_error: None,
            probes: Vec::new(),
        };
        if let Some(reply) = reply
            && PassiveKind::from_code(reply.code).is_some()
        {
            match crate::proto::decode(reply, Some(command)) {
                Ok(p) => {
                    sample.advertised = Some(Advertised {
                        kind: p.kind,
                        address: p.address,
                        port: p.port,
                        flags: p.flags.iter().map(ToString::to_string).collect(),
                        parse_failures: crate::proto::parse_failures(&p)
                            .into_iter()
                            .map(|f| f.client.name().to_string())
                            .collect(),
                    });
                }
                Err(e) => sample.decode_error = Some(e.to_string()),
            }
        }
        sample
    }
}

/// A transfer in active mode (PORT/EPRT): the server connects back to the client. Client
/// logs show these; the live check does not make them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveTransfer {
    /// The PORT or EPRT command and the server's answer.
    pub port: Exchange,
    /// The listing or transfer command sent after it.
    pub command: Option<Exchange>,
    /// The reply that ended the transfer (226, 425, ...).
    pub completion: Option<ReplyRecord>,
}

impl ActiveTransfer {
    pub fn new(port: Exchange) -> ActiveTransfer {
        ActiveTransfer {
            port,
            command: None,
            completion: None,
        }
    }
}

/// A real transfer over a passive data connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The PASV or EPSV that opened the port.
    pub passive: PassiveSample,
    /// The data connection (absent when no address could be tried).
    pub data: Option<PortProbe>,
    /// The listing command sent, e.g. `MLSD` or `LIST /pub`.
    pub command: Option<Exchange>,
    /// The reply that ends the transfer (226, 425, 426, 451, ...).
    pub completion: Option<ReplyRecord>,
    /// Why no completion reply was recorded.
    pub completion_failure: Option<String>,
    pub bytes: u64,
    /// Time from the data connection to its first byte.
    pub first_byte_us: Option<u64>,
    /// Time from the data connection to its end.
    pub data_end_us: Option<u64>,
    /// The data stopped being read at the size limit.
    pub truncated: bool,
    /// What went wrong on the data connection itself (timeout, reset).
    pub data_error: Option<String>,
    /// TLS on this data connection (PROT P).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<DataTls>,
    /// The transfer used the last sample's port (`passive` repeats that sample) instead of
    /// a PASV/EPSV of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reuses_sample: bool,
    /// A client log that shows no reply for the transfer but the client's word that it
    /// succeeded (FileZilla's `Directory listing of "/" successful`), quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ok: Option<String>,
}

impl Transfer {
    /// A transfer opened by a passive command, with nothing recorded after it yet.
    pub fn new(passive: PassiveSample) -> Transfer {
        Transfer {
            passive,
            data: None,
            command: None,
            completion: None,
            completion_failure: None,
            bytes: 0,
            first_byte_us: None,
            data_end_us: None,
            truncated: false,
            data_error: None,
            tls: None,
            reuses_sample: false,
            client_ok: None,
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "end", content = "detail")]
pub enum SessionEnd {
    /// Every step ran.
    Completed,
    /// The control connection could not be opened.
    ConnectFailed,
    /// The server refused service (421 or another code instead of 220).
    Unavailable,
    /// The login failed; the passive checks need a login.
    LoginFailed,
    /// The server closed the control connection during this phase.
    Closed(Phase),
    /// A step timed out in this phase.
    TimedOut(Phase),
    /// The server sent bytes that do not form a reply (over-long line, not a reply).
    ProtocolError(Phase),
    /// The overall deadline ran out in this phase.
    Deadline(Phase),
    /// The TLS handshake on the control connection failed.
    TlsFailed,
    /// TLS was required (`--tls explicit`) and the server refused AUTH TLS.
    TlsRefused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSession {
    /// The server address this session checked (`null` in JSON when a client log does not
    /// show it).
    #[serde(with = "maybe_addr")]
    pub server: SocketAddr,
    /// Where the address came from: `literal` (the target is an address) or `dns`.
    pub source: String,
    pub connect: Attempt,
    /// Our end of the control connection.
    pub local: Option<SocketAddr>,
    pub lines: Vec<Line>,
    /// The greeting replies, in order (120 then 220 is possible).
    pub greeting: Vec<ReplyRecord>,
    pub feat: Option<Exchange>,
    pub syst: Option<Exchange>,
    pub login: Option<Login>,
    pub type_i: Option<Exchange>,
    pub pwd: Option<Exchange>,
    pub samples: Vec<PassiveSample>,
    pub transfers: Vec<Transfer>,
    pub end: SessionEnd,
    pub total_us: u64,
    /// TLS on the control connection, when it was used or tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ControlTls>,
    /// The plain-text comparison session, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_comparison: Option<PlainComparison>,
    /// Active-mode transfers (client logs only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<ActiveTransfer>,
}

impl ServerSession {
    /// A session with nothing recorded yet but its connection attempt.
    pub fn new(server: SocketAddr, source: &str, connect: Attempt) -> ServerSession {
        ServerSession {
            server,
            source: source.to_string(),
            connect,
            local: None,
            lines: Vec::new(),
            greeting: Vec::new(),
            feat: None,
            syst: None,
            login: None,
            type_i: None,
            pwd: None,
            samples: Vec::new(),
            transfers: Vec::new(),
            end: SessionEnd::Completed,
            total_us: 0,
            tls: None,
            plain_comparison: None,
            active: Vec::new(),
        }
    }

    /// The control connection's peer address (the unspecified address when a client log
    /// does not show it: see [`ServerSession::known_peer`]).
    pub fn peer(&self) -> IpAddr {
        self.server.ip()
    }

    /// The control connection's peer, when known (a client log may not show it).
    pub fn known_peer(&self) -> Option<IpAddr> {
        (!is_unknown(self.server)).then(|| self.server.ip())
    }

    /// The FEAT lines (without the 211 framing), trimmed.
    pub fn features(&self) -> Vec<String> {
        let Some(reply) = self.feat.as_ref().and_then(|e| e.reply.as_ref()) else {
            return Vec::new();
        };
        if reply.code != 211 {
            return Vec::new();
        }
        let lines: Vec<&str> = reply.text.lines().collect();
        if lines.len() < 2 {
            return Vec::new();
        }
        lines[1..lines.len() - 1]
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Every PASV/EPSV sent, in order: the samples, then the commands that opened the
    /// transfers (a transfer that reused a sample's port adds none).
    pub fn passive_replies(&self) -> impl Iterator<Item = &PassiveSample> {
        self.samples.iter().chain(
            self.transfers
                .iter()
                .filter(|t| !t.reuses_sample)
                .map(|t| &t.passive),
        )
    }

    /// All samples of one kind, including the PASV/EPSV that opened each transfer.
    pub fn all_samples(&self, kind: PassiveKind) -> impl Iterator<Item = &PassiveSample> {
        self.passive_replies().filter(move |s| s.command == kind)
    }
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

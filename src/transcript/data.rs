//! Data connections in the transcript: passive replies as decoded, every connection
//! attempt with its outcome, and each transfer from its command to its completion.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::*;

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
    /// Where the check listened for the server's connection (`--active`; not in logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<SocketAddr>,
    /// Where the server's connection came from (its port says whether it used port 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_from: Option<SocketAddr>,
    /// From the transfer command to the server's connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_us: Option<u64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes: u64,
    /// What went wrong on the data side (no connection from the server, a reset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_error: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ActiveTransfer {
    pub fn new(port: Exchange) -> ActiveTransfer {
        ActiveTransfer {
            port,
            command: None,
            completion: None,
            listener: None,
            data_from: None,
            connect_us: None,
            bytes: 0,
            data_error: None,
        }
    }

    /// PORT or EPRT, as sent.
    pub fn verb(&self) -> &str {
        self.port.command.split_whitespace().next().unwrap_or("")
    }

    /// How the attempt went, from its replies and (with `--active`) the check's listener.
    pub fn outcome(&self) -> ActiveOutcome {
        let code = self.port.reply.as_ref().map(|r| r.code);
        if code.is_some_and(|c| c >= 400) {
            return ActiveOutcome::Refused;
        }
        if code.is_none_or(|c| c / 100 != 2) {
            return ActiveOutcome::Unknown;
        }
        match self.completion.as_ref().map(|c| c.code / 100) {
            Some(2) => ActiveOutcome::Worked,
            Some(4..) => ActiveOutcome::Blocked,
            // The check's own listener saw no connection (`--active`).
            _ if self.listener.is_some() && self.data_from.is_none() => ActiveOutcome::Blocked,
            _ => ActiveOutcome::Unknown,
        }
    }
}

/// How one active-mode attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveOutcome {
    /// The server refused PORT/EPRT.
    Refused,
    /// The server accepted it but did not connect back (or said it could not).
    Blocked,
    /// A transfer over it completed.
    Worked,
    /// Not seen to end either way.
    Unknown,
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

/// A map of a passive port range (`--scan-range`): every port test-connected at the
/// server's address, each outcome as compressed ranges of ports, exactly as seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeScan {
    /// The address scanned: the control peer.
    pub address: IpAddr,
    pub low: u16,
    pub high: u16,
    /// Connection attempts started per second at most.
    pub rate: u32,
    /// How long the scan was expected to take before it started.
    pub estimate_us: u64,
    /// A connection opened (something listens there now).
    pub connected: Vec<(u16, u16)>,
    /// A reset (nothing listens there, or a firewall rejects with a reset).
    pub refused: Vec<(u16, u16)>,
    /// No answer within the timeout (dropped).
    pub timed_out: Vec<(u16, u16)>,
    /// An ICMP rejection or another error.
    pub unreachable: Vec<(u16, u16)>,
    /// Not tried: the deadline ran out or Ctrl-C stopped the scan first.
    pub not_tried: Vec<(u16, u16)>,
    pub elapsed_us: u64,
}

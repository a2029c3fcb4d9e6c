//! One session with one server address: its lines as exchanged, each step's exchange,
//! the login, how the session ended, and the plain-text comparison.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::*;

/// A short plain-text session to compare its PASV reply with the TLS one (ALG detection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainComparison {
    pub login: Option<Login>,
    pub sample: Option<PassiveSample>,
    pub lines: Vec<Line>,
    pub failure: Option<String>,
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
    /// Time to the complete reply from when the server could answer: the command's sending,
    /// or the arrival of the reply before it when commands were pipelined (connecting, for
    /// a greeting).
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
    /// The check was interrupted (Ctrl-C) in this phase.
    Interrupted(Phase),
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
    /// The map of the passive range, with `--scan-range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_scan: Option<RangeScan>,
    /// Active-mode transfers (client logs only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<ActiveTransfer>,
}

impl ServerSession {
    /// A session whose control connection to `server` connected, nothing more (tests).
    #[cfg(test)]
    pub fn connected(server: SocketAddr) -> ServerSession {
        let connect = Attempt {
            addr: server,
            outcome: ConnectOutcome::Connected,
            at_us: 0,
            elapsed_us: 0,
        };
        ServerSession::new(server, "literal", connect)
    }

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
            range_scan: None,
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

    /// This side's private (or CGNAT) local address, when the server's is not: the check
    /// ran behind NAT, so a connection from the server back to it says nothing of the server.
    pub fn behind_nat(&self) -> Option<IpAddr> {
        use crate::proto::AddressClass;
        let local = self.local?.ip();
        let private = |ip| {
            matches!(
                AddressClass::of(ip),
                AddressClass::Private | AddressClass::Cgnat
            )
        };
        (private(local) && !private(self.server.ip())).then_some(local)
    }

    /// The FEAT lines (without the 211 framing), trimmed.
    pub fn features(&self) -> Vec<String> {
        self.feat.as_ref().map(feat_lines).unwrap_or_default()
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

/// The lines of a FEAT answer (without the 211 framing), trimmed; none unless it is a 211.
pub fn feat_lines(feat: &Exchange) -> Vec<String> {
    let Some(reply) = feat.reply.as_ref() else {
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

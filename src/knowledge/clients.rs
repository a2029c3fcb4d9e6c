//! The client compatibility matrix: for what a check saw, which FTP client families work
//! and which break, with the reason. Each client is described by data (which command it
//! tries first, which address it connects to after PASV, which reply shapes it parses),
//! read from the client's own source (docs/clients.md); the evaluation applies those rules
//! to the transcript.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::proto::PassiveKind;
use crate::transcript::{Advertised, ConnectOutcome, ServerSession, SessionEnd, Transcript};

/// Which passive command a client uses first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    /// EPSV, then PASV when EPSV is refused.
    Epsv,
    /// PASV over IPv4, EPSV over IPv6.
    Pasv,
}

/// Where a client connects after a 227.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressRule {
    /// Always the control connection's peer.
    Peer,
    /// Always the advertised address.
    Advertised,
    /// The peer when the advertised address is unroutable (FileZilla's list) and the peer
    /// is routable; else the advertised address.
    FileZilla,
    /// The peer when the advertised address is private/loopback/reserved/multicast and of
    /// another class than the peer (lftp's `fix-pasv-address`, jlaffaye/ftp).
    Lftp,
    /// The peer when the advertised address is RFC 1918, 127.0.0.1 or 0.0.0.0.
    FluentFtp,
    /// An error when the advertised address is not the peer's.
    RefuseDifferent,
}

struct Client {
    name: &'static str,
    /// The name in the reply-shape table (`proto::compat`), when it is there.
    parser: Option<&'static str>,
    first: First,
    rule: AddressRule,
    /// Resumes the control TLS session on data connections (by default), when known:
    /// curl, FileZilla, WinSCP, lftp and basic-ftp do; Python ftplib, commons-net,
    /// jlaffaye/ftp (jlaffaye/ftp#223, #435), suppaftp (suppaftp#55) and FluentFTP with
    /// .NET's SslStream (FluentFTP#1283; its GnuTLS stream does) do not.
    tls_reuse: Option<bool>,
}

const CLIENTS: &[Client] = &[
    Client {
        name: "FileZilla",
        parser: Some("FileZilla"),
        first: First::Pasv,
        rule: AddressRule::FileZilla,
        tls_reuse: Some(true),
    },
    Client {
        name: "WinSCP",
        parser: Some("FileZilla"),
        first: First::Pasv,
        rule: AddressRule::FileZilla,
        tls_reuse: Some(true),
    },
    Client {
        name: "curl >= 7.74",
        parser: Some("curl"),
        first: First::Epsv,
        rule: AddressRule::Peer,
        tls_reuse: Some(true),
    },
    Client {
        name: "curl <= 7.73",
        parser: Some("curl"),
        first: First::Epsv,
        rule: AddressRule::Advertised,
        tls_reuse: Some(true),
    },
    Client {
        name: "Python ftplib >= 3.9.3",
        parser: Some("Python ftplib"),
        first: First::Pasv,
        rule: AddressRule::Peer,
        tls_reuse: Some(false),
    },
    Client {
        name: "Python ftplib (older)",
        parser: Some("Python ftplib"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
        tls_reuse: Some(false),
    },
    Client {
        name: "lftp",
        parser: Some("lftp"),
        first: First::Pasv,
        rule: AddressRule::Lftp,
        tls_reuse: Some(true),
    },
    Client {
        name: "Apache commons-net >= 3.9",
        parser: Some("Apache commons-net"),
        first: First::Pasv,
        rule: AddressRule::Peer,
        tls_reuse: Some(false),
    },
    Client {
        name: "Go jlaffaye/ftp",
        parser: Some("Go jlaffaye/ftp"),
        first: First::Epsv,
        rule: AddressRule::Lftp,
        tls_reuse: Some(false),
    },
    Client {
        name: "Rust suppaftp",
        parser: Some("Rust suppaftp"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
        tls_reuse: Some(false),
    },
    Client {
        name: "Node basic-ftp 6",
        parser: Some("Node basic-ftp"),
        first: First::Epsv,
        rule: AddressRule::RefuseDifferent,
        tls_reuse: Some(true),
    },
    Client {
        name: "FluentFTP",
        parser: None,
        first: First::Epsv,
        rule: AddressRule::FluentFtp,
        tls_reuse: Some(false),
    },
    Client {
        name: "GNU wget",
        parser: Some("GNU wget"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
        tls_reuse: None,
    },
];

/// Whether a client works, as far as the check or the log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Works {
    Yes,
    No,
    /// Not tested: the address it would use was not contacted, the reply it needs is not
    /// in the log, or the command it tries first was not tried.
    Unknown,
}

impl Works {
    /// As the reports print it.
    pub fn label(self) -> &'static str {
        match self {
            Works::Yes => "yes",
            Works::No => "no",
            Works::Unknown => "unknown (not tested)",
        }
    }
}

/// One row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientVerdict {
    pub name: String,
    pub works: Works,
    pub reason: String,
}

/// Every client family the matrix judges, by its row name (what `Finding::breaks` holds).
pub fn names() -> impl Iterator<Item = &'static str> {
    CLIENTS.iter().map(|c| c.name)
}

/// The rows whose parser is one of these families (`Advertised::parse_failures`), among
/// the clients that read a reply of this kind (`Pasv` or `Epsv` first, or `Pasv` after a
/// refused EPSV when `epsv_refused`).
pub fn parsing_with(families: &[String], kind: PassiveKind, epsv_refused: bool) -> Vec<String> {
    CLIENTS
        .iter()
        .filter(|c| c.parser.is_some_and(|p| families.iter().any(|f| f == p)))
        .filter(|c| match kind {
            PassiveKind::Epsv => c.first == First::Epsv,
            _ => c.first == First::Pasv || epsv_refused,
        })
        .map(|c| c.name.to_string())
        .collect()
}

/// The rows of clients that read a reply of this kind in this session: PASV-first clients
/// for a 227 (and EPSV-first ones once EPSV was refused), EPSV-first ones for a 229.
pub fn reading(s: &ServerSession, kind: PassiveKind) -> Vec<String> {
    let epsv_refused = refused(s, PassiveKind::Epsv);
    CLIENTS
        .iter()
        .filter(|c| match kind {
            PassiveKind::Epsv => c.first == First::Epsv || s.server.is_ipv6(),
            _ => !s.server.is_ipv6() && (c.first == First::Pasv || epsv_refused),
        })
        .map(|c| c.name.to_string())
        .collect()
}

/// Whether the server refused EPSV in this session (so EPSV-first clients go on to PASV).
pub fn epsv_refused(s: &ServerSession) -> bool {
    refused(s, PassiveKind::Epsv)
}

/// The rows of clients that do not resume the control connection's TLS session on data
/// connections (they fail where the server requires it; docs/clients.md).
pub fn without_tls_reuse() -> Vec<String> {
    CLIENTS
        .iter()
        .filter(|c| c.tls_reuse == Some(false))
        .map(|c| c.name.to_string())
        .collect()
}

/// The rows of clients that refuse a certificate that does not verify, by default (curl,
/// lftp's `ssl:verify-certificate`); FileZilla and WinSCP ask the user instead.
pub fn verifying_certificates() -> Vec<String> {
    CLIENTS
        .iter()
        .filter(|c| c.name.starts_with("curl") || c.name == "lftp")
        .map(|c| c.name.to_string())
        .collect()
}

/// The rows of clients that fail a transfer whose TLS ends without close_notify
/// (FileZilla's "Server did not properly shut down TLS connection", WinSCP likewise).
pub fn strict_close_notify() -> Vec<String> {
    ["FileZilla", "WinSCP"]
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn v4_in(ip: IpAddr, nets: &[(u8, u8, u8, u8, u8)]) -> bool {
    let IpAddr::V4(v4) = ip else { return false };
    nets.iter().any(|&(a, b, c, d, len)| {
        ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(a, b, c, d), len).is_ok_and(|n| n.contains(&v4))
    })
}

/// FileZilla's and WinSCP's "unroutable" list (rawtransfer.cpp). Not CGNAT, not 198.18/15.
pub fn filezilla_unroutable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => v4_in(
            ip,
            &[
                (127, 0, 0, 0, 8),
                (10, 0, 0, 0, 8),
                (172, 16, 0, 0, 12),
                (192, 168, 0, 0, 16),
                (169, 254, 0, 0, 16),
                (0, 0, 0, 0, 8),
            ],
        ),
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_loopback()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}

/// A client's data-connection timeout in seconds when its log does not say: FileZilla's
/// default is 20 s (Settings > Connection), WinSCP's 15 s (and NetBox's, its port).
pub fn default_timeout_s(client: &str) -> Option<f64> {
    match client {
        "FileZilla" => Some(20.0),
        "WinSCP" | "NetBox" => Some(15.0),
        _ => None,
    }
}

/// Whether a client replaces an unroutable PASV address with the server's own address
/// whenever that is routable, whether or not its log says so (FileZilla's and WinSCP's
/// rawtransfer rule, above); other clients say when they do.
pub fn substitutes_unroutable(client: &str) -> bool {
    matches!(client, "FileZilla" | "WinSCP" | "NetBox")
}

/// lftp's classes: private, loopback, reserved, multicast, else public.
fn lftp_class(ip: IpAddr) -> u8 {
    if v4_in(
        ip,
        &[
            (10, 0, 0, 0, 8),
            (172, 16, 0, 0, 12),
            (192, 168, 0, 0, 16),
            (169, 254, 0, 0, 16),
        ],
    ) {
        1
    } else if ip.is_loopback() {
        2
    } else if v4_in(ip, &[(0, 0, 0, 0, 8), (240, 0, 0, 0, 4)]) {
        3
    } else if ip.is_multicast() {
        4
    } else {
        0
    }
}

/// An advertised address that a client which reached the server at `peer` cannot reach:
/// private, shared (CGNAT), loopback, link-local, ULA or unspecified, and not of the
/// peer's own class (a client on the server's LAN reaches a LAN address).
fn unreachable_from(adv: IpAddr, peer: IpAddr) -> bool {
    use crate::proto::{AddressClass, classify_effective};
    let class = classify_effective(adv);
    !peer.is_unspecified()
        && (class.is_local_only() || class == AddressClass::Unspecified)
        && class != classify_effective(peer)
}

/// The rows of clients that, in this session, connect to the PASV reply's `ip` (or
/// refuse it) rather than to the server's address or over EPSV: the clients an address
/// finding about `ip` concerns.
pub fn connecting_to_advertised(s: &ServerSession, ip: IpAddr) -> Vec<String> {
    if s.server.is_ipv6() || ip == s.peer() {
        return Vec::new();
    }
    let epsv_refused = refused(s, PassiveKind::Epsv);
    CLIENTS
        .iter()
        .filter(|c| c.first == First::Pasv || epsv_refused)
        .filter(|c| match pasv_target(c.rule, ip, s.peer()) {
            Ok(target) => target == ip,
            Err(_) => true,
        })
        .map(|c| c.name.to_string())
        .collect()
}

/// Where a client following `rule` connects after a 227 naming `adv`.
fn pasv_target(rule: AddressRule, adv: IpAddr, peer: IpAddr) -> Result<IpAddr, String> {
    let to_peer = Ok(peer);
    match rule {
        _ if adv == peer => to_peer,
        AddressRule::Peer => to_peer,
        AddressRule::Advertised => Ok(adv),
        AddressRule::FileZilla if filezilla_unroutable(adv) && !filezilla_unroutable(peer) => {
            to_peer
        }
        AddressRule::FileZilla => Ok(adv),
        AddressRule::Lftp if lftp_class(adv) != 0 && lftp_class(adv) != lftp_class(peer) => to_peer,
        AddressRule::Lftp => Ok(adv),
        AddressRule::FluentFtp
            if v4_in(
                adv,
                &[
                    (10, 0, 0, 0, 8),
                    (172, 16, 0, 0, 12),
                    (192, 168, 0, 0, 16),
                    (127, 0, 0, 1, 32),
                    (0, 0, 0, 0, 32),
                ],
            ) =>
        {
            to_peer
        }
        AddressRule::FluentFtp => Ok(adv),
        AddressRule::RefuseDifferent => Err(format!(
            "it refuses a PASV address ({adv}) other than the server's ({peer})"
        )),
    }
}

/// A client's result at one server address, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Judged {
    Yes(String),
    No(String),
    Unknown(String),
}

impl Judged {
    fn works(&self) -> Works {
        match self {
            Judged::Yes(_) => Works::Yes,
            Judged::No(_) => Works::No,
            Judged::Unknown(_) => Works::Unknown,
        }
    }

    fn reason(&self) -> &str {
        match self {
            Judged::Yes(r) | Judged::No(r) | Judged::Unknown(r) => r,
        }
    }
}

/// An address for the reason text: the server's, when a log does not show it.
fn show(ip: IpAddr) -> String {
    if ip.is_unspecified() {
        "the server's address (not in the log)".to_string()
    } else {
        ip.to_string()
    }
}

/// Whether data connections of `kind` to `ip` worked, from the transfer if it went there,
/// else from the test connections: `None` when nothing was tried there, or a log does not
/// show how it went.
fn path_ok(s: &ServerSession, kind: PassiveKind, ip: IpAddr) -> Option<bool> {
    for t in s.transfers.iter().filter(|t| t.passive.command == kind) {
        let Some(d) = t.data.as_ref().filter(|d| d.attempt.addr.ip() == ip) else {
            continue;
        };
        let failed = t.data_error.is_some() || t.completion.as_ref().is_some_and(|r| r.code >= 400);
        let done = d.attempt.outcome == ConnectOutcome::Connected
            && (t.completion.as_ref().is_some_and(|r| r.code / 100 == 2) || t.client_ok.is_some())
            && t.data_error.is_none();
        if d.attempt.outcome.not_shown() && !failed {
            continue;
        }
        return Some(done);
    }
    let outcomes: Vec<&ConnectOutcome> = s
        .samples
        .iter()
        .filter(|x| x.command == kind)
        .flat_map(|x| x.probes.iter())
        .filter(|p| p.attempt.addr.ip() == ip)
        .map(|p| &p.attempt.outcome)
        .filter(|o| !matches!(o, ConnectOutcome::Skipped(_)))
        .collect();
    if outcomes.is_empty() {
        return None;
    }
    Some(outcomes.iter().any(|o| **o == ConnectOutcome::Connected))
}

/// The first decoded reply of a kind.
fn first_advertised(s: &ServerSession, kind: PassiveKind) -> Option<&Advertised> {
    s.all_samples(kind).find_map(|x| x.advertised.as_ref())
}

/// The server answered the command, and with a refusal (no passive reply).
fn refused(s: &ServerSession, kind: PassiveKind) -> bool {
    first_advertised(s, kind).is_none()
        && s.all_samples(kind).any(|x| {
            x.exchange
                .reply
                .as_ref()
                .is_some_and(|r| PassiveKind::from_code(r.code).is_none())
        })
}

/// Why there is no decoded reply of a kind: refused, or (in a client's log) never sent or
/// its reply not shown or redacted.
fn not_offered(s: &ServerSession, kind: PassiveKind) -> Judged {
    let cmd = kind.command();
    if refused(s, kind) {
        Judged::No(format!("the server refuses {cmd}"))
    } else if s.all_samples(kind).any(|x| x.decode_error.is_some()) {
        Judged::No(format!("the server's {cmd} reply cannot be decoded"))
    } else if s.all_samples(kind).next().is_none() {
        Judged::Unknown(format!("{cmd} was not tried"))
    } else if s.all_samples(kind).all(|x| x.exchange.reply.is_none()) {
        Judged::Unknown(format!("the reply to {cmd} is not in the log"))
    } else {
        Judged::Unknown(format!("the {cmd} reply is redacted in the log"))
    }
}

/// What a data path result means for a client that connects there.
fn by_path(found: Option<bool>, how: String, untested: String) -> Judged {
    match found {
        Some(true) => Judged::Yes(format!("{how}, which works")),
        Some(false) => Judged::No(format!("{how}, where the data connection fails")),
        None => Judged::Unknown(format!("{how}; {untested}")),
    }
}

fn via_pasv(c: &Client, s: &ServerSession, log: bool) -> Judged {
    let peer = s.peer();
    let Some(adv) = first_advertised(s, PassiveKind::Pasv) else {
        return not_offered(s, PassiveKind::Pasv);
    };
    if c.parser
        .is_some_and(|p| adv.parse_failures.iter().any(|f| f == p))
    {
        return Judged::No("it cannot parse the server's 227 reply".to_string());
    }
    if adv.address.is_none() && adv.flags.iter().any(|f| f == "address_redacted") {
        return Judged::Unknown("the PASV address is redacted in the log".to_string());
    }
    let adv = adv.address.unwrap_or(peer);
    let target = match pasv_target(c.rule, adv, peer) {
        Ok(t) => t,
        Err(e) => return Judged::No(e),
    };
    let how = if target == adv && adv != peer {
        format!("PASV: it connects to the advertised {}", show(adv))
    } else if adv != peer {
        format!(
            "PASV: it ignores the advertised {adv} and connects to {}",
            show(peer)
        )
    } else {
        format!("PASV: it connects to {}", show(peer))
    };
    // A private, loopback or unspecified address of another class than the server's own
    // cannot be reached from where the server was reached: no test is needed.
    if target == adv && adv != peer && unreachable_from(adv, peer) {
        return Judged::No(format!(
            "{how}, a {} address that clients outside the server's network cannot reach",
            crate::proto::classify_effective(adv)
                .as_str()
                .replace('_', "-")
        ));
    }
    let untested = match (log, target == peer) {
        (true, _) => "the log does not show a data connection there".to_string(),
        (false, true) => "no data connection there was tested".to_string(),
        (false, false) => {
            "this check did not contact that address (--probe-advertised tests it)".to_string()
        }
    };
    by_path(path_ok(s, PassiveKind::Pasv, target), how, untested)
}

fn via_epsv(c: &Client, s: &ServerSession, log: bool) -> Judged {
    let Some(adv) = first_advertised(s, PassiveKind::Epsv) else {
        return not_offered(s, PassiveKind::Epsv);
    };
    if c.parser
        .is_some_and(|p| adv.parse_failures.iter().any(|f| f == p))
    {
        return Judged::No("it cannot parse the server's 229 reply".to_string());
    }
    let untested = if log {
        "the log does not show a data connection there"
    } else {
        "no data connection there was tested"
    };
    by_path(
        path_ok(s, PassiveKind::Epsv, s.peer()),
        format!("EPSV: it connects to {}", show(s.peer())),
        untested.to_string(),
    )
}

/// The server requires data connections to resume the control TLS session: a fresh
/// session's data connection failed while a resumed one completed.
fn reuse_required(s: &ServerSession) -> bool {
    let ok = |tr: &crate::transcript::Transfer| {
        tr.completion.as_ref().is_some_and(|r| r.code / 100 == 2) && tr.data_error.is_none()
    };
    let resumed_ok = s
        .transfers
        .iter()
        .any(|tr| tr.tls.as_ref().is_some_and(|d| !d.fresh_session) && ok(tr));
    let fresh_failed = s
        .transfers
        .iter()
        .any(|tr| tr.tls.as_ref().is_some_and(|d| d.fresh_session) && !ok(tr));
    resumed_ok && fresh_failed
}

fn evaluate(c: &Client, s: &ServerSession, partial: bool, log: bool) -> Judged {
    let judged = match (c.first, s.server.is_ipv6()) {
        (_, true) => via_epsv(c, s, log),
        (First::Pasv, false) => via_pasv(c, s, log),
        (First::Epsv, false) => match via_epsv(c, s, log) {
            Judged::No(e) if refused(s, PassiveKind::Epsv) => match via_pasv(c, s, log) {
                Judged::Yes(p) => Judged::Yes(format!("{e}; then {p}")),
                Judged::No(p) => Judged::No(format!("{e}; then {p}")),
                Judged::Unknown(p) => Judged::Unknown(format!("{e}; then {p}")),
            },
            // It tries EPSV first: what the server does with it decides.
            Judged::Unknown(e) if first_advertised(s, PassiveKind::Epsv).is_none() => {
                Judged::Unknown(format!("{e}, which it tries first"))
            }
            other => other,
        },
    };
    match judged {
        Judged::Yes(_) if partial => Judged::No(
            "transfers fail whenever the server picks a passive port that is not forwarded"
                .to_string(),
        ),
        Judged::Yes(r) if reuse_required(s) => match c.tls_reuse {
            Some(true) => Judged::Yes(format!("{r}; it resumes the TLS session, as required")),
            Some(false) => Judged::No(
                "the server requires data connections to resume the TLS session, which it \
                 does not do"
                    .to_string(),
            ),
            None => Judged::Unknown(
                "the server requires TLS session reuse; whether this client does is not known"
                    .to_string(),
            ),
        },
        other => other,
    }
}

/// Whether the session got as far as passive replies: a session that failed before (a
/// refused connection, a wrong password) tells nothing about clients' data connections.
fn reached_data(s: &ServerSession) -> bool {
    !matches!(
        s.end,
        SessionEnd::ConnectFailed | SessionEnd::Unavailable | SessionEnd::LoginFailed
    ) && s.passive_replies().any(|x| x.exchange.reply.is_some())
}

/// The matrix for a transcript and its findings. Only server addresses whose session got
/// to passive replies count (an address that refused the connection says nothing about
/// data connections); when they disagree the reason names each address, and a client
/// works only if it works with every one (a round-robin client may land on any). A
/// finding that names a client in `breaks` makes its row "no": the two never disagree.
/// Empty when no address got that far.
pub fn compatibility(
    t: &Transcript,
    partial_range: bool,
    findings: &[crate::finding::Finding],
) -> Vec<ClientVerdict> {
    let servers: Vec<&ServerSession> = t.servers.iter().filter(|s| reached_data(s)).collect();
    if servers.is_empty() {
        return Vec::new();
    }
    let log = t.client_log.is_some();
    CLIENTS
        .iter()
        .map(|c| {
            let rows: Vec<(IpAddr, Judged)> = servers
                .iter()
                .map(|s| (s.peer(), evaluate(c, s, partial_range, log)))
                .collect();
            let works = if rows.iter().any(|(_, j)| j.works() == Works::No) {
                Works::No
            } else if rows.iter().any(|(_, j)| j.works() == Works::Unknown) {
                Works::Unknown
            } else {
                Works::Yes
            };
            let same = rows.windows(2).all(|w| w[0].1 == w[1].1);
            let reason = if same {
                rows[0].1.reason().to_string()
            } else {
                rows.iter()
                    .map(|(ip, j)| format!("{}: {} ({})", show(*ip), j.works().label(), j.reason()))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let mut row = ClientVerdict {
                name: c.name.to_string(),
                works,
                reason,
            };
            if let Some(f) = findings
                .iter()
                .find(|f| f.breaks.iter().any(|b| b == c.name))
            {
                if row.works != Works::No {
                    row.reason = format!("{}: {}", f.code, f.title);
                }
                row.works = Works::No;
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn address_rules_follow_each_client() {
        let public = ip("93.184.216.34");
        let private = ip("10.0.0.5");
        let cgnat = ip("100.64.1.2");
        assert_eq!(
            pasv_target(AddressRule::FileZilla, private, public),
            Ok(public)
        );
        assert_eq!(
            pasv_target(AddressRule::FileZilla, cgnat, public),
            Ok(cgnat)
        );
        // FileZilla keeps the advertised address when the server's own is unroutable too.
        assert_eq!(
            pasv_target(AddressRule::FileZilla, private, ip("127.0.0.1")),
            Ok(private)
        );
        assert_eq!(pasv_target(AddressRule::Lftp, private, public), Ok(public));
        assert_eq!(pasv_target(AddressRule::Lftp, cgnat, public), Ok(cgnat));
        assert_eq!(
            pasv_target(AddressRule::Lftp, ip("10.0.0.5"), ip("10.0.0.1")),
            Ok(private)
        );
        assert_eq!(
            pasv_target(AddressRule::FluentFtp, ip("0.0.0.0"), public),
            Ok(public)
        );
        assert_eq!(
            pasv_target(AddressRule::Advertised, private, public),
            Ok(private)
        );
        assert!(pasv_target(AddressRule::RefuseDifferent, private, public).is_err());
        assert_eq!(
            pasv_target(AddressRule::RefuseDifferent, public, public),
            Ok(public)
        );
    }
}

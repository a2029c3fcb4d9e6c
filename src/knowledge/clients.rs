//! The client compatibility matrix: for what a check saw, which FTP client families work
//! and which break, with the reason. Each client is described by data (which command it
//! tries first, which address it connects to after PASV, which reply shapes it parses),
//! read from the client's own source (docs/clients.md); the evaluation applies those rules
//! to the transcript.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::proto::PassiveKind;
use crate::transcript::{ConnectOutcome, ServerSession, SessionEnd, Transcript};

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
}

const CLIENTS: &[Client] = &[
    Client {
        name: "FileZilla",
        parser: Some("FileZilla"),
        first: First::Pasv,
        rule: AddressRule::FileZilla,
    },
    Client {
        name: "WinSCP",
        parser: Some("FileZilla"),
        first: First::Pasv,
        rule: AddressRule::FileZilla,
    },
    Client {
        name: "curl >= 7.74",
        parser: Some("curl"),
        first: First::Epsv,
        rule: AddressRule::Peer,
    },
    Client {
        name: "curl <= 7.73",
        parser: Some("curl"),
        first: First::Epsv,
        rule: AddressRule::Advertised,
    },
    Client {
        name: "Python ftplib >= 3.9.3",
        parser: Some("Python ftplib"),
        first: First::Pasv,
        rule: AddressRule::Peer,
    },
    Client {
        name: "Python ftplib (older)",
        parser: Some("Python ftplib"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
    },
    Client {
        name: "lftp",
        parser: Some("lftp"),
        first: First::Pasv,
        rule: AddressRule::Lftp,
    },
    Client {
        name: "Apache commons-net >= 3.9",
        parser: Some("Apache commons-net"),
        first: First::Pasv,
        rule: AddressRule::Peer,
    },
    Client {
        name: "Go jlaffaye/ftp",
        parser: Some("Go jlaffaye/ftp"),
        first: First::Epsv,
        rule: AddressRule::Lftp,
    },
    Client {
        name: "Rust suppaftp",
        parser: Some("Rust suppaftp"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
    },
    Client {
        name: "Node basic-ftp 6",
        parser: Some("Node basic-ftp"),
        first: First::Epsv,
        rule: AddressRule::RefuseDifferent,
    },
    Client {
        name: "FluentFTP",
        parser: None,
        first: First::Epsv,
        rule: AddressRule::FluentFtp,
    },
    Client {
        name: "GNU wget",
        parser: Some("GNU wget"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
    },
];

/// One row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientVerdict {
    pub name: String,
    pub works: bool,
    pub reason: String,
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

/// Whether data connections of `kind` to `ip` worked, from the transfer if it went there,
/// else from the test connections: `None` when nothing was tried there.
fn path_ok(s: &ServerSession, kind: PassiveKind, ip: IpAddr) -> Option<bool> {
    for t in s.transfers.iter().filter(|t| t.passive.command == kind) {
        if let Some(d) = &t.data
            && d.attempt.addr.ip() == ip
        {
            let done = d.attempt.outcome == ConnectOutcome::Connected
                && t.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
                && t.data_error.is_none();
            return Some(done);
        }
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

/// The first decoded reply of a kind: its advertised address and the parsers that reject it.
fn first_advertised(s: &ServerSession, kind: PassiveKind) -> Option<(Option<IpAddr>, Vec<String>)> {
    s.all_samples(kind)
        .find_map(|x| x.advertised.as_ref())
        .map(|a| (a.address, a.parse_failures.clone()))
}

/// Why there is no decoded reply of a kind: refused, or (in a client's log) never sent or
/// its reply not shown.
fn not_offered(s: &ServerSession, kind: PassiveKind) -> String {
    if s.all_samples(kind).next().is_none() {
        format!("{} was not tried, so this is unknown", kind.command())
    } else if s.all_samples(kind).all(|x| x.exchange.reply.is_none()) {
        format!(
            "the reply to {} is not in the log, so this is unknown",
            kind.command()
        )
    } else if s.all_samples(kind).any(|x| {
        x.decode_error.is_none()
            && x.exchange
                .reply
                .as_ref()
                .is_some_and(|r| PassiveKind::from_code(r.code).is_some())
    }) {
        // A passive reply that decoded to nothing: the user redacted it in the log.
        format!(
            "the {} reply is redacted in the log, so this is unknown",
            kind.command()
        )
    } else {
        format!("the server refuses {}", kind.command())
    }
}

fn via_pasv(c: &Client, s: &ServerSession) -> Result<String, String> {
    let peer = s.peer();
    let Some((adv, failures)) = first_advertised(s, PassiveKind::Pasv) else {
        return Err(not_offered(s, PassiveKind::Pasv));
    };
    if let Some(p) = c.parser
        && failures.iter().any(|f| f == p)
    {
        return Err("it cannot parse the server's 227 reply".to_string());
    }
    let adv = adv.unwrap_or(peer);
    let target = pasv_target(c.rule, adv, peer)?;
    let how = if target == adv && adv != peer {
        format!("it connects to the advertised {adv}")
    } else if adv != peer {
        format!("it ignores the advertised {adv} and connects to {peer}")
    } else {
        format!("it connects to {peer}")
    };
    match path_ok(s, PassiveKind::Pasv, target) {
        Some(true) => Ok(format!("PASV: {how}, which works")),
        Some(false) => Err(format!("PASV: {how}, where the data connection fails")),
        None if target == peer => Err(format!(
            "PASV: {how}; the data path there was not confirmed"
        )),
        None => Err(format!(
            "PASV: {how}, which is not the server's address (not contacted by this check)"
        )),
    }
}

fn via_epsv(s: &ServerSession) -> Result<String, String> {
    if first_advertised(s, PassiveKind::Epsv).is_none() {
        return Err(not_offered(s, PassiveKind::Epsv));
    }
    match path_ok(s, PassiveKind::Epsv, s.peer()) {
        Some(true) => Ok(format!("EPSV: it connects to {}, which works", s.peer())),
        Some(false) => Err(format!("EPSV: the data connection to {} fails", s.peer())),
        None => Err("EPSV: the data path was not confirmed".to_string()),
    }
}

fn evaluate(c: &Client, s: &ServerSession, partial: bool) -> ClientVerdict {
    let verdict = |works: bool, reason: String| ClientVerdict {
        name: c.name.to_string(),
        works,
        reason,
    };
    if !matches!(s.end, SessionEnd::Completed) {
        return verdict(
            false,
            "the session did not get as far as data connections".to_string(),
        );
    }
    let v6 = s.server.is_ipv6();
    let result = match (c.first, v6) {
        (_, true) => via_epsv(s),
        (First::Pasv, false) => via_pasv(c, s),
        (First::Epsv, false) => match via_epsv(s) {
            Ok(r) => Ok(r),
            Err(e) if first_advertised(s, PassiveKind::Epsv).is_none() => {
                via_pasv(c, s).map_err(|p| format!("{e}; then {p}"))
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(_) if partial => verdict(
            false,
            "transfers fail whenever the server picks a passive port that is not forwarded"
                .to_string(),
        ),
        Ok(r) => verdict(true, r),
        Err(r) => verdict(false, r),
    }
}

/// The matrix for a transcript: a client works only if it works with every server address
/// checked (a round-robin client may land on any); the reason is the first failing one's.
pub fn compatibility(t: &Transcript, partial_range: bool) -> Vec<ClientVerdict> {
    // Nothing to judge clients by when no PASV/EPSV was answered (a failed login, a log
    // fragment without the replies): no table rather than a column of guesses.
    let answered = t
        .servers
        .iter()
        .flat_map(ServerSession::passive_replies)
        .any(|x| x.exchange.reply.is_some());
    if !answered {
        return Vec::new();
    }
    CLIENTS
        .iter()
        .map(|c| {
            let mut rows = t.servers.iter().map(|s| evaluate(c, s, partial_range));
            let first = rows.next().unwrap_or(ClientVerdict {
                name: c.name.to_string(),
                works: false,
                reason: "no server address could be checked".to_string(),
            });
            rows.find(|r| !r.works)
                .filter(|_| first.works)
                .unwrap_or(first)
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

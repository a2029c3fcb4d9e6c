//! What FTP clients do, as data: which command each family tries first, where it connects
//! after a 227, which reply shapes it parses, whether it resumes TLS sessions and verifies
//! certificates (read from each client's own source; ../shared/reference/clients.md), and
//! the questions the findings ask of it (which rows read this reply, go to this address,
//! fail this TLS behaviour). The matrix that applies it to a transcript is [`matrix`].

use std::net::IpAddr;

use crate::proto::PassiveKind;
use crate::transcript::{Advertised, ServerSession};

mod matrix;

pub use matrix::{ClientVerdict, Works, compatibility};

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
    /// Retries in active mode (PORT/EPRT) when the server refuses the passive command or
    /// sends a reply it cannot read: FileZilla's "Allow transfermode fallback" (on by
    /// default; engine_options.cpp, ftp/rawtransfer.cpp) and lftp's "Switching passive
    /// mode off" (src/ftpclass.cc).
    active_fallback: bool,
}

const CLIENTS: &[Client] = &[
    Client {
        name: "FileZilla",
        parser: Some("FileZilla"),
        first: First::Pasv,
        rule: AddressRule::FileZilla,
        tls_reuse: Some(true),
        active_fallback: true,
    },
    Client {
        name: "WinSCP",
        parser: Some("FileZilla"),
        first: First::Pasv,
        rule: AddressRule::FileZilla,
        tls_reuse: Some(true),
        active_fallback: false,
    },
    Client {
        name: "curl >= 7.74",
        parser: Some("curl"),
        first: First::Epsv,
        rule: AddressRule::Peer,
        tls_reuse: Some(true),
        active_fallback: false,
    },
    Client {
        name: "curl <= 7.73",
        parser: Some("curl"),
        first: First::Epsv,
        rule: AddressRule::Advertised,
        tls_reuse: Some(true),
        active_fallback: false,
    },
    Client {
        name: "Python ftplib >= 3.9.3",
        parser: Some("Python ftplib"),
        first: First::Pasv,
        rule: AddressRule::Peer,
        tls_reuse: Some(false),
        active_fallback: false,
    },
    Client {
        name: "Python ftplib (older)",
        parser: Some("Python ftplib"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
        tls_reuse: Some(false),
        active_fallback: false,
    },
    Client {
        name: "lftp",
        parser: Some("lftp"),
        first: First::Pasv,
        rule: AddressRule::Lftp,
        tls_reuse: Some(true),
        active_fallback: true,
    },
    Client {
        name: "Apache commons-net >= 3.9",
        parser: Some("Apache commons-net"),
        first: First::Pasv,
        rule: AddressRule::Peer,
        tls_reuse: Some(false),
        active_fallback: false,
    },
    Client {
        name: "Go jlaffaye/ftp",
        parser: Some("Go jlaffaye/ftp"),
        first: First::Epsv,
        rule: AddressRule::Lftp,
        tls_reuse: Some(false),
        active_fallback: false,
    },
    Client {
        name: "Rust suppaftp",
        parser: Some("Rust suppaftp"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
        tls_reuse: Some(false),
        active_fallback: false,
    },
    Client {
        name: "Node basic-ftp 6",
        parser: Some("Node basic-ftp"),
        first: First::Epsv,
        rule: AddressRule::RefuseDifferent,
        tls_reuse: Some(true),
        active_fallback: false,
    },
    Client {
        name: "FluentFTP",
        parser: None,
        first: First::Epsv,
        rule: AddressRule::FluentFtp,
        tls_reuse: Some(false),
        active_fallback: false,
    },
    Client {
        name: "GNU wget",
        parser: Some("GNU wget"),
        first: First::Pasv,
        rule: AddressRule::Advertised,
        tls_reuse: None,
        active_fallback: false,
    },
];

/// How active mode went for FileZilla's and lftp's fallback, which sends PORT on IPv4 and
/// EPRT on IPv6: `Some(true)` when such an attempt completed and none failed, `Some(false)`
/// when the server refused it or could not connect back, `None` when it was not tried, or
/// failed only because the check itself sits behind NAT (that says nothing of a client
/// elsewhere). Attempts with the other command count only when there are none with this one.
pub fn active_result(s: &ServerSession) -> Option<bool> {
    use crate::transcript::ActiveOutcome;
    let verb = if s.server.is_ipv6() { "EPRT" } else { "PORT" };
    let own = s.active.iter().any(|a| a.verb().eq_ignore_ascii_case(verb));
    let outcomes: Vec<ActiveOutcome> = s
        .active
        .iter()
        .filter(|a| !own || a.verb().eq_ignore_ascii_case(verb))
        .map(|a| a.outcome())
        .collect();
    let blocked = outcomes.contains(&ActiveOutcome::Blocked);
    if outcomes.contains(&ActiveOutcome::Refused) || (blocked && s.behind_nat().is_none()) {
        Some(false)
    } else if blocked {
        None
    } else {
        outcomes.contains(&ActiveOutcome::Worked).then_some(true)
    }
}

/// `names` without the clients that retry in active mode, unless active mode was seen to
/// fail: a finding about the passive reply does not break them by itself.
pub fn without_active_fallback(s: &ServerSession, names: Vec<String>) -> Vec<String> {
    let failed = active_result(s) == Some(false);
    names
        .into_iter()
        .filter(|n| failed || !CLIENTS.iter().any(|c| c.name == n && c.active_fallback))
        .collect()
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
/// connections (they fail where the server requires it).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{ActiveOutcome, ActiveTransfer, Exchange};

    fn attempt(command: &str, code: u16, done: Option<u16>) -> ActiveTransfer {
        let reply = |code: u16| crate::transcript::ReplyRecord {
            code,
            text: format!("{code} x"),
            anomalies: Vec::new(),
            elapsed_us: 0,
        };
        let mut a = ActiveTransfer::new(Exchange {
            command: command.to_string(),
            reply: Some(reply(code)),
            failure: None,
        });
        a.completion = done.map(reply);
        a
    }

    fn session(server: &str, active: Vec<ActiveTransfer>) -> ServerSession {
        let mut s = ServerSession::connected(server.parse().unwrap());
        s.active = active;
        s
    }

    #[test]
    fn the_fallback_is_judged_by_the_command_the_client_sends() {
        let eprt_refused = attempt("EPRT |1|192.0.2.9|5000|", 500, None);
        let port_worked = attempt("PORT 192,0,2,9,19,137", 200, Some(226));
        assert_eq!(eprt_refused.outcome(), ActiveOutcome::Refused);
        assert_eq!(port_worked.outcome(), ActiveOutcome::Worked);
        assert_eq!(
            attempt("PORT 1,2,3,4,5,6", 200, Some(425)).outcome(),
            ActiveOutcome::Blocked
        );
        // On IPv4 FileZilla and lftp send PORT: a refused EPRT says nothing of them.
        let v4 = session("192.0.2.1:21", vec![eprt_refused.clone(), port_worked]);
        assert_eq!(active_result(&v4), Some(true));
        // Only EPRT seen: it is what there is to judge by.
        let only_eprt = session("192.0.2.1:21", vec![eprt_refused.clone()]);
        assert_eq!(active_result(&only_eprt), Some(false));
        // On IPv6 they send EPRT.
        let v6 = session("[2001:db8::1]:21", vec![eprt_refused]);
        assert_eq!(active_result(&v6), Some(false));
        assert_eq!(active_result(&session("192.0.2.1:21", Vec::new())), None);
    }

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

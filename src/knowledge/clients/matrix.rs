//! The client compatibility matrix: for one transcript and its findings, whether each
//! client family works at each server address (yes, no, or unknown: not tested), and why.
//! The rules about clients are the parent module's; this applies them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{
    CLIENTS, Client, First, active_result, first_advertised, pasv_target, refused, unreachable_from,
};
use crate::proto::PassiveKind;
use crate::transcript::{ConnectOutcome, ServerSession, SessionEnd, Transcript};

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

/// Whether the passive command this client sends itself fails (refused, or a reply it
/// cannot read): what makes FileZilla and lftp retry in active mode. A data connection
/// that fails is not such a case.
fn falls_back(c: &Client, s: &ServerSession) -> bool {
    let kind = match (c.first, s.server.is_ipv6()) {
        (_, true) | (First::Epsv, false) => PassiveKind::Epsv,
        (First::Pasv, false) => PassiveKind::Pasv,
    };
    let unreadable = first_advertised(s, kind).is_some_and(|a| {
        c.parser
            .is_some_and(|p| a.parse_failures.iter().any(|f| f == p))
    });
    // The reply the client reads is the first one: a later malformed one does not explain
    // a "no" that came from somewhere else (a failed data connection).
    let malformed = s
        .all_samples(kind)
        .next()
        .is_some_and(|x| x.decode_error.is_some());
    refused(s, kind) || unreadable || malformed
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
    let judged = match judged {
        Judged::No(why) if c.active_fallback && falls_back(c, s) => match active_result(s) {
            Some(true) if log => Judged::Yes(format!(
                "{why}; it falls back to active mode (PORT), which works for this client"
            )),
            Some(true) => Judged::Yes(format!(
                "{why}; it falls back to active mode (PORT), which works from where this \
                 check ran"
            )),
            Some(false) => Judged::No(format!("{why}; its fallback to active mode fails too")),
            None if log => Judged::Unknown(format!(
                "{why}; it falls back to active mode (PORT), which the log does not show"
            )),
            None => Judged::Unknown(format!(
                "{why}; it falls back to active mode (PORT), which this check did not test \
                 (--active tests it)"
            )),
        },
        other => other,
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

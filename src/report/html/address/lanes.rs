//! What the address picture draws, from the transcript and the findings: the places data
//! connections went (each differing PASV address, the control peer), what happened at each,
//! which clients go there, and what the findings say about the path between.

use std::net::IpAddr;

use super::super::Mark;
use crate::finding::Code;
use crate::knowledge::clients::connecting_to_advertised;
use crate::proto::{AddressClass, PassiveKind};
use crate::report::Report;
use crate::transcript::{ConnectOutcome, ServerSession, Transcript};

/// Which clients go where, when the log does not show the server's address.
const UNKNOWN_WHO: &str = "which clients go here is not known: it depends on the server's address, which the log does not show";

/// One place data connections go.
pub(super) struct Lane {
    /// What sent clients there: "PASV names 10.0.0.5 (private)".
    pub(super) title: String,
    /// The destination as drawn in its node.
    pub(super) target: String,
    /// The destination differs from the control peer.
    pub(super) differs: bool,
    /// The destination is not known (a client log).
    pub(super) unknown: bool,
    /// Outcomes there: mark, count, words.
    pub(super) marks: Vec<(Mark, usize, String)>,
    /// Who goes there.
    pub(super) clients: String,
}

pub(super) fn class(ip: IpAddr) -> &'static str {
    AddressClass::of(ip).as_str()
}

/// The outcomes of the connections made to `ip` (`None`: the address a log does not show).
fn marks_at(s: &ServerSession, ip: Option<IpAddr>) -> Vec<(Mark, usize, String)> {
    let at = |addr: std::net::SocketAddr| match ip {
        Some(ip) => addr.ip() == ip,
        None => addr.ip().is_unspecified(),
    };
    let mut out: Vec<(Mark, usize, String)> = Vec::new();
    let mut add =
        |m: Mark, words: String| match out.iter_mut().find(|(k, _, w)| *k == m && *w == words) {
            Some(e) => e.1 += 1,
            None => out.push((m, 1, words)),
        };
    for p in s.samples.iter().flat_map(|x| &x.probes) {
        if at(p.attempt.addr) {
            let m = Mark::of_probe(&p.attempt.outcome);
            add(m, probe_words(m, &p.attempt.outcome));
        }
    }
    for t in &s.transfers {
        let Some(d) = &t.data else { continue };
        if !at(d.attempt.addr) {
            continue;
        }
        let m = Mark::of_data(&d.attempt.outcome);
        let done = t.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
            || (t.client_ok.is_some() && t.completion.is_none());
        match m {
            Mark::Ok if done && t.data_error.is_none() => {
                add(Mark::Ok, "transfer completed".into())
            }
            Mark::Ok if t.tls.as_ref().is_some_and(|d| d.fresh_session) => add(
                Mark::Failed,
                "TLS reuse test: failed after connecting".into(),
            ),
            Mark::Ok => add(Mark::Failed, "transfer failed after connecting".into()),
            m => add(
                m,
                format!("transfer: {}", probe_words(m, &d.attempt.outcome)),
            ),
        }
    }
    out
}

fn probe_words(m: Mark, o: &ConnectOutcome) -> String {
    match m {
        Mark::Ok => "connected".into(),
        Mark::Answered => "reset: something answered (path open)".into(),
        Mark::Refused => "refused".into(),
        Mark::Timeout => "no answer".into(),
        Mark::Skipped => "not contacted".into(),
        Mark::Unknown => "not shown in the log".into(),
        Mark::Failed => o.describe(),
    }
}

pub(super) fn lanes(t: &Transcript, s: &ServerSession) -> Vec<Lane> {
    let peer = s.known_peer();
    let own = t.own_addresses();
    let mut lanes = Vec::new();
    let mut elsewhere: Vec<String> = Vec::new();
    let mut pasv_addrs: Vec<Option<IpAddr>> = Vec::new();
    for x in s.all_samples(PassiveKind::Pasv) {
        let Some(a) = &x.advertised else { continue };
        if !pasv_addrs.contains(&a.address) {
            pasv_addrs.push(a.address);
        }
    }
    for addr in pasv_addrs {
        match (addr, peer) {
            (Some(ip), Some(p)) if ip == p => {}
            (Some(ip), _) => {
                // Where a client goes depends on the control peer: unknown without it.
                let clients = if peer.is_some() {
                    connecting_to_advertised(s, ip)
                } else {
                    Vec::new()
                };
                elsewhere.extend(clients.iter().cloned());
                let also_dns = match (&t.dns, own.contains(&ip)) {
                    (Some(_), false) => ", not a DNS answer",
                    (Some(_), true) => ", another DNS answer",
                    _ => "",
                };
                lanes.push(Lane {
                    title: format!("PASV names {ip} ({}){also_dns}", class(ip)),
                    target: ip.to_string(),
                    differs: peer.is_some(),
                    unknown: false,
                    marks: marks_at(s, Some(ip)),
                    clients: if peer.is_none() {
                        UNKNOWN_WHO.to_string()
                    } else if clients.is_empty() {
                        "no client in the table goes here".to_string()
                    } else {
                        format!("taken (or refused) by: {}", clients.join(", "))
                    },
                });
            }
            (None, _) => lanes.push(Lane {
                title: "PASV: the address is not in the log".to_string(),
                target: "not in the log".to_string(),
                differs: false,
                unknown: true,
                marks: Vec::new(),
                clients: "unknown".to_string(),
            }),
        }
    }
    let kinds: Vec<&str> = [PassiveKind::Pasv, PassiveKind::Epsv]
        .into_iter()
        .filter(|k| s.all_samples(*k).next().is_some())
        .map(|k| k.command())
        .collect();
    let how = if kinds.is_empty() {
        "data connections".to_string()
    } else {
        kinds.join(" and ")
    };
    lanes.push(Lane {
        title: match peer {
            Some(p) => format!("{how} to the control peer {p}"),
            None => format!("{how} to the server (address not in the log)"),
        },
        target: peer.map_or_else(|| "not in the log".to_string(), |p| p.to_string()),
        differs: false,
        unknown: peer.is_none(),
        marks: marks_at(s, peer),
        clients: if peer.is_none() {
            UNKNOWN_WHO.to_string()
        } else if elsewhere.is_empty() {
            "every client in the table".to_string()
        } else {
            "the other clients, and EPSV".to_string()
        },
    });
    lanes
}

/// What the findings say about the path between, in short lines (nothing when silent).
pub(super) fn between(report: &Report<'_>, s: &ServerSession) -> Vec<&'static str> {
    let mut out = Vec::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.server.is_none_or(|a| a == s.server))
    {
        let line = match f.code {
            Code::DataPortFiltered => "drops data ports",
            Code::DataPortRefused => "data ports refused",
            Code::PasvAddressPrivate => "server behind NAT",
            Code::PasvRewrittenInTransit => "rewrites PASV replies",
            Code::CheckedFromSameNat => "client behind the same NAT",
            _ => continue,
        };
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

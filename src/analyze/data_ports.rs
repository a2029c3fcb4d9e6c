//! DATA_PORT_FILTERED, DATA_RANGE_PARTIAL, DATA_PORT_REFUSED: whether the passive ports can
//! be reached at the control peer (where curl and FileZilla's fallback connect).
//!
//! A port whose listener is gone (an older PASV sample) answers RST when the path is open,
//! and silence when a firewall drops it; so a timeout means filtered, and a mix of timeouts
//! and answers means only part of the range is open. A refused *transfer* connection means
//! nothing listens there or a firewall rejects it (REJECT also answers with RST or ICMP, so
//! refused is not proof of an open path).

use super::range::passive_range;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{ConnectOutcome, Phase, ServerSession, Transcript};

/// The server setting that keeps the passive ports to a range, then the firewall rules
/// for it. When the ports seen are spread wide (a server picking any free port) or are a
/// single port, an example range of 101 ports is suggested instead of copying them.
fn range_fix(s: &ServerSession, low: u16, high: u16) -> Vec<String> {
    use crate::knowledge::servers::{fingerprint, firewall_rules, port_range_setting};
    let (low, high, note) = if high - low > 1000 || high == low {
        (
            50000,
            50100,
            Some(format!(
                "The ports seen ({low}-{high}) are no range to forward: set one on the server \
                 first; 50000-50100 below is an example (about two ports per concurrent transfer)"
            )),
        )
    } else {
        (low, high, None)
    };
    let mut fix: Vec<String> = note.into_iter().collect();
    fix.extend(port_range_setting(fingerprint(s).product, low, high));
    fix.extend(firewall_rules(low, high));
    fix
}

fn peer_attempts(s: &ServerSession) -> Vec<(u16, &ConnectOutcome, bool)> {
    let peer = s.peer();
    let samples = s
        .samples
        .iter()
        .flat_map(|x| x.probes.iter())
        .map(|p| (p, false));
    let transfers = s
        .transfers
        .iter()
        .filter_map(|t| t.data.as_ref())
        .map(|p| (p, true));
    samples
        .chain(transfers)
        // A client log without the server's address: the client's own data connections.
        .filter(|(p, _)| p.attempt.addr.ip() == peer || s.known_peer().is_none())
        .filter(|(p, _)| !matches!(p.attempt.outcome, ConnectOutcome::Skipped(_)))
        .map(|(p, transfer)| (p.attempt.addr.port(), &p.attempt.outcome, transfer))
        .collect()
}

fn list(ports: &[u16]) -> String {
    let mut v = ports.to_vec();
    v.sort_unstable();
    v.dedup();
    v.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let attempts = peer_attempts(s);
        if attempts.is_empty() {
            continue;
        }
        let (low, high) = match (t.settings.expect_range, passive_range(s)) {
            (Some(r), _) => r,
            (None, Some(r)) => (r.low, r.high),
            (None, None) => continue,
        };
        let timed_out: Vec<u16> = attempts
            .iter()
            .filter(|(_, o, _)| **o == ConnectOutcome::TimedOut)
            .map(|(p, _, _)| *p)
            .collect();
        // An answer of any kind: a connection, a reset, or an ICMP rejection.
        let answered: Vec<u16> = attempts
            .iter()
            .filter(|(_, o, _)| {
                matches!(
                    o,
                    ConnectOutcome::Connected
                        | ConnectOutcome::Refused
                        | ConnectOutcome::Unreachable(_)
                )
            })
            .map(|(p, _, _)| *p)
            .collect();
        let transfers: Vec<&ConnectOutcome> = attempts
            .iter()
            .filter(|(_, _, transfer)| *transfer)
            .map(|(_, o, _)| *o)
            .collect();
        let any_connected = attempts
            .iter()
            .any(|(_, o, _)| **o == ConnectOutcome::Connected);
        let transfer_rejected = transfers
            .iter()
            .any(|o| matches!(o, ConnectOutcome::Refused | ConnectOutcome::Unreachable(_)));
        // Older sampled ports time out while every fresh port works: a stateful firewall or
        // FTP helper (ALG) opens only the port most recently announced. No older port
        // answered with a reset, as forwarded ones of a partly open range would.
        let older_answered = attempts
            .iter()
            .any(|(_, o, transfer)| !transfer && **o != ConnectOutcome::TimedOut);
        let on_demand = !timed_out.is_empty()
            && !older_answered
            && !transfers.is_empty()
            && transfers.iter().all(|o| **o == ConnectOutcome::Connected);
        let peer = s.known_peer().map_or_else(
            || "the server (address not in the log)".to_string(),
            |ip| ip.to_string(),
        );
        let timeout_s = t.settings.timeout_us as f64 / 1e6;
        if transfer_rejected && !any_connected {
            let mut evidence: Vec<String> = attempts
                .iter()
                .filter(|(_, o, transfer)| {
                    *transfer
                        && matches!(o, ConnectOutcome::Refused | ConnectOutcome::Unreachable(_))
                })
                .map(|(p, o, _)| format!("{peer}:{p} right after PASV/EPSV: {}", o.label()))
                .collect();
            if !timed_out.is_empty() {
                evidence.push(format!(
                    "{} test connection(s) got no answer: rejections by ICMP are rate-limited, \
                     so some look like drops",
                    timed_out.len()
                ));
            }
            out.push(Finding {
                code: Code::DataPortRefused,
                severity: Severity::Critical,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!("the passive data port at {peer} refuses connections"),
                evidence,
                impact: "Every passive transfer fails at once for every client.".to_string(),
                remedy: "Nothing listens on the advertised port, or a firewall rejects it: check \
                         that the server listens where it says (a port forward to the wrong host \
                         or port, a server advertising one port and listening on another), then \
                         allow the range."
                    .to_string(),
                fix: range_fix(s, low, high),
            });
        } else if on_demand {
            out.push(Finding {
                code: Code::DataPortsOnDemand,
                severity: Severity::Info,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!("older passive ports at {peer} are closed; each fresh one works"),
                evidence: vec![
                    format!(
                        "ports {} of earlier PASV/EPSV replies: no answer within {timeout_s:.1} s",
                        list(&timed_out)
                    ),
                    "the ports of the listings' own PASV/EPSV replies connected".to_string(),
                ],
                impact: "None for clients, which connect to the port they were just given. A \
                         stateful firewall or the router's FTP helper (ALG) opens each passive \
                         port only for the connection that announced it."
                    .to_string(),
                remedy: "Nothing to fix. Note that an FTP helper cannot read FTPS: if FTPS must \
                         work, forward the passive range instead of relying on the helper."
                    .to_string(),
                fix: Vec::new(),
            });
        } else if !timed_out.is_empty() && answered.is_empty() {
            out.push(Finding {
                code: Code::DataPortFiltered,
                severity: Severity::Critical,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!("the passive data ports at {peer} are filtered"),
                evidence: vec![format!(
                    "ports {} at {peer}: no answer within {timeout_s:.1} s (dropped)",
                    list(&timed_out)
                )],
                impact: "Logins work, but every listing and transfer hangs and fails, for every \
                         client (FileZilla: \"Failed to retrieve directory listing\")."
                    .to_string(),
                remedy: format!(
                    "Open (and on a NAT router, forward) TCP {low}-{high} to the server, and keep \
                     the server's passive ports inside that range."
                ),
                fix: range_fix(s, low, high),
            });
        } else if !timed_out.is_empty() {
            out.push(Finding {
                code: Code::DataRangePartial,
                severity: Severity::Critical,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!(
                    "only part of the passive range at {peer} is reachable ({} of {} ports)",
                    answered.len(),
                    answered.len() + timed_out.len()
                ),
                evidence: vec![
                    format!(
                        "dropped (no answer within {timeout_s:.1} s): {}",
                        list(&timed_out)
                    ),
                    format!("answered: {}", list(&answered)),
                ],
                impact: "Transfers fail at random, whenever the server picks a port that is not \
                         forwarded; every client is affected."
                    .to_string(),
                remedy: format!(
                    "Forward the whole range the server uses ({low}-{high} seen), or shrink the \
                     server's range to what is forwarded."
                ),
                fix: range_fix(s, low, high),
            });
        }
    }
}

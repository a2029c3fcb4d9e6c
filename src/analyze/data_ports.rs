//! DATA_PORT_FILTERED, DATA_RANGE_PARTIAL, DATA_PORT_REFUSED: whether the passive ports can
//! be reached at the control peer (where curl and FileZilla's fallback connect).
//!
//! A port whose listener is gone (an older PASV sample) answers RST when the path is open,
//! and silence when a firewall drops it; so a timeout means filtered, and a mix of timeouts
//! and answers means only part of the range is open. A refused *transfer* connection means
//! nothing listens there or a firewall rejects it (REJECT also answers with RST or ICMP, so
//! refused is not proof of an open path).

use super::range::{passive_range, range_fix};
use super::substituted_address_timed_out::substituted_timeout;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{ConnectOutcome, FAILED_UNSAID, Phase, ServerSession, Transcript};

fn peer_attempts<'a>(t: &Transcript, s: &'a ServerSession) -> Vec<(u16, &'a ConnectOutcome, bool)> {
    let peer = s.peer();
    let samples = s
        .samples
        .iter()
        .flat_map(|x| x.probes.iter())
        .map(|p| (p, false));
    let transfers = s
        .transfers
        .iter()
        // A client's substituted data connection that timed out has its own finding.
        .filter(|tr| t.client_log.is_none() || !substituted_timeout(s, tr))
        .filter_map(|tr| tr.data.as_ref())
        .map(|p| (p, true));
    samples
        .chain(transfers)
        // A client log without the server's address: the client's own data connections.
        .filter(|(p, _)| p.attempt.addr.ip() == peer || s.known_peer().is_none())
        .filter(|(p, _)| !matches!(p.attempt.outcome, ConnectOutcome::Skipped(_)))
        .map(|(p, transfer)| (p.attempt.addr.port(), &p.attempt.outcome, transfer))
        .collect()
}

/// "ports 50001, 50002 at 203.0.113.10", or the client's data connection when the log
/// does not show its port.
fn ports_at(ports: &[u16], peer: &str) -> String {
    if ports.iter().all(|p| *p == 0) {
        format!("the client's data connection to {peer} (port not in the log)")
    } else {
        let plural = if ports.iter().filter(|p| **p != 0).count() > 1 {
            "ports"
        } else {
            "port"
        };
        format!("{plural} {} at {peer}", list(ports))
    }
}

fn list(ports: &[u16]) -> String {
    // Port 0: a client log's data connection whose port the log does not show.
    if ports.iter().all(|p| *p == 0) {
        return "(not in the log)".to_string();
    }
    let mut v: Vec<u16> = ports.iter().copied().filter(|p| *p != 0).collect();
    v.sort_unstable();
    v.dedup();
    v.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let attempts = peer_attempts(t, s);
        if attempts.is_empty() {
            continue;
        }
        // A client log may show a data connection failing without its port.
        let seen = passive_range(s).map(|r| (r.low, r.high));
        if seen.is_none() && t.settings.expect_range.is_none() && t.client_log.is_none() {
            continue;
        }
        let (ports_text, fix) = range_fix(t, s, seen);
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
        // A client that says its data connections failed without saying how.
        let unsaid: Vec<u16> = attempts
            .iter()
            .filter(|(_, o, transfer)| *transfer && o.failed_unsaid())
            .map(|(p, _, _)| *p)
            .collect();
        // A client log that ends while the client connects: perhaps silence.
        let stalled: Vec<u16> = attempts
            .iter()
            .filter(|(_, o, transfer)| *transfer && o.log_ends_connecting())
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
        // How long a silent port was waited for: the check's timeout, or the client's
        // when its log says (a log that does not say gives no figure).
        let waited = match t.settings.timeout_us {
            0 => "no answer".to_string(),
            us => format!("no answer within {:.1} s", us as f64 / 1e6),
        };
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
                breaks: Vec::new(),
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
                fix: fix.clone(),
            });
        } else if on_demand {
            out.push(Finding {
                code: Code::DataPortsOnDemand,
                breaks: Vec::new(),
                severity: Severity::Info,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!("older passive ports at {peer} are closed; each fresh one works"),
                evidence: vec![
                    format!(
                        "ports {} of earlier PASV/EPSV replies: {waited}",
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
        } else if (!timed_out.is_empty() || !unsaid.is_empty()) && answered.is_empty() {
            // Dropped ports, or (a client log) data connections that failed without the
            // client saying how: the same fix, a title that claims no more than was seen.
            let title = if timed_out.is_empty() {
                format!(
                    "the client's data connections to {} did not open (the log does not say \
                     whether they timed out or were refused)",
                    ports_at(&unsaid, &peer)
                )
            } else {
                format!("the passive data ports at {peer} are filtered")
            };
            let mut evidence = Vec::new();
            if !timed_out.is_empty() {
                evidence.push(format!(
                    "{}: {waited} (dropped)",
                    ports_at(&timed_out, &peer)
                ));
            }
            if !unsaid.is_empty() {
                evidence.push(format!(
                    "{}: {FAILED_UNSAID}, after the server's PASV/EPSV replies",
                    ports_at(&unsaid, &peer)
                ));
            }
            out.push(Finding {
                code: Code::DataPortFiltered,
                breaks: Vec::new(),
                severity: Severity::Critical,
                phase: Phase::Data,
                server: Some(s.server),
                title,
                evidence,
                impact: "Logins work, but every listing and transfer hangs and fails, for every \
                         client (FileZilla: \"Failed to retrieve directory listing\")."
                    .to_string(),
                remedy: format!(
                    "Open (and on a NAT router, forward) {ports_text} to the server, and keep \
                     the server's passive ports inside that range."
                ),
                fix: fix.clone(),
            });
        } else if timed_out.is_empty() && answered.is_empty() && !stalled.is_empty() {
            out.push(Finding {
                code: Code::DataPortFiltered,
                // Nothing failed in the log: it stops.
                breaks: Vec::new(),
                severity: Severity::Warning,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!(
                    "the log ends while the client connects to {}: no answer is shown",
                    ports_at(&stalled, &peer)
                ),
                evidence: vec![format!(
                    "{}: the last line of the log is the client connecting; whether it \
                     opened is not shown",
                    ports_at(&stalled, &peer)
                )],
                impact: "If the client hung there (the log stops because nothing came), the \
                         passive ports are filtered: logins work, but every listing and \
                         transfer hangs, for every client."
                    .to_string(),
                remedy: format!(
                    "Test the port from outside (or run pasv-doctor check against the server); \
                     if it does not answer, open (and on a NAT router, forward) {ports_text} to \
                     the server, and keep the server's passive ports inside that range."
                ),
                fix: fix.clone(),
            });
        } else if !timed_out.is_empty() {
            out.push(Finding {
                code: Code::DataRangePartial,
                breaks: Vec::new(),
                severity: Severity::Critical,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!(
                    "only part of the passive range at {peer} is reachable ({} of {} ports)",
                    answered.len(),
                    answered.len() + timed_out.len()
                ),
                evidence: vec![
                    format!("dropped ({waited}): {}", list(&timed_out)),
                    format!("answered: {}", list(&answered)),
                ],
                impact: "Transfers fail at random, whenever the server picks a port that is not \
                         forwarded; every client is affected."
                    .to_string(),
                remedy: format!(
                    "Forward {ports_text}, or shrink the \
                     server's range to what is forwarded."
                ),
                fix: fix.clone(),
            });
        }
    }
}

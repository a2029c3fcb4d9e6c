//! SUBSTITUTED_ADDRESS_TIMED_OUT (client logs only): the client already ignored the address
//! the PASV reply named and connected to the server's own address instead (FileZilla's and
//! WinSCP's "unroutable address ... using server/host address instead", curl's "Skip ...
//! re-use ... instead", lftp's "fixed" address), and that data connection timed out too (or
//! the server answered 425 without a 1xx: it never received it). So
//! the advertised address is not the only problem: the passive ports are not forwarded, or a
//! firewall drops them. A live check cannot see this, because it is about what the
//! customer's own client did.

use super::range::{passive_range, range_fix};
use crate::finding::{Code, Finding, Severity};
use crate::proto::PassiveKind;
use crate::transcript::{
    ClientLog, ConnectOutcome, Phase, ServerSession, Transcript, Transfer, Via,
};

/// "FileZilla 3.66.4", "curl", or "the client".
pub(super) fn client_name(log: &ClientLog) -> String {
    match (&log.client, &log.version) {
        (Some(c), Some(v)) => format!("{c} {v}"),
        (Some(c), None) => c.clone(),
        _ => "the client".to_string(),
    }
}

/// Whether a transfer of a client log is one this rule reports: a PASV whose data
/// connection the client sent to the control peer instead of the advertised address (an
/// unanswered PASV: the client's message said it substituted), and that timed out.
/// DATA_PORT_FILTERED leaves these to it: one finding for one cause.
pub(super) fn substituted_timeout(s: &ServerSession, tr: &Transfer) -> bool {
    let advertised = tr.passive.advertised.as_ref().and_then(|a| a.address);
    let unanswered = tr.passive.exchange.reply.is_none();
    tr.passive.command == PassiveKind::Pasv
        && (advertised.is_some() || unanswered)
        && (advertised.is_none() || advertised != s.known_peer())
        && tr.data.as_ref().is_some_and(|d| {
            d.via == Via::ControlPeer
                && (d.attempt.outcome == ConnectOutcome::TimedOut || never_arrived(tr))
        })
}

/// The server answered the transfer command with 425 and no 1xx before it: it never
/// received the client's data connection (whatever the client saw of it).
fn never_arrived(tr: &Transfer) -> bool {
    tr.command
        .as_ref()
        .and_then(|c| c.reply.as_ref())
        .is_some_and(|r| r.code == 425)
        && tr
            .data
            .as_ref()
            .is_none_or(|d| d.attempt.outcome != ConnectOutcome::Connected)
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let Some(log) = &t.client_log else { return };
    for (index, s) in t.servers.iter().enumerate() {
        let peer = s.known_peer();
        let mut evidence = Vec::new();
        let mut ports = Vec::new();
        let mut timed_out = true;
        for tr in s.transfers.iter().filter(|tr| substituted_timeout(s, tr)) {
            let Some(data) = &tr.data else { continue };
            // The advertised address, when the log shows the reply (FileZilla at its
            // default level only says it substituted one).
            let advertised = tr.passive.advertised.as_ref().and_then(|a| a.address);
            let advertised = advertised.map_or_else(
                || "the PASV address (not in the log)".to_string(),
                |a| a.to_string(),
            );
            let reply = tr
                .passive
                .exchange
                .reply
                .as_ref()
                .map_or_else(|| "not in the log".to_string(), |r| r.text.clone());
            evidence.push(format!("PASV reply: {reply}"));
            let what = if data.attempt.outcome == ConnectOutcome::TimedOut {
                "timed out".to_string()
            } else {
                format!(
                    "the server answered {} (it never received the data connection)",
                    tr.command
                        .as_ref()
                        .and_then(|c| c.reply.as_ref())
                        .map_or("425", |r| r.text.as_str())
                )
            };
            let target = if crate::transcript::is_unknown(data.attempt.addr) {
                "the server's address".to_string()
            } else {
                crate::transcript::show_addr(data.attempt.addr)
            };
            evidence.push(format!(
                "the client ignored {advertised} and connected to {target}: {what}"
            ));
            timed_out &= data.attempt.outcome == ConnectOutcome::TimedOut;
            if data.attempt.addr.port() != 0 {
                ports.push(data.attempt.addr.port());
            }
        }
        if evidence.is_empty() {
            continue;
        }
        evidence.extend(
            log.messages
                .iter()
                .filter(|m| m.server == index)
                .filter(|m| {
                    let l = m.text.to_ascii_lowercase();
                    l.contains("instead") || l.contains("fixed") || l.contains("timed out")
                })
                .map(|m| format!("client log line {}: {}", m.line, m.text))
                .take(4),
        );
        evidence.dedup();
        let who = client_name(log);
        let seen = passive_range(s)
            .map(|r| (r.low, r.high))
            .or_else(|| ports.iter().copied().min().zip(ports.iter().copied().max()));
        let (ports_text, fix) = range_fix(t, s, seen);
        let peer = peer.map_or_else(|| "the server's address".to_string(), |p| p.to_string());
        out.push(Finding {
            code: Code::SubstitutedAddressTimedOut,
            breaks: Vec::new(),
            severity: Severity::Critical,
            phase: Phase::Data,
            server: Some(s.server),
            title: format!(
                "{who} already connected to {peer} instead of the advertised address, and that \
                 {}",
                if timed_out {
                    "timed out too"
                } else {
                    "did not reach the server either"
                }
            ),
            evidence,
            impact: format!(
                "{who} already ignores the wrong address in the PASV reply; the passive ports \
                 themselves are the problem, so fixing the advertised address alone will not \
                 make listings work, for this client or any other."
            ),
            remedy: format!(
                "Open (and on a NAT router, forward) {ports_text} to the server, keep the \
                 server's passive ports inside that range, then fix the advertised address too."
            ),
            fix,
        });
    }
}

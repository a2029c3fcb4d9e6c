//! SUBSTITUTED_ADDRESS_TIMED_OUT (client logs only): the client already ignored the address
//! the PASV reply named and connected to the server's own address instead (FileZilla's and
//! WinSCP's "unroutable address ... using server/host address instead", curl's "Skip ...
//! re-use ... instead", lftp's "fixed" address), and that data connection timed out too. So
//! the advertised address is not the only problem: the passive ports are not forwarded, or a
//! firewall drops them. A live check cannot see this, because it is about what the
//! customer's own client did.

use super::range::passive_range;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{ClientLog, ConnectOutcome, Phase, Transcript, Via};

/// "FileZilla 3.66.4", "curl", or "the client".
pub(super) fn client_name(log: &ClientLog) -> String {
    match (&log.client, &log.version) {
        (Some(c), Some(v)) => format!("{c} {v}"),
        (Some(c), None) => c.clone(),
        _ => "the client".to_string(),
    }
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let Some(log) = &t.client_log else { return };
    for (index, s) in t.servers.iter().enumerate() {
        let peer = s.peer();
        let mut evidence = Vec::new();
        let mut ports = Vec::new();
        for tr in &s.transfers {
            let Some(adv) = &tr.passive.advertised else {
                continue;
            };
            let Some(advertised) = adv.address else {
                continue;
            };
            let Some(data) = &tr.data else { continue };
            if advertised == peer
                || data.via != Via::ControlPeer
                || data.attempt.outcome != ConnectOutcome::TimedOut
            {
                continue;
            }
            let reply = tr
                .passive
                .exchange
                .reply
                .as_ref()
                .map_or_else(|| "(no reply)".to_string(), |r| r.text.clone());
            evidence.push(format!("reply: {reply}"));
            evidence.push(format!(
                "the client ignored {advertised} and connected to {}: timed out",
                data.attempt.addr
            ));
            ports.push(data.attempt.addr.port());
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
        let (low, high) = match (t.settings.expect_range, passive_range(s)) {
            (Some(r), _) => r,
            (None, Some(r)) => (r.low, r.high),
            (None, None) => {
                let low = ports.iter().copied().min().unwrap_or(0);
                (low, ports.iter().copied().max().unwrap_or(low))
            }
        };
        let mut fix = crate::knowledge::servers::firewall_rules(low, high);
        fix.extend(crate::knowledge::servers::port_range_setting(
            crate::knowledge::servers::fingerprint(s).product,
            low,
            high,
        ));
        out.push(Finding {
            code: Code::SubstitutedAddressTimedOut,
            severity: Severity::Critical,
            phase: Phase::Data,
            server: Some(s.server),
            title: format!(
                "{who} already connected to {peer} instead of the advertised address, and that \
                 timed out too"
            ),
            evidence,
            impact: format!(
                "{who} already ignores the wrong address in the PASV reply; the passive ports \
                 themselves are the problem, so fixing the advertised address alone will not \
                 make listings work, for this client or any other."
            ),
            remedy: format!(
                "Open (and on a NAT router, forward) TCP {low}-{high} to the server, keep the \
                 server's passive ports inside that range, then fix the advertised address too."
            ),
            fix,
        });
    }
}

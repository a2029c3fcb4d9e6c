//! PASV_ADDRESS_PRIVATE: the server advertises a non-routable address (RFC 1918, CGNAT,
//! loopback, link-local, ULA) that the client, talking to it from elsewhere, cannot reach.
//! The classic NAT mistake: the server does not know its public address.

use super::{
    address_fix, clients, connected_to, distinct_advertised, failed_at_advertised, private_class,
    probe_summary,
};
use crate::finding::{Code, Finding, Severity};
use crate::proto::{AddressClass, classify_effective};
use crate::transcript::{Phase, ServerSession, Transcript, Via};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        // Without the server's address (a client log) the class cannot be compared, unless
        // the client compared it: it called the address unroutable and used another.
        let Some(peer) = s.known_peer() else {
            out.extend(called_unroutable(t, s));
            continue;
        };
        for (ip, reply) in distinct_advertised(s) {
            let failed = failed_at_advertised(t, s, ip);
            let Some(class) = private_class(t, s, ip, peer) else {
                continue;
            };
            // A client log whose client reached the address is on the server's network:
            // the address works for it, and the log shows nothing about other clients.
            if t.client_log.is_some() && connected_to(s, ip) {
                continue;
            }
            let mut evidence = vec![
                format!("reply: {reply}"),
                format!("advertised {ip}: {}", class.describe()),
                format!(
                    "control connection peer {peer}: {}",
                    AddressClass::of(peer).describe()
                ),
            ];
            evidence.extend(probe_summary(s, ip));
            let severity = if failed.is_empty() {
                super::pasv_severity(s, Severity::Warning)
            } else {
                Severity::Critical
            };
            // The failed attempts are in the probe summary above already.
            let (remedy, fix) = address_fix(t, s, ip);
            // Unreachable by class from where the server was reached: the clients that
            // connect there fail (the table marks them so).
            let (impact, breaks) = clients::address_impact(s, ip, clients::Reach::Fails);
            out.push(Finding {
                breaks,
                code: Code::PasvAddressPrivate,
                severity,
                phase: Phase::Pasv,
                server: Some(s.server),
                title: format!(
                    "PASV advertises {ip}, a {} address, instead of {peer}",
                    class.as_str().replace('_', "-")
                ),
                evidence,
                impact,
                remedy,
                fix,
            });
        }
    }
}

/// A client log without the server's address in which the client said the PASV address
/// was unroutable and connected to the server's address instead (WinSCP and FileZilla
/// substitute only when the server's own address is not private): the client saw what this
/// rule would have compared. What became of its data connection is told by the data rules.
fn called_unroutable(t: &Transcript, s: &ServerSession) -> Option<Finding> {
    let log = t.client_log.as_ref()?;
    let (ip, class) = s.transfers.iter().find_map(|tr| {
        let ip = tr.passive.advertised.as_ref()?.address?;
        let substituted = tr.data.as_ref().is_some_and(|d| d.via == Via::ControlPeer);
        let class = classify_effective(ip);
        let local = class.is_local_only();
        (substituted && local).then_some((ip, class))
    })?;
    let who = super::substituted_address_timed_out::client_name(log);
    let mut evidence: Vec<String> = log
        .messages
        .iter()
        .filter(|m| m.text.to_ascii_lowercase().contains("unroutable"))
        .map(|m| format!("client log line {}: {}", m.line, m.text))
        .take(2)
        .collect();
    evidence.push(format!("advertised {ip}: {}", class.describe()));
    evidence.push("the server's own address is not in the log".to_string());
    let (remedy, fix) = address_fix(t, s, ip);
    Some(Finding {
        code: Code::PasvAddressPrivate,
        breaks: Vec::new(),
        severity: super::pasv_severity(s, Severity::Warning),
        phase: Phase::Pasv,
        server: Some(s.server),
        title: format!(
            "PASV advertises {ip}, a {} address; {who} called it unroutable and used the \
             server's address instead",
            class.as_str().replace('_', "-")
        ),
        evidence,
        impact: "Clients that connect to the PASV address as given cannot reach it from \
                 outside the server's network; FileZilla and WinSCP replace it with the \
                 server's address, as this client did."
            .to_string(),
        remedy,
        fix,
    })
}

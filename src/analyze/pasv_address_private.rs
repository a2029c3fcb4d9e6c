//! PASV_ADDRESS_PRIVATE: the server advertises a non-routable address (RFC 1918, CGNAT,
//! loopback, link-local, ULA) that the client, talking to it from elsewhere, cannot reach.
//! The classic NAT mistake: the server does not know its public address.

use super::{
    address_fix, clients, connected_to, distinct_advertised, failed_at_advertised, private_class,
    probe_summary,
};
use crate::finding::{Code, Finding, Severity};
use crate::proto::AddressClass;
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        // Without the server's address (a client log) the class cannot be compared.
        let Some(peer) = s.known_peer() else { continue };
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
            out.push(Finding {
                code: Code::PasvAddressPrivate,
                severity,
                phase: Phase::Pasv,
                server: Some(s.server),
                title: format!(
                    "PASV advertises {ip}, a {} address, instead of {peer}",
                    class.as_str().replace('_', "-")
                ),
                evidence,
                impact: clients::impact_for(
                    class,
                    !crate::knowledge::clients::filezilla_unroutable(peer),
                ),
                remedy,
                fix,
            });
        }
    }
}

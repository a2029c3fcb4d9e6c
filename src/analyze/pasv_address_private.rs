//! PASV_ADDRESS_PRIVATE: the server advertises a non-routable address (RFC 1918, CGNAT,
//! loopback, link-local, ULA) that the client, talking to it from elsewhere, cannot reach.
//! The classic NAT mistake: the server does not know its public address.

use super::{address_fix, clients, distinct_advertised, probe_summary, unreachable_class};
use crate::finding::{Code, Finding, Severity};
use crate::proto::AddressClass;
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let peer = s.peer();
        for (ip, reply) in distinct_advertised(s) {
            let Some(class) = unreachable_class(ip, peer) else {
                continue;
            };
            let mut evidence = vec![
                format!("reply: {reply}"),
                format!("advertised {ip}: {}", class.describe()),
                format!(
                    "control connection peer {peer}: {}",
                    AddressClass::of(peer).describe()
                ),
            ];
            evidence.extend(probe_summary(s, ip));
            let (remedy, fix) = address_fix(t, s, ip);
            out.push(Finding {
                code: Code::PasvAddressPrivate,
                severity: super::pasv_severity(s, Severity::Warning),
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

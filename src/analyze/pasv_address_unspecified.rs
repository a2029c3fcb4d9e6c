//! PASV_ADDRESS_UNSPECIFIED: the server advertises 0.0.0.0: it does not know which address
//! to give (vsftpd on an unmapped IPv6 socket with pasv_address set does this).

use super::{address_fix, clients, distinct_advertised};
use crate::finding::{Code, Finding, Severity};
use crate::proto::AddressClass;
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let peer = s.peer();
        for (ip, reply) in distinct_advertised(s) {
            if !ip.is_unspecified() {
                continue;
            }
            let (remedy, mut fix) = address_fix(t, s, ip);
            fix.push(
                "vsftpd advertises 0,0,0,0 with listen_ipv6=YES and pasv_address set: run one \
                 listener per family (listen=YES with listen_address=, and listen_ipv6=YES with \
                 listen_address6=)"
                    .to_string(),
            );
            out.push(Finding {
                code: Code::PasvAddressUnspecified,
                severity: super::pasv_severity(s, Severity::Warning),
                phase: Phase::Pasv,
                server: Some(s.server),
                title: format!("PASV advertises {ip} instead of a real address"),
                evidence: vec![
                    format!("reply: {reply}"),
                    format!("control connection peer {peer}"),
                ],
                impact: clients::impact_of_foreign_address(AddressClass::Unspecified),
                remedy,
                fix,
            });
        }
    }
}

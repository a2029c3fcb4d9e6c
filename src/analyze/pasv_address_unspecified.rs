//! PASV_ADDRESS_UNSPECIFIED: the server advertises 0.0.0.0: it does not know which address
//! to give (vsftpd on an unmapped IPv6 socket with pasv_address set does this).

use super::{abandoned_after, address_fix, clients, distinct_advertised, failed_at_advertised};
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        for (ip, reply) in distinct_advertised(s) {
            if !ip.is_unspecified() {
                continue;
            }
            // An observed failure makes it critical: the client used the address and its
            // data connection failed, or it gave up on passive mode for it.
            let failed = failed_at_advertised(t, s, ip);
            let abandoned = abandoned_after(s, ip);
            let severity = if !failed.is_empty() || abandoned {
                Severity::Critical
            } else {
                super::pasv_severity(s, Severity::Warning)
            };
            let (remedy, mut fix) = address_fix(t, s, ip);
            // 0.0.0.0 is no address to connect to: the clients that take it as given fail.
            let (impact, breaks) = clients::address_impact(s, ip, clients::Reach::Fails);
            fix.push(
                "vsftpd advertises 0,0,0,0 with listen_ipv6=YES and pasv_address set: run one \
                 listener per family (listen=YES with listen_address=, and listen_ipv6=YES with \
                 listen_address6=)"
                    .to_string(),
            );
            out.push(Finding {
                breaks,
                code: Code::PasvAddressUnspecified,
                severity,
                phase: Phase::Pasv,
                server: Some(s.server),
                title: format!("PASV advertises {ip} instead of a real address"),
                evidence: [format!("reply: {reply}")]
                    .into_iter()
                    .chain(
                        s.known_peer()
                            .map(|p| format!("control connection peer {p}")),
                    )
                    .chain(failed)
                    .chain(abandoned.then(|| {
                        "no passive transfer followed: the client used active mode (PORT) instead"
                            .to_string()
                    }))
                    .collect(),
                impact,
                remedy,
                fix,
            });
        }
    }
}

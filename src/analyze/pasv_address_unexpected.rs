//! PASV_ADDRESS_UNEXPECTED: the advertised address is not the one the user said to expect
//! (`--expect-address`).

use super::distinct_advertised;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let Some(expected) = t.settings.expect_address else {
        return;
    };
    for s in &t.servers {
        for (ip, reply) in distinct_advertised(s) {
            if ip == expected {
                continue;
            }
            out.push(Finding {
                code: Code::PasvAddressUnexpected,
                breaks: Vec::new(),
                severity: Severity::Warning,
                phase: Phase::Pasv,
                server: Some(s.server),
                title: format!("PASV advertises {ip}, but {expected} was expected"),
                evidence: vec![
                    format!("reply: {reply}"),
                    format!("--expect-address {expected}"),
                ],
                impact: "Clients that use the PASV address connect to the wrong place.".to_string(),
                remedy: format!("Make the server advertise {expected}."),
                fix: crate::knowledge::servers::external_address_setting(
                    crate::knowledge::servers::fingerprint(s).product,
                    &expected.to_string(),
                ),
            });
        }
    }
}

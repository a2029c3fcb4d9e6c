//! CHECKED_FROM_SAME_NAT and PASV_ADDRESS_IS_CLIENT: what this machine's public address
//! (`--my-ip-url`) says about the check itself. When the client shares the server's public
//! address it sits behind the same NAT, so what it sees is the LAN or hairpin path, not
//! what customers outside see; a server that advertises the client's own address has its
//! reply rewritten by a middlebox or is misconfigured.

use super::distinct_advertised;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let Some(me) = t.client_public else { return };
    for s in &t.servers {
        if s.peer() == me {
            out.push(Finding {
                code: Code::CheckedFromSameNat,
                breaks: Vec::new(),
                severity: Severity::Warning,
                phase: Phase::Connect,
                server: Some(s.server),
                title: format!(
                    "this machine's public address is the server's address {me}: the check ran \
                     from behind the same NAT"
                ),
                evidence: vec![
                    format!("public address of this machine: {me}"),
                    format!("control peer: {}", s.peer()),
                ],
                impact: "Results show the LAN or hairpin path; customers outside may see \
                         something else. Clients on this LAN need hairpin NAT on the router when \
                         the server advertises its public address (FileZilla, WinSCP, wget)."
                    .to_string(),
                remedy: "Run the check from outside the server's network, or enable hairpin NAT \
                         (NAT loopback) on the router for LAN clients."
                    .to_string(),
                fix: Vec::new(),
            });
        }
        for (ip, reply) in distinct_advertised(s) {
            if ip == me && ip != s.peer() {
                out.push(Finding {
                    code: Code::PasvAddressIsClient,
                    breaks: Vec::new(),
                    severity: Severity::Warning,
                    phase: Phase::Pasv,
                    server: Some(s.server),
                    title: format!(
                        "PASV advertises {ip}, which is this machine's own public address"
                    ),
                    evidence: vec![
                        format!("reply: {reply}"),
                        format!("public address of this machine: {me}"),
                    ],
                    impact: "Clients that use the PASV address connect to themselves and fail."
                        .to_string(),
                    remedy: "A middlebox rewrites the reply or the server's passive address is \
                             set to a client's address: set the server's own public address."
                        .to_string(),
                    fix: Vec::new(),
                });
            }
        }
    }
}

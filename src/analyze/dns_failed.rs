//! DNS_FAILED: the name did not resolve to any address of the wanted family (critical: the
//! DNS answered so), or one of the look-ups failed outright (the check could not run: info
//! under an UNKNOWN verdict when nothing else was checked).

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let Some(dns) = &t.dns else { return };
    let ns = dns
        .nameserver
        .map_or_else(|| "the system resolver".to_string(), |n| n.to_string());
    let mut evidence = Vec::new();
    for (rtype, answer) in [("A", &dns.a), ("AAAA", &dns.aaaa)] {
        if !answer.queried {
            continue;
        }
        match &answer.error {
            Some(e) => evidence.push(format!("{rtype} {}: {e}", dns.name)),
            None if answer.records.is_empty() => {
                evidence.push(format!("{rtype} {}: no records", dns.name))
            }
            None => {}
        }
    }
    // The DNS answered (no such name, no records): an observed failure. A look-up that
    // failed (timed out, SERVFAIL) says nothing about the name: the check could not run.
    let answered = [&dns.a, &dns.aaaa]
        .iter()
        .filter(|a| a.queried)
        .all(|a| a.error.as_deref().is_none_or(|e| e.contains("(NXDOMAIN)")));
    if t.servers.is_empty() {
        out.push(Finding {
            code: Code::DnsFailed,
            breaks: Vec::new(),
            severity: if answered {
                Severity::Critical
            } else {
                Severity::Info
            },
            phase: Phase::Dns,
            server: None,
            title: if answered {
                format!("{} does not resolve to any address to check", dns.name)
            } else {
                format!(
                    "the DNS look-up of {} failed, so nothing could be checked",
                    dns.name
                )
            },
            evidence,
            impact: if answered {
                "No client can reach the server by this name.".to_string()
            } else {
                "Unknown: the resolver gave no answer, so whether clients can resolve the \
                 name is not known."
                    .to_string()
            },
            remedy: format!(
                "Check the name's A/AAAA records at its DNS provider (asked: {ns}); \
                 meanwhile check the server by its address."
            ),
            fix: Vec::new(),
        });
    } else if dns.a.error.is_some() || dns.aaaa.error.is_some() {
        out.push(Finding {
            code: Code::DnsFailed,
            breaks: Vec::new(),
            severity: Severity::Warning,
            phase: Phase::Dns,
            server: None,
            title: format!("a DNS look-up for {} failed", dns.name),
            evidence,
            impact: "Clients whose resolver hits the same failure cannot connect by name."
                .to_string(),
            remedy: format!("Check the name's records at its DNS provider (asked: {ns})."),
            fix: Vec::new(),
        });
    }
}

//! CONNECT_FAILED: the control connection to a server address could not be opened.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{ConnectOutcome, Phase, SessionEnd, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        if s.end != SessionEnd::ConnectFailed {
            continue;
        }
        let why = match &s.connect.outcome {
            ConnectOutcome::Refused => {
                "refused (nothing listens there, or a firewall rejects it)".to_string()
            }
            ConnectOutcome::TimedOut => {
                "timed out (a firewall drops it, or the host is down)".to_string()
            }
            ConnectOutcome::Unreachable(e) => format!("unreachable: {e}"),
            ConnectOutcome::Error(e) => e.clone(),
            other => other.label().to_string(),
        };
        let mut evidence = vec![format!("connect {}: {why}", s.server)];
        // A client log in which the client went on to another address (of the other IP
        // family, or not) and got through: this address failed, and the client recovered.
        let recovered_on = |other_family: bool| {
            t.client_log.is_some()
                && t.servers.iter().any(|o| {
                    o.server != s.server
                        && o.end != SessionEnd::ConnectFailed
                        && (o.server.is_ipv4() != s.server.is_ipv4()) == other_family
                })
        };
        // A client that tries a name's IPv6 address, is refused, and gets through on its
        // IPv4 one (or the reverse) did what every client does: the server listens on one
        // family only. The address table shows the refusal; it is not a problem to report.
        if recovered_on(true) && s.connect.outcome == ConnectOutcome::Refused {
            continue;
        }
        let recovered = recovered_on(false) || recovered_on(true);
        if recovered {
            evidence.push("the client then connected to another address".to_string());
        }
        if s.source == "dns" && t.servers.len() > 1 {
            evidence.push(format!(
                "{} is one of {} addresses of {}: clients that pick it fail",
                s.server.ip(),
                t.servers.len(),
                t.target.host
            ));
        }
        out.push(Finding {
            code: Code::ConnectFailed,
            breaks: Vec::new(),
            severity: if recovered {
                Severity::Warning
            } else {
                Severity::Critical
            },
            phase: Phase::Connect,
            server: Some(s.server),
            title: format!("cannot open the control connection to {}", s.server),
            evidence,
            impact: "No client can use the server at this address.".to_string(),
            remedy: format!(
                "Check that the FTP server runs and listens on port {} and that the firewall \
                 and any NAT port forward allow TCP {} to it.",
                s.server.port(),
                s.server.port()
            ),
            fix: Vec::new(),
        });
    }
}

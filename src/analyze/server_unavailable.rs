//! SERVER_UNAVAILABLE: the server refused service at the greeting (421 or another code
//! instead of 220), never greeted, or closed the connection; SESSION_INTERRUPTED: the
//! session stopped after the greeting (closed, 421, timed out, unreadable reply, deadline).

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, SessionEnd, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let greeting: Vec<String> = s.greeting.iter().map(|r| r.text.clone()).collect();
        // After a 220, a failure in the greeting phase (FEAT, SYST) interrupts the session.
        let greeted = s.greeting.last().is_some_and(|r| r.code == 220);
        let (phase, what) = match &s.end {
            SessionEnd::Unavailable => (Phase::Greeting, "refused service".to_string()),
            SessionEnd::Closed(Phase::Greeting) if !greeted => (
                Phase::Greeting,
                "closed the connection without a greeting".to_string(),
            ),
            SessionEnd::TimedOut(Phase::Greeting) if !greeted => (
                Phase::Greeting,
                "sent no greeting within the timeout".to_string(),
            ),
            SessionEnd::ProtocolError(Phase::Greeting) if !greeted => {
                (Phase::Greeting, "sent an unreadable greeting".to_string())
            }
            SessionEnd::Closed(p) => (*p, "closed the control connection".to_string()),
            SessionEnd::TimedOut(p) => (*p, "stopped answering".to_string()),
            SessionEnd::ProtocolError(p) => {
                (*p, "sent bytes that are not an FTP reply".to_string())
            }
            SessionEnd::Deadline(p) => (
                *p,
                "was still being checked when the deadline ran out".to_string(),
            ),
            _ => continue,
        };
        let last_lines: Vec<String> = s
            .lines
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|l| format!("{:?}: {}", l.dir, l.text))
            .collect();
        let mut evidence = greeting;
        evidence.extend(last_lines);
        evidence.dedup();
        let at_greeting = phase == Phase::Greeting && !greeted;
        let when = if phase == Phase::Greeting && greeted {
            "after its greeting".to_string()
        } else {
            format!("{phase:?} phase")
        };
        out.push(Finding {
            code: if at_greeting {
                Code::ServerUnavailable
            } else {
                Code::SessionInterrupted
            },
            severity: Severity::Critical,
            phase,
            server: Some(s.server),
            title: format!("the server {what} ({when})").to_lowercase(),
            evidence,
            impact: if at_greeting {
                "No client can log in.".to_string()
            } else {
                "Clients see the same failure at this step; later checks did not run.".to_string()
            },
            remedy: if at_greeting {
                "A 421 greeting means too many connections or a server in maintenance: check \
                 the server's connection limits (vsftpd max_clients/max_per_ip, ProFTPD \
                 MaxInstances/MaxClients) and its log."
                    .to_string()
            } else {
                "Check the server's log for this session; raise --timeout or --deadline if the \
                 server is just slow."
                    .to_string()
            },
            fix: Vec::new(),
        });
    }
}

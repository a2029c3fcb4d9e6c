//! Active mode (PORT/EPRT), as a client's log shows it: PORT_REFUSED (the server refused
//! the PORT command: `500 Illegal PORT command`, `425 Security: Bad IP`, "not yours"),
//! ACTIVE_MODE_BLOCKED (the server accepted PORT but could not connect back: 425, or
//! no data ever came), ACTIVE_MODE_OK (an active transfer completed). An active-mode
//! session says nothing about passive mode, and no finding here claims it does.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{ActiveOutcome, ActiveTransfer, Phase, ServerSession, Transcript};

const USE_PASSIVE: &str = "Use passive mode, which needs no connection back to the client: \
    `ftp -p` or the `passive` command in the ftp client (Windows ftp.exe has no passive mode: \
    use another client), Transfer mode: Passive in FileZilla and WinSCP.";

fn text(a: &ActiveTransfer) -> Vec<String> {
    let mut e = vec![format!(
        "{} -> {}",
        a.port.command,
        a.port
            .reply
            .as_ref()
            .map_or("(no reply in the log)", |r| r.text.as_str())
    )];
    if let (Some(c), Some(done)) = (&a.command, &a.completion) {
        e.push(format!("{} -> {}", c.command, done.text));
    } else if let Some(done) = &a.completion {
        e.push(format!("then: {}", done.text));
    }
    // What the check itself saw on the data side (`--active`).
    if let Some(from) = a.data_from {
        let twenty = if from.port() == 20 {
            "from port 20, as RFC 959 has it"
        } else {
            "not from port 20"
        };
        e.push(format!(
            "the server connected back from {from} ({twenty}) in {:.1} ms; {} bytes",
            a.connect_us.unwrap_or(0) as f64 / 1000.0,
            a.bytes
        ));
    }
    if let Some(err) = &a.data_error {
        e.push(err.clone());
    }
    e
}

/// Whether some passive transfer of the session worked: then active mode failing is a
/// warning, not a broken session.
fn passive_works(s: &ServerSession) -> bool {
    s.transfers
        .iter()
        .any(|t| t.completion.as_ref().is_some_and(|c| c.code / 100 == 2))
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let severity = if passive_works(s) {
            Severity::Warning
        } else {
            Severity::Critical
        };
        let with = |o: ActiveOutcome| -> Vec<&ActiveTransfer> {
            s.active.iter().filter(|a| a.outcome() == o).collect()
        };
        let (refused, blocked, worked) = (
            with(ActiveOutcome::Refused),
            with(ActiveOutcome::Blocked),
            with(ActiveOutcome::Worked),
        );
        if let Some(first) = refused.first() {
            let verb = first.verb().to_ascii_uppercase();
            // EPRT refused and PORT worked (or the other way): only a client that sends
            // nothing but the refused command fails.
            let other = worked
                .iter()
                .find(|w| !w.verb().eq_ignore_ascii_case(&verb));
            let (severity, impact) = match other {
                Some(w) => (
                    Severity::Info,
                    format!(
                        "Active mode works over {}: a client that tries {verb} first and \
                         then {} keeps working; one that sends only {verb} fails.",
                        w.verb(),
                        w.verb()
                    ),
                ),
                None => (
                    severity,
                    "Active-mode transfers fail for this client: the server will not \
                     connect to the address the client gave (it is not the address the \
                     server sees the client at, e.g. behind NAT, or the server forbids \
                     active mode)."
                        .to_string(),
                ),
            };
            out.push(Finding {
                breaks: Vec::new(),
                code: Code::PortRefused,
                severity,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!("the server refused the client's {verb} command (active mode)"),
                evidence: text(first),
                impact,
                remedy: USE_PASSIVE.to_string(),
                fix: Vec::new(),
            });
        }
        if let (Some(first), Some(local)) = (blocked.first(), s.behind_nat()) {
            let mut evidence = text(first);
            evidence.push(format!(
                "this check's local address {local} is private: it runs behind NAT"
            ));
            out.push(Finding {
                breaks: Vec::new(),
                code: Code::ActiveModeBlocked,
                severity: Severity::Info,
                phase: Phase::Data,
                server: Some(s.server),
                title: "active mode cannot be judged from here: the server could not connect \
                        back, but this check runs behind NAT"
                    .to_string(),
                evidence,
                impact: "A connection from the server to this machine is stopped by this \
                         side's NAT router unless it forwards the port; that says nothing \
                         about the server. Check active mode from a host with a public address."
                    .to_string(),
                remedy: USE_PASSIVE.to_string(),
                fix: Vec::new(),
            });
        } else if let Some(first) = blocked.first() {
            out.push(Finding {
                breaks: Vec::new(),
                code: Code::ActiveModeBlocked,
                severity,
                phase: Phase::Data,
                server: Some(s.server),
                title: "in active mode the server could not connect back to the client".to_string(),
                evidence: text(first),
                impact: "Active-mode transfers fail: the connection from the server to the \
                         client is blocked, by the client's firewall or NAT router (most \
                         often) or by the server's outbound firewall."
                    .to_string(),
                remedy: USE_PASSIVE.to_string(),
                fix: Vec::new(),
            });
        }
        if !worked.is_empty() && blocked.is_empty() {
            out.push(Finding {
                code: Code::ActiveModeOk,
                breaks: Vec::new(),
                severity: Severity::Ok,
                phase: Phase::Data,
                server: Some(s.server),
                title: "an active-mode transfer completed".to_string(),
                evidence: s.active.iter().flat_map(text).take(4).collect(),
                impact: if s.active.iter().any(|a| a.listener.is_some()) {
                    "Active mode works from where this check ran: the server connected back."
                        .to_string()
                } else {
                    "Active mode works from this client. The log shows nothing about \
                     passive mode."
                        .to_string()
                },
                remedy: String::new(),
                fix: Vec::new(),
            });
        }
    }
}

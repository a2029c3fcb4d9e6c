//! LOGIN_FAILED: the login did not succeed, so the passive checks could not run.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Direction, LoginOutcome, Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(login) = &s.login else { continue };
        let (title, remedy) = match login.outcome {
            LoginOutcome::LoggedIn | LoginOutcome::NoReply => continue,
            LoginOutcome::Rejected => (
                format!("the server rejected the login as {}", login.user),
                if login.anonymous {
                    "The server does not allow anonymous logins: give a user with \
                     ftp://USER@host and the password with --password-env VAR or \
                     --password-stdin."
                        .to_string()
                } else {
                    "Check the user name and password (--password-env VAR, --password-stdin or \
                     PASV_DOCTOR_PASSWORD)."
                        .to_string()
                },
            ),
            LoginOutcome::AccountRequired => (
                format!("the server asks for an account (332) for {}", login.user),
                "pasv-doctor does not send ACCT; check with a user that needs no account."
                    .to_string(),
            ),
            LoginOutcome::NoPassword => (
                format!(
                    "the server asks for a password for {} and none was given",
                    login.user
                ),
                "Give the password with --password-env VAR, --password-stdin or the \
                 PASV_DOCTOR_PASSWORD variable."
                    .to_string(),
            ),
        };
        // The server's refusal, in its words: first, where a table shows one line.
        let refusal = s
            .lines
            .iter()
            .rev()
            .find(|l| {
                l.dir == Direction::Received
                    && (l.text.starts_with(['4', '5']) || l.text.starts_with("332"))
            })
            .map(|l| l.text.clone());
        let title = match (&refusal, &login.outcome) {
            (Some(r), LoginOutcome::Rejected) => format!("{title}: {r}"),
            _ => title,
        };
        // The replies to USER and PASS (the password itself is never recorded).
        let mut evidence: Vec<String> = refusal.iter().cloned().collect();
        evidence.extend(
            s.lines
                .iter()
                .filter(|l| {
                    l.text.starts_with("USER ")
                        || l.text.starts_with("PASS ")
                        || (l.dir == Direction::Received
                            && (l.text.starts_with("33")
                                || l.text.starts_with("530")
                                || l.text.starts_with("230")))
                })
                .map(|l| l.text.clone())
                .filter(|l| Some(l) != refusal.as_ref()),
        );
        out.push(Finding {
            code: Code::LoginFailed,
            breaks: Vec::new(),
            severity: Severity::Critical,
            phase: Phase::Login,
            server: Some(s.server),
            title,
            evidence,
            impact: "The passive-mode checks need a login and did not run.".to_string(),
            remedy,
            fix: Vec::new(),
        });
    }
}

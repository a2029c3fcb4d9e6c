//! TLS_SESSION_REUSE_REFUSED: on an FTPS session the server refused the data connection
//! because it did not resume the control connection's TLS session (vsftpd
//! `require_ssl_reuse=YES`: "522 SSL connection failed: session reuse required"; FileZilla
//! Server and ProFTPD: "... TLS session of data connection not resumed"). Logins and
//! directory changes work; every listing and transfer fails for clients that do not resume
//! the session on the data connection. Client logs only: it is what happened to the
//! customer's client; the live check tests the same server setting itself
//! (TLS_SESSION_REUSE_REQUIRED, `tls_session_reuse.rs`).

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, ReplyRecord, Transcript};

/// A reply that refuses a data connection for not resuming the TLS session.
fn refuses_reuse(r: &ReplyRecord) -> bool {
    let text = r.text.to_ascii_lowercase();
    let about_reuse = text.contains("reuse")
        || text.contains("re-use")
        || text.contains("not resumed")
        || text.contains("resumption");
    (r.code == 522 || r.code / 100 == 4) && about_reuse
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    if t.client_log.is_none() {
        return;
    }
    for s in &t.servers {
        let mut evidence: Vec<String> = Vec::new();
        for tr in &s.transfers {
            let replies = tr
                .command
                .as_ref()
                .and_then(|c| c.reply.as_ref())
                .into_iter()
                .chain(tr.completion.as_ref());
            for r in replies.filter(|r| refuses_reuse(r)) {
                let cmd = tr.command.as_ref().map_or("(transfer)", |c| &c.command);
                let line = format!("{cmd} -> {}", r.text);
                if !evidence.contains(&line) {
                    evidence.push(line);
                }
            }
        }
        if evidence.is_empty() {
            continue;
        }
        out.push(Finding {
            code: Code::TlsSessionReuseRefused,
            breaks: Vec::new(),
            severity: Severity::Critical,
            phase: Phase::Data,
            server: Some(s.server),
            title: "the server refused the data connection because it did not resume the TLS \
                    session"
                .to_string(),
            evidence,
            impact: "Logins work, but every encrypted listing and transfer fails for clients \
                     that do not resume the control connection's TLS session on the data \
                     connection (older WinSCP and FileZilla, curl and lftp with some TLS \
                     libraries)."
                .to_string(),
            remedy: "Update the client to a version that resumes TLS sessions on data \
                     connections; or, on the server, stop requiring it (vsftpd \
                     require_ssl_reuse=NO; ProFTPD TLSOptions NoSessionReuseRequired), which \
                     weakens the protection against data-connection theft."
                .to_string(),
            fix: vec![
                "vsftpd: `require_ssl_reuse=NO` in vsftpd.conf, then restart vsftpd".to_string(),
                "ProFTPD: `TLSOptions NoSessionReuseRequired` in the mod_tls section".to_string(),
            ],
        });
    }
}

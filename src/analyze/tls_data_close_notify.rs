//! TLS_DATA_NO_CLOSE_NOTIFY: protected data connections that completed (the server answered
//! 2xx) ended with a bare TCP close instead of a TLS close_notify. Neither side can then
//! tell a complete transfer from a truncated one, and FileZilla fails such transfers ("Server
//! did not properly shut down TLS connection", then "Failed to retrieve directory listing")
//! although the server reported success. A data connection that ended this way and failed
//! is DATA_TRANSFER_FAILED, whose evidence says so.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let evidence: Vec<String> = s
            .transfers
            .iter()
            .filter(|tr| {
                tr.tls.as_ref().is_some_and(|d| d.no_close_notify)
                    && tr.data_error.is_none()
                    && tr.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
            })
            .map(|tr| {
                format!(
                    "{} over {}: {} bytes, then a TCP close without TLS close_notify; then {}",
                    tr.command.as_ref().map_or("(none)", |c| c.command.as_str()),
                    tr.passive.command.command(),
                    tr.bytes,
                    tr.completion.as_ref().map_or("", |r| r.text.as_str())
                )
            })
            .collect();
        if evidence.is_empty() {
            continue;
        }
        out.push(Finding {
            code: Code::TlsDataNoCloseNotify,
            severity: Severity::Warning,
            phase: Phase::Data,
            server: Some(s.server),
            title: "protected data connections end without TLS close_notify".to_string(),
            evidence,
            impact: "FileZilla fails these listings and transfers (\"Server did not properly \
                     shut down TLS connection\") although the server reports success; clients \
                     that accept a bare close go on, and nobody can tell a truncated transfer \
                     from a complete one."
                .to_string(),
            remedy: "Make the server end each data connection's TLS session (close_notify) \
                     before it closes the connection: update the FTP server or its TLS library. \
                     If it already does, look for a firewall, proxy or load balancer that cuts \
                     data connections short."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

//! TLS_DATA_NO_CLOSE_NOTIFY: protected data connections that completed (the server answered
//! 2xx) ended with a bare TCP close instead of a TLS close_notify. Neither side can then
//! tell a complete transfer from a truncated one, and FileZilla fails such transfers ("Server
//! did not properly shut down TLS connection", then "Failed to retrieve directory listing")
//! although the server reported success. A client log that shows the client failing such a
//! transfer makes it critical (an observed failure); DATA_TRANSFER_FAILED leaves it alone.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript, Transfer};

/// A protected data connection that the server completed (2xx) and that ended with a bare
/// TCP close: this rule's, whether or not the client then failed the transfer over it.
pub(super) fn ended_bare(tr: &Transfer) -> bool {
    tr.tls.as_ref().is_some_and(|d| d.no_close_notify)
        && tr.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let ended: Vec<&Transfer> = s.transfers.iter().filter(|tr| ended_bare(tr)).collect();
        if ended.is_empty() {
            continue;
        }
        let evidence: Vec<String> = ended
            .iter()
            .map(|tr| {
                format!(
                    "{} over {}: {}a TCP close without TLS close_notify; then {}{}",
                    tr.command.as_ref().map_or("(none)", |c| c.command.as_str()),
                    tr.passive.label(),
                    if t.client_log.is_some() && tr.bytes == 0 {
                        String::new()
                    } else {
                        format!("{} bytes, then ", tr.bytes)
                    },
                    tr.completion.as_ref().map_or("", |r| r.text.as_str()),
                    tr.data_error
                        .as_ref()
                        .map(|e| format!("; the client failed it: {e}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        // A client that failed the transfer over it is an observed failure.
        let failed = ended.iter().any(|tr| tr.data_error.is_some());
        out.push(Finding {
            code: Code::TlsDataNoCloseNotify,
            breaks: crate::knowledge::clients::strict_close_notify(),
            severity: if failed {
                Severity::Critical
            } else {
                Severity::Warning
            },
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

//! DATA_TRANSFER_FAILED: the data connection opened (or was reset as it opened), but the
//! transfer did not complete (425/426, no completion, a data error), e.g. vsftpd's "425
//! Security: Bad IP connecting." DATA_PATH_OK: transfers completed; the report says what worked. One finding
//! of each kind per server, listing every transfer it covers.

use super::substituted_address_timed_out::substituted_timeout;
use super::tls_data_close_notify::ended_bare;
use super::{phase_of, reply_text};
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{ConnectOutcome, Phase, Transcript, Transfer, show_addr};

/// Whether the transfer's own replies or data show it failing: a client log whose data
/// connection's outcome is not shown counts only on such evidence.
fn seen_failing(tr: &Transfer) -> bool {
    tr.completion.as_ref().is_some_and(|r| r.code >= 400)
        || tr.data_error.is_some()
        || tr.completion_failure.is_some()
}

fn failure_evidence(tr: &Transfer, evidence: &mut Vec<String>) {
    let kind = tr.passive.label();
    if let Some(d) = &tr.data {
        let outcome = match &d.attempt.outcome {
            o if o.not_shown() => "its outcome is not in the log".to_string(),
            ConnectOutcome::Error(e) => format!("error: {e}"),
            other => other.label().to_string(),
        };
        evidence.push(format!(
            "{kind}: data connection {}: {outcome}",
            show_addr(d.attempt.addr)
        ));
    }
    if let Some(c) = &tr.command {
        evidence.push(format!(
            "{kind}: {} -> {}",
            c.command,
            c.reply
                .as_ref()
                .map_or_else(|| c.failure.clone().unwrap_or_default(), |r| r.text.clone())
        ));
    }
    let first = tr
        .command
        .as_ref()
        .and_then(|c| c.reply.as_ref())
        .map(|r| &r.text);
    if let Some(done) = &tr.completion
        && first != Some(&done.text)
    {
        evidence.push(format!("{kind}: completion {}", done.text));
    }
    if let Some(f) = &tr.completion_failure {
        evidence.push(format!("{kind}: completion: {f}"));
    }
    if let Some(e) = &tr.data_error {
        evidence.push(format!("{kind}: data: {e} after {} bytes", tr.bytes));
    }
    if tr.tls.as_ref().is_some_and(|d| d.no_close_notify) {
        evidence.push(format!(
            "{kind}: the data connection ended after {} bytes with a TCP close, without TLS \
             close_notify",
            tr.bytes
        ));
    }
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        // An error while connecting is, in practice, a reset right after the handshake (a
        // refusal or a timeout is DATA_PORT_*): the port answered, the transfer failed.
        // The session-reuse test (a data connection that deliberately offers no TLS session)
        // is judged by TLS_SESSION_REUSE_REQUIRED, not here: its refusal is the answer.
        let connected: Vec<&Transfer> = s
            .transfers
            .iter()
            .filter(|tr| !tr.tls.as_ref().is_some_and(|d| d.fresh_session))
            // A client's data connection to the substituted address that never reached the
            // server is SUBSTITUTED_ADDRESS_TIMED_OUT's: one finding for one cause.
            .filter(|tr| t.client_log.is_none() || !substituted_timeout(s, tr))
            // A failed TLS handshake on the data connection is TLS_DATA_REFUSED's: the
            // transfer's failure is its symptom.
            .filter(|tr| tr.tls.as_ref().is_none_or(|d| d.handshake.error.is_none()))
            .filter(|tr| {
                tr.data
                    .as_ref()
                    .is_none_or(|d| !d.attempt.outcome.not_shown())
                    || seen_failing(tr)
            })
            .filter(|tr| {
                tr.data.as_ref().is_some_and(|d| {
                    matches!(
                        d.attempt.outcome,
                        ConnectOutcome::Connected | ConnectOutcome::Error(_)
                    ) && !d.attempt.outcome.failed_unsaid()
                })
            })
            .collect();
        // A transfer cut at the size limit proved the path; the server may well answer our
        // closing the connection with 426.
        let (ok, mut failed): (Vec<&Transfer>, Vec<&Transfer>) =
            connected.into_iter().partition(|tr| {
                tr.truncated
                    || (tr.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
                        || tr.client_ok.is_some())
                        && tr.data_error.is_none()
            });
        // Completed by the server, then failed by the client over a bare TCP close:
        // TLS_DATA_NO_CLOSE_NOTIFY's, one finding for one cause.
        failed.retain(|tr| !ended_bare(tr));
        if !failed.is_empty() {
            // Whether a data connection opened is known only where the log shows it.
            let opened_unknown = failed.iter().any(|tr| {
                tr.data
                    .as_ref()
                    .is_some_and(|d| d.attempt.outcome.not_shown())
            });
            let mut evidence = Vec::new();
            for tr in &failed {
                failure_evidence(tr, &mut evidence);
            }
            let kinds: Vec<&str> = failed.iter().map(|tr| tr.passive.label()).collect();
            let bad_ip = failed.iter().any(|tr| {
                tr.completion
                    .as_ref()
                    .is_some_and(|r| r.text.contains("Bad IP"))
            });
            let remedy = if bad_ip {
                "vsftpd refuses a data connection that comes from another address than the \
                 control connection (vsftpd's wording; pasv_promiscuous=NO). The client's data connection arrives \
                 from another address: a NAT or proxy with several outside addresses, or a \
                 load balancer. Make both connections leave from one address; set \
                 pasv_promiscuous=YES only if you accept the risk that a third party takes over a \
                 data connection (the check exists against FTP bounce and port-stealing attacks)."
                    .to_string()
            } else {
                "Check the server's log for this transfer: a 425 means it could not open or \
                 accept the data connection, a 426 that it broke off; a firewall or ALG that \
                 resets established data connections gives the same."
                    .to_string()
            };
            out.push(Finding {
                code: Code::DataTransferFailed,
                breaks: Vec::new(),
                severity: Severity::Critical,
                phase: if failed.iter().any(|tr| tr.data_error.is_some()) {
                    Phase::Data
                } else {
                    phase_of(failed[0].passive.command)
                },
                server: Some(s.server),
                title: if opened_unknown {
                    format!(
                        "the transfer failed over {} (the log does not show whether its data \
                         connection opened)",
                        kinds.join(" and ")
                    )
                } else {
                    format!(
                        "the data connection opened but the transfer failed over {}",
                        kinds.join(" and ")
                    )
                },
                evidence,
                impact: if opened_unknown {
                    "Listings and transfers fail; the log does not show whether the data port \
                     was reachable."
                } else {
                    "Listings and transfers fail for every client, although the port is \
                     reachable."
                }
                .to_string(),
                remedy,
                fix: Vec::new(),
            });
        }
        if !ok.is_empty() {
            let evidence: Vec<String> = ok
                .iter()
                .map(|tr| {
                    let addr = tr
                        .data
                        .as_ref()
                        .map(|d| show_addr(d.attempt.addr))
                        .unwrap_or_default();
                    format!(
                        "{} over {} via {addr}: {}{}, {}",
                        tr.command
                            .as_ref()
                            .map_or("a transfer", |c| c.command.as_str()),
                        tr.passive.label(),
                        if t.client_log.is_some() && tr.bytes == 0 {
                            "bytes not in the log".to_string()
                        } else {
                            format!("{} bytes", tr.bytes)
                        },
                        if tr.truncated {
                            " (reading stopped at the size limit)"
                        } else {
                            ""
                        },
                        match (&tr.completion, &tr.client_ok) {
                            (None, Some(words)) => format!("the client's words: {words}"),
                            (done, _) => reply_text(done.as_ref()),
                        }
                    )
                })
                .collect();
            let mut kinds: Vec<&str> = ok.iter().map(|tr| tr.passive.label()).collect();
            kinds.dedup();
            let mut via: Vec<String> = ok
                .iter()
                .filter_map(|tr| tr.data.as_ref())
                .map(|d| {
                    if crate::transcript::is_unknown(d.attempt.addr) {
                        "an address not in the log".to_string()
                    } else {
                        d.attempt.addr.ip().to_string()
                    }
                })
                .collect();
            via.sort();
            via.dedup();
            out.push(Finding {
                code: Code::DataPathOk,
                breaks: Vec::new(),
                severity: Severity::Ok,
                phase: Phase::Data,
                server: Some(s.server),
                title: format!(
                    "real transfers over {} completed (data via {})",
                    kinds.join(" and "),
                    via.join(", ")
                ),
                evidence,
                impact: "Clients that connect where these transfers did can list and transfer."
                    .to_string(),
                remedy: "Nothing to fix.".to_string(),
                fix: Vec::new(),
            });
        }
    }
}

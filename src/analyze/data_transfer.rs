//! DATA_TRANSFER_FAILED: the data connection opened, but the transfer did not complete
//! (425/426, no completion, a data error), e.g. vsftpd's "425 Security: Bad IP
//! connecting." DATA_PATH_OK: a transfer completed; the report says what worked.

use super::{phase_of, reply_text};
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{ConnectOutcome, Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        for tr in &s.transfers {
            let Some(data) = &tr.data else { continue };
            if data.attempt.outcome != ConnectOutcome::Connected {
                continue;
            }
            let kind = tr.passive.command;
            let command = tr.command.as_ref().map_or("(none)", |c| c.command.as_str());
            let completed = tr.completion.as_ref().is_some_and(|r| r.code / 100 == 2);
            if completed && tr.data_error.is_none() {
                let ms = tr.data_end_us.unwrap_or(0) as f64 / 1000.0;
                out.push(Finding {
                    code: Code::DataPathOk,
                    severity: Severity::Ok,
                    phase: phase_of(kind),
                    server: Some(s.server),
                    title: format!(
                        "{command} over {} moved {} bytes through {}",
                        kind.command(),
                        tr.bytes,
                        data.attempt.addr
                    ),
                    evidence: vec![
                        format!(
                            "data connection {} in {:.1} ms",
                            data.attempt.addr,
                            data.attempt.elapsed_us as f64 / 1000.0
                        ),
                        format!("{command} -> {}", reply_text(tr.completion.as_ref())),
                        format!("data read to its end in {ms:.1} ms"),
                    ],
                    impact: format!(
                        "Clients that connect to {} for {} transfers work.",
                        data.attempt.addr.ip(),
                        kind.command()
                    ),
                    remedy: "Nothing to fix.".to_string(),
                });
                continue;
            }
            let completion = reply_text(tr.completion.as_ref());
            let mut evidence = vec![format!("data connection {}: connected", data.attempt.addr)];
            if let Some(c) = &tr.command {
                evidence.push(format!(
                    "{} -> {}",
                    c.command,
                    c.reply
                        .as_ref()
                        .map_or_else(|| c.failure.clone().unwrap_or_default(), |r| r.text.clone())
                ));
            }
            if tr.completion.is_some() {
                evidence.push(format!("completion: {completion}"));
            }
            if let Some(f) = &tr.completion_failure {
                evidence.push(format!("completion: {f}"));
            }
            if let Some(e) = &tr.data_error {
                evidence.push(format!("data: {e} after {} bytes", tr.bytes));
            }
            let bad_ip = completion.contains("Bad IP");
            let remedy = if bad_ip {
                "vsftpd refuses a data connection that comes from another address than the \
                 control connection (pasv_promiscuous=NO). The client's data connection arrives \
                 from another address: a NAT or proxy with several outside addresses, or a \
                 load balancer. Make both connections leave from one address; set \
                 pasv_promiscuous=YES only if you accept the bounce risk."
                    .to_string()
            } else {
                "Check the server's log for this transfer: a 425 means it could not open or \
                 accept the data connection, a 426 that it broke off; a firewall or ALG that \
                 resets established data connections gives the same."
                    .to_string()
            };
            out.push(Finding {
                code: Code::DataTransferFailed,
                severity: Severity::Critical,
                phase: if tr.data_error.is_some() {
                    Phase::Data
                } else {
                    phase_of(kind)
                },
                server: Some(s.server),
                title: format!(
                    "the {} data connection opened but the transfer failed",
                    kind.command()
                ),
                evidence,
                impact: "Listings and transfers fail for every client, although the port is \
                         reachable."
                    .to_string(),
                remedy,
            });
        }
    }
}

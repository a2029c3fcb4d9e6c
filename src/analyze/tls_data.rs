//! TLS_DATA_REFUSED: protected data connections do not work: PROT P refused, or the TLS
//! handshake on a data connection that offered the control session failed.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        // A client log may show the data connection's TLS failing and not the control
        // connection's TLS set-up (a fragment).
        let mut evidence = Vec::new();
        if let Some(tls) = &s.tls
            && let Some(prot) = &tls.prot
            && let Some(r) = &prot.reply
            && r.code / 100 != 2
        {
            evidence.push(format!("{} -> {}", prot.command, r.text));
        }
        for tr in s
            .transfers
            .iter()
            .filter(|tr| tr.tls.as_ref().is_some_and(|d| !d.fresh_session))
        {
            if let Some(d) = &tr.tls
                && let Some(e) = &d.handshake.error
            {
                evidence.push(format!(
                    "{} data connection TLS handshake: {e}",
                    tr.passive.label()
                ));
                if let Some(c) = &tr.completion {
                    evidence.push(format!("then: {}", c.text));
                }
            }
        }
        if evidence.is_empty() {
            continue;
        }
        out.push(Finding {
            code: Code::TlsDataRefused,
            breaks: Vec::new(),
            severity: Severity::Critical,
            phase: Phase::Data,
            server: Some(s.server),
            title: "protected (PROT P) data connections fail".to_string(),
            evidence,
            impact: "FTPS clients log in but every listing and transfer fails.".to_string(),
            remedy: "Allow PROT P and TLS on data connections (vsftpd `force_local_data_ssl`, \
                     ProFTPD mod_tls `TLSRequired`); check that a firewall or ALG does not \
                     break TLS on the passive ports."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

//! TLS_SESSION_REUSE_REQUIRED: the server refuses a data connection whose TLS handshake
//! does not resume the control session (vsftpd `require_ssl_reuse=YES`, the default;
//! ProFTPD 1.3.7+), while resumed ones work. Good security, but clients without session
//! reuse on data connections fail.

use crate::finding::{Code, Finding, Severity};
use crate::knowledge::clients::without_tls_reuse;
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let resumed_ok = s.transfers.iter().any(|tr| {
            tr.tls
                .as_ref()
                .is_some_and(|d| !d.fresh_session && d.handshake.error.is_none())
                && tr.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
        });
        let Some(fresh) = s
            .transfers
            .iter()
            .find(|tr| tr.tls.as_ref().is_some_and(|d| d.fresh_session))
        else {
            continue;
        };
        let fresh_ok = fresh
            .tls
            .as_ref()
            .is_some_and(|d| d.handshake.error.is_none())
            && fresh.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
            && fresh.data_error.is_none();
        if !resumed_ok || fresh_ok {
            continue;
        }
        let mut evidence = vec![
            "a data connection that resumed the control session: transfer completed".to_string(),
        ];
        if let Some(d) = &fresh.tls
            && let Some(e) = &d.handshake.error
        {
            evidence.push(format!("a data connection with a new TLS session: {e}"));
        }
        if let Some(c) = &fresh.completion {
            evidence.push(format!("then: {}", c.text));
        }
        if let Some(e) = &fresh.data_error {
            evidence.push(format!("data: {e}"));
        }
        out.push(Finding {
            code: Code::TlsSessionReuseRequired,
            severity: Severity::Info,
            phase: Phase::Data,
            server: Some(s.server),
            title: "the server requires data connections to resume the control TLS session"
                .to_string(),
            evidence,
            impact: format!(
                "Clients that resume the session (FileZilla, WinSCP, curl, lftp, basic-ftp) \
                 work. These do not, and get 522 or a failed handshake on every transfer: {}.",
                without_tls_reuse().join(", ")
            ),
            breaks: without_tls_reuse(),
            remedy: "Keep it (it stops data-connection hijacking) unless such clients must work: \
                     vsftpd `require_ssl_reuse=NO`; ProFTPD `TLSOptions NoSessionReuseRequired`."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

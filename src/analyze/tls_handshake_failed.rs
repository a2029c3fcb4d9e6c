//! TLS_HANDSHAKE_FAILED: the TLS handshake on the control connection failed, with the
//! alert or reason (an old TLS version only, no common cipher, a certificate refused).

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(tls) = &s.tls else { continue };
        let Some(hs) = &tls.handshake else { continue };
        let Some(error) = &hs.error else { continue };
        let cert_problem = tls
            .verdict
            .as_ref()
            .is_some_and(|v| *v != crate::transcript::CertVerdict::Trusted);
        let old_tls = error.contains("no TLS version or cipher in common")
            || error.contains("ProtocolVersion");
        out.push(Finding {
            code: Code::TlsHandshakeFailed,
            severity: Severity::Critical,
            phase: Phase::Greeting,
            server: Some(s.server),
            title: if old_tls {
                "the TLS handshake failed: the server speaks no TLS version this check (or a \
                 current client) accepts"
                    .to_string()
            } else if cert_problem {
                "the TLS handshake was stopped because the certificate did not verify".to_string()
            } else {
                "the TLS handshake on the control connection failed".to_string()
            },
            evidence: vec![format!("{:?} handshake: {error}", tls.mode).to_lowercase()],
            impact: "FTPS clients cannot connect; only plain FTP (if offered) works.".to_string(),
            remedy: if old_tls {
                "Enable TLS 1.2 and 1.3 with modern ciphers on the server (vsftpd \
                 `ssl_tlsv1_2=YES`; ProFTPD `TLSProtocol TLSv1.2 TLSv1.3`); TLS 1.0/1.1 are \
                 refused by current clients."
                    .to_string()
            } else if cert_problem {
                "Fix the certificate (see the certificate finding), or run with --insecure to \
                 check the rest while it is being fixed."
                    .to_string()
            } else {
                "Check the server's TLS configuration and log for this handshake.".to_string()
            },
            fix: Vec::new(),
        });
    }
}

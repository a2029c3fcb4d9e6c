//! TLS_HANDSHAKE_FAILED: the TLS handshake on the control connection failed, with the
//! alert or reason (an old TLS version only, no common cipher, a certificate refused, a
//! client certificate required, plain text where TLS should be).

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, TlsRequest, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(tls) = &s.tls else { continue };
        let Some(hs) = &tls.handshake else { continue };
        let Some(error) = &hs.error else { continue };
        let cert_problem = tls
            .verdict
            .as_ref()
            .is_some_and(|v| *v != crate::transcript::CertVerdict::Trusted);
        let old_tls = error.contains("no TLS version") || error.contains("protocol_version");
        let client_cert = error.contains("client certificate");
        let plain = error.contains("plain text");
        out.push(Finding {
            code: Code::TlsHandshakeFailed,
            breaks: Vec::new(),
            severity: Severity::Critical,
            phase: Phase::Greeting,
            server: Some(s.server),
            title: if client_cert {
                "the TLS handshake failed: the server requires a client certificate".to_string()
            } else if old_tls {
                "the TLS handshake failed: the server speaks no TLS version this check (or a \
                 current client) accepts"
                    .to_string()
            } else if cert_problem {
                "the TLS handshake was stopped because the certificate did not verify".to_string()
            } else if plain {
                "the TLS handshake failed: the server answered in plain text".to_string()
            } else {
                "the TLS handshake on the control connection failed".to_string()
            },
            evidence: vec![format!("{} handshake: {error}", tls.mode.as_str())],
            impact: "FTPS clients cannot connect; only plain FTP (if offered) works.".to_string(),
            remedy: if client_cert {
                "Give clients a certificate the server trusts, or stop requiring one (vsftpd \
                 `require_cert=NO`; ProFTPD `TLSVerifyClient off`). pasv-doctor has none to \
                 present, so the passive checks could not run."
                    .to_string()
            } else if old_tls {
                "Enable TLS 1.2 and 1.3 with modern ciphers on the server (vsftpd \
                 `ssl_tlsv1_2=YES`; ProFTPD `TLSProtocol TLSv1.2 TLSv1.3`); TLS 1.0/1.1 are \
                 refused by current clients."
                    .to_string()
            } else if cert_problem {
                "Fix the certificate (see the certificate finding), or run with --insecure to \
                 check the rest while it is being fixed."
                    .to_string()
            } else if plain && tls.mode == TlsRequest::Implicit {
                "This port speaks plain FTP, not implicit TLS: check it with ftp:// (explicit \
                 FTPS, AUTH TLS), or enable implicit FTPS on its own port (990; vsftpd \
                 `implicit_ssl=YES`)."
                    .to_string()
            } else if plain {
                "The server accepted AUTH TLS but went on in plain text: check its TLS setup \
                 and log, and whether a proxy or FTP helper (ALG) between here and the server \
                 answers AUTH TLS in its place."
                    .to_string()
            } else {
                "Check the server's TLS configuration and log for this handshake.".to_string()
            },
            fix: Vec::new(),
        });
    }
}

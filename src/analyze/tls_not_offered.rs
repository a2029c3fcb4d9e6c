//! TLS_NOT_OFFERED: the server refused AUTH TLS when TLS was required (`--tls explicit`);
//! the check stopped before sending a password in clear. In auto mode a refusal is no
//! finding: the report's TLS line and the JSON say the session went on in plain text, and
//! CLEARTEXT_LOGIN says what that exposed (a plain FTP server should not be flagged on every
//! monitoring run for being plain).

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, TlsRequest, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(tls) = &s.tls else { continue };
        if tls.handshake.is_some() {
            continue;
        }
        let Some(auth) = &tls.auth else { continue };
        let reply = auth.reply.as_ref().map_or_else(
            || auth.failure.clone().unwrap_or_default(),
            |r| r.text.clone(),
        );
        let required = t.settings.tls == TlsRequest::Explicit;
        if !required {
            continue;
        }
        out.push(Finding {
            code: Code::TlsNotOffered,
            breaks: Vec::new(),
            severity: if required { Severity::Critical } else { Severity::Info },
            phase: Phase::Greeting,
            server: Some(s.server),
            title: if required {
                "the server refuses AUTH TLS, so FTPS is not possible (the check stopped before the login)".to_string()
            } else {
                "the server does not offer FTPS (AUTH TLS refused); the check went on in plain text".to_string()
            },
            evidence: vec![format!("AUTH TLS -> {reply}")],
            impact: "Clients that require FTPS (FileZilla's \"Require explicit FTP over TLS\", \
                     curl --ssl-reqd, lftp with ftp:ssl-force) cannot connect; others send \
                     passwords in clear."
                .to_string(),
            remedy: "Enable FTPS with a certificate: vsftpd `ssl_enable=YES` with \
                     `rsa_cert_file`/`rsa_private_key_file`; ProFTPD mod_tls (`TLSEngine on`); \
                     Pure-FTPd `--tls=1`; FileZilla Server and IIS: bind a certificate to the FTP \
                     site."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

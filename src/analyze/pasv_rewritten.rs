//! PASV_REWRITTEN_IN_TRANSIT: the PASV address differs between a plain-text session and a
//! TLS session on the same server: a router's FTP helper (ALG) rewrites the plain 227 but
//! cannot see inside TLS, so plain FTP works only thanks to the router and FTPS fails until
//! the server advertises its external address itself.

use super::distinct_advertised;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(plain) = &s.plain_comparison else {
            continue;
        };
        let Some(sample) = &plain.sample else {
            continue;
        };
        let Some(plain_ip) = sample.advertised.as_ref().and_then(|a| a.address) else {
            continue;
        };
        let tls_addrs = distinct_advertised(s);
        let Some((tls_ip, tls_reply)) = tls_addrs.first() else {
            continue;
        };
        if *tls_ip == plain_ip {
            continue;
        }
        let plain_reply = sample
            .exchange
            .reply
            .as_ref()
            .map_or_else(String::new, |r| r.text.clone());
        out.push(Finding {
            code: Code::PasvRewrittenInTransit,
            breaks: Vec::new(),
            severity: Severity::Critical,
            phase: Phase::Pasv,
            server: Some(s.server),
            title: format!(
                "PASV says {plain_ip} in plain text but {tls_ip} under TLS: a router rewrites plain FTP"
            ),
            evidence: vec![
                format!("plain session: {plain_reply}"),
                format!("TLS session: {tls_reply}"),
            ],
            impact: "Plain FTP works only because a router's FTP helper rewrites the reply; FTPS \
                     clients get the server's own (unreachable) address and fail unless they \
                     ignore it."
                .to_string(),
            remedy: format!(
                "Make the server advertise {plain_ip} for TLS sessions too: ProFTPD \
                 `TLSMasqueradeAddress {plain_ip}` (or `MasqueradeAddress`), vsftpd \
                 `pasv_address={plain_ip}`, Pure-FTPd `ForcePassiveIP {plain_ip}`; then the \
                 router's helper is not needed."
            ),
            fix: Vec::new(),
        });
    }
}

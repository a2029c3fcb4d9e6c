//! TLS_DATA_CERT_CHANGED: a data connection presented another certificate than the control
//! connection (a full handshake on the data connection shows its chain; a resumed one shows
//! none and cannot differ). A load balancer whose nodes have different certificates, or a
//! TLS proxy on the passive ports, does this. FileZilla compares the two and refuses the
//! data connection; clients that verify each connection on its own accept a trusted one.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{CertInfo, CertVerdict, Phase, Transcript};

fn describe(c: &CertInfo) -> String {
    format!(
        "subject {}, issuer {}, names {}, SHA-256 {}",
        c.subject,
        c.issuer,
        c.sans.join(", "),
        c.sha256.as_deref().unwrap_or("unknown")
    )
}

fn verdict_words(v: Option<&CertVerdict>) -> String {
    match v {
        Some(CertVerdict::Trusted) => "trusted".to_string(),
        Some(CertVerdict::Expired) => "expired".to_string(),
        Some(CertVerdict::NotYetValid) => "not yet valid".to_string(),
        Some(CertVerdict::NameMismatch) => "not valid for this host name".to_string(),
        Some(CertVerdict::UnknownIssuer) => "unknown issuer".to_string(),
        Some(CertVerdict::SelfSigned) => "self-signed".to_string(),
        Some(CertVerdict::Invalid(why)) => format!("invalid: {why}"),
        None => "not verified".to_string(),
    }
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(tls) = &s.tls else { continue };
        let mut evidence = Vec::new();
        if let Some(c) = &tls.certificate {
            evidence.push(format!("control connection: {}", describe(c)));
        }
        let mut all_trusted = true;
        for tr in &s.transfers {
            let Some(d) = &tr.tls else { continue };
            let Some(cert) = &d.certificate else { continue };
            all_trusted &= d.verdict == Some(CertVerdict::Trusted);
            evidence.push(format!(
                "{} data connection{}: {} ({})",
                tr.passive.label(),
                if d.fresh_session {
                    " (new TLS session)"
                } else {
                    ""
                },
                describe(cert),
                verdict_words(d.verdict.as_ref())
            ));
        }
        if evidence.len() < 2 {
            continue;
        }
        out.push(Finding {
            code: Code::TlsDataCertChanged,
            breaks: Vec::new(),
            severity: if all_trusted {
                Severity::Warning
            } else {
                Severity::Critical
            },
            phase: Phase::Data,
            server: Some(s.server),
            title: "data connections present another TLS certificate than the control connection"
                .to_string(),
            evidence,
            impact: if all_trusted {
                "FileZilla refuses such data connections (\"Primary connection and data \
                 connection certificates don't match\"), so its listings and transfers fail; \
                 clients that verify each connection on its own accept them."
                    .to_string()
            } else {
                "Clients refuse the data connections' certificate, so listings and transfers \
                 fail (FileZilla also because it differs from the control connection's)."
                    .to_string()
            },
            remedy: "Serve the control connection's certificate and key on the data connections \
                     too: every node behind a load balancer, and any TLS proxy in front of the \
                     passive ports, needs the same certificate (and should let data connections \
                     resume the control session). A certificate nobody configured can also mean \
                     the data connections are intercepted."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

//! The certificate rule: TLS_CERT_EXPIRED, TLS_CERT_EXPIRING (within --cert-warn-days),
//! TLS_CERT_NAME_MISMATCH, TLS_CERT_UNTRUSTED (unknown issuer, self-signed, not yet valid,
//! invalid), one finding for each problem the probe found. A verifier stops at its first
//! objection, so the probe records every problem (`ControlTls::problems`); an untrusted or
//! wrongly named certificate never hides that it has expired or soon will, and an expired
//! one never hides that it is untrusted. Each fix names the file and directive of the server
//! product recognised (`knowledge::servers::certificate_setting`).

use crate::finding::{Code, Finding, Severity};
use crate::knowledge::servers::{CertChange, certificate_setting, fingerprint};
use crate::transcript::{CertVerdict, ControlTls, Phase, Transcript};

/// Every problem with the control connection's certificate, each once, in the order found:
/// the recorded problems (or the verdict alone, in transcripts from before they were
/// recorded), and an expiry the dates show.
fn problems(tls: &ControlTls, days_left: i64) -> Vec<CertVerdict> {
    let mut all: Vec<CertVerdict> = Vec::new();
    let recorded = if tls.problems.is_empty() {
        tls.verdict.iter().cloned().collect()
    } else {
        tls.problems.clone()
    };
    for v in recorded {
        if v != CertVerdict::Trusted && !all.contains(&v) {
            all.push(v);
        }
    }
    if days_left < 0 && !all.contains(&CertVerdict::Expired) {
        all.insert(0, CertVerdict::Expired);
    }
    all
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(tls) = &s.tls else { continue };
        let Some(cert) = &tls.certificate else {
            continue;
        };
        let days_left = (cert.not_after_unix - t.settings.checked_at_unix).div_euclid(86_400);
        let until = unix_date(cert.not_after_unix);
        let found = problems(tls, days_left);
        let mut evidence = vec![
            format!("subject: {}", cert.subject),
            format!("issuer: {}", cert.issuer),
            format!("names: {}", cert.sans.join(", ")),
            format!("valid until {until} ({days_left} days left)"),
        ];
        if found.len() > 1 {
            let all: Vec<String> = found.iter().map(CertVerdict::describe).collect();
            evidence.push(format!("problems found: {}", all.join("; ")));
        }
        if tls.insecure && !found.is_empty() {
            evidence.push("the check went on because of --insecure".to_string());
        }
        let host = &t.target.host;
        let product = fingerprint(s).product;
        let mut push = |code, severity, title: String, remedy: String, change| {
            // curl and lftp verify the certificate by default and refuse the connection;
            // FileZilla and WinSCP ask the user. A certificate about to expire breaks none.
            let breaks = if code == Code::TlsCertExpiring {
                Vec::new()
            } else {
                crate::knowledge::clients::verifying_certificates()
            };
            out.push(Finding {
                code,
                breaks,
                severity,
                phase: Phase::Greeting,
                server: Some(s.server),
                title,
                evidence: evidence.clone(),
                impact: "FTPS clients warn or refuse to connect (FileZilla asks the user, curl \
                         and lftp refuse by default)."
                    .to_string(),
                remedy,
                fix: certificate_setting(product, change),
            });
        };
        for problem in &found {
            match problem {
                CertVerdict::Expired if days_left < 0 => push(
                    Code::TlsCertExpired,
                    Severity::Critical,
                    format!(
                        "the certificate expired {} days ago, on {until}",
                        -days_left
                    ),
                    "Renew the certificate, install it where the FTP server reads it (below), \
                     restart the server, and automate the renewal."
                        .to_string(),
                    CertChange::Replace,
                ),
                // The leaf is in date: what expired is an intermediate the server sends.
                CertVerdict::Expired => push(
                    Code::TlsCertExpired,
                    Severity::Critical,
                    format!(
                        "a certificate in the chain has expired (the server's own is valid \
                         until {until}): an outdated intermediate"
                    ),
                    "Send the intermediates the CA issues today with the certificate.".to_string(),
                    CertChange::Chain,
                ),
                CertVerdict::NotYetValid => push(
                    Code::TlsCertUntrusted,
                    Severity::Critical,
                    "the certificate is not valid yet (check the server's clock)".to_string(),
                    "Fix the server's clock, or install a certificate that is valid now."
                        .to_string(),
                    CertChange::Replace,
                ),
                CertVerdict::NameMismatch => push(
                    Code::TlsCertNameMismatch,
                    Severity::Critical,
                    format!(
                        "the certificate is not valid for {host} (it names {})",
                        if cert.sans.is_empty() {
                            "no host at all".to_string()
                        } else {
                            cert.sans.join(", ")
                        }
                    ),
                    format!(
                        "Install a certificate whose names include {host}, or have clients \
                         connect by a name it has."
                    ),
                    CertChange::Replace,
                ),
                CertVerdict::SelfSigned => push(
                    Code::TlsCertUntrusted,
                    Severity::Warning,
                    "the certificate is self-signed".to_string(),
                    "Install a certificate from a public CA (for example Let's Encrypt); until \
                     then clients must trust this one by hand."
                        .to_string(),
                    CertChange::Replace,
                ),
                CertVerdict::UnknownIssuer => push(
                    Code::TlsCertUntrusted,
                    Severity::Warning,
                    "the certificate's issuer is not trusted (or an intermediate certificate \
                     is missing)"
                        .to_string(),
                    "Send the full chain (the certificate, then its intermediates) or use a \
                     publicly trusted CA; --ca-file trusts a private CA for this check."
                        .to_string(),
                    CertChange::Chain,
                ),
                CertVerdict::Invalid(why) => push(
                    Code::TlsCertUntrusted,
                    Severity::Warning,
                    format!("the certificate does not verify: {why}"),
                    "Configure the server's own certificate for this host, first in its file \
                     and followed by its intermediates, with its private key."
                        .to_string(),
                    CertChange::LeafFirst,
                ),
                CertVerdict::Trusted => {}
            }
        }
        let expired = found.contains(&CertVerdict::Expired) && days_left < 0;
        if !expired && days_left < i64::from(t.settings.cert_warn_days) {
            push(
                Code::TlsCertExpiring,
                Severity::Warning,
                format!("the certificate expires in {days_left} days, on {until}"),
                "Renew the certificate before it expires, install it where the FTP server \
                 reads it (below), and automate the renewal."
                    .to_string(),
                CertChange::Replace,
            );
        }
    }
}

/// A Unix time as a calendar date (UTC), without a time library.
pub fn unix_date(t: i64) -> String {
    let days = t.div_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::unix_date(0), "1970-01-01");
        assert_eq!(super::unix_date(1_795_000_000), "2026-11-18");
        assert_eq!(super::unix_date(951_782_400), "2000-02-29");
    }
}

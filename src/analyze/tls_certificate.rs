//! The certificate rule: TLS_CERT_EXPIRED, TLS_CERT_EXPIRING (within --cert-warn-days),
//! TLS_CERT_NAME_MISMATCH, TLS_CERT_UNTRUSTED (unknown issuer, self-signed, invalid), from
//! the verifier's verdict and the certificate's dates at the time of the check.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{CertVerdict, Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(tls) = &s.tls else { continue };
        let Some(cert) = &tls.certificate else {
            continue;
        };
        let days_left = (cert.not_after_unix - t.settings.checked_at_unix).div_euclid(86_400);
        let mut evidence = vec![
            format!("subject: {}", cert.subject),
            format!("issuer: {}", cert.issuer),
            format!("names: {}", cert.sans.join(", ")),
            format!(
                "valid until {} ({} days left)",
                unix_date(cert.not_after_unix),
                days_left
            ),
        ];
        if tls.insecure
            && tls
                .verdict
                .as_ref()
                .is_some_and(|v| *v != CertVerdict::Trusted)
        {
            evidence.push("the check went on because of --insecure".to_string());
        }
        let host = &t.target.host;
        let (code, severity, title, remedy) = match &tls.verdict {
            Some(CertVerdict::Expired) => (
                Code::TlsCertExpired,
                Severity::Critical,
                format!("the certificate expired {} days ago", -days_left),
                "Renew the certificate and reload the FTP server.".to_string(),
            ),
            Some(CertVerdict::NotYetValid) => (
                Code::TlsCertUntrusted,
                Severity::Critical,
                "the certificate is not valid yet (check the server's clock)".to_string(),
                "Fix the server's clock or the certificate's dates.".to_string(),
            ),
            Some(CertVerdict::NameMismatch) => (
                Code::TlsCertNameMismatch,
                Severity::Critical,
                format!("the certificate is not valid for {host}"),
                format!("Use a certificate whose names include {host}, or connect by a name it has."),
            ),
            Some(CertVerdict::SelfSigned) => (
                Code::TlsCertUntrusted,
                Severity::Warning,
                "the certificate is self-signed".to_string(),
                "Use a certificate from a public CA (for example Let's Encrypt); until then \
                 clients must trust this one by hand."
                    .to_string(),
            ),
            Some(CertVerdict::UnknownIssuer) => (
                Code::TlsCertUntrusted,
                Severity::Warning,
                "the certificate's issuer is not trusted (or an intermediate certificate is missing)".to_string(),
                "Send the full chain (leaf plus intermediates) or use a publicly trusted CA; \
                 --ca-file trusts a private CA for this check."
                    .to_string(),
            ),
            Some(CertVerdict::Invalid(why)) => (
                Code::TlsCertUntrusted,
                Severity::Warning,
                format!("the certificate does not verify: {why}"),
                "Replace the certificate.".to_string(),
            ),
            Some(CertVerdict::Trusted) | None if days_left < i64::from(t.settings.cert_warn_days) => (
                Code::TlsCertExpiring,
                Severity::Warning,
                format!("the certificate expires in {days_left} days"),
                "Renew the certificate before it expires, and automate the renewal.".to_string(),
            ),
            _ => continue,
        };
        out.push(Finding {
            breaks: Vec::new(),
            code,
            severity,
            phase: Phase::Greeting,
            server: Some(s.server),
            title,
            evidence,
            impact: "FTPS clients warn or refuse to connect (FileZilla asks the user, curl and \
                     lftp refuse by default)."
                .to_string(),
            remedy,
            fix: Vec::new(),
        });
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

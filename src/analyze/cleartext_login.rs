//! CLEARTEXT_LOGIN: a real password went over the network unencrypted. Info, not a
//! warning: it does not break transfers, and a monitoring verdict should keep meaning
//! "the data path works"; the finding still says it plainly.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        // The plain-text comparison session (--compare-plain) sends the password in clear on
        // purpose; say so.
        if let Some(plain) = &s.plain_comparison
            && let Some(login) = &plain.login
            && login.password_sent
            && !login.anonymous
        {
            out.push(Finding {
                code: Code::CleartextLogin,
                breaks: Vec::new(),
                severity: Severity::Info,
                phase: Phase::Login,
                server: Some(s.server),
                title: format!(
                    "the password for {} was sent unencrypted by the plain-text comparison \
                     session (--compare-plain)",
                    login.user
                ),
                evidence: vec!["plain_comparison: USER/PASS without TLS".to_string()],
                impact: "Anyone on the path could read the password during that session."
                    .to_string(),
                remedy: "Leave out --compare-plain for real accounts, or change the password \
                         if the path is not trusted."
                    .to_string(),
                fix: Vec::new(),
            });
        }
        let Some(login) = &s.login else { continue };
        if !login.password_sent || login.tls || login.anonymous {
            continue;
        }
        let offers_tls = s.features().iter().any(|f| {
            f.to_ascii_uppercase().starts_with("AUTH") && f.to_ascii_uppercase().contains("TLS")
        });
        out.push(Finding {
            code: Code::CleartextLogin,
            breaks: Vec::new(),
            severity: Severity::Info,
            phase: Phase::Login,
            server: Some(s.server),
            title: format!("the password for {} was sent unencrypted", login.user),
            evidence: vec![if offers_tls {
                "the server offers AUTH TLS (FEAT), but the session did not use it".to_string()
            } else if s.feat.as_ref().and_then(|f| f.reply.as_ref()).is_some() {
                "the server does not offer AUTH TLS in its FEAT reply".to_string()
            } else {
                // No FEAT reply seen (a client log without one): say only what was seen.
                "PASS was sent before any AUTH TLS; whether the server offers TLS is not \
                 known (no FEAT reply seen)"
                    .to_string()
            }],
            impact: "Anyone on the path can read the password.".to_string(),
            remedy: "Enable FTPS on the server (vsftpd ssl_enable=YES, ProFTPD mod_tls, \
                     Pure-FTPd --tls=1) and require it for logins."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

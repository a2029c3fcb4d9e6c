//! CLEARTEXT_LOGIN: a real password went over the network unencrypted. Info, not a
//! warning: it does not break transfers, and a monitoring verdict should keep meaning
//! "the data path works"; the finding still says it plainly.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(login) = &s.login else { continue };
        if !login.password_sent || login.tls || login.anonymous {
            continue;
        }
        let offers_tls = s.features().iter().any(|f| {
            f.to_ascii_uppercase().starts_with("AUTH") && f.to_ascii_uppercase().contains("TLS")
        });
        out.push(Finding {
            code: Code::CleartextLogin,
            severity: Severity::Info,
            phase: Phase::Login,
            server: Some(s.server),
            title: format!("the password for {} was sent unencrypted", login.user),
            evidence: vec![if offers_tls {
                "the server offers AUTH TLS (FEAT), but the session did not use it".to_string()
            } else {
                "the server does not offer AUTH TLS in its FEAT reply".to_string()
            }],
            impact: "Anyone on the path can read the password.".to_string(),
            remedy: "Enable FTPS on the server (vsftpd ssl_enable=YES, ProFTPD mod_tls, \
                     Pure-FTPd --tls=1) and require it for logins."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

//! PASV_UNSUPPORTED: the server refuses PASV. Over IPv4 most clients (FileZilla, WinSCP,
//! ftplib, wget) use PASV by default; over IPv6 PASV cannot work and EPSV is what counts.

use super::reply_text;
use crate::finding::{Code, Finding, Severity};
use crate::proto::PassiveKind;
use crate::transcript::Transcript;

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    unsupported(t, out, PassiveKind::Pasv);
}

/// Shared with EPSV: every sample of `kind` was answered, and none with a passive reply.
pub fn unsupported(t: &Transcript, out: &mut Vec<Finding>, kind: PassiveKind) {
    for s in &t.servers {
        let samples: Vec<_> = s.all_samples(kind).collect();
        // A reply that ended the session (421: the server is closing) refuses nothing.
        let answered: Vec<_> = samples
            .iter()
            .filter(|x| x.exchange.reply.is_some() && x.exchange.failure.is_none())
            .collect();
        if answered.is_empty()
            || answered.iter().any(|x| {
                x.exchange
                    .reply
                    .as_ref()
                    .is_some_and(|r| PassiveKind::from_code(r.code).is_some())
            })
        {
            continue;
        }
        let reply = reply_text(answered[0].exchange.reply.as_ref());
        let v6 = s.server.is_ipv6();
        let (code, severity, title, impact, remedy) = match kind {
            PassiveKind::Epsv => (
                Code::EpsvUnsupported,
                if v6 {
                    Severity::Critical
                } else {
                    Severity::Info
                },
                "the server refuses EPSV".to_string(),
                if v6 {
                    "Over IPv6 passive mode needs EPSV: passive transfers fail for every client."
                        .to_string()
                } else {
                    "curl, Go jlaffaye/ftp, Node basic-ftp and FluentFTP try EPSV first and fall \
                     back to PASV: one extra round trip, nothing breaks."
                        .to_string()
                },
                "Enable EPSV (RFC 2428) on the server; every current server supports it, and \
                 firewalls or ALGs that block it should let it through."
                    .to_string(),
            ),
            _ => (
                Code::PasvUnsupported,
                if v6 {
                    Severity::Info
                } else {
                    Severity::Critical
                },
                "the server refuses PASV".to_string(),
                if v6 {
                    "PASV cannot carry an IPv6 address; IPv6 clients use EPSV.".to_string()
                } else {
                    "FileZilla, WinSCP, Python ftplib, GNU wget and lftp use PASV over IPv4 by \
                     default: their transfers fail unless they switch to EPSV or active mode."
                        .to_string()
                },
                "Enable passive mode on the server (vsftpd pasv_enable=YES).".to_string(),
            ),
        };
        out.push(Finding {
            breaks: Vec::new(),
            code,
            severity,
            phase: super::phase_of(kind),
            server: Some(s.server),
            title,
            evidence: vec![format!("{} -> {reply}", kind.command())],
            impact,
            remedy,
            fix: Vec::new(),
        });
    }
}

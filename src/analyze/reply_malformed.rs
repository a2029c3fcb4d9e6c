//! REPLY_MALFORMED: a passive reply (227/228/229) that does not decode, or that names port
//! 0: no client can use it.

use super::{phase_of, reply_text};
use crate::finding::{Code, Finding, Severity};
use crate::transcript::Transcript;

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let bad: Vec<_> = s
            .passive_replies()
            // Only a reply can be malformed (an address from a client's message has no port).
            .filter(|x| x.exchange.reply.is_some())
            .filter(|x| {
                x.decode_error.is_some() || x.advertised.as_ref().is_some_and(|a| a.port == 0)
            })
            .collect();
        let Some(first) = bad.first() else { continue };
        let mut evidence = vec![format!(
            "reply: {}",
            reply_text(first.exchange.reply.as_ref())
        )];
        evidence.push(format!(
            "error: {}",
            first
                .decode_error
                .as_deref()
                .unwrap_or("port 0: no client can connect to it")
        ));
        out.push(Finding {
            code: Code::ReplyMalformed,
            severity: if first.command == crate::proto::PassiveKind::Pasv {
                super::pasv_severity(s, Severity::Critical)
            } else {
                Severity::Critical
            },
            phase: phase_of(first.command),
            server: Some(s.server),
            title: format!(
                "the server's {} reply cannot be decoded ({} of them)",
                first.command.command(),
                bad.len()
            ),
            evidence,
            impact: "No client can open a data connection from this reply.".to_string(),
            breaks: crate::knowledge::clients::without_active_fallback(
                s,
                crate::knowledge::clients::reading(s, first.command),
            ),
            remedy: "Fix or update the FTP server, or the middlebox that rewrites its replies: \
                     RFC 959 requires 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2) with each \
                     number 0-255, RFC 2428 requires 229 (|||port|)."
                .to_string(),
            fix: Vec::new(),
        });
    }
}

//! REPLY_NONSTANDARD: a passive reply that decodes, but that named client families fail to
//! parse (no parentheses, blanks, an odd delimiter), or that answers the other command (a
//! 227 to EPSV, a 229 to PASV), or whose framing deviates from RFC 959. Critical when a
//! client log shows the client failing to parse it. The evidence carries what the decoder
//! flagged (an address that is no IP address, signed bytes, extra numbers, an odd delimiter).

use super::{phase_of, reply_text};
use crate::finding::{Code, Finding, Severity};
use crate::proto::Flag;
use crate::transcript::Transcript;

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let mut seen: Vec<String> = Vec::new();
        for x in s.passive_replies() {
            let Some(adv) = &x.advertised else { continue };
            let reply = reply_text(x.exchange.reply.as_ref());
            let anomalies = x
                .exchange
                .reply
                .as_ref()
                .map(|r| r.anomalies.clone())
                .unwrap_or_default();
            let cross = adv.kind != x.command;
            if (adv.parse_failures.is_empty() && !cross && anomalies.is_empty())
                || seen.contains(&reply)
            {
                continue;
            }
            seen.push(reply.clone());
            let mut evidence = vec![format!("{} -> {reply}", x.command.command())];
            // The client's own words that it could not parse this reply: an observed failure.
            let refused_by_client: Vec<String> = t
                .client_log
                .iter()
                .flat_map(|log| &log.messages)
                .filter(|m| {
                    let lower = m.text.to_ascii_lowercase();
                    lower.contains("parse")
                        && m.text.contains(x.command.command())
                        && (cross || !adv.parse_failures.is_empty())
                })
                .map(|m| format!("client log line {}: {}", m.line, m.text))
                .collect();
            if cross {
                evidence.push(format!(
                    "a {} reply answered {}",
                    adv.kind.command(),
                    x.command.command()
                ));
            }
            // The cross answer is said above; every other flag is the decoder's reading.
            let cross_flag = Flag::AnswersOtherCommand { sent: x.command }.to_string();
            evidence.extend(
                adv.flags
                    .iter()
                    .filter(|f| **f != cross_flag)
                    .map(|f| format!("decoded: {f}")),
            );
            evidence.extend(anomalies.iter().map(|a| format!("framing: {a}")));
            let failed = !refused_by_client.is_empty();
            evidence.extend(refused_by_client);
            let impact = if cross {
                // curl and Python ftplib, for two, accept only a 227 to PASV and a 229 to EPSV.
                format!(
                    "Clients that check the reply code (curl, Python ftplib) reject a {} reply \
                     to {}{}.",
                    x.exchange.reply.as_ref().map_or(0, |r| r.code),
                    x.command.command(),
                    if adv.parse_failures.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; these also fail to parse it: {}",
                            adv.parse_failures.join(", ")
                        )
                    }
                )
            } else if adv.parse_failures.is_empty() {
                "Strict clients may reject it; the common ones cope.".to_string()
            } else {
                format!(
                    "These clients fail to parse it: {}.",
                    adv.parse_failures.join(", ")
                )
            };
            out.push(Finding {
                code: Code::ReplyNonstandard,
                severity: if failed {
                    Severity::Critical
                } else if adv.parse_failures.is_empty() && !cross {
                    Severity::Info
                } else {
                    Severity::Warning
                },
                phase: phase_of(x.command),
                server: Some(s.server),
                title: format!("the {} reply has a non-standard form", x.command.command()),
                evidence,
                impact,
                remedy: "Use the standard form: 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2). \
                         and 229 Entering Extended Passive Mode (|||port|); update the server \
                         or the middlebox that rewrites the reply."
                    .to_string(),
                fix: Vec::new(),
            });
        }
    }
}

//! EPSV_FALLBACK_TO_PASV (client logs only): the client tried EPSV first, EPSV failed (the
//! server refused it, or its data connection did not open), and the client fell back to
//! PASV, as curl, lftp, Go jlaffaye/ftp, Node basic-ftp and FluentFTP do. Nothing breaks by
//! itself, but every transfer costs a round trip (or a timeout), and from then on the
//! client depends on the address in the PASV reply. A live check tries both commands itself,
//! so only a client's log shows the fallback.

use crate::finding::{Code, Finding, Severity};
use crate::proto::PassiveKind;
use crate::transcript::{ConnectOutcome, Direction, Phase, Transcript};

fn verb(text: &str) -> String {
    text.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let Some(log) = &t.client_log else { return };
    for (index, s) in t.servers.iter().enumerate() {
        let sent: Vec<(usize, String)> = s
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.dir == Direction::Sent)
            .map(|(i, l)| (i, verb(&l.text)))
            .collect();
        let Some(first_epsv) = sent.iter().find(|(_, v)| v == "EPSV").map(|(i, _)| *i) else {
            continue;
        };
        if !sent.iter().any(|(i, v)| *i > first_epsv && v == "PASV") {
            continue;
        }
        let refused: Vec<String> = s
            .all_samples(PassiveKind::Epsv)
            .filter(|x| x.advertised.is_none())
            .filter_map(|x| x.exchange.reply.as_ref())
            .map(|r| format!("EPSV -> {}", r.text))
            .collect();
        let failed_data: Vec<String> = s
            .transfers
            .iter()
            .filter(|tr| tr.passive.command == PassiveKind::Epsv)
            .filter_map(|tr| tr.data.as_ref())
            .filter(|d| {
                !matches!(
                    d.attempt.outcome,
                    ConnectOutcome::Connected | ConnectOutcome::Skipped(_)
                )
            })
            .map(|d| {
                format!(
                    "EPSV data connection to {}: {}",
                    crate::transcript::show_addr(d.attempt.addr),
                    d.attempt.outcome.describe()
                )
            })
            .collect();
        if refused.is_empty() && failed_data.is_empty() {
            continue;
        }
        let pasv = s
            .all_samples(PassiveKind::Pasv)
            .find_map(|x| x.exchange.reply.as_ref())
            .map_or_else(
                || "then PASV".to_string(),
                |r| format!("then PASV -> {}", r.text),
            );
        let mut evidence = refused.clone();
        evidence.extend(failed_data.iter().cloned());
        evidence.push(pasv);
        evidence.extend(
            log.messages
                .iter()
                .filter(|m| m.server == index && m.text.to_ascii_lowercase().contains("epsv"))
                .map(|m| format!("client log line {}: {}", m.line, m.text))
                .take(2),
        );
        let who = super::substituted_address_timed_out::client_name(log);
        let (title, remedy) = if refused.is_empty() {
            (
                format!("{who} fell back from EPSV to PASV after the EPSV data connection failed"),
                "The EPSV data port did not answer either: see the data-port findings. Once the \
                 passive ports are reachable the client stays on EPSV."
                    .to_string(),
            )
        } else {
            (
                format!("{who} fell back from EPSV to PASV because the server refused EPSV"),
                "Enable EPSV (RFC 2428) on the server, or let it through the firewall or ALG that \
                 blocks it; EPSV carries no address, so it avoids every NAT address problem."
                    .to_string(),
            )
        };
        out.push(Finding {
            code: Code::EpsvFallbackToPasv,
            breaks: Vec::new(),
            severity: Severity::Info,
            phase: Phase::Epsv,
            server: Some(s.server),
            title,
            evidence,
            impact: "Nothing breaks by itself: each transfer costs an extra round trip (or a \
                     timeout), and with PASV the client depends on the address the server \
                     advertises."
                .to_string(),
            remedy,
            fix: Vec::new(),
        });
    }
}

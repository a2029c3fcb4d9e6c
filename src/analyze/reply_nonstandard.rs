//! REPLY_NONSTANDARD: a passive reply that decodes, but that named client families fail to
//! parse (no parentheses, blanks, an odd delimiter), or that answers the other command (a
//! 227 to EPSV, a 229 to PASV), or whose framing deviates from RFC 959. One finding per
//! form and command, with how many replies had it (a server sends the same form every
//! time). Critical when a client log shows the client failing to parse it. The evidence
//! carries what the decoder flagged (an address that is no IP address, signed bytes, extra
//! numbers, an odd delimiter).

use super::{phase_of, reply_text};
use crate::finding::{Code, Finding, Severity};
use crate::knowledge::clients::active_result;
use crate::knowledge::clients::{epsv_refused, parsing_with};
use crate::proto::{Flag, PassiveKind};
use crate::transcript::{PassiveSample, ServerSession, Transcript};

/// What makes a reply non-standard: the same key is the same form.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Form {
    command: PassiveKind,
    answered_as: PassiveKind,
    parse_failures: Vec<String>,
    anomalies: Vec<String>,
    /// What the decoder flagged, but the cross answer (said on its own).
    flags: Vec<String>,
}

fn form_of(x: &PassiveSample) -> Option<Form> {
    let adv = x.advertised.as_ref()?;
    let mut anomalies = x
        .exchange
        .reply
        .as_ref()
        .map(|r| r.anomalies.clone())
        .unwrap_or_default();
    anomalies.sort();
    let mut parse_failures = adv.parse_failures.clone();
    parse_failures.sort();
    let cross_flag = Flag::AnswersOtherCommand { sent: x.command }.to_string();
    let mut flags: Vec<String> = adv
        .flags
        .iter()
        .filter(|f| **f != cross_flag)
        .cloned()
        .collect();
    flags.sort();
    let form = Form {
        command: x.command,
        answered_as: adv.kind,
        parse_failures,
        anomalies,
        flags,
    };
    let odd = form.command != form.answered_as
        || !form.parse_failures.is_empty()
        || !form.anomalies.is_empty();
    odd.then_some(form)
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let mut forms: Vec<(Form, Vec<&PassiveSample>)> = Vec::new();
        for x in s.passive_replies() {
            let Some(form) = form_of(x) else { continue };
            match forms.iter_mut().find(|(f, _)| *f == form) {
                Some((_, xs)) => xs.push(x),
                None => forms.push((form, vec![x])),
            }
        }
        for (form, xs) in forms {
            out.push(finding(t, s, &form, &xs));
        }
    }
}

fn finding(t: &Transcript, s: &ServerSession, form: &Form, xs: &[&PassiveSample]) -> Finding {
    let cmd = form.command.command();
    let cross = form.command != form.answered_as;
    let first = xs[0];
    let reply = reply_text(first.exchange.reply.as_ref());
    let code = first.exchange.reply.as_ref().map_or(0, |r| r.code);
    let mut evidence = vec![format!("{cmd} -> {reply}")];
    if xs.len() > 1 {
        evidence.push(format!("{} {cmd} replies had this form", xs.len()));
    }
    if cross {
        evidence.push(format!(
            "a {} reply answered {cmd}",
            form.answered_as.command()
        ));
    }
    evidence.extend(form.flags.iter().map(|f| format!("decoded: {f}")));
    evidence.extend(form.anomalies.iter().map(|a| format!("framing: {a}")));
    // The client's own words that it could not parse this reply: an observed failure.
    let refused_by_client: Vec<String> = t
        .client_log
        .iter()
        .flat_map(|log| &log.messages)
        .filter(|m| {
            m.text.to_ascii_lowercase().contains("parse")
                && m.text.contains(cmd)
                && (cross || !form.parse_failures.is_empty())
        })
        .map(|m| format!("client log line {}: {}", m.line, m.text))
        .collect();
    let failed = !refused_by_client.is_empty();
    evidence.extend(refused_by_client);
    // curl and Python ftplib, for two, accept only a 227 to PASV and a 229 to EPSV.
    let mut families = form.parse_failures.clone();
    if cross {
        families.extend(["curl".to_string(), "Python ftplib".to_string()]);
    }
    // The clients that read this reply and fail on it; those that then retry in active
    // mode are left out of `breaks` unless active mode was seen to fail.
    let readers = parsing_with(&families, form.command, epsv_refused(s));
    let breaks = crate::knowledge::clients::without_active_fallback(s, readers.clone());
    let impact = if readers.is_empty() && families.is_empty() {
        "Strict clients may reject it; the common ones cope.".to_string()
    } else if readers.is_empty() {
        format!(
            "The clients that fail to parse it ({}) do not read this reply here: they use \
             the other command first.",
            families.join(", ")
        )
    } else if cross {
        format!(
            "Clients that check the reply code reject a {code} reply to {cmd}; these fail: {}.",
            readers.join(", ")
        )
    } else {
        format!("These clients fail to parse it: {}.", readers.join(", "))
    };
    // The families that fail to parse it but read the other command's reply here.
    let spared: Vec<&str> = families
        .iter()
        .map(String::as_str)
        .filter(|f| !readers.iter().any(|b| b.starts_with(f)))
        .collect();
    let impact = if spared.is_empty() || readers.is_empty() {
        impact
    } else {
        format!(
            "{impact} {} would too, but do not read this reply here.",
            spared.join(", ")
        )
    };
    let fell_back: Vec<&str> = readers
        .iter()
        .filter(|r| !breaks.contains(r))
        .map(String::as_str)
        .collect();
    let impact = match (fell_back.is_empty(), active_result(s)) {
        (true, _) => impact,
        (false, Some(true)) => format!(
            "{impact} {} then retry in active mode, which worked here.",
            fell_back.join(", ")
        ),
        (false, _) => format!(
            "{impact} {} then retry in active mode, which this check did not see work or \
             fail (--active tests it).",
            fell_back.join(", ")
        ),
    };
    Finding {
        code: Code::ReplyNonstandard,
        severity: if failed {
            Severity::Critical
        } else if families.is_empty() {
            Severity::Info
        } else {
            Severity::Warning
        },
        phase: phase_of(form.command),
        server: Some(s.server),
        title: if xs.len() > 1 {
            format!(
                "the {cmd} replies have a non-standard form ({} replies)",
                xs.len()
            )
        } else {
            format!("the {cmd} reply has a non-standard form")
        },
        evidence,
        impact,
        breaks,
        remedy: "Use the standard form: 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2). \
                 and 229 Entering Extended Passive Mode (|||port|); update the server \
                 or the middlebox that rewrites the reply."
            .to_string(),
        fix: Vec::new(),
    }
}

//! The report's sections after its pictures: the findings with their evidence and fixes,
//! the client table, each server's certificate, and the control session folded away (the
//! transcript masks the password: `PASS ********`).

use std::fmt::Write as _;

use super::{dur, esc};
use crate::analyze::unix_date;
use crate::knowledge::clients::Works;
use crate::report::Report;
use crate::transcript::{CertVerdict, Direction, show_addr};

pub(super) fn findings(html: &mut String, report: &Report<'_>, level: u8, id: &str) {
    let _ = writeln!(
        html,
        "<section id=\"{id}-findings\"><h{level}>Findings</h{level}>"
    );
    if report.findings.is_empty() {
        html.push_str("<p>None.</p>\n");
    }
    for f in &report.findings {
        let sev = f.severity.as_str();
        let _ = writeln!(
            html,
            "<div class=\"finding\" data-code=\"{code}\" data-severity=\"{sev}\">\n<h3><span class=\"badge {sev}\">{}</span> <code>{code}</code> <span>{}</span></h3>",
            sev.to_uppercase(),
            esc(&f.title),
            code = f.code,
        );
        if let Some(server) = f.server {
            let _ = writeln!(
                html,
                "<p>Server address: <code>{}</code></p>",
                esc(&show_addr(server))
            );
        }
        list(html, "evidence", "Evidence", &f.evidence);
        if !f.impact.is_empty() {
            let _ = writeln!(html, "<p><strong>Impact:</strong> {}</p>", esc(&f.impact));
        }
        if f.severity > crate::finding::Severity::Ok && !f.remedy.is_empty() {
            let _ = writeln!(html, "<p><strong>Remedy:</strong> {}</p>", esc(&f.remedy));
        }
        list(html, "fix", "How to fix", &f.fix);
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
}

fn list(html: &mut String, class: &str, label: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = write!(
        html,
        "<p><strong>{label}:</strong></p><ul class=\"{class}\">"
    );
    for i in items {
        let _ = write!(html, "<li>{}</li>", esc(i));
    }
    html.push_str("</ul>\n");
}

pub(super) fn clients(html: &mut String, report: &Report<'_>, level: u8, id: &str) {
    if report.clients.is_empty() {
        return;
    }
    let _ = writeln!(
        html,
        "<section id=\"{id}-clients\"><h{level}>Clients</h{level}>\n<div class=\"scroll\"><table class=\"stack clients\">\n<thead><tr><th>client</th><th>works</th><th>why</th></tr></thead>\n<tbody>"
    );
    for c in &report.clients {
        let class = match c.works {
            Works::Yes => "yes",
            Works::No => "no",
            Works::Unknown => "unknown-works",
        };
        let _ = writeln!(
            html,
            "<tr data-works=\"{class}\"><td data-label=\"client\">{}</td><td data-label=\"works\"><span class=\"badge {class}\">{}</span></td><td data-label=\"why\">{}</td></tr>",
            esc(&c.name),
            esc(c.works.label()),
            esc(&c.reason)
        );
    }
    html.push_str("</tbody></table></div>\n</section>\n");
}

pub(super) fn certificates(html: &mut String, report: &Report<'_>, level: u8, id: &str) {
    let t = report.transcript;
    let sessions: Vec<_> = t.servers.iter().filter(|s| s.tls.is_some()).collect();
    if sessions.is_empty() {
        return;
    }
    let _ = writeln!(
        html,
        "<section id=\"{id}-tls\"><h{level}>TLS and certificate</h{level}>"
    );
    for s in sessions {
        let Some(tls) = &s.tls else { continue };
        let _ = writeln!(
            html,
            "<h{sub}>{} ({} TLS)</h{sub}>\n<dl class=\"cert\">",
            esc(&show_addr(s.server)),
            tls.mode.as_str(),
            sub = level + 1
        );
        let row = |html: &mut String, k: &str, v: &str| {
            let _ = writeln!(html, "<dt>{k}</dt><dd>{}</dd>", esc(v));
        };
        match &tls.handshake {
            None => row(html, "handshake", "not made: the server refused AUTH TLS"),
            Some(hs) => match &hs.error {
                Some(e) => row(html, "handshake", &format!("failed: {e}")),
                None => row(
                    html,
                    "handshake",
                    &format!(
                        "{}, {}",
                        hs.version.as_deref().unwrap_or("version not recorded"),
                        hs.cipher.as_deref().unwrap_or("cipher not recorded")
                    ),
                ),
            },
        }
        if let Some(cert) = &tls.certificate {
            let days = (cert.not_after_unix - t.settings.checked_at_unix).div_euclid(86_400);
            row(html, "subject", &cert.subject);
            row(html, "valid for", &cert.sans.join(", "));
            row(html, "issuer", &cert.issuer);
            row(
                html,
                "valid",
                &format!(
                    "{} to {} ({days} days left at the check)",
                    unix_date(cert.not_before_unix),
                    unix_date(cert.not_after_unix)
                ),
            );
            row(
                html,
                "chain",
                &format!("{} certificate(s) sent", cert.chain_len),
            );
            if let Some(fp) = &cert.sha256 {
                row(html, "SHA-256", fp);
            }
        }
        let verdicts: Vec<String> = if tls.problems.is_empty() {
            tls.verdict.iter().map(CertVerdict::describe).collect()
        } else {
            tls.problems.iter().map(CertVerdict::describe).collect()
        };
        let verdict = if verdicts.is_empty() {
            "not verified".to_string()
        } else {
            verdicts.join(", ")
        };
        let insecure = if tls.insecure && verdict != "trusted" {
            " (went on with --insecure)"
        } else {
            ""
        };
        row(html, "verdict", &format!("{verdict}{insecure}"));
        html.push_str("</dl>\n");
    }
    html.push_str("</section>\n");
}

pub(super) fn transcript(html: &mut String, report: &Report<'_>, level: u8, id: &str) {
    let t = report.transcript;
    if t.servers.iter().all(|s| s.lines.is_empty()) && t.client_log.is_none() {
        return;
    }
    let _ = writeln!(
        html,
        "<section id=\"{id}-transcript\"><h{level}>Transcript</h{level}>"
    );
    let timed = t.client_log.is_none();
    for s in &t.servers {
        let _ = writeln!(
            html,
            "<details><summary>Control session with {} ({} lines, password masked)</summary>\n<pre>",
            esc(&show_addr(s.server)),
            s.lines.len()
        );
        for l in &s.lines {
            let (arrow, class) = match l.dir {
                Direction::Sent => ("-&gt;", "sent"),
                Direction::Received => ("&lt;-", "recv"),
            };
            let at = if timed {
                format!("{:>10} ", format!("+{:.3}s", l.at_us as f64 / 1e6))
            } else {
                String::new()
            };
            let _ = writeln!(
                html,
                "<span class=\"{class}\">{at}{arrow} {}</span>",
                esc(&l.text)
            );
        }
        html.push_str("</pre></details>\n");
    }
    if let Some(log) = &t.client_log
        && !log.messages.is_empty()
    {
        let _ = writeln!(
            html,
            "<details><summary>The client's own messages ({})</summary>\n<pre>",
            log.messages.len()
        );
        for m in &log.messages {
            let _ = writeln!(html, "line {:>5}: {}", m.line, esc(&m.text));
        }
        html.push_str("</pre></details>\n");
    }
    if timed {
        let _ = writeln!(
            html,
            "<p class=\"foot\">The whole check took {}.</p>",
            dur(t.total_us)
        );
    }
    html.push_str("</section>\n");
}

//! Markdown for a ticket: a short answer a support engineer can paste to a customer (what
//! we checked, what is wrong, the exact setting to change, what to expect after the fix),
//! with the technical evidence in a collapsed details block.

use crate::knowledge::clients::Works;
use std::io::{self, Write};

use super::Report;
use super::headline::Headline;
use crate::finding::{Severity, Verdict};
use crate::knowledge::servers::{Product, fingerprint};
use crate::transcript::show_addr;

fn verdict_badge(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "OK",
        Verdict::Warning => "WARNING",
        Verdict::Critical => "CRITICAL",
        Verdict::Unknown => "UNKNOWN (the check could not run)",
    }
}

/// Keeps a value from breaking out of inline code.
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

/// The answer first: cause, fix and clients as a short list, then where the log came from.
fn write_headline(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let h = Headline::of(report);
    let label = match (h.verdict, h.code.is_some() && h.note.is_none()) {
        (Verdict::Warning | Verdict::Critical, true) => "Cause",
        _ => "Result",
    };
    writeln!(out, "- **{label}:** {}", h.answer)?;
    if let Some(note) = &h.note {
        writeln!(out, "- **But:** {note}")?;
    }
    if let Some(fix) = &h.fix {
        let label = if h.note.is_some() { "Option" } else { "Fix" };
        writeln!(out, "- **{label}:** {}", fix.remedy)?;
        if let Some(setting) = &fix.setting {
            writeln!(out, "  - {setting}")?;
        }
        if fix.per_product {
            writeln!(
                out,
                "  - the server product was not recognised: the setting of each common \
                 product is under **What to change**"
            )?;
        }
    }
    writeln!(out, "- **Clients:** {}", h.clients.sentence())?;
    if !h.more.is_empty() {
        let codes: Vec<String> = h.more.iter().map(|c| code(c.as_str())).collect();
        writeln!(out, "- **Also:** {}", codes.join(", "))?;
    }
    writeln!(out)?;
    if !report.preface.is_empty() {
        writeln!(out, "> {}\n", report.preface.join(" "))?;
    }
    Ok(())
}

pub fn write(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let t = report.transcript;
    writeln!(
        out,
        "### FTP passive-mode check of {}: {}\n",
        t.target.host,
        verdict_badge(report.verdict)
    )?;
    write_headline(out, report)?;

    // What we checked.
    let addresses: Vec<String> = t.servers.iter().map(|s| show_addr(s.server)).collect();
    let samples = t.settings.samples;
    let products: Vec<String> = t
        .servers
        .iter()
        .map(fingerprint)
        .filter(|f| f.product != Product::Unknown)
        .map(|f| match f.version {
            Some(v) => format!("{} {v}", f.product.name()),
            None => f.product.name().to_string(),
        })
        .collect();
    if let Some(log) = &t.client_log {
        let client = match (&log.client, &log.version) {
            (Some(c), Some(v)) => format!("{c} {v}"),
            (Some(c), None) => c.clone(),
            _ => "the FTP client".to_string(),
        };
        let passive: Vec<&str> = t
            .servers
            .iter()
            .flat_map(|s| s.passive_replies())
            .map(|x| x.command.command())
            .fold(Vec::new(), |mut acc, c| {
                if !acc.contains(&c) {
                    acc.push(c);
                }
                acc
            });
        write!(
            out,
            "**What we read:** a log written by {client} ({} format) of {} session(s) with {}",
            log.format,
            t.servers.len(),
            if addresses.is_empty() {
                "the server".to_string()
            } else {
                addresses.join(", ")
            }
        )?;
        if !passive.is_empty() {
            write!(out, ", showing its {} replies", passive.join(" and "))?;
        }
        write!(
            out,
            ". Nothing was sent to the server: what the log does not show is unknown."
        )?;
        if let Some(p) = products.first() {
            write!(out, " The server identifies itself as {p}.")?;
        }
        writeln!(out)?;
    } else if t.servers.is_empty() {
        write!(out, "**What we checked:** ")?;
        writeln!(
            out,
            "we looked up {} but found no address to check.",
            t.target.host
        )?;
    } else {
        write!(out, "**What we checked:** ")?;
        write!(
            out,
            "we connected to {} as {}, asked for {samples} passive (PASV) and {samples} extended \
             passive (EPSV) data connections, tested each data port and listed a directory over \
             them.",
            addresses.join(", "),
            code(&t.target.user)
        )?;
        if let Some(p) = products.first() {
            write!(out, " The server identifies itself as {p}.")?;
        }
        writeln!(out)?;
    }
    writeln!(out)?;

    let problems: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    if problems.is_empty() {
        writeln!(
            out,
            "**Result:** passive-mode data connections work. Nothing needs to change on the \
             server for FTP transfers.\n"
        )?;
    } else {
        writeln!(out, "**What is wrong:**\n")?;
        for f in &problems {
            writeln!(
                out,
                "- **{}** ({}). {}",
                f.title,
                code(f.code.as_str()),
                f.impact
            )?;
        }
        writeln!(out)?;
        writeln!(out, "**What to change:**\n")?;
        for f in &problems {
            writeln!(out, "- {}", f.remedy)?;
            for line in &f.fix {
                writeln!(out, "  - {line}")?;
            }
        }
        writeln!(out)?;
        writeln!(out, "**What to expect after the fix:**\n")?;
        let mut seen = Vec::new();
        for f in &problems {
            let s = f.code.after_fix();
            if !seen.contains(&s) {
                seen.push(s);
                writeln!(out, "- {}{}", s[..1].to_uppercase(), &s[1..])?;
            }
        }
        writeln!(out)?;
    }

    if !report.clients.is_empty() && !t.servers.is_empty() {
        let named = |w: Works| {
            let v: Vec<&str> = report
                .clients
                .iter()
                .filter(|c| c.works == w)
                .map(|c| c.name.as_str())
                .collect();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        write!(
            out,
            "**Clients today:** work: {}; fail: {}",
            named(Works::Yes),
            named(Works::No)
        )?;
        if report.clients.iter().any(|c| c.works == Works::Unknown) {
            write!(out, "; not tested: {}", named(Works::Unknown))?;
        }
        writeln!(out, ".\n")?;
    }

    // Technical evidence, collapsed.
    writeln!(out, "<details>\n<summary>Technical evidence</summary>\n")?;
    writeln!(out, "```text")?;
    for f in &report.findings {
        writeln!(
            out,
            "{} {}: {}",
            f.severity.as_str().to_uppercase(),
            f.code,
            f.title
        )?;
        for e in &f.evidence {
            writeln!(out, "    {e}")?;
        }
    }
    for s in &t.servers {
        writeln!(out, "\nserver {}:", show_addr(s.server))?;
        for x in s.passive_replies() {
            let reply = x.exchange.reply.as_ref().map_or_else(
                || x.exchange.failure.clone().unwrap_or_default(),
                |r| r.text.clone(),
            );
            writeln!(out, "  {} -> {reply}", x.command.command())?;
        }
        for tr in &s.transfers {
            if let (Some(d), Some(c)) = (&tr.data, &tr.command) {
                writeln!(
                    out,
                    "  {} over {} via {}: {} ({} bytes)",
                    c.command,
                    tr.passive.label(),
                    show_addr(d.attempt.addr),
                    tr.completion
                        .as_ref()
                        .map_or("no completion", |r| r.text.as_str()),
                    tr.bytes
                )?;
            }
        }
    }
    writeln!(out, "```")?;
    writeln!(out, "\n</details>")?;
    writeln!(
        out,
        "\n_Checked with pasv-doctor {}; verdict {}._",
        env!("CARGO_PKG_VERSION"),
        report.verdict.as_str()
    )?;
    out.flush()
}

//! The readable default output: target and addresses, what each check did, the findings
//! with their evidence, impact and remedy, and the verdict. Plain text, wrapped to a width
//! the caller gives (the table and colours come with the people-facing reporters).

use std::io::{self, Write};

use super::{Report, end_label};
use crate::analyze::passive_range;
use crate::analyze::range::Allocation;
use crate::finding::Severity;
use crate::proto::AddressClass;
use crate::transcript::{ConnectOutcome, PassiveSample, PortProbe, ServerSession, Via};

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// Wraps `text` to `width` columns, indenting continuation lines by `indent` spaces.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut col = indent;
    let mut first = true;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if !first && col + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if !first {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
        first = false;
    }
    out
}

fn probe_line(p: &PortProbe, peer: std::net::IpAddr, transfer: bool) -> String {
    let via = match p.via {
        Via::Advertised if p.attempt.addr.ip() == peer => "advertised address",
        Via::Advertised => "advertised address",
        Via::ControlPeer => "control peer",
    };
    match &p.attempt.outcome {
        ConnectOutcome::Skipped(why) => format!("{} ({via}): not contacted: {why}", p.attempt.addr),
        // A test connect to an older sample's port: the server closed that listener when the
        // next PASV/EPSV came, so a reset proves the path open.
        ConnectOutcome::Refused if !transfer => format!(
            "{} ({via}): refused in {} (a reset: the path is open, the listener gone)",
            p.attempt.addr,
            ms(p.attempt.elapsed_us)
        ),
        o => format!(
            "{} ({via}): {} in {}",
            p.attempt.addr,
            o.label(),
            ms(p.attempt.elapsed_us)
        ),
    }
}

fn sample_line(x: &PassiveSample) -> String {
    let reply = x.exchange.reply.as_ref().map_or_else(
        || x.exchange.failure.clone().unwrap_or_default(),
        |r| r.text.clone(),
    );
    let took = x
        .exchange
        .reply
        .as_ref()
        .map(|r| format!("  ({})", ms(r.elapsed_us)))
        .unwrap_or_default();
    format!("{:<4} -> {reply}{took}", x.command.command())
}

fn write_server(out: &mut dyn Write, s: &ServerSession, width: usize) -> io::Result<()> {
    let peer = s.peer();
    writeln!(
        out,
        "Server {}  (control peer {peer}: {})",
        s.server,
        AddressClass::of(peer).describe()
    )?;
    writeln!(
        out,
        "  connect    {} in {}",
        s.connect.outcome.label(),
        ms(s.connect.elapsed_us)
    )?;
    if let Some(g) = s.greeting.last() {
        writeln!(
            out,
            "  greeting   {}  ({})",
            g.text.replace('\n', " | "),
            ms(g.elapsed_us)
        )?;
    }
    if let Some(l) = &s.login {
        let outcome = serde_json::to_value(&l.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        writeln!(
            out,
            "  login      {} as {}  ({})",
            outcome.replace('_', " "),
            l.user,
            ms(l.elapsed_us)
        )?;
    }
    if !s.samples.is_empty() {
        writeln!(out, "  passive replies and data port checks")?;
    }
    let mut not_contacted: Vec<String> = Vec::new();
    for x in &s.samples {
        writeln!(out, "    {}", sample_line(x))?;
        for p in &x.probes {
            if let ConnectOutcome::Skipped(why) = &p.attempt.outcome {
                let note = why.clone();
                if !not_contacted.contains(&note) {
                    not_contacted.push(note);
                }
                continue;
            }
            writeln!(
                out,
                "         {}",
                wrap(&probe_line(p, peer, false), width, 9)
            )?;
        }
    }
    for note in &not_contacted {
        writeln!(out, "    not contacted: {}", wrap(note, width, 19))?;
    }
    if let Some(r) = passive_range(s) {
        let how = match r.allocation {
            Allocation::Single => "one port",
            Allocation::Sequential => "sequential",
            Allocation::Random => "random",
        };
        writeln!(
            out,
            "  range      ports {}-{} seen ({how}, {} replies)",
            r.low,
            r.high,
            r.ports.len()
        )?;
    }
    for t in &s.transfers {
        writeln!(out, "  transfer   {}", sample_line(&t.passive))?;
        if let Some(d) = &t.data {
            writeln!(
                out,
                "             data {}",
                wrap(&probe_line(d, peer, true), width, 18)
            )?;
        }
        if let Some(c) = &t.command {
            let reply = c
                .reply
                .as_ref()
                .map_or_else(|| c.failure.clone().unwrap_or_default(), |r| r.text.clone());
            writeln!(out, "             {} -> {reply}", c.command)?;
        }
        if let Some(done) = &t.completion
            && t.command
                .as_ref()
                .and_then(|c| c.reply.as_ref())
                .map(|r| &r.text)
                != Some(&done.text)
        {
            writeln!(out, "             {}  ({} bytes)", done.text, t.bytes)?;
        }
        if let Some(e) = t.data_error.as_ref().or(t.completion_failure.as_ref()) {
            writeln!(out, "             error: {e}")?;
        }
    }
    if !matches!(s.end, crate::transcript::SessionEnd::Completed) {
        writeln!(out, "  ended      {}", end_label(&s.end).replace('_', " "))?;
    }
    writeln!(out, "  total      {}", ms(s.total_us))?;
    Ok(())
}

/// Writes the whole report as text, wrapped to `width` columns.
pub fn write(out: &mut dyn Write, report: &Report<'_>, width: usize) -> io::Result<()> {
    let t = report.transcript;
    let width = width.max(60);
    writeln!(out, "pasv-doctor check of {}", t.target.input)?;
    writeln!(
        out,
        "Target     {} port {}, user {}{}",
        t.target.host,
        t.target.port,
        t.target.user,
        t.target
            .path
            .as_ref()
            .map(|p| format!(", path /{p}"))
            .unwrap_or_default()
    )?;
    if let Some(d) = &t.dns {
        let ns = d
            .nameserver
            .map_or_else(|| "system resolver".to_string(), |n| n.to_string());
        for (rtype, a) in [("A", &d.a), ("AAAA", &d.aaaa)] {
            if !a.queried {
                continue;
            }
            let answer = if let Some(e) = &a.error {
                format!("failed: {e}")
            } else if a.records.is_empty() {
                "no records".to_string()
            } else {
                a.records
                    .iter()
                    .map(|r| {
                        format!(
                            "{} (ttl {}s, {})",
                            r.ip,
                            r.ttl,
                            AddressClass::of(r.ip).as_str()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(out, "DNS {rtype:<6} {answer}  [via {ns}]")?;
        }
    }
    for s in &t.servers {
        writeln!(out)?;
        write_server(out, s, width)?;
    }
    writeln!(out)?;
    if report.findings.is_empty() {
        writeln!(out, "Findings: none")?;
    } else {
        writeln!(out, "Findings")?;
    }
    for f in report.findings {
        let sev = match f.severity {
            Severity::Ok => "OK",
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        };
        writeln!(out, "  {sev:<8} {}  {}", f.code, wrap(&f.title, width, 11))?;
        for e in &f.evidence {
            writeln!(out, "           - {}", wrap(e, width, 13))?;
        }
        if f.severity == Severity::Ok {
            continue;
        }
        writeln!(out, "           impact: {}", wrap(&f.impact, width, 19))?;
        writeln!(out, "           fix:    {}", wrap(&f.remedy, width, 19))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", report.summary())?;
    out.flush()
}

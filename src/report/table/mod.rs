//! The people's report: tables for the addresses, the checks, the findings and the client
//! matrix, then the fixes and a verdict line. comfy-table draws the tables; colour is
//! decided once by the caller (`HumanOptions::color`) and never guessed here, so piped
//! output has no escape codes and fits the width it is given.

mod headline;
mod strip;
mod tables;

use crate::knowledge::clients::Works;
use std::io::{self, Write};
use std::net::IpAddr;
use tables::{addresses_table, checks_table, clients_table, findings_table};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use super::{Report, end_label};
use crate::analyze::passive_range;
use crate::analyze::range::Allocation;
use crate::finding::{Severity, Verdict};
use crate::knowledge::servers::{Product, fingerprint};
use crate::proto::{AddressClass, PassiveKind};
use crate::transcript::{
    ConnectOutcome, Direction, NOT_SHOWN, PortProbe, ServerSession, Via, is_unknown, show_addr,
};

/// How the human report is drawn.
#[derive(Debug, Clone, Copy)]
pub struct HumanOptions {
    /// Colour (ANSI escapes) on or off, decided once by the caller.
    pub color: bool,
    /// Total width in columns.
    pub width: u16,
    /// Also show the control session with timestamps (and every port test).
    pub transcript: bool,
    /// Every port test in its own row; without it (nor `transcript`) identical outcomes
    /// are grouped into one row.
    pub verbose: bool,
    /// Show every duration as "-" (a test switch for stable snapshots).
    pub deterministic: bool,
}

struct Painter {
    opts: HumanOptions,
    /// A client log: a duration of 0 is one the log did not give (no timestamps, or
    /// timestamps a second apart), never a measured 0.0 ms.
    untimed: bool,
}

impl Painter {
    fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(self.opts.width)
            .force_no_tty();
        if self.opts.color {
            t.enforce_styling();
        }
        t.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
        t
    }

    fn ms(&self, us: u64) -> String {
        if self.opts.deterministic || (self.untimed && us == 0) {
            "-".to_string()
        } else {
            format!("{:.1} ms", us as f64 / 1000.0)
        }
    }

    /// A timestamp for the transcript view.
    fn at(&self, us: u64) -> String {
        if self.opts.deterministic {
            "+-".to_string()
        } else {
            format!("+{:.3}s", us as f64 / 1e6)
        }
    }

    fn severity_cell(&self, sev: Severity) -> Cell {
        let (text, color) = match sev {
            Severity::Ok => ("OK", Color::Green),
            Severity::Info => ("INFO", Color::Cyan),
            Severity::Warning => ("WARNING", Color::Yellow),
            Severity::Critical => ("CRITICAL", Color::Red),
        };
        Cell::new(text).fg(color)
    }

    fn outcome_cell(&self, o: &ConnectOutcome, transfer: bool) -> Cell {
        match o {
            ConnectOutcome::Connected => Cell::new("connected").fg(Color::Green),
            // An older sample's listener is gone, so a reset is what an open path gives; a
            // firewall that rejects gives one too, so it proves an answer, not the server.
            ConnectOutcome::Refused if !transfer => {
                Cell::new("reset (old port): something answered").fg(Color::Green)
            }
            ConnectOutcome::Refused => Cell::new("refused").fg(Color::Red),
            ConnectOutcome::TimedOut => Cell::new("timed out: dropped").fg(Color::Red),
            ConnectOutcome::Unreachable(e) => Cell::new(format!("unreachable: {e}")).fg(Color::Red),
            o if o.not_shown() => Cell::new(NOT_SHOWN),
            o if o.failed_unsaid() => Cell::new(o.describe()).fg(Color::Red),
            ConnectOutcome::Error(e) => Cell::new(format!("error: {e}")).fg(Color::Red),
            ConnectOutcome::Skipped(_) => Cell::new("not contacted").fg(Color::DarkGrey),
        }
    }

    fn verdict_word(&self, v: Verdict) -> String {
        let word = v.as_str().to_uppercase();
        if !self.opts.color {
            return word;
        }
        // Bold and the verdict's colour (SGR 1 and 32/33/31/35).
        let sgr = match v {
            Verdict::Ok => "1;32",
            Verdict::Warning => "1;33",
            Verdict::Critical => "1;31",
            Verdict::Unknown => "1;35",
        };
        paint(sgr, &word)
    }

    fn heading(&self, text: &str) -> String {
        if self.opts.color {
            paint("1", text)
        } else {
            text.to_string()
        }
    }
}

/// `text` between an SGR escape and a reset. Written here rather than through a colour
/// crate's process-wide switch, so that two reports rendered at once (one coloured, one
/// not) cannot change each other.
fn paint(sgr: &str, text: &str) -> String {
    format!("\x1b[{sgr}m{text}\x1b[0m")
}

/// Wraps `text` to `width`, continuation lines indented by `indent`; the first line starts
/// at column `indent` too unless the caller already wrote a longer prefix (`start`).
fn wrap_from(text: &str, width: usize, indent: usize, start: usize) -> String {
    let mut out = String::new();
    let mut col = start;
    for (i, word) in text.split_whitespace().enumerate() {
        let len = word.chars().count();
        if i > 0 && col + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if i > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
    }
    out
}

fn wrap(text: &str, width: usize, indent: usize) -> String {
    wrap_from(text, width, indent, indent)
}

fn server_line(p: &Painter, s: &ServerSession) -> String {
    let f = fingerprint(s);
    let product = match (f.product, &f.version) {
        (Product::Unknown, _) => "server product not recognised".to_string(),
        (prod, Some(v)) => format!("{} {v}", prod.name()),
        (prod, None) => prod.name().to_string(),
    };
    let greeting = s
        .greeting
        .last()
        .map(|g| format!(" - \"{}\"", g.text.lines().next().unwrap_or("")))
        .unwrap_or_default();
    let range = passive_range(s)
        .map(|r| {
            let how = match r.allocation {
                Allocation::Single => "one port",
                Allocation::Sequential => "sequential",
                Allocation::Random => "random",
            };
            format!("; passive ports seen {}-{} ({how})", r.low, r.high)
        })
        .unwrap_or_default();
    let end = if matches!(s.end, crate::transcript::SessionEnd::Completed) {
        String::new()
    } else {
        format!("; session {}", end_label(&s.end).replace('_', " "))
    };
    p.heading(&format!(
        "Server {}: {product}{greeting}{range}{end}",
        show_addr(s.server)
    ))
}

/// A TLS version as people write it: the transcript keeps rustls's name (`TLSv1_3`, a
/// JSON contract), the table says "TLS 1.3".
fn tls_version(v: Option<&str>) -> String {
    match v {
        Some("TLSv1_3") => "TLS 1.3".to_string(),
        Some("TLSv1_2") => "TLS 1.2".to_string(),
        Some("TLSv1_1") => "TLS 1.1".to_string(),
        Some("TLSv1_0") => "TLS 1.0".to_string(),
        Some(other) => other.to_string(),
        None => "TLS".to_string(),
    }
}

/// One line on TLS: mode, version, certificate and its verdict.
fn tls_line(s: &ServerSession, checked_at: i64) -> Option<String> {
    let tls = s.tls.as_ref()?;
    let mode = tls.mode.as_str();
    let Some(hs) = &tls.handshake else {
        return Some(format!("TLS ({mode}): not offered (AUTH TLS refused)"));
    };
    let mut line = match &hs.error {
        Some(e) => format!("TLS ({mode}): handshake failed: {e}"),
        None => format!(
            "TLS ({mode}): {}, {}",
            tls_version(hs.version.as_deref()),
            hs.cipher.as_deref().unwrap_or("?")
        ),
    };
    if let Some(cert) = &tls.certificate {
        let days = (cert.not_after_unix - checked_at).div_euclid(86_400);
        // Every problem found, not only the verifier's first objection.
        let verdict = if tls.problems.is_empty() {
            tls.verdict
                .as_ref()
                .map(crate::transcript::CertVerdict::describe)
                .unwrap_or_else(|| "not verified".to_string())
        } else {
            tls.problems
                .iter()
                .map(crate::transcript::CertVerdict::describe)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let insecure = if tls.insecure && verdict != "trusted" {
            " (--insecure)"
        } else {
            ""
        };
        line.push_str(&format!(
            "; certificate {} for {} issued by {}, {days} days left, {verdict}{insecure}",
            cert.subject,
            cert.sans.join(", "),
            cert.issuer,
        ));
    }
    Some(line)
}

/// Writes the human report.
pub fn write(out: &mut dyn Write, report: &Report<'_>, opts: HumanOptions) -> io::Result<()> {
    let p = Painter {
        opts,
        untimed: report.transcript.client_log.is_some(),
    };
    let width = usize::from(opts.width.max(60));
    let t = report.transcript;
    writeln!(
        out,
        "{} {}",
        p.heading(if t.client_log.is_some() {
            "pasv-doctor explain of"
        } else {
            "pasv-doctor check of"
        }),
        t.target.input,
    )?;
    writeln!(out)?;
    headline::write(out, &p, report, width)?;
    writeln!(out)?;
    writeln!(out, "{}", p.heading("Addresses"))?;
    writeln!(out, "{}", addresses_table(&p, report))?;
    for s in &t.servers {
        writeln!(out)?;
        writeln!(out, "{}", wrap(&server_line(&p, s), width, 2))?;
        if let Some(line) = tls_line(s, t.settings.checked_at_unix) {
            writeln!(out, "  {}", wrap(&line, width, 4))?;
        }
        if !s.samples.is_empty() || !s.transfers.is_empty() {
            writeln!(out, "{}", checks_table(&p, s))?;
        }
        if let Some(map) = crate::analyze::range_scan::read(s) {
            for line in strip::lines(&map) {
                writeln!(out, "{line}")?;
            }
        }
        let skipped: Vec<String> = s
            .samples
            .iter()
            .flat_map(|x| x.probes.iter())
            .filter_map(|pr| match &pr.attempt.outcome {
                ConnectOutcome::Skipped(why) => Some(why.clone()),
                _ => None,
            })
            .fold(Vec::new(), |mut acc, w| {
                if !acc.contains(&w) {
                    acc.push(w);
                }
                acc
            });
        for why in skipped {
            writeln!(out, "  not contacted: {}", wrap(&why, width, 17))?;
        }
        if opts.transcript {
            writeln!(out, "  control session (password masked):")?;
            for l in &s.lines {
                let arrow = match l.dir {
                    Direction::Sent => "->",
                    Direction::Received => "<-",
                };
                writeln!(out, "  {:>9} {arrow} {}", p.at(l.at_us), l.text)?;
            }
        }
    }
    writeln!(out)?;
    if report.findings.is_empty() {
        writeln!(out, "{}", p.heading("Findings: none"))?;
    } else {
        writeln!(out, "{}", p.heading("Findings"))?;
        writeln!(out, "{}", findings_table(&p, report))?;
    }
    if !report.clients.is_empty() && !t.servers.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.heading("Clients"))?;
        writeln!(out, "{}", clients_table(&p, report))?;
    }
    let to_fix: Vec<_> = report
        .findings
        .iter()
        .filter(|f| {
            f.severity >= Severity::Warning || (f.severity == Severity::Info && !f.fix.is_empty())
        })
        .collect();
    if !to_fix.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", p.heading("How to fix"))?;
        for f in to_fix {
            let prefix = format!("  {}: ", f.code);
            writeln!(
                out,
                "{prefix}{}",
                wrap_from(&f.remedy, width, 4, prefix.len())
            )?;
            for line in &f.fix {
                writeln!(out, "    - {}", wrap(line, width, 6))?;
            }
            writeln!(out, "    impact: {}", wrap(&f.impact, width, 12))?;
        }
    }
    writeln!(out)?;
    let summary = report.summary();
    let rest = summary.split_once(": ").map_or("", |(_, rest)| rest);
    let start = "Verdict: ".len() + report.verdict.as_str().len() + " - ".len();
    writeln!(
        out,
        "Verdict: {} - {}",
        p.verdict_word(report.verdict),
        wrap_from(rest, width, 2, start)
    )?;
    out.flush()
}

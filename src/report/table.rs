//! The people's report: tables for the addresses, the checks, the findings and the client
//! matrix, then the fixes and a verdict line. comfy-table draws the tables; colour is
//! decided once by the caller (`HumanOptions::color`) and never guessed here, so piped
//! output has no escape codes and fits the width it is given.

use crate::knowledge::clients::Works;
use std::io::{self, Write};
use std::net::IpAddr;

use colored::Colorize;
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
    /// Also show the control session with timestamps.
    pub transcript: bool,
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
        match v {
            Verdict::Ok => word.green().bold().to_string(),
            Verdict::Warning => word.yellow().bold().to_string(),
            Verdict::Critical => word.red().bold().to_string(),
            Verdict::Unknown => word.magenta().bold().to_string(),
        }
    }

    fn heading(&self, text: &str) -> String {
        if self.opts.color {
            text.bold().to_string()
        } else {
            text.to_string()
        }
    }
}

fn class_of(ip: IpAddr) -> &'static str {
    AddressClass::of(ip).as_str()
}

fn addresses_table(p: &Painter, report: &Report<'_>) -> Table {
    let t = report.transcript;
    let mut table = p.table(&["role", "address", "class", "detail"]);
    if let Some(d) = &t.dns {
        let ns = d
            .nameserver
            .map_or_else(|| "system resolver".to_string(), |n| n.to_string());
        for (rtype, a) in [("DNS A", &d.a), ("DNS AAAA", &d.aaaa)] {
            if !a.queried {
                continue;
            }
            if a.records.is_empty() {
                let why = a.error.clone().unwrap_or_else(|| "no records".to_string());
                table.add_row(vec![
                    Cell::new(rtype),
                    Cell::new(&d.name),
                    Cell::new("-"),
                    Cell::new(format!("{why} (via {ns})")),
                ]);
            }
            for r in &a.records {
                table.add_row(vec![
                    Cell::new(rtype),
                    Cell::new(r.ip),
                    Cell::new(class_of(r.ip)),
                    Cell::new(format!("ttl {} s (via {ns})", r.ttl)),
                ]);
            }
        }
    }
    for s in &t.servers {
        table.add_row(vec![
            Cell::new("control peer"),
            Cell::new(show_addr(s.server)),
            Cell::new(s.known_peer().map_or("unknown", class_of)),
            Cell::new(match p.ms(s.connect.elapsed_us) {
                time if time == "-" && p.untimed => s.connect.outcome.label().to_string(),
                time => format!("{} in {time}", s.connect.outcome.label()),
            }),
        ]);
        for kind in [PassiveKind::Pasv, PassiveKind::Epsv] {
            let ads: Vec<_> = s
                .all_samples(kind)
                .filter_map(|x| x.advertised.as_ref())
                .collect();
            if ads.is_empty() {
                continue;
            }
            let mut addrs: Vec<Option<IpAddr>> = ads.iter().map(|a| a.address).collect();
            addrs.dedup();
            // Port 0 is a port the log does not give (a client's message named the address).
            let ports: Vec<u16> = ads.iter().map(|a| a.port).filter(|p| *p != 0).collect();
            let ports_text = match (ports.iter().min(), ports.iter().max()) {
                (Some(lo), Some(hi)) => format!("ports {lo}-{hi} in {} replies", ports.len()),
                _ => "port not in the log".to_string(),
            };
            let redacted = ads
                .iter()
                .any(|a| a.flags.iter().any(|f| f == "address_redacted"));
            for addr in addrs {
                let (shown, class) = match (addr, s.known_peer()) {
                    (Some(ip), _) => (ip.to_string(), class_of(ip).to_string()),
                    (None, _) if kind == PassiveKind::Pasv && redacted => {
                        ("redacted in the log".to_string(), "unknown".to_string())
                    }
                    (None, Some(peer)) => {
                        (format!("{peer} (control peer)"), class_of(peer).to_string())
                    }
                    (None, None) => (
                        "the control peer (not in the log)".to_string(),
                        "unknown".to_string(),
                    ),
                };
                let cell = Cell::new(shown);
                let cell = match addr {
                    Some(ip) if ip != s.peer() => cell.fg(Color::Yellow),
                    _ => cell,
                };
                table.add_row(vec![
                    Cell::new(format!("{} advertised", kind.command())),
                    cell,
                    Cell::new(class),
                    Cell::new(&ports_text),
                ]);
            }
        }
    }
    table
}

fn probe_row(
    p: &Painter,
    command: &str,
    probe: &PortProbe,
    peer: IpAddr,
    transfer: bool,
) -> Vec<Cell> {
    let via = match probe.via {
        Via::Advertised if probe.attempt.addr.ip() == peer => "= peer",
        Via::Advertised => "advertised",
        Via::ControlPeer => "control peer",
    };
    let time = match probe.attempt.outcome {
        ConnectOutcome::Skipped(_) => "-".to_string(),
        _ => p.ms(probe.attempt.elapsed_us),
    };
    vec![
        Cell::new(command),
        Cell::new(if is_unknown(probe.attempt.addr) {
            "?".to_string()
        } else {
            probe.attempt.addr.port().to_string()
        }),
        Cell::new(if is_unknown(probe.attempt.addr) {
            format!("not in the log ({via})")
        } else {
            format!("{} ({via})", probe.attempt.addr.ip())
        }),
        p.outcome_cell(&probe.attempt.outcome, transfer),
        Cell::new(time),
    ]
}

fn checks_table(p: &Painter, s: &ServerSession) -> Table {
    let peer = s.peer();
    let mut table = p.table(&["command", "port", "address tried", "outcome", "time"]);
    for x in &s.samples {
        if x.probes.is_empty() {
            let reply = x.exchange.reply.as_ref().map_or_else(
                || x.exchange.failure.clone().unwrap_or_default(),
                |r| r.text.clone(),
            );
            let why = x.decode_error.clone().unwrap_or(reply);
            table.add_row(vec![
                Cell::new(x.command.command()),
                Cell::new("-"),
                Cell::new("-"),
                Cell::new(why).fg(Color::Red),
                Cell::new("-"),
            ]);
        }
        for probe in &x.probes {
            table.add_row(probe_row(p, x.command.command(), probe, peer, false));
        }
    }
    for t in &s.transfers {
        let command = format!(
            "{} over {}",
            t.command
                .as_ref()
                .map_or("transfer", |c| c.command.as_str()),
            t.passive.label()
        );
        let Some(data) = &t.data else {
            continue;
        };
        let mut row = probe_row(p, &command, data, peer, true);
        if data.attempt.outcome == ConnectOutcome::Connected {
            let done = t.completion.as_ref();
            let ok = done.is_some_and(|r| r.code / 100 == 2) && t.data_error.is_none();
            let ok = ok || (t.client_ok.is_some() && t.data_error.is_none());
            // A client log that does not count the bytes gives no figure.
            let bytes = if p.untimed && t.bytes == 0 {
                String::new()
            } else {
                format!("{} bytes", t.bytes)
            };
            let text = match (done, &t.data_error, &t.client_ok) {
                (_, Some(e), _) if bytes.is_empty() => e.clone(),
                (_, Some(e), _) => format!("{e} ({bytes})"),
                (Some(r), None, _) => [r.text.lines().last().unwrap_or(""), &bytes]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
                (None, None, Some(words)) => format!("the client's words: {words}"),
                (None, None, None) => t.completion_failure.clone().unwrap_or_default(),
            };
            let text = match &t.tls {
                Some(d) if d.handshake.error.is_none() => format!(
                    "{text}; {} {}{}",
                    tls_version(d.handshake.version.as_deref()),
                    if d.handshake.resumed {
                        "resumed"
                    } else {
                        "full handshake"
                    },
                    if d.fresh_session { " (reuse test)" } else { "" }
                ),
                Some(d) => format!(
                    "{text}; TLS failed: {}",
                    d.handshake.error.as_deref().unwrap_or("")
                ),
                None => text,
            };
            row[3] = Cell::new(text).fg(if ok { Color::Green } else { Color::Red });
            row[4] = Cell::new(p.ms(t.data_end_us.unwrap_or(data.attempt.elapsed_us)));
        }
        table.add_row(row);
    }
    table
}

fn findings_table(p: &Painter, report: &Report<'_>) -> Table {
    let mut table = p.table(&["severity", "finding", "evidence"]);
    for f in &report.findings {
        table.add_row(vec![
            p.severity_cell(f.severity),
            Cell::new(format!("{}\n{}", f.code, f.title)),
            Cell::new(f.evidence.first().cloned().unwrap_or_default()),
        ]);
    }
    table
}

fn clients_table(p: &Painter, report: &Report<'_>) -> Table {
    let mut table = p.table(&["client", "works", "why"]);
    for c in &report.clients {
        table.add_row(vec![
            Cell::new(&c.name),
            Cell::new(c.works.label()).fg(match c.works {
                Works::Yes => Color::Green,
                Works::No => Color::Red,
                Works::Unknown => Color::Yellow,
            }),
            Cell::new(&c.reason),
        ]);
    }
    table
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
        "{} {}  {}",
        p.heading(if t.client_log.is_some() {
            "pasv-doctor explain of"
        } else {
            "pasv-doctor check of"
        }),
        t.target.input,
        p.verdict_word(report.verdict)
    )?;
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

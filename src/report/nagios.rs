//! The monitoring-plugins output (Nagios, Icinga, Zabbix, ...): one status line
//! `PASV STATUS - summary | perfdata`, then detail lines, with the exit code carrying the
//! status. Time thresholds (`--warning`/`--critical`, seconds on the whole check) can raise
//! the status. The perfdata phases are [`super::timing`]'s, the same names and meanings as
//! the Prometheus `phase` label.

use std::io::{self, Write};

use super::Report;
use super::timing::{TimedPhase, cert_days_left, dns_us, secs, session_phases};
use crate::exit::Status;
use crate::finding::Severity;

/// Time thresholds in seconds for the whole check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Thresholds {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
}

/// The status after applying the time thresholds to the verdict's status.
pub fn status(report: &Report<'_>, thresholds: Thresholds) -> Status {
    let base = report.status();
    if base == Status::Unknown {
        return base;
    }
    let total = secs(report.transcript.total_us);
    let by_time = if thresholds.critical.is_some_and(|c| total > c) {
        Status::Critical
    } else if thresholds.warning.is_some_and(|w| total > w) {
        Status::Warning
    } else {
        Status::Ok
    };
    base.max(by_time)
}

fn label(status: Status) -> &'static str {
    match status {
        Status::Ok => "OK",
        Status::Warning => "WARNING",
        Status::Critical => "CRITICAL",
        Status::Unknown => "UNKNOWN",
    }
}

/// Writes the plugin output. The status it states is [`status`]'s, which the caller exits
/// with (derived from the report, as for every format).
pub fn write(out: &mut dyn Write, report: &Report<'_>, thresholds: Thresholds) -> io::Result<()> {
    let t = report.transcript;
    let status = status(report, thresholds);
    let total = secs(t.total_us);
    let summary = match report
        .findings
        .iter()
        .find(|f| f.severity >= Severity::Warning)
    {
        Some(f) => format!("{}: {}", f.code, f.title),
        None if t.servers.is_empty() => "nothing could be checked".to_string(),
        None => format!(
            "passive mode works on {} address(es) of {}",
            t.servers.len(),
            t.target.host
        ),
    };
    let time_note = if status > report.status() {
        format!(" (check took {total:.3}s)")
    } else {
        String::new()
    };
    // Perfdata: 'label'=value[unit];warn;crit;min;max. The phases of the session that got
    // furthest (the first of those), then the whole check with the thresholds.
    let mut perf = Vec::new();
    if let Some(us) = dns_us(t) {
        perf.push(format!("{}={:.6}s;;;0", TimedPhase::Dns.name(), secs(us)));
    }
    let furthest = t
        .servers
        .iter()
        .rev()
        .max_by_key(|s| s.samples.len() + s.transfers.len());
    if let Some(s) = furthest {
        for (phase, us) in session_phases(s) {
            perf.push(format!("{}={:.6}s;;;0", phase.name(), secs(us)));
        }
    }
    let w = thresholds
        .warning
        .map(|v| v.to_string())
        .unwrap_or_default();
    let c = thresholds
        .critical
        .map(|v| v.to_string())
        .unwrap_or_default();
    perf.push(format!("total={total:.6}s;{w};{c};0"));
    // Days left on that session's certificate: warning below --cert-warn-days, critical
    // once expired (threshold ranges `N:`, "alert below N").
    if let Some(days) = furthest.and_then(|s| cert_days_left(t, s)) {
        perf.push(format!(
            "cert_days_left={days};{}:;0:",
            t.settings.cert_warn_days
        ));
    }
    // The plugin line is one line: no '|' or newline from the summary may leak into it.
    let summary = summary.replace(['|', '\n'], " ");
    writeln!(
        out,
        "PASV {} - {summary}{time_note} | {}",
        label(status),
        perf.join(" ")
    )?;
    for f in &report.findings {
        if f.severity >= Severity::Warning {
            writeln!(
                out,
                "{} {}: {}",
                f.severity.as_str().to_uppercase(),
                f.code,
                f.title.replace('|', "/")
            )?;
        }
    }
    out.flush()
}

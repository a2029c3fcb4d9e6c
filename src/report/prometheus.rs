//! Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
//! collector or a push: probe success, verdict, per-phase seconds (the phases of
//! [`super::timing`], shared with the Nagios perfdata), a 0/1 series for every finding code,
//! findings by code and severity, and the certificate's days left. Several reports (a batch
//! run) go into one exposition, each metric family once.
//!
//! Conventions (docs/monitoring.md): base units in the names (`_seconds`), every series a
//! gauge, labels of bounded cardinality (target, server address, phase, code, severity);
//! series that can be 0 are written as 0, so an alert clears when its problem goes away.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::Report;
use super::timing::{TimedPhase, cert_days_left, dns_us, secs, session_phases};
use crate::finding::{Code, Verdict};

/// Escapes a label value (backslash, double quote, newline).
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes `# HELP` and `# TYPE ... gauge` for a family.
fn family(text: &mut String, name: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} gauge");
}

/// Writes the exposition for one report.
pub fn write(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    write_all(out, std::slice::from_ref(report))
}

/// Writes one exposition for several reports (a batch run). Not one [`write`] per report:
/// the text format wants each metric family (`# HELP`, `# TYPE`) once, with the series of
/// every target beneath it, so the reports are grouped by family, not by target.
pub fn write_all(out: &mut dyn Write, reports: &[Report<'_>]) -> io::Result<()> {
    let mut text = String::new();

    family(
        &mut text,
        "pasv_doctor_probe_success",
        "1 when the check ran and found nothing critical.",
    );
    for r in reports {
        let ok = matches!(r.verdict, Verdict::Ok | Verdict::Warning);
        let _ = writeln!(
            text,
            "pasv_doctor_probe_success{{target=\"{}\"}} {}",
            esc(&r.transcript.target.input),
            u8::from(ok)
        );
    }

    family(
        &mut text,
        "pasv_doctor_verdict",
        "The verdict, one series per possible value (1 for the current one).",
    );
    for r in reports {
        for v in [
            Verdict::Ok,
            Verdict::Warning,
            Verdict::Critical,
            Verdict::Unknown,
        ] {
            let _ = writeln!(
                text,
                "pasv_doctor_verdict{{target=\"{}\",verdict=\"{}\"}} {}",
                esc(&r.transcript.target.input),
                v.as_str(),
                u8::from(r.verdict == v)
            );
        }
    }

    let names: Vec<&str> = TimedPhase::ALL.iter().map(|p| p.name()).collect();
    family(
        &mut text,
        "pasv_doctor_phase_seconds",
        &format!(
            "Time taken by each phase of the check, per server address (dns: per target). \
             Phases: {}; see docs/monitoring.md.",
            names.join(", ")
        ),
    );
    for r in reports {
        let target = esc(&r.transcript.target.input);
        if let Some(us) = dns_us(r.transcript) {
            let _ = writeln!(
                text,
                "pasv_doctor_phase_seconds{{target=\"{target}\",server=\"\",phase=\"{}\"}} {}",
                TimedPhase::Dns.name(),
                secs(us)
            );
        }
        for s in &r.transcript.servers {
            let server = esc(&s.server.to_string());
            for (phase, us) in session_phases(s) {
                let _ = writeln!(
                    text,
                    "pasv_doctor_phase_seconds{{target=\"{target}\",server=\"{server}\",phase=\"{}\"}} {}",
                    phase.name(),
                    secs(us)
                );
            }
        }
    }

    family(
        &mut text,
        "pasv_doctor_finding",
        "1 when the check reported this finding code, else 0; every code, every run.",
    );
    for r in reports {
        let target = esc(&r.transcript.target.input);
        for code in Code::ALL {
            let present = r.findings.iter().any(|f| f.code == code);
            let _ = writeln!(
                text,
                "pasv_doctor_finding{{target=\"{target}\",code=\"{code}\"}} {}",
                u8::from(present)
            );
        }
    }

    family(
        &mut text,
        "pasv_doctor_findings",
        "Findings of the check, counted by code and severity.",
    );
    for r in reports {
        let mut counts: Vec<(&str, &str, u32)> = Vec::new();
        for f in &r.findings {
            match counts
                .iter_mut()
                .find(|(c, s, _)| *c == f.code.as_str() && *s == f.severity.as_str())
            {
                Some(entry) => entry.2 += 1,
                None => counts.push((f.code.as_str(), f.severity.as_str(), 1)),
            }
        }
        for (code, severity, n) in counts {
            let _ = writeln!(
                text,
                "pasv_doctor_findings{{target=\"{}\",code=\"{code}\",severity=\"{severity}\"}} {n}",
                esc(&r.transcript.target.input)
            );
        }
    }

    // The certificate of each address that showed one (no series without TLS).
    let certs: Vec<(String, String, i64, i64)> = reports
        .iter()
        .flat_map(|r| {
            r.transcript.servers.iter().filter_map(move |s| {
                let cert = s.tls.as_ref()?.certificate.as_ref()?;
                Some((
                    esc(&r.transcript.target.input),
                    esc(&s.server.to_string()),
                    cert_days_left(r.transcript, s)?,
                    cert.not_after_unix,
                ))
            })
        })
        .collect();
    family(
        &mut text,
        "pasv_doctor_tls_cert_days_left",
        "Whole days from the check to the control connection's certificate's notAfter \
         (negative once expired), per server address.",
    );
    for (target, server, days, _) in &certs {
        let _ = writeln!(
            text,
            "pasv_doctor_tls_cert_days_left{{target=\"{target}\",server=\"{server}\"}} {days}"
        );
    }
    family(
        &mut text,
        "pasv_doctor_tls_cert_expiry_timestamp_seconds",
        "The control connection's certificate's notAfter as a Unix time, per server address.",
    );
    for (target, server, _, not_after) in &certs {
        let _ = writeln!(
            text,
            "pasv_doctor_tls_cert_expiry_timestamp_seconds{{target=\"{target}\",server=\"{server}\"}} {not_after}"
        );
    }

    family(
        &mut text,
        "pasv_doctor_duration_seconds",
        "Wall time of the whole check.",
    );
    for r in reports {
        let _ = writeln!(
            text,
            "pasv_doctor_duration_seconds{{target=\"{}\"}} {}",
            esc(&r.transcript.target.input),
            secs(r.transcript.total_us)
        );
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

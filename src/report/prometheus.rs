//! Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
//! collector or a push: probe success, verdict, per-phase seconds, findings by code and
//! severity. Several reports (a batch run) go into one exposition, each metric family once.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::Report;
use crate::finding::Verdict;

/// Escapes a label value (backslash, double quote, newline).
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes the exposition for one or more reports.
pub fn write(out: &mut dyn Write, reports: &[Report<'_>]) -> io::Result<()> {
    let mut text = String::new();
    let family = |text: &mut String, name: &str, help: &str| {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
    };

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

    family(
        &mut text,
        "pasv_doctor_phase_seconds",
        "Time taken by each phase of the check, per server address.",
    );
    for r in reports {
        let target = esc(&r.transcript.target.input);
        if let Some(d) = &r.transcript.dns {
            let _ = writeln!(
                text,
                "pasv_doctor_phase_seconds{{target=\"{target}\",server=\"\",phase=\"dns\"}} {}",
                d.elapsed_us as f64 / 1e6
            );
        }
        for s in &r.transcript.servers {
            let server = esc(&s.server.to_string());
            let mut phases = vec![("connect", s.connect.elapsed_us)];
            if let Some(g) = s.greeting.last() {
                phases.push(("greeting", g.elapsed_us));
            }
            if let Some(l) = &s.login {
                phases.push(("login", l.elapsed_us));
            }
            if let Some(t) = s.transfers.iter().find(|t| t.data_end_us.is_some()) {
                phases.push(("data", t.data_end_us.unwrap_or(0)));
            }
            phases.push(("total", s.total_us));
            for (phase, us) in phases {
                let _ = writeln!(
                    text,
                    "pasv_doctor_phase_seconds{{target=\"{target}\",server=\"{server}\",phase=\"{phase}\"}} {}",
                    us as f64 / 1e6
                );
            }
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
            r.transcript.total_us as f64 / 1e6
        );
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

//! Renderers. Each takes the data it shows and a writer it is given; none touches stdout
//! itself, so every format is testable and `| head` is handled in one place (`main`).

pub mod decode;
pub mod headline;
pub mod html;
pub mod json;
pub mod markdown;
pub mod nagios;
pub mod prometheus;
mod render;
pub mod table;
pub mod timing;

pub use render::{Format, RenderOptions, render, status};

use crate::analyze;
use crate::exit::Status;
use crate::finding::{Code, Finding, Severity, Verdict};
use crate::knowledge::clients::{ClientVerdict, compatibility};
use crate::transcript::{SessionEnd, Transcript};

/// What a `check` run produced: the transcript and what the analysis made of it.
#[derive(Debug)]
pub struct Report<'a> {
    pub transcript: &'a Transcript,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
    pub clients: Vec<ClientVerdict>,
    /// Where the transcript came from, in lines a caller adds (`explain`: the log, who
    /// wrote it, what it does not show); the reports for people print it after the headline.
    pub preface: Vec<String>,
}

impl<'a> Report<'a> {
    /// Analyses a transcript (pure).
    pub fn new(transcript: &'a Transcript) -> Self {
        let findings = analyze::analyze(transcript);
        let verdict = analyze::verdict(transcript, &findings);
        let partial = findings.iter().any(|f| f.code == Code::DataRangePartial);
        let clients = compatibility(transcript, partial, &findings);
        Report {
            transcript,
            findings,
            verdict,
            clients,
            preface: Vec::new(),
        }
    }

    /// The same report with `lines` said about where its transcript came from.
    pub fn with_preface(mut self, lines: Vec<String>) -> Self {
        self.preface = lines;
        self
    }
}

impl Report<'_> {
    /// The exit status for this verdict (monitoring convention).
    pub fn status(&self) -> Status {
        match self.verdict {
            Verdict::Ok => Status::Ok,
            Verdict::Warning => Status::Warning,
            Verdict::Critical => Status::Critical,
            Verdict::Unknown => Status::Unknown,
        }
    }

    /// One line: the verdict and the most important finding.
    pub fn summary(&self) -> String {
        let count = |sev: Severity| self.findings.iter().filter(|f| f.severity == sev).count();
        let worst = self
            .findings
            .iter()
            .find(|f| f.severity >= Severity::Warning)
            .map(|f| format!(": {} ({})", f.title, f.code))
            .unwrap_or_default();
        let path_ok = self.findings.iter().any(|f| f.code == Code::DataPathOk);
        match self.verdict {
            // A log tells what its client did, not what passive mode does for every client.
            Verdict::Ok if path_ok && self.transcript.client_log.is_some() => {
                "OK: the data transfers in the log completed".to_string()
            }
            Verdict::Ok if path_ok => format!(
                "OK: passive mode works ({} server address(es) checked)",
                self.transcript.servers.len()
            ),
            // No passive transfer was seen (an active-mode log, a fragment): say no more.
            Verdict::Ok => {
                "OK: no problem in what was seen; no passive transfer was seen".to_string()
            }
            Verdict::Unknown if self.transcript.interrupted => format!(
                "UNKNOWN: interrupted, {} finding(s) from what was seen before (CHECK_INTERRUPTED)",
                self.findings.len().saturating_sub(1)
            ),
            Verdict::Unknown => format!(
                "UNKNOWN: nothing could be checked{}",
                self.findings
                    .first()
                    .map(|f| format!(": {} ({})", f.title, f.code))
                    .unwrap_or_default()
            ),
            v => format!(
                "{}: {} critical, {} warning{worst}",
                v.as_str().to_uppercase(),
                count(Severity::Critical),
                count(Severity::Warning)
            ),
        }
    }
}

/// A short label for how a session ended.
pub fn end_label(end: &SessionEnd) -> String {
    match end {
        SessionEnd::Completed => "completed".to_string(),
        SessionEnd::ConnectFailed => "connect_failed".to_string(),
        SessionEnd::Unavailable => "unavailable".to_string(),
        SessionEnd::LoginFailed => "login_failed".to_string(),
        SessionEnd::Closed(p) => format!("closed_during_{}", phase_name(*p)),
        SessionEnd::TimedOut(p) => format!("timed_out_during_{}", phase_name(*p)),
        SessionEnd::ProtocolError(p) => format!("protocol_error_during_{}", phase_name(*p)),
        SessionEnd::Deadline(p) => format!("deadline_during_{}", phase_name(*p)),
        SessionEnd::Interrupted(p) => format!("interrupted_during_{}", phase_name(*p)),
        SessionEnd::TlsFailed => "tls_failed".to_string(),
        SessionEnd::TlsRefused => "tls_refused".to_string(),
    }
}

pub fn phase_name(p: crate::transcript::Phase) -> &'static str {
    use crate::transcript::Phase;
    match p {
        Phase::Dns => "dns",
        Phase::Connect => "connect",
        Phase::Greeting => "greeting",
        Phase::Login => "login",
        Phase::Pasv => "pasv",
        Phase::Epsv => "epsv",
        Phase::Data => "data",
    }
}

//! The one way a report is written: a [`Format`] and its [`RenderOptions`], for `check`,
//! `batch`, `explain` and `demo` alike. Colour is an option of the call, never a
//! process-wide switch, so reports rendered side by side cannot change each other. The exit
//! status is derived from the report ([`status`]) for every format the same way.

use std::io::{self, Write};

use super::Report;
use super::nagios::{self, Thresholds};
use super::table::{self, HumanOptions};
use super::{html, json, markdown, prometheus};
use crate::exit::Status;

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Tables for people.
    Table,
    /// A short answer for a ticket, evidence collapsed.
    Markdown,
    /// The versioned JSON report, pretty-printed.
    Json,
    /// The versioned JSON report on one line (one line per report in a batch).
    JsonLine,
    /// The monitoring-plugins line with perfdata.
    Nagios,
    /// Prometheus text exposition for this one report.
    Prometheus,
    /// One self-contained HTML page with pictures of the session.
    Html,
}

/// Everything a renderer may need besides the report.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub format: Format,
    /// ANSI colour in the table (decided once by the caller: flag, NO_COLOR, terminal).
    pub color: bool,
    /// Width of the table in columns.
    pub width: u16,
    /// Also show the control session with timestamps (table).
    pub transcript: bool,
    /// Every port test in its own row instead of grouped by outcome (table).
    pub verbose: bool,
    /// Show every duration as "-" (a test switch for stable snapshots; table).
    pub deterministic: bool,
    /// Time thresholds on the whole check (Nagios perfdata and status).
    pub thresholds: Thresholds,
}

impl RenderOptions {
    /// Plain options for `format`: no colour, 100 columns, no transcript, no thresholds.
    pub fn new(format: Format) -> RenderOptions {
        RenderOptions {
            format,
            color: false,
            width: 100,
            transcript: false,
            verbose: false,
            deterministic: false,
            thresholds: Thresholds::default(),
        }
    }
}

/// Writes `report` in the chosen format.
pub fn render(report: &Report<'_>, out: &mut dyn Write, opts: &RenderOptions) -> io::Result<()> {
    match opts.format {
        Format::Table => table::write(
            out,
            report,
            HumanOptions {
                color: opts.color,
                width: opts.width,
                transcript: opts.transcript,
                verbose: opts.verbose,
                deterministic: opts.deterministic,
            },
        ),
        Format::Markdown => markdown::write(out, report),
        Format::Json => json::write(out, report),
        Format::JsonLine => json::write_line(out, report),
        Format::Nagios => nagios::write(out, report, opts.thresholds),
        Format::Prometheus => prometheus::write(out, report),
        Format::Html => html::write(out, report),
    }
}

/// The exit status for `report` written with `opts`: the verdict's, raised by the time
/// thresholds where the format reports them (Nagios, whose plugin line states that status).
pub fn status(report: &Report<'_>, opts: &RenderOptions) -> Status {
    match opts.format {
        Format::Nagios => nagios::status(report, opts.thresholds),
        _ => report.status(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Transcript;

    fn empty() -> Transcript {
        Transcript::test_empty("h.example")
    }

    #[test]
    fn every_format_writes_and_the_status_follows_the_report() {
        let t = empty();
        let report = Report::new(&t);
        for format in [
            Format::Table,
            Format::Markdown,
            Format::Json,
            Format::JsonLine,
            Format::Nagios,
            Format::Prometheus,
            Format::Html,
        ] {
            let mut out = Vec::new();
            let opts = RenderOptions::new(format);
            render(&report, &mut out, &opts).expect("render");
            assert!(!out.is_empty(), "{format:?}");
            assert_eq!(status(&report, &opts), report.status(), "{format:?}");
        }
        let mut line = Vec::new();
        render(&report, &mut line, &RenderOptions::new(Format::JsonLine)).expect("render");
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
    }

    #[test]
    fn colour_is_an_option_of_the_call() {
        let t = empty();
        let report = Report::new(&t);
        let mut plain = Vec::new();
        let mut painted = Vec::new();
        let mut opts = RenderOptions::new(Format::Table);
        render(&report, &mut plain, &opts).expect("render");
        opts.color = true;
        render(&report, &mut painted, &opts).expect("render");
        assert!(!plain.contains(&0x1b));
        assert!(painted.contains(&0x1b));
    }
}

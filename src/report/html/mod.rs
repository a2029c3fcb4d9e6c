//! The HTML report: one self-contained page for a ticket, a browser or paper. Inline CSS
//! and inline SVG only, no script and no URL of any kind outside the page (a strict
//! Content-Security-Policy in the page itself says so), every text from the server
//! escaped. The page: the headline, the address picture (`address/`), the session
//! timeline (`timeline/`), the findings with their fixes, the client table, the
//! certificate and the transcript (`sections.rs`); `batch.rs` puts many reports on one
//! page. Unknown stays unknown: a client log without times or addresses is drawn so.

mod address;
mod batch;
mod headline;
mod page;
mod range;
mod sections;
mod timeline;

use std::fmt::Write as _;
use std::io::{self, Write};

pub use batch::write_batch;

use super::Report;
use crate::transcript::{ConnectOutcome, Transcript};

/// Writes `report` as one HTML page.
pub fn write(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let mut html = String::new();
    let title = format!(
        "pasv-doctor {} of {}: {}",
        kind(report.transcript),
        report.transcript.target.input,
        report.verdict.as_str().to_uppercase()
    );
    page::open(&mut html, &title);
    html.push_str(&body(report));
    page::close(&mut html);
    out.write_all(html.as_bytes())?;
    out.flush()
}

/// The report's style sheet, for a page that shows reports inside its own (the service's
/// desk, which allows it in its Content-Security-Policy by its hash).
pub fn style_sheet() -> &'static str {
    page::STYLE
}

/// The body of [`write`]'s page, without the document around it: for a page that shows
/// the report inside its own, with [`style_sheet`].
pub fn body(report: &Report<'_>) -> String {
    let mut html = String::from("<main>\n");
    report_body(&mut html, report, "r", 1);
    html.push_str("</main>\n");
    html
}

/// "check" or "explain".
fn kind(t: &Transcript) -> &'static str {
    if t.client_log.is_some() {
        "explain"
    } else {
        "check"
    }
}

/// One report's sections; `id` prefixes every anchor, `level` is the heading level of its
/// title (1 alone, 2 on a batch page).
fn report_body(html: &mut String, report: &Report<'_>, id: &str, level: u8) {
    let t = report.transcript;
    let _ = writeln!(
        html,
        "<article class=\"report\" id=\"{id}\" data-verdict=\"{}\">",
        report.verdict.as_str()
    );
    let _ = writeln!(
        html,
        "<h{level}>pasv-doctor {} of <code>{}</code></h{level}>",
        kind(t),
        esc(&t.target.input)
    );
    headline::write(html, report, id);
    let sub = level + 1;
    if !t.servers.is_empty() || t.dns.is_some() {
        let _ = writeln!(html, "<section><h{sub}>Addresses</h{sub}>");
        address::write(html, report);
        html.push_str("</section>\n");
    }
    if !t.servers.is_empty() {
        let _ = writeln!(html, "<section><h{sub}>Session timeline</h{sub}>");
        for (i, s) in t.servers.iter().enumerate() {
            timeline::write(html, t, s, &format!("{id}-tl{i}"));
        }
        html.push_str("</section>\n");
    }
    range::write(html, report, sub, id);
    sections::findings(html, report, sub, id);
    sections::clients(html, report, sub, id);
    sections::certificates(html, report, sub, id);
    sections::transcript(html, report, sub, id);
    let _ = writeln!(
        html,
        "<p class=\"foot\">Checked with pasv-doctor {}; verdict {}.</p>\n</article>",
        env!("CARGO_PKG_VERSION"),
        report.verdict.as_str()
    );
}

/// Text made safe for HTML and SVG, in element content and in quoted attributes alike.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no place in a page (a server's reply may hold any).
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// How a connection ended, as the pictures draw it: a shape and a word for each, so that
/// colour is never the only signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Connected (a test connection, or a transfer that completed).
    Ok,
    /// Something answered with a reset on a port no longer handed out.
    Answered,
    Refused,
    /// No answer until the timeout.
    Timeout,
    /// Unreachable, an error, a transfer that failed after connecting.
    Failed,
    /// Not contacted on purpose.
    Skipped,
    /// Not shown (a client log), or not known.
    Unknown,
}

impl Mark {
    /// A sampled port test's outcome (a reset there answers for the path, not the port).
    fn of_probe(o: &ConnectOutcome) -> Mark {
        match o {
            ConnectOutcome::Refused => Mark::Answered,
            o => Mark::of_data(o),
        }
    }

    /// A data connection's outcome.
    fn of_data(o: &ConnectOutcome) -> Mark {
        match o {
            ConnectOutcome::Connected => Mark::Ok,
            ConnectOutcome::Refused => Mark::Refused,
            ConnectOutcome::TimedOut => Mark::Timeout,
            ConnectOutcome::Skipped(_) => Mark::Skipped,
            o if o.not_shown() => Mark::Unknown,
            _ => Mark::Failed,
        }
    }

    fn is_failure(self) -> bool {
        matches!(self, Mark::Refused | Mark::Timeout | Mark::Failed)
    }

    /// The CSS class (colour) of the mark.
    fn class(self) -> &'static str {
        match self {
            Mark::Ok | Mark::Answered => "good",
            Mark::Refused | Mark::Timeout | Mark::Failed => "bad",
            Mark::Skipped | Mark::Unknown => "none",
        }
    }

    /// The shape, centred on (x, y), radius about 6: a ticked circle, a crossed square, a
    /// clock, a warning triangle, a hollow dashed circle with a question mark.
    fn shape(self, x: f64, y: f64) -> String {
        let c = self.class();
        match self {
            Mark::Ok => format!(
                "<g class=\"mark {c}\"><circle cx=\"{x}\" cy=\"{y}\" r=\"6\"/>\
                 <path d=\"M{} {y}l2.5 2.5 4.5-5\" class=\"ink\"/></g>",
                x - 3.5
            ),
            Mark::Answered => format!(
                "<g class=\"mark {c}\"><circle cx=\"{x}\" cy=\"{y}\" r=\"6\"/>\
                 <path d=\"M{} {y}h7\" class=\"ink\"/></g>",
                x - 3.5
            ),
            Mark::Refused => format!(
                "<g class=\"mark {c}\"><rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\"/>\
                 <path d=\"M{} {}l7 7m0-7l-7 7\" class=\"ink\"/></g>",
                x - 6.0,
                y - 6.0,
                x - 3.5,
                y - 3.5
            ),
            Mark::Timeout => format!(
                "<g class=\"mark {c}\"><circle cx=\"{x}\" cy=\"{y}\" r=\"6.5\"/>\
                 <path d=\"M{x} {}v4.5h3.5\" class=\"ink\"/></g>",
                y - 4.5
            ),
            Mark::Failed => format!(
                "<g class=\"mark {c}\"><path d=\"M{x} {}l7 12.5h-14z\"/>\
                 <path d=\"M{x} {}v4.5m0 2v1.5\" class=\"ink\"/></g>",
                y - 7.0,
                y - 3.0
            ),
            Mark::Skipped => format!(
                "<g class=\"mark {c}\"><circle cx=\"{x}\" cy=\"{y}\" r=\"6\" class=\"hollow\"/>\
                 <path d=\"M{} {y}h7\" class=\"ink dark\"/></g>",
                x - 3.5
            ),
            Mark::Unknown => format!(
                "<g class=\"mark {c}\"><circle cx=\"{x}\" cy=\"{y}\" r=\"6\" class=\"hollow\"/>\
                 <text x=\"{x}\" y=\"{}\" class=\"q\">?</text></g>",
                y + 3.5
            ),
        }
    }
}

/// SVG markup with a line break after each element (escaped text holds no `/>`).
fn lines(svg: &str) -> String {
    svg.replace("/>", "/>\n")
        .replace("</text>", "</text>\n")
        .replace("</g>", "</g>\n")
}

/// A duration for people: "0.2 ms", "2.0 s".
fn dur(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else {
        format!("{:.1} ms", us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_controls() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>\u{7}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{fffd}"
        );
    }

    #[test]
    fn clip_cuts_with_an_ellipsis() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}

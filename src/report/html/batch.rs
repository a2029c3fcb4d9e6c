//! The batch page: every target of a run on one page. A table first, ordered on the
//! server side (no script): worst verdict first (critical, unknown, warning, ok), then
//! the longest check, then the name, each row linking to its target's full report below.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{dur, esc, page, report_body};
use crate::finding::Verdict;
use crate::report::Report;
use crate::report::headline::Headline;

/// How bad a verdict is for the ordering: a check that could not run is as much in need of
/// a look as a failing one, so it comes right after the critical ones.
fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Critical => 0,
        Verdict::Unknown => 1,
        Verdict::Warning => 2,
        Verdict::Ok => 3,
    }
}

/// The reports in page order.
pub fn order(reports: &[Report<'_>]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..reports.len()).collect();
    idx.sort_by(|a, b| {
        let (ra, rb) = (&reports[*a], &reports[*b]);
        rank(ra.verdict)
            .cmp(&rank(rb.verdict))
            .then(rb.transcript.total_us.cmp(&ra.transcript.total_us))
            .then(ra.transcript.target.input.cmp(&rb.transcript.target.input))
    });
    idx
}

/// Writes the batch page for `reports`.
pub fn write_batch(out: &mut dyn Write, reports: &[Report<'_>]) -> io::Result<()> {
    let mut html = String::new();
    let mut counts = [0usize; 4];
    for r in reports {
        counts[usize::from(rank(r.verdict))] += 1;
    }
    page::open(
        &mut html,
        &format!(
            "pasv-doctor batch: {} target(s), {} critical, {} warning",
            reports.len(),
            counts[0],
            counts[2]
        ),
    );
    html.push_str("<main>\n<h1>pasv-doctor batch</h1>\n<p class=\"runsum\">");
    for (v, n) in [
        (Verdict::Critical, counts[0]),
        (Verdict::Unknown, counts[1]),
        (Verdict::Warning, counts[2]),
        (Verdict::Ok, counts[3]),
    ] {
        let _ = write!(
            html,
            "<span class=\"badge {}\">{n} {}</span>",
            v.as_str(),
            v.as_str()
        );
    }
    let _ = writeln!(
        html,
        "</p>\n<p>{} target(s), worst first. Each row links to its report below.</p>",
        reports.len()
    );
    html.push_str(
        "<div class=\"scroll\"><table class=\"stack targets\">\n<thead><tr><th>target</th><th>verdict</th><th>root cause</th><th>check took</th><th>connect</th></tr></thead>\n<tbody>\n",
    );
    let order = order(reports);
    for (n, i) in order.iter().enumerate() {
        let r = &reports[*i];
        let h = Headline::of(r);
        let t = r.transcript;
        let connect = t
            .servers
            .iter()
            .filter(|s| s.connect.outcome == crate::transcript::ConnectOutcome::Connected)
            .map(|s| s.connect.elapsed_us)
            .max()
            .map_or_else(|| "-".to_string(), dur);
        let v = r.verdict.as_str();
        let _ = writeln!(
            html,
            "<tr data-verdict=\"{v}\"><td data-label=\"target\"><a href=\"#t{n}\"><code>{}</code></a></td><td data-label=\"verdict\"><span class=\"badge {v}\">{}</span></td><td data-label=\"root cause\">{}</td><td data-label=\"check took\">{}</td><td data-label=\"connect\">{connect}</td></tr>",
            esc(&t.target.input),
            v.to_uppercase(),
            esc(&h.answer),
            dur(t.total_us),
        );
    }
    html.push_str("</tbody></table></div>\n");
    for (n, i) in order.iter().enumerate() {
        let _ = writeln!(html, "<!-- target {} -->", n + 1);
        report_body(&mut html, &reports[*i], &format!("t{n}"), 2);
    }
    let _ = writeln!(
        html,
        "<p class=\"foot\">Checked with pasv-doctor {}.</p>\n</main>",
        env!("CARGO_PKG_VERSION")
    );
    page::close(&mut html);
    out.write_all(html.as_bytes())?;
    out.flush()
}

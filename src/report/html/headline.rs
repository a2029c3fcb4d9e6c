//! The headline block: the verdict with its shape, the root cause, the one change that
//! fixes it and the clients affected (from [`crate::report::headline`]), then where the
//! transcript came from.

use std::fmt::Write as _;

use super::esc;
use crate::finding::Verdict;
use crate::report::Report;
use crate::report::headline::Headline;

/// The verdict's icon: a ticked circle, a warning triangle, a crossed octagon, a question
/// mark in a dashed circle; its `<title>` names it for screen readers.
pub(super) fn icon(v: Verdict) -> String {
    let (shape, ink) = match v {
        Verdict::Ok => (
            "<circle cx=\"12\" cy=\"12\" r=\"11\" fill=\"#1a7f37\"/>",
            "<path d=\"M6.5 12.5l3.5 3.5 7.5-8\" stroke=\"#fff\" stroke-width=\"2.6\" fill=\"none\"/>",
        ),
        Verdict::Warning => (
            "<path d=\"M12 1.5l11 20h-22z\" fill=\"#9a6700\"/>",
            "<path d=\"M12 8v6.5m0 2.5v2\" stroke=\"#fff\" stroke-width=\"2.6\"/>",
        ),
        Verdict::Critical => (
            "<path d=\"M7.4 1h9.2L23 7.4v9.2L16.6 23H7.4L1 16.6V7.4z\" fill=\"#cf222e\"/>",
            "<path d=\"M7.5 7.5l9 9m0-9l-9 9\" stroke=\"#fff\" stroke-width=\"2.6\"/>",
        ),
        Verdict::Unknown => (
            "<circle cx=\"12\" cy=\"12\" r=\"10.5\" fill=\"#eef1f4\" stroke=\"#6e7781\" \
             stroke-width=\"1.6\" stroke-dasharray=\"3 2\"/>",
            "<text x=\"12\" y=\"17\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"700\" \
             fill=\"#6e7781\">?</text>",
        ),
    };
    format!(
        "<svg viewBox=\"0 0 24 24\" width=\"30\" height=\"30\" role=\"img\"><title>{}</title>{shape}{ink}</svg>",
        v.as_str().to_uppercase()
    )
}

pub(super) fn write(html: &mut String, report: &Report<'_>, id: &str) {
    let h = Headline::of(report);
    let v = h.verdict.as_str();
    let _ = writeln!(
        html,
        "<div class=\"headline {v}\" id=\"{id}-headline\">\n<p class=\"verdict\">{}<span><span class=\"word\">{}</span>{}</span></p>\n<dl>",
        icon(h.verdict),
        v.to_uppercase(),
        esc(&h.answer)
    );
    if let Some(note) = &h.note {
        let _ = writeln!(html, "<dt>But</dt><dd>{}</dd>", esc(note));
    }
    if let Some(fix) = &h.fix {
        let label = if h.note.is_some() { "Option" } else { "Fix" };
        let _ = write!(html, "<dt>{label}</dt><dd>{}", esc(&fix.remedy));
        if let Some(setting) = &fix.setting {
            let _ = write!(html, "<code class=\"setting\">{}</code>", esc(setting));
        }
        if fix.per_product {
            let _ = write!(
                html,
                "<span class=\"setting\">The server product was not recognised: the setting \
                 of each common product is under <a href=\"#{id}-findings\">Findings</a>.</span>"
            );
        }
        html.push_str("</dd>\n");
    }
    let _ = writeln!(
        html,
        "<dt>Clients</dt><dd>{}</dd>",
        esc(&h.clients.sentence())
    );
    if !h.more.is_empty() {
        let codes: Vec<String> = h.more.iter().map(|c| format!("<code>{c}</code>")).collect();
        let _ = writeln!(html, "<dt>Also</dt><dd>{}</dd>", codes.join(", "));
    }
    html.push_str("</dl>\n</div>\n");
    if !report.preface.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"preface\">{}</p>",
            report
                .preface
                .iter()
                .map(|l| esc(l))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
}

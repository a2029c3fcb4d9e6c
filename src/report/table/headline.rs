//! The table report's first lines: the headline (verdict and root cause, the one change
//! that fixes it, the clients affected), then where the transcript came from.

use super::*;
use crate::report::headline::Headline;

/// Labels are padded to this width, so the answers line up.
const LABEL: usize = 9;

fn labelled(p: &Painter, label: &str, text: &str, width: usize) -> String {
    format!(
        "{}{}",
        p.heading(&format!("{label:<LABEL$}")),
        wrap(text, width, LABEL)
    )
}

pub(super) fn write(
    out: &mut dyn Write,
    p: &Painter,
    report: &Report<'_>,
    width: usize,
) -> io::Result<()> {
    let h = Headline::of(report);
    let start = LABEL + h.verdict.as_str().len() + " - ".len();
    writeln!(
        out,
        "{}{} - {}",
        p.heading(&format!("{:<LABEL$}", "Verdict:")),
        p.verdict_word(h.verdict),
        wrap_from(&h.answer, width, LABEL, start)
    )?;
    if let Some(note) = &h.note {
        writeln!(out, "{}", labelled(p, "But:", note, width))?;
    }
    if let Some(fix) = &h.fix {
        let label = if h.note.is_some() { "Option:" } else { "Fix:" };
        writeln!(out, "{}", labelled(p, label, &fix.remedy, width))?;
        if let Some(setting) = &fix.setting {
            writeln!(out, "{:LABEL$}{}", "", wrap(setting, width, LABEL + 2))?;
        }
        if fix.per_product {
            writeln!(
                out,
                "{:LABEL$}{}",
                "",
                wrap(
                    "The server product was not recognised: the setting of each common \
                     product is under \"How to fix\".",
                    width,
                    LABEL
                )
            )?;
        }
    }
    writeln!(
        out,
        "{}",
        labelled(p, "Clients:", &h.clients.sentence(), width)
    )?;
    if !h.more.is_empty() {
        let codes: Vec<&str> = h.more.iter().map(|c| c.as_str()).collect();
        writeln!(
            out,
            "{}",
            labelled(
                p,
                "Also:",
                &format!("{} (under Findings)", codes.join(", ")),
                width
            )
        )?;
    }
    if !report.preface.is_empty() {
        writeln!(out)?;
        for line in &report.preface {
            writeln!(out, "{}", wrap(line, width, 0))?;
        }
    }
    Ok(())
}

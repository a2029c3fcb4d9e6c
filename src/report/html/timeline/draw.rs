//! Drawing the timeline's rows: positions to scale with long gaps cut, a slot for each
//! data connection's wait, the arrows, the outcome shapes, and the band on the first failure.

use std::fmt::Write as _;

use super::super::{Mark, clip, dur, esc, lines};
use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn draw(
    html: &mut String,
    t: &Transcript,
    s: &ServerSession,
    id: &str,
    rows: &[Row],
    cs: &mut [Conn],
    timed: bool,
) {
    // Row positions: to scale, at least a row apart, long gaps cut.
    let mut ys = Vec::with_capacity(rows.len());
    let mut cuts: Vec<(f64, u64)> = Vec::new();
    let mut y = TOP + 10.0;
    let mut last: Option<u64> = None;
    for r in rows {
        if let (Some(prev), Some(now)) = (last, r.time) {
            let gap = now.saturating_sub(prev);
            let px = gap as f64 / 1000.0 * PX_PER_MS;
            if px > CUT {
                cuts.push((y + CUT / 2.0, gap));
                y += CUT;
            } else {
                y += px.max(ROW);
            }
        } else if !ys.is_empty() {
            y += ROW;
        }
        if r.time.is_some() {
            last = r.time;
        }
        ys.push(y);
    }
    let bottom = y + 24.0;
    // Slots: a data connection's bar takes the first slot free at its start.
    let mut busy: Vec<f64> = Vec::new();
    for (r, y) in rows.iter().zip(&ys) {
        match &r.kind {
            Kind::DataStart { conn } => {
                let c = &mut cs[*conn];
                c.start_y = *y;
                c.end_y = *y;
                let slot = busy.iter().position(|b| *b < *y).unwrap_or(busy.len());
                c.slot = slot.min(10);
                if slot == busy.len() {
                    busy.push(f64::MAX);
                }
                if !c.inline {
                    busy[slot] = f64::MAX;
                } else {
                    busy[slot] = *y;
                }
            }
            Kind::DataEnd { conns } => {
                for i in conns {
                    cs[*i].end_y = *y;
                    if let Some(b) = busy.get_mut(cs[*i].slot) {
                        *b = *y;
                    }
                }
            }
            _ => {}
        }
    }
    let mut svg = String::new();
    // The first failure: a band across the diagram.
    let failure = rows.iter().zip(&ys).find(|(r, _)| match &r.kind {
        Kind::DataStart { conn } => cs[*conn].inline && cs[*conn].mark.is_failure(),
        Kind::DataEnd { conns } => conns.iter().any(|i| cs[*i].mark.is_failure()),
        Kind::End { .. } => true,
        _ => false,
    });
    if let Some((_, fy)) = failure {
        let _ = write!(
            svg,
            "<rect x=\"0\" y=\"{}\" width=\"{W}\" height=\"{ROW}\" class=\"fail-band\"/><path d=\"M2 {}l7 5.5-7 5.5z\" class=\"fail-tag\"/>",
            fy - ROW / 2.0 - 1.0,
            fy - 5.5
        );
    }
    // Lifelines and their names.
    let names = [
        (
            CX,
            match &t.client_log {
                Some(l) => l.client.clone().unwrap_or_else(|| "client".to_string()),
                None => "client (this check)".to_string(),
            },
        ),
        (SX, "server: control".to_string()),
        (DX - 6.0, "data ports".to_string()),
    ];
    for (i, (x, name)) in names.into_iter().enumerate() {
        let anchor = if i == 2 { "" } else { "mid " };
        let _ = write!(
            svg,
            "<text x=\"{x}\" y=\"16\" class=\"{anchor}title\">{}</text>",
            esc(&name)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{SX}\" y=\"30\" class=\"mid small mono\">{}</text><text x=\"4\" y=\"30\" class=\"small\">{}</text>",
        esc(&crate::transcript::show_addr(s.server)),
        if timed { "time" } else { "log order" }
    );
    for (x, class) in [(CX, "life"), (SX, "life"), (DX, "life data")] {
        let _ = write!(svg, "<path d=\"M{x} {TOP}V{bottom}\" class=\"{class}\"/>");
    }
    for (cy, gap) in &cuts {
        let _ = write!(
            svg,
            "<path d=\"M{} {}l8 -4m-8 10l8 -4\" class=\"cut\"/><text x=\"4\" y=\"{}\" class=\"small\">≈ {}</text>",
            CX - 4.0,
            cy - 2.0,
            cy + 4.0,
            dur(*gap)
        );
    }
    // Waits: a bar from each data connection's start to its end.
    for c in cs.iter().filter(|c| !c.inline) {
        let x = DX + c.slot as f64 * SLOT;
        let _ = write!(
            svg,
            "<path d=\"M{x} {}V{}\" class=\"wait {}\"/>",
            c.start_y,
            c.end_y,
            c.mark.class()
        );
    }
    let mut last_label = String::new();
    for (r, y) in rows.iter().zip(&ys) {
        if let Some(time) = r.time {
            let label = format!("+{:.3} s", time as f64 / 1e6);
            if label != last_label {
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" class=\"small end mono\">{label}</text>",
                    CX - 12.0,
                    y + 3.5
                );
                last_label = label;
            }
        }
        match &r.kind {
            Kind::Connect => {
                let text = format!(
                    "TCP connect: {}{}",
                    s.connect.outcome.describe(),
                    if timed {
                        format!(" in {}", dur(s.connect.elapsed_us))
                    } else {
                        String::new()
                    }
                );
                message(&mut svg, *y, true, &text, 0, "");
            }
            Kind::Line { sent, text, more } => message(&mut svg, *y, *sent, text, *more, ""),
            Kind::DataStart { conn } => {
                let c = &cs[*conn];
                let x = DX + c.slot as f64 * SLOT;
                let _ = write!(
                    svg,
                    "<path d=\"M{CX} {y}H{}\" class=\"arrow data\"/><path d=\"M{} {y}l-6 -3.5v7z\" class=\"head data\"/><text x=\"{}\" y=\"{}\" class=\"small\"><title>{}</title>{}</text>",
                    x - 6.0,
                    x - 6.0,
                    CX + 6.0,
                    y - 3.0,
                    esc(&c.label),
                    esc(&clip(&c.label, 64))
                );
                if c.inline {
                    outcome(&mut svg, c, x, *y);
                }
            }
            Kind::DataEnd { conns } => {
                for i in conns {
                    let c = &cs[*i];
                    svg.push_str(&c.mark.shape(DX + c.slot as f64 * SLOT, *y));
                }
                let c = &cs[conns[0]];
                let words = if conns.len() > 1 {
                    format!("{}× {}", conns.len(), c.words)
                } else {
                    c.words.clone()
                };
                text_at(&mut svg, c.mark, LABEL_X, *y, &words);
            }
            Kind::End { text } => {
                svg.push_str(&Mark::Failed.shape(SX, *y));
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" class=\"bad-text\">{}</text>",
                    SX + 12.0,
                    y + 4.0,
                    esc(text)
                );
            }
        }
    }
    let height = bottom + 6.0;
    let caption = caption(rows, cs, timed);
    // One element a line, so that a snapshot's diff shows what changed.
    let svg = lines(&svg);
    let _ = writeln!(
        html,
        "<figure id=\"{id}\"><div class=\"scroll\"><svg class=\"timeline\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"Session timeline with {}\">{svg}</svg></div>\n<figcaption>{}</figcaption></figure>",
        esc(&crate::transcript::show_addr(s.server)),
        esc(&caption)
    );
}

fn caption(rows: &[Row], cs: &[Conn], timed: bool) -> String {
    let mut text = if timed {
        format!(
            "Time runs down, to scale ({} ms per row at least; gaps over {} ms are cut, ≈ marks them with their length). Arrows: commands (black, to the right) and replies (blue, to the left); dashed arrows: data connections, each with a bar while it waits and a shape for its end: ticked circle connected, barred circle a reset from a port no longer handed out (something answered there), crossed square refused, clock no answer, triangle failed, dashed circle not contacted.",
            (ROW / PX_PER_MS) as u64,
            (CUT / PX_PER_MS) as u64
        )
    } else {
        "A client log: rows in the log's order, with no times (the log's clock is not reliable enough to draw). Arrows: commands (black) and replies (blue); dashed arrows: the client's data connections with their outcome.".to_string()
    };
    let first = rows.iter().find_map(|r| match &r.kind {
        Kind::DataStart { conn } if cs[*conn].inline && cs[*conn].mark.is_failure() => {
            Some((r.time, &cs[*conn]))
        }
        Kind::DataEnd { conns } => conns
            .iter()
            .map(|i| &cs[*i])
            .find(|c| c.mark.is_failure())
            .map(|c| (r.time, c)),
        _ => None,
    });
    if let Some((time, c)) = first {
        let at = time.map_or_else(String::new, |t| format!(" at +{:.3} s", t as f64 / 1e6));
        text.push_str(&format!(
            " The first failure (red band){at}: {}: {}.",
            c.label, c.words
        ));
    }
    text
}

fn message(svg: &mut String, y: f64, sent: bool, text: &str, more: usize, _class: &str) {
    let (x1, x2, class, dx) = if sent {
        (CX, SX, "", -6.0)
    } else {
        (SX, CX, "recv", 6.0)
    };
    let shown = if more > 0 {
        format!("{} (+{more} lines)", clip(text, 36))
    } else {
        clip(text, 46)
    };
    let _ = write!(
        svg,
        "<path d=\"M{x1} {y}H{}\" class=\"arrow {class}\"/><path d=\"M{x2} {y}l{dx} -3.5v7z\" class=\"head {class}\"/><text x=\"{}\" y=\"{}\" class=\"mono\"><title>{}</title>{}</text>",
        x2 + dx,
        CX + 6.0,
        y - 3.0,
        esc(text),
        esc(&shown)
    );
}

fn outcome(svg: &mut String, c: &Conn, x: f64, y: f64) {
    svg.push_str(&c.mark.shape(x, y));
    text_at(svg, c.mark, LABEL_X, y, &c.words);
}

fn text_at(svg: &mut String, m: Mark, x: f64, y: f64, words: &str) {
    let class = match m.class() {
        "good" => "good-text",
        "bad" => "bad-text",
        _ => "none-text",
    };
    let _ = write!(
        svg,
        "<text x=\"{x}\" y=\"{}\" class=\"{class}\"><title>{}</title>{}</text>",
        y + 4.0,
        esc(words),
        esc(&clip(words, 36))
    );
}

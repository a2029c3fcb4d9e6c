//! The address picture: one SVG per server address, the client on the left, whatever is
//! between (NAT router, firewall: never seen directly, so drawn dashed and labelled from the
//! findings only), the server on the right with the DNS answers above it. Below, one lane
//! per place data connections go: each address a PASV reply names that is not the control
//! peer (marked as differing, with the clients that follow it), and the control peer
//! itself, each with the outcomes of the connections tried there. An address a client log
//! does not show is drawn as unknown.

mod lanes;

use std::fmt::Write as _;

use super::{Mark, clip, esc, lines};
use crate::knowledge::servers::{Product, fingerprint};
use crate::report::Report;
use crate::transcript::{ConnectOutcome, ServerSession};
use lanes::{Lane, between, class, lanes};

const W: f64 = 460.0;
const BOX_W: f64 = 132.0;
const CLIENT_X: f64 = 4.0;
const NET_X: f64 = 164.0;
const SERVER_X: f64 = 324.0;

/// A box `w` wide, its lines centred and cut to what fits.
#[allow(clippy::too_many_arguments)]
fn node_w(svg: &mut String, x: f64, y: f64, w: f64, h: f64, class: &str, lines: &[(String, &str)]) {
    let _ = write!(
        svg,
        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"5\" class=\"box {class}\"/>"
    );
    for (i, (text, cls)) in lines.iter().enumerate() {
        let fits = (w / if *cls == "small" { 5.6 } else { 6.6 }) as usize;
        let shown = clip(text, fits);
        // The whole text as a tooltip when it had to be cut.
        let title = if shown == *text {
            String::new()
        } else {
            format!("<title>{}</title>", esc(text))
        };
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"mid {cls}\">{title}{}</text>",
            x + w / 2.0,
            y + 16.0 + 14.0 * i as f64,
            esc(&shown)
        );
    }
}

fn node(svg: &mut String, x: f64, y: f64, h: f64, class: &str, lines: &[(String, &str)]) {
    node_w(svg, x, y, BOX_W, h, class, lines);
}

fn arrow(svg: &mut String, x1: f64, x2: f64, y: f64, class: &str) {
    let _ = write!(
        svg,
        "<path d=\"M{x1} {y}H{x2}\" class=\"path {class}\"/><path d=\"M{x2} {y}l-7 -4v8z\" class=\"head\"/>"
    );
}

/// Words wrapped to lines of at most `max` characters.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > max {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

pub(super) fn write(html: &mut String, report: &Report<'_>) {
    let t = report.transcript;
    if t.servers.is_empty() {
        if let Some(d) = &t.dns {
            let _ = writeln!(
                html,
                "<p>The name <code>{}</code> gave no address to check.</p>",
                esc(&d.name)
            );
        }
        return;
    }
    for s in &t.servers {
        picture(html, report, s);
    }
}

fn picture(html: &mut String, report: &Report<'_>, s: &ServerSession) {
    let t = report.transcript;
    let mut svg = String::new();
    let mut y = 8.0;
    // The DNS answers, above the server.
    if let Some(d) = &t.dns {
        let mut lines = vec![(format!("DNS {}", d.name), "title")];
        for (rtype, a) in [("A", &d.a), ("AAAA", &d.aaaa)] {
            if !a.queried {
                continue;
            }
            if a.records.is_empty() {
                lines.push((
                    format!("{rtype}: {}", a.error.as_deref().unwrap_or("no records")),
                    "small",
                ));
            }
            for r in a.records.iter().take(3) {
                let mark = if r.ip == s.peer() {
                    " (control peer)"
                } else {
                    ""
                };
                lines.push((format!("{rtype} {}{mark}", r.ip), "mono"));
            }
        }
        let h = 10.0 + 14.0 * lines.len() as f64;
        // Wider than a box: names and IPv6 addresses are long.
        let w = BOX_W * 2.0 - 20.0;
        node_w(&mut svg, SERVER_X + BOX_W - w, y, w, h, "", &lines);
        let _ = write!(
            svg,
            "<path d=\"M{} {}v14\" class=\"path none\"/>",
            SERVER_X + BOX_W / 2.0,
            y + h
        );
        y += h + 14.0;
    }
    // Client, what is between, server.
    let log = t.client_log.as_ref();
    let client_name = log
        .and_then(|l| l.client.clone())
        .unwrap_or_else(|| "the client".to_string());
    let mut client = vec![(
        if log.is_some() {
            "Client".to_string()
        } else {
            "Client (this check)".to_string()
        },
        "title",
    )];
    client.push(match (log, s.local) {
        (Some(_), _) => (client_name, ""),
        (None, Some(l)) => (l.ip().to_string(), "mono"),
        (None, None) => ("address not recorded".to_string(), "small"),
    });
    if let Some(p) = t.client_public {
        client.push((format!("public {p}"), "mono"));
    }
    let mut net = vec![
        ("NAT / firewall".to_string(), "title"),
        ("not seen directly".to_string(), "small"),
    ];
    for l in between(report, s) {
        net.push((l.to_string(), "warn-text"));
    }
    let f = fingerprint(s);
    let mut server = vec![("Server".to_string(), "title")];
    let peer = s.known_peer();
    server.push(match peer {
        Some(p) => (format!("{p}:{}", s.server.port()), "mono"),
        None => ("address not in the log".to_string(), "none-text"),
    });
    server.push((
        match peer {
            Some(p) => format!("control peer ({})", class(p)),
            None => "control peer unknown".to_string(),
        },
        "small",
    ));
    if f.product != Product::Unknown {
        server.push((f.product.name().to_string(), "small"));
    }
    let rows = client.len().max(net.len()).max(server.len());
    let h = 14.0 + 14.0 * rows as f64;
    node(&mut svg, CLIENT_X, y, h, "", &client);
    node(&mut svg, NET_X, y, h, "inferred", &net);
    node(
        &mut svg,
        SERVER_X,
        y,
        h,
        if peer.is_some() { "" } else { "unknown" },
        &server,
    );
    let connected = s.connect.outcome == ConnectOutcome::Connected;
    let cy = y + h + 16.0;
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" class=\"small\">control connection: {}</text>",
        CLIENT_X,
        cy - 4.0,
        esc(&s.connect.outcome.describe())
    );
    arrow(
        &mut svg,
        CLIENT_X + BOX_W / 2.0,
        SERVER_X + BOX_W / 2.0,
        cy + 6.0,
        if connected { "good" } else { "bad" },
    );
    let m = if connected {
        Mark::Ok
    } else {
        Mark::of_data(&s.connect.outcome)
    };
    svg.push_str(&m.shape(NET_X + BOX_W / 2.0, cy + 6.0));
    let mut y = cy + 24.0;
    if s.passive_replies().next().is_none() && s.transfers.is_empty() {
        // No passive reply: nothing to draw of data connections, and no guess either.
        let _ = write!(
            svg,
            "<text x=\"{CLIENT_X}\" y=\"{}\" class=\"none-text\">No data connection: the session ended before any passive reply.</text>",
            y + 10.0
        );
        y += 22.0;
    } else {
        for lane in lanes(t, s) {
            y = draw_lane(&mut svg, &lane, y);
        }
    }
    let height = y + 4.0;
    // One element a line, so that a snapshot's diff shows what changed.
    let svg = lines(&svg);
    let _ = writeln!(
        html,
        "<figure><div class=\"scroll\"><svg class=\"address\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"Address picture for {}\">{svg}</svg></div>\n<figcaption>Where the client connects: the control connection, then each address a passive reply sends data connections to, with what happened there. The box in the middle is not seen directly; its notes come from the findings.</figcaption></figure>",
        esc(&crate::transcript::show_addr(s.server))
    );
}

fn draw_lane(svg: &mut String, lane: &Lane, y: f64) -> f64 {
    let title_class = if lane.differs { "warn-text" } else { "" };
    let _ = write!(
        svg,
        "<text x=\"{CLIENT_X}\" y=\"{}\" class=\"{title_class}\">{}</text>",
        y + 10.0,
        esc(&clip(&lane.title, 70))
    );
    let ly = if lane.differs {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"end warn-text\">≠ differs from the control peer</text>",
            SERVER_X + BOX_W,
            y + 25.0
        );
        y + 40.0
    } else {
        y + 26.0
    };
    let class = if lane.unknown {
        "none"
    } else if lane.marks.iter().any(|(m, _, _)| m.is_failure()) {
        "bad"
    } else if lane
        .marks
        .iter()
        .any(|(m, _, _)| matches!(m, Mark::Ok | Mark::Answered))
    {
        "good"
    } else {
        "none"
    };
    let end = if lane.differs {
        SERVER_X - 22.0
    } else {
        SERVER_X - 2.0
    };
    arrow(svg, CLIENT_X + BOX_W / 2.0, end, ly, class);
    // The destination node, with a "differs" badge when it is not the control peer.
    let node_class = match (lane.unknown, lane.differs) {
        (true, _) => "unknown",
        (_, true) => "warn",
        _ => "",
    };
    let _ = write!(
        svg,
        "<rect x=\"{SERVER_X}\" y=\"{}\" width=\"{BOX_W}\" height=\"20\" rx=\"4\" class=\"box {node_class}\"/><text x=\"{}\" y=\"{}\" class=\"mid mono\">{}</text>",
        ly - 10.0,
        SERVER_X + BOX_W / 2.0,
        ly + 4.0,
        esc(&clip(&lane.target, 22))
    );
    if lane.differs {
        // A diamond with "≠" before the node: the shape says it, not only the colour.
        let dx = SERVER_X - 11.0;
        let _ = write!(
            svg,
            "<path d=\"M{dx} {}l9 9-9 9-9-9z\" class=\"box warn\"/><text x=\"{dx}\" y=\"{}\" class=\"mid warn-text\">≠</text>",
            ly - 9.0,
            ly + 4.0
        );
    }
    // What happened there: a shape, a count and words for each outcome, one a line.
    let x = NET_X - 20.0;
    let mut my = ly + 20.0;
    if lane.marks.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{x}\" y=\"{}\" class=\"none-text\">no connection recorded here</text>",
            my + 4.0
        );
        my += 16.0;
    }
    for (m, n, words) in &lane.marks {
        svg.push_str(&m.shape(x, my));
        let text = if *n > 1 {
            format!("{n}× {words}")
        } else {
            words.clone()
        };
        let tc = match m.class() {
            "good" => "good-text",
            "bad" => "bad-text",
            _ => "none-text",
        };
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"{tc}\">{}</text>",
            x + 11.0,
            my + 4.0,
            esc(&clip(&text, 44))
        );
        my += 16.0;
    }
    let mut y = my - 4.0;
    for line in wrap(&lane.clients, 78).iter().take(4) {
        let _ = write!(
            svg,
            "<text x=\"{CLIENT_X}\" y=\"{}\" class=\"small\">{}</text>",
            y + 8.0,
            esc(line)
        );
        y += 13.0;
    }
    y + 10.0
}

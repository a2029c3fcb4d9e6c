//! The session timeline: an SVG sequence diagram of one server session. Time runs down;
//! the client's lifeline, the control connection's, and the server's data ports. Every
//! command and reply is an arrow at its time (a multi-line reply is one arrow), every data
//! connection an arrow to the data ports with its wait drawn as a bar to its outcome
//! (connected, refused, no answer until the timeout, transferred N bytes). The scale is
//! linear with a minimum row height; longer gaps are cut and labelled with their length.
//! The first failure gets a band across the diagram. A client log has no reliable clock,
//! so its rows are in the log's order with no times drawn.

mod draw;

use super::{Mark, dur};
use crate::report::end_label;
use crate::transcript::{
    ConnectOutcome, Direction, PortProbe, ServerSession, SessionEnd, Transcript, is_unknown,
};

const W: f64 = 800.0;
const TOP: f64 = 44.0;
const ROW: f64 = 17.0;
/// Pixels per millisecond, and the longest gap drawn to scale.
const PX_PER_MS: f64 = 0.25;
const CUT: f64 = 60.0;
const CX: f64 = 84.0;
const SX: f64 = 384.0;
const DX: f64 = 456.0;
const SLOT: f64 = 7.0;
const LABEL_X: f64 = 534.0;
/// A data connection shorter than this ends on its own row.
const INLINE_US: u64 = 20_000;

enum Kind {
    Connect,
    Line {
        sent: bool,
        text: String,
        more: usize,
    },
    DataStart {
        conn: usize,
    },
    DataEnd {
        conns: Vec<usize>,
    },
    End {
        text: String,
    },
}

struct Row {
    /// Order key: the time (timed), or the position in the log.
    key: f64,
    time: Option<u64>,
    kind: Kind,
}

struct Conn {
    label: String,
    mark: Mark,
    words: String,
    start: u64,
    end: u64,
    slot: usize,
    /// The end is drawn on the start row.
    inline: bool,
    start_y: f64,
    end_y: f64,
}

fn probe_words(m: Mark, o: &ConnectOutcome, us: u64, timed: bool) -> String {
    let t = if timed {
        format!(" in {}", dur(us))
    } else {
        String::new()
    };
    match m {
        Mark::Ok => format!("connected{t}"),
        Mark::Answered => format!("reset: answered{t}"),
        Mark::Refused => format!("refused{t}"),
        Mark::Timeout if timed => format!("no answer within {}", dur(us)),
        Mark::Timeout => "no answer (timed out)".to_string(),
        Mark::Skipped => "not contacted".to_string(),
        Mark::Unknown => "outcome not shown in the log".to_string(),
        Mark::Failed => o.describe(),
    }
}

fn target(p: &PortProbe) -> String {
    if is_unknown(p.attempt.addr) && p.attempt.addr.port() != 0 {
        format!(":{} at an address not in the log", p.attempt.addr.port())
    } else if is_unknown(p.attempt.addr) {
        "an address not in the log".to_string()
    } else {
        format!(":{} at {}", p.attempt.addr.port(), p.attempt.addr.ip())
    }
}

/// The data connections of a session, in order: sampled port tests, then transfers.
fn conns(s: &ServerSession, timed: bool) -> Vec<(Conn, Option<String>)> {
    let mut out = Vec::new();
    for x in &s.samples {
        let reply = x.exchange.reply.as_ref().map(|r| r.text.clone());
        for p in &x.probes {
            let m = Mark::of_probe(&p.attempt.outcome);
            let a = &p.attempt;
            out.push((
                Conn {
                    label: format!("{} port{}", x.label(), target(p)),
                    mark: m,
                    words: probe_words(m, &a.outcome, a.elapsed_us, timed),
                    start: a.at_us,
                    end: a.at_us + a.elapsed_us,
                    slot: 0,
                    inline: false,
                    start_y: 0.0,
                    end_y: 0.0,
                },
                reply.clone(),
            ));
        }
    }
    for t in &s.transfers {
        let Some(p) = &t.data else { continue };
        let a = &p.attempt;
        let command = t
            .command
            .as_ref()
            .map_or("transfer", |c| c.command.as_str());
        let mut m = Mark::of_data(&a.outcome);
        let mut end = a.at_us + a.elapsed_us;
        let words = if m == Mark::Ok {
            end = a.at_us + t.data_end_us.unwrap_or(a.elapsed_us).max(a.elapsed_us);
            let ok = (t.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
                || (t.completion.is_none() && t.client_ok.is_some()))
                && t.data_error.is_none();
            if !ok {
                m = Mark::Failed;
            }
            let bytes = if !timed && t.bytes == 0 {
                String::new()
            } else {
                format!("transferred {} bytes", t.bytes)
            };
            let reply = t
                .completion
                .as_ref()
                .and_then(|r| r.text.lines().last().map(str::to_string));
            let parts: Vec<String> = [t.data_error.clone(), reply]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect();
            match (ok, bytes.is_empty(), parts.is_empty()) {
                (true, false, _) => [vec![bytes], parts].concat().join(", "),
                (true, true, true) => "connected".to_string(),
                (true, true, false) => parts.join(", "),
                (false, _, _) => format!(
                    "connected, then {}{}",
                    if parts.is_empty() {
                        "no completion".to_string()
                    } else {
                        parts.join(", ")
                    },
                    if bytes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", bytes.trim_start_matches("transferred "))
                    }
                ),
            }
        } else {
            probe_words(m, &a.outcome, a.elapsed_us, timed)
        };
        out.push((
            Conn {
                label: format!(
                    "{command} over {}{}{}",
                    t.passive.label(),
                    target(p),
                    if t.tls.as_ref().is_some_and(|d| d.fresh_session) {
                        " (TLS reuse test)"
                    } else {
                        ""
                    }
                ),
                mark: m,
                words,
                start: a.at_us,
                end,
                slot: 0,
                inline: false,
                start_y: 0.0,
                end_y: 0.0,
            },
            t.passive.exchange.reply.as_ref().map(|r| r.text.clone()),
        ));
    }
    out
}

/// The control lines with each multi-line reply folded into its first line.
fn lines(s: &ServerSession) -> Vec<(u64, usize, bool, String, usize)> {
    let mut out: Vec<(u64, usize, bool, String, usize)> = Vec::new();
    let mut open: Option<String> = None;
    for (i, l) in s.lines.iter().enumerate() {
        let sent = l.dir == Direction::Sent;
        if !sent && let Some(code) = &open {
            if let Some(last) = out.last_mut() {
                last.4 += 1;
            }
            if l.text.starts_with(&format!("{code} ")) {
                open = None;
            }
            continue;
        }
        if !sent && l.text.len() >= 4 && l.text.as_bytes()[3] == b'-' {
            open = l.text.get(..3).map(str::to_string);
        }
        out.push((l.at_us, i, sent, l.text.clone(), 0));
    }
    out
}

pub(super) fn write(html: &mut String, t: &Transcript, s: &ServerSession, id: &str) {
    let timed = t.client_log.is_none();
    let mut rows: Vec<Row> = Vec::new();
    let key = |time: u64, pos: usize| {
        if timed {
            time as f64
        } else {
            pos as f64 * 10.0
        }
    };
    if timed {
        rows.push(Row {
            key: s.connect.at_us as f64,
            time: Some(s.connect.at_us),
            kind: Kind::Connect,
        });
    }
    let folded = lines(s);
    for (at, pos, sent, text, more) in &folded {
        rows.push(Row {
            key: key(*at, *pos),
            time: timed.then_some(*at),
            kind: Kind::Line {
                sent: *sent,
                text: text.clone(),
                more: *more,
            },
        });
    }
    let mut cs: Vec<Conn> = Vec::new();
    let mut searched = 0usize;
    for (mut c, reply) in conns(s, timed) {
        let n = cs.len();
        // In a log, a data connection follows the line with its passive reply.
        let pos = if timed {
            0.0
        } else {
            let first = reply
                .as_deref()
                .and_then(|r| r.lines().next())
                .unwrap_or("");
            match s
                .lines
                .iter()
                .enumerate()
                .skip(searched)
                .find(|(_, l)| !first.is_empty() && l.text == first)
            {
                Some((i, _)) => {
                    searched = i + 1;
                    i as f64 * 10.0 + 5.0 + n as f64 * 0.01
                }
                None => s.lines.len() as f64 * 10.0 + 5.0 + n as f64 * 0.01,
            }
        };
        c.inline = !timed || c.end.saturating_sub(c.start) < INLINE_US;
        rows.push(Row {
            key: if timed { c.start as f64 } else { pos },
            time: timed.then_some(c.start),
            kind: Kind::DataStart { conn: n },
        });
        cs.push(c);
    }
    // Ends that are not inline, those of one kind at about one time on one row.
    let mut ends: Vec<(u64, Mark, Vec<usize>)> = Vec::new();
    for (i, c) in cs.iter().enumerate().filter(|(_, c)| !c.inline) {
        match ends
            .iter_mut()
            .find(|(at, m, _)| *m == c.mark && at.abs_diff(c.end) < 5_000)
        {
            Some(e) => e.2.push(i),
            None => ends.push((c.end, c.mark, vec![i])),
        }
    }
    for (at, _, conns) in ends {
        rows.push(Row {
            key: at as f64 + 0.5,
            time: Some(at),
            kind: Kind::DataEnd { conns },
        });
    }
    if s.end != SessionEnd::Completed {
        let at = s.connect.at_us + s.total_us;
        rows.push(Row {
            key: if timed { at as f64 + 1.0 } else { f64::MAX },
            time: timed.then_some(at),
            kind: Kind::End {
                text: format!("session ended: {}", end_label(&s.end).replace('_', " ")),
            },
        });
    }
    rows.sort_by(|a, b| a.key.total_cmp(&b.key));
    draw::draw(html, t, s, id, &rows, &mut cs, timed);
}

//! The report's tables: addresses, the checks of each server address (sampled ports and
//! transfers), findings and clients.

use super::*;

fn class_of(ip: IpAddr) -> &'static str {
    AddressClass::of(ip).as_str()
}

pub(super) fn addresses_table(p: &Painter, report: &Report<'_>) -> Table {
    let t = report.transcript;
    let mut table = p.table(&["role", "address", "class", "detail"]);
    if let Some(d) = &t.dns {
        let ns = d
            .nameserver
            .map_or_else(|| "system resolver".to_string(), |n| n.to_string());
        for (rtype, a) in [("DNS A", &d.a), ("DNS AAAA", &d.aaaa)] {
            if !a.queried {
                continue;
            }
            if a.records.is_empty() {
                let why = a.error.clone().unwrap_or_else(|| "no records".to_string());
                table.add_row(vec![
                    Cell::new(rtype),
                    Cell::new(&d.name),
                    Cell::new("-"),
                    Cell::new(format!("{why} (via {ns})")),
                ]);
            }
            for r in &a.records {
                table.add_row(vec![
                    Cell::new(rtype),
                    Cell::new(r.ip),
                    Cell::new(class_of(r.ip)),
                    Cell::new(format!("ttl {} s (via {ns})", r.ttl)),
                ]);
            }
        }
    }
    for s in &t.servers {
        table.add_row(vec![
            Cell::new("control peer"),
            Cell::new(show_addr(s.server)),
            Cell::new(s.known_peer().map_or("unknown", class_of)),
            Cell::new(match p.ms(s.connect.elapsed_us) {
                time if time == "-" && p.untimed => s.connect.outcome.label().to_string(),
                time => format!("{} in {time}", s.connect.outcome.label()),
            }),
        ]);
        for kind in [PassiveKind::Pasv, PassiveKind::Epsv] {
            let ads: Vec<_> = s
                .all_samples(kind)
                .filter_map(|x| x.advertised.as_ref())
                .collect();
            if ads.is_empty() {
                continue;
            }
            let mut addrs: Vec<Option<IpAddr>> = ads.iter().map(|a| a.address).collect();
            addrs.dedup();
            // Port 0 is a port the log does not give (a client's message named the address).
            let ports: Vec<u16> = ads.iter().map(|a| a.port).filter(|p| *p != 0).collect();
            let ports_text = match (ports.iter().min(), ports.iter().max()) {
                (Some(lo), Some(hi)) => format!("ports {lo}-{hi} in {} replies", ports.len()),
                _ => "port not in the log".to_string(),
            };
            let redacted = ads
                .iter()
                .any(|a| a.flags.iter().any(|f| f == "address_redacted"));
            for addr in addrs {
                let (shown, class) = match (addr, s.known_peer()) {
                    (Some(ip), _) => (ip.to_string(), class_of(ip).to_string()),
                    (None, _) if kind == PassiveKind::Pasv && redacted => {
                        ("redacted in the log".to_string(), "unknown".to_string())
                    }
                    (None, Some(peer)) => {
                        (format!("{peer} (control peer)"), class_of(peer).to_string())
                    }
                    (None, None) => (
                        "the control peer (not in the log)".to_string(),
                        "unknown".to_string(),
                    ),
                };
                let cell = Cell::new(shown);
                let cell = match addr {
                    Some(ip) if ip != s.peer() => cell.fg(Color::Yellow),
                    _ => cell,
                };
                table.add_row(vec![
                    Cell::new(format!("{} advertised", kind.command())),
                    cell,
                    Cell::new(class),
                    Cell::new(&ports_text),
                ]);
            }
        }
    }
    table
}

fn probe_row(
    p: &Painter,
    command: &str,
    probe: &PortProbe,
    peer: IpAddr,
    transfer: bool,
) -> Vec<Cell> {
    let via = match probe.via {
        Via::Advertised if probe.attempt.addr.ip() == peer => "= peer",
        Via::Advertised => "advertised",
        Via::ControlPeer => "control peer",
    };
    let time = match probe.attempt.outcome {
        ConnectOutcome::Skipped(_) => "-".to_string(),
        _ => p.ms(probe.attempt.elapsed_us),
    };
    vec![
        Cell::new(command),
        Cell::new(if is_unknown(probe.attempt.addr) {
            "?".to_string()
        } else {
            probe.attempt.addr.port().to_string()
        }),
        Cell::new(if is_unknown(probe.attempt.addr) {
            format!("not in the log ({via})")
        } else {
            format!("{} ({via})", probe.attempt.addr.ip())
        }),
        p.outcome_cell(&probe.attempt.outcome, transfer),
        Cell::new(time),
    ]
}

/// Port tests with the same command, address and outcome, as one row.
struct Group<'a> {
    command: &'a str,
    first: &'a PortProbe,
    ports: Vec<u16>,
    times: Vec<u64>,
    outcome: String,
}

/// The sampled port tests grouped by identical outcome, in order of first appearance.
fn grouped<'a>(p: &Painter, s: &'a ServerSession) -> Vec<Group<'a>> {
    let peer = s.peer();
    let mut groups: Vec<Group<'a>> = Vec::new();
    for x in &s.samples {
        for probe in &x.probes {
            let row = probe_row(p, x.command.command(), probe, peer, false);
            let outcome = row[3].content();
            let address = row[2].content();
            let same = groups.iter_mut().find(|g| {
                g.command == x.command.command()
                    && g.outcome == outcome
                    && probe_row(p, g.command, g.first, peer, false)[2].content() == address
            });
            let g = match same {
                Some(g) => g,
                None => {
                    groups.push(Group {
                        command: x.command.command(),
                        first: probe,
                        ports: Vec::new(),
                        times: Vec::new(),
                        outcome,
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            if !is_unknown(probe.attempt.addr) {
                g.ports.push(probe.attempt.addr.port());
            }
            g.times.push(probe.attempt.elapsed_us);
        }
    }
    groups
}

/// One row for a group of port tests: "5 PASV", the port range, one address and outcome,
/// the range of times.
fn group_row(p: &Painter, g: &Group<'_>, peer: IpAddr) -> Vec<Cell> {
    let mut row = probe_row(p, g.command, g.first, peer, false);
    let n = g.times.len();
    if n < 2 {
        return row;
    }
    row[0] = Cell::new(format!("{n} {}", g.command));
    let (lo, hi) = (g.ports.iter().min(), g.ports.iter().max());
    row[1] = Cell::new(match (lo, hi) {
        (Some(lo), Some(hi)) if lo != hi => format!("{lo}-{hi}"),
        (Some(lo), _) => lo.to_string(),
        _ => "?".to_string(),
    });
    if !matches!(g.first.attempt.outcome, ConnectOutcome::Skipped(_)) {
        let lo = p.ms(g.times.iter().copied().min().unwrap_or(0));
        let hi = p.ms(g.times.iter().copied().max().unwrap_or(0));
        row[4] = Cell::new(if lo == hi {
            lo
        } else {
            format!("{}-{hi}", lo.trim_end_matches(" ms"))
        });
    }
    row
}

pub(super) fn checks_table(p: &Painter, s: &ServerSession) -> Table {
    let peer = s.peer();
    let every = p.opts.verbose || p.opts.transcript;
    let mut table = p.table(&["command", "port", "address tried", "outcome", "time"]);
    if !every {
        for g in grouped(p, s) {
            table.add_row(group_row(p, &g, peer));
        }
    }
    // A sample whose port a transfer used shows in the transfer's row.
    let used = |x: &crate::transcript::PassiveSample| {
        s.transfers
            .iter()
            .any(|t| t.reuses_sample && t.passive == *x)
    };
    for x in &s.samples {
        if !every && (!x.probes.is_empty() || used(x)) {
            continue;
        }
        if x.probes.is_empty() {
            let reply = x.exchange.reply.as_ref().map_or_else(
                || x.exchange.failure.clone().unwrap_or_default(),
                |r| r.text.clone(),
            );
            let why = x.decode_error.clone().unwrap_or(reply);
            table.add_row(vec![
                Cell::new(x.command.command()),
                Cell::new("-"),
                Cell::new("-"),
                Cell::new(why).fg(Color::Red),
                Cell::new("-"),
            ]);
        }
        for probe in &x.probes {
            table.add_row(probe_row(p, x.command.command(), probe, peer, false));
        }
    }
    for t in &s.transfers {
        let command = format!(
            "{} over {}",
            t.command
                .as_ref()
                .map_or("transfer", |c| c.command.as_str()),
            t.passive.label()
        );
        let Some(data) = &t.data else {
            continue;
        };
        let mut row = probe_row(p, &command, data, peer, true);
        if data.attempt.outcome == ConnectOutcome::Connected {
            let done = t.completion.as_ref();
            let ok = done.is_some_and(|r| r.code / 100 == 2) && t.data_error.is_none();
            let ok = ok || (t.client_ok.is_some() && t.data_error.is_none());
            // A client log that does not count the bytes gives no figure.
            let bytes = if p.untimed && t.bytes == 0 {
                String::new()
            } else {
                format!("{} bytes", t.bytes)
            };
            let text = match (done, &t.data_error, &t.client_ok) {
                (_, Some(e), _) if bytes.is_empty() => e.clone(),
                (_, Some(e), _) => format!("{e} ({bytes})"),
                (Some(r), None, _) => [r.text.lines().last().unwrap_or(""), &bytes]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
                (None, None, Some(words)) => format!("the client's words: {words}"),
                (None, None, None) => t.completion_failure.clone().unwrap_or_default(),
            };
            let text = match &t.tls {
                Some(d) if d.handshake.error.is_none() => format!(
                    "{text}; {} {}{}",
                    tls_version(d.handshake.version.as_deref()),
                    if d.handshake.resumed {
                        "resumed"
                    } else {
                        "full handshake"
                    },
                    if d.fresh_session { " (reuse test)" } else { "" }
                ),
                Some(d) => format!(
                    "{text}; TLS failed: {}",
                    d.handshake.error.as_deref().unwrap_or("")
                ),
                None => text,
            };
            row[3] = Cell::new(text).fg(if ok { Color::Green } else { Color::Red });
            row[4] = Cell::new(p.ms(t.data_end_us.unwrap_or(data.attempt.elapsed_us)));
        }
        table.add_row(row);
    }
    table
}

pub(super) fn findings_table(p: &Painter, report: &Report<'_>) -> Table {
    let mut table = p.table(&["severity", "finding", "evidence"]);
    for f in &report.findings {
        table.add_row(vec![
            p.severity_cell(f.severity),
            Cell::new(format!("{}\n{}", f.code, f.title)),
            Cell::new(f.evidence.first().cloned().unwrap_or_default()),
        ]);
    }
    table
}

pub(super) fn clients_table(p: &Painter, report: &Report<'_>) -> Table {
    let mut table = p.table(&["client", "works", "why"]);
    let every = p.opts.verbose || p.opts.transcript;
    // Clients with the same result for the same reason share a row (unless verbose).
    let mut rows: Vec<(String, &crate::knowledge::clients::ClientVerdict)> = Vec::new();
    for c in &report.clients {
        match rows
            .iter_mut()
            .find(|(_, r)| !every && r.works == c.works && r.reason == c.reason)
        {
            Some((names, _)) => {
                names.push_str(", ");
                names.push_str(&c.name);
            }
            None => rows.push((c.name.clone(), c)),
        }
    }
    for (names, c) in rows {
        table.add_row(vec![
            Cell::new(names),
            Cell::new(c.works.label()).fg(match c.works {
                Works::Yes => Color::Green,
                Works::No => Color::Red,
                Works::Unknown => Color::Yellow,
            }),
            Cell::new(&c.reason),
        ]);
    }
    table
}

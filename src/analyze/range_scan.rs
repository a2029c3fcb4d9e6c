//! PASSIVE_RANGE_MAP: what `--scan-range` found, port by port, read into three kinds.
//! `reachable`: a connection opened, or a reset in a run of resets that is the server
//! host's answer for ports where nothing listens now: the run includes or touches a port
//! which connected during the check or the scan, or it includes a port the server handed
//! out while other ports of the scan went unanswered (a firewall that drops part of a
//! range does not reset the rest); `refused`: other resets and ICMP rejections (a reset proves only that
//! something answered: the host with nothing listening, or a firewall rejecting; a
//! userspace check cannot tell which); `filtered`: no answer within the timeout. Ports
//! the scan never tried (deadline, Ctrl-C) are listed as such and claim nothing.

use std::net::SocketAddr;

use crate::finding::{Code, Finding, Severity};
use crate::knowledge::servers::firewall_rules;
use crate::transcript::{ConnectOutcome, Phase, RangeScan, ServerSession, Transcript};

/// The map of one server's passive range, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeMap {
    pub address: std::net::IpAddr,
    pub low: u16,
    pub high: u16,
    pub reachable: Vec<(u16, u16)>,
    pub refused: Vec<(u16, u16)>,
    pub filtered: Vec<(u16, u16)>,
    pub not_tried: Vec<(u16, u16)>,
    pub elapsed_us: u64,
    pub estimate_us: u64,
}

impl RangeMap {
    /// How many ports the range holds.
    pub fn ports(&self) -> u32 {
        u32::from(self.high) - u32::from(self.low) + 1
    }

    /// Each kind of outcome in words, with its runs, in the order every report shows them.
    pub fn kinds(&self) -> [(&'static str, &[(u16, u16)]); 4] {
        [
            ("reachable", &self.reachable),
            ("refused", &self.refused),
            ("filtered", &self.filtered),
            ("not tried", &self.not_tried),
        ]
    }

    /// A map of 50000-50019 at 192.0.2.1, the first half reachable, the rest filtered.
    #[cfg(test)]
    pub fn half_filtered() -> RangeMap {
        RangeMap {
            address: [192, 0, 2, 1].into(),
            low: 50000,
            high: 50019,
            reachable: vec![(50000, 50009)],
            refused: Vec::new(),
            filtered: vec![(50010, 50019)],
            not_tried: Vec::new(),
            elapsed_us: 5_100_000,
            estimate_us: 5_100_000,
        }
    }
}

/// Reads a session's scan, if it has one.
pub fn read(s: &ServerSession) -> Option<RangeMap> {
    let scan = s.range_scan.as_ref()?;
    let opened = ports_that_connected(s, scan);
    let mut reachable = scan.connected.clone();
    let mut refused = Vec::new();
    let touches = |run: &(u16, u16), (l, h): (u16, u16)| {
        u32::from(l) <= u32::from(run.1) + 1 && u32::from(run.0) <= u32::from(h) + 1
    };
    let handed_out: Vec<u16> = s
        .samples
        .iter()
        .filter_map(|x| x.advertised.as_ref())
        .map(|a| a.port)
        .collect();
    let drops_elsewhere = !scan.timed_out.is_empty();
    for run in &scan.refused {
        let anchored = opened.iter().any(|&p| touches(run, (p, p)))
            || scan.connected.iter().any(|&c| touches(run, c))
            || (drops_elsewhere && handed_out.iter().any(|p| (run.0..=run.1).contains(p)));
        if anchored {
            reachable.push(*run);
        } else {
            refused.push(*run);
        }
    }
    refused.extend(scan.unreachable.iter().copied());
    Some(RangeMap {
        address: scan.address,
        low: scan.low,
        high: scan.high,
        reachable: merged(reachable),
        refused: merged(refused),
        filtered: scan.timed_out.clone(),
        not_tried: scan.not_tried.clone(),
        elapsed_us: scan.elapsed_us,
        estimate_us: scan.estimate_us,
    })
}

/// Ports at the scanned address that connected during the check (samples and listings).
fn ports_that_connected(s: &ServerSession, scan: &RangeScan) -> Vec<u16> {
    let here = |a: &SocketAddr| a.ip() == scan.address;
    let probes = s.samples.iter().flat_map(|x| x.probes.iter());
    let listings = s.transfers.iter().filter_map(|t| t.data.as_ref());
    probes
        .chain(listings)
        .filter(|p| p.attempt.outcome == ConnectOutcome::Connected && here(&p.attempt.addr))
        .map(|p| p.attempt.addr.port())
        .collect()
}

/// Sorts ranges and joins those that touch.
fn merged(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (low, high) in ranges {
        match out.last_mut() {
            Some(last) if u32::from(last.1) + 1 >= u32::from(low) => last.1 = last.1.max(high),
            _ => out.push((low, high)),
        }
    }
    out
}

/// `50000-50009, 50015`.
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(l, h)| {
            if l == h {
                l.to_string()
            } else {
                format!("{l}-{h}")
            }
        })
        .collect();
    parts.join(", ")
}

fn count(ranges: &[(u16, u16)]) -> u32 {
    ranges
        .iter()
        .map(|&(l, h)| u32::from(h) - u32::from(l) + 1)
        .sum()
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let Some(map) = read(s) else { continue };
        let total = map.ports();
        let mut evidence = vec![format!(
            "{total} port(s) {}-{} at {} test-connected in {:.1} s (expected: {:.1} s)",
            map.low,
            map.high,
            map.address,
            map.elapsed_us as f64 / 1e6,
            map.estimate_us as f64 / 1e6
        )];
        for (word, ranges) in map.kinds() {
            let word = match word {
                "filtered" => "filtered (no answer)",
                "not tried" => "not tried (the check stopped first)",
                w => w,
            };
            if !ranges.is_empty() {
                evidence.push(format!(
                    "{word} ({}): {}",
                    count(ranges),
                    ranges_text(ranges)
                ));
            }
        }
        let missing = merged([map.filtered.clone(), map.refused.clone()].concat());
        let (severity, title) = if missing.is_empty() && map.not_tried.is_empty() {
            (
                Severity::Ok,
                format!("every port of {}-{} reaches the server", map.low, map.high),
            )
        } else if missing.is_empty() {
            (
                Severity::Info,
                format!(
                    "the ports of {}-{} that were tried reach the server; {} were not tried",
                    map.low,
                    map.high,
                    count(&map.not_tried)
                ),
            )
        } else if map.filtered.is_empty() {
            // Resets only: something answered, and nothing tells whether it was the server
            // (nothing listening) or a firewall rejecting; no failure is claimed.
            (
                Severity::Warning,
                format!(
                    "{} of {total} passive ports answered with a reset or an ICMP rejection, \
                     from the server or a rejecting firewall (not told apart from here): {}",
                    count(&missing),
                    ranges_text(&missing)
                ),
            )
        } else {
            // No answer at all: a client handed one of these ports waits and fails.
            (
                Severity::Critical,
                format!(
                    "{} of {total} passive ports do not reach the server: {}",
                    count(&missing),
                    ranges_text(&missing)
                ),
            )
        };
        let fix: Vec<String> = missing
            .iter()
            .flat_map(|&(l, h)| {
                firewall_rules(l, h)
                    .into_iter()
                    .take(2)
                    .chain(firewall_rules(l, h).into_iter().last())
            })
            .collect();
        out.push(Finding {
            code: Code::PassiveRangeMap,
            breaks: Vec::new(),
            severity,
            phase: Phase::Data,
            server: Some(s.server),
            title,
            evidence,
            impact: if missing.is_empty() {
                "A client can reach every mapped port the server hands out.".to_string()
            } else if map.filtered.is_empty() {
                // Nothing here was seen to fail: a refusal on a port nothing listens on is
                // what a healthy server gives too.
                "If the server hands out one of these ports and it is a firewall that \
                 rejected the connection, a transfer there fails at once; if it is the server \
                 with nothing listening yet, the port is fine when handed out."
                    .to_string()
            } else {
                "A transfer hangs or fails whenever the server hands out one of these ports: \
                 some transfers work, others do not, at random."
                    .to_string()
            },
            remedy: if missing.is_empty() {
                "Nothing to change.".to_string()
            } else {
                format!(
                    "Open or forward exactly {} to the server (the rules below), or narrow \
                     the server's passive range to the reachable part. A reset proves only \
                     that something answered: the server with nothing listening, or a \
                     firewall rejecting; resets next to a port that connected count as the \
                     server's.",
                    ranges_text(&missing)
                )
            },
            fix,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::transcript::Attempt;

    fn session_with(scan: RangeScan, connected_at: &[u16]) -> ServerSession {
        let addr: SocketAddr = "192.0.2.1:21".parse().unwrap();
        let attempt = |port, outcome| Attempt {
            addr: SocketAddr::new(addr.ip(), port),
            outcome,
            at_us: 0,
            elapsed_us: 0,
        };
        let mut s = ServerSession::new(addr, "literal", attempt(21, ConnectOutcome::Connected));
        for &p in connected_at {
            let mut t = crate::transcript::Transfer::new(
                crate::transcript::PassiveSample::unanswered("PASV"),
            );
            t.data = Some(crate::transcript::PortProbe {
                via: crate::transcript::Via::ControlPeer,
                attempt: attempt(p, ConnectOutcome::Connected),
            });
            s.transfers.push(t);
        }
        s.range_scan = Some(scan);
        s
    }

    fn scan(refused: Vec<(u16, u16)>, timed_out: Vec<(u16, u16)>) -> RangeScan {
        RangeScan {
            address: [192, 0, 2, 1].into(),
            low: 50000,
            high: 50019,
            rate: 200,
            estimate_us: 0,
            connected: Vec::new(),
            refused,
            timed_out,
            unreachable: Vec::new(),
            not_tried: Vec::new(),
            elapsed_us: 5_000_000,
        }
    }

    #[test]
    fn resets_next_to_a_port_that_connected_are_the_servers() {
        // The partial forward: 50000-50009 answered by the host, the rest dropped.
        let s = session_with(scan(vec![(50000, 50009)], vec![(50010, 50019)]), &[50004]);
        let map = read(&s).unwrap();
        assert_eq!(map.reachable, [(50000, 50009)]);
        assert!(map.refused.is_empty());
        assert_eq!(map.filtered, [(50010, 50019)]);
        let mut t = crate::transcript::Transcript::test_empty("192.0.2.1");
        t.servers = vec![s];
        let mut out = Vec::new();
        check(&t, &mut out);
        let f = &out[0];
        assert_eq!(f.severity, Severity::Critical);
        assert!(
            f.title.contains("10 of 20") && f.title.contains("50010-50019"),
            "{}",
            f.title
        );
        assert!(
            f.fix.iter().any(|r| r.contains("50010-50019")),
            "{:?}",
            f.fix
        );
        assert!(
            !f.fix.iter().any(|r| r.contains("50000-")),
            "only the missing part"
        );
    }

    #[test]
    fn resets_with_no_port_that_ever_connected_prove_nothing_more() {
        let s = session_with(scan(vec![(50000, 50019)], Vec::new()), &[]);
        let map = read(&s).unwrap();
        assert!(map.reachable.is_empty());
        assert_eq!(map.refused, [(50000, 50019)]);
        let mut t = crate::transcript::Transcript::test_empty("192.0.2.1");
        t.servers = vec![s];
        let mut out = Vec::new();
        check(&t, &mut out);
        // A reset is an answer: no failure is claimed, and the title says what is unknown.
        assert_eq!(out[0].severity, Severity::Warning);
        assert!(out[0].title.contains("not told apart"), "{}", out[0].title);
    }

    #[test]
    fn touching_ranges_join() {
        assert_eq!(merged(vec![(5, 9), (1, 4), (12, 12)]), [(1, 9), (12, 12)]);
        assert_eq!(ranges_text(&[(1, 9), (12, 12)]), "1-9, 12");
    }
}

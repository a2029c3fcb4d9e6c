//! The passive port range a server uses, inferred from the ports it advertised: lowest,
//! highest, and whether it hands them out in sequence or at random.

use serde::{Deserialize, Serialize};

use crate::knowledge::servers::{fingerprint, firewall_rules, port_range_setting};
use crate::transcript::{ServerSession, Transcript};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Allocation {
    /// One port seen, or the same port every time.
    Single,
    /// Each port one above the last (allowing a wrap to the start of the range).
    Sequential,
    Random,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassiveRange {
    pub low: u16,
    pub high: u16,
    /// Ports in the order they were advertised.
    pub ports: Vec<u16>,
    pub allocation: Allocation,
}

/// What to open for the passive ports, in words, and the settings and rules for it. The
/// numbers are concrete only when they are known to be the server's range
/// (`--expect-range`): the ports a check or a log saw are samples of the range, and a fix
/// that copied them would shrink it. Otherwise the settings say LOW-HIGH and the first line
/// says which ports were seen.
pub fn range_fix(
    t: &Transcript,
    s: &ServerSession,
    seen: Option<(u16, u16)>,
) -> (String, Vec<String>) {
    let product = fingerprint(s).product;
    if let Some((low, high)) = t.settings.expect_range {
        let mut fix = port_range_setting(product, low, high);
        fix.extend(firewall_rules(low, high));
        return (format!("TCP {low}-{high} (the range you expect)"), fix);
    }
    let mut fix = vec![match seen {
        Some((low, high)) if low == high => format!(
            "Port {low} seen, one of the server's passive range: open the whole range the \
             server is configured for (LOW-HIGH below, from its settings), not only this port; \
             if it has none, set one first, e.g. 50000-50100 (about two ports per concurrent \
             transfer), and re-check with --expect-range LOW-HIGH"
        ),
        Some((low, high)) => format!(
            "Ports {low}-{high} seen, samples of the server's passive range: open the whole \
             range the server is configured for (LOW-HIGH below, from its settings), not only \
             these; if it has none, set one first, e.g. 50000-50100 (about two ports per \
             concurrent transfer), and re-check with --expect-range LOW-HIGH"
        ),
        None => "The log shows no data port: open the whole range the server is configured \
                 for (LOW-HIGH below, from its settings); if it has none, set one first, e.g. \
                 50000-50100"
            .to_string(),
    }];
    fix.extend(port_range_setting(product, "LOW", "HIGH"));
    fix.extend(firewall_rules("LOW", "HIGH"));
    let text = match seen {
        Some((low, high)) => {
            format!("the server's whole passive port range (LOW-HIGH; ports {low}-{high} seen)")
        }
        None => {
            "the server's whole passive port range (LOW-HIGH; the log shows no port)".to_string()
        }
    };
    (text, fix)
}

/// The range inferred from every PASV/EPSV reply of a session, in the order sent.
pub fn passive_range(s: &ServerSession) -> Option<PassiveRange> {
    let ports: Vec<u16> = s
        .passive_replies()
        .filter_map(|x| x.advertised.as_ref())
        .filter(|a| a.port != 0)
        .map(|a| a.port)
        .collect();
    let low = *ports.iter().min()?;
    let high = *ports.iter().max()?;
    let allocation = if low == high {
        Allocation::Single
    } else if ports
        .windows(2)
        .all(|w| w[1] == w[0].wrapping_add(1) || w[1] == low)
    {
        Allocation::Sequential
    } else {
        Allocation::Random
    };
    Some(PassiveRange {
        low,
        high,
        ports,
        allocation,
    })
}

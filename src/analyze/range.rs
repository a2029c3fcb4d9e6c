//! The passive port range a server uses, inferred from the ports it advertised: lowest,
//! highest, and whether it hands them out in sequence or at random.

use serde::{Deserialize, Serialize};

use crate::transcript::ServerSession;

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

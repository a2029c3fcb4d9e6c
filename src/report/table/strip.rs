//! The passive range map as a strip of characters, for the table report: `#` reachable,
//! `x` refused, `.` filtered, ` ` not tried; each character stands for an equal share of
//! the range, and shows the worst outcome in it (so one filtered port is never hidden).

use crate::analyze::range_scan::{RangeMap, ranges_text};

/// Characters in the strip at most.
const WIDTH: u32 = 60;

/// The map's lines: the strip with its ends, then what each mark means, with the ports.
pub fn lines(map: &RangeMap) -> Vec<String> {
    let total = map.ports();
    let cells = total.min(WIDTH);
    let mut strip = String::new();
    for c in 0..cells {
        let from = u32::from(map.low) + c * total / cells;
        let to = u32::from(map.low) + (c + 1) * total / cells - 1;
        let any = |ranges: &[(u16, u16)]| {
            ranges
                .iter()
                .any(|&(l, h)| u32::from(l) <= to && from <= u32::from(h))
        };
        strip.push(if any(&map.filtered) {
            '.'
        } else if any(&map.refused) {
            'x'
        } else if any(&map.not_tried) {
            ' '
        } else {
            '#'
        });
    }
    let mut out = vec![
        format!("Passive range map of {} (--scan-range):", map.address),
        format!("  {} [{strip}] {}", map.low, map.high),
    ];
    for ((word, ranges), mark) in map.kinds().into_iter().zip(['#', 'x', '.', ' ']) {
        if !ranges.is_empty() {
            out.push(format!("  '{mark}' {word}: {}", ranges_text(ranges)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_reachable_half_filtered_shows_as_two_halves() {
        let map = RangeMap::half_filtered();
        let l = lines(&map);
        assert_eq!(l[1], "  50000 [##########..........] 50019");
        assert_eq!(l[2], "  '#' reachable: 50000-50009");
        assert_eq!(l[3], "  '.' filtered: 50010-50019");
    }
}

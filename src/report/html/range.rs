//! The passive range map (`--scan-range`) as an SVG strip: each run of ports a block to
//! scale, with its kind in words under the strip, so colour is never the only signal.

use std::fmt::Write as _;

use super::esc;
use crate::analyze::range_scan::{RangeMap, ranges_text, read};
use crate::report::Report;

const WIDTH: f64 = 600.0;

/// A section with one strip per server that has a map; nothing without one.
pub(super) fn write(html: &mut String, report: &Report<'_>, level: u8, id: &str) {
    let maps: Vec<RangeMap> = report.transcript.servers.iter().filter_map(read).collect();
    if maps.is_empty() {
        return;
    }
    let _ = writeln!(
        html,
        "<section id=\"{id}-range\"><h{level}>Passive range map</h{level}>"
    );
    for map in &maps {
        strip(html, map);
    }
    html.push_str("</section>\n");
}

fn strip(html: &mut String, map: &RangeMap) {
    let total = f64::from(map.ports());
    let x = |port: u16| (f64::from(port) - f64::from(map.low)) / total * WIDTH;
    let _ = writeln!(
        html,
        "<figure class=\"range-map\"><svg viewBox=\"0 0 {WIDTH} 44\" width=\"100%\" role=\"img\" aria-label=\"ports {} to {} at {}\">",
        map.low,
        map.high,
        esc(&map.address.to_string())
    );
    let kinds = map.kinds();
    let fills = ["#2e7d32", "#e65100", "#c62828", "#9e9e9e"];
    for ((word, runs), fill) in kinds.into_iter().zip(fills) {
        for &(l, h) in runs {
            let (x0, x1) = (x(l), x(h) + WIDTH / total);
            let _ = writeln!(
                html,
                "<rect x=\"{x0:.1}\" y=\"4\" width=\"{:.1}\" height=\"20\" fill=\"{fill}\"><title>{word}: {}</title></rect>",
                (x1 - x0).max(0.5),
                ranges_text(&[(l, h)])
            );
        }
    }
    let _ = writeln!(
        html,
        "<text x=\"0\" y=\"40\" font-size=\"11\">{}</text><text x=\"{WIDTH}\" y=\"40\" font-size=\"11\" text-anchor=\"end\">{}</text></svg>",
        map.low, map.high
    );
    html.push_str("<figcaption><ul>");
    for (word, runs) in kinds {
        if !runs.is_empty() {
            let _ = write!(html, "<li><b>{word}</b>: {}</li>", ranges_text(runs));
        }
    }
    let _ = writeln!(
        html,
        "</ul>at {}, in {:.1} s</figcaption></figure>",
        esc(&map.address.to_string()),
        map.elapsed_us as f64 / 1e6
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_is_a_block_with_its_kind_in_words() {
        let map = RangeMap::half_filtered();
        let mut html = String::new();
        strip(&mut html, &map);
        assert_eq!(html.matches("<rect").count(), 2);
        assert!(html.contains("x=\"0.0\" y=\"4\" width=\"300.0\""), "{html}");
        assert!(html.contains("<b>filtered</b>: 50010-50019"));
        assert!(!html.contains("http"));
    }
}

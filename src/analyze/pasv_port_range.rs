//! PASV_PORT_OUT_OF_RANGE: an advertised port lies outside the range the user expects to be
//! open (`--expect-range LOW-HIGH`), so a firewall that forwards only that range drops it.

use super::phase_of;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::Transcript;

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let Some((low, high)) = t.settings.expect_range else {
        return;
    };
    for s in &t.servers {
        let outside: Vec<(crate::proto::PassiveKind, u16)> = s
            .passive_replies()
            .filter_map(|x| x.advertised.as_ref())
            .filter(|a| a.port < low || a.port > high)
            .map(|a| (a.kind, a.port))
            .collect();
        let Some((kind, _)) = outside.first() else {
            continue;
        };
        let ports: Vec<String> = outside
            .iter()
            .map(|(k, p)| format!("{} {p}", k.command()))
            .collect();
        out.push(Finding {
            code: Code::PasvPortOutOfRange,
            breaks: Vec::new(),
            severity: Severity::Warning,
            phase: phase_of(*kind),
            server: Some(s.server),
            title: format!(
                "{} advertised port(s) outside the expected range {low}-{high}",
                outside.len()
            ),
            evidence: ports,
            impact: "Transfers on those ports fail where only the expected range is open."
                .to_string(),
            remedy: format!("Limit the server's passive ports to {low}-{high}."),
            fix: crate::knowledge::servers::port_range_setting(
                crate::knowledge::servers::fingerprint(s).product,
                low,
                high,
            ),
        });
    }
}

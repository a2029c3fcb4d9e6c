//! CHECK_INTERRUPTED: Ctrl-C stopped the check. The report shows what was seen until
//! then; this finding says where it stopped, so that a step that did not run is read as
//! missing, not as passed. The verdict of an interrupted check is unknown.

use super::server_unavailable::phase_word;
use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Phase, SessionEnd, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    if !t.interrupted {
        return;
    }
    let stopped = t.servers.iter().find_map(|s| match s.end {
        SessionEnd::Interrupted(p) => Some((p, Some(s.server))),
        _ => None,
    });
    let in_phase = |phase: Phase| format!("in the {} phase", phase_word(phase));
    let (phase, server, when) = match stopped {
        Some((phase, server)) => (phase, server, in_phase(phase)),
        None if t.servers.is_empty() => (Phase::Dns, None, in_phase(Phase::Dns)),
        // Every session had ended; what was still running was the range map or the
        // public-address look-up (the phase field keeps the data phase, the title says no
        // more than that the sessions had ended).
        None => (
            Phase::Data,
            None,
            "after the sessions had ended".to_string(),
        ),
    };
    let mut evidence = vec![format!(
        "stopped by Ctrl-C after {:.1} s",
        t.total_us as f64 / 1e6
    )];
    if let Some(s) = t.servers.iter().find(|s| Some(s.server) == server) {
        evidence.extend(
            s.lines
                .iter()
                .rev()
                .take(2)
                .rev()
                .map(|l| format!("last {}: {}", l.dir.as_str(), l.text)),
        );
    }
    out.push(Finding {
        code: Code::CheckInterrupted,
        breaks: Vec::new(),
        severity: Severity::Info,
        phase,
        server,
        title: format!(
            "the check was interrupted (Ctrl-C) {when}: this report shows only what was seen \
             until then"
        ),
        evidence,
        impact: "The steps after this point did not run: their findings are missing, not \
                 passed, and the verdict is unknown."
            .to_string(),
        remedy: "Run the check again and let it finish: it ends by itself within --deadline."
            .to_string(),
        fix: Vec::new(),
    });
}

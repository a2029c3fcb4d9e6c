//! The status line a check shows on a terminal's stderr while it runs (connected, logged
//! in, PASV 3/5, 9 data ports waiting 2 s of 5 s, listing 12 KiB), one line per server,
//! redrawn as the clock moves and erased before the report prints. Nothing is shown when
//! stderr is not a terminal.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::probe::progress::{Progress, Step};

/// The latest step of each server and when it began, and the port tests under way
/// (they run beside the first listing).
type State = Arc<Mutex<Vec<(SocketAddr, Step, Instant, Option<(Step, Instant)>)>>>;

pub struct StatusLine {
    bar: ProgressBar,
}

impl StatusLine {
    /// A status line when stderr is a terminal; the progress sink to hand the probe.
    pub fn start(what: &str) -> (Option<StatusLine>, Progress) {
        if !std::io::stderr().is_terminal() {
            return (None, Progress::default());
        }
        let state: State = Arc::default();
        let shown = state.clone();
        let style = ProgressStyle::with_template("{spinner} {prefix} {elapsed} {live}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "live",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&describe(&shown));
                },
            );
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        let progress = Progress::new(move |e| {
            let Ok(mut s) = state.lock() else { return };
            let i = match s.iter().position(|entry| entry.0 == e.server) {
                Some(i) => i,
                None => {
                    s.push((e.server, Step::Connecting, Instant::now(), None));
                    s.len() - 1
                }
            };
            let entry = &mut s[i];
            match &e.step {
                Step::TestingPorts { .. } => entry.3 = Some((e.step.clone(), Instant::now())),
                Step::PortsTested | Step::Done => entry.3 = None,
                _ => {}
            }
            if !matches!(e.step, Step::TestingPorts { .. } | Step::PortsTested) {
                entry.1 = e.step.clone();
                entry.2 = Instant::now();
            }
        });
        (Some(StatusLine { bar }), progress)
    }

    /// Erases the line, so the report starts on a clean screen.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

fn describe(state: &State) -> String {
    let Ok(s) = state.lock() else {
        return String::new();
    };
    let mut out = String::new();
    for (i, (server, step, _, ports)) in s.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        match step {
            Step::Scanned { done, of } => {
                let _ = write!(out, "{server}: mapping passive ports {}", bar(*done, *of));
            }
            _ => {
                let _ = write!(out, "{server}: {step}");
            }
        }
        if let Some((Step::TestingPorts { ports, timeout }, since)) = ports {
            let waited = since.elapsed().min(*timeout);
            let _ = write!(
                out,
                "; {ports} data port(s) waiting {} s of {} s",
                waited.as_secs(),
                timeout.as_secs_f64().ceil()
            );
        }
    }
    out
}

/// `[#####.....] 1234/10001` for a range map under way.
fn bar(done: u32, of: u32) -> String {
    const WIDTH: u32 = 20;
    let filled = (u64::from(done) * u64::from(WIDTH) / u64::from(of.max(1))) as usize;
    let filled = filled.min(WIDTH as usize);
    format!(
        "[{}{}] {done}/{of}",
        "#".repeat(filled),
        ".".repeat(WIDTH as usize - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_range_map_bar_fills_with_the_ports_done() {
        assert_eq!(bar(0, 101), "[....................] 0/101");
        assert_eq!(bar(50, 100), "[##########..........] 50/100");
        assert_eq!(bar(101, 101), "[####################] 101/101");
        assert_eq!(bar(3, 0), "[####################] 3/0");
    }
}

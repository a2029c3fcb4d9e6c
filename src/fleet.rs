//! Many checks at once: every configuration is checked in its own task, at most
//! `concurrency` at a time, and each transcript is handed over as soon as its check
//! finishes (so an interrupted run loses nothing already done). One target's failure or
//! hang cannot delay another: each runs under its own deadline.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use crate::check;
use crate::probe::ProbeConfig;
use crate::probe::clock::Interrupt;
use crate::transcript::Transcript;

/// Finished checks waiting to be taken before the checks behind them block.
const QUEUE: usize = 64;

/// Told the TARGET of each check as it starts.
pub type OnStart = Arc<dyn Fn(&str) + Send + Sync>;

/// Starts a check of every configuration, at most `concurrency` (at least 1) at a time,
/// and returns the transcripts in the order they finish; the channel closes after the
/// last. Call it inside a tokio runtime.
pub fn spawn(configs: Vec<ProbeConfig>, concurrency: usize) -> mpsc::Receiver<Transcript> {
    spawn_observed(configs, concurrency, Arc::new(|_: &str| {}))
}

/// [`spawn`], telling `on_start` each target as its check starts. Once Ctrl-C has raised
/// the interrupt, checks not yet started are not started: they are not checked, and
/// nothing is reported for them.
pub fn spawn_observed(
    configs: Vec<ProbeConfig>,
    concurrency: usize,
    on_start: OnStart,
) -> mpsc::Receiver<Transcript> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    for config in configs {
        let (tx, limit, on_start) = (tx.clone(), limit.clone(), on_start.clone());
        tokio::spawn(async move {
            let Ok(_permit) = limit.acquire().await else {
                return;
            };
            if Interrupt::process().is_raised() {
                return;
            }
            on_start(&config.input);
            let _ = tx.send(check::run_recorded(&config).await).await;
        });
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, Resolver};

    #[test]
    fn every_target_comes_back_once() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let flags = Overrides::default();
        let mut resolver = Resolver::new(None, None, &flags).expect("resolver");
        // Ports nothing listens on (bound, then released): each check ends at connect.
        let configs: Vec<ProbeConfig> = (0..5)
            .map(|_| {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("port")
                    .port();
                let input = format!("127.0.0.1:{port}");
                let target = crate::target::parse(&input).expect("target");
                let mut own = Overrides::default();
                own.set("timeout", "500ms").expect("set");
                resolver
                    .resolve(&input, target, None, &own)
                    .expect("config")
            })
            .collect();
        let inputs: Vec<String> = configs.iter().map(|c| c.input.clone()).collect();
        let mut seen: Vec<String> = rt.block_on(async {
            let mut rx = spawn(configs, 2);
            let mut seen = Vec::new();
            while let Some(t) = rx.recv().await {
                seen.push(t.target.input);
            }
            seen
        });
        seen.sort();
        let mut want = inputs;
        want.sort();
        assert_eq!(seen, want);
    }
}

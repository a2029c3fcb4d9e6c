//! Data connections: test connects to passive ports (many at once, so a filtered range
//! costs one timeout, not one per port) and reading a transfer to its end, bounded in time
//! and size.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

use super::clock::{Clock, Waited};
use super::net::{Connection, Net};
use crate::transcript::{Attempt, ConnectOutcome};

/// Most bytes read from one data connection; a listing bigger than this proves the path
/// works, and reading on would only cost time.
pub const MAX_DATA_BYTES: u64 = 16 * 1024 * 1024;

/// Why a wait ended without an outcome when Ctrl-C stopped the check.
pub const INTERRUPTED: &str = "interrupted (Ctrl-C) before an answer";

/// Why a connection attempt has no outcome when the overall deadline cut it short.
pub const DEADLINE: &str = "the overall deadline ran out before an answer";

/// Connects once, bounded by the step timeout and the deadline.
pub async fn connect(net: &Net, addr: SocketAddr, clock: Clock) -> (Attempt, Option<Connection>) {
    let at_us = clock.now_us();
    let started = Instant::now();
    let (budget, by_deadline) = clock.budget();
    let (outcome, stream) = match clock.bounded(budget, net.connect(addr)).await {
        Ok(Ok(stream)) => (ConnectOutcome::Connected, Some(stream)),
        Ok(Err(e)) => (classify(&e), None),
        // The deadline, not the port, ended a wait shorter than the step timeout: the
        // port was not given its chance, so it is not called filtered.
        Err(Waited::Elapsed) if by_deadline => {
            (ConnectOutcome::Skipped(DEADLINE.to_string()), None)
        }
        Err(Waited::Elapsed) => (ConnectOutcome::TimedOut, None),
        // No outcome was seen: recorded as not tried, never as a port that did not answer.
        Err(Waited::Interrupted) => (ConnectOutcome::Skipped(INTERRUPTED.to_string()), None),
    };
    (
        Attempt {
            addr,
            outcome,
            at_us,
            elapsed_us: started.elapsed().as_micros() as u64,
        },
        stream,
    )
}

fn classify(e: &std::io::Error) -> ConnectOutcome {
    match e.kind() {
        ErrorKind::ConnectionRefused => ConnectOutcome::Refused,
        ErrorKind::TimedOut => ConnectOutcome::TimedOut,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            ConnectOutcome::Unreachable(e.to_string())
        }
        _ => ConnectOutcome::Error(e.to_string()),
    }
}

/// Test-connects every address at once and closes each connection at once. Results come
/// back in the order given.
pub async fn probe_all(net: &Net, addrs: Vec<SocketAddr>, clock: Clock) -> Vec<Attempt> {
    let mut set = JoinSet::new();
    for (i, addr) in addrs.iter().copied().enumerate() {
        let net = net.clone();
        set.spawn(async move {
            let (attempt, stream) = connect(&net, addr, clock).await;
            drop(stream);
            (i, attempt)
        });
    }
    let mut out: Vec<Option<Attempt>> = vec![None; addrs.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, attempt)) = joined {
            out[i] = Some(attempt);
        }
    }
    out.into_iter()
        .zip(addrs)
        .map(|(a, addr)| {
            a.unwrap_or(Attempt {
                addr,
                outcome: ConnectOutcome::Error("probe task failed".to_string()),
                at_us: clock.now_us(),
                elapsed_us: 0,
            })
        })
        .collect()
}

/// What reading a data connection gave.
#[derive(Debug, Default)]
pub struct DataRead {
    pub bytes: u64,
    pub first_byte_us: Option<u64>,
    pub end_us: Option<u64>,
    pub truncated: bool,
    pub error: Option<String>,
    /// A TLS stream ended with a bare TCP close, without close_notify.
    pub no_close_notify: bool,
}

/// Reads a data connection to its end (or the size limit), each read bounded by the step
/// timeout and the deadline, the whole read by `max_wait`.
pub async fn read_to_end<S>(stream: &mut S, clock: Clock, max_wait: Duration) -> DataRead
where
    S: tokio::io::AsyncRead + Unpin,
{
    let started = Instant::now();
    let mut out = DataRead::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (budget, by_deadline) = clock.budget();
        let left = max_wait.saturating_sub(started.elapsed());
        let wait = budget.min(left);
        match clock.bounded(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) => {
                out.end_us = Some(started.elapsed().as_micros() as u64);
                return out;
            }
            Ok(Ok(n)) => {
                if out.first_byte_us.is_none() {
                    out.first_byte_us = Some(started.elapsed().as_micros() as u64);
                }
                out.bytes += n as u64;
                if out.bytes >= MAX_DATA_BYTES {
                    out.truncated = true;
                    out.end_us = Some(started.elapsed().as_micros() as u64);
                    return out;
                }
            }
            // A TLS data connection closed without close_notify: the end of the data as far
            // as this read goes (the 226 on the control connection says whether it was
            // complete), recorded because a truncation cannot be told from it and FileZilla
            // fails such transfers.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                out.end_us = Some(started.elapsed().as_micros() as u64);
                out.no_close_notify = true;
                return out;
            }
            Ok(Err(e)) => {
                out.error = Some(format!("data connection error: {e}"));
                return out;
            }
            Err(Waited::Interrupted) => {
                out.error = Some("interrupted (Ctrl-C) while reading data".to_string());
                return out;
            }
            Err(Waited::Elapsed) => {
                out.error = Some(if by_deadline && wait == budget {
                    "the overall deadline ran out while reading data".to_string()
                } else if wait == left && left < budget {
                    "the transfer took longer than allowed".to_string()
                } else {
                    "no data within the step timeout".to_string()
                });
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::session::testkit::{Port, Scripted};
    use super::*;

    #[tokio::test]
    async fn a_wait_the_deadline_cut_short_is_no_filtered_port() {
        let net = Scripted::new(vec![]).port(50001, Port::Silent);
        let addr: SocketAddr = "127.0.0.1:50001".parse().unwrap();
        // A 5 s step, but only 200 ms left before the deadline.
        let clock = Clock::new(Duration::from_secs(5), Duration::from_millis(200));
        let (attempt, conn) = connect(&net.net(), addr, clock).await;
        assert!(conn.is_none());
        assert_eq!(
            attempt.outcome,
            ConnectOutcome::Skipped(DEADLINE.to_string())
        );
        // With the step timeout the shorter wait, silence is a timeout.
        let clock = Clock::new(Duration::from_millis(200), Duration::from_secs(5));
        let (attempt, _) = connect(&net.net(), addr, clock).await;
        assert_eq!(attempt.outcome, ConnectOutcome::TimedOut);
    }
}

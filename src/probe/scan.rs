//! The map of a passive port range (`--scan-range`): every port of the range
//! test-connected at the server's own address, at a bounded rate (at most `rate` attempts
//! started per second, at most [`MAX_IN_FLIGHT`] waiting at once). Each attempt waits at
//! most the step timeout from its own start, so silent ports cost about one timeout
//! together, not one each. It stays a diagnostic: one address, the range given, each port
//! once, never more than 65,535 ports.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::clock::Clock;
use super::data;
use super::net::Net;
use crate::transcript::{ConnectOutcome, RangeScan};

/// Most connection attempts waiting for an answer at once.
pub const MAX_IN_FLIGHT: usize = 256;

/// The default rate, attempts per second.
pub const DEFAULT_RATE: u32 = 200;

/// How long scanning `ports` ports at `rate` takes when every port is silent: the
/// attempts start at the rate (or as fast as the in-flight bound lets them, when each
/// waits `timeout`), and the last waits one timeout.
pub fn estimate(ports: u32, rate: u32, timeout: Duration) -> Duration {
    let rate = f64::from(rate.max(1));
    let bound = MAX_IN_FLIGHT as f64 / timeout.as_secs_f64().max(0.001);
    // The first MAX_IN_FLIGHT start at the rate; after that one starts as one ends.
    let first = f64::from(ports.min(MAX_IN_FLIGHT as u32).saturating_sub(1)) / rate;
    let rest = f64::from(ports.saturating_sub(MAX_IN_FLIGHT as u32)) / rate.min(bound);
    Duration::from_secs_f64(first + rest) + timeout
}

/// How often the scan says how far it got.
const TELL_EVERY: Duration = Duration::from_millis(250);

/// Scans `low..=high` at `ip`; `tell` hears how many ports have their outcome, now and
/// then (a progress bar).
pub async fn scan(
    net: &Net,
    ip: IpAddr,
    (low, high): (u16, u16),
    rate: u32,
    clock: Clock,
    tell: &(dyn Fn(u32) + Send + Sync),
) -> RangeScan {
    let started = Instant::now();
    let ports = u32::from(high) - u32::from(low) + 1;
    let rate = rate.max(1);
    let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let gap = Duration::from_secs_f64(1.0 / f64::from(rate));
    let mut set = JoinSet::new();
    let mut outcomes: Vec<Option<ConnectOutcome>> = vec![None; ports as usize];
    let (mut done, mut told) = (0u32, Instant::now());
    let mut count = |done: &mut u32| {
        *done += 1;
        if told.elapsed() >= TELL_EVERY || *done == ports {
            told = Instant::now();
            tell(*done);
        }
    };
    for (i, port) in (low..=high).enumerate() {
        if clock.interrupted() || Instant::now() >= clock.deadline {
            break;
        }
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let net = net.clone();
        set.spawn(async move {
            let (attempt, conn) = data::connect(&net, SocketAddr::new(ip, port), clock).await;
            drop(conn);
            drop(permit);
            (i, attempt.outcome)
        });
        // Pace the starts; finished attempts are collected meanwhile.
        let next = Instant::now() + gap;
        while let Ok(Some(Ok((i, outcome)))) =
            tokio::time::timeout_at(next.into(), set.join_next()).await
        {
            outcomes[i] = Some(outcome);
            count(&mut done);
        }
        tokio::time::sleep_until(next.into()).await;
    }
    while let Some(joined) = set.join_next().await {
        if let Ok((i, outcome)) = joined {
            outcomes[i] = Some(outcome);
            count(&mut done);
        }
    }
    let mut out = RangeScan {
        address: ip,
        low,
        high,
        rate,
        estimate_us: estimate(ports, rate, clock.step).as_micros() as u64,
        connected: Vec::new(),
        refused: Vec::new(),
        timed_out: Vec::new(),
        unreachable: Vec::new(),
        not_tried: Vec::new(),
        elapsed_us: 0,
    };
    for (i, outcome) in outcomes.iter().enumerate() {
        let port = low + i as u16;
        let into = match outcome {
            Some(ConnectOutcome::Connected) => &mut out.connected,
            Some(ConnectOutcome::Refused) => &mut out.refused,
            Some(ConnectOutcome::TimedOut) => &mut out.timed_out,
            // Ctrl-C: no outcome was seen.
            Some(ConnectOutcome::Skipped(_)) | None => &mut out.not_tried,
            Some(_) => &mut out.unreachable,
        };
        push_port(into, port);
    }
    out.elapsed_us = started.elapsed().as_micros() as u64;
    out
}

/// Adds `port` to compressed ranges, extending the last one when it follows it.
fn push_port(ranges: &mut Vec<(u16, u16)>, port: u16) {
    match ranges.last_mut() {
        Some((_, high)) if u32::from(*high) + 1 == u32::from(port) => *high = port,
        _ => ranges.push((port, port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::session::testkit::{Port, Scripted};

    #[test]
    fn the_estimate_counts_one_timeout_for_all_silent_ports() {
        let t = Duration::from_secs(5);
        // 20 ports at 200/s: 0.095 s of starts, then one timeout.
        let e = estimate(20, 200, t);
        assert!(e > t && e < t + Duration::from_millis(200), "{e:?}");
        // 65,535 ports: 256 in flight for 5 s each bounds the pace to 51/s.
        let e = estimate(65_535, 200, t);
        assert!(
            e > Duration::from_secs(1200) && e < Duration::from_secs(1300),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn each_outcome_is_kept_as_compressed_ranges() {
        let mut net = Scripted::new(Vec::new());
        for p in 50000..=50004 {
            net = net.port(p, Port::Serve(Vec::new()));
        }
        for p in 50005..=50009 {
            net = net.port(p, Port::Refuse);
        }
        for p in 50010..=50019 {
            net = net.port(p, Port::Silent);
        }
        let clock = Clock::new(Duration::from_millis(300), Duration::from_secs(10));
        let started = Instant::now();
        let told = std::sync::Mutex::new(Vec::new());
        let tell = |done| told.lock().unwrap().push(done);
        let map = scan(
            &net.net(),
            [127, 0, 0, 1].into(),
            (50000, 50019),
            1000,
            clock,
            &tell,
        )
        .await;
        // The progress heard rises and ends at every port.
        let told = told.into_inner().unwrap();
        assert_eq!(told.last(), Some(&20), "{told:?}");
        assert!(told.windows(2).all(|w| w[0] < w[1]), "{told:?}");
        assert_eq!(map.connected, [(50000, 50004)]);
        assert_eq!(map.refused, [(50005, 50009)]);
        assert_eq!(map.timed_out, [(50010, 50019)]);
        assert!(map.not_tried.is_empty() && map.unreachable.is_empty());
        // Ten silent ports, one timeout of 300 ms together.
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        // Every port once, no other address.
        let connects = net.connects.lock().unwrap().clone();
        assert_eq!(connects.len(), 20);
        assert!(
            connects
                .iter()
                .all(|a| a.ip() == std::net::IpAddr::from([127, 0, 0, 1]))
        );
    }

    #[tokio::test]
    async fn the_rate_bounds_how_fast_attempts_start() {
        let mut net = Scripted::new(Vec::new());
        for p in 1000..=1019 {
            net = net.port(p, Port::Refuse);
        }
        let clock = Clock::new(Duration::from_millis(300), Duration::from_secs(10));
        let started = Instant::now();
        let map = scan(
            &net.net(),
            [127, 0, 0, 1].into(),
            (1000, 1019),
            50,
            clock,
            &|_| {},
        )
        .await;
        assert_eq!(map.refused, [(1000, 1019)]);
        // 20 starts at 50/s take at least 19 gaps of 20 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(380),
            "{:?}",
            started.elapsed()
        );
    }
}

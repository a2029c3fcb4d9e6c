//! How much the service takes on: at most `max_concurrent` checks at once, at most
//! `max_queue` more waiting for a slot (each for a bounded time), the rest refused at once
//! with 503 and `Retry-After`; and a per-client rate limit on the API and the desk.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Refused for now; try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub retry_after: u64,
}

/// Check slots and the queue in front of them.
#[derive(Debug)]
pub struct Gate {
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    max_queue: usize,
    queued: AtomicUsize,
}

/// A slot, held while a check runs.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Gate {
    pub fn new(max_concurrent: usize, max_queue: usize) -> Gate {
        Gate {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            max_queue,
            queued: AtomicUsize::new(0),
        }
    }

    /// A slot now, or after waiting in the queue at most `wait`.
    pub async fn enter(&self, wait: Duration) -> Result<Slot, Busy> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(Slot(permit));
        }
        let busy = Busy {
            retry_after: wait.as_secs().clamp(1, 60),
        };
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.max_queue {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(busy);
        }
        let waited = tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        match waited {
            Ok(Ok(permit)) => Ok(Slot(permit)),
            _ => Err(busy),
        }
    }

    pub fn in_flight(&self) -> usize {
        self.max_concurrent - self.slots.available_permits()
    }

    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }
}

/// Clients tracked before the full buckets are forgotten.
const MAX_CLIENTS: usize = 10_000;

/// A token bucket per client address: `per_minute` requests, as a burst or spread out.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimit {
    /// `per_minute` 0: no limit.
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `client`'s bucket, or says when one is free again.
    pub fn take(&self, client: IpAddr) -> Result<(), Busy> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < capacity
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Busy {
                retry_after: ((1.0 - *tokens) / per_sec).ceil().max(1.0) as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_then_the_queue_then_busy() {
        let gate = Gate::new(1, 1);
        let first = gate.enter(Duration::from_secs(1)).await.expect("slot");
        assert_eq!(gate.in_flight(), 1);
        // The queue holds one; a second waiter is refused at once.
        let gate = Arc::new(gate);
        let g = gate.clone();
        let waiting = tokio::spawn(async move { g.enter(Duration::from_secs(5)).await.is_ok() });
        while gate.queued() == 0 {
            tokio::task::yield_now().await;
        }
        let t = Instant::now();
        assert_eq!(
            gate.enter(Duration::from_secs(5)).await.unwrap_err(),
            Busy { retry_after: 5 }
        );
        assert!(t.elapsed() < Duration::from_secs(1));
        drop(first);
        assert!(waiting.await.expect("joined"));
        // A wait that runs out is busy too.
        let held = gate.enter(Duration::from_secs(1)).await.expect("slot");
        assert!(gate.enter(Duration::from_millis(20)).await.is_err());
        drop(held);
    }

    #[test]
    fn rate_limit_per_client() {
        let limit = RateLimit::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limit.take(a).is_ok());
        assert!(limit.take(a).is_ok());
        let busy = limit.take(a).unwrap_err();
        assert!(busy.retry_after >= 1 && busy.retry_after <= 30, "{busy:?}");
        assert!(limit.take(b).is_ok());
        assert!(RateLimit::new(0).take(a).is_ok());
    }
}

//! The probe's clock: the start, the step timeout and the overall deadline every wait is
//! bounded by, and the interrupt (Ctrl-C) that ends every wait at once so that the report
//! of what was seen so far can still be written.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// A request to stop: raised once, seen by every wait that follows or is under way.
#[derive(Debug, Default)]
pub struct Interrupt {
    raised: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    /// The process's interrupt, which Ctrl-C raises.
    pub fn process() -> &'static Interrupt {
        static PROCESS: OnceLock<Interrupt> = OnceLock::new();
        PROCESS.get_or_init(Interrupt::default)
    }

    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Completes once the interrupt is raised (at once if it already was).
    pub async fn raised(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a raise in between is not missed.
            notified.as_mut().enable();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }
}

/// Why a bounded wait ended without its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The budget ran out.
    Elapsed,
    /// The interrupt was raised.
    Interrupted,
}

/// Clock and limits shared by every step of a probe.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start: Instant,
    pub step: Duration,
    pub deadline: Instant,
    pub interrupt: &'static Interrupt,
}

impl Clock {
    /// A clock starting now, stopped by the process's interrupt.
    pub fn new(step: Duration, deadline: Duration) -> Clock {
        let start = Instant::now();
        Clock {
            start,
            step,
            deadline: start + deadline,
            interrupt: Interrupt::process(),
        }
    }

    /// Microseconds since the probe started.
    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// How long the next wait may last, and whether the deadline (not the step timeout)
    /// is what limits it.
    pub fn budget(&self) -> (Duration, bool) {
        self.budget_until(Instant::now() + self.step)
    }

    /// Like [`Clock::budget`], for a step that must end by `step_end`.
    pub fn budget_until(&self, step_end: Instant) -> (Duration, bool) {
        let now = Instant::now();
        let left = self.deadline.saturating_duration_since(now);
        let step_left = step_end.saturating_duration_since(now);
        if left <= step_left {
            (left, true)
        } else {
            (step_left, false)
        }
    }

    pub fn interrupted(&self) -> bool {
        self.interrupt.is_raised()
    }

    /// Waits for `fut` at most `budget`, and not past the interrupt.
    pub async fn bounded<F: Future>(&self, budget: Duration, fut: F) -> Result<F::Output, Waited> {
        tokio::select! {
            biased;
            () = self.interrupt.raised() => Err(Waited::Interrupted),
            r = tokio::time::timeout(budget, fut) => r.map_err(|_| Waited::Elapsed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_interrupt() -> &'static Interrupt {
        // Each test its own, so raising it stops nothing else in the test process.
        Box::leak(Box::default())
    }

    #[tokio::test]
    async fn an_interrupt_ends_a_wait_under_way_at_once() {
        let mut clock = Clock::new(Duration::from_secs(30), Duration::from_secs(60));
        clock.interrupt = own_interrupt();
        let started = Instant::now();
        let raise = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            clock.interrupt.raise();
        };
        let (waited, ()) = tokio::join!(
            clock.bounded(Duration::from_secs(30), std::future::pending::<()>()),
            raise
        );
        assert_eq!(waited, Err(Waited::Interrupted));
        assert!(started.elapsed() < Duration::from_secs(2));
        // And every later wait ends before it starts.
        let later = clock.bounded(Duration::from_secs(30), async { 1 }).await;
        assert_eq!(later, Err(Waited::Interrupted));
    }

    #[tokio::test]
    async fn without_an_interrupt_the_budget_bounds_the_wait() {
        let mut clock = Clock::new(Duration::from_secs(30), Duration::from_secs(60));
        clock.interrupt = own_interrupt();
        let waited = clock
            .bounded(Duration::from_millis(20), std::future::pending::<()>())
            .await;
        assert_eq!(waited, Err(Waited::Elapsed));
        assert_eq!(
            clock.bounded(Duration::from_secs(1), async { 7 }).await,
            Ok(7)
        );
    }
}

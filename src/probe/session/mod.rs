//! One FTP session against one server address, run as a short list of steps over one
//! context ([`Run`]): greeting, SYST/TYPE/PWD and FEAT (`greeting.rs`), TLS (`secure.rs`),
//! login (`login.rs`), K PASV and K EPSV samples with their ports test-connected at once
//! (`samples.rs`), real transfers (`transfer.rs`), and the plain-text comparison
//! (`compare.rs`). What to do next is decided by pure planning (`plan.rs`); every
//! connection goes through the session's [`Connector`](super::net::Connector). Whatever
//! the server does is recorded; the session ends early only when the control connection
//! cannot go on.

mod active;
mod compare;
mod greeting;
mod login;
pub mod plan;
mod samples;
mod secure;
mod transfer;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Instant;

use super::control::{Control, StepFailure};
use super::data;
use super::net::Net;
use super::progress::Step;
use super::tls::TlsClient;
use crate::proto::{PassiveKind, is_anonymous};
use crate::transcript::{LoginOutcome, Phase, ServerSession, SessionEnd, TlsRequest};
pub use plan::SessionPlan;

/// How a failed wait on the control connection ends the session, in `phase`.
fn end_for(failure: &StepFailure, phase: Phase) -> SessionEnd {
    match failure {
        StepFailure::Timeout => SessionEnd::TimedOut(phase),
        StepFailure::Deadline => SessionEnd::Deadline(phase),
        StepFailure::Closed | StepFailure::Io(_) | StepFailure::ServiceClosing => {
            SessionEnd::Closed(phase)
        }
        StepFailure::Unreadable(_) => SessionEnd::ProtocolError(phase),
        StepFailure::Interrupted => SessionEnd::Interrupted(phase),
    }
}

/// What the steps of one session share: the plan, the network, the record so far and the
/// session's TLS client (shared by the control and the data connections).
struct Run<'a> {
    plan: &'a SessionPlan,
    net: Net,
    s: ServerSession,
    started: Instant,
    tls: Option<TlsClient>,
}

impl Run<'_> {
    /// Tells whoever watches what this session does now.
    fn tell(&self, step: Step) {
        self.plan.progress.emit(self.s.server, step);
    }

    fn finish(mut self, control: Option<Control>) -> ServerSession {
        if let Some(c) = control {
            self.s.lines = c.lines;
        }
        self.s.total_us = self.started.elapsed().as_micros() as u64;
        self.s
    }
}

/// Whether the control connection can go on after a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// The transfer command was sent but its data connection failed and the server did
    /// not answer in time: the control connection's state is unknown, so no more
    /// transfers are tried on it.
    Abandoned,
}

/// Checks one server address over `net`.
pub async fn check(
    server: SocketAddr,
    source: &str,
    plan: &SessionPlan,
    net: Net,
) -> ServerSession {
    let clock = plan.clock;
    let started = Instant::now();
    plan.progress.emit(server, Step::Connecting);
    let (connect, conn) = data::connect(&net, server, clock).await;
    let mut run = Run {
        plan,
        net,
        started,
        s: ServerSession::new(server, source, connect),
        tls: None,
    };
    let Some(conn) = conn else {
        run.s.end = if clock.interrupted() {
            SessionEnd::Interrupted(Phase::Connect)
        } else if clock.deadline <= Instant::now() {
            SessionEnd::Deadline(Phase::Connect)
        } else {
            SessionEnd::ConnectFailed
        };
        return run.finish(None);
    };
    run.s.local = conn.local;
    let mut c = Control::new(conn.stream, clock);
    let end = match plan.tls {
        TlsRequest::Implicit => {
            match secure::start(&mut run, &mut c, TlsRequest::Implicit, None).await {
                Ok(()) => steps(&mut run, &mut c).await,
                Err(end) => Err(end),
            }
        }
        _ => steps(&mut run, &mut c).await,
    };
    // A server can refuse the handshake after it completed on this side (TLS 1.3: a client
    // certificate required); the alert comes with the first read under TLS.
    let end = match (end, c.tls_rejected()) {
        (Err(_), Some(error)) => Err(secure::rejected_late(&mut run, error)),
        (end, _) => end,
    };
    // The late answers (FEAT, SYST, TYPE I, PWD) that came before the session ended.
    greeting::keep_late(&mut run, c.take_answered());
    if let Err(end) = end {
        run.s.end = end;
    } else {
        c.quit().await;
    }
    if wants_comparison(&run) {
        plan.progress.emit(server, Step::Comparing);
        let net = run.net.clone();
        run.s.plain_comparison = Some(compare::plain_comparison(&net, server, plan).await);
    }
    plan.progress.emit(server, Step::Done);
    run.finish(Some(c))
}

/// A plain-text comparison runs after a TLS session that logged in, when asked for or
/// when the login is anonymous (no credentials go out in clear).
fn wants_comparison(run: &Run<'_>) -> bool {
    let tls_worked = run
        .s
        .tls
        .as_ref()
        .is_some_and(|t| t.handshake.as_ref().is_some_and(|h| h.error.is_none()));
    tls_worked
        && !run.plan.clock.interrupted()
        && run.plan.tls != TlsRequest::Implicit
        && (run.plan.compare_plain || is_anonymous(&run.plan.user))
        && run
            .s
            .login
            .as_ref()
            .is_some_and(|l| l.outcome == LoginOutcome::LoggedIn)
}

/// The steps in order; `Err` carries how the session ended early. Commands whose replies
/// do not decide what comes next are pipelined (sent together, answered in order), so a
/// check costs about as many round trips as a client's listing (docs/performance.md).
async fn steps(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    greeting::greeting(run, c).await?;
    run.tell(Step::Greeted);
    greeting::auth_tls(run, c).await?;
    let ride = samples::burst(run);
    let sent = login::login(run, c, &ride).await?;
    run.tell(Step::LoggedIn);
    let reserved = samples::sample_bursts(run, c, sent).await?;
    let first_kind = reserved.map(|i| run.s.samples[i].command);
    let mut abandoned = samples::test_ports(run, c, reserved).await? == Some(Flow::Abandoned);
    for kind in [PassiveKind::Pasv, PassiveKind::Epsv] {
        let listed = run.s.transfers.iter().filter(|t| t.data.is_some()).count();
        if abandoned || Some(kind) == first_kind || listed >= run.plan.transfers as usize {
            continue;
        }
        if plan::transfer_worth_trying(&run.s.samples, &run.s.transfers, kind) {
            abandoned = transfer::transfer(run, c, kind, false).await? == Flow::Abandoned;
        }
    }
    // Does the server insist that data connections resume the control session (vsftpd
    // require_ssl_reuse, ProFTPD)? One more transfer that offers no session tells.
    if let Some(kind) = plan::reuse_test_kind(&run.s.transfers)
        && secure::data_protected(run)
        && !abandoned
    {
        transfer::transfer(run, c, kind, true).await?;
    }
    greeting::settle_late(run, c).await;
    if run.plan.active && !abandoned {
        active::active(run, c).await?;
    }
    Ok(())
}

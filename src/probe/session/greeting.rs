//! The opening steps: the greeting (through up to [`MAX_PRELIMINARY`] 1xx replies), AUTH
//! TLS when TLS is wanted, PBSZ and PROT under TLS (in front of the samples: the data
//! connections depend on PROT's answer), and the commands whose replies decide nothing
//! before the first listing: SYST, TYPE I, PWD and FEAT ([`LATE`]). Those go out behind the
//! last sample and are read while the first listing's data connection opens: only the
//! listing command depends on FEAT, a TLS-enabled vsftpd sends its FEAT reply line by line,
//! one round trip late (Nagle), and a server writes each reply in a segment of its own, so
//! replies beyond its congestion window (about a dozen) arrive a round trip later.

use std::time::Instant;

use super::super::control::{Answer, Control, record};
use super::{Run, end_for, secure};
use crate::transcript::{Phase, SessionEnd, TlsRequest};

/// At most this many preliminary (1xx) greeting replies are waited through.
pub(super) const MAX_PRELIMINARY: usize = 5;

/// Waits for the 220; any other final reply means the server will not serve us.
pub(super) async fn greeting(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let since = Instant::now();
    for _ in 0..=MAX_PRELIMINARY {
        match c.read_reply().await {
            Ok(reply) => {
                run.s.greeting.push(record(&reply, since));
                match reply.class() {
                    1 => continue,
                    2 if reply.code == 220 => return Ok(()),
                    _ => return Err(SessionEnd::Unavailable),
                }
            }
            Err(f) => return Err(end_for(&f, Phase::Greeting)),
        }
    }
    Err(SessionEnd::Unavailable)
}

/// AUTH TLS, when TLS is wanted and not yet on.
pub(super) async fn auth_tls(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let want_auth = matches!(run.plan.tls, TlsRequest::Auto | TlsRequest::Explicit) && !c.tls;
    if want_auth && let Some(auth) = c.exchange_all(&["AUTH TLS"]).await.pop() {
        secure::auth(run, c, auth).await?;
    }
    Ok(())
}

/// The commands sent ahead of the samples: PBSZ and PROT under TLS.
pub(super) fn opening_commands(run: &Run<'_>) -> Vec<&'static str> {
    if run.tls.is_none() {
        return Vec::new();
    }
    let prot = if run.plan.prot_clear {
        "PROT C"
    } else {
        "PROT P"
    };
    vec!["PBSZ 0", prot]
}

/// The commands sent behind the samples, whose answers are read later ([`keep_late`]).
pub(super) const LATE: [&str; 4] = ["SYST", "TYPE I", "PWD", "FEAT"];

/// Records the answers to [`opening_commands`], in order. `Err` ends the session.
pub(super) fn record_opening(
    run: &mut Run<'_>,
    commands: &[&str],
    answers: Vec<Answer>,
) -> Result<(), SessionEnd> {
    for (command, (exchange, _, fail)) in commands.iter().zip(answers) {
        let tls = run.s.tls.as_mut();
        match *command {
            "PBSZ 0" => {
                if let Some(t) = tls {
                    t.pbsz = Some(exchange);
                }
            }
            "PROT P" | "PROT C" => {
                if let Some(t) = tls {
                    t.prot = Some(exchange);
                }
            }
            _ => {}
        }
        if let Some(f) = fail {
            return Err(end_for(&f, Phase::Login));
        }
    }
    Ok(())
}

/// Keeps the answers to [`LATE`] commands read since the last call.
pub(super) fn keep_late(run: &mut Run<'_>, answered: Vec<Answer>) {
    for (exchange, _, _) in answered {
        match exchange.command.as_str() {
            "FEAT" => run.s.feat = Some(exchange),
            "SYST" => run.s.syst = Some(exchange),
            "TYPE I" => run.s.type_i = Some(exchange),
            "PWD" => run.s.pwd = Some(exchange),
            _ => {}
        }
    }
}

/// Reads the answers to [`LATE`] commands still on their way, and keeps them.
pub(super) async fn settle_late(run: &mut Run<'_>, c: &mut Control) {
    c.read_unread().await;
    keep_late(run, c.take_answered());
}

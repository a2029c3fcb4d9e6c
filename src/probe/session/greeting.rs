//! The opening steps: the greeting (through up to [`MAX_PRELIMINARY`] 1xx replies), AUTH
//! TLS when TLS is wanted, and after the login the commands whose replies decide nothing
//! (PBSZ and PROT under TLS, SYST, TYPE I, PWD), which go out in the first sample burst
//! (vsftpd refuses SYST before the login). FEAT goes out with the last sample burst and
//! is read while the first listing's data connection opens: only the listing command
//! depends on it, and a TLS-enabled vsftpd sends its FEAT reply line by line, one round
//! trip late (Nagle), which would hold up whatever follows it.

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

/// The commands sent ahead of the first samples: PBSZ and PROT under TLS, then SYST,
/// TYPE I and PWD.
pub(super) fn opening_commands(run: &Run<'_>) -> Vec<&'static str> {
    let mut commands = Vec::with_capacity(5);
    if run.tls.is_some() {
        commands.push("PBSZ 0");
        commands.push(if run.plan.prot_clear {
            "PROT C"
        } else {
            "PROT P"
        });
    }
    commands.extend(["SYST", "TYPE I", "PWD"]);
    commands
}

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
            "SYST" => run.s.syst = Some(exchange),
            "TYPE I" => run.s.type_i = Some(exchange),
            _ => run.s.pwd = Some(exchange),
        }
        if let Some(f) = fail {
            return Err(end_for(&f, Phase::Login));
        }
    }
    Ok(())
}

/// Keeps the answer to FEAT, if one was read since the last call.
pub(super) fn keep_feat(run: &mut Run<'_>, answered: Vec<Answer>) {
    for (exchange, _, _) in answered {
        if exchange.command == "FEAT" {
            run.s.feat = Some(exchange);
        }
    }
}

/// Reads FEAT's answer if it is still on its way, and keeps it.
pub(super) async fn settle_feat(run: &mut Run<'_>, c: &mut Control) {
    c.read_unread().await;
    keep_feat(run, c.take_answered());
}

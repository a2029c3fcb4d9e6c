//! The opening steps: the greeting (through up to [`MAX_PRELIMINARY`] 1xx replies), FEAT
//! with AUTH TLS pipelined behind it when TLS is wanted, and after the login SYST, TYPE I
//! and PWD in one burst (vsftpd refuses SYST before the login).

use std::time::Instant;

use super::super::control::{Control, record};
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

/// FEAT, and AUTH TLS in the same write when TLS is wanted and not yet on.
pub(super) async fn features(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let want_auth = matches!(run.plan.tls, TlsRequest::Auto | TlsRequest::Explicit) && !c.tls;
    let first: &[&str] = if want_auth {
        &["FEAT", "AUTH TLS"]
    } else {
        &["FEAT"]
    };
    let mut replies = c.exchange_all(first).await.into_iter();
    if let Some((feat, _, fail)) = replies.next() {
        run.s.feat = Some(feat);
        if let Some(f) = fail {
            return Err(end_for(&f, Phase::Greeting));
        }
    }
    if let Some(auth) = replies.next() {
        secure::auth(run, c, auth).await?;
    }
    Ok(())
}

/// SYST, TYPE I and PWD in one burst.
pub(super) async fn settle(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let mut replies = c.exchange_all(&["SYST", "TYPE I", "PWD"]).await.into_iter();
    for slot in 0..3 {
        let Some((exchange, _, fail)) = replies.next() else {
            break;
        };
        match slot {
            0 => run.s.syst = Some(exchange),
            1 => run.s.type_i = Some(exchange),
            _ => run.s.pwd = Some(exchange),
        }
        if let Some(f) = fail {
            return Err(end_for(&f, Phase::Login));
        }
    }
    Ok(())
}

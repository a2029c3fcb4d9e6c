//! The login step: USER, then PASS (the given password, or the customary e-mail-like one
//! for anonymous users), in one burst under TLS, recorded as a [`Login`] with its outcome.
//! When PASS goes with USER, the sample burst rides behind it: the server answers it after
//! the login, so it costs no round trip of its own. The password is never logged: the
//! control connection masks `PASS` and any reply that repeats it.

use std::time::{Duration, Instant};

use super::super::control::{Answer, Control, StepFailure};
use super::{Run, end_for};
use crate::proto::Reply;
use crate::proto::is_anonymous;
use crate::secret::Secret;
use crate::transcript::{Login, LoginOutcome, Phase, SessionEnd, TlsRequest};

/// What anonymous logins send as a password, by convention an e-mail-like string.
const ANONYMOUS_PASSWORD: &str = "pasv-doctor@";

/// Logs in; `Err` ends the session (refused, no password, or the connection failed).
/// `ride` goes out behind PASS when PASS goes with USER; returns whether it went (its
/// replies are then unread, for the next step). After a refused login they are read, so
/// the transcript shows what the server said to them.
pub(super) async fn login(
    run: &mut Run<'_>,
    c: &mut Control,
    ride: &[&str],
) -> Result<bool, SessionEnd> {
    let plan = run.plan;
    let since = Instant::now();
    let mut login = Login::new(&plan.user, c.tls);
    // A server that refused AUTH TLS offers no TLS: the password would go in clear after
    // its 331 anyway, so it may as well ride with USER.
    let no_tls_offered = !c.tls
        && plan.tls == TlsRequest::Auto
        && run.s.tls.as_ref().is_some_and(|t| t.handshake.is_none());
    let together = c.tls || no_tls_offered;
    let secret = plan.password.as_ref();
    let result = login_steps(c, &plan.user, secret, together, ride, &mut login).await;
    login.elapsed_us = since.elapsed().as_micros() as u64;
    let logged_in = login.outcome == LoginOutcome::LoggedIn;
    run.s.login = Some(login);
    match result {
        Err(f) => Err(end_for(&f, Phase::Login)),
        Ok(rode) if logged_in => Ok(rode),
        Ok(rode) => {
            if rode {
                // Their answers (530 Please login) belong in the transcript; a server that
                // goes quiet after a refused login gets a short wait, not a full step. They
                // stay lines only: a 530 to FEAT is no FEAT answer.
                c.read_unread_within(Duration::from_secs(2)).await;
                let _ = c.take_answered();
            }
            Err(SessionEnd::LoginFailed)
        }
    }
}

/// USER and PASS; the outcome goes into `login`, and `Ok` says whether `ride` went out.
/// `Err` is a failure of the connection, not a refusal. With `together` (under TLS, or from a server that refused AUTH TLS), or
/// for an anonymous login, PASS goes out with USER, `ride` behind it: one round trip, not
/// two, and the commands that follow the login ride along (unread). Otherwise a
/// real password waits for the 331 that asks for it, so a server that refuses the user in
/// clear text ("530 Non-anonymous sessions must use encryption") never gets it.
pub(super) async fn login_steps(
    c: &mut Control,
    user: &str,
    password: Option<&Secret>,
    together: bool,
    ride: &[&str],
    login: &mut Login,
) -> Result<bool, StepFailure> {
    let anonymous = is_anonymous(user);
    let password = match (password, anonymous) {
        (Some(p), _) => {
            c.mask_in_replies(p);
            Some(p.expose().to_string())
        }
        (None, true) => Some(ANONYMOUS_PASSWORD.to_string()),
        (None, false) => None,
    };
    let user_cmd = format!("USER {user}");
    if let (Some(pass), true) = (&password, together || anonymous) {
        login.password_sent = true;
        let mut answers = c
            .exchange_all_then(&[&user_cmd, &format!("PASS {pass}")], ride)
            .await
            .into_iter();
        let user_reply = answer(answers.next())?;
        let pass = answers.next();
        login.outcome = match user_reply.code {
            // Logged in without a password, whatever PASS got; but a PASS that got no answer
            // (closed, 421, silence) leaves the connection, and what rode behind it, unusable.
            230 => match pass {
                Some((_, _, Some(f))) => return Err(f),
                _ => LoginOutcome::LoggedIn,
            },
            332 => LoginOutcome::AccountRequired,
            331 => pass_outcome(answer(pass)?.code),
            _ => LoginOutcome::Rejected,
        };
        return Ok(true);
    }
    let reply = answer(c.exchange_all(&[&user_cmd]).await.pop())?;
    login.outcome = match reply.code {
        230 => LoginOutcome::LoggedIn,
        332 => LoginOutcome::AccountRequired,
        331 => match password {
            Some(pass) => {
                login.password_sent = true;
                pass_outcome(answer(c.exchange_all(&[&format!("PASS {pass}")]).await.pop())?.code)
            }
            None => LoginOutcome::NoPassword,
        },
        _ => LoginOutcome::Rejected,
    };
    Ok(false)
}

/// The reply of one answer, or why there was none.
fn answer(a: Option<Answer>) -> Result<Reply, StepFailure> {
    match a {
        Some((_, _, Some(f))) => Err(f),
        Some((_, Some(r), None)) => Ok(r),
        _ => Err(StepFailure::Closed),
    }
}

/// What PASS's reply code means for the login.
fn pass_outcome(code: u16) -> LoginOutcome {
    match code {
        230 | 202 => LoginOutcome::LoggedIn,
        332 => LoginOutcome::AccountRequired,
        _ => LoginOutcome::Rejected,
    }
}

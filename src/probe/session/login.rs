//! The login step: USER, then PASS when asked for (the given password, or the customary
//! e-mail-like one for anonymous users), recorded as a [`Login`] with its outcome. The
//! password is never logged: the control connection masks `PASS` and any reply that
//! repeats it.

use std::time::Instant;

use super::super::control::{Control, StepFailure};
use super::{Run, end_for};
use crate::proto::is_anonymous;
use crate::secret::Secret;
use crate::transcript::{Login, LoginOutcome, Phase, SessionEnd};

/// What anonymous logins send as a password, by convention an e-mail-like string.
const ANONYMOUS_PASSWORD: &str = "pasv-doctor@";

/// Logs in; `Err` ends the session (refused, no password, or the connection failed).
pub(super) async fn login(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let plan = run.plan;
    let since = Instant::now();
    let mut login = Login::new(&plan.user, c.tls);
    let result = login_steps(c, &plan.user, plan.password.as_ref(), &mut login).await;
    login.elapsed_us = since.elapsed().as_micros() as u64;
    let logged_in = login.outcome == LoginOutcome::LoggedIn;
    run.s.login = Some(login);
    match result {
        Err(f) => Err(end_for(&f, Phase::Login)),
        Ok(()) if logged_in => Ok(()),
        Ok(()) => Err(SessionEnd::LoginFailed),
    }
}

/// USER and PASS; the outcome goes into `login`. `Err` is a failure of the connection,
/// not a refusal.
pub(super) async fn login_steps(
    c: &mut Control,
    user: &str,
    password: Option<&Secret>,
    login: &mut Login,
) -> Result<(), StepFailure> {
    let (_, reply, fail) = c.exchange(&format!("USER {user}")).await;
    let reply = match (reply, fail) {
        (_, Some(f)) => return Err(f),
        (Some(r), None) => r,
        (None, None) => return Err(StepFailure::Closed),
    };
    login.outcome = match reply.code {
        230 => LoginOutcome::LoggedIn,
        332 => LoginOutcome::AccountRequired,
        331 => {
            let password = match (password, is_anonymous(user)) {
                (Some(p), _) => {
                    c.mask_in_replies(p);
                    p.expose().to_string()
                }
                (None, true) => ANONYMOUS_PASSWORD.to_string(),
                (None, false) => {
                    login.outcome = LoginOutcome::NoPassword;
                    return Ok(());
                }
            };
            login.password_sent = true;
            let (_, reply, fail) = c.exchange(&format!("PASS {password}")).await;
            match (reply, fail) {
                (_, Some(f)) => return Err(f),
                (Some(r), None) => match r.code {
                    230 | 202 => LoginOutcome::LoggedIn,
                    332 => LoginOutcome::AccountRequired,
                    _ => LoginOutcome::Rejected,
                },
                (None, None) => return Err(StepFailure::Closed),
            }
        }
        _ => LoginOutcome::Rejected,
    };
    Ok(())
}

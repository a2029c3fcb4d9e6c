//! The plain-text comparison: after a TLS session, a short plain-text session (greeting,
//! login, one PASV) whose PASV address is compared with the TLS session's. A NAT router's
//! FTP helper rewrites the address only where it can read it, so a difference shows one
//! at work (`analyze`'s ALG rule).

use std::net::SocketAddr;

use super::super::control::Control;
use super::super::data;
use super::super::net::Net;
use super::login::login_steps;
use super::plan::SessionPlan;
use super::samples::passive_command;
use crate::proto::PassiveKind;
use crate::transcript::{Login, LoginOutcome, PlainComparison};

/// Runs the comparison session; whatever fails is recorded in it, never returned.
pub(super) async fn plain_comparison(
    net: &Net,
    server: SocketAddr,
    plan: &SessionPlan,
) -> PlainComparison {
    let mut out = PlainComparison {
        login: None,
        sample: None,
        lines: Vec::new(),
        failure: None,
    };
    let (attempt, conn) = data::connect(net, server, plan.clock).await;
    let Some(conn) = conn else {
        out.failure = Some(format!("connect: {}", attempt.outcome.label()));
        return out;
    };
    let mut c = Control::new(conn.stream, plan.clock);
    let result = async {
        loop {
            let r = c.read_reply().await.map_err(|f| f.describe())?;
            if r.class() != 1 {
                if r.code != 220 {
                    return Err(format!("greeting: {}", r.to_lossy_string()));
                }
                break;
            }
        }
        let mut login = Login::new(&plan.user, false);
        login_steps(
            &mut c,
            &plan.user,
            plan.password.as_ref(),
            false,
            &[],
            &mut login,
        )
        .await
        .map_err(|f| f.describe())?;
        let logged_in = login.outcome == LoginOutcome::LoggedIn;
        out.login = Some(login);
        if !logged_in {
            return Err("the plain-text login was refused".to_string());
        }
        let (sample, fail) = passive_command(&mut c, PassiveKind::Pasv).await;
        out.sample = Some(sample);
        if let Some(f) = fail {
            return Err(f.describe());
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        out.failure = Some(e);
    }
    c.quit().await;
    out.lines = c.lines;
    out
}

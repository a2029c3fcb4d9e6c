//! The TLS steps (RFC 4217): TLS on the control connection (implicit, or after AUTH TLS),
//! PBSZ and PROT's answers, and TLS on a data connection after its preliminary reply. One TLS client
//! per session, so data connections can resume the control connection's session as
//! vsftpd's `require_ssl_reuse` demands. Everything is recorded in the session's
//! [`ControlTls`] and each transfer's [`DataTls`].

use std::future::Future;
use std::pin::Pin;

use tokio_rustls::client::TlsStream;

use super::super::control::{Clock, Control, StepFailure, TLS_INTERRUPTED};
use super::super::data::{self, DataRead};
use super::super::net::Io;
use super::super::tls::{TlsClient, server_name};
use super::{Run, end_for};
use crate::proto::Reply;
use crate::transcript::{
    ControlTls, DataTls, Exchange, Phase, SessionEnd, TlsHandshake, TlsRequest, Transfer,
};

/// Records a TLS refusal that came with the first read after the handshake as the
/// handshake's failure.
pub(super) fn rejected_late(run: &mut Run<'_>, error: &str) -> SessionEnd {
    if let Some(hs) = run.s.tls.as_mut().and_then(|t| t.handshake.as_mut()) {
        hs.error = Some(format!(
            "{error} (after the handshake had completed on this side, as TLS 1.3 allows)"
        ));
    }
    SessionEnd::TlsFailed
}

/// Starts TLS on the control connection and records it. `Err` ends the session.
pub(super) async fn start(
    run: &mut Run<'_>,
    c: &mut Control,
    mode: TlsRequest,
    auth: Option<Exchange>,
) -> Result<(), SessionEnd> {
    let plan = run.plan;
    let mut record = ControlTls::new(mode, auth, plan.tls_options.insecure);
    let client = match TlsClient::new(&plan.tls_options) {
        Ok(c) => c,
        Err(e) => {
            record.handshake = Some(TlsHandshake::failed(e, 0));
            run.s.tls = Some(record);
            return Err(SessionEnd::TlsFailed);
        }
    };
    let handshake = match server_name(&plan.host) {
        Ok(name) => c.start_tls(&client, &name).await,
        Err(e) => TlsHandshake::failed(e, 0),
    };
    let (certificate, verdict, problems) = client.certificate();
    let ok = handshake.error.is_none();
    record.handshake = Some(handshake);
    record.certificate = certificate;
    record.verdict = verdict;
    record.problems = problems;
    run.s.tls = Some(record);
    if ok {
        run.tls = Some(client);
        Ok(())
    } else if c.clock().interrupted() {
        Err(SessionEnd::Interrupted(Phase::Greeting))
    } else {
        Err(SessionEnd::TlsFailed)
    }
}

/// Answers AUTH TLS's reply, for explicit and auto modes. In auto mode a refusal leaves
/// the session in plain text; in explicit mode it ends the session before any password is
/// sent in clear.
pub(super) async fn auth(
    run: &mut Run<'_>,
    c: &mut Control,
    (exchange, reply, fail): (Exchange, Option<Reply>, Option<StepFailure>),
) -> Result<(), SessionEnd> {
    if let Some(f) = fail {
        return Err(end_for(&f, Phase::Greeting));
    }
    if reply.as_ref().is_some_and(|r| r.code == 234) {
        return start(run, c, TlsRequest::Explicit, Some(exchange)).await;
    }
    let insecure = run.plan.tls_options.insecure;
    run.s.tls = Some(ControlTls::new(
        TlsRequest::Explicit,
        Some(exchange),
        insecure,
    ));
    if run.plan.tls == TlsRequest::Explicit {
        Err(SessionEnd::TlsRefused)
    } else {
        Ok(())
    }
}

/// Whether data connections are protected: TLS on, PROT P asked for and accepted.
pub(super) fn data_protected(run: &Run<'_>) -> bool {
    !run.plan.prot_clear
        && run.tls.is_some()
        && run
            .s
            .tls
            .as_ref()
            .and_then(|t| t.prot.as_ref())
            .and_then(|p| p.reply.as_ref())
            .is_some_and(|r| r.code / 100 == 2)
}

/// A data connection's TLS handshake, started as soon as the connection opens: the
/// server reads the hello when it starts TLS after its preliminary reply (RFC 4217), so
/// the handshake overlaps the wait for that reply instead of following it.
pub(super) type DataHandshake = Pin<Box<dyn Future<Output = HandshakeDone> + Send>>;

/// A finished data handshake: the client that ran it, the stream, the record.
pub(super) struct HandshakeDone {
    client: Option<TlsClient>,
    stream: Option<TlsStream<Box<dyn Io>>>,
    handshake: Option<TlsHandshake>,
    error: Option<String>,
}

/// Starts TLS on a data connection, the client acting as TLS client with the control
/// connection's server name. `fresh_tls` offers no session to resume.
pub(super) fn start_data_tls(
    run: &Run<'_>,
    clock: Clock,
    tcp: Box<dyn Io>,
    fresh_tls: bool,
) -> DataHandshake {
    let client = match (&run.tls, fresh_tls) {
        (Some(cl), true) => cl.fresh().ok(),
        (Some(cl), false) => Some(cl.clone()),
        (None, _) => None,
    };
    let name = server_name(&run.plan.host);
    Box::pin(async move {
        let mut done = HandshakeDone {
            client: None,
            stream: None,
            handshake: None,
            error: None,
        };
        let name = match name {
            Ok(name) => name,
            Err(e) => {
                done.error = Some(e);
                return done;
            }
        };
        let Some(client) = client else {
            return done;
        };
        let (budget, _) = clock.budget();
        let slack = budget + std::time::Duration::from_secs(1);
        let (tls, hs) = match clock
            .bounded(slack, client.handshake(tcp, &name, budget))
            .await
        {
            Ok(done) => done,
            Err(_) => (None, TlsHandshake::failed(TLS_INTERRUPTED.to_string(), 0)),
        };
        done.stream = tls;
        done.handshake = Some(hs);
        done.client = Some(client);
        done
    })
}

/// Records the data connection's handshake, then reads the data to the end.
pub(super) async fn read_protected(
    c: &Control,
    t: &mut Transfer,
    done: HandshakeDone,
    fresh_tls: bool,
    max_wait: std::time::Duration,
) -> DataRead {
    if let Some(e) = done.error {
        return DataRead {
            error: Some(e),
            ..Default::default()
        };
    }
    let (Some(client), Some(hs)) = (done.client, done.handshake) else {
        return DataRead::default();
    };
    let failed = hs.error.clone();
    let shown = client.shown_certificate();
    t.tls = Some(DataTls {
        handshake: hs,
        fresh_session: fresh_tls,
        verdict: shown.as_ref().map(|(_, v)| v.clone()),
        certificate: shown.and_then(|(c, _)| c),
        no_close_notify: false,
    });
    let read = match (done.stream, failed) {
        (Some(mut tls), _) => data::read_to_end(&mut tls, c.clock(), max_wait).await,
        (None, e) => DataRead {
            error: Some(format!(
                "TLS handshake on the data connection failed: {}",
                e.unwrap_or_default()
            )),
            ..Default::default()
        },
    };
    if let Some(d) = t.tls.as_mut() {
        d.no_close_notify = read.no_close_notify;
    }
    read
}

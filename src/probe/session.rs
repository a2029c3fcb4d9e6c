//! One FTP session against one server address: greeting, FEAT, SYST, login, TYPE I, PWD,
//! K PASV and K EPSV samples with their ports test-connected at once, then a real transfer
//! over a fresh PASV and a fresh EPSV. Whatever the server does is recorded; the session
//! ends early only when the control connection cannot go on.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::control::{Clock, Control, StepFailure, record};
use super::data;
use super::tls::{TlsClient, TlsOptions};
use crate::proto::{PassiveKind, is_anonymous};
use crate::secret::Secret;
use crate::transcript::{
    Advertised, Attempt, ConnectOutcome, ControlTls, DataTls, Login, LoginOutcome, PassiveSample,
    Phase, PlainComparison, PortProbe, ServerSession, SessionEnd, TlsRequest, Transfer, Via,
};

/// What every session of a probe shares.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub clock: Clock,
    pub user: String,
    pub password: Option<Secret>,
    pub samples: u32,
    /// Real listings to make (1 or 2).
    pub transfers: u32,
    pub probe_advertised: bool,
    /// The target's own addresses (DNS answers; each session adds its peer).
    pub own: Vec<IpAddr>,
    pub path: Option<String>,
    /// The host as given: the TLS server name for control and data connections.
    pub host: String,
    pub tls: TlsRequest,
    pub tls_options: TlsOptions,
    /// PROT C instead of PROT P.
    pub prot_clear: bool,
    /// After a TLS session, compare with a plain-text session's PASV (ALG detection).
    pub compare_plain: bool,
}

/// What anonymous logins send as a password, by convention an e-mail-like string.
const ANONYMOUS_PASSWORD: &str = "pasv-doctor@";

/// At most this many preliminary (1xx) greeting replies are waited through.
const MAX_PRELIMINARY: usize = 5;

fn end_for(failure: &StepFailure, phase: Phase) -> SessionEnd {
    match failure {
        StepFailure::Timeout => SessionEnd::TimedOut(phase),
        StepFailure::Deadline => SessionEnd::Deadline(phase),
        StepFailure::Closed | StepFailure::Io(_) | StepFailure::ServiceClosing => {
            SessionEnd::Closed(phase)
        }
        StepFailure::Unreadable(_) => SessionEnd::ProtocolError(phase),
    }
}

struct Run<'a> {
    plan: &'a SessionPlan,
    s: ServerSession,
    started: Instant,
    /// The session's TLS client, shared by the control and the data connections.
    tls: Option<TlsClient>,
}

impl Run<'_> {
    fn finish(mut self, control: Option<Control>) -> ServerSession {
        if let Some(c) = control {
            self.s.lines = c.lines;
        }
        self.s.total_us = self.started.elapsed().as_micros() as u64;
        self.s
    }
}

/// Checks one server address.
pub async fn check(server: SocketAddr, source: &str, plan: &SessionPlan) -> ServerSession {
    let clock = plan.clock;
    let started = Instant::now();
    let (connect, stream) = data::connect(server, clock).await;
    let mut run = Run {
        plan,
        started,
        s: ServerSession::new(server, source, connect),
        tls: None,
    };
    let Some(stream) = stream else {
        run.s.end = if clock.deadline <= Instant::now() {
            SessionEnd::Deadline(Phase::Connect)
        } else {
            SessionEnd::ConnectFailed
        };
        return run.finish(None);
    };
    run.s.local = stream.local_addr().ok();
    let mut c = Control::new(stream, clock);
    let end = match plan.tls {
        TlsRequest::Implicit => match start_tls(&mut run, &mut c, TlsRequest::Implicit, None).await
        {
            Ok(()) => session(&mut run, &mut c).await,
            Err(end) => Err(end),
        },
        _ => session(&mut run, &mut c).await,
    };
    // A server can refuse the handshake after it completed on this side (TLS 1.3: a client
    // certificate required); the alert comes with the first read under TLS.
    let end = match (end, c.tls_rejected()) {
        (Err(_), Some(error)) => Err(tls_rejected_late(&mut run, error)),
        (end, _) => end,
    };
    if let Err(end) = end {
        run.s.end = end;
    } else {
        c.quit().await;
    }
    let tls_worked = run
        .s
        .tls
        .as_ref()
        .is_some_and(|t| t.handshake.as_ref().is_some_and(|h| h.error.is_none()));
    if tls_worked
        && plan.tls != TlsRequest::Implicit
        && (plan.compare_plain || is_anonymous(&plan.user))
        && run
            .s
            .login
            .as_ref()
            .is_some_and(|l| l.outcome == LoginOutcome::LoggedIn)
    {
        run.s.plain_comparison = Some(plain_comparison(server, plan).await);
    }
    run.finish(Some(c))
}

/// Records a TLS refusal that came with the first read after the handshake as the
/// handshake's failure.
fn tls_rejected_late(run: &mut Run<'_>, error: &str) -> SessionEnd {
    if let Some(hs) = run.s.tls.as_mut().and_then(|t| t.handshake.as_mut()) {
        hs.error = Some(format!(
            "{error} (after the handshake had completed on this side, as TLS 1.3 allows)"
        ));
    }
    SessionEnd::TlsFailed
}

/// Starts TLS on the control connection and records it. `Err` ends the session.
async fn start_tls(
    run: &mut Run<'_>,
    c: &mut Control,
    mode: TlsRequest,
    auth: Option<crate::transcript::Exchange>,
) -> Result<(), SessionEnd> {
    let plan = run.plan;
    let client = match TlsClient::new(&plan.tls_options) {
        Ok(c) => c,
        Err(e) => {
            run.s.tls = Some(ControlTls {
                mode,
                auth,
                handshake: Some(crate::transcript::TlsHandshake {
                    version: None,
                    cipher: None,
                    resumed: false,
                    error: Some(e),
                    elapsed_us: 0,
                }),
                certificate: None,
                verdict: None,
                problems: Vec::new(),
                insecure: plan.tls_options.insecure,
                pbsz: None,
                prot: None,
            });
            return Err(SessionEnd::TlsFailed);
        }
    };
    let handshake = match super::tls::server_name(&plan.host) {
        Ok(name) => c.start_tls(&client, &name).await,
        Err(e) => crate::transcript::TlsHandshake {
            version: None,
            cipher: None,
            resumed: false,
            error: Some(e),
            elapsed_us: 0,
        },
    };
    let (certificate, verdict, problems) = client.certificate();
    let ok = handshake.error.is_none();
    run.s.tls = Some(ControlTls {
        mode,
        auth,
        handshake: Some(handshake),
        certificate,
        verdict,
        problems,
        insecure: plan.tls_options.insecure,
        pbsz: None,
        prot: None,
    });
    if ok {
        run.tls = Some(client);
        Ok(())
    } else {
        Err(SessionEnd::TlsFailed)
    }
}

/// AUTH TLS (RFC 4217) for explicit and auto modes. In auto mode a refusal leaves the
/// session in plain text; in explicit mode it ends the session before any password is
/// sent in clear.
async fn auth_tls(
    run: &mut Run<'_>,
    c: &mut Control,
    (exchange, reply, fail): (
        crate::transcript::Exchange,
        Option<crate::proto::Reply>,
        Option<StepFailure>,
    ),
) -> Result<(), SessionEnd> {
    if let Some(f) = fail {
        return Err(end_for(&f, Phase::Greeting));
    }
    if reply.as_ref().is_some_and(|r| r.code == 234) {
        return start_tls(run, c, TlsRequest::Explicit, Some(exchange)).await;
    }
    run.s.tls = Some(ControlTls {
        mode: TlsRequest::Explicit,
        auth: Some(exchange),
        handshake: None,
        certificate: None,
        verdict: None,
        problems: Vec::new(),
        insecure: run.plan.tls_options.insecure,
        pbsz: None,
        prot: None,
    });
    if run.plan.tls == TlsRequest::Explicit {
        Err(SessionEnd::TlsRefused)
    } else {
        Ok(())
    }
}

/// PBSZ 0 then PROT P (or C), required before protected transfers (RFC 4217 9, 10).
async fn protect_data(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let prot = if run.plan.prot_clear {
        "PROT C"
    } else {
        "PROT P"
    };
    let mut replies = c.exchange_all(&["PBSZ 0", prot]).await.into_iter();
    for slot in 0..2 {
        let Some((exchange, _, fail)) = replies.next() else {
            break;
        };
        if let Some(tls) = run.s.tls.as_mut() {
            if slot == 0 {
                tls.pbsz = Some(exchange);
            } else {
                tls.prot = Some(exchange);
            }
        }
        if let Some(f) = fail {
            return Err(end_for(&f, Phase::Login));
        }
    }
    Ok(())
}

/// Whether data connections are protected: TLS on, PROT P asked for and accepted.
fn data_protected(run: &Run<'_>) -> bool {
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

/// A short plain-text session: login and one PASV, to compare with the TLS session's.
async fn plain_comparison(server: SocketAddr, plan: &SessionPlan) -> PlainComparison {
    let mut out = PlainComparison {
        login: None,
        sample: None,
        lines: Vec::new(),
        failure: None,
    };
    let (attempt, stream) = data::connect(server, plan.clock).await;
    let Some(stream) = stream else {
        out.failure = Some(format!("connect: {}", attempt.outcome.label()));
        return out;
    };
    let mut c = Control::new(stream, plan.clock);
    let mut plain_plan = plan.clone();
    plain_plan.tls = TlsRequest::Off;
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
        let mut login = Login {
            user: plan.user.clone(),
            anonymous: is_anonymous(&plan.user),
            password_sent: false,
            tls: false,
            outcome: LoginOutcome::NoReply,
            elapsed_us: 0,
        };
        login_steps(&mut c, &plain_plan, login.anonymous, &mut login)
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

/// The session proper; `Err` carries how it ended early. Commands whose replies do not
/// decide what comes next are pipelined (sent together, answered in order), so a check
/// costs about as many round trips as a client's listing (docs/performance.md).
async fn session(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    greeting(run, c).await?;

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
        auth_tls(run, c, auth).await?;
    }

    login(run, c).await?;
    if run.tls.is_some() {
        protect_data(run, c).await?;
    }

    // SYST after the login: vsftpd refuses it before.
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

    let reserved = sample_bursts(run, c).await?;
    // Every sampled port at once, while the first transfer runs over the last sample's
    // own listener: a filtered range costs one timeout, not one per port.
    let (wanted, repeats) = probe_plan(run, c.clock(), reserved);
    let clock = c.clock();
    let addrs: Vec<SocketAddr> = wanted.iter().map(|w| w.2).collect();
    let first_kind = reserved.map(|i| run.s.samples[i].command);
    let (attempts, first) = tokio::join!(data::probe_all(addrs, clock), async {
        match reserved {
            Some(i) => {
                let sample = run.s.samples[i].clone();
                Some(transfer_over(run, c, sample, true, false).await)
            }
            None => None,
        }
    });
    let mut done: Vec<(SocketAddr, Attempt)> = Vec::new();
    for ((i, via, addr), attempt) in wanted.into_iter().zip(attempts) {
        done.push((addr, attempt.clone()));
        run.s.samples[i].probes.push(PortProbe { via, attempt });
    }
    for (i, via, addr) in repeats {
        if let Some((_, attempt)) = done.iter().find(|(a, _)| *a == addr) {
            run.s.samples[i].probes.push(PortProbe {
                via,
                attempt: attempt.clone(),
            });
        }
    }
    let mut abandoned = false;
    if let Some(result) = first {
        abandoned = result? == Flow::Abandoned;
    }
    for kind in [PassiveKind::Pasv, PassiveKind::Epsv] {
        let listed = run.s.transfers.iter().filter(|t| t.data.is_some()).count();
        if abandoned || Some(kind) == first_kind || listed >= run.plan.transfers as usize {
            continue;
        }
        let samples: Vec<&PassiveSample> =
            run.s.samples.iter().filter(|s| s.command == kind).collect();
        let supported = samples.iter().any(|s| s.advertised.is_some());
        let tried: Vec<&PortProbe> = samples
            .iter()
            .flat_map(|s| s.probes.iter())
            .filter(|p| !matches!(p.attempt.outcome, ConnectOutcome::Skipped(_)))
            .collect();
        // When every sampled port timed out, and so did the first listing's own data
        // connection, a transfer would only time out once more. (When the first listing
        // connected, older ports may time out only because a stateful firewall or FTP helper
        // opens just the port most recently announced: a fresh one tells.)
        let first_timed_out = run.s.transfers.first().is_none_or(|t| {
            t.data
                .as_ref()
                .is_none_or(|d| d.attempt.outcome == ConnectOutcome::TimedOut)
        });
        let all_filtered = first_timed_out
            && !tried.is_empty()
            && tried
                .iter()
                .all(|p| p.attempt.outcome == ConnectOutcome::TimedOut);
        if supported && !all_filtered {
            abandoned = transfer(run, c, kind, false).await? == Flow::Abandoned;
        }
    }
    // Does the server insist that data connections resume the control session (vsftpd
    // require_ssl_reuse, ProFTPD)? One more transfer that offers no session tells.
    let resumed_ok = run.s.transfers.iter().any(|t| {
        t.tls.as_ref().is_some_and(|d| d.handshake.error.is_none())
            && t.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
    });
    if resumed_ok && data_protected(run) && !abandoned {
        let kind = run
            .s
            .transfers
            .iter()
            .find(|t| t.completion.as_ref().is_some_and(|r| r.code / 100 == 2))
            .map_or(PassiveKind::Epsv, |t| t.passive.command);
        transfer(run, c, kind, true).await?;
    }
    Ok(())
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

/// The samples in two bursts: one PASV and one EPSV, then the other K-1 of each kind
/// that was answered (a refusal is not repeated). Returns the index of the sample whose
/// listener is still open (the last command sent), which the first transfer uses.
async fn sample_bursts(run: &mut Run<'_>, c: &mut Control) -> Result<Option<usize>, SessionEnd> {
    let mut last_ok: Option<usize> = None;
    let first = [PassiveKind::Pasv, PassiveKind::Epsv];
    let answered = record_samples(run, c, &first, &mut last_ok).await?;
    let more = run.plan.samples.saturating_sub(1) as usize;
    let mut burst = Vec::new();
    for (kind, ok) in first.iter().zip(&answered) {
        if *ok {
            burst.extend(std::iter::repeat_n(*kind, more));
        }
    }
    if !burst.is_empty() {
        record_samples(run, c, &burst, &mut last_ok).await?;
    }
    Ok(last_ok)
}

/// Sends the passive commands in one burst and records each decoded reply. `last_ok` is
/// set to the last sample when it decoded, else cleared (its listener is not known to be
/// open). Returns, per command, whether it got a passive reply.
async fn record_samples(
    run: &mut Run<'_>,
    c: &mut Control,
    kinds: &[PassiveKind],
    last_ok: &mut Option<usize>,
) -> Result<Vec<bool>, SessionEnd> {
    let commands: Vec<&str> = kinds.iter().map(|k| k.command()).collect();
    let results = c.exchange_all(&commands).await;
    let mut answered = Vec::with_capacity(kinds.len());
    for (kind, (exchange, reply, fail)) in kinds.iter().zip(results) {
        let sample = decode_sample(*kind, exchange, reply);
        let ok = sample.advertised.is_some();
        answered.push(ok);
        run.s.samples.push(sample);
        *last_ok = ok.then(|| run.s.samples.len() - 1);
        if let Some(f) = fail {
            let phase = if *kind == PassiveKind::Pasv {
                Phase::Pasv
            } else {
                Phase::Epsv
            };
            return Err(end_for(&f, phase));
        }
    }
    Ok(answered)
}

async fn greeting(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
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

async fn login(run: &mut Run<'_>, c: &mut Control) -> Result<(), SessionEnd> {
    let plan = run.plan;
    let since = Instant::now();
    let anonymous = is_anonymous(&plan.user);
    let mut login = Login {
        user: plan.user.clone(),
        anonymous,
        password_sent: false,
        tls: c.tls,
        outcome: LoginOutcome::NoReply,
        elapsed_us: 0,
    };
    let result = login_steps(c, plan, anonymous, &mut login).await;
    login.elapsed_us = since.elapsed().as_micros() as u64;
    let logged_in = login.outcome == LoginOutcome::LoggedIn;
    run.s.login = Some(login);
    match result {
        Err(f) => Err(end_for(&f, Phase::Login)),
        Ok(()) if logged_in => Ok(()),
        Ok(()) => Err(SessionEnd::LoginFailed),
    }
}

async fn login_steps(
    c: &mut Control,
    plan: &SessionPlan,
    anonymous: bool,
    login: &mut Login,
) -> Result<(), StepFailure> {
    let (_, reply, fail) = c.exchange(&format!("USER {}", plan.user)).await;
    let reply = match (reply, fail) {
        (_, Some(f)) => return Err(f),
        (Some(r), None) => r,
        (None, None) => return Err(StepFailure::Closed),
    };
    login.outcome = match reply.code {
        230 => LoginOutcome::LoggedIn,
        332 => LoginOutcome::AccountRequired,
        331 => {
            let password = match (&plan.password, anonymous) {
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

/// Sends PASV or EPSV and decodes the answer.
async fn passive_command(
    c: &mut Control,
    kind: PassiveKind,
) -> (PassiveSample, Option<StepFailure>) {
    let (exchange, reply, fail) = c.exchange(kind.command()).await;
    (decode_sample(kind, exchange, reply), fail)
}

/// A passive command's exchange with its reply decoded.
fn decode_sample(
    kind: PassiveKind,
    exchange: crate::transcript::Exchange,
    reply: Option<crate::proto::Reply>,
) -> PassiveSample {
    PassiveSample::decoded(kind, exchange, reply.as_ref())
}

/// Where to test-connect for a sample: each address with why it is tried, or why not.
fn probe_targets(
    adv: &Advertised,
    peer: IpAddr,
    own: &[IpAddr],
    probe_advertised: bool,
) -> Vec<(Via, Result<SocketAddr, String>)> {
    if adv.port == 0 {
        return vec![(
            Via::Advertised,
            Err("port 0 cannot be connected to".to_string()),
        )];
    }
    let to_peer = (Via::ControlPeer, Ok(SocketAddr::new(peer, adv.port)));
    match adv.address {
        None => vec![to_peer],
        Some(a) if a == peer => vec![(Via::Advertised, Ok(SocketAddr::new(a, adv.port)))],
        Some(a) if a.is_unspecified() => vec![
            (
                Via::Advertised,
                Err(format!("{a} is not an address a client can connect to")),
            ),
            to_peer,
        ],
        Some(a) if own.contains(&a) || probe_advertised => {
            vec![(Via::Advertised, Ok(SocketAddr::new(a, adv.port))), to_peer]
        }
        Some(a) => vec![
            (
                Via::Advertised,
                Err(format!(
                    "{a} is not one of the target's own addresses; a PASV reply can point \
                     anywhere (RFC 2577), so it is tested only with --probe-advertised"
                )),
            ),
            to_peer,
        ],
    }
}

fn own_with_peer(plan: &SessionPlan, peer: IpAddr) -> Vec<IpAddr> {
    let mut own = plan.own.clone();
    own.push(peer);
    own
}

/// A sample (by index), why an address is tried for it, and the address.
type ProbeTarget = (usize, Via, SocketAddr);

/// Which sampled ports to test-connect, and where. Each address is connected once (a
/// server with a one-port range names the same port every time, and its listener accepts
/// few connections); a sample that repeats an address gets the same outcome. The reserved
/// sample's address is left to its listing: a test connection would take the one
/// connection its listener accepts. Addresses that may not be contacted are recorded as
/// skipped at once. Returns the addresses to connect and the repeats to fill in after.
fn probe_plan(
    run: &mut Run<'_>,
    clock: Clock,
    reserved: Option<usize>,
) -> (Vec<ProbeTarget>, Vec<ProbeTarget>) {
    let peer = run.s.peer();
    let own = own_with_peer(run.plan, peer);
    let reserved_addrs: Vec<SocketAddr> = reserved
        .and_then(|i| run.s.samples[i].advertised.clone())
        .map(|adv| {
            probe_targets(&adv, peer, &own, run.plan.probe_advertised)
                .into_iter()
                .filter_map(|(_, t)| t.ok())
                .collect()
        })
        .unwrap_or_default();
    let mut wanted: Vec<ProbeTarget> = Vec::new();
    let mut repeats: Vec<ProbeTarget> = Vec::new();
    for i in 0..run.s.samples.len() {
        if Some(i) == reserved {
            continue;
        }
        let Some(adv) = run.s.samples[i].advertised.clone() else {
            continue;
        };
        for (via, target) in probe_targets(&adv, peer, &own, run.plan.probe_advertised) {
            match target {
                Ok(addr) if reserved_addrs.contains(&addr) => {
                    run.s.samples[i].probes.push(skipped(
                        via,
                        &adv,
                        "the listing uses this port now; a test connection would take its \
                         data connection"
                            .to_string(),
                        clock,
                    ));
                }
                Ok(addr) if wanted.iter().any(|w| w.2 == addr) => repeats.push((i, via, addr)),
                Ok(addr) => wanted.push((i, via, addr)),
                Err(reason) => run.s.samples[i]
                    .probes
                    .push(skipped(via, &adv, reason, clock)),
            }
        }
    }
    (wanted, repeats)
}

fn skipped(via: Via, adv: &Advertised, reason: String, clock: Clock) -> PortProbe {
    let ip = adv
        .address
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    PortProbe {
        via,
        attempt: Attempt {
            addr: SocketAddr::new(ip, adv.port),
            outcome: ConnectOutcome::Skipped(reason),
            at_us: clock.now_us(),
            elapsed_us: 0,
        },
    }
}

fn listing_commands(features: &[String], path: Option<&str>) -> Vec<String> {
    let has_mlst = features.iter().any(|f| {
        f.split_whitespace()
            .next()
            .is_some_and(|v| v.eq_ignore_ascii_case("MLST"))
    });
    let verbs: &[&str] = if has_mlst {
        &["MLSD", "LIST"]
    } else {
        &["LIST", "NLST"]
    };
    verbs
        .iter()
        .map(|v| match path {
            Some(p) => format!("{v} {p}"),
            None => (*v).to_string(),
        })
        .collect()
}

/// A real transfer over a fresh PASV or EPSV.
/// A real transfer over a fresh PASV or EPSV; `fresh_tls` offers no TLS session to resume.
async fn transfer(
    run: &mut Run<'_>,
    c: &mut Control,
    kind: PassiveKind,
    fresh_tls: bool,
) -> Result<Flow, SessionEnd> {
    let (passive, fail) = passive_command(c, kind).await;
    if let Some(f) = fail {
        run.s.transfers.push(Transfer::new(passive));
        return Err(end_for(&f, Phase::Data));
    }
    transfer_over(run, c, passive, false, fresh_tls).await
}

/// A listing over the port a passive reply named. The data connection is opened while the
/// listing command is on its way (as curl does), so the transfer costs no extra round
/// trip; if the connection fails, the server's answer is awaited briefly, and without one
/// the control connection is given up for transfers.
async fn transfer_over(
    run: &mut Run<'_>,
    c: &mut Control,
    passive: PassiveSample,
    reuses_sample: bool,
    fresh_tls: bool,
) -> Result<Flow, SessionEnd> {
    let mut t = Transfer::new(passive);
    t.reuses_sample = reuses_sample;
    let Some(adv) = t.passive.advertised.clone() else {
        run.s.transfers.push(t);
        return Ok(Flow::Continue);
    };
    let peer = run.s.peer();
    let own = own_with_peer(run.plan, peer);
    // Like FileZilla: the advertised address when it may be tried, else the peer.
    let target = probe_targets(&adv, peer, &own, run.plan.probe_advertised)
        .into_iter()
        .find_map(|(via, t)| t.ok().map(|addr| (via, addr)));
    let Some((via, addr)) = target else {
        run.s.transfers.push(t);
        return Ok(Flow::Continue);
    };
    let features = run.s.features();
    let commands = listing_commands(&features, run.plan.path.as_deref());
    let since = Instant::now();
    let clock = c.clock();
    let ((attempt, stream), sent) = tokio::join!(data::connect(addr, clock), c.send(&commands[0]));
    t.data = Some(PortProbe { via, attempt });
    if let Err(f) = sent {
        t.command = Some(crate::transcript::Exchange {
            command: commands[0].clone(),
            reply: None,
            failure: Some(f.describe()),
        });
        run.s.transfers.push(t);
        return Err(end_for(&f, Phase::Data));
    }
    let Some(stream) = stream else {
        // The command is out but no data connection will come: a server answers 425 at
        // once or only after its own long timeout.
        let answer = c.read_reply_within(Duration::from_secs(1)).await;
        let (reply, flow) = match answer {
            Ok(r) => (Some(c.record(&r, since)), Flow::Continue),
            Err(_) => (None, Flow::Abandoned),
        };
        t.command = Some(crate::transcript::Exchange {
            command: commands[0].clone(),
            reply: reply.clone(),
            failure: reply
                .is_none()
                .then(|| "no reply once the data connection failed".to_string()),
        });
        t.completion = reply;
        run.s.transfers.push(t);
        return Ok(flow);
    };
    let mut stream = Some(stream);
    for (n, command) in commands.iter().enumerate() {
        // The first command is already sent; a fallback goes out now.
        let result = if n == 0 {
            c.read_reply().await
        } else {
            match c.send(command).await {
                Ok(()) => c.read_reply().await,
                Err(f) => Err(f),
            }
        };
        let (reply, fail) = match result {
            Ok(r) => {
                let fail = (r.code == 421).then_some(StepFailure::ServiceClosing);
                (Some(r), fail)
            }
            Err(f) => (None, Some(f)),
        };
        t.command = Some(crate::transcript::Exchange {
            command: crate::probe::control::logged_command(command),
            reply: reply.as_ref().map(|r| c.record(r, since)),
            failure: fail.as_ref().map(StepFailure::describe),
        });
        if let Some(f) = fail {
            run.s.transfers.push(t);
            return Err(end_for(&f, Phase::Data));
        }
        let Some(reply) = reply else { break };
        match reply.code {
            // Not understood: try the next listing command on the same data connection.
            500 | 502 | 504 => continue,
            // A preliminary reply, or a completion without one: either way the data
            // connection must carry the listing and end.
            100..=299 => {
                let max_wait = c.clock().step.saturating_mul(4).max(Duration::from_secs(1));
                // RFC 4217: the data TLS handshake starts after the 150, the client acting
                // as TLS client, with the control connection's server name.
                let protected = data_protected(run);
                let read = match stream.take() {
                    Some(tcp) if protected => {
                        let client = match (&run.tls, fresh_tls) {
                            (Some(cl), true) => cl.fresh().ok(),
                            (Some(cl), false) => Some(cl.clone()),
                            (None, _) => None,
                        };
                        match (client, super::tls::server_name(&run.plan.host)) {
                            (Some(client), Ok(name)) => {
                                let (budget, _) = c.clock().budget();
                                let (tls, hs) = client.handshake(tcp, &name, budget).await;
                                let failed = hs.error.clone();
                                let shown = client.shown_certificate();
                                t.tls = Some(DataTls {
                                    handshake: hs,
                                    fresh_session: fresh_tls,
                                    verdict: shown.as_ref().map(|(_, v)| v.clone()),
                                    certificate: shown.and_then(|(c, _)| c),
                                    no_close_notify: false,
                                });
                                match (tls, failed) {
                                    (Some(mut tls), _) => {
                                        data::read_to_end(&mut tls, c.clock(), max_wait).await
                                    }
                                    (None, e) => data::DataRead {
                                        error: Some(format!(
                                            "TLS handshake on the data connection failed: {}",
                                            e.unwrap_or_default()
                                        )),
                                        ..Default::default()
                                    },
                                }
                            }
                            (_, Err(e)) => data::DataRead {
                                error: Some(e),
                                ..Default::default()
                            },
                            (None, _) => data::DataRead::default(),
                        }
                    }
                    Some(mut tcp) => data::read_to_end(&mut tcp, c.clock(), max_wait).await,
                    None => data::DataRead::default(),
                };
                if let Some(d) = t.tls.as_mut() {
                    d.no_close_notify = read.no_close_notify;
                }
                t.bytes = read.bytes;
                t.first_byte_us = read.first_byte_us;
                t.data_end_us = read.end_us;
                t.truncated = read.truncated;
                t.data_error = read.error;
                // Closing our end tells a server waiting on the data connection we are done.
                drop(stream.take());
                if reply.class() == 2 {
                    t.completion = Some(c.record(&reply, since));
                } else {
                    match c.read_reply().await {
                        Ok(done) => t.completion = Some(c.record(&done, since)),
                        Err(f) => {
                            t.completion_failure = Some(f.describe());
                            run.s.transfers.push(t);
                            return Err(end_for(&f, Phase::Data));
                        }
                    }
                }
            }
            _ => {
                // 425, 426, 450, 550, ...
                t.completion = Some(c.record(&reply, since));
            }
        }
        break;
    }
    run.s.transfers.push(t);
    Ok(Flow::Continue)
}

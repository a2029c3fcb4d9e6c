//! From classified log items to the [`Transcript`] the live check builds: the items are
//! read into control-connection segments ([`reader`](super::reader)), each segment is
//! lowered into a session's parts ([`lower`](super::lower)), and segments to the same
//! address are merged into one session, as the live check keeps one per address. What the
//! log does not show is left out or marked unknown, never invented: no test connections,
//! no DNS answers, no server address that the log does not name.

use std::net::SocketAddr;

use super::Format;
use super::formats::Item;
use super::lower::{Frame, lower};
use super::reader::Reader;
use super::transfer::elapsed;
use crate::knowledge::clients::{default_timeout_s, substitutes_unroutable};
use crate::transcript::{
    ClientLog, ClientMessage, Family, ServerSession, Settings, TargetInfo, TlsRequest, Transcript,
    UNKNOWN_ADDR,
};

/// What the builder needs besides the items.
#[derive(Debug)]
pub struct Context<'a> {
    /// The FILE argument, for the report's target line.
    pub input: &'a str,
    pub format: Format,
    /// What the reader skipped (another protocol's session in the same paste).
    pub skipped: Vec<String>,
}

/// The transcript and how much FTP the log contained.
#[derive(Debug)]
pub struct Built {
    pub transcript: Transcript,
    /// Complete replies with a code 100-599.
    pub replies: usize,
    /// Commands sent (as the log shows them).
    pub commands: usize,
    /// Messages only an FTP client writes.
    pub signals: usize,
    /// Messages of any network client (timed out, refused, logged in, ...).
    pub events: usize,
    /// Sessions whose server answered with another protocol's banner (SSH).
    pub foreign_banners: usize,
    /// Client messages that quote an FTP server's reply (WinSCP's error box, curl's one
    /// error line).
    pub quoted: usize,
}

/// What the sessions add up to, for the transcript's header and `client_log.unknown`.
#[derive(Debug, Default)]
struct Totals {
    unknown_outcomes: usize,
    unknown_peer: bool,
    timeouts: Vec<f64>,
    host: Option<String>,
    first_user: Option<String>,
    passive_counts: u32,
}

/// Merges a later control connection to the same address into the session: the first
/// FEAT, SYST, TYPE, PWD and greeting seen stand; the latest login, TLS and end do.
fn merge(s: &mut ServerSession, next: ServerSession) {
    s.lines.extend(next.lines);
    if s.greeting.is_empty() {
        s.greeting = next.greeting;
    }
    s.feat = s.feat.take().or(next.feat);
    s.syst = s.syst.take().or(next.syst);
    s.type_i = s.type_i.take().or(next.type_i);
    s.pwd = s.pwd.take().or(next.pwd);
    s.tls = next.tls.or(s.tls.take());
    s.login = next.login.or(s.login.take());
    s.samples.extend(next.samples);
    s.transfers.extend(next.transfers);
    s.active.extend(next.active);
    s.end = next.end;
}

/// Builds the transcript from the (redacted) items.
pub fn build(items: &[Item], ctx: &Context<'_>) -> Built {
    let r = Reader::read(items);
    let (client, version) = match &r.client {
        Some((n, v)) => (Some(n.to_string()), v.clone()),
        None => (ctx.format.client().map(str::to_string), None),
    };
    let substitutes = client.as_deref().is_some_and(substitutes_unroutable);
    // Segments that show nothing (a connect line and the end of the log) are dropped
    // when others remain.
    let keep: Vec<usize> = (0..r.segs.len())
        .filter(|&i| r.segs[i].used() || r.segs.len() == 1)
        .collect();
    let t0 = r.segs.iter().filter_map(|s| s.first_at).min();
    let rel = |at: Option<u64>| match (t0, at) {
        (Some(t0), Some(a)) => elapsed(t0, a),
        _ => 0,
    };
    let mut servers: Vec<ServerSession> = Vec::new();
    let mut seg_to_server: Vec<Option<usize>> = vec![None; r.segs.len()];
    let mut totals = Totals::default();
    for &i in &keep {
        let seg = &r.segs[i];
        let server = seg.server.unwrap_or(UNKNOWN_ADDR);
        totals.unknown_peer |= seg.server.is_none();
        let frame = Frame {
            server,
            substitutes,
            rel: &rel,
        };
        let low = lower(seg, &frame);
        totals.unknown_outcomes += low.unknown_outcomes;
        totals.timeouts.extend(&low.timeouts);
        totals.host = totals.host.take().or(seg.host.clone());
        let session = low.session;
        if totals.first_user.is_none() {
            totals.first_user = session.login.as_ref().map(|l| l.user.clone());
        }
        let count =
            u32::try_from(session.samples.len() + session.transfers.len()).unwrap_or(u32::MAX);
        totals.passive_counts = totals.passive_counts.max(count);
        let index = match servers.iter().position(|s| s.server == server) {
            Some(j) => {
                merge(&mut servers[j], session);
                j
            }
            None => {
                servers.push(session);
                servers.len() - 1
            }
        };
        seg_to_server[i] = Some(index);
    }
    for s in &mut servers {
        s.total_us = s
            .lines
            .last()
            .map_or(0, |l| l.at_us.saturating_sub(s.connect.at_us));
    }
    let messages: Vec<ClientMessage> = r
        .messages
        .iter()
        .filter_map(|(seg, no, text)| {
            // A message before any session belongs to the first.
            let server = seg_to_server
                .get(*seg)
                .copied()
                .flatten()
                .or((!servers.is_empty()).then_some(0))?;
            Some(ClientMessage {
                server,
                line: *no,
                text: text.clone(),
            })
        })
        .collect();
    let timeout_s = totals
        .timeouts
        .iter()
        .copied()
        .reduce(f64::max)
        .or(r.timeout_setting)
        .or(client.as_deref().and_then(default_timeout_s));
    let unknown = unknowns(&totals, timeout_s.is_none(), &ctx.skipped);
    let mut transcript = Transcript::new(
        target(ctx.input, &servers, &totals),
        Settings {
            scan_range: None,
            samples: totals.passive_counts,
            timeout_us: timeout_s.map_or(0, |t| (t * 1e6) as u64),
            deadline_us: 0,
            family: Family::Any,
            probe_advertised: false,
            expect_range: None,
            expect_address: None,
            tls: TlsRequest::Off,
            prot_clear: false,
            cert_warn_days: 21,
            checked_at_unix: 0,
        },
    );
    transcript.total_us = servers
        .iter()
        .flat_map(|s| s.lines.last())
        .map(|l| l.at_us)
        .max()
        .unwrap_or(0);
    transcript.servers = servers;
    transcript.client_log = Some(ClientLog {
        format: ctx.format.name().to_string(),
        client,
        version,
        messages,
        unknown,
    });
    Built {
        transcript,
        replies: r.replies,
        commands: r.commands,
        signals: r.signals,
        foreign_banners: r.foreign_banners,
        quoted: r.quoted,
        events: r.events,
    }
}

fn target(input: &str, servers: &[ServerSession], totals: &Totals) -> TargetInfo {
    let first = servers.first().map(|s| s.server);
    let known = first.filter(|s| !crate::transcript::is_unknown(*s));
    TargetInfo {
        input: input.to_string(),
        host: totals.host.clone().unwrap_or_else(|| {
            known.map_or_else(|| "not in the log".to_string(), |s| s.ip().to_string())
        }),
        port: known.map_or(21, |s: SocketAddr| s.port()),
        user: totals
            .first_user
            .clone()
            .unwrap_or_else(|| "not in the log".to_string()),
        path: None,
    }
}

/// What the log does not show, in words.
fn unknowns(totals: &Totals, no_timeout: bool, skipped: &[String]) -> Vec<String> {
    let mut unknown = vec![
        "DNS answers: a client log shows no look-up results".to_string(),
        "test connections to other passive ports: a log shows only the client's own data \
         connections"
            .to_string(),
    ];
    if totals.unknown_peer {
        unknown.push(
            "the server's address: the log does not show it, so the advertised address is \
             compared with nothing"
                .to_string(),
        );
    }
    if totals.unknown_outcomes > 0 {
        unknown.push(format!(
            "the outcome of {} data connection(s): the log does not show it",
            totals.unknown_outcomes
        ));
    }
    if no_timeout {
        unknown.push("the client's timeout: the log does not say how long it waited".to_string());
    }
    unknown.extend(skipped.iter().cloned());
    unknown
}

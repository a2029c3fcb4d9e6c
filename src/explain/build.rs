//! From classified log items to the [`Transcript`] the live check builds: one session per
//! control connection (several in one paste; reconnects to the same address merged, as the
//! live check keeps one session per address), replies assembled by the protocol core's
//! `ReplyReader`, passive replies decoded by `proto::decode`, and every PASV/EPSV that the
//! client went on to use turned into a transfer with the data connection the client's own
//! messages describe. What the log does not show is left out or marked unknown, never
//! invented: no test connections, no DNS answers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::json;

use super::formats::{Item, Kind};
use super::messages::{Signal, identity, interpret};
use crate::proto::is_anonymous;
use crate::proto::{self, AddressClass, Limits, PassiveKind, Reply, ReplyReader};
use crate::transcript::{
    Attempt, ClientLog, ClientMessage, ConnectOutcome, Direction, Exchange, Line, Login,
    LoginOutcome, PassiveSample, Phase, PortProbe, ReplyRecord, ServerSession, SessionEnd,
    Transcript, Transfer, Via,
};

/// At most this many client messages are kept for the report.
const MAX_MESSAGES: usize = 200;

/// What the builder needs besides the items.
#[derive(Debug)]
pub struct Context<'a> {
    /// The FILE argument, for the report's target line.
    pub input: &'a str,
    /// The format's name (`filezilla`, ...).
    pub format: &'static str,
}

/// The transcript and how much FTP the log contained.
#[derive(Debug)]
pub struct Built {
    pub transcript: Transcript,
    /// Complete replies with a code 100-599.
    pub replies: usize,
    /// Commands sent.
    pub commands: usize,
}

/// One command, the replies it got, and where it stood in the log.
#[derive(Debug, Clone)]
struct Ex {
    command: String,
    at: Option<u64>,
    replies: Vec<(Reply, Option<u64>)>,
}

impl Ex {
    fn verb(&self) -> String {
        self.command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    }

    fn arg(&self) -> &str {
        self.command.split_once(' ').map_or("", |(_, a)| a.trim())
    }

    fn last(&self) -> Option<&Reply> {
        self.replies.last().map(|(r, _)| r)
    }
}

#[derive(Debug, Clone)]
enum Step {
    Ex(Ex),
    Sig(Signal),
    Bytes(u64),
}

/// One control connection as the log shows it.
struct Seg {
    host: Option<String>,
    server: Option<SocketAddr>,
    lines: Vec<(Option<u64>, Direction, String)>,
    reader: ReplyReader,
    greeting: Vec<(Reply, Option<u64>)>,
    steps: Vec<Step>,
    first_at: Option<u64>,
}

impl Seg {
    fn new(host: Option<String>, server: Option<SocketAddr>) -> Seg {
        Seg {
            host,
            server,
            lines: Vec::new(),
            reader: ReplyReader::new(Limits::default()),
            greeting: Vec::new(),
            steps: Vec::new(),
            first_at: None,
        }
    }

    fn used(&self) -> bool {
        !self.lines.is_empty() || !self.steps.is_empty()
    }

    fn last_ex(&mut self) -> Option<&mut Ex> {
        self.steps.iter_mut().rev().find_map(|s| match s {
            Step::Ex(e) => Some(e),
            _ => None,
        })
    }

    /// The port the client is about to connect to for data: the last passive command got a
    /// passive reply naming it, and no later command changed the mode.
    fn awaiting_port(&self) -> Option<u16> {
        for step in self.steps.iter().rev() {
            let Step::Ex(e) = step else { continue };
            match e.verb().as_str() {
                v @ ("PASV" | "EPSV" | "LPSV") => {
                    let reply = e.last()?;
                    PassiveKind::from_code(reply.code)?;
                    return proto::decode(reply, passive_kind(v)).ok().map(|p| p.port);
                }
                "PORT" | "EPRT" | "LPRT" | "QUIT" => return None,
                _ => {}
            }
        }
        None
    }

    fn awaiting_data(&self) -> bool {
        self.awaiting_port().is_some()
    }
}

/// Reads the items into control-connection segments.
struct Reader {
    segs: Vec<Seg>,
    client: Option<(&'static str, Option<String>)>,
    timeout_setting: Option<f64>,
    resolving: Option<String>,
    /// (segment, line, text) of the client messages worth showing.
    messages: Vec<(usize, u64, String)>,
    replies: usize,
    commands: usize,
}

impl Reader {
    fn cur(&mut self) -> &mut Seg {
        if self.segs.is_empty() {
            self.segs.push(Seg::new(self.resolving.take(), None));
        }
        self.segs.last_mut().expect("a segment")
    }

    fn new_seg(&mut self, host: Option<String>, addr: Option<SocketAddr>) {
        let host = host
            .filter(|h| h.parse::<IpAddr>().is_err())
            .or(self.resolving.take());
        match self.segs.last_mut() {
            Some(s) if !s.used() => {
                s.server = addr.or(s.server);
                s.host = host.or(s.host.take());
            }
            _ => self.segs.push(Seg::new(host, addr)),
        }
    }

    fn sent(&mut self, at: Option<u64>, text: &str) {
        self.commands += 1;
        let seg = self.cur();
        seg.first_at = seg.first_at.or(at);
        seg.lines.push((at, Direction::Sent, text.to_string()));
        seg.steps.push(Step::Ex(Ex {
            command: text.to_string(),
            at,
            replies: Vec::new(),
        }));
    }

    fn received(&mut self, at: Option<u64>, text: &str) {
        let seg = self.cur();
        seg.first_at = seg.first_at.or(at);
        seg.lines.push((at, Direction::Received, text.to_string()));
        seg.reader.feed(text.as_bytes());
        seg.reader.feed(b"\r\n");
        let mut done = Vec::new();
        loop {
            match seg.reader.next_reply() {
                Ok(Some(r)) => done.push(r),
                Ok(None) => break,
                // A line that is not a reply (a client's wrapped message): skipped.
                Err(_) => continue,
            }
        }
        for r in done {
            if (100..=599).contains(&r.code) {
                self.replies += 1;
            }
            let seg = self.cur();
            match seg.last_ex() {
                Some(ex) => ex.replies.push((r, at)),
                None => seg.greeting.push((r, at)),
            }
        }
    }

    fn keep_message(&mut self, no: u64, text: &str) {
        if self.messages.len() < MAX_MESSAGES {
            let seg = self.segs.len().saturating_sub(1);
            self.messages.push((seg, no, text.to_string()));
        }
    }

    fn message(&mut self, no: u64, at: Option<u64>, error: bool, text: &str) {
        if let Some(s) = self.segs.last_mut() {
            s.first_at = s.first_at.or(at);
        }
        let signal = interpret(text);
        let keep = error
            || matches!(
                signal,
                Some(
                    Signal::Substituted { .. }
                        | Signal::Timeout(_)
                        | Signal::Refused
                        | Signal::Closed
                        | Signal::EpsvDisabled
                        | Signal::TransferFailed
                )
            );
        // A translated "Connecting to 198.51.100.20:21..." before the session starts: the
        // first IP:port in the message is the server.
        let signal = signal.or_else(|| {
            let fresh = self.segs.last().is_none_or(|s| s.lines.is_empty());
            let addr = text.split_whitespace().find_map(|w| {
                w.trim_end_matches(['.', '…', ','])
                    .parse::<SocketAddr>()
                    .ok()
            });
            (fresh && addr.is_some()).then_some(Signal::Connecting { host: None, addr })
        });
        let Some(signal) = signal else {
            if keep {
                self.keep_message(no, text);
            }
            return;
        };
        match signal {
            Signal::Client { name, version } => self.identify(name, version),
            Signal::TimeoutSetting(s) => self.timeout_setting = Some(s),
            Signal::Resolving(host) => {
                if self.segs.last().is_some_and(Seg::used) {
                    self.segs.push(Seg::new(None, None));
                }
                self.resolving = Some(host);
                if let Some(s) = self.segs.last_mut() {
                    s.host = self.resolving.take();
                }
            }
            Signal::Connecting { host, addr } => {
                // A data connection goes to the advertised port (clients substitute the
                // address, never the port); anything else is a new control connection.
                let data = self
                    .segs
                    .last()
                    .is_some_and(|s| match (s.awaiting_port(), addr) {
                        (Some(port), Some(a)) => a.port() == port,
                        (Some(_), None) => true,
                        (None, _) => false,
                    });
                if data {
                    self.cur()
                        .steps
                        .push(Step::Sig(Signal::DataConnecting(addr)));
                } else {
                    self.new_seg(host, addr);
                }
            }
            Signal::Connected { host, addr } => {
                let awaiting = self.segs.last().is_some_and(Seg::awaiting_data);
                if awaiting {
                    self.cur().steps.push(Step::Sig(Signal::DataConnected));
                } else if self
                    .segs
                    .last()
                    .is_some_and(|s| s.server.is_none() || s.server == addr)
                {
                    let seg = self.cur();
                    seg.server = seg.server.or(addr);
                    seg.host = seg
                        .host
                        .take()
                        .or(host.filter(|h| h.parse::<IpAddr>().is_err()));
                } else {
                    self.new_seg(host, addr);
                }
            }
            other => {
                if keep {
                    self.keep_message(no, text);
                }
                self.cur().steps.push(Step::Sig(other));
                return;
            }
        }
        if keep {
            self.keep_message(no, text);
        }
    }

    fn identify(&mut self, name: &'static str, version: Option<String>) {
        match &self.client {
            Some((_, Some(_))) => {}
            Some((n, None)) if *n == name && version.is_none() => {}
            _ => self.client = Some((name, version)),
        }
    }
}

fn record(r: &Reply, since: Option<u64>, at: Option<u64>) -> ReplyRecord {
    ReplyRecord {
        code: r.code,
        text: r.to_lossy_string(),
        anomalies: r.anomalies.iter().map(ToString::to_string).collect(),
        elapsed_us: match (since, at) {
            (Some(s), Some(a)) => elapsed(s, a),
            _ => 0,
        },
    }
}

/// Microseconds from one time of day to a later one (across midnight once).
fn elapsed(from: u64, to: u64) -> u64 {
    const DAY: u64 = 24 * 3600 * 1_000_000;
    if to >= from {
        to - from
    } else {
        to + DAY - from
    }
}

fn exchange(ex: &Ex) -> Exchange {
    let reply = ex.replies.first().map(|(r, at)| record(r, ex.at, *at));
    Exchange {
        command: ex.command.clone(),
        failure: reply.is_none().then(|| "no reply in the log".to_string()),
        reply,
    }
}

/// The exchange with its final reply (after any 1xx), as the live engine records it.
fn final_exchange(ex: &Ex) -> Exchange {
    let last = ex
        .replies
        .iter()
        .rev()
        .find(|(r, _)| r.code >= 200)
        .or(ex.replies.last());
    Exchange {
        command: ex.command.clone(),
        failure: last.is_none().then(|| "no reply in the log".to_string()),
        reply: last.map(|(r, at)| record(r, ex.at, *at)),
    }
}

fn passive_kind(verb: &str) -> Option<PassiveKind> {
    match verb {
        "PASV" => Some(PassiveKind::Pasv),
        "EPSV" => Some(PassiveKind::Epsv),
        "LPSV" => Some(PassiveKind::Lpsv),
        _ => None,
    }
}

fn sample(ex: &Ex, kind: PassiveKind) -> PassiveSample {
    PassiveSample::decoded(kind, final_exchange(ex), ex.last())
}

/// A PASV/EPSV waiting to see whether the client used it.
struct Pending {
    sample: PassiveSample,
    at: Option<u64>,
    cmd: Option<Ex>,
    addr: Option<SocketAddr>,
    substituted: bool,
    used: Option<IpAddr>,
    outcome: Option<ConnectOutcome>,
    data_error: Option<String>,
    bytes: u64,
}

impl Pending {
    fn preliminary(&self) -> bool {
        self.cmd
            .as_ref()
            .is_some_and(|c| c.replies.iter().any(|(r, _)| r.class() == 1))
    }

    fn finished_ok(&self) -> bool {
        self.cmd
            .as_ref()
            .and_then(Ex::last)
            .is_some_and(|r| r.class() == 2)
    }
}

/// A segment turned into the parts of a `ServerSession`.
struct Lowered {
    host: Option<String>,
    connect: ConnectOutcome,
    at: Option<u64>,
    lines: Vec<(Option<u64>, Direction, String)>,
    greeting: Vec<ReplyRecord>,
    feat: Option<Exchange>,
    syst: Option<Exchange>,
    login: Option<Login>,
    type_i: Option<Exchange>,
    pwd: Option<Exchange>,
    samples: Vec<PassiveSample>,
    transfers: Vec<(Transfer, Option<u64>)>,
    end: SessionEnd,
    /// Data connections whose outcome the log does not show.
    unknown_outcomes: usize,
    /// The client's timeouts, in seconds, as its messages gave them.
    timeouts: Vec<f64>,
}

const TRANSFER_VERBS: [&str; 7] = ["LIST", "NLST", "MLSD", "RETR", "STOR", "STOU", "APPE"];

/// The peer to use when the log does not show the server's address: the address the first
/// PASV reply named when it is global (a correctly configured server names itself; a wrong
/// one cannot be told from a log without the address), else the unspecified address.
fn fallback_peer(seg: &Seg) -> SocketAddr {
    let advertised = seg.steps.iter().find_map(|s| match s {
        Step::Ex(e) if e.verb() == "PASV" => e
            .last()
            .and_then(|r| proto::decode(r, Some(PassiveKind::Pasv)).ok())
            .and_then(|p| p.address),
        _ => None,
    });
    let ip = advertised
        .filter(|ip| {
            matches!(
                AddressClass::of(*ip),
                AddressClass::Global | AddressClass::Documentation | AddressClass::Benchmarking
            )
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    SocketAddr::new(ip, 21)
}

fn lower(seg: &Seg, server: SocketAddr, filezilla_rule: bool) -> Result<Lowered, String> {
    let peer = server.ip();
    let mut out = Lowered {
        host: seg.host.clone(),
        connect: ConnectOutcome::Connected,
        at: seg.first_at,
        lines: seg.lines.clone(),
        greeting: seg
            .greeting
            .iter()
            .map(|(r, at)| record(r, seg.first_at, *at))
            .collect(),
        feat: None,
        syst: None,
        login: None,
        type_i: None,
        pwd: None,
        samples: Vec::new(),
        transfers: Vec::new(),
        end: SessionEnd::Completed,
        unknown_outcomes: 0,
        timeouts: Vec::new(),
    };
    let mut tls = false;
    let mut pending: Option<Pending> = None;
    let mut control_failure: Option<(ConnectOutcome, usize)> = None;
    let mut closed_at: Option<usize> = None;
    let mut quit = false;
    let mut exchanges = 0usize;
    let flush = |p: Option<Pending>, out: &mut Lowered| -> Result<(), String> {
        match p {
            Some(p) => flush_pending(p, peer, filezilla_rule, out),
            None => Ok(()),
        }
    };
    for (i, step) in seg.steps.iter().enumerate() {
        match step {
            Step::Ex(ex) => {
                exchanges += 1;
                let verb = ex.verb();
                let code = ex.last().map(|r| r.code);
                match verb.as_str() {
                    "AUTH" if code == Some(234) => tls = true,
                    "FEAT" if out.feat.is_none() => out.feat = Some(final_exchange(ex)),
                    "SYST" if out.syst.is_none() => out.syst = Some(final_exchange(ex)),
                    "TYPE" if out.type_i.is_none() => out.type_i = Some(final_exchange(ex)),
                    "PWD" | "XPWD" if out.pwd.is_none() => out.pwd = Some(final_exchange(ex)),
                    "USER" => {
                        let user = ex.arg().to_string();
                        out.login = Some(Login {
                            anonymous: is_anonymous(&user),
                            user,
                            password_sent: false,
                            tls,
                            outcome: match code {
                                Some(230) => LoginOutcome::LoggedIn,
                                Some(332) => LoginOutcome::AccountRequired,
                                Some(331) | None => LoginOutcome::NoReply,
                                Some(_) => LoginOutcome::Rejected,
                            },
                            elapsed_us: 0,
                        });
                    }
                    "PASS" => {
                        if let Some(l) = out.login.as_mut() {
                            l.password_sent = true;
                            l.tls = tls;
                            l.outcome = match code {
                                Some(230 | 202) => LoginOutcome::LoggedIn,
                                Some(332) => LoginOutcome::AccountRequired,
                                None => LoginOutcome::NoReply,
                                Some(_) => LoginOutcome::Rejected,
                            };
                        }
                    }
                    "QUIT" => quit = true,
                    "PORT" | "EPRT" | "LPRT" => flush(pending.take(), &mut out)?,
                    v if passive_kind(v).is_some() => {
                        flush(pending.take(), &mut out)?;
                        if !ex.arg().eq_ignore_ascii_case("ALL")
                            && let Some(kind) = passive_kind(v)
                        {
                            pending = Some(Pending {
                                sample: sample(ex, kind),
                                at: ex.at,
                                cmd: None,
                                addr: None,
                                substituted: false,
                                used: None,
                                outcome: None,
                                data_error: None,
                                bytes: 0,
                            });
                        }
                    }
                    v if TRANSFER_VERBS.contains(&v) => match pending.as_mut() {
                        Some(p) if p.cmd.is_none() => p.cmd = Some(ex.clone()),
                        Some(_) => flush(pending.take(), &mut out)?,
                        None => {}
                    },
                    _ => {}
                }
            }
            Step::Bytes(n) => {
                if let Some(p) = pending.as_mut() {
                    p.bytes += n;
                }
            }
            Step::Sig(sig) => match sig {
                Signal::DataConnecting(addr) => {
                    if let Some(p) = pending.as_mut() {
                        p.addr = p.addr.or(*addr);
                    }
                }
                Signal::DataConnected => {
                    if let Some(p) = pending.as_mut() {
                        p.outcome.get_or_insert(ConnectOutcome::Connected);
                    }
                }
                Signal::Substituted { used, .. } => {
                    if let Some(p) = pending.as_mut() {
                        p.substituted = true;
                        p.used = p.used.or(*used);
                    }
                }
                Signal::Timeout(secs) => {
                    out.timeouts.extend(secs);
                    match pending.as_mut() {
                        Some(p) if !p.finished_ok() && p.sample.advertised.is_some() => {
                            if p.preliminary() || p.outcome == Some(ConnectOutcome::Connected) {
                                p.data_error.get_or_insert_with(|| "timed out".to_string());
                            } else {
                                p.outcome.get_or_insert(ConnectOutcome::TimedOut);
                            }
                        }
                        _ => control_failure = Some((ConnectOutcome::TimedOut, i)),
                    }
                }
                Signal::Refused => match pending.as_mut() {
                    Some(p) if !p.finished_ok() && p.sample.advertised.is_some() => {
                        p.outcome.get_or_insert(ConnectOutcome::Refused);
                    }
                    _ => control_failure = Some((ConnectOutcome::Refused, i)),
                },
                Signal::Closed if !quit => closed_at = Some(i),
                Signal::Tls => tls = true,
                _ => {}
            },
        }
    }
    let data_phase = pending.is_some();
    flush(pending.take(), &mut out)?;
    let logged_in = out
        .login
        .as_ref()
        .is_some_and(|l| l.outcome == LoginOutcome::LoggedIn);
    let phase = if out.greeting.is_empty() {
        Phase::Greeting
    } else if !logged_in {
        Phase::Login
    } else if data_phase {
        Phase::Data
    } else {
        Phase::Pasv
    };
    let steps_after = |i: usize| {
        seg.steps[i + 1..]
            .iter()
            .any(|s| matches!(s, Step::Ex(e) if e.verb() != "QUIT"))
    };
    out.end = if out.greeting.is_empty() && exchanges == 0 {
        match control_failure {
            Some((outcome, _)) => {
                out.connect = outcome;
                SessionEnd::ConnectFailed
            }
            None if closed_at.is_some() => SessionEnd::Closed(Phase::Greeting),
            None => SessionEnd::Completed,
        }
    } else if out.greeting.iter().any(|g| g.code / 100 > 2)
        || out
            .greeting
            .iter()
            .rev()
            .find(|g| g.code / 100 != 1)
            .is_some_and(|g| g.code != 220)
    {
        SessionEnd::Unavailable
    } else if out.login.as_ref().is_some_and(|l| {
        matches!(
            l.outcome,
            LoginOutcome::Rejected | LoginOutcome::AccountRequired
        )
    }) {
        SessionEnd::LoginFailed
    } else if closed_at.is_some_and(|i| !steps_after(i)) {
        SessionEnd::Closed(phase)
    } else if control_failure.is_some_and(|(_, i)| !steps_after(i)) {
        SessionEnd::TimedOut(phase)
    } else {
        SessionEnd::Completed
    };
    Ok(out)
}

/// FileZilla's and WinSCP's "unroutable" addresses (rawtransfer.cpp): such a PASV address
/// is replaced by the server's own when that is routable. Not CGNAT.
fn filezilla_unroutable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            matches!(a, 0 | 10 | 127)
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 168)
                || (a == 169 && b == 254)
        }
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_loopback()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}

/// A pending passive reply becomes a sample (the client did not use it) or a transfer.
fn flush_pending(
    mut p: Pending,
    peer: IpAddr,
    filezilla_rule: bool,
    out: &mut Lowered,
) -> Result<(), String> {
    // FileZilla and WinSCP always substitute an unroutable address when the server's own
    // is routable (their message may be translated and so not recognised).
    if filezilla_rule
        && !p.substituted
        && p.addr.is_none()
        && p.sample
            .advertised
            .as_ref()
            .and_then(|a| a.address)
            .is_some_and(|a| {
                filezilla_unroutable(a) && !filezilla_unroutable(peer) && !peer.is_unspecified()
            })
    {
        p.substituted = true;
    }
    let Some(adv) = p.sample.advertised.clone() else {
        out.samples.push(p.sample);
        return Ok(());
    };
    let evidence = p.cmd.is_some() || p.addr.is_some() || p.outcome.is_some() || p.substituted;
    if !evidence {
        out.samples.push(p.sample);
        return Ok(());
    }
    let epsv = p.sample.command == PassiveKind::Epsv || adv.address.is_none();
    let addr = match p.addr {
        Some(a) => a,
        None if epsv || p.substituted => SocketAddr::new(p.used.unwrap_or(peer), adv.port),
        None => SocketAddr::new(adv.address.unwrap_or(peer), adv.port),
    };
    let via = if !epsv && adv.address == Some(addr.ip()) {
        Via::Advertised
    } else {
        Via::ControlPeer
    };
    let first = p
        .cmd
        .as_ref()
        .and_then(|c| c.replies.first())
        .map(|(r, _)| r);
    let last = p.cmd.as_ref().and_then(Ex::last);
    let outcome = p.outcome.clone().or_else(|| {
        let answered =
            first.is_some_and(|r| r.class() == 1) || last.is_some_and(|r| r.class() == 2);
        let bad_ip = last.is_some_and(|r| {
            r.code == 425 && r.to_lossy_string().to_ascii_lowercase().contains("bad ip")
        });
        (answered || bad_ip).then_some(ConnectOutcome::Connected)
    });
    let outcome = match outcome {
        Some(o) => o,
        None => {
            out.unknown_outcomes += 1;
            ConnectOutcome::Error(match last {
                Some(r) => format!(
                    "not shown in the log (the server answered: {})",
                    r.to_lossy_string()
                ),
                None => "not shown in the log".to_string(),
            })
        }
    };
    let command = p.cmd.as_ref().map(exchange);
    let preliminary = first.is_some_and(|r| r.class() == 1);
    let completion = p.cmd.as_ref().and_then(|c| {
        c.replies
            .iter()
            .rev()
            .find(|(r, _)| r.code >= 200)
            .map(|(r, at)| record(r, c.at, *at))
    });
    let completion_failure = (preliminary && completion.is_none())
        .then(|| "the log ends before the transfer's last reply".to_string());
    let data = PortProbe {
        via,
        attempt: Attempt {
            addr,
            outcome,
            at_us: 0,
            elapsed_us: 0,
        },
    };
    let value = json!({
        "passive": serde_json::to_value(&p.sample).map_err(|e| e.to_string())?,
        "data": serde_json::to_value(&data).map_err(|e| e.to_string())?,
        "command": serde_json::to_value(&command).map_err(|e| e.to_string())?,
        "completion": serde_json::to_value(&completion).map_err(|e| e.to_string())?,
        "completion_failure": completion_failure,
        "bytes": p.bytes,
        "first_byte_us": null,
        "data_end_us": null,
        "truncated": false,
        "data_error": p.data_error,
    });
    let transfer: Transfer = serde_json::from_value(value).map_err(|e| e.to_string())?;
    out.transfers.push((transfer, p.at));
    Ok(())
}

fn blank_session(server: SocketAddr) -> Result<ServerSession, String> {
    serde_json::from_value(json!({
        "server": server,
        "source": "log",
        "connect": serde_json::to_value(Attempt {
            addr: server,
            outcome: ConnectOutcome::Connected,
            at_us: 0,
            elapsed_us: 0,
        })
        .map_err(|e| e.to_string())?,
        "local": null,
        "lines": [],
        "greeting": [],
        "feat": null,
        "syst": null,
        "login": null,
        "type_i": null,
        "pwd": null,
        "samples": [],
        "transfers": [],
        "end": serde_json::to_value(SessionEnd::Completed).map_err(|e| e.to_string())?,
        "total_us": 0,
    }))
    .map_err(|e| format!("internal error building a session: {e}"))
}

/// Builds the transcript from the (redacted) items.
pub fn build(items: &[Item], ctx: &Context<'_>) -> Result<Built, String> {
    let mut r = Reader {
        segs: Vec::new(),
        client: None,
        timeout_setting: None,
        resolving: None,
        messages: Vec::new(),
        replies: 0,
        commands: 0,
    };
    for item in items {
        match &item.kind {
            Kind::Sent(t) => r.sent(item.at_us, t),
            Kind::Received(t) => r.received(item.at_us, t),
            Kind::Message { error, text } => r.message(item.no, item.at_us, *error, text),
            Kind::Other(t) => {
                if let Some(Signal::Client { name, version }) = identity(t) {
                    r.identify(name, version);
                }
            }
            Kind::DataBytes(n) => r.cur().steps.push(Step::Bytes(*n)),
        }
    }
    // Finish replies cut off at the end of the log.
    for seg in &mut r.segs {
        if let Ok(Some(reply)) = seg.reader.finish() {
            match seg.last_ex() {
                Some(ex) => ex.replies.push((reply, None)),
                None => seg.greeting.push((reply, None)),
            }
        }
    }
    // Segments that show nothing (a connect line and the end of the log) are dropped
    // when others remain.
    let keep: Vec<usize> = (0..r.segs.len())
        .filter(|&i| {
            let s = &r.segs[i];
            s.used() || r.segs.len() == 1
        })
        .collect();
    let t0 = r.segs.iter().filter_map(|s| s.first_at).min();
    let rel = |at: Option<u64>| match (t0, at) {
        (Some(t0), Some(a)) => elapsed(t0, a),
        _ => 0,
    };
    let mut servers: Vec<ServerSession> = Vec::new();
    let mut seg_to_server: Vec<Option<usize>> = vec![None; r.segs.len()];
    let mut unknown_outcomes = 0;
    let mut unknown_peer = false;
    let mut timeouts: Vec<f64> = Vec::new();
    let mut host: Option<String> = None;
    let mut first_user: Option<String> = None;
    let mut passive_counts: u32 = 0;
    for &i in &keep {
        let seg = &r.segs[i];
        let server = match seg.server {
            Some(s) => s,
            None => {
                unknown_peer = true;
                fallback_peer(seg)
            }
        };
        let filezilla_rule = matches!(ctx.format, "filezilla" | "winscp");
        let low = lower(seg, server, filezilla_rule)?;
        unknown_outcomes += low.unknown_outcomes;
        timeouts.extend(&low.timeouts);
        host = host.or(low.host.clone());
        if first_user.is_none() {
            first_user = low.login.as_ref().map(|l| l.user.clone());
        }
        passive_counts = passive_counts.max(
            (low.samples.len() + low.transfers.len())
                .try_into()
                .unwrap_or(u32::MAX),
        );
        let index = match servers.iter().position(|s| s.server == server) {
            Some(j) => j,
            None => {
                let mut s = blank_session(server)?;
                s.connect.at_us = rel(low.at);
                servers.push(s);
                servers.len() - 1
            }
        };
        seg_to_server[i] = Some(index);
        let s = &mut servers[index];
        s.connect.outcome = if s.lines.is_empty() {
            low.connect.clone()
        } else {
            s.connect.outcome.clone()
        };
        s.lines.extend(low.lines.iter().map(|(at, dir, text)| Line {
            at_us: rel(*at),
            dir: *dir,
            text: text.clone(),
            raw_hex: None,
        }));
        if s.greeting.is_empty() {
            s.greeting = low.greeting;
        }
        s.feat = s.feat.take().or(low.feat);
        s.syst = s.syst.take().or(low.syst);
        s.type_i = s.type_i.take().or(low.type_i);
        s.pwd = s.pwd.take().or(low.pwd);
        if low.login.is_some() {
            s.login = low.login;
        }
        s.samples.extend(low.samples);
        for (mut tr, at) in low.transfers {
            if let Some(d) = tr.data.as_mut() {
                d.attempt.at_us = rel(at);
            }
            s.transfers.push(tr);
        }
        s.end = low.end;
        s.total_us = s
            .lines
            .last()
            .map_or(0, |l| l.at_us.saturating_sub(s.connect.at_us));
    }
    let messages: Vec<ClientMessage> = r
        .messages
        .iter()
        .filter_map(|(seg, no, text)| {
            let server = seg_to_server.get(*seg).copied().flatten().or(
                // A message before any session belongs to the first.
                (!servers.is_empty()).then_some(0),
            )?;
            Some(ClientMessage {
                server,
                line: *no,
                text: text.clone(),
            })
        })
        .collect();
    let (client, version) = match &r.client {
        Some((n, v)) => (Some(n.to_string()), v.clone()),
        None => match ctx.format {
            "curl" => (Some("curl".to_string()), None),
            "lftp" => (Some("lftp".to_string()), None),
            "winscp" => (Some("WinSCP".to_string()), None),
            "filezilla" => (Some("FileZilla".to_string()), None),
            _ => (None, None),
        },
    };
    let default_timeout = match client.as_deref() {
        Some("FileZilla") => Some(20.0),
        Some("WinSCP") => Some(15.0),
        _ => None,
    };
    let timeout_s = timeouts
        .iter()
        .copied()
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))
        .or(r.timeout_setting)
        .or(default_timeout)
        .unwrap_or(0.0);
    let mut unknown = vec![
        "DNS answers: a client log shows no look-up results".to_string(),
        "test connections to other passive ports: a log shows only the client's own data \
         connections"
            .to_string(),
    ];
    if unknown_peer {
        unknown.push(
            "the server's address: the log does not show it, so address checks compare with \
             the address the first PASV reply named (when public) or 0.0.0.0"
                .to_string(),
        );
    }
    if unknown_outcomes > 0 {
        unknown.push(format!(
            "the outcome of {unknown_outcomes} data connection(s): the log does not show it"
        ));
    }
    let port = servers.first().map_or(21, |s| s.server.port());
    let host = host.unwrap_or_else(|| {
        servers
            .first()
            .map_or_else(|| "unknown".to_string(), |s| s.server.ip().to_string())
    });
    let total_us = servers
        .iter()
        .flat_map(|s| s.lines.last())
        .map(|l| l.at_us)
        .max()
        .unwrap_or(0);
    let value = json!({
        "target": {
            "input": ctx.input,
            "host": host,
            "port": port,
            "user": first_user.unwrap_or_else(|| "unknown".to_string()),
            "path": null,
        },
        "settings": {
            "samples": passive_counts,
            "timeout_us": (timeout_s * 1e6) as u64,
            "deadline_us": 0,
            "family": "any",
            "probe_advertised": false,
            "expect_range": null,
            "expect_address": null,
        },
        "dns": null,
        "servers": [],
        "deadline_hit": false,
        "total_us": total_us,
    });
    let mut transcript: Transcript = serde_json::from_value(value)
        .map_err(|e| format!("internal error building the transcript: {e}"))?;
    transcript.servers = servers;
    transcript.client_log = Some(ClientLog {
        format: ctx.format.to_string(),
        client,
        version,
        messages,
        unknown,
    });
    Ok(Built {
        transcript,
        replies: r.replies,
        commands: r.commands,
    })
}

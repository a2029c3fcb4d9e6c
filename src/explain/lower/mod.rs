//! One control-connection segment lowered into the parts of a [`ServerSession`]: the
//! greeting, login, FEAT/SYST/TYPE/PWD, TLS, passive samples, transfers (passive and
//! active), and how the session ended. A segment that starts mid-session (a fragment) has
//! no greeting to judge: its end is judged from what it shows.

mod signal;

use signal::signal_step;
use std::net::{IpAddr, SocketAddr};

use super::messages::Signal;
use super::reader::{Ex, Seg, Step, TRANSFER_VERBS, passive_kind};
use super::transfer::{
    FROM_MESSAGE, Flushed, Pending, elapsed, exchange, final_exchange, flush, no_such_file, record,
    sample,
};
use crate::proto::PassiveKind;
use crate::transcript::{
    ActiveTransfer, Advertised, Attempt, ConnectOutcome, ControlTls, Exchange, FAILED_UNSAID, Line,
    Login, LoginOutcome, PassiveSample, Phase, ServerSession, SessionEnd, TlsHandshake, TlsRequest,
    is_unknown,
};

/// The command of a data connection whose passive command the log does not show.
const NOT_IN_LOG: &str = "PASV/EPSV/PORT (not in the log)";

/// What lowering needs besides the segment.
pub struct Frame<'a> {
    /// The server's address ([`crate::transcript::UNKNOWN_ADDR`] when the log does not
    /// show it).
    pub server: SocketAddr,
    /// The client replaces unroutable PASV addresses with the server's (FileZilla, WinSCP).
    pub substitutes: bool,
    /// A log time of day to microseconds since the log's first line.
    pub rel: &'a dyn Fn(Option<u64>) -> u64,
}

impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("server", &self.server)
            .field("substitutes", &self.substitutes)
            .finish_non_exhaustive()
    }
}

impl Frame<'_> {
    fn peer(&self) -> Option<IpAddr> {
        (!is_unknown(self.server)).then(|| self.server.ip())
    }
}

/// A segment lowered into a session, and what the transcript's header needs of it.
#[derive(Debug)]
pub struct Lowered {
    pub session: ServerSession,
    /// Data connections whose outcome the log does not show.
    pub unknown_outcomes: usize,
    /// The client's timeouts, in seconds, as its messages gave them.
    pub timeouts: Vec<f64>,
}

/// Where the session stands while it is read.
#[derive(Debug, Default)]
struct State {
    tls: bool,
    tls_starting: bool,
    tls_failure: Option<String>,
    auth: Option<Exchange>,
    pending: Option<Pending>,
    active: Option<ActiveTransfer>,
    control_failure: Option<(ConnectOutcome, usize)>,
    closed_at: Option<usize>,
    quit: bool,
    exchanges: usize,
    /// The client said it logged in (its log shows no USER/PASS).
    logged_in: bool,
}

impl Lowered {
    fn new(seg: &Seg, f: &Frame<'_>) -> Lowered {
        let connect = Attempt {
            addr: f.server,
            outcome: ConnectOutcome::Connected,
            at_us: (f.rel)(seg.first_at),
            elapsed_us: 0,
        };
        let mut session = ServerSession::new(f.server, "log", connect);
        session.lines = seg
            .lines
            .iter()
            .map(|(at, dir, text)| Line {
                at_us: (f.rel)(*at),
                dir: *dir,
                text: text.clone(),
                raw_hex: None,
            })
            .collect();
        session.greeting = seg
            .greeting
            .iter()
            .map(|(r, at)| record(r, seg.first_at, *at))
            .collect();
        Lowered {
            session,
            unknown_outcomes: 0,
            timeouts: Vec::new(),
        }
    }

    fn take_pending(&mut self, st: &mut State, f: &Frame<'_>) {
        if let Some(p) = st.pending.take() {
            match flush(p, f.peer(), f.substitutes) {
                Flushed::Sample(s) => self.session.samples.push(*s),
                Flushed::Transfer {
                    mut transfer,
                    at,
                    unknown_outcome,
                } => {
                    self.unknown_outcomes += usize::from(unknown_outcome);
                    if let Some(d) = transfer.data.as_mut() {
                        d.attempt.at_us = (f.rel)(at);
                    }
                    self.session.transfers.push(*transfer);
                }
            }
        }
        if let Some(a) = st.active.take() {
            self.session.active.push(a);
        }
    }

    fn login_step(&mut self, ex: &Ex, verb: &str, code: Option<u16>, tls: bool) {
        if verb == "USER" {
            let user = ex.arg().to_string();
            let mut login = Login::new(&user, tls);
            login.outcome = match code {
                Some(230) => LoginOutcome::LoggedIn,
                Some(332) => LoginOutcome::AccountRequired,
                Some(331) | None => LoginOutcome::NoReply,
                Some(_) => LoginOutcome::Rejected,
            };
            self.session.login = Some(login);
            return;
        }
        // PASS: the log may not show the USER before it (a fragment, the ftp client).
        let login = self.session.login.get_or_insert_with(|| {
            // "unknown" is no anonymous name, so the login is not taken for anonymous.
            Login::new("unknown", tls)
        });
        login.password_sent = true;
        login.tls = tls;
        login.outcome = match code {
            Some(230 | 202) => LoginOutcome::LoggedIn,
            Some(332) => LoginOutcome::AccountRequired,
            None => LoginOutcome::NoReply,
            Some(_) => LoginOutcome::Rejected,
        };
    }
}

fn handshake_error(error: String) -> TlsHandshake {
    TlsHandshake {
        version: None,
        cipher: None,
        resumed: false,
        error: Some(error),
        elapsed_us: 0,
    }
}

/// Lowers a segment into a session.
pub fn lower(seg: &Seg, f: &Frame<'_>) -> Lowered {
    let mut out = Lowered::new(seg, f);
    let mut st = State::default();
    for (i, step) in seg.steps.iter().enumerate() {
        match step {
            Step::Ex(ex) => exchange_step(&mut out, &mut st, ex, i, f),
            Step::Replied(j) => {
                if let Some(p) = st
                    .pending
                    .as_mut()
                    .filter(|p| p.cmd.is_some() && p.cmd_step == *j)
                {
                    p.visible += 1;
                }
            }
            Step::Bytes(n) => {
                if let Some(p) = st.pending.as_mut() {
                    p.bytes += n;
                }
            }
            Step::Sig(sig) => signal_step(&mut out, &mut st, sig, i, f),
        }
    }
    // The log ends as the client connects its data connection.
    if matches!(seg.steps.last(), Some(Step::Sig(Signal::DataConnecting(_))))
        && let Some(p) = st
            .pending
            .as_mut()
            .filter(|p| p.outcome.is_none() && p.cmd.is_none())
    {
        p.ends_connecting = true;
    }
    // The data phase begins with the transfer command; a PASV alone is the passive phase.
    let data_phase = st.pending.as_ref().is_some_and(|p| p.cmd.is_some()) || st.active.is_some();
    out.take_pending(&mut st, f);
    if let Some(error) = st.tls_failure.take() {
        let mode = if st.auth.is_some() {
            TlsRequest::Explicit
        } else {
            TlsRequest::Implicit
        };
        let mut tls = ControlTls::new(mode, st.auth.take(), false);
        tls.handshake = Some(handshake_error(error));
        out.session.tls = Some(tls);
        out.session.end = SessionEnd::TlsFailed;
        return out;
    }
    out.session.end = match seg.foreign_banner {
        Some(_) => SessionEnd::ProtocolError(Phase::Greeting),
        None => end_of(seg, &out, &st, data_phase),
    };
    if matches!(out.session.end, SessionEnd::ConnectFailed)
        && let Some((outcome, _)) = &st.control_failure
    {
        out.session.connect.outcome = outcome.clone();
    }
    out
}

fn exchange_step(out: &mut Lowered, st: &mut State, ex: &Ex, i: usize, f: &Frame<'_>) {
    st.exchanges += 1;
    let verb = ex.verb();
    let code = ex.last().map(|r| r.code);
    match verb.as_str() {
        "AUTH" => {
            st.auth = Some(final_exchange(ex));
            if code == Some(234) {
                st.tls_starting = true;
            }
        }
        "FEAT" if out.session.feat.is_none() => out.session.feat = Some(final_exchange(ex)),
        "SYST" if out.session.syst.is_none() => out.session.syst = Some(final_exchange(ex)),
        "TYPE" if out.session.type_i.is_none() => out.session.type_i = Some(final_exchange(ex)),
        "PWD" | "XPWD" if out.session.pwd.is_none() => out.session.pwd = Some(final_exchange(ex)),
        "USER" | "PASS" => out.login_step(ex, &verb, code, st.tls || st.tls_starting),
        "QUIT" => st.quit = true,
        // ABOR after a PASV/EPSV the server answered, before any transfer command: the
        // client gave up waiting for its data connection (node-ftp connects before it
        // sends LIST, and aborts after its 10 s pasvTimeout).
        "ABOR" => {
            if let Some(p) = st
                .pending
                .as_mut()
                .filter(|p| p.cmd.is_none() && p.outcome.is_none() && p.sample.advertised.is_some())
            {
                let waited = p.at.zip(ex.at).map(|(a, b)| elapsed(a, b) as f64 / 1e6);
                p.outcome = Some(ConnectOutcome::TimedOut);
                p.data_error = Some(match waited {
                    Some(s) => format!(
                        "the client sent ABOR {s:.0} s after the reply, with no transfer command: \
                         its data connection had not opened"
                    ),
                    None => "the client sent ABOR with no transfer command: its data \
                             connection had not opened"
                        .to_string(),
                });
                out.timeouts.extend(waited);
            }
        }
        "PORT" | "EPRT" | "LPRT" => {
            out.take_pending(st, f);
            st.active = Some(ActiveTransfer::new(final_exchange(ex)));
        }
        v if passive_kind(v).is_some() => {
            out.take_pending(st, f);
            if !ex.arg().eq_ignore_ascii_case("ALL")
                && let Some(kind) = passive_kind(v)
            {
                st.pending = Some(Pending::new(sample(ex, kind), ex.at));
            }
        }
        v if TRANSFER_VERBS.contains(&v) => transfer_step(out, st, ex, i, f),
        _ => {}
    }
    // Any command after AUTH's 234 means TLS came up.
    if st.tls_starting && verb != "AUTH" {
        st.tls = true;
        st.tls_starting = false;
    }
}

fn transfer_step(out: &mut Lowered, st: &mut State, ex: &Ex, i: usize, f: &Frame<'_>) {
    // A file-system answer (an empty folder's 550) says nothing of the data path.
    if ex.last().is_some_and(no_such_file) && !ex.replies.iter().any(|(r, _)| r.class() == 1) {
        return;
    }
    if let Some(a) = st.active.as_mut() {
        if a.command.is_none() {
            a.command = Some(exchange(ex));
            a.completion = ex
                .replies
                .iter()
                .rev()
                .find(|(r, _)| r.code >= 200)
                .map(|(r, at)| record(r, ex.at, *at));
            return;
        }
        out.take_pending(st, f);
        return;
    }
    match st.pending.as_mut() {
        Some(p) if p.cmd.is_none() => p.set_cmd(ex, i),
        Some(_) => out.take_pending(st, f),
        None => {}
    }
}

/// The phase a segment reached.
fn phase_of(seg: &Seg, out: &Lowered, st: &State, data_phase: bool) -> Phase {
    let session = &out.session;
    let logged_in = match &session.login {
        Some(l) => l.outcome == LoginOutcome::LoggedIn,
        // The client said so, or a fragment that starts after the login: passive
        // commands need one.
        None => st.logged_in || data_phase || !session.samples.is_empty(),
    };
    if seg.opened && session.greeting.is_empty() && !logged_in && st.exchanges == 0 {
        Phase::Greeting
    } else if !logged_in {
        Phase::Login
    } else if data_phase {
        Phase::Data
    } else {
        Phase::Pasv
    }
}

/// The server closed a connection that had nothing outstanding: every command answered and
/// the last transfer done (FileZilla's "Connection closed by server" on an idle session).
fn idle_close(seg: &Seg, out: &Lowered) -> bool {
    let done = out.session.transfers.last().is_some_and(|t| {
        t.data_error.is_none()
            && (t.client_ok.is_some() || t.completion.as_ref().is_some_and(|r| r.code / 100 == 2))
    });
    done && seg
        .steps
        .iter()
        .all(|s| !matches!(s, Step::Ex(e) if e.replies.is_empty() && e.verb() != "QUIT"))
}

fn end_of(seg: &Seg, out: &Lowered, st: &State, data_phase: bool) -> SessionEnd {
    let steps_after = |i: usize| {
        seg.steps[i + 1..]
            .iter()
            .any(|s| matches!(s, Step::Ex(e) if e.verb() != "QUIT"))
    };
    let phase = phase_of(seg, out, st, data_phase);
    // A client that logged in, set up TLS or moved data got past the greeting, whether or
    // not its log shows it (FileZilla at its default level shows no replies).
    let went_on = st.logged_in || st.tls || !out.session.transfers.is_empty();
    if out.session.greeting.is_empty() && st.exchanges == 0 && seg.opened && !went_on {
        return match &st.control_failure {
            Some(_) => SessionEnd::ConnectFailed,
            None if st.closed_at.is_some() => SessionEnd::Closed(Phase::Greeting),
            None => SessionEnd::Completed,
        };
    }
    let refused = out.session.greeting.iter().any(|g| g.code / 100 > 2)
        || out
            .session
            .greeting
            .iter()
            .rev()
            .find(|g| g.code / 100 != 1)
            .is_some_and(|g| g.code != 220);
    if refused {
        SessionEnd::Unavailable
    } else if out.session.login.as_ref().is_some_and(|l| {
        matches!(
            l.outcome,
            LoginOutcome::Rejected | LoginOutcome::AccountRequired
        )
    }) {
        SessionEnd::LoginFailed
    } else if st.closed_at.is_some_and(|i| !steps_after(i)) && !idle_close(seg, out) {
        SessionEnd::Closed(phase)
    } else if st
        .control_failure
        .as_ref()
        .is_some_and(|(_, i)| !steps_after(*i))
    {
        SessionEnd::TimedOut(phase)
    } else {
        SessionEnd::Completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::reader::Reader;

    fn lowered(lines: &[(&str, &str)]) -> Lowered {
        let items = crate::explain::formats::script(lines);
        let r = Reader::read(&items);
        let seg = &r.segs[0];
        let frame = Frame {
            server: seg.server.unwrap_or(crate::transcript::UNKNOWN_ADDR),
            substitutes: true,
            rel: &|_| 0,
        };
        lower(seg, &frame)
    }

    #[test]
    fn a_fragment_is_not_a_refused_greeting() {
        let low = lowered(&[
            (">", "PASV"),
            ("<", "227 Entering Passive Mode (10,0,0,5,195,80)."),
            (">", "LIST"),
            ("!", "Connection timed out after 20 seconds of inactivity"),
        ]);
        assert_eq!(low.session.end, SessionEnd::Completed);
        assert_eq!(low.session.transfers.len(), 1);
        let data = low.session.transfers[0].data.as_ref().expect("data");
        assert_eq!(data.attempt.outcome, ConnectOutcome::TimedOut);
    }

    #[test]
    fn tls_that_never_comes_up_is_a_handshake_failure() {
        let low = lowered(&[
            ("-", "Connecting to 203.0.113.10:21..."),
            ("<", "220 ready"),
            (">", "AUTH TLS"),
            ("<", "234 AUTH TLS OK."),
            ("-", "Initializing TLS..."),
            ("!", "Connection timed out after 20 seconds of inactivity"),
        ]);
        assert_eq!(low.session.end, SessionEnd::TlsFailed);
        let tls = low.session.tls.expect("tls");
        assert_eq!(tls.mode, TlsRequest::Explicit);
        assert!(tls.handshake.and_then(|h| h.error).is_some());
    }

    #[test]
    fn active_mode_is_recorded_as_such() {
        let low = lowered(&[
            ("<", "200 PORT command successful. Consider using PASV."),
            ("<", "425 Failed to establish connection."),
        ]);
        assert!(low.session.transfers.is_empty());
        assert_eq!(low.session.active.len(), 1);
        assert_eq!(
            low.session.active[0].port.reply.as_ref().map(|r| r.code),
            Some(200)
        );
        assert_eq!(
            low.session.active[0].completion.as_ref().map(|r| r.code),
            Some(425)
        );
    }

    #[test]
    fn a_refused_control_connection_is_a_connect_failure() {
        let low = lowered(&[
            ("-", "Connecting to 203.0.113.10:21..."),
            ("!", "Connection refused by server"),
        ]);
        assert_eq!(low.session.end, SessionEnd::ConnectFailed);
        assert_eq!(low.session.connect.outcome, ConnectOutcome::Refused);
    }
}

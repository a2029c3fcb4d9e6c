//! The control connection: sends commands, assembles replies with the bounded
//! [`ReplyReader`], and logs every line with its time. Every wait is bounded by the step
//! timeout and the overall deadline, whichever comes first.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use super::clock::Clock;
use super::clock::Waited;
use super::net::Io;
use super::tls::TlsClient;
use crate::transcript::TlsHandshake;

use crate::proto::{Reply, ReplyReader};
use crate::secret::Secret;
use crate::transcript::{Direction, Exchange, Line, PASSWORD_MASK, ReplyRecord};

/// Most bytes read for one reply. The reader's limits (lines of 8 KiB, 1,000 lines) still
/// allow 8 MiB per reply, recorded twice and rendered again in every report, per command;
/// real replies (a long FEAT, HELP or banner) take a few KiB.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Shortest password masked where a reply repeats it; a shorter one cannot be told apart
/// from ordinary reply text.
pub const MIN_MASKED: usize = 4;

/// Why a step on the control connection did not complete. These are observations about
/// the server, recorded in the transcript, not failures of the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepFailure {
    /// No complete reply within the step timeout.
    Timeout,
    /// The overall deadline ran out.
    Deadline,
    /// The server closed the connection.
    Closed,
    /// The bytes could not be assembled into a reply (over-long line, not a reply, ...).
    Unreadable(String),
    /// The server answered 421: it is closing the control connection (RFC 959 allows this
    /// reply to any command).
    ServiceClosing,
    /// A socket error.
    Io(String),
    /// The check was interrupted (Ctrl-C) while waiting.
    Interrupted,
}

impl StepFailure {
    pub fn describe(&self) -> String {
        match self {
            StepFailure::Timeout => "no reply within the step timeout".to_string(),
            StepFailure::Deadline => "the overall deadline ran out".to_string(),
            StepFailure::Closed => "the server closed the control connection".to_string(),
            StepFailure::Unreadable(e) => format!("unreadable reply: {e}"),
            StepFailure::ServiceClosing => {
                "the server answered 421: it is closing the connection".to_string()
            }
            StepFailure::Io(e) => format!("control connection error: {e}"),
            StepFailure::Interrupted => "interrupted (Ctrl-C) before an answer".to_string(),
        }
    }
}

pub struct Control {
    stream: Box<dyn Io>,
    /// TLS is on (after AUTH TLS, or from the start for implicit FTPS).
    pub tls: bool,
    reader: ReplyReader,
    pub lines: Vec<Line>,
    clock: Clock,
    closed: bool,
    /// The password, masked wherever a reply repeats it.
    mask: Option<Secret>,
    /// The TLS client once TLS is on: it words TLS errors.
    tls_client: Option<TlsClient>,
    /// The first TLS-layer error on the connection (an alert, bytes that are not TLS).
    tls_failure: Option<String>,
    /// Replies received under TLS.
    tls_replies: usize,
    /// Commands written whose replies are still to be read, oldest first, with when they
    /// were sent. Servers answer in order, so these are read before any later reply.
    unread: VecDeque<(String, Instant)>,
    /// What those commands got, once read, for their step to take.
    answered: Vec<Answer>,
    /// When the last complete reply arrived: a pipelined command's reply time counts from
    /// then, not from its sending, so it does not include the replies queued before it.
    last_reply_at: Option<Instant>,
}

/// A command as recorded, the reply it got, and why there was none.
pub type Answer = (Exchange, Option<Reply>, Option<StepFailure>);

fn text_of(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        ),
    }
}

impl Control {
    pub fn new(stream: Box<dyn Io>, clock: Clock) -> Self {
        Control {
            stream,
            tls: false,
            reader: ReplyReader::default(),
            lines: Vec::new(),
            clock,
            closed: false,
            mask: None,
            tls_client: None,
            tls_failure: None,
            tls_replies: 0,
            unread: VecDeque::new(),
            answered: Vec::new(),
            last_reply_at: None,
        }
    }

    /// Why TLS failed when it ended the connection before any reply came under TLS: the
    /// server rejected the handshake after it had completed on this side (TLS 1.3 sends a
    /// refused or missing client certificate this way, after the client's Finished).
    pub fn tls_rejected(&self) -> Option<&str> {
        if self.tls && self.tls_replies == 0 {
            self.tls_failure.as_deref()
        } else {
            None
        }
    }

    /// From now on, replies that repeat `password` are recorded with it masked (servers
    /// that echo a refused command exist). The reply itself, which decoders read, is kept.
    pub fn mask_in_replies(&mut self, password: &Secret) {
        if password.expose().len() >= MIN_MASKED {
            self.mask = Some(password.clone());
        }
    }

    fn masked_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let Some(secret) = &self.mask else {
            return bytes.to_vec();
        };
        let needle = secret.expose().as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(needle) {
                out.extend_from_slice(PASSWORD_MASK.as_bytes());
                i += needle.len();
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    fn masked_text(&self, text: String) -> String {
        match &self.mask {
            Some(secret) if text.contains(secret.expose()) => {
                text.replace(secret.expose(), PASSWORD_MASK)
            }
            _ => text,
        }
    }

    /// When the server could start on a command sent at `sent_at`: then, or when the reply
    /// before its own arrived, whichever is later (commands are answered in order).
    fn answerable_since(&self, sent_at: Instant) -> Instant {
        self.last_reply_at.map_or(sent_at, |at| at.max(sent_at))
    }

    /// [`record`], with the password masked.
    pub fn record(&self, reply: &Reply, since: Instant) -> ReplyRecord {
        let mut r = record(reply, since);
        r.text = self.masked_text(r.text);
        r
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Replaces the connection with TLS over it (AUTH TLS accepted, or implicit FTPS).
    /// Bytes the server sent in plain text after its 234 are dropped unread: a reply
    /// injected before the handshake must not be taken as protected (a STARTTLS attack).
    pub async fn start_tls(
        &mut self,
        client: &TlsClient,
        name: &rustls_pki_types::ServerName<'static>,
    ) -> TlsHandshake {
        let plain = std::mem::replace(&mut self.stream, Box::new(tokio::io::duplex(1).0));
        self.reader = ReplyReader::default();
        let (budget, _) = self.clock.budget();
        let slack = budget + Duration::from_secs(1);
        let (stream, hs) = match self
            .clock
            .bounded(slack, client.handshake(plain, name, budget))
            .await
        {
            Ok(done) => done,
            Err(_) => (None, TlsHandshake::failed(TLS_INTERRUPTED.to_string(), 0)),
        };
        if let Some(stream) = stream {
            self.stream = Box::new(stream);
            self.tls = true;
            self.tls_client = Some(client.clone());
        } else {
            self.closed = true;
        }
        hs
    }

    /// Sends one command. `PASS` is logged with a fixed mask whatever its argument.
    pub async fn send(&mut self, command: &str) -> Result<(), StepFailure> {
        self.write_commands(&[command]).await
    }

    /// Logs and writes commands in one write, bounded by the step timeout and deadline.
    async fn write_commands(&mut self, commands: &[&str]) -> Result<(), StepFailure> {
        let mut wire = Vec::new();
        for command in commands {
            self.lines.push(Line {
                at_us: self.clock.now_us(),
                dir: Direction::Sent,
                text: logged_command(command),
                raw_hex: None,
            });
            wire.extend_from_slice(command.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
        let (budget, by_deadline) = self.clock.budget();
        let clock = self.clock;
        match clock.bounded(budget, self.stream.write_all(&wire)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StepFailure::Io(e.to_string())),
            Err(waited) => Err(failure_for(waited, by_deadline)),
        }
    }

    /// Waits for the next complete reply. The step timeout bounds the whole reply, not each
    /// read: a server that trickles bytes (slowloris) cannot stretch a step to the deadline.
    pub async fn read_reply(&mut self) -> Result<Reply, StepFailure> {
        if !self.unread.is_empty() {
            self.read_unread().await;
            if let Some(f) = self.answered.last().and_then(|a| a.2.clone()) {
                return Err(f);
            }
        }
        self.next_reply().await
    }

    /// The next reply on the wire, whoever it answers.
    async fn next_reply(&mut self) -> Result<Reply, StepFailure> {
        let step_end = Instant::now() + self.clock.step;
        let mut buf = [0u8; 4096];
        let mut received = 0usize;
        loop {
            match self.reader.next_reply() {
                Ok(Some(reply)) => {
                    self.log_reply(&reply);
                    return Ok(reply);
                }
                Ok(None) if received > MAX_REPLY_BYTES => {
                    return Err(StepFailure::Unreadable(format!(
                        "reply longer than {MAX_REPLY_BYTES} bytes"
                    )));
                }
                Ok(None) => {}
                Err(e) => {
                    self.log_unreadable(&e);
                    return Err(StepFailure::Unreadable(self.masked_text(e.to_string())));
                }
            }
            if self.closed {
                return match self.reader.finish() {
                    Ok(Some(reply)) => {
                        self.log_reply(&reply);
                        Ok(reply)
                    }
                    Ok(None) => Err(StepFailure::Closed),
                    Err(e) => Err(StepFailure::Unreadable(self.masked_text(e.to_string()))),
                };
            }
            let (budget, by_deadline) = self.clock.budget_until(step_end);
            let clock = self.clock;
            match clock.bounded(budget, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) => self.closed = true,
                Ok(Ok(n)) => {
                    received += n;
                    self.reader.feed(&buf[..n]);
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => self.closed = true,
                Ok(Err(e)) if super::tls::is_tls_error(&e) => {
                    let described = match &self.tls_client {
                        Some(client) => client.describe(&e),
                        None => super::tls::describe_io(&e),
                    };
                    self.tls_failure.get_or_insert_with(|| described.clone());
                    return Err(StepFailure::Io(described));
                }
                Ok(Err(e)) => return Err(StepFailure::Io(e.to_string())),
                Err(waited) => return Err(failure_for(waited, by_deadline)),
            }
        }
    }

    /// A line that is no reply (an SSH banner on the wrong port) is part of what was seen.
    fn log_unreadable(&mut self, e: &crate::proto::ReplyError) {
        let line = match e {
            crate::proto::ReplyError::NotAReply { line } => line,
            crate::proto::ReplyError::LineTooLong { first_bytes, .. }
            | crate::proto::ReplyError::TooManyLines { first_bytes, .. } => first_bytes,
        };
        let (text, raw_hex) = text_of(&self.masked_bytes(line));
        let at_us = self.clock.now_us();
        self.lines.push(Line {
            at_us,
            dir: Direction::Received,
            text,
            raw_hex,
        });
    }

    fn log_reply(&mut self, reply: &Reply) {
        self.last_reply_at = Some(Instant::now());
        if self.tls {
            self.tls_replies += 1;
        }
        let at_us = self.clock.now_us();
        for line in &reply.lines {
            let (text, raw_hex) = text_of(&self.masked_bytes(line));
            self.lines.push(Line {
                at_us,
                dir: Direction::Received,
                text,
                raw_hex,
            });
        }
    }

    /// Sends a command and waits for its reply; the exchange records either. A 421 reply is
    /// recorded and also returned as [`StepFailure::ServiceClosing`].
    pub async fn exchange(
        &mut self,
        command: &str,
    ) -> (Exchange, Option<Reply>, Option<StepFailure>) {
        let mut all = self.exchange_all(&[command]).await;
        all.pop().unwrap_or_else(|| {
            let f = StepFailure::Closed;
            (
                Exchange {
                    command: logged_command(command),
                    reply: None,
                    failure: Some(f.describe()),
                },
                None,
                Some(f),
            )
        })
    }

    /// Sends several commands in one write and reads their replies in order. RFC 959
    /// servers answer each command in turn, so commands whose replies do not decide what
    /// to send next cost one round trip together instead of one each. After a failure the
    /// remaining commands are recorded as unanswered.
    pub async fn exchange_all(&mut self, commands: &[&str]) -> Vec<Answer> {
        self.exchange_all_then(commands, &[]).await
    }

    /// Like [`exchange_all`](Self::exchange_all), with `later` written in the same burst
    /// but not waited for: their replies are read by [`read_unread`](Self::read_unread),
    /// or before the next reply anyone reads, so a reply that only a later step needs
    /// costs no round trip of its own.
    pub async fn exchange_all_then(&mut self, commands: &[&str], later: &[&str]) -> Vec<Answer> {
        let sent_at = Instant::now();
        let all: Vec<&str> = commands.iter().chain(later).copied().collect();
        let mut failed = self.write_commands(&all).await.err();
        if failed.is_none() && !self.unread.is_empty() {
            // Earlier commands' replies come first on the wire.
            self.read_unread().await;
            failed = self.answered.last().and_then(|a| a.2.clone());
        }
        let out = self.read_answers(commands, sent_at, failed.clone()).await;
        let failed = failed.or_else(|| out.last().and_then(|a| a.2.clone()));
        match failed {
            None => self
                .unread
                .extend(later.iter().map(|c| (logged_command(c), sent_at))),
            Some(f) => self
                .answered
                .extend(later.iter().map(|c| unanswered(c, &f))),
        }
        out
    }

    /// Reads the replies to every command written but not yet answered, keeping them for
    /// [`take_answered`](Self::take_answered).
    pub async fn read_unread(&mut self) {
        self.read_first(usize::MAX).await;
    }

    /// Reads the replies to the first `n` unread commands into `answered`. After a failure
    /// nothing later can be read either: every command still unread is recorded unanswered.
    async fn read_first(&mut self, n: usize) {
        for _ in 0..n {
            let Some((command, sent_at)) = self.unread.pop_front() else {
                return;
            };
            let since = self.answerable_since(sent_at);
            let (reply, failure) = match self.next_reply().await {
                Ok(r) if r.code == 421 => (Some(r), Some(StepFailure::ServiceClosing)),
                Ok(r) => (Some(r), None),
                Err(f) => (None, Some(f)),
            };
            let exchange = Exchange {
                command,
                reply: reply.as_ref().map(|r| self.record(r, since)),
                failure: failure.as_ref().map(StepFailure::describe),
            };
            self.answered.push((exchange, reply, failure.clone()));
            if let Some(f) = failure {
                let rest: Vec<_> = self.unread.drain(..).map(|(c, _)| c).collect();
                self.answered.extend(rest.iter().map(|c| unanswered(c, &f)));
                return;
            }
        }
    }

    /// [`read_unread`](Self::read_unread) with the step timeout cut to at most `limit`.
    pub async fn read_unread_within(&mut self, limit: Duration) {
        let saved = self.clock;
        self.clock.step = self.clock.step.min(limit);
        self.read_unread().await;
        self.clock = saved;
    }

    /// The answers to the first `n` unread commands, read now; the ones behind them stay
    /// for their own step (unread, or recorded unanswered after a failure).
    pub async fn read_sent(&mut self, n: usize) -> Vec<Answer> {
        let kept = self.answered.len();
        self.read_first(n).await;
        let mut out = self.answered.split_off(kept);
        let behind = out.split_off(n.min(out.len()));
        self.answered.extend(behind);
        out
    }

    /// The answers [`read_unread`](Self::read_unread) read, in order.
    pub fn take_answered(&mut self) -> Vec<Answer> {
        std::mem::take(&mut self.answered)
    }

    /// Reads the replies to `commands`, already written at `sent_at`; after a failure
    /// the rest are recorded unanswered.
    async fn read_answers(
        &mut self,
        commands: &[&str],
        sent_at: Instant,
        written: Option<StepFailure>,
    ) -> Vec<Answer> {
        let mut out = Vec::with_capacity(commands.len());
        let mut failed = written;
        for command in commands {
            if let Some(f) = &failed {
                out.push(unanswered(command, f));
                continue;
            }
            let since = self.answerable_since(sent_at);
            match self.next_reply().await {
                Ok(reply) => {
                    let failure = (reply.code == 421).then_some(StepFailure::ServiceClosing);
                    failed.clone_from(&failure);
                    let exchange = Exchange {
                        command: logged_command(command),
                        reply: Some(self.record(&reply, since)),
                        failure: failure.as_ref().map(StepFailure::describe),
                    };
                    out.push((exchange, Some(reply), failure));
                }
                Err(f) => {
                    out.push(unanswered(command, &f));
                    failed = Some(f);
                }
            }
        }
        out
    }

    /// Waits for a reply, at most `limit` (and never past the step timeout or deadline).
    pub async fn read_reply_within(&mut self, limit: Duration) -> Result<Reply, StepFailure> {
        let saved = self.clock;
        self.clock.step = self.clock.step.min(limit);
        let r = self.read_reply().await;
        self.clock = saved;
        r
    }

    /// Ends the session: QUIT, then close without waiting for the 221 (a round trip that
    /// tells nothing).
    pub async fn quit(&mut self) {
        let mut clock = self.clock;
        clock.step = clock.step.min(Duration::from_secs(1));
        self.clock = clock;
        let _ = self.send("QUIT").await;
        let _ = tokio::time::timeout(Duration::from_millis(100), self.stream.shutdown()).await;
    }
}

/// A command that got no reply because of `failure`.
fn unanswered(command: &str, failure: &StepFailure) -> Answer {
    let exchange = Exchange {
        command: logged_command(command),
        reply: None,
        failure: Some(failure.describe()),
    };
    (exchange, None, Some(failure.clone()))
}

/// A TLS handshake Ctrl-C stopped.
pub const TLS_INTERRUPTED: &str = "interrupted (Ctrl-C) during the TLS handshake";

/// Why a bounded wait on the control connection failed.
fn failure_for(waited: Waited, by_deadline: bool) -> StepFailure {
    match waited {
        Waited::Interrupted => StepFailure::Interrupted,
        Waited::Elapsed if by_deadline => StepFailure::Deadline,
        Waited::Elapsed => StepFailure::Timeout,
    }
}

/// A reply as the transcript records it.
pub fn record(reply: &Reply, since: Instant) -> ReplyRecord {
    ReplyRecord {
        code: reply.code,
        text: reply.to_lossy_string(),
        anomalies: reply.anomalies.iter().map(ToString::to_string).collect(),
        elapsed_us: since.elapsed().as_micros() as u64,
    }
}

/// The command as it may be logged: the password is masked.
pub fn logged_command(command: &str) -> String {
    let verb = command.split(' ').next().unwrap_or("");
    if verb.eq_ignore_ascii_case("PASS") {
        format!("PASS {PASSWORD_MASK}")
    } else {
        command.to_string()
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("tls", &self.tls)
            .field("lines", &self.lines.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

//! From classified log items to control-connection segments: which lines belong to which
//! control connection, which reply answers which command, and where the client's own
//! messages fall. A paste is often a fragment, so nothing is assumed about what came
//! before its first line: a reply is the greeting only when it is a greeting's code at the
//! start of a connection, and a reply whose command the paste does not show is attached to
//! the command its code implies, marked as inferred.

mod segment;

pub use segment::{Ex, Seg, Step};
use std::net::{IpAddr, SocketAddr};

use super::formats::{Item, Kind};
use super::messages::{Signal, identity, interpret};
use crate::proto::{PassiveKind, Reply};
use crate::transcript::Direction;

/// At most this many client messages are kept for the report.
const MAX_MESSAGES: usize = 200;

/// Commands that move data over a data connection.
pub const TRANSFER_VERBS: [&str; 7] = ["LIST", "NLST", "MLSD", "RETR", "STOR", "STOU", "APPE"];

pub fn passive_kind(verb: &str) -> Option<PassiveKind> {
    match verb {
        "PASV" => Some(PassiveKind::Pasv),
        "EPSV" => Some(PassiveKind::Epsv),
        "LPSV" => Some(PassiveKind::Lpsv),
        _ => None,
    }
}

/// The command a reply implies when the log shows the reply alone (the `ftp` command
/// line client shows no commands; fragments lose them).
fn implied_command(r: &Reply) -> Option<&'static str> {
    let text = r.to_lossy_string().to_ascii_lowercase();
    Some(match r.code {
        227 => "PASV",
        229 => "EPSV",
        228 => "LPSV",
        331 | 332 => "USER",
        230 => "PASS",
        257 => "PWD",
        215 => "SYST",
        211 if r.is_multiline() => "FEAT",
        234 => "AUTH TLS",
        200 if text.contains("port") => "PORT",
        200 if text.contains("eprt") => "EPRT",
        200 if text.contains("type") || text.contains("binary") || text.contains("ascii") => {
            "TYPE I"
        }
        500 | 501 if text.contains("port") => "PORT",
        150 | 125 => "LIST",
        _ => return None,
    })
}

/// A control connection's address: a message that names no port means FTP's port 21.
fn control_port(a: SocketAddr) -> SocketAddr {
    if a.port() == 0 {
        SocketAddr::new(a.ip(), 21)
    } else {
        a
    }
}

/// Whether a reply can be a greeting.
fn greeting_code(code: u16) -> bool {
    matches!(code, 120 | 220 | 421)
}

/// Reads the items into control-connection segments.
#[derive(Debug, Default)]
pub struct Reader {
    pub segs: Vec<Seg>,
    pub client: Option<(&'static str, Option<String>)>,
    pub timeout_setting: Option<f64>,
    resolving: Option<String>,
    /// (segment, line, text) of the client messages worth showing.
    pub messages: Vec<(usize, u64, String)>,
    /// Complete replies with a code 100-599.
    pub replies: usize,
    /// Commands sent (as the log shows them).
    pub commands: usize,
    /// Client messages that only an FTP client writes (a substituted address, a data
    /// connection, a failed listing).
    pub signals: usize,
    /// Client messages any network client writes (logged in, TLS, timed out, refused,
    /// closed): FTP when the log's format or commands say so.
    pub events: usize,
    /// Sessions whose server answered with another protocol's banner.
    pub foreign_banners: usize,
    /// Client messages that quote what an FTP server sent (the address of a PASV reply, a
    /// transfer's reply code): on its own such a message tells an FTP session's story.
    pub quoted: usize,
}

impl Reader {
    /// Reads every item.
    pub fn read(items: &[Item]) -> Reader {
        let mut r = Reader::default();
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
        for i in 0..r.segs.len() {
            if let Ok(Some(reply)) = r.segs[i].reader.finish() {
                r.place(i, reply, None);
            }
        }
        r
    }

    fn cur(&mut self) -> &mut Seg {
        if self.segs.is_empty() {
            let host = self.resolving.take();
            self.segs.push(Seg::new(host, None, false));
        }
        self.segs.last_mut().expect("a segment")
    }

    fn new_seg(&mut self, host: Option<String>, addr: Option<SocketAddr>) {
        let addr = addr.map(control_port);
        let host = host
            .filter(|h| h.parse::<IpAddr>().is_err())
            .or(self.resolving.take());
        match self.segs.last_mut() {
            Some(s) if !s.used() => {
                s.server = addr.or(s.server);
                s.host = host.or(s.host.take());
                s.opened = true;
            }
            _ => self.segs.push(Seg::new(host, addr, true)),
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
            inferred: false,
        }));
    }

    fn received(&mut self, at: Option<u64>, text: &str) {
        let seg = self.cur();
        seg.first_at = seg.first_at.or(at);
        // An FTP client that reached an SSH server (the wrong port) receives its banner.
        if text.starts_with("SSH-")
            && seg.greeting.is_empty()
            && seg.exchanges().next().is_none()
            && seg.foreign_banner.is_none()
        {
            seg.foreign_banner = Some(text.trim().to_string());
            seg.lines.push((at, Direction::Received, text.to_string()));
            self.foreign_banners += 1;
            return;
        }
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
        let i = self.segs.len() - 1;
        for r in done {
            self.place(i, r, at);
        }
    }

    /// Attaches a complete reply to the command it answers, to the greeting, or to the
    /// command its code implies.
    fn place(&mut self, i: usize, r: Reply, at: Option<u64>) {
        if (100..=599).contains(&r.code) {
            self.replies += 1;
        }
        let seg = &mut self.segs[i];
        if seg.last_ex().is_some_and(|e| !e.complete()) {
            seg.reply_to_last(r, at);
            return;
        }
        let no_exchange = seg.exchanges().next().is_none();
        if no_exchange && greeting_code(r.code) && (seg.opened || seg.greeting.is_empty()) {
            seg.greeting.push((r, at));
            return;
        }
        let command = implied_command(&r);
        match command {
            Some(c) => seg.steps.push(Step::Ex(Ex {
                command: c.to_string(),
                at,
                replies: vec![(r, at)],
                inferred: true,
            })),
            // A transfer's end right after the mode was set: the listing command (the
            // `ftp` client shows `ls`, not LIST).
            None if matches!(r.code, 226 | 425 | 426 | 451)
                && seg.exchanges().next_back().is_some_and(|e| {
                    matches!(
                        e.verb().as_str(),
                        "PORT" | "EPRT" | "LPRT" | "PASV" | "EPSV" | "LPSV"
                    )
                }) =>
            {
                seg.steps.push(Step::Ex(Ex {
                    command: "LIST".to_string(),
                    at,
                    replies: vec![(r, at)],
                    inferred: true,
                }));
            }
            // A second final reply (a 226 after a 150-less transfer, a late 421): it
            // belongs to the last command.
            None if seg.exchanges().next().is_some() => {
                seg.reply_to_last(r, at);
            }
            None => seg.steps.push(Step::Ex(Ex {
                command: String::new(),
                at,
                replies: vec![(r, at)],
                inferred: true,
            })),
        }
    }

    fn keep_message(&mut self, no: u64, text: &str) {
        if self.messages.len() < MAX_MESSAGES {
            let seg = self.segs.len().saturating_sub(1);
            self.messages.push((seg, no, text.to_string()));
        }
    }

    /// Whether a connection attempt to `addr` is a data connection of the current
    /// segment: a passive command is outstanding, and the port is its port (clients
    /// substitute the address, never the port), or not the control port when the passive
    /// reply is not in the log.
    fn is_data_connect(&self, addr: Option<SocketAddr>) -> bool {
        let Some(seg) = self.segs.last() else {
            return false;
        };
        match (seg.awaiting_port(), addr) {
            // Port 0: the message names no port ("Trying 203.0.113.10...").
            (Some(Some(port)), Some(a)) => a.port() == port || a.port() == 0,
            (Some(None), Some(a)) => {
                a.port() == 0 || seg.server.is_none_or(|s| s.port() != a.port())
            }
            (Some(_), None) => true,
            (None, _) => false,
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
                        | Signal::DataTimeout(_)
                        | Signal::Refused
                        | Signal::Unreachable(_)
                        | Signal::Closed
                        | Signal::EpsvDisabled
                        | Signal::TransferFailed(_)
                        | Signal::TransferOk(_)
                        | Signal::DataReply(..)
                        | Signal::StrategiesFailed
                        | Signal::TlsError(_)
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
        if keep {
            self.keep_message(no, text);
        }
        if matches!(
            signal,
            Some(
                Signal::Substituted { .. }
                    | Signal::DataConnecting(_)
                    | Signal::DataConnected
                    | Signal::EpsvDisabled
                    | Signal::TransferFailed(_)
                    | Signal::TransferOk(_)
                    | Signal::DataReply(..)
                    | Signal::StrategiesFailed
                    | Signal::DataTimeout(_)
            )
        ) {
            self.signals += 1;
            // A substitution that names the address it ignored quotes a PASV reply, and a
            // quoted transfer reply code is an FTP server's.
            if matches!(
                signal,
                Some(
                    Signal::Substituted {
                        advertised: Some(_),
                        ..
                    } | Signal::DataReply(..)
                )
            ) {
                self.quoted += 1;
            }
        } else if matches!(
            signal,
            Some(
                Signal::LoggedIn
                    | Signal::Tls
                    | Signal::TlsStarting
                    | Signal::TlsError(_)
                    | Signal::Timeout(_)
                    | Signal::Refused
                    | Signal::Unreachable(_)
                    | Signal::Closed
            )
        ) {
            self.events += 1;
        }
        let Some(signal) = signal else { return };
        match signal {
            Signal::Client { name, version } => self.identify(name, version),
            Signal::TimeoutSetting(s) => self.timeout_setting = Some(s),
            Signal::Resolving(host) => {
                if self.segs.last().is_some_and(Seg::used) {
                    self.segs.push(Seg::new(None, None, true));
                }
                self.resolving = Some(host);
                if let Some(s) = self.segs.last_mut() {
                    s.host = self.resolving.take();
                    s.opened = true;
                }
            }
            Signal::Connecting { host, addr } => {
                if self.is_data_connect(addr) {
                    self.cur()
                        .steps
                        .push(Step::Sig(Signal::DataConnecting(addr)));
                } else {
                    self.new_seg(host, addr);
                }
            }
            Signal::Connected { host, addr } => {
                let addr = addr.map(control_port);
                let seg = self.segs.last();
                let data = seg.is_some_and(|s| s.awaiting_port().is_some())
                    && addr.is_none_or(|a| seg.and_then(|s| s.server) != Some(a));
                if data {
                    self.cur().steps.push(Step::Sig(Signal::DataConnected));
                } else if seg.is_some_and(|s| s.server.is_none() || s.server == addr) {
                    let seg = self.cur();
                    seg.server = seg.server.or(addr);
                    seg.opened = seg.opened || !seg.used();
                    seg.host = seg
                        .host
                        .take()
                        .or(host.filter(|h| h.parse::<IpAddr>().is_err()));
                } else {
                    self.new_seg(host, addr);
                }
            }
            other => self.cur().steps.push(Step::Sig(other)),
        }
    }

    pub fn identify(&mut self, name: &'static str, version: Option<String>) {
        match &self.client {
            Some((_, Some(_))) => {}
            Some((n, None)) if *n == name && version.is_none() => {}
            _ => self.client = Some((name, version)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::explain::formats::script as items;

    #[test]
    fn a_fragment_has_no_greeting_and_infers_the_passive_command() {
        let r = Reader::read(&items(&[
            ("<", "227 Entering Passive Mode (10,0,0,5,195,80)."),
            (">", "LIST"),
            ("<", "425 Can't open data connection."),
        ]));
        assert_eq!(r.segs.len(), 1);
        let seg = &r.segs[0];
        assert!(seg.greeting.is_empty());
        assert!(!seg.opened);
        let Step::Ex(first) = &seg.steps[0] else {
            panic!("an exchange")
        };
        assert_eq!(first.command, "PASV");
        assert!(first.inferred);
        assert_eq!(seg.awaiting_port(), Some(Some(50000)));
    }

    #[test]
    fn a_greeting_needs_a_greeting_code() {
        let r = Reader::read(&items(&[
            ("-", "Connecting to 203.0.113.10:21..."),
            ("<", "220 ready"),
            (">", "USER alice"),
            ("<", "331 Password required"),
        ]));
        assert_eq!(r.segs[0].greeting.len(), 1);
        let r = Reader::read(&items(&[("<", "257 \"/\" is the current directory")]));
        assert!(r.segs[0].greeting.is_empty());
    }

    #[test]
    fn data_connection_lines_stay_with_their_transfer() {
        // FileZilla at debug level names the data connection like the control one.
        let r = Reader::read(&items(&[
            ("-", "Connecting to 203.0.113.10:21..."),
            ("<", "220 ready"),
            (">", "PASV"),
            ("<", "227 Entering Passive Mode (203,0,113,10,195,80)."),
            ("-", "Connecting to 203.0.113.10:50000..."),
            (">", "MLSD"),
        ]));
        assert_eq!(r.segs.len(), 1);
        assert!(
            r.segs[0]
                .steps
                .iter()
                .any(|s| matches!(s, Step::Sig(Signal::DataConnecting(_))))
        );
        // Without the 227 in the log, a connection to another port than the control
        // port is still the data connection.
        let r = Reader::read(&items(&[
            ("-", "Connecting to 203.0.113.10:21..."),
            (">", "PASV"),
            ("-", "Connecting to 203.0.113.10:40001..."),
        ]));
        assert_eq!(r.segs.len(), 1);
    }

    #[test]
    fn the_ftp_command_line_client_shows_replies_only() {
        let r = Reader::read(&items(&[
            ("-", "Connected to 198.51.100.7."),
            ("<", "220 (vsFTPd 3.0.3)"),
            ("<", "331 Please specify the password."),
            ("<", "230 Login successful."),
            ("-", "ftp> ls"),
            ("<", "200 PORT command successful. Consider using PASV."),
            ("<", "425 Failed to establish connection."),
        ]));
        let verbs: Vec<String> = r.segs[0]
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Ex(e) => Some(e.verb()),
                _ => None,
            })
            .collect();
        // The 425 ends the listing the `ls` made.
        assert_eq!(verbs, ["USER", "PASS", "PORT", "LIST"]);
    }
}

//! The script model: how a fake server behaves, as plain data. A [`Script`] names what the
//! server says on connect, whom it lets in, what it answers to each command (built-in answers
//! of a healthy server, or the script's own [`Act`]s for chosen commands), which address and
//! ports PASV/EPSV advertise, what each data port does ([`DataPort`], [`DataPlay`]) and how it
//! speaks TLS ([`Tls`]). Misbehaviour is data too: trickled, oversized or endless replies,
//! silence, a close mid-reply, a reset, bytes injected around the TLS handshake.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

/// How a fake server behaves. `Script::default()` is a healthy server (the one the demo's
/// healthy scenario shows).
#[derive(Debug, Clone)]
pub struct Script {
    /// What the server does when a client connects, before it reads a command: by default
    /// the 220 greeting. Acts that end the connection ([`Act::Close`], [`Act::Silent`], ...)
    /// end it before the command loop.
    pub greeting: Vec<Act>,
    /// Who may log in.
    pub login: Login,
    /// FEAT lines between `211-Features:` and `211 End`, e.g. `["EPSV", "PASV"]`.
    pub features: Vec<String>,
    /// SYST answer text after `215 `.
    pub syst: String,
    /// The address PASV names.
    pub advertise: Advertise,
    /// What the data port of each PASV/EPSV does, in turn, cycling: `[DataPort::default(),
    /// DataPort::Filter]` drops every second port, as a router that forwards only part of the
    /// passive range. Empty: as `[DataPort::default()]`.
    pub data: Vec<DataPort>,
    /// Passive ports to use, in order, cycling; `None`: kernel-chosen (random) ports.
    pub port_range: Option<RangeInclusive<u16>>,
    /// Bytes a transfer carries (LIST, NLST, MLSD, RETR): [`DataAct::Listing`].
    pub listing: Vec<u8>,
    /// Commands the script answers itself, instead of the built-in answer: the key is a verb
    /// (`"PASV"`) or a verb with its argument (`"PROT P"`), either case; the first match wins.
    /// Overrides apply before any login check.
    pub overrides: Vec<(String, Vec<Act>)>,
    /// FTPS: AUTH TLS (or TLS from the first byte), PBSZ, PROT and TLS data connections.
    /// `None`: plain FTP only.
    pub tls: Option<Tls>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            greeting: vec![Act::line("220 pasv-doctor demo FTP server ready.")],
            login: Login::Accounts {
                users: vec![("demo".to_string(), Some("demo-password".to_string()))],
                anonymous: true,
            },
            features: ["EPSV", "PASV", "MLST type*;size*;modify*;", "UTF8"]
                .iter()
                .map(|f| f.to_string())
                .collect(),
            syst: "UNIX Type: L8".to_string(),
            advertise: Advertise::Local,
            data: vec![DataPort::default()],
            port_range: None,
            listing: concat!(
                "drwxr-xr-x    2 ftp      ftp          4096 Nov 24 09:58 pub\r\n",
                "-rw-r--r--    1 ftp      ftp          1024 Nov 24 10:00 readme.txt\r\n",
                "-rw-r--r--    1 ftp      ftp       1048576 Nov 23 18:42 sample.bin\r\n",
            )
            .as_bytes()
            .to_vec(),
            overrides: Vec::new(),
            tls: None,
        }
    }
}

impl Script {
    /// Answers commands matching `key` (see [`Script::overrides`]) with `acts`, ahead of any
    /// override added before.
    pub fn on(&mut self, key: impl Into<String>, acts: Vec<Act>) -> &mut Script {
        self.overrides.insert(0, (key.into(), acts));
        self
    }

    /// The acts that answer `verb` with argument `arg`, if the script overrides it.
    pub fn override_for(&self, verb: &str, arg: &str) -> Option<&[Act]> {
        self.overrides
            .iter()
            .find(|(key, _)| key_matches(key, verb, arg))
            .map(|(_, acts)| acts.as_slice())
    }

    /// What the data port of the `n`-th PASV/EPSV (from 0) does.
    pub fn data_port(&self, n: usize) -> DataPort {
        match self.data.len() {
            0 => DataPort::default(),
            len => self.data[n % len].clone(),
        }
    }
}

/// Whether an override key names this command: a bare verb matches the verb whatever the
/// argument; a key with a space matches verb and argument, both ignoring case.
fn key_matches(key: &str, verb: &str, arg: &str) -> bool {
    match key.trim().split_once(' ') {
        None => key.trim().eq_ignore_ascii_case(verb),
        Some((key_verb, key_arg)) => {
            key_verb.eq_ignore_ascii_case(verb) && key_arg.trim().eq_ignore_ascii_case(arg.trim())
        }
    }
}

/// Who may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Anyone with any password (USER gets 331, PASS 230), and no command waits for a login.
    Open,
    /// These accounts (user name, password; `None`: 230 right after USER), and `anonymous`
    /// or `ftp` with any password when `anonymous` is set. Before a login only USER, PASS,
    /// QUIT, FEAT, SYST and NOOP (and, with TLS, AUTH, PBSZ and PROT) are answered; everything
    /// else gets 530.
    Accounts {
        users: Vec<(String, Option<String>)>,
        anonymous: bool,
    },
}

impl Login {
    /// One account with a password, and anonymous logins.
    pub fn user(name: &str, password: &str) -> Login {
        Login::Accounts {
            users: vec![(name.to_string(), Some(password.to_string()))],
            anonymous: true,
        }
    }
}

/// What PASV advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advertise {
    /// The local address of the control connection (a correctly configured server).
    Local,
    /// This address (a server behind NAT with a wrong or missing external address).
    Fixed(IpAddr),
    /// The local address, rewritten to this one while the control connection is in plain
    /// text, as a router's FTP helper (ALG) does; under TLS the helper cannot see the reply.
    RewrittenInPlainText(Ipv4Addr),
}

/// One thing the server does on the control connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Send these bytes as they are, after replacing the placeholders `{port}`, `{p1}` and
    /// `{p2}` (the port of the last data port opened, whole and as PASV's two numbers; 0
    /// before any), `{arg}` (the argument of the command being answered) and `{pass}` (that
    /// of the last PASS, for a server that echoes it).
    Send(Vec<u8>),
    /// Send the bytes (placeholders replaced) `chunk` bytes at a time, one chunk per `every`:
    /// a server trickling its reply.
    Trickle {
        bytes: Vec<u8>,
        chunk: usize,
        every: Duration,
    },
    /// Send `bytes` over and over, `cap` bytes in all or until the client goes away: an
    /// endless or oversized reply.
    Flood { bytes: Vec<u8>, cap: usize },
    /// Pause.
    Wait(Duration),
    /// Read whatever the client sends next and drop it (one read, waiting at most 5 s): e.g.
    /// a TLS ClientHello the server will not answer.
    Receive,
    /// Wait (at most 5 s) until the client has sent something, leaving it unread: e.g. the
    /// ClientHello a coming [`Act::StartTls`] reads.
    AwaitInput,
    /// Close the connection (TLS close_notify when under TLS, then FIN); the session ends.
    Close,
    /// Reset the connection (RST); the session ends.
    Reset,
    /// Never answer again: read and drop until the client goes away; the session ends.
    Silent,
    /// Open a data port that behaves as given (closing the previous one, whose port then
    /// refuses), as PASV/EPSV do; the placeholders name its port. A port that cannot be
    /// opened ends the session.
    Listen(DataPort),
    /// Take the connection of the last data port (its first live one, waiting at most 10 s)
    /// and play the port's [`DataPlay`] on it, until done; sends nothing on the control
    /// connection. Nothing happens without such a port.
    Transfer,
    /// The server's side of a TLS handshake on the plain control connection, now, with
    /// [`Script::tls`]'s configuration; a failed handshake (or none to make: no TLS
    /// configured, or TLS already) ends the session.
    StartTls,
}

impl Act {
    /// A line: the text with CRLF added (placeholders replaced when sent).
    pub fn line(text: impl Into<String>) -> Act {
        let mut bytes = text.into().into_bytes();
        bytes.extend_from_slice(b"\r\n");
        Act::Send(bytes)
    }

    /// Lines sent in one write, each with CRLF added.
    pub fn lines<S: AsRef<str>>(lines: &[S]) -> Act {
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(line.as_ref().as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        Act::Send(bytes)
    }
}

/// What happens at the data port a PASV/EPSV advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataPort {
    /// Nothing listens there (the listener is closed before the reply): connects are
    /// refused. A transfer gets `425` after 1 s.
    Refuse,
    /// SYNs are dropped, as by a firewall (the listener's accept queue is kept full):
    /// connects time out. The port stays dropped for the rest of the session, as a firewall
    /// rule would keep it. A transfer gets `425` after 2 s.
    Filter,
    /// A listener: a transfer takes its first live connection (a client's test connection
    /// that was already closed does not count) and plays this on it.
    Accept(DataPlay),
}

impl Default for DataPort {
    /// A listener that serves the listing.
    fn default() -> Self {
        DataPort::Accept(DataPlay::default())
    }
}

/// What the server does with a data connection a transfer took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPlay {
    /// Send the transfer's `150` before taking the connection. `false`: none; the connection
    /// is taken first, as vsftpd judges a client's address before it says anything.
    pub announce: bool,
    /// Whether the data connection speaks TLS.
    pub tls: DataTls,
    /// What the server does on the connection, in order; when they are done it drops it.
    pub acts: Vec<DataAct>,
    /// The reply that ends the transfer when every act succeeded (`None`: the command's own
    /// `226`). A failed write gets `426`, a failed TLS handshake `522`.
    pub reply: Option<String>,
}

impl Default for DataPlay {
    /// The listing, then a close.
    fn default() -> Self {
        DataPlay {
            announce: true,
            tls: DataTls::Prot,
            acts: vec![DataAct::Listing, DataAct::Close],
            reply: None,
        }
    }
}

impl DataPlay {
    /// A play of these acts, announced with 150, TLS as PROT says, the usual 226.
    pub fn acts(acts: Vec<DataAct>) -> DataPlay {
        DataPlay {
            acts,
            ..DataPlay::default()
        }
    }
}

/// Whether a data connection speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataTls {
    /// As the client asked: TLS after `PROT P` on a TLS control connection (RFC 4217).
    Prot,
    /// TLS whatever PROT says (a server that ignores `PROT C`).
    Always,
    /// Plain text whatever PROT says (a server that ignores `PROT P`).
    Never,
}

/// One thing the server does on a data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataAct {
    /// Send the script's listing.
    Listing,
    /// Send these bytes.
    Send(Vec<u8>),
    /// Send these bytes `chunk` at a time, one chunk per `every`.
    Trickle {
        bytes: Vec<u8>,
        chunk: usize,
        every: Duration,
    },
    /// Send `bytes` over and over, `cap` bytes in all or until the client goes away.
    Flood { bytes: Vec<u8>, cap: usize },
    /// Pause, holding the connection.
    Wait(Duration),
    /// Send nothing; read and drop until the client goes away.
    Silent,
    /// Close: TLS close_notify (under TLS), then FIN.
    Close,
    /// Close the TCP connection without TLS close_notify (a truncation the client must
    /// notice).
    CloseWithoutNotify,
    /// Reset (RST).
    Reset,
}

/// How the server speaks TLS.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The control connection's TLS configuration (certificate, versions, client
    /// authentication).
    pub config: Arc<rustls::ServerConfig>,
    /// The data connections' configuration; `None`: the control connection's, so that their
    /// handshakes can resume its session.
    pub data_config: Option<Arc<rustls::ServerConfig>>,
    /// TLS from the first byte (implicit FTPS) instead of after `AUTH TLS`.
    pub implicit: bool,
    /// Refuse (`522`) a data handshake that did not resume the control connection's session,
    /// as vsftpd's `require_ssl_reuse=YES`.
    pub require_reuse: bool,
}

impl Tls {
    /// Explicit FTPS with one configuration for every connection.
    pub fn new(config: Arc<rustls::ServerConfig>) -> Tls {
        Tls {
            config,
            data_config: None,
            implicit: false,
            require_reuse: false,
        }
    }
}

/// What the placeholders of [`Act::Send`] stand for in one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Fill {
    /// The last data port opened (0: none yet).
    pub port: u16,
    /// The argument of the command being answered.
    pub arg: String,
    /// The argument of the last PASS.
    pub pass: String,
}

impl Fill {
    /// `bytes` with every known placeholder replaced; anything else, `{` included, stays as
    /// it is, so replies need not be UTF-8 and braces need no escaping.
    pub(super) fn expand(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes;
        while let Some(open) = rest.iter().position(|&b| b == b'{') {
            out.extend_from_slice(&rest[..open]);
            rest = &rest[open..];
            let value = rest
                .iter()
                .position(|&b| b == b'}')
                .and_then(|close| Some((self.value(&rest[1..close])?, close)));
            match value {
                Some((value, close)) => {
                    out.extend_from_slice(value.as_bytes());
                    rest = &rest[close + 1..];
                }
                None => {
                    out.push(b'{');
                    rest = &rest[1..];
                }
            }
        }
        out.extend_from_slice(rest);
        out
    }

    fn value(&self, name: &[u8]) -> Option<String> {
        Some(match name {
            b"port" => self.port.to_string(),
            b"p1" => (self.port >> 8).to_string(),
            b"p2" => (self.port & 0xff).to_string(),
            b"arg" => self.arg.clone(),
            b"pass" => self.pass.clone(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_everything_else_kept() {
        let fill = Fill {
            port: 0x1234,
            arg: "x y".to_string(),
            pass: "s3cret".to_string(),
        };
        let cases: [(&[u8], &[u8]); 7] = [
            (
                b"227 Entering Passive Mode (127,0,0,1,{p1},{p2}).",
                b"227 Entering Passive Mode (127,0,0,1,18,52).",
            ),
            (b"229 (|||{port}|)", b"229 (|||4660|)"),
            (b"530 '{arg}' / {pass}", b"530 'x y' / s3cret"),
            (b"{unknown} {", b"{unknown} {"),
            (b"{{port}}", b"{4660}"),
            (b"\xff{port\xfe}", b"\xff{port\xfe}"),
            (b"", b""),
        ];
        for (input, want) in cases {
            assert_eq!(
                fill.expand(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(Fill::default().expand(b"{p1},{p2}"), b"0,0");
    }

    #[test]
    fn override_keys_match_verbs_or_verb_and_argument() {
        let mut script = Script::default();
        script.on("PROT P", vec![Act::line("536 PROT P not allowed.")]);
        script.on("pasv", vec![Act::Close]);
        assert_eq!(script.override_for("PASV", ""), Some(&[Act::Close][..]));
        assert_eq!(
            script.override_for("PASV", "anything"),
            Some(&[Act::Close][..])
        );
        assert!(script.override_for("PROT", "p").is_some());
        assert!(script.override_for("PROT", " P ").is_some());
        assert!(script.override_for("PROT", "C").is_none());
        assert!(script.override_for("EPSV", "").is_none());
        // The latest override comes first.
        script.on("PASV", vec![Act::Reset]);
        assert_eq!(script.override_for("PASV", ""), Some(&[Act::Reset][..]));
    }

    #[test]
    fn data_ports_cycle() {
        let mut script = Script {
            data: vec![DataPort::default(), DataPort::Filter],
            ..Script::default()
        };
        let got: Vec<DataPort> = (0..4).map(|n| script.data_port(n)).collect();
        assert_eq!(
            got,
            [
                DataPort::default(),
                DataPort::Filter,
                DataPort::default(),
                DataPort::Filter
            ]
        );
        script.data.clear();
        assert_eq!(script.data_port(7), DataPort::default());
    }

    #[test]
    fn lines_are_sent_with_crlf_in_one_write() {
        assert_eq!(Act::line("220 hi"), Act::Send(b"220 hi\r\n".to_vec()));
        assert_eq!(
            Act::lines(&["215-first", "215 last"]),
            Act::Send(b"215-first\r\n215 last\r\n".to_vec())
        );
    }
}

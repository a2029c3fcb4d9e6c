//! A small scriptable FTP server that runs inside the process, on loopback. It serves
//! `pasv-doctor demo` (so a newcomer sees a real report without a server of their own) and
//! the tests, which script it to misbehave on purpose. It is a peer for the probe, not part
//! of the diagnosis: it has its own I/O and never reaches beyond the address it binds.
//!
//! Bounds: command lines are at most [`MAX_LINE`] bytes, every read and write has a timeout
//! (an idle control connection gets `421 Timeout.` after 60 s), at most [`MAX_SESSIONS`]
//! sessions run at once, and client input never panics the server. The only outgoing
//! connections it makes are to its own data listener in [`DataMode::Filter`], to fill its
//! accept queue.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout, timeout_at};

/// Longest command line accepted, without its line end; longer lines get `500`.
pub const MAX_LINE: usize = 4096;
/// Sessions served at once; further control connections get `421` and are closed.
pub const MAX_SESSIONS: usize = 64;
/// Ports tried from `port_range` for one PASV/EPSV before giving up.
const MAX_PORT_TRIES: usize = 256;
/// Connections the server opens to its own `Filter` listener, at most.
const MAX_FILLERS: usize = 4;
/// Backlog of a data listener that serves (`Serve`, `BadIp`).
const DATA_BACKLOG: u32 = 8;

/// What PASV advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advertise {
    /// The local address of the control connection (a correctly configured server).
    Local,
    /// This address (a server behind NAT with a wrong or missing external address).
    Fixed(IpAddr),
}

/// What happens at the data port the server advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// A real listener that accepts and serves LIST/NLST/MLSD/RETR.
    Serve,
    /// No listener at the advertised port: connects are refused (RST).
    Refuse,
    /// A listener whose accept queue is full, so SYNs are dropped: connects time out,
    /// as through a firewall that drops the passive range. Every such port stays dropped
    /// for the rest of the session, as a firewall rule would keep it.
    Filter,
    /// Every second PASV/EPSV port is filtered as in `Filter`, the others are served: a
    /// router that forwards only part of the passive range.
    PartialFilter,
    /// Accept the data connection, then answer the transfer command with
    /// `425 Security: Bad IP connecting.` (vsftpd's `pasv_promiscuous=NO`) and close it.
    BadIp,
}

/// How the server behaves. `Script::default()` is a healthy server.
#[derive(Debug, Clone)]
pub struct Script {
    /// Greeting lines sent as they are (CRLF added), e.g. `["220 demo"]`.
    pub greeting: Vec<String>,
    /// Accepted logins: user name and password (`None`: 230 right after USER).
    pub users: Vec<(String, Option<String>)>,
    /// Accept `anonymous` / `ftp` with any password.
    pub anonymous: bool,
    /// FEAT lines between `211-Features:` and `211 End`, e.g. `["EPSV", "PASV", "MLST type*;size*;"]`.
    pub features: Vec<String>,
    /// SYST answer text after `215 `.
    pub syst: String,
    pub advertise: Advertise,
    /// Answer PASV (`false`: `502 Command not implemented.`).
    pub pasv: bool,
    /// Answer EPSV (`false`: `502 Command not implemented.`).
    pub epsv: bool,
    pub data: DataMode,
    /// Passive ports to use, in order, cycling; `None`: kernel-chosen (random) ports.
    pub port_range: Option<RangeInclusive<u16>>,
    /// Bytes sent over the data connection for LIST / NLST / MLSD.
    pub listing: Vec<u8>,
    /// Raw reply lines (CRLF added) sent instead of the normal answer to a command, keyed
    /// by the upper-case command verb, e.g. `"PASV" => ["227 Entering Passive Mode (10,0,0,256,1,2)"]`.
    /// An overridden PASV/EPSV opens no listener.
    pub overrides: HashMap<String, Vec<String>>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            greeting: vec!["220 pasv-doctor demo FTP server ready.".to_string()],
            users: vec![("demo".to_string(), Some("demo-password".to_string()))],
            anonymous: true,
            features: ["EPSV", "PASV", "MLST type*;size*;modify*;", "UTF8"]
                .iter()
                .map(|f| f.to_string())
                .collect(),
            syst: "UNIX Type: L8".to_string(),
            advertise: Advertise::Local,
            pasv: true,
            epsv: true,
            data: DataMode::Serve,
            port_range: None,
            listing: concat!(
                "drwxr-xr-x    2 ftp      ftp          4096 Nov 24 09:58 pub\r\n",
                "-rw-r--r--    1 ftp      ftp          1024 Nov 24 10:00 readme.txt\r\n",
                "-rw-r--r--    1 ftp      ftp       1048576 Nov 23 18:42 sample.bin\r\n",
            )
            .as_bytes()
            .to_vec(),
            overrides: HashMap::new(),
        }
    }
}

/// A running server. Dropping it (or calling [`ScriptedServer::shutdown`]) stops it.
#[derive(Debug)]
pub struct ScriptedServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    accept_loop: JoinHandle<()>,
}

impl ScriptedServer {
    /// Binds `bind:0` and serves `script` to every connection until shut down.
    pub async fn start(bind: IpAddr, script: Script) -> io::Result<ScriptedServer> {
        Self::start_with(bind, script, Timeouts::default()).await
    }

    async fn start_with(
        bind: IpAddr,
        script: Script,
        timeouts: Timeouts,
    ) -> io::Result<ScriptedServer> {
        let listener = TcpListener::bind(SocketAddr::new(bind, 0)).await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            script,
            timeouts,
            next_port: AtomicUsize::new(0),
        });
        let accept_loop = tokio::spawn(accept_loop(
            listener,
            shared,
            Arc::clone(&connections),
            stop_rx,
        ));
        Ok(ScriptedServer {
            addr,
            connections,
            stop,
            accept_loop,
        })
    }

    /// The control address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many control connections have been accepted so far.
    pub fn control_connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Stops accepting and ends every session.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        // Sessions watch this channel (and also stop if the sender is gone).
        self.stop.send_replace(true);
        self.accept_loop.abort();
    }
}

/// How long the server waits for things. Tests of this module shorten them.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    /// Idle control connection: `421 Timeout.` and close.
    idle: Duration,
    /// Writing one reply or a whole listing.
    write: Duration,
    /// Waiting for the data connection of a transfer (`Serve`, `BadIp`).
    data_accept: Duration,
    /// Pause before `425` when connects are refused.
    refuse_wait: Duration,
    /// Pause before `425` when SYNs are dropped.
    filter_wait: Duration,
    /// One connect to the own `Filter` listener; a timeout means its queue is full.
    filler_connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle: Duration::from_secs(60),
            write: Duration::from_secs(30),
            data_accept: Duration::from_secs(10),
            refuse_wait: Duration::from_secs(1),
            filter_wait: Duration::from_secs(2),
            filler_connect: Duration::from_millis(100),
        }
    }
}

/// What every session of one server shares.
struct Shared {
    script: Script,
    timeouts: Timeouts,
    /// Cursor into `port_range`, so consecutive PASVs cycle through it.
    next_port: AtomicUsize,
}

/// Resolves once the server is stopped (or dropped).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    connections: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    let sessions = Arc::new(Semaphore::new(MAX_SESSIONS));
    loop {
        let accepted = tokio::select! {
            () = stopped(&mut stop) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                connections.fetch_add(1, Ordering::SeqCst);
                match Arc::clone(&sessions).try_acquire_owned() {
                    Ok(permit) => {
                        let shared = Arc::clone(&shared);
                        let mut stop = stop.clone();
                        tokio::spawn(async move {
                            tokio::select! {
                                () = stopped(&mut stop) => {}
                                () = session(stream, &shared) => {}
                            }
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        // A fresh socket has an empty send buffer: this cannot block.
                        let _ = stream.try_write(b"421 Too many connections, try again later.\r\n");
                    }
                }
            }
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::select! {
                    () = stopped(&mut stop) => return,
                    () = sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
}

/// One line read from the control connection.
enum Line {
    /// A complete line is in the buffer (line end removed).
    Complete,
    /// The line was longer than [`MAX_LINE`]; it was discarded.
    TooLong,
    /// The client closed the connection.
    Eof,
}

/// Reads one `\n`-terminated line into `buf` (without `\r\n`), keeping at most
/// [`MAX_LINE`] bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            // EOF, possibly in the middle of a line: the command is never completed.
            return Ok(Line::Eof);
        }
        let (chunk, used, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            // One byte more than the limit, for the `\r` of the line end.
            if buf.len() + chunk.len() > MAX_LINE + 1 {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if complete {
            if too_long {
                return Ok(Line::TooLong);
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            if buf.len() > MAX_LINE {
                buf.clear();
                return Ok(Line::TooLong);
            }
            return Ok(Line::Complete);
        }
    }
}

/// Splits a command line into its upper-case verb and its argument (everything after the
/// first space, as sent).
fn parse_command(line: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(line);
    let (verb, arg) = match text.split_once(' ') {
        Some((verb, arg)) => (verb, arg),
        None => (text.as_ref(), ""),
    };
    (verb.to_ascii_uppercase(), arg.to_string())
}

/// The v4 form of a v4-mapped v6 address, so a dual-stack socket is treated as IPv4.
fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

/// A listener on `addr` with `backlog`, `SO_REUSEADDR` set so a port of `port_range` can be
/// reused while old data connections are in TIME_WAIT.
fn listen_on(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Opens connections to `listener` (never accepted) until a connect times out, i.e. until
/// its accept queue is full and the kernel drops further SYNs.
async fn fill_accept_queue(listener: &TcpListener, wait: Duration) -> Vec<TcpStream> {
    let mut fillers = Vec::new();
    let Ok(addr) = listener.local_addr() else {
        return fillers;
    };
    while fillers.len() < MAX_FILLERS {
        match timeout(wait, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => fillers.push(stream),
            Ok(Err(_)) | Err(_) => break,
        }
    }
    fillers
}

/// Takes `stream` back unless the client already closed or reset it (a client that only
/// tested whether the port answers).
fn still_open(stream: TcpStream) -> Option<TcpStream> {
    let stream = stream.into_std().ok()?;
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte) {
        Ok(0) => return None,
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(_) => return None,
    }
    TcpStream::from_std(stream).ok()
}

/// Accepts the first data connection that is still open, waiting at most `wait`.
async fn accept_live(listener: &TcpListener, wait: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + wait;
    loop {
        match timeout_at(deadline, listener.accept()).await {
            Err(_) => return None,
            Ok(Ok((stream, _peer))) => {
                if let Some(stream) = still_open(stream) {
                    return Some(stream);
                }
            }
            Ok(Err(_)) => {
                if timeout_at(deadline, sleep(Duration::from_millis(10)))
                    .await
                    .is_err()
                {
                    return None;
                }
            }
        }
    }
}

/// The data side opened by the last PASV/EPSV.
enum Passive {
    None,
    /// Listening; the first live connection is served.
    Serve(TcpListener),
    /// Listening; the first live connection is rejected with `425 Security: Bad IP`.
    BadIp(TcpListener),
    /// The advertised port had a listener that was closed before the reply.
    Refuse,
    /// A listener with a full accept queue, and the connections that fill it.
    Filter {
        _listener: TcpListener,
        _fillers: Vec<TcpStream>,
    },
}

enum Flow {
    Continue,
    Close,
}

struct Session<'a> {
    shared: &'a Shared,
    writer: OwnedWriteHalf,
    /// Local address of the control connection (canonical).
    local: SocketAddr,
    /// User name given by USER, waiting for PASS.
    user: Option<String>,
    logged_in: bool,
    epsv_all: bool,
    passive: Passive,
    /// Filtered ports of earlier PASV/EPSV commands, kept dropped until the session ends.
    dropped: Vec<Passive>,
    /// PASV/EPSV listeners opened so far (PartialFilter alternates on it).
    opened: usize,
}

async fn session(stream: TcpStream, shared: &Shared) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let mut reader: BufReader<OwnedReadHalf> = BufReader::new(reader);
    let mut s = Session {
        shared,
        writer,
        local: canonical(local),
        user: None,
        logged_in: false,
        epsv_all: false,
        passive: Passive::None,
        dropped: Vec::new(),
        opened: 0,
    };
    if s.send(&shared.script.greeting).await.is_err() {
        return;
    }
    let mut line = Vec::with_capacity(256);
    loop {
        let read = timeout(shared.timeouts.idle, read_line(&mut reader, &mut line)).await;
        let flow = match read {
            Err(_) => {
                let _ = s.reply("421 Timeout.").await;
                return;
            }
            Ok(Err(_)) | Ok(Ok(Line::Eof)) => return,
            Ok(Ok(Line::TooLong)) => s
                .reply("500 Command line too long.")
                .await
                .map(|()| Flow::Continue),
            Ok(Ok(Line::Complete)) => {
                let (verb, arg) = parse_command(&line);
                s.command(&verb, &arg).await
            }
        };
        match flow {
            Ok(Flow::Continue) => {}
            Ok(Flow::Close) | Err(_) => return,
        }
    }
}

impl Session<'_> {
    /// Sends `lines`, each with CRLF, in one write.
    async fn send<S: AsRef<str>>(&mut self, lines: &[S]) -> io::Result<()> {
        let mut buf = Vec::new();
        for line in lines {
            buf.extend_from_slice(line.as_ref().as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        match timeout(self.shared.timeouts.write, self.writer.write_all(&buf)).await {
            Ok(result) => result,
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }

    async fn reply(&mut self, line: &str) -> io::Result<()> {
        self.send(&[line]).await
    }

    async fn command(&mut self, verb: &str, arg: &str) -> io::Result<Flow> {
        let shared = self.shared;
        let script = &shared.script;
        if let Some((_, lines)) = script
            .overrides
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(verb))
        {
            if lines.is_empty() {
                return Ok(Flow::Close);
            }
            self.send(lines).await?;
            return Ok(Flow::Continue);
        }
        if !self.logged_in && !matches!(verb, "USER" | "PASS" | "QUIT" | "FEAT" | "SYST" | "NOOP") {
            self.reply("530 Please login with USER and PASS.").await?;
            return Ok(Flow::Continue);
        }
        match verb {
            "USER" => self.user(arg).await?,
            "PASS" => self.pass(arg).await?,
            "ACCT" => {
                self.reply("202 Command not implemented, superfluous at this site.")
                    .await?
            }
            "FEAT" => {
                let mut lines = Vec::with_capacity(script.features.len() + 2);
                lines.push("211-Features:".to_string());
                lines.extend(script.features.iter().map(|f| format!(" {f}")));
                lines.push("211 End".to_string());
                self.send(&lines).await?;
            }
            "SYST" => self.reply(&format!("215 {}", script.syst)).await?,
            "TYPE" => {
                if arg.trim_start().starts_with(['A', 'a']) {
                    self.reply("200 Switching to ASCII mode.").await?;
                } else {
                    self.reply("200 Switching to Binary mode.").await?;
                }
            }
            "PWD" | "XPWD" => self.reply("257 \"/\" is the current directory").await?,
            "CWD" | "XCWD" => self.reply("250 Directory successfully changed.").await?,
            "NOOP" => self.reply("200 NOOP ok.").await?,
            "OPTS" => self.reply("200 Always in UTF8 mode.").await?,
            "QUIT" => {
                self.reply("221 Goodbye.").await?;
                let _ = timeout(shared.timeouts.write, self.writer.shutdown()).await;
                return Ok(Flow::Close);
            }
            "PASV" => self.pasv().await?,
            "EPSV" => self.epsv(arg).await?,
            "LIST" | "NLST" | "MLSD" | "RETR" => self.transfer(verb, arg).await?,
            _ => self.reply("502 Command not implemented.").await?,
        }
        Ok(Flow::Continue)
    }

    async fn user(&mut self, name: &str) -> io::Result<()> {
        self.logged_in = false;
        let no_password = self
            .shared
            .script
            .users
            .iter()
            .any(|(user, password)| user == name && password.is_none());
        if no_password {
            self.user = None;
            self.logged_in = true;
            self.reply("230 Login successful.").await
        } else {
            // Everyone gets 331, known or not: a wrong name shows only after PASS.
            self.user = Some(name.to_string());
            self.reply("331 Please specify the password.").await
        }
    }

    async fn pass(&mut self, password: &str) -> io::Result<()> {
        if self.logged_in {
            return self.reply("230 Already logged in.").await;
        }
        let Some(user) = self.user.take() else {
            return self.reply("503 Login with USER first.").await;
        };
        let script = &self.shared.script;
        let anonymous = script.anonymous
            && (user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp"));
        let known = script
            .users
            .iter()
            .any(|(name, expected)| *name == user && expected.as_deref() == Some(password));
        if anonymous || known {
            self.logged_in = true;
            self.reply("230 Login successful.").await
        } else {
            self.reply("530 Login incorrect.").await
        }
    }

    async fn pasv(&mut self) -> io::Result<()> {
        let script = &self.shared.script;
        if !script.pasv {
            return self.reply("502 Command not implemented.").await;
        }
        if self.epsv_all {
            return self.reply("550 PASV not allowed after EPSV ALL.").await;
        }
        let advertised: Ipv4Addr = match (&script.advertise, self.local.ip()) {
            (Advertise::Fixed(IpAddr::V4(fixed)), _) => *fixed,
            (Advertise::Fixed(IpAddr::V6(_)), _) => {
                return self
                    .reply("425 Cannot advertise an IPv6 address in PASV.")
                    .await;
            }
            (Advertise::Local, IpAddr::V4(local)) => local,
            (Advertise::Local, IpAddr::V6(_)) => {
                return self
                    .reply("500 PASV not supported over IPv6, use EPSV.")
                    .await;
            }
        };
        let Some(port) = self.open_passive().await else {
            return self.reply("425 Cannot open a passive port.").await;
        };
        let [h1, h2, h3, h4] = advertised.octets();
        let [p1, p2] = port.to_be_bytes();
        self.reply(&format!(
            "227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})."
        ))
        .await
    }

    async fn epsv(&mut self, arg: &str) -> io::Result<()> {
        if !self.shared.script.epsv {
            return self.reply("502 Command not implemented.").await;
        }
        let arg = arg.trim();
        let own_protocol = if self.local.is_ipv4() { "1" } else { "2" };
        if arg.eq_ignore_ascii_case("ALL") {
            self.epsv_all = true;
            return self.reply("200 EPSV ALL ok.").await;
        }
        if !arg.is_empty() && arg != own_protocol {
            if arg == "1" || arg == "2" {
                return self
                    .reply(&format!(
                        "522 Network protocol not supported, use ({own_protocol})"
                    ))
                    .await;
            }
            return self.reply("501 Bad EPSV argument.").await;
        }
        let Some(port) = self.open_passive().await else {
            return self.reply("425 Cannot open a passive port.").await;
        };
        self.reply(&format!("229 Entering Extended Passive Mode (|||{port}|)"))
            .await
    }

    /// Closes the previous data side and opens a new one as `data` says; returns the port
    /// to advertise.
    async fn open_passive(&mut self) -> Option<u16> {
        // Close the previous listener first, as vsftpd does (its port now answers RST, and a
        // one-port range can be reused); a filtered port stays filtered, as behind a firewall.
        if let filter @ Passive::Filter { .. } = std::mem::replace(&mut self.passive, Passive::None)
        {
            self.dropped.push(filter);
        }
        self.opened += 1;
        let data = match self.shared.script.data {
            DataMode::PartialFilter if self.opened % 2 == 0 => DataMode::Filter,
            DataMode::PartialFilter => DataMode::Serve,
            other => other,
        };
        let backlog = if data == DataMode::Filter {
            0
        } else {
            DATA_BACKLOG
        };
        let listener = self.bind_data(backlog)?;
        let port = listener.local_addr().ok()?.port();
        self.passive = match data {
            DataMode::Serve | DataMode::PartialFilter => Passive::Serve(listener),
            DataMode::BadIp => Passive::BadIp(listener),
            DataMode::Refuse => {
                drop(listener);
                Passive::Refuse
            }
            DataMode::Filter => {
                let fillers =
                    fill_accept_queue(&listener, self.shared.timeouts.filler_connect).await;
                Passive::Filter {
                    _listener: listener,
                    _fillers: fillers,
                }
            }
        };
        Some(port)
    }

    /// Binds a data listener on the control connection's local address, on the next free
    /// port of `port_range` or on a kernel-chosen port.
    fn bind_data(&self, backlog: u32) -> Option<TcpListener> {
        let at = |port: u16| {
            let mut addr = self.local;
            addr.set_port(port);
            addr
        };
        let Some(range) = &self.shared.script.port_range else {
            return listen_on(at(0), backlog).ok();
        };
        let (start, end) = (usize::from(*range.start()), usize::from(*range.end()));
        if start > end {
            return None;
        }
        let len = end - start + 1;
        for _ in 0..len.min(MAX_PORT_TRIES) {
            let offset = self.shared.next_port.fetch_add(1, Ordering::SeqCst) % len;
            let Ok(port) = u16::try_from(start + offset) else {
                continue;
            };
            if let Ok(listener) = listen_on(at(port), backlog) {
                return Some(listener);
            }
        }
        None
    }

    /// LIST, NLST, MLSD, RETR: `listing` over the data connection of the last PASV/EPSV.
    async fn transfer(&mut self, verb: &str, arg: &str) -> io::Result<()> {
        let timeouts = self.shared.timeouts;
        match std::mem::replace(&mut self.passive, Passive::None) {
            Passive::None => self.reply("425 Use PORT or PASV first.").await,
            Passive::Refuse => {
                // Nothing can connect; keep the state, as a retry fails the same way.
                self.passive = Passive::Refuse;
                sleep(timeouts.refuse_wait).await;
                self.reply("425 Failed to establish connection.").await
            }
            filter @ Passive::Filter { .. } => {
                // The sockets stay until the next PASV/EPSV or the end of the session.
                self.passive = filter;
                sleep(timeouts.filter_wait).await;
                self.reply("425 Failed to establish connection.").await
            }
            Passive::BadIp(listener) => match accept_live(&listener, timeouts.data_accept).await {
                Some(data) => {
                    drop(data);
                    self.reply("425 Security: Bad IP connecting.").await
                }
                None => self.reply("425 Failed to establish connection.").await,
            },
            Passive::Serve(listener) => {
                let listing = &self.shared.script.listing;
                let (opening, done) = if verb == "RETR" {
                    (
                        format!(
                            "150 Opening BINARY mode data connection for {} ({} bytes).",
                            arg.trim(),
                            listing.len()
                        ),
                        "226 Transfer complete.",
                    )
                } else {
                    (
                        "150 Here comes the directory listing.".to_string(),
                        "226 Directory send OK.",
                    )
                };
                self.reply(&opening).await?;
                let Some(mut data) = accept_live(&listener, timeouts.data_accept).await else {
                    return self.reply("425 Failed to establish connection.").await;
                };
                drop(listener);
                let sent = timeout(timeouts.write, async {
                    data.write_all(listing).await?;
                    data.shutdown().await
                })
                .await;
                drop(data);
                match sent {
                    Ok(Ok(())) => self.reply(done).await,
                    Ok(Err(_)) | Err(_) => self.reply("426 Failure writing network stream.").await,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn idle_control_connection_gets_421_and_is_closed() {
        let timeouts = Timeouts {
            idle: Duration::from_millis(200),
            ..Timeouts::default()
        };
        let server = ScriptedServer::start_with(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            Script::default(),
            timeouts,
        )
        .await
        .expect("server starts");
        let mut client = TcpStream::connect(server.addr()).await.expect("connect");
        let mut got = Vec::new();
        timeout(Duration::from_secs(5), client.read_to_end(&mut got))
            .await
            .expect("closed after the idle timeout")
            .expect("read");
        assert_eq!(
            got,
            b"220 pasv-doctor demo FTP server ready.\r\n421 Timeout.\r\n"
        );
    }

    #[tokio::test]
    async fn read_line_strips_line_ends_and_bounds_length() {
        let mut long = vec![b'a'; MAX_LINE + 1];
        long.extend_from_slice(b"\r\nNOOP\nexact");
        let mut input: &[u8] = &long;
        let mut buf = Vec::new();
        assert!(matches!(
            read_line(&mut input, &mut buf).await,
            Ok(Line::TooLong)
        ));
        assert!(matches!(
            read_line(&mut input, &mut buf).await,
            Ok(Line::Complete)
        ));
        assert_eq!(buf, b"NOOP");
        // A line without its end is never a command.
        assert!(matches!(
            read_line(&mut input, &mut buf).await,
            Ok(Line::Eof)
        ));

        let mut exact = vec![b'b'; MAX_LINE];
        exact.extend_from_slice(b"\r\n");
        let mut input: &[u8] = &exact;
        assert!(matches!(
            read_line(&mut input, &mut buf).await,
            Ok(Line::Complete)
        ));
        assert_eq!(buf.len(), MAX_LINE);
    }

    #[test]
    fn commands_split_into_upper_case_verb_and_raw_argument() {
        assert_eq!(
            parse_command(b"pass  two spaces"),
            ("PASS".to_string(), " two spaces".to_string())
        );
        assert_eq!(parse_command(b"Pasv"), ("PASV".to_string(), String::new()));
        assert_eq!(parse_command(b""), (String::new(), String::new()));
        assert_eq!(parse_command(b"\xff\xfe x").0, "\u{fffd}\u{fffd}");
    }

    #[test]
    fn mapped_addresses_are_treated_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:21".parse().expect("address");
        assert_eq!(canonical(mapped), "127.0.0.1:21".parse().expect("address"));
        let v6: SocketAddr = "[::1]:21".parse().expect("address");
        assert_eq!(canonical(v6), v6);
    }
}

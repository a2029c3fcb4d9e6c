//! A scriptable fake FTP server that runs inside the process, on an address it is given
//! (loopback in the demo and the tests). `pasv-doctor demo` plays its scenarios on it, and
//! the tests script it to misbehave on purpose; every behaviour is data in a [`Script`]
//! (`script.rs`), so the server's code knows no scenario. It is a peer for the probe, not part
//! of the diagnosis: it has its own I/O and never reaches beyond the address it binds.
//!
//! Layout: the listener and its sessions (here), one session's command loop and built-in
//! answers (`session.rs`), the command-line reader (`reader.rs`, pure), a connection plain or
//! TLS (`conn.rs`), PASV/EPSV and data ports (`passive.rs`), transfers (`data.rs`).
//!
//! Bounds: command lines are at most [`MAX_LINE`] bytes, every write has a timeout, every
//! read of a command too (an idle control connection gets `421 Timeout.` after 60 s), at
//! most [`MAX_SESSIONS`] sessions run at once, the command log keeps at most
//! [`MAX_LOGGED`] lines, and client input never panics the server. The only outgoing
//! connections it makes are to its own data listener behind [`DataPort::Filter`], to fill its
//! accept queue.

mod conn;
mod data;
mod passive;
mod reader;
mod script;
mod session;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::sleep;

pub use reader::MAX_LINE;
pub use script::{Act, Advertise, DataAct, DataPlay, DataPort, DataTls, Login, Script, Tls};

/// Sessions served at once; further control connections get `421` and are closed.
pub const MAX_SESSIONS: usize = 64;
/// Command lines kept in the log of one server.
pub const MAX_LOGGED: usize = 10_000;

/// A command line the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The line without its line end, lossily decoded; a PASS argument is masked.
    pub line: String,
    /// It came over TLS.
    pub tls: bool,
}

/// A running server. Dropping it (or calling [`FakeServer::shutdown`]) stops it.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    accept_loop: JoinHandle<()>,
}

impl FakeServer {
    /// Binds `bind:0` and serves `script` to every connection until shut down.
    pub async fn start(bind: IpAddr, script: Script) -> io::Result<FakeServer> {
        Self::start_with(bind, script, Timeouts::default()).await
    }

    async fn start_with(
        bind: IpAddr,
        script: Script,
        timeouts: Timeouts,
    ) -> io::Result<FakeServer> {
        let listener = TcpListener::bind(SocketAddr::new(bind, 0)).await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            script,
            timeouts,
            next_port: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let accept_loop = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            Arc::clone(&connections),
            stop_rx,
        ));
        Ok(FakeServer {
            addr,
            connections,
            shared,
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

    /// The command lines received so far, in order, on every connection.
    pub fn commands(&self) -> Vec<Received> {
        self.shared
            .log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }

    /// Stops accepting and ends every session.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // Sessions watch this channel (and also stop if the sender is gone).
        self.stop.send_replace(true);
        self.accept_loop.abort();
    }
}

/// How long the server waits for things. Tests of this module shorten them.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    /// Idle control connection: `421 Timeout.` and close; also bounds each read of a
    /// connection that drains its client.
    idle: Duration,
    /// Writing one reply or one piece of data.
    write: Duration,
    /// Waiting for the data connection of a transfer.
    data_accept: Duration,
    /// A TLS handshake, control or data.
    handshake: Duration,
    /// Waiting for the client's bytes in [`Act::Receive`] and [`Act::AwaitInput`].
    peer_wait: Duration,
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
            handshake: Duration::from_secs(10),
            peer_wait: Duration::from_secs(5),
            refuse_wait: Duration::from_secs(1),
            filter_wait: Duration::from_secs(2),
            filler_connect: Duration::from_millis(100),
        }
    }
}

/// What every session of one server shares.
#[derive(Debug)]
struct Shared {
    script: Script,
    timeouts: Timeouts,
    /// Cursor into `port_range`, so consecutive PASVs cycle through it.
    next_port: AtomicUsize,
    log: Mutex<Vec<Received>>,
}

impl Shared {
    /// Logs a command line, its PASS argument masked.
    fn log(&self, line: &[u8], tls: bool) {
        let text = String::from_utf8_lossy(line);
        let line = match text.split_once(' ') {
            Some((verb, _)) if verb.eq_ignore_ascii_case("PASS") => format!("{verb} ********"),
            _ => text.into_owned(),
        };
        if let Ok(mut log) = self.log.lock()
            && log.len() < MAX_LOGGED
        {
            log.push(Received { line, tls });
        }
    }
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
                                () = session::run(stream, &shared) => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tokio::io::AsyncReadExt;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    use tokio::time::timeout;

    async fn start(script: Script, timeouts: Timeouts) -> FakeServer {
        FakeServer::start_with(IpAddr::V4(Ipv4Addr::LOCALHOST), script, timeouts)
            .await
            .expect("server starts")
    }

    #[tokio::test]
    async fn idle_control_connection_gets_421_and_is_closed() {
        let timeouts = Timeouts {
            idle: Duration::from_millis(200),
            ..Timeouts::default()
        };
        let server = start(Script::default(), timeouts).await;
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
    async fn commands_are_logged_with_the_password_masked() {
        let mut script = Script {
            login: Login::Open,
            ..Script::default()
        };
        script.on("SITE", vec![Act::line("200 {arg} / {pass}"), Act::Close]);
        let server = start(script, Timeouts::default()).await;
        let mut client = TcpStream::connect(server.addr()).await.expect("connect");
        client
            .write_all(b"USER a\r\nPASS s3cret\r\nSITE x\r\n")
            .await
            .expect("write");
        let mut got = Vec::new();
        timeout(Duration::from_secs(5), client.read_to_end(&mut got))
            .await
            .expect("closed by the script")
            .expect("read");
        assert!(
            got.ends_with(b"230 Login successful.\r\n200 x / s3cret\r\n"),
            "{}",
            String::from_utf8_lossy(&got)
        );
        let lines: Vec<String> = server.commands().into_iter().map(|r| r.line).collect();
        assert_eq!(lines, ["USER a", "PASS ********", "SITE x"]);
    }
}

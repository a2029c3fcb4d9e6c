//! Test kit for the session steps (test builds only): a [`Connector`] whose connections are
//! `tokio::io::duplex` pipes to a scripted FTP peer, so every step runs without sockets.
//! The control peer answers each command from a per-verb queue of replies; data ports
//! refuse, stay silent (the caller's timeout ends the wait) or serve bytes, in plain text
//! or TLS. Every connection attempt and every command received is logged for assertions.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use super::super::control::Clock;
use super::super::net::{BoxFuture, Connection, Connector, Io, Listener, Net};
use super::super::tls::TlsOptions;
use super::SessionPlan;
use crate::secret::Secret;
use crate::transcript::TlsRequest;

/// The control address the scripted server answers on (never a real socket).
pub const SERVER: &str = "127.0.0.1:21";

/// What the peer does for a command.
#[derive(Debug, Clone)]
pub enum Act {
    /// Reply with these lines (each sent with CRLF).
    Say(String),
    /// Wait this long, then reply with these lines (a server slow on one command).
    Late(Duration, String),
    /// Read the command and never answer it.
    Silent,
    /// Close the connection.
    Close,
}

/// A scripted control connection.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    greeting: Vec<Act>,
    replies: HashMap<String, VecDeque<Act>>,
    /// TLS from the first byte (implicit FTPS).
    implicit: bool,
}

impl Peer {
    /// A server that greets with `220`.
    pub fn new() -> Peer {
        Peer::default().greet("220 scripted")
    }

    pub fn greet(mut self, line: &str) -> Peer {
        self.greeting.push(Act::Say(line.to_string()));
        self
    }

    pub fn greet_act(mut self, act: Act) -> Peer {
        self.greeting = vec![act];
        self
    }

    /// Answers the next `verb` command with `reply` (several calls queue up).
    pub fn on(self, verb: &str, reply: &str) -> Peer {
        self.act(verb, Act::Say(reply.to_string()))
    }

    pub fn act(mut self, verb: &str, act: Act) -> Peer {
        self.replies
            .entry(verb.to_ascii_uppercase())
            .or_default()
            .push_back(act);
        self
    }

    /// A logged-in anonymous session that answers PASV and EPSV with these ports.
    pub fn anonymous(pasv: u16, epsv: u16) -> Peer {
        Peer::new()
            .on("USER", "331 Please specify the password.")
            .on("PASS", "230 Login successful.")
            .on("TYPE", "200 Switching to Binary mode.")
            .on("PWD", "257 \"/\"")
            .passive(pasv, epsv)
    }

    /// Answers every PASV and EPSV (up to 8 each) with these ports on 127.0.0.1.
    pub fn passive(mut self, pasv: u16, epsv: u16) -> Peer {
        for _ in 0..8 {
            self = self
                .on(
                    "PASV",
                    &format!(
                        "227 Entering Passive Mode (127,0,0,1,{},{}).",
                        pasv >> 8,
                        pasv & 0xff
                    ),
                )
                .on(
                    "EPSV",
                    &format!("229 Entering Extended Passive Mode (|||{epsv}|)"),
                );
        }
        self
    }

    pub fn implicit_tls(mut self) -> Peer {
        self.implicit = true;
        self
    }
}

/// What a data port does.
#[derive(Debug, Clone)]
pub enum Port {
    Refuse,
    /// Never completes the connection.
    Silent,
    /// Accepts, sends these bytes, closes.
    Serve(Vec<u8>),
    /// Accepts TLS, sends these bytes, closes with close_notify.
    ServeTls(Vec<u8>),
}

/// The scripted network: one control peer per control connection, in order, and data ports.
#[derive(Clone)]
pub struct Scripted {
    peers: Arc<Mutex<VecDeque<Peer>>>,
    ports: HashMap<SocketAddr, Port>,
    tls: Arc<rustls::ServerConfig>,
    /// Every connection attempt, in order.
    pub connects: Arc<Mutex<Vec<SocketAddr>>>,
    /// Every command the control peers received, in order.
    pub received: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub fn new(peers: Vec<Peer>) -> Scripted {
        Scripted {
            peers: Arc::new(Mutex::new(peers.into())),
            ports: HashMap::new(),
            tls: Arc::new(server_config()),
            connects: Arc::default(),
            received: Arc::default(),
        }
    }

    pub fn port(mut self, port: u16, behaviour: Port) -> Scripted {
        self.ports
            .insert(SocketAddr::new([127, 0, 0, 1].into(), port), behaviour);
        self
    }

    pub fn net(&self) -> Net {
        Arc::new(self.clone())
    }

    pub fn commands(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    pub fn connects_to(&self, port: u16) -> usize {
        let connects = self.connects.lock().unwrap();
        connects.iter().filter(|a| a.port() == port).count()
    }
}

fn server_config() -> rustls::ServerConfig {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(ck.cert.der().to_vec())], key)
        .unwrap()
}

fn pipe() -> (Connection, tokio::io::DuplexStream) {
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    let conn = Connection {
        stream: Box::new(ours),
        local: Some("127.0.0.1:40000".parse().unwrap()),
    };
    (conn, theirs)
}

impl Connector for Scripted {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Connection>> {
        self.connects.lock().unwrap().push(addr);
        Box::pin(async move {
            if addr == SERVER.parse().unwrap() {
                let Some(peer) = self.peers.lock().unwrap().pop_front() else {
                    return Err(io::ErrorKind::ConnectionRefused.into());
                };
                let (conn, theirs) = pipe();
                let received = self.received.clone();
                let tls = TlsAcceptor::from(self.tls.clone());
                tokio::spawn(serve(Box::new(theirs), peer, tls, received));
                return Ok(conn);
            }
            match self.ports.get(&addr).cloned() {
                Some(Port::Refuse) => Err(io::ErrorKind::ConnectionRefused.into()),
                Some(Port::Silent) => std::future::pending().await,
                Some(Port::Serve(bytes)) => {
                    let (conn, mut theirs) = pipe();
                    tokio::spawn(async move {
                        let _ = theirs.write_all(&bytes).await;
                        let _ = theirs.shutdown().await;
                    });
                    Ok(conn)
                }
                Some(Port::ServeTls(bytes)) => {
                    let (conn, theirs) = pipe();
                    let tls = TlsAcceptor::from(self.tls.clone());
                    tokio::spawn(async move {
                        if let Ok(mut s) = tls.accept(theirs).await {
                            let _ = s.write_all(&bytes).await;
                            let _ = s.shutdown().await;
                        }
                    });
                    Ok(conn)
                }
                None => Err(io::Error::other("no such address in the script")),
            }
        })
    }

    fn listen(&self, _addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>> {
        Box::pin(async { Err(io::Error::other("listening is not scripted")) })
    }
}

/// Reads one CRLF- or LF-ended line; `None` at the end of the stream.
async fn read_line(io: &mut Box<dyn Io>) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match io.read(&mut byte).await {
            Ok(1) if byte[0] == b'\n' => break,
            Ok(1) => line.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&line).trim_end().to_string())
}

async fn say(io: &mut Box<dyn Io>, act: &Act) -> bool {
    match act {
        Act::Say(text) => io.write_all(format!("{text}\r\n").as_bytes()).await.is_ok(),
        Act::Late(wait, text) => {
            tokio::time::sleep(*wait).await;
            io.write_all(format!("{text}\r\n").as_bytes()).await.is_ok()
        }
        Act::Silent => true,
        Act::Close => false,
    }
}

async fn serve(
    mut io: Box<dyn Io>,
    mut peer: Peer,
    tls: TlsAcceptor,
    log: Arc<Mutex<Vec<String>>>,
) {
    if peer.implicit {
        match tls.accept(io).await {
            Ok(s) => io = Box::new(s),
            Err(_) => return,
        }
    }
    for act in peer.greeting.clone() {
        if !say(&mut io, &act).await {
            return;
        }
    }
    while let Some(line) = read_line(&mut io).await {
        log.lock().unwrap().push(line.clone());
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let verb = if line.eq_ignore_ascii_case("TYPE I") {
            "TYPE".to_string()
        } else {
            verb
        };
        let act = peer
            .replies
            .get_mut(&verb)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| match verb.as_str() {
                "QUIT" => Act::Say("221 Goodbye.".to_string()),
                _ => Act::Say("502 Not scripted.".to_string()),
            });
        let upgrade = verb == "AUTH" && matches!(&act, Act::Say(t) if t.starts_with("234"));
        if !say(&mut io, &act).await || verb == "QUIT" {
            return;
        }
        if upgrade {
            match tls.accept(io).await {
                Ok(s) => io = Box::new(s),
                Err(_) => return,
            }
        }
    }
}

/// A plan for `user`, with short waits so silent peers end tests quickly.
pub fn plan(user: &str, password: Option<&str>, tls: TlsRequest) -> SessionPlan {
    SessionPlan {
        clock: Clock::new(Duration::from_millis(300), Duration::from_secs(10)),
        user: user.to_string(),
        password: password.map(|p| Secret::new(p.to_string())),
        samples: 1,
        transfers: 2,
        probe_advertised: false,
        own: Vec::new(),
        path: None,
        host: "localhost".to_string(),
        tls,
        tls_options: TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        },
        prot_clear: false,
        compare_plain: false,
        active: false,
        active_address: None,
        progress: Default::default(),
    }
}

/// Runs a whole session against the scripted network.
pub async fn check(net: &Scripted, plan: &SessionPlan) -> crate::transcript::ServerSession {
    super::check(SERVER.parse().unwrap(), "literal", plan, net.net()).await
}

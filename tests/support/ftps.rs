//! A small FTPS server for tests, on 127.0.0.1: explicit (AUTH TLS) or implicit TLS,
//! PBSZ/PROT, PASV/EPSV and LIST over TLS data connections, with switches for the
//! behaviours the checks must recognise (session reuse required, AUTH refused, PROT P
//! refused, TLS 1.2 only, a PASV address that differs in plain text as an ALG would make
//! it) and for hostile TLS behaviours (`tests/hostile_tls.rs`): what follows the 234
//! ([`AfterAuth`]: a stalled or aborted handshake, plain text, injected bytes, an old-TLS
//! answer), a client certificate required, and what data connections do ([`DataMode`]: a
//! stalled handshake, plain text under PROT P, TLS under PROT C, no close_notify, another
//! certificate). Certificates come from rcgen: a private CA, leaves signed by it (valid,
//! expired, wrong name), a CA certificate served as the server's own, and self-signed ones. Every command line received is logged
//! ([`Ftps::commands`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A private CA and what it signs.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate chain with its key.
#[derive(Clone)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
}

impl Pki {
    pub fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pasv-doctor test CA");
        let key = KeyPair::generate().expect("key");
        Pki {
            ca: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A leaf for `names`, valid from `days_from`..`days_to` days around now.
    pub fn leaf(&self, names: &[&str], days_from: i64, days_to: i64) -> Identity {
        self.signed(names, days_from, days_to, false)
    }

    /// A CA certificate (basic constraints CA:TRUE) for `names`, signed by this CA: what a
    /// server configured with a CA's certificate instead of its own presents.
    pub fn ca_as_leaf(&self, names: &[&str]) -> Identity {
        self.signed(names, -1, 365, true)
    }

    fn signed(&self, names: &[&str], days_from: i64, days_to: i64, ca: bool) -> Identity {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        let now = time_now();
        params.not_before = now + time_days(days_from);
        params.not_after = now + time_days(days_to);
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().copied().unwrap_or("leaf"),
        );
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        Identity {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
        }
    }
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn time_days(d: i64) -> time::Duration {
    time::Duration::days(d)
}

/// A self-signed certificate for `names`.
pub fn self_signed(names: &[&str]) -> Identity {
    let ck =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("self-signed");
    Identity {
        chain: vec![ck.cert.der().clone()],
        key_der: ck.signing_key.serialize_der(),
    }
}

/// What the server does right after its `234` to AUTH TLS.
#[derive(Clone, Debug, Default)]
pub enum AfterAuth {
    /// The TLS handshake (RFC 4217).
    #[default]
    Handshake,
    /// Nothing: it neither reads nor sends (a stalled handshake), until the client leaves.
    Stall,
    /// Reads the ClientHello and closes (a handshake aborted mid-way).
    Close,
    /// Stays in plain text: reads the ClientHello and answers it with a plain-text reply.
    PlainText,
    /// Sends these bytes in the same write as the 234, then does the handshake (plaintext
    /// injected before TLS starts, the STARTTLS attack on the client side).
    InjectWith234(Vec<u8>),
    /// Sends these bytes once the ClientHello has arrived (so the client has read the 234
    /// and everything before it), then does the handshake.
    InjectBeforeServerHello(Vec<u8>),
    /// Reads the ClientHello, answers with these raw bytes (e.g. a TLS alert record) and
    /// closes: a peer that is not rustls, such as a TLS 1.0-only server.
    Answer(Vec<u8>),
}

/// What the server does on a data connection (after its 150).
#[derive(Clone, Default)]
pub enum DataMode {
    /// Plain or TLS as PROT says, the listing, then 226.
    #[default]
    Normal,
    /// Accepts the TCP connection and then neither reads nor sends for 10 s (a stalled
    /// TLS handshake), then 426.
    Stall,
    /// Under PROT P: sends the listing in plain text anyway, then 226.
    PlainDespiteProtP,
    /// Under PROT C: waits for a TLS handshake anyway (up to 5 s), then 522.
    TlsDespiteProtC,
    /// Under PROT P: the handshake, half the listing, then a TCP close without TLS
    /// close_notify, then this reply on the control connection.
    CloseWithoutNotify(&'static str),
    /// Under PROT P: the data connections present this certificate (a server config of
    /// their own, so no session of the control connection resumes there).
    OtherCertificate(Identity),
}

/// How the server behaves.
#[derive(Clone)]
pub struct FtpsScript {
    pub identity: Identity,
    /// TLS from the first byte (else AUTH TLS).
    pub implicit: bool,
    /// Answer AUTH TLS with 234 (else 502).
    pub auth_tls: bool,
    /// Refuse (522) a data TLS handshake that did not resume the control session.
    pub require_reuse: bool,
    /// Answer PROT P with 536.
    pub refuse_prot_p: bool,
    /// Speak TLS 1.2 only.
    pub tls12_only: bool,
    /// PASV names this address while the control connection is in plain text (what a
    /// router's FTP helper makes of the reply); under TLS it names the local address.
    pub plain_pasv_address: Option<Ipv4Addr>,
    pub listing: Vec<u8>,
    /// What follows the 234 to AUTH TLS.
    pub after_auth: AfterAuth,
    /// Require a client certificate (the client sends none: the server answers with an
    /// alert, during the handshake in TLS 1.2, after the client's Finished in TLS 1.3).
    pub require_client_cert: bool,
    /// What data connections do.
    pub data: DataMode,
    /// The 220 greeting (a product's banner makes the report name that product's settings).
    pub greeting: String,
}

impl FtpsScript {
    pub fn new(identity: Identity) -> FtpsScript {
        FtpsScript {
            identity,
            implicit: false,
            auth_tls: true,
            require_reuse: false,
            refuse_prot_p: false,
            tls12_only: false,
            plain_pasv_address: None,
            listing: b"-rw-r--r-- 1 ftp ftp 1024 Nov 24 10:00 readme.txt\r\n".to_vec(),
            after_auth: AfterAuth::Handshake,
            require_client_cert: false,
            data: DataMode::Normal,
            greeting: "220 pasv-doctor test FTPS server".to_string(),
        }
    }
}

/// A running server with its own runtime.
pub struct Ftps {
    pub addr: SocketAddr,
    commands: Arc<Mutex<Vec<String>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Ftps {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The control connection, plain or TLS.
enum Ctl {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Gone,
}

impl Ctl {
    async fn read_byte(&mut self) -> Option<u8> {
        let mut b = [0u8; 1];
        let n = match self {
            Ctl::Plain(s) => s.read(&mut b).await.ok()?,
            Ctl::Tls(s) => s.read(&mut b).await.ok()?,
            Ctl::Gone => return None,
        };
        (n == 1).then_some(b[0])
    }

    async fn write(&mut self, bytes: &[u8]) -> bool {
        match self {
            Ctl::Plain(s) => s.write_all(bytes).await.is_ok(),
            Ctl::Tls(s) => s.write_all(bytes).await.is_ok() && s.flush().await.is_ok(),
            Ctl::Gone => false,
        }
    }
}

impl Ftps {
    pub fn start(script: FtpsScript) -> Ftps {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let acceptor = acceptor_for(&script, &script.identity);
        let data_acceptor = match &script.data {
            DataMode::OtherCertificate(other) => acceptor_for(&script, other),
            _ => acceptor.clone(),
        };
        let listener = rt
            .block_on(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let script = Arc::new(script);
        let commands = Arc::new(Mutex::new(Vec::new()));
        let log = commands.clone();
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptors = Acceptors {
                    control: acceptor.clone(),
                    data: data_acceptor.clone(),
                };
                let (script, log) = (script.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(30),
                        session(stream, script, acceptors, log),
                    )
                    .await;
                });
            }
        });
        Ftps {
            addr,
            commands,
            rt: Some(rt),
        }
    }

    /// Every command line received so far, `plain: ...` or `tls: ...`.
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// A TLS server configuration for `identity` with the script's versions and client
/// authentication.
fn acceptor_for(script: &FtpsScript, identity: &Identity) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if script.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions");
    let builder = if script.require_client_cert {
        // Any anchor will do: the client sends no certificate at all.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(identity.chain[0].clone()).expect("trust anchor");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(identity.chain.clone(), key)
        .expect("server config");
    TlsAcceptor::from(Arc::new(config))
}

struct Acceptors {
    control: TlsAcceptor,
    data: TlsAcceptor,
}

async fn read_line(io: &mut Ctl) -> Option<String> {
    let mut line = Vec::new();
    loop {
        match io.read_byte().await? {
            b'\n' => break,
            b => line.push(b),
        }
        if line.len() > 4096 {
            return None;
        }
    }
    Some(
        String::from_utf8_lossy(&line)
            .trim_end_matches('\r')
            .to_string(),
    )
}

async fn send(io: &mut Ctl, line: &str) -> bool {
    io.write(format!("{line}\r\n").as_bytes()).await
}

/// Reads whatever the client sent first (its ClientHello), at most 5 s.
async fn read_some(tcp: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
}

/// Holds a connection without reading or sending until `limit` passes.
async fn stall(limit: Duration) {
    tokio::time::sleep(limit).await;
}

/// What the server does after its 234: `Some` is the control connection to go on with.
async fn after_auth(
    script: &FtpsScript,
    mut tcp: TcpStream,
    acceptor: &TlsAcceptor,
) -> Option<Ctl> {
    let handshake = |tcp| async move { acceptor.accept(tcp).await.ok() };
    match &script.after_auth {
        AfterAuth::Handshake => {
            tcp.write_all(b"234 Proceed with negotiation.\r\n")
                .await
                .ok()?;
            Some(Ctl::Tls(Box::new(handshake(tcp).await?)))
        }
        AfterAuth::Stall => {
            tcp.write_all(b"234 Proceed with negotiation.\r\n")
                .await
                .ok()?;
            stall(Duration::from_secs(20)).await;
            None
        }
        AfterAuth::Close => {
            tcp.write_all(b"234 Proceed with negotiation.\r\n")
                .await
                .ok()?;
            read_some(&mut tcp).await;
            let _ = tcp.shutdown().await;
            None
        }
        AfterAuth::PlainText => {
            tcp.write_all(b"234 Proceed with negotiation.\r\n")
                .await
                .ok()?;
            read_some(&mut tcp).await;
            tcp.write_all(b"500 Unknown command.\r\n").await.ok()?;
            // Plain text from now on; the client gave up on TLS and has nothing to say.
            Some(Ctl::Plain(tcp))
        }
        AfterAuth::InjectWith234(bytes) => {
            let mut wire = b"234 Proceed with negotiation.\r\n".to_vec();
            wire.extend_from_slice(bytes);
            tcp.write_all(&wire).await.ok()?;
            Some(Ctl::Tls(Box::new(handshake(tcp).await?)))
        }
        AfterAuth::InjectBeforeServerHello(bytes) => {
            tcp.write_all(b"234 Proceed with negotiation.\r\n")
                .await
                .ok()?;
            // Wait for the ClientHello without taking it: the handshake still reads it.
            let mut buf = [0u8; 1];
            let peeked = tokio::time::timeout(Duration::from_secs(5), tcp.peek(&mut buf)).await;
            if !matches!(peeked, Ok(Ok(1))) {
                return None;
            }
            tcp.write_all(bytes).await.ok()?;
            Some(Ctl::Tls(Box::new(handshake(tcp).await?)))
        }
        AfterAuth::Answer(bytes) => {
            tcp.write_all(b"234 Proceed with negotiation.\r\n")
                .await
                .ok()?;
            read_some(&mut tcp).await;
            let _ = tcp.write_all(bytes).await;
            let _ = tcp.shutdown().await;
            None
        }
    }
}

/// Serves one listing on an accepted data connection; the reply that ends the transfer.
async fn serve_data(
    script: &FtpsScript,
    data: TcpStream,
    acceptor: &TlsAcceptor,
    protected: bool,
) -> String {
    let accept = |data| async move {
        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(data))
            .await
            .ok()
            .and_then(Result::ok)
    };
    match (&script.data, protected) {
        (DataMode::Stall, _) => {
            let _held = data;
            stall(Duration::from_secs(10)).await;
            return "426 Failure reading network stream.".to_string();
        }
        (DataMode::PlainDespiteProtP, true) | (DataMode::Normal, false) => {
            let mut data = data;
            let _ = data.write_all(&script.listing).await;
            let _ = data.shutdown().await;
        }
        (DataMode::TlsDespiteProtC, false) => {
            let Some(mut data) = accept(data).await else {
                return "522 SSL connection failed.".to_string();
            };
            let _ = data.write_all(&script.listing).await;
            let _ = data.shutdown().await;
        }
        (DataMode::CloseWithoutNotify(then), true) => {
            let Some(mut data) = accept(data).await else {
                return "522 SSL connection failed.".to_string();
            };
            let half = &script.listing[..script.listing.len() / 2];
            let _ = data.write_all(half).await;
            let _ = data.flush().await;
            // Drop the TLS session without close_notify: only the TCP FIN goes out.
            let (mut tcp, _) = data.into_inner();
            let _ = tcp.shutdown().await;
            return (*then).to_string();
        }
        (_, true) => {
            let Some(mut data) = accept(data).await else {
                return "522 SSL connection failed.".to_string();
            };
            let resumed = data.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
            if script.require_reuse && !resumed {
                // vsftpd's answer with require_ssl_reuse=YES.
                return "522 SSL connection failed: session reuse required".to_string();
            }
            let _ = data.write_all(&script.listing).await;
            let _ = data.shutdown().await;
        }
        (_, false) => {
            let mut data = data;
            let _ = data.write_all(&script.listing).await;
            let _ = data.shutdown().await;
        }
    }
    "226 Directory send OK.".to_string()
}

async fn session(
    stream: TcpStream,
    script: Arc<FtpsScript>,
    acceptors: Acceptors,
    log: Arc<Mutex<Vec<String>>>,
) {
    let local = stream.local_addr().ok().map(|a| a.ip());
    let mut io = if script.implicit {
        match acceptors.control.accept(stream).await {
            Ok(tls) => Ctl::Tls(Box::new(tls)),
            Err(_) => return,
        }
    } else {
        Ctl::Plain(stream)
    };
    let mut tls = script.implicit;
    let mut prot_p = false;
    let mut logged_in = false;
    let mut listener: Option<TcpListener> = None;
    if !send(&mut io, &script.greeting).await {
        return;
    }
    while let Some(line) = read_line(&mut io).await {
        if let Ok(mut log) = log.lock() {
            log.push(format!("{}: {line}", if tls { "tls" } else { "plain" }));
        }
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let verb = verb.to_ascii_uppercase();
        let reply = match verb.as_str() {
            "FEAT" => {
                let _ = send(&mut io, "211-Features:").await;
                for f in [" AUTH TLS", " PBSZ", " PROT", " EPSV", " PASV"] {
                    let _ = send(&mut io, f).await;
                }
                "211 End".to_string()
            }
            "AUTH" if script.auth_tls && !tls => {
                let Ctl::Plain(tcp) = std::mem::replace(&mut io, Ctl::Gone) else {
                    return;
                };
                let Some(next) = after_auth(&script, tcp, &acceptors.control).await else {
                    return;
                };
                tls = matches!(next, Ctl::Tls(_));
                io = next;
                continue;
            }
            "AUTH" => "502 AUTH not available.".to_string(),
            "SYST" => "215 UNIX Type: L8".to_string(),
            "USER" => "331 Please specify the password.".to_string(),
            "PASS" => {
                logged_in = true;
                "230 Login successful.".to_string()
            }
            "PBSZ" => "200 PBSZ=0".to_string(),
            "PROT" if arg.eq_ignore_ascii_case("P") && script.refuse_prot_p => {
                "536 PROT P not allowed.".to_string()
            }
            "PROT" => {
                prot_p = arg.eq_ignore_ascii_case("P");
                "200 PROT now set.".to_string()
            }
            "TYPE" => "200 Switching to Binary mode.".to_string(),
            "PWD" => "257 \"/\" is the current directory".to_string(),
            "QUIT" => {
                let _ = send(&mut io, "221 Goodbye.").await;
                return;
            }
            "PASV" | "EPSV" if logged_in => {
                let Some(ip) = local else { return };
                let Ok(l) = TcpListener::bind((ip, 0)).await else {
                    return;
                };
                let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                listener = Some(l);
                if verb == "EPSV" {
                    format!("229 Entering Extended Passive Mode (|||{port}|)")
                } else {
                    let shown = match (tls, script.plain_pasv_address, ip) {
                        (false, Some(a), _) => a,
                        (_, _, IpAddr::V4(v4)) => v4,
                        _ => Ipv4Addr::LOCALHOST,
                    };
                    let o = shown.octets();
                    format!(
                        "227 Entering Passive Mode ({},{},{},{},{},{}).",
                        o[0],
                        o[1],
                        o[2],
                        o[3],
                        port >> 8,
                        port & 0xff
                    )
                }
            }
            "LIST" | "NLST" | "MLSD" if logged_in => {
                let Some(l) = listener.take() else {
                    let _ = send(&mut io, "425 Use PASV first.").await;
                    continue;
                };
                if !send(&mut io, "150 Here comes the directory listing.").await {
                    return;
                }
                let Ok(Ok((data, _))) =
                    tokio::time::timeout(Duration::from_secs(5), l.accept()).await
                else {
                    let _ = send(&mut io, "425 Failed to establish connection.").await;
                    continue;
                };
                serve_data(&script, data, &acceptors.data, prot_p && tls).await
            }
            _ if !logged_in => "530 Please login with USER and PASS.".to_string(),
            _ => "502 Command not implemented.".to_string(),
        };
        if !send(&mut io, &reply).await {
            return;
        }
    }
}

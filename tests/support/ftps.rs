//! A small FTPS server for tests, on 127.0.0.1: explicit (AUTH TLS) or implicit TLS,
//! PBSZ/PROT, PASV/EPSV and LIST over TLS data connections, with switches for the
//! behaviours the checks must recognise (session reuse required, AUTH refused, PROT P
//! refused, TLS 1.2 only, a PASV address that differs in plain text as an ALG would make
//! it). Certificates come from rcgen: a private CA, leaves signed by it (valid, expired,
//! wrong name) and self-signed ones.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
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
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        let now = time_now();
        params.not_before = now + time_days(days_from);
        params.not_after = now + time_days(days_to);
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
        }
    }
}

/// A running server with its own runtime.
pub struct Ftps {
    pub addr: SocketAddr,
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
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if script.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(script.identity.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(script.identity.chain.clone(), key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = rt
            .block_on(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let script = Arc::new(script);
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, acceptor) = (script.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(30),
                        session(stream, script, acceptor),
                    )
                    .await;
                });
            }
        });
        Ftps { addr, rt: Some(rt) }
    }
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

async fn session(stream: TcpStream, script: Arc<FtpsScript>, acceptor: TlsAcceptor) {
    let local = stream.local_addr().ok().map(|a| a.ip());
    let mut io = if script.implicit {
        match acceptor.accept(stream).await {
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
    if !send(&mut io, "220 pasv-doctor test FTPS server").await {
        return;
    }
    while let Some(line) = read_line(&mut io).await {
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
                if !send(&mut io, "234 Proceed with negotiation.").await {
                    return;
                }
                let Ctl::Plain(tcp) = std::mem::replace(&mut io, Ctl::Gone) else {
                    return;
                };
                match acceptor.accept(tcp).await {
                    Ok(s) => io = Ctl::Tls(Box::new(s)),
                    Err(_) => return,
                }
                tls = true;
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
                if prot_p && tls {
                    let accepted =
                        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(data)).await;
                    let Ok(Ok(mut data)) = accepted else {
                        let _ = send(&mut io, "522 SSL connection failed.").await;
                        continue;
                    };
                    let resumed =
                        data.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                    if script.require_reuse && !resumed {
                        // vsftpd's answer with require_ssl_reuse=YES.
                        drop(data);
                        let _ = send(&mut io, "522 SSL connection failed: session reuse required")
                            .await;
                        continue;
                    }
                    let _ = data.write_all(&script.listing).await;
                    let _ = data.shutdown().await;
                } else {
                    let mut data = data;
                    let _ = data.write_all(&script.listing).await;
                    let _ = data.shutdown().await;
                }
                "226 Directory send OK.".to_string()
            }
            _ if !logged_in => "530 Please login with USER and PASS.".to_string(),
            _ => "502 Command not implemented.".to_string(),
        };
        if !send(&mut io, &reply).await {
            return;
        }
    }
}

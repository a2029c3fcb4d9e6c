//! TLS for FTPS (RFC 4217): one rustls client configuration per session (ring provider,
//! TLS 1.2 and 1.3, system trust roots through rustls-platform-verifier plus any `--ca-file`
//! roots), shared by the control connection and every data connection so that data
//! handshakes resume the control session, as vsftpd and ProFTPD require. A verifier wrapper
//! records the certificate chain and the verification verdict of each handshake (a resumed
//! one shows none) and the control connection's certificate, so a data connection that
//! presents another one is seen; with `--insecure` it lets the handshake go on so the
//! passive checks are not lost. A client-certificate resolver that has none records whether
//! the server asked for one.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::transcript::{CertInfo, CertVerdict, TlsHandshake};

/// What the verifier saw, shared with the probe.
#[derive(Debug, Default)]
pub struct Seen {
    /// The chain the last handshake verified (empty after a resumed handshake).
    pub chain: Vec<CertificateDer<'static>>,
    pub verdict: Option<CertVerdict>,
    /// The leaf of the first chain verified: the control connection's certificate.
    pub first_leaf: Option<CertificateDer<'static>>,
    /// The server asked for a client certificate (this check has none to give).
    pub client_cert_requested: bool,
}

/// Has no client certificate, like `with_no_client_auth`, but records that the server
/// asked for one: a refusal that follows (an alert, or a close) is then explained.
#[derive(Debug)]
struct NoClientCert {
    seen: Arc<Mutex<Seen>>,
}

impl ResolvesClientCert for NoClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.client_cert_requested = true;
        }
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    insecure: bool,
    seen: Arc<Mutex<Seen>>,
}

fn verdict_of(e: &rustls::Error, chain: &[CertificateDer<'_>]) -> CertVerdict {
    match e {
        rustls::Error::InvalidCertificate(ce) => match ce {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                CertVerdict::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertVerdict::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertVerdict::NameMismatch
            }
            CertificateError::UnknownIssuer => {
                if chain.len() == 1 && chain.first().is_some_and(|c| self_signed(c)) {
                    CertVerdict::SelfSigned
                } else {
                    CertVerdict::UnknownIssuer
                }
            }
            other => CertVerdict::Invalid(format!("{other:?}")),
        },
        other => CertVerdict::Invalid(other.to_string()),
    }
}

fn self_signed(der: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(der.as_ref())
        .map(|(_, c)| c.subject() == c.issuer())
        .unwrap_or(false)
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        let result = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let verdict = match &result {
            Ok(_) => CertVerdict::Trusted,
            Err(e) => verdict_of(e, &chain),
        };
        if let Ok(mut seen) = self.seen.lock() {
            if seen.first_leaf.is_none() {
                seen.first_leaf = Some(end_entity.clone().into_owned());
            }
            seen.chain = chain;
            seen.verdict = Some(verdict);
        }
        match result {
            Err(_) if self.insecure => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// TLS settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub insecure: bool,
    /// Cap the version at TLS 1.2.
    pub max_tls12: bool,
    /// Extra trust roots (`--ca-file`), DER.
    pub extra_roots: Vec<Vec<u8>>,
}

/// One session's TLS client: its configuration and what the verifier recorded.
#[derive(Debug, Clone)]
pub struct TlsClient {
    pub config: Arc<ClientConfig>,
    pub seen: Arc<Mutex<Seen>>,
    opts: TlsOptions,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsClient {
    pub fn new(opts: &TlsOptions) -> Result<TlsClient, String> {
        let provider = provider();
        let roots = opts
            .extra_roots
            .iter()
            .map(|d| CertificateDer::from(d.clone()));
        let inner =
            rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
                .map_err(|e| format!("cannot load the system's trust roots: {e}"))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let verifier = Arc::new(RecordingVerifier {
            inner: Arc::new(inner),
            insecure: opts.insecure,
            seen: seen.clone(),
        });
        let versions: &[&rustls::SupportedProtocolVersion] = if opts.max_tls12 {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| format!("TLS setup: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(NoClientCert { seen: seen.clone() }));
        Ok(TlsClient {
            config: Arc::new(config),
            seen,
            opts: opts.clone(),
        })
    }

    /// The same trust settings without any session to resume: for the test of whether the
    /// server insists on session reuse.
    pub fn fresh(&self) -> Result<TlsClient, String> {
        let mut c = TlsClient::new(&self.opts)?;
        // A changed certificate is still told from the control connection's.
        let first_leaf = self.seen.lock().ok().and_then(|s| s.first_leaf.clone());
        if let Ok(mut seen) = c.seen.lock() {
            seen.first_leaf = first_leaf;
        }
        let mut config = (*c.config).clone();
        config.resumption = rustls::client::Resumption::disabled();
        c.config = Arc::new(config);
        Ok(c)
    }

    /// Runs a client handshake over `io`, bounded by `budget`.
    pub async fn handshake<IO>(
        &self,
        io: IO,
        server_name: &ServerName<'static>,
        budget: std::time::Duration,
    ) -> (Option<TlsStream<IO>>, TlsHandshake)
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let started = Instant::now();
        if let Ok(mut seen) = self.seen.lock() {
            seen.chain.clear();
            seen.verdict = None;
            seen.client_cert_requested = false;
        }
        let connector = TlsConnector::from(self.config.clone());
        let result = tokio::time::timeout(budget, connector.connect(server_name.clone(), io)).await;
        let elapsed_us = started.elapsed().as_micros() as u64;
        match result {
            Ok(Ok(stream)) => {
                let (_, conn) = stream.get_ref();
                let hs = TlsHandshake {
                    version: conn.protocol_version().map(|v| format!("{v:?}")),
                    cipher: conn
                        .negotiated_cipher_suite()
                        .map(|c| format!("{:?}", c.suite())),
                    resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
                    error: None,
                    elapsed_us,
                };
                (Some(stream), hs)
            }
            Ok(Err(e)) => (None, failed(self.describe(&e), elapsed_us)),
            Err(_) => (
                None,
                failed(
                    "no TLS handshake within the step timeout".to_string(),
                    elapsed_us,
                ),
            ),
        }
    }

    /// A TLS error in words, saying so when the server had asked for a client certificate.
    pub fn describe(&self, e: &std::io::Error) -> String {
        let described = describe_io(e);
        let requested = self.seen.lock().is_ok_and(|s| s.client_cert_requested);
        if requested && !described.contains("client certificate") {
            format!(
                "{described}; the server had asked for a client certificate, which this check \
                 does not have"
            )
        } else {
            described
        }
    }

    /// What the last handshake (a data connection's) showed: the verdict on the chain it
    /// verified, and the certificate when it is not the control connection's. `None` when
    /// it verified none (a resumed session).
    pub fn shown_certificate(&self) -> Option<(Option<CertInfo>, CertVerdict)> {
        let seen = self.seen.lock().ok()?;
        let verdict = seen.verdict.clone()?;
        let leaf = seen.chain.first()?;
        let changed = seen.first_leaf.as_ref().is_some_and(|first| first != leaf);
        let info = if changed {
            cert_info(leaf, seen.chain.len())
        } else {
            None
        };
        Some((info, verdict))
    }

    /// The certificate the server showed, parsed, and the verdict.
    pub fn certificate(&self) -> (Option<CertInfo>, Option<CertVerdict>) {
        let Ok(seen) = self.seen.lock() else {
            return (None, None);
        };
        let info = seen
            .chain
            .first()
            .and_then(|der| cert_info(der, seen.chain.len()));
        (info, seen.verdict.clone())
    }
}

fn failed(error: String, elapsed_us: u64) -> TlsHandshake {
    TlsHandshake {
        version: None,
        cipher: None,
        resumed: false,
        error: Some(error),
        elapsed_us,
    }
}

/// Whether an I/O error is rustls's: a TLS failure rather than a socket's.
pub fn is_tls_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some())
}

/// A handshake error in words: rustls puts its error inside the io::Error.
pub fn describe_io(e: &std::io::Error) -> String {
    use rustls::{AlertDescription, InvalidMessage};
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match inner {
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
                "the server sent the TLS alert CertificateRequired: it requires a client \
                 certificate, which this check does not have"
                    .to_string()
            }
            rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => {
                "the server sent the TLS alert ProtocolVersion: it speaks no TLS version in \
                 common with this check (TLS 1.2 and 1.3); it likely offers only TLS 1.0/1.1"
                    .to_string()
            }
            rustls::Error::AlertReceived(alert) => {
                format!("the server sent the TLS alert {alert:?}")
            }
            // Plain text where a TLS record should start: a reply such as "220 ..." or data.
            rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType) => {
                "the server answered in plain text, not TLS (received bytes that are not a TLS \
                 record)"
                    .to_string()
            }
            rustls::Error::InvalidMessage(InvalidMessage::UnknownProtocolVersion) => {
                "the server answered with bytes that are not TLS (a record of an unknown \
                 protocol version)"
                    .to_string()
            }
            rustls::Error::PeerIncompatible(why) => format!(
                "the server offers no TLS version or cipher in common ({why:?}); rustls speaks \
                 only TLS 1.2 and 1.3 with modern ciphers"
            ),
            other => other.to_string(),
        };
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake".to_string()
        }
        _ => e.to_string(),
    }
}

/// The name the certificate must match: the host as given (a name, or an IP address).
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("invalid TLS server name {host}: {e}"))
}

fn cert_info(der: &CertificateDer<'_>, chain_len: usize) -> Option<CertInfo> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(n) => sans.push((*n).to_string()),
                // IP SANs are raw bytes: show them as addresses.
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => sans.push(
                        std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
                    ),
                    16 => {
                        let mut o = [0u8; 16];
                        o.copy_from_slice(bytes);
                        sans.push(std::net::Ipv6Addr::from(o).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before_unix: cert.validity().not_before.timestamp(),
        not_after_unix: cert.validity().not_after.timestamp(),
        chain_len,
        sha256: Some(fingerprint(der.as_ref())),
    })
}

/// SHA-256 of a certificate, upper-case hex pairs separated by colons.
fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::AlertDescription;
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    /// A server that asks for a client certificate: the request is recorded, and an alert
    /// that does not name the reason (OpenSSL's `handshake_failure`) is explained by it.
    #[tokio::test]
    async fn a_requested_client_certificate_is_recorded_and_explained() {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = ck.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(async move { acceptor.accept(theirs).await.is_ok() });
        let client = TlsClient::new(&TlsOptions {
            insecure: true,
            max_tls12: true,
            extra_roots: Vec::new(),
        })
        .unwrap();
        let name = server_name("localhost").unwrap();
        let (stream, hs) = client
            .handshake(ours, &name, std::time::Duration::from_secs(5))
            .await;
        assert!(stream.is_none(), "TLS 1.2: the refusal ends the handshake");
        let error = hs.error.unwrap_or_default();
        assert!(error.contains("client certificate"), "{error}");
        assert!(!server.await.unwrap());
        assert!(client.seen.lock().unwrap().client_cert_requested);
        let vague = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
        );
        let said = client.describe(&vague);
        assert!(said.contains("HandshakeFailure"), "{said}");
        assert!(said.contains("asked for a client certificate"), "{said}");
    }
}

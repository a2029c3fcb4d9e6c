//! TLS for FTPS (RFC 4217): one rustls client configuration per session (ring provider,
//! TLS 1.2 and 1.3, system trust roots through rustls-platform-verifier plus any `--ca-file`
//! roots), shared by the control connection and every data connection so that data
//! handshakes resume the control session, as vsftpd and ProFTPD require. A verifier wrapper
//! records the certificate chain and the verification verdict of each handshake (a resumed
//! one shows none) and the control connection's certificate, so a data connection that
//! presents another one is seen; with `--insecure` it lets the handshake go on so the
//! passive checks are not lost. A client-certificate resolver that has none records whether
//! the server asked for one.
//!
//! The verifier stops at its first objection (webpki checks the dates before the issuer, and
//! the issuer before the name), so one objection can hide others: an expired certificate from
//! an unknown issuer reads as expired only. When verification fails, the chain is checked
//! again at a time inside its validity and the name on its own, and every problem is kept.
//!
//! Every rustls and webpki error that reaches a report is put in plain words here
//! ([`tls_error_words`]); no Rust debug text leaves this module.

mod verify;
mod words;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::transcript::{CertInfo, CertVerdict, TlsHandshake};

pub use verify::Seen;
use verify::{NoClientCert, RecordingVerifier};
pub use words::{certificate_error_words, describe_io, is_tls_error, tls_error_words};

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
            seen.problems.clear();
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

    /// The certificate the server showed, parsed, the verdict, and every problem found.
    pub fn certificate(&self) -> (Option<CertInfo>, Option<CertVerdict>, Vec<CertVerdict>) {
        let Ok(seen) = self.seen.lock() else {
            return (None, None, Vec::new());
        };
        let info = seen
            .chain
            .first()
            .and_then(|der| cert_info(der, seen.chain.len()));
        (info, seen.verdict.clone(), seen.problems.clone())
    }
}

fn failed(error: String, elapsed_us: u64) -> TlsHandshake {
    TlsHandshake::failed(error, elapsed_us)
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
    use super::verify::*;
    use super::words::*;
    use super::*;
    use rustls::AlertDescription;
    use rustls::CertificateError;
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::UnixTime;
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    /// webpki's `CaUsedAsEndEntity` reaches rustls as `Other(OtherError(..))`; it is said in
    /// words, wherever it surfaces.
    #[test]
    fn a_ca_used_as_the_server_certificate_is_said_in_words() {
        let other = CertificateError::Other(rustls::OtherError(Arc::new(
            webpki::Error::CaUsedAsEndEntity,
        )));
        assert_eq!(
            certificate_error_words(&other),
            "a CA certificate is used as the server certificate"
        );
        let e = rustls::Error::InvalidCertificate(other.clone());
        let said = tls_error_words(&e);
        assert!(said.contains("a CA certificate is used as the server certificate"));
        assert!(
            !said.contains("Other") && !said.contains("CaUsed"),
            "{said}"
        );
        assert_eq!(
            verdict_of(&e, &[]),
            CertVerdict::Invalid("a CA certificate is used as the server certificate".into())
        );
        // rustls's own Display would have leaked the debug text this replaces.
        assert!(e.to_string().contains("CaUsedAsEndEntity"));
    }

    /// No rustls or webpki error reaches a report as Rust debug text.
    #[test]
    fn no_debug_text_in_tls_errors() {
        #[allow(deprecated)]
        let webpki_errors = [
            webpki::Error::BadDer,
            webpki::Error::CaUsedAsEndEntity,
            webpki::Error::EndEntityUsedAsCa,
            webpki::Error::PathLenConstraintViolated,
            webpki::Error::NameConstraintViolation,
            webpki::Error::MaximumPathDepthExceeded,
            webpki::Error::UnsupportedCertVersion,
            webpki::Error::UnsupportedCriticalExtension,
            webpki::Error::InvalidSignatureForPublicKey,
            webpki::Error::SignatureAlgorithmMismatch,
            webpki::Error::EmptyEkuExtension,
            webpki::Error::MalformedExtensions,
            webpki::Error::CertDistrusted,
            webpki::Error::InvalidSerialNumber,
            webpki::Error::UnknownRevocationStatus,
            webpki::Error::IssuerNotCrlSigner,
        ];
        // Rust's marks, or the variant's own name (`CaUsedAsEndEntity`, `HandshakeFailure`).
        let looks_like_rust = |s: &str, v: &dyn std::fmt::Debug| {
            let debug = format!("{v:?}");
            let name: String = debug
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            s.contains("Other(")
                || s.contains("::")
                || s.contains('{')
                || (name.chars().skip(1).any(|c| c.is_ascii_uppercase()) && s.contains(&name))
        };
        for w in webpki_errors {
            let e = rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                Arc::new(w.clone()),
            )));
            let said = tls_error_words(&e);
            assert!(!looks_like_rust(&said, &w), "{w:?}: {said}");
        }
        #[allow(deprecated)]
        let certificate_errors = [
            CertificateError::BadEncoding,
            CertificateError::Revoked,
            CertificateError::UnhandledCriticalExtension,
            CertificateError::UnknownRevocationStatus,
            CertificateError::ExpiredRevocationList,
            CertificateError::BadSignature,
            CertificateError::UnsupportedSignatureAlgorithm,
            CertificateError::InvalidPurpose,
            CertificateError::InvalidOcspResponse,
            CertificateError::ApplicationVerificationFailure,
        ];
        for ce in certificate_errors {
            let said = tls_error_words(&rustls::Error::InvalidCertificate(ce.clone()));
            assert!(!looks_like_rust(&said, &ce), "{ce:?}: {said}");
        }
        for n in 0..=u8::MAX {
            let alert = AlertDescription::from(n);
            let said = tls_error_words(&rustls::Error::AlertReceived(alert));
            assert!(!looks_like_rust(&said, &alert), "{alert:?}: {said}");
        }
        let others = [
            rustls::Error::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
            rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::IllegalMiddleboxChangeCipherSpec),
            rustls::Error::InvalidMessage(rustls::InvalidMessage::MessageTooLarge),
            rustls::Error::NoCertificatesPresented,
            rustls::Error::DecryptError,
        ];
        for e in others {
            let said = tls_error_words(&e);
            let reason: &dyn std::fmt::Debug = match &e {
                rustls::Error::PeerIncompatible(r) => r,
                rustls::Error::PeerMisbehaved(r) => r,
                rustls::Error::InvalidMessage(r) => r,
                other => other,
            };
            assert!(!looks_like_rust(&said, reason), "{e:?}: {said}");
        }
        assert!(
            tls_error_words(&rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::NoCipherSuitesInCommon
            ))
            .contains("(no cipher suites in common)")
        );
    }

    /// A verifier over a private root, as the platform verifier is over the system's.
    fn recording(root: &CertificateDer<'static>) -> (RecordingVerifier, Arc<Mutex<Seen>>) {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root.clone()).unwrap();
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let v = RecordingVerifier {
            inner,
            insecure: true,
            seen: seen.clone(),
        };
        (v, seen)
    }

    fn leaf(
        names: &[&str],
        issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
        days: (i64, i64),
    ) -> CertificateDer<'static> {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(days.0);
        params.not_after = now + time::Duration::days(days.1);
        let key = rcgen::KeyPair::generate().unwrap();
        params.signed_by(&key, issuer).unwrap().der().clone()
    }

    fn ca(
        name: &str,
    ) -> (
        rcgen::Issuer<'static, rcgen::KeyPair>,
        CertificateDer<'static>,
    ) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = cert.der().clone();
        (rcgen::Issuer::new(params, key), der)
    }

    /// The verifier stops at the expiry; the probe still finds the unknown issuer and the
    /// wrong name behind it, and the name behind an unknown issuer.
    #[test]
    fn every_problem_is_found_not_only_the_first() {
        let (trusted, trusted_der) = ca("trusted CA");
        let (stranger, _) = ca("unknown CA");
        let (verifier, seen) = recording(&trusted_der);
        let name = server_name("ftp.example.net").unwrap();
        let now = UnixTime::now();
        let verify = |cert: &CertificateDer<'static>| {
            let ok = verifier.verify_server_cert(cert, &[], &name, &[], now);
            assert!(ok.is_ok(), "insecure goes on");
            let s = seen.lock().unwrap();
            (s.verdict.clone(), s.problems.clone())
        };
        use CertVerdict::*;
        let cases = [
            (
                leaf(&["ftp.example.net"], &trusted, (-1, 30)),
                Trusted,
                vec![],
            ),
            (
                leaf(&["ftp.example.net"], &stranger, (-30, -1)),
                Expired,
                vec![Expired, UnknownIssuer],
            ),
            (
                leaf(&["other.example.net"], &stranger, (-30, -1)),
                Expired,
                vec![Expired, UnknownIssuer, NameMismatch],
            ),
            (
                leaf(&["other.example.net"], &stranger, (-1, 30)),
                UnknownIssuer,
                vec![UnknownIssuer, NameMismatch],
            ),
            (
                leaf(&["other.example.net"], &trusted, (-30, -1)),
                Expired,
                vec![Expired, NameMismatch],
            ),
            (
                leaf(&["ftp.example.net"], &trusted, (-30, -1)),
                Expired,
                vec![Expired],
            ),
        ];
        for (i, (cert, verdict, problems)) in cases.into_iter().enumerate() {
            let (v, p) = verify(&cert);
            assert_eq!(v, Some(verdict), "case {i}");
            assert_eq!(p, problems, "case {i}");
        }
    }

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
        assert!(said.contains("handshake_failure"), "{said}");
        assert!(!said.contains("HandshakeFailure"), "no debug text: {said}");
        assert!(said.contains("asked for a client certificate"), "{said}");
    }
}

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
    /// Every problem the last verification found, the verdict first (empty when trusted).
    pub problems: Vec<CertVerdict>,
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
            other => CertVerdict::Invalid(certificate_error_words(other)),
        },
        other => CertVerdict::Invalid(tls_error_words(other)),
    }
}

/// A time inside the validity of every certificate in `chain`, when `now` is outside it:
/// the time to check the chain again at, so an expired (or not yet valid) certificate does
/// not hide an unknown issuer or a wrong name. `None` when `now` is inside (nothing to
/// learn), or when the validities do not overlap.
fn inside_validity(chain: &[CertificateDer<'_>], now: UnixTime) -> Option<UnixTime> {
    let mut from = i64::MIN;
    let mut until = i64::MAX;
    for der in chain {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        from = from.max(cert.validity().not_before.timestamp());
        until = until.min(cert.validity().not_after.timestamp());
    }
    let now_s = i64::try_from(now.as_secs()).ok()?;
    if from > until || (from..=until).contains(&now_s) {
        return None;
    }
    // The middle of the common window: clear of both edges.
    let at = from + (until - from) / 2;
    Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(at).ok()?,
    )))
}

fn self_signed(der: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(der.as_ref())
        .map(|(_, c)| c.subject() == c.issuer())
        .unwrap_or(false)
}

/// A chain as presented: the leaf, the intermediates, and both together.
type Presented<'a, 'b> = (
    &'a CertificateDer<'b>,
    &'a [CertificateDer<'b>],
    &'a [CertificateDer<'static>],
);

impl RecordingVerifier {
    /// Every problem with a chain that failed verification with `first`: the chain checked
    /// again at a time inside its validity (what an expiry hid), and the name checked on its
    /// own (what a chain error hid). Each problem once, `first` first.
    fn every_problem(
        &self,
        first: CertVerdict,
        (end_entity, intermediates, chain): Presented<'_, '_>,
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Vec<CertVerdict> {
        let mut problems = vec![first];
        if let Some(at) = inside_validity(chain, now)
            && let Err(e) = self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                at,
            )
        {
            let v = verdict_of(&e, chain);
            if !problems.contains(&v) {
                problems.push(v);
            }
        }
        let name_ok = rustls::server::ParsedCertificate::try_from(end_entity)
            .and_then(|cert| rustls::client::verify_server_name(&cert, server_name))
            .is_ok();
        if !name_ok && !problems.contains(&CertVerdict::NameMismatch) {
            problems.push(CertVerdict::NameMismatch);
        }
        problems
    }
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
        let problems = match &result {
            Ok(_) => Vec::new(),
            Err(_) => self.every_problem(
                verdict.clone(),
                (end_entity, intermediates, &chain),
                server_name,
                ocsp_response,
                now,
            ),
        };
        if let Ok(mut seen) = self.seen.lock() {
            if seen.first_leaf.is_none() {
                seen.first_leaf = Some(end_entity.clone().into_owned());
            }
            seen.chain = chain;
            seen.verdict = Some(verdict);
            seen.problems = problems;
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

/// Whether an I/O error is rustls's: a TLS failure rather than a socket's.
pub fn is_tls_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some())
}

/// A handshake error in words: rustls puts its error inside the io::Error.
pub fn describe_io(e: &std::io::Error) -> String {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls_error_words(inner);
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake".to_string()
        }
        _ => e.to_string(),
    }
}

/// A rustls error in plain words. rustls's own `Display` embeds debug text for most
/// variants (`received fatal alert: HandshakeFailure`, `Other(OtherError(...))`); this
/// never does. Alerts are named as RFC 8446 section 6 names them (and OpenSSL's logs show
/// them), certificate errors as [`certificate_error_words`] says them.
pub fn tls_error_words(e: &rustls::Error) -> String {
    use rustls::{AlertDescription, InvalidMessage};
    match e {
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server sent the TLS alert certificate_required: it requires a client \
             certificate, which this check does not have"
                .to_string()
        }
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => {
            "the server sent the TLS alert protocol_version: it speaks no TLS version in \
             common with this check (TLS 1.2 and 1.3); it likely offers only TLS 1.0/1.1"
                .to_string()
        }
        rustls::Error::AlertReceived(alert) => {
            format!("the server sent the TLS alert {}", alert_words(*alert))
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
        rustls::Error::InvalidMessage(why) => format!(
            "the server sent a malformed TLS message ({})",
            variant_words(why)
        ),
        rustls::Error::PeerIncompatible(why) => format!(
            "the server offers no TLS version or cipher in common ({}); rustls speaks \
             only TLS 1.2 and 1.3 with modern ciphers",
            variant_words(why)
        ),
        rustls::Error::PeerMisbehaved(why) => {
            format!("the server broke the TLS protocol ({})", variant_words(why))
        }
        rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => {
            "the server sent a TLS message out of order".to_string()
        }
        rustls::Error::InvalidCertificate(ce) => {
            format!(
                "the server's certificate was refused: {}",
                certificate_error_words(ce)
            )
        }
        rustls::Error::InvalidCertRevocationList(_) => {
            "a certificate revocation list is invalid".to_string()
        }
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".to_string(),
        rustls::Error::UnsupportedNameType => {
            "the server name is of a type TLS cannot check".to_string()
        }
        rustls::Error::DecryptError => {
            "a TLS record from the server could not be decrypted".to_string()
        }
        rustls::Error::PeerSentOversizedRecord => {
            "the server sent a TLS record larger than TLS allows".to_string()
        }
        rustls::Error::HandshakeNotComplete => "the TLS handshake did not complete".to_string(),
        rustls::Error::InvalidEncryptedClientHello(_) => {
            "encrypted ClientHello (ECH) failed".to_string()
        }
        rustls::Error::General(text) => format!("TLS error: {text}"),
        rustls::Error::Other(other) => format!("TLS error: {}", other_words(&*other.0)),
        // Local failures (clock, random numbers, configuration): rustls's own sentence.
        other => format!("TLS error on this side: {other}"),
    }
}

/// A certificate verification error in plain words, e.g. "a CA certificate is used as the
/// server certificate" for webpki's `CaUsedAsEndEntity`. rustls passes the webpki errors it
/// has no variant for inside `Other`; they are taken out and named.
pub fn certificate_error_words(e: &CertificateError) -> String {
    match e {
        CertificateError::BadEncoding => "the certificate is not validly encoded (DER)".into(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the certificate has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the certificate is not valid yet".into()
        }
        CertificateError::Revoked => "the certificate has been revoked".into(),
        CertificateError::UnhandledCriticalExtension => {
            "the certificate has a critical extension that cannot be checked".into()
        }
        CertificateError::UnknownIssuer => {
            "the certificate's issuer is not trusted (or an intermediate is missing)".into()
        }
        CertificateError::UnknownRevocationStatus => {
            "the certificate's revocation status is unknown".into()
        }
        CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. } => {
            "the certificate revocation list has expired".into()
        }
        CertificateError::BadSignature => {
            "the certificate's signature does not verify against its issuer".into()
        }
        #[allow(deprecated)]
        CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the certificate is signed with an algorithm this check does not accept".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "the certificate is not valid for the host name".into()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the certificate is not for TLS servers (its extended key usage lacks serverAuth)"
                .into()
        }
        CertificateError::InvalidOcspResponse => "the stapled OCSP response is invalid".into(),
        CertificateError::ApplicationVerificationFailure => {
            "the certificate was refused by the verifier".into()
        }
        CertificateError::Other(other) => other_words(&*other.0),
        _ => "the certificate does not verify".into(),
    }
}

/// An error rustls carries as `Other`: webpki's errors by name, the platform verifier's
/// by its sentence.
fn other_words(e: &(dyn std::error::Error + 'static)) -> String {
    match e.downcast_ref::<webpki::Error>() {
        Some(w) => webpki_words(w),
        // rustls-platform-verifier's EKU error says "certificate had invalid extensions".
        None => e.to_string(),
    }
}

/// webpki's errors in plain words.
fn webpki_words(e: &webpki::Error) -> String {
    use webpki::Error as W;
    #[allow(deprecated)]
    let words = match e {
        W::CaUsedAsEndEntity => "a CA certificate is used as the server certificate",
        W::EndEntityUsedAsCa => {
            "a server (end-entity) certificate is used as a CA to issue another certificate"
        }
        W::CertDistrusted => "the certificate's key is explicitly distrusted",
        W::CertExpired { .. } | W::InvalidCertValidity => "the certificate has expired",
        W::CertNotValidYet { .. } => "the certificate is not valid yet",
        W::CertNotValidForName(_) => "the certificate is not valid for the host name",
        W::CertRevoked => "the certificate has been revoked",
        W::UnknownIssuer => "the certificate's issuer is not trusted",
        W::BadDer | W::BadDerTime | W::TrailingData(_) => {
            "the certificate is not validly encoded (DER)"
        }
        W::EmptyEkuExtension | W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => {
            "the certificate is not for TLS servers (its extended key usage lacks serverAuth)"
        }
        W::ExtensionValueInvalid | W::MalformedExtensions => {
            "the certificate has a malformed extension"
        }
        W::MalformedDnsIdentifier => "the certificate names a malformed DNS name",
        W::NameConstraintViolation | W::MalformedNameConstraint => {
            "the certificate's names break its issuer's name constraints"
        }
        W::PathLenConstraintViolated => {
            "the chain is longer than an issuer's path-length constraint allows"
        }
        W::MaximumPathDepthExceeded
        | W::MaximumPathBuildCallsExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumNameConstraintComparisonsExceeded => {
            "the certificate chain is too long or too complex to verify"
        }
        W::SignatureAlgorithmMismatch => "the certificate's signature algorithm fields disagree",
        W::InvalidSignatureForPublicKey => {
            "the certificate's signature does not verify against its issuer"
        }
        W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "the certificate is signed with an algorithm this check does not accept"
        }
        W::UnsupportedCertVersion => "the certificate is not an X.509 version 3 certificate",
        W::UnsupportedCriticalExtension => {
            "the certificate has a critical extension that cannot be checked"
        }
        W::InvalidSerialNumber => "the certificate's serial number is invalid",
        W::InvalidNetworkMaskConstraint => "an issuer's IP address constraint is invalid",
        W::UnknownRevocationStatus => "the certificate's revocation status is unknown",
        W::UnsupportedNameType => "the server name is of a type the certificate cannot match",
        W::CrlExpired { .. }
        | W::InvalidCrlNumber
        | W::InvalidCrlSignatureForPublicKey
        | W::IssuerNotCrlSigner
        | W::UnsupportedCrlIssuingDistributionPoint
        | W::UnsupportedCrlVersion
        | W::UnsupportedDeltaCrl
        | W::UnsupportedIndirectCrl
        | W::UnsupportedRevocationReason
        | W::UnsupportedRevocationReasonsPartitioning
        | W::UnsupportedCrlSignatureAlgorithm
        | W::UnsupportedCrlSignatureAlgorithmContext(_)
        | W::UnsupportedCrlSignatureAlgorithmForPublicKey
        | W::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate revocation list could not be used"
        }
        _ => "the certificate does not verify",
    };
    words.to_string()
}

/// A TLS alert by its RFC 8446 name, with what it usually means from an FTP server.
fn alert_words(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let (name, meaning) = match alert {
        A::CloseNotify => ("close_notify", "it closed the TLS session"),
        A::UnexpectedMessage => ("unexpected_message", "it did not expect a message"),
        A::BadRecordMac => ("bad_record_mac", "a record did not authenticate"),
        A::RecordOverflow => ("record_overflow", "a record was too large"),
        A::HandshakeFailure => (
            "handshake_failure",
            "it found no version, cipher or certificate setting it accepts",
        ),
        A::BadCertificate => ("bad_certificate", "it refused a certificate"),
        A::UnsupportedCertificate => ("unsupported_certificate", "it refused a certificate"),
        A::CertificateRevoked => ("certificate_revoked", "a certificate is revoked"),
        A::CertificateExpired => ("certificate_expired", "a certificate has expired"),
        A::CertificateUnknown => ("certificate_unknown", "it refused a certificate"),
        A::IllegalParameter => ("illegal_parameter", "a handshake field was refused"),
        A::UnknownCA => ("unknown_ca", "it does not trust a certificate's issuer"),
        A::AccessDenied => ("access_denied", "it refuses this client"),
        A::DecodeError => ("decode_error", "it could not decode a message"),
        A::DecryptError => ("decrypt_error", "a handshake check failed"),
        A::InsufficientSecurity => (
            "insufficient_security",
            "it wants stronger ciphers than were offered",
        ),
        A::InternalError => ("internal_error", "the server's TLS library failed"),
        A::InappropriateFallback => ("inappropriate_fallback", "a version fallback was refused"),
        A::UserCanceled => ("user_canceled", "it cancelled the handshake"),
        A::NoRenegotiation => ("no_renegotiation", "it refuses to renegotiate"),
        A::MissingExtension => ("missing_extension", "a required extension was missing"),
        A::UnsupportedExtension => ("unsupported_extension", "it refused an extension"),
        A::UnrecognisedName => (
            "unrecognized_name",
            "it has no certificate for the name asked for (SNI)",
        ),
        A::CertificateRequired => ("certificate_required", "it requires a client certificate"),
        A::NoApplicationProtocol => ("no_application_protocol", "no ALPN protocol in common"),
        other => {
            return format!("number {}", u8::from(other));
        }
    };
    format!("{name} ({meaning})")
}

/// A unit-like enum variant's name as lower-case words (`NoCipherSuitesInCommon` ->
/// "no cipher suites in common"), for the enums of reasons too long to list here.
fn variant_words(v: &impl std::fmt::Debug) -> String {
    let debug = format!("{v:?}");
    let name: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let prev_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
        if i > 0 && c.is_ascii_uppercase() && (prev_lower || next_lower) {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    if out.is_empty() {
        "no reason given".to_string()
    } else {
        out
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

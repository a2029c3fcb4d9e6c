//! The recording verifier: checks the chain through the platform verifier, records the
//! chain, the verdict and every problem found (checking again at a time inside the
//! validity and the name on its own, since webpki stops at its first objection), and lets
//! the handshake go on under `--insecure`; and a client-certificate resolver that has none
//! but records whether the server asked for one.

use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::words::{certificate_error_words, tls_error_words};
use crate::transcript::CertVerdict;

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
pub(super) struct NoClientCert {
    pub(super) seen: Arc<Mutex<Seen>>,
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
pub(super) struct RecordingVerifier {
    pub(super) inner: Arc<dyn ServerCertVerifier>,
    pub(super) insecure: bool,
    pub(super) seen: Arc<Mutex<Seen>>,
}

pub(super) fn verdict_of(e: &rustls::Error, chain: &[CertificateDer<'_>]) -> CertVerdict {
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
pub(super) fn inside_validity(chain: &[CertificateDer<'_>], now: UnixTime) -> Option<UnixTime> {
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

pub(super) fn self_signed(der: &CertificateDer<'_>) -> bool {
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

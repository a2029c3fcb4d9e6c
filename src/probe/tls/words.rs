//! TLS errors in plain words: every rustls and webpki error that reaches a report is
//! worded here, so no Rust debug text leaves the probe.

use rustls::CertificateError;

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
pub(super) fn other_words(e: &(dyn std::error::Error + 'static)) -> String {
    match e.downcast_ref::<webpki::Error>() {
        Some(w) => webpki_words(w),
        // rustls-platform-verifier's EKU error says "certificate had invalid extensions".
        None => e.to_string(),
    }
}

/// webpki's errors in plain words.
pub(super) fn webpki_words(e: &webpki::Error) -> String {
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
pub(super) fn alert_words(alert: rustls::AlertDescription) -> String {
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
pub(super) fn variant_words(v: &impl std::fmt::Debug) -> String {
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

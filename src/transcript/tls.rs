//! TLS in the transcript: what was asked for, each handshake, the certificate shown and
//! the verdict on it, for the control connection and each data connection.

use serde::{Deserialize, Serialize};

use super::*;

/// The TLS mode the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsRequest {
    /// Plain FTP only.
    Off,
    /// AUTH TLS when the server accepts it, else plain (and say so).
    Auto,
    /// AUTH TLS required (RFC 4217).
    Explicit,
    /// TLS from the first byte (port 990).
    Implicit,
}

impl TlsRequest {
    /// The mode as the command line and the JSON name it: `off`, `auto`, `explicit`,
    /// `implicit`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsRequest::Off => "off",
            TlsRequest::Auto => "auto",
            TlsRequest::Explicit => "explicit",
            TlsRequest::Implicit => "implicit",
        }
    }
}

/// How a certificate chain checked out against the trust roots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "detail")]
pub enum CertVerdict {
    Trusted,
    Expired,
    NotYetValid,
    NameMismatch,
    UnknownIssuer,
    SelfSigned,
    /// Any other verification failure, with rustls's reason.
    Invalid(String),
}

impl CertVerdict {
    /// The verdict in words, e.g. "unknown issuer" (never the variant's name).
    pub fn describe(&self) -> String {
        match self {
            CertVerdict::Trusted => "trusted".to_string(),
            CertVerdict::Expired => "expired".to_string(),
            CertVerdict::NotYetValid => "not yet valid".to_string(),
            CertVerdict::NameMismatch => "not valid for this host name".to_string(),
            CertVerdict::UnknownIssuer => "unknown issuer".to_string(),
            CertVerdict::SelfSigned => "self-signed".to_string(),
            CertVerdict::Invalid(why) => format!("invalid: {why}"),
        }
    }
}

/// What the server's certificate says (from x509-parser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses the certificate is valid for.
    pub sans: Vec<String>,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    /// Certificates the server sent, the leaf included.
    pub chain_len: usize,
    /// SHA-256 of the leaf (DER), as `openssl x509 -fingerprint -sha256` and FileZilla show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A TLS handshake's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsHandshake {
    /// `TLSv1_3`, `TLSv1_2`.
    pub version: Option<String>,
    pub cipher: Option<String>,
    /// The session was resumed (abbreviated handshake).
    pub resumed: bool,
    /// Why the handshake failed (the alert or the local error).
    pub error: Option<String>,
    pub elapsed_us: u64,
}

impl TlsHandshake {
    /// A handshake that failed, or could not start, for `error`.
    pub fn failed(error: String, elapsed_us: u64) -> TlsHandshake {
        TlsHandshake {
            version: None,
            cipher: None,
            resumed: false,
            error: Some(error),
            elapsed_us,
        }
    }
}

/// TLS on the control connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlTls {
    /// `explicit` (AUTH TLS) or `implicit`.
    pub mode: TlsRequest,
    /// The AUTH TLS exchange (explicit mode).
    pub auth: Option<Exchange>,
    pub handshake: Option<TlsHandshake>,
    pub certificate: Option<CertInfo>,
    /// The chain's verification result (recorded even when `--insecure` went on): the
    /// verifier's first objection.
    pub verdict: Option<CertVerdict>,
    /// Every problem found with the certificate, `verdict` first. The verifier stops at its
    /// first objection (an expired certificate hides an unknown issuer, an unknown issuer a
    /// wrong name), so the probe also checks the chain at a time inside its validity and the
    /// name on its own. Empty when trusted or not verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<CertVerdict>,
    /// The probe went on past a failed verification because of `--insecure`.
    pub insecure: bool,
    pub pbsz: Option<Exchange>,
    pub prot: Option<Exchange>,
}

impl ControlTls {
    /// TLS asked for in `mode` (after `auth`, explicit mode), nothing else known yet.
    pub fn new(mode: TlsRequest, auth: Option<Exchange>, insecure: bool) -> ControlTls {
        ControlTls {
            mode,
            auth,
            handshake: None,
            certificate: None,
            verdict: None,
            problems: Vec::new(),
            insecure,
            pbsz: None,
            prot: None,
        }
    }
}

/// TLS on one data connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataTls {
    pub handshake: TlsHandshake,
    /// This data connection deliberately did not offer the control session for resumption
    /// (the test of whether the server requires session reuse).
    pub fresh_session: bool,
    /// The verdict on the chain this data connection presented: a full handshake shows
    /// one, a resumed one none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<CertVerdict>,
    /// The certificate this data connection presented, when it is not the control
    /// connection's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertInfo>,
    /// The data connection ended with a bare TCP close, without TLS close_notify.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_close_notify: bool,
}

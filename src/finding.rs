//! Findings: what the analysis concludes, each with a stable code (a public contract, see
//! `docs/findings.md`), a severity, the phase, the evidence as seen, which clients it
//! breaks, and the remedy.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::transcript::Phase;

/// Stable finding codes. Never renumber or rename: monitoring keys on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    DnsFailed,
    ConnectFailed,
    ServerUnavailable,
    SessionInterrupted,
    LoginFailed,
    CleartextLogin,
    PasvAddressPrivate,
    PasvAddressUnspecified,
    PasvAddressMismatch,
    PasvAddressUnexpected,
    PasvPortOutOfRange,
    PasvUnsupported,
    EpsvUnsupported,
    ReplyMalformed,
    ReplyNonstandard,
    DataPortFiltered,
    DataPortRefused,
    DataRangePartial,
    DataTransferFailed,
    DataPathOk,
    CheckedFromSameNat,
    PasvAddressIsClient,
    SubstitutedAddressTimedOut,
    EpsvFallbackToPasv,
    TlsSessionReuseRefused,
    TlsNotOffered,
    TlsHandshakeFailed,
    TlsDataRefused,
    TlsSessionReuseRequired,
    TlsCertExpired,
    TlsCertExpiring,
    TlsCertNameMismatch,
    TlsCertUntrusted,
    PasvRewrittenInTransit,
    TlsDataCertChanged,
    TlsDataNoCloseNotify,
    DataPortsOnDemand,
    ActiveModeOk,
    ActiveModeBlocked,
    PortRefused,
    CheckInterrupted,
    PassiveRangeMap,
}

impl Code {
    /// Every code, in declaration order: monitoring emits a series for each, every run, so
    /// an alert on one clears when its problem goes away. A test keeps it complete.
    pub const ALL: [Code; 42] = [
        Code::DnsFailed,
        Code::ConnectFailed,
        Code::ServerUnavailable,
        Code::SessionInterrupted,
        Code::LoginFailed,
        Code::CleartextLogin,
        Code::PasvAddressPrivate,
        Code::PasvAddressUnspecified,
        Code::PasvAddressMismatch,
        Code::PasvAddressUnexpected,
        Code::PasvPortOutOfRange,
        Code::PasvUnsupported,
        Code::EpsvUnsupported,
        Code::ReplyMalformed,
        Code::ReplyNonstandard,
        Code::DataPortFiltered,
        Code::DataPortRefused,
        Code::DataRangePartial,
        Code::DataTransferFailed,
        Code::DataPathOk,
        Code::CheckedFromSameNat,
        Code::PasvAddressIsClient,
        Code::SubstitutedAddressTimedOut,
        Code::EpsvFallbackToPasv,
        Code::TlsSessionReuseRefused,
        Code::TlsNotOffered,
        Code::TlsHandshakeFailed,
        Code::TlsDataRefused,
        Code::TlsSessionReuseRequired,
        Code::TlsCertExpired,
        Code::TlsCertExpiring,
        Code::TlsCertNameMismatch,
        Code::TlsCertUntrusted,
        Code::PasvRewrittenInTransit,
        Code::TlsDataCertChanged,
        Code::TlsDataNoCloseNotify,
        Code::DataPortsOnDemand,
        Code::ActiveModeOk,
        Code::ActiveModeBlocked,
        Code::PortRefused,
        Code::CheckInterrupted,
        Code::PassiveRangeMap,
    ];

    /// The code as it appears in every output, e.g. `PASV_ADDRESS_PRIVATE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::DnsFailed => "DNS_FAILED",
            Code::ConnectFailed => "CONNECT_FAILED",
            Code::ServerUnavailable => "SERVER_UNAVAILABLE",
            Code::SessionInterrupted => "SESSION_INTERRUPTED",
            Code::LoginFailed => "LOGIN_FAILED",
            Code::CleartextLogin => "CLEARTEXT_LOGIN",
            Code::PasvAddressPrivate => "PASV_ADDRESS_PRIVATE",
            Code::PasvAddressUnspecified => "PASV_ADDRESS_UNSPECIFIED",
            Code::PasvAddressMismatch => "PASV_ADDRESS_MISMATCH",
            Code::PasvAddressUnexpected => "PASV_ADDRESS_UNEXPECTED",
            Code::PasvPortOutOfRange => "PASV_PORT_OUT_OF_RANGE",
            Code::PasvUnsupported => "PASV_UNSUPPORTED",
            Code::EpsvUnsupported => "EPSV_UNSUPPORTED",
            Code::ReplyMalformed => "REPLY_MALFORMED",
            Code::ReplyNonstandard => "REPLY_NONSTANDARD",
            Code::DataPortFiltered => "DATA_PORT_FILTERED",
            Code::DataPortRefused => "DATA_PORT_REFUSED",
            Code::DataRangePartial => "DATA_RANGE_PARTIAL",
            Code::DataTransferFailed => "DATA_TRANSFER_FAILED",
            Code::DataPathOk => "DATA_PATH_OK",
            Code::CheckedFromSameNat => "CHECKED_FROM_SAME_NAT",
            Code::PasvAddressIsClient => "PASV_ADDRESS_IS_CLIENT",
            Code::TlsNotOffered => "TLS_NOT_OFFERED",
            Code::TlsHandshakeFailed => "TLS_HANDSHAKE_FAILED",
            Code::TlsDataRefused => "TLS_DATA_REFUSED",
            Code::TlsSessionReuseRequired => "TLS_SESSION_REUSE_REQUIRED",
            Code::TlsCertExpired => "TLS_CERT_EXPIRED",
            Code::TlsCertExpiring => "TLS_CERT_EXPIRING",
            Code::TlsCertNameMismatch => "TLS_CERT_NAME_MISMATCH",
            Code::TlsCertUntrusted => "TLS_CERT_UNTRUSTED",
            Code::PasvRewrittenInTransit => "PASV_REWRITTEN_IN_TRANSIT",
            Code::DataPortsOnDemand => "DATA_PORTS_ON_DEMAND",
            Code::ActiveModeOk => "ACTIVE_MODE_OK",
            Code::ActiveModeBlocked => "ACTIVE_MODE_BLOCKED",
            Code::PortRefused => "PORT_REFUSED",
            Code::CheckInterrupted => "CHECK_INTERRUPTED",
            Code::PassiveRangeMap => "PASSIVE_RANGE_MAP",
            Code::SubstitutedAddressTimedOut => "SUBSTITUTED_ADDRESS_TIMED_OUT",
            Code::EpsvFallbackToPasv => "EPSV_FALLBACK_TO_PASV",
            Code::TlsSessionReuseRefused => "TLS_SESSION_REUSE_REFUSED",
            Code::TlsDataCertChanged => "TLS_DATA_CERT_CHANGED",
            Code::TlsDataNoCloseNotify => "TLS_DATA_NO_CLOSE_NOTIFY",
        }
    }
}

impl Code {
    /// Where a finding stands in the chain of causes, for ordering findings of one
    /// severity so that the root cause comes first: the session itself (no connection,
    /// no login), then the advertised address, the path to the data port, the transfer,
    /// TLS, and last the interruptions that are mostly symptoms of the above.
    pub fn cause_rank(self) -> u8 {
        use Code::*;
        match self {
            DnsFailed | ConnectFailed | ServerUnavailable | LoginFailed => 0,
            PasvAddressPrivate
            | PasvAddressUnspecified
            | PasvAddressMismatch
            | PasvAddressUnexpected
            | PasvAddressIsClient
            | CheckedFromSameNat
            | PasvRewrittenInTransit => 1,
            // A client log's fallback names the refused EPSV and what the client did next:
            // the more specific account of the same cause, so it leads (its rule runs first).
            EpsvFallbackToPasv | PasvUnsupported | EpsvUnsupported | ReplyMalformed
            | ReplyNonstandard | PasvPortOutOfRange | PortRefused => 2,
            DataPortFiltered
            | DataPortRefused
            | DataRangePartial
            | SubstitutedAddressTimedOut
            | ActiveModeBlocked
            | DataPortsOnDemand => 3,
            DataTransferFailed => 4,
            TlsNotOffered
            | TlsHandshakeFailed
            | TlsDataRefused
            | TlsSessionReuseRequired
            | TlsSessionReuseRefused
            | TlsCertExpired
            | TlsCertExpiring
            | TlsCertNameMismatch
            | TlsCertUntrusted
            | TlsDataCertChanged
            | TlsDataNoCloseNotify => 5,
            SessionInterrupted | CheckInterrupted => 6,
            PassiveRangeMap => 3,
            CleartextLogin | DataPathOk | ActiveModeOk => 7,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a finding is. Ordered: the worst decides the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something checked and working.
    Ok,
    /// Worth knowing; breaks nothing.
    Info,
    /// Breaks some clients or some transfers.
    Warning,
    /// Breaks transfers for most clients.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One conclusion of the analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub phase: Phase,
    /// The server address it concerns (`None`: the whole target, e.g. DNS).
    pub server: Option<SocketAddr>,
    /// What is wrong, in one sentence.
    pub title: String,
    /// The raw replies, addresses and outcomes that show it.
    pub evidence: Vec<String>,
    /// Which clients it breaks, and which still work.
    pub impact: String,
    /// The client families (rows of the client table) this finding shows failing: the
    /// table says "no" for each of them, so the two never disagree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<String>,
    /// What fixes it, in one sentence.
    pub remedy: String,
    /// The exact settings and rules, with the observed values filled in (for the product
    /// recognised, or for every common product when unknown).
    #[serde(default)]
    pub fix: Vec<String>,
}

/// The overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warning,
    Critical,
    /// The probe could not run (no address to check).
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Critical => "critical",
            Verdict::Unknown => "unknown",
        }
    }
}

impl Code {
    /// What the customer should see once the finding's fix is in place.
    pub fn after_fix(self) -> &'static str {
        match self {
            Code::DnsFailed => {
                "the name resolves to the server's address and clients can connect by name."
            }
            Code::ConnectFailed => "clients can open the control connection on this address.",
            Code::ServerUnavailable => "the server greets with 220 and accepts logins.",
            Code::SessionInterrupted => "the session runs to the end without being cut off.",
            Code::CheckInterrupted => "a check left to finish shows every step.",
            Code::PassiveRangeMap => "every port of the passive range reaches the server.",
            Code::LoginFailed => "the login succeeds and the data-connection checks can run.",
            Code::CleartextLogin => "passwords travel encrypted (FTPS).",
            Code::PasvAddressPrivate | Code::PasvAddressUnspecified | Code::PasvAddressMismatch => {
                "PASV replies name the server's public address, so every client (FileZilla, \
                 WinSCP, wget, old curl and ftplib included) connects to the right place."
            }
            Code::PasvAddressUnexpected => "PASV replies name the address you expect.",
            Code::PasvPortOutOfRange => "every passive port lies inside the forwarded range.",
            Code::PasvUnsupported => {
                "PASV works, so FileZilla, WinSCP, ftplib and wget can transfer."
            }
            Code::EpsvUnsupported => "EPSV works, for IPv6 clients and EPSV-first clients.",
            Code::ReplyMalformed | Code::ReplyNonstandard => {
                "the passive replies have the standard form every client parses."
            }
            Code::DataPortFiltered | Code::DataRangePartial | Code::DataPortRefused => {
                "directory listings and transfers open at once instead of hanging and timing out."
            }
            Code::DataTransferFailed => "listings and transfers complete.",
            Code::ActiveModeBlocked | Code::PortRefused => {
                "transfers work in passive mode, or in active mode once the client accepts \
                 the server's connection."
            }
            Code::ActiveModeOk => "nothing changes: active mode already works.",
            Code::DataPathOk => "nothing changes: this already works.",
            Code::CheckedFromSameNat => {
                "a check from outside the server's network shows what customers see."
            }
            Code::PasvAddressIsClient => "PASV replies name the server's own public address.",
            Code::TlsNotOffered => "clients can log in over FTPS and passwords travel encrypted.",
            Code::TlsHandshakeFailed => "FTPS clients complete the TLS handshake.",
            Code::TlsDataRefused => "protected (PROT P) listings and transfers work.",
            Code::TlsSessionReuseRequired => {
                "clients that cannot resume TLS sessions on data connections work too."
            }
            Code::TlsCertExpired
            | Code::TlsCertExpiring
            | Code::TlsCertNameMismatch
            | Code::TlsCertUntrusted => {
                "clients accept the certificate without warnings or exceptions."
            }
            Code::PasvRewrittenInTransit => {
                "FTPS clients get the same (public) PASV address that plain FTP clients get."
            }
            Code::DataPortsOnDemand => "nothing changes: clients already work.",
            Code::SubstitutedAddressTimedOut => {
                "the data connection to the server's own address opens, so the client's \
                 substitution works and listings no longer time out."
            }
            Code::EpsvFallbackToPasv => "EPSV answers at once and the client stays on it.",
            Code::TlsSessionReuseRefused => {
                "encrypted listings and transfers complete: the data connection's TLS session \
                 is accepted."
            }
            Code::TlsDataCertChanged => {
                "data connections present the control connection's certificate, so FileZilla \
                 accepts them."
            }
            Code::TlsDataNoCloseNotify => {
                "protected transfers end with close_notify, so FileZilla completes them and a \
                 truncated transfer would be noticed."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    /// `Code::ALL` holds every variant of `Code` once: the variants are read from this
    /// file's own `enum Code`, so a code added there and not to `ALL` fails here.
    #[test]
    fn all_lists_every_code_once() {
        let source = include_str!("finding.rs");
        let start = source.find("pub enum Code {").expect("enum Code");
        let body = &source[start + "pub enum Code {".len()..];
        let body = &body[..body.find('}').expect("end of enum")];
        let declared: Vec<&str> = body
            .lines()
            .map(|l| l.trim().trim_end_matches(','))
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .collect();
        let listed: Vec<String> = Code::ALL.iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(declared, listed);
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "as_str names are distinct");
    }

    /// Every code is documented in docs/findings.md.
    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../docs/findings.md");
        for c in Code::ALL {
            assert!(doc.contains(c.as_str()), "{c} is not in docs/findings.md");
        }
    }
}

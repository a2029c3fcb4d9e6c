//! The timed phases of a check, named and defined once for every monitoring output: the
//! Nagios perfdata labels and the Prometheus `phase` label carry the same names with the same
//! meanings (docs/monitoring.md has the table; [`TimedPhase::meaning`] is its source).
//!
//! All come from the transcript's own clock readings; a phase that did not happen (no DNS for
//! a literal address, no TLS, no transfer) is left out rather than given as 0.

use crate::transcript::{ServerSession, Transcript};

/// One timed phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimedPhase {
    Dns,
    Connect,
    Greeting,
    TlsHandshake,
    Login,
    Pasv,
    DataConnect,
    FirstByte,
    Data,
    Session,
}

impl TimedPhase {
    /// Every phase, in the order of a session.
    pub const ALL: [TimedPhase; 10] = [
        TimedPhase::Dns,
        TimedPhase::Connect,
        TimedPhase::Greeting,
        TimedPhase::TlsHandshake,
        TimedPhase::Login,
        TimedPhase::Pasv,
        TimedPhase::DataConnect,
        TimedPhase::FirstByte,
        TimedPhase::Data,
        TimedPhase::Session,
    ];

    /// The name in Nagios perfdata and in Prometheus's `phase` label.
    pub fn name(self) -> &'static str {
        match self {
            TimedPhase::Dns => "dns",
            TimedPhase::Connect => "connect",
            TimedPhase::Greeting => "greeting",
            TimedPhase::TlsHandshake => "tls_handshake",
            TimedPhase::Login => "login",
            TimedPhase::Pasv => "pasv",
            TimedPhase::DataConnect => "data_connect",
            TimedPhase::FirstByte => "first_byte",
            TimedPhase::Data => "data",
            TimedPhase::Session => "session",
        }
    }

    /// What the time measures, from where to where.
    pub fn meaning(self) -> &'static str {
        match self {
            TimedPhase::Dns => {
                "resolving the host name (A and AAAA); the target's, not one address's"
            }
            TimedPhase::Connect => "the control connection's TCP connect",
            TimedPhase::Greeting => "from the control connection to the server's complete greeting",
            TimedPhase::TlsHandshake => {
                "the control connection's TLS handshake (AUTH TLS's, or implicit TLS's), to its \
                 end or its failure"
            }
            TimedPhase::Login => "USER/PASS, from USER to the reply to PASS",
            TimedPhase::Pasv => {
                "the first PASV or EPSV reply, from when the server could answer it (its \
                 sending, or the arrival of the reply before it when commands were pipelined)"
            }
            TimedPhase::DataConnect => {
                "the TCP connect to the data port of the first transfer that ended"
            }
            TimedPhase::FirstByte => {
                "from the start of reading that data connection (after its connect, the \
                 listing command's preliminary reply and any PROT P handshake) to its first byte"
            }
            TimedPhase::Data => "data_connect plus reading that data connection to its end",
            TimedPhase::Session => "the whole session on this address, from connect to the end",
        }
    }
}

/// The phases of one session that happened, with their times in microseconds, in order.
/// `dns` is not among them: it belongs to the target ([`dns_us`]).
pub fn session_phases(s: &ServerSession) -> Vec<(TimedPhase, u64)> {
    let mut out = vec![(TimedPhase::Connect, s.connect.elapsed_us)];
    if let Some(g) = s.greeting.last() {
        out.push((TimedPhase::Greeting, g.elapsed_us));
    }
    if let Some(hs) = s.tls.as_ref().and_then(|t| t.handshake.as_ref()) {
        out.push((TimedPhase::TlsHandshake, hs.elapsed_us));
    }
    if let Some(l) = &s.login {
        out.push((TimedPhase::Login, l.elapsed_us));
    }
    if let Some(r) = s.samples.iter().find_map(|x| x.exchange.reply.as_ref()) {
        out.push((TimedPhase::Pasv, r.elapsed_us));
    }
    if let Some(t) = s.transfers.iter().find(|t| t.data_end_us.is_some()) {
        let connect = t.data.as_ref().map(|d| d.attempt.elapsed_us);
        if let Some(c) = connect {
            out.push((TimedPhase::DataConnect, c));
        }
        if let Some(first) = t.first_byte_us {
            out.push((TimedPhase::FirstByte, first));
        }
        let end = t.data_end_us.unwrap_or(0);
        out.push((TimedPhase::Data, connect.unwrap_or(0).saturating_add(end)));
    }
    out.push((TimedPhase::Session, s.total_us));
    out
}

/// The DNS lookup's time, when the target was a name.
pub fn dns_us(t: &Transcript) -> Option<u64> {
    t.dns.as_ref().map(|d| d.elapsed_us)
}

/// Whole days from the check to the control connection's certificate's `notAfter`
/// (negative once expired), as the certificate findings count them.
pub fn cert_days_left(t: &Transcript, s: &ServerSession) -> Option<i64> {
    let cert = s.tls.as_ref()?.certificate.as_ref()?;
    Some((cert.not_after_unix - t.settings.checked_at_unix).div_euclid(86_400))
}

/// Microseconds as seconds.
pub fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_prometheus_and_perfdata_safe() {
        let mut seen = std::collections::HashSet::new();
        for p in TimedPhase::ALL {
            assert!(seen.insert(p.name()), "{}", p.name());
            assert!(
                p.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                p.name()
            );
            assert!(!p.meaning().is_empty());
        }
    }
}

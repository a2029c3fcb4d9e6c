//! A passive reply the client went on to use becomes a [`Transfer`]: the data connection
//! the client's messages describe (where it went, whether it opened), the transfer
//! command and its last reply. What the log does not show stays unknown: an address the
//! log does not name is [`UNKNOWN_ADDR`], an outcome it does not show is said to be not
//! shown, never taken for a success or a failure.

use std::net::{IpAddr, SocketAddr};

use super::reader::Ex;
use super::redact::redacted_passive;
use crate::knowledge::clients::filezilla_unroutable;
use crate::proto::{PassiveKind, Reply};
use crate::transcript::{
    Advertised, Attempt, ConnectOutcome, DataTls, Exchange, LOG_ENDS_CONNECTING, NOT_SHOWN,
    PassiveSample, PortProbe, ReplyRecord, TlsHandshake, Transfer, UNKNOWN_ADDR, Via,
};

/// A PASV/EPSV waiting to see whether the client used it.
#[derive(Debug)]
pub struct Pending {
    pub sample: PassiveSample,
    pub at: Option<u64>,
    /// The transfer command that used it, its step index, and how many of its replies
    /// had arrived at the step being read.
    pub cmd: Option<Ex>,
    pub cmd_step: usize,
    pub visible: usize,
    /// Where the client says it connected.
    pub addr: Option<SocketAddr>,
    pub substituted: bool,
    pub used: Option<IpAddr>,
    pub outcome: Option<ConnectOutcome>,
    pub data_error: Option<String>,
    pub tls_error: Option<String>,
    /// The client says the listing or transfer failed.
    pub client_failed: bool,
    /// The client says it succeeded, in its words.
    pub client_ok: Option<String>,
    /// The data connection's TLS ended without close_notify.
    pub no_close_notify: bool,
    /// The log ends while the client connects this data connection.
    pub ends_connecting: bool,
    pub bytes: u64,
}

impl Pending {
    pub fn new(sample: PassiveSample, at: Option<u64>) -> Pending {
        Pending {
            sample,
            at,
            cmd: None,
            cmd_step: 0,
            visible: 0,
            addr: None,
            substituted: false,
            used: None,
            outcome: None,
            data_error: None,
            tls_error: None,
            client_failed: false,
            client_ok: None,
            no_close_notify: false,
            ends_connecting: false,
            bytes: 0,
        }
    }

    /// The transfer command's replies that had arrived at the step being read.
    fn seen(&self) -> &[(Reply, Option<u64>)] {
        self.cmd
            .as_ref()
            .map_or(&[], |c| &c.replies[..self.visible.min(c.replies.len())])
    }

    /// The server had answered the transfer command with a 1xx: the transfer started.
    pub fn preliminary(&self) -> bool {
        self.seen().iter().any(|(r, _)| r.class() == 1)
    }

    /// The transfer had completed with a 2xx at the step being read.
    pub fn finished_ok(&self) -> bool {
        self.seen().last().is_some_and(|(r, _)| r.class() == 2)
    }

    /// The transfer command and where it stands.
    pub fn set_cmd(&mut self, ex: &Ex, step: usize) {
        self.visible = ex.shown_at_start();
        self.cmd_step = step;
        self.cmd = Some(ex.clone());
    }

    /// Whether the log shows anything of a data connection for this reply.
    fn used_at_all(&self) -> bool {
        self.cmd.is_some()
            || self.addr.is_some()
            || self.outcome.is_some()
            || self.substituted
            || self.tls_error.is_some()
            || self.client_failed
            || self.client_ok.is_some()
    }
}

/// What one passive reply turned into.
#[derive(Debug)]
pub enum Flushed {
    /// The client did not use it (or the log does not show that it did).
    Sample(Box<PassiveSample>),
    /// A transfer, with when it started; `unknown_outcome` when the log does not show
    /// how its data connection went.
    Transfer {
        transfer: Box<Transfer>,
        at: Option<u64>,
        unknown_outcome: bool,
    },
}

pub fn record(r: &Reply, since: Option<u64>, at: Option<u64>) -> ReplyRecord {
    ReplyRecord {
        code: r.code,
        text: r.to_lossy_string(),
        anomalies: r.anomalies.iter().map(ToString::to_string).collect(),
        elapsed_us: match (since, at) {
            (Some(s), Some(a)) => elapsed(s, a),
            _ => 0,
        },
    }
}

/// Microseconds from one time of day to a later one (across midnight once).
pub fn elapsed(from: u64, to: u64) -> u64 {
    const DAY: u64 = 24 * 3600 * 1_000_000;
    if to >= from {
        to - from
    } else {
        to + DAY - from
    }
}

/// The exchange with its first reply.
pub fn exchange(ex: &Ex) -> Exchange {
    let reply = ex.replies.first().map(|(r, at)| record(r, ex.at, *at));
    Exchange {
        command: ex.command.clone(),
        failure: reply.is_none().then(|| "no reply in the log".to_string()),
        reply,
    }
}

/// The exchange with its final reply (after any 1xx), as the live engine records it.
pub fn final_exchange(ex: &Ex) -> Exchange {
    let last = ex
        .replies
        .iter()
        .rev()
        .find(|(r, _)| r.code >= 200)
        .or(ex.replies.last());
    Exchange {
        command: ex.command.clone(),
        failure: last.is_none().then(|| "no reply in the log".to_string()),
        reply: last.map(|(r, at)| record(r, ex.at, *at)),
    }
}

/// The passive command's sample. A reply whose address the user redacted is no
/// malformed reply: what is left of it (the port, usually) is kept, flagged
/// `address_redacted`.
pub fn sample(ex: &Ex, kind: PassiveKind) -> PassiveSample {
    let mut s = PassiveSample::decoded(kind, final_exchange(ex), ex.last());
    if s.decode_error.is_some()
        && let Some(reply) = ex.last()
        && let Some(port) = redacted_passive(&reply.to_lossy_string())
    {
        s.decode_error = None;
        s.advertised = port.map(|port| Advertised {
            kind,
            address: None,
            port,
            flags: vec![REDACTED.to_string()],
            parse_failures: Vec::new(),
        });
    }
    s
}

/// The flag on a passive reply whose address the user redacted.
pub const REDACTED: &str = "address_redacted";

/// The flag on a PASV address known only from the client's message about it (WinSCP's
/// "unroutable address 172.25.0.1, using host address instead"): no reply, port 0 (not
/// given).
pub const FROM_MESSAGE: &str = "from_client_message";

/// A reply that says the file or folder is not there (an empty folder's `550 No files
/// found`): a file-system answer, not a data-path failure.
pub fn no_such_file(r: &Reply) -> bool {
    let text = r.to_lossy_string().to_ascii_lowercase();
    matches!(r.code, 450 | 550)
        && ["no files", "not found", "no such file", "file unavailable"]
            .iter()
            .any(|w| text.contains(w))
}

/// The data connection's outcome from the log: what the client said, else what the
/// server's replies imply (a 1xx or 2xx means the server had the data connection).
fn outcome_of(p: &Pending, first: Option<&Reply>, last: Option<&Reply>) -> Option<ConnectOutcome> {
    if let Some(o) = &p.outcome {
        return Some(o.clone());
    }
    if p.tls_error.is_some() {
        return Some(ConnectOutcome::Connected);
    }
    let answered = first.is_some_and(|r| r.class() == 1) || last.is_some_and(|r| r.class() == 2);
    let bad_ip = last.is_some_and(|r| {
        r.code == 425 && r.to_lossy_string().to_ascii_lowercase().contains("bad ip")
    });
    (answered || bad_ip).then_some(ConnectOutcome::Connected)
}

/// A pending passive reply becomes a sample (the client did not use it) or a transfer.
/// `peer` is the control peer when the log shows it; `substitutes` says the client is
/// one that replaces an unroutable PASV address with the peer (FileZilla, WinSCP).
pub fn flush(mut p: Pending, peer: Option<IpAddr>, substitutes: bool) -> Flushed {
    let advertised = p.sample.advertised.as_ref().and_then(|a| a.address);
    // A refused PASV/EPSV (502) opened no port, whatever the client sent after it.
    let refused = p
        .sample
        .exchange
        .reply
        .as_ref()
        .is_some_and(|r| PassiveKind::from_code(r.code).is_none());
    if refused || !p.used_at_all() {
        return Flushed::Sample(Box::new(p.sample));
    }
    // FileZilla and WinSCP always substitute an unroutable address when the server's own
    // is routable (their message may be translated and so not recognised).
    if substitutes
        && !p.substituted
        && p.addr.is_none()
        && let (Some(a), Some(peer)) = (advertised, peer)
        && filezilla_unroutable(a)
        && !filezilla_unroutable(peer)
    {
        p.substituted = true;
    }
    let adv = p.sample.advertised.clone();
    let epsv = p.sample.command == PassiveKind::Epsv;
    let to_peer = epsv || p.substituted;
    let addr = match p.addr {
        Some(a) => a,
        None => match (to_peer, p.used.or(peer), advertised, &adv) {
            (true, Some(ip), _, Some(a)) => SocketAddr::new(ip, a.port),
            (false, _, Some(ip), Some(a)) if !ip.is_unspecified() => SocketAddr::new(ip, a.port),
            // Where it went is not in the log; the port is the advertised one.
            (_, _, _, Some(a)) => SocketAddr::new(UNKNOWN_ADDR.ip(), a.port),
            _ => UNKNOWN_ADDR,
        },
    };
    // Where the client went by its own rule: the control peer after EPSV or a
    // substitution, else wherever the PASV reply pointed (shown in the log or not).
    let via = if to_peer && advertised != Some(addr.ip()) {
        Via::ControlPeer
    } else {
        Via::Advertised
    };
    let first = p
        .cmd
        .as_ref()
        .and_then(|c| c.replies.first())
        .map(|(r, _)| r);
    let last = p.cmd.as_ref().and_then(Ex::last);
    let outcome = outcome_of(&p, first, last);
    let unknown_outcome = outcome.is_none();
    let outcome = outcome.unwrap_or_else(|| {
        ConnectOutcome::Error(match last {
            None if p.ends_connecting => LOG_ENDS_CONNECTING.to_string(),
            Some(r) => format!("{NOT_SHOWN} (the server answered: {})", r.to_lossy_string()),
            None => NOT_SHOWN.to_string(),
        })
    });
    let mut transfer = Transfer::new(p.sample);
    transfer.data = Some(PortProbe {
        via,
        attempt: Attempt {
            addr,
            outcome,
            at_us: 0,
            elapsed_us: 0,
        },
    });
    transfer.command = p.cmd.as_ref().map(exchange);
    let preliminary = first.is_some_and(|r| r.class() == 1);
    transfer.completion = p.cmd.as_ref().and_then(|c| {
        c.replies
            .iter()
            .rev()
            .find(|(r, _)| r.code >= 200)
            .map(|(r, at)| record(r, c.at, *at))
    });
    if preliminary && transfer.completion.is_none() {
        transfer.completion_failure =
            Some("the log ends before the transfer's last reply".to_string());
    }
    transfer.bytes = p.bytes;
    transfer.client_ok = p.client_ok.filter(|_| transfer.completion.is_none());
    // The client's word that it failed, when nothing more precise was seen.
    transfer.data_error = p.data_error.or_else(|| {
        (p.client_failed && transfer.completion.as_ref().is_none_or(|c| c.code < 400))
            .then(|| "the client says the transfer failed".to_string())
    });
    if p.tls_error.is_some() || p.no_close_notify {
        transfer.tls = Some(DataTls {
            handshake: TlsHandshake {
                version: None,
                cipher: None,
                resumed: false,
                error: p.tls_error,
                elapsed_us: 0,
            },
            fresh_session: false,
            verdict: None,
            certificate: None,
            no_close_notify: p.no_close_notify,
        });
    }
    Flushed::Transfer {
        transfer: Box::new(transfer),
        at: p.at,
        unknown_outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Limits, parse_all};

    fn ex(command: &str, replies: &[&str]) -> Ex {
        let text: String = replies.iter().map(|r| format!("{r}\r\n")).collect();
        Ex {
            command: command.to_string(),
            at: None,
            replies: parse_all(text.as_bytes(), Limits::default())
                .into_iter()
                .map(|r| (r.expect("a reply"), None))
                .collect(),
            inferred: false,
        }
    }

    fn pending(reply: &str) -> Pending {
        let pasv = ex("PASV", &[reply]);
        Pending::new(sample(&pasv, PassiveKind::Pasv), None)
    }

    #[test]
    fn an_unused_reply_stays_a_sample() {
        let p = pending("227 Entering Passive Mode (10,0,0,5,195,80).");
        assert!(matches!(flush(p, None, true), Flushed::Sample(_)));
    }

    #[test]
    fn filezilla_substitutes_an_unroutable_address_with_a_known_peer() {
        let mut p = pending("227 Entering Passive Mode (10,0,0,5,195,80).");
        p.cmd = Some(ex("MLSD", &[]));
        p.outcome = Some(ConnectOutcome::TimedOut);
        let peer: IpAddr = "203.0.113.10".parse().unwrap();
        let Flushed::Transfer { transfer, .. } = flush(p, Some(peer), true) else {
            panic!("a transfer")
        };
        let data = transfer.data.expect("data");
        assert_eq!(data.via, Via::ControlPeer);
        assert_eq!(data.attempt.addr, "203.0.113.10:50000".parse().unwrap());
    }

    #[test]
    fn an_address_the_log_does_not_show_stays_unknown() {
        // No peer in the log, and the client substituted: where it went is unknown.
        let mut p = pending("227 Entering Passive Mode (10,0,0,5,195,80).");
        p.substituted = true;
        p.cmd = Some(ex("LIST", &["425 Can't open data connection."]));
        let Flushed::Transfer {
            transfer,
            unknown_outcome,
            ..
        } = flush(p, None, true)
        else {
            panic!("a transfer")
        };
        assert!(unknown_outcome);
        let data = transfer.data.expect("data");
        assert!(crate::transcript::is_unknown(data.attempt.addr));
        assert_eq!(data.attempt.addr.port(), 50000);
        assert!(
            matches!(data.attempt.outcome, ConnectOutcome::Error(ref e) if e.contains("not shown"))
        );
    }

    #[test]
    fn a_150_means_the_server_had_the_data_connection() {
        let mut p = pending("227 Entering Passive Mode (203,0,113,10,195,80).");
        p.cmd = Some(ex("LIST", &["150 Here comes the listing.", "226 Done."]));
        let Flushed::Transfer { transfer, .. } = flush(p, None, false) else {
            panic!("a transfer")
        };
        assert_eq!(
            transfer.data.expect("data").attempt.outcome,
            ConnectOutcome::Connected
        );
        assert_eq!(transfer.completion.expect("226").code, 226);
    }

    #[test]
    fn empty_folder_is_not_a_failure() {
        let r = parse_all(b"550 No files found\r\n", Limits::default())
            .remove(0)
            .expect("a reply");
        assert!(no_such_file(&r));
    }
}

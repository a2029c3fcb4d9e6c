//! Analysis: a pure function from a [`Transcript`] to [`Finding`]s. One rule per file;
//! each rule reads the transcript and appends what it concludes. No I/O, no clock.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod active_mode;
mod check_interrupted;
mod cleartext_login;
mod client_vantage;
mod clients;
mod connect_failed;
mod data_ports;
mod data_transfer;
mod dns_failed;
mod epsv_fallback_to_pasv;
mod epsv_unsupported;
mod login_failed;
mod pasv_address_mismatch;
mod pasv_address_private;
mod pasv_address_unexpected;
mod pasv_address_unspecified;
mod pasv_port_range;
mod pasv_rewritten;
mod pasv_unsupported;
pub mod range;
pub mod range_scan;
mod reply_malformed;
mod reply_nonstandard;
mod server_unavailable;
mod substituted_address_timed_out;
mod tls_certificate;
mod tls_data;
mod tls_data_cert_changed;
mod tls_data_close_notify;
mod tls_handshake_failed;
mod tls_not_offered;
mod tls_session_reuse;
mod tls_session_reuse_refused;

use std::net::IpAddr;

use crate::finding::{Finding, Severity, Verdict};
use crate::proto::PassiveKind;
use crate::transcript::{Advertised, PassiveSample, ReplyRecord, ServerSession, Transcript};

pub use range::{PassiveRange, passive_range};
pub use tls_certificate::unix_date;

type Rule = fn(&Transcript, &mut Vec<Finding>);

/// Every rule, in report order.
const RULES: &[Rule] = &[
    dns_failed::check,
    connect_failed::check,
    server_unavailable::check,
    tls_not_offered::check,
    tls_handshake_failed::check,
    tls_certificate::check,
    login_failed::check,
    pasv_address_private::check,
    pasv_address_unspecified::check,
    pasv_address_mismatch::check,
    pasv_address_unexpected::check,
    pasv_port_range::check,
    pasv_unsupported::check,
    epsv_fallback_to_pasv::check,
    epsv_unsupported::check,
    reply_malformed::check,
    reply_nonstandard::check,
    data_ports::check,
    data_transfer::check,
    range_scan::check,
    active_mode::check,
    substituted_address_timed_out::check,
    tls_session_reuse_refused::check,
    tls_data::check,
    tls_data_cert_changed::check,
    tls_data_close_notify::check,
    tls_session_reuse::check,
    pasv_rewritten::check,
    cleartext_login::check,
    client_vantage::check,
    check_interrupted::check,
];

/// All findings for a transcript, worst first (stable within a severity).
pub fn analyze(transcript: &Transcript) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in RULES {
        rule(transcript, &mut out);
    }
    // Worst first; within a severity the root cause before its symptoms.
    out.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.code.cause_rank()));
    out
}

/// The overall verdict: the worst severity; unknown when no server could be checked and
/// nothing failed that was seen failing.
pub fn verdict(transcript: &Transcript, findings: &[Finding]) -> Verdict {
    let worst = findings.iter().map(|f| f.severity).max();
    // Nothing checked: unknown, unless what stopped it is an observed failure (the name
    // does not exist), so that a finding's severity and the verdict never disagree.
    if transcript.servers.is_empty() && worst != Some(Severity::Critical) {
        return Verdict::Unknown;
    }
    // An interrupted check claims nothing about the steps it did not finish.
    if transcript.interrupted {
        return Verdict::Unknown;
    }
    match worst {
        Some(Severity::Critical) => Verdict::Critical,
        Some(Severity::Warning) => Verdict::Warning,
        _ => Verdict::Ok,
    }
}

/// PASV (and LPSV) samples that named an address, with what they advertised.
fn advertised_addresses(
    s: &ServerSession,
) -> impl Iterator<Item = (&PassiveSample, &Advertised, IpAddr)> {
    s.passive_replies().filter_map(|sample| {
        let adv = sample.advertised.as_ref()?;
        let ip = adv.address?;
        Some((sample, adv, ip))
    })
}

/// The distinct advertised addresses of a session, in order of first appearance, each
/// with the first reply that named it.
fn distinct_advertised(s: &ServerSession) -> Vec<(IpAddr, String)> {
    let mut out: Vec<(IpAddr, String)> = Vec::new();
    for (sample, _, ip) in advertised_addresses(s) {
        if !out.iter().any(|(a, _)| *a == ip) {
            out.push((ip, reply_text(sample.exchange.reply.as_ref())));
        }
    }
    out
}

fn reply_text(reply: Option<&ReplyRecord>) -> String {
    reply.map_or_else(|| "(no reply)".to_string(), |r| r.text.clone())
}

fn phase_of(kind: PassiveKind) -> crate::transcript::Phase {
    match kind {
        PassiveKind::Epsv => crate::transcript::Phase::Epsv,
        _ => crate::transcript::Phase::Pasv,
    }
}

/// The public address to put in a fix: the control peer when it is global, else the
/// address the user expects, else a global DNS answer.
fn public_address(t: &Transcript, s: &ServerSession) -> Option<IpAddr> {
    use crate::proto::AddressClass;
    let global = |ip: &IpAddr| AddressClass::of(*ip).is_global();
    // The peer unless it is an address no one outside could reach (a documentation or
    // benchmarking address in a lab counts as public).
    let peer = s.peer();
    let unreachable = matches!(
        crate::proto::classify_effective(peer),
        AddressClass::Private
            | AddressClass::Cgnat
            | AddressClass::Loopback
            | AddressClass::LinkLocal
            | AddressClass::UniqueLocal
            | AddressClass::Unspecified
    );
    if !unreachable {
        return Some(peer);
    }
    if let Some(e) = t.settings.expect_address {
        return Some(e);
    }
    t.dns.as_ref().and_then(|d| {
        d.a.records
            .iter()
            .chain(&d.aaaa.records)
            .map(|r| r.ip)
            .find(global)
    })
}

/// The fix for a wrong advertised address on this server: a sentence and the exact
/// settings for the product recognised (every product when unknown).
fn address_fix(t: &Transcript, s: &ServerSession, advertised: IpAddr) -> (String, Vec<String>) {
    use crate::knowledge::servers::{Product, docker_hint, external_address_setting, fingerprint};
    let public = public_address(t, s);
    let ip = public.map_or_else(|| "PUBLIC_IP".to_string(), |ip| ip.to_string());
    let product = fingerprint(s).product;
    let mut fix = external_address_setting(product, &ip);
    if let Some(hint) = docker_hint(advertised) {
        fix.push(hint);
    }
    let who = match product {
        Product::Unknown => "the server".to_string(),
        p => p.name().to_string(),
    };
    let remedy = format!(
        "Make {who} advertise its public address {}{}; until then, clients that ignore the \
         PASV address (curl 7.74+, modern ftplib) or use EPSV keep working.",
        ip,
        if public.is_none() {
            " (PUBLIC_IP: the address clients reach the server at)"
        } else {
            ""
        }
    );
    (remedy, fix)
}

/// The class of an advertised address when it is a non-routable address that a client
/// outside the server's network cannot reach: RFC 1918, CGNAT, loopback, link-local or
/// ULA, and not of the same class as the control peer (a client on the same LAN reaches a
/// private address fine).
fn unreachable_class(advertised: IpAddr, peer: IpAddr) -> Option<crate::proto::AddressClass> {
    use crate::proto::classify_effective;
    if advertised == peer {
        return None;
    }
    let class = classify_effective(advertised);
    let local = class.is_local_only();
    (local && classify_effective(peer) != class).then_some(class)
}

/// The class PASV_ADDRESS_PRIVATE reports an advertised address under: one no outside
/// client reaches ([`unreachable_class`]), or a private address of another network than the
/// peer's (a container bridge behind a LAN address) that a client's own data connection
/// could not reach. PASV_ADDRESS_MISMATCH leaves these addresses to it.
fn private_class(
    t: &Transcript,
    s: &ServerSession,
    ip: IpAddr,
    peer: IpAddr,
) -> Option<crate::proto::AddressClass> {
    use crate::proto::{AddressClass, classify_effective};
    let class = classify_effective(ip);
    let local = matches!(
        class,
        AddressClass::Private | AddressClass::Cgnat | AddressClass::UniqueLocal
    );
    let other_network = local
        && ip != peer
        && class == classify_effective(peer)
        && !failed_at_advertised(t, s, ip).is_empty();
    unreachable_class(ip, peer).or(other_network.then_some(class))
}

/// PASV matters little over IPv6: clients use EPSV there (PASV cannot carry an IPv6
/// address), so a problem with a 227 on an IPv6 session is only worth knowing.
fn pasv_severity(s: &ServerSession, usual: Severity) -> Severity {
    if s.server.is_ipv6() {
        Severity::Info
    } else {
        usual
    }
}

/// Every connection attempt to the address: test connections and transfers' data
/// connections.
fn attempts_at(
    s: &ServerSession,
    ip: IpAddr,
) -> impl Iterator<Item = &crate::transcript::PortProbe> {
    s.samples
        .iter()
        .flat_map(|x| x.probes.iter())
        .chain(s.transfers.iter().filter_map(|t| t.data.as_ref()))
        .filter(move |p| p.attempt.addr.ip() == ip)
}

/// Whether any connection to the address (a test connection or a transfer's) opened.
fn connected_to(s: &ServerSession, ip: IpAddr) -> bool {
    attempts_at(s, ip).any(|p| p.attempt.outcome == crate::transcript::ConnectOutcome::Connected)
}

/// Whether a connection to the address was tried and its outcome is known (not skipped,
/// not a log that does not show it): only then can it be said to fail.
fn tested_at(s: &ServerSession, ip: IpAddr) -> bool {
    attempts_at(s, ip).any(|p| {
        !matches!(
            p.attempt.outcome,
            crate::transcript::ConnectOutcome::Skipped(_)
        ) && !p.attempt.outcome.not_shown()
    })
}

/// A client log's data connections that used a PASV reply naming `ip` and failed (refused,
/// timed out, unreachable): the customer's own client failed at that address. Only a
/// client's transfer counts: a live check's test of an advertised address (with
/// `--probe-advertised`) is not a client's, and the clients that substitute the address
/// may still work.
fn failed_at_advertised(t: &Transcript, s: &ServerSession, ip: IpAddr) -> Vec<String> {
    use crate::transcript::ConnectOutcome as O;
    if t.client_log.is_none() {
        return Vec::new();
    }
    s.transfers
        .iter()
        .filter(|tr| tr.passive.advertised.as_ref().and_then(|a| a.address) == Some(ip))
        .filter_map(|tr| tr.data.as_ref())
        .filter(|d| d.via == crate::transcript::Via::Advertised || d.attempt.addr.ip() == ip)
        .filter(|d| {
            matches!(
                d.attempt.outcome,
                O::Refused | O::TimedOut | O::Unreachable(_)
            )
        })
        .map(|d| {
            format!(
                "the client's data connection to {ip} port {}: {}",
                d.attempt.addr.port(),
                d.attempt.outcome.label()
            )
        })
        .collect()
}

/// Whether the client gave up on passive mode after a PASV naming `ip`: a PASV named it,
/// no passive transfer followed in the session, and the client used PORT/EPRT instead
/// (FileZilla falls back to active mode on a reply it cannot use).
fn abandoned_after(s: &ServerSession, ip: IpAddr) -> bool {
    let named = s
        .samples
        .iter()
        .any(|x| x.advertised.as_ref().and_then(|a| a.address) == Some(ip));
    named && s.transfers.is_empty() && !s.active.is_empty()
}

/// What the test connections to an address showed, for evidence: each attempt, and each
/// distinct reason for not trying it once.
fn probe_summary(s: &ServerSession, ip: IpAddr) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in attempts_at(s, ip) {
        let line = match &p.attempt.outcome {
            crate::transcript::ConnectOutcome::Skipped(why) => format!("{ip} not contacted: {why}"),
            other => format!("{}: {}", p.attempt.addr, other.label()),
        };
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

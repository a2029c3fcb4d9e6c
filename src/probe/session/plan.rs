//! Pure planning for a session: what every session of a probe shares ([`SessionPlan`]),
//! where a sampled port may be test-connected, which ports to connect once each, which
//! listing commands to try, and whether another transfer can tell anything new. No I/O:
//! everything here is decided from the plan and what the session recorded so far.

use std::net::{IpAddr, SocketAddr};

use super::super::control::Clock;
use super::super::progress::Progress;
use super::super::tls::TlsOptions;
use crate::proto::PassiveKind;
use crate::secret::Secret;
use crate::transcript::{
    Advertised, Attempt, ConnectOutcome, PassiveSample, PortProbe, TlsRequest, Transfer, Via,
};

/// What every session of a probe shares.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub clock: Clock,
    pub user: String,
    pub password: Option<Secret>,
    pub samples: u32,
    /// Real listings to make (1 or 2).
    pub transfers: u32,
    pub probe_advertised: bool,
    /// The target's own addresses (DNS answers; each session adds its peer).
    pub own: Vec<IpAddr>,
    pub path: Option<String>,
    /// The host as given: the TLS server name for control and data connections.
    pub host: String,
    pub tls: TlsRequest,
    pub tls_options: TlsOptions,
    /// PROT C instead of PROT P.
    pub prot_clear: bool,
    /// After a TLS session, compare with a plain-text session's PASV (ALG detection).
    pub compare_plain: bool,
    /// Test active mode after the passive checks.
    pub active: bool,
    /// Where to listen for the server's connection (default: the control connection's
    /// local address).
    pub active_address: Option<IpAddr>,
    /// Who is told each step as it happens.
    pub progress: Progress,
}

impl SessionPlan {
    /// The target's own addresses with this session's control peer.
    pub fn own_with_peer(&self, peer: IpAddr) -> Vec<IpAddr> {
        let mut own = self.own.clone();
        own.push(peer);
        own
    }

    /// Where a listing over `adv` connects: like FileZilla, the advertised address when it
    /// may be tried, else the control peer. `None` when neither may be.
    pub fn listing_target(&self, adv: &Advertised, peer: IpAddr) -> Option<(Via, SocketAddr)> {
        let own = self.own_with_peer(peer);
        probe_targets(adv, peer, &own, self.probe_advertised)
            .into_iter()
            .find_map(|(via, t)| t.ok().map(|addr| (via, addr)))
    }
}

/// Where to test-connect for a sample: each address with why it is tried, or why not.
pub fn probe_targets(
    adv: &Advertised,
    peer: IpAddr,
    own: &[IpAddr],
    probe_advertised: bool,
) -> Vec<(Via, Result<SocketAddr, String>)> {
    if adv.port == 0 {
        return vec![(
            Via::Advertised,
            Err("port 0 cannot be connected to".to_string()),
        )];
    }
    let to_peer = (Via::ControlPeer, Ok(SocketAddr::new(peer, adv.port)));
    match adv.address {
        None => vec![to_peer],
        Some(a) if a == peer => vec![(Via::Advertised, Ok(SocketAddr::new(a, adv.port)))],
        Some(a) if a.is_unspecified() => vec![
            (
                Via::Advertised,
                Err(format!("{a} is not an address a client can connect to")),
            ),
            to_peer,
        ],
        Some(a) if own.contains(&a) || probe_advertised => {
            vec![(Via::Advertised, Ok(SocketAddr::new(a, adv.port))), to_peer]
        }
        Some(a) => vec![
            (
                Via::Advertised,
                Err(format!(
                    "{a} is not one of the target's own addresses; a PASV reply can point \
                     anywhere (RFC 2577), so it is tested only with --probe-advertised"
                )),
            ),
            to_peer,
        ],
    }
}

/// A sample (by index), why an address is tried for it, and the address.
pub type ProbeTarget = (usize, Via, SocketAddr);

/// Which sampled ports to test-connect, and where. Each address is connected once (a
/// server with a one-port range names the same port every time, and its listener accepts
/// few connections); a sample that repeats an address gets the same outcome. The reserved
/// sample's address is left to its listing: a test connection would take the one
/// connection its listener accepts. Addresses that may not be contacted are recorded as
/// skipped at once. Returns the addresses to connect and the repeats to fill in after.
pub fn probe_plan(
    samples: &mut [PassiveSample],
    plan: &SessionPlan,
    peer: IpAddr,
    reserved: Option<usize>,
    clock: Clock,
) -> (Vec<ProbeTarget>, Vec<ProbeTarget>) {
    let own = plan.own_with_peer(peer);
    let targets = |adv: &Advertised| probe_targets(adv, peer, &own, plan.probe_advertised);
    let reserved_addrs: Vec<SocketAddr> = reserved
        .and_then(|i| samples[i].advertised.as_ref())
        .map(|adv| {
            targets(adv)
                .into_iter()
                .filter_map(|(_, t)| t.ok())
                .collect()
        })
        .unwrap_or_default();
    let mut wanted: Vec<ProbeTarget> = Vec::new();
    let mut repeats: Vec<ProbeTarget> = Vec::new();
    for (i, sample) in samples.iter_mut().enumerate() {
        if Some(i) == reserved {
            continue;
        }
        let Some(adv) = sample.advertised.clone() else {
            continue;
        };
        for (via, target) in targets(&adv) {
            match target {
                Ok(addr) if reserved_addrs.contains(&addr) => {
                    sample.probes.push(skipped(
                        via,
                        &adv,
                        "the listing uses this port now; a test connection would take its \
                         data connection"
                            .to_string(),
                        clock,
                    ));
                }
                Ok(addr) if wanted.iter().any(|w| w.2 == addr) => repeats.push((i, via, addr)),
                Ok(addr) => wanted.push((i, via, addr)),
                Err(reason) => sample.probes.push(skipped(via, &adv, reason, clock)),
            }
        }
    }
    (wanted, repeats)
}

/// Records the outcomes of [`probe_plan`]'s connections on their samples, and the same
/// outcome on every repeat of an address.
pub fn record_probes(
    samples: &mut [PassiveSample],
    wanted: Vec<ProbeTarget>,
    attempts: Vec<Attempt>,
    repeats: Vec<ProbeTarget>,
) {
    let mut done: Vec<(SocketAddr, Attempt)> = Vec::new();
    for ((i, via, addr), attempt) in wanted.into_iter().zip(attempts) {
        done.push((addr, attempt.clone()));
        samples[i].probes.push(PortProbe { via, attempt });
    }
    for (i, via, addr) in repeats {
        if let Some((_, attempt)) = done.iter().find(|(a, _)| *a == addr) {
            samples[i].probes.push(PortProbe {
                via,
                attempt: attempt.clone(),
            });
        }
    }
}

fn skipped(via: Via, adv: &Advertised, reason: String, clock: Clock) -> PortProbe {
    // A skipped probe has no address when the reply named none; the record keeps the
    // port, and the reason says why it was not tried.
    let ip = adv
        .address
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    PortProbe {
        via,
        attempt: Attempt {
            addr: SocketAddr::new(ip, adv.port),
            outcome: ConnectOutcome::Skipped(reason),
            at_us: clock.now_us(),
            elapsed_us: 0,
        },
    }
}

/// The listing commands to try in order: MLSD where FEAT lists MLST, else LIST; the second
/// is the fallback when the first is not understood.
pub fn listing_commands(features: &[String], path: Option<&str>) -> Vec<String> {
    let has_mlst = features.iter().any(|f| {
        f.split_whitespace()
            .next()
            .is_some_and(|v| v.eq_ignore_ascii_case("MLST"))
    });
    let verbs: &[&str] = if has_mlst {
        &["MLSD", "LIST"]
    } else {
        &["LIST", "NLST"]
    };
    verbs
        .iter()
        .map(|v| match path {
            Some(p) => format!("{v} {p}"),
            None => (*v).to_string(),
        })
        .collect()
}

/// Whether a transfer over a fresh `kind` reply can tell anything new: the server answered
/// that command, and not every tried port (and the first listing's own data connection)
/// timed out, when one more would only time out too. (When the first listing connected,
/// older ports may time out only because a stateful firewall or FTP helper opens just the
/// port most recently announced: a fresh one tells.)
pub fn transfer_worth_trying(
    samples: &[PassiveSample],
    transfers: &[Transfer],
    kind: PassiveKind,
) -> bool {
    let of_kind: Vec<&PassiveSample> = samples.iter().filter(|s| s.command == kind).collect();
    let supported = of_kind.iter().any(|s| s.advertised.is_some());
    let tried: Vec<&PortProbe> = of_kind
        .iter()
        .flat_map(|s| s.probes.iter())
        .filter(|p| !matches!(p.attempt.outcome, ConnectOutcome::Skipped(_)))
        .collect();
    let first_timed_out = transfers.first().is_none_or(|t| {
        t.data
            .as_ref()
            .is_none_or(|d| d.attempt.outcome == ConnectOutcome::TimedOut)
    });
    let all_filtered = first_timed_out
        && !tried.is_empty()
        && tried
            .iter()
            .all(|p| p.attempt.outcome == ConnectOutcome::TimedOut);
    supported && !all_filtered
}

/// The command of the first listing that completed, for the session-reuse test; that
/// test runs only once a protected transfer over a resumed session worked.
pub fn reuse_test_kind(transfers: &[Transfer]) -> Option<PassiveKind> {
    let resumed_ok = transfers.iter().any(|t| {
        t.tls.as_ref().is_some_and(|d| d.handshake.error.is_none())
            && t.completion.as_ref().is_some_and(|r| r.code / 100 == 2)
    });
    resumed_ok.then(|| {
        transfers
            .iter()
            .find(|t| t.completion.as_ref().is_some_and(|r| r.code / 100 == 2))
            .map_or(PassiveKind::Epsv, |t| t.passive.command)
    })
}

//! The probe: the only room that does network I/O. It resolves the target, runs one
//! session per server address (concurrently), and returns a [`Transcript`] of everything
//! it saw. A misbehaving server is recorded, never returned as an error: `Err` means the
//! tool itself could not work (no resolver configuration, an impossible request).
//!
//! Safety rule (RFC 2577, CVE-2020-8284): data connections go only to the target's own
//! addresses (control peers and DNS answers) unless `probe_advertised` is set.

pub mod clock;
pub mod control;
pub mod data;
pub mod dns;
pub mod myip;
pub mod net;
pub mod progress;
pub mod scan;
pub mod session;
pub mod tls;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::secret::Secret;
use crate::target::{Host, Target};
use crate::transcript::{
    Attempt, ConnectOutcome, Family, ServerSession, SessionEnd, Settings, TargetInfo, TlsRequest,
    Transcript,
};
use control::Clock;
use session::SessionPlan;

/// Everything a probe needs: the one resolved configuration of a check (built by
/// `crate::config` from the built-in defaults, a config file, a batch line and the flags).
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// The TARGET as the user wrote it.
    pub input: String,
    pub target: Target,
    pub user: String,
    pub password: Option<Secret>,
    pub dns_server: Option<SocketAddr>,
    pub family: Family,
    pub samples: u32,
    /// Real listings: 2 (PASV and EPSV) or 1 (over the last sample).
    pub transfers: u32,
    pub timeout: Duration,
    pub deadline: Duration,
    pub probe_advertised: bool,
    pub expect_range: Option<(u16, u16)>,
    pub expect_address: Option<IpAddr>,
    /// Where to learn this machine's public address (opt-in; `None`: no call).
    pub my_ip_url: Option<String>,
    pub tls: TlsRequest,
    pub tls_options: tls::TlsOptions,
    pub prot_clear: bool,
    pub cert_warn_days: u32,
    /// Compare the TLS session's PASV with a plain-text session's (ALG detection).
    pub compare_plain: bool,
    /// Map the passive range after the checks (`--scan-range`).
    pub scan: Option<ScanRequest>,
    /// After the passive checks, test active mode (EPRT, and PORT over IPv4).
    pub active: bool,
    /// Listen here for the server's connection instead of the control connection's local
    /// address.
    pub active_address: Option<IpAddr>,
}

/// Which ports `--scan-range` maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanRange {
    /// `--expect-range`, else from the lowest to the highest port the server handed out.
    Auto,
    Ports(u16, u16),
}

/// A scan of the passive range, and how fast its attempts may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanRequest {
    pub range: ScanRange,
    /// Connection attempts started per second at most.
    pub rate: u32,
}

impl ScanRequest {
    /// The range to scan for a session: given, or `--expect-range`, or what the samples
    /// suggest. `None` when nothing says which ports.
    pub fn range_for(&self, expect: Option<(u16, u16)>, s: &ServerSession) -> Option<(u16, u16)> {
        match self.range {
            ScanRange::Ports(low, high) => Some((low, high)),
            ScanRange::Auto => expect.or_else(|| {
                let ports = s
                    .samples
                    .iter()
                    .filter_map(|x| x.advertised.as_ref())
                    .map(|a| a.port)
                    .filter(|p| *p != 0);
                let (low, high) = ports.fold((u16::MAX, 0), |(l, h), p| (l.min(p), h.max(p)));
                (low <= high).then_some((low, high))
            }),
        }
    }

    /// How it is written on the command line.
    pub fn label(&self) -> String {
        match self.range {
            ScanRange::Auto => "auto".to_string(),
            ScanRange::Ports(l, h) => format!("{l}-{h}"),
        }
    }
}

impl ProbeConfig {
    /// What the transcript records of the target.
    pub fn target_info(&self) -> TargetInfo {
        TargetInfo {
            input: self.input.clone(),
            host: self.target.host.to_string(),
            port: self.target.port,
            user: self.user.clone(),
            path: self.target.path.clone(),
        }
    }

    /// The settings the transcript records (and the analysis reads), at `checked_at_unix`.
    pub fn settings(&self, checked_at_unix: i64) -> Settings {
        Settings {
            samples: self.samples,
            timeout_us: self.timeout.as_micros() as u64,
            deadline_us: self.deadline.as_micros() as u64,
            family: self.family,
            probe_advertised: self.probe_advertised,
            expect_range: self.expect_range,
            expect_address: self.expect_address,
            tls: self.tls,
            prot_clear: self.prot_clear,
            cert_warn_days: self.cert_warn_days,
            checked_at_unix,
            scan_range: self.scan.map(|s| s.label()),
        }
    }
}

/// The tool could not do its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// No resolver could be configured (e.g. unreadable /etc/resolv.conf).
    Resolver(String),
    /// The target's address is of a family excluded by -4/-6.
    FamilyExcluded { address: IpAddr, family: Family },
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Resolver(e) => write!(
                f,
                "cannot set up DNS resolution: {e}; name a nameserver with --dns-server IP[:PORT]"
            ),
            ProbeError::FamilyExcluded { address, family } => write!(
                f,
                "the target {address} is not an {} address; drop {}",
                if *family == Family::V4 {
                    "IPv4"
                } else {
                    "IPv6"
                },
                if *family == Family::V4 { "-4" } else { "-6" }
            ),
        }
    }
}

impl std::error::Error for ProbeError {}

fn family_allows(family: Family, ip: IpAddr) -> bool {
    match family {
        Family::Any => true,
        Family::V4 => ip.is_ipv4(),
        Family::V6 => ip.is_ipv6(),
    }
}

/// Runs the whole probe over real TCP.
pub async fn run(config: &ProbeConfig) -> Result<Transcript, ProbeError> {
    run_with(config, net::Tcp::shared()).await
}

/// Runs the whole probe, every connection opened through `net`.
pub async fn run_with(config: &ProbeConfig, net: net::Net) -> Result<Transcript, ProbeError> {
    run_observed(config, net, progress::Progress::default()).await
}

/// Runs the whole probe through `net`, telling `progress` each step as it happens.
pub async fn run_observed(
    config: &ProbeConfig,
    net: net::Net,
    progress: progress::Progress,
) -> Result<Transcript, ProbeError> {
    let clock = Clock::new(config.timeout, config.deadline);
    let start = clock.start;
    let mut transcript = Transcript::new(
        config.target_info(),
        config.settings(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        ),
    );

    // The public-address look-up runs while the target is checked.
    let my_ip = config
        .my_ip_url
        .clone()
        .map(|url| tokio::spawn(async move { myip::lookup(&url).await }));

    let mut addresses: Vec<(IpAddr, &'static str)> = Vec::new();
    match &config.target.host {
        Host::Ip(ip) => {
            if !family_allows(config.family, *ip) {
                return Err(ProbeError::FamilyExcluded {
                    address: *ip,
                    family: config.family,
                });
            }
            addresses.push((*ip, "literal"));
        }
        Host::Name(name) => {
            let budget = config.deadline.min(config.timeout.saturating_mul(2));
            let lookup = clock
                .bounded(
                    budget,
                    dns::resolve(name, config.dns_server, config.family, config.timeout),
                )
                .await;
            let lookup = match lookup {
                Ok(result) => result?,
                // Nothing was answered and nothing is claimed: the report says where the
                // check was stopped.
                Err(clock::Waited::Interrupted) => {
                    transcript.interrupted = true;
                    transcript.total_us = clock.now_us();
                    return Ok(transcript);
                }
                Err(clock::Waited::Elapsed) => {
                    let failed = crate::transcript::DnsAnswer {
                        queried: true,
                        records: Vec::new(),
                        error: Some("no answer within the timeout".to_string()),
                    };
                    crate::transcript::DnsLookup {
                        name: name.clone(),
                        nameserver: config.dns_server,
                        a: if config.family == Family::V6 {
                            crate::transcript::DnsAnswer {
                                queried: false,
                                records: Vec::new(),
                                error: None,
                            }
                        } else {
                            failed.clone()
                        },
                        aaaa: if config.family == Family::V4 {
                            crate::transcript::DnsAnswer {
                                queried: false,
                                records: Vec::new(),
                                error: None,
                            }
                        } else {
                            failed
                        },
                        elapsed_us: budget.as_micros() as u64,
                    }
                }
            };
            for r in lookup.a.records.iter().chain(&lookup.aaaa.records) {
                if family_allows(config.family, r.ip) && !addresses.iter().any(|(a, _)| *a == r.ip)
                {
                    addresses.push((r.ip, "dns"));
                }
            }
            transcript.dns = Some(lookup);
        }
    }

    let plan = SessionPlan {
        clock,
        user: config.user.clone(),
        password: config.password.clone(),
        samples: config.samples,
        transfers: config.transfers,
        probe_advertised: config.probe_advertised,
        own: transcript.dns_addresses(),
        path: config.target.path.clone(),
        host: config.target.host.to_string(),
        tls: config.tls,
        tls_options: config.tls_options.clone(),
        prot_clear: config.prot_clear,
        compare_plain: config.compare_plain,
        active: config.active,
        active_address: config.active_address,
        progress: progress.clone(),
    };
    let mut set = JoinSet::new();
    for (i, (ip, source)) in addresses.iter().copied().enumerate() {
        let plan = plan.clone();
        let net = net.clone();
        let server = SocketAddr::new(ip, config.target.port);
        set.spawn(async move { (i, session::check(server, source, &plan, net).await) });
    }
    let mut sessions: Vec<Option<ServerSession>> = vec![None; addresses.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, s)) = joined {
            sessions[i] = Some(s);
        }
    }
    transcript.servers = sessions
        .into_iter()
        .zip(&addresses)
        .map(|(s, (ip, source))| {
            s.unwrap_or_else(|| lost_session(SocketAddr::new(*ip, config.target.port), source))
        })
        .collect();
    if let Some(scan) = config.scan {
        for s in &mut transcript.servers {
            let Some(range) = scan.range_for(config.expect_range, s) else {
                continue;
            };
            let ports = u32::from(range.1) - u32::from(range.0) + 1;
            progress.emit(
                s.server,
                progress::Step::Scanning {
                    ports,
                    estimate: scan::estimate(ports, scan.rate, clock.step),
                },
            );
            let server = s.server;
            let tell = |done| progress.emit(server, progress::Step::Scanned { done, of: ports });
            s.range_scan =
                Some(scan::scan(&net, server.ip(), range, scan.rate, clock, &tell).await);
        }
    }
    transcript.deadline_hit = transcript
        .servers
        .iter()
        .any(|s| matches!(s.end, SessionEnd::Deadline(_)));
    if let Some(task) = my_ip {
        match task.await {
            Ok(Ok(ip)) => transcript.client_public = Some(ip),
            Ok(Err(e)) => transcript.client_public_error = Some(e),
            Err(e) => transcript.client_public_error = Some(e.to_string()),
        }
    }
    transcript.interrupted = clock.interrupted();
    transcript.total_us = start.elapsed().as_micros() as u64;
    Ok(transcript)
}

/// A session whose task died (a bug, not a server behaviour): recorded, not hidden.
fn lost_session(server: SocketAddr, source: &str) -> ServerSession {
    let connect = Attempt {
        addr: server,
        outcome: ConnectOutcome::Error("the session task failed".to_string()),
        at_us: 0,
        elapsed_us: 0,
    };
    let mut s = ServerSession::new(server, source, connect);
    s.end = SessionEnd::ConnectFailed;
    s
}

//! A and AAAA look-ups with hickory-resolver, concurrently, keeping the TTLs. The cache is
//! off so the TTLs are the server's. `--dns-server` picks the nameserver; tests always start
//! their own.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType;

use super::ProbeError;
use crate::transcript::{DnsAnswer, DnsLookup, DnsRecord, Family};

fn resolver(
    nameserver: Option<SocketAddr>,
    timeout: Duration,
) -> Result<Resolver<TokioRuntimeProvider>, ProbeError> {
    let mut builder = match nameserver {
        Some(ns) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = ns.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = ns.port();
            let config = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
                ns.ip(),
                true,
                vec![udp, tcp],
            )]);
            let mut b = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
            // A chosen nameserver is asked for everything: no hosts file.
            b.options_mut().use_hosts_file = ResolveHosts::Never;
            b
        }
        None => Resolver::builder(TokioRuntimeProvider::default())
            .map_err(|e| ProbeError::Resolver(e.to_string()))?,
    };
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.cache_size = 0;
    opts.timeout = timeout;
    opts.attempts = 1;
    builder
        .build()
        .map_err(|e| ProbeError::Resolver(e.to_string()))
}

async fn lookup(
    resolver: &Resolver<TokioRuntimeProvider>,
    name: &str,
    rtype: RecordType,
    wanted: bool,
) -> DnsAnswer {
    if !wanted {
        return DnsAnswer {
            queried: false,
            records: Vec::new(),
            error: None,
        };
    }
    match resolver.lookup(name, rtype).await {
        Ok(lookup) => DnsAnswer {
            queried: true,
            records: lookup
                .answers()
                .iter()
                .filter_map(|r| r.data.ip_addr().map(|ip| DnsRecord { ip, ttl: r.ttl }))
                .collect(),
            error: None,
        },
        Err(e) if e.is_no_records_found() && !e.is_nx_domain() => DnsAnswer {
            queried: true,
            records: Vec::new(),
            error: None,
        },
        Err(e) if e.is_nx_domain() => DnsAnswer {
            queried: true,
            records: Vec::new(),
            error: Some(format!("the name {name} does not exist (NXDOMAIN)")),
        },
        Err(e) => DnsAnswer {
            queried: true,
            records: Vec::new(),
            error: Some(e.to_string()),
        },
    }
}

/// Looks up A and AAAA for `name` at the same time.
pub async fn resolve(
    name: &str,
    nameserver: Option<SocketAddr>,
    family: Family,
    timeout: Duration,
) -> Result<DnsLookup, ProbeError> {
    let started = Instant::now();
    let resolver = resolver(nameserver, timeout)?;
    // A final dot keeps search domains out of it: the user named the host.
    let fqdn = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    let (a, aaaa) = tokio::join!(
        lookup(&resolver, &fqdn, RecordType::A, family != Family::V6),
        lookup(&resolver, &fqdn, RecordType::AAAA, family != Family::V4),
    );
    Ok(DnsLookup {
        name: name.to_string(),
        nameserver,
        a,
        aaaa,
        elapsed_us: started.elapsed().as_micros() as u64,
    })
}

//! PASV_ADDRESS_MISMATCH: the server advertises an address that is neither the control
//! peer nor unreachable by class: a stale or wrong public address, or another host. It says
//! whether the address is another of the host's own DNS addresses, and what a test of it
//! showed, because a load-balanced front end may legitimately hand out another address.

use super::{
    address_fix, clients, connected_to, distinct_advertised, private_class, probe_summary,
    tested_at,
};
use crate::finding::{Code, Finding, Severity};
use crate::proto::classify_effective;
use crate::transcript::{Phase, Transcript};

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    let dns = t.dns_addresses();
    for s in &t.servers {
        // Without the server's address (a client log) there is nothing to compare with.
        let Some(peer) = s.known_peer() else { continue };
        for (ip, reply) in distinct_advertised(s) {
            if ip == peer || ip.is_unspecified() || private_class(t, s, ip, peer).is_some() {
                continue;
            }
            // An IPv4-mapped form of the peer is the peer.
            if let (std::net::IpAddr::V6(v6), std::net::IpAddr::V4(p4)) = (ip, peer)
                && v6.to_ipv4_mapped() == Some(p4)
            {
                continue;
            }
            let own = dns.contains(&ip);
            let tried = probe_summary(s, ip);
            let reachable = connected_to(s, ip);
            // Whether anything connected there at all (a test with --probe-advertised, a
            // client's own data connection): only a failure seen there is critical.
            let tested = tested_at(s, ip);
            let mut evidence = vec![
                format!("reply: {reply}"),
                format!("advertised {ip}: {}", classify_effective(ip).describe()),
                format!("control connection peer {peer}"),
            ];
            evidence.push(if own {
                format!("{ip} is another DNS address of {}", t.target.host)
            } else if t.dns.is_some() {
                format!("{ip} is not one of the DNS addresses of {}", t.target.host)
            } else {
                format!("{ip} is not the target's address (the target was given as an address)")
            });
            evidence.extend(tried);
            let severity = if reachable || own || !tested {
                Severity::Warning
            } else {
                Severity::Critical
            };
            if !tested && t.client_log.is_none() {
                evidence.push(format!(
                    "not tested: {ip} was not contacted (it is not the address the check \
                     connected to); `pasv-doctor check --probe-advertised` tests it"
                ));
            }
            let (impact, breaks) = if reachable {
                (
                    "The data port answers at the advertised address too, so clients work \
                     either way; a client that cannot reach that address breaks."
                        .to_string(),
                    Vec::new(),
                )
            } else if tested {
                clients::address_impact(s, ip, clients::Reach::Fails)
            } else {
                clients::address_impact(s, ip, clients::Reach::Untested)
            };
            let (remedy, fix) = if reachable {
                (
                    "Nothing to fix if another host serves data on purpose (a load-balanced \
                     front end); otherwise advertise the control address."
                        .to_string(),
                    Vec::new(),
                )
            } else {
                address_fix(t, s, ip)
            };
            out.push(Finding {
                code: Code::PasvAddressMismatch,
                breaks,
                severity: super::pasv_severity(s, severity),
                phase: Phase::Pasv,
                server: Some(s.server),
                title: format!(
                    "PASV advertises {ip}, not the address the client connected to ({peer}){}",
                    match (tested, t.client_log.is_some()) {
                        (true, _) => "",
                        (false, true) => "; the client did not use it",
                        (false, false) => "; not tested",
                    }
                ),
                evidence,
                impact,
                remedy,
                fix,
            });
        }
    }
}

//! PASV_ADDRESS_MISMATCH: the server advertises an address that is neither the control
//! peer nor unreachable by class: a stale or wrong public address, or another host. It says
//! whether the address is another of the host's own DNS addresses, and what a test of it
//! showed, because a load-balanced front end may legitimately hand out another address.

use super::{
    address_fix, clients, connected_to, distinct_advertised, private_class, probe_summary,
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
            let severity = if reachable || own {
                Severity::Warning
            } else {
                Severity::Critical
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
                severity: super::pasv_severity(s, severity),
                phase: Phase::Pasv,
                server: Some(s.server),
                title: format!(
                    "PASV advertises {ip}, not the address the client connected to ({peer})"
                ),
                evidence,
                impact: if reachable {
                    "The data port answers at the advertised address too, so clients work \
                     either way; a client that cannot reach that address breaks."
                        .to_string()
                } else {
                    clients::impact_of_foreign_address(classify_effective(ip))
                },
                remedy,
                fix,
            });
        }
    }
}

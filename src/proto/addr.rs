//! Address classification: which kind of address a server advertised.
//!
//! The class decides who can reach a passive data port: a private (RFC 1918) address is
//! unreachable from outside its LAN, a CGNAT address is not "private" to most clients'
//! rules but is just as unreachable, and so on. Pure: std and ipnet only.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Serialize;

/// The kind of an IP address, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// `0.0.0.0` or `::`.
    Unspecified,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// RFC 6598 shared address space `100.64/10`, used by carrier-grade NAT.
    Cgnat,
    /// `169.254/16` or `fe80::/10`.
    LinkLocal,
    /// RFC 2544 benchmarking `198.18/15`.
    Benchmarking,
    /// RFC 5737 `192.0.2/24`, `198.51.100/24`, `203.0.113/24`; RFC 3849 `2001:db8::/32`.
    Documentation,
    /// `224/4` or `ff00::/8`.
    Multicast,
    /// `240/4` (but the broadcast address), `0/8`, `192.0.0/24`, and other IPv6 space that
    /// is not routable on the Internet.
    Reserved,
    /// `255.255.255.255`.
    Broadcast,
    /// RFC 4193 unique local `fc00::/7`.
    UniqueLocal,
    /// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`).
    Ipv4Mapped,
    /// Anything else: reachable on the Internet.
    Global,
}

impl AddressClass {
    /// The class of an address. IPv4-mapped IPv6 addresses are [`AddressClass::Ipv4Mapped`];
    /// use [`classify_effective`] for the class of the IPv4 address inside.
    pub fn of(ip: IpAddr) -> AddressClass {
        match ip {
            IpAddr::V4(v4) => classify_v4(v4),
            IpAddr::V6(v6) => classify_v6(v6),
        }
    }

    /// Whether an address of this class is reachable only inside one network or host
    /// (private, shared/CGNAT, loopback, link-local, unique-local): a client elsewhere
    /// cannot reach it.
    pub fn is_local_only(self) -> bool {
        matches!(
            self,
            AddressClass::Private
                | AddressClass::Cgnat
                | AddressClass::Loopback
                | AddressClass::LinkLocal
                | AddressClass::UniqueLocal
        )
    }

    /// Whether an address of this class is routable on the Internet.
    pub fn is_global(self) -> bool {
        self == AddressClass::Global
    }

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "unspecified",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::Cgnat => "cgnat",
            AddressClass::LinkLocal => "link_local",
            AddressClass::Benchmarking => "benchmarking",
            AddressClass::Documentation => "documentation",
            AddressClass::Multicast => "multicast",
            AddressClass::Reserved => "reserved",
            AddressClass::Broadcast => "broadcast",
            AddressClass::UniqueLocal => "unique_local",
            AddressClass::Ipv4Mapped => "ipv4_mapped",
            AddressClass::Global => "global",
        }
    }

    /// A short description for people, naming the standard.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "unspecified address",
            AddressClass::Loopback => "loopback address",
            AddressClass::Private => "private address (RFC 1918)",
            AddressClass::Cgnat => "carrier-grade NAT shared address (RFC 6598, 100.64.0.0/10)",
            AddressClass::LinkLocal => "link-local address",
            AddressClass::Benchmarking => "benchmarking address (RFC 2544, 198.18.0.0/15)",
            AddressClass::Documentation => "documentation address (RFC 5737 / RFC 3849)",
            AddressClass::Multicast => "multicast address",
            AddressClass::Reserved => "reserved address",
            AddressClass::Broadcast => "broadcast address",
            AddressClass::UniqueLocal => "unique local IPv6 address (RFC 4193, fc00::/7)",
            AddressClass::Ipv4Mapped => "IPv4-mapped IPv6 address",
            AddressClass::Global => "global (Internet-routable) address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The class of an address, looking through an IPv4-mapped IPv6 address to the IPv4
/// address it carries.
pub fn classify_effective(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
        IpAddr::V4(v4) => classify_v4(v4),
    }
}

fn net4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    // Prefix lengths here are constants below 33, so construction cannot fail.
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_broadcast() {
        return AddressClass::Broadcast;
    }
    let table: [(Ipv4Net, AddressClass); 15] = [
        (net4(127, 0, 0, 0, 8), AddressClass::Loopback),
        (net4(10, 0, 0, 0, 8), AddressClass::Private),
        (net4(172, 16, 0, 0, 12), AddressClass::Private),
        (net4(192, 168, 0, 0, 16), AddressClass::Private),
        (net4(100, 64, 0, 0, 10), AddressClass::Cgnat),
        (net4(169, 254, 0, 0, 16), AddressClass::LinkLocal),
        (net4(198, 18, 0, 0, 15), AddressClass::Benchmarking),
        (net4(192, 0, 2, 0, 24), AddressClass::Documentation),
        (net4(198, 51, 100, 0, 24), AddressClass::Documentation),
        (net4(203, 0, 113, 0, 24), AddressClass::Documentation),
        (net4(224, 0, 0, 0, 4), AddressClass::Multicast),
        (net4(240, 0, 0, 0, 4), AddressClass::Reserved),
        (net4(0, 0, 0, 0, 8), AddressClass::Reserved),
        (net4(192, 0, 0, 0, 24), AddressClass::Reserved),
        (net4(192, 88, 99, 0, 24), AddressClass::Reserved),
    ];
    table
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map_or(AddressClass::Global, |(_, class)| *class)
}

fn net6(s: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
    )
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    if ip.to_ipv4_mapped().is_some() {
        return AddressClass::Ipv4Mapped;
    }
    let table: [(Ipv6Net, AddressClass); 8] = [
        (
            net6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
            AddressClass::LinkLocal,
        ),
        (
            net6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
            AddressClass::UniqueLocal,
        ),
        (
            net6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
            AddressClass::Multicast,
        ),
        (
            net6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
            AddressClass::Documentation,
        ),
        (
            net6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
            AddressClass::Documentation,
        ),
        (
            net6([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48),
            AddressClass::Benchmarking,
        ),
        // Deprecated site-local, IPv4-compatible and discard-only space.
        (
            net6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
            AddressClass::Reserved,
        ),
        (
            net6([0x0100, 0, 0, 0, 0, 0, 0, 0], 64),
            AddressClass::Reserved,
        ),
    ];
    if let Some((_, class)) = table.iter().find(|(net, _)| net.contains(&ip)) {
        return *class;
    }
    // Only 2000::/3 is allocated for global unicast; the rest of the space is reserved.
    if net6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3).contains(&ip) {
        AddressClass::Global
    } else {
        AddressClass::Reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> AddressClass {
        AddressClass::of(s.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        let cases = [
            ("0.0.0.0", AddressClass::Unspecified),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.0.9", AddressClass::Loopback),
            ("10.0.0.5", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("172.32.0.1", AddressClass::Global),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Cgnat),
            ("100.127.255.255", AddressClass::Cgnat),
            ("100.128.0.1", AddressClass::Global),
            ("169.254.3.4", AddressClass::LinkLocal),
            ("198.18.0.1", AddressClass::Benchmarking),
            ("198.19.255.1", AddressClass::Benchmarking),
            ("192.0.2.10", AddressClass::Documentation),
            ("198.51.100.7", AddressClass::Documentation),
            ("203.0.113.7", AddressClass::Documentation),
            ("224.0.0.1", AddressClass::Multicast),
            ("239.1.2.3", AddressClass::Multicast),
            ("240.0.0.1", AddressClass::Reserved),
            ("0.1.2.3", AddressClass::Reserved),
            ("255.255.255.255", AddressClass::Broadcast),
            ("151.101.1.1", AddressClass::Global),
            ("93.184.216.34", AddressClass::Global),
        ];
        for (ip, want) in cases {
            assert_eq!(c(ip), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_classes() {
        let cases = [
            ("::", AddressClass::Unspecified),
            ("::1", AddressClass::Loopback),
            ("fe80::1", AddressClass::LinkLocal),
            ("fd00::5", AddressClass::UniqueLocal),
            ("fc12::5", AddressClass::UniqueLocal),
            ("ff02::1", AddressClass::Multicast),
            ("2001:db8::7", AddressClass::Documentation),
            ("::ffff:10.0.0.5", AddressClass::Ipv4Mapped),
            ("2a00:1450:4001::1", AddressClass::Global),
            ("4000::1", AddressClass::Reserved),
        ];
        for (ip, want) in cases {
            assert_eq!(c(ip), want, "{ip}");
        }
    }

    #[test]
    fn effective_class_looks_through_mapping() {
        assert_eq!(
            classify_effective("::ffff:10.0.0.5".parse().unwrap()),
            AddressClass::Private
        );
        assert_eq!(
            classify_effective("::ffff:93.184.216.34".parse().unwrap()),
            AddressClass::Global
        );
    }
}

//! What an advertised passive address means for the user: one verdict per address class,
//! with the fix. `decode` prints it as its verdict line and JSON `verdict` field. The
//! server settings come from [`super::servers`], so they are written in one place.

use serde::Serialize;

use super::servers::{
    Product, docker_hint, external_address_directives_short, external_address_setting,
};
use crate::proto::{AddressClass, Flag, Passive, PassiveKind, classify_effective};

/// The verdict on a decoded reply's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressVerdict {
    /// Stable snake_case code: `private`, `docker_bridge`, `loopback`, `unspecified`,
    /// `cgnat`, `link_local`, `unique_local`, `documentation`, `benchmarking`,
    /// `multicast`, `broadcast`, `reserved`, `invalid_address`, `public`, `control_peer`.
    pub code: &'static str,
    /// One line for people: what the address is, what it means, what to do.
    pub summary: String,
    /// The concrete settings, one per server product (and container image).
    pub fix: Vec<String>,
}

/// The placeholder the fix lines use for the address the user must fill in.
const PUBLIC: &str = "PUBLIC_IP";

/// The verdict on what `passive` advertises.
pub fn verdict(passive: &Passive) -> AddressVerdict {
    let dirs = external_address_directives_short();
    let settings = || external_address_setting(Product::Unknown, PUBLIC);
    if passive.kind == PassiveKind::Epsv {
        let mut summary = "no address: EPSV clients connect to the address of the control \
                           connection, so NAT address settings do not matter; only the port \
                           must be reachable through the firewall"
            .to_string();
        if let Some(ip) = passive.address {
            summary.push_str(&format!(
                "; the filled address fields ({ip}) are read only by Python ftplib (which then \
                 ignores them) and by lftp after CEPR"
            ));
        }
        return AddressVerdict {
            code: "control_peer",
            summary,
            fix: Vec::new(),
        };
    }
    let Some(ip) = passive.address else {
        let written = passive.flags.iter().find_map(|f| match f {
            Flag::AddressInvalid { written, .. } => Some(written.as_str()),
            _ => None,
        });
        return AddressVerdict {
            code: "invalid_address",
            summary: format!(
                "not an IP address: {} names no host; clients that connect to the control \
                 connection's address instead still work, the others fail; set {dirs} to the \
                 public address (or turn off a router's FTP helper that rewrites the reply)",
                written.unwrap_or("the address")
            ),
            fix: settings(),
        };
    };
    let set = format!("set {dirs} to the public address");
    let (code, summary, mut fix) = match classify_effective(ip) {
        AddressClass::Private => match docker_hint(ip) {
            Some(hint) => (
                "docker_bridge",
                format!(
                    "private address in 172.16.0.0/12, which holds Docker's bridge networks: \
                     the server runs behind NAT or in a container and advertises its internal \
                     address; set the image's public-address option (PUBLICHOST, \
                     PASV_ADDRESS) or {dirs} to the public address, and publish the passive \
                     ports"
                ),
                std::iter::once(hint).chain(settings()).collect(),
            ),
            None => (
                "private",
                format!(
                    "private address: the server is behind NAT and advertises its LAN \
                     address; {set}"
                ),
                settings(),
            ),
        },
        AddressClass::Loopback => (
            "loopback",
            format!(
                "loopback address: {ip} is each client's own machine, so no client reaches \
                 the server there; {set}"
            ),
            settings(),
        ),
        AddressClass::Unspecified => (
            "unspecified",
            format!(
                "0.0.0.0 names no host: the server advertises the wildcard address it listens \
                 on; clients that fall back to the control connection's address still work, \
                 the others fail; {set}"
            ),
            settings(),
        ),
        AddressClass::Cgnat => (
            "cgnat",
            format!(
                "carrier-grade NAT address (100.64.0.0/10): the server sits behind the \
                 provider's NAT, which no port forwarding on your own router opens; get a \
                 public IPv4 address (or a tunnel) from the provider, then set {dirs} to it"
            ),
            settings(),
        ),
        AddressClass::LinkLocal => (
            "link_local",
            format!(
                "link-local address: {ip} is self-assigned and reaches only the local link; \
                 {set}"
            ),
            settings(),
        ),
        AddressClass::UniqueLocal => (
            "unique_local",
            format!("unique local IPv6 address: reachable only inside the site; {set}"),
            settings(),
        ),
        AddressClass::Documentation => (
            "documentation",
            format!(
                "documentation address: {ip} is an example range (RFC 5737 / RFC 3849) that \
                 exists on no network, likely copied from a guide; set {dirs} to the server's \
                 real public address"
            ),
            settings(),
        ),
        AddressClass::Benchmarking => (
            "benchmarking",
            format!("benchmarking address (198.18.0.0/15): not routable on the Internet; {set}"),
            settings(),
        ),
        class @ (AddressClass::Multicast | AddressClass::Broadcast | AddressClass::Reserved) => (
            class.as_str(),
            format!(
                "{}: no client can open a TCP connection to {ip}; {set}",
                class.describe()
            ),
            settings(),
        ),
        AddressClass::Global | AddressClass::Ipv4Mapped => (
            "public",
            "public address: reachable from the Internet if it is the server's own address \
             and the firewall lets the port through; if transfers still fail, compare it \
             with the address clients connect to"
                .to_string(),
            Vec::new(),
        ),
    };
    fix.dedup();
    AddressVerdict { code, summary, fix }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Limits, decode, parse_all};

    fn verdict_of(text: &str) -> AddressVerdict {
        let reply = parse_all(text.as_bytes(), Limits::default())
            .remove(0)
            .unwrap();
        verdict(&decode(&reply, None).unwrap())
    }

    #[test]
    fn private_address_names_the_settings() {
        let v = verdict_of("227 Entering Passive Mode (10,0,0,5,195,80).");
        assert_eq!(v.code, "private");
        assert_eq!(
            v.summary,
            "private address: the server is behind NAT and advertises its LAN address; set \
             pasv_address / MasqueradeAddress / ForcePassiveIP to the public address"
        );
        assert_eq!(v.fix.len(), 5);
        assert!(v.fix[0].contains("pasv_address=PUBLIC_IP"));
    }

    #[test]
    fn every_class_has_its_own_verdict() {
        for (text, code) in [
            ("227 x (127,0,0,1,4,51)", "loopback"),
            ("227 x (0,0,0,0,156,64)", "unspecified"),
            ("227 x (172,17,0,5,195,101)", "docker_bridge"),
            ("227 x (100,64,12,7,117,48)", "cgnat"),
            ("227 x (169,254,1,2,117,49)", "link_local"),
            ("227 x (192,0,2,10,195,80)", "documentation"),
            ("227 x (198,18,0,9,4,1)", "benchmarking"),
            ("227 x (224,0,0,1,4,1)", "multicast"),
            ("227 x (255,255,255,255,4,1)", "broadcast"),
            ("227 x (252,253,254,255,4,1)", "reserved"),
            ("227 x (256,256,256,256,195,80)", "invalid_address"),
            ("227 x (151,101,1,1,4,1)", "public"),
            ("229 x (|||6446|)", "control_peer"),
            (
                "228 x (6,16,253,0,0,0,0,0,0,0,0,0,0,0,0,0,0,5,2,195,80)",
                "unique_local",
            ),
        ] {
            let v = verdict_of(text);
            assert_eq!(v.code, code, "{text}");
            assert!(!v.summary.contains("{"), "{text}: {}", v.summary);
        }
        let v = verdict_of("227 x (172,17,0,5,195,101)");
        assert!(v.fix[0].contains("Docker bridge"), "{:?}", v.fix);
        let v = verdict_of("227 x (256,256,256,256,195,80)");
        assert!(
            v.summary
                .starts_with("not an IP address: 256.256.256.256 names no host")
        );
    }
}

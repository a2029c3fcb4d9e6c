//! Which servers a service may connect to (`[serve] allow_targets`): address ranges, single
//! addresses, host names and `*.domain` patterns, and the one rule every connection of a
//! served check passes. Pure: it matches names and addresses; resolving names and refusing
//! connections is `crate::serve::guard`'s.
//!
//! The rule (docs/serve.md): a name is matched first, then resolved, then each address is
//! checked. An address is allowed when a listed range holds it; else, when the list is empty
//! or the target's name matched a listed pattern, when it is a global unicast address. So a
//! name that resolves to 127.0.0.1, 169.254.169.254, 10.x or ::1 is refused unless that range
//! is listed, whatever the name.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::proto::addr::{AddressClass, classify_effective};

/// A host-name entry: one name, or every name below a domain (`*.example.org`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum NamePattern {
    Exact(String),
    /// The domain with its leading dot: `.example.org`.
    Below(String),
}

/// The parsed `allow_targets`; empty means "global unicast addresses only".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<IpNet>,
    names: Vec<NamePattern>,
}

/// Why an address may not be connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub address: IpAddr,
    pub class: AddressClass,
    /// Whether a list was configured (the message says what to add).
    pub listed: bool,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.class {
            AddressClass::Global => "an address".to_string(),
            class => format!("a {}", class.describe()),
        };
        if self.listed {
            write!(
                f,
                "{} is {what} outside allow_targets; list its range in [serve] allow_targets \
                 to allow it",
                self.address
            )
        } else {
            write!(
                f,
                "{} is {what}; with no [serve] allow_targets only global unicast addresses \
                 are checked",
                self.address
            )
        }
    }
}

/// Lower case, without a final dot.
fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl AllowList {
    /// Parses the entries; an entry that is none of the four shapes is an error naming it.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, String> {
        let mut list = AllowList::default();
        for entry in entries {
            let raw = entry.as_ref().trim();
            if let Ok(net) = raw.parse::<IpNet>() {
                list.nets.push(net.trunc());
            } else if let Ok(ip) = raw.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip.to_canonical()));
            } else if let Some(domain) = raw.strip_prefix("*.") {
                let domain = normal(domain);
                if !valid_name(&domain) {
                    return Err(bad(raw));
                }
                list.names.push(NamePattern::Below(format!(".{domain}")));
            } else {
                let name = normal(raw);
                if !valid_name(&name) || name.parse::<IpAddr>().is_ok() {
                    return Err(bad(raw));
                }
                list.names.push(NamePattern::Exact(name));
            }
        }
        Ok(list)
    }

    /// No entries: the default rule (global unicast only).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.names.is_empty()
    }

    /// Whether a host name matches a listed name or pattern.
    pub fn name_matches(&self, name: &str) -> bool {
        let name = normal(name);
        self.names.iter().any(|p| match p {
            NamePattern::Exact(n) => *n == name,
            NamePattern::Below(suffix) => name.ends_with(suffix.as_str()),
        })
    }

    /// Whether a connection to `ip` is allowed, for a target whose name matched a pattern
    /// (`name_matched`) or not (a literal address, or a name no pattern lists).
    pub fn check(&self, ip: IpAddr, name_matched: bool) -> Result<(), Refusal> {
        // `::ffff:127.0.0.1` is 127.0.0.1 on the wire.
        let canonical = ip.to_canonical();
        if self.nets.iter().any(|n| n.contains(&canonical)) {
            return Ok(());
        }
        let class = classify_effective(canonical);
        if (self.is_empty() || name_matched) && class.is_global() {
            return Ok(());
        }
        Err(Refusal {
            address: ip,
            class,
            listed: !self.is_empty(),
        })
    }

    /// The entries as written back (for the startup log).
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "global unicast addresses only (no allow_targets)".to_string();
        }
        self.nets
            .iter()
            .map(ToString::to_string)
            .chain(self.names.iter().map(|p| match p {
                NamePattern::Exact(n) => n.clone(),
                NamePattern::Below(s) => format!("*{s}"),
            }))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn bad(entry: &str) -> String {
    format!(
        "allow_targets: \"{entry}\" is not an address range (203.0.113.0/24), an address, a \
         host name or a *.domain pattern"
    )
}

impl<'de> Deserialize<'de> for AllowList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        AllowList::parse(&entries).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_default_allows_global_unicast_only() {
        let list = AllowList::default();
        assert!(list.check(ip("93.184.216.34"), false).is_ok());
        assert!(list.check(ip("2606:4700::1"), false).is_ok());
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "::1",
            "::ffff:127.0.0.1",
            "fe80::1",
            "fd00::1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "192.0.2.1",
        ] {
            let e = list.check(ip(refused), false).unwrap_err();
            assert!(!e.listed, "{refused}");
            assert!(e.to_string().contains("global unicast"), "{e}");
        }
    }

    #[test]
    fn ranges_names_and_patterns() {
        let list = AllowList::parse(&[
            "203.0.113.0/24",
            "2001:db8::/32",
            "127.0.0.5",
            "ftp.example.net.",
            "*.Example.org",
        ])
        .expect("valid");
        assert!(list.check(ip("203.0.113.9"), false).is_ok());
        assert!(list.check(ip("::ffff:203.0.113.9"), false).is_ok());
        assert!(list.check(ip("2001:db8::21"), false).is_ok());
        assert!(list.check(ip("127.0.0.5"), false).is_ok());
        // A listed list drops the global default for literal addresses and unlisted names...
        let e = list.check(ip("93.184.216.34"), false).unwrap_err();
        assert!(
            e.listed && e.to_string().contains("outside allow_targets"),
            "{e}"
        );
        // ...but a matched name may go to global addresses, never to local ones.
        assert!(list.check(ip("93.184.216.34"), true).is_ok());
        assert!(list.check(ip("127.0.0.1"), true).is_err());
        assert!(list.check(ip("169.254.169.254"), true).is_err());
        assert!(list.name_matches("FTP.example.net"));
        assert!(list.name_matches("a.b.example.org."));
        assert!(!list.name_matches("example.org"));
        assert!(!list.name_matches("evilexample.org"));
        assert!(!list.name_matches("ftp.example.net.evil"));
        assert!(list.describe().contains("*.example.org"));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["*", "", "ftp..example", "300.1.2.3/8", "*.", "a b"] {
            let e = AllowList::parse(&[bad]).unwrap_err();
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
        }
        // Host bits are dropped, not refused.
        let list = AllowList::parse(&["203.0.113.5/24"]).expect("valid");
        assert!(list.check(ip("203.0.113.200"), false).is_ok());
    }
}

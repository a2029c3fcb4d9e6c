//! One parser per setting, from the text a user writes: a command-line flag, a batch line's
//! `key=value` and a config file's value all go through these, so a value means the same
//! everywhere and is refused with the same message. Pure.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::transcript::{Family, TlsRequest};

pub use crate::target::parse_range as range;

/// `5`, `5s`, `500ms`, `2m`.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration: use e.g. 5s, 500ms, 2m"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit \"{unit}\": use ms, s or m")),
    };
    if !(0.001..=3600.0).contains(&secs) {
        return Err("a duration must lie between 1ms and 60m".to_string());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn number_in(s: &str, low: u32, high: u32) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!("\"{s}\" is not a number from {low} to {high}")),
    }
}

/// PASV and EPSV commands to sample, each: 1-50.
pub fn samples(s: &str) -> Result<u32, String> {
    number_in(s, 1, 50)
}

/// `--scan-range`: `auto` or `LOW-HIGH`.
pub fn scan_range(s: &str) -> Result<crate::probe::ScanRange, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(crate::probe::ScanRange::Auto);
    }
    range(s)
        .map(|(l, h)| crate::probe::ScanRange::Ports(l, h))
        .map_err(|e| format!("{e} (or auto: --expect-range, else the ports the server handed out)"))
}

/// `--scan-rate`: connection attempts started per second, 1 to 10,000.
pub fn scan_rate(s: &str) -> Result<u32, String> {
    number_in(s, 1, 10_000)
}

/// Real listings: 1 or 2.
pub fn transfers(s: &str) -> Result<u32, String> {
    number_in(s, 1, 2)
}

/// Days before a certificate's expiry that are reported.
pub fn days(s: &str) -> Result<u32, String> {
    number_in(s, 0, 3650)
}

/// `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`).
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("\"{s}\" is not true or false")),
    }
}

/// `off`, `auto`, `explicit` or `implicit`.
pub fn tls(s: &str) -> Result<TlsRequest, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(TlsRequest::Off),
        "auto" => Ok(TlsRequest::Auto),
        "explicit" => Ok(TlsRequest::Explicit),
        "implicit" => Ok(TlsRequest::Implicit),
        _ => Err(format!(
            "\"{s}\" is not a TLS mode: use off, auto, explicit or implicit"
        )),
    }
}

/// Data channel protection: `p` (private) or `c` (clear); true for clear.
pub fn prot_clear(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "p" => Ok(false),
        "c" => Ok(true),
        _ => Err(format!("\"{s}\" is not a protection level: use p or c")),
    }
}

/// The highest TLS version to offer, `1.2` or `1.3`; true for 1.2.
pub fn max_tls12(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1.2" => Ok(true),
        "1.3" => Ok(false),
        _ => Err(format!("\"{s}\" is not a TLS version: use 1.2 or 1.3")),
    }
}

/// An IPv4 or IPv6 address.
pub fn ip(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .trim_matches(['[', ']'])
        .parse()
        .map_err(|_| format!("\"{s}\" is not an IP address"))
}

/// `IP` or `IP:PORT` or `[IPv6]:PORT`; port 53 by default.
pub fn dns_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    s.trim_matches(['[', ']'])
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("\"{s}\" is not IP or IP:PORT"))
}

/// `any`, `ipv4` (or `4`), `ipv6` (or `6`).
pub fn family(s: &str) -> Result<Family, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "any" => Ok(Family::Any),
        "ipv4" | "4" => Ok(Family::V4),
        "ipv6" | "6" => Ok(Family::V6),
        _ => Err(format!(
            "\"{s}\" is not an address family: use any, ipv4 or ipv6"
        )),
    }
}

/// A user name: one line, not empty.
pub fn user(s: &str) -> Result<String, String> {
    if s.contains(['\r', '\n']) {
        Err("the user name contains a line break".to_string())
    } else if s.is_empty() {
        Err("the user name is empty".to_string())
    } else {
        Ok(s.to_string())
    }
}

/// The name of an environment variable.
pub fn env_var(s: &str) -> Result<String, String> {
    if s.is_empty() || s.contains(['=', '\0']) {
        Err(format!("\"{s}\" is not an environment variable name"))
    } else {
        Ok(s.to_string())
    }
}

/// A file name.
pub fn path(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() || s.contains('\0') {
        Err("a file name is empty or holds a NUL byte".to_string())
    } else {
        Ok(PathBuf::from(s))
    }
}

/// A URL (checked when it is used).
pub fn url(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("the URL is empty".to_string())
    } else {
        Ok(s.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_their_refusals() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert!(duration("soon").unwrap_err().contains("not a duration"));
        assert!(duration("2h").unwrap_err().contains("unknown unit"));
        assert_eq!(samples("50"), Ok(50));
        assert!(samples("0").is_err() && samples("51").is_err());
        assert_eq!(transfers("1"), Ok(1));
        assert!(transfers("3").is_err());
        assert_eq!(boolean("yes"), Ok(true));
        assert_eq!(boolean("False"), Ok(false));
        assert!(boolean("maybe").is_err());
        assert_eq!(tls("IMPLICIT"), Ok(TlsRequest::Implicit));
        assert!(
            tls("on")
                .unwrap_err()
                .contains("off, auto, explicit or implicit")
        );
        assert_eq!(prot_clear("c"), Ok(true));
        assert_eq!(max_tls12("1.2"), Ok(true));
        assert_eq!(ip("[::1]"), Ok("::1".parse().expect("ip")));
        assert_eq!(
            dns_server("127.0.0.1"),
            Ok("127.0.0.1:53".parse().expect("sa"))
        );
        assert_eq!(family("6"), Ok(Family::V6));
        assert!(user("a\nb").unwrap_err().contains("line break"));
        assert!(env_var("A=B").is_err());
        assert_eq!(range("1-2"), Ok((1, 2)));
    }
}

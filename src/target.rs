//! The TARGET argument: `ftp://[user@]host[:port][/path]`, `host`, `host:port`, an IPv4
//! literal, or an IPv6 literal (`[2001:db8::1]`, `[2001:db8::1]:2121`, or bare). Pure.
//!
//! A password in the URL is refused: it would sit in shell history and process lists.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The default FTP control port.
pub const FTP_PORT: u16 = 21;

/// Where the server is: an address, or a name to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// A parsed TARGET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Host,
    pub port: u16,
    /// The user from the URL, percent-decoded.
    pub user: Option<String>,
    /// The path to list, percent-decoded, without the leading `/`; `None` lists the login
    /// directory.
    pub path: Option<String>,
    /// `ftps://`: implicit TLS (port 990 by default).
    pub implicit_tls: bool,
}

/// The default implicit-FTPS port.
pub const FTPS_PORT: u16 = 990;

/// Why a TARGET could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    Empty,
    UnsupportedScheme(String),
    PasswordInUrl,
    BadPort(String),
    BadHost(String),
    BadEscape,
    /// A bare IPv6 literal whose last group may be a port (`::1:2121`): which was meant?
    Ambiguous {
        input: String,
        host: String,
        port: String,
    },
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Empty => f.write_str("the target is empty: give a host, e.g. ftp.example.com or ftp://user@ftp.example.com:21/"),
            TargetError::UnsupportedScheme(s) => write!(
                f,
                "unsupported scheme \"{s}://\": pasv-doctor checks FTP servers (ftp://host)"
            ),
            TargetError::PasswordInUrl => f.write_str(
                "the URL contains a password, which would be visible in shell history and process \
                 lists: remove it and use --password-env VAR, --password-stdin or the \
                 PASV_DOCTOR_PASSWORD variable",
            ),
            TargetError::BadPort(p) => write!(f, "invalid port \"{p}\": expected 1-65535"),
            TargetError::BadHost(h) => write!(
                f,
                "invalid host \"{h}\": expected a name, an IPv4 address or an IPv6 address in brackets"
            ),
            TargetError::BadEscape => f.write_str("invalid %-escape in the URL"),
            TargetError::Ambiguous { input, host, port } => write!(
                f,
                "\"{input}\" can be read two ways: did you mean [{host}]:{port} (address {host}, \
                 port {port})? For the address {input} on the default port, write [{input}]"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

fn percent_decode(s: &str) -> Result<String, TargetError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(TargetError::BadEscape)?;
            let b = u8::from_str_radix(hex, 16).map_err(|_| TargetError::BadEscape)?;
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| TargetError::BadEscape)
}

fn parse_port(p: &str) -> Result<u16, TargetError> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(TargetError::BadPort(p.to_string())),
        Ok(port) => Ok(port),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').enumerate().all(|(i, label)| {
            // A final dot (an FQDN) leaves one empty last label.
            (label.is_empty() && i > 0 && name.ends_with('.'))
                || (!label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !label.starts_with('-')
                    && !label.ends_with('-'))
        })
}

/// Parses a TARGET.
pub fn parse(input: &str) -> Result<Target, TargetError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(TargetError::Empty);
    }
    let (rest, implicit_tls) = match input.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "ftp" => (rest, false),
            "ftps" => (rest, true),
            other => return Err(TargetError::UnsupportedScheme(other.to_string())),
        },
        None => (input, false),
    };
    let default_port = if implicit_tls { FTPS_PORT } else { FTP_PORT };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            if userinfo.contains(':') {
                return Err(TargetError::PasswordInUrl);
            }
            (Some(percent_decode(userinfo)?), hostport)
        }
        None => (None, authority),
    };
    let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
        let (inside, tail) = after
            .split_once(']')
            .ok_or_else(|| TargetError::BadHost(hostport.to_string()))?;
        let ip: IpAddr = inside
            .parse()
            .map_err(|_| TargetError::BadHost(hostport.to_string()))?;
        let port = match tail {
            "" => default_port,
            t => parse_port(
                t.strip_prefix(':')
                    .ok_or_else(|| TargetError::BadHost(hostport.to_string()))?,
            )?,
        };
        (Host::Ip(ip), port)
    } else if let Ok(ip) = hostport.parse::<IpAddr>() {
        // A bare IPv6 literal whose last group reads as a port as well (`::1:2121`) is
        // refused with both readings rather than guessed.
        if let Some((h, p)) = hostport.rsplit_once(':')
            && ip.is_ipv6()
            && h.parse::<std::net::Ipv6Addr>().is_ok()
            && !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
        {
            return Err(TargetError::Ambiguous {
                input: hostport.to_string(),
                host: h.to_string(),
                port: p.to_string(),
            });
        }
        // A bare IPv6 literal (several colons) or a bare IPv4 address.
        (Host::Ip(ip), default_port)
    } else {
        let (h, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, parse_port(p)?),
            None => (hostport, default_port),
        };
        if let Ok(ip) = h.parse::<IpAddr>() {
            (Host::Ip(ip), port)
        } else if valid_name(h) {
            (Host::Name(h.to_ascii_lowercase()), port)
        } else if h.is_empty() {
            return Err(TargetError::Empty);
        } else {
            return Err(TargetError::BadHost(h.to_string()));
        }
    };
    let path = match path {
        Some(p) if !p.is_empty() => Some(percent_decode(p)?),
        _ => None,
    };
    Ok(Target {
        host,
        port,
        user,
        path,
        implicit_tls,
    })
}

/// A port range, `LOW-HIGH` (or `LOW:HIGH`) with 1 <= LOW <= HIGH: `--expect-range`,
/// `expect-range=` in a batch line, `expect_range` in a config file.
pub fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s
        .split_once(['-', ':'])
        .ok_or_else(|| format!("\"{s}\" is not a range: use LOW-HIGH, e.g. 30000-30100"))?;
    let low: u16 = a
        .trim()
        .parse()
        .map_err(|_| format!("\"{a}\" is not a port number"))?;
    let high: u16 = b
        .trim()
        .parse()
        .map_err(|_| format!("\"{b}\" is not a port number"))?;
    if low == 0 || low > high {
        return Err(format!(
            "{low}-{high} is not a range of ports 1-65535 with LOW <= HIGH"
        ));
    }
    Ok((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Target {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn forms() {
        let t = ok("ftp://alice@ftp.example.com:2121/pub/incoming");
        assert_eq!(t.host, Host::Name("ftp.example.com".into()));
        assert_eq!(t.port, 2121);
        assert_eq!(t.user.as_deref(), Some("alice"));
        assert_eq!(t.path.as_deref(), Some("pub/incoming"));

        let t = ok("ftp.example.com");
        assert_eq!((t.port, t.user, t.path), (21, None, None));
        assert_eq!(ok("ftp.example.com:2121").port, 2121);
        assert_eq!(ok("192.0.2.7").host, Host::Ip("192.0.2.7".parse().unwrap()));
        assert_eq!(ok("192.0.2.7:990").port, 990);
        let t = ok("[2001:db8::1]:2121");
        assert_eq!(t.host, Host::Ip("2001:db8::1".parse().unwrap()));
        assert_eq!(t.port, 2121);
        assert_eq!(ok("[::1]").port, 21);
        assert_eq!(
            ok("2001:db8::1").host,
            Host::Ip("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            ok("FTP://Host.Example.COM/").host,
            Host::Name("host.example.com".into())
        );
        assert_eq!(ok("ftp://a%40b@h/").user.as_deref(), Some("a@b"));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(""), Err(TargetError::Empty));
        assert_eq!(parse("ftp://u:secret@h"), Err(TargetError::PasswordInUrl));
        assert!(
            !parse("ftp://u:secret@h")
                .unwrap_err()
                .to_string()
                .contains("secret")
        );
        assert!(matches!(
            parse("http://h"),
            Err(TargetError::UnsupportedScheme(_))
        ));
        assert!(matches!(parse("h:0"), Err(TargetError::BadPort(_))));
        assert!(matches!(parse("h:99999"), Err(TargetError::BadPort(_))));
        assert!(matches!(parse("bad host!"), Err(TargetError::BadHost(_))));
        assert!(matches!(parse("[::1"), Err(TargetError::BadHost(_))));
        // `::1:2121` is ::1 port 2121 or the address ::1:2121: refused with both readings.
        let e = parse("::1:2121").expect_err("ambiguous");
        assert!(e.to_string().contains("did you mean [::1]:2121"), "{e}");
        assert!(e.to_string().contains("write [::1:2121]"), "{e}");
        assert_eq!(ok("[::1]:2121").port, 2121);
        assert_eq!(ok("2001:db8::abcd").port, 21);
    }
}

//! What a client's own messages mean: the connect lines, the address it substituted, the
//! data connection's outcome, timeouts, fallbacks, TLS, and who the client is. One table of
//! patterns for every client, because the formats only differ in how a message is marked,
//! not in what it says. English messages are matched by their words; for localized
//! FileZilla logs, the commands and replies still carry the session (their shape is the
//! same in every language) and a few common translations of "timed out" are known.

use std::net::{IpAddr, SocketAddr};

/// What a message tells the session builder.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// The client names itself.
    Client {
        name: &'static str,
        version: Option<String>,
    },
    /// A name look-up: the host the user typed.
    Resolving(String),
    /// A connection attempt: the control connection, or a data connection when the builder
    /// waits for one.
    Connecting {
        host: Option<String>,
        addr: Option<SocketAddr>,
    },
    /// curl's "Connected to HOST (IP) port P".
    Connected {
        host: Option<String>,
        addr: Option<SocketAddr>,
    },
    /// An attempt that is a data connection by its words (lftp).
    DataConnecting(Option<SocketAddr>),
    /// The data connection opened (lftp).
    DataConnected,
    /// The client ignored the PASV address and used another (the control peer).
    Substituted {
        advertised: Option<IpAddr>,
        used: Option<IpAddr>,
    },
    /// Something timed out, after this many seconds when said.
    Timeout(Option<f64>),
    /// The client says its data connection timed out (WinSCP's "Timeout detected. (data
    /// connection)", node-ftp's "Timed out while making data connection").
    DataTimeout(Option<f64>),
    /// A connection was refused.
    Refused,
    /// No route to the host, or the network is unreachable (an ICMP error).
    Unreachable(String),
    /// The client starts TLS (FileZilla's "Initializing TLS...").
    TlsStarting,
    /// A TLS error, with the client's words (on the control connection, or on a data
    /// connection when one is under way).
    TlsError(String),
    /// The server closed the connection.
    Closed,
    /// The client stopped using EPSV.
    EpsvDisabled,
    /// TLS came up on the control connection.
    Tls,
    /// The client's configured timeout (WinSCP's session header).
    TimeoutSetting(f64),
    /// A listing or transfer failed, after this many bytes when the client says.
    TransferFailed(Option<u64>),
    /// Every passive reply the client just tried gave a data connection that failed
    /// (basic-ftp's "None of the available transfer strategies work").
    StrategiesFailed,
    /// The client quotes the server's reply code for a transfer the log shows no more of
    /// (curl's `server did not report OK, got 425`), with its words.
    DataReply(u16, String),
    /// The client says a listing or transfer succeeded (FileZilla's `Directory listing of
    /// "/" successful`, `File transfer successful`), in its words.
    TransferOk(String),
    /// The client says the login succeeded (FileZilla's "Logged in" at its default log
    /// level, which shows no USER/PASS).
    LoggedIn,
}

fn after<'a>(text: &'a str, lower: &str, needle: &str) -> Option<&'a str> {
    lower.find(needle).map(|i| &text[i + needle.len()..])
}

fn first_word(s: &str) -> &str {
    s.split(|c: char| c.is_whitespace() || c == ',' || c == '\'' || c == '"')
        .find(|w| !w.is_empty())
        .unwrap_or("")
}

/// A version token: starts with a digit, digits and dots (e.g. `3.66.4`, `7.88.1`).
fn version(s: &str) -> Option<String> {
    let v: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    let v = v.trim_end_matches(['.', '-']).to_string();
    v.chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        .then_some(v)
}

/// `1.2.3.4:21`, `[::1]:21`, `1.2.3.4`, `host:21`, `HOST (IP) port P`, `(IP) port P`.
/// A port the text does not give is 0; an address redacted in the text (`(XXXXX) port
/// 60000`) is the unspecified address with the port given.
pub fn parse_endpoint(s: &str) -> (Option<String>, Option<SocketAddr>) {
    let s = s.trim().trim_end_matches(['.', '…']).trim();
    // "HOST (IP) port P" (curl, lftp) and "(IP) port P" (lftp's data socket).
    if let Some(open) = s.find('(')
        && let Some(close) = s[open..].find(')')
    {
        let ip = s[open + 1..open + close].trim();
        let host = s[..open].trim();
        let rest = s[open + close + 1..].trim_start();
        let port = rest
            .strip_prefix("port")
            .map(|p| first_word(p).trim_end_matches(['.', ',']))
            .and_then(|p| p.parse::<u16>().ok());
        let host = (!host.is_empty()).then(|| host.to_string());
        match (ip.parse::<IpAddr>(), port) {
            (Ok(ip), port) => return (host, Some(SocketAddr::new(ip, port.unwrap_or(0)))),
            (Err(_), Some(port)) => {
                let unknown = crate::transcript::UNKNOWN_ADDR.ip();
                return (host, Some(SocketAddr::new(unknown, port)));
            }
            (Err(_), None) => {}
        }
    }
    let word = first_word(s).trim_end_matches(['.', ',']);
    if let Ok(sa) = word.parse::<SocketAddr>() {
        return (None, Some(sa));
    }
    if let Ok(ip) = word.trim_matches(['[', ']']).parse::<IpAddr>() {
        return (None, Some(SocketAddr::new(ip, 0)));
    }
    // "xx.xx.xx.xx:8022": an address the user redacted; its port stays.
    if let Some((host, port)) = word.rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
        && redacted_ipv4(host)
    {
        let unknown = crate::transcript::UNKNOWN_ADDR.ip();
        return (None, Some(SocketAddr::new(unknown, port)));
    }
    // "ftp.example.com:21": a name (its port is not needed without an address).
    let host = match word.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => word.trim_end_matches("..."),
    };
    ((!host.is_empty()).then(|| host.to_string()), None)
}

/// `xx.xx.xx.xx`, `###.###.###.###`, `x.x.x.x`, `nnn.nnn.nnn.nnn`: a redacted IPv4 address.
fn redacted_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            let first = p.chars().next().unwrap_or('0');
            "xXn#*_?".contains(first) && p.chars().all(|c| c == first)
        })
}

/// The first IPv4 or IPv6 address in a text.
fn first_ip(s: &str) -> Option<IpAddr> {
    s.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .filter(|w| w.contains('.') || w.matches(':').count() >= 2)
        .find_map(|w| w.trim_matches(['.', ':']).parse::<IpAddr>().ok())
}

/// Seconds in "after 20 seconds", "after 1898ms", "after 300123 milliseconds".
fn seconds_in(lower: &str) -> Option<f64> {
    let rest = after(lower, lower, "after ")?;
    let num: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let value: f64 = num.parse().ok()?;
    let unit = rest[num.len()..].trim_start();
    if unit.starts_with("ms") || unit.starts_with("milli") {
        Some(value / 1000.0)
    } else if unit.starts_with('s') {
        Some(value)
    } else {
        None
    }
}

/// Who the client is, from a line such as "FileZilla Client 3.66.4", "WinSCP Version 6.1.2
/// (Build ...)", "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1", "User-Agent:
/// curl/7.88.1", "LFTP | Version 4.9.2 | Copyright ...".
pub fn identity(text: &str) -> Option<Signal> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = after(t, &lower, "winscp version ") {
        return Some(Signal::Client {
            name: "WinSCP",
            version: version(rest),
        });
    }
    if let Some(rest) = after(t, &lower, "lftp | version ") {
        return Some(Signal::Client {
            name: "lftp",
            version: version(rest),
        });
    }
    for (marker, name) in [
        ("filezilla client version ", "FileZilla"),
        ("filezilla client ", "FileZilla"),
        ("filezilla ", "FileZilla"),
    ] {
        if let Some(rest) = after(t, &lower, marker)
            && let Some(v) = version(rest.trim_start_matches(['v', 'V']))
        {
            return Some(Signal::Client {
                name,
                version: Some(v),
            });
        }
    }
    if let Some(rest) = lower
        .strip_prefix("curl ")
        .filter(|r| r.contains("libcurl"))
    {
        return Some(Signal::Client {
            name: "curl",
            version: version(rest),
        });
    }
    // FluentFTP logs each API call as "# Method(args)" between its Command:/Response: lines.
    if let Some(call) = t.strip_prefix("# ")
        && [
            "Connect(",
            "GetListing(",
            "OpenPassiveDataStream(",
            "OpenActiveDataStream(",
            "GetWorkingDirectory(",
            "UploadFile(",
            "DownloadFile(",
            "OpenRead(",
            "OpenWrite(",
            "Disconnect(",
        ]
        .iter()
        .any(|m| call.starts_with(m))
    {
        return Some(Signal::Client {
            name: "FluentFTP",
            version: None,
        });
    }
    for (marker, name) in [("user-agent: curl/", "curl"), ("user-agent: lftp/", "lftp")] {
        if let Some(rest) = after(t, &lower, marker) {
            return Some(Signal::Client {
                name,
                version: version(rest),
            });
        }
    }
    None
}

/// What a client message says, if it says anything the builder uses.
pub fn interpret(text: &str) -> Option<Signal> {
    let t = text.trim();
    let lower = t.to_lowercase();
    if let Some(id) = identity(t) {
        return Some(id);
    }
    // The substitution messages, before "connecting": they name addresses too.
    // (WinSCP's message wraps in an error box: "... using host address" / "instead.")
    if lower.contains("unroutable address")
        && (lower.contains("instead") || lower.contains("using"))
    {
        return Some(Signal::Substituted {
            advertised: after(t, &lower, "unroutable address").and_then(first_ip),
            used: None,
        });
    }
    if let Some(rest) = after(t, &lower, "skip ")
        && lower.contains("for data connection")
    {
        let advertised = first_word(rest).parse::<IpAddr>().ok();
        let used = after(t, &lower, "re-use ")
            .or_else(|| after(t, &lower, "reuse "))
            .and_then(|r| first_word(r).parse::<IpAddr>().ok());
        return Some(Signal::Substituted { advertised, used });
    }
    if lower.contains("address returned by pasv") && lower.contains("fixed") {
        return Some(Signal::Substituted {
            advertised: None,
            used: None,
        });
    }
    if let Some(rest) = after(t, &lower, "connecting data socket to ") {
        return Some(Signal::DataConnecting(parse_endpoint(rest).1));
    }
    if lower.contains("data connection established") {
        return Some(Signal::DataConnected);
    }
    if lower == "logged in" || lower.starts_with("logged in.") {
        return Some(Signal::LoggedIn);
    }
    if lower.contains("initializing tls") || lower.contains("initialisation de tls") {
        return Some(Signal::TlsStarting);
    }
    if lower.contains("gnutls error")
        || lower.contains("gnutls_")
        || lower.contains("did not properly shut down tls")
        // curl's handshake trace ("TLSv1.3 (OUT), TLS handshake, Client hello (1):") is
        // progress, not an error.
        || lower.contains("tls handshake") && !lower.contains("), tls handshake,")
        || lower.contains("ssl routines")
        || lower.contains("ssl_connect")
        || lower.contains("ssl connect error")
        || lower.contains("tls error")
        || lower.contains("error:0a0")
    {
        return Some(Signal::TlsError(t.to_string()));
    }
    if lower.contains("failed epsv") || lower.contains("disabling epsv") {
        return Some(Signal::EpsvDisabled);
    }
    if let Some(rest) = after(t, &lower, "resolving address of ") {
        return Some(Signal::Resolving(first_word(rest).to_string()));
    }
    if let Some(rest) = after(t, &lower, "timeout: ")
        && lower.contains("sec")
        && !lower.contains("timed out")
    {
        let secs: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return secs.parse().ok().map(Signal::TimeoutSetting);
    }
    let timed_out = [
        "timed out",
        "time-out",
        "timeout",
        "zeitüberschreitung",
        "délai d'attente",
        "tiempo de espera",
        "tempo esgotado",
        "tempo scaduto",
        "time-out",
        "超时",
        "etimedout",
        "did not properly respond after a period of time",
        "не получен нужный отклик",
        "timed-out",
        "délai dépassé",
        "tempo limite",
        "превышено время",
    ]
    .iter()
    .any(|w| lower.contains(w));
    if timed_out {
        if lower.contains("data connection") && !lower.contains("control connection") {
            return Some(Signal::DataTimeout(seconds_in(&lower)));
        }
        return Some(Signal::Timeout(seconds_in(&lower)));
    }
    if lower.contains("connection refused")
        || lower.contains("econnrefused")
        || lower.contains("couldn't connect to server")
        || lower.contains("connexion refusée")
        || lower.contains("verbindung abgelehnt")
        || lower.contains("connessione rifiutata")
    {
        return Some(Signal::Refused);
    }
    for needle in [
        "no route to host",
        "network is unreachable",
        "ehostunreach",
        "enetunreach",
        "host unreachable",
    ] {
        if lower.contains(needle) {
            return Some(Signal::Unreachable(needle.to_string()));
        }
    }
    if lower.contains("closed by server")
        || lower.contains("closed by the server")
        || lower.contains("disconnected from server")
        || lower.contains("remote host closed")
        || lower.contains("peer closed connection")
        || lower.contains("server closed connection")
        || lower.contains("connection reset by peer")
        || lower.contains("econnaborted")
        || lower.contains("econnreset")
        || lower.contains("connection aborted")
        || lower.contains("interrompue par le serveur")
        || lower.contains("vom server getrennt")
        || lower.contains("vom server geschlossen")
        || lower.contains("remote server has closed connection")
    {
        return Some(Signal::Closed);
    }
    if lower.contains("tls connection established")
        || lower.contains("ssl connection using")
        || lower.contains("tls/ssl connection established")
        || lower.contains("tls negotiation successful")
    {
        return Some(Signal::Tls);
    }
    if lower.contains("failed to retrieve directory listing")
        || lower.contains("could not retrieve directory listing")
        || lower.contains("critical file transfer error")
        || lower.contains("file transfer failed")
    {
        // FileZilla: "File transfer failed after transferring 524,288 bytes in 1 second".
        let bytes = after(&lower, &lower, "after transferring ").and_then(|r| {
            let digits: String = first_word(r).chars().filter(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
        return Some(Signal::TransferFailed(bytes));
    }
    if lower.contains("none of the available transfer strategies work") {
        return Some(Signal::StrategiesFailed);
    }
    if let Some(rest) = after(t, &lower, "did not report ok, got ")
        && let Ok(code) = first_word(rest).parse::<u16>()
        && (400..600).contains(&code)
    {
        return Some(Signal::DataReply(code, t.to_string()));
    }
    // A pasted `curl ... ftp://host/` command line: the host the user asked for.
    if lower.contains("curl")
        && let Some(rest) = after(t, &lower, "ftp://").or_else(|| after(t, &lower, "ftps://"))
    {
        let host = rest.split(['/', ' ', '\'', '"']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        if !host.is_empty() {
            return Some(Signal::Resolving(host.to_string()));
        }
    }
    if (lower.starts_with("directory listing") && lower.contains("successful"))
        || lower.starts_with("file transfer successful")
    {
        return Some(Signal::TransferOk(t.to_string()));
    }
    if let Some(rest) = after(t, &lower, "connected to ") {
        let (host, addr) = parse_endpoint(rest);
        return Some(Signal::Connected { host, addr });
    }
    for needle in ["connecting to ", "trying "] {
        if let Some(rest) = after(t, &lower, needle) {
            let (host, addr) = parse_endpoint(rest);
            if host.is_some() || addr.is_some() {
                return Some(Signal::Connecting { host, addr });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn each_clients_messages_are_understood() {
        let cases: Vec<(&str, Signal)> = vec![
            (
                "Connecting to 203.0.113.10:21...",
                Signal::Connecting {
                    host: None,
                    addr: sa("203.0.113.10:21"),
                },
            ),
            (
                "Server sent passive reply with unroutable address. Using server address instead.",
                Signal::Substituted {
                    advertised: None,
                    used: None,
                },
            ),
            (
                "Server sent passive reply with unroutable address 192.168.1.10, using host address instead.",
                Signal::Substituted {
                    advertised: Some("192.168.1.10".parse().unwrap()),
                    used: None,
                },
            ),
            (
                "Skip 10.0.0.5 for data connection, re-use 127.0.0.1 instead",
                Signal::Substituted {
                    advertised: Some("10.0.0.5".parse().unwrap()),
                    used: Some("127.0.0.1".parse().unwrap()),
                },
            ),
            (
                "Connection timed out after 20 seconds of inactivity",
                Signal::Timeout(Some(20.0)),
            ),
            (
                "ipv4 connect timeout after 1898ms, move on!",
                Signal::Timeout(Some(1.898)),
            ),
            ("Timeout - reconnecting", Signal::Timeout(None)),
            (
                "Connecting data socket to (127.0.0.1) port 36601",
                Signal::DataConnecting(sa("127.0.0.1:36601")),
            ),
            ("Data connection established", Signal::DataConnected),
            (
                "Connected to xx.xx.xx.xx:8022 (No Encryption)",
                Signal::Connected {
                    host: None,
                    addr: Some(SocketAddr::new(crate::transcript::UNKNOWN_ADDR.ip(), 8022)),
                },
            ),
            ("Failed EPSV attempt. Disabling EPSV", Signal::EpsvDisabled),
            (
                "Connecting to 127.0.0.1 (127.0.0.1) port 45039",
                Signal::Connecting {
                    host: Some("127.0.0.1".to_string()),
                    addr: sa("127.0.0.1:45039"),
                },
            ),
            (
                "  Trying 127.0.0.1:41923...",
                Signal::Connecting {
                    host: None,
                    addr: sa("127.0.0.1:41923"),
                },
            ),
            (
                "Connected to ftp.example.com (203.0.113.10) port 21 (#0)",
                Signal::Connected {
                    host: Some("ftp.example.com".to_string()),
                    addr: sa("203.0.113.10:21"),
                },
            ),
            (
                "Ping type: Dummy, Ping interval: 30 sec; Timeout: 15 sec",
                Signal::TimeoutSetting(15.0),
            ),
            (
                "WinSCP Version 6.1.2 (Build 13510 2023-08-28) (OS 10.0.22621 - Windows 11 Pro)",
                Signal::Client {
                    name: "WinSCP",
                    version: Some("6.1.2".to_string()),
                },
            ),
            (
                "LFTP | Version 4.9.2 | Copyright (c) 1996-2020 Alexander V. Lukyanov",
                Signal::Client {
                    name: "lftp",
                    version: Some("4.9.2".to_string()),
                },
            ),
            (
                "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.19",
                Signal::Client {
                    name: "curl",
                    version: Some("7.88.1".to_string()),
                },
            ),
            (
                "FileZilla Client 3.66.4",
                Signal::Client {
                    name: "FileZilla",
                    version: Some("3.66.4".to_string()),
                },
            ),
            (
                "Failed to retrieve directory listing",
                Signal::TransferFailed(None),
            ),
            (
                "Zeitüberschreitung der Verbindung nach 20 Sekunden Inaktivität",
                Signal::Timeout(None),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(interpret(text), Some(want), "{text}");
        }
        assert_eq!(interpret("Retrieving directory listing..."), None);
        assert_eq!(
            interpret("curl: (18) server did not report OK, got 425"),
            Some(Signal::DataReply(
                425,
                "curl: (18) server did not report OK, got 425".to_string()
            ))
        );
        assert_eq!(
            interpret("$ curl -k -u [user]:******** ftp://test.example.net/"),
            Some(Signal::Resolving("test.example.net".to_string()))
        );
        assert_eq!(
            interpret("Directory listing of \"/\" successful"),
            Some(Signal::TransferOk(
                "Directory listing of \"/\" successful".to_string()
            ))
        );
        assert_eq!(
            interpret("# OpenPassiveDataStream(AutoPassive, \"MLSD /\", 0)"),
            Some(Signal::Client {
                name: "FluentFTP",
                version: None
            })
        );
    }
}

//! Who may ask, and how: a bearer token (or HTTP basic with the token as the password) per
//! route group, compared in constant time; the desk's forms accepted only from the desk's
//! own origin (a browser sends Basic credentials with a cross-site form post too); and the
//! refusal of any URL that carries a password.

use axum::http::{HeaderMap, Uri, header};
use base64::Engine;

use crate::secret::Secret;

/// Equal without telling how much of it matched by the time taken.
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request carries `token`: `Authorization: Bearer TOKEN`, or `Basic` with the
/// token as the password (any user name, so a browser's login box works).
pub fn carries(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return same(rest.as_bytes(), token.expose().as_bytes());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return false;
        };
        let password = match decoded.iter().position(|b| *b == b':') {
            Some(i) => &decoded[i + 1..],
            None => return false,
        };
        return same(password, token.expose().as_bytes());
    }
    false
}

/// Whether a state-changing request from a browser comes from the desk's own page: its
/// `Origin` must be the request's own host (`http://` or `https://`) or a configured origin,
/// and `Sec-Fetch-Site`, where sent, must not say cross-site. `Err` says why, for the 403.
pub fn same_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), &'static str> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return Err("the form was posted from another site");
    }
    let Some(origin) = text(header::ORIGIN) else {
        return Err("the form post carries no Origin header");
    };
    let origin = origin.to_ascii_lowercase();
    let host = text(header::HOST).unwrap_or_default().to_ascii_lowercase();
    let own = !host.is_empty()
        && (origin == format!("http://{host}") || origin == format!("https://{host}"));
    if own || allowed.contains(&origin) {
        Ok(())
    } else {
        Err("the form was posted from another origin")
    }
}

/// Whether the `Host` a request names is one this service answers to without a token: an
/// IP address, `localhost`, or the host of a configured origin. Without a token, a name
/// that an attacker's page has re-pointed at this loopback service (DNS rebinding) would
/// otherwise make the browser treat the service as that page's own origin.
pub fn known_host(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        // HTTP/1.0 without Host: no browser sends that.
        return true;
    };
    let host = host.trim().to_ascii_lowercase();
    // `[::1]:9129`, `127.0.0.1:9129`, `localhost`, `name:port`.
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host.as_str(), |(n, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                host.as_str()
            }
        })
    };
    name.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || allowed.iter().any(|o| {
            o.split("://")
                .nth(1)
                .is_some_and(|h| h == host || h.split(':').next() == Some(name))
        })
}

/// Whether a query names a password: `password=`, or any key that spells one
/// (`ftp_password`, `pass`, `passwd`, `pwd`), percent-encoded or not.
pub fn password_in_query(uri: &Uri) -> bool {
    let Some(query) = uri.query() else {
        return false;
    };
    url_keys(query).any(|key| {
        let key = key.to_ascii_lowercase();
        key.contains("passw") || matches!(key.as_str(), "pass" | "pwd" | "pw")
    })
}

/// The decoded keys of `a=1&b=2` (`+` is a space, `%xx` a byte).
fn url_keys(query: &str) -> impl Iterator<Item = String> + '_ {
    query.split(['&', ';']).map(|pair| {
        let key = pair.split('=').next().unwrap_or_default().replace('+', " ");
        let bytes = key.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
            {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_and_basic() {
        let token = Secret::new("0123456789abcdef".into());
        assert!(carries(
            &headers(&[("authorization", "Bearer 0123456789abcdef")]),
            &token
        ));
        assert!(!carries(
            &headers(&[("authorization", "Bearer 0123456789abcdeF")]),
            &token
        ));
        let basic = base64::engine::general_purpose::STANDARD.encode("desk:0123456789abcdef");
        assert!(carries(
            &headers(&[("authorization", &format!("Basic {basic}"))]),
            &token
        ));
        assert!(!carries(&headers(&[]), &token));
        assert!(!carries(&headers(&[("authorization", "Basic !!")]), &token));
    }

    #[test]
    fn origins() {
        let own = headers(&[
            ("host", "127.0.0.1:9129"),
            ("origin", "http://127.0.0.1:9129"),
        ]);
        assert!(same_origin(&own, &[]).is_ok());
        let other = headers(&[
            ("host", "127.0.0.1:9129"),
            ("origin", "https://evil.example"),
        ]);
        assert!(same_origin(&other, &[]).is_err());
        assert!(same_origin(&other, &["https://evil.example".to_string()]).is_ok());
        let none = headers(&[("host", "127.0.0.1:9129")]);
        assert!(same_origin(&none, &[]).is_err());
        let fetch = headers(&[
            ("host", "127.0.0.1:9129"),
            ("origin", "http://127.0.0.1:9129"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(same_origin(&fetch, &[]).is_err());
    }

    #[test]
    fn hosts_without_a_token() {
        let allowed = ["https://desk.example.net".to_string()];
        for ok in [
            "127.0.0.1:9129",
            "[::1]:9129",
            "localhost:9129",
            "localhost",
            "desk.example.net",
        ] {
            assert!(known_host(&headers(&[("host", ok)]), &allowed), "{ok}");
        }
        for bad in [
            "evil.example:9129",
            "127.0.0.1.evil.example",
            "desk.example.net.evil",
        ] {
            assert!(!known_host(&headers(&[("host", bad)]), &allowed), "{bad}");
        }
    }

    #[test]
    fn passwords_in_queries() {
        for q in [
            "/probe?target=x&password=y",
            "/probe?PASSWORD=y",
            "/api/check?ftp_password=",
            "/x?pa%73sword=1",
            "/x?pass=1",
            "/x?a=1;pwd=2",
        ] {
            assert!(password_in_query(&q.parse().unwrap()), "{q}");
        }
        for q in ["/probe?target=x&module=m", "/", "/probe?target=password"] {
            assert!(!password_in_query(&q.parse().unwrap()), "{q}");
        }
    }
}

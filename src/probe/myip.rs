//! This machine's public address, from an HTTP service the user names (`--my-ip-url`): an
//! opt-in GET whose body is the address as text. Bounded in time and size.

use std::net::IpAddr;
use std::time::Duration;

/// Longest wait for the answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Longest body read; an address is short.
const MAX_BODY: usize = 256;

/// Asks `url` for this machine's public address.
pub async fn lookup(url: &str) -> Result<IpAddr, String> {
    let client = crate::webhook::http_client(TIMEOUT)?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", response.status()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_BODY)]);
    text.trim().parse().map_err(|_| {
        format!(
            "GET {url}: the answer is not an IP address: {:?}",
            text.trim()
        )
    })
}

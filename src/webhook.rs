//! Delivering reports over HTTP (`--post URL`): a JSON POST with a timeout and retries with
//! backoff. Failures are returned as messages for stderr; the local output is written
//! before any POST, so nothing is lost when the receiver is down.

use std::time::Duration;

/// Attempts per POST.
pub const ATTEMPTS: u32 = 3;
/// Longest wait for one attempt.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP client with the ring TLS provider (installed once per process).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    // A second install fails harmlessly: the provider is already there.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("pasv-doctor/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up HTTP: {e}"))
}

/// Checks that a URL is one we can POST to, before any work is done.
pub fn validate_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("--post {url}: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(()),
        other => Err(format!(
            "--post {url}: the scheme must be http or https, not {other}"
        )),
    }
}

/// POSTs `body` as JSON; retries connection errors, 429 and 5xx with backoff (0.5 s, 1 s).
pub async fn post_json(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                last = format!("HTTP {}", r.status());
            }
            Ok(r) => return Err(format!("POST {url}: HTTP {} (not retried)", r.status())),
            Err(e) => last = e.to_string(),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
    }
    Err(format!(
        "POST {url} failed after {ATTEMPTS} attempts: {last}"
    ))
}

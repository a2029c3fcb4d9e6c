//! Delivering reports over HTTP (`--post URL`): a JSON POST with a timeout and retries with
//! backoff, with an `Authorization` header when one is given (its value comes from an
//! environment variable or a file, never argv, and is never printed). Failures are returned
//! as messages for stderr; the local output is written before any POST, so nothing is lost
//! when the receiver is down. `check` and `batch` deliver through the same [`Receiver`].

use std::time::Duration;

use crate::secret::Secret;

/// Where reports go, and the `Authorization` header value to send, if any.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: String,
    pub authorization: Option<Secret>,
}

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
pub async fn post_json(
    client: &reqwest::Client,
    to: &Receiver,
    body: Vec<u8>,
) -> Result<(), String> {
    let url = to.url.as_str();
    let auth = match &to.authorization {
        Some(secret) => {
            let mut value =
                reqwest::header::HeaderValue::from_str(secret.expose()).map_err(|_| {
                    "the Authorization value is not a valid HTTP header value".to_string()
                })?;
            // Kept out of reqwest's and hyper's debug output.
            value.set_sensitive(true);
            Some(value)
        }
        None => None,
    };
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let mut request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(value) = &auth {
            request = request.header(reqwest::header::AUTHORIZATION, value.clone());
        }
        let sent = request.body(body.clone()).send().await;
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

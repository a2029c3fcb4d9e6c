//! `GET /probe?target=T&module=M`: one check for Prometheus, as blackbox_exporter answers.
//! 200 with metrics whenever the check ran, however the server did (`probe_success 0`
//! carries a failure); 400/403/503 only when it did not run. `probe_success` (verdict OK or
//! WARNING) and `probe_duration_seconds` come first, then the same families as
//! `check --format prometheus`. `X-Prometheus-Scrape-Timeout-Seconds`, less half a second,
//! bounds the whole answer; `&debug=true` gives the human report and the metrics instead.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;
use super::job::{self, CheckRequest};
use super::routes::{Failure, Kind};
use crate::finding::Verdict;
use crate::probe::progress::Progress;
use crate::report::{self, Format, RenderOptions, Report};

/// Taken off the scrape timeout so the answer arrives before Prometheus gives up (as
/// blackbox's `--timeout-offset`).
const OFFSET: Duration = Duration::from_millis(500);

/// The budget a scrape timeout header gives, if it gives one.
fn budget(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get("x-prometheus-scrape-timeout-seconds")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if !secs.is_finite() || secs <= 0.0 {
        return None;
    }
    let whole = Duration::from_secs_f64(secs.min(3600.0));
    // Never less than half the scrape timeout, however short it is.
    Some(whole.saturating_sub(OFFSET).max(whole / 2))
}

pub async fn probe(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let Some(target) = query.get("target").filter(|t| !t.is_empty()) else {
        app.metrics.rejected("bad_request");
        return Failure::new(
            StatusCode::BAD_REQUEST,
            "the target parameter is missing: /probe?target=ftp.example.net&module=NAME",
            Kind::Text,
        )
        .into_response();
    };
    let debug = query.get("debug").is_some_and(|d| d == "true");
    let req = CheckRequest {
        target: target.clone(),
        module: query.get("module").cloned(),
        budget: budget(&headers),
        ..CheckRequest::default()
    };
    let ready = match job::prepare(&app, req).await {
        Ok(r) => r,
        Err(r) => return Failure::refused(&app, r, Kind::Text).into_response(),
    };
    let transcript = job::run(&app, ready, Progress::default()).await;
    let report = Report::new(&transcript);
    let mut metrics = String::new();
    let success = matches!(report.verdict, Verdict::Ok | Verdict::Warning);
    let _ = writeln!(
        metrics,
        "# HELP probe_success 1 when FTP transfers work (verdict ok or warning).\n\
         # TYPE probe_success gauge\nprobe_success {}",
        u8::from(success)
    );
    let _ = writeln!(
        metrics,
        "# HELP probe_duration_seconds How long the probe took, in seconds.\n\
         # TYPE probe_duration_seconds gauge\nprobe_duration_seconds {}",
        started.elapsed().as_secs_f64()
    );
    let mut exposition = Vec::new();
    if report::render(
        &report,
        &mut exposition,
        &RenderOptions::new(Format::Prometheus),
    )
    .is_err()
    {
        return Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the report could not be written",
            Kind::Text,
        )
        .into_response();
    }
    metrics.push_str(&String::from_utf8_lossy(&exposition));
    if debug {
        let mut human = Vec::new();
        let mut opts = RenderOptions::new(Format::Table);
        opts.transcript = true;
        let _ = report::render(&report, &mut human, &opts);
        let text = format!(
            "{}\n\nMetrics that would have been returned:\n{metrics}",
            String::from_utf8_lossy(&human)
        );
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_scrape_timeout_bounds_the_check() {
        let mut h = HeaderMap::new();
        assert_eq!(budget(&h), None);
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            HeaderValue::from_static("10"),
        );
        assert_eq!(budget(&h), Some(Duration::from_millis(9500)));
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            HeaderValue::from_static("0.6"),
        );
        assert_eq!(budget(&h), Some(Duration::from_millis(300)));
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            HeaderValue::from_static("nan"),
        );
        assert_eq!(budget(&h), None);
    }
}

//! A request body must arrive in time. hyper bounds the headers (slowloris), not the body:
//! a client that sends its headers and then trickles its body, or stops, would hold a
//! connection and a task for as long as it likes. So a route's body is read under one
//! deadline for the whole of it (`Settings::body_timeout`); past it, the handler's read
//! fails, nothing runs, and the answer is `408 Request Timeout` in the route's format with
//! `Connection: close` (the rest of the body is not waited for).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use tokio::time::Sleep;

use super::App;
use super::routes::{Failure, kind_of_path};

/// For a route with a body: the body as a `Timed` one, and a 408 when it came too late.
pub async fn bound(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let limit = app.settings.body_timeout;
    let kind = kind_of_path(request.uri().path());
    let late = Arc::new(AtomicBool::new(false));
    let flag = late.clone();
    let request = request.map(|body| {
        Body::new(Timed {
            body,
            sleep: Box::pin(tokio::time::sleep(limit)),
            late: flag,
        })
    });
    let response = next.run(request).await;
    if !late.load(Ordering::Relaxed) {
        return response;
    }
    app.metrics.rejected("body_timeout");
    let mut response = Failure::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request's body did not arrive within {}; nothing was run",
            words(limit)
        ),
        kind,
    )
    .into_response();
    // What is left of the body is not waited for: the connection ends with this answer.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `30 s`, or `500 ms` under a second.
fn words(d: Duration) -> String {
    if d >= Duration::from_secs(1) && d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The request's body with a deadline for the whole of it: past it, reading fails.
#[derive(Debug)]
struct Timed {
    body: Body,
    sleep: Pin<Box<Sleep>>,
    late: Arc<AtomicBool>,
}

impl HttpBody for Timed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        // Every field is Unpin, so is `Timed`.
        let this = self.get_mut();
        // A body read to its end is never late, however long the handler takes after.
        if !this.body.is_end_stream() && this.sleep.as_mut().poll(cx).is_ready() {
            this.late.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(
                "the request body did not arrive in time",
            ))));
        }
        Pin::new(&mut this.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        assert_eq!(words(Duration::from_secs(30)), "30 s");
        assert_eq!(words(Duration::from_millis(500)), "500 ms");
        assert_eq!(words(Duration::from_millis(1500)), "1500 ms");
    }
}

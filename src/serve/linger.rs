//! What an over-limit body gets: its 413, reliably. A handler refuses a body past its
//! route's limit without reading the rest; closing the connection then with those bytes
//! unread makes the kernel send a TCP reset, which can destroy the 413 before the client
//! reads it. So, like nginx's lingering close, the rest is read and thrown away first, a
//! frame at a time (never buffered), at most `DRAIN_BYTES` more and for at most
//! `DRAIN_TIME`; past either bound, or when the declared length says the rest is more than
//! that, the connection is closed as before.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use hyper::body::{Frame, SizeHint};
use tokio::sync::oneshot;

/// How much more of a refused body is read at most.
const DRAIN_BYTES: u64 = 8 * 1024 * 1024;
/// How long reading the rest may take at most (a slow client is not waited for).
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// For a route with a body limit: runs the route and, when it answers 413, reads out
/// what is left of the body before the answer goes.
pub async fn linger(request: Request, next: Next) -> Response {
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (back, mut returned) = oneshot::channel();
    let request = request.map(|body| {
        Body::new(Watched {
            body: Some(body),
            read: 0,
            polled: false,
            back: Some(back),
        })
    });
    let response = next.run(request).await;
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    // The handler is done, so its body has come back, unless something kept it.
    let Ok(rest) = returned.try_recv() else {
        return response;
    };
    // Never asked for the body: hyper sent no `100 Continue`, so the client sends nothing.
    if expects_continue && !rest.polled {
        return response;
    }
    if declared.is_some_and(|len| len.saturating_sub(rest.read) > DRAIN_BYTES) {
        return response;
    }
    let _ = tokio::time::timeout(DRAIN_TIME, drain(rest.body)).await;
    response
}

/// Reads and drops frames until the end, an error or `DRAIN_BYTES`.
async fn drain(body: Body) {
    let mut left = DRAIN_BYTES;
    let mut data = body.into_data_stream();
    while let Some(Ok(chunk)) = data.next().await {
        let Some(rest) = left.checked_sub(chunk.len() as u64) else {
            return;
        };
        left = rest;
    }
}

/// The body as the handler saw it: how much was read, and whether it was asked for.
#[derive(Debug)]
struct Rest {
    body: Body,
    read: u64,
    polled: bool,
}

/// The request's body, handed to the route; when the route drops it, it goes back to
/// `linger` with what is left.
#[derive(Debug)]
struct Watched {
    body: Option<Body>,
    read: u64,
    polled: bool,
    back: Option<oneshot::Sender<Rest>>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        // Every field is Unpin, so is `Watched`.
        let this = self.get_mut();
        this.polled = true;
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = Pin::new(body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(f))) = &frame
            && let Some(d) = f.data_ref()
        {
            this.read = this.read.saturating_add(d.len() as u64);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let (Some(body), Some(back)) = (self.body.take(), self.back.take()) {
            let _ = back.send(Rest {
                body,
                read: self.read,
                polled: self.polled,
            });
        }
    }
}

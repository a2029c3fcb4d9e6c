//! The routes and what every response goes through: a URL with a password is refused (400)
//! before anything else, each route group checks its token, every error is written in its
//! group's format (JSON under `/api/`, a page on the desk, text elsewhere), every response carries
//! `Cache-Control: no-store` and the security headers (a strict CSP, `nosniff`, no
//! framing), and each request is counted and logged by route and status, never with its
//! query or body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use super::job::Refused;
use super::{App, api, auth, desk, linger, page, scrape, slow_body};

/// The client's address, set per connection.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A JSON request to `/api/check` or a desk form, at most.
pub const MAX_FORM: usize = 64 * 1024;
/// A client log, at most (the body of `/api/explain`, an upload to the desk).
pub const MAX_LOG: usize = 2 * 1024 * 1024;

/// How an error is written for the route that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Json,
    Html,
}

/// An error response: status, message and, for 503 and 429, when to retry.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
    pub kind: Kind,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>, kind: Kind) -> Failure {
        Failure {
            status,
            message: message.into(),
            retry_after: None,
            kind,
        }
    }

    /// A refused check as the route's error, counted.
    pub fn refused(app: &App, r: Refused, kind: Kind) -> Failure {
        app.metrics.rejected(r.metric());
        match r {
            Refused::Bad(m) => Failure::new(StatusCode::BAD_REQUEST, m, kind),
            Refused::Target(m) => Failure::new(
                StatusCode::FORBIDDEN,
                format!("target refused, nothing was contacted: {m}"),
                kind,
            ),
            Refused::Setup(m) => Failure::new(StatusCode::INTERNAL_SERVER_ERROR, m, kind),
            Refused::Busy(after) => Failure {
                retry_after: Some(after),
                ..Failure::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many checks at once; try again later",
                    kind,
                )
            },
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = match self.kind {
            Kind::Text => (
                self.status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{}\n", self.message),
            )
                .into_response(),
            Kind::Json => (
                self.status,
                axum::Json(serde_json::json!({ "error": self.message })),
            )
                .into_response(),
            Kind::Html => (
                self.status,
                axum::response::Html(page::error(self.status, &self.message)),
            )
                .into_response(),
        };
        if let Some(after) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// A body the route could not take: past its `limit` (413, in words), or unreadable
/// (axum's words, e.g. a malformed chunk).
pub fn unread_body(
    status: StatusCode,
    text: String,
    what: &str,
    limit: usize,
    kind: Kind,
) -> Failure {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Failure::new(
            status,
            format!("{what} is larger than {}, the limit here", size(limit)),
            kind,
        )
    } else {
        Failure::new(status, text, kind)
    }
}

/// `64 KiB`, `2 MiB`.
pub fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// The route name for metrics and logs: bounded, never the raw path.
fn route_name(path: &str) -> &'static str {
    match path {
        "/probe" => "probe",
        "/metrics" => "metrics",
        "/healthz" => "healthz",
        "/api/check" => "api_check",
        "/api/explain" => "api_explain",
        "/" => "desk",
        "/desk/check" => "desk_check",
        "/desk/explain" => "desk_explain",
        p if p.starts_with("/desk/result/") => "desk_result",
        _ => "other",
    }
}

/// The whole service.
pub fn router(app: Arc<App>) -> Router {
    let probe = Router::new()
        .route("/probe", get(scrape::probe))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(app.clone(), probe_auth));
    let api = Router::new()
        .route("/api/check", limited(&app, post(api::check), MAX_FORM))
        .route("/api/explain", limited(&app, post(api::explain), MAX_LOG))
        .route_layer(middleware::from_fn_with_state(app.clone(), api_auth));
    let desk = Router::new()
        .route("/", get(desk::page))
        .route("/desk/result/{id}", get(desk::result))
        .route("/desk/check", limited(&app, post(desk::check), MAX_FORM))
        .route(
            "/desk/explain",
            limited(&app, post(desk::explain), MAX_LOG + MAX_FORM),
        )
        .route_layer(middleware::from_fn_with_state(app.clone(), desk_auth));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(probe)
        .merge(api)
        .merge(desk)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), outer))
        .with_state(app)
}

/// An unknown path, in the format of the group it falls under.
async fn not_found(uri: axum::http::Uri) -> Failure {
    let kind = kind_of_path(uri.path());
    let message = if kind == Kind::Json {
        "no such route: the API has POST /api/check and POST /api/explain"
    } else {
        "no such page"
    };
    Failure::new(StatusCode::NOT_FOUND, message, kind)
}

/// A route whose body may be `limit` bytes at most, arriving within the body timeout;
/// past the size, a 413 the client gets to read (`linger`), past the time a 408
/// (`slow_body`).
fn limited(app: &Arc<App>, route: MethodRouter<Arc<App>>, limit: usize) -> MethodRouter<Arc<App>> {
    route
        .layer::<_, std::convert::Infallible>(middleware::from_fn_with_state(
            app.clone(),
            slow_body::bound,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(linger::linger))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(&app.gate),
    )
        .into_response()
}

/// Every request: the password-in-URL refusal first, then the route, then the headers,
/// the count and the log line.
async fn outer(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_name(request.uri().path());
    let kind = kind_of_path(request.uri().path());
    let method = request.method().clone();
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or_else(|| "-".to_string(), |p| p.0.to_string());
    let mut response = if auth::password_in_query(request.uri()) {
        app.metrics.rejected("password_in_url");
        Failure::new(
            StatusCode::BAD_REQUEST,
            "a password never goes in a URL (it would be logged by proxies and kept in \
             histories): send it in the body of POST /api/check, or name it in a module of \
             the server's config file (password_env, password_file)",
            kind,
        )
        .into_response()
    } else if route != "healthz"
        && app.settings.auth_token.is_none()
        && !auth::known_host(request.headers(), &app.settings.origins)
    {
        app.metrics.rejected("unknown_host");
        Failure::new(
            StatusCode::MISDIRECTED_REQUEST,
            "this service answers to its address, localhost or a name listed in [serve] \
             allowed_origins (without a token, other names are refused against DNS rebinding)",
            kind,
        )
        .into_response()
    } else {
        in_format(next.run(request).await, kind, &method).await
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not `no-referrer`: under it a browser sends `Origin: null` with the desk's own form
    // posts, which the cross-site check must refuse. Other sites still get no referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::csp()),
    );
    let status = response.status().as_u16();
    app.metrics.request(route, status);
    // The path only: a query is the client's business, and a refused one may hold a secret.
    let path = if route == "other" { "(other)" } else { route };
    app.log.line(&format!(
        "{peer} {method} {path} {status} {:.3}s",
        started.elapsed().as_secs_f64()
    ));
    response
}

/// How an error is written for a request to `path`: JSON anywhere under `/api/`, the
/// desk's page on its routes, else text.
pub fn kind_of_path(path: &str) -> Kind {
    if path.starts_with("/api/") {
        return Kind::Json;
    }
    kind_of(route_name(path))
}

/// An error the routes did not write themselves (axum's 405, a rejection's text) rewritten
/// in the format of the route's group, so that a client of `/api/*` always reads JSON and a
/// browser at the desk a page. The status and the other headers (`Allow`, `Retry-After`)
/// stay.
async fn in_format(response: Response, kind: Kind, method: &Method) -> Response {
    let status = response.status();
    let wanted = match kind {
        Kind::Json => "application/json",
        Kind::Html => "text/html",
        Kind::Text => return response,
    };
    let written = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(wanted));
    if !(status.is_client_error() || status.is_server_error()) || written {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Such an error is a line or two of text; a longer body is not read.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = if !text.is_empty() {
        text
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        // axum adds `Allow` on the way out, past this layer.
        format!("{method} is not allowed here (the Allow header lists what is)")
    } else {
        status.canonical_reason().unwrap_or("error").to_string()
    };
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let rewritten = Failure::new(status, message, kind).into_response();
    let (new, body) = rewritten.into_parts();
    parts.headers.extend(new.headers);
    Response::from_parts(parts, body)
}

fn kind_of(route: &'static str) -> Kind {
    match route {
        "api_check" | "api_explain" => Kind::Json,
        "desk" | "desk_check" | "desk_explain" | "desk_result" => Kind::Html,
        _ => Kind::Text,
    }
}

fn unauthorized(app: &App, kind: Kind, challenge: &'static str) -> Response {
    app.metrics.rejected("unauthorized");
    let mut r = Failure::new(
        StatusCode::UNAUTHORIZED,
        "a token is needed: Authorization: Bearer TOKEN (or HTTP basic with the token as the \
         password)",
        kind,
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    r
}

/// `/probe` and `/metrics`: the probe token, else the main one, else open (loopback).
async fn probe_auth(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let s = &app.settings;
    if let Some(token) = s.probe_token.as_ref().or(s.auth_token.as_ref())
        && !auth::carries(request.headers(), token)
    {
        return unauthorized(&app, Kind::Text, "Bearer realm=\"pasv-doctor\"");
    }
    next.run(request).await
}

/// `/api/*`: the main token; a browser's cross-origin request is refused whatever it
/// carries; rate-limited per client.
async fn api_auth(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if let Some(token) = &app.settings.auth_token
        && !auth::carries(request.headers(), token)
    {
        return unauthorized(&app, Kind::Json, "Bearer realm=\"pasv-doctor\"");
    }
    if request.headers().contains_key(header::ORIGIN)
        && let Err(why) = auth::same_origin(request.headers(), &app.settings.origins)
    {
        app.metrics.rejected("cross_origin");
        return Failure::new(StatusCode::FORBIDDEN, why, Kind::Json).into_response();
    }
    if let Err(r) = rate(&app, &request) {
        return r.with_kind(Kind::Json).into_response();
    }
    next.run(request).await
}

/// The desk: the main token (a browser asks for it with its login box); its forms only
/// from its own origin; rate-limited per client.
async fn desk_auth(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if let Some(token) = &app.settings.auth_token
        && !auth::carries(request.headers(), token)
    {
        return unauthorized(
            &app,
            Kind::Html,
            "Basic realm=\"pasv-doctor desk\", charset=\"UTF-8\"",
        );
    }
    if request.method() == Method::POST {
        if let Err(why) = auth::same_origin(request.headers(), &app.settings.origins) {
            app.metrics.rejected("cross_origin");
            return Failure::new(StatusCode::FORBIDDEN, why, Kind::Html).into_response();
        }
        if let Err(r) = rate(&app, &request) {
            return r.with_kind(Kind::Html).into_response();
        }
    }
    next.run(request).await
}

fn rate(app: &App, request: &Request) -> Result<(), Failure> {
    let Some(peer) = request.extensions().get::<Peer>() else {
        return Ok(());
    };
    app.rate.take(peer.0.ip()).map_err(|busy| {
        app.metrics.rejected("rate_limited");
        Failure {
            retry_after: Some(busy.retry_after),
            ..Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this address; try again later",
                Kind::Text,
            )
        }
    })
}

impl Failure {
    fn with_kind(mut self, kind: Kind) -> Failure {
        self.kind = kind;
        self
    }
}

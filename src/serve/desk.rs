//! The web desk for support staff: `GET /` (the forms), `POST /desk/check` (a check) and
//! `POST /desk/explain` (a pasted or uploaded log), each answered with `303 See Other` to
//! `GET /desk/result/{id}`, the result page kept in memory (`results.rs`): reloading it
//! does not post again, and the browser's history and session restore hold the result URL,
//! never the form. A running check's page streams there, a line per step, then the report.
//! The forms post, so a password never enters a URL or a history; errors that stop a check
//! (a bad target, a refused one, no slot) are decided before the redirect, so they keep their
//! status codes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::App;
use super::api::{explain_log, set};
use super::job::{self, CheckRequest};
use super::page;
use super::results::{self, MAX_AGE, MAX_RESULTS, Page};
use super::routes::{Failure, Kind, MAX_FORM, MAX_LOG, unread_body};
use crate::config::Overrides;
use crate::probe::progress::{Progress, Step};
use crate::report::Report;
use crate::secret::Secret;

pub async fn page(State(app): State<Arc<App>>) -> Html<String> {
    let modules: Vec<String> = app.file.modules.keys().cloned().collect();
    Html(page::desk(&modules))
}

/// The check form's fields.
#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    target: String,
    #[serde(default)]
    module: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    tls: String,
}

/// Never shows the password.
impl std::fmt::Debug for CheckForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckForm")
            .field("target", &self.target)
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

fn bad(app: &App, message: String) -> Response {
    app.metrics.rejected("bad_request");
    Failure::new(StatusCode::BAD_REQUEST, message, Kind::Html).into_response()
}

pub async fn check(
    State(app): State<Arc<App>>,
    form: Result<Form<CheckForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(f)) => f,
        Err(e) => {
            return unread_body(e.status(), e.body_text(), "the form", MAX_FORM, Kind::Html)
                .into_response();
        }
    };
    let target = form.target.trim().to_string();
    if target.is_empty() {
        return bad(&app, "name a server to check".to_string());
    }
    let mut own = Overrides::default();
    for (key, value) in [("user", form.user.trim()), ("tls", form.tls.trim())] {
        if !value.is_empty()
            && let Err(m) = set(&mut own, key, value)
        {
            return bad(&app, m);
        }
    }
    let req = CheckRequest {
        target: target.clone(),
        module: Some(form.module.clone()).filter(|m| !m.is_empty()),
        own,
        password: Some(form.password)
            .filter(|p| !p.is_empty())
            .map(Secret::new),
        budget: None,
    };
    let ready = match job::prepare(&app, req).await {
        Ok(r) => r,
        Err(r) => return Failure::refused(&app, r, Kind::Html).into_response(),
    };
    // The result page: its head now, a line per step as the check goes, then the report.
    let start = Page::starting(page::check_started(&target));
    let Some(added) = app.results.add(start, Instant::now()) else {
        return no_store();
    };
    let entry = added.entry.clone();
    let events = entry.clone();
    let progress = Progress::new(move |e| {
        // The range map reports every 250 ms: the page gets its end, not each tick.
        if let Step::Scanned { done, of } = e.step
            && done < of
        {
            return;
        }
        events.line(page::progress_line(&format!("{}: {}", e.server, e.step)));
    });
    let worker = app.clone();
    tokio::spawn(async move {
        let transcript = job::run(&worker, ready, progress).await;
        let report = Report::new(&transcript);
        entry.finish(format!("</ol>\n{}{}", page::result(&report), page::FOOT));
        worker.results.trim(Instant::now());
    });
    to_result(&added)
}

/// The cookie that holds a result's key.
const KEY_COOKIE: &str = "pd_result";

/// `303 See Other` to a result, with its key in a cookie only that result's path gets
/// (HttpOnly, SameSite=Strict, gone when the result is): the URL alone opens nothing.
fn to_result(added: &results::Added) -> Response {
    let path = format!("/desk/result/{}", added.id);
    let cookie = format!(
        "{KEY_COOKIE}={}; Path={path}; Max-Age={}; HttpOnly; SameSite=Strict",
        added.key,
        MAX_AGE.as_secs()
    );
    let mut r = Redirect::to(&path).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The result keys among the request's cookies.
fn keys(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(KEY_COOKIE)?.strip_prefix('='))
        .collect()
}

/// No result could be kept (no randomness for its id).
fn no_store() -> Response {
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the result could not be kept; try again",
        Kind::Html,
    )
    .into_response()
}

/// `GET /desk/result/{id}`: the page as far as it has come, then the rest as it comes.
pub async fn result(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = Instant::now();
    let entry = results::well_formed(&id)
        .then(|| {
            keys(&headers)
                .into_iter()
                .find_map(|key| app.results.get(&id, key, now))
        })
        .flatten();
    let Some(entry) = entry else {
        return Failure::new(
            StatusCode::NOT_FOUND,
            format!(
                "this result is unknown or has expired, or was asked for in another browser: \
                 results are kept in memory only, the last {MAX_RESULTS} for {} minutes, and \
                 open only in the browser that asked for them. Run it again from the desk.",
                MAX_AGE.as_secs() / 60
            ),
            Kind::Html,
        )
        .into_response();
    };
    // State: the receiver, the progress lines sent (None: nothing yet), whether the end was.
    let stream = futures_util::stream::unfold(
        (entry.watch(), None::<usize>, false),
        |(mut rx, sent, ended)| async move {
            if ended {
                return None;
            }
            loop {
                // Counted references to the page's parts, never copies of them.
                let (parts, lines, end) = {
                    let page = rx.borrow_and_update();
                    let mut parts = Vec::new();
                    if sent.is_none() {
                        parts.push(page.start.clone());
                    }
                    parts.extend(page.lines.iter().skip(sent.unwrap_or(0)).cloned());
                    parts.extend(page.end.clone());
                    (parts, page.lines.len(), page.end.is_some())
                };
                if !parts.is_empty() {
                    let parts =
                        futures_util::stream::iter(parts.into_iter().map(Ok::<_, Infallible>));
                    return Some((parts, (rx, Some(lines), end)));
                }
                // Every writer gone without an end: nothing more will come.
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from_stream(futures_util::StreamExt::flatten(stream)),
    )
        .into_response()
}

/// A form that could not be read: past the log's limit (the same words as the API's), or
/// not a form.
fn unreadable(status: StatusCode) -> Response {
    let text = "the form could not be read".to_string();
    unread_body(status, text, "the log", MAX_LOG, Kind::Html).into_response()
}

pub async fn explain(State(app): State<Arc<App>>, mut form: Multipart) -> Response {
    let mut pasted = Vec::new();
    let mut uploaded = Vec::new();
    let mut keep_user = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return unreadable(e.status()),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return unreadable(e.status()),
        };
        match name.as_str() {
            "log" => pasted = bytes.to_vec(),
            "file" => uploaded = bytes.to_vec(),
            "keep_user" => keep_user = &bytes[..] == b"true",
            _ => {}
        }
    }
    let (bytes, name) = if uploaded.is_empty() {
        (pasted, "the pasted log")
    } else {
        (uploaded, "the uploaded log")
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return bad(&app, "paste a log or choose a file".to_string());
    }
    if bytes.len() > MAX_LOG {
        return unreadable(StatusCode::PAYLOAD_TOO_LARGE).into_response();
    }
    match explain_log(&app, &bytes, None, keep_user, name) {
        Ok(explained) => {
            let report = Report::new(&explained.transcript);
            let done = Page {
                end: Some(Bytes::from(format!(
                    "{}{}",
                    page::result(&report),
                    page::FOOT
                ))),
                ..Page::starting(format!(
                    "{}<h1>Explained: {name}</h1>\n",
                    page::head("explained")
                ))
            };
            match app.results.add(done, Instant::now()) {
                Some(added) => to_result(&added),
                None => no_store(),
            }
        }
        Err(mut f) => {
            f.kind = Kind::Html;
            f.into_response()
        }
    }
}

//! The web desk for support staff: `GET /` (the forms), `POST /desk/check` (a check, its
//! progress streamed into the page as it happens, then the report) and `POST /desk/explain`
//! (a pasted or uploaded log). The forms post, so a password never enters a URL or a
//! history; errors that stop a check (a bad target, a refused one, no slot) are decided
//! before the page starts, so they keep their status codes.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Form, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::App;
use super::api::{explain_log, set};
use super::job::{self, CheckRequest};
use super::page;
use super::routes::{Failure, Kind, MAX_LOG};
use crate::config::Overrides;
use crate::probe::progress::Progress;
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

pub async fn check(State(app): State<Arc<App>>, Form(form): Form<CheckForm>) -> Response {
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
    // The page streams: its head now, a line per step as the check goes, then the report.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let _ = tx.send(Bytes::from(page::check_started(&target)));
    let events = tx.clone();
    let progress = Progress::new(move |e| {
        let _ = events.send(Bytes::from(page::progress_line(&format!(
            "{}: {}",
            e.server, e.step
        ))));
    });
    let worker = app.clone();
    tokio::spawn(async move {
        let transcript = job::run(&worker, ready, progress).await;
        let report = Report::new(&transcript);
        let _ = tx.send(Bytes::from(format!(
            "</ol>\n{}{}",
            page::result(&report),
            page::FOOT
        )));
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// A form that could not be read; past the limit (between fields or inside one), in words.
fn unreadable(status: StatusCode) -> Response {
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        "the form could not be read".to_string()
    };
    Failure::new(status, message, Kind::Html).into_response()
}

fn too_large() -> String {
    format!(
        "the log is larger than {} MiB; cut it to the session in question",
        MAX_LOG / (1024 * 1024)
    )
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
        return Failure::new(StatusCode::PAYLOAD_TOO_LARGE, too_large(), Kind::Html)
            .into_response();
    }
    match explain_log(&app, &bytes, None, keep_user, name) {
        Ok(explained) => {
            let report = Report::new(&explained.transcript);
            Html(format!(
                "{}<h1>Explained: {name}</h1>\n{}{}",
                page::head("explained"),
                page::result(&report),
                page::FOOT
            ))
            .into_response()
        }
        Err(mut f) => {
            f.kind = Kind::Html;
            f.into_response()
        }
    }
}

//! `POST /api/check` (a JSON request: target, module, password, settings) and
//! `POST /api/explain` (a client log as the body), each answering with the JSON report of
//! `check --format json`. A request may set only the settings that make no connection of
//! their own and read no file of the server's: the others (`password_env`,
//! `password_file`, `ca_file`, `dns_server`, `my_ip_url`, `probe_advertised`) are a
//! module's, in the server's config file. Error messages never repeat a password.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::App;
use super::job::{self, CheckRequest};
use super::routes::{Failure, Kind, MAX_FORM, MAX_LOG, unread_body};
use crate::config::Overrides;
use crate::explain::{self, ExplainError};
use crate::probe::progress::Progress;
use crate::report::{self, Format, RenderOptions, Report};
use crate::secret::Secret;
use crate::transcript::Transcript;

/// Settings a request may give, by their batch-line names.
const REQUEST_KEYS: [&str; 14] = [
    "user",
    "tls",
    "insecure",
    "samples",
    "transfers",
    "timeout",
    "deadline",
    "expect-range",
    "expect-address",
    "prot",
    "tls-max",
    "cert-warn-days",
    "compare-plain",
    "family",
];

/// One setting of a request into `own`; the message never repeats a password.
pub fn set(own: &mut Overrides, key: &str, value: &str) -> Result<(), String> {
    let name = key.replace('_', "-").to_ascii_lowercase();
    let shown: String = key.chars().take(40).collect();
    if name.contains("passw") {
        return Err(format!(
            "settings.{shown}: the password goes in the request's \"password\" field; \
             password_env and password_file belong to a module of the server's config file"
        ));
    }
    if !REQUEST_KEYS.contains(&name.as_str()) {
        return Err(
            if crate::config::KEYS.split(", ").any(|k| k == name) && name != "module" {
                format!("settings.{shown} can only be set in a module of the server's config file")
            } else {
                format!(
                    "settings.{shown} is not a setting (a request may set: {})",
                    REQUEST_KEYS.join(", ")
                )
            },
        );
    }
    own.set(&name, value)
}

/// A `/api/check` body into a request.
fn parse_check(body: &[u8]) -> Result<CheckRequest, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body is not JSON (line {}, column {}); send {{\"target\": \"ftp.example.net\"}}",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(fields) = v else {
        return Err("the body must be a JSON object".to_string());
    };
    let mut req = CheckRequest::default();
    let text = |name: &str, v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("{name} must be a string")),
    };
    for (key, value) in &fields {
        match key.as_str() {
            "target" => req.target = text("target", value)?,
            "module" if value.is_null() => {}
            "module" => req.module = Some(text("module", value)?),
            "password" if value.is_null() => {}
            "password" => match value {
                Value::String(s) if !s.is_empty() => req.password = Some(Secret::new(s.clone())),
                Value::String(_) => {}
                _ => return Err("password must be a string".to_string()),
            },
            "settings" => {
                let Value::Object(settings) = value else {
                    return Err("settings must be an object".to_string());
                };
                for (k, v) in settings {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(format!(
                                "settings.{}: a string, a number or true/false",
                                k.chars().take(40).collect::<String>()
                            ));
                        }
                    };
                    set(&mut req.own, k, &v)?;
                }
            }
            other => {
                return Err(format!(
                    "unknown field \"{}\" (known: target, module, password, settings)",
                    other.chars().take(40).collect::<String>()
                ));
            }
        }
    }
    if req.target.is_empty() {
        return Err("target is missing".to_string());
    }
    Ok(req)
}

/// The JSON report of a transcript.
pub fn json_report(transcript: &Transcript) -> Response {
    let report = Report::new(transcript);
    let mut out = Vec::new();
    if report::render(&report, &mut out, &RenderOptions::new(Format::Json)).is_err() {
        return Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the report could not be written",
            Kind::Json,
        )
        .into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

pub async fn check(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // A cross-site form cannot send this type without the browser asking first (CORS).
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        app.metrics.rejected("bad_request");
        return Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as JSON, with Content-Type: application/json",
            Kind::Json,
        )
        .into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let what = "the request";
            return unread_body(e.status(), e.body_text(), what, MAX_FORM, Kind::Json)
                .into_response();
        }
    };
    let req = match parse_check(&body) {
        Ok(r) => r,
        Err(m) => {
            app.metrics.rejected("bad_request");
            return Failure::new(StatusCode::BAD_REQUEST, m, Kind::Json).into_response();
        }
    };
    let ready = match job::prepare(&app, req).await {
        Ok(r) => r,
        Err(r) => return Failure::refused(&app, r, Kind::Json).into_response(),
    };
    let transcript = job::run(&app, ready, Progress::default()).await;
    json_report(&transcript)
}

/// Explains a log for the API and the desk, counting it; `Err` is the message for a 422.
pub fn explain_log(
    app: &App,
    bytes: &[u8],
    from: Option<&str>,
    keep_user: bool,
    name: &str,
) -> Result<explain::Explained, Failure> {
    let from = match from.filter(|f| !f.is_empty()) {
        None => None,
        Some(f) => Some(
            explain::Format::ALL
                .iter()
                .copied()
                .find(|x| x.name() == f)
                .ok_or_else(|| {
                    let known: Vec<&str> = explain::Format::ALL.iter().map(|x| x.name()).collect();
                    Failure::new(
                        StatusCode::BAD_REQUEST,
                        format!("from: not a log format (known: {})", known.join(", ")),
                        Kind::Json,
                    )
                })?,
        ),
    };
    let opts = explain::Options {
        from,
        keep_user,
        input_name: name.to_string(),
    };
    match explain::explain(bytes, &opts) {
        Ok(e) => {
            app.metrics
                .explain(Some(Report::new(&e.transcript).verdict));
            Ok(e)
        }
        Err(e) => {
            app.metrics.explain(None);
            let status = match e {
                ExplainError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                ExplainError::NotFtpLog(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ExplainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Err(Failure::new(status, e.to_string(), Kind::Json))
        }
    }
}

pub async fn explain(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return unread_body(e.status(), e.body_text(), "the log", MAX_LOG, Kind::Json)
                .into_response();
        }
    };
    let keep_user = query.get("keep_user").is_some_and(|v| v == "true");
    match explain_log(
        &app,
        &body,
        query.get("from").map(String::as_str),
        keep_user,
        "the uploaded log",
    ) {
        Ok(e) => json_report(&e.transcript),
        Err(f) => f.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_sets_only_its_own_settings() {
        let r = parse_check(
            br#"{"target":"ftp.example.net","module":"m","password":"hunter2",
                 "settings":{"samples":2,"tls":"explicit","insecure":true,"expect_range":"1-2"}}"#,
        )
        .expect("valid");
        assert_eq!(r.own.samples, Some(2));
        assert_eq!(r.own.insecure, Some(true));
        assert_eq!(r.own.expect_range, Some((1, 2)));
        assert_eq!(r.password.as_ref().map(Secret::expose), Some("hunter2"));
        for (body, word) in [
            (
                r#"{"target":"h","settings":{"dns_server":"127.0.0.1"}}"#,
                "module",
            ),
            (
                r#"{"target":"h","settings":{"password_file":"/etc/shadow"}}"#,
                "password",
            ),
            (
                r#"{"target":"h","settings":{"password":"hunter2"}}"#,
                "password",
            ),
            (
                r#"{"target":"h","settings":{"probe-advertised":true}}"#,
                "module",
            ),
            (
                r#"{"target":"h","settings":{"my_ip_url":"http://x"}}"#,
                "module",
            ),
            (
                r#"{"target":"h","settings":{"colour":"x"}}"#,
                "not a setting",
            ),
            (r#"{"target":"h","password":1234}"#, "string"),
            (r#"{"target":"h","pass":"hunter2"}"#, "unknown field"),
            (r#"{"module":"m"}"#, "missing"),
            (r#"["h"]"#, "object"),
            (r#"{"target":"#, "not JSON"),
        ] {
            let e = parse_check(body.as_bytes()).unwrap_err();
            assert!(e.contains(word), "{body}: {e}");
            assert!(!e.contains("hunter2") && !e.contains("1234"), "{e}");
        }
    }
}

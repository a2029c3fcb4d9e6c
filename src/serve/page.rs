//! The desk's HTML: the page with its two forms, the pieces of a result page (streamed: the
//! head, one line per progress event, the report, the foot), an error page, and the one
//! Content-Security-Policy every response carries. No script anywhere; the only style is
//! the sheet below and the HTML report's own, each allowed by its hash. Every value from a request or a report is escaped.

use std::sync::OnceLock;

use axum::http::StatusCode;
use base64::Engine;

use crate::report::{self, Format, RenderOptions, Report, html};
use crate::transcript::TlsRequest;

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:62rem;\
padding:1rem;color:#1b1b1b;background:#fff}h1{font-size:1.4rem}h2{font-size:1.15rem;\
margin-top:2rem}form{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}\
label{display:block;margin:.5rem 0 .2rem;font-weight:600}input[type=text],\
input[type=password],select,textarea{width:100%;box-sizing:border-box;padding:.4rem;\
font:inherit}textarea{min-height:12rem;font-family:ui-monospace,monospace}\
button{margin-top:1rem;padding:.5rem 1.2rem;font:inherit}pre{white-space:pre-wrap;\
background:#f6f6f6;padding:1rem;border-radius:6px;overflow-x:auto}.verdict{font-size:1.2rem;\
font-weight:700}.ok{color:#116611}.warning{color:#8a5a00}.critical{color:#b00020}\
.unknown{color:#555}.note{color:#555;font-size:.9rem}ol.progress{color:#555;\
font-family:ui-monospace,monospace;font-size:.85rem}";

/// The CSP: nothing loads, nothing runs, forms post only here, no framing.
pub fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = |text: &str| {
            let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        };
        // The report's pictures are inline SVG and data: images.
        format!(
            "default-src 'none'; style-src 'sha256-{}' 'sha256-{}'; img-src data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            hash(STYLE),
            hash(html::style_sheet())
        )
    })
}

/// Text for HTML, in an element or an attribute: the report's one escaper.
pub use crate::report::html::esc;

/// The top of every page.
pub fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\">\
         <title>{} · pasv-doctor</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    )
}

pub const FOOT: &str = "<p class=\"note\"><a href=\"/\">Back to the desk</a></p></body></html>\n";

/// The desk: a check form and an explain form.
pub fn desk(modules: &[String]) -> String {
    let mut module_select = String::new();
    if !modules.is_empty() {
        module_select.push_str(
            "<label for=\"module\">Module (settings from the server's config)</label>\
             <select id=\"module\" name=\"module\"><option value=\"\">(none)</option>",
        );
        for m in modules {
            module_select.push_str(&format!("<option>{}</option>", esc(m)));
        }
        module_select.push_str("</select>");
    }
    let tls: String = [
        (TlsRequest::Auto, "auto: TLS when offered"),
        (TlsRequest::Explicit, "explicit: AUTH TLS required"),
        (TlsRequest::Implicit, "implicit: FTPS on port 990"),
        (TlsRequest::Off, "off: plain FTP"),
    ]
    .iter()
    .map(|(t, label)| {
        let value = match t {
            TlsRequest::Auto => "auto",
            TlsRequest::Explicit => "explicit",
            TlsRequest::Implicit => "implicit",
            TlsRequest::Off => "off",
        };
        format!("<option value=\"{value}\">{}</option>", esc(label))
    })
    .collect();
    format!(
        "{}<h1>pasv-doctor desk</h1>\
<p class=\"note\">Checks run from this server. The password is used for this check only: it is \
not stored, logged or shown.</p>\
<h2>Check a server</h2>\
<form method=\"post\" action=\"/desk/check\" autocomplete=\"off\">\
<label for=\"target\">Server</label>\
<input type=\"text\" id=\"target\" name=\"target\" required placeholder=\"ftp.example.net or ftp://user@host:2121/\">\
{module_select}\
<label for=\"user\">User (empty: the module's, or anonymous)</label>\
<input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"off\">\
<label for=\"password\">Password</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"off\">\
<label for=\"tls\">TLS</label><select id=\"tls\" name=\"tls\">{tls}</select>\
<button type=\"submit\">Check</button></form>\
<h2>Explain a client's log</h2>\
<form method=\"post\" action=\"/desk/explain\" enctype=\"multipart/form-data\" autocomplete=\"off\">\
<label for=\"log\">Paste the log (FileZilla, WinSCP, curl -v, lftp -d, ...)</label>\
<textarea id=\"log\" name=\"log\" autocomplete=\"off\"></textarea>\
<label for=\"file\">or upload the file (up to 2 MiB)</label>\
<input type=\"file\" id=\"file\" name=\"file\">\
<label><input type=\"checkbox\" name=\"keep_user\" value=\"true\"> keep user names</label>\
<button type=\"submit\">Explain</button></form>\
<p class=\"note\">Also: <code>GET /probe</code> for Prometheus, <code>POST /api/check</code>, \
<code>POST /api/explain</code>; see docs/serve.md.</p></body></html>\n",
        head("desk")
    )
}

/// The start of a check's result page; progress lines follow.
pub fn check_started(target: &str) -> String {
    format!(
        "{}<h1>Checking {}</h1>\n<ol class=\"progress\">\n",
        head(&format!("checking {target}")),
        esc(target)
    )
}

/// One progress line.
pub fn progress_line(text: &str) -> String {
    format!("<li>{}</li>\n", esc(text))
}

/// The report on a result page: the verdict, the report and the downloads.
pub fn result(report: &Report<'_>) -> String {
    let verdict = report.verdict.as_str();
    let rendered = |format: Format| {
        let mut out = Vec::new();
        let _ = report::render(report, &mut out, &RenderOptions::new(format));
        base64::engine::general_purpose::STANDARD.encode(out)
    };
    format!(
        "<p class=\"verdict {verdict}\" id=\"verdict\">{}</p>\n\
         <p>Download: <a download=\"pasv-doctor-report.html\" \
         href=\"data:text/html;charset=utf-8;base64,{}\">HTML</a> · \
         <a download=\"pasv-doctor-report.md\" \
         href=\"data:text/markdown;charset=utf-8;base64,{}\">Markdown</a> · \
         <a download=\"pasv-doctor-report.json\" \
         href=\"data:application/json;base64,{}\">JSON</a></p>\n{}",
        esc(&report.summary()),
        rendered(Format::Html),
        rendered(Format::Markdown),
        rendered(Format::Json),
        report_body(report),
    )
}

/// The report itself: the HTML report's body, under its own style sheet.
fn report_body(report: &Report<'_>) -> String {
    format!(
        "<style>{}</style>\n<div id=\"report\">\n{}</div>\n",
        html::style_sheet(),
        html::body(report)
    )
}

/// A whole page for an error.
pub fn error(status: StatusCode, message: &str) -> String {
    format!(
        "{}<h1>{}</h1><p id=\"error\">{}</p>{FOOT}",
        head(status.canonical_reason().unwrap_or("error")),
        status.as_u16(),
        esc(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_and_hashed() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let page = desk(&["anon".to_string(), "<b>".to_string()]);
        assert!(page.contains("<option>&lt;b&gt;</option>"));
        assert!(!page.contains("<script"));
        assert!(csp().contains("style-src 'sha256-") && csp().contains("default-src 'none'"));
    }
}

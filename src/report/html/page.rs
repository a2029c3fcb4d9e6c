//! The page around a report: the document head with its Content-Security-Policy (nothing
//! may be loaded: no script, font, image or style from anywhere), the inline style sheet
//! (`style.css`: screen, phone and A4), and the end of the document.

use std::fmt::Write as _;

use super::esc;

/// What the page allows itself: its own inline styles and data: images, nothing else.
pub(super) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

pub(super) const STYLE: &str = include_str!("style.css");

pub(super) fn open(html: &mut String, title: &str) {
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"pasv-doctor {}\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        esc(title)
    );
}

pub(super) fn close(html: &mut String) {
    html.push_str("</body>\n</html>\n");
}

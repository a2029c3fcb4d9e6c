//! The HTML report, read by a real HTML5 parser (html5ever, through scraper): every fixture
//! transcript and every client-log fixture gives a page without a parse error, with its
//! Content-Security-Policy, no script, no element that loads anything, no `http:`/`https:`
//! reference in any attribute or style, `PASS` only masked, and its pictures. Snapshots of
//! the page for each recorded transcript (the style sheet left out: it is one file,
//! `src/report/html/style.css`). Review a change with `INSTA_UPDATE=always cargo test --test
//! html` and read the diff.

use std::path::Path;

use pasv_doctor::report::{Report, html};
use pasv_doctor::transcript::Transcript;
use scraper::{Html, Selector};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn transcripts() -> Vec<(String, Transcript)> {
    let dir = Path::new(ROOT).join("fixtures/transcripts");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("transcripts") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if path.extension().is_some_and(|e| e == "json") && name != "expected" {
            let text = std::fs::read_to_string(&path).expect("read");
            out.push((name, serde_json::from_str(&text).expect("transcript")));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn logs() -> Vec<(String, Transcript)> {
    let mut out = Vec::new();
    for sub in ["fixtures/logs", "fixtures/logs/wild"] {
        for entry in std::fs::read_dir(Path::new(ROOT).join(sub)).expect("logs") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "log") {
                continue;
            }
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            let opts = pasv_doctor::explain::Options {
                input_name: name.clone(),
                ..Default::default()
            };
            let bytes = std::fs::read(&path).expect("read");
            if let Ok(e) = pasv_doctor::explain::explain(&bytes, &opts) {
                out.push((name, e.transcript));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn page(t: &Transcript) -> String {
    let mut out = Vec::new();
    html::write(&mut out, &Report::new(t)).expect("render");
    String::from_utf8(out).expect("utf-8")
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

/// Everything wrong with a page, as sentences (empty: nothing).
fn problems(name: &str, text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let doc = Html::parse_document(text);
    for e in &doc.errors {
        errors.push(format!("{name}: HTML parse error: {e}"));
    }
    let csp = doc
        .select(&sel("meta[http-equiv=\"Content-Security-Policy\"]"))
        .next()
        .and_then(|m| m.value().attr("content"))
        .unwrap_or("");
    if !csp.starts_with("default-src 'none'") {
        errors.push(format!(
            "{name}: no strict Content-Security-Policy: {csp:?}"
        ));
    }
    for tag in [
        "script", "link", "img", "iframe", "object", "embed", "image", "use", "form", "base",
    ] {
        if doc.select(&sel(tag)).next().is_some() {
            errors.push(format!("{name}: has a <{tag}> element"));
        }
    }
    for el in doc
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
    {
        for (attr, value) in el.value().attrs() {
            let v = value.to_ascii_lowercase();
            let loads = matches!(
                attr,
                "href" | "src" | "xlink:href" | "srcset" | "action" | "poster" | "data"
            );
            if loads && !v.starts_with('#') {
                errors.push(format!("{name}: <{}> {attr}={value:?}", el.value().name()));
            }
            if (attr == "style" || attr.starts_with("on"))
                && (v.contains("url(") || attr != "style")
            {
                errors.push(format!("{name}: {attr}={value:?}"));
            }
            if v.contains("http:") || v.contains("https:") {
                errors.push(format!("{name}: {attr}={value:?} names a URL"));
            }
        }
    }
    for style in doc.select(&sel("style")) {
        let css: String = style.text().collect();
        let lower = css.to_ascii_lowercase();
        if lower.contains("url(") || lower.contains("@import") || lower.contains("http") {
            errors.push(format!("{name}: the style sheet loads something"));
        }
    }
    // The password is never in the page: the command PASS is shown masked, in the
    // transcript and in the timeline alike.
    for node in doc.select(&sel("pre span, svg text")) {
        let line: String = node.text().collect();
        if let Some(at) = line.find("PASS ") {
            let rest = &line[at + 5..];
            if !rest.starts_with("********") {
                errors.push(format!("{name}: an unmasked PASS: {line}"));
            }
        }
    }
    if doc.select(&sel(".headline .verdict")).next().is_none() {
        errors.push(format!("{name}: no headline"));
    }
    errors
}

#[test]
fn every_fixture_page_parses_and_loads_nothing() {
    let mut all = transcripts();
    all.extend(logs());
    assert!(all.len() >= 80, "only {} fixtures", all.len());
    let mut errors = Vec::new();
    let mut pictures = 0;
    for (name, t) in &all {
        let text = page(t);
        errors.extend(problems(name, &text));
        let doc = Html::parse_document(&text);
        if !t.servers.is_empty() {
            let timelines = doc.select(&sel("svg.timeline")).count();
            let addresses = doc.select(&sel("svg.address")).count();
            if timelines != t.servers.len() || addresses != t.servers.len() {
                errors.push(format!(
                    "{name}: {timelines} timelines and {addresses} address pictures for {} sessions",
                    t.servers.len()
                ));
            }
            pictures += timelines + addresses;
        }
    }
    assert!(pictures > 100, "only {pictures} pictures");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// What a server says goes into the page as text, never as markup.
#[test]
fn server_text_is_escaped() {
    let (_, mut t) = transcripts()
        .into_iter()
        .find(|(n, _)| n == "demo-private-address")
        .expect("fixture");
    let evil = "<script>alert(1)</script><img src=https://example.invalid/x>";
    t.servers[0].lines[0].text = format!("220 {evil}");
    t.servers[0].greeting[0].text = format!("220 {evil}");
    t.target.input = format!("ftp://{evil}/");
    let text = page(&t);
    assert!(!text.contains("<script>"), "{text}");
    assert!(!text.contains("<img"), "{text}");
    assert!(
        problems("evil", &text).is_empty(),
        "{:?}",
        problems("evil", &text)
    );
}

/// A client log without times: the timeline says it draws the log's order, and draws no
/// time; an address the log does not show is drawn as unknown.
#[test]
fn a_log_without_times_is_drawn_without_times() {
    let (_, t) = logs()
        .into_iter()
        .find(|(n, _)| n == "bare-private-address.log")
        .expect("fixture");
    let text = page(&t);
    let doc = Html::parse_document(&text);
    let svg = doc.select(&sel("svg.timeline")).next().expect("timeline");
    let words: String = svg.text().collect();
    assert!(words.contains("log order"), "{words}");
    assert!(
        !words.contains("+0."),
        "a time in a log's timeline: {words}"
    );
    if t.servers[0].known_peer().is_none() {
        let address: String = doc
            .select(&sel("svg.address"))
            .next()
            .expect("address")
            .text()
            .collect();
        assert!(address.contains("not in the log"), "{address}");
        // Where a client goes depends on the server's address: no client is named.
        assert!(address.contains("is not known"), "{address}");
        assert!(!address.contains("FileZilla"), "{address}");
    }
}

#[test]
fn the_batch_page_orders_worst_first_and_links_each_target() {
    let all = transcripts();
    let reports: Vec<Report<'_>> = all.iter().map(|(_, t)| Report::new(t)).collect();
    let mut out = Vec::new();
    html::write_batch(&mut out, &reports).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    let errors = problems("batch", &text);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let doc = Html::parse_document(&text);
    let rows: Vec<_> = doc.select(&sel("table.targets tbody tr")).collect();
    assert_eq!(rows.len(), reports.len());
    let rank = |v: &str| match v {
        "critical" => 0,
        "unknown" => 1,
        "warning" => 2,
        _ => 3,
    };
    let verdicts: Vec<u8> = rows
        .iter()
        .map(|r| rank(r.value().attr("data-verdict").expect("verdict")))
        .collect();
    assert!(verdicts.windows(2).all(|w| w[0] <= w[1]), "{verdicts:?}");
    for row in &rows {
        let href = row
            .select(&sel("a"))
            .next()
            .and_then(|a| a.value().attr("href"))
            .expect("link");
        let id = href.trim_start_matches('#');
        let target = doc
            .select(&sel(&format!("article[id=\"{id}\"]")))
            .next()
            .unwrap_or_else(|| panic!("no section {id}"));
        assert_eq!(
            target.value().attr("data-verdict"),
            row.value().attr("data-verdict")
        );
    }
}

#[test]
fn snapshots() {
    for (name, t) in transcripts() {
        let text = page(&t);
        // The style sheet is one file; the snapshot shows the page.
        let start = text.find("<style>").expect("style") + "<style>".len();
        let end = text.find("</style>").expect("style end");
        let text = format!("{}{}", &text[..start], &text[end..]);
        insta::assert_snapshot!(format!("html-{name}"), text);
    }
}

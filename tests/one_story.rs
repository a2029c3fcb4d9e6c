//! One report tells one story: over every fixture (recorded transcripts, the constructed
//! client logs and the corpus of real pastes), the client table never says "yes" for a
//! client a finding says fails, a finding's "Breaks ..." sentence never names a client the
//! table says works, the verdict is the worst severity (UNKNOWN only with nothing worse
//! than information), and a "yes" always rests on a data connection that worked. The
//! headline that opens the reports for people tells the same story: its verdict, root
//! cause, fix and client lists come from the findings and the table, never beside them; and
//! the HTML page shows that verdict, headline, the findings in order and the same client rows.

use std::path::Path;

use pasv_doctor::finding::{Severity, Verdict};
use pasv_doctor::knowledge::clients::{Works, names};
use pasv_doctor::report::Report;
use pasv_doctor::report::headline::Headline;
use pasv_doctor::transcript::Transcript;
use scraper::{Html, Selector};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn transcripts() -> Vec<(String, Transcript)> {
    let mut out = Vec::new();
    let dir = Path::new(ROOT).join("fixtures/transcripts");
    for entry in std::fs::read_dir(&dir).expect("transcripts") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .to_string();
        if path.extension().is_some_and(|e| e == "json") && name != "expected.json" {
            let text = std::fs::read_to_string(&path).expect("read");
            out.push((name, serde_json::from_str(&text).expect("transcript")));
        }
    }
    for sub in ["fixtures/logs", "fixtures/logs/wild"] {
        for entry in std::fs::read_dir(Path::new(ROOT).join(sub)).expect("logs") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "log") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .to_string();
            let opts = pasv_doctor::explain::Options {
                input_name: name.clone(),
                ..Default::default()
            };
            // SFTP pastes and junk are refused: they have no report to check.
            if let Ok(e) = pasv_doctor::explain::explain(&bytes, &opts) {
                out.push((name, e.transcript));
            }
        }
    }
    out
}

fn story_errors(name: &str, r: &Report<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    let row = |n: &str| r.clients.iter().find(|c| c.name == n);
    for f in &r.findings {
        for b in &f.breaks {
            match row(b) {
                None if names().all(|k| k != b) => {
                    errors.push(format!("{name}: {} breaks unknown client {b}", f.code));
                }
                Some(c) if c.works != Works::No => errors.push(format!(
                    "{name}: {} says {b} fails, the table says {}",
                    f.code,
                    c.works.label()
                )),
                _ => {}
            }
        }
        // "Breaks A, B: ..." names only clients the table does not call working.
        if let Some(list) = f.impact.strip_prefix("Breaks ") {
            let list = list.split(':').next().unwrap_or("");
            for c in r.clients.iter().filter(|c| c.works == Works::Yes) {
                if list.split(", ").any(|n| n == c.name) {
                    errors.push(format!(
                        "{name}: {} impact breaks {}, the table says yes",
                        f.code, c.name
                    ));
                }
            }
        }
    }
    for c in r.clients.iter().filter(|c| c.works == Works::Yes) {
        if !c.reason.contains("which works") && !c.reason.contains(": yes (") {
            errors.push(format!(
                "{name}: {} is yes without a working data connection: {}",
                c.name, c.reason
            ));
        }
    }
    let worst = r.findings.iter().map(|f| f.severity).max();
    let agrees = match r.verdict {
        Verdict::Unknown => worst.is_none_or(|w| w <= Severity::Info),
        Verdict::Critical => worst == Some(Severity::Critical),
        Verdict::Warning => worst == Some(Severity::Warning),
        Verdict::Ok => worst.is_none_or(|w| w <= Severity::Info),
    };
    if !agrees {
        errors.push(format!(
            "{name}: verdict {} but worst finding {worst:?}",
            r.verdict.as_str()
        ));
    }
    errors
}

fn headline_errors(name: &str, r: &Report<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    let h = Headline::of(r);
    let mut err = |e: String| errors.push(format!("{name}: headline: {e}"));
    if h.verdict != r.verdict {
        err(format!("verdict {:?}, report {:?}", h.verdict, r.verdict));
    }
    let worst = r.findings.iter().map(|f| f.severity).max();
    let root = h.code.and_then(|c| r.findings.iter().find(|f| f.code == c));
    if h.code.is_some() && root.is_none() {
        err(format!("{:?} is no finding of the report", h.code));
    }
    match r.verdict {
        Verdict::Warning | Verdict::Critical => match root {
            Some(f) if Some(f.severity) == worst => {
                if !h.answer.contains(&f.title) {
                    err(format!("answer {:?} lacks the root title", h.answer));
                }
                for b in &f.breaks {
                    if !h.clients.fail.contains(b) {
                        err(format!(
                            "{} breaks {b}, the headline does not say so",
                            f.code
                        ));
                    }
                }
            }
            _ => err(format!("root {:?} is not a worst finding", h.code)),
        },
        Verdict::Ok => {
            if root.is_some_and(|f| f.severity > Severity::Info) {
                err("an OK headline rests on a problem".to_string());
            }
        }
        Verdict::Unknown => {}
    }
    if let (Some(fix), Some(f)) = (&h.fix, root) {
        if fix.remedy != f.remedy {
            err("the fix is not the root finding's remedy".to_string());
        }
        if fix.setting.as_ref().is_some_and(|s| !f.fix.contains(s)) {
            err("the setting is not one of the root finding's fix lines".to_string());
        }
    }
    for code in &h.more {
        if !r
            .findings
            .iter()
            .any(|f| f.code == *code && f.severity >= Severity::Warning)
        {
            err(format!("also names {code}, which is no problem"));
        }
    }
    let names = |w: Works| -> Vec<String> {
        r.clients
            .iter()
            .filter(|c| c.works == w)
            .map(|c| c.name.clone())
            .collect()
    };
    if h.clients.fail != names(Works::No)
        || h.clients.work != names(Works::Yes)
        || h.clients.unknown != names(Works::Unknown)
    {
        err("the client lists differ from the table".to_string());
    }
    let sentence = h.clients.sentence();
    if h.clients.fail.is_empty() && sentence.contains("fail") {
        err(format!("no client fails, the headline says {sentence:?}"));
    }
    errors
}

/// The HTML page tells the report's story: its verdict, headline, findings in order and
/// client rows as the report has them.
fn html_errors(name: &str, r: &Report<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    pasv_doctor::report::html::write(&mut out, r).expect("render");
    let doc = Html::parse_document(&String::from_utf8(out).expect("utf-8"));
    let sel = |s: &str| Selector::parse(s).expect("selector");
    let mut err = |e: String| errors.push(format!("{name}: html: {e}"));
    let article = doc.select(&sel("article.report")).next();
    if article.and_then(|a| a.value().attr("data-verdict")) != Some(r.verdict.as_str()) {
        err("the page's verdict is not the report's".to_string());
    }
    let h = Headline::of(r);
    let said: String = doc
        .select(&sel(".headline .verdict"))
        .next()
        .map(|v| v.text().collect())
        .unwrap_or_default();
    if !said.contains(&r.verdict.as_str().to_uppercase()) || !said.contains(&h.answer) {
        err(format!("the headline says {said:?}"));
    }
    let clients: String = doc
        .select(&sel(".headline dd"))
        .map(|d| d.text().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    if !clients.contains(&h.clients.sentence()) {
        err("the headline's clients differ".to_string());
    }
    let codes: Vec<String> = doc
        .select(&sel(".finding"))
        .filter_map(|f| f.value().attr("data-code").map(str::to_string))
        .collect();
    let want: Vec<String> = r.findings.iter().map(|f| f.code.to_string()).collect();
    if codes != want {
        err(format!("findings {codes:?}, the report has {want:?}"));
    }
    let rows: Vec<(String, String)> = doc
        .select(&sel("table.clients tbody tr"))
        .map(|row| {
            let name = row
                .select(&sel("td"))
                .next()
                .map(|c| c.text().collect())
                .unwrap_or_default();
            let works = row.value().attr("data-works").unwrap_or("").to_string();
            (name, works)
        })
        .collect();
    let want: Vec<(String, String)> = r
        .clients
        .iter()
        .map(|c| {
            let works = match c.works {
                Works::Yes => "yes",
                Works::No => "no",
                Works::Unknown => "unknown-works",
            };
            (c.name.clone(), works.to_string())
        })
        .collect();
    if rows != want {
        err(format!("client rows {rows:?}, the report has {want:?}"));
    }
    errors
}

#[test]
fn the_client_table_agrees_with_every_finding() {
    let all = transcripts();
    assert!(all.len() >= 80, "only {} fixtures", all.len());
    let mut errors = Vec::new();
    let mut rows = 0;
    for (name, t) in &all {
        let r = Report::new(t);
        rows += r.clients.len();
        errors.extend(story_errors(name, &r));
        errors.extend(headline_errors(name, &r));
        errors.extend(html_errors(name, &r));
    }
    assert!(rows > 0, "no client table at all");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn a_failed_login_has_no_client_table() {
    let t = transcripts()
        .into_iter()
        .find(|(n, _)| n == "ftp-cli-pureftpd-login-failed.log")
        .expect("fixture")
        .1;
    assert!(Report::new(&t).clients.is_empty());
}

//! Snapshots of every report format for each recorded transcript in `fixtures/transcripts`
//! (each demo scenario, plus constructed real-world cases): the table without colour and
//! with forced colour, the Markdown and the JSON report. Timings come from the recording;
//! the table's test switch (`deterministic`) shows durations as "-". Review a change with
//! `cargo insta review` or `INSTA_UPDATE=always cargo test --test snapshots` and read the diff.

use pasv_doctor::report::table::HumanOptions;
use pasv_doctor::report::{Report, json, markdown, table};
use pasv_doctor::transcript::Transcript;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transcripts");

/// Every transcript named in `fixtures/transcripts/expected.json`, in name order.
fn cases() -> Vec<String> {
    let text = std::fs::read_to_string(format!("{DIR}/expected.json")).expect("expected.json");
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("object");
    let mut names: Vec<String> = map.keys().cloned().collect();
    names.sort();
    names
}

fn load(name: &str) -> Transcript {
    let text = std::fs::read_to_string(format!("{DIR}/{name}.json")).expect("fixture");
    serde_json::from_str(&text).expect("transcript")
}

fn human(t: &Transcript, color: bool) -> String {
    human_with(t, color, true)
}

fn human_with(t: &Transcript, color: bool, transcript: bool) -> String {
    let mut out = Vec::new();
    let opts = HumanOptions {
        color,
        width: 100,
        transcript,
        verbose: false,
        deterministic: true,
    };
    table::write(&mut out, &Report::new(t), opts).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn table_without_colour() {
    for name in cases() {
        let name = name.as_str();
        let text = human(&load(name), false);
        assert!(
            !text.contains('\u{1b}'),
            "{name}: escape codes without colour"
        );
        assert!(
            text.lines().all(|l| l.chars().count() <= 100),
            "{name}: wider than 100"
        );
        insta::assert_snapshot!(format!("table-{name}"), text);
    }
}

/// The default view: the headline first, port tests with the same outcome in one row,
/// clients with the same result and reason in one row.
#[test]
fn table_compact() {
    for name in cases().iter().filter(|n| n.starts_with("demo-")) {
        let text = human_with(&load(name), false, false);
        assert!(text.starts_with("pasv-doctor check of"), "{name}");
        assert!(
            text.lines()
                .nth(2)
                .is_some_and(|l| l.starts_with("Verdict: "))
        );
        insta::assert_snapshot!(format!("table-compact-{name}"), text);
    }
}

#[test]
fn table_with_forced_colour() {
    for name in [
        "demo-private-address",
        "demo-filtered-data-port",
        "demo-healthy",
    ] {
        let text = human(&load(name), true);
        assert!(text.contains("\u{1b}["), "{name}: no colour");
        insta::assert_snapshot!(format!("table-color-{name}"), text);
    }
}

#[test]
fn markdown() {
    for name in cases() {
        let name = name.as_str();
        let mut out = Vec::new();
        markdown::write(&mut out, &Report::new(&load(name))).expect("render");
        insta::assert_snapshot!(
            format!("markdown-{name}"),
            String::from_utf8(out).expect("utf-8")
        );
    }
}

#[test]
fn json_report() {
    for name in cases() {
        let name = name.as_str();
        let t = load(name);
        let mut value = serde_json::to_value(json::build(&Report::new(&t))).expect("json");
        // The transcript is the fixture itself; the snapshot shows what is derived from it.
        value["transcript"] = serde_json::Value::String("<fixtures/transcripts>".into());
        value["tool"]["version"] = serde_json::Value::String("<version>".into());
        insta::assert_json_snapshot!(format!("json-{name}"), value);
    }
}

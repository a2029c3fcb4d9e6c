//! Replays every recorded transcript in `fixtures/transcripts` through the analysis and
//! checks the verdict and finding codes in `expected.json`. Pure: no network.

use std::collections::BTreeSet;

use pasv_doctor::analyze::{analyze, verdict};
use pasv_doctor::transcript::Transcript;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transcripts");

#[test]
fn every_transcript_gives_its_expected_findings() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DIR}/expected.json")).expect("read"),
    )
    .expect("expected.json");
    let cases = expected.as_object().expect("object");
    assert!(cases.len() >= 8);
    for (name, want) in cases {
        let text = std::fs::read_to_string(format!("{DIR}/{name}.json")).expect("fixture");
        let t: Transcript = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: transcript does not parse: {e}"));
        let findings = analyze(&t);
        let got: BTreeSet<&str> = findings.iter().map(|f| f.code.as_str()).collect();
        let want_codes: BTreeSet<&str> = want["codes"]
            .as_array()
            .expect("codes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(got, want_codes, "{name}");
        assert_eq!(verdict(&t, &findings).as_str(), want["verdict"], "{name}");
        for (field, key) in [
            ("remedy", "remedy_contains"),
            ("evidence", "evidence_contains"),
        ] {
            let Some(map) = want.get(key).and_then(Value::as_object) else {
                continue;
            };
            for (code, needle) in map {
                let f = findings
                    .iter()
                    .find(|f| f.code.as_str() == code)
                    .unwrap_or_else(|| panic!("{name}: no {code}"));
                let hay = if field == "remedy" {
                    format!("{}\n{}", f.remedy, f.fix.join("\n"))
                } else {
                    f.evidence.join("\n")
                };
                let needle = needle.as_str().expect("string");
                assert!(
                    hay.contains(needle),
                    "{name}: {code} {field} lacks {needle:?}: {hay}"
                );
            }
        }
        // The transcript survives a round trip unchanged.
        let again: Transcript =
            serde_json::from_str(&serde_json::to_string(&t).expect("serialise")).expect("parse");
        assert_eq!(again, t, "{name}");
    }
}

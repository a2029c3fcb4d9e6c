//! Ctrl-C during a check: the report of what was seen is still written, marked
//! interrupted, with exit 3 and no claim about the steps that did not finish. Runs the
//! real binary against the built-in demo server on loopback and sends it SIGINT.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn interrupted_run(args: &[&str], after: Duration) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_pasv-doctor"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    std::thread::sleep(after);
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("the binary ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn ctrl_c_while_ports_are_silent_writes_the_partial_report() {
    // Every data port is dropped and each wait may last 30 s: only Ctrl-C ends it early.
    let (code, stdout, stderr, took) = interrupted_run(
        &[
            "demo",
            "--scenario",
            "filtered-data-port",
            "--timeout",
            "30s",
            "--format",
            "json",
        ],
        Duration::from_millis(1500),
    );
    assert_eq!(code, 3, "exit 3 (UNKNOWN); stderr: {stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a complete JSON report");
    assert_eq!(report["verdict"], "unknown");
    assert_eq!(report["transcript"]["interrupted"], true);
    let findings = report["findings"].as_array().unwrap();
    let stop = findings
        .iter()
        .find(|f| f["code"] == "CHECK_INTERRUPTED")
        .expect("the report says it was interrupted");
    assert_eq!(stop["phase"], "data");
    // The ports were still waiting: no port is claimed filtered, nothing is critical.
    assert!(
        findings.iter().all(|f| f["severity"] != "critical"),
        "{findings:#?}"
    );
    let server = &report["transcript"]["servers"][0];
    assert_eq!(
        server["end"],
        serde_json::json!({"end": "interrupted", "detail": "data"})
    );
    assert!(server["transfers"].as_array().unwrap().is_empty());
}

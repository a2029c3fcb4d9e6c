//! `batch` for people: one line per target as each finishes, a summary naming the failed
//! targets and their causes, and Ctrl-C printing what finished so far. Real binary, fake
//! servers on loopback.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pasv_doctor::fake::{DataPort, Script};
use support::{Ftp, bin, closed_port};

#[test]
fn lines_name_the_verdict_the_target_and_the_cause() {
    let healthy = Ftp::start(Script::default());
    let refused = Ftp::start(Script {
        data: vec![DataPort::Refuse],
        ..Script::default()
    });
    let closed = closed_port();
    let file = format!(
        "ftp://{}/\nftp://{}/\nftp://127.0.0.1:{closed}/\n",
        healthy.addr(),
        refused.addr()
    );
    let out = bin()
        .args(["batch", "--format", "lines", "--samples", "1", "-"])
        .write_stdin(file)
        .output()
        .expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let line_of = |target: &str| {
        lines
            .iter()
            .find(|l| l.contains(target))
            .unwrap_or_else(|| panic!("no line for {target} in {stdout}"))
            .to_string()
    };
    let ok = line_of(&healthy.addr().to_string());
    assert!(ok.starts_with("OK "), "{ok}");
    assert!(ok.contains("passive mode works"), "{ok}");
    let bad = line_of(&refused.addr().to_string());
    assert!(bad.starts_with("CRITICAL "), "{bad}");
    assert!(bad.contains("(DATA_PORT_REFUSED)"), "{bad}");
    let down = line_of(&format!("127.0.0.1:{closed}"));
    assert!(
        down.starts_with("CRITICAL ") && down.contains("CONNECT_FAILED"),
        "{down}"
    );
    // The summary lists the failed targets with their causes, not the healthy one.
    let failed = stderr
        .split("failed:")
        .nth(1)
        .expect("a list of failed targets");
    assert!(failed.contains("DATA_PORT_REFUSED") && failed.contains("CONNECT_FAILED"));
    assert!(!failed.contains(&healthy.addr().to_string()), "{stderr}");
    assert!(!stdout.contains('{'), "no JSON in the lines format");
}

#[test]
fn into_a_pipe_the_default_is_json_lines() {
    let healthy = Ftp::start(Script::default());
    let out = bin()
        .args(["batch", "--samples", "1", "-"])
        .write_stdin(format!("ftp://{}/\n", healthy.addr()))
        .output()
        .expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(report["verdict"], "ok");
}

#[test]
fn ctrl_c_prints_what_finished_and_the_summary_so_far() {
    let healthy = Ftp::start(Script::default());
    let filtered = Ftp::start(Script {
        data: vec![DataPort::Filter],
        ..Script::default()
    });
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let mut lines = format!("ftp://{}/\n", healthy.addr());
    // More slow targets than run at once: some have not started when Ctrl-C comes.
    for _ in 0..4 {
        lines.push_str(&format!("ftp://{}/\n", filtered.addr()));
    }
    std::fs::write(file.path(), lines).expect("write");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_pasv-doctor"))
        .args(["batch", "--format", "lines", "-j", "2", "--timeout", "30s"])
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(2000));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let out = child.wait_with_output().expect("ends");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        stdout.lines().any(|l| l.starts_with("OK ")),
        "the finished target is kept: {stdout}"
    );
    assert!(stderr.contains("interrupted: "), "{stderr}");
    assert!(stderr.contains("not checked"), "{stderr}");
    // Checks cut short are unknown, never critical: nothing was seen to fail.
    assert!(!stdout.contains("CRITICAL"), "{stdout}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
}

//! `pasv-doctor explain`: client logs (captured for real from curl and lftp against the
//! scripted server on 127.0.0.1, and constructed FileZilla and WinSCP logs) give their
//! expected findings, the same findings as a live `check` of the same scenario, redact
//! secrets, refuse junk with exit 3, and open no socket at all.
//!
//! The only network traffic here is on loopback: the scripted server on 127.0.0.1 that the
//! live `check` (and, when curl is installed, a fresh `curl -v` capture) talks to.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use pasv_doctor::fake::{Act, Advertise, DataPort, Login, Script};
use serde_json::Value;
use support::{Ftp, bin};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/logs");
/// The user and password the capture used; the fixtures carry FIXTURE_PASSWORD instead of
/// the real one.
const USER: &str = "alice";
const PASSWORD: &str = "Capture-Pa55word";
const FIXTURE_PASSWORD: &str = "fixture-Secret-9";
/// Finding codes only a client's log can give.
const LOG_ONLY: [&str; 3] = [
    "SUBSTITUTED_ADDRESS_TIMED_OUT",
    "EPSV_FALLBACK_TO_PASV",
    "TLS_SESSION_REUSE_REFUSED",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    fn codes(&self) -> BTreeSet<String> {
        codes_of(&self.json())
    }
}

fn codes_of(json: &Value) -> BTreeSet<String> {
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn explain(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = bin();
    cmd.arg("explain").args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn explain_json(path: &Path, extra: &[&str]) -> Run {
    let p = path.to_str().expect("utf-8 path");
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    args.push(p);
    explain(&args, None)
}

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    serde_json::from_str::<Value>(&text)
        .expect("expected.json parses")
        .as_object()
        .expect("object")
        .clone()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn every_log_fixture_gives_its_expected_findings() {
    let cases = expected();
    assert!(cases.len() >= 16, "{} fixtures", cases.len());
    for (name, want) in &cases {
        let run = explain_json(&fixture(name), &[]);
        let json = run.json();
        assert_eq!(
            codes_of(&json),
            strings(&want["codes"]),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(json["verdict"], want["verdict"], "{name}");
        assert_eq!(run.code, want["exit"].as_i64().unwrap() as i32, "{name}");
        let log = &json["transcript"]["client_log"];
        assert_eq!(log["format"], want["format"], "{name}");
        for key in ["client", "version"] {
            if let Some(v) = want.get(key) {
                assert_eq!(&log[key], v, "{name}: {key}");
            }
        }
        if let Some(product) = want.get("product") {
            assert_eq!(&json["servers"][0]["product"]["product"], product, "{name}");
        }
        if let Some(n) = want.get("servers") {
            assert_eq!(
                json["servers"].as_array().map(Vec::len),
                n.as_u64().map(|n| n as usize),
                "{name}"
            );
        }
        if let Some(needles) = want.get("evidence_contains").and_then(Value::as_object) {
            for (code, needle) in needles {
                let finding = json["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["code"] == code.as_str())
                    .unwrap_or_else(|| panic!("{name}: no {code}"));
                let text = finding.to_string();
                let needle = needle.as_str().unwrap();
                assert!(
                    text.contains(needle),
                    "{name}: {code} lacks {needle:?}: {text}"
                );
            }
        }
    }
}

#[test]
fn secrets_never_appear_in_any_output() {
    for name in expected().keys() {
        for format in ["table", "markdown", "json"] {
            let path = fixture(name);
            let run = explain(
                &[
                    "--format",
                    format,
                    "--color",
                    "never",
                    path.to_str().unwrap(),
                ],
                None,
            );
            for secret in [FIXTURE_PASSWORD, PASSWORD, "hunter2", "s3cr3t"] {
                assert!(
                    !run.stdout.contains(secret) && !run.stderr.contains(secret),
                    "{name} {format}: a password leaked"
                );
            }
            assert!(
                !run.stdout.contains(USER) && !run.stderr.contains(USER),
                "{name} {format}: the user name leaked:\n{}",
                run.stdout
            );
        }
    }
    // --keep-user keeps the name, never the password.
    let run = explain_json(&fixture("curl-private-address.log"), &["--keep-user"]);
    assert!(run.stdout.contains("USER alice"));
    assert!(!run.stdout.contains(FIXTURE_PASSWORD));
}

/// A script for each scenario the captures ran, with the capture's login.
fn scenario(name: &str) -> Script {
    let mut script = Script {
        login: Login::user(USER, PASSWORD),
        ..Script::default()
    };
    match name {
        "healthy" => {}
        "private-address" => {
            script.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)))
        }
        "wrong-public-address" => {
            script.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)))
        }
        "filtered-data-port" => script.data = vec![DataPort::Filter],
        "epsv-refused" => {
            script.on("EPSV", vec![Act::line("502 Command not implemented.")]);
        }
        other => panic!("no scenario {other}"),
    }
    script
}

const SCENARIOS: [&str; 5] = [
    "healthy",
    "private-address",
    "wrong-public-address",
    "filtered-data-port",
    "epsv-refused",
];

fn live_check_codes(script: Script) -> BTreeSet<String> {
    let ftp = Ftp::start(script);
    let out = bin()
        .env("PASV_TEST_PW", PASSWORD)
        .args([
            "check",
            "--format",
            "json",
            "--timeout",
            "1s",
            "--samples",
            "2",
            "--password-env",
            "PASV_TEST_PW",
        ])
        .arg(ftp.url(USER))
        .output()
        .expect("runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("check JSON");
    codes_of(&json)
}

fn without_log_only(codes: &BTreeSet<String>) -> BTreeSet<String> {
    codes
        .iter()
        .filter(|c| !LOG_ONLY.contains(&c.as_str()))
        .cloned()
        .collect()
}

#[test]
fn captured_curl_logs_give_the_same_findings_as_a_live_check_of_the_same_scenario() {
    for name in SCENARIOS {
        let live = live_check_codes(scenario(name));
        let logged = explain_json(&fixture(&format!("curl-{name}.log")), &[]).codes();
        assert_eq!(without_log_only(&logged), live, "{name}");
    }
}

#[test]
fn captured_lftp_logs_agree_with_the_live_check_where_lftp_went() {
    // lftp lists over PASV only (EPSV where told), so the EPSV findings of a live check are
    // compared only where lftp used EPSV.
    for name in ["healthy", "private-address", "filtered-data-port"] {
        let live = live_check_codes(scenario(name));
        let logged = explain_json(&fixture(&format!("lftp-{name}.log")), &[]).codes();
        assert_eq!(without_log_only(&logged), live, "{name}");
    }
}

fn have(program: &str) -> bool {
    Process::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// `curl -v` against the scripted server: the log as the fixtures were captured.
fn curl_log(name: &str, ftp: &Ftp) -> Vec<u8> {
    let mut cmd = Process::new("curl");
    cmd.args([
        "-v",
        "-s",
        "-o",
        "/dev/null",
        "--connect-timeout",
        "2",
        "-m",
        "15",
        "--ftp-skip-pasv-ip",
        "--user",
        &format!("{USER}:{PASSWORD}"),
    ]);
    if matches!(name, "private-address" | "wrong-public-address") {
        cmd.arg("--disable-epsv");
    }
    cmd.arg(format!("ftp://{}/", ftp.addr()));
    let out = cmd.output().expect("curl runs");
    let mut log = Vec::new();
    if let Ok(v) = Process::new("curl").arg("--version").output() {
        log.extend(v.stdout.split(|b| *b == b'\n').next().unwrap_or_default());
        log.push(b'\n');
    }
    log.extend(out.stderr);
    log
}

#[test]
fn a_curl_log_captured_now_gives_the_live_checks_findings() {
    if !have("curl") {
        eprintln!("skipped: curl is not installed");
        return;
    }
    for name in ["private-address", "filtered-data-port"] {
        let ftp = Ftp::start(scenario(name));
        let log = curl_log(name, &ftp);
        drop(ftp);
        let run = explain(&["--format", "json", "-"], Some(&log));
        let live = live_check_codes(scenario(name));
        assert_eq!(
            without_log_only(&run.codes()),
            live,
            "{name}: {}",
            run.stderr
        );
    }
}

/// Writes the curl and lftp fixtures (run by hand, see fixtures/logs/README.md):
/// `PASV_DOCTOR_CAPTURE=1 cargo test --test explain -- --ignored capture`.
#[test]
#[ignore = "writes fixtures/logs; run by hand"]
fn capture_client_logs() {
    if std::env::var_os("PASV_DOCTOR_CAPTURE").is_none() {
        return;
    }
    let replace = |bytes: Vec<u8>| {
        String::from_utf8_lossy(&bytes)
            .replace(PASSWORD, FIXTURE_PASSWORD)
            .into_bytes()
    };
    for name in SCENARIOS {
        let ftp = Ftp::start(scenario(name));
        let log = curl_log(name, &ftp);
        std::fs::write(fixture(&format!("curl-{name}.log")), replace(log)).expect("write");
        let mut settings = vec![
            "set net:timeout 2",
            "set net:max-retries 2",
            "set net:reconnect-interval-base 1",
            // Stay on loopback whatever the PASV reply names.
            "set ftp:ignore-pasv-address yes",
        ];
        if name == "private-address" {
            // lftp's own fix of a private address, which it logs.
            settings.pop();
        }
        if name == "epsv-refused" {
            settings.push("set ftp:prefer-epsv yes");
        }
        let script = format!("version; {}; ls; quit", settings.join("; "));
        let out = Process::new("timeout")
            .args(["30", "lftp", "-d", "-e", &script, "-u"])
            .arg(format!("{USER},{PASSWORD}"))
            .arg(format!("ftp://{}", ftp.addr()))
            .output()
            .expect("lftp runs");
        let mut log = out.stdout;
        log.extend(out.stderr);
        std::fs::write(fixture(&format!("lftp-{name}.log")), replace(log)).expect("write");
    }
}

#[test]
fn the_same_log_reads_the_same_through_quoting_indentation_and_line_ends() {
    let original = std::fs::read_to_string(fixture("filezilla-private-substituted-timeout.log"))
        .expect("fixture");
    let want = explain_json(&fixture("filezilla-private-substituted-timeout.log"), &[]).codes();
    let lines: Vec<&str> = original.lines().collect();
    let variants: Vec<(&str, String)> = vec![
        (
            "crlf and cr",
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{l}{}", ["\r\n", "\n", "\r"][i % 3]))
                .collect(),
        ),
        (
            "indented",
            lines.iter().map(|l| format!("    {l}\n")).collect(),
        ),
        (
            "e-mail quoted",
            format!(
                "Hi, this is what FileZilla says:\n\n{}\nThanks, Alice\n",
                lines.iter().map(|l| format!("> {l}\n")).collect::<String>()
            ),
        ),
        (
            "quoted twice",
            lines.iter().map(|l| format!(">> {l}\n")).collect(),
        ),
    ];
    for (what, text) in variants {
        let run = explain(&["--format", "json", "-"], Some(text.as_bytes()));
        assert_eq!(run.codes(), want, "{what}: {}", run.stderr);
    }
    // A quoted curl log keeps its directions.
    let curl = std::fs::read_to_string(fixture("curl-private-address.log")).expect("fixture");
    let quoted: String = curl.lines().map(|l| format!("> {l}\n")).collect();
    let run = explain(&["--format", "json", "-"], Some(quoted.as_bytes()));
    assert_eq!(
        run.codes(),
        explain_json(&fixture("curl-private-address.log"), &[]).codes()
    );
}

#[test]
fn from_forces_the_format() {
    let path = fixture("bare-private-address.log");
    let p = path.to_str().unwrap();
    let run = explain(&["--format", "json", "--from", "bare", p], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.json()["transcript"]["client_log"]["format"], "bare");
    // A curl log read as lftp has no FTP in it.
    let curl = fixture("curl-healthy.log");
    let run = explain(&["--from", "lftp", curl.to_str().unwrap()], None);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("not an FTP client log"),
        "{}",
        run.stderr
    );
    let run = explain(&["--from", "nonsense", p], None);
    assert_eq!(run.code, 3);
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pasv-doctor-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .expect("write");
    path
}

#[test]
fn junk_input_is_refused_with_exit_3_and_a_clear_message() {
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    binary.extend((0..4096u32).map(|i| (i * 7 % 256) as u8));
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("binary", temp_file("a.bin", &binary), "binary"),
        ("empty", temp_file("empty.log", b""), "empty"),
        ("blank", temp_file("blank.log", b"\n\n   \r\n"), "empty"),
        ("sftp winscp", fixture("junk-winscp-sftp.log"), "SFTP"),
        ("sftp filezilla", fixture("junk-filezilla-sftp.log"), "SFTP"),
        ("http curl", fixture("junk-curl-http.log"), "HTTP"),
        ("access log", fixture("junk-access.log"), "access log"),
        (
            "prose",
            temp_file("prose.txt", b"Hello,\nmy FTP does not work.\n"),
            "no FTP",
        ),
    ];
    for (what, path, reason) in cases {
        let run = explain(&[path.to_str().unwrap()], None);
        assert_eq!(run.code, 3, "{what}: {}", run.stderr);
        assert!(
            run.stderr.contains("not an FTP client log") && run.stderr.contains(reason),
            "{what}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{what}");
    }
}

#[test]
fn unreadable_and_oversized_input_are_exit_3() {
    let run = explain(&["/nonexistent/pasv-doctor/log.txt"], None);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
    let run = explain(&[std::env::temp_dir().to_str().unwrap()], None);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("directory"), "{}", run.stderr);
    let big = vec![b'x'; 16 * 1024 * 1024 + 10];
    let run = explain(&["-"], Some(&big));
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("larger than 16 MiB"), "{}", run.stderr);
    // Long lines are cut, with a message, and the rest is still read.
    let mut text = std::fs::read(fixture("curl-healthy.log")).expect("fixture");
    text.extend(b"* ");
    text.extend(vec![b'y'; 20_000]);
    text.push(b'\n');
    let run = explain(&["--format", "json", "-"], Some(&text));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("cut"), "{}", run.stderr);
}

#[test]
fn table_and_markdown_say_where_the_report_comes_from() {
    let path = fixture("winscp-private-substituted-timeout.log");
    let p = path.to_str().unwrap();
    let run = explain(&["--color", "never", p], None);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("Explained from a WinSCP session log"));
    assert!(run.stdout.contains("WinSCP 6.1.2"));
    assert!(run.stdout.contains("SUBSTITUTED_ADDRESS_TIMED_OUT"));
    let run = explain(&["--format", "markdown", p], None);
    assert!(
        run.stdout
            .contains("\n> Explained from a WinSCP session log")
    );
}

/// Where a program is, from PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// The proof that explain opens no socket: the binary runs under `strace -f`, which
/// records every socket() and connect() system call of it and its threads, and the trace
/// must have none. strace is the direct proof (a network namespace would only prove that
/// nothing got out); when strace is missing, the binary runs in a fresh network namespace
/// with no interface up (`unshare -n`, as root) and must give the same report.
#[test]
fn explain_opens_no_socket() {
    let exe = assert_cmd::cargo::cargo_bin("pasv-doctor");
    let log = fixture("filezilla-private-substituted-timeout.log");
    let args = ["explain", "--format", "json", log.to_str().unwrap()];
    let plain = Process::new(&exe).args(args).output().expect("runs");
    assert_eq!(plain.status.code(), Some(2));
    let mut proved = false;
    if let Some(strace) = which("strace") {
        let trace = std::env::temp_dir().join(format!("pasv-doctor-strace-{}", std::process::id()));
        let out = Process::new(strace)
            .args(["-f", "-e", "trace=socket,connect,sendto,bind", "-o"])
            .arg(&trace)
            .arg(&exe)
            .args(args)
            .output()
            .expect("strace runs");
        let calls = std::fs::read_to_string(&trace).unwrap_or_default();
        let _ = std::fs::remove_file(&trace);
        if out.status.code() == Some(2) {
            let net: Vec<&str> = calls
                .lines()
                .filter(|l| {
                    ["socket(", "connect(", "sendto(", "bind("]
                        .iter()
                        .any(|c| l.contains(c))
                })
                .collect();
            assert!(net.is_empty(), "explain made network calls: {net:?}");
            assert_eq!(out.stdout, plain.stdout);
            proved = true;
        } else {
            // strace cannot trace here (no ptrace in this sandbox): fall through.
            eprintln!(
                "strace could not run: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    if which("unshare").is_some() {
        let out = Process::new("unshare")
            .arg("-n")
            .arg(&exe)
            .args(args)
            .output()
            .expect("unshare runs");
        if out.status.code() == Some(2) {
            assert_eq!(
                out.stdout, plain.stdout,
                "different report without a network"
            );
            proved = true;
        } else {
            eprintln!(
                "unshare -n could not run: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    if !proved {
        eprintln!("skipped: neither strace nor unshare -n works here");
    }
}

//! Monitoring outputs and fleet runs, end to end on loopback: the Nagios plugin line and
//! exit codes, the Prometheus exposition checked by a real parser, batch runs that stream
//! JSON Lines and survive bad lines and hanging targets, and webhook POSTs and public-address
//! look-ups against a local HTTP server (wiremock).

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use pasv_doctor::demo::server::{Advertise, DataMode, Script};
use serde_json::Value;
use support::{Ftp, bin, closed_port};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn serve(configure: impl FnOnce(&mut Script)) -> Ftp {
    let mut script = Script::default();
    configure(&mut script);
    Ftp::start(script)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

/// The monitoring-plugins perfdata grammar: 'label'=value[UOM];[warn];[crit];[min];[max]
fn perfdata_is_valid(perf: &str) -> bool {
    perf.split(' ').all(|item| {
        let Some((label, rest)) = item.split_once('=') else {
            return false;
        };
        let fields: Vec<&str> = rest.split(';').collect();
        let value = fields[0].trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
        !label.is_empty()
            && value.parse::<f64>().is_ok()
            && fields.len() <= 5
            && fields[1..]
                .iter()
                .all(|f| f.is_empty() || f.parse::<f64>().is_ok())
    })
}

#[test]
fn nagios_line_status_and_perfdata() {
    let ftp = serve(|_| {});
    let (code, out, _) = run(&[
        "check",
        "--format",
        "nagios",
        "--samples",
        "1",
        &ftp.addr().to_string(),
    ]);
    assert_eq!(code, 0, "{out}");
    let first = out.lines().next().expect("a line");
    assert!(first.starts_with("PASV OK - "), "{first}");
    let (_, perf) = first.split_once(" | ").expect("perfdata");
    assert!(perfdata_is_valid(perf), "{perf}");
    for label in ["connect=", "login=", "pasv=", "data=", "total="] {
        assert!(perf.contains(label), "{label} missing: {perf}");
    }

    // A time threshold the check cannot meet raises the status.
    let (code, out, _) = run(&[
        "check",
        "--format",
        "nagios",
        "--samples",
        "1",
        "--critical",
        "1ms",
        &ftp.addr().to_string(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("PASV CRITICAL - "), "{out}");
    assert!(
        out.lines().next().unwrap_or("").contains(";;0.001;0"),
        "{out}"
    );

    let bad = serve(|s| s.advertise = Advertise::Fixed("10.0.0.5".parse().expect("ip")));
    let (code, out, _) = run(&[
        "check",
        "--format",
        "nagios",
        "--samples",
        "1",
        &bad.addr().to_string(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("PASV WARNING - PASV_ADDRESS_PRIVATE"),
        "{out}"
    );
    assert!(out.lines().count() >= 2, "detail lines: {out}");

    let (code, out, _) = run(&[
        "check",
        "--format",
        "nagios",
        &format!("127.0.0.1:{}", closed_port()),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("PASV CRITICAL - CONNECT_FAILED"), "{out}");
}

#[test]
fn prometheus_exposition_parses() {
    let ftp = serve(|s| s.data = DataMode::Refuse);
    let (code, out, _) = run(&[
        "check",
        "--format",
        "prometheus",
        "--samples",
        "1",
        &ftp.addr().to_string(),
    ]);
    assert_eq!(code, 2);
    let lines = out.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition");
    let find = |name: &str| {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .collect::<Vec<_>>()
    };
    let success = find("pasv_doctor_probe_success");
    assert_eq!(success.len(), 1);
    assert!(matches!(success[0].value, prometheus_parse::Value::Gauge(v) if v == 0.0));
    let verdict = find("pasv_doctor_verdict");
    assert_eq!(verdict.len(), 4);
    let critical = verdict
        .iter()
        .find(|s| s.labels.get("verdict") == Some("critical"))
        .expect("critical series");
    assert!(matches!(critical.value, prometheus_parse::Value::Gauge(v) if v == 1.0));
    let findings = find("pasv_doctor_findings");
    assert!(
        findings
            .iter()
            .any(|s| s.labels.get("code") == Some("DATA_PORT_REFUSED"))
    );
    assert!(!find("pasv_doctor_phase_seconds").is_empty());
}

#[test]
fn batch_streams_json_lines_and_survives_bad_lines_and_a_hanging_target() {
    let good: Vec<Ftp> = (0..3).map(|_| serve(|_| {})).collect();
    // Answers the greeting, then never answers FEAT: it can only end by its deadline.
    let hanging = serve(|s| {
        s.overrides
            .insert("FEAT".to_string(), vec!["211-Features:".to_string()]);
    });
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "# fleet\n").expect("write");
    writeln!(file, "{}", hanging.addr()).expect("write");
    for f in &good {
        writeln!(file, "{}  expect-range=1-65535   # healthy", f.addr()).expect("write");
    }
    writeln!(file, "bad host! extra").expect("write");
    writeln!(file, "{} colour=blue", good[0].addr()).expect("write");
    let started = Instant::now();
    let out = bin()
        .args([
            "batch",
            "--samples",
            "1",
            "--timeout",
            "1s",
            "--deadline",
            "3s",
            "-j",
            "8",
        ])
        .arg(file.path())
        .output()
        .expect("runs");
    let took = started.elapsed();
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON report"))
        .collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    // The healthy targets are not held back by the hanging one: they come first.
    for l in &lines[..3] {
        assert_eq!(l["verdict"], "ok", "{l}");
        assert_eq!(l["schema_version"], 2);
    }
    assert_eq!(lines[3]["verdict"], "critical", "{}", lines[3]["summary"]);
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(stderr.contains("line 7:"), "{stderr}");
    assert!(stderr.contains("line 8: unknown setting"), "{stderr}");
    assert!(stderr.contains("4 target(s)"), "{stderr}");
    assert!(stderr.contains("3 ok, 0 warning, 1 critical"), "{stderr}");
    assert_eq!(out.status.code(), Some(3), "bad lines make the run UNKNOWN");
}

#[test]
fn batch_prometheus_has_every_target() {
    let a = serve(|_| {});
    let b = serve(|s| s.data = DataMode::Refuse);
    let input = format!("{}\n{}\n", a.addr(), b.addr());
    let out = bin()
        .args(["batch", "--format", "prometheus", "--samples", "1", "-"])
        .write_stdin(input)
        .output()
        .expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid exposition");
    let targets: std::collections::BTreeSet<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "pasv_doctor_probe_success")
        .filter_map(|s| s.labels.get("target").map(str::to_string))
        .collect();
    assert_eq!(targets.len(), 2, "{text}");
    assert_eq!(out.status.code(), Some(2));
}

/// A runtime for wiremock that keeps serving while the test thread runs the binary.
fn http_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn webhook_post_and_failure_keep_the_local_report() {
    let rt = http_runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server),
    );
    let ftp = serve(|_| {});
    let url = format!("{}/hook", server.uri());
    let (code, out, err) = run(&[
        "check",
        "--samples",
        "1",
        "--post",
        &url,
        "--format",
        "json",
        &ftp.addr().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(serde_json::from_str::<Value>(&out).is_ok());
    let received = rt.block_on(server.received_requests()).expect("recorded");
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_slice(&received[0].body).expect("JSON body");
    assert_eq!(body["schema_version"], 2);
    assert_eq!(body["verdict"], "ok");

    // A receiver that fails: retried, reported on stderr, the local report intact.
    rt.block_on(server.reset());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server),
    );
    let (code, out, err) = run(&[
        "check",
        "--samples",
        "1",
        "--post",
        &url,
        &ftp.addr().to_string(),
    ]);
    assert_eq!(code, 0, "the verdict decides the exit code: {err}");
    assert!(out.contains("Verdict: OK"), "{out}");
    assert!(err.contains("failed after 3 attempts"), "{err}");
    assert_eq!(
        rt.block_on(server.received_requests())
            .expect("recorded")
            .len(),
        3
    );

    let (code, _, err) = run(&["check", "--post", "ftp://nope", &ftp.addr().to_string()]);
    assert_eq!(code, 3);
    assert!(err.contains("http or https"), "{err}");
}

#[test]
fn my_ip_url_tells_when_the_check_runs_behind_the_same_nat() {
    let rt = http_runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("GET"))
            .and(path("/ip"))
            .respond_with(ResponseTemplate::new(200).set_body_string("127.0.0.1\n"))
            .mount(&server),
    );
    let ftp = serve(|_| {});
    let url = format!("{}/ip", server.uri());
    let (_, out, err) = run(&[
        "check",
        "--format",
        "json",
        "--samples",
        "1",
        "--my-ip-url",
        &url,
        &ftp.addr().to_string(),
    ]);
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(json["transcript"]["client_public"], "127.0.0.1");
    assert!(
        json["findings"]
            .to_string()
            .contains("CHECKED_FROM_SAME_NAT")
    );
}

//! Monitoring outputs and fleet runs, end to end on loopback: the Nagios plugin line and
//! exit codes, the Prometheus exposition checked by a real parser (a 0/1 series for every
//! finding code, the phases, the certificate's days left over FTPS), the phases' names and
//! values shared by both formats, batch runs that stream JSON Lines and survive bad lines and
//! hanging targets, and webhook POSTs and public-address look-ups against a local HTTP server
//! (wiremock).

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use pasv_doctor::fake::{Act, Advertise, DataPort, Script};
use pasv_doctor::finding::Code;
use pasv_doctor::report::timing::TimedPhase;
use pasv_doctor::report::{Report, nagios, prometheus};
use pasv_doctor::transcript::Transcript;
use serde_json::Value;
use support::ftps::{self, Pki};
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

/// A threshold in the plugin guidelines' range format: `[@][start:][end]`, where start may
/// be `~` (negative infinity) and either bound may be empty.
fn range_is_valid(r: &str) -> bool {
    let r = r.strip_prefix('@').unwrap_or(r);
    let bound = |b: &str| b.is_empty() || b.parse::<f64>().is_ok();
    match r.split_once(':') {
        Some((start, end)) => (start == "~" || bound(start)) && bound(end),
        None => bound(r),
    }
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
            && fields[1..].iter().take(2).all(|f| range_is_valid(f))
            && fields[1..]
                .iter()
                .skip(2)
                .all(|f| f.is_empty() || f.parse::<f64>().is_ok())
    })
}

/// The perfdata of a plugin line, label to seconds (or the bare number).
fn perfdata(line: &str) -> Vec<(String, f64)> {
    let (_, perf) = line.split_once(" | ").expect("perfdata");
    perf.split(' ')
        .filter_map(|item| {
            let (label, rest) = item.split_once('=')?;
            let value = rest.split(';').next()?.trim_end_matches('s');
            Some((label.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid exposition")
}

fn gauge(s: &prometheus_parse::Sample) -> f64 {
    match s.value {
        prometheus_parse::Value::Gauge(v) => v,
        _ => panic!("not a gauge: {s:?}"),
    }
}

/// The value of the one sample of `metric` whose labels include `labels`.
fn value_of(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .collect();
    assert_eq!(found.len(), 1, "{metric} {labels:?}: {found:?}");
    gauge(found[0])
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
    for label in [
        "connect=",
        "greeting=",
        "login=",
        "pasv=",
        "data_connect=",
        "first_byte=",
        "data=",
        "session=",
        "total=",
    ] {
        assert!(perf.contains(label), "{label} missing: {perf}");
    }
    assert!(perfdata_is_valid("cert_days_left=9;21:;0:"));
    assert!(!perfdata_is_valid("cert_days_left=9;x:;0:"));

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
    let ftp = serve(|s| s.data = vec![DataPort::Refuse]);
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

    // A 0/1 series for every code: 1 for what was found, 0 for the rest.
    let series = find("pasv_doctor_finding");
    assert_eq!(series.len(), Code::ALL.len(), "{out}");
    for code in Code::ALL {
        let v = value_of(&scrape, "pasv_doctor_finding", &[("code", code.as_str())]);
        let expected = f64::from(u8::from(code == Code::DataPortRefused));
        assert_eq!(v, expected, "{code}");
    }

    // Once the port works, the same series reads 0: an alert on it clears.
    let healthy = serve(|_| {});
    let (code, out, _) = run(&[
        "check",
        "--format",
        "prometheus",
        "--samples",
        "1",
        &healthy.addr().to_string(),
    ]);
    assert_eq!(code, 0, "{out}");
    let s = parse(&out);
    assert_eq!(
        value_of(&s, "pasv_doctor_finding", &[("code", "DATA_PORT_REFUSED")]),
        0.0
    );
    assert_eq!(
        value_of(&s, "pasv_doctor_finding", &[("code", "DATA_PATH_OK")]),
        1.0
    );
    // The phases of a working session, each with a known name; data includes data_connect.
    let server = healthy.addr().to_string();
    let phase = |p: &str| {
        value_of(
            &s,
            "pasv_doctor_phase_seconds",
            &[("server", server.as_str()), ("phase", p)],
        )
    };
    for p in [
        "connect",
        "greeting",
        "login",
        "pasv",
        "data_connect",
        "first_byte",
        "data",
        "session",
    ] {
        assert!(phase(p) >= 0.0, "{p}");
    }
    assert!(phase("data") >= phase("data_connect"));
    assert!(phase("session") >= phase("data"));
    let names: Vec<&str> = TimedPhase::ALL.iter().map(|p| p.name()).collect();
    for sample in s
        .samples
        .iter()
        .filter(|x| x.metric == "pasv_doctor_phase_seconds")
    {
        let p = sample.labels.get("phase").unwrap_or("");
        assert!(names.contains(&p), "unknown phase {p}");
    }
    // No TLS, no certificate series.
    assert!(
        !s.samples
            .iter()
            .any(|x| x.metric.starts_with("pasv_doctor_tls_cert")),
        "{out}"
    );
}

/// Nagios perfdata and the Prometheus `phase` label: the same names with the same values,
/// from one recorded transcript rendered both ways.
#[test]
fn nagios_and_prometheus_phases_agree() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transcripts");
    for name in ["demo-healthy", "demo-refused-data-port", "product-vsftpd"] {
        let text = std::fs::read_to_string(format!("{dir}/{name}.json")).expect("fixture");
        let t: Transcript = serde_json::from_str(&text).expect("transcript");
        let report = Report::new(&t);
        let mut plugin = Vec::new();
        nagios::write(&mut plugin, &report, nagios::Thresholds::default()).expect("nagios");
        let plugin = String::from_utf8(plugin).expect("utf-8");
        let mut expo = Vec::new();
        prometheus::write(&mut expo, &report).expect("prometheus");
        let expo = parse(&String::from_utf8(expo).expect("utf-8"));
        let perf = perfdata(plugin.lines().next().expect("a line"));
        let phases: Vec<(String, f64)> = perf
            .into_iter()
            .filter(|(l, _)| l != "total" && l != "cert_days_left")
            .collect();
        assert!(phases.len() >= 4, "{name}: {plugin}");
        for (label, secs) in &phases {
            let from_prom: Vec<f64> = expo
                .samples
                .iter()
                .filter(|s| {
                    s.metric == "pasv_doctor_phase_seconds"
                        && s.labels.get("phase") == Some(label.as_str())
                })
                .map(gauge)
                .collect();
            assert!(
                from_prom.iter().any(|v| (v - secs).abs() < 1e-6),
                "{name}: {label}={secs} not among Prometheus's {from_prom:?}"
            );
        }
        // Nagios's total is the whole check, Prometheus's duration.
        let total = perfdata(plugin.lines().next().expect("a line"))
            .into_iter()
            .find(|(l, _)| l == "total")
            .expect("total")
            .1;
        assert!((value_of(&expo, "pasv_doctor_duration_seconds", &[]) - total).abs() < 1e-6);
    }
}

/// Over FTPS: the certificate's days left in both formats, the TLS handshake's time, and the
/// expiring certificate's finding series at 1.
#[test]
fn certificate_days_left_and_tls_handshake_over_ftps() {
    let pki = Pki::new();
    let server = Ftp::start(ftps::script(&pki.leaf(&["127.0.0.1"], -1, 10)));
    let mut ca = tempfile::NamedTempFile::new().expect("temp");
    ca.write_all(pki.ca_pem().as_bytes()).expect("write");
    let ca = ca.path().to_str().expect("path").to_string();
    let target = format!("ftp://anonymous@{}/", server.addr());
    let args = |format: &'static str| {
        vec![
            "check".to_string(),
            "--format".to_string(),
            format.to_string(),
            "--samples".to_string(),
            "1".to_string(),
            "--tls".to_string(),
            "explicit".to_string(),
            "--ca-file".to_string(),
            ca.clone(),
            target.clone(),
        ]
    };
    let out = bin().args(args("prometheus")).output().expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let s = parse(&text);
    let addr = server.addr().to_string();
    let days = value_of(&s, "pasv_doctor_tls_cert_days_left", &[("server", &addr)]);
    assert!(days == 9.0 || days == 10.0, "{days}");
    let expiry = value_of(
        &s,
        "pasv_doctor_tls_cert_expiry_timestamp_seconds",
        &[("server", &addr)],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!(
        (expiry - (now + 10.0 * 86_400.0)).abs() < 3_600.0,
        "{expiry}"
    );
    let hs = value_of(
        &s,
        "pasv_doctor_phase_seconds",
        &[("server", &addr), ("phase", "tls_handshake")],
    );
    assert!(hs > 0.0 && hs < 10.0, "{hs}");
    assert_eq!(
        value_of(&s, "pasv_doctor_finding", &[("code", "TLS_CERT_EXPIRING")]),
        1.0
    );
    assert_eq!(
        value_of(&s, "pasv_doctor_finding", &[("code", "TLS_CERT_EXPIRED")]),
        0.0
    );

    let out = bin().args(args("nagios")).output().expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let first = text.lines().next().expect("a line");
    assert!(
        first.starts_with("PASV WARNING - TLS_CERT_EXPIRING"),
        "{first}"
    );
    let (_, perf) = first.split_once(" | ").expect("perfdata");
    assert!(perfdata_is_valid(perf), "{perf}");
    // Whole days, as the report counts them (9 or 10: the runs are a second apart, and
    // the certificate is 10 days from its creation to the second).
    assert!(
        perf.contains("cert_days_left=9;21:;0:") || perf.contains("cert_days_left=10;21:;0:"),
        "{perf}"
    );
    assert!(perf.contains("tls_handshake="), "{perf}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn batch_streams_json_lines_and_survives_bad_lines_and_a_hanging_target() {
    let good: Vec<Ftp> = (0..3).map(|_| serve(|_| {})).collect();
    // Answers the greeting, then never finishes its reply to the first command: it can
    // only end by its deadline.
    let hanging = serve(|s| {
        s.on("AUTH", vec![Act::line("500-Wait for it")]);
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
    let b = serve(|s| s.data = vec![DataPort::Refuse]);
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

#[test]
fn webhook_sends_the_authorization_header_from_env_or_file_never_argv() {
    use wiremock::matchers::header;
    let rt = http_runtime();
    let server = rt.block_on(MockServer::start());
    const TOKEN: &str = "Bearer t0ken-Kept-Out-Of-Argv";
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/hook"))
            .and(header("authorization", TOKEN))
            .respond_with(ResponseTemplate::new(200))
            .expect(2)
            .mount(&server),
    );
    let ftp = serve(|_| {});
    let url = format!("{}/hook", server.uri());
    // From an environment variable, in check.
    let out = bin()
        .env("HOOK_AUTH", TOKEN)
        .args([
            "check",
            "--samples",
            "1",
            "--post",
            &url,
            "--post-auth-env",
            "HOOK_AUTH",
        ])
        .arg(ftp.addr().to_string())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("t0ken"), "the value is never printed");
    // From a file (first line), in batch.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("auth");
    std::fs::write(&file, format!("{TOKEN}\n")).expect("write");
    let list = dir.path().join("targets");
    std::fs::write(&list, format!("{}\n", ftp.addr())).expect("write");
    let out = bin()
        .args([
            "batch",
            "--samples",
            "1",
            "--post",
            &url,
            "--post-auth-file",
        ])
        .arg(&file)
        .arg(&list)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = rt.block_on(server.received_requests()).expect("recorded");
    assert_eq!(received.len(), 2);
    // Without --post, the header options are a usage error; an unset variable is named.
    let (code, _, err) = run(&["check", "--post-auth-env", "HOOK_AUTH", "127.0.0.1:1"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = run(&[
        "check",
        "--post",
        &url,
        "--post-auth-env",
        "NO_SUCH_VAR_FOR_HOOK",
        "127.0.0.1:1",
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("NO_SUCH_VAR_FOR_HOOK"), "{err}");
}

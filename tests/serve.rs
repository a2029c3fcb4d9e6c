//! `serve` over HTTP, in process: the service on 127.0.0.1 with a config file of the test's,
//! against fake FTP servers and a DNS responder on loopback (`tests/support`). Each route's
//! answer, and each refusal with its status: a target outside `allow_targets` (literal, by
//! a name that resolves there, and a PASV reply that points there) with a listener on
//! 127.0.0.2 proving that no connection was made; a password in a URL; missing or wrong
//! tokens; a cross-origin form; more checks than slots; big bodies; slow headers and bodies. The
//! password is searched for in every response and in the service's log.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pasv_doctor::config::ConfigFile;
use pasv_doctor::fake::{Act, DataPort, Login, Script};
use pasv_doctor::serve::{Log, Server, Settings};
use reqwest::header::HeaderMap;
use serde_json::Value;
use support::{Answer, Dns, Ftp};

const SECRET: &str = "s3rve-Pa55word";
const TOKEN: &str = "test-token-0123456789abcdef";

/// The service on a runtime of its own, with its log kept.
struct Service {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
    client_rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

/// A response, read whole.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl Service {
    /// Starts the service with `toml` as its config file (the file's folder also holds
    /// `token` and `pw`), adjusted by `tweak`.
    fn start(toml: &str, tweak: impl FnOnce(&mut Settings)) -> Service {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).expect("token");
        std::fs::write(dir.path().join("pw"), format!("{SECRET}\n")).expect("pw");
        let path = dir.path().join("pasv-doctor.toml");
        std::fs::write(&path, toml).expect("config");
        let file = ConfigFile::load(&path).expect("valid config");
        let (mut settings, _) =
            Settings::new(&file.serve, "127.0.0.1:0".parse().ok(), false).expect("settings");
        tweak(&mut settings);
        let log = Arc::new(Mutex::new(Vec::new()));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt
            .block_on(Server::bind(file, settings, Log::Memory(log.clone())))
            .expect("binds");
        let addr = server.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(server.run(async {
            let _ = stopped.await;
        }));
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Service {
            addr,
            log,
            client,
            client_rt: tokio::runtime::Runtime::new().expect("runtime"),
            stop: Some(stop),
            rt: Some(rt),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.client_rt.block_on(async {
            let r = request.send().await.expect("response");
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.text().await.expect("body");
            assert!(!body.contains(SECRET), "password in a response: {body}");
            Reply {
                status,
                headers,
                body,
            }
        })
    }

    fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)))
    }

    fn get_with(&self, path: &str, headers: &[(&'static str, &str)]) -> Reply {
        let mut r = self.client.get(self.url(path));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r)
    }

    fn post_json(&self, path: &str, body: &Value, headers: &[(&'static str, &str)]) -> Reply {
        let mut r = self.client.post(self.url(path)).json(body);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r)
    }

    /// A desk form, from `origin` (None: no Origin header).
    fn post_form(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Reply {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let mut r = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        self.send(r)
    }

    fn own_origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        if let Some(log) = self.log.lock().ok().map(|l| l.join("\n")) {
            assert!(!log.contains(SECRET), "password in the log:\n{log}");
        }
    }
}

/// `application/x-www-form-urlencoded` text.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A `multipart/form-data` body of text fields, and its content type.
fn multipart(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "pasv-doctor-test-boundary-7d3f";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A config: fast checks, loopback allowed, the modules the tests use.
fn config(serve_extra: &str, modules: &str) -> String {
    format!(
        "[defaults]\ntimeout = \"2s\"\nsamples = 1\ntransfers = 1\n\n\
         [serve]\nallow_targets = [\"127.0.0.1/32\", \"*.test\"]\n{serve_extra}\n\n\
         [modules.anon]\nuser = \"anonymous\"\n\n\
         [modules.alice]\nuser = \"alice\"\npassword_file = \"pw\"\n\n{modules}"
    )
}

fn alice_server(configure: impl FnOnce(&mut Script)) -> Ftp {
    let mut script = Script {
        login: Login::user("alice", SECRET),
        ..Script::default()
    };
    configure(&mut script);
    Ftp::start(script)
}

/// A listener on 127.0.0.2 standing in for a server that must not be contacted.
struct Forbidden(TcpListener);

impl Forbidden {
    fn start() -> Forbidden {
        let l = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
        l.set_nonblocking(true).expect("nonblocking");
        Forbidden(l)
    }

    fn addr(&self) -> SocketAddr {
        self.0.local_addr().expect("addr")
    }

    fn assert_untouched(&self) {
        std::thread::sleep(Duration::from_millis(100));
        assert!(self.0.accept().is_err(), "127.0.0.2 was contacted");
    }
}

/// The value of one sample in an exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

#[test]
fn probe_answers_with_metrics_for_a_healthy_and_a_broken_server() {
    let healthy = Ftp::start(Script::default());
    let broken = Ftp::start(Script {
        data: vec![DataPort::Refuse],
        ..Script::default()
    });
    let svc = Service::start(&config("", ""), |_| {});

    let r = svc.get(&format!("/probe?target={}&module=anon", healthy.target()));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(sample(&r.body, "probe_success "), Some(1.0), "{}", r.body);
    assert!(sample(&r.body, "probe_duration_seconds ").is_some_and(|d| d > 0.0));
    let target = healthy.target();
    assert_eq!(
        sample(
            &r.body,
            &format!("pasv_doctor_finding{{target=\"{target}\",code=\"DATA_PATH_OK\"}} ")
        ),
        Some(1.0)
    );
    // A series for every finding code, 0 or 1, in a valid exposition.
    let lines = r.body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("exposition parses");
    let codes = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "pasv_doctor_finding")
        .count();
    assert_eq!(codes, pasv_doctor::finding::Code::ALL.len());

    let r = svc.get(&format!("/probe?target={}&module=anon", broken.target()));
    assert_eq!(r.status, 200, "a failing server is still a 200: {}", r.body);
    assert_eq!(sample(&r.body, "probe_success "), Some(0.0), "{}", r.body);
    let target = broken.target();
    assert_eq!(
        sample(
            &r.body,
            &format!("pasv_doctor_finding{{target=\"{target}\",code=\"DATA_PORT_REFUSED\"}} ")
        ),
        Some(1.0),
        "{}",
        r.body
    );

    // debug=true: the human report, then the metrics.
    let r = svc.get(&format!(
        "/probe?target={}&module=anon&debug=true",
        healthy.target()
    ));
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Metrics that would have been returned"));
    assert!(r.body.contains("PASV"), "{}", r.body);

    // Bad requests are not 200.
    assert_eq!(svc.get("/probe").status, 400);
    let r = svc.get(&format!("/probe?target={}&module=nope", healthy.target()));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("known: alice, anon"), "{}", r.body);

    // The service's own metrics count them.
    let m = svc.get("/metrics").body;
    assert_eq!(
        sample(
            &m,
            "pasv_doctor_serve_checks_total{module=\"anon\",verdict=\"ok\"} "
        ),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "pasv_doctor_serve_checks_total{module=\"anon\",verdict=\"critical\"} "
        ),
        Some(1.0),
        "{m}"
    );
    assert!(m.contains("pasv_doctor_serve_checks_in_flight 0"));
    assert!(m.contains("process_resident_memory_bytes"), "{m}");
    assert!(
        sample(
            &m,
            "pasv_doctor_serve_rejected_total{reason=\"bad_request\"} "
        )
        .is_some_and(|n| n >= 2.0)
    );
    assert_eq!(svc.get("/healthz").body, "ok\n");
}

#[test]
fn the_scrape_timeout_bounds_the_check() {
    // A server that never greets, and a module that would wait 10 s for it.
    let silent = Ftp::start(Script {
        greeting: vec![Act::Silent],
        ..Script::default()
    });
    let svc = Service::start(
        &config(
            "",
            "[modules.slow]\ntimeout = \"10s\"\ndeadline = \"60s\"\n",
        ),
        |_| {},
    );
    let started = Instant::now();
    let r = svc.get_with(
        &format!("/probe?target={}&module=slow", silent.target()),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
    );
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(sample(&r.body, "probe_success "), Some(0.0));
    assert!(
        took < Duration::from_millis(2500),
        "answered after {took:?}, past the scrape timeout"
    );
}

#[test]
fn api_check_takes_the_password_in_the_body_only() {
    let ftp = alice_server(|_| {});
    let svc = Service::start(&config("", ""), |_| {});
    let body = serde_json::json!({
        "target": ftp.url("alice"),
        "password": SECRET,
        "settings": { "samples": 1, "tls": "off" }
    });
    let r = svc.post_json("/api/check", &body, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.header("content-type").starts_with("application/json"));
    let json: Value = serde_json::from_str(&r.body).expect("JSON report");
    assert_eq!(json["verdict"], "ok", "{}", r.body);
    assert_eq!(json["target"]["user"], "alice");
    assert!(r.body.contains("PASS ********"));

    // A module's password file, and the settings a request may not give.
    let r = svc.post_json(
        "/api/check",
        &serde_json::json!({ "target": ftp.target(), "module": "alice" }),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let json: Value = serde_json::from_str(&r.body).expect("JSON report");
    assert_eq!(json["verdict"], "ok", "{}", r.body);
    for settings in [
        serde_json::json!({ "password_file": "/etc/shadow" }),
        serde_json::json!({ "dns_server": "127.0.0.1:53" }),
        serde_json::json!({ "probe_advertised": true }),
    ] {
        let r = svc.post_json(
            "/api/check",
            &serde_json::json!({ "target": ftp.target(), "settings": settings }),
            &[],
        );
        assert_eq!(r.status, 400, "{settings}: {}", r.body);
    }
    // Not JSON by its type: what a cross-site form would send.
    let r = svc.send(
        svc.client
            .post(svc.url("/api/check"))
            .header("content-type", "text/plain")
            .body(body.to_string()),
    );
    assert_eq!(r.status, 415, "{}", r.body);
    assert_eq!(
        ftp.connections(),
        2,
        "refused requests contacted the server"
    );
    // A password in any URL is a 400, before anything runs.
    for path in [
        format!("/probe?target={}&password={SECRET}", ftp.target()),
        format!("/api/check?password={SECRET}"),
        format!("/?Password={SECRET}"),
    ] {
        let r = if path.starts_with("/api") {
            svc.post_json(&path, &body, &[])
        } else {
            svc.get(&path)
        };
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.body.contains("never goes in a URL"), "{}", r.body);
    }
    assert_eq!(ftp.connections(), 2);
    let log = svc.log_text();
    assert!(log.contains("GET probe 400"), "{log}");
}

#[test]
fn api_explain_reads_a_log() {
    let svc = Service::start(&config("", ""), |_| {});
    let log = fixture_log("filezilla-private-substituted-timeout.log").into_bytes();
    let r = svc.send(svc.client.post(svc.url("/api/explain")).body(log));
    assert_eq!(r.status, 200, "{}", r.body);
    let json: Value = serde_json::from_str(&r.body).expect("JSON report");
    assert!(
        json["findings"]
            .to_string()
            .contains("PASV_ADDRESS_PRIVATE")
    );
    let r = svc.send(
        svc.client
            .post(svc.url("/api/explain"))
            .body("GET / HTTP/1.1\r\nHost: x\r\n"),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    // Bodies beyond the limits.
    let r = svc.send(
        svc.client
            .post(svc.url("/api/explain"))
            .body(vec![b'a'; 3 * 1024 * 1024]),
    );
    assert_eq!(r.status, 413);
    let big = serde_json::json!({ "target": "x".repeat(100 * 1024) });
    assert_eq!(svc.post_json("/api/check", &big, &[]).status, 413);
}

#[test]
fn targets_outside_the_allow_list_are_refused_and_not_contacted() {
    let forbidden = Forbidden::start();
    let ftp = alice_server(|_| {});
    let dns = Dns::start(HashMap::from([
        (
            "evil.test".to_string(),
            Answer::Records(vec![(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 60)]),
        ),
        (
            "good.test".to_string(),
            Answer::Records(vec![(IpAddr::V4(Ipv4Addr::LOCALHOST), 60)]),
        ),
        (
            "listed.example".to_string(),
            Answer::Records(vec![(IpAddr::V4(Ipv4Addr::LOCALHOST), 60)]),
        ),
        (
            "unlisted.example".to_string(),
            Answer::Records(vec![(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 60)]),
        ),
    ]));
    let svc = Service::start(
        &config(
            "",
            &format!("[modules.dns]\ndns_server = \"{}\"\n", dns.addr),
        ),
        |_| {},
    );
    let port = forbidden.addr().port();
    // A literal address, through every route that checks.
    let target = forbidden.addr().to_string();
    let r = svc.get(&format!("/probe?target={target}"));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("127.0.0.2") && r.body.contains("allow_targets"));
    let r = svc.post_json("/api/check", &serde_json::json!({ "target": target }), &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = svc.post_form(
        "/desk/check",
        &[("target", &target), ("password", SECRET)],
        Some(&svc.own_origin()),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // A name that matches *.test but resolves to a refused address; a name no pattern
    // lists that resolves to one.
    for name in ["evil.test", "unlisted.example"] {
        let r = svc.get(&format!("/probe?target={name}:{port}&module=dns"));
        assert_eq!(r.status, 403, "{name}: {}", r.body);
        assert!(
            r.body.contains(&format!("{name} resolves to 127.0.0.2")),
            "{}",
            r.body
        );
    }
    forbidden.assert_untouched();
    // The same names, resolving to an allowed address, are checked.
    for name in ["good.test", "listed.example"] {
        let r = svc.get(&format!(
            "/probe?target={name}:{}&module=dns",
            ftp.addr().port()
        ));
        assert_eq!(r.status, 200, "{name}: {}", r.body);
    }
    let m = svc.get("/metrics").body;
    assert_eq!(
        sample(
            &m,
            "pasv_doctor_serve_rejected_total{reason=\"refused_target\"} "
        ),
        Some(5.0),
        "{m}"
    );
}

#[test]
fn the_default_allows_no_loopback_target() {
    let ftp = Ftp::start(Script::default());
    let svc = Service::start("[defaults]\nsamples = 1\n", |_| {});
    for target in [ftp.target(), format!("[::1]:{}", ftp.addr().port())] {
        let r = svc.get(&format!("/probe?target={target}"));
        assert_eq!(r.status, 403, "{target}: {}", r.body);
        assert!(r.body.contains("only global unicast"), "{}", r.body);
    }
    assert_eq!(ftp.connections(), 0);
}

#[test]
fn without_a_token_only_its_own_host_names_are_answered() {
    // A page whose name an attacker re-points at 127.0.0.1 (DNS rebinding) sends its own
    // name as Host; without a token the service answers only to its address, localhost and
    // the origins it lists.
    let ftp = Ftp::start(Script::default());
    let svc = Service::start(
        &config("allowed_origins = [\"https://desk.example.net\"]", ""),
        |_| {},
    );
    let probe = format!("/probe?target={}&module=anon", ftp.target());
    for host in ["evil.example", "evil.example:9129"] {
        let r = svc.get_with(&probe, &[("host", host)]);
        assert_eq!(r.status, 421, "{host}: {}", r.body);
        assert_eq!(svc.get_with("/", &[("host", host)]).status, 421);
    }
    assert_eq!(ftp.connections(), 0);
    assert_eq!(
        svc.get_with("/healthz", &[("host", "evil.example")]).status,
        200
    );
    for host in ["localhost:9129", "desk.example.net"] {
        assert_eq!(svc.get_with("/", &[("host", host)]).status, 200, "{host}");
    }
    assert_eq!(svc.get(&probe).status, 200);
}

#[test]
fn data_connections_follow_the_same_rule() {
    // A module that tests advertised addresses; the PASV reply points at 127.0.0.2.
    let forbidden = Forbidden::start();
    let port = forbidden.addr().port();
    let reply = format!(
        "227 Entering Passive Mode (127,0,0,2,{},{})",
        port >> 8,
        port & 0xff
    );
    let ftp = alice_server(|s| {
        s.on("PASV", vec![Act::line(reply.clone())]);
    });
    let svc = Service::start(
        &config(
            "",
            "[modules.advertised]\nuser = \"alice\"\npassword_file = \"pw\"\nprobe_advertised = true\n",
        ),
        |_| {},
    );
    let r = svc.post_json(
        "/api/check",
        &serde_json::json!({ "target": ftp.target(), "module": "advertised" }),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    forbidden.assert_untouched();
    assert!(r.body.contains("not contacted"), "{}", r.body);
}

#[test]
fn tokens_guard_the_api_the_desk_and_the_probe() {
    let ftp = Ftp::start(Script::default());
    let svc = Service::start(&config("auth_token_file = \"token\"", ""), |_| {});
    let check = serde_json::json!({ "target": ftp.target(), "module": "anon" });
    let r = svc.post_json("/api/check", &check, &[]);
    assert_eq!(r.status, 401);
    assert!(json_error(&r).contains("a token is needed"));
    assert!(r.header("www-authenticate").starts_with("Bearer"));
    let wrong = "Bearer test-token-0123456789abcdeX";
    assert_eq!(
        svc.post_json("/api/check", &check, &[("authorization", wrong)])
            .status,
        401
    );
    assert_eq!(ftp.connections(), 0);
    let bearer = format!("Bearer {TOKEN}");
    let r = svc.post_json("/api/check", &check, &[("authorization", &bearer)]);
    assert_eq!(r.status, 200, "{}", r.body);
    // The desk asks a browser for the token with its login box.
    let r = svc.get("/");
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").starts_with("Basic"));
    let r = svc.send(svc.client.get(svc.url("/")).basic_auth("desk", Some(TOKEN)));
    assert_eq!(r.status, 200);
    assert!(r.body.contains("action=\"/desk/check\""));
    // /probe and /metrics take the same token here (no probe_token_file).
    let probe = format!("/probe?target={}&module=anon", ftp.target());
    assert_eq!(svc.get(&probe).status, 401);
    assert_eq!(svc.get("/metrics").status, 401);
    assert_eq!(
        svc.get_with(&probe, &[("authorization", &bearer)]).status,
        200
    );
    assert_eq!(svc.get("/healthz").status, 200);
    // A token too short to be one is refused at start.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("t"), "short\n").expect("write");
    let table = pasv_doctor::config::serve::ServeTable {
        auth_token_file: Some(dir.path().join("t")),
        ..Default::default()
    };
    let e = Settings::new(&table, None, false).unwrap_err();
    assert!(e.contains("at least 16"), "{e}");
    assert!(!e.contains("short"), "{e}");
    // No token on a public address: refused unless asked for.
    let public = "192.0.2.1:9129".parse().ok();
    let e = Settings::new(&Default::default(), public, false).unwrap_err();
    assert!(e.contains("without authentication"), "{e}");
    let (_, warnings) = Settings::new(&Default::default(), public, true).expect("allowed");
    assert!(warnings[0].contains("WARNING"));
}

#[test]
fn the_desk_checks_and_explains_and_refuses_other_origins() {
    let ftp = alice_server(|_| {});
    let svc = Service::start(&config("", ""), |_| {});
    let page = svc.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    // A browser sends `Origin: null` with a post from a `no-referrer` page (see
    // tests/desk_chromium.rs); the desk's own forms need their origin sent.
    assert_eq!(page.header("referrer-policy"), "same-origin");
    assert!(page.body.contains("content=\"same-origin\""));
    assert!(page.body.contains("type=\"password\""));
    assert!(page.body.contains("<option>alice</option>"));

    let fields = [
        ("target", ftp.target()),
        ("user", "alice".to_string()),
        ("password", SECRET.to_string()),
        ("tls", "off".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Cross-site posts (the browser sends the Basic credentials with them) and posts
    // without an Origin are refused before anything runs.
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let r = svc.post_form("/desk/check", &fields, origin);
        assert_eq!(r.status, 403, "{origin:?}: {}", r.body);
    }
    assert_eq!(ftp.connections(), 0);

    // Post/Redirect/Get: the post answers 303 to its result, which a GET shows.
    let posted = svc.post_form("/desk/check", &fields, Some(&svc.own_origin()));
    let posted = result_location(&posted);
    let r = svc.result(&posted);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.body.contains("<ol class=\"progress\">"));
    assert!(r.body.contains("logged in"), "progress lines: {}", r.body);
    assert!(
        r.body.contains("id=\"verdict\"") && r.body.contains("OK"),
        "{}",
        r.body
    );
    // The HTML report inside the page, and the downloads.
    assert!(r.body.contains("<article class=\"report\""), "{}", r.body);
    assert!(r.body.contains(pasv_doctor::report::html::style_sheet()));
    for kind in ["text/html", "text/markdown", "application/json"] {
        assert!(r.body.contains(&format!("data:{kind};")), "{kind}");
    }
    assert!(r.body.ends_with("</html>\n"));
    // Reading it again runs nothing again.
    let again = svc.result(&posted);
    assert_eq!(again.status, 200);
    assert_eq!(again.body, r.body);
    assert_eq!(ftp.connections(), 1, "the result page ran the check again");

    // The explain form: a pasted log.
    let log = fixture_log("curl-private-address.log");
    let (kind, form) = multipart(&[("log", &log), ("keep_user", "true")]);
    let r = svc.send(
        svc.client
            .post(svc.url("/desk/explain"))
            .header("origin", svc.own_origin())
            .header("content-type", kind)
            .body(form),
    );
    let r = svc.result(&result_location(&r));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Explained: the pasted log"), "{}", r.body);
    assert!(r.body.contains("PASV_ADDRESS_PRIVATE"), "{}", r.body);
    let (kind, form) = multipart(&[("log", "not a log at all")]);
    let r = svc.send(
        svc.client
            .post(svc.url("/desk/explain"))
            .header("origin", "https://evil.example")
            .header("content-type", kind)
            .body(form),
    );
    assert_eq!(r.status, 403);
}

/// A client log from `fixtures/logs/`.
fn fixture_log(name: &str) -> String {
    let path = format!("{}/fixtures/logs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Where a desk post redirected to: a 303 to `/desk/result/` and 32 hex digits, with the
/// result's key in a cookie for that path only.
struct Posted {
    location: String,
    cookie: String,
}

fn result_location(r: &Reply) -> Posted {
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.header("location").to_string();
    let id = location
        .strip_prefix("/desk/result/")
        .unwrap_or_else(|| panic!("not a result URL: {location}"));
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{location}"
    );
    let set = r.header("set-cookie").to_string();
    let (cookie, attributes) = set.split_once(';').expect("cookie attributes");
    for want in [
        format!("Path={location}"),
        "HttpOnly".to_string(),
        "SameSite=Strict".to_string(),
        "Max-Age=600".to_string(),
    ] {
        assert!(attributes.contains(&want), "{set}");
    }
    let key = cookie.strip_prefix("pd_result=").expect("the key cookie");
    assert!(key.len() == 32 && key != id, "{set}");
    Posted {
        location,
        cookie: cookie.to_string(),
    }
}

impl Service {
    /// The result page, as the browser that posted would ask for it.
    fn result(&self, p: &Posted) -> Reply {
        self.get_with(&p.location, &[("cookie", &p.cookie)])
    }
}

/// The desk's results: one id per post (random, nothing from the form), a 404 page for an
/// id that is unknown or no longer kept, and at most 64 kept, the oldest going first.
#[test]
fn desk_results_are_kept_briefly_under_random_ids() {
    let svc = Service::start(&config("rate_limit_per_minute = 0", ""), |_| {});
    let log = fixture_log("curl-private-address.log");
    let (kind, form) = multipart(&[("log", &log)]);
    let explain = || {
        let r = svc.send(
            svc.client
                .post(svc.url("/desk/explain"))
                .header("origin", svc.own_origin())
                .header("content-type", &kind)
                .body(form.clone()),
        );
        result_location(&r)
    };
    let first = explain();
    let second = explain();
    assert_ne!(
        first.location, second.location,
        "the same form got the same id"
    );
    assert_ne!(
        first.cookie, second.cookie,
        "the same form got the same key"
    );
    let r = svc.result(&first);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.body.contains("PASV_ADDRESS_PRIVATE"));
    let other = |location: &str, cookie: &str| Posted {
        location: location.to_string(),
        cookie: cookie.to_string(),
    };
    for unknown in [
        other(
            "/desk/result/0123456789abcdef0123456789abcdef",
            &first.cookie,
        ),
        other("/desk/result/nope", &first.cookie),
        other(
            &first
                .location
                .to_uppercase()
                .replace("/DESK/RESULT/", "/desk/result/"),
            &first.cookie,
        ),
        // The URL without its key (a proxy's log, another browser), or with another's key.
        other(&first.location, ""),
        other(&first.location, &second.cookie),
    ] {
        let r = svc.result(&unknown);
        assert_eq!(r.status, 404, "{}: {}", unknown.location, r.body);
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(r.body.contains("unknown or has expired"), "{}", r.body);
    }
    // 63 more: the first is pushed out, the second is the oldest kept.
    let mut last = None;
    for _ in 0..63 {
        last = Some(explain());
    }
    assert_eq!(svc.result(&first).status, 404);
    assert_eq!(svc.result(&second).status, 200);
    assert_eq!(svc.result(&last.expect("posted")).status, 200);
    // The log names routes, never a result's id.
    let log = svc.log_text();
    assert!(log.contains("GET desk_result 200"), "{log}");
    assert!(
        !log.contains(second.location.trim_start_matches("/desk/result/")),
        "{log}"
    );
}

#[test]
fn more_checks_than_slots_get_503_with_retry_after() {
    let silent = Ftp::start(Script {
        greeting: vec![Act::Silent],
        ..Script::default()
    });
    let svc = Service::start(
        &config(
            "max_concurrent = 1\nmax_queue = 0",
            "[modules.slow]\ntimeout = \"3s\"\n",
        ),
        |_| {},
    );
    let busy = svc
        .client
        .get(svc.url(&format!("/probe?target={}&module=slow", silent.target())));
    let first = svc
        .client_rt
        .spawn(async move { busy.send().await.map(|r| r.status()) });
    let started = Instant::now();
    while !svc.get("/metrics").body.contains("checks_in_flight 1") {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the first check never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = svc.get(&format!("/probe?target={}&module=slow", silent.target()));
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.header("retry-after").parse::<u64>().is_ok_and(|s| s >= 1));
    let first = svc
        .client_rt
        .block_on(first)
        .expect("joined")
        .expect("sent");
    assert_eq!(first.as_u16(), 200);
    assert_eq!(silent.connections(), 1);
}

#[test]
fn clients_are_rate_limited() {
    let svc = Service::start(&config("rate_limit_per_minute = 2", ""), |_| {});
    let body = serde_json::json!({ "target": "x", "settings": { "colour": 1 } });
    assert_eq!(svc.post_json("/api/check", &body, &[]).status, 400);
    assert_eq!(svc.post_json("/api/check", &body, &[]).status, 400);
    let r = svc.post_json("/api/check", &body, &[]);
    assert_eq!(r.status, 429);
    assert!(json_error(&r).contains("too many requests"));
    assert!(!r.header("retry-after").is_empty());
    // Prometheus's scrapes are not limited.
    assert_eq!(svc.get("/probe").status, 400);
    assert_eq!(svc.get("/probe").status, 400);
    assert_eq!(svc.get("/probe").status, 400);
}

#[test]
fn slow_headers_are_cut_off() {
    let svc = Service::start(&config("", ""), |s| {
        s.header_timeout = Duration::from_millis(500);
    });
    let mut stream = TcpStream::connect(svc.addr).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the connection stayed open"
    );
    assert!(
        buf.is_empty() || String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    // Others are still served.
    assert_eq!(svc.get("/healthz").status, 200);
}

/// Sends `head` and `body` on a raw connection and reads until the service closes it (at
/// most 5 s): what came back and how long that took.
fn stall(addr: SocketAddr, head: &str, body: &str) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(body.as_bytes()).expect("body");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    (
        String::from_utf8_lossy(&buf).into_owned(),
        started.elapsed(),
    )
}

/// A client that sends its headers and then stalls in its body gets a 408 in the route's
/// format once the body timeout passes, the connection is closed, and no check runs.
#[test]
fn stalled_bodies_get_408_and_nothing_runs() {
    let ftp = alice_server(|_| {});
    let svc = Service::start(&config("rate_limit_per_minute = 0", ""), |s| {
        s.body_timeout = Duration::from_millis(500);
    });
    let host = svc.addr;
    let json = format!(
        "{{\"target\": \"{}\", \"module\": \"alice\"}}",
        ftp.target()
    );
    let form = format!("target={}&module=alice", encode(&ftp.target()));
    let log = "Status:\tConnecting to 192.0.2.7:21...\n";
    // Each declares 10 bytes more than it sends.
    let cases = [
        (
            format!(
                "POST /api/check HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n",
                json.len() + 10
            ),
            json.as_str(),
            "application/json",
        ),
        (
            format!(
                "POST /api/explain HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
                log.len() + 10
            ),
            log,
            "application/json",
        ),
        (
            format!(
                "POST /desk/check HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\n\r\n",
                form.len() + 10
            ),
            form.as_str(),
            "text/html",
        ),
    ];
    for (head, body, kind) in &cases {
        let what = head.lines().next().unwrap_or_default();
        let (answer, took) = stall(svc.addr, head, body);
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{what}: closed after {took:?}"
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{what}: {answer}");
        let lower = answer.to_ascii_lowercase();
        assert!(
            lower.contains(&format!("content-type: {kind}")),
            "{what}: {answer}"
        );
        assert!(lower.contains("connection: close"), "{what}: {answer}");
        assert!(
            answer.contains("did not arrive within 500 ms"),
            "{what}: {answer}"
        );
        if *kind == "application/json" {
            let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
            let v: Value = serde_json::from_str(json).expect("a JSON error");
            assert!(v["error"].is_string(), "{what}: {answer}");
        }
    }
    // A body that keeps trickling is cut by the same bound for the whole body.
    let head = format!(
        "POST /api/check HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    let u = upload(svc.addr, &head, b"1\r\n \r\n", Duration::from_millis(50));
    assert!(u.took < Duration::from_secs(3), "open for {:?}", u.took);
    assert!(
        u.status_line.is_empty() || u.status_line.starts_with("HTTP/1.1 408"),
        "{}",
        u.status_line
    );
    assert_eq!(ftp.connections(), 0, "a check ran on a late body");
    let m = svc.get("/metrics").body;
    assert_eq!(
        sample(
            &m,
            "pasv_doctor_serve_rejected_total{reason=\"body_timeout\"} "
        ),
        Some(4.0),
        "{m}"
    );
    // A body in time is still served.
    let r = svc.post_json(
        "/api/check",
        &serde_json::json!({ "target": ftp.target(), "module": "alice" }),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The message of a JSON error, asserting its type and shape.
fn json_error(r: &Reply) -> String {
    assert_eq!(r.header("content-type"), "application/json", "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("a JSON error");
    let fields: Vec<&String> = v.as_object().expect("an object").keys().collect();
    assert_eq!(fields, ["error"], "{}", r.body);
    v["error"].as_str().expect("a message").to_string()
}

/// Every error of `/api/*` is JSON, `{"error": "..."}`, including those axum writes (a body
/// past the limit, a wrong method, an unknown route); the desk answers with its page and
/// `/probe` with text.
#[test]
fn api_errors_are_json() {
    let svc = Service::start(&config("rate_limit_per_minute = 0", ""), |_| {});
    let big = serde_json::json!({ "target": "x".repeat(100 * 1024) });
    let r = svc.post_json("/api/check", &big, &[]);
    assert_eq!(r.status, 413);
    assert!(json_error(&r).contains("larger than 64 KiB"));
    let r = svc.send(
        svc.client
            .post(svc.url("/api/explain"))
            .body(vec![b'a'; 3 * 1024 * 1024]),
    );
    assert_eq!(r.status, 413);
    assert!(json_error(&r).contains("larger than 2 MiB"));
    let r = svc.get("/api/check");
    assert_eq!(r.status, 405);
    assert!(json_error(&r).starts_with("GET is not allowed here"));
    assert_eq!(r.header("allow"), "POST");
    let r = svc.post_json("/api/nope", &serde_json::json!({}), &[]);
    assert_eq!(r.status, 404);
    assert!(json_error(&r).contains("POST /api/check"));
    let r = svc.send(
        svc.client
            .post(svc.url("/api/check"))
            .header("content-type", "text/plain")
            .body("{}"),
    );
    assert_eq!(r.status, 415);
    json_error(&r);
    let r = svc.post_json(&format!("/api/nope?password={SECRET}"), &big, &[]);
    assert_eq!(r.status, 400);
    assert!(json_error(&r).contains("never goes in a URL"));
    let r = svc.post_json(
        "/api/check",
        &serde_json::json!({ "target": "x" }),
        &[("origin", "https://evil.example")],
    );
    assert_eq!(r.status, 403);
    json_error(&r);
    // The desk's errors are pages, /probe's text.
    let r = svc.get("/desk/check");
    assert_eq!(r.status, 405);
    assert!(r.header("content-type").starts_with("text/html"));
    assert!(r.body.contains("id=\"error\""), "{}", r.body);
    let r = svc.get("/probe");
    assert_eq!(r.status, 400);
    assert!(r.header("content-type").starts_with("text/plain"));
    assert!(
        svc.get("/nope")
            .header("content-type")
            .starts_with("text/plain")
    );
}

/// Over-limit bodies, again and again: each one must get its 413, never a reset connection
/// (the service reads and throws away the rest of the body before answering, so closing
/// leaves no unread bytes for the kernel to answer with a RST).
#[test]
fn over_limit_bodies_always_get_their_413() {
    let svc = Service::start(&config("rate_limit_per_minute = 0", ""), |_| {});
    let small = serde_json::json!({ "target": "x".repeat(100 * 1024) });
    let large = serde_json::json!({ "target": "x".repeat(1024 * 1024) });
    let log = vec![b'a'; 3 * 1024 * 1024];
    let (kind, form) = multipart(&[("log", &"a".repeat(3 * 1024 * 1024))]);
    let target = "x".repeat(100 * 1024);
    for round in 0..50 {
        for body in [&small, &large] {
            let r = svc.post_json("/api/check", body, &[]);
            assert_eq!(r.status, 413, "round {round}: {}", r.body);
            assert_eq!(
                json_error(&r),
                "the request is larger than 64 KiB, the limit here",
                "round {round}"
            );
        }
        let r = svc.send(svc.client.post(svc.url("/api/explain")).body(log.clone()));
        assert_eq!(r.status, 413, "round {round}: {}", r.body);
        assert_eq!(
            json_error(&r),
            "the log is larger than 2 MiB, the limit here",
            "round {round}"
        );
        if round % 5 == 0 {
            let r = svc.post_form(
                "/desk/check",
                &[("target", &target)],
                Some(&svc.own_origin()),
            );
            assert_eq!(r.status, 413, "round {round}: {}", r.body);
            assert!(
                r.body.contains("the form is larger than 64 KiB"),
                "round {round}: {}",
                r.body
            );
            let r = svc.send(
                svc.client
                    .post(svc.url("/desk/explain"))
                    .header("origin", svc.own_origin())
                    .header("content-type", &kind)
                    .body(form.clone()),
            );
            assert_eq!(r.status, 413, "round {round}: {}", r.body);
            assert!(
                r.body.contains("larger than 2 MiB"),
                "round {round}: {}",
                r.body
            );
        }
    }
    assert_eq!(svc.get("/healthz").status, 200);
}

/// What a raw client got: the bytes the service read from it, how long until the
/// connection ended, and the response's first line if one came.
struct Upload {
    sent: usize,
    took: Duration,
    status_line: String,
}

/// Sends `head`, then `chunk` every `pause` until the service stops reading (or 15 s).
fn upload(addr: SocketAddr, head: &str, chunk: &[u8], pause: Duration) -> Upload {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(head.as_bytes()).expect("head");
    let mut reader = stream.try_clone().expect("clone");
    reader
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let started = Instant::now();
    let response = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = reader.read_to_end(&mut buf);
        (buf, started.elapsed())
    });
    let chunk = chunk.to_vec();
    let writer = std::thread::spawn(move || {
        let mut sent = 0;
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        while started.elapsed() < Duration::from_secs(15) {
            if stream.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
            std::thread::sleep(pause);
        }
        sent
    });
    let (buf, took) = response.join().expect("reader");
    let sent = writer.join().expect("writer");
    let text = String::from_utf8_lossy(&buf);
    Upload {
        sent,
        took,
        status_line: text.lines().next().unwrap_or_default().to_string(),
    }
}

/// Endless or huge uploads are still cut off within seconds, having read a bounded amount,
/// and the service goes on answering.
#[test]
fn endless_uploads_are_cut_off() {
    let svc = Service::start(&config("rate_limit_per_minute = 0", ""), |_| {});
    let host = svc.addr;
    let cases = [
        // A declared 50 MiB, sent fast: more than is ever read, so no reading it out.
        (
            format!(
                "POST /api/check HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n",
                50 * 1024 * 1024
            ),
            vec![b'x'; 64 * 1024],
            Duration::ZERO,
        ),
        // The same, trickling.
        (
            format!(
                "POST /api/explain HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
                50 * 1024 * 1024
            ),
            vec![b'x'; 64 * 1024],
            Duration::from_millis(20),
        ),
        // Chunked without end, fast: read up to the bound, then closed.
        (
            format!(
                "POST /api/check HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\n\r\n"
            ),
            [b"10000\r\n".as_slice(), &[b'x'; 0x10000], b"\r\n"].concat(),
            Duration::ZERO,
        ),
        // Chunked without end, slowly: cut by the time bound.
        (
            format!(
                "POST /api/check HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\n\r\n"
            ),
            [b"4000\r\n".as_slice(), &[b'x'; 0x4000], b"\r\n"].concat(),
            Duration::from_millis(20),
        ),
    ];
    for (head, chunk, pause) in cases {
        let u = upload(svc.addr, &head, &chunk, pause);
        let what = head.lines().next().unwrap_or_default();
        assert!(
            u.took < Duration::from_secs(5),
            "{what}: open for {:?}",
            u.took
        );
        assert!(
            u.status_line.is_empty() || u.status_line.starts_with("HTTP/1.1 413"),
            "{what}: {}",
            u.status_line
        );
        // The limit, at most 8 MiB more, and what the sockets' buffers hold.
        assert!(u.sent < 24 * 1024 * 1024, "{what}: {} bytes taken", u.sent);
        assert_eq!(svc.get("/healthz").status, 200);
    }
}

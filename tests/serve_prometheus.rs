//! A real Prometheus (Debian's `prometheus` package) scrapes `pasv-doctor serve` with the
//! multi-target relabelling of docs/serve.md, on loopback only: fake FTP servers, a healthy
//! one and broken ones (data ports refused), are its targets, and two `serve` processes share
//! them by `hashmod` relabelling (one of them behind a bearer token, which Prometheus sends
//! from a `credentials_file`). The test reads `probe_success` and a finding series back
//! through Prometheus's HTTP query API, checks that every target was probed by exactly one
//! shard, and that each shard's own log names only its targets. Bounded in time; every
//! process it starts is killed by its id at the end.
//!
//! Without Prometheus the test says so and passes, except in CI (`CI` set) or with
//! `PASV_DOCTOR_REQUIRE_PROMETHEUS=1` (as `scripts/test` sets it): there it must run.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pasv_doctor::fake::{DataPort, Script};
use serde_json::Value;
use support::Ftp;

const TOKEN: &str = "prometheus-test-token-0123456789";
/// The whole test's bound: Prometheus needs a few scrape intervals.
const LIMIT: Duration = Duration::from_secs(90);

fn required() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0");
    set("CI") || set("PASV_DOCTOR_REQUIRE_PROMETHEUS")
}

fn prometheus_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PASV_DOCTOR_PROMETHEUS") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
}

/// A child process killed (by its id) when dropped.
struct Running {
    child: Child,
    what: &'static str,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("serve_prometheus: stopped {}", self.what);
    }
}

/// `pasv-doctor serve` on a loopback port of its choosing; its stderr is kept.
fn serve(config: &Path) -> (Running, SocketAddr, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pasv-doctor"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let kept = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line
                .split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse::<SocketAddr>().ok())
            {
                let _ = tx.send(addr);
            }
            if let Ok(mut l) = kept.lock() {
                l.push(line);
            }
        }
    });
    let running = Running {
        child,
        what: "pasv-doctor serve",
    };
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("serve did not start: {:?}", lines.lock().map(|l| l.clone())));
    assert!(addr.ip().is_loopback());
    (running, addr, lines)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The multi-target scrape job of one shard, as docs/serve.md gives it.
fn shard_job(shard: u32, exporter: SocketAddr, targets: &[String], token: Option<&Path>) -> String {
    let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let auth = token.map_or(String::new(), |t| {
        format!(
            "    authorization:\n      credentials_file: '{}'\n",
            t.display()
        )
    });
    format!(
        "  - job_name: ftp-shard-{shard}\n\
         \x20   metrics_path: /probe\n\
         \x20   params:\n      module: [anon]\n\
         {auth}\
         \x20   static_configs:\n      - targets: [{}]\n        labels:\n          location: lab\n\
         \x20   relabel_configs:\n\
         \x20     - source_labels: [__address__]\n        target_label: __param_target\n\
         \x20     - source_labels: [__param_target]\n        target_label: instance\n\
         \x20     - source_labels: [__param_target]\n        modulus: 2\n        target_label: __tmp_hash\n        action: hashmod\n\
         \x20     - source_labels: [__tmp_hash]\n        regex: '{shard}'\n        action: keep\n\
         \x20     - target_label: __address__\n        replacement: '{exporter}'\n",
        list.join(", ")
    )
}

/// `GET /api/v1/query?query=Q` on Prometheus at `prom` (a loopback address): the result
/// vector; empty while Prometheus is not up yet.
fn query(prom: SocketAddr, q: &str) -> Vec<Value> {
    let encoded: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let Ok(mut stream) = TcpStream::connect_timeout(&prom, Duration::from_secs(2)) else {
        return Vec::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "GET /api/v1/query?query={encoded} HTTP/1.0\r\nHost: {prom}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return Vec::new();
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn prometheus_scrapes_serve_with_the_multi_target_pattern() {
    let Some(prometheus) = prometheus_binary() else {
        assert!(
            !required(),
            "Prometheus is required here (CI or PASV_DOCTOR_REQUIRE_PROMETHEUS=1) but is not \
             installed: apt-get install prometheus, or run scripts/test"
        );
        let _ = writeln!(
            std::io::stderr(),
            "serve_prometheus: SKIPPED: Prometheus is not installed (apt-get install \
             prometheus, or run scripts/test): serve was not scraped by a real Prometheus"
        );
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");

    // Targets: healthy servers and broken ones (every data port refused).
    let mut servers = Vec::new();
    let mut healthy = Vec::new();
    let mut broken = Vec::new();
    for i in 0..6 {
        let mut script = Script::default();
        if i % 2 == 1 {
            script.data = vec![DataPort::Refuse];
        }
        let ftp = Ftp::start(script);
        if i % 2 == 1 {
            broken.push(ftp.target());
        } else {
            healthy.push(ftp.target());
        }
        servers.push(ftp);
    }
    let targets: Vec<String> = healthy.iter().chain(&broken).cloned().collect();

    // Two exporters; shard 0 wants a token.
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("token");
    let base = "[defaults]\ntimeout = \"1s\"\nsamples = 1\ntransfers = 1\n\n\
                [modules.anon]\nuser = \"anonymous\"\n\n\
                [serve]\nallow_targets = [\"127.0.0.1/32\"]\n";
    let config0 = dir.path().join("shard0.toml");
    std::fs::write(&config0, format!("{base}auth_token_file = \"token\"\n")).expect("config");
    let config1 = dir.path().join("shard1.toml");
    std::fs::write(&config1, base).expect("config");
    let (_serve0, addr0, log0) = serve(&config0);
    let (_serve1, addr1, log1) = serve(&config1);

    let prom_port = free_port();
    let yml = format!(
        "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n  evaluation_interval: 2s\n\
         scrape_configs:\n{}{}",
        shard_job(0, addr0, &targets, Some(&token)),
        shard_job(1, addr1, &targets, None)
    );
    let yml_path = dir.path().join("prometheus.yml");
    std::fs::write(&yml_path, &yml).expect("prometheus.yml");
    let prom_log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
    let child = Command::new(&prometheus)
        .arg(format!("--config.file={}", yml_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(prom_log)
        .spawn()
        .expect("prometheus starts");
    let _prometheus = Running {
        child,
        what: "prometheus",
    };
    let prom: SocketAddr = ([127, 0, 0, 1], prom_port).into();

    // Wait for a value of probe_success for every target.
    let mut success = Vec::new();
    while started.elapsed() < LIMIT {
        success = query(prom, "probe_success");
        if success.len() == targets.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert_eq!(
        success.len(),
        targets.len(),
        "probe_success for every target within {LIMIT:?}: {success:?}\nprometheus.yml:\n{yml}\n\
         prometheus log (tail):\n{}",
        log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    let value = |v: &Value| v["value"][1].as_str().unwrap_or_default().to_string();
    let instance = |v: &Value| {
        v["metric"]["instance"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for v in &success {
        let target = instance(v);
        let want = if healthy.contains(&target) { "1" } else { "0" };
        assert_eq!(value(v), want, "probe_success of {target}: {v}");
        assert_eq!(v["metric"]["location"], "lab");
    }
    // Every target by exactly one shard, and each exporter checked only its own.
    for t in &targets {
        let by: Vec<String> = success
            .iter()
            .filter(|v| instance(v) == *t)
            .map(|v| v["metric"]["job"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(by.len(), 1, "{t} probed by {by:?}");
        let (mine, other) = if by[0] == "ftp-shard-0" {
            (&log0, &log1)
        } else {
            (&log1, &log0)
        };
        let said = |log: &Arc<Mutex<Vec<String>>>| {
            log.lock()
                .map(|l| l.iter().any(|line| line.contains(&format!("check {t} "))))
                .unwrap_or(false)
        };
        assert!(said(mine), "{t}: not in its shard's log");
        assert!(!said(other), "{t}: checked by the other shard too");
    }
    // A finding series, 1 for the broken targets and 0 for the healthy ones.
    let refused = query(prom, "pasv_doctor_finding{code=\"DATA_PORT_REFUSED\"}");
    assert_eq!(refused.len(), targets.len(), "{refused:?}");
    for v in &refused {
        let target = instance(v);
        let want = if broken.contains(&target) { "1" } else { "0" };
        assert_eq!(value(v), want, "DATA_PORT_REFUSED of {target}: {v}");
    }
    eprintln!(
        "serve_prometheus: {} targets scraped by Prometheus through two shards in {:.1}s",
        targets.len(),
        started.elapsed().as_secs_f64()
    );
    drop(servers);
}

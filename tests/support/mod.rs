//! Test peers shared by the integration tests: the library's fake FTP server on a runtime of
//! its own (scripted by `hostile.rs` and `ftps.rs` for their suites), a small DNS responder
//! on 127.0.0.1, the binary (`run.rs` for timed runs), and headless Chromium driven over
//! its DevTools pipe (`cdp.rs`, for the desk's browser test), and `pasv-doctor serve` as a
//! process (`serve.rs`). Nothing here reaches beyond
//! loopback.

#![allow(dead_code)]

pub mod cdp;
pub mod ftps;
pub mod hostile;
pub mod run;
pub mod serve;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use assert_cmd::Command;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata};
use pasv_doctor::fake::{FakeServer, Script};

pub fn bin() -> Command {
    let mut cmd = Command::cargo_bin("pasv-doctor").expect("binary built");
    cmd.env_remove("PASV_DOCTOR_PASSWORD");
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// The fake FTP server on 127.0.0.1 with a runtime of its own, so the test thread can run
/// the binary while it serves. Dropping it stops the server and every session.
pub struct Ftp {
    server: Option<FakeServer>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Ftp {
    pub fn start(script: Script) -> Ftp {
        Ftp::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), script)
    }

    pub fn start_on(ip: IpAddr, script: Script) -> Ftp {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt
            .block_on(FakeServer::start(ip, script))
            .expect("fake server starts");
        Ftp {
            server: Some(server),
            rt: Some(rt),
        }
    }

    fn server(&self) -> &FakeServer {
        self.server.as_ref().expect("running")
    }

    pub fn addr(&self) -> SocketAddr {
        self.server().addr()
    }

    /// `127.0.0.1:PORT`, a TARGET for an anonymous check.
    pub fn target(&self) -> String {
        self.addr().to_string()
    }

    /// `ftp://user@127.0.0.1:PORT/`
    pub fn url(&self, user: &str) -> String {
        format!("ftp://{user}@{}/", self.addr())
    }

    /// Control connections accepted so far.
    pub fn connections(&self) -> usize {
        self.server().control_connections()
    }

    /// Every command line received so far, `plain: ...` or `tls: ...` (PASS masked).
    pub fn commands(&self) -> Vec<String> {
        self.server()
            .commands()
            .into_iter()
            .map(|r| format!("{}: {}", if r.tls { "tls" } else { "plain" }, r.line))
            .collect()
    }
}

impl Drop for Ftp {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// What the DNS responder answers for a name.
#[derive(Clone, Debug)]
pub enum Answer {
    Records(Vec<(IpAddr, u32)>),
    NxDomain,
}

/// A DNS responder on 127.0.0.1:PORT/udp answering A and AAAA from a table.
pub struct Dns {
    pub addr: SocketAddr,
    pub queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Dns {
    pub fn start(table: HashMap<String, Answer>) -> Dns {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind dns");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let (stop2, queries2) = (stop.clone(), queries.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                queries2.fetch_add(1, Ordering::Relaxed);
                if let Some(reply) = answer(&buf[..n], &table) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Dns {
            addr,
            queries,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(request: &[u8], table: &HashMap<String, Answer>) -> Option<Vec<u8>> {
    let req = Message::from_vec(request).ok()?;
    let query = req.queries.first()?.clone();
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.message_type = MessageType::Response;
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.metadata.authoritative = true;
    resp.add_query(query.clone());
    let name = query
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match table.get(&name) {
        None | Some(Answer::NxDomain) => resp.metadata.response_code = ResponseCode::NXDomain,
        Some(Answer::Records(records)) => {
            for (ip, ttl) in records {
                let rdata = match (ip, query.query_type()) {
                    (IpAddr::V4(v4), RecordType::A) => RData::A(rdata::A(*v4)),
                    (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(rdata::AAAA(*v6)),
                    _ => continue,
                };
                resp.add_answer(Record::from_rdata(query.name().clone(), *ttl, rdata));
            }
        }
    }
    resp.to_vec().ok()
}

/// A loopback port with nothing listening on it (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A finished `--format json` run of the binary.
pub struct Run {
    pub code: i32,
    pub json: serde_json::Value,
    pub stderr: String,
}

impl Run {
    pub fn codes(&self) -> Vec<String> {
        self.json["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| f["code"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn has(&self, code: &str) -> bool {
        self.codes().iter().any(|c| c == code)
    }

    pub fn finding(&self, code: &str) -> &serde_json::Value {
        self.json["findings"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["code"] == code))
            .unwrap_or_else(|| panic!("no {code} in {:?}", self.codes()))
    }

    pub fn verdict(&self) -> &str {
        self.json["verdict"].as_str().unwrap_or_default()
    }

    /// TLS on the first server's control connection.
    pub fn tls(&self) -> &serde_json::Value {
        &self.json["transcript"]["servers"][0]["tls"]
    }
}

/// With `PASV_DOCTOR_RECORD=1`, writes a live run's transcript to
/// `fixtures/transcripts/NAME.json`, so that the analysis tests replay it (the fixture is
/// a recording of the in-process server, not a hand-made one).
#[allow(dead_code)]
pub fn record_fixture(name: &str, transcript: &serde_json::Value) {
    if std::env::var_os("PASV_DOCTOR_RECORD").is_none() {
        return;
    }
    let path = format!(
        "{}/fixtures/transcripts/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = serde_json::to_string_pretty(transcript).expect("serialise");
    std::fs::write(&path, text + "\n").expect("write fixture");
}

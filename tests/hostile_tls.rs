//! The hostile-server suite for FTPS: `pasv-doctor check` against the fake server scripted
//! for FTPS (`tests/support/ftps.rs`) and to misbehave in TLS, one behaviour per row: a stalled
//! or aborted handshake, a TLS alert, plain text where TLS was agreed (and TLS where plain
//! text was), plaintext injected before the handshake, a certificate that changes between
//! the control and the data connection, a data connection closed without close_notify, and a
//! server that speaks only TLS 1.0. For every row the run must end within its deadline (plus
//! a margin), exit with the documented code, print one valid JSON report that names the
//! expected finding (and not the wrong ones), never panic, stay small, and never show the
//! password; nor may the server ever receive the password in plain text. `docs/hostile.md`
//! lists the rows with what each gives.
//!
//! `HOSTILE_ONLY=substring cargo test --test hostile_tls -- --nocapture` runs matching rows
//! only; `HOSTILE_VERBOSE=1` also prints each report.

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use pasv_doctor::fake::{Act, DataAct, DataPlay, DataPort, DataTls, Script};
use serde_json::Value;
use support::Ftp;
use support::ftps::{self, LISTING, Pki, TlsOptions, self_signed, tls};
use support::run::{Outcome, codes_of, parallel, result_line, run};

/// `--timeout` of every run.
const TIMEOUT: &str = "1s";
/// `--deadline` of every run.
const DEADLINE: Duration = Duration::from_secs(5);
/// Time allowed beyond the deadline: start-up, rendering, exit.
const MARGIN: Duration = Duration::from_secs(2);
/// A step bounded by `--timeout` (1 s) must end well before the deadline.
const STEP_BOUND: Duration = Duration::from_millis(3500);
/// Largest JSON report accepted from any behaviour.
const MAX_REPORT: usize = 64 * 1024;
/// Largest peak resident set size accepted (debug build).
const MAX_RSS_KIB: u64 = 32 * 1024;
/// Behaviours run at once.
const WORKERS: usize = 12;
/// The password every run logs in with (`--password-env`): it must appear nowhere.
const PASSWORD: &str = "hostile-tls-Secret-7431";

/// A check of the report beyond the codes.
type Extra = fn(&Value) -> Result<(), String>;

struct Case {
    name: &'static str,
    script: Script,
    /// `ftps://` (implicit TLS) instead of `ftp://` with `--tls explicit`.
    implicit: bool,
    args: Vec<&'static str>,
    codes: Vec<&'static str>,
    absent: Vec<&'static str>,
    exit: i32,
    max_wall: Duration,
    extra: Option<Extra>,
    server_check: Option<fn(&[String]) -> bool>,
}

impl Case {
    fn new(name: &'static str, script: Script, codes: &[&'static str], exit: i32) -> Case {
        Case {
            name,
            script,
            implicit: false,
            args: Vec::new(),
            codes: codes.to_vec(),
            absent: Vec::new(),
            exit,
            max_wall: DEADLINE + MARGIN,
            extra: None,
            server_check: None,
        }
    }

    fn implicit(mut self) -> Case {
        self.implicit = true;
        self
    }

    fn args(mut self, args: &[&'static str]) -> Case {
        self.args.extend_from_slice(args);
        self
    }

    fn without(mut self, codes: &[&'static str]) -> Case {
        self.absent.extend_from_slice(codes);
        self
    }

    /// The run must end within one step timeout (plus start-up), not at the deadline.
    fn step_bounded(mut self) -> Case {
        self.max_wall = STEP_BOUND;
        self
    }

    fn then(mut self, extra: Extra) -> Case {
        self.extra = Some(extra);
        self
    }

    /// The commands the server received must satisfy `wanted`.
    fn then_server(mut self, wanted: fn(&[String]) -> bool) -> Case {
        self.server_check = Some(wanted);
        self
    }
}

const HANDSHAKE_FAILED: &str = "TLS_HANDSHAKE_FAILED";
const DATA_REFUSED: &str = "TLS_DATA_REFUSED";
const CERT_CHANGED: &str = "TLS_DATA_CERT_CHANGED";
const NO_CLOSE_NOTIFY: &str = "TLS_DATA_NO_CLOSE_NOTIFY";
const INTERRUPTED: &str = "SESSION_INTERRUPTED";
const TRANSFER_FAILED: &str = "DATA_TRANSFER_FAILED";
const PATH_OK: &str = "DATA_PATH_OK";

fn finding<'a>(json: &'a Value, code: &str) -> Result<&'a Value, String> {
    json["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["code"] == code))
        .ok_or_else(|| format!("no {code}"))
}

/// The finding's title and evidence as one string.
fn words(json: &Value, code: &str) -> Result<String, String> {
    let f = finding(json, code)?;
    Ok(format!("{} {}", f["title"], f["evidence"]))
}

fn says(json: &Value, code: &str, wanted: &[&str]) -> Result<(), String> {
    let text = words(json, code)?;
    for w in wanted {
        if !text.contains(w) {
            return Err(format!("{code} does not say {w:?}: {text}"));
        }
    }
    Ok(())
}

fn server(json: &Value) -> &Value {
    &json["transcript"]["servers"][0]
}

/// The TLS 1.0 alert record `protocol_version` (fatal): what an OpenSSL server limited to
/// TLS 1.0 answers to a ClientHello that offers only TLS 1.2 and 1.3.
const TLS10_ALERT: &[u8] = &[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46];

/// A TLS 1.0 ServerHello (TLS_RSA_WITH_AES_128_CBC_SHA): a server that ignores the versions
/// offered and answers in its own.
fn tls10_server_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x01];
    body.extend_from_slice(&[0x5a; 32]);
    body.extend_from_slice(&[0x00, 0x00, 0x2f, 0x00]);
    let mut hs = vec![0x02, 0x00, 0x00, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, hs.len() as u8];
    record.extend_from_slice(&hs);
    record
}

const PROCEED: &str = "234 Proceed with negotiation.";

/// AUTH TLS answered with the 234, then `acts` instead of the handshake.
fn after_234(s: &mut Script, acts: Vec<Act>) {
    s.on("AUTH", [vec![Act::line(PROCEED)], acts].concat());
}

/// Every data connection plays `play`.
fn data(s: &mut Script, play: DataPlay) {
    s.data = vec![DataPort::Accept(play)];
}

/// Under PROT P: the handshake, half the listing, then a TCP close without TLS close_notify,
/// then `then` on the control connection.
fn close_without_notify(then: &str) -> DataPlay {
    DataPlay {
        acts: vec![
            DataAct::Send(LISTING[..LISTING.len() / 2].to_vec()),
            DataAct::CloseWithoutNotify,
        ],
        reply: Some(then.to_string()),
        ..DataPlay::default()
    }
}

fn cases(pki: &Pki) -> Vec<Case> {
    let leaf = pki.leaf(&["127.0.0.1"], -1, 365);
    let healthy = || ftps::script(&leaf);
    let with = |f: &dyn Fn(&mut Script)| {
        let mut s = healthy();
        f(&mut s);
        s
    };
    let client_cert = |tls12_only| TlsOptions {
        tls12_only,
        client_cert_required: true,
    };
    vec![
        Case::new("healthy FTPS server (baseline)", healthy(), &[PATH_OK], 0).without(&[
            HANDSHAKE_FAILED,
            DATA_REFUSED,
            CERT_CHANGED,
            TRANSFER_FAILED,
        ]),
        // The control handshake.
        Case::new(
            "234, then the handshake stalls (nothing read or sent)",
            with(&|s| after_234(s, vec![Act::Wait(Duration::from_secs(20)), Act::Close])),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .then(|j| says(j, HANDSHAKE_FAILED, &["within the step timeout"])),
        Case::new(
            "234, then the server closes mid-handshake",
            with(&|s| after_234(s, vec![Act::Receive, Act::Close])),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .then(|j| {
            says(
                j,
                HANDSHAKE_FAILED,
                &["closed the connection during the TLS"],
            )
        }),
        Case::new(
            "client certificate required (TLS 1.3: alert after the handshake)",
            with(&|s| tls(s).config = ftps::config(&leaf, client_cert(false))),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .without(&[INTERRUPTED])
        .then(|j| {
            says(
                j,
                HANDSHAKE_FAILED,
                &["certificate_required", "client certificate"],
            )
        }),
        Case::new(
            "client certificate required (TLS 1.2: alert in the handshake)",
            with(&|s| tls(s).config = ftps::config(&leaf, client_cert(true))),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .then(|j| says(j, HANDSHAKE_FAILED, &["alert", "client certificate"])),
        Case::new(
            "implicit TLS against a plain-text server",
            healthy(),
            &[HANDSHAKE_FAILED],
            2,
        )
        .implicit()
        .step_bounded()
        .then(|j| says(j, HANDSHAKE_FAILED, &["plain text"])),
        Case::new(
            "234, then plain text",
            with(&|s| after_234(s, vec![Act::Receive, Act::line("500 Unknown command.")])),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .then(|j| says(j, HANDSHAKE_FAILED, &["plain text"])),
        Case::new(
            "plaintext injected with the 234 (STARTTLS injection)",
            with(&|s| {
                // In the same write as the 234.
                let injected = "331 INJECTED need password\r\n230 INJECTED logged in\r\n";
                let wire = format!("{PROCEED}\r\n{injected}").into_bytes();
                s.on("AUTH", vec![Act::Send(wire), Act::StartTls]);
            }),
            &[PATH_OK],
            0,
        )
        .without(&[HANDSHAKE_FAILED, INTERRUPTED])
        .then(|j| {
            if j.to_string().contains("INJECTED") {
                return Err("an injected line made it into the report".to_string());
            }
            let s = server(j);
            if s["tls"]["handshake"]["error"] != Value::Null || s["login"]["tls"] != true {
                return Err(format!("login not under TLS: {}", s["login"]));
            }
            Ok(())
        })
        .then_server(|commands| {
            // The real login happened, under TLS, after the injected lines were dropped.
            commands.iter().any(|c| c.starts_with("tls: PASS"))
        }),
        Case::new(
            "plaintext injected after the ClientHello, before the ServerHello",
            with(&|s| {
                // Once the ClientHello is there, so the client has read the 234 already.
                let injected = Act::Send(b"230 INJECTED\r\n".to_vec());
                after_234(s, vec![Act::AwaitInput, injected, Act::StartTls]);
            }),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .then(|j| {
            if server(j)["lines"].to_string().contains("INJECTED") {
                return Err("an injected line was read as a reply".to_string());
            }
            says(j, HANDSHAKE_FAILED, &["plain text"])
        }),
        Case::new(
            "TLS 1.0 only: protocol_version alert",
            with(&|s| {
                after_234(
                    s,
                    vec![Act::Receive, Act::Send(TLS10_ALERT.to_vec()), Act::Close],
                )
            }),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .then(|j| says(j, HANDSHAKE_FAILED, &["no TLS version", "protocol_version"])),
        Case::new(
            "TLS 1.0 only: a TLS 1.0 ServerHello",
            with(&|s| {
                after_234(
                    s,
                    vec![Act::Receive, Act::Send(tls10_server_hello()), Act::Close],
                )
            }),
            &[HANDSHAKE_FAILED],
            2,
        )
        .step_bounded()
        .then(|j| says(j, HANDSHAKE_FAILED, &["no TLS version"])),
        // Data connections.
        Case::new(
            "data: TLS handshake stalls after 150",
            with(&|s| {
                // Neither reads nor sends for 10 s, then 426.
                let play = DataPlay {
                    tls: DataTls::Never,
                    acts: vec![DataAct::Wait(Duration::from_secs(10))],
                    reply: Some("426 Failure reading network stream.".to_string()),
                    ..DataPlay::default()
                };
                data(s, play)
            }),
            &[DATA_REFUSED],
            2,
        )
        .without(&[PATH_OK])
        .then(|j| says(j, DATA_REFUSED, &["within the step timeout"])),
        Case::new(
            "data: PROT P accepted, then plain text",
            with(&|s| {
                let play = DataPlay {
                    tls: DataTls::Never,
                    ..DataPlay::default()
                };
                data(s, play)
            }),
            &[DATA_REFUSED],
            2,
        )
        .without(&[PATH_OK])
        .then(|j| says(j, DATA_REFUSED, &["plain text"])),
        Case::new(
            "data: PROT C accepted, then TLS",
            with(&|s| {
                let play = DataPlay {
                    tls: DataTls::Always,
                    ..DataPlay::default()
                };
                data(s, play)
            }),
            &[TRANSFER_FAILED],
            2,
        )
        .args(&["--prot", "c"])
        .without(&[PATH_OK]),
        Case::new(
            "data: no close_notify mid-listing, then 426",
            with(&|s| data(s, close_without_notify("426 Transfer aborted."))),
            &[TRANSFER_FAILED],
            2,
        )
        .without(&[PATH_OK, NO_CLOSE_NOTIFY])
        .then(|j| says(j, TRANSFER_FAILED, &["without TLS close_notify"])),
        Case::new(
            "data: no close_notify mid-listing, then 226",
            with(&|s| data(s, close_without_notify("226 Directory send OK."))),
            &[NO_CLOSE_NOTIFY, PATH_OK],
            1,
        )
        .then(|j| says(j, NO_CLOSE_NOTIFY, &["25 bytes", "226"])),
        Case::new(
            "data: another certificate (trusted)",
            with(&|s| {
                let other = pki.leaf(&["127.0.0.1"], -1, 365);
                tls(s).data_config = Some(ftps::config(&other, TlsOptions::default()));
            }),
            &[CERT_CHANGED, PATH_OK],
            1,
        )
        .then(|j| {
            // The two fingerprints tell certificates with the same names apart.
            let control = &server(j)["tls"]["certificate"]["sha256"];
            let data = j.to_string();
            let changed = server(j)["transfers"]
                .as_array()
                .and_then(|t| {
                    t.iter()
                        .find_map(|t| t["tls"]["certificate"]["sha256"].as_str())
                })
                .ok_or("no data certificate recorded")?;
            if control.as_str() == Some(changed) || !data.contains(changed) {
                return Err(format!("fingerprints: control {control}, data {changed}"));
            }
            says(j, CERT_CHANGED, &[changed, "(trusted)"])
        }),
        Case::new(
            "data: another certificate (self-signed)",
            with(&|s| {
                let other = self_signed(&["127.0.0.1"]);
                tls(s).data_config = Some(ftps::config(&other, TlsOptions::default()));
            }),
            &[CERT_CHANGED, DATA_REFUSED],
            2,
        )
        .without(&[PATH_OK])
        .then(|j| says(j, CERT_CHANGED, &["self-signed"])),
    ]
}

fn args_for(case: &Case, server: &Ftp, ca: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "check",
        "--format",
        "json",
        "--timeout",
        TIMEOUT,
        "--deadline",
        "5s",
        "--samples",
        "1",
        "--password-env",
        "HOSTILE_TLS_PW",
        "--ca-file",
        ca,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    if !case.implicit {
        args.extend(["--tls".to_string(), "explicit".to_string()]);
    }
    args.extend(case.args.iter().map(ToString::to_string));
    let scheme = if case.implicit { "ftps" } else { "ftp" };
    args.push(format!("{scheme}://alice@{}/", server.addr()));
    args
}

/// The generic assertions and the row's own; `Err` says what went wrong.
fn judge(case: &Case, o: &Outcome, commands: &[String]) -> Result<Value, String> {
    let mut problems = Vec::new();
    if o.wall > case.max_wall {
        problems.push(format!("took {:?} (bound {:?})", o.wall, case.max_wall));
    }
    if o.stderr.contains("panicked") {
        problems.push(format!("panicked: {}", o.stderr));
    }
    if o.code != Some(case.exit) {
        problems.push(format!("exit {:?}, expected {}", o.code, case.exit));
    }
    if o.stdout.len() > MAX_REPORT {
        problems.push(format!("report of {} bytes", o.stdout.len()));
    }
    if let Some(kib) = o.peak_rss_kib
        && kib > MAX_RSS_KIB
    {
        problems.push(format!("peak RSS {kib} KiB"));
    }
    if String::from_utf8_lossy(&o.stdout).contains(PASSWORD) || o.stderr.contains(PASSWORD) {
        problems.push("the password is in the output".to_string());
    }
    if commands.iter().any(|c| c.starts_with("plain: PASS")) {
        problems.push("the password went to the server in plain text".to_string());
    }
    let json: Value = match serde_json::from_slice(&o.stdout) {
        Ok(j) => j,
        Err(e) => {
            problems.push(format!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&o.stdout[..o.stdout.len().min(500)])
            ));
            return Err(problems.join("; "));
        }
    };
    let codes = codes_of(&json);
    for want in &case.codes {
        if !codes.iter().any(|c| c == want) {
            problems.push(format!("no {want} in {codes:?}"));
        }
    }
    for unwanted in &case.absent {
        if codes.iter().any(|c| c == unwanted) {
            problems.push(format!("unexpected {unwanted} in {codes:?}"));
        }
    }
    if let Some(extra) = case.extra
        && let Err(e) = extra(&json)
    {
        problems.push(e);
    }
    if let Some(wanted) = case.server_check
        && !wanted(commands)
    {
        problems.push(format!(
            "the server's commands: {:?}",
            commands
                .iter()
                .map(|c| if c.contains("PASS") { "PASS ..." } else { c })
                .collect::<Vec<_>>()
        ));
    }
    if problems.is_empty() {
        Ok(json)
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn hostile_tls_servers() {
    let only = std::env::var("HOSTILE_ONLY").ok();
    let verbose = std::env::var_os("HOSTILE_VERBOSE").is_some();
    let pki = Pki::new();
    let mut ca = tempfile::NamedTempFile::new().expect("temp");
    ca.write_all(pki.ca_pem().as_bytes()).expect("write");
    let ca_path = ca.path().to_str().expect("path").to_string();
    let chosen: Vec<Case> = cases(&pki)
        .into_iter()
        .filter(|c| only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
        .collect();
    let total = chosen.len();
    let started = Instant::now();
    let results = parallel(chosen, WORKERS, |case| {
        let server = Ftp::start(case.script.clone());
        let o = run(
            &args_for(&case, &server, &ca_path),
            None,
            &[("HOSTILE_TLS_PW", PASSWORD)],
        );
        let commands = server.commands();
        drop(server);
        let verdict = judge(&case, &o, &commands);
        if verbose {
            println!(
                "== {}\n{}\n{}\n{commands:?}",
                case.name,
                String::from_utf8_lossy(&o.stdout),
                o.stderr
            );
        }
        let line = result_line(case.name, 66, &o, &verdict);
        (verdict.is_ok(), line)
    });
    let mut failed = Vec::new();
    for (ok, line) in &results {
        println!("{line}");
        if !ok {
            failed.push(line.clone());
        }
    }
    println!(
        "{total} TLS behaviours in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failed.is_empty(),
        "{} of {total} TLS behaviours failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

//! The hostile-server suite: `pasv-doctor check` against the library's fake server scripted to
//! misbehave on purpose (`tests/support/hostile.rs`), one behaviour per table row. For every behaviour the run
//! must end within its deadline (plus a margin), exit with the documented code, print a
//! valid JSON report that names the expected finding (and not the wrong ones), never panic,
//! and stay small: the report under [`MAX_REPORT`] bytes, the peak RSS under [`MAX_RSS_KIB`]
//! (GNU time's figure, or sampled from /proc). The behaviours run concurrently, so the suite
//! costs about as long as its slowest rows. Two more tests: a PASV reply naming a third party
//! (never contacted), and a batch in which slowloris targets do not hold back healthy ones.
//! `docs/hostile.md` lists the behaviours with what each gives.
//!
//! `HOSTILE_ONLY=substring cargo test --test hostile -- --nocapture` runs matching rows only;
//! `HOSTILE_VERBOSE=1` also prints each report.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use pasv_doctor::fake::{Act, DataAct, DataPort, Script};
use serde_json::Value;
use support::Ftp;
use support::hostile::{accept, greeting, only, script, serve};
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

struct Case {
    name: String,
    script: Script,
    /// Extra arguments before the target.
    extra: Vec<String>,
    /// Every one of these codes must be in the report.
    codes: Vec<&'static str>,
    /// None of these may be.
    absent: Vec<&'static str>,
    /// At least one of these must be (empty: no such condition).
    one_of: Vec<&'static str>,
    /// (code, words) that finding's remedy and evidence must contain.
    says: Vec<(&'static str, &'static str)>,
    exit: i32,
    max_wall: Duration,
}

impl Case {
    fn new(name: &str, script: Script, codes: &[&'static str], exit: i32) -> Case {
        Case {
            name: name.to_string(),
            script,
            extra: Vec::new(),
            codes: codes.to_vec(),
            absent: Vec::new(),
            one_of: Vec::new(),
            says: Vec::new(),
            exit,
            max_wall: DEADLINE + MARGIN,
        }
    }

    /// The run must end within one step timeout (plus start-up), not at the deadline.
    fn step_bounded(mut self) -> Case {
        self.max_wall = STEP_BOUND;
        self
    }

    fn one_of(mut self, codes: &[&'static str]) -> Case {
        self.one_of.extend_from_slice(codes);
        self
    }

    fn without(mut self, codes: &[&'static str]) -> Case {
        self.absent.extend_from_slice(codes);
        self
    }

    /// The finding's remedy or evidence must say this (the remedy fits the cause).
    fn says(mut self, code: &'static str, words: &'static str) -> Case {
        self.says.push((code, words));
        self
    }
}

fn line(s: &str) -> Act {
    Act::line(s)
}

fn pasv_with(data: DataPort) -> Vec<Act> {
    vec![
        Act::Listen(data),
        line("227 Entering Passive Mode (127,0,0,1,{p1},{p2})."),
    ]
}

fn epsv_with(data: DataPort) -> Vec<Act> {
    vec![
        Act::Listen(data),
        line("229 Entering Extended Passive Mode (|||{port}|)"),
    ]
}

/// Both passive commands open a data listener that behaves as `data` says.
fn data_side(data: DataPort) -> Script {
    serve(vec![
        ("PASV", pasv_with(data.clone())),
        ("EPSV", epsv_with(data)),
    ])
}

/// A data connection that sends without end, up to 256 MiB.
fn forever() -> DataPort {
    accept(vec![DataAct::Flood {
        bytes: b"x".to_vec(),
        cap: 256 * 1024 * 1024,
    }])
}

/// A data connection that sends `chunk` bytes per `every`, longer than any client waits.
fn trickling(chunk: usize, every: Duration) -> DataPort {
    accept(vec![DataAct::Trickle {
        bytes: vec![b'x'; 1024],
        chunk,
        every,
    }])
}

fn slow(text: &str, every_ms: u64) -> Act {
    Act::Trickle {
        bytes: format!("{text}\r\n").into_bytes(),
        chunk: 1,
        every: Duration::from_millis(every_ms),
    }
}

fn many_lines(code: u16, n: usize) -> Act {
    let mut bytes = format!("{code}-Here come {n} lines\r\n").into_bytes();
    for i in 0..n {
        bytes.extend_from_slice(format!(" line {i}\r\n").as_bytes());
    }
    bytes.extend_from_slice(format!("{code} End\r\n").as_bytes());
    Act::Send(bytes)
}

/// A FEAT reply at the reply reader's limits: 1,000 lines of 8 KiB.
fn feat_at_limits() -> Vec<u8> {
    let mut bytes = b"211-Features:\r\n".to_vec();
    for i in 0..998 {
        let mut l = format!(" X-{i:04}-").into_bytes();
        l.resize(8 * 1024, b'x');
        bytes.extend_from_slice(&l);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"211 End\r\n");
    bytes
}

fn endless(start: &str, filler: &str) -> Vec<Act> {
    vec![
        Act::Send(start.as_bytes().to_vec()),
        Act::Flood {
            bytes: filler.as_bytes().to_vec(),
            cap: 64 * 1024 * 1024,
        },
        Act::Silent,
    ]
}

const UNAVAILABLE: &str = "SERVER_UNAVAILABLE";
const INTERRUPTED: &str = "SESSION_INTERRUPTED";
const MALFORMED: &str = "REPLY_MALFORMED";
const NONSTANDARD: &str = "REPLY_NONSTANDARD";
const TRANSFER_FAILED: &str = "DATA_TRANSFER_FAILED";
const PATH_OK: &str = "DATA_PATH_OK";
const LOGIN_FAILED: &str = "LOGIN_FAILED";

fn cases() -> Vec<Case> {
    let ms = Duration::from_millis;
    let mut v = vec![
        // The greeting.
        Case::new("no greeting", only(vec![Act::Silent]), &[UNAVAILABLE], 2)
            .step_bounded()
            .says(UNAVAILABLE, "reverse_lookup_enable"),
        Case::new(
            "close before the greeting",
            only(vec![Act::Close]),
            &[UNAVAILABLE],
            2,
        ),
        // The reset may already be there when connect() returns, or come with the first read.
        Case::new(
            "reset at once before the greeting",
            only(vec![Act::Reset]),
            &[],
            2,
        )
        .one_of(&[UNAVAILABLE, "CONNECT_FAILED"]),
        Case::new(
            "reset before the greeting",
            only(vec![Act::Wait(ms(100)), Act::Reset]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting 421",
            only(vec![line("421 Too many connections."), Act::Close]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting 120 then 220",
            script(
                vec![
                    line("120 Service ready in a moment."),
                    Act::Wait(ms(300)),
                    greeting(),
                ],
                vec![],
            ),
            &[PATH_OK],
            0,
        ),
        Case::new(
            "greeting 120 without end",
            only(vec![Act::Send(b"120 Wait.\r\n".repeat(10)), Act::Silent]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting then silence",
            only(vec![greeting(), Act::Silent]),
            &[INTERRUPTED],
            2,
        )
        .without(&[UNAVAILABLE])
        .says(INTERRUPTED, "Raise --timeout only if")
        .step_bounded(),
        Case::new(
            "greeting one byte per 400 ms (slowloris)",
            only(vec![slow("220 slow but steady FTP server ready.", 400)]),
            &[UNAVAILABLE],
            2,
        )
        .step_bounded(),
        Case::new(
            "greeting one byte per second (slowloris)",
            only(vec![slow("220 slow but steady FTP server ready.", 1000)]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting an endless line",
            only(endless("220 ", "x")),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting of 10,000 lines",
            only(vec![many_lines(220, 10_000), Act::Silent]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting with invalid UTF-8",
            script(
                vec![Act::Send(b"220 caf\xe9 \xff\xfe ready\r\n".to_vec())],
                vec![],
            ),
            &[PATH_OK],
            0,
        ),
        Case::new(
            "greeting with NUL bytes",
            script(vec![Act::Send(b"220 a\0b\0 ready\r\n".to_vec())], vec![]),
            &[PATH_OK],
            0,
        ),
        Case::new(
            "greeting CR without LF, then silence",
            only(vec![Act::Send(b"220 ready\r".to_vec()), Act::Silent]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting CR without LF, then close",
            only(vec![Act::Send(b"220 ready\r".to_vec()), Act::Close]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "greeting code 999 (outside 100-599)",
            only(vec![line("999 What?"), Act::Silent]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting code 099 (outside 100-599)",
            only(vec![line("099 What?"), Act::Silent]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting with a four-digit code",
            only(vec![line("2200 ready"), Act::Silent]),
            &[UNAVAILABLE],
            2,
        ),
        Case::new(
            "greeting that is not FTP (an SSH banner)",
            only(vec![line("SSH-2.0-OpenSSH_9.6"), Act::Silent]),
            &[UNAVAILABLE],
            2,
        )
        .says(UNAVAILABLE, "SFTP"),
        Case::new(
            "greeting closed mid-reply",
            only(vec![
                Act::Send(b"220-Welcome\r\n220-more to c".to_vec()),
                Act::Close,
            ]),
            &[INTERRUPTED],
            2,
        ),
        // Before the login.
        Case::new(
            "FEAT that never ends",
            serve(vec![("FEAT", endless("211-Features:\r\n", " FEATURE\r\n"))]),
            &[INTERRUPTED],
            2,
        )
        .without(&[UNAVAILABLE]),
        Case::new(
            "FEAT reply of 10,000 lines",
            serve(vec![("FEAT", vec![many_lines(211, 10_000)])]),
            &[INTERRUPTED],
            2,
        )
        .without(&[UNAVAILABLE]),
        Case::new(
            "FEAT of 8 MiB (1,000 lines of 8 KiB)",
            serve(vec![("FEAT", vec![Act::Send(feat_at_limits())])]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "FEAT closed with another code",
            serve(vec![(
                "FEAT",
                vec![line("211-Features:\r\n EPSV\r\n PASV\r\n214 End")],
            )]),
            &[PATH_OK],
            0,
        ),
        Case::new(
            "421 after FEAT",
            serve(vec![("FEAT", vec![line("421 Shutting down."), Act::Close])]),
            &[INTERRUPTED],
            2,
        )
        .without(&[UNAVAILABLE]),
        Case::new(
            "SYST answered with a line that is not a reply",
            serve(vec![("SYST", vec![line("hello, world")])]),
            &[INTERRUPTED],
            2,
        ),
        // The login.
        Case::new(
            "530 after USER",
            serve(vec![("USER", vec![line("530 Not allowed.")])]),
            &[LOGIN_FAILED],
            2,
        )
        .says(LOGIN_FAILED, "530 Not allowed."),
        Case::new(
            "421 after USER",
            serve(vec![(
                "USER",
                vec![line("421 Too many users."), Act::Close],
            )]),
            &[INTERRUPTED],
            2,
        )
        .without(&[LOGIN_FAILED]),
        Case::new(
            "332 after PASS",
            serve(vec![("PASS", vec![line("332 Need account for login.")])]),
            &[LOGIN_FAILED],
            2,
        ),
        Case::new(
            "530 after PASS",
            serve(vec![("PASS", vec![line("530 Login incorrect.")])]),
            &[LOGIN_FAILED],
            2,
        ),
        Case::new(
            "421 after PASS",
            serve(vec![("PASS", vec![line("421 Timeout."), Act::Close])]),
            &[INTERRUPTED],
            2,
        )
        .without(&[LOGIN_FAILED]),
        Case::new(
            "close after PASS",
            serve(vec![("PASS", vec![Act::Close])]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "USER answered one byte per 300 ms (slowloris)",
            serve(vec![(
                "USER",
                vec![slow("331 Please specify the password.", 300)],
            )]),
            &[INTERRUPTED],
            2,
        )
        .step_bounded(),
        Case::new(
            "PWD answered with an endless line",
            serve(vec![("PWD", endless("257 \"/", "a"))]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "reset after TYPE",
            serve(vec![("TYPE", vec![Act::Reset])]),
            &[INTERRUPTED],
            2,
        ),
        // Passive mode.
        Case::new(
            "close right after PASV",
            serve(vec![("PASV", vec![Act::Close])]),
            &[INTERRUPTED],
            2,
        )
        .says(INTERRUPTED, "IDS or firewall")
        .says(INTERRUPTED, "answering PASV"),
        Case::new(
            "close right after the 227",
            serve(vec![(
                "PASV",
                [pasv_with(DataPort::default()), vec![Act::Close]].concat(),
            )]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "close in the middle of the 227",
            serve(vec![(
                "PASV",
                vec![Act::Send(b"227 Entering Passive Mo".to_vec()), Act::Close],
            )]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "421 after PASV",
            serve(vec![(
                "PASV",
                vec![line("421 Service closing."), Act::Close],
            )]),
            &[INTERRUPTED],
            2,
        )
        .without(&["PASV_UNSUPPORTED"]),
        Case::new(
            "PASV answered with 229",
            serve(vec![("PASV", epsv_with(DataPort::default()))]),
            &[NONSTANDARD],
            1,
        ),
        Case::new(
            "EPSV answered with 227",
            serve(vec![("EPSV", pasv_with(DataPort::default()))]),
            &[NONSTANDARD],
            1,
        ),
        Case::new(
            "PASV port 0",
            serve(vec![(
                "PASV",
                vec![line("227 Entering Passive Mode (127,0,0,1,0,0).")],
            )]),
            &[MALFORMED],
            2,
        ),
        Case::new(
            "PASV names 0.0.0.0",
            serve(vec![(
                "PASV",
                vec![
                    Act::Listen(DataPort::default()),
                    line("227 Entering Passive Mode (0,0,0,0,{p1},{p2})."),
                ],
            )]),
            &["PASV_ADDRESS_UNSPECIFIED"],
            1,
        ),
        Case::new(
            "PASV answered one byte per 300 ms (slowloris)",
            serve(vec![(
                "PASV",
                vec![
                    Act::Listen(DataPort::default()),
                    slow("227 Entering Passive Mode (127,0,0,1,{p1},{p2}).", 300),
                ],
            )]),
            &[INTERRUPTED],
            2,
        )
        .step_bounded(),
        Case::new(
            "EPSV answered after the step timeout",
            serve(vec![(
                "EPSV",
                [vec![Act::Wait(ms(1500))], epsv_with(DataPort::default())].concat(),
            )]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "227 multi-line reply closed with another code",
            serve(vec![(
                "PASV",
                vec![
                    Act::Listen(DataPort::default()),
                    line("227-Entering Passive Mode (127,0,0,1,{p1},{p2}).\r\n200 End"),
                ],
            )]),
            &["PASV_UNSUPPORTED"],
            2,
        ),
        Case::new(
            "227 with invalid UTF-8",
            serve(vec![(
                "PASV",
                vec![
                    Act::Listen(DataPort::default()),
                    Act::Send(b"227 Entr\xe9e en mode passif (127,0,0,1,".to_vec()),
                    line("{p1},{p2})"),
                ],
            )]),
            &[NONSTANDARD],
            0,
        ),
        Case::new(
            "227 with a NUL byte among the numbers",
            serve(vec![(
                "PASV",
                vec![
                    Act::Listen(DataPort::default()),
                    line("227 Entering Passive Mode (127,0,0,1,\0{p1},{p2})."),
                ],
            )]),
            &[MALFORMED],
            2,
        ),
        Case::new(
            "227 ending in LF without CR",
            serve(vec![(
                "PASV",
                vec![
                    Act::Listen(DataPort::default()),
                    Act::Send(b"227 Entering Passive Mode (127,0,0,1,{p1},{p2}).\n".to_vec()),
                ],
            )]),
            &[NONSTANDARD],
            0,
        ),
        Case::new(
            "PASV answered with code 600",
            serve(vec![("PASV", vec![line("600 Entering Passive Mode")])]),
            &["PASV_UNSUPPORTED"],
            2,
        ),
        // The data connection.
        Case::new(
            "data port refuses",
            data_side(DataPort::Refuse),
            &["DATA_PORT_REFUSED"],
            2,
        ),
        Case::new(
            "data port accepts then resets",
            data_side(accept(vec![DataAct::Reset])),
            &[TRANSFER_FAILED],
            2,
        ),
        Case::new(
            "data connection closed at once (empty listing)",
            data_side(accept(vec![DataAct::Close])),
            &[PATH_OK],
            0,
        ),
        Case::new(
            "data connection accepted, never sends",
            data_side(accept(vec![DataAct::Silent])),
            &[TRANSFER_FAILED],
            2,
        ),
        Case::new(
            "data connection sends forever",
            data_side(forever()),
            &[PATH_OK],
            0,
        ),
        Case::new(
            "data sends forever, 426 once the client stops reading",
            serve(vec![
                ("PASV", pasv_with(forever())),
                ("EPSV", epsv_with(forever())),
                (
                    "LIST",
                    vec![
                        line("150 Here it comes."),
                        Act::Transfer,
                        line("426 Connection closed; transfer aborted."),
                    ],
                ),
            ]),
            &[PATH_OK],
            0,
        )
        .without(&[TRANSFER_FAILED]),
        Case::new(
            "data one byte per second (slowloris)",
            data_side(trickling(1, ms(1000))),
            &[TRANSFER_FAILED],
            2,
        ),
        Case::new(
            "data one byte per 300 ms (slowloris)",
            data_side(trickling(1, ms(300))),
            &[TRANSFER_FAILED],
            2,
        ),
        Case::new(
            "LIST that never ends",
            serve(vec![
                ("PASV", pasv_with(forever())),
                ("EPSV", epsv_with(forever())),
                (
                    "LIST",
                    // The data flows; the control connection never says more.
                    vec![line("150 Here it comes."), Act::Transfer, Act::Silent],
                ),
            ]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "150 without a transfer",
            serve(vec![
                ("PASV", pasv_with(accept(vec![DataAct::Silent]))),
                ("EPSV", epsv_with(accept(vec![DataAct::Silent]))),
                ("LIST", vec![line("150 Here it comes."), Act::Silent]),
            ]),
            &[TRANSFER_FAILED, INTERRUPTED],
            2,
        ),
        Case::new(
            "226 before any data, data never comes",
            serve(vec![
                ("PASV", pasv_with(accept(vec![DataAct::Silent]))),
                ("EPSV", epsv_with(accept(vec![DataAct::Silent]))),
                ("LIST", vec![line("226 Transfer complete.")]),
            ]),
            &[TRANSFER_FAILED],
            2,
        )
        .without(&[PATH_OK]),
        Case::new(
            "150 and 226 at once, data after",
            serve(vec![(
                "LIST",
                vec![
                    line("150 Here it comes.\r\n226 Transfer complete."),
                    Act::Transfer,
                ],
            )]),
            &[PATH_OK],
            0,
        ),
        Case::new(
            "LIST answered 425",
            serve(vec![(
                "LIST",
                vec![line("425 Can't open data connection.")],
            )]),
            &[TRANSFER_FAILED],
            2,
        ),
        Case::new(
            "transfer ends with 426",
            serve(vec![(
                "LIST",
                vec![
                    line("150 Here it comes."),
                    Act::Transfer,
                    line("426 Connection closed; transfer aborted."),
                ],
            )]),
            &[TRANSFER_FAILED],
            2,
        ),
        Case::new(
            "421 during the transfer",
            serve(vec![(
                "LIST",
                vec![
                    line("150 Here it comes."),
                    Act::Transfer,
                    line("421 Service closing."),
                    Act::Close,
                ],
            )]),
            &[TRANSFER_FAILED, INTERRUPTED],
            2,
        ),
        Case::new(
            "421 in answer to LIST",
            serve(vec![(
                "LIST",
                vec![line("421 Service closing."), Act::Close],
            )]),
            &[INTERRUPTED],
            2,
        ),
        Case::new(
            "close after 150",
            serve(vec![("LIST", vec![line("150 Here it comes."), Act::Close])]),
            &[INTERRUPTED],
            2,
        ),
    ];
    v.extend(fixture_cases());
    v
}

/// One behaviour per passive reply of `fixtures/replies/passive.jsonl` that must not decode,
/// sent to the command it answers.
fn fixture_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/replies/passive.jsonl"
    ))
    .expect("fixture file");
    let mut out = Vec::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Value = serde_json::from_str(l).expect("fixture line");
        let Some(error) = f["expect"]["error"].as_str() else {
            continue;
        };
        let reply = f["reply"].as_str().expect("reply");
        let source = f["source"].as_str().unwrap_or_default();
        let epsv = f["expect"]["kind"] == "epsv" || source.contains("EPSV");
        let verb = if epsv { "EPSV" } else { "PASV" };
        let (code, exit) = match (error, epsv) {
            ("not_passive", true) => ("EPSV_UNSUPPORTED", 0),
            ("not_passive", false) => ("PASV_UNSUPPORTED", 2),
            _ => (MALFORMED, 2),
        };
        out.push(Case::new(
            &format!("fixture {verb} -> {reply} ({error})"),
            serve(vec![(verb, vec![line(reply)])]),
            &[code],
            exit,
        ));
    }
    assert!(out.len() >= 10, "fixture cases: {}", out.len());
    out
}

fn check_args(extra: &[String], target: &str) -> Vec<String> {
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
        "--tls",
        "off",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    args.extend(extra.iter().cloned());
    args.push(target.to_string());
    args
}

/// The generic assertions; `Err` says what went wrong.
fn judge(case: &Case, o: &Outcome) -> Result<Value, String> {
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
    if !case.one_of.is_empty() && !case.one_of.iter().any(|w| codes.iter().any(|c| c == w)) {
        problems.push(format!("none of {:?} in {codes:?}", case.one_of));
    }
    if case.codes.is_empty() && case.one_of.is_empty() {
        problems.push("the case names no finding".to_string());
    }
    for unwanted in &case.absent {
        if codes.iter().any(|c| c == unwanted) {
            problems.push(format!("unexpected {unwanted} in {codes:?}"));
        }
    }
    for (code, words) in &case.says {
        let text = json["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["code"] == *code)
            .map(|f| format!("{} {}", f["remedy"], f["evidence"]))
            .collect::<String>();
        if !text.contains(words) {
            problems.push(format!("{code} does not say {words:?}: {text}"));
        }
    }
    if problems.is_empty() {
        Ok(json)
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn hostile_servers() {
    let only = std::env::var("HOSTILE_ONLY").ok();
    let verbose = std::env::var_os("HOSTILE_VERBOSE").is_some();
    let all = cases();
    assert!(all.len() >= 40, "only {} behaviours", all.len());
    let chosen: Vec<Case> = all
        .into_iter()
        .filter(|c| only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
        .collect();
    let total = chosen.len();
    let started = Instant::now();
    let results = parallel(chosen, WORKERS, |case| {
        let server = Ftp::start(case.script.clone());
        let o = run(&check_args(&case.extra, &server.target()), None, &[]);
        drop(server);
        let verdict = judge(&case, &o);
        if verbose {
            println!(
                "== {}\n{}\n{}",
                case.name,
                String::from_utf8_lossy(&o.stdout),
                o.stderr
            );
        }
        let line = result_line(&case.name, 60, &o, &verdict);
        (
            verdict.is_ok(),
            line,
            o.wall,
            o.peak_rss_kib,
            o.stdout.len(),
        )
    });
    let mut failed = Vec::new();
    for (ok, line, _, _, _) in &results {
        println!("{line}");
        if !ok {
            failed.push(line.clone());
        }
    }
    let slowest = results.iter().map(|r| r.2).max().unwrap_or_default();
    let peak = results.iter().filter_map(|r| r.3).max();
    let biggest = results.iter().map(|r| r.4).max().unwrap_or_default();
    println!(
        "{total} behaviours in {:.1} s; slowest {:.2} s; highest peak RSS {peak:?} KiB; \
         largest report {biggest} B",
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64(),
    );
    assert!(
        failed.is_empty(),
        "{} of {total} behaviours failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn pasv_naming_a_third_party_address_is_not_contacted() {
    // 127.0.0.2 stands in for a third party the PASV reply points at.
    let third = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    third.set_nonblocking(true).expect("nonblocking");
    let port = third.local_addr().expect("addr").port();
    let reply = format!(
        "227 Entering Passive Mode (127,0,0,2,{},{}).",
        port >> 8,
        port & 0xff
    );
    let server = Ftp::start(serve(vec![(
        "PASV",
        vec![Act::Listen(DataPort::default()), line(&reply)],
    )]));
    let o = run(&check_args(&[], &server.target()), None, &[]);
    // Not contacted, so not tested: a warning that says so, not a critical.
    let case = Case::new("third party", serve(vec![]), &["PASV_ADDRESS_MISMATCH"], 1);
    let json = judge(&case, &o).unwrap_or_else(|e| panic!("{e}"));
    let mut accepted = 0;
    while third.accept().is_ok() {
        accepted += 1;
    }
    assert_eq!(accepted, 0, "the tool connected to 127.0.0.2");
    assert!(
        json.to_string().contains("not contacted"),
        "{}",
        codes_of(&json).join(", ")
    );
}

#[test]
fn batch_slowloris_targets_do_not_hold_back_healthy_ones() {
    let healthy: Vec<Ftp> = (0..2).map(|_| Ftp::start(serve(vec![]))).collect();
    let slow = [
        Ftp::start(only(vec![slow(
            "220 slow but steady FTP server ready.",
            400,
        )])),
        Ftp::start(serve(vec![(
            "USER",
            vec![slow("331 Please specify the password.", 300)],
        )])),
        Ftp::start(data_side(trickling(1, Duration::from_millis(300)))),
    ];
    let mut file = String::new();
    for s in slow.iter().chain(&healthy) {
        file.push_str(&format!("{}\n", s.target()));
    }
    let args: Vec<String> = [
        "batch",
        "--samples",
        "1",
        "--timeout",
        TIMEOUT,
        "--deadline",
        "5s",
        "--tls",
        "off",
        "-j",
        "8",
        "-",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let o = run(&args, Some(&file), &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    assert!(o.wall < DEADLINE + MARGIN, "took {:?}", o.wall);
    let reports: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON report"))
        .collect();
    assert_eq!(reports.len(), 5, "{stdout}");
    // The healthy targets finish first, whatever the slow ones do.
    for r in &reports[..2] {
        assert_eq!(r["verdict"], "ok", "{}", r["summary"]);
    }
    for r in &reports[2..] {
        assert_eq!(r["verdict"], "critical", "{}", r["summary"]);
    }
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    if let Some(kib) = o.peak_rss_kib {
        assert!(kib < MAX_RSS_KIB, "peak RSS {kib} KiB");
    }
}

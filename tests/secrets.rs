//! The password never shows: every output format (with and without `--transcript`) and every
//! failure path (login refused, hang-up after PASS, deadline, a server that echoes the
//! password back, bad flags), with a known password given through `--password-env` and
//! through `--password-stdin`. Stdout and stderr are searched for the password as text and
//! in hex (the transcript shows non-UTF-8 lines in hex).

mod support;

use std::time::Duration;

use pasv_doctor::fake::{Act, DataPort, Script};
use support::hostile::serve;
use support::run::{parallel, run};
use support::{Ftp, bin};

/// Letters and digits only, so it reads the same in JSON, Markdown and tables.
const SECRET: &str = "Zq8hostilePa55word7f3";
const VAR: &str = "PASV_DOCTOR_SECRET_TEST";

/// Every `--format` value the binary offers (from `check --help`), at least these three.
fn formats() -> Vec<String> {
    let out = bin().args(["check", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    let mut formats: Vec<String> = Vec::new();
    let mut in_format = false;
    for line in help.lines() {
        let t = line.trim_start();
        if t.starts_with("--format") {
            in_format = true;
            continue;
        }
        if in_format && (t.starts_with("--") || t.starts_with("-h")) {
            break;
        }
        if in_format
            && let Some(rest) = t.strip_prefix("- ")
            && let Some((name, _)) = rest.split_once(':')
        {
            formats.push(name.trim().to_string());
        }
        if in_format && let Some(list) = t.strip_prefix("[possible values: ") {
            formats.extend(
                list.trim_end_matches(']')
                    .split(',')
                    .map(|f| f.trim().to_string()),
            );
        }
    }
    for needed in ["table", "json", "markdown"] {
        assert!(
            formats.iter().any(|f| f == needed),
            "--format {needed} missing from the help: {formats:?}"
        );
    }
    formats
}

fn serve_with(verb: &'static str, acts: Vec<Act>) -> Script {
    serve(vec![(verb, acts)])
}

/// A server scenario and the flags it needs.
struct Scenario {
    name: &'static str,
    script: Script,
    extra: &'static [&'static str],
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "login works",
            script: serve(vec![]),
            extra: &[],
        },
        Scenario {
            name: "login refused",
            script: serve_with("PASS", vec![Act::line("530 Login incorrect.")]),
            extra: &[],
        },
        Scenario {
            name: "hang-up after PASS",
            script: serve_with("PASS", vec![Act::Close]),
            extra: &[],
        },
        Scenario {
            name: "deadline during the login",
            script: serve_with("PASS", vec![Act::Silent]),
            extra: &["--timeout", "5s", "--deadline", "1s"],
        },
        Scenario {
            name: "server echoes the password in a refusal",
            script: serve_with(
                "PASS",
                vec![Act::line(
                    "530 Login incorrect: '{arg}' is not the password.",
                )],
            ),
            extra: &[],
        },
        Scenario {
            name: "server echoes the password in a welcome",
            script: serve_with(
                "PASS",
                vec![Act::line(
                    "230-Your password {arg} expires soon.\r\n230 Welcome.",
                )],
            ),
            extra: &[],
        },
        Scenario {
            name: "server echoes the password in a line that is not a reply",
            script: serve_with("PASS", vec![Act::line("what is {arg}?")]),
            extra: &[],
        },
        Scenario {
            name: "server echoes the password in PASV, EPSV and transfer replies",
            script: serve(vec![
                (
                    "PASV",
                    vec![
                        Act::Listen(DataPort::default()),
                        Act::line("227 Entering Passive Mode (127,0,0,1,{p1},{p2}) {pass}"),
                    ],
                ),
                ("EPSV", vec![Act::line("500 {pass}? No.")]),
                (
                    "LIST",
                    vec![
                        Act::line("150 Here it comes, {pass}."),
                        Act::Transfer,
                        Act::line("226 Done, {pass}."),
                    ],
                ),
            ]),
            extra: &[],
        },
        Scenario {
            name: "server echoes the password, not UTF-8, then closes",
            script: serve_with(
                "PASS",
                vec![
                    Act::Send(b"421 \xff\xfe {arg} \xe9\r\n".to_vec()),
                    Act::Close,
                ],
            ),
            extra: &[],
        },
    ]
}

#[derive(Clone, Copy, Debug)]
enum Source {
    Env,
    Stdin,
}

struct Run {
    label: String,
    args: Vec<String>,
    stdin: Option<String>,
    env: bool,
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Where the secret shows in `text`, if anywhere.
fn leak(text: &str) -> Option<&'static str> {
    if text.contains(SECRET) {
        Some("as text")
    } else if text.to_ascii_lowercase().contains(&hex(SECRET)) {
        Some("in hex")
    } else {
        None
    }
}

fn password_args(source: Source) -> (Vec<String>, Option<String>, bool) {
    match source {
        Source::Env => (
            vec!["--password-env".to_string(), VAR.to_string()],
            None,
            true,
        ),
        Source::Stdin => (
            vec!["--password-stdin".to_string()],
            Some(format!("{SECRET}\n")),
            false,
        ),
    }
}

fn check_runs(target: &str, scenario: &Scenario, formats: &[String]) -> Vec<Run> {
    let mut runs = Vec::new();
    for source in [Source::Env, Source::Stdin] {
        for format in formats {
            for transcript in [false, true] {
                let (mut args, stdin, env) = password_args(source);
                args.splice(
                    0..0,
                    [
                        "check",
                        "--format",
                        format,
                        "--timeout",
                        "1s",
                        "--deadline",
                        "5s",
                        "--samples",
                        "1",
                        "--color",
                        "always",
                    ]
                    .map(str::to_string),
                );
                args.extend(scenario.extra.iter().map(|a| a.to_string()));
                if transcript {
                    args.push("--transcript".to_string());
                }
                args.push(target.to_string());
                runs.push(Run {
                    label: format!(
                        "{} / {source:?} / {format}{}",
                        scenario.name,
                        if transcript { " --transcript" } else { "" }
                    ),
                    args,
                    stdin,
                    env,
                });
            }
        }
    }
    runs
}

/// Runs `run` with the secret in the environment or on stdin; `Err` describes a leak or an
/// undocumented exit.
fn judge(r: &Run) -> Result<(), String> {
    let env: &[(&str, &str)] = if r.env { &[(VAR, SECRET)] } else { &[] };
    let o = run(&r.args, r.stdin.as_deref(), env);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let mut problems = Vec::new();
    if let Some(how) = leak(&stdout) {
        problems.push(format!("password on stdout {how}"));
    }
    if let Some(how) = leak(&o.stderr) {
        problems.push(format!("password on stderr {how}"));
    }
    if o.stderr.contains("panicked") {
        problems.push(format!("panicked: {}", o.stderr));
    }
    if !matches!(o.code, Some(0..=3)) {
        problems.push(format!("exit {:?}", o.code));
    }
    if o.wall > Duration::from_secs(8) {
        problems.push(format!("took {:?}", o.wall));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", r.label, problems.join("; ")))
    }
}

#[test]
fn the_password_never_shows() {
    let formats = formats();
    let mut servers = Vec::new();
    let mut runs = Vec::new();
    for scenario in scenarios() {
        let server = Ftp::start(scenario.script.clone());
        runs.extend(check_runs(&server.url("alice"), &scenario, &formats));
        servers.push(server);
    }
    // Bad usage, with the password given the same ways.
    for source in [Source::Env, Source::Stdin] {
        for bad in [
            &["check", "--samples", "0", "127.0.0.1:21"][..],
            &["check", "--timeout", "soon", "127.0.0.1:21"],
            &["check", "--format", "nonsense", "127.0.0.1:21"],
            &["check", "--bogus-flag", "127.0.0.1:21"],
            &["check", "ftp://alice@127.0.0.1:99999/"],
            &["check"],
        ] {
            let (mut args, stdin, env) = password_args(source);
            args.splice(0..0, bad.iter().map(|a| a.to_string()));
            runs.push(Run {
                label: format!("bad usage {bad:?} / {source:?}"),
                args,
                stdin,
                env,
            });
        }
    }
    let total = runs.len();
    let failures: Vec<String> = parallel(runs, 12, |r| judge(&r))
        .into_iter()
        .filter_map(Result::err)
        .collect();
    drop(servers);
    assert!(
        failures.is_empty(),
        "{} of {total} runs leaked or failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! Per-target settings end to end: every setting a batch line can give is shown to take
//! effect in that target's JSON report (and no other's), against in-process servers on
//! 127.0.0.1; the config file's modules work for `check --config F --module M` and
//! `batch --config F`; the layers win in their documented order; and bad files, unknown
//! modules and inline passwords are refused with exit 3 and a message that names the
//! problem (never the password).

mod support;

use std::collections::HashMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use pasv_doctor::fake::{Act, Login, Script};
use serde_json::Value;
use support::ftps::{self, Pki, tls};
use support::{Ftp, bin};

const SECRET: &str = "c0nfig-Secret-pw";

/// A plain server where alice logs in with SECRET only.
fn plain(configure: impl FnOnce(&mut Script)) -> Ftp {
    let mut script = Script {
        login: Login::user("alice", SECRET),
        ..Script::default()
    };
    configure(&mut script);
    Ftp::start(script)
}

/// A finished batch run: every report by its TARGET as written, and stderr.
struct Batch {
    code: i32,
    reports: HashMap<String, Value>,
    stderr: String,
}

impl Batch {
    fn get(&self, input: &str) -> &Value {
        self.reports
            .get(input)
            .unwrap_or_else(|| panic!("no report for {input}; stderr: {}", self.stderr))
    }
}

/// Runs `batch` over `lines` (stdin) with `args`, SECRET in PW_VAR.
fn batch(lines: &str, args: &[&str]) -> Batch {
    let out = bin()
        .env("PW_VAR", SECRET)
        .arg("batch")
        .args(args)
        .arg("-")
        .write_stdin(lines.to_string())
        .output()
        .expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "password leaked"
    );
    let reports = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("each line is a JSON report");
            let input = v["transcript"]["target"]["input"]
                .as_str()
                .expect("input")
                .to_string();
            (input, v)
        })
        .collect();
    Batch {
        code: out.status.code().unwrap_or(-1),
        reports,
        stderr,
    }
}

fn server0(r: &Value) -> &Value {
    &r["transcript"]["servers"][0]
}

fn sent(r: &Value) -> Vec<String> {
    server0(r)["lines"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|l| l["dir"] == "sent")
                .filter_map(|l| l["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn codes(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn temp_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp");
    f.write_all(text.as_bytes()).expect("write");
    f
}

#[test]
fn batch_user_and_password_sources_per_target() {
    let ftp = plain(|_| {});
    let a = ftp.addr();
    let pw = temp_file(&format!("{SECRET}\n"));
    let pw = pw.path().display();
    let r = batch(
        &format!(
            "ftp://{a}/ user=alice password-env=PW_VAR\n\
             {a} user=alice password-file={pw}\n\
             ftp://alice@{a} password_file={pw}\n\
             ftp://alice@{a}/\n"
        ),
        &["--samples", "1"],
    );
    for input in [
        format!("ftp://{a}/"),
        a.to_string(),
        format!("ftp://alice@{a}"),
    ] {
        let login = &server0(r.get(&input))["login"];
        assert_eq!(login["user"], "alice", "{input}: {login}");
        assert_eq!(login["outcome"], "logged_in", "{input}: {login}");
        assert_eq!(r.get(&input)["transcript"]["target"]["user"], "alice");
    }
    // No password source on that line: the login fails, so the others' did the work.
    let none = r.get(&format!("ftp://alice@{a}/"));
    assert_ne!(server0(none)["login"]["outcome"], "logged_in");
    assert!(codes(none).contains(&"LOGIN_FAILED".to_string()));
}

#[test]
fn batch_tls_off_sends_no_auth_and_auto_does() {
    let pki = Pki::new();
    let ca = temp_file(&pki.ca_pem());
    let server = Ftp::start(ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365)));
    let a = server.addr();
    let r = batch(
        &format!(
            "ftp://off@{a}/ tls=off\nftp://auto@{a}/ ca-file={}\n",
            ca.path().display()
        ),
        &["--samples", "1"],
    );
    let off = r.get(&format!("ftp://off@{a}/"));
    assert_eq!(off["transcript"]["settings"]["tls"], "off");
    assert!(
        !sent(off).iter().any(|l| l.starts_with("AUTH")),
        "{:?}",
        sent(off)
    );
    assert!(server0(off)["tls"].is_null());
    let auto = r.get(&format!("ftp://auto@{a}/"));
    assert_eq!(auto["transcript"]["settings"]["tls"], "auto");
    assert!(
        sent(auto).iter().any(|l| l == "AUTH TLS"),
        "{:?}",
        sent(auto)
    );
    // The server saw exactly one AUTH: the auto line's.
    let auths = server
        .commands()
        .iter()
        .filter(|c| c.contains("AUTH"))
        .count();
    assert_eq!(auths, 1, "{:?}", server.commands());
}

#[test]
fn batch_tls_implicit_ca_file_and_insecure_per_target() {
    let pki = Pki::new();
    let ca = temp_file(&pki.ca_pem());
    let ca = ca.path().display().to_string();
    let explicit = Ftp::start(ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365)));
    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365));
    tls(&mut script).implicit = true;
    let implicit = Ftp::start(script);
    let (e, i) = (explicit.addr(), implicit.addr());
    let pw = "password-env=PW_VAR";
    let r = batch(
        &format!(
            "ftp://trusted@{e}/ tls=explicit ca-file={ca} {pw}\n\
             ftp://untrusted@{e}/ tls=explicit {pw}\n\
             ftp://insecure@{e}/ tls=explicit insecure=true {pw}\n\
             ftp://implicit@{i}/ tls=implicit ca-file={ca} {pw}\n"
        ),
        &["--samples", "1", "--timeout", "2s"],
    );
    let trusted = r.get(&format!("ftp://trusted@{e}/"));
    assert_eq!(server0(trusted)["tls"]["verdict"]["verdict"], "trusted");
    assert_eq!(trusted["verdict"], "ok", "{:?}", codes(trusted));
    // Without the CA file the same certificate is not trusted, and the check stops there.
    let untrusted = r.get(&format!("ftp://untrusted@{e}/"));
    assert!(codes(untrusted).contains(&"TLS_CERT_UNTRUSTED".to_string()));
    assert_eq!(server0(untrusted)["tls"]["insecure"], false);
    assert!(server0(untrusted)["login"].is_null());
    // insecure=true: untrusted, reported, and the check goes on to log in.
    let insecure = r.get(&format!("ftp://insecure@{e}/"));
    assert_eq!(server0(insecure)["tls"]["insecure"], true);
    assert!(codes(insecure).contains(&"TLS_CERT_UNTRUSTED".to_string()));
    assert_eq!(server0(insecure)["login"]["outcome"], "logged_in");
    // tls=implicit on an ftp:// target: TLS from the first byte, and it works.
    let imp = r.get(&format!("ftp://implicit@{i}/"));
    assert_eq!(imp["transcript"]["settings"]["tls"], "implicit");
    assert_eq!(server0(imp)["tls"]["mode"], "implicit");
    assert_eq!(imp["verdict"], "ok", "{:?}", codes(imp));
    assert_eq!(r.code, 2, "the untrusted line is critical: {}", r.stderr);
}

#[test]
fn batch_samples_transfers_and_expectations_per_target() {
    let ftp = plain(|_| {});
    let a = ftp.addr();
    let auth = "user=alice password-env=PW_VAR";
    let r = batch(
        &format!(
            "ftp://{a}/one {auth} samples=1 transfers=1\n\
             ftp://{a}/three {auth} samples=3\n\
             ftp://{a}/range {auth} samples=1 expect-range=1-1023\n\
             ftp://{a}/address {auth} samples=1 expect-address=127.0.0.9\n"
        ),
        &[],
    );
    let one = r.get(&format!("ftp://{a}/one"));
    assert_eq!(one["transcript"]["settings"]["samples"], 1);
    // PASV and EPSV once each, and one real listing.
    assert_eq!(server0(one)["samples"].as_array().map(Vec::len), Some(2));
    assert_eq!(server0(one)["transfers"].as_array().map(Vec::len), Some(1));
    let three = r.get(&format!("ftp://{a}/three"));
    assert_eq!(server0(three)["samples"].as_array().map(Vec::len), Some(6));
    assert_eq!(
        server0(three)["transfers"].as_array().map(Vec::len),
        Some(2)
    );
    let range = r.get(&format!("ftp://{a}/range"));
    assert_eq!(
        range["transcript"]["settings"]["expect_range"],
        serde_json::json!([1, 1023])
    );
    assert!(codes(range).contains(&"PASV_PORT_OUT_OF_RANGE".to_string()));
    assert!(!codes(one).contains(&"PASV_PORT_OUT_OF_RANGE".to_string()));
    let address = r.get(&format!("ftp://{a}/address"));
    assert_eq!(
        address["transcript"]["settings"]["expect_address"],
        "127.0.0.9"
    );
    assert!(codes(address).contains(&"PASV_ADDRESS_UNEXPECTED".to_string()));
    assert!(!codes(one).contains(&"PASV_ADDRESS_UNEXPECTED".to_string()));
}

#[test]
fn batch_timeout_and_deadline_per_target() {
    // Answers the greeting, then never finishes its reply to the first command.
    let hanging = plain(|s| {
        s.on("AUTH", vec![Act::line("500-Wait for it")]);
    });
    let a = hanging.addr();
    let started = Instant::now();
    // No flags: the built-in 5 s step and 60 s deadline hold where a line names none.
    let r = batch(
        &format!("ftp://step@{a}/ timeout=300ms\nftp://whole@{a}/ deadline=1s\n"),
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let step = r.get(&format!("ftp://step@{a}/"));
    assert_eq!(step["transcript"]["settings"]["timeout_us"], 300_000);
    let end = server0(step)["end"]["end"].as_str().unwrap_or_default();
    assert_eq!(end, "timed_out", "{}", server0(step)["end"]);
    let whole = r.get(&format!("ftp://whole@{a}/"));
    assert_eq!(whole["transcript"]["settings"]["deadline_us"], 1_000_000);
    assert_eq!(whole["transcript"]["deadline_hit"], true);
    assert_eq!(server0(whole)["end"]["end"], "deadline");
}

#[test]
fn layers_apply_in_order_and_flags_win() {
    let ftp = plain(|_| {});
    let a = ftp.addr();
    let config = temp_file(
        "[defaults]\nsamples = 2\ntransfers = 1\n\n[modules.alice]\nuser = \"alice\"\n\
         password_env = \"PW_VAR\"\nsamples = 3\n",
    );
    let path = config.path().to_str().expect("path");
    let r = batch(
        &format!(
            "ftp://{a}/defaults password-env=PW_VAR user=alice\n\
             ftp://{a}/module module=alice\n\
             ftp://{a}/line module=alice samples=1\n"
        ),
        &["--config", path],
    );
    let samples = |input: &str| {
        r.get(&format!("ftp://{a}/{input}"))["transcript"]["settings"]["samples"].clone()
    };
    assert_eq!(samples("defaults"), 2);
    assert_eq!(samples("module"), 3);
    assert_eq!(samples("line"), 1);
    let m = r.get(&format!("ftp://{a}/module"));
    assert_eq!(server0(m)["login"]["outcome"], "logged_in");
    assert_eq!(server0(m)["transfers"].as_array().map(Vec::len), Some(1));
    // A flag applies to every target and wins over the line.
    let r = batch(
        &format!("ftp://{a}/line module=alice samples=1\n"),
        &["--config", path, "--samples", "4"],
    );
    assert_eq!(
        r.get(&format!("ftp://{a}/line"))["transcript"]["settings"]["samples"],
        4
    );
}

/// `check --config F --module M`: the module's user, password source and settings, the
/// file's defaults beneath, the flags above.
#[test]
fn check_with_a_config_file_and_a_module() {
    let ftp = plain(|_| {});
    let config = temp_file(
        "# a monitoring setup\n[defaults]\ntimeout = \"2s\"\n\n[modules.anon]\nuser = \"anonymous\"\n\n\
         [modules.customer]\nuser = \"alice\"\npassword_env = \"CFG_TEST_PW\"\ntls = \"off\"\n\
         samples = 1\ntransfers = 1\nexpect_range = \"1-1023\"\n\n[serve]\nlisten = \"127.0.0.1:0\"\n",
    );
    let path = config.path().to_str().expect("path");
    let run = |extra: &[&str]| {
        let out = bin()
            .env("CFG_TEST_PW", SECRET)
            .args(["check", "--format", "json", "--config", path])
            .args(extra)
            .arg(ftp.addr().to_string())
            .output()
            .expect("runs");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
        let json: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
        (out.status.code(), json)
    };
    let (_, r) = run(&["--module", "customer"]);
    let settings = &r["transcript"]["settings"];
    assert_eq!(settings["timeout_us"], 2_000_000, "the file's defaults");
    assert_eq!(settings["samples"], 1);
    assert_eq!(settings["tls"], "off");
    assert_eq!(settings["expect_range"], serde_json::json!([1, 1023]));
    assert_eq!(server0(&r)["login"]["outcome"], "logged_in");
    assert_eq!(server0(&r)["transfers"].as_array().map(Vec::len), Some(1));
    assert!(!sent(&r).iter().any(|l| l.starts_with("AUTH")));
    assert!(codes(&r).contains(&"PASV_PORT_OUT_OF_RANGE".to_string()));
    // Flags win over the module.
    let (_, r) = run(&["--module", "customer", "--samples", "2", "--timeout", "3s"]);
    assert_eq!(r["transcript"]["settings"]["samples"], 2);
    assert_eq!(r["transcript"]["settings"]["timeout_us"], 3_000_000);
}

#[test]
fn config_errors_exit_3_with_clear_messages() {
    let good =
        temp_file("[modules.anon]\nuser = \"anonymous\"\n[modules.customer]\nuser = \"m\"\n");
    let good = good.path().to_str().expect("path").to_string();
    let unknown_key = temp_file("[defaults]\ntimeout = \"5s\"\ncolour = \"blue\"\n");
    let bad_value = temp_file("[modules.m]\n\nsamples = 0\n");
    let inline = temp_file(&format!("[modules.m]\npassword = \"{SECRET}\"\n"));
    let path = |f: &tempfile::NamedTempFile| f.path().to_str().expect("path").to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--config".into(), "/nonexistent/pasv-doctor.toml".into()],
            "cannot read the config file",
        ),
        (
            vec![
                "--config".into(),
                good.clone(),
                "--module".into(),
                "nope".into(),
            ],
            "known: anon, customer",
        ),
        (
            vec!["--config".into(), path(&unknown_key)],
            "line 3: unknown field `colour`",
        ),
        (
            vec!["--config".into(), path(&bad_value)],
            "line 3: \"0\" is not a number from 1 to 50",
        ),
        (
            vec!["--config".into(), path(&inline)],
            "line 2: passwords do not belong in a file",
        ),
        (vec!["--module".into(), "anon".into()], "--config"),
    ];
    for (args, message) in cases {
        for command in ["check", "batch"] {
            let mut cmd = bin();
            cmd.arg(command).args(&args);
            if command == "batch" {
                cmd.arg("-").write_stdin("127.0.0.1:1\n");
            } else {
                cmd.arg("127.0.0.1:1");
            }
            let out = cmd.output().expect("runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{command} {args:?}: {stderr}");
            assert!(stderr.contains(message), "{command} {args:?}: {stderr}");
            assert!(!stderr.contains(SECRET), "{stderr}");
        }
    }
}

#[test]
fn batch_lines_refuse_inline_passwords_and_unknown_modules() {
    let config = temp_file("[modules.anon]\nuser = \"anonymous\"\n");
    let path = config.path().to_str().expect("path");
    let r = batch(
        &format!(
            "127.0.0.1:1 password={SECRET}\n127.0.0.1:2 module=nope\n127.0.0.1:3 password-env=PASV_TEST_NO_SUCH_VAR\n"
        ),
        &["--config", path],
    );
    assert!(
        r.stderr
            .contains("line 1: passwords do not belong in a file"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("line 2: no module \"nope\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("known: anon"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("line 3: the password variable PASV_TEST_NO_SUCH_VAR is not set"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("no target to check"), "{}", r.stderr);
    assert_eq!(r.code, 3);
}

/// The example file in `examples/` and the one in docs/config.md are valid.
#[test]
fn the_example_files_parse() {
    use pasv_doctor::config::ConfigFile;
    let dir = env!("CARGO_MANIFEST_DIR");
    let example = std::path::Path::new(dir).join("examples/pasv-doctor.toml");
    let file = ConfigFile::load(&example).expect("examples/pasv-doctor.toml");
    let names: Vec<&str> = file.modules.keys().map(String::as_str).collect();
    assert_eq!(names, ["anon", "customer", "internal", "quick"]);
    let doc = std::fs::read_to_string(format!("{dir}/docs/config.md")).expect("docs");
    let toml = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let file = ConfigFile::parse(toml, std::path::Path::new("c.toml")).expect("docs example");
    assert!(file.module("customer").is_ok());
    // serve.md's config, with its [serve] table.
    let doc = std::fs::read_to_string(format!("{dir}/docs/serve.md")).expect("docs");
    let toml = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let file = ConfigFile::parse(toml, std::path::Path::new("/etc/pasv-doctor/c.toml"))
        .expect("serve.md example");
    assert!(file.serve.allow_targets.name_matches("ftp.example.net"));
    assert_eq!(file.serve.max_concurrent, Some(64));
    let example = ConfigFile::load(&example).expect("example");
    assert!(example.serve.listen.is_some());
}

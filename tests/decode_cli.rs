//! `pasv-doctor decode` run as a user runs it: every fixture in `fixtures/replies`, stdin
//! pastes, bad input and usage errors, with their exit codes.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn bin() -> Command {
    Command::cargo_bin("pasv-doctor").expect("binary built")
}

fn fixtures() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/replies/passive.jsonl"
    ))
    .expect("fixture file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

#[test]
fn every_fixture_decodes_as_expected() {
    let all = fixtures();
    assert!(all.len() >= 90, "fixture table shrank: {}", all.len());
    for fx in all {
        let reply = fx["reply"].as_str().expect("reply");
        let expect = &fx["expect"];
        let out = bin()
            .args(["decode", "--format", "json", reply])
            .output()
            .expect("runs");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let got: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{reply:?}: not JSON ({e}): {stdout}"));
        if let Some(kind) = expect.get("kind") {
            assert_eq!(&got["kind"], kind, "{reply:?}");
        }
        if let Some(reason) = expect.get("error") {
            assert_eq!(out.status.code(), Some(2), "{reply:?}");
            assert_eq!(&got["error"]["reason_code"], reason, "{reply:?}: {got}");
            assert!(
                got["error"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.len() > 10),
                "{reply:?}: reason must explain: {got}"
            );
            if let Some(pos) = expect.get("position") {
                assert_eq!(&got["error"]["position"], pos, "{reply:?}");
            }
            if let Some(want) = expect.get("reason_contains").and_then(Value::as_str) {
                let reason = got["error"]["reason"].as_str().unwrap_or_default();
                assert!(reason.contains(want), "{reply:?}: {reason}");
            }
            if got["kind"] == "lpsv" {
                let reason = got["error"]["reason"].as_str().unwrap_or_default();
                assert!(!reason.contains("227"), "an LPSV error names 228: {reason}");
            }
            continue;
        }
        assert_eq!(
            got["verdict"]["code"], expect["verdict"],
            "{reply:?}: {}",
            got["verdict"]
        );
        assert!(
            got["verdict"]["summary"]
                .as_str()
                .is_some_and(|s| s.len() > 40),
            "{reply:?}: the verdict must say what the address means"
        );
        if let Some(shape) = expect.get("shape").and_then(Value::as_object) {
            for (key, want) in shape {
                assert_eq!(&got["shape"][key], want, "{reply:?}: shape.{key}");
            }
        }
        assert_eq!(out.status.code(), Some(0), "{reply:?}: {got}");
        assert_eq!(got["port"], expect["port"], "{reply:?}");
        assert_eq!(got["class"], expect["class"], "{reply:?}");
        match expect.get("address") {
            Some(addr) => assert_eq!(&got["address"], addr, "{reply:?}"),
            None => assert!(got.get("address").is_none(), "{reply:?}: {got}"),
        }
        let failures: Vec<&str> = got["parse_failures"]
            .as_array()
            .expect("parse_failures")
            .iter()
            .map(|f| f["client"].as_str().expect("client"))
            .collect();
        let want: Vec<&str> = expect["parse_failures"]
            .as_array()
            .expect("expected parse_failures")
            .iter()
            .map(|v| v.as_str().expect("name"))
            .collect();
        assert_eq!(failures, want, "{reply:?}");
        let flags: Vec<&str> = got["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .map(|f| f["flag"].as_str().expect("flag"))
            .collect();
        let want_flags: Vec<&str> = expect
            .get("flags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(flags, want_flags, "{reply:?}");
    }
}

#[test]
fn text_output_names_address_class_and_port() {
    bin()
        .args(["decode", "227 Entering Passive Mode (10,0,0,5,195,80)."])
        .assert()
        .success()
        .stdout(predicate::str::contains("10.0.0.5"))
        .stdout(predicate::str::contains("private address (RFC 1918)"))
        .stdout(predicate::str::contains("50000"))
        .stdout(predicate::str::contains(
            "every known client parser accepts",
        ))
        .stdout(predicate::str::contains(
            "  verdict  private address: the server is behind NAT and advertises its LAN \
             address; set pasv_address / MasqueradeAddress / ForcePassiveIP to the public \
             address\n",
        ))
        .stdout(predicate::str::contains(
            "  fix      vsftpd: `pasv_address=PUBLIC_IP` in vsftpd.conf",
        ));
}

#[test]
fn json_verdict_field_for_each_kind_of_address() {
    for (reply, code, needle) in [
        (
            "227 Entering Passive Mode (127,0,0,1,195,80)",
            "loopback",
            "loopback address",
        ),
        (
            "227 Entering Passive Mode (0,0,0,0,195,80)",
            "unspecified",
            "0.0.0.0 names no host",
        ),
        (
            "227 Entering Passive Mode (172,17,0,5,195,80)",
            "docker_bridge",
            "Docker",
        ),
        (
            "227 Entering Passive Mode (100,64,1,2,195,80)",
            "cgnat",
            "carrier-grade NAT",
        ),
        (
            "227 Entering Passive Mode (256,256,256,256,195,80)",
            "invalid_address",
            "not an IP address",
        ),
        (
            "229 Entering Extended Passive Mode (|||50000|)",
            "control_peer",
            "EPSV clients connect",
        ),
    ] {
        let out = bin()
            .args(["decode", "--format", "json", reply])
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{reply}: decoding exits 0 whatever the verdict"
        );
        let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(got["verdict"]["code"], code, "{reply}");
        let summary = got["verdict"]["summary"].as_str().expect("summary");
        assert!(summary.contains(needle), "{reply}: {summary}");
    }
}

#[test]
fn no_rust_debug_text_in_any_output() {
    for fx in fixtures() {
        let reply = fx["reply"].as_str().expect("reply");
        for format in ["text", "json"] {
            let out = bin()
                .args(["decode", "--format", format, reply])
                .output()
                .expect("runs");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            for debug in ["Some(", "None", "{ ", "Err(", "Ok(", "18446744073709551615"] {
                assert!(
                    !all.contains(debug),
                    "{reply:?} ({format}): {debug} in {all}"
                );
            }
        }
    }
}

#[test]
fn text_error_points_at_the_offending_number() {
    bin()
        .args(["decode", "227 Entering Passive Mode (10,0,0,5,256,80)"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "227 Entering Passive Mode (10,0,0,5,256,80)\n                                    ^\n",
        ))
        .stdout(predicate::str::contains(
            "p1 is 256 at byte 36, above the maximum of 255",
        ));
}

#[test]
fn one_bad_reply_among_good_ones_exits_2() {
    bin()
        .args([
            "decode",
            "227 Entering Passive Mode (10,0,0,5,195,80)",
            "229 Entering Extended Passive Mode (||6446|)",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("a delimiter field is missing"));
}

#[test]
fn stdin_paste_of_a_client_log_decodes_only_passive_replies() {
    let log = "Status:\tConnecting to 192.0.2.10:21...\n\
               Response:\t220 (vsFTPd 3.0.3)\n\
               Command:\tPASV\n\
               Response:\t227 Entering Passive Mode (10,0,0,5,195,80).\n\
               Command:\tEPSV\n\
               Response:\t229 Entering Extended Passive Mode (|||50006|)\n";
    let out = bin()
        .args(["decode", "--format", "json"])
        .write_stdin(log)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["address"], "10.0.0.5");
    assert_eq!(lines[1]["port"], 50006);
}

#[test]
fn stdin_multiline_reply_is_assembled() {
    bin()
        .args(["decode", "--format", "json"])
        .write_stdin("227-Entering Passive Mode\r\n227 (192,0,2,10,195,80)\r\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"multiline\":true"));
}

#[test]
fn empty_stdin_is_a_usage_error_with_an_example() {
    bin()
        .arg("decode")
        .write_stdin("")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("stdin was empty"))
        .stderr(predicate::str::contains("pasv-doctor decode \"227"));
}

#[test]
fn binary_junk_gets_a_clear_message() {
    let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    bin()
        .arg("decode")
        .write_stdin(junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no passive-mode reply found"));
}

#[test]
fn ten_megabyte_line_is_refused_cleanly() {
    let mut big = b"227 Entering Passive Mode (".to_vec();
    big.resize(10 * 1024 * 1024, b'7');
    big.extend_from_slice(b")\n227 Entering Passive Mode (10,0,0,5,195,80)\n");
    let out = bin()
        .args(["decode", "--format", "json"])
        .write_stdin(big)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["error"]["reason_code"], "line_too_long");
    assert_eq!(
        lines[1]["port"], 50000,
        "the line after the long one still decodes"
    );
}

#[test]
fn argument_without_reply_code() {
    bin()
        .args(["decode", "hello there"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("no FTP reply code found"));
}

#[test]
fn usage_errors_exit_3_not_2() {
    bin().args(["decode", "--bogus"]).assert().code(3);
    bin()
        .args(["decode", "--format", "xml", "227 x"])
        .assert()
        .code(3);
    bin().arg("no-such-command").assert().code(3);
    bin().assert().code(3);
}

#[test]
fn help_and_version_exit_0() {
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("decode"));
    bin().args(["decode", "--help"]).assert().success();
    bin().arg("--version").assert().success();
}

#[test]
fn sent_flag_marks_cross_answers() {
    bin()
        .args([
            "decode",
            "--format",
            "json",
            "--sent",
            "epsv",
            "227 Entering Passive Mode (10,0,0,5,195,80)",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("answers_other_command"));
}

#[test]
fn an_unquoted_reply_is_read_as_one() {
    bin()
        .args([
            "decode",
            "227",
            "Entering",
            "Passive",
            "Mode",
            "(10,0,0,5,195,80)",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("address  10.0.0.5"))
        .stdout(predicate::str::contains("no FTP reply code found").not());
}

//! `pasv-doctor check` end to end against in-process servers on 127.0.0.1 and a DNS
//! responder the test starts: each finding code is produced by a test that sets up its
//! cause, with the verdict and exit code checked. No traffic leaves loopback: servers that
//! advertise other addresses rely on the tool's default refusal to go there, and one test
//! proves that refusal with a listener on 127.0.0.2.

mod support;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pasv_doctor::demo::Scenario;
use pasv_doctor::fake::{Act, Advertise, DataPort, Login, Script};
use serde_json::Value;
use support::{Answer, Dns, Ftp, Run, bin, closed_port};

const SECRET: &str = "s3cr3t-Pa55word";

/// Runs `check --format json` with the demo password in an environment variable.
fn check(target: &str, extra: &[&str]) -> Run {
    let mut cmd = bin();
    cmd.env("PASV_TEST_PW", SECRET)
        .args([
            "check",
            "--format",
            "json",
            "--timeout",
            "1s",
            "--password-env",
            "PASV_TEST_PW",
        ])
        .args(extra)
        .arg(target);
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "password leaked"
    );
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
        stderr,
    }
}

fn demo_user(script: &mut Script) {
    script.login = Login::user("alice", SECRET);
}

fn serve(configure: impl FnOnce(&mut Script)) -> Ftp {
    let mut script = Script::default();
    demo_user(&mut script);
    configure(&mut script);
    Ftp::start(script)
}

#[test]
fn healthy_server_is_ok_with_real_transfers() {
    let ftp = serve(|_| {});
    let r = check(&ftp.url("alice"), &[]);
    assert_eq!(r.verdict(), "ok", "{:?}", r.codes());
    assert_eq!(r.code, 0);
    assert!(r.has("DATA_PATH_OK"));
    assert!(r.has("CLEARTEXT_LOGIN"), "a real password went in clear");
    assert_eq!(r.json["schema_version"], 2);
    let server = &r.json["servers"][0];
    assert_eq!(server["passive"].as_array().map(Vec::len), Some(10));
    let transfers = server["transfers"].as_array().expect("transfers");
    assert_eq!(transfers.len(), 2);
    for t in transfers {
        assert!(t["bytes"].as_u64().unwrap_or(0) > 0, "{t}");
        assert!(
            t["completion"].as_str().unwrap_or("").starts_with("226"),
            "{t}"
        );
    }
    // The transcript records PASS with a mask.
    let lines = r.json["transcript"]["servers"][0]["lines"].to_string();
    assert!(lines.contains("PASS ********"));
}

#[test]
fn anonymous_login_is_the_default_and_sends_no_cleartext_finding() {
    let ftp = serve(|_| {});
    let r = check(&format!("{}", ftp.addr()), &["--samples", "1"]);
    assert_eq!(r.verdict(), "ok", "{:?}", r.codes());
    assert!(!r.has("CLEARTEXT_LOGIN"));
    assert_eq!(r.json["target"]["user"], "anonymous");
}

#[test]
fn private_address_is_reported_and_not_contacted() {
    let ftp = serve(|s| s.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))));
    let r = check(&ftp.url("alice"), &["--samples", "2"]);
    assert_eq!(r.verdict(), "warning", "{:?}", r.codes());
    assert_eq!(r.code, 1);
    let f = r.finding("PASV_ADDRESS_PRIVATE");
    assert_eq!(f["severity"], "warning");
    assert!(f["evidence"].to_string().contains("10.0.0.5"));
    // Every try at 10.0.0.5 was skipped, and the transfers went to the control peer.
    let servers = r.json["servers"].to_string();
    assert!(!servers.contains("\"address\":\"10.0.0.5:") || servers.contains("not_tried"));
    for t in r.json["servers"][0]["transfers"]
        .as_array()
        .expect("transfers")
    {
        assert!(
            t["data"]["address"]
                .as_str()
                .unwrap_or("")
                .starts_with("127.0.0.1:"),
            "{t}"
        );
    }
    assert!(
        r.has("DATA_PATH_OK"),
        "curl-style clients still work via the peer"
    );
}

#[test]
fn third_party_address_is_never_contacted_by_default() {
    // A listener on 127.0.0.2 stands in for a third party the PASV reply points at.
    let third = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    third.set_nonblocking(true).expect("nonblocking");
    let port = third.local_addr().expect("addr").port();
    let reply = format!(
        "227 Entering Passive Mode (127,0,0,2,{},{})",
        port >> 8,
        port & 0xff
    );
    let ftp = serve(|s| {
        s.on("PASV", vec![Act::line(reply.clone())]);
    });
    let r = check(&ftp.url("alice"), &["--samples", "3"]);
    let accepted = Arc::new(AtomicUsize::new(0));
    while third.accept().is_ok() {
        accepted.fetch_add(1, Ordering::Relaxed);
    }
    assert_eq!(
        accepted.load(Ordering::Relaxed),
        0,
        "the tool connected to 127.0.0.2"
    );
    let f = r.finding("PASV_ADDRESS_MISMATCH");
    assert!(
        f["evidence"].to_string().contains("--probe-advertised"),
        "{f}"
    );

    // With the opt-in flag it does connect there.
    let r = check(&ftp.url("alice"), &["--samples", "1", "--probe-advertised"]);
    std::thread::sleep(Duration::from_millis(100));
    let mut n = 0;
    while third.accept().is_ok() {
        n += 1;
    }
    assert!(
        n >= 1,
        "--probe-advertised should test 127.0.0.2: {:?}",
        r.codes()
    );
}

#[test]
fn unspecified_address() {
    let ftp = serve(|s| s.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
    let r = check(&ftp.url("alice"), &["--samples", "1"]);
    assert!(r.has("PASV_ADDRESS_UNSPECIFIED"), "{:?}", r.codes());
    assert!(!r.has("PASV_ADDRESS_MISMATCH"));
}

#[test]
fn wrong_public_address_untested_is_a_warning() {
    // The check does not contact an address it did not connect to: nothing failed there,
    // so the finding says it was not tested, and the clients that go there are unknown.
    let ftp = serve(|s| s.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))));
    let r = check(&ftp.url("alice"), &["--samples", "1"]);
    let f = r.finding("PASV_ADDRESS_MISMATCH");
    assert_eq!(f["severity"], "warning");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("not the target's address"), "{f}");
    assert!(evidence.contains("--probe-advertised"), "{f}");
    assert!(f.get("breaks").is_none(), "{f}");
    let filezilla = r.json["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["name"] == "FileZilla")
        .expect("FileZilla row")
        .clone();
    assert_eq!(filezilla["works"], "unknown", "{filezilla}");
    assert_eq!(r.code, 1);
}

#[test]
fn wrong_address_tested_and_refused_is_critical() {
    // With --probe-advertised the address is tried: nothing listens on 127.0.0.3 at that
    // port, so the failure is observed and the clients that go there fail.
    let ftp = serve(|s| s.advertise = Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))));
    let r = check(&ftp.url("alice"), &["--samples", "1", "--probe-advertised"]);
    let f = r.finding("PASV_ADDRESS_MISMATCH");
    assert_eq!(f["severity"], "critical", "{f}");
    let breaks = f["breaks"].to_string();
    assert!(breaks.contains("GNU wget"), "{f}");
    for row in r.json["clients"].as_array().expect("clients") {
        if breaks.contains(row["name"].as_str().unwrap_or("?")) {
            assert_eq!(row["works"], "no", "{row}");
        }
    }
    assert_eq!(r.code, 2);
}

#[test]
fn a_fix_never_presents_sampled_ports_as_the_servers_range() {
    // The filtered ports seen are samples of the range: the fix must not configure them as
    // the range (that would shrink it); concrete numbers come from --expect-range only.
    let ftp = serve(|s| s.data = vec![DataPort::Refuse]);
    let r = check(&ftp.url("alice"), &["--samples", "2"]);
    let f = r.finding("DATA_PORT_REFUSED");
    let fix = f["fix"].to_string();
    assert!(fix.contains("pasv_min_port=LOW"), "{fix}");
    assert!(
        fix.contains("seen, samples of the server's passive range"),
        "{fix}"
    );
    let seen: Vec<u16> = r.json["transcript"]["servers"][0]["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .filter_map(|x| x["advertised"]["port"].as_u64())
        .map(|p| u16::try_from(p).expect("port"))
        .collect();
    for p in seen {
        assert!(!fix.contains(&format!("pasv_min_port={p}")), "{fix}");
    }
    let r = check(
        &ftp.url("alice"),
        &["--samples", "2", "--expect-range", "50000-50100"],
    );
    let fix = r.finding("DATA_PORT_REFUSED")["fix"].to_string();
    assert!(fix.contains("pasv_min_port=50000"), "{fix}");
    assert!(fix.contains("50000-50100"), "{fix}");
}

#[test]
fn expected_address_and_range() {
    let ftp = serve(|_| {});
    let r = check(
        &ftp.url("alice"),
        &[
            "--samples",
            "1",
            "--expect-address",
            "127.0.0.9",
            "--expect-range",
            "1-2",
        ],
    );
    assert!(r.has("PASV_ADDRESS_UNEXPECTED"), "{:?}", r.codes());
    assert!(r.has("PASV_PORT_OUT_OF_RANGE"), "{:?}", r.codes());
    assert!(
        r.finding("PASV_PORT_OUT_OF_RANGE")["fix"]
            .to_string()
            .contains("pasv_min_port=1")
    );
}

#[test]
fn filtered_range_costs_about_one_timeout() {
    let ftp = serve(|s| s.data = vec![DataPort::Filter]);
    let started = Instant::now();
    let r = check(&ftp.url("alice"), &["--samples", "5"]);
    let took = started.elapsed();
    let f = r.finding("DATA_PORT_FILTERED");
    assert_eq!(f["severity"], "critical");
    assert!(f["fix"].to_string().contains("nftables"), "{f}");
    assert_eq!(r.code, 2);
    // Ten sampled ports behind a 1 s timeout: about one timeout (plus the server's own
    // filling of each queue), far from ten.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn partial_range() {
    let ftp = serve(|s| s.data = vec![DataPort::default(), DataPort::Filter]);
    let r = check(&ftp.url("alice"), &["--samples", "4"]);
    assert!(r.has("DATA_RANGE_PARTIAL"), "{:?}", r.codes());
}

#[test]
fn refused_data_port() {
    let ftp = serve(|s| s.data = vec![DataPort::Refuse]);
    let r = check(&ftp.url("alice"), &["--samples", "2"]);
    assert!(r.has("DATA_PORT_REFUSED"), "{:?}", r.codes());
    assert_eq!(r.code, 2);
}

#[test]
fn transfer_refused_after_connect() {
    let ftp = serve(|s| s.data = Scenario::BadIp.script().data);
    let r = check(&ftp.url("alice"), &["--samples", "1"]);
    let f = r.finding("DATA_TRANSFER_FAILED");
    assert!(f["evidence"].to_string().contains("Bad IP"));
    assert!(
        f["remedy"]
            .as_str()
            .unwrap_or("")
            .contains("pasv_promiscuous")
    );
}

#[test]
fn epsv_and_pasv_unsupported() {
    let ftp = serve(|s| {
        s.on("EPSV", vec![Act::line("502 Command not implemented.")]);
    });
    let r = check(&ftp.url("alice"), &[]);
    assert_eq!(r.finding("EPSV_UNSUPPORTED")["severity"], "info");
    assert_eq!(r.verdict(), "ok");
    // All samples go in one burst: each of the five EPSV is refused, and recorded so.
    let epsv: Vec<_> = r.json["servers"][0]["passive"]
        .as_array()
        .expect("passive")
        .iter()
        .filter(|p| p["command"] == "EPSV")
        .collect();
    assert_eq!(epsv.len(), 5);
    assert!(
        epsv.iter()
            .all(|p| p["reply"].as_str().is_some_and(|r| r.starts_with("502")))
    );

    let ftp = serve(|s| {
        s.on("PASV", vec![Act::line("502 Command not implemented.")]);
    });
    let r = check(&ftp.url("alice"), &[]);
    assert_eq!(r.finding("PASV_UNSUPPORTED")["severity"], "critical");
}

#[test]
fn malformed_and_nonstandard_replies() {
    let ftp = serve(|s| {
        s.on(
            "PASV",
            vec![Act::line("227 Entering Passive Mode (127,0,0,256,4,1)")],
        );
        s.on(
            "EPSV",
            vec![Act::line("229 Entering Extended Passive Mode (!!!1!)")],
        );
    });
    let r = check(&ftp.url("alice"), &["--samples", "1"]);
    // An address number above 255 no longer makes the reply undecodable: the port decodes
    // (clients that use the control connection's address still work) and the finding says
    // which address is no IP address and which clients fail on it.
    assert!(!r.has("REPLY_MALFORMED"), "{:?}", r.codes());
    let nonstandard: Vec<&serde_json::Value> = r.json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "REPLY_NONSTANDARD")
        .collect();
    let pasv = nonstandard
        .iter()
        .find(|f| f["phase"] == "pasv")
        .expect("a PASV finding");
    assert!(
        pasv["evidence"]
            .to_string()
            .contains("the address 127.0.0.256 is not an IP address (h4 is 256, above 255)"),
        "{pasv}"
    );
    assert!(
        pasv["impact"].as_str().unwrap_or("").contains("curl"),
        "{pasv}"
    );
    let epsv = nonstandard
        .iter()
        .find(|f| f["phase"] == "epsv")
        .expect("an EPSV finding");
    assert!(
        epsv["impact"].as_str().unwrap_or("").contains("FileZilla"),
        "{epsv}"
    );
    // jlaffaye/ftp reads EPSV first and cannot parse (!!!port!): the table says so too.
    let jlaffaye = r.json["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["name"] == "Go jlaffaye/ftp")
        .expect("row")
        .clone();
    assert_eq!(jlaffaye["works"], "no", "{jlaffaye}");
    support::record_fixture("epsv-bang-delimiters", &r.json["transcript"]);
}

#[test]
fn login_failed() {
    let ftp = serve(|s| s.login = Login::user("alice", "other"));
    let r = check(&ftp.url("alice"), &[]);
    let f = r.finding("LOGIN_FAILED");
    assert!(f["evidence"].to_string().contains("530"));
    assert!(!f.to_string().contains(SECRET));
    assert_eq!(r.code, 2);
}

#[test]
fn server_unavailable() {
    let ftp = serve(|s| s.greeting = vec![Act::line("421 Too many connections, try later.")]);
    let r = check(&ftp.url("alice"), &[]);
    let f = r.finding("SERVER_UNAVAILABLE");
    assert!(f["evidence"].to_string().contains("421"));
}

#[test]
fn session_interrupted_when_the_server_hangs_up() {
    let ftp = serve(|s| {
        s.on("PASV", vec![Act::Close]);
    });
    let r = check(&ftp.url("alice"), &[]);
    assert!(r.has("SESSION_INTERRUPTED"), "{:?}", r.codes());
}

#[test]
fn connect_failed() {
    let r = check(&format!("127.0.0.1:{}", closed_port()), &[]);
    let f = r.finding("CONNECT_FAILED");
    assert!(f["evidence"].to_string().contains("refused"));
    assert_eq!(r.code, 2);
}

#[test]
fn dns_failure_without_an_answer_is_unknown() {
    // Nothing answers DNS at this port: nothing could be checked, and nothing was seen
    // failing, so the verdict is UNKNOWN and the finding is no more than information.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    drop(silent);
    let r = check(
        "ftp://missing.test/",
        &["--dns-server", &format!("127.0.0.1:{port}")],
    );
    let f = r.finding("DNS_FAILED");
    assert_eq!(f["severity"], "info", "{f}");
    assert_eq!(r.verdict(), "unknown");
    assert_eq!(r.code, 3);
}

#[test]
fn dns_nxdomain_is_critical() {
    let dns = Dns::start(HashMap::from([(
        "missing.test".to_string(),
        Answer::NxDomain,
    )]));
    let r = check(
        "ftp://missing.test/",
        &["--dns-server", &dns.addr.to_string()],
    );
    // The DNS answered that the name does not exist: an observed failure, and the verdict
    // agrees with the finding's severity.
    let f = r.finding("DNS_FAILED");
    assert!(f["evidence"].to_string().contains("NXDOMAIN"), "{f}");
    assert_eq!(f["severity"], "critical", "{f}");
    assert_eq!(r.verdict(), "critical");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.is_empty(),
        "JSON mode reports in the JSON: {}",
        r.stderr
    );
    assert!(
        dns.queries.load(Ordering::Relaxed) >= 1,
        "our DNS server was asked"
    );
}

#[test]
fn every_dns_address_is_checked() {
    let ftp = serve(|_| {});
    let port = ftp.addr().port();
    let dns = Dns::start(HashMap::from([(
        "ftp.test".to_string(),
        Answer::Records(vec![
            (IpAddr::V4(Ipv4Addr::LOCALHOST), 300),
            (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), 60),
        ]),
    )]));
    let r = check(
        &format!("ftp://alice@ftp.test:{port}/"),
        &["--dns-server", &dns.addr.to_string(), "--samples", "1"],
    );
    let servers = r.json["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 2, "{}", r.json["servers"]);
    let addrs: Vec<&Value> = r.json["target"]["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .collect();
    assert_eq!(addrs[0]["ttl"], 300);
    // The scripted server listens on 127.0.0.1 only: the second address refuses.
    let f = r.finding("CONNECT_FAILED");
    assert!(
        f["server"].as_str().unwrap_or("").starts_with("127.0.0.3"),
        "{f}"
    );
    assert!(r.has("DATA_PATH_OK"));
    // The refused address never got to passive replies: it does not make every client
    // "no" in the table; the address that works decides.
    let filezilla = r.json["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["name"] == "FileZilla")
        .expect("row")
        .clone();
    assert_eq!(filezilla["works"], "yes", "{filezilla}");
    // -4 with a v4-only table changes nothing; -6 finds no address at all.
    let r6 = check(
        &format!("ftp://alice@ftp.test:{port}/"),
        &["--dns-server", &dns.addr.to_string(), "-6"],
    );
    // The DNS answered with no AAAA record: ftp.test has no IPv6 address (observed).
    assert_eq!(r6.verdict(), "critical");
}

#[test]
fn ipv6_with_epsv() {
    let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
    if TcpListener::bind((ip, 0)).is_err() {
        eprintln!("no ::1 on this machine; skipping");
        return;
    }
    let mut script = Script::default();
    demo_user(&mut script);
    let ftp = Ftp::start_on(ip, script);
    let r = check(
        &format!("ftp://alice@[::1]:{}/", ftp.addr().port()),
        &["--samples", "2"],
    );
    assert!(r.has("DATA_PATH_OK"), "{:?}", r.codes());
    // PASV cannot express IPv6: the server refuses it, which is only info here.
    assert_eq!(r.finding("PASV_UNSUPPORTED")["severity"], "info");
    assert_eq!(r.verdict(), "ok");
}

#[test]
fn deadline_bounds_the_whole_check() {
    // Greeting, then a reply to the first command that never ends: every step would
    // wait; the deadline ends it.
    let ftp = serve(|s| {
        s.on("AUTH", vec![Act::line("500-Wait for it")]);
    });
    let started = Instant::now();
    let mut cmd = bin();
    let out = cmd
        .args([
            "check",
            "--format",
            "json",
            "--timeout",
            "5s",
            "--deadline",
            "1s",
        ])
        .arg(ftp.url("anonymous"))
        .output()
        .expect("runs");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        json["transcript"]["deadline_hit"]
            .as_bool()
            .unwrap_or(false)
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bare_target_means_check_and_text_is_the_default() {
    let ftp = serve(|_| {});
    let out = bin()
        .args(["--samples", "1", "--timeout", "1s"])
        .arg(ftp.addr().to_string())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Verdict: OK"), "{stdout}");
    let out = bin()
        .args([ftp.addr().to_string(), "--samples".into(), "1".into()])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_3_with_a_clear_message() {
    let cases: [(&[&str], &str); 6] = [
        (&["check", "ftp://u:pw@host/"], "contains a password"),
        (&["check", "host:99999"], "invalid port"),
        (&["check", "--samples", "0", "host"], "samples"),
        (&["check", "--timeout", "soon", "host"], "not a duration"),
        (&["check", "--expect-range", "9-1", "host"], "LOW <= HIGH"),
        (
            &["check", "--password-env", "PASV_TEST_UNSET_VAR", "h.test"],
            "not set",
        ),
    ];
    for (args, message) in cases {
        let out = bin().args(args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains(":pw@"), "echoed the password: {stderr}");
    }
}

#[test]
fn password_from_stdin_is_used_and_never_shown() {
    let ftp = serve(|_| {});
    for format in ["text", "json"] {
        let out = bin()
            .args([
                "check",
                "--password-stdin",
                "--samples",
                "1",
                "--format",
                format,
            ])
            .arg(ftp.url("alice"))
            .write_stdin(format!("{SECRET}\n"))
            .output()
            .expect("runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{all}");
        assert!(!all.contains(SECRET));
    }
}

#[test]
fn demo_scenarios_give_their_verdicts() {
    for (scenario, verdict, code) in [
        ("private-address", "warning", "PASV_ADDRESS_PRIVATE"),
        ("healthy", "ok", "DATA_PATH_OK"),
        ("wrong-public-address", "warning", "PASV_ADDRESS_MISMATCH"),
        ("refused-data-port", "critical", "DATA_PORT_REFUSED"),
        ("bad-ip", "critical", "DATA_TRANSFER_FAILED"),
    ] {
        let out = bin()
            .args([
                "demo",
                "--format",
                "json",
                "--samples",
                "2",
                "--scenario",
                scenario,
            ])
            .output()
            .expect("runs");
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(json["verdict"], verdict, "{scenario}");
        assert!(json["findings"].to_string().contains(code), "{scenario}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("demo-password"));
    }
}

#[test]
fn json_report_parses_back_into_its_documented_types() {
    for scenario in ["private-address", "filtered-data-port"] {
        let out = bin()
            .args([
                "demo",
                "--format",
                "json",
                "--samples",
                "1",
                "--timeout",
                "500ms",
                "--scenario",
                scenario,
            ])
            .output()
            .expect("runs");
        let report: pasv_doctor::report::json::JsonReport =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{scenario}: {e}"));
        assert_eq!(report.schema_version, 2);
        assert_eq!(i32::from(report.exit_code), out.status.code().unwrap_or(-1));
    }
}

#[test]
fn an_ipv6_literal_that_reads_two_ways_is_refused_with_both() {
    // `::1:2121` is ::1 port 2121, or the (non-loopback) address ::1:2121: guessing the
    // second sent a connection off the machine. Refused before any network traffic.
    let out = bin().arg("::1:2121").output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean [::1]:2121"), "{err}");
    assert!(err.contains("write [::1:2121]"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_password_source_and_no_terminal_is_said_at_once() {
    let ftp = serve(|_| {});
    let url = ftp.url("alice");
    let out = bin()
        .env_remove("PASV_DOCTOR_PASSWORD")
        .args(["check", "--format", "json", "--samples", "1", &url])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    let server = format!("alice@127.0.0.1:{}", ftp.addr().port());
    assert!(err.contains(&format!("no password for {server}")), "{err}");
    // And the report says what followed: the login without a password.
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        json["findings"].to_string().contains("LOGIN_FAILED"),
        "{json}"
    );
}

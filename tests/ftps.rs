//! FTPS end to end on 127.0.0.1 against the test FTPS server (tests/support/ftps.rs) with
//! rcgen certificates: explicit and implicit TLS, protected data connections that resume
//! the control session, the certificate report and its verdicts, session reuse required,
//! AUTH or PROT P refused, and the plain/TLS PASV comparison that reveals a rewriting router.

mod support;

use std::io::Write as _;
use std::net::Ipv4Addr;

use support::ftps::{Ftps, FtpsScript, Pki, self_signed};
use support::{Run, bin};

fn check(target: &str, extra: &[&str]) -> Run {
    let out = bin()
        .env("FTPS_TEST_PW", "tls-secret-pw")
        .args([
            "check",
            "--format",
            "json",
            "--timeout",
            "2s",
            "--samples",
            "1",
            "--password-env",
            "FTPS_TEST_PW",
        ])
        .args(extra)
        .arg(target)
        .output()
        .expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(!stdout.contains("tls-secret-pw") && !stderr.contains("tls-secret-pw"));
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
        stderr,
    }
}

fn ca_file(pki: &Pki) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp");
    f.write_all(pki.ca_pem().as_bytes()).expect("write");
    f
}

#[test]
fn explicit_tls_with_a_trusted_certificate_resumes_data_sessions() {
    let pki = Pki::new();
    let server = Ftps::start(FtpsScript::new(pki.leaf(&["127.0.0.1"], -1, 365)));
    let ca = ca_file(&pki);
    let r = check(
        &format!("ftp://alice@{}/", server.addr),
        &[
            "--tls",
            "explicit",
            "--ca-file",
            ca.path().to_str().expect("path"),
        ],
    );
    assert_eq!(r.json["verdict"], "ok", "{:?}", r.codes());
    assert_eq!(r.code, 0);
    let tls = r.tls();
    assert_eq!(tls["verdict"]["verdict"], "trusted", "{tls}");
    assert!(
        tls["certificate"]["sans"].to_string().contains("127.0.0.1"),
        "{tls}"
    );
    assert!(
        tls["handshake"]["version"]
            .as_str()
            .unwrap_or("")
            .contains("TLS"),
        "{tls}"
    );
    assert_eq!(tls["prot"]["reply"]["code"], 200);
    // Every data connection was TLS and resumed the control session.
    let transfers = r.json["transcript"]["servers"][0]["transfers"]
        .as_array()
        .expect("transfers");
    assert!(!transfers.is_empty());
    for t in transfers
        .iter()
        .filter(|t| !t["tls"]["fresh_session"].as_bool().unwrap_or(true))
    {
        assert_eq!(t["tls"]["handshake"]["resumed"], true, "{t}");
        assert!(t["bytes"].as_u64().unwrap_or(0) > 0, "{t}");
    }
    // The password went under TLS: no cleartext finding.
    assert!(!r.has("CLEARTEXT_LOGIN"));
    assert_eq!(r.json["transcript"]["servers"][0]["login"]["tls"], true);
}

#[test]
fn implicit_tls_from_an_ftps_url() {
    let pki = Pki::new();
    let mut script = FtpsScript::new(pki.leaf(&["127.0.0.1"], -1, 365));
    script.implicit = true;
    let server = Ftps::start(script);
    let ca = ca_file(&pki);
    let r = check(
        &format!("ftps://alice@{}/", server.addr),
        &["--ca-file", ca.path().to_str().expect("path")],
    );
    assert_eq!(r.tls()["mode"], "implicit");
    assert_eq!(r.json["verdict"], "ok", "{:?}", r.codes());
}

#[test]
fn session_reuse_required_is_detected() {
    let pki = Pki::new();
    let mut script = FtpsScript::new(pki.leaf(&["127.0.0.1"], -1, 365));
    script.require_reuse = true;
    let server = Ftps::start(script);
    let ca = ca_file(&pki);
    let r = check(
        &format!("ftp://alice@{}/", server.addr),
        &[
            "--tls",
            "explicit",
            "--ca-file",
            ca.path().to_str().expect("path"),
        ],
    );
    let f = r.finding("TLS_SESSION_REUSE_REQUIRED");
    assert!(f["evidence"].to_string().contains("522"), "{f}");
    assert!(f["impact"].as_str().unwrap_or("").contains("ftplib"));
    assert!(
        r.has("DATA_PATH_OK"),
        "resumed transfers work: {:?}",
        r.codes()
    );
    // The test transfer's refusal is the answer to the test, not a failed transfer (the
    // bench's BUG-5 with real vsftpd and ProFTPD).
    assert!(!r.has("DATA_TRANSFER_FAILED"), "{:?}", r.codes());
    assert_eq!(r.json["verdict"], "ok", "{:?}", r.codes());
    // The client table tells the same story: clients without session reuse fail.
    let works = |name: &str| {
        r.json["clients"]
            .as_array()
            .expect("clients")
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["works"].clone())
    };
    assert_eq!(works("Python ftplib >= 3.9.3"), Some("no".into()));
    assert_eq!(works("FileZilla"), Some("yes".into()));
    assert!(f["breaks"].to_string().contains("Python ftplib"), "{f}");
    support::record_fixture("tls-session-reuse-required", &r.json["transcript"]);
}

#[test]
fn certificate_verdicts() {
    let pki = Pki::new();
    let ca = ca_file(&pki);
    let ca_arg = ca.path().to_str().expect("path").to_string();
    let cases: [(&str, support::ftps::Identity, &str); 4] = [
        (
            "expired",
            pki.leaf(&["127.0.0.1"], -30, -1),
            "TLS_CERT_EXPIRED",
        ),
        (
            "wrong name",
            pki.leaf(&["ftp.example.net"], -1, 365),
            "TLS_CERT_NAME_MISMATCH",
        ),
        (
            "self-signed",
            self_signed(&["127.0.0.1"]),
            "TLS_CERT_UNTRUSTED",
        ),
        (
            "expiring",
            pki.leaf(&["127.0.0.1"], -1, 5),
            "TLS_CERT_EXPIRING",
        ),
    ];
    for (what, identity, code) in cases {
        let server = Ftps::start(FtpsScript::new(identity));
        let target = format!("ftp://alice@{}/", server.addr);
        // With --insecure the check goes on past the certificate and still says why.
        let r = check(
            &target,
            &["--tls", "explicit", "--insecure", "--ca-file", &ca_arg],
        );
        assert!(r.has(code), "{what}: {:?}", r.codes());
        if code != "TLS_CERT_EXPIRING" {
            assert_eq!(r.tls()["insecure"], true);
            assert!(
                r.has("DATA_PATH_OK"),
                "{what}: the passive checks still ran: {:?}",
                r.codes()
            );
        }
        // Without it an untrusted certificate ends the check at the handshake.
        if code != "TLS_CERT_EXPIRING" {
            let r = check(&target, &["--tls", "explicit", "--ca-file", &ca_arg]);
            assert!(r.has(code), "{what}: {:?}", r.codes());
            assert!(r.has("TLS_HANDSHAKE_FAILED"), "{what}: {:?}", r.codes());
            assert_eq!(r.code, 2);
        }
    }
}

#[test]
fn auth_refused_and_prot_p_refused() {
    let pki = Pki::new();
    let ca = ca_file(&pki);
    let ca_arg = ca.path().to_str().expect("path").to_string();
    let mut script = FtpsScript::new(pki.leaf(&["127.0.0.1"], -1, 365));
    script.auth_tls = false;
    let server = Ftps::start(script);
    let target = format!("ftp://alice@{}/", server.addr);
    // Required TLS refused: critical, and no password was sent in clear.
    let r = check(&target, &["--tls", "explicit", "--ca-file", &ca_arg]);
    assert_eq!(r.finding("TLS_NOT_OFFERED")["severity"], "critical");
    assert!(
        r.json["transcript"]["servers"][0]["login"].is_null(),
        "no login attempted"
    );
    // Auto mode goes on in plain text and says so in the TLS record, without a finding.
    let r = check(&target, &["--ca-file", &ca_arg]);
    assert!(!r.has("TLS_NOT_OFFERED"), "{:?}", r.codes());
    assert_eq!(r.tls()["auth"]["reply"]["code"], 502, "{}", r.tls());
    assert!(r.tls()["handshake"].is_null());
    assert!(r.has("CLEARTEXT_LOGIN"));

    let mut script = FtpsScript::new(pki.leaf(&["127.0.0.1"], -1, 365));
    script.refuse_prot_p = true;
    let server = Ftps::start(script);
    let r = check(
        &format!("ftp://alice@{}/", server.addr),
        &["--tls", "explicit", "--ca-file", &ca_arg],
    );
    assert!(r.has("TLS_DATA_REFUSED"), "{:?}", r.codes());
}

#[test]
fn tls_version_cap_and_report() {
    let pki = Pki::new();
    let ca = ca_file(&pki);
    let mut script = FtpsScript::new(pki.leaf(&["127.0.0.1"], -1, 365));
    script.tls12_only = true;
    let server = Ftps::start(script);
    let r = check(
        &format!("ftp://alice@{}/", server.addr),
        &[
            "--tls",
            "explicit",
            "--tls-max",
            "1.2",
            "--ca-file",
            ca.path().to_str().expect("path"),
        ],
    );
    assert_eq!(r.tls()["handshake"]["version"], "TLSv1_2", "{}", r.tls());
    assert_eq!(r.json["verdict"], "ok", "{:?}", r.codes());
}

#[test]
fn plain_and_tls_pasv_differ_when_a_router_rewrites_plain_ftp() {
    let pki = Pki::new();
    let ca = ca_file(&pki);
    let mut script = FtpsScript::new(pki.leaf(&["127.0.0.1"], -1, 365));
    // In plain text the reply names a public address (what an ALG writes in); under TLS the
    // server's own address goes through untouched.
    script.plain_pasv_address = Some(Ipv4Addr::new(198, 51, 100, 7));
    let server = Ftps::start(script);
    let r = check(
        &format!("ftp://anonymous@{}/", server.addr),
        &[
            "--tls",
            "explicit",
            "--ca-file",
            ca.path().to_str().expect("path"),
        ],
    );
    let f = r.finding("PASV_REWRITTEN_IN_TRANSIT");
    assert!(f["evidence"].to_string().contains("198,51,100,7"), "{f}");
    assert!(
        f["remedy"]
            .as_str()
            .unwrap_or("")
            .contains("TLSMasqueradeAddress 198.51.100.7")
    );
}

//! FTPS end to end on 127.0.0.1 against the fake server scripted for FTPS (tests/support/ftps.rs) with
//! rcgen certificates: explicit and implicit TLS, protected data connections that resume
//! the control session, the certificate report and its verdicts, session reuse required,
//! AUTH or PROT P refused, and the plain/TLS PASV comparison that reveals a rewriting router.

mod support;

use std::io::Write as _;
use std::net::Ipv4Addr;

use pasv_doctor::fake::{Act, Advertise};
use support::ftps::{self, Pki, TlsOptions, self_signed, tls};
use support::{Ftp, Run, bin};

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
    let server = Ftp::start(ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365)));
    let ca = ca_file(&pki);
    let r = check(
        &format!("ftp://alice@{}/", server.addr()),
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
    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365));
    tls(&mut script).implicit = true;
    let server = Ftp::start(script);
    let ca = ca_file(&pki);
    let r = check(
        &format!("ftps://alice@{}/", server.addr()),
        &["--ca-file", ca.path().to_str().expect("path")],
    );
    assert_eq!(r.tls()["mode"], "implicit");
    assert_eq!(r.json["verdict"], "ok", "{:?}", r.codes());
}

#[test]
fn session_reuse_required_is_detected() {
    let pki = Pki::new();
    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365));
    tls(&mut script).require_reuse = true;
    let server = Ftp::start(script);
    let ca = ca_file(&pki);
    let r = check(
        &format!("ftp://alice@{}/", server.addr()),
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
        let server = Ftp::start(ftps::script(&identity));
        let target = format!("ftp://alice@{}/", server.addr());
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
    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365));
    script.on("AUTH", vec![Act::line("502 AUTH not available.")]);
    let server = Ftp::start(script);
    let target = format!("ftp://alice@{}/", server.addr());
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

    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365));
    script.on("PROT P", vec![Act::line("536 PROT P not allowed.")]);
    let server = Ftp::start(script);
    let r = check(
        &format!("ftp://alice@{}/", server.addr()),
        &["--tls", "explicit", "--ca-file", &ca_arg],
    );
    assert!(r.has("TLS_DATA_REFUSED"), "{:?}", r.codes());
}

#[test]
fn tls_version_cap_and_report() {
    let pki = Pki::new();
    let ca = ca_file(&pki);
    let leaf = pki.leaf(&["127.0.0.1"], -1, 365);
    let mut script = ftps::script(&leaf);
    let options = TlsOptions {
        tls12_only: true,
        ..TlsOptions::default()
    };
    tls(&mut script).config = ftps::config(&leaf, options);
    let server = Ftp::start(script);
    let r = check(
        &format!("ftp://alice@{}/", server.addr()),
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
    // People read "TLS 1.2", not rustls's name for it.
    let out = bin()
        .args([
            "check",
            "--timeout",
            "2s",
            "--samples",
            "1",
            "--color",
            "never",
        ])
        .args(["--tls", "explicit", "--tls-max", "1.2"])
        .args(["--ca-file", ca.path().to_str().expect("path")])
        .arg(format!("ftp://anonymous@{}/", server.addr()))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("TLS 1.2"), "{text}");
    assert!(!text.contains("TLSv1_2"), "{text}");
}

#[test]
fn plain_and_tls_pasv_differ_when_a_router_rewrites_plain_ftp() {
    let pki = Pki::new();
    let ca = ca_file(&pki);
    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365));
    // In plain text the reply names a public address (what an ALG writes in); under TLS the
    // server's own address goes through untouched.
    script.advertise = Advertise::RewrittenInPlainText(Ipv4Addr::new(198, 51, 100, 7));
    let server = Ftp::start(script);
    let r = check(
        &format!("ftp://anonymous@{}/", server.addr()),
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

/// The fix lines of a finding, as one string.
fn fix_of(f: &serde_json::Value) -> String {
    f["fix"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// An expired certificate from an issuer the check does not trust: a verifier reports only
/// the expiry (it checks the dates first); the report has both, with and without
/// `--insecure`, and a wrong name on top of them is a third finding.
#[test]
fn an_expired_untrusted_certificate_gives_every_finding() {
    let pki = Pki::new();
    // No --ca-file: the private CA is unknown to this check.
    let server = Ftp::start(ftps::script(&pki.leaf(&["127.0.0.1"], -30, -2)));
    let target = format!("ftp://alice@{}/", server.addr());
    for extra in [
        &["--tls", "explicit", "--insecure"][..],
        &["--tls", "explicit"],
    ] {
        let r = check(&target, extra);
        assert!(r.has("TLS_CERT_EXPIRED"), "{extra:?}: {:?}", r.codes());
        assert!(r.has("TLS_CERT_UNTRUSTED"), "{extra:?}: {:?}", r.codes());
        assert!(
            !r.has("TLS_CERT_NAME_MISMATCH"),
            "{extra:?}: {:?}",
            r.codes()
        );
        let problems = &r.tls()["problems"];
        assert_eq!(problems[0]["verdict"], "expired", "{}", r.tls());
        assert_eq!(problems[1]["verdict"], "unknown_issuer", "{}", r.tls());
        let untrusted = r.finding("TLS_CERT_UNTRUSTED");
        assert!(
            untrusted["title"]
                .as_str()
                .unwrap_or("")
                .contains("issuer is not trusted"),
            "{untrusted}"
        );
        assert!(
            untrusted["evidence"]
                .to_string()
                .contains("problems found: expired; unknown issuer"),
            "{untrusted}"
        );
        assert_eq!(r.code, 2);
    }
    // The human report's TLS line names both too.
    let out = bin()
        .args([
            "check",
            "--timeout",
            "2s",
            "--samples",
            "1",
            "--color",
            "never",
        ])
        .args(["--tls", "explicit", "--insecure"])
        .arg(format!("ftp://anonymous@{}/", server.addr()))
        .output()
        .expect("runs");
    // Words only: the table wraps long lines.
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("expired, unknown issuer (--insecure)"),
        "{text}"
    );

    let server = Ftp::start(ftps::script(&pki.leaf(&["ftp.example.net"], -30, -2)));
    let r = check(
        &format!("ftp://alice@{}/", server.addr()),
        &["--tls", "explicit", "--insecure"],
    );
    for code in [
        "TLS_CERT_EXPIRED",
        "TLS_CERT_UNTRUSTED",
        "TLS_CERT_NAME_MISMATCH",
    ] {
        assert!(r.has(code), "{code}: {:?}", r.codes());
    }
    assert!(
        r.finding("TLS_CERT_NAME_MISMATCH")["title"]
            .as_str()
            .unwrap_or("")
            .contains("it names ftp.example.net")
    );

    // Expiring soon and untrusted: the warning about the date is not lost either.
    let server = Ftp::start(ftps::script(&pki.leaf(&["127.0.0.1"], -1, 5)));
    let r = check(
        &format!("ftp://alice@{}/", server.addr()),
        &["--tls", "explicit", "--insecure"],
    );
    assert!(r.has("TLS_CERT_EXPIRING"), "{:?}", r.codes());
    assert!(r.has("TLS_CERT_UNTRUSTED"), "{:?}", r.codes());
    assert!(!r.has("TLS_CERT_EXPIRED"), "{:?}", r.codes());
}

/// A CA certificate served as the server's own: webpki's `CaUsedAsEndEntity`, which rustls
/// passes as `Other(OtherError(CaUsedAsEndEntity))`, reads as English in the finding, the
/// handshake error and the human report; the fix names the file and directive.
#[test]
fn a_ca_certificate_as_the_server_certificate_is_said_in_words() {
    let pki = Pki::new();
    let ca = ca_file(&pki);
    let ca_arg = ca.path().to_str().expect("path").to_string();
    let words = "a CA certificate is used as the server certificate";
    let server = Ftp::start(ftps::script(&pki.ca_as_leaf(&["127.0.0.1"])));
    let target = format!("ftp://alice@{}/", server.addr());

    let r = check(
        &target,
        &["--tls", "explicit", "--insecure", "--ca-file", &ca_arg],
    );
    let f = r.finding("TLS_CERT_UNTRUSTED");
    assert_eq!(
        f["title"],
        format!("the certificate does not verify: {words}"),
        "{f}"
    );
    // The test server names no product: every product's setting, each with its file.
    let fix = fix_of(f);
    for wanted in [
        "rsa_cert_file",
        "TLSRSACertificateFile",
        "/etc/ssl/private/pure-ftpd.pem",
        "Certificate file",
        "FTP SSL Settings",
    ] {
        assert!(fix.contains(wanted), "{wanted}: {fix}");
    }
    let all = r.json.to_string();
    assert!(
        !all.contains("CaUsedAsEndEntity") && !all.contains("OtherError"),
        "{all}"
    );

    // Without --insecure the handshake fails, and its error says the same.
    let r = check(&target, &["--tls", "explicit", "--ca-file", &ca_arg]);
    let hs = r.finding("TLS_HANDSHAKE_FAILED");
    assert!(hs["evidence"].to_string().contains(words), "{hs}");
    let all = r.json.to_string();
    assert!(
        !all.contains("CaUsedAsEndEntity") && !all.contains("OtherError"),
        "{all}"
    );

    // The human report too.
    let out = bin()
        .args(["check", "--timeout", "2s", "--samples", "1"])
        .args([
            "--tls",
            "explicit",
            "--ca-file",
            &ca_arg,
            "--color",
            "never",
        ])
        .arg(format!("ftp://anonymous@{}/", server.addr()))
        .output()
        .expect("runs");
    // Words only: the table wraps long lines.
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains(words), "{text}");
    assert!(
        !text.contains("CaUsedAsEndEntity") && !text.contains("OtherError"),
        "{text}"
    );
}

/// A recognised product gets its own certificate setting, not every product's.
#[test]
fn the_certificate_fix_names_the_recognised_products_directive() {
    let pki = Pki::new();
    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -30, -2));
    script.greeting = vec![Act::line("220 (vsFTPd 3.0.5)")];
    let server = Ftp::start(script);
    let ca = ca_file(&pki);
    let r = check(
        &format!("ftp://alice@{}/", server.addr()),
        &[
            "--tls",
            "explicit",
            "--insecure",
            "--ca-file",
            ca.path().to_str().expect("path"),
        ],
    );
    let f = r.finding("TLS_CERT_EXPIRED");
    let fix = fix_of(f);
    assert!(fix.starts_with("vsftpd:"), "{fix}");
    assert!(
        fix.contains("rsa_cert_file") && fix.contains("rsa_private_key_file"),
        "{fix}"
    );
    assert!(!fix.contains("TLSRSACertificateFile"), "{fix}");
    assert!(f["remedy"].as_str().unwrap_or("").contains("Renew"), "{f}");
}

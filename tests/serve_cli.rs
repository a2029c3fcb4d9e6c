//! `pasv-doctor serve` as a process: it refuses to start where it must (a non-loopback
//! address without a token, a bad config file) before it listens anywhere, and on SIGINT
//! it stops accepting, lets the check under way answer, and exits 0. Loopback only; the
//! refused addresses are never bound.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use pasv_doctor::fake::{Act, Script};
use support::serve::Serve;
use support::{Ftp, bin};

#[test]
fn refuses_to_start_where_it_must() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A documentation address: refused before any bind, so nothing is ever opened there.
    let out = bin()
        .args(["serve", "--listen", "192.0.2.1:9129"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without authentication"), "{err}");
    assert!(err.contains("auth_token_file"), "{err}");

    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[serve]\nlisten = \"192.0.2.1:9129\"\n").expect("write");
    let out = bin()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));

    std::fs::write(&config, "[serve]\nallow_targets = [\"*\"]\n").expect("write");
    let out = bin()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("allow_targets"),
        "{err}"
    );
}

/// One HTTP/1.0 GET; the status line and body.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

#[test]
fn sigint_lets_the_check_under_way_answer_then_exits() {
    // A server that never greets: the check waits its 2 s step timeout for it.
    let silent = Ftp::start(Script {
        greeting: vec![Act::Silent],
        ..Script::default()
    });
    let mut serve = Serve::start(
        "[defaults]\ntimeout = \"2s\"\nsamples = 1\n[serve]\nallow_targets = [\"127.0.0.1/32\"]\n",
    );
    let addr = serve.addr;
    let target = silent.target();
    let request = std::thread::spawn(move || get(addr, &format!("/probe?target={target}")));
    while silent.connections() == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    serve.interrupt();
    let answer = request.join().expect("joined").expect("answered");
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
    assert!(answer.contains("probe_success 0"), "{answer}");
    assert!(
        !answer.contains("CHECK_INTERRUPTED\"} 1"),
        "the check under way was interrupted instead of finishing: {answer}"
    );
    let status = serve
        .wait_exit(Duration::from_secs(20))
        .expect("serve stops after SIGINT");
    assert_eq!(status.code(), Some(0));
    let log = serve.output();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(
        get(addr, "/healthz").is_err(),
        "still listening after it stopped"
    );
}

//! `--scan-range` against a fake server on loopback: every port of the range tried once at
//! the server's own address, the map in the JSON report and the table, the finding.

mod support;

use pasv_doctor::fake::Script;
use support::{Ftp, bin};

fn free_range(len: u16) -> u16 {
    // A run of ports nothing listens on now (bound and released), within 40000-60000.
    for start in (40_000..60_000).step_by(97) {
        let free =
            (start..start + len).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return start;
        }
    }
    panic!("no free run of {len} ports");
}

#[test]
fn a_range_the_server_answers_on_is_mapped_reachable() {
    let low = free_range(20);
    let high = low + 19;
    let ftp = Ftp::start(Script {
        port_range: Some(low..=high),
        ..Script::default()
    });
    let out = bin()
        .args(["check", "--format", "json", "--samples", "3"])
        .args([
            "--expect-range",
            &format!("{low}-{high}"),
            "--scan-range",
            "auto",
        ])
        .arg(ftp.url("anonymous"))
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let map = &report["servers"][0]["range_scan"];
    assert_eq!(map["low"], low, "{map}");
    assert_eq!(map["high"], high);
    assert_eq!(
        map["reachable"],
        serde_json::json!([format!("{low}-{high}")]),
        "{map}"
    );
    assert_eq!(map["filtered"], serde_json::json!([]));
    let finding = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "PASSIVE_RANGE_MAP")
        .expect("the map's finding");
    assert_eq!(finding["severity"], "ok", "{finding}");
    assert_eq!(report["transcript"]["settings"]["scan_range"], "auto");
    let scan = &report["transcript"]["servers"][0]["range_scan"];
    assert_eq!(scan["address"], "127.0.0.1");
}

#[test]
fn the_table_draws_the_map_and_a_bad_value_is_refused() {
    let low = free_range(8);
    let ftp = Ftp::start(Script {
        port_range: Some(low..=low + 7),
        ..Script::default()
    });
    let out = bin()
        .args(["check", "--samples", "1", "--color", "never"])
        .args(["--scan-range", &format!("{low}-{}", low + 7)])
        .arg(ftp.url("anonymous"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Passive range map of 127.0.0.1"), "{text}");
    assert!(text.contains("'#' reachable"), "{text}");
    let page = bin()
        .args(["check", "--samples", "1", "--format", "html"])
        .args(["--scan-range", &format!("{low}-{}", low + 7)])
        .arg(ftp.url("anonymous"))
        .output()
        .expect("runs");
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.contains("<h2>Passive range map</h2>"), "{page}");
    assert!(page.contains("<b>reachable</b>"), "the kinds in words too");
    let bad = bin()
        .args(["check", "--scan-range", "9-1", "127.0.0.1"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(3));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("scan-range"), "{err}");
}

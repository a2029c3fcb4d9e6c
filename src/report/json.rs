//! The versioned JSON report (`--format json`), a public contract documented in
//! `docs/json-report.md`. These types are the report's own, built from the transcript and
//! the findings, so the engine's internals can change without changing the output. The
//! transcript itself is embedded whole, as recorded.

use std::io::{self, Write};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Report;
use crate::analyze::PassiveRange;
use crate::finding::{Finding, Verdict};
use crate::knowledge::clients::ClientVerdict;
use crate::knowledge::servers::{Fingerprint, fingerprint};
use crate::proto::AddressClass;
use crate::transcript::{ControlTls, DataTls, ServerSession, Transcript, Via, show_addr};

/// Bumped on any incompatible change to the report's shape.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonReport {
    pub schema_version: u32,
    pub tool: Tool,
    pub target: JsonTarget,
    pub verdict: Verdict,
    pub exit_code: u8,
    pub summary: String,
    pub servers: Vec<JsonServer>,
    pub findings: Vec<Finding>,
    pub clients: Vec<ClientVerdict>,
    pub timings: JsonTimings,
    pub transcript: Transcript,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonTarget {
    pub input: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub path: Option<String>,
    pub addresses: Vec<JsonDnsAddress>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonDnsAddress {
    pub address: IpAddr,
    pub class: String,
    /// Absent for an address given literally.
    pub ttl: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonServer {
    pub address: String,
    /// `null` when a client log does not show it.
    pub control_peer: Option<IpAddr>,
    pub control_peer_class: String,
    pub product: Fingerprint,
    pub end: String,
    pub greeting: Option<String>,
    pub login: Option<String>,
    pub passive: Vec<JsonPassive>,
    pub transfers: Vec<JsonTransfer>,
    pub passive_range: Option<PassiveRange>,
    /// The map of the passive range (`--scan-range`), ranges compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_scan: Option<JsonRangeScan>,
    /// TLS on the control connection: mode, handshake, certificate, verdict, PBSZ/PROT.
    pub tls: Option<ControlTls>,
    pub timings: JsonServerTimings,
}

/// What `--scan-range` found, read (see `analyze::range_scan`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRangeScan {
    pub address: IpAddr,
    pub low: u16,
    pub high: u16,
    pub reachable: Vec<String>,
    pub refused: Vec<String>,
    pub filtered: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_tried: Vec<String>,
    pub elapsed_ms: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonPassive {
    pub command: String,
    pub reply: Option<String>,
    pub reply_ms: Option<f64>,
    /// The advertised address; absent for EPSV.
    pub address: Option<IpAddr>,
    pub class: Option<String>,
    pub port: Option<u16>,
    pub error: Option<String>,
    pub tried: Vec<JsonTry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonTry {
    pub address: String,
    pub via: Via,
    pub outcome: String,
    pub detail: Option<String>,
    pub ms: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonTransfer {
    pub passive: JsonPassive,
    pub data: Option<JsonTry>,
    pub command: Option<String>,
    pub completion: Option<String>,
    pub bytes: u64,
    pub first_byte_ms: Option<f64>,
    pub end_ms: Option<f64>,
    pub error: Option<String>,
    /// TLS on this data connection: version, resumed or full handshake.
    pub tls: Option<DataTls>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonServerTimings {
    pub connect_ms: f64,
    pub greeting_ms: Option<f64>,
    pub login_ms: Option<f64>,
    pub total_ms: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonTimings {
    pub dns_ms: Option<f64>,
    pub total_ms: f64,
}

fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn try_of(p: &crate::transcript::PortProbe) -> JsonTry {
    use crate::transcript::ConnectOutcome as O;
    let detail = match &p.attempt.outcome {
        O::Unreachable(d) | O::Error(d) | O::Skipped(d) => Some(d.clone()),
        _ => None,
    };
    JsonTry {
        address: show_addr(p.attempt.addr),
        via: p.via,
        outcome: p.attempt.outcome.label().replace(' ', "_"),
        detail,
        ms: ms(p.attempt.elapsed_us),
    }
}

fn passive_of(x: &crate::transcript::PassiveSample) -> JsonPassive {
    let reply = x.exchange.reply.as_ref();
    JsonPassive {
        command: x.command.command().to_string(),
        reply: reply.map(|r| r.text.clone()),
        reply_ms: reply.map(|r| ms(r.elapsed_us)),
        address: x.advertised.as_ref().and_then(|a| a.address),
        class: x
            .advertised
            .as_ref()
            .and_then(|a| a.address)
            .map(|ip| AddressClass::of(ip).as_str().to_string()),
        // Port 0 without a reply: an address a client's message named, without its port.
        port: x
            .advertised
            .as_ref()
            .map(|a| a.port)
            .filter(|p| *p != 0 || x.exchange.reply.is_some()),
        error: x
            .decode_error
            .clone()
            .or_else(|| x.exchange.failure.clone()),
        tried: x.probes.iter().map(try_of).collect(),
    }
}

fn server_of(s: &ServerSession) -> JsonServer {
    JsonServer {
        address: show_addr(s.server),
        control_peer: s.known_peer(),
        control_peer_class: s
            .known_peer()
            .map_or("unknown", |ip| AddressClass::of(ip).as_str())
            .to_string(),
        product: fingerprint(s),
        end: super::end_label(&s.end),
        greeting: s.greeting.last().map(|r| r.text.clone()),
        login: s.login.as_ref().map(|l| {
            serde_json::to_value(&l.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }),
        passive: s.samples.iter().map(passive_of).collect(),
        transfers: s
            .transfers
            .iter()
            .map(|t| JsonTransfer {
                passive: passive_of(&t.passive),
                data: t.data.as_ref().map(try_of),
                command: t.command.as_ref().map(|c| c.command.clone()),
                completion: t.completion.as_ref().map(|r| r.text.clone()),
                bytes: t.bytes,
                first_byte_ms: t.first_byte_us.map(ms),
                end_ms: t.data_end_us.map(ms),
                error: t
                    .data_error
                    .clone()
                    .or_else(|| t.completion_failure.clone()),
                tls: t.tls.clone(),
            })
            .collect(),
        passive_range: crate::analyze::passive_range(s),
        range_scan: crate::analyze::range_scan::read(s).map(|m| {
            let text = |r: &[(u16, u16)]| -> Vec<String> {
                r.iter()
                    .map(|&(l, h)| crate::analyze::range_scan::ranges_text(&[(l, h)]))
                    .collect()
            };
            JsonRangeScan {
                address: m.address,
                low: m.low,
                high: m.high,
                reachable: text(&m.reachable),
                refused: text(&m.refused),
                filtered: text(&m.filtered),
                not_tried: text(&m.not_tried),
                elapsed_ms: ms(m.elapsed_us),
            }
        }),
        tls: s.tls.clone(),
        timings: JsonServerTimings {
            connect_ms: ms(s.connect.elapsed_us),
            greeting_ms: s.greeting.last().map(|r| ms(r.elapsed_us)),
            login_ms: s.login.as_ref().map(|l| ms(l.elapsed_us)),
            total_ms: ms(s.total_us),
        },
    }
}

/// Builds the report's JSON value.
pub fn build(report: &Report<'_>) -> JsonReport {
    let t = report.transcript;
    let addresses = match &t.dns {
        Some(d) => {
            d.a.records
                .iter()
                .chain(&d.aaaa.records)
                .map(|r| JsonDnsAddress {
                    address: r.ip,
                    class: AddressClass::of(r.ip).as_str().to_string(),
                    ttl: Some(r.ttl),
                })
                .collect()
        }
        None => t
            .servers
            .iter()
            .map(|s| JsonDnsAddress {
                address: s.peer(),
                class: AddressClass::of(s.peer()).as_str().to_string(),
                ttl: None,
            })
            .collect(),
    };
    JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "pasv-doctor".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        target: JsonTarget {
            input: t.target.input.clone(),
            host: t.target.host.clone(),
            port: t.target.port,
            user: t.target.user.clone(),
            path: t.target.path.clone(),
            addresses,
        },
        verdict: report.verdict,
        exit_code: report.status().code(),
        summary: report.summary(),
        servers: t.servers.iter().map(server_of).collect(),
        findings: report.findings.clone(),
        clients: report.clients.clone(),
        timings: JsonTimings {
            dns_ms: t.dns.as_ref().map(|d| ms(d.elapsed_us)),
            total_ms: ms(t.total_us),
        },
        transcript: t.clone(),
    }
}

/// Writes the report as one pretty-printed JSON object.
pub fn write(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &build(report))?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The report on one line and a newline (JSON Lines: one report per line in a batch).
pub fn write_line(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &build(report))?;
    out.write_all(b"\n")?;
    out.flush()
}

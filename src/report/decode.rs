//! Renders `decode` results as text for people or as JSON Lines for scripts. The JSON types
//! below are the public contract (documented in `docs/json-decode.md`), kept apart from the
//! protocol types so that internal changes cannot alter the output by accident.

use std::io::{self, Write};

use serde::Serialize;

use crate::knowledge::advertised::{self, AddressVerdict};
use crate::proto::{
    self, AddressClass, Anomaly, DecodeError, ParseFailure, Passive, PassiveKind, ReplyError,
    Shape, classify_effective,
};

/// One reply as given, and what came of decoding it.
#[derive(Debug, Clone)]
pub struct DecodeItem {
    /// The reply as given (lines joined with `\n`).
    pub input: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Decoded {
        passive: Passive,
        anomalies: Vec<Anomaly>,
        failures: Vec<ParseFailure>,
    },
    Failed {
        code: Option<u16>,
        kind: Option<PassiveKind>,
        error: ItemError,
    },
}

/// Why an input item did not decode.
#[derive(Debug, Clone)]
pub enum ItemError {
    /// No `ddd ` reply code in the input.
    NoReplyCode,
    /// The bytes did not assemble into a reply.
    Reply(ReplyError),
    /// The reply assembled but is not a decodable passive reply.
    Decode(DecodeError),
}

impl ItemError {
    fn reason(&self) -> String {
        match self {
            ItemError::NoReplyCode => "no FTP reply code found: expected a line starting with a three-digit code, as in \"227 Entering Passive Mode (10,0,0,5,195,80)\"".to_string(),
            ItemError::Reply(e) => e.to_string(),
            ItemError::Decode(e) => e.to_string(),
        }
    }

    fn reason_code(&self) -> &'static str {
        match self {
            ItemError::NoReplyCode => "no_reply_code",
            ItemError::Reply(ReplyError::LineTooLong { .. }) => "line_too_long",
            ItemError::Reply(ReplyError::TooManyLines { .. }) => "too_many_lines",
            ItemError::Reply(ReplyError::NotAReply { .. }) => "not_a_reply",
            ItemError::Decode(e) => e.reason_code(),
        }
    }

    fn position(&self) -> Option<usize> {
        match self {
            ItemError::Decode(e) => e.position(),
            _ => None,
        }
    }
}

impl DecodeItem {
    /// Decodes an assembled reply.
    pub fn from_reply(input: String, reply: &proto::Reply, sent: Option<PassiveKind>) -> Self {
        let outcome = match proto::decode(reply, sent) {
            Ok(passive) => Outcome::Decoded {
                failures: proto::parse_failures(&passive),
                anomalies: reply.anomalies.clone(),
                passive,
            },
            Err(error) => Outcome::Failed {
                code: Some(reply.code),
                kind: PassiveKind::from_code(reply.code),
                error: ItemError::Decode(error),
            },
        };
        DecodeItem { input, outcome }
    }
}

// ---- JSON (schema in docs/json-decode.md) ----

#[derive(Serialize)]
struct JsonItem<'a> {
    input: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<PassiveKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<Vec<JsonNote>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<&'a Shape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_failures: Option<Vec<JsonParseFailure>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anomalies: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<AddressVerdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<JsonError>,
}

#[derive(Serialize)]
struct JsonNote {
    flag: &'static str,
    message: String,
}

#[derive(Serialize)]
struct JsonParseFailure {
    client: String,
    reason: &'static str,
}

#[derive(Serialize)]
struct JsonError {
    reason: String,
    reason_code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<usize>,
}

/// The class name reported for a passive reply. EPSV names no address: the data connection
/// goes to the control connection's peer, reported as `control_peer`; a 227 whose numbers
/// are no IP address is `invalid`.
fn class_name(passive: &Passive) -> &'static str {
    match passive.address {
        Some(ip) => AddressClass::of(ip).as_str(),
        None if passive.address_invalid() => "invalid",
        None => "control_peer",
    }
}

fn json_item(item: &DecodeItem) -> JsonItem<'_> {
    let mut j = JsonItem {
        input: &item.input,
        kind: None,
        code: None,
        address: None,
        port: None,
        class: None,
        flags: None,
        shape: None,
        parse_failures: None,
        anomalies: None,
        verdict: None,
        error: None,
    };
    match &item.outcome {
        Outcome::Decoded {
            passive,
            anomalies,
            failures,
        } => {
            j.kind = Some(passive.kind);
            j.code = Some(passive.code);
            j.address = passive.address.map(|a| a.to_string());
            j.port = Some(passive.port);
            j.class = Some(class_name(passive));
            j.flags = Some(
                passive
                    .flags
                    .iter()
                    .map(|f| JsonNote {
                        flag: f.name(),
                        message: f.to_string(),
                    })
                    .collect(),
            );
            j.shape = Some(&passive.shape);
            j.parse_failures = Some(
                failures
                    .iter()
                    .map(|f| JsonParseFailure {
                        client: f.client.name().to_string(),
                        reason: f.reason,
                    })
                    .collect(),
            );
            j.anomalies = Some(anomalies.iter().map(ToString::to_string).collect());
            j.verdict = Some(advertised::verdict(passive));
        }
        Outcome::Failed { code, kind, error } => {
            j.kind = *kind;
            j.code = *code;
            j.error = Some(JsonError {
                reason: error.reason(),
                reason_code: error.reason_code(),
                position: error.position(),
            });
        }
    }
    j
}

/// One JSON object per item, one per line.
pub fn write_json_lines(out: &mut dyn Write, items: &[DecodeItem]) -> io::Result<()> {
    for item in items {
        serde_json::to_writer(&mut *out, &json_item(item))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

// ---- Text ----

fn shape_notes(shape: &Shape) -> Vec<String> {
    let mut notes = Vec::new();
    match shape {
        Shape::Pasv(p) => {
            notes.push(if p.parentheses {
                "numbers in parentheses".to_string()
            } else {
                "no parentheses around the numbers".to_string()
            });
            if p.before == proto::passive::Boundary::Equals {
                notes.push("numbers follow '='".to_string());
            }
            if p.blanks_in_tuple {
                notes.push("blanks around the commas".to_string());
            }
            if p.padded_parentheses {
                notes.push("blanks inside the parentheses".to_string());
            }
            if p.leading_zeros {
                notes.push("numbers with leading zeros".to_string());
            }
            if p.final_dot {
                notes.push("final dot".to_string());
            }
            if p.multiline {
                notes.push("multi-line reply".to_string());
            }
        }
        Shape::Epsv(e) => {
            notes.push(format!(
                "delimiter {}",
                proto::passive::byte_name(u8::try_from(u32::from(e.delimiter)).unwrap_or(b'?'))
            ));
            if e.address_fields {
                notes.push("protocol/address fields filled".to_string());
            }
            if e.final_dot {
                notes.push("final dot".to_string());
            }
            if e.multiline {
                notes.push("multi-line reply".to_string());
            }
        }
        Shape::Lpsv {
            parentheses,
            multiline,
        } => {
            notes.push(if *parentheses {
                "numbers in parentheses".to_string()
            } else {
                "no parentheses around the numbers".to_string()
            });
            if *multiline {
                notes.push("multi-line reply".to_string());
            }
        }
    }
    notes
}

fn write_text_item(out: &mut dyn Write, item: &DecodeItem) -> io::Result<()> {
    writeln!(out, "{}", item.input)?;
    match &item.outcome {
        Outcome::Decoded {
            passive,
            anomalies,
            failures,
        } => {
            writeln!(
                out,
                "  kind     {} reply ({})",
                passive.kind.command(),
                passive.code
            )?;
            match passive.address {
                Some(ip) => {
                    let class = AddressClass::of(ip);
                    let mut line = format!("  address  {ip}  {}", class.describe());
                    if class == AddressClass::Ipv4Mapped {
                        let inner = classify_effective(ip);
                        line.push_str(&format!(" of a {}", inner.describe()));
                    }
                    writeln!(out, "{line}")?;
                }
                None if passive.address_invalid() => {
                    writeln!(out, "  address  not an IP address (see the flag below)")?
                }
                None => writeln!(
                    out,
                    "  address  none given: the client reuses the control connection's address"
                )?,
            }
            if passive.kind == PassiveKind::Pasv {
                writeln!(
                    out,
                    "  port     {}  ({}*256 + {})",
                    passive.port,
                    passive.port >> 8,
                    passive.port & 0xff
                )?;
            } else {
                writeln!(out, "  port     {}", passive.port)?;
            }
            writeln!(out, "  shape    {}", shape_notes(&passive.shape).join(", "))?;
            for flag in &passive.flags {
                writeln!(out, "  flag     {flag}")?;
            }
            for anomaly in anomalies {
                writeln!(out, "  anomaly  {anomaly}")?;
            }
            let verdict = advertised::verdict(passive);
            writeln!(out, "  verdict  {}", verdict.summary)?;
            for line in &verdict.fix {
                writeln!(out, "  fix      {line}")?;
            }
            if passive.kind == PassiveKind::Lpsv {
                // The table holds 227 and 229 parsers: no family's LPSV parser is in it.
                writeln!(
                    out,
                    "  clients  the client table covers 227 and 229 parsers, not LPSV"
                )?;
            } else if failures.is_empty() {
                writeln!(
                    out,
                    "  clients  every known client parser accepts this shape"
                )?;
            } else {
                for f in failures {
                    writeln!(
                        out,
                        "  clients  {} cannot use it: {}",
                        f.client.name(),
                        f.reason
                    )?;
                }
            }
        }
        Outcome::Failed { error, .. } => {
            if let Some(pos) = error.position()
                && !item.input.contains('\n')
                && pos < item.input.len()
                && item.input.is_char_boundary(pos)
            {
                let width = item.input[..pos].chars().count();
                writeln!(out, "{}^", " ".repeat(width))?;
            }
            writeln!(out, "  error    {}", error.reason())?;
        }
    }
    Ok(())
}

/// Readable text, one block per item separated by blank lines.
pub fn write_text(out: &mut dyn Write, items: &[DecodeItem]) -> io::Result<()> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write_text_item(out, item)?;
    }
    out.flush()
}

//! Passive-mode reply decoders: PASV (227, RFC 959 / RFC 1123), EPSV (229, RFC 2428) and
//! LPSV (228, RFC 1639).
//!
//! The decoders follow the rules, not a list of known strings: RFC 1123 4.1.2.6 says the 227
//! text is not standardised and a client must scan for the six numbers, and RFC 2428 allows
//! any delimiter in ASCII 33-126. Besides the address and port they record the *shape* of
//! the reply (parentheses, separators, leading text), because clients are stricter than the
//! RFCs and a reply that decodes here can still break a named client ([`super::compat`]).
//!
//! Positions in errors are byte offsets into the reply as received (lines joined with `\n`,
//! codes included), so a message can point at the offending byte.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::reply::Reply;

/// Which passive reply this is, by its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PassiveKind {
    /// 227, the answer to PASV.
    Pasv,
    /// 229, the answer to EPSV.
    Epsv,
    /// 228, the answer to LPSV.
    Lpsv,
}

impl PassiveKind {
    /// The kind a reply code announces, if it is a passive reply.
    pub fn from_code(code: u16) -> Option<PassiveKind> {
        match code {
            227 => Some(PassiveKind::Pasv),
            228 => Some(PassiveKind::Lpsv),
            229 => Some(PassiveKind::Epsv),
            _ => None,
        }
    }

    /// The command that normally gets this reply.
    pub fn command(self) -> &'static str {
        match self {
            PassiveKind::Pasv => "PASV",
            PassiveKind::Epsv => "EPSV",
            PassiveKind::Lpsv => "LPSV",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PassiveKind::Pasv => "pasv",
            PassiveKind::Epsv => "epsv",
            PassiveKind::Lpsv => "lpsv",
        }
    }
}

/// What the character right before or after a PASV tuple is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    /// `(` before or `)` after.
    Paren,
    /// A blank.
    Space,
    /// `=` (seen as `227 =h1,h2,...`).
    Equals,
    /// The start or end of the line.
    Edge,
    /// Any other character.
    Other,
}

/// How a 227 reply was written, beyond its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasvShape {
    /// The tuple is enclosed in parentheses.
    pub parentheses: bool,
    /// What precedes the first number.
    pub before: Boundary,
    /// What follows the last number.
    pub after: Boundary,
    /// Blanks stand next to the commas inside the tuple.
    pub blanks_in_tuple: bool,
    /// A number is written with leading zeros (`010`).
    pub leading_zeros: bool,
    /// The reply ends with a dot.
    pub final_dot: bool,
    /// The reply spans several lines.
    pub multiline: bool,
    /// The text between the code and the tuple (or its opening parenthesis).
    pub leading_text: String,
}

/// How a 229 reply was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpsvShape {
    /// The delimiter character (RFC 2428 recommends `|`).
    pub delimiter: char,
    /// The network-protocol or address fields are not empty.
    pub address_fields: bool,
    /// The reply ends with a dot.
    pub final_dot: bool,
    /// The reply spans several lines.
    pub multiline: bool,
    /// The text between the code and the opening parenthesis.
    pub leading_text: String,
}

/// The shape of a decoded reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Shape {
    Pasv(PasvShape),
    Epsv(EpsvShape),
    Lpsv { parentheses: bool, multiline: bool },
}

/// Something notable about a reply that still decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "flag")]
pub enum Flag {
    /// The port is 0: no client can connect to it.
    PortZero,
    /// The address is `0.0.0.0` (or `::`): the server did not know what to advertise.
    AddressUnspecified,
    /// The reply answers another command than the one its code belongs to
    /// (a 227 answering EPSV, a 229 answering PASV).
    AnswersOtherCommand { sent: PassiveKind },
    /// EPSV fields that RFC 2428 leaves empty in replies carry values.
    EpsvAddressFields,
    /// More numbers follow the six of a PASV tuple.
    ExtraNumbers,
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::PortZero => f.write_str("port 0: no client can connect to it"),
            Flag::AddressUnspecified => {
                f.write_str("address 0.0.0.0: the server does not know which address to advertise")
            }
            Flag::AnswersOtherCommand { sent } => {
                write!(f, "this reply answered {}", sent.command())
            }
            Flag::EpsvAddressFields => {
                f.write_str("EPSV reply fills the protocol/address fields RFC 2428 leaves empty")
            }
            Flag::ExtraNumbers => f.write_str("more than six numbers follow each other"),
        }
    }
}

/// A decoded passive reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passive {
    pub kind: PassiveKind,
    /// The reply code as received.
    pub code: u16,
    /// The advertised address; `None` for EPSV, whose data address is the control peer.
    pub address: Option<IpAddr>,
    pub port: u16,
    pub shape: Shape,
    pub flags: Vec<Flag>,
}

/// The names of the six PASV numbers, for messages.
const PASV_FIELDS: [&str; 6] = ["h1", "h2", "h3", "h4", "p1", "p2"];

/// Why a passive reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason_code")]
pub enum DecodeError {
    /// The code is not one of 227, 228, 229.
    NotPassive { code: u16 },
    /// No run of numbers at all.
    NoNumbers,
    /// Fewer numbers than the reply needs; `found` were read starting at `position`.
    MissingNumber {
        found: usize,
        expected: usize,
        missing: String,
        position: usize,
    },
    /// A number above what its field can hold.
    NumberTooLarge {
        field: String,
        value: u64,
        max: u64,
        position: usize,
    },
    /// EPSV: no `(` in the reply.
    NoParenthesis,
    /// EPSV: the delimiter is outside ASCII 33-126.
    BadDelimiter { byte: u8, position: usize },
    /// EPSV: fewer than four delimiters before `)` or the end.
    MissingDelimiter {
        delimiter: char,
        found: usize,
        position: usize,
    },
    /// EPSV: the port field is empty or not a number.
    PortNotNumber { field: String, position: usize },
    /// EPSV: port 0.
    PortZero { position: usize },
    /// LPSV: an address family other than 4 (IPv4) or 6 (IPv6).
    UnsupportedFamily { family: u64, position: usize },
    /// LPSV: an address or port length that does not fit the family.
    BadLength {
        field: String,
        value: u64,
        expected: u64,
        position: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotPassive { code } => write!(
                f,
                "reply code {code} is not a passive-mode reply (227 PASV, 228 LPSV, 229 EPSV)"
            ),
            DecodeError::NoNumbers => {
                f.write_str("no address numbers found: a 227 reply must carry h1,h2,h3,h4,p1,p2")
            }
            DecodeError::MissingNumber {
                found,
                expected,
                missing,
                position,
            } => write!(
                f,
                "only {found} of {expected} numbers found (starting at byte {position}): {missing} is missing"
            ),
            DecodeError::NumberTooLarge {
                field,
                value,
                max,
                position,
            } => write!(
                f,
                "{field} is {value} at byte {position}, above the maximum of {max}"
            ),
            DecodeError::NoParenthesis => {
                f.write_str("no '(' found: RFC 2428 puts the port in parentheses, as in (|||6446|)")
            }
            DecodeError::BadDelimiter { byte, position } => write!(
                f,
                "delimiter byte 0x{byte:02x} at byte {position} is outside ASCII 33-126 (RFC 2428)"
            ),
            DecodeError::MissingDelimiter {
                delimiter,
                found,
                position,
            } => write!(
                f,
                "a delimiter field is missing: found {found} of 4 '{delimiter}' delimiters after byte {position} (expected (|||port|))"
            ),
            DecodeError::PortNotNumber { field, position } => {
                if field.is_empty() {
                    write!(f, "the port field at byte {position} is empty")
                } else {
                    write!(
                        f,
                        "the port field \"{field}\" at byte {position} is not a number"
                    )
                }
            }
            DecodeError::PortZero { position } => write!(
                f,
                "port 0 at byte {position}: EPSV ports must be 1-65535 (RFC 2428)"
            ),
            DecodeError::UnsupportedFamily { family, position } => write!(
                f,
                "address family {family} at byte {position} is neither 4 (IPv4) nor 6 (IPv6)"
            ),
            DecodeError::BadLength {
                field,
                value,
                expected,
                position,
            } => write!(
                f,
                "{field} is {value} at byte {position}, expected {expected}"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// The byte offset the error points at, when it points at one.
    pub fn position(&self) -> Option<usize> {
        match self {
            DecodeError::NotPassive { .. }
            | DecodeError::NoNumbers
            | DecodeError::NoParenthesis => None,
            DecodeError::MissingNumber { position, .. }
            | DecodeError::NumberTooLarge { position, .. }
            | DecodeError::BadDelimiter { position, .. }
            | DecodeError::MissingDelimiter { position, .. }
            | DecodeError::PortNotNumber { position, .. }
            | DecodeError::PortZero { position }
            | DecodeError::UnsupportedFamily { position, .. }
            | DecodeError::BadLength { position, .. } => Some(*position),
        }
    }
}

/// Decodes a passive reply by its code. `sent` is the command that drew the reply, when
/// known: a 227 answering EPSV (or a 229 answering PASV) decodes and is flagged.
pub fn decode(reply: &Reply, sent: Option<PassiveKind>) -> Result<Passive, DecodeError> {
    let kind =
        PassiveKind::from_code(reply.code).ok_or(DecodeError::NotPassive { code: reply.code })?;
    let raw: Vec<u8> = reply.lines.join(&b'\n');
    let multiline = reply.is_multiline();
    let mut passive = match kind {
        PassiveKind::Pasv => decode_pasv_text(&raw, multiline)?,
        PassiveKind::Epsv => decode_epsv_text(&raw, multiline)?,
        PassiveKind::Lpsv => decode_lpsv_text(&raw, multiline)?,
    };
    passive.code = reply.code;
    if let Some(sent) = sent
        && sent != kind
    {
        passive.flags.push(Flag::AnswersOtherCommand { sent });
    }
    Ok(passive)
}

/// Where the text after the first line's code starts.
fn body_start(raw: &[u8]) -> usize {
    match raw {
        [a, b, c, sep, ..]
            if a.is_ascii_digit()
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && (*sep == b' ' || *sep == b'-') =>
        {
            4
        }
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => 3,
        _ => 0,
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// One number inside a comma-separated run.
#[derive(Debug, Clone, Copy)]
struct Num {
    value: u64,
    start: usize,
    end: usize,
}

/// Reads up to `max` comma-separated numbers starting at `start` (a digit), with blanks
/// allowed around the commas. Returns the numbers, whether blanks were seen, and whether
/// another number follows the last one read.
fn read_numbers(s: &[u8], start: usize, max: usize) -> (Vec<Num>, bool, bool) {
    let mut nums = Vec::new();
    let mut blanks = false;
    let mut i = start;
    loop {
        let begin = i;
        let mut value: u64 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            value = value
                .saturating_mul(10)
                .saturating_add(u64::from(s[i] - b'0'));
            i += 1;
        }
        nums.push(Num {
            value,
            start: begin,
            end: i,
        });
        // Look for `<blanks>,<blanks><digit>`.
        let mut j = i;
        while j < s.len() && is_blank(s[j]) {
            j += 1;
        }
        if j >= s.len() || s[j] != b',' {
            return (nums, blanks, false);
        }
        let comma = j;
        j += 1;
        while j < s.len() && is_blank(s[j]) {
            j += 1;
        }
        if j >= s.len() || !s[j].is_ascii_digit() {
            return (nums, blanks, false);
        }
        if nums.len() == max {
            return (nums, blanks, true);
        }
        if j != comma + 1 || comma != i {
            blanks = true;
        }
        i = j;
    }
}

/// Candidate starts: each digit that does not follow another digit.
fn number_starts(s: &[u8], from: usize) -> impl Iterator<Item = usize> + '_ {
    (from..s.len())
        .filter(move |&i| s[i].is_ascii_digit() && (i == 0 || !s[i - 1].is_ascii_digit()))
}

fn boundary_before(s: &[u8], at: usize) -> Boundary {
    match at.checked_sub(1).map(|i| s[i]) {
        None | Some(b'\n') => Boundary::Edge,
        Some(b'(') => Boundary::Paren,
        Some(b' ' | b'\t') => Boundary::Space,
        Some(b'=') => Boundary::Equals,
        Some(_) => Boundary::Other,
    }
}

fn boundary_after(s: &[u8], at: usize) -> Boundary {
    match s.get(at) {
        None | Some(b'\n' | b'\r') => Boundary::Edge,
        Some(b')') => Boundary::Paren,
        Some(b' ' | b'\t') => Boundary::Space,
        Some(b'=') => Boundary::Equals,
        Some(_) => Boundary::Other,
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ends_with_dot(s: &[u8]) -> bool {
    s.iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'.')
}

/// RFC 1123 4.1.2.6: scan for the six numbers wherever they stand.
fn decode_pasv_text(s: &[u8], multiline: bool) -> Result<Passive, DecodeError> {
    let from = body_start(s);
    let mut best: Option<(Vec<Num>, usize)> = None;
    for start in number_starts(s, from) {
        let (nums, blanks, more) = read_numbers(s, start, 6);
        if nums.len() < 6 {
            if best.as_ref().is_none_or(|(b, _)| nums.len() > b.len()) {
                best = Some((nums, start));
            }
            continue;
        }
        for (field, n) in PASV_FIELDS.iter().zip(&nums) {
            if n.value > 255 {
                return Err(DecodeError::NumberTooLarge {
                    field: (*field).to_string(),
                    value: n.value,
                    max: 255,
                    position: n.start,
                });
            }
        }
        let b = |i: usize| nums[i].value as u8;
        let address = Ipv4Addr::new(b(0), b(1), b(2), b(3));
        let port = u16::from(b(4)) << 8 | u16::from(b(5));
        let end = nums[5].end;
        let before = boundary_before(s, start);
        let after = boundary_after(s, end);
        // Blanks between the parenthesis and the numbers still count as enclosed.
        let open = s[from..start]
            .iter()
            .rposition(|c| !is_blank(*c))
            .map(|i| from + i);
        let close = s[end..].iter().position(|c| !is_blank(*c)).map(|i| end + i);
        let parentheses = open.is_some_and(|i| s[i] == b'(') && close.is_some_and(|i| s[i] == b')');
        let leading_end = match open {
            Some(i) if s[i] == b'(' => i,
            _ => start,
        };
        let shape = PasvShape {
            parentheses,
            before,
            after,
            blanks_in_tuple: blanks
                || (parentheses && (open != start.checked_sub(1) || close != Some(end))),
            leading_zeros: nums
                .iter()
                .any(|n| n.end - n.start > 1 && s[n.start] == b'0'),
            final_dot: ends_with_dot(s),
            multiline,
            leading_text: lossy(&s[from..leading_end]).trim().to_string(),
        };
        let mut flags = Vec::new();
        if address.is_unspecified() {
            flags.push(Flag::AddressUnspecified);
        }
        if port == 0 {
            flags.push(Flag::PortZero);
        }
        if more {
            flags.push(Flag::ExtraNumbers);
        }
        return Ok(Passive {
            kind: PassiveKind::Pasv,
            code: 227,
            address: Some(IpAddr::V4(address)),
            port,
            shape: Shape::Pasv(shape),
            flags,
        });
    }
    match best {
        Some((nums, start)) if nums.len() >= 2 => Err(DecodeError::MissingNumber {
            found: nums.len(),
            expected: 6,
            missing: PASV_FIELDS[nums.len()].to_string(),
            position: start,
        }),
        _ => Err(DecodeError::NoNumbers),
    }
}

/// RFC 2428: `(<d><d><d><port><d>)` with any delimiter in ASCII 33-126.
fn decode_epsv_text(s: &[u8], multiline: bool) -> Result<Passive, DecodeError> {
    let from = body_start(s);
    let parens: Vec<usize> = (from..s.len()).filter(|&i| s[i] == b'(').collect();
    let Some(&first_paren) = parens.first() else {
        return Err(DecodeError::NoParenthesis);
    };
    // Prefer the first parenthesis that opens a plausible field list; report errors
    // against the first one otherwise.
    let open = parens
        .iter()
        .copied()
        .find(|&i| {
            matches!(s.get(i + 1), Some(&d) if (33..=126).contains(&d) && !d.is_ascii_digit())
                && s[i + 1..].iter().filter(|&&c| c == s[i + 1]).count() >= 4
        })
        .unwrap_or(first_paren);
    let dpos = open + 1;
    let d = match s.get(dpos) {
        Some(&d) if (33..=126).contains(&d) => d,
        Some(&d) => {
            return Err(DecodeError::BadDelimiter {
                byte: d,
                position: dpos,
            });
        }
        None => {
            return Err(DecodeError::MissingDelimiter {
                delimiter: '|',
                found: 0,
                position: open,
            });
        }
    };
    // The field list ends at the closing parenthesis, or the line's end if there is none.
    let stop = (dpos..s.len())
        .find(|&i| s[i] == b')' && d != b')' || s[i] == b'\n')
        .unwrap_or(s.len());
    let delims: Vec<usize> = (dpos..stop).filter(|&i| s[i] == d).collect();
    if delims.len() < 4 {
        return Err(DecodeError::MissingDelimiter {
            delimiter: char::from(d),
            found: delims.len(),
            position: open,
        });
    }
    let (d1, d2, d3, d4) = (delims[0], delims[1], delims[2], delims[3]);
    let address_fields = d2 > d1 + 1 || d3 > d2 + 1;
    let field = &s[d3 + 1..d4];
    let port_pos = d3 + 1;
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::PortNotNumber {
            field: lossy(field),
            position: port_pos,
        });
    }
    let value = field.iter().fold(0u64, |acc, c| {
        acc.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    });
    if value == 0 {
        return Err(DecodeError::PortZero { position: port_pos });
    }
    let port = u16::try_from(value).map_err(|_| DecodeError::NumberTooLarge {
        field: "port".to_string(),
        value,
        max: 65535,
        position: port_pos,
    })?;
    let mut flags = Vec::new();
    let mut address = None;
    if address_fields {
        flags.push(Flag::EpsvAddressFields);
        // RFC 2428 EPRT syntax for the fields: 1 = IPv4, 2 = IPv6. Keep the address when
        // it parses; it is what the server said.
        let addr_text = lossy(&s[d2 + 1..d3]);
        address = addr_text.parse::<IpAddr>().ok();
    }
    let shape = EpsvShape {
        delimiter: char::from(d),
        address_fields,
        final_dot: ends_with_dot(s),
        multiline,
        leading_text: lossy(&s[from..open]).trim().to_string(),
    };
    Ok(Passive {
        kind: PassiveKind::Epsv,
        code: 229,
        address,
        port,
        shape: Shape::Epsv(shape),
        flags,
    })
}

/// RFC 1639: `(af,hal,h1,...,hn,pal,p1,...,pn)`.
fn decode_lpsv_text(s: &[u8], multiline: bool) -> Result<Passive, DecodeError> {
    let from = body_start(s);
    // Prefer a run right after `(`, else the first run of numbers.
    let start = number_starts(s, from)
        .find(|&i| i > 0 && s[i - 1] == b'(')
        .or_else(|| number_starts(s, from).next())
        .ok_or(DecodeError::NoNumbers)?;
    let (nums, _, _) = read_numbers(s, start, 2 + 16 + 1 + 2);
    let missing = |found: usize, expected: usize, what: &str| DecodeError::MissingNumber {
        found,
        expected,
        missing: what.to_string(),
        position: start,
    };
    if nums.len() < 2 {
        return Err(missing(nums.len(), 2, "the address length"));
    }
    let (af, hal) = (nums[0], nums[1]);
    let expected_len = match af.value {
        4 => 4,
        6 => 16,
        other => {
            return Err(DecodeError::UnsupportedFamily {
                family: other,
                position: af.start,
            });
        }
    };
    if hal.value != expected_len {
        return Err(DecodeError::BadLength {
            field: "address length".to_string(),
            value: hal.value,
            expected: expected_len,
            position: hal.start,
        });
    }
    let hal = expected_len as usize;
    let needed = 2 + hal + 1 + 2;
    if nums.len() < needed {
        return Err(missing(nums.len(), needed, "a number"));
    }
    let pal = nums[2 + hal];
    if pal.value != 2 {
        return Err(DecodeError::BadLength {
            field: "port length".to_string(),
            value: pal.value,
            expected: 2,
            position: pal.start,
        });
    }
    let mut bytes = Vec::with_capacity(hal + 2);
    for (i, n) in nums[2..2 + hal]
        .iter()
        .chain(&nums[3 + hal..needed])
        .enumerate()
    {
        if n.value > 255 {
            let field = if i < hal {
                format!("address byte {}", i + 1)
            } else {
                format!("port byte {}", i - hal + 1)
            };
            return Err(DecodeError::NumberTooLarge {
                field,
                value: n.value,
                max: 255,
                position: n.start,
            });
        }
        bytes.push(n.value as u8);
    }
    let address = if hal == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&bytes[..16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let port = u16::from(bytes[hal]) << 8 | u16::from(bytes[hal + 1]);
    let mut flags = Vec::new();
    if address.is_unspecified() {
        flags.push(Flag::AddressUnspecified);
    }
    if port == 0 {
        flags.push(Flag::PortZero);
    }
    Ok(Passive {
        kind: PassiveKind::Lpsv,
        code: 228,
        address: Some(address),
        port,
        shape: Shape::Lpsv {
            parentheses: start > 0 && s[start - 1] == b'(',
            multiline,
        },
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::reply::{Limits, parse_all};

    fn dec(text: &str) -> Result<Passive, DecodeError> {
        dec_sent(text, None)
    }

    fn dec_sent(text: &str, sent: Option<PassiveKind>) -> Result<Passive, DecodeError> {
        let mut all = parse_all(text.as_bytes(), Limits::default());
        let reply = all.remove(0).expect("reply assembles");
        decode(&reply, sent)
    }

    fn v4(p: &Passive) -> String {
        p.address.map(|a| a.to_string()).unwrap_or_default()
    }

    fn pasv_shape(p: &Passive) -> &PasvShape {
        match &p.shape {
            Shape::Pasv(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rfc959_pasv() {
        let p = dec("227 Entering Passive Mode (192,0,2,10,195,80).").unwrap();
        assert_eq!(v4(&p), "192.0.2.10");
        assert_eq!(p.port, 50000);
        let s = pasv_shape(&p);
        assert!(s.parentheses && s.final_dot && !s.blanks_in_tuple);
        assert_eq!(s.before, Boundary::Paren);
        assert_eq!(s.leading_text, "Entering Passive Mode");
    }

    #[test]
    fn pasv_without_parentheses_and_after_equals() {
        let p = dec("227 Entering passive mode. 127,0,0,1,4,51").unwrap();
        assert_eq!((v4(&p).as_str(), p.port), ("127.0.0.1", 1075));
        assert!(!pasv_shape(&p).parentheses);
        let p = dec("227 =127,0,0,1,4,51").unwrap();
        assert_eq!(pasv_shape(&p).before, Boundary::Equals);
    }

    #[test]
    fn pasv_blanks_and_lowercase() {
        let p = dec("227 entering passive mode ( 10, 0, 0, 5, 195, 80 )").unwrap();
        assert_eq!((v4(&p).as_str(), p.port), ("10.0.0.5", 50000));
        let s = pasv_shape(&p);
        assert!(s.blanks_in_tuple && s.parentheses);
    }

    #[test]
    fn pasv_skips_digits_in_leading_text() {
        let p = dec("227 IPv4 passive (10,0,0,5,4,1)").unwrap();
        assert_eq!(p.port, 1025);
    }

    #[test]
    fn pasv_number_above_255_names_the_field() {
        let e = dec("227 Entering Passive Mode (10,0,256,5,195,80)").unwrap_err();
        assert_eq!(
            e,
            DecodeError::NumberTooLarge {
                field: "h3".into(),
                value: 256,
                max: 255,
                position: 32
            }
        );
        assert_eq!(
            e.to_string(),
            "h3 is 256 at byte 32, above the maximum of 255"
        );
    }

    #[test]
    fn pasv_missing_number_names_the_field() {
        let e = dec("227 Entering Passive Mode (10,0,0,5,195)").unwrap_err();
        assert_eq!(
            e,
            DecodeError::MissingNumber {
                found: 5,
                expected: 6,
                missing: "p2".into(),
                position: 27
            }
        );
    }

    #[test]
    fn pasv_port_zero_and_unspecified_are_flagged() {
        let p = dec("227 Entering Passive Mode (0,0,0,0,0,0)").unwrap();
        assert_eq!(p.flags, vec![Flag::AddressUnspecified, Flag::PortZero]);
    }

    #[test]
    fn pasv_multiline() {
        let p = dec("227-Entering Passive Mode\r\n227 (10,0,0,5,195,80)\r\n").unwrap();
        assert_eq!(p.port, 50000);
        assert!(pasv_shape(&p).multiline);
    }

    #[test]
    fn pasv_no_numbers() {
        assert_eq!(
            dec("227 Entering Passive Mode").unwrap_err(),
            DecodeError::NoNumbers
        );
    }

    #[test]
    fn epsv_standard_and_other_delimiter() {
        let p = dec("229 Entering Extended Passive Mode (|||50006|).").unwrap();
        assert_eq!((p.address, p.port), (None, 50006));
        let p = dec("229 Entering Extended Passive Mode (!!!6446!)").unwrap();
        assert_eq!(p.port, 6446);
        match &p.shape {
            Shape::Epsv(s) => assert_eq!(s.delimiter, '!'),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn epsv_errors_are_precise() {
        assert!(matches!(
            dec("229 Entering Extended Passive Mode (||6446|)").unwrap_err(),
            DecodeError::MissingDelimiter { found: 3, .. }
        ));
        assert!(matches!(
            dec("229 Entering Extended Passive Mode (|||0|)").unwrap_err(),
            DecodeError::PortZero { .. }
        ));
        assert!(matches!(
            dec("229 Entering Extended Passive Mode (|||65536|)").unwrap_err(),
            DecodeError::NumberTooLarge { value: 65536, .. }
        ));
        assert_eq!(
            dec("229 Entering Extended Passive Mode |||6446|").unwrap_err(),
            DecodeError::NoParenthesis
        );
        assert!(matches!(
            dec("229 Entering Extended Passive Mode (|||abc|)").unwrap_err(),
            DecodeError::PortNotNumber { .. }
        ));
    }

    #[test]
    fn cross_answers_are_flagged() {
        let p = dec_sent(
            "227 Entering Passive Mode (10,0,0,5,4,1)",
            Some(PassiveKind::Epsv),
        )
        .unwrap();
        assert_eq!(
            p.flags,
            vec![Flag::AnswersOtherCommand {
                sent: PassiveKind::Epsv
            }]
        );
        let p = dec_sent(
            "229 Entering Passive Mode (|||63539|)",
            Some(PassiveKind::Pasv),
        )
        .unwrap();
        assert_eq!(p.kind, PassiveKind::Epsv);
        assert!(matches!(p.flags[0], Flag::AnswersOtherCommand { .. }));
    }

    #[test]
    fn lpsv_v4_and_v6() {
        let p = dec("228 Entering Long Passive Mode (4,4,192,0,2,10,2,195,80)").unwrap();
        assert_eq!((v4(&p).as_str(), p.port), ("192.0.2.10", 50000));
        let p =
            dec("228 Entering Long Passive Mode (6,16,32,1,13,184,0,0,0,0,0,0,0,0,0,0,0,1,2,4,1)")
                .unwrap();
        assert_eq!((v4(&p).as_str(), p.port), ("2001:db8::1", 1025));
        assert!(matches!(
            dec("228 x (5,4,1,2,3,4,2,0,1)").unwrap_err(),
            DecodeError::UnsupportedFamily { family: 5, .. }
        ));
    }

    #[test]
    fn other_codes_are_not_passive() {
        assert_eq!(
            dec("550 Permission denied.").unwrap_err(),
            DecodeError::NotPassive { code: 550 }
        );
    }
}

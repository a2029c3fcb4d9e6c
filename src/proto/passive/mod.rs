//! Passive-mode reply decoders: PASV (227, RFC 959 / RFC 1123), EPSV (229, RFC 2428) and
//! LPSV (228, RFC 1639).
//!
//! The decoders follow the rules, not a list of known strings: RFC 1123 4.1.2.6 says the 227
//! text is not standardised and a client must scan for the six numbers, and RFC 2428 allows
//! any delimiter in ASCII 33-126. Besides the address and port they record the *shape* of
//! the reply (parentheses, separators, leading text, the numbers as written), because
//! clients are stricter than the RFCs and a reply that decodes here can still break a named
//! client ([`super::compat`]).
//!
//! Where widely used clients accept a reply the RFCs do not allow, the decoder accepts it
//! too and flags the oddity, so that a user sees what those clients see: address numbers
//! above 255 (the port still decodes; the address is marked invalid), negative numbers
//! read as signed bytes (basic-ftp and lftp do so), an EPSV delimiter that is a blank or
//! DEL (curl, lftp, Python ftplib and nmap accept it) and numbers beyond those the reply
//! needs. `fixtures/replies` holds the peers' own test replies behind each of these.
//!
//! Positions in errors are byte offsets into the reply as received (lines joined with `\n`,
//! codes included), so a message can point at the offending byte.

mod epsv;
mod error;
mod lpsv;
mod pasv;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::reply::Reply;

pub use error::DecodeError;

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

    /// The reply code that answers the command.
    pub fn code(self) -> u16 {
        match self {
            PassiveKind::Pasv => 227,
            PassiveKind::Lpsv => 228,
            PassiveKind::Epsv => 229,
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
    /// The numbers (all of them, extra ones included) are enclosed in parentheses.
    pub parentheses: bool,
    /// What precedes the first number (its minus sign, if it has one).
    pub before: Boundary,
    /// What follows the last number.
    pub after: Boundary,
    /// Blanks stand next to the commas.
    pub blanks_in_tuple: bool,
    /// Blanks stand between the parentheses and the numbers: `( 10,0,0,5,195,80 )`.
    pub padded_parentheses: bool,
    /// A blank stands right before a comma (`10 ,0`), which even sscanf-based parsers
    /// reject.
    pub blank_before_comma: bool,
    /// A number is written with leading zeros (`010`).
    pub leading_zeros: bool,
    /// The numbers as written, in order: h1-h4, p1, p2, then any extra ones.
    pub numbers: Vec<String>,
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

/// A negative number read as the byte a signed-byte writer meant (`-61` is 195).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedByte {
    /// `h1`..`p2`.
    pub field: &'static str,
    /// As written, minus sign included.
    pub written: String,
    /// The byte it is read as.
    pub byte: u8,
}

/// Something notable about a reply that still decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "flag")]
pub enum Flag {
    /// The port is 0: no client can connect to it.
    PortZero,
    /// The address is `0.0.0.0` (or `::`): the server did not know what to advertise.
    AddressUnspecified,
    /// The four address numbers are no IPv4 address (a number above 255, or a negative
    /// one that is not a signed byte). The port still decodes.
    AddressInvalid {
        /// The address as written, with dots: `256.256.256.256`.
        written: String,
        /// The first number that is not a byte, and its digits as written.
        field: &'static str,
        value: String,
    },
    /// Negative numbers, read as signed bytes (as basic-ftp and lftp read them).
    NegativeNumbers { numbers: Vec<SignedByte> },
    /// The reply answers another command than the one its code belongs to
    /// (a 227 answering EPSV, a 229 answering PASV).
    AnswersOtherCommand { sent: PassiveKind },
    /// EPSV fields that RFC 2428 leaves empty in replies carry values.
    EpsvAddressFields,
    /// The EPSV delimiter is a blank or DEL, outside RFC 2428's ASCII 33-126.
    DelimiterOutsideRfc { byte: u8 },
    /// More numbers follow each other than the reply needs; the first ones are read.
    ExtraNumbers { found: usize, used: usize },
}

impl Flag {
    /// The snake_case name used in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Flag::PortZero => "port_zero",
            Flag::AddressUnspecified => "address_unspecified",
            Flag::AddressInvalid { .. } => "address_invalid",
            Flag::NegativeNumbers { .. } => "negative_numbers",
            Flag::AnswersOtherCommand { .. } => "answers_other_command",
            Flag::EpsvAddressFields => "epsv_address_fields",
            Flag::DelimiterOutsideRfc { .. } => "delimiter_outside_rfc2428",
            Flag::ExtraNumbers { .. } => "extra_numbers",
        }
    }
}

/// A byte named for people: `'|'`, `a blank`, `DEL (0x7f)`.
pub(crate) fn byte_name(b: u8) -> String {
    match b {
        b' ' => "a blank (0x20)".to_string(),
        0x7f => "DEL (0x7f)".to_string(),
        33..=126 => format!("'{}'", char::from(b)),
        _ => format!("byte 0x{b:02x}"),
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::PortZero => f.write_str("port 0: no client can connect to it"),
            Flag::AddressUnspecified => {
                f.write_str("address 0.0.0.0: the server does not know which address to advertise")
            }
            Flag::AddressInvalid {
                written,
                field,
                value,
            } => {
                let why = if value.starts_with('-') {
                    "below -128, so not even a signed byte"
                } else {
                    "above 255"
                };
                write!(
                    f,
                    "the address {written} is not an IP address ({field} is {value}, {why}); \
                     the port still decodes, and clients that connect to the control \
                     connection's address instead still work"
                )
            }
            Flag::NegativeNumbers { numbers } => {
                let list: Vec<String> = numbers
                    .iter()
                    .map(|n| format!("{} {} as {}", n.field, n.written, n.byte))
                    .collect();
                write!(
                    f,
                    "negative numbers read as signed bytes, as basic-ftp and lftp read them: {}",
                    list.join(", ")
                )
            }
            Flag::AnswersOtherCommand { sent } => {
                write!(f, "this reply answered {}", sent.command())
            }
            Flag::EpsvAddressFields => {
                f.write_str("EPSV reply fills the protocol/address fields RFC 2428 leaves empty")
            }
            Flag::DelimiterOutsideRfc { byte } => write!(
                f,
                "the delimiter is {}, outside RFC 2428's ASCII 33-126; curl, lftp, Python \
                 ftplib and nmap accept it",
                byte_name(*byte)
            ),
            Flag::ExtraNumbers { found, used } => {
                write!(
                    f,
                    "{found} numbers follow each other where the reply needs {used}: the first \
                     {used} are read"
                )?;
                if *used == 6 {
                    // A 227: these parsers read the first six and ignore the rest.
                    f.write_str(
                        ", as curl, lftp, Python ftplib, jlaffaye/ftp and commons-net read them",
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// A decoded passive reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passive {
    pub kind: PassiveKind,
    /// The reply code as received.
    pub code: u16,
    /// The advertised address. `None` for EPSV, whose data address is the control peer,
    /// and for a 227 whose address numbers are no IP address ([`Flag::AddressInvalid`]).
    pub address: Option<IpAddr>,
    pub port: u16,
    pub shape: Shape,
    pub flags: Vec<Flag>,
}

impl Passive {
    /// The address numbers of a 227 are no IP address.
    pub fn address_invalid(&self) -> bool {
        self.flags
            .iter()
            .any(|f| matches!(f, Flag::AddressInvalid { .. }))
    }
}

/// The names of the six PASV numbers, for messages.
pub(crate) const PASV_FIELDS: [&str; 6] = ["h1", "h2", "h3", "h4", "p1", "p2"];

/// Decodes a passive reply by its code. `sent` is the command that drew the reply, when
/// known: a 227 answering EPSV (or a 229 answering PASV) decodes and is flagged.
pub fn decode(reply: &Reply, sent: Option<PassiveKind>) -> Result<Passive, DecodeError> {
    let kind =
        PassiveKind::from_code(reply.code).ok_or(DecodeError::NotPassive { code: reply.code })?;
    let raw: Vec<u8> = reply.lines.join(&b'\n');
    let multiline = reply.is_multiline();
    let mut passive = match kind {
        PassiveKind::Pasv => pasv::decode_text(&raw, multiline)?,
        PassiveKind::Epsv => epsv::decode_text(&raw, multiline)?,
        PassiveKind::Lpsv => lpsv::decode_text(&raw, multiline)?,
    };
    passive.code = reply.code;
    if let Some(sent) = sent
        && sent != kind
    {
        passive.flags.push(Flag::AnswersOtherCommand { sent });
    }
    Ok(passive)
}

// ---- helpers shared by the three decoders ----

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

/// One number inside a comma-separated run, as written.
#[derive(Debug, Clone, Copy)]
struct Num {
    /// Where its text starts: the minus sign, when there is one.
    start: usize,
    /// Where its digits start.
    digits: usize,
    end: usize,
    negative: bool,
    /// The value of the digits, saturated: for comparisons only. Messages show the text.
    value: u64,
}

impl Num {
    /// The number as written, sign included.
    fn text(&self, s: &[u8]) -> String {
        lossy(&s[self.start..self.end])
    }

    /// The digits as written, without the sign.
    fn digits_text(&self, s: &[u8]) -> String {
        lossy(&s[self.digits..self.end])
    }

    /// The byte this number stands for: 0-255 as itself, -128..-1 as a signed byte
    /// (`-61` is 195). `None` for anything else.
    fn byte(&self) -> Option<u8> {
        match (self.negative, self.value) {
            (false, v) => u8::try_from(v).ok(),
            (true, v @ 0..=128) => Some(((256 - v) % 256) as u8),
            (true, _) => None,
        }
    }
}

/// A run of comma-separated numbers.
#[derive(Debug, Clone)]
struct Run {
    nums: Vec<Num>,
    /// Blanks stand next to a comma.
    blanks: bool,
    /// A blank stands right before a comma.
    blank_before_comma: bool,
}

/// The most numbers one run is read to: enough for any reply (LPSV over IPv6 has 21) and
/// for seeing that there are extra ones, without growing with a hostile line.
const MAX_RUN: usize = 64;

/// Reads comma-separated numbers starting at `start` (a digit, or with `signed` a minus
/// sign before one), with blanks allowed around the commas.
fn read_run(s: &[u8], start: usize, signed: bool) -> Run {
    let mut run = Run {
        nums: Vec::new(),
        blanks: false,
        blank_before_comma: false,
    };
    let mut i = start;
    loop {
        let begin = i;
        let negative = signed && s.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits = i;
        let mut value: u64 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            value = value
                .saturating_mul(10)
                .saturating_add(u64::from(s[i] - b'0'));
            i += 1;
        }
        run.nums.push(Num {
            start: begin,
            digits,
            end: i,
            negative,
            value,
        });
        // Look for `<blanks>,<blanks>[-]<digit>`.
        let mut j = i;
        while j < s.len() && is_blank(s[j]) {
            j += 1;
        }
        if j >= s.len() || s[j] != b',' {
            return run;
        }
        let blank_before = j != i;
        let comma = j;
        j += 1;
        while j < s.len() && is_blank(s[j]) {
            j += 1;
        }
        let digit_at = if signed && s.get(j) == Some(&b'-') {
            j + 1
        } else {
            j
        };
        if digit_at >= s.len() || !s[digit_at].is_ascii_digit() || run.nums.len() == MAX_RUN {
            return run;
        }
        run.blank_before_comma |= blank_before;
        run.blanks |= blank_before || j != comma + 1;
        i = j;
    }
}

/// Candidate starts of a run: each digit that does not follow another digit, or, with
/// `signed`, the minus sign right before it when that follows `(`, a blank, `=` or a comma.
fn number_starts(s: &[u8], from: usize, signed: bool) -> impl Iterator<Item = usize> + '_ {
    (from..s.len())
        .filter(move |&i| s[i].is_ascii_digit() && (i == 0 || !s[i - 1].is_ascii_digit()))
        .map(move |i| {
            let sign = signed
                && i > from
                && s[i - 1] == b'-'
                && (i - 1 == from || matches!(s[i - 2], b'(' | b' ' | b'\t' | b'=' | b','));
            if sign { i - 1 } else { i }
        })
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

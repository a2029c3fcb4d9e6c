//! Why a passive reply could not be decoded. Each error names the field and the byte it
//! points at, and shows numbers as the digits the reply had (a 30-digit number is shown
//! as those 30 digits, not as a saturated integer).

use std::fmt;

use serde::Serialize;

use super::{PassiveKind, byte_name};

/// Why a passive reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason_code")]
pub enum DecodeError {
    /// The code is not one of 227, 228, 229.
    NotPassive { code: u16 },
    /// No run of numbers at all (227 and 228).
    NoNumbers { kind: PassiveKind },
    /// Fewer numbers than the reply needs; `found` were read starting at `position`.
    MissingNumber {
        found: usize,
        expected: usize,
        missing: String,
        position: usize,
    },
    /// A number above what its field can hold; `value` is the digits as written.
    NumberTooLarge {
        field: String,
        value: String,
        max: u64,
        position: usize,
    },
    /// A negative number where no signed byte can stand (a port byte below -128).
    NegativeNumber {
        field: String,
        value: String,
        position: usize,
    },
    /// EPSV: no `(` in the reply.
    NoParenthesis,
    /// EPSV: the delimiter is a control byte or outside ASCII.
    BadDelimiter { byte: u8, position: usize },
    /// EPSV: fewer than four delimiters before `)` or the end.
    MissingDelimiter {
        delimiter: char,
        found: usize,
        position: usize,
    },
    /// EPSV: the delimiters are not all the same character, as in `(|!!3106!)`.
    MixedDelimiters {
        first: char,
        other: char,
        position: usize,
    },
    /// EPSV: the port field is empty or not a number.
    PortNotNumber { field: String, position: usize },
    /// EPSV: port 0.
    PortZero { position: usize },
    /// LPSV: an address family other than 4 (IPv4) or 6 (IPv6).
    UnsupportedFamily { family: String, position: usize },
    /// LPSV: an address or port length that does not fit the family.
    BadLength {
        field: String,
        value: String,
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
            DecodeError::NoNumbers { kind } => match kind {
                PassiveKind::Lpsv => f.write_str(
                    "no address numbers found: a 228 reply must carry \
                     (af,hal,h1,...,pal,p1,p2), as in (4,4,192,0,2,10,2,195,80)",
                ),
                _ => f.write_str(
                    "no address numbers found: a 227 reply must carry h1,h2,h3,h4,p1,p2",
                ),
            },
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
            DecodeError::NegativeNumber {
                field,
                value,
                position,
            } => write!(
                f,
                "{field} is {value} at byte {position}: neither a byte (0 to 255) nor a \
                 signed byte (-128 to -1)"
            ),
            DecodeError::NoParenthesis => {
                f.write_str("no '(' found: RFC 2428 puts the port in parentheses, as in (|||6446|)")
            }
            DecodeError::BadDelimiter { byte, position } => write!(
                f,
                "the delimiter at byte {position} is {}, not a printable ASCII character \
                 (RFC 2428 allows 33-126)",
                byte_name(*byte)
            ),
            DecodeError::MissingDelimiter {
                delimiter,
                found,
                position,
            } => {
                if *found == 0 {
                    write!(
                        f,
                        "nothing follows the '(' at byte {position}: expected the fields, as in (|||6446|)"
                    )
                } else {
                    write!(
                        f,
                        "a delimiter field is missing: found {found} of 4 '{delimiter}' delimiters after byte {position} (expected (|||port|))"
                    )
                }
            }
            DecodeError::MixedDelimiters {
                first,
                other,
                position,
            } => write!(
                f,
                "the delimiters differ: the fields open with '{first}', but byte {position} is \
                 '{other}'; RFC 2428 repeats one delimiter, as in (|||6446|)"
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
                "the 228 reply's address family is {family} at byte {position}, neither 4 (IPv4) nor 6 (IPv6)"
            ),
            DecodeError::BadLength {
                field,
                value,
                expected,
                position,
            } => write!(
                f,
                "the 228 reply's {field} is {value} at byte {position}, expected {expected}"
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
            | DecodeError::NoNumbers { .. }
            | DecodeError::NoParenthesis => None,
            DecodeError::MissingNumber { position, .. }
            | DecodeError::NumberTooLarge { position, .. }
            | DecodeError::NegativeNumber { position, .. }
            | DecodeError::BadDelimiter { position, .. }
            | DecodeError::MissingDelimiter { position, .. }
            | DecodeError::MixedDelimiters { position, .. }
            | DecodeError::PortNotNumber { position, .. }
            | DecodeError::PortZero { position }
            | DecodeError::UnsupportedFamily { position, .. }
            | DecodeError::BadLength { position, .. } => Some(*position),
        }
    }

    /// The stable snake_case code used in JSON.
    pub fn reason_code(&self) -> &'static str {
        match self {
            DecodeError::NotPassive { .. } => "not_passive",
            DecodeError::NoNumbers { .. } => "no_numbers",
            DecodeError::MissingNumber { .. } => "missing_number",
            DecodeError::NumberTooLarge { .. } => "number_too_large",
            DecodeError::NegativeNumber { .. } => "negative_number",
            DecodeError::NoParenthesis => "no_parenthesis",
            DecodeError::BadDelimiter { .. } => "bad_delimiter",
            DecodeError::MissingDelimiter { .. } => "missing_delimiter",
            DecodeError::MixedDelimiters { .. } => "mixed_delimiters",
            DecodeError::PortNotNumber { .. } => "port_not_number",
            DecodeError::PortZero { .. } => "port_zero",
            DecodeError::UnsupportedFamily { .. } => "unsupported_family",
            DecodeError::BadLength { .. } => "bad_length",
        }
    }
}

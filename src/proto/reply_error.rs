//! What the reply reader reports besides replies: tolerated deviations from RFC 959
//! ([`Anomaly`]) and input it could not assemble ([`ReplyError`]), with the offending bytes
//! kept short and shown escaped.

use std::fmt;

use super::reply::ERROR_SNIPPET;

/// A tolerated deviation from RFC 959, recorded so that analysis can report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A multi-line reply opened with one code and closed with another.
    ClosingCodeMismatch { opened: u16, closed: u16 },
    /// The code is three digits but outside the range 100-599 that RFC 959 defines.
    CodeOutOfRange { code: u16 },
    /// A line ended with LF alone instead of CRLF.
    BareLf,
    /// The stream ended inside the reply's last line (no line terminator).
    NoFinalNewline,
    /// The stream ended inside a multi-line reply, before its closing line.
    Truncated,
    /// A single-line reply consisted of the code alone, without a space or text.
    CodeOnly,
    /// The text is not valid UTF-8.
    NotUtf8,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::ClosingCodeMismatch { opened, closed } => write!(
                f,
                "multi-line reply opened with {opened} but closed with {closed}"
            ),
            Anomaly::CodeOutOfRange { code } => {
                write!(f, "reply code {code:03} is outside 100-599")
            }
            Anomaly::BareLf => f.write_str("line ended with LF instead of CRLF"),
            Anomaly::NoFinalNewline => f.write_str("last line had no line terminator"),
            Anomaly::Truncated => {
                f.write_str("connection closed before the multi-line reply was complete")
            }
            Anomaly::CodeOnly => f.write_str("reply is a bare code without text"),
            Anomaly::NotUtf8 => f.write_str("reply text is not valid UTF-8"),
        }
    }
}

/// Why bytes could not be assembled into a reply. Each error consumes the offending input,
/// so the reader can go on with what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line grew past the limit before its terminator arrived. The rest of that line is
    /// discarded as it arrives.
    LineTooLong { limit: usize, first_bytes: Vec<u8> },
    /// A reply grew past the line limit. The rest of that reply is discarded as it arrives.
    TooManyLines { limit: usize, first_bytes: Vec<u8> },
    /// A line that should start a reply does not begin with three digits.
    NotAReply { line: Vec<u8> },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::LineTooLong { limit, first_bytes } => write!(
                f,
                "reply line longer than {limit} bytes (starts with \"{}\")",
                escape_bytes(first_bytes)
            ),
            ReplyError::TooManyLines { limit, first_bytes } => write!(
                f,
                "reply has more than {limit} lines (starts with \"{}\")",
                escape_bytes(first_bytes)
            ),
            ReplyError::NotAReply { line } => write!(
                f,
                "line does not start with a three-digit reply code: \"{}\"",
                escape_bytes(line)
            ),
        }
    }
}

impl std::error::Error for ReplyError {}

/// Shows bytes as text, with control characters and invalid UTF-8 escaped, for messages.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

pub(super) fn snippet(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(ERROR_SNIPPET)].to_vec()
}

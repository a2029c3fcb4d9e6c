//! The log formats: how each client marks a line as sent, received or its own message. Each
//! format has a `recognise` (does this line have the format's shape? used to detect the
//! format) and a `parse` (lines to [`Item`]s). What the items mean is decided once, in
//! `build`, for every format alike.

pub mod bare;
pub mod curl;
pub mod filezilla;
pub mod lftp;
pub mod winscp;

use super::input::RawLine;

/// One line of a log, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Line number in the input (from 1).
    pub no: u64,
    /// Time of day in microseconds, when the line carries a timestamp.
    pub at_us: Option<u64>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A command the client sent.
    Sent(String),
    /// A reply line the client received.
    Received(String),
    /// The client's own message; `error` when the client marked it as one.
    Message { error: bool, text: String },
    /// A line of the format's own noise (a listing, a progress meter): read only for the
    /// client's identity.
    Other(String),
    /// Bytes the client says it received on a data connection.
    DataBytes(u64),
}

/// FTP commands (RFC 959, 2228, 2389, 2428, 3659, 4217, 7151 and common extensions).
const COMMANDS: &[&str] = &[
    "ABOR", "ACCT", "ADAT", "ALLO", "APPE", "AUTH", "CCC", "CDUP", "CLNT", "CONF", "CSID", "CWD",
    "DELE", "ENC", "EPRT", "EPSV", "FEAT", "HELP", "HOST", "LANG", "LIST", "LPRT", "LPSV", "MDTM",
    "MFCT", "MFF", "MFMT", "MIC", "MKD", "MLSD", "MLST", "MODE", "NLST", "NOOP", "OPTS", "PASS",
    "PASV", "PBSZ", "PORT", "PROT", "PWD", "QUIT", "REIN", "REST", "RETR", "RMD", "RNFR", "RNTO",
    "SITE", "SIZE", "SMNT", "STAT", "STOR", "STOU", "STRU", "SYST", "TYPE", "USER", "XCUP", "XCWD",
    "XMKD", "XPWD", "XRMD",
];

/// The command verb of a line written the way clients send them (upper case), if it is one.
pub fn command_verb(text: &str) -> Option<&'static str> {
    let word = text.split([' ', '\t']).next()?;
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    COMMANDS.iter().copied().find(|c| *c == word)
}

/// The reply code a line starts with: three digits, then a blank, `-` or the end.
pub fn reply_code(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !matches!(b.get(3), None | Some(b' ' | b'-' | b'\t')) {
        return None;
    }
    text[..3].parse().ok()
}

/// `HH:MM:SS`, `HH:MM:SS.mmm` or `HH:MM:SS,mmm` as microseconds since midnight.
pub fn time_of_day_us(token: &str) -> Option<u64> {
    let (hms, frac) = match token.split_once(['.', ',']) {
        Some((a, b)) => (a, Some(b)),
        None => (token, None),
    };
    let mut parts = hms.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let s: u64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let micros = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<6}");
            padded[..6].parse::<u64>().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + micros)
}

/// A format's entry points.
#[derive(Debug, Clone, Copy)]
pub struct Parser {
    pub recognise: fn(&str) -> bool,
    pub parse: fn(&[RawLine]) -> Vec<Item>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(command_verb("PASV"), Some("PASV"));
        assert_eq!(command_verb("USER alice"), Some("USER"));
        assert_eq!(command_verb("Type the password"), None);
        assert_eq!(reply_code("227 Entering"), Some(227));
        assert_eq!(reply_code("211-Features:"), Some(211));
        assert_eq!(reply_code("127.0.0.1"), None);
        assert_eq!(time_of_day_us("10:00:01.5"), Some(36_001_500_000));
        assert_eq!(time_of_day_us("25:00:00"), None);
    }
}

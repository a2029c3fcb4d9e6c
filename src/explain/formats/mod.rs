//! The log formats: how each client marks a line as sent, received or its own message. Each
//! format has a `recognise` (does this line have the format's shape? used to detect the
//! format) and a `parse` (lines to [`Item`]s). What the items mean is decided once, in
//! `build`, for every format alike.

pub mod arrows;
pub mod bare;
pub mod curl;
pub mod filezilla;
pub mod ftpcli;
pub mod ftplib;
pub mod goftp;
pub mod lftp;
pub mod winscp;

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

/// A line of no particular client's shape: a reply by its code, a command by its verb,
/// anything else a message (an error when it says so). Blank lines give nothing.
pub fn generic(text: &str) -> Option<Kind> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if reply_code(t).is_some() {
        return Some(Kind::Received(t.to_string()));
    }
    if command_verb(t).is_some() {
        return Some(Kind::Sent(t.to_string()));
    }
    let lower = t.to_ascii_lowercase();
    let error = [
        "error",
        "fail",
        "timed out",
        "timeout",
        "refused",
        "exception",
    ]
    .iter()
    .any(|w| lower.contains(w));
    Some(Kind::Message {
        error,
        text: t.to_string(),
    })
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

const WEEKDAYS_MONTHS: [&str; 19] = [
    "mon", "tue", "wed", "thu", "fri", "sat", "sun", "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec",
];
const ZONES: [&str; 8] = ["utc", "gmt", "z", "est", "edt", "cet", "cest", "pst"];
const LEVELS: [&str; 9] = [
    "debug", "info", "trace", "warn", "warning", "error", "notice", "verbose", "fine",
];

/// A date (`2024-01-15`, `2020/08/07`, `15.01.2024`, `11-20`) or a time of day
/// (`10:00:01`, `10:00:01.123`, ISO `2024-01-15T10:00:01Z`), perhaps with a trailing colon.
fn stamp_part(token: &str) -> Option<Option<u64>> {
    let t = token.trim_end_matches([':', ',']);
    if t.is_empty() || !t.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if let Some((date, time)) = t.split_once('T')
        && stamp_part(date).is_some()
    {
        let time = time.trim_end_matches('Z');
        let time = time.split(['+', '-']).next().unwrap_or(time);
        return Some(time_of_day_us(time));
    }
    if t.contains(':') {
        return time_of_day_us(t).map(Some);
    }
    let date = t.bytes().all(|b| b.is_ascii_digit() || b"-/.".contains(&b))
        && t.bytes().filter(|b| b"-/.".contains(b)).count() >= 1
        && t.split(['-', '/', '.'])
            .all(|p| !p.is_empty() && p.len() <= 4);
    date.then_some(None)
}

/// A source location a logger prints (`client.js:278`, `ftp.go:43`, `36client.js:278`).
fn source_location(token: &str) -> bool {
    let Some((file, line)) = token.rsplit_once(':') else {
        return false;
    };
    !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && [".js", ".go", ".py", ".java", ".cs", ".ts", ".rb", ".php"]
            .iter()
            .any(|ext| file.ends_with(ext))
}

/// Splits off what loggers put in front of a line: timestamps in the common styles,
/// bracketed groups (`[11-20 10:38:18]`, `[debug]`, `[ftp.go:43][INFO]`), weekday and
/// month names, time zones, a log level before `>>`, a source location, and the ids after
/// FileZilla's log file timestamp. Returns the time of day, when there was one, and the
/// rest of the line.
pub fn strip_decor(line: &str) -> (Option<u64>, &str) {
    let mut rest = line.trim_start();
    let mut at = None;
    let mut in_stamp = false;
    loop {
        if let Some(inner) = rest.strip_prefix('[')
            && let Some(close) = inner.find(']')
            && close <= 40
        {
            let group = &inner[..close];
            let lower = group.to_ascii_lowercase();
            let words: Vec<&str> = group.split_whitespace().collect();
            let stampish = words.iter().all(|w| stamp_part(w).is_some());
            // A logger's tag: one word of letters (`[MSG]`, `[connection]`).
            let tag =
                group.len() <= 12 && !group.is_empty() && group.chars().all(char::is_alphabetic);
            if stampish || tag || LEVELS.contains(&lower.trim()) || source_location(group) {
                for w in words {
                    if let Some(Some(t)) = stamp_part(w) {
                        at = Some(t);
                    }
                }
                rest = inner[close + 1..].trim_start();
                in_stamp = true;
                continue;
            }
            return (at, rest);
        }
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        let token = &rest[..end];
        let lower = token.to_ascii_lowercase();
        let word = lower.trim_end_matches([':', ',']);
        let digits = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
        let consumed = if let Some(t) = stamp_part(token) {
            at = t.or(at);
            true
        } else {
            (in_stamp && digits && (word.len() <= 2 || word.len() == 4 || word.len() == 5))
                || (in_stamp && (ZONES.contains(&word) || word == "am" || word == "pm"))
                || (WEEKDAYS_MONTHS.contains(&word) && {
                    let next = rest[end..].trim_start();
                    let next_word = next.split([' ', '\t']).next().unwrap_or("");
                    next.starts_with(|c: char| c.is_ascii_digit())
                        || WEEKDAYS_MONTHS.contains(&next_word.to_ascii_lowercase().as_str())
                })
                || (LEVELS.contains(&word) && rest[end..].trim_start().starts_with(">>"))
                || token == ">>" && in_stamp
                || source_location(token)
        };
        if !consumed || end == rest.len() {
            return (at, rest);
        }
        in_stamp = true;
        rest = rest[end..].trim_start_matches([' ', '\t']);
    }
}

/// Items for unit tests, one per `(mark, text)`: `>` sent, `<` received, `!` an error
/// message, anything else a message.
#[cfg(test)]
pub fn script(lines: &[(&str, &str)]) -> Vec<Item> {
    lines
        .iter()
        .zip(1..)
        .map(|((mark, text), no)| Item {
            no,
            at_us: None,
            kind: match *mark {
                ">" => Kind::Sent(text.to_string()),
                "<" => Kind::Received(text.to_string()),
                _ => Kind::Message {
                    error: *mark == "!",
                    text: text.to_string(),
                },
            },
        })
        .collect()
}

/// The text inside the quotes a library or Python's repr put around a line, split at the
/// `\r\n` / `\n` escapes it printed between the lines of a reply.
pub fn unquote_lines(text: &str) -> Vec<String> {
    let t = text.trim();
    let t = t
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .or_else(|| t.strip_prefix('"').and_then(|t| t.strip_suffix('"')))
        .unwrap_or(t);
    t.replace("\\r", "")
        .split("\\n")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
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

    #[test]
    fn logger_decorations_come_off() {
        let cases = [
            ("[11-20 10:38:18] [debug] < '220 ready'", "< '220 ready'"),
            ("2020/08/07 16:57:18 [ftp.go:43][INFO] Retrying", "Retrying"),
            ("Tue Nov 15 18:13:40 EST 2016: Host is 'x'.", "Host is 'x'."),
            (
                "15/01/2024 10:00:01: Info >> Response: 227 ok",
                "Response: 227 ok",
            ),
            ("36client.js:278 < 200 OK", "< 200 OK"),
            ("2024-01-15 10:00:01 4242 1 Status: x", "Status: x"),
            ("2024-01-15T10:00:01.5Z Command: PASV", "Command: PASV"),
            ("227 Entering Passive Mode", "227 Entering Passive Mode"),
            ("Status:\tConnecting", "Status:\tConnecting"),
            ("Error: timed out", "Error: timed out"),
            ("Mon is not a stamp", "Mon is not a stamp"),
        ];
        for (line, rest) in cases {
            assert_eq!(strip_decor(line).1, rest, "{line}");
        }
        assert_eq!(strip_decor("10:00:01 PASV").0, Some(36_001_000_000));
    }
}

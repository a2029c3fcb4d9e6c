//! `curl -v` output: `* ` curl's own messages, `> ` what it sent, `< ` what it received,
//! `{ [N bytes data]` data it read. `--trace-time` puts a time of day in front. Lines
//! without a mark (curl's progress meter, `curl -V`, the listing itself) are noise, read
//! only for curl's version; a command without its `> ` (lost to e-mail quoting) is still a
//! command.

use super::{Item, Kind, command_verb, reply_code, time_of_day_us};
use crate::explain::input::RawLine;

fn strip_time(line: &str) -> (Option<u64>, &str) {
    if let Some((first, rest)) = line.split_once(' ')
        && first.contains(':')
        && let Some(at) = time_of_day_us(first)
    {
        return (Some(at), rest);
    }
    (None, line)
}

fn bytes_of(rest: &str) -> Option<u64> {
    let inner = rest.trim().strip_prefix('[')?;
    let (n, tail) = inner.split_once(' ')?;
    tail.starts_with("bytes data").then(|| n.parse().ok())?
}

/// curl's error line without `-v`: `curl: (18) server did not report OK, got 425`.
fn error_line(l: &str) -> bool {
    l.strip_prefix("curl: (")
        .and_then(|r| r.split_once(')'))
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A pasted shell command that runs curl on an FTP URL.
fn command_line(l: &str) -> bool {
    l.contains("curl") && (l.contains("ftp://") || l.contains("ftps://"))
}

/// A line only curl writes (its `* ` messages, its data counts, its error line): without
/// one, `>`/`<` lines are any library's debug log, not curl's.
pub fn distinctive(line: &str) -> bool {
    let (_, l) = strip_time(line.trim_start());
    error_line(l)
        || (l.starts_with("* ") && l.len() > 2)
        || l.strip_prefix("{ ")
            .or(l.strip_prefix("} "))
            .is_some_and(|r| bytes_of(r).is_some())
}

pub fn recognise(line: &str) -> bool {
    let (_, l) = strip_time(line.trim_start());
    error_line(l)
        || (l.starts_with("* ") && l.len() > 2)
        || l.strip_prefix("< ")
            .is_some_and(|r| reply_code(r).is_some())
        || l.strip_prefix("> ")
            .is_some_and(|r| command_verb(r).is_some())
        || l.strip_prefix("{ ").is_some_and(|r| bytes_of(r).is_some())
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    let mut out = Vec::new();
    for l in lines {
        let (at, text) = strip_time(&l.text);
        let kind = if let Some(m) = text.strip_prefix("* ").or(text.strip_prefix("*\t")) {
            let m = m.trim();
            let lower = m.to_ascii_lowercase();
            let error = [
                "fail",
                "error",
                "timed out",
                "timeout",
                "time-out",
                "refused",
            ]
            .iter()
            .any(|w| lower.contains(w));
            Kind::Message {
                error,
                text: m.to_string(),
            }
        } else if let Some(r) = text.strip_prefix("< ") {
            Kind::Received(r.to_string())
        } else if let Some(s) = text.strip_prefix("> ") {
            if command_verb(s).is_some() {
                Kind::Sent(s.trim().to_string())
            } else {
                // HTTP request headers (a proxy), or e-mail quoting of other lines.
                Kind::Other(s.to_string())
            }
        } else if let Some(n) = text
            .strip_prefix("{ ")
            .or(text.strip_prefix("} "))
            .and_then(bytes_of)
        {
            Kind::DataBytes(n)
        } else if error_line(text.trim()) {
            Kind::Message {
                error: true,
                text: text.trim().to_string(),
            }
        } else if command_line(text) {
            // The URL names the server the user asked for.
            Kind::Message {
                error: false,
                text: text.trim().to_string(),
            }
        } else if command_verb(text).is_some() {
            Kind::Sent(text.trim().to_string())
        } else {
            Kind::Other(text.to_string())
        };
        out.push(Item {
            no: l.no,
            at_us: at,
            kind,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_data() {
        let text = "*   Trying 127.0.0.1:45039...\n< 220 ready\r\n> USER demo\n{ [197 bytes data]\n10:00:01.000001 > PASV\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert!(
            matches!(&items[0].kind, Kind::Message { text, .. } if text == "Trying 127.0.0.1:45039...")
        );
        assert_eq!(items[1].kind, Kind::Received("220 ready".to_string()));
        assert_eq!(items[2].kind, Kind::Sent("USER demo".to_string()));
        assert_eq!(items[3].kind, Kind::DataBytes(197));
        assert_eq!(items[4].kind, Kind::Sent("PASV".to_string()));
        assert_eq!(items[4].at_us, Some(36_001_000_001));
        assert!(recognise("< 227 Entering Passive Mode (1,2,3,4,5,6)"));
        assert!(!recognise("> just quoted prose"));
        assert!(recognise("curl: (18) server did not report OK, got 425"));
        assert!(!recognise("curl: (x) no"));
    }
}

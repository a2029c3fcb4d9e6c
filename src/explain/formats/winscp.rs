//! WinSCP's session log: one mark (`<` received, `>` sent, `.` message, `!` output, `*`
//! error), a blank, a timestamp `yyyy-mm-dd hh:nn:ss.zzz`, a blank, the line. Secondary
//! sessions prefix the line with `[name] `. A log quoted in an e-mail can lose the `>`
//! mark; such lines are classified by their shape.

use super::{Item, Kind, command_verb, reply_code, time_of_day_us};
use crate::explain::input::RawLine;

fn is_date(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// (mark, time of day, text) of a WinSCP line; the mark is `None` when it was lost.
fn split(line: &str) -> Option<(Option<char>, u64, &str)> {
    let line = line.trim_start();
    let (mark, rest) = match line.chars().next()? {
        c @ ('<' | '>' | '!' | '.' | '*') if line[1..].starts_with(' ') => (Some(c), &line[2..]),
        _ => (None, line),
    };
    let (date, rest) = rest.split_once(' ')?;
    if !is_date(date) {
        return None;
    }
    let (time, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let at = time_of_day_us(time).filter(|_| time.contains('.'))?;
    // A secondary session's lines: "[name] text".
    let text = match text.strip_prefix('[').and_then(|t| t.split_once("] ")) {
        Some((_, t)) => t,
        None => text,
    };
    Some((mark, at, text))
}

pub fn recognise(line: &str) -> bool {
    matches!(split(line), Some((Some(_), _, _)))
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut in_reply = false;
    for l in lines {
        let Some((mark, at, text)) = split(&l.text) else {
            continue;
        };
        let kind = match mark {
            Some('<') => Kind::Received(text.to_string()),
            Some('>') => Kind::Sent(text.trim().to_string()),
            Some('*') => Kind::Message {
                error: true,
                text: text.trim().to_string(),
            },
            Some(_) => Kind::Message {
                error: false,
                text: text.trim().to_string(),
            },
            // The mark was lost (e-mail quoting took the `>`): decide by shape.
            None if in_reply || reply_code(text).is_some() => Kind::Received(text.to_string()),
            None if command_verb(text).is_some() => Kind::Sent(text.trim().to_string()),
            None => Kind::Message {
                error: false,
                text: text.trim().to_string(),
            },
        };
        if let Kind::Received(t) = &kind {
            in_reply = match reply_code(t) {
                Some(_) => t.as_bytes().get(3) == Some(&b'-'),
                None => in_reply,
            };
        }
        out.push(Item {
            no: l.no,
            at_us: Some(at),
            kind,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_timestamps_and_lost_marks() {
        let text = ". 2024-03-05 09:14:02.118 Connecting to 203.0.113.10:21 ...\n\
                    < 2024-03-05 09:14:02.160 220 (vsFTPd 3.0.5)\n\
                    > 2024-03-05 09:14:02.161 USER alice\n\
                    2024-03-05 09:14:02.170 PASV\n\
                    * 2024-03-05 09:14:22.170 (ETimeout) Timeout detected. (data connection)\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert_eq!(items.len(), 5);
        assert_eq!(
            items[1].kind,
            Kind::Received("220 (vsFTPd 3.0.5)".to_string())
        );
        assert_eq!(items[2].kind, Kind::Sent("USER alice".to_string()));
        assert_eq!(items[3].kind, Kind::Sent("PASV".to_string()));
        assert!(matches!(items[4].kind, Kind::Message { error: true, .. }));
        assert!(recognise("< 2024-03-05 09:14:02.160 220 ok"));
        assert!(!recognise("2024-03-05 09:14:02 4242 1 Status: x"));
    }
}

//! Python ftplib's debug output (`set_debuglevel(1)`): `*cmd* 'PASV'` for a command and
//! `*resp* '227 Entering Passive Mode (...)'` for a reply, as Python's repr prints them
//! (a multi-line reply with `\n` escapes). At level 2 the raw lines (`*put*`, `*get*`)
//! come too; they are read only when the log has no `*cmd*`/`*resp*` lines. Tracebacks and
//! exceptions (`TimeoutError: timed out`) are the client's messages.

use super::{Item, Kind, generic, strip_decor, unquote_lines};
use crate::explain::input::RawLine;

const MARKS: [(&str, bool, bool); 4] = [
    ("*cmd* ", true, false),
    ("*resp* ", false, false),
    ("*put* ", true, true),
    ("*get* ", false, true),
];

fn split(line: &str) -> Option<(bool, bool, &str)> {
    let (_, l) = strip_decor(line);
    MARKS
        .iter()
        .find_map(|(m, sent, raw)| l.strip_prefix(m).map(|rest| (*sent, *raw, rest)))
}

pub fn recognise(line: &str) -> bool {
    split(line).is_some()
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    let cooked = lines
        .iter()
        .any(|l| split(&l.text).is_some_and(|(_, raw, _)| !raw));
    let mut out = Vec::new();
    for l in lines {
        let (at, text) = strip_decor(&l.text);
        let kinds = match split(&l.text) {
            Some((_, true, _)) if cooked => continue,
            Some((true, _, rest)) => unquote_lines(rest).into_iter().map(Kind::Sent).collect(),
            Some((false, _, rest)) => unquote_lines(rest)
                .into_iter()
                .map(Kind::Received)
                .collect(),
            None => generic(text).into_iter().collect::<Vec<_>>(),
        };
        for kind in kinds {
            out.push(Item {
                no: l.no,
                at_us: at,
                kind,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_replies_and_exceptions() {
        let text = "*cmd* 'PASV'\n*put* 'PASV\\r\\n'\n*get* '227 Entering Passive Mode (10,0,0,5,195,80).\\r\\n'\n\
                    *resp* '227 Entering Passive Mode (10,0,0,5,195,80).'\nTimeoutError: timed out\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert_eq!(items[0].kind, Kind::Sent("PASV".to_string()));
        assert!(matches!(&items[1].kind, Kind::Received(t) if t.starts_with("227 ")));
        assert!(matches!(&items[2].kind, Kind::Message { error: true, .. }));
        assert_eq!(items.len(), 3);
    }
}

//! `lftp -d` debug output (BSD `ftp -d` marks sent commands the same way): `---> ` sent,
//! `<--- ` received (`<--+ ` for a continued reply line), `---- ` lftp's messages, `**** `
//! its errors. Other lines are lftp's normal output (a listing, `version`).

use super::{Item, Kind};
use crate::explain::input::RawLine;

const MARKS: [(&str, u8); 5] = [
    ("---> ", b'>'),
    ("<--- ", b'<'),
    ("<--+ ", b'<'),
    ("---- ", b'-'),
    ("**** ", b'*'),
];

fn split(line: &str) -> Option<(u8, &str)> {
    MARKS
        .iter()
        .find_map(|(m, k)| line.strip_prefix(m).map(|rest| (*k, rest)))
}

pub fn recognise(line: &str) -> bool {
    split(line.trim_start()).is_some()
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    lines
        .iter()
        .map(|l| {
            let kind = match split(l.text.trim_start()) {
                Some((b'>', s)) => Kind::Sent(s.trim().to_string()),
                Some((b'<', r)) => Kind::Received(r.to_string()),
                Some((b'*', m)) => Kind::Message {
                    error: true,
                    text: m.trim().to_string(),
                },
                Some((_, m)) => Kind::Message {
                    error: false,
                    text: m.trim().to_string(),
                },
                None => Kind::Other(l.text.clone()),
            };
            Item {
                no: l.no,
                at_us: None,
                kind,
            }
        })
        .collect()
}

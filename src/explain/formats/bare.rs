//! A bare transcript: commands and replies as they went over the wire, one per line, with
//! no client marks (pasted from a terminal, a server log excerpt, a ticket). Replies are
//! recognised by their code, commands by their verb; the lines of a multi-line reply are
//! replies until its closing line. Anything else is read as a message (e.g. "Connection
//! timed out").

use super::{Item, Kind, command_verb, reply_code};
use crate::explain::input::RawLine;

/// Whether a line continues a wrapped message: the message stops mid-sentence and the
/// line starts in lower case or with a digit.
fn continues(prev: &str, line: &str) -> bool {
    !prev.trim_end().ends_with(['.', '!', '?', ':'])
        && line
            .chars()
            .next()
            .is_some_and(|c| c.is_lowercase() || c.is_ascii_digit())
}

pub fn recognise(line: &str) -> bool {
    let l = line.trim_start();
    reply_code(l).is_some() || command_verb(l).is_some()
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    let mut out = Vec::new();
    // The code of the multi-line reply being read.
    let mut open: Option<u16> = None;
    for l in lines {
        let text = l.text.as_str();
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        let kind = if let Some(code) = open {
            if reply_code(trimmed) == Some(code) && trimmed.as_bytes().get(3) != Some(&b'-') {
                open = None;
            }
            Kind::Received(text.to_string())
        } else if let Some(code) = reply_code(trimmed) {
            if trimmed.as_bytes().get(3) == Some(&b'-') {
                open = Some(code);
            }
            Kind::Received(trimmed.to_string())
        } else if command_verb(trimmed).is_some() {
            Kind::Sent(trimmed.trim_end().to_string())
        } else {
            // A message wrapped onto this line (an error box copied from a window): it
            // goes on the previous one.
            if let Some(Item {
                kind: Kind::Message { text: prev, .. },
                ..
            }) = out.last_mut()
                && continues(prev, trimmed)
            {
                prev.push(' ');
                prev.push_str(trimmed.trim_end());
                continue;
            }
            Kind::Message {
                error: false,
                text: trimmed.trim_end().to_string(),
            }
        };
        out.push(Item {
            no: l.no,
            at_us: None,
            kind,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_stay_inside_their_reply() {
        let text = "220 ready\nFEAT\n211-Features:\n EPSV\nPASV\n211 End\nPASV\n227 Entering Passive Mode (10,0,0,5,195,80).\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert_eq!(items[4].kind, Kind::Received("PASV".to_string()));
        assert_eq!(items[6].kind, Kind::Sent("PASV".to_string()));
    }

    #[test]
    fn wrapped_messages_are_joined() {
        let text = "Server sent passive reply with unroutable address\n 192.168.1.7, using host address\ninstead.\nCould not retrieve directory listing\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0].kind, Kind::Message { text, .. }
            if text == "Server sent passive reply with unroutable address 192.168.1.7, using host address instead."));
    }
}

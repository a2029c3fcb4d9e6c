//! Debug logs of FTP libraries that mark what was sent with `>` and what came back with
//! `<` (basic-ftp, node-ftp and its front ends, Cyberduck's transcript), often behind a
//! logger's timestamp or a source location, and sometimes with the reply quoted as the
//! library received it (`< '227 Entering Passive Mode (...)\r\n'`). Other lines are the
//! library's own messages.

use super::{Item, Kind, command_verb, generic, reply_code, strip_decor, unquote_lines};
use crate::explain::input::RawLine;

fn split(line: &str) -> (Option<u64>, &str) {
    strip_decor(line)
}

pub fn recognise(line: &str) -> bool {
    let (_, l) = split(line);
    l.strip_prefix("> ")
        .is_some_and(|r| command_verb(unquote_lines(r).concat().trim()).is_some())
        || l.strip_prefix("< ").is_some_and(|r| {
            unquote_lines(r)
                .first()
                // An SSH server's banner, received by an FTP library on the wrong port.
                .is_some_and(|f| reply_code(f).is_some() || f.starts_with("SSH-"))
        })
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    let mut out = Vec::new();
    for l in lines {
        // node-ftp's parser echoes every reply its connection already logged.
        if l.text.contains("[parser]") {
            continue;
        }
        let (at, text) = split(&l.text);
        let mut push = |kind| {
            out.push(Item {
                no: l.no,
                at_us: at,
                kind,
            });
        };
        if let Some(sent) = text.strip_prefix("> ") {
            // A library may quote the command as it wrote it (`> 'PASV'`).
            let sent = unquote_lines(sent).concat();
            let sent = sent.trim();
            push(if command_verb(sent).is_some() {
                Kind::Sent(sent.to_string())
            } else {
                Kind::Other(sent.to_string())
            });
        } else if let Some(received) = text.strip_prefix("< ") {
            for line in unquote_lines(received) {
                push(Kind::Received(line));
            }
        } else if let Some(kind) = generic(text) {
            push(kind);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_replies_and_logger_prefixes() {
        let text = "[11-20 10:38:18] [debug] < '220 ready\\r\\n'\n\
                    [11-20 10:38:18] [debug] > PASV\n\
                    client.js:278 < 211-Features:\\r\\n MDTM\\r\\n211 End\n\
                    Connected to 203.0.113.10:21 (No encryption)\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert_eq!(items[0].kind, Kind::Received("220 ready".to_string()));
        assert_eq!(items[1].kind, Kind::Sent("PASV".to_string()));
        assert_eq!(items[2].kind, Kind::Received("211-Features:".to_string()));
        assert_eq!(items[3].kind, Kind::Received(" MDTM".to_string()));
        assert!(
            matches!(&items[5].kind, Kind::Message { text, .. } if text.starts_with("Connected to"))
        );
        assert!(recognise("> PASV"));
        assert!(!recognise("> some quoted prose"));
    }
}

//! FileZilla's message log, as copied from the window (`Status:\tConnecting to ...`,
//! optionally after a timestamp) and as written to its log file (`2024-01-15 10:00:01 4242
//! 1 Status: Connecting to ...`: date, time, process id, engine id, then the message).
//!
//! The prefixes are translated in localized FileZilla builds ("Befehl:", "Antwort:",
//! "Commande :"), so a prefix that is not one of the English ones is learned from what
//! follows it: the prefix that precedes reply codes is the response prefix, the one that
//! precedes FTP commands the command prefix, any other a message prefix.

use std::collections::HashMap;

use super::{Item, Kind, command_verb, reply_code, strip_decor};
use crate::explain::input::RawLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Command,
    Response,
    Status,
    Error,
    Listing,
}

/// Error prefixes of common translations, lower case without the colon.
const ERROR_WORDS: &[&str] = &[
    "error",
    "fehler",
    "erreur",
    "errore",
    "erro",
    "fout",
    "błąd",
    "fel",
    "virhe",
    "chyba",
    "hiba",
    "ошибка",
    "错误",
    "エラー",
];

fn english(prefix: &str) -> Option<Role> {
    match prefix.to_ascii_lowercase().as_str() {
        "command" => Some(Role::Command),
        "response" => Some(Role::Response),
        "status" | "trace" => Some(Role::Status),
        "error" => Some(Role::Error),
        "listing" => Some(Role::Listing),
        _ => None,
    }
}

fn strip_stamp(line: &str) -> (Option<u64>, &str) {
    strip_decor(line)
}

/// `Word:` or `Word :` (one or two words of letters), then one tab or blank, then the
/// message: the prefix and the message (a response's leading blank kept).
fn split_prefix(rest: &str) -> Option<(&str, &str, bool)> {
    let colon = rest.find(':')?;
    if colon == 0 || colon > 24 {
        return None;
    }
    let prefix = rest[..colon].trim_end();
    if prefix.is_empty()
        || prefix.split(' ').count() > 2
        || !prefix.chars().all(|c| c.is_alphabetic() || c == ' ')
    {
        return None;
    }
    let after = &rest[colon + 1..];
    let message = match after.as_bytes().first() {
        None => "",
        Some(b'\t' | b' ') => &after[1..],
        Some(_) => return None,
    };
    Some((prefix, message, after.starts_with('\t')))
}

pub fn recognise(line: &str) -> bool {
    let (at, rest) = strip_stamp(line);
    match split_prefix(rest) {
        Some((prefix, message, tab)) => {
            let reply = reply_code(message.trim_start()).is_some()
                && message.trim_start().as_bytes().get(3) == Some(&b' ');
            english(prefix).is_some()
                || tab
                // A translated prefix before a reply ("Answer: 227 ..." from a machine
                // translation, pasted without the tab).
                || reply
                || (at.is_some() && command_verb(message).is_some())
        }
        None => false,
    }
}

/// A line's number, time of day, and prefix with message.
type Split<'a> = (u64, Option<u64>, Option<(&'a str, &'a str)>);

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    let split: Vec<Split<'_>> = lines
        .iter()
        .map(|l| {
            let (at, rest) = strip_stamp(&l.text);
            (l.no, at, split_prefix(rest).map(|(p, m, _)| (p, m)))
        })
        .collect();
    // Learn the roles of translated prefixes from what follows them.
    let mut votes: HashMap<String, (usize, usize)> = HashMap::new();
    for (_, _, p) in &split {
        let Some((prefix, message)) = p else { continue };
        if english(prefix).is_some() {
            continue;
        }
        let v = votes.entry(prefix.to_string()).or_default();
        if reply_code(message.trim_start()).is_some() {
            v.0 += 1;
        } else if command_verb(message).is_some() {
            v.1 += 1;
        }
    }
    let role_of = |prefix: &str| -> Role {
        if let Some(r) = english(prefix) {
            return r;
        }
        match votes.get(prefix) {
            Some((replies, commands)) if replies > commands => Role::Response,
            Some((replies, commands)) if commands > replies => Role::Command,
            _ if ERROR_WORDS.contains(&prefix.to_lowercase().as_str()) => Role::Error,
            _ => Role::Status,
        }
    };
    let mut out = Vec::new();
    // Help > About pastes "FileZilla Client", a rule, then "Version: 3.66.4".
    let mut about = false;
    for ((no, at, p), line) in split.into_iter().zip(lines) {
        if line.text.trim() == "FileZilla Client" {
            about = true;
            continue;
        }
        if about && let Some(("Version", v)) = p {
            out.push(Item {
                no,
                at_us: at,
                kind: Kind::Other(format!("FileZilla Client {}", v.trim())),
            });
            about = false;
            continue;
        }
        let kind = match p {
            // Unmarked lines are read only for the client's identity (FluentFTP's "# Call()").
            None if line.text.trim().is_empty() => continue,
            None => Kind::Other(line.text.trim().to_string()),
            Some((prefix, message)) => match role_of(prefix) {
                // Not an FTP command: an SFTP client's (fzsftp's `open ...`), or prose.
                Role::Command if command_verb(message.trim()).is_none() => {
                    Kind::Other(message.trim().to_string())
                }
                Role::Command => Kind::Sent(message.trim().to_string()),
                Role::Response => {
                    let trimmed = message.trim_start();
                    if reply_code(trimmed).is_some() {
                        Kind::Received(trimmed.to_string())
                    } else {
                        Kind::Received(message.to_string())
                    }
                }
                Role::Status => Kind::Message {
                    error: false,
                    text: message.trim().to_string(),
                },
                Role::Error => Kind::Message {
                    error: true,
                    text: message.trim().to_string(),
                },
                Role::Listing => continue,
            },
        };
        out.push(Item {
            no,
            at_us: at,
            kind,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<RawLine> {
        crate::explain::input::split(text).lines
    }

    #[test]
    fn gui_copy_log_file_and_localized_prefixes() {
        let gui = "Status:\tConnecting to 203.0.113.10:21...\nResponse:\t211-Features:\nResponse:\t MDTM\nCommand:\tPASV\n";
        let items = parse(&lines(gui));
        assert_eq!(items.len(), 4);
        assert_eq!(items[2].kind, Kind::Received(" MDTM".to_string()));
        assert_eq!(items[3].kind, Kind::Sent("PASV".to_string()));

        let file = "2024-01-15 10:00:01 4242 1 Command: PASV\n2024-01-15 10:00:01 4242 1 Response: 227 Entering Passive Mode (10,0,0,5,195,80).\n";
        let items = parse(&lines(file));
        assert_eq!(items[0].at_us, Some(36_001_000_000));
        assert!(matches!(&items[1].kind, Kind::Received(t) if t.starts_with("227 ")));

        let de = "Status:\tVerbinde mit 203.0.113.10:21...\nAntwort:\t220 (vsFTPd 3.0.5)\nBefehl:\tUSER alice\nAntwort:\t331 Please specify the password.\nFehler:\tZeitüberschreitung der Verbindung\n";
        let items = parse(&lines(de));
        assert_eq!(
            items[1].kind,
            Kind::Received("220 (vsFTPd 3.0.5)".to_string())
        );
        assert_eq!(items[2].kind, Kind::Sent("USER alice".to_string()));
        assert!(matches!(items[4].kind, Kind::Message { error: true, .. }));
        assert!(recognise("Antwort:\t220 ok"));
        assert!(recognise("10:00:01\tStatus:\tConnected"));
        assert!(!recognise("Hello: world"));
    }
}

//! goftp's debug log (`Config.Logger`): `goftp: 0.045 #1 sending command USER alice`,
//! `goftp: 0.046 #1 got 331-Password required` (goftp prints every reply as code, dash,
//! text, whether or not it was a multi-line reply), and its own messages on the same
//! lines (`opening control connection to [192.0.2.1]:21`, `error opening data
//! connection: ...`).

use super::{Item, Kind};
use crate::explain::input::RawLine;

/// (seconds since the client started, the message) of a goftp line.
fn split(line: &str) -> Option<(Option<u64>, &str)> {
    let rest = line.trim_start().strip_prefix("goftp: ")?;
    let (secs, rest) = rest.split_once(' ')?;
    let at = secs.parse::<f64>().ok().map(|s| (s * 1_000_000.0) as u64);
    // The connection number ("#1").
    let rest = match rest.strip_prefix('#') {
        Some(r) => r.split_once(' ').map_or("", |(_, m)| m),
        None => rest,
    };
    Some((at, rest))
}

pub fn recognise(line: &str) -> bool {
    split(line).is_some()
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    lines
        .iter()
        .filter_map(|l| {
            let (at, text) = split(&l.text)?;
            let kind = if let Some(cmd) = text.strip_prefix("sending command ") {
                Kind::Sent(cmd.trim().to_string())
            } else if let Some(reply) = text.strip_prefix("got ") {
                let reply = reply.trim();
                // "227-Entering ...": goftp's own dash, not a multi-line reply.
                let b = reply.as_bytes();
                if b.len() > 3 && b[3] == b'-' && b[..3].iter().all(u8::is_ascii_digit) {
                    Kind::Received(format!("{} {}", &reply[..3], &reply[4..]))
                } else {
                    Kind::Received(reply.to_string())
                }
            } else {
                let lower = text.to_ascii_lowercase();
                Kind::Message {
                    error: lower.contains("error") || lower.contains("fail"),
                    text: text
                        .replace("opening control connection to", "Connecting to")
                        .trim()
                        .to_string(),
                }
            };
            Some(Item {
                no: l.no,
                at_us: at,
                kind,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_replies_and_messages() {
        let text = "goftp: 0.000 #1 opening control connection to [192.0.2.1]:21\n\
                    goftp: 0.056 #1 sending command PASV\n\
                    goftp: 0.057 #1 got 227-Entering Passive Mode (192,0,2,1,15,155)\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert!(
            matches!(&items[0].kind, Kind::Message { text, .. } if text == "Connecting to [192.0.2.1]:21")
        );
        assert_eq!(items[1].kind, Kind::Sent("PASV".to_string()));
        assert_eq!(
            items[2].kind,
            Kind::Received("227 Entering Passive Mode (192,0,2,1,15,155)".to_string())
        );
        assert_eq!(items[2].at_us, Some(57_000));
    }
}

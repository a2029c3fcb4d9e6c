//! The `ftp` command-line client (netkit, inetutils, tnftp on Linux and BSD, `ftp.exe` on
//! Windows): the user's commands at the `ftp>` prompt, the server's replies as they come,
//! and the client's own messages (`Connected to ...`, `ftp: connect: Connection refused`).
//! The client shows no FTP commands, so the reader infers them from the replies (a `227`
//! answers a PASV, `200 PORT command successful` a PORT). The name and password typed at
//! the prompts are what the client sent as USER and PASS.

use super::{Item, Kind, generic, reply_code, strip_decor};
use crate::explain::input::RawLine;

/// Lines only the ftp client writes.
fn own_line(l: &str) -> bool {
    let lower = l.to_ascii_lowercase();
    lower.starts_with("ftp>")
        || lower.starts_with("ftp: ")
        || lower.starts_with("name (")
        || lower.starts_with("user (")
        || lower.starts_with("remote system type is")
        || lower.starts_with("using binary mode")
        || lower.starts_with("passive mode on")
        || lower.starts_with("passive mode off")
        || lower.starts_with("interactive mode")
        || (lower.starts_with("connected to ") && !lower.contains(" port "))
}

pub fn recognise(line: &str) -> bool {
    own_line(strip_decor(line).1)
}

/// The typed answer after a prompt such as `Name (host:user): ` or `Password:`.
fn answer<'a>(text: &'a str, prompt_end: &str) -> Option<&'a str> {
    text.split_once(prompt_end).map(|(_, a)| a.trim())
}

pub fn parse(lines: &[RawLine]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut open: Option<u16> = None;
    for l in lines {
        let (at, text) = strip_decor(&l.text);
        let lower = text.to_ascii_lowercase();
        let trimmed = text.trim();
        let kind = if let Some(code) = open {
            if reply_code(trimmed) == Some(code) && trimmed.as_bytes().get(3) != Some(&b'-') {
                open = None;
            }
            Kind::Received(text.to_string())
        } else if (lower.starts_with("name (") || lower.starts_with("user ("))
            && text.contains("):")
        {
            let user = answer(text, "):").unwrap_or("");
            Kind::Sent(format!("USER {user}").trim_end().to_string())
        } else if lower.starts_with("password:") {
            let pass = answer(text, ":").unwrap_or("");
            Kind::Sent(format!("PASS {pass}").trim_end().to_string())
        } else if let Some(code) = reply_code(trimmed) {
            if trimmed.as_bytes().get(3) == Some(&b'-') {
                open = Some(code);
            }
            Kind::Received(trimmed.to_string())
        } else if trimmed.is_empty() {
            continue;
        } else if let Some(rest) = lower.strip_prefix("ftp: ") {
            Kind::Message {
                error: true,
                text: text[text.len() - rest.len()..].trim().to_string(),
            }
        } else if own_line(trimmed) {
            Kind::Message {
                error: false,
                text: trimmed.to_string(),
            }
        } else {
            match generic(trimmed) {
                Some(k) => k,
                None => continue,
            }
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
    fn prompts_replies_and_errors() {
        let text = "Connected to 198.51.100.7.\n220 (vsFTPd 3.0.3)\nName (198.51.100.7:root): alice\n\
                    331 Please specify the password.\nPassword:\n230 Login successful.\nftp> ls\n\
                    227 Entering Passive Mode (10,0,0,5,195,80).\nftp: connect: Connection refused\n";
        let items = parse(&crate::explain::input::split(text).lines);
        assert!(
            matches!(&items[0].kind, Kind::Message { text, .. } if text == "Connected to 198.51.100.7.")
        );
        assert_eq!(items[2].kind, Kind::Sent("USER alice".to_string()));
        assert_eq!(items[4].kind, Kind::Sent("PASS".to_string()));
        assert!(
            matches!(&items[8].kind, Kind::Message { error: true, text } if text == "connect: Connection refused")
        );
        assert!(recognise("ftp> ls"));
        assert!(recognise("ftp>ls"));
        assert!(!recognise(
            "Connected to ftp.example.com (203.0.113.10) port 21 (#0)"
        ));
    }
}

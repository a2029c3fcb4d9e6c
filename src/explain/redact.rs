//! Redaction: the password (`PASS`, `ACCT`, a URL's user information) never appears in
//! anything echoed, and the user name (`USER`, WinSCP's session header, a server's "331
//! Password required for alice") is replaced unless `--keep-user`. Anonymous logins
//! (`anonymous`, `ftp`) carry no personal name and are kept.

use super::formats::{Item, Kind};
use crate::proto::is_anonymous;
use crate::transcript::PASSWORD_MASK;

/// What a user name is replaced with.
pub const USER_MASK: &str = "[user]";

/// The secrets a log contains.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    pub users: Vec<String>,
    pub passwords: Vec<String>,
}

fn arg_of<'a>(text: &'a str, verb: &str) -> Option<&'a str> {
    let (v, arg) = text.split_once(' ')?;
    v.eq_ignore_ascii_case(verb).then(|| arg.trim())
}

/// Whether a value is a redaction the user already made (`XXXX`, `****`, `###`,
/// `<password>`): it is no secret, and replacing it elsewhere would rewrite other
/// redactions (a 227 redacted as `(XXXXXXXX)`).
fn already_redacted(s: &str) -> bool {
    let first = s.chars().next().unwrap_or('*');
    (s.chars().all(|c| c == first) && "*xX#._-?".contains(first))
        || (s.starts_with('<') && s.ends_with('>'))
        || (s.starts_with('[') && s.ends_with(']'))
}

fn push(list: &mut Vec<String>, s: &str) {
    let s = s.trim().to_string();
    if !s.is_empty() && !already_redacted(&s) && !list.contains(&s) {
        list.push(s);
    }
}

/// Collects the user names and passwords the log shows.
pub fn secrets(items: &[Item]) -> Secrets {
    let mut s = Secrets::default();
    for item in items {
        match &item.kind {
            Kind::Sent(text) => {
                if let Some(u) = arg_of(text, "USER")
                    && !is_anonymous(u)
                {
                    push(&mut s.users, u);
                }
                for verb in ["PASS", "ACCT"] {
                    if let Some(p) = arg_of(text, verb) {
                        push(&mut s.passwords, p);
                    }
                }
            }
            Kind::Message { text, .. } | Kind::Other(text) => {
                // A pasted command line: curl's `-u user:password` / `--user user:password`,
                // lftp's `-u user,password`.
                let words: Vec<&str> = text.split_whitespace().collect();
                for (i, w) in words.iter().enumerate() {
                    let value = match *w {
                        "-u" | "--user" => words.get(i + 1).copied(),
                        w => w.strip_prefix("--user="),
                    };
                    let Some(value) = value.map(|v| v.trim_matches(['\'', '"'])) else {
                        continue;
                    };
                    if let Some((user, pass)) = value.split_once([':', ',']) {
                        if !is_anonymous(user) && !user.is_empty() {
                            push(&mut s.users, user);
                        }
                        if !pass.is_empty() {
                            push(&mut s.passwords, pass);
                        }
                    }
                }
                // WinSCP: "User name: alice (Password: Yes, ...)", "Session name: alice@host (...)".
                for marker in ["User name: ", "Session name: "] {
                    if let Some(rest) = text.trim().strip_prefix(marker) {
                        let word = rest.split([' ', '(']).next().unwrap_or("");
                        let user = word.rsplit_once('@').map_or(word, |(u, _)| u);
                        if !user.is_empty() && !is_anonymous(user) && !word.contains('/') {
                            push(&mut s.users, user);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Longest first, so "alice.smith" goes before "alice".
    s.users.sort_by_key(|u| std::cmp::Reverse(u.len()));
    s.passwords.sort_by_key(|p| std::cmp::Reverse(p.len()));
    s
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Replaces every whole-word occurrence of `needle` in `text`.
fn replace_word(text: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(needle) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + needle.len()..].chars().next();
        let whole = !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char);
        out.push_str(&rest[..i]);
        out.push_str(if whole { with } else { needle });
        rest = &rest[i + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host` → `scheme://user:********@host` (or `[user]:********`).
fn redact_urls(text: &str, keep_user: bool) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            let info = &rest[..at];
            let (user, has_pw) = match info.split_once(':') {
                Some((u, _)) => (u, true),
                None => (info, false),
            };
            let user = if keep_user || is_anonymous(user) {
                user
            } else {
                USER_MASK
            };
            out.push_str(user);
            if has_pw {
                out.push(':');
                out.push_str(PASSWORD_MASK);
            }
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
}

/// What is left of a passive reply whose address the user redacted (`(XXX,XX,195,80)`,
/// `(_,_,_,_,195,158)`, `(nnn,nnn,nnn,nnn,224,153)`, `(XXXXXXXXX)`, `<ip.39.34>`):
/// `Some(port)` when the port bytes survived, `Some(None)` when they did not, and `None`
/// when the reply is no redaction (digits only: a genuinely malformed reply).
pub fn redacted_passive(text: &str) -> Option<Option<u16>> {
    let open = text.find(['(', '<'])?;
    let close = text[open..]
        .find([')', '>'])
        .map_or(text.len(), |c| open + c);
    let inner = text[open + 1..close].trim();
    let signs = inner
        .chars()
        .any(|c| c.is_alphabetic() || "*#_?".contains(c) || inner.contains(".."));
    if inner.is_empty() || !signs {
        return None;
    }
    let fields: Vec<&str> = inner.split([',', '.']).map(str::trim).collect();
    let byte = |f: &str| f.parse::<u8>().ok().map(u16::from);
    let port = match fields.as_slice() {
        [.., hi, lo] if fields.len() >= 3 => byte(hi).zip(byte(lo)).map(|(h, l)| h * 256 + l),
        _ => None,
    };
    Some(port.filter(|p| *p != 0))
}

/// The text with every secret replaced.
pub fn text(text: &str, secrets: &Secrets, keep_user: bool) -> String {
    let mut t = redact_urls(text, keep_user);
    for p in &secrets.passwords {
        if p.len() >= 3 {
            t = t.replace(p.as_str(), PASSWORD_MASK);
        }
    }
    if !keep_user {
        for u in &secrets.users {
            t = replace_word(&t, u, USER_MASK);
        }
    }
    t
}

/// A sent command with its argument masked: `PASS`/`ACCT` always, `USER` unless kept.
fn command(text: &str, secrets: &Secrets, keep_user: bool) -> String {
    for verb in ["PASS", "ACCT"] {
        if arg_of(text, verb).is_some() {
            return format!("{verb} {PASSWORD_MASK}");
        }
    }
    if let Some(u) = arg_of(text, "USER")
        && !keep_user
        && !is_anonymous(u)
    {
        return format!("USER {USER_MASK}");
    }
    self::text(text, secrets, keep_user)
}

/// Every item with its secrets replaced.
pub fn items(items: Vec<Item>, secrets: &Secrets, keep_user: bool) -> Vec<Item> {
    items
        .into_iter()
        .map(|mut item| {
            item.kind = match item.kind {
                Kind::Sent(t) => Kind::Sent(command(&t, secrets, keep_user)),
                Kind::Received(t) => Kind::Received(text(&t, secrets, keep_user)),
                Kind::Message { error, text: t } => Kind::Message {
                    error,
                    text: text(&t, secrets, keep_user),
                },
                Kind::Other(t) => Kind::Other(text(&t, secrets, keep_user)),
                other => other,
            };
            item
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_passive_replies_keep_their_port() {
        let cases = [
            (
                "227 Entering Passive Mode (XXX,XX,4X,12,195,80).",
                Some(Some(50000)),
            ),
            (
                "227 Entering Passive Mode (_,_,_,_,195,158)",
                Some(Some(50078)),
            ),
            (
                "227 Entering Passive Mode (nnn,nnn,nnn,nnn,224,153).",
                Some(Some(57497)),
            ),
            (
                "227 Entering Passive Mode (xxxx,183,172)",
                Some(Some(47020)),
            ),
            ("227 Entering Passive Mode (XXXXXXXXX)", Some(None)),
            ("227 Entering Passive Mode (...)", Some(None)),
            ("227 Rntering Passive Mode <ip.39.34>.", Some(Some(10018))),
            ("227 Entering Passive Mode (256,0,0,1,195,80).", None),
            ("227 Entering Passive Mode (10,0,0,5,195,80).", None),
        ];
        for (text, want) in cases {
            assert_eq!(redacted_passive(text), want, "{text}");
        }
        assert!(already_redacted("XXXXXXX"));
        assert!(!already_redacted("fixture-Secret-9"));
    }

    fn item(kind: Kind) -> Item {
        Item {
            no: 1,
            at_us: None,
            kind,
        }
    }

    #[test]
    fn passwords_and_users_are_masked_everywhere() {
        let input = vec![
            item(Kind::Sent("USER alice".into())),
            item(Kind::Received("331 Password required for alice".into())),
            item(Kind::Sent("PASS hunter2!".into())),
            item(Kind::Message {
                error: false,
                text: "Connecting to ftp://alice:hunter2!@ftp.example.com/ as alice".into(),
            }),
            item(Kind::Received("230 User malice logged in".into())),
        ];
        let s = secrets(&input);
        let out = items(input.clone(), &s, false);
        let all = format!("{out:?}");
        assert!(!all.contains("hunter2"), "{all}");
        assert!(!all.contains("alice\""), "{all}");
        assert_eq!(out[0].kind, Kind::Sent("USER [user]".into()));
        assert_eq!(out[2].kind, Kind::Sent("PASS ********".into()));
        assert_eq!(
            out[1].kind,
            Kind::Received("331 Password required for [user]".into())
        );
        // Only whole words: "malice" is not "alice".
        assert_eq!(
            out[4].kind,
            Kind::Received("230 User malice logged in".into())
        );
        let kept = items(input, &s, true);
        assert_eq!(kept[0].kind, Kind::Sent("USER alice".into()));
        assert!(!format!("{kept:?}").contains("hunter2"));
    }

    #[test]
    fn command_line_credentials_are_secrets() {
        let items = vec![item(Kind::Other(
            "$ curl -k --ssl-reqd -u demo:s3cret ftp://test.example/".to_string(),
        ))];
        let secrets = secrets(&items);
        assert_eq!(secrets.passwords, vec!["s3cret".to_string()]);
        let out = super::items(items, &secrets, false);
        let Kind::Other(text) = &out[0].kind else {
            panic!("kind")
        };
        assert!(!text.contains("s3cret") && !text.contains("demo"), "{text}");
    }

    #[test]
    fn anonymous_is_not_a_secret() {
        let input = vec![
            item(Kind::Sent("USER anonymous".into())),
            item(Kind::Sent("PASS ********".into())),
        ];
        let s = secrets(&input);
        assert!(s.users.is_empty() && s.passwords.is_empty());
        assert_eq!(
            items(input, &s, false)[0].kind,
            Kind::Sent("USER anonymous".into())
        );
    }
}

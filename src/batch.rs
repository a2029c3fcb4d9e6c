//! The batch file: one target per line with optional per-line settings, for checking a
//! fleet. Pure parsing; a bad line is an error naming its line number, and the others still
//! parse.
//!
//! ```text
//! # comments and blank lines are ignored
//! ftp.example.com
//! ftp://alice@files.example.net:2121/pub  password-env=ALICE_PW expect-range=30000-30100
//! 192.0.2.7  user=bob expect-address=198.51.100.7   # trailing comments too
//! ```

use std::fmt;
use std::net::IpAddr;

use crate::target::{self, Target, parse_range};

/// The longest line accepted; a longer one is reported, not parsed.
pub const MAX_LINE: usize = 4096;

/// One target to check, with its own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number in the file.
    pub line: usize,
    /// The TARGET as written.
    pub input: String,
    pub target: Target,
    pub user: Option<String>,
    /// The environment variable that holds this target's password.
    pub password_env: Option<String>,
    pub expect_range: Option<(u16, u16)>,
    pub expect_address: Option<IpAddr>,
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The keys a line may set.
const KEYS: &str = "user=, password-env=, tls=, expect-range=, expect-address=";

fn parse_line(line: usize, text: &str) -> Option<Result<Entry, LineError>> {
    let err = |message: String| Some(Err(LineError { line, message }));
    if text.len() > MAX_LINE {
        return err(format!("longer than {MAX_LINE} bytes"));
    }
    // A comment starts at a '#' that begins the line or follows a blank.
    let mut content = text;
    for (i, c) in text.char_indices() {
        if c == '#' && (i == 0 || text[..i].ends_with([' ', '\t'])) {
            content = &text[..i];
            break;
        }
    }
    let mut words = content.split_whitespace();
    let input = words.next()?;
    let target = match target::parse(input) {
        Ok(t) => t,
        Err(e) => return err(e.to_string()),
    };
    let mut entry = Entry {
        line,
        input: input.to_string(),
        target,
        user: None,
        password_env: None,
        expect_range: None,
        expect_address: None,
    };
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return err(format!(
                "\"{word}\" is not a setting: use key=value ({KEYS})"
            ));
        };
        if value.is_empty() {
            return err(format!("{key}= needs a value"));
        }
        match key {
            "user" => entry.user = Some(value.to_string()),
            "password-env" => entry.password_env = Some(value.to_string()),
            "password" => {
                return err("passwords do not belong in a file: use password-env=VAR".to_string());
            }
            "tls" => match value {
                "off" => {}
                other => {
                    return err(format!(
                        "tls={other}: FTPS is not supported yet; use tls=off or leave it out"
                    ));
                }
            },
            "expect-range" => match parse_range(value) {
                Ok(r) => entry.expect_range = Some(r),
                Err(e) => return err(e),
            },
            "expect-address" => match value.parse() {
                Ok(ip) => entry.expect_address = Some(ip),
                Err(_) => return err(format!("expect-address={value} is not an IP address")),
            },
            other => return err(format!("unknown setting \"{other}\" (known: {KEYS})")),
        }
    }
    Some(Ok(entry))
}

/// Every entry and every bad line, in file order.
pub fn parse(text: &str) -> Vec<Result<Entry, LineError>> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| parse_line(i + 1, l.trim_end_matches('\r')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_settings_comments_and_errors() {
        let text = "# fleet\n\nftp.example.com\n\
                    ftp://alice@files.example.net:2121/pub password-env=PW expect-range=30000-30100 # note\n\
                    192.0.2.7 user=bob expect-address=198.51.100.7\n\
                    bad host!\n\
                    h.example.org color=blue\n\
                    h.example.org password=hunter2\n\
                    h.example.org tls=implicit\r\n";
        let all = parse(text);
        assert_eq!(all.len(), 7);
        let ok: Vec<&Entry> = all.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].line, 3);
        assert_eq!(ok[1].password_env.as_deref(), Some("PW"));
        assert_eq!(ok[1].expect_range, Some((30000, 30100)));
        assert_eq!(ok[2].user.as_deref(), Some("bob"));
        let errs: Vec<&LineError> = all.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(
            errs.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![6, 7, 8, 9]
        );
        assert!(errs[1].message.contains("unknown setting"));
        assert!(!errs[2].to_string().contains("hunter2"));
    }

    #[test]
    fn hash_inside_a_word_is_not_a_comment() {
        let all = parse("ftp://a@h.example/dir#x\n");
        assert_eq!(all.len(), 1);
        assert!(all[0].is_ok(), "{all:?}");
    }
}

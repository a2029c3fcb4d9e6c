//! The batch file: one target per line with optional per-line settings, for checking a
//! fleet. Pure parsing; a bad line is an error naming its line number, and the others still
//! parse. A line's settings are the keys of [`crate::config::Overrides`] (`module=NAME`
//! picks a module of the config file), parsed as the command line parses them.
//!
//! ```text
//! # comments and blank lines are ignored
//! ftp.example.com
//! ftp://alice@files.example.net:2121/pub  password-env=ALICE_PW expect-range=30000-30100
//! 192.0.2.7  user=bob expect-address=198.51.100.7 tls=off   # trailing comments too
//! ftps://files.example.org  module=customer samples=1
//! ```

use std::fmt;

use crate::config::{KEYS, Overrides};
use crate::target::{self, Target};

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
    /// The config file's module this line names (`module=NAME`).
    pub module: Option<String>,
    /// The line's own settings.
    pub overrides: Overrides,
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
        module: None,
        overrides: Overrides::default(),
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
        if key == "module" {
            entry.module = Some(value.to_string());
        } else if let Err(e) = entry.overrides.set(key, value) {
            return err(e);
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
                    h.example.org tls=sometimes\r\n";
        let all = parse(text);
        assert_eq!(all.len(), 7);
        let ok: Vec<&Entry> = all.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].line, 3);
        assert_eq!(ok[1].overrides.password_env.as_deref(), Some("PW"));
        assert_eq!(ok[1].overrides.expect_range, Some((30000, 30100)));
        assert_eq!(ok[2].overrides.user.as_deref(), Some("bob"));
        let errs: Vec<&LineError> = all.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(
            errs.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![6, 7, 8, 9]
        );
        assert!(errs[1].message.contains("unknown setting"));
        assert!(!errs[2].to_string().contains("hunter2"));
    }

    #[test]
    fn every_setting_and_a_module() {
        let all = parse(
            "ftps://h.example:990 module=customer tls=implicit ca-file=/ca.pem insecure=true \
             samples=2 transfers=1 timeout=2s deadline=9s password-file=/pw prot=c tls-max=1.2\n\
             h.example tls=off\n",
        );
        let e = all[0].as_ref().expect("parsed");
        assert_eq!(e.module.as_deref(), Some("customer"));
        let o = &e.overrides;
        assert_eq!(o.tls, Some(crate::transcript::TlsRequest::Implicit));
        assert_eq!(o.insecure, Some(true));
        assert_eq!((o.samples, o.transfers), (Some(2), Some(1)));
        assert_eq!(o.deadline, Some(std::time::Duration::from_secs(9)));
        assert_eq!(
            o.password_file.as_deref(),
            Some(std::path::Path::new("/pw"))
        );
        let off = all[1].as_ref().expect("parsed");
        assert_eq!(off.overrides.tls, Some(crate::transcript::TlsRequest::Off));
    }

    #[test]
    fn hash_inside_a_word_is_not_a_comment() {
        let all = parse("ftp://a@h.example/dir#x\n");
        assert_eq!(all.len(), 1);
        assert!(all[0].is_ok(), "{all:?}");
    }
}

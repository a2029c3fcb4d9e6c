//! `pasv-doctor explain`: a client's log, pasted into a support ticket, read into the same
//! [`Transcript`] the live check records, so the same analysis gives the same findings,
//! without any network traffic. A pure room: bytes in, a transcript or a reason out; no
//! I/O, no clock, no printing.
//!
//! Formats: FileZilla's message log (copied from the window, with or without timestamps,
//! and its log file), WinSCP session logs, `curl -v`, `lftp -d`, and a bare transcript of
//! commands and replies. The format is detected from the lines' shapes (or forced); mixed
//! line ends, indentation, e-mail quoting and localized FileZilla prefixes are tolerated.
//! Replies are assembled and passive replies decoded by the protocol core ([`crate::proto`]).
//! User names and passwords are redacted before anything is kept (see [`redact`]).

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod build;
pub mod formats;
pub mod input;
pub mod lower;
pub mod messages;
pub mod reader;
pub mod redact;
pub mod transfer;

use std::fmt;

use formats::Item;
use input::RawLine;

use crate::transcript::Transcript;

/// The largest log read, in bytes.
pub const MAX_INPUT: usize = 16 * 1024 * 1024;

/// A client log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// FileZilla's message log (copied from the window) or its log file; FluentFTP's log
    /// has the same `Command:`/`Response:` prefixes.
    Filezilla,
    /// A WinSCP session log (NetBox writes the same).
    Winscp,
    /// `curl -v` output.
    Curl,
    /// `lftp -d` debug output (and `ftp -d`'s `--->` lines).
    Lftp,
    /// The `ftp` command-line client (Linux, BSD, Windows `ftp.exe`): `ftp>` prompts and
    /// the server's replies, no commands.
    FtpCli,
    /// Library debug output marking commands `>` and replies `<` (basic-ftp, node-ftp,
    /// Cyberduck's transcript).
    Arrows,
    /// Python ftplib's debug output (`*cmd*`, `*resp*`).
    Ftplib,
    /// goftp's debug log (`sending command`, `got`).
    Goftp,
    /// Commands and replies, one per line, without client marks.
    Bare,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Filezilla,
        Format::Winscp,
        Format::Curl,
        Format::Lftp,
        Format::FtpCli,
        Format::Arrows,
        Format::Ftplib,
        Format::Goftp,
        Format::Bare,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Filezilla => "filezilla",
            Format::Winscp => "winscp",
            Format::Curl => "curl",
            Format::Lftp => "lftp",
            Format::FtpCli => "ftp",
            Format::Arrows => "arrows",
            Format::Ftplib => "ftplib",
            Format::Goftp => "goftp",
            Format::Bare => "bare",
        }
    }

    /// How people call the log.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Filezilla => "FileZilla-style message log",
            Format::Winscp => "WinSCP session log",
            Format::Curl => "curl -v output",
            Format::Lftp => "lftp -d output",
            Format::FtpCli => "ftp command-line session",
            Format::Arrows => "FTP library debug log (> command, < reply)",
            Format::Ftplib => "Python ftplib debug output",
            Format::Goftp => "goftp debug log",
            Format::Bare => "bare FTP transcript",
        }
    }

    /// The client that writes this format, when only one does.
    pub fn client(self) -> Option<&'static str> {
        match self {
            Format::Filezilla => Some("FileZilla"),
            Format::Winscp => Some("WinSCP"),
            Format::Curl => Some("curl"),
            Format::Lftp => Some("lftp"),
            Format::FtpCli => Some("ftp"),
            Format::Ftplib => Some("Python ftplib"),
            Format::Goftp => Some("goftp"),
            Format::Arrows | Format::Bare => None,
        }
    }

    /// Whether a line has this format's shape (to detect the format).
    pub fn recognise(self, line: &str) -> bool {
        match self {
            Format::Filezilla => formats::filezilla::recognise(line),
            Format::Winscp => formats::winscp::recognise(line),
            Format::Curl => formats::curl::recognise(line),
            Format::Lftp => formats::lftp::recognise(line),
            Format::FtpCli => formats::ftpcli::recognise(line),
            Format::Arrows => formats::arrows::recognise(line),
            Format::Ftplib => formats::ftplib::recognise(line),
            Format::Goftp => formats::goftp::recognise(line),
            Format::Bare => formats::bare::recognise(line),
        }
    }

    /// Reads the lines into items.
    pub fn parse(self, lines: &[RawLine]) -> Vec<Item> {
        match self {
            Format::Filezilla => formats::filezilla::parse(lines),
            Format::Winscp => formats::winscp::parse(lines),
            Format::Curl => formats::curl::parse(lines),
            Format::Lftp => formats::lftp::parse(lines),
            Format::FtpCli => formats::ftpcli::parse(lines),
            Format::Arrows => formats::arrows::parse(lines),
            Format::Ftplib => formats::ftplib::parse(lines),
            Format::Goftp => formats::goftp::parse(lines),
            Format::Bare => formats::bare::parse(lines),
        }
    }
}

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the log as this format instead of detecting it.
    pub from: Option<Format>,
    /// Keep user names (passwords are always redacted).
    pub keep_user: bool,
    /// The name the input goes by in the report (the FILE argument).
    pub input_name: String,
}

/// A log read into a transcript.
#[derive(Debug, Clone)]
pub struct Explained {
    pub transcript: Transcript,
    pub format: Format,
    /// Things the reader had to do to the input, for stderr.
    pub warnings: Vec<String>,
}

/// Why a log could not be explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplainError {
    /// More than [`MAX_INPUT`] bytes.
    TooLarge { limit: usize },
    /// Not a log of an FTP client's session, and why it looks like that.
    NotFtpLog(String),
    /// A bug: the transcript could not be put together.
    Internal(String),
}

impl fmt::Display for ExplainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExplainError::TooLarge { limit } => write!(
                f,
                "the log is larger than {} MiB; cut it to the session in question",
                limit / (1024 * 1024)
            ),
            ExplainError::NotFtpLog(why) => write!(
                f,
                "not an FTP client log: {why}. explain reads FileZilla, WinSCP and FluentFTP \
                 logs, curl -v and lftp -d output, ftp command-line sessions, the debug logs \
                 of basic-ftp, node-ftp, Python ftplib and goftp, and bare FTP transcripts \
                 (commands and replies)"
            ),
            ExplainError::Internal(e) => write!(f, "internal error: {e}"),
        }
    }
}

impl std::error::Error for ExplainError {}

/// The format whose shape most lines have, and how many do. Client formats win over a
/// bare transcript when they recognise as many lines.
pub fn detect(lines: &[RawLine]) -> (Format, usize) {
    let mut best = (Format::Bare, 0usize);
    let curl = lines.iter().any(|l| formats::curl::distinctive(&l.text));
    for format in Format::ALL {
        if format == Format::Curl && !curl {
            continue;
        }
        let score = lines.iter().filter(|l| format.recognise(&l.text)).count();
        let score = if format == Format::Bare {
            score / 2
        } else {
            score
        };
        if score > best.1 {
            best = (format, score);
        }
    }
    best
}

/// Signs that a log is of something else: (needle in lower case, what it is).
const FOREIGN: &[(&str, &str)] = &[
    ("\"get /", "it looks like a web server access log"),
    ("\"post /", "it looks like a web server access log"),
    ("ssh-2.0-", "it looks like an SSH/SFTP session log"),
    ("using sftp protocol", "it looks like an SFTP session log"),
    (
        "transfer protocol: sftp",
        "it looks like an SFTP session log",
    ),
    ("transfer protocol: scp", "it looks like an SCP session log"),
    ("fzsftp", "it looks like a FileZilla SFTP session log"),
    ("sftp>", "it looks like an SFTP session"),
    (" http/1.", "it looks like an HTTP log"),
    ("http/2 ", "it looks like an HTTP log"),
];

fn foreign(lines: &[RawLine]) -> Option<&'static str> {
    lines.iter().take(5000).find_map(|l| {
        let lower = l.text.to_ascii_lowercase();
        FOREIGN
            .iter()
            .find(|(needle, _)| lower.contains(needle))
            .map(|(_, what)| *what)
    })
}

/// Another protocol's session inside a paste (an SFTP attempt next to the FTP one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub what: &'static str,
    pub first_line: u64,
    pub last_line: u64,
}

impl Skipped {
    fn describe(&self) -> String {
        format!(
            "lines {}-{}: skipped, {}",
            self.first_line,
            self.last_line,
            self.what.trim_start_matches("it looks like ")
        )
    }
}

/// Lines that belong to an SFTP/SCP session, by their client's words.
const OTHER_PROTOCOL: &[(&str, &str)] = &[
    ("using sftp protocol", "an SFTP session"),
    ("transfer protocol: sftp", "an SFTP session"),
    ("transfer protocol: scp", "an SCP session"),
    ("fzsftp", "a FileZilla SFTP session"),
    ("sftp>", "an SFTP session"),
    ("server version: ssh-", "an SSH session"),
];

/// Blanks out the sessions of other protocols in a paste (from the connection attempt
/// before their first sign to the next connection attempt), keeping the line numbers, and
/// says what was skipped.
fn skip_foreign(mut lines: Vec<RawLine>) -> (Vec<RawLine>, Vec<Skipped>) {
    let lower: Vec<String> = lines.iter().map(|l| l.text.to_lowercase()).collect();
    let connect = |l: &str| {
        l.contains("connecting to")
            || l.contains("looking up host")
            || l.contains("resolving address")
            || l.contains("session started")
    };
    let mut skipped = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((_, what)) = OTHER_PROTOCOL.iter().find(|(n, _)| lower[i].contains(n)) else {
            i += 1;
            continue;
        };
        let start = (0..=i).rev().find(|&j| connect(&lower[j])).unwrap_or(i);
        let end = (i + 1..lines.len())
            .find(|&j| connect(&lower[j]))
            .unwrap_or(lines.len());
        skipped.push(Skipped {
            what,
            first_line: lines[start].no,
            last_line: lines[end - 1].no,
        });
        for l in &mut lines[start..end] {
            l.text.clear();
        }
        i = end;
    }
    (lines, skipped)
}

/// Reads a log into a transcript.
pub fn explain(bytes: &[u8], opts: &Options) -> Result<Explained, ExplainError> {
    if bytes.len() > MAX_INPUT {
        return Err(ExplainError::TooLarge { limit: MAX_INPUT });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ExplainError::NotFtpLog("the input is empty".to_string()));
    }
    if !input::has_utf16_bom(bytes) && input::looks_binary(bytes) {
        return Err(ExplainError::NotFtpLog(
            "the input is a binary file, not text".to_string(),
        ));
    }
    let text = input::decode(bytes);
    let raw = input::split(&text);
    let mut warnings = Vec::new();
    if raw.cut > 0 {
        warnings.push(format!(
            "{} line(s) longer than {} bytes were cut to that length",
            raw.cut,
            input::MAX_LINE
        ));
    }
    // Try each depth of e-mail quoting; keep the reading that recognises most lines.
    let mut best: Option<(Format, usize, Vec<RawLine>)> = None;
    for depth in input::quote_depths(&raw.lines) {
        let lines = input::normalise(&raw.lines, depth);
        let (format, score) = match opts.from {
            Some(f) => (f, lines.iter().filter(|l| f.recognise(&l.text)).count()),
            None => detect(&lines),
        };
        if best.as_ref().is_none_or(|b| score > b.1) {
            best = Some((format, score, lines));
        }
    }
    let (format, _, lines) = best.unwrap_or((Format::Bare, 0, Vec::new()));
    let (lines, skipped) = skip_foreign(lines);
    let items: Vec<Item> = format.parse(&lines);
    let secrets = redact::secrets(&items);
    let items = redact::items(items, &secrets, opts.keep_user);
    let built = build::build(
        &items,
        &build::Context {
            input: &opts.input_name,
            format,
            skipped: skipped.iter().map(|s| s.describe()).collect(),
        },
    );
    let connect_failure = built.transcript.servers.iter().any(|s| {
        s.end == crate::transcript::SessionEnd::ConnectFailed
            && s.server.port() != 22
            && format != Format::Bare
    });
    // A log of an FTP client's own messages (FileZilla at its default level, a WinSCP
    // error box) tells a story without replies.
    // So does a client format's log of FTP commands or messages that ends in a failure
    // (curl's "Recv failure" after USER, FileZilla's TLS error and failed listing).
    let client_format = format != Format::Bare;
    let client_story = built.quoted > 0
        || built.signals >= 2
        || (built.signals >= 1
            && (built.commands > 0 || built.replies > 0 || (client_format && built.events > 0)))
        || (client_format && built.commands > 0 && built.events > 0);
    // An FTP client that reached an SSH server is an FTP log about the wrong server.
    let wrong_server =
        built.foreign_banners > 0 && (built.commands > 0 || built.events > 0 || built.signals > 0);
    if built.replies == 0 && !connect_failure && !client_story && !wrong_server {
        let why = match (skipped.first(), foreign(&lines)) {
            (Some(s), _) => format!("it holds {} and no FTP session", s.what),
            (None, Some(what)) => what.to_string(),
            (None, None) => format!(
                "no FTP replies found in {} line(s) (read as {})",
                lines.len(),
                format.describe()
            ),
        };
        return Err(ExplainError::NotFtpLog(why));
    }
    if built.commands == 0
        && built.replies < 2
        && !client_story
        && built
            .transcript
            .servers
            .iter()
            .all(|s| s.greeting.is_empty())
        && !connect_failure
        && !wrong_server
    {
        return Err(ExplainError::NotFtpLog(format!(
            "no FTP commands or greeting found in {} line(s)",
            lines.len()
        )));
    }
    Ok(Explained {
        transcript: built.transcript,
        format,
        warnings,
    })
}

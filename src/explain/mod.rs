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
pub mod messages;
pub mod redact;

use std::fmt;

use formats::{Item, Parser};
use input::RawLine;

use crate::transcript::Transcript;

/// The largest log read, in bytes.
pub const MAX_INPUT: usize = 16 * 1024 * 1024;

/// A client log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// FileZilla's message log (copied from the window) or its log file.
    Filezilla,
    /// A WinSCP session log.
    Winscp,
    /// `curl -v` output.
    Curl,
    /// `lftp -d` debug output.
    Lftp,
    /// Commands and replies, one per line, without client marks.
    Bare,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Filezilla,
        Format::Winscp,
        Format::Curl,
        Format::Lftp,
        Format::Bare,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Filezilla => "filezilla",
            Format::Winscp => "winscp",
            Format::Curl => "curl",
            Format::Lftp => "lftp",
            Format::Bare => "bare",
        }
    }

    /// How people call the log.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Filezilla => "FileZilla message log",
            Format::Winscp => "WinSCP session log",
            Format::Curl => "curl -v output",
            Format::Lftp => "lftp -d output",
            Format::Bare => "bare FTP transcript",
        }
    }

    fn parser(self) -> Parser {
        match self {
            Format::Filezilla => Parser {
                recognise: formats::filezilla::recognise,
                parse: formats::filezilla::parse,
            },
            Format::Winscp => Parser {
                recognise: formats::winscp::recognise,
                parse: formats::winscp::parse,
            },
            Format::Curl => Parser {
                recognise: formats::curl::recognise,
                parse: formats::curl::parse,
            },
            Format::Lftp => Parser {
                recognise: formats::lftp::recognise,
                parse: formats::lftp::parse,
            },
            Format::Bare => Parser {
                recognise: formats::bare::recognise,
                parse: formats::bare::parse,
            },
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
                "not an FTP client log: {why}. explain reads FileZilla and WinSCP logs, \
                 curl -v and lftp -d output, and bare FTP transcripts (commands and replies)"
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
    for format in Format::ALL {
        let recognise = format.parser().recognise;
        let score = lines.iter().filter(|l| recognise(&l.text)).count();
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
            Some(f) => {
                let recognise = f.parser().recognise;
                (f, lines.iter().filter(|l| recognise(&l.text)).count())
            }
            None => detect(&lines),
        };
        if best.as_ref().is_none_or(|b| score > b.1) {
            best = Some((format, score, lines));
        }
    }
    let (format, _, lines) = best.unwrap_or((Format::Bare, 0, Vec::new()));
    let items: Vec<Item> = (format.parser().parse)(&lines);
    let secrets = redact::secrets(&items);
    let items = redact::items(items, &secrets, opts.keep_user);
    let built = build::build(
        &items,
        &build::Context {
            input: &opts.input_name,
            format: format.name(),
        },
    )
    .map_err(ExplainError::Internal)?;
    let connect_failure = built.transcript.servers.iter().any(|s| {
        s.end == crate::transcript::SessionEnd::ConnectFailed
            && s.server.port() != 22
            && format != Format::Bare
    });
    if built.replies == 0 && !connect_failure {
        let why = foreign(&lines).map_or_else(
            || {
                format!(
                    "no FTP replies found in {} line(s) (read as {})",
                    lines.len(),
                    format.describe()
                )
            },
            str::to_string,
        );
        return Err(ExplainError::NotFtpLog(why));
    }
    if built.commands == 0
        && built
            .transcript
            .servers
            .iter()
            .all(|s| s.greeting.is_empty())
        && !connect_failure
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

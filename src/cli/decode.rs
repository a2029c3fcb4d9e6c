//! `pasv-doctor decode`: turns reply lines from arguments or stdin into decoded items for
//! the renderer. Input is bounded: a line is read up to a limit and the rest is dropped
//! unseen, so a 10 MB paste costs no more memory than a short one.

use std::io::{self, BufRead, Write};

use super::{DecodeArgs, DecodeFormat, SentCommand};
use crate::exit::Status;
use crate::proto::{self, Limits, PassiveKind, ReplyError, ReplyReader};
use crate::report::decode::{self as render, DecodeItem, ItemError, Outcome};

/// The longest input line accepted; longer lines are reported, not decoded.
const MAX_LINE: usize = proto::reply::DEFAULT_MAX_LINE;

pub fn run(
    args: &DecodeArgs,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<Status> {
    let sent = args.sent.map(|s| match s {
        SentCommand::Pasv => PassiveKind::Pasv,
        SentCommand::Epsv => PassiveKind::Epsv,
        SentCommand::Lpsv => PassiveKind::Lpsv,
    });
    let from_stdin = args.replies.is_empty() || args.replies.iter().all(|r| r == "-");
    let items = if from_stdin {
        super::paste_hint(err, "reply lines")?;
        let scan = match scan_stdin(stdin) {
            Ok(scan) => scan,
            Err(e) => {
                writeln!(err, "pasv-doctor: cannot read stdin: {e}")?;
                return Ok(Status::Unknown);
            }
        };
        if scan.lines == 0 {
            writeln!(
                err,
                "pasv-doctor: nothing to decode: stdin was empty.\n\
                 Give a reply as an argument, e.g.\n  \
                 pasv-doctor decode \"227 Entering Passive Mode (10,0,0,5,195,80).\""
            )?;
            return Ok(Status::Unknown);
        }
        if scan.items.is_empty() {
            writeln!(
                err,
                "pasv-doctor: no passive-mode reply found in {} line(s) of input: \
                 expected lines such as \"227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)\" \
                 or \"229 Entering Extended Passive Mode (|||port|)\"",
                scan.lines
            )?;
            return Ok(Status::Critical);
        }
        if scan.skipped > 0 && args.format == DecodeFormat::Text {
            writeln!(
                err,
                "pasv-doctor: skipped {} reply(ies) that are not passive-mode replies",
                scan.skipped
            )?;
        }
        scan.items
    } else {
        replies_of(&args.replies)
            .iter()
            .map(|r| decode_argument(r))
            .collect()
    };
    let items: Vec<DecodeItem> = items
        .into_iter()
        .map(|pending| pending.finish(sent))
        .collect();
    match args.format {
        DecodeFormat::Text => render::write_text(out, &items)?,
        DecodeFormat::Json => render::write_json_lines(out, &items)?,
    }
    let all_decoded = items
        .iter()
        .all(|i| matches!(i.outcome, Outcome::Decoded { .. }));
    Ok(if all_decoded {
        Status::Ok
    } else {
        Status::Critical
    })
}

/// A reply (or an input error) waiting to be decoded.
enum Pending {
    Reply { input: String, reply: proto::Reply },
    Error { input: String, error: ItemError },
}

impl Pending {
    fn finish(self, sent: Option<PassiveKind>) -> DecodeItem {
        match self {
            Pending::Reply { input, reply } => DecodeItem::from_reply(input, &reply, sent),
            Pending::Error { input, error } => DecodeItem {
                input,
                outcome: Outcome::Failed {
                    code: None,
                    kind: None,
                    error,
                },
            },
        }
    }
}

/// Where the reply starts in a log line: at the start, or after a log prefix such as
/// `Response:\t`, `< ` or a timestamp. A reply code follows a blank, `:`, `<`, `>` or the
/// start of the line, and is followed by a blank, `-` or the end. Passive codes win over
/// others, so a process id in a log prefix is not taken for a reply code.
fn reply_start(line: &[u8]) -> Option<usize> {
    let is_code_at = |i: usize| -> Option<u16> {
        let digits = line.get(i..i + 3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if i > 0 && !matches!(line[i - 1], b' ' | b'\t' | b':' | b'<' | b'>') {
            return None;
        }
        if !matches!(line.get(i + 3), None | Some(b' ' | b'-' | b'\r')) {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0u16, |a, d| a * 10 + u16::from(d - b'0')),
        )
    };
    let candidates: Vec<(usize, u16)> = (0..line.len())
        .filter_map(|i| is_code_at(i).map(|c| (i, c)))
        .collect();
    candidates
        .iter()
        .find(|(_, c)| PassiveKind::from_code(*c).is_some())
        .or(candidates.first())
        .map(|(i, _)| *i)
}

/// Strips a leading log prefix, then assembles the argument as one reply.
fn decode_argument(arg: &str) -> Pending {
    let bytes = arg.trim_start().as_bytes();
    let input = arg.trim().to_string();
    if bytes.len() > MAX_LINE {
        return Pending::Error {
            input: shorten(&input),
            error: ItemError::Reply(ReplyError::LineTooLong {
                limit: MAX_LINE,
                first_bytes: bytes[..64.min(bytes.len())].to_vec(),
            }),
        };
    }
    let Some(start) = reply_start(bytes) else {
        return Pending::Error {
            input,
            error: ItemError::NoReplyCode,
        };
    };
    // Show the reply as the server sent it, so error positions line up with it.
    let input = String::from_utf8_lossy(&bytes[start..])
        .trim_end()
        .to_string();
    // An argument is a reply without its line terminators: give each line its CRLF so
    // that their absence is not reported as a server anomaly.
    let mut wire = Vec::with_capacity(bytes.len() + 2);
    for line in input.lines() {
        wire.extend_from_slice(line.trim_end_matches('\r').as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    let mut all = proto::parse_all(&wire, Limits::default());
    match all.len() {
        0 => Pending::Error {
            input,
            error: ItemError::NoReplyCode,
        },
        _ => match all.remove(0) {
            Ok(reply) => Pending::Reply { input, reply },
            Err(error) => Pending::Error {
                input,
                error: ItemError::Reply(error),
            },
        },
    }
}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

struct StdinScan {
    items: Vec<Pending>,
    /// Lines read.
    lines: usize,
    /// Complete replies that were not passive replies.
    skipped: usize,
}

/// Reads stdin line by line, bounded, feeding reply lines to the assembler.
fn scan_stdin(stdin: &mut dyn BufRead) -> io::Result<StdinScan> {
    let mut reader = ReplyReader::new(Limits::default());
    let mut scan = StdinScan {
        items: Vec::new(),
        lines: 0,
        skipped: 0,
    };
    let mut line = Vec::new();
    while let Some(overflow) = read_line_bounded(stdin, &mut line, MAX_LINE)? {
        scan.lines += 1;
        if overflow {
            scan.items.push(Pending::Error {
                input: format!("stdin line {}", scan.lines),
                error: ItemError::Reply(ReplyError::LineTooLong {
                    limit: MAX_LINE,
                    first_bytes: line[..64.min(line.len())].to_vec(),
                }),
            });
            continue;
        }
        let start = match reply_start(&line) {
            Some(start) => start,
            // A line without a code belongs only inside a multi-line reply.
            None if reader.in_reply() => 0,
            None => continue,
        };
        reader.feed(&line[start..]);
        reader.feed(b"\r\n");
        collect(&mut reader, &mut scan, false);
    }
    collect(&mut reader, &mut scan, true);
    Ok(scan)
}

fn collect(reader: &mut ReplyReader, scan: &mut StdinScan, at_end: bool) {
    loop {
        let next = if at_end {
            reader.finish()
        } else {
            reader.next_reply()
        };
        match next {
            Ok(Some(reply)) if PassiveKind::from_code(reply.code).is_some() => {
                scan.items.push(Pending::Reply {
                    input: reply.to_lossy_string(),
                    reply,
                });
            }
            Ok(Some(_)) => scan.skipped += 1,
            Ok(None) => return,
            Err(error) => scan.items.push(Pending::Error {
                input: format!("stdin line {}", scan.lines),
                error: ItemError::Reply(error),
            }),
        }
    }
}

/// Reads one line (without its LF) into `buf`, keeping at most `max + 1` bytes and
/// dropping the rest unseen. `Ok(None)` at end of input; `Ok(Some(true))` when the line was
/// longer than `max`.
fn read_line_bounded(
    input: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut seen_any = false;
    let mut overflow = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(seen_any.then_some(overflow));
        }
        seen_any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = (max + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        if take > room {
            overflow = true;
        }
        input.consume(if done { take + 1 } else { take });
        if done {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            if buf.len() > max {
                overflow = true;
            }
            return Ok(Some(overflow));
        }
    }
}

/// The replies among the arguments: a reply written without quotes arrives as several
/// words (`decode 227 Entering Passive Mode (...)`), so the words after one that starts with
/// a reply code belong to it, up to the next such word.
fn replies_of(args: &[String]) -> Vec<String> {
    let starts_reply = |a: &str| {
        let b = a.as_bytes();
        b.len() >= 3
            && b[..3].iter().all(u8::is_ascii_digit)
            && matches!(b.get(3), None | Some(b' ' | b'-'))
    };
    let mut out: Vec<String> = Vec::new();
    for a in args {
        match out.last_mut() {
            Some(last) if !starts_reply(a) && starts_reply(last) => {
                last.push(' ');
                last.push_str(a);
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unquoted_reply_is_one_reply() {
        let words: Vec<String> = [
            "227",
            "Entering",
            "Passive",
            "Mode",
            "(10,0,0,5,195,80).",
            "229",
            "(|||5000|)",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            replies_of(&words),
            vec![
                "227 Entering Passive Mode (10,0,0,5,195,80).".to_string(),
                "229 (|||5000|)".to_string()
            ]
        );
        let quoted = vec!["227 Entering Passive Mode (1,2,3,4,5,6)".to_string()];
        assert_eq!(replies_of(&quoted), quoted);
        let junk = vec!["hello".to_string(), "world".to_string()];
        assert_eq!(replies_of(&junk), junk);
    }

    use super::*;

    #[test]
    fn reply_start_skips_log_prefixes() {
        let cases: [(&str, Option<usize>); 7] = [
            ("227 Entering Passive Mode (1,2,3,4,5,6)", Some(0)),
            ("Response:\t227 Entering Passive Mode", Some(10)),
            ("< 229 Entering Extended Passive Mode (|||6446|)", Some(2)),
            (
                "2026-11-24 10:00:00 123 1 Response: 227 x (1,2,3,4,5,6)",
                Some(36),
            ),
            ("< 2026-11-24 10:00:00.123 227 Entering", Some(26)),
            ("Status: Connecting", None),
            ("12345 no", None),
        ];
        for (line, want) in cases {
            assert_eq!(reply_start(line.as_bytes()), want, "{line}");
        }
    }

    #[test]
    fn bounded_lines() {
        let data = b"short\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nend";
        let mut input: &[u8] = data;
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 10).unwrap(),
            Some(false)
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 10).unwrap(),
            Some(true)
        );
        assert_eq!(buf.len(), 11);
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 10).unwrap(),
            Some(false)
        );
        assert_eq!(buf, b"end");
        assert_eq!(read_line_bounded(&mut input, &mut buf, 10).unwrap(), None);
    }
}

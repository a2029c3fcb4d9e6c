//! The command-line reader of the fake server, pure: bytes go in as they arrive, complete
//! command lines come out, bounded. A line ends at LF (one CR before it is dropped); a line
//! longer than [`MAX_LINE`] bytes is discarded as it streams in and reported once as
//! [`Line::TooLong`], so a client can never make the server hold more than one line (and the
//! lines of one read).

use std::collections::VecDeque;

/// Longest command line accepted, without its line end; longer lines get `500`.
pub const MAX_LINE: usize = 4096;

/// One event from the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete command line, its line end removed.
    Command(Vec<u8>),
    /// A line longer than [`MAX_LINE`] ended; its bytes were dropped.
    TooLong,
}

/// Bytes received and not yet given out as lines.
#[derive(Debug, Default)]
pub struct LineReader {
    /// Lines complete and not yet taken; at most one read's worth.
    done: VecDeque<Line>,
    /// The line still arriving, at most `MAX_LINE + 1` bytes (the +1 for its CR).
    partial: Vec<u8>,
    /// The line still arriving is too long: its bytes are dropped until its end.
    discarding: bool,
}

impl LineReader {
    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut pieces = bytes.split(|&b| b == b'\n').peekable();
        while let Some(piece) = pieces.next() {
            if !self.discarding {
                if self.partial.len() + piece.len() > MAX_LINE + 1 {
                    self.partial.clear();
                    self.discarding = true;
                } else {
                    self.partial.extend_from_slice(piece);
                }
            }
            // Every piece but the last ended at a line end.
            if pieces.peek().is_some() {
                self.end_line();
            }
        }
    }

    fn end_line(&mut self) {
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let discarded = std::mem::replace(&mut self.discarding, false);
        self.done.push_back(if discarded || line.len() > MAX_LINE {
            Line::TooLong
        } else {
            Line::Command(line)
        });
    }

    /// The next complete line, if one has arrived.
    pub fn next(&mut self) -> Option<Line> {
        self.done.pop_front()
    }

    /// Drops every byte received and not yet given out (e.g. a TLS ClientHello the script
    /// ignores); says whether there were any.
    pub fn discard(&mut self) -> bool {
        let any = self.has_pending();
        self.done.clear();
        self.partial.clear();
        self.discarding = false;
        any
    }

    /// Whether bytes are waiting, complete lines or not.
    pub fn has_pending(&self) -> bool {
        !self.done.is_empty() || !self.partial.is_empty() || self.discarding
    }
}

/// Splits a command line into its upper-case verb and its argument (everything after the
/// first space, as sent).
pub fn parse_command(line: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(line);
    let (verb, arg) = match text.split_once(' ') {
        Some((verb, arg)) => (verb, arg),
        None => (text.as_ref(), ""),
    };
    (verb.to_ascii_uppercase(), arg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of `chunks`, and what is left of an unfinished line.
    fn lines_of(chunks: &[&[u8]]) -> (Vec<Line>, Vec<u8>) {
        let mut r = LineReader::default();
        for chunk in chunks {
            r.push(chunk);
        }
        let lines = std::iter::from_fn(|| r.next()).collect();
        (lines, r.partial.clone())
    }

    fn cmd(s: &str) -> Line {
        Line::Command(s.as_bytes().to_vec())
    }

    #[test]
    fn line_ends_are_stripped_and_partial_lines_wait() {
        let (lines, pending) = lines_of(&[b"USER a\r\nNO", b"OP\nPASS x\r\r\n", b"partial"]);
        assert_eq!(lines, [cmd("USER a"), cmd("NOOP"), cmd("PASS x\r")]);
        // A line without its end is never a command.
        assert_eq!(pending, b"partial");
    }

    #[test]
    fn long_lines_are_dropped_once_and_the_next_line_is_read() {
        let mut long = vec![b'a'; MAX_LINE + 1];
        long.extend_from_slice(b"\r\nNOOP\nexact");
        let (lines, pending) = lines_of(&[&long]);
        assert_eq!(lines, [Line::TooLong, cmd("NOOP")]);
        assert_eq!(pending, b"exact");

        // The limit holds without its CR, whatever the chunking.
        let mut exact = vec![b'b'; MAX_LINE];
        exact.extend_from_slice(b"\r\n");
        for size in [1, 7, 4096, 10_000] {
            let chunks: Vec<&[u8]> = exact.chunks(size).collect();
            let (lines, _) = lines_of(&chunks);
            assert_eq!(lines.len(), 1, "chunks of {size}");
            assert!(matches!(&lines[0], Line::Command(l) if l.len() == MAX_LINE));
        }
        let mut over = vec![b'c'; MAX_LINE + 1];
        over.extend_from_slice(b"\r\nQUIT\r\n");
        for size in [1, 3, 4097, 10_000] {
            let chunks: Vec<&[u8]> = over.chunks(size).collect();
            assert_eq!(
                lines_of(&chunks).0,
                [Line::TooLong, cmd("QUIT")],
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn an_endless_line_holds_no_more_than_one_line() {
        let mut r = LineReader::default();
        for _ in 0..1000 {
            r.push(&[b'x'; 1024]);
            assert!(r.partial.len() <= MAX_LINE + 1, "{}", r.partial.len());
            assert_eq!(r.next(), None);
            assert!(r.has_pending());
        }
        r.push(b"\r\nNOOP\r\n");
        assert_eq!(r.next(), Some(Line::TooLong));
        assert_eq!(r.next(), Some(cmd("NOOP")));
        assert_eq!(r.next(), None);
        assert!(!r.has_pending());
        r.push(b"\x16\x03\x01 hello\nUSER");
        assert!(r.discard());
        assert!(!r.has_pending() && !r.discard());
    }

    #[test]
    fn commands_split_into_upper_case_verb_and_raw_argument() {
        assert_eq!(
            parse_command(b"pass  two spaces"),
            ("PASS".to_string(), " two spaces".to_string())
        );
        assert_eq!(parse_command(b"Pasv"), ("PASV".to_string(), String::new()));
        assert_eq!(parse_command(b""), (String::new(), String::new()));
        assert_eq!(parse_command(b"\xff\xfe x").0, "\u{fffd}\u{fffd}");
    }
}

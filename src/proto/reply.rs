//! Reply assembly: bytes read from an FTP control connection in, complete replies out.
//!
//! A small state machine over a byte buffer in the manner of tokio-util's `LinesCodec`,
//! bounded for untrusted input: every line has a maximum length and every reply a maximum
//! number of lines, and both errors carry the limit and the first bytes that broke it.
//!
//! RFC 959 4.2: a reply is `ddd text` on one line, or `ddd-text` opening a multi-line reply
//! that ends with a line `ddd text` carrying the same code. What servers send in practice is
//! looser, so the reader accepts CRLF or bare LF, a last line without newline at end of
//! stream, non-UTF-8 text (kept as bytes) and a closing line with another code (accepted and
//! recorded as an anomaly). Nothing here rewrites what the server said: each line is kept
//! byte for byte, less its line terminator.

use super::reply_error::snippet;
pub use super::reply_error::{Anomaly, ReplyError, escape_bytes};

/// Default maximum length of one line, terminator excluded. Real replies are far shorter
/// (RFC 959 sets no limit; the longest real lines are FEAT and HELP listings).
pub const DEFAULT_MAX_LINE: usize = 8 * 1024;
/// Default maximum number of lines in one reply. A long HELP or FEAT has about a hundred.
pub const DEFAULT_MAX_LINES: usize = 1_000;
/// How many bytes of an offending line an error keeps, so that it can be shown.
pub const ERROR_SNIPPET: usize = 64;

/// Limits that keep a hostile server from growing memory without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted line, terminator excluded.
    pub max_line: usize,
    /// Most lines accepted in one reply.
    pub max_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: DEFAULT_MAX_LINE,
            max_lines: DEFAULT_MAX_LINES,
        }
    }
}

/// One complete reply as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code as a number: the code of the closing line, the one clients act on.
    /// It may lie outside 100-599 (see [`Anomaly::CodeOutOfRange`]).
    pub code: u16,
    /// Every line as received, without its CRLF or LF, code and separator included.
    pub lines: Vec<Vec<u8>>,
    /// Deviations from RFC 959 that were tolerated.
    pub anomalies: Vec<Anomaly>,
}

impl Reply {
    /// Whether the reply spans more than one line.
    pub fn is_multiline(&self) -> bool {
        self.lines.len() > 1
    }

    /// The text of every line after its code and separator (a continuation line without a
    /// code is kept whole), joined with `\n`. Bytes, because servers send non-UTF-8 text.
    pub fn text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(strip_code(line));
        }
        out
    }

    /// The whole reply as one string, lines joined with `\n`, invalid UTF-8 replaced.
    pub fn to_lossy_string(&self) -> String {
        let joined: Vec<u8> = self.lines.join(&b'\n');
        String::from_utf8_lossy(&joined).into_owned()
    }

    /// The class of the reply (1 preliminary ... 5 permanent failure), from its first digit.
    pub fn class(&self) -> u16 {
        self.code / 100
    }
}

/// The three-digit code at the start of a line, if any.
fn leading_code(line: &[u8]) -> Option<u16> {
    match line {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// The line's text after `ddd ` or `ddd-`; a line without a code is returned whole.
pub fn strip_code(line: &[u8]) -> &[u8] {
    if leading_code(line).is_some() {
        match line.get(3) {
            Some(b' ' | b'-') => &line[4..],
            None => &[],
            Some(_) => &line[3..],
        }
    } else {
        line
    }
}

/// How a line relates to the reply being assembled.
enum LineKind {
    /// `ddd ` or bare `ddd`: ends a reply.
    Final(u16),
    /// `ddd-`: opens (or, inside a multi-line reply, continues) a multi-line reply.
    Opening(u16),
    /// Anything else.
    Other,
}

fn classify(line: &[u8]) -> LineKind {
    match (leading_code(line), line.get(3)) {
        (Some(code), None | Some(b' ')) => LineKind::Final(code),
        (Some(code), Some(b'-')) => LineKind::Opening(code),
        _ => LineKind::Other,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Between replies.
    Idle,
    /// Inside a multi-line reply opened with this code.
    Multi { opened: u16 },
    /// Dropping the rest of an over-long line; then return to `after`.
    DiscardLine { after: Box<State> },
    /// Dropping the rest of an over-long reply until a line `ddd ` closes it.
    DiscardReply,
}

/// Assembles replies from bytes. Feed it what the socket gave, then take replies until it
/// returns `Ok(None)`; at end of stream call [`ReplyReader::finish`].
#[derive(Debug, Clone)]
pub struct ReplyReader {
    limits: Limits,
    buf: Vec<u8>,
    /// How far `buf` has been searched for a newline, so that a long line costs O(n).
    scanned: usize,
    state: State,
    lines: Vec<Vec<u8>>,
    anomalies: Vec<Anomaly>,
}

impl Default for ReplyReader {
    fn default() -> Self {
        ReplyReader::new(Limits::default())
    }
}

impl ReplyReader {
    pub fn new(limits: Limits) -> Self {
        ReplyReader {
            limits,
            buf: Vec::new(),
            scanned: 0,
            state: State::Idle,
            lines: Vec::new(),
            anomalies: Vec::new(),
        }
    }

    /// Appends bytes received from the server.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet form a complete line.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether a reply has been started but not completed.
    pub fn in_reply(&self) -> bool {
        !self.lines.is_empty() || !self.buf.is_empty()
    }

    /// The next complete reply, `Ok(None)` when more bytes are needed.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ReplyError> {
        loop {
            let Some(line) = self.take_line()? else {
                return Ok(None);
            };
            if let Some(done) = self.push_line(line)? {
                return Ok(Some(done));
            }
        }
    }

    /// At end of stream: the last reply if bytes remain (a last line without newline, or a
    /// multi-line reply cut short, each marked as such), otherwise `Ok(None)`.
    pub fn finish(&mut self) -> Result<Option<Reply>, ReplyError> {
        if let Some(reply) = self.next_reply()? {
            return Ok(Some(reply));
        }
        if matches!(self.state, State::DiscardLine { .. } | State::DiscardReply) {
            self.reset();
            return Ok(None);
        }
        if !self.buf.is_empty() {
            let mut line = std::mem::take(&mut self.buf);
            self.scanned = 0;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            // The buffer may hold max_line + 1 bytes while waiting for an LF after a CR.
            if line.len() > self.limits.max_line {
                return Err(self.line_too_long(line, false));
            }
            self.anomalies.push(Anomaly::NoFinalNewline);
            if let Some(done) = self.push_line(line)? {
                return Ok(Some(done));
            }
        }
        if self.lines.is_empty() {
            return Ok(None);
        }
        // A multi-line reply without its closing line: keep what arrived.
        let code = match self.state {
            State::Multi { opened } => opened,
            _ => leading_code(&self.lines[0]).unwrap_or(0),
        };
        self.anomalies.push(Anomaly::Truncated);
        Ok(Some(self.complete(code)))
    }

    fn reset(&mut self) {
        self.state = State::Idle;
        self.lines.clear();
        self.anomalies.clear();
        self.buf.clear();
        self.scanned = 0;
    }

    /// Takes one terminated line from the buffer, handling the over-long case.
    fn take_line(&mut self) -> Result<Option<Vec<u8>>, ReplyError> {
        loop {
            let found = self.buf[self.scanned..].iter().position(|&b| b == b'\n');
            match found {
                Some(offset) => {
                    let end = self.scanned + offset;
                    let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                    self.scanned = 0;
                    line.pop();
                    let bare_lf = line.last() != Some(&b'\r');
                    if !bare_lf {
                        line.pop();
                    }
                    if let State::DiscardLine { after } = &self.state {
                        self.state = (**after).clone();
                        continue;
                    }
                    if line.len() > self.limits.max_line {
                        return Err(self.line_too_long(line, false));
                    }
                    if bare_lf && !self.anomalies.contains(&Anomaly::BareLf) {
                        self.anomalies.push(Anomaly::BareLf);
                    }
                    return Ok(Some(line));
                }
                None => {
                    self.scanned = self.buf.len();
                    if matches!(self.state, State::DiscardLine { .. }) {
                        self.buf.clear();
                        self.scanned = 0;
                        return Ok(None);
                    }
                    // +1: a CR may still be followed by its LF.
                    if self.buf.len() > self.limits.max_line + 1 {
                        let line = std::mem::take(&mut self.buf);
                        self.scanned = 0;
                        return Err(self.line_too_long(line, true));
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn line_too_long(&mut self, line: Vec<u8>, unterminated: bool) -> ReplyError {
        let first_bytes = match self.lines.first() {
            Some(first) => snippet(first),
            None => snippet(&line),
        };
        let resume = match self.state {
            // Inside a multi-line reply the rest of the reply is garbage too.
            State::Multi { .. } => State::DiscardReply,
            _ => State::Idle,
        };
        self.lines.clear();
        self.anomalies.clear();
        self.state = if unterminated {
            State::DiscardLine {
                after: Box::new(resume),
            }
        } else {
            resume
        };
        ReplyError::LineTooLong {
            limit: self.limits.max_line,
            first_bytes,
        }
    }

    /// Adds a line to the reply in progress; returns the reply when this line completes it.
    fn push_line(&mut self, line: Vec<u8>) -> Result<Option<Reply>, ReplyError> {
        match self.state.clone() {
            State::DiscardLine { .. } => Ok(None),
            State::DiscardReply => {
                if let LineKind::Final(_) = classify(&line) {
                    self.state = State::Idle;
                }
                Ok(None)
            }
            State::Idle => match classify(&line) {
                LineKind::Final(code) => {
                    if line.len() == 3 {
                        self.anomalies.push(Anomaly::CodeOnly);
                    }
                    self.lines.push(line);
                    Ok(Some(self.complete(code)))
                }
                LineKind::Opening(code) => {
                    self.lines.push(line);
                    self.state = State::Multi { opened: code };
                    Ok(None)
                }
                LineKind::Other => {
                    self.anomalies.clear();
                    Err(ReplyError::NotAReply {
                        line: snippet(&line),
                    })
                }
            },
            State::Multi { opened } => {
                if self.lines.len() >= self.limits.max_lines {
                    let first_bytes = snippet(&self.lines[0]);
                    self.lines.clear();
                    self.anomalies.clear();
                    self.state = match classify(&line) {
                        LineKind::Final(_) => State::Idle,
                        _ => State::DiscardReply,
                    };
                    return Err(ReplyError::TooManyLines {
                        limit: self.limits.max_lines,
                        first_bytes,
                    });
                }
                let kind = classify(&line);
                self.lines.push(line);
                match kind {
                    // RFC 959: an intermediate line starting with digits must be padded, so a
                    // `ddd ` line closes the reply even when its code differs.
                    LineKind::Final(closed) => {
                        if closed != opened {
                            self.anomalies
                                .push(Anomaly::ClosingCodeMismatch { opened, closed });
                        }
                        Ok(Some(self.complete(closed)))
                    }
                    LineKind::Opening(_) | LineKind::Other => Ok(None),
                }
            }
        }
    }

    fn complete(&mut self, code: u16) -> Reply {
        let lines = std::mem::take(&mut self.lines);
        let mut anomalies = std::mem::take(&mut self.anomalies);
        if !(100..=599).contains(&code) {
            anomalies.push(Anomaly::CodeOutOfRange { code });
        }
        if lines.iter().any(|l| std::str::from_utf8(l).is_err()) {
            anomalies.push(Anomaly::NotUtf8);
        }
        self.state = State::Idle;
        Reply {
            code,
            lines,
            anomalies,
        }
    }
}

/// Assembles every reply in a complete byte stream (a recorded session, a pasted log).
/// Errors are returned in order among the replies, so nothing is silently dropped.
pub fn parse_all(bytes: &[u8], limits: Limits) -> Vec<Result<Reply, ReplyError>> {
    let mut reader = ReplyReader::new(limits);
    let mut out = Vec::new();
    // Feed in slices so that an over-long line is cut at the limit instead of being
    // buffered whole.
    for chunk in bytes.chunks(limits.max_line.max(1)) {
        reader.feed(chunk);
        loop {
            match reader.next_reply() {
                Ok(Some(reply)) => out.push(Ok(reply)),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
        }
    }
    loop {
        match reader.finish() {
            Ok(Some(reply)) => out.push(Ok(reply)),
            Ok(None) => break,
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Reply {
        let mut all = parse_all(input.as_bytes(), Limits::default());
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0).expect("a reply")
    }

    #[test]
    fn single_line_crlf() {
        let r = one("220 (vsFTPd 3.0.3)\r\n");
        assert_eq!(r.code, 220);
        assert_eq!(r.lines, vec![b"220 (vsFTPd 3.0.3)".to_vec()]);
        assert!(r.anomalies.is_empty());
        assert_eq!(r.text(), b"(vsFTPd 3.0.3)");
    }

    #[test]
    fn bare_lf_is_accepted_and_noted() {
        let r = one("200 ok\n");
        assert_eq!(r.code, 200);
        assert_eq!(r.anomalies, vec![Anomaly::BareLf]);
    }

    #[test]
    fn multiline_rfc959() {
        let r = one("211-Features:\r\n EPSV\r\n PASV\r\n211 End\r\n");
        assert_eq!(r.code, 211);
        assert_eq!(r.lines.len(), 4);
        assert!(r.anomalies.is_empty());
        assert_eq!(r.text(), b"Features:\n EPSV\n PASV\nEnd");
    }

    #[test]
    fn multiline_inner_dash_lines_continue() {
        let r = one("230-Welcome\r\n230-rules apply\r\n230 Login successful.\r\n");
        assert_eq!(r.code, 230);
        assert_eq!(r.lines.len(), 3);
    }

    #[test]
    fn closing_code_mismatch_is_accepted_and_marked() {
        let r = one("227-Entering\r\n229 odd close\r\n");
        assert_eq!(r.code, 229);
        assert_eq!(
            r.anomalies,
            vec![Anomaly::ClosingCodeMismatch {
                opened: 227,
                closed: 229
            }]
        );
    }

    #[test]
    fn last_line_without_newline_at_eof() {
        let r = one("221 Goodbye.");
        assert_eq!(r.code, 221);
        assert_eq!(r.anomalies, vec![Anomaly::NoFinalNewline]);
    }

    #[test]
    fn truncated_multiline_at_eof() {
        let r = one("211-Features:\r\n EPSV\r\n");
        assert_eq!(r.code, 211);
        assert!(r.anomalies.contains(&Anomaly::Truncated));
    }

    #[test]
    fn non_utf8_kept_as_bytes() {
        let mut reader = ReplyReader::default();
        reader.feed(b"220 caf\xe9\r\n");
        let r = reader.next_reply().unwrap().unwrap();
        assert_eq!(r.lines[0], b"220 caf\xe9");
        assert!(r.anomalies.contains(&Anomaly::NotUtf8));
    }

    #[test]
    fn code_out_of_range_is_kept() {
        let r = one("999 what\r\n");
        assert_eq!(r.code, 999);
        assert_eq!(r.anomalies, vec![Anomaly::CodeOutOfRange { code: 999 }]);
    }

    #[test]
    fn bytes_arrive_one_at_a_time() {
        let input = b"220-hello\r\n220 there\r\n331 pw\r\n";
        let mut reader = ReplyReader::default();
        let mut got = Vec::new();
        for b in input {
            reader.feed(&[*b]);
            while let Some(r) = reader.next_reply().unwrap() {
                got.push(r.code);
            }
        }
        assert_eq!(got, vec![220, 331]);
        assert!(!reader.in_reply());
    }

    #[test]
    fn over_long_line_reports_limit_and_resumes() {
        let limits = Limits {
            max_line: 16,
            max_lines: 10,
        };
        let mut input = b"220 ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\r\n230 ok\r\n");
        let all = parse_all(&input, limits);
        match &all[0] {
            Err(ReplyError::LineTooLong { limit, first_bytes }) => {
                assert_eq!(*limit, 16);
                assert!(first_bytes.starts_with(b"220 xxx"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[1].as_ref().unwrap().code, 230);
    }

    #[test]
    fn endless_line_never_grows_the_buffer_past_the_limit() {
        let limits = Limits {
            max_line: 100,
            max_lines: 10,
        };
        let mut reader = ReplyReader::new(limits);
        let mut errors = 0;
        for _ in 0..1000 {
            reader.feed(&[b'x'; 64]);
            while let Ok(Some(_)) | Err(_) = reader.next_reply().map_err(|_| errors += 1) {
                if reader.buffered() == 0 {
                    break;
                }
            }
            assert!(reader.buffered() <= 200);
        }
        assert_eq!(errors, 1);
    }

    #[test]
    fn too_many_lines_reports_and_skips_the_rest_of_the_reply() {
        let limits = Limits {
            max_line: 100,
            max_lines: 3,
        };
        let input = b"211-a\r\nb\r\nc\r\nd\r\ne\r\n211 end\r\n200 next\r\n";
        let all = parse_all(input, limits);
        assert!(matches!(
            all[0],
            Err(ReplyError::TooManyLines { limit: 3, .. })
        ));
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[1].as_ref().unwrap().code, 200);
    }

    #[test]
    fn garbage_line_is_an_error_then_reading_goes_on() {
        let all = parse_all(b"hello\r\n200 ok\r\n", Limits::default());
        assert!(matches!(all[0], Err(ReplyError::NotAReply { .. })));
        assert_eq!(all[1].as_ref().unwrap().code, 200);
    }

    #[test]
    fn cr_without_lf_stays_in_the_line() {
        let r = one("200 a\rb\r\n");
        assert_eq!(r.lines[0], b"200 a\rb");
    }

    /// Found by the fuzzer: at end of stream a last line of max_line + 1 bytes (a CR may
    /// have followed) was returned instead of refused.
    #[test]
    fn last_line_over_the_limit_at_eof_is_refused() {
        let limits = Limits {
            max_line: 64,
            max_lines: 8,
        };
        let mut input = b"200 ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 61));
        let mut reader = ReplyReader::new(limits);
        for b in &input {
            reader.feed(&[*b]);
            assert!(
                matches!(reader.next_reply(), Ok(None)),
                "no reply expected yet"
            );
        }
        match reader.finish() {
            Err(ReplyError::LineTooLong { limit: 64, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(reader.finish(), Ok(None));
    }

    #[test]
    fn code_only_line() {
        let r = one("200\r\n");
        assert_eq!(r.code, 200);
        assert_eq!(r.anomalies, vec![Anomaly::CodeOnly]);
        assert!(r.text().is_empty());
    }
}

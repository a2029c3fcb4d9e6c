//! From the bytes of a pasted log to lines: UTF-8 (or UTF-16 with a byte-order mark), any
//! mix of CRLF, LF and CR line ends, each line bounded, e-mail quoting (`> `) and pasted
//! indentation removed. Binary input is refused here.

/// Longest line kept, in bytes; the rest of a longer line is dropped (and counted).
pub const MAX_LINE: usize = crate::proto::reply::DEFAULT_MAX_LINE;

/// One line of the log as read: its number (from 1) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    pub no: u64,
    pub text: String,
}

/// The lines of the input and what had to be cut.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    pub lines: Vec<RawLine>,
    /// Lines longer than [`MAX_LINE`] bytes, cut to it.
    pub cut: usize,
}

/// Whether the bytes look like a binary file rather than text: NUL bytes (outside UTF-16),
/// or many control characters.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if head.is_empty() {
        return false;
    }
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    control * 20 > head.len()
}

/// Decodes the bytes to text: a UTF-16 byte-order mark selects UTF-16, anything else is
/// read as UTF-8 with invalid sequences replaced (logs from Windows clients may be in a
/// legacy code page; their ASCII parts, which is all the analysis needs, survive).
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = |le: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xff, 0xfe, ..] => utf16(true),
        [0xfe, 0xff, ..] => utf16(false),
        [0xef, 0xbb, 0xbf, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Whether decoded text is UTF-16 that was taken for binary (NUL bytes with a BOM).
pub fn has_utf16_bom(bytes: &[u8]) -> bool {
    matches!(bytes, [0xff, 0xfe, ..] | [0xfe, 0xff, ..])
}

/// Splits text into lines at CRLF, LF or a lone CR, cutting each to [`MAX_LINE`] bytes.
pub fn split(text: &str) -> Lines {
    let mut out = Lines::default();
    let mut no = 0u64;
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let mut push = |from: usize, to: usize, out: &mut Lines| {
        no += 1;
        let mut line = &text[from..to];
        if line.len() > MAX_LINE {
            let mut end = MAX_LINE;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line = &line[..end];
            out.cut += 1;
        }
        out.lines.push(RawLine {
            no,
            text: line.to_string(),
        });
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                push(start, i, &mut out);
                start = i + 1;
            }
            b'\r' => {
                push(start, i, &mut out);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        push(start, bytes.len(), &mut out);
    }
    out
}

/// How many levels of e-mail quoting (`>`, `> `, `>>`) start the line.
fn quote_depth(line: &str) -> usize {
    let mut depth = 0;
    let mut rest = line.trim_start();
    while let Some(r) = rest.strip_prefix('>') {
        depth += 1;
        rest = r.strip_prefix(' ').unwrap_or(r).trim_start_matches('\t');
    }
    depth
}

/// Removes `depth` levels of e-mail quoting from a line that has at least that many;
/// other lines (the prose around a quoted log) are left alone.
fn unquote(line: &str, depth: usize) -> &str {
    if depth == 0 || quote_depth(line) < depth {
        return line;
    }
    let mut rest = line.trim_start();
    for _ in 0..depth {
        rest = rest.strip_prefix('>').unwrap_or(rest);
        rest = rest.strip_prefix(' ').unwrap_or(rest);
    }
    rest
}

/// A line without the Markdown and HTML people wrap pasted logs in: code fences (a
/// fence's language word goes with it), inline backticks, bold and italic markers around
/// the whole line, and the HTML entities of a copy from a web page.
pub fn unmark(line: &str) -> String {
    let mut t = line.trim_end();
    let lead = t.len() - t.trim_start().len();
    let (indent, mut body) = t.split_at(lead);
    if let Some(rest) = body.strip_prefix("```") {
        // "```text" opens a block with a language word; "```git ftp ..." has a line on it.
        body = match rest.split_whitespace().count() {
            0 | 1 if !rest.contains(' ') => "",
            _ => rest.trim_start(),
        };
    }
    if let Some(rest) = body.strip_suffix("```") {
        body = rest;
    }
    t = body;
    // Bold may open on one line and close on a later one; lftp's own `**** ` mark (more
    // than two stars) must survive. A backtick may open a paste on its first line and
    // close it on its last.
    for mark in ["**", "__"] {
        let c = mark.as_bytes()[0] as char;
        if let Some(rest) = t.strip_prefix(mark).filter(|r| !r.starts_with(c)) {
            t = rest;
        }
        if let Some(rest) = t.strip_suffix(mark).filter(|r| !r.ends_with(c)) {
            t = rest;
        }
    }
    t = t.strip_prefix('`').unwrap_or(t);
    t = t.strip_suffix('`').unwrap_or(t);
    if let Some(inner) = t.strip_prefix('_').and_then(|r| r.strip_suffix('_')) {
        t = inner;
    }
    let mut out = format!("{indent}{t}");
    if out.contains('&') {
        for (entity, ch) in [
            ("&gt;", ">"),
            ("&lt;", "<"),
            ("&quot;", "\""),
            ("&#39;", "'"),
            ("&nbsp;", " "),
            ("&amp;", "&"),
        ] {
            out = out.replace(entity, ch);
        }
    }
    out
}

/// The lines with `depth` levels of quoting removed and the common indentation of the
/// non-blank lines taken off (a log pasted indented, as in an e-mail or a Markdown block).
pub fn normalise(lines: &[RawLine], depth: usize) -> Vec<RawLine> {
    // (text, belongs to the quoted log)
    let unquoted: Vec<(RawLine, bool)> = lines
        .iter()
        .map(|l| {
            (
                RawLine {
                    no: l.no,
                    text: unmark(unquote(&unmark(&l.text), depth)),
                },
                depth == 0 || quote_depth(&l.text) >= depth,
            )
        })
        .collect();
    let indent_of = |t: &str| t.len() - t.trim_start_matches([' ', '\t']).len();
    let indent = unquoted
        .iter()
        .filter(|(l, quoted)| *quoted && !l.text.trim().is_empty())
        .map(|(l, _)| indent_of(&l.text))
        .min()
        .unwrap_or(0);
    unquoted
        .into_iter()
        .map(|(l, _)| {
            let cut = indent.min(indent_of(&l.text));
            RawLine {
                no: l.no,
                text: l.text[cut..].to_string(),
            }
        })
        .collect()
}

/// The quoting depths worth trying: 0 and every depth some line has, up to 3.
pub fn quote_depths(lines: &[RawLine]) -> Vec<usize> {
    let mut depths = vec![0];
    for l in lines {
        let d = quote_depth(&l.text).min(3);
        if !depths.contains(&d) {
            depths.push(d);
        }
    }
    depths.sort_unstable();
    depths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_line_ends_split_into_lines() {
        let l = split("a\r\nb\nc\rd");
        let texts: Vec<&str> = l.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d"]);
        assert_eq!(l.lines[3].no, 4);
    }

    #[test]
    fn long_lines_are_cut_and_counted() {
        let long = "x".repeat(MAX_LINE + 10);
        let l = split(&format!("{long}\nok\n"));
        assert_eq!(l.lines[0].text.len(), MAX_LINE);
        assert_eq!(l.cut, 1);
    }

    #[test]
    fn quoting_and_indentation_come_off() {
        let raw = split("Hi, the log:\n>   Status:\tConnecting\n>   Response:\t220 ok\n");
        let n = normalise(&raw.lines, 1);
        assert_eq!(n[0].text, "Hi, the log:");
        assert_eq!(n[1].text, "Status:\tConnecting");
        assert_eq!(n[2].text, "Response:\t220 ok");
        let nested = split("a\n> b\n> > c\n");
        assert_eq!(unmark("`Status:\tConnected"), "Status:\tConnected");
        assert_eq!(unmark("**Status:\tx**"), "Status:\tx");
        assert_eq!(unmark("```text"), "");
        assert_eq!(unmark("```git ftp catchup -vv"), "git ftp catchup -vv");
        assert_eq!(unmark("curl: (7) refused```"), "curl: (7) refused");
        assert_eq!(unmark("&gt; PASV"), "> PASV");
        assert_eq!(unmark("**Error:\tx"), "Error:\tx");
        assert_eq!(unmark("Error:\ty**"), "Error:\ty");
        assert_eq!(
            unmark("**** Timeout - reconnecting"),
            "**** Timeout - reconnecting"
        );
        assert_eq!(quote_depths(&nested.lines), vec![0, 1, 2]);
    }

    #[test]
    fn binary_and_utf16_are_told_apart() {
        assert!(looks_binary(b"\x7fELF\x02\x01\x01\0\0\0"));
        assert!(!looks_binary(b"Status:\tConnecting\r\n"));
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("220 ok\r\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(has_utf16_bom(&utf16));
        assert_eq!(decode(&utf16), "220 ok\r\n");
    }
}

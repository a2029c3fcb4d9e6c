//! Feeds arbitrary bytes to a `ReplyReader` in chunks whose size comes from the first input
//! byte, under small limits (so that the over-long-line and too-many-lines paths are reached
//! with short inputs) and under the default limits, and checks the reader's invariants,
//! including that the result does not depend on how the stream was cut into chunks (it must
//! equal `parse_all` on the same bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pasv_doctor::proto::reply::ERROR_SNIPPET;
use pasv_doctor::proto::{Limits, Reply, ReplyError, ReplyReader, parse_all};

const SMALL: Limits = Limits {
    max_line: 64,
    max_lines: 8,
};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    // 1..=128: both below and above the small line limit.
    let chunk = usize::from(first & 0x7f) + 1;
    for limits in [SMALL, Limits::default()] {
        let got = run(rest, limits, chunk);
        assert_eq!(
            got,
            parse_all(rest, limits),
            "output depends on chunking (chunk {chunk}, {limits:?})"
        );
    }
});

fn run(input: &[u8], limits: Limits, chunk: usize) -> Vec<Result<Reply, ReplyError>> {
    let mut out = Vec::new();
    let mut reader = ReplyReader::new(limits);
    for piece in input.chunks(chunk) {
        reader.feed(piece);
        // Every call that does not return Ok(None) consumes input, so a drain can take at
        // most one step per buffered byte (plus the final Ok(None)).
        let mut steps = 0usize;
        loop {
            steps += 1;
            assert!(
                steps <= reader.buffered() + input.len() + 2,
                "next_reply() makes no progress"
            );
            match reader.next_reply() {
                Ok(Some(reply)) => {
                    check_reply(&reply, limits);
                    out.push(Ok(reply));
                }
                Ok(None) => break,
                Err(e) => {
                    check_error(&e, limits);
                    out.push(Err(e));
                }
            }
        }
        // After a drain only an incomplete line is held, and it is never longer than the
        // limit plus a CR that may still be followed by its LF.
        assert!(
            reader.buffered() <= limits.max_line + 1,
            "buffered {} > max_line {} + 1 (chunk {chunk})",
            reader.buffered(),
            limits.max_line
        );
    }
    let mut calls = 0usize;
    loop {
        calls += 1;
        assert!(calls <= input.len() + 2, "finish() never returns Ok(None)");
        match reader.finish() {
            Ok(Some(reply)) => {
                check_reply(&reply, limits);
                out.push(Ok(reply));
            }
            Ok(None) => break,
            Err(e) => {
                check_error(&e, limits);
                out.push(Err(e));
            }
        }
    }
    assert_eq!(
        reader.buffered(),
        0,
        "bytes left after finish() returned Ok(None)"
    );
    assert!(
        !reader.in_reply(),
        "in_reply() after finish() returned Ok(None)"
    );
    out
}

fn check_reply(reply: &Reply, limits: Limits) {
    assert!(!reply.lines.is_empty(), "reply without lines: {reply:?}");
    assert!(
        reply.lines.len() <= limits.max_lines,
        "reply has {} lines, limit {}",
        reply.lines.len(),
        limits.max_lines
    );
    for line in &reply.lines {
        assert!(
            line.len() <= limits.max_line,
            "reply line of {} bytes, limit {}: {reply:?}",
            line.len(),
            limits.max_line
        );
        assert!(!line.contains(&b'\n'), "line holds a LF: {reply:?}");
    }
    assert!(
        reply.lines[0].len() >= 3 && reply.lines[0][..3].iter().all(u8::is_ascii_digit),
        "first line does not start with a code: {reply:?}"
    );
    assert!(reply.code <= 999);
    assert_eq!(reply.is_multiline(), reply.lines.len() > 1);
    let _ = reply.text();
    let _ = reply.to_lossy_string();
    for a in &reply.anomalies {
        let _ = a.to_string();
    }
}

fn check_error(e: &ReplyError, limits: Limits) {
    match e {
        ReplyError::LineTooLong { limit, first_bytes } => {
            assert_eq!(*limit, limits.max_line);
            assert!(first_bytes.len() <= ERROR_SNIPPET);
        }
        ReplyError::TooManyLines { limit, first_bytes } => {
            assert_eq!(*limit, limits.max_lines);
            assert!(first_bytes.len() <= ERROR_SNIPPET);
        }
        ReplyError::NotAReply { line } => assert!(line.len() <= ERROR_SNIPPET),
    }
    let _ = e.to_string();
}

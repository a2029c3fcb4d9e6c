//! Assembles arbitrary bytes into replies and runs the passive decoders on each, with every
//! `sent` command; then builds 227, 228 and 229 replies around the input so that the PASV,
//! LPSV and EPSV decoders themselves (not only the code check) see arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pasv_doctor::proto::{
    DecodeError, Flag, Limits, PassiveKind, Reply, Shape, decode, parse_all, parse_failures,
};

const SENT: [Option<PassiveKind>; 4] = [
    None,
    Some(PassiveKind::Pasv),
    Some(PassiveKind::Epsv),
    Some(PassiveKind::Lpsv),
];

fuzz_target!(|data: &[u8]| {
    for reply in parse_all(data, Limits::default()).into_iter().flatten() {
        check_all(&reply);
    }
    for (code, prefix) in [(227u16, &b"227 "[..]), (228, b"228 "), (229, b"229 ")] {
        let mut text = prefix.to_vec();
        text.extend_from_slice(data);
        // Split as the reader would: lines without LF, a CR before the LF dropped.
        let lines = text
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .collect();
        check_all(&Reply {
            code,
            lines,
            anomalies: Vec::new(),
        });
    }
});

fn check_all(reply: &Reply) {
    for sent in SENT {
        check(reply, sent);
    }
}

fn check(reply: &Reply, sent: Option<PassiveKind>) {
    // Positions are offsets into the lines joined with `\n`.
    let raw_len = reply.lines.join(&b'\n').len();
    let kind = PassiveKind::from_code(reply.code);
    match decode(reply, sent) {
        Ok(p) => {
            assert_eq!(Some(p.kind), kind);
            assert_eq!(p.code, reply.code);
            match p.kind {
                PassiveKind::Epsv => {
                    assert_ne!(p.port, 0, "EPSV decoded port 0: {reply:?}");
                    let Shape::Epsv(e) = &p.shape else {
                        panic!("EPSV with another shape: {reply:?}")
                    };
                    // A blank or DEL decodes, and only with its flag.
                    assert_eq!(
                        matches!(e.delimiter, ' ' | '\u{7f}'),
                        p.flags
                            .iter()
                            .any(|f| matches!(f, Flag::DelimiterOutsideRfc { .. })),
                        "{reply:?}"
                    );
                }
                PassiveKind::Pasv | PassiveKind::Lpsv => {
                    // No address exactly when the 227's numbers are no IP address.
                    assert_eq!(p.address.is_none(), p.address_invalid(), "{reply:?}");
                    assert!(p.kind == PassiveKind::Pasv || p.address.is_some());
                    assert_eq!(p.flags.contains(&Flag::PortZero), p.port == 0);
                }
            }
            if p.kind == PassiveKind::Pasv {
                assert!(p.address.is_none_or(|a| a.is_ipv4()));
            }
            let other = sent.is_some_and(|s| s != p.kind);
            assert_eq!(
                p.flags
                    .iter()
                    .any(|f| matches!(f, Flag::AnswersOtherCommand { .. })),
                other
            );
            for f in &p.flags {
                let _ = f.to_string();
            }
            serde_json::to_string(&p.shape).expect("shape serialises");
            serde_json::to_string(&p.flags).expect("flags serialise");
            let failures = parse_failures(&p);
            assert!(
                failures.windows(2).all(|w| w[0].client < w[1].client),
                "failures not sorted or duplicated: {failures:?}"
            );
            serde_json::to_string(&failures).expect("failures serialise");
        }
        Err(e) => {
            if kind.is_none() {
                assert_eq!(e, DecodeError::NotPassive { code: reply.code });
            }
            if let Some(pos) = e.position() {
                assert!(
                    pos < raw_len,
                    "error position {pos} outside the reply ({raw_len} bytes): {e:?}"
                );
            }
            let _ = e.to_string();
            serde_json::to_string(&e).expect("error serialises");
        }
    }
}

//! Unit tests for the passive decoders, table-driven where the cases are alike.

use super::*;
use crate::proto::reply::{Limits, parse_all};

fn dec(text: &str) -> Result<Passive, DecodeError> {
    dec_sent(text, None)
}

fn dec_sent(text: &str, sent: Option<PassiveKind>) -> Result<Passive, DecodeError> {
    let mut all = parse_all(text.as_bytes(), Limits::default());
    let reply = all.remove(0).expect("reply assembles");
    decode(&reply, sent)
}

fn v4(p: &Passive) -> String {
    p.address.map(|a| a.to_string()).unwrap_or_default()
}

fn pasv_shape(p: &Passive) -> &PasvShape {
    match &p.shape {
        Shape::Pasv(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc959_pasv() {
    let p = dec("227 Entering Passive Mode (192,0,2,10,195,80).").unwrap();
    assert_eq!(v4(&p), "192.0.2.10");
    assert_eq!(p.port, 50000);
    let s = pasv_shape(&p);
    assert!(s.parentheses && s.final_dot && !s.blanks_in_tuple);
    assert_eq!(s.before, Boundary::Paren);
    assert_eq!(s.leading_text, "Entering Passive Mode");
}

#[test]
fn pasv_without_parentheses_and_after_equals() {
    let p = dec("227 Entering passive mode. 127,0,0,1,4,51").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("127.0.0.1", 1075));
    assert!(!pasv_shape(&p).parentheses);
    let p = dec("227 =127,0,0,1,4,51").unwrap();
    assert_eq!(pasv_shape(&p).before, Boundary::Equals);
}

#[test]
fn pasv_blanks_and_lowercase() {
    let p = dec("227 entering passive mode ( 10, 0, 0, 5, 195, 80 )").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("10.0.0.5", 50000));
    let s = pasv_shape(&p);
    assert!(s.blanks_in_tuple && s.parentheses && s.padded_parentheses);
}

#[test]
fn pasv_skips_digits_in_leading_text() {
    let p = dec("227 IPv4 passive (10,0,0,5,4,1)").unwrap();
    assert_eq!(p.port, 1025);
}

#[test]
fn pasv_port_byte_above_255_is_an_error_that_names_the_field() {
    let e = dec("227 Entering Passive Mode (10,0,0,5,256,80)").unwrap_err();
    assert_eq!(
        e,
        DecodeError::NumberTooLarge {
            field: "p1".into(),
            value: "256".into(),
            max: 255,
            position: 36
        }
    );
    assert_eq!(
        e.to_string(),
        "p1 is 256 at byte 36, above the maximum of 255"
    );
}

#[test]
fn overflowing_numbers_are_shown_as_written() {
    let e = dec("227 Entering Passive Mode (10,0,0,5,99999999999999999999999,80)").unwrap_err();
    assert_eq!(
        e.to_string(),
        "p1 is 99999999999999999999999 at byte 36, above the maximum of 255"
    );
    assert!(!e.to_string().contains("18446744073709551615"));
    let e = dec("229 Entering Extended Passive Mode (|||99999999999999999999|)").unwrap_err();
    assert!(
        e.to_string()
            .contains("port is 99999999999999999999 at byte 39"),
        "{e}"
    );
    let e =
        dec("228 Entering Long Passive Mode (99999999999999999999,4,1,2,3,4,2,0,1)").unwrap_err();
    assert!(
        e.to_string().contains("family is 99999999999999999999"),
        "{e}"
    );
}

#[test]
fn pasv_address_above_255_decodes_the_port_and_marks_the_address() {
    // pyftpdlib test_masquerade_address; Ruby net-ftp test_use_pasv_invalid_ip.
    for (text, port, field, value) in [
        (
            "227 Entering passive mode (256,256,256,256,195,80).",
            50000,
            "h1",
            "256",
        ),
        (
            "227 Entering Passive Mode (999,0,0,1,48,57).",
            12345,
            "h1",
            "999",
        ),
        (
            "227 Entering Passive Mode (10,0,0,256,195,80)",
            50000,
            "h4",
            "256",
        ),
        (
            "227 Entering Passive Mode (1216,256,2,127,127,127)",
            32639,
            "h1",
            "1216",
        ),
    ] {
        let p = dec(text).unwrap();
        assert_eq!(p.port, port, "{text}");
        assert_eq!(p.address, None, "{text}");
        assert!(p.address_invalid(), "{text}");
        match &p.flags[0] {
            Flag::AddressInvalid {
                field: f, value: v, ..
            } => {
                assert_eq!((*f, v.as_str()), (field, value), "{text}")
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    let p = dec("227 Entering passive mode (256,256,256,256,195,80).").unwrap();
    assert_eq!(
        p.flags[0].to_string(),
        "the address 256.256.256.256 is not an IP address (h1 is 256, above 255); the port \
         still decodes, and clients that connect to the control connection's address \
         instead still work"
    );
}

#[test]
fn negative_numbers_are_signed_bytes() {
    let p = dec("227 Entering Passive Mode (192,168,1,2,-61,80)").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("192.168.1.2", 50000));
    assert_eq!(
        p.flags,
        vec![Flag::NegativeNumbers {
            numbers: vec![SignedByte {
                field: "p1",
                written: "-61".into(),
                byte: 195
            }]
        }]
    );
    assert_eq!(
        p.flags[0].to_string(),
        "negative numbers read as signed bytes, as basic-ftp and lftp read them: p1 -61 as 195"
    );
    let p = dec("227 Entering Passive Mode (-64,-88,1,2,-61,-128)").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("192.168.1.2", 50048));
    assert_eq!(
        pasv_shape(&p).numbers,
        ["-64", "-88", "1", "2", "-61", "-128"]
    );
    // A hyphen that is no sign stays text.
    let p = dec("227 Entering Passive Mode - (10,0,0,5,195,80)").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("10.0.0.5", 50000));
}

#[test]
fn a_negative_port_byte_beyond_a_signed_byte_is_named_not_missing() {
    let e = dec("227 Entering Passive Mode (10,0,0,5,-300,80)").unwrap_err();
    assert_eq!(
        e,
        DecodeError::NegativeNumber {
            field: "p1".into(),
            value: "-300".into(),
            position: 36
        }
    );
    assert_eq!(
        e.to_string(),
        "p1 is -300 at byte 36: neither a byte (0 to 255) nor a signed byte (-128 to -1)"
    );
    // In the address it makes the address invalid, and the port still decodes.
    let p = dec("227 Entering Passive Mode (10,0,-300,5,195,80)").unwrap();
    assert!(p.address_invalid());
    assert!(p.flags[0].to_string().contains("h3 is -300, below -128"));
}

#[test]
fn seven_numbers_are_extra_numbers_inside_parentheses() {
    let p = dec("227 Entering Passive Mode (192,168,0,1,12,34,56)").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("192.168.0.1", 3106));
    let s = pasv_shape(&p);
    assert!(s.parentheses, "a 7-number reply is not 'no parentheses'");
    assert_eq!(s.after, Boundary::Paren);
    assert_eq!(s.numbers.len(), 7);
    assert_eq!(p.flags, vec![Flag::ExtraNumbers { found: 7, used: 6 }]);
    assert_eq!(
        p.flags[0].to_string(),
        "7 numbers follow each other where the reply needs 6: the first 6 are read, as curl, \
         lftp, Python ftplib, jlaffaye/ftp and commons-net read them"
    );
}

#[test]
fn blanks_before_and_after_commas_are_told_apart() {
    let after = pasv_shape(&dec("227 x (10, 0, 0, 5, 195, 80)").unwrap()).clone();
    assert!(after.blanks_in_tuple && !after.blank_before_comma);
    let before = pasv_shape(&dec("227 x (10 ,0 ,0 ,5 ,195 ,80)").unwrap()).clone();
    assert!(before.blanks_in_tuple && before.blank_before_comma);
}

#[test]
fn pasv_missing_number_names_the_field() {
    let e = dec("227 Entering Passive Mode (10,0,0,5,195)").unwrap_err();
    assert_eq!(
        e,
        DecodeError::MissingNumber {
            found: 5,
            expected: 6,
            missing: "p2".into(),
            position: 27
        }
    );
}

#[test]
fn pasv_port_zero_and_unspecified_are_flagged() {
    let p = dec("227 Entering Passive Mode (0,0,0,0,0,0)").unwrap();
    assert_eq!(p.flags, vec![Flag::AddressUnspecified, Flag::PortZero]);
}

#[test]
fn pasv_multiline() {
    let p = dec("227-Entering Passive Mode\r\n227 (10,0,0,5,195,80)\r\n").unwrap();
    assert_eq!(p.port, 50000);
    assert!(pasv_shape(&p).multiline);
}

#[test]
fn pasv_no_numbers() {
    assert_eq!(
        dec("227 Entering Passive Mode").unwrap_err(),
        DecodeError::NoNumbers {
            kind: PassiveKind::Pasv
        }
    );
    let e = dec("228 Entering Long Passive Mode").unwrap_err();
    assert!(e.to_string().contains("a 228 reply must carry"), "{e}");
    assert!(!e.to_string().contains("227"), "{e}");
}

#[test]
fn epsv_standard_and_other_delimiter() {
    let p = dec("229 Entering Extended Passive Mode (|||50006|).").unwrap();
    assert_eq!((p.address, p.port), (None, 50006));
    let p = dec("229 Entering Extended Passive Mode (!!!6446!)").unwrap();
    assert_eq!(p.port, 6446);
    match &p.shape {
        Shape::Epsv(s) => assert_eq!(s.delimiter, '!'),
        other => panic!("{other:?}"),
    }
}

#[test]
fn epsv_errors_are_precise() {
    assert!(matches!(
        dec("229 Entering Extended Passive Mode (||6446|)").unwrap_err(),
        DecodeError::MissingDelimiter { found: 3, .. }
    ));
    assert!(matches!(
        dec("229 Entering Extended Passive Mode (|||0|)").unwrap_err(),
        DecodeError::PortZero { .. }
    ));
    assert!(matches!(
        dec("229 Entering Extended Passive Mode (|||65536|)").unwrap_err(),
        DecodeError::NumberTooLarge { ref value, .. } if value == "65536"
    ));
    assert_eq!(
        dec("229 Entering Extended Passive Mode |||6446|").unwrap_err(),
        DecodeError::NoParenthesis
    );
    assert!(matches!(
        dec("229 Entering Extended Passive Mode (|||abc|)").unwrap_err(),
        DecodeError::PortNotNumber { .. }
    ));
}

#[test]
fn cross_answers_are_flagged() {
    let p = dec_sent(
        "227 Entering Passive Mode (10,0,0,5,4,1)",
        Some(PassiveKind::Epsv),
    )
    .unwrap();
    assert_eq!(
        p.flags,
        vec![Flag::AnswersOtherCommand {
            sent: PassiveKind::Epsv
        }]
    );
    let p = dec_sent(
        "229 Entering Passive Mode (|||63539|)",
        Some(PassiveKind::Pasv),
    )
    .unwrap();
    assert_eq!(p.kind, PassiveKind::Epsv);
    assert!(matches!(p.flags[0], Flag::AnswersOtherCommand { .. }));
}

#[test]
fn lpsv_v4_and_v6() {
    let p = dec("228 Entering Long Passive Mode (4,4,192,0,2,10,2,195,80)").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("192.0.2.10", 50000));
    let p = dec("228 Entering Long Passive Mode (6,16,32,1,13,184,0,0,0,0,0,0,0,0,0,0,0,1,2,4,1)")
        .unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("2001:db8::1", 1025));
    assert!(matches!(
        dec("228 x (5,4,1,2,3,4,2,0,1)").unwrap_err(),
        DecodeError::UnsupportedFamily { ref family, .. } if family == "5"
    ));
}

#[test]
fn other_codes_are_not_passive() {
    assert_eq!(
        dec("550 Permission denied.").unwrap_err(),
        DecodeError::NotPassive { code: 550 }
    );
}

#[test]
fn epsv_blank_and_del_delimiters_decode_and_are_flagged() {
    // Ruby net-ftp test_parse229 (Ruby rejects both; curl, lftp, ftplib and nmap accept).
    for (text, byte) in [
        ("229 Entering Passive Mode (   3106 )", b' '),
        ("229 Entering Passive Mode (\x7f\x7f\x7f3106\x7f)", 0x7f),
    ] {
        let p = dec(text).unwrap();
        assert_eq!((p.address, p.port), (None, 3106), "{text:?}");
        assert_eq!(
            p.flags,
            vec![Flag::DelimiterOutsideRfc { byte }],
            "{text:?}"
        );
    }
    // Other control bytes stay errors.
    let e = dec("229 Entering Passive Mode (\t\t\t3106\t)").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the delimiter at byte 27 is byte 0x09, not a printable ASCII character (RFC 2428 allows 33-126)"
    );
}

#[test]
fn epsv_mixed_and_missing_delimiters_are_told_apart() {
    let e = dec("229 Entering Passive Mode (|!!3106!)").unwrap_err();
    assert_eq!(
        e,
        DecodeError::MixedDelimiters {
            first: '|',
            other: '!',
            position: 28
        }
    );
    assert!(matches!(
        dec("229 Entering Passive Mode (||3106|)").unwrap_err(),
        DecodeError::MissingDelimiter { found: 3, .. }
    ));
    let e = dec("229 ) foo bar (").unwrap_err();
    assert_eq!(
        e.to_string(),
        "nothing follows the '(' at byte 14: expected the fields, as in (|||6446|)"
    );
}

#[test]
fn epsv_filled_address_fields_decode_with_the_address() {
    let p = dec("229 Entering Extended Passive Mode (|1|192.0.2.10|50000|)").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("192.0.2.10", 50000));
    assert_eq!(p.flags, vec![Flag::EpsvAddressFields]);
}

#[test]
fn lpsv_extra_numbers_are_flagged_like_pasv() {
    let p = dec("228 Entering Long Passive Mode (4,4,192,0,2,10,2,195,80,7)").unwrap();
    assert_eq!((v4(&p).as_str(), p.port), ("192.0.2.10", 50000));
    assert_eq!(p.flags, vec![Flag::ExtraNumbers { found: 10, used: 9 }]);
    assert_eq!(
        p.flags[0].to_string(),
        "10 numbers follow each other where the reply needs 9: the first 9 are read"
    );
}

#[test]
fn lpsv_errors_name_228_and_the_field() {
    for (text, want) in [
        (
            "228 Entering Long Passive Mode (4,4,192,0,2)",
            "only 5 of 9 numbers found (starting at byte 32): address byte 4 is missing",
        ),
        (
            "228 Entering Long Passive Mode (4,4,192,0,2,10)",
            "only 6 of 9 numbers found (starting at byte 32): the port length is missing",
        ),
        (
            "228 Entering Long Passive Mode (4,4,192,0,2,10,2,195)",
            "only 8 of 9 numbers found (starting at byte 32): port byte 2 is missing",
        ),
        (
            "228 Entering Long Passive Mode (4,16,192,0,2,10,2,195,80)",
            "the 228 reply's address length is 16 at byte 34, expected 4",
        ),
        (
            "228 Entering Long Passive Mode (4,4,192,0,2,10,2,256,80)",
            "port byte 1 is 256 at byte 49, above the maximum of 255",
        ),
    ] {
        let e = dec(text).unwrap_err();
        assert_eq!(e.to_string(), want, "{text}");
        assert!(!e.to_string().contains("227"), "{text}");
    }
}

//! Which client families fail on a passive reply of a given shape.
//!
//! The knowledge is data: one row per shape rule, each read from the client's own parser.
//! The parsers, as read (commits in `fixtures/replies/README.md`):
//! - curl `lib/ftp.c`: 227: from every offset, six numbers of at most 255 joined by bare
//!   commas (`match_pasv_6nums`); 229: any byte after `(`, twice more, digits, the byte.
//! - FileZilla `src/engine/ftp/rawtransfer.cpp`: 227: `( |\()(0*[0-9]{1,3},...){6}( |\)|$)`,
//!   port bytes at most 255, an address that is no IP address is replaced by the server's;
//!   229: `(|||` ... `|)`.
//! - Python `Lib/ftplib.py`: 227: `(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)` searched; 229: the
//!   byte after `(` must match the one before `)`, split into five fields.
//! - lftp `src/ftpclass.cc`: 227: from each digit, `sscanf("%u,%u,%u,%u,%u,%u")` into
//!   unsigned chars; 229: the byte after `(` substituted into `"|||%u|"`; filled address
//!   fields only after `CEPR on`.
//! - jlaffaye/ftp `ftp.go`: 227: between the first `(` and the last `)`, split at commas
//!   (six or more), `strconv.Atoi` for the port, the address text dialled when
//!   `net.ParseIP` rejects it; 229: `|||` to the last `|`.
//! - suppaftp `src/regex.rs`: `\((\d+),...,(\d+)\)` parsed as `u8`; `\(\|\|\|(\d+)\|\)`.
//! - basic-ftp `src/transfer.ts`: `([-\d]+,...),([-\d]+),([-\d]+)`, port bytes `& 255`, the
//!   address text compared with the control connection's; 229: `[|!]{3}(.+)[|!]`.
//! - GNU wget `src/ftp-basic.c`: 227: from the first digit after the code, six numbers
//!   each kept modulo 256, bare commas; 229: delimiter 33-126, three in a row, `)`.
//! - nmap `nselib/ftp.lua`: `%((%d+,%d+,%d+,%d+),(%d+),(%d+)%)`, the address must be the
//!   server's; 229: `%((.)%1%1(%d+)%1%)`.
//! - commons-net `FTPClient.java`: `(\d{1,3},\d{1,3},\d{1,3},\d{1,3}),(\d{1,3}),(\d{1,3})`
//!   found; 229: the text in parentheses trimmed, four equal delimiters.
//! - Ruby net-ftp `lib/net/ftp.rb`: `\d+(?:,\d+){3}),(\d+,\d+)`; 229:
//!   `\(([!-~])\1\1(\d+)\1\)`.
//! - KDE kio `src/kioworkers/ftp/ftp.cpp`: `sscanf` of `(%d,...)` at the first `(` or of
//!   `=%d,...` at the first `=`, port `i[4] << 8 | i[5]`, address ignored; 229: `|||%d|`.
//!
//! "Fails" means the client cannot use the reply: its parser rejects it, or reads an
//! address or port it cannot connect to. A reply the decoder accepts but a major client
//! rejects is worth reporting on its own.

use serde::Serialize;

use super::passive::{Boundary, EpsvShape, Passive, PasvShape, Shape};

/// A client family whose passive-reply parser is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParserFamily {
    Curl,
    FileZilla,
    PythonFtplib,
    Lftp,
    GoJlaffayeFtp,
    RustSuppaftp,
    NodeBasicFtp,
    Wget,
    Nmap,
    CommonsNet,
    RubyNetFtp,
    KdeKio,
}

impl ParserFamily {
    pub const ALL: [ParserFamily; 12] = [
        ParserFamily::Curl,
        ParserFamily::FileZilla,
        ParserFamily::PythonFtplib,
        ParserFamily::Lftp,
        ParserFamily::GoJlaffayeFtp,
        ParserFamily::RustSuppaftp,
        ParserFamily::NodeBasicFtp,
        ParserFamily::Wget,
        ParserFamily::Nmap,
        ParserFamily::CommonsNet,
        ParserFamily::RubyNetFtp,
        ParserFamily::KdeKio,
    ];

    /// The name people know the client by.
    pub fn name(self) -> &'static str {
        match self {
            ParserFamily::Curl => "curl",
            ParserFamily::FileZilla => "FileZilla",
            ParserFamily::PythonFtplib => "Python ftplib",
            ParserFamily::Lftp => "lftp",
            ParserFamily::GoJlaffayeFtp => "Go jlaffaye/ftp",
            ParserFamily::RustSuppaftp => "Rust suppaftp",
            ParserFamily::NodeBasicFtp => "Node basic-ftp",
            ParserFamily::Wget => "GNU wget",
            ParserFamily::Nmap => "nmap",
            ParserFamily::CommonsNet => "Apache commons-net",
            ParserFamily::RubyNetFtp => "Ruby net-ftp",
            ParserFamily::KdeKio => "KDE kio",
        }
    }

    /// The family by its name, as [`ParserFamily::name`] gives it.
    pub fn from_name(name: &str) -> Option<ParserFamily> {
        ParserFamily::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A client family that would fail on the reply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseFailure {
    pub client: ParserFamily,
    pub reason: &'static str,
}

/// One shape rule: when it applies, which families fail.
struct Rule {
    applies: fn(&Passive) -> bool,
    fails: &'static [ParserFamily],
    reason: &'static str,
}

use ParserFamily as P;

fn pasv_shape(p: &Passive) -> Option<&PasvShape> {
    match &p.shape {
        Shape::Pasv(s) => Some(s),
        _ => None,
    }
}

fn epsv_shape(p: &Passive) -> Option<&EpsvShape> {
    match &p.shape {
        Shape::Epsv(s) => Some(s),
        _ => None,
    }
}

/// Whether a 227's shape satisfies `test`.
fn pasv(p: &Passive, test: impl Fn(&PasvShape) -> bool) -> bool {
    pasv_shape(p).is_some_and(test)
}

/// Whether a 229's shape satisfies `test`.
fn epsv(p: &Passive, test: impl Fn(&EpsvShape) -> bool) -> bool {
    epsv_shape(p).is_some_and(test)
}

// A number as written: an optional minus sign, then digits.

fn negative(n: &str) -> bool {
    n.starts_with('-')
}

/// The digits without leading zeros (at least one).
fn significant(n: &str) -> &str {
    let digits = n.trim_start_matches('-');
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        &digits[digits.len().saturating_sub(1)..]
    } else {
        trimmed
    }
}

fn above_255(n: &str) -> bool {
    let s = significant(n);
    !negative(n) && (s.len() > 3 || s.parse::<u16>().is_ok_and(|v| v > 255))
}

/// Neither a byte nor a signed byte: above 255, or below -128.
fn not_byte(n: &str) -> bool {
    let s = significant(n);
    above_255(n) || (negative(n) && (s.len() > 3 || s.parse::<u16>().is_ok_and(|v| v > 128)))
}

/// Written as a plain decimal byte: no sign, no leading zero, at most 255.
fn canonical_byte(n: &str) -> bool {
    !negative(n) && !above_255(n) && (n.len() == 1 || !n.starts_with('0'))
}

/// A number modulo 256, as a C parser storing it in an unsigned char keeps it (`256` is 0,
/// `-61` is 195), from the digits as written.
fn wrapped(n: &str) -> u8 {
    let m = n
        .trim_start_matches('-')
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u16, |acc, d| (acc * 10 + u16::from(d - b'0')) % 256);
    let m = if negative(n) { (256 - m) % 256 } else { m };
    m as u8
}

/// lftp replaces an address that is reserved, multicast, or private or loopback where
/// the server's is not (`fix-pasv-address`, src/ftpclass.cc `Handle_PASV`), taking a public
/// server: does it replace the address its parser made of these numbers?
fn lftp_replaces(h: &[String]) -> bool {
    let a: Vec<u8> = h.iter().map(|n| wrapped(n)).collect();
    match a.as_slice() {
        [0 | 10 | 127, ..] | [224..=255, ..] => true,
        [172, b, ..] => (16..32).contains(b),
        [192, 168, ..] | [169, 254, ..] => true,
        _ => false,
    }
}

/// Numbers `range` of a 227 as written (h1..h4 are 0..4, p1 and p2 4..6).
fn numbers(s: &PasvShape, range: std::ops::Range<usize>) -> &[String] {
    s.numbers.get(range).unwrap_or(&[])
}

const DIGITS_ONLY: &str = "its parser reads digits only, so a minus sign breaks the six numbers";

const RULES: &[Rule] = &[
    // ---- 227: where the numbers stand ----
    Rule {
        applies: |p| pasv(p, |s| !s.parentheses),
        fails: &[P::GoJlaffayeFtp, P::RustSuppaftp, P::Nmap],
        reason: "its parser requires the numbers inside parentheses",
    },
    Rule {
        applies: |p| pasv(p, |s| !s.parentheses && s.before != Boundary::Equals),
        fails: &[P::KdeKio],
        reason: "its parser reads the numbers right after the first '(' or, without one, the first '='",
    },
    Rule {
        applies: |p| pasv(p, |s| s.before == Boundary::Equals),
        fails: &[P::FileZilla],
        reason: "its parser requires the six numbers to follow a space or '('",
    },
    Rule {
        applies: |p| {
            pasv(p, |s| {
                s.before == Boundary::Other
                    || s.after == Boundary::Other
                    || s.after == Boundary::Equals
            })
        },
        fails: &[P::FileZilla],
        reason: "its parser requires the six numbers to stand between a space or '(' and a space, ')' or the end of the line",
    },
    Rule {
        applies: |p| {
            pasv(p, |s| {
                !s.multiline && s.leading_text.bytes().any(|b| b.is_ascii_digit())
            })
        },
        fails: &[P::Wget],
        reason: "it reads the numbers from the first digit after the code, and here that digit belongs to the text",
    },
    // ---- 227: blanks ----
    Rule {
        applies: |p| pasv(p, |s| s.blanks_in_tuple),
        fails: &[
            P::Curl,
            P::FileZilla,
            P::PythonFtplib,
            P::GoJlaffayeFtp,
            P::RustSuppaftp,
            P::NodeBasicFtp,
            P::Wget,
            P::Nmap,
            P::CommonsNet,
            P::RubyNetFtp,
        ],
        reason: "its parser does not accept blanks between the numbers and the commas",
    },
    Rule {
        applies: |p| pasv(p, |s| s.blank_before_comma),
        fails: &[P::Lftp, P::KdeKio],
        reason: "its sscanf parser skips blanks after a comma, but not before one",
    },
    Rule {
        applies: |p| pasv(p, |s| s.padded_parentheses),
        fails: &[P::GoJlaffayeFtp, P::RustSuppaftp, P::Nmap],
        reason: "its parser requires the numbers right inside the parentheses, without blanks",
    },
    // ---- 227: more than six numbers ----
    Rule {
        applies: |p| pasv(p, |s| s.numbers.len() > 6),
        fails: &[P::FileZilla],
        reason: "its parser requires a space, ')' or the end of the line right after the sixth number",
    },
    Rule {
        applies: |p| pasv(p, |s| s.numbers.len() > 6),
        fails: &[P::RustSuppaftp, P::Nmap],
        reason: "its parser requires ')' right after the sixth number",
    },
    // ---- 227: negative numbers ----
    Rule {
        // A minus sign before h1 is skipped: these parsers start at its digits.
        applies: |p| pasv(p, |s| numbers(s, 1..6).iter().any(|n| negative(n))),
        fails: &[
            P::Curl,
            P::PythonFtplib,
            P::Wget,
            P::CommonsNet,
            P::RubyNetFtp,
        ],
        reason: DIGITS_ONLY,
    },
    Rule {
        applies: |p| pasv(p, |s| numbers(s, 0..6).iter().any(|n| negative(n))),
        fails: &[P::FileZilla, P::RustSuppaftp, P::Nmap],
        reason: DIGITS_ONLY,
    },
    Rule {
        applies: |p| pasv(p, |s| numbers(s, 4..6).iter().any(|n| negative(n))),
        fails: &[P::GoJlaffayeFtp],
        reason: "it computes the port as p1*256+p2 from the signed numbers, which gives a wrong port",
    },
    Rule {
        applies: |p| pasv(p, |s| numbers(s, 5..6).iter().any(|n| negative(n))),
        fails: &[P::KdeKio],
        reason: "it computes the port as p1<<8 | p2, which a negative p2 spoils",
    },
    // ---- 227: the address as written ----
    Rule {
        applies: |p| pasv(p, |s| !numbers(s, 0..4).iter().all(|n| canonical_byte(n))),
        fails: &[P::GoJlaffayeFtp],
        reason: "it dials the address as written, which Go's net.ParseIP rejects (a sign, a number above 255 or a leading zero), so the dial fails",
    },
    Rule {
        applies: |p| pasv(p, |s| !numbers(s, 0..4).iter().all(|n| canonical_byte(n))),
        fails: &[P::NodeBasicFtp],
        reason: "it compares the address as written with the control connection's address, which it never equals, and refuses it",
    },
    Rule {
        applies: |p| pasv(p, |s| numbers(s, 0..4).iter().any(|n| above_255(n))),
        fails: &[P::RustSuppaftp],
        reason: "it parses each number as a byte (u8)",
    },
    Rule {
        applies: |p| pasv(p, |s| numbers(s, 0..4).iter().any(|n| above_255(n))),
        fails: &[P::Wget],
        reason: "it keeps each number modulo 256 (256 becomes 0) and connects to that other address",
    },
    Rule {
        applies: |p| pasv(p, |s| numbers(s, 0..4).iter().any(|n| above_255(n))),
        fails: &[P::Nmap],
        reason: "it refuses a PASV address other than the server's",
    },
    Rule {
        applies: |p| {
            pasv(p, |s| {
                numbers(s, 0..4).iter().any(|n| not_byte(n)) && !lftp_replaces(numbers(s, 0..4))
            })
        },
        fails: &[P::Lftp],
        reason: "it keeps each number modulo 256 and connects to the address that makes, which here looks like no private, reserved or multicast address it would replace",
    },
    Rule {
        // curl tries every offset: above h1 it finds the last digits (99 of 999).
        applies: |p| pasv(p, |s| numbers(s, 1..4).iter().any(|n| above_255(n))),
        fails: &[P::Curl],
        reason: "its parser needs six numbers of at most 255 in a row",
    },
    Rule {
        applies: |p| {
            pasv(p, |s| {
                numbers(s, 1..6)
                    .iter()
                    .any(|n| n.trim_start_matches('-').len() > 3)
            })
        },
        fails: &[P::CommonsNet],
        reason: "its pattern allows at most three digits per number",
    },
    Rule {
        applies: |p| {
            pasv(p, |s| {
                numbers(s, 0..6).iter().any(|n| significant(n).len() > 3)
            })
        },
        fails: &[P::FileZilla],
        reason: "its pattern allows at most three digits per number after leading zeros",
    },
    // ---- 229 ----
    Rule {
        applies: |p| epsv(p, |e| e.address_fields),
        fails: &[
            P::Curl,
            P::FileZilla,
            P::GoJlaffayeFtp,
            P::RustSuppaftp,
            P::NodeBasicFtp,
            P::Wget,
            P::Nmap,
            P::CommonsNet,
            P::RubyNetFtp,
            P::KdeKio,
        ],
        reason: "its parser requires three delimiters in a row before the port, as in (|||port|)",
    },
    Rule {
        applies: |p| epsv(p, |e| e.address_fields),
        fails: &[P::Lftp],
        reason: "its parser requires (|||port|) unless the server announced CEPR in FEAT and lftp turned it on",
    },
    Rule {
        applies: |p| epsv(p, |e| e.delimiter != '|'),
        fails: &[P::FileZilla, P::GoJlaffayeFtp, P::RustSuppaftp, P::KdeKio],
        reason: "its parser accepts only '|' as the EPSV delimiter",
    },
    Rule {
        applies: |p| epsv(p, |e| e.delimiter != '|' && e.delimiter != '!'),
        fails: &[P::NodeBasicFtp],
        reason: "its parser accepts only '|' and '!' as the EPSV delimiter",
    },
    Rule {
        applies: |p| epsv(p, |e| !('!'..='~').contains(&e.delimiter)),
        fails: &[P::Wget, P::RubyNetFtp],
        reason: "its parser accepts only delimiters in ASCII 33-126, as RFC 2428 says",
    },
    Rule {
        applies: |p| epsv(p, |e| e.delimiter == ' '),
        fails: &[P::CommonsNet],
        reason: "it trims blanks inside the parentheses, so a blank delimiter is lost",
    },
];

/// The client families that would fail on this reply, each once, with the first reason
/// that applies.
pub fn parse_failures(passive: &Passive) -> Vec<ParseFailure> {
    let mut out: Vec<ParseFailure> = Vec::new();
    for rule in RULES.iter().filter(|r| (r.applies)(passive)) {
        for &client in rule.fails {
            if !out.iter().any(|f| f.client == client) {
                out.push(ParseFailure {
                    client,
                    reason: rule.reason,
                });
            }
        }
    }
    out.sort_by_key(|f| f.client);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::passive::decode;
    use crate::proto::reply::{Limits, parse_all};

    fn failing(text: &str) -> Vec<ParserFamily> {
        let reply = parse_all(text.as_bytes(), Limits::default())
            .remove(0)
            .unwrap();
        let p = decode(&reply, None).unwrap();
        parse_failures(&p).into_iter().map(|f| f.client).collect()
    }

    #[test]
    fn canonical_shapes_break_nobody() {
        assert!(failing("227 Entering Passive Mode (192,0,2,10,195,80).").is_empty());
        assert!(failing("229 Entering Extended Passive Mode (|||6446|)").is_empty());
    }

    #[test]
    fn no_parentheses() {
        assert_eq!(
            failing("227 Entering passive mode. 127,0,0,1,4,51"),
            vec![P::GoJlaffayeFtp, P::RustSuppaftp, P::Nmap, P::KdeKio]
        );
    }

    #[test]
    fn after_equals() {
        assert_eq!(
            failing("227 =127,0,0,1,4,51"),
            vec![P::FileZilla, P::GoJlaffayeFtp, P::RustSuppaftp, P::Nmap]
        );
    }

    #[test]
    fn blanks_after_commas_break_all_but_the_sscanf_parsers() {
        let f = failing("227 Entering Passive Mode (10, 0, 0, 5, 195, 80)");
        assert_eq!(f.len(), 10);
        assert!(!f.contains(&P::Lftp) && !f.contains(&P::KdeKio));
        let f = failing("227 Entering Passive Mode (10 ,0 ,0 ,5 ,195 ,80)");
        assert_eq!(f.len(), 12);
    }

    #[test]
    fn padded_parentheses_break_the_strict_patterns_only() {
        assert_eq!(
            failing("227 Entering Passive Mode ( 10,0,0,5,195,80 )"),
            vec![P::GoJlaffayeFtp, P::RustSuppaftp, P::Nmap]
        );
    }

    #[test]
    fn epsv_other_delimiter() {
        assert_eq!(
            failing("229 Entering Extended Passive Mode (!!!6446!)"),
            vec![P::FileZilla, P::GoJlaffayeFtp, P::RustSuppaftp, P::KdeKio]
        );
        assert_eq!(
            failing("229 Entering Passive Mode (~~~3106~)"),
            vec![
                P::FileZilla,
                P::GoJlaffayeFtp,
                P::RustSuppaftp,
                P::NodeBasicFtp,
                P::KdeKio
            ]
        );
    }

    #[test]
    fn epsv_blank_and_del_are_accepted_by_curl_lftp_ftplib_and_nmap() {
        let accept = [P::Curl, P::PythonFtplib, P::Lftp, P::Nmap];
        for text in [
            "229 Entering Passive Mode (   3106 )",
            "229 Entering Passive Mode (\x7f\x7f\x7f3106\x7f)",
        ] {
            let f = failing(text);
            for p in accept {
                assert!(!f.contains(&p), "{text:?}: {p:?}");
            }
            assert!(
                f.contains(&P::RubyNetFtp) && f.contains(&P::Wget),
                "{text:?}"
            );
        }
        assert!(failing("229 Entering Passive Mode (   3106 )").contains(&P::CommonsNet));
        assert!(
            !failing("229 Entering Passive Mode (\x7f\x7f\x7f3106\x7f)").contains(&P::CommonsNet)
        );
    }

    #[test]
    fn epsv_filled_address_fields_are_read_by_ftplib_alone() {
        let f = failing("229 Entering Extended Passive Mode (|1|192.0.2.10|50000|)");
        let all_but_ftplib: Vec<ParserFamily> = ParserFamily::ALL
            .into_iter()
            .filter(|p| *p != P::PythonFtplib)
            .collect();
        assert_eq!(f, all_but_ftplib);
    }

    #[test]
    fn seven_numbers() {
        assert_eq!(
            failing("227 Entering Passive Mode (192,168,0,1,12,34,56)"),
            vec![P::FileZilla, P::RustSuppaftp, P::Nmap]
        );
    }

    #[test]
    fn address_above_255() {
        // curl reads 99.0.0.1 from (999,...) and uses the control host: no failure.
        assert_eq!(
            failing("227 Entering Passive Mode (999,0,0,1,48,57)."),
            vec![
                P::GoJlaffayeFtp,
                P::RustSuppaftp,
                P::NodeBasicFtp,
                P::Wget,
                P::Nmap
            ]
        );
        assert_eq!(
            failing("227 Entering passive mode (256,256,256,256,195,80)."),
            vec![
                P::Curl,
                P::GoJlaffayeFtp,
                P::RustSuppaftp,
                P::NodeBasicFtp,
                P::Wget,
                P::Nmap
            ]
        );
        // curl's test 237: four digits break FileZilla's pattern too, and lftp reads
        // 192.0.2.127, which it does not replace.
        let f = failing("227 Entering Passive Mode (1216,256,2,127,127,127)");
        assert!(f.contains(&P::FileZilla) && f.contains(&P::Curl) && f.contains(&P::Lftp));
        assert!(!f.contains(&P::CommonsNet), "commons-net finds 216,256,...");
    }

    #[test]
    fn negative_port_byte() {
        assert_eq!(
            failing("227 Entering Passive Mode (192,168,1,2,-61,80)"),
            vec![
                P::Curl,
                P::FileZilla,
                P::PythonFtplib,
                P::GoJlaffayeFtp,
                P::RustSuppaftp,
                P::Wget,
                P::Nmap,
                P::CommonsNet,
                P::RubyNetFtp
            ]
        );
    }

    #[test]
    fn leading_zeros_in_the_address() {
        assert_eq!(
            failing("227 Entering Passive Mode (010,000,000,005,195,80)"),
            vec![P::GoJlaffayeFtp, P::NodeBasicFtp]
        );
        assert!(failing("227 Entering Passive Mode (10,0,0,5,0195,080)").contains(&P::CommonsNet));
    }

    #[test]
    fn wrapping_as_c_parsers_do() {
        assert_eq!(wrapped("256"), 0);
        assert_eq!(wrapped("999"), 231);
        assert_eq!(wrapped("1216"), 192);
        assert_eq!(wrapped("-61"), 195);
        assert_eq!(wrapped("-300"), 212);
        assert_eq!(
            wrapped("99999999999999999999999"),
            (99999999999999999999999u128 % 256) as u8
        );
        assert!(not_byte("-300") && not_byte("256") && !not_byte("-128") && !not_byte("255"));
    }

    #[test]
    fn names_round_trip() {
        for p in ParserFamily::ALL {
            assert_eq!(ParserFamily::from_name(p.name()), Some(p));
        }
        assert_eq!(ParserFamily::from_name("Perl Net::FTP"), None);
    }
}

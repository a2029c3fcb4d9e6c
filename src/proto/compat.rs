//! Which client families fail to parse a passive reply of a given shape.
//!
//! The knowledge is data: one row per shape rule, read from each client's parser (see
//! `docs/clients.md` and the table in the project's reference notes). A reply the decoder
//! accepts but a major client rejects is worth reporting on its own.

use serde::Serialize;

use super::passive::{Boundary, Passive, Shape};

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
}

impl ParserFamily {
    pub const ALL: [ParserFamily; 10] = [
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
        }
    }
}

/// A client family that would reject the reply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseFailure {
    pub client: ParserFamily,
    pub reason: &'static str,
}

/// One shape rule: when it applies, which families fail.
struct Rule {
    applies: fn(&Shape) -> bool,
    fails: &'static [ParserFamily],
    reason: &'static str,
}

use ParserFamily as P;

const RULES: &[Rule] = &[
    Rule {
        applies: |s| matches!(s, Shape::Pasv(p) if !p.parentheses),
        fails: &[P::GoJlaffayeFtp, P::RustSuppaftp, P::Nmap],
        reason: "its parser requires the six numbers inside parentheses",
    },
    Rule {
        applies: |s| matches!(s, Shape::Pasv(p) if p.before == Boundary::Equals),
        fails: &[P::FileZilla],
        reason: "its parser requires the six numbers to follow a space or '('",
    },
    Rule {
        applies: |s| matches!(s, Shape::Pasv(p) if p.before == Boundary::Other || p.after == Boundary::Other || p.after == Boundary::Equals),
        fails: &[P::FileZilla],
        reason: "its parser requires the six numbers to stand between a space or '(' and a space, ')' or the end of the line",
    },
    Rule {
        applies: |s| matches!(s, Shape::Pasv(p) if p.blanks_in_tuple),
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
        ],
        reason: "its parser does not accept blanks between the numbers and the commas",
    },
    Rule {
        applies: |s| matches!(s, Shape::Epsv(e) if e.delimiter != '|'),
        fails: &[P::FileZilla, P::GoJlaffayeFtp, P::RustSuppaftp],
        reason: "its parser accepts only '|' as the EPSV delimiter",
    },
];

/// The client families that would fail to parse this reply, each once, with the first
/// reason that applies.
pub fn parse_failures(passive: &Passive) -> Vec<ParseFailure> {
    let mut out: Vec<ParseFailure> = Vec::new();
    for rule in RULES.iter().filter(|r| (r.applies)(&passive.shape)) {
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
            vec![P::GoJlaffayeFtp, P::RustSuppaftp, P::Nmap]
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
    fn blanks_break_all_but_lftp() {
        let f = failing("227 Entering Passive Mode (10, 0, 0, 5, 195, 80)");
        assert_eq!(f.len(), 9);
        assert!(!f.contains(&P::Lftp));
    }

    #[test]
    fn epsv_other_delimiter() {
        assert_eq!(
            failing("229 Entering Extended Passive Mode (!!!6446!)"),
            vec![P::FileZilla, P::GoJlaffayeFtp, P::RustSuppaftp]
        );
    }
}

//! The 229 decoder. RFC 2428: `(<d><d><d><port><d>)` with any delimiter in ASCII 33-126.
//!
//! Tolerance: a blank or DEL as the delimiter decodes and is flagged. Ruby net-ftp's test
//! suite has both (`(   3106 )`, `(\x7f\x7f\x7f3106\x7f)`); curl (any byte after `(`),
//! lftp (the byte after `(` substituted into its sscanf format), Python ftplib (the byte
//! after `(`) and nmap (Lua `.`) accept them, Ruby and wget do not. Filled address fields
//! (`(|1|192.0.2.10|50000|)`) decode and are flagged: Python ftplib accepts them, lftp
//! after CEPR, the other parsers reject them (`super::super::compat`).

use std::net::IpAddr;

use super::{
    DecodeError, EpsvShape, Flag, Passive, PassiveKind, Shape, body_start, ends_with_dot, lossy,
};

/// A byte that can open the field list: RFC 2428's printable ASCII (less digits, which
/// cannot be told from the port), a blank or DEL.
fn is_delimiter(d: u8) -> bool {
    ((33..=126).contains(&d) && !d.is_ascii_digit()) || d == b' ' || d == 0x7f
}

pub(super) fn decode_text(s: &[u8], multiline: bool) -> Result<Passive, DecodeError> {
    let from = body_start(s);
    let parens: Vec<usize> = (from..s.len()).filter(|&i| s[i] == b'(').collect();
    let Some(&first_paren) = parens.first() else {
        return Err(DecodeError::NoParenthesis);
    };
    // The end of the line a position is on.
    let line_end = |i: usize| (i..s.len()).find(|&j| s[j] == b'\n').unwrap_or(s.len());
    // Prefer the first parenthesis that opens a plausible field list; report errors
    // against the first one otherwise.
    let open = parens
        .iter()
        .copied()
        .find(|&i| {
            matches!(s.get(i + 1), Some(&d) if is_delimiter(d))
                && s[i + 1..line_end(i)]
                    .iter()
                    .filter(|&&c| c == s[i + 1])
                    .count()
                    >= 4
        })
        .unwrap_or(first_paren);
    let dpos = open + 1;
    let d = match s.get(dpos) {
        None | Some(b'\n' | b'\r') => {
            return Err(DecodeError::MissingDelimiter {
                delimiter: '|',
                found: 0,
                position: open,
            });
        }
        Some(&d) if (33..=126).contains(&d) || d == b' ' || d == 0x7f => d,
        Some(&d) => {
            return Err(DecodeError::BadDelimiter {
                byte: d,
                position: dpos,
            });
        }
    };
    // The field list ends at the closing parenthesis, or the line's end if there is none.
    let stop = (dpos..s.len())
        .find(|&i| s[i] == b')' && d != b')' || s[i] == b'\n')
        .unwrap_or(s.len());
    let delims: Vec<usize> = (dpos..stop).filter(|&i| s[i] == d).collect();
    if delims.len() < 4 {
        // `(|!!3106!)`: the fields open with other delimiters than the first.
        for k in 1..=2 {
            if let Some(&c) = s.get(dpos + k)
                && c != d
                && c != b' '
                && is_delimiter(c)
            {
                return Err(DecodeError::MixedDelimiters {
                    first: char::from(d),
                    other: char::from(c),
                    position: dpos + k,
                });
            }
        }
        return Err(DecodeError::MissingDelimiter {
            delimiter: char::from(d),
            found: delims.len(),
            position: open,
        });
    }
    let (d1, d2, d3, d4) = (delims[0], delims[1], delims[2], delims[3]);
    let address_fields = d2 > d1 + 1 || d3 > d2 + 1;
    let field = &s[d3 + 1..d4];
    let port_pos = d3 + 1;
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::PortNotNumber {
            field: lossy(field),
            position: port_pos,
        });
    }
    let value = field.iter().fold(0u64, |acc, c| {
        acc.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    });
    if value == 0 {
        return Err(DecodeError::PortZero { position: port_pos });
    }
    let port = u16::try_from(value).map_err(|_| DecodeError::NumberTooLarge {
        field: "port".to_string(),
        value: lossy(field),
        max: 65535,
        position: port_pos,
    })?;
    let mut flags = Vec::new();
    if d == b' ' || d == 0x7f {
        flags.push(Flag::DelimiterOutsideRfc { byte: d });
    }
    let mut address = None;
    if address_fields {
        flags.push(Flag::EpsvAddressFields);
        // RFC 2428 EPRT syntax for the fields: 1 = IPv4, 2 = IPv6. Keep the address when
        // it parses; it is what the server said.
        address = lossy(&s[d2 + 1..d3]).parse::<IpAddr>().ok();
    }
    let shape = EpsvShape {
        delimiter: char::from(d),
        address_fields,
        final_dot: ends_with_dot(s),
        multiline,
        leading_text: lossy(&s[from..open]).trim().to_string(),
    };
    Ok(Passive {
        kind: PassiveKind::Epsv,
        code: 229,
        address,
        port,
        shape: Shape::Epsv(shape),
        flags,
    })
}

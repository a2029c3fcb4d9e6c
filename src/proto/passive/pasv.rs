//! The 227 decoder. RFC 1123 4.1.2.6: the text is not standardised, so scan for the six
//! numbers wherever they stand. The first run of at least six comma-separated numbers is
//! the tuple, as curl, lftp, Python ftplib and the others read it.
//!
//! Tolerance, each case seen in a peer's test suite (`fixtures/replies`):
//! - an address number above 255 (`(256,256,256,256,195,80)` from pyftpdlib,
//!   `(999,0,0,1,48,57)` from Ruby net-ftp): the port decodes, the address is flagged
//!   invalid and left out, since clients that use the control connection's address work;
//! - a negative number from -128 to -1 (`(192,168,1,2,-61,80)`): a signed byte, read as
//!   basic-ftp (`& 255`) and lftp (`%u` into an unsigned char) read it;
//! - more than six numbers: the first six are read, as curl, lftp, Python ftplib,
//!   jlaffaye/ftp and commons-net read them.
//!
//! A port byte that is no byte (above 255, or below -128) is an error: no two clients agree
//! on what it would mean.

use std::net::{IpAddr, Ipv4Addr};

use super::{
    DecodeError, Flag, PASV_FIELDS, Passive, PassiveKind, PasvShape, Run, Shape, SignedByte,
    body_start, boundary_after, boundary_before, ends_with_dot, is_blank, lossy, number_starts,
    read_run,
};

pub(super) fn decode_text(s: &[u8], multiline: bool) -> Result<Passive, DecodeError> {
    let from = body_start(s);
    let mut best: Option<(usize, usize)> = None;
    for start in number_starts(s, from, true) {
        let run = read_run(s, start, true);
        if run.nums.len() >= 6 {
            return from_run(s, from, &run, multiline);
        }
        if best.is_none_or(|(found, _)| run.nums.len() > found) {
            best = Some((run.nums.len(), start));
        }
    }
    match best {
        Some((found, position)) if found >= 2 => Err(DecodeError::MissingNumber {
            found,
            expected: 6,
            missing: PASV_FIELDS[found].to_string(),
            position,
        }),
        _ => Err(DecodeError::NoNumbers {
            kind: PassiveKind::Pasv,
        }),
    }
}

fn from_run(s: &[u8], from: usize, run: &Run, multiline: bool) -> Result<Passive, DecodeError> {
    let nums = &run.nums;
    // The port first: a port byte that is no byte leaves nothing to report.
    let mut port_bytes = [0u8; 2];
    for (k, n) in nums[4..6].iter().enumerate() {
        let field = PASV_FIELDS[4 + k];
        port_bytes[k] = match n.byte() {
            Some(b) => b,
            None if n.negative => {
                return Err(DecodeError::NegativeNumber {
                    field: field.to_string(),
                    value: n.text(s),
                    position: n.start,
                });
            }
            None => {
                return Err(DecodeError::NumberTooLarge {
                    field: field.to_string(),
                    value: n.digits_text(s),
                    max: 255,
                    position: n.start,
                });
            }
        };
    }
    let mut octets = [0u8; 4];
    let mut invalid: Option<(&'static str, String)> = None;
    for (k, n) in nums[..4].iter().enumerate() {
        match n.byte() {
            Some(b) => octets[k] = b,
            None => {
                if invalid.is_none() {
                    invalid = Some((PASV_FIELDS[k], n.text(s)));
                }
            }
        }
    }
    let negatives: Vec<SignedByte> = nums[..6]
        .iter()
        .zip(PASV_FIELDS)
        .filter(|(n, _)| n.negative)
        .filter_map(|(n, field)| {
            n.byte().map(|byte| SignedByte {
                field,
                written: n.text(s),
                byte,
            })
        })
        .collect();
    let port = u16::from(port_bytes[0]) << 8 | u16::from(port_bytes[1]);

    let first = nums[0];
    let end = nums[nums.len() - 1].end;
    // Blanks between the parenthesis and the numbers still count as enclosed.
    let open = s[from..first.start]
        .iter()
        .rposition(|c| !is_blank(*c))
        .map(|i| from + i);
    let close = s[end..].iter().position(|c| !is_blank(*c)).map(|i| end + i);
    let parentheses = open.is_some_and(|i| s[i] == b'(') && close.is_some_and(|i| s[i] == b')');
    let leading_end = match open {
        Some(i) if s[i] == b'(' => i,
        _ => first.start,
    };
    let shape = PasvShape {
        parentheses,
        before: boundary_before(s, first.start),
        after: boundary_after(s, end),
        blanks_in_tuple: run.blanks,
        padded_parentheses: parentheses
            && (open != first.start.checked_sub(1) || close != Some(end)),
        blank_before_comma: run.blank_before_comma,
        leading_zeros: nums
            .iter()
            .any(|n| n.end - n.digits > 1 && s[n.digits] == b'0'),
        numbers: nums.iter().map(|n| n.text(s)).collect(),
        final_dot: ends_with_dot(s),
        multiline,
        leading_text: lossy(&s[from..leading_end]).trim().to_string(),
    };

    let mut flags = Vec::new();
    let address = match invalid {
        Some((field, value)) => {
            let written: Vec<String> = nums[..4].iter().map(|n| n.text(s)).collect();
            flags.push(Flag::AddressInvalid {
                written: written.join("."),
                field,
                value,
            });
            None
        }
        None => {
            let v4 = Ipv4Addr::from(octets);
            if v4.is_unspecified() {
                flags.push(Flag::AddressUnspecified);
            }
            Some(IpAddr::V4(v4))
        }
    };
    if port == 0 {
        flags.push(Flag::PortZero);
    }
    if !negatives.is_empty() {
        flags.push(Flag::NegativeNumbers { numbers: negatives });
    }
    if nums.len() > 6 {
        flags.push(Flag::ExtraNumbers {
            found: nums.len(),
            used: 6,
        });
    }
    Ok(Passive {
        kind: PassiveKind::Pasv,
        code: 227,
        address,
        port,
        shape: Shape::Pasv(shape),
        flags,
    })
}

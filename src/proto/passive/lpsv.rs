//! The 228 decoder. RFC 1639: `(af,hal,h1,...,hn,pal,p1,...,pn)`. More numbers than the
//! reply needs are read like a 227's extra numbers: the ones needed are used and the rest
//! is flagged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{DecodeError, Flag, Passive, PassiveKind, Shape, body_start, number_starts, read_run};

pub(super) fn decode_text(s: &[u8], multiline: bool) -> Result<Passive, DecodeError> {
    let from = body_start(s);
    // Prefer a run right after `(`, else the first run of numbers.
    let start = number_starts(s, from, false)
        .find(|&i| i > 0 && s[i - 1] == b'(')
        .or_else(|| number_starts(s, from, false).next())
        .ok_or(DecodeError::NoNumbers {
            kind: PassiveKind::Lpsv,
        })?;
    let nums = read_run(s, start, false).nums;
    let missing = |found: usize, expected: usize, what: &str| DecodeError::MissingNumber {
        found,
        expected,
        missing: what.to_string(),
        position: start,
    };
    if nums.len() < 2 {
        return Err(missing(nums.len(), 2, "the address length"));
    }
    let (af, hal) = (nums[0], nums[1]);
    let expected_len = match af.value {
        4 => 4,
        6 => 16,
        _ => {
            return Err(DecodeError::UnsupportedFamily {
                family: af.digits_text(s),
                position: af.start,
            });
        }
    };
    if hal.value != expected_len {
        return Err(DecodeError::BadLength {
            field: "address length".to_string(),
            value: hal.digits_text(s),
            expected: expected_len,
            position: hal.start,
        });
    }
    let hal = expected_len as usize;
    let needed = 2 + hal + 1 + 2;
    if nums.len() < 2 + hal {
        let what = format!("address byte {}", nums.len() - 1);
        return Err(missing(nums.len(), needed, &what));
    }
    if nums.len() == 2 + hal {
        return Err(missing(nums.len(), needed, "the port length"));
    }
    let pal = nums[2 + hal];
    if pal.value != 2 {
        return Err(DecodeError::BadLength {
            field: "port length".to_string(),
            value: pal.digits_text(s),
            expected: 2,
            position: pal.start,
        });
    }
    if nums.len() < needed {
        let what = if nums.len() == needed - 2 {
            "port byte 1"
        } else {
            "port byte 2"
        };
        return Err(missing(nums.len(), needed, what));
    }
    let mut bytes = Vec::with_capacity(hal + 2);
    for (i, n) in nums[2..2 + hal]
        .iter()
        .chain(&nums[3 + hal..needed])
        .enumerate()
    {
        let Some(b) = u8::try_from(n.value).ok() else {
            let field = if i < hal {
                format!("address byte {}", i + 1)
            } else {
                format!("port byte {}", i - hal + 1)
            };
            return Err(DecodeError::NumberTooLarge {
                field,
                value: n.digits_text(s),
                max: 255,
                position: n.start,
            });
        };
        bytes.push(b);
    }
    let address = if hal == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&bytes[..16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let port = u16::from(bytes[hal]) << 8 | u16::from(bytes[hal + 1]);
    let mut flags = Vec::new();
    if address.is_unspecified() {
        flags.push(Flag::AddressUnspecified);
    }
    if port == 0 {
        flags.push(Flag::PortZero);
    }
    if nums.len() > needed {
        flags.push(Flag::ExtraNumbers {
            found: nums.len(),
            used: needed,
        });
    }
    Ok(Passive {
        kind: PassiveKind::Lpsv,
        code: 228,
        address: Some(address),
        port,
        shape: Shape::Lpsv {
            parentheses: start > 0 && s[start - 1] == b'(',
            multiline,
        },
        flags,
    })
}

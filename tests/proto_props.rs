//! Property tests for the protocol core: every address and port, written in each shape a
//! server might use, decodes back to itself; arbitrary bytes never panic any parser.

use std::net::{IpAddr, Ipv4Addr};

use pasv_doctor::proto::{Limits, PassiveKind, ReplyReader, decode, parse_all, parse_failures};
use proptest::prelude::*;

fn decode_text(text: &str) -> pasv_doctor::proto::Passive {
    let reply = parse_all(text.as_bytes(), Limits::default())
        .into_iter()
        .next()
        .expect("one reply")
        .expect("assembles");
    decode(&reply, None).expect("decodes")
}

/// Ways servers write a 227 (see fixtures/replies).
fn pasv_shapes(a: [u8; 4], p1: u8, p2: u8) -> Vec<String> {
    let t = format!("{},{},{},{},{p1},{p2}", a[0], a[1], a[2], a[3]);
    let spaced = format!("{}, {}, {}, {}, {p1}, {p2}", a[0], a[1], a[2], a[3]);
    vec![
        format!("227 Entering Passive Mode ({t}).\r\n"),
        format!("227 Entering Passive Mode ({t})\r\n"),
        format!("227 Data transfer will passively listen to {t}\r\n"),
        format!("227 Entering passive mode. {t}\n"),
        format!("227 ={t}\r\n"),
        format!("227 entering passive mode ( {spaced} )\r\n"),
        format!("227-Entering Passive Mode\r\n227 ({t})\r\n"),
        format!("227 IPv4 mode 2 ({t})"),
    ]
}

proptest! {
    #[test]
    fn pasv_round_trips_in_every_shape(a in any::<[u8; 4]>(), p1 in any::<u8>(), p2 in any::<u8>()) {
        for text in pasv_shapes(a, p1, p2) {
            let p = decode_text(&text);
            prop_assert_eq!(p.kind, PassiveKind::Pasv);
            prop_assert_eq!(p.address, Some(IpAddr::V4(Ipv4Addr::from(a))), "{}", text);
            prop_assert_eq!(p.port, u16::from(p1) * 256 + u16::from(p2), "{}", text);
            let _ = parse_failures(&p);
        }
    }

    #[test]
    fn epsv_round_trips_with_any_delimiter(port in 1u16.., d in 33u8..=126, dot in any::<bool>()) {
        prop_assume!(!d.is_ascii_digit() && d != b')');
        let d = char::from(d);
        let text = format!("229 Entering Extended Passive Mode ({d}{d}{d}{port}{d}){}\r\n", if dot { "." } else { "" });
        let p = decode_text(&text);
        prop_assert_eq!(p.kind, PassiveKind::Epsv);
        prop_assert_eq!(p.port, port, "{}", text);
        prop_assert_eq!(p.address, None);
    }

    #[test]
    fn signed_bytes_round_trip(a in any::<[u8; 4]>(), p1 in any::<u8>(), p2 in any::<u8>()) {
        // A server printing Java-style signed bytes: 195 is written -61.
        let signed = |b: u8| (b as i8).to_string();
        let text = format!(
            "227 Entering Passive Mode ({},{},{},{},{},{})\r\n",
            signed(a[0]), signed(a[1]), signed(a[2]), signed(a[3]), signed(p1), signed(p2)
        );
        let p = decode_text(&text);
        prop_assert_eq!(p.address, Some(IpAddr::V4(Ipv4Addr::from(a))), "{}", text);
        prop_assert_eq!(p.port, u16::from(p1) * 256 + u16::from(p2), "{}", text);
        let negative = text.contains('-');
        prop_assert_eq!(
            p.flags.iter().any(|f| f.name() == "negative_numbers"),
            negative,
            "{}",
            text
        );
    }

    #[test]
    fn address_numbers_above_255_keep_the_port(h in 256u64.., k in 0usize..4, p1 in any::<u8>(), p2 in any::<u8>()) {
        let mut nums = ["10".to_string(), "0".into(), "0".into(), "5".into()];
        nums[k] = h.to_string();
        let text = format!("227 Entering Passive Mode ({},{p1},{p2})\r\n", nums.join(","));
        let p = decode_text(&text);
        prop_assert_eq!(p.address, None, "{}", text);
        prop_assert!(p.address_invalid(), "{}", text);
        prop_assert_eq!(p.port, u16::from(p1) * 256 + u16::from(p2), "{}", text);
    }

    #[test]
    fn epsv_blank_and_del_delimiters(port in 1u16.., del in any::<bool>()) {
        let d = if del { '\u{7f}' } else { ' ' };
        let text = format!("229 Entering Extended Passive Mode ({d}{d}{d}{port}{d})\r\n");
        let p = decode_text(&text);
        prop_assert_eq!(p.port, port, "{:?}", text);
        prop_assert_eq!(p.flags[0].name(), "delimiter_outside_rfc2428");
    }

    #[test]
    fn lpsv_round_trips(a in any::<[u8; 4]>(), port in any::<u16>()) {
        let text = format!("228 Entering Long Passive Mode (4,4,{},{},{},{},2,{},{})\r\n",
            a[0], a[1], a[2], a[3], port >> 8, port & 0xff);
        let p = decode_text(&text);
        prop_assert_eq!(p.address, Some(IpAddr::V4(Ipv4Addr::from(a))));
        prop_assert_eq!(p.port, port);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), split in 0usize..512) {
        let limits = Limits { max_line: 64, max_lines: 8 };
        for result in parse_all(&bytes, limits).into_iter().flatten() {
            for sent in [None, Some(PassiveKind::Pasv), Some(PassiveKind::Epsv), Some(PassiveKind::Lpsv)] {
                if let Ok(p) = decode(&result, sent) {
                    let _ = parse_failures(&p);
                }
            }
        }
        // Same bytes behind each passive code, in two chunks.
        for code in [&b"227 "[..], b"228 ", b"229 "] {
            let mut input = code.to_vec();
            input.extend_from_slice(&bytes);
            let mut reader = ReplyReader::new(limits);
            let cut = split.min(input.len());
            reader.feed(&input[..cut]);
            while let Ok(Some(r)) = reader.next_reply() { let _ = decode(&r, None); }
            reader.feed(&input[cut..]);
            loop {
                match reader.finish() {
                    Ok(Some(r)) => { let _ = decode(&r, None); }
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
        }
    }
}

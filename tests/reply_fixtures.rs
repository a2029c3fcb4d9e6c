//! Every reply in `fixtures/replies/passive.jsonl` through the library: `proto::decode`,
//! `proto::parse_failures` and the address verdict must give what the fixture expects, and
//! what each fixture says a peer does (from the peer's own test suite or source) must agree
//! with the compatibility table: a client that accepts a reply is not listed as failing on
//! it, a client that rejects it is, and where the peer reads a port, decode reads the same.

use std::collections::BTreeSet;

use pasv_doctor::knowledge::advertised;
use pasv_doctor::proto::{
    AddressClass, Limits, ParserFamily, Passive, decode, parse_all, parse_failures,
};
use serde_json::Value;

fn fixtures() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/replies/passive.jsonl"
    ))
    .expect("fixture file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

/// The reply as a server sends it: each line ended by CRLF.
fn decoded(reply: &str) -> Result<Passive, String> {
    let mut wire = Vec::new();
    for line in reply.lines() {
        wire.extend_from_slice(line.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    let first = parse_all(&wire, Limits::default())
        .into_iter()
        .next()
        .ok_or("no reply")?
        .map_err(|e| e.to_string())?;
    decode(&first, None).map_err(|e| format!("{}|{e}", e.reason_code()))
}

fn class(p: &Passive) -> &'static str {
    match p.address {
        Some(ip) => AddressClass::of(ip).as_str(),
        None if p.address_invalid() => "invalid",
        None => "control_peer",
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn every_fixture_decodes_and_every_peer_claim_holds() {
    let all = fixtures();
    assert!(all.len() >= 90, "fixture table shrank: {}", all.len());
    let mut peers_checked = BTreeSet::new();
    for fx in &all {
        let reply = fx["reply"].as_str().expect("reply");
        let source = &fx["source"];
        let kind = source["kind"].as_str().expect("source.kind");
        assert!(
            ["peer_test", "peer_source", "observed", "constructed"].contains(&kind),
            "{reply:?}: source.kind {kind}"
        );
        if kind.starts_with("peer") {
            for key in ["peer", "repo", "path", "url", "verbatim"] {
                assert!(
                    source[key].as_str().is_some_and(|s| !s.is_empty()),
                    "{reply:?}: a peer's reply needs source.{key}"
                );
            }
        }
        let expect = &fx["expect"];
        let result = decoded(reply);
        if let Some(code) = expect.get("error").and_then(Value::as_str) {
            let err = result.expect_err(reply);
            assert!(err.starts_with(&format!("{code}|")), "{reply:?}: {err}");
            if let Some(want) = expect.get("reason_contains").and_then(Value::as_str) {
                assert!(err.contains(want), "{reply:?}: {err}");
            }
        } else {
            let p = result.unwrap_or_else(|e| panic!("{reply:?}: {e}"));
            assert_eq!(Some(p.kind.as_str()), expect["kind"].as_str(), "{reply:?}");
            assert_eq!(
                u64::from(p.port),
                expect["port"].as_u64().unwrap_or(0),
                "{reply:?}"
            );
            assert_eq!(
                p.address.map(|a| a.to_string()).as_deref(),
                expect.get("address").and_then(Value::as_str),
                "{reply:?}"
            );
            assert_eq!(Some(class(&p)), expect["class"].as_str(), "{reply:?}");
            let flags: Vec<&str> = p.flags.iter().map(|f| f.name()).collect();
            assert_eq!(flags, strings(&expect["flags"]), "{reply:?}");
            let failing: Vec<&str> = parse_failures(&p).iter().map(|f| f.client.name()).collect();
            assert_eq!(failing, strings(&expect["parse_failures"]), "{reply:?}");
            assert_eq!(
                Some(advertised::verdict(&p).code),
                expect["verdict"].as_str(),
                "{reply:?}"
            );
        }
        for claim in fx["peers_do"].as_array().into_iter().flatten() {
            let client = claim["client"].as_str().expect("peers_do.client");
            let family = ParserFamily::from_name(client)
                .unwrap_or_else(|| panic!("{reply:?}: {client} is no known parser family"));
            let accepts = claim["accepts"].as_bool().expect("peers_do.accepts");
            match decoded(reply) {
                Ok(p) => {
                    let fails = parse_failures(&p).iter().any(|f| f.client == family);
                    assert_eq!(
                        fails,
                        !accepts,
                        "{reply:?}: {client} {} it, says {}, but the compatibility table {}",
                        if accepts { "accepts" } else { "rejects" },
                        claim["says"],
                        if fails {
                            "lists it as failing"
                        } else {
                            "does not list it"
                        }
                    );
                    if let Some(port) = claim["reads"]["port"].as_u64() {
                        assert_eq!(u64::from(p.port), port, "{reply:?}: {client} reads");
                    }
                    if let Some(addr) = claim["reads"]["address"].as_str() {
                        assert_eq!(
                            p.address.map(|a| a.to_string()).as_deref(),
                            Some(addr),
                            "{reply:?}: {client} reads"
                        );
                    }
                }
                Err(e) => assert!(
                    !accepts,
                    "{reply:?}: {client} accepts it, but decode fails: {e}"
                ),
            }
            peers_checked.insert(client.to_string());
        }
    }
    // Each peer test suite the issue names is represented.
    let peers: BTreeSet<&str> = all
        .iter()
        .filter_map(|fx| fx["source"]["peer"].as_str())
        .collect();
    for peer in [
        "curl",
        "CPython",
        "Ruby net-ftp",
        "Apache commons-net",
        "jlaffaye/ftp",
        "suppaftp",
        "basic-ftp",
        "pyftpdlib",
        "KDE kio",
    ] {
        assert!(peers.contains(peer), "no fixture from {peer}'s suite");
    }
    assert!(peers_checked.len() >= 9, "{peers_checked:?}");
}

/// The issue's examples, by name, so that a change to the table cannot drop one silently.
#[test]
fn the_issues_examples_decode_as_described() {
    // The port decodes and the address is marked invalid.
    for (reply, port) in [
        ("227 Entering passive mode (256,256,256,256,195,80).", 50000),
        ("227 Entering Passive Mode (999,0,0,1,48,57).", 12345),
    ] {
        let p = decoded(reply).expect(reply);
        assert_eq!((p.address, p.port), (None, port), "{reply}");
        assert!(p.address_invalid(), "{reply}");
    }
    // Negative bytes: basic-ftp and lftp mask them to a byte.
    let p = decoded("227 Entering Passive Mode (192,168,1,2,-61,80)").expect("decodes");
    assert_eq!(p.port, 50000);
    let failing: Vec<ParserFamily> = parse_failures(&p).iter().map(|f| f.client).collect();
    assert!(!failing.contains(&ParserFamily::NodeBasicFtp));
    assert!(!failing.contains(&ParserFamily::Lftp));
    // EPSV with a blank or DEL: curl, lftp and CPython accept it.
    for reply in [
        "229 Entering Passive Mode (   3106 )",
        "229 Entering Passive Mode (\x7f\x7f\x7f3106\x7f)",
    ] {
        let p = decoded(reply).expect(reply);
        assert_eq!(p.port, 3106);
        assert_eq!(p.flags[0].name(), "delimiter_outside_rfc2428");
        let failing: Vec<ParserFamily> = parse_failures(&p).iter().map(|f| f.client).collect();
        for ok in [
            ParserFamily::Curl,
            ParserFamily::Lftp,
            ParserFamily::PythonFtplib,
        ] {
            assert!(!failing.contains(&ok), "{reply:?}: {ok:?}");
        }
    }
    // An extra number after LPSV is flagged, as a 227's is.
    let p = decoded("228 Entering Long Passive Mode (4,4,192,0,2,10,2,195,80,7)").expect("LPSV");
    assert_eq!(p.flags[0].name(), "extra_numbers");
    // A filled EPSV address field is rejected by these nine.
    let p = decoded("229 Entering Extended Passive Mode (|1|192.0.2.10|50000|)").expect("EPSV");
    let failing: Vec<ParserFamily> = parse_failures(&p).iter().map(|f| f.client).collect();
    for family in [
        ParserFamily::Curl,
        ParserFamily::Wget,
        ParserFamily::Lftp,
        ParserFamily::FileZilla,
        ParserFamily::GoJlaffayeFtp,
        ParserFamily::RustSuppaftp,
        ParserFamily::NodeBasicFtp,
        ParserFamily::CommonsNet,
        ParserFamily::Nmap,
    ] {
        assert!(failing.contains(&family), "{family:?}");
    }
    // basic-ftp accepts only | and ! as delimiters.
    for (reply, fails) in [
        ("229 Entering Passive Mode (!!!3106!)", false),
        ("229 Entering Passive Mode (~~~3106~)", true),
        ("229 Entering Passive Mode (###3106#)", true),
    ] {
        let p = decoded(reply).expect(reply);
        let failing = parse_failures(&p)
            .iter()
            .any(|f| f.client == ParserFamily::NodeBasicFtp);
        assert_eq!(failing, fails, "{reply}");
    }
    // jlaffaye accepts six or more numbers, but rejects leading zeros in the address.
    let jl = |reply: &str| {
        parse_failures(&decoded(reply).expect(reply))
            .iter()
            .any(|f| f.client == ParserFamily::GoJlaffayeFtp)
    };
    assert!(!jl("227 Entering Passive Mode (192,168,0,1,12,34,56)"));
    assert!(jl("227 Entering Passive Mode (010,000,000,005,195,80)"));
    assert!(!jl("227 Entering Passive Mode (10,0,0,5,0195,080)"));
}

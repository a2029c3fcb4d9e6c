//! Every session step, scripted over `tokio::io::duplex` through the [`Connector`] seam:
//! no sockets, so each case runs in milliseconds and cannot touch the network.
//!
//! [`Connector`]: super::super::net::Connector

use super::testkit::{Act, Peer, Port, SERVER, Scripted, check, plan};
use super::*;
use crate::transcript::{ConnectOutcome, Direction, PASSWORD_MASK, Via};

const LISTING: &[u8] = b"-rw-r--r-- 1 ftp ftp 12 Jan 01 00:00 a.txt\r\n";
const LIST_OK: &str = "150 Here comes the directory listing.\r\n226 Directory send OK.";

fn sent(s: &ServerSession) -> Vec<String> {
    s.lines
        .iter()
        .filter(|l| l.dir == Direction::Sent)
        .map(|l| l.text.clone())
        .collect()
}

/// A scripted network with a healthy anonymous server on PASV 50001 / EPSV 50002.
fn healthy() -> Scripted {
    let peer = Peer::anonymous(50001, 50002)
        .on("LIST", LIST_OK)
        .on("LIST", LIST_OK);
    Scripted::new(vec![peer])
        .port(50001, Port::Serve(LISTING.to_vec()))
        .port(50002, Port::Serve(LISTING.to_vec()))
}

async fn control(net: &Scripted, plan: &SessionPlan) -> (Run<'static>, Control) {
    let plan: &'static SessionPlan = Box::leak(Box::new(plan.clone()));
    let net = net.net();
    let conn = net.connect(SERVER.parse().unwrap()).await.unwrap();
    let connect = crate::transcript::Attempt {
        addr: SERVER.parse().unwrap(),
        outcome: ConnectOutcome::Connected,
        at_us: 0,
        elapsed_us: 0,
    };
    let run = Run {
        plan,
        net,
        s: ServerSession::new(SERVER.parse().unwrap(), "literal", connect),
        started: Instant::now(),
        tls: None,
    };
    (run, Control::new(conn.stream, plan.clock))
}

// --- the whole session --------------------------------------------------------------

#[tokio::test]
async fn a_healthy_session_runs_every_step_in_order() {
    let net = healthy();
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::Completed, "{:?}", s.lines);
    assert_eq!(
        net.commands(),
        [
            "USER anonymous",
            "PASS pasv-doctor@",
            "PASV",
            "EPSV",
            "SYST",
            "TYPE I",
            "PWD",
            "FEAT",
            "LIST",
            "PASV",
            "LIST",
        ]
    );
    assert_eq!(sent(&s).last().map(String::as_str), Some("QUIT"));
    assert_eq!(s.samples.len(), 2);
    assert_eq!(s.transfers.len(), 2);
    assert!(s.transfers.iter().all(|t| t.bytes == LISTING.len() as u64));
    assert!(
        s.transfers[0].reuses_sample,
        "the first listing uses EPSV's listener"
    );
    assert_eq!(s.local, Some("127.0.0.1:40000".parse().unwrap()));
}

#[tokio::test]
async fn a_refused_control_connection_ends_the_session_at_connect() {
    let net = Scripted::new(Vec::new());
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::ConnectFailed);
    assert_eq!(s.connect.outcome, ConnectOutcome::Refused);
    assert!(s.lines.is_empty());
}

// --- greeting and FEAT ----------------------------------------------------------------

#[tokio::test]
async fn the_greeting_waits_through_preliminary_replies() {
    let net = Scripted::new(vec![
        Peer::default()
            .greet("120 Service ready in 1 minute.")
            .greet("220 ready"),
    ]);
    let (mut run, mut c) = control(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(greeting::greeting(&mut run, &mut c).await, Ok(()));
    assert_eq!(run.s.greeting.len(), 2);
}

#[tokio::test]
async fn a_greeting_other_than_220_is_a_refusal_of_service() {
    let net = Scripted::new(vec![Peer::default().greet("421 Too many users.")]);
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::Unavailable);
    assert_eq!(s.greeting[0].code, 421);
    assert!(
        net.commands().is_empty(),
        "nothing is sent to a refusing server"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_in_the_greeting() {
    let net = Scripted::new(vec![Peer::default().greet_act(Act::Silent)]);
    let (mut run, mut c) = control(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    let started = Instant::now();
    let end = greeting::greeting(&mut run, &mut c).await;
    assert_eq!(end, Err(SessionEnd::TimedOut(Phase::Greeting)));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn auth_tls_goes_alone_and_a_refusal_stays_plain_in_auto_mode() {
    let net = Scripted::new(vec![
        Peer::new().on("AUTH", "530 Please login with USER and PASS."),
    ]);
    let (mut run, mut c) = control(&net, &plan("anonymous", None, TlsRequest::Auto)).await;
    greeting::greeting(&mut run, &mut c).await.unwrap();
    assert_eq!(greeting::auth_tls(&mut run, &mut c).await, Ok(()));
    assert_eq!(net.commands(), ["AUTH TLS"]);
    let tls = run.s.tls.as_ref().unwrap();
    assert!(tls.handshake.is_none());
    assert_eq!(tls.auth.as_ref().unwrap().reply.as_ref().unwrap().code, 530);
}

#[tokio::test]
async fn the_late_commands_follow_the_samples_and_feat_picks_the_listing_command() {
    let peer = Peer::anonymous(50001, 50002)
        .on("FEAT", "211-Features:\r\n MLST type*;\r\n211 End")
        .on("MLSD", LIST_OK)
        .on("MLSD", LIST_OK);
    let net = Scripted::new(vec![peer])
        .port(50001, Port::Serve(LISTING.to_vec()))
        .port(50002, Port::Serve(LISTING.to_vec()));
    let mut p = plan("anonymous", None, TlsRequest::Off);
    p.samples = 2;
    let s = check(&net, &p).await;
    assert_eq!(s.end, SessionEnd::Completed, "{:?}", s.lines);
    let commands = net.commands();
    let feat = commands
        .iter()
        .position(|c| c == "FEAT")
        .expect("FEAT sent");
    let passive: Vec<usize> = (0..commands.len())
        .filter(|i| commands[*i] == "PASV" || commands[*i] == "EPSV")
        .collect();
    assert_eq!(
        passive.len(),
        4 + 1,
        "2 PASV + 2 EPSV samples, one more for the 2nd listing"
    );
    let syst = commands
        .iter()
        .position(|c| c == "SYST")
        .expect("SYST sent");
    assert!(
        syst > passive[3] && feat > syst,
        "SYST, TYPE I, PWD and FEAT follow the last sample: {commands:?}"
    );
    assert!(s.syst.is_some() && s.type_i.is_some() && s.pwd.is_some());
    assert_eq!(s.features(), ["MLST type*;"]);
    assert!(
        s.transfers
            .iter()
            .all(|t| t.command.as_ref().unwrap().command == "MLSD")
    );
}

// --- TLS ------------------------------------------------------------------------------

#[tokio::test]
async fn explicit_tls_refused_ends_before_the_password_goes_out() {
    let net = Scripted::new(vec![
        Peer::anonymous(50001, 50002).on("AUTH", "500 AUTH not understood"),
    ]);
    let s = check(&net, &plan("alice", Some("hunter22"), TlsRequest::Explicit)).await;
    assert_eq!(s.end, SessionEnd::TlsRefused);
    assert!(
        !net.commands()
            .iter()
            .any(|c| c.starts_with("USER") || c.starts_with("PASS"))
    );
}

#[tokio::test]
async fn auth_tls_protects_login_and_data_and_tests_session_reuse() {
    let peer = Peer::anonymous(50001, 50002)
        .on("AUTH", "234 Proceed with negotiation.")
        .on("PBSZ", "200 PBSZ=0")
        .on("PROT", "200 Protection level set to P")
        .on("LIST", LIST_OK)
        .on("LIST", LIST_OK)
        .on("LIST", LIST_OK);
    let comparison = Peer::anonymous(50001, 50002);
    let net = Scripted::new(vec![peer, comparison])
        .port(50001, Port::ServeTls(LISTING.to_vec()))
        .port(50002, Port::ServeTls(LISTING.to_vec()));
    let s = check(&net, &plan("anonymous", None, TlsRequest::Auto)).await;
    assert_eq!(s.end, SessionEnd::Completed, "{:?}", s.lines);
    let tls = s.tls.as_ref().unwrap();
    let hs = tls.handshake.as_ref().unwrap();
    assert_eq!(hs.error, None);
    assert!(
        tls.certificate.is_some(),
        "the certificate shown is recorded"
    );
    assert!(tls.verdict.is_some(), "a self-signed chain gets a verdict");
    assert!(s.login.as_ref().unwrap().tls);
    assert_eq!(tls.prot.as_ref().unwrap().command, "PROT P");
    let protected: Vec<_> = s.transfers.iter().filter_map(|t| t.tls.as_ref()).collect();
    assert_eq!(protected.len(), 3, "two listings and the reuse test");
    assert!(protected.iter().all(|d| d.handshake.error.is_none()));
    assert!(protected[2].fresh_session);
    assert!(s.transfers.iter().all(|t| t.bytes == LISTING.len() as u64));
    // Anonymous over TLS: the plain-text comparison ran on a second connection.
    let plain = s.plain_comparison.as_ref().unwrap();
    assert_eq!(plain.failure, None);
    assert!(plain.sample.as_ref().unwrap().advertised.is_some());
}

#[tokio::test]
async fn implicit_tls_starts_with_the_handshake() {
    let peer = Peer::anonymous(50001, 50002).implicit_tls();
    let net = Scripted::new(vec![peer]);
    let mut p = plan("anonymous", None, TlsRequest::Implicit);
    p.transfers = 0;
    let s = check(&net, &p).await;
    let tls = s.tls.as_ref().unwrap();
    assert_eq!(tls.mode, TlsRequest::Implicit);
    assert_eq!(tls.handshake.as_ref().unwrap().error, None);
    assert!(!net.commands().iter().any(|c| c.starts_with("AUTH")));
    assert!(
        s.plain_comparison.is_none(),
        "no plain-text port to compare with"
    );
}

#[tokio::test]
async fn a_plain_server_behind_implicit_tls_fails_the_handshake() {
    let net = Scripted::new(vec![Peer::new()]);
    let s = check(&net, &plan("anonymous", None, TlsRequest::Implicit)).await;
    assert_eq!(s.end, SessionEnd::TlsFailed);
    assert!(s.tls.unwrap().handshake.unwrap().error.is_some());
}

// --- login ----------------------------------------------------------------------------

#[tokio::test]
async fn the_password_is_sent_but_never_recorded() {
    let net = Scripted::new(vec![
        Peer::new()
            .on("USER", "331 Password required for alice")
            .on("PASS", "530 Login incorrect: hunter22"),
    ]);
    let s = check(&net, &plan("alice", Some("hunter22"), TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::LoginFailed);
    assert_eq!(s.login.as_ref().unwrap().outcome, LoginOutcome::Rejected);
    assert!(net.commands().contains(&"PASS hunter22".to_string()));
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("hunter22"), "{json}");
    assert!(sent(&s).contains(&format!("PASS {PASSWORD_MASK}")));
}

#[tokio::test]
async fn a_named_user_without_a_password_is_not_sent_an_empty_one() {
    let net = Scripted::new(vec![Peer::new().on("USER", "331 Password required")]);
    let s = check(&net, &plan("alice", None, TlsRequest::Off)).await;
    let login = s.login.unwrap();
    assert_eq!(login.outcome, LoginOutcome::NoPassword);
    assert!(!login.password_sent);
    assert!(!net.commands().iter().any(|c| c.starts_with("PASS")));
}

#[tokio::test]
async fn a_230_to_user_logs_in_whatever_the_pipelined_pass_gets() {
    // Anonymous: the customary password is no secret, so PASS rides with USER.
    let net = Scripted::new(vec![
        Peer::new()
            .on("USER", "230 Welcome")
            .on("PASS", "503 Already logged in."),
    ]);
    let (mut run, mut c) = control(&net, &plan("ftp", None, TlsRequest::Off)).await;
    greeting::greeting(&mut run, &mut c).await.unwrap();
    assert_eq!(login::login(&mut run, &mut c, &[]).await, Ok(true));
    assert_eq!(net.commands(), ["USER ftp", "PASS pasv-doctor@"]);
    let l = run.s.login.unwrap();
    assert_eq!(l.outcome, LoginOutcome::LoggedIn);
    assert!(l.anonymous && l.password_sent);
}

#[tokio::test]
async fn in_clear_text_a_real_password_waits_for_the_331() {
    let net = Scripted::new(vec![
        Peer::new().on("USER", "530 Non-anonymous sessions must use encryption."),
    ]);
    let (mut run, mut c) = control(&net, &plan("alice", Some("hunter22"), TlsRequest::Off)).await;
    greeting::greeting(&mut run, &mut c).await.unwrap();
    assert_eq!(
        login::login(&mut run, &mut c, &["PASV"]).await,
        Err(SessionEnd::LoginFailed)
    );
    assert_eq!(
        net.commands(),
        ["USER alice"],
        "the password never went out"
    );
    let l = run.s.login.unwrap();
    assert_eq!(l.outcome, LoginOutcome::Rejected);
    assert!(!l.password_sent);
}

#[tokio::test]
async fn a_server_that_refused_auth_tls_gets_user_and_pass_together() {
    let net = Scripted::new(vec![
        Peer::new()
            .on("AUTH", "530 Please login with USER and PASS.")
            .on("USER", "331 Please specify the password.")
            .on("PASS", "230 Login successful."),
    ]);
    let (mut run, mut c) = control(&net, &plan("alice", Some("hunter22"), TlsRequest::Auto)).await;
    greeting::greeting(&mut run, &mut c).await.unwrap();
    greeting::auth_tls(&mut run, &mut c).await.unwrap();
    assert_eq!(login::login(&mut run, &mut c, &[]).await, Ok(true));
    assert_eq!(net.commands(), ["AUTH TLS", "USER alice", "PASS hunter22"]);
    assert!(c.lines.iter().any(|l| l.text == "PASS ********"));
    assert!(!c.lines.iter().any(|l| l.text.contains("hunter22")));
    assert_eq!(run.s.login.unwrap().outcome, LoginOutcome::LoggedIn);
}

#[tokio::test]
async fn the_sample_burst_rides_behind_pass_without_waiting_for_the_230() {
    // The server goes quiet after USER: whatever reached it went before any 230.
    let mut peer = Peer::new().on("USER", "331 Please specify the password.");
    for verb in ["PASS", "SYST", "TYPE", "PWD", "PASV", "EPSV", "FEAT"] {
        peer = peer.act(verb, Act::Silent);
    }
    let net = Scripted::new(vec![peer]);
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::TimedOut(Phase::Login));
    assert_eq!(
        net.commands(),
        [
            "USER anonymous",
            "PASS pasv-doctor@",
            "PASV",
            "EPSV",
            "SYST",
            "TYPE I",
            "PWD",
            "FEAT"
        ]
    );
    assert!(s.samples.is_empty(), "no reply, no sample");
}

#[tokio::test]
async fn a_230_to_user_with_no_answer_to_pass_ends_the_session_not_completed() {
    // PASS (with the burst behind it) closed by a 421, or never answered: no sample was
    // taken, and the session must not look like a completed one.
    for (act, end) in [
        (
            Act::Say("421 Timeout.".to_string()),
            SessionEnd::Closed(Phase::Login),
        ),
        (Act::Silent, SessionEnd::TimedOut(Phase::Login)),
    ] {
        let mut peer = Peer::new().on("USER", "230 Welcome").act("PASS", act);
        for verb in ["PASV", "EPSV", "SYST", "TYPE", "PWD", "FEAT"] {
            peer = peer.act(verb, Act::Silent);
        }
        let net = Scripted::new(vec![peer]);
        let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
        assert_eq!(s.end, end, "{:?}", s.lines);
        assert!(s.samples.is_empty());
    }
}

#[tokio::test]
async fn a_refused_login_keeps_what_the_server_said_to_the_burst_and_samples_nothing() {
    let mut peer = Peer::new()
        .on("USER", "331 Please specify the password.")
        .on("PASS", "530 Login incorrect.");
    for verb in ["SYST", "TYPE", "PWD", "PASV", "EPSV"] {
        peer = peer.on(verb, "530 Please login with USER and PASS.");
    }
    let net = Scripted::new(vec![peer.on("FEAT", "211-Features:\r\n EPSV\r\n211 End")]);
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::LoginFailed);
    assert_eq!(s.login.unwrap().outcome, LoginOutcome::Rejected);
    assert!(s.samples.is_empty() && s.transfers.is_empty());
    let after_pasv: Vec<&str> = s
        .lines
        .iter()
        .skip_while(|l| l.text != "PASV")
        .map(|l| l.text.as_str())
        .collect();
    assert!(
        after_pasv.contains(&"530 Please login with USER and PASS."),
        "the burst's answers are in the transcript: {:?}",
        s.lines
    );
    assert!(
        s.feat.is_none(),
        "a 530 to FEAT is no FEAT answer: {:?}",
        s.feat
    );
    assert!(s.syst.is_none() && s.pwd.is_none());
    assert_eq!(net.connects_to(50001) + net.connects_to(50002), 0);
}

// --- samples and port tests -----------------------------------------------------------

#[tokio::test]
async fn a_refused_command_is_recorded_each_time_it_is_asked() {
    // EPSV refused: all samples go in one burst, so each EPSV is refused and recorded.
    let peer = Peer::new()
        .on("USER", "230 ok")
        .on("EPSV", "500 EPSV not understood")
        .on("EPSV", "500 EPSV not understood")
        .on("EPSV", "500 EPSV not understood")
        .passive(50001, 50002);
    let net = Scripted::new(vec![peer]).port(50001, Port::Serve(LISTING.to_vec()));
    let mut p = plan("ftp", None, TlsRequest::Off);
    p.samples = 3;
    p.transfers = 0;
    let s = check(&net, &p).await;
    let passive: Vec<String> = net
        .commands()
        .into_iter()
        .filter(|c| c == "PASV" || c == "EPSV")
        .collect();
    assert_eq!(passive, ["PASV", "EPSV", "PASV", "PASV", "EPSV", "EPSV"]);
    assert_eq!(s.samples.len(), 6);
    let refused = s.samples.iter().filter(|s| s.advertised.is_none()).count();
    assert_eq!(refused, 3, "every EPSV refused: {:?}", s.samples);
}

#[tokio::test]
async fn ports_are_tested_at_once_and_each_address_only_once() {
    // Three PASV samples name the same port: one connection, three outcomes.
    let net = Scripted::new(vec![Peer::anonymous(50001, 50002).on("LIST", LIST_OK)])
        .port(50001, Port::Silent)
        .port(50002, Port::Serve(LISTING.to_vec()));
    let mut p = plan("anonymous", None, TlsRequest::Off);
    p.samples = 3;
    let started = Instant::now();
    let s = check(&net, &p).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "one timeout for all silent ports"
    );
    // One test connection for the three samples, one for the fresh PASV's listing.
    assert_eq!(
        net.connects_to(50001),
        2,
        "{:?}",
        net.connects.lock().unwrap()
    );
    let pasv: Vec<&ConnectOutcome> = s
        .samples
        .iter()
        .filter(|x| x.command == PassiveKind::Pasv)
        .flat_map(|x| x.probes.iter().map(|p| &p.attempt.outcome))
        .collect();
    assert_eq!(pasv, [&ConnectOutcome::TimedOut; 3]);
    // Every PASV port timed out and the first listing (EPSV) worked: a fresh PASV tells
    // whether only the newest port is opened, so one is tried.
    assert_eq!(s.transfers.len(), 2);
}

#[tokio::test]
async fn a_foreign_advertised_address_is_skipped_and_the_peer_tried() {
    let peer = Peer::new()
        .on("USER", "230 ok")
        .on("PASV", "227 Entering Passive Mode (198,51,100,7,195,81).")
        .on("EPSV", "500 no");
    let net = Scripted::new(vec![peer]).port(50001, Port::Refuse);
    let mut p = plan("ftp", None, TlsRequest::Off);
    p.transfers = 0;
    let s = check(&net, &p).await;
    let probes = &s.samples[0].probes;
    assert!(matches!(
        probes[0].attempt.outcome,
        ConnectOutcome::Skipped(_)
    ));
    assert_eq!(probes[1].via, Via::ControlPeer);
    assert_eq!(probes[1].attempt.outcome, ConnectOutcome::Refused);
    let foreign = net
        .connects
        .lock()
        .unwrap()
        .iter()
        .any(|a| a.ip() != std::net::IpAddr::from([127, 0, 0, 1]));
    assert!(!foreign, "no connection to the advertised foreign address");
}

// --- transfers ------------------------------------------------------------------------

#[tokio::test]
async fn mlsd_falls_back_to_list_on_the_same_data_connection() {
    let peer = Peer::anonymous(50001, 50002)
        .on("FEAT", "211-Features:\r\n MLST type*;\r\n211 End")
        .on("MLSD", "500 Unknown command.")
        .on("LIST", LIST_OK);
    let net = Scripted::new(vec![peer]).port(50002, Port::Serve(LISTING.to_vec()));
    let mut p = plan("anonymous", None, TlsRequest::Off);
    p.transfers = 1;
    let s = check(&net, &p).await;
    let t = &s.transfers[0];
    assert_eq!(t.command.as_ref().unwrap().command, "LIST");
    assert_eq!(t.completion.as_ref().unwrap().code, 226);
    assert_eq!(t.bytes, LISTING.len() as u64);
    assert_eq!(net.connects_to(50002), 1);
}

#[tokio::test]
async fn a_refused_data_connection_records_the_servers_425() {
    let peer = Peer::anonymous(50001, 50002)
        .on("LIST", "425 Failed to establish connection.")
        .on("LIST", "425 Failed to establish connection.");
    let net = Scripted::new(vec![peer])
        .port(50001, Port::Refuse)
        .port(50002, Port::Refuse);
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::Completed);
    let t = &s.transfers[0];
    assert_eq!(
        t.data.as_ref().unwrap().attempt.outcome,
        ConnectOutcome::Refused
    );
    assert_eq!(t.completion.as_ref().unwrap().code, 425);
    assert_eq!(s.transfers.len(), 2, "the control connection went on");
}

#[tokio::test]
async fn no_answer_after_a_failed_data_connection_abandons_transfers() {
    let peer = Peer::anonymous(50001, 50002).act("LIST", Act::Silent);
    let net = Scripted::new(vec![peer])
        .port(50001, Port::Refuse)
        .port(50002, Port::Refuse);
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(
        s.transfers.len(),
        1,
        "no second transfer on an unknown state"
    );
    let cmd = s.transfers[0].command.as_ref().unwrap();
    assert_eq!(
        cmd.failure.as_deref(),
        Some("no reply once the data connection failed")
    );
}

#[tokio::test]
async fn a_closed_control_connection_mid_listing_ends_in_the_data_phase() {
    let peer = Peer::anonymous(50001, 50002).act("LIST", Act::Close);
    let net = Scripted::new(vec![peer]).port(50002, Port::Serve(LISTING.to_vec()));
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.end, SessionEnd::Closed(Phase::Data));
}

// --- pure planning --------------------------------------------------------------------

#[test]
fn listing_prefers_mlsd_where_feat_lists_mlst() {
    let mlst = ["MLST type*;size*;".to_string()];
    assert_eq!(plan::listing_commands(&mlst, None), ["MLSD", "LIST"]);
    assert_eq!(
        plan::listing_commands(&[], Some("/pub")),
        ["LIST /pub", "NLST /pub"]
    );
}

#[test]
fn port_zero_and_an_unspecified_address_are_never_connected() {
    use crate::transcript::Advertised;
    let peer = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut adv = Advertised {
        kind: PassiveKind::Pasv,
        address: Some([0, 0, 0, 0].into()),
        port: 50001,
        flags: Vec::new(),
        parse_failures: Vec::new(),
    };
    let t = plan::probe_targets(&adv, peer, &[], false);
    assert!(t[0].1.is_err() && t[1].1.is_ok(), "{t:?}");
    adv.port = 0;
    let t = plan::probe_targets(&adv, peer, &[], true);
    assert_eq!(t.len(), 1);
    assert!(t[0].1.is_err());
}

#[tokio::test]
async fn when_every_port_is_filtered_no_second_listing_waits_again() {
    let peer = Peer::anonymous(50001, 50002).on("LIST", "425 Can't open data connection.");
    let net = Scripted::new(vec![peer])
        .port(50001, Port::Silent)
        .port(50002, Port::Silent);
    let s = check(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    assert_eq!(s.transfers.len(), 1);
    assert_eq!(
        s.transfers[0].data.as_ref().unwrap().attempt.outcome,
        ConnectOutcome::TimedOut
    );
    assert_eq!(
        net.connects_to(50001),
        1,
        "the PASV port was only test-connected"
    );
}

#[tokio::test]
async fn each_step_is_told_as_it_happens() {
    use crate::probe::progress::{Progress, Step};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut p = plan("anonymous", None, TlsRequest::Off);
    p.progress = Progress::new(move |e| sink.lock().unwrap().push(e.step.clone()));
    let s = check(&healthy(), &p).await;
    assert_eq!(s.end, SessionEnd::Completed);
    let steps = seen.lock().unwrap().clone();
    assert_eq!(steps.first(), Some(&Step::Connecting));
    assert_eq!(steps.last(), Some(&Step::Done));
    for want in [
        Step::Greeted,
        Step::LoggedIn,
        Step::Samples {
            via: PassiveKind::Epsv,
            done: 1,
            of: 1,
        },
        Step::Listed {
            bytes: LISTING.len() as u64,
        },
    ] {
        assert!(steps.contains(&want), "{want:?} in {steps:?}");
    }
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::TestingPorts { ports: 1, .. })),
        "{steps:?}"
    );
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::Listing { .. }))
            .count(),
        2
    );
    assert_eq!(steps[3].to_string(), "PASV 1/1");
}

// --- replies read later ------------------------------------------------------------------

#[tokio::test]
async fn a_reply_left_for_later_is_read_before_the_next_and_kept_apart() {
    let net = Scripted::new(vec![
        Peer::new()
            .on("SYST", "215 UNIX Type: L8")
            .on("FEAT", "211-Features:\r\n EPSV\r\n211 End")
            .on("PWD", "257 \"/\""),
    ]);
    let (mut run, mut c) = control(&net, &plan("anonymous", None, TlsRequest::Off)).await;
    greeting::greeting(&mut run, &mut c).await.unwrap();
    let first = c.exchange_all_then(&["SYST"], &["FEAT"]).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1.as_ref().map(|r| r.code), Some(215));
    // PWD's answer comes after FEAT's on the wire: FEAT's is read first and kept apart.
    let pwd = c.exchange_all(&["PWD"]).await;
    assert_eq!(pwd[0].1.as_ref().map(|r| r.code), Some(257));
    let later = c.take_answered();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].0.command, "FEAT");
    assert_eq!(later[0].1.as_ref().map(|r| r.code), Some(211));
    assert_eq!(net.commands(), ["SYST", "FEAT", "PWD"]);
}

#[tokio::test]
async fn a_pipelined_reply_is_timed_from_the_reply_before_it_not_from_its_sending() {
    // PASV rides behind a login that takes 300 ms: its time is the server's answer to it,
    // not the login's.
    let login = std::time::Duration::from_millis(300);
    let net = Scripted::new(vec![
        Peer::new()
            .on("USER", "331 Please specify the password.")
            .act(
                "PASS",
                Act::Late(login, "230 Login successful.".to_string()),
            )
            .passive(50001, 50002)
            .on("LIST", LIST_OK),
    ])
    .port(50002, Port::Serve(LISTING.to_vec()));
    let mut p = plan("anonymous", None, TlsRequest::Off);
    p.clock = super::super::control::Clock::new(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(10),
    );
    p.transfers = 1;
    let s = check(&net, &p).await;
    assert_eq!(s.end, SessionEnd::Completed, "{:?}", s.lines);
    assert!(s.login.as_ref().unwrap().elapsed_us >= login.as_micros() as u64);
    let pasv = s.samples[0].exchange.reply.as_ref().unwrap();
    assert!(
        pasv.elapsed_us < 100_000,
        "PASV answered {} us after the 230",
        pasv.elapsed_us
    );
}

#[tokio::test]
async fn a_feat_that_ends_the_session_sends_no_listing_command() {
    let peer = Peer::anonymous(50001, 50002).on("FEAT", "421 Shutting down.");
    let net = Scripted::new(vec![peer]).port(50002, Port::Serve(LISTING.to_vec()));
    let mut p = plan("anonymous", None, TlsRequest::Off);
    p.samples = 1;
    let s = check(&net, &p).await;
    assert!(
        !net.commands().iter().any(|c| c == "LIST" || c == "MLSD"),
        "{:?}",
        net.commands()
    );
    assert!(s.transfers.is_empty(), "no transfer took place");
    assert_eq!(
        s.feat
            .as_ref()
            .and_then(|f| f.reply.as_ref())
            .map(|r| r.code),
        Some(421)
    );
    assert!(matches!(s.end, SessionEnd::Closed(_)), "{:?}", s.end);
}

//! The fake FTP server (`pasv_doctor::fake`) spoken to with a plain `TcpStream`, on loopback
//! only: a healthy session, each kind of data port, PASV/EPSV details, overrides, port ranges
//! and login rules, and the script's acts (trickled, flooded and cut-off replies, a reset,
//! silence, a data port opened and played by the script).

mod support;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use pasv_doctor::demo::Scenario;
use pasv_doctor::fake::{Act, Advertise, DataAct, DataPlay, DataPort, FakeServer, Login, Script};
use rustls::pki_types::ServerName;
use support::ftps::{self, Pki};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(15);

struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

/// A reply: its code and its lines without CRLF.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn last(&self) -> &str {
        self.lines.last().expect("reply has a line")
    }
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect to the server");
        let (reader, writer) = stream.into_split();
        Client {
            reader: BufReader::new(reader),
            writer,
        }
    }

    /// Connects and reads the greeting.
    async fn greeted(addr: SocketAddr) -> Client {
        let mut client = Client::connect(addr).await;
        let greeting = client.reply().await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        client
    }

    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = timeout(WAIT, self.reader.read_line(&mut line))
            .await
            .expect("line in time")
            .expect("read a line");
        if n == 0 {
            return None;
        }
        assert!(line.ends_with("\r\n"), "line without CRLF: {line:?}");
        line.truncate(line.len() - 2);
        Some(line)
    }

    async fn reply(&mut self) -> Reply {
        let first = self.line().await.expect("a reply, not EOF");
        let code: u16 = first[..3].parse().expect("reply code");
        let mut lines = vec![first.clone()];
        if first.as_bytes()[3] == b'-' {
            let end = format!("{code} ");
            loop {
                let line = self.line().await.expect("rest of a multi-line reply");
                let done = line.starts_with(&end);
                lines.push(line);
                if done {
                    break;
                }
            }
        }
        Reply { code, lines }
    }

    async fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("send a command");
    }

    async fn cmd(&mut self, line: &str) -> Reply {
        self.send(line).await;
        self.reply().await
    }

    async fn login(&mut self) {
        let user = self.cmd("USER demo").await;
        assert_eq!(user.code, 331, "{user:?}");
        let pass = self.cmd("PASS demo-password").await;
        assert_eq!(pass.code, 230, "{pass:?}");
    }

    /// True when the server closed the control connection.
    async fn at_eof(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            timeout(WAIT, self.reader.read(&mut buf))
                .await
                .expect("EOF in time"),
            Ok(0) | Err(_)
        )
    }
}

async fn start(script: Script) -> FakeServer {
    FakeServer::start(LOOPBACK, script)
        .await
        .expect("server starts")
}

/// Address and port of a 227 reply.
fn parse_227(reply: &Reply) -> (Ipv4Addr, u16) {
    assert_eq!(reply.code, 227, "{reply:?}");
    let text = reply.last();
    let inner = &text[text.find('(').expect("(") + 1..text.find(')').expect(")")];
    let n: Vec<u8> = inner
        .split(',')
        .map(|p| p.parse().expect("a number 0-255"))
        .collect();
    assert_eq!(n.len(), 6, "{text}");
    (
        Ipv4Addr::new(n[0], n[1], n[2], n[3]),
        u16::from_be_bytes([n[4], n[5]]),
    )
}

/// Port of a 229 reply.
fn parse_229(reply: &Reply) -> u16 {
    assert_eq!(reply.code, 229, "{reply:?}");
    let text = reply.last();
    let start = text.find("(|||").expect("(|||") + 4;
    let end = start + text[start..].find("|)").expect("|)");
    text[start..end].parse().expect("port")
}

async fn pasv_port(client: &mut Client) -> u16 {
    let reply = client.cmd("PASV").await;
    let (ip, port) = parse_227(&reply);
    assert_eq!(ip, Ipv4Addr::LOCALHOST, "{reply:?}");
    port
}

async fn read_all(mut data: TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    timeout(WAIT, data.read_to_end(&mut got))
        .await
        .expect("data in time")
        .expect("read the data connection");
    got
}

async fn connect_data(ip: IpAddr, port: u16) -> TcpStream {
    timeout(WAIT, TcpStream::connect((ip, port)))
        .await
        .expect("data connect in time")
        .expect("data connect")
}

/// A transfer command over an open data connection: 150, the listing, 226.
async fn transfer(client: &mut Client, data: TcpStream, command: &str) -> Vec<u8> {
    let opening = client.cmd(command).await;
    assert_eq!(opening.code, 150, "{opening:?}");
    let got = read_all(data).await;
    let done = client.reply().await;
    assert_eq!(done.code, 226, "{done:?}");
    got
}

#[tokio::test]
async fn greeting_login_feat_syst_quit() {
    let server = start(Script::default()).await;
    assert_eq!(server.control_connections(), 0);
    let mut c = Client::connect(server.addr()).await;
    let greeting = c.reply().await;
    assert_eq!(greeting.lines, ["220 pasv-doctor demo FTP server ready."]);
    assert_eq!(server.control_connections(), 1);

    c.login().await;
    let feat = c.cmd("feat").await; // verbs are case-insensitive
    assert_eq!(
        feat.lines,
        [
            "211-Features:",
            " EPSV",
            " PASV",
            " MLST type*;size*;modify*;",
            " UTF8",
            "211 End"
        ]
    );
    assert_eq!(c.cmd("SYST").await.lines, ["215 UNIX Type: L8"]);
    assert_eq!(c.cmd("TYPE I").await.code, 200);
    assert_eq!(
        c.cmd("PWD").await.lines,
        ["257 \"/\" is the current directory"]
    );
    assert_eq!(c.cmd("CWD /pub").await.code, 250);
    assert_eq!(c.cmd("NOOP").await.code, 200);
    assert_eq!(c.cmd("OPTS UTF8 ON").await.code, 200);
    assert_eq!(c.cmd("ACCT x").await.code, 202);
    assert_eq!(
        c.cmd("SITE CHMOD 777 x").await.lines,
        ["502 Command not implemented."]
    );
    assert_eq!(c.cmd("QUIT").await.code, 221);
    assert!(c.at_eof().await, "QUIT closes the connection");

    let _second = Client::greeted(server.addr()).await;
    assert_eq!(server.control_connections(), 2);
}

#[tokio::test]
async fn anonymous_and_passwordless_users() {
    let script = Script {
        login: Login::Accounts {
            users: vec![("guest".to_string(), None)],
            anonymous: true,
        },
        ..Script::default()
    };
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    assert_eq!(c.cmd("USER guest").await.lines, ["230 Login successful."]);
    assert_eq!(c.cmd("PWD").await.code, 257);

    let mut c = Client::greeted(server.addr()).await;
    assert_eq!(c.cmd("USER anonymous").await.code, 331);
    assert_eq!(c.cmd("PASS me@example.org").await.code, 230);

    let closed = start(Script {
        login: Login::Accounts {
            users: vec![("demo".to_string(), Some("demo-password".to_string()))],
            anonymous: false,
        },
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(closed.addr()).await;
    assert_eq!(c.cmd("USER anonymous").await.code, 331);
    assert_eq!(c.cmd("PASS me@example.org").await.code, 530);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_530_after_pass() {
    let server = start(Script::default()).await;
    let mut c = Client::greeted(server.addr()).await;
    assert_eq!(c.cmd("USER demo").await.code, 331);
    assert_eq!(c.cmd("PASS wrong").await.lines, ["530 Login incorrect."]);
    assert_eq!(c.cmd("PWD").await.code, 530, "still not logged in");

    // No user enumeration: an unknown user gets the same 331 first.
    assert_eq!(
        c.cmd("USER nobody").await.lines,
        ["331 Please specify the password."]
    );
    assert_eq!(c.cmd("PASS demo-password").await.code, 530);
    assert_eq!(
        c.cmd("PASS demo-password").await.code,
        503,
        "PASS needs USER"
    );
    c.login().await;
}

#[tokio::test]
async fn commands_before_login_get_530() {
    let server = start(Script::default()).await;
    let mut c = Client::greeted(server.addr()).await;
    for command in [
        "PASV", "EPSV", "LIST", "PWD", "CWD /", "TYPE I", "RETR x", "XYZ",
    ] {
        let reply = c.cmd(command).await;
        assert_eq!(
            reply.lines,
            ["530 Please login with USER and PASS."],
            "{command}"
        );
    }
    // These work before login.
    assert_eq!(c.cmd("NOOP").await.code, 200);
    assert_eq!(c.cmd("SYST").await.code, 215);
    assert_eq!(c.cmd("FEAT").await.code, 211);
    c.login().await;
    assert_eq!(c.cmd("XYZ").await.code, 502);
}

#[tokio::test]
async fn pasv_then_list_receives_the_listing() {
    let script = Script::default();
    let listing = script.listing.clone();
    assert!(
        String::from_utf8_lossy(&listing).contains(" readme.txt\r\n"),
        "default listing looks like ls -l"
    );
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    assert_eq!(
        c.cmd("LIST").await.lines,
        ["425 Use PORT or PASV first."],
        "no PASV yet"
    );

    let port = pasv_port(&mut c).await;
    let data = connect_data(LOOPBACK, port).await;
    let reply = c.cmd("LIST").await;
    assert_eq!(reply.lines, ["150 Here comes the directory listing."]);
    assert_eq!(read_all(data).await, listing);
    assert_eq!(c.reply().await.lines, ["226 Directory send OK."]);

    // One data connection per PASV.
    assert_eq!(c.cmd("NLST").await.code, 425);

    // RETR sends the same bytes.
    let port = pasv_port(&mut c).await;
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(transfer(&mut c, data, "RETR readme.txt").await, listing);

    // The data connection may also come after the command.
    let port = pasv_port(&mut c).await;
    let opening = c.cmd("MLSD").await;
    assert_eq!(opening.code, 150, "{opening:?}");
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(read_all(data).await, listing);
    assert_eq!(c.reply().await.code, 226);
}

#[tokio::test]
async fn epsv_then_list_receives_the_listing() {
    let script = Script::default();
    let listing = script.listing.clone();
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let reply = c.cmd("EPSV").await;
    assert!(
        reply
            .last()
            .starts_with("229 Entering Extended Passive Mode (|||"),
        "{reply:?}"
    );
    let port = parse_229(&reply);
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(transfer(&mut c, data, "LIST").await, listing);

    assert_eq!(
        c.cmd("EPSV 2").await.code,
        522,
        "IPv6 on an IPv4 connection"
    );
    assert_eq!(c.cmd("EPSV ALL").await.code, 200);
    let port = parse_229(&c.cmd("EPSV 1").await);
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(transfer(&mut c, data, "NLST").await, listing);
}

#[tokio::test]
async fn a_port_test_connection_does_not_break_the_transfer() {
    let script = Script::default();
    let listing = script.listing.clone();
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;

    let port = pasv_port(&mut c).await;
    drop(connect_data(LOOPBACK, port).await); // a client testing the port
    tokio::time::sleep(Duration::from_millis(50)).await;
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(transfer(&mut c, data, "LIST").await, listing);

    // Tested then abandoned: the next PASV works as usual.
    let port = pasv_port(&mut c).await;
    drop(connect_data(LOOPBACK, port).await);
    let port = pasv_port(&mut c).await;
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(transfer(&mut c, data, "LIST").await, listing);
}

#[tokio::test]
async fn second_pasv_closes_the_first_listener() {
    let server = start(Script::default()).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let first = pasv_port(&mut c).await;
    let second = pasv_port(&mut c).await;
    assert_ne!(first, second);
    let err = TcpStream::connect((LOOPBACK, first))
        .await
        .expect_err("the first port is closed");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    let data = connect_data(LOOPBACK, second).await;
    transfer(&mut c, data, "LIST").await;
}

#[tokio::test]
async fn refuse_mode_gives_connection_refused() {
    let server = start(Script {
        data: vec![DataPort::Refuse],
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let port = pasv_port(&mut c).await;
    let result = timeout(WAIT, TcpStream::connect((LOOPBACK, port)))
        .await
        .expect("refused at once, not a timeout");
    let err = result.expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(
        c.cmd("LIST").await.lines,
        ["425 Failed to establish connection."]
    );
}

#[tokio::test]
async fn filter_mode_gives_a_connect_timeout() {
    let server = start(Script {
        data: vec![DataPort::Filter],
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    for _ in 0..2 {
        let port = pasv_port(&mut c).await;
        match timeout(Duration::from_secs(1), TcpStream::connect((LOOPBACK, port))).await {
            Err(_elapsed) => {}
            Ok(Ok(_)) => panic!("connected to a filtered port"),
            Ok(Err(e)) => panic!("expected a timeout, got {:?}: {e}", e.kind()),
        }
        assert_eq!(
            c.cmd("LIST").await.lines,
            ["425 Failed to establish connection."]
        );
    }
}

#[tokio::test]
async fn bad_ip_mode_gives_425_after_connect() {
    let server = start(Scenario::BadIp.script()).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let port = pasv_port(&mut c).await;
    let mut data = connect_data(LOOPBACK, port).await;
    assert_eq!(
        c.cmd("LIST").await.lines,
        ["425 Security: Bad IP connecting."]
    );
    let mut buf = [0u8; 16];
    let read = timeout(WAIT, data.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "no data, closed: {read:?}");
}

#[tokio::test]
async fn fixed_advertise_is_in_the_227_text() {
    // The advertised address is only read, never connected to.
    let server = start(Script {
        advertise: Advertise::Fixed(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))),
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let reply = c.cmd("PASV").await;
    assert!(
        reply
            .last()
            .starts_with("227 Entering Passive Mode (10,0,0,5,"),
        "{reply:?}"
    );
    let (ip, port) = parse_227(&reply);
    assert_eq!(ip, Ipv4Addr::new(10, 0, 0, 5));
    // The listener itself is on the control connection's address.
    let data = connect_data(LOOPBACK, port).await;
    transfer(&mut c, data, "LIST").await;

    let v6 = start(Script {
        advertise: Advertise::Fixed(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(v6.addr()).await;
    c.login().await;
    assert_eq!(
        c.cmd("PASV").await.lines,
        ["425 Cannot advertise an IPv6 address in PASV."]
    );
}

#[tokio::test]
async fn disabled_pasv_and_epsv_get_502() {
    let mut script = Script::default();
    for verb in ["PASV", "EPSV"] {
        script.on(verb, vec![Act::line("502 Command not implemented.")]);
    }
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    assert_eq!(c.cmd("PASV").await.lines, ["502 Command not implemented."]);
    assert_eq!(c.cmd("EPSV").await.lines, ["502 Command not implemented."]);
}

#[tokio::test]
async fn overrides_are_sent_verbatim() {
    let mut script = Script::default();
    script.on(
        "PASV",
        vec![Act::line("227 Entering Passive Mode (10,0,0,256,1,2)")],
    );
    script.on(
        "SYST",
        vec![Act::lines(&["215-first", "215 UNIX emulated"])],
    );
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;

    c.send("PASV").await;
    let mut raw = vec![0u8; "227 Entering Passive Mode (10,0,0,256,1,2)\r\n".len()];
    timeout(WAIT, c.reader.read_exact(&mut raw))
        .await
        .expect("override in time")
        .expect("read the override");
    assert_eq!(raw, b"227 Entering Passive Mode (10,0,0,256,1,2)\r\n");
    // An overridden PASV opens no listener.
    assert_eq!(c.cmd("LIST").await.lines, ["425 Use PORT or PASV first."]);

    assert_eq!(
        c.cmd("syst").await.lines,
        ["215-first", "215 UNIX emulated"]
    );
    assert_eq!(c.cmd("NOOP").await.code, 200, "the session goes on");
}

#[tokio::test]
async fn an_override_can_close_the_connection() {
    let mut script = Script::default();
    script.on("PASV", vec![Act::Close]);
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    c.send("PASV").await;
    assert!(c.at_eof().await, "the server hangs up without answering");
}

/// A base port with `count` consecutive free ports on loopback.
fn free_port_run(count: u16) -> u16 {
    for attempt in 0..200u16 {
        let base = 20_000 + attempt * 211;
        let free = (base..base + count).all(|p| std::net::TcpListener::bind((LOOPBACK, p)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no run of {count} free ports");
}

#[tokio::test]
async fn port_range_is_respected_cycled_and_busy_ports_skipped() {
    let base = free_port_run(3);
    let server = start(Script {
        port_range: Some(base..=base + 2),
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let mut ports = Vec::new();
    for _ in 0..4 {
        ports.push(pasv_port(&mut c).await);
    }
    assert_eq!(ports, [base, base + 1, base + 2, base]);

    // A busy port is skipped.
    let busy = std::net::TcpListener::bind((LOOPBACK, base + 2)).expect("occupy a port");
    let mut ports = Vec::new();
    for _ in 0..3 {
        ports.push(parse_229(&c.cmd("EPSV").await));
    }
    assert_eq!(ports, [base + 1, base, base + 1]);
    drop(busy);

    // The port in use still serves.
    let data = connect_data(LOOPBACK, base + 1).await;
    transfer(&mut c, data, "LIST").await;
}

#[tokio::test]
async fn overlong_lines_are_rejected_and_the_session_goes_on() {
    let server = start(Script::default()).await;
    let mut c = Client::greeted(server.addr()).await;
    let long = format!("USER {}", "x".repeat(10_000));
    assert_eq!(c.cmd(&long).await.lines, ["500 Command line too long."]);
    c.login().await;
}

#[tokio::test]
async fn shutdown_ends_sessions_and_stops_accepting() {
    let server = start(Script::default()).await;
    let addr = server.addr();
    let mut c = Client::greeted(addr).await;
    c.login().await;
    server.shutdown();
    assert!(c.at_eof().await, "the session ends");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = TcpStream::connect(addr)
        .await
        .expect_err("no longer listening");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[tokio::test]
async fn at_most_64_sessions() {
    let server = start(Script::default()).await;
    let mut clients = Vec::new();
    for _ in 0..64 {
        clients.push(Client::greeted(server.addr()).await);
    }
    let mut extra = Client::connect(server.addr()).await;
    assert_eq!(extra.reply().await.code, 421);
    drop(clients.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _again = Client::greeted(server.addr()).await;
    assert_eq!(server.control_connections(), 66);
}

#[tokio::test]
async fn ipv6_loopback_uses_epsv() {
    let server = match FakeServer::start(IpAddr::V6(Ipv6Addr::LOCALHOST), Script::default()).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("skipped: cannot bind ::1 ({e})");
            return;
        }
    };
    let listing = Script::default().listing;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    assert_eq!(
        c.cmd("PASV").await.lines,
        ["500 PASV not supported over IPv6, use EPSV."]
    );
    let port = parse_229(&c.cmd("EPSV").await);
    let data = connect_data(IpAddr::V6(Ipv6Addr::LOCALHOST), port).await;
    assert_eq!(transfer(&mut c, data, "LIST").await, listing);
}

/// Everything the server sends until it closes.
async fn read_to_close(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut got = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut got))
        .await
        .expect("closed in time")?;
    Ok(got)
}

#[tokio::test]
async fn greeting_acts_trickle_flood_and_close_mid_reply() {
    let trickled = start(Script {
        greeting: vec![
            Act::Trickle {
                bytes: b"220-slow\r\n".to_vec(),
                chunk: 3,
                every: Duration::from_millis(30),
            },
            Act::Send(b"220-more to c".to_vec()),
            Act::Close,
        ],
        ..Script::default()
    })
    .await;
    let started = std::time::Instant::now();
    let got = read_to_close(trickled.addr()).await.expect("read");
    assert_eq!(got, b"220-slow\r\n220-more to c");
    assert!(started.elapsed() >= Duration::from_millis(90), "trickled");

    let flooded = start(Script {
        greeting: vec![
            Act::Send(b"220-".to_vec()),
            Act::Flood {
                bytes: b"xy".to_vec(),
                cap: 100_001,
            },
            Act::Close,
        ],
        ..Script::default()
    })
    .await;
    let got = read_to_close(flooded.addr()).await.expect("read");
    assert_eq!(got.len(), 4 + 100_001);
    assert!(got[4..].starts_with(b"xyxy") && got.ends_with(b"x"));
}

#[tokio::test]
async fn a_reset_and_a_silent_server() {
    let reset = start(Script {
        greeting: vec![Act::Reset],
        ..Script::default()
    })
    .await;
    let err = read_to_close(reset.addr()).await.expect_err("reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");

    let silent = start(Script {
        greeting: vec![Act::line("220 then nothing"), Act::Silent],
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(silent.addr()).await;
    c.send("USER demo").await;
    let mut buf = [0u8; 16];
    let read = timeout(Duration::from_millis(300), c.reader.read(&mut buf)).await;
    assert!(read.is_err(), "no answer: {read:?}");
    // Commands are logged as they are read; a silent server reads none.
    assert!(silent.commands().is_empty());
}

#[tokio::test]
async fn a_script_opens_and_plays_its_own_data_port() {
    let mut script = Script::default();
    let hello = DataPort::Accept(DataPlay::acts(vec![
        DataAct::Send(b"hello".to_vec()),
        DataAct::Close,
    ]));
    script.on(
        "PASV",
        vec![
            Act::Listen(hello),
            Act::line("227 Entering Passive Mode (127,0,0,1,{p1},{p2}) port {port}"),
        ],
    );
    script.on(
        "LIST",
        vec![Act::line("150 {arg}"), Act::Transfer, Act::line("226 done")],
    );
    let server = start(script).await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let reply = c.cmd("PASV").await;
    let (_, port) = parse_227(&reply);
    assert!(
        reply.last().ends_with(&format!(" port {port}")),
        "{reply:?}"
    );
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(c.cmd("LIST /pub").await.lines, ["150 /pub"]);
    assert_eq!(read_all(data).await, b"hello");
    assert_eq!(c.reply().await.lines, ["226 done"]);
    let lines: Vec<String> = server.commands().into_iter().map(|r| r.line).collect();
    assert_eq!(lines, ["USER demo", "PASS ********", "PASV", "LIST /pub"]);
}

#[tokio::test]
async fn data_plays_reset_or_answer_without_a_150() {
    let reset = DataPort::Accept(DataPlay::acts(vec![DataAct::Reset]));
    let server = start(Script {
        data: vec![reset],
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let port = pasv_port(&mut c).await;
    let mut data = connect_data(LOOPBACK, port).await;
    assert_eq!(c.cmd("LIST").await.code, 150);
    let mut got = Vec::new();
    let read = timeout(WAIT, data.read_to_end(&mut got))
        .await
        .expect("in time");
    assert_eq!(read.expect_err("reset").kind(), ErrorKind::ConnectionReset);
    assert_eq!(c.reply().await.lines, ["226 Directory send OK."]);

    let refused = DataPort::Accept(DataPlay {
        announce: false,
        acts: vec![DataAct::Close],
        reply: Some("425 Go away.".to_string()),
        ..DataPlay::default()
    });
    let server = start(Script {
        data: vec![refused],
        ..Script::default()
    })
    .await;
    let mut c = Client::greeted(server.addr()).await;
    c.login().await;
    let port = pasv_port(&mut c).await;
    let _data = connect_data(LOOPBACK, port).await;
    assert_eq!(c.cmd("RETR x").await.lines, ["425 Go away."]);
}

/// Sends a command and reads a one-line reply, over any stream.
async fn ask<S: AsyncRead + AsyncWrite + Unpin>(s: &mut BufReader<S>, line: &str) -> String {
    if !line.is_empty() {
        let inner = s.get_mut();
        inner
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("send");
        inner.flush().await.expect("flush");
    }
    let mut reply = String::new();
    timeout(WAIT, s.read_line(&mut reply))
        .await
        .expect("reply in time")
        .expect("read a reply");
    reply.trim_end().to_string()
}

#[tokio::test]
async fn explicit_tls_protects_the_login_and_data_that_resume_the_session() {
    let pki = Pki::new();
    let mut script = ftps::script(&pki.leaf(&["127.0.0.1"], -1, 365));
    ftps::tls(&mut script).require_reuse = true;
    let server = start(script).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der()).expect("trust anchor");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());

    let mut plain = BufReader::new(connect_data(LOOPBACK, server.addr().port()).await);
    assert!(ask(&mut plain, "").await.starts_with("220 "));
    assert!(ask(&mut plain, "FEAT").await.starts_with("211-"));
    for feature in [" AUTH TLS", " PBSZ", " PROT", " EPSV", " PASV", "211 End"] {
        assert_eq!(ask(&mut plain, "").await, feature);
    }
    assert_eq!(
        ask(&mut plain, "AUTH TLS").await,
        "234 Proceed with negotiation."
    );
    assert!(plain.buffer().is_empty());
    let tls = connector
        .connect(name.clone(), plain.into_inner())
        .await
        .expect("control handshake");
    let mut c = BufReader::new(tls);
    assert_eq!(
        ask(&mut c, "USER alice").await,
        "331 Please specify the password."
    );
    assert_eq!(ask(&mut c, "PASS secret").await, "230 Login successful.");
    assert_eq!(ask(&mut c, "PBSZ 0").await, "200 PBSZ=0");
    assert_eq!(ask(&mut c, "PROT P").await, "200 PROT now set.");
    let port = parse_229(&Reply {
        code: 229,
        lines: vec![ask(&mut c, "EPSV").await],
    });
    let data = connect_data(LOOPBACK, port).await;
    assert_eq!(
        ask(&mut c, "LIST").await,
        "150 Here comes the directory listing."
    );
    let mut data = connector.connect(name, data).await.expect("data handshake");
    let mut got = Vec::new();
    timeout(WAIT, data.read_to_end(&mut got))
        .await
        .expect("data in time")
        .expect("read the listing");
    assert_eq!(got, ftps::LISTING);
    assert_eq!(
        data.get_ref().1.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
    assert_eq!(ask(&mut c, "").await, "226 Directory send OK.");

    let log: Vec<(String, bool)> = server
        .commands()
        .into_iter()
        .map(|r| (r.line, r.tls))
        .collect();
    let want = [
        ("FEAT", false),
        ("AUTH TLS", false),
        ("USER alice", true),
        ("PASS ********", true),
        ("PBSZ 0", true),
        ("PROT P", true),
        ("EPSV", true),
        ("LIST", true),
    ]
    .map(|(line, tls)| (line.to_string(), tls));
    assert_eq!(log, want);
}

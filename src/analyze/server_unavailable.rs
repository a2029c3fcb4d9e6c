//! SERVER_UNAVAILABLE: the server refused service at the greeting (421 or another code
//! instead of 220), never greeted, answered with another protocol (an SSH banner), or
//! closed the connection; SESSION_INTERRUPTED: the session stopped after the greeting
//! (closed, timed out, unreadable reply, deadline). The remedy follows from how and where
//! it stopped, and names the command the server was answering.

use crate::finding::{Code, Finding, Severity};
use crate::transcript::{Direction, Phase, ServerSession, SessionEnd, Transcript};

/// How a session stopped, as the remedy needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Refused,
    Closed,
    Silent,
    Unreadable,
    Deadline,
}

pub fn check(t: &Transcript, out: &mut Vec<Finding>) {
    for s in &t.servers {
        let greeting: Vec<String> = s.greeting.iter().map(|r| r.text.clone()).collect();
        // After a 220, a failure in the greeting phase (FEAT, SYST) interrupts the session.
        let greeted = s.greeting.last().is_some_and(|r| r.code == 220);
        let banner = foreign_banner(s);
        let (phase, stop, what) = match &s.end {
            SessionEnd::Unavailable => (Phase::Greeting, Stop::Refused, "refused service"),
            SessionEnd::Closed(Phase::Greeting) if !greeted => (
                Phase::Greeting,
                Stop::Closed,
                "closed the connection without a greeting",
            ),
            SessionEnd::TimedOut(Phase::Greeting) if !greeted => (
                Phase::Greeting,
                Stop::Silent,
                "sent no greeting within the timeout",
            ),
            SessionEnd::ProtocolError(Phase::Greeting) if !greeted && banner.is_some() => (
                Phase::Greeting,
                Stop::Unreadable,
                "answered with an SSH banner: it is an SSH/SFTP server, not FTP",
            ),
            SessionEnd::ProtocolError(Phase::Greeting) if !greeted => (
                Phase::Greeting,
                Stop::Unreadable,
                "sent an unreadable greeting",
            ),
            SessionEnd::Closed(p) => (*p, Stop::Closed, "closed the control connection"),
            SessionEnd::TimedOut(p) => (*p, Stop::Silent, "stopped answering"),
            SessionEnd::ProtocolError(p) => {
                (*p, Stop::Unreadable, "sent bytes that are not an FTP reply")
            }
            SessionEnd::Deadline(p) => (
                *p,
                Stop::Deadline,
                "was still being checked when the deadline ran out",
            ),
            _ => continue,
        };
        let last_lines: Vec<String> = s
            .lines
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|l| format!("{}: {}", l.dir.as_str(), l.text))
            .collect();
        let mut evidence = greeting;
        evidence.extend(last_lines);
        let answering = unanswered(s);
        if let Some(cmd) = &answering {
            evidence.push(format!("the server was answering {cmd} when it stopped"));
        }
        evidence.dedup();
        let at_greeting = phase == Phase::Greeting && !greeted;
        let when = if phase == Phase::Greeting && greeted {
            "after its greeting".to_string()
        } else {
            format!("{} phase", phase_word(phase))
        };
        let remedy = if at_greeting {
            greeting_remedy(s, stop, banner.is_some())
        } else {
            session_remedy(s, phase, stop, answering.as_deref())
        };
        out.push(Finding {
            code: if at_greeting {
                Code::ServerUnavailable
            } else {
                Code::SessionInterrupted
            },
            breaks: Vec::new(),
            severity: Severity::Critical,
            phase,
            server: Some(s.server),
            title: format!("the server {what} ({when})"),
            evidence,
            impact: if at_greeting {
                "No client can log in.".to_string()
            } else {
                "Clients see the same failure at this step; later checks did not run.".to_string()
            },
            remedy,
            fix: Vec::new(),
        });
    }
}

pub(super) fn phase_word(p: Phase) -> &'static str {
    match p {
        Phase::Dns => "DNS",
        Phase::Connect => "connect",
        Phase::Greeting => "greeting",
        Phase::Login => "login",
        Phase::Pasv => "PASV",
        Phase::Epsv => "EPSV",
        Phase::Data => "data",
    }
}

/// The SSH banner the server sent instead of a greeting.
fn foreign_banner(s: &ServerSession) -> Option<&str> {
    s.lines
        .iter()
        .find(|l| l.dir == Direction::Received)
        .map(|l| l.text.as_str())
        .filter(|t| t.starts_with("SSH-"))
}

/// The first command no reply answered: the one the server was working on when it
/// stopped. Commands may go out in bursts, so sent commands
/// are matched with final replies in order (RFC 959 servers answer in order); a 1xx reply
/// is preliminary and answers nothing yet.
fn unanswered(s: &ServerSession) -> Option<String> {
    let mut waiting = std::collections::VecDeque::new();
    // The received lines read back as replies, as the probe read them: a line inside a
    // multi-line reply that looks like a code ends nothing.
    let mut reader = crate::proto::ReplyReader::default();
    for l in &s.lines {
        match l.dir {
            Direction::Sent => waiting.push_back(&l.text),
            Direction::Received => {
                reader.feed(l.text.as_bytes());
                reader.feed(b"\r\n");
                loop {
                    match reader.next_reply() {
                        Ok(Some(reply)) if reply.class() != 1 => {
                            waiting.pop_front();
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        // A line that is no reply (an SSH banner) answers nothing.
                        Err(_) => {
                            reader = crate::proto::ReplyReader::default();
                            break;
                        }
                    }
                }
            }
        }
    }
    waiting.front().map(|text| {
        let verb = text.split_whitespace().next().unwrap_or("").to_string();
        // Never repeat a secret: PASS is named, not quoted.
        if verb.eq_ignore_ascii_case("PASS") {
            "PASS".to_string()
        } else {
            (*text).clone()
        }
    })
}

fn greeting_remedy(s: &ServerSession, stop: Stop, ssh: bool) -> String {
    let port = match s.server.port() {
        0 => "this port".to_string(),
        p => format!("port {p}"),
    };
    match stop {
        _ if ssh => format!(
            "{} belongs to an SSH server: use an SFTP client (SFTP is file transfer \
             over SSH, not FTP), or point the FTP client at the FTP server's port (21, or 990 \
             for implicit FTPS).",
            capitalize(&port)
        ),
        Stop::Refused => {
            let code = s.greeting.last().map_or(0, |r| r.code);
            if code == 421 {
                "A 421 greeting means too many connections, a per-address limit, or a server \
                 in maintenance: check the server's connection limits (vsftpd \
                 max_clients/max_per_ip, ProFTPD MaxInstances/MaxClientsPerHost, Pure-FTPd \
                 -c/-C) and its log."
                    .to_string()
            } else {
                format!(
                    "The server refused service with {code} instead of 220: its reply says \
                     why; an address ban (fail2ban, TCP wrappers, the server's deny list) is \
                     common. Check the server's log for this client's address."
                )
            }
        }
        Stop::Closed => format!(
            "Something accepted the connection on {port} and closed it without a word: \
             TCP wrappers or a deny list (hosts.deny, vsftpd tcp_wrappers), fail2ban, a \
             per-address limit, or a server that crashes on connect. If the server expects \
             implicit FTPS (port 990), connect with TLS first."
        ),
        Stop::Silent => format!(
            "A connection to {port} opened but no greeting came: the server may be stuck \
             looking up the client's name (vsftpd reverse_lookup_enable=NO, ProFTPD \
             UseReverseDNS off and IdentLookups off), the port may expect TLS first (implicit \
             FTPS: --tls implicit), or another service listens there."
        ),
        Stop::Unreadable => format!(
            "What answered on {port} is not an FTP server (an HTTP or TLS service, or \
             another protocol): check the port; for implicit FTPS use --tls implicit."
        ),
        Stop::Deadline => {
            "Raise --deadline: the check ran out of time at the greeting.".to_string()
        }
    }
}

fn session_remedy(s: &ServerSession, phase: Phase, stop: Stop, cmd: Option<&str>) -> String {
    let oops = s.lines.iter().any(|l| l.text.contains("500 OOPS"));
    let at = cmd.map_or_else(String::new, |c| format!(" at {c}"));
    match stop {
        _ if oops => "vsftpd reported an internal error (500 OOPS) and ended the session: its \
                      text names the cause (often a chroot, seccomp or certificate problem); \
                      fix that in vsftpd.conf and check the system log."
            .to_string(),
        Stop::Closed if matches!(phase, Phase::Pasv | Phase::Epsv) => format!(
            "The connection was closed{at}, in the passive step: an IDS or firewall on the \
             control path that cuts FTP sessions on PASV/EPSV (an FTP ALG or inspection rule), \
             or a server that crashes opening the passive port. Check the firewall's log and \
             the server's log for this time."
        ),
        Stop::Closed => format!(
            "The server closed the connection{at}: its log says why (a limit, an access rule, \
             a crash); a firewall that resets idle or inspected connections gives the same."
        ),
        Stop::Silent => format!(
            "The server stopped answering{at}: a firewall or NAT that drops the control \
             connection mid-session (an idle-state timeout, an FTP ALG), or a hung server. \
             Raise --timeout only if the server is known to be slow."
        ),
        Stop::Unreadable => format!(
            "The server sent something that is not an FTP reply{at} (an endless line, or \
             binary bytes): a broken server, or a middlebox rewriting the control connection. \
             Check with a plain client from another network."
        ),
        Stop::Deadline => "Raise --deadline: the check ran out of time before this step ended; \
                           the server answered, only slowly."
            .to_string(),
        Stop::Refused => "Check the server's log for this session.".to_string(),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Line;

    #[test]
    fn replies_are_read_back_as_the_probe_read_them() {
        let addr = "192.0.2.1:21".parse().unwrap();
        let mut s = ServerSession::connected(addr);
        let line = |dir, text: &str| Line {
            at_us: 0,
            dir,
            text: text.to_string(),
            raw_hex: None,
        };
        s.lines = vec![
            line(Direction::Sent, "FEAT"),
            line(Direction::Sent, "PASV"),
            line(Direction::Received, "211-Features:"),
            line(Direction::Received, " EPSV"),
            line(Direction::Received, "211 End"),
            // Preliminary: answers nothing yet.
            line(Direction::Received, "150 Wait."),
        ];
        assert_eq!(unanswered(&s).as_deref(), Some("PASV"));
        s.lines.push(line(
            Direction::Received,
            "227 Entering Passive Mode (1,2,3,4,5,6).",
        ));
        assert_eq!(unanswered(&s), None);
    }
}

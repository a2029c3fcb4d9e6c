//! One control session of the fake server: TLS from the first byte if the script says so,
//! the greeting acts, then the command loop: each command line is logged and answered by the
//! script's override or by the built-in answer of a healthy server (login, FEAT, SYST, TYPE,
//! PWD, CWD, AUTH/PBSZ/PROT, PASV/EPSV in `passive.rs`, transfers in `data.rs`). An idle
//! connection gets `421 Timeout.` and is closed.

use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use super::Shared;
use super::conn::{Conn, Read};
use super::passive::Passive;
use super::reader::{Line, parse_command};
use super::script::{Act, Fill, Login};

/// Whether a session goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    End,
}

pub(super) struct Session<'a> {
    pub shared: &'a Shared,
    pub conn: Conn,
    /// Local address of the control connection (v4-mapped addresses as IPv4).
    pub local: SocketAddr,
    /// User name given by USER, waiting for PASS.
    user: Option<String>,
    logged_in: bool,
    pub epsv_all: bool,
    /// `PROT P` is in force.
    pub prot_private: bool,
    /// The data side opened by the last PASV/EPSV (or [`Act::Listen`]).
    pub passive: Passive,
    /// Filtered ports of earlier PASV/EPSV commands, kept dropped until the session ends.
    pub dropped: Vec<Passive>,
    /// PASV/EPSV data ports opened so far (`Script::data` cycles on it).
    pub opened: usize,
    /// What the placeholders of the script's replies stand for.
    pub fill: Fill,
}

pub(super) async fn run(stream: TcpStream, shared: &Shared) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let timeouts = shared.timeouts;
    let mut s = Session {
        shared,
        conn: Conn::new(stream, timeouts.write),
        local: canonical(local),
        user: None,
        logged_in: false,
        epsv_all: false,
        prot_private: false,
        passive: Passive::None,
        dropped: Vec::new(),
        opened: 0,
        fill: Fill::default(),
    };
    if let Some(tls) = shared.script.tls.as_ref().filter(|t| t.implicit) {
        let config = tls.config.clone();
        if s.conn.start_tls(config, timeouts.handshake).await.is_err() {
            return;
        }
    }
    if s.play(&shared.script.greeting).await == Flow::End {
        return;
    }
    loop {
        let flow = match timeout(timeouts.idle, s.conn.read_line()).await {
            Err(_) => {
                let _ = s.conn.write(b"421 Timeout.\r\n").await;
                return;
            }
            Ok(Read::Eof) => return,
            Ok(Read::Line(Line::TooLong)) => s.reply("500 Command line too long.").await,
            Ok(Read::Line(Line::Command(line))) => {
                shared.log(&line, s.conn.is_tls());
                let (verb, arg) = parse_command(&line);
                s.command(&verb, &arg).await
            }
        };
        if flow == Flow::End {
            return;
        }
    }
}

impl Session<'_> {
    /// Sends one line with CRLF.
    pub async fn reply(&mut self, line: &str) -> Flow {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.send(&bytes).await
    }

    async fn send(&mut self, bytes: &[u8]) -> Flow {
        match self.conn.write(bytes).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::End,
        }
    }

    /// Plays the acts in order, until one ends the session.
    pub async fn play(&mut self, acts: &[Act]) -> Flow {
        for act in acts {
            if self.act(act).await == Flow::End {
                return Flow::End;
            }
        }
        Flow::Continue
    }

    async fn act(&mut self, act: &Act) -> Flow {
        let timeouts = self.shared.timeouts;
        match act {
            Act::Send(bytes) => {
                let bytes = self.fill.expand(bytes);
                self.send(&bytes).await
            }
            Act::Trickle {
                bytes,
                chunk,
                every,
            } => {
                let bytes = self.fill.expand(bytes);
                match self.conn.trickle(&bytes, *chunk, *every).await {
                    Ok(()) => Flow::Continue,
                    Err(_) => Flow::End,
                }
            }
            Act::Flood { bytes, cap } => match self.conn.flood(bytes, *cap).await {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::End,
            },
            Act::Wait(pause) => {
                sleep(*pause).await;
                Flow::Continue
            }
            Act::Receive => {
                self.conn.receive(timeouts.peer_wait).await;
                Flow::Continue
            }
            Act::AwaitInput => match self.conn.await_input(timeouts.peer_wait).await {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::End,
            },
            Act::Close => {
                self.conn.close().await;
                Flow::End
            }
            Act::Reset => {
                self.conn.reset();
                Flow::End
            }
            Act::Silent => {
                self.conn.drain(timeouts.idle).await;
                Flow::End
            }
            Act::Listen(port) => match self.open_passive(port.clone()).await {
                Some(_) => Flow::Continue,
                None => Flow::End,
            },
            Act::Transfer => {
                self.take_and_play().await;
                Flow::Continue
            }
            Act::StartTls => {
                let Some(tls) = &self.shared.script.tls else {
                    return Flow::End;
                };
                match self
                    .conn
                    .start_tls(tls.config.clone(), timeouts.handshake)
                    .await
                {
                    Ok(()) => Flow::Continue,
                    Err(_) => Flow::End,
                }
            }
        }
    }

    async fn command(&mut self, verb: &str, arg: &str) -> Flow {
        self.fill.arg = arg.to_string();
        if verb == "PASS" {
            self.fill.pass = arg.to_string();
        }
        let shared = self.shared;
        let script = &shared.script;
        if let Some(acts) = script.override_for(verb, arg) {
            return self.play(acts).await;
        }
        let tls = script.tls.is_some();
        let before_login = matches!(verb, "USER" | "PASS" | "QUIT" | "FEAT" | "SYST" | "NOOP")
            || (tls && matches!(verb, "AUTH" | "PBSZ" | "PROT"));
        let needs_login = matches!(script.login, Login::Accounts { .. });
        if needs_login && !self.logged_in && !before_login {
            return self.reply("530 Please login with USER and PASS.").await;
        }
        match verb {
            "USER" => self.user(arg).await,
            "PASS" => self.pass(arg).await,
            "ACCT" => {
                self.reply("202 Command not implemented, superfluous at this site.")
                    .await
            }
            "FEAT" => {
                let mut lines = Vec::with_capacity(script.features.len() + 2);
                lines.push("211-Features:".to_string());
                lines.extend(script.features.iter().map(|f| format!(" {f}")));
                lines.push("211 End".to_string());
                self.play(&[Act::lines(&lines)]).await
            }
            "SYST" => self.reply(&format!("215 {}", script.syst)).await,
            "TYPE" if arg.trim_start().starts_with(['A', 'a']) => {
                self.reply("200 Switching to ASCII mode.").await
            }
            "TYPE" => self.reply("200 Switching to Binary mode.").await,
            "PWD" | "XPWD" => self.reply("257 \"/\" is the current directory").await,
            "CWD" | "XCWD" => self.reply("250 Directory successfully changed.").await,
            "NOOP" => self.reply("200 NOOP ok.").await,
            "OPTS" => self.reply("200 Always in UTF8 mode.").await,
            "QUIT" => {
                let _ = self.reply("221 Goodbye.").await;
                self.conn.close().await;
                Flow::End
            }
            "AUTH" if tls && !self.conn.is_tls() => {
                let handshake = [Act::line("234 Proceed with negotiation."), Act::StartTls];
                self.play(&handshake).await
            }
            "AUTH" if tls => self.reply("502 AUTH not available.").await,
            "PBSZ" if tls => self.reply("200 PBSZ=0").await,
            "PROT" if tls => {
                self.prot_private = arg.trim().eq_ignore_ascii_case("P");
                self.reply("200 PROT now set.").await
            }
            "PASV" => self.pasv().await,
            "EPSV" => self.epsv(arg).await,
            "LIST" | "NLST" | "MLSD" | "RETR" => self.transfer(verb, arg).await,
            _ => self.reply("502 Command not implemented.").await,
        }
    }

    async fn user(&mut self, name: &str) -> Flow {
        self.logged_in = false;
        let no_password = match &self.shared.script.login {
            Login::Open => false,
            Login::Accounts { users, .. } => users
                .iter()
                .any(|(user, password)| user == name && password.is_none()),
        };
        if no_password {
            self.user = None;
            self.logged_in = true;
            self.reply("230 Login successful.").await
        } else {
            // Everyone gets 331, known or not: a wrong name shows only after PASS.
            self.user = Some(name.to_string());
            self.reply("331 Please specify the password.").await
        }
    }

    async fn pass(&mut self, password: &str) -> Flow {
        let (users, anonymous) = match &self.shared.script.login {
            Login::Open => {
                self.logged_in = true;
                return self.reply("230 Login successful.").await;
            }
            Login::Accounts { users, anonymous } => (users, *anonymous),
        };
        if self.logged_in {
            return self.reply("230 Already logged in.").await;
        }
        let Some(user) = self.user.take() else {
            return self.reply("503 Login with USER first.").await;
        };
        let anonymous = anonymous
            && (user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp"));
        let known = users
            .iter()
            .any(|(name, expected)| *name == user && expected.as_deref() == Some(password));
        if anonymous || known {
            self.logged_in = true;
            self.reply("230 Login successful.").await
        } else {
            self.reply("530 Login incorrect.").await
        }
    }
}

/// The v4 form of a v4-mapped v6 address, so a dual-stack socket is treated as IPv4.
pub(super) fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_are_treated_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:21".parse().expect("address");
        assert_eq!(canonical(mapped), "127.0.0.1:21".parse().expect("address"));
        let v6: SocketAddr = "[::1]:21".parse().expect("address");
        assert_eq!(canonical(v6), v6);
    }
}

//! The data side of the fake server: a transfer takes the first live connection of the data
//! port the last PASV/EPSV opened and plays its [`DataPlay`] on it (TLS as PROT or the play
//! says, then the play's acts), and the built-in transfer commands (LIST, NLST, MLSD, RETR)
//! wrap that in their 150 and 226 or the failure's 425, 426 or 522.

use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout_at};

use super::conn::Conn;
use super::passive::Passive;
use super::script::{DataAct, DataPlay, DataTls};
use super::session::{Flow, Session};

/// What became of a transfer's data connection.
pub(super) enum Taken {
    /// No PASV/EPSV came before.
    NoPort,
    /// The port refuses or drops connects; a server would give up after this long.
    Unreachable(Duration),
    /// No live connection came in time.
    NoConnection,
    /// The play ran: its own final reply, or the reply its failure calls for.
    Played {
        reply: Option<String>,
        failure: Option<&'static str>,
    },
}

const NO_CONNECTION: &str = "425 Failed to establish connection.";

impl Session<'_> {
    /// LIST, NLST, MLSD, RETR: the data connection of the last PASV/EPSV, with a 150 first
    /// (when the play announces it) and the final reply after.
    pub(super) async fn transfer(&mut self, verb: &str, arg: &str) -> Flow {
        let listing = self.shared.script.listing.len();
        let (opening, done) = if verb == "RETR" {
            (
                format!(
                    "150 Opening BINARY mode data connection for {} ({listing} bytes).",
                    arg.trim()
                ),
                "226 Transfer complete.",
            )
        } else {
            (
                "150 Here comes the directory listing.".to_string(),
                "226 Directory send OK.",
            )
        };
        if matches!(&self.passive, Passive::Accept { play, .. } if play.announce)
            && self.reply(&opening).await == Flow::End
        {
            return Flow::End;
        }
        match self.take_and_play().await {
            Taken::NoPort => self.reply("425 Use PORT or PASV first.").await,
            Taken::Unreachable(wait) => {
                sleep(wait).await;
                self.reply(NO_CONNECTION).await
            }
            Taken::NoConnection => self.reply(NO_CONNECTION).await,
            Taken::Played {
                failure: Some(failure),
                ..
            } => self.reply(failure).await,
            Taken::Played {
                reply: Some(reply), ..
            } => self.reply(&reply).await,
            Taken::Played { reply: None, .. } => self.reply(done).await,
        }
    }

    /// Takes the data connection of the last PASV/EPSV and plays the port's part on it.
    pub(super) async fn take_and_play(&mut self) -> Taken {
        let timeouts = self.shared.timeouts;
        match std::mem::replace(&mut self.passive, Passive::None) {
            Passive::None => Taken::NoPort,
            Passive::Refuse => {
                // Nothing can connect; keep the state, as a retry fails the same way.
                self.passive = Passive::Refuse;
                Taken::Unreachable(timeouts.refuse_wait)
            }
            filter @ Passive::Filter { .. } => {
                // The sockets stay until the next PASV/EPSV or the end of the session.
                self.passive = filter;
                Taken::Unreachable(timeouts.filter_wait)
            }
            Passive::Accept { listener, play } => {
                let Some(tcp) = accept_live(&listener, timeouts.data_accept).await else {
                    return Taken::NoConnection;
                };
                drop(listener);
                let failure = self.play_data(tcp, &play).await.err();
                Taken::Played {
                    reply: play.reply,
                    failure,
                }
            }
        }
    }

    /// Plays `play` on an accepted data connection; `Err` is the reply its failure calls for.
    async fn play_data(&self, tcp: TcpStream, play: &DataPlay) -> Result<(), &'static str> {
        let script = &self.shared.script;
        let timeouts = self.shared.timeouts;
        let mut conn = Conn::new(tcp, timeouts.write);
        let tls = match play.tls {
            DataTls::Prot => self.prot_private && self.conn.is_tls(),
            DataTls::Always => true,
            DataTls::Never => false,
        };
        if let (true, Some(settings)) = (tls, &script.tls) {
            let config = settings.data_config.as_ref().unwrap_or(&settings.config);
            if conn
                .start_tls(config.clone(), timeouts.handshake)
                .await
                .is_err()
            {
                return Err("522 SSL connection failed.");
            }
            if settings.require_reuse && !conn.resumed() {
                // vsftpd's answer with require_ssl_reuse=YES.
                return Err("522 SSL connection failed: session reuse required");
            }
        }
        let written = |r: io::Result<()>| r.map_err(|_| "426 Failure writing network stream.");
        for act in &play.acts {
            match act {
                DataAct::Listing => written(conn.write(&script.listing).await)?,
                DataAct::Send(bytes) => written(conn.write(bytes).await)?,
                DataAct::Trickle {
                    bytes,
                    chunk,
                    every,
                } => written(conn.trickle(bytes, *chunk, *every).await)?,
                DataAct::Flood { bytes, cap } => written(conn.flood(bytes, *cap).await)?,
                DataAct::Wait(pause) => sleep(*pause).await,
                DataAct::Silent => conn.drain(timeouts.idle).await,
                DataAct::Close => conn.close().await,
                DataAct::CloseWithoutNotify => conn.close_without_notify().await,
                DataAct::Reset => conn.reset(),
            }
        }
        Ok(())
    }
}

/// Accepts the first data connection that is still open, waiting at most `wait`.
async fn accept_live(listener: &TcpListener, wait: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + wait;
    loop {
        match timeout_at(deadline, listener.accept()).await {
            Err(_) => return None,
            Ok(Ok((stream, _peer))) => {
                if let Some(stream) = still_open(stream) {
                    return Some(stream);
                }
            }
            Ok(Err(_)) => {
                if timeout_at(deadline, sleep(Duration::from_millis(10)))
                    .await
                    .is_err()
                {
                    return None;
                }
            }
        }
    }
}

/// Takes `stream` back unless the client already closed or reset it (a client that only
/// tested whether the port answers).
fn still_open(stream: TcpStream) -> Option<TcpStream> {
    let stream = stream.into_std().ok()?;
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte) {
        Ok(0) => return None,
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(_) => return None,
    }
    TcpStream::from_std(stream).ok()
}

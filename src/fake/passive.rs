//! The passive side of the fake server: PASV and EPSV, and opening the data port each
//! advertises as its [`DataPort`] says: a listener that accepts, a closed port that refuses,
//! or a listener with a full accept queue that drops SYNs, on the control connection's local
//! address, on the script's port range or a kernel-chosen port.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::timeout;

use super::script::{Advertise, DataPlay, DataPort};
use super::session::{Flow, Session};

/// Ports tried from `port_range` for one PASV/EPSV before giving up.
const MAX_PORT_TRIES: usize = 256;
/// Connections the server opens to its own `Filter` listener, at most.
const MAX_FILLERS: usize = 4;
/// Backlog of a data listener that accepts.
const DATA_BACKLOG: u32 = 8;

/// The data side opened by the last PASV/EPSV.
pub(super) enum Passive {
    None,
    /// Listening; a transfer plays `play` on the first live connection.
    Accept {
        listener: TcpListener,
        play: DataPlay,
    },
    /// The advertised port had a listener that was closed before the reply.
    Refuse,
    /// A listener with a full accept queue, and the connections that fill it.
    Filter {
        _listener: TcpListener,
        _fillers: Vec<TcpStream>,
    },
}

impl Session<'_> {
    pub(super) async fn pasv(&mut self) -> Flow {
        if self.epsv_all {
            return self.reply("550 PASV not allowed after EPSV ALL.").await;
        }
        let advertised: Ipv4Addr = match (&self.shared.script.advertise, self.local.ip()) {
            (Advertise::Fixed(IpAddr::V4(fixed)), _) => *fixed,
            (Advertise::Fixed(IpAddr::V6(_)), _) => {
                return self
                    .reply("425 Cannot advertise an IPv6 address in PASV.")
                    .await;
            }
            (Advertise::RewrittenInPlainText(rewritten), _) if !self.conn.is_tls() => *rewritten,
            (Advertise::Local | Advertise::RewrittenInPlainText(_), IpAddr::V4(local)) => local,
            (Advertise::Local | Advertise::RewrittenInPlainText(_), IpAddr::V6(_)) => {
                return self
                    .reply("500 PASV not supported over IPv6, use EPSV.")
                    .await;
            }
        };
        let Some(port) = self.next_passive().await else {
            return self.reply("425 Cannot open a passive port.").await;
        };
        let [h1, h2, h3, h4] = advertised.octets();
        let [p1, p2] = port.to_be_bytes();
        self.reply(&format!(
            "227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})."
        ))
        .await
    }

    pub(super) async fn epsv(&mut self, arg: &str) -> Flow {
        let arg = arg.trim();
        let own_protocol = if self.local.is_ipv4() { "1" } else { "2" };
        if arg.eq_ignore_ascii_case("ALL") {
            self.epsv_all = true;
            return self.reply("200 EPSV ALL ok.").await;
        }
        if !arg.is_empty() && arg != own_protocol {
            if arg == "1" || arg == "2" {
                return self
                    .reply(&format!(
                        "522 Network protocol not supported, use ({own_protocol})"
                    ))
                    .await;
            }
            return self.reply("501 Bad EPSV argument.").await;
        }
        let Some(port) = self.next_passive().await else {
            return self.reply("425 Cannot open a passive port.").await;
        };
        self.reply(&format!("229 Entering Extended Passive Mode (|||{port}|)"))
            .await
    }

    /// Opens the data port the script names for the next PASV/EPSV.
    async fn next_passive(&mut self) -> Option<u16> {
        let data = self.shared.script.data_port(self.opened);
        self.opened += 1;
        self.open_passive(data).await
    }

    /// Closes the previous data side and opens `data`; returns its port.
    pub(super) async fn open_passive(&mut self, data: DataPort) -> Option<u16> {
        // Close the previous listener first, as vsftpd does (its port now answers RST, and a
        // one-port range can be reused); a filtered port stays filtered, as behind a firewall.
        if let filter @ Passive::Filter { .. } = std::mem::replace(&mut self.passive, Passive::None)
        {
            self.dropped.push(filter);
        }
        let backlog = if data == DataPort::Filter {
            0
        } else {
            DATA_BACKLOG
        };
        let listener = self.bind_data(backlog)?;
        let port = listener.local_addr().ok()?.port();
        self.passive = match data {
            DataPort::Accept(play) => Passive::Accept { listener, play },
            DataPort::Refuse => {
                drop(listener);
                Passive::Refuse
            }
            DataPort::Filter => {
                let wait = self.shared.timeouts.filler_connect;
                let fillers = fill_accept_queue(&listener, wait).await;
                Passive::Filter {
                    _listener: listener,
                    _fillers: fillers,
                }
            }
        };
        self.fill.port = port;
        Some(port)
    }

    /// Binds a data listener on the control connection's local address, on the next free
    /// port of `port_range` or on a kernel-chosen port.
    fn bind_data(&self, backlog: u32) -> Option<TcpListener> {
        let at = |port: u16| {
            let mut addr = self.local;
            addr.set_port(port);
            addr
        };
        let Some(range) = &self.shared.script.port_range else {
            return listen_on(at(0), backlog).ok();
        };
        let (start, end) = (usize::from(*range.start()), usize::from(*range.end()));
        if start > end {
            return None;
        }
        let len = end - start + 1;
        for _ in 0..len.min(MAX_PORT_TRIES) {
            let offset = self.shared.next_port.fetch_add(1, Ordering::SeqCst) % len;
            let Ok(port) = u16::try_from(start + offset) else {
                continue;
            };
            if let Ok(listener) = listen_on(at(port), backlog) {
                return Some(listener);
            }
        }
        None
    }
}

/// A listener on `addr` with `backlog`, `SO_REUSEADDR` set so a port of `port_range` can be
/// reused while old data connections are in TIME_WAIT.
fn listen_on(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Opens connections to `listener` (never accepted) until a connect times out, i.e. until
/// its accept queue is full and the kernel drops further SYNs. These are the only
/// connections the server ever opens, and only to itself.
async fn fill_accept_queue(listener: &TcpListener, wait: Duration) -> Vec<TcpStream> {
    let mut fillers = Vec::new();
    let Ok(addr) = listener.local_addr() else {
        return fillers;
    };
    while fillers.len() < MAX_FILLERS {
        match timeout(wait, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => fillers.push(stream),
            Ok(Err(_)) | Err(_) => break,
        }
    }
    fillers
}

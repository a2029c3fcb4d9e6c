//! The network seam: every connection a session opens, control or data, goes through a
//! [`Connector`], and so will the listener of the coming active-mode test. The probe uses
//! [`Tcp`]; unit tests hand a session a scripted connector whose streams are
//! `tokio::io::duplex` pipes, so every step can be tested without sockets (as trippy's
//! `Network` and hickory's `RuntimeProvider` do). Bounding waits stays with the caller:
//! a connector only connects, accepts or fails.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// A byte stream a session runs over: TCP, TLS over TCP, or a test's pipe.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Io for T {}

/// A future a connector returns; boxed so the trait can be used as `dyn Connector`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An open connection and the local address it was opened from (when there is one: a
/// test's pipe has none).
pub struct Connection {
    pub stream: Box<dyn Io>,
    pub local: Option<SocketAddr>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// A listening socket, for connections the server opens to us (active mode).
pub trait Listener: Send {
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// The next connection and where it came from.
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Connection, SocketAddr)>>;
}

/// Opens connections and listeners. Errors keep their `io::ErrorKind`, which tells a
/// refusal from an unreachable network (`data::classify`).
pub trait Connector: Send + Sync {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Connection>>;
    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>>;
}

/// The shared handle sessions carry.
pub type Net = Arc<dyn Connector>;

/// Real TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tcp;

impl Tcp {
    pub fn shared() -> Net {
        Arc::new(Tcp)
    }
}

impl Connector for Tcp {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Connection>> {
        Box::pin(async move {
            let stream = TcpStream::connect(addr).await?;
            // Commands are pipelined in small writes: Nagle would hold each one until the
            // last is acknowledged, a round trip apiece (curl sets it too).
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok();
            Ok(Connection {
                stream: Box::new(stream),
                local,
            })
        })
    }

    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let listener = TcpListener::bind(addr).await?;
            Ok(Box::new(TcpAccept(listener)) as Box<dyn Listener>)
        })
    }
}

struct TcpAccept(TcpListener);

impl Listener for TcpAccept {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Connection, SocketAddr)>> {
        Box::pin(async move {
            let (stream, from) = self.0.accept().await?;
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok();
            Ok((
                Connection {
                    stream: Box::new(stream),
                    local,
                },
                from,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn tcp_listens_and_connects_on_loopback() {
        let net = Tcp::shared();
        let mut listener = net.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (dialled, accepted) = tokio::join!(net.connect(addr), listener.accept());
        let mut dialled = dialled.unwrap();
        let (mut accepted, from) = accepted.unwrap();
        assert_eq!(Some(from), dialled.local);
        dialled.stream.write_all(b"220 hi\r\n").await.unwrap();
        drop(dialled);
        let mut got = Vec::new();
        accepted.stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"220 hi\r\n");
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_with_its_kind() {
        // Bind then drop: the port is known to be closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = Tcp.connect(port).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}

//! One connection of the fake server, control or data, plain or TLS: bounded writes, reads
//! through the [`LineReader`], the byte-level acts every script shares (send, trickle, flood,
//! drain, close, reset) and the upgrade to TLS.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::reader::{Line, LineReader};

/// Bytes read at once.
const READ_CHUNK: usize = 4096;
/// Largest block a flood writes at once.
const FLOOD_BLOCK: usize = 64 * 1024;

/// A TCP connection, in plain text or under TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One connection with its read buffer and its write bound.
pub struct Conn {
    /// `None` once the stream was handed to a TLS handshake that failed.
    stream: Option<Stream>,
    reader: LineReader,
    /// Longest time one write may take.
    write_wait: Duration,
}

/// What reading a command line gave.
pub enum Read {
    Line(Line),
    /// The client closed the connection (or it broke); a line without its end is dropped.
    Eof,
}

fn gone() -> io::Error {
    io::ErrorKind::NotConnected.into()
}

impl Conn {
    pub fn new(tcp: TcpStream, write_wait: Duration) -> Conn {
        let _ = tcp.set_nodelay(true);
        Conn {
            stream: Some(Stream::Plain(tcp)),
            reader: LineReader::default(),
            write_wait,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Some(Stream::Tls(_)))
    }

    /// Whether the TLS session was resumed rather than negotiated afresh.
    pub fn resumed(&self) -> bool {
        match &self.stream {
            Some(Stream::Tls(tls)) => {
                tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
            }
            _ => false,
        }
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match self.stream.as_ref()? {
            Stream::Plain(tcp) => Some(tcp),
            Stream::Tls(tls) => Some(tls.get_ref().0),
        }
    }

    /// Writes `bytes` (and flushes a TLS record), within the write bound.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let wait = self.write_wait;
        let write = async {
            match self.stream.as_mut().ok_or_else(gone)? {
                Stream::Plain(tcp) => tcp.write_all(bytes).await,
                Stream::Tls(tls) => {
                    tls.write_all(bytes).await?;
                    tls.flush().await
                }
            }
        };
        match timeout(wait, write).await {
            Ok(result) => result,
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }

    /// Writes `bytes` `chunk` bytes at a time, one chunk per `every`.
    pub async fn trickle(&mut self, bytes: &[u8], chunk: usize, every: Duration) -> io::Result<()> {
        for piece in bytes.chunks(chunk.max(1)) {
            self.write(piece).await?;
            sleep(every).await;
        }
        Ok(())
    }

    /// Writes `bytes` over and over, `cap` bytes in all.
    pub async fn flood(&mut self, bytes: &[u8], cap: usize) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut block = Vec::with_capacity(FLOOD_BLOCK + bytes.len());
        while block.len() < FLOOD_BLOCK {
            block.extend_from_slice(bytes);
        }
        let mut sent = 0;
        while sent < cap {
            let n = block.len().min(cap - sent);
            self.write(&block[..n]).await?;
            sent += n;
        }
        Ok(())
    }

    /// One read into the line reader; `Ok(0)` at the end of the stream.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut buf = [0u8; READ_CHUNK];
        let n = match self.stream.as_mut().ok_or_else(gone)? {
            Stream::Plain(tcp) => tcp.read(&mut buf).await?,
            Stream::Tls(tls) => tls.read(&mut buf).await?,
        };
        self.reader.push(&buf[..n]);
        Ok(n)
    }

    /// The next command line (unbounded in time: the caller bounds it).
    pub async fn read_line(&mut self) -> Read {
        loop {
            if let Some(line) = self.reader.next() {
                return Read::Line(line);
            }
            match self.fill().await {
                Ok(0) | Err(_) => return Read::Eof,
                Ok(_) => {}
            }
        }
    }

    /// Reads whatever comes next (or is already waiting) and drops it, waiting at most `wait`.
    pub async fn receive(&mut self, wait: Duration) {
        if !self.reader.discard() {
            let _ = timeout(wait, self.fill()).await;
            self.reader.discard();
        }
    }

    /// Waits at most `wait` until the client has sent something, without taking it.
    pub async fn await_input(&mut self, wait: Duration) -> io::Result<()> {
        if self.reader.has_pending() {
            return Ok(());
        }
        let waited = match self.stream.as_mut() {
            Some(Stream::Plain(tcp)) => {
                let mut byte = [0u8; 1];
                timeout(wait, tcp.peek(&mut byte)).await
            }
            // Decrypted bytes cannot be peeked at: they wait in the reader instead.
            _ => timeout(wait, self.fill()).await,
        };
        match waited {
            Ok(Ok(n)) if n > 0 => Ok(()),
            Ok(Ok(_)) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }

    /// Reads and drops until the client goes away, or until a read waits longer than `idle`.
    pub async fn drain(&mut self, idle: Duration) {
        self.reader.discard();
        while let Ok(Ok(n)) = timeout(idle, self.fill()).await {
            self.reader.discard();
            if n == 0 {
                break;
            }
        }
    }

    /// TLS close_notify (under TLS), then FIN; bounded by the write bound.
    pub async fn close(&mut self) {
        let wait = self.write_wait;
        let close = async {
            match self.stream.as_mut() {
                Some(Stream::Plain(tcp)) => tcp.shutdown().await,
                Some(Stream::Tls(tls)) => tls.shutdown().await,
                None => Ok(()),
            }
        };
        let _ = timeout(wait, close).await;
    }

    /// FIN on the TCP connection, with no TLS close_notify before it.
    pub async fn close_without_notify(&mut self) {
        let wait = self.write_wait;
        let close = async {
            match self.stream.as_mut() {
                Some(Stream::Plain(tcp)) => tcp.shutdown().await,
                Some(Stream::Tls(tls)) => tls.get_mut().0.shutdown().await,
                None => Ok(()),
            }
        };
        let _ = timeout(wait, close).await;
    }

    /// RST: the connection is closed with SO_LINGER 0 (here or when dropped).
    pub fn reset(&mut self) {
        if let Some(tcp) = self.tcp() {
            let _ = tcp.set_zero_linger();
        }
        self.stream = None;
    }

    /// The server's side of a TLS handshake on this plain connection, within `wait`.
    pub async fn start_tls(
        &mut self,
        config: Arc<rustls::ServerConfig>,
        wait: Duration,
    ) -> io::Result<()> {
        if !matches!(self.stream, Some(Stream::Plain(_))) {
            return Err(io::Error::other("not a plain connection"));
        }
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            return Err(gone());
        };
        // A client sends nothing after AUTH until the 234: the reader holds nothing the
        // handshake needs.
        self.reader.discard();
        let handshake = TlsAcceptor::from(config).accept(tcp);
        match timeout(wait, handshake).await {
            Ok(Ok(tls)) => {
                self.stream = Some(Stream::Tls(Box::new(tls)));
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }
}

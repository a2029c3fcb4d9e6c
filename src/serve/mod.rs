//! `pasv-doctor serve`: the checks as an HTTP service. A Prometheus multi-target exporter
//! (`/probe`, `/metrics`), a JSON API (`/api/check`, `/api/explain`), a web desk for support
//! staff (`/`) and `/healthz`, over axum on one hyper listener. Each request goes through the
//! same library calls as the command line (`crate::config`, `crate::check`, `crate::explain`,
//! `crate::report`); this room owns only what a service adds: who may ask (`auth.rs`), which
//! servers may be contacted (`guard.rs`, over `crate::config::AllowList`), how many checks
//! run (`gate.rs`), the service's own metrics (`metrics.rs`), the routes (`routes.rs`,
//! `scrape.rs`, `api.rs`, `desk.rs`, `page.rs`), the desk's results between a post and
//! its redirect (`results.rs`), a 413 the client gets to read
//! (`linger.rs`), a deadline for request bodies (`slow_body.rs`) and one check from request to transcript (`job.rs`). See docs/serve.md.
//!
//! A password never travels in a URL (a query naming one gets 400), is never logged or
//! echoed, and lives only for the request, in a `Secret`.

mod api;
mod auth;
mod desk;
mod gate;
pub mod guard;
mod job;
mod linger;
mod log;
mod metrics;
mod page;
mod results;
mod routes;
mod scrape;
mod slow_body;

use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::serve::{DEFAULT_LISTEN, ServeTable};
use crate::config::{AllowList, ConfigFile};
use crate::secret::Secret;

pub use log::Log;

/// The shortest token accepted: a guessable token is no protection.
const MIN_TOKEN: usize = 16;
/// How long a client may take to send its request headers (slowloris), by default.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's whole body, by default. A form or a JSON
/// request is a few KiB and a log at most 2 MiB, which takes 30 s at about 0.6 Mbit/s: a
/// client slower than that is a stalled one, holding a connection and a task.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 1024;
/// After Ctrl-C: how long requests under way may finish before their checks are
/// interrupted, and how long those then have to answer.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const SHUTDOWN_INTERRUPTED: Duration = Duration::from_secs(5);

/// The service's settings, resolved: the `[serve]` table with its defaults, the flags, the
/// tokens read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub allow: AllowList,
    pub max_concurrent: usize,
    pub max_queue: usize,
    pub queue_timeout: Duration,
    /// For `/api/*` and the desk.
    pub auth_token: Option<Secret>,
    /// For `/probe` and `/metrics`; `None`: the `auth_token`.
    pub probe_token: Option<Secret>,
    pub origins: Vec<String>,
    pub rate_limit_per_minute: u32,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's whole body (408 past it).
    pub body_timeout: Duration,
}

impl Settings {
    /// From the `[serve]` table, `--listen` (wins over the table) and
    /// `--allow-unauthenticated`. Refuses a non-loopback address without a token unless
    /// that flag is given; the warnings to log come back beside the settings.
    pub fn new(
        table: &ServeTable,
        listen: Option<SocketAddr>,
        allow_unauthenticated: bool,
    ) -> Result<(Settings, Vec<String>), String> {
        let listen = listen
            .or(table.listen)
            .or_else(|| DEFAULT_LISTEN.parse().ok())
            .ok_or("no address to listen on")?;
        let auth_token = table
            .auth_token_file
            .as_deref()
            .map(read_token)
            .transpose()?;
        let probe_token = table
            .probe_token_file
            .as_deref()
            .map(read_token)
            .transpose()?;
        let mut warnings = Vec::new();
        if auth_token.is_none() && !listen.ip().is_loopback() {
            if !allow_unauthenticated {
                return Err(format!(
                    "refusing to listen on {listen} without authentication: anyone who can \
                     reach it could make this machine connect to servers and read reports. \
                     Set auth_token_file in [serve], listen on loopback, or give \
                     --allow-unauthenticated if something in front of it authenticates"
                ));
            }
            warnings.push(format!(
                "WARNING: listening on {listen} without authentication \
                 (--allow-unauthenticated): every client that reaches it may run checks"
            ));
        }
        let max_concurrent = table.max_concurrent.unwrap_or(64);
        Ok((
            Settings {
                listen,
                allow: table.allow_targets.clone(),
                max_concurrent,
                max_queue: table.max_queue.unwrap_or(max_concurrent),
                queue_timeout: table.queue_timeout.unwrap_or(Duration::from_secs(30)),
                auth_token,
                probe_token,
                origins: table.allowed_origins.clone(),
                rate_limit_per_minute: table.rate_limit_per_minute.unwrap_or(60),
                header_timeout: HEADER_TIMEOUT,
                body_timeout: BODY_TIMEOUT,
            },
            warnings,
        ))
    }
}

/// The first line of a token file; never quoted in a message.
fn read_token(path: &Path) -> Result<Secret, String> {
    let fail = |e: io::Error| format!("cannot read the token file {}: {e}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(fail)?
        .take(4096)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("the token file {} is not UTF-8 text", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim();
    if token.len() < MIN_TOKEN || token.contains(char::is_whitespace) {
        return Err(format!(
            "the token in {} must be one word of at least {MIN_TOKEN} characters \
             (e.g. openssl rand -hex 32)",
            path.display()
        ));
    }
    Ok(Secret::new(token.to_string()))
}

/// Everything a request handler may use.
#[derive(Debug)]
pub(crate) struct App {
    pub file: ConfigFile,
    pub settings: Settings,
    pub gate: gate::Gate,
    pub rate: gate::RateLimit,
    pub metrics: metrics::Metrics,
    pub results: results::Results,
    pub log: Log,
}

/// A bound service, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
}

impl Server {
    /// Binds the listening socket.
    pub async fn bind(file: ConfigFile, settings: Settings, log: Log) -> io::Result<Server> {
        let listener = TcpListener::bind(settings.listen).await?;
        let app = App {
            gate: gate::Gate::new(settings.max_concurrent, settings.max_queue),
            rate: gate::RateLimit::new(settings.rate_limit_per_minute),
            metrics: metrics::Metrics::new(),
            results: results::Results::default(),
            file,
            settings,
            log,
        };
        Ok(Server {
            listener,
            app: Arc::new(app),
        })
    }

    /// The address it listens on (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests under way
    /// finish for a grace period, interrupts the checks still running (their reports say
    /// so) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let router = routes::router(self.app.clone());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.app.settings.header_timeout);
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                () = &mut shutdown => break,
                slot = connections.clone().acquire_owned() => slot,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait, do not spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let service = hyper_util::service::TowerToHyperService::new(
                router.clone().layer(axum::Extension(routes::Peer(peer))),
            );
            let conn = http.serve_connection(TokioIo::new(stream), service);
            let watched = graceful.watch(conn);
            tokio::spawn(async move {
                let _ = watched.await;
                drop(slot);
            });
        }
        drop(self.listener);
        let app = self.app.clone();
        let finished = graceful.shutdown();
        tokio::pin!(finished);
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut finished)
            .await
            .is_err()
        {
            app.log
                .line("shutting down: interrupting the checks still running");
            crate::probe::clock::Interrupt::process().raise();
            let _ = tokio::time::timeout(SHUTDOWN_INTERRUPTED, finished).await;
        }
        Ok(())
    }
}

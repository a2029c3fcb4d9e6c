//! `pasv-doctor serve`: the config file read, the `[serve]` settings resolved with the
//! flags, the service bound and run until Ctrl-C or SIGTERM (`crate::serve`). A second
//! Ctrl-C quits at once. Problems before it listens are a message and exit 3.

use std::io::{self, Write};

use super::ServeArgs;
use crate::config::ConfigFile;
use crate::exit::Status;
use crate::serve::{Log, Server, Settings};

pub fn run(args: &ServeArgs, err: &mut dyn Write) -> io::Result<Status> {
    let fail = |err: &mut dyn Write, e: &dyn std::fmt::Display| {
        writeln!(err, "pasv-doctor: {e}").map(|()| Status::Unknown)
    };
    let file = match args.config.as_deref().map(ConfigFile::load).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return fail(err, &e),
    };
    let (settings, warnings) =
        match Settings::new(&file.serve, args.listen, args.allow_unauthenticated) {
            Ok(s) => s,
            Err(e) => return fail(err, &e),
        };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let rt = super::runtime(workers)?;
    rt.block_on(async {
        let listen = settings.listen;
        let targets = settings.allow.describe();
        let auth = if settings.auth_token.is_some() {
            "token required for /api and the desk"
        } else {
            "no token (loopback)"
        };
        let server = match Server::bind(file, settings, Log::Stderr).await {
            Ok(s) => s,
            Err(e) => return fail(err, &format!("cannot listen on {listen}: {e}")),
        };
        let log = Log::Stderr;
        for w in &warnings {
            log.line(w);
        }
        let addr = server.local_addr()?;
        log.line(&format!(
            "listening on http://{addr} ({auth}; targets: {targets})"
        ));
        server.run(stop()).await?;
        log.line("stopped");
        Ok(Status::Ok)
    })
}

/// Completes on the first Ctrl-C or SIGTERM; a second Ctrl-C quits at once.
async fn stop() {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    Log::Stderr.line("shutting down: no new requests; those under way may finish");
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

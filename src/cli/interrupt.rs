//! Ctrl-C during a check: the first one raises the probe's interrupt, so every wait ends
//! at once and the report of what was seen so far is still written (marked interrupted,
//! exit 3); a second one quits at once (exit 130, as a shell reports SIGINT).

use std::future::Future;
use std::io::Write;

use crate::probe::clock::Interrupt;

/// Runs `work` with Ctrl-C turned into the probe's interrupt.
pub async fn interruptible<F: Future>(work: F) -> F::Output {
    let watcher = tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        let _ = std::io::stderr().write_all(
            b"\npasv-doctor: interrupted: writing the report of what was seen so far \
              (Ctrl-C again to quit at once)\n",
        );
        Interrupt::process().raise();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let out = work.await;
    watcher.abort();
    out
}

/// On a terminal, says what reading stdin waits for: a blank wait looks like a hang.
pub fn paste_hint(err: &mut dyn Write, what: &str) -> std::io::Result<()> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        writeln!(
            err,
            "pasv-doctor: paste {what}, then press Ctrl-D at the start of a line"
        )?;
    }
    Ok(())
}

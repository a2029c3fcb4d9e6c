//! `pasv-doctor batch FILE`: check many targets, a bounded number at a time, streaming one
//! JSON report per line as each finishes (so an interrupted run loses nothing already
//! done), with a summary and an optional progress bar on stderr. One target's failure or
//! hang cannot delay another: each runs in its own task under its own deadline.

use std::io::{self, IsTerminal, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use super::BatchArgs;
use super::BatchFormat;
use super::check::probe_config;
use crate::batch::{self, Entry};
use crate::exit::Status;
use crate::probe;
use crate::report::{Report, json, prometheus};
use crate::secret::Secret;
use crate::transcript::{Settings, TargetInfo, Transcript};

/// Largest batch file read.
const MAX_FILE: u64 = 64 * 1024 * 1024;

fn read_input(file: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        io::stdin()
            .lock()
            .take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file)
            .map_err(|e| format!("cannot open {file}: {e}"))?
            .take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
    };
    read.map_err(|e| format!("cannot read {file}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{file} is larger than {} MiB",
            MAX_FILE / 1024 / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{file} is not UTF-8 text"))
}

/// A transcript for a target whose task died or overran: recorded, not dropped.
fn lost(entry: &Entry, why: &str, settings: Settings) -> Transcript {
    Transcript {
        target: TargetInfo {
            input: entry.input.clone(),
            host: entry.target.host.to_string(),
            port: entry.target.port,
            user: entry.user.clone().unwrap_or_default(),
            path: entry.target.path.clone(),
        },
        settings,
        dns: None,
        servers: Vec::new(),
        deadline_hit: true,
        client_public: None,
        client_public_error: Some(why.to_string()),
        total_us: 0,
        client_log: None,
    }
}

struct Done {
    transcript: Transcript,
}

pub fn run(args: &BatchArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    let receiver = match args.delivery.receiver() {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "pasv-doctor: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    let text = match read_input(&args.file) {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "pasv-doctor: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    let mut entries = Vec::new();
    let mut bad = 0usize;
    for item in batch::parse(&text) {
        match item {
            Ok(entry) => match &entry.password_env {
                Some(var) if std::env::var_os(var).is_none() => {
                    bad += 1;
                    writeln!(
                        err,
                        "pasv-doctor: {}: line {}: password-env={var} is not set; skipped",
                        args.file, entry.line
                    )?;
                }
                _ => entries.push(entry),
            },
            Err(e) => {
                bad += 1;
                writeln!(err, "pasv-doctor: {}: {e}; skipped", args.file)?;
            }
        }
    }
    if let Err(e) = super::check::tls_settings(&args.probe, false) {
        writeln!(err, "pasv-doctor: {e}")?;
        return Ok(Status::Unknown);
    }
    if entries.is_empty() {
        writeln!(err, "pasv-doctor: {}: no target to check", args.file)?;
        return Ok(Status::Unknown);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let total = entries.len();
    let progress = io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new(total as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let mut counts = [0usize; 4];
    let mut worst = if bad > 0 { Status::Unknown } else { Status::Ok };
    let mut kept: Vec<Transcript> = Vec::new();
    let post_failures = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<Done>(64);
        let limit = Arc::new(Semaphore::new(args.concurrency as usize));
        for entry in entries {
            let tx = tx.clone();
            let limit = limit.clone();
            let user = entry
                .user
                .clone()
                .or_else(|| entry.target.user.clone())
                .unwrap_or_else(|| "anonymous".to_string());
            let password = entry
                .password_env
                .as_ref()
                .and_then(|v| std::env::var(v).ok())
                .map(Secret::new);
            let tls = match super::check::tls_settings(&args.probe, entry.target.implicit_tls) {
                Ok(t) => t,
                Err(_) => (crate::transcript::TlsRequest::Off, Default::default()),
            };
            let config = probe_config(
                super::check::TargetSpec {
                    input: entry.input.clone(),
                    target: entry.target.clone(),
                    user,
                    password,
                    expect_range: entry.expect_range,
                    expect_address: entry.expect_address,
                },
                &args.probe,
                tls,
            );
            tokio::spawn(async move {
                let Ok(_permit) = limit.acquire().await else {
                    return;
                };
                // The probe keeps its own deadline; this guard only catches a bug.
                let guard = config.deadline + Duration::from_secs(5);
                let transcript = match tokio::time::timeout(guard, probe::run(&config)).await {
                    Ok(Ok(t)) => t,
                    Ok(Err(e)) => lost(&entry, &e.to_string(), settings_of(&config)),
                    Err(_) => lost(
                        &entry,
                        "the check overran its deadline",
                        settings_of(&config),
                    ),
                };
                let _ = tx.send(Done { transcript }).await;
            });
        }
        drop(tx);
        let client = match &receiver {
            Some(_) => crate::webhook::http_client(crate::webhook::TIMEOUT).ok(),
            None => None,
        };
        let mut posts = tokio::task::JoinSet::new();
        while let Some(done) = rx.recv().await {
            let report = Report::new(&done.transcript);
            let status = report.status();
            worst = worst.max(status);
            counts[status.code() as usize] += 1;
            if args.format == BatchFormat::Jsonl {
                let line = serde_json::to_vec(&json::build(&report)).map_err(io::Error::other)?;
                out.write_all(&line)?;
                out.write_all(b"\n")?;
                // Each line is on its way before the next target finishes.
                out.flush()?;
                if let (Some(to), Some(client)) = (&receiver, &client) {
                    let (to, client) = (to.clone(), client.clone());
                    posts.spawn(async move { crate::webhook::post_json(&client, &to, line).await });
                }
            } else {
                kept.push(done.transcript.clone());
            }
            if let Some(pb) = &progress {
                pb.inc(1);
            }
        }
        let mut failures = Vec::new();
        while let Some(r) = posts.join_next().await {
            if let Ok(Err(e)) = r {
                failures.push(e);
            }
        }
        Ok::<_, io::Error>(failures)
    })?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    if args.format == BatchFormat::Prometheus {
        let reports: Vec<Report<'_>> = kept.iter().map(Report::new).collect();
        prometheus::write_all(out, &reports)?;
        if let Some(to) = &receiver {
            let body: Vec<_> = reports.iter().map(json::build).collect();
            let body = serde_json::to_vec(&body).map_err(io::Error::other)?;
            let posted = rt.block_on(async {
                let client = crate::webhook::http_client(crate::webhook::TIMEOUT)?;
                crate::webhook::post_json(&client, to, body).await
            });
            if let Err(e) = posted {
                writeln!(err, "pasv-doctor: {e}")?;
            }
        }
    }
    for e in &post_failures {
        writeln!(err, "pasv-doctor: {e}")?;
    }
    writeln!(
        err,
        "pasv-doctor batch: {total} target(s) in {:.1} s: {} ok, {} warning, {} critical, {} unknown{}",
        started.elapsed().as_secs_f64(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        if bad > 0 {
            format!("; {bad} line(s) skipped")
        } else {
            String::new()
        }
    )?;
    Ok(worst)
}

fn settings_of(c: &probe::ProbeConfig) -> Settings {
    Settings {
        samples: c.samples,
        timeout_us: c.timeout.as_micros() as u64,
        deadline_us: c.deadline.as_micros() as u64,
        family: c.family,
        probe_advertised: c.probe_advertised,
        expect_range: c.expect_range,
        expect_address: c.expect_address,
        tls: c.tls,
        prot_clear: c.prot_clear,
        cert_warn_days: c.cert_warn_days,
        checked_at_unix: 0,
    }
}

//! `pasv-doctor batch FILE`: every line resolved into a configuration (a bad line is
//! reported with its number and skipped), the targets checked by `crate::fleet`, one JSON
//! report per line written as each finishes (so an interrupted run loses nothing already
//! done), with a summary and an optional progress bar on stderr.

use std::io::{self, IsTerminal, Read, Write};
use std::time::Instant;

use super::{BatchArgs, BatchFormat};
use crate::batch;
use crate::config::Resolver;
use crate::exit::Status;
use crate::fleet;
use crate::report::{self, Format, RenderOptions, Report, json, prometheus};
use crate::transcript::Transcript;

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

pub fn run(args: &BatchArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    let fail = |err: &mut dyn Write, e: &dyn std::fmt::Display| {
        writeln!(err, "pasv-doctor: {e}").map(|()| Status::Unknown)
    };
    let receiver = match args.delivery.receiver() {
        Ok(r) => r,
        Err(e) => return fail(err, &e),
    };
    let file = match super::check::config_file(&args.probe) {
        Ok(f) => f,
        Err(e) => return fail(err, &e),
    };
    let flags = args.probe.overrides();
    // A bad flag is the whole run's problem, not every line's.
    if let Some(path) = &flags.ca_file
        && let Err(e) = crate::config::load_ca_file(path)
    {
        return fail(err, &e);
    }
    let mut resolver = match Resolver::new(file.as_ref(), args.probe.module.as_deref(), &flags) {
        Ok(r) => r,
        Err(e) => return fail(err, &e),
    };
    let text = match read_input(&args.file) {
        Ok(t) => t,
        Err(e) => return fail(err, &e),
    };
    let mut configs = Vec::new();
    let mut bad = 0usize;
    for item in batch::parse(&text) {
        let resolved = item.map_err(|e| e.to_string()).and_then(|entry| {
            resolver
                .resolve(
                    &entry.input,
                    entry.target,
                    entry.module.as_deref(),
                    &entry.overrides,
                )
                .map_err(|e| format!("line {}: {e}", entry.line))
        });
        match resolved {
            Ok(config) => configs.push(config),
            Err(e) => {
                bad += 1;
                writeln!(err, "pasv-doctor: {}: {e}; skipped", args.file)?;
            }
        }
    }
    if configs.is_empty() {
        writeln!(err, "pasv-doctor: {}: no target to check", args.file)?;
        return Ok(Status::Unknown);
    }
    let rt = super::runtime(2)?;
    let started = Instant::now();
    let total = configs.len();
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
    let line = RenderOptions::new(Format::JsonLine);
    let post_failures = rt.block_on(async {
        let mut rx = fleet::spawn(configs, args.concurrency as usize);
        let client = match &receiver {
            Some(_) => crate::webhook::http_client(crate::webhook::TIMEOUT).ok(),
            None => None,
        };
        let mut posts = tokio::task::JoinSet::new();
        while let Some(transcript) = rx.recv().await {
            let report = Report::new(&transcript);
            let status = report::status(&report, &line);
            worst = worst.max(status);
            counts[status.code() as usize] += 1;
            if args.format == BatchFormat::Jsonl {
                let mut bytes = Vec::new();
                report::render(&report, &mut bytes, &line)?;
                // Each line is on its way before the next target finishes.
                out.write_all(&bytes)?;
                out.flush()?;
                if let (Some(to), Some(client)) = (&receiver, &client) {
                    let (to, client) = (to.clone(), client.clone());
                    bytes.pop();
                    posts
                        .spawn(async move { crate::webhook::post_json(&client, &to, bytes).await });
                }
            } else {
                kept.push(transcript.clone());
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
    if args.format != BatchFormat::Jsonl {
        let reports: Vec<Report<'_>> = kept.iter().map(Report::new).collect();
        if args.format == BatchFormat::Html {
            report::html::write_batch(out, &reports)?;
        } else {
            // One exposition for the whole run: each metric family once (see write_all).
            prometheus::write_all(out, &reports)?;
        }
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

//! `pasv-doctor batch FILE`: every line resolved into a configuration (a bad line is
//! reported with its number and skipped), the targets checked by `crate::fleet`, one JSON
//! report per line written as each finishes (so an interrupted run loses nothing already
//! done), with a summary and an optional progress bar on stderr.

use std::io::{self, IsTerminal, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    let format = match args.format {
        BatchFormat::Auto if io::stdout().is_terminal() => BatchFormat::Lines,
        BatchFormat::Auto => BatchFormat::Jsonl,
        f => f,
    };
    let color = super::check::use_color(crate::cli::ColorChoice::Auto);
    let running: Running = Arc::default();
    let bar = io::stderr()
        .is_terminal()
        .then(|| progress_bar(total, &running));
    let mut tally = Tally {
        counts: [0; 4],
        worst: if bad > 0 { Status::Unknown } else { Status::Ok },
        failed: Vec::new(),
    };
    let mut kept: Vec<Transcript> = Vec::new();
    let line = RenderOptions::new(Format::JsonLine);
    let post_failures = rt.block_on(super::interrupt::interruptible(async {
        let on_start = {
            let running = running.clone();
            Arc::new(move |input: &str| {
                if let Ok(mut r) = running.lock() {
                    r.push(input.to_string());
                }
            })
        };
        let mut rx = fleet::spawn_observed(configs, args.concurrency as usize, on_start);
        let client = match &receiver {
            Some(_) => crate::webhook::http_client(crate::webhook::TIMEOUT).ok(),
            None => None,
        };
        let mut posts = tokio::task::JoinSet::new();
        while let Some(transcript) = rx.recv().await {
            if let Ok(mut r) = running.lock()
                && let Some(i) = r.iter().position(|t| *t == transcript.target.input)
            {
                r.remove(i);
            }
            let report = Report::new(&transcript);
            let status = report::status(&report, &line);
            tally.add(&report, status);
            let mut bytes = Vec::new();
            report::render(&report, &mut bytes, &line)?;
            match format {
                BatchFormat::Jsonl => {
                    // Each line is on its way before the next target finishes.
                    out.write_all(&bytes)?;
                    out.flush()?;
                }
                BatchFormat::Lines => {
                    let text = person_line(&report, status, color);
                    match &bar {
                        Some(pb) => pb.suspend(|| writeln!(out, "{text}").and(out.flush()))?,
                        None => writeln!(out, "{text}")?,
                    }
                }
                _ => kept.push(transcript.clone()),
            }
            if let (Some(to), Some(client)) = (&receiver, &client)
                && matches!(format, BatchFormat::Jsonl | BatchFormat::Lines)
            {
                let (to, client) = (to.clone(), client.clone());
                bytes.pop();
                posts.spawn(async move { crate::webhook::post_json(&client, &to, bytes).await });
            }
            if let Some(pb) = &bar {
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
    }))?;
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    if matches!(format, BatchFormat::Prometheus | BatchFormat::Html) {
        let reports: Vec<Report<'_>> = kept.iter().map(Report::new).collect();
        if format == BatchFormat::Html {
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
    tally.summary(err, total, bad, started.elapsed().as_secs_f64())?;
    Ok(tally.worst)
}

/// The targets whose checks are under way, for the progress bar.
type Running = Arc<Mutex<Vec<String>>>;

/// A progress bar whose clock keeps moving and which names the targets still running.
fn progress_bar(total: usize, running: &Running) -> indicatif::ProgressBar {
    let shown = running.clone();
    let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {running}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key(
            "running",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let Ok(r) = shown.lock() else { return };
                let _ = match r.len() {
                    0 => Ok(()),
                    1..=3 => write!(w, "running: {}", r.join(", ")),
                    n => write!(w, "running: {}, {} (+{} more)", r[0], r[1], n - 2),
                };
            },
        );
    let pb = indicatif::ProgressBar::new(total as u64);
    pb.set_style(style);
    pb.enable_steady_tick(Duration::from_millis(500));
    pb
}

/// One finished target for people: verdict, target, root cause.
fn person_line(report: &Report<'_>, status: Status, color: bool) -> String {
    let verdict = report.verdict.as_str().to_uppercase();
    let shown = if color {
        let code = match status {
            Status::Ok => "32",
            Status::Warning => "33",
            Status::Critical => "1;31",
            Status::Unknown => "35",
        };
        format!("\x1b[{code}m{verdict:<8}\x1b[0m")
    } else {
        format!("{verdict:<8}")
    };
    format!(
        "{shown} {}  {}",
        report.transcript.target.input,
        root_cause(report)
    )
}

/// The summary without its verdict word (the line already shows it).
fn root_cause(report: &Report<'_>) -> String {
    let summary = report.summary();
    match summary.split_once(": ") {
        Some((_, rest)) => rest.to_string(),
        None => summary,
    }
}

/// What the summary needs: counts, the worst status, and the targets that failed.
struct Tally {
    counts: [usize; 4],
    worst: Status,
    failed: Vec<(String, String, String)>,
}

impl Tally {
    fn add(&mut self, report: &Report<'_>, status: Status) {
        self.worst = self.worst.max(status);
        self.counts[status.code() as usize] += 1;
        if matches!(status, Status::Critical | Status::Unknown) {
            self.failed.push((
                report.verdict.as_str().to_uppercase(),
                report.transcript.target.input.clone(),
                root_cause(report),
            ));
        }
    }

    fn summary(&self, err: &mut dyn Write, total: usize, bad: usize, secs: f64) -> io::Result<()> {
        let done: usize = self.counts.iter().sum();
        let c = &self.counts;
        writeln!(
            err,
            "pasv-doctor batch: {total} target(s) in {secs:.1} s: {} ok, {} warning, {} \
             critical, {} unknown{}{}",
            c[0],
            c[1],
            c[2],
            c[3],
            if bad > 0 {
                format!("; {bad} line(s) skipped")
            } else {
                String::new()
            },
            if done < total {
                format!("; interrupted: {} not checked", total - done)
            } else {
                String::new()
            }
        )?;
        if !self.failed.is_empty() {
            writeln!(err, "failed:")?;
            for (verdict, target, cause) in &self.failed {
                writeln!(err, "  {verdict:<8} {target}  {cause}")?;
            }
        }
        Ok(())
    }
}

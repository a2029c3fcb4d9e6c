//! Running the binary as the suites that measure it need: timed, its peak memory measured,
//! killed after [`KILL_AFTER`], many runs at once, and the result lines they print.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A run of the binary still going after this is killed (and fails): no test hangs.
pub const KILL_AFTER: Duration = Duration::from_secs(30);

/// How one run of the binary went.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub wall: Duration,
    pub peak_rss_kib: Option<u64>,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// GNU time's `%M` (peak RSS in KiB): the last line of its output file.
fn gnu_time_kib(path: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let _ = std::fs::remove_file(path);
    text.lines().last()?.trim().parse().ok()
}

/// Runs the binary (as `support::bin()` sets it up) with `args`, timing it and measuring its
/// peak RSS: exactly with GNU time when /usr/bin/time exists, else by sampling /proc every
/// 10 ms (which can miss runs shorter than that).
pub fn run(args: &[String], stdin: Option<&str>, env: &[(&str, &str)]) -> Outcome {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let template = super::bin();
    let gnu_time = std::path::Path::new("/usr/bin/time");
    let rss_file = gnu_time.exists().then(|| {
        std::env::temp_dir().join(format!(
            "pasv-doctor-hostile-{}-{}.rss",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ))
    });
    let mut cmd = match &rss_file {
        Some(file) => {
            let mut c = Command::new(gnu_time);
            c.args(["-f", "%M", "-o"])
                .arg(file)
                .arg(template.get_program());
            c
        }
        None => Command::new(template.get_program()),
    };
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.envs(env.iter().copied())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn pasv-doctor");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let _ = pipe.write_all(input.as_bytes());
    }
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let pid = child.id();
    let mut peak = None;
    let status = loop {
        if rss_file.is_none()
            && let Some(kib) = vm_hwm_kib(pid)
        {
            peak = Some(peak.unwrap_or(0).max(kib));
        }
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > KILL_AFTER => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    let wall = started.elapsed();
    if let Some(file) = &rss_file {
        peak = gnu_time_kib(file);
    }
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout: out_t.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned(),
        wall,
        peak_rss_kib: peak,
    }
}

/// Runs `f` on every item, `workers` at a time; the results come back in the items' order.
pub fn parallel<T: Send, R: Send>(
    items: Vec<T>,
    workers: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                loop {
                    let Some((i, item)) = queue.lock().expect("queue").pop() else {
                        return;
                    };
                    let r = f(item);
                    results.lock().expect("results").push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The finding codes of a JSON report, in order.
pub fn codes_of(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One result line of a behaviour table: name, wall time, peak memory, report size, exit
/// and what was judged.
pub fn result_line(
    name: &str,
    width: usize,
    o: &Outcome,
    verdict: &Result<serde_json::Value, String>,
) -> String {
    format!(
        "{name:<width$} {:>5.2} s  rss {:>6} KiB  json {:>6} B  exit {:?}  {}",
        o.wall.as_secs_f64(),
        o.peak_rss_kib.map_or("?".to_string(), |k| k.to_string()),
        o.stdout.len(),
        o.code,
        match verdict {
            Ok(json) => format!("ok {:?}", codes_of(json)),
            Err(e) => format!("FAILED: {e}"),
        }
    )
}

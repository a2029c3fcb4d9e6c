//! The service's own metrics for `/metrics`, never mixed into a `/probe` answer: checks by
//! module and verdict, their durations, checks in flight and queued, requests refused and
//! why, HTTP requests by route and status, and the process's CPU, memory, file descriptors
//! and start time (Linux `/proc`; left out elsewhere). Text exposition 0.0.4; label values
//! are of bounded cardinality (module names come from the config file).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use super::gate::Gate;
use crate::finding::Verdict;

/// Bucket bounds of the check-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Counters {
    checks: BTreeMap<(String, &'static str), u64>,
    durations: BTreeMap<String, Histogram>,
    explains: BTreeMap<&'static str, u64>,
    rejected: BTreeMap<&'static str, u64>,
    requests: BTreeMap<(&'static str, u16), u64>,
}

/// Counters since the service started.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Counters>);

fn verdict_name(v: Option<Verdict>) -> &'static str {
    v.map_or("error", Verdict::as_str)
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(text: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} {kind}");
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn with(&self, f: impl FnOnce(&mut Counters)) {
        if let Ok(mut c) = self.0.lock() {
            f(&mut c);
        }
    }

    /// A check ended: its module (`""` for none), verdict (`None`: it could not run) and
    /// seconds.
    pub fn check(&self, module: &str, verdict: Option<Verdict>, secs: f64) {
        self.with(|c| {
            *c.checks
                .entry((module.to_string(), verdict_name(verdict)))
                .or_default() += 1;
            let h = c.durations.entry(module.to_string()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        });
    }

    /// A log was explained (`None`: it was not an FTP client log).
    pub fn explain(&self, verdict: Option<Verdict>) {
        self.with(|c| *c.explains.entry(verdict_name(verdict)).or_default() += 1);
    }

    /// A request was refused: `busy`, `rate_limited`, `refused_target`, `unauthorized`,
    /// `cross_origin`, `password_in_url`, `unknown_host`, `bad_request`.
    pub fn rejected(&self, reason: &'static str) {
        self.with(|c| *c.rejected.entry(reason).or_default() += 1);
    }

    /// An HTTP request was answered.
    pub fn request(&self, route: &'static str, status: u16) {
        self.with(|c| *c.requests.entry((route, status)).or_default() += 1);
    }

    /// The exposition.
    pub fn render(&self, gate: &Gate) -> String {
        let mut t = String::new();
        let Ok(c) = self.0.lock() else {
            return t;
        };
        family(
            &mut t,
            "pasv_doctor_serve_checks_total",
            "counter",
            "Checks run, by module (\"\" for none) and verdict (error: could not run).",
        );
        for ((module, verdict), n) in &c.checks {
            let _ = writeln!(
                t,
                "pasv_doctor_serve_checks_total{{module=\"{}\",verdict=\"{verdict}\"}} {n}",
                esc(module)
            );
        }
        family(
            &mut t,
            "pasv_doctor_serve_check_duration_seconds",
            "histogram",
            "Wall time of each check, by module.",
        );
        for (module, h) in &c.durations {
            let m = esc(module);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    t,
                    "pasv_doctor_serve_check_duration_seconds_bucket{{module=\"{m}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                t,
                "pasv_doctor_serve_check_duration_seconds_bucket{{module=\"{m}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                t,
                "pasv_doctor_serve_check_duration_seconds_sum{{module=\"{m}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                t,
                "pasv_doctor_serve_check_duration_seconds_count{{module=\"{m}\"}} {}",
                h.count
            );
        }
        family(
            &mut t,
            "pasv_doctor_serve_explains_total",
            "counter",
            "Client logs explained, by verdict (error: not an FTP client log).",
        );
        for (verdict, n) in &c.explains {
            let _ = writeln!(
                t,
                "pasv_doctor_serve_explains_total{{verdict=\"{verdict}\"}} {n}"
            );
        }
        family(
            &mut t,
            "pasv_doctor_serve_checks_in_flight",
            "gauge",
            "Checks running now.",
        );
        let _ = writeln!(t, "pasv_doctor_serve_checks_in_flight {}", gate.in_flight());
        family(
            &mut t,
            "pasv_doctor_serve_checks_queued",
            "gauge",
            "Checks waiting for a slot now.",
        );
        let _ = writeln!(t, "pasv_doctor_serve_checks_queued {}", gate.queued());
        family(
            &mut t,
            "pasv_doctor_serve_max_concurrent",
            "gauge",
            "Checks that may run at once (max_concurrent).",
        );
        let _ = writeln!(
            t,
            "pasv_doctor_serve_max_concurrent {}",
            gate.max_concurrent()
        );
        family(
            &mut t,
            "pasv_doctor_serve_rejected_total",
            "counter",
            "Requests refused, by reason.",
        );
        for reason in [
            "busy",
            "rate_limited",
            "refused_target",
            "unauthorized",
            "cross_origin",
            "password_in_url",
            "unknown_host",
            "bad_request",
            "body_timeout",
        ] {
            let n = c.rejected.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                t,
                "pasv_doctor_serve_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
        family(
            &mut t,
            "pasv_doctor_serve_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status code.",
        );
        for ((route, code), n) in &c.requests {
            let _ = writeln!(
                t,
                "pasv_doctor_serve_http_requests_total{{route=\"{route}\",code=\"{code}\"}} {n}"
            );
        }
        drop(c);
        process::write(&mut t);
        t
    }
}

/// Process metrics with the names every Prometheus client library uses.
mod process {
    use super::family;
    use std::fmt::Write as _;

    /// Linux reports CPU times in USER_HZ, 100 on every architecture it runs on.
    const TICKS: f64 = 100.0;

    pub fn write(t: &mut String) {
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
            return;
        };
        // The command name is in parentheses and may hold spaces: count from after it.
        let Some(fields) = stat
            .rfind(')')
            .map(|i| stat[i + 1..].split_whitespace().collect::<Vec<_>>())
        else {
            return;
        };
        // Field n of proc(5) is fields[n - 3] here.
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        if let (Some(user), Some(system)) = (field(14), field(15)) {
            family(
                t,
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
            );
            let _ = writeln!(t, "process_cpu_seconds_total {}", (user + system) / TICKS);
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .map(|v| v * 1024)
        };
        if let Some(rss) = kib("VmRSS:") {
            family(
                t,
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            let _ = writeln!(t, "process_resident_memory_bytes {rss}");
        }
        if let Some(vm) = kib("VmSize:") {
            family(
                t,
                "process_virtual_memory_bytes",
                "gauge",
                "Virtual memory size in bytes.",
            );
            let _ = writeln!(t, "process_virtual_memory_bytes {vm}");
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            family(
                t,
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
            );
            let _ = writeln!(t, "process_open_fds {}", fds.count());
        }
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        if let Some(max) = limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
        {
            family(
                t,
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
            );
            let _ = writeln!(t, "process_max_fds {max}");
        }
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        if let (Some(boot), Some(start)) = (boot, field(22)) {
            family(
                t,
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
            );
            let _ = writeln!(t, "process_start_time_seconds {}", boot + start / TICKS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_histogram_and_process() {
        let m = Metrics::new();
        m.check("anon", Some(Verdict::Ok), 0.7);
        m.check("anon", Some(Verdict::Ok), 3.0);
        m.check("", None, 0.1);
        m.rejected("busy");
        m.request("probe", 200);
        m.explain(Some(Verdict::Warning));
        let text = m.render(&Gate::new(4, 4));
        for line in [
            "pasv_doctor_serve_checks_total{module=\"anon\",verdict=\"ok\"} 2",
            "pasv_doctor_serve_checks_total{module=\"\",verdict=\"error\"} 1",
            "pasv_doctor_serve_check_duration_seconds_bucket{module=\"anon\",le=\"1\"} 1",
            "pasv_doctor_serve_check_duration_seconds_bucket{module=\"anon\",le=\"+Inf\"} 2",
            "pasv_doctor_serve_check_duration_seconds_count{module=\"anon\"} 2",
            "pasv_doctor_serve_rejected_total{reason=\"busy\"} 1",
            "pasv_doctor_serve_rejected_total{reason=\"unauthorized\"} 0",
            "pasv_doctor_serve_http_requests_total{route=\"probe\",code=\"200\"} 1",
            "pasv_doctor_serve_explains_total{verdict=\"warning\"} 1",
            "pasv_doctor_serve_max_concurrent 4",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        if cfg!(target_os = "linux") {
            assert!(text.contains("process_resident_memory_bytes "), "{text}");
            assert!(text.contains("process_start_time_seconds "), "{text}");
        }
    }
}

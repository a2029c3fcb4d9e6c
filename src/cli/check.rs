//! `pasv-doctor check` and `pasv-doctor demo`: build the probe configuration from the
//! command line, run the probe, analyse, render. Problems with the command line or the
//! environment are messages on stderr with exit 3 (UNKNOWN).

use std::io::{self, IsTerminal, Write};

use super::password::{self, PasswordSource};
use super::{CheckArgs, CheckFormat, ColorChoice, DemoArgs, OutputOptions, ProbeOptions};
use crate::exit::Status;
use crate::probe::{self, ProbeConfig, session::is_anonymous};
use crate::report::{self, Report, nagios::Thresholds, table::HumanOptions};
use crate::target;
use crate::transcript::{Family, Transcript};

/// Decides colour once: the flag, then NO_COLOR, then CLICOLOR_FORCE, then whether stdout
/// is a terminal.
pub fn use_color(choice: ColorChoice) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE") => true,
        ColorChoice::Auto => io::stdout().is_terminal(),
    }
}

/// Width: `COLUMNS` when set, else the terminal's, else 100.
fn width() -> u16 {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return c;
    }
    terminal_size::terminal_size()
        .map(|(w, _)| w.0)
        .unwrap_or(100)
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Analyses a transcript and writes the report; the status follows the verdict (and, for
/// Nagios, the time thresholds).
pub fn render(
    transcript: &Transcript,
    output: &OutputOptions,
    thresholds: Thresholds,
    out: &mut dyn Write,
) -> io::Result<Status> {
    let report = Report::new(transcript);
    match output.format {
        CheckFormat::Nagios => return report::nagios::write(out, &report, thresholds),
        CheckFormat::Prometheus => report::prometheus::write(out, std::slice::from_ref(&report))?,
        CheckFormat::Table => {
            let color = use_color(output.color);
            colored::control::set_override(color);
            let opts = HumanOptions {
                color,
                width: width(),
                transcript: output.transcript,
                // A test switch, so snapshots of live runs are stable (as xh's XH_TEST_MODE).
                deterministic: std::env::var_os("PASV_DOCTOR_TEST_MODE").is_some(),
            };
            report::table::write(out, &report, opts)?;
        }
        CheckFormat::Json => report::json::write(out, &report)?,
        CheckFormat::Markdown => report::markdown::write(out, &report)?,
    }
    Ok(report.status())
}

pub fn run_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    let target = match target::parse(&args.target) {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "pasv-doctor: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    let o = &args.options;
    let user = o
        .user
        .clone()
        .or_else(|| target.user.clone())
        .unwrap_or_else(|| "anonymous".to_string());
    if user.contains(['\r', '\n']) {
        writeln!(err, "pasv-doctor: the user name contains a line break")?;
        return Ok(Status::Unknown);
    }
    let source = PasswordSource {
        from_stdin: o.password_stdin,
        env_var: o.password_env.clone(),
    };
    let password =
        match password::resolve(&source, &user, is_anonymous(&user), &mut io::stdin().lock()) {
            Ok(p) => p,
            Err(msg) => {
                writeln!(err, "pasv-doctor: {msg}")?;
                return Ok(Status::Unknown);
            }
        };
    if password
        .as_ref()
        .is_some_and(|p| p.expose().contains(['\r', '\n']))
    {
        writeln!(err, "pasv-doctor: the password contains a line break")?;
        return Ok(Status::Unknown);
    }
    if let Some(url) = &o.delivery.post
        && let Err(e) = crate::webhook::validate_url(url)
    {
        writeln!(err, "pasv-doctor: {e}")?;
        return Ok(Status::Unknown);
    }
    let config = probe_config(
        args.target.clone(),
        target,
        user,
        password,
        &o.probe,
        o.expect_range,
        o.expect_address,
    );
    let rt = runtime()?;
    let transcript = match rt.block_on(probe::run(&config)) {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "pasv-doctor: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    let thresholds = Thresholds {
        warning: o.warning.map(|d| d.as_secs_f64()),
        critical: o.critical.map(|d| d.as_secs_f64()),
    };
    // The local output first: a failing POST must not lose it.
    let status = render(&transcript, &o.output, thresholds, out)?;
    if let Some(url) = &o.delivery.post {
        let body = serde_json::to_vec(&report::json::build(&Report::new(&transcript)))
            .map_err(io::Error::other)?;
        let posted = rt.block_on(async {
            let client = crate::webhook::http_client(crate::webhook::TIMEOUT)?;
            crate::webhook::post_json(&client, url, body).await
        });
        if let Err(e) = posted {
            writeln!(err, "pasv-doctor: {e} (the report above is complete)")?;
        }
    }
    Ok(status)
}

/// The probe configuration for one target.
pub fn probe_config(
    input: String,
    target: target::Target,
    user: String,
    password: Option<crate::secret::Secret>,
    p: &ProbeOptions,
    expect_range: Option<(u16, u16)>,
    expect_address: Option<std::net::IpAddr>,
) -> ProbeConfig {
    ProbeConfig {
        input,
        target,
        user,
        password,
        dns_server: p.dns_server,
        family: match (p.ipv4, p.ipv6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        },
        samples: p.samples,
        timeout: p.timeout,
        deadline: p.deadline,
        probe_advertised: p.probe_advertised,
        expect_range,
        expect_address,
        my_ip_url: p.my_ip_url.clone(),
    }
}

pub fn run_demo(args: &DemoArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    let rt = runtime()?;
    let result = rt.block_on(crate::demo::run(args.scenario, args.samples, args.timeout));
    let transcript = match result {
        Ok(t) => t,
        Err(e) => {
            writeln!(
                err,
                "pasv-doctor: cannot start the demo server on 127.0.0.1: {e}"
            )?;
            return Ok(Status::Unknown);
        }
    };
    if args.output.format == CheckFormat::Table {
        writeln!(
            out,
            "Demo scenario \"{}\":\n  {}.\nA built-in FTP server on 127.0.0.1 plays it; other \
             scenarios:\n  healthy, wrong-public-address, refused-data-port, filtered-data-port, \
             bad-ip (--scenario NAME)\n",
            args.scenario.name(),
            args.scenario.description()
        )?;
    }
    render(&transcript, &args.output, Thresholds::default(), out)
}

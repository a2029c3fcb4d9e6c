//! `pasv-doctor check` and `pasv-doctor demo`: build the probe configuration from the
//! command line, run the probe, analyse, render. Problems with the command line or the
//! environment are messages on stderr with exit 3 (UNKNOWN).

use std::io::{self, Write};

use super::password::{self, PasswordSource};
use super::{CheckArgs, CheckFormat, DemoArgs};
use crate::analyze;
use crate::exit::Status;
use crate::probe::{self, ProbeConfig, session::is_anonymous};
use crate::report::{self, Report};
use crate::target;
use crate::transcript::{Family, Transcript};

/// Text width: `COLUMNS` when set, else 100.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Analyses a transcript and writes the report; the status follows the verdict.
pub fn render(
    transcript: &Transcript,
    format: CheckFormat,
    out: &mut dyn Write,
) -> io::Result<Status> {
    let findings = analyze::analyze(transcript);
    let verdict = analyze::verdict(transcript, &findings);
    let report = Report {
        transcript,
        findings: &findings,
        verdict,
    };
    match format {
        CheckFormat::Text => report::text::write(out, &report, width())?,
        CheckFormat::Json => report::json::write(out, &report)?,
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
    let config = ProbeConfig {
        input: args.target.clone(),
        target,
        user,
        password,
        dns_server: o.dns_server,
        family: match (o.ipv4, o.ipv6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        },
        samples: o.samples,
        timeout: o.timeout,
        deadline: o.deadline,
        probe_advertised: o.probe_advertised,
        expect_range: o.expect_range,
        expect_address: o.expect_address,
    };
    let transcript = match runtime()?.block_on(probe::run(&config)) {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "pasv-doctor: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    render(&transcript, o.format, out)
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
    if args.format == CheckFormat::Text {
        writeln!(
            out,
            "Demo scenario \"{}\": {}\n(a built-in FTP server on 127.0.0.1; try --scenario with \
             healthy, wrong-public-address, refused-data-port, filtered-data-port, bad-ip)\n",
            args.scenario.name(),
            args.scenario.description()
        )?;
    }
    render(&transcript, args.format, out)
}

//! `pasv-doctor check` and `pasv-doctor demo`: the flags (and `--config`/`--module`)
//! resolved into one configuration by `crate::config`, the password asked for when no
//! source is named, the check run by `crate::check`, the report rendered. Problems with
//! the command line or the environment are messages on stderr with exit 3 (UNKNOWN).

use std::io::{self, IsTerminal, Write};

use super::password::{self, PasswordSource};
use super::{CheckArgs, CheckFormat, ColorChoice, DemoArgs, OutputOptions, ProbeOptions};
use crate::check;
use crate::config::{ConfigError, ConfigFile, Overrides, Resolver};
use crate::exit::Status;
use crate::proto::is_anonymous;
use crate::report::{self, RenderOptions, Report, nagios::Thresholds};
use crate::target::{self, Host};
use crate::transcript::Transcript;

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

/// The render options from the command line's output flags: colour decided once here
/// (flag, NO_COLOR, CLICOLOR_FORCE, terminal) and handed to the renderer.
pub fn render_options(output: &OutputOptions, thresholds: Thresholds) -> RenderOptions {
    RenderOptions {
        format: output.format.into(),
        color: use_color(output.color),
        width: width(),
        transcript: output.transcript,
        verbose: output.verbose,
        // A test switch, so snapshots of live runs are stable (as xh's XH_TEST_MODE).
        deterministic: std::env::var_os("PASV_DOCTOR_TEST_MODE").is_some(),
        thresholds,
    }
}

/// Analyses a transcript and writes the report; the status follows the report (and, for
/// Nagios, the time thresholds).
pub fn render(
    transcript: &Transcript,
    output: &OutputOptions,
    thresholds: Thresholds,
    out: &mut dyn Write,
) -> io::Result<Status> {
    let report = Report::new(transcript);
    let opts = render_options(output, thresholds);
    report::render(&report, out, &opts)?;
    Ok(report::status(&report, &opts))
}

/// The config file named by `--config`, read and checked.
pub fn config_file(p: &ProbeOptions) -> Result<Option<ConfigFile>, ConfigError> {
    p.config.as_deref().map(ConfigFile::load).transpose()
}

pub fn run_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    let o = &args.options;
    let fail = |err: &mut dyn Write, e: &dyn std::fmt::Display| {
        writeln!(err, "pasv-doctor: {e}").map(|()| Status::Unknown)
    };
    let target = match target::parse(&args.target) {
        Ok(t) => t,
        Err(e) => return fail(err, &e),
    };
    let file = match config_file(&o.probe) {
        Ok(f) => f,
        Err(e) => return fail(err, &e),
    };
    let flags = o.overrides();
    let mut resolver = match Resolver::new(file.as_ref(), o.probe.module.as_deref(), &flags) {
        Ok(r) => r,
        Err(e) => return fail(err, &e),
    };
    let mut merged = match resolver.merge(&target, None, &Overrides::default()) {
        Ok(m) => m,
        Err(e) => return fail(err, &e),
    };
    // --password-stdin is a flag, so it wins over a source the file names.
    if o.password_stdin {
        merged.password_env = None;
        merged.password_file = None;
    }
    let named = merged.password_env.is_some() || merged.password_file.is_some();
    let mut config = match resolver.finish(&args.target, target, &merged) {
        Ok(c) => c,
        Err(e) => return fail(err, &e),
    };
    if !named {
        let server = match &config.target.host {
            Host::Ip(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{}", config.target.port),
            host => format!("{host}:{}", config.target.port),
        };
        let anonymous = is_anonymous(&config.user);
        let source = PasswordSource {
            from_stdin: o.password_stdin,
            env_var: None,
        };
        let user = config.user.clone();
        config.password =
            match password::resolve(&source, &user, &server, anonymous, &mut io::stdin().lock()) {
                Ok(p) => p,
                Err(msg) => return fail(err, &msg),
            };
        // No source and no terminal to ask on: say so at once, not after a failed login.
        if config.password.is_none() && !anonymous {
            writeln!(
                err,
                "pasv-doctor: no password for {user}@{server} (no --password-env VAR, \
                 --password-file FILE, --password-stdin or {} given, and no terminal to ask \
                 on): logging in without one",
                password::PASSWORD_VAR
            )?;
        }
        if config
            .password
            .as_ref()
            .is_some_and(|p| p.expose().contains(['\r', '\n']))
        {
            return fail(err, &"the password contains a line break");
        }
    }
    let receiver = match o.delivery.receiver() {
        Ok(r) => r,
        Err(e) => return fail(err, &e),
    };
    let rt = super::runtime(1)?;
    let (status_line, progress) = super::status::StatusLine::start(&config.input);
    let checked = rt.block_on(super::interrupt::interruptible(check::run_observed(
        &config, progress,
    )));
    if let Some(line) = status_line {
        line.finish();
    }
    let transcript = match checked {
        Ok(t) => t,
        Err(e) => return fail(err, &e),
    };
    let thresholds = Thresholds {
        warning: o.warning.map(|d| d.as_secs_f64()),
        critical: o.critical.map(|d| d.as_secs_f64()),
    };
    // The local output first: a failing POST must not lose it.
    let status = render(&transcript, &o.output, thresholds, out)?;
    if let Some(to) = &receiver {
        let body = serde_json::to_vec(&report::json::build(&Report::new(&transcript)))
            .map_err(io::Error::other)?;
        let posted = rt.block_on(async {
            let client = crate::webhook::http_client(crate::webhook::TIMEOUT)?;
            crate::webhook::post_json(&client, to, body).await
        });
        if let Err(e) = posted {
            writeln!(err, "pasv-doctor: {e} (the report above is complete)")?;
        }
    }
    Ok(status)
}

pub fn run_demo(args: &DemoArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    let scenario = crate::demo::Scenario::from(args.scenario);
    let rt = super::runtime(1)?;
    // The banner first: the check takes seconds on the filtered scenario.
    if args.output.format == CheckFormat::Table {
        writeln!(
            out,
            "Demo scenario \"{}\":\n  {}.\nA built-in FTP server on 127.0.0.1 plays it; other \
             scenarios:\n  healthy, wrong-public-address, refused-data-port, filtered-data-port, \
             bad-ip (--scenario NAME)\n",
            scenario.name(),
            scenario.description()
        )?;
        out.flush()?;
    }
    let (status_line, progress) = super::status::StatusLine::start("demo");
    let result = rt.block_on(super::interrupt::interruptible(crate::demo::run(
        scenario,
        args.samples,
        args.timeout,
        progress,
    )));
    if let Some(line) = status_line {
        line.finish();
    }
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
    render(&transcript, &args.output, Thresholds::default(), out)
}

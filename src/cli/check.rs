//! `pasv-doctor check` and `pasv-doctor demo`: build the probe configuration from the
//! command line, run the probe, analyse, render. Problems with the command line or the
//! environment are messages on stderr with exit 3 (UNKNOWN).

use std::io::{self, IsTerminal, Write};

use super::password::{self, PasswordSource};
use super::{
    CheckArgs, CheckFormat, ColorChoice, DemoArgs, OutputOptions, ProbeOptions, Prot, TlsMax,
    TlsMode,
};
use crate::exit::Status;
use crate::probe::{self, ProbeConfig};
use crate::proto::is_anonymous;
use crate::report::{self, RenderOptions, Report, nagios::Thresholds};
use crate::target;
use crate::transcript::{Family, TlsRequest, Transcript};

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

/// The render options from the command line's output flags: colour decided once here
/// (flag, NO_COLOR, CLICOLOR_FORCE, terminal) and handed to the renderer.
pub fn render_options(output: &OutputOptions, thresholds: Thresholds) -> RenderOptions {
    RenderOptions {
        format: output.format.into(),
        color: use_color(output.color),
        width: width(),
        transcript: output.transcript,
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
    let server = match &target.host {
        crate::target::Host::Ip(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{}", target.port),
        host => format!("{host}:{}", target.port),
    };
    let anonymous = is_anonymous(&user);
    let password =
        match password::resolve(&source, &user, &server, anonymous, &mut io::stdin().lock()) {
            Ok(p) => p,
            Err(msg) => {
                writeln!(err, "pasv-doctor: {msg}")?;
                return Ok(Status::Unknown);
            }
        };
    // No source and no terminal to ask on: say so at once, not after a failed login.
    if password.is_none() && !anonymous {
        writeln!(
            err,
            "pasv-doctor: no password for {user}@{server} (no --password-env VAR, \
             --password-stdin or {} given, and no terminal to ask on): logging in without one",
            password::PASSWORD_VAR
        )?;
    }
    if password
        .as_ref()
        .is_some_and(|p| p.expose().contains(['\r', '\n']))
    {
        writeln!(err, "pasv-doctor: the password contains a line break")?;
        return Ok(Status::Unknown);
    }
    let receiver = match o.delivery.receiver() {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "pasv-doctor: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    let tls = match tls_settings(&o.probe, target.implicit_tls) {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "pasv-doctor: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    let config = probe_config(
        TargetSpec {
            input: args.target.clone(),
            target,
            user,
            password,
            expect_range: o.expect_range,
            expect_address: o.expect_address,
        },
        &o.probe,
        tls,
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

/// Reads the extra trust roots of `--ca-file` (PEM), as DER.
pub fn load_ca_file(path: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read --ca-file {}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut b64 = String::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            b64.clear();
        } else if line == "-----END CERTIFICATE-----" {
            inside = false;
            out.push(base64_decode(&b64).ok_or_else(|| {
                format!(
                    "--ca-file {}: a certificate is not valid base64",
                    path.display()
                )
            })?);
        } else if inside {
            b64.push_str(line);
        }
    }
    if out.is_empty() {
        return Err(format!(
            "--ca-file {}: no PEM certificate found",
            path.display()
        ));
    }
    Ok(out)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let take = chunk.len().saturating_sub(1);
        for i in 0..take {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// The TLS part of the probe configuration.
pub fn tls_settings(
    p: &ProbeOptions,
    implicit_scheme: bool,
) -> Result<(TlsRequest, crate::probe::tls::TlsOptions), String> {
    let request = match (p.tls, implicit_scheme) {
        (Some(TlsMode::Off), _) => TlsRequest::Off,
        (Some(TlsMode::Auto), _) => TlsRequest::Auto,
        (Some(TlsMode::Explicit), _) => TlsRequest::Explicit,
        (Some(TlsMode::Implicit), _) | (None, true) => TlsRequest::Implicit,
        (None, false) => TlsRequest::Auto,
    };
    let extra_roots = match &p.ca_file {
        Some(path) => load_ca_file(path)?,
        None => Vec::new(),
    };
    Ok((
        request,
        crate::probe::tls::TlsOptions {
            insecure: p.insecure,
            max_tls12: p.tls_max == TlsMax::V1_2,
            extra_roots,
        },
    ))
}

/// What is specific to one target.
#[derive(Debug)]
pub struct TargetSpec {
    pub input: String,
    pub target: target::Target,
    pub user: String,
    pub password: Option<crate::secret::Secret>,
    pub expect_range: Option<(u16, u16)>,
    pub expect_address: Option<std::net::IpAddr>,
}

/// The probe configuration for one target.
pub fn probe_config(
    spec: TargetSpec,
    p: &ProbeOptions,
    tls: (TlsRequest, crate::probe::tls::TlsOptions),
) -> ProbeConfig {
    let TargetSpec {
        input,
        target,
        user,
        password,
        expect_range,
        expect_address,
    } = spec;
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
        transfers: p.transfers,
        timeout: p.timeout,
        deadline: p.deadline,
        probe_advertised: p.probe_advertised,
        expect_range,
        expect_address,
        my_ip_url: p.my_ip_url.clone(),
        tls: tls.0,
        tls_options: tls.1,
        prot_clear: p.prot == Prot::C,
        cert_warn_days: p.cert_warn_days,
        compare_plain: p.compare_plain,
    }
}

pub fn run_demo(args: &DemoArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    let scenario = crate::demo::Scenario::from(args.scenario);
    let rt = runtime()?;
    let result = rt.block_on(crate::demo::run(scenario, args.samples, args.timeout));
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
            scenario.name(),
            scenario.description()
        )?;
    }
    render(&transcript, &args.output, Thresholds::default(), out)
}

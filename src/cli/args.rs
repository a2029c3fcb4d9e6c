//! The options of `check` and `batch` (clap derive; the doc comments are the help text),
//! and how they become one layer of [`Overrides`]: a flag that is not given names nothing,
//! so the config file, the module and the batch line decide (see `crate::config`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::config::{Overrides, value};
use crate::transcript::{Family, TlsRequest};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The server: ftp://[user@]host[:port][/path], host, host:port, an IPv4 address or an
    /// IPv6 address in brackets ([2001:db8::1]:21).
    #[arg(value_name = "TARGET")]
    pub target: String,

    #[command(flatten)]
    pub options: CheckOptions,
}

#[derive(Debug, Args)]
pub struct CheckOptions {
    /// User to log in as (default: the URL's user, else the module's, else anonymous).
    #[arg(long, short = 'u', value_name = "USER", value_parser = value::user)]
    pub user: Option<String>,

    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", value_parser = value::env_var,
          conflicts_with_all = ["password_stdin", "password_file"])]
    pub password_env: Option<String>,

    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", value_parser = value::path, conflicts_with = "password_stdin")]
    pub password_file: Option<PathBuf>,

    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub probe: ProbeOptions,

    /// The passive port range the firewall forwards, LOW-HIGH; ports outside it are reported.
    #[arg(long, value_name = "LOW-HIGH", value_parser = value::range)]
    pub expect_range: Option<(u16, u16)>,

    /// The address the server should advertise; any other is reported.
    #[arg(long, value_name = "IP", value_parser = value::ip)]
    pub expect_address: Option<IpAddr>,

    /// After the checks, test-connect every port of this passive range at the server's own
    /// address and map which part is forwarded: LOW-HIGH, or `auto` (--expect-range, else
    /// the lowest to the highest port the server handed out). Silent ports cost about one
    /// --timeout together; the report says how long it will take.
    #[arg(long, value_name = "LOW-HIGH|auto", value_parser = value::scan_range)]
    pub scan_range: Option<crate::probe::ScanRange>,

    /// With --scan-range: connection attempts started per second at most (256 wait at once
    /// at most).
    #[arg(long, value_name = "N", value_parser = value::scan_rate)]
    pub scan_rate: Option<u32>,

    /// After the passive checks, test active mode: listen, send EPRT (and PORT over IPv4),
    /// and list over the connection the server opens back. Behind NAT this cannot be
    /// judged from here, and the report says so.
    #[arg(long)]
    pub active: bool,

    /// With --active: listen on this address instead of the control connection's local one.
    #[arg(long, value_name = "IP", value_parser = value::ip, requires = "active")]
    pub active_address: Option<IpAddr>,

    /// With --format nagios: WARNING when the whole check takes longer than this.
    #[arg(long, value_name = "DURATION", value_parser = value::duration)]
    pub warning: Option<Duration>,

    /// With --format nagios: CRITICAL when the whole check takes longer than this.
    #[arg(long, value_name = "DURATION", value_parser = value::duration)]
    pub critical: Option<Duration>,

    #[command(flatten)]
    pub output: OutputOptions,

    #[command(flatten)]
    pub delivery: DeliveryOptions,
}

/// How the probe runs, shared by `check` and `batch`. Every one of these is also a key of
/// the config file and of a batch line (docs/config.md).
#[derive(Debug, Clone, Args)]
pub struct ProbeOptions {
    /// Read settings from this TOML file: its [defaults], and the module --module (or a
    /// batch line's module=NAME) names. Flags given here win over the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Use this module of the --config file (in a batch: for lines that name none).
    #[arg(long, value_name = "NAME", requires = "config")]
    pub module: Option<String>,

    /// The DNS server to ask, IP[:PORT] (default: the system's resolver).
    #[arg(long, value_name = "IP[:PORT]", value_parser = value::dns_server)]
    pub dns_server: Option<SocketAddr>,

    /// Check IPv4 addresses only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Check IPv6 addresses only.
    #[arg(short = '6')]
    pub ipv6: bool,

    /// PASV and EPSV commands to sample, each, 1-50 (default 5).
    #[arg(long, short = 'k', value_name = "K", value_parser = value::samples)]
    pub samples: Option<u32>,

    /// Real listings to make: 2 (one over PASV, one over EPSV; the default) or 1 (over the
    /// last sample, EPSV when the server offers it: the quickest check, for monitoring).
    #[arg(long, value_name = "N", value_parser = value::transfers)]
    pub transfers: Option<u32>,

    /// Longest wait for any one step (connect, reply, data), e.g. 5s (the default), 500ms.
    #[arg(long, value_name = "DURATION", value_parser = value::duration)]
    pub timeout: Option<Duration>,

    /// Longest one check may take, e.g. 60s (the default), 2m (in a batch: per target).
    #[arg(long, value_name = "DURATION", value_parser = value::duration)]
    pub deadline: Option<Duration>,

    /// Also test-connect to advertised addresses that are not the target's own. A PASV
    /// reply can name any host (RFC 2577, CVE-2020-8284): use only where contacting the
    /// advertised address is acceptable.
    #[arg(long)]
    pub probe_advertised: bool,

    /// TLS: auto (AUTH TLS when the server accepts it, else plain; the default for ftp://),
    /// explicit (AUTH TLS required), implicit (TLS from the first byte; the default for
    /// ftps://, port 990), off.
    #[arg(long, value_enum, value_name = "MODE")]
    pub tls: Option<TlsMode>,

    /// Data channel protection under TLS: p (private, PROT P; the default) or c (clear,
    /// PROT C).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub prot: Option<Prot>,

    /// Highest TLS version to offer (1.2 or 1.3; the default).
    #[arg(long, value_enum, value_name = "VERSION")]
    pub tls_max: Option<TlsMax>,

    /// Go on when the certificate does not verify (the report still says why). Without it
    /// an untrusted certificate ends the check.
    #[arg(long)]
    pub insecure: bool,

    /// Also trust the CA certificate(s) in this PEM file.
    #[arg(long, value_name = "PEM", value_parser = value::path)]
    pub ca_file: Option<PathBuf>,

    /// Report certificates that expire within this many days (default 21).
    #[arg(long, value_name = "DAYS", value_parser = value::days)]
    pub cert_warn_days: Option<u32>,

    /// After a TLS session, log in once more in plain text and compare the PASV replies
    /// (a router's FTP helper rewrites plain PASV but cannot see into TLS). Sends the
    /// password in clear; done by default only for anonymous logins.
    #[arg(long)]
    pub compare_plain: bool,

    /// Learn this machine's public address from URL (an HTTP GET that answers with the
    /// address as text) so the report can tell when client and server sit behind the same
    /// NAT or the server advertises the client's own address. Off unless given: no call is
    /// made by default.
    #[arg(long, value_name = "URL")]
    pub my_ip_url: Option<String>,
}

impl ProbeOptions {
    /// The flags given, as a layer: a flag not given names nothing.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::default();
        let flag = |on: bool| on.then_some(true);
        o.dns_server = self.dns_server;
        o.family = match (self.ipv4, self.ipv6) {
            (true, _) => Some(Family::V4),
            (_, true) => Some(Family::V6),
            _ => None,
        };
        o.samples = self.samples;
        o.transfers = self.transfers;
        o.timeout = self.timeout;
        o.deadline = self.deadline;
        o.probe_advertised = flag(self.probe_advertised);
        o.tls = self.tls.map(TlsRequest::from);
        o.prot_clear = self.prot.map(|p| p == Prot::C);
        o.max_tls12 = self.tls_max.map(|v| v == TlsMax::V1_2);
        o.insecure = flag(self.insecure);
        o.ca_file = self.ca_file.clone();
        o.cert_warn_days = self.cert_warn_days;
        o.compare_plain = flag(self.compare_plain);
        o.my_ip_url = self.my_ip_url.clone();
        o
    }
}

impl CheckOptions {
    /// The flags of `check` as a layer (the password from stdin is read by the caller).
    pub fn overrides(&self) -> Overrides {
        let mut o = self.probe.overrides();
        o.user = self.user.clone();
        o.password_env = self.password_env.clone();
        o.password_file = self.password_file.clone();
        o.expect_range = self.expect_range;
        o.expect_address = self.expect_address;
        o.scan_range = self.scan_range;
        o.scan_rate = self.scan_rate;
        o.active = self.active.then_some(true);
        o.active_address = self.active_address;
        o
    }
}

/// Where the report goes besides stdout.
#[derive(Debug, Clone, Args)]
pub struct DeliveryOptions {
    /// POST the JSON report to URL (in a batch: each target's report as it finishes), with
    /// a timeout and retries. A failed POST is reported on stderr and never loses the local
    /// output.
    #[arg(long, value_name = "URL")]
    pub post: Option<String>,

    /// Send an Authorization header with --post, its whole value (e.g. "Bearer TOKEN") read
    /// from the environment variable VAR; never given on the command line.
    #[arg(
        long,
        value_name = "VAR",
        requires = "post",
        conflicts_with = "post_auth_file"
    )]
    pub post_auth_env: Option<String>,

    /// As --post-auth-env, the value read from FILE (first line).
    #[arg(long, value_name = "FILE", requires = "post")]
    pub post_auth_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The batch file, one target per line (`-` for stdin): TARGET [key=value ...] with the
    /// keys of the config file (user=U, password-env=VAR, password-file=PATH, tls=MODE,
    /// ca-file=PEM, insecure=true, samples=K, transfers=N, timeout=5s, deadline=60s,
    /// expect-range=LOW-HIGH, expect-address=IP, module=NAME, ...; see docs/config.md);
    /// `#` comments and blank lines are ignored.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// Targets checked at the same time.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    #[command(flatten)]
    pub probe: ProbeOptions,

    /// Output: one line per target for people (the default on a terminal), JSON Lines (one
    /// report per target as each finishes; the default into a pipe or a file), or one
    /// Prometheus exposition or one HTML page for the whole run at the end.
    #[arg(long, value_enum, default_value_t = BatchFormat::Auto)]
    pub format: BatchFormat,

    #[command(flatten)]
    pub delivery: DeliveryOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BatchFormat {
    /// Lines for people on a terminal, JSON Lines into a pipe or a file.
    Auto,
    /// One line per target as it finishes: verdict, target, root cause, time.
    Lines,
    /// One JSON report per line, written as each target finishes.
    #[value(alias = "json")]
    Jsonl,
    /// Prometheus text exposition for every target, at the end.
    Prometheus,
    /// One self-contained HTML page for the whole run, at the end: a table of every target,
    /// worst first, linking to each target's report with its pictures.
    Html,
}

/// How the report is shown.
#[derive(Debug, Clone, Args)]
pub struct OutputOptions {
    /// Output format: tables for people, Markdown for a ticket, one HTML page with pictures
    /// of the session (self-contained: attach it to a ticket, open it offline, print it),
    /// versioned JSON for scripts, monitoring formats.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,

    /// Colour: auto (on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE forces it),
    /// always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Also show the control session (commands and replies, password masked) with
    /// timestamps, and every port test in its own row.
    #[arg(long)]
    pub transcript: bool,

    /// Show every port test in its own row (by default identical outcomes share one row).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    Auto,
    Explicit,
    Implicit,
    Off,
}

impl From<TlsMode> for TlsRequest {
    fn from(m: TlsMode) -> Self {
        match m {
            TlsMode::Auto => TlsRequest::Auto,
            TlsMode::Explicit => TlsRequest::Explicit,
            TlsMode::Implicit => TlsRequest::Implicit,
            TlsMode::Off => TlsRequest::Off,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Prot {
    P,
    C,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMax {
    #[value(name = "1.2")]
    V1_2,
    #[value(name = "1.3")]
    V1_3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Tables for people (the default).
    #[value(alias = "text")]
    Table,
    /// One versioned JSON report (see docs/json-report.md).
    Json,
    /// A short answer to paste into a ticket, evidence collapsed.
    Markdown,
    /// The monitoring-plugins convention: `PASV STATUS - summary | perfdata`.
    Nagios,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prometheus,
    /// One self-contained HTML page: the answer first, a picture of the addresses, a
    /// timeline of the session, findings, clients, certificate and transcript.
    Html,
}

impl From<CheckFormat> for crate::report::Format {
    fn from(f: CheckFormat) -> Self {
        use crate::report::Format;
        match f {
            CheckFormat::Table => Format::Table,
            CheckFormat::Json => Format::Json,
            CheckFormat::Markdown => Format::Markdown,
            CheckFormat::Nagios => Format::Nagios,
            CheckFormat::Prometheus => Format::Prometheus,
            CheckFormat::Html => Format::Html,
        }
    }
}

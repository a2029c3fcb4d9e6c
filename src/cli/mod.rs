//! Command-line definitions (clap derive; the doc comments are the help text) and the glue
//! that runs each subcommand. Usage errors exit 3 (UNKNOWN), not clap's default 2, because
//! 2 means CRITICAL to a monitoring system.

mod argv;
pub mod batch;
pub mod check;
pub mod decode;
mod delivery;
pub mod docs;
pub mod explain;
pub mod password;

pub use argv::{parse, with_default_command};

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::Status;
use crate::target::parse_range;

/// Diagnose FTP passive-mode connectivity and NAT mismatches.
///
/// pasv-doctor explains why FTP data connections fail: it decodes what a server advertises
/// in its PASV (227) and EPSV (229) replies, compares it with the address the client really
/// talks to, and says which clients break and which setting fixes it.
#[derive(Debug, Parser)]
#[command(name = "pasv-doctor", version, propagate_version = true)]
#[command(
    override_usage = "pasv-doctor [OPTIONS] TARGET      (same as: pasv-doctor check TARGET)\n       pasv-doctor <COMMAND> [ARGS]"
)]
#[command(after_help = "\
Examples:
  pasv-doctor demo                                  see a report without a server of your own
  pasv-doctor ftp.example.com                       check a server (anonymous login)
  PASV_DOCTOR_PASSWORD=... pasv-doctor ftp://alice@ftp.example.com/
  pasv-doctor check --format json --samples 3 ftp.example.com
  pasv-doctor decode \"227 Entering Passive Mode (10,0,0,5,195,80).\"

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the check could not run: bad usage,
no address to check).")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a server: log in, exercise PASV and EPSV, test the data ports, move real data.
    ///
    /// `pasv-doctor TARGET` is the same as `pasv-doctor check TARGET`. The tool connects only
    /// to the target's own addresses (the control connection's peer and the name's DNS
    /// answers); an address a PASV reply names elsewhere is reported, not contacted, unless
    /// --probe-advertised is given.
    #[command(after_help = "\
Examples:
  pasv-doctor check ftp.example.com                      anonymous login
  pasv-doctor check ftp://alice@ftp.example.com:2121/pub  prompts for the password on a terminal
  FTP_PW=... pasv-doctor check --password-env FTP_PW --format markdown ftp://alice@ftp.example.com/
  pasv-doctor check --format nagios --samples 1 --transfers 1 ftp.example.com

Password: --password-stdin, --password-env VAR, the PASV_DOCTOR_PASSWORD variable, or a
no-echo prompt on a terminal; never on the command line.

Exit codes: 0 OK, 1 WARNING (some clients break), 2 CRITICAL (transfers fail),
3 UNKNOWN (the check could not run: bad usage, no address to check).")]
    Check(CheckArgs),
    /// Run a check against a built-in FTP server on 127.0.0.1 that shows a common problem.
    ///
    /// Scenarios: private-address (the default: the server advertises its LAN address, the
    /// classic NAT mistake), healthy, wrong-public-address, refused-data-port,
    /// filtered-data-port, bad-ip.
    Demo(DemoArgs),
    /// Check many targets from a file, several at a time, streaming one JSON report per
    /// line as each finishes, with a summary on stderr. Exit with the worst status.
    Batch(BatchArgs),
    /// Decode passive-mode replies (227 PASV, 229 EPSV, 228 LPSV) copied from a log.
    ///
    /// Prints the advertised address and port, the address class (private, CGNAT, ...),
    /// notes on the reply's shape and which client families would fail to parse it.
    /// Replies come from the arguments, one per argument, or from stdin (one per line;
    /// log prefixes such as "Response:" are skipped, and lines that are not passive replies
    /// are ignored). Exit 0 when every reply decoded, 2 when one did not, 3 on usage errors.
    Decode(DecodeArgs),
    /// Explain a client's log: FileZilla, WinSCP, curl -v, lftp -d or a bare transcript.
    ///
    /// Reads the log (FILE, or - for stdin), rebuilds the session the client had with the
    /// server and gives the same report as a live check: findings, which clients work, the
    /// fix. It sends no network traffic at all. Passwords are always redacted, user names
    /// unless --keep-user. Exit codes as for check; 3 when the input is not an FTP client
    /// log or cannot be read.
    Explain(ExplainArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    ///
    /// bash: pasv-doctor completions bash > /etc/bash_completion.d/pasv-doctor
    /// zsh:  pasv-doctor completions zsh > "${fpath[1]}/_pasv-doctor"
    Completions(CompletionsArgs),
    /// Print the manual page (roff): pasv-doctor man | man -l -
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The log file, or - for stdin.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// Read the log as this format instead of detecting it.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub from: Option<crate::explain::Format>,

    /// Keep user names in the output (passwords are always redacted).
    #[arg(long)]
    pub keep_user: bool,

    #[command(flatten)]
    pub output: OutputOptions,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Replies to decode, e.g. "227 Entering Passive Mode (10,0,0,5,195,80)."; none or "-"
    /// reads stdin.
    #[arg(value_name = "REPLY")]
    pub replies: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DecodeFormat::Text)]
    pub format: DecodeFormat,

    /// The command that drew the replies, when known: a 227 answering EPSV (or a 229
    /// answering PASV) is flagged.
    #[arg(long, value_enum, value_name = "COMMAND")]
    pub sent: Option<SentCommand>,
}

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
    /// User to log in as (default: the URL's user, else anonymous).
    #[arg(long, short = 'u', value_name = "USER")]
    pub user: Option<String>,

    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "password_stdin")]
    pub password_env: Option<String>,

    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub probe: ProbeOptions,

    /// The passive port range the firewall forwards, LOW-HIGH; ports outside it are reported.
    #[arg(long, value_name = "LOW-HIGH", value_parser = parse_range)]
    pub expect_range: Option<(u16, u16)>,

    /// The address the server should advertise; any other is reported.
    #[arg(long, value_name = "IP")]
    pub expect_address: Option<IpAddr>,

    /// With --format nagios: WARNING when the whole check takes longer than this.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub warning: Option<Duration>,

    /// With --format nagios: CRITICAL when the whole check takes longer than this.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub critical: Option<Duration>,

    #[command(flatten)]
    pub output: OutputOptions,

    #[command(flatten)]
    pub delivery: DeliveryOptions,
}

/// How the probe runs, shared by `check` and `batch`.
#[derive(Debug, Clone, Args)]
pub struct ProbeOptions {
    /// The DNS server to ask, IP[:PORT] (default: the system's resolver).
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_dns_server)]
    pub dns_server: Option<SocketAddr>,

    /// Check IPv4 addresses only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Check IPv6 addresses only.
    #[arg(short = '6')]
    pub ipv6: bool,

    /// PASV and EPSV commands to sample, each.
    #[arg(long, short = 'k', value_name = "K", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub samples: u32,

    /// Real listings to make: 2 (one over PASV, one over EPSV) or 1 (over the last sample,
    /// EPSV when the server offers it: the quickest check, for monitoring).
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=2))]
    pub transfers: u32,

    /// Longest wait for any one step (connect, reply, data), e.g. 5s, 500ms.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Longest one check may take, e.g. 60s, 2m (in a batch: per target).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub deadline: Duration,

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

    /// Data channel protection under TLS: p (private, PROT P) or c (clear, PROT C).
    #[arg(long, value_enum, default_value_t = Prot::P, value_name = "LEVEL")]
    pub prot: Prot,

    /// Highest TLS version to offer (1.2 or 1.3).
    #[arg(long, value_enum, default_value_t = TlsMax::V1_3, value_name = "VERSION")]
    pub tls_max: TlsMax,

    /// Go on when the certificate does not verify (the report still says why). Without it
    /// an untrusted certificate ends the check.
    #[arg(long)]
    pub insecure: bool,

    /// Also trust the CA certificate(s) in this PEM file.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<std::path::PathBuf>,

    /// Report certificates that expire within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 21)]
    pub cert_warn_days: u32,

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
    /// The batch file, one target per line (`-` for stdin): TARGET [user=U]
    /// [password-env=VAR] [tls=off] [expect-range=LOW-HIGH] [expect-address=IP]; `#`
    /// comments and blank lines are ignored.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// Targets checked at the same time.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    #[command(flatten)]
    pub probe: ProbeOptions,

    /// Output: JSON Lines (one report per target, as each finishes) or one Prometheus
    /// exposition for the whole run at the end.
    #[arg(long, value_enum, default_value_t = BatchFormat::Jsonl)]
    pub format: BatchFormat,

    #[command(flatten)]
    pub delivery: DeliveryOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BatchFormat {
    /// One JSON report per line, written as each target finishes.
    #[value(alias = "json")]
    Jsonl,
    /// Prometheus text exposition for every target, at the end.
    Prometheus,
}

/// How the report is shown.
#[derive(Debug, Clone, Args)]
pub struct OutputOptions {
    /// Output format: tables for people, Markdown for a ticket, versioned JSON for scripts.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,

    /// Colour: auto (on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE forces it),
    /// always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Also show the control session (commands and replies, password masked) with
    /// timestamps.
    #[arg(long)]
    pub transcript: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    Auto,
    Explicit,
    Implicit,
    Off,
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

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which problem the built-in server shows.
    #[arg(long, value_enum, default_value_t = DemoScenario::PrivateAddress)]
    pub scenario: DemoScenario,

    /// PASV and EPSV commands to sample, each.
    #[arg(long, short = 'k', value_name = "K", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub samples: u32,

    /// Longest wait for any one step.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,

    #[command(flatten)]
    pub output: OutputOptions,
}

/// `--scenario`: the demo's scenarios by their command-line names (clap stays in `cli`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoScenario {
    /// The server advertises its private LAN address 10.0.0.5 (the classic NAT mistake).
    PrivateAddress,
    /// A correctly configured server.
    Healthy,
    /// The server advertises a stale public address, 203.0.113.7.
    WrongPublicAddress,
    /// Nothing listens on the advertised data port.
    RefusedDataPort,
    /// The data ports are dropped, as by a firewall.
    FilteredDataPort,
    /// The data connection opens, then vsftpd-style "425 Security: Bad IP connecting."
    BadIp,
}

impl From<DemoScenario> for crate::demo::Scenario {
    fn from(s: DemoScenario) -> Self {
        use crate::demo::Scenario;
        match s {
            DemoScenario::PrivateAddress => Scenario::PrivateAddress,
            DemoScenario::Healthy => Scenario::Healthy,
            DemoScenario::WrongPublicAddress => Scenario::WrongPublicAddress,
            DemoScenario::RefusedDataPort => Scenario::RefusedDataPort,
            DemoScenario::FilteredDataPort => Scenario::FilteredDataPort,
            DemoScenario::BadIp => Scenario::BadIp,
        }
    }
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
        }
    }
}

/// `5`, `5s`, `500ms`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration: use e.g. 5s, 500ms, 2m"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit \"{unit}\": use ms, s or m")),
    };
    if !(0.001..=3600.0).contains(&secs) {
        return Err("a duration must lie between 1ms and 60m".to_string());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `IP` or `IP:PORT` or `[IPv6]:PORT`; port 53 by default.
pub fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    s.trim_matches(['[', ']'])
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("\"{s}\" is not IP or IP:PORT"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeFormat {
    /// Readable text.
    Text,
    /// One JSON object per reply, one per line (JSON Lines).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SentCommand {
    Pasv,
    Epsv,
    Lpsv,
}

/// Runs a parsed command line, writing the result to `out` and messages to `err`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    match cli.command {
        Command::Decode(args) => decode::run(&args, &mut io::stdin().lock(), out, err),
        Command::Explain(args) => explain::run(&args, &mut io::stdin().lock(), out, err),
        Command::Check(args) => check::run_check(&args, out, err),
        Command::Demo(args) => check::run_demo(&args, out, err),
        Command::Batch(args) => batch::run(&args, out, err),
        Command::Completions(args) => docs::completions(args.shell, out),
        Command::Man => docs::man(out),
    }
}

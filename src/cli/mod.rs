//! Command-line definitions (clap derive; the doc comments are the help text) and the glue
//! that runs each subcommand: parse the arguments, call the library (`crate::check`,
//! `crate::fleet`, `crate::explain`), pick a format and write. Usage errors exit 3
//! (UNKNOWN), not clap's default 2, because 2 means CRITICAL to a monitoring system.

mod args;
mod argv;
pub mod batch;
pub mod check;
pub mod decode;
mod delivery;
pub mod docs;
pub mod explain;
mod interrupt;
pub mod serve;
mod status;
use interrupt::paste_hint;
pub mod password;

pub use args::{
    BatchArgs, BatchFormat, CheckArgs, CheckFormat, CheckOptions, ColorChoice, DeliveryOptions,
    OutputOptions, ProbeOptions, Prot, TlsMax, TlsMode,
};
pub use argv::{parse, with_default_command};

use std::io::{self, Write};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::value;
use crate::exit::Status;

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
    /// Serve checks over HTTP: a Prometheus exporter (/probe), a JSON API and a web desk.
    ///
    /// Listens on 127.0.0.1:9129 unless --listen or the config's [serve] listen say
    /// otherwise. Only servers allowed by [serve] allow_targets are checked (by default:
    /// global unicast addresses only). A non-loopback address needs auth_token_file.
    /// Ctrl-C or SIGTERM stops it gracefully. See docs/serve.md.
    Serve(ServeArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    ///
    /// bash: pasv-doctor completions bash > /etc/bash_completion.d/pasv-doctor
    /// zsh:  pasv-doctor completions zsh > "${fpath[1]}/_pasv-doctor"
    Completions(CompletionsArgs),
    /// Print the manual page (roff): pasv-doctor man | man -l -
    Man,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The TOML config file: [serve], [defaults] and [modules.NAME] (docs/serve.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// The address to listen on (wins over [serve] listen; default 127.0.0.1:9129).
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<std::net::SocketAddr>,

    /// Listen on a non-loopback address without a token, because something in front of
    /// the service authenticates. Logged as a warning.
    #[arg(long)]
    pub allow_unauthenticated: bool,
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
pub struct DemoArgs {
    /// Which problem the built-in server shows.
    #[arg(long, value_enum, default_value_t = DemoScenario::PrivateAddress)]
    pub scenario: DemoScenario,

    /// PASV and EPSV commands to sample, each.
    #[arg(long, short = 'k', value_name = "K", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub samples: u32,

    /// Longest wait for any one step.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = value::duration)]
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

/// The one tokio runtime a command runs on: on the calling thread for one check (`check`,
/// `demo`), on `workers` threads for a batch, so that writing and posting reports never
/// wait behind the probes.
fn runtime(workers: usize) -> io::Result<tokio::runtime::Runtime> {
    if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
}

/// Runs a parsed command line, writing the result to `out` and messages to `err`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    match cli.command {
        Command::Decode(args) => decode::run(&args, &mut io::stdin().lock(), out, err),
        Command::Explain(args) => explain::run(&args, &mut io::stdin().lock(), out, err),
        Command::Check(args) => check::run_check(&args, out, err),
        Command::Demo(args) => check::run_demo(&args, out, err),
        Command::Batch(args) => batch::run(&args, out, err),
        Command::Serve(args) => serve::run(&args, err),
        Command::Completions(args) => docs::completions(args.shell, out),
        Command::Man => docs::man(out),
    }
}

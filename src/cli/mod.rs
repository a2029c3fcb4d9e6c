//! Command-line definitions (clap derive; the doc comments are the help text) and the glue
//! that runs each subcommand. Usage errors exit 3 (UNKNOWN), not clap's default 2, because
//! 2 means CRITICAL to a monitoring system.

pub mod decode;

use std::io::{self, Write};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::Status;

/// Diagnose FTP passive-mode connectivity and NAT mismatches.
///
/// pasv-doctor explains why FTP data connections fail: it decodes what a server advertises
/// in its PASV (227) and EPSV (229) replies, compares it with the address the client really
/// talks to, and says which clients break and which setting fixes it.
#[derive(Debug, Parser)]
#[command(name = "pasv-doctor", version, propagate_version = true)]
#[command(after_help = "\
Examples:
  pasv-doctor decode \"227 Entering Passive Mode (10,0,0,5,195,80).\"
  grep -E '22[789] ' client.log | pasv-doctor decode
  pasv-doctor decode --format json \"229 Entering Extended Passive Mode (|||50006|)\"

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad usage or unreadable input).")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode passive-mode replies (227 PASV, 229 EPSV, 228 LPSV) copied from a log.
    ///
    /// Prints the advertised address and port, the address class (private, CGNAT, ...),
    /// notes on the reply's shape and which client families would fail to parse it.
    /// Replies come from the arguments, one per argument, or from stdin (one per line;
    /// log prefixes such as "Response:" are skipped, and lines that are not passive replies
    /// are ignored). Exit 0 when every reply decoded, 2 when one did not, 3 on usage errors.
    Decode(DecodeArgs),
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

/// Parses the command line; prints help, version or a usage error and returns the status
/// to exit with when there is nothing to run.
pub fn parse() -> Result<Cli, Status> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(err) => {
            use clap::error::ErrorKind;
            let status = match err.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Status::Ok,
                _ => Status::Unknown,
            };
            // Help on a missing subcommand is a usage error for scripts.
            let status = if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                Status::Unknown
            } else {
                status
            };
            let _ = err.print();
            Err(status)
        }
    }
}

/// Runs a parsed command line, writing the result to `out` and messages to `err`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Status> {
    match cli.command {
        Command::Decode(args) => decode::run(&args, &mut io::stdin().lock(), out, err),
    }
}

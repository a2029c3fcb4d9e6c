//! The command line as typed: `pasv-doctor TARGET` means `check TARGET`, a mistyped
//! subcommand is a usage error (never a host name), and clap's errors exit 3, not 2.

use clap::Parser;

use super::Cli;
use crate::exit::Status;

/// Parses the command line; prints help, version or a usage error and returns the status
/// to exit with when there is nothing to run.
pub fn parse() -> Result<Cli, Status> {
    match Cli::try_parse_from(with_default_command(std::env::args_os().collect())) {
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
            if err.kind() == ErrorKind::InvalidSubcommand
                && let Some(word) = std::env::args().nth(1)
            {
                eprintln!("tip: to check a host named '{word}', write: pasv-doctor check {word}");
            }
            Err(status)
        }
    }
}

/// `pasv-doctor TARGET ...` means `pasv-doctor check TARGET ...`: insert `check` when the
/// first argument is neither a subcommand nor a global flag.
pub fn with_default_command(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const KNOWN: [&str; 13] = [
        "check",
        "serve",
        "demo",
        "decode",
        "batch",
        "explain",
        "completions",
        "man",
        "help",
        "-h",
        "--help",
        "-V",
        "--version",
    ];
    if let Some(first) = args.get(1)
        && !KNOWN.iter().any(|k| first == *k)
        && !looks_like_command(first)
    {
        args.insert(1, "check".into());
    }
    args
}

/// A bare lower-case word (`chek`, `no-such-command`) is a mistyped subcommand, not a
/// host: a single-label host name is checked with `pasv-doctor check NAME`, so that a typo
/// never becomes a DNS query.
fn looks_like_command(arg: &std::ffi::OsStr) -> bool {
    let Some(word) = arg.to_str() else {
        return false;
    };
    word != "localhost"
        && !word.is_empty()
        && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && !word.starts_with('-')
}

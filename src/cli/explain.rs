//! `pasv-doctor explain FILE`: read a client's log (a file or stdin, bounded), hand it to the
//! pure `explain` room, and render the transcript it rebuilds exactly as `check` renders a
//! live one. No network traffic: nothing here or in `explain` opens a socket. Unreadable
//! input and logs that are not FTP client logs are a message on stderr and exit 3.

use std::io::{self, Read, Write};

use super::ExplainArgs;
use super::check::render_options;
use crate::exit::Status;
use crate::explain::{self, ExplainError, MAX_INPUT, Options};
use crate::knowledge::servers::{Product, fingerprint};
use crate::report::nagios::Thresholds;
use crate::report::{self, Report};
use crate::transcript::Transcript;

/// `--from NAME`: the log formats by the names `Format::name` gives them.
impl clap::ValueEnum for explain::Format {
    fn value_variants<'a>() -> &'a [Self] {
        &explain::Format::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.describe()))
    }
}

/// Reads at most `MAX_INPUT + 1` bytes, so a larger input is told apart without reading it
/// all.
fn read_bounded(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_INPUT as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn read_input(file: &str, stdin: &mut dyn Read) -> Result<Vec<u8>, String> {
    if file == "-" {
        return read_bounded(stdin).map_err(|e| format!("cannot read stdin: {e}"));
    }
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("cannot read {file}: it is a directory"));
    }
    let mut f = std::fs::File::open(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    read_bounded(&mut f).map_err(|e| format!("cannot read {file}: {e}"))
}

/// Who wrote the log and what it lacks: the report's preface (after its headline).
fn preface(t: &Transcript, format: explain::Format) -> Vec<String> {
    let Some(log) = &t.client_log else {
        return Vec::new();
    };
    let client = match (&log.client, &log.version) {
        (Some(c), Some(v)) => format!("{c} {v}"),
        (Some(c), None) => format!("{c} (version not in the log)"),
        _ => "an unknown client".to_string(),
    };
    let products: Vec<String> = t
        .servers
        .iter()
        .map(fingerprint)
        .filter(|f| f.product != Product::Unknown)
        .map(|f| match (f.version, f.evidence) {
            (Some(v), Some(e)) => format!("{} {v} (\"{e}\")", f.product.name()),
            (None, Some(e)) => format!("{} (\"{e}\")", f.product.name()),
            (v, None) => format!("{} {}", f.product.name(), v.unwrap_or_default()),
        })
        .collect();
    let server = if products.is_empty() {
        "not recognised from the greeting".to_string()
    } else {
        products.join(", ")
    };
    vec![
        format!(
            "Explained from a {} ({}), written by {client}.",
            format.describe(),
            t.target.input
        ),
        "No network traffic: the findings come from what the client did and saw.".to_string(),
        format!("Server: {server}."),
        format!("Not in the log: {}.", log.unknown.join("; ")),
    ]
}

pub fn run(
    args: &ExplainArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<Status> {
    if args.file == "-" {
        super::paste_hint(err, "the client's log")?;
    }
    let bytes = match read_input(&args.file, stdin) {
        Ok(b) => b,
        Err(msg) => {
            writeln!(err, "pasv-doctor: {msg}")?;
            return Ok(Status::Unknown);
        }
    };
    let name = if args.file == "-" {
        "stdin".to_string()
    } else {
        args.file.clone()
    };
    let opts = Options {
        from: args.from,
        keep_user: args.keep_user,
        input_name: name.clone(),
    };
    let explained = match explain::explain(&bytes, &opts) {
        Ok(e) => e,
        Err(ExplainError::TooLarge { limit }) => {
            writeln!(
                err,
                "pasv-doctor: {name} is larger than {} MiB, the most explain reads; cut the log \
                 to the session in question",
                limit / (1024 * 1024)
            )?;
            return Ok(Status::Unknown);
        }
        Err(e) => {
            writeln!(err, "pasv-doctor: {name}: {e}")?;
            return Ok(Status::Unknown);
        }
    };
    for w in &explained.warnings {
        writeln!(err, "pasv-doctor: {name}: {w}")?;
    }
    let t = &explained.transcript;
    let report = Report::new(t).with_preface(preface(t, explained.format));
    let opts = render_options(&args.output, Thresholds::default());
    report::render(&report, out, &opts)?;
    Ok(report::status(&report, &opts))
}

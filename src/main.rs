//! The `pasv-doctor` binary: parse the command line, run, map the outcome to an exit code.
//! Everything else lives in the library.

use std::io::{self, Write};
use std::process::ExitCode;

use pasv_doctor::{cli, exit::Status};

fn main() -> ExitCode {
    let parsed = match cli::parse() {
        Ok(parsed) => parsed,
        Err(status) => return status.into(),
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    // Not locked for the whole run: the status line and the Ctrl-C notice write to stderr
    // from other threads.
    let mut err = io::stderr();
    match cli::run(parsed, &mut out, &mut err) {
        Ok(status) => status.into(),
        // `pasv-doctor ... | head`: the reader went away; that is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Status::Ok.into(),
        Err(e) => {
            let _ = writeln!(err, "pasv-doctor: {e}");
            Status::Unknown.into()
        }
    }
}

//! Shell completions and the manual page, generated from the same clap definition that
//! parses the command line, so they cannot fall out of step with it.

use std::io::{self, Write};

use clap::CommandFactory;

use super::Cli;
use crate::exit::Status;

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<Status> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "pasv-doctor", out);
    Ok(Status::Ok)
}

/// Writes the manual page (roff): the top page, then one section per subcommand.
pub fn man(out: &mut dyn Write) -> io::Result<Status> {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let title = format!("pasv-doctor-{}", sub.get_name());
        clap_mangen::Man::new(sub.clone())
            .title(title)
            .render(out)?;
    }
    Ok(Status::Ok)
}

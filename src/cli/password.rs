//! Where the password comes from, in order: `--password-stdin`, `--password-env VAR`, the
//! `PASV_DOCTOR_PASSWORD` variable, then a no-echo prompt when stdin is a terminal. Never a
//! plain argv flag: argv is visible to every user of the machine.

use std::io::{BufRead, IsTerminal};

use crate::secret::Secret;

/// The variable read when no other source is given.
pub const PASSWORD_VAR: &str = "PASV_DOCTOR_PASSWORD";

/// Where to look, from the command line.
#[derive(Debug, Clone, Default)]
pub struct PasswordSource {
    pub from_stdin: bool,
    pub env_var: Option<String>,
}

/// Resolves the password for `user` at `server` (`host:port`, named in the prompt). `Err`
/// is a message for the user (exit 3).
pub fn resolve(
    source: &PasswordSource,
    user: &str,
    server: &str,
    anonymous: bool,
    stdin: &mut dyn BufRead,
) -> Result<Option<Secret>, String> {
    if source.from_stdin {
        let mut line = String::new();
        stdin
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            return Err("--password-stdin was given but stdin had no password line".to_string());
        }
        return Ok(Some(Secret::new(pw)));
    }
    if let Some(var) = &source.env_var {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            Ok(_) => Err(format!(
                "the variable {var} named by --password-env is empty"
            )),
            Err(_) => Err(format!(
                "the variable {var} named by --password-env is not set (export {var}=... first)"
            )),
        };
    }
    if let Ok(v) = std::env::var(PASSWORD_VAR)
        && !v.is_empty()
    {
        return Ok(Some(Secret::new(v)));
    }
    if !anonymous && std::io::stdin().is_terminal() {
        let pw = rpassword::prompt_password(format!("Password for {user}@{server}: "))
            .map_err(|e| format!("cannot read the password from the terminal: {e}"))?;
        return Ok(Some(Secret::new(pw)));
    }
    Ok(None)
}

//! The config file (TOML): `[defaults]` for every check, and named `[modules.NAME]` that
//! `check --module NAME` and a batch line's `module=NAME` pick. Every table takes the keys
//! of [`Overrides`]; an unknown key is an error naming it and its line. A `[serve]` table
//! holds the settings of `pasv-doctor serve` (`serve.rs`); it is checked here like the
//! rest, and the checks themselves do not use it.
//!
//! ```toml
//! [defaults]
//! timeout = "5s"
//! [modules.customer]
//! user = "monitor"
//! password_env = "FTP_MONITOR_PASSWORD"
//! tls = "explicit"
//! expect_range = "50000-50100"
//! ```
//!
//! File names in the file (`ca_file`, `password_file`) are relative to the file's folder,
//! so the file means the same from wherever it is used.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::serve::ServeTable;
use super::{ConfigError, Overrides};

/// The largest config file read.
const MAX_FILE: u64 = 1024 * 1024;

/// A config file as read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub defaults: Overrides,
    #[serde(default)]
    pub modules: BTreeMap<String, Overrides>,
    /// `[serve]`: the service's own settings; the checks do not use them.
    #[serde(default)]
    pub serve: ServeTable,
    /// Where the file was read from (named in messages).
    #[serde(skip)]
    pub path: PathBuf,
}

impl ConfigFile {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let read = |e: std::io::Error| ConfigError::Read {
            path: path.to_path_buf(),
            error: e.to_string(),
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(read)?
            .take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(read)?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                error: format!("larger than {} KiB", MAX_FILE / 1024),
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::Read {
            path: path.to_path_buf(),
            error: "not UTF-8 text".to_string(),
        })?;
        ConfigFile::parse(&text, path)
    }

    /// Parses `text` as the file at `path` (whose folder anchors relative file names).
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        // toml's own rendering quotes the offending line: it could hold a password, so
        // the message is rebuilt from the line number and the message alone.
        let mut file: ConfigFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                1 + text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
            });
            // An inline password is an unknown key, told apart to say where passwords go.
            let message = if e.message().starts_with("unknown field `password`") {
                super::NO_INLINE_PASSWORD
            } else {
                e.message()
            };
            parse_error(match line {
                Some(n) => format!("line {n}: {message}"),
                None => message.to_string(),
            })
        })?;
        file.path = path.to_path_buf();
        let folder = path.parent().unwrap_or(Path::new(""));
        file.serve.anchor(folder);
        let tables = std::iter::once(("[defaults]".to_string(), &mut file.defaults)).chain(
            file.modules
                .iter_mut()
                .map(|(name, o)| (format!("[modules.{name}]"), o)),
        );
        for (table, o) in tables {
            if o.password_env.is_some() && o.password_file.is_some() {
                return Err(parse_error(format!(
                    "{table}: password_env and password_file both given: keep one"
                )));
            }
            for p in [&mut o.ca_file, &mut o.password_file].into_iter().flatten() {
                if p.is_relative() {
                    *p = folder.join(&*p);
                }
            }
        }
        Ok(file)
    }

    /// The module called `name`; an unknown one is an error listing the known ones.
    pub fn module(&self, name: &str) -> Result<&Overrides, ConfigError> {
        self.modules
            .get(name)
            .ok_or_else(|| ConfigError::UnknownModule {
                name: name.to_string(),
                path: self.path.clone(),
                known: self.modules.keys().cloned().collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::TlsRequest;
    use std::time::Duration;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(text, Path::new("/etc/pasv-doctor/config.toml"))
    }

    #[test]
    fn defaults_modules_and_a_serve_table() {
        let f = parse(
            "[defaults]\ntimeout = \"5s\"\nsamples = 2\n\n[modules.anon]\nuser = \"anonymous\"\n\n\
             [modules.customer]\nuser = \"monitor\"\npassword_env = \"FTP_MONITOR_PASSWORD\"\n\
             tls = \"explicit\"\nexpect_range = \"50000-50100\"\nca_file = \"ca.pem\"\n\
             insecure = false\ntls_max = 1.2\n\n[serve]\nlisten = \"127.0.0.1:8080\"\n\
             allow_targets = [\"203.0.113.0/24\", \"*.example.org\"]\nmax_concurrent = 8\n\
             auth_token_file = \"token\"\n",
        )
        .expect("valid");
        assert_eq!(f.defaults.timeout, Some(Duration::from_secs(5)));
        assert_eq!(f.defaults.samples, Some(2));
        let c = f.module("customer").expect("module");
        assert_eq!(c.tls, Some(TlsRequest::Explicit));
        assert_eq!(c.expect_range, Some((50000, 50100)));
        assert_eq!(c.max_tls12, Some(true));
        assert_eq!(
            c.ca_file.as_deref(),
            Some(Path::new("/etc/pasv-doctor/ca.pem"))
        );
        let e = f.module("nope").unwrap_err().to_string();
        assert!(e.contains("known: anon, customer"), "{e}");
        assert_eq!(f.serve.listen, "127.0.0.1:8080".parse().ok());
        assert_eq!(f.serve.max_concurrent, Some(8));
        assert!(f.serve.allow_targets.name_matches("ftp.example.org"));
        assert_eq!(
            f.serve.auth_token_file.as_deref(),
            Some(Path::new("/etc/pasv-doctor/token"))
        );
    }

    #[test]
    fn serve_errors_name_the_line() {
        for (text, word) in [
            ("[serve]\nlisten = \"localhost\"\n", "IP:PORT"),
            ("[serve]\nallow_targets = [\"*\"]\n", "allow_targets"),
            ("[serve]\nmax_concurrent = 0\n", "max_concurrent"),
            ("[serve]\ncolour = 1\n", "colour"),
            ("[serve]\nallowed_origins = [\"desk.example\"]\n", "origin"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains("line 2") && e.contains(word), "{e}");
        }
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let e = parse("[defaults]\ntimeout = \"5s\"\ncolour = \"blue\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("colour"), "{e}");
        let e = parse("[modules.m]\n\nsamples = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("from 1 to 50"), "{e}");
        let e = parse("[modules.m]\npassword = \"hunter2\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("password_env"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = parse("[defaults]\npassword_env = \"A\"\npassword_file = \"f\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("keep one"), "{e}");
        let e = parse("[default]\n").unwrap_err().to_string();
        assert!(e.contains("default"), "{e}");
    }
}

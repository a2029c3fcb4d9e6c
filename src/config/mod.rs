//! What to check, decided once: every setting of a check as [`Overrides`] (each field
//! optional), the layers they come from, and their resolution into the one configuration
//! the probe runs with, [`crate::probe::ProbeConfig`].
//!
//! A config file's `[defaults]` and `[modules.NAME]` (`file.rs`), a batch line's
//! `key=value` words (`crate::batch`) and the command-line flags (`crate::cli`) all produce
//! the same `Overrides`, parsed by the same value parsers (`value.rs`). The layers are
//! applied in this order, each later one winning for the settings it names:
//!
//! 1. the built-in defaults ([`Overrides::builtin`]),
//! 2. the config file's `[defaults]`,
//! 3. the module (a batch line's `module=NAME`, else `--module NAME`),
//! 4. the TARGET itself (`ftp://alice@host` names the user, `ftps://` implicit TLS),
//! 5. the batch line's own settings,
//! 6. the command-line flags (they apply to every target of a batch).
//!
//! Passwords come only from `password_env` (a variable's name) or `password_file` (a file
//! whose first line is the password), never inline: an inline password would sit in a file
//! that is copied, versioned and shown on screens.

pub mod allow;
mod de;
pub mod file;
mod resolve;
pub mod serve;
pub mod value;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::target::{Target, TargetError};
use crate::transcript::{Family, TlsRequest};

pub use allow::AllowList;
pub use file::ConfigFile;
pub use resolve::{Resolver, load_ca_file};

/// Every setting of one check, each optional: one layer of configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// The user to log in as.
    #[serde(default, deserialize_with = "de::user")]
    pub user: Option<String>,
    /// The environment variable that holds the password.
    #[serde(default, deserialize_with = "de::env_var")]
    pub password_env: Option<String>,
    /// The file whose first line is the password.
    #[serde(default, deserialize_with = "de::path")]
    pub password_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "de::tls")]
    pub tls: Option<TlsRequest>,
    /// Extra trust roots, PEM.
    #[serde(default, deserialize_with = "de::path")]
    pub ca_file: Option<PathBuf>,
    /// Go on when the certificate does not verify.
    #[serde(default, deserialize_with = "de::boolean")]
    pub insecure: Option<bool>,
    #[serde(default, deserialize_with = "de::samples")]
    pub samples: Option<u32>,
    #[serde(default, deserialize_with = "de::transfers")]
    pub transfers: Option<u32>,
    /// The longest wait for one step.
    #[serde(default, deserialize_with = "de::duration")]
    pub timeout: Option<Duration>,
    /// The longest one check may take.
    #[serde(default, deserialize_with = "de::duration")]
    pub deadline: Option<Duration>,
    #[serde(default, deserialize_with = "de::range")]
    pub expect_range: Option<(u16, u16)>,
    #[serde(default, deserialize_with = "de::ip")]
    pub expect_address: Option<IpAddr>,
    /// `prot = "c"`: PROT C (clear data connections) under TLS.
    #[serde(default, rename = "prot", deserialize_with = "de::prot_clear")]
    pub prot_clear: Option<bool>,
    /// `tls_max = "1.2"`: offer TLS 1.2 at most.
    #[serde(default, rename = "tls_max", deserialize_with = "de::max_tls12")]
    pub max_tls12: Option<bool>,
    #[serde(default, deserialize_with = "de::days")]
    pub cert_warn_days: Option<u32>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub compare_plain: Option<bool>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub probe_advertised: Option<bool>,
    #[serde(default, deserialize_with = "de::dns_server")]
    pub dns_server: Option<SocketAddr>,
    #[serde(default, deserialize_with = "de::family")]
    pub family: Option<Family>,
    #[serde(default, deserialize_with = "de::url")]
    pub my_ip_url: Option<String>,
    /// Map the passive range: `auto` or `LOW-HIGH`.
    #[serde(default, deserialize_with = "de::scan_range")]
    pub scan_range: Option<crate::probe::ScanRange>,
    /// Connection attempts per second while mapping.
    #[serde(default, deserialize_with = "de::scan_rate")]
    pub scan_rate: Option<u32>,
    /// Test active mode too.
    #[serde(default, deserialize_with = "de::boolean")]
    pub active: Option<bool>,
    /// Where to listen for the server's connection in active mode.
    #[serde(default, deserialize_with = "de::ip")]
    pub active_address: Option<IpAddr>,
}

/// The settings a batch line may name, as it names them (`_` works for `-` as well).
pub const KEYS: &str = "user, password-env, password-file, module, tls, ca-file, insecure, \
     samples, transfers, timeout, deadline, expect-range, expect-address, prot, tls-max, \
     cert-warn-days, compare-plain, probe-advertised, dns-server, family, my-ip-url, \
     scan-range, scan-rate, active, active-address";

/// Where passwords go instead of inline.
pub const NO_INLINE_PASSWORD: &str = "passwords do not belong in a file: name a variable \
     (password-env=VAR, password_env = \"VAR\" in a config file) or a file whose first line \
     is the password (password-file=PATH)";

impl Overrides {
    /// The built-in defaults: every setting but the password sources named.
    pub fn builtin() -> Overrides {
        Overrides {
            user: Some("anonymous".to_string()),
            tls: Some(TlsRequest::Auto),
            insecure: Some(false),
            samples: Some(5),
            transfers: Some(2),
            timeout: Some(Duration::from_secs(5)),
            deadline: Some(Duration::from_secs(60)),
            prot_clear: Some(false),
            max_tls12: Some(false),
            cert_warn_days: Some(21),
            compare_plain: Some(false),
            probe_advertised: Some(false),
            family: Some(Family::Any),
            ..Overrides::default()
        }
    }

    /// What the TARGET itself says: the URL's user, and implicit TLS for `ftps://`.
    pub fn from_target(target: &Target) -> Overrides {
        Overrides {
            user: target.user.clone(),
            tls: target.implicit_tls.then_some(TlsRequest::Implicit),
            ..Overrides::default()
        }
    }

    /// Lays `over` on top: every setting it names replaces this one's. The password
    /// sources go together: naming either replaces both, so a module's `password_file`
    /// does not survive a batch line's `password-env`.
    pub fn apply(&mut self, over: &Overrides) {
        macro_rules! take {
            ($($field:ident),* $(,)?) => {$(
                if over.$field.is_some() {
                    self.$field = over.$field.clone();
                }
            )*};
        }
        take!(
            user,
            tls,
            ca_file,
            insecure,
            samples,
            transfers,
            timeout,
            deadline,
            expect_range,
            expect_address,
            prot_clear,
            max_tls12,
            cert_warn_days,
            compare_plain,
            probe_advertised,
            dns_server,
            family,
            my_ip_url,
            scan_range,
            scan_rate,
            active,
            active_address,
        );
        if over.password_env.is_some() || over.password_file.is_some() {
            self.password_env = over.password_env.clone();
            self.password_file = over.password_file.clone();
        }
    }

    /// Sets one setting from a batch line's `key=value`. `module` is not a setting (it
    /// picks a layer) and is read by the batch parser. The message never repeats a
    /// password.
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), String> {
        let key = key.replace('_', "-");
        let named = |r: Result<(), String>| r.map_err(|e| format!("{key}={v}: {e}"));
        match key.as_str() {
            "password" => return Err(NO_INLINE_PASSWORD.to_string()),
            "user" => named(value::user(v).map(|x| self.user = Some(x)))?,
            "password-env" => {
                named(value::env_var(v).map(|x| self.password_env = Some(x)))?;
            }
            "password-file" => {
                named(value::path(v).map(|x| self.password_file = Some(x)))?;
            }
            "tls" => named(value::tls(v).map(|x| self.tls = Some(x)))?,
            "ca-file" => named(value::path(v).map(|x| self.ca_file = Some(x)))?,
            "insecure" => named(value::boolean(v).map(|x| self.insecure = Some(x)))?,
            "samples" => named(value::samples(v).map(|x| self.samples = Some(x)))?,
            "transfers" => named(value::transfers(v).map(|x| self.transfers = Some(x)))?,
            "timeout" => named(value::duration(v).map(|x| self.timeout = Some(x)))?,
            "deadline" => named(value::duration(v).map(|x| self.deadline = Some(x)))?,
            "expect-range" => named(value::range(v).map(|x| self.expect_range = Some(x)))?,
            "expect-address" => named(value::ip(v).map(|x| self.expect_address = Some(x)))?,
            "prot" => named(value::prot_clear(v).map(|x| self.prot_clear = Some(x)))?,
            "tls-max" => named(value::max_tls12(v).map(|x| self.max_tls12 = Some(x)))?,
            "cert-warn-days" => named(value::days(v).map(|x| self.cert_warn_days = Some(x)))?,
            "compare-plain" => named(value::boolean(v).map(|x| self.compare_plain = Some(x)))?,
            "scan-range" => named(value::scan_range(v).map(|x| self.scan_range = Some(x)))?,
            "scan-rate" => named(value::scan_rate(v).map(|x| self.scan_rate = Some(x)))?,
            "active" => named(value::boolean(v).map(|x| self.active = Some(x)))?,
            "active-address" => named(value::ip(v).map(|x| self.active_address = Some(x)))?,
            "probe-advertised" => {
                named(value::boolean(v).map(|x| self.probe_advertised = Some(x)))?;
            }
            "dns-server" => named(value::dns_server(v).map(|x| self.dns_server = Some(x)))?,
            "family" => named(value::family(v).map(|x| self.family = Some(x)))?,
            "my-ip-url" => named(value::url(v).map(|x| self.my_ip_url = Some(x)))?,
            other => return Err(format!("unknown setting \"{other}\" (known: {KEYS})")),
        }
        if self.password_env.is_some() && self.password_file.is_some() {
            return Err("password-env and password-file both given: keep one".to_string());
        }
        Ok(())
    }
}

/// Why a target's configuration could not be made; exit 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The config file could not be read.
    Read { path: PathBuf, error: String },
    /// The config file is not valid: the TOML message names the line and the key.
    Parse { path: PathBuf, message: String },
    /// A module that the config file does not define.
    UnknownModule {
        name: String,
        path: PathBuf,
        known: Vec<String>,
    },
    /// A module named without a config file.
    NoConfigFile { module: String },
    /// The TARGET could not be understood.
    Target(TargetError),
    /// The password could not be read from the source named.
    Password(String),
    /// The CA file could not be used.
    CaFile(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, error } => {
                write!(f, "cannot read the config file {}: {error}", path.display())
            }
            ConfigError::Parse { path, message } => {
                write!(
                    f,
                    "the config file {} is not valid: {message}",
                    path.display()
                )
            }
            ConfigError::UnknownModule { name, path, known } => write!(
                f,
                "no module \"{name}\" in {}; {}",
                path.display(),
                if known.is_empty() {
                    "it defines none ([modules.NAME] tables)".to_string()
                } else {
                    format!("known: {}", known.join(", "))
                }
            ),
            ConfigError::NoConfigFile { module } => write!(
                f,
                "module \"{module}\" needs a config file: give --config FILE"
            ),
            ConfigError::Target(e) => e.fmt(f),
            ConfigError::Password(m) | ConfigError::CaFile(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<TargetError> for ConfigError {
    fn from(e: TargetError) -> Self {
        ConfigError::Target(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win_and_password_sources_go_together() {
        let mut merged = Overrides::builtin();
        let mut module = Overrides::default();
        module.set("password-file", "/run/pw").expect("set");
        module.set("samples", "2").expect("set");
        module.set("tls", "explicit").expect("set");
        let mut line = Overrides::default();
        line.set("password_env", "PW").expect("set");
        line.set("tls", "off").expect("set");
        merged.apply(&module);
        merged.apply(&line);
        assert_eq!(merged.password_env.as_deref(), Some("PW"));
        assert_eq!(merged.password_file, None);
        assert_eq!(merged.samples, Some(2));
        assert_eq!(merged.tls, Some(TlsRequest::Off));
        assert_eq!(merged.timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn set_refuses_unknown_keys_bad_values_and_inline_passwords() {
        let mut o = Overrides::default();
        assert!(
            o.set("colour", "blue")
                .unwrap_err()
                .contains("unknown setting")
        );
        assert!(o.set("samples", "0").unwrap_err().starts_with("samples=0:"));
        let e = o.set("password", "hunter2").unwrap_err();
        assert!(!e.contains("hunter2") && e.contains("password-env"), "{e}");
        o.set("password-env", "A").expect("set");
        assert!(
            o.set("password-file", "/f")
                .unwrap_err()
                .contains("keep one")
        );
    }
}

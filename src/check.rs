//! One check as a library call: a target and its layers of settings in, the configuration
//! resolved (`crate::config`), the probe run (`crate::probe`), and the transcript out, from
//! which [`crate::report::Report::new`] makes the analysed report. `check`, `batch` (through
//! `crate::fleet`) and the service (`crate::serve`) all call these.

use std::fmt;

use crate::config::{ConfigError, Overrides, Resolver};
use crate::probe::{self, ProbeConfig, ProbeError};
use crate::target;
use crate::transcript::Transcript;

/// Why a check could not run (exit 3); a misbehaving server is never one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The target or its settings could not be made into a configuration.
    Config(ConfigError),
    /// The probe could not work (no resolver, an excluded address family).
    Probe(ProbeError),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Config(e) => e.fmt(f),
            CheckError::Probe(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CheckError {}

impl From<ConfigError> for CheckError {
    fn from(e: ConfigError) -> Self {
        CheckError::Config(e)
    }
}

impl From<ProbeError> for CheckError {
    fn from(e: ProbeError) -> Self {
        CheckError::Probe(e)
    }
}

/// Resolves TARGET `input` (with `module` and its own settings `own`) and checks it.
pub async fn check(
    resolver: &mut Resolver<'_>,
    input: &str,
    module: Option<&str>,
    own: &Overrides,
) -> Result<Transcript, CheckError> {
    let target = target::parse(input).map_err(ConfigError::from)?;
    let config = resolver.resolve(input, target, module, own)?;
    Ok(run(&config).await?)
}

/// Checks a resolved configuration.
pub async fn run(config: &ProbeConfig) -> Result<Transcript, ProbeError> {
    probe::run(config).await
}

/// Checks a resolved configuration, telling `progress` each step as it happens.
pub async fn run_observed(
    config: &ProbeConfig,
    progress: probe::progress::Progress,
) -> Result<Transcript, ProbeError> {
    probe::run_observed(config, probe::net::Tcp::shared(), progress).await
}

/// Checks a resolved configuration and always returns a transcript: a check that could not
/// run, or overran its deadline by more than a grace period (a bug, not a server's doing),
/// is recorded as such rather than lost.
pub async fn run_recorded(config: &ProbeConfig) -> Transcript {
    run_recorded_with(
        config,
        probe::net::Tcp::shared(),
        probe::progress::Progress::default(),
    )
    .await
}

/// [`run_recorded`] with every connection opened through `net` (a service's guarding
/// connector) and each step told to `progress`.
pub async fn run_recorded_with(
    config: &ProbeConfig,
    net: probe::net::Net,
    progress: probe::progress::Progress,
) -> Transcript {
    // The probe keeps its own deadline; this guard only catches a bug.
    let guard = config.deadline + std::time::Duration::from_secs(5);
    match tokio::time::timeout(guard, probe::run_observed(config, net, progress)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => lost(config, &e.to_string()),
        Err(_) => lost(config, "the check overran its deadline"),
    }
}

/// The transcript of a check that produced none.
pub fn lost(config: &ProbeConfig, why: &str) -> Transcript {
    let mut t = Transcript::new(config.target_info(), config.settings(0));
    t.deadline_hit = true;
    t.client_public_error = Some(why.to_string());
    t
}

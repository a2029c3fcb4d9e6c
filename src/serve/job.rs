//! One served check, from request to transcript, the same for `/probe`, `/api/check` and
//! the desk: the TARGET and its layers resolved by `crate::config` (built-in, `[defaults]`,
//! the module, the TARGET, the request's own settings), the password from the request's
//! body when it gives one, the deadline bounded, the target admitted (`guard::admit`), a
//! slot taken (`gate`), then `crate::check` run through the guarding connector.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::App;
use super::gate::Slot;
use super::guard::{self, Guard};
use crate::check;
use crate::config::{ConfigError, Overrides, Resolver};
use crate::probe::ProbeConfig;
use crate::probe::progress::Progress;
use crate::report::Report;
use crate::secret::Secret;
use crate::target;
use crate::transcript::Transcript;

/// The longest a served check may take, whatever a module or a request asks for.
pub const MAX_DEADLINE: Duration = Duration::from_secs(120);

/// What a request asks to check.
#[derive(Debug, Default)]
pub struct CheckRequest {
    pub target: String,
    pub module: Option<String>,
    /// The request's own settings, between the TARGET and nothing (no flags in a service).
    pub own: Overrides,
    /// From the request's body only.
    pub password: Option<Secret>,
    /// The longest the whole request may take (a scrape's timeout), queueing included.
    pub budget: Option<Duration>,
}

/// Why a check was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The request is wrong (400).
    Bad(String),
    /// The target is not allowed (403); nothing was contacted.
    Target(String),
    /// No slot in time (503).
    Busy(u64),
    /// The server's own configuration is wrong (500), e.g. a module's password variable.
    Setup(String),
}

impl Refused {
    /// The reason for the service's `rejected_total`.
    pub fn metric(&self) -> &'static str {
        match self {
            Refused::Bad(_) | Refused::Setup(_) => "bad_request",
            Refused::Target(_) => "refused_target",
            Refused::Busy(_) => "busy",
        }
    }
}

/// A check ready to run: admitted and holding a slot.
#[derive(Debug)]
pub struct Ready {
    pub config: ProbeConfig,
    pub module: String,
    name_matched: bool,
    _slot: Slot,
}

/// Resolves, admits and queues a check; every refusal happens here, before any connection.
pub async fn prepare(app: &App, req: CheckRequest) -> Result<Ready, Refused> {
    let started = Instant::now();
    let parsed = target::parse(&req.target).map_err(|e| Refused::Bad(e.to_string()))?;
    let none = Overrides::default();
    let mut resolver = Resolver::new(Some(&app.file), None, &none).map_err(bad)?;
    let module = req.module.as_deref().filter(|m| !m.is_empty());
    let mut merged = resolver.merge(&parsed, module, &req.own).map_err(bad)?;
    if req.password.is_some() {
        // The request's password wins over a source the module names.
        merged.password_env = None;
        merged.password_file = None;
    }
    let mut config = resolver
        .finish(&req.target, parsed, &merged)
        .map_err(|e| match e {
            ConfigError::Password(_) | ConfigError::CaFile(_) => {
                Refused::Setup(format!("module {}: {e}", module.unwrap_or("(none)")))
            }
            e => bad(e),
        })?;
    if req.password.is_some() {
        config.password = req.password;
    }
    let mut deadline = config.deadline.min(MAX_DEADLINE);
    if let Some(budget) = req.budget {
        deadline = deadline.min(budget);
    }
    config.deadline = deadline;
    config.timeout = config.timeout.min(deadline);

    let name_matched = guard::admit(&app.settings.allow, &config)
        .await
        .map_err(Refused::Target)?;

    // Queue for at most the time left (half of it for a scrape, so the check has the rest).
    let wait = match req.budget {
        Some(budget) => budget.saturating_sub(started.elapsed()) / 2,
        None => app.settings.queue_timeout,
    };
    let slot = app
        .gate
        .enter(wait)
        .await
        .map_err(|b| Refused::Busy(b.retry_after))?;
    if let Some(budget) = req.budget {
        let left = budget.saturating_sub(started.elapsed());
        config.deadline = config.deadline.min(left.max(Duration::from_millis(100)));
        config.timeout = config.timeout.min(config.deadline);
    }
    Ok(Ready {
        config,
        module: module.unwrap_or_default().to_string(),
        name_matched,
        _slot: slot,
    })
}

fn bad(e: ConfigError) -> Refused {
    Refused::Bad(e.to_string())
}

/// Runs an admitted check through the guard, tells `progress` each step, counts it.
pub async fn run(app: &App, ready: Ready, progress: Progress) -> Transcript {
    let started = Instant::now();
    let guard = Guard::new(Arc::new(app.settings.allow.clone()), ready.name_matched);
    let transcript = check::run_recorded_with(&ready.config, Arc::new(guard), progress).await;
    let verdict = Report::new(&transcript).verdict;
    let secs = started.elapsed().as_secs_f64();
    app.metrics.check(&ready.module, Some(verdict), secs);
    app.log.line(&format!(
        "check {} module={} verdict={} in {secs:.2}s",
        ready.config.input,
        if ready.module.is_empty() {
            "-"
        } else {
            &ready.module
        },
        verdict.as_str()
    ));
    transcript
}

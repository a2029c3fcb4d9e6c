//! What a running check is doing, as it happens, for whoever watches: the terminal's status
//! line, or a service's live view. Events only; the transcript stays the record, and a
//! check nobody watches sends nothing.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::proto::PassiveKind;

/// One step of one server session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Connecting,
    Greeted,
    LoggedIn,
    /// Replies to this passive command so far, of those asked for.
    Samples {
        via: PassiveKind,
        done: usize,
        of: usize,
    },
    /// Data ports being test-connected at once; silent ones are waited for up to `timeout`.
    TestingPorts {
        ports: usize,
        timeout: Duration,
    },
    /// Every test connection has its outcome.
    PortsTested,
    /// A listing over this passive command's port.
    Listing {
        via: PassiveKind,
        port: u16,
    },
    /// A listing ended with this many bytes.
    Listed {
        bytes: u64,
    },
    /// The passive range map: this many ports, expected to take about this long.
    Scanning {
        ports: u32,
        estimate: Duration,
    },
    /// The passive range map so far: this many of its ports have their outcome.
    Scanned {
        done: u32,
        of: u32,
    },
    /// The plain-text comparison session.
    Comparing,
    Done,
}

/// An event: which server, which step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub server: SocketAddr,
    pub step: Step,
}

type Sink = Arc<dyn Fn(&Event) + Send + Sync>;

/// Where events go; the default sends them nowhere.
#[derive(Clone, Default)]
pub struct Progress(Option<Sink>);

impl Progress {
    pub fn new(sink: impl Fn(&Event) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(sink)))
    }

    pub fn emit(&self, server: SocketAddr, step: Step) {
        if let Some(sink) = &self.0 {
            sink(&Event { server, step });
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(watched)"
        } else {
            "Progress(none)"
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Connecting => f.write_str("connecting"),
            Step::Greeted => f.write_str("connected, logging in"),
            Step::LoggedIn => f.write_str("logged in"),
            Step::Samples { via, done, of } => write!(f, "{} {done}/{of}", via.command()),
            Step::TestingPorts { ports, .. } => write!(f, "testing {ports} data port(s)"),
            Step::Listing { via, port } => write!(f, "listing over {} port {port}", via.command()),
            Step::Listed { bytes } => write!(f, "listed {}", size(*bytes)),
            Step::PortsTested => f.write_str("data ports tested"),
            Step::Scanning { ports, estimate } => write!(
                f,
                "mapping {ports} passive port(s), about {} s",
                estimate.as_secs_f64().ceil()
            ),
            Step::Scanned { done, of } => write!(f, "mapped {done} of {of} passive port(s)"),
            Step::Comparing => f.write_str("comparing with a plain-text session"),
            Step::Done => f.write_str("done"),
        }
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

//! The service's log: one line per request and per check, to stderr (journald adds the
//! time), or kept in memory for a test to search. What goes in is chosen by the callers:
//! a method, a path without its query, a status, a target, a verdict; never a body, a
//! header or a password.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where log lines go.
#[derive(Debug, Clone, Default)]
pub enum Log {
    #[default]
    Stderr,
    /// Nowhere.
    Quiet,
    /// Kept, for tests.
    Memory(Arc<Mutex<Vec<String>>>),
}

impl Log {
    pub fn line(&self, line: &str) {
        match self {
            Log::Stderr => {
                let _ = writeln!(std::io::stderr(), "pasv-doctor serve: {line}");
            }
            Log::Quiet => {}
            Log::Memory(lines) => {
                if let Ok(mut l) = lines.lock() {
                    l.push(line.to_string());
                }
            }
        }
    }
}

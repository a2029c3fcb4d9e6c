//! Exit codes, in one place. pasv-doctor follows the monitoring-plugins convention so that
//! Nagios, Icinga, Zabbix and shell scripts can act on the status alone.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | OK: everything checked out (for `decode`: every reply decoded) |
//! | 1 | WARNING: a problem that breaks some clients |
//! | 2 | CRITICAL: a problem that breaks transfers (for `decode`: a reply did not decode) |
//! | 3 | UNKNOWN: the tool could not do its job: bad flags or arguments, unreadable input |

use std::process::ExitCode;

/// The status a run ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}

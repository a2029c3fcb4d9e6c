//! The protocol core: bytes from an FTP control connection into replies, and passive replies
//! into addresses and ports. Pure: no sockets, no clock, no printing (enforced by the lints
//! below), so every rule here is tested with plain data and fuzzed.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod addr;
pub mod compat;
pub mod passive;
pub mod reply;
mod reply_error;

pub use addr::{AddressClass, classify_effective};
pub use compat::{ParseFailure, ParserFamily, parse_failures};
pub use passive::{DecodeError, Flag, Passive, PassiveKind, Shape, decode};
pub use reply::{Anomaly, Limits, Reply, ReplyError, ReplyReader, parse_all};

/// Anonymous user names (RFC 1635).
pub fn is_anonymous(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}

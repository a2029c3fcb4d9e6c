//! pasv-doctor: diagnose FTP passive-mode connectivity and NAT mismatches.
//!
//! The crate is laid out as rooms with one-way data flow (see `docs/ARCHITECTURE.md`):
//! [`proto`] (pure protocol core) → probe (the only I/O) → analyze (pure rules) →
//! [`report`] (renderers that write to a writer they are given). [`config`] resolves what to
//! check; [`check`] (one target) and [`fleet`] (many, streamed) are the entry points that
//! [`cli`] and a service call.

pub mod analyze;
pub mod batch;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod exit;
pub mod explain;
pub mod fake;
pub mod finding;
pub mod fleet;
pub mod knowledge;
pub mod probe;
pub mod proto;
pub mod report;
pub mod secret;
pub mod serve;
pub mod target;
pub mod transcript;
pub mod webhook;

//! pasv-doctor: diagnose FTP passive-mode connectivity and NAT mismatches.
//!
//! The crate is laid out as rooms with one-way data flow (see `docs/ARCHITECTURE.md`):
//! [`proto`] (pure protocol core) → probe (the only I/O) → analyze (pure rules) →
//! [`report`] (renderers that write to a writer they are given), driven by [`cli`].

pub mod analyze;
pub mod batch;
pub mod cli;
pub mod demo;
pub mod exit;
pub mod explain;
pub mod fake;
pub mod finding;
pub mod knowledge;
pub mod probe;
pub mod proto;
pub mod report;
pub mod secret;
pub mod target;
pub mod transcript;
pub mod webhook;

//! pasv-doctor: diagnose FTP passive-mode connectivity and NAT mismatches.
//!
//! The crate is laid out as rooms with one-way data flow (see `docs/ARCHITECTURE.md`):
//! [`proto`] (pure protocol core) → probe (the only I/O) → analyze (pure rules) →
//! [`report`] (renderers that write to a writer they are given), driven by [`cli`].

pub mod cli;
pub mod exit;
pub mod proto;
pub mod report;

//! What the tool knows about the world, as data: server products (how to recognise them and
//! which setting fixes what), firewalls, and how each FTP client treats a passive reply.
//! Facts come from each product's documentation or source (with sources; ../shared/reference/clients.md and servers.md hold the notes they came from);
//! the analysis and the reporters ask here instead of spelling settings out themselves.
//! Pure.

pub mod advertised;
pub mod clients;
pub mod servers;

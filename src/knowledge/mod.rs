//! What the tool knows about the world, as data: server products (how to recognise them and
//! which setting fixes what), firewalls, and how each FTP client treats a passive reply.
//! Facts come from each product's documentation or source, named beside each fact; the
//! analysis and the reporters ask here instead of spelling settings out themselves.
//! Pure.

pub mod advertised;
pub mod clients;
pub mod servers;

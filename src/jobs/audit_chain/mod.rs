//! The tamper-evident audit log, end to end: `verify` walks the hash chain the database
//! keeps (`db/models/log_entry.rs`) and compares it with the newest signed head in storage;
//! `publish` signs the head and writes it to every storage target.

pub mod publish;
pub mod verify;

pub use publish::{publish_after, publish_head};
pub use verify::{verify_chain, AuditReport};

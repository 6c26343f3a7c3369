//! The work Coffer does, one file per kind of job. Each job records a task (progress,
//! heartbeat, outcome), writes the audit log, and glues the engine (bytes), storage
//! (objects) and db (rows) together. The CLI calls them directly; the web console will
//! queue them to a worker pool with ids only.

pub mod backup;
pub mod cleanup;
pub mod export;
pub mod locks;
pub mod recovery;
pub mod restore;
mod storage_keys;
pub mod switch_over;
pub mod task_run;
pub mod verify;

pub use storage_keys::{archive_key, manifest_key};

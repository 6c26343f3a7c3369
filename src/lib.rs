//! Coffer: self-hosted backup and restore for an application's data.
//!
//! Data flow of a backup: `sources` read files and database snapshots → `engine` builds
//! the archive stream (tar → parallel gzip → AES-256-GCM STREAM → SHA-256) → `storage`
//! commits it atomically → `db` records it. Restore and verify run the same pipeline
//! backwards. `jobs` glue those rooms together for one piece of work each; the CLI (`cli`)
//! and the web console (`web`) only parse requests and call jobs.

pub mod app; // shared parts of a running Coffer: settings, db pool, storage, keyring
pub mod application; // `coffer serve` wired: console, workers, scheduler, monitor, reaper
pub mod auth; // password hashing, random tokens
pub mod cli; // the `coffer` command line, one file per command
pub mod config; // TOML settings with environment overrides, validated
pub mod db; // metadata in SQLite or PostgreSQL (diesel + r2d2)
pub mod domain; // pure types: kinds, states, roles, scopes
pub mod engine; // archive byte pipelines: tar, gzip, encryption, checksums, restore
pub mod error; // the app's error type
pub mod faults; // named points where tests kill the process for real
pub mod full_disk; // a write that failed for lack of space, and which filesystem is full
pub mod jobs; // backup, restore, verify, cleanup, export, recovery
pub mod memory; // giving freed memory back to the system between phases
pub mod monitor; // RPO, stalled tasks, storage space, the verification schedule
pub mod notify; // events operators hear about; email and webhook delivery
pub mod present; // shapes and figures shared by cli and web: JSON of backups and tasks, sizes
pub mod sources; // what each kind of source contributes to an archive
pub mod storage; // where archives live: local folder (S3 later)
pub mod web; // the browser console and JSON API
